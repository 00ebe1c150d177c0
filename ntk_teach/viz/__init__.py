"""The widget and plotting kit of the course (style, persistent figure, controls, demos).

Quick reference (details in each submodule's docstring)::

    from ntk_teach import viz
    viz.use_style()                    # setup cell: white backgrounds, Okabe-Ito + line styles;
                                       # use_style(lecture=True) or NTK_TEACH_LECTURE=1 for projectors

    # style                           (ntk_teach.viz.style)
    viz.series_style(i)                # {color, linestyle, marker} of the i-th series
    viz.plot_loglog_fit(ax, x, y, label, i=0, expected=-0.5) -> slope  (slope in the legend)
    viz.fit_loglog_slope(x, y) -> (slope, intercept);  viz.slope_label(label, slope, expected)
    viz.new_figure(figsize) -> Figure  (white, Agg, outside pyplot);  viz.show(fig)

    # controls                        (ntk_teach.viz.controls)
    viz.width_slider(options=(8, ..., 1024), value=None)   # SelectionSlider "width", class ntk-width
    viz.alpha_slider(value=1.0, min_exp=-2, max_exp=2)     # FloatLogSlider "alpha", class ntk-alpha
    viz.seed_control(value=0)                              # BoundedIntText "seed",  class ntk-seed
    viz.step_control(n_steps, value=0)                     # Play + IntSlider "step", class ntk-step
    viz.int_slider / float_slider / log_slider / choice    # the same layout for anything else

    # demos                           (ntk_teach.viz.demo)
    @viz.register_demo
    class MyDemo(viz.Demo):
        name = "04.my_demo"
        def controls(self): ...        # {param: widget}
        def setup(self, fig): ...      # once: axes and artists
        def update(self, width=64, seed=0): ...   # every change: set_data, in place
    plot_my_demo = viz.plot_function(MyDemo)      # plain function -> static Figure
    view = MyDemo.interact()                      # controls + ONE persistent figure
    view.set(width=256)                           # drive from code; errors raise

    viz.registered_demos() -> {name: DemoClass}   # every demo of the course (bench, tests)

    # figure                          (ntk_teach.viz.figure)
    viz.PersistentFigure(figsize, backend="auto") # .fig, .widget, .refresh(); ipympl if active
    viz.animate(line, ax.title)                   # in setup(): artists update() changes; redraws blit them
"""
from .controls import (
    WIDTHS,
    StepControl,
    alpha_slider,
    choice,
    control_values,
    controls_box,
    float_slider,
    int_slider,
    log_slider,
    seed_control,
    step_control,
    width_slider,
)
from .demo import (
    Demo,
    DemoView,
    css_name,
    get_demo,
    load_all_demos,
    plot_function,
    register_demo,
    registered_demos,
)
from .figure import PersistentFigure, animate, figure_png, ipympl_active, register_figure_formatter, show
from .style import (
    CMAP,
    CMAP_ALT,
    COLORS,
    LINESTYLES,
    MARKERS,
    OKABE_ITO,
    THEORY_COLOR,
    TARGET_COLOR,
    fit_loglog_slope,
    lecture_mode,
    new_figure,
    plot_loglog_fit,
    series_style,
    slope_label,
    style_context,
    style_rc,
)
from .style import use_style as _use_style


def use_style(lecture: bool | None = None) -> None:
    """Apply the course style (see :func:`ntk_teach.viz.style.use_style`) and, inside IPython,
    make a ``Figure`` that ends a cell display as a PNG under every backend (also ipympl).

    Returns None (so it prints nothing in a notebook); :func:`style_rc` gives the settings.
    """
    _use_style(lecture)
    register_figure_formatter()


__all__ = [
    "CMAP", "CMAP_ALT", "COLORS", "LINESTYLES", "MARKERS", "OKABE_ITO", "THEORY_COLOR", "TARGET_COLOR",
    "WIDTHS", "animate", "Demo", "DemoView", "PersistentFigure", "StepControl", "alpha_slider", "choice",
    "control_values", "controls_box", "css_name", "figure_png", "fit_loglog_slope", "float_slider",
    "get_demo", "int_slider", "ipympl_active", "lecture_mode", "load_all_demos", "log_slider",
    "new_figure", "plot_function", "plot_loglog_fit", "register_demo", "register_figure_formatter",
    "registered_demos", "seed_control", "series_style", "show", "slope_label", "step_control",
    "style_context", "style_rc", "use_style", "width_slider",
]
