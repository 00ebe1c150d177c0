"""Builds notebooks/04_lazy_training_and_linearization.ipynb
(run: .venv/bin/python notebooks/builders/build_04_lazy_training_and_linearization.py)."""
from ntk_teach.nbtools import NotebookBuilder

nb = NotebookBuilder(
    "04_lazy_training_and_linearization",
    title="Lazy training and linearization",
    summary="A wide network fits its data while its weights barely move, so it trains like its first-order "
            "Taylor expansion; Chizat & Bach's $\\kappa$ says when this happens, and the output scale $\\alpha$ "
            "makes any smooth model lazy.",
    objectives=[
        "measure the relative weight change $\\|\\theta_T - \\theta_0\\| / \\|\\theta_0\\|$ of trained networks, "
        "predict its slope $-1$ against the width $n$, and say in one sentence why;",
        "train a network beside its linearization $f^{\\rm lin}(x;\\theta) = f(x;\\theta_0) + \\nabla_\\theta "
        "f(x;\\theta_0)\\cdot(\\theta - \\theta_0)$ and measure their gap against the width;",
        "compute $\\kappa = \\|f - y\\|\\,\\|\\nabla^2_\\theta f\\| / \\|\\nabla_\\theta f\\|^2$ exactly for a one-hidden-"
        "layer network, and explain its width slopes in the standard ($\\tfrac12, 0, -1$) and NTK "
        "($0, -\\tfrac12, -\\tfrac12$, up to a $\\sqrt{\\ln n}$) parameterizations;",
        "explain with a one-parameter model why a large output scale $\\alpha$ makes training lazy: "
        "$\\kappa(\\alpha) = \\kappa(1)/\\alpha$, the minimizer moves to $w_0$ like $1/\\alpha$, and the NTK "
        "moves like $1/\\alpha$.",
    ],
    prerequisites=["03_the_neural_tangent_kernel"],
    minutes=75,
    demo_module="nb04_lazy",
    extra_imports="""
        import numpy as np
        import torch
        from ntk_teach import toy

        torch.set_num_threads(1)  # every tensor here is small: one thread is faster (3-6x on 2 shared cores)""",
)

# =============================================================================================
nb.section("100 networks learn three points", minutes=10, intro=r"""
    The setting of sections 1-3: the reference network (1-D input, two hidden ReLU layers of width $n$,
    **NTK parameterization**, $w_{std} = 1$) with a bias scale $b_{std} = 0.5$, trained by full-batch gradient
    descent with step $\eta = 0.2$ for 100 steps on the course loss $L = \tfrac12\sum_i (f(x_i) - y_i)^2$ over
    three points $x = (-2, 0, 2)$, $y = (0.6, -0.4, 0.3)$.

    Why $b_{std} = 0.5$ and not the default 0.1? With tiny biases a ReLU network of a 1-D input sees little more
    than $x_+ = \max(x, 0)$ and $x_- = \max(-x, 0)$, so its NTK on 1-D points is nearly rank two (eigenvalues
    0.025, 2.7, 3.3 here) and the third mode would need thousands of steps. Notebook 05 shows why: under
    gradient descent, mode $i$ of the residual $f - y$ (in the eigenbasis of the NTK $\Theta$) shrinks by
    $1 - \eta\lambda_i$ per step. The next cell computes these factors from the infinite-width NTK.""")
nb.code("""
    x, y = demos.data()
    eta, steps = demos.LR, demos.STEPS
    lam = torch.linalg.eigvalsh(ntk_teach.analytic_ntk(x, b_std=demos.B_STD)).numpy()
    shrink = np.abs(1 - eta * lam) ** steps        # factor by which each mode of f - y shrinks in 100 steps
    print("eigenvalues of the analytic NTK on the data:", lam.round(3))
    print(f"eta * lambda_max = {eta * lam.max():.2f}  (gradient descent is stable below 2)")
    print("factor per mode after", steps, "steps:", shrink)
    assert eta * lam.max() < 2 and shrink.max() < 1e-3""")
nb.demo(
    questions=[
        "All 100 networks start as different random functions. Will they end as the same function?",
        "Between and outside the three points, where will the trained networks disagree most?",
        "The loss curves are straight lines on a log axis late in training. Which number sets their slope?",
    ],
    static="demos.plot_ensemble()",
    interactive="""
        view = demos.Ensemble100.interact()
        view""",
    explanation=r"""
        * Every network fits the three points (the cell below checks it), but they **disagree between and outside
          the points**: the data fix three values, the random initialization and the NTK decide the rest.
        * Their **mean** (orange) follows the dashed line, the infinite-width prediction: gradient descent with the
          analytic NTK from $f_0 = 0$ (the mean of random networks at initialization). Notebooks 05 and 06 derive it.
        * Late in training only the slowest mode is left, and the loss shrinks by $(1 - \eta\lambda_{\min})^2$ per
          step: a straight line on the log axis with slope $2\ln(1 - \eta\lambda_{\min}) = -0.176$ per step
          (checked below).""",
)
nb.md(r"""
    The claims of the picture, in numbers. **Fit:** the analytic NTK predicts residuals of at most $10^{-3}$ of
    their initial size after 100 steps; the NTKs of width-64 networks differ from it by $O(n^{-1/2}) \approx 12\%$,
    which can make $\lambda_{\min}$ smaller, so we only require every residual of every network to be below 0.01.
    **Mean:** at each input the mean of 100 networks has a standard error $s/\sqrt{100}$ ($s$ the spread between
    networks); we accept a deviation from the infinite-width line of 3 standard errors at the worst input.
    **Rate:** the slope of the median log-loss over steps 40-80 should be $2\ln(1-\eta\lambda_{\min})$; the
    finite-width $\lambda_{\min}$ scatters by about $12\%$ between networks, the median much less, so we accept
    $15\%$.""")
nb.code("""
    run = demos.ensemble_run()
    residual = np.abs(run["outputs"][-1] - run["y"]).max()
    final = run["test_outputs"][-1]                          # (100 networks, inputs)
    mean, std_err = final.mean(0), final.std(0, ddof=1) / np.sqrt(final.shape[0])
    deviation = np.abs(mean - run["mean_ntk"][-1]).max()
    sel = (run["steps"] >= 40) & (run["steps"] <= 80)
    rate = np.polyfit(run["steps"][sel], np.log(np.median(run["loss"][sel], axis=1)), 1)[0]
    predicted = 2 * np.log(1 - eta * lam.min())
    print(f"largest residual of any network after {steps} steps: {residual:.1e}")
    print(f"mean of 100 nets vs infinite width: max deviation {deviation:.3f}, 3 standard errors {3 * std_err.max():.3f}")
    print(f"late log-loss slope per step: {rate:.4f} (predicted {predicted:.4f})")
    assert residual < 0.01
    assert deviation < 3 * std_err.max()
    assert abs(rate / predicted - 1) < 0.15
    for s in (0, 20, 50, demos.STEPS):
        view.set(step=s)
    assert not view.errors""")
nb.think(r"""
    A network with $P \approx n^2$ parameters fitted 3 numbers. How many of its parameters did it *need* to move,
    and by how much?""", answer=r"""
    It needs to move only along the 3 directions $\nabla_\theta f(x_1), \nabla_\theta f(x_2), \nabla_\theta f(x_3)$:
    gradient descent never leaves their span. The next section measures how far it goes: a distance of order 1 in
    a space where $\|\theta_0\| \approx n$.""")

# =============================================================================================
nb.section("The weights barely move", minutes=15, intro=r"""
    Look at the largest matrix of the network, the hidden-to-hidden weights $W^{(2)}$ ($n \times n$ entries, each
    $\mathcal{N}(0, 1)$ at initialization in the NTK parameterization; `weights.1` in code), while networks of widths
    10, 100 and 1000 train on the three points.""")
nb.demo(
    questions=[
        "Press Play. In which of the three top images can you see anything change?",
        "The bottom row shows $W_t - W_0$ on one colour scale. Guess the ratio of the largest changes at widths 10 and 1000.",
        "Switch `scale` to `own`. The change is far from random noise: which pattern do you expect, and why?",
    ],
    static="demos.plot_hidden_weights()",
    interactive="""
        weights_view = demos.HiddenWeights.interact()
        weights_view""",
    explanation=r"""
        * The raw matrices look **frozen** at every width: the entries are $O(1)$ and they move by much less.
        * On the shared scale the change is visible at width 10, faint at 100, invisible at 1000: the largest
          entry moves by about 0.4, 0.06 and 0.008, and the relative change $\|\Delta W\|_F / \|W_0\|_F$ drops
          more than tenfold per decade of width.
        * With its own scale, the change has **stripes**: each gradient step adds $\sum_i \delta_i a_i^\top$, an
          outer product of back-propagated signals and activations for each of the three training points, so
          $\Delta W$ is close to a rank-3 matrix. Rows of units that are off at all three inputs do not move at all.
        * For $n = 1000$ every 5th row and column is drawn (the panel has fewer pixels than the matrix has
          entries); the numbers above the panels use every entry.""",
)
nb.md(r"""
    **Why $1/n$.** Training moves the parameters by $\Delta\theta = \theta_T - \theta_0$. For the *linearized* model
    the distance is exact: gradient descent moves $\theta$ within the span of the gradients, and after
    convergence $\|\Delta\theta\|^2 = r_0^\top \Theta^{-1} r_0$ with $r_0 = f_0(X) - y$ (during training, mode $i$
    contributes $(1 - (1 - \eta\lambda_i)^k)^2 (Q^\top r_0)_i^2 / \lambda_i$). In the NTK parameterization $\Theta$
    and $r_0$ have width-independent distributions, so $\|\Delta\theta\| = O(1)$, while
    $\|\theta_0\| \approx \sqrt{P} = \sqrt{n^2 + 4n + 1} \approx n$. Hence
    $$\frac{\|\theta_T - \theta_0\|}{\|\theta_0\|} \approx \frac{\sqrt{r_0^\top\Theta^{-1} r_0}}{n}:\qquad \text{slope } -1 .$$""")
nb.demo(
    questions=[
        "Which width has the bumpiest loss curve, and why might that be?",
        "Scrub the steps: does the slope of the right panel depend on the step?",
    ],
    static="demos.plot_weight_change()",
    interactive="""
        change_view = demos.WeightChange.interact()
        change_view""",
    explanation=r"""
        * All widths reach a tiny loss; narrow networks are less regular (their NTK is further from the analytic one
          and changes during training).
        * The relative change rises early (the fast modes are fitted in a few steps) and then saturates. At
          **every** step the points lie on a line of slope about $-1$: the numerator is $O(1)$, the denominator
          $\approx n$.""",
)
nb.md(r"""
    The check. One network per width, so the distance $\sqrt{r_0^\top\Theta^{-1}r_0}$ is a random $O(1)$ number
    that scatters between widths (0.7 to 1.7 here); the fit's standard error measures that scatter, and we accept
    $|\text{slope} + 1| < 3$ standard errors. Second, the network should travel the distance its linearization
    predicts: their difference is of the order of the NTK's own change during training, a few percent at
    $n \geq 100$ (section 5 measures NTK changes), so we accept $5\%$ there. Third, $\Delta W^{(2)}$ is a sum of
    rank-3 updates whose factors (back-propagated signals, activations) change during training by about that
    same few percent, so beyond rank 3 there should be little: we require the 4th singular value to be below
    $2\%$ of the first for $n \ge 100$.""")
nb.code("""
    sweep = demos.width_sweep()
    widths = sweep["widths"]
    fit = ntk_teach.fit_loglog(widths, sweep["rel_change"][:, -1])
    ratio = sweep["distance"][:, -1] / sweep["distance_lin"][:, -1]
    print(" width   ||theta_T - theta_0||   linearized   ratio   relative change")
    for n, d, dl, r, rc in zip(widths, sweep["distance"][:, -1], sweep["distance_lin"][:, -1], ratio,
                               sweep["rel_change"][:, -1]):
        print(f"{n:6d} {d:16.3f} {dl:14.3f} {r:9.3f} {rc:14.2e}")
    print(fit.label("relative change vs width"), "(theory -1)")
    assert abs(fit.slope + 1) < 3 * fit.stderr
    assert np.all(np.abs(ratio[widths >= 100] - 1) < 0.05)
    for n in demos.IMAGE_WIDTHS:
        W = demos.width_run(n)["W"].astype(np.float64)
        sv = np.linalg.svd(W[-1] - W[0], compute_uv=False)
        print(f"width {n:4d}: singular values of the change / largest: {np.round(sv[:5] / sv[0], 4)}")
        assert n < 100 or sv[3] < 0.02 * sv[0]
    change_view.set(step=10)
    weights_view.set(step=demos.STEPS, scale="own")
    assert not change_view.errors and not weights_view.errors""")
nb.think(r"""
    In the **standard** parameterization the entries of $W^{(2)}$ are $\mathcal{N}(0, 1/n)$, so $\|\theta_0\| \approx \sqrt{n}$.
    Does the relative change still fall like $1/n$?""", answer=r"""
    Yes. There the NTK grows like $n$ (notebook 03), so fitting needs a smaller move: $\|\Delta\theta\|^2 =
    r_0^\top\Theta^{-1}r_0 = O(1/n)$, and $\|\Delta\theta\| / \|\theta_0\| = O(n^{-1/2}) / \sqrt{n} = O(1/n)$ again.
    What differs between the parameterizations is *which* layers move; section 4 compares them through $\kappa$.""")

# =============================================================================================
nb.section("Training the linearization", minutes=15, intro=r"""
    If the parameters barely move, the network should stay close to its first-order Taylor expansion around
    $\theta_0$,
    $$f^{\rm lin}(x;\theta) = f(x;\theta_0) + \nabla_\theta f(x;\theta_0)\cdot(\theta - \theta_0),$$
    a model that is **linear in $\theta$** (not in $x$) with the fixed features $\nabla_\theta f(x;\theta_0)$.
    `ntk_teach.linearize(net)` builds it (one forward-mode derivative per call). Trained by gradient descent, its
    outputs follow the closed form of notebook 03 with the *constant* kernel $\Theta_0 = \Theta(\theta_0)$:
    $f^{\rm lin}_k(x) = f_0(x) - \Theta_0(x, X)\,\Theta_0^{-1}\big(I - (I - \eta\Theta_0)^k\big)(f_0(X) - y)$.
    The next cell checks that the two agree (to rounding, $10^{-10}$), so the demo can use the closed form.""")
nb.code("""
    net = ntk_teach.MLP(16, b_std=demos.B_STD, seed=0)
    K, K_test = ntk_teach.empirical_ntk(net, x), ntk_teach.empirical_ntk(net, demos.X_TEST, x)
    with torch.no_grad():
        f0, f0_test = net(x), net(demos.X_TEST)
    trained = ntk_teach.train(ntk_teach.linearize(net), x, y, lr=eta, steps=10, record_every=5, x_test=demos.X_TEST)
    _, closed = ntk_teach.gradient_descent_mse(K, y, trained.steps.tolist(), eta=eta, f0=f0, K_test=K_test,
                                               f0_test=f0_test)
    err = float((trained.test_outputs - closed).abs().max())
    print(f"linearized model trained by gradient descent vs closed form: max difference {err:.1e}")
    assert err < 1e-10""")
nb.demo(
    questions=[
        "At width 10, where do the network and its linearization differ most: at the data points or between them?",
        "The linearized ReLU network has small **jumps**. Where do they come from? (It is linear in $\\theta$.)",
        "How fast does the gap shrink with the width: like $n^{-1/2}$, faster, or slower?",
    ],
    static="demos.plot_linearized()",
    interactive="""
        lin_view = demos.Linearized.interact()
        lin_view""",
    explanation=r"""
        * Both models are trained to the same three targets, so they agree **at the data points**; they differ in
          between and outside, where each interpolates in its own way.
        * $f^{\rm lin}(x)$ is linear in $\theta$ but not continuous in $x$: its features $\nabla_\theta f(x;\theta_0)$
          contain $\mathbb{1}[h_j(x) > 0]$ for every ReLU unit $j$ (the derivative with respect to the unit's input
          weights and bias), which jumps where the unit switches on. Each jump is multiplied by that unit's small
          parameter change, so the jumps shrink with the width.
        * The gap shrinks roughly like $n^{-0.8}$ for this seed, faster than $n^{-1/2}$. Lee et al. (2019) *prove*
          $\sup_t \|f_t - f^{\rm lin}_t\| = O(n^{-1/2})$ for smooth activations, an upper bound; Dyer & Gur-Ari (2020)
          argue that for smooth activations the NTK's change during training, and with it this gap, scales like
          $1/n$. ReLU's kinks add terms in between, and one network per width scatters.""",
)
nb.md(r"""
    The check: the root-mean-square gap over $x \in [-3.5, 3.5]$ after training, one network per width. The
    fitted slope has a standard error of about 0.1 (one seed per width); we check that the gap shrinks
    ($\text{slope} + 3\,\text{SE} < 0$) and at least as fast as Lee et al.'s bound ($\text{slope} < -\tfrac12 + 3\,\text{SE}$).""")
nb.code("""
    gap_fit = ntk_teach.fit_loglog(widths, sweep["gap_rms"][:, -1])
    print(gap_fit.label("rms gap vs width"), " Lee et al. bound: -1/2")
    assert gap_fit.slope + 3 * gap_fit.stderr < 0
    assert gap_fit.slope < -0.5 + 3 * gap_fit.stderr
    for n in (10, 100, 1000):
        lin_view.set(width=n)
    lin_view.set(width=32, step=20)
    assert not lin_view.errors""")
nb.think(r"""
    Why did we not train `ntk_teach.linearize(net)` at width 1000 as well, and is using the closed form there
    cheating?""", answer=r"""
    Training the linearization costs a forward-mode derivative per step, several times a normal step, for
    a result we can write down: the cell above checks, to $10^{-10}$, that gradient descent on the linearized
    model *is* the closed form. The closed form needs only the NTK at initialization (a $3 \times 3$ and a
    $141 \times 3$ matrix).""")

# =============================================================================================
nb.section("How lazy? Chizat & Bach's kappa", minutes=15, intro=r"""
    When is a model close to its linearization during training? Chizat & Bach (2019) compare two lengths. To fit,
    the parameters must move about $\|\Delta\theta\| \approx \|f(\theta_0) - y\| / \|\nabla_\theta f\|$ (output change
    needed / output change per unit of parameter). Over that distance the Jacobian changes by about
    $\|\nabla^2_\theta f\|\,\|\Delta\theta\|$, relative to its size:
    $$\frac{\|\nabla^2_\theta f\|\,\|\Delta\theta\|}{\|\nabla_\theta f\|} \approx
      \kappa = \frac{\|f(\theta_0) - y\|\;\|\nabla^2_\theta f(\theta_0)\|}{\|\nabla_\theta f(\theta_0)\|^2}.$$
    Training is lazy when $\kappa \ll 1$. (Norms: the gradient's Euclidean norm and the Hessian's spectral norm,
    at one input here.)

    **Exactly, for one hidden layer.** For $f(x) = c_1 \sum_{j=1}^n v_j \phi(h_j) + c_b\, b$, $h_j = c_0 a_j x + c_{b0} c_j$,
    no second derivative mixes two units: the Hessian is **block diagonal**, one $3\times3$ block per unit
    $(v_j, a_j, c_j)$. With $z = (c_0 x, c_{b0})$ the block is
    $c_1\begin{pmatrix} 0 & \phi'(h_j) z^\top \\ \phi'(h_j) z & v_j\phi''(h_j) z z^\top\end{pmatrix}$, whose non-zero
    eigenvalues are $c_1\big(s_j/2 \pm \sqrt{s_j^2/4 + \phi'(h_j)^2|z|^2}\big)$, $s_j = v_j\phi''(h_j)|z|^2$. So
    $\|\nabla^2 f\| = \max_j$ of $n$ block norms, in $O(n)$ operations (`ntk_teach.toy.one_hidden_layer_norms`).
    We use tanh (ReLU has $\phi'' = 0$) at $x = 1$, $y = 1$, $b_{std} = 0.1$, widths $2^4$ to $2^{14}$, 20 networks each.

    * **Standard (LeCun) parameterization:** $c_1 = 1$, $v_j \sim \mathcal{N}(0, 1/n)$. The readout gradients
      $\phi(h_j)$ are $O(1)$ each: $\|\nabla f\|^2 \approx n\,\mathbb{E}\tanh(h)^2$, slope $\tfrac12$. The Hessian
      blocks are dominated by $\phi'(h_j)|z| \le |z|$: slope 0. Hence $\kappa \sim 1/n$, slope $-1$.
    * **NTK parameterization:** $c_1 = 1/\sqrt{n}$, $v_j \sim \mathcal{N}(0, 1)$. $\|\nabla f\| = O(1)$: slope 0. Each
      block is $O(1/\sqrt n)$, but the Hessian norm is the **largest of $n$ blocks**, and the largest $|v_j|$ of $n$
      Gaussians grows like $\sqrt{2\ln n}$: $\|\nabla^2 f\| \sim \sqrt{2\ln n / n}$. Over $n = 16 \ldots 16384$ the
      factor $\sqrt{2\ln n}$ alone has slope $+0.09$, so the fitted slope is near $-0.4$, not $-\tfrac12$ (the
      "$-\tfrac12$" of the literature drops the logarithm). Dividing by $\sqrt{2\ln n}$ restores $-\tfrac12$.""")
nb.code("""
    # exact block formula vs Lanczos on Hessian-vector products (ntk_teach.lazy_norms), one net each
    for p in ("standard", "ntk"):
        net1 = ntk_teach.MLP(16, depth=1, activation="tanh", parameterization=p, seed=0)
        exact = toy.one_hidden_layer_norms(net1, [1.0], 1.0)
        lanczos = ntk_teach.lazy_norms(net1, [1.0], [1.0])
        print(f"{p:9s} exact kappa {exact['kappa']:.10f}   Lanczos {lanczos['kappa']:.10f}")
        assert abs(exact["hessian_norm"] / lanczos["hessian_norm"] - 1) < 1e-8
    kappas = {p: demos.kappa_sweep(p) for p in ("standard", "ntk")}""")
nb.demo(
    questions=[
        "Standard parameterization: which of the three lines grows, which stays flat, which falls?",
        "Toggle to the NTK parameterization: which slopes change? Is the $\\kappa$ slope closer to $-\\tfrac12$ or to $-1$?",
        "Toggle `divide by sqrt(2 ln n)`: which line straightens, and what does that say about the Hessian?",
    ],
    static="demos.plot_kappa_width()",
    interactive="""
        kappa_view = demos.KappaWidth.interact()
        kappa_view""",
    explanation=r"""
        * **Same networks at initialization, different geometry.** Both parameterizations give the same random
          function at initialization; they differ in how a unit step in *parameter space* changes it. In the standard
          one the readout weights are small ($\sim n^{-1/2}$) but their gradients are $O(1)$, so the gradient norm grows
          like $\sqrt{n}$; moving them is cheap, and $\kappa$ falls like $1/n$. In the NTK parameterization the same
          readout change costs $\sqrt{n}$ times more parameter distance, the gradient norm is $O(1)$, and $\kappa$ falls
          only like $\sqrt{\ln n / n}$. Gradient descent is not invariant under rescaling parameters, and neither
          is $\kappa$.
        * Both $\kappa$'s go to 0: wide networks are lazy in **both** parameterizations, at different rates.
        * The NTK-parameterization Hessian is the largest of $n$ independent blocks: an extreme value. Dividing by
          $\sqrt{2\ln n}$ removes most of the bend; what is left ($-0.49$) is the slower convergence of the expected
          maximum of $n$ Gaussians to $\sqrt{2\ln n}$.""",
)
nb.md(r"""
    The checks, with tolerances = 3 standard errors of each fit (printed) plus the finite-width bias we can name:
    the $O(1)$ part of $\|\nabla f\|^2$ (input weights and the readout bias) lowers the gradient slope by about
    0.015 in the standard parameterization, and the expected maximum of $n$ Gaussians approaches $\sqrt{2\ln n}$
    slowly, which shifts the corrected slope by about 0.01. So: gradient and Hessian slopes within 0.03, $\kappa$
    slopes within 0.1 (the median residual $|f_0(1) - 1|$ of 20 networks scatters, SE $\approx 0.03$).""")
nb.code("""
    for p, theory in demos.KAPPA_THEORY.items():
        for k, expected in theory.items():
            f = kappas[p][k]["fit"]
            print(f"{p:9s} {k:14s} slope {f.slope:+.3f} ± {f.stderr:.3f}  (theory {expected:+.1f})")
    s = {p: {k: kappas[p][k]["fit"].slope for k in demos.KAPPA_THEORY[p]} for p in kappas}
    corrected = {k: kappas["ntk"][k]["fit_corrected"].slope for k in ("hessian_norm", "kappa")}
    print("NTK parameterization divided by sqrt(2 ln n):", {k: round(v, 3) for k, v in corrected.items()})
    assert abs(s["standard"]["jacobian_norm"] - 0.5) < 0.03 and abs(s["standard"]["hessian_norm"]) < 0.03
    assert abs(s["standard"]["kappa"] + 1) < 0.1
    assert abs(s["ntk"]["jacobian_norm"]) < 0.03
    assert -0.5 < s["ntk"]["hessian_norm"] < -0.3          # bent by the sqrt(2 ln n) factor ...
    assert abs(corrected["hessian_norm"] + 0.5) < 0.03     # ... which accounts for it
    assert abs(corrected["kappa"] + 0.5) < 0.1
    for p in ("ntk", "standard"):
        for c in demos.CORRECTIONS:
            kappa_view.set(parameterization=p, correction=c)
    assert not kappa_view.errors""")
nb.exercise(
    "4.1",
    task=r"""
        Write `block_norms(model, x)`: the spectral norms of the $n$ per-unit Hessian blocks of a one-hidden-layer
        tanh network (`ntk_teach.MLP(n, depth=1, activation="tanh")`) at one input `x`, as a numpy array of shape
        `(n,)`. Use the $2\times2$ reduction above. The layer multipliers are `model.w_mult[0]` ($c_0$),
        `model.b_mult[0]` ($c_{b0}$) and `model.w_mult[1]` ($c_1$); the parameters `model.weights[0][:, 0]` ($a$),
        `model.biases[0]` ($c$) and `model.weights[1][0]` ($v$). For tanh, $\phi' = 1 - \tanh^2$ and
        $\phi'' = -2\tanh\,(1 - \tanh^2)$.""",
    stub='''
        def block_norms(model, x):
            # TODO: h = c0 * a * x + cb0 * c; s = v * phi''(h) * |z|^2 with |z|^2 = (c0 x)^2 + cb0^2;
            #       return c1 * (|s|/2 + sqrt(s^2/4 + phi'(h)^2 |z|^2)) as a numpy array
            raise NotImplementedError("Exercise 4.1")


        net41 = ntk_teach.MLP(50, depth=1, activation="tanh", seed=3)   # NTK parameterization
        x41 = 1.3
        _ = checks.check_function(
            "Exercise 4.1", block_norms, reference=lambda m, x: toy.hessian_block_norms(m, [x]),
            inputs=[(net41, x41)], rtol=1e-10,
            mistakes={"forgot the readout multiplier c1 = 1/sqrt(n)":
                      lambda m, x: np.sqrt(m.width) * toy.hessian_block_norms(m, [x])})''',
    hint=r"""
        Work with tensors under `torch.no_grad()`: `a = model.weights[0][:, 0]`, `t = torch.tanh(h)`. The block norm is
        the larger of the two eigenvalues in absolute value, $c_1(|s|/2 + \sqrt{s^2/4 + \phi'^2|z|^2})$.""",
    solution='''
        # Solution to Exercise 4.1
        def block_norms_solution(model, x):
            with torch.no_grad():
                c0, cb0, c1 = model.w_mult[0], model.b_mult[0], model.w_mult[1]
                a, c, v = model.weights[0][:, 0], model.biases[0], model.weights[1][0]
                h = c0 * a * x + cb0 * c
                t = torch.tanh(h)
                d1, d2 = 1 - t**2, -2 * t * (1 - t**2)
                z2 = (c0 * x) ** 2 + cb0**2
                s = v * d2 * z2
                return (c1 * (s.abs() / 2 + torch.sqrt(s**2 / 4 + d1**2 * z2))).numpy()


        _ = checks.check_function("Exercise 4.1 (solution)", block_norms_solution,
                                  reference=lambda m, x: toy.hessian_block_norms(m, [x]),
                                  inputs=[(net41, x41)], rtol=1e-10, strict=True)
        blocks = block_norms_solution(net41, x41)
        v41 = net41.weights[1][0].detach().abs()
        print(f"largest block: unit {blocks.argmax()} of 50, with |v| = {v41[blocks.argmax()].item():.2f} "
              f"(the largest |v_j| is {v41.max().item():.2f})")''',
)

# =============================================================================================
nb.section("The output scale alpha", minutes=20, intro=r"""
    Width is one way to be lazy. Chizat & Bach's observation: **any** model becomes lazy if its output is scaled up.
    Take a model $f(x;\theta)$, center it, and scale it by $\alpha > 0$:
    $$g_\alpha(x;\theta) = \alpha\big(f(x;\theta) - f(x;\theta_0)\big) \qquad (\texttt{ntk\_teach.centered(model, alpha)}),$$
    and train it on the normalized loss $L_\alpha(\theta) = \tfrac{1}{2\alpha^2}\sum_i (g_\alpha(x_i;\theta) - y_i)^2$
    (`train(..., alpha=alpha)`). The $1/\alpha^2$ keeps gradient descent comparable across $\alpha$: in function
    space $\dot g = -\eta\,\Theta_f\,(g - y)$ for every $\alpha$, with $\Theta_f$ the NTK of $f$.

    **$\kappa$ of the scaled model.** At $\theta_0$ the centered model is 0, so the residual is $\|y\|$ for every $\alpha$,
    while its Jacobian and Hessian are $\alpha$ times those of $f$:
    $$\kappa(\alpha) = \frac{\|y\|\cdot\alpha\|\nabla^2 f\|}{\alpha^2\|\nabla f\|^2} = \frac{\kappa(1)}{\alpha}\quad\text{exactly.}$$

    **A model you can see.** The one-parameter model of the "Understanding the NTK" post,
    $f(w) = (w x + w^2 x + \sin(e^{0.1 w}))(w - 0.4)$ at $x = 1.5$, starts at $w_0 = 0.4$ where $f(w_0) = 0$ (so
    $\alpha f$ is already centered). With target $y = 1$ the normalized loss and its linearization are
    $$L_\alpha(w) = \tfrac12\big(f(w) - f(w_0) - y/\alpha\big)^2,\qquad
      L^{\rm lin}_\alpha(w) = \tfrac12\big(f'(w_0)(w - w_0) - y/\alpha\big)^2 ,$$
    a parabola with its minimum at $w^{\rm lin}_* = w_0 + y/(\alpha f'(w_0))$. The derivatives in
    `ntk_teach.toy` are written out by hand; the next cell checks them against autograd.""")
nb.code("""
    w0 = toy.W0_TOY
    wt = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    (g1,) = torch.autograd.grad(toy.toy_f_torch(wt), wt, create_graph=True)
    (g2,) = torch.autograd.grad(g1, wt)
    print(f"f(w0) = {toy.toy_f(w0):.1f}, f'(w0) = {toy.toy_df(w0):.6f} (autograd {g1.item():.6f}), "
          f"f''(w0) = {toy.toy_d2f(w0):.6f} (autograd {g2.item():.6f}), kappa(1) = {toy.toy_kappa(1.0):.4f}")
    assert toy.toy_f(w0) == 0 and abs(toy.toy_df(w0) - g1.item()) < 1e-12 and abs(toy.toy_d2f(w0) - g2.item()) < 1e-12""")
nb.demo(
    questions=[
        "As $\\alpha$ grows, what happens to the model's curve and its tangent near $w_0$ (left)?",
        "On fixed axes (middle), where does the minimum of $L_\\alpha$ go as $\\alpha \\to \\infty$?",
        "On the zoomed axes (right) the parabola never changes. What happens to the true loss?",
    ],
    static="demos.plot_alpha_toy()",
    interactive="""
        toy_view = demos.AlphaToy.interact()
        toy_view""",
    explanation=r"""
        * Left: $\alpha(f(w) - f(w_0))$ gets steeper; it reaches the target $y = 1$ after a parameter change of only
          about $1/(\alpha f'(w_0))$, and over such a short distance the curve and its tangent are indistinguishable.
        * Middle: both minimizers move to $w_0$ like $1/\alpha$ (at $\alpha = 1$ the true minimizer is at 0.75, at
          $\alpha = 100$ at 0.4058). On fixed axes the loss tends to $\tfrac12(f(w) - f(w_0))^2$, which is **not** a
          parabola away from $w_0$; laziness is about the region training actually visits.
        * Right: measured in units of the step $w^{\rm lin}_* - w_0$, the loss converges to the parabola. The relative
          error of the linearized minimizer is $\kappa(\alpha)/2$ to leading order: $\kappa$ is exactly the size of
          the second-order term along the way. For $\alpha < 1$ the model is far from lazy: at $\alpha = 0.1$ the
          linearization would overshoot to $w = 6.3$, the true minimizer is at 1.69.""",
)
nb.md(r"""
    The checks. Expanding $f(w) - f(w_0) = y/\alpha$ around $w_0$ with $\delta = y/(\alpha f'(w_0))$ gives
    $w_* - w_0 = \delta - \tfrac{f''}{2f'}\delta^2 + O(\delta^3)$, so
    $$\frac{w_* - w^{\rm lin}_*}{w^{\rm lin}_* - w_0} = -\frac{\kappa(\alpha)}{2}\big(1 + c\,\kappa(\alpha) + O(\kappa^2)\big),
      \qquad c = -\Big(1 - \frac{f''' f'}{3 f''^2}\Big) \approx -0.83,$$
    and we accept a relative error below $\kappa(\alpha)$ for $\alpha \ge 10$ ($\kappa \le 0.19$). The distance
    $|w_* - w_0| = \delta(1 - \kappa/2 + \dots)$ falls like $1/\alpha$ up to that correction, which changes the fitted
    slope over $\alpha \in [10, 1000]$ by about $\kappa(10)/2 \approx 0.05$: we accept $|\text{slope} + 1| < 0.1$.""")
nb.code("""
    alphas = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
    w_true = np.array([toy.toy_minimizer(a) for a in alphas])
    w_lin = np.array([toy.toy_linearized_minimizer(a) for a in alphas])
    kap = np.array([toy.toy_kappa(a) for a in alphas])
    rel_err = (w_true - w_lin) / (w_lin - w0)
    for a, r, k in zip(alphas, rel_err, kap):
        print(f"alpha {a:6.0f}: (w* - w*lin)/(w*lin - w0) = {r:+.5f}   -kappa/2 = {-k / 2:+.5f}")
        assert abs(r / (-k / 2) - 1) < k
    dist_fit = ntk_teach.fit_loglog(alphas, w_true - w0)
    print(dist_fit.label("|w* - w0| vs alpha"), "(theory -1)")
    assert abs(dist_fit.slope + 1) < 0.1
    for a in (0.1, 1.0, 10.0, 100.0):
        toy_view.set(alpha=a)
    assert not toy_view.errors""")
nb.exercise(
    "4.2",
    task=r"""
        Write `kappa_toy(alpha, y=1.0)`: Chizat & Bach's $\kappa$ of the centered toy model $\alpha(f(w) - f(w_0))$ at
        $w_0$, from its residual, its Jacobian ($\alpha f'(w_0)$) and its Hessian ($\alpha f''(w_0)$). Use `toy.toy_df`,
        `toy.toy_d2f` and `toy.W0_TOY`.""",
    stub='''
        def kappa_toy(alpha, y=1.0):
            # TODO: residual * |Hessian| / Jacobian^2 for the centered, scaled model at w0
            raise NotImplementedError("Exercise 4.2")


        _ = checks.check_function(
            "Exercise 4.2", kappa_toy, reference=toy.toy_kappa, inputs=[(0.1,), (1.0,), (30.0,), (2.0, -0.5)],
            rtol=1e-12,
            mistakes={"the Jacobian is not squared": lambda a, y=1.0: abs(y) * abs(a * toy.toy_d2f(w0)) / abs(a * toy.toy_df(w0)),
                      "alpha is missing from the Hessian (kappa would fall like 1/alpha^2)":
                      lambda a, y=1.0: abs(y) * abs(toy.toy_d2f(w0)) / (a * toy.toy_df(w0)) ** 2})''',
    hint=r"""
        The residual at $w_0$ is $|\alpha(f(w_0) - f(w_0)) - y| = |y|$. Then $\kappa = |y|\,\alpha|f''(w_0)| / (\alpha f'(w_0))^2$.""",
    solution='''
        # Solution to Exercise 4.2
        def kappa_toy_solution(alpha, y=1.0):
            residual = abs(y)
            jacobian = alpha * float(toy.toy_df(toy.W0_TOY))
            hessian = alpha * float(toy.toy_d2f(toy.W0_TOY))
            return residual * abs(hessian) / jacobian**2


        _ = checks.check_function("Exercise 4.2 (solution)", kappa_toy_solution, reference=toy.toy_kappa,
                                  inputs=[(0.1,), (1.0,), (30.0,), (2.0, -0.5)], rtol=1e-12, strict=True)''',
)
nb.md(r"""
    **The same on a network.** A tanh network of width 64 (NTK parameterization, $b_{std} = 0.5$; tanh because
    Chizat & Bach's argument needs a smooth model, and ReLU's NTK jumps whenever a unit switches), centered and
    scaled by $\alpha$, trained for 100 steps ($\eta = 0.5$) on the normalized loss, for 13 values of $\alpha$ from
    0.1 to 100. First the identity $\kappa(\alpha) = \kappa(1)/\alpha$, with `ntk_teach.lazy_norms` (Lanczos on
    Hessian-vector products) at the input $x_2 = 0$: the same Krylov iterations on an operator scaled by
    $\alpha$, so equality to about $10^{-9}$.""")
nb.code("""
    k1 = demos.kappa_centered(1.0)["kappa"]
    for a in (0.1, 100.0):
        ka = demos.kappa_centered(a)["kappa"]
        print(f"alpha = {a:5g}: kappa = {ka:.6e},  alpha * kappa = {a * ka:.12f},  kappa(1) = {k1:.12f}")
        assert abs(a * ka / k1 - 1) < 1e-9""")
nb.demo(
    questions=[
        "At $\\alpha = 0.1$ the trained network fits the data too. Does it end as the same function as the linear model?",
        "On the right, three quantities fall like $1/\\alpha$ for large $\\alpha$. Which one is exact, and why?",
        "Between $\\alpha = 0.3$ and $3$ the NTK change flattens. What else is happening there?",
    ],
    static="demos.plot_alpha_network()",
    interactive="""
        alpha_view = demos.AlphaNetwork.interact()
        alpha_view""",
    explanation=r"""
        * The linearized model's prediction does not depend on $\alpha$ (dashed), because the normalized loss gives
          the same function-space dynamics $\dot g = -\eta\Theta_f(g - y)$. The network follows it closely for large
          $\alpha$; for small $\alpha$ it fits the same three points with a different function: its NTK changed by
          over 50% (it *learned features*).
        * The parameter distance falls like $1/\alpha$ almost exactly: to produce the same output change, a model with
          $\alpha$ times larger gradients needs an $\alpha$ times shorter move. The NTK change and the gap to the linear
          model are first order in that move, so they fall like $1/\alpha$ too, up to relative corrections of order
          $\kappa(\alpha)$.
        * Between $\alpha \approx 0.3$ and 3 the network is neither lazy nor far from it: which modes it fits first, and
          how far the NTK turns, change with $\alpha$ (compare the left panel at $\alpha = 0.56$ and $1.8$).""",
)
nb.md(r"""
    The checks, over $\alpha \ge 10$ where $\kappa(\alpha) \le \kappa(1)/10$. The parameter distance is
    $\|\Delta\theta\| = \|\Delta\theta^{\rm lin}\|/\alpha\,(1 + O(\kappa(\alpha)))$: its slope must be $-1$ within 0.01
    (the corrections change by less than $\kappa(10) \approx 0.01$ over the range). The NTK change and the gap are
    ratios of small quantities whose second-order parts are relatively $O(\alpha^{-1})$ larger at $\alpha = 10$
    than at 100, so we accept $|\text{slope} + 1| < 0.1$.""")
nb.code("""
    sweep_alpha = demos.alpha_sweep()
    for k in ("distance", "ntk_change", "gap"):
        print(sweep_alpha[k + "_fit"].label(k + " vs alpha (alpha >= 10)"), "(theory -1)")
    assert abs(sweep_alpha["distance_fit"].slope + 1) < 0.01
    assert abs(sweep_alpha["ntk_change_fit"].slope + 1) < 0.1
    assert abs(sweep_alpha["gap_fit"].slope + 1) < 0.1
    assert sweep_alpha["ntk_change"][0] > 0.3 > 0.01 > sweep_alpha["ntk_change"][-1]   # rich at 0.1, lazy at 100
    assert sweep_alpha["loss"].max() < 1e-6                                              # every alpha fits the data
    for a in (0.1, 0.56, 1.0, 1.78, 100.0):
        alpha_view.set(alpha=a)
    assert not alpha_view.errors""")
nb.think(r"""
    Large $\alpha$ makes any model lazy, and so does large width. Is lazy training what makes deep learning work?""",
    answer=r"""
    Probably not on its own. A lazy network is a kernel method with a kernel fixed at initialization: it cannot
    learn features (the left panel at $\alpha = 100$ is the linear model). Chizat, Oyallon & Bach report that
    forcing laziness (large $\alpha$) *hurts* the test accuracy of convolutional networks on CIFAR-10. The lazy
    regime is the part of deep learning that we can solve exactly, which is why the next notebooks study it.""")

# =============================================================================================
nb.summary([
    "Trained wide networks barely move their weights: $\\|\\theta_T - \\theta_0\\| = O(1)$ (it equals the linear "
    "model's $\\sqrt{r_0^\\top\\Theta^{-1}r_0}$ within 5% from width 100) while $\\|\\theta_0\\| \\approx n$, so the "
    "relative change falls like $1/n$ (measured slope $-1.05 \\pm 0.06$).",
    "The change is structured: each step adds an outer product per training point, so $\\Delta W$ is nearly low rank.",
    "The linearization $f(\\theta_0) + \\nabla f(\\theta_0)\\cdot(\\theta - \\theta_0)$ trained by gradient descent is "
    "the closed-form NTK dynamics; the network's gap to it shrinks with the width (at least as fast as Lee et "
    "al.'s $n^{-1/2}$ bound here). The linearized ReLU network is discontinuous in $x$.",
    "$\\kappa = \\|f - y\\|\\,\\|\\nabla^2 f\\|/\\|\\nabla f\\|^2$ measures laziness. One hidden layer, exactly: slopes "
    "$\\tfrac12, 0, -1$ (standard) and $0, -\\tfrac12, -\\tfrac12$ (NTK) for gradient, Hessian, $\\kappa$, where the NTK "
    "Hessian carries a $\\sqrt{2\\ln n}$ (largest of $n$ blocks) that makes its raw slope about $-0.4$.",
    "Scaling the centered output by $\\alpha$ (with loss $/\\alpha^2$) gives $\\kappa(\\alpha) = \\kappa(1)/\\alpha$ exactly; "
    "the minimizer, the parameter distance, the NTK change and the gap to the linear model all shrink like $1/\\alpha$.",
])
nb.references([
    ("L. Chizat, E. Oyallon, F. Bach (2019). On Lazy Training in Differentiable Programming. NeurIPS "
     "(kappa, the output scale alpha, and the CIFAR-10 experiment)", "https://arxiv.org/abs/1812.07956"),
    ("J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein, J. Pennington (2019). Wide Neural "
     "Networks of Any Depth Evolve as Linear Models Under Gradient Descent. NeurIPS", "https://arxiv.org/abs/1902.06720"),
    ("A. Jacot, F. Gabriel, C. Hongler (2018). Neural Tangent Kernel: Convergence and Generalization in Neural "
     "Networks. NeurIPS", "https://arxiv.org/abs/1806.07572"),
    ("S. Du, X. Zhai, B. Poczos, A. Singh (2019). Gradient Descent Provably Optimizes Over-parameterized Neural "
     "Networks. ICLR (the weights stay close to their initialization)", "https://arxiv.org/abs/1810.02054"),
    ("C. Liu, L. Zhu, M. Belkin (2020). On the linearity of large non-linear models: when and why the tangent "
     "kernel is constant. NeurIPS (Hessian norms of wide networks, with their log factors)", "https://arxiv.org/abs/2010.01092"),
    ("E. Dyer, G. Gur-Ari (2020). Asymptotics of Wide Networks from Feynman Diagrams. ICLR (the 1/n rate of the "
     "NTK's change)", "https://arxiv.org/abs/1909.11304"),
    ("R. Dwaraknath (2019). Understanding the Neural Tangent Kernel (blog post: the 100 networks, the weight "
     "images, kappa, and the alpha toy model)", "https://rajatvd.github.io/NTK/"),
])

if __name__ == "__main__":
    print("wrote", nb.write())
