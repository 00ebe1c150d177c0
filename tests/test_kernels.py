"""Infinite-width kernels (ntk_teach.kernels) against independent closed forms and Monte Carlo.

The references in this file are written from the formulas in the papers, with Python scalars
(``math``) or numpy, not from the package code:

* depth 0 (linear model ``w_std/sqrt(d) w.x + b_std b``): NNGP = NTK = w^2 x.x'/d + b^2;
* ReLU: arc-cosine kernels of order 1 and 0 (Cho & Saul 2009)
  ``E[relu(u) relu(v)] = sqrt(q q')/(2 pi) (sin t + (pi - t) cos t)``, ``E[step(u) step(v)] = (pi - t)/(2 pi)``;
* erf (Williams 1997): ``E[erf(u) erf(v)] = 2/pi asin(2 s / sqrt((1 + 2q)(1 + 2q')))`` and
  ``E[erf'(u) erf'(v)] = 4/pi / sqrt((1 + 2q)(1 + 2q') - 4 s^2)``;
* tanh: a trapezoid rule on a uniform grid (geometric convergence for analytic integrands,
  Trefethen & Weideman 2014), not Gauss-Hermite;
* NTK recursion (Jacot et al. 2018): Theta^{l+1} = Theta^l Sigma_dot^{l+1} + Sigma^{l+1}.
"""
import math

import numpy as np
import pytest
import torch

import ntk_teach as nt
from ntk_teach.kernels import kernel_recursion

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see tests/conftest.py


# ----------------------------------------------------------- scalar references
def relu_pair(q1, q2, s):
    """(E[relu relu], E[step step]) for (u, v) ~ N(0, [[q1, s], [s, q2]])."""
    c = max(-1.0, min(1.0, s / math.sqrt(q1 * q2)))
    t = math.acos(c)
    return (math.sqrt(q1 * q2) / (2 * math.pi) * (math.sin(t) + (math.pi - t) * c),
            (math.pi - t) / (2 * math.pi))


def erf_pair(q1, q2, s):
    d = (1 + 2 * q1) * (1 + 2 * q2)
    return 2 / math.pi * math.asin(2 * s / math.sqrt(d)), 4 / math.pi / math.sqrt(d - 4 * s * s)


def _trapezoid_nodes(h, L):
    z = np.arange(-L, L + h / 2, h)
    return z, h * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def tanh_pair(q1, q2, s, h=0.04, L=13.0):
    """E[tanh tanh] and E[tanh' tanh'] by the 2-D trapezoid rule in (z1, z2).

    u = sqrt(q1) z1, v = sqrt(q2) (rho z1 + sqrt(1 - rho^2) z2). The integrand is analytic in a strip of
    half-width d = pi / (2 sqrt(max q)) (the poles of tanh), so the error is ~exp(-2 pi d / h) < 1e-20 for
    q <= 9 at h = 0.04; truncating at |z| = 13 drops Gaussian mass exp(-84.5).
    """
    z, w = _trapezoid_nodes(h, L)
    rho = max(-1.0, min(1.0, s / math.sqrt(q1 * q2)))
    z1, z2 = z[:, None], z[None, :]
    u = math.sqrt(q1) * z1
    v = math.sqrt(q2) * (rho * z1 + math.sqrt(max(0.0, 1 - rho * rho)) * z2)
    ww = w[:, None] * w[None, :]
    tu, tv = np.tanh(u), np.tanh(v)
    return float((tu * tv * ww).sum()), float(((1 - tu**2) * (1 - tv**2) * ww).sum())


PAIR = {"relu": relu_pair, "erf": erf_pair, "tanh": tanh_pair}


def reference_kernels(x1, x2, depth, activation, w_std, b_std):
    """NNGP and NTK by the scalar recursion, entry by entry (independent of ntk_teach.kernels)."""
    x1 = np.asarray(x1, dtype=float).reshape(len(x1), -1)
    x2 = np.asarray(x2, dtype=float).reshape(len(x2), -1)
    d = x1.shape[1]
    w2, b2 = w_std**2, b_std**2
    pair = PAIR[activation]
    nngp = np.zeros((len(x1), len(x2)))
    ntk = np.zeros_like(nngp)
    for i, a in enumerate(x1):
        for j, b in enumerate(x2):
            q1, q2, s = w2 * a @ a / d + b2, w2 * b @ b / d + b2, w2 * a @ b / d + b2
            theta = s
            for _ in range(depth):
                e, de = pair(q1, q2, s)
                s_new = w2 * e + b2
                theta = theta * w2 * de + s_new
                q1 = w2 * pair(q1, q1, q1)[0] + b2
                q2 = w2 * pair(q2, q2, q2)[0] + b2
                s = s_new
            nngp[i, j], ntk[i, j] = s, theta
    return torch.tensor(nngp), torch.tensor(ntk)


def _points(n, d, seed):
    return torch.randn(n, d, dtype=F64, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------ closed forms
@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
def test_depth0_is_the_linear_kernel(activation):
    x1, x2 = _points(5, 3, 0), _points(4, 3, 1)
    expect = 1.3**2 * x1 @ x2.T / 3 + 0.2**2
    for f in (nt.analytic_nngp, nt.analytic_ntk):
        torch.testing.assert_close(f(x1, x2, depth=0, activation=activation, w_std=1.3, b_std=0.2), expect,
                                   rtol=1e-14, atol=1e-15)


def test_depth1_relu_by_hand():
    """Depth 1, ReLU, written out: Sigma^1 = w^2 x.x'/d + b^2, t = angle of Sigma^1,
    NNGP = w^2 sqrt(q q')/(2 pi) (sin t + (pi - t) cos t) + b^2, NTK = Sigma^1 w^2 (pi - t)/(2 pi) + NNGP."""
    w, b, d = 1.4, 0.3, 3
    x1, x2 = _points(6, d, 2), _points(5, d, 3)
    nngp = torch.empty(6, 5, dtype=F64)
    ntk = torch.empty(6, 5, dtype=F64)
    for i in range(6):
        for j in range(5):
            s = w * w * float(x1[i] @ x2[j]) / d + b * b
            q1 = w * w * float(x1[i] @ x1[i]) / d + b * b
            q2 = w * w * float(x2[j] @ x2[j]) / d + b * b
            t = math.acos(s / math.sqrt(q1 * q2))
            nngp[i, j] = w * w * math.sqrt(q1 * q2) / (2 * math.pi) * (math.sin(t) + (math.pi - t) * math.cos(t)) + b * b
            ntk[i, j] = s * w * w * (math.pi - t) / (2 * math.pi) + nngp[i, j]
    # generic (non-collinear) inputs: both sides are a handful of correctly rounded operations
    kw = dict(depth=1, activation="relu", w_std=w, b_std=b)
    torch.testing.assert_close(nt.analytic_nngp(x1, x2, **kw), nngp, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(nt.analytic_ntk(x1, x2, **kw), ntk, rtol=1e-12, atol=1e-14)


def test_depth1_erf_by_williams_formula():
    w, b, d = 1.2, 0.5, 2
    x1, x2 = _points(5, d, 4), _points(7, d, 5)
    nngp = torch.empty(5, 7, dtype=F64)
    ntk = torch.empty(5, 7, dtype=F64)
    for i in range(5):
        for j in range(7):
            s = w * w * float(x1[i] @ x2[j]) / d + b * b
            q1 = w * w * float(x1[i] @ x1[i]) / d + b * b
            q2 = w * w * float(x2[j] @ x2[j]) / d + b * b
            den = (1 + 2 * q1) * (1 + 2 * q2)
            nngp[i, j] = w * w * 2 / math.pi * math.asin(2 * s / math.sqrt(den)) + b * b
            ntk[i, j] = s * w * w * 4 / math.pi / math.sqrt(den - 4 * s * s) + nngp[i, j]
    kw = dict(depth=1, activation="erf", w_std=w, b_std=b)
    torch.testing.assert_close(nt.analytic_nngp(x1, x2, **kw), nngp, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(nt.analytic_ntk(x1, x2, **kw), ntk, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_deep_recursion_matches_scalar_reference(activation, depth):
    x1, x2 = _points(6, 3, 6), _points(4, 3, 7)
    nngp, ntk = reference_kernels(x1, x2, depth, activation, 1.3, 0.2)
    kw = dict(depth=depth, activation=activation, w_std=1.3, b_std=0.2)
    # each layer amplifies relative rounding by O(1); 1e-11 leaves room for ~100x eps per layer
    torch.testing.assert_close(nt.analytic_nngp(x1, x2, **kw), nngp, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(nt.analytic_ntk(x1, x2, **kw), ntk, rtol=1e-11, atol=1e-13)
    # x2 = None is the x1 block of the joint kernel
    joint = nt.analytic_ntk(torch.cat([x1, x2]), **kw)
    torch.testing.assert_close(nt.analytic_ntk(x1, **kw), joint[:6, :6], rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(nt.analytic_ntk(x1, x2, **kw), joint[:6, 6:], rtol=1e-13, atol=1e-14)


def test_relu_collinear_inputs_within_stated_precision():
    """1-D inputs are all collinear: t = arccos(+-1 - O(eps)) ~ sqrt(eps), so the computed angle carries
    an absolute error ~ sqrt(2 eps) ~ 2e-8 near +-1 and the kernels a relative error up to ~1e-8;
    STYLE.md ("Pitfalls in the maths") says compare such kernels at rtol ~1e-7."""
    x = torch.linspace(-3, 3, 13, dtype=F64)
    nngp, ntk = reference_kernels(x, x, 2, "relu", 1.0, 0.1)
    torch.testing.assert_close(nt.analytic_nngp(x), nngp, rtol=1e-7, atol=1e-12)
    torch.testing.assert_close(nt.analytic_ntk(x), ntk, rtol=1e-7, atol=1e-12)


def test_tanh_depth1_with_many_nodes_matches_trapezoid_reference():
    """With 200 Gauss-Hermite nodes the quadrature error at variance <= 2 is < 1e-13 (see the next test),
    so the whole depth-1 NTK (recursion wiring included) must match the trapezoid reference to ~1e-12."""
    x1, x2 = _points(4, 2, 8), _points(3, 2, 9)
    nngp, ntk = reference_kernels(x1, x2, 1, "tanh", 1.0, 0.3)
    kw = dict(depth=1, activation="tanh", w_std=1.0, b_std=0.3, quad_points=200)
    assert float(((x1**2).sum(1) / 2 + 0.09).max()) < 4.5  # variances where 200 nodes give < 1e-7
    torch.testing.assert_close(nt.analytic_nngp(x1, x2, **kw), nngp, rtol=0, atol=1e-10)
    torch.testing.assert_close(nt.analytic_ntk(x1, x2, **kw), ntk, rtol=0, atol=1e-8)


# the accuracy figures stated in the kernels.py docstring (64 and 128 nodes, variance 1, 4, 9)
STATED = {(64, 1.0): (3e-9, 1.5e-7), (64, 4.0): (1e-4, 1.5e-3), (64, 9.0): (3e-3, 2e-2),
          (128, 1.0): (2e-13, 1.5e-11), (128, 4.0): (1e-6, 2e-5), (128, 9.0): (1.5e-4, 1.5e-3)}


@pytest.mark.parametrize("n,q", sorted(STATED))
def test_tanh_quadrature_accuracy_as_stated(n, q):
    """E[tanh tanh] = K^2 and E[tanh' tanh'] = Sigma_dot^2 (w_std = 1, b_std = 0) for inputs of squared norm
    2q in d = 2, i.e. pre-activation variance q, at 13 correlations including rho = +-1 (the worst case).
    Each must be within the docstring's stated accuracy (which is rounded up from the measured error)."""
    g = torch.linspace(0, math.pi, 13, dtype=F64)
    x = math.sqrt(2 * q) * torch.stack([torch.cos(g), torch.sin(g)], 1)
    lay = kernel_recursion(x[:1], x, depth=1, activation="tanh", w_std=1.0, b_std=0.0, quad_points=n)
    ref = np.array([tanh_pair(q, q, q * math.cos(float(a))) for a in g])
    err_phi = float(np.abs(lay.K[1][0].numpy() - ref[:, 0]).max())
    err_dphi = float(np.abs(lay.sigma_dot[1][0].numpy() - ref[:, 1]).max())
    stated_phi, stated_dphi = STATED[(n, q)]
    assert err_phi <= stated_phi, (err_phi, stated_phi)
    assert err_dphi <= stated_dphi, (err_dphi, stated_dphi)



# the default rule for tanh (quad_points=None): trapezoid with a spacing adapted to the largest variance
DEFAULT_STATED = (1e-9, 5e-8)  # E[phi phi], E[phi' phi']: measured <= 6.5e-10 and 2.7e-8 (worst at q ~ 4)


@pytest.mark.parametrize("q", [0.25, 1.0, 4.0, 9.0, 25.0])
def test_tanh_default_quadrature_accuracy(q):
    g = torch.linspace(0, math.pi, 13, dtype=F64)
    x = math.sqrt(2 * q) * torch.stack([torch.cos(g), torch.sin(g)], 1)
    lay = kernel_recursion(x[:1], x, depth=1, activation="tanh", w_std=1.0, b_std=0.0)
    # the reference's own error exp(-2 pi d / h) with d = pi/(2 sqrt q): h = 0.02 keeps it < 1e-20 up to q = 25
    ref = np.array([tanh_pair(q, q, q * math.cos(float(a)), h=0.02 if q > 9 else 0.04) for a in g])
    assert float(np.abs(lay.K[1][0].numpy() - ref[:, 0]).max()) <= DEFAULT_STATED[0]
    assert float(np.abs(lay.sigma_dot[1][0].numpy() - ref[:, 1]).max()) <= DEFAULT_STATED[1]


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
def test_analytic_kernels_equal_the_full_recursion(activation):
    """analytic_nngp/analytic_ntk use a blocked recursion that keeps no layers; kernel_recursion keeps them all.
    Same arithmetic per entry, up to where symmetrization happens: equal to a few ulp."""
    if activation == "tanh":  # the quadrature costs ~1e4 node evaluations per entry and layer: keep it small
        cases = [(torch.linspace(-3, 3, 12, dtype=F64), None), (_points(8, 2, 21), _points(5, 2, 22))]
    else:  # the last case has more than one row block (2**16 entries)
        cases = [(torch.linspace(-3, 3, 40, dtype=F64), None), (_points(30, 3, 20), None),
                 (_points(25, 2, 21), _points(9, 2, 22)),
                 (torch.linspace(-2, 2, 400, dtype=F64), torch.linspace(-1, 3, 300, dtype=F64))]
    for x1, x2 in cases:
        lay = kernel_recursion(x1, x2, depth=3, activation=activation, w_std=1.2, b_std=0.3)
        kw = dict(depth=3, activation=activation, w_std=1.2, b_std=0.3)
        torch.testing.assert_close(nt.analytic_ntk(x1, x2, **kw), lay.ntk, rtol=1e-14, atol=1e-15)
        torch.testing.assert_close(nt.analytic_nngp(x1, x2, **kw), lay.nngp, rtol=1e-14, atol=1e-15)

# ------------------------------------------------------------ the diagonal
def test_relu_diagonal_recursion_closed_form():
    """On the diagonal t = 0, so E[relu(u)^2] = q/2 and Sigma_dot = w^2/2: with r = w^2/2,
    Sigma^l(x,x) = r^{l-1} Sigma^1 + b^2 (1 - r^{l-1})/(1 - r) and Theta^{L+1}(x,x) = sum_l Sigma^l r^{L+1-l}."""
    w, b, L = 1.2, 0.3, 5
    r = w * w / 2
    x = _points(4, 3, 10)
    lay = kernel_recursion(x, depth=L, activation="relu", w_std=w, b_std=b)
    s1 = w * w * (x * x).sum(1) / 3 + b * b
    sig = [r ** (l - 1) * s1 + b * b * (1 - r ** (l - 1)) / (1 - r) for l in range(1, L + 2)]
    for l in range(L + 1):
        torch.testing.assert_close(torch.diagonal(lay.sigma[l]), sig[l], rtol=1e-13, atol=0)
        if l > 0:
            torch.testing.assert_close(torch.diagonal(lay.sigma_dot[l]), torch.full((4,), r, dtype=F64),
                                       rtol=1e-13, atol=0)
    theta = sum(sig[l] * r ** (L - l) for l in range(L + 1))
    torch.testing.assert_close(torch.diagonal(lay.ntk), theta, rtol=1e-13, atol=0)
    # the angle at (x, x) is exactly 0 even when x.x from a matmul and |x|^2 from a sum differ in the last
    # bit (these points did: arccos(1 - 1 ulp) = 2e-8 made Sigma_dot, and the NTK diagonal, off by ~1e-9)
    x = _points(30, 3, 20)
    s1 = w * w * (x * x).sum(1) / 3 + b * b
    sig = [r ** (l - 1) * s1 + b * b * (1 - r ** (l - 1)) / (1 - r) for l in range(1, L + 2)]
    theta = sum(sig[l] * r ** (L - l) for l in range(L + 1))
    for K in (nt.analytic_ntk(x, depth=L, w_std=w, b_std=b), kernel_recursion(x, depth=L, w_std=w, b_std=b).ntk):
        torch.testing.assert_close(torch.diagonal(K), theta, rtol=1e-13, atol=0)


@pytest.mark.parametrize("activation", ["erf", "tanh"])
def test_smooth_activation_diagonal_recursion(activation):
    """The 1-D recursion q^{l+1} = w^2 E[phi(u)^2] + b^2, u ~ N(0, q^l); erf by Williams' formula,
    tanh by the 1-D trapezoid rule (64 Gauss-Hermite nodes at variance <= 1.3: error < 1e-8, see above)."""
    w, b, L = 1.1, 0.2, 4
    x = torch.tensor([[0.3, -0.8], [1.0, 0.5]], dtype=F64)
    lay = kernel_recursion(x, depth=L, activation=activation, w_std=w, b_std=b)
    z, wz = _trapezoid_nodes(0.04, 13.0)
    for i in range(2):
        q = w * w * float(x[i] @ x[i]) / 2 + b * b
        for l in range(L + 1):
            assert float(lay.sigma[l][i, i]) == pytest.approx(q, rel=1e-8 if activation == "tanh" else 1e-13)
            if activation == "erf":
                q = w * w * 2 / math.pi * math.asin(2 * q / (1 + 2 * q)) + b * b
            else:
                q = w * w * float((np.tanh(math.sqrt(q) * z) ** 2 * wz).sum()) + b * b


# ------------------------------------------------------------ structure
@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("depth", [1, 3])
def test_analytic_kernels_symmetric_and_psd(activation, depth):
    """Symmetric exactly; PSD up to rounding. The computed matrix is a PSD kernel plus an entrywise error
    |E_ij| <= delta max|K|, so its eigenvalues are >= -||E||_2 >= -N delta max|K|. delta: ~1e-8 for ReLU
    (the arccos near collinear pairs, see above), the stated quadrature error ~3e-9 for tanh at variance <= 1."""
    x = torch.cat([_points(20, 2, 11), torch.tensor([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0]], dtype=F64)])
    N = x.shape[0]
    for f in (nt.analytic_nngp, nt.analytic_ntk):
        K = f(x, depth=depth, activation=activation)
        assert K.dtype == F64 and K.shape == (N, N)
        assert torch.equal(K, K.T)
        ev = torch.linalg.eigvalsh(K)
        assert float(ev[0]) >= -N * 1e-8 * float(K.abs().max())


def test_kernel_recursion_layers_and_layer_contributions():
    x1, x2 = _points(5, 2, 12), _points(3, 2, 13)
    w, b, L = 1.3, 0.4, 3
    lay = kernel_recursion(x1, x2, depth=L, activation="erf", w_std=w, b_std=b)
    assert len(lay.K) == len(lay.sigma) == len(lay.theta) == len(lay.backprop) == L + 1
    assert lay.sigma_dot[0] is None
    torch.testing.assert_close(lay.K[0], x1 @ x2.T / 2, rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(lay.theta[0], lay.sigma[0], rtol=0, atol=0)
    for l in range(L + 1):
        torch.testing.assert_close(lay.sigma[l], w * w * lay.K[l] + b * b, rtol=1e-15, atol=1e-15)
    for l in range(L):
        torch.testing.assert_close(lay.theta[l + 1], lay.theta[l] * lay.sigma_dot[l + 1] + lay.sigma[l + 1])
    # Theta = sum_l Sigma^l B^l, and the per-group split sums to it
    torch.testing.assert_close(sum(s * bp for s, bp in zip(lay.sigma, lay.backprop)), lay.ntk, rtol=1e-13, atol=0)
    parts = nt.ntk_layer_contributions(x1, x2, depth=L, activation="erf", w_std=w, b_std=b)
    assert sorted(parts) == sorted([f"W{l}" for l in range(1, L + 2)] + [f"b{l}" for l in range(1, L + 2)])
    torch.testing.assert_close(sum(parts.values()), nt.analytic_ntk(x1, x2, depth=L, activation="erf", w_std=w,
                                                                   b_std=b), rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(parts[f"b{L + 1}"], torch.full((5, 3), b * b, dtype=F64))
    torch.testing.assert_close(parts[f"W{L + 1}"], w * w * lay.K[L], rtol=1e-15, atol=0)


def test_standard_parameterization_ntk_is_affine_in_width():
    """Theta_std(m) = d K^1 B^1 + sum_l B^l + m sum_{l >= 2} K^l B^l: exactly affine in m, slope > 0."""
    x = _points(6, 2, 14)
    kw = dict(depth=2, activation="tanh", parameterization="standard")
    t1, t2, t3 = (nt.analytic_ntk(x, width=m, **kw) for m in (100, 200, 300))
    torch.testing.assert_close(t3 - 2 * t2 + t1, torch.zeros_like(t1), rtol=0, atol=1e-10 * float(t3.abs().max()))
    lay = kernel_recursion(x, depth=2, activation="tanh")
    slope = sum(lay.K[l] * lay.backprop[l] for l in (1, 2))
    torch.testing.assert_close((t2 - t1) / 100, slope, rtol=1e-10, atol=1e-12)
    intercept = 2 * lay.K[0] * lay.backprop[0] + sum(lay.backprop)
    torch.testing.assert_close(t1 - 100 * slope, intercept, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------ Monte Carlo
def _mc_check(samples, expect, name):
    """Mean of S i.i.d. samples vs its expectation, entrywise, at 4.5 standard errors.

    se_ij = sd_ij / sqrt(S) from the samples (S >= 200, so the t-distribution is normal to 1%).
    Two-sided P(|Z| > 4.5) = 7e-6 per entry; with <= 100 entries per call the chance that a correct
    implementation fails for a given fixed seed set is < 1e-3. A wrong kernel (e.g. a missing factor
    2 in the arc-cosine kernel, or a missing layer) is off by tens of standard errors.
    """
    S = samples.shape[0]
    mean = samples.mean(0)
    se = samples.std(0) / math.sqrt(S)
    z = ((mean - expect).abs() / se.clamp_min(1e-300)).max()
    assert float(z) < 4.5, f"{name}: max |z| = {float(z):.2f}"


def _depth1_ntks(ens, x):
    """Empirical NTKs of every net of a depth-1 Ensemble at once, from the per-layer formula
    Theta = (c1^2 x.x' + beta1^2) sum_j (c2 v_j)^2 phi'(h_j) phi'(h'_j) + c2^2 sum_j phi(h_j) phi(h'_j) + beta2^2
    (c_l, beta_l: the layer's weight and bias multipliers; v: readout weights). Checked against
    empirical_ntk on the first nets before use."""
    from ntk_teach.nets import activation_derivative

    b = ens.base
    p = dict(zip(ens.names, ens.stacked))
    W1, b1, v = p["weights.0"].detach(), p["biases.0"].detach(), p["weights.1"].detach()[:, 0, :]
    h = b.w_mult[0] * torch.einsum("nd,ejd->enj", x, W1) + b.b_mult[0] * b1[:, None, :]  # (E, N, m)
    a, da = b._phi(h), activation_derivative(b.activation)(h)
    g = (b.w_mult[1] * v)[:, None, :] * da  # d f / d h_j
    first = b.w_mult[0] ** 2 * x @ x.T + b.b_mult[0] ** 2
    return first * (g @ g.transpose(1, 2)) + b.w_mult[1] ** 2 * a @ a.transpose(1, 2) + b.b_mult[1] ** 2


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
def test_one_hidden_layer_monte_carlo_is_unbiased(activation):
    """Depth 1 is exact in expectation at every width (the hidden pre-activations are exactly Gaussian):
    E[f(x) f(x')] = Sigma^2 (outputs have mean 0) and E[Theta_emp] = Sigma^1 Sigma_dot^2 + Sigma^2
    (NTK parameterization), and in the standard parameterization E[Theta_std] = d K^1 B^1 + B^1 + m K^2 + 1.
    So the mean over S = 400 nets of width 64 must agree with the analytic kernels within MC error."""
    x = torch.tensor([[-1.5], [-0.3], [0.4], [2.0]], dtype=F64)
    S, m = 400, 64
    kw = dict(depth=1, activation=activation, w_std=1.2, b_std=0.3)
    for par in ("ntk", "standard"):
        ens = nt.Ensemble(S, m, seed=100, parameterization=par, **kw)
        ntk = _depth1_ntks(ens, x)
        for e in range(3):  # the batched formula is the package's empirical NTK of member e
            torch.testing.assert_close(ntk[e], nt.empirical_ntk(nt.MLP(m, seed=100 + e, parameterization=par, **kw), x),
                                       rtol=1e-12, atol=1e-12)
        if par == "ntk":
            with torch.no_grad():
                f = ens(x)  # (S, N)
            _mc_check(f[:, :, None] * f[:, None, :], nt.analytic_nngp(x, **kw), "NNGP")
            _mc_check(ntk, nt.analytic_ntk(x, **kw), "NTK")
        else:
            _mc_check(ntk, nt.analytic_ntk(x, parameterization="standard", width=m, **kw), "standard NTK")


def test_fluctuations_shrink_like_inverse_sqrt_width():
    """Depth-2 ReLU (the default MLP): ||Theta_m - Theta_inf||_F / ||Theta_inf||_F = m^{-1/2} Z_m, where Z_m
    converges in distribution (CLT over the m units) -- the O(1/m) bias of the depth-2 mean adds
    O(m^{-1/2}) relative to the fluctuation, < 2% of it at m >= 8 here. Same for the per-net NNGP
    (the Gram of the last hidden layer, the covariance of the output given the hidden layers).

    Statistic: mean over S seeds of log(deviation) at each width, fitted against log m; E[log dev] =
    -1/2 log m + E[log Z], so the slope is -1/2. Tolerance from the number of seeds: Var(log |Z|) is at most
    pi^2/8 = 1.23 when the deviation is dominated by a single Gaussian direction (|Z| ~ chi_1; chi_k has
    a smaller log-variance for k > 1), so each width's mean has se <= 1.11/sqrt(S), and the least-squares
    slope se = se_w / sqrt(sum (log m_i - mean)^2). We also estimate the se from the data and take the
    larger; 4 se (a 6e-5 two-sided tail).
    """
    x = torch.linspace(-2, 2, 5, dtype=F64)
    widths = [8, 16, 32, 64, 128, 256, 512]
    S = 100
    ka, na = nt.analytic_ntk(x), nt.analytic_nngp(x)
    logs_k = np.empty((len(widths), S))
    logs_n = np.empty((len(widths), S))
    for i, m in enumerate(widths):
        for s in range(S):
            net = nt.MLP(m, seed=10_000 + 1000 * i + s)
            k = nt.empirical_ntk(net, x)
            with torch.no_grad():
                a = net.layer_forward(x)[1][-1]
            n = net.w_std**2 * a @ a.T / m + net.b_std**2
            logs_k[i, s] = math.log(float((k - ka).norm() / ka.norm()))
            logs_n[i, s] = math.log(float((n - na).norm() / na.norm()))
    lx = np.log(widths)
    sxx = float(((lx - lx.mean()) ** 2).sum())
    for name, logs in (("NTK", logs_k), ("NNGP", logs_n)):
        fit = nt.fit_loglog(widths, np.exp(logs.mean(1)))
        se_prior = (math.pi / math.sqrt(8)) / math.sqrt(S) / math.sqrt(sxx)
        se_data = math.sqrt(float((((lx - lx.mean()) ** 2) * logs.var(1, ddof=1) / S).sum())) / sxx
        tol = 4 * max(se_prior, se_data)
        assert abs(fit.slope + 0.5) < tol, f"{name}: slope {fit.slope:.3f}, expected -0.5 +- {tol:.3f}"
