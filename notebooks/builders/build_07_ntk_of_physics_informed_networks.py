"""Builds notebooks/07_ntk_of_physics_informed_networks.ipynb
(run: .venv/bin/python notebooks/builders/build_07_ntk_of_physics_informed_networks.py)."""
from ntk_teach.nbtools import NotebookBuilder, details

nb = NotebookBuilder(
    "07_ntk_of_physics_informed_networks",
    title="The NTK of physics-informed networks",
    summary="Why a physics-informed network can fit its differential equation and still miss its boundary "
            "condition, read off the neural tangent kernel of its loss, and the loss weights that fix it.",
    objectives=[
        "write the loss of a physics-informed network (PINN) for $u'' = f$ with Dirichlet boundary values, and "
        "compute its NTK blocks $K_{uu}, K_{ur}, K_{rr}$ with `torch.func`, checked against finite differences;",
        "measure how much the parameters and the PINN NTK move during gradient descent at widths 10, 100, 500, "
        "and fit the width exponent (theory $-1/2$);",
        "predict from the eigenvalues of $K_{uu}$ and $K_{rr}$ which loss term gradient descent fits first, and "
        "explain in one sentence why a PINN can satisfy the equation but not the boundary, worse for larger $a$;",
        "compute the NTK-trace loss weights of Wang, Yu & Perdikaris (Algorithm 1) and the largest stable step "
        "they allow, and measure the error reduction they bring.",
    ],
    prerequisites=["03_the_neural_tangent_kernel", "05_gradient_flow_and_the_kernel_regime"],
    minutes=60,
    demo_module="nb07_pinn",
    extra_imports="""
        import copy
        import math

        import numpy as np
        import torch

        from ntk_teach import pinn""",
)

# ---------------------------------------------------------------------------------------------
nb.section("The model problem and the PINN loss", minutes=10, intro=r"""
    A **physics-informed neural network** (Raissi, Perdikaris & Karniadakis 2019) solves a differential equation
    by training a network $u(x;\theta)$ to satisfy the equation at *collocation points* and the boundary
    conditions at *boundary points*; no solution values are given. We follow Wang, Yu & Perdikaris (2022),
    "When and why PINNs fail to train: a neural tangent kernel perspective", and their model problem, the
    1-D Poisson equation

    $$u''(x) = f(x) \ \text{ on } (0, 1), \qquad u(0) = g_0,\ u(1) = g_1, \qquad
      \text{exact solution } u^*(x) = \sin(a\pi x),\ f(x) = -(a\pi)^2 \sin(a\pi x).$$

    **The network** is the paper's one-hidden-layer tanh net in the **NTK parameterization**,
    $u(x;\theta) = \tfrac{1}{\sqrt m} W^{1} \tanh(W^{0} \tilde x + b^{0}) + b^{1}$ with all parameters
    $\mathcal N(0, 1)$: exactly `ntk_teach.MLP(m, depth=1, activation="tanh", w_std=1, b_std=1)`. Like the
    paper's code, it sees the **standardized input** $\tilde x = (x - 0.5)/\sigma$, $\sigma = \mathrm{std}(x_r)
    \approx 0.29$, so $u'' = N''(\tilde x)/\sigma^2$.

    **The loss**, with $N_b = 2$ boundary points $x_b \in \{0, 1\}$ and $N_r = 100$ equispaced collocation points
    $x_r$, and the course's convention (half the *sum* of squares):

    $$L(\theta) = \lambda_b L_b + \lambda_r L_r, \qquad
      L_b = \tfrac12 \sum_{i} \big(u(x_b^i) - g_i\big)^2, \qquad
      L_r = \tfrac12 \sum_{j} \big(u''(x_r^j) - f(x_r^j)\big)^2,$$

    with weights $\lambda_b = \lambda_r = 1$ until section 5.

    *Where the sources differ.* The paper's released code (PredictiveIntelligenceLab/PINNsNTK) uses *means*
    (`tf.reduce_mean`) instead of half sums, which divides each block of the kernel below by its number of
    points; it repeats each boundary point 50 times so that the boundary block is as large as the residual
    block; and it initializes the readout as $W^1 \sim \mathcal N(0, 1/m)$ in the *standard*
    parameterization, which gives the same functions at initialization but not the same NTK. We follow the
    paper's text (NTK parameterization) and say where a constant changes.""")
nb.code("""
    problem = pinn.poisson_1d(a=1)             # u'' = f on [0, 1], u* = sin(pi x): 2 boundary + 100 collocation points
    net = demos.pinn_net(100, seed=0)          # MLP(100, depth=1, activation="tanh", w_std=1, b_std=1), NTK param.
    print(f"standardized input: x~ = (x - {problem.x_shift:.2f}) / {problem.x_scale:.4f};  "
          f"{net.num_params} parameters")

    # the package's network is the paper's formula, written out by hand
    W0, W1 = net.weights[0].detach(), net.weights[1].detach()
    b0, b1 = net.biases[0].detach(), net.biases[1].detach()
    x = torch.linspace(0, 1, 7, dtype=torch.float64)
    by_hand = (W1 @ torch.tanh(W0 @ problem.standardize(x)[None, :] + b0[:, None]))[0] / math.sqrt(100) + b1
    assert torch.allclose(pinn.pinn_u(net, problem, x), by_hand, rtol=0, atol=1e-13)

    # u'' two ways: the second-order jet pushed through the layers (used everywhere) and torch.func.hessian
    uxx_jet = pinn.pinn_uxx(net, problem, problem.x_r).detach()
    uxx_hess = pinn.second_derivative_hessian(net, problem.standardize(problem.x_r)) / problem.x_scale ** 2
    print(f"max |u''_jet - u''_hessian| = {float((uxx_jet - uxx_hess).abs().max()):.1e}   "
          f"(max |u''| = {float(uxx_jet.abs().max()):.1f})")
    assert torch.allclose(uxx_jet, uxx_hess, rtol=1e-12, atol=1e-12)   # both exact: they differ by rounding only

    L, L_b, L_r = pinn.pinn_loss(net, problem)
    print(f"at initialization: L_b = {L_b.item():.3f},  L_r = {L_r.item():,.0f}")""")
nb.md(r"""
    Already at initialization the residual term is thousands of times larger than the boundary term: the
    forcing $f$ has amplitude $\pi^2 \approx 10$ at 100 points, while the two boundary values are 0. Keep this in
    mind; section 4 shows how it grows with $a$.""")
nb.exercise(
    "7.1",
    task=r"""
        Write `loss_terms(net, problem)`: the two loss terms `torch.stack([L_b, L_r])` with the half-sum
        convention above. Use `pinn.pinn_u(net, problem, x)` for $u$ and `pinn.pinn_uxx(net, problem, x)` for
        $u''$; `problem.x_b, problem.g, problem.x_r, problem.f` hold the points and targets.""",
    stub='''
        def loss_terms(net, problem):
            # TODO: L_b = 1/2 sum (u(x_b) - g)^2,  L_r = 1/2 sum (u''(x_r) - f)^2;  return torch.stack([L_b, L_r])
            raise NotImplementedError("Exercise 7.1")


        def reference_terms(net, problem):
            _, L_b, L_r = pinn.pinn_loss(net, problem)
            return torch.stack([L_b, L_r]).detach()


        def means_instead_of_half_sums(net, problem):
            e_b, e_r = pinn.pinn_residuals(net, problem)
            return torch.stack([(e_b ** 2).mean(), (e_r ** 2).mean()]).detach()


        cases = [(net, problem), (demos.pinn_net(20, seed=3), pinn.poisson_1d(a=3))]
        _ = checks.check_function("Exercise 7.1", loss_terms, reference=reference_terms, inputs=cases, rtol=1e-10,
                                  mistakes={"means instead of half sums (what the paper's code does)":
                                            means_instead_of_half_sums})''',
    hint=r"""
        `e_b = pinn.pinn_u(net, problem, problem.x_b) - problem.g` is the vector of boundary errors; the loss term is
        `0.5 * (e_b ** 2).sum()`. Same for the residual with `pinn_uxx` at `x_r` and the target `f`.""",
    solution='''
        # Solution to Exercise 7.1
        def loss_terms_solution(net, problem):
            e_b = pinn.pinn_u(net, problem, problem.x_b) - problem.g
            e_r = pinn.pinn_uxx(net, problem, problem.x_r) - problem.f
            return torch.stack([0.5 * (e_b ** 2).sum(), 0.5 * (e_r ** 2).sum()])


        _ = checks.check_function("Exercise 7.1 (solution)", loss_terms_solution, reference=reference_terms,
                                  inputs=cases, rtol=1e-10, strict=True)''',
)

# ---------------------------------------------------------------------------------------------
nb.section("The PINN NTK: one kernel, three blocks", minutes=12, intro=r"""
    Write $e_b = u(x_b) - g$ and $e_r = u''(x_r) - f$ for the two error vectors, and $J_u = \partial u(x_b)/\partial\theta$
    ($N_b \times P$), $J_r = \partial u''(x_r)/\partial\theta$ ($N_r \times P$) for their parameter Jacobians.
    Gradient flow $\dot\theta = -\eta \nabla L = -\eta (J_u^\top e_b + J_r^\top e_r)$ and the chain rule give
    the paper's starting point

    $$\frac{d}{dt}\begin{bmatrix} e_b \\ e_r \end{bmatrix}
      = -\eta \underbrace{\begin{bmatrix} K_{uu} & K_{ur} \\ K_{ru} & K_{rr} \end{bmatrix}}_{K}
        \begin{bmatrix} e_b \\ e_r \end{bmatrix},
      \qquad K_{uu} = J_u J_u^\top,\ K_{ur} = J_u J_r^\top = K_{ru}^\top,\ K_{rr} = J_r J_r^\top .$$

    This is notebook 05's $\dot f = -\eta\Theta(f - y)$ with a bigger kernel: $K_{uu}$ is the ordinary NTK at the
    boundary points, $K_{rr}$ is the NTK of the *second derivative*, $K_{rr}(x, x') = \partial_x^2 \partial_{x'}^2
    \Theta(x, x')$. `pinn.pinn_ntk` builds the blocks with `torch.func`: $u''$ by pushing the second-order jet
    $(h, h', h'')$ through the layers, then `vmap(grad)` over `functional_call` for the parameter derivatives,
    one point at a time. We check it three ways: against hand-written derivatives, against finite differences,
    and against the dynamics it claims to describe.""")
nb.code("""
    K = pinn.pinn_ntk(net, problem)                                  # torch.func
    K_cf = pinn.pinn_ntk(net, problem, method="closed_form")         # hand-written derivatives of this tanh net
    rel = float((K.full - K_cf.full).abs().max() / K.full.abs().max())
    print(f"blocks: K_uu {tuple(K.K_uu.shape)}, K_ur {tuple(K.K_ur.shape)}, K_rr {tuple(K.K_rr.shape)};  "
          f"torch.func vs closed form: {rel:.1e}")
    assert rel < 1e-12                                               # the same numbers up to rounding
    _ = checks.check_psd("PINN NTK K", K.full, strict=True)           # a Gram matrix: symmetric, PSD""")
nb.md(r"""
    **Finite differences**, on a width-10 net (31 parameters): $u''$ by the 5-point stencil with step $h$ in
    $\tilde x$, whose truncation error is $h^4 u^{(6)}/90$, and the parameter derivatives by central differences
    with step $10^{-4}$ (error $\sim 10^{-8}$, round-off $\sim 10^{-9}$). At $h = 10^{-2}$ truncation dominates,
    so we accept a relative error below $10^{-5}$, and we check that it *is* truncation: tripling $h$ must
    multiply the error by $3^4 = 81$ (we accept a factor between 27 and 243).""")
nb.code("""
    small = demos.pinn_net(10, seed=0)
    K_small = pinn.pinn_ntk(small, problem)
    fd_error = {}
    for h in (0.01, 0.03):
        K_fd = pinn.pinn_ntk_finite_differences(small, problem, h_x=h)
        fd_error[h] = float((K_fd.full - K_small.full).abs().max() / K_small.full.abs().max())
        print(f"h = {h}: max relative difference to torch.func = {fd_error[h]:.1e}")
    print(f"ratio {fd_error[0.03] / fd_error[0.01]:.0f} (h^4 predicts 81)")
    assert fd_error[0.01] < 1e-5 and 27 < fd_error[0.03] / fd_error[0.01] < 243""")
nb.md(r"""
    **The dynamics.** One gradient-descent step of size $\eta$ must change the errors by $-\eta K e$ up to terms of
    order $\eta^2$: with $\eta = 10^{-8}$ and $\eta\lambda_{\max}(K) \approx 10^{-4}$ the relative mismatch is at
    most of order $10^{-4}$; we accept $10^{-3}$.""")
nb.code("""
    eta = 1e-8
    e = torch.cat(pinn.pinn_residuals(net, problem)).detach()
    L, _, _ = pinn.pinn_loss(net, problem)
    grads = torch.autograd.grad(L, list(net.parameters()))
    stepped = copy.deepcopy(net)
    with torch.no_grad():
        for p, g in zip(stepped.parameters(), grads):
            p -= eta * g
    change = torch.cat(pinn.pinn_residuals(stepped, problem)).detach() - e
    predicted = -eta * K.full @ e
    mismatch = float((change - predicted).norm() / predicted.norm())
    print(f"one GD step: |actual - predicted| / |predicted| = {mismatch:.1e}")
    assert mismatch < 1e-3""")
nb.demo(
    questions=[
        "The rates at which gradient descent removes errors are the eigenvalues of $K$. Which block has the larger "
        "eigenvalues, $K_{uu}$ (boundary) or $K_{rr}$ (residual), and by roughly how much?",
        "Does the spectrum change much between width 50 and width 500?",
        "Switch the input to raw $x \\in [0, 1]$. Does the gap shrink or grow? Why would standardizing the input "
        "change a *second-derivative* kernel so much?",
    ],
    static="demos.plot_pinn_ntk_spectrum()",
    interactive="""
        spectrum = demos.PINNSpectrum.interact()
        spectrum""",
    explanation=r"""
        * $\lambda_{\max}(K_{rr})$ is thousands of times $\lambda_{\max}(K_{uu})$ (the title prints the ratio; about
          4,800 at width 100). Each derivative in $x$ of $\tanh(w\tilde x + b)$ brings a factor $w/\sigma$, so $K_{rr}$
          carries four of them. In gradient flow the residual errors along the top eigenvectors decay in a time
          $\sim 10^{-4}$, the boundary errors in a time $\sim 0.3$.
        * The spectrum barely moves with the width: at initialization the PINN NTK converges to a deterministic
          kernel as $m \to \infty$ (the paper proves it for this network), as the ordinary NTK does (notebook 03).
        * With raw inputs the gap drops to about 60: $u'' = N''(\tilde x)/\sigma^2$, so every row of $J_r$ carries
          $1/\sigma^2$ and $K_{rr}$ carries $1/\sigma^4 \approx 138$. Rescaling the input is a choice of units, and
          the units decide the balance of the two loss terms.""",
)
nb.code("""
    ev = K.eigenvalues()
    gap = ev["K_rr"][0] / ev["K_uu"][0]
    ev_raw = demos.kernel_at_init(100, 0, standardize=False).eigenvalues()
    gap_raw = ev_raw["K_rr"][0] / ev_raw["K_uu"][0]
    print(f"lambda_max(K_rr) / lambda_max(K_uu): {gap:,.0f} (standardized input),  {gap_raw:,.0f} (raw x)")
    assert gap > 1e3 and gap > 10 * gap_raw       # 1/sigma^4 = 138, up to the change of the net's input range

    # K never sees the targets: the kernel for a = 8 is the kernel for a = 1, bit for bit
    assert torch.equal(pinn.pinn_ntk(net, pinn.poisson_1d(a=8)).full, K.full)

    for width in (20, 500):                       # drive the widget from code
        spectrum.set(width=width)
    spectrum.set(width=100, inputs=demos.INPUTS[0])
    assert not spectrum.errors""")

# ---------------------------------------------------------------------------------------------
nb.section("Does the PINN NTK stay constant? Figure 2 at CPU scale", minutes=12, intro=r"""
    The NTK analysis of section 2 is exact for any kernel, but it is only *useful* if $K$ stays (nearly)
    constant during training, as it does for wide networks (notebooks 04 and 05). The paper's Figure 2 checks
    this for the PINN: one hidden tanh layer of width 10, 100, 500, full-batch gradient descent, and the relative
    change of the parameters and of the NTK over training. We repeat it at CPU scale:

    | | paper (Figure 2) | here |
    |---|---|---|
    | problem | $u^* = \sin(\pi x)$, 100 collocation points | the same |
    | widths | 10, 100, 500 | the same, 2 seeds each |
    | training | full-batch GD, $\eta = 10^{-5}$ on mean losses (the released notebook runs 40,001 steps), float32 on a GPU | 200 steps, $\eta = 5\cdot 10^{-5}$ (time $t = 0.01$), half sums, float64 on a CPU |
    | NTK recorded | every 100 steps | at 22 log-spaced steps (most change happens in the first ten) |

    Our step is stable: $\eta\,\lambda_{\max}(K) \le 0.85 < 2$ at initialization for every run (printed below).
    *What to look at:* (a) and (b) fall with the width; (c) at width 500 the spectra before and after training lie
    on top of each other; (d) the log-log slopes. NTK theory predicts both changes to scale like $m^{-1/2}$: the
    parameters each move by $O(1/\sqrt m)$ while $\|\theta_0\| \sim \sqrt{3m}$, and the kernel's change is that
    motion times its derivative, also $O(1/\sqrt m)$.""")
nb.demo(
    questions=[
        "Which moves more during training, relatively: the parameters or the NTK?",
        "At which width would you trust the constant-kernel picture for this problem?",
        "Most of the change happens in the first ten steps. Why so early?",
    ],
    static="demos.plot_ntk_change()",
    interactive="""
        figure2 = demos.NTKChange.interact()
        figure2""",
    explanation=r"""
        * The NTK moves more than the parameters (about twice, relatively): it depends on the parameters through
          $\tanh''$ and $\tanh'''$ and through the fourth power of the input weights.
        * Both fall like $m^{-1/2}$ (panel d). At width 500 the kernel changed by about 11 % and its spectrum is
          unchanged on the log scale (panel c); at width 10 it changed by about 80 %, and the kernel picture is only
          qualitative there.
        * The first steps remove the huge initial residual ($L_r \approx 6000$) along the top eigenvectors, where
          $\eta\lambda$ is close to 1: the parameters must move by an amount set by the *size* of the residual, and
          they do it at once.""",
)
nb.md(r"""
    **The checks.** The slope of a 3-point fit from a single seed varies by about $\pm 0.05$ between seeds
    (printed), so the mean over 2 seeds has a standard error near $0.035$; and $m^{-1/2}$ is only the leading term,
    with $O(1/m)$ corrections that at width 10 can tilt a 3-point fit by about $0.05$. We accept
    $|\text{slope} + \tfrac12| < 0.15$. Panel (c) rests on Weyl's inequality: no eigenvalue moves by more than
    $\|K_n - K_0\|_2 \le \|K_n - K_0\|_F$, so at width 500 the top eigenvalue moves by at most the printed relative
    NTK change.""")
nb.code("""
    runs = demos.figure2_runs()
    scaling = demos.figure2_scaling(runs)
    for key, name in (("dtheta", "parameters"), ("dK", "NTK")):
        fit = scaling[key + "_fit"]
        print(f"{name:10s}: slope of the 2-seed mean {fit.slope:+.3f};  single seeds "
              f"{np.round(scaling[key + '_seed_slopes'], 3)}")
        assert abs(fit.slope + 0.5) < 0.15, (name, fit.slope)
    for (width, seed), r in sorted(runs.items()):
        lam0, lam1 = r.kernels[0].eigenvalues()["K"][0], r.kernels[-1].eigenvalues()["K"][0]
        assert demos.FIG2_LR * lam0 < 2                                            # a stable step
        assert abs(lam1 - lam0) <= r.ntk_relative_change[-1] * np.linalg.norm(r.kernels[0].full.numpy()) + 1e-9
        if width == 500:
            print(f"width 500, seed {seed}: eta*lambda_max = {demos.FIG2_LR * lam0:.2f};  lambda_max moved by "
                  f"{abs(lam1 - lam0) / lam0:.1%} (Weyl bound {r.ntk_relative_change[-1] * np.linalg.norm(r.kernels[0].full.numpy()) / lam0:.1%})")
    figure2.set(width=10)
    figure2.set(width=500)
    assert not figure2.errors""")
nb.md(r"""
    One more number from these runs, which the next section explains: after 200 steps every run has fitted the
    equation (the residual loss fell more than a hundred-fold), but not the boundary conditions.""")
nb.code("""
    fell_r = min(r.loss_r[0] / r.loss_r[-1] for r in runs.values())
    errors = np.array([r.rel_l2_error[-1] for r in runs.values()])
    print(f"L_r fell at least {fell_r:,.0f}-fold in every run; L_b went from "
          f"{np.round([r.loss_b[0] for r in runs.values()], 2)} to {np.round([r.loss_b[-1] for r in runs.values()], 2)}")
    print(f"relative L2 error of u after 200 steps: median {np.median(errors):.2f}")
    assert fell_r > 100 and np.median(errors) > 0.5     # the equation is fitted, the solution is still wrong""")

# ---------------------------------------------------------------------------------------------
nb.section("The convergence-rate imbalance", minutes=12, intro=r"""
    If $K$ stays constant, $e(t) = e^{-\eta K t} e(0)$: each eigen-direction of $K$ decays at its own rate, its
    eigenvalue. The eigenvalues of $K_{rr}$ reach $10^4$; those of $K_{uu}$ are about 3. So in the time the
    residual errors take to shrink a thousand-fold, the boundary errors have barely moved; worse, through the
    coupling $K_{ur}$ the large residual errors *push* the boundary values around while they are being fitted.
    The PINN ends up solving $u'' = f$ with the wrong boundary values: $u^*$ plus a wrong straight line.

    **Where does the frequency $a$ enter?** Not in $K$: the kernel never sees the targets (checked above, bit
    for bit). It enters through the targets. The forcing has amplitude $(a\pi)^2$, and for the equispaced points
    $\sum_j \sin^2(a\pi x_r^j) = (N_r - 1)/2$ exactly (integer $a$), so

    $$L_r(0) = \tfrac12 \|u_0'' - f\|^2 \approx \tfrac12\|f\|^2 = \frac{(a\pi)^4 (N_r - 1)}{4}, \qquad
      L_b(0) \text{ independent of } a .$$

    The residual term, the residual errors that drive the coupling, and so the damage to the boundary, all grow
    with $a$: the imbalance of the *rates* is fixed by $K$, the imbalance of the *loss terms* grows like $a^4$.
    The figure uses the linearized PINN: its NTK frozen at initialization, solved in closed form
    by `pinn.LinearizedPINN`.""")
nb.code("""
    demos.plot_a_sweep()""", tags=("demo",))
nb.md(r"""
    *What to look at:* left, $L_r(0)$ on a line of slope 4 while $L_b(0)$ stays flat; right, without weights
    the error at time $t = 1$ (thousands of times longer than the residual needs) grows from 8 % at $a = 1$ to far
    above 100 % at $a = 8$; with the weights of section 5 it stays small.
    *The checks:* $\tfrac12\|f\|^2 = (a\pi)^4 (N_r - 1)/4$ to rounding; the slope of $L_r(0)$ over
    $a = 2, \dots, 8$ within $0.15$ of 4: the initial network's own $u_0''$ changes $L_r(0)$ by the printed
    relative corrections (at most about 9 %, at $a = 2$), which can tilt the fit by about
    $\log(1.1)/\log 4 \approx 0.07$; we allow twice that. And, without weights, the error grows with $a$ and is
    more than ten times the weighted one at every $a$.""")
nb.code("""
    sweep = demos.a_sweep()
    corrections = []
    for a, loss_r0 in zip(sweep["a"], sweep["loss_r0"]):
        f = pinn.poisson_1d(a).f
        half_f2 = 0.5 * float(f @ f)
        assert math.isclose(half_f2, (a * math.pi) ** 4 * 99 / 4, rel_tol=1e-12)
        corrections.append(loss_r0 / half_f2 - 1)
    print("relative correction of L_r(0) from the network's own u0'':", np.round(corrections, 3))
    big = sweep["a"] >= 2
    slope = ntk_teach.fit_loglog(sweep["a"][big], sweep["loss_r0"][big]).slope
    print(f"L_r(0) ~ a^{slope:.2f};  L_b(0) = {sweep['loss_b0'][0]:.3f} for every a")
    # L_b(0) is the same for every a: g = sin(a pi x_b) = 0 up to rounding (sin(a pi) ~ 1e-16 in floating point)
    assert abs(slope - 4) < 0.15 and np.ptp(sweep["loss_b0"]) < 1e-12 * sweep["loss_b0"].mean()
    print("linearized error at t = 1, no weights: ", np.round(sweep["error_plain"], 3))
    print("linearized error at t = 1, NTK weights:", np.round(sweep["error_ntk"], 5))
    assert np.all(np.diff(sweep["error_plain"]) > 0) and np.all(sweep["error_plain"] > 10 * sweep["error_ntk"])""")
nb.demo(
    questions=[
        "At $a = 2$ and $t = 10^{-2}$, without weights: by how many orders of magnitude has each loss term fallen?",
        "Raise $a$ to 6 and move the time to $t = 1$. Where is the unweighted solution wrong, in the middle or at "
        "the ends? What shape does its error have?",
        "The weights (dashed) multiply the boundary term by about $10^4$. Does that slow down the residual term?",
    ],
    static="demos.plot_imbalance()",
    interactive="""
        imbalance = demos.Imbalance.interact()
        imbalance""",
    explanation=r"""
        * Without weights $L_r$ has fallen by three to four orders of magnitude at $t = 10^{-2}$, while $L_b$ has
          *grown* from 0.6 to about 4; it only falls near $t \sim 1$: the rates of section 2 in action.
        * At $a = 6$ the curve has the right wiggles but is tilted and shifted: $u''$ is nearly right, so the error
          is nearly a straight line $c_0 + c_1 x$, which $u''$ cannot see and only the boundary term could fix.
        * With the trace weights both terms fall on the same time scale, and the residual term is not slower than
          before: the weights rescale the boundary rates up to those of the residual instead of slowing anything.""",
)
nb.code("""
    for a, t in ((6, 1.0), (2, 1e-3)):
        imbalance.set(a=a, t=t)
    run = demos.linearized_run(100, 6, np.array([1.0]))
    print(f"a = 6, t = 1: error {run['plain']['error'][0]:.2f} without weights, {run['ntk']['error'][0]:.4f} with")
    assert run["plain"]["error"][0] > 1 and run["ntk"]["error"][0] < 0.05
    imbalance.set(a=2, t=1e-2)
    assert not imbalance.errors""")
nb.think(r"""
    The issue is usually told as "the residual is fitted, the boundary is not". When would it be the other way
    round: the boundary values right, the equation wrong?""", answer=r"""
    When the boundary block dominates the kernel: many boundary points (the paper's code repeats each one 50
    times), a large boundary weight $\lambda_b$, or a forcing whose content lies along eigen-directions of
    $K_{rr}$ with small eigenvalues (high frequencies: spectral bias). You can see it in the demo: with the NTK
    weights, at $t \approx 10^{-3}$ $L_b$ is already below $10^{-3}$ while $L_r$ is still about 300. Which term
    wins is decided by the rates *and* the sizes of the errors, never by the loss formula alone.""")

# ---------------------------------------------------------------------------------------------
nb.section("The remedy: loss weights from the NTK traces", minutes=12, intro=r"""
    With weights, $L = \lambda_b L_b + \lambda_r L_r$, the same derivation gives
    $\dot e = -\eta K\Lambda e$ with $\Lambda = \mathrm{diag}(\lambda_b I_{N_b}, \lambda_r I_{N_r})$: the weights
    rescale the *columns* of $K$, and $K\Lambda$ has the (real, non-negative) eigenvalues of the symmetric
    $\Lambda^{1/2} K \Lambda^{1/2}$. The paper's **Algorithm 1** sets them from the traces, every few hundred steps:

    $$\lambda_b = \frac{\mathrm{Tr}\,K}{\mathrm{Tr}\,K_{uu}}, \qquad \lambda_r = \frac{\mathrm{Tr}\,K}{\mathrm{Tr}\,K_{rr}},
      \qquad \mathrm{Tr}\,K = \mathrm{Tr}\,K_{uu} + \mathrm{Tr}\,K_{rr},$$

    so that $\mathrm{Tr}(\lambda_b K_{uu}) = \mathrm{Tr}(\lambda_r K_{rr}) = \mathrm{Tr}\,K$: the two terms get the same
    *average* rate (a trace is the sum of the eigenvalues). The traces are cheap: $\mathrm{Tr}\,K_{rr} =
    \sum_j \|\partial u''(x_r^j)/\partial\theta\|^2$ needs one gradient per point and no eigendecomposition. Because
    both weights share the numerator, repeating the boundary points (as the paper's code does) changes them by a
    common factor only: the balance is the same.""")
nb.exercise(
    "7.2",
    task=r"""
        Write `trace_weights_of(kernel)` returning `(lambda_b, lambda_r)` for a `pinn.PINNKernel`
        (attributes `K_uu`, `K_rr`). The check compares with `pinn.ntk_trace_weights`.""",
    stub='''
        def trace_weights_of(kernel):
            # TODO: lambda_b = Tr K / Tr K_uu, lambda_r = Tr K / Tr K_rr, with Tr K = Tr K_uu + Tr K_rr
            raise NotImplementedError("Exercise 7.2")


        def inverted(kernel):
            lb, lr = pinn.ntk_trace_weights(kernel)
            return 1 / lb, 1 / lr


        kernels = [K, demos.kernel_at_init(10), demos.kernel_at_init(100, 0, standardize=False)]
        _ = checks.check_function("Exercise 7.2", trace_weights_of, reference=pinn.ntk_trace_weights,
                                  inputs=[(k,) for k in kernels], rtol=1e-12,
                                  mistakes={"the fractions are upside down (Tr K_uu / Tr K)": inverted})''',
    hint=r"""`torch.trace(kernel.K_uu)` is $\mathrm{Tr}\,K_{uu}$; convert with `float(...)`.""",
    solution='''
        # Solution to Exercise 7.2
        def trace_weights_of_solution(kernel):
            tr_uu, tr_rr = float(torch.trace(kernel.K_uu)), float(torch.trace(kernel.K_rr))
            return (tr_uu + tr_rr) / tr_uu, (tr_uu + tr_rr) / tr_rr


        _ = checks.check_function("Exercise 7.2 (solution)", trace_weights_of_solution,
                                  reference=pinn.ntk_trace_weights, inputs=[(k,) for k in kernels], rtol=1e-12,
                                  strict=True)''',
)
nb.code("""
    lam_b, lam_r = pinn.ntk_trace_weights(K)
    print(f"lambda_b = {lam_b:,.0f},  lambda_r = {lam_r:.5f}")
    # the weighted blocks have equal traces, both equal to Tr K (exact algebra, so rounding-level tolerance)
    tr_uu, tr_rr = K.traces()
    assert math.isclose(lam_b * tr_uu, lam_r * tr_rr, rel_tol=1e-12) and math.isclose(lam_b * tr_uu, tr_uu + tr_rr, rel_tol=1e-12)""")
nb.md(r"""
    Multiplying the boundary rates by $\lambda_b \approx 10^4$ has a price: gradient descent with step $\eta$
    diverges once $\eta > 2/\lambda_{\max}(K\Lambda)$ (notebook 05's $2/\lambda_{\max}$, for the weighted kernel).
    The next exercise computes that limit.""")
nb.exercise(
    "7.3",
    task=r"""
        Write `max_stable_step(kernel, lambda_b, lambda_r)`: $2/\lambda_{\max}(K\Lambda)$. Use the symmetric
        $\Lambda^{1/2} K \Lambda^{1/2}$ (same eigenvalues, and `torch.linalg.eigvalsh` applies); `kernel.full` is
        $K$ and the first `kernel.K_uu.shape[0]` rows belong to the boundary.""",
    stub='''
        def max_stable_step(kernel, lambda_b, lambda_r):
            # TODO: 2 / largest eigenvalue of Lambda^1/2 K Lambda^1/2
            raise NotImplementedError("Exercise 7.3")


        def reference_step(kernel, lambda_b, lambda_r):
            return 2.0 / float(pinn.LinearizedPINN(kernel, lambda_b=lambda_b, lambda_r=lambda_r).rates.max())


        def without_weights(kernel, lambda_b, lambda_r):
            return 2.0 / float(torch.linalg.eigvalsh(kernel.full).max())


        step_cases = [(K, 1.0, 1.0), (K, lam_b, lam_r)]
        _ = checks.check_function("Exercise 7.3", max_stable_step, reference=reference_step, inputs=step_cases,
                                  rtol=1e-9, mistakes={"the weights are missing (2 / lambda_max(K))": without_weights})''',
    hint=r"""Build the vector $s$ of $\sqrt{\lambda}$ per row (`lambda_b` for the first $N_b$ rows, `lambda_r` for the
        rest); then $\Lambda^{1/2} K \Lambda^{1/2}$ is `s[:, None] * kernel.full * s[None, :]`.""",
    solution='''
        # Solution to Exercise 7.3
        def max_stable_step_solution(kernel, lambda_b, lambda_r):
            n_b, n = kernel.K_uu.shape[0], kernel.full.shape[0]
            s = torch.ones(n, dtype=torch.float64)
            s[:n_b], s[n_b:] = math.sqrt(lambda_b), math.sqrt(lambda_r)
            return 2.0 / float(torch.linalg.eigvalsh(s[:, None] * kernel.full * s[None, :]).max())


        _ = checks.check_function("Exercise 7.3 (solution)", max_stable_step_solution, reference=reference_step,
                                  inputs=step_cases, rtol=1e-9, strict=True)''',
)
nb.md(r"""
    **The measurement.** We train the same width-100 net on $u^* = \sin(2\pi x)$ by full-batch gradient descent
    (the real, nonlinear network, not the linearized one), 600 steps of $\eta = 2\cdot10^{-5}$, once without weights and
    once with Algorithm 1 (weights recomputed every 100 steps). The step is below both stability limits (checked).
    *The claim and its tolerance:* the linearized model at the same time $t = 0.012$ predicts an error about
    300 times smaller with the weights (printed); the real kernel drifts during training (section 3: by about
    30 % at width 100), which can move that ratio by a factor of a few, so we claim a factor of at least 100.
    *What to look at in the demo:* the boundary loss $L_b$ (diamonds): it grows without weights, and falls by
    seven orders of magnitude with them.""")
nb.code("""
    remedy = demos.remedy_runs()                  # a = 2, width 100, 600 GD steps, seed 0 (cached)
    plain, weighted = remedy["none"], remedy["ntk"]
    K2 = pinn.pinn_ntk(demos.pinn_net(demos.REMEDY_WIDTH), pinn.poisson_1d(demos.REMEDY_A))
    limits = [reference_step(K2, 1.0, 1.0), reference_step(K2, *pinn.ntk_trace_weights(K2))]
    assert demos.REMEDY_LR < min(limits), limits
    linear = demos.linearized_run(demos.REMEDY_WIDTH, demos.REMEDY_A, np.array([demos.REMEDY_LR * demos.REMEDY_STEPS]))
    gain = plain.rel_l2_error[-1] / weighted.rel_l2_error[-1]
    print(f"stability limits 2/lambda_max: {limits[0]:.1e} (no weights), {limits[1]:.1e} (NTK weights); eta = {demos.REMEDY_LR:g}")
    print(f"relative L2 error after {demos.REMEDY_STEPS} steps: {plain.rel_l2_error[-1]:.3f} without weights, "
          f"{weighted.rel_l2_error[-1]:.2e} with NTK weights: {gain:,.0f} times smaller "
          f"(linearized prediction: {linear['plain']['error'][0] / linear['ntk']['error'][0]:,.0f} times)")
    print(f"L_b: {plain.loss_b[0]:.2f} -> {plain.loss_b[-1]:.2f} without weights, "
          f"{weighted.loss_b[0]:.2f} -> {weighted.loss_b[-1]:.1e} with;  lambda_b ranged over "
          f"{weighted.lambda_b.min():,.0f} .. {weighted.lambda_b.max():,.0f}")
    assert gain > 100 and not (plain.diverged or weighted.diverged)
    assert plain.loss_b[-1] > plain.loss_b[0] and weighted.loss_b[-1] < 1e-6 * weighted.loss_b[0]
    assert weighted.loss_r[-1] < plain.loss_r[-1]          # and the residual term is not fitted worse""")
nb.demo(
    questions=[
        "Without weights, is the residual term $L_r$ fitted less well than with them?",
        "Press ▶: when does the weighted solution first look right, early or late?",
        "The weighted error falls slowly below $10^{-2}$. Which term now limits it?",
    ],
    static="demos.plot_ntk_weights()",
    interactive="""
        weights_view = demos.NTKWeights.interact()
        weights_view""",
    explanation=r"""
        * No: $L_r$ ends at a similar level in both runs (a little lower with the weights). The difference is the
          boundary: without weights $L_b$ grows from 0.6 to about 4 and $u$ is $u^*$ plus a wrong line; with them
          $L_b$ falls to about $10^{-8}$.
        * Early: within the first hundred steps the weighted run has the right shape; the rest is slow
          polishing of the residual.
        * The residual term: $L_r \approx 2$ means $u''$ is still off by about 0.2 per point, and the small
          eigenvalues of $K_{rr}$ (the high-frequency directions, spectral bias) make the last digits slow.
          The weights fix the *imbalance between terms*, not the spread of rates *within* $K_{rr}$.""",
)
nb.code("""
    weights_view.set(record=5)
    weights_view.set(record=demos.REMEDY_STEPS // demos.REMEDY_RECORD)
    assert not weights_view.errors""")
nb.think(r"""
    Why traces, and not, say, $\lambda_{\max}(K_{rr})/\lambda_{\max}(K_{uu})$? And what would go wrong if you
    recomputed the weights at every step with a fixed step size?""", answer=r"""
    A trace is the sum of the eigenvalues, so equal traces mean equal *average* rates, and it is cheap: the
    diagonal of $K$, one gradient norm per point, no eigendecomposition (Tr costs $O(NP)$, an eigendecomposition
    of $K$ needs all of $K$, $O(N^2P)$). Recomputing at every step is allowed by the algorithm but costs a
    Jacobian per step; and since $\lambda_b$ moves with the kernel, the largest stable step $2/\lambda_{\max}(K\Lambda)$
    moves too: a step chosen for the initial weights can become unstable later. Here $\lambda_b$ ranged over
    the values printed above and the run did not diverge; try `demos.remedy_runs(a=4)` and look at the
    `.diverged` flag of its two runs.""")

# ---------------------------------------------------------------------------------------------
nb.summary([
    r"A PINN's loss has a boundary term and a residual term; gradient flow moves their errors with one kernel "
    r"$K = [[K_{uu}, K_{ur}], [K_{ru}, K_{rr}]]$ built from the parameter Jacobians of $u$ and of $u''$ "
    r"(`pinn.pinn_ntk`, checked against finite differences and against a gradient step).",
    r"For the paper's one-hidden-layer tanh net the parameters and the PINN NTK change during training by amounts "
    r"that shrink like $m^{-1/2}$ (fitted slopes near $-1/2$); at width 500 the spectrum of $K$ is unchanged.",
    r"$\lambda(K_{rr}) \gg \lambda(K_{uu})$ (thousands of times here, more with standardized inputs): the residual is "
    r"fitted first and the boundary values drift, so $u$ is off by a straight line. $K$ does not depend on $a$; "
    r"the residual term does, like $(a\pi)^4$, and the damage grows with $a$.",
    r"Algorithm 1 of Wang, Yu & Perdikaris sets $\lambda_b = \mathrm{Tr}K/\mathrm{Tr}K_{uu}$, "
    r"$\lambda_r = \mathrm{Tr}K/\mathrm{Tr}K_{rr}$; here it cut the error of the trained net several hundred-fold, "
    r"at the price of a step below $2/\lambda_{\max}(K\Lambda)$.",
])
nb.references([
    ("S. Wang, X. Yu, P. Perdikaris (2022). When and why PINNs fail to train: A neural tangent kernel perspective. "
     "Journal of Computational Physics 449, 110768", "https://arxiv.org/abs/2007.14527"),
    ("PredictiveIntelligenceLab/PINNsNTK: the paper's code (TensorFlow 1), e.g. PINNsNTK_Poisson1D.ipynb",
     "https://github.com/PredictiveIntelligenceLab/PINNsNTK"),
    ("M. Raissi, P. Perdikaris, G. E. Karniadakis (2019). Physics-informed neural networks. Journal of "
     "Computational Physics 378, 686-707", "https://doi.org/10.1016/j.jcp.2018.10.045"),
    ("S. Wang, Y. Teng, P. Perdikaris (2021). Understanding and mitigating gradient flow pathologies in "
     "physics-informed neural networks. SIAM J. Sci. Comput. 43(5)", "https://arxiv.org/abs/2001.04536"),
    ("A. Jacot, F. Gabriel, C. Hongler (2018). Neural Tangent Kernel: Convergence and Generalization in Neural "
     "Networks. NeurIPS", "https://arxiv.org/abs/1806.07572"),
    ("J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein, J. Pennington (2019). Wide Neural "
     "Networks of Any Depth Evolve as Linear Models Under Gradient Descent. NeurIPS", "https://arxiv.org/abs/1902.06720"),
    ("N. Rahaman et al. (2019). On the Spectral Bias of Neural Networks. ICML", "https://arxiv.org/abs/1806.08734"),
    ("PyTorch tutorial: Neural Tangent Kernels (torch.func)",
     "https://pytorch.org/tutorials/intermediate/neural_tangent_kernels.html"),
])

if __name__ == "__main__":
    print("wrote", nb.write())
