"""Tests of the demos of notebook 07 (ntk_teach.demos.nb07_pinn): their computations, and that every
registered "07." demo updates without error through its control values.

The full training runs of the notebook (Figure 2 and the remedy) take several seconds; here the
demo module's cached run functions are replaced by short runs of the same code (40 and 200 steps),
so the demos are driven through exactly their code paths in a few seconds."""
import math

import numpy as np
import pytest
import torch

from ntk_teach import pinn, viz
from ntk_teach.demos import nb07_pinn as d


@pytest.fixture(scope="module")
def short_runs():
    """Figure-2 runs (widths 10/100/500, 2 seeds, 40 steps) and remedy runs (200 steps), from the module's code."""
    problem = pinn.poisson_1d(d.FIG2_A)
    fig2 = {(w, s): pinn.train_pinn(d.pinn_net(w, s), problem, steps=40, lr=d.FIG2_LR, record_every=10)
            for s in (0, 1) for w in d.FIG2_WIDTHS}
    p2 = pinn.poisson_1d(d.REMEDY_A)
    remedy = {w: pinn.train_pinn(d.pinn_net(d.REMEDY_WIDTH), p2, steps=200, lr=d.REMEDY_LR, weighting=w,
                                 update_every=d.REMEDY_UPDATE, record_every=20, record_ntk=False)
              for w in ("none", "ntk")}
    return fig2, remedy


@pytest.fixture
def patched(monkeypatch, short_runs):
    fig2, remedy = short_runs
    monkeypatch.setattr(d, "figure2_runs", lambda *a, **k: fig2)
    monkeypatch.setattr(d, "remedy_runs", lambda *a, **k: remedy)
    monkeypatch.setattr(d, "REMEDY_STEPS", 200)
    return fig2, remedy


def test_the_net_is_the_papers():
    m = d.pinn_net(7, seed=1)
    assert m.depth == 1 and m.activation == "tanh" and m.parameterization == "ntk"
    assert m.w_mult == [1.0, 1.0 / math.sqrt(7)] and m.b_mult == [1.0, 1.0]


def test_width_scaling_of_the_parameter_and_ntk_change(short_runs):
    """NTK theory: both relative changes ~ m^(-1/2). 2 seeds x 40 steps: a single-seed slope varies by
    ~0.05, the finite-width correction at width 10 tilts the fit by ~0.05: accept |slope + 1/2| < 0.15."""
    sc = d.figure2_scaling(short_runs[0])
    for key in ("dtheta", "dK"):
        assert abs(sc[key + "_fit"].slope + 0.5) < 0.15, (key, sc[key + "_fit"])
        assert np.all(np.diff(sc[key + "_mean"]) < 0)
    assert sc["dtheta"].shape == (3, 2)


def test_a_sweep_claims():
    s = d.a_sweep()
    big = s["a"] >= 2
    from ntk_teach.stats import fit_loglog

    assert abs(fit_loglog(s["a"][big], s["loss_r0"][big]).slope - 4) < 0.15
    assert np.ptp(s["loss_b0"]) < 1e-12 * s["loss_b0"].mean()
    assert np.all(np.diff(s["error_plain"]) > 0) and np.all(s["error_plain"] > 10 * s["error_ntk"])


def test_linearized_run_starts_at_the_network_and_matches_the_package():
    t = np.array([0.0, 0.05])
    r = d.linearized_run(20, 3, t)
    net = d.pinn_net(20)
    p = pinn.poisson_1d(3)
    with torch.no_grad():
        u0 = pinn.pinn_u(net, p, d.X_TEST).numpy()
    assert np.allclose(r["plain"]["u_test"][0], u0, rtol=0, atol=1e-10)
    e_b, e_r = (v.detach() for v in pinn.pinn_residuals(net, p))
    K = pinn.pinn_ntk(net, p)
    ref = pinn.pinn_gradient_flow(K, e_b, e_r, t, lambda_b=r["lambda"][0], lambda_r=r["lambda"][1])
    assert np.allclose(r["ntk"]["loss_r"], ref["loss_r"], rtol=1e-8)
    # the NTK weights equalize the weighted traces
    Kc = d.kernel_at_init(20)
    tu, tr = Kc.traces()
    assert r["lambda"][0] * tu == pytest.approx(r["lambda"][1] * tr, rel=1e-12)


def test_spectrum_gap_and_standardization():
    for width in (10, 100):
        ev = d.kernel_at_init(width).eigenvalues()
        ev_raw = d.kernel_at_init(width, 0, standardize=False).eigenvalues()
        gap, gap_raw = ev["K_rr"][0] / ev["K_uu"][0], ev_raw["K_rr"][0] / ev_raw["K_uu"][0]
        assert gap > 1e3 and gap > 10 * gap_raw


def test_every_nb07_demo_updates_through_its_controls(patched):
    demos = {k: v for k, v in viz.registered_demos(load=False).items() if k.startswith("07.")}  # this module is imported
    assert set(demos) == {"07.pinn_ntk_spectrum", "07.ntk_change", "07.imbalance", "07.ntk_weights"}
    views = {}
    for name, cls in demos.items():
        view = cls.interact(backend="inline")
        pictures = {bytes(view.figure.widget.value)}
        for key, w in view.controls.items():
            for value in viz.control_values(w, max_values=2):
                view.set(**{key: value})
                pictures.add(bytes(view.figure.widget.value))
        assert not view.errors, (name, view.errors)
        assert len(pictures) > 1, f"{name}: the figure never changed"
        views[name] = view
    # the artists show what the controls ask for
    view = views["07.imbalance"]
    view.set(a=5, t=1.0, width=100)
    assert np.allclose(view.demo.l_exact.get_ydata(), np.sin(5 * math.pi * d.X_TEST))
    r = d.linearized_run(100, 5, np.array([1.0]))
    assert np.allclose(view.demo.l_plain.get_ydata(), r["plain"]["u_test"][0])
    spec = views["07.pinn_ntk_spectrum"]
    spec.set(width=50, inputs=d.INPUTS[0])
    assert np.allclose(spec.demo.l_rr.get_ydata(), np.maximum(d.kernel_at_init(50).eigenvalues()["K_rr"], 1e-12))
    w = views["07.ntk_weights"]
    w.set(record=3)
    assert np.allclose(w.demo.l_ntk.get_ydata(), patched[1]["ntk"].u_test[3])
    for v in views.values():
        v.close()


def test_a_sweep_figure():
    fig = d.plot_a_sweep()
    ax1, ax2 = fig.axes
    assert "slope 4.0" in ax1.get_legend().get_texts()[0].get_text()
    assert len(ax2.lines) == 2
