"""Figures and demos of ``notebooks/07_ntk_of_physics_informed_networks.ipynb``.

The model problem is :func:`ntk_teach.pinn.poisson_1d` (``u_xx = f`` on [0, 1], ``u = sin(a pi x)``),
the network the one-hidden-layer tanh net of Wang, Yu & Perdikaris (2022) in the NTK
parameterization, ``MLP(m, depth=1, activation="tanh", b_std=1.0)``, with the input
standardized as in the paper's code. Every experiment uses fixed seeds and is cached.

* :class:`PINNSpectrum` ("07.pinn_ntk_spectrum"): eigenvalues of ``K``, ``K_uu``, ``K_rr`` at
  initialization and the diagonal of ``K_rr`` along ``x``; width and input-scaling controls.
* :class:`NTKChange` ("07.ntk_change"): the paper's Figure 2 at CPU scale (widths 10, 100, 500,
  200 steps of full-batch GD): relative change of the parameters and of the NTK, spectra at init and end,
  and the width scaling of both changes with fitted slopes.
* :class:`Imbalance` ("07.imbalance"): the linearized PINN (constant NTK) for any ``a``, width and
  time: the solution and both loss terms, without and with the NTK-trace weights.
* :class:`NTKWeights` ("07.ntk_weights"): real training of the same net without and with the
  paper's Algorithm 1, scrubbed with a step slider.
* :func:`plot_a_sweep`: what grows with ``a`` (the residual loss, like ``(a pi)^4``) and what it does.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import pinn, viz
from ..nets import MLP
from ..stats import fit_loglog

#: Width choices of the sliders (log-spaced 1-2-5) and the widths of the paper's Figure 2.
WIDTHS = (10, 20, 50, 100, 200, 500)
FIG2_WIDTHS = (10, 100, 500)
FIG2_SEEDS = (0, 1)
#: Figure 2 at CPU scale: a = 1, 200 full-batch GD steps of size 5e-5 (gradient-flow time 0.01),
#: recorded at log-spaced steps (most of the change happens in the first ten steps).
FIG2_A, FIG2_STEPS, FIG2_LR = 1.0, 200, 5e-5
FIG2_RECORD_AT = tuple(sorted({0} | {int(round(k)) for k in np.geomspace(1, FIG2_STEPS, 24)}))
#: The remedy experiment: a = 2, width 100, 600 steps of size 2e-5, weights updated every 100 steps.
REMEDY_A, REMEDY_WIDTH, REMEDY_STEPS, REMEDY_LR, REMEDY_UPDATE, REMEDY_RECORD = 2.0, 100, 600, 2e-5, 100, 15
#: Frequencies of the a-sweep and the time at which the linearized errors are compared.
A_VALUES = (1, 2, 3, 4, 6, 8)
SWEEP_TIME = 1.0
N_TEST = 201
X_TEST = np.linspace(0.0, 1.0, N_TEST)
TIMES = np.geomspace(1e-6, 10.0, 91)

PLAIN_KW = dict(color=viz.COLORS[0], linestyle="-")
NTK_KW = dict(color=viz.COLORS[1], linestyle="--")
EXACT_KW = dict(color=viz.TARGET_COLOR, linestyle=":", linewidth=2.2)


def _animate(*artists) -> None:
    """Mark the artists ``update()`` changes, so that redraws blit them (``viz.animate``; a no-op with a
    widget kit that has no blitting)."""
    fn = getattr(viz, "animate", None)
    if fn is not None:
        fn(*artists)


def _light_log(ax, which: str = "y", numticks: int = 7) -> None:
    """Log axis with at most ``numticks`` labelled decades and no minor ticks: tick labels are most of the
    draw time of a log axis spanning many decades, and slider redraws must stay fast."""
    from matplotlib.ticker import LogLocator, NullLocator

    for name in which:
        axis = ax.yaxis if name == "y" else ax.xaxis
        axis.set_major_locator(LogLocator(base=10, numticks=numticks))
        axis.set_minor_locator(NullLocator())


def pinn_net(width: int, seed: int = 0) -> MLP:
    """The paper's network: ``u = 1/sqrt(m) W1 tanh(W0 x~ + b0) + b1``, all parameters N(0, 1) (NTK param.)."""
    return MLP(int(width), depth=1, activation="tanh", parameterization="ntk", w_std=1.0, b_std=1.0, seed=int(seed))


# ------------------------------------------------------------------------------ kernels at init
@functools.lru_cache(maxsize=32)
def kernel_at_init(width: int, seed: int = 0, standardize: bool = True) -> pinn.PINNKernel:
    """The PINN NTK at initialization (it does not depend on ``a``: ``K`` never sees the targets)."""
    problem = pinn.poisson_1d(1.0, standardize=standardize)
    return pinn.pinn_ntk(pinn_net(width, seed), problem, method="closed_form")


@functools.lru_cache(maxsize=16)
def _linear_setup(width: int, seed: int = 0):
    net = pinn_net(width, seed)
    problem = pinn.poisson_1d(1.0)
    K = pinn.pinn_ntk(net, problem, method="closed_form")
    Kt = pinn.pinn_test_kernel(net, problem, X_TEST, method="closed_form")
    with torch.no_grad():
        u_b = pinn.pinn_u(net, problem, problem.x_b).numpy()
        uxx_r = pinn.pinn_uxx(net, problem, problem.x_r).numpy()
        u_test = pinn.pinn_u(net, problem, X_TEST).numpy()
    lam = pinn.ntk_trace_weights(K)
    return {"K": K, "plain": pinn.LinearizedPINN(K, K_test=Kt),
            "ntk": pinn.LinearizedPINN(K, lambda_b=lam[0], lambda_r=lam[1], K_test=Kt),
            "lambda": lam, "u_b": u_b, "uxx_r": uxx_r, "u_test": u_test}


def linearized_run(width: int, a: float, times=TIMES, seed: int = 0) -> dict:
    """The linearized PINN (NTK at init, gradient flow) for frequency ``a``: ``{"plain": ..., "ntk": ...}``,
    each the output of :meth:`ntk_teach.pinn.LinearizedPINN.solve` plus ``"error"`` (relative L2 error of
    ``u`` on the test grid at each time)."""
    s = _linear_setup(int(width), int(seed))
    problem = pinn.poisson_1d(float(a))
    e_b0 = s["u_b"] - problem.g.numpy()
    e_r0 = s["uxx_r"] - problem.f.numpy()
    exact = np.sin(a * math.pi * X_TEST)
    out = {}
    for key in ("plain", "ntk"):
        r = s[key].solve(e_b0, e_r0, times, s["u_test"])
        r["error"] = np.linalg.norm(r["u_test"] - exact, axis=1) / np.linalg.norm(exact)
        out[key] = r
    out["lambda"] = s["lambda"]
    return out


@functools.lru_cache(maxsize=4)
def a_sweep(width: int = 100, seed: int = 0, a_values=A_VALUES, t: float = SWEEP_TIME) -> dict:
    """For each ``a``: the initial losses ``L_b(0)``, ``L_r(0)``, and the linearized relative L2 errors
    at time ``t`` without and with the NTK-trace weights (numpy arrays over ``a_values``)."""
    rows = {"a": np.array(a_values, dtype=float), "loss_b0": [], "loss_r0": [], "error_plain": [], "error_ntk": []}
    s = _linear_setup(int(width), int(seed))
    for a in a_values:
        problem = pinn.poisson_1d(float(a))
        rows["loss_b0"].append(0.5 * float(np.sum((s["u_b"] - problem.g.numpy()) ** 2)))
        rows["loss_r0"].append(0.5 * float(np.sum((s["uxx_r"] - problem.f.numpy()) ** 2)))
        r = linearized_run(width, a, np.array([t]), seed)
        rows["error_plain"].append(r["plain"]["error"][0])
        rows["error_ntk"].append(r["ntk"]["error"][0])
    return {k: np.asarray(v) for k, v in rows.items()}


# ------------------------------------------------------------------------------ training runs
@functools.lru_cache(maxsize=2)
def figure2_runs(widths=FIG2_WIDTHS, seeds=FIG2_SEEDS) -> dict:
    """``{(width, seed): PINNTrainResult}``: full-batch GD on the a = 1 problem, NTK recorded at log-spaced steps."""
    problem = pinn.poisson_1d(FIG2_A)
    return {(w, s): pinn.train_pinn(pinn_net(w, s), problem, steps=FIG2_STEPS, lr=FIG2_LR,
                                    record_at=FIG2_RECORD_AT)
            for s in seeds for w in widths}


def figure2_scaling(runs: dict | None = None) -> dict:
    """Final relative changes per width (mean and standard error over seeds) and their log-log fits."""
    runs = figure2_runs() if runs is None else runs
    widths = sorted({w for w, _ in runs})
    seeds = sorted({s for _, s in runs})
    dth = np.array([[runs[(w, s)].relative_param_change[-1] for s in seeds] for w in widths])
    dK = np.array([[runs[(w, s)].ntk_relative_change[-1] for s in seeds] for w in widths])
    out = {"widths": np.array(widths, dtype=float), "dtheta": dth, "dK": dK}
    for key, arr in (("dtheta", dth), ("dK", dK)):
        out[key + "_mean"] = arr.mean(1)
        out[key + "_sem"] = arr.std(1, ddof=1) / math.sqrt(arr.shape[1]) if arr.shape[1] > 1 else np.zeros(len(widths))
        out[key + "_fit"] = fit_loglog(widths, arr.mean(1))
        out[key + "_seed_slopes"] = np.array([fit_loglog(widths, arr[:, j]).slope for j in range(arr.shape[1])])
    return out


@functools.lru_cache(maxsize=2)
def remedy_runs(a: float = REMEDY_A, width: int = REMEDY_WIDTH, seed: int = 0) -> dict:
    """``{"none": result, "ntk": result}``: the same net trained without and with the NTK-trace weights."""
    problem = pinn.poisson_1d(a)
    return {w: pinn.train_pinn(pinn_net(width, seed), problem, steps=REMEDY_STEPS, lr=REMEDY_LR, weighting=w,
                               update_every=REMEDY_UPDATE, record_every=REMEDY_RECORD, record_ntk=False)
            for w in ("none", "ntk")}


# ------------------------------------------------------------------------------ demo 1: spectra
INPUTS = ("standardized x~ (paper's code)", "raw x in [0, 1]")
_INPUT_LABEL = {INPUTS[0]: r"input $\tilde x = (x - 0.5)/\sigma$", INPUTS[1]: r"input $x \in [0, 1]$"}


@viz.register_demo
class PINNSpectrum(viz.Demo):
    """The PINN NTK at initialization: the eigenvalues of K_rr (residual) dwarf those of K_uu (boundary),
    so gradient descent shrinks the residual errors thousands of times faster than the boundary errors.
    Change the width: the spectrum hardly moves (a deterministic limit). Switch the input scaling: the
    standardization of the paper's code multiplies K_rr by 1/std^4."""

    name = "07.pinn_ntk_spectrum"
    figsize = (9.0, 3.4)

    def controls(self):
        return {"width": viz.width_slider(options=WIDTHS, value=100),
                "inputs": viz.choice("inputs", INPUTS, value=INPUTS[0])}

    def setup(self, fig):
        self.ax1, self.ax2 = fig.subplots(1, 2)
        n = 102
        idx = np.arange(1, n + 1)
        self.l_K, = self.ax1.plot(idx, np.ones(n), color=viz.THEORY_COLOR, linestyle="-", label=r"$K$ (full)")
        self.l_rr, = self.ax1.plot(idx[:100], np.ones(100), **viz.series_style(0, markevery=10),
                                   label=r"$K_{rr}$ (residual)")
        self.l_uu, = self.ax1.plot([1, 2], [1, 1], color=viz.COLORS[1], linestyle="none", marker="s",
                                   markersize=8, label=r"$K_{uu}$ (boundary)")
        self.ax1.set(xscale="log", yscale="log", xlabel="index $i$", ylabel=r"eigenvalue $\lambda_i$",
                     ylim=(1e-12, 1e6), xlim=(0.9, 110))
        _light_log(self.ax1, "xy")
        self.ax1.legend(loc="lower left", fontsize="small")
        x_r = pinn.poisson_1d(1.0).x_r.numpy()
        self.l_drr, = self.ax2.plot(x_r, np.ones_like(x_r), **viz.series_style(0, markevery=10),
                                    label=r"$K_{rr}(x_j, x_j)$")
        self.l_duu, = self.ax2.plot([0.0, 1.0], [1, 1], color=viz.COLORS[1], linestyle="none", marker="s",
                                    markersize=8, label=r"$K_{uu}(x_b, x_b)$")
        self.ax2.set(yscale="log", xlabel="$x$", ylabel="kernel diagonal $K(x, x)$",
                     ylim=(1e-1, 1e4), xlim=(-0.03, 1.03))
        _light_log(self.ax2, "y")
        self.ax2.legend(loc="lower center", fontsize="small")
        fig.suptitle("PINN NTK at initialization (one hidden tanh layer, NTK parameterization)", fontsize="medium")
        self.ax1.set_title(" ")
        self.ax2.set_title(" ")
        # only axes-level artists are animated: figure-level ones would be left out of static figures
        _animate(self.l_K, self.l_rr, self.l_uu, self.l_drr, self.l_duu, self.ax1.title, self.ax2.title)

    def update(self, width=100, inputs=INPUTS[0]):
        K = kernel_at_init(int(width), 0, inputs == INPUTS[0])
        ev = K.eigenvalues()
        floor = 1e-12
        self.l_K.set_ydata(np.maximum(ev["K"], floor))
        self.l_rr.set_ydata(np.maximum(ev["K_rr"], floor))
        self.l_uu.set_ydata(np.maximum(ev["K_uu"], floor))
        self.l_drr.set_ydata(torch.diagonal(K.K_rr).numpy())
        self.l_duu.set_ydata(torch.diagonal(K.K_uu).numpy())
        ratio = ev["K_rr"][0] / ev["K_uu"][0]
        self.ax1.title.set_text(f"width {width}, {_INPUT_LABEL[inputs]}")
        self.ax2.title.set_text(f"$\\lambda_{{max}}(K_{{rr}}) / \\lambda_{{max}}(K_{{uu}})$ = {ratio:,.0f}")


plot_pinn_ntk_spectrum = viz.plot_function(PINNSpectrum)


# ------------------------------------------------------------------------------ demo 2: Figure 2
@viz.register_demo
class NTKChange(viz.Demo):
    """The paper's Figure 2 at CPU scale: full-batch gradient descent on the a = 1 problem for widths 10,
    100, 500. (a) relative change of the parameters, (b) of the PINN NTK, over the steps; (c) eigenvalues
    of K at initialization and after training for the chosen width; (d) the final changes against the
    width, with fitted slopes (NTK theory: -1/2). Pick the width shown in (c)."""

    name = "07.ntk_change"
    figsize = (8.4, 6.0)

    def controls(self):
        return {"width": viz.width_slider(options=FIG2_WIDTHS, value=FIG2_WIDTHS[-1])}

    def setup(self, fig):
        runs = figure2_runs()
        (self.ax_a, self.ax_b), (self.ax_c, self.ax_d) = fig.subplots(2, 2)
        for i, w in enumerate(FIG2_WIDTHS):
            r = runs[(w, 0)]
            kw = viz.series_style(i, markevery=3)
            self.ax_a.plot(r.steps[1:], r.relative_param_change[1:], label=f"width {w}", **kw)
            self.ax_b.plot(r.steps[1:], r.ntk_relative_change[1:], label=f"width {w}", **kw)
        self.ax_a.set(xlabel="GD step $n$", ylabel=r"$\|\theta_n - \theta_0\| / \|\theta_0\|$",
                      title="(a) relative change of the parameters")
        self.ax_b.set(xlabel="GD step $n$", ylabel=r"$\|K_n - K_0\|_F / \|K_0\|_F$",
                      title="(b) relative change of the PINN NTK")
        for ax in (self.ax_a, self.ax_b):
            ax.set(xscale="log", yscale="log", xlim=(1, FIG2_STEPS))
            _light_log(ax, "xy")
            ax.legend(fontsize="small")
        n = 102
        idx = np.arange(1, n + 1)
        self.l_init, = self.ax_c.plot(idx, np.ones(n), color=viz.COLORS[0], linestyle="-", marker="o",
                                      markevery=8, label="$n = 0$ (initialization)")
        self.l_end, = self.ax_c.plot(idx, np.ones(n), color=viz.COLORS[1], linestyle="--", marker="x",
                                     markevery=(4, 8), label=f"$n = {FIG2_STEPS}$ (end)")
        self.ax_c.set(xscale="log", yscale="log", xlabel="index $i$", ylabel=r"eigenvalue $\lambda_i(K)$",
                      ylim=(1e-12, 1e6))
        _light_log(self.ax_c, "xy")
        self.ax_c.legend(fontsize="small", loc="lower left")
        self.ax_c.set_title(" ")
        _animate(self.l_init, self.l_end, self.ax_c.title)
        sc = figure2_scaling(runs)
        for i, (key, lab) in enumerate((("dtheta", "parameters"), ("dK", "NTK"))):
            self.ax_d.errorbar(sc["widths"], sc[key + "_mean"], yerr=sc[key + "_sem"], linestyle="none",
                               color=viz.COLORS[i], capsize=3)
            viz.plot_loglog_fit(self.ax_d, sc["widths"], sc[key + "_mean"], label=lab, i=i, expected=-0.5)
        self.ax_d.set(xlabel="width $m$", ylabel="relative change at the end",
                      title=f"(d) change vs width (mean of {len(FIG2_SEEDS)} seeds)")
        _light_log(self.ax_d, "xy")
        self.ax_d.legend(fontsize="small", loc="lower left")
        fig.suptitle(f"Figure 2 of Wang, Yu & Perdikaris at CPU scale: one hidden tanh layer, NTK param.,\n"
                     f"$u = \\sin(\\pi x)$, full-batch GD, {FIG2_STEPS} steps of size {FIG2_LR:g}", fontsize="medium")

    def update(self, width=FIG2_WIDTHS[-1]):
        r = figure2_runs()[(int(width), 0)]
        self.l_init.set_ydata(np.maximum(r.kernels[0].eigenvalues()["K"], 1e-12))
        self.l_end.set_ydata(np.maximum(r.kernels[-1].eigenvalues()["K"], 1e-12))
        self.ax_c.title.set_text(f"(c) eigenvalues of $K$, width {width} (seed 0)")


plot_ntk_change = viz.plot_function(NTKChange)


# ------------------------------------------------------------------------------ demo 3: imbalance
@viz.register_demo
class Imbalance(viz.Demo):
    """The linearized PINN (its NTK frozen at initialization, gradient flow) for u = sin(a pi x).
    Left: the solution at time t without weights (solid) and with the NTK-trace weights (dashed), and the
    exact solution (dotted). Right: both loss terms over time. Without weights the residual term is fitted
    first and the boundary much later, and the larger a, the further the boundary is pushed away."""

    name = "07.imbalance"
    figsize = (9.0, 3.5)

    def controls(self):
        return {"a": viz.int_slider("a", 2, 1, 8),
                "width": viz.width_slider(options=WIDTHS, value=100),
                "t": viz.log_slider("time t", 1e-2, -5, 1, step=0.25)}

    def setup(self, fig):
        self.ax1, self.ax2 = fig.subplots(1, 2)
        self.l_exact, = self.ax1.plot(X_TEST, np.zeros(N_TEST), label="exact $\\sin(a\\pi x)$", **EXACT_KW)
        self.l_plain, = self.ax1.plot(X_TEST, np.zeros(N_TEST), label="no weights", marker="o", markevery=25,
                                      **PLAIN_KW)
        self.l_ntk, = self.ax1.plot(X_TEST, np.zeros(N_TEST), label="NTK-trace weights", marker="s",
                                    markevery=(12, 25), **NTK_KW)
        self.ax1.plot([0, 1], [0, 0], linestyle="none", marker="D", color=viz.TARGET_COLOR, markersize=7,
                      label="boundary values $g$")
        self.ax1.set(xlabel="$x$", ylabel="$u(x)$", xlim=(0, 1), ylim=(-2.5, 2.5))
        self.ax1.legend(fontsize="small", loc="lower left", ncols=2)
        self.lines = {}
        for key, kw in (("plain", PLAIN_KW), ("ntk", NTK_KW)):
            tag = "no weights" if key == "plain" else "NTK weights"
            self.lines[key, "b"], = self.ax2.plot(TIMES, np.ones_like(TIMES), label=f"$L_b$, {tag}",
                                                  marker="D", markevery=15, **kw)
            self.lines[key, "r"], = self.ax2.plot(TIMES, np.ones_like(TIMES), label=f"$L_r$, {tag}",
                                                  marker="o", markevery=(7, 15), linewidth=1.0,
                                                  color=kw["color"], linestyle=":" if key == "plain" else "-.")
        self.vline = self.ax2.axvline(1e-2, color="#777777", linewidth=1.0)
        self.ax2.set(xscale="log", yscale="log", xlabel=r"gradient-flow time $t = \eta \times$ steps",
                     ylabel=r"loss terms $L_b, L_r$ ($\frac{1}{2}\sum e^2$)", xlim=(TIMES[0], TIMES[-1]),
                     ylim=(1e-12, 1e8))
        _light_log(self.ax2, "xy")
        self.ax2.legend(fontsize="x-small", loc="lower left", ncols=2)
        fig.suptitle("Linearized PINN: NTK frozen at initialization, gradient flow (NTK parameterization)",
                     fontsize="medium")
        self.ax1.set_title(" ")
        self.ax2.set_title(" ")
        _animate(self.l_exact, self.l_plain, self.l_ntk, self.vline, self.ax1.title, self.ax2.title,
                 *self.lines.values())

    def update(self, a=2, width=100, t=1e-2):
        a, width, t = int(a), int(width), float(t)
        r = linearized_run(width, a, TIMES)
        rt = linearized_run(width, a, np.array([t]))
        self.l_exact.set_ydata(np.sin(a * math.pi * X_TEST))
        self.l_plain.set_ydata(rt["plain"]["u_test"][0])
        self.l_ntk.set_ydata(rt["ntk"]["u_test"][0])
        for key in ("plain", "ntk"):
            for part in ("b", "r"):
                self.lines[key, part].set_ydata(np.maximum(r[key]["loss_" + part], 1e-14))
        self.vline.set_xdata([t, t])
        e_p, e_n = rt["plain"]["error"][0], rt["ntk"]["error"][0]
        self.ax1.title.set_text(f"width {width}, a = {a}, t = {t:.2g}")
        self.ax2.title.set_text(f"rel. $L^2$ error at t: {e_p:.2g} (no weights) vs {e_n:.2g}")


plot_imbalance = viz.plot_function(Imbalance)


# ------------------------------------------------------------------------------ demo 4: remedy
@viz.register_demo
class NTKWeights(viz.Demo):
    """Real training (full-batch GD, not linearized) of the same network on u = sin(2 pi x), without loss
    weights and with the NTK-trace weights of Wang, Yu & Perdikaris (Algorithm 1). Scrub or play the
    records: without weights the residual term falls but the boundary term stays put, and u is the wrong
    function; with them both terms fall together."""

    name = "07.ntk_weights"
    figsize = (9.6, 3.4)

    def controls(self):
        n = REMEDY_STEPS // REMEDY_RECORD
        return {"record": viz.step_control(n, value=n, description="record")}

    def setup(self, fig):
        runs = remedy_runs()
        self.runs = runs
        self.ax1, self.ax2, self.ax3 = fig.subplots(1, 3)
        x = runs["none"].x_test
        self.ax1.plot(x, np.sin(REMEDY_A * math.pi * x), label="exact", **EXACT_KW)
        self.l_plain, = self.ax1.plot(x, np.zeros_like(x), label="no weights", marker="o", markevery=25,
                                      **PLAIN_KW)
        self.l_ntk, = self.ax1.plot(x, np.zeros_like(x), label="NTK weights", marker="s",
                                    markevery=(12, 25), **NTK_KW)
        self.ax1.set(xlabel="$x$", ylabel="$u(x)$", xlim=(0, 1), ylim=(-2.5, 2.5), title="solution")
        self.ax1.legend(fontsize="small", loc="lower left")
        for key, kw, tag in (("none", PLAIN_KW, "no weights"), ("ntk", NTK_KW, "NTK weights")):
            r = runs[key]
            self.ax2.plot(r.steps, np.maximum(r.loss_b, 1e-14), label=f"$L_b$, {tag}", marker="D", markevery=5, **kw)
            self.ax2.plot(r.steps, r.loss_r, label=f"$L_r$, {tag}", marker="o", markevery=(2, 5), linewidth=1.0,
                          color=kw["color"], linestyle=":" if key == "none" else "-.")
            self.ax3.plot(r.steps, r.rel_l2_error, label=tag, marker="^", markevery=5, **kw)
        self.vlines = [ax.axvline(0, color="#777777", linewidth=1.0) for ax in (self.ax2, self.ax3)]
        self.ax2.set_ylim(1e-10, 1e6)
        self.ax3.set_ylim(3e-4, 5.0)
        self.ax2.set(yscale="log", xlabel="GD step $n$", ylabel=r"$L_b$, $L_r$ ($\frac{1}{2}\sum e^2$)",
                     title="loss terms")
        _light_log(self.ax2, "y")
        self.ax2.legend(fontsize="x-small", loc="lower left")
        self.ax3.set(yscale="log", xlabel="GD step $n$", ylabel=r"$\|u - u^*\|_2 / \|u^*\|_2$",
                     title=r"relative $L^2$ error")
        _light_log(self.ax3, "y")
        self.ax3.legend(fontsize="small", loc="center right")
        fig.suptitle(f"Gradient descent on the PINN loss, width {REMEDY_WIDTH} (NTK param.), "
                     f"$u^* = \\sin({REMEDY_A:g}\\pi x)$", fontsize="medium")
        _animate(self.l_plain, self.l_ntk, self.ax1.title, self.ax2.title, self.ax3.title, *self.vlines)

    def update(self, record=REMEDY_STEPS // REMEDY_RECORD):
        rp, rn = self.runs["none"], self.runs["ntk"]
        k = min(int(record), len(rp.steps) - 1)
        self.l_plain.set_ydata(rp.u_test[k])
        self.l_ntk.set_ydata(rn.u_test[k])
        step = int(rp.steps[k])
        for v in self.vlines:
            v.set_xdata([step, step])
        self.ax1.title.set_text(f"solution at step {step}")
        self.ax2.title.set_text(f"loss terms ($\\lambda_b$ = {rn.lambda_b[k]:,.0f})")
        self.ax3.title.set_text(f"rel. $L^2$ error: {rp.rel_l2_error[k]:.2g} vs {rn.rel_l2_error[k]:.2g}")


plot_ntk_weights = viz.plot_function(NTKWeights)


# ------------------------------------------------------------------------------ static: a-sweep
def plot_a_sweep(width: int = 100):
    """What grows with a. Left: the initial loss terms; L_r(0) grows like (a pi)^4 (fitted slope in the
    legend), L_b(0) does not change. Right: the linearized relative L2 error at t = 1 without and with
    the NTK-trace weights."""
    s = a_sweep(int(width))
    fig = viz.new_figure(figsize=(10.0, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    big = s["a"] >= 2
    viz.plot_loglog_fit(ax1, s["a"][big], s["loss_r0"][big], label=r"$L_r(0)$, $a \geq 2$", i=0, expected=4)
    ax1.plot(s["a"], s["loss_r0"], linestyle="none", marker="o", color=viz.COLORS[0], fillstyle="none")
    ax1.plot(s["a"], s["loss_b0"], label=r"$L_b(0)$", **viz.series_style(1))
    ax1.set(xlabel="frequency $a$", ylabel="loss term at initialization",
            title=f"Initial loss terms, width {width} (NTK param.)")
    ax1.legend(fontsize="small")
    ax2.plot(s["a"], s["error_plain"], label="no weights", marker="o", **PLAIN_KW)
    ax2.plot(s["a"], s["error_ntk"], label="NTK-trace weights", marker="s", **NTK_KW)
    ax2.set(xscale="log", yscale="log", xlabel="frequency $a$", ylabel=r"relative $L^2$ error of $u$",
            title=f"Linearized PINN at $t = {SWEEP_TIME:g}$")
    for ax in (ax1, ax2):
        ax.set_xticks(list(s["a"]), [f"{a:g}" for a in s["a"]])
        ax.minorticks_off()
    ax2.legend(fontsize="small")
    return fig
