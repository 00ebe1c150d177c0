"""ntk_teach.sampling: layer-wise sampling is exact in law, and the exact finite-width kurtosis."""
import math

import numpy as np
import pytest
import torch

import ntk_teach as nt
from ntk_teach.sampling import (
    relu_output_excess_kurtosis,
    sample_mlp_outputs,
    sample_output_variances,
    scale_mixture_excess_kurtosis,
)


def test_layerwise_samples_match_mlp_outputs_in_law():
    """Same first two moments and kurtosis as real MLPs at one width (different draws)."""
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    S = 3000
    a = sample_mlp_outputs(x, width=8, n_nets=S, seed=0)
    with torch.no_grad():
        b = nt.Ensemble(S, 8, seed=5)(x)
    ca, cb = a.T @ a / S, b.T @ b / S
    # each covariance entry has a Monte Carlo error of about sqrt((K_ii K_jj + K_ij^2)/S) * sqrt(1 + kurtosis/2);
    # width 8 is heavy-tailed (excess kurtosis ~ 4), so the difference of two estimates is within ~5 of those
    K = nt.analytic_nngp(x)
    se = torch.sqrt((K.diagonal()[:, None] * K.diagonal()[None, :] + K**2) / S) * math.sqrt(1 + 2.5)
    assert torch.all((ca - cb).abs() < 5 * math.sqrt(2) * se), (ca - cb) / se


def test_output_variances_match_exact_kurtosis_and_nngp_mean():
    for n in (4, 64):
        s2 = sample_output_variances(1.0, width=n, n_nets=40000, seed=n)
        # E[s^2] is the NNGP variance at finite width too (the recursion of means is exact for ReLU)
        K = float(nt.analytic_nngp(torch.tensor([1.0], dtype=torch.float64))[0, 0])
        assert abs(float(s2.mean()) / K - 1) < 5 * float(s2.std()) / math.sqrt(40000) / K
        exact = relu_output_excess_kurtosis(1.0, width=n)
        mc = scale_mixture_excess_kurtosis(s2)
        assert abs(mc / exact - 1) < 0.15, (n, mc, exact)


def test_exact_kurtosis_limits():
    # infinite width: Gaussian; the 1/n law at large n
    k1, k2 = relu_output_excess_kurtosis(1.0, width=10**6), relu_output_excess_kurtosis(1.0, width=2 * 10**6)
    assert k1 < 1e-4 and abs(k1 / k2 - 2) < 1e-3
    # one hidden layer, b_std = 0: s^2 = x^2 R with E R^2 = 1/4 + 5/(4n) -> kurtosis 3 * 5/n
    assert relu_output_excess_kurtosis(1.0, width=10, depth=1, b_std=0.0) == pytest.approx(1.5, rel=1e-12)


@pytest.mark.parametrize("kw", [dict(width=0), dict(n_nets=0), dict(b_std=-1.0), dict(depth=0)])
def test_bad_input(kw):
    args = dict(width=4, n_nets=2)
    args.update(kw)
    with pytest.raises(ValueError):
        sample_mlp_outputs(torch.zeros(3), **args)
