"""Every bad input of issue 2's "Must hold" raises ValueError/TypeError naming the argument (and the allowed values)."""
import math

import pytest
import torch

import ntk_teach as nt

F64 = torch.float64
X = torch.linspace(-1, 1, 4, dtype=F64)


@pytest.fixture(scope="module")
def net():
    return nt.MLP(8, seed=0)


def raises(exc, *names):
    """pytest.raises whose message must mention every name (the argument, the allowed values)."""
    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(exc)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *a):
            out = self.ctx.__exit__(*a)
            msg = str(self.info.value)
            for n in names:
                assert n in msg, f"{n!r} not in {msg!r}"
            return out

    return _Check()


# ------------------------------------------------------------------ sizes
@pytest.mark.parametrize("width", [0, -3])
def test_width_below_one(width):
    with raises(ValueError, "width", "[1, inf]"):
        nt.MLP(width)


@pytest.mark.parametrize("bad", [2.5, "8", None, True])
def test_width_not_an_integer(bad):
    with raises(TypeError, "width"):
        nt.MLP(bad)


def test_depth_below_one():
    with raises(ValueError, "depth", "[1, inf]"):
        nt.MLP(8, depth=0)
    with raises(ValueError, "depth"):
        nt.analytic_ntk(X, depth=-1)
    with raises(ValueError, "d_in"):
        nt.MLP(8, d_in=0)


def test_scales_and_seed(net):
    with raises(ValueError, "w_std"):
        nt.MLP(8, w_std=-1.0)
    with raises(ValueError, "b_std"):
        nt.MLP(8, b_std=float("nan"))
    with raises(ValueError, "w_std"):
        nt.analytic_nngp(X, w_std=float("inf"))
    with raises(ValueError, "seed"):
        nt.MLP(8, seed=-1)
    with raises(ValueError, "n_models"):
        nt.Ensemble(0, 8)


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf")])
def test_alpha_not_positive(net, alpha):
    with raises(ValueError, "alpha"):
        nt.centered(net, alpha)
    with raises(ValueError, "alpha"):
        nt.train(nt.MLP(4, seed=0), X, X, lr=0.1, steps=1, alpha=alpha)


# ------------------------------------------------------------------ NaN / inf
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_inputs(net, bad):
    x = X.clone()
    x[1] = bad
    with raises(ValueError, "x", "finite"):
        net(x)
    with raises(ValueError, "x1", "finite"):
        nt.empirical_ntk(net, x)
    with raises(ValueError, "x2", "finite"):
        nt.empirical_ntk(net, X, x)
    with raises(ValueError, "x1", "finite"):
        nt.analytic_ntk(x)
    with raises(ValueError, "x2", "finite"):
        nt.analytic_nngp(X, x)
    with raises(ValueError, "x", "finite"):
        nt.hessian_norm(net, x)
    with raises(ValueError, "y", "finite"):
        nt.gradient_flow_mse(torch.eye(4, dtype=F64), x, [1.0])
    with raises(ValueError, "K_train", "finite"):
        nt.gradient_descent_mse(torch.diag(x), X, [1], eta=0.1)
    with raises(ValueError, "y", "finite"):
        nt.train(nt.MLP(4, seed=0), X, x, lr=0.1, steps=1)
    with raises(ValueError, "t"):
        nt.gradient_flow_mse(torch.eye(4, dtype=F64), X, [bad])


# ------------------------------------------------------------------ shapes
def test_wrong_input_shapes(net):
    with raises(ValueError, "x", "(N,) or (N, 1)"):
        net(torch.zeros(3, 2, dtype=F64))
    with raises(ValueError, "x", "(N,) or (N, 1)"):
        net(torch.zeros(2, 3, 1, dtype=F64))
    with raises(ValueError, "x"):
        net(torch.zeros(0, dtype=F64))
    net2 = nt.MLP(8, d_in=2, seed=0)
    with raises(ValueError, "x", "(N, 2)"):
        net2(torch.zeros(5, dtype=F64))
    with raises(ValueError, "x2"):
        nt.empirical_ntk(net2, torch.zeros(3, 2, dtype=F64), torch.zeros(3, 3, dtype=F64))
    with raises(ValueError, "x2"):
        nt.analytic_ntk(torch.zeros(3, 2, dtype=F64), torch.zeros(3, 3, dtype=F64))
    with raises(ValueError, "x1"):
        nt.analytic_ntk(torch.zeros(2, 2, 2, dtype=F64))


def test_wrong_dynamics_shapes():
    K = nt.analytic_ntk(X)
    with raises(ValueError, "K_train", "square"):
        nt.gradient_flow_mse(K[:, :3], X, [1.0])
    with raises(ValueError, "y", "4"):
        nt.gradient_flow_mse(K, X[:3], [1.0])
    with raises(ValueError, "f0"):
        nt.gradient_flow_mse(K, X, [1.0], f0=X[:2])
    with raises(ValueError, "K_test", "(M, 4)"):
        nt.gradient_descent_mse(K, X, [1], eta=0.1, K_test=K[:, :3])
    with raises(ValueError, "f0_test"):
        nt.gradient_flow_mse(K, X, [1.0], K_test=K, f0_test=X[:1])
    with raises(ValueError, "K_train", "symmetric"):
        nt.gradient_flow_mse(K + torch.triu(torch.ones_like(K), 1), X, [1.0])
    with raises(ValueError, "K_train", "positive semi-definite"):
        nt.gradient_flow_mse(-K, X, [1.0])
    with raises(ValueError, "t", ">= 0"):
        nt.gradient_flow_mse(K, X, [-1.0])
    with raises(ValueError, "steps"):
        nt.gradient_descent_mse(K, X, [-1], eta=0.1)
    with raises(TypeError, "steps", "whole"):
        nt.gradient_descent_mse(K, X, [1.5], eta=0.1)
    with raises(ValueError, "eta"):
        nt.gradient_flow_mse(K, X, [1.0], eta=0.0)
    with raises(ValueError, "ridge"):
        nt.kernel_regression(K, K, X, ridge=-1.0)
    with raises(ValueError, "y"):
        nt.kernel_regression(K, K, X[:2])
    with raises(ValueError, "residual"):
        nt.mode_decomposition(K, X[:2])


def test_wrong_training_arguments(net):
    m = nt.MLP(4, seed=0)
    with raises(ValueError, "y", "one target per input"):
        nt.train(m, X, X[:3], lr=0.1, steps=1)
    with raises(ValueError, "lr"):
        nt.train(m, X, X, lr=0.0, steps=1)
    with raises(ValueError, "steps"):
        nt.train(m, X, X, lr=0.1, steps=-1)
    with raises(TypeError, "steps"):
        nt.train(m, X, X, lr=0.1, steps=2.0)
    with raises(ValueError, "record_every"):
        nt.train(m, X, X, lr=0.1, steps=1, record_every=0)
    with raises(ValueError, "record_params", "weights.0"):
        nt.train(m, X, X, lr=0.1, steps=1, record_params=("nope",))
    with raises(ValueError, "record_ntk"):
        nt.train(nt.Ensemble(2, 4), X, X, lr=0.1, steps=1, record_ntk=True)
    with raises(TypeError, "model"):
        nt.train("net", X, X, lr=0.1, steps=1)
    with raises(ValueError, "y"):
        nt.lazy_norms(net, X, X[:2])
    with raises(ValueError, "e"):
        nt.Ensemble(2, 4).member(2)


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("dtype", [torch.int32, torch.float16, torch.bfloat16, torch.complex64, "float64"])
def test_wrong_model_dtype(dtype):
    with raises(TypeError, "dtype", "float32", "float64"):
        nt.MLP(8, dtype=dtype)


def test_wrong_input_dtypes(net):
    with raises(TypeError, "x", "real numbers"):
        net(torch.tensor([True, False]))
    with raises(TypeError, "x", "real numbers"):
        net(torch.tensor([1 + 1j, 2.0]))
    with raises(TypeError, "x"):
        net(["a", "b"])
    with raises(TypeError, "x1"):
        nt.analytic_ntk(torch.tensor([True, False]))
    with raises(TypeError, "model"):
        nt.empirical_ntk("net", X)
    with raises(TypeError, "model"):
        nt.centered(lambda x: x, 1.0)
    with raises(TypeError, "model"):
        nt.linearize(None)
    with raises(TypeError, "width"):
        nt.analytic_ntk(X, parameterization="standard", width=10.5)


# ------------------------------------------------------------------ unknown names
def test_unknown_activation_parameterization_method(net):
    with raises(ValueError, "activation", "relu", "tanh", "erf"):
        nt.MLP(8, activation="sigmoid")
    with raises(ValueError, "activation", "relu"):
        nt.analytic_ntk(X, activation="gelu")
    with raises(ValueError, "activation"):
        nt.Ensemble(2, 4, activation="swish")
    with raises(TypeError, "activation"):
        nt.MLP(8, activation=None)
    with raises(ValueError, "parameterization", "ntk", "standard"):
        nt.MLP(8, parameterization="mup")
    with raises(ValueError, "parameterization"):
        nt.analytic_ntk(X, parameterization="mup")
    with raises(ValueError, "method", "jacobian", "ntk_vp", "structured"):
        nt.empirical_ntk(net, X, method="autograd")
    with raises(ValueError, "fn", "sin"):
        nt.noisy_1d(5, fn="cos")
    with raises(ValueError, "width"):
        nt.analytic_ntk(X, parameterization="standard")
    with raises(ValueError, "width"):
        nt.analytic_ntk(X, width=10)


# ------------------------------------------------------------------ memory budget
def test_huge_mlp_raises_before_allocating(monkeypatch):
    """MLP(width=10**6) (10^12 parameters) must fail on its size estimate, before drawing any parameter."""
    def no_allocation(*a, **k):
        raise AssertionError("MLP drew parameters before checking the memory budget")

    monkeypatch.setattr(torch, "randn", no_allocation)
    with raises(ValueError, "memory budget", "width"):
        nt.MLP(width=10**6)
    with raises(ValueError, "memory budget", "width"):
        nt.MLP(width=10**5, depth=2, dtype=torch.float32)  # 10^10 parameters, 120 GB
    monkeypatch.undo()
    # an ensemble builds one probe net, then refuses 10^4 copies of its 10^6 parameters (240 GB)
    with raises(ValueError, "memory budget"):
        nt.Ensemble(10**4, 1000)


@pytest.fixture
def small_budget():
    old = nt.set_memory_budget(20 * 1024**2)  # 20 MiB
    yield
    nt.set_memory_budget(old)


def test_memory_budget_guards_the_jacobian_methods(small_budget):
    """Width 500, depth 2: P = 252,001 parameters (6 MiB for the net, its gradients and a copy: allowed);
    the Jacobian of 20 inputs is 20 P float64 = 38 MiB (> 20 MiB): refused, while the structured NTK is not."""
    assert nt.memory_budget() == 20 * 1024**2
    m = nt.MLP(500, seed=0)
    x = torch.linspace(-1, 1, 20, dtype=F64)
    assert nt.empirical_ntk(m, x).shape == (20, 20)
    for method in ("jacobian", "ntk_vp"):
        with raises(ValueError, "memory budget", "structured"):
            nt.empirical_ntk(m, x, method=method)
    with raises(ValueError, "memory budget"):
        nt.jacobian(m, x)
    with raises(ValueError, "memory budget"):
        nt.MLP(2000)
    # quadratic-in-N objects are guarded too: 2000 x 2000 kernels at depth 2 need ~600 MiB
    with raises(ValueError, "memory budget", "x1"):
        nt.analytic_ntk(torch.linspace(-1, 1, 2000, dtype=F64))
    with raises(ValueError, "memory budget", "x1"):
        nt.empirical_ntk(nt.MLP(4, seed=0), torch.linspace(-1, 1, 2000, dtype=F64))


def test_jacobian_of_a_big_model_raises_at_the_default_budget():
    """Width 1500, depth 2: P = 2,257,501 (54 MB with gradients and a copy: allowed). The Jacobian of 200 inputs
    would be 200 P float64 = 3.6 GB, twice that with the contraction's copy: over the default 4 GiB."""
    assert nt.memory_budget() == 4 * 1024**3
    m = nt.MLP(1500, seed=0)
    x = torch.linspace(-1, 1, 200, dtype=F64)
    with raises(ValueError, "memory budget", "Jacobian"):
        nt.empirical_ntk(m, x, method="jacobian")


def test_set_memory_budget_validates_and_returns_the_old_value():
    old = nt.memory_budget()
    assert nt.set_memory_budget(12345) == old
    assert nt.set_memory_budget(old) == 12345
    with raises(ValueError, "nbytes"):
        nt.set_memory_budget(0)
    with raises(TypeError, "nbytes"):
        nt.set_memory_budget(1.5)
    assert nt.memory_budget() == old
    assert math.isclose(old, 4 * 1024**3)
