"""Figures and live demos of ``notebooks/03_the_neural_tangent_kernel.ipynb``.

Demos (each a :class:`~ntk_teach.viz.Demo` plus its plain plotting function):

* :class:`GDStep` / :func:`plot_gd_step` ("03.gd_step"): one real gradient-descent step moves
  the network function by ``-eta Theta(x, X) (f(X) - y)`` up to ``O(eta^2)``.
* :class:`FeatureMap` / :func:`plot_feature_map` ("03.feature_map"): a few coordinates of the
  feature map ``phi(x) = grad_theta f(x)`` and the NTK as their Gram matrix.
* :class:`LayerContributions` / :func:`plot_layer_contributions` ("03.layer_contributions"):
  ``Theta(x, x)`` split by parameter group, empirical against infinite width.
* :class:`DeterministicLimit` / :func:`plot_deterministic_limit` ("03.deterministic_limit"):
  ``Theta(x_0, x)`` of ten random networks, and the seed-to-seed deviation against width.
* :class:`JacotFigure1` / :func:`plot_jacot_figure1` ("03.jacot_figure1"): Jacot et al. (2018),
  Figure 1 at CPU scale, scrubbed through training with a step slider.
* :class:`Parameterization` / :func:`plot_parameterization` ("03.parameterization"): the NTK
  grows like the width in the standard parameterization and converges in the NTK one.

Notebook-specific computations (cached with ``functools.lru_cache`` so sliders only redraw):
:func:`gd_step_change`, :func:`feature_coordinates`, :func:`timing_table`, :func:`limit_sweep`,
:func:`standard_sweep`, :func:`jacot_runs`. The general Monte Carlo machinery is in
:mod:`ntk_teach.montecarlo`.

Conventions: NTK parameterization unless a figure says otherwise; loss ``1/2 sum (f - y)^2``;
float64; every figure states its parameterization.
"""
from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch
from torch.func import functional_call

from .. import viz
from ..data import tiny_1d, unit_circle
from ..empirical import empirical_ntk, mlp_ntk_by_layer, ntk_autograd_loop
from ..kernels import analytic_ntk, kernel_recursion, ntk_layer_contributions
from ..montecarlo import (deviation_vs_width, fit_loglog_weighted, intra_op_threads, kernel_samples,
                          kernel_trajectories)
from ..nets import MLP, activation_derivative

WIDTHS = viz.WIDTHS[:8]  # 8 .. 1024, log-spaced: every width slider of this notebook
PARAM_NAME = {"ntk": "NTK param.", "standard": "standard param."}
GROUPS = ("W1", "b1", "W2", "b2", "W3", "b3")
GROUP_LABEL = {"W1": "$W^1$ (input weights)", "b1": "$b^1$", "W2": "$W^2$ (hidden weights)", "b2": "$b^2$",
               "W3": "$W^3$ (readout weights)", "b3": "$b^3$"}
HATCHES = ("", "..", "//", "xx", "\\\\", "oo")


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def _width_axis(ax, widths=WIDTHS):
    """A log-scale width axis with plain integer ticks at the slider's widths (no crowded minor labels)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(widths))
    ax.set_xticklabels([str(w) for w in widths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(widths[0] / 1.4, widths[-1] * 1.4)


def _plain_log_y(ax):
    """Log-scale y axis labelled 0.1, 0.2, 0.5, 1, ... instead of crowded minor powers of ten."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(NullFormatter())


# =============================================================================================
# 1. one gradient-descent step in function space
# =============================================================================================
X_TRAIN, Y_TRAIN = tiny_1d(6, seed=0)
X_GRID = torch.linspace(-3.0, 3.0, 121, dtype=torch.float64)
ETAS = 10.0 ** np.arange(-6.0, 0.01, 0.5)  # the error curve: 1e-6 .. 1


@functools.lru_cache(maxsize=32)
def _gd_setup(width: int, seed: int, loss: str = "sum"):
    if loss not in ("sum", "mean"):
        raise ValueError(f"loss must be 'sum' (1/2 sum (f - y)^2, the course's) or 'mean' (1/N of it), got {loss!r}")
    model = MLP(width, seed=seed)
    params = {k: v.detach() for k, v in model.named_parameters()}
    p = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    r = functional_call(model, p, (X_TRAIN,)) - Y_TRAIN  # residual f(X) - y
    L = 0.5 * (r**2).sum() / (len(X_TRAIN) if loss == "mean" else 1)
    grads = dict(zip(p, torch.autograd.grad(L, list(p.values()))))
    r = r.detach()
    with torch.no_grad():
        f0_grid = functional_call(model, params, (X_GRID,))
        f0_train = functional_call(model, params, (X_TRAIN,))
    K_grid = empirical_ntk(model, X_GRID, X_TRAIN)
    K_train = empirical_ntk(model, X_TRAIN)
    return model, params, grads, r, f0_grid, f0_train, K_grid, K_train


def _after_step(model, params, grads, eta, x):
    with torch.no_grad():
        return functional_call(model, {k: v - eta * grads[k] for k, v in params.items()}, (x,))


def gd_step_change(width: int = 256, seed: int = 0, eta: float = 1e-2, x=None, loss: str = "sum"):
    """One gradient-descent step of size ``eta`` on ``L = 1/2 sum (f(x_i) - y_i)^2`` (the data ``X_TRAIN, Y_TRAIN``).

    Returns ``(actual, predicted)``: the change of the network function ``MLP(width, seed=seed)`` on
    ``x`` (default ``X_GRID``) after the step, and the kernel prediction ``-eta Theta(x, X) (f(X) - y)``.
    Their difference is ``O(eta^2)``. ``loss="mean"`` takes the step on the mean ``L / N`` instead
    (then the prediction is ``-(eta / N) Theta(x, X) (f(X) - y)``).
    """
    model, params, grads, r, f0_grid, f0_train, K_grid, _ = _gd_setup(int(width), int(seed), loss)
    eta_eff = eta / len(X_TRAIN) if loss == "mean" else eta
    if x is None:
        return _after_step(model, params, grads, eta, X_GRID) - f0_grid, -eta_eff * (K_grid @ r)
    x = _t(x)
    with torch.no_grad():
        f0 = functional_call(model, params, (x,))
    return _after_step(model, params, grads, eta, x) - f0, -eta_eff * (empirical_ntk(model, x, X_TRAIN) @ r)


@functools.lru_cache(maxsize=32)
def gd_step_errors(width: int = 256, seed: int = 0) -> np.ndarray:
    """Relative error ``||df - df_pred|| / ||df_pred||`` on the training inputs for every eta in ``ETAS``."""
    model, params, grads, r, _, f0_train, _, K_train = _gd_setup(int(width), int(seed))
    pred = -(K_train @ r)
    out = []
    for eta in ETAS:
        d = _after_step(model, params, grads, float(eta), X_TRAIN) - f0_train
        out.append(float(torch.linalg.norm(d - eta * pred) / torch.linalg.norm(eta * pred)))
    return np.array(out)


@functools.lru_cache(maxsize=256)
def _gd_step_grid(width, seed, eta):
    actual, pred = gd_step_change(width, seed, eta)
    return (actual / eta).numpy(), (pred / eta).numpy()


@viz.register_demo
class GDStep(viz.Demo):
    """One gradient-descent step, seen in function space. Left: the change of the network function
    f_after - f_before for one real step (solid) and the NTK prediction -eta Theta(x, X)(f(X) - y) (dashed
    black), both divided by the largest predicted change. Right: their relative difference on the training inputs for
    every step size; the marker is the current eta. Small eta: the two agree and the error is
    proportional to eta; large eta: the second-order term (and ReLU units switching) shows."""

    name = "03.gd_step"
    figsize = (9.6, 3.5)

    def controls(self):
        return {"width": viz.width_slider(WIDTHS, value=256),
                "eta": viz.log_slider("eta", 1e-2, -4.0, 0.0, step=0.25),
                "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        x = X_GRID.numpy()
        (self.l_act,) = self.ax.plot(x, np.zeros_like(x), label="one GD step: $f_1 - f_0$",
                                     **viz.series_style(0, markevery=15))
        (self.l_pred,) = self.ax.plot(x, np.zeros_like(x), color=viz.THEORY_COLOR, linestyle="--",
                                      label="NTK: $-\\eta\\,\\Theta(x, X)\\,(f(X) - y)$")
        self.ax.plot(X_TRAIN.numpy(), np.zeros(len(X_TRAIN)), linestyle="none", marker="x", markersize=8,
                     color=viz.TARGET_COLOR, label="training inputs $x_i$")
        self.ax.set(xlabel="input $x$", ylabel="change of $f(x)$ / largest predicted change", xlim=(-3, 3),
                    ylim=(-1.35, 1.35))
        self.ax.legend(loc="upper left", fontsize=8)
        (self.l_err,) = self.ax2.plot(ETAS, np.ones_like(ETAS), label="measured", **viz.series_style(1))
        (self.l_ref,) = self.ax2.plot(ETAS, ETAS, color=viz.THEORY_COLOR, linestyle=":",
                                      label="slope 1 (error $\\propto \\eta$)")
        (self.mark,) = self.ax2.plot([1e-2], [1e-2], linestyle="none", marker="o", markersize=11,
                                     markerfacecolor="none", markeredgecolor=viz.OKABE_ITO["vermillion"],
                                     markeredgewidth=2, label="current $\\eta$")
        self.ax2.set(xscale="log", yscale="log", xlabel="step size $\\eta$",
                     ylabel="relative error of the NTK prediction", ylim=(1e-9, 3),
                     title="prediction error vs step size")
        self.ax2.legend(loc="upper left", fontsize=8)
        viz.animate(self.l_act, self.l_pred, self.l_err, self.l_ref, self.mark, self.ax.title)

    def update(self, width=256, eta=1e-2, seed=0):
        act, pred = _gd_step_grid(int(width), int(seed), float(eta))
        scale = float(np.abs(pred).max()) or 1.0  # fixed axis limits: every update only blits
        self.l_act.set_ydata(act / scale)
        self.l_pred.set_ydata(pred / scale)
        errs = gd_step_errors(int(width), int(seed))
        self.l_err.set_data(ETAS, errs)
        c = errs[3] / ETAS[3]  # anchor the slope-1 guide in the smooth regime
        self.l_ref.set_ydata(c * ETAS)
        err_now = float(np.interp(np.log(eta), np.log(ETAS), np.log(errs)))
        self.mark.set_data([eta], [math.exp(err_now)])
        self.ax.title.set_text(f"one step, \u03b7 = {eta:.3g}, width {width} (NTK param.)")  # no mathtext: faster


plot_gd_step = viz.plot_function(GDStep)


# =============================================================================================
# 2. the feature map and its Gram matrix
# =============================================================================================
X_HEAT = torch.linspace(-3.0, 3.0, 41, dtype=torch.float64)

@torch.no_grad()
def _signals(model: MLP, x):
    """Layer inputs ``a^{l-1}`` and back-propagated signals ``delta^l = df/dh^l`` (both ``(N, n)``)."""
    pre, post = model.layer_forward(x)
    dphi = activation_derivative(model.activation)
    L = len(model.weights)
    deltas = [None] * L
    delta = torch.ones(post[0].shape[0], 1, dtype=post[0].dtype)
    deltas[L - 1] = delta
    for l in range(L - 1, 0, -1):
        delta = (delta @ (model.w_mult[l] * model.weights[l])) * dphi(pre[l - 1])
        deltas[l - 1] = delta
    return post, deltas


@torch.no_grad()
def feature_coordinates(model: MLP, x, coords) -> torch.Tensor:
    """Columns of the parameter Jacobian ``d f(x) / d theta_p`` for a few weights, shape ``(N, len(coords))``.

    ``coords`` are ``("W{l}", row, col)``: the weight ``W^l[row, col]`` of layer ``l`` (1-based as in
    ``mlp_ntk_by_layer``). Computed from the forward pass and the back-propagated signals
    ``delta^l = df/dh^l``: ``df/dW^l[j, k] = c_l * delta^l_j(x) * a^{l-1}_k(x)`` with
    ``c_l = w_std/sqrt(fan_in)`` (NTK parameterization). Exact, without the ``N x P`` Jacobian.
    """
    post, deltas = _signals(model, x)
    cols = []
    for group, j, k in coords:
        l = int(group[1:]) - 1
        cols.append(model.w_mult[l] * deltas[l][:, j] * post[l][:, k])
    return torch.stack(cols, 1)


@torch.no_grad()
def largest_features(model: MLP, x, per_layer: int = 2):
    """The ``per_layer`` weight coordinates of each layer whose features have the largest norm over ``x``.

    Returns ``[("W{l}", row, col), ...]`` for :func:`feature_coordinates`. The squared norm of the
    feature of ``W^l[j, k]`` is ``c_l^2 sum_x delta^l_j(x)^2 a^{l-1}_k(x)^2``: one small matrix product.
    """
    post, deltas = _signals(model, x)
    out = []
    for l in range(len(model.weights)):
        norms = (deltas[l] ** 2).T @ (post[l] ** 2)  # (n_out, n_in)
        top = torch.topk(norms.reshape(-1), per_layer).indices
        out += [(f"W{l + 1}", int(i) // norms.shape[1], int(i) % norms.shape[1]) for i in top]
    return out


@functools.lru_cache(maxsize=64)
def _features(width, seed):
    model = MLP(width, seed=seed)
    coords = largest_features(model, X_GRID)
    return (coords, feature_coordinates(model, X_GRID, coords).numpy(), empirical_ntk(model, X_HEAT).numpy(),
            model.num_params)


@functools.lru_cache(maxsize=1)
def _heat_limit():
    return analytic_ntk(X_HEAT).numpy()


@viz.register_demo
class FeatureMap(viz.Demo):
    """The NTK is a Gram matrix. Left: six of the P coordinates of the feature map
    phi(x) = grad_theta f(x), the derivatives of the output with respect to single weights (the two
    largest of each layer), each divided by its largest value, which the title gives. Right:
    Theta(x, x') = phi(x) . phi(x') on a grid of 41 inputs (an N x N matrix). Each coordinate is
    piecewise linear in x (ReLU), with jumps where a unit of a later layer switches; their Gram matrix,
    a sum over all P coordinates, is smooth and settles to one kernel as the width grows."""

    name = "03.feature_map"
    figsize = (9.6, 3.7)

    def controls(self):
        return {"width": viz.width_slider(WIDTHS, value=64), "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        x = X_GRID.numpy()
        labels = ["$W^1$, largest", "$W^1$, 2nd", "$W^2$, largest", "$W^2$, 2nd", "$W^3$, largest", "$W^3$, 2nd"]
        self.lines = [self.ax.plot(x, np.zeros_like(x), label=lab, **viz.series_style(i, markevery=20))[0]
                      for i, lab in enumerate(labels)]
        self.ax.legend(loc="upper center", fontsize=7.5, ncol=3)
        self.ax.set(xlabel="input $x$", ylabel="$\\phi_p(x)\\,/\\,\\max_x|\\phi_p(x)|$", xlim=(-3, 3),
                    ylim=(-1.1, 1.75))
        self.ax.set_title(" \n ", fontsize=9.5)
        lim = _heat_limit()
        ext = (-3, 3, 3, -3)
        self.im = self.ax2.imshow(lim, cmap=viz.CMAP, extent=ext, vmin=0.0, vmax=float(lim.max()) * 1.25)
        fig.colorbar(self.im, ax=self.ax2, label="$\\Theta(x, x')$")
        self.ax2.set(xlabel="$x'$", ylabel="$x$")
        self.ax2.grid(False)
        viz.animate(*self.lines, self.im, self.ax.title, self.ax2.title)

    def update(self, width=64, seed=0):
        coords, feats, K, P = _features(int(width), int(seed))
        scales = []
        for line, f in zip(self.lines, feats.T):
            scale = float(np.abs(f).max())
            scales.append(scale)
            line.set_ydata(f / scale if scale > 0 else f)
        self.ax.title.set_text(f"6 of P = {P:,} features df/dW, width {width} (NTK param.)\n"
                               f"divided by their max: " + ", ".join(f"{v:.2g}" for v in scales))
        self.im.set_data(K)
        self.ax2.title.set_text(f"NTK Gram matrix, {K.shape[0]} x {K.shape[1]}")


plot_feature_map = viz.plot_function(FeatureMap)


# =============================================================================================
# 3. three ways to compute it: a small live timing table
# =============================================================================================
def timing_table(widths=(64, 256, 1024), n_inputs: int = 16, seed: int = 0, repeats: int = 3,
                 slow_repeats: int = 1, threads: int | None = 1):
    """Time the four ways to compute the empirical NTK of the reference MLP on ``n_inputs`` inputs.

    Returns a list of rows ``{"width", "params", "method", "ms", "max_abs_diff", "scale"}``: the best of
    ``repeats`` runs (``slow_repeats`` for the three generic methods, which are slow at large width),
    the largest difference from the structured result (all four compute the same matrix) and the
    largest entry of that result.
    Methods: ``"autograd loop"`` (:func:`ntk_teach.empirical.ntk_autograd_loop`), ``"jacobian"``
    and ``"ntk_vp"`` (torch.func, :func:`ntk_teach.empirical_ntk`), ``"structured"``. Every method is
    called once untimed first (torch.func traces on its first call), and everything runs on ``threads``
    intra-op threads (default 1: comparable numbers on a busy machine; None keeps torch's setting).
    """
    x = torch.linspace(-3.0, 3.0, n_inputs, dtype=torch.float64)
    methods = (("autograd loop", lambda m: ntk_autograd_loop(m, x), slow_repeats),
               ("jacobian", lambda m: empirical_ntk(m, x, method="jacobian"), slow_repeats),
               ("ntk_vp", lambda m: empirical_ntk(m, x, method="ntk_vp"), slow_repeats),
               ("structured", lambda m: empirical_ntk(m, x, method="structured"), repeats))
    rows = []
    with intra_op_threads(threads):
        warm = MLP(4, seed=seed)
        for _, fn, _ in methods:
            fn(warm)
        for w in widths:
            model = MLP(int(w), seed=seed)
            ref = empirical_ntk(model, x)
            for name, fn, reps in methods:
                best = float("inf")
                for _ in range(max(1, reps)):
                    t0 = time.perf_counter()
                    K = fn(model)
                    best = min(best, time.perf_counter() - t0)
                rows.append({"width": int(w), "params": model.num_params, "method": name, "ms": 1e3 * best,
                             "max_abs_diff": float((K - ref).abs().max()), "scale": float(ref.abs().max())})
    return rows


def format_timing_table(rows) -> str:
    """The rows of :func:`timing_table` as a fixed-width text table, with the speed-up of 'structured'."""
    widths = sorted({r["width"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    ms = {(r["width"], r["method"]): r["ms"] for r in rows}
    head = f"{'width':>6} {'params':>10} | " + " | ".join(f"{m:>13}" for m in methods) + " | jacobian/structured"
    lines = [head, "-" * len(head)]
    for w in widths:
        p = next(r["params"] for r in rows if r["width"] == w)
        cells = " | ".join(f"{ms[(w, m)]:>10.1f} ms" for m in methods)
        lines.append(f"{w:>6} {p:>10,} | {cells} | {ms[(w, 'jacobian')] / ms[(w, 'structured')]:>8.0f}x")
    return "\n".join(lines)


# =============================================================================================
# 4. which layers contribute
# =============================================================================================
@functools.lru_cache(maxsize=64)
def _layers_empirical(width, seed):
    model = MLP(width, seed=seed)
    parts = mlp_ntk_by_layer(model, X_GRID)
    return np.stack([torch.diagonal(parts[g]).numpy() for g in GROUPS])


@functools.lru_cache(maxsize=1)
def _layers_limit():
    parts = ntk_layer_contributions(X_GRID)
    return np.stack([torch.diagonal(parts[g]).numpy() for g in GROUPS])


@viz.register_demo
class LayerContributions(viz.Demo):
    """Theta(x, x) split by parameter group: which weights and biases make the NTK. Coloured, hatched
    bands: one network of the chosen width, stacked (input weights W1 at the bottom, readout bias b3 on
    top). Black dashed lines: the same stack at infinite width (ntk_layer_contributions). At x = 0
    the input x . x' vanishes, so only the biases and the hidden layers' weights contribute there."""

    name = "03.layer_contributions"
    figsize = (7.6, 3.8)

    def controls(self):
        return {"width": viz.width_slider(WIDTHS, value=64), "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        x = X_GRID.numpy()
        self.x = x
        lim = np.cumsum(_layers_limit(), axis=0)
        zero = np.zeros_like(x)
        self.fills = [self.ax.fill_between(x, zero, zero, facecolor=viz.COLORS[i], alpha=0.55, hatch=HATCHES[i],
                                           edgecolor="#333333", linewidth=0.4, label=GROUP_LABEL[g])
                      for i, g in enumerate(GROUPS)]
        self.limit_lines = [self.ax.plot(x, lim[i], color=viz.THEORY_COLOR, linestyle="--", linewidth=1.0, zorder=3,
                                         label="infinite width (stack)" if i == 0 else None)[0]
                            for i in range(len(GROUPS))]
        self.share = self.ax.text(0.02, 0.97, "", transform=self.ax.transAxes, va="top", ha="left", fontsize=8,
                                  family="monospace", zorder=4,
                                  bbox={"facecolor": "white", "edgecolor": "#BBBBBB", "alpha": 0.9})
        self.ax.set(xlabel="input $x$", ylabel="$\\Theta(x, x)$, stacked by group", xlim=(-3, 3),
                    ylim=(0, 1.45 * float(lim[-1].max())))
        self.ax.legend(loc="upper right", fontsize=7.5, ncol=2)
        viz.animate(*self.fills, *self.limit_lines, self.share, self.ax.title)

    def update(self, width=64, seed=0):
        parts = _layers_empirical(int(width), int(seed))
        cum = np.cumsum(parts, axis=0)
        below = np.zeros_like(self.x)
        for fill, top in zip(self.fills, cum):
            fill.set_data(self.x, below, top)
            below = top
        at = int(np.argmin(np.abs(self.x - 2.0)))
        shares = 100 * parts[:, at] / parts[:, at].sum()
        self.share.set_text("share at x = 2\n" + "\n".join(f"{g}: {v:5.1f}%" for g, v in zip(GROUPS, shares)))
        self.ax.title.set_text(f"NTK by parameter group, width {width} (NTK param., b_std = 0.1)")


plot_layer_contributions = viz.plot_function(LayerContributions)


# =============================================================================================
# 5. the deterministic limit
# =============================================================================================
X0 = 1.0
N_CURVES = 10
SWEEP_X = torch.linspace(-2.0, 2.0, 8, dtype=torch.float64)
SWEEP_WIDTHS = (16, 32, 64, 128, 256, 512)
SWEEP_SEEDS = 64


STANDARD_SEEDS = 16


def limit_sweep(n_seeds: int | None = None, widths=None):
    """The NTK of ``n_seeds`` (default ``SWEEP_SEEDS`` = 64) random reference networks (NTK param.) at every
    width of ``widths`` (default ``SWEEP_WIDTHS``) on ``SWEEP_X``, against the analytic limit: a
    :class:`ntk_teach.montecarlo.WidthSweep` (cached; about 1 s of CPU)."""
    return _limit_sweep(int(n_seeds or SWEEP_SEEDS), tuple(widths or SWEEP_WIDTHS))


@functools.lru_cache(maxsize=4)
def _limit_sweep(n_seeds, widths):
    return deviation_vs_width(SWEEP_X, widths=widths, n_seeds=n_seeds, seed=0)


def standard_sweep(n_seeds: int | None = None, widths=None):
    """:func:`limit_sweep` in the standard parameterization (default ``STANDARD_SEEDS`` = 16 networks per width,
    seeds from 100000 on)."""
    return _standard_sweep(int(n_seeds or STANDARD_SEEDS), tuple(widths or SWEEP_WIDTHS))


@functools.lru_cache(maxsize=4)
def _standard_sweep(n_seeds, widths):
    return deviation_vs_width(SWEEP_X, widths=widths, n_seeds=n_seeds, seed=100_000, parameterization="standard")


@functools.lru_cache(maxsize=64)
def _limit_curves(width, seed):
    ks = kernel_samples(_t([X0]), X_GRID, width=width, n_seeds=N_CURVES, seed=1000 * seed + 7)
    return ks[:, 0, :].numpy()


@functools.lru_cache(maxsize=1)
def _limit_curve():
    return analytic_ntk(_t([X0]), X_GRID)[0].numpy()


@viz.register_demo
class DeterministicLimit(viz.Demo):
    """The NTK becomes deterministic as the width grows. Left: Theta(x0, x) with x0 = 1 for ten random
    networks of the chosen width (coloured) and the infinite-width NTK (black dashed). Right: the
    root-mean-square relative distance ||Theta - Theta_inf||_F / ||Theta_inf||_F over 64 seeds per width,
    on log-log axes with its fitted slope (theory -1/2); the ring marks the chosen width."""

    name = "03.deterministic_limit"
    figsize = (9.6, 3.7)

    def controls(self):
        return {"width": viz.width_slider(WIDTHS, value=64), "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        x = X_GRID.numpy()
        self.lines = [self.ax.plot(x, np.zeros_like(x), linewidth=1.0, alpha=0.85,
                                   **viz.series_style(i % 8, marker=False))[0] for i in range(N_CURVES)]
        lim = _limit_curve()
        self.ax.plot(x, lim, color=viz.THEORY_COLOR, linestyle="--", linewidth=2.6, label="infinite width")
        self.ax.axvline(X0, color="#777777", linewidth=0.8)
        self.ax.set(xlabel="input $x$", ylabel="$\\Theta(x_0, x)$,  $x_0 = 1$", xlim=(-3, 3),
                    ylim=(-0.15 * float(lim.max()), 1.7 * float(lim.max())))
        self.ax.legend(loc="upper left", fontsize=8)
        sw = limit_sweep()
        fit = sw.fit()
        w = sw.widths.astype(float)
        self.ax2.errorbar(w, sw.rms, yerr=sw.rms * sw.log_rms_stderr, linestyle="none",
                          **{k: v for k, v in viz.series_style(0).items() if k != "linestyle"})
        ws = np.geomspace(w.min(), w.max(), 50)
        self.ax2.plot(ws, fit.predict(ws), color=viz.COLORS[0], linestyle="--",
                      label=f"fit: slope {fit.slope:+.2f} ± {fit.stderr:.2f} (theory -1/2)")
        (self.mark,) = self.ax2.plot([], [], linestyle="none", marker="o", markersize=13, markerfacecolor="none",
                                     markeredgecolor=viz.OKABE_ITO["vermillion"], markeredgewidth=2,
                                     label="chosen width (on the fit)")
        _width_axis(self.ax2)
        _plain_log_y(self.ax2)
        self.ax2.set(xlabel="width $m$", ylabel="rms $\\|\\Theta - \\Theta_\\infty\\|_F / \\|\\Theta_\\infty\\|_F$")
        self.ax2.legend(loc="lower left", fontsize=8)
        self.ax2.set_title(f"{sw.n_seeds} seeds per width (NTK param.)")
        self._fit = fit
        viz.animate(*self.lines, self.mark, self.ax.title)

    def update(self, width=64, seed=0):
        curves = _limit_curves(int(width), int(seed))
        for line, c in zip(self.lines, curves):
            line.set_ydata(c)
        self.mark.set_data([width], [float(self._fit.predict([width])[0])])
        self.ax.title.set_text(f"{N_CURVES} random networks, width {width} (NTK param.)")


plot_deterministic_limit = viz.plot_function(DeterministicLimit)


# =============================================================================================
# 6. Jacot et al. (2018), Figure 1, at CPU scale
# =============================================================================================
JACOT = {
    "widths": (50, 500),      # Jacot et al.: 500 and 10000
    "depth": 3,               # hidden layers; Jacot's L = 4 counts the layers 1..4
    "b_std": 0.1,             # Jacot's beta
    "n_seeds": 10,            # as in the paper
    "n_train": 8,
    "lr": 0.5,                # on 1/2 sum (f - y)^2; see the notebook for the time units
    "steps": 50,
    "record_every": 5,
    "n_circle": 64,
}


def jacot_data(n_train: int = JACOT["n_train"], seed: int = 0):
    """Training set of the Figure-1 experiment: ``n_train`` inputs ``x ~ N(0, I_2)``, targets ``x_1 x_2``."""
    g = torch.Generator()
    g.manual_seed(seed)
    x = torch.randn(n_train, 2, generator=g, dtype=torch.float64)
    return x, x[:, 0] * x[:, 1]


def jacot_runs(widths=None, n_seeds: int | None = None, steps: int | None = None):
    """Train the Figure-1 networks and record ``Theta(x_0, x(gamma))`` on the unit circle (cached).

    Sizes default to ``JACOT``. Returns ``(gamma, limit, {width: KernelTrajectories})`` with
    ``x_0 = (1, 0)`` and ``x(gamma) = (cos gamma, sin gamma)``; ``limit`` is the infinite-width NTK on the
    same points (depth ``JACOT["depth"]``, ``b_std = JACOT["b_std"]``).
    """
    J = JACOT
    return _jacot_runs(tuple(widths or J["widths"]), int(n_seeds or J["n_seeds"]),
                       int(J["steps"] if steps is None else steps), float(J["lr"]), int(J["record_every"]),
                       int(J["depth"]), float(J["b_std"]), int(J["n_train"]), int(J["n_circle"]))


@functools.lru_cache(maxsize=2)
def _jacot_runs(widths, n_seeds, steps, lr, record_every, depth, b_std, n_train, n_circle):
    xc, gamma = unit_circle(n_circle)
    x0 = _t([[1.0, 0.0]])
    xt, yt = jacot_data(n_train)
    kw = {"depth": depth, "d_in": 2, "b_std": b_std}
    runs = {w: kernel_trajectories(xt, yt, x0, xc, width=w, n_seeds=n_seeds, lr=lr, steps=steps,
                                   record_every=record_every, seed=0, **kw) for w in widths}
    limit = analytic_ntk(x0, xc, depth=depth, b_std=b_std)[0]
    return gamma.numpy(), limit.numpy(), runs


@viz.register_demo
class JacotFigure1(viz.Demo):
    """Jacot et al. (2018), Figure 1, at CPU scale: Theta(x0, x(gamma)) for x0 = (1, 0) and x(gamma) on the
    unit circle, for 10 random networks of width 50 (left) and 500 (right), depth 3, ReLU, beta = 0.1.
    Thin solid lines: at initialization; dashed: after the chosen number of gradient-descent steps;
    black: the infinite-width NTK, which does not move during training. Press play: the narrow
    networks' NTKs move (and 'inflate'), the wide ones barely do."""

    name = "03.jacot_figure1"
    figsize = (9.6, 3.7)

    def controls(self):
        return {"step": viz.step_control(JACOT["steps"], value=JACOT["steps"], step=JACOT["record_every"],
                                         interval_ms=300)}

    def setup(self, fig):
        gamma, limit, runs = jacot_runs()
        self.gamma, self.runs = gamma, runs
        axes = fig.subplots(1, 2, sharey=True)
        self.axes = axes
        self.lines = {}
        hi = max(float(r.kernels.max()) for r in runs.values())
        lo = min(float(r.kernels.min()) for r in runs.values())
        for ax, (w, run) in zip(axes, runs.items()):
            k0 = run.kernels[:, 0, 0, :].numpy()
            for s in range(k0.shape[0]):
                ax.plot(gamma, k0[s], color=viz.COLORS[0], linestyle="-", linewidth=0.8, alpha=0.6,
                        label="$t = 0$ (10 inits)" if s == 0 else None)
            self.lines[w] = [ax.plot(gamma, k0[s], color=viz.COLORS[1], linestyle="--", linewidth=1.2,
                                     label="after training" if s == 0 else None)[0] for s in range(k0.shape[0])]
            ax.plot(gamma, limit, color=viz.THEORY_COLOR, linestyle="-", linewidth=2.4, label="infinite width")
            ax.set(xlabel="angle $\\gamma$ of $x = (\\cos\\gamma, \\sin\\gamma)$", xlim=(-math.pi, math.pi),
                   ylim=(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo)))
            ax.set_xticks([-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi],
                          ["$-\\pi$", "$-\\pi/2$", "0", "$\\pi/2$", "$\\pi$"])
        for ax in axes:
            ax.set_title(" \n ", fontsize=9.5)
        axes[0].set_ylabel("$\\Theta(x_0, x)$,  $x_0 = (1, 0)$")
        axes[0].legend(loc="upper left", fontsize=8)
        viz.animate(*[line for lines in self.lines.values() for line in lines], *(ax.title for ax in axes))

    def update(self, step=50):  # JACOT["steps"]: the end of training
        for ax, (w, run) in zip(self.axes, self.runs.items()):
            i = int(np.searchsorted(run.steps, int(step)))
            i = min(i, len(run.steps) - 1)
            for s, line in enumerate(self.lines[w]):
                line.set_ydata(run.kernels[s, i, 0, :].numpy())
            change = float(np.median(run.relative_change()[:, i]))
            ax.title.set_text(f"width {w} (NTK param.), after k = {run.steps[i]} steps (\u03b7k = {run.times[i]:.3g})\n"
                              f"median relative change of the NTK: {100 * change:.0f}%")


plot_jacot_figure1 = viz.plot_function(JacotFigure1)


# =============================================================================================
# 7. NTK vs standard parameterization
# =============================================================================================
def standard_contributions(x1, x2=None, *, width: int, depth: int = 2, w_std: float = 1.0, b_std: float = 0.1):
    """Infinite-width *leading-order* NTK contributions per parameter group in the standard parameterization.

    Weights of layer ``l``: ``n_{l-1} K^l B^l`` (``n_0 = d_in``, ``n_l = width``); biases: ``B^l``
    (compare ``w_std^2 K^l B^l`` and ``b_std^2 B^l`` in the NTK parameterization). They sum to
    ``analytic_ntk(..., parameterization="standard", width=width)``.
    """
    layers = kernel_recursion(x1, x2, depth=depth, w_std=w_std, b_std=b_std)
    d_in = 1 if torch.as_tensor(x1).ndim == 1 else torch.as_tensor(x1).shape[1]
    fan_in = [d_in] + [width] * depth
    out = {}
    for l in range(depth + 1):
        out[f"W{l + 1}"] = fan_in[l] * layers.K[l] * layers.backprop[l]
        out[f"b{l + 1}"] = layers.backprop[l]
    return out


@functools.lru_cache(maxsize=64)
def _param_bars(width, seed):
    x = _t([X0])
    out = {}
    for p in ("ntk", "standard"):
        parts = mlp_ntk_by_layer(MLP(width, parameterization=p, seed=seed), x)
        out[p] = np.array([float(parts[g][0, 0]) for g in GROUPS])
    lim_ntk = ntk_layer_contributions(x)
    lim_std = standard_contributions(x, width=width)
    out["ntk_limit"] = np.array([float(lim_ntk[g][0, 0]) for g in GROUPS])
    out["standard_limit"] = np.array([float(lim_std[g][0, 0]) for g in GROUPS])
    return out


@viz.register_demo
class Parameterization(viz.Demo):
    """NTK vs standard parameterization: the same networks at initialization, a different NTK. Left: the
    mean of Theta(x, x) over 8 inputs against the width (markers: averages over random networks;
    lines: the infinite-width formulas; fitted slopes in the legend). Right: Theta(x0, x0) at x0 = 1 of one
    network of the chosen width, split by parameter group (bars), with the infinite-width values (black
    ticks). In the standard parameterization the hidden and readout weights contribute ~ width."""

    name = "03.parameterization"
    figsize = (9.8, 3.8)

    def controls(self):
        return {"width": viz.width_slider(WIDTHS, value=64), "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        ax = self.ax
        for i, (p, sw) in enumerate((("ntk", limit_sweep()), ("standard", standard_sweep()))):
            mean, se = sw.statistic()
            w = sw.widths.astype(float)
            fit = fit_loglog_weighted(w, mean, se)
            lim = torch.diagonal(sw.limit, dim1=1, dim2=2).mean(1).numpy()
            st = viz.series_style(i)
            ax.errorbar(w, mean, yerr=mean * se, linestyle="none", marker=st["marker"], color=st["color"],
                        label=f"{PARAM_NAME[p]}: slope {fit.slope:+.2f} ± {fit.stderr:.2f}")
            ax.plot(w, lim, color=st["color"], linestyle=st["linestyle"], linewidth=1.2)
        ax.plot([], [], color="#555555", linestyle="-", label="lines: infinite-width formula")
        (self.vline,) = ax.plot([64, 64], [0.3, 3000], color="#777777", linestyle="-", linewidth=1.0)
        _width_axis(ax)
        ax.set(yscale="log", xlabel="width $m$", ylabel="mean of $\\Theta(x, x)$ over 8 inputs", ylim=(0.3, 3000))
        ax.legend(loc="upper left", fontsize=8)
        ax.set_title("the NTK against the width")
        pos = np.arange(len(GROUPS))
        self.bars = {}
        for i, p in enumerate(("ntk", "standard")):
            st = viz.series_style(i)
            self.bars[p] = self.ax2.bar(pos + (i - 0.5) * 0.38, np.ones(len(GROUPS)), width=0.38,
                                        color=st["color"], alpha=0.8, hatch=HATCHES[2 * i], edgecolor="#333333",
                                        label=PARAM_NAME[p])
        self.ticks = {p: self.ax2.plot(pos + (i - 0.5) * 0.38, np.ones(len(GROUPS)), linestyle="none",
                                       marker="_", markersize=16, markeredgewidth=2.2, color=viz.THEORY_COLOR,
                                       label="infinite width" if i == 0 else None)[0]
                      for i, p in enumerate(("ntk", "standard"))}
        self.ax2.set_xticks(pos, [f"${g[0]}^{g[1]}$" for g in GROUPS])
        self.ax2.set(yscale="log", ylim=(1e-4, 3e3), xlabel="parameter group",
                     ylabel="contribution to $\\Theta(x_0, x_0)$")
        self.ax2.legend(loc="upper left", fontsize=8)
        viz.animate(*self.bars["ntk"], *self.bars["standard"], *self.ticks.values(), self.vline, self.ax2.title)

    def update(self, width=64, seed=0):
        d = _param_bars(int(width), int(seed))
        for p in ("ntk", "standard"):
            for bar, h in zip(self.bars[p], d[p]):
                bar.set_height(max(h, 1e-12))
            self.ticks[p].set_ydata(d[f"{p}_limit"])
        self.vline.set_xdata([width, width])
        self.ax2.title.set_text(f"one network of width {width}, x\u2080 = 1")


plot_parameterization = viz.plot_function(Parameterization)
