"""The demo pattern: a plain plotting function, plus controls that update ONE figure in place.

A demo is a small class with three methods and a name. The kit turns it into

* a **plain plotting function** ``plot_x(width=..., seed=...) -> Figure`` whose call
  in a normal cell shows a real static figure (also in HTML renderings and slides);
* an **interactive view** ``X.interact()``: the standard controls above one
  persistent figure, updated in place on every control change (ipympl canvas when
  ``%matplotlib widget`` is active, otherwise an ``ipywidgets.Image`` whose PNG is
  replaced: no flicker, no stacked figures);
* an entry in the **registry**, so ``bench/bench_widgets.py`` and the tests can find
  every demo of the course and drive it through its control ranges.

Worked example (this is how ``ntk_teach/demos/nbNN_topic.py`` modules are written)::

    import functools
    import numpy as np
    import torch
    import ntk_teach
    from ntk_teach import viz

    @functools.lru_cache(maxsize=64)          # cache the expensive part, keyed on the arguments
    def _random_functions(width, seed, n_nets=8):
        x = torch.linspace(-3, 3, 200, dtype=torch.float64)
        with torch.no_grad():
            ys = [ntk_teach.MLP(width, seed=seed * 1000 + k)(x).numpy() for k in range(n_nets)]
        return x.numpy(), np.stack(ys)

    @viz.register_demo
    class RandomInits(viz.Demo):
        \"\"\"Eight random networks at initialization; wider nets look like smoother GP draws.\"\"\"
        name = "02.random_inits"               # "NN.snake_case": notebook number, then a short name
        figsize = (6.4, 3.4)

        def controls(self):                    # one standard control per parameter of update()
            return {"width": viz.width_slider(), "seed": viz.seed_control()}

        def setup(self, fig):                  # called ONCE: create axes and artists
            self.ax = fig.add_subplot()
            self.lines = [self.ax.plot([], [], **viz.series_style(k, marker=False))[0] for k in range(8)]
            self.ax.set(xlabel="input $x$", ylabel="output $f(x;\\\\theta_0)$", xlim=(-3, 3), ylim=(-3, 3))

        def update(self, width=64, seed=0):    # called on EVERY change: defaults = the static figure
            x, ys = _random_functions(width, seed)
            for line, y in zip(self.lines, ys):
                line.set_data(x, y)            # change artists in place, never re-plot
            self.ax.set_title(f"8 random ReLU nets, width {width} (NTK parameterization)")

    plot_random_inits = viz.plot_function(RandomInits)   # plot_random_inits(width=64, seed=0) -> Figure

In the notebook::

    from ntk_teach.demos import nb02_wide_networks as demos
    demos.plot_random_inits()                      # cell 1: a static figure with the defaults
    view = demos.RandomInits.interact()            # cell 2: controls + one persistent figure
    view                                           #   (the last expression displays it)
    view.set(width=1024)                           # drive it from code (raises on errors)

Rules the kit enforces
----------------------
* Every parameter of ``update`` has a default; ``controls()`` keys are a subset of
  those parameters (the others stay at their defaults).
* The initial render of ``interact()`` and every ``view.set(...)`` call raise
  exceptions normally, so nbval fails on them. An exception inside a slider
  callback is shown as a traceback in the view's log (an ``Output`` widget with
  class ``ntk-demo-log``), exactly as ``ipywidgets.interact`` does; it is sent as
  an ``error`` message, so nbval fails the cell that triggered it, and it is kept
  in ``view.errors``. Nothing is swallowed.
* Never call ``plt.show()`` or ``plt.figure()`` in a demo; draw on the figure given
  to ``setup``.

How the browser and scripts find things (CSS classes)
-----------------------------------------------------
The view is a ``VBox`` with classes ``ntk-demo`` and ``ntk-demo-<NN>-<name>`` (dots and
underscores become dashes, e.g. ``ntk-demo-02-random-inits``). Inside it: the control
row ``ntk-controls`` (each control ``ntk-control`` plus ``ntk-width`` / ``ntk-alpha`` /
``ntk-seed`` / ``ntk-step``), the figure ``ntk-figure`` (an ``<img>`` inline or a
``<canvas>`` under ipympl) and the log ``ntk-demo-log``.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re
import time

import ipywidgets as widgets

from .._threads import torch_threads  # noqa: F401  (re-exported: viz.torch_threads)
from .controls import controls_box
from .figure import PersistentFigure
from .style import new_figure

_NAME_RE = re.compile(r"^\d\d\.[a-z][a-z0-9_]*$")
_REGISTRY: dict[str, type] = {}


class Demo:
    """Base class of every demo; subclass it, then decorate with :func:`register_demo`.

    Subclasses set :attr:`name` and override :meth:`setup`, :meth:`update` and
    (usually) :meth:`controls`. See the module docstring for a worked example.
    """

    #: Registry key ``"NN.snake_case"`` (notebook number, short name). Required.
    name: str = ""
    #: Figure size in inches.
    figsize: tuple = (6.4, 3.6)
    #: Recompute the constrained layout on every redraw (slower). Leave False unless tick labels or
    #: titles change size a lot between updates; the layout is then computed once, on the first draw.
    relayout: bool = False
    #: torch threads while ``update`` runs (None: leave torch's setting alone). One thread is
    #: the default because widget updates are many small tensor ops: on 2 shared cores, measured
    #: 4-6x faster than two spinning OpenMP threads. Set None for a demo with large matrix work.
    torch_threads: int | None = 1

    # ---- to override -------------------------------------------------------------------
    def controls(self) -> dict:
        """``{parameter: widget}`` for the parameters a learner can change (default: none)."""
        return {}

    def setup(self, fig) -> None:
        """Create axes and artists on ``fig`` (a ``matplotlib.figure.Figure``). Called once."""
        raise NotImplementedError(f"{type(self).__name__}.setup(fig) is not written yet")

    def update(self, **params) -> None:
        """Change the artists for ``params`` (in place). Every parameter needs a default."""
        raise NotImplementedError(f"{type(self).__name__}.update(...) is not written yet")

    # ---- provided ----------------------------------------------------------------------
    @classmethod
    def defaults(cls) -> dict:
        """The default parameters: the defaults of :meth:`update`'s signature."""
        return _update_defaults(cls)

    @classmethod
    def params_with(cls, **params) -> dict:
        """Defaults updated by ``params``; unknown names raise ``TypeError``."""
        defaults = cls.defaults()
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"{cls.__name__} has no parameter(s) {unknown}; parameters: {sorted(defaults)}")
        defaults.update(params)
        return defaults

    @classmethod
    def plot(cls, **params):
        """A static figure for ``params`` (defaults for the rest): a new ``Figure``."""
        full = cls.params_with(**params)
        demo = cls()
        fig = new_figure(figsize=demo.figsize)
        demo.setup(fig)
        with torch_threads(demo.torch_threads):
            demo.update(**full)
        return fig

    @classmethod
    def interact(cls, backend: str = "auto", **params) -> "DemoView":
        """Controls plus one persistent figure, rendered once now (errors raise).

        ``params`` set the initial values (defaults for the rest); ``backend`` is
        passed to :class:`~ntk_teach.viz.PersistentFigure` (``"auto"``, ``"inline"``, ``"ipympl"``).
        """
        return DemoView(cls(), backend=backend, **params)




def _update_defaults(cls) -> dict:
    sig = inspect.signature(cls.update)
    out = {}
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is inspect.Parameter.empty:
            raise TypeError(f"{cls.__name__}.update: parameter {p.name!r} needs a default "
                            "(the defaults make the static figure)")
        out[p.name] = p.default
    return out


def css_name(name: str) -> str:
    """CSS class of a demo's view: ``"02.random_inits"`` -> ``"ntk-demo-02-random-inits"``."""
    return "ntk-demo-" + re.sub(r"[._]", "-", name)


def register_demo(cls):
    """Class decorator: check a :class:`Demo` subclass and add it to the registry.

    Checks: a name ``"NN.snake_case"``, ``setup``/``update`` overridden, every
    ``update`` parameter has a default. Re-registering the same class (module
    reload) replaces it; a different class with a taken name raises ``ValueError``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Demo)):
        raise TypeError(f"register_demo expects a Demo subclass, got {cls!r}")
    name = cls.name
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{cls.__name__}.name must look like 'NN.snake_case' (e.g. '04.alpha_toy'), got {name!r}")
    for meth in ("setup", "update"):
        if getattr(cls, meth) is getattr(Demo, meth):
            raise TypeError(f"{cls.__name__} must override {meth}()")
    _update_defaults(cls)  # raises if a parameter lacks a default
    old = _REGISTRY.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"demo name {name!r} is taken by {old.__module__}.{old.__qualname__}")
    _REGISTRY[name] = cls
    return cls


def load_all_demos() -> None:
    """Import every module of ``ntk_teach.demos`` so that their demos register."""
    import ntk_teach.demos as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")


def registered_demos(load: bool = True) -> dict:
    """``{name: DemoClass}`` of every registered demo, sorted by name (imports all demo modules first)."""
    if load:
        load_all_demos()
    return dict(sorted(_REGISTRY.items()))


def get_demo(name: str):
    """The demo class registered as ``name``."""
    demos = registered_demos()
    if name not in demos:
        raise KeyError(f"no demo named {name!r}; registered: {list(demos)}")
    return demos[name]


def plot_function(cls, name: str | None = None):
    """The plain plotting function of a demo: ``plot_x(**params) -> Figure``.

    Its signature is that of ``cls.update`` (so ``help(plot_x)`` shows the defaults)
    and its docstring the class docstring. ``name`` defaults to ``plot_<short name>``.
    """
    short = cls.name.split(".", 1)[1] if cls.name else cls.__name__.lower()

    def plot_x(**params):
        return cls.plot(**params)

    sig = inspect.signature(cls.update)
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in list(sig.parameters.values())[1:]
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    from matplotlib.figure import Figure

    plot_x.__signature__ = inspect.Signature(params, return_annotation=Figure)
    plot_x.__name__ = plot_x.__qualname__ = name or f"plot_{short}"
    plot_x.__doc__ = (inspect.getdoc(cls) or "") + (
        f"\n\nStatic figure of demo {cls.name!r}; returns a matplotlib Figure. "
        f"Interactive version: {cls.__name__}.interact()."
    )
    plot_x.demo = cls
    return plot_x


class DemoView(widgets.VBox):
    """Controls above one persistent figure, with a log for tracebacks (see module docstring).

    Attributes
    ----------
    demo : Demo
    figure : PersistentFigure   (``figure.fig`` is the matplotlib Figure)
    controls : dict             ``{parameter: widget}``
    log_output : ipywidgets.Output  tracebacks of failed callbacks (class ``ntk-demo-log``)
    errors : list               exceptions raised inside callbacks
    timings : list              ``(update_ms, draw_ms)`` per render
    """

    def __init__(self, demo: Demo, backend: str = "auto", **params):
        self.demo = demo
        self.params = type(demo).params_with(**params)
        self.controls = dict(demo.controls())
        unknown = sorted(set(self.controls) - set(self.params))
        if unknown:
            raise TypeError(f"{type(demo).__name__}.controls() has control(s) {unknown} that update() "
                            f"does not take; update() parameters: {sorted(self.params)}")
        for key, w in self.controls.items():
            if not hasattr(w, "value"):
                raise TypeError(f"control {key!r} must be a widget with a .value, got {type(w).__name__}")
        self.figure = PersistentFigure(figsize=demo.figsize, backend=backend, relayout=demo.relayout)
        self.log_output = widgets.Output()
        self.log_output.add_class("ntk-demo-log")
        self.errors: list = []
        self.timings: list = []
        self._holding = False
        demo.setup(self.figure.fig)
        # initial values from the parameters; then the first render, which raises normally
        self._holding = True
        try:
            for key, w in self.controls.items():
                w.value = self.params[key]
        finally:
            self._holding = False
        self.render()
        for key, w in self.controls.items():
            w.observe(functools.partial(self._on_change, key), names="value")
        children = ([controls_box(self.controls)] if self.controls else []) + [self.figure.widget, self.log_output]
        super().__init__(children=children)
        self.add_class("ntk-demo")
        self.add_class(css_name(type(demo).name or type(demo).__name__.lower()))

    @property
    def fig(self):
        """The matplotlib Figure."""
        return self.figure.fig

    def render(self) -> tuple[float, float]:
        """Update for the current parameters and redraw; returns ``(update_ms, draw_ms)``. Raises on errors."""
        t0 = time.perf_counter()
        with torch_threads(self.demo.torch_threads):
            self.demo.update(**self.params)
        t1 = time.perf_counter()
        self.figure.refresh()
        t2 = time.perf_counter()
        timing = ((t1 - t0) * 1e3, (t2 - t1) * 1e3)
        self.timings.append(timing)
        return timing

    def set(self, **params) -> tuple[float, float]:
        """Set parameters (and their controls) from code, render once, raise on errors.

        Returns ``(update_ms, draw_ms)``. Parameters without a control can be set too.
        """
        new = type(self.demo).params_with(**{**self.params, **params})
        self._holding = True
        try:
            for key, value in params.items():
                if key in self.controls:
                    self.controls[key].value = value
        finally:
            self._holding = False
        self.params = new
        return self.render()

    def _on_change(self, key, change) -> None:
        self.params[key] = change["new"]
        if self._holding:
            return
        with self.log_output:
            try:
                self.render()
            except Exception as exc:  # shown (as interact does) and recorded, never swallowed
                self.errors.append(exc)
                try:
                    from IPython import get_ipython

                    ip = get_ipython()
                except ImportError:  # pragma: no cover
                    ip = None
                if ip is None:
                    raise
                ip.showtraceback()

    def close(self) -> None:
        """Close the widgets and release the figure."""
        fig = getattr(self, "figure", None)  # also called by __del__ of a half-built view
        if fig is not None:
            fig.close()
        super().close()
