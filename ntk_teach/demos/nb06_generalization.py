"""Figures and demos of ``notebooks/06_generalization_and_infinite_ensembles.ipynb``.

The computations live in :mod:`ntk_teach.predict` (infinite ensemble, NNGP posterior,
spectral filters, minimum-norm step, learning curves); this module fixes the notebook's data
and sizes, runs the (cached) experiments and draws them.

Every figure uses the reference network (1-D input, two hidden ReLU layers, NTK
parameterization) with ``w_std = 1`` and ``b_std = 1``: with the default ``b_std = 0.1`` the
first-layer kinks sit within about 0.1 of the origin and every function is nearly linear on each
half-line, which makes 1-D regression on [-3, 3] needlessly poor (notebook 00 uses ``b_std = 1``
for the same reason). The loss is the course's ``1/2 * sum (f - y)^2``; times are gradient-flow
times ``t`` with ``eta = 1`` unless a learning rate is stated.

Demos (``viz.registered_demos()`` names):

* ``06.kernel_regression_in_time``: infinitely wide nets trained in closed form, time on a slider.
* ``06.ensemble_vs_bayes``: the infinite ensemble (all layers trained) against the Bayesian posterior.
* ``06.finite_ensembles``: Jacot et al.'s Figure 2 at CPU scale (width and training step on sliders).
* ``06.min_norm``: gradient descent on the linearized model ends at the interpolant closest to ``w_0``.
* ``06.learning_curves``: test error against the number of training points.
* ``06.early_stopping_vs_ridge``: early stopping regularizes like a ridge of ``1 / (eta t)``.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from matplotlib.ticker import NullLocator

from .. import viz
from ..data import noisy_1d
from ..dynamics import Ensemble, kernel_regression, train
from ..empirical import jacobian
from ..gp import sample_gp
from ..kernels import analytic_nngp, analytic_ntk
from ..lazy import linearize, parameter_vector
from ..nets import MLP
from ..predict import (
    ensemble_predictive,
    gd_filter,
    learning_curve,
    matched_ridge,
    min_norm_step,
    noise_gain,
    ridge_filter,
    single_threaded,
    transfer_matrix,
)
from ..stats import fit_loglog

#: Architecture of every kernel and network in the notebook (NTK parameterization).
KERNEL = dict(depth=2, activation="relu", w_std=1.0, b_std=1.0)
#: The small regression task of sections 1-4: five inputs, noiseless targets sin(x).
X_TRAIN = torch.tensor([-2.5, -1.2, 0.3, 1.4, 2.6], dtype=torch.float64)
Y_TRAIN = torch.sin(X_TRAIN)
#: Test inputs of sections 1-4 (a little beyond the data on both sides).
X_TEST = torch.linspace(-3.5, 3.5, 141, dtype=torch.float64)
#: Band of +-2 standard deviations (95.4 % of a Gaussian).
BAND = 2.0
#: 10th / 90th percentile of a standard normal: the band of Jacot et al.'s Figure 2.
Z90 = 1.2815515655446004

_C_TRAIN = dict(color=viz.TARGET_COLOR, marker="x", linestyle="none", markersize=9, markeredgewidth=2.2, zorder=6)
_PARAM = "NTK param., ReLU, depth 2, $b_{std}=1$"
#: The same in plain text, for titles that change on every update (mathtext makes blitted redraws slower).
_PARAM_PLAIN = "NTK param., ReLU, depth 2, b_std = 1"


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


# =============================================================================================
# Kernels of the small task
# =============================================================================================
@functools.lru_cache(maxsize=None)
def task_kernels() -> dict:
    """NNGP ``K`` and NTK ``Theta`` on the training and test inputs of sections 1-4 (float64 tensors)."""
    with single_threaded():
        K = analytic_nngp(X_TRAIN, **KERNEL)
        Ks = analytic_nngp(X_TEST, X_TRAIN, **KERNEL)
        Kss = analytic_nngp(X_TEST, **KERNEL)
        T = analytic_ntk(X_TRAIN, **KERNEL)
        Ts = analytic_ntk(X_TEST, X_TRAIN, **KERNEL)
    lam = torch.linalg.eigvalsh(T)
    return dict(K=K, Ks=Ks, Kss=Kss, T=T, Ts=Ts, lam=lam)


def ntk_prediction(t=math.inf, regime: str = "ntk", **kw):
    """The infinite ensemble on ``X_TEST`` at time ``t`` (``regime="nngp"``: readout layer only)."""
    k = task_kernels()
    T, Ts = (k["T"], k["Ts"]) if regime == "ntk" else (k["K"], k["Ks"])
    with single_threaded():
        return ensemble_predictive(T, Ts, k["K"], k["Ks"], k["Kss"], Y_TRAIN, t, **kw)


@functools.lru_cache(maxsize=None)
def bayes_posterior():
    """The Bayesian posterior (NNGP prior, no observation noise) on ``X_TEST``, via ``ntk_teach.gp_posterior``."""
    from ..gp import gp_posterior

    k = task_kernels()
    return gp_posterior(k["K"], k["Ks"], k["Kss"], Y_TRAIN)


# =============================================================================================
# 1. Infinitely wide networks trained in closed form
# =============================================================================================
N_SAMPLES = 5


@functools.lru_cache(maxsize=64)
def initial_outputs(seed: int = 0, n: int = N_SAMPLES):
    """``n`` draws of the outputs of infinitely wide nets at initialization: ``(f_0(X_TEST), f_0(X_TRAIN))``.

    Drawn jointly from the NNGP, ``N(0, K)`` on the test and training inputs together.
    """
    k = task_kernels()
    joint = torch.cat([torch.cat([k["Kss"], k["Ks"]], 1), torch.cat([k["Ks"].T, k["K"]], 1)], 0)
    f = sample_gp(joint, n, seed=seed)
    M = X_TEST.shape[0]
    return f[:, :M], f[:, M:]


def trained_infinite_nets(t, seed: int = 0):
    """Test outputs ``(n, M)`` and training outputs ``(n, N)`` of the sampled infinite nets at time ``t``.

    ``f_t(x*) = f_0(x*) + A_t (Y - f_0(X))`` with ``A_t = Theta*X Theta^{-1} (I - e^{-Theta t})`` (eta = 1).
    For a 1-D array of times the outputs get a leading time axis.
    """
    k = task_kernels()
    f0s, f0 = initial_outputs(seed)
    r = Y_TRAIN[None, :] - f0
    A = transfer_matrix(k["T"], k["Ts"], t)
    A_tr = transfer_matrix(k["T"], k["T"], t)
    return f0s + torch.einsum("...mn,en->...em", A, r), f0 + torch.einsum("...mn,en->...em", A_tr, r)


@functools.lru_cache(maxsize=64)
def infinite_net_losses(seed: int = 0, times: tuple = tuple(np.logspace(-2, 2.5, 91))) -> np.ndarray:
    """Training loss ``1/2 sum (f_t - y)^2`` of each sampled infinite net at ``times``: ``(T, n)``."""
    _, ftr = trained_infinite_nets(torch.as_tensor(times, dtype=torch.float64), seed)
    return _np(0.5 * ((ftr - Y_TRAIN) ** 2).sum(-1))


@viz.register_demo
class KernelRegressionInTime(viz.Demo):
    """Five infinitely wide networks (drawn from the NNGP at initialization) trained by gradient flow,
    in closed form, up to time t; their mean (solid black) and the t -> infinity limit, NTK kernel
    regression (dashed). Right: the training loss 1/2 sum (f - y)^2 of each net against time."""

    name = "06.kernel_regression_in_time"
    figsize = (9.6, 3.5)
    TIMES = np.logspace(-2, 2.5, 91)

    def controls(self):
        return {"t": viz.log_slider("time t", 0.1, -2, 2, step=0.25), "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        x = _np(X_TEST)
        self.nets = [self.ax.plot(x, np.zeros_like(x), lw=1.1, alpha=0.8, **viz.series_style(k, marker=False))[0]
                     for k in range(N_SAMPLES)]
        k = task_kernels()
        limit = _np(kernel_regression(k["T"], k["Ts"], Y_TRAIN))
        (self.mean,) = self.ax.plot(x, np.zeros_like(x), color="black", lw=2.6, label="mean of the ensemble at $t$")
        self.ax.plot(x, limit, color="black", ls="--", lw=1.6, label=r"$t\to\infty$: $\Theta(x,X)\Theta^{-1}Y$")
        self.ax.plot(_np(X_TRAIN), _np(Y_TRAIN), label="training data", **_C_TRAIN)
        self.ax.set(xlabel="input $x$", ylabel="output $f_t(x)$", xlim=(-3.5, 3.5), ylim=(-3.2, 3.2))
        self.ax.legend(loc="lower right", fontsize=8)
        self.loss_lines = [self.ax2.plot(self.TIMES, np.ones_like(self.TIMES), lw=1.1, alpha=0.8,
                                         **viz.series_style(k, marker=False))[0] for k in range(N_SAMPLES)]
        self.marker = self.ax2.axvline(1.0, color="black", lw=1.2, ls=":")
        self.ax2.set(xscale="log", yscale="log", xlabel=r"time $t$ ($\eta = 1$)",
                     ylabel=r"training loss $\frac{1}{2}\sum_i (f_t(x_i) - y_i)^2$", ylim=(1e-8, 1e2))
        self.ax2.set_title("each net: loss against time", fontsize=9.5)
        self.ax.set_title(" ", fontsize=9.5)
        viz.animate(*self.nets, self.mean, *self.loss_lines, self.marker, self.ax.title)

    def update(self, t=0.1, seed=0):
        seed = int(seed)
        fs, _ = trained_infinite_nets(float(t), seed)
        for line, f in zip(self.nets, _np(fs)):
            line.set_ydata(f)
        self.mean.set_ydata(_np(ntk_prediction(float(t), compute_cov=False).mean))
        loss = infinite_net_losses(seed, tuple(self.TIMES))
        for k, line in enumerate(self.loss_lines):
            line.set_ydata(np.maximum(loss[:, k], 1e-12))
        self.marker.set_xdata([t, t])
        self.ax.title.set_text(f"infinitely wide nets trained to t = {t:.3g} ({_PARAM_PLAIN})")


plot_kernel_regression_in_time = viz.plot_function(KernelRegressionInTime)


# =============================================================================================
# 2. The infinite ensemble against the Bayesian posterior
# =============================================================================================
def _band_verts(x, lo, hi):
    """Polygon of the region between ``lo`` and ``hi`` (to update a fill_between in place)."""
    return [np.concatenate([np.c_[x, lo], np.c_[x[::-1], hi[::-1]]])]


@viz.register_demo
class EnsembleVsBayes(viz.Demo):
    """Left: the infinite ensemble of networks with all layers trained (NTK) at time t, mean and
    +-2 std band; the dotted lines are the Bayesian posterior's mean +-2 std. Right: the same
    with only the readout layer trained: at t -> infinity it becomes exactly the Bayesian posterior."""

    name = "06.ensemble_vs_bayes"
    figsize = (9.6, 3.6)

    def controls(self):
        return {"t": viz.log_slider("time t", 1e4, -2, 4, step=0.25)}

    def setup(self, fig):
        self.axes = fig.subplots(1, 2, sharey=True)
        x = _np(X_TEST)
        post = bayes_posterior()
        pm, ps = _np(post.mean), _np(post.std)
        self.mean_lines, self.bands = [], []
        titles = ["all layers trained (NTK ensemble)", "readout layer only (NNGP ensemble)"]
        for i, ax in enumerate(self.axes):
            c = viz.COLORS[i]
            (m,) = ax.plot(x, np.zeros_like(x), color=c, lw=2.2, ls=viz.LINESTYLES[i], label="ensemble mean at $t$")
            self.mean_lines.append(m)
            ax.plot(x, pm, color="black", lw=1.3, ls=":", label=r"Bayesian posterior mean $\pm 2$ std")
            ax.plot(x, pm + BAND * ps, color="black", lw=1.0, ls=":")
            ax.plot(x, pm - BAND * ps, color="black", lw=1.0, ls=":")
            ax.plot(_np(X_TRAIN), _np(Y_TRAIN), label="training data", **_C_TRAIN)
            self.bands.append(ax.fill_between(x, -np.ones_like(x), np.ones_like(x), color=c, alpha=0.25, linewidth=0,
                                              label=r"ensemble $\pm 2$ std at $t$"))
            ax.set(xlabel="input $x$", xlim=(-3.5, 3.5), ylim=(-3.2, 3.2))
            ax.set_title(titles[i], fontsize=9.5)
            ax.legend(loc="lower left", fontsize=7.5)
        self.axes[0].set_ylabel("output $f_t(x)$")
        self.x = x
        self.suptitle = fig.suptitle(" ", fontsize=10)
        viz.animate(*self.mean_lines, *self.bands, self.suptitle)

    def update(self, t=1e4):
        for i, regime in enumerate(("ntk", "nngp")):
            g = ntk_prediction(float(t), regime=regime)
            m, s = _np(g.mean), _np(g.std)
            self.mean_lines[i].set_ydata(m)
            self.bands[i].set_verts(_band_verts(self.x, m - BAND * s, m + BAND * s))
        self.suptitle.set_text(f"infinite ensembles at t = {t:.3g} (η = 1; {_PARAM_PLAIN})")


plot_ensemble_vs_bayes = viz.plot_function(EnsembleVsBayes)


# =============================================================================================
# 3. Finite ensembles against the analytic prediction (Jacot et al. 2018, Figure 2, at CPU scale)
# =============================================================================================
ENSEMBLE_WIDTHS = (16, 32, 64, 128, 256)
N_NETS = 16
STEPS = 200
RECORD_EVERY = 10
ENSEMBLE_SEED = 0


def gd_learning_rate() -> float:
    """``eta = 1 / lambda_max(Theta(X, X))``: half the largest stable step of gradient descent."""
    return float(1.0 / task_kernels()["lam"][-1])


@functools.lru_cache(maxsize=None)
def ensemble_run(width: int) -> dict:
    """Train ``N_NETS`` reference nets of ``width`` (seeds 0..N_NETS-1) by full-batch gradient descent.

    ``STEPS`` steps of size :func:`gd_learning_rate` on ``(X_TRAIN, Y_TRAIN)``, test outputs on
    ``X_TEST`` recorded every ``RECORD_EVERY`` steps. Returns ``steps`` (R,), ``test`` (R, E, M),
    ``train`` (R, E, N) as numpy arrays, and ``deviation`` (E,): for each net, the RMS over the test
    inputs of its trained output minus the infinite-width prediction *from its own initial outputs*,
    ``f_0(x*) + A_K (Y - f_0(X))`` with the analytic NTK (``A_K`` after ``K = STEPS`` steps).
    """
    width = int(width)
    eta = gd_learning_rate()
    with single_threaded():
        ens = Ensemble(N_NETS, width, seed=ENSEMBLE_SEED, **KERNEL)
        res = train(ens, X_TRAIN, Y_TRAIN, lr=eta, steps=STEPS, record_every=RECORD_EVERY, x_test=X_TEST)
    if res.diverged:
        raise RuntimeError(f"ensemble of width {width} diverged at lr {eta:.3g}")
    k = task_kernels()
    A = transfer_matrix(k["T"], k["Ts"], steps=STEPS, eta=eta)
    f0s, f0 = res.test_outputs[0], res.outputs[0]
    own_init = f0s + (Y_TRAIN[None, :] - f0) @ A.T
    dev = torch.sqrt(((res.test_outputs[-1] - own_init) ** 2).mean(-1))
    return dict(steps=res.steps, test=_np(res.test_outputs), train=_np(res.outputs), deviation=_np(dev))


@functools.lru_cache(maxsize=None)
def analytic_run() -> dict:
    """The infinite ensemble after each recorded step of gradient descent: ``mean``, ``std`` (R, M)."""
    eta = gd_learning_rate()
    steps = np.arange(0, STEPS + 1, RECORD_EVERY)
    g = ntk_prediction(steps=torch.as_tensor(steps, dtype=torch.float64), eta=eta)
    return dict(steps=steps, mean=_np(g.mean), std=_np(g.std))


@functools.lru_cache(maxsize=None)
def width_scan(n_boot: int = 400, seed: int = 0) -> dict:
    """Deviation of trained nets from the infinite-width prediction, for every width in ``ENSEMBLE_WIDTHS``.

    ``rms`` (per width, over nets), the log-log ``fit`` (``ntk_teach.stats.Fit``) of rms against width,
    and ``boot_se``: the standard error of the slope from resampling the nets of each width
    (``n_boot`` bootstrap resamples).
    """
    widths = np.array(ENSEMBLE_WIDTHS)
    devs = [ensemble_run(int(w))["deviation"] for w in widths]
    rms = np.array([np.sqrt((d**2).mean()) for d in devs])
    fit = fit_loglog(widths, rms)
    rng = np.random.default_rng(seed)
    slopes = []
    for _ in range(n_boot):
        r = [np.sqrt((d[rng.integers(0, d.size, d.size)] ** 2).mean()) for d in devs]
        slopes.append(fit_loglog(widths, r).slope)
    return dict(widths=widths, rms=rms, fit=fit, boot_se=float(np.std(slopes, ddof=1)))


@viz.register_demo
class FiniteEnsembles(viz.Demo):
    """Left: 16 networks of the chosen width trained by gradient descent (thin lines), their mean
    (solid), and the infinite-width prediction: mean (dashed black) and 10-90 % band (grey), as in
    Jacot et al.'s Figure 2. Scrub the training with the step slider. Right: how far each trained net
    ends from the infinite-width prediction started from its own initial outputs, against the width."""

    name = "06.finite_ensembles"
    figsize = (9.6, 3.7)

    def controls(self):
        value = 64 if 64 in ENSEMBLE_WIDTHS else None
        return {"width": viz.width_slider(options=ENSEMBLE_WIDTHS, value=value, continuous_update=False),
                "step": viz.step_control(STEPS, value=STEPS, step=RECORD_EVERY, interval_ms=200)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        x = _np(X_TEST)
        self.x = x
        self.band = self.ax.fill_between(x, -np.ones_like(x), np.ones_like(x), color="#999999", alpha=0.35,
                                         linewidth=0, label=r"width $\infty$: 10-90 % band", zorder=0)
        self.nets = [self.ax.plot(x, np.zeros_like(x), color=viz.COLORS[0], lw=0.7, alpha=0.45)[0]
                     for _ in range(N_NETS)]
        self.nets[0].set_label(f"{N_NETS} trained nets")
        (self.mean,) = self.ax.plot(x, np.zeros_like(x), color=viz.COLORS[1], lw=2.4, ls="-",
                                    label="their mean")
        (self.amean,) = self.ax.plot(x, np.zeros_like(x), color="black", lw=1.8, ls="--",
                                     label=r"width $\infty$: mean")
        self.ax.plot(_np(X_TRAIN), _np(Y_TRAIN), label="training data", **_C_TRAIN)
        self.ax.set(xlabel="input $x$", ylabel="output $f(x)$", xlim=(-3.5, 3.5), ylim=(-4.5, 4.5))
        self.ax.legend(loc="lower left", fontsize=7.5, ncol=2)
        self.ax.set_title(" ", fontsize=9.5)
        scan = width_scan()
        self.ax2.plot(scan["widths"], scan["rms"], **{**viz.series_style(0), "linestyle": "none"},
                      label="RMS over nets")
        fit = scan["fit"]
        ws = np.array([ENSEMBLE_WIDTHS[0], ENSEMBLE_WIDTHS[-1]], dtype=float)
        self.ax2.plot(ws, fit.predict(ws), color=viz.COLORS[0], ls="--",
                      label=f"fit: slope {fit.slope:+.2f} ± {scan['boot_se']:.2f}")
        self.ax2.plot(ws, scan["rms"][0] * (ws / ws[0]) ** -0.5, color="black", ls=":",
                      label="slope $-1/2$ (large-width theory)")
        (self.here,) = self.ax2.plot([], [], "o", ms=13, mfc="none", mec=viz.COLORS[1], mew=2.2)
        self.ax2.set(xscale="log", yscale="log", xlabel="width $n$",
                     ylabel="RMS of $f_{trained} - f_{\\infty}$ (own init)")
        self.ax2.set_xticks(ENSEMBLE_WIDTHS, [str(w) for w in ENSEMBLE_WIDTHS])
        self.ax2.xaxis.set_minor_locator(NullLocator())
        self.ax2.legend(loc="lower left", fontsize=7.5)
        self.ax2.set_title("distance to the infinite-width prediction", fontsize=9.5)
        viz.animate(*self.nets, self.mean, self.amean, self.band, self.here, self.ax.title)

    def update(self, width=64, step=STEPS):
        run = ensemble_run(int(width))
        ana = analytic_run()
        i = int(np.clip(round(int(step) / RECORD_EVERY), 0, len(run["steps"]) - 1))
        for line, f in zip(self.nets, run["test"][i]):
            line.set_ydata(f)
        self.mean.set_ydata(run["test"][i].mean(0))
        m, s = ana["mean"][i], ana["std"][i]
        self.amean.set_ydata(m)
        self.band.set_verts(_band_verts(self.x, m - Z90 * s, m + Z90 * s))
        scan = width_scan()
        j = ENSEMBLE_WIDTHS.index(int(width))
        self.here.set_data([width], [scan["rms"][j]])
        self.ax.title.set_text(f"width {width}, step {int(run['steps'][i])} of {STEPS} "
                               f"(η = 1/λ_max; {_PARAM_PLAIN})")


plot_finite_ensembles = viz.plot_function(FiniteEnsembles)


# =============================================================================================
# 4. The minimum-norm view
# =============================================================================================
MIN_NORM_WIDTH = 32
MIN_NORM_STEPS = 250
MIN_NORM_RECORD = 10
#: learning rate of the minimum-norm runs, in units of 1 / lambda_max(J J^T) (stable below 2)
MIN_NORM_LR = 1.5
MIN_NORM_SEED = 3
#: The second start is w_0 + c n, with n in the null space of J chosen to move f_lin at this input ...
MIN_NORM_PROBE = 2.0
#: ... by this much (c = MIN_NORM_SHIFT / |P_null J(MIN_NORM_PROBE)|).
MIN_NORM_SHIFT = 0.6


@functools.lru_cache(maxsize=None)
def min_norm_run() -> dict:
    """Gradient descent on the linearized reference net (width 32) from ``w_0`` and from ``w_0 + c n``.

    ``n`` is the unit vector in the null space of the Jacobian ``J = df(X)/dw`` at ``w_0`` along which
    the output at ``x = MIN_NORM_PROBE`` changes fastest (so both starts have the same outputs on the
    training inputs), and ``c`` moves that output by ``MIN_NORM_SHIFT``. Returns the parameter paths
    ``w1``, ``w2`` (R, P), ``w0``, ``w_star = w_0 + J^+ (Y - f_0(X))``, ``n``, the outputs on
    ``X_TEST`` (R, M) of both runs, ``Jn_test = J(X_TEST) n`` (M,), the learning rate, the recorded
    ``steps``, the predicted distance ``||w_k - w*||`` from the eigen-decomposition of ``J J^T``, and
    the limit ``f_0(x*) + Theta(x*, X) Theta^{-1} (Y - f_0(X))`` with the empirical NTK.
    The learning rate is ``eta = MIN_NORM_LR / lambda_max(J J^T)``.
    """
    with single_threaded():
        model = MLP(MIN_NORM_WIDTH, seed=MIN_NORM_SEED, **KERNEL)
        J = jacobian(model, X_TRAIN)
        w0 = parameter_vector(model)
        with torch.no_grad():
            f0, f0s = model(X_TRAIN), model(X_TEST)
        r = Y_TRAIN - f0
        dw = min_norm_step(J, r)
        lam, U = torch.linalg.eigh(J @ J.T)
        eta = float(MIN_NORM_LR / lam[-1])
        # the null-space direction that changes the output at x = MIN_NORM_PROBE the most
        g = jacobian(model, torch.tensor([MIN_NORM_PROBE], dtype=torch.float64))[0]
        n = g - J.T @ torch.linalg.solve(J @ J.T, J @ g)
        c = MIN_NORM_SHIFT / float(n.norm())  # moves f_lin(MIN_NORM_PROBE) by MIN_NORM_SHIFT
        n = n / n.norm()
        runs = []
        for shift in (0.0, c):
            lin = linearize(model)
            if shift:
                with torch.no_grad():
                    off = 0
                    for p in lin.theta:
                        p.add_(shift * n[off: off + p.numel()].view_as(p))
                        off += p.numel()
            names = tuple(name for name, _ in lin.named_parameters())
            res = train(lin, X_TRAIN, Y_TRAIN, lr=eta, steps=MIN_NORM_STEPS, record_every=MIN_NORM_RECORD,
                        x_test=X_TEST, record_params=names)
            W = torch.cat([res.params[name].reshape(len(res.steps), -1) for name in names], 1)
            runs.append((W, res.test_outputs))
    steps = torch.as_tensor(res.steps, dtype=torch.float64)
    coef2 = (U.T @ r) ** 2 / lam  # squared coordinates of w0 - w* along the right singular vectors
    predicted = torch.sqrt(((1.0 - eta * lam)[None, :] ** (2 * steps[:, None]) * coef2[None, :]).sum(1))
    J_test = jacobian(model, X_TEST)
    Th, Ths = J @ J.T, J_test @ J.T
    limit = f0s + Ths @ torch.linalg.solve(Th, r)
    return dict(w0=w0, w_star=w0 + dw, n=n, c=c, J=J, eta=eta, steps=res.steps, w1=runs[0][0], w2=runs[1][0],
                out1=runs[0][1], out2=runs[1][1], predicted_distance=predicted, limit=limit, f0=f0,
                Jn_test=J_test @ n)


@viz.register_demo
class MinNorm(viz.Demo):
    """Gradient descent on the linearized network from two starts with the same outputs on the training
    inputs (w_0, and w_0 moved along the null space n of the training Jacobian J). Left: the parameters
    in the plane of u = (w* - w_0)/|w* - w_0| and n; the vertical line is the set of interpolants
    w* + s n. Each run goes straight to the interpolant closest to its start. Middle: distance from
    the minimum-norm solution w* = w_0 + J^+(y - f_0). Right: the two functions: equal on the data at
    every step, different elsewhere by c J(x) n."""

    name = "06.min_norm"
    figsize = (10.0, 3.4)

    def controls(self):
        return {"step": viz.step_control(MIN_NORM_STEPS, value=MIN_NORM_STEPS, step=MIN_NORM_RECORD,
                                         interval_ms=120)}

    def setup(self, fig):
        self.ax, self.ax2, self.ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.25]})
        run = min_norm_run()
        u = run["w_star"] - run["w0"]
        self.d = float(u.norm())
        self.u = u / self.d
        self.coords = []
        for W in (run["w1"], run["w2"]):
            D = W - run["w0"]
            self.coords.append((_np(D @ self.u) / self.d, _np(D @ run["n"]) / self.d))
        c = run["c"] / self.d
        self.ax.axvline(1.0, color="black", lw=1.4, ls="--", label="interpolants $w^* + s\\,n$")
        self.paths, self.heads = [], []
        for i, (a, b) in enumerate(self.coords):
            st = viz.series_style(i)
            (p,) = self.ax.plot(a[:1], b[:1], color=st["color"], ls=st["linestyle"], lw=1.8,
                                label=["start $w_0$", "start $w_0 + c\\,n$"][i])
            (h,) = self.ax.plot(a[:1], b[:1], marker=st["marker"], color=st["color"], ms=8, ls="none")
            self.ax.plot(a[0], b[0], marker="o", mfc="white", mec=st["color"], ms=8, ls="none")
            self.paths.append(p)
            self.heads.append(h)
        self.ax.set(xlabel=r"$u \cdot (w - w_0) / |w^* - w_0|$", ylabel=r"$n \cdot (w - w_0) / |w^* - w_0|$",
                    xlim=(-0.15, 1.35), ylim=(-0.2 * max(c, 1), 1.6 * max(c, 1)))
        self.ax.legend(loc="upper left", fontsize=7)
        self.ax.set_title("parameter plane (u, n)", fontsize=9.5)
        steps = run["steps"]
        dist1 = _np((run["w1"] - run["w_star"]).norm(dim=1)) / self.d
        self.ax2.semilogy(steps, np.maximum(dist1, 1e-16), **viz.series_style(0, markevery=4),
                          label=r"$|w_k - w^*|$ (run 1)")
        self.ax2.semilogy(steps, _np(run["predicted_distance"]) / self.d, color="black", ls=":", lw=1.5,
                          label=r"theory $|(I-\eta J^TJ)^k (w_0 - w^*)|$")
        null1 = np.abs(_np((run["w1"] - run["w0"]) @ run["n"])) / self.d
        self.ax2.semilogy(steps, np.maximum(null1, 1e-17), **viz.series_style(2, markevery=4),
                          label=r"$|n \cdot (w_k - w_0)|$ (run 1)")
        self.vline = self.ax2.axvline(0, color="black", lw=1.0)
        self.ax2.set(xlabel="gradient-descent step $k$", ylabel=r"distance / $|w^* - w_0|$", ylim=(1e-18, 3))
        self.ax2.legend(loc="center right", fontsize=7)
        self.ax2.set_title("run 1 converges to $w^*$", fontsize=9.5)
        x = _np(X_TEST)
        (self.f1,) = self.ax3.plot(x, _np(run["out1"][0]), **viz.series_style(0, marker=False), label="run 1")
        (self.f2,) = self.ax3.plot(x, _np(run["out2"][0]), color=viz.COLORS[1], ls=(0, (2, 3)), lw=2.2,
                                   label="run 2")
        self.ax3.plot(x, _np(run["limit"]), color="black", ls=":", lw=1.4,
                      label=r"run 1 limit $f_0 + \hat\Theta(x,X)\hat\Theta^{-1}(Y - f_0)$")
        self.ax3.plot(_np(X_TRAIN), _np(Y_TRAIN), **_C_TRAIN)
        self.ax3.set(xlabel="input $x$", ylabel=r"$f_{lin}(x; w_k)$", xlim=(-3.5, 3.5), ylim=(-3, 3))
        self.ax3.legend(loc="lower right", fontsize=7)
        self.ax3.set_title(" ", fontsize=9.5)
        viz.animate(*self.paths, *self.heads, self.vline, self.f1, self.f2, self.ax3.title)

    def update(self, step=MIN_NORM_STEPS):
        run = min_norm_run()
        i = int(np.clip(round(int(step) / MIN_NORM_RECORD), 0, len(run["steps"]) - 1))
        for (a, b), p, h in zip(self.coords, self.paths, self.heads):
            p.set_data(a[: i + 1], b[: i + 1])
            h.set_data(a[i: i + 1], b[i: i + 1])
        self.vline.set_xdata([run["steps"][i]] * 2)
        self.f1.set_ydata(_np(run["out1"][i]))
        self.f2.set_ydata(_np(run["out2"][i]))
        self.ax3.title.set_text(f"step {int(run['steps'][i])}: linearized net, width {MIN_NORM_WIDTH}, NTK param.")


plot_min_norm = viz.plot_function(MinNorm)


# =============================================================================================
# 5. Generalization: learning curves, early stopping and ridge
# =============================================================================================
LC_SIZES = (8, 16, 32, 64, 128, 256)
LC_NOISES = (0.0, 0.1, 0.3)
LC_DRAWS = 4
LC_FIT_FROM = 32


@functools.lru_cache(maxsize=None)
def learning_curves(noise: float = 0.0) -> dict:
    """``ntk_teach.predict.learning_curve`` on the grid design (sin on [-3, 3], 200 test points), geometric
    means over ``LC_DRAWS`` label-noise draws, and log-log fits over ``n >= LC_FIT_FROM``."""
    lc = learning_curve(LC_SIZES, noise=float(noise), design="grid", n_draws=LC_DRAWS, n_test=200, **KERNEL)
    out = {"n": lc["n"], "raw": lc}
    sel = lc["n"] >= LC_FIT_FROM
    for key in ("ntk_mean", "ntk_ensemble", "nngp_mean"):
        gm = np.exp(np.log(lc[key]).mean(1))
        out[key] = gm
        out[key + "_fit"] = fit_loglog(lc["n"][sel], gm[sel])
    return out


@functools.lru_cache(maxsize=None)
def noise_gains() -> np.ndarray:
    """``predict.noise_gain`` of NTK interpolation on the grid design, for each size in ``LC_SIZES``."""
    xs = torch.linspace(-3.0, 3.0, 200, dtype=torch.float64)
    out = []
    with single_threaded():
        for n in LC_SIZES:
            x = torch.linspace(-3.0, 3.0, n, dtype=torch.float64)
            out.append(noise_gain(analytic_ntk(x, **KERNEL), analytic_ntk(xs, x, **KERNEL)))
    return np.array(out)


_LC_LABELS = {"ntk_mean": r"NTK regression ($t=\infty$ ensemble mean)",
              "ntk_ensemble": "one net from the NTK ensemble (bias$^2$ + variance)",
              "nngp_mean": "Bayesian posterior mean (NNGP, true noise)"}


@viz.register_demo
class LearningCurves(viz.Demo):
    """Test error (against the noiseless target sin x) of infinitely wide networks trained on n evenly
    spaced noisy points of [-3, 3], against n; fitted slopes over n >= 32 in the legend."""

    name = "06.learning_curves"
    figsize = (6.8, 3.9)

    def controls(self):
        return {"noise": viz.choice("noise", LC_NOISES, value=0.0, buttons=True)}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        n = np.array(LC_SIZES, dtype=float)
        self.lines = {}
        for i, key in enumerate(_LC_LABELS):
            (self.lines[key],) = self.ax.plot(n, np.ones_like(n), **viz.series_style(i))
        (self.floor,) = self.ax.plot(n, np.ones_like(n), color="black", ls=":", lw=1.2,
                                     label=r"noise variance $\sigma^2$ (when $\sigma > 0$)")
        self.ax.set(xscale="log", yscale="log", xlabel="number of training points $n$",
                    ylabel=r"test MSE vs $\sin x$", ylim=(1e-15, 3))
        self.ax.set_xticks(LC_SIZES, [str(s) for s in LC_SIZES])
        self.ax.set_title(" ", fontsize=9.5)
        # three noise levels only, and the legend's slopes change with each: full redraws (no blitting) here

    def update(self, noise=0.0):
        lc = learning_curves(float(noise))
        for key, line in self.lines.items():
            line.set_ydata(lc[key])
            fit = lc[key + "_fit"]
            line.set_label(f"{_LC_LABELS[key]}: slope {fit.slope:+.2f}")
        self.floor.set_ydata(np.full(len(LC_SIZES), noise**2 if noise > 0 else np.nan))
        self.ax.legend(loc="upper right", fontsize=7.5, title="slopes fitted over n ≥ 32", title_fontsize=7.5)
        self.ax.title.set_text(f"learning curves, label noise σ = {noise:g} ({_PARAM_PLAIN})")


plot_learning_curves = viz.plot_function(LearningCurves)

#: Noisy data of the early-stopping section: 20 random inputs in [-3, 3], sin(x) + 0.3 N(0, 1).
ES_N, ES_NOISE, ES_SEED = 20, 0.3, 0
ES_TIMES = np.logspace(-2, 4, 49)


@functools.lru_cache(maxsize=None)
def early_stopping_data() -> dict:
    """Kernels, data and test errors of the early-stopping section (gradient flow, eta = 1).

    ``err_gd[j]``: test MSE (vs sin x on 200 points of [-3, 3]) of the ensemble mean at time
    ``ES_TIMES[j]``; ``err_ridge[j]``: of kernel ridge regression with the matched ridge ``1/t``;
    ``err_inf``: of the interpolant (t = inf, ridge 0); ``pred_gd``, ``pred_ridge`` (T, M) the predictions.
    """
    x, y = noisy_1d(ES_N, fn="sin", noise=ES_NOISE, seed=ES_SEED)
    xs = torch.linspace(-3.0, 3.0, 200, dtype=torch.float64)
    ys = torch.sin(xs)
    with single_threaded():
        T, Ts = analytic_ntk(x, **KERNEL), analytic_ntk(xs, x, **KERNEL)
        pred_gd = transfer_matrix(T, Ts, torch.as_tensor(ES_TIMES)) @ y  # (T, M)
        pred_ridge = torch.stack([kernel_regression(T, Ts, y, ridge=matched_ridge(t)) for t in ES_TIMES])
        pred_inf = kernel_regression(T, Ts, y)
    lam = torch.linalg.eigvalsh(T)
    err = lambda p: _np(((p - ys) ** 2).mean(-1))  # noqa: E731
    return dict(x=x, y=y, xs=xs, ys=ys, T=T, Ts=Ts, lam=lam, pred_gd=pred_gd, pred_ridge=pred_ridge,
                pred_inf=pred_inf, err_gd=err(pred_gd), err_ridge=err(pred_ridge), err_inf=float(err(pred_inf)))


@viz.register_demo
class EarlyStoppingVsRidge(viz.Demo):
    """Left: the spectral filters of gradient flow stopped at time t, (1 - e^{-lambda t})/lambda, and of
    kernel ridge regression with ridge 1/t, 1/(lambda + 1/t); ticks: the eigenvalues of the NTK of the
    data. Middle: test error against t (and against 1/ridge). Right: the two predictions at time t."""

    name = "06.early_stopping_vs_ridge"
    figsize = (10.4, 3.5)

    def controls(self):
        return {"t": viz.log_slider("time t", 3.0, -2, 4, step=0.25)}

    def setup(self, fig):
        self.ax, self.ax2, self.ax3 = fig.subplots(1, 3)
        d = early_stopping_data()
        self.lam_grid = np.logspace(-4, 3, 200)
        (self.f_gd,) = self.ax.loglog(self.lam_grid, self.lam_grid, **viz.series_style(0, marker=False),
                                      label=r"early stopping $(1 - e^{-\lambda t})/\lambda$")
        (self.f_r,) = self.ax.loglog(self.lam_grid, self.lam_grid, **viz.series_style(1, marker=False),
                                     label=r"ridge $1/(\lambda + 1/t)$")
        self.ax.loglog(self.lam_grid, 1 / self.lam_grid, color="black", ls=":", lw=1.2,
                       label=r"interpolation $1/\lambda$")
        lam = _np(d["lam"])
        self.ax.plot(lam, np.full_like(lam, 2e-4), "|", color="black", ms=10, mew=1.5, label=r"eigenvalues of $\Theta$")
        self.cut = self.ax.axvline(1.0, color="black", lw=0.8, ls="--")
        self.ax.set(xlabel=r"eigenvalue $\lambda$", ylabel="filter $g(\\lambda)$", ylim=(1e-4, 1e4))
        self.ax.legend(loc="upper right", fontsize=7.5)
        self.ax.set_title(r"spectral filters ($\Theta$: NTK param., $b_{std}=1$)", fontsize=9.5)
        self.ax2.loglog(ES_TIMES, d["err_gd"], **viz.series_style(0, markevery=4), label="early stopping at $t$")
        self.ax2.loglog(ES_TIMES, d["err_ridge"], **viz.series_style(1, markevery=4), label="ridge $1/t$")
        self.ax2.axhline(d["err_inf"], color="black", ls=":", lw=1.2, label=r"interpolation ($t=\infty$)")
        self.tline = self.ax2.axvline(1.0, color="black", lw=0.8, ls="--")
        self.ax2.set(xlabel="time $t$  (= 1 / ridge)", ylabel=r"test MSE vs $\sin x$")
        self.ax2.legend(loc="upper right", fontsize=7)
        self.ax2.set_title("test error", fontsize=9.5)
        xs = _np(d["xs"])
        self.ax3.plot(xs, _np(d["ys"]), color="black", ls=":", lw=1.3, label=r"target $\sin x$")
        (self.p_gd,) = self.ax3.plot(xs, xs * 0, **viz.series_style(0, marker=False), label="early stopping")
        (self.p_r,) = self.ax3.plot(xs, xs * 0, **viz.series_style(1, marker=False), label="ridge")
        self.ax3.plot(_np(d["x"]), _np(d["y"]), color="black", marker="o", ms=4, ls="none",
                      label=f"{ES_N} noisy points")
        self.ax3.set(xlabel="input $x$", ylabel="prediction (ensemble mean)", xlim=(-3, 3), ylim=(-2.2, 2.2))
        self.ax3.legend(loc="lower right", fontsize=6.5)
        self.ax3.set_title(" ", fontsize=9.5)
        viz.animate(self.f_gd, self.f_r, self.cut, self.tline, self.p_gd, self.p_r, self.ax3.title)

    def update(self, t=3.0):
        d = early_stopping_data()
        lam = torch.as_tensor(self.lam_grid)
        self.f_gd.set_ydata(_np(gd_filter(lam, float(t))))
        self.f_r.set_ydata(_np(ridge_filter(lam, matched_ridge(float(t)))))
        self.cut.set_xdata([1 / t] * 2)
        self.tline.set_xdata([t] * 2)
        j = int(np.argmin(np.abs(np.log(ES_TIMES) - math.log(t))))
        if math.isclose(ES_TIMES[j], t, rel_tol=1e-6):
            pg, pr = d["pred_gd"][j], d["pred_ridge"][j]
        else:
            pg = transfer_matrix(d["T"], d["Ts"], float(t)) @ d["y"]
            pr = kernel_regression(d["T"], d["Ts"], d["y"], ridge=matched_ridge(float(t)))
        self.p_gd.set_ydata(_np(pg))
        self.p_r.set_ydata(_np(pr))
        self.ax3.title.set_text(f"predictions at t = {t:.3g} (ridge {1 / t:.3g})")


plot_early_stopping_vs_ridge = viz.plot_function(EarlyStoppingVsRidge)
