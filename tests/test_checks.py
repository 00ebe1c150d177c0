"""Self-check helpers: right answers pass, wrong ones say what is wrong, stubs never fail."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ntk_teach import checks


def test_check_close_pass_prints_tick(capsys):
    res = checks.check_close("Ex 1", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    out = capsys.readouterr().out
    assert res and res.ok is True and out.startswith("✅ Ex 1: correct")


def test_check_close_names_worst_entry_and_amount(capsys):
    e = np.arange(6.0).reshape(2, 3) + 1
    g = e.copy()
    g[1, 2] += 0.5
    res = checks.check_close("Ex 2", g, e, rtol=1e-7, atol=1e-10)
    out = capsys.readouterr().out
    assert res.ok is False and not res
    assert out.startswith("❌ Ex 2: 1 of 6 entries wrong; worst is entry (1, 2): got 6.5, expected 6")
    assert "error 0.5" in out
    assert res.details["index"] == (1, 2)


def test_strict_raises_only_on_wrong():
    checks.check_close("ok", [1.0], [1.0], strict=True, quiet=True)
    with pytest.raises(AssertionError, match="❌ bad: .*entry \\(0,\\)"):
        checks.check_close("bad", [1.0], [2.0], strict=True, quiet=True)


@pytest.mark.parametrize(
    "transform, cause",
    [
        (lambda K: K.T, "transpose"),
        (lambda K: 2 * K, "same factor 2 (= 2)"),
        (lambda K: 0.5 * K, "(= 1/2)"),
        (lambda K: -K, "sign flipped"),
        (lambda K: K + 0.01, "same offset 0.01"),
        (lambda K: K.astype(np.float32), "float32"),
        (lambda K: np.where(np.eye(3, dtype=bool), np.nan, K), "NaN"),
    ],
)
def test_diagnoses_likely_causes(transform, cause):
    A = np.array([[2.0, 0.3, 0.1], [0.7, 1.5, 0.2], [0.4, 0.9, 1.1]])
    K = A @ A.T + np.triu(np.ones((3, 3)))  # not symmetric, so a transpose is detectable
    if cause == "float32":
        K = K + 1e-7 * np.arange(9).reshape(3, 3)  # entries not representable in float32
    res = checks.check_close("Ex", transform(K), K, rtol=1e-10, atol=1e-12, quiet=True)
    assert res.ok is False
    assert cause in res.message, res.message


def test_only_diagonal_or_only_offdiagonal_wrong():
    K = np.array([[2.0, 0.5], [0.5, 3.0]])
    d = K + np.diag([0.1, 0.2])
    assert "only the diagonal" in checks.check_close("d", d, K, quiet=True).message
    o = K.copy()
    o[0, 1] = o[1, 0] = 0.7
    assert "diagonal is right" in checks.check_close("o", o, K, quiet=True).message


def test_shape_messages():
    r = checks.check_shape("s", np.zeros((3, 2)), (2, 3), quiet=True)
    assert not r and "transposed" in r.message
    r = checks.check_shape("s", np.zeros((5, 1)), (5,), quiet=True)
    assert "axis of length 1" in r.message
    r = checks.check_close("c", np.zeros((5, 1)), np.zeros(5), quiet=True)
    assert not r and "shape (5, 1), expected (5,)" in r.message
    assert checks.check_shape("s", torch.zeros(4, 4), (4, 4), quiet=True)


def test_check_psd():
    X = np.random.default_rng(0).normal(size=(6, 3))
    assert checks.check_psd("gram", X @ X.T, quiet=True)
    r = checks.check_psd("neg", np.diag([1.0, -0.5]), quiet=True)
    assert not r and "smallest eigenvalue -0.5" in r.message
    r = checks.check_psd("asym", np.array([[1.0, 0.2], [0.1, 1.0]]), quiet=True)
    assert not r and "not symmetric" in r.message
    assert not checks.check_psd("shape", np.zeros((2, 3)), quiet=True)


def _ref(x):
    return torch.relu(x) ** 2


def test_check_function_stub_is_not_done_and_never_raises(capsys):
    def stub(x):
        raise NotImplementedError("Exercise 1")

    res = checks.check_function("Exercise 1", stub, reference=_ref, inputs=[(torch.ones(3),)], strict=True)
    out = capsys.readouterr().out
    assert res.ok is None and not res.done and not res
    assert out.startswith("⏳ Exercise 1: not done yet")


def test_check_function_correct_and_wrong(capsys):
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)
    assert checks.check_function("E", lambda x: torch.relu(x) * torch.relu(x), reference=_ref, inputs=[(x,)])
    res = checks.check_function("E", lambda x: 2 * torch.relu(x) ** 2, reference=_ref, inputs=[(x,), (x + 1,)])
    assert res.ok is False and "[test input 1/2]" in res.message and "factor 2" in res.message
    with pytest.raises(AssertionError):
        checks.check_function("E", lambda x: x, reference=_ref, inputs=[(x,)], strict=True, quiet=True)


def test_check_function_recognises_a_named_mistake():
    x = torch.linspace(-1, 1, 7, dtype=torch.float64)
    res = checks.check_function("E", lambda x: x**2, reference=_ref, inputs=[(x,)], quiet=True,
                                mistakes={"used x**2 without the ReLU": lambda x: x**2})
    assert not res and "known mistake: used x**2 without the ReLU" in res.message


def test_check_function_other_errors_propagate(capsys):
    def buggy(x):
        return x @ torch.ones(5)

    with pytest.raises(RuntimeError):
        checks.check_function("E", buggy, reference=_ref, inputs=[(torch.ones(3),)])
    assert "raised RuntimeError on test input 1 of 1" in capsys.readouterr().out


def test_check_function_expected_values_and_argument_errors():
    assert checks.check_function("E", lambda a: a + 1, expected=[2.0, 3.0], inputs=[(1.0,), (2.0,)], quiet=True)
    with pytest.raises(TypeError, match="exactly one"):
        checks.check_function("E", lambda: 1, quiet=True)
    with pytest.raises(ValueError, match="expected has 1"):
        checks.check_function("E", lambda a: a, expected=[1.0], inputs=[(1.0,), (2.0,)])
