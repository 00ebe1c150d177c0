"""ntk_teach.spectral: NTK modes, kernel ellipses, frequencies, and batched centered networks."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import ntk_teach
from ntk_teach import spectral as sp


def _kernel(n=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    return A @ A.T + 0.1 * torch.eye(n, dtype=torch.float64)


def test_modes_are_descending_columns():
    K = _kernel()
    lam, Q = sp.modes(K)
    assert torch.all(lam[:-1] >= lam[1:])
    for i in range(K.shape[0]):  # COLUMN i is the eigenvector of lam[i]
        assert torch.allclose(K @ Q[:, i], lam[i] * Q[:, i], atol=1e-10)


def test_flow_and_gd_coordinates_match_matrix_functions():
    K = _kernel(5, seed=1)
    u0 = torch.linspace(-1, 1, 5, dtype=torch.float64)
    lam, Q, c = sp.mode_coordinates(K, u0, [0.0, 0.3, 2.0], eta=0.7)
    for row, t in zip(c, (0.0, 0.3, 2.0)):
        want = scipy.linalg.expm(-0.7 * t * K.numpy()) @ u0.numpy()
        assert np.allclose((Q @ row).numpy(), want, atol=1e-12)
    eta = 0.9 / float(lam[0])
    _, _, cg = sp.gd_mode_coordinates(K, u0, [7], eta=eta)
    u = u0.clone()
    for _ in range(7):
        u = u - eta * (K @ u)
    assert torch.allclose(Q @ cg[0], u, atol=1e-12)
    with pytest.raises(ValueError, match="steps"):
        sp.gd_mode_coordinates(K, u0, [1.5], eta=eta)


def test_stability_threshold_is_two_over_lambda_max():
    K = _kernel(4, seed=2)
    lam, _ = sp.modes(K)
    eta_max = sp.max_stable_lr(K)
    assert eta_max == pytest.approx(2 / float(lam[0]), rel=1e-14)
    assert float(sp.gd_factors(K, 0.999 * eta_max)[1].abs().max()) < 1
    assert float(sp.gd_factors(K, 1.001 * eta_max)[1].abs().max()) > 1
    # just above the threshold the residual grows exactly like |1 - eta lambda_1|^k once the rest has decayed
    u0 = torch.ones(4, dtype=torch.float64)
    eta = 1.02 * eta_max
    _, _, c = sp.gd_mode_coordinates(K, u0, [3000, 4000], eta=eta)
    assert float(c[1].norm() / c[0].norm()) == pytest.approx(abs(1 - eta * float(lam[0])) ** 1000, rel=1e-9)


def test_kernel_ellipse_is_the_level_set_and_the_flow_crosses_it_at_right_angles():
    K = torch.tensor([[1.7, 0.4], [0.4, 0.6]], dtype=torch.float64)
    y = np.array([0.6, -0.4])
    E = sp.kernel_ellipse(K, y, level=0.5)
    d = E["points"] - y
    assert np.allclose(np.einsum("pi,ij,pj->p", d, K.numpy(), d), 0.5, rtol=1e-12)
    assert np.allclose(E["axes"] @ E["axes"].T, 0.5 * np.linalg.inv(K.numpy()), rtol=1e-12)   # columns = semi-axes
    assert E["lengths"][0] < E["lengths"][1]  # the large eigenvalue is the SHORT axis
    E1 = sp.kernel_ellipse(K, y, level=0.5, power=1.0)
    d1 = E1["points"] - y
    assert np.allclose(np.einsum("pi,ij,pj->p", d1, (K @ K).numpy(), d1), 0.5, rtol=1e-12)
    # the gradient flow du/dt = -K u is normal to u^T K u = c, not to u^T K^2 u = c
    u = np.array([-0.6, 0.4])
    assert sp.angle_between(K.numpy() @ u, K.numpy() @ u) == 0.0
    assert sp.angle_between(K.numpy() @ u, (K @ K).numpy() @ u) > 5.0
    with pytest.raises(ValueError, match="2 x 2"):
        sp.kernel_ellipse(_kernel(3), (0, 0))
    with pytest.raises(ValueError, match="positive definite"):
        sp.kernel_ellipse(torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=torch.float64), (0, 0))


def test_angle_between_is_accurate_near_zero_and_180():
    eps = 1e-9
    a = np.array([1.0, 0.0])
    b = np.array([math.cos(eps), math.sin(eps)])
    assert sp.angle_between(a, b) == pytest.approx(math.degrees(eps), rel=1e-6)  # arccos would give ~1e-6 deg
    assert sp.angle_between(a, -b) == pytest.approx(180 - math.degrees(eps), rel=1e-12)
    assert sp.angle_between([1, 0, 0], [0, 2, 0]) == pytest.approx(90.0, rel=1e-14)
    with pytest.raises(ValueError):
        sp.angle_between([0, 0], [1, 0])


def test_sign_changes_and_the_ntk_eigenvectors_of_1d_inputs():
    x = np.linspace(-1, 1, 41)
    assert sp.sign_changes(x, np.sin(3 * np.pi * x + 0.1)) == 6
    assert sp.sign_changes(x[::-1], np.cos(np.pi * x[::-1] / 2)) == 0  # order of x does not matter
    xs, _ = ntk_teach.noisy_1d(24, x_range=(-1.5, 1.5), seed=3)
    lam, Q = sp.modes(ntk_teach.analytic_ntk(xs))
    assert [sp.sign_changes(xs, Q[:, i]) for i in range(8)] == list(range(8))


def test_component_coefficients_and_learning_times():
    A = np.stack([np.ones(5), np.arange(5.0)], 1)
    r = np.stack([2 * A[:, 0] - 3 * A[:, 1], A[:, 1]])
    assert np.allclose(sp.component_coefficients(A, r), [[2, -3], [0, 1]], atol=1e-12)
    K = torch.diag(torch.tensor([2.0, 1.0], dtype=torch.float64))
    v = torch.tensor([1.0, 0.0], dtype=torch.float64)
    assert np.allclose(sp.remaining_fraction(K, v, [0.0, 1.0], eta=0.5), [1.0, math.exp(-1.0)], rtol=1e-14)
    assert sp.time_to_fraction(K, v, 0.1) == pytest.approx(math.log(10) / 2, rel=1e-10)
    Ks = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))
    assert sp.time_to_fraction(Ks, torch.tensor([0.0, 1.0], dtype=torch.float64), 0.5) == math.inf


def test_single_thread_restores_the_setting():
    old = torch.get_num_threads()
    with sp.single_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == old


def test_batched_members_equal_separate_training():
    x, y = ntk_teach.two_point_data()
    xt = torch.linspace(-2, 2, 9, dtype=torch.float64)
    seeds, alphas = (3, 3, 5), (0.5, 10.0, 1.0)
    run = sp.train_centered_members(16, x, y, seeds=seeds, alphas=alphas, steps=6, lr=0.4, record_every=2, x_test=xt)
    assert run.outputs.shape == (4, 3, 2) and run.test_outputs.shape == (4, 3, 9) and run.ntk.shape == (4, 3, 2, 2)
    assert np.all(run.outputs[0] == 0)  # centered: every member starts at 0
    for e, (s, a) in enumerate(zip(seeds, alphas)):
        m = ntk_teach.centered(ntk_teach.MLP(16, seed=s), a)
        r = ntk_teach.train(m, x, y, lr=0.4, steps=6, record_every=2, x_test=xt, record_ntk=True, alpha=a)
        assert np.allclose(r.outputs.numpy(), run.outputs[:, e], atol=1e-13)
        assert np.allclose(r.test_outputs.numpy(), run.test_outputs[:, e], atol=1e-13)
        assert np.allclose(r.ntk.numpy() / a**2, run.ntk[:, e], atol=1e-13)  # the kernel of f, not of alpha f
    assert np.allclose(run.ntk[0, 0], run.ntk[0, 1])  # same seed -> same initial kernel
    ends = sp.train_centered_members(16, x, y, seeds=[0], alphas=[1.0], steps=6, lr=0.4, record_ntk=(0, 3))
    assert list(ends.ntk_steps) == [0, 3] and 3 in ends.steps
    assert ends.ntk_relative_change().shape == (1,)


def test_members_divergence_and_bad_input():
    x, y = ntk_teach.two_point_data()
    # (a ReLU net with a huge step mostly kills its units and stops; tanh overshoots until it overflows)
    run = sp.train_centered_members(8, x, y, seeds=[0, 1], alphas=[1.0, 1.0], steps=400, lr=5.0, record_every=50,
                                    record_ntk=False, activation="tanh")
    assert run.diverged.all() and run.ntk is None
    with pytest.raises(ValueError, match="same, nonzero length"):
        sp.train_centered_members(8, x, y, seeds=[0, 1], alphas=[1.0], steps=1, lr=0.1)
    with pytest.raises(ValueError, match="record_ntk"):
        sp.train_centered_members(8, x, y, seeds=[0], alphas=[1.0], steps=1, lr=0.1, record_ntk="all")
    with pytest.raises(ValueError, match="alphas"):
        sp.train_centered_members(8, x, y, seeds=[0], alphas=[0.0], steps=1, lr=0.1)
    with pytest.raises(ValueError, match="one target per input"):
        sp.train_centered_members(8, x, y[:1], seeds=[0], alphas=[1.0], steps=1, lr=0.1)
