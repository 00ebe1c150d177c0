"""Demos and experiments of notebook 06 (ntk_teach.demos.nb06_generalization).

The expensive experiments (16 nets per width, 250 linearized steps) are shrunk here by patching
the module's sizes; the caches are cleared before and after, so the notebook never sees the small
versions. Every registered demo is driven through a few control values.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ntk_teach import predict, viz
from ntk_teach.demos import nb06_generalization as d

CACHED = ("ensemble_run", "analytic_run", "width_scan", "min_norm_run")


def _clear():
    for name in CACHED:
        getattr(d, name).cache_clear()


@pytest.fixture
def small(monkeypatch):
    """Small sizes for the training experiments (the maths is the same)."""
    _clear()
    monkeypatch.setattr(d, "ENSEMBLE_WIDTHS", (8, 16, 32))
    monkeypatch.setattr(d, "N_NETS", 4)
    monkeypatch.setattr(d, "STEPS", 40)
    monkeypatch.setattr(d, "RECORD_EVERY", 10)
    monkeypatch.setattr(d, "MIN_NORM_WIDTH", 8)
    monkeypatch.setattr(d, "MIN_NORM_STEPS", 30)
    yield
    _clear()


def test_task_kernels_and_learning_rate():
    k = d.task_kernels()
    for K in (k["K"], k["T"]):
        assert torch.allclose(K, K.T) and float(torch.linalg.eigvalsh(K).min()) > 0
    assert math.isclose(d.gd_learning_rate() * float(k["lam"][-1]), 1.0)


def test_infinite_nets_interpolate_and_start_from_the_prior():
    fs, ftr = d.trained_infinite_nets(math.inf, seed=2)
    assert fs.shape == (d.N_SAMPLES, d.X_TEST.shape[0])
    assert float((ftr - d.Y_TRAIN).abs().max()) < 1e-9
    f0s, f0 = d.initial_outputs(2)
    fs0, ftr0 = d.trained_infinite_nets(0.0, seed=2)
    assert torch.allclose(fs0, f0s) and torch.allclose(ftr0, f0)
    loss = d.infinite_net_losses(2)
    assert np.all(np.diff(loss, axis=0) <= 1e-12)  # gradient flow never increases the loss


def test_readout_only_ensemble_is_the_posterior():
    post = d.bayes_posterior()
    g = d.ntk_prediction(math.inf, regime="nngp")
    assert torch.allclose(g.mean, post.mean, atol=1e-9) and torch.allclose(g.std, post.std, atol=1e-6)
    assert float((d.ntk_prediction(math.inf).std - post.std).abs().max()) > 0.05


def test_ensemble_experiment_small(small):
    run = d.ensemble_run(16)
    assert run["test"].shape == (5, 4, d.X_TEST.shape[0]) and run["steps"].tolist() == [0, 10, 20, 30, 40]
    ana = d.analytic_run()
    assert np.allclose(ana["mean"][0], 0.0) and np.allclose(ana["std"][0], np.sqrt(np.diag(d.task_kernels()["Kss"])))
    # the training loss of every net falls
    loss = 0.5 * ((run["train"] - d.Y_TRAIN.numpy()) ** 2).sum(-1)
    assert np.all(loss[-1] < loss[0])
    scan = d.width_scan(n_boot=50)
    assert scan["rms"].shape == (3,) and np.all(np.isfinite(scan["rms"])) and scan["boot_se"] > 0
    assert scan["fit"].slope < 0  # wider nets end closer to the infinite-width prediction


def test_min_norm_experiment_small(small):
    run = d.min_norm_run()
    scale = float((run["w_star"] - run["w0"]).norm())
    dist = (run["w1"] - run["w_star"]).norm(dim=1)
    assert torch.allclose(dist, run["predicted_distance"], atol=1e-10 * scale)
    assert float(((run["w1"] - run["w0"]) @ run["n"]).abs().max()) < 1e-10 * scale
    assert torch.allclose(run["out2"] - run["out1"], (run["c"] * run["Jn_test"]).expand_as(run["out1"]),
                          atol=1e-10 * scale)
    assert torch.allclose(run["J"] @ (run["w_star"] - run["w0"]), d.Y_TRAIN - run["f0"], atol=1e-10)


def test_learning_curve_rates():
    lc = d.learning_curves(0.0)
    assert abs(lc["ntk_mean_fit"].slope + 4) < 0.15
    gains = d.noise_gains()
    assert np.all(np.abs(gains[2:] - 2 / 3) < 0.01)  # NTK interpolation passes on ~2/3 of the noise variance


def test_early_stopping_beats_interpolation():
    es = d.early_stopping_data()
    assert es["err_gd"].min() < 0.8 * es["err_inf"] and es["err_ridge"].min() < 0.8 * es["err_inf"]
    assert abs(es["err_gd"][-1] - es["err_inf"]) < 1e-3 * es["err_inf"]  # t = 10^4: converged to the interpolant


DRIVE = {
    "06.kernel_regression_in_time": [dict(t=0.01), dict(t=100.0, seed=3)],
    "06.ensemble_vs_bayes": [dict(t=0.01), dict(t=3.0)],
    "06.finite_ensembles": [dict(width=8), dict(width=32, step=20), dict(step=0)],
    "06.min_norm": [dict(step=0), dict(step=10), dict(step=30)],
    "06.learning_curves": [dict(noise=0.1), dict(noise=0.0)],
    "06.early_stopping_vs_ridge": [dict(t=0.01), dict(t=1e4), dict(t=7.0)],
}


def test_every_demo_is_registered():
    names = {n for n in viz.registered_demos() if n.startswith("06.")}
    assert names == set(DRIVE)


@pytest.mark.parametrize("name", sorted(DRIVE))
def test_demo_updates(name, small):
    first, *rest = DRIVE[name]
    view = viz.get_demo(name).interact(backend="inline", **first)  # (the small widths exclude the default 64)
    try:
        for params in rest:
            view.set(**params)
        assert not view.errors and view.figure.n_draws == len(DRIVE[name])
    finally:
        view.close()


def test_learning_curve_demo_shows_slopes():
    fig = d.plot_learning_curves(noise=0.0)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("slope -4.0" in s for s in labels), labels
