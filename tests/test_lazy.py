"""Lazy training: linearize, Jacobian/Hessian norms (HVP + Lanczos vs full Hessians), kappa and its width slopes."""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from torch.func import functional_call

import ntk_teach as nt
from ntk_teach.lazy import _flat_setup

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py


def _x(n, d, seed):
    return torch.randn(n, d, dtype=F64, generator=torch.Generator().manual_seed(seed))


def full_hessians(net, x):
    """The P x P Hessian of f(x_i) for every input, by torch.autograd.functional.hessian."""
    flat0, unflatten = _flat_setup(net)
    return torch.stack([
        torch.autograd.functional.hessian(lambda fl: functional_call(net, unflatten(fl), (x[i:i + 1],)).sum(), flat0)
        for i in range(x.shape[0])])


# -------------------------------------------------------------- linearize
def test_linearize_is_the_first_order_taylor_expansion():
    net = nt.MLP(12, depth=2, d_in=2, activation="tanh", seed=0)
    x = _x(5, 2, 1)
    lin = nt.linearize(net)
    assert isinstance(lin, nt.Linearized)
    torch.testing.assert_close(lin(x), net(x), rtol=1e-14, atol=1e-14)  # equal at theta_0
    theta0 = nt.parameter_vector(net)
    J = nt.jacobian(net, x)
    delta = 1e-2 * torch.randn(theta0.numel(), dtype=F64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        off = 0
        for p in lin.parameters():
            p.add_(delta[off:off + p.numel()].view_as(p))
            off += p.numel()
    # f_lin(theta_0 + delta) = f(theta_0) + J delta exactly (one jvp), whatever delta is
    torch.testing.assert_close(lin(x), net(x) + J @ delta, rtol=1e-13, atol=1e-14)
    # the original network is untouched, and the Taylor remainder of the real net is O(|delta|^2):
    # halving delta divides it by 4 (up to O(|delta|^3)/O(|delta|^2) = O(|delta|) ~ 1e-2 relative)
    torch.testing.assert_close(nt.parameter_vector(net), theta0, rtol=0, atol=0)

    def remainder(d):
        moved = nt.MLP(12, depth=2, d_in=2, activation="tanh", seed=0)
        with torch.no_grad():
            off = 0
            for p in moved.parameters():
                p.add_(d[off:off + p.numel()].view_as(p))
                off += p.numel()
            return float((moved(x) - net(x) - J @ d).norm())

    ratio = remainder(delta) / remainder(delta / 2)
    assert abs(ratio - 4) < 0.2


def test_linearized_trains_like_a_model_and_copies_the_net():
    net = nt.MLP(10, seed=3)
    x = torch.linspace(-1, 1, 4, dtype=F64)
    lin = nt.linearize(net)
    names = [k for k, _ in lin.named_parameters()]
    assert len(names) == len(list(net.parameters()))
    before = nt.parameter_vector(net).clone()
    res = nt.train(lin, x, torch.cos(x), lr=0.1, steps=20)
    assert res.loss[-1] < res.loss[0]
    torch.testing.assert_close(nt.parameter_vector(net), before, rtol=0, atol=0)


# -------------------------------------------------------------- norms
def test_jacobian_norm_is_gradient_norm_and_top_singular_value():
    net = nt.MLP(16, depth=2, d_in=3, activation="erf", seed=4)
    x = _x(6, 3, 5)
    g = nt.jacobian(net, x[:1])[0]
    assert nt.jacobian_norm(net, x[:1]) == pytest.approx(float(g.norm()), rel=1e-13)
    J = nt.jacobian(net, x)
    assert nt.jacobian_norm(net, x) == pytest.approx(float(torch.linalg.matrix_norm(J, ord=2)), rel=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "erf"])
@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_hessian_norm_one_input_equals_full_hessian(activation, parameterization):
    """Lanczos stops when the Ritz residual is < tol * |theta| (tol = 1e-10); the eigenvalue is then within
    tol * |theta| of an eigenvalue, so rtol 1e-8 is safe; the full Hessian's eigvalsh is exact to ~P eps."""
    net = nt.MLP(6, depth=2, d_in=2, activation=activation, parameterization=parameterization, seed=6)
    x = _x(1, 2, 7)
    H = full_hessians(net, x)[0]
    assert torch.allclose(H, H.T, atol=1e-12)
    expect = float(torch.linalg.eigvalsh(H).abs().max())
    assert nt.hessian_norm(net, x) == pytest.approx(expect, rel=1e-8)
    # also on a net with P > Lanczos' default subspace and a wider spectrum
    net = nt.MLP(20, depth=1, d_in=1, activation=activation, parameterization=parameterization, seed=8)
    x = torch.tensor([0.8], dtype=F64)
    expect = float(torch.linalg.eigvalsh(full_hessians(net, x[:, None])[0]).abs().max())
    assert nt.hessian_norm(net, x) == pytest.approx(expect, rel=1e-8)


def _brute_force_batch_norm(H):
    """sup_{|v|=1} ||(v^T H_i v)_i|| = sup_{|a|=1} sup_{|v|=1} |v^T (sum_i a_i H_i) v| = sup_{|a|=1} |eig|_max(H_a):
    a grid over the unit sphere of output directions, then Nelder-Mead from the 3 best grid points."""
    N = H.shape[0]

    def value(a):
        a = torch.as_tensor(a, dtype=F64)
        return float(torch.linalg.eigvalsh(torch.einsum("i,ipq->pq", a / a.norm(), H)).abs().max())

    if N == 2:
        t = torch.linspace(0, math.pi, 721, dtype=F64)
        A = torch.stack([torch.cos(t), torch.sin(t)], 1)
    else:
        th, ph = torch.meshgrid(torch.linspace(0, math.pi, 30, dtype=F64),
                                torch.linspace(0, 2 * math.pi, 60, dtype=F64), indexing="ij")
        A = torch.stack([th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()], -1).reshape(-1, 3)
    vals = torch.linalg.eigvalsh(torch.einsum("ki,ipq->kpq", A, H)).abs().amax(-1)
    best = float(vals.max())
    for k in torch.argsort(vals, descending=True)[:3]:
        r = minimize(lambda a: -value(a), A[k].numpy(), method="Nelder-Mead",
                     options=dict(xatol=1e-10, fatol=1e-15, maxiter=1500))
        best = max(best, -r.fun)
    return best


@pytest.mark.parametrize("activation", ["tanh", "relu", "erf"])
@pytest.mark.parametrize("N", [2, 3])
def test_hessian_norm_batch_equals_brute_force(activation, N):
    """The batch norm of the hessian_norm docstring, against full Hessians and a brute-force maximization.
    hessian_norm's alternating ascent returns a value it attains (<= the sup) and stops when a round gains
    < 1e-9 relative; with a linear rate r the remaining gap is <= 1e-9 r/(1-r), < 1e-6 for r < 0.999."""
    for seed in range(4 - N):
        net = nt.MLP(5, depth=2, d_in=2, activation=activation, seed=seed)
        x = _x(N, 2, 10 + seed)
        sup = _brute_force_batch_norm(full_hessians(net, x))
        h = nt.hessian_norm(net, x)
        assert sup * (1 - 1e-6) <= h <= sup * (1 + 1e-9), (h, sup)


def test_hessian_norm_of_linear_model_is_zero_and_works_under_no_grad():
    net = nt.MLP(8, seed=1)
    x = torch.linspace(-1, 1, 3, dtype=F64)
    lin = nt.linearize(net)
    assert nt.hessian_norm(lin, x[:1]) == pytest.approx(0.0, abs=1e-12)
    with torch.no_grad():
        assert nt.hessian_norm(net, x[:1]) == pytest.approx(nt.hessian_norm(net, x[:1]), rel=1e-12)


def test_kappa_and_lazy_norms():
    net = nt.MLP(16, depth=2, activation="tanh", seed=2)
    x, y = torch.tensor([0.5, -1.0], dtype=F64), torch.tensor([1.0, 0.0], dtype=F64)
    d = nt.lazy_norms(net, x, y)
    assert set(d) == {"residual", "jacobian_norm", "hessian_norm", "kappa"}
    with torch.no_grad():
        assert d["residual"] == pytest.approx(float((net(x) - y).norm()), rel=1e-14)
    assert d["jacobian_norm"] == pytest.approx(nt.jacobian_norm(net, x), rel=1e-14)
    assert d["hessian_norm"] == pytest.approx(nt.hessian_norm(net, x), rel=1e-12)
    assert d["kappa"] == pytest.approx(d["residual"] * d["hessian_norm"] / d["jacobian_norm"] ** 2, rel=1e-14)
    assert nt.kappa(net, x, y) == pytest.approx(d["kappa"], rel=1e-12)
    # a centered model: alpha scales f - y... at init f = 0, residual |y|; ||Df|| ~ alpha, ||D^2 f|| ~ alpha
    c = nt.centered(nt.MLP(16, depth=2, activation="tanh", seed=2), 10.0)
    dc = nt.lazy_norms(c, x, y)
    assert dc["residual"] == pytest.approx(float(y.norm()), rel=1e-14)
    assert dc["jacobian_norm"] == pytest.approx(10 * d["jacobian_norm"], rel=1e-12)
    assert dc["hessian_norm"] == pytest.approx(10 * d["hessian_norm"], rel=1e-8)


# -------------------------------------------------------------- width slopes
# One hidden layer of tanh units, one input x = 1 (d_in = 1), target y = 2, w_std = 1, b_std = 0.1.
# The Hessian of f(x) is block diagonal: neuron i's parameters (v_i, W_i, b_i) form a block
#     c [[0, t'_i g^T], [t'_i g, v_i t''_i g g^T]],   t_i = tanh(h_i),
# with g = dh/d(W_i, b_i) and c the readout multiplier (NTK: g = (w x, b_std), c = w/sqrt(m), v ~ N(0,1);
# standard: g = (x, 1), c = 1, v ~ N(0, w^2/m)). On span(e_v, g) it is c [[0, beta], [beta, alpha]] with
# beta = t'|g|, alpha = v t''|g|^2, so ||block|| = c (|alpha|/2 + sqrt(alpha^2/4 + beta^2)); the readout
# bias has no curvature. So ||D^2 f|| = max_i of these, and ||grad f||^2 = c^2 sum t_i^2 + (readout bias)^2
# multiplier + c^2 sum v_i^2 t'_i^2 |g|^2.
X, Y, W_STD, B_STD = 1.0, 2.0, 1.0, 0.1


def _model_quantities(par, v, h, readout_bias):
    """(||grad f||, ||D^2 f||, kappa) of one-hidden-layer tanh nets from the block formulas above (numpy, batched)."""
    m = h.shape[-1]
    t = np.tanh(h)
    t1 = 1 - t * t
    t2 = -2 * t * t1
    if par == "ntk":
        g2, c, cb = (W_STD * X) ** 2 + B_STD**2, W_STD / math.sqrt(m), B_STD
    else:
        g2, c, cb = X * X + 1.0, 1.0, 1.0
    f = c * (v * t).sum(-1) + cb * readout_bias
    grad = np.sqrt(c * c * (t * t).sum(-1) + cb * cb + c * c * g2 * (v * v * t1 * t1).sum(-1))
    alpha, beta = c * v * t2 * g2, c * t1 * math.sqrt(g2)
    hess = (np.abs(alpha) / 2 + np.sqrt(alpha**2 / 4 + beta**2)).max(-1)
    return grad, hess, np.abs(f - Y) * hess / grad**2


def _net_arrays(net):
    """v, h, readout bias of an MLP(depth=1, d_in=1) in the model's conventions."""
    W, b = net.weights[0].detach()[:, 0].numpy(), net.biases[0].detach().numpy()
    v, c = net.weights[1].detach()[0].numpy(), float(net.biases[1].detach())
    h = net.w_mult[0] * W * X + net.b_mult[0] * b
    return v, h, c


@pytest.mark.parametrize("par", ["ntk", "standard"])
def test_one_hidden_layer_norms_match_the_block_formulas(par):
    for m, seed in ((5, 0), (60, 1)):
        net = nt.MLP(m, depth=1, activation="tanh", parameterization=par, w_std=W_STD, b_std=B_STD, seed=seed)
        x, y = torch.tensor([X], dtype=F64), torch.tensor([Y], dtype=F64)
        g, h, k = _model_quantities(par, *_net_arrays(net))
        d = nt.lazy_norms(net, x, y)
        assert d["jacobian_norm"] == pytest.approx(float(g), rel=1e-12)
        assert d["hessian_norm"] == pytest.approx(float(h), rel=1e-8)
        assert d["kappa"] == pytest.approx(float(k), rel=1e-8)


WIDTHS = [10, 20, 50, 100, 200, 500, 1000]


def _slope_and_se(medians, sd_logs, S):
    """Least-squares slope of log(median) on log(m), and its standard error: the sample median of S draws has
    se ~ 1.2533 sd / sqrt(S) (normal approximation), in log space sd = sd(log Q) at that width."""
    lx = np.log(WIDTHS)
    dev = lx - lx.mean()
    se_i = 1.2533 * np.asarray(sd_logs) / math.sqrt(S)
    return nt.fit_loglog(WIDTHS, medians).slope, math.sqrt(float((dev**2 * se_i**2).sum())) / float((dev**2).sum())


@pytest.mark.parametrize("par", ["standard", "ntk"])
def test_gradient_hessian_kappa_width_slopes(par):
    """Slopes over widths 10..1000 of the medians (20 seeds) of ||grad f||, ||D^2 f||, kappa.

    Theory, large m (Chizat & Bach 2019; the rajatvd/NTK blog): standard (LeCun) init 1/2, 0, -1;
    NTK parameterization 0, -1/2, -1/2. Finite-width corrections over this range, from the block
    formulas above evaluated on 2000 simulated nets per width (numpy, independent of the package):
    * standard, ||grad f||^2 = sum t_i^2 + 1 + 2 sum v_i^2 t'^2 = m E[t^2] + O(1): slope ~0.46, not 0.5;
    * standard, ||D^2 f|| -> |g| max_i t'_i, which saturates: slope ~ -0.015;
    * NTK, ||D^2 f|| = (1/sqrt m) max_i of m i.i.d. block norms ~ sqrt(2 log m)/sqrt(m) (the max of the
      |v_i|): slope -1/2 + 1/(2 log m) ~ -0.38 here (STYLE.md measured -0.39). Fitting log H against log m
      with the sqrt(log m) factor divided out (the joint fit with the known max-of-Gaussians exponent)
      gives -1/2 (-0.499 for the simulated nets).
    Assertions: (1) measured slope = simulated slope within 4 combined standard errors of the medians;
    (2) simulated slope = headline within its stated finite-width correction.
    """
    S, R = 20, 2000
    x, y = torch.tensor([X], dtype=F64), torch.tensor([Y], dtype=F64)
    meas = np.empty((len(WIDTHS), S, 3))
    for i, m in enumerate(WIDTHS):
        for s in range(S):
            net = nt.MLP(m, depth=1, activation="tanh", parameterization=par, w_std=W_STD, b_std=B_STD,
                         seed=1000 * i + s)
            with torch.no_grad():
                r = float((net(x) - y).abs())
            # tol 1e-3: Ritz value within 1e-3 |theta| of the top cluster (measured error <= 2e-4),
            # negligible next to the ~1e-2 relative se of a median of 20 draws
            g, h = nt.jacobian_norm(net, x), nt.hessian_norm(net, x, tol=1e-3)
            meas[i, s] = g, h, r * h / g**2
    rng = np.random.default_rng(0)
    sim = np.empty((len(WIDTHS), R, 3))
    for i, m in enumerate(WIDTHS):
        h = rng.standard_normal((R, m)) * math.sqrt((W_STD * X) ** 2 + B_STD**2)
        v = rng.standard_normal((R, m)) * (1.0 if par == "ntk" else W_STD / math.sqrt(m))
        c = rng.standard_normal(R) * (1.0 if par == "ntk" else B_STD)
        sim[i] = np.stack(_model_quantities(par, v, h, c), -1)
    headline = {"standard": (0.5, 0.0, -1.0), "ntk": (0.0, -0.5, -0.5)}[par]
    names = ("gradient norm", "Hessian norm", "kappa")
    slopes = {}
    for k in range(3):
        s_meas, se_meas = _slope_and_se(np.median(meas[:, :, k], 1), np.log(meas[:, :, k]).std(1, ddof=1), S)
        s_sim, se_sim = _slope_and_se(np.median(sim[:, :, k], 1), np.log(sim[:, :, k]).std(1, ddof=1), R)
        tol = 4 * math.hypot(se_meas, se_sim)
        assert abs(s_meas - s_sim) < tol, f"{par} {names[k]}: measured {s_meas:.3f}, simulated {s_sim:.3f} +- {tol:.3f}"
        slopes[k] = (s_meas, s_sim, tol)
    # (2) the headline exponents, with the finite-width corrections derived in the docstring
    lm = np.log(WIDTHS)
    if par == "standard":
        assert abs(slopes[0][1] - 0.5) < 0.06  # O(1)/(m E t^2) terms: 0.5 (1 - ~B/(mA)) over 10..1000
        assert abs(slopes[1][1]) < 0.03  # saturating max_i t'_i
        assert abs(slopes[2][1] - (slopes[1][1] - 2 * slopes[0][1])) < 0.03
        assert abs(slopes[2][0] + 1) < 0.15  # measured kappa: -1 up to the two corrections above + noise
    else:
        assert abs(slopes[0][1]) < 0.01  # E||grad f||^2 = Theta(x, x) at every width
        for k in (1, 2):
            corrected = nt.fit_loglog(WIDTHS, np.median(meas[:, :, k], 1) / np.sqrt(lm)).slope
            assert abs(corrected + 0.5) < slopes[k][2] + 0.02, (names[k], corrected)
            assert abs(slopes[k][1] - (-0.5 + float(np.mean(0.5 / lm)))) < 0.05
