"""Notebook 03 (the neural tangent kernel): its computations and every registered demo.

The expensive experiments (Monte-Carlo sweeps, the Jacot Figure-1 training runs) are shrunk here by
patching the module's sizes; their caches are keyed on the sizes and cleared before and after, so
the notebook never sees the small versions.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ntk_teach
from ntk_teach import viz
from ntk_teach.demos import nb03_ntk as d
from ntk_teach.empirical import ntk_autograd_loop

CACHES = ("_limit_sweep", "_standard_sweep", "_jacot_runs", "_limit_curves", "_param_bars")


def _clear():
    for name in CACHES:
        getattr(d, name).cache_clear()


@pytest.fixture
def small(monkeypatch):
    """Small sizes for the sweeps and the training runs (the code paths are the same)."""
    _clear()
    monkeypatch.setattr(d, "SWEEP_WIDTHS", (8, 16, 32))
    monkeypatch.setattr(d, "SWEEP_SEEDS", 4)
    monkeypatch.setattr(d, "STANDARD_SEEDS", 3)
    monkeypatch.setattr(d, "JACOT", {**d.JACOT, "widths": (8, 32), "n_seeds": 2, "steps": 6, "record_every": 3,
                                     "n_circle": 16})
    yield
    _clear()


# ---- section 1: one gradient step -------------------------------------------------------------

def test_gd_step_error_is_first_order_in_eta():
    errs = d.gd_step_errors(width=32, seed=1)
    small_eta = d.ETAS <= 1e-4
    slope = ntk_teach.fit_loglog(d.ETAS[small_eta], errs[small_eta]).slope
    assert abs(slope - 1) < 0.01  # relative error a*eta: the step is -eta Theta r + O(eta^2)
    actual, pred = d.gd_step_change(width=32, seed=1, eta=1e-6)
    assert actual.shape == pred.shape == d.X_GRID.shape
    assert float(torch.linalg.norm(actual - pred) / torch.linalg.norm(pred)) < 1e-4


def test_mean_loss_step_is_a_sum_loss_step_of_eta_over_n():
    n = len(d.X_TRAIN)
    a_mean, p_mean = d.gd_step_change(width=16, seed=2, eta=0.6, x=d.X_TRAIN, loss="mean")
    a_sum, p_sum = d.gd_step_change(width=16, seed=2, eta=0.6 / n, x=d.X_TRAIN)
    assert torch.allclose(a_mean, a_sum, rtol=1e-12, atol=1e-15) and torch.allclose(p_mean, p_sum, rtol=1e-12)
    with pytest.raises(ValueError, match="loss must be"):
        d.gd_step_change(width=16, loss="median")


def test_gd_step_prediction_uses_the_ntk_and_the_residual():
    model = ntk_teach.MLP(16, seed=3)
    with torch.no_grad():
        r = model(d.X_TRAIN) - d.Y_TRAIN
    x = torch.tensor([-1.0, 0.25, 2.0], dtype=torch.float64)
    _, pred = d.gd_step_change(width=16, seed=3, eta=0.01, x=x)
    assert torch.allclose(pred, -0.01 * ntk_teach.empirical_ntk(model, x, d.X_TRAIN) @ r, rtol=1e-12)


# ---- section 2: features ----------------------------------------------------------------------

def test_feature_coordinates_are_columns_of_the_jacobian():
    model = ntk_teach.MLP(6, seed=4)
    x = torch.linspace(-2, 2, 7, dtype=torch.float64)
    params = list(model.parameters())  # columns of J: weights.0 (6x1), biases.0, weights.1 (6x6), biases.1, ...
    J = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(model(x[i:i + 1])[0], params)])
                     for i in range(len(x))])
    names = [n for n, _ in model.named_parameters()]
    offsets = dict(zip(names, np.cumsum([0] + [p.numel() for _, p in model.named_parameters()])[:-1]))
    coords = [("W1", 2, 0), ("W2", 4, 1), ("W3", 0, 5)]
    F = d.feature_coordinates(model, x, coords)
    for c, (g, j, k) in enumerate(coords):
        W = model.weights[int(g[1]) - 1]
        col = int(offsets[f"weights.{int(g[1]) - 1}"]) + j * W.shape[1] + k
        assert torch.allclose(F[:, c], J[:, col], rtol=1e-12, atol=1e-14)
    top = d.largest_features(model, x, per_layer=1)
    for g, j, k in top:  # the largest column of each layer's weights
        l = int(g[1]) - 1
        W = model.weights[l]
        start = int(offsets[f"weights.{l}"])
        norms = J[:, start:start + W.numel()].norm(dim=0)
        assert int(norms.argmax()) == j * W.shape[1] + k


# ---- section 3: four methods ------------------------------------------------------------------

def test_autograd_loop_and_timing_table_agree_with_structured():
    model = ntk_teach.MLP(12, seed=5)
    x1, x2 = torch.linspace(-1, 1, 4, dtype=torch.float64), torch.tensor([0.5, 3.0], dtype=torch.float64)
    assert torch.allclose(ntk_autograd_loop(model, x1, x2), ntk_teach.empirical_ntk(model, x1, x2), rtol=1e-12)
    K = ntk_autograd_loop(model, x1)
    assert torch.allclose(K, K.T, rtol=1e-14) and K.shape == (4, 4)
    old = torch.get_num_threads()
    rows = d.timing_table(widths=(4, 8), n_inputs=5)
    assert torch.get_num_threads() == old
    assert {r["method"] for r in rows} == {"autograd loop", "jacobian", "ntk_vp", "structured"} and len(rows) == 8
    assert max(r["max_abs_diff"] / r["scale"] for r in rows) < 1e-12
    assert all(r["ms"] > 0 for r in rows)
    text = d.format_timing_table(rows)
    assert "structured" in text and len(text.splitlines()) == 4
    with pytest.raises(TypeError):
        ntk_autograd_loop("not a model", x1)


# ---- section 4 and 7: per-layer contributions ----------------------------------------------------

def test_standard_contributions_sum_to_the_standard_ntk_and_scale_with_width():
    x = torch.linspace(-2, 2, 4, dtype=torch.float64)
    for m in (16, 256):
        parts = d.standard_contributions(x, width=m)
        assert torch.allclose(sum(parts.values()), ntk_teach.analytic_ntk(x, parameterization="standard", width=m),
                              rtol=1e-12)
    ntk_parts = ntk_teach.ntk_layer_contributions(x)
    std16, std256 = d.standard_contributions(x, width=16), d.standard_contributions(x, width=256)
    assert torch.allclose(std16["W1"], ntk_parts["W1"])  # fan-in 1 and w_std = 1: the same
    for g in ("W2", "W3"):  # hidden and readout weights: fan_in * (NTK-parameterization value)
        assert torch.allclose(std256[g], 256 * ntk_parts[g], rtol=1e-12)
    for g in ("b1", "b2", "b3"):  # biases: 1 instead of b_std^2
        assert torch.allclose(std16[g], ntk_parts[g] / 0.1**2, rtol=1e-10)


# ---- section 5: the limit sweep (small) ----------------------------------------------------------

def test_limit_sweep_uses_module_sizes_and_fits(small):
    sw = d.limit_sweep()
    assert tuple(sw.widths) == (8, 16, 32) and sw.n_seeds == 4
    assert d.limit_sweep() is sw  # cached
    st = d.standard_sweep()
    assert st.parameterization == "standard" and st.n_seeds == 3
    assert st.statistic()[0][-1] > 2 * st.statistic()[0][0]  # grows with the width


# ---- section 6: Jacot et al. Figure 1 (small) -----------------------------------------------------

def test_jacot_runs_record_the_ntk_on_the_circle(small):
    gamma, limit, runs = d.jacot_runs()
    assert gamma.shape == (16,) and limit.shape == (16,) and set(runs) == {8, 32}
    run = runs[8]
    assert run.kernels.shape == (2, 3, 1, 16) and list(run.steps) == [0, 3, 6]
    # x0 = (1, 0) is the circle point at gamma = 0, so Theta(x0, x(0)) = Theta(x0, x0) > 0 at init
    i0 = int(np.argmin(np.abs(gamma)))
    assert np.allclose(limit[i0], float(ntk_teach.analytic_ntk(torch.tensor([[1.0, 0.0]]), depth=3)[0, 0]))
    x, y = d.jacot_data()
    assert torch.equal(y, x[:, 0] * x[:, 1]) and x.shape == (d.JACOT["n_train"], 2)


# ---- every registered demo updates through a few control values ------------------------------------

EXPECTED = {"03.gd_step", "03.feature_map", "03.layer_contributions", "03.deterministic_limit",
            "03.jacot_figure1", "03.parameterization"}


def test_registered_demos_are_the_six():
    names = {n for n in viz.registered_demos(load=False) if n.startswith("03.")}  # this module is imported
    assert names == EXPECTED


def _pixels(view):
    return view.figure.widget.value  # the PNG the inline view shows


@pytest.mark.parametrize("name", sorted(EXPECTED - {"03.jacot_figure1"}))
def test_demo_updates_through_widths_and_seeds(name, small):
    cls = viz.registered_demos(load=False)[name]
    view = cls.interact(backend="inline", width=16)
    try:
        first = _pixels(view)
        values = {"width": [8, 32], "seed": [1], "eta": [1e-4, 1.0]}
        changed = False
        for key, vals in values.items():
            if key not in view.controls:
                continue
            for v in vals:
                view.set(**{key: v})
                assert view.controls[key].value == v
                changed |= _pixels(view) != first
        assert changed, f"{name}: the figure never changed"
        assert not view.errors
    finally:
        view.close()


def test_jacot_demo_scrubs_through_training(small):
    view = d.JacotFigure1.interact(backend="inline", step=6)
    try:
        line = view.demo.lines[8][0]
        end = np.array(line.get_ydata(), copy=True)
        view.set(step=0)
        start = np.array(line.get_ydata(), copy=True)
        _, _, runs = d.jacot_runs()
        assert np.allclose(start, runs[8].kernels[0, 0, 0].numpy())
        assert np.allclose(end, runs[8].kernels[0, -1, 0].numpy())
        view.set(step=3)
        assert np.allclose(line.get_ydata(), runs[8].kernels[0, 1, 0].numpy())
        assert not view.errors
    finally:
        view.close()


def test_static_plot_functions_return_figures(small):
    for fn in (d.plot_gd_step, d.plot_layer_contributions, d.plot_parameterization):
        fig = fn(width=16)
        assert len(fig.axes) >= 1
    fig = d.plot_jacot_figure1(step=3)
    assert "width 8" in fig.axes[0].get_title()
    assert math.isclose(float(d.ETAS[0]), 1e-6)
