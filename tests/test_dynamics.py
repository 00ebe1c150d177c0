"""MSE training dynamics: closed forms vs gradient descent on the linearized model, train(), Ensemble.

Loss convention (CONTRIBUTING.md): L = 1/2 sum_i (f(x_i) - y_i)^2, so gradient descent with step eta moves
the linearized model's outputs by f_{k+1} - f_k = -eta Theta (f_k - y), exactly.
"""
import math
import warnings

import numpy as np
import pytest
import torch

import ntk_teach as nt

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py


@pytest.fixture(scope="module")
def problem():
    net = nt.MLP(32, depth=2, activation="tanh", seed=0)
    x, y = nt.noisy_1d(6, fn="sin", noise=0.05, seed=1)
    x_test = torch.linspace(-3.5, 3.5, 5, dtype=F64)
    with torch.no_grad():
        f0, f0_test = net(x), net(x_test)
    K = nt.empirical_ntk(net, x)
    K_test = nt.empirical_ntk(net, x_test, x)
    return dict(net=net, x=x, y=y, x_test=x_test, f0=f0, f0_test=f0_test, K=K, K_test=K_test)


def test_mse_loss_is_half_the_sum():
    f = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=F64)
    y = torch.tensor([0.0, 2.0, 5.0], dtype=F64)
    torch.testing.assert_close(nt.mse_loss(f, y), torch.tensor([2.5, 14.5], dtype=F64))


def test_closed_form_gd_equals_gd_on_the_linearized_model(problem):
    """Both are exact in exact arithmetic. Rounding: each step adds ~c eps max|f| (c ~ P^(1/2) for the jvp's
    sums), growing at most linearly over k <= 120 stable steps (|1 - eta lambda| <= 1): < 1e-11 max|f|;
    the eigendecomposition adds ~N eps cond-free error (symmetric). We assert 1e-9 max(|y|, |f|)."""
    p = problem
    lam_max = float(torch.linalg.eigvalsh(p["K"])[-1])
    eta = 1.0 / lam_max
    lin = nt.linearize(p["net"])
    res = nt.train(lin, p["x"], p["y"], lr=eta, steps=120, record_every=20, x_test=p["x_test"])
    assert list(res.steps) == [0, 20, 40, 60, 80, 100, 120]
    train, test = nt.gradient_descent_mse(p["K"], p["y"], res.steps.tolist(), eta=eta, f0=p["f0"],
                                          K_test=p["K_test"], f0_test=p["f0_test"])
    scale = max(float(p["y"].abs().max()), float(res.outputs.abs().max()))
    torch.testing.assert_close(res.outputs, train, rtol=0, atol=1e-9 * scale)
    torch.testing.assert_close(res.test_outputs, test, rtol=0, atol=1e-9 * scale)
    # and the recorded loss is the course loss of the recorded outputs
    np.testing.assert_allclose(res.loss, nt.mse_loss(train, p["y"]).numpy(), rtol=1e-9, atol=1e-14)


def test_flow_is_the_small_step_limit_of_gd(problem):
    """(1 - eta lam)^k vs exp(-eta lam k) at fixed time T = eta k: log(1 - u) = -u - u^2/2 - ..., so the
    relative gap of each mode is ~ T lam (eta lam)/2 = O(eta): halving eta halves the error."""
    p = problem
    lam_max = float(torch.linalg.eigvalsh(p["K"])[-1])
    T = 5.0 / lam_max
    flow_tr, flow_te = nt.gradient_flow_mse(p["K"], p["y"], [T], f0=p["f0"], K_test=p["K_test"], f0_test=p["f0_test"])
    errs = []
    for n in (100, 200, 400):
        tr, te = nt.gradient_descent_mse(p["K"], p["y"], [n], eta=T / n, f0=p["f0"], K_test=p["K_test"],
                                         f0_test=p["f0_test"])
        errs.append(float(torch.cat([tr - flow_tr, te - flow_te], 1).abs().max()))
    assert errs[2] < 0.05 * float(p["y"].abs().max())
    for a, b in zip(errs, errs[1:]):
        assert 1.8 < a / b < 2.2  # first order in eta (next term O(eta^2): 2 +- O(eta lam) ~ +-0.1)
    # t = 0 gives the initial outputs, and time enters only through eta * t
    tr0, te0 = nt.gradient_flow_mse(p["K"], p["y"], 0.0, f0=p["f0"], K_test=p["K_test"], f0_test=p["f0_test"])
    torch.testing.assert_close(tr0[0], p["f0"], rtol=0, atol=1e-13)
    torch.testing.assert_close(te0[0], p["f0_test"], rtol=0, atol=1e-13)
    a, _ = nt.gradient_flow_mse(p["K"], p["y"], [2.0], eta=0.5, f0=p["f0"])
    b, _ = nt.gradient_flow_mse(p["K"], p["y"], [1.0], eta=1.0, f0=p["f0"])
    torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


def test_gd_diverges_exactly_beyond_two_over_lambda_max(problem):
    p = problem
    lam = torch.linalg.eigvalsh(p["K"])
    lam_max = float(lam[-1])
    r0 = float((p["f0"] - p["y"]).norm())
    k = 2000
    below, _ = nt.gradient_descent_mse(p["K"], p["y"], [k], eta=0.99 * 2 / lam_max, f0=p["f0"])
    above, _ = nt.gradient_descent_mse(p["K"], p["y"], [k], eta=1.01 * 2 / lam_max, f0=p["f0"])
    # below: every |1 - eta lam| < 1 -> the residual does not grow; above: the top mode grows like 1.02^k = e^40
    assert float((below[0] - p["y"]).norm()) <= r0
    assert float((above[0] - p["y"]).norm()) > 1e10 * r0
    # real gradient descent on the linearized model does the same, and train() flags the overflow
    lin = nt.linearize(p["net"])
    res = nt.train(lin, p["x"], p["y"], lr=0.99 * 2 / lam_max, steps=100, record_every=100)
    assert not res.diverged and res.loss[-1] <= res.loss[0]
    lin = nt.linearize(p["net"])
    with pytest.warns(RuntimeWarning, match="diverged"):
        res = nt.train(lin, p["x"], p["y"], lr=100 / lam_max, steps=1000, record_every=1)
    # the top mode grows by |1 - 100| = 99 per step: the loss (squared) overflows after ~308 / (2 log10 99) = 77
    # steps (plus a few while the top mode's share of the residual, >= 1e-10 here, grows to dominate)
    assert res.diverged and 60 < res.steps[-1] < 100 and np.all(np.isfinite(res.loss))


def test_kernel_regression_is_the_infinite_time_limit():
    x, y = nt.noisy_1d(8, seed=2)
    x_test = torch.linspace(-3, 3, 7, dtype=F64)
    K, K_test = nt.analytic_ntk(x), nt.analytic_ntk(x_test, x)
    lam_min = float(torch.linalg.eigvalsh(K)[0])
    assert lam_min > 1e-6
    t = 50.0 / lam_min  # exp(-50) ~ 2e-22: every mode has converged
    _, test = nt.gradient_flow_mse(K, y, [t], K_test=K_test)
    pred = nt.kernel_regression(K, K_test, y)
    # flow's gain (1 - e^{-lam t})/lam vs 1/lam: both computed through the same eigenbasis; the rounding of
    # 1/lam_min amplifies by cond(K) ~ lam_max/lam_min
    cond = float(torch.linalg.eigvalsh(K)[-1]) / lam_min
    torch.testing.assert_close(test[0], pred, rtol=0, atol=100 * cond * 2.2e-16 * float(y.abs().max()))
    torch.testing.assert_close(pred, K_test @ torch.linalg.solve(K, y), rtol=0, atol=1e3 * cond * 2.2e-16)
    # at the training points the interpolant fits the targets
    torch.testing.assert_close(nt.kernel_regression(K, K, y), y, rtol=0, atol=1e3 * cond * 2.2e-16)
    # ridge
    ridge = 0.3
    torch.testing.assert_close(nt.kernel_regression(K, K_test, y, ridge=ridge),
                               K_test @ torch.linalg.solve(K + ridge * torch.eye(8, dtype=F64), y), rtol=1e-12,
                               atol=1e-13)


def test_singular_kernel_modes_do_not_move():
    """A repeated training input gives a zero eigenvalue; its mode must stay put (gain -> eta t, not 1/0)."""
    x = torch.tensor([-1.0, 0.5, 0.5, 2.0], dtype=F64)
    K = nt.analytic_ntk(x)
    y = torch.tensor([0.0, 1.0, -1.0, 0.5], dtype=F64)  # inconsistent targets at the repeated input
    tr, te = nt.gradient_flow_mse(K, y, [0.0, 1.0, 1e8], K_test=nt.analytic_ntk(torch.tensor([0.3]), x))
    assert torch.isfinite(tr).all() and torch.isfinite(te).all()
    # the repeated points get the same output (the mean of their targets) in the limit
    assert float(tr[-1, 1]) == pytest.approx(float(tr[-1, 2]), abs=1e-8)
    assert float(tr[-1, 1]) == pytest.approx(0.0, abs=1e-8)
    trd, _ = nt.gradient_descent_mse(K, y, [0, 10, 1000], eta=0.5 / float(torch.linalg.eigvalsh(K)[-1]))
    assert torch.isfinite(trd).all()


def test_mode_decomposition():
    x, y = nt.noisy_1d(5, seed=3)
    K = nt.analytic_ntk(x)
    lam, Q, coords = nt.mode_decomposition(K, y)
    assert bool((lam[:-1] >= lam[1:]).all())
    torch.testing.assert_close(Q @ torch.diag(lam) @ Q.T, K, rtol=0, atol=1e-13 * float(K.abs().max()))
    torch.testing.assert_close(K @ Q[:, 0], lam[0] * Q[:, 0], rtol=0, atol=1e-12)
    torch.testing.assert_close(Q @ coords, y, rtol=0, atol=1e-13)
    # under the flow coordinate i of the residual decays like exp(-eta lam_i t)
    tr, _ = nt.gradient_flow_mse(K, y, [0.7])
    torch.testing.assert_close(Q.T @ (tr[0] - y), torch.exp(-0.7 * lam) * (Q.T @ (0 - y)), rtol=0, atol=1e-13)


def test_analytic_tanh_kernel_is_usable_in_the_dynamics_on_unit_inputs():
    x = torch.linspace(-1, 1, 20, dtype=F64)
    K = nt.analytic_ntk(x, activation="tanh")
    tr, _ = nt.gradient_flow_mse(K, torch.sin(x), [1.0, 10.0])
    assert torch.isfinite(tr).all()


def test_analytic_tanh_kernel_on_the_course_input_range_is_psd():
    """With 64 Gauss-Hermite nodes the tanh NTK on [-3, 3] (variance 9 at x = 3) erred by ~1e-2 and had
    eigenvalues ~ -1e-6 * max; the default adaptive trapezoid rule is accurate to ~1e-11, so the kernel is
    PSD up to that and gradient_flow_mse accepts it."""
    x = torch.linspace(-3, 3, 30, dtype=F64)
    K = nt.analytic_ntk(x, activation="tanh")
    lam = torch.linalg.eigvalsh(K)
    assert float(lam.min()) > -1e-10 * float(lam.max())
    nt.gradient_flow_mse(K, torch.sin(x), [1.0])


# -------------------------------------------------------------------- train
def test_train_records_what_it_says():
    net = nt.MLP(16, depth=2, seed=4)
    x, y = nt.noisy_1d(5, seed=4)
    x_test = torch.linspace(-3, 3, 4, dtype=F64)
    theta0 = nt.parameter_vector(net).clone()
    w0 = net.weights[1].detach().clone()
    k0 = nt.empirical_ntk(net, x)
    res = nt.train(net, x, y, lr=0.05, steps=23, record_every=5, x_test=x_test, record_ntk=True,
                   record_params=("weights.1",))
    assert list(res.steps) == [0, 5, 10, 15, 20, 23]
    np.testing.assert_allclose(res.times, 0.05 * res.steps)
    R = len(res.steps)
    assert res.outputs.shape == (R, 5) and res.test_outputs.shape == (R, 4) and res.ntk.shape == (R, 5, 5)
    assert res.loss.shape == res.param_distance.shape == res.relative_param_change.shape == (R,)
    # at the end: outputs, test outputs, distance, NTK and the recorded parameter are the model's now
    with torch.no_grad():
        torch.testing.assert_close(res.outputs[-1], net(x), rtol=0, atol=0)
        torch.testing.assert_close(res.test_outputs[-1], net(x_test), rtol=0, atol=0)
    dist = float((nt.parameter_vector(net) - theta0).norm())
    assert res.param_distance[-1] == pytest.approx(dist, rel=1e-12)
    assert res.relative_param_change[-1] == pytest.approx(dist / float(theta0.norm()), rel=1e-12)
    assert res.param_distance[0] == 0.0
    torch.testing.assert_close(res.ntk[0], k0, rtol=0, atol=0)
    torch.testing.assert_close(res.ntk[-1], nt.empirical_ntk(net, x), rtol=0, atol=0)
    torch.testing.assert_close(res.params["weights.1"][0], w0, rtol=0, atol=0)
    torch.testing.assert_close(res.params["weights.1"][-1], net.weights[1].detach(), rtol=0, atol=0)
    rel = res.ntk_relative_change
    assert rel[0] == 0.0 and rel[-1] == pytest.approx(float((res.ntk[-1] - k0).norm() / k0.norm()), rel=1e-12)
    np.testing.assert_allclose(res.loss, nt.mse_loss(res.outputs, y).numpy(), rtol=1e-13)
    assert res.loss[-1] < res.loss[0] and not res.diverged


def test_train_steps_match_a_hand_written_loop():
    x, y = nt.noisy_1d(4, seed=5)
    a, b = nt.MLP(8, seed=6), nt.MLP(8, seed=6)
    nt.train(a, x, y, lr=0.1, steps=7)
    opt = torch.optim.SGD(b.parameters(), lr=0.1)
    for _ in range(7):
        opt.zero_grad()
        (0.5 * ((b(x) - y) ** 2).sum()).backward()
        opt.step()
    torch.testing.assert_close(nt.parameter_vector(a), nt.parameter_vector(b), rtol=1e-13, atol=1e-14)


def test_alpha_normalized_loss_is_a_rescaled_step():
    """Minimizing L / alpha^2 with step eta is minimizing L with step eta / alpha^2 (same iterates)."""
    x, y = nt.noisy_1d(4, seed=7)
    alpha = 4.0
    c1 = nt.centered(nt.MLP(8, seed=8), alpha)
    c2 = nt.centered(nt.MLP(8, seed=8), alpha)
    r1 = nt.train(c1, x, y, lr=0.5, steps=10, alpha=alpha)
    r2 = nt.train(c2, x, y, lr=0.5 / alpha**2, steps=10)
    torch.testing.assert_close(r1.outputs, r2.outputs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r1.loss, r2.loss / alpha**2, rtol=1e-12)


def test_ensemble_members_are_the_seeded_mlps_and_train_independently():
    kw = dict(depth=2, activation="tanh", b_std=0.2)
    ens = nt.Ensemble(5, 12, seed=30, **kw)
    x, y = nt.noisy_1d(6, seed=9)
    with torch.no_grad():
        out = ens(x)
    assert out.shape == (5, 6)
    for e in range(5):
        torch.testing.assert_close(out[e], nt.MLP(12, seed=30 + e, **kw)(x).detach(), rtol=1e-13, atol=1e-14)
        for p, q in zip(ens.member(e).parameters(), nt.MLP(12, seed=30 + e, **kw).parameters()):
            assert torch.equal(p, q)
    res = nt.train(ens, x, y, lr=0.05, steps=15, record_every=5)
    assert res.outputs.shape == (4, 5, 6) and res.loss.shape == (4, 5) and res.param_distance.shape == (4, 5)
    for e in (0, 3):
        single = nt.MLP(12, seed=30 + e, **kw)
        r = nt.train(single, x, y, lr=0.05, steps=15, record_every=5)
        np.testing.assert_allclose(res.loss[:, e], r.loss, rtol=1e-11)
        np.testing.assert_allclose(res.param_distance[:, e], r.param_distance, rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(nt.parameter_vector(ens.member(e)), nt.parameter_vector(single), rtol=1e-11,
                                   atol=1e-13)
