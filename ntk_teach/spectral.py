"""The spectral view of training: NTK eigen-modes, the two-point kernel ellipse, frequencies,
and centered networks trained while their NTK is tracked.

Conventions of the course (see CONTRIBUTING.md): loss ``L = 1/2 sum_i (f(x_i) - y_i)^2``, so with a
constant kernel ``Theta`` the residual ``u = f(X) - y`` obeys ``du/dt = -eta Theta u`` under gradient
flow and ``u_{k+1} = (I - eta Theta) u_k`` under gradient descent. With ``Theta = Q diag(lambda) Q^T``
(eigenvectors are the COLUMNS ``Q[:, i]``, eigenvalues descending) the coordinates ``c = Q^T u``
decouple::

    flow:  c_i(t) = exp(-eta lambda_i t) c_i(0)        GD:  c_i(k) = (1 - eta lambda_i)^k c_i(0)

so GD is stable iff ``|1 - eta lambda_i| < 1`` for every mode, i.e. ``eta < 2 / lambda_max``.

The kernel ellipse (notebook 05, "Understanding the NTK", rajatvd.github.io/NTK). ``du/dt = -eta Theta u``
is the *Euclidean* gradient flow of ``E(u) = 1/2 u^T Theta u``; note that ``E = 1/2 ||grad_theta L||^2``,
the squared parameter-gradient norm. A gradient flow crosses the level sets of its potential at right
angles, so the natural picture of ``Theta`` in output space is the ellipse ``u^T Theta u = c`` centred on
the targets: semi-axes along ``Q[:, i]`` with lengths ``sqrt(c / lambda_i)``, i.e. proportional to
``1/sqrt(lambda_i)`` (:func:`kernel_ellipse` with ``power=0.5``). The blog post says "inversely
proportional to the eigenvalues" (``power=1``): that ellipse, ``u^T Theta^2 u = c``, is a level set of the
output *speed* ``|du/dt|``; trajectories do not cross it at right angles.

Everything here is float64 and uses only torch/numpy (and :class:`ntk_teach.Ensemble` for the batched
training in :func:`train_centered_members`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._threads import torch_threads
from ._validate import as_tensor, check_float, check_int
from .dynamics import _eig

__all__ = [
    "single_thread", "modes", "mode_coordinates", "gd_mode_coordinates", "gd_factors", "max_stable_lr",
    "kernel_ellipse", "angle_between", "sign_changes", "component_coefficients", "remaining_fraction",
    "time_to_fraction", "MemberRun", "train_centered_members",
]


def single_thread():
    """Run torch on one intra-op thread inside the block, then restore it; see :mod:`ntk_teach._threads`."""
    return torch_threads(1)


# ---------------------------------------------------------------------------- modes
def modes(K):
    """Eigenvalues (descending) and eigenvectors (columns ``Q[:, i]``) of a symmetric PSD kernel matrix."""
    lam, Q = _eig(K)
    return lam.flip(0), Q.flip(1)


def mode_coordinates(K, u0, t, *, eta: float = 1.0):
    """Coordinates ``c_i(t) = exp(-eta lambda_i t) c_i(0)`` of the gradient-flow residual.

    Returns ``(lam, Q, c)`` with ``c`` of shape ``(T, N)`` (``u(t) = Q c(t)``), eigenvalues descending.
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, Q = modes(K)
    u0 = as_tensor("u0", u0, torch.float64).reshape(-1)
    if u0.shape[0] != lam.shape[0]:
        raise ValueError(f"u0 must have {lam.shape[0]} entries, got {u0.shape[0]}")
    t = as_tensor("t", t, torch.float64).reshape(-1)
    if bool((t < 0).any()):
        raise ValueError("t must be >= 0")
    c0 = Q.T @ u0
    return lam, Q, torch.exp(-eta * t[:, None] * lam[None, :]) * c0[None, :]


def gd_mode_coordinates(K, u0, steps, *, eta: float):
    """Coordinates ``c_i(k) = (1 - eta lambda_i)^k c_i(0)`` after ``k`` gradient-descent steps; ``(lam, Q, c)``."""
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, Q = modes(K)
    u0 = as_tensor("u0", u0, torch.float64).reshape(-1)
    if u0.shape[0] != lam.shape[0]:
        raise ValueError(f"u0 must have {lam.shape[0]} entries, got {u0.shape[0]}")
    k = torch.as_tensor(steps, dtype=torch.float64).reshape(-1)
    if bool((k < 0).any()) or not bool((k == k.round()).all()):
        raise ValueError("steps must be whole numbers >= 0")
    c0 = Q.T @ u0
    return lam, Q, torch.pow((1.0 - eta * lam)[None, :], k[:, None]) * c0[None, :]


def gd_factors(K, eta: float):
    """Per-mode gradient-descent factors ``1 - eta lambda_i`` (eigenvalues descending); ``(lam, factors)``.

    Mode ``i`` shrinks iff ``|1 - eta lambda_i| < 1``; it flips sign every step when the factor is negative.
    """
    eta = check_float("eta", eta, minimum=0.0, strict_min=True)
    lam, _ = modes(K)
    return lam, 1.0 - eta * lam


def max_stable_lr(K) -> float:
    """``2 / lambda_max``: gradient descent on ``1/2 ||u||^2`` with kernel ``K`` diverges for larger steps."""
    lam, _ = modes(K)
    if float(lam[0]) <= 0.0:
        raise ValueError("K has no positive eigenvalue; every learning rate is (trivially) stable")
    return 2.0 / float(lam[0])


# -------------------------------------------------------------------------- ellipse
def kernel_ellipse(K, center=(0.0, 0.0), level: float = 1.0, *, power: float = 0.5, n_points: int = 181):
    """The ellipse that pictures a 2 x 2 kernel ``K`` in output space, centred on ``center`` (the targets).

    Semi-axis ``i`` is ``level**power_scale * lambda_i**(-power) * Q[:, i]`` (eigenvector COLUMN ``i``):

    * ``power=0.5`` (default): the level set ``(u - center)^T K (u - center) = level``; the gradient-flow
      trajectory ``du/dt = -K (u - center)`` crosses these at right angles (see the module docstring).
    * ``power=1``: the blog post's "lengths inversely proportional to the eigenvalues", the level set
      ``(u - center)^T K^2 (u - center) = level`` of the output speed (for comparison).

    Returns a dict: ``points`` ``(n_points, 2)`` on the curve (closed), ``axes`` ``(2, 2)`` whose COLUMNS are
    the semi-axis vectors, ``lengths`` ``(2,)``, ``lam`` (descending) and ``Q``. Eigenvalues must be > 0.
    """
    check_float("power", power, minimum=0.0, strict_min=True)
    level = check_float("level", level, minimum=0.0)
    n_points = check_int("n_points", n_points, minimum=3)
    K = as_tensor("K", K, torch.float64)
    if K.shape != (2, 2):
        raise ValueError(f"K must be a 2 x 2 kernel matrix, got shape {tuple(K.shape)}")
    lam, Q = modes(K)
    if float(lam[-1]) <= 0.0:
        raise ValueError(f"K must be positive definite to draw its ellipse; eigenvalues {lam.tolist()}")
    c = as_tensor("center", center, torch.float64).reshape(-1)
    if c.shape[0] != 2:
        raise ValueError(f"center must have 2 entries, got {c.shape[0]}")
    lengths = math.sqrt(level) * lam.pow(-power)
    axes = Q * lengths[None, :]  # column i = lengths[i] * Q[:, i]
    phi = torch.linspace(0.0, 2 * math.pi, n_points, dtype=torch.float64)
    pts = c[None, :] + torch.cos(phi)[:, None] * axes[:, 0][None, :] + torch.sin(phi)[:, None] * axes[:, 1][None, :]
    return {"points": pts.numpy(), "axes": axes.numpy(), "lengths": lengths.numpy(), "lam": lam.numpy(),
            "Q": Q.numpy()}


def angle_between(a, b) -> float:
    """The angle in degrees (0..180) between two nonzero vectors."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if a.shape != b.shape or na == 0 or nb == 0:
        raise ValueError("a and b must be nonzero vectors of the same length")
    a, b = a / na, b / nb
    # 2 atan2(|a - b|, |a + b|): accurate near 0 and 180 degrees, where arccos of a dot product loses
    # half the digits (its resolution near 0 is about 1e-6 degrees in float64)
    return float(np.degrees(2.0 * np.arctan2(np.linalg.norm(a - b), np.linalg.norm(a + b))))


# ------------------------------------------------------------------------ frequencies
def sign_changes(x, v, tol: float = 1e-12) -> int:
    """Number of sign changes of ``v`` along increasing ``x`` (entries with ``|v| <= tol max|v|`` skipped).

    For the NTK of a 1-D input the ``i``-th eigenvector (0-based, eigenvalues descending) typically has
    ``i`` sign changes, like the ``i``-th Fourier or Sturm-Liouville mode.
    """
    x = np.asarray(x, dtype=float).ravel()
    v = np.asarray(v, dtype=float).ravel()
    if x.shape != v.shape:
        raise ValueError(f"x and v must have the same length, got {x.size} and {v.size}")
    s = np.sign(v[np.argsort(x, kind="stable")])
    s = s[np.abs(v[np.argsort(x, kind="stable")]) > tol * max(np.abs(v).max(), 1e-300)]
    return int(np.sum(s[1:] != s[:-1]))


def component_coefficients(components, r):
    """Least-squares coefficients ``a`` with ``r ~ components @ a`` (``components`` is ``(N, C)``, one column each)."""
    A = np.asarray(components, dtype=float)
    r = np.asarray(r, dtype=float)
    if A.ndim != 2 or A.shape[0] != r.shape[-1]:
        raise ValueError(f"components must be (N, C) with N = {r.shape[-1]}, got shape {A.shape}")
    coef, *_ = np.linalg.lstsq(A, r.reshape(-1, A.shape[0]).T, rcond=None)
    return coef.T.reshape(*r.shape[:-1], A.shape[1])


def remaining_fraction(K, v, t, *, eta: float = 1.0) -> np.ndarray:
    """``||exp(-eta K t) v|| / ||v||``: the part of a target component ``v`` not yet learned at times ``t``.

    Under kernel gradient flow from zero outputs the residual is ``-exp(-eta K t) y``; by linearity each
    component of ``y = sum_c v_c`` is learned independently, mode by mode.
    """
    v = as_tensor("v", v, torch.float64).reshape(-1)
    nv = float(v.norm())
    if nv == 0.0:
        raise ValueError("v must not be zero")
    _, _, c = mode_coordinates(K, v, t, eta=eta)
    return (c.norm(dim=1) / nv).numpy()


def time_to_fraction(K, v, fraction: float = 0.1, *, eta: float = 1.0) -> float:
    """The time at which :func:`remaining_fraction` falls to ``fraction`` (bisection on log t; inf if never)."""
    fraction = check_float("fraction", fraction, minimum=0.0, maximum=1.0, strict_min=True)
    lam, Q = modes(K)
    v = as_tensor("v", v, torch.float64).reshape(-1)
    c0 = (Q.T @ v).numpy()
    lam = lam.numpy()
    target = fraction * np.linalg.norm(c0)
    if np.linalg.norm(c0[lam <= 0]) >= target:
        return math.inf

    def rem(t):
        return np.linalg.norm(np.exp(-eta * lam * t) * c0)

    lo, hi = 0.0, 1.0
    while rem(hi) > target:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if rem(mid) > target else (lo, mid)
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


# ------------------------------------------------------ centered networks, NTK tracked
@dataclass
class MemberRun:
    """What :func:`train_centered_members` recorded; ``R`` records, ``E`` members, ``N`` train, ``M`` test inputs.

    ``outputs`` ``(R, E, N)`` are the centered outputs ``F = alpha (f - f_0)`` on the training inputs,
    ``test_outputs`` ``(R, E, M)`` (or None), ``ntk`` ``(R, E, N, N)`` the empirical NTK of ``f`` (the
    function-space kernel of the alpha-normalized loss; the centered model's own NTK is ``alpha^2`` times
    it) at the steps ``ntk_steps`` (all records, or those asked for), or None, ``steps`` ``(R,)``, ``lr``, ``seeds``/``alphas`` per member, ``diverged`` per member.
    """

    steps: np.ndarray
    outputs: np.ndarray
    test_outputs: np.ndarray | None
    ntk: np.ndarray | None
    ntk_steps: np.ndarray
    lr: float
    seeds: tuple
    alphas: np.ndarray
    diverged: np.ndarray

    @property
    def times(self) -> np.ndarray:
        """Gradient-flow time ``lr * step`` of each record."""
        return self.lr * self.steps

    def ntk_relative_change(self) -> np.ndarray:
        """``||Theta_R - Theta_0||_F / ||Theta_0||_F`` per member at the last record, ``(E,)``."""
        if self.ntk is None:
            raise ValueError("the NTK was not recorded (record_ntk=False)")
        d = self.ntk[-1] - self.ntk[0]
        return np.linalg.norm(d, axis=(1, 2)) / np.linalg.norm(self.ntk[0], axis=(1, 2))


def train_centered_members(width: int, x, y, *, seeds, alphas, steps: int, lr: float, record_every: int = 1,
                           record_steps=None, x_test=None, record_ntk=True, **mlp_kwargs) -> MemberRun:
    """Gradient descent on many centered networks at once, each with its own seed and output scale alpha.

    Member ``e`` is ``F_e(x) = alpha_e (f(x; theta_e) - f(x; theta_e(0)))`` with ``f`` the course's
    ``MLP(width, seed=seeds[e], **mlp_kwargs)`` (so ``F_e = 0`` at initialization), trained on the
    alpha-normalized loss ``L_e / alpha_e^2`` with ``L_e = 1/2 sum_i (F_e(x_i) - y_i)^2`` (Chizat & Bach):
    in function space ``dF_e/dt = -lr Theta_e (F_e - y)`` with ``Theta_e`` the NTK of ``f``, whatever
    ``alpha_e``, so runs with different alpha share one time scale and ``lr < 2 / lambda_max(Theta)``.

    Records are taken every ``record_every`` steps and at the last step, or at the steps listed in
    ``record_steps`` (e.g. log-spaced; 0 and ``steps`` are always included). All members are evaluated in
    one batched pass (:class:`ntk_teach.Ensemble`); ``record_ntk=True`` records the ``N x N`` NTK of every
    member at every record from ``N`` backward passes (keep ``N`` small), ``record_ntk="ends"`` only at
    steps 0 and ``steps``, a list of steps only there (they are added to the records). Members whose loss becomes non-finite are frozen and flagged in
    ``diverged``. Runs on one thread (:func:`single_thread`).
    """
    from .dynamics import Ensemble
    from .nets import MLP

    width = check_int("width", width, minimum=1)
    steps = check_int("steps", steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=1)
    lr = check_float("lr", lr, minimum=0.0, strict_min=True)
    seeds = tuple(check_int("seeds[i]", s, minimum=0) for s in seeds)
    alphas = np.asarray([check_float("alphas[i]", a, minimum=0.0, strict_min=True) for a in alphas], dtype=float)
    if len(seeds) != len(alphas) or len(seeds) == 0:
        raise ValueError(f"seeds and alphas must have the same, nonzero length; got {len(seeds)} and {len(alphas)}")
    E = len(seeds)
    if record_ntk is True:
        ntk_at = None  # every record
    elif record_ntk is False:
        ntk_at = set()
    elif isinstance(record_ntk, str):
        if record_ntk != "ends":
            raise ValueError(f"record_ntk must be True, False, 'ends' or a list of steps, got {record_ntk!r}")
        ntk_at = {0, steps}
    else:
        ntk_at = {check_int("record_ntk[i]", int(k), minimum=0, maximum=steps) for k in record_ntk}
    if record_steps is None:
        at = set(range(0, steps + 1, record_every)) | {steps}
    else:
        at = {check_int("record_steps[i]", int(k), minimum=0, maximum=steps) for k in record_steps} | {0, steps}
    if ntk_at:
        at |= ntk_at
    with single_thread():
        ens = Ensemble(E, width, seed=0, **mlp_kwargs)
        base = ens.base
        x = base.prepare_input(x)
        y = as_tensor("y", y, torch.float64).reshape(-1).to(base.dtype)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y must have one target per input: {x.shape[0]} inputs, {y.shape[0]} targets")
        xt = None if x_test is None else base.prepare_input(x_test)
        # member e starts from MLP(width, seed=seeds[e]): overwrite the ensemble's stacked parameters
        cache: dict = {}
        with torch.no_grad():
            for e, s in enumerate(seeds):
                if s not in cache:
                    cache[s] = dict(MLP(width, seed=s, **mlp_kwargs).named_parameters())
                for k, p in zip(ens.names, ens.stacked):
                    p[e].copy_(cache[s][k])
        params = list(ens.stacked)
        with torch.no_grad():
            f0 = ens(x)
            f0t = None if xt is None else ens(xt)
        a = torch.as_tensor(alphas, dtype=base.dtype)[:, None]
        frozen = torch.zeros(E, dtype=torch.bool)
        rec_steps, outs, touts, ntks, ntk_steps = [], [], [], [], []
        N = x.shape[0]

        def member_ntk():
            f = ens(x)  # (E, N)
            rows = []
            for i in range(N):
                g = torch.autograd.grad(f[:, i].sum(), params, retain_graph=i < N - 1)
                rows.append(torch.cat([gi.reshape(E, -1) for gi in g], dim=1))  # (E, P)
            G = torch.stack(rows, dim=1)  # (E, N, P)
            return (G @ G.transpose(1, 2)).detach()

        for k in range(steps + 1):
            f = ens(x)
            F = a * (f - f0)
            per = 0.5 * ((F - y) ** 2).sum(1) / a[:, 0] ** 2
            bad = ~torch.isfinite(per.detach())
            if bool(bad.any()):
                frozen |= bad
            if k in at:
                rec_steps.append(k)
                outs.append(F.detach().clone())
                if xt is not None:
                    with torch.no_grad():
                        touts.append(a * (ens(xt) - f0t))
                if ntk_at is None or k in ntk_at:
                    ntks.append(member_ntk())
                    ntk_steps.append(k)
            if k == steps or bool(frozen.all()):
                break
            loss = torch.where(frozen, torch.zeros_like(per), per).sum()
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                keep = (~frozen).to(base.dtype)
                for p, g in zip(params, grads):
                    g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
                    p.sub_(lr * keep.reshape(-1, *([1] * (p.ndim - 1))) * g)
    return MemberRun(
        steps=np.array(rec_steps),
        outputs=torch.stack(outs).numpy(),
        test_outputs=torch.stack(touts).numpy() if touts else None,
        ntk=torch.stack(ntks).numpy() if ntks else None,
        ntk_steps=np.array(ntk_steps),
        lr=lr,
        seeds=seeds,
        alphas=alphas,
        diverged=frozen.numpy(),
    )
