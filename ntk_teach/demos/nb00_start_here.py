"""Figures and the live demo of ``notebooks/00_start_here.ipynb``.

* :func:`plot_course_map`: the map of notebooks 00-07 and their prerequisites.
* :class:`RandomNets` / :func:`plot_random_nets`: a few reference networks at
  initialization (1-D input, two hidden ReLU layers, NTK parameterization); the
  width slider of the environment check. Wider networks give smoother, more
  Gaussian-process-like random functions (notebook 02 makes this precise).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .. import viz
from ..dynamics import Ensemble

#: The notebooks of the course: (file stem, short title, minutes of self-study, prerequisites).
NOTEBOOKS = (
    ("00_start_here", "Start here", 20, ()),
    ("01_foundations", "Foundations", 60, ("00_start_here",)),
    ("02_wide_networks_are_gaussian_processes", "Wide networks\nare Gaussian\nprocesses", 75, ("01_foundations",)),
    ("03_the_neural_tangent_kernel", "The neural\ntangent kernel", 75, ("01_foundations", "02_wide_networks_are_gaussian_processes")),
    ("04_lazy_training_and_linearization", "Lazy training\nand\nlinearization", 75, ("03_the_neural_tangent_kernel",)),
    ("05_gradient_flow_and_the_kernel_regime", "Gradient flow\nand the\nkernel regime", 75, ("03_the_neural_tangent_kernel", "04_lazy_training_and_linearization")),
    ("06_generalization_and_infinite_ensembles", "Generalization\nand infinite\nensembles", 60, ("02_wide_networks_are_gaussian_processes", "05_gradient_flow_and_the_kernel_regime")),
    ("07_ntk_of_physics_informed_networks", "NTK of\nphysics-informed\nnetworks", 60, ("05_gradient_flow_and_the_kernel_regime",)),
)

# column (depth in the prerequisite graph) and row of each notebook on the map
_POS = {
    "00_start_here": (0, 1.0),
    "01_foundations": (1, 1.0),
    "02_wide_networks_are_gaussian_processes": (2, 1.7),
    "03_the_neural_tangent_kernel": (3, 1.0),
    "04_lazy_training_and_linearization": (4, 0.3),
    "05_gradient_flow_and_the_kernel_regime": (5, 1.0),
    "06_generalization_and_infinite_ensembles": (6, 1.7),
    "07_ntk_of_physics_informed_networks": (6, 0.3),
}
#: Notebooks on the 90-minute lecture path (the others are self-study).
LECTURE_PATH = ("00_start_here", "02_wide_networks_are_gaussian_processes", "03_the_neural_tangent_kernel",
                "04_lazy_training_and_linearization", "05_gradient_flow_and_the_kernel_regime")


def prerequisite_depth() -> dict:
    """Length of the longest prerequisite chain before each notebook (00 has 0)."""
    depth: dict = {}
    for stem, _, _, pre in NOTEBOOKS:  # listed in topological order
        depth[stem] = 1 + max((depth[p] for p in pre), default=-1)
    return depth


def plot_course_map(figsize=(10.5, 4.4)):
    """The course map: one box per notebook, arrows from prerequisites; lecture-path boxes are
    filled with a thick solid border, self-study-only boxes white with a dashed border."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = viz.new_figure(figsize=figsize)
    ax = fig.add_subplot()
    ax.set_axis_off()
    box_w, box_h = 0.88, 0.62
    for stem, title, minutes, pre in NOTEBOOKS:
        cx, cy = _POS[stem]
        for p in pre:
            px, py = _POS[p]
            ax.add_patch(FancyArrowPatch((px + box_w / 2, py), (cx - box_w / 2, cy), arrowstyle="-|>",
                                         mutation_scale=14, color="#444444", linewidth=1.3, shrinkA=2, shrinkB=2))
    for stem, title, minutes, pre in NOTEBOOKS:
        cx, cy = _POS[stem]
        on_path = stem in LECTURE_PATH
        face = viz.OKABE_ITO["sky_blue"] if on_path else "#FFFFFF"
        ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02,rounding_size=0.06", facecolor=face,
                                    edgecolor="#000000", linewidth=2.4 if on_path else 1.3,
                                    linestyle="-" if on_path else "--"))
        ax.text(cx, cy + box_h / 2 - 0.05, stem[:2], ha="center", va="top", fontsize=10, fontweight="bold",
                color="#000000")
        ax.text(cx, cy + 0.01, title, ha="center", va="center", fontsize=8.5, color="#000000", linespacing=1.1)
        ax.text(cx, cy - box_h / 2 + 0.04, f"~{minutes} min", ha="center", va="bottom", fontsize=7.5,
                color="#222222")
    ax.set_xlim(-0.5, 6.5)
    ax.set_ylim(-0.05, 2.05)
    handles = [FancyBboxPatch((0, 0), 1, 1, facecolor=viz.OKABE_ITO["sky_blue"], edgecolor="#000000",
                              linewidth=2.4, label="90-minute lecture path"),
               FancyBboxPatch((0, 0), 1, 1, facecolor="#FFFFFF", edgecolor="#000000", linewidth=1.3,
                              linestyle="--", label="self-study"),
               Line2D([], [], color="#444444", marker=">", label="prerequisite  \u2192  notebook")]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, -0.02), fontsize=8.5, frameon=False)
    ax.set_title("The course map: eight notebooks and what each needs first", fontsize=11)
    return fig


# ---------------------------------------------------------------------------------------------
# live demo: random reference networks at initialization

N_NETS = 5
X_GRID = np.linspace(-2.0, 2.0, 161)


@functools.lru_cache(maxsize=128)
def random_net_outputs(width: int, seed: int, b_std: float = 1.0, n_nets: int = N_NETS) -> np.ndarray:
    """Outputs ``(n_nets, len(X_GRID))`` of ``n_nets`` reference MLPs (seeds ``seed*100 + k``) on X_GRID."""
    x = torch.as_tensor(X_GRID, dtype=torch.float64)
    with torch.no_grad():  # net k is MLP(width, b_std=b_std, seed=seed*100 + k), all in one vectorized pass
        return Ensemble(n_nets, width, seed=seed * 100, b_std=b_std)(x).numpy()


@viz.register_demo
class RandomNets(viz.Demo):
    """Five random reference networks f(x; theta_0) at initialization (two hidden ReLU layers,
    NTK parameterization, w_std = 1, b_std = 1 so that the kinks spread over the plotted inputs).
    Move the width: every network is piecewise linear, with one kink per hidden ReLU switching on or
    off; narrow networks have few, large kinks, wide ones have many small kinks and look smooth.
    The typical size of f does not depend on the width (that is what the 1/sqrt(fan_in) is for)."""

    name = "00.random_nets"
    figsize = (6.4, 3.2)

    def controls(self):
        return {"width": viz.width_slider(options=(2, 4, 8, 16, 32, 64, 128, 256), value=4),
                "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        self.lines = [self.ax.plot(X_GRID, np.zeros_like(X_GRID), **viz.series_style(k, markevery=20))[0]
                      for k in range(N_NETS)]
        self.ax.set(xlabel="input $x$", ylabel=r"output $f(x;\theta_0)$", xlim=(X_GRID[0], X_GRID[-1]),
                    ylim=(-4.5, 4.5))
        viz.animate(*self.lines, self.ax.title)  # only these change: redraws blit them

    def update(self, width=4, seed=0):
        ys = random_net_outputs(int(width), int(seed))
        for line, y in zip(self.lines, ys):
            line.set_ydata(y)
        self.ax.title.set_text(f"{N_NETS} random networks (seeds), width {width}, NTK param., $b_{{std}}=1$")


plot_random_nets = viz.plot_function(RandomNets)


#: The 90-minute lecture: (notebook stem, minutes, what to run live). LECTURER.md says the same.
LECTURE_PLAN = (
    ("00_start_here", 5, "course map; the random-networks slider"),
    ("02_wide_networks_are_gaussian_processes", 15, "random-init gallery at widths 4 / 64 / 1024"),
    ("03_the_neural_tangent_kernel", 25, "empirical NTK vs analytic NTK as the width grows"),
    ("04_lazy_training_and_linearization", 20, "the alpha toy model; relative weight change"),
    ("05_gradient_flow_and_the_kernel_regime", 25, "training scrubbed with the step slider; exp(-eta Theta t)"),
)


def reference_param_count(width: int, depth: int = 2, d_in: int = 1) -> int:
    """Parameters of the reference MLP: sum over layers of (fan_in + 1) * fan_out.

    For ``d_in = 1``, ``depth = 2``: ``width**2 + 4 * width + 1``.
    """
    sizes = [d_in] + [width] * depth + [1]
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


# ---------------------------------------------------------------------------------------------
# environment check: the smallest possible live figure

@viz.register_demo
class WidgetCheck(viz.Demo):
    """Environment check: f(x) = sin(k x) with the frequency k on a slider. If moving the slider
    redraws the curve, widgets, the kernel and the figure updates all work."""

    name = "00.widget_check"
    figsize = (5.0, 2.2)

    def controls(self):
        return {"k": viz.int_slider("k", 1, 1, 8)}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        self.x = np.linspace(0, 2 * np.pi, 200)
        (self.line,) = self.ax.plot(self.x, np.sin(self.x), **viz.series_style(0, markevery=25))
        self.ax.set(xlabel="$x$", ylabel="$\\sin(kx)$", xlim=(0, 2 * np.pi), ylim=(-1.15, 1.15))
        viz.animate(self.line, self.ax.title)

    def update(self, k=1):
        self.line.set_ydata(np.sin(k * self.x))
        self.ax.title.set_text(f"k = {k}: the curve has {k} full periods")


plot_widget_check = viz.plot_function(WidgetCheck)
