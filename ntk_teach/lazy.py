"""Lazy training: the linearized model, Jacobian and Hessian norms, and Chizat & Bach's kappa.

Chizat & Bach (2019) call training *lazy* when the model stays close to its
first-order Taylor expansion around the initialization ``theta_0``. A sufficient
condition is that the relative scale

    kappa = ||f(theta_0) - y|| * ||D^2 f(theta_0)|| / ||D f(theta_0)||^2

is small: ``||f - y||/||Df||`` is how far the parameters must move to fit the
data, and ``||D^2 f|| / ||Df||`` how fast the Jacobian changes along the way.
Norms are operator norms: ``||Df|| = sqrt(lambda_max(J J^T))`` (the gradient norm
for one input) and ``||D^2 f|| = sup_{|v| = 1} ||(v^T H_i v)_i||`` (the Hessian's
spectral norm for one input), computed from Hessian-vector products with Lanczos
(``scipy.sparse.linalg.eigsh``): the ``P x P`` Hessian is never formed.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jvp

from ._validate import as_tensor, check_int


# ------------------------------------------------------------------ linearize
class Linearized(nn.Module):
    """``f_lin(x; theta) = f(x; theta_0) + J(x; theta_0) (theta - theta_0)``, trainable like a model.

    Evaluated with one ``torch.func.jvp`` per call (a forward-mode derivative along
    ``theta - theta_0``). Its trainable parameters are ``theta`` (initialised at
    ``theta_0``); the original model is copied and left unchanged.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        base = copy.deepcopy(model)
        self._base = [base]  # hidden: not a submodule, so .parameters() are only theta
        self.names = [k for k, p in base.named_parameters() if p.requires_grad]
        self._theta0 = {k: p.detach().clone() for k, p in base.named_parameters() if p.requires_grad}
        self.theta = nn.ParameterList([nn.Parameter(self._theta0[k].clone()) for k in self.names])

    @property
    def model(self) -> nn.Module:
        """The (frozen) model that was linearized, at ``theta_0``."""
        return self._base[0]

    def delta(self) -> dict:
        """``theta - theta_0`` by parameter name."""
        return {k: p - self._theta0[k] for k, p in zip(self.names, self.theta)}

    def forward(self, x) -> torch.Tensor:
        base = self.model

        def f(params):
            return functional_call(base, params, (x,))

        f0, df = jvp(f, (self._theta0,), (self.delta(),))
        return f0.detach() + df

    def ntk_at_init(self, x1, x2=None) -> torch.Tensor:
        """The NTK at ``theta_0``: the (constant) NTK of the linearized model."""
        from .empirical import _base_mlp, empirical_ntk

        method = "structured" if _base_mlp(self.model) is not None else "jacobian"
        return empirical_ntk(self.model, x1, x2, method=method)


def linearize(model: nn.Module) -> Linearized:
    """The first-order Taylor expansion of ``model`` around its current parameters (see :class:`Linearized`)."""
    return Linearized(model)


# ---------------------------------------------------------------------- norms
def _flat_setup(model: nn.Module):
    params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
    names = list(params)
    shapes = [params[k].shape for k in names]
    sizes = [params[k].numel() for k in names]
    flat0 = torch.cat([params[k].reshape(-1) for k in names])

    def unflatten(flat):
        return {k: t.view(s) for k, t, s in zip(names, torch.split(flat, sizes), shapes)}

    return flat0, unflatten


def _inputs(model, x):
    from .empirical import _prepare_x

    return _prepare_x(model, x, "x")


def jacobian_norm(model: nn.Module, x) -> float:
    """Operator norm of the parameter Jacobian, ``sqrt(lambda_max(Theta(x, x)))``; for one input, ``||grad f||``."""
    from .empirical import _base_mlp, empirical_ntk

    method = "structured" if _base_mlp(model) is not None else "jacobian"
    theta = empirical_ntk(model, x, method=method)
    return math.sqrt(max(float(torch.linalg.eigvalsh(theta.double())[-1]), 0.0))


def _top_abs_eig(matvec, n: int, dtype, seed: int, tol: float):
    """Largest |eigenvalue| of a symmetric operator and its eigenvector, by Lanczos (or the tiny-n case)."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    rng = np.random.default_rng(seed)
    if n <= 2:  # eigsh needs k < n; a 2 x 2 operator is read off from two products
        cols = [matvec(torch.as_tensor(np.eye(n)[i], dtype=dtype)).numpy() for i in range(n)]
        w, v = np.linalg.eigh(np.stack(cols, 1))
        i = int(np.argmax(np.abs(w)))
        return float(w[i]), torch.as_tensor(v[:, i], dtype=dtype)

    def mv(v):
        return matvec(torch.as_tensor(np.asarray(v).reshape(-1), dtype=dtype)).numpy()

    v0 = rng.standard_normal(n)
    if not np.any(mv(v0)):  # the zero operator (e.g. the Hessian of a linear model): ARPACK cannot start
        return 0.0, torch.as_tensor(v0 / np.linalg.norm(v0), dtype=dtype)
    op = LinearOperator((n, n), matvec=mv, dtype=np.float64 if dtype == torch.float64 else np.float32)
    w, v = eigsh(op, k=1, which="LM", v0=v0, tol=tol, maxiter=max(1000, 20 * n))
    return float(w[0]), torch.as_tensor(v[:, 0], dtype=dtype)


def hessian_norm(model: nn.Module, x, *, seed: int = 0, tol: float = 1e-10, max_outer: int = 30) -> float:
    """Operator norm of the parameter Hessian ``D^2 f(theta)`` at the inputs ``x``.

    One input: the spectral norm ``max |eig(grad^2_theta f(x))|`` by Lanczos on
    Hessian-vector products (reverse-over-reverse: a backward pass through ``grad f``). Several inputs:
    ``sup_{|v|=1} ||(v^T H_i v)_i||_2`` (the norm of ``D^2 f`` as a bilinear map into
    ``R^N``), by alternating between the direction ``a`` in output space and the top
    eigenvector of ``sum_i a_i H_i``; each step cannot decrease the value.
    """
    x = _inputs(model, x)
    seed = check_int("seed", seed, minimum=0)
    flat0, unflatten = _flat_setup(model)
    n = flat0.numel()
    dtype = flat0.dtype

    def make_hvp(a):
        # reverse-over-reverse: one forward/backward builds grad g(theta) with its graph, then every
        # product H v is one more backward through it (~25x faster here than torch.func jvp(grad(g))
        # per product, which re-runs the forward pass through Python decompositions each time)
        with torch.enable_grad():  # also when called under torch.no_grad()
            flat = flat0.clone().requires_grad_(True)
            g = (a * functional_call(model, unflatten(flat), (x,))).sum()
            (grad_g,) = torch.autograd.grad(g, flat, create_graph=True)

        def hvp(v):
            if not grad_g.requires_grad:  # f is linear in theta (e.g. a linearized model): H = 0
                return torch.zeros_like(v)
            (hv,) = torch.autograd.grad(grad_g, flat, grad_outputs=v, retain_graph=True, allow_unused=True)
            return torch.zeros_like(v) if hv is None else hv.detach()

        return hvp

    N = x.shape[0]
    a = torch.ones(N, dtype=dtype) / math.sqrt(N)
    lam, v = _top_abs_eig(make_hvp(a), n, dtype, seed, tol)
    if N == 1:
        return abs(lam)
    best = abs(lam)
    for _ in range(max_outer):
        # quadratic forms v^T H_i v for every input at once: directional second derivatives
        def fv(t):
            return functional_call(model, unflatten(flat0 + t * v), (x,))

        q = _second_directional(fv, dtype)
        qn = float(q.norm())
        if qn == 0.0:
            break
        a = q / qn
        lam, v = _top_abs_eig(make_hvp(a), n, dtype, seed, tol)
        if abs(lam) <= best * (1 + 1e-9):
            best = max(best, abs(lam))
            break
        best = abs(lam)
    return best


def _second_directional(fv, dtype):
    """``d^2/dt^2 fv(t)`` at ``t = 0`` (vector of ``v^T H_i v``) by nested forward-mode derivatives."""
    t0 = torch.zeros((), dtype=dtype)
    one = torch.ones((), dtype=dtype)

    def d1(t):
        return jvp(fv, (t,), (one,))[1]

    return jvp(d1, (t0,), (one,))[1].detach()


def lazy_norms(model: nn.Module, x, y, *, seed: int = 0) -> dict:
    """``{"residual", "jacobian_norm", "hessian_norm", "kappa"}`` of ``model`` at its current parameters.

    ``residual = ||f(x) - y||_2``, and ``kappa = residual * hessian_norm / jacobian_norm^2``
    (Chizat & Bach 2019). For one input, ``jacobian_norm`` is the gradient norm.
    """
    x = _inputs(model, x)
    y = as_tensor("y", y, x.dtype).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have one target per input ({x.shape[0]}), got {y.shape[0]}")
    with torch.no_grad():
        res = float((model(x) - y).norm())
    jn = jacobian_norm(model, x)
    hn = hessian_norm(model, x, seed=seed)
    return {"residual": res, "jacobian_norm": jn, "hessian_norm": hn,
            "kappa": res * hn / jn**2 if jn > 0 else math.inf}


def kappa(model: nn.Module, x, y, *, seed: int = 0) -> float:
    """Chizat & Bach's relative scale ``||f(theta_0) - y|| ||D^2 f|| / ||D f||^2`` (see :func:`lazy_norms`)."""
    return lazy_norms(model, x, y, seed=seed)["kappa"]


def parameter_vector(model: nn.Module) -> torch.Tensor:
    """All trainable parameters of ``model`` as one flat (detached) vector."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters() if p.requires_grad])


def relative_change(current: torch.Tensor, initial: torch.Tensor) -> float:
    """``||current - initial|| / ||initial||`` (Frobenius), e.g. of weights or of an NTK."""
    current = as_tensor("current", current)
    initial = as_tensor("initial", initial)
    if current.shape != initial.shape:
        raise ValueError(f"current and initial must have the same shape, got {tuple(current.shape)} and "
                         f"{tuple(initial.shape)}")
    denom = float(initial.norm())
    if denom == 0.0:
        raise ValueError("initial must not be all zeros (the relative change is undefined)")
    return float((current - initial).norm()) / denom
