"""Predictions of infinitely wide networks: the infinite ensemble, the Bayesian posterior, the minimum-norm view.

Notebook 06 (``06_generalization_and_infinite_ensembles``) is built on this module.

The infinite ensemble (Lee et al. 2019)
---------------------------------------
Train an infinitely wide network by gradient flow on the course loss
``L = 1/2 * sum_i (f(x_i) - y_i)^2`` with learning rate ``eta``. Its NTK ``Theta`` stays
constant, so the output at test points ``x*`` is (``f_0`` = the output at initialization)::

    f_t(x*) = f_0(x*) + Theta(x*, X) Theta^{-1} (I - exp(-eta Theta t)) (Y - f_0(X))

At initialization the outputs ``(f_0(x*), f_0(X))`` are jointly Gaussian with mean 0 and
covariance given by the NNGP kernel ``K`` (written ``Sigma`` in the course; Lee et al. write
``calK``). ``f_t(x*)`` is linear in ``f_0``, so over random initializations (an *infinite
ensemble*) it is Gaussian with, writing ``A_t = Theta(x*, X) Theta^{-1} (I - exp(-eta Theta t))``::

    mean_t(x*)   = A_t Y
    cov_t(x*,x*) = K(x*, x*) + A_t K(X, X) A_t^T - A_t K(X, x*) - K(x*, X) A_t^T

As ``t -> infinity``, ``A_t -> Theta(x*, X) Theta^{-1}``: the mean is kernel regression with the
NTK, and at the training inputs the variance is 0 (every network interpolates). Training only
the readout layer replaces ``Theta`` by ``K`` (the readout's NTK *is* the NNGP kernel), and then
``cov_t = K** - K*X K^{-1} (I - exp(-2 eta K t)) KX*``: at ``t = infinity`` exactly the Bayesian
(GP) posterior with the NNGP prior and no observation noise. With all layers trained the
ensemble is **not** the Bayesian posterior.

Convention check: neural-tangents' ``predict.gradient_descent_mse_ensemble`` implements the same
formulas for the *mean* squared error, so its exponent reads ``exp(-eta Theta t / N)`` with ``N``
the number of training targets; ours has no ``1/N``. Discrete gradient descent with step
``eta`` replaces ``exp(-eta Theta t)`` by ``(I - eta Theta)^k`` after ``k`` steps (``steps=``).

All matrices go through the eigendecomposition ``Theta = Q diag(lam) Q^T``: every function of
``Theta`` above is a *spectral filter* applied to the eigenvalues, e.g. gradient flow stopped
at time ``t`` applies ``(1 - exp(-eta lam t)) / lam`` where kernel ridge regression applies
``1 / (lam + ridge)`` (:func:`gd_filter`, :func:`ridge_filter`): early stopping regularizes like
a ridge of about ``1 / (eta t)``.

Functions
---------
``transfer_matrix``      ``A_t``: the test outputs of one trained net are ``f_0(x*) + A_t (Y - f_0(X))``
``ensemble_predictive``  mean and covariance from kernel matrices (any ``Theta`` and ``K``)
``infinite_ensemble``    the same from inputs, with the analytic kernels of :class:`ntk_teach.MLP`
``nngp_posterior``       the Bayesian posterior with the NNGP prior (via :func:`ntk_teach.gp_posterior`)
``gd_filter``, ``gd_steps_filter``, ``ridge_filter``, ``matched_ridge``   spectral filters
``min_norm_step``        ``J^+ (y - f_0)``: where gradient descent on the linearized model ends
``expected_test_error``  bias^2 + variance of an ensemble against targets
``noise_gain``           the share of label-noise variance that interpolation passes on to test points
``learning_curve``       test error against the number of training points
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from ._threads import torch_threads
from ._validate import as_tensor, check_choice, check_float, check_int

REGIMES = ("ntk", "nngp")


def single_threaded():
    """Run torch on one thread inside the block (restored afterwards); see :mod:`ntk_teach._threads`
    (measured on a loaded 2-core machine: 0.4 s on one thread against 20 s on two for :func:`learning_curve`)."""
    return torch_threads(1)


class Gaussian(NamedTuple):
    """A Gaussian prediction: ``mean`` ``(M,)`` or ``(T, M)``, ``cov`` ``(M, M)`` or ``(T, M, M)`` (or None)."""

    mean: torch.Tensor
    cov: torch.Tensor | None

    @property
    def std(self) -> torch.Tensor | None:
        """Pointwise standard deviation ``sqrt(diag cov)`` (rounding below 0 clipped to 0)."""
        if self.cov is None:
            return None
        return torch.sqrt(torch.clamp(torch.diagonal(self.cov, dim1=-2, dim2=-1), min=0.0))


# ------------------------------------------------------------------ spectral filters
def _lam(lam):
    lam = as_tensor("lam", lam, torch.float64)
    if bool((lam < 0).any()):
        raise ValueError(f"lam (eigenvalues of a kernel matrix) must be >= 0, got min {float(lam.min()):.3g}")
    return lam


def gd_filter(lam, t, *, eta: float = 1.0) -> torch.Tensor:
    """Gradient flow's spectral filter ``(1 - exp(-eta lam t)) / lam`` (``eta t`` at ``lam = 0``).

    ``lam`` and ``t`` broadcast (e.g. ``lam[None, :]`` and ``t[:, None]``). ``t = inf`` gives
    ``1 / lam`` (and 0 at ``lam = 0``: the pseudo-inverse). The prediction of a kernel-trained
    model at time ``t`` is ``Theta(x*, X) Q diag(gd_filter(lam, t)) Q^T (Y - f_0)`` plus ``f_0(x*)``.
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam = _lam(lam)
    t = torch.as_tensor(t, dtype=torch.float64)
    if bool((t < 0).any()) or bool(torch.isnan(t).any()):
        raise ValueError("t must be >= 0 (inf allowed)")
    lam, t = torch.broadcast_tensors(lam, t)
    pos = lam > 0
    safe = torch.where(pos, lam, torch.ones_like(lam))
    x = eta * safe * torch.where(torch.isinf(t), torch.zeros_like(t), t)
    finite = torch.where(pos, -torch.expm1(-x) / safe, eta * torch.where(torch.isinf(t), torch.zeros_like(t), t))
    infinite = torch.where(pos, 1.0 / safe, torch.zeros_like(lam))
    return torch.where(torch.isinf(t), infinite, finite)


def gd_steps_filter(lam, steps, *, eta: float) -> torch.Tensor:
    """Discrete gradient descent's filter ``(1 - (1 - eta lam)^k) / lam`` after ``k = steps`` (``eta k`` at ``lam = 0``)."""
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam = _lam(lam)
    k = torch.as_tensor(steps, dtype=torch.float64)
    if bool((k < 0).any()) or not bool((k == torch.round(k)).all()):
        raise ValueError("steps must be whole numbers >= 0")
    lam, k = torch.broadcast_tensors(lam, k)
    pos = lam > 0
    safe = torch.where(pos, lam, torch.ones_like(lam))
    return torch.where(pos, (1.0 - torch.pow(1.0 - eta * safe, k)) / safe, eta * k)


def ridge_filter(lam, ridge: float) -> torch.Tensor:
    """Kernel ridge regression's filter ``1 / (lam + ridge)`` (0 where ``lam + ridge = 0``: the pseudo-inverse)."""
    ridge = check_float("ridge", ridge, minimum=0.0)
    lam = _lam(lam)
    s = lam + ridge
    return torch.where(s > 0, 1.0 / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(s))


def matched_ridge(t: float, *, eta: float = 1.0) -> float:
    """The ridge ``1 / (eta t)`` that early stopping at time ``t`` resembles.

    With ``x = eta lam t`` the two filters differ by the factor
    ``gd_filter / ridge_filter = (1 - e^{-x}) (1 + 1/x)``, which lies in ``[1, 1.2985]`` for every
    ``x > 0`` (it tends to 1 for ``x -> 0`` and ``x -> inf``; its maximum, 1.298426, is at ``x = 1.7933``).
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    t = check_float("t", t, minimum=0.0, strict_min=True)
    return 1.0 / (eta * t)


#: An upper bound of ``max_x (1 - e^{-x})(1 + 1/x) = 1.298426`` (at ``x = 1.7933``): the largest ratio of the
#: gradient-flow filter to the matched ridge filter.
FILTER_RATIO_MAX = 1.2985

# ------------------------------------------------------------------ the infinite ensemble
def _eigh_psd(name, K):
    K = as_tensor(name, K, torch.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"{name} must be a square (N, N) matrix, got shape {tuple(K.shape)}")
    scale = float(K.abs().max()) if K.numel() else 1.0
    if not torch.allclose(K, K.T, rtol=1e-8, atol=1e-10 * scale):
        raise ValueError(f"{name} must be symmetric (a kernel Gram matrix)")
    lam, Q = torch.linalg.eigh(0.5 * (K + K.T))
    top = float(lam.abs().max()) if lam.numel() else 1.0
    if float(lam.min()) < -1e-8 * max(top, 1e-300):
        raise ValueError(f"{name} must be positive semi-definite; its smallest eigenvalue is {float(lam.min()):.3g}")
    lam = torch.where(lam < 1e-13 * top, torch.zeros_like(lam), lam)
    return lam, Q


def _time_filter(lam, t, steps, eta):
    """``(T, N)`` filter values and the flag ``scalar`` (one time given as a number)."""
    if steps is not None:
        if t is not None and not (isinstance(t, float) and math.isinf(t)):
            raise TypeError("give either t (gradient flow) or steps (gradient descent), not both")
        k = torch.as_tensor(steps, dtype=torch.float64)
        scalar = k.ndim == 0
        return gd_steps_filter(lam[None, :], k.reshape(-1, 1), eta=eta), scalar
    t = torch.as_tensor(math.inf if t is None else t, dtype=torch.float64)
    scalar = t.ndim == 0
    return gd_filter(lam[None, :], t.reshape(-1, 1), eta=eta), scalar


def transfer_matrix(ntk_train, ntk_test_train, t=math.inf, *, eta: float = 1.0, steps=None) -> torch.Tensor:
    """``A_t = Theta(x*, X) Theta^{-1} (I - exp(-eta Theta t))``: how training residuals move test outputs.

    A network trained in the kernel regime from outputs ``f_0`` ends at
    ``f_t(x*) = f_0(x*) + A_t (Y - f_0(X))`` (one net; ``f_0`` may be ``(E, N)`` for many).
    ``t`` as in :func:`ensemble_predictive` (``inf``, a number or a 1-D array -> leading time
    axis), or ``steps`` of gradient descent (``(I - eta Theta)^k`` in place of the exponential).
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, Q = _eigh_psd("ntk_train", ntk_train)
    N = lam.shape[0]
    Ts = as_tensor("ntk_test_train", ntk_test_train, torch.float64)
    if Ts.ndim != 2 or Ts.shape[1] != N:
        raise ValueError(f"ntk_test_train must have shape (M, {N}), got {tuple(Ts.shape)}")
    g, scalar = _time_filter(lam, t, steps, eta)
    A = torch.einsum("mi,ti,ni->tmn", Ts @ Q, g, Q)
    return A[0] if scalar else A


def ensemble_predictive(ntk_train, ntk_test_train, nngp_train, nngp_test_train, nngp_test, y, t=math.inf, *,
                        eta: float = 1.0, steps=None, compute_cov: bool = True) -> Gaussian:
    """Mean and covariance, over random initializations, of infinitely wide nets trained on ``(X, y)``.

    Parameters
    ----------
    ntk_train : (N, N) ``Theta(X, X)``, the kernel that drives training (the NTK; pass the NNGP
        kernel here to model training of the readout layer only).
    ntk_test_train : (M, N) ``Theta(x*, X)``.
    nngp_train, nngp_test_train, nngp_test : (N, N), (M, N), (M, M) the NNGP kernel ``K``, the
        covariance of the outputs at initialization (``nngp_test`` may be None when ``compute_cov=False``).
    y : (N,) targets.
    t : time (scalar, ``inf`` = converged, or a 1-D array of times) of gradient flow with rate ``eta``.
    steps : instead of ``t``, a number (or 1-D array) of gradient-descent steps of size ``eta``.
    compute_cov : also return the covariance (else ``cov`` is None).

    Returns a :class:`Gaussian`: ``mean`` ``(M,)`` and ``cov`` ``(M, M)`` for one time, with a
    leading time axis ``T`` for an array of times. Formulas in the module docstring.
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, Q = _eigh_psd("ntk_train", ntk_train)
    N = lam.shape[0]
    Ts = as_tensor("ntk_test_train", ntk_test_train, torch.float64)
    if Ts.ndim != 2 or Ts.shape[1] != N:
        raise ValueError(f"ntk_test_train must have shape (M, {N}), got {tuple(Ts.shape)}")
    M = Ts.shape[0]
    y = as_tensor("y", y, torch.float64).reshape(-1)
    if y.shape[0] != N:
        raise ValueError(f"y must have {N} entries (one per training point), got {y.shape[0]}")
    g, scalar = _time_filter(lam, t, steps, eta)  # (T, N)
    TQ = Ts @ Q  # (M, N)
    mean = (g * (Q.T @ y)[None, :]) @ TQ.T  # (T, M)
    cov = None
    if compute_cov:
        K = as_tensor("nngp_train", nngp_train, torch.float64)
        Ks = as_tensor("nngp_test_train", nngp_test_train, torch.float64)
        if nngp_test is None:
            raise ValueError("nngp_test (M, M) is needed when compute_cov=True")
        Kss = as_tensor("nngp_test", nngp_test, torch.float64)
        if K.shape != (N, N) or Ks.shape != (M, N) or Kss.shape != (M, M):
            raise ValueError(f"NNGP shapes must be ({N}, {N}), ({M}, {N}), ({M}, {M}); got {tuple(K.shape)}, "
                             f"{tuple(Ks.shape)}, {tuple(Kss.shape)}")
        A = torch.einsum("mi,ti,ni->tmn", TQ, g, Q)  # A_t = Theta*X Q diag(g_t) Q^T, (T, M, N)
        AKs = A @ Ks.T  # (T, M, M)
        cov = Kss[None] + A @ K @ A.transpose(1, 2) - AKs - AKs.transpose(1, 2)
        cov = 0.5 * (cov + cov.transpose(1, 2))
    if scalar:
        mean = mean[0]
        cov = None if cov is None else cov[0]
    return Gaussian(mean, cov)


def _kernel_kwargs(depth, activation, w_std, b_std):
    return dict(depth=depth, activation=activation, w_std=w_std, b_std=b_std)


def infinite_ensemble(x_train, y_train, x_test, t=math.inf, *, eta: float = 1.0, steps=None, regime: str = "ntk",
                      compute_cov: bool = True, depth: int = 2, activation: str = "relu", w_std: float = 1.0,
                      b_std: float = 0.1) -> Gaussian:
    """The infinite ensemble of infinitely wide :class:`ntk_teach.MLP` s trained on ``(x_train, y_train)``.

    ``regime="ntk"``: all layers trained (the NTK drives training); ``regime="nngp"``: only the
    readout layer (the NNGP kernel drives training; at ``t = inf`` this is the Bayesian posterior).
    The kernels are ``ntk_teach.analytic_ntk`` / ``analytic_nngp`` with the given architecture
    (NTK parameterization). See :func:`ensemble_predictive` for ``t``, ``steps``, ``eta``.
    """
    check_choice("regime", regime, REGIMES)
    from .kernels import analytic_nngp, analytic_ntk

    kw = _kernel_kwargs(depth, activation, w_std, b_std)
    K = analytic_nngp(x_train, **kw)
    Ks = analytic_nngp(x_test, x_train, **kw)
    Kss = analytic_nngp(x_test, **kw) if compute_cov else None
    if regime == "ntk":
        T, Ts = analytic_ntk(x_train, **kw), analytic_ntk(x_test, x_train, **kw)
    else:
        T, Ts = K, Ks
    return ensemble_predictive(T, Ts, K, Ks, Kss, y_train, t, eta=eta, steps=steps, compute_cov=compute_cov)


def nngp_posterior(x_train, y_train, x_test, *, noise: float = 0.0, jitter: float | None = None, depth: int = 2,
                   activation: str = "relu", w_std: float = 1.0, b_std: float = 0.1):
    """The Bayesian posterior of the infinitely wide network: GP regression with the NNGP prior.

    Returns :class:`ntk_teach.gp.GPPosterior` (``mean``, ``cov``, ``std``, ``jitter``) from
    :func:`ntk_teach.gp_posterior`; ``noise`` is the observation-noise standard deviation.
    """
    from .gp import gp_posterior
    from .kernels import analytic_nngp

    kw = _kernel_kwargs(depth, activation, w_std, b_std)
    return gp_posterior(analytic_nngp(x_train, **kw), analytic_nngp(x_test, x_train, **kw),
                        analytic_nngp(x_test, **kw), y_train, noise=noise, jitter=jitter)


# ------------------------------------------------------------------ the minimum-norm view
def min_norm_step(J, residual, *, rcond: float = 1e-12) -> torch.Tensor:
    """``J^+ residual``: the smallest parameter change ``dw`` with ``J dw = residual``.

    Gradient descent on the linearized model ``f_0 + J (w - w_0)`` from ``w_0`` only moves
    ``w`` inside the row space of ``J`` (every gradient is ``J^T (f - y)``), so when it
    interpolates it ends at ``w_0 + J^+ (y - f_0(X))``: the interpolant closest to ``w_0``.
    ``J`` is ``(N, P)``; singular values below ``rcond * s_max`` count as 0.
    """
    J = as_tensor("J", J, torch.float64)
    r = as_tensor("residual", residual, torch.float64).reshape(-1)
    if J.ndim != 2 or J.shape[0] != r.shape[0]:
        raise ValueError(f"J must be (N, P) and residual (N,), got {tuple(J.shape)} and {tuple(r.shape)}")
    rcond = check_float("rcond", rcond, minimum=0.0)
    # through the N x N Gram matrix J J^T (N << P): J^+ r = J^T (J J^T)^+ r
    lam, Q = torch.linalg.eigh(J @ J.T)
    keep = lam > (rcond**2) * float(lam.max())
    inv = torch.where(keep, 1.0 / torch.where(keep, lam, torch.ones_like(lam)), torch.zeros_like(lam))
    return J.T @ (Q @ (inv * (Q.T @ r)))


# ------------------------------------------------------------------ generalization
def noise_gain(ntk_train, ntk_test_train) -> float:
    """``||A||_F^2 / M`` with ``A = Theta(x*, X) Theta^{-1}``: how much label noise the interpolant passes on.

    If the labels carry independent noise of variance ``sigma^2``, the kernel interpolant
    (``t = inf``, no ridge) adds ``sigma^2 * noise_gain`` to the mean squared error over the ``M``
    test points, on average over the noise. Piecewise-linear interpolation on a grid gives 2/3
    (``integral_0^1 (1 - s)^2 + s^2 ds``).
    """
    A = transfer_matrix(ntk_train, ntk_test_train)
    return float((A**2).sum() / A.shape[0])


def expected_test_error(pred: Gaussian, y_test) -> torch.Tensor:
    """Mean squared test error averaged over the ensemble: ``mean((mean - y)^2) + mean(var)`` (bias^2 + variance).

    Works for one time (returns a scalar tensor) or a leading time axis (returns ``(T,)``).
    """
    y = as_tensor("y_test", y_test, torch.float64).reshape(-1)
    if pred.mean.shape[-1] != y.shape[0]:
        raise ValueError(f"y_test must have {pred.mean.shape[-1]} entries, got {y.shape[0]}")
    bias2 = ((pred.mean - y) ** 2).mean(-1)
    if pred.cov is None:
        return bias2
    return bias2 + torch.diagonal(pred.cov, dim1=-2, dim2=-1).mean(-1)


def learning_curve(n_train, *, fn: str = "sin", noise: float = 0.0, design: str = "grid", n_test: int = 200,
                   n_draws: int = 10, x_range=(-3.0, 3.0), seed: int = 0, depth: int = 2, activation: str = "relu",
                   w_std: float = 1.0, b_std: float = 0.1) -> dict:
    """Test error against the number of training points, for the infinitely wide network.

    For each ``n`` in ``n_train`` and each of ``n_draws`` training sets, predicts on ``n_test``
    evenly spaced points of ``x_range`` and measures the mean squared error against the
    *noiseless* target ``ntk_teach.target_fn(fn)``. Training inputs: ``design="grid"``, ``n`` evenly
    spaced points of ``x_range`` (the draws differ only in the label noise; gaps are all
    ``h = width / (n - 1)``, which makes the rate clean); ``design="random"``, uniform inputs
    (``ntk_teach.noisy_1d``). Labels: target + ``noise * N(0, 1)``, seeds ``seed + 1000 n + d``.
    Errors reported:

    * ``"ntk_mean"``: the infinite ensemble's mean at ``t = inf`` (NTK kernel regression);
    * ``"ntk_ensemble"``: the expected error of one network drawn from that ensemble (bias^2 + variance);
    * ``"nngp_mean"``: the mean of the Bayesian posterior with the NNGP prior and the true noise level
      (jitter if ``noise = 0``).

    Returns ``{"n": (S,), key: (S, n_draws)}`` as numpy arrays.
    """
    from .data import noisy_1d, target_fn
    from .kernels import analytic_nngp, analytic_ntk

    check_choice("design", design, ("grid", "random"))
    ns = [check_int("n_train entries", int(n), minimum=1) for n in np.atleast_1d(n_train)]
    n_test = check_int("n_test", n_test, minimum=1)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    noise = check_float("noise", noise, minimum=0.0)
    kw = _kernel_kwargs(depth, activation, w_std, b_std)
    x_test = torch.linspace(float(x_range[0]), float(x_range[1]), n_test, dtype=torch.float64)
    y_test = target_fn(fn)(x_test)
    Kss = analytic_nngp(x_test, **kw)
    out = {k: np.zeros((len(ns), n_draws)) for k in ("ntk_mean", "ntk_ensemble", "nngp_mean")}
    from .gp import gp_posterior

    with single_threaded():
        for i, n in enumerate(ns):
            for d in range(n_draws):
                if design == "random":
                    x, y = noisy_1d(n, fn=fn, noise=noise, x_range=x_range, seed=seed + 1000 * n + d)
                else:
                    gen = torch.Generator().manual_seed(seed + 1000 * n + d)
                    x = torch.linspace(float(x_range[0]), float(x_range[1]), n, dtype=torch.float64)
                    y = target_fn(fn)(x) + noise * torch.randn(n, generator=gen, dtype=torch.float64)
                K, Ks = analytic_nngp(x, **kw), analytic_nngp(x_test, x, **kw)
                T, Ts = analytic_ntk(x, **kw), analytic_ntk(x_test, x, **kw)
                pred = ensemble_predictive(T, Ts, K, Ks, Kss, y)
                out["ntk_mean"][i, d] = float(((pred.mean - y_test) ** 2).mean())
                out["ntk_ensemble"][i, d] = float(expected_test_error(pred, y_test))
                post = gp_posterior(K, Ks, Kss, y, noise=noise)
                out["nngp_mean"][i, d] = float(((post.mean - y_test) ** 2).mean())
    out["n"] = np.array(ns)
    return out
