"""ntk_teach: the reference package of the ntk-teach course on the Neural Tangent Kernel.

Public names (notebooks, tests and outside checkers use exactly these):

Networks            MLP, centered, Centered, Ensemble
Kernels             analytic_nngp, analytic_ntk, kernel_recursion, ntk_layer_contributions
Empirical NTK       empirical_ntk, jacobian, mlp_ntk_by_layer
Lazy training       linearize, Linearized, jacobian_norm, hessian_norm, lazy_norms, kappa,
                    parameter_vector, relative_change
Dynamics (MSE)      mse_loss, gradient_flow_mse, gradient_descent_mse, mode_decomposition,
                    kernel_regression, train, TrainResult
Data                two_point_data, noisy_1d, tiny_1d, unit_circle, target_fn
Gaussian processes  rbf_kernel, gp_posterior, sample_gp, stable_cholesky
Statistics          fit_loglog, excess_kurtosis
Memory guard        set_memory_budget, memory_budget

Conventions: NTK parameterization unless stated (``h = w_std/sqrt(fan_in) W a + b_std b``,
params ~ N(0, 1)); loss ``1/2 * sum (f - y)^2``; float64 by default.
"""
__version__ = "0.1.0"

from ._validate import memory_budget, set_memory_budget
from .data import noisy_1d, target_fn, tiny_1d, two_point_data, unit_circle
from .dynamics import (
    Ensemble,
    TrainResult,
    gradient_descent_mse,
    gradient_flow_mse,
    kernel_regression,
    mode_decomposition,
    mse_loss,
    train,
)
from .empirical import empirical_ntk, jacobian, mlp_ntk_by_layer
from .gp import gp_posterior, rbf_kernel, sample_gp, stable_cholesky
from .kernels import analytic_nngp, analytic_ntk, kernel_recursion, ntk_layer_contributions
from .lazy import (
    Linearized,
    hessian_norm,
    jacobian_norm,
    kappa,
    lazy_norms,
    linearize,
    parameter_vector,
    relative_change,
)
from .nets import MLP, Centered, centered
from .stats import excess_kurtosis, fit_loglog
from . import checks, viz  # noqa: E402  (the widget/plotting kit and exercise self-checks)
from . import spectral  # noqa: E402  (notebook 05: NTK modes, kernel ellipses, frequencies, batched centered nets)
from . import predict  # noqa: E402  (notebook 06: infinite ensembles, NNGP posterior, spectral filters, min-norm)
