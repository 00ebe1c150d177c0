"""Notebook 02's demo module: computations behind the figures, and every demo updates."""
import numpy as np
import pytest

from ntk_teach import viz
from ntk_teach.demos import nb02_wide_networks as d


def test_gallery_band_fraction_is_gaussian_at_large_width():
    assert 0.90 < d.band_fraction(1024, 1.0) < 0.99


def test_depth_correlation_goes_to_one():
    rho = d.correlations_vs_depth(0.0)
    assert np.all(np.diff(rho, axis=0) >= -1e-12)
    assert 0.01 < np.max(1 - rho[-1]) < 0.1  # without bias: polynomially slow
    assert np.all(1 - d.correlations_vs_depth(0.1)[-1] < 1e-4)  # with bias: geometric


def test_covariance_sampling_error_formula():
    import torch

    K = torch.eye(4, dtype=torch.float64)
    # tr(I)^2 / ||I||_F^2 = 4 -> sqrt(5 / S)
    assert d.covariance_sampling_error(K, 20) == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["02.gallery", "02.recursion", "02.depth_correlation", "02.gp_vs_nets"])
def test_demos_update(name):
    cls = viz.get_demo(name)
    view = cls.interact(backend="inline")
    assert view.controls, name
    for param, widget in view.controls.items():
        for value in viz.control_values(widget, max_values=3):
            view.set(**{param: value})
