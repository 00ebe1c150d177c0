"""Figures and live demos of ``notebooks/05_gradient_flow_and_the_kernel_regime.ipynb``.

======================  ===========================  ==========================================================
demo                    controls                     shows
======================  ===========================  ==========================================================
``05.flow_and_gd``      eta * lambda_max, frame      NTK eigen-modes decaying under gradient flow and under
                        (Play)                       gradient descent; the per-mode factor |1 - eta lambda|;
                                                     divergence beyond eta = 2 / lambda_max; the function
``05.linearization``    width, step (Play)           networks of several widths against the closed-form
                                                     linearized prediction (Lee et al. 2019), train and test
``05.ntk_ellipse``      alpha, width, seed, frame    the two-point NTK as an ellipse centred on the targets,
                        (Play)                       the output trajectory from the origin, the fitted function
``05.spectral_bias``    frame (Play)                 a low + a high frequency learned at the rates the NTK
                                                     eigenvalues predict
======================  ===========================  ==========================================================

Static figures: :func:`plot_ntk_change` (relative NTK change against width and alpha, log-log with
fitted slopes) and :func:`plot_spectrum` (NTK eigenvalues and eigenvectors, where each target
component lives).

The computations behind them are public, cached (``functools.lru_cache``) and return numpy arrays,
so that the notebook and the tests assert on exactly what the figures show: :func:`flow_setup`,
:func:`width_study`, :func:`alpha_study`, :func:`ellipse_run`, :func:`spectral_run`. The general
pieces (modes, ellipses, frequencies, batched training of centered networks) are in
:mod:`ntk_teach.spectral`.

Conventions: the reference network (1-D input, two hidden layers of width ``n``, NTK
parameterization, ``w_std = 1``, ``b_std = 0.1``; ReLU unless a figure says tanh); loss
``1/2 sum (f - y)^2``, so ``du/dt = -eta Theta u`` and gradient descent multiplies mode ``i`` by
``1 - eta lambda_i`` per step; float64.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .. import viz
from ..data import noisy_1d, tiny_1d, two_point_data
from ..dynamics import gradient_descent_mse, gradient_flow_mse
from ..empirical import empirical_ntk
from ..kernels import analytic_ntk
from ..nets import MLP
from .. import spectral as sp

GRID = np.linspace(-3.2, 3.2, 121)
_GRID_T = torch.as_tensor(GRID, dtype=torch.float64)


def _animate(*artists):
    """Mark artists that every update changes (blitted redraws), when the widget kit offers it."""
    fn = getattr(viz, "animate", None)
    if fn is not None:
        fn(*artists)


def _width_ticks(ax, values):
    """Plain tick labels at ``values`` on a log x axis (no 3x10^1-style minor labels)."""
    from matplotlib.ticker import NullLocator

    ax.set_xticks(list(values))
    ax.set_xticklabels([f"{v:g}" for v in values])
    ax.xaxis.set_minor_locator(NullLocator())


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# =============================================================================================
# 1. gradient flow and gradient descent in function space (infinite-width NTK)
# =============================================================================================
FLOW_DATA = dict(n=8, seed=0)  # ntk_teach.tiny_1d(8, seed=0): 8 evenly spaced points, sin(x) + noise
#: GD step counts shown by the frame slider: 0, then log-spaced up to 5000 steps
FLOW_STEPS = np.unique(np.r_[0, np.round(np.geomspace(1, 5000, 44))]).astype(int)
FLOW_T = np.geomspace(1e-2, 1e4, 300)  # flow curves: time t = eta * k


@functools.lru_cache(maxsize=1)
def flow_setup() -> dict:
    """The data, the analytic NTK (infinite width) and its modes for section 1.

    Returns numpy arrays: ``x``, ``y`` (8 points), ``K`` (8, 8) and ``K_test`` (121, 8) on :data:`GRID`,
    ``lam`` (descending), ``Q`` (eigenvectors as columns), ``u0 = f_0 - y = -y`` (outputs start at 0:
    the mean over random initializations, or a centered network) and ``c0 = Q^T u0``.
    """
    x, y = tiny_1d(**FLOW_DATA)
    K = analytic_ntk(x)
    Kt = analytic_ntk(_GRID_T, x)
    lam, Q = sp.modes(K)
    u0 = -y
    return {"x": _np(x), "y": _np(y), "K": _np(K), "K_test": _np(Kt), "lam": _np(lam), "Q": _np(Q),
            "u0": _np(u0), "c0": _np(Q.T @ u0)}


def flow_functions(ratio: float, step: int):
    """Test-grid outputs at GD step ``step`` with ``eta = ratio / lambda_max``: ``(flow, gd)``, each (121,).

    ``flow`` is gradient flow at the same time ``t = eta * step`` (closed forms of :mod:`ntk_teach.dynamics`).
    """
    s = flow_setup()
    eta = ratio / s["lam"][0]
    K, Kt, y = torch.as_tensor(s["K"]), torch.as_tensor(s["K_test"]), torch.as_tensor(s["y"])
    _, flow = gradient_flow_mse(K, y, eta * step, eta=1.0, K_test=Kt)
    _, gd = gradient_descent_mse(K, y, [int(step)], eta=eta, K_test=Kt)
    return _np(flow[0]), _np(gd[0])


@viz.register_demo
class FlowAndGD(viz.Demo):
    """Each NTK eigen-direction of the residual decays at its own rate: exp(-eta lambda_i t) under gradient
    flow (lines), (1 - eta lambda_i)^k under gradient descent (markers). Push eta past 2 / lambda_max and
    the top mode flips sign and grows: gradient descent diverges."""

    name = "05.flow_and_gd"
    figsize = (12.5, 4.0)

    def controls(self):
        return {"ratio": viz.float_slider("η·λmax", 1.0, 0.1, 2.5, 0.05),
                "frame": viz.step_control(len(FLOW_STEPS) - 1, value=len(FLOW_STEPS) - 1,
                                          description="frame", interval_ms=180)}

    def setup(self, fig):
        s = flow_setup()
        self.s = s
        axm, axf, axs = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.35, 0.9, 1.15]})
        axm.set_title(" ", fontsize=10)
        axf.set_title(" ", fontsize=10)
        axs.set_title(" ", fontsize=10)
        self.axm, self.axf, self.axs = axm, axf, axs
        n = len(s["lam"])
        self.flow_lines, self.gd_marks = [], []
        for i in range(n):
            st = viz.series_style(i)
            (line,) = axm.plot(FLOW_T, np.exp(-s["lam"][i] * FLOW_T), color=st["color"], ls=st["linestyle"], lw=1.6,
                               label=rf"$\lambda_{{{i + 1}}}$ = {s['lam'][i]:.3g}")
            (mk,) = axm.plot([], [], ls="none", marker=st["marker"], color=st["color"], ms=5, mec="black", mew=0.4)
            self.flow_lines.append(line)
            self.gd_marks.append(mk)
        self.cursor = axm.axvline(1.0, color="black", lw=1.0, ls=":")
        axm.axhline(0.0, color="#888888", lw=0.8)
        axm.set(xscale="log", xlim=(FLOW_T[0], FLOW_T[-1]), ylim=(-1.35, 1.35),
                xlabel=r"time $t = \eta k$", ylabel=r"mode coordinate $c_i(t) / c_i(0)$")
        axm.legend(loc="lower left", fontsize=7.5, ncol=2, title="lines: flow $e^{-\\lambda_i t}$;  "
                   "markers: GD $(1-\\eta\\lambda_i)^k$", title_fontsize=7.5)
        # per-mode GD factor
        self.factor_marks = []
        for i in range(n):
            st = viz.series_style(i)
            (mk,) = axf.plot([s["lam"][i]], [0.5], ls="none", marker=st["marker"], color=st["color"], ms=7,
                             mec="black", mew=0.5)
            self.factor_marks.append(mk)
        axf.axhline(1.0, color="black", lw=1.2)
        axf.axhspan(1.0, 3.0, color=viz.OKABE_ITO["vermillion"], alpha=0.12, lw=0)
        axf.text(0.03, 0.93, "unstable: |1 - ηλ| > 1", transform=axf.transAxes, fontsize=8,
                 color=viz.OKABE_ITO["vermillion"], va="top")
        self.threshold = axf.axvline(2.0, color=viz.OKABE_ITO["vermillion"], lw=1.2, ls="--",
                                     label=r"$\lambda = 2/\eta$")
        axf.set(xscale="log", xlim=(s["lam"][-1] / 2, s["lam"][0] * 40), ylim=(0, 1.8),
                xlabel=r"NTK eigenvalue $\lambda_i$", ylabel=r"$|1 - \eta\lambda_i|$ per GD step")
        axf.legend(loc="center left", fontsize=8)
        # the function
        (self.f_flow,) = axs.plot(GRID, np.zeros_like(GRID), color=viz.THEORY_COLOR, ls="--", lw=1.8,
                                  label="gradient flow")
        (self.f_gd,) = axs.plot(GRID, np.zeros_like(GRID), color=viz.COLORS[0], ls="-", lw=1.8,
                                label="gradient descent")
        axs.plot(s["x"], s["y"], "X", color=viz.TARGET_COLOR, ms=9, mec="white", mew=1.0, zorder=5, label="data")
        self.warn = axs.text(0.5, 0.5, "", transform=axs.transAxes, ha="center", va="center", fontsize=12,
                             color=viz.OKABE_ITO["vermillion"], fontweight="bold",
                             bbox=dict(facecolor="white", edgecolor=viz.OKABE_ITO["vermillion"]))
        axs.set(xlim=(GRID[0], GRID[-1]), ylim=(-2.2, 2.2), xlabel="input $x$", ylabel=r"output $f(x)$")
        axs.legend(loc="lower right", fontsize=8)
        _animate(*self.gd_marks, self.cursor, *self.factor_marks, self.threshold, self.f_flow, self.f_gd, self.warn,
                 axm.title, axf.title, axs.title)

    def update(self, ratio=1.0, frame=len(FLOW_STEPS) - 1):
        s = self.s
        lam = s["lam"]
        eta = ratio / lam[0]
        k_max = int(FLOW_STEPS[int(frame)])
        ks = FLOW_STEPS[: int(frame) + 1]
        ks = ks[ks > 0]
        t = eta * ks
        for i, mk in enumerate(self.gd_marks):
            log_abs = ks * np.log(np.maximum(np.abs(1 - eta * lam[i]), 1e-300))
            c = np.sign(1 - eta * lam[i]) ** ks * np.exp(np.minimum(log_abs, 50.0))  # (1 - eta lam)^k, no overflow
            mk.set_data(t, np.clip(c, -1.3, 1.3))
            self.factor_marks[i].set_ydata([min(abs(1 - eta * lam[i]), 1.75)])
        self.cursor.set_xdata([max(eta * k_max, FLOW_T[0])] * 2)
        self.threshold.set_xdata([2.0 / eta] * 2)
        flow, gd = flow_functions(ratio, k_max)
        self.f_flow.set_ydata(flow)
        self.f_gd.set_ydata(np.clip(gd, -1e3, 1e3))
        diverged = ratio > 2.0
        self.warn.set_text(f"GD diverges: η > 2/λmax\n|1 - ηλ1| = {abs(1 - ratio):.2f} > 1" if diverged else "")
        state = "DIVERGES" if diverged else "stable"
        self.axm.title.set_text(f"NTK modes (infinite width, NTK param.); GD step k = {k_max}")
        self.axf.title.set_text(f"η = {eta:.4f}, 2/λmax = {2 / lam[0]:.4f}: {state}")
        self.axf.title.set_color(viz.OKABE_ITO["vermillion"] if diverged else "black")
        self.axs.title.set_text(f"f at t = ηk = {eta * k_max:.3g}")


plot_flow_and_gd = viz.plot_function(FlowAndGD)


# =============================================================================================
# 2. + 4. width and alpha studies on the two-point data (batched centered networks)
# =============================================================================================
TWO_X, TWO_Y = two_point_data()
STUDY_WIDTHS = (16, 32, 64, 128, 256)
STUDY_SEEDS = 16
STUDY_LR = 0.25
STUDY_STEPS = 40  # time T = 10: both modes of the two-point NTK (eigenvalues ~0.6 and ~1.8) converge
STUDY_GRID = np.linspace(-3.2, 3.2, 41)
STUDY_EVERY = 4  # record every 4 steps (11 records): the test-grid outputs of 16 nets cost most of the run
ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0)
ALPHA_WIDTH = 64


@functools.lru_cache(maxsize=4)
def width_study(activation: str = "relu", n_seeds: int = STUDY_SEEDS, widths=STUDY_WIDTHS, gaps: bool = True) -> dict:
    """Centered networks (alpha = 1) of each width, ``n_seeds`` seeds, trained on the two-point data.

    For every width ``n`` (key) a dict of numpy arrays: ``steps`` (R,), ``outputs`` (R, E, 2) and ``test``
    (R, E, M) on :data:`STUDY_GRID`; the closed-form linearized predictions ``lin_outputs``/``lin_test``
    (gradient descent with each network's own NTK at initialization, from 0: Lee et al. 2019);
    ``train_gap``/``test_gap`` (E,), the largest RMS difference network - linearization over training;
    ``gap_t`` (R, E) the RMS test gap over time; ``ntk_change`` (E,) = ``||Theta_T - Theta_0||_F / ||Theta_0||_F``.
    With ``gaps=False`` only ``ntk_change`` is computed (no test grid, no linearization: cheaper).
    """
    out = {}
    for n in widths:
        if not gaps:
            run = sp.train_centered_members(n, TWO_X, TWO_Y, seeds=range(n_seeds), alphas=[1.0] * n_seeds,
                                            steps=STUDY_STEPS, lr=STUDY_LR, record_every=STUDY_STEPS,
                                            activation=activation)
            out[n] = {"ntk_change": run.ntk_relative_change()}
            continue
        run = sp.train_centered_members(n, TWO_X, TWO_Y, seeds=range(n_seeds), alphas=[1.0] * n_seeds,
                                        steps=STUDY_STEPS, lr=STUDY_LR, record_every=STUDY_EVERY,
                                        x_test=STUDY_GRID, activation=activation)
        lin_tr, lin_te = [], []
        with sp.single_thread():
            for e in range(n_seeds):
                net = MLP(n, seed=e, activation=activation)
                Kt = empirical_ntk(net, torch.as_tensor(STUDY_GRID), TWO_X)
                tr, te = gradient_descent_mse(torch.as_tensor(run.ntk[0, e]), TWO_Y, run.steps.tolist(),
                                              eta=STUDY_LR, K_test=Kt)
                lin_tr.append(_np(tr))
                lin_te.append(_np(te))
        lin_tr = np.stack(lin_tr, 1)
        lin_te = np.stack(lin_te, 1)
        gap_t = np.sqrt(((run.test_outputs - lin_te) ** 2).mean(-1))
        gap_tr = np.sqrt(((run.outputs - lin_tr) ** 2).mean(-1))
        out[n] = {"steps": run.steps, "outputs": run.outputs, "test": run.test_outputs, "lin_outputs": lin_tr,
                  "lin_test": lin_te, "gap_t": gap_t, "test_gap": gap_t.max(0), "train_gap": gap_tr.max(0),
                  "ntk_change": run.ntk_relative_change()}
    return out


@functools.lru_cache(maxsize=4)
def alpha_study(activation: str = "relu", n_seeds: int = STUDY_SEEDS, alphas=ALPHAS, width: int = ALPHA_WIDTH) -> dict:
    """Relative NTK change ``(A, E)`` of centered networks of ``width`` trained with the alpha-normalized loss.

    One batched run: member ``(a, e)`` has output scale ``alphas[a]`` and seed ``e``; same data, ``lr`` and
    time as :func:`width_study`. Returns ``{"alphas": (A,), "ntk_change": (A, E)}``.
    """
    A = len(alphas)
    run = sp.train_centered_members(width, TWO_X, TWO_Y, seeds=list(range(n_seeds)) * A,
                                    alphas=np.repeat(alphas, n_seeds), steps=STUDY_STEPS, lr=STUDY_LR,
                                    record_every=STUDY_STEPS, activation=activation)
    return {"alphas": np.asarray(alphas, dtype=float), "ntk_change": run.ntk_relative_change().reshape(A, n_seeds)}


def bootstrap_slope(x, samples, n_boot: int = 500, seed: int = 0):
    """Log-log slope of the seed mean of ``samples`` (rows: x values, columns: seeds) and its bootstrap
    standard error (resampling seeds). Returns ``(slope, stderr, means)``."""
    x = np.asarray(x, dtype=float)
    S = np.asarray(samples, dtype=float)
    means = S.mean(1)
    slope = float(np.polyfit(np.log(x), np.log(means), 1)[0])
    rng = np.random.default_rng(seed)
    boots = [np.polyfit(np.log(x), np.log(S[:, rng.integers(0, S.shape[1], S.shape[1])].mean(1)), 1)[0]
             for _ in range(n_boot)]
    return slope, float(np.std(boots)), means


# ------------------------------------------------------------------ 2. Lee et al. demo
LEE_SHOWN = 4  # seeds drawn in the left panel


@viz.register_demo
class Linearization(viz.Demo):
    """Centered ReLU networks of several widths against the closed-form prediction of their linearization
    (Lee et al. 2019): the difference as a function of x (left), its size over training (middle), and its
    largest value against the width, on the two training points and between them (right)."""

    name = "05.linearization"
    figsize = (12.5, 3.9)

    def controls(self):
        return {"width": viz.width_slider(options=STUDY_WIDTHS, value=16),
                "step": viz.step_control(STUDY_STEPS, value=STUDY_STEPS, step=STUDY_EVERY, interval_ms=200)}

    def setup(self, fig):
        self.st = width_study("relu")
        axf, axg, axw = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1.0, 0.95]})
        axf.set_title(" ", fontsize=10)
        axg.set_title(" ", fontsize=10)
        axw.set_title(" ", fontsize=10)
        self.axf, self.axg, self.axw = axf, axg, axw
        self.gap_lines = []
        for j in range(LEE_SHOWN):  # a few seeds of the selected width
            st = viz.series_style(j)
            (a,) = axf.plot(STUDY_GRID, np.zeros_like(STUDY_GRID), color=st["color"], ls=st["linestyle"], lw=1.6,
                            label=f"seed {j}")
            self.gap_lines.append(a)
        axf.axhline(0.0, color="#888888", lw=0.8)
        axf.plot(_np(TWO_X), [0, 0], "X", color=viz.TARGET_COLOR, ms=10, mec="white", mew=1.0, zorder=5,
                 label="training inputs")
        axf.set(xlim=(-3.2, 3.2), ylim=(-0.3, 0.3), xlabel="input $x$",
                ylabel=r"$f_t(x) - f^{\mathrm{lin}}_t(x)$")
        axf.legend(loc="lower left", fontsize=7.5, ncol=2)
        t = self.st[STUDY_WIDTHS[0]]["steps"] * STUDY_LR
        for i, n in enumerate(STUDY_WIDTHS):
            st = viz.series_style(i)
            g = self.st[n]["gap_t"].mean(1)
            axg.plot(t[1:], g[1:], color=st["color"], ls=st["linestyle"], marker=st["marker"], markevery=2, ms=4,
                     label=f"n = {n}")
        self.cursor = axg.axvline(t[-1], color="black", lw=1.0, ls=":")
        axg.set(yscale="log", xlabel=r"time $t = \eta k$", ylabel="RMS gap network - linearized\n"
                "(test grid, mean of 16 seeds)", xlim=(0, t[-1]))
        axg.legend(loc="lower right", fontsize=7.5, ncol=2)
        widths = np.array(STUDY_WIDTHS, dtype=float)
        test = np.stack([self.st[n]["test_gap"] for n in STUDY_WIDTHS])
        train = np.stack([self.st[n]["train_gap"] for n in STUDY_WIDTHS])
        self.slopes = {}
        for i, (lab, S) in enumerate([("test (between the points)", test), ("train (the two points)", train)]):
            slope, se, means = bootstrap_slope(widths, S)
            self.slopes[lab.split()[0]] = (slope, se)
            st = viz.series_style(i)
            axw.errorbar(widths, means, yerr=S.std(1, ddof=1) / np.sqrt(S.shape[1]), ls="none",
                         marker=st["marker"], color=st["color"], capsize=3)
            fit = np.exp(np.polyval(np.polyfit(np.log(widths), np.log(means), 1), np.log(widths)))
            axw.plot(widths, fit, color=st["color"], ls=st["linestyle"], label=f"{lab}: slope {slope:.2f} ± {se:.2f}")
        ref = means[0] * (widths / widths[0]) ** -0.5
        axw.plot(widths, ref * 1.6, color="#777777", lw=1.0, ls=(0, (1, 1)), label=r"$n^{-1/2}$ (Lee et al. bound)")
        axw.plot(widths, means[0] * 1.6 * (widths / widths[0]) ** -1.0, color="#777777", lw=1.0, ls=(0, (4, 2)),
                 label=r"$n^{-1}$")
        self.mark = axw.axvline(16, color="black", lw=1.0, ls=":")
        axw.set(xscale="log", yscale="log", xlabel="width $n$", ylabel="largest RMS gap during training")
        _width_ticks(axw, STUDY_WIDTHS)
        axw.legend(loc="lower left", fontsize=7)
        axw.set_title("gap vs width (ReLU, NTK param.)", fontsize=10)
        _animate(*self.gap_lines, self.cursor, self.mark, axf.title, axg.title)

    def update(self, width=16, step=STUDY_STEPS):
        r = self.st[int(width)]
        k = int(np.clip(np.searchsorted(r["steps"], step), 0, len(r["steps"]) - 1))
        for j, line in enumerate(self.gap_lines):
            line.set_ydata(r["test"][k, j] - r["lin_test"][k, j])
        self.cursor.set_xdata([r["steps"][k] * STUDY_LR] * 2)
        self.mark.set_xdata([width] * 2)
        self.axf.title.set_text(f"network - linearized, ReLU width {width} (NTK param.), step {int(r['steps'][k])}")
        self.axg.title.set_text(f"gap over time (t = {r['steps'][k] * STUDY_LR:.2f})")


plot_linearization = viz.plot_function(Linearization)


# ------------------------------------------------------------------ 4. NTK change figure
def ntk_changes(activation: str, width: int) -> np.ndarray:
    """Relative NTK changes (E,) at ``width``: from the full ReLU study of section 2, or a cheaper run."""
    if activation == "relu":
        return width_study("relu")[width]["ntk_change"]
    return width_study(activation, gaps=False)[width]["ntk_change"]


def plot_ntk_change(figsize=(11.5, 4.0)):
    """Relative change of the NTK over training, against the width (alpha = 1) and against alpha
    (width 64), for the reference ReLU network and for the same network with tanh; log-log with
    fitted slopes (mean of 16 seeds; error bars: standard errors; slope errors: bootstrap over seeds)."""
    fig = viz.new_figure(figsize=figsize)
    axw, axa = fig.subplots(1, 2)
    widths = np.array(STUDY_WIDTHS, dtype=float)
    for i, act in enumerate(("relu", "tanh")):
        st = viz.series_style(i)
        S = np.stack([ntk_changes(act, n) for n in STUDY_WIDTHS])
        slope, se, means = bootstrap_slope(widths, S)
        theory = "between -1 and -1/2" if act == "relu" else "-1"
        axw.errorbar(widths, means, yerr=S.std(1, ddof=1) / np.sqrt(S.shape[1]), ls="none", marker=st["marker"],
                     color=st["color"], capsize=3)
        fit = np.exp(np.polyval(np.polyfit(np.log(widths), np.log(means), 1), np.log(widths)))
        axw.plot(widths, fit, color=st["color"], ls=st["linestyle"],
                 label=f"{act}: slope {slope:.2f} ± {se:.2f} (theory {theory})")
        A = alpha_study(act)
        slope_a, se_a, means_a = bootstrap_slope(A["alphas"], A["ntk_change"])
        axa.errorbar(A["alphas"], means_a, yerr=A["ntk_change"].std(1, ddof=1) / np.sqrt(A["ntk_change"].shape[1]),
                     ls="none", marker=st["marker"], color=st["color"], capsize=3)
        fit = np.exp(np.polyval(np.polyfit(np.log(A["alphas"]), np.log(means_a), 1), np.log(A["alphas"])))
        theory_a = "between -1 and -1/2" if act == "relu" else "-1"
        axa.plot(A["alphas"], fit, color=st["color"], ls=st["linestyle"],
                 label=f"{act}: slope {slope_a:.2f} ± {se_a:.2f} (theory {theory_a})")
    axw.set(xscale="log", yscale="log", xlabel="width $n$  (alpha = 1)",
            ylabel=r"$\|\Theta_T - \Theta_0\|_F \,/\, \|\Theta_0\|_F$")
    axw.set_title("against width (NTK param., two-point data)", fontsize=10)
    axa.set(xscale="log", yscale="log", xlabel=r"output scale $\alpha$  (width 64, loss / $\alpha^2$)",
            ylabel=r"$\|\Theta_T - \Theta_0\|_F \,/\, \|\Theta_0\|_F$")
    axa.set_title("against alpha (centered model, NTK param.)", fontsize=10)
    for ax in (axw, axa):
        ax.legend(loc="lower left", fontsize=8)
    _width_ticks(axw, STUDY_WIDTHS)
    _width_ticks(axa, ALPHAS)
    return fig


# =============================================================================================
# 3. the two-point picture: the NTK ellipse
# =============================================================================================
ELLIPSE_ALPHAS = tuple(float(a) for a in 10.0 ** np.arange(-1.5, 2.01, 0.25))
ELLIPSE_LR = 0.1
ELLIPSE_STEPS = 150  # time 15
ELLIPSE_EVERY = 3
ELLIPSE_WIDTHS = (32, 64, 128)
#: default seed of the ellipse demo: among seeds 0-7 at width 64 its axes turn the most (about 45 degrees
#: at alpha = 0.03; the others turn 3-23 degrees); change the seed control to see typical runs
ELLIPSE_SEED = 5


def _alpha_index(alpha: float) -> int:
    return int(np.argmin(np.abs(np.log(np.asarray(ELLIPSE_ALPHAS)) - np.log(float(alpha)))))


@functools.lru_cache(maxsize=8)
def ellipse_run(width: int = 64, seed: int = 0) -> dict:
    """One network (``MLP(width, seed)``) trained at every alpha of :data:`ELLIPSE_ALPHAS` at once.

    Centered outputs, alpha-normalized loss, ``lr = 0.1`` for 150 steps (time 15), recorded every 3 steps.
    Returns numpy arrays with the alpha axis second: ``steps`` (R,), ``outputs`` (R, A, 2), ``test`` (R, A, M)
    on :data:`GRID`, ``ntk`` (R, A, 2, 2) (the kernel that drives the outputs), and the kernel-regime
    prediction from the NTK at initialization, ``lin_outputs`` (R, 2) and ``lin_test`` (R, M) (the same for
    every alpha, since all members start from the same network).
    """
    A = len(ELLIPSE_ALPHAS)
    run = sp.train_centered_members(int(width), TWO_X, TWO_Y, seeds=[int(seed)] * A, alphas=ELLIPSE_ALPHAS,
                                    steps=ELLIPSE_STEPS, lr=ELLIPSE_LR, record_every=ELLIPSE_EVERY, x_test=GRID)
    with sp.single_thread():
        Kt = empirical_ntk(MLP(int(width), seed=int(seed)), _GRID_T, TWO_X)
    tr, te = gradient_descent_mse(torch.as_tensor(run.ntk[0, 0]), TWO_Y, run.steps.tolist(), eta=ELLIPSE_LR,
                                  K_test=Kt)
    return {"steps": run.steps, "outputs": run.outputs, "test": run.test_outputs, "ntk": run.ntk,
            "lin_outputs": _np(tr), "lin_test": _np(te), "diverged": run.diverged}


def ellipse_summary(width: int = 64, seed: int = 0, alpha: float = 1.0) -> dict:
    """Numbers behind the ellipse at ``alpha``: NTK relative change, rotation of the top eigenvector (degrees),
    eigenvalues at the start and end, largest distance of the trajectory from the kernel-regime one."""
    r = ellipse_run(width, seed)
    a = _alpha_index(alpha)
    K0, K1 = r["ntk"][0, a], r["ntk"][-1, a]
    lam0, Q0 = sp.modes(torch.as_tensor(K0))
    lam1, Q1 = sp.modes(torch.as_tensor(K1))
    rot = sp.angle_between(Q0[:, 0], Q1[:, 0])
    return {"alpha": ELLIPSE_ALPHAS[a], "ntk_change": float(np.linalg.norm(K1 - K0) / np.linalg.norm(K0)),
            "rotation_deg": min(rot, 180.0 - rot), "lam0": _np(lam0), "lam1": _np(lam1),
            "max_deviation": float(np.abs(r["outputs"][:, a] - r["lin_outputs"]).max())}


@viz.register_demo
class NTKEllipse(viz.Demo):
    """The 2 x 2 NTK of two training points drawn as an ellipse centred on the targets: axes along the
    eigenvectors, lengths proportional to 1/sqrt(eigenvalue). The outputs start at the origin and cross the
    ellipses of the current kernel at right angles. Small alpha: the kernel grows and turns (rich regime);
    large alpha: it stays put and the trajectory follows the kernel-regime prediction."""

    name = "05.ntk_ellipse"
    figsize = (12.0, 5.6)

    def controls(self):
        return {"alpha": viz.alpha_slider(ELLIPSE_ALPHAS[0], min_exp=-1.5, max_exp=2.0, step=0.25),
                "width": viz.width_slider(options=ELLIPSE_WIDTHS, value=64, continuous_update=False),
                "seed": viz.seed_control(ELLIPSE_SEED, max_seed=99),
                "frame": viz.step_control(ELLIPSE_STEPS // ELLIPSE_EVERY, value=ELLIPSE_STEPS // ELLIPSE_EVERY,
                                          description="frame", interval_ms=120)}

    def setup(self, fig):
        ax, axf = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.15]})
        ax.set_title(" ", fontsize=10)
        axf.set_title(" ", fontsize=10)
        self.ax, self.axf = ax, axf
        y = _np(TWO_Y)
        self.y = y
        blue, red, green = viz.COLORS[0], viz.COLORS[1], viz.COLORS[2]
        (self.e0,) = ax.plot([], [], color="#888888", ls="--", lw=1.3, label=r"ellipse of $\Theta_0$ (start)")
        (self.et,) = ax.plot([], [], color=blue, ls="-", lw=2.2, label=r"ellipse of $\Theta_t$ (now)")
        (self.ax1,) = ax.plot([], [], color=blue, ls="-", lw=1.2, label=r"its semi-axes $\sqrt{c/\lambda_i}\,q_i$")
        (self.ax2,) = ax.plot([], [], color=blue, ls=":", lw=1.2)
        (self.level,) = ax.plot([], [], color=blue, ls=(0, (1, 2)), lw=1.0, label="level set through $f_t$")
        (self.lin,) = ax.plot([], [], color=viz.THEORY_COLOR, ls="--", lw=1.3, label="kernel regime (fixed $\\Theta_0$)")
        (self.traj,) = ax.plot([], [], color=red, ls="-", lw=2.0, label="network outputs $f_t$")
        (self.dot,) = ax.plot([], [], "o", color=red, ms=8, mec="black")
        ax.plot([0], [0], "s", color="black", ms=6, label="start (origin)")
        ax.plot([y[0]], [y[1]], "*", color=viz.TARGET_COLOR, ms=15, mec="white", label="targets $y$ (centre)")
        ax.set(xlim=(y[0] - 1.35, y[0] + 1.35), ylim=(y[1] - 1.35, y[1] + 1.35), aspect="equal",
               xlabel=r"$f(x_1)$,  $x_1 = -1.5$", ylabel=r"$f(x_2)$,  $x_2 = 1.0$")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7.5, ncol=2, framealpha=0.9)
        (self.fnet,) = axf.plot(GRID, np.zeros_like(GRID), color=red, ls="-", lw=2.0, label="network")
        (self.flin,) = axf.plot(GRID, np.zeros_like(GRID), color=viz.THEORY_COLOR, ls="--", lw=1.5,
                                label="kernel regime (fixed $\\Theta_0$)")
        axf.plot(_np(TWO_X), y, "X", color=viz.TARGET_COLOR, ms=11, mec="white", mew=1.0, zorder=5, label="targets")
        axf.set(xlim=(GRID[0], GRID[-1]), ylim=(-1.6, 1.6), xlabel="input $x$", ylabel=r"centered output $f_t(x)$")
        axf.legend(loc="lower left", fontsize=8)
        self.info = axf.text(0.98, 0.97, "", transform=axf.transAxes, ha="right", va="top", fontsize=8.5,
                             family="monospace", bbox=dict(facecolor="white", edgecolor="#BBBBBB"))
        # e0 and lin change with the width or seed only; animated too, so a width change is a blit, not a
        # full redraw of this large figure (measured 240 ms -> tens of ms per draw)
        _animate(self.e0, self.lin, self.et, self.ax1, self.ax2, self.level, self.traj, self.dot, self.fnet,
                 self.flin, self.info, ax.title, axf.title)
        self._key = None

    def update(self, alpha=ELLIPSE_ALPHAS[0], width=64, seed=ELLIPSE_SEED, frame=ELLIPSE_STEPS // ELLIPSE_EVERY):
        r = ellipse_run(int(width), int(seed))
        a = _alpha_index(alpha)
        k = int(np.clip(frame, 0, len(r["steps"]) - 1))
        y = self.y
        K0 = r["ntk"][0, a]
        c0 = float(y @ K0 @ y)  # the level through the origin (the start) for the kernel at t = 0
        if self._key != (width, seed):
            self.e0.set_data(*sp.kernel_ellipse(K0, y, c0)["points"].T)
            self.lin.set_data(r["lin_outputs"][:, 0], r["lin_outputs"][:, 1])
            self._key = (width, seed)
        Kt = r["ntk"][k, a]
        E = sp.kernel_ellipse(Kt, y, c0)
        self.et.set_data(*E["points"].T)
        ax1, ax2 = E["axes"][:, 0], E["axes"][:, 1]
        self.ax1.set_data([y[0] - ax1[0], y[0] + ax1[0]], [y[1] - ax1[1], y[1] + ax1[1]])
        self.ax2.set_data([y[0] - ax2[0], y[0] + ax2[0]], [y[1] - ax2[1], y[1] + ax2[1]])
        u = r["outputs"][k, a]
        ct = float((u - y) @ Kt @ (u - y))
        self.level.set_data(*sp.kernel_ellipse(Kt, y, ct)["points"].T if ct > 1e-14 else ([], []))
        self.traj.set_data(r["outputs"][: k + 1, a, 0], r["outputs"][: k + 1, a, 1])
        self.dot.set_data([u[0]], [u[1]])
        self.fnet.set_ydata(r["test"][k, a])
        self.flin.set_ydata(r["lin_test"][k])
        lam0, Q0 = np.linalg.eigh(K0)
        lam0, Q0 = lam0[::-1], Q0[:, ::-1]
        rot = sp.angle_between(Q0[:, 0], E["Q"][:, 0])
        rot = min(rot, 180 - rot)
        rel = np.linalg.norm(Kt - K0) / np.linalg.norm(K0)
        self.info.set_text(f"λ1: {lam0[0]:.2f} → {E['lam'][0]:.2f}\nλ2: {lam0[1]:.2f} → {E['lam'][1]:.2f}\n"
                           f"axes turned {rot:.1f}°\n|Θt-Θ0|/|Θ0| = {rel:.3f}")
        t = r["steps"][k] * ELLIPSE_LR
        regime = "rich regime" if rel > 0.1 else ("kernel regime" if rel < 0.01 else "in between")
        self.ax.title.set_text(f"output space, α = {ELLIPSE_ALPHAS[a]:.3g}, t = {t:.1f}: {regime}")
        self.axf.title.set_text(f"fitted function, ReLU width {width} (NTK param.), seed {seed}")


plot_ntk_ellipse = viz.plot_function(NTKEllipse)


def crossing_angles(width: int = 64, seed: int = 0, alpha: float = 1.0, power: float = 0.5) -> np.ndarray:
    """Angle (degrees) between each recorded output step and the normal of the current kernel's ellipse
    through the current point, for ``power`` 0.5 (level sets of ``u^T Theta u``) or 1 (the blog's 1/lambda)."""
    r = ellipse_run(width, seed)
    a = _alpha_index(alpha)
    u = r["outputs"][:, a] - _np(TWO_Y)
    out = []
    for k in range(len(r["steps"]) - 1):
        d = -(u[k + 1] - u[k])
        if np.linalg.norm(d) < 1e-12 or np.linalg.norm(u[k]) < 1e-9:
            continue
        lam, Q = np.linalg.eigh(r["ntk"][k, a])
        normal = Q @ (lam ** (2 * power) * (Q.T @ u[k]))
        out.append(sp.angle_between(d, normal))
    return np.array(out)


# =============================================================================================
# 5. spectral bias
# =============================================================================================
SPEC_DATA = dict(n=32, fn="sin2", noise=0.0, x_range=(-1.5, 1.5), seed=0)
SPEC_GRID = np.linspace(-1.6, 1.6, 121)
SPEC_WIDTH = 256
SPEC_STEPS = 400
SPEC_EARLY = 40  # by this step (t ~ 6) the low-frequency part is learned


def spectral_components(x) -> np.ndarray:
    """The two parts of the target ``sin(x) + 0.5 sin(4x)`` at inputs ``x``, as columns ``(N, 2)``: low, high."""
    x = _np(x)
    return np.stack([np.sin(x), 0.5 * np.sin(4 * x)], 1)


#: recorded steps of the spectral-bias run: 0, 1, then log-spaced up to SPEC_STEPS
SPEC_RECORD = np.unique(np.r_[0, np.round(np.geomspace(1, SPEC_STEPS, 48))]).astype(int)
SPEC_FRAME = int(np.searchsorted(SPEC_RECORD, 40))  # default frame: step 40 (low part learned, high part not)


@functools.lru_cache(maxsize=2)
def spectral_run(width: int = SPEC_WIDTH, seed: int = 0) -> dict:
    """Section 5: 32 points of ``sin x + 0.5 sin 4x`` on [-1.5, 1.5]; the analytic NTK and its modes; a centered
    ReLU network of ``width`` trained with ``lr = 1/lambda_max`` (of its own NTK) for 400 steps.

    Returns numpy arrays: ``x``, ``y``, ``K``, ``lam``, ``Q``, ``coef`` (Q^T of the two components, (N, 2)),
    ``steps`` (log-spaced records), ``times``, network ``outputs`` (R, N) and ``test`` (R, M) on
    :data:`SPEC_GRID`, the linearized network's prediction ``k_outputs``/``k_test`` (the same gradient-descent
    steps with the network's own NTK at initialization, from 0), the remaining fractions ``rem_net``,
    ``rem_kernel`` and ``rem_infinite`` (with the analytic NTK) (R, 2) of the low and the high component
    (least squares on the residual), the network's NTK ``ntk0``, ``ntk_early`` (step 40) and ``ntk1``
    (the end), and ``lr``.
    """
    x, y = noisy_1d(**SPEC_DATA)
    K = analytic_ntk(x)
    lam, Q = sp.modes(K)
    comps = spectral_components(x)
    with sp.single_thread():
        lr = 1.0 / float(torch.linalg.eigvalsh(empirical_ntk(MLP(int(width), seed=int(seed)), x))[-1])
    run = sp.train_centered_members(int(width), x, y, seeds=[int(seed)], alphas=[1.0], steps=SPEC_STEPS, lr=lr,
                                    record_steps=SPEC_RECORD, x_test=SPEC_GRID,
                                    record_ntk=(0, SPEC_EARLY, SPEC_STEPS))
    t = run.steps * lr
    yn = _np(y)
    out = run.outputs[:, 0]
    K0 = torch.as_tensor(run.ntk[0, 0])
    with sp.single_thread():
        Kt0 = empirical_ntk(MLP(int(width), seed=int(seed)), torch.as_tensor(SPEC_GRID), x)
    # the same gradient-descent steps with the network's NTK at initialization, (I - lr Theta_0)^k from 0:
    # the linearized network (Lee et al. 2019); and with the infinite-width NTK
    k_tr, k_te = gradient_descent_mse(K0, y, run.steps.tolist(), eta=lr, K_test=Kt0)
    inf_tr, _ = gradient_descent_mse(K, y, run.steps.tolist(), eta=lr)
    return {"x": _np(x), "y": yn, "lam": _np(lam), "Q": _np(Q), "coef": _np(Q).T @ comps, "steps": run.steps,
            "times": t, "outputs": out, "test": run.test_outputs[:, 0], "k_outputs": _np(k_tr),
            "k_test": _np(k_te), "rem_net": sp.component_coefficients(comps, yn - out),
            "rem_kernel": sp.component_coefficients(comps, yn - _np(k_tr)),
            "rem_infinite": sp.component_coefficients(comps, yn - _np(inf_tr)), "lr": lr, "K": _np(K),
            "ntk0": run.ntk[0, 0], "ntk_early": run.ntk[1, 0], "ntk1": run.ntk[-1, 0]}


def plot_spectrum(n_vectors: int = 6, figsize=(12.0, 3.8)):
    """The analytic NTK of the 32 training points (ReLU, NTK param.): eigenvalues, the first eigenvectors
    (eigenvector i changes sign i times), and how much of each target component lies along each mode."""
    r = spectral_run()
    fig = viz.new_figure(figsize=figsize)
    axl, axv, axc = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.9, 1.2, 1.0]})
    idx = np.arange(1, len(r["lam"]) + 1)
    axl.semilogy(idx, r["lam"], marker="o", ls="-", color=viz.COLORS[0], ms=4)
    axl.set(xlabel="mode $i$ (eigenvalues descending)", ylabel=r"NTK eigenvalue $\lambda_i$",
            title="spectrum of $\\Theta(X, X)$", xlim=(0, len(idx) + 1))
    order = np.argsort(r["x"])
    xs = r["x"][order]
    for i in range(n_vectors):
        st = viz.series_style(i)
        v = r["Q"][order, i]
        v = v * np.sign(v[-1]) if v[-1] != 0 else v
        axv.plot(xs, v / np.abs(v).max() * 0.42 - i, color=st["color"], ls=st["linestyle"], marker=st["marker"],
                 ms=3, markevery=4, lw=1.5)
        axv.text(xs[-1] + 0.05, -i, f"$q_{{{i + 1}}}$: {sp.sign_changes(xs, v)} sign changes", fontsize=8, va="center")
    axv.set(xlim=(xs[0] - 0.1, xs[-1] + 1.35), yticks=[], xlabel="input $x$",
            title="eigenvectors $Q[:, i]$ (columns), as functions of $x$")
    axv.grid(False)
    n_show = 16
    w = 0.4
    axc.bar(idx[:n_show] - w / 2, np.abs(r["coef"][:n_show, 0]), width=w, color=viz.COLORS[0], label=r"low: $\sin x$")
    axc.bar(idx[:n_show] + w / 2, np.abs(r["coef"][:n_show, 1]), width=w, color=viz.COLORS[1], hatch="//",
            edgecolor="white", label=r"high: $\frac{1}{2}\sin 4x$")
    axc.set(xlabel="mode $i$", ylabel=r"$|q_i^\top v|$ (component $v$ along mode $i$)",
            title="where each part of the target lives")
    axc.legend(fontsize=8)
    return fig


@viz.register_demo
class SpectralBias(viz.Demo):
    """A target with a low and a high frequency: the kernel prediction (dashed: gradient descent with the
    network's NTK at initialization) and the real network (solid) learn sin x long before 0.5 sin 4x,
    because sin x lies along modes with large NTK eigenvalues."""

    name = "05.spectral_bias"
    figsize = (12.0, 4.0)

    def controls(self):
        return {"frame": viz.step_control(len(SPEC_RECORD) - 1, value=SPEC_FRAME, description="frame",
                                          interval_ms=150)}

    def setup(self, fig):
        r = spectral_run()
        self.r = r
        axf, axr = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
        axf.set_title(" ", fontsize=10)
        axr.set_title(" ", fontsize=10)
        self.axf, self.axr = axf, axr
        xs = SPEC_GRID
        axf.plot(xs, np.sin(xs) + 0.5 * np.sin(4 * xs), color="#999999", ls="-", lw=1.0,
                 label="target $\\sin x + \\frac{1}{2}\\sin 4x$")
        (self.fnet,) = axf.plot(xs, np.zeros_like(xs), color=viz.COLORS[1], ls="-", lw=2.0,
                                label=f"network (ReLU, width {SPEC_WIDTH})")
        (self.fk,) = axf.plot(xs, np.zeros_like(xs), color=viz.THEORY_COLOR, ls="--", lw=1.6,
                              label="NTK prediction (its $\\Theta_0$)")
        axf.plot(r["x"], r["y"], "X", color=viz.TARGET_COLOR, ms=6, mec="white", mew=0.6, zorder=5, label="data")
        axf.set(xlim=(xs[0], xs[-1]), ylim=(-1.8, 1.8), xlabel="input $x$", ylabel="output $f_t(x)$")
        axf.legend(loc="lower right", fontsize=7.5)
        t = r["times"]
        for j, lab in enumerate(["low: $\\sin x$", "high: $\\frac{1}{2}\\sin 4x$"]):
            st = viz.series_style(j)
            axr.plot(t[1:], r["rem_kernel"][1:, j], color=st["color"], ls=st["linestyle"], lw=1.8,
                     label=f"{lab}, NTK prediction")
            axr.plot(t[1:], r["rem_net"][1:, j], ls="none", marker=st["marker"], color=st["color"], ms=4,
                     markevery=2, label=f"{lab}, network")
        self.cursor = axr.axvline(t[1], color="black", lw=1.0, ls=":")
        axr.set(xscale="log", xlim=(t[1] * 0.8, t[-1] * 1.25), ylim=(-0.05, 1.05), xlabel=r"time $t = \eta k$",
                ylabel="part of the component not yet learned")
        axr.legend(loc="center left", fontsize=7.5)
        _animate(self.fnet, self.fk, self.cursor, axf.title, axr.title)

    def update(self, frame=SPEC_FRAME):
        r = self.r
        k = int(np.clip(frame, 0, len(r["steps"]) - 1))
        self.fnet.set_ydata(r["test"][k])
        self.fk.set_ydata(r["k_test"][k])
        self.cursor.set_xdata([max(r["times"][k], r["times"][1])] * 2)
        self.axf.title.set_text(f"t = {r['times'][k]:.2f} (step {int(r['steps'][k])}, NTK param.)")
        self.axr.title.set_text(f"remaining: low {r['rem_net'][k, 0]:.2f}, high {r['rem_net'][k, 1]:.2f} (network)")


plot_spectral_bias = viz.plot_function(SpectralBias)
