"""Demos of ``notebooks/04_lazy_training_and_linearization.ipynb``: weights barely move, kappa, alpha.

Every figure of the notebook is a registered demo (``viz.register_demo``) plus its plain
plotting function; the training runs behind them are computed once and cached
(``functools.lru_cache``), so the sliders only index into stored arrays.

======================  ======================================  =========================================
demo                    controls                                 shows
======================  ======================================  =========================================
``04.ensemble``          step (Play)                             100 nets fitting 4 points; their losses
``04.hidden_weights``    step (Play)                             ``W^(2)`` and ``W^(2) - W^(2)_0``, n = 10, 100, 1000
``04.weight_change``     step (Play)                             loss, ``||theta_t - theta_0|| / ||theta_0||``, slope vs n
``04.linearized``        width, step (Play)                      net vs its linearization; gap vs width
``04.kappa_width``       parameterization, correction            gradient/Hessian norms, kappa vs width
``04.alpha_toy``         alpha                                   toy model, tangent, normalized loss (fixed/zoom)
``04.alpha_network``     alpha                                   centered net vs linear model; slopes vs alpha
======================  ======================================  =========================================

The computations (cached, returning numpy arrays) are public so that the notebook and the
tests can assert on exactly what the figures show: :func:`ensemble_run`, :func:`width_run`,
:func:`width_sweep`, :func:`kappa_sweep`, :func:`alpha_run`, :func:`alpha_sweep`,
:func:`kappa_centered`.

Setting shared by sections 1-3: the reference network (1-D input, two hidden ReLU layers,
NTK parameterization, ``w_std = 1``) with ``b_std = 0.5``, trained by full-batch gradient
descent (``lr = 0.2``, 100 steps) on the loss ``1/2 sum (f - y)^2`` over three points
(:func:`data`). With the default ``b_std = 0.1`` the NTK of 1-D points is nearly rank two
(a ReLU net with tiny biases sees mostly ``x_+`` and ``x_-``: eigenvalues 0.025, 2.7, 3.3
here), and the third mode would need thousands of steps; with ``b_std = 0.5`` they are
0.42, 2.99, 4.65, and 100 steps shrink every mode of the residual by ``e^-8`` or more.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import toy, viz
from ..dynamics import Ensemble, gradient_descent_mse, train
from ..empirical import empirical_ntk
from ..lazy import lazy_norms, linearize
from ..nets import MLP, centered
from ..stats import fit_loglog

# ------------------------------------------------------------------ settings
#: Bias scale of the networks of sections 1-3 and 5 (see the module docstring).
B_STD = 0.5
#: The training set: three points (a "V" that a ReLU net must bend to fit).
DATA_X = (-2.0, 0.0, 2.0)
DATA_Y = (0.6, -0.4, 0.3)
#: Learning rate of the ReLU runs (the analytic NTK's largest eigenvalue is 4.65: lr * 4.65 = 0.93 < 2).
LR = 0.2
#: Training steps of the ReLU runs and how often they are recorded.
STEPS = 100
RECORD_EVERY = 5
#: The 100-network ensemble: width, steps, recording.
ENS_NETS, ENS_WIDTH, ENS_STEPS, ENS_RECORD = 100, 64, STEPS, RECORD_EVERY
#: Widths of the sweep (log-spaced, 10 to 1000 in quarter decades) and of the weight images.
SWEEP_WIDTHS = (10, 18, 32, 56, 100, 178, 316, 562, 1000)
IMAGE_WIDTHS = (10, 100, 1000)
#: Widths drawn as curves in the loss / weight-change panels.
CURVE_WIDTHS = (10, 32, 100, 316, 1000)
#: Test grid for functions.
X_TEST = torch.linspace(-3.5, 3.5, 141, dtype=torch.float64)
#: kappa sweep (one hidden tanh layer, one input): widths 2^4 .. 2^14, 20 seeds, input x = 1, target y = 1.
KAPPA_WIDTHS = tuple(2**k for k in range(4, 15))
KAPPA_SEEDS = 20
#: The alpha section: a tanh net (smooth, as Chizat & Bach's theory needs), centered and scaled;
#: its NTK on the data has eigenvalues 0.22, 1.83, 1.96 (infinite width), so lr = 0.5 is stable.
ALPHA_WIDTH, ALPHA_LR, ALPHA_STEPS = 64, 0.5, 100
ALPHA_EXPS = tuple(np.round(np.arange(-1.0, 2.0001, 0.25), 2))
ALPHAS = tuple(float(10.0**e) for e in ALPHA_EXPS)
#: alpha >= this is fitted (the lazy regime, where kappa(alpha) <= kappa(1)/10).
ALPHA_FIT_MIN = 10.0

PARAM_LABEL = {"ntk": "NTK parameterization", "standard": "standard (LeCun) parameterization"}


def data():
    """The training set of the notebook: ``x = (-2, 0, 2)``, ``y = (0.6, -0.4, 0.3)`` (float64 tensors)."""
    return torch.tensor(DATA_X, dtype=torch.float64), torch.tensor(DATA_Y, dtype=torch.float64)


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _one_thread(fn):
    """Run ``fn`` with one torch thread (restored afterwards): these are many small tensor ops, and on a
    shared 2-core machine two spinning OpenMP threads were measured 3-6x slower than one."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(old)

    return wrapper


# ----------------------------------------------------------- 1. the ensemble
@functools.lru_cache(maxsize=2)
@_one_thread
def ensemble_run(n_nets: int = ENS_NETS, width: int = ENS_WIDTH, steps: int = ENS_STEPS,
                 record_every: int = ENS_RECORD, seed: int = 0) -> dict:
    """Train ``n_nets`` reference nets (seeds ``seed, seed+1, ...``) in one vectorized pass.

    Returns numpy arrays: ``steps`` (R,), ``loss`` (R, E), ``test_outputs`` (R, E, M) on
    :data:`X_TEST`, ``outputs`` (R, E, N) on the data, and the infinite-width prediction of the
    ensemble mean ``mean_ntk`` (R, M): gradient descent with the analytic NTK from ``f_0 = 0``.
    """
    from ..kernels import analytic_ntk

    x, y = data()
    ens = Ensemble(n_nets, width, seed=seed, b_std=B_STD)
    res = train(ens, x, y, lr=LR, steps=steps, record_every=record_every, x_test=X_TEST)
    K = analytic_ntk(x, b_std=B_STD)
    Kt = analytic_ntk(X_TEST, x, b_std=B_STD)
    _, mean_test = gradient_descent_mse(K, y, res.steps.tolist(), eta=LR, K_test=Kt)
    return {"steps": res.steps, "loss": res.loss, "test_outputs": _np(res.test_outputs),
            "outputs": _np(res.outputs), "mean_ntk": _np(mean_test), "x": _np(x), "y": _np(y),
            "x_test": _np(X_TEST), "lambda": _np(torch.linalg.eigvalsh(K))}


@viz.register_demo
class Ensemble100(viz.Demo):
    """100 networks (width 64) learn 4 points; scrub through training with the step slider or Play."""

    name = "04.ensemble"
    figsize = (9.8, 3.6)

    def controls(self):
        return {"step": viz.step_control(ENS_STEPS, step=ENS_RECORD, interval_ms=120)}

    def setup(self, fig):
        r = ensemble_run()
        self.r = r
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.35, 1]})
        self.ax, self.ax2 = ax, ax2
        blue = viz.COLORS[0]
        from matplotlib.collections import LineCollection

        # one artist for the 100 curves (much faster to redraw than 100 lines)
        self.lines = LineCollection([], colors=blue, linewidths=0.6, alpha=0.35,
                                    label=f"{r['loss'].shape[1]} networks")
        ax.add_collection(self.lines)
        (self.mean,) = ax.plot([], [], color=viz.COLORS[1], lw=2.4, ls="-", label="their mean")
        (self.theory,) = ax.plot([], [], color=viz.THEORY_COLOR, lw=1.8, ls="--",
                                 label="infinite width (analytic NTK)")
        ax.plot(r["x"], r["y"], "X", color=viz.TARGET_COLOR, ms=10, mec="white", mew=1.0, zorder=5,
                label="data")
        ax.set(xlabel="input $x$", ylabel=r"output $f_t(x)$", xlim=(-3.5, 3.5), ylim=(-3.2, 3.2))
        ax.legend(loc="upper left", fontsize="small", ncol=2)
        steps = r["steps"]
        loss_curves = np.stack([np.broadcast_to(steps, r["loss"].T.shape), r["loss"].T], axis=-1)
        ax2.add_collection(LineCollection(loss_curves, colors=blue, linewidths=0.5, alpha=0.3))
        ax2.plot(steps, np.median(r["loss"], axis=1), color=viz.COLORS[1], lw=2.4, label="median")
        self.cursor = ax2.axvline(0, color="black", lw=1.2, ls=":")
        (self.dot,) = ax2.plot([], [], "o", color=viz.COLORS[1], ms=8, mec="black")
        ax2.autoscale_view()
        ax2.set(yscale="log", xlabel="gradient-descent step $t$", ylabel=r"loss $\frac{1}{2}\sum_i (f_t(x_i)-y_i)^2$",
                xlim=(0, steps[-1]), title="every network's loss")
        ax2.legend(loc="upper right", fontsize="small")
        viz.animate(self.lines, self.mean, self.theory, self.cursor, self.dot, ax.title)

    def update(self, step=ENS_STEPS):
        r = self.r
        k = int(np.clip(round(step / ENS_RECORD), 0, len(r["steps"]) - 1))
        xs = r["x_test"]
        fs = r["test_outputs"][k][:, ::2]  # every 2nd grid point: the curves are piecewise linear anyway
        self.lines.set_segments(np.stack([np.broadcast_to(xs[::2], fs.shape), fs], axis=-1))
        self.mean.set_data(xs, r["test_outputs"][k].mean(0))
        self.theory.set_data(xs, r["mean_ntk"][k])
        self.cursor.set_xdata([r["steps"][k]] * 2)
        self.dot.set_data([r["steps"][k]], [np.median(r["loss"][k])])
        self.ax.title.set_text(f"100 ReLU nets, width {ENS_WIDTH} (NTK param.), step {int(r['steps'][k])}")


plot_ensemble = viz.plot_function(Ensemble100)


# ---------------------------------------------- 2-3. widths: weights, linearization
def width_run(width: int, seed: int = 0) -> dict:
    """Train one reference net of ``width`` (``MLP(width, b_std=0.5, seed=seed)``) and its linearization.

    The network is trained by :func:`ntk_teach.train`; the linearized model's run is the
    closed form ``gradient_descent_mse`` with the empirical NTK at initialization, which *is*
    gradient descent on ``ntk_teach.linearize(net)`` (the notebook checks this).
    Returns numpy arrays at the recorded steps: ``steps``, ``loss``, ``rel_change``
    (``||theta_t - theta_0|| / ||theta_0||``), ``distance``, ``test`` and ``test_lin`` (R, M),
    ``train`` and ``train_lin`` (R, N), ``gap`` (``max_x |f - f_lin|`` on :data:`X_TEST`, (R,)),
    ``gap_rms`` (the root mean square of ``f - f_lin`` over :data:`X_TEST`, (R,)), ``distance_lin``
    (``||theta_t - theta_0||`` of the linearized model, in closed form from the NTK, (R,)),
    and for widths in :data:`IMAGE_WIDTHS` the hidden-to-hidden matrix ``W`` (R, n, n, float32).
    Cached per ``(width, seed)``.
    """
    return _width_run(int(width), int(seed))


@functools.lru_cache(maxsize=32)
@_one_thread
def _width_run(width: int, seed: int) -> dict:
    x, y = data()
    net = MLP(width, b_std=B_STD, seed=seed)
    K = empirical_ntk(net, x)
    Kt = empirical_ntk(net, X_TEST, x)
    with torch.no_grad():
        f0, f0t = net(x), net(X_TEST)
    rec = ["weights.1"] if width in IMAGE_WIDTHS else []
    res = train(net, x, y, lr=LR, steps=STEPS, record_every=RECORD_EVERY, x_test=X_TEST, record_params=rec)
    tr_lin, te_lin = gradient_descent_mse(K, y, res.steps.tolist(), eta=LR, f0=f0, K_test=Kt, f0_test=f0t)
    out = {"steps": res.steps, "loss": res.loss, "rel_change": res.relative_param_change,
           "distance": res.param_distance, "test": _np(res.test_outputs), "test_lin": _np(te_lin),
           "train": _np(res.outputs), "train_lin": _np(tr_lin), "width": width, "diverged": res.diverged}
    # distance travelled by the linearized model: Delta theta_k = J^T Q diag((1 - (1 - lr lam)^k) / lam) Q^T r_0,
    # so ||Delta theta_k||^2 = sum_i (1 - (1 - lr lam_i)^k)^2 (Q^T r_0)_i^2 / lam_i
    lam, Q = torch.linalg.eigh(K)
    c = (Q.T @ (f0 - y)).numpy()
    lam = lam.numpy()
    grow = 1.0 - (1.0 - LR * lam[None, :]) ** res.steps[:, None]
    out["distance_lin"] = np.sqrt((grow**2 * c[None, :] ** 2 / lam[None, :]).sum(axis=1))
    out["gap"] = np.abs(out["test"] - out["test_lin"]).max(axis=1)
    out["gap_rms"] = np.sqrt(((out["test"] - out["test_lin"]) ** 2).mean(axis=1))
    if rec:
        out["W"] = res.params["weights.1"].numpy().astype(np.float32)
    return out


@functools.lru_cache(maxsize=2)
def width_sweep(widths=SWEEP_WIDTHS, seed: int = 0) -> dict:
    """:func:`width_run` for every width: ``rel_change``, ``distance``, ``distance_lin``, ``gap``, ``gap_rms``,
    ``loss`` (W, R), and ``steps`` (R,)."""
    runs = [width_run(w, seed) for w in widths]
    return {"widths": np.array(widths), "steps": runs[0]["steps"],
            "rel_change": np.stack([r["rel_change"] for r in runs]),
            "distance": np.stack([r["distance"] for r in runs]),
            "distance_lin": np.stack([r["distance_lin"] for r in runs]),
            "gap": np.stack([r["gap"] for r in runs]), "gap_rms": np.stack([r["gap_rms"] for r in runs]),
            "loss": np.stack([r["loss"] for r in runs])}


def _step_index(step, steps):
    return int(np.clip(np.searchsorted(steps, step, side="right") - 1, 0, len(steps) - 1))


SCALES = ("shared", "own")
#: At most this many rows/columns of a weight matrix are drawn (a 1000 x 1000 matrix is drawn every 5th
#: row and column: the panel has about 250 pixels, so the screen could not show more).
MAX_PIXELS = 200


@viz.register_demo
class HiddenWeights(viz.Demo):
    """The hidden-to-hidden matrix ``W^(2)`` of nets of width 10, 100, 1000 during training (top) and how far
    it moved from its initialization (bottom; ``scale``: one colour scale for all three, or each its own)."""

    name = "04.hidden_weights"
    figsize = (9.4, 6.0)

    def controls(self):
        return {"step": viz.step_control(STEPS, step=RECORD_EVERY, interval_ms=150),
                "scale": viz.choice("scale", list(SCALES), value="shared", buttons=True)}

    def setup(self, fig):
        self.runs = [width_run(w) for w in IMAGE_WIDTHS]
        self.stride = [max(1, math.ceil(w / MAX_PIXELS)) for w in IMAGE_WIDTHS]
        axes = fig.subplots(2, 3)
        # shared colour scale of the change: the largest change of any width at the end; "own" scale: the
        # 99th percentile of each width's final |change| (a few extreme entries would hide the rest)
        self.dmax = max(float(np.abs(r["W"][-1] - r["W"][0]).max()) for r in self.runs)
        self.own = [float(np.percentile(np.abs(r["W"][-1] - r["W"][0]), 99)) for r in self.runs]
        self.top, self.bottom, self.titles = [], [], []
        for j, (r, w) in enumerate(zip(self.runs, IMAGE_WIDTHS)):
            a, b = axes[0, j], axes[1, j]
            st = self.stride[j]
            ext = (-0.5, w - 0.5, w - 0.5, -0.5)
            self.top.append(a.imshow(r["W"][0][::st, ::st], cmap="PuOr_r", vmin=-3, vmax=3,
                                     interpolation="nearest", extent=ext))
            self.bottom.append(b.imshow(np.zeros_like(r["W"][0][::st, ::st]), cmap="PuOr_r", vmin=-self.dmax,
                                        vmax=self.dmax, interpolation="nearest", extent=ext))
            a.set_title(f"$W^{{(2)}}_t$, width $n = {w}$" + (f" (every {st}th row/col.)" if st > 1 else ""),
                        fontsize="medium")
            if j == 0:
                b.set_ylabel("change $W_t - W_0$")
            for ax in (a, b):
                ax.set_xticks([0, w - 1], ["1", str(w)])
                ax.set_yticks([0, w - 1], ["1", str(w)])
                ax.grid(False)
            # a representative text, so that the (frozen) layout reserves room for the real one
            self.titles.append(b.set_title("max |ΔW| 0.000, ‖ΔW‖/‖W₀‖ 0e-00", fontsize="small"))
        fig.colorbar(self.top[-1], ax=axes[:, :], shrink=0.6, ticks=[-3, -1.5, 0, 1.5, 3],
                     label="top row: entry of $W_t$ ($\\mathcal{N}(0,1)$ at init)")
        fig.suptitle("Hidden-to-hidden weights $W^{(2)}$ of ReLU nets (NTK parameterization)\n"
                     "bottom colours: $\\pm$ largest change of any width (shared) or $\\pm$ its 99th percentile (own)",
                     fontsize="medium")
        self.step_text = axes[0, 0].text(-0.3, 1.22, "step 000", transform=axes[0, 0].transAxes, va="bottom",
                                         ha="left", fontsize="medium", fontweight="bold")
        viz.animate(*self.top, *self.bottom, *self.titles, self.step_text)

    def update(self, step=STEPS, scale="shared"):
        for j, (r, top, bot, w) in enumerate(zip(self.runs, self.top, self.bottom, IMAGE_WIDTHS)):
            k = _step_index(step, r["steps"])
            st = self.stride[j]
            top.set_data(r["W"][k][::st, ::st])
            d = r["W"][k] - r["W"][0]
            bot.set_data(d[::st, ::st])
            lim = self.dmax if scale == "shared" else self.own[j]
            bot.set_clim(-lim, lim)  # the same colour map as the top row, on the range +-lim (in the title)
            rel = float(np.linalg.norm(d) / np.linalg.norm(r["W"][0]))
            self.titles[j].set_text(f"max |ΔW| {np.abs(d).max():.3f}, ‖ΔW‖/‖W₀‖ {rel:.0e}")
        self.step_text.set_text(f"step {int(step)}")


plot_hidden_weights = viz.plot_function(HiddenWeights)


@viz.register_demo
class WeightChange(viz.Demo):
    """Loss and relative weight change ``||theta_t - theta_0|| / ||theta_0||`` during training for several
    widths, and the relative change against the width on log-log axes (fitted slope at the last step)."""

    name = "04.weight_change"
    figsize = (11.5, 3.8)

    def controls(self):
        return {"step": viz.step_control(STEPS, step=RECORD_EVERY, interval_ms=150)}

    def setup(self, fig):
        s = width_sweep()
        self.s = s
        ax1, ax2, ax3 = fig.subplots(1, 3)
        steps = s["steps"]
        idx = [list(s["widths"]).index(w) for w in CURVE_WIDTHS]
        for i, j in enumerate(idx):
            st = viz.series_style(i, markevery=4)
            ax1.plot(steps, s["loss"][j], label=f"$n = {s['widths'][j]}$", **st)
            ax2.plot(steps[1:], s["rel_change"][j, 1:], **st)
        ax1.set(yscale="log", xlabel="step $t$", ylabel=r"loss $\frac{1}{2}\sum_i (f_t(x_i) - y_i)^2$", title="loss")
        ax1.legend(fontsize="small", loc="lower left")
        ax2.set(yscale="log", xlabel="step $t$", ylabel=r"$\|\theta_t - \theta_0\| / \|\theta_0\|$",
                title="relative weight change")
        self.cursors = [ax.axvline(0, color="black", lw=1.1, ls=":") for ax in (ax1, ax2)]
        fit = fit_loglog(s["widths"], s["rel_change"][:, -1])
        self.fit = fit
        ws = np.geomspace(s["widths"][0], s["widths"][-1], 20)
        ax3.plot(ws, fit.predict(ws), color=viz.COLORS[1], ls="--",
                 label=viz.slope_label(f"fit at step {int(steps[-1])}", fit.slope, expected=-1))
        (self.pts,) = ax3.plot([], [], "o", color=viz.COLORS[0], ms=7, mec="black", label="at the current step")
        ax3.set(xscale="log", yscale="log", xlabel="width $n$", ylabel=r"$\|\theta_t - \theta_0\| / \|\theta_0\|$",
                title="relative change vs width", ylim=(1e-4, 0.5))
        ax3.legend(fontsize="small", loc="lower left")
        fig.suptitle("ReLU nets of widths 10 to 1000 (NTK parameterization), one seed per width")
        viz.animate(*self.cursors, self.pts)

    def update(self, step=STEPS):
        s = self.s
        k = _step_index(step, s["steps"])
        for c in self.cursors:
            c.set_xdata([s["steps"][k]] * 2)
        y = s["rel_change"][:, k]
        if k == 0:
            self.pts.set_data([], [])
        else:
            self.pts.set_data(s["widths"], y)


plot_weight_change = viz.plot_function(WeightChange)


@viz.register_demo
class Linearized(viz.Demo):
    """The network (solid) and its linearization around the initialization (dashed), trained by the same
    gradient descent; right: the size of their difference at the end of training (root mean square over the
    inputs), against the width."""

    name = "04.linearized"
    figsize = (10.5, 3.8)

    def controls(self):
        return {"width": viz.width_slider(SWEEP_WIDTHS, value=32),
                "step": viz.step_control(STEPS, step=RECORD_EVERY, interval_ms=150)}

    def setup(self, fig):
        x, y = data()
        s = width_sweep()
        self.s = s
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        self.ax = ax
        (self.net,) = ax.plot([], [], color=viz.COLORS[0], ls="-", lw=2.2, label="network $f_t$")
        (self.lin,) = ax.plot([], [], color=viz.COLORS[1], ls="--", lw=2.2,
                              label=r"linearized $f^{\rm lin}_t$")
        (self.init,) = ax.plot([], [], color="#888888", ls=":", lw=1.4, label="at initialization $f_0$")
        ax.plot(_np(x), _np(y), "X", color=viz.TARGET_COLOR, ms=10, mec="white", zorder=5, label="data")
        ax.set(xlabel="input $x$", ylabel="output", xlim=(-3.5, 3.5), ylim=(-3, 3))
        ax.legend(fontsize="small", loc="upper left")
        gaps = s["gap_rms"][:, -1]
        fit = fit_loglog(s["widths"], gaps)
        self.fit = fit
        ws = np.geomspace(s["widths"][0], s["widths"][-1], 20)
        ax2.plot(s["widths"], gaps, "o", color=viz.COLORS[0], ms=6, label="measured (seed 0)")
        ax2.plot(ws, fit.predict(ws), color=viz.COLORS[0], ls="--", label=f"fit: slope {fit.slope:.2f}")
        ax2.plot(ws, gaps[0] * (ws / ws[0]) ** -0.5, color=viz.THEORY_COLOR, ls=":",
                 label=r"$n^{-1/2}$ (Lee et al. bound)")
        (self.here,) = ax2.plot([], [], "o", ms=14, mfc="none", mec=viz.COLORS[1], mew=2.2, label="this width")
        ax2.set(xscale="log", yscale="log", xlabel="width $n$",
                ylabel=r"$\|f_T - f^{\rm lin}_T\|_{\rm rms}$ on $[-3.5, 3.5]$",
                title=f"gap after {STEPS} steps (NTK param.)")
        ax2.legend(fontsize="small", loc="lower left")
        ax.set_title(" ", fontsize="medium")
        viz.animate(self.net, self.lin, self.init, self.here, ax.title)

    def update(self, width=32, step=STEPS):
        r = width_run(int(width))
        k = _step_index(step, r["steps"])
        xs = _np(X_TEST)
        self.net.set_data(xs, r["test"][k])
        self.lin.set_data(xs, r["test_lin"][k])
        self.init.set_data(xs, r["test"][0])
        j = list(self.s["widths"]).index(int(width))
        self.here.set_data([width], [self.s["gap_rms"][j, -1]])
        self.ax.title.set_text(f"ReLU net, width {width} (NTK param.), step {int(r['steps'][k])}: "
                               f"gap rms {r['gap_rms'][k]:.3f}, max {r['gap'][k]:.3f}")


plot_linearized = viz.plot_function(Linearized)


# ------------------------------------------------------------------ 4. kappa
@functools.lru_cache(maxsize=4)
@_one_thread
def kappa_sweep(parameterization: str = "standard") -> dict:
    """Exact gradient norm, Hessian norm and kappa of one-hidden-layer tanh nets at ``x = 1``, ``y = 1``.

    :data:`KAPPA_WIDTHS` x :data:`KAPPA_SEEDS` networks (``ntk_teach.toy.kappa_width_sweep``), with the
    medians and quartiles over seeds, and the log-log fits of the medians (raw, and divided by
    ``sqrt(2 ln n)`` for the NTK parameterization's Hessian norm and kappa).
    """
    r = toy.kappa_width_sweep(KAPPA_WIDTHS, parameterization=parameterization, n_seeds=KAPPA_SEEDS,
                              x=1.0, y=1.0, activation="tanh")
    widths = r["widths"]
    corr = np.sqrt(2 * np.log(widths))
    out = {"widths": widths, "correction": corr}
    for k in ("jacobian_norm", "hessian_norm", "kappa"):
        q1, med, q3 = np.percentile(r[k], [25, 50, 75], axis=1)
        out[k] = {"median": med, "q1": q1, "q3": q3, "fit": fit_loglog(widths, med),
                  "fit_corrected": fit_loglog(widths, med / corr)}
    return out


#: Theory slopes (Chizat & Bach; the NTK-parameterization Hessian up to the sqrt(log n) factor).
KAPPA_THEORY = {"standard": {"jacobian_norm": 0.5, "hessian_norm": 0.0, "kappa": -1.0},
                "ntk": {"jacobian_norm": 0.0, "hessian_norm": -0.5, "kappa": -0.5}}
_KAPPA_NAMES = {"jacobian_norm": "gradient ‖∇f‖", "hessian_norm": "Hessian ‖∇²f‖", "kappa": "κ"}
CORRECTIONS = ("raw", "divide by sqrt(2 ln n)")


@viz.register_demo
class KappaWidth(viz.Demo):
    """Gradient norm, Hessian norm and kappa of one-hidden-layer tanh nets against the width (medians of
    20 seeds, bands: quartiles), in either parameterization, with fitted slopes in the legend."""

    name = "04.kappa_width"
    figsize = (7.6, 4.6)
    relayout = False

    def controls(self):
        return {"parameterization": viz.choice("param.", ["standard", "ntk"], value="standard", buttons=True),
                "correction": viz.choice("Hessian", list(CORRECTIONS), value="raw", buttons=True)}

    def setup(self, fig):
        for p in ("standard", "ntk"):
            kappa_sweep(p)  # both, now: the toggle then only switches between stored arrays
        ax = fig.add_subplot()
        self.ax = ax
        self.lines, self.q1, self.q3, self.fits = {}, {}, {}, {}
        for i, k in enumerate(("jacobian_norm", "hessian_norm", "kappa")):
            st = viz.series_style(i)
            (self.lines[k],) = ax.plot([], [], ls="none", marker=st["marker"], color=st["color"], ms=6)
            (self.fits[k],) = ax.plot([], [], color=st["color"], ls=st["linestyle"], lw=1.8)
            (self.q1[k],) = ax.plot([], [], color=st["color"], ls="-", lw=0.7, alpha=0.6)
            (self.q3[k],) = ax.plot([], [], color=st["color"], ls="-", lw=0.7, alpha=0.6)
        ax.set(xscale="log", yscale="log", xlabel="width $n$ (one hidden tanh layer; medians of 20 nets, quartiles thin)",
               ylabel=r"value at $x = 1$ ($\kappa = |f - y|\,\|\nabla^2 f\| / \|\nabla f\|^2$)",
               xlim=(10, 3e4), ylim=(1e-5, 1e3))
        for k in self.fits:
            self.fits[k].set_label(" " * 60)  # the legend is made once; update() changes its texts
        self.legend = ax.legend(handles=list(self.fits.values()), loc="lower left", fontsize="small")
        # The legend is animated (redrawn on every update); its texts and frame must not mark the axes
        # stale when they change, or every update would become a full redraw.
        for child in self.legend.findobj():
            if child is not self.legend:
                child.stale_callback = None
        ax.set_title(" ", fontsize="medium")
        viz.animate(*self.lines.values(), *self.fits.values(), *self.q1.values(), *self.q3.values(),
                    self.legend, ax.title)

    def update(self, parameterization="standard", correction="raw"):
        s = kappa_sweep(parameterization)
        w = s["widths"]
        divide = correction != "raw"
        for k, text in zip(("jacobian_norm", "hessian_norm", "kappa"), self.legend.get_texts()):
            d = s[k]
            c = s["correction"] if (divide and k != "jacobian_norm") else 1.0
            fit = d["fit_corrected"] if (divide and k != "jacobian_norm") else d["fit"]
            self.lines[k].set_data(w, d["median"] / c)
            self.q1[k].set_data(w, d["q1"] / c)
            self.q3[k].set_data(w, d["q3"] / c)
            ws = np.geomspace(w[0], w[-1], 20)
            self.fits[k].set_data(ws, fit.predict(ws))
            name = _KAPPA_NAMES[k] + (" / √(2 ln n)" if (divide and k != "jacobian_norm") else "")
            text.set_text(viz.slope_label(name, fit.slope, KAPPA_THEORY[parameterization][k]))
        self.ax.title.set_text(PARAM_LABEL[parameterization])


plot_kappa_width = viz.plot_function(KappaWidth)


# -------------------------------------------------------------- 5. alpha toy
def _alpha_slider():
    return viz.alpha_slider(value=1.0, min_exp=-1.0, max_exp=2.0, step=0.25)


TOY_W = np.linspace(-1.5, 2.5, 401)


@viz.register_demo
class AlphaToy(viz.Demo):
    """The one-parameter model ``alpha (f(w) - f(w_0))`` and its tangent at ``w_0 = 0.4`` (left); the
    ``alpha^2``-normalized loss and the parabola of the linearized model, on fixed axes (middle) and zoomed
    to the scale ``1/alpha`` on which the minimizers move (right)."""

    name = "04.alpha_toy"
    figsize = (12, 3.9)

    def controls(self):
        return {"alpha": _alpha_slider()}

    def setup(self, fig):
        a1, a2, a3 = fig.subplots(1, 3)
        self.axes = (a1, a2, a3)
        w0, y = toy.W0_TOY, toy.Y_TOY
        c0, c1, c2 = viz.COLORS[0], viz.COLORS[1], viz.COLORS[2]
        (self.model,) = a1.plot([], [], color=c0, lw=2.2, label=r"model $\alpha\,(f(w) - f(w_0))$")
        (self.tangent,) = a1.plot([], [], color=c1, ls="--", lw=2, label="tangent at $w_0$ (linearized)")
        a1.axhline(y, color=viz.TARGET_COLOR, ls=":", lw=1.4, label=f"target $y = {y:g}$")
        a1.set(xlim=(TOY_W[0], TOY_W[-1]), ylim=(-2, 3), xlabel="parameter $w$", ylabel="output at $x = 1.5$")
        a1.legend(fontsize="x-small", loc="upper left")
        (self.loss,) = a2.plot([], [], color=c0, lw=2.2, label=r"$L_\alpha(w)$")
        (self.par,) = a2.plot([], [], color=c1, ls="--", lw=2, label=r"linearized $L^{\rm lin}_\alpha(w)$")
        a2.set(xlim=(TOY_W[0], TOY_W[-1]), ylim=(0, 1.0), xlabel="parameter $w$",
               ylabel=r"$L_\alpha = (\alpha(f - f_0) - y)^2 / (2\alpha^2)$")
        a2.set_title("w* − w0 = 0.000,  w*lin − w0 = 0.000", fontsize="medium")
        u = np.linspace(-0.6, 2.2, 281)
        self.u = u
        (self.zloss,) = a3.plot([], [], color=c0, lw=2.2, label=r"$L_\alpha$")
        a3.plot(u, (1 - u) ** 2, color=c1, ls="--", lw=2, label=r"$L^{\rm lin}_\alpha$ (the same parabola for every $\alpha$)")
        a3.set(xlim=(u[0], u[-1]), ylim=(0, 1.5), xlabel=r"$(w - w_0)\, /\, (w^{\rm lin}_* - w_0)$",
               ylabel=r"$L_\alpha(w) / L_\alpha(w_0)$", title=r"zoomed: axes scaled with $1/\alpha$")
        self.markers = []
        for ax in (a1, a2):
            ax.axvline(w0, color="#777777", lw=1.0)
            ax.text(w0, 0.02, " $w_0$", transform=ax.get_xaxis_transform(), fontsize="small", color="#444444")
        a3.axvline(0, color="#777777", lw=1.0)
        (self.m_true,) = a2.plot([], [], "o", color=c0, ms=8, mec="black", label=r"minimizer $w_*$")
        (self.m_lin,) = a2.plot([], [], "s", color=c1, ms=7, mec="black", label=r"$w^{\rm lin}_*$")
        (self.z_true,) = a3.plot([], [], "o", color=c0, ms=8, mec="black", label=r"$w_*$")
        a3.plot([1], [0], "s", color=c1, ms=7, mec="black", label=r"$w^{\rm lin}_*$")
        (self.c_true,) = a1.plot([], [], "o", color=c0, ms=8, mec="black")
        a2.legend(fontsize="x-small", loc="upper left")
        a3.legend(fontsize="x-small", loc="upper right")
        fig.suptitle(r"toy model $f(w) = (wx + w^2x + \sin e^{0.1w})(w - 0.4)$ at $x = 1.5$, $w_0 = 0.4$, "
                     r"target $y = 1$; loss normalized by $1/\alpha^2$")
        a1.set_title(" ")
        viz.animate(self.model, self.tangent, self.loss, self.par, self.m_true, self.m_lin, self.c_true,
                    self.zloss, self.z_true, a1.title, a2.title)

    def update(self, alpha=1.0):
        alpha = float(alpha)
        w0, y = toy.W0_TOY, toy.Y_TOY
        w = TOY_W
        self.model.set_data(w, toy.toy_model(w, alpha))
        self.tangent.set_data(w, alpha * (toy.toy_tangent(w) - toy.toy_f(w0)))
        self.loss.set_data(w, toy.toy_loss(w, alpha, y))
        self.par.set_data(w, toy.toy_loss_linearized(w, alpha, y))
        ws, wl = toy.toy_minimizer(alpha, y), toy.toy_linearized_minimizer(alpha, y)
        self.m_true.set_data([ws], [toy.toy_loss(ws, alpha, y)])
        self.m_lin.set_data([wl], [0.0])
        self.c_true.set_data([ws], [toy.toy_model(ws, alpha)])
        step = wl - w0
        L0 = float(toy.toy_loss(w0, alpha, y))
        self.zloss.set_data(self.u, toy.toy_loss(w0 + self.u * step, alpha, y) / L0)
        self.z_true.set_data([(ws - w0) / step], [float(toy.toy_loss(ws, alpha, y)) / L0])
        self.axes[0].title.set_text(f"α = {alpha:.3g}:  κ(α) = {toy.toy_kappa(alpha, y):.3g}")
        self.axes[1].title.set_text(f"fixed axes:  w* − w0 = {ws - w0:.3g},  w*lin − w0 = {wl - w0:.3g}")


plot_alpha_toy = viz.plot_function(AlphaToy)


# ---------------------------------------------------------- 5. alpha network
def _alpha_data():
    return data()


@functools.lru_cache(maxsize=2)
@_one_thread
def _alpha_linear(width: int = ALPHA_WIDTH, seed: int = 0) -> dict:
    """The linearized centered model's outputs after training: independent of alpha (see :func:`alpha_run`)."""
    x, y = _alpha_data()
    net = MLP(width, activation="tanh", b_std=B_STD, seed=seed)
    K = empirical_ntk(net, x)
    Kt = empirical_ntk(net, X_TEST, x)
    tr, te = gradient_descent_mse(K, y, [ALPHA_STEPS], eta=ALPHA_LR, K_test=Kt)
    return {"train": _np(tr[-1]), "test": _np(te[-1]), "lambda": _np(torch.linalg.eigvalsh(K))}


def alpha_run(alpha: float, width: int = ALPHA_WIDTH, seed: int = 0) -> dict:
    """Train the centered tanh net ``alpha (f(x; theta) - f(x; theta_0))`` on the loss ``L / alpha^2``.

    With the normalized loss the outputs move by ``d g/dt = -lr Theta_f (g - y)`` (``Theta_f`` the NTK of
    ``f``) whatever alpha is, so the linearized model's prediction does not depend on alpha, while the
    parameters move ``alpha`` times less. Returns the final test outputs, the relative change of the NTK
    of the centered model ``||Theta_T - Theta_0||_F / ||Theta_0||_F``, ``||theta_T - theta_0||``, the
    largest gap to the linearized model on :data:`X_TEST`, and the final loss. Cached per argument.
    """
    return _alpha_run(float(alpha), int(width), int(seed))


@functools.lru_cache(maxsize=64)
@_one_thread
def _alpha_run(alpha: float, width: int, seed: int) -> dict:
    x, y = _alpha_data()
    net = MLP(width, activation="tanh", b_std=B_STD, seed=seed)
    model = centered(net, alpha)
    res = train(model, x, y, lr=ALPHA_LR, steps=ALPHA_STEPS, record_every=ALPHA_STEPS, x_test=X_TEST,
                record_ntk=True, alpha=alpha)
    lin = _alpha_linear(width, seed)
    test = _np(res.test_outputs[-1])
    return {"alpha": alpha, "test": test, "ntk_change": float(res.ntk_relative_change[-1]),
            "distance": float(res.param_distance[-1]), "gap": float(np.abs(test - lin["test"]).max()),
            "loss": float(res.loss[-1]) * alpha**2, "diverged": res.diverged}


@functools.lru_cache(maxsize=2)
def alpha_sweep(width: int = ALPHA_WIDTH, seed: int = 0) -> dict:
    """:func:`alpha_run` for every alpha of the slider (:data:`ALPHAS`), with log-log fits over alpha >= 10."""
    runs = [alpha_run(a, width, seed) for a in ALPHAS]
    a = np.array(ALPHAS)
    out = {"alphas": a}
    for k in ("ntk_change", "distance", "gap", "loss"):
        out[k] = np.array([r[k] for r in runs])
    sel = a >= ALPHA_FIT_MIN * (1 - 1e-9)
    out["fit_mask"] = sel
    for k in ("ntk_change", "distance", "gap"):
        out[k + "_fit"] = fit_loglog(a[sel], out[k][sel])
    return out


@functools.lru_cache(maxsize=16)
@_one_thread
def kappa_centered(alpha: float, width: int = ALPHA_WIDTH, seed: int = 0, point: int = 1) -> dict:
    """``ntk_teach.lazy_norms`` of the centered net at initialization, at the single input ``x[point]``.

    At initialization the centered model is 0, so the residual is ``|y|``; its Jacobian and Hessian
    are ``alpha`` times those of ``f``: hence ``kappa(alpha) = kappa(1) / alpha`` exactly.
    """
    x, y = _alpha_data()
    net = MLP(width, activation="tanh", b_std=B_STD, seed=seed)
    return lazy_norms(centered(net, alpha), x[point:point + 1], y[point:point + 1])


@viz.register_demo
class AlphaNetwork(viz.Demo):
    """A centered tanh net ``alpha (f - f_0)`` trained on the normalized loss (solid) against its linearized
    model (dashed; the same for every alpha), and how the NTK change, the parameter distance and the gap
    to the linear model fall with alpha (right)."""

    name = "04.alpha_network"
    figsize = (11, 3.9)

    def controls(self):
        return {"alpha": _alpha_slider()}

    def setup(self, fig):
        x, y = _alpha_data()
        s = alpha_sweep()
        self.s = s
        lin = _alpha_linear()
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
        self.ax = ax
        xs = _np(X_TEST)
        (self.net,) = ax.plot([], [], color=viz.COLORS[0], lw=2.2, label=r"network $\alpha(f_T - f_0)$")
        ax.plot(xs, lin["test"], color=viz.COLORS[1], ls="--", lw=2.2, label="linearized model (any $\\alpha$)")
        ax.plot(_np(x), _np(y), "X", color=viz.TARGET_COLOR, ms=10, mec="white", zorder=5, label="data")
        ax.set(xlabel="input $x$", ylabel=f"output after {ALPHA_STEPS} steps", xlim=(-3.5, 3.5), ylim=(-2.5, 2.5))
        ax.legend(fontsize="small", loc="upper left")
        a = s["alphas"]
        k1 = kappa_centered(1.0)["kappa"]
        ax2.plot(a, k1 / a, color=viz.THEORY_COLOR, ls=":", lw=1.8, label=r"$\kappa(\alpha) = \kappa(1)/\alpha$ (at $x_2$)")
        names = {"ntk_change": r"$\|\Theta_T - \Theta_0\|_F / \|\Theta_0\|_F$",
                 "distance": r"$\|\theta_T - \theta_0\|$", "gap": r"$\max_x |g_T - g^{\rm lin}_T|$"}
        for i, k in enumerate(("ntk_change", "distance", "gap")):
            st = viz.series_style(i)
            fit = s[k + "_fit"]
            ax2.plot(a, s[k], ls="none", marker=st["marker"], color=st["color"], ms=5)
            af = a[s["fit_mask"]]
            ax2.plot(af, fit.predict(af), color=st["color"], ls=st["linestyle"], lw=1.8,
                     label=viz.slope_label(names[k], fit.slope, expected=-1))
        self.cursor = ax2.axvline(1.0, color=viz.COLORS[3], lw=2, alpha=0.7)
        ax2.axvspan(ALPHA_FIT_MIN, a[-1] * 1.1, color="#EEEEEE", zorder=0)
        ax2.set(xscale="log", yscale="log", xlabel=r"output scale $\alpha$", xlim=(a[0] / 1.1, a[-1] * 1.1),
                title=r"fits over $\alpha \geq 10$ (shaded)")
        ax2.legend(fontsize="x-small", loc="lower left")
        ax.set_title(" ", fontsize="medium")
        viz.animate(self.net, self.cursor, ax.title)

    def update(self, alpha=1.0):
        r = alpha_run(_nearest_alpha(alpha))
        self.net.set_data(_np(X_TEST), r["test"])
        self.cursor.set_xdata([r["alpha"]] * 2)
        self.ax.title.set_text(f"tanh net, width {ALPHA_WIDTH} (NTK param.), α = {r['alpha']:.3g}: "
                               f"NTK moved {100 * r['ntk_change']:.2g}%")


def _nearest_alpha(alpha: float) -> float:
    a = np.array(ALPHAS)
    return float(a[int(np.argmin(np.abs(np.log(a) - math.log(float(alpha)))))])


plot_alpha_network = viz.plot_function(AlphaNetwork)
