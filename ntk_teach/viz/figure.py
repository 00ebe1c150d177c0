"""One persistent figure per demo, updated in place; ipympl when active, inline PNG otherwise.

:class:`PersistentFigure` owns one ``matplotlib.figure.Figure`` for the lifetime of
a demo. Demos change its artists in place (``line.set_data``, ``im.set_data``,
``ax.set_ylim`` ...) and call :meth:`PersistentFigure.refresh`:

* **ipympl path** (``%matplotlib widget`` ran and ipympl is installed): the figure
  lives on an ipympl canvas widget; ``refresh`` calls ``fig.canvas.draw_idle()``.
  ipympl is optional and never required (it is broken in Colab, for one).
* **inline path** (everything else, including Colab, VS Code, nbconvert): the
  figure is drawn by Agg into PNG bytes that replace the value of one
  ``ipywidgets.Image``. The browser swaps the image source: no flicker, no
  stacked figures, no ``plt.show()`` (which after ``%matplotlib widget`` would
  create a new figure per slider move).

:attr:`PersistentFigure.widget` is the widget to put in a layout (the ipympl
canvas or the ``Image``); it carries the CSS class ``ntk-figure``.
:attr:`PersistentFigure.last_draw_ms` is the time of the last draw (Agg render
plus PNG encoding on the inline path; only the ``draw_idle`` request on the ipympl path,
whose drawing happens when the browser asks for the frame).
"""
from __future__ import annotations

import base64
import io
import time

import matplotlib as mpl

from .style import WHITE, new_figure

FIGURE_CLASS = "ntk-figure"


def ipympl_active() -> bool:
    """True when matplotlib's backend is ipympl (``%matplotlib widget`` / ``ipympl``) and it imports."""
    backend = str(mpl.get_backend()).lower()
    if "ipympl" not in backend and backend not in ("widget", "module://ipympl.backend_nbagg"):
        return False
    try:
        import ipympl  # noqa: F401
    except ImportError:  # pragma: no cover - backend name set without the package
        return False
    return True


def figure_png(fig, dpi: float | None = None) -> bytes:
    """The figure as PNG bytes on an explicit white background (Agg, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor=WHITE, edgecolor=WHITE, transparent=False)
    return buf.getvalue()


def _animated_artists(fig) -> list:
    """Artists marked ``animated`` (see :func:`animate`), in drawing order (zorder)."""
    found = fig.findobj(match=lambda a: a is not fig and a.get_animated())
    return sorted(found, key=lambda a: a.get_zorder())


def _encode_png(canvas) -> bytes:
    import numpy as np
    from PIL import Image

    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return buf.getvalue()


def fast_png(fig) -> bytes:
    """Draw ``fig`` with Agg at its own dpi and encode a quick PNG (RGB, zlib level 1).

    About twice as fast as ``savefig`` (no second layout pass, fast compression),
    same pixels. Animated artists (:func:`animate`) are drawn too, on top.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    for a in _animated_artists(fig):
        fig.draw_artist(a)
    return _encode_png(canvas)


def animate(*artists):
    """Mark artists that ``update()`` changes as *animated*: redraws then blit them onto a cached
    background instead of redrawing the whole figure (typically 3-5x faster).

    Safe by construction: when anything that is *not* animated changes (axis limits, a title,
    an unmarked line), matplotlib marks the figure stale and the next redraw is a full one.
    Animated artists are drawn on top of everything else (also above legends and spines), and
    they are included as usual in static figures (``savefig``, ``plot_x()``). Returns the artists.
    """
    for a in artists:
        a.set_animated(True)
    return artists[0] if len(artists) == 1 else artists


def show(fig) -> None:
    """Display a figure once as a static PNG (works in every backend, touches no pyplot state)."""
    from IPython.display import Image, display

    display(Image(data=figure_png(fig), format="png"))


def register_figure_formatter() -> bool:
    """Make a ``Figure`` that ends a cell display as PNG under every backend (also ipympl).

    Called by :func:`ntk_teach.viz.use_style`. Returns False outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    ip = get_ipython()
    if ip is None or not hasattr(ip, "display_formatter"):
        return False
    from matplotlib.figure import Figure

    ip.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True


class PersistentFigure:
    """One figure shown once and redrawn in place.

    Parameters
    ----------
    figsize : (float, float)
        Inches. The PNG is ``figsize * dpi`` pixels.
    dpi : float or None
        Resolution of the inline PNG; None (default) takes ``rcParams["figure.dpi"]``:
        100 in the course style (sharp enough, fast to encode), 140 in lecture mode.
    backend : {"auto", "inline", "ipympl"}
        ``"auto"`` picks ipympl when it is the active backend, inline otherwise.
        ``"ipympl"`` raises ``ImportError`` when ipympl is missing.
    relayout : bool
        False (default): the constrained layout is computed on the first draw and
        then frozen, which saves ~40 % of every redraw. Pass True (or call
        ``refresh(relayout=True)``) when tick labels or titles change size a lot.

    Attributes
    ----------
    fig : matplotlib.figure.Figure
        Draw on it (``fig.add_subplot()``), never through ``plt``.
    widget : ipywidgets.DOMWidget
        What to display (carries the CSS class ``ntk-figure``).
    backend : str
        ``"inline"`` or ``"ipympl"``.
    """

    def __init__(self, figsize=(6.4, 3.6), dpi: float | None = None, backend: str = "auto",
                 relayout: bool = False):
        if backend not in ("auto", "inline", "ipympl"):
            raise ValueError(f"backend must be one of ['auto', 'inline', 'ipympl'], got {backend!r}")
        if backend == "auto":
            backend = "ipympl" if ipympl_active() else "inline"
        self.backend = backend
        self.dpi = dpi = float(dpi or mpl.rcParams["figure.dpi"])
        self.relayout = relayout
        self.last_draw_ms = float("nan")
        self.n_draws = 0
        self.n_full_draws = 0
        self._frozen_engine = None
        self._background = None
        if backend == "ipympl":
            import ipympl.backend_nbagg  # noqa: F401  (ImportError if missing: asked for explicitly)
            import matplotlib.pyplot as plt

            # ioff: create the figure without displaying it; we place fig.canvas ourselves
            with plt.ioff():
                self.fig = plt.figure(figsize=figsize, dpi=dpi, facecolor=WHITE, layout="constrained")
            canvas = self.fig.canvas
            canvas.header_visible = False
            canvas.footer_visible = False
            canvas.toolbar_visible = False
            canvas.resizable = False
            self.widget = canvas
        else:
            import ipywidgets as widgets

            self.fig = new_figure(figsize=figsize, dpi=dpi)
            self.widget = widgets.Image(format="png")
            w_px = int(round(figsize[0] * dpi))
            self.widget.layout.width = f"{w_px}px"
            self.widget.layout.max_width = "100%"
            self.widget.layout.height = "auto"
        self.widget.add_class(FIGURE_CLASS)

    def refresh(self, relayout: bool | None = None) -> float:
        """Redraw after artists changed; returns the time it took in ms (also in ``last_draw_ms``).

        ``relayout`` overrides the constructor's choice for this one draw.
        """
        t0 = time.perf_counter()
        relayout_now = self.relayout if relayout is None else relayout
        if relayout_now and self._frozen_engine is not None:
            self.fig.set_layout_engine(self._frozen_engine)
            self._frozen_engine = None
        if self.backend == "ipympl":
            if self.n_draws == 0:
                for a in _animated_artists(self.fig):  # ipympl draws the whole figure: no blitting
                    a.set_animated(False)
            canvas = self.fig.canvas
            if self.n_draws == 0 or relayout_now:
                # compute the layout now (so that it can be frozen below) WITHOUT canvas.draw():
                # ipympl's draw pushes a frame, and before the browser view has initialized (i.e.
                # during the cell that creates the view) ipympl 0.10 pushes raw RGBA instead of a
                # PNG, which the browser shows as a broken image.
                self.fig.draw_without_rendering()
                self.n_full_draws += 1
            if getattr(canvas, "syncing_data_url", False):
                # no browser view yet: ipympl shows _data_url as the static image; keep it current
                canvas._data_url = "data:image/png;base64," + base64.b64encode(figure_png(self.fig)).decode()
            canvas.draw_idle()  # the browser asks for the frame; ipympl draws and sends it
        else:
            self.widget.value = self._inline_png(full=relayout_now)
        if not self.relayout and self._frozen_engine is None:
            from matplotlib.layout_engine import PlaceHolderLayoutEngine

            engine = self.fig.get_layout_engine()
            if engine is not None and not isinstance(engine, PlaceHolderLayoutEngine):
                # keep the positions the layout engine just computed; skip it on later draws
                self._frozen_engine = engine
                self.fig.set_layout_engine("none")
        self.n_draws += 1
        self.last_draw_ms = (time.perf_counter() - t0) * 1e3
        return self.last_draw_ms

    def _inline_png(self, full: bool) -> bytes:
        """Full Agg draw when needed (first draw, stale figure, relayout), else blit the animated artists."""
        fig, canvas = self.fig, self.fig.canvas
        animated = _animated_artists(fig)
        if full or not animated or self._background is None or fig.stale:
            canvas.draw()  # skips animated artists
            self._background = canvas.copy_from_bbox(fig.bbox) if animated else None
            self.n_full_draws += 1
        else:
            canvas.restore_region(self._background)
        for a in animated:
            fig.draw_artist(a)
        return _encode_png(canvas)

    def png(self) -> bytes:
        """The current figure as PNG bytes (for tests, static export and the bench)."""
        return figure_png(self.fig, self.dpi)

    def close(self) -> None:
        """Release the figure (closes the ipympl figure manager too)."""
        if self.backend == "ipympl":
            import matplotlib.pyplot as plt

            plt.close(self.fig)
