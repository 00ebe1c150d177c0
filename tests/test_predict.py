"""ntk_teach.predict: the infinite ensemble (Lee et al. 2019), spectral filters, minimum-norm step, learning curves.

Every formula is checked against an independent computation in float64: matrix exponentials and
powers instead of eigendecompositions, a Monte-Carlo ensemble instead of the covariance formula,
the GP posterior by Cholesky instead of the readout-only ensemble, a kernel whose interpolant is
exactly piecewise linear for the noise gain.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ntk_teach as nt
from ntk_teach import predict as P

KW = dict(depth=2, activation="relu", w_std=1.0, b_std=1.0)
X = torch.tensor([-2.0, -0.7, 0.4, 1.9], dtype=torch.float64)
Y = torch.sin(X)
XS = torch.linspace(-3.0, 3.0, 13, dtype=torch.float64)


@pytest.fixture(scope="module")
def kern():
    return dict(K=nt.analytic_nngp(X, **KW), Ks=nt.analytic_nngp(XS, X, **KW), Kss=nt.analytic_nngp(XS, **KW),
                T=nt.analytic_ntk(X, **KW), Ts=nt.analytic_ntk(XS, X, **KW))


def _naive_A(T, Ts, t, eta=1.0):
    I = torch.eye(T.shape[0], dtype=torch.float64)
    return Ts @ torch.linalg.solve(T, I - torch.linalg.matrix_exp(-eta * t * T))


# ------------------------------------------------------------------ filters
def test_gd_filter_values_and_limits():
    lam = torch.tensor([0.0, 1e-30, 0.5, 2.0, 40.0], dtype=torch.float64)
    g = P.gd_filter(lam, 3.0, eta=0.5)
    expected = torch.tensor([1.5, 1.5, (1 - math.exp(-0.75)) / 0.5, (1 - math.exp(-3.0)) / 2.0,
                             (1 - math.exp(-60.0)) / 40.0], dtype=torch.float64)
    assert torch.allclose(g, expected, rtol=1e-14, atol=0)
    g_inf = P.gd_filter(lam, math.inf)
    assert g_inf[0] == 0.0 and torch.allclose(g_inf[2:], 1 / lam[2:])
    # broadcasting: (T, 1) times against (1, N) eigenvalues
    assert P.gd_filter(lam[None, :], torch.tensor([[0.0], [1.0]], dtype=torch.float64)).shape == (2, 5)


def test_gd_steps_filter_is_a_geometric_sum():
    lam = torch.tensor([0.0, 0.3, 1.7], dtype=torch.float64)
    eta, k = 0.4, 7
    direct = sum(eta * (1 - eta * lam) ** j for j in range(k))
    assert torch.allclose(P.gd_steps_filter(lam, k, eta=eta), direct, rtol=1e-13)


def test_filter_ratio_bound():
    x = torch.logspace(-6, 6, 20001, dtype=torch.float64)
    ratio = P.gd_filter(x, 1.0) / P.ridge_filter(x, P.matched_ridge(1.0))
    assert float(ratio.min()) >= 1.0 - 1e-12
    assert float(ratio.max()) <= P.FILTER_RATIO_MAX
    assert abs(float(ratio.max()) - 1.298426) < 1e-5  # the maximum of (1 - e^-x)(1 + 1/x), at x = 1.7933
    assert abs(float(x[ratio.argmax()]) - 1.7933) < 2e-3


def test_ridge_filter_pseudo_inverse_at_zero():
    lam = torch.tensor([0.0, 2.0], dtype=torch.float64)
    assert P.ridge_filter(lam, 0.0).tolist() == [0.0, 0.5]
    assert P.ridge_filter(lam, 0.5).tolist() == [2.0, 0.4]


# ------------------------------------------------------------------ transfer matrix and ensemble
@pytest.mark.parametrize("t", [0.0, 0.05, 1.0, 30.0])
def test_transfer_matrix_matches_matrix_exponential(kern, t):
    A = P.transfer_matrix(kern["T"], kern["Ts"], t, eta=0.7)
    assert torch.allclose(A, _naive_A(kern["T"], kern["Ts"], t, eta=0.7), rtol=0, atol=1e-10)


def test_transfer_matrix_steps_match_matrix_power(kern):
    eta, k = 0.05, 37
    I = torch.eye(4, dtype=torch.float64)
    naive = kern["Ts"] @ torch.linalg.solve(kern["T"], I - torch.linalg.matrix_power(I - eta * kern["T"], k))
    assert torch.allclose(P.transfer_matrix(kern["T"], kern["Ts"], steps=k, eta=eta), naive, atol=1e-11)
    # many steps of small size approach gradient flow at t = eta k (error O(eta))
    A_flow = P.transfer_matrix(kern["T"], kern["Ts"], 2.0)
    A_gd = P.transfer_matrix(kern["T"], kern["Ts"], steps=20000, eta=1e-4)
    assert float((A_flow - A_gd).abs().max()) < 1e-3


def test_transfer_matrix_time_axis(kern):
    ts = torch.tensor([0.1, 2.0, math.inf], dtype=torch.float64)
    A = P.transfer_matrix(kern["T"], kern["Ts"], ts)
    assert A.shape == (3, 13, 4)
    for i, t in enumerate(ts.tolist()):
        assert torch.allclose(A[i], P.transfer_matrix(kern["T"], kern["Ts"], t), atol=1e-14)


@pytest.mark.parametrize("t", [0.3, 5.0, math.inf])
def test_ensemble_predictive_matches_naive_formula(kern, t):
    g = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, t)
    if math.isinf(t):
        A = kern["Ts"] @ torch.linalg.inv(kern["T"])
    else:
        A = _naive_A(kern["T"], kern["Ts"], t)
    cov = kern["Kss"] + A @ kern["K"] @ A.T - A @ kern["Ks"].T - kern["Ks"] @ A.T
    assert torch.allclose(g.mean, A @ Y, atol=1e-10)
    assert torch.allclose(g.cov, cov, atol=1e-10)
    assert torch.allclose(g.cov, g.cov.T) and float(torch.linalg.eigvalsh(g.cov).min()) > -1e-10


def test_ensemble_predictive_monte_carlo(kern):
    """The covariance formula against an actual ensemble: f_t = f0* + A (Y - f0(X)), f0 ~ N(0, Sigma)."""
    t, S = 0.7, 20000
    joint = torch.cat([torch.cat([kern["Kss"], kern["Ks"]], 1), torch.cat([kern["Ks"].T, kern["K"]], 1)], 0)
    f = nt.sample_gp(joint, S, seed=11)
    f0s, f0 = f[:, :13], f[:, 13:]
    A = P.transfer_matrix(kern["T"], kern["Ts"], t)
    ft = f0s + (Y[None, :] - f0) @ A.T
    g = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, t)
    std = g.std
    # sample mean: standard error std / sqrt(S); sample variance: standard error var * sqrt(2 / S)
    assert torch.all((ft.mean(0) - g.mean).abs() < 5 * std / math.sqrt(S))
    assert torch.all((ft.var(0) - std**2).abs() < 5 * std**2 * math.sqrt(2 / S) + 1e-12)


def test_limits_prior_interpolation_and_bayes(kern):
    prior = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, 0.0)
    assert torch.equal(prior.mean, torch.zeros(13, dtype=torch.float64))
    assert torch.allclose(prior.cov, kern["Kss"], atol=1e-14)
    at_data = P.ensemble_predictive(kern["T"], kern["T"], kern["K"], kern["K"], kern["K"], Y)
    assert torch.allclose(at_data.mean, Y, atol=1e-10) and float(at_data.cov.abs().max()) < 1e-10
    # readout only at t = inf: exactly the GP posterior with the NNGP prior (Cholesky route)
    readout = P.infinite_ensemble(X, Y, XS, regime="nngp", **KW)
    post = P.nngp_posterior(X, Y, XS, **KW)
    assert torch.allclose(readout.mean, post.mean, atol=1e-9) and torch.allclose(readout.cov, post.cov, atol=1e-9)
    # ... and with all layers trained it is not the posterior
    full = P.infinite_ensemble(X, Y, XS, **KW)
    assert float((full.std - post.std).abs().max()) > 0.05


def test_time_array_and_compute_cov(kern):
    ts = torch.tensor([0.2, 3.0], dtype=torch.float64)
    g = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, ts)
    assert g.mean.shape == (2, 13) and g.cov.shape == (2, 13, 13) and g.std.shape == (2, 13)
    one = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, 3.0)
    assert torch.allclose(g.cov[1], one.cov, atol=1e-14)
    lean = P.ensemble_predictive(kern["T"], kern["Ts"], None, None, None, Y, 3.0, compute_cov=False)
    assert lean.cov is None and lean.std is None and torch.allclose(lean.mean, one.mean)
    steps = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, steps=[0, 10], eta=0.05)
    assert steps.mean.shape == (2, 13) and float(steps.mean[0].abs().max()) == 0.0


def test_expected_test_error_is_bias_plus_variance(kern):
    g = P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y, 1.0)
    y_test = torch.sin(XS)
    e = P.expected_test_error(g, y_test)
    assert math.isclose(float(e), float(((g.mean - y_test) ** 2).mean() + g.std.pow(2).mean()), rel_tol=1e-12)
    assert math.isclose(float(P.expected_test_error(g._replace(cov=None), y_test)),
                        float(((g.mean - y_test) ** 2).mean()), rel_tol=1e-12)


# ------------------------------------------------------------------ minimum norm, noise gain, learning curve
def test_min_norm_step():
    gen = torch.Generator().manual_seed(0)
    J = torch.randn(4, 30, generator=gen, dtype=torch.float64)
    r = torch.randn(4, generator=gen, dtype=torch.float64)
    dw = P.min_norm_step(J, r)
    assert torch.allclose(dw, torch.linalg.pinv(J) @ r, atol=1e-12)
    assert torch.allclose(J @ dw, r, atol=1e-12)
    # orthogonal to the null space: adding a null vector only makes it longer
    v = torch.randn(30, generator=gen, dtype=torch.float64)
    v = v - torch.linalg.pinv(J) @ (J @ v)
    assert float((J @ v).abs().max()) < 1e-12 and abs(float(dw @ v)) < 1e-12
    # rank-deficient J (a repeated row): the pseudo-inverse, not an error
    Jd = torch.cat([J, J[:1]], 0)
    rd = torch.cat([r, r[:1]])
    assert torch.allclose(P.min_norm_step(Jd, rd), torch.linalg.pinv(Jd) @ rd, atol=1e-10)


def test_noise_gain_of_piecewise_linear_interpolation():
    """K = min(x, x') (Brownian motion) interpolates piecewise linearly between nodes: the gain is 2/3."""
    x = torch.linspace(0.1, 1.0, 10, dtype=torch.float64)
    xs = torch.linspace(0.1, 1.0, 9001, dtype=torch.float64)
    K = torch.minimum(x[:, None], x[None, :])
    Ks = torch.minimum(xs[:, None], x[None, :])
    assert abs(P.noise_gain(K, Ks) - 2 / 3) < 1e-3


def test_learning_curve_grid_noiseless():
    lc = P.learning_curve([16, 32, 64], n_draws=2, n_test=101, **KW)
    assert lc["n"].tolist() == [16, 32, 64]
    for key in ("ntk_mean", "ntk_ensemble", "nngp_mean"):
        assert lc[key].shape == (3, 2)
        assert np.all(np.diff(lc[key][:, 0]) < 0)  # more data, smaller error
    assert np.array_equal(lc["ntk_mean"][:, 0], lc["ntk_mean"][:, 1])  # no noise: the draws coincide
    assert np.all(lc["ntk_ensemble"] >= lc["ntk_mean"])                  # variance adds to the error
    slope = nt.fit_loglog(lc["n"], lc["ntk_mean"][:, 0]).slope
    assert -4.4 < slope < -3.6   # locally-linear interpolation: MSE ~ n^-4 (notebook 06, section 5)


def test_single_threaded_restores():
    before = torch.get_num_threads()
    with P.single_threaded():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------ bad input
def test_bad_inputs(kern):
    with pytest.raises(ValueError, match="t must be"):
        P.gd_filter(torch.ones(2, dtype=torch.float64), -1.0)
    with pytest.raises(ValueError, match="steps"):
        P.gd_steps_filter(torch.ones(2, dtype=torch.float64), 1.5, eta=0.1)
    with pytest.raises(ValueError, match="lam"):
        P.ridge_filter(torch.tensor([-1.0], dtype=torch.float64), 0.1)
    with pytest.raises(ValueError, match="eta"):
        P.transfer_matrix(kern["T"], kern["Ts"], 1.0, eta=0.0)
    with pytest.raises(ValueError, match="ntk_test_train"):
        P.transfer_matrix(kern["T"], kern["Ts"].T, 1.0)
    with pytest.raises(ValueError, match="symmetric"):
        P.transfer_matrix(kern["T"] + torch.triu(torch.ones(4, 4, dtype=torch.float64), 1), kern["Ts"])
    with pytest.raises(TypeError, match="not both"):
        P.transfer_matrix(kern["T"], kern["Ts"], 1.0, steps=3)
    with pytest.raises(ValueError, match="y must have"):
        P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], kern["Kss"], Y[:3])
    with pytest.raises(ValueError, match="nngp_test"):
        P.ensemble_predictive(kern["T"], kern["Ts"], kern["K"], kern["Ks"], None, Y)
    with pytest.raises(ValueError, match="regime"):
        P.infinite_ensemble(X, Y, XS, regime="bayes")
    with pytest.raises(ValueError, match="design"):
        P.learning_curve([4], design="sobol")
    with pytest.raises(ValueError, match="J must be"):
        P.min_norm_step(torch.ones(3, 5, dtype=torch.float64), torch.ones(4, dtype=torch.float64))


def test_python_float_times_keep_double_precision(kern):
    """A Python float t = 0.3 must not pass through float32 (0.30000001192...) on its way to float64."""
    _, flow = nt.gradient_flow_mse(kern["T"], Y, 0.3, K_test=kern["Ts"])
    A = _naive_A(kern["T"], kern["Ts"], 0.3)
    assert torch.allclose(flow[0], A @ Y, rtol=0, atol=1e-12)
