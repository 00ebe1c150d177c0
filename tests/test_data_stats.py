"""Toy datasets (ntk_teach.data) and the small statistics helpers (ntk_teach.stats)."""
import math

import numpy as np
import pytest
import torch

import ntk_teach as nt

F64 = torch.float64


def test_two_point_data():
    x, y = nt.two_point_data()
    assert x.dtype == y.dtype == F64 and x.shape == y.shape == (2,)
    torch.testing.assert_close(x, torch.tensor([-1.5, 1.0], dtype=F64))
    torch.testing.assert_close(y, torch.tensor([0.6, -0.4], dtype=F64))
    # the promise of its docstring: the 2 x 2 NTK is far from a multiple of the identity (tilted axes)
    K = nt.analytic_ntk(x)
    lam, Q = torch.linalg.eigh(K)
    assert lam[1] / lam[0] > 2
    tilt = math.degrees(math.atan2(abs(float(Q[1, 1])), abs(float(Q[0, 1]))))  # top axis vs the x_1 axis
    assert 5 < tilt < 85, tilt  # measured 7.6 degrees for the default analytic NTK


def test_noisy_1d():
    x, y = nt.noisy_1d(50, fn="sin2", noise=0.0, x_range=(-2.0, 1.0), seed=3)
    assert x.shape == y.shape == (50,) and x.dtype == F64
    assert float(x.min()) >= -2.0 and float(x.max()) <= 1.0 and bool((x[1:] >= x[:-1]).all())
    torch.testing.assert_close(y, torch.sin(x) + 0.5 * torch.sin(4 * x))
    a, b = nt.noisy_1d(10, seed=1), nt.noisy_1d(10, seed=1)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], nt.noisy_1d(10, seed=2)[0])
    # noise: y - g(x) over 4000 points has sd `noise` within 5 standard errors (relative se 1/sqrt(2n))
    x, y = nt.noisy_1d(4000, fn="quadratic", noise=0.3, seed=4, sort=False)
    r = y - (0.3 * x**2 - 0.5)
    assert abs(float(r.std()) / 0.3 - 1) < 5 / math.sqrt(2 * 4000)
    for name in ("sin", "sin2", "step", "quadratic"):
        assert nt.target_fn(name)(torch.zeros(1, dtype=F64)).shape == (1,)


def test_tiny_1d_and_unit_circle():
    x, y = nt.tiny_1d(6, seed=0)
    torch.testing.assert_close(x, torch.linspace(-3, 3, 6, dtype=F64))
    assert float((y - torch.sin(x)).abs().max()) < 0.5  # 0.1 noise: 5 sd
    pts, gamma = nt.unit_circle(8, radius=2.0)
    assert pts.shape == (8, 2) and gamma.shape == (8,)
    torch.testing.assert_close(pts.norm(dim=1), torch.full((8,), 2.0, dtype=F64))
    torch.testing.assert_close(gamma[0], torch.tensor(-math.pi, dtype=F64))
    torch.testing.assert_close(gamma[1:] - gamma[:-1], torch.full((7,), 2 * math.pi / 8, dtype=F64))


def test_fit_loglog_recovers_power_laws_and_its_standard_error():
    x = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
    fit = nt.fit_loglog(x, 3.0 * x**-0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12)
    assert math.exp(fit.intercept) == pytest.approx(3.0, rel=1e-12)
    assert fit.stderr == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(fit.predict(x), 3.0 * x**-0.5, rtol=1e-12)
    assert "-0.50" in fit.label("NTK")
    # with log-normal noise of sd s, the slope's standard error is s / sqrt(sum (log x - mean)^2)
    rng = np.random.default_rng(0)
    xs = np.geomspace(1, 1e3, 40)
    slopes, errs = [], []
    for _ in range(400):
        f = nt.fit_loglog(xs, xs**0.7 * np.exp(0.2 * rng.standard_normal(40)))
        slopes.append(f.slope)
        errs.append(f.stderr)
    expect = 0.2 / math.sqrt(((np.log(xs) - np.log(xs).mean()) ** 2).sum())
    # mean of 400 slopes: se = expect/20; sd of 400 slopes: relative se 1/sqrt(800) = 3.5% (5 se: 18%)
    assert abs(np.mean(slopes) - 0.7) < 5 * expect / 20
    assert abs(np.std(slopes) / expect - 1) < 0.18
    assert abs(np.mean(errs) / expect - 1) < 0.05


def test_excess_kurtosis():
    rng = np.random.default_rng(1)
    n = 200_000
    # sample excess kurtosis has se sqrt(24/n) = 0.011 for a Gaussian; 5 se
    assert abs(nt.excess_kurtosis(rng.standard_normal(n))) < 5 * math.sqrt(24 / n)
    # uniform: -6/5 exactly (se ~ sqrt(...)/sqrt(n) << 0.02)
    assert nt.excess_kurtosis(rng.uniform(size=n)) == pytest.approx(-1.2, abs=0.02)
    two = nt.excess_kurtosis(rng.standard_normal((n, 2)), axis=0)
    assert two.shape == (2,)
