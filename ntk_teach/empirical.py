"""The empirical (finite-width) NTK, three ways.

``Theta(x, x') = sum_p  d f(x)/d theta_p  *  d f(x')/d theta_p`` over every trainable
parameter: the Gram matrix of the feature map ``phi(x) = grad_theta f(x)``.

* ``"structured"``: for a dense layer ``h = c W a + beta b`` the gradient with respect
  to ``W`` is the outer product ``c * delta (x) a`` of the back-propagated signal
  ``delta = df/dh`` and the layer input ``a``, so that layer's contribution is
  ``c^2 (delta delta'^T) * (a a'^T) + beta^2 (delta delta'^T)`` (elementwise
  product of two small Gram matrices). Cost per layer: ``O(N^2 n)`` after one
  forward and one backward pass (``O(N n^2)``); the ``N x P`` Jacobian is never built.
* ``"jacobian"``: ``torch.func.jacrev`` builds ``J`` (``N x P``) and contracts
  ``J1 J2^T``: ``O(N P)`` memory, ``O(N1 N2 P)`` time.
* ``"ntk_vp"``: NTK-vector products, ``Theta v = J1 (J2^T v)`` by one ``vjp`` and
  one ``jvp`` per basis vector (as in the PyTorch "Neural Tangent Kernels"
  tutorial): no Jacobian stored, ``O(N2)`` forward/backward passes.

All three agree to rounding error (the tests check ~1e-10 in float64).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev, jvp, vjp, vmap

from ._validate import as_inputs, as_tensor, check_choice, check_memory
from .nets import MLP, Centered, activation_derivative

METHODS = ("structured", "jacobian", "ntk_vp")


def _trainable(model: nn.Module) -> dict:
    return {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}


def _model_dtype(model: nn.Module) -> torch.dtype:
    for p in model.parameters():
        return p.dtype
    return torch.get_default_dtype()


def _base_mlp(model: nn.Module):
    """The MLP inside ``model`` (itself, a Centered MLP, or a Linearized MLP), or None."""
    from .lazy import Linearized

    if isinstance(model, MLP):
        return model
    if isinstance(model, (Centered, Linearized)):
        return _base_mlp(model.model)
    return None


def _prepare_x(model, x, name):
    base = _base_mlp(model)
    if base is not None:
        return as_inputs(name, x, base.d_in, base.dtype)
    return as_tensor(name, x, _model_dtype(model))


def empirical_ntk(model: nn.Module, x1, x2=None, method: str = "structured") -> torch.Tensor:
    """The empirical NTK ``Theta(x1, x2)`` of ``model`` at its current parameters, shape ``(N1, N2)``.

    Parameters
    ----------
    model : nn.Module
        A scalar-output model ``f(x) -> (N,)``. ``method="structured"`` needs an
        :class:`~ntk_teach.MLP` (or a :func:`~ntk_teach.centered` or
        :func:`~ntk_teach.linearize` wrapper of one); the other methods take any module.
    x1, x2 : inputs ``(N,)`` or ``(N, d_in)``; ``x2=None`` means ``x2 = x1`` (and reuses the work).
    method : {"structured", "jacobian", "ntk_vp"}

    The result is detached (no graph) and in the model's dtype.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_choice("method", method, METHODS)
    x1 = _prepare_x(model, x1, "x1")
    x2 = x1 if x2 is None else _prepare_x(model, x2, "x2")
    if x2.shape[1:] != x1.shape[1:]:
        raise ValueError(f"x1 and x2 must have the same input dimension, got {tuple(x1.shape)} and {tuple(x2.shape)}")
    same = x2 is x1
    if method == "structured":
        return _structured(model, x1, x2, same)
    params = _trainable(model)
    P = sum(p.numel() for p in params.values())
    itemsize = torch.empty((), dtype=_model_dtype(model)).element_size()
    if method == "jacobian":
        n_rows = x1.shape[0] + (0 if same else x2.shape[0])
        check_memory(f"the {n_rows} x {P:,} Jacobian of method='jacobian'", 2 * n_rows * P * itemsize,
                     "Use method='structured' (never builds the Jacobian) or fewer inputs.")
        return _jacobian_contraction(model, params, x1, x2, same)
    check_memory(f"method='ntk_vp' on {x2.shape[0]} inputs with {P:,} parameters",
                 3 * x2.shape[0] * P * itemsize, "Use method='structured' or fewer inputs.")
    return _ntk_vp(model, params, x1, x2)


# ----------------------------------------------------------------- structured
@torch.no_grad()
def _mlp_signals(model: MLP, x: torch.Tensor):
    """Layer inputs ``a^{l-1}`` and back-propagated signals ``delta^l = df/dh^l`` for every layer."""
    pre, post = model.layer_forward(x)
    dphi = activation_derivative(model.activation)
    L = len(model.weights)
    deltas = [None] * L
    delta = torch.ones(x.shape[0], 1, dtype=x.dtype)
    deltas[L - 1] = delta
    for l in range(L - 1, 0, -1):
        # scale the (N, n) factor rather than the (n, n) weight matrix: one pass over N n numbers, not n^2
        gate = dphi(pre[l - 1])
        if model.w_mult[l] != 1.0:
            gate.mul_(model.w_mult[l])
        delta = (delta @ model.weights[l]).mul_(gate)
        deltas[l - 1] = delta
    return post, deltas


def mlp_ntk_by_layer(model: MLP, x1, x2=None) -> dict:
    """The empirical NTK of an :class:`MLP` split by parameter group.

    Returns ``{"W1": ..., "b1": ..., ..., "W{L+1}": ..., "b{L+1}": ...}`` (each ``(N1, N2)``)
    that sum to ``empirical_ntk(model, x1, x2)``; the finite-width counterpart of
    :func:`ntk_teach.kernels.ntk_layer_contributions`. Only trainable groups are included.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an ntk_teach.MLP, got {type(model).__name__}")
    x1 = model.prepare_input(x1)
    same = x2 is None
    x2 = x1 if same else model.prepare_input(x2)
    a1, d1 = _mlp_signals(model, x1)
    a2, d2 = (a1, d1) if same else _mlp_signals(model, x2)
    out = {}
    for l in range(len(model.weights)):
        dd = d1[l] @ d2[l].T
        if model.weights[l].requires_grad:
            out[f"W{l + 1}"] = model.w_mult[l] ** 2 * dd * (a1[l] @ a2[l].T)
        if model.biases[l].requires_grad:
            out[f"b{l + 1}"] = model.b_mult[l] ** 2 * dd
    return out


@torch.no_grad()
def _structured(model, x1, x2, same):
    from .lazy import Linearized

    scale = 1.0
    m = model
    while True:
        if isinstance(m, Centered):
            scale *= m.alpha**2
            m = m.model
        elif isinstance(m, Linearized):
            # the linearized model's NTK is the NTK at theta_0, whatever theta is
            return scale * m.ntk_at_init(x1, None if same else x2)
        else:
            break
    if not isinstance(m, MLP):
        raise TypeError(
            f"method='structured' needs an ntk_teach.MLP (or centered/linearize of one), got {type(m).__name__}; "
            "use method='jacobian' or 'ntk_vp' for other models"
        )
    # pre-activations, layer inputs and signals of every layer for both input sets, and three N1 x N2 matrices
    n_rows = x1.shape[0] + (0 if same else x2.shape[0])
    check_memory(f"method='structured' on {x1.shape[0]} x {x2.shape[0]} inputs (x1, x2)",
                 (3 * n_rows * sum(m.sizes[1:]) + 3 * x1.shape[0] * x2.shape[0]) * x1.element_size(),
                 "Use fewer inputs.")
    a1, d1 = _mlp_signals(m, x1)
    a2, d2 = (a1, d1) if same else _mlp_signals(m, x2)
    theta = torch.zeros(x1.shape[0], x2.shape[0], dtype=x1.dtype)
    for l in range(len(m.weights)):
        dd = d1[l] @ d2[l].T
        w_on = m.weights[l].requires_grad
        b_on = m.biases[l].requires_grad
        if w_on:
            aa = a1[l] @ a2[l].T
            if b_on:
                aa.mul_(m.w_mult[l] ** 2).add_(m.b_mult[l] ** 2)
                theta.addcmul_(dd, aa)
            else:
                theta.addcmul_(dd, aa, value=m.w_mult[l] ** 2)
        elif b_on:
            theta.add_(dd, alpha=m.b_mult[l] ** 2)
    if same:
        theta = 0.5 * (theta + theta.T)
    return theta * scale if scale != 1.0 else theta


# ------------------------------------------------------------- generic methods
def _fnet(model, params, x):
    return functional_call(model, params, (x,))


def jacobian(model: nn.Module, x) -> torch.Tensor:
    """The parameter Jacobian ``J[i, p] = d f(x_i) / d theta_p``, shape ``(N, P)``.

    Columns follow ``model.named_parameters()`` order (trainable ones only), each
    parameter flattened. Built with ``torch.func.jacrev``; refused if it would not
    fit in the memory budget.
    """
    x = _prepare_x(model, x, "x")
    params = _trainable(model)
    P = sum(p.numel() for p in params.values())
    itemsize = torch.empty((), dtype=_model_dtype(model)).element_size()
    check_memory(f"the {x.shape[0]} x {P:,} Jacobian", 2 * x.shape[0] * P * itemsize, "Use fewer inputs.")
    jac = jacrev(_fnet, argnums=1)(model, params, x)
    return torch.cat([j.reshape(x.shape[0], -1) for j in jac.values()], dim=1).detach()


def _jacobian_contraction(model, params, x1, x2, same):
    j1 = jacrev(_fnet, argnums=1)(model, params, x1)
    j2 = j1 if same else jacrev(_fnet, argnums=1)(model, params, x2)
    theta = None
    for k in j1:
        a = j1[k].reshape(x1.shape[0], -1)
        b = j2[k].reshape(x2.shape[0], -1)
        t = a @ b.T
        theta = t if theta is None else theta + t
    return theta.detach()


def _ntk_vp(model, params, x1, x2):
    def f1(p):
        return _fnet(model, p, x1)

    def f2(p):
        return _fnet(model, p, x2)

    out2, vjp_fn = vjp(f2, params)

    def column(v):
        (cotangent,) = vjp_fn(v)  # J2^T v, shaped like the parameters
        _, jv = jvp(f1, (params,), (cotangent,))  # J1 (J2^T v)
        return jv

    basis = torch.eye(out2.shape[0], dtype=out2.dtype)
    return vmap(column)(basis).T.detach()  # (N2, N1) -> (N1, N2)


def ntk_autograd_loop(model: nn.Module, x1, x2=None) -> torch.Tensor:
    """The empirical NTK straight from its definition: one backward pass per input, then dot products.

    ``phi(x_i) = grad_theta f(x_i)`` by ``torch.autograd.grad`` for each input in a Python loop,
    stacked into the Jacobian ``J`` (``N x P``), and ``Theta = J1 J2^T``. The slowest and most
    transparent method (``N1 + N2`` backward passes, ``O(N P)`` memory, ``O(N1 N2 P)`` for the
    products); the reference the notebooks compare the faster methods against. Any scalar-output
    module; the result is detached, in the model's dtype.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    x1 = _prepare_x(model, x1, "x1")
    x2 = None if x2 is None else _prepare_x(model, x2, "x2")
    params = [p for p in model.parameters() if p.requires_grad]
    P = sum(p.numel() for p in params)
    n_rows = x1.shape[0] + (0 if x2 is None else x2.shape[0])
    itemsize = torch.empty((), dtype=_model_dtype(model)).element_size()
    check_memory(f"the {n_rows} x {P:,} Jacobian of the autograd loop", n_rows * P * itemsize,
                 "Use empirical_ntk(method='structured') or fewer inputs.")

    def rows(x):
        out = []
        for i in range(x.shape[0]):
            fi = model(x[i:i + 1])[0]
            grads = torch.autograd.grad(fi, params)
            out.append(torch.cat([g.reshape(-1) for g in grads]))
        return torch.stack(out)

    j1 = rows(x1)
    j2 = j1 if x2 is None else rows(x2)
    return (j1 @ j2.T).detach()
