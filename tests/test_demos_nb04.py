"""Demos and computations of notebook 04 (ntk_teach.demos.nb04_lazy): numbers that could fail, and every
registered demo driven through its controls."""
import math

import numpy as np
import pytest
import torch

import ntk_teach
from ntk_teach import viz
from ntk_teach.demos import nb04_lazy as d


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_learning_rate_is_stable_and_fits_every_mode():
    x, y = d.data()
    lam = torch.linalg.eigvalsh(ntk_teach.analytic_ntk(x, b_std=d.B_STD)).numpy()
    assert d.LR * lam.max() < 2
    assert np.abs(1 - d.LR * lam).max() ** d.STEPS < 1e-3


def test_width_run_linear_part_is_gradient_descent_on_the_linearization():
    r = d.width_run(10)
    x, y = d.data()
    net = ntk_teach.MLP(10, b_std=d.B_STD, seed=0)
    lin = ntk_teach.linearize(net)
    res = ntk_teach.train(lin, x, y, lr=d.LR, steps=10, record_every=d.RECORD_EVERY, x_test=d.X_TEST)
    np.testing.assert_allclose(res.test_outputs.numpy(), r["test_lin"][:3], rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.outputs.numpy(), r["train_lin"][:3], rtol=0, atol=1e-10)
    # the closed-form distance of the linearized model is the distance it really travels
    np.testing.assert_allclose(res.param_distance, r["distance_lin"][:3], rtol=1e-9, atol=1e-12)


def test_wider_nets_move_relatively_less_and_as_far_as_their_linearization():
    small, large = d.width_run(10), d.width_run(100)
    assert small["loss"][-1] < 1e-4 and large["loss"][-1] < 1e-4
    # ||theta_0|| ~ n, distance O(1): tenfold width, about tenfold smaller relative change
    assert 4 < small["rel_change"][-1] / large["rel_change"][-1] < 25
    assert abs(large["distance"][-1] / large["distance_lin"][-1] - 1) < 0.05
    assert large["gap_rms"][-1] < small["gap_rms"][-1]


def test_ensemble_run_small():
    r = d.ensemble_run(n_nets=6, width=16, steps=20, record_every=5)
    assert r["loss"].shape == (5, 6) and r["test_outputs"].shape == (5, 6, d.X_TEST.numel())
    assert r["mean_ntk"].shape == (5, d.X_TEST.numel())
    assert np.all(r["loss"][-1] < 0.2 * r["loss"][0])
    np.testing.assert_allclose(r["mean_ntk"][0], 0.0, atol=1e-15)  # infinite-width mean starts at f_0 = 0


def test_kappa_sweep_fits():
    s = d.kappa_sweep("ntk")
    assert s["jacobian_norm"]["fit"].slope == pytest.approx(0.0, abs=0.03)
    assert -0.5 < s["hessian_norm"]["fit"].slope < -0.3
    assert s["hessian_norm"]["fit_corrected"].slope == pytest.approx(-0.5, abs=0.03)
    q = d.kappa_sweep("standard")
    assert q["jacobian_norm"]["fit"].slope == pytest.approx(0.5, abs=0.03)
    assert q["kappa"]["fit"].slope == pytest.approx(-1.0, abs=0.1)
    assert np.all(q["kappa"]["q1"] <= q["kappa"]["median"]) and np.all(q["kappa"]["median"] <= q["kappa"]["q3"])


def test_alpha_runs_scale_like_one_over_alpha():
    r10, r100 = d.alpha_run(10.0), d.alpha_run(100.0)
    assert r10["loss"] < 1e-6 and r100["loss"] < 1e-6
    assert r10["distance"] / r100["distance"] == pytest.approx(10.0, rel=0.02)
    assert r10["ntk_change"] / r100["ntk_change"] == pytest.approx(10.0, rel=0.2)
    assert r10["gap"] / r100["gap"] == pytest.approx(10.0, rel=0.2)


def test_kappa_of_the_centered_net_is_exactly_kappa1_over_alpha():
    k1 = d.kappa_centered(1.0)
    k30 = d.kappa_centered(30.0)
    assert k30["residual"] == pytest.approx(k1["residual"], rel=1e-14)   # centered: residual |y|
    assert k30["jacobian_norm"] == pytest.approx(30 * k1["jacobian_norm"], rel=1e-12)
    assert 30 * k30["kappa"] == pytest.approx(k1["kappa"], rel=1e-9)


def test_nearest_alpha_snaps_to_the_slider_grid():
    assert d._nearest_alpha(1.0) == 1.0
    assert d._nearest_alpha(1.7) == pytest.approx(10**0.25)
    assert d._nearest_alpha(1e-3) == pytest.approx(0.1)
    w = d._alpha_slider()
    assert all(math.isclose(10**w.min, a) or a > 10**w.min for a in d.ALPHAS) and len(d.ALPHAS) == 13
    for v in viz.control_values(w):  # any slider value is shown at a precomputed alpha within half a step
        assert abs(math.log10(d._nearest_alpha(v) / v)) <= 0.125 + 1e-9


OURS = sorted(name for name in viz.registered_demos() if name.startswith("04."))


def test_all_seven_demos_are_registered():
    assert OURS == ["04.alpha_network", "04.alpha_toy", "04.ensemble", "04.hidden_weights", "04.kappa_width",
                    "04.linearized", "04.weight_change"]


@pytest.mark.parametrize("name", OURS)
def test_demo_updates_through_its_controls(name):
    cls = viz.get_demo(name)
    view = cls.interact(backend="inline")
    try:
        for key, w in view.controls.items():
            values = viz.control_values(w, max_values=4)
            for v in values:
                view.set(**{key: v})
        assert not view.errors
        assert view.figure.n_draws >= 1 + sum(len(viz.control_values(w, max_values=4)) for w in view.controls.values())
        fig = cls.plot()
        assert len(fig.axes) >= 1
    finally:
        view.close()


def test_demos_blit_instead_of_redrawing():
    view = d.Linearized.interact(backend="inline")
    try:
        view.set(width=100)
        n_full = view.figure.n_full_draws
        for step in (0, 50, 100):
            view.set(step=step)
        assert view.figure.n_full_draws == n_full  # only animated artists changed
    finally:
        view.close()
