"""Infinite-width kernels of :class:`ntk_teach.MLP`: the NNGP kernel and the NTK.

For the network with ``L = depth`` hidden layers (NTK parameterization, see
:mod:`ntk_teach.nets`) the pre-activations of layer ``l`` become, as every width
goes to infinity, a centred Gaussian process with covariance ``Sigma^l``
(Neal 1996; Lee et al. 2018; Matthews et al. 2018)::

    K^1(x, x')        = x . x' / d_in
    K^l(x, x')        = E[phi(u) phi(v)],  (u, v) ~ N(0, [[S^{l-1}(x,x), S^{l-1}(x,x')], [., S^{l-1}(x',x')]])
    Sigma^l           = w_std^2 K^l + b_std^2                       (l = 1 .. L+1)
    Sigma_dot^l       = w_std^2 E[phi'(u) phi'(v)]   (same Gaussian)  (l = 2 .. L+1)

and the NTK follows the recursion of Jacot et al. (2018), Arora et al. (2019)::

    Theta^1     = Sigma^1
    Theta^{l+1} = Theta^l * Sigma_dot^{l+1} + Sigma^{l+1}

The network output is layer ``L + 1``: ``analytic_nngp = Sigma^{L+1}`` and
``analytic_ntk = Theta^{L+1}``. The Gaussian expectations are in closed form for
ReLU (the arc-cosine kernel of Cho & Saul 2009) and erf (Williams 1997); for tanh
they are computed by tensor-product quadrature. By default (``quad_points=None``)
that is the trapezoid rule on a uniform grid whose spacing adapts to the largest
pre-activation variance ``q``: for an integrand analytic in a strip of half-width
``d = pi / (2 sqrt(q))`` (the poles of ``tanh``) its error is about
``exp(-2 pi d / h)``, and ``h = d / 4`` makes that ~1e-11 (measured worst cases, at
``rho = +-1``: 7e-10 for ``E[phi phi]`` and 3e-8 for ``E[phi' phi']``, whose higher-order poles
carry larger constants); the cost grows like ``q``
(69 nodes per axis at ``q <= 1``, 131 at ``q = 9``; N = 100 inputs on [-3, 3] take seconds). An integer ``quad_points``
selects Gauss-Hermite with that many nodes instead, which converges fast while tanh
is smooth on the scale of the standard deviation and slowly once it looks like a
step. Worst case over correlations (it is at ``rho = +-1``), measured against a
trapezoid-rule reference accurate to 1e-14: 64 nodes are accurate to about 3e-9
(``E[phi phi]``) and 1.5e-7 (``E[phi' phi']``) at pre-activation variance 1, 1e-4
and 1.5e-3 at variance 4, 3e-3 and 2e-2 at variance 9 (e.g. ``x = 3`` with
``d_in = 1``); 128 nodes: 2e-13 and 1.5e-11, 1e-6 and 2e-5, 1.5e-4 and 1.5e-3. The
tests check these figures and the default's accuracy.

This module needs nothing but torch and numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._validate import as_tensor, check_choice, check_float, check_int, check_memory

ACTIVATIONS = ("relu", "tanh", "erf")


# --------------------------------------------------------------------------- #
# Gaussian expectations E[phi(u) phi(v)] and E[phi'(u) phi'(v)]
# for (u, v) ~ N(0, [[q1, s], [s, q2]]); q1: (N1, 1), q2: (1, N2), s: (N1, N2)
# --------------------------------------------------------------------------- #
def relu_expectations(q1: torch.Tensor, q2: torch.Tensor, s: torch.Tensor):
    """Arc-cosine kernels of order 1 and 0 (Cho & Saul 2009).

    ``E[relu(u) relu(v)] = sqrt(q1 q2) / (2 pi) * (sin t + (pi - t) cos t)`` and
    ``E[step(u) step(v)] = (pi - t) / (2 pi)`` with ``cos t = s / sqrt(q1 q2)``.
    Where a variance is 0 the unit is identically 0 and both are 0.
    """
    norm = torch.sqrt(q1 * q2)  # (N1, N2) by broadcasting
    positive = bool((norm > 0).all())
    safe = norm if positive else torch.where(norm > 0, norm, torch.ones_like(norm))
    c = torch.div(s, safe).clamp_(-1.0, 1.0)  # rounding guard only: |s| <= sqrt(q1 q2) by Cauchy-Schwarz
    pi_minus_t = torch.arccos(c).neg_().add_(math.pi)
    # sin t + (pi - t) cos t, with sin t = sqrt(1 - c^2)
    e_phi = torch.mul(c, c).neg_().add_(1.0).clamp_(min=0.0).sqrt_().addcmul_(pi_minus_t, c)
    e_phi.mul_(norm).mul_(1 / (2 * math.pi))
    e_dphi = pi_minus_t.mul_(1 / (2 * math.pi))
    if not positive:
        e_dphi = torch.where(norm > 0, e_dphi, torch.zeros_like(e_dphi))
    return e_phi, e_dphi


def erf_expectations(q1: torch.Tensor, q2: torch.Tensor, s: torch.Tensor):
    """Closed forms for erf (Williams 1997).

    ``E[erf(u) erf(v)] = 2/pi * arcsin(2 s / sqrt((1 + 2 q1)(1 + 2 q2)))`` and
    ``E[erf'(u) erf'(v)] = 4/pi / sqrt((1 + 2 q1)(1 + 2 q2) - 4 s^2)``.
    """
    d = (1 + 2 * q1) * (1 + 2 * q2)
    e_phi = 2 / math.pi * torch.arcsin(torch.clamp(2 * s / torch.sqrt(d), -1.0, 1.0))
    e_dphi = 4 / math.pi / torch.sqrt(d - 4 * s * s)
    return e_phi, e_dphi


def _hermgauss(n: int, dtype):
    z, w = np.polynomial.hermite.hermgauss(n)
    return torch.as_tensor(z * math.sqrt(2.0), dtype=dtype), torch.as_tensor(w / math.sqrt(math.pi), dtype=dtype)


def _trapezoid_nodes(q_max: float, dtype):
    """Nodes and weights of the trapezoid rule for ``E[g(z)]``, ``z ~ N(0, 1)``, adapted to tanh.

    For an integrand analytic in the strip ``|Im z| < d`` the trapezoid rule with spacing
    ``h`` errs by about ``exp(-2 pi d / h)``. ``tanh(sqrt(q) z)`` has its poles at
    ``|Im z| = pi / (2 sqrt(q))``, so ``h = d / 4`` gives ``exp(-8 pi) ~ 1e-11``; the
    Gaussian tail beyond ``|z| = 8.5`` is below ``1e-16``.
    """
    d = math.pi / (2.0 * math.sqrt(max(q_max, 1e-12)))
    h = min(0.25, d / 4.0)
    K = int(math.ceil(8.5 / h))
    z = h * torch.arange(-K, K + 1, dtype=dtype)
    w = h * torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return z, w


def _nodes(quad_points, q_max: float, dtype):
    return _trapezoid_nodes(q_max, dtype) if quad_points is None else _hermgauss(quad_points, dtype)


def quadrature_expectations(phi, dphi, q1, q2, s, quad_points: int | None = None, max_block: int = 2**22):
    """``E[phi(u) phi(v)]`` and ``E[dphi(u) dphi(v)]`` by a tensor-product quadrature.

    With ``u = sqrt(q1) z1`` and ``v = rho sqrt(q2) z1 + sqrt(q2 (1 - rho^2)) z2`` for
    independent standard normals ``z1, z2``. ``quad_points=None`` (default): the trapezoid
    rule with a spacing adapted to the largest variance (error ~1e-11 for tanh, see
    :func:`_trapezoid_nodes`); an integer: Gauss-Hermite with that many nodes per axis (exact
    for polynomials of degree ``< 2 * quad_points``, slow to converge for a sharp tanh).
    Computed in row blocks of at most ``max_block`` node evaluations to bound memory.
    """
    q_max = max(float(q1.max()), float(q2.max()))
    z, w = _nodes(quad_points, q_max, s.dtype)
    n_nodes = z.shape[0]
    N1, N2 = s.shape
    q1 = q1.expand(N1, 1)
    q2 = q2.expand(1, N2)
    sq1 = torch.sqrt(q1)
    sq2 = torch.sqrt(q2)
    norm = sq1 * sq2
    rho = torch.clamp(s / torch.where(norm > 0, norm, torch.ones_like(norm)), -1.0, 1.0)
    ww = w[:, None] * w[None, :]  # (n, n)
    e_phi = torch.empty_like(s)
    e_dphi = torch.empty_like(s)
    rows = max(1, max_block // max(1, N2 * n_nodes * n_nodes))
    z1 = z[:, None]
    z2 = z[None, :]
    for i in range(0, N1, rows):
        sl = slice(i, i + rows)
        r = rho[sl][..., None, None]
        u = sq1[sl][..., None, None] * z1  # (b, 1, n, 1)
        v = sq2[..., None, None] * (r * z1 + torch.sqrt(1 - r * r) * z2)  # (b, N2, n, n)
        e_phi[sl] = (phi(u) * phi(v) * ww).sum(dim=(-1, -2))
        e_dphi[sl] = (dphi(u) * dphi(v) * ww).sum(dim=(-1, -2))
    return e_phi, e_dphi


def _expectations(activation: str, q1, q2, s, quad_points):
    if activation == "relu":
        return relu_expectations(q1, q2, s)
    if activation == "erf":
        return erf_expectations(q1, q2, s)
    return quadrature_expectations(torch.tanh, lambda h: 1 - torch.tanh(h) ** 2, q1, q2, s, quad_points)


def _diag_expectation(activation: str, q: torch.Tensor, quad_points) -> torch.Tensor:
    """``E[phi(u)^2]`` for ``u ~ N(0, q)``, elementwise."""
    if activation == "relu":
        return 0.5 * q
    if activation == "erf":
        return 2 / math.pi * torch.arcsin(2 * q / (1 + 2 * q))
    z, w = _nodes(quad_points, float(q.max()), q.dtype)
    return (torch.tanh(torch.sqrt(q)[..., None] * z) ** 2 * w).sum(-1)


# --------------------------------------------------------------------------- #
# The layer-by-layer recursion
# --------------------------------------------------------------------------- #
@dataclass
class KernelLayers:
    """Every layer of the infinite-width recursion (index ``i`` is layer ``l = i + 1``).

    Attributes
    ----------
    K : list of (N1, N2) tensors
        ``K^l``: per-unit Gram of the *inputs* of layer ``l`` (``x.x'/d_in`` for ``l = 1``).
    sigma : list of (N1, N2) tensors
        ``Sigma^l = w_std^2 K^l + b_std^2``: covariance of the pre-activations of layer ``l``.
    sigma_dot : list
        ``Sigma_dot^l = w_std^2 E[phi' phi']``; ``sigma_dot[0]`` is ``None`` (layer 1 has no
        activation below it).
    theta : list of (N1, N2) tensors
        ``Theta^l``: the NTK of the sub-network that ends at layer ``l``.
    backprop : list of (N1, N2) tensors
        ``B^l = prod_{k > l} Sigma_dot^k``: the limit of the Gram of back-propagated signals
        ``d f / d h^l``; the NTK is ``sum_l Sigma^l B^l`` (weights: ``w_std^2 K^l B^l``,
        biases: ``b_std^2 B^l``), which is how the per-layer decomposition is read.
    """

    K: list
    sigma: list
    sigma_dot: list
    theta: list
    backprop: list

    @property
    def nngp(self) -> torch.Tensor:
        return self.sigma[-1]

    @property
    def ntk(self) -> torch.Tensor:
        return self.theta[-1]


def _prepare(x1, x2):
    x1 = as_tensor("x1", x1, torch.float64)
    if x1.ndim == 1:
        x1 = x1[:, None]
    if x1.ndim != 2 or x1.shape[0] < 1:
        raise ValueError(f"x1 must have shape (N,) or (N, d_in) with N >= 1, got {tuple(x1.shape)}")
    if x2 is None:
        return x1, x1, True
    x2 = as_tensor("x2", x2, torch.float64)
    if x2.ndim == 1:
        x2 = x2[:, None]
    if x2.ndim != 2 or x2.shape[0] < 1 or x2.shape[1] != x1.shape[1]:
        raise ValueError(
            f"x2 must have shape (N2, {x1.shape[1]}) to match x1 (or (N2,) when d_in = 1), got {tuple(x2.shape)}"
        )
    return x1, x2, False


def kernel_recursion(
    x1,
    x2=None,
    *,
    depth: int = 2,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.1,
    quad_points: int | None = None,
) -> KernelLayers:
    """The NNGP/NTK recursion, layer by layer, for inputs ``x1`` (N1, d) and ``x2`` (N2, d).

    ``depth`` is the number of hidden layers (0 gives the linear model ``w.x/sqrt(d) + b``).
    Everything is computed in float64; see :class:`KernelLayers` for what is returned.
    """
    depth = check_int("depth", depth, minimum=0)
    check_choice("activation", activation, ACTIVATIONS)
    w_std = check_float("w_std", w_std, minimum=0.0)
    b_std = check_float("b_std", b_std, minimum=0.0)
    if quad_points is not None:
        quad_points = check_int("quad_points", quad_points, minimum=2, maximum=400)
    x1, x2, same = _prepare(x1, x2)
    d_in = x1.shape[1]
    w2, b2 = w_std**2, b_std**2
    # K, Sigma, Sigma_dot, Theta and B for every layer, plus elementwise temporaries, in float64
    check_memory(f"the kernels of {x1.shape[0]} x {x2.shape[0]} inputs (x1, x2) at depth {depth}",
                 (5 * (depth + 1) + 4) * x1.shape[0] * x2.shape[0] * 8, "Use fewer inputs.")

    K = x1 @ x2.T / d_in
    if same:
        # exact symmetry from the start; every later step is elementwise and keeps it
        K = 0.5 * (K + K.T)
    k1 = (x1 * x1).sum(1, keepdim=True) / d_in  # (N1, 1) diagonal for x1
    k2 = k1.T if same else ((x2 * x2).sum(1) / d_in)[None, :]
    Ks, sigmas, sdots = [K], [w2 * K + b2], [None]
    q1, q2 = w2 * k1 + b2, w2 * k2 + b2
    if same:  # Sigma(x, x) is the 1-D recursion's q exactly, so the angle at (x, x) is exactly 0
        sigmas[0].diagonal().copy_(q1[:, 0])  # (ReLU: else arccos(1 - 1 ulp) = 2e-8 in Sigma_dot)
    for _ in range(depth):
        e_phi, e_dphi = _expectations(activation, q1, q2, sigmas[-1], quad_points)
        if same and activation == "tanh":
            # the quadrature treats u and v differently (v carries the correlation), so its
            # error is not symmetric; symmetrize to keep Gram matrices exactly symmetric
            e_phi, e_dphi = 0.5 * (e_phi + e_phi.T), 0.5 * (e_dphi + e_dphi.T)
        # the diagonals follow their own (1-D) recursion
        d1_phi = _diag_expectation(activation, q1, quad_points)
        d2_phi = d1_phi.T if same else _diag_expectation(activation, q2, quad_points)
        Ks.append(e_phi)
        sigmas.append(w2 * e_phi + b2)
        sdots.append(w2 * e_dphi)
        q1, q2 = w2 * d1_phi + b2, w2 * d2_phi + b2
        if same:
            sigmas[-1].diagonal().copy_(q1[:, 0])

    thetas = [sigmas[0]]
    for l in range(1, depth + 1):
        thetas.append(thetas[-1] * sdots[l] + sigmas[l])
    back = [None] * (depth + 1)
    back[-1] = torch.ones_like(K)
    for l in range(depth - 1, -1, -1):
        back[l] = back[l + 1] * sdots[l + 1]
    return KernelLayers(K=Ks, sigma=sigmas, sigma_dot=sdots, theta=thetas, backprop=back)


#: Entries per row block in :func:`_output_kernel` (64k float64 = 512 KiB per temporary).
_BLOCK = 2**16


def _output_kernel(x1, x2, depth, activation, w_std, b_std, quad_points, ntk: bool) -> torch.Tensor:
    """``Sigma^{L+1}`` (``ntk=False``) or ``Theta^{L+1}`` of :func:`kernel_recursion`, without keeping every layer.

    The same recursion, for ReLU and erf in blocks of rows: each block's temporaries are small and
    recycled by the allocator, where the full recursion allocates ~30 fresh ``N1 x N2`` matrices whose
    first-touch page faults cost more than the arithmetic (N = 1000: ~34,000 faults, 60% of the time).
    tanh goes through :func:`kernel_recursion` (its quadrature already works in blocks, and its nodes
    adapt to the largest variance of the whole input set).
    """
    if activation == "tanh":
        layers = kernel_recursion(x1, x2, depth=depth, activation=activation, w_std=w_std, b_std=b_std,
                                  quad_points=quad_points)
        return layers.ntk if ntk else layers.nngp
    depth = check_int("depth", depth, minimum=0)
    check_choice("activation", activation, ACTIVATIONS)
    w_std = check_float("w_std", w_std, minimum=0.0)
    b_std = check_float("b_std", b_std, minimum=0.0)
    if quad_points is not None:
        quad_points = check_int("quad_points", quad_points, minimum=2, maximum=400)
    x1, x2, same = _prepare(x1, x2)
    N1, N2 = x1.shape[0], x2.shape[0]
    check_memory(f"the kernel of {N1} x {N2} inputs (x1, x2)", 4 * N1 * N2 * 8, "Use fewer inputs.")
    d_in = x1.shape[1]
    w2, b2 = w_std**2, b_std**2
    # the diagonals follow their own (1-D) recursion: q^l(x) = Sigma^l(x, x) for every layer
    q1s = [w2 * (x1 * x1).sum(1, keepdim=True) / d_in + b2]
    for _ in range(depth):
        q1s.append(w2 * _diag_expectation(activation, q1s[-1], quad_points) + b2)
    if same:
        q2s = [q.T for q in q1s]
    else:
        q2s = [w2 * ((x2 * x2).sum(1) / d_in)[None, :] + b2]
        for _ in range(depth):
            q2s.append(w2 * _diag_expectation(activation, q2s[-1], quad_points) + b2)
    G = x1 @ x2.T
    if same:  # as in kernel_recursion: ReLU's arccos turns a last-bit asymmetry into ~1e-8 near the diagonal
        G = 0.5 * (G + G.T)
    out = torch.empty(N1, N2, dtype=torch.float64)
    rows = max(1, _BLOCK // N2)
    for i in range(0, N1, rows):
        sl = slice(i, i + rows)
        diag = torch.arange(i, min(i + rows, N1))  # the block's entries (x, x) when x2 is x1
        sigma = w2 * (G[sl] / d_in) + b2
        if same:  # the diagonal is the 1-D recursion's q, as in kernel_recursion
            sigma[diag - i, diag] = q1s[0][diag, 0]
        theta = sigma
        for l in range(depth):
            e_phi, e_dphi = _expectations(activation, q1s[l][sl], q2s[l], sigma, quad_points)
            sigma = w2 * e_phi + b2
            if same:
                sigma[diag - i, diag] = q1s[l + 1][diag, 0]
            if ntk:
                theta = theta * (w2 * e_dphi) + sigma
        out[sl] = theta if ntk else sigma
    if same:  # vectorized and scalar loops may round differently: make the result exactly symmetric
        out = 0.5 * (out + out.T)
    return out


def analytic_nngp(x1, x2=None, *, depth: int = 2, activation: str = "relu", w_std: float = 1.0,
                  b_std: float = 0.1, quad_points: int | None = None) -> torch.Tensor:
    """The NNGP kernel ``Sigma^{L+1}(x1, x2)`` of the infinitely wide ``MLP``: covariance of its outputs at init.

    Same for the NTK and standard parameterizations. Returns a float64 tensor ``(N1, N2)``.
    """
    return _output_kernel(x1, x2, depth, activation, w_std, b_std, quad_points, ntk=False)


def analytic_ntk(x1, x2=None, *, depth: int = 2, activation: str = "relu", w_std: float = 1.0,
                 b_std: float = 0.1, parameterization: str = "ntk", width: int | None = None,
                 quad_points: int | None = None) -> torch.Tensor:
    """The infinite-width NTK ``Theta^{L+1}(x1, x2)`` of ``MLP`` (float64, ``(N1, N2)``).

    ``parameterization="standard"`` needs ``width`` (the hidden width ``m``): in the
    standard parameterization the weight gradients are not scaled by ``1/sqrt(fan_in)``,
    so layer ``l``'s weights contribute ``n_{l-1} K^l B^l`` instead of ``w_std^2 K^l B^l``
    and every bias contributes ``B^l`` instead of ``b_std^2 B^l``. That kernel grows
    linearly with ``m`` and has no finite limit; this is its large-width expectation
    at that width (exact for the last layer, leading order for the others).
    """
    check_choice("parameterization", parameterization, ("ntk", "standard"))
    if parameterization == "ntk":
        if width is not None:
            raise ValueError("width is only used with parameterization='standard' (the NTK-parameterization limit "
                             "does not depend on it); pass width=None")
        return _output_kernel(x1, x2, depth, activation, w_std, b_std, quad_points, ntk=True)
    layers = kernel_recursion(x1, x2, depth=depth, activation=activation, w_std=w_std, b_std=b_std,
                              quad_points=quad_points)
    if width is None:
        raise ValueError("parameterization='standard' needs width (an integer >= 1): its NTK depends on the width")
    width = check_int("width", width, minimum=1)
    d_in = 1 if torch.as_tensor(x1).ndim == 1 else torch.as_tensor(x1).shape[1]
    fan_in = [d_in] + [width] * depth
    theta = torch.zeros_like(layers.K[0])
    for l in range(depth + 1):
        theta = theta + (fan_in[l] * layers.K[l] + 1.0) * layers.backprop[l]
    return theta


def ntk_layer_contributions(x1, x2=None, *, depth: int = 2, activation: str = "relu", w_std: float = 1.0,
                            b_std: float = 0.1, quad_points: int | None = None) -> dict:
    """Infinite-width NTK split by parameter group: ``{"W1": ..., "b1": ..., ..., "W{L+1}": ..., "b{L+1}": ...}``.

    ``W{l}`` contributes ``w_std^2 K^l B^l`` and ``b{l}`` contributes ``b_std^2 B^l``; they sum to ``analytic_ntk``.
    """
    layers = kernel_recursion(x1, x2, depth=depth, activation=activation, w_std=w_std, b_std=b_std,
                              quad_points=quad_points)
    out = {}
    for l in range(depth + 1):
        out[f"W{l + 1}"] = w_std**2 * layers.K[l] * layers.backprop[l]
        out[f"b{l + 1}"] = b_std**2 * layers.backprop[l]
    return out
