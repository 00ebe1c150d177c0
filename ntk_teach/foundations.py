"""Computations behind notebook 01 (foundations): Euler's method, the CLT, Taylor polynomials, kernels.

Each piece is the small version of something the NTK story uses later: explicit Euler
is gradient descent on gradient flow (notebook 05); the CLT makes wide networks Gaussian
(notebook 02); the first-order Taylor expansion is the linearized network (notebook 04);
kernels and kernel regression are what training becomes at infinite width (notebook 06).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats

from ._validate import as_tensor, check_choice, check_float, check_int


# ------------------------------------------------------------------ a small map and its Jacobian
def example_map(x: torch.Tensor) -> torch.Tensor:
    """``F: R^2 -> R^3``, ``F(x) = (x0 x1, sin(x0) + x1^2, exp(x1))``: the running example for Jacobians."""
    return torch.stack([x[0] * x[1], torch.sin(x[0]) + x[1] ** 2, torch.exp(x[1])])


def example_map_jacobian(x: torch.Tensor) -> torch.Tensor:
    """The Jacobian of :func:`example_map` by hand: ``J[i, j] = dF_i / dx_j``, shape ``(3, 2)``."""
    x = as_tensor("x", x, torch.float64)
    return torch.tensor([[x[1], x[0]], [math.cos(x[0]), 2 * x[1]], [0.0, math.exp(x[1])]], dtype=torch.float64)


def plane_map(p: torch.Tensor) -> torch.Tensor:
    """``G: R^2 -> R^2``, ``G(p) = (p0 + 0.5 sin(2 p1), p1 + 0.4 p0^2)`` (rows of ``p`` are points)."""
    p = torch.as_tensor(p, dtype=torch.float64)
    return torch.stack([p[..., 0] + 0.5 * torch.sin(2 * p[..., 1]), p[..., 1] + 0.4 * p[..., 0] ** 2], dim=-1)


# ------------------------------------------------------------------ ODEs and explicit Euler
def euler(a: float, y0: float, h: float, n_steps: int) -> np.ndarray:
    """Explicit Euler for ``dy/dt = a y``: ``y_{k+1} = (1 + a h) y_k``; returns ``y_0 .. y_n``.

    The exact solution is ``y0 exp(a t)``. For ``a < 0`` Euler decays only if
    ``|1 + a h| < 1``, i.e. ``h < 2 / |a|``; it oscillates for ``1/|a| < h < 2/|a|``
    and diverges beyond. Gradient descent on ``L(w) = lambda w^2 / 2`` with step
    ``eta`` is exactly this with ``a = -lambda``, ``h = eta``.
    """
    a = check_float("a", a)
    y0 = check_float("y0", y0)
    h = check_float("h", h, minimum=0.0, strict_min=True)
    n_steps = check_int("n_steps", n_steps, minimum=0, maximum=10**6)
    return y0 * (1.0 + a * h) ** np.arange(n_steps + 1)


def euler_stability_limit(a: float) -> float:
    """The largest stable step ``2 / |a|`` of explicit Euler for ``dy/dt = a y`` with ``a < 0``."""
    a = check_float("a", a)
    if a >= 0:
        raise ValueError(f"a must be < 0 (a decaying solution) for a stability limit, got {a}")
    return 2.0 / abs(a)


# ------------------------------------------------------------------ the central limit theorem
DISTRIBUTIONS = {
    # name: (sampler(rng, shape), mean, variance, skewness)
    "exponential": (lambda rng, shape: rng.exponential(1.0, shape), 1.0, 1.0, 2.0),
    "uniform": (lambda rng, shape: rng.uniform(0.0, 1.0, shape), 0.5, 1.0 / 12.0, 0.0),
    "bernoulli(0.2)": (lambda rng, shape: (rng.random(shape) < 0.2).astype(float), 0.2, 0.16, 0.6 / 0.4),
}


def distribution_moments(dist: str):
    """``(mean, variance, skewness)`` of one draw of ``dist``."""
    check_choice("dist", dist, DISTRIBUTIONS)
    _, m, v, s = DISTRIBUTIONS[dist]
    return m, v, s


def sample_means(dist: str, N: int, n_samples: int, *, seed: int = 0) -> np.ndarray:
    """``n_samples`` means of ``N`` i.i.d. draws of ``dist`` (``"exponential"``, ``"uniform"``, ``"bernoulli(0.2)"``).

    Exponential means are drawn exactly as Gamma(N, 1/N) and Bernoulli means as Binomial(N, p)/N,
    so large ``N`` costs nothing; uniform means are summed.
    """
    check_choice("dist", dist, DISTRIBUTIONS)
    N = check_int("N", N, minimum=1, maximum=10**7)
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=10**7)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    if dist == "exponential":
        return rng.gamma(N, 1.0 / N, n_samples)
    if dist == "bernoulli(0.2)":
        return rng.binomial(N, 0.2, n_samples) / N
    out = np.zeros(n_samples)
    for start in range(0, N, 64):
        out += rng.uniform(0.0, 1.0, (n_samples, min(64, N - start))).sum(1)
    return out / N


def exact_mean_cdf_distance(dist: str, N: int) -> float:
    """Kolmogorov-Smirnov distance between the *exact* law of the mean of ``N`` draws and ``N(mu, sigma^2/N)``.

    Exact laws: Gamma(N, 1/N) (exponential), Binomial(N, 0.2)/N (Bernoulli). By the
    Berry-Esseen theorem the distance is at most ``C rho / (sigma^3 sqrt(N))``: it falls
    like ``N^-1/2`` for these skewed or lattice distributions.
    """
    check_choice("dist", dist, ("exponential", "bernoulli(0.2)"))
    N = check_int("N", N, minimum=1, maximum=10**7)
    m, v, _ = distribution_moments(dist)
    sd = math.sqrt(v / N)
    if dist == "exponential":
        grid = np.linspace(max(0.0, m - 12 * sd), m + 12 * sd, 20001)
        return float(np.max(np.abs(stats.gamma.cdf(grid, N, scale=1.0 / N) - stats.norm.cdf(grid, m, sd))))
    k = np.arange(N + 1)
    cdf = stats.binom.cdf(k, N, 0.2)
    x = k / N
    # the sup is attained just before or at a jump of the lattice CDF
    left = np.concatenate([[0.0], cdf[:-1]])
    g = stats.norm.cdf(x, m, sd)
    return float(max(np.max(np.abs(cdf - g)), np.max(np.abs(left - g))))


def covariance_ellipse(cov, n_std: float = 2.0, n_points: int = 200) -> np.ndarray:
    """Points ``(n_points, 2)`` of the ellipse ``{x : x^T cov^-1 x = n_std^2}`` (axes from the eigenvectors)."""
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (2, 2):
        raise ValueError(f"cov must be 2 x 2, got shape {cov.shape}")
    lam, Q = np.linalg.eigh(0.5 * (cov + cov.T))
    if lam.min() < 0:
        raise ValueError("cov must be positive semi-definite")
    t = np.linspace(0, 2 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)], 1)
    return n_std * circle * np.sqrt(lam) @ Q.T


# ------------------------------------------------------------------ Taylor expansion
def taylor_coefficients(f, a: float, k: int) -> list:
    """``[f(a), f'(a), f''(a)/2!, ..., f^(k)(a)/k!]`` by nested ``torch.func.grad`` (``f``: scalar -> scalar torch)."""
    from torch.func import grad

    a = check_float("a", a)
    k = check_int("k", k, minimum=0, maximum=12)
    t = torch.tensor(a, dtype=torch.float64)
    coeffs, g = [], f
    for order in range(k + 1):
        coeffs.append(float(g(t)) / math.factorial(order))
        g = grad(g)
    return coeffs


def taylor_polynomial(coeffs, a: float, x) -> np.ndarray:
    """Evaluate ``sum_j coeffs[j] (x - a)^j``."""
    x = np.asarray(x, dtype=float)
    return sum(c * (x - a) ** j for j, c in enumerate(coeffs))


def example_function(x):
    """The running 1-D example ``f(x) = sin(2x) + 0.3 x^2`` (torch in, torch out)."""
    return torch.sin(2 * x) + 0.3 * x**2


# ------------------------------------------------------------------ kernels
def poly2_features(x: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """Explicit features of the kernel ``(x . x' + c)^2`` for ``x`` in ``R^2`` (rows), shape ``(N, 6)``.

    ``(x.x' + c)^2 = x1^2 x1'^2 + x2^2 x2'^2 + 2 x1 x2 x1' x2' + 2c x1 x1' + 2c x2 x2' + c^2``.
    """
    x = as_tensor("x", x, torch.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2), got {tuple(x.shape)}")
    c = check_float("c", c, minimum=0.0)
    r2 = math.sqrt(2.0)
    return torch.stack([x[:, 0] ** 2, x[:, 1] ** 2, r2 * x[:, 0] * x[:, 1], math.sqrt(2 * c) * x[:, 0],
                        math.sqrt(2 * c) * x[:, 1], torch.full_like(x[:, 0], c)], dim=1)


def poly_kernel(x1, x2=None, *, c: float = 1.0, degree: int = 2) -> torch.Tensor:
    """The polynomial kernel ``(x . x' + c)^degree``, float64 ``(N1, N2)``."""
    x1 = as_tensor("x1", x1, torch.float64)
    x2 = x1 if x2 is None else as_tensor("x2", x2, torch.float64)
    degree = check_int("degree", degree, minimum=1)
    return (x1 @ x2.T + check_float("c", c, minimum=0.0)) ** degree


def nadaraya_watson(K_test_train, y) -> torch.Tensor:
    """The weighted-sum predictor ``f(x) = sum_i k(x, x_i) y_i / sum_i k(x, x_i)`` (weights sum to one)."""
    K = as_tensor("K_test_train", K_test_train, torch.float64)
    y = as_tensor("y", y, torch.float64).reshape(-1)
    if K.ndim != 2 or K.shape[1] != y.shape[0]:
        raise ValueError(f"K_test_train must be (M, {y.shape[0]}), got {tuple(K.shape)}")
    w = K / K.sum(1, keepdim=True).clamp_min(1e-300)
    return w @ y
