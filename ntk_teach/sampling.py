"""Random MLP outputs sampled layer by layer, exactly in law, and the exact finite-width kurtosis.

Why this works (and why the CLT applies): in the NTK parameterization layer ``l + 1``
computes ``h^{l+1}_i = w_std/sqrt(n_l) sum_j W_ij a^l_j + b_std b_i`` with all
``W_ij, b_i ~ N(0, 1)``. *Given* the previous layer ``a^l``, the units ``h^{l+1}_i``
are therefore independent Gaussian processes over the inputs with covariance

    C^{l+1}(x, x') = w_std^2 / n_l * a^l(x) . a^l(x') + b_std^2.

Sampling each layer from this conditional Gaussian (Cholesky of a ``G x G`` matrix for
``G`` inputs) gives outputs with exactly the law of ``MLP(width, ...)`` outputs, at a
cost ``O(G^2 n)`` per layer instead of ``O(G n^2)`` for building the weight matrices:
thousands of very wide networks on a plotting grid in about a second. (Only the law is
the same: a given ``seed`` here is not the same network as ``MLP(width, seed=seed)``.)

At one input the output is a *Gaussian scale mixture*: ``f = s z`` with ``z ~ N(0, 1)``
and a random variance ``s^2 = C^{L+1}(x0, x0)``. All of its non-Gaussianity is the
randomness of ``s^2``, which is an average over ``n`` units and so concentrates like
``1/n`` (law of large numbers). For ReLU the moments of ``s^2`` follow an exact
recursion (:func:`relu_output_excess_kurtosis`).
"""
from __future__ import annotations

import math

import torch

from ._validate import as_inputs, check_choice, check_float, check_int, check_memory
from .nets import ACTIVATIONS, activation_fn


def _gen(seed):
    g = torch.Generator()
    g.manual_seed(check_int("seed", seed, minimum=0))
    return g


def sample_mlp_outputs(x, *, width: int, n_nets: int, depth: int = 2, d_in: int = 1, activation: str = "relu",
                       w_std: float = 1.0, b_std: float = 0.1, seed: int = 0, jitter: float = 1e-12) -> torch.Tensor:
    """Outputs of ``n_nets`` independent random ``MLP`` s at inputs ``x``, shape ``(n_nets, G)``, float64.

    Exact in law (see the module docstring); each layer after the first is drawn from its
    conditional Gaussian with a Cholesky factor of ``C + jitter * mean(diag C) * I``
    (``C`` has rank at most ``n + 1``, so narrow layers need the jitter; 1e-12 relative
    changes variances by 1e-12).
    """
    width = check_int("width", width, minimum=1)
    n_nets = check_int("n_nets", n_nets, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    check_choice("activation", activation, ACTIVATIONS)
    w_std = check_float("w_std", w_std, minimum=0.0)
    b_std = check_float("b_std", b_std, minimum=0.0)
    x = as_inputs("x", x, check_int("d_in", d_in, minimum=1), torch.float64)
    G = x.shape[0]
    check_memory(f"sampling {n_nets} nets of width {width} on {G} inputs", 8 * 4 * G * width + 8 * 4 * G * G,
                 "Use fewer inputs or a smaller width.")
    phi = activation_fn(activation)
    g = _gen(seed)
    out = torch.empty(n_nets, G, dtype=torch.float64)
    eye = torch.eye(G, dtype=torch.float64)
    chunk = max(1, min(n_nets, (2**24) // max(1, G * width)))  # nets per batch: ~128 MB of activations
    for start in range(0, n_nets, chunk):
        m = min(chunk, n_nets - start)
        W = torch.randn(m, width, x.shape[1], generator=g, dtype=torch.float64)
        b = torch.randn(m, 1, width, generator=g, dtype=torch.float64)
        a = phi(w_std / math.sqrt(x.shape[1]) * torch.matmul(x, W.transpose(1, 2)) + b_std * b)  # (m, G, n)
        for layer in range(depth):
            C = (w_std**2 / width) * torch.bmm(a, a.transpose(1, 2)) + b_std**2  # (m, G, G)
            scale = jitter * C.diagonal(dim1=1, dim2=2).mean(1)[:, None, None]
            L = torch.linalg.cholesky(C + scale * eye)
            n_out = width if layer < depth - 1 else 1
            h = torch.bmm(L, torch.randn(m, G, n_out, generator=g, dtype=torch.float64))
            a = phi(h) if layer < depth - 1 else h
        out[start:start + m] = a[..., 0]
    return out


def sample_output_variances(x0: float, *, width: int, n_nets: int, depth: int = 2, activation: str = "relu",
                            w_std: float = 1.0, b_std: float = 0.1, seed: int = 0, chunk: int = 2048) -> torch.Tensor:
    """Samples of the random output variance ``s^2 = C^{L+1}(x0, x0)`` of ``n_nets`` nets at one input.

    ``f(x0) = s z`` with ``z ~ N(0, 1)`` independent of ``s``; so ``f`` samples are
    ``s * randn``. One input of dimension 1. Vectorized over nets in chunks.
    """
    x0 = check_float("x0", x0)
    width = check_int("width", width, minimum=1)
    n_nets = check_int("n_nets", n_nets, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    check_choice("activation", activation, ACTIVATIONS)
    w_std = check_float("w_std", w_std, minimum=0.0)
    b_std = check_float("b_std", b_std, minimum=0.0)
    chunk = check_int("chunk", chunk, minimum=1)
    check_memory(f"{min(chunk, n_nets)} x {width} unit samples", 8 * 3 * min(chunk, n_nets) * width)
    phi = activation_fn(activation)
    g = _gen(seed)
    s2 = torch.empty(n_nets, dtype=torch.float64)
    var1 = w_std**2 * x0**2 + b_std**2  # layer-1 pre-activations are exactly N(0, var1)
    for start in range(0, n_nets, chunk):
        m = min(chunk, n_nets - start)
        var = torch.full((m, 1), var1, dtype=torch.float64)
        for _ in range(depth):
            a = phi(torch.sqrt(var) * torch.randn(m, width, generator=g, dtype=torch.float64))
            var = (w_std**2 / width) * (a * a).sum(1, keepdim=True) + b_std**2
        s2[start:start + m] = var[:, 0]
    return s2


def scale_mixture_excess_kurtosis(s2) -> float:
    """Excess kurtosis of ``f = s z`` from samples of ``s^2``: ``3 Var(s^2) / E[s^2]^2`` (exact identity)."""
    s2 = torch.as_tensor(s2, dtype=torch.float64)
    return float(3 * s2.var(unbiased=True) / s2.mean() ** 2)


def relu_output_excess_kurtosis(x0: float, *, width: int, depth: int = 2, w_std: float = 1.0,
                                b_std: float = 0.1) -> float:
    """The exact excess kurtosis of ``f(x0)`` for a random ReLU ``MLP`` of finite ``width`` (NTK param., d_in = 1).

    With ``R = (1/n) sum_i relu(z_i)^2`` for ``n`` i.i.d. standard normals, ``E[R] = 1/2`` and
    ``E[R^2] = 1/4 + 5/(4n)`` (``E relu(z)^2 = 1/2``, ``E relu(z)^4 = 3/2``). Each layer maps the
    output variance as ``s^2 -> w_std^2 s^2 R + b_std^2`` with a fresh, independent ``R``, so the
    first two moments of ``s^2`` follow exactly; then ``kurt - 3 = 3 Var(s^2) / E[s^2]^2``. As
    ``n -> infinity`` it falls like ``1/n``.
    """
    x0 = check_float("x0", x0)
    n = check_int("width", width, minimum=1)
    depth = check_int("depth", depth, minimum=1)
    w2 = check_float("w_std", w_std, minimum=0.0) ** 2
    b2 = check_float("b_std", b_std, minimum=0.0) ** 2
    m = w2 * x0**2 + b2  # E[s^2] of layer 1 (deterministic)
    M = m * m  # E[s^4]
    ER, ER2 = 0.5, 0.25 + 1.25 / n
    for _ in range(depth):
        m, M = w2 * m * ER + b2, w2 * w2 * M * ER2 + 2 * w2 * b2 * m * ER + b2 * b2
    return 3 * (M - m * m) / (m * m)
