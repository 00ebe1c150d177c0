"""Render the executed course: HTML pages and reveal.js slides for readers who do not run code.

Usage (``bash scripts/course.sh render`` calls this)::

    python -m ntk_teach.render                        # every notebooks/*.ipynb -> build/
    python -m ntk_teach.render notebooks/00_start_here.ipynb --out /tmp/site
    python -m ntk_teach.render --lecture               # large projector fonts in the figures

For each notebook ``NN_name`` it writes into the output folder (not committed):

* ``NN_name.html``: the executed notebook as a page (JupyterLab look); figures are embedded
  PNGs, widgets keep their last state (live again only with a kernel);
* ``NN_name.slides.html``: reveal.js slides built from the ``slideshow.slide_type`` metadata;
* ``NN_name.ipynb``: the executed notebook;

and ``index.html`` linking them all. Notebooks run in a kernel of this Python environment,
in their own folder, with widget state stored. A cell error stops that notebook, is reported
with its traceback, and makes the command exit with status 1 (the others still render).
The pages load MathJax, and the slides reveal.js, from a CDN, as nbconvert does by default.
"""
from __future__ import annotations

import argparse
import html
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _execute(path: Path, timeout: int):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


def render_notebook(path: str | Path, out: str | Path, timeout: int = 600) -> dict:
    """Execute one notebook and write its HTML page, slides and executed copy into ``out``.

    Returns ``{"html": Path, "slides": Path, "ipynb": Path, "seconds": float, "title": str}``.
    Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    import nbformat
    from nbconvert import HTMLExporter, SlidesExporter

    path, out = Path(path).resolve(), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    nb = _execute(path, timeout)
    seconds = time.perf_counter() - t0
    stem = path.stem
    first = nb.cells[0].source if nb.cells and nb.cells[0].cell_type == "markdown" else stem
    title = first.splitlines()[0].lstrip("# ").strip() if first else stem
    nb.metadata["title"] = title
    res = {"metadata": {"name": title}}
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb, resources=res)
    slides, _ = SlidesExporter(reveal_scroll=True, reveal_number="c/t").from_notebook_node(nb, resources=res)
    paths = {"html": out / f"{stem}.html", "slides": out / f"{stem}.slides.html", "ipynb": out / f"{stem}.ipynb"}
    paths["html"].write_text(page, encoding="utf-8")
    paths["slides"].write_text(slides, encoding="utf-8")
    nbformat.write(nb, str(paths["ipynb"]))
    return {**paths, "seconds": seconds, "title": title}


def write_index(out: Path, rendered: list, failed: list) -> Path:
    """``index.html``: one line per notebook with links to its page and slides."""
    rows = []
    for r in rendered:
        rows.append(f'<li><a href="{r["html"].name}">{html.escape(r["title"])}</a> '
                    f'(<a href="{r["slides"].name}">slides</a>, executed in {r["seconds"]:.0f} s)</li>')
    for name, err in failed:
        rows.append(f"<li>{html.escape(name)}: <b>failed</b> ({html.escape(err)})</li>")
    page = ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ntk-teach: the course</title>"
            "<style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5;"
            "background:#fff;color:#000}</style></head><body>\n"
            "<h1>ntk-teach: an interactive course on the Neural Tangent Kernel</h1>\n"
            "<p>Executed notebooks as pages and as slides. To move the sliders, run the course: "
            "<code>bash scripts/course.sh lab</code>.</p>\n<ul>\n" + "\n".join(rows) + "\n</ul>\n</body></html>\n")
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ntk_teach.render", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to render (default: every notebooks/*.ipynb)")
    ap.add_argument("--out", default=str(REPO / "build"), help="output folder (default: build/)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    ap.add_argument("--lecture", action="store_true", help="large projector fonts (NTK_TEACH_LECTURE=1)")
    args = ap.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or sorted((REPO / "notebooks").glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such notebook(s): {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.lecture:
        os.environ["NTK_TEACH_LECTURE"] = "1"
    out = Path(args.out)
    rendered, failed = [], []
    for p in paths:
        print(f"[render] {p.name} ...", flush=True)
        try:
            r = render_notebook(p, out, timeout=args.timeout)
        except Exception as exc:  # report, go on with the others, exit 1 at the end
            msg = str(exc)
            print(f"[render] FAILED {p.name}:\n{msg}", file=sys.stderr, flush=True)
            failed.append((p.name, msg.strip().splitlines()[-1][:200] if msg.strip() else type(exc).__name__))
            continue
        rendered.append(r)
        print(f"[render]   {r['html']}  {r['slides']}  ({r['seconds']:.1f} s)", flush=True)
    index = write_index(out, rendered, failed)
    print(f"[render] {len(rendered)} rendered, {len(failed)} failed; open {index}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
