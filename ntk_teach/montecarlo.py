"""Monte Carlo over random initializations: empirical kernels of many seeds and their distance to the limit.

The infinite-width kernels of :mod:`ntk_teach.kernels` are statements about the
*distribution* of a network at initialization. This module draws that distribution,
one seed at a time, and measures how far a finite network is from the limit:

* :func:`empirical_nngp`: the NNGP kernel *of one network*, i.e. the covariance of its
  output over the readout weights given the last hidden layer,
  ``w_std^2 / n_L * a^L(x) . a^L(x') + b_std^2``; it converges to
  :func:`~ntk_teach.analytic_nngp` as the width grows, like the empirical NTK converges
  to :func:`~ntk_teach.analytic_ntk`.
* :func:`kernel_samples`: empirical NTKs (or NNGPs) of ``n_seeds`` independent networks,
  shape ``(S, N1, N2)``; :func:`output_samples`: their outputs, shape ``(S, N)``.
* :func:`limit_kernel`: the matching infinite-width kernel for the same ``MLP`` keywords
  (the width-dependent one for the standard parameterization).
* :func:`deviation_vs_width`: for each width, the relative Frobenius distance
  ``d_s = ||K_s - K_inf||_F / ||K_inf||_F`` of every seed, returned as a
  :class:`WidthSweep` whose :meth:`WidthSweep.fit` fits ``rms_s(d_s) ~ C m^slope`` by
  weighted least squares with the standard errors *propagated from the seeds*
  (so a tolerance on the slope can be derived, not guessed). For the NTK and the
  NNGP of an MLP at fixed depth the theory gives slope ``-1/2``: fluctuations
  have variance ``O(1/m)`` and the mean's bias is ``O(1/m)``.
* :func:`kernel_trajectories`: train each of ``n_seeds`` networks by full-batch gradient
  descent and record ``Theta(x1, x2)`` on probe points every few steps (Jacot et al. 2018,
  Figure 1: the NTK moves during training, less for wider networks).

Seeds: network ``s`` of a call with ``seed`` is ``MLP(width, seed=seed + s, ...)``, exactly
the ``s``-th member of ``Ensemble(n_seeds, width, seed=seed)``. In a width sweep, the
``k``-th width uses ``seed + k * n_seeds + s``, so different widths are independent draws
(the standard errors assume it).

Everything is float64 unless ``dtype`` is passed through ``mlp_kwargs``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._threads import torch_threads
from ._validate import as_tensor, check_choice, check_float, check_int, check_memory
from .empirical import empirical_ntk
from .kernels import analytic_nngp, analytic_ntk
from .nets import MLP
from .stats import Fit

KINDS = ("ntk", "nngp")


def intra_op_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` and restore the previous setting (``n=None``: leave it).

    The loops of this module evaluate many *small* networks one after another; on a busy 2-core
    machine the same Monte Carlo loop ran 10-50x slower with 2 threads than with 1, so these
    functions default to ``threads=1`` (see :mod:`ntk_teach._threads`).
    """
    if n is not None:
        check_int("threads", n, minimum=1)
    return torch_threads(n)


# ------------------------------------------------------------------ one network
@torch.no_grad()
def empirical_nngp(model: MLP, x1, x2=None) -> torch.Tensor:
    """The NNGP kernel of one network: ``w_std^2 / n_L * a^L(x1) a^L(x2)^T + b_std^2``, shape ``(N1, N2)``.

    ``a^L`` are the last hidden layer's post-activations. Given the hidden layers, the
    output ``f = w_std/sqrt(n_L) w . a^L + b_std b`` with ``w, b ~ N(0, 1)`` (NTK
    parameterization; the standard one has the same law) is Gaussian with exactly this
    covariance; as ``n_L -> infinity`` it converges to ``analytic_nngp`` (``Sigma^{L+1}``).
    Uses the model's ``w_std``/``b_std`` of construction (not trained values).
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be an ntk_teach.MLP, got {type(model).__name__}")
    _, post1 = model.layer_forward(x1)
    a1 = post1[-1]
    a2 = a1 if x2 is None else model.layer_forward(x2)[1][-1]
    n = a1.shape[1]
    k = (model.w_std**2 / n) * (a1 @ a2.T) + model.b_std**2
    if x2 is None:
        k = 0.5 * (k + k.T)
    return k


def _mlp_kwargs(mlp_kwargs: dict) -> dict:
    bad = sorted(set(mlp_kwargs) - {"depth", "d_in", "activation", "parameterization", "w_std", "b_std", "dtype"})
    if bad:
        raise TypeError(f"unknown MLP keyword(s) {bad}; allowed: depth, d_in, activation, parameterization, "
                        "w_std, b_std, dtype (width and seed are arguments of their own)")
    return dict(mlp_kwargs)


def _one_kernel(kind, model, x1, x2):
    if kind == "ntk":
        return empirical_ntk(model, x1, x2, method="structured")
    return empirical_nngp(model, x1, x2)


# ------------------------------------------------------------------ many seeds
def kernel_samples(x1, x2=None, *, width: int, n_seeds: int, seed: int = 0, kind: str = "ntk",
                   threads: int | None = 1, **mlp_kwargs) -> torch.Tensor:
    """Empirical kernels of ``n_seeds`` independent networks at initialization, shape ``(S, N1, N2)``.

    Parameters
    ----------
    x1, x2 : inputs ``(N,)`` or ``(N, d_in)`` (``x2=None``: ``x2 = x1``).
    width, n_seeds : int >= 1
    seed : network ``s`` is ``MLP(width, seed=seed + s, **mlp_kwargs)``.
    kind : ``"ntk"`` (structured empirical NTK) or ``"nngp"`` (:func:`empirical_nngp`).
    threads : torch intra-op threads during the loop (see :func:`intra_op_threads`; None: unchanged).
    mlp_kwargs : ``depth``, ``d_in``, ``activation``, ``parameterization``, ``w_std``, ``b_std``, ``dtype``.

    The networks are built one at a time (memory: one network), so the cost is
    ``n_seeds`` times that of one network (at width 1024, depth 2: ~10 ms each, mostly drawing weights).
    """
    check_choice("kind", kind, KINDS)
    width = check_int("width", width, minimum=1)
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    kw = _mlp_kwargs(mlp_kwargs)
    out = []
    with intra_op_threads(threads):
        for s in range(n_seeds):
            model = MLP(width, seed=seed + s, **kw)
            out.append(_one_kernel(kind, model, x1, x2))
    return torch.stack(out)


@torch.no_grad()
def output_samples(x, *, width: int, n_seeds: int, seed: int = 0, threads: int | None = 1,
                   **mlp_kwargs) -> torch.Tensor:
    """Outputs ``f(x; theta_0)`` of ``n_seeds`` independent networks, shape ``(S, N)``.

    Network ``s`` is ``MLP(width, seed=seed + s, **mlp_kwargs)`` (``threads``: see :func:`kernel_samples`). Their empirical covariance
    over seeds estimates :func:`~ntk_teach.analytic_nngp` (up to ``O(1/width)`` and a Monte Carlo
    error ``O(1/sqrt(n_seeds))``).
    """
    width = check_int("width", width, minimum=1)
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    kw = _mlp_kwargs(mlp_kwargs)
    with intra_op_threads(threads):
        return torch.stack([MLP(width, seed=seed + s, **kw)(x) for s in range(n_seeds)])


def limit_kernel(x1, x2=None, *, kind: str = "ntk", width: int | None = None, **mlp_kwargs) -> torch.Tensor:
    """The infinite-width kernel that :func:`kernel_samples` converges to, float64 ``(N1, N2)``.

    ``kind="ntk"``: :func:`~ntk_teach.analytic_ntk`; with ``parameterization="standard"`` it is the
    width-dependent standard-parameterization NTK and needs ``width``. ``kind="nngp"``:
    :func:`~ntk_teach.analytic_nngp` (the same for both parameterizations).
    """
    check_choice("kind", kind, KINDS)
    kw = _mlp_kwargs(mlp_kwargs)
    kw.pop("dtype", None)
    d_in = kw.pop("d_in", None)
    param = kw.pop("parameterization", "ntk")
    x1 = _as_limit_input(x1, d_in, "x1")
    x2 = None if x2 is None else _as_limit_input(x2, d_in, "x2")
    if kind == "nngp":
        return analytic_nngp(x1, x2, **kw)
    if param == "standard":
        if width is None:
            raise ValueError("parameterization='standard' needs width: its NTK grows with the width")
        return analytic_ntk(x1, x2, parameterization="standard", width=width, **kw)
    return analytic_ntk(x1, x2, **kw)


def _as_limit_input(x, d_in, name):
    t = as_tensor(name, x, torch.float64)
    if d_in is not None and t.ndim == 1 and d_in == 1:
        t = t[:, None]
    if d_in is not None and (t.ndim != 2 or t.shape[1] != d_in):
        raise ValueError(f"{name} must have shape (N, {d_in}) for d_in={d_in}, got {tuple(t.shape)}")
    return t


def relative_deviation(samples: torch.Tensor, limit: torch.Tensor) -> np.ndarray:
    """``||K_s - K_inf||_F / ||K_inf||_F`` for each sample ``K_s`` of ``samples`` ``(S, N1, N2)``; shape ``(S,)``."""
    samples = as_tensor("samples", samples, torch.float64)
    limit = as_tensor("limit", limit, torch.float64)
    if samples.ndim != 3 or samples.shape[1:] != limit.shape:
        raise ValueError(f"samples must have shape (S, {tuple(limit.shape)}), got {tuple(samples.shape)}")
    ref = float(torch.linalg.norm(limit))
    if ref == 0.0:
        raise ValueError("limit is the zero matrix; a relative deviation is undefined")
    return (torch.linalg.norm(samples - limit, dim=(1, 2)) / ref).numpy()


# ------------------------------------------------------------------ width sweeps
def fit_loglog_weighted(x, y, se_log_y) -> Fit:
    """Weighted least-squares fit ``log y = slope log x + c`` with known standard errors of ``log y``.

    Weights ``1 / se_log_y^2``. The slope's ``stderr`` is *propagated* from ``se_log_y``:
    ``1 / sqrt(sum_k w_k (log x_k - mean_w log x)^2)``. Unlike the residual-based error of
    :func:`ntk_teach.fit_loglog` it says what the data's noise allows, also when a few points
    happen to lie on a line; use it to derive a tolerance (e.g. ``3 * stderr``).
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    se = np.asarray(se_log_y, dtype=float).reshape(-1)
    if not (x.shape == y.shape == se.shape) or x.size < 3:
        raise ValueError(f"x, y and se_log_y must have the same length >= 3, got {x.size}, {y.size}, {se.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(x > 0) and np.all(y > 0)):
        raise ValueError("x and y must be finite and > 0 for a log-log fit")
    if not (np.all(np.isfinite(se)) and np.all(se > 0)):
        raise ValueError("se_log_y must be finite and > 0")
    lx, ly, w = np.log(x), np.log(y), 1.0 / se**2
    xb = (w * lx).sum() / w.sum()
    yb = (w * ly).sum() / w.sum()
    sxx = (w * (lx - xb) ** 2).sum()
    slope = float((w * (lx - xb) * (ly - yb)).sum() / sxx)
    return Fit(slope, float(yb - slope * xb), float(1.0 / math.sqrt(sxx)))


def chi2_per_dof(x, y, se_log_y, fit: Fit) -> float:
    """Weighted residual sum of squares of a log-log ``fit`` per degree of freedom (about 1 if the line is adequate)."""
    x, y, se = (np.asarray(v, dtype=float).reshape(-1) for v in (x, y, se_log_y))
    r = (np.log(y) - (fit.slope * np.log(x) + fit.intercept)) / se
    return float((r**2).sum() / max(x.size - 2, 1))


@dataclass
class WidthSweep:
    """What :func:`deviation_vs_width` measured.

    Attributes
    ----------
    widths : (W,) int array
    samples : (W, S, N1, N2) tensor, the empirical kernel of every seed at every width
    limit : (W, N1, N2) tensor, the infinite-width kernel (the same for every width except
        for the standard-parameterization NTK, which grows with the width)
    kind, parameterization : what was sampled
    """

    widths: np.ndarray
    samples: torch.Tensor
    limit: torch.Tensor
    kind: str
    parameterization: str

    @property
    def n_seeds(self) -> int:
        return int(self.samples.shape[1])

    @property
    def mean(self) -> torch.Tensor:
        """The mean kernel over seeds at each width, ``(W, N1, N2)``."""
        return self.samples.mean(1)

    @property
    def std(self) -> torch.Tensor:
        """The seed-to-seed standard deviation of each entry (``ddof = 1``), ``(W, N1, N2)``."""
        return self.samples.std(1, correction=1)

    @property
    def deviation(self) -> np.ndarray:
        """``d_s = ||K_s - K_inf||_F / ||K_inf||_F`` per width and seed, ``(W, S)``."""
        return np.stack([relative_deviation(self.samples[k], self.limit[k]) for k in range(len(self.widths))])

    @property
    def rms(self) -> np.ndarray:
        """Root mean square relative deviation over seeds, ``sqrt(mean_s d_s^2)``, per width."""
        return np.sqrt((self.deviation**2).mean(axis=1))

    @property
    def log_rms_stderr(self) -> np.ndarray:
        """Standard error of ``log(rms)`` per width, from the seeds (delta method).

        ``se(log rms) = se(mean d^2) / (2 mean d^2)`` with ``se(mean d^2) = sd(d^2) / sqrt(S)``;
        about ``1 / sqrt(2 S)`` when ``d_s^2`` is roughly exponentially distributed.
        """
        d2 = self.deviation**2
        return d2.std(axis=1, ddof=1) / math.sqrt(d2.shape[1]) / (2 * d2.mean(axis=1))

    @property
    def relative_spread(self) -> np.ndarray:
        """Seed-to-seed spread relative to the limit, ``||std||_F / ||K_inf||_F``, per width."""
        return (torch.linalg.norm(self.std, dim=(1, 2)) / torch.linalg.norm(self.limit, dim=(1, 2))).numpy()

    def fit(self) -> Fit:
        """Fit ``rms ~ C m^slope`` (:func:`fit_loglog_weighted`, errors propagated from the seeds); theory ``-1/2``."""
        return fit_loglog_weighted(self.widths, self.rms, self.log_rms_stderr)

    def chi2_per_dof(self) -> float:
        """:func:`chi2_per_dof` of :meth:`fit` (about 1 when a power law describes the RMS deviation)."""
        return chi2_per_dof(self.widths, self.rms, self.log_rms_stderr, self.fit())

    def statistic(self, fn=None):
        """Mean over seeds of a per-network scalar and the standard error of its log, per width.

        ``fn`` maps the ``(S, N1, N2)`` kernels of one width to ``(S,)`` values (default: the mean
        diagonal, ``trace / N``). Returns ``(mean (W,), se_log (W,))`` with
        ``se_log = sd / (sqrt(S) * mean)``, ready for :func:`fit_loglog_weighted`.
        """
        if fn is None:
            def fn(k):
                return torch.diagonal(k, dim1=-2, dim2=-1).mean(-1)
        vals = np.stack([np.asarray(fn(self.samples[k]), dtype=float) for k in range(len(self.widths))])
        mean = vals.mean(1)
        return mean, vals.std(1, ddof=1) / math.sqrt(vals.shape[1]) / np.abs(mean)


def deviation_vs_width(x1, x2=None, *, widths, n_seeds: int, seed: int = 0, kind: str = "ntk",
                       threads: int | None = 1, **mlp_kwargs) -> WidthSweep:
    """Empirical kernels of ``n_seeds`` networks at each width, against the infinite-width kernel.

    The ``k``-th width uses seeds ``seed + k * n_seeds + s`` (``s < n_seeds``), so widths are
    independent draws. Returns a :class:`WidthSweep`; ``sweep.fit()`` gives the log-log slope of
    the RMS relative deviation with a standard error derived from the seeds (theory: ``-1/2``).
    Cost: ``n_seeds * len(widths)`` networks (widths 16..1024 with 48 seeds: ~1 s of CPU at depth 2).
    """
    check_choice("kind", kind, KINDS)
    widths = [check_int("widths[i]", w, minimum=1) for w in widths]
    if len(widths) < 3:
        raise ValueError(f"widths needs at least 3 values to fit a slope, got {len(widths)}")
    n_seeds = check_int("n_seeds", n_seeds, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    kw = _mlp_kwargs(mlp_kwargs)
    param = kw.get("parameterization", "ntk")
    by_width = kind == "ntk" and param == "standard"
    n1 = len(x1)
    n2 = n1 if x2 is None else len(x2)
    check_memory(f"{len(widths)} x {n_seeds} kernels of shape {n1} x {n2}", 8 * len(widths) * n_seeds * n1 * n2,
                 "Use fewer seeds, widths or inputs.")
    samples, limits = [], []
    for k, m in enumerate(widths):
        samples.append(kernel_samples(x1, x2, width=m, n_seeds=n_seeds, seed=seed + k * n_seeds, kind=kind,
                                      threads=threads, **kw).to(torch.float64))
        if by_width or not limits:
            limits.append(limit_kernel(x1, x2, kind=kind, width=m if by_width else None, **kw))
        else:
            limits.append(limits[0])
    return WidthSweep(widths=np.array(widths), samples=torch.stack(samples), limit=torch.stack(limits),
                      kind=kind, parameterization=param)


# ------------------------------------------------------------------ kernels during training
@dataclass
class KernelTrajectories:
    """What :func:`kernel_trajectories` recorded.

    ``steps`` (R,) the recorded gradient-descent steps (0 first); ``kernels`` (S, R, N1, N2) the
    empirical NTK on the probe points; ``loss`` (S, R) the training loss ``1/2 sum (f - y)^2``;
    ``lr`` the step size (gradient-flow time ``t = lr * step``).
    """

    steps: np.ndarray
    kernels: torch.Tensor
    loss: np.ndarray
    lr: float

    @property
    def times(self) -> np.ndarray:
        return self.lr * self.steps

    def relative_change(self) -> np.ndarray:
        """``||Theta_t - Theta_0||_F / ||Theta_0||_F`` per seed and record, shape ``(S, R)``."""
        k0 = self.kernels[:, :1]
        return (torch.linalg.norm(self.kernels - k0, dim=(2, 3)) / torch.linalg.norm(k0, dim=(2, 3))).numpy()


def kernel_trajectories(x_train, y_train, probe1, probe2=None, *, width: int, n_seeds: int, lr: float,
                        steps: int, record_every: int = 1, seed: int = 0, threads: int | None = 1,
                        **mlp_kwargs) -> KernelTrajectories:
    """Train ``n_seeds`` networks by full-batch gradient descent; record ``Theta(probe1, probe2)`` as they train.

    Network ``s`` is ``MLP(width, seed=seed + s, **mlp_kwargs)``, trained on the course loss
    ``L = 1/2 sum_i (f(x_i) - y_i)^2`` with ``theta <- theta - lr * grad L`` (the same update as
    :func:`ntk_teach.train`, in a lean loop without its bookkeeping), recorded at step 0, every
    ``record_every`` steps and at the end. Raises ``FloatingPointError`` if the loss stops being
    finite (``lr`` above ``2 / lambda_max`` of the NTK). ``threads``: see :func:`intra_op_threads`.
    """
    width = check_int("width", width, minimum=1)
    n_seeds = check_int("n_seeds", n_seeds, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    kw = _mlp_kwargs(mlp_kwargs)
    marks = sorted(set(range(0, steps + 1, record_every)) | {steps})
    n1 = len(probe1)
    n2 = n1 if probe2 is None else len(probe2)
    check_memory(f"{n_seeds} x {len(marks)} recorded {n1} x {n2} kernels", 8 * n_seeds * len(marks) * n1 * n2,
                 "Record less often (record_every) or use fewer probe points.")
    with intra_op_threads(threads):
        kernels, losses = _train_and_record(x_train, y_train, probe1, probe2, width, n_seeds, lr, steps, marks,
                                            seed, kw)
    return KernelTrajectories(steps=np.array(marks), kernels=torch.stack(kernels), loss=np.array(losses), lr=lr)


def _train_and_record(x_train, y_train, probe1, probe2, width, n_seeds, lr, steps, marks, seed, kw):
    mark_set = set(marks)
    kernels, losses = [], []
    for s in range(n_seeds):
        model = MLP(width, seed=seed + s, **kw)
        x = model.prepare_input(x_train)
        y = as_tensor("y_train", y_train, model.dtype).reshape(-1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y_train must have one target per input ({x.shape[0]}), got {y.shape[0]}")
        params = [p for p in model.parameters() if p.requires_grad]
        ks, ls = [], []
        for k in range(steps + 1):
            loss = 0.5 * ((model(x) - y) ** 2).sum()
            if not bool(torch.isfinite(loss)):
                raise FloatingPointError(f"training diverged at step {k} (seed {seed + s}); lower lr={lr} "
                                         "(gradient descent needs lr < 2 / lambda_max of the NTK)")
            if k in mark_set:
                ls.append(float(loss.detach()))
                ks.append(empirical_ntk(model, probe1, probe2, method="structured"))
            if k == steps:
                break
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.sub_(lr * g)
        kernels.append(torch.stack(ks))
        losses.append(ls)
    return kernels, losses
