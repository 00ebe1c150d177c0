"""Self-checks for the coding exercises: one clear line, and a precise reason when wrong.

Every check prints one line that starts with a symbol:

* ``✅ name: ...``  correct (within the stated tolerance);
* ``❌ name: ...``  wrong, with *which* entry, *by how much* and the *likely cause*
  (transposed, sign flipped, off by a constant factor, float32, NaN, a known mistake);
* ``⏳ name: not done yet ...``  the function still raises ``NotImplementedError``.

and returns a :class:`CheckResult` (truthy when correct). Wrong results raise
``AssertionError`` only with ``strict=True``; a stub never raises.

The exercise pattern in a notebook (see ``notebooks/TEMPLATE.md``)::

    # exercise cell (the learner edits this)
    def relu_nngp(x1, x2):
        # TODO: return the (N1, N2) matrix Sigma(x1, x2) of ...
        raise NotImplementedError("Exercise 2.1")

    _ = checks.check_function("Exercise 2.1", relu_nngp, reference=ntk_teach.analytic_nngp,
                              inputs=[(x1, x2)], rtol=1e-7)

    # solution cell (collapsed, tagged "solution"): same check, strict -- nbval verifies the solution
    def relu_nngp_solution(x1, x2):
        ...
    _ = checks.check_function("Exercise 2.1 (solution)", relu_nngp_solution,
                              reference=ntk_teach.analytic_nngp, inputs=[(x1, x2)], rtol=1e-7, strict=True)

Under nbval the stub prints ``⏳`` and the run goes on; the solution cell is checked
with ``strict=True`` and fails the run if the solution (or the package) is wrong.
Known mistakes can be recognised by name: ``mistakes={"forgot the bias term": wrong_fn}``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

OK, WRONG, TODO = "✅", "❌", "⏳"


@dataclass
class CheckResult:
    """Outcome of a check: ``ok`` (True/False, None = not done yet), the printed ``message``."""

    name: str
    ok: bool | None
    message: str
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.ok)

    @property
    def done(self) -> bool:
        return self.ok is not None


def _to_numpy(x):
    """Tensors, arrays, numbers and nested lists -> numpy array (keeps float32 visible)."""
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x)


def _finish(name, ok, text, strict, details=None, quiet=False) -> CheckResult:
    symbol = OK if ok else (TODO if ok is None else WRONG)
    msg = f"{symbol} {name}: {text}"
    if not quiet:
        print(msg)
    res = CheckResult(name, ok, msg, details or {})
    if strict and ok is False:
        raise AssertionError(msg)
    return res


def _simple_number(r: float) -> str | None:
    """Name a ratio that hints at a cause: 2, 1/2, -1, sqrt(2), 1/sqrt(2), pi ..."""
    cands = {"2": 2.0, "1/2": 0.5, "-1 (sign flipped)": -1.0, "sqrt(2)": math.sqrt(2), "1/sqrt(2)": 1 / math.sqrt(2),
             "pi": math.pi, "1/pi": 1 / math.pi, "2/pi": 2 / math.pi, "pi/2": math.pi / 2, "4": 4.0, "1/4": 0.25,
             "-2": -2.0, "-1/2": -0.5}
    for label, v in cands.items():
        if abs(r - v) <= 1e-6 * abs(v):
            return label
    return None


def diagnose(got, expected, rtol: float = 1e-7, atol: float = 1e-10) -> list:
    """Likely causes of a mismatch between two arrays of the same shape (a list of sentences)."""
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    causes = []
    if np.isnan(g).any():
        causes.append(f"{int(np.isnan(g).sum())} NaN value(s): a 0/0, the sqrt or log of a negative number, "
                      "or arccos of a value slightly above 1 (clip cosines to [-1, 1])")
        return causes
    if np.isinf(g).any():
        causes.append("infinite value(s): a division by zero or an overflow")
        return causes
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.shape[0] > 1 and np.allclose(g.T, e, rtol, atol) \
            and not np.allclose(g, e, rtol, atol):
        causes.append("your matrix is the transpose of the expected one: swap the roles of x1 and x2 (rows <-> columns)")
    mask = np.abs(e) > max(atol, 1e-300)
    if mask.any():
        ratios = g[mask] / e[mask]
        r0 = float(np.median(ratios))
        if np.allclose(ratios, r0, rtol=max(rtol, 1e-9), atol=0) and abs(r0 - 1) > rtol and r0 != 0:
            named = _simple_number(r0)
            txt = f"every entry is off by the same factor {r0:.6g}"
            if named:
                txt += f" (= {named})"
            txt += ": a missing or extra constant (a 1/2, a sqrt(fan_in), a w_std^2, a 1/N ...)"
            causes.append(txt)
        diff = g - e
        if np.allclose(diff, diff.flat[0], rtol=0, atol=max(atol, 1e-12)) and abs(diff.flat[0]) > atol:
            causes.append(f"every entry is off by the same offset {diff.flat[0]:.6g}: a missing or extra "
                          "additive term (a bias contribution such as b_std^2?)")
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.shape[0] > 1:
        off = ~np.eye(g.shape[0], dtype=bool)
        d_ok = np.allclose(np.diag(g), np.diag(e), rtol, atol)
        o_ok = np.allclose(g[off], e[off], rtol, atol)
        if d_ok and not o_ok:
            causes.append("the diagonal is right but off-diagonal entries are wrong: check the cross terms "
                          "(x1 . x2, the angle between inputs)")
        elif o_ok and not d_ok:
            causes.append("only the diagonal is wrong: check the x = x' case (norms, arccos(1) = 0)")
    rel = np.max(np.abs(g - e) / (np.abs(e) + atol))
    if not causes and 1e-8 < rel < 1e-5:
        causes.append(f"a relative error of {rel:.1e} looks like float32 round-off: compute in float64")
    return causes


def check_shape(name: str, got, expected_shape, *, strict: bool = False, quiet: bool = False) -> CheckResult:
    """Is ``got.shape == expected_shape``? Says what the shape suggests when not."""
    shape = tuple(_to_numpy(got).shape)
    expected_shape = tuple(expected_shape)
    if shape == expected_shape:
        return _finish(name, True, f"shape {shape} is right", strict, quiet=quiet)
    hint = ""
    if tuple(reversed(shape)) == expected_shape:
        hint = " -- it is transposed"
    elif tuple(s for s in shape if s != 1) == tuple(s for s in expected_shape if s != 1):
        hint = " -- an extra or missing axis of length 1 (squeeze, or [:, None])"
    elif math.prod(shape) == math.prod(expected_shape):
        hint = " -- same number of entries, arranged differently (a reshape or view?)"
    return _finish(name, False, f"shape {shape}, expected {expected_shape}{hint}", strict,
                   {"shape": shape, "expected_shape": expected_shape}, quiet)


def check_close(name: str, got, expected, *, rtol: float = 1e-7, atol: float = 1e-10, strict: bool = False,
                quiet: bool = False) -> CheckResult:
    """Are ``got`` and ``expected`` equal within ``|got - expected| <= atol + rtol * |expected|``?

    Wrong results name the worst entry (its index, both values, the error and the
    tolerance), how many entries fail, and likely causes (see :func:`diagnose`).
    Shapes must match exactly (a shape mismatch is reported as such).
    """
    g_raw = _to_numpy(got)
    e = _to_numpy(expected).astype(np.float64)
    if g_raw.shape != e.shape:
        return check_shape(name, g_raw, e.shape, strict=strict, quiet=quiet)
    if g_raw.dtype.kind not in "fiu":
        return _finish(name, False, f"expected real numbers, got dtype {g_raw.dtype}", strict, quiet=quiet)
    g = g_raw.astype(np.float64)
    bad = ~(np.abs(g - e) <= atol + rtol * np.abs(e))
    bad |= np.isnan(g) & ~np.isnan(e)
    if not bad.any():
        err = float(np.max(np.abs(g - e))) if g.size else 0.0
        return _finish(name, True, f"correct (max abs error {err:.1e}; tolerance rtol={rtol:g}, atol={atol:g})",
                       strict, {"max_abs_error": err}, quiet)
    err = np.where(np.isnan(g), np.inf, np.abs(g - e))
    scaled = err / (atol + rtol * np.abs(e))
    idx = np.unravel_index(int(np.argmax(scaled)), g.shape) if g.ndim else ()
    where = f"entry {tuple(int(i) for i in idx)}" if g.ndim else "the value"
    gi, ei = g[idx], e[idx]
    text = (f"{int(bad.sum())} of {bad.size} entries wrong; worst is {where}: got {gi:.10g}, expected {ei:.10g} "
            f"(error {abs(gi - ei):.3g}, allowed {atol + rtol * abs(ei):.3g})")
    causes = diagnose(g, e, rtol, atol)
    if g_raw.dtype == np.float32 and not any("float32" in c for c in causes):
        causes.append("your result is float32: compute in float64 (dtype=torch.float64)")
    if causes:
        text += ". Likely cause: " + "; ".join(causes)
    return _finish(name, False, text, strict, {"index": idx, "got": gi, "expected": ei, "n_wrong": int(bad.sum()),
                                               "causes": causes}, quiet)


def check_psd(name: str, K, *, tol: float = 1e-9, sym_rtol: float = 1e-10, strict: bool = False,
              quiet: bool = False) -> CheckResult:
    """Is ``K`` a symmetric positive semi-definite matrix (up to round-off)?

    Symmetric: ``|K - K^T| <= sym_rtol * max|K|``. PSD: smallest eigenvalue of the
    symmetrised matrix ``>= -tol * max(1, largest eigenvalue)``.
    """
    A = _to_numpy(K).astype(np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        return _finish(name, False, f"expected a square matrix, got shape {A.shape}", strict, quiet=quiet)
    if not np.isfinite(A).all():
        return _finish(name, False, "the matrix contains NaN or inf", strict, quiet=quiet)
    scale = max(float(np.max(np.abs(A))), 1e-300)
    asym = np.abs(A - A.T)
    if asym.max() > sym_rtol * scale:
        i, j = np.unravel_index(int(np.argmax(asym)), A.shape)
        return _finish(name, False, f"not symmetric: K[{i},{j}] = {A[i, j]:.10g} but K[{j},{i}] = {A[j, i]:.10g} "
                       "(a kernel must satisfy K(x, x') = K(x', x))", strict, {"index": (int(i), int(j))}, quiet)
    ev = np.linalg.eigvalsh((A + A.T) / 2)
    lo, hi = float(ev[0]), float(ev[-1])
    if lo < -tol * max(1.0, hi):
        return _finish(name, False, f"not positive semi-definite: smallest eigenvalue {lo:.3g} < 0 "
                       f"(largest {hi:.3g}); a Gram matrix of feature vectors cannot have one",
                       strict, {"min_eig": lo, "max_eig": hi}, quiet)
    return _finish(name, True, f"symmetric and PSD (eigenvalues in [{lo:.3g}, {hi:.3g}])", strict,
                   {"min_eig": lo, "max_eig": hi}, quiet)


def check_function(name: str, fn, *, reference=None, expected=None, inputs=((),), kwargs=None, rtol: float = 1e-7,
                   atol: float = 1e-10, mistakes: dict | None = None, strict: bool = False,
                   quiet: bool = False) -> CheckResult:
    """Call a learner's function on test inputs and compare with a reference.

    Parameters
    ----------
    name : str
        Shown in the message, e.g. ``"Exercise 3.2"``.
    fn : callable
        The learner's function. If it raises ``NotImplementedError`` the check
        prints ``⏳ ... not done yet`` and returns a result with ``ok=None``
        (never raises, also with ``strict=True``: stubs must not fail nbval).
    reference : callable, optional
        The correct function (usually from ``ntk_teach``), called with the same inputs.
    expected : list, optional
        Expected outputs, one per input (instead of ``reference``).
    inputs : sequence of tuples
        Positional arguments for each test call (default: one call without arguments).
    kwargs : dict, optional
        Keyword arguments for every call.
    rtol, atol : float
        Tolerances of :func:`check_close`.
    mistakes : dict, optional
        ``{"description of a common mistake": wrong_function}``; if the learner's
        output matches one, the message names it.
    strict : bool
        Raise ``AssertionError`` on a wrong result (use it on solution cells).

    Other exceptions raised by ``fn`` propagate (a bug should show its traceback),
    after a line that says which test input triggered it.
    """
    kwargs = dict(kwargs or {})
    inputs = [tuple(a) if isinstance(a, (tuple, list)) else (a,) for a in inputs]
    if (reference is None) == (expected is None):
        raise TypeError("give exactly one of reference= or expected=")
    if expected is not None and len(expected) != len(inputs):
        raise ValueError(f"expected has {len(expected)} entries but there are {len(inputs)} inputs")
    last = None
    for k, args in enumerate(inputs):
        try:
            got = fn(*args, **kwargs)
        except NotImplementedError:
            return _finish(name, None, "not done yet -- replace the `raise NotImplementedError` line with your code, "
                           "then run this cell again", False, quiet=quiet)
        except Exception as exc:
            if not quiet:
                print(f"{WRONG} {name}: your function raised {type(exc).__name__} on test input {k + 1} "
                      f"of {len(inputs)} (traceback below)")
            raise
        want = reference(*args, **kwargs) if reference is not None else expected[k]
        label = name if len(inputs) == 1 else f"{name} [test input {k + 1}/{len(inputs)}]"
        res = check_close(label, got, want, rtol=rtol, atol=atol, quiet=True)
        if not res:
            text = res.message.split(": ", 1)[1]
            for desc, wrong in (mistakes or {}).items():
                try:
                    w = wrong(*args, **kwargs)
                    if check_close(desc, got, w, rtol=rtol, atol=atol, quiet=True):
                        text += f". Your result matches a known mistake: {desc}"
                        break
                except Exception:  # a mistake model that cannot run on this input says nothing
                    continue
            return _finish(label, False, text, strict, res.details, quiet)
        last = res
    n = len(inputs)
    err = last.details.get("max_abs_error", 0.0) if last else 0.0
    return _finish(name, True, f"correct on {n} test input{'s' if n > 1 else ''} "
                   f"(last max abs error {err:.1e}; rtol={rtol:g}, atol={atol:g})", strict, quiet=quiet)


def check_true(name: str, condition: bool, why: str, *, strict: bool = False, quiet: bool = False) -> CheckResult:
    """A yes/no check with the reason shown either way, e.g. for a learner's answer to a question."""
    return _finish(name, bool(condition), why, strict, quiet=quiet)
