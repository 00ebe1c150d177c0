"""Small models where lazy training can be computed exactly (notebook 04).

Two objects, both used to *see* Chizat & Bach's relative scale

    kappa = ||f(theta_0) - y|| * ||D^2 f(theta_0)|| / ||D f(theta_0)||^2

at work without any sampling or iterative eigensolver.

1. The one-parameter toy model of the "Understanding the NTK" post (R. Dwaraknath)::

       f(w) = (w x + w^2 x + sin(exp(0.1 w))) (w - 0.4),      x = 1.5,  w_0 = 0.4

   The factor ``(w - 0.4)`` makes ``f(w_0) = 0``, so ``alpha f`` is already the
   centered model ``alpha (f(w) - f(w_0))`` of Chizat & Bach. With a target ``y`` the
   ``alpha^2``-normalized loss is

       L_alpha(w) = (alpha (f(w) - f(w_0)) - y)^2 / (2 alpha^2) = 1/2 (f(w) - f(w_0) - y/alpha)^2,

   and its linearization (the model replaced by its tangent line at ``w_0``) is the parabola

       L_alpha^lin(w) = 1/2 (f'(w_0) (w - w_0) - y/alpha)^2,   minimum at  w_0 + y / (alpha f'(w_0)).

   Both minimizers approach ``w_0`` like ``1/alpha``; their relative distance is
   ``kappa(alpha)/2 + O(alpha^-2)`` with ``kappa(alpha) = |y| |f''(w_0)| / (alpha f'(w_0)^2)``.
   Derivatives are analytic (checked against autograd in ``tests/test_toy.py``).

2. The one-hidden-layer network ``ntk_teach.MLP(m, depth=1)`` at one input ``x``. Its
   parameter Hessian is **block diagonal**: neuron ``j`` owns ``(a_j, c_j, v_j)`` (input
   weights, bias, readout weight) and no second derivative mixes two neurons. With
   ``h_j = c_w0 a_j . x + c_b0 c_j`` and ``f = c_w1 sum_j v_j phi(h_j) + c_b1 b``
   (``c_*`` the layer multipliers: ``1/sqrt(fan_in)``-type constants in the NTK
   parameterization, 1 in the standard one), and ``z = (c_w0 x, c_b0)``, block ``j`` is

       c_w1 [[0,            phi'(h_j) z^T         ],
             [phi'(h_j) z,  v_j phi''(h_j) z z^T  ]]

   whose only non-zero eigenvalues are ``c_w1 (s/2 +- sqrt(s^2/4 + phi'(h_j)^2 |z|^2))`` with
   ``s = v_j phi''(h_j) |z|^2``. So ``||D^2 f|| = max_j`` of ``m`` block norms: exact, in
   ``O(m)``, for widths up to ``10^6``. In the NTK parameterization ``c_w1 = 1/sqrt(m)`` and the
   largest ``|v_j|`` of ``m`` Gaussians grows like ``sqrt(2 ln m)``: the Hessian norm is
   ``~ sqrt(2 ln m / m)``, not ``m^(-1/2)``.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ._validate import as_inputs, as_tensor, check_choice, check_float, check_int

#: Input of the toy model (the post's value).
X_TOY = 1.5
#: Initial parameter of the toy model: ``f(W0_TOY) = 0``.
W0_TOY = 0.4
#: Default target of the toy model in the notebook.
Y_TOY = 1.0


# ----------------------------------------------------------------- the toy model
def _u(w, x):
    e = np.exp(0.1 * w)
    return w * x + w**2 * x + np.sin(e)


def _du(w, x):
    e = np.exp(0.1 * w)
    return x + 2 * w * x + 0.1 * e * np.cos(e)


def _d2u(w, x):
    e = np.exp(0.1 * w)
    return 2 * x + 0.01 * e * np.cos(e) - 0.01 * e**2 * np.sin(e)


def toy_f(w, x: float = X_TOY):
    """The toy model ``f(w) = (w x + w^2 x + sin(exp(0.1 w))) (w - 0.4)`` (numpy, vectorized in ``w``)."""
    w = np.asarray(w, dtype=np.float64)
    return _u(w, x) * (w - 0.4)


def toy_df(w, x: float = X_TOY):
    """``f'(w) = u'(w) (w - 0.4) + u(w)`` with ``u(w) = w x + w^2 x + sin(exp(0.1 w))``."""
    w = np.asarray(w, dtype=np.float64)
    return _du(w, x) * (w - 0.4) + _u(w, x)


def toy_d2f(w, x: float = X_TOY):
    """``f''(w) = u''(w) (w - 0.4) + 2 u'(w)``."""
    w = np.asarray(w, dtype=np.float64)
    return _d2u(w, x) * (w - 0.4) + 2 * _du(w, x)


def toy_f_torch(w: torch.Tensor, x: float = X_TOY) -> torch.Tensor:
    """The same model in torch (for autograd checks of :func:`toy_df` and :func:`toy_d2f`)."""
    return (w * x + w**2 * x + torch.sin(torch.exp(0.1 * w))) * (w - 0.4)


def toy_tangent(w, w0: float = W0_TOY, x: float = X_TOY):
    """The tangent line ``f(w_0) + f'(w_0) (w - w_0)``: the linearized model."""
    w = np.asarray(w, dtype=np.float64)
    return toy_f(w0, x) + toy_df(w0, x) * (w - w0)


def _check_alpha(alpha):
    return check_float("alpha", alpha, minimum=0.0, strict_min=True)


def toy_model(w, alpha: float = 1.0, w0: float = W0_TOY, x: float = X_TOY):
    """The centered, scaled model ``alpha (f(w) - f(w_0))`` (equal to ``alpha f(w)`` for ``w_0 = 0.4``)."""
    alpha = _check_alpha(alpha)
    return alpha * (toy_f(w, x) - toy_f(w0, x))


def toy_loss(w, alpha: float = 1.0, y: float = Y_TOY, w0: float = W0_TOY, x: float = X_TOY):
    """The ``alpha^2``-normalized loss ``(alpha (f(w) - f(w_0)) - y)^2 / (2 alpha^2)``."""
    alpha = _check_alpha(alpha)
    return 0.5 * (toy_f(w, x) - toy_f(w0, x) - y / alpha) ** 2


def toy_loss_linearized(w, alpha: float = 1.0, y: float = Y_TOY, w0: float = W0_TOY, x: float = X_TOY):
    """The loss of the linearized model: the parabola ``(f'(w_0) (w - w_0) - y/alpha)^2 / 2``."""
    alpha = _check_alpha(alpha)
    w = np.asarray(w, dtype=np.float64)
    return 0.5 * (toy_df(w0, x) * (w - w0) - y / alpha) ** 2


def toy_linearized_minimizer(alpha: float = 1.0, y: float = Y_TOY, w0: float = W0_TOY, x: float = X_TOY) -> float:
    """Minimum of the parabola: ``w_0 + y / (alpha f'(w_0))``."""
    alpha = _check_alpha(alpha)
    d = float(toy_df(w0, x))
    if d == 0.0:
        raise ValueError(f"f'(w0) = 0 at w0 = {w0}: the linearized model is flat and has no unique minimizer")
    return w0 + y / (alpha * d)


def toy_minimizer(alpha: float = 1.0, y: float = Y_TOY, w0: float = W0_TOY, x: float = X_TOY,
                  max_distance: float = 50.0) -> float:
    """The minimizer of :func:`toy_loss` that gradient flow from ``w_0`` reaches.

    Gradient flow on ``L_alpha`` moves ``w`` downhill from ``w_0`` in the direction of
    ``sign(y f'(w_0))`` and stops at the first point where either the residual
    ``f(w) - f(w_0) - y/alpha`` vanishes (a global minimum, loss 0) or ``f'`` vanishes
    (a critical point of ``f``: a local minimum with loss > 0). Found by scanning and
    then bisection (``scipy.optimize.brentq``), to about 1e-14.
    """
    from scipy.optimize import brentq

    alpha = _check_alpha(alpha)
    target = y / alpha
    f0 = float(toy_f(w0, x))
    if target == 0.0:
        return float(w0)
    direction = math.copysign(1.0, target * float(toy_df(w0, x)))

    def resid(w):
        return float(toy_f(w, x)) - f0 - target

    def slope(w):
        return float(toy_df(w, x))

    # scan (vectorized) with steps that start small relative to the linear estimate and grow
    d0 = float(toy_df(w0, x))
    dl = abs(target / d0) if d0 != 0 else 1.0
    ts = np.concatenate([[0.0], np.geomspace(min(dl, 1e-3) * 1e-3, max_distance, 3000)])
    ws = w0 + direction * ts
    r = toy_f(ws, x) - f0 - target
    s = toy_df(ws, x)
    flip = np.flatnonzero((np.sign(r[1:]) != np.sign(r[:-1])) | (np.sign(s[1:]) != np.sign(s[:-1])))
    if flip.size == 0:
        raise ValueError(f"no minimizer within {max_distance} of w0 (alpha={alpha}, y={y})")
    i = int(flip[0])
    a, b = sorted((ws[i], ws[i + 1]))
    if r[i + 1] == 0.0:
        return float(ws[i + 1])
    if np.sign(r[i + 1]) != np.sign(r[i]):
        return float(brentq(resid, a, b, xtol=1e-15, rtol=1e-15))
    return float(brentq(slope, a, b, xtol=1e-15, rtol=1e-15))


def toy_kappa(alpha: float = 1.0, y: float = Y_TOY, w0: float = W0_TOY, x: float = X_TOY) -> float:
    """Chizat & Bach's ``kappa`` of the centered toy model at ``w_0``: ``|y| |f''(w_0)| / (alpha f'(w_0)^2)``.

    Residual ``|alpha (f(w_0) - f(w_0)) - y| = |y|``, Hessian ``alpha |f''(w_0)|``, Jacobian
    ``alpha |f'(w_0)|``: so ``kappa(alpha) = kappa(1) / alpha`` exactly.
    """
    alpha = _check_alpha(alpha)
    return abs(y) * abs(float(toy_d2f(w0, x))) / (alpha * float(toy_df(w0, x)) ** 2)


def toy_gradient_descent(alpha: float = 1.0, y: float = Y_TOY, lr: float = 0.1, steps: int = 100,
                         w0: float = W0_TOY, x: float = X_TOY) -> np.ndarray:
    """Gradient descent on the normalized loss :func:`toy_loss` from ``w_0``: the ``steps + 1`` iterates."""
    alpha = _check_alpha(alpha)
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    steps = check_int("steps", steps, minimum=0)
    w = np.empty(steps + 1)
    w[0] = w0
    f0 = float(toy_f(w0, x))
    for k in range(steps):
        r = float(toy_f(w[k], x)) - f0 - y / alpha
        w[k + 1] = w[k] - lr * r * float(toy_df(w[k], x))
    return w


# ------------------------------------------------- one hidden layer, exact norms
def _one_hidden_layer_parts(model, x):
    """Per-neuron quantities of a depth-1 MLP at one input: (c_w1, c_b1, v, phi, phi', phi'', |z|^2)."""
    from .nets import MLP

    if not isinstance(model, MLP):
        raise TypeError(f"model must be an ntk_teach.MLP, got {type(model).__name__}")
    if model.depth != 1:
        raise ValueError(f"model must have depth=1 (one hidden layer), got depth={model.depth}")
    check_choice("activation", model.activation, ("tanh", "erf", "relu"))
    x = as_inputs("x", x, model.d_in, model.dtype)
    if x.shape[0] != 1:
        raise ValueError(f"x must be one input (shape (1,) or (1, d_in)), got {x.shape[0]} inputs")
    with torch.no_grad():
        W0, b0 = model.weights[0].detach(), model.biases[0].detach()
        v = model.weights[1].detach()[0]
        h = model.w_mult[0] * (W0 @ x[0]) + model.b_mult[0] * b0
        if model.activation == "tanh":
            t = torch.tanh(h)
            phi, dphi, d2phi = t, 1 - t**2, -2 * t * (1 - t**2)
        elif model.activation == "erf":
            g = 2 / math.sqrt(math.pi) * torch.exp(-h * h)
            phi, dphi, d2phi = torch.special.erf(h), g, -2 * h * g
        else:
            phi, dphi, d2phi = torch.relu(h), (h > 0).to(h.dtype), torch.zeros_like(h)
        z2 = model.w_mult[0] ** 2 * float(x[0] @ x[0]) + model.b_mult[0] ** 2
    return model.w_mult[1], model.b_mult[1], v, phi, dphi, d2phi, z2


def hessian_block_norms(model, x) -> np.ndarray:
    """Spectral norms of the ``m`` per-neuron blocks of the parameter Hessian of a depth-1 MLP at one input.

    ``||D^2 f(x)||`` is their maximum (the readout bias has no second derivative). See the
    module docstring for the 2 x 2 reduction of each block.
    """
    c1, _, v, _, dphi, d2phi, z2 = _one_hidden_layer_parts(model, x)
    s = v * d2phi * z2
    norms = abs(c1) * (s.abs() / 2 + torch.sqrt(s**2 / 4 + dphi**2 * z2))
    return norms.numpy()


def one_hidden_layer_norms(model, x, y) -> dict:
    """Exact ``{"residual", "jacobian_norm", "hessian_norm", "kappa"}`` of a depth-1 MLP at one input.

    The same quantities as :func:`ntk_teach.lazy_norms` (which uses Lanczos on Hessian-vector
    products and works for any model), from the closed form: ``||grad f||^2 = sum_j
    c_w1^2 (phi(h_j)^2 + v_j^2 phi'(h_j)^2 |z|^2) + c_b1^2`` and the block-diagonal Hessian.
    """
    c1, cb1, v, phi, dphi, _, z2 = _one_hidden_layer_parts(model, x)
    y = as_tensor("y", y, model.dtype).reshape(-1)
    if y.numel() != 1:
        raise ValueError(f"y must be one target, got {y.numel()} values")
    grad_sq = c1**2 * float((phi**2).sum() + z2 * (v**2 * dphi**2).sum()) + cb1**2
    with torch.no_grad():
        res = float((model(x) - y).abs().reshape(-1)[0])
    jn = math.sqrt(grad_sq)
    hn = float(hessian_block_norms(model, x).max())
    return {"residual": res, "jacobian_norm": jn, "hessian_norm": hn, "kappa": res * hn / grad_sq}


def kappa_width_sweep(widths, *, parameterization: str = "standard", n_seeds: int = 20, x: float = 1.0,
                      y: float = 1.0, activation: str = "tanh", w_std: float = 1.0, b_std: float = 0.1,
                      seed: int = 0) -> dict:
    """Gradient norm, Hessian norm and kappa of depth-1 MLPs at one input, for each width and seed (exact).

    Returns ``{"widths": (W,), "jacobian_norm"/"hessian_norm"/"kappa"/"residual": (W, n_seeds)}``;
    network ``s`` of width ``m`` is ``MLP(m, depth=1, seed=seed + s, ...)``. Fit the medians over
    seeds against the widths (``ntk_teach.fit_loglog``).
    """
    check_choice("parameterization", parameterization, ("ntk", "standard"))
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    from .nets import MLP

    widths = [check_int("width", w, minimum=1) for w in widths]
    out = {k: np.empty((len(widths), n_seeds)) for k in ("residual", "jacobian_norm", "hessian_norm", "kappa")}
    xt = torch.tensor([x], dtype=torch.float64)
    for i, m in enumerate(widths):
        for s in range(n_seeds):
            net = MLP(m, depth=1, activation=activation, parameterization=parameterization, w_std=w_std,
                      b_std=b_std, seed=seed + s)
            r = one_hidden_layer_norms(net, xt, y)
            for k in out:
                out[k][i, s] = r[k]
    out["widths"] = np.array(widths)
    return out
