"""Monte Carlo over random initializations (ntk_teach.montecarlo).

The sharpest checks use one-hidden-layer networks, for which the *mean* over initializations of the
empirical NTK and of the output covariance equal the infinite-width kernels exactly at every width
(the first layer's pre-activations are exactly Gaussian), so the only error is Monte-Carlo error with a
known standard error.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ntk_teach
from ntk_teach import montecarlo as mc

X = torch.linspace(-2.0, 2.0, 5, dtype=torch.float64)


def test_kernel_samples_are_the_seeded_networks():
    ks = mc.kernel_samples(X, width=16, n_seeds=3, seed=7)
    assert ks.shape == (3, 5, 5) and ks.dtype == torch.float64
    for s in range(3):
        assert torch.equal(ks[s], ntk_teach.empirical_ntk(ntk_teach.MLP(16, seed=7 + s), X))
    nn = mc.kernel_samples(X, X[:2], width=16, n_seeds=2, kind="nngp", depth=3, b_std=0.3)
    assert nn.shape == (2, 5, 2)
    assert torch.equal(nn[1], mc.empirical_nngp(ntk_teach.MLP(16, seed=1, depth=3, b_std=0.3), X, X[:2]))


def test_empirical_nngp_is_the_readout_covariance_given_the_hidden_layer():
    model = ntk_teach.MLP(32, depth=2, w_std=1.3, b_std=0.4, seed=3)
    _, post = model.layer_forward(X)
    a = post[-1]
    expected = 1.3**2 / 32 * a @ a.T + 0.4**2
    K = mc.empirical_nngp(model, X)
    assert torch.allclose(K, expected, rtol=1e-13, atol=1e-15) and torch.equal(K, K.T)
    assert float(torch.linalg.eigvalsh(K - 0.4**2).min()) > -1e-12  # a Gram matrix plus a constant
    with pytest.raises(TypeError, match="MLP"):
        mc.empirical_nngp(torch.nn.Linear(1, 1), X)


@pytest.mark.parametrize("kind", ["ntk", "nngp"])
def test_one_hidden_layer_mean_kernel_is_exactly_the_limit(kind):
    # depth 1: E[Theta] = Theta^2 and E[Sigma_hat] = Sigma^2 at ANY width, so only Monte-Carlo error remains.
    S = 400
    ks = mc.kernel_samples(X, width=8, n_seeds=S, kind=kind, depth=1, b_std=0.5)
    lim = mc.limit_kernel(X, kind=kind, depth=1, b_std=0.5)
    se = ks.std(0) / math.sqrt(S)
    z = ((ks.mean(0) - lim) / se).abs().max()
    assert float(z) < 4.5, f"mean kernel off by {float(z):.1f} standard errors"  # 15 entries: P(max|z| > 4.5) < 1e-4


def test_output_covariance_of_one_hidden_layer_nets_is_the_nngp():
    S = 1500
    f = mc.output_samples(X[[0, 2, 4]], width=4, n_seeds=S, depth=1, b_std=0.5)
    assert f.shape == (S, 3)
    assert torch.equal(f[5], ntk_teach.MLP(4, seed=5, depth=1, b_std=0.5)(X[[0, 2, 4]]).detach())
    cov = f.T @ f / S  # the mean is exactly 0
    lim = ntk_teach.analytic_nngp(X[[0, 2, 4]], depth=1, b_std=0.5)
    # standard error of a second moment: sqrt((E[f_i^2 f_j^2] - E[f_i f_j]^2) / S), estimated from the samples
    se = ((f[:, :, None] * f[:, None, :]).std(0)) / math.sqrt(S)
    assert float(((cov - lim) / se).abs().max()) < 4.5


def test_deviation_vs_width_slope_and_bookkeeping():
    widths = (8, 16, 32, 64, 128, 256)
    sw = mc.deviation_vs_width(X, widths=widths, n_seeds=24, seed=11, depth=1)
    assert sw.samples.shape == (6, 24, 5, 5) and sw.limit.shape == (6, 5, 5) and sw.n_seeds == 24
    # independent seeds per width: width k uses seed + k * n_seeds + s
    assert torch.equal(sw.samples[2, 3], ntk_teach.empirical_ntk(ntk_teach.MLP(32, seed=11 + 2 * 24 + 3, depth=1), X))
    assert np.allclose(sw.rms, np.sqrt((sw.deviation**2).mean(1)))
    d = sw.deviation[1, 4]
    assert math.isclose(d, float(torch.linalg.norm(sw.samples[1, 4] - sw.limit[1]) / torch.linalg.norm(sw.limit[1])))
    fit = sw.fit()
    # se of log(rms) ~ 1/sqrt(2 * 24) ~ 0.14 per width -> slope se ~ 0.04; the fit reports it
    assert 0.02 < fit.stderr < 0.08
    assert abs(fit.slope + 0.5) < 3 * fit.stderr
    assert sw.chi2_per_dof() < 4
    mean, se = sw.statistic()
    assert mean.shape == (6,) and np.all(se > 0)
    assert np.allclose(sw.relative_spread, (torch.linalg.norm(sw.std, dim=(1, 2)) /
                                            torch.linalg.norm(sw.limit, dim=(1, 2))).numpy())


def test_standard_parameterization_limit_depends_on_width():
    sw = mc.deviation_vs_width(X, widths=(8, 32, 128), n_seeds=4, parameterization="standard")
    assert not torch.allclose(sw.limit[0], sw.limit[2])
    assert torch.allclose(sw.limit[1], ntk_teach.analytic_ntk(X, parameterization="standard", width=32))
    mean, _ = sw.statistic()
    assert mean[2] > 8 * mean[0]  # grows ~ linearly with the width
    with pytest.raises(ValueError, match="needs width"):
        mc.limit_kernel(X, parameterization="standard")
    assert torch.equal(mc.limit_kernel(X, kind="nngp", parameterization="standard"), ntk_teach.analytic_nngp(X))


def test_fit_loglog_weighted_recovers_a_power_law_and_propagates_errors():
    x = np.array([10.0, 20, 40, 80, 160])
    y = 3.0 * x**-0.5
    se = np.full(5, 0.1)
    fit = mc.fit_loglog_weighted(x, y, se)
    assert fit.slope == pytest.approx(-0.5, abs=1e-12) and math.exp(fit.intercept) == pytest.approx(3.0)
    lx = np.log(x)
    assert fit.stderr == pytest.approx(0.1 / math.sqrt(((lx - lx.mean()) ** 2).sum()))
    assert mc.chi2_per_dof(x, y, se, fit) == pytest.approx(0.0, abs=1e-20)
    # noise of the stated size: the slope lands within 3 standard errors, chi2/dof is O(1)
    rng = np.random.default_rng(0)
    slopes = [mc.fit_loglog_weighted(x, y * np.exp(rng.normal(0, 0.1, 5)), se).slope for _ in range(400)]
    assert np.std(slopes) == pytest.approx(fit.stderr, rel=0.15)
    with pytest.raises(ValueError):
        mc.fit_loglog_weighted(x, -y, se)
    with pytest.raises(ValueError):
        mc.fit_loglog_weighted(x[:2], y[:2], se[:2])


def test_kernel_trajectories_match_train_and_record_the_right_steps():
    xt = torch.tensor([[0.3, -1.0], [1.2, 0.4], [-0.7, 0.9]], dtype=torch.float64)
    yt = xt[:, 0] * xt[:, 1]
    probe = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    tr = mc.kernel_trajectories(xt, yt, probe, width=16, n_seeds=2, lr=0.2, steps=7, record_every=3, seed=4,
                                depth=2, d_in=2)
    assert list(tr.steps) == [0, 3, 6, 7] and tr.kernels.shape == (2, 4, 2, 2) and tr.loss.shape == (2, 4)
    assert np.allclose(tr.times, 0.2 * tr.steps)
    model = ntk_teach.MLP(16, seed=5, d_in=2)
    assert torch.allclose(tr.kernels[1, 0], ntk_teach.empirical_ntk(model, probe))
    res = ntk_teach.train(model, xt, yt, lr=0.2, steps=7)  # the same update rule
    assert torch.allclose(tr.kernels[1, -1], ntk_teach.empirical_ntk(model, probe), rtol=1e-10, atol=1e-12)
    assert tr.loss[1, -1] == pytest.approx(float(res.loss[-1]), rel=1e-10)
    assert np.all(tr.loss[:, -1] < tr.loss[:, 0])
    assert np.all(tr.relative_change()[:, 0] == 0) and np.all(tr.relative_change()[:, -1] > 0)
    with pytest.raises(FloatingPointError, match="lower lr"):
        mc.kernel_trajectories(xt, yt, probe, width=16, n_seeds=1, lr=1e6, steps=60, d_in=2, activation="tanh")


def test_intra_op_threads_restores_the_setting():
    old = torch.get_num_threads()
    with mc.intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old
    with pytest.raises(RuntimeError):
        with mc.intra_op_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == old
    with mc.intra_op_threads(None):
        assert torch.get_num_threads() == old
    mc.kernel_samples(X, width=4, n_seeds=1)
    assert torch.get_num_threads() == old


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="kind"):
        mc.kernel_samples(X, width=4, n_seeds=1, kind="gp")
    with pytest.raises(TypeError, match="unknown MLP keyword"):
        mc.kernel_samples(X, width=4, n_seeds=1, seed_offset=3)
    with pytest.raises(ValueError, match="n_seeds"):
        mc.deviation_vs_width(X, widths=(4, 8, 16), n_seeds=1)
    with pytest.raises(ValueError, match="at least 3"):
        mc.deviation_vs_width(X, widths=(4, 8), n_seeds=2)
    with pytest.raises(ValueError, match="width"):
        mc.kernel_samples(X, width=0, n_seeds=1)
    with pytest.raises(ValueError, match="samples must have shape"):
        mc.relative_deviation(torch.zeros(2, 3, 3), torch.eye(2))
    with pytest.raises(ValueError, match="zero matrix"):
        mc.relative_deviation(torch.zeros(2, 2, 2), torch.zeros(2, 2))
