"""ntk_teach.toy: the one-parameter toy model and the exact one-hidden-layer norms (notebook 04)."""
import math

import numpy as np
import pytest
import torch

import ntk_teach
from ntk_teach import toy

W_GRID = [-1.3, -0.2, 0.4, 0.75, 1.9, 3.0]


@pytest.mark.parametrize("w", W_GRID)
def test_analytic_derivatives_match_autograd(w):
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    f = toy.toy_f_torch(wt)
    (g,) = torch.autograd.grad(f, wt, create_graph=True)
    (h,) = torch.autograd.grad(g, wt)
    assert toy.toy_f(w) == pytest.approx(f.item(), rel=1e-14, abs=1e-14)
    assert toy.toy_df(w) == pytest.approx(g.item(), rel=1e-12, abs=1e-13)
    assert toy.toy_d2f(w) == pytest.approx(float(h), rel=1e-12, abs=1e-13)


def test_init_output_is_zero_and_centered_model_equals_scaled_model():
    assert toy.toy_f(toy.W0_TOY) == 0.0
    w = np.linspace(-1, 2, 7)
    np.testing.assert_allclose(toy.toy_model(w, 3.0), 3.0 * toy.toy_f(w), rtol=0, atol=1e-15)


def test_tangent_and_parabola():
    w0, d = toy.W0_TOY, float(toy.toy_df(toy.W0_TOY))
    w = np.linspace(-1, 2, 11)
    np.testing.assert_allclose(toy.toy_tangent(w), d * (w - w0), atol=1e-15)
    for alpha in (0.3, 1.0, 10.0):
        wl = toy.toy_linearized_minimizer(alpha)
        assert wl == pytest.approx(w0 + toy.Y_TOY / (alpha * d), rel=1e-15)
        assert toy.toy_loss_linearized(wl, alpha) == pytest.approx(0.0, abs=1e-28)
        # the parabola and the loss agree to second order at w0: same value and same slope
        assert toy.toy_loss_linearized(w0, alpha) == pytest.approx(toy.toy_loss(w0, alpha), rel=1e-15)
        eps = 1e-6
        slope = (toy.toy_loss(w0 + eps, alpha) - toy.toy_loss(w0 - eps, alpha)) / (2 * eps)
        slope_lin = (toy.toy_loss_linearized(w0 + eps, alpha) - toy.toy_loss_linearized(w0 - eps, alpha)) / (2 * eps)
        assert slope == pytest.approx(slope_lin, rel=1e-6)


@pytest.mark.parametrize("alpha", [0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0])
def test_minimizer_is_a_zero_of_the_loss(alpha):
    ws = toy.toy_minimizer(alpha)
    assert abs(toy.toy_f(ws) - toy.Y_TOY / alpha) < 1e-12 * max(1.0, 1 / alpha)
    # it is the first zero on the way from w0 (gradient flow cannot jump over a zero)
    between = np.linspace(toy.W0_TOY, ws, 2001)[:-1]
    assert np.all(toy.toy_f(between) < toy.Y_TOY / alpha)


def test_minimizer_stops_at_a_critical_point_when_the_target_is_out_of_reach():
    # at x = 0, f(w) = sin(exp(0.1 w)) (w - 0.4) has a largest value below 10 on the way right from w0:
    # gradient flow on the loss stops at that critical point of f, with a positive loss
    ws = toy.toy_minimizer(1.0, y=10.0, x=0.0)
    assert ws > toy.W0_TOY
    assert abs(toy.toy_df(ws, x=0.0)) < 1e-10
    assert toy.toy_loss(ws, 1.0, 10.0, x=0.0) > 1.0


def test_gradient_descent_reaches_the_minimizer():
    path = toy.toy_gradient_descent(1.0, lr=0.1, steps=400)
    assert path[0] == toy.W0_TOY
    assert path[-1] == pytest.approx(toy.toy_minimizer(1.0), abs=1e-10)


def test_kappa_is_exactly_one_over_alpha_and_predicts_the_minimizer_error():
    k1 = toy.toy_kappa(1.0)
    assert k1 == pytest.approx(abs(toy.Y_TOY) * abs(toy.toy_d2f(0.4)) / toy.toy_df(0.4) ** 2, rel=1e-15)
    for alpha in (10.0, 100.0, 1000.0):
        k = toy.toy_kappa(alpha)
        assert k * alpha == pytest.approx(k1, rel=1e-14)
        ws, wl = toy.toy_minimizer(alpha), toy.toy_linearized_minimizer(alpha)
        ratio = (ws - wl) / (wl - toy.W0_TOY)
        # leading order: ratio = -kappa/2; the next Taylor term is (1 - f''' f' / (3 f''^2)) kappa ~ 0.83 kappa
        assert abs(ratio / (-k / 2) - 1) < k, (alpha, ratio, k)


def test_bad_alpha_raises():
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            toy.toy_loss(0.5, bad)


# ---------------------------------------------------------------- one hidden layer
@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
@pytest.mark.parametrize("activation", ["tanh", "erf", "relu"])
def test_exact_norms_match_lanczos(parameterization, activation):
    net = ntk_teach.MLP(9, depth=1, activation=activation, parameterization=parameterization, b_std=0.3, seed=4)
    x = torch.tensor([0.8], dtype=torch.float64)
    y = torch.tensor([0.5], dtype=torch.float64)
    exact = toy.one_hidden_layer_norms(net, x, y)
    lanczos = ntk_teach.lazy_norms(net, x, y)
    for k in ("residual", "jacobian_norm", "hessian_norm", "kappa"):
        assert exact[k] == pytest.approx(lanczos[k], rel=1e-8), k


def test_block_norms_match_the_full_hessian():
    net = ntk_teach.MLP(5, depth=1, activation="tanh", b_std=0.7, seed=1)
    x = torch.tensor([1.3], dtype=torch.float64)
    names = [k for k, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    sizes = [p.numel() for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def f(v):
        params = {k: t.view(s) for k, t, s in zip(names, torch.split(v, sizes), shapes)}
        return torch.func.functional_call(net, params, (x,))[0]

    H = torch.autograd.functional.hessian(f, flat)
    full = float(torch.linalg.eigvalsh(H).abs().max())
    blocks = toy.hessian_block_norms(net, x)
    assert blocks.shape == (5,)
    assert float(blocks.max()) == pytest.approx(full, rel=1e-12)


def test_kappa_width_sweep_slopes_standard_parameterization():
    widths = [2**k for k in range(5, 12)]
    r = toy.kappa_width_sweep(widths, parameterization="standard", n_seeds=10)
    med = {k: np.median(r[k], axis=1) for k in ("jacobian_norm", "hessian_norm", "kappa")}
    assert ntk_teach.fit_loglog(widths, med["jacobian_norm"]).slope == pytest.approx(0.5, abs=0.04)
    assert ntk_teach.fit_loglog(widths, med["hessian_norm"]).slope == pytest.approx(0.0, abs=0.04)
    assert ntk_teach.fit_loglog(widths, med["kappa"]).slope == pytest.approx(-1.0, abs=0.15)


def test_kappa_width_sweep_ntk_parameterization_needs_the_log_factor():
    widths = np.array([2**k for k in range(5, 12)])
    r = toy.kappa_width_sweep(widths, parameterization="ntk", n_seeds=10)
    hn = np.median(r["hessian_norm"], axis=1)
    raw = ntk_teach.fit_loglog(widths, hn).slope
    corrected = ntk_teach.fit_loglog(widths, hn / np.sqrt(2 * np.log(widths))).slope
    assert -0.47 < raw < -0.3          # visibly shallower than -1/2 ...
    assert corrected == pytest.approx(-0.5, abs=0.04)  # ... because of the max over n blocks
    assert ntk_teach.fit_loglog(widths, np.median(r["jacobian_norm"], axis=1)).slope == pytest.approx(0, abs=0.03)


def test_one_hidden_layer_bad_input():
    with pytest.raises(ValueError, match="depth"):
        toy.one_hidden_layer_norms(ntk_teach.MLP(4, depth=2, seed=0), torch.tensor([1.0]), 0.0)
    with pytest.raises(ValueError, match="one input"):
        toy.one_hidden_layer_norms(ntk_teach.MLP(4, depth=1, seed=0), torch.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(TypeError, match="MLP"):
        toy.hessian_block_norms(torch.nn.Linear(1, 1), torch.tensor([1.0]))
    assert math.isfinite(toy.one_hidden_layer_norms(ntk_teach.MLP(4, depth=1, seed=0), [1.0], 0.0)["kappa"])
