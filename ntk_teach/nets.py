"""The reference network of the course, and the alpha-scaled (centered) model.

Parameterizations (one convention, used everywhere in the course)
-----------------------------------------------------------------
Layer ``l`` maps the post-activations ``a^{l-1}`` (width ``n_{l-1}``; ``a^0 = x``) to
pre-activations ``h^l``:

* ``"ntk"`` (Jacot et al. 2018; neural-tangents' ``parameterization='ntk'``)::

      h^l = w_std / sqrt(n_{l-1}) * W^l a^{l-1} + b_std * b^l,   all W, b ~ N(0, 1)

* ``"standard"`` (LeCun initialisation)::

      h^l = W^l a^{l-1} + b^l,   W ~ N(0, w_std^2 / n_{l-1}),  b ~ N(0, b_std^2)

Both give the same distribution of functions at initialization (the same NNGP);
they differ in how gradient descent moves them, i.e. in the NTK. ``b_std = 0``
keeps zero, still trainable, biases (in the NTK parameterization they then have
no effect; in the standard one they still contribute 1 per layer to the NTK).
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ._validate import (
    as_inputs,
    check_choice,
    check_dtype,
    check_float,
    check_int,
    check_memory,
)

ACTIVATIONS = ("relu", "tanh", "erf")
PARAMETERIZATIONS = ("ntk", "standard")


def activation_fn(name: str):
    """The activation ``phi`` by name (``"relu"``, ``"tanh"``, ``"erf"``)."""
    check_choice("activation", name, ACTIVATIONS)
    return {"relu": torch.relu, "tanh": torch.tanh, "erf": torch.special.erf}[name]


def activation_derivative(name: str):
    """The derivative ``phi'`` by name (relu' is the step function, 0 at 0)."""
    check_choice("activation", name, ACTIVATIONS)
    if name == "relu":
        return lambda h: (h > 0).to(h.dtype)
    if name == "tanh":
        return lambda h: 1.0 - torch.tanh(h) ** 2
    two_over_sqrt_pi = 2.0 / math.sqrt(math.pi)
    return lambda h: two_over_sqrt_pi * torch.exp(-h * h)


class MLP(nn.Module):
    """A fully connected network ``R^{d_in} -> R`` with ``depth`` hidden layers of ``width`` units.

    Parameters
    ----------
    width : int >= 1
        Units per hidden layer.
    depth : int >= 1
        Number of hidden layers (the reference network of the course has 2).
    d_in : int >= 1
        Input dimension.
    activation : {"relu", "tanh", "erf"}
    parameterization : {"ntk", "standard"}
        See the module docstring.
    w_std, b_std : float >= 0
        Weight and bias scales (``b_std`` is the ``beta`` of Jacot et al.).
    seed : int or None
        Seed of a private generator: the same seed gives the same network,
        independently of the global torch RNG.
    dtype : torch.float64 (default) or torch.float32

    Inputs of shape ``(N,)`` (when ``d_in == 1``) or ``(N, d_in)``; output shape ``(N,)``.
    Parameters are named ``weights.l`` (shape ``(n_{l+1}, n_l)``) and ``biases.l``.
    """

    def __init__(
        self,
        width: int,
        depth: int = 2,
        d_in: int = 1,
        activation: str = "relu",
        parameterization: str = "ntk",
        w_std: float = 1.0,
        b_std: float = 0.1,
        seed: int | None = None,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        self.width = check_int("width", width, minimum=1)
        self.depth = check_int("depth", depth, minimum=1)
        self.d_in = check_int("d_in", d_in, minimum=1)
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.parameterization = check_choice("parameterization", parameterization, PARAMETERIZATIONS)
        self.w_std = check_float("w_std", w_std, minimum=0.0)
        self.b_std = check_float("b_std", b_std, minimum=0.0)
        if seed is not None:
            seed = check_int("seed", seed, minimum=0)
        self.seed = seed
        self.dtype = check_dtype("dtype", dtype)

        self.sizes = [self.d_in] + [self.width] * self.depth + [1]
        n_params = sum(n_out * (n_in + 1) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]))
        itemsize = torch.empty((), dtype=dtype).element_size()
        # parameters, their gradients and one working copy
        check_memory(
            f"MLP(width={self.width}, depth={self.depth}) with {n_params:,} parameters",
            3 * n_params * itemsize,
            "Choose a smaller width or depth.",
        )

        gen = torch.Generator()
        gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.w_mult: list[float] = []
        self.b_mult: list[float] = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            # drawn in float64 whatever the dtype, so that a seed gives the same network in float32
            W = torch.randn(n_out, n_in, generator=gen, dtype=torch.float64)
            b = torch.randn(n_out, generator=gen, dtype=torch.float64)
            if self.b_std == 0.0:
                b.zero_()
            if self.parameterization == "ntk":
                self.w_mult.append(self.w_std / math.sqrt(n_in))
                self.b_mult.append(self.b_std)
            else:
                W.mul_(self.w_std / math.sqrt(n_in))
                b.mul_(self.b_std)
                self.w_mult.append(1.0)
                self.b_mult.append(1.0)
            self.weights.append(nn.Parameter(W.to(dtype)))
            self.biases.append(nn.Parameter(b.to(dtype)))
        self._phi = activation_fn(self.activation)

    @property
    def num_params(self) -> int:
        """Number of scalar parameters (weights and biases of every layer)."""
        return sum(p.numel() for p in self.parameters())

    def extra_repr(self) -> str:
        return (
            f"width={self.width}, depth={self.depth}, d_in={self.d_in}, activation={self.activation!r}, "
            f"parameterization={self.parameterization!r}, w_std={self.w_std}, b_std={self.b_std}, "
            f"seed={self.seed}, params={self.num_params}"
        )

    def prepare_input(self, x) -> torch.Tensor:
        """Validate ``x`` and return it as ``(N, d_in)`` in the model's dtype."""
        return as_inputs("x", x, self.d_in, self.dtype)

    def layer_forward(self, x: torch.Tensor):
        """Forward pass that keeps every layer: returns ``(pre, post)``.

        ``post[l]`` is the input of layer ``l`` (``post[0] = x``), ``pre[l]`` its
        pre-activation; ``pre[-1][:, 0]`` is the output. Used by the structured NTK.
        """
        a = self.prepare_input(x)
        pre, post = [], [a]
        L = len(self.weights)
        for l in range(L):
            h = self.w_mult[l] * (a @ self.weights[l].T) + self.b_mult[l] * self.biases[l]
            pre.append(h)
            if l < L - 1:
                a = self._phi(h)
                post.append(a)
        return pre, post

    def forward(self, x) -> torch.Tensor:
        a = x if _is_functorch_wrapped(x) else self.prepare_input(x)
        if a.ndim == 1:
            a = a[:, None]
        L = len(self.weights)
        for l in range(L):
            h = self.w_mult[l] * (a @ self.weights[l].T) + self.b_mult[l] * self.biases[l]
            a = self._phi(h) if l < L - 1 else h
        return a[:, 0]


def _is_functorch_wrapped(x) -> bool:
    """True inside torch.func transforms, where data-dependent checks are not allowed."""
    if not isinstance(x, torch.Tensor):  # lists, numpy arrays: validated by prepare_input
        return False
    try:
        return torch._C._functorch.is_functorch_wrapped_tensor(x)
    except AttributeError:  # pragma: no cover - older torch
        return False


class Centered(nn.Module):
    """``alpha * (f(x; theta) - f(x; theta_0))``: zero at initialization, trainable.

    ``theta_0`` is a frozen copy of the model's parameters when ``centered`` was
    called. Larger ``alpha`` makes training lazier (Chizat & Bach 2019): the
    same change of output needs a change of parameters ``alpha`` times smaller.
    Its NTK is ``alpha^2`` times the model's.
    """

    def __init__(self, model: nn.Module, alpha: float):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.alpha = check_float("alpha", alpha, minimum=0.0, strict_min=True)
        self.model = model
        # a frozen copy, kept out of .parameters() so that training leaves it alone
        self._init = [copy.deepcopy(model).requires_grad_(False)]

    @property
    def init_model(self) -> nn.Module:
        return self._init[0]

    def forward(self, x) -> torch.Tensor:
        with torch.no_grad():
            f0 = self.init_model(x)
        return self.alpha * (self.model(x) - f0)


def centered(model: nn.Module, alpha: float) -> Centered:
    """The model ``alpha * (f(x; theta) - f(x; theta_0))`` (Chizat & Bach's output scale).

    ``alpha`` must be > 0. Train it like any module; the original ``model`` is trained in place.
    """
    return Centered(model, alpha)
