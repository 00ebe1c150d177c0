"""Tests of ntk_teach.pinn: the Poisson problem, u'' by three routes, the PINN NTK (torch.func, closed form,
finite differences), the gradient-flow identity, training (two paths), the trace weights and the
linearized dynamics. float64 throughout; tolerances are stated next to each check."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from ntk_teach import MLP, pinn


def net(width=12, depth=1, seed=0, activation="tanh", w_std=1.0, b_std=1.0):
    return MLP(width, depth=depth, activation=activation, w_std=w_std, b_std=b_std, seed=seed)


class Pointwise(nn.Module):
    """Not an MLP: exercises the generic torch.func path (jvp twice, vmap(grad))."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.w = nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64))
        self.c = nn.Parameter(torch.randn(5, generator=g, dtype=torch.float64))

    def forward(self, x):
        return (torch.sin(x[:, None] * self.w) * self.c).sum(1)

    def exact_uxx(self, x):
        return (-(self.w**2) * torch.sin(x[:, None] * self.w) * self.c).sum(1)


# ---------------------------------------------------------------------------------- the problem
def test_poisson_problem_targets_and_standardization():
    p = pinn.poisson_1d(a=3, n_residual=50)
    assert p.x_b.tolist() == [0.0, 1.0] and p.n_r == 50 and p.x_r.dtype == torch.float64
    assert torch.allclose(p.g, torch.zeros(2, dtype=torch.float64), atol=1e-14)     # integer a: g = 0
    x = torch.linspace(0.05, 0.95, 7, dtype=torch.float64)
    h = 1e-3                                                                        # f is the 2nd derivative of u*
    fd = (p.exact(x + h) - 2 * p.exact(x) + p.exact(x - h)) / h**2
    assert torch.allclose(fd, p.forcing(x), rtol=1e-5, atol=1e-5 * (3 * math.pi) ** 2)
    assert p.x_shift == pytest.approx(0.5) and p.x_scale == pytest.approx(math.sqrt((50**2 - 1) / 12) / 49)
    raw = pinn.poisson_1d(a=3, n_residual=50, standardize=False)
    assert raw.x_shift == 0.0 and raw.x_scale == 1.0
    # sum_j sin^2(a pi x_j) = (N - 1)/2 exactly on the equispaced grid: L_r(0) ~ (a pi)^4 (N - 1)/4
    assert 0.5 * float(p.f @ p.f) == pytest.approx((3 * math.pi) ** 4 * 49 / 4, rel=1e-12)


@pytest.mark.parametrize("kwargs, err", [({"a": 0}, ValueError), ({"a": float("nan")}, ValueError),
                                         ({"n_residual": 1}, ValueError), ({"n_residual": 2.5}, TypeError)])
def test_poisson_bad_input(kwargs, err):
    with pytest.raises(err):
        pinn.poisson_1d(**kwargs)


# ---------------------------------------------------------------------------------- u''
@pytest.mark.parametrize("depth, activation", [(1, "tanh"), (2, "tanh"), (2, "erf")])
def test_second_derivative_jet_equals_jvp_and_hessian(depth, activation):
    m = net(9, depth=depth, activation=activation, w_std=1.3, b_std=0.4, seed=2)
    x = torch.linspace(-2, 2, 17, dtype=torch.float64)
    jet = pinn.second_derivative(m, x)
    params = {k: v.detach() for k, v in m.named_parameters()}
    via_jvp = pinn._uxx_jvp(m, params, x)
    via_hessian = pinn.second_derivative_hessian(m, x)
    jet = jet.detach()
    scale = float(jet.abs().max())
    assert torch.allclose(jet, via_jvp, rtol=0, atol=1e-12 * scale)       # exact derivatives: rounding only
    assert torch.allclose(jet, via_hessian, rtol=0, atol=1e-12 * scale)


def test_second_derivative_of_a_generic_pointwise_model():
    m = Pointwise()
    x = torch.linspace(-1, 1, 11, dtype=torch.float64)
    assert torch.allclose(pinn.second_derivative(m, x), m.exact_uxx(x), rtol=1e-12, atol=1e-12)


def test_pinn_uxx_includes_the_standardization():
    p = pinn.poisson_1d(a=1)
    m = net(8)
    x = torch.linspace(0.1, 0.9, 9, dtype=torch.float64)
    h = 1e-3
    with torch.no_grad():
        fd = (pinn.pinn_u(m, p, x + h) - 2 * pinn.pinn_u(m, p, x) + pinn.pinn_u(m, p, x - h)) / h**2
    exact = pinn.pinn_uxx(m, p, x).detach()
    # truncation h^2 u''''/12 with |u''''| ~ |u''| / sigma^2 ~ 12 |u''|: relative ~ 1e-5
    assert torch.allclose(fd, exact, rtol=1e-4, atol=1e-4 * float(exact.abs().max()))


# ---------------------------------------------------------------------------------- the kernel
def test_ntk_torch_func_equals_closed_form_and_is_a_gram_matrix():
    p = pinn.poisson_1d(a=2, n_residual=30)
    m = net(15, seed=4)
    K = pinn.pinn_ntk(m, p)
    Kc = pinn.pinn_ntk(m, p, method="closed_form")
    assert torch.allclose(K.full, Kc.full, rtol=1e-12, atol=1e-12 * float(K.full.abs().max()))
    J_u, J_r = pinn.pinn_jacobians(m, p)
    assert J_u.shape == (2, m.num_params) and J_r.shape == (30, m.num_params)
    assert torch.allclose(K.K_ur, J_u @ J_r.T) and torch.allclose(K.full[:2, 2:], K.K_ur)
    assert torch.allclose(K.full, K.full.T, rtol=0, atol=1e-12 * float(K.full.abs().max()))
    assert float(torch.linalg.eigvalsh(K.full).min()) > -1e-9 * float(K.full.abs().max())
    ev = K.eigenvalues()
    assert np.all(np.diff(ev["K"]) <= 1e-9 * ev["K"][0]) and ev["K_uu"].shape == (2,)


def test_ntk_matches_finite_differences_with_h4_truncation():
    # the configuration of notebook 07: there the stencil's truncation error dominates the comparison
    p = pinn.poisson_1d(a=1)
    m = net(10, seed=0)
    K = pinn.pinn_ntk(m, p)
    err = {}
    for h in (0.01, 0.03):
        Kf = pinn.pinn_ntk_finite_differences(m, p, h_x=h)
        err[h] = float((Kf.full - K.full).abs().max() / K.full.abs().max())
    assert err[0.01] < 1e-5                      # 5-point stencil: h^4 u^(6)/90 ~ 1e-6 relative here
    assert 27 < err[0.03] / err[0.01] < 243      # truncation-dominated: tripling h multiplies it by ~3^4


def test_generic_model_ntk_matches_finite_differences():
    p = pinn.poisson_1d(a=1, n_residual=12, standardize=False)
    m = Pointwise()
    K = pinn.pinn_ntk(m, p)
    Kf = pinn.pinn_ntk_finite_differences(m, p)
    assert float((Kf.full - K.full).abs().max() / K.full.abs().max()) < 1e-5


def test_kernel_does_not_depend_on_the_targets():
    m = net(10)
    assert torch.equal(pinn.pinn_ntk(m, pinn.poisson_1d(a=1)).full, pinn.pinn_ntk(m, pinn.poisson_1d(a=7)).full)


def test_one_gradient_step_moves_the_errors_by_minus_eta_K_e():
    p = pinn.poisson_1d(a=2, n_residual=40)
    m = net(30, seed=5)
    K = pinn.pinn_ntk(m, p)
    e0 = torch.cat(pinn.pinn_residuals(m, p)).detach()
    eta = 1e-8                                    # eta * lambda_max ~ 1e-4: second-order terms ~1e-4 relative
    r = pinn.train_pinn(m, p, steps=1, lr=eta, record_every=1, record_ntk=False)
    e1 = torch.cat(pinn.pinn_residuals(m, p)).detach()
    predicted = -eta * K.full @ e0
    assert float(((e1 - e0) - predicted).norm() / predicted.norm()) < 1e-3
    assert r.loss_r[0] == pytest.approx(0.5 * float(e0[2:] @ e0[2:]), rel=1e-12)


# ---------------------------------------------------------------------------------- loss and training
def test_loss_terms_and_weights():
    p = pinn.poisson_1d(a=2, n_residual=25)
    m = net(7)
    e_b, e_r = pinn.pinn_residuals(m, p)
    L, L_b, L_r = pinn.pinn_loss(m, p, lambda_b=3.0, lambda_r=0.5)
    assert float(L_b.detach()) == pytest.approx(0.5 * float((e_b.detach() ** 2).sum()), rel=1e-14)
    assert float(L_r.detach()) == pytest.approx(0.5 * float((e_r.detach() ** 2).sum()), rel=1e-14)
    assert float(L.detach()) == pytest.approx(3.0 * float(L_b.detach()) + 0.5 * float(L_r.detach()), rel=1e-14)
    # the closed-form gradient step equals autograd's
    grads = torch.autograd.grad(L, list(m.parameters()))
    g_auto = torch.cat([g.reshape(-1) for g in grads])
    eng = pinn._ShallowTanh(m, p)
    theta0 = eng.flat()
    eng.step(p, 3.0, 0.5, 1.0)
    assert torch.allclose(theta0 - eng.flat(), g_auto, rtol=1e-12, atol=1e-12 * float(g_auto.abs().max()))


@pytest.mark.parametrize("weighting", ["none", "ntk"])
def test_training_closed_form_and_autograd_paths_agree(weighting):
    p = pinn.poisson_1d(a=2, n_residual=30)
    m1, m2 = net(9, seed=3), net(9, seed=3)
    kw = dict(steps=60, lr=1e-5, weighting=weighting, update_every=25, record_every=20)
    r1 = pinn.train_pinn(m1, p, method="closed_form", **kw)
    r2 = pinn.train_pinn(m2, p, method="autograd", **kw)
    assert r1.steps.tolist() == [0, 20, 40, 60]
    for a, b in ((r1.loss_b, r2.loss_b), (r1.loss_r, r2.loss_r), (r1.lambda_b, r2.lambda_b),
                 (r1.relative_param_change, r2.relative_param_change), (r1.rel_l2_error, r2.rel_l2_error)):
        assert np.allclose(a, b, rtol=1e-9, atol=1e-12)
    assert np.allclose(r1.ntk_relative_change, r2.ntk_relative_change, rtol=1e-8, atol=1e-12)
    for p1, p2 in zip(m1.parameters(), m2.parameters()):      # the closed form writes back into the model
        assert torch.allclose(p1, p2, rtol=1e-10, atol=1e-12)
    assert r1.relative_param_change[0] == 0 and r1.ntk_relative_change[0] == 0
    if weighting == "ntk":
        lb, lr = pinn.ntk_trace_weights(r1.kernels[0])
        assert r1.lambda_b[0] == pytest.approx(lb) and r1.lambda_r[0] == pytest.approx(lr)
    else:
        assert np.all(r1.lambda_b == 1.0)


def test_training_record_at_and_divergence():
    p = pinn.poisson_1d(a=1, n_residual=20)
    r = pinn.train_pinn(net(8), p, steps=30, lr=1e-6, record_at=[1, 2, 5], record_ntk=False)
    assert r.steps.tolist() == [0, 1, 2, 5, 30] and r.u_test.shape == (5, 201)
    assert np.allclose(r.times, 1e-6 * r.steps)
    with pytest.warns(RuntimeWarning, match="diverged"):
        bad = pinn.train_pinn(net(8), p, steps=200, lr=1e4, record_every=10, record_ntk=False)
    assert bad.diverged and bad.steps[-1] < 200


def test_ntk_weights_fix_the_boundary_of_a_real_training_run():
    """The claim of notebook 07 section 5 in small: same net, same steps, the weights win by > 10x."""
    p = pinn.poisson_1d(a=2)
    runs = {w: pinn.train_pinn(net(50, seed=0), p, steps=300, lr=2e-5, weighting=w, update_every=100,
                               record_every=300, record_ntk=False) for w in ("none", "ntk")}
    assert runs["ntk"].rel_l2_error[-1] * 10 < runs["none"].rel_l2_error[-1]
    assert runs["ntk"].loss_b[-1] < 1e-3 * runs["ntk"].loss_b[0]


@pytest.mark.parametrize("call, err", [
    (lambda m, p: pinn.train_pinn(m, p, steps=5, lr=1e-5, weighting="mean"), ValueError),
    (lambda m, p: pinn.train_pinn(m, p, steps=5, lr=0.0), ValueError),
    (lambda m, p: pinn.train_pinn(net(4, depth=2), p, steps=5, lr=1e-5, method="closed_form"), ValueError),
    (lambda m, p: pinn.train_pinn(m, "poisson", steps=5, lr=1e-5), TypeError),
    (lambda m, p: pinn.pinn_ntk(MLP(4, d_in=2), p), ValueError),
    (lambda m, p: pinn.pinn_ntk(m, p, method="fast"), ValueError),
    (lambda m, p: pinn.pinn_loss(m, p, lambda_b=-1.0), ValueError),
    (lambda m, p: pinn.trace_weights(0.0, 1.0), ValueError),
])
def test_bad_input_raises(call, err):
    with pytest.raises(err):
        call(net(4), pinn.poisson_1d(a=1, n_residual=10))


# ---------------------------------------------------------------------------------- weights and dynamics
def test_trace_weights_balance_and_are_invariant_to_repeating_boundary_points():
    p = pinn.poisson_1d(a=1, n_residual=40)
    m = net(20, seed=2)
    K = pinn.pinn_ntk(m, p)
    lb, lr = pinn.ntk_trace_weights(K)
    tu, tr = K.traces()
    assert lb * tu == pytest.approx(lr * tr, rel=1e-12) == pytest.approx(tu + tr, rel=1e-12)
    # the paper's code repeats each boundary point: D copies -> weight per original point D * lambda_b^D,
    # and (D * lambda_b^D) / lambda_r^D = lambda_b / lambda_r = Tr K_rr / Tr K_uu: the same balance
    D = 50
    rep = pinn.Poisson1D(p.a, p.x_b.repeat_interleave(D), p.g.repeat_interleave(D), p.x_r, p.f, p.x_shift, p.x_scale)
    KD = pinn.pinn_ntk(m, rep)
    lbD, lrD = pinn.ntk_trace_weights(KD)
    assert D * lbD / lrD == pytest.approx(lb / lr, rel=1e-10) == pytest.approx(tr / tu, rel=1e-10)


def test_linearized_dynamics_equal_the_matrix_exponential():
    p = pinn.poisson_1d(a=2, n_residual=15)
    m = net(12, seed=1)
    K = pinn.pinn_ntk(m, p)
    x_test = torch.linspace(0, 1, 9, dtype=torch.float64)
    Kt = pinn.pinn_test_kernel(m, p, x_test)
    Kt_cf = pinn.pinn_test_kernel(m, p, x_test, method="closed_form")
    assert torch.allclose(Kt, Kt_cf, rtol=1e-12, atol=1e-12 * float(Kt.abs().max()))
    e_b, e_r = (v.detach() for v in pinn.pinn_residuals(m, p))
    with torch.no_grad():
        u0 = pinn.pinn_u(m, p, x_test)
    lam = (40.0, 0.7)
    times = np.array([0.0, 1e-4, 3e-3, 0.2])
    out = pinn.pinn_gradient_flow(K, e_b, e_r, times, lambda_b=lam[0], lambda_r=lam[1], K_test=Kt, u_test0=u0)
    n, M = K.full.shape[0], x_test.shape[0]
    Lam = np.diag([lam[0]] * 2 + [lam[1]] * (n - 2))
    KL = K.full.numpy() @ Lam
    # augmented linear system: d/dt [e; u] = [[-K Lam, 0], [-K_test Lam, 0]] [e; u]
    A = np.zeros((n + M, n + M))
    A[:n, :n] = -KL
    A[n:, :n] = -Kt.numpy() @ Lam
    z0 = np.concatenate([e_b.numpy(), e_r.numpy(), u0.numpy()])
    for k, t in enumerate(times):
        z = scipy.linalg.expm(A * t) @ z0
        scale = np.abs(z0).max()
        assert np.allclose(np.concatenate([out["e_b"][k], out["e_r"][k]]), z[:n], rtol=1e-8, atol=1e-9 * scale)
        assert np.allclose(out["u_test"][k], z[n:], rtol=1e-8, atol=1e-9 * scale)
    assert out["loss_b"][0] == pytest.approx(0.5 * float(e_b @ e_b))
    lin = pinn.LinearizedPINN(K, lambda_b=lam[0], lambda_r=lam[1])
    ev = np.sort(np.linalg.eigvals(KL).real)
    assert np.allclose(np.sort(lin.rates.numpy()), ev, rtol=1e-7, atol=1e-9 * ev.max())
    with pytest.raises(ValueError):
        lin.solve(e_b, e_r, [-1.0])
    with pytest.raises(ValueError):
        lin.solve(e_b, e_r[:-1], [1.0])


def test_relative_l2_error_of_the_exact_solution_is_zero():
    class Exact(nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, xt):       # the network sees x~ = (x - 0.5)/sigma
            p = pinn.poisson_1d(a=3)
            return torch.sin(3 * math.pi * (xt * p.x_scale + p.x_shift)) + 0 * self.dummy

    assert pinn.relative_l2_error(Exact(), pinn.poisson_1d(a=3)) < 1e-14
