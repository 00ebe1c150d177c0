"""Gaussian-process regression with any kernel matrix, computed stably.

Used for the squared-exponential GP of the foundations notebook and for the
NNGP (Bayesian) posterior of wide networks. Everything goes through a Cholesky
factorisation of ``K + (noise^2 + jitter) I``; the jitter (default
``1e-10 * mean(diag K)``) only makes a numerically singular kernel factorisable
and is reported back, never hidden.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ._validate import as_tensor, check_float, check_int


def rbf_kernel(x1, x2=None, *, length_scale: float = 1.0, variance: float = 1.0) -> torch.Tensor:
    """Squared-exponential kernel ``variance * exp(-|x - x'|^2 / (2 length_scale^2))``, float64 ``(N1, N2)``."""
    ls = check_float("length_scale", length_scale, minimum=0.0, strict_min=True)
    var = check_float("variance", variance, minimum=0.0, strict_min=True)
    x1 = as_tensor("x1", x1, torch.float64)
    x1 = x1[:, None] if x1.ndim == 1 else x1
    x2 = x1 if x2 is None else as_tensor("x2", x2, torch.float64)
    x2 = x2[:, None] if x2.ndim == 1 else x2
    if x1.ndim != 2 or x2.ndim != 2 or x1.shape[1] != x2.shape[1]:
        raise ValueError(f"x1 and x2 must be (N,) or (N, d) with the same d, got {tuple(x1.shape)}, {tuple(x2.shape)}")
    d2 = (x1[:, None, :] - x2[None, :, :]).pow(2).sum(-1)
    return var * torch.exp(-0.5 * d2 / ls**2)


def stable_cholesky(K, *, jitter: float | None = None, max_tries: int = 6):
    """Cholesky factor of a symmetric PSD matrix, adding ``jitter * I`` if needed.

    Starts with ``jitter`` (default ``1e-10 * mean(diag K)``) and multiplies it by 10 up to
    ``max_tries`` times. Returns ``(L, jitter_used)``; raises ``ValueError`` if ``K`` is not PSD.
    """
    K = as_tensor("K", K, torch.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be a square matrix, got shape {tuple(K.shape)}")
    K = 0.5 * (K + K.T)
    scale = float(K.diagonal().mean().abs()) or 1.0
    j = 1e-10 * scale if jitter is None else check_float("jitter", jitter, minimum=0.0)
    eye = torch.eye(K.shape[0], dtype=K.dtype)
    L, info = torch.linalg.cholesky_ex(K)
    if int(info) == 0:
        return L, 0.0
    for _ in range(check_int("max_tries", max_tries, minimum=1)):
        L, info = torch.linalg.cholesky_ex(K + j * eye)
        if int(info) == 0:
            return L, j
        j *= 10
    raise ValueError(f"K is not positive semi-definite (Cholesky failed even with jitter {j / 10:.1e} * I)")


class GPPosterior(NamedTuple):
    """Posterior mean ``(M,)``, covariance ``(M, M)``, pointwise std ``(M,)``, and the jitter that was used."""

    mean: torch.Tensor
    cov: torch.Tensor
    std: torch.Tensor
    jitter: float


def gp_posterior(K_train, K_test_train, K_test, y, *, noise: float = 0.0, jitter: float | None = None) -> GPPosterior:
    """GP regression: ``mean = K*X (K + s^2 I)^{-1} y``, ``cov = K** - K*X (K + s^2 I)^{-1} KX*``.

    ``K_train`` (N, N), ``K_test_train`` (M, N), ``K_test`` (M, M) from the same kernel;
    ``noise`` is the observation noise standard deviation ``s``. Solved with a Cholesky
    factor (and jitter, reported, when the kernel matrix is numerically singular).
    """
    noise = check_float("noise", noise, minimum=0.0)
    K = as_tensor("K_train", K_train, torch.float64)
    Ks = as_tensor("K_test_train", K_test_train, torch.float64)
    Kss = as_tensor("K_test", K_test, torch.float64)
    y = as_tensor("y", y, torch.float64).reshape(-1)
    N = y.shape[0]
    if K.shape != (N, N) or Ks.ndim != 2 or Ks.shape[1] != N or Kss.shape != (Ks.shape[0], Ks.shape[0]):
        raise ValueError(f"shapes must be K_train (N, N), K_test_train (M, N), K_test (M, M), y (N,); got "
                         f"{tuple(K.shape)}, {tuple(Ks.shape)}, {tuple(Kss.shape)}, {tuple(y.shape)}")
    L, used = stable_cholesky(K + noise**2 * torch.eye(N, dtype=K.dtype), jitter=jitter)
    alpha = torch.cholesky_solve(y[:, None], L)[:, 0]
    V = torch.linalg.solve_triangular(L, Ks.T, upper=False)
    mean = Ks @ alpha
    cov = Kss - V.T @ V
    cov = 0.5 * (cov + cov.T)
    std = torch.sqrt(torch.clamp(cov.diagonal(), min=0.0))  # rounding can make a zero variance -1e-16
    return GPPosterior(mean, cov, std, used)


def sample_gp(K, n_samples: int = 1, *, mean=None, seed: int = 0, jitter: float | None = None) -> torch.Tensor:
    """``n_samples`` draws from ``N(mean, K)`` as ``(n_samples, M)`` (Cholesky with jitter)."""
    n_samples = check_int("n_samples", n_samples, minimum=1)
    L, _ = stable_cholesky(K, jitter=jitter)
    g = torch.Generator()
    g.manual_seed(check_int("seed", seed, minimum=0))
    z = torch.randn(n_samples, L.shape[0], generator=g, dtype=torch.float64)
    out = z @ L.T
    if mean is not None:
        out = out + as_tensor("mean", mean, torch.float64).reshape(1, -1)
    return out
