"""Builds notebooks/05_gradient_flow_and_the_kernel_regime.ipynb
(run: .venv/bin/python notebooks/builders/build_05_gradient_flow_and_the_kernel_regime.py)."""
from ntk_teach.nbtools import NotebookBuilder, details

nb = NotebookBuilder(
    "05_gradient_flow_and_the_kernel_regime",
    title="Gradient flow and the kernel regime",
    summary="With a fixed kernel, training is a linear ODE in function space that every NTK eigen-direction "
            "solves on its own clock; this notebook solves it, checks when real networks obey it (wide, or "
            "large output scale alpha), and reads spectral bias off the eigenvalues.",
    objectives=[
        "solve $\\dot u = -\\eta\\Theta u$ through the eigendecomposition $\\Theta = Q\\,\\mathrm{diag}(\\lambda)\\,Q^\\top$ "
        "(eigenvectors are the *columns* $Q[:, i]$), by hand for a $2\\times 2$ kernel, and state the decay "
        "rate of each mode under gradient flow and under gradient descent;",
        "compute the largest stable learning rate $2/\\lambda_{max}$ and predict what happens just above it;",
        "compare a trained network with the closed-form prediction of its linearization (Lee et al. 2019) and "
        "measure how the gap and the change of the NTK shrink with the width $n$ and the output scale $\\alpha$ "
        "(log-log slopes);",
        "draw a $2\\times 2$ NTK as the ellipse $u^\\top\\Theta u = c$ (axes $\\propto 1/\\sqrt{\\lambda_i}$), explain why "
        "the output trajectory crosses it at right angles, and tell the kernel regime from the rich regime by "
        "whether the ellipse moves;",
        "predict from the NTK eigenvalues which part of a target (low or high frequency) is learned first, "
        "and by how much.",
    ],
    prerequisites=["03_the_neural_tangent_kernel", "04_lazy_training_and_linearization"],
    minutes=80,
    demo_module="nb05_kernel_regime",
    extra_imports="""
        import numpy as np
        import scipy.integrate
        import scipy.linalg
        import torch
        from ntk_teach import spectral""",
)

# =============================================================================================
nb.section("Gradient flow in function space", minutes=20, intro=r"""
    Notebook 03 derived what gradient descent on the weights does to the outputs. With the course loss
    $L(\theta) = \tfrac12\sum_i (f(x_i;\theta) - y_i)^2$ and gradient flow $\dot\theta = -\eta\nabla_\theta L$,
    the residual on the training inputs, $u = f(X) - y$, moves by
    $$\dot u = -\eta\,\Theta\,u, \qquad \Theta = \Theta(X, X) = J J^\top,\quad J = \partial f(X)/\partial\theta .$$
    In the **kernel regime** $\Theta$ does not change during training (infinite width, or a large output
    scale: sections 2-4 check when). Then this is a *linear* ODE with the solution
    $$u(t) = e^{-\eta\Theta t}\,u(0).$$
    **Through the eigendecomposition.** $\Theta$ is symmetric and positive semi-definite, so
    $\Theta = Q\,\mathrm{diag}(\lambda_1 \ge \dots \ge \lambda_N \ge 0)\,Q^\top$ with orthonormal eigenvectors as the
    **columns** $q_i = Q[:, i]$. In the coordinates $c = Q^\top u$ the ODE decouples:
    $$\dot c_i = -\eta\lambda_i c_i \quad\Longrightarrow\quad c_i(t) = e^{-\eta\lambda_i t}\,c_i(0),
      \qquad u(t) = \sum_i e^{-\eta\lambda_i t}\,(q_i^\top u(0))\; q_i .$$
    Every eigen-direction of the residual decays **on its own clock** $1/(\eta\lambda_i)$.

    **Gradient descent** with step $\eta$ replaces $e^{-\eta\lambda_i t}$ by the factor per step
    $1 - \eta\lambda_i$: $c_i(k) = (1 - \eta\lambda_i)^k c_i(0)$, i.e. $u_k = (I - \eta\Theta)^k u_0$ (exact for
    a constant kernel). Mode $i$ shrinks iff $|1 - \eta\lambda_i| < 1$, i.e. $0 < \eta < 2/\lambda_i$; for
    $1/\lambda_i < \eta < 2/\lambda_i$ it flips sign every step while shrinking; all modes shrink iff
    $\eta < 2/\lambda_{max}$.

    (The "Understanding the NTK" post writes $u(t) = u(0)\,e^{-Ht}$, a row-vector convention; for a column
    vector it is $e^{-Ht}u(0)$, the same numbers since $H$ is symmetric. Its $H$ is our $\eta\Theta$.)

    The data: 8 evenly spaced points of $\sin x$ plus noise (`ntk_teach.tiny_1d(8)`); the kernel: the
    infinite-width NTK of the reference network (two hidden ReLU layers, NTK parameterization,
    $b_{std} = 0.1$), so that it is exactly constant. Outputs start at $f_0 = 0$ (the average over random
    initializations, or a centered network), so $u(0) = -y$.""")

nb.code("""
    s = demos.flow_setup()
    K, y, u0 = torch.tensor(s["K"]), torch.tensor(s["y"]), torch.tensor(s["u0"])
    lam, Q = spectral.modes(K)   # eigenvalues descending, eigenvectors as COLUMNS Q[:, i]
    print("eigenvalues of Theta(X, X):", np.round(lam.numpy(), 4))
    print("time scales 1/lambda_i:    ", np.round(1 / lam.numpy(), 2))

    # the closed form (through the eigendecomposition) against scipy's matrix exponential, at several times
    for t in (0.1, 3.0, 50.0):
        u_closed = ntk_teach.gradient_flow_mse(K, y, t)[0][0] - y          # outputs -> residual
        u_expm = torch.tensor(scipy.linalg.expm(-t * s["K"])) @ u0
        err = float((u_closed - u_expm).abs().max())
        assert err < 1e-10, (t, err)
    print("closed form = expm(-Theta t) u(0) to", f"{err:.1e}")""")
nb.md(r"""
    The tolerance $10^{-10}$: both sides are float64 computations of the same matrix function of a matrix
    with norm about 13 and $t \le 50$; their rounding errors are around $10^{-14}$ relative to
    $\|u(0)\| \approx 2$. Next, a check that does not use eigenvectors at all: a general ODE solver
    integrates $\dot u = -\Theta u$ up to $t = 50$, and we project *its* solution on each $q_i$. The decoupling says
    that $\log|c_i(t)|$ is a straight line of slope $-\lambda_i$; we fit each mode until it has decayed by
    $e^{-5}$ (or to $t = 50$) and accept a relative slope error of $10^{-6}$ (the solver runs at `rtol=1e-11`).""")
nb.code("""
    t_eval = np.linspace(0, 50, 1001)
    sol = scipy.integrate.solve_ivp(lambda t, u: -s["K"] @ u, (0, 50), s["u0"], t_eval=t_eval, method="DOP853",
                                    rtol=1e-11, atol=1e-14)
    c = Q.numpy().T @ sol.y        # (N, T): the ODE solution in the eigenbasis
    for i, lam_i in enumerate(lam.numpy()):
        keep = t_eval <= 5 / lam_i   # until the mode has decayed by e^-5 (or t = 50)
        slope = np.polyfit(t_eval[keep], np.log(np.abs(c[i, keep])), 1)[0]
        assert abs(slope / -lam_i - 1) < 1e-6, (i, slope, lam_i)
    print("each mode of the ODE solution decays like exp(-lambda_i t): fitted rates / lambda_i - 1 < 1e-6")""")

nb.md(r"""
    **Gradient descent, and the edge of stability.** The next cell runs plain gradient descent
    $u \leftarrow u - \eta\Theta u$ in a loop and compares it with the closed form $(I - \eta\Theta)^k u_0$. Then it
    sets $\eta$ 1 % above $2/\lambda_{max}$: the top mode's factor is $1 - \eta\lambda_1 = -1.02$, so after the
    other modes have died out the residual must grow by exactly $1.02^{1000}$ every 1000 steps. Both are
    checked to $10^{-8}$ relative (float64 rounding accumulated over 2000 multiplications).""")
nb.code("""
    eta = 1.0 / float(lam[0])
    u = u0.clone()
    for k in range(200):
        u = u - eta * (K @ u)
    closed = ntk_teach.gradient_descent_mse(K, y, [200], eta=eta)[0][0] - y
    assert float((u - closed).abs().max()) < 1e-10

    eta_max = spectral.max_stable_lr(K)
    assert abs(eta_max - 2 / float(lam[0])) < 1e-15
    lam_, factors = spectral.gd_factors(K, 0.99 * eta_max)
    assert float(factors.abs().max()) < 1                      # every mode shrinks just below the threshold
    eta_bad = 1.01 * eta_max
    r1000, r2000 = [ntk_teach.gradient_descent_mse(K, y, [k], eta=eta_bad)[0][0] - y for k in (1000, 2000)]
    growth = float(r2000.norm() / r1000.norm())
    expected = abs(1 - eta_bad * float(lam[0])) ** 1000
    assert abs(growth / expected - 1) < 1e-8, (growth, expected)
    print(f"2 / lambda_max = {eta_max:.5f}; at 1.01 x that the residual grows by {growth:.4g} per 1000 steps "
          f"(= |1 - eta lambda_1|^1000 = {expected:.4g})")""")

nb.demo(
    questions=[
        "Which modes are already gone after $t = 1$, and which ones need $t \\approx 100$? What sets the difference?",
        "Move $\\eta\\lambda_{max}$ from 1.0 to 1.5. What do the gradient-descent markers of the top mode do?",
        "Just above $\\eta\\lambda_{max} = 2$: which mode blows up first, and what happens to the slow modes?",
    ],
    static="demos.plot_flow_and_gd()",
    interactive="""
        view = demos.FlowAndGD.interact()
        view""",
    explanation=r"""
        * **Left:** each line is one eigen-direction $c_i(t)/c_i(0) = e^{-\lambda_i t}$ of the residual under gradient
          flow (time $t = \eta k$); markers are gradient descent, $(1 - \eta\lambda_i)^k$. The two large eigenvalues
          ($\approx 13$ and $10$) belong to the almost-linear functions a ReLU net with small biases makes easily
          (slopes on $x<0$ and on $x>0$); they are gone by $t \approx 0.5$. The six others ($\lambda \approx 0.02$ to
          $0.09$) need $t \approx 3/\lambda \approx 35$ to $180$: that is spectral bias already (section 5).
        * **Middle:** the factor $|1 - \eta\lambda_i|$ per step. Slow modes sit just below 1 whatever you do:
          the step size is limited by the *largest* eigenvalue, and the smallest ones then need about
          $\lambda_{max}/\lambda_{min}$ (here about 800) steps: the condition number is the price.
        * For $1 < \eta\lambda_{max} < 2$ the top mode overshoots: its coordinate changes sign every step while it
          shrinks (markers alternate above and below zero). Above 2 its factor exceeds 1 in absolute value and it
          grows geometrically, while the slow modes still decay: the function (right) explodes along $q_1$.""",
)
nb.code("""
    # drive the view from code (this also runs under the tests): a stable and a divergent learning rate
    view.set(ratio=0.5, frame=20)
    view.set(ratio=2.1, frame=len(demos.FLOW_STEPS) - 1)
    assert "diverges" in view.demo.warn.get_text() and not view.errors
    view.set(ratio=1.0)""")

nb.think(r"""
    A colleague doubles the number of training points (same interval, same kernel). $\lambda_{max}$ roughly
    doubles. What happens to the largest stable learning rate, and why do neural-tangents users not see
    this effect?""", answer=r"""
    $\lambda_{max}$ of $\Theta(X, X)$ grows about linearly with $N$ (the kernel matrix has $N^2$ entries of order 1),
    so $2/\lambda_{max}$ halves. neural-tangents (and most code) uses the **mean** squared error, whose gradient
    carries $1/N$: its flow is $\dot u = -\frac{\eta}{N}\Theta u$ and the stable step $2N/\lambda_{max}$ stays put.
    Same dynamics, different units for $\eta$.""")

nb.exercise(
    "5.1",
    task=r"""
        Solve the $2\times 2$ flow by hand. Write `flow_2x2(H, u0, t)` that returns $u(t) = e^{-Ht}u_0$ for a
        symmetric positive definite $2\times 2$ matrix $H = \begin{pmatrix} a & b\\ b & d\end{pmatrix}$ **without**
        `expm` or `eigh`: the eigenvalues are $\lambda_\pm = \frac{a+d}{2} \pm \sqrt{\left(\frac{a-d}{2}\right)^2 + b^2}$,
        and an eigenvector for $\lambda$ is $(b, \lambda - a)$ (or $(\lambda - d, b)$ when $b = 0$...); normalise them,
        put them as the **columns** of $Q$, and use $u(t) = Q\,\mathrm{diag}(e^{-\lambda t})\,Q^\top u_0$.
        The self-check compares with `scipy.linalg.expm` on the two-point NTK and on two other matrices.""",
    stub="""
        def flow_2x2(H, u0, t):
            # TODO: eigenvalues lambda_+- from the formula, normalised eigenvectors as the COLUMNS of Q,
            #       then u(t) = Q diag(exp(-lambda t)) Q^T u0        (numpy arrays in, numpy array out)
            raise NotImplementedError("Exercise 5.1")


        def reference_flow(H, u0, t):
            return scipy.linalg.expm(-t * np.asarray(H)) @ np.asarray(u0)


        H_two = ntk_teach.analytic_ntk(demos.TWO_X).numpy()       # the two-point NTK of section 3
        cases = [(H_two, np.array([-0.6, 0.4]), 1.5), (np.array([[2.0, -0.7], [-0.7, 0.5]]), np.array([1.0, 2.0]), 0.8),
                 (np.array([[1.0, 0.0], [0.0, 3.0]]), np.array([0.3, -1.0]), 2.0)]
        mistakes = {
            "np.exp(-t * H) is the ELEMENTWISE exponential, not the matrix exponential":
                lambda H, u0, t: np.exp(-t * np.asarray(H)) @ u0,
            "the sign of the exponent is flipped (that is gradient ASCENT)":
                lambda H, u0, t: scipy.linalg.expm(t * np.asarray(H)) @ u0,
        }
        _ = checks.check_function("Exercise 5.1", flow_2x2, reference=reference_flow, inputs=cases,
                                  rtol=1e-9, atol=1e-12, mistakes=mistakes)""",
    hint=r"""
        `lam = np.array([m + r, m - r])` with `m = (a + d) / 2`, `r = np.hypot((a - d) / 2, b)`. For $b \ne 0$ the
        vector $(b, \lambda - a)$ satisfies the first row of $(H - \lambda I)v = 0$. `Q = np.stack([v1, v2], axis=1)`
        makes them columns. Rows instead of columns gives $Q^\top \mathrm{diag}\, Q$: a different matrix.""",
    solution="""
        # Solution to Exercise 5.1
        def flow_2x2_solution(H, u0, t):
            (a, b), (_, d) = np.asarray(H, dtype=float)
            m, r = (a + d) / 2, np.hypot((a - d) / 2, b)
            lam = np.array([m + r, m - r])
            if b != 0:
                vecs = [np.array([b, l - a]) for l in lam]
            else:  # already diagonal: the coordinate axes, in the order of lam
                vecs = [np.array([1.0, 0.0]), np.array([0.0, 1.0])] if a >= d else [np.array([0.0, 1.0]), np.array([1.0, 0.0])]
            Q = np.stack([v / np.linalg.norm(v) for v in vecs], axis=1)      # eigenvectors as COLUMNS
            return Q @ (np.exp(-lam * t) * (Q.T @ np.asarray(u0, dtype=float)))


        _ = checks.check_function("Exercise 5.1 (solution)", flow_2x2_solution, reference=reference_flow, inputs=cases,
                                  rtol=1e-9, atol=1e-12, mistakes=mistakes, strict=True)""",
)

# =============================================================================================
nb.section("Real networks against their linearization (Lee et al. 2019)", minutes=12, intro=r"""
    Lee et al. (2019) replace a network by its first-order Taylor expansion in the parameters,
    $f^{\mathrm{lin}}_t(x) = f_0(x) + \nabla_\theta f_0(x)\cdot(\theta_t - \theta_0)$. This *linearized* model has the
    constant kernel $\Theta_0$ (the network's empirical NTK at initialization), so section 1 solves its training
    in closed form, on the training inputs **and** at any test input $x$:
    $$f^{\mathrm{lin}}_k(X) - y = (I - \eta\Theta_0)^k\,(f_0(X) - y), \qquad
      f^{\mathrm{lin}}_k(x) = f_0(x) - \Theta_0(x, X)\,\Theta_0^{-1}\big(I - (I-\eta\Theta_0)^k\big)(f_0(X) - y).$$
    Their theorem: for the real network trained by gradient descent, $\sup_t |f_t - f^{\mathrm{lin}}_t| = O(n^{-1/2})$
    in the width $n$ (NTK parameterization). We check it on the **two-point data** of section 3, with centered
    networks $f - f_0$ (they start at 0; notebook 04), 16 seeds per width, `lr = 0.25`, 40 steps.

    **Why two points?** With the default $b_{std} = 0.1$ a ReLU net with 1-D input has an NTK that is nearly rank
    two on any data set (notebook 04 and the demo above: two eigenvalues of order 10, the rest below 0.1).
    A finite network's kernel drifts by a few per cent of $\lambda_{max}$ during training, which is *larger* than
    those small eigenvalues, so along them the network is not in the kernel regime until $n$ is huge.
    Two points have a well-conditioned $2\times 2$ kernel (eigenvalues 1.7 and 0.8); section 5 comes back to
    the ill-conditioned case.""")
nb.code("""
    study = demos.width_study("relu")          # 5 widths x 16 seeds, trained in one batched pass per width
    # the closed form IS gradient descent on ntk_teach.linearize(...): check it for one network
    net = ntk_teach.centered(ntk_teach.MLP(64, seed=0), 1.0)
    lin_model = ntk_teach.linearize(net)
    with spectral.single_thread():
        res = ntk_teach.train(lin_model, demos.TWO_X, demos.TWO_Y, lr=demos.STUDY_LR, steps=demos.STUDY_STEPS,
                              record_every=demos.STUDY_EVERY, x_test=torch.tensor(demos.STUDY_GRID))
    err = max(float(np.abs(res.outputs.numpy() - study[64]["lin_outputs"][:, 0]).max()),
              float(np.abs(res.test_outputs.numpy() - study[64]["lin_test"][:, 0]).max()))
    assert err < 1e-10, err
    print(f"closed form vs gradient descent on the linearized network: max difference {err:.1e}")""")
nb.md(r"""
    (The closed form and the trained linear model agree to rounding error: $10^{-10}$ is generous for float64
    after 40 steps.) Now the real networks. The figure shows the difference network $-$ linearized as a function
    of $x$ (left), its root-mean-square size over the test grid during training (middle, mean of 16 seeds), and
    its largest value against the width (right), on the test grid and on the two training points, with fitted
    slopes (errors: bootstrap over the seeds).""")
nb.demo(
    questions=[
        "Where is the difference between the network and its linearization largest: at the training points or "
        "between and beyond them? Why must it vanish at the training points at the end?",
        "By what factor does the gap shrink from width 16 to width 256? What would $n^{-1/2}$ predict?",
    ],
    static="demos.plot_linearization()",
    interactive="""
        view = demos.Linearization.interact()
        view""",
    explanation=r"""
        * Both models are pulled towards the same two targets, so at the training points the difference stays
          small (and shrinks as both converge); it lives **between and beyond** the points, where the two models
          interpolate with different kernels: the network's kernel drifted a little during training.
        * From $n = 16$ to $256$ the test gap falls by about 4, the $n^{-1/2}$ of Lee et al. (a factor 4 over 16x
          in width). The gap is an integral of the kernel drift times the residual, so it shrinks like the
          **change of the NTK**, which section 4 measures: between $n^{-1/2}$ and $n^{-1}$ for ReLU.""",
)
nb.code("""
    widths = np.array(demos.STUDY_WIDTHS, dtype=float)
    for where in ("test_gap", "train_gap"):
        S = np.stack([study[n][where] for n in demos.STUDY_WIDTHS])
        slope, se, means = demos.bootstrap_slope(widths, S)
        print(f"{where}: mean largest gap {np.round(means, 4)}; slope {slope:.2f} +- {se:.2f}")
        assert -1 - 3 * se < slope < -0.5 + 3 * se, (where, slope, se)
        assert means[-1] < means[0] / 3          # a 16x wider network is at least 3x closer to its linearization
    view.set(width=256, step=20)
    assert not view.errors""")
nb.md(r"""
    **What the assert accepts, and why.** Lee et al. prove the gap is *at most* of order $n^{-1/2}$. Section 4
    shows that for ReLU the kernel drift, which drives the gap, falls between $n^{-1/2}$ (units whose
    pre-activation crosses zero at a training input, the kinks of ReLU) and $n^{-1}$ (the smooth part);
    so the slope must lie in $[-1, -1/2]$, widened by three bootstrap standard errors of the fit.""")

# =============================================================================================
nb.section("The two-point picture: the NTK as an ellipse", minutes=15, intro=r"""
    With two training points the outputs $(f(x_1), f(x_2))$ are a point in the plane, and we can watch
    training happen in it (the picture of the "Understanding the NTK" post). The residual $u = f(X) - y$ obeys
    $\dot u = -\eta\Theta u$. Which ellipse pictures $\Theta$?

    **Derivation.** $\dot u = -\eta\Theta u$ is the ordinary (Euclidean) gradient flow of the quadratic
    $E(u) = \tfrac12 u^\top\Theta u$, since $\nabla_u E = \Theta u$. A gradient flow crosses the level sets of its
    potential **at right angles**. The level sets $u^\top\Theta u = c$ are ellipses centred on the targets
    ($u = 0$ means $f = y$) with axes along the eigenvectors $q_i$ (the columns of $Q$) and semi-axes
    $$\ell_i = \sqrt{c/\lambda_i} \;\propto\; 1/\sqrt{\lambda_i}.$$
    (And $E$ is not arbitrary: $E = \tfrac12\|J^\top u\|^2 = \tfrac12\|\nabla_\theta L\|^2$, half the squared
    parameter-gradient norm.) The large-eigenvalue direction is the **short** axis: the outputs move fast
    along it and arrive there first.

    **Where the post differs.** It says the axis lengths are "inversely proportional to the eigenvalues",
    $\ell_i \propto 1/\lambda_i$. That ellipse is the level set $u^\top\Theta^2 u = c$ of the output *speed*
    $|\dot u|$; the trajectory does not cross it at right angles. Both pictures put the short axis on the
    fast direction, but only $1/\sqrt{\lambda}$ makes the geometry exact. The next cell checks this on the
    flow with the infinite-width two-point NTK.""")
nb.code("""
    K2 = ntk_teach.analytic_ntk(demos.TWO_X)                 # 2 x 2, eigenvalues ~1.73 and ~0.76
    y2 = demos.TWO_Y.numpy()
    ts = np.linspace(0, 8, 401)
    u = ntk_teach.gradient_flow_mse(K2, demos.TWO_Y, ts)[0].numpy() - y2     # the exact flow, from the origin
    velocity = -(K2.numpy() @ u.T).T
    angle = {}
    for power in (0.5, 1.0):
        lam2, Q2 = np.linalg.eigh(K2.numpy())
        normal = (Q2 @ np.diag(lam2 ** (2 * power)) @ Q2.T @ u.T).T     # normal of u^T Theta^(2 power) u = c
        angle[power] = max(spectral.angle_between(-v, n) for v, n in zip(velocity[:-1], normal[:-1]))
    # and the drawn ellipse is that level set: every point satisfies (f - y)^T Theta (f - y) = c
    E = spectral.kernel_ellipse(K2, y2, level=0.3)
    d = E["points"] - y2
    assert np.allclose(np.einsum("pi,ij,pj->p", d, K2.numpy(), d), 0.3, rtol=1e-12)
    assert np.allclose(E["lengths"], np.sqrt(0.3 / E["lam"]), rtol=1e-12)
    print(f"largest angle between the flow and the ellipse normal: 1/sqrt(lambda) axes {angle[0.5]:.1e} deg, "
          f"1/lambda axes (the post) {angle[1.0]:.1f} deg")
    assert angle[0.5] < 1e-6 and angle[1.0] > 5""")
nb.md(r"""
    With $1/\sqrt{\lambda}$ axes the angle is zero up to rounding ($10^{-6}$ degrees accepted); with the post's
    $1/\lambda$ axes the trajectory cuts the ellipses at up to the angle printed above. **In the demo** a real
    network (width 64, NTK parameterization) is centered ($f - f_0$, so it starts at the origin) and scaled by
    $\alpha$, and trained on the alpha-normalized loss $L/\alpha^2$ (Chizat & Bach), so that every $\alpha$ has the
    same time scale: in function space $\dot u = -\eta\,\Theta_t u$ with $\Theta_t$ the NTK of $f$ *now*. The solid
    ellipse is the level set of $\Theta_t$ through the origin's level $c = y^\top\Theta_0 y$, the dashed one that of
    $\Theta_0$; the dotted one passes through the current point, where the trajectory crosses it at right angles.
    The default seed (5) is the one whose axes turn the most among seeds 0-7; other seeds turn a few degrees.""")
nb.demo(
    questions=[
        "At the smallest $\\alpha$: does the ellipse grow or shrink while the network trains? What does that say "
        "about the NTK's eigenvalues?",
        "At $\\alpha = 100$: how far does the network's trajectory stray from the dashed kernel-regime curve?",
        "Press play at $\\alpha = 1$. Is the reference network at width 64 in the kernel regime?",
    ],
    static="""
        viz.show(demos.plot_ntk_ellipse(alpha=100.0))   # kernel regime (first figure)
        demos.plot_ntk_ellipse()                         # rich regime, alpha = 0.03 (second figure)""",
    interactive="""
        view = demos.NTKEllipse.interact()
        view""",
    explanation=r"""
        * **Rich regime** ($\alpha \approx 0.03$): to move the outputs by $O(1)$ the parameters must move by
          $O(1/\alpha)$, far enough to change the features. The NTK grows several-fold (both eigenvalues), so the
          ellipse of $\Theta_t$ **shrinks** and changes shape, and its axes turn; the trajectory leaves the kernel-regime
          curve and still reaches the targets (faster, since the kernel grew). No theorem covers this part.
        * **Kernel regime** ($\alpha = 100$): the parameters move by $O(1/\alpha)$, the NTK changes by less than 0.1 %,
          the ellipse stays put and the trajectory is the kernel-regime curve $e^{-\eta\Theta_0 t}u(0)$.
        * At $\alpha = 1$ and width 64 the kernel changes by about 10 %: in between. Wider networks, or larger
          $\alpha$, are lazier (section 4 measures how fast).
        * On the right: the fitted functions. The network and its kernel-regime twin agree at the two training
          points (both fit them) and differ in between in the rich regime.""",
)
nb.code("""
    rich = demos.ellipse_summary(64, demos.ELLIPSE_SEED, demos.ELLIPSE_ALPHAS[0])
    lazy = demos.ellipse_summary(64, demos.ELLIPSE_SEED, 100.0)
    for name, r in (("rich", rich), ("lazy", lazy)):
        print(f"{name}: alpha {r['alpha']:.3g}  NTK change {r['ntk_change']:.4f}  axes turned {r['rotation_deg']:.1f} deg"
              f"  eigenvalues {np.round(r['lam0'], 2)} -> {np.round(r['lam1'], 2)}  "
              f"largest distance to kernel-regime trajectory {r['max_deviation']:.1e}")
    assert rich["ntk_change"] > 1 and np.all(rich["lam1"] > 2 * rich["lam0"])      # the kernel grows: rich regime
    assert lazy["ntk_change"] < 1e-2 and lazy["max_deviation"] < 1e-3              # the kernel stays: kernel regime
    # the network's steps cross the ellipses of its CURRENT kernel at right angles, in every regime
    for a in (demos.ELLIPSE_ALPHAS[0], 1.0, 100.0):
        ang = demos.crossing_angles(64, demos.ELLIPSE_SEED, a, power=0.5)
        print(f"alpha {a:7.3g}: median angle between a 3-step chord and the ellipse normal {np.median(ang):.2f} deg")
    assert np.median(demos.crossing_angles(64, demos.ELLIPSE_SEED, 100.0, power=0.5)) < 1.0
    view.set(alpha=100.0, frame=10)
    view.set(width=32, seed=1)
    assert not view.errors""")
nb.md(r"""
    **Tolerances.** The rich/kernel thresholds (NTK change above 100 % with both eigenvalues at least doubled;
    below 1 % with the trajectory within $10^{-3}$ of $e^{-\eta\Theta_0 t}u(0)$) are the two regimes' definitions
    made concrete; the measured numbers are far on either side. The chord check: the outputs are recorded every
    3 steps, and a 3-step chord $\big((I-\eta\Theta)^3 - I\big)u$ deviates from the direction $\Theta u$ by an angle of
    order $\eta\lambda_{max}\,(\lambda_1 - \lambda_2)/(\lambda_1 + \lambda_2) \approx 0.1 \times 0.15$ rad $\approx 1°$, which is
    the tolerance. In the rich regime the chord angles are larger: the kernel, and with it the ellipse,
    changes *during* those 3 steps, and the large kernel makes each step long.""")

nb.exercise(
    "5.2",
    task=r"""
        Write `semi_axes(K, level)`: the $2\times 2$ matrix whose **columns** are the semi-axis vectors
        $\sqrt{\text{level}/\lambda_i}\; q_i$ of the ellipse $u^\top K u = \text{level}$, largest eigenvalue first.
        Eigenvectors have arbitrary signs, so the self-check compares $A A^\top$, which for the right answer is
        $\sum_i \ell_i^2 q_i q_i^\top = \text{level}\cdot K^{-1}$ (and not $\text{level}\cdot K^{-2}$, the post's $1/\lambda$).""",
    stub="""
        def semi_axes(K, level):
            # TODO: eigenvalues/eigenvectors of K (np.linalg.eigh returns eigenvectors as COLUMNS, ascending),
            #       sort descending, scale column i by sqrt(level / lambda_i)
            raise NotImplementedError("Exercise 5.2")


        def gram_of(fn):
            return lambda K, level: fn(K, level) @ fn(K, level).T


        def right_gram(K, level):
            return level * np.linalg.inv(np.asarray(K))


        kernels = [(ntk_teach.analytic_ntk(demos.TWO_X).numpy(), 0.3), (np.array([[2.0, 0.9], [0.9, 1.0]]), 1.0)]
        wrong = {
            "axes proportional to 1/lambda (the blog post's wording), not 1/sqrt(lambda)":
                lambda K, c: c * np.linalg.inv(np.asarray(K)) @ np.linalg.inv(np.asarray(K)),
            "eigenvectors used as ROWS: the result is diagonal":
                lambda K, c: np.diag(c / np.linalg.eigh(np.asarray(K))[0][::-1]),
        }
        _ = checks.check_function("Exercise 5.2", gram_of(semi_axes), reference=right_gram, inputs=kernels,
                                  rtol=1e-9, mistakes=wrong)""",
    hint=r"""
        `lam, Q = np.linalg.eigh(K)`, then `lam, Q = lam[::-1], Q[:, ::-1]` and `Q * np.sqrt(level / lam)` (NumPy
        broadcasting scales the columns). `spectral.kernel_ellipse(K, center, level)["axes"]` is the package's
        version.""",
    solution="""
        # Solution to Exercise 5.2
        def semi_axes_solution(K, level):
            lam, Q = np.linalg.eigh(np.asarray(K, dtype=float))
            lam, Q = lam[::-1], Q[:, ::-1]
            return Q * np.sqrt(level / lam)          # column i = sqrt(level / lambda_i) * Q[:, i]


        _ = checks.check_function("Exercise 5.2 (solution)", gram_of(semi_axes_solution), reference=right_gram,
                                  inputs=kernels, rtol=1e-9, mistakes=wrong, strict=True)
        for K_, c_ in kernels:   # and the package draws the same axes (up to the sign of each column)
            assert np.allclose(np.abs(semi_axes_solution(K_, c_)),
                               np.abs(spectral.kernel_ellipse(K_, (0, 0), c_)["axes"]), rtol=1e-10)""",
)

# =============================================================================================
nb.section("How constant is the kernel? Width and alpha", minutes=10, intro=r"""
    The kernel regime is the statement $\Theta_t \approx \Theta_0$ during training. How fast does the relative change
    $\|\Theta_T - \Theta_0\|_F/\|\Theta_0\|_F$ go to zero? The same two-point runs as in section 2 (16 seeds, time
    $T = 10$, both modes converged), for the reference ReLU network and for the same network with tanh.

    **Against $\alpha$** (centered model, loss $L/\alpha^2$): the function-space dynamics do not depend on $\alpha$,
    and the parameters move by $\|\theta_T - \theta_0\| \propto 1/\alpha$. For a smooth activation the kernel is a smooth
    function of $\theta$, so its change is $\nabla_\theta\Theta\cdot(\theta_T - \theta_0) + O(\alpha^{-2})$: **slope $-1$**
    (Chizat & Bach 2019).

    **Against the width $n$** (NTK parameterization, $\alpha = 1$): every weight moves by $O(n^{-1/2})$ (notebook 04).
    The first-order change of $\Theta = \frac1n\sum_{\text{neurons}}(\dots)$ is a sum of $n$ terms of size $n^{-1/2}$
    whose signs are set by the random read-out weights, so it averages to $O(n^{-1})$, as does the second-order
    term: **slope $-1$** for smooth activations (Dyer & Gur-Ari 2020; Huang & Yau 2020). Lee et al.'s bound
    $n^{-1/2}$ is not tight there.

    **ReLU is different**, and our reference network is ReLU. $\phi'$ jumps at 0: a unit whose pre-activation
    at a training input crosses zero switches its contribution to $\Theta$ on or off, a jump of order $1/n$. About
    $n\cdot n^{-1/2}/\alpha = \sqrt n/\alpha$ units cross. If the jumps all had the same sign (units that are off at
    $x_i$ get no gradient from $x_i$, so switching *off* is favoured) they add up to $n^{-1/2}\alpha^{-1}$; if their
    signs were random, to $\sqrt{\sqrt n/\alpha}/n = n^{-3/4}\alpha^{-1/2}$; the smooth part adds $n^{-1}\alpha^{-1}$.
    So for ReLU the slopes must lie **between $-1$ and $-1/2$**, against $n$ and against $\alpha$. That is the claim
    we assert (with three bootstrap standard errors of the fitted slope); for tanh we assert $-1$.""")
nb.code("""
    demos.plot_ntk_change()""", tags=("demo",))
nb.md(r"""
    *What to look at:* both lines fall, so both networks approach the kernel regime, but ReLU's kernel moves
    more and its slope against the width is shallower (the kinks); against $\alpha$ the tanh points lie on a
    line of slope $-1$. Error bars: standard errors over 16 seeds; slope errors: bootstrap over seeds.""")
nb.code("""
    for act in ("relu", "tanh"):
        S = np.stack([demos.ntk_changes(act, n) for n in demos.STUDY_WIDTHS])
        sw, se_w, _ = demos.bootstrap_slope(widths, S)
        A = demos.alpha_study(act)
        sa, se_a, _ = demos.bootstrap_slope(A["alphas"], A["ntk_change"])
        print(f"{act}: slope against width {sw:.2f} +- {se_w:.2f};  against alpha {sa:.2f} +- {se_a:.2f}")
        if act == "tanh":
            assert abs(sw + 1) < 3 * se_w and abs(sa + 1) < 3 * se_a
        else:
            assert -1 - 3 * se_w < sw < -0.5 + 3 * se_w and -1 - 3 * se_a < sa < -0.5 + 3 * se_a""")
nb.think(r"""
    Notebook 04 measured the relative change of the *weights*, $\|\theta_T - \theta_0\|/\|\theta_0\|$, falling like
    $n^{-1}$ for the reference network. Why can the kernel change more slowly ($n^{-1/2}$ for ReLU) than the weights?""",
    answer=r"""
    $\|\theta_0\|$ grows like $n$ (there are $n^2$ hidden-to-hidden weights of size 1), while each neuron's weights
    move by $O(n^{-1/2})$. The kernel is an average over neurons of products of activations and derivatives,
    which are $O(1)$ per neuron: a change of $O(n^{-1/2})$ in a few special neurons (those near a ReLU kink) is
    a change of order $1/n$ each in $\Theta$, and there are about $\sqrt n$ of them.""")

# =============================================================================================
nb.section("Spectral bias: low frequencies first", minutes=12, intro=r"""
    Section 1 said: the residual component along $q_i$ decays like $e^{-\eta\lambda_i t}$. So a target is learned
    in the order of the eigenvalues of the directions it lies along. For the NTK of a 1-D input the eigenvectors,
    ordered by eigenvalue, oscillate more and more, like Fourier modes: **eigenvector $i$ changes sign $i-1$ times**
    (counting from $q_1$). A low-frequency target then lies along large eigenvalues and is learned first
    ("spectral bias", Rahaman et al. 2019; for the NTK, Basri et al. 2019 and 2020).

    The data: 32 points of $y = \sin x + \tfrac12\sin 4x$ on $[-1.5, 1.5]$ (`noisy_1d(32, fn="sin2", noise=0,
    x_range=(-1.5, 1.5))`; on the default interval $[-3, 3]$ the high frequency would need thousands of steps).
    The kernel: the infinite-width NTK of the reference network.""")
nb.code("""
    demos.plot_spectrum()""", tags=("demo",))
nb.code("""
    sr = demos.spectral_run()
    changes = [spectral.sign_changes(sr["x"], sr["Q"][:, i]) for i in range(12)]
    print("sign changes of q_1 ... q_12:", changes)
    assert changes == list(range(12))                       # eigenvector i+1 changes sign exactly i times
    c = sr["coef"]                                          # Q^T v for v = low, high component
    low_top2 = (c[:2, 0] ** 2).sum() / (c[:, 0] ** 2).sum()
    high_rest = (c[2:, 1] ** 2).sum() / (c[:, 1] ** 2).sum()
    K32 = torch.tensor(sr["K"])
    comps = demos.spectral_components(sr["x"])
    t_low, t_high = (spectral.time_to_fraction(K32, comps[:, j], 0.1) for j in (0, 1))
    print(f"sin x: {low_top2:.1%} of it along q_1, q_2 (eigenvalues {sr['lam'][0]:.2f}, {sr['lam'][1]:.2f}); "
          f"0.5 sin 4x: {high_rest:.1%} along q_3 ... q_32")
    print(f"kernel flow (eta = 1): 90% of sin x learned by t = {t_low:.2f}, 90% of 0.5 sin 4x by t = {t_high:.1f} "
          f"({t_high / t_low:.0f}x later)")
    assert low_top2 > 0.95 and high_rest > 0.95 and t_high > 10 * t_low""")
nb.md(r"""
    *What to look at:* left, the eigenvalues fall by four orders of magnitude; middle, eigenvector $i$ has $i-1$
    sign changes (asserted exactly for the first 12); right, $\sin x$ lives on the two largest modes (over 95 %,
    asserted), $\tfrac12\sin 4x$ on modes 3-6. So the NTK predicts that $\sin x$ is learned about 80 times sooner.

    **A real network.** The demo trains a centered ReLU network of width 256 (NTK parameterization) with
    `lr` $= 1/\lambda_{max}$ of its own NTK for 400 steps, and compares it with the prediction of its
    linearization (gradient descent with its own $\Theta_0$, section 2). The "remaining" part of each component
    is its least-squares coefficient in the residual $y - f_t(X)$.""")
nb.demo(
    questions=[
        "At which step is $\\sin x$ learned? And $\\frac12\\sin 4x$?",
        "The network learns $\\sin x$ as predicted but $\\frac12\\sin 4x$ more slowly. Which number from "
        "sections 2 and 4 explains it?",
    ],
    static="demos.plot_spectral_bias()",
    interactive="""
        view = demos.SpectralBias.interact()
        view""",
    explanation=r"""
        * Both the network and its kernel prediction fit $\sin x$ within a few steps (time $t \approx 1$) and the
          wiggles of $\tfrac12\sin 4x$ only after $t \approx 20$ to $60$: low frequencies first, as the eigenvalues say.
        * The low part matches the prediction closely. The high part lags behind: it lives on eigenvalues
          $0.2$ to $0.03$, and by the end the network's NTK has drifted by about $\|\Delta\Theta\|_2 \approx 2$ (its
          top eigenvalues grew). A drift larger than the eigenvalues that matter means those modes are **not** in the
          kernel regime, however small the relative change looks. This is the same condition as in section 2:
          the kernel regime needs $\|\Theta_t - \Theta_0\| \ll \lambda$ for every $\lambda$ you care about.""",
)
nb.code("""
    early = np.linalg.norm(sr["ntk_early"] - sr["ntk0"]) / np.linalg.norm(sr["ntk0"])
    diff_low = float(np.abs(sr["rem_net"][:, 0] - sr["rem_kernel"][:, 0]).max())
    bound = early / np.e
    print(f"NTK drift by step {demos.SPEC_EARLY}: {early:.3f}; low part: largest |network - prediction| = {diff_low:.3f}"
          f" (bound drift/e = {bound:.3f})")
    assert diff_low < bound + 0.005
    lam0 = np.linalg.eigvalsh(sr["ntk0"])[::-1]
    drift = np.linalg.norm(sr["ntk1"] - sr["ntk0"], 2)
    print(f"NTK drift by the end: ||dTheta||_2 = {drift:.2f} > lambda_3 = {lam0[2]:.2f} of Theta_0: "
          "the high-frequency modes are outside the kernel regime")
    assert drift > lam0[2]
    rem = sr["rem_net"]
    assert np.all(rem[1:, 1] > rem[1:, 0])                  # the network too: high frequency always behind
    assert rem[-1, 1] < 0.5 * rem[np.searchsorted(sr["steps"], 40), 1]   # ... but it is being learned
    view.set(frame=len(demos.SPEC_RECORD) - 1)
    assert not view.errors""")
nb.md(r"""
    **The tolerance of the low-frequency check.** The low part sits on the top modes; a relative change $\delta$ of
    their eigenvalue changes $e^{-\lambda t}$ by at most $\delta\lambda t\,e^{-\lambda t} \le \delta/e$. By step 40, when
    $\sin x$ has been learned, the kernel has drifted by the printed $\delta \approx 6\%$, so we accept
    $\delta/e + 0.005$ (the last term for the small overlap with other modes).""")

# =============================================================================================
nb.summary([
    "With a constant kernel, training is the linear ODE $\\dot u = -\\eta\\Theta u$; in the eigenbasis "
    "(columns $q_i$ of $Q$) each coordinate decays as $e^{-\\eta\\lambda_i t}$, under gradient descent as "
    "$(1-\\eta\\lambda_i)^k$; the step must satisfy $\\eta < 2/\\lambda_{max}$, and the slowest mode then needs "
    "about $\\lambda_{max}/\\lambda_{min}$ steps.",
    "A network trains like its linearization (Lee et al. 2019) when its NTK barely moves: the gap and the "
    "relative NTK change shrink with the width (slope $-1$ for tanh, between $-1$ and $-1/2$ for ReLU, whose "
    "kinks switch units on and off) and with the output scale $\\alpha$.",
    "The $2\\times 2$ NTK is the ellipse $u^\\top\\Theta u = c$ centred on the targets, axes $\\propto 1/\\sqrt{\\lambda_i}$ "
    "along the eigenvectors (not $1/\\lambda_i$): outputs cross it at right angles. Large $\\alpha$: the ellipse "
    "is fixed (kernel regime); small $\\alpha$: it grows, shrinks or turns (rich regime).",
    "Spectral bias: NTK eigenvectors of 1-D inputs oscillate more as the eigenvalue falls, so low frequencies "
    "are learned first; the prediction holds for a real network along directions whose eigenvalue is much "
    "larger than the kernel's drift, and fails along the others.",
])
nb.references([
    ("A. Jacot, F. Gabriel, C. Hongler (2018). Neural Tangent Kernel: Convergence and Generalization in Neural "
     "Networks. NeurIPS", "https://arxiv.org/abs/1806.07572"),
    ("J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein, J. Pennington (2019). Wide Neural "
     "Networks of Any Depth Evolve as Linear Models Under Gradient Descent. NeurIPS", "https://arxiv.org/abs/1902.06720"),
    ("L. Chizat, E. Oyallon, F. Bach (2019). On Lazy Training in Differentiable Programming. NeurIPS",
     "https://arxiv.org/abs/1812.07956"),
    ("E. Dyer, G. Gur-Ari (2020). Asymptotics of Wide Networks from Feynman Diagrams. ICLR",
     "https://arxiv.org/abs/1909.11304"),
    ("J. Huang, H.-T. Yau (2020). Dynamics of Deep Neural Networks and Neural Tangent Hierarchy. ICML",
     "https://arxiv.org/abs/1909.08156"),
    ("N. Rahaman et al. (2019). On the Spectral Bias of Neural Networks. ICML", "https://arxiv.org/abs/1806.08734"),
    ("R. Basri, D. Jacobs, Y. Kasten, S. Kritchman (2019). The Convergence Rate of Neural Networks for Learned "
     "Functions of Different Frequencies. NeurIPS", "https://arxiv.org/abs/1906.00425"),
    ("S. Arora, S. Du, W. Hu, Z. Li, R. Wang (2019). Fine-Grained Analysis of Optimization and Generalization for "
     "Overparameterized Two-Layer Neural Networks. ICML", "https://arxiv.org/abs/1901.08584"),
    ("R. Dwaraknath. Understanding the Neural Tangent Kernel (blog post; the two-point ellipse)",
     "https://rajatvd.github.io/NTK/"),
    ("R. Novak et al. (2020). Neural Tangents (predict.gradient_descent_mse uses the mean loss)",
     "https://github.com/google/neural-tangents"),
])

if __name__ == "__main__":
    print("wrote", nb.write())
