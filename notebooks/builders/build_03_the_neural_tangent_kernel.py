"""Builds notebooks/03_the_neural_tangent_kernel.ipynb (run: .venv/bin/python notebooks/builders/build_03_the_neural_tangent_kernel.py)."""
from ntk_teach.nbtools import NotebookBuilder, details

nb = NotebookBuilder(
    "03_the_neural_tangent_kernel",
    title="The neural tangent kernel",
    summary="How gradient descent on the weights becomes a kernel acting on the function, how to compute that "
            "kernel, and why it stops being random when the network is wide.",
    objectives=[
        "derive $\\frac{df}{dt} = -\\eta\\,\\Theta(x, X)\\,(f(X) - y)$ from one gradient-descent step, with the "
        "sign and the constant right for the course loss $\\frac12\\sum_i (f(x_i)-y_i)^2$, and convert it to the "
        "mean-loss version ($\\eta \\to \\eta/N$);",
        "compute the empirical NTK of a network as the Gram matrix $J J^\\top$ of its parameter gradients, "
        "by a plain autograd loop and by the structured per-layer formula, and say why the latter is faster;",
        "split the NTK into the contributions of each layer's weights and biases, and compute the NTK of a "
        "one-hidden-layer ReLU network by hand;",
        "evaluate the infinite-width recursion $\\Theta^{l+1} = \\Theta^l\\,\\dot\\Sigma^{l+1} + \\Sigma^{l+1}$ and "
        "measure that random NTKs approach it with a spread $\\propto m^{-1/2}$;",
        "explain why the NTK converges in the NTK parameterization but grows like the width in the standard one.",
    ],
    prerequisites=["01_foundations", "02_wide_networks_are_gaussian_processes"],
    minutes=75,
    demo_module="nb03_ntk",
    extra_imports="""
        import math
        import numpy as np
        import torch
        from ntk_teach import montecarlo""",
)

# =============================================================================================
nb.section("From a gradient step to a kernel", minutes=12, intro=r"""
    Take the reference network $f(x;\theta)$ (1-D input, two hidden ReLU layers of width $m$, NTK
    parameterization), training inputs $X = (x_1, \dots, x_N)$ with targets $y$, and the course loss
    $$L(\theta) = \tfrac12 \sum_{i=1}^{N} \big(f(x_i;\theta) - y_i\big)^2 .$$

    1. **Gradient of the loss** (chain rule): $\nabla_\theta L = \sum_i \big(f(x_i) - y_i\big)\,\nabla_\theta f(x_i)$.
       The $\tfrac12$ cancels the 2 from the square.
    2. **One gradient-descent step** $\theta_{k+1} = \theta_k - \eta\,\nabla_\theta L(\theta_k)$ changes the
       output at *any* input $x$, to first order in $\eta$ (Taylor):
       $$f(x;\theta_{k+1}) - f(x;\theta_k) = \nabla_\theta f(x)\cdot(\theta_{k+1} - \theta_k) + O(\eta^2)
         = -\eta \sum_{i=1}^N \underbrace{\nabla_\theta f(x)\cdot\nabla_\theta f(x_i)}_{\Theta(x,\,x_i)}\,
           \big(f(x_i) - y_i\big) + O(\eta^2).$$
    3. **Gradient flow.** Let the steps become small and write $t$ for the number of steps
       ($\theta_k \approx \theta(t = k)$): $\frac{d\theta}{dt} = -\eta\,\nabla_\theta L$ and
       $$\frac{d f(x)}{dt} = -\eta \sum_{i=1}^N \Theta(x, x_i)\,\big(f(x_i) - y_i\big),
         \qquad\text{on the training inputs}\qquad \frac{d f(X)}{dt} = -\eta\,\Theta(X, X)\,\big(f(X) - y\big).$$

    The sign is minus because we go *down* the loss, and the residual is $f - y$ (prediction minus target).
    $\Theta(x, x') = \nabla_\theta f(x)\cdot\nabla_\theta f(x')$ is the **neural tangent kernel**: how much a
    step that pushes the output at $x'$ also moves the output at $x$.""")

nb.md(r"""
    **Other conventions, and the constants they move.** With a general per-example loss $\ell$ and the
    *mean* $L = \frac1N\sum_i \ell(f(x_i), y_i)$, the same three steps give
    $$\frac{d f(x)}{dt} = -\frac{\eta}{N} \sum_{i=1}^N \Theta(x, x_i)\,\partial_f \ell\big(f(x_i), y_i\big),$$
    and for $\ell = \frac12 (f - y)^2$, $\partial_f\ell = f - y$: the mean loss with step $\eta$ **is** our
    loss with step $\eta/N$. Jacot et al. (2018) average over the training set (their cost is defined with
    the empirical distribution), and so does `neural_tangents.predict.gradient_descent_mse`, whose
    $e^{-\eta\Theta t/N}$ is our $e^{-\eta\Theta t}$ with a $1/N$ that ours does not carry. Writing the loss
    as $(f - y)^2$ without the $\frac12$ doubles every rate ($\partial_f\ell = 2(f - y)$). Many texts also
    drop $\eta$ and write $\frac{d\theta}{dt} = -\nabla_\theta L$: their time is our $\eta t$, the same
    curve on a different clock. Check the convention before you compare a formula with a plot.""")

nb.md(r"""
    **Checked numerically.** One real gradient-descent step on 6 training points (`ntk_teach.tiny_1d`), width 256,
    against the kernel prediction $-\eta\,\Theta(x, X)(f(X) - y)$ on the training inputs. For a ReLU network, as
    long as no unit switches on or off during the step, $f$ is a polynomial in $\theta$ along the step, so the
    relative error is $a\eta + O(\eta^2)$: on log-log axes a **slope of exactly 1** for small $\eta$. Over
    $\eta \in [10^{-6}, 10^{-4}]$ the $O(\eta^2)$ term changes the fitted slope by about $10^{-4}$, and float64
    rounding of $f$ (about $10^{-16}$) is at most 0.2 % of the smallest error measured ($\approx 5\cdot 10^{-14}$ at
    $\eta = 10^{-6}$), which moves the slope by at most about 0.002; so we accept $|\text{slope} - 1| < 0.01$.""")
nb.code(r"""
    errors = demos.gd_step_errors(width=256, seed=0)            # relative error for eta in demos.ETAS
    small = demos.ETAS <= 1e-4
    slope = ntk_teach.fit_loglog(demos.ETAS[small], errors[small]).slope
    for eta, err in zip(demos.ETAS[::2], errors[::2]):
        print(f"eta = {eta:8.1e}:  ||df - df_NTK|| / ||df_NTK|| = {err:.2e}")
    print(f"slope for eta <= 1e-4: {slope:.4f}   (theory: 1, accepted |slope - 1| < 0.01)")
    assert abs(slope - 1) < 0.01
    assert errors[np.isclose(demos.ETAS, 1e-2)][0] < 1e-3   # at eta = 0.01 the NTK predicts the step to 0.1 %""")

nb.md(r"""
    And the mean-loss conversion: a step of $\eta = 0.3$ on $\frac1N L$ is a step of $\eta/N = 0.05$ on $L$
    (here $N = 6$), equal up to rounding (we accept a relative difference of $10^{-12}$).""")
nb.code(r"""
    N = len(demos.X_TRAIN)
    step_on_mean, pred_mean = demos.gd_step_change(width=256, seed=0, eta=0.3, x=demos.X_TRAIN, loss="mean")
    step_on_sum, pred_sum = demos.gd_step_change(width=256, seed=0, eta=0.3 / N, x=demos.X_TRAIN)
    print("mean loss, eta = 0.3:  ", np.round(step_on_mean.numpy(), 6))
    print("our loss,  eta = 0.3/N:", np.round(step_on_sum.numpy(), 6))
    assert torch.allclose(step_on_mean, step_on_sum, rtol=1e-12, atol=1e-15)
    assert torch.allclose(pred_mean, pred_sum, rtol=1e-12, atol=1e-15)""")

nb.demo(
    questions=[
        "The training inputs are at the crosses. Will one step change $f$ only near them, or everywhere?",
        "How small must $\\eta$ be for the dashed NTK prediction to cover the real step?",
        "Does the answer depend on the width?",
    ],
    static="demos.plot_gd_step()",
    interactive="view = demos.GDStep.interact()\nview",
    explanation=r"""
        The step changes $f$ at every $x$, not only at the training inputs: the change at $x$ is a
        combination of the residuals $f(x_i) - y_i$ weighted by $\Theta(x, x_i)$, so the kernel decides how
        a correction at the data spreads to the rest of the line. For $\eta \lesssim 10^{-2}$ the two curves
        coincide; the right panel shows the error growing like $\eta$ (slope 1) until, around
        $\eta \approx 3\cdot 10^{-2}$ here, ReLU units start to switch during the step and the error jumps.
        For wider networks the jumps come later and are smaller: the step moves each unit less (notebook 04).""")

nb.think(r"""Where does the $\frac12$ in the loss go, and what would change without it?""",
         answer=r"""It cancels the 2 of $\partial_f (f-y)^2 = 2(f-y)$. Without it every rate doubles: $\frac{df}{dt}
         = -2\eta\,\Theta(f - y)$, i.e. the same dynamics with step $2\eta$.""")

# =============================================================================================
nb.section("The NTK is a Gram matrix of features", minutes=8, intro=r"""
    The **feature map** of the NTK is the parameter gradient $\phi(x) = \nabla_\theta f(x) \in \mathbb{R}^P$
    ($P = m^2 + 4m + 1$ for the reference network). Then
    $$\Theta(x, x') = \phi(x)\cdot\phi(x') = \sum_{p=1}^{P} \frac{\partial f(x)}{\partial\theta_p}\,
      \frac{\partial f(x')}{\partial\theta_p}.$$
    Stack the features of $N$ inputs as the rows of the Jacobian $J \in \mathbb{R}^{N\times P}$: the NTK on those
    inputs is $\Theta(X, X) = J J^\top$, an $N\times N$ matrix (one output; with $k$ outputs it would be
    $Nk\times Nk$). So it is symmetric and positive semi-definite ($v^\top J J^\top v = \|J^\top v\|^2 \ge 0$),
    with rank at most $\min(N, P)$.""")
nb.code(r"""
    model = ntk_teach.MLP(64, seed=0)                           # reference network, NTK parameterization
    x = torch.linspace(-3, 3, 9, dtype=torch.float64)
    J = ntk_teach.jacobian(model, x)                            # row i is phi(x_i) = grad_theta f(x_i)
    K = J @ J.T
    print(f"J: {tuple(J.shape)} (N = {len(x)} inputs, P = {model.num_params:,} = 64^2 + 4*64 + 1 parameters)")
    print(f"Theta(X, X) = J J^T: {tuple(K.shape)}")
    assert J.shape == (9, 64**2 + 4 * 64 + 1) and K.shape == (9, 9)
    assert torch.allclose(K, ntk_teach.empirical_ntk(model, x), rtol=1e-12, atol=1e-13)
    _ = checks.check_psd("Theta(X, X) = J J^T", K, strict=True)""")

nb.demo(
    questions=[
        "A ReLU network is piecewise linear in $x$. What do you expect its gradient with respect to one weight to look like as a function of $x$?",
        "Where will the kernel $\\Theta(x, x')$ be largest?",
    ],
    static="demos.plot_feature_map()",
    interactive="view = demos.FeatureMap.interact()\nview",
    explanation=r"""
        Each feature is piecewise linear in $x$ and jumps where a unit of a later layer switches; many are zero on
        a half-line (the unit is off there). Each is divided by its largest value (in the legend), which shrinks as
        the width grows, while the number of features grows like $m^2$. Their Gram matrix, a sum over all $P$
        features, is smooth and hardly changes with the seed once $m \gtrsim 256$. With one-dimensional inputs and a
        small bias ($b_{std} = 0.1$), $\Theta(x, x')$ grows with $|x|\,|x'|$ when $x$ and $x'$ have the same sign and is
        small when they have opposite signs: the ReLU features of $x>0$ and of $x<0$ barely overlap.""")

nb.think(r"""$\Theta(X, X)$ is $9\times 9$ but $J$ has 4,353 columns. Can $\Theta(X,X)$ be singular? Can it be with
    $N > P$ inputs?""", answer=r"""Its rank is at most $\min(N, P)$. With $N \le P$ it is usually full rank (but two
    equal inputs give two equal rows, so it can be singular); with $N > P$ it is always singular.""")

# =============================================================================================
nb.section("Four ways to compute it, and what they cost", minutes=12, intro=r"""
    All four compute the same matrix; they differ in how much work and memory they spend. For a network with
    $P$ parameters, $L$ layers of width $m$ ($P \approx L m^2$) and $N$ inputs (one forward or backward pass over
    one input costs $\approx P$):

    | method | what it does | time | memory |
    |---|---|---|---|
    | autograd loop (`ntk_teach.empirical.ntk_autograd_loop`) | one backward pass per input, stack $J$, then $J J^\top$ | $N P$ (in a Python loop) $+\ N^2 P$ | $N P$ |
    | Jacobian contraction (`empirical_ntk(..., method="jacobian")`) | `torch.func.jacrev`: $N$ vector-Jacobian products through the whole batch, then $J J^\top$ | $N^2 P + N^2 P$ | $N P$ |
    | NTK-vector products (`method="ntk_vp"`) | $\Theta v = J (J^\top v)$: one `vjp` and one `jvp` per basis vector $v$ | $\approx 2 N^2 P$ | $N P$ (batched) |
    | structured (`method="structured"`) | per layer: $(\delta\delta'^\top)\odot(a a'^\top)$ | one forward and one backward pass, $2 N P$, $+\ N^2 m L$ | $N m L$ |

    The structured formula uses that a dense layer's weight gradient is an outer product: $\partial f/\partial W^l_{jk}
    = c_l\,\delta^l_j\,a^{l-1}_k$ (with $\delta^l = \partial f/\partial h^l$ the back-propagated signal and
    $c_l = w_{std}/\sqrt{n_{l-1}}$), so that
    $\sum_{jk} \partial_{W_{jk}} f(x)\,\partial_{W_{jk}} f(x') = c_l^2\,\big(\delta^l(x)\cdot\delta^l(x')\big)\,\big(a^{l-1}(x)\cdot a^{l-1}(x')\big)$:
    two small Gram matrices instead of a $P$-long dot product per pair. For wide networks ($m \gg N$) the generic
    methods do about $N$ times more arithmetic than the structured one; torch.func's constant factors add a few
    times more on top.""")
nb.md(r"""
    A small live timing table: $N = 16$ inputs, widths 32, 128 and 512, on one CPU thread, each method warmed up
    once (torch.func traces on its first call), then the best of 3 runs for the structured method and one run for the
    slow ones (a few seconds in all). The numbers depend on your machine and on what else runs on it, so no assert
    checks them. The assert checks that **all four agree** to $10^{-10}$ relative to the largest entry, the float64
    rounding of sums of $P \le 3\cdot 10^5$ terms being about $\sqrt{P}\,\varepsilon \approx 10^{-13}$.""")
nb.code(r"""
    rows = demos.timing_table(widths=(32, 128, 512), n_inputs=16)
    print(demos.format_timing_table(rows))
    worst = max(r["max_abs_diff"] / r["scale"] for r in rows)
    print(f"largest difference between methods, relative to the largest entry: {worst:.1e}")
    assert worst < 1e-10""")

nb.think(r"""In the table, the advantage of the structured method over the Jacobian contraction grows with the width.
    How would it change with the number of inputs $N$?""", answer=r"""It grows about linearly in $N$: the generic
    methods need $\approx N^2 P$ operations (every pair of inputs meets every parameter), the structured one
    $\approx 2NP + N^2 m L$, which is $\approx 2NP$ once $m \gg N$. So the ratio is about $N/2$ times torch.func's
    constant factors: large batches of inputs are where the structured method matters most.""")

nb.exercise(
    "3.1",
    task=r"""
        Compute the NTK **from its definition**: for each input, one backward pass gives
        $\phi(x_i) = \nabla_\theta f(x_i)$ (use `torch.autograd.grad(model(x[i:i+1])[0], params)` with
        `params = list(model.parameters())`, then flatten and concatenate the gradients); stack the rows into $J$
        and return $J J^\top$. The self-check compares with the torch.func Jacobian contraction.""",
    stub=r"""
        def ntk_by_definition(model, x):
            # TODO: one backward pass per input -> rows of J (N, P); return J @ J.T  (N, N)
            raise NotImplementedError("Exercise 3.1")


        model_ex = ntk_teach.MLP(32, seed=3)
        x_ex = torch.linspace(-2, 2, 5, dtype=torch.float64)


        def reference_ntk(model, x):
            return ntk_teach.empirical_ntk(model, x, method="jacobian")


        _ = checks.check_function("Exercise 3.1", ntk_by_definition, reference=reference_ntk,
                                  inputs=[(model_ex, x_ex)], rtol=1e-10, atol=1e-12)""",
    hint=r"""
        `torch.cat([g.reshape(-1) for g in grads])` turns the tuple of gradients into one vector of length $P$;
        `torch.stack(rows)` makes $J$.""",
    solution=r"""
        # Solution to Exercise 3.1
        def ntk_by_definition_solution(model, x):
            params = list(model.parameters())
            rows = []
            for i in range(len(x)):
                grads = torch.autograd.grad(model(x[i:i + 1])[0], params)
                rows.append(torch.cat([g.reshape(-1) for g in grads]))
            J = torch.stack(rows)
            return J @ J.T


        _ = checks.check_function("Exercise 3.1 (solution)", ntk_by_definition_solution, reference=reference_ntk,
                                  inputs=[(model_ex, x_ex)], rtol=1e-10, atol=1e-12, strict=True)""",
)

# =============================================================================================
nb.section("Which layers make the NTK", minutes=8, intro=r"""
    $\Theta$ is a sum over parameters, so it splits into one term per parameter group. For layer $l$,
    $h^l = c_l W^l a^{l-1} + \beta\, b^l$ with $c_l = w_{std}/\sqrt{n_{l-1}}$ and $\beta = b_{std}$:
    $$\Theta_{W^l}(x,x') = c_l^2\,\big(\delta^l\cdot\delta'^l\big)\big(a^{l-1}\cdot a'^{l-1}\big),\qquad
      \Theta_{b^l}(x,x') = \beta^2\,\big(\delta^l\cdot\delta'^l\big).$$
    As $m\to\infty$, $c_l^2\, a^{l-1}\cdot a'^{l-1} \to w_{std}^2 K^l$ (the per-unit input Gram of layer $l$) and
    $\delta^l\cdot\delta'^l \to B^l = \prod_{k>l}\dot\Sigma^k$ (section 5), so the weights contribute
    $w_{std}^2 K^l B^l$ and the biases $b_{std}^2 B^l$: `ntk_teach.ntk_layer_contributions`. Their finite-width
    counterparts are `ntk_teach.mlp_ntk_by_layer`.""")
nb.code(r"""
    x = torch.linspace(-3, 3, 9, dtype=torch.float64)
    model = ntk_teach.MLP(256, seed=0)
    parts = ntk_teach.mlp_ntk_by_layer(model, x)                # {"W1": (9, 9), "b1": ..., "b3": ...}
    limit_parts = ntk_teach.ntk_layer_contributions(x)
    assert torch.allclose(sum(parts.values()), ntk_teach.empirical_ntk(model, x), rtol=1e-12, atol=1e-13)
    assert torch.allclose(sum(limit_parts.values()), ntk_teach.analytic_ntk(x), rtol=1e-12, atol=1e-13)
    i = 7                                                       # x = 2.25
    print(f"share of Theta(x, x) at x = {float(x[i]):.2f}:   width 256    infinite width")
    for g in parts:
        print(f"  {g:>3}                           {float(parts[g][i, i] / sum(parts.values())[i, i]):8.1%}"
              f"    {float(limit_parts[g][i, i] / sum(limit_parts.values())[i, i]):8.1%}")""")

nb.demo(
    questions=[
        "Which group do you expect to dominate: the input weights, the hidden weights or the readout weights?",
        "At $x = 0$ the input is zero. Which groups can still contribute there?",
    ],
    static="demos.plot_layer_contributions()",
    interactive="view = demos.LayerContributions.interact()\nview",
    explanation=r"""
        In the NTK parameterization every weight matrix contributes a comparable share (each carries $w_{std}^2 = 1$;
        at infinite width about a third each at $x = 2$, the printed table above); the biases carry $b_{std}^2 = 0.01$
        and are almost invisible. At $x = 0$ the input weights get no gradient ($a^0 = x = 0$) and everything comes
        from the biases and from the hidden and readout weights acting on $\mathrm{relu}(b_{std}\,b^1)$: the NTK is
        tiny there. Narrow networks give a lopsided split that changes with the seed; from width ~256 on the bands
        follow the dashed infinite-width stack. (Section 7: in the standard parameterization the biases contribute 1
        each, whatever $b_{std}$.)""")

nb.exercise(
    "3.2",
    task=r"""
        **The NTK of a one-hidden-layer ReLU network by hand.** For `net1 = ntk_teach.MLP(m, depth=1)` with scalar
        input, $f(x) = \frac{w_{std}}{\sqrt m}\sum_j v_j\,\mathrm{relu}(h_j(x)) + \beta\,b$ and
        $h_j(x) = w_{std}\,u_j x + \beta\,c_j$ (the first layer has fan-in 1). Differentiate with respect to $v_j, b, u_j, c_j$
        and sum the products: write `ntk_one_hidden(x1, x2)` returning the $(N_1, N_2)$ matrix
        $$\Theta(x,x') = \frac{w_{std}^2}{m}\sum_j \mathrm{relu}(h_j)\mathrm{relu}(h_j') + \beta^2
          + \frac{w_{std}^2}{m}\sum_j v_j^2\,\mathbb{1}[h_j>0]\,\mathbb{1}[h_j'>0]\,\big(w_{std}^2\, x x' + \beta^2\big).$$
        Name the four terms (which parameters?) before you code them.""",
    stub=r"""
        net1 = ntk_teach.MLP(64, depth=1, seed=5)                  # w_std = 1, b_std = beta = 0.1
        u = net1.weights[0][:, 0].detach()                          # (m,) first-layer weights
        c = net1.biases[0].detach()                                 # (m,) first-layer biases
        v = net1.weights[1][0].detach()                             # (m,) readout weights
        w_std, beta, m = net1.w_std, net1.b_std, net1.width
        xa = torch.tensor([-2.0, -0.3, 0.5, 1.7], dtype=torch.float64)
        xb = torch.tensor([-1.0, 0.8, 2.5], dtype=torch.float64)


        def ntk_one_hidden(x1, x2):
            # TODO: h1 = w_std * u * x1[:, None] + beta * c  (N1, m), the same for x2; then the four terms
            raise NotImplementedError("Exercise 3.2")


        def reference_one_hidden(x1, x2):
            return ntk_teach.empirical_ntk(net1, x1, x2)


        def forgot_biases(x1, x2):  # a common mistake: only the weight terms
            h1, h2 = w_std * u * x1[:, None] + beta * c, w_std * u * x2[:, None] + beta * c
            return (w_std**2 / m * torch.relu(h1) @ torch.relu(h2).T
                    + w_std**2 / m * ((h1 > 0) * v**2).double() @ (h2 > 0).double().T * (w_std**2 * x1[:, None] * x2))


        _ = checks.check_function("Exercise 3.2", ntk_one_hidden, reference=reference_one_hidden,
                                  inputs=[(xa, xb), (xa, xa)], rtol=1e-10, atol=1e-12,
                                  mistakes={"forgot the bias terms (beta^2 ...)": forgot_biases})""",
    hint=r"""
        $\partial f/\partial v_j = \frac{w_{std}}{\sqrt m}\mathrm{relu}(h_j)$, $\partial f/\partial b = \beta$,
        $\partial f/\partial u_j = \frac{w_{std}}{\sqrt m} v_j \mathbb{1}[h_j>0]\, w_{std} x$,
        $\partial f/\partial c_j = \frac{w_{std}}{\sqrt m} v_j \mathbb{1}[h_j>0]\,\beta$. A sum over $j$ of products is a
        matrix product: `A @ B.T` with `A` of shape $(N_1, m)$.""",
    solution=r"""
        # Solution to Exercise 3.2
        def ntk_one_hidden_solution(x1, x2):
            h1 = w_std * u * x1[:, None] + beta * c                 # (N1, m) pre-activations
            h2 = w_std * u * x2[:, None] + beta * c
            readout_w = w_std**2 / m * torch.relu(h1) @ torch.relu(h2).T
            readout_b = beta**2
            gate = w_std**2 / m * ((h1 > 0).double() * v**2) @ (h2 > 0).double().T
            first_layer = gate * (w_std**2 * x1[:, None] * x2[None, :] + beta**2)   # u_j and c_j
            return readout_w + readout_b + first_layer


        _ = checks.check_function("Exercise 3.2 (solution)", ntk_one_hidden_solution, reference=reference_one_hidden,
                                  inputs=[(xa, xb), (xa, xa)], rtol=1e-10, atol=1e-12, strict=True)""",
)

# =============================================================================================
nb.section("The deterministic limit", minutes=15, intro=r"""
    Jacot et al. (2018) proved that as every hidden width goes to infinity (NTK parameterization) the random
    $\Theta$ of a network at initialization converges to a **deterministic** kernel, given by a recursion over the
    layers. With $(u, v)$ a centred Gaussian pair with covariance
    $\begin{pmatrix}\Sigma^{l}(x,x) & \Sigma^{l}(x,x')\\ \Sigma^{l}(x,x') & \Sigma^{l}(x',x')\end{pmatrix}$:
    $$\Sigma^1(x,x') = w_{std}^2\,\frac{x\cdot x'}{d_{in}} + b_{std}^2,\qquad
      \Sigma^{l+1} = w_{std}^2\,\mathbb{E}[\phi(u)\phi(v)] + b_{std}^2,\qquad
      \dot\Sigma^{l+1} = w_{std}^2\,\mathbb{E}[\phi'(u)\phi'(v)],$$
    $$\Theta^1 = \Sigma^1,\qquad \Theta^{l+1} = \Theta^{l}\,\dot\Sigma^{l+1} + \Sigma^{l+1},$$
    and the network's NTK is $\Theta^{L+1}$ ($L = 2$ hidden layers: $\Theta^3$). For ReLU both expectations are in
    closed form (the arc-cosine kernels of Cho & Saul 2009): with $\cos\vartheta = \Sigma^l(x,x')/\sqrt{\Sigma^l(x,x)\Sigma^l(x',x')}$,
    $$\mathbb{E}[\mathrm{relu}(u)\,\mathrm{relu}(v)] = \frac{\sqrt{\Sigma^l(x,x)\Sigma^l(x',x')}}{2\pi}\big(\sin\vartheta + (\pi-\vartheta)\cos\vartheta\big),
      \qquad \mathbb{E}[\mathbb{1}_{u>0}\mathbb{1}_{v>0}] = \frac{\pi - \vartheta}{2\pi}.$$
    Constants differ between sources: Jacot et al. have no $w_{std}$ (it is 1) and call $b_{std}$ $\beta$; Arora et al.
    (2019) scale ReLU by $\sqrt2$ ($c_\sigma = 2$) and use no bias, so their $\Sigma^l(x,x) = \|x\|^2$ at every layer
    where ours halves. The recursion, evaluated layer by layer for $x = 1$, $x' = -0.5$:""")
nb.code(r"""
    pair = torch.tensor([1.0, -0.5], dtype=torch.float64)
    layers = ntk_teach.kernel_recursion(pair)                   # depth 2, relu, w_std 1, b_std 0.1
    theta = layers.sigma[0]
    print(f"l = 1: Sigma = {float(layers.sigma[0][0, 1]):+.6f}                        Theta = {float(theta[0, 1]):+.6f}")
    for l in (1, 2):                                            # Theta^{l+1} = Theta^l * Sigma_dot^{l+1} + Sigma^{l+1}
        theta = theta * layers.sigma_dot[l] + layers.sigma[l]
        print(f"l = {l + 1}: Sigma = {float(layers.sigma[l][0, 1]):+.6f}, Sigma_dot = {float(layers.sigma_dot[l][0, 1]):.6f},"
              f" Theta = {float(theta[0, 1]):+.6f}")
    assert torch.allclose(theta, ntk_teach.analytic_ntk(pair), rtol=1e-14, atol=0)""")

nb.md(r"""
    **Monte Carlo against the recursion.** `demos.limit_sweep()` draws 64 reference networks at each width
    $m = 16, 32, \dots, 512$ (different seeds at every width), computes their NTK on 8 inputs in $[-2, 2]$, and
    measures $d = \|\Theta - \Theta_\infty\|_F / \|\Theta_\infty\|_F$ (`ntk_teach.montecarlo.deviation_vs_width`).
    Fluctuations of the NTK have variance $O(1/m)$ (its mean's bias is $O(1/m)$, smaller), so the RMS of $d$ over
    seeds falls like $m^{-1/2}$. Tolerance: from the seeds, each width's $\log(\mathrm{rms})$ has a standard error
    of about 0.05–0.08, which propagates (weighted least squares) to a standard error of about 0.02 on the fitted
    slope; we accept $|\text{slope} + \frac12| < 3\,\mathrm{se}$. The narrowest widths carry $O(1/m)$ corrections
    that make the curve a little steeper; $\chi^2$ per degree of freedom (printed) near or below 1 says the power law
    describes the data within their errors. Second check: the **mean** over 64 seeds at $m = 512$ is the analytic
    kernel up to its Monte-Carlo error $\mathrm{rms}/\sqrt{64}$ (we allow 3 of those).""")
nb.code(r"""
    sweep = demos.limit_sweep()                                 # about 1-2 s: 6 widths x 64 networks
    fit = sweep.fit()
    for m, r, se in zip(sweep.widths, sweep.rms, sweep.log_rms_stderr):
        print(f"m = {m:4d}: rms relative deviation {r:.4f}  (se of log: {se:.3f})")
    print(f"fitted slope {fit.slope:+.3f} +- {fit.stderr:.3f}   (theory -1/2; chi2/dof = {sweep.chi2_per_dof():.2f})")
    assert abs(fit.slope + 0.5) < 3 * fit.stderr
    mean_err = float(torch.linalg.norm(sweep.mean[-1] - sweep.limit[-1]) / torch.linalg.norm(sweep.limit[-1]))
    allowed = 3 * sweep.rms[-1] / math.sqrt(sweep.n_seeds)
    print(f"mean of {sweep.n_seeds} NTKs at m = 512 vs analytic: {mean_err:.4f} (allowed {allowed:.4f})")
    assert mean_err < allowed""")

nb.demo(
    questions=[
        "At width 8, how different are the NTKs of ten random networks? At width 1024?",
        "If the spread falls like $m^{-1/2}$, how much wider must a network be to halve it?",
    ],
    static="demos.plot_deterministic_limit()",
    interactive="view = demos.DeterministicLimit.interact()\nview",
    explanation=r"""
        Narrow networks have NTKs that differ from seed to seed by tens of percent, and some are far from the
        limit; at width 1024 the ten curves lie on the dashed analytic kernel. The right panel measures it: the RMS
        distance follows $m^{-1/2}$, so halving the spread takes a network **four** times wider. This is the law of
        large numbers at work: each entry of $\Theta$ is an average over $m$ nearly independent units.
        The kink of $\Theta(x_0, x)$ at $x = 0$ comes from the ReLU and the 1-D input without much bias.""")

nb.exercise(
    "3.3",
    task=r"""
        **The recursion by hand.** Write `relu_ntk_depth2(x, xp)` for two scalars: the infinite-width NTK of the
        reference network (2 hidden ReLU layers, $w_{std} = 1$, $b_{std} = 0.1$, $d_{in} = 1$), using the recursion and
        the arc-cosine formulas above. Track three numbers per layer: $\Sigma^l(x,x)$, $\Sigma^l(x',x')$ and $\Sigma^l(x,x')$
        (the diagonal entries follow the same recursion with $\vartheta = 0$).""",
    stub=r"""
        def relu_ntk_depth2(x, xp, b_std=0.1):
            # TODO: Sigma^1 for (x,x), (x',x'), (x,x'); Theta = Sigma^1(x,x'); then twice:
            #       cos t = S / sqrt(q q'),  Sigma_next, Sigma_dot,  Theta = Theta * Sigma_dot + Sigma_next
            raise NotImplementedError("Exercise 3.3")


        def reference_depth2(x, xp):
            return float(ntk_teach.analytic_ntk(torch.tensor([x], dtype=torch.float64),
                                                torch.tensor([xp], dtype=torch.float64))[0, 0])


        _ = checks.check_function("Exercise 3.3", relu_ntk_depth2, reference=reference_depth2,
                                  inputs=[(1.0, -0.5), (2.0, 0.7), (0.3, 0.3), (-1.5, -2.0)], rtol=1e-7, atol=1e-12)""",
    hint=r"""
        One layer maps $(q, q', S)$ to $q \mapsto q/2 + b_{std}^2$ (the diagonal: $\vartheta = 0$),
        $S \mapsto \frac{\sqrt{q q'}}{2\pi}(\sin\vartheta + (\pi - \vartheta)\cos\vartheta) + b_{std}^2$ and
        $\dot\Sigma = (\pi - \vartheta)/(2\pi)$. Clip $\cos\vartheta$ to $[-1, 1]$: for $x = x'$ rounding can push it
        just above 1. The tolerance $10^{-7}$ allows for the $\sim 10^{-9}$ precision lost in $\arccos$ near 1.""",
    solution=r"""
        # Solution to Exercise 3.3
        def relu_ntk_depth2_solution(x, xp, b_std=0.1):
            q, qp, S = x * x + b_std**2, xp * xp + b_std**2, x * xp + b_std**2   # Sigma^1 (w_std = 1, d_in = 1)
            theta = S
            for _ in range(2):                                      # layers 2 and 3
                cos_t = max(-1.0, min(1.0, S / math.sqrt(q * qp)))
                t = math.acos(cos_t)
                S_next = math.sqrt(q * qp) / (2 * math.pi) * (math.sin(t) + (math.pi - t) * cos_t) + b_std**2
                S_dot = (math.pi - t) / (2 * math.pi)
                theta = theta * S_dot + S_next
                q, qp, S = q / 2 + b_std**2, qp / 2 + b_std**2, S_next
            return theta


        _ = checks.check_function("Exercise 3.3 (solution)", relu_ntk_depth2_solution, reference=reference_depth2,
                                  inputs=[(1.0, -0.5), (2.0, 0.7), (0.3, 0.3), (-1.5, -2.0)], rtol=1e-7, atol=1e-12,
                                  strict=True)""",
)

# =============================================================================================
nb.section("Jacot et al., Figure 1, on a CPU", minutes=10, intro=r"""
    The first figure of Jacot et al. (2018) shows $\Theta(x_0, x)$ for $x_0 = (1, 0)$ and $x = (\cos\gamma, \sin\gamma)$
    on the unit circle, for 10 random networks of two widths, at initialization and after training. Their setting
    (§6.1) and what we changed to run it in a few seconds:

    | | Jacot et al. (2018) | here |
    |---|---|---|
    | network | depth $L = 4$ (input layer 0, hidden layers 1-3, output layer 4), ReLU, $\beta = 0.1$ | 3 hidden ReLU layers, $b_{std} = 0.1$, $w_{std} = 1$, NTK parameterization |
    | widths | $n = 500$ and $10\,000$ | $m = 50$ and $500$ (a ratio of 10; theirs is 20) |
    | initializations | 10 per width | 10 per width |
    | task | $f^*(x) = x_1 x_2$, least squares on random $\mathcal{N}(0, 1)$ inputs | the same, on $N = 8$ inputs $x \sim \mathcal{N}(0, I_2)$ |
    | training | 200 steps of gradient descent, learning rate 1.0, on the mean cost ($t = 200$) | 50 steps of $\eta = 0.5$ on $\frac12\sum$: $\eta k = 25$ |

    Their cost averages over the $N$ training points, so their time is $N$ times ours (section 1): $\eta k = 25$ with
    $N = 8$ is their $t = 200$. We take 4 times larger steps than their $\eta = 1/N$ and 4 times fewer; that is the same
    flow as long as $\eta\,\lambda_{\max}(\Theta) < 2$ (checked below). Training here uses the course loss in
    `ntk_teach.montecarlo.kernel_trajectories`, which records $\Theta(x_0, x(\gamma))$ every 5 steps.""")
nb.md(r"""
    What the assert checks, and why: (1) gradient descent is stable, $\eta\lambda_{\max} < 2$. (2) At initialization the
    seed-to-seed spread of $\Theta(x_0, x(\gamma))$ falls like $m^{-1/2}$ (section 5): width 500 should have $\sqrt{10}
    \approx 3.2$ times less spread than width 50. Each spread is estimated from 10 seeds (relative standard error about
    $1/\sqrt{2\cdot 9} \approx 0.24$, so about 0.33 for the log of the ratio); we accept a ratio within a factor
    $e^{3\cdot 0.33} \approx 2.7$ of $\sqrt{10}$. (3) During training the NTK moves by $O(m^{-1/2})$ relative to itself
    (Lee et al. 2019): the median relative change at width 500 should be about $\sqrt{10}$ times smaller than at width 50.
    At width 50 higher-order effects make the change even larger, so the ratio is at least about $\sqrt{10}$; with the
    seed noise of medians of 10 values we accept a ratio above $1.5$.""")
nb.code(r"""
    gamma, limit, runs = demos.jacot_runs()                     # trains 2 x 10 networks (a few seconds)
    x_train, y_train = demos.jacot_data()
    lam_max = float(torch.linalg.eigvalsh(ntk_teach.analytic_ntk(x_train, depth=3)).max())
    eta = demos.JACOT["lr"]
    print(f"eta * lambda_max = {eta * lam_max:.2f}  (stable below 2)")
    assert eta * lam_max < 2
    narrow, wide = (runs[w] for w in demos.JACOT["widths"])
    spread = {w: float(runs[w].kernels[:, 0, 0, :].std(0).pow(2).mean().sqrt()) for w in runs}
    ratio = spread[50] / spread[500]
    print(f"spread at init: width 50 {spread[50]:.4f}, width 500 {spread[500]:.4f}, ratio {ratio:.2f} (theory 3.16)")
    assert abs(math.log(ratio / math.sqrt(10))) < 3 * 0.33
    change = {w: float(np.median(runs[w].relative_change()[:, -1])) for w in runs}
    print(f"median relative change of the NTK after training: width 50 {change[50]:.1%}, width 500 {change[500]:.1%}")
    assert change[50] / change[500] > 1.5
    print(f"training loss after {narrow.steps[-1]} steps: width 50 {np.median(narrow.loss[:, -1]):.3f}, "
          f"width 500 {np.median(wide.loss[:, -1]):.3f} (from {np.median(wide.loss[:, 0]):.2f})")""")

nb.demo(
    questions=[
        "Before you press play: which width's NTK will move more during training?",
        "Will the trained NTKs move towards the black infinite-width kernel, away from it, or neither?",
    ],
    static="demos.plot_jacot_figure1()",
    interactive="view = demos.JacotFigure1.interact()\nview",
    explanation=r"""
        At initialization both widths scatter around the black limit, the wide one about three times less (section 5).
        During training the narrow networks' kernels move by tens of percent, mostly upwards near $\gamma = 0$: they
        'inflate', as Jacot et al. observed for their narrower network; the wide ones move by a few percent. The limit
        itself does not move at all: in the infinite-width limit the NTK is constant during training, which is what
        makes training a linear ODE in function space (notebooks 04 and 05). Note the training data are not on the
        circle: the kernel on the circle is a property of the network, and training changes it everywhere.""")

nb.think(r"""Why should the NTK of a wider network move less during training, if every network fits the same targets?""",
         answer=r"""To change $f$ by $O(1)$ each of the $O(m^2)$ weights only has to move by $O(1/m)$; the features
         $\nabla_\theta f$ depend on the weights through sums of $m$ terms, and change by $O(m^{-1/2})$ relative to themselves,
         so the kernel built from them does too (lazy training, notebook 04).""")

# =============================================================================================
nb.section("NTK versus standard parameterization", minutes=8, intro=r"""
    The two parameterizations give **the same networks at initialization** (`ntk_teach.MLP` with the same seed draws the
    same numbers and only scales them differently), but not the same gradients:

    * NTK: $h^l = \frac{w_{std}}{\sqrt{n_{l-1}}} W^l a^{l-1} + b_{std}\,b^l$ with $W, b \sim \mathcal{N}(0, 1)$, so
      $\partial h^l_j/\partial W^l_{jk} = \frac{w_{std}}{\sqrt{n_{l-1}}}\,a^{l-1}_k$ and
      $\partial h^l_j/\partial b^l_j = b_{std}$;
    * standard: $h^l = W^l a^{l-1} + b^l$ with $W \sim \mathcal{N}(0, w_{std}^2/n_{l-1})$, so
      $\partial h^l_j/\partial W^l_{jk} = a^{l-1}_k$ and $\partial h^l_j/\partial b^l_j = 1$.

    The weight term of layer $l$ therefore carries $a^{l-1}\cdot a'^{l-1} \approx n_{l-1} K^l$ instead of
    $w_{std}^2 K^l$: it **grows like the width** for every layer after the first, and each bias contributes
    $B^l$ instead of $b_{std}^2 B^l$, even when $b_{std} = 0$ (a zero bias is still trained). The standard NTK is
    $\approx a\,m + b$: no finite limit. Scaling the learning rate like $1/m$ tames it, but $\Theta/m$ converges to a
    different kernel, in which the input-layer weights and all biases no longer count (their contributions stay
    $O(1)$ while the rest grows like $m$); Sohl-Dickstein et al. (2020) analyse this and propose a variant of the
    standard parameterization with a proper limit.""")
nb.code(r"""
    x = demos.SWEEP_X
    same_ntk, same_std = ntk_teach.MLP(128, seed=4), ntk_teach.MLP(128, seed=4, parameterization="standard")
    with torch.no_grad():
        assert torch.allclose(same_ntk(x), same_std(x), rtol=1e-12, atol=1e-14)   # the same function ...
    t_ntk, t_std = ntk_teach.empirical_ntk(same_ntk, x), ntk_teach.empirical_ntk(same_std, x)
    print(f"... but mean Theta(x, x): NTK param. {float(t_ntk.diagonal().mean()):.3f}, "
          f"standard param. {float(t_std.diagonal().mean()):.3f}")""")
nb.md(r"""
    Across widths: the mean of $\Theta(x, x)$ over the 8 inputs, averaged over random networks (64 per width in the NTK
    parameterization, from section 5; 16 in the standard one). The infinite-width formula for the standard
    parameterization, $a\,m + b$, has a log-log slope just under 1 over $m = 16..512$ (the $b$ matters at small $m$); we
    compare the measured slope with the **slope of the formula over the same widths** and accept 3 standard errors
    (propagated from the seeds). In the NTK parameterization the formula is flat: slope 0 within 3 standard errors.""")
nb.code(r"""
    std_sweep = demos.standard_sweep()                           # 16 networks per width, standard parameterization
    for name, sw in (("NTK", sweep), ("standard", std_sweep)):
        mean, se = sw.statistic()                                # mean diagonal per width, se of its log
        fit = montecarlo.fit_loglog_weighted(sw.widths, mean, se)
        formula = torch.diagonal(sw.limit, dim1=1, dim2=2).mean(1).numpy()
        expected = ntk_teach.fit_loglog(sw.widths, formula).slope if name == "standard" else 0.0
        print(f"{name:>8} param.: slope {fit.slope:+.3f} +- {fit.stderr:.3f};  formula: {expected:+.3f};  "
              f"Theta at m = 512: {mean[-1]:.1f} (formula {formula[-1]:.1f})")
        assert abs(fit.slope - expected) < 3 * fit.stderr""")

nb.demo(
    questions=[
        "Which parameter groups should grow with the width in the standard parameterization?",
        "By how much does the standard NTK grow when the width doubles?",
    ],
    static="demos.plot_parameterization()",
    interactive="view = demos.Parameterization.interact()\nview",
    explanation=r"""
        Left: the NTK-parameterization kernel is flat in $m$ (it converges); the standard one rises with slope
        $\approx 1$, so it has no limit: doubling the width doubles it, and a fixed learning rate that works at one width
        diverges at a larger one ($\eta$ must stay below $2/\lambda_{\max} \propto 1/m$). Right: in the standard
        parameterization the hidden and readout weights ($W^2$, $W^3$) contribute $\approx m$ times their
        NTK-parameterization values, the input weights $W^1$ (fan-in 1) the same, and each bias contributes $B^l$
        (between 0.25 and 1 here) instead of $b_{std}^2 B^l$. Black ticks are the infinite-width (leading-order) values
        for this width.""")

nb.think(r"""You train the same network in the standard parameterization at width 64 with a good learning rate. What
    learning rate keeps the function-space dynamics the same at width 1024?""",
         answer=r"""About 16 times smaller: the standard NTK is $\approx a m$, and the dynamics depend on $\eta\,\Theta$
         (only approximately the same: the $O(1)$ parts, input weights and biases, then matter 16 times less).
         In the NTK parameterization the same $\eta$ works at every width.""")

# =============================================================================================
nb.summary([
    r"One gradient step changes the function everywhere by $-\eta\,\Theta(x, X)(f(X) - y) + O(\eta^2)$; gradient flow "
    r"makes it exact. With the mean loss the step is $\eta/N$; without the $\frac12$ the rate doubles.",
    r"$\Theta(x, x') = \nabla_\theta f(x)\cdot\nabla_\theta f(x')$: the Gram matrix $J J^\top$ of the parameter "
    r"gradients, $N\times N$, symmetric and positive semi-definite.",
    r"It can be computed by a plain autograd loop, by torch.func (Jacobian contraction, NTK-vector products) or, much "
    r"faster for dense networks, layer by layer from two small Gram matrices; all agree to rounding.",
    r"Each layer's weights contribute $w_{std}^2 K^l B^l$ and its biases $b_{std}^2 B^l$ at infinite width; "
    r"the recursion $\Theta^{l+1} = \Theta^l\dot\Sigma^{l+1} + \Sigma^{l+1}$ adds them up.",
    r"In the NTK parameterization random NTKs converge to that deterministic kernel, with a spread $\propto m^{-1/2}$, "
    r"and they move less during training the wider the network (Jacot et al., Figure 1). In the standard "
    r"parameterization the NTK grows like $m$.",
])
nb.references([
    ("Jacot, Gabriel & Hongler (2018), Neural Tangent Kernel: Convergence and Generalization in Neural Networks, "
     "NeurIPS (Figure 1, §6)", "https://arxiv.org/abs/1806.07572"),
    ("Lee et al. (2019), Wide Neural Networks of Any Depth Evolve as Linear Models Under Gradient Descent, NeurIPS",
     "https://arxiv.org/abs/1902.06720"),
    ("Arora et al. (2019), On Exact Computation with an Infinitely Wide Neural Net, NeurIPS (the ReLU recursion, "
     "with $c_\\sigma = 2$)", "https://arxiv.org/abs/1904.11955"),
    ("Cho & Saul (2009), Kernel Methods for Deep Learning, NeurIPS (arc-cosine kernels)",
     "https://papers.nips.cc/paper/2009/hash/5751ec3e9a4feab575962e78e006250d-Abstract.html"),
    ("Hanin & Nica (2020), Finite Depth and Width Corrections to the Neural Tangent Kernel, ICLR",
     "https://arxiv.org/abs/1909.05989"),
    ("Sohl-Dickstein, Novak, Schoenholz & Lee (2020), On the infinite width limit of neural networks with a standard "
     "parameterization", "https://arxiv.org/abs/2001.07301"),
    ("Novak, Sohl-Dickstein & Schoenholz (2022), Fast Finite Width Neural Tangent Kernel, ICML (structured derivatives)",
     "https://arxiv.org/abs/2206.08720"),
    ("PyTorch tutorial: Neural Tangent Kernels (torch.func Jacobian contraction and NTK-vector products)",
     "https://pytorch.org/tutorials/intermediate/neural_tangent_kernels.html"),
    ("neural-tangents: Fast and Easy Infinite Neural Networks in Python", "https://github.com/google/neural-tangents"),
    ("Rajat Vadiraj Dwaraknath (2019), Understanding the Neural Tangent Kernel (blog)", "https://rajatvd.github.io/NTK/"),
    ("Lilian Weng (2022), Some Math behind Neural Tangent Kernel (blog)",
     "https://lilianweng.github.io/posts/2022-09-08-ntk/"),
])
nb.write()
