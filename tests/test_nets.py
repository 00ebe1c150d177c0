"""ntk_teach.MLP and ntk_teach.centered: shapes, parameter count, initialization, seeds.

Everything in float64 (CONTRIBUTING.md). Statistical tolerances are derived next to each one.
"""
import math

import pytest
import torch

import ntk_teach as nt

F64 = torch.float64


def n_params_formula(width, depth, d_in):
    """depth hidden layers of width units and a scalar readout, every layer with a bias."""
    return width * (d_in + 1) + (depth - 1) * width * (width + 1) + (width + 1)


@pytest.mark.parametrize("width,depth,d_in", [(1, 1, 1), (7, 1, 3), (16, 2, 1), (5, 4, 2), (32, 3, 10)])
def test_parameter_count(width, depth, d_in):
    m = nt.MLP(width, depth=depth, d_in=d_in, seed=0)
    P = n_params_formula(width, depth, d_in)
    assert m.num_params == P
    assert sum(p.numel() for p in m.parameters()) == P
    assert len(m.weights) == len(m.biases) == depth + 1
    assert [tuple(w.shape) for w in m.weights] == [(width, d_in)] + [(width, width)] * (depth - 1) + [(1, width)]


def _manual_forward(m, x):
    """Independent forward pass from the documented formulas (module docstring of nets.py)."""
    phi = {"relu": torch.relu, "tanh": torch.tanh, "erf": torch.erf}[m.activation]
    a = x.reshape(x.shape[0], -1)
    L = len(m.weights)
    for l, (W, b) in enumerate(zip(m.weights, m.biases)):
        if m.parameterization == "ntk":
            h = m.w_std / math.sqrt(a.shape[1]) * a @ W.T + m.b_std * b
        else:
            h = a @ W.T + b
        a = phi(h) if l < L - 1 else h
    return a[:, 0]


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_forward_matches_formulas_and_shapes(activation, parameterization):
    m = nt.MLP(9, depth=2, d_in=3, activation=activation, parameterization=parameterization, w_std=1.3,
               b_std=0.4, seed=2)
    x = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
    out = m(x)
    assert out.shape == (6,) and out.dtype == F64
    torch.testing.assert_close(out, _manual_forward(m, x), rtol=1e-13, atol=1e-13)


def test_inputs_N_and_N_by_1_agree():
    m = nt.MLP(8, seed=0)
    x = torch.linspace(-2, 2, 5, dtype=F64)
    assert m(x).shape == (5,)
    torch.testing.assert_close(m(x), m(x[:, None]), rtol=0, atol=0)
    # lists and integer tensors are accepted and converted to the model dtype
    torch.testing.assert_close(m([-2.0, 0.0, 2.0]), m(torch.tensor([-2.0, 0.0, 2.0], dtype=F64)))
    torch.testing.assert_close(m(torch.tensor([1, 2])), m(torch.tensor([1.0, 2.0], dtype=F64)))


def test_single_input():
    m = nt.MLP(8, d_in=2, seed=0)
    assert m(torch.zeros(1, 2, dtype=F64)).shape == (1,)


def test_seeds_reproducible_and_independent_of_global_rng():
    torch.manual_seed(0)
    a = nt.MLP(12, seed=5)
    torch.manual_seed(123)
    torch.rand(10)
    b = nt.MLP(12, seed=5)
    c = nt.MLP(12, seed=6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.weights[1], c.weights[1])
    # seed=None gives a fresh random network
    assert not torch.equal(nt.MLP(12).weights[1], nt.MLP(12).weights[1])


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
def test_parameterizations_compute_the_same_function_at_init(activation):
    """Same seed, same N(0,1) draws: standard W = w_std/sqrt(fan_in) * (NTK W), standard b = b_std * (NTK b).

    So the two networks are the same function at initialization (only their gradients differ).
    """
    x = torch.linspace(-3, 3, 11, dtype=F64)
    a = nt.MLP(20, activation=activation, parameterization="ntk", w_std=1.5, b_std=0.3, seed=4)
    b = nt.MLP(20, activation=activation, parameterization="standard", w_std=1.5, b_std=0.3, seed=4)
    torch.testing.assert_close(a(x), b(x), rtol=1e-12, atol=1e-13)


def _check_normal(sample, std, name):
    """Mean and standard deviation of ``n`` i.i.d. N(0, std^2) draws.

    CLT: the sample mean has standard error std/sqrt(n); the sample standard deviation has
    relative standard error 1/sqrt(2(n-1)) (chi distribution). Five standard errors: a false
    alarm has probability < 1e-6 per check, while a wrong scale (e.g. a missing 1/sqrt(fan_in),
    a factor >= 1.4 here) is off by >= 0.4 * sqrt(2n) >> 5 standard errors for n >= 1000.
    """
    s = sample.reshape(-1)
    n = s.numel()
    assert abs(float(s.mean())) < 5 * std / math.sqrt(n), name
    rel = float(s.std()) / std - 1.0
    assert abs(rel) < 5 / math.sqrt(2 * (n - 1)), f"{name}: relative std error {rel:.3g} (n = {n})"


def test_init_distributions_standard_parameterization():
    w_std, b_std, width, d_in = 1.7, 0.3, 400, 4
    m = nt.MLP(width, depth=2, d_in=d_in, parameterization="standard", w_std=w_std, b_std=b_std, seed=11)
    fan_in = [d_in, width, width]
    for l in range(3):
        assert m.w_mult[l] == 1.0 and m.b_mult[l] == 1.0
    # layer 0 has only 1600 weights, the readout 400: pool each layer's weights rescaled to unit variance
    for l in range(3):
        _check_normal(m.weights[l].detach(), w_std / math.sqrt(fan_in[l]), f"weights.{l}")
    _check_normal(torch.cat([b.detach() for b in m.biases]), b_std, "biases")


def test_init_distributions_ntk_parameterization():
    w_std, b_std, width, d_in = 1.7, 0.3, 400, 4
    m = nt.MLP(width, depth=2, d_in=d_in, parameterization="ntk", w_std=w_std, b_std=b_std, seed=11)
    _check_normal(torch.cat([p.detach().reshape(-1) for p in m.parameters()]), 1.0, "all parameters")
    for l, n_in in enumerate([d_in, width, width]):
        assert m.w_mult[l] == pytest.approx(w_std / math.sqrt(n_in), rel=1e-15)
        assert m.b_mult[l] == b_std


def test_preactivation_variance_matches_sigma1():
    """First-layer pre-activations h = w_std/sqrt(d) W x + b_std b ~ N(0, w_std^2 |x|^2/d + b_std^2) per unit.

    Over m = 20000 units the sample variance has relative standard error sqrt(2/m) = 1%; 5 of those.
    """
    m = nt.MLP(20000, depth=1, d_in=3, w_std=1.4, b_std=0.5, seed=3)
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=F64)
    pre, _ = m.layer_forward(x)
    var = float((pre[0].detach() ** 2).mean())
    expect = 1.4**2 * float((x**2).sum()) / 3 + 0.5**2
    assert abs(var / expect - 1) < 5 * math.sqrt(2 / 20000)


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_zero_bias_std_keeps_trainable_zero_biases(parameterization):
    m = nt.MLP(10, depth=2, parameterization=parameterization, b_std=0.0, seed=0)
    x = torch.linspace(-1, 1, 4, dtype=F64)
    for b in m.biases:
        assert b.requires_grad and torch.count_nonzero(b) == 0
    m(x).sum().backward()
    grads = [b.grad for b in m.biases]
    assert all(g is not None for g in grads)
    if parameterization == "standard":
        # the readout bias gradient of sum_i f(x_i) is the number of inputs
        assert float(grads[-1]) == pytest.approx(4.0)
    else:
        # NTK parameterization: the bias enters as b_std * b = 0 * b, so it has no effect
        assert all(float(g.abs().max()) == 0.0 for g in grads)


def test_float32_model():
    m = nt.MLP(8, seed=0, dtype=torch.float32)
    out = m(torch.linspace(-1, 1, 3, dtype=F64))
    assert out.dtype == torch.float32 and all(p.dtype == torch.float32 for p in m.parameters())
    # the same seed gives the same network, rounded to float32
    m64 = nt.MLP(8, seed=0)
    for p32, p64 in zip(m.parameters(), m64.parameters()):
        assert torch.equal(p32, p64.detach().float())


def test_centered_is_zero_at_init_and_trainable():
    base = nt.MLP(10, seed=0)
    x = torch.linspace(-2, 2, 7, dtype=F64)
    c = nt.centered(base, 4.0)
    assert isinstance(c, nt.Centered) and c.alpha == 4.0
    assert float(c(x).detach().abs().max()) == 0.0
    names = [k for k, _ in c.named_parameters()]
    assert names == [f"model.{k}" for k, _ in base.named_parameters()]  # theta_0 is not a parameter
    f0 = base(x).detach()
    with torch.no_grad():
        base.weights[1].add_(0.01)
    # alpha (f(theta) - f(theta_0)); theta_0 is a frozen copy
    torch.testing.assert_close(c(x), 4.0 * (base(x) - f0), rtol=1e-13, atol=1e-14)
