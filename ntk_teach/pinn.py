"""Physics-informed neural networks through the NTK (Wang, Yu & Perdikaris 2022); notebook 07.

The model problem is the 1-D Poisson equation with Dirichlet boundary conditions::

    u_xx(x) = f(x)  on (0, 1),      u(0) = g(0),  u(1) = g(1),
    exact solution u(x) = sin(a pi x),  f(x) = -(a pi)^2 sin(a pi x),  g = u at {0, 1}.

A PINN ``u(x; theta)`` is trained on ``N_b = 2`` boundary points ``x_b`` and ``N_r``
collocation points ``x_r`` with the loss (the course's convention, half the *sum* of
squares, with one weight per term)::

    L(theta) = lambda_b/2 sum_i (u(x_b^i) - g_i)^2 + lambda_r/2 sum_j (u_xx(x_r^j) - f_j)^2
             = lambda_b L_b + lambda_r L_r.

Gradient flow ``d theta/dt = -eta grad L`` moves the error vectors ``e_b = u(x_b) - g``
and ``e_r = u_xx(x_r) - f`` as (Wang et al. 2022; here with the weights)::

    d/dt [e_b; e_r] = -eta [[K_uu, K_ur], [K_ru, K_rr]] diag(lambda_b, lambda_r) [e_b; e_r],

with the **PINN NTK** blocks ``K_uu = J_u J_u^T``, ``K_ur = J_u J_r^T = K_ru^T``,
``K_rr = J_r J_r^T``: ``J_u`` is the parameter Jacobian of ``u`` at ``x_b``, ``J_r`` that of
``u_xx`` at ``x_r``. :func:`pinn_ntk` builds them with ``torch.func`` (``u_xx`` by
forward-mode ``jvp`` twice in ``x``, or by propagating the second-order jet through an
:class:`~ntk_teach.MLP`; then ``vmap(grad)`` over ``functional_call`` for the parameter
derivatives, one point at a time). :func:`pinn_ntk_finite_differences` recomputes it from
finite differences only.

Input standardization. Like the paper's released code, the network sees the standardized
input ``x~ = (x - mean(x_r)) / std(x_r)``, so ``u(x) = N(x~)`` and ``u_xx = N''(x~) / std^2``:
the residual block ``K_rr`` carries a factor ``1/std^4`` (about 138 for 100 points).
``poisson_1d(standardize=False)`` feeds ``x`` in [0, 1] directly.

The remedy (the paper's Algorithm 1): set the weights from the traces of the blocks,
``lambda_b = Tr(K) / Tr(K_uu)``, ``lambda_r = Tr(K) / Tr(K_rr)``, ``Tr(K) = Tr(K_uu) + Tr(K_rr)``,
recomputed every ``update_every`` steps. Then ``Tr(lambda_b K_uu) = Tr(lambda_r K_rr)``: both
terms get the same *average* convergence rate (:func:`ntk_trace_weights`,
:func:`train_pinn` with ``weighting="ntk"``).

Conventions that differ from the paper's released code (stated once here): it uses means
(``tf.reduce_mean``) instead of half sums, which divides each block row of ``K`` by the
number of points of its term (and doubles the rate); it repeats each boundary point 50 times
so that ``K_uu`` has the size of ``K_rr`` (the trace weights then change by a common factor
only, so the *balance* they produce is the same); and it initializes the readout in the
standard parameterization (``W ~ N(0, 1/fan_in)``), while the paper's text, and this module,
use the NTK parameterization ``u = 1/sqrt(m) W1 tanh(W0 x~ + b0) + b1`` with all parameters
``N(0, 1)``, i.e. ``MLP(m, depth=1, activation="tanh", w_std=1.0, b_std=1.0)``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, hessian, jvp, vmap

from ._threads import torch_threads
from ._validate import as_tensor, check_choice, check_float, check_int, check_memory

WEIGHTINGS = ("none", "ntk")


def _one_thread():
    """Run small tensor work on one thread (restored afterwards); see :mod:`ntk_teach._threads`."""
    return torch_threads(1)


# ----------------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class Poisson1D:
    """The 1-D Poisson problem ``u_xx = f`` on [0, 1] with exact solution ``sin(a pi x)``.

    Build it with :func:`poisson_1d`. Tensors are float64: ``x_b`` (boundary points 0 and 1),
    ``g`` (boundary values), ``x_r`` (collocation points), ``f`` (forcing at ``x_r``).
    The network sees ``(x - x_shift) / x_scale``.
    """

    a: float
    x_b: torch.Tensor
    g: torch.Tensor
    x_r: torch.Tensor
    f: torch.Tensor
    x_shift: float = 0.0
    x_scale: float = 1.0

    def exact(self, x) -> torch.Tensor:
        """The exact solution ``sin(a pi x)``."""
        x = as_tensor("x", x, torch.float64)
        return torch.sin(self.a * math.pi * x)

    def forcing(self, x) -> torch.Tensor:
        """``f(x) = u_xx(x) = -(a pi)^2 sin(a pi x)``."""
        x = as_tensor("x", x, torch.float64)
        return -((self.a * math.pi) ** 2) * torch.sin(self.a * math.pi * x)

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """What the network sees: ``(x - x_shift) / x_scale``."""
        return (x - self.x_shift) / self.x_scale

    @property
    def n_b(self) -> int:
        return int(self.x_b.shape[0])

    @property
    def n_r(self) -> int:
        return int(self.x_r.shape[0])


def poisson_1d(a: float = 1.0, n_residual: int = 100, *, standardize: bool = True) -> Poisson1D:
    """The model problem of Wang, Yu & Perdikaris (2022): ``u_xx = f`` on [0, 1], ``u = sin(a pi x)``.

    ``x_b = (0, 1)``; ``n_residual`` equispaced collocation points in [0, 1] (endpoints
    included, as in the paper's code). ``standardize=True`` (the paper's code) feeds the
    network ``(x - mean(x_r)) / std(x_r)`` (population std); ``False`` feeds ``x``.
    ``a > 0`` (integers give ``g = 0``), ``2 <= n_residual <= 2000``.
    """
    a = check_float("a", a, minimum=0.0, strict_min=True)
    n_residual = check_int("n_residual", n_residual, minimum=2, maximum=2000)
    x_b = torch.tensor([0.0, 1.0], dtype=torch.float64)
    x_r = torch.linspace(0.0, 1.0, n_residual, dtype=torch.float64)
    g = torch.sin(a * math.pi * x_b)
    f = -((a * math.pi) ** 2) * torch.sin(a * math.pi * x_r)
    shift, scale = (float(x_r.mean()), float(x_r.std(unbiased=False))) if standardize else (0.0, 1.0)
    return Poisson1D(a, x_b, g, x_r, f, shift, scale)


# ------------------------------------------------------------------ derivatives in x
def _trainable(model: nn.Module) -> dict:
    return {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}


def _live(model: nn.Module) -> dict:
    return {k: v for k, v in model.named_parameters() if v.requires_grad}


def _check_model(model):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    d_in = getattr(model, "d_in", 1)
    if d_in != 1:
        raise ValueError(f"the 1-D Poisson PINN needs a model with d_in == 1, got d_in={d_in}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters")


def _check_problem(problem):
    if not isinstance(problem, Poisson1D):
        raise TypeError(f"problem must be a Poisson1D (from ntk_teach.pinn.poisson_1d), got {type(problem).__name__}")


def _points(name, x, dtype=torch.float64) -> torch.Tensor:
    t = as_tensor(name, x, dtype)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1 or t.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N,) or (N, 1) with N >= 1, got {tuple(t.shape)}")
    return t


def _u(model, params, x):
    return functional_call(model, params, (x,))


def _phi_derivatives(name):
    """``h -> (phi, phi', phi'')`` of an activation."""
    if name == "tanh":
        def f(h):
            t = torch.tanh(h)
            d1 = 1.0 - t * t
            return t, d1, -2.0 * t * d1
    elif name == "erf":
        c = 2.0 / math.sqrt(math.pi)

        def f(h):
            d1 = c * torch.exp(-h * h)
            return torch.special.erf(h), d1, -2.0 * h * d1
    else:  # relu: phi'' = 0 almost everywhere, so a ReLU PINN has u_xx = 0
        def f(h):
            return torch.relu(h), (h > 0).to(h.dtype), torch.zeros_like(h)
    return f


def _mlp_jet(model, params, x):
    """``(u, u_x, u_xx)`` of an :class:`~ntk_teach.MLP` (``d_in = 1``) by pushing the second-order
    jet ``(h, h', h'')`` through the layers with plain tensor operations::

        h' = c W a',   h'' = c W a'',   a' = phi'(h) h',   a'' = phi''(h) h'^2 + phi'(h) h''.
    """
    phis = _phi_derivatives(model.activation)
    a = x[:, None]
    da = torch.ones_like(a)
    dda = torch.zeros_like(a)
    L = len(model.weights)
    for l in range(L):
        W = params[f"weights.{l}"]
        b = params[f"biases.{l}"]
        c, beta = model.w_mult[l], model.b_mult[l]
        h = c * (a @ W.T) + beta * b
        dh = c * (da @ W.T)
        ddh = c * (dda @ W.T)
        if l == L - 1:
            return h[:, 0], dh[:, 0], ddh[:, 0]
        p0, p1, p2 = phis(h)
        a, da, dda = p0, p1 * dh, p2 * dh * dh + p1 * ddh
    raise AssertionError("unreachable")  # pragma: no cover


def _is_plain_mlp(model, params) -> bool:
    from .nets import MLP

    return isinstance(model, MLP) and set(params) == {n for n, _ in model.named_parameters()}


def _uxx_jvp(model, params, x):
    """Second derivative in x of a pointwise model: forward mode twice, one pass for all points."""
    ones = torch.ones_like(x)

    def du(y):
        return jvp(lambda z: _u(model, params, z), (y,), (ones,))[1]

    return jvp(du, (x,), (ones,))[1]


def _uxx_raw(model, params, x):
    if _is_plain_mlp(model, params):
        return _mlp_jet(model, params, x)[2]
    return _uxx_jvp(model, params, x)


def second_derivative(model: nn.Module, x, params: dict | None = None) -> torch.Tensor:
    """``d^2 model / dx^2`` at inputs ``x`` (shape ``(N,)``) of a scalar 1-D model, with ``torch.func``.

    An :class:`~ntk_teach.MLP` propagates the second-order jet through its layers; any other
    pointwise model uses ``jvp`` twice with tangent ones. Differentiable in the parameters
    (pass ``params`` to use other values, e.g. inside ``grad``). No standardization here:
    ``x`` is the model's own input.
    """
    _check_model(model)
    x = _points("x", x, next(model.parameters()).dtype)
    return _uxx_raw(model, _live(model) if params is None else params, x)


def second_derivative_hessian(model: nn.Module, x) -> torch.Tensor:
    """``d^2 model / dx^2`` by ``vmap(torch.func.hessian)`` over single points (a slower cross-check)."""
    _check_model(model)
    x = _points("x", x, next(model.parameters()).dtype)
    params = _trainable(model)

    def u_scalar(x0):
        return _u(model, params, x0.reshape(1))[0]

    return vmap(hessian(u_scalar))(x).detach()


def pinn_u(model: nn.Module, problem: Poisson1D, x, params: dict | None = None) -> torch.Tensor:
    """The PINN's solution ``u(x) = N((x - x_shift) / x_scale)`` at physical points ``x``."""
    _check_model(model)
    _check_problem(problem)
    x = _points("x", x)
    return _u(model, _live(model) if params is None else params, problem.standardize(x))


def pinn_uxx(model: nn.Module, problem: Poisson1D, x, params: dict | None = None) -> torch.Tensor:
    """``u_xx(x) = N''(x~) / x_scale^2`` at physical points ``x`` (differentiable in the parameters)."""
    _check_model(model)
    _check_problem(problem)
    x = _points("x", x)
    p = _live(model) if params is None else params
    return _uxx_raw(model, p, problem.standardize(x)) / problem.x_scale**2


# -------------------------------------------------------------------------- the loss
def pinn_residuals(model: nn.Module, problem: Poisson1D, params: dict | None = None):
    """The error vectors ``(e_b, e_r) = (u(x_b) - g, u_xx(x_r) - f)`` (differentiable)."""
    e_b = pinn_u(model, problem, problem.x_b, params) - problem.g
    e_r = pinn_uxx(model, problem, problem.x_r, params) - problem.f
    return e_b, e_r


def pinn_loss(model: nn.Module, problem: Poisson1D, lambda_b: float = 1.0, lambda_r: float = 1.0,
              params: dict | None = None):
    """``(L, L_b, L_r)``: ``L_b = 1/2 sum (u(x_b) - g)^2``, ``L_r = 1/2 sum (u_xx(x_r) - f)^2``,
    ``L = lambda_b L_b + lambda_r L_r`` (tensors, differentiable in the parameters)."""
    lambda_b = check_float("lambda_b", lambda_b, minimum=0.0)
    lambda_r = check_float("lambda_r", lambda_r, minimum=0.0)
    e_b, e_r = pinn_residuals(model, problem, params)
    loss_b = 0.5 * (e_b**2).sum()
    loss_r = 0.5 * (e_r**2).sum()
    return lambda_b * loss_b + lambda_r * loss_r, loss_b, loss_r


def relative_l2_error(model: nn.Module, problem: Poisson1D, n_test: int = 1001) -> float:
    """``||u - u_exact|| / ||u_exact||`` on ``n_test`` equispaced points of [0, 1]."""
    n_test = check_int("n_test", n_test, minimum=2)
    x = torch.linspace(0.0, 1.0, n_test, dtype=torch.float64)
    with torch.no_grad():
        u = pinn_u(model, problem, x)
    ue = problem.exact(x)
    return float((u - ue).norm() / ue.norm())


# ---------------------------------------------------------------------- the PINN NTK
@dataclass
class PINNKernel:
    """The PINN NTK ``K = [[K_uu, K_ur], [K_ru, K_rr]]`` at the boundary and collocation points."""

    K_uu: torch.Tensor
    K_ur: torch.Tensor
    K_rr: torch.Tensor

    @property
    def K_ru(self) -> torch.Tensor:
        return self.K_ur.T

    @property
    def full(self) -> torch.Tensor:
        """The full ``(N_b + N_r)`` square matrix."""
        top = torch.cat([self.K_uu, self.K_ur], 1)
        bottom = torch.cat([self.K_ur.T, self.K_rr], 1)
        return torch.cat([top, bottom], 0)

    def traces(self) -> tuple[float, float]:
        """``(Tr K_uu, Tr K_rr)``."""
        return float(torch.trace(self.K_uu)), float(torch.trace(self.K_rr))

    def eigenvalues(self) -> dict:
        """Eigenvalues (descending, numpy) of ``K``, ``K_uu`` and ``K_rr`` (computed once, then cached)."""
        cached = getattr(self, "_eig", None)
        if cached is None:
            def ev(A):
                return torch.linalg.eigvalsh(A.detach()).flip(0).numpy()

            with _one_thread():
                cached = {"K": ev(self.full), "K_uu": ev(self.K_uu), "K_rr": ev(self.K_rr)}
            self._eig = cached
        return {k: v.copy() for k, v in cached.items()}

    @staticmethod
    def from_jacobians(J_u: torch.Tensor, J_r: torch.Tensor) -> "PINNKernel":
        return PINNKernel(J_u @ J_u.T, J_u @ J_r.T, J_r @ J_r.T)


def _flat_rows(g: dict, keys, n: int) -> torch.Tensor:
    return torch.cat([g[k].reshape(n, -1) for k in keys], 1)


def pinn_jacobians(model: nn.Module, problem: Poisson1D, x_u=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(J_u, J_r)``: parameter Jacobians of ``u`` at ``x_u`` (default ``x_b``; ``N_u x P``) and of
    ``u_xx`` at ``x_r`` (``N_r x P``), columns in ``model.named_parameters()`` order.

    ``torch.func``: ``vmap`` over points of ``grad`` (over the parameters, via
    ``functional_call``) of ``u`` and of ``u_xx`` (:func:`pinn_uxx`). One point at a time keeps
    the work ``O(N P)``; a ``jacrev`` over all points at once would push ``N``
    cotangents through ``(N x m)`` intermediates.
    """
    _check_model(model)
    _check_problem(problem)
    x_u = problem.x_b if x_u is None else _points("x_u", x_u)
    params = _trainable(model)
    keys = list(params)
    P = sum(p.numel() for p in params.values())
    n = x_u.shape[0] + problem.n_r
    check_memory(f"the {n} x {P:,} PINN Jacobian", 3 * n * P * 8, "Use a smaller width or fewer points.")
    scale2 = problem.x_scale**2

    def u_one(p, x0):
        return _u(model, p, problem.standardize(x0).reshape(1))[0]

    def uxx_one(p, x0):
        return _uxx_raw(model, p, problem.standardize(x0).reshape(1))[0] / scale2

    with _one_thread():
        gu = vmap(grad(u_one), in_dims=(None, 0))(params, x_u)
        gr = vmap(grad(uxx_one), in_dims=(None, 0))(params, problem.x_r)
    return _flat_rows(gu, keys, x_u.shape[0]).detach(), _flat_rows(gr, keys, problem.n_r).detach()


NTK_METHODS = ("auto", "torch.func", "closed_form")


def _jacobians_by(model, problem, method, x_u=None):
    check_choice("method", method, NTK_METHODS)
    if method == "auto":
        method = "closed_form" if _is_shallow_tanh(model) else "torch.func"
    if method == "closed_form":
        _check_model(model)
        _check_problem(problem)
        if not _is_shallow_tanh(model):
            raise ValueError("method='closed_form' needs an MLP with depth=1, activation='tanh' and all parameters "
                             "trainable; use method='torch.func'")
        eng = _ShallowTanh(model, problem)
        with _one_thread():
            return eng.jacobians(None if x_u is None else problem.standardize(_points("x_u", x_u)))
    return pinn_jacobians(model, problem, x_u=x_u)


def pinn_ntk(model: nn.Module, problem: Poisson1D, method: str = "torch.func") -> PINNKernel:
    """The PINN NTK blocks ``K_uu = J_u J_u^T``, ``K_ur = J_u J_r^T``, ``K_rr = J_r J_r^T``.

    ``method="torch.func"`` (default, any pointwise 1-D model): :func:`pinn_jacobians`.
    ``"closed_form"``: the hand-written derivatives of a one-hidden-layer tanh MLP (faster,
    identical to rounding); ``"auto"``: the closed form when it applies.
    """
    return PINNKernel.from_jacobians(*_jacobians_by(model, problem, method))


def pinn_test_kernel(model: nn.Module, problem: Poisson1D, x_test, method: str = "torch.func") -> torch.Tensor:
    """``[K(x_test, x_b) | K_ur(x_test, x_r)]``, shape ``(M, N_b + N_r)``: how a step on the
    training errors moves ``u`` at ``x_test`` (``du(x_test)/dt = -eta K_test Lambda e``)."""
    x_test = _points("x_test", x_test)
    J_t, J_r = _jacobians_by(model, problem, method, x_u=x_test)
    J_b, _ = _jacobians_by(model, problem, method)
    return J_t @ torch.cat([J_b, J_r], 0).T


def pinn_ntk_finite_differences(model: nn.Module, problem: Poisson1D, *, h_theta: float = 1e-4,
                                h_x: float = 1e-2) -> PINNKernel:
    """The PINN NTK from finite differences only (an independent check of :func:`pinn_ntk`).

    * ``u_xx`` by the 5-point stencil ``(-u(x+2h) + 16u(x+h) - 30u(x) + 16u(x-h) - u(x-2h)) / 12h^2``
      in the network's input ``x~`` (``h = h_x``), divided by ``x_scale^2``: truncation
      ``h^4 |u^(6)| / 90``, round-off ``~ 5 eps |u| / h^2``;
    * parameter derivatives by central differences ``(F(theta + h e_p) - F(theta - h e_p)) / 2h``
      (``h = h_theta``): truncation ``h^2 |F'''| / 6``, round-off ``~ eps |F| / h`` on top of the
      stencil's own round-off, which the division by ``2h`` amplifies.

    With the defaults the stencil's truncation dominates: about ``6e-7`` relative for the width-10
    net of notebook 07, and it scales like ``h_x^4`` (tripling ``h_x`` multiplies it by about 81).
    Two forward passes per parameter (vectorized with ``vmap``): meant for small widths.
    """
    _check_model(model)
    _check_problem(problem)
    h_theta = check_float("h_theta", h_theta, minimum=0.0, strict_min=True)
    h_x = check_float("h_x", h_x, minimum=0.0, strict_min=True)
    params = _trainable(model)
    names = list(params)
    flat0 = torch.cat([params[k].reshape(-1) for k in names])
    shapes = [params[k].shape for k in names]
    sizes = [params[k].numel() for k in names]
    xb = problem.standardize(problem.x_b)
    xr = problem.standardize(problem.x_r)

    def unflat(v):
        out, i = {}, 0
        for k, s, n in zip(names, shapes, sizes):
            out[k] = v[i:i + n].reshape(s)
            i += n
        return out

    def outputs(v):
        p = unflat(v)
        ub = _u(model, p, xb)
        st = (-_u(model, p, xr + 2 * h_x) + 16 * _u(model, p, xr + h_x) - 30 * _u(model, p, xr)
              + 16 * _u(model, p, xr - h_x) - _u(model, p, xr - 2 * h_x)) / (12 * h_x**2)
        return torch.cat([ub, st / problem.x_scale**2])

    P = flat0.numel()
    steps = h_theta * torch.eye(P, dtype=flat0.dtype)
    with torch.no_grad(), _one_thread():
        # all 2P perturbed parameter vectors in one vectorized pass
        plus = vmap(outputs)(flat0[None, :] + steps)
        minus = vmap(outputs)(flat0[None, :] - steps)
    J = ((plus - minus) / (2 * h_theta)).T                  # (N_b + N_r, P)
    return PINNKernel.from_jacobians(J[: problem.n_b], J[problem.n_b:])


# ----------------------------------------------------------------- weights and dynamics
def trace_weights(trace_uu: float, trace_rr: float) -> tuple[float, float]:
    """``(lambda_b, lambda_r) = (T / trace_uu, T / trace_rr)`` with ``T = trace_uu + trace_rr``."""
    trace_uu = check_float("trace_uu", trace_uu, minimum=0.0, strict_min=True)
    trace_rr = check_float("trace_rr", trace_rr, minimum=0.0, strict_min=True)
    total = trace_uu + trace_rr
    return total / trace_uu, total / trace_rr


def ntk_trace_weights(kernel: PINNKernel) -> tuple[float, float]:
    """The loss weights of Wang, Yu & Perdikaris (2022), Algorithm 1, from the NTK traces:

    ``lambda_b = Tr(K) / Tr(K_uu)``, ``lambda_r = Tr(K) / Tr(K_rr)``, ``Tr(K) = Tr(K_uu) + Tr(K_rr)``,
    so that ``Tr(lambda_b K_uu) = Tr(lambda_r K_rr) = Tr(K)``: both terms get the same average rate.
    """
    if not isinstance(kernel, PINNKernel):
        raise TypeError(f"kernel must be a PINNKernel, got {type(kernel).__name__}")
    return trace_weights(*kernel.traces())


def weighted_kernel(kernel: PINNKernel, lambda_b: float = 1.0, lambda_r: float = 1.0) -> torch.Tensor:
    """``K Lambda`` with ``Lambda = diag(lambda_b I, lambda_r I)``: ``d e/dt = -eta K Lambda e`` (not symmetric;
    its eigenvalues are those of the symmetric ``Lambda^1/2 K Lambda^1/2``)."""
    n_b = kernel.K_uu.shape[0]
    lam = torch.ones(kernel.full.shape[0], dtype=kernel.K_uu.dtype)
    lam[:n_b] = check_float("lambda_b", lambda_b, minimum=0.0, strict_min=True)
    lam[n_b:] = check_float("lambda_r", lambda_r, minimum=0.0, strict_min=True)
    return kernel.full * lam[None, :]


class LinearizedPINN:
    """The linearized (constant-kernel) PINN dynamics in closed form; see :func:`pinn_gradient_flow`.

    The eigendecomposition of ``S = Lambda^1/2 K Lambda^1/2`` is done once here; :meth:`solve`
    is then a few small matrix products, cheap enough for a slider.
    """

    def __init__(self, kernel: PINNKernel, *, lambda_b: float = 1.0, lambda_r: float = 1.0, K_test=None):
        if not isinstance(kernel, PINNKernel):
            raise TypeError(f"kernel must be a PINNKernel, got {type(kernel).__name__}")
        self.lambda_b = check_float("lambda_b", lambda_b, minimum=0.0, strict_min=True)
        self.lambda_r = check_float("lambda_r", lambda_r, minimum=0.0, strict_min=True)
        K = kernel.full.detach().to(torch.float64)
        self.n_b = kernel.K_uu.shape[0]
        self.n = K.shape[0]
        self.sq = torch.sqrt(torch.cat([torch.full((self.n_b,), self.lambda_b, dtype=torch.float64),
                                        torch.full((self.n - self.n_b,), self.lambda_r, dtype=torch.float64)]))
        S = self.sq[:, None] * K * self.sq[None, :]
        self.A = None
        Kt = None
        if K_test is not None:
            Kt = as_tensor("K_test", K_test, torch.float64)
            if Kt.ndim != 2 or Kt.shape[1] != self.n:
                raise ValueError(f"K_test must have shape (M, {self.n}), got {tuple(Kt.shape)}")
        with _one_thread():
            mu, Q = torch.linalg.eigh(0.5 * (S + S.T))
            if Kt is not None:
                self.A = (Kt * self.sq[None, :]) @ Q                  # (M, N)
        self.mu = mu.clamp_min(0.0)
        self.Q = Q

    @property
    def rates(self) -> torch.Tensor:
        """The decay rates ``mu`` (eigenvalues of ``K Lambda``), ascending."""
        return self.mu

    def solve(self, e_b0, e_r0, times, u_test0=None) -> dict:
        """``{"e_b", "e_r", "loss_b", "loss_r", "u_test"}`` at gradient-flow times ``times`` (numpy arrays)."""
        with _one_thread():
            return self._solve(e_b0, e_r0, times, u_test0)

    def _solve(self, e_b0, e_r0, times, u_test0):
        e0 = torch.cat([as_tensor("e_b0", e_b0, torch.float64).reshape(-1),
                        as_tensor("e_r0", e_r0, torch.float64).reshape(-1)])
        if e0.shape[0] != self.n:
            raise ValueError(f"e_b0 and e_r0 must have {self.n_b} and {self.n - self.n_b} entries, "
                             f"got {e0.shape[0]} in all")
        t = as_tensor("times", times, torch.float64).reshape(-1)
        if bool((t < 0).any()):
            raise ValueError("times must be >= 0")
        c0 = self.Q.T @ (self.sq * e0)
        mt = torch.outer(t, self.mu)
        e = ((torch.exp(-mt) * c0) @ self.Q.T) / self.sq                 # (T, N)
        out = {"e_b": e[:, :self.n_b].numpy(), "e_r": e[:, self.n_b:].numpy(),
               "loss_b": (0.5 * (e[:, :self.n_b] ** 2).sum(1)).numpy(),
               "loss_r": (0.5 * (e[:, self.n_b:] ** 2).sum(1)).numpy(), "u_test": None}
        if self.A is not None:
            M = self.A.shape[0]
            u0 = torch.zeros(M, dtype=torch.float64) if u_test0 is None else \
                as_tensor("u_test0", u_test0, torch.float64).reshape(-1)
            pos = self.mu > 0
            gain = torch.where(pos[None, :], -torch.expm1(-mt) / torch.where(pos, self.mu, 1.0)[None, :],
                               t[:, None].expand_as(mt))
            out["u_test"] = (u0[None, :] - (gain * c0) @ self.A.T).numpy()
        return out


def pinn_gradient_flow(kernel: PINNKernel, e_b0, e_r0, times, *, lambda_b: float = 1.0, lambda_r: float = 1.0,
                       K_test=None, u_test0=None) -> dict:
    """The linearized (constant-kernel) PINN dynamics in closed form, at gradient-flow times ``t = eta * step``.

    Solves ``de/dt = -K Lambda e`` through the eigendecomposition of the symmetric
    ``S = Lambda^1/2 K Lambda^1/2 = Q diag(mu) Q^T``::

        e(t)      = Lambda^-1/2 Q exp(-mu t) Q^T Lambda^1/2 e(0)
        u_test(t) = u_test(0) - K_test Lambda^1/2 Q diag((1 - exp(-mu t)) / mu) Q^T Lambda^1/2 e(0)

    ``K_test`` is :func:`pinn_test_kernel` (``(M, N_b + N_r)``), ``u_test0`` the network at ``x_test``.
    Returns ``{"e_b": (T, N_b), "e_r": (T, N_r), "loss_b": (T,), "loss_r": (T,), "u_test": (T, M) or None}``
    (numpy; losses unweighted, ``1/2 sum e^2``). For many calls with one kernel use :class:`LinearizedPINN`.
    """
    return LinearizedPINN(kernel, lambda_b=lambda_b, lambda_r=lambda_r, K_test=K_test).solve(
        e_b0, e_r0, times, u_test0)


# ------------------------------------------------- closed forms for a one-hidden-layer tanh net
def _is_shallow_tanh(model) -> bool:
    from .nets import MLP

    return (isinstance(model, MLP) and model.depth == 1 and model.activation == "tanh"
            and all(p.requires_grad for p in model.parameters()))


class _ShallowTanh:
    """Closed forms for a one-hidden-layer tanh :class:`~ntk_teach.MLP` on a :class:`Poisson1D`
    (plain tensor algebra, no autograd; several times faster than autograd for training)::

        u(x)    = s sum_k v_k tanh(z_k) + beta1 c,      z_k = alpha w_k x~ + beta0 b_k,  x~ = (x - shift)/scale,
        u_xx(x) = s k2 sum_k v_k w_k^2 tanh''(z_k),     s = w_std/sqrt(m), alpha = w_std, k2 = (alpha/scale)^2.

    Parameter copies ``w, v, b (m,)`` and ``c (1,)`` follow ``model.named_parameters()``
    (``weights.0, weights.1, biases.0, biases.1``). The tests check every formula against ``torch.func``.
    """

    def __init__(self, model, problem: Poisson1D):
        self.shift, self.scale = problem.x_shift, problem.x_scale
        self.alpha, self.s = float(model.w_mult[0]), float(model.w_mult[1])
        self.beta0, self.beta1 = float(model.b_mult[0]), float(model.b_mult[1])
        self.k2 = (self.alpha / self.scale) ** 2
        self.w = model.weights[0].detach()[:, 0].clone()
        self.v = model.weights[1].detach()[0].clone()
        self.b = model.biases[0].detach().clone()
        self.c = model.biases[1].detach().clone()
        self.xb = problem.standardize(problem.x_b)
        self.xr = problem.standardize(problem.x_r)

    def flat(self) -> torch.Tensor:
        return torch.cat([self.w, self.v, self.b, self.c])

    def write_back(self, model) -> None:
        with torch.no_grad():
            model.weights[0][:, 0] = self.w
            model.weights[1][0] = self.v
            model.biases[0].copy_(self.b)
            model.biases[1].copy_(self.c)

    def _act(self, xs, order):
        """tanh and its derivatives at ``z = alpha w xs + beta0 b`` (rows: points, columns: units)."""
        z = torch.outer(xs, self.alpha * self.w).add_(self.beta0 * self.b)
        t = torch.sigmoid(z.mul_(2.0)).mul_(2.0).sub_(1.0)   # tanh(z) = 2 sigmoid(2z) - 1, faster here
        t2 = t * t
        d1 = torch.neg(t2).add_(1.0)
        d2 = (t * d1).mul_(-2.0)
        if order < 3:
            return t, d1, d2
        d3 = t2.mul_(-3.0).add_(1.0).mul_(d1).mul_(-2.0)    # tanh''' = -2 (1 - t^2)(1 - 3 t^2)
        return t, d1, d2, d3

    def u(self, x) -> torch.Tensor:
        t = self._act((x - self.shift) / self.scale, 2)[0]
        return self.s * (t @ self.v) + self.beta1 * self.c

    def uxx(self, x) -> torch.Tensor:
        d2 = self._act((x - self.shift) / self.scale, 2)[2]
        return self.s * self.k2 * (d2 @ (self.v * self.w**2))

    def jacobians(self, xu=None):
        """``(J_u, J_r)`` at ``x_b`` (or standardized ``xu``) and ``x_r``, columns ``[w | v | b | c]``."""
        s, al, b0, b1, k2 = self.s, self.alpha, self.beta0, self.beta1, self.k2
        xb = self.xb if xu is None else xu
        t, d1, _ = self._act(xb, 2)
        J_u = torch.cat([s * self.v * al * xb[:, None] * d1, s * t, s * self.v * b0 * d1,
                         torch.full((xb.shape[0], 1), b1, dtype=t.dtype)], 1)
        _, _, d2, d3 = self._act(self.xr, 3)
        w, w2 = self.w, self.w**2
        J_r = torch.cat([s * k2 * self.v * (2 * w * d2 + al * w2 * self.xr[:, None] * d3),
                         s * k2 * w2 * d2,
                         s * k2 * self.v * w2 * b0 * d3,
                         torch.zeros((self.xr.shape[0], 1), dtype=t.dtype)], 1)
        return J_u, J_r

    def kernel(self) -> PINNKernel:
        return PINNKernel.from_jacobians(*self.jacobians())

    def traces(self) -> tuple[float, float]:
        J_u, J_r = self.jacobians()
        return float((J_u * J_u).sum()), float((J_r * J_r).sum())

    def errors(self, problem):
        t_b = self._act(self.xb, 2)[0]
        d2 = self._act(self.xr, 2)[2]
        e_b = self.s * (t_b @ self.v) + self.beta1 * self.c - problem.g
        e_r = self.s * self.k2 * (d2 @ (self.v * self.w**2)) - problem.f
        return e_b, e_r

    def step(self, problem, lambda_b, lambda_r, lr):
        """One gradient-descent step on the weighted loss; returns ``(L_b, L_r)`` before the step."""
        s, al, b0, b1, k2 = self.s, self.alpha, self.beta0, self.beta1, self.k2
        xb, xr = self.xb, self.xr
        t_b, d1_b, _ = self._act(xb, 2)
        _, _, d2_r, d3_r = self._act(xr, 3)
        w, w2, v = self.w, self.w**2, self.v
        e_b = s * (t_b @ v) + b1 * self.c - problem.g
        e_r = s * k2 * (d2_r @ (v * w2)) - problem.f
        rb, rr = lambda_b * e_b, lambda_r * e_r
        A = d2_r.T @ rr                                      # sum_j rho_j tanh''(z_jk)
        BB = d3_r.T @ torch.stack([rr, rr * xr], 1)          # sum_j rho_j tanh'''(z_jk) (1, x~_j)
        g_v = s * (t_b.T @ rb + k2 * w2 * A)
        g_w = s * v * (al * (d1_b.T @ (rb * xb)) + k2 * (2 * w * A + al * w2 * BB[:, 1]))
        g_b = s * v * b0 * (d1_b.T @ rb + k2 * w2 * BB[:, 0])
        g_c = b1 * rb.sum().reshape(1)
        self.w = w - lr * g_w
        self.v = v - lr * g_v
        self.b = self.b - lr * g_b
        self.c = self.c - lr * g_c
        return 0.5 * float(e_b @ e_b), 0.5 * float(e_r @ e_r)


# -------------------------------------------------------------------------------- training
@dataclass
class PINNTrainResult:
    """What :func:`train_pinn` recorded at ``steps`` (every ``record_every`` steps and the last).

    ``loss_b``/``loss_r`` are the unweighted terms ``1/2 sum e^2``; ``lambda_b``/``lambda_r`` the
    weights in use; ``relative_param_change`` is ``||theta_k - theta_0|| / ||theta_0||``;
    ``kernels`` the PINN NTK at each record (if recorded); ``u_test`` the solution on ``x_test``
    (``(R, M)``) and ``rel_l2_error`` its relative L2 error against the exact solution on ``x_test``.
    """

    steps: np.ndarray
    loss_b: np.ndarray
    loss_r: np.ndarray
    lambda_b: np.ndarray
    lambda_r: np.ndarray
    relative_param_change: np.ndarray
    x_test: np.ndarray
    u_test: np.ndarray
    rel_l2_error: np.ndarray
    kernels: list = field(default_factory=list)
    lr: float = 0.0
    weighting: str = "none"
    a: float = 1.0
    diverged: bool = False

    @property
    def times(self) -> np.ndarray:
        """Gradient-flow time ``t = lr * step`` of each record."""
        return self.lr * self.steps

    @property
    def ntk_relative_change(self) -> np.ndarray:
        """``||K_k - K_0||_F / ||K_0||_F`` (full PINN NTK) at each record."""
        if not self.kernels:
            raise ValueError("the NTK was not recorded (train_pinn(..., record_ntk=True))")
        cached = getattr(self, "_ntk_change", None)
        if cached is None:
            K0 = self.kernels[0].full
            n0 = K0.norm()
            cached = np.array([float((k.full - K0).norm() / n0) for k in self.kernels])
            self._ntk_change = cached
        return cached.copy()


def train_pinn(model: nn.Module, problem: Poisson1D, *, steps: int, lr: float, weighting: str = "none",
               update_every: int = 100, record_every: int = 50, record_at=None, record_ntk: bool = True,
               n_test: int = 201, method: str = "auto", progress: bool = False) -> PINNTrainResult:
    """Full-batch gradient descent on the PINN loss, recording losses, parameter and NTK change.

    Parameters
    ----------
    model : a 1-D scalar model, trained in place (usually ``MLP(m, depth=1, activation="tanh", b_std=1.0)``).
    problem : :class:`Poisson1D`.
    steps, lr : number of steps and step size ``eta`` (stable while ``eta < 2 / lambda_max(K Lambda)``).
    weighting : ``"none"`` (``lambda_b = lambda_r = 1``) or ``"ntk"``: the paper's Algorithm 1,
        ``lambda = Tr(K) / Tr(K_block)`` from the current NTK at step 0 and every ``update_every`` steps.
    record_every : record every k steps (and the last); ``record_ntk`` also stores the PINN NTK then.
    record_at : optional steps to record at instead (e.g. log-spaced, to resolve a fast start); the
        first and last steps are always recorded.
    n_test : points of the test grid on [0, 1] for ``u_test`` and ``rel_l2_error``.
    method : ``"closed_form"`` (one-hidden-layer tanh MLPs: hand-written derivatives, fast),
        ``"autograd"`` (any model: ``torch.autograd`` through :func:`pinn_loss`), or ``"auto"``.
    progress : a tqdm progress bar.

    A non-finite loss stops the run with a warning and ``diverged=True`` (lower ``lr``).
    """
    _check_model(model)
    _check_problem(problem)
    steps = check_int("steps", steps, minimum=0)
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    check_choice("weighting", weighting, WEIGHTINGS)
    update_every = check_int("update_every", update_every, minimum=1)
    record_every = check_int("record_every", record_every, minimum=1)
    n_test = check_int("n_test", n_test, minimum=2, maximum=100_000)
    check_choice("method", method, ("auto", "closed_form", "autograd"))
    if record_at is not None:
        try:
            record_set = {int(k) for k in record_at}
        except (TypeError, ValueError) as e:
            raise TypeError("record_at must be an iterable of integer steps") from e
        record_set |= {0, steps}

        def is_record(k):
            return k in record_set
    else:
        def is_record(k):
            return k % record_every == 0 or k == steps
    if method == "auto":
        method = "closed_form" if _is_shallow_tanh(model) else "autograd"
    if method == "closed_form" and not _is_shallow_tanh(model):
        raise ValueError("method='closed_form' needs an MLP with depth=1, activation='tanh' and all parameters "
                         "trainable; use method='autograd' for other models")
    x_test = torch.linspace(0.0, 1.0, n_test, dtype=torch.float64)
    u_exact = problem.exact(x_test)
    rec = {k: [] for k in ("steps", "loss_b", "loss_r", "lambda_b", "lambda_r", "dtheta", "u", "err")}
    kernels = []
    diverged = False

    with _one_thread():
        if method == "closed_form":
            eng = _ShallowTanh(model, problem)
            theta = eng.flat
            kernel_now = eng.kernel
            traces_now = eng.traces
            errors_now = lambda: eng.errors(problem)  # noqa: E731
            u_now = lambda: eng.u(x_test)  # noqa: E731

            def gd_step(lb, lr_w):
                eng.step(problem, lb, lr_w, lr)
        else:
            params = [p for p in model.parameters() if p.requires_grad]

            def theta():
                return torch.cat([p.detach().reshape(-1) for p in params])

            def kernel_now():
                return pinn_ntk(model, problem)

            def traces_now():
                return kernel_now().traces()

            def errors_now():
                with torch.no_grad():
                    e_b = pinn_u(model, problem, problem.x_b) - problem.g
                    e_r = pinn_uxx(model, problem, problem.x_r) - problem.f
                return e_b, e_r

            def u_now():
                with torch.no_grad():
                    return pinn_u(model, problem, x_test)

            def gd_step(lb, lr_w):
                loss, _, _ = pinn_loss(model, problem, lb, lr_w)
                grads = torch.autograd.grad(loss, params)
                with torch.no_grad():
                    torch._foreach_add_(params, grads, alpha=-lr)

        theta0 = theta().clone()
        norm0 = float(theta0.norm())
        lam_b, lam_r = 1.0, 1.0
        iterator = range(steps + 1)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="training", leave=False)
        for k in iterator:
            if weighting == "ntk" and k % update_every == 0:
                tr_uu, tr_rr = traces_now()
                if not (tr_uu > 0 and tr_rr > 0 and math.isfinite(tr_uu) and math.isfinite(tr_rr)):
                    diverged = True
                    warnings.warn(f"PINN training diverged by step {k} (NTK traces {tr_uu:.3g}, {tr_rr:.3g}): "
                                  f"lower lr={lr}", RuntimeWarning, stacklevel=2)
                    break
                lam_b, lam_r = trace_weights(tr_uu, tr_rr)
            if is_record(k):
                e_b, e_r = errors_now()
                lb_val, lr_val = 0.5 * float(e_b @ e_b), 0.5 * float(e_r @ e_r)
                if not (math.isfinite(lb_val) and math.isfinite(lr_val)):
                    diverged = True
                    warnings.warn(f"PINN training diverged by step {k} (loss not finite): lower lr={lr} "
                                  "(gradient descent needs lr < 2 / lambda_max(K Lambda))", RuntimeWarning,
                                  stacklevel=2)
                    break
                u = u_now()
                rec["steps"].append(k)
                rec["loss_b"].append(lb_val)
                rec["loss_r"].append(lr_val)
                rec["lambda_b"].append(lam_b)
                rec["lambda_r"].append(lam_r)
                rec["dtheta"].append(float((theta() - theta0).norm()) / norm0)
                rec["u"].append(u.detach().numpy().copy())
                rec["err"].append(float((u - u_exact).norm() / u_exact.norm()))
                if record_ntk:
                    kernels.append(kernel_now())
            if k == steps:
                break
            gd_step(lam_b, lam_r)
        if method == "closed_form":
            eng.write_back(model)

    return PINNTrainResult(
        steps=np.array(rec["steps"]), loss_b=np.array(rec["loss_b"]), loss_r=np.array(rec["loss_r"]),
        lambda_b=np.array(rec["lambda_b"]), lambda_r=np.array(rec["lambda_r"]),
        relative_param_change=np.array(rec["dtheta"]), x_test=x_test.numpy(),
        u_test=np.array(rec["u"]).reshape(len(rec["u"]), n_test), rel_l2_error=np.array(rec["err"]),
        kernels=kernels, lr=lr, weighting=weighting, a=problem.a, diverged=diverged)
