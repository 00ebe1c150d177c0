"""Small statistics used to turn pictures into checked numbers: log-log slopes, moments."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Fit(NamedTuple):
    """A least-squares line ``log y = slope * log x + intercept`` (natural logs) and the slope's standard error."""

    slope: float
    intercept: float
    stderr: float

    def predict(self, x):
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** self.slope

    def label(self, name: str = "fit") -> str:
        return f"{name}: slope {self.slope:+.2f} ± {self.stderr:.2f}"


def fit_loglog(x, y) -> Fit:
    """Fit ``y ~ C x^slope`` by least squares on ``(log x, log y)``; needs >= 3 positive pairs."""
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 3:
        raise ValueError(f"fit_loglog needs at least 3 points, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("fit_loglog needs finite, strictly positive x and y")
    lx, ly = np.log(x), np.log(y)
    A = np.stack([lx, np.ones_like(lx)], 1)
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    dof = max(x.size - 2, 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    return Fit(float(coef[0]), float(coef[1]), float(np.sqrt(cov[0, 0])))


def excess_kurtosis(samples, axis: int = 0) -> np.ndarray:
    """``E[(s - mean)^4] / var^2 - 3``: 0 for a Gaussian."""
    s = np.asarray(samples, dtype=float)
    c = s - s.mean(axis=axis, keepdims=True)
    return (c**4).mean(axis=axis) / (c**2).mean(axis=axis) ** 2 - 3.0
