"""Training dynamics under the MSE loss: closed forms in function space, and real training.

The loss convention of the whole course (stated once, used everywhere)::

    L(theta) = 1/2 * sum_i (f(x_i; theta) - y_i)^2        (half the *sum* of squares)

Gradient flow ``d theta/dt = -eta grad L`` moves the outputs on the training set by
``df/dt = -eta Theta (f - y)`` (``Theta = Theta(X, X)``, the NTK). With a constant
``Theta`` (infinite width, or the linearized model) this is solved exactly::

    f_t(X)  - y = exp(-eta Theta t) (f_0(X) - y)
    f_t(x*)     = f_0(x*) - Theta(x*, X) Theta^{-1} (I - exp(-eta Theta t)) (f_0(X) - y)

and gradient descent with step ``eta`` replaces ``exp(-eta Theta t)`` by
``(I - eta Theta)^k`` after ``k`` steps (it diverges when ``eta > 2 / lambda_max``).
Both are computed through the eigendecomposition ``Theta = Q diag(lambda) Q^T``:
mode ``i`` decays like ``exp(-eta lambda_i t)``. (neural-tangents'
``predict.gradient_descent_mse`` uses the *mean* squared error, so its
exponent carries an extra ``1/N``.)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import stack_module_state

from ._validate import as_tensor, check_float, check_int, check_memory
from .nets import MLP


def mse_loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The course's loss ``1/2 * sum (f - y)^2`` over the last dimension (one value per model)."""
    return 0.5 * ((outputs - y) ** 2).sum(-1)


# --------------------------------------------------------------- closed forms
def _eig(K_train):
    K = as_tensor("K_train", K_train, torch.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"K_train must be a square (N, N) matrix, got shape {tuple(K.shape)}")
    if not torch.allclose(K, K.T, rtol=1e-8, atol=1e-10 * float(K.abs().max())):
        raise ValueError("K_train must be symmetric (a kernel Gram matrix)")
    lam, Q = torch.linalg.eigh(0.5 * (K + K.T))
    scale = float(lam.abs().max()) if lam.numel() else 1.0
    if float(lam.min()) < -1e-8 * max(scale, 1e-300):
        raise ValueError(f"K_train must be positive semi-definite; its smallest eigenvalue is {float(lam.min()):.3g}")
    # eigenvalues within rounding of zero are zero (PSD by construction)
    lam = torch.where(lam < 1e-13 * scale, torch.zeros_like(lam), lam)
    return lam, Q


def _times(name, t):
    t = as_tensor(name, t, torch.float64).reshape(-1)
    if bool((t < 0).any()):
        raise ValueError(f"{name} must be >= 0, got min {float(t.min())}")
    return t


def _predict(lam, Q, decay, gain, y, f0, K_test, f0_test):
    """Common tail: train outputs y + Q decay Q^T r0; test outputs f0* - K* Q gain Q^T r0."""
    r0 = Q.T @ (f0 - y)  # residual in the eigenbasis, (N,)
    train = y + (decay * r0) @ Q.T  # (T, N)
    if K_test is None:
        return train, None
    test = f0_test - (gain * r0) @ (K_test @ Q).T  # (T, M)
    return train, test


def _check_dyn_inputs(K_train, y, f0, K_test, f0_test):
    lam, Q = _eig(K_train)
    N = lam.shape[0]
    y = as_tensor("y", y, torch.float64).reshape(-1)
    if y.shape[0] != N:
        raise ValueError(f"y must have {N} entries (one per training point), got {y.shape[0]}")
    f0 = torch.zeros(N, dtype=torch.float64) if f0 is None else as_tensor("f0", f0, torch.float64).reshape(-1)
    if f0.shape[0] != N:
        raise ValueError(f"f0 must have {N} entries, got {f0.shape[0]}")
    if K_test is not None:
        K_test = as_tensor("K_test", K_test, torch.float64)
        if K_test.ndim != 2 or K_test.shape[1] != N:
            raise ValueError(f"K_test must have shape (M, {N}) = Theta(x_test, x_train), got {tuple(K_test.shape)}")
        M = K_test.shape[0]
        f0_test = (torch.zeros(M, dtype=torch.float64) if f0_test is None
                   else as_tensor("f0_test", f0_test, torch.float64).reshape(-1))
        if f0_test.shape[0] != M:
            raise ValueError(f"f0_test must have {M} entries, got {f0_test.shape[0]}")
    return lam, Q, y, f0, K_test, f0_test


def gradient_flow_mse(K_train, y, t, *, eta: float = 1.0, f0=None, K_test=None, f0_test=None):
    """Outputs under gradient flow with a constant kernel, at times ``t``.

    Parameters
    ----------
    K_train : (N, N) kernel ``Theta(X, X)`` (symmetric PSD).
    y : (N,) targets.  t : scalar or (T,) times (>= 0).  eta : learning rate (> 0).
    f0 : (N,) outputs at ``t = 0`` (default 0, e.g. a centered model or the ensemble mean).
    K_test : (M, N) ``Theta(x_test, X)``, and f0_test : (M,) test outputs at ``t = 0``.

    Returns ``(train, test)``: ``(T, N)`` and ``(T, M)`` (``test`` is None without ``K_test``).
    Eigenvalues within rounding of 0 give modes that do not move (``(1 - e^{-eta lam t})/lam -> eta t``).
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, Q, y, f0, K_test, f0_test = _check_dyn_inputs(K_train, y, f0, K_test, f0_test)
    t = _times("t", t)
    x = eta * t[:, None] * lam[None, :]  # (T, N)
    decay = torch.exp(-x)
    safe = torch.where(lam > 0, lam, torch.ones_like(lam))
    gain = torch.where(lam > 0, -torch.expm1(-x) / safe, eta * t[:, None].expand_as(x))
    return _predict(lam, Q, decay, gain, y, f0, K_test, f0_test)


def gradient_descent_mse(K_train, y, steps, *, eta: float, f0=None, K_test=None, f0_test=None):
    """Outputs after ``steps`` (int or list of ints) of gradient descent with a constant kernel.

    ``f_k - y = (I - eta Theta)^k (f_0 - y)``; same arguments and returns as
    :func:`gradient_flow_mse`. Diverges (on purpose, it is a lesson) when ``eta > 2/lambda_max``.
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, Q, y, f0, K_test, f0_test = _check_dyn_inputs(K_train, y, f0, K_test, f0_test)
    k = torch.as_tensor(steps)
    if k.is_floating_point() and not bool((k == k.round()).all()):
        raise TypeError("steps must be whole numbers")
    k = k.to(torch.float64).reshape(-1)
    if bool((k < 0).any()):
        raise ValueError("steps must be >= 0")
    factor = 1.0 - eta * lam  # (N,)
    decay = torch.pow(factor[None, :], k[:, None])
    safe = torch.where(lam > 0, lam, torch.ones_like(lam))
    gain = torch.where(lam > 0, (1.0 - decay) / safe, eta * k[:, None].expand_as(decay))
    return _predict(lam, Q, decay, gain, y, f0, K_test, f0_test)


def mode_decomposition(K_train, residual):
    """Eigenvalues (descending), eigenvectors (columns ``Q[:, i]``) and the residual's coordinates.

    Under gradient flow coordinate ``i`` of the residual decays like ``exp(-eta lambda_i t)``.
    """
    lam, Q = _eig(K_train)
    lam, Q = lam.flip(0), Q.flip(1)
    r = as_tensor("residual", residual, torch.float64).reshape(-1)
    if r.shape[0] != lam.shape[0]:
        raise ValueError(f"residual must have {lam.shape[0]} entries, got {r.shape[0]}")
    return lam, Q, Q.T @ r


def kernel_regression(K_train, K_test, y, *, ridge: float = 0.0):
    """The ``t -> infinity`` limit (``ridge = 0``) or kernel ridge regression: ``K_test (K + ridge I)^{-1} y``.

    Solved through the eigendecomposition of ``K`` (the same one as the flow); eigenvalues of
    ``K + ridge I`` below ``1e-12`` of the largest count as zero, so with ``ridge = 0`` and a
    singular kernel the minimum-norm (pseudo-inverse) solution is used.
    """
    ridge = check_float("ridge", ridge, minimum=0.0)
    lam, Q = _eig(K_train)
    y = as_tensor("y", y, torch.float64).reshape(-1)
    K_test = as_tensor("K_test", K_test, torch.float64)
    if y.shape[0] != lam.shape[0] or K_test.ndim != 2 or K_test.shape[1] != lam.shape[0]:
        raise ValueError(f"y must have {lam.shape[0]} entries and K_test shape (M, {lam.shape[0]})")
    lr = lam + ridge
    inv = torch.where(lr > 1e-12 * float(lr.max()), 1.0 / torch.where(lr > 0, lr, torch.ones_like(lr)),
                      torch.zeros_like(lr))
    return K_test @ (Q @ (inv * (Q.T @ y)))


# ------------------------------------------------------------------- ensembles
class Ensemble(nn.Module):
    """``n_models`` independent :class:`MLP` s (seeds ``seed, seed+1, ...``) evaluated in one vectorized pass.

    Parameters are stacked (leading dimension ``n_models``) with ``torch.func.stack_module_state``
    and the forward pass is the single network's, batched over the ensemble with ``bmm``
    (about 4x faster than ``vmap`` of ``functional_call`` here), so net ``e`` is exactly
    ``MLP(width, seed=seed + e, **kwargs)``. ``forward(x)`` returns ``(n_models, N)``.
    """

    def __init__(self, n_models: int, width: int, *, seed: int = 0, **mlp_kwargs):
        super().__init__()
        self.n_models = check_int("n_models", n_models, minimum=1)
        seed = check_int("seed", seed, minimum=0)
        probe = MLP(width, seed=seed, **mlp_kwargs)
        itemsize = torch.empty((), dtype=probe.dtype).element_size()
        check_memory(f"an ensemble of {self.n_models} nets with {probe.num_params:,} parameters each",
                     3 * self.n_models * probe.num_params * itemsize, "Use fewer or narrower nets.")
        models = [probe] + [MLP(width, seed=seed + e, **mlp_kwargs) for e in range(1, self.n_models)]
        params, _ = stack_module_state(models)
        self.names = list(params)
        self.stacked = nn.ParameterList([nn.Parameter(params[k].detach().clone()) for k in self.names])
        self._base = [probe]
        self.seed = seed

    @property
    def base(self) -> MLP:
        """A network with the ensemble's architecture (its own parameters are not used)."""
        return self._base[0]

    def member(self, e: int) -> MLP:
        """A standalone copy of net ``e`` with its current parameters."""
        e = check_int("e", e, minimum=0, maximum=self.n_models - 1)
        m = MLP(self.base.width, depth=self.base.depth, d_in=self.base.d_in, activation=self.base.activation,
                parameterization=self.base.parameterization, w_std=self.base.w_std, b_std=self.base.b_std,
                seed=self.seed + e, dtype=self.base.dtype)
        with torch.no_grad():
            for (k, p) in m.named_parameters():
                p.copy_(self.stacked[self.names.index(k)][e])
        return m

    def forward(self, x) -> torch.Tensor:
        x = self.base.prepare_input(x)
        base = self.base
        E = self.n_models
        L = len(base.weights)
        p = dict(zip(self.names, self.stacked))
        a = x.expand(E, *x.shape)  # (E, N, d_in)
        for l in range(L):
            W = p[f"weights.{l}"]  # (E, n_out, n_in)
            b = p[f"biases.{l}"]  # (E, n_out)
            # the same layer as MLP.forward, batched over the ensemble with bmm
            h = torch.baddbmm((base.b_mult[l] * b)[:, None, :], a, W.transpose(1, 2), alpha=base.w_mult[l])
            a = base._phi(h) if l < L - 1 else h
        return a[..., 0]


# -------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What :func:`train` recorded, at ``steps`` (every ``record_every`` steps, plus the last).

    Arrays have the recorded steps first; for an :class:`Ensemble` a model axis follows.
    ``loss`` is the course loss ``1/2 sum (f - y)^2`` (divided by ``alpha^2`` when training
    used the alpha-normalized loss); ``outputs``/``test_outputs`` are ``(R, N)`` or ``(R, E, N)``;
    ``param_distance`` is ``||theta_k - theta_0||`` and ``relative_param_change`` that over
    ``||theta_0||``; ``ntk`` is ``(R, N, N)`` when recorded; ``params`` maps a parameter name
    to its recorded snapshots.
    """

    steps: np.ndarray
    loss: np.ndarray
    outputs: torch.Tensor
    test_outputs: torch.Tensor | None
    param_distance: np.ndarray
    relative_param_change: np.ndarray
    ntk: torch.Tensor | None = None
    params: dict = field(default_factory=dict)
    lr: float = 0.0
    diverged: bool = False

    @property
    def times(self) -> np.ndarray:
        """``t = lr * step``: the time of the flow ``d theta/dt = -grad L`` (unit learning rate).

        Compare with ``gradient_flow_mse(K, y, res.times, eta=1.0)``, or equivalently with
        ``gradient_flow_mse(K, y, res.steps, eta=lr)``; passing ``res.times`` with ``eta=lr``
        would count the learning rate twice.
        """
        return self.lr * self.steps

    @property
    def ntk_relative_change(self) -> np.ndarray | None:
        """``||Theta_k - Theta_0||_F / ||Theta_0||_F`` at each record (None if the NTK was not recorded)."""
        if self.ntk is None:
            return None
        d0 = self.ntk[0].norm()
        return np.array([float((k - self.ntk[0]).norm() / d0) for k in self.ntk])


def _param_norms(model, params0):
    """Per-model ||theta - theta0|| (a scalar, or (E,) for an ensemble)."""
    if isinstance(model, Ensemble):
        sq = sum(((p - p0) ** 2).reshape(p.shape[0], -1).sum(1) for p, p0 in zip(model.stacked, params0))
        return torch.sqrt(sq)
    return torch.sqrt(sum(((p - p0) ** 2).sum() for p, p0 in zip(_trainable_list(model), params0)))


def _trainable_list(model):
    return [p for p in model.parameters() if p.requires_grad]


def train(
    model: nn.Module,
    x,
    y,
    *,
    lr: float,
    steps: int,
    record_every: int = 1,
    x_test=None,
    record_ntk: bool = False,
    record_params=(),
    alpha: float | None = None,
    progress: bool = False,
) -> TrainResult:
    """Full-batch gradient descent on ``L = 1/2 sum (f(x_i) - y_i)^2``, recording as it goes.

    Parameters
    ----------
    model : MLP, centered(...), linearize(...), Ensemble, or any scalar-output module
        Trained in place.
    x, y : training inputs and targets (``y`` of shape ``(N,)``).
    lr : step size ``eta > 0`` (gradient-flow time after ``k`` steps is ``eta k``).
    steps : number of steps (>= 0).  record_every : record every k steps (and the last).
    x_test : optional inputs whose outputs are recorded too.
    record_ntk : record the empirical NTK on ``x`` (not for ensembles).
    record_params : names (from ``model.named_parameters()``) whose values are recorded.
    alpha : if given, minimise ``L / alpha^2`` instead (Chizat & Bach's normalisation
        for the centered model ``alpha (f - f_0)``: it makes the parameter updates of
        different ``alpha`` comparable).
    progress : show a tqdm progress bar.

    If the loss becomes non-finite the run stops, ``diverged`` is set, and a warning names
    the step (lower ``lr``: gradient descent needs ``lr < 2 / lambda_max(NTK)``).
    """
    from .empirical import empirical_ntk

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    scale = 1.0 if alpha is None else 1.0 / check_float("alpha", alpha, minimum=0.0, strict_min=True) ** 2
    ensemble = isinstance(model, Ensemble)
    if record_ntk and ensemble:
        raise ValueError("record_ntk is not available for an Ensemble; train a single model to record its NTK")
    params = _trainable_list(model)
    if not params:
        raise ValueError("model has no trainable parameters")
    dtype = params[0].dtype
    x = as_tensor("x", x, dtype)
    y = as_tensor("y", y, dtype).reshape(-1)
    with torch.no_grad():
        out0 = model(x)
    if out0.shape[-1] != y.shape[0]:
        raise ValueError(f"y must have one target per input: model gives {out0.shape[-1]} outputs, y has {y.shape[0]}")
    if x_test is not None:
        x_test = as_tensor("x_test", x_test, dtype)
    named = dict(model.named_parameters())
    for name in record_params:
        if name not in named:
            raise ValueError(f"record_params: unknown parameter {name!r}; choose from {sorted(named)}")

    params0 = [p.detach().clone() for p in params]
    with torch.no_grad():
        norm0 = _param_norms(model, [torch.zeros_like(p) for p in params0])
    rec_steps, losses, outs, test_outs, dists, ntks = [], [], [], [], [], []
    snaps = {name: [] for name in record_params}

    def record(k, out, loss):
        rec_steps.append(k)
        losses.append(loss.detach().clone())
        outs.append(out.detach().clone())
        if x_test is not None:
            with torch.no_grad():
                test_outs.append(model(x_test).detach().clone())
        with torch.no_grad():
            dists.append(_param_norms(model, params0))
        if record_ntk:
            ntks.append(empirical_ntk(model, x, method="structured" if _structured_ok(model) else "jacobian"))
        for name in record_params:
            snaps[name].append(named[name].detach().clone())

    iterator = range(steps + 1)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="training", leave=False)
    diverged = False
    for k in iterator:
        out = model(x)
        loss = scale * mse_loss(out, y)
        if not bool(torch.isfinite(loss).all()):
            diverged = True
            warnings.warn(f"training diverged at step {k} (loss is not finite): lower lr={lr} "
                          "(gradient descent needs lr < 2 / lambda_max of the NTK)", RuntimeWarning, stacklevel=2)
            break
        if k % record_every == 0 or k == steps:
            record(k, out, loss)
        if k == steps:
            break
        grads = torch.autograd.grad(loss.sum(), params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(lr * g)

    dist = torch.stack(dists).numpy()
    return TrainResult(
        steps=np.array(rec_steps),
        loss=torch.stack(losses).numpy(),
        outputs=torch.stack(outs),
        test_outputs=torch.stack(test_outs) if test_outs else None,
        param_distance=dist,
        relative_param_change=dist / norm0.numpy(),
        ntk=torch.stack(ntks) if ntks else None,
        params={k: torch.stack(v) for k, v in snaps.items()},
        lr=lr,
        diverged=diverged,
    )


def _structured_ok(model) -> bool:
    from .empirical import _base_mlp

    return _base_mlp(model) is not None
