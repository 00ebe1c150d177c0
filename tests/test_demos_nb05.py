"""Notebook 05 (gradient flow and the kernel regime): its computations and every registered demo.

The width/alpha studies behind the demos use 16 seeds in the notebook; here they are replaced by
4-seed versions (same code path, same widths) so the tests stay fast. The caches of the real
functions are keyed on their arguments, so the notebook never sees the small versions.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import ntk_teach
from ntk_teach import spectral as sp
from ntk_teach import viz
from ntk_teach.demos import nb05_kernel_regime as d

SMALL_SEEDS = 4
_WIDTH_STUDY = d.width_study.__wrapped__   # the uncached functions (the fixture replaces the module's names)
_ALPHA_STUDY = d.alpha_study.__wrapped__


@functools.lru_cache(maxsize=None)
def _small_width_study(activation="relu", gaps=True):
    return _WIDTH_STUDY(activation, n_seeds=SMALL_SEEDS, widths=d.STUDY_WIDTHS, gaps=gaps)


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(d, "width_study", lambda activation="relu", n_seeds=None, widths=None, gaps=True:
                        _small_width_study(activation, gaps))
    monkeypatch.setattr(d, "alpha_study", lambda activation="relu", **kw:
                        _ALPHA_STUDY(activation, n_seeds=SMALL_SEEDS))
    yield


# ---- section 1 ----------------------------------------------------------------------------------

def test_flow_setup_and_functions():
    s = d.flow_setup()
    assert np.all(np.diff(s["lam"]) <= 0) and np.allclose(s["Q"] @ s["c0"], s["u0"], atol=1e-12)
    flow, gd = d.flow_functions(1.0, 0)
    assert np.all(flow == 0) and np.all(gd == 0)  # outputs start at 0
    # tiny steps: gradient descent follows gradient flow (error O(eta))
    flow, gd = d.flow_functions(0.01, 2000)
    assert np.abs(flow - gd).max() < 2e-2 * np.abs(flow).max()
    # above 2 / lambda_max the top mode grows like |1 - ratio|^k
    _, gd_big = d.flow_functions(2.2, 200)
    assert np.abs(gd_big).max() > 1e10


def test_flow_demo_marks_divergence():
    view = d.FlowAndGD.interact()
    view.set(ratio=1.9, frame=10)
    assert view.demo.warn.get_text() == ""
    view.set(ratio=2.1)
    assert "diverges" in view.demo.warn.get_text()
    assert not view.errors


# ---- sections 2 and 4 ---------------------------------------------------------------------------

def test_width_study_linearization_is_gd_on_the_linearized_net(small):
    st = d.width_study("relu")
    r = st[32]
    assert r["outputs"].shape[1] == SMALL_SEEDS and np.all(r["outputs"][0] == 0)
    net = ntk_teach.linearize(ntk_teach.centered(ntk_teach.MLP(32, seed=2), 1.0))
    res = ntk_teach.train(net, d.TWO_X, d.TWO_Y, lr=d.STUDY_LR, steps=d.STUDY_STEPS, record_every=d.STUDY_EVERY,
                          x_test=torch.tensor(d.STUDY_GRID))
    assert np.abs(res.outputs.numpy() - r["lin_outputs"][:, 2]).max() < 1e-10
    assert np.abs(res.test_outputs.numpy() - r["lin_test"][:, 2]).max() < 1e-10
    # both are pulled to the same two targets: the gap is larger between and beyond the points
    assert r["test_gap"].mean() > r["train_gap"].mean()
    assert np.all(r["ntk_change"] > 0)


def test_bootstrap_slope_on_an_exact_power_law():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    S = np.outer(x ** -0.75, np.ones(5))
    slope, se, means = d.bootstrap_slope(x, S)
    assert slope == pytest.approx(-0.75, abs=1e-12) and se < 1e-12 and np.allclose(means, x ** -0.75)


def test_ntk_change_figure_and_cheap_studies(small):
    fig = d.plot_ntk_change()
    assert len(fig.axes) == 2
    tanh = d.width_study("tanh", gaps=False)
    assert set(tanh) == set(d.STUDY_WIDTHS) and "test" not in tanh[16]
    A = d.alpha_study("relu")
    assert A["ntk_change"].shape == (len(d.ALPHAS), SMALL_SEEDS)
    # larger alpha: lazier (mean over seeds, 16x in alpha)
    assert A["ntk_change"][-1].mean() < A["ntk_change"][0].mean() / 4


# ---- section 3 ----------------------------------------------------------------------------------

def test_ellipse_run_regimes():
    r = d.ellipse_run(32, 0)
    A = len(d.ELLIPSE_ALPHAS)
    assert r["outputs"].shape[1:] == (A, 2) and np.all(r["outputs"][0] == 0)
    assert np.allclose(r["ntk"][0], r["ntk"][0, 0])  # every alpha starts from the same network
    lazy = d.ellipse_summary(32, 0, 100.0)
    rich = d.ellipse_summary(32, 0, d.ELLIPSE_ALPHAS[0])
    assert lazy["ntk_change"] < 1e-2 and lazy["max_deviation"] < 1e-3
    assert rich["ntk_change"] > 1 and rich["max_deviation"] > 0.05
    assert np.median(d.crossing_angles(32, 0, 100.0, power=0.5)) < 1.0
    assert np.median(d.crossing_angles(32, 0, 100.0, power=1.0)) > np.median(d.crossing_angles(32, 0, 100.0))
    assert d._alpha_index(1.0) == list(np.round(d.ELLIPSE_ALPHAS, 6)).index(1.0)


# ---- section 5 ----------------------------------------------------------------------------------

def test_spectral_run_low_frequency_first():
    r = d.spectral_run()
    assert [sp.sign_changes(r["x"], r["Q"][:, i]) for i in range(10)] == list(range(10))
    rem = r["rem_net"]
    assert np.all(rem[1:, 1] > rem[1:, 0])
    drift = np.linalg.norm(r["ntk_early"] - r["ntk0"]) / np.linalg.norm(r["ntk0"])
    assert np.abs(rem[:, 0] - r["rem_kernel"][:, 0]).max() < drift / np.e + 0.005
    assert np.allclose(r["rem_kernel"][0], 1.0) and np.allclose(r["rem_infinite"][0], 1.0)


# ---- every registered demo of notebook 05 updates through its controls --------------------------

def _values(ctrl, name):
    vals = viz.control_values(ctrl, max_values=3)
    if name == "width" and isinstance(ctrl.value, int) and max(vals) > 64 and ctrl.value <= 64:
        vals = [v for v in vals if v <= 64] or vals[:1]   # wide ellipse runs are slow; the code path is the same
    if name == "seed":
        vals = [ctrl.value]
    return vals


def test_every_demo_updates(small):
    demos = {k: v for k, v in viz.registered_demos().items() if k.startswith("05.")}
    assert set(demos) == {"05.flow_and_gd", "05.linearization", "05.ntk_ellipse", "05.spectral_bias"}
    for name, cls in demos.items():
        view = cls.interact()
        for key, ctrl in view.controls.items():
            for v in _values(ctrl, key):
                view.set(**{key: v})
        assert not view.errors, name
        assert view.figure.n_draws >= 2, name
        view.close()
