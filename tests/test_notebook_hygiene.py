"""Committed notebooks are clean and follow the template; nbval is wired so that errors fail the run.

* every ``notebooks/*.ipynb`` passes :func:`ntk_teach.nbtools.validate_notebook` (no outputs,
  no execution counts, no widget state, python3 kernelspec, slide metadata on every cell,
  objectives, exercises with strict solution checks, references ...);
* every notebook is exactly what its builder ``notebooks/builders/build_<stem>.py`` writes (no drift);
* the validator itself catches each kind of problem;
* ``pytest`` with the repository's configuration runs notebooks under nbval (lax) and fails on
  an exception in an ``interact`` callback, in a course demo's slider callback, in a cell, and on a
  wrong exercise solution, while a stub that raises ``NotImplementedError`` passes.
"""
from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from ntk_teach import nbtools

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_PATHS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_start_here_is_committed():
    assert (REPO / "notebooks" / "00_start_here.ipynb") in NOTEBOOK_PATHS


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.name)
def test_notebook_follows_template(path):
    problems = nbtools.validate_notebook(path)
    assert not problems, f"{path.name}:\n  - " + "\n  - ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.name)
def test_notebook_raw_json_is_clean(path):
    """Independent of the validator: read the raw JSON."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in raw["metadata"]
    for cell in raw["cells"]:
        assert cell["metadata"]["slideshow"]["slide_type"] in nbtools.SLIDE_TYPES
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.name)
def test_notebook_matches_its_builder(path, tmp_path):
    builder = REPO / "notebooks" / "builders" / f"build_{path.stem}.py"
    assert builder.exists(), f"{path.name} has no builder {builder.relative_to(REPO)} (see notebooks/TEMPLATE.md)"
    nbtools._OUT_DIR.append(tmp_path)
    try:
        import runpy

        runpy.run_path(str(builder), run_name="__main__")
    finally:
        nbtools._OUT_DIR.pop()
    rebuilt = (tmp_path / path.name).read_text(encoding="utf-8")
    assert rebuilt == path.read_text(encoding="utf-8"), (
        f"{path.name} differs from what {builder.name} writes: edit the builder, then run "
        f"`.venv/bin/python {builder.relative_to(REPO)}` (never edit the .ipynb by hand)")


# ---- the validator catches each problem -----------------------------------------------------

def _good_builder():
    nb = nbtools.NotebookBuilder("98_hygiene_probe", title="Probe", summary="A test notebook.",
                                 objectives=["a", "b", "c"], prerequisites=["00_start_here"], minutes=5)
    nb.section("First", minutes=2)
    nb.think("Why?", answer="Because.")
    nb.exercise("9.1", task="Return 1.",
                stub="def one():\n    raise NotImplementedError\n_ = checks.check_function('E', one, expected=[1.0])",
                solution="def one_solution():\n    return 1.0\n"
                         "_ = checks.check_function('E', one_solution, expected=[1.0], strict=True)")
    nb.summary(["one"])
    nb.references([("A paper", "https://example.org/paper")])
    return nb


def test_validator_accepts_a_builder_notebook():
    assert nbtools.validate_notebook(_good_builder().build()) == []


@pytest.mark.parametrize("mutation, expected", [
    (lambda nb: nb.cells[2].update(outputs=[nbformat.v4.new_output("stream", text="x")]), "has outputs"),
    (lambda nb: nb.cells[2].update(execution_count=3), "execution count"),
    (lambda nb: nb.metadata.update(widgets={"application/vnd.jupyter.widget-state+json": {}}), "widget state"),
    (lambda nb: nb.metadata.update(kernelspec={"name": "julia", "language": "julia", "display_name": "J"}),
     "kernelspec"),
    (lambda nb: nb.cells[4].metadata.pop("slideshow"), "slide_type"),
    (lambda nb: nb.cells.pop(1), "Learning objectives"),
    (lambda nb: nb.cells.pop(2), "setup cell"),
    (lambda nb: [nb.cells.pop(k) for k in range(len(nb.cells) - 1, -1, -1)
                 if "NotImplementedError" in nb.cells[k].source], "no coding exercise"),
    (lambda nb: [c.update(source=c.source.replace("strict=True", "strict=False")) for c in nb.cells],
     "strict=True"),
    (lambda nb: [c.metadata.pop("jupyter", None) for c in nb.cells], "not collapsed"),
    (lambda nb: nb.cells.pop(), "References"),
    (lambda nb: nb.cells[-1].update(source="## References\n\n- a book"), "References"),
    (lambda nb: [c.update(source=c.source.replace("**Think!**", "Think")) for c in nb.cells], "Think!"),
    (lambda nb: nb.cells.append(nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.show()",
                                                          metadata={"slideshow": {"slide_type": "-"}})),
     "plt.show()"),
    (lambda nb: nb.cells.append(nbformat.v4.new_code_cell("from numpy import *",
                                                          metadata={"slideshow": {"slide_type": "-"}})),
     "star import"),
    (lambda nb: nb.cells.insert(5, nbformat.v4.new_code_cell("demos.X.interact()",
                                                             metadata={"slideshow": {"slide_type": "-"}})),
     "collapsed explanation"),
])
def test_validator_catches(mutation, expected):
    nb = _good_builder().build()
    mutation(nb)
    problems = nbtools.validate_notebook(nb)
    assert any(expected in p for p in problems), problems


def test_builder_refuses_template_violations(tmp_path):
    with pytest.raises(ValueError, match="3-5 learning objectives"):
        nbtools.NotebookBuilder("98_x", title="x", summary="x", objectives=["a"], minutes=1)
    nb = _good_builder()
    with pytest.raises(ValueError, match="NotImplementedError"):
        nb.exercise("1", task="t", stub="x = 1\nchecks.check_true('a', True, 'b')", solution="strict=True")
    with pytest.raises(ValueError, match="strict=True"):
        nb.exercise("1", task="t", stub="raise NotImplementedError\nchecks.x", solution="pass")
    bad = nbtools.NotebookBuilder("98_bad", title="x", summary="x", objectives=["a", "b", "c"], minutes=1)
    with pytest.raises(ValueError, match="breaks the template"):
        bad.write(tmp_path / "bad.ipynb")
    path = _good_builder().write(tmp_path / "good.ipynb")
    assert nbtools.validate_notebook(path) == []
    assert path.read_text() == nbtools.dumps(_good_builder().build())  # deterministic


# ---- nbval wiring, proven on throwaway notebooks ------------------------------------------------

def _nb(*sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(nbtools.KERNELSPEC)}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


NBVAL_CASES = {
    # name: (cells, should_pass, text expected in the failure)
    "good": ((
        "from ntk_teach import checks, viz\nfrom ntk_teach.demos import nb00_start_here as demos",
        "def stub(x):\n    raise NotImplementedError('Exercise')\n"
        "_ = checks.check_function('E', stub, expected=[2.0], inputs=[(1.0,)])",
        "def sol(x):\n    return 2 * x\n_ = checks.check_function('E', sol, expected=[2.0], inputs=[(1.0,)], strict=True)",
        "view = demos.WidgetCheck.interact()\nview.controls['k'].value = 4\nview",
        "import ipywidgets\nw = ipywidgets.interact(lambda k=1: k * 2, k=(1, 3))",
    ), True, ""),
    "interact_callback_raises": ((
        "import ipywidgets\n"
        "def f(k=1):\n    raise RuntimeError('callback boom')\n"
        "w = ipywidgets.interact(f, k=(1, 3))",
    ), False, "callback boom"),
    "demo_slider_callback_raises": ((
        "from ntk_teach import viz\nfrom ntk_teach.demos import nb00_start_here as demos\n"
        "class Broken(demos.WidgetCheck):\n"
        "    def update(self, k=1):\n"
        "        if k > 2:\n            raise ValueError('slider boom')\n"
        "        super().update(k)\n"
        "view = Broken.interact()",
        "view.controls['k'].value = 5   # a slider move in the kernel: must not pass silently",
    ), False, "slider boom"),
    "cell_raises": (("x = 1", "assert x == 2, 'claim boom'"), False, "claim boom"),
    "wrong_solution": ((
        "from ntk_teach import checks\n"
        "def sol(x):\n    return 3 * x\n_ = checks.check_function('E', sol, expected=[2.0], inputs=[(1.0,)], strict=True)",
    ), False, "AssertionError"),
}


@pytest.fixture(scope="module")
def nbval_run(tmp_path_factory):
    """Run pytest with the repository's own configuration on the throwaway notebooks, once."""
    tmp = tmp_path_factory.mktemp("nbval")
    for name, (cells, _, _) in NBVAL_CASES.items():
        nbformat.write(_nb(*cells), str(tmp / f"{name}.ipynb"))
    junit = tmp / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(tmp),
         "-p", "no:cacheprovider", "-q", f"--junitxml={junit}", str(tmp)],
        capture_output=True, text=True, timeout=600, cwd=tmp)
    return proc, ET.parse(junit).getroot()


@pytest.mark.parametrize("name", list(NBVAL_CASES))
def test_nbval_fails_exactly_on_errors(nbval_run, name):
    proc, root = nbval_run
    cases = [tc for tc in root.iter("testcase") if tc.get("classname", "").split(".")[-1] == name
             or f"{name}.ipynb" in (tc.get("file") or "") + (tc.get("classname") or "") + (tc.get("name") or "")]
    assert cases, f"nbval collected no cells of {name}.ipynb:\n{proc.stdout[-3000:]}"
    failures = [f for tc in cases for f in list(tc.iter("failure")) + list(tc.iter("error"))]
    cells, should_pass, text = NBVAL_CASES[name]
    assert len(cases) == len(cells)
    if should_pass:
        assert not failures, "\n".join((f.get("message") or "") + (f.text or "") for f in failures)[-3000:]
    else:
        assert failures, f"{name}.ipynb passed under nbval but must fail"
        assert any(text in (f.text or "") + (f.get("message") or "") for f in failures)
    assert proc.returncode == 1  # some cases fail on purpose


def test_pytest_collects_the_course_notebooks():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "notebooks"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for path in NOTEBOOK_PATHS:
        n_code = sum(c.cell_type == "code" for c in nbformat.read(str(path), as_version=4).cells)
        items = [l for l in proc.stdout.splitlines() if l.startswith(f"notebooks/{path.name}::")]
        assert len(items) == n_code, (path.name, len(items), n_code)
