"""`python -m ntk_teach.render` executes notebooks and writes HTML pages and reveal.js slides."""
from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
NB00 = REPO / "notebooks" / "00_start_here.ipynb"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    proc = subprocess.run([sys.executable, "-m", "ntk_teach.render", str(NB00), "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    return proc, out


def test_render_exits_zero_and_writes_all_files(rendered):
    proc, out = rendered
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in ("00_start_here.html", "00_start_here.slides.html", "00_start_here.ipynb", "index.html"):
        assert (out / name).is_file(), name
    index = (out / "index.html").read_text()
    assert 'href="00_start_here.html"' in index and 'href="00_start_here.slides.html"' in index


def test_page_shows_executed_figures_on_white(rendered):
    _, out = rendered
    page = (out / "00_start_here.html").read_text()
    assert "<title>00 · Start here</title>" in page
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(pngs) >= 2, "the static figures (course map, random networks) must be in the page"
    im = Image.open(io.BytesIO(base64.b64decode(pngs[0]))).convert("RGBA")
    assert im.getpixel((2, 2)) == (255, 255, 255, 255), "figure background must be opaque white"
    assert "Traceback" not in page and "jp-RenderedText" in page and "ready" in page


def test_slides_follow_slide_metadata(rendered):
    _, out = rendered
    slides = (out / "00_start_here.slides.html").read_text()
    assert "reveal" in slides.lower()
    nb = nbformat.read(str(NB00), as_version=4)
    n_slides = sum(c.metadata["slideshow"]["slide_type"] == "slide" for c in nb.cells)
    # nbconvert opens one <section> per slide, plus one inner <section> per slide and sub-slide
    assert slides.count("<section") >= n_slides >= 5


def test_executed_notebook_has_outputs_and_widget_state(rendered):
    _, out = rendered
    nb = json.loads((out / "00_start_here.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code)
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    state = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = {m["model_name"] for m in state.values()}
    assert {"SelectionSliderModel", "ImageModel"} <= models  # the demo's slider and its figure


def test_failing_notebook_is_reported_and_exit_status_is_1(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken"), nbformat.v4.new_code_cell("raise ValueError('render boom')")]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(path))
    proc = subprocess.run([sys.executable, "-m", "ntk_teach.render", str(path), "--out", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 1
    assert "render boom" in proc.stderr
    assert "failed" in (tmp_path / "b" / "index.html").read_text()


def test_missing_notebook_exit_status_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ntk_teach.render", str(tmp_path / "nope.ipynb")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2 and "no such notebook" in proc.stderr
