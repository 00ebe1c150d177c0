"""Figures and live demos of ``notebooks/01_foundations.ipynb``.

Demos (each a :class:`~ntk_teach.viz.Demo` plus its plain plotting function):

* :class:`JacobianMap` ("01.jacobian_map"): a map of the plane and its linearization ``G(p0) + J dp``
  on a circle of radius ``r``: the gap shrinks like ``r^2``.
* :class:`EulerSteps` ("01.euler"): explicit Euler on ``dy/dt = -y``; stable only for ``h < 2``.
* :class:`CLT` ("01.clt"): means of ``N`` draws against ``N(mu, sigma^2/N)``, and the exact
  Kolmogorov-Smirnov distance falling like ``N^-1/2``.
* :class:`CLT2D` ("01.clt_2d"): the multivariate CLT: scaled 2-D means and their covariance ellipse.
* :class:`Taylor` ("01.taylor"): order-``k`` Taylor polynomials and the ``(x - a)^2`` error of order 1.
* :class:`KernelRegression` ("01.kernel_regression"): weighted-sum predictor and kernel ridge regression.
* :class:`GaussianProcess` ("01.gp"): prior samples and the posterior of a squared-exponential GP.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch.func import jacrev

from .. import viz
from ..data import noisy_1d
from ..dynamics import kernel_regression
from ..foundations import (
    covariance_ellipse,
    distribution_moments,
    euler,
    example_function,
    exact_mean_cdf_distance,
    nadaraya_watson,
    plane_map,
    sample_means,
    taylor_coefficients,
    taylor_polynomial,
)
from ..gp import gp_posterior, rbf_kernel, sample_gp
from ..stats import fit_loglog

P0 = torch.tensor([0.6, 0.3], dtype=torch.float64)
N_OPTIONS = tuple(2**k for k in range(11))  # 1 .. 1024
CLT_SAMPLES = 20_000


# =============================================================================================
# 1. the Jacobian as the best local linear map
# =============================================================================================
def jacobian_gap(r: float, n: int = 200):
    """Input circle of radius ``r`` around ``P0``, its image under ``G`` and under the linearization; max gap."""
    t = torch.linspace(0, 2 * math.pi, n, dtype=torch.float64)
    dp = r * torch.stack([torch.cos(t), torch.sin(t)], 1)
    J = jacrev(plane_map)(P0)
    exact = plane_map(P0 + dp)
    lin = plane_map(P0) + dp @ J.T
    return (P0 + dp).numpy(), exact.numpy(), lin.numpy(), float((exact - lin).norm(dim=1).max())


def jacobian_gap_slope(radii=(1e-3, 3e-3, 1e-2, 3e-2, 1e-1)):
    return fit_loglog(radii, [jacobian_gap(r)[3] for r in radii])


@viz.register_demo
class JacobianMap(viz.Demo):
    """Left: a circle of radius r around p0. Right: its image under the map G (solid) and under the
    linear map J(p0) dp (dashed), both divided by r. Shrink r: the two merge; the gap is proportional to r^2."""

    name = "01.jacobian_map"
    figsize = (9.0, 3.8)

    def controls(self):
        return {"radius": viz.log_slider("radius", 0.5, -2, 0.0, 0.25)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2)
        (self.inp,) = self.ax.plot([], [], **viz.series_style(0, marker=False))
        self.ax.plot(*P0.numpy(), "k+", markersize=12)
        p0 = P0.numpy()
        self.ax.set(xlabel="$p_1$", ylabel="$p_2$", aspect="equal", title="input: circle of radius $r$ around $p_0$",
                    xlim=(p0[0] - 1.1, p0[0] + 1.1), ylim=(p0[1] - 1.1, p0[1] + 1.1))
        (self.ex,) = self.ax2.plot([], [], label="$(G(p_0 + dp) - G(p_0)) / r$", **viz.series_style(0, marker=False))
        (self.li,) = self.ax2.plot([], [], label="$J\\,dp / r$ (linear)", **viz.series_style(1, marker=False))
        self.ax2.set(xlabel="$\\Delta G_1 / r$", ylabel="$\\Delta G_2 / r$", aspect="equal", xlim=(-2.5, 2.5),
                     ylim=(-2.5, 2.5))
        self.ax2.legend(loc="upper left", fontsize=8)
        viz.animate(self.inp, self.ex, self.li, self.ax2.title)

    def update(self, radius=0.5):
        r = float(radius)
        inp, ex, li, gap = jacobian_gap(r)
        g0 = plane_map(P0).numpy()
        self.inp.set_data(inp[:, 0], inp[:, 1])
        self.ex.set_data((ex[:, 0] - g0[0]) / r, (ex[:, 1] - g0[1]) / r)
        self.li.set_data((li[:, 0] - g0[0]) / r, (li[:, 1] - g0[1]) / r)
        self.ax2.title.set_text(f"images scaled by 1/r: max gap {gap:.2e} = {gap / r**2:.2f} r$^2$")


plot_jacobian_map = viz.plot_function(JacobianMap)


# =============================================================================================
# 2. explicit Euler = gradient descent
# =============================================================================================
A = -1.0
T_MAX = 12.0


@viz.register_demo
class EulerSteps(viz.Demo):
    """Left: the exact solution of dy/dt = -y and explicit Euler with step h. Right: Euler multiplies y by
    (1 - h) per step: it decays only while |1 - h| < 1, i.e. h < 2 (dashed line)."""

    name = "01.euler"
    figsize = (9.6, 3.6)

    def controls(self):
        return {"h": viz.float_slider("h", 0.5, 0.1, 2.6, 0.1)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        t = np.linspace(0, T_MAX, 400)
        self.ax.plot(t, np.exp(A * t), color=viz.THEORY_COLOR, linestyle="--", linewidth=2, label="exact $e^{-t}$")
        (self.pts,) = self.ax.plot([], [], label="Euler", **viz.series_style(0))
        self.ax.axhline(0, color="#999999", linewidth=0.8)
        self.ax.set(xlabel="time $t$", ylabel="$y(t)$", xlim=(0, T_MAX), ylim=(-2.2, 2.2))
        self.ax.legend(loc="upper right", fontsize=8)
        hs = np.linspace(0.0, 2.7, 200)
        self.ax2.plot(hs, np.abs(1 + A * hs), **viz.series_style(2, marker=False), label="$|1 + a h|$")
        self.ax2.axhline(1, color="#999999", linewidth=0.8)
        self.ax2.axvline(2.0, color=viz.OKABE_ITO["vermillion"], linestyle="--", label="stability limit $h = 2/|a|$")
        (self.mark,) = self.ax2.plot([], [], "o", markersize=10, markerfacecolor="none", markeredgewidth=2,
                                     color=viz.THEORY_COLOR)
        self.ax2.set(xlabel="step size $h$", ylabel="growth factor per step", ylim=(0, 1.8))
        self.ax2.legend(loc="upper left", fontsize=8)
        viz.animate(self.pts, self.mark, self.ax.title)

    def update(self, h=0.5):
        h = float(h)
        n = int(T_MAX / h)
        y = euler(A, 1.0, h, n)
        self.pts.set_data(h * np.arange(n + 1), np.clip(y, -50, 50))
        g = abs(1 + A * h)
        self.mark.set_data([h], [g])
        verdict = "decays" if g < 1 else ("stays" if g == 1 else "diverges")
        self.ax.title.set_text(f"dy/dt = -y, Euler with h = {h:.1f}: {verdict}")


plot_euler = viz.plot_function(EulerSteps)


# =============================================================================================
# 3. the CLT, one variable
# =============================================================================================
@functools.lru_cache(maxsize=64)
def means_of(dist: str, N: int) -> np.ndarray:
    return sample_means(dist, int(N), CLT_SAMPLES, seed=int(N))


@functools.lru_cache(maxsize=1)
def ks_table():
    Ns = np.array(N_OPTIONS, dtype=float)
    out = {"N": Ns}
    for dist in ("exponential", "bernoulli(0.2)"):
        d = np.array([exact_mean_cdf_distance(dist, int(n)) for n in N_OPTIONS])
        out[dist] = d
        keep = Ns >= 16
        out[dist + " fit"] = fit_loglog(Ns[keep], d[keep])
    return out


@viz.register_demo
class CLT(viz.Demo):
    """Left: 20 000 means of N draws against the normal density N(mu, sigma^2/N). Right: the exact
    Kolmogorov-Smirnov distance between the law of the mean and that normal, against N (slope -1/2)."""

    name = "01.clt"
    figsize = (9.6, 3.7)

    def controls(self):
        return {"N": viz.width_slider(N_OPTIONS, value=4, description="N"),
                "dist": viz.choice("dist", ("exponential", "uniform", "bernoulli(0.2)"))}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2)
        self.edges = np.linspace(-4, 4, 61)
        c = 0.5 * (self.edges[1:] + self.edges[:-1])
        self.bars = self.ax.stairs(np.zeros_like(c), self.edges, fill=True, color=viz.COLORS[0], alpha=0.55,
                                   label="20 000 means (standardized)")
        xs = np.linspace(-4, 4, 300)
        self.ax.plot(xs, np.exp(-xs**2 / 2) / math.sqrt(2 * math.pi), color=viz.THEORY_COLOR, linestyle="--",
                     linewidth=2, label="$N(0, 1)$")
        self.ax.set(xlabel=r"$(\bar x_N - \mu) / (\sigma / \sqrt{N})$", ylabel="density", xlim=(-4, 4), ylim=(0, 1.0))
        self.ax.legend(loc="upper left", fontsize=8)
        t = ks_table()
        for k, dist in enumerate(("exponential", "bernoulli(0.2)")):
            st = viz.series_style(k)
            fit = t[dist + " fit"]
            self.ax2.plot(t["N"], t[dist], linestyle="none", marker=st["marker"], color=st["color"])
            self.ax2.plot(t["N"], fit.predict(t["N"]), color=st["color"], linestyle=st["linestyle"],
                          label=viz.slope_label(dist, fit.slope, -0.5))
        (self.mark,) = self.ax2.plot([], [], "o", markersize=13, markerfacecolor="none", markeredgewidth=2,
                                     color=viz.OKABE_ITO["vermillion"])
        self.ax2.set(xscale="log", yscale="log", xlabel="$N$", ylabel="KS distance to the normal")
        self.ax2.legend(loc="lower left", fontsize=8)
        self.ax2.set_title("exact laws (Gamma, Binomial); fit $N \\geq 16$", fontsize=10)
        viz.animate(self.bars, self.mark, self.ax.title)

    def update(self, N=4, dist="exponential"):
        m, v, _ = distribution_moments(dist)
        z = (means_of(dist, int(N)) - m) / math.sqrt(v / int(N))
        counts, _ = np.histogram(z, bins=self.edges)
        dens = counts / (z.shape[0] * np.diff(self.edges))
        self.bars.set_data(dens)
        t = ks_table()
        key = dist if dist in t else "exponential"
        self.mark.set_data([N], [t[key][list(N_OPTIONS).index(int(N))]] if dist in t else ([], []))
        self.ax.title.set_text(f"means of N = {N} {dist} draws")


plot_clt = viz.plot_function(CLT)


# =============================================================================================
# 4. the multivariate CLT
# =============================================================================================
COV_2D = np.array([[1.0, 1.0], [1.0, 1.0 + 1.0 / 3.0]])  # of (E, E + U), E ~ Exp(1), U ~ U(-1, 1)


@functools.lru_cache(maxsize=32)
def scaled_means_2d(N: int, n: int = 2000) -> np.ndarray:
    """``sqrt(N) (mean - mu)`` of ``n`` means of ``N`` draws of ``(E, E + U)``."""
    rng = np.random.default_rng(int(N))
    E = rng.gamma(int(N), 1.0, n)  # sum of N exponentials
    U = rng.uniform(-1, 1, (n, int(N))).sum(1)
    s = np.stack([E, E + U], 1) / int(N)
    return math.sqrt(int(N)) * (s - np.array([1.0, 1.0]))


def fraction_in_ellipse(points: np.ndarray, cov=COV_2D, n_std: float = 2.0) -> float:
    """Fraction of points with ``x^T cov^-1 x <= n_std^2`` (Gaussian: ``1 - exp(-n_std^2/2)``, 86.5 % for 2)."""
    q = np.einsum("ij,jk,ik->i", points, np.linalg.inv(cov), points)
    return float((q <= n_std**2).mean())


@viz.register_demo
class CLT2D(viz.Demo):
    """2000 scaled means sqrt(N)(mean - mu) of the 2-D vector (E, E + U) with E exponential and U uniform,
    and the 2-sigma ellipse of their covariance (which a Gaussian fills to 86.5 %)."""

    name = "01.clt_2d"
    figsize = (5.2, 4.2)

    def controls(self):
        return {"N": viz.width_slider(N_OPTIONS, value=1, description="N")}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        (self.pts,) = self.ax.plot([], [], ".", markersize=2.5, alpha=0.5, color=viz.COLORS[0])
        e = covariance_ellipse(COV_2D)
        self.ax.plot(e[:, 0], e[:, 1], color=viz.THEORY_COLOR, linestyle="--", linewidth=2,
                     label="2-sigma ellipse of the covariance")
        self.ax.set(xlabel="first coordinate", ylabel="second coordinate", xlim=(-4, 6), ylim=(-4, 6),
                    aspect="equal")
        self.ax.legend(loc="upper left", fontsize=8)
        viz.animate(self.pts, self.ax.title)

    def update(self, N=1):
        p = scaled_means_2d(int(N))
        self.pts.set_data(p[:, 0], p[:, 1])
        self.ax.title.set_text(f"N = {N}: {100 * fraction_in_ellipse(p):.1f} % inside (Gaussian: 86.5 %)")


plot_clt_2d = viz.plot_function(CLT2D)


# =============================================================================================
# 5. Taylor expansion
# =============================================================================================
X_T = np.linspace(-3, 3, 300)


@functools.lru_cache(maxsize=256)
def _coeffs(a: float, k: int):
    return tuple(taylor_coefficients(example_function, a, k))


def taylor_error_fit(order: int, a: float = 0.5, hs=(1e-3, 3e-3, 1e-2, 3e-2, 1e-1)):
    """Fit the error of the order-``order`` expansion, ``|f(a + h) - T(a + h)|``, against ``h`` (slope order + 1)."""
    c = _coeffs(float(a), order)
    f = example_function(torch.tensor(a + np.array(hs), dtype=torch.float64)).numpy()
    return fit_loglog(hs, np.abs(f - taylor_polynomial(c, a, a + np.array(hs))))


@viz.register_demo
class Taylor(viz.Demo):
    """Left: f(x) = sin(2x) + 0.3 x^2 and its Taylor polynomial of order k around a. Right: the errors of the
    orders 1 and 2 against the distance h to a: slopes 2 and 3 (error of order k ~ h^(k+1))."""

    name = "01.taylor"
    figsize = (9.6, 3.6)

    def controls(self):
        return {"k": viz.int_slider("k", 1, 0, 8), "a": viz.float_slider("a", 0.5, -2.5, 2.5, 0.25)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2)
        f = example_function(torch.tensor(X_T)).numpy()
        self.ax.plot(X_T, f, color=viz.THEORY_COLOR, linewidth=2, label="$f(x)$")
        (self.poly,) = self.ax.plot(X_T, f, label="Taylor polynomial", **viz.series_style(0, marker=False))
        (self.pt,) = self.ax.plot([], [], "o", color=viz.OKABE_ITO["vermillion"])
        self.ax.set(xlabel="$x$", ylabel="$f(x)$", xlim=(-3, 3), ylim=(-2, 4))
        self.ax.legend(loc="upper left", fontsize=8)
        hs = np.geomspace(1e-3, 1e-1, 20)
        self.hs = hs
        self.err_lines = [self.ax2.plot(hs, hs, label=lab, **viz.series_style(i, marker=False))[0]
                          for i, lab in enumerate(("order 1", "order 2"))]
        self.ax2.set(xscale="log", yscale="log", xlabel="distance $h = x - a$", ylabel="$|f(x) - T(x)|$",
                     ylim=(1e-12, 1e-1))
        self.ax2.legend(loc="lower right", fontsize=8)
        viz.animate(self.poly, self.pt, *self.err_lines, self.ax.title, self.ax2.title)

    def update(self, k=1, a=0.5):
        a = float(a)
        c = _coeffs(a, int(k))
        self.poly.set_ydata(np.clip(taylor_polynomial(c, a, X_T), -10, 10))
        self.pt.set_data([a], [c[0]])
        self.ax.title.set_text(f"order {k} around a = {a:+.2f}")
        f = example_function(torch.tensor(a + self.hs)).numpy()
        slopes = []
        for order, line in ((1, self.err_lines[0]), (2, self.err_lines[1])):
            err = np.abs(f - taylor_polynomial(_coeffs(a, order), a, a + self.hs)) + 1e-18
            line.set_ydata(err)
            slopes.append(taylor_error_fit(order, a).slope)
        self.ax2.title.set_text(f"fitted slopes {slopes[0]:.2f} and {slopes[1]:.2f} (theory 2 and 3)")


plot_taylor = viz.plot_function(Taylor)


# =============================================================================================
# 6. kernel regression
# =============================================================================================
X_TRAIN, Y_TRAIN = noisy_1d(20, fn="sin", noise=0.15, seed=2)
X_TEST = torch.linspace(-3.5, 3.5, 200, dtype=torch.float64)


def kernel_predictions(length_scale: float, ridge: float):
    K = rbf_kernel(X_TRAIN, length_scale=length_scale)
    Ks = rbf_kernel(X_TEST, X_TRAIN, length_scale=length_scale)
    return nadaraya_watson(Ks, Y_TRAIN).numpy(), kernel_regression(K, Ks, Y_TRAIN, ridge=ridge).numpy()


@viz.register_demo
class KernelRegression(viz.Demo):
    """Two kernel predictors with a squared-exponential kernel: the weighted average of the targets
    (Nadaraya-Watson) and kernel ridge regression K*X (K + ridge I)^-1 y. Vary the length-scale."""

    name = "01.kernel_regression"
    figsize = (7.2, 3.8)

    def controls(self):
        return {"length_scale": viz.log_slider("length_scale", 0.5, -1.5, 0.5, 0.1),
                "ridge": viz.log_slider("ridge", 1e-2, -6, 1, 0.5)}

    def setup(self, fig):
        self.ax = fig.add_subplot()
        x = X_TEST.numpy()
        self.ax.plot(x, np.sin(x), color="#999999", linewidth=1, label="true $\\sin x$")
        self.ax.plot(X_TRAIN, Y_TRAIN, "o", color=viz.THEORY_COLOR, label="20 noisy points")
        (self.nw,) = self.ax.plot(x, x, label="weighted sum (Nadaraya-Watson)", **viz.series_style(0, marker=False))
        (self.krr,) = self.ax.plot(x, x, label="kernel ridge regression", **viz.series_style(1, marker=False))
        self.ax.set(xlabel="$x$", ylabel="prediction", xlim=(-3.5, 3.5), ylim=(-2, 2))
        self.ax.legend(loc="upper left", fontsize=8)
        viz.animate(self.nw, self.krr, self.ax.title)

    def update(self, length_scale=0.5, ridge=1e-2):
        nw, krr = kernel_predictions(float(length_scale), float(ridge))
        self.nw.set_ydata(nw)
        self.krr.set_ydata(krr)
        self.ax.title.set_text(f"RBF kernel, length-scale {length_scale:.3g}, ridge {ridge:.1g}")


plot_kernel_regression = viz.plot_function(KernelRegression)


# =============================================================================================
# 7. Gaussian processes
# =============================================================================================
X_GP = torch.tensor([-2.0, -1.0, 0.5, 1.5, 2.5], dtype=torch.float64)
Y_GP = torch.sin(X_GP)


def gp_fit(length_scale: float):
    return gp_posterior(rbf_kernel(X_GP, length_scale=length_scale),
                        rbf_kernel(X_TEST, X_GP, length_scale=length_scale),
                        rbf_kernel(X_TEST, length_scale=length_scale), Y_GP)


@viz.register_demo
class GaussianProcess(viz.Demo):
    """Left: five draws from a GP prior with a squared-exponential kernel. Right: the posterior given
    five exact observations: mean and a 2-sigma band that pinches at the data."""

    name = "01.gp"
    figsize = (9.6, 3.6)

    def controls(self):
        return {"length_scale": viz.log_slider("length_scale", 1.0, -1, 0.5, 0.1)}

    def setup(self, fig):
        self.ax, self.ax2 = fig.subplots(1, 2, sharey=True)
        x = X_TEST.numpy()
        self.samples = [self.ax.plot(x, x, **viz.series_style(k, marker=False))[0] for k in range(5)]
        self.ax.set(xlabel="$x$", ylabel="$f(x)$", xlim=(-3.5, 3.5), ylim=(-3.2, 3.2), title="prior samples")
        (self.mean,) = self.ax2.plot(x, x, label="posterior mean", **viz.series_style(0, marker=False))
        (self.up,) = self.ax2.plot(x, x, color=viz.COLORS[0], linestyle=":", linewidth=1.5, label="$\\pm 2\\sigma$")
        (self.lo,) = self.ax2.plot(x, x, color=viz.COLORS[0], linestyle=":", linewidth=1.5)
        self.ax2.plot(X_GP, Y_GP, "o", color=viz.THEORY_COLOR, label="observations")
        self.ax2.set(xlabel="$x$", xlim=(-3.5, 3.5))
        self.ax2.legend(loc="lower left", fontsize=8)
        viz.animate(*self.samples, self.mean, self.up, self.lo, self.ax.title, self.ax2.title)

    def update(self, length_scale=1.0):
        ls = float(length_scale)
        for line, s in zip(self.samples, sample_gp(rbf_kernel(X_TEST, length_scale=ls), 5, seed=1)):
            line.set_ydata(s.numpy())
        post = gp_fit(ls)
        m, sd = post.mean.numpy(), post.std.numpy()
        self.mean.set_ydata(m)
        self.up.set_ydata(m + 2 * sd)
        self.lo.set_ydata(m - 2 * sd)
        self.ax2.title.set_text(f"posterior, length-scale {ls:.2g} (jitter {post.jitter:.0e})")
        self.ax.title.set_text(f"prior samples, length-scale {ls:.2g}")


plot_gp = viz.plot_function(GaussianProcess)
