"""The standard controls of the course: same look, same labels, same CSS classes everywhere.

=====================  ===============================  ================  ==================
factory                widget                           description       CSS class
=====================  ===============================  ================  ==================
:func:`width_slider`   ``SelectionSlider`` (log-spaced) ``"width"``       ``ntk-width``
:func:`alpha_slider`   ``FloatLogSlider``               ``"alpha"``       ``ntk-alpha``
:func:`seed_control`   ``BoundedIntText``               ``"seed"``        ``ntk-seed``
:func:`step_control`   ``Play`` + ``IntSlider`` (linked) ``"step"``       ``ntk-step``
:func:`int_slider`     ``IntSlider``                    (given)           ``ntk-control``
:func:`float_slider`   ``FloatSlider``                  (given)           ``ntk-control``
:func:`choice`         ``Dropdown`` / ``ToggleButtons`` (given)           ``ntk-control``
=====================  ===============================  ================  ==================

Every control also has the class ``ntk-control`` and a ``.value``; demos observe
``value``. All share one layout (:data:`CONTROL_LAYOUT`, :data:`DESCRIPTION_STYLE`)
so notebooks look like one course. Pass ``continuous_update=False`` for controls
whose callback is slow (more than ~100 ms): the demo then updates on release.
:func:`control_values` lists the values a script should drive a control through
(used by ``bench/bench_widgets.py`` and the tests).
"""
from __future__ import annotations

import math

import ipywidgets as widgets
import numpy as np
import traitlets

#: Log-spaced widths used across the course (powers of two).
WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)

CONTROL_CLASS = "ntk-control"
CONTROL_LAYOUT = {"width": "360px"}
DESCRIPTION_STYLE = {"description_width": "70px"}


def _finish(w, css: str | None = None):
    w.add_class(CONTROL_CLASS)
    if css:
        w.add_class(css)
    return w


def _layout():
    return widgets.Layout(**CONTROL_LAYOUT)


def width_slider(options=WIDTHS[:8], value: int | None = None, *, description: str = "width",
                 continuous_update: bool = True) -> widgets.SelectionSlider:
    """Log-spaced width choices (``SelectionSlider``, class ``ntk-width``).

    ``options`` are the allowed widths (increasing positive integers, default 8..1024);
    ``value`` defaults to the middle option.
    """
    options = tuple(int(o) for o in options)
    if len(options) < 2 or any(o < 1 for o in options) or list(options) != sorted(set(options)):
        raise ValueError(f"options must be at least two increasing positive integers, got {options}")
    if value is None:
        value = options[len(options) // 2]
    if value not in options:
        raise ValueError(f"value must be one of options {options}, got {value!r}")
    w = widgets.SelectionSlider(options=options, value=value, description=description,
                                continuous_update=continuous_update, layout=_layout(),
                                style=DESCRIPTION_STYLE)
    return _finish(w, "ntk-width")


def alpha_slider(value: float = 1.0, min_exp: float = -2.0, max_exp: float = 2.0, *, base: float = 10.0,
                 step: float = 0.25, description: str = "alpha",
                 continuous_update: bool = True) -> widgets.FloatLogSlider:
    """Output scale ``alpha`` on a log scale, ``base**min_exp .. base**max_exp`` (class ``ntk-alpha``)."""
    if not (min_exp < max_exp):
        raise ValueError(f"min_exp must be < max_exp, got {min_exp} and {max_exp}")
    if not (base**min_exp <= value <= base**max_exp):
        raise ValueError(f"value must be in [{base**min_exp:g}, {base**max_exp:g}], got {value}")
    w = widgets.FloatLogSlider(value=value, base=base, min=min_exp, max=max_exp, step=step,
                               description=description, readout_format=".3g",
                               continuous_update=continuous_update, layout=_layout(),
                               style=DESCRIPTION_STYLE)
    return _finish(w, "ntk-alpha")


def seed_control(value: int = 0, max_seed: int = 9999, *, description: str = "seed") -> widgets.BoundedIntText:
    """The random seed (``BoundedIntText`` with arrows, class ``ntk-seed``); new seed = new draw."""
    w = widgets.BoundedIntText(value=value, min=0, max=max_seed, step=1, description=description,
                               layout=widgets.Layout(width="180px"), style=DESCRIPTION_STYLE)
    return _finish(w, "ntk-seed")


class StepControl(widgets.HBox):
    """A ``Play`` button linked to an ``IntSlider`` over training steps.

    ``value`` (an ordinary traitlet mirrored from the slider) is what demos observe;
    ``slider`` and ``play`` are the two widgets. The link is made in the browser
    (``jslink``) for smooth playback *and* in the kernel, so setting ``value``
    from code moves both.
    """

    value = traitlets.Int(0)

    def __init__(self, n_steps: int, value: int = 0, step: int = 1, interval_ms: int = 150,
                 description: str = "step", continuous_update: bool = True):
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}")
        if not 0 <= value <= n_steps:
            raise ValueError(f"value must be in [0, {n_steps}], got {value}")
        self.slider = widgets.IntSlider(value=value, min=0, max=n_steps, step=step, description=description,
                                        continuous_update=continuous_update, layout=_layout(),
                                        style=DESCRIPTION_STYLE)
        self.play = widgets.Play(value=value, min=0, max=n_steps, step=step, interval=interval_ms,
                                 description="play", show_repeat=False)
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        super().__init__(children=[self.play, self.slider])
        self.value = value
        traitlets.link((self.slider, "value"), (self, "value"))
        traitlets.link((self.play, "value"), (self.slider, "value"))
        self.slider.add_class(CONTROL_CLASS)
        self.slider.add_class("ntk-step")
        _finish(self, "ntk-step-control")

    @property
    def min(self):
        return self.slider.min

    @property
    def max(self):
        return self.slider.max

    @property
    def step(self):
        return self.slider.step


def step_control(n_steps: int, value: int = 0, step: int = 1, interval_ms: int = 150,
                 description: str = "step") -> StepControl:
    """A training-step slider with a ``Play`` button (see :class:`StepControl`)."""
    return StepControl(n_steps, value=value, step=step, interval_ms=interval_ms, description=description)


def int_slider(description: str, value: int, min: int, max: int, step: int = 1,
               continuous_update: bool = True) -> widgets.IntSlider:
    """A plain integer slider in the course layout."""
    w = widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                          continuous_update=continuous_update, layout=_layout(), style=DESCRIPTION_STYLE)
    return _finish(w)


def float_slider(description: str, value: float, min: float, max: float, step: float,
                 continuous_update: bool = True, readout_format: str = ".3g") -> widgets.FloatSlider:
    """A plain float slider in the course layout."""
    w = widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                            readout_format=readout_format, continuous_update=continuous_update,
                            layout=_layout(), style=DESCRIPTION_STYLE)
    return _finish(w)


def log_slider(description: str, value: float, min_exp: float, max_exp: float, step: float = 0.25,
               base: float = 10.0, continuous_update: bool = True) -> widgets.FloatLogSlider:
    """A log-scale float slider (learning rates, times, ...), ``base**min_exp .. base**max_exp``."""
    w = widgets.FloatLogSlider(value=value, base=base, min=min_exp, max=max_exp, step=step,
                               description=description, readout_format=".3g",
                               continuous_update=continuous_update, layout=_layout(), style=DESCRIPTION_STYLE)
    return _finish(w)


def choice(description: str, options, value=None, buttons: bool = False):
    """Pick one of a few options (``ToggleButtons`` when ``buttons=True``, else ``Dropdown``)."""
    options = list(options)
    value = options[0] if value is None else value
    cls = widgets.ToggleButtons if buttons else widgets.Dropdown
    w = cls(options=options, value=value, description=description, style=DESCRIPTION_STYLE)
    return _finish(w)


def control_values(w, max_values: int = 12) -> list:
    """The values a script should drive control ``w`` through, in order (at most ``max_values``).

    Selection sliders and choices: their options; integer sliders/steps: evenly spaced
    integers; float sliders: an even grid; log sliders: a log-even grid; seeds: 0..4.
    """
    if isinstance(w, StepControl):
        w = w.slider
    if isinstance(w, (widgets.SelectionSlider, widgets.Dropdown, widgets.ToggleButtons)):
        vals = [v for _, v in w._options_full]
    elif isinstance(w, widgets.BoundedIntText):
        vals = list(range(w.min, min(w.max, w.min + 4) + 1))
    elif isinstance(w, widgets.FloatLogSlider):
        vals = list(w.base ** np.linspace(w.min, w.max, max_values))
    elif isinstance(w, (widgets.IntSlider, widgets.Play)):
        n = (w.max - w.min) // w.step + 1
        idx = np.unique(np.linspace(0, n - 1, min(n, max_values)).round().astype(int))
        vals = [int(w.min + i * w.step) for i in idx]
    elif isinstance(w, widgets.FloatSlider):
        vals = list(np.linspace(w.min, w.max, max_values))
    elif isinstance(w, (widgets.Checkbox, widgets.ToggleButton)):
        vals = [False, True]
    else:
        raise TypeError(f"do not know how to drive a {type(w).__name__}")
    if len(vals) > max_values:
        idx = np.unique(np.linspace(0, len(vals) - 1, max_values).round().astype(int))
        vals = [vals[i] for i in idx]
    return [float(v) if isinstance(v, np.floating) else v for v in vals]


def controls_box(controls: dict) -> widgets.Box:
    """Lay out controls in the course's standard way: a wrapping row (class ``ntk-controls``)."""
    box = widgets.HBox(list(controls.values()),
                       layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
    box.add_class("ntk-controls")
    return box


def _isclose(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b
