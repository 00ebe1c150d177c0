"""ntk_teach.foundations and notebook 01's demos."""
import math

import numpy as np
import pytest
import torch
from torch.func import jacrev

from ntk_teach import foundations as F
from ntk_teach import viz
from ntk_teach.demos import nb01_foundations as d


def test_jacobian_by_hand_matches_autograd():
    for x in ([0.7, -0.4], [-1.3, 2.0]):
        x = torch.tensor(x, dtype=torch.float64)
        assert torch.allclose(jacrev(F.example_map)(x), F.example_map_jacobian(x), atol=1e-14)


def test_euler_is_gradient_descent_and_stability_limit():
    assert np.allclose(F.euler(-2.0, 1.0, 0.1, 3), [1.0, 0.8, 0.64, 0.512])
    lim = F.euler_stability_limit(-4.0)
    assert lim == 0.5
    assert abs(F.euler(-4.0, 1.0, 0.49, 2000)[-1]) < 1e-3 and abs(F.euler(-4.0, 1.0, 0.51, 2000)[-1]) > 1e3
    with pytest.raises(ValueError):
        F.euler_stability_limit(1.0)
    with pytest.raises(ValueError):
        F.euler(-1.0, 1.0, 0.0, 3)


def test_clt_exact_distance_rate_and_sampler_moments():
    d1, d4 = F.exact_mean_cdf_distance("exponential", 256), F.exact_mean_cdf_distance("exponential", 1024)
    assert d1 / d4 == pytest.approx(2.0, rel=0.01)  # N^-1/2: 4x more draws, half the distance
    for dist in F.DISTRIBUTIONS:
        m, v, _ = F.distribution_moments(dist)
        s = F.sample_means(dist, 16, 40000, seed=1)
        # the sample mean of 40000 means has standard error sqrt(v/16/40000)
        assert abs(s.mean() - m) < 5 * math.sqrt(v / 16 / 40000)
        assert s.var() == pytest.approx(v / 16, rel=0.05)


def test_polynomial_features_and_ellipse():
    X = torch.randn(7, 2, dtype=torch.float64)
    P = F.poly2_features(X, c=0.5)
    assert torch.allclose(P @ P.T, F.poly_kernel(X, c=0.5), atol=1e-12)
    e = F.covariance_ellipse(d.COV_2D)
    q = np.einsum("ij,jk,ik->i", e, np.linalg.inv(d.COV_2D), e)
    assert np.allclose(q, 4.0)


def test_taylor_coefficients_of_a_polynomial_are_exact():
    c = F.taylor_coefficients(lambda x: 2 * x**3 - x + 1, 1.0, 4)
    # around 1: 2 + 5 h + 6 h^2 + 2 h^3
    assert np.allclose(c, [2.0, 5.0, 6.0, 2.0, 0.0], atol=1e-12)


def test_nadaraya_watson_weights_sum_to_one():
    K = torch.rand(5, 3, dtype=torch.float64) + 0.1
    out = F.nadaraya_watson(K, torch.ones(3, dtype=torch.float64))
    assert torch.allclose(out, torch.ones(5, dtype=torch.float64))


def test_demo_numbers():
    assert abs(d.jacobian_gap_slope().slope - 2) < 0.05
    assert abs(d.taylor_error_fit(1).slope - 2) < 0.05
    assert abs(d.ks_table()["exponential fit"].slope + 0.5) < 0.02


@pytest.mark.parametrize("name", sorted(n for n in viz.registered_demos() if n.startswith("01.")))
def test_demos_update(name):
    view = viz.get_demo(name).interact(backend="inline")
    assert view.controls
    for param, widget in view.controls.items():
        for value in viz.control_values(widget, max_values=3):
            view.set(**{param: value})
