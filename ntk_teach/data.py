"""Small, seeded toy datasets used across the course (all float64 tensors)."""
from __future__ import annotations

import math

import torch

from ._validate import check_choice, check_float, check_int


def _gen(seed):
    g = torch.Generator()
    g.manual_seed(check_int("seed", seed, minimum=0))
    return g


def two_point_data():
    """The two-point dataset of the "Understanding the NTK" picture (two inputs, two targets).

    Returns ``(x, y)`` with ``x = [-1.5, 1.0]`` and ``y = [0.6, -0.4]``: two inputs whose
    2 x 2 NTK is far from a multiple of the identity, so its eigenvectors (the axes of
    the ellipse) are visibly tilted.
    """
    x = torch.tensor([-1.5, 1.0], dtype=torch.float64)
    y = torch.tensor([0.6, -0.4], dtype=torch.float64)
    return x, y


TARGETS = {
    "sin": lambda x: torch.sin(x),
    "sin2": lambda x: torch.sin(x) + 0.5 * torch.sin(4 * x),  # a low and a high frequency
    "step": lambda x: torch.sign(x),
    "quadratic": lambda x: 0.3 * x**2 - 0.5,
}


def target_fn(name: str):
    """The noiseless target ``y = g(x)`` by name: ``"sin"``, ``"sin2"`` (low + high frequency), ``"step"``, ``"quadratic"``."""
    check_choice("fn", name, TARGETS)
    return TARGETS[name]


def noisy_1d(n: int = 20, *, fn: str = "sin", noise: float = 0.1, x_range=(-3.0, 3.0), seed: int = 0,
             sort: bool = True):
    """``n`` inputs uniform on ``x_range`` and targets ``g(x) + noise * N(0, 1)``; returns ``(x, y)``."""
    n = check_int("n", n, minimum=1)
    noise = check_float("noise", noise, minimum=0.0)
    lo, hi = (check_float("x_range[0]", x_range[0]), check_float("x_range[1]", x_range[1]))
    if not lo < hi:
        raise ValueError(f"x_range must be (low, high) with low < high, got {tuple(x_range)}")
    g = _gen(seed)
    x = lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)
    if sort:
        x, _ = torch.sort(x)
    y = target_fn(fn)(x) + noise * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def tiny_1d(n: int = 6, *, seed: int = 0):
    """A tiny regression set: ``n`` evenly spaced points on [-3, 3] with targets ``sin(x)`` + 0.1 noise."""
    n = check_int("n", n, minimum=1)
    x = torch.linspace(-3.0, 3.0, n, dtype=torch.float64)
    y = torch.sin(x) + 0.1 * torch.randn(n, generator=_gen(seed), dtype=torch.float64)
    return x, y


def unit_circle(n: int = 64, *, radius: float = 1.0):
    """``n`` points ``(cos g, sin g)`` with ``g`` evenly spaced in ``[-pi, pi)``; returns ``(x, gamma)``, x of shape ``(n, 2)``."""
    n = check_int("n", n, minimum=1)
    radius = check_float("radius", radius, minimum=0.0, strict_min=True)
    gamma = -math.pi + 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    return radius * torch.stack([torch.cos(gamma), torch.sin(gamma)], dim=1), gamma
