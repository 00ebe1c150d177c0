"""The course's plotting style: readable for everyone, in dark themes and on projectors.

Rules this module enforces (so no notebook has to remember them):

* **Nothing by colour alone.** Series get an Okabe-Ito colour *and* a line style
  *and* a marker (:func:`series_style`), so a figure reads in greyscale and for
  colour-vision deficiencies. Maps use ``viridis`` (:data:`CMAP`) or ``cividis``.
* **An explicit white background** on figure, axes and saved images: a
  transparent PNG hides black labels in dark JupyterLab/VS Code themes.
* **Labelled axes** with symbols and units; a grid that is light but visible.
* **Fitted slopes in legends**: :func:`fit_loglog_slope`, :func:`slope_label`
  and :func:`plot_loglog_fit` (markers for data, a dashed fitted line, the
  slope and the theory value in the legend entry).
* **Lecture mode** for projectors: ``use_style(lecture=True)`` (or the
  environment variable ``NTK_TEACH_LECTURE=1``) draws every figure at 1.4x the pixels
  with 1.2x larger fonts and lines (text ~1.7x larger on screen, same layout).

Usage::

    from ntk_teach import viz
    viz.use_style()                          # once, in the setup cell
    fig = viz.new_figure(figsize=(6, 3.5))   # a white, Agg-backed Figure (no pyplot)
    ax = fig.add_subplot()
    for i, w in enumerate([10, 100, 1000]):
        ax.plot(x, y[w], label=f"width {w}", **viz.series_style(i))
    slope = viz.plot_loglog_fit(ax, widths, errors, label="|K - K_inf|", expected=-0.5)
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from cycler import cycler

#: The Okabe-Ito colour-vision-safe palette (Okabe & Ito 2008), by name.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Series colours in the order the course uses them (yellow, weak on white, comes last).
COLORS = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)
#: Line styles paired with :data:`COLORS` (same length, so the pairs never drift apart).
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)), (0, (3, 1, 1, 1, 1, 1)))
#: Markers paired with :data:`COLORS`.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: Colour for targets / ground truth (black, drawn with crosses).
TARGET_COLOR = OKABE_ITO["black"]
#: Colour for theory curves / infinite-width limits (drawn dashed, black).
THEORY_COLOR = OKABE_ITO["black"]
#: Sequential colour map (perceptually uniform, colour-vision safe).
CMAP = "viridis"
#: Alternative sequential map, for a second map in the same figure.
CMAP_ALT = "cividis"

WHITE = "#FFFFFF"

_BASE_RC = {
    "figure.facecolor": WHITE,
    "figure.edgecolor": WHITE,
    "axes.facecolor": WHITE,
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#000000",
    "axes.titlecolor": "#000000",
    "xtick.color": "#000000",
    "ytick.color": "#000000",
    "text.color": "#000000",
    "legend.facecolor": WHITE,
    "legend.edgecolor": "#BBBBBB",
    "legend.framealpha": 0.9,
    "savefig.facecolor": WHITE,
    "savefig.edgecolor": WHITE,
    "savefig.transparent": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(COLORS)) + cycler(linestyle=list(LINESTYLES)),
    "image.cmap": CMAP,
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "mathtext.fontset": "dejavusans",
}

_NORMAL_RC = {
    "font.size": 10.5,
    "axes.titlesize": 11.5,
    "axes.labelsize": 10.5,
    "legend.fontsize": 9,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "lines.linewidth": 1.8,
    "lines.markersize": 5.5,
}

# Lecture mode: everything drawn 1.4x larger in pixels (dpi 140 instead of 100), and fonts and
# lines another 1.2x larger relative to the figure, so the text is ~1.7x larger on a projector
# while figures keep their layout (figsize in inches stays the same).
_LECTURE_RC = {
    "figure.dpi": 140,
    "font.size": 12.5,
    "axes.titlesize": 13.5,
    "axes.labelsize": 13,
    "legend.fontsize": 11,
    "xtick.labelsize": 11.5,
    "ytick.labelsize": 11.5,
    "lines.linewidth": 2.3,
    "lines.markersize": 6.5,
    "axes.linewidth": 1.2,
    "grid.linewidth": 0.8,
}

_state = {"lecture": False, "applied": False}


def lecture_mode() -> bool:
    """True when the lecture (projector) style is active."""
    return _state["lecture"]


def style_rc(lecture: bool = False) -> dict:
    """The rcParams of the course style (``lecture=True``: larger fonts and lines)."""
    rc = dict(_BASE_RC)
    rc.update(_LECTURE_RC if lecture else _NORMAL_RC)
    return rc


def use_style(lecture: bool | None = None) -> dict:
    """Apply the course style to matplotlib's global rcParams; call once in the setup cell.

    ``lecture=None`` (default) reads the environment variable ``NTK_TEACH_LECTURE``
    (``1``/``true`` switch lecture mode on), so a lecturer can start JupyterLab with
    ``NTK_TEACH_LECTURE=1`` and every notebook projects well without edits.
    Returns the rcParams it set. Figures made afterwards (by :func:`new_figure`,
    every demo and ``plt``) use the style.
    """
    if lecture is None:
        lecture = os.environ.get("NTK_TEACH_LECTURE", "").strip().lower() in ("1", "true", "yes", "on")
    rc = style_rc(bool(lecture))
    mpl.rcParams.update(rc)
    _state["lecture"] = bool(lecture)
    _state["applied"] = True
    return rc


@contextmanager
def style_context(lecture: bool = False):
    """Temporarily use the course style (e.g. to save a figure for slides)."""
    old = _state["lecture"]
    with mpl.rc_context(style_rc(lecture)):
        _state["lecture"] = lecture
        try:
            yield
        finally:
            _state["lecture"] = old


def series_style(i: int, *, marker: bool = True, markevery=None) -> dict:
    """Keyword arguments for ``ax.plot`` of the ``i``-th series: colour, line style and marker.

    ``marker=False`` leaves out the marker (for dense curves, where the line
    style still distinguishes the series); ``markevery`` thins markers on long curves.
    The styles repeat after ``len(COLORS)`` series.
    """
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 0:
        raise ValueError(f"i must be a non-negative integer, got {i!r}")
    k = int(i) % len(COLORS)
    kw = {"color": COLORS[k], "linestyle": LINESTYLES[k]}
    if marker:
        kw["marker"] = MARKERS[k]
        if markevery is not None:
            kw["markevery"] = markevery
    return kw


def fit_loglog_slope(x, y) -> tuple[float, float]:
    """Least-squares fit of ``log y = slope * log x + intercept``; returns ``(slope, intercept)``.

    Natural logarithms; all ``x`` and ``y`` must be positive and finite, at least two points.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 2:
        raise ValueError(f"need at least 2 points to fit a slope, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(x > 0) and np.all(y > 0)):
        raise ValueError("x and y must be positive and finite to fit a log-log slope")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


def _fraction(v: float) -> str:
    """-0.5 -> '-1/2', 1.0 -> '1', 0.333.. -> '1/3' (small denominators), else '%.3g'."""
    for den in (1, 2, 3, 4):
        num = v * den
        if abs(num - round(num)) < 1e-9:
            num = int(round(num))
            return f"{num}" if den == 1 else f"{num}/{den}"
    return f"{v:.3g}"


def slope_label(label: str, slope: float, expected: float | None = None, digits: int = 2) -> str:
    """Legend text with a fitted slope, e.g. ``"|K - K_inf|: slope -0.49 (theory -1/2)"``."""
    text = f"{label}: slope {slope:.{digits}f}"
    if expected is not None:
        text += f" (theory {_fraction(float(expected))})"
    return text


def plot_loglog_fit(ax, x, y, label: str, i: int = 0, expected: float | None = None, digits: int = 2) -> float:
    """Plot ``y`` against ``x`` on log-log axes with its fitted power law; return the slope.

    Data are markers (style ``i``), the fit a line through them; the legend entry
    says the slope and, if given, the theory value. Sets both axes to log scale.
    """
    slope, intercept = fit_loglog_slope(x, y)
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    kw = series_style(i)
    ax.plot(x, y, linestyle="none", marker=kw["marker"], color=kw["color"])
    xs = np.geomspace(x.min(), x.max(), 50)
    ax.plot(xs, np.exp(intercept) * xs**slope, color=kw["color"], linestyle=kw["linestyle"],
            marker=kw["marker"], markevery=[0, len(xs) - 1],
            label=slope_label(label, slope, expected, digits))
    ax.set_xscale("log")
    ax.set_yscale("log")
    return slope


def new_figure(figsize=(6.4, 3.6), dpi: float | None = None, **kwargs):
    """A white ``matplotlib.figure.Figure`` on the Agg canvas, outside pyplot.

    Never touches pyplot state, so it does not pile up figures and is safe after
    ``%matplotlib widget``. Display it with ``IPython.display.display(fig)`` or
    :func:`ntk_teach.viz.show`; demos use :class:`ntk_teach.viz.PersistentFigure`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    kwargs.setdefault("facecolor", WHITE)
    kwargs.setdefault("layout", "constrained")
    fig = Figure(figsize=figsize, dpi=dpi, **kwargs)
    FigureCanvasAgg(fig)
    return fig
