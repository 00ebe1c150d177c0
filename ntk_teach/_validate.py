"""Argument checks shared by the whole package.

Every public function validates its inputs here, so that bad input fails early
with a message that names the argument and the allowed values, instead of a
shape error deep inside torch or a silent NaN.
"""
from __future__ import annotations

import math
import numbers

import torch

#: Largest memory (bytes) a single object built by the package may need.
#: Change it with :func:`set_memory_budget`.
_MEMORY_BUDGET = 4 * 1024**3

_FLOAT_DTYPES = (torch.float32, torch.float64)


def set_memory_budget(nbytes: int) -> int:
    """Set the memory budget (bytes) used to refuse oversized networks and Jacobians.

    Returns the previous budget, so a caller can restore it.
    """
    global _MEMORY_BUDGET
    nbytes = check_int("nbytes", nbytes, minimum=1)
    old, _MEMORY_BUDGET = _MEMORY_BUDGET, nbytes
    return old


def memory_budget() -> int:
    """The current memory budget in bytes (default 4 GiB)."""
    return _MEMORY_BUDGET


def check_memory(what: str, nbytes: float, hint: str = "") -> None:
    """Raise ``ValueError`` if ``nbytes`` exceeds the memory budget."""
    if nbytes > _MEMORY_BUDGET:
        raise ValueError(
            f"{what} would need about {nbytes / 1024**3:.2f} GiB, more than the memory budget of "
            f"{_MEMORY_BUDGET / 1024**3:.2f} GiB (ntk_teach.set_memory_budget changes it). {hint}".rstrip()
        )


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    lo = "-inf" if minimum is None else str(minimum)
    hi = "inf" if maximum is None else str(maximum)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value}")
    return value


def check_float(
    name: str,
    value,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    strict_min: bool = False,
) -> float:
    """Return ``value`` as a finite float in the allowed range, or raise naming ``name``.

    ``strict_min=True`` excludes the minimum itself (``value > minimum``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    lo_br = "(" if strict_min else "["
    allowed = f"{lo_br}{'-inf' if minimum is None else minimum}, {'inf' if maximum is None else maximum}]"
    if minimum is not None and (value < minimum or (strict_min and value == minimum)):
        raise ValueError(f"{name} must be in {allowed}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be in {allowed}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {sorted(choices)}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_dtype(name: str, dtype) -> torch.dtype:
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def as_tensor(name: str, x, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert array-likes to a floating tensor; reject non-numeric and non-finite data."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            t = torch.as_tensor(x)
            if t.dtype == torch.float32 and isinstance(x, (float, list, tuple)):
                # Python floats are doubles, but torch reads them as float32 (0.3 -> 0.30000001192...)
                t = torch.as_tensor(x, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"{name} must be a tensor or array of numbers, got {type(x).__name__}") from e
    if t.dtype == torch.bool or t.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(dtype or torch.get_default_dtype())
    elif dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or inf)")
    return t


def as_inputs(name: str, x, d_in: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Inputs of shape ``(N,)`` (only when ``d_in == 1``) or ``(N, d_in)``, returned as ``(N, d_in)``."""
    t = as_tensor(name, x, dtype)
    if t.ndim == 1 and d_in == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[1] != d_in:
        allowed = "(N,) or (N, 1)" if d_in == 1 else f"(N, {d_in})"
        raise ValueError(f"{name} must have shape {allowed}, got {tuple(t.shape)}")
    if t.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one input, got shape {tuple(t.shape)}")
    return t
