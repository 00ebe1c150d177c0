"""The widget and plotting kit: style, controls, persistent figure, demo pattern and registry."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
import pytest
from PIL import Image

from ntk_teach import viz
from ntk_teach.viz import demo as demo_mod


def _png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


# ---- style -------------------------------------------------------------------------------

def test_okabe_ito_palette_and_pairs_are_distinct():
    assert len(viz.OKABE_ITO) == 8 and set(viz.COLORS) == set(viz.OKABE_ITO.values())
    assert len(viz.COLORS) == len(viz.LINESTYLES) == len(viz.MARKERS)
    styles = [viz.series_style(i) for i in range(len(viz.COLORS))]
    # nothing by colour alone: line style and marker differ between any two series too
    assert len({repr(s["linestyle"]) for s in styles}) == len(styles)
    assert len({s["marker"] for s in styles}) == len(styles)
    assert viz.series_style(len(viz.COLORS)) == viz.series_style(0)
    assert "marker" not in viz.series_style(1, marker=False)
    with pytest.raises(ValueError, match="i must be"):
        viz.series_style(-1)


def test_use_style_white_background_and_lecture_fonts():
    old = dict(mpl.rcParams)
    try:
        assert viz.use_style(lecture=False) is None
        rc = viz.style_rc(lecture=False)
        for key in ("figure.facecolor", "axes.facecolor", "savefig.facecolor"):
            assert mpl.colors.to_hex(mpl.rcParams[key]) == "#ffffff", key
        assert mpl.rcParams["savefig.transparent"] is False
        small = rc["font.size"]
        viz.use_style(lecture=True)
        rc_l = viz.style_rc(lecture=True)
        assert viz.lecture_mode() and mpl.rcParams["font.size"] == rc_l["font.size"]
        # projector text: font size (points, relative to the figure) times dpi (pixels per point)
        scale = rc_l["font.size"] * rc_l["figure.dpi"] / (small * rc["figure.dpi"])
        assert scale >= 1.6, scale
        assert rc_l["lines.linewidth"] > rc["lines.linewidth"]
        pf = viz.PersistentFigure(figsize=(4, 2), backend="inline")
        assert pf.dpi == 140 and pf.widget.layout.width == "560px"
    finally:
        viz.use_style(lecture=False)
        mpl.rcParams.update({k: v for k, v in old.items() if k in rc})


def test_use_style_reads_lecture_environment_variable(monkeypatch):
    monkeypatch.setenv("NTK_TEACH_LECTURE", "1")
    viz.use_style()
    assert viz.lecture_mode()
    monkeypatch.setenv("NTK_TEACH_LECTURE", "0")
    viz.use_style()
    assert not viz.lecture_mode()


def test_saved_png_is_opaque_white_even_with_transparent_rc():
    with mpl.rc_context({"figure.facecolor": (1, 1, 1, 0), "savefig.transparent": True}):
        fig = viz.new_figure(figsize=(2, 1.5), dpi=50)
        fig.add_subplot().plot([0, 1], [0, 1])
        for png in (viz.figure_png(fig), viz.figure.fast_png(fig)):
            px = _png_pixels(png)
            assert px[..., 3].min() == 255, "background must be opaque"
            assert tuple(px[0, 0, :3]) == (255, 255, 255), "corner pixel must be white"


def test_fit_loglog_slope_recovers_power_law_and_label():
    x = np.array([10, 100, 1000, 10000.0])
    slope, intercept = viz.fit_loglog_slope(x, 3.0 * x**-0.5)
    assert slope == pytest.approx(-0.5, abs=1e-12) and np.exp(intercept) == pytest.approx(3.0, rel=1e-12)
    assert viz.slope_label("|K - K_inf|", -0.4912, expected=-0.5) == "|K - K_inf|: slope -0.49 (theory -1/2)"
    assert viz.slope_label("g", 1.0, expected=1) == "g: slope 1.00 (theory 1)"
    with pytest.raises(ValueError, match="positive"):
        viz.fit_loglog_slope([1, 2], [1, -1])
    with pytest.raises(ValueError, match="at least 2"):
        viz.fit_loglog_slope([1], [1])


def test_plot_loglog_fit_puts_slope_in_legend():
    fig = viz.new_figure()
    ax = fig.add_subplot()
    x = np.geomspace(10, 1000, 5)
    s = viz.plot_loglog_fit(ax, x, 2 * x**0.5, label="grad norm", expected=0.5)
    assert s == pytest.approx(0.5, abs=1e-12)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.legend().get_texts()]
    assert labels == ["grad norm: slope 0.50 (theory 1/2)"]


# ---- controls ----------------------------------------------------------------------------

def test_standard_controls_descriptions_and_classes():
    w = viz.width_slider()
    assert isinstance(w, widgets.SelectionSlider) and w.description == "width"
    assert "ntk-width" in w._dom_classes and "ntk-control" in w._dom_classes
    assert list(w.options) == [8, 16, 32, 64, 128, 256, 512, 1024] and w.value == 128
    ratios = np.diff(np.log(w.options))
    assert np.allclose(ratios, ratios[0]), "widths must be log-spaced"
    a = viz.alpha_slider()
    assert isinstance(a, widgets.FloatLogSlider) and a.description == "alpha" and "ntk-alpha" in a._dom_classes
    assert (a.base ** a.min, a.base ** a.max, a.value) == (0.01, 100.0, 1.0)
    s = viz.seed_control(3)
    assert s.description == "seed" and s.value == 3 and "ntk-seed" in s._dom_classes
    with pytest.raises(ValueError, match="options"):
        viz.width_slider(options=(64, 32))
    with pytest.raises(ValueError, match="value"):
        viz.width_slider(value=100)
    with pytest.raises(ValueError, match="value"):
        viz.alpha_slider(value=1000.0)
    assert viz.width_slider(continuous_update=False).continuous_update is False


def test_step_control_links_play_slider_and_value():
    sc = viz.step_control(50, value=5)
    assert isinstance(sc.play, widgets.Play) and isinstance(sc.slider, widgets.IntSlider)
    assert sc.slider.description == "step" and (sc.min, sc.max) == (0, 50)
    seen = []
    sc.observe(lambda ch: seen.append(ch["new"]), names="value")
    sc.play.value = 7                      # the Play button drives the slider and the value
    assert sc.slider.value == 7 and sc.value == 7
    sc.value = 9                           # code drives both widgets
    assert sc.slider.value == 9 and sc.play.value == 9
    assert seen == [7, 9]


def test_control_values_cover_the_ranges():
    assert viz.control_values(viz.width_slider(options=(8, 16, 32))) == [8, 16, 32]
    a = viz.control_values(viz.alpha_slider(min_exp=-1, max_exp=1), max_values=3)
    assert np.allclose(a, [0.1, 1.0, 10.0])
    steps = viz.control_values(viz.step_control(100), max_values=5)
    assert steps[0] == 0 and steps[-1] == 100 and len(steps) == 5
    assert viz.control_values(viz.seed_control()) == [0, 1, 2, 3, 4]
    assert len(viz.control_values(viz.width_slider(options=viz.WIDTHS), max_values=4)) == 4
    assert viz.control_values(viz.choice("act", ["relu", "tanh"])) == ["relu", "tanh"]


# ---- a demo used by the tests ------------------------------------------------------------

class _Line(viz.Demo):
    """y = alpha * x^p for a test."""

    name = "99.test_line"
    figsize = (3, 2)

    def controls(self):
        return {"alpha": viz.alpha_slider(), "width": viz.width_slider(options=(1, 2, 4))}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        self.x = np.linspace(0, 1, 20)
        (self.line,) = self.ax.plot(self.x, self.x, **viz.series_style(0))
        self.ax.set_ylim(0, 100)
        self.calls = []

    def update(self, alpha=1.0, width=2, fail_at=None):
        self.calls.append((alpha, width))
        if fail_at is not None and width == fail_at:
            raise RuntimeError(f"boom at width {width}")
        self.line.set_ydata(alpha * self.x**width)


@pytest.fixture
def line_demo():
    viz.register_demo(_Line)
    yield _Line
    demo_mod._REGISTRY.pop(_Line.name, None)


def test_plain_function_gives_a_static_figure(line_demo):
    plot_line = viz.plot_function(line_demo)
    assert plot_line.__name__ == "plot_test_line"
    import inspect

    assert str(inspect.signature(plot_line)).startswith("(*, alpha=1.0, width=2, fail_at=None)")
    fig = plot_line(alpha=50.0)
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), 50.0 * np.linspace(0, 1, 20) ** 2)
    with pytest.raises(TypeError, match="no parameter"):
        plot_line(depth=3)


def test_interact_updates_one_figure_in_place(line_demo):
    view = line_demo.interact(backend="inline", alpha=2.0)
    assert view.figure.backend == "inline" and isinstance(view.figure.widget, widgets.Image)
    assert "ntk-demo" in view._dom_classes and "ntk-demo-99-test-line" in view._dom_classes
    assert "ntk-figure" in view.figure.widget._dom_classes
    assert view.controls["alpha"].value == 2.0
    fig, line = view.fig, view.fig.axes[0].lines[0]
    png0 = view.figure.widget.value
    assert png0[:8] == b"\x89PNG\r\n\x1a\n"
    view.controls["alpha"].value = 80.0                   # a slider move (kernel side)
    assert view.fig is fig and view.fig.axes[0].lines[0] is line   # same figure, same artist
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1      # nothing stacked
    assert np.allclose(line.get_ydata(), 80.0 * np.linspace(0, 1, 20) ** 2)
    png1 = view.figure.widget.value
    assert png1 != png0 and _png_pixels(png1).shape == _png_pixels(png0).shape
    um, dm = view.set(width=4, alpha=10.0)
    assert view.controls["width"].value == 4 and view.params == {"alpha": 10.0, "width": 4, "fail_at": None}
    assert um >= 0 and dm > 0 and len(view.timings) == 3 and view.figure.n_draws == 3
    assert view.demo.calls == [(2.0, 2), (80.0, 2), (10.0, 4)]  # set() renders once for two changes
    # the layout is computed on the first draw, then frozen (faster redraws)
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    assert isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine)


def test_errors_raise_on_first_render_and_on_set(line_demo):
    with pytest.raises(RuntimeError, match="boom at width 2"):
        line_demo.interact(backend="inline", fail_at=2)
    view = line_demo.interact(backend="inline", fail_at=4)
    with pytest.raises(RuntimeError, match="boom at width 4"):
        view.set(width=4)


def test_error_in_slider_callback_is_not_swallowed(line_demo):
    """Outside IPython a callback error propagates to the code that moved the slider."""
    view = line_demo.interact(backend="inline", fail_at=4)
    with pytest.raises(RuntimeError, match="boom at width 4"):
        view.controls["width"].value = 4
    assert len(view.errors) == 1


def test_demo_contract_is_enforced():
    class NoName(viz.Demo):
        def setup(self, fig):
            pass

        def update(self, width=2):
            pass

    with pytest.raises(ValueError, match="NN.snake_case"):
        viz.register_demo(NoName)

    class NoDefault(viz.Demo):
        name = "99.no_default"

        def setup(self, fig):
            pass

        def update(self, width):
            pass

    with pytest.raises(TypeError, match="needs a default"):
        viz.register_demo(NoDefault)

    class NoUpdate(viz.Demo):
        name = "99.no_update"

        def setup(self, fig):
            pass

    with pytest.raises(TypeError, match="override update"):
        viz.register_demo(NoUpdate)

    class BadControls(viz.Demo):
        name = "99.bad_controls"

        def controls(self):
            return {"depth": viz.int_slider("depth", 1, 1, 3)}

        def setup(self, fig):
            pass

        def update(self, width=2):
            pass

    with pytest.raises(TypeError, match="does not take"):
        BadControls.interact(backend="inline")


def test_registry_rejects_a_second_class_with_a_taken_name(line_demo):
    class Other(_Line):
        name = "99.test_line"

    with pytest.raises(ValueError, match="taken"):
        viz.register_demo(Other)
    assert viz.register_demo(_Line) is _Line  # re-registering the same class (reload) is fine


DEMO_MODULES = sorted(p.stem for p in (Path(viz.__file__).parent.parent / "demos").glob("nb*.py"))


@pytest.mark.parametrize("module", DEMO_MODULES)
def test_every_demo_plots_and_drives(module):
    """Every demo of the course (one test per notebook's module): its static figure with the defaults,
    then each control set to the ends of its range, in place, without errors or added axes."""
    import importlib

    mod = importlib.import_module(f"ntk_teach.demos.{module}")
    demos = [cls for cls in viz.registered_demos(load=False).values() if cls.__module__ == mod.__name__]
    if module == "nb00_start_here":
        assert {cls.name for cls in demos} == {"00.random_nets", "00.widget_check"}
    assert demos, f"{module} registers no demo"
    for cls in demos:
        assert cls.name[:2] == module[2:4], f"{cls.name}: the number must be the notebook's ({module})"
        fig = cls.plot()
        assert fig.axes, f"{cls.name}: static figure has no axes"
        view = cls.interact(backend="inline")
        n_axes = len(view.fig.axes)
        assert "ntk-demo" in view._dom_classes and viz.css_name(cls.name) in view._dom_classes
        for key, w in view.controls.items():
            for v in viz.control_values(w, max_values=2):
                view.set(**{key: v})
        assert len(view.fig.axes) == n_axes, f"{cls.name}: axes were added during updates"
        assert not view.errors
        view.close()


def test_ipympl_backend_is_optional():
    try:
        import ipympl  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError):
            viz.PersistentFigure(backend="ipympl")
        assert not viz.ipympl_active()
    pf = viz.PersistentFigure(backend="auto")
    assert pf.backend == ("ipympl" if viz.ipympl_active() else "inline")
    with pytest.raises(ValueError, match="backend"):
        viz.PersistentFigure(backend="qt")


def test_no_pyplot_figures_are_created(line_demo):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        view = line_demo.interact(backend="inline")
        view.set(alpha=3.0)
        line_demo.plot()
    assert plt.get_fignums() == before


# ---- blitting and threads ------------------------------------------------------------------

class _Blit(viz.Demo):
    name = "99.test_blit"
    figsize = (3, 2)

    def controls(self):
        return {"k": viz.int_slider("k", 1, 1, 5)}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        self.x = np.linspace(0, 6, 50)
        (self.line,) = self.ax.plot(self.x, np.sin(self.x), **viz.series_style(0))
        self.ax.set_ylim(-1.2, 1.2)
        viz.animate(self.line, self.ax.title)

    def update(self, k=1, ymax=1.2):
        self.line.set_ydata(np.sin(k * self.x))
        self.ax.title.set_text(f"k = {k}")
        if self.ax.get_ylim()[1] != ymax:
            self.ax.set_ylim(-ymax, ymax)   # not animated: must trigger a full redraw


def test_animated_artists_are_blitted_and_pixels_match_a_full_draw():
    from ntk_teach.viz.figure import fast_png

    view = _Blit.interact(backend="inline")
    assert view.figure.n_full_draws == 1
    for k in (2, 3, 4, 5):
        view.set(k=k)
    assert view.figure.n_full_draws <= 2, "animated-only changes must not redraw the whole figure"
    assert view.figure.widget.value == fast_png(view.fig), "blitted frame must equal a full redraw"
    n = view.figure.n_full_draws
    view.set(ymax=3.0)                                  # axis limits changed: full redraw
    assert view.figure.n_full_draws == n + 1
    assert view.figure.widget.value == fast_png(view.fig)
    # static figures include animated artists
    fig = _Blit.plot(k=3)
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), np.sin(3 * np.linspace(0, 6, 50)))
    px = _png_pixels(viz.figure_png(fig))
    assert (px[..., :3] != 255).any()


def test_update_runs_with_one_torch_thread_and_restores_it():
    import torch

    seen = []

    class Threads(_Blit):
        def update(self, k=1, ymax=1.2):
            seen.append(torch.get_num_threads())
            super().update(k, ymax)

    before = torch.get_num_threads()
    Threads.plot()
    Threads.interact(backend="inline").set(k=2)
    assert seen == [1, 1, 1] and torch.get_num_threads() == before

    class Untouched(Threads):
        torch_threads = None

    seen.clear()
    Untouched.plot()
    assert seen == [before]
