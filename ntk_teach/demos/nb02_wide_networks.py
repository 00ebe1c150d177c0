"""Figures and live demos of ``notebooks/02_wide_networks_are_gaussian_processes.ipynb``.

Demos (each a :class:`~ntk_teach.viz.Demo` plus its plain plotting function):

* :class:`Gallery` / :func:`plot_gallery` ("02.gallery"): 100 random networks on [-4, 4];
  as the width grows they turn into Gaussian-process draws inside the NNGP's 2-sigma band.
* :class:`CLT` / :func:`plot_clt` ("02.clt"): the distribution of ``f(x0)`` over 20 000 random
  networks against its Gaussian limit, and the excess kurtosis against width (slope -1).
* :class:`Recursion` / :func:`plot_recursion` ("02.recursion"): the covariance recursion
  ``Sigma^1 -> Sigma^2 -> Sigma^3`` as heatmaps.
* :class:`CovarianceVsWidth` / :func:`plot_covariance_vs_width` ("02.covariance_vs_width"): one
  network's covariance kernel against ``analytic_nngp``, and the deviation against width (slope -1/2).
* :class:`GPvsNets` / :func:`plot_gp_vs_nets` ("02.gp_vs_nets"): GP samples from the analytic
  kernel beside random networks.
* :class:`DepthCorrelation` / :func:`plot_depth_correlation` ("02.depth_correlation"): how depth
  and ``b_std`` reshape the kernel (correlations of two inputs against depth).

All figures: the reference network (1-D input, two hidden ReLU layers unless a depth is
shown), NTK parameterization (the NNGP is the same in the standard one), ``w_std = 1``.
Random networks are drawn with :func:`ntk_teach.sampling.sample_mlp_outputs`, exactly in law.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import viz
from ..kernels import analytic_nngp, kernel_recursion
from ..montecarlo import deviation_vs_width
from ..gp import sample_gp
from ..sampling import (
    relu_output_excess_kurtosis,
    sample_mlp_outputs,
    sample_output_variances,
    scale_mixture_excess_kurtosis,
)
from ..stats import excess_kurtosis, fit_loglog

X_GRID = torch.linspace(-4.0, 4.0, 121, dtype=torch.float64)
GALLERY_WIDTHS = tuple(2**k for k in range(11))  # 1 .. 1024
B_CHOICES = (0.1, 0.5, 1.0)
N_GALLERY = 100
X0 = 1.0
CLT_WIDTHS = tuple(2**k for k in range(11))  # 1 .. 1024
CLT_SAMPLES = 20_000
CLT_FIT_MIN = 16  # fit the kurtosis slope on widths >= 16, where the 1/width term dominates
COV_GRID = torch.linspace(-3.0, 3.0, 41, dtype=torch.float64)
COV_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
COV_SEEDS = 24


def _np(t):
    return t.detach().numpy()


# =============================================================================================
# 1. the gallery
# =============================================================================================
@functools.lru_cache(maxsize=64)
def gallery_outputs(width: int, b_std: float) -> np.ndarray:
    """``(100, 121)`` outputs of 100 random nets on ``X_GRID`` (exact in law)."""
    return _np(sample_mlp_outputs(X_GRID, width=int(width), n_nets=N_GALLERY, b_std=float(b_std),
                                  seed=int(width)))


@functools.lru_cache(maxsize=8)
def nngp_std(b_std: float) -> np.ndarray:
    """Pointwise standard deviation ``sqrt(Sigma(x, x))`` of the infinitely wide network on ``X_GRID``."""
    return np.sqrt(_np(analytic_nngp(X_GRID, b_std=float(b_std)).diagonal()))


def band_fraction(width: int, b_std: float) -> float:
    """Fraction of all gallery values inside the NNGP's pointwise 2-sigma band (Gaussian: 95.4 %)."""
    ys = gallery_outputs(width, b_std)
    return float((np.abs(ys) <= 2 * nngp_std(b_std)).mean())


@viz.register_demo
class Gallery(viz.Demo):
    """100 random networks at initialization. Narrow ones are a few straight pieces; wide ones are
    Gaussian-process draws: smooth, and 95 % of their values inside the NNGP's 2-sigma band (dashed)."""

    name = "02.gallery"
    figsize = (7.6, 3.8)

    def controls(self):
        return {"width": viz.width_slider(GALLERY_WIDTHS, value=1, continuous_update=False),
                "b_std": viz.choice("b_std", B_CHOICES, value=0.1)}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        x = _np(X_GRID)
        from matplotlib.collections import LineCollection

        # one artist for all 100 curves: a single draw call instead of 100 (about 5x faster redraws)
        self._x = x
        self.lines = LineCollection([np.stack([x, np.zeros_like(x)], 1)] * N_GALLERY, colors=viz.COLORS[0],
                                    linewidths=0.8, alpha=0.35)
        self.ax.add_collection(self.lines)
        (self.up,) = self.ax.plot(x, x, color=viz.THEORY_COLOR, linestyle="--", linewidth=2.2,
                                  label=r"$\pm 2\sqrt{\Sigma(x, x)}$ (infinite width)")
        (self.lo,) = self.ax.plot(x, x, color=viz.THEORY_COLOR, linestyle="--", linewidth=2.2)
        top = 3.2 * max(float(nngp_std(b).max()) for b in B_CHOICES)
        self.ax.set(xlabel="input $x$", ylabel=r"$f(x;\theta_0)$", xlim=(-4, 4), ylim=(-top, top))
        self.ax.legend(loc="upper left", fontsize=9)
        viz.animate(self.lines, self.up, self.lo, self.ax.title)

    def update(self, width=1, b_std=0.1):
        ys = gallery_outputs(int(width), float(b_std))
        self.lines.set_segments([np.stack([self._x, y], 1) for y in ys])
        s = nngp_std(float(b_std))
        self.up.set_ydata(2 * s)
        self.lo.set_ydata(-2 * s)
        frac = band_fraction(int(width), float(b_std))
        self.ax.title.set_text(f"100 random nets, width {width}, b_std = {b_std} (NTK param.): "
                               f"{100 * frac:.1f} % inside the band")


plot_gallery = viz.plot_function(Gallery)


# =============================================================================================
# 2. the CLT at work: f(x0) over many networks
# =============================================================================================
@functools.lru_cache(maxsize=32)
def output_variances(width: int) -> np.ndarray:
    """``CLT_SAMPLES`` samples of the random output variance ``s^2`` at ``x0 = 1`` (b_std = 0.1)."""
    return _np(sample_output_variances(X0, width=int(width), n_nets=CLT_SAMPLES, seed=1000 + int(width)))


@functools.lru_cache(maxsize=32)
def output_samples_at_x0(width: int) -> np.ndarray:
    """``f(x0) = s z`` for the same networks (a fixed seed for z)."""
    s2 = output_variances(width)
    z = np.random.default_rng(int(width)).standard_normal(s2.shape[0])
    return np.sqrt(s2) * z


@functools.lru_cache(maxsize=1)
def kurtosis_table() -> dict:
    """Excess kurtosis of ``f(x0)`` against width: exact, scale-mixture Monte Carlo, direct sample."""
    w = np.array(CLT_WIDTHS, dtype=float)
    exact = np.array([relu_output_excess_kurtosis(X0, width=int(n)) for n in CLT_WIDTHS])
    mixture = np.array([scale_mixture_excess_kurtosis(output_variances(int(n))) for n in CLT_WIDTHS])
    direct = np.array([float(excess_kurtosis(output_samples_at_x0(int(n)))) for n in CLT_WIDTHS])
    # relative standard error of the estimated Var(s^2) (the mean's error is much smaller):
    # Var(sample variance) ~ (m4 - sigma^4) / S  (delta method), m4 the 4th central moment of s^2
    rel_se = []
    for n in CLT_WIDTHS:
        s2 = output_variances(int(n))
        c = s2 - s2.mean()
        m2, m4 = float((c**2).mean()), float((c**4).mean())
        rel_se.append(math.sqrt(max(m4 / m2**2 - 1.0, 0.0) / s2.shape[0]))
    keep = w >= CLT_FIT_MIN
    return {"widths": w, "exact": exact, "mixture": mixture, "direct": direct, "rel_se": np.array(rel_se),
            "fit_mixture": fit_loglog(w[keep], mixture[keep]), "fit_exact": fit_loglog(w[keep], exact[keep])}


@viz.register_demo
class CLT(viz.Demo):
    """Left: f(x0) at x0 = 1 over 20 000 random networks of the chosen width against the infinite-width
    Gaussian N(0, Sigma(x0, x0)). Right: how far from Gaussian, as the excess kurtosis, against width:
    it falls like 1/width (slope -1)."""

    name = "02.clt"
    figsize = (9.6, 3.8)

    def controls(self):
        return {"width": viz.width_slider(CLT_WIDTHS, value=4)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2)
        var = float(analytic_nngp(torch.tensor([X0], dtype=torch.float64))[0, 0])
        self.sd = math.sqrt(var)
        self.edges = np.linspace(-4 * self.sd, 4 * self.sd, 61)
        centers = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.bars = self.ax.stairs(np.zeros_like(centers), self.edges, fill=True, color=viz.COLORS[0], alpha=0.55,
                                   label="20 000 random nets")
        xs = np.linspace(self.edges[0], self.edges[-1], 300)
        self.ax.plot(xs, np.exp(-xs**2 / (2 * var)) / math.sqrt(2 * math.pi * var), color=viz.THEORY_COLOR,
                     linestyle="--", linewidth=2.2, label=r"$N(0, \Sigma(x_0, x_0))$, infinite width")
        # 3x the Gaussian peak: narrow nets spike above it at 0 (all ReLUs off), and that is the point
        self.ax.set(xlabel=r"$f(x_0;\theta_0)$, $x_0 = 1$", ylabel="density", ylim=(0, 1.2 / self.sd))
        self.ax.legend(loc="upper left", fontsize=8)
        t = kurtosis_table()
        w = t["widths"]
        self.ax2.plot(w, t["exact"], color=viz.THEORY_COLOR, linestyle="-", linewidth=1.6,
                      label="exact finite-width formula")
        st = viz.series_style(0)
        self.ax2.plot(w, t["mixture"], linestyle="none", marker=st["marker"], color=st["color"],
                      label=viz.slope_label("Monte Carlo (scale mixture)", t["fit_mixture"].slope, -1))
        st1 = viz.series_style(1)
        pos = t["direct"] > 0
        self.ax2.plot(w[pos], t["direct"][pos], linestyle="none", marker=st1["marker"], color=st1["color"],
                      markerfacecolor="none", label="Monte Carlo (sample kurtosis)")
        fit = t["fit_mixture"]
        ws = np.geomspace(CLT_FIT_MIN, w.max(), 30)
        self.ax2.plot(ws, fit.predict(ws), color=st["color"], linestyle="--", linewidth=1.2)
        (self.mark,) = self.ax2.plot([], [], linestyle="none", marker="o", markersize=13, markerfacecolor="none",
                                     markeredgecolor=viz.OKABE_ITO["vermillion"], markeredgewidth=2)
        self.ax2.set(xscale="log", yscale="log", xlabel="width $n$", ylabel="excess kurtosis of $f(x_0)$")
        self.ax2.legend(loc="lower left", fontsize=8)
        self.ax2.set_title("non-Gaussianity vs width (fit: $n \\geq 16$)")
        viz.animate(self.bars, self.mark, self.ax.title)

    def update(self, width=4):
        f = output_samples_at_x0(int(width))
        counts, _ = np.histogram(f, bins=self.edges)
        dens = counts / (f.shape[0] * np.diff(self.edges))
        self.bars.set_data(dens)
        t = kurtosis_table()
        k = t["exact"][list(CLT_WIDTHS).index(int(width))]
        self.mark.set_data([width], [k])
        self.ax.title.set_text(f"width {width} (NTK param., b_std = 0.1): excess kurtosis {k:.3g}")


plot_clt = viz.plot_function(CLT)


# =============================================================================================
# 3. the covariance recursion, layer by layer
# =============================================================================================
@functools.lru_cache(maxsize=16)
def recursion_layers(b_std: float, depth: int = 2):
    layers = kernel_recursion(COV_GRID, depth=int(depth), b_std=float(b_std))
    return [_np(s) for s in layers.sigma]


@viz.register_demo
class Recursion(viz.Demo):
    """The NNGP recursion on inputs in [-3, 3]: Sigma^1 (the input layer), Sigma^2 = E[relu(u) relu(v)]
    + b_std^2 (first hidden layer), Sigma^3 (the output of the reference network)."""

    name = "02.recursion"
    figsize = (10.0, 3.4)
    relayout = False

    def controls(self):
        return {"b_std": viz.choice("b_std", B_CHOICES, value=0.1)}

    def setup(self, fig):
        self.axes = fig.subplots(1, 3)
        ext = (-3, 3, -3, 3)
        self.ims = []
        for l, ax in enumerate(self.axes, start=1):
            im = ax.imshow(np.zeros((41, 41)), origin="lower", extent=ext, cmap="viridis", vmin=-1, vmax=1)
            ax.set(xlabel="$x'$", ylabel="$x$" if l == 1 else None)
            self.ims.append(im)
        fig.colorbar(self.ims[-1], ax=list(self.axes), shrink=0.85, label="kernel / its largest value")
        viz.animate(*self.ims, *(ax.title for ax in self.axes))

    def update(self, b_std=0.1):
        sig = recursion_layers(float(b_std))
        names = ["Sigma^1 = x x' + b_std^2", "Sigma^2 (hidden layer 1)", "Sigma^3 (output)"]
        for im, s, ax, name in zip(self.ims, sig, self.axes, names):
            m = float(np.abs(s).max())
            im.set_data(s / m)
            ax.title.set_text(f"{name}\nb_std = {b_std}, max {m:.3g}")


plot_recursion = viz.plot_function(Recursion)


# =============================================================================================
# 4. one network's covariance against the limit, and the deviation against width
# =============================================================================================
@functools.lru_cache(maxsize=1)
def covariance_sweep():
    """Relative deviation of the per-network NNGP kernel from ``analytic_nngp`` over widths and seeds."""
    return deviation_vs_width(COV_GRID, widths=COV_WIDTHS, n_seeds=COV_SEEDS, kind="nngp", seed=7)


@functools.lru_cache(maxsize=16)
def one_network_nngp(width: int, seed: int = 0) -> np.ndarray:
    from ..montecarlo import empirical_nngp
    from ..nets import MLP

    return _np(empirical_nngp(MLP(int(width), seed=int(seed)), COV_GRID))


@viz.register_demo
class CovarianceVsWidth(viz.Demo):
    """Given its hidden layers, a network's output is Gaussian with covariance
    C(x, x') = a(x).a(x')/n + b_std^2. Left to right: C of one network of the chosen width, the
    infinite-width Sigma, their difference (same colour scale for every width), and the relative
    deviation over 24 seeds against width (slope -1/2)."""

    name = "02.covariance_vs_width"
    figsize = (12.0, 3.3)

    def controls(self):
        return {"width": viz.width_slider(COV_WIDTHS, value=16), "seed": viz.seed_control()}

    def setup(self, fig):
        self.axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 1.25]})
        ext = (-3, 3, -3, 3)
        lim = _np(analytic_nngp(COV_GRID))
        self.limit = lim
        vmax = float(lim.max())
        self.im_emp = self.axes[0].imshow(lim, origin="lower", extent=ext, cmap="viridis", vmin=0, vmax=vmax)
        self.axes[1].imshow(lim, origin="lower", extent=ext, cmap="viridis", vmin=0, vmax=vmax)
        d = 0.5 * vmax
        self.im_diff = self.axes[2].imshow(np.zeros_like(lim), origin="lower", extent=ext, cmap="PuOr",
                                           vmin=-d, vmax=d)
        fig.colorbar(self.im_diff, ax=self.axes[2], shrink=0.8)
        self.axes[1].set_title(r"$\Sigma(x, x')$, infinite width", fontsize=9)
        self.axes[2].set_title("difference", fontsize=9)
        for ax in self.axes[:3]:
            ax.set(xlabel="$x'$")
        self.axes[0].set_ylabel("$x$")
        sw = covariance_sweep()
        fit = sw.fit()
        w = sw.widths.astype(float)
        st = viz.series_style(0)
        ax = self.axes[3]
        ax.errorbar(w, sw.rms, yerr=sw.rms * sw.log_rms_stderr, linestyle="none", marker=st["marker"],
                    color=st["color"])
        ws = np.geomspace(w.min(), w.max(), 30)
        ax.plot(ws, fit.predict(ws), color=st["color"], linestyle="--",
                label=f"fit: slope {fit.slope:+.2f} ± {fit.stderr:.2f} (theory -1/2)")
        (self.mark,) = ax.plot([], [], linestyle="none", marker="o", markersize=12, markerfacecolor="none",
                               markeredgecolor=viz.OKABE_ITO["vermillion"], markeredgewidth=2)
        ax.set(xscale="log", yscale="log", xlabel="width $n$", ylabel=r"rms $\|C - \Sigma\|_F / \|\Sigma\|_F$")
        ax.legend(loc="lower left", fontsize=8)
        ax.set_title(f"{COV_SEEDS} seeds per width", fontsize=9)
        self._fit = fit
        viz.animate(self.im_emp, self.im_diff, self.mark, self.axes[0].title)

    def update(self, width=16, seed=0):
        c = one_network_nngp(int(width), int(seed))
        self.im_emp.set_data(c)
        self.im_diff.set_data(c - self.limit)
        self.axes[0].title.set_text(f"C(x, x'), one net, width {width}")
        self.mark.set_data([width], [float(self._fit.predict([width])[0])])


plot_covariance_vs_width = viz.plot_function(CovarianceVsWidth)


# =============================================================================================
# 5. GP samples beside random networks
# =============================================================================================
@functools.lru_cache(maxsize=8)
def gp_draws(b_std: float, n: int = 8) -> np.ndarray:
    return _np(sample_gp(analytic_nngp(X_GRID, b_std=float(b_std)), n, seed=3))


def covariance_sampling_error(K: torch.Tensor, n_samples: int) -> float:
    """Expected relative Frobenius error of the sample covariance of ``n_samples`` draws from ``N(0, K)``.

    For Gaussian data ``E ||K_hat - K||_F^2 = (||K||_F^2 + tr(K)^2) / S`` (Wishart moments),
    so the typical relative error is ``sqrt((1 + tr(K)^2 / ||K||_F^2) / S)``.
    """
    K = torch.as_tensor(K, dtype=torch.float64)
    return math.sqrt((1 + float(K.trace()) ** 2 / float((K * K).sum())) / n_samples)


@viz.register_demo
class GPvsNets(viz.Demo):
    """Left: 8 random networks of width 1024. Right: 8 draws from the Gaussian process with the
    analytic NNGP kernel of the same architecture. Can you tell which is which?"""

    name = "02.gp_vs_nets"
    figsize = (9.6, 3.5)

    def controls(self):
        return {"b_std": viz.choice("b_std", B_CHOICES, value=1.0), "seed": viz.seed_control()}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, sharey=True)
        x = _np(X_GRID)
        self.net_lines = [self.ax.plot(x, x, **viz.series_style(k, marker=False), linewidth=1.3)[0]
                          for k in range(8)]
        self.gp_lines = [self.ax2.plot(x, x, **viz.series_style(k, marker=False), linewidth=1.3)[0]
                         for k in range(8)]
        top = 3.2 * max(float(nngp_std(b).max()) for b in B_CHOICES)
        self.ax.set(xlabel="input $x$", ylabel="$f(x)$", xlim=(-4, 4), ylim=(-top, top))
        self.ax2.set(xlabel="input $x$", xlim=(-4, 4))
        viz.animate(*self.net_lines, *self.gp_lines, self.ax.title, self.ax2.title)

    def update(self, b_std=1.0, seed=0):
        nets = gallery_outputs(1024, float(b_std))
        start = (int(seed) * 8) % (N_GALLERY - 8)
        for line, y in zip(self.net_lines, nets[start:start + 8]):
            line.set_ydata(y)
        for line, y in zip(self.gp_lines, gp_draws(float(b_std))):
            line.set_ydata(y)
        self.ax.title.set_text(f"random nets, width 1024 (NTK param., b_std = {b_std})")
        self.ax2.title.set_text(f"GP samples, analytic NNGP kernel (b_std = {b_std})")


plot_gp_vs_nets = viz.plot_function(GPvsNets)


# =============================================================================================
# 6. depth and b_std reshape the kernel
# =============================================================================================
PAIRS = (-1.0, -0.3, 0.3, 2.0)  # x' paired with x = 1
MAX_DEPTH = 20


@functools.lru_cache(maxsize=32)
def correlations_vs_depth(b_std: float, max_depth: int = MAX_DEPTH) -> np.ndarray:
    """``rho^l(1, x') = Sigma^l(1, x') / sqrt(Sigma^l(1, 1) Sigma^l(x', x'))`` for l = 1..max_depth+1, x' in PAIRS."""
    x = torch.tensor([1.0, *PAIRS], dtype=torch.float64)
    layers = kernel_recursion(x, depth=int(max_depth), b_std=float(b_std))
    rows = []
    for s in layers.sigma:
        d = torch.sqrt(s.diagonal())
        rows.append(_np(s[0, 1:] / (d[0] * d[1:])))
    return np.array(rows)  # (max_depth + 1, len(PAIRS))


@functools.lru_cache(maxsize=32)
def normalized_kernels(b_std: float, depths=(1, 2, 4, 8, 16)) -> np.ndarray:
    x0 = torch.tensor([1.0], dtype=torch.float64)
    out = []
    for L in depths:
        k = analytic_nngp(x0, X_GRID, depth=L, b_std=float(b_std))[0]
        out.append(_np(k / k.max()))
    return np.array(out)


@viz.register_demo
class DepthCorrelation(viz.Demo):
    """Left: the correlation of the pre-activations at x = 1 and x' (four choices) against the layer:
    every layer pulls it towards 1, so deep networks forget how far apart their inputs were.
    Right: the kernel Sigma(1, x) / max for depths 1 to 16 (hidden layers)."""

    name = "02.depth_correlation"
    figsize = (9.6, 3.6)

    def controls(self):
        return {"b_std": viz.float_slider("b_std", 0.1, 0.0, 2.0, 0.1)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2)
        layers = np.arange(1, MAX_DEPTH + 2)
        self.lines = [self.ax.plot(layers, layers * 0.0, label=f"$x'$ = {p:+g}", markevery=3,
                                   **viz.series_style(k))[0] for k, p in enumerate(PAIRS)]
        self.ax.set(xlabel="layer $l$", ylabel=r"correlation $\rho^l(1, x')$", ylim=(-1.05, 1.05),
                    xlim=(1, MAX_DEPTH + 1))
        self.ax.axhline(1.0, color="#999999", linewidth=0.8)
        self.ax.legend(loc="lower right", fontsize=8)
        x = _np(X_GRID)
        self.klines = [self.ax2.plot(x, x * 0.0, label=f"depth {L}", **viz.series_style(k, marker=False))[0]
                       for k, L in enumerate((1, 2, 4, 8, 16))]
        self.ax2.set(xlabel="input $x$", ylabel=r"$\Sigma(1, x)\ /\ \max_x \Sigma(1, x)$", xlim=(-4, 4),
                     ylim=(-0.05, 1.05))
        self.ax2.legend(loc="upper left", fontsize=8)
        self.ax2.set_title("deeper: flatter kernel", fontsize=10)
        viz.animate(*self.lines, *self.klines, self.ax.title)

    def update(self, b_std=0.1):
        rho = correlations_vs_depth(round(float(b_std), 6))
        for k, line in enumerate(self.lines):
            line.set_ydata(rho[:, k])
        for line, k in zip(self.klines, normalized_kernels(round(float(b_std), 6))):
            line.set_ydata(k)
        self.ax.title.set_text(f"ReLU, w_std = 1, b_std = {b_std:.1f} (any parameterization)")


plot_depth_correlation = viz.plot_function(DepthCorrelation)
