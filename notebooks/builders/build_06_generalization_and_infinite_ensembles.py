"""Builds notebooks/06_generalization_and_infinite_ensembles.ipynb.

Run: .venv/bin/python notebooks/builders/build_06_generalization_and_infinite_ensembles.py
"""
from ntk_teach.nbtools import NotebookBuilder

nb = NotebookBuilder(
    "06_generalization_and_infinite_ensembles",
    title="Generalization and infinite ensembles",
    summary="What an infinitely wide network predicts after gradient descent, why an ensemble of them is a "
            "Gaussian process but not the Bayesian posterior, and what that says about test error.",
    objectives=[
        "compute the mean and covariance at time $t$ of an infinite ensemble of trained infinitely wide networks "
        "from the NNGP kernel $\\Sigma$ and the NTK $\\Theta$, and check that at $t \\to \\infty$ it passes through "
        "the training data with zero variance;",
        "explain in one sentence why training all layers does not give the Bayesian posterior while training the "
        "readout layer alone does, and show it numerically;",
        "measure how far finite networks trained by gradient descent end from the infinite-width prediction, and "
        "how that distance shrinks with the width;",
        "show that gradient descent on the linearized network converges to the interpolant closest to its start, "
        "$w_0 + J^+(y - f_0)$;",
        "predict how the test error of NTK regression falls with the number of training points, with and without "
        "label noise, and why stopping gradient descent at time $t$ acts like a ridge of $1/(\\eta t)$.",
    ],
    prerequisites=["02_wide_networks_are_gaussian_processes", "05_gradient_flow_and_the_kernel_regime"],
    minutes=60,
    demo_module="nb06_generalization",
    extra_imports="""
        import math

        import numpy as np
        import torch

        from ntk_teach import predict""",
)

# ---------------------------------------------------------------------------------------------
nb.md(r"""
    **Conventions of this notebook.** The reference network (1-D input, two hidden ReLU layers) in the
    **NTK parameterization** with $w_{std} = 1$ and $b_{std} = 1$ (with the default $b_{std} = 0.1$ a first-layer unit
    switches at $x = -0.1\,b/w$, a Cauchy variable: half of the kinks lie within $0.1$ of the origin, and every
    function is nearly linear on each half-line, a poor model for data on $[-3, 3]$). Loss $L = \tfrac12 \sum_i (f(x_i) - y_i)^2$, gradient flow
    $\dot\theta = -\eta \nabla L$, so $\dot f = -\eta\,\Theta\,(f - y)$, with **no** $1/N$. $\Sigma$ is the NNGP
    kernel (the covariance of the outputs at initialization; Lee et al. write $\mathcal K$), $\Theta$ the NTK,
    both from `ntk_teach.analytic_nngp` / `analytic_ntk`. Everything is float64.""")
nb.code("""
    k = demos.task_kernels()                        # Sigma and Theta on the data and on the test inputs
    x_train, y_train, x_test = demos.X_TRAIN, demos.Y_TRAIN, demos.X_TEST
    lam = k["lam"]
    print("training inputs  x:", x_train.numpy())
    print("targets  y = sin x:", np.round(y_train.numpy(), 3))
    print("eigenvalues of Theta(X, X):", np.round(lam.numpy(), 3), f"(condition number {float(lam[-1] / lam[0]):.0f})")""")

# ---------------------------------------------------------------------------------------------
nb.section("Training an infinitely wide network is kernel regression", minutes=10, intro=r"""
    In the infinite-width limit the NTK does not change during training (notebooks 04 and 05). Write
    $f_t(X)$ for the outputs on the $N$ training inputs, $Y$ for the targets and $\Theta = \Theta(X, X)$.
    Gradient flow on $L$ gives the linear ODE $\frac{d}{dt} f_t(X) = -\eta\,\Theta\,(f_t(X) - Y)$, so
    $f_t(X) - Y = e^{-\eta \Theta t}\,(f_0(X) - Y)$. At a test input $x^*$ the output moves with the same residual,
    $\frac{d}{dt} f_t(x^*) = -\eta\,\Theta(x^*, X)\,(f_t(X) - Y)$; integrating from $0$ to $t$,

    $$f_t(x^*) = f_0(x^*) + \underbrace{\Theta(x^*, X)\,\Theta^{-1}\big(I - e^{-\eta\Theta t}\big)}_{A_t}\,\big(Y - f_0(X)\big).$$

    As $t \to \infty$, $A_t \to \Theta(x^*, X)\Theta^{-1}$: the trained network is its initial function plus
    **kernel regression with the NTK** on the initial residual. All of it goes through the eigenvalues
    $\lambda_i$ of $\Theta$: $A_t = \Theta(x^*, X)\, Q\, \mathrm{diag}\!\big(\tfrac{1 - e^{-\eta\lambda_i t}}{\lambda_i}\big) Q^\top$,
    and mode $i$ is learned on the time scale $1/(\eta\lambda_i)$.

    *Convention check.* neural-tangents' `predict.gradient_descent_mse_ensemble` implements these formulas for the
    *mean* squared error, so its exponent reads $e^{-\eta\Theta t / N}$ ($N$ = number of training targets). Ours has
    no $1/N$ because our loss is half the *sum*.

    The next cell computes $A_t$ with `ntk_teach.predict.transfer_matrix` and checks three things: it agrees with
    the independent closed form `ntk_teach.gradient_flow_mse` (notebook 05); its $t \to \infty$ limit is
    `ntk_teach.kernel_regression`; and it solves the ODE (a central difference in $t$ with step $h = 10^{-4}$ has
    relative error about $h^2\lambda_{max}^2/6 \approx 5\cdot 10^{-7}$, so we accept $2\cdot 10^{-6}$). The closed
    forms are eigendecompositions of a $5\times 5$ matrix with condition number 74: round-off is about
    $74 \times 10^{-16}$, and we accept $10^{-10}$.""")
nb.code("""
    f0s, f0 = demos.initial_outputs(seed=0, n=1)     # one infinitely wide net at initialization (a draw from the NNGP)
    f0s, f0 = f0s[0], f0[0]
    for t in (0.3, 3.0):
        A = predict.transfer_matrix(k["T"], k["Ts"], t)
        ours = f0s + A @ (y_train - f0)
        _, flow = ntk_teach.gradient_flow_mse(k["T"], y_train, t, f0=f0, K_test=k["Ts"], f0_test=f0s)
        assert torch.allclose(ours, flow[0], rtol=0, atol=1e-10), (t, float((ours - flow[0]).abs().max()))

    # t -> infinity: kernel regression with the NTK on the initial residual; the training points are fitted
    A_inf = predict.transfer_matrix(k["T"], k["Ts"], math.inf)
    limit = f0s + ntk_teach.kernel_regression(k["T"], k["Ts"], y_train - f0)
    assert torch.allclose(f0s + A_inf @ (y_train - f0), limit, rtol=0, atol=1e-10)
    fitted = f0 + predict.transfer_matrix(k["T"], k["T"], math.inf) @ (y_train - f0)
    assert torch.allclose(fitted, y_train, rtol=0, atol=1e-10)

    # the formula solves the ODE  d f_t(x*)/dt = -eta Theta(x*, X) (f_t(X) - Y)   (eta = 1)
    t, h = 1.0, 1e-4
    f_test = lambda s: f0s + predict.transfer_matrix(k["T"], k["Ts"], s) @ (y_train - f0)
    f_train = lambda s: f0 + predict.transfer_matrix(k["T"], k["T"], s) @ (y_train - f0)
    lhs = (f_test(t + h) - f_test(t - h)) / (2 * h)
    rhs = -k["Ts"] @ (f_train(t) - y_train)
    rel = float((lhs - rhs).abs().max() / rhs.abs().max())
    print(f"ODE check: relative error of the central difference {rel:.1e} (accepted: 2e-6)")
    assert rel < 2e-6""")
nb.demo(
    questions=[
        "At $t = 0.01$ the five networks are draws from the NNGP. Which part of the data do they fit first as $t$ grows?",
        "Between two training points, does the $t \\to \\infty$ curve look like a smooth wave or like straight segments?",
        "The five nets end at different functions. Where do they still disagree at $t = 100$?",
    ],
    static="demos.plot_kernel_regression_in_time()",
    interactive="""
        view = demos.KernelRegressionInTime.interact()
        view""",
    explanation=r"""
        * Mode $i$ of the residual decays like $e^{-\lambda_i t}$. The largest eigenvalues (17 and 7) belong to
          smooth, global shapes (the overall level and slope), which are fitted by $t \approx 0.3$; the smallest
          ($0.23$) takes until $t \approx 4.6/0.23 \approx 20$. The loss curves on the right show the two time scales.
        * The limit is **almost piecewise linear**: near its diagonal the ReLU NTK behaves like
          $\Theta(x,x) - c\,|x - x'|$ (the arc-cosine kernel has a kink there), so kernel regression with it is
          locally like linear interpolation. Section 5 turns this into a prediction for the test error.
        * At $t \to \infty$ all nets pass through the data; they still differ *between and beyond* the training points,
          by $f_0(x^*) - A_\infty f_0(X)$, the part of the initial function that training cannot see. That spread is
          the variance of the ensemble in section 2. Their **mean** does not depend on $f_0$ (it has mean 0):
          it is $A_t Y$, the black curve.""",
)
nb.code("""
    view.set(t=100.0, seed=1)   # drive the widget from code: at t = 100 the mean is the kernel-regression limit
    mean_line = view.demo.mean.get_ydata()
    kr = ntk_teach.kernel_regression(k["T"], k["Ts"], y_train).numpy()
    # the slowest mode has decayed to exp(-0.233 * 100) = 7e-11 of its initial size
    assert np.abs(mean_line - kr).max() < 1e-8 and not view.errors""")
nb.think(r"""
    Double the learning rate $\eta$. What happens to the curves at a fixed $t$, and to the limit $t \to \infty$?""",
    answer=r"""
    Only the product $\eta t$ enters $A_t$, so doubling $\eta$ is the same as doubling the time: every curve at $t$
    now looks like the old one at $2t$. The limit $\Theta(x^*, X)\Theta^{-1}$ does not depend on $\eta$ at all.
    (With *discrete* gradient descent $\eta$ matters beyond $\eta t$: above $2/\lambda_{max}$ it diverges.)""")

# ---------------------------------------------------------------------------------------------
nb.section("The infinite ensemble and the Bayesian posterior", minutes=12, intro=r"""
    Train infinitely many infinitely wide networks, each from its own random initialization, and look at the
    distribution of their outputs at time $t$. At initialization $(f_0(x^*), f_0(X))$ is Gaussian with mean $0$ and
    covariance given by the NNGP kernel $\Sigma$ (notebook 02), and $f_t(x^*) = f_0(x^*) - A_t f_0(X) + A_t Y$ is
    linear in it. So the **infinite ensemble** is a Gaussian process with (Lee et al. 2019)

    $$\mu_t(x^*) = A_t\,Y, \qquad
    \mathrm{Cov}_t(x^*, x^*) = \Sigma(x^*, x^*) + A_t\,\Sigma(X, X)\,A_t^\top - A_t\,\Sigma(X, x^*) - \Sigma(x^*, X)\,A_t^\top .$$

    Compare the **Bayesian posterior** of the same infinitely wide network (prior $\Sigma$, noise-free data):
    $\mu(x^*) = \Sigma(x^*, X)\Sigma^{-1} Y$, $\mathrm{Cov} = \Sigma(x^*, x^*) - \Sigma(x^*, X)\Sigma^{-1}\Sigma(X, x^*)$.
    The two agree when $A_\infty = \Sigma(x^*, X)\Sigma^{-1}$, i.e. when the kernel that drives training is the
    NNGP kernel itself. That is exactly the case when **only the readout layer is trained**: the NTK of the last
    layer's parameters is $\Sigma$. Training *all* layers uses $\Theta \neq \Sigma$, and the ensemble is a Gaussian
    process that is **not** the posterior of the prior it started from (He, Lakshminarayanan & Teh 2020 add a
    random, untrained function to each network to make it one).

    `ntk_teach.predict.ensemble_predictive` computes $\mu_t$ and $\mathrm{Cov}_t$ for any pair of kernels;
    `infinite_ensemble(..., regime="nngp")` trains the readout only. The next cell checks the claims. Tolerances:
    the two routes to the posterior (an eigendecomposition of $\Sigma$ here, a Cholesky factor in
    `ntk_teach.gp_posterior`) each lose about $\kappa(\Sigma)\,\epsilon \approx 950 \times 2.2\cdot 10^{-16}$; we accept
    $10^{-9}$.""")
nb.code("""
    post = demos.bayes_posterior()                              # ntk_teach.gp_posterior with the NNGP prior
    ntk_inf = demos.ntk_prediction(math.inf)                    # all layers trained, t -> infinity
    readout_inf = demos.ntk_prediction(math.inf, regime="nngp") # readout layer only, t -> infinity
    prior = demos.ntk_prediction(0.0)

    # t = 0: the ensemble is the prior
    assert torch.allclose(prior.mean, torch.zeros_like(prior.mean)) and torch.allclose(prior.cov, k["Kss"], atol=1e-12)
    # t -> infinity, readout only: exactly the Bayesian posterior
    err_mean = float((readout_inf.mean - post.mean).abs().max())
    err_cov = float((readout_inf.cov - post.cov).abs().max())
    print(f"readout-only ensemble vs Bayesian posterior: max |mean diff| {err_mean:.1e}, max |cov diff| {err_cov:.1e}")
    assert err_mean < 1e-9 and err_cov < 1e-9
    # t -> infinity, all layers: passes through the data with zero variance there ...
    at_data = predict.ensemble_predictive(k["T"], k["T"], k["K"], k["K"], k["K"], y_train, math.inf)
    assert torch.allclose(at_data.mean, y_train, atol=1e-10) and float(at_data.std.max()) < 1e-6
    # ... but it is not the posterior
    d_mean = float((ntk_inf.mean - post.mean).abs().max())
    wider = float((ntk_inf.std >= post.std - 1e-12).float().mean())
    print(f"NTK ensemble vs posterior: max |mean diff| {d_mean:.3f}; NTK std >= posterior std at {100 * wider:.0f} % "
          f"of the test inputs")
    assert d_mean > 0.1 and wider > 0.95""")
nb.md(r"""
    The zero variance at the training inputs is checked against $10^{-6}$, not $10^{-10}$: a standard deviation is the
    square root of a variance whose round-off is about $10^{-13}$. On this task the NTK ensemble is **less** certain
    than the Bayesian posterior at 99 % of the test inputs, and its mean is up to 0.4 away from the posterior mean
    (beyond the data). Nothing forces either order in general; what is general is that they differ.""")
nb.demo(
    questions=[
        "At $t \\to \\infty$, where is each ensemble certain and where uncertain?",
        "Move $t$ down. The ensembles at small $t$: whose band is that?",
        "On the right only the readout layer is trained. Does its band end on the dotted posterior band?",
    ],
    static="demos.plot_ensemble_vs_bayes()",
    interactive="""
        view = demos.EnsembleVsBayes.interact()
        view""",
    explanation=r"""
        * Both ensembles are certain **at the training inputs** (every network fits them) and uncertain between and,
          most of all, beyond them. The NTK ensemble's band (left) is wider than the posterior's, and its mean
          differs from the posterior mean beyond the data.
        * At small $t$ both ensembles are the prior: mean 0, band $\pm 2\sqrt{\Sigma(x,x)}$.
        * The readout-only ensemble converges to the posterior exactly (the check above): training the last layer of
          an infinitely wide network by gradient descent from a random start **samples the Bayesian posterior**.
          It gets there slowly: its kernel $\Sigma(X, X)$ has a smallest eigenvalue of $0.011$, against $0.23$ for
          $\Theta$, so it needs $t$ in the thousands (the cell below measures the gap at $t = 100$ and $10^4$).
          Training all layers changes the features (the NTK includes the hidden layers' gradients) and gives a
          different Gaussian process.""",
)
nb.code("""
    # readout only: the slowest mode of Sigma(X, X) (eigenvalue 0.0114) decays like exp(-0.0114 t)
    view.set(t=100.0)
    gap_100 = np.abs(view.demo.mean_lines[1].get_ydata() - post.mean.numpy()).max()
    view.set(t=1e4)
    gap_1e4 = np.abs(view.demo.mean_lines[1].get_ydata() - post.mean.numpy()).max()
    print(f"readout-only mean vs posterior mean: {gap_100:.2e} at t = 100, {gap_1e4:.1e} at t = 10^4")
    assert gap_100 > 1e-3 and gap_1e4 < 1e-9 and not view.errors""")
nb.exercise(
    "6.1",
    task=r"""
        Write the two pieces of the infinite ensemble: `transfer(Theta, Theta_sX, t, eta)` returning
        $A_t = \Theta(x^*, X)\,\Theta^{-1}\big(I - e^{-\eta\Theta t}\big)$ (shape $M \times N$), through the
        eigendecomposition of $\Theta$; and `ensemble_cov(A, K, K_sX, K_ss)` returning the covariance
        $\Sigma(x^*,x^*) + A\,\Sigma(X,X)A^\top - A\,\Sigma(X,x^*) - \Sigma(x^*,X)A^\top$.
        The self-check compares with `ntk_teach.predict` at two times, and recognises the neural-tangents
        convention (an exponent divided by $N$).""",
    stub='''
        def transfer(Theta, Theta_sX, t, eta=1.0):
            # TODO: lam, Q = torch.linalg.eigh(Theta); apply (1 - exp(-eta * lam * t)) / lam to the eigenvalues
            raise NotImplementedError("Exercise 6.1a")


        def ensemble_cov(A, K, K_sX, K_ss):
            # TODO: K_ss + A K A^T - A K_sX^T - K_sX A^T
            raise NotImplementedError("Exercise 6.1b")


        cases = [(k["T"], k["Ts"], 0.5), (k["T"], k["Ts"], 20.0)]
        nt_convention = lambda T, Ts, t, eta=1.0: predict.transfer_matrix(T, Ts, t / T.shape[0], eta=eta)
        _ = checks.check_function("Exercise 6.1a", transfer, reference=predict.transfer_matrix, inputs=cases,
                                  rtol=1e-9, atol=1e-12,
                                  mistakes={"exponent divided by N (neural-tangents' mean-squared-error convention)":
                                            nt_convention})


        def package_cov(t):
            return predict.ensemble_predictive(k["T"], k["Ts"], k["K"], k["Ks"], k["Kss"], y_train, t).cov


        def learner_cov(t):
            return ensemble_cov(predict.transfer_matrix(k["T"], k["Ts"], t), k["K"], k["Ks"], k["Kss"])


        def no_cross_terms(t):
            A = predict.transfer_matrix(k["T"], k["Ts"], t)
            return k["Kss"] + A @ k["K"] @ A.T


        _ = checks.check_function("Exercise 6.1b", learner_cov, reference=package_cov, inputs=[(0.5,), (20.0,)],
                                  rtol=1e-9, atol=1e-12, mistakes={"forgot the cross terms -A K_sX^T - K_sX A^T": no_cross_terms})''',
    hint=r"""
        $\Theta^{-1}(I - e^{-\eta\Theta t}) = Q\,\mathrm{diag}\big((1 - e^{-\eta\lambda_i t})/\lambda_i\big)\,Q^\top$ with
        `lam, Q = torch.linalg.eigh(Theta)`; `-torch.expm1(-x)` computes $1 - e^{-x}$ accurately for small $x$.""",
    solution='''
        # Solution to Exercise 6.1
        def transfer_solution(Theta, Theta_sX, t, eta=1.0):
            lam, Q = torch.linalg.eigh(Theta)
            g = -torch.expm1(-eta * lam * t) / lam
            return Theta_sX @ Q @ torch.diag(g) @ Q.T


        def ensemble_cov_solution(A, K, K_sX, K_ss):
            AKs = A @ K_sX.T
            return K_ss + A @ K @ A.T - AKs - AKs.T


        _ = checks.check_function("Exercise 6.1a (solution)", transfer_solution, reference=predict.transfer_matrix,
                                  inputs=cases, rtol=1e-9, atol=1e-12, strict=True)
        _ = checks.check_function("Exercise 6.1b (solution)",
                                  lambda t: ensemble_cov_solution(transfer_solution(k["T"], k["Ts"], t), k["K"], k["Ks"], k["Kss"]),
                                  reference=package_cov, inputs=[(0.5,), (20.0,)], rtol=1e-9, atol=1e-12, strict=True)''',
)

# ---------------------------------------------------------------------------------------------
nb.section("Finite networks against the infinite ensemble", minutes=12, intro=r"""
    Is any of this true for networks we can train? Jacot et al. (2018, Figure 2) trained a handful of networks of two
    widths and compared them with the 10-90 % band of the limiting Gaussian. We repeat it **at CPU scale** and with
    the slider over the width: the reference network (two hidden layers; their network was deeper), our five
    1-D points instead of their points on a circle, widths $16$ to $256$ instead of up to thousands,
    **16 networks per width** trained by full-batch gradient descent (`ntk_teach.Ensemble` + `ntk_teach.train`, one
    vectorized pass), **200 steps** of size $\eta = 1/\lambda_{max}(\Theta)$. 200 steps leave
    $(1 - \eta\lambda_{min})^{200} \approx 7\,\%$ of the slowest mode, which does not matter: the theory is evaluated
    after the same 200 discrete steps, with $(I - \eta\Theta)^{k}$ in place of $e^{-\eta\Theta t}$.

    **A sharper measure than the band.** The mean of 16 networks has a Monte-Carlo error of a quarter of their
    spread, whatever the width. So we also compare each network with the prediction the theory makes *for that
    network*: $f_0(x^*) + A_{200}\,(Y - f_0(X))$ with its own initial outputs and the analytic NTK. The distance
    (RMS over the test inputs) has two sources, both of relative size $n^{-1/2}$ at large width: the empirical NTK at
    initialization differs from $\Theta$, and it moves during training. The proofs of this rate (Jacot et al. 2018;
    Lee et al. 2019) assume a smooth activation; for ReLU we measure.""")
nb.code("""
    scan = demos.width_scan()      # trains 16 nets at each of the widths 16 ... 256 (the slow cell: ~10 s)
    fit, se = scan["fit"], scan["boot_se"]
    for w, r in zip(scan["widths"], scan["rms"]):
        print(f"width {w:4d}: RMS distance to the own-init infinite-width prediction {r:.4f}")
    print(f"fitted slope {fit.slope:+.3f}, bootstrap standard error over the nets {se:.3f}")
    assert fit.slope + 3 * se < 0, "the distance must shrink with the width"
    assert abs(fit.slope + 0.5) < 3 * se, (fit.slope, se)""")
nb.md(r"""
    **What the check accepts.** The standard error comes from resampling the 16 networks at each width (a bootstrap,
    400 resamples), so it measures the Monte-Carlo uncertainty of the slope. We accept the theory's $-1/2$ within three
    of those standard errors, and require the slope to be negative by at least three. At widths this small the
    slope is not yet the asymptotic one, and it depends on the set-up: measured with 64 networks, 300 steps and
    test inputs inside $[-3, 3]$ only, it was about $-0.35$. The fitted slope and its error are in the figure's legend.""")
nb.demo(
    questions=[
        "At width 16, do the trained networks pass through the training points? Do they agree with each other between them?",
        "Where, along $x$, do finite networks differ most from the infinite-width prediction?",
        "Press play at width 256: does the ensemble stay inside the grey band during the whole training?",
    ],
    static="demos.plot_finite_ensembles()",
    interactive="""
        view = demos.FiniteEnsembles.interact()
        view""",
    explanation=r"""
        * After 200 steps every width nearly fits the five points (at width 256 the largest residual is 0.09: the
          slowest mode keeps 7 %), but narrow networks scatter more between and beyond them.
        * The largest deviations from the infinite-width prediction are **beyond the data** ($|x| > 2.6$; at width 16
          the RMS deviation is 0.17 there against 0.12 between the points), where nothing pins the functions down and
          the initial functions are largest ($\Sigma(x,x)$ grows like $x^2$).
        * At width 256 the 16 networks move like the infinite-width Gaussian process from step 0 (the prior band) to
          step 200: the band narrows at the data first, on the time scale of the large eigenvalues.
        * Right panel: the distance to the own-init prediction shrinks like a power of the width, close to $n^{-1/2}$.
          At width 1024 you would expect it about half of the width-256 value; we stop at 256 to keep the notebook
          under a minute on two cores (each doubling of the width costs four times more).""",
)
nb.code("""
    view.set(width=256)
    ana, run256 = demos.analytic_run(), demos.ensemble_run(256)
    assert np.allclose(view.demo.amean.get_ydata(), ana["mean"][-1]) and not view.errors
    # after 200 steps the widest nets fit the data: largest training residual
    print(f"width 256, step 200: largest |f(x_i) - y_i| over 16 nets {np.abs(run256['train'][-1] - y_train.numpy()).max():.3f}")""")

# ---------------------------------------------------------------------------------------------
nb.section("The minimum-norm view", minutes=10, intro=r"""
    Where in *parameter* space does training end? Take the linearized network
    $f_{lin}(x; w) = f_0(x) + J(x)\,(w - w_0)$ with $J(x) = \partial f(x; w_0)/\partial w$ (a row of $P$ numbers) and
    $J = J(X)$ the $N \times P$ Jacobian on the data. Gradient descent on $L$ updates
    $w_{k+1} = w_k - \eta\,J^\top\,(f_{lin}(X; w_k) - Y)$: **every step is a combination of the rows of $J$**, so
    $w_k - w_0$ never leaves the row space of $J$. The interpolants, $\{w : J(w - w_0) = Y - f_0(X)\}$, form the affine
    set $w^* + \mathrm{null}(J)$ with

    $$w^* = w_0 + J^+\,(Y - f_0(X)),$$

    the only interpolant with $w^* - w_0$ in the row space. Since the row space is orthogonal to the null space,
    $\|w - w_0\|^2 = \|w^* - w_0\|^2 + \|w - w^*\|^2$ for every interpolant $w$ (Pythagoras): **gradient descent ends
    at the interpolant closest to where it started.** The error is explicit,
    $w_k - w^* = (I - \eta J^\top J)^k (w_0 - w^*)$, and in function space $f_{lin}(x^*; w^*) = f_0(x^*) +
    \hat\Theta(x^*, X)\hat\Theta^{-1}(Y - f_0(X))$ with the empirical NTK $\hat\Theta = J J^\top$: section 1's formula.

    `demos.min_norm_run()` trains `ntk_teach.linearize(MLP(32))` with `ntk_teach.train` for 250 steps of
    $\eta = 1.5/\lambda_{max}(JJ^\top)$, twice: from $w_0$, and from $w_0 + c\,n$ with $n$ a unit vector in the null
    space of $J$ (the same outputs **on the training inputs**, different parameters; $n$ is the null direction that
    changes the output at $x = 2$ fastest, and $c$ moves it by $0.6$). The checks: the distance to $w^*$
    follows the formula above; the null-space component of run 1 stays zero; run 2 is run 1 shifted by $c\,n$ at every
    step, so its function differs by $c\,J(x^*)\,n$ at every step. All are exact up to round-off, which accumulates
    to about $\|w_0\|\,\epsilon\,\sqrt{k} \approx 10^{-14}$ relative to $\|w^* - w_0\|$; we accept $10^{-10}$.""")
nb.code("""
    run = demos.min_norm_run()                      # two runs of 250 steps on the linearized network (~10 s)
    d = float((run["w_star"] - run["w0"]).norm())
    dist = (run["w1"] - run["w_star"]).norm(dim=1)
    assert torch.allclose(dist, run["predicted_distance"], rtol=0, atol=1e-10 * d)
    null_part = ((run["w1"] - run["w0"]) @ run["n"]).abs().max()
    assert float(null_part) < 1e-10 * d
    shift = run["w2"] - run["w1"] - run["c"] * run["n"]
    assert float(shift.norm(dim=1).max()) < 1e-10 * d
    # ... so the two functions differ by c J(x*) n at every step: equal on the data, different elsewhere
    assert torch.allclose(run["out2"] - run["out1"], (run["c"] * run["Jn_test"]).expand_as(run["out1"]), atol=1e-10 * d)
    print(f"|w* - w0| = {d:.3f};  after {run['steps'][-1]} steps |w_k - w*| / |w* - w0| = {float(dist[-1]) / d:.1e} "
          f"(theory {float(run['predicted_distance'][-1]) / d:.1e}); largest null-space component "
          f"{float(null_part) / d:.1e}")

    # Pythagoras: any other interpolant w* + s v (v in the null space) is farther from w0
    for s in (0.1, 1.0):
        other = run["w_star"] + s * run["n"]
        assert torch.allclose(run["J"] @ (other - run["w0"]), y_train - run["f0"], atol=1e-10)   # it interpolates too
        assert math.isclose(float((other - run["w0"]).norm()) ** 2, d ** 2 + s ** 2, rel_tol=1e-10)""")
nb.demo(
    questions=[
        "Both runs start with the same outputs on the five training inputs. Do they take the same gradient steps?",
        "Do the two runs end at the same parameters? At the same function?",
        "What do the jumps in the functions on the right come from?",
    ],
    static="demos.plot_min_norm()",
    interactive="""
        view = demos.MinNorm.interact()
        view""",
    explanation=r"""
        * Yes: a shift along the null space of $J$ changes no output on the training inputs, and the gradient
          $J^\top(f_{lin}(X) - Y)$ depends on those outputs only, so both runs take identical steps.
        * No, and no: each ends at the interpolant closest to **its** start, $w^*$ and $w^* + c\,n$. Both fit the data
          exactly, but away from it they differ by $c\,J(x)\,n$ at every step: the part of the starting point that
          training never sees. Gradient descent has an *implicit bias*: among all the interpolants it picks the one
          of minimum distance $\|w - w_0\|$; in function space, $f_0$ plus the minimum-RKHS-norm interpolant of the
          residual with the NTK. What it generalizes to therefore depends on the initialization, which is why the
          ensemble of section 2 has a variance.
        * The linearized model is linear in $w$ but not smooth in $x$: $J(x)$ contains ReLU's derivative, a step
          function, so $f_{lin}$ jumps wherever a hidden unit switches. The jumps shrink as the width grows (and the
          middle panel's straight line on a log scale is the slowest eigenvalue of $JJ^\top$ at work).""",
)
nb.code("""
    view.set(step=demos.MIN_NORM_STEPS)
    gap = view.demo.f2.get_ydata() - view.demo.f1.get_ydata()     # the two functions differ by c J(x) n ...
    assert np.allclose(gap, run["c"] * run["Jn_test"].numpy(), atol=1e-10) and not view.errors
    x_probe = int(np.argmin(np.abs(x_test.numpy() - 2.0)))
    print(f"run 2 - run 1 at x = 2: {gap[x_probe]:.3f}; at the training inputs: "
          f"{float((run['J'] @ (run['w2'][-1] - run['w1'][-1])).abs().max()):.1e}")""")
nb.exercise(
    "6.2",
    task=r"""
        Write `min_norm_solution(J, f0, y, w0)`: the interpolant of the linearized model closest to $w_0$,
        $w_0 + J^+(y - f_0)$. Use `torch.linalg.pinv`, or solve with the small $N \times N$ matrix $JJ^\top$
        ($J^+ = J^\top (J J^\top)^{-1}$ when $J$ has full row rank).""",
    stub='''
        def min_norm_solution(J, f0, y, w0):
            # TODO: w0 + J^+ (y - f0)
            raise NotImplementedError("Exercise 6.2")


        def reference(J, f0, y, w0):
            return w0 + predict.min_norm_step(J, y - f0)


        def one_gradient_step(J, f0, y, w0):
            return w0 + J.T @ (y - f0)


        gen = torch.Generator().manual_seed(6)
        small = (torch.randn(3, 8, generator=gen, dtype=torch.float64), torch.zeros(3, dtype=torch.float64),
                 torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), torch.randn(8, generator=gen, dtype=torch.float64))
        cases = [small, (run["J"], run["f0"], y_train, run["w0"])]
        _ = checks.check_function("Exercise 6.2", min_norm_solution, reference=reference, inputs=cases, rtol=1e-8,
                                  atol=1e-10, mistakes={"J^T (y - f0) is one gradient step, not the pseudo-inverse":
                                                        one_gradient_step})''',
    hint=r"""
        `torch.linalg.pinv(J) @ (y - f0)`; or `J.T @ torch.linalg.solve(J @ J.T, y - f0)`.""",
    solution='''
        # Solution to Exercise 6.2
        def min_norm_solution_solution(J, f0, y, w0):
            return w0 + J.T @ torch.linalg.solve(J @ J.T, y - f0)


        _ = checks.check_function("Exercise 6.2 (solution)", min_norm_solution_solution, reference=reference,
                                  inputs=cases, rtol=1e-8, atol=1e-10, strict=True)''',
)

# ---------------------------------------------------------------------------------------------
nb.section("Generalization: learning curves, early stopping and ridge", minutes=14, intro=r"""
    **How fast does the test error fall?** Train on $n$ evenly spaced points of $[-3, 3]$ (spacing $h = 6/(n-1)$)
    with targets $\sin x$, and measure the mean squared error against $\sin x$ on 200 test points. Section 1 showed
    that NTK regression is locally like linear interpolation (the kernel has a kink $-c|x - x'|$ on its diagonal).
    Linear interpolation between $a$ and $b = a + h$ errs by $f''(\xi)(x - a)(b - x)/2 = O(h^2)$, so the
    **noiseless** test MSE should fall like $h^4 \propto n^{-4}$. The NNGP kernel's kink is weaker
    ($|x - x'|^3$: it is smoother), so the Bayesian posterior mean interpolates like a cubic spline and falls faster.

    **With label noise** of variance $\sigma^2$ the interpolant ($t \to \infty$) passes the noise on: if it were
    exactly piecewise linear, a test point at fraction $s$ of a gap would see $(1-s)\epsilon_a + s\,\epsilon_b$, with
    variance $\sigma^2\big((1-s)^2 + s^2\big)$, on average $\tfrac23\sigma^2$, **whatever $n$**: the error stops
    falling ("tempered" overfitting, Mallinar et al. 2022). `predict.noise_gain` computes the exact factor
    $\|A_\infty\|_F^2/M$ for the NTK; it is printed below (close to $2/3$).""")
nb.code("""
    lc0 = demos.learning_curves(0.0)
    print("n:", lc0["n"])
    print("noiseless NTK regression, test MSE:", np.array2string(lc0["ntk_mean"], precision=2))
    drift = lc0["ntk_mean"] * lc0["n"] ** 4
    print("n^4 * MSE:", np.round(drift, 2))
    slope = lc0["ntk_mean_fit"].slope
    print(f"slope over n >= 32: {slope:+.3f} (theory -4)")
    assert abs(slope + 4) < 0.15

    gains = demos.noise_gains()
    print("noise gain ||A||^2 / M of NTK interpolation:", np.round(gains, 3), "(piecewise linear: 0.667)")
    for sigma in (0.1, 0.3):
        lc = demos.learning_curves(sigma)
        sel = lc["n"] >= 32
        ratio = lc["raw"]["ntk_mean"][sel] / sigma ** 2 - gains[sel][:, None]   # measured minus predicted, per draw
        se = ratio.std(ddof=1) / np.sqrt(ratio.size)
        print(f"sigma = {sigma}: test MSE / sigma^2 - noise gain = {ratio.mean():+.3f} +- {se:.3f} (n >= 32, "
              f"{ratio.size} runs); slope {lc['ntk_mean_fit'].slope:+.2f}; Bayesian mean slope {lc['nngp_mean_fit'].slope:+.2f}")
        assert abs(ratio.mean()) < 3 * se
        assert lc["nngp_mean"][-1] < lc["ntk_mean"][-1] / 3   # with the noise level known, Bayes keeps improving""")
nb.md(r"""
    **The tolerances.** Noiseless: the fitted slope differs from $-4$ by the drift of $n^4\,\mathrm{MSE}$ printed
    above, a $1/n$ correction (the two outermost gaps behave differently); between $n = 32$ and $256$ it changes by
    12 %, which moves the slope by $\ln 1.12 / \ln 8 \approx 0.05$; we accept $|{\rm slope} + 4| < 0.15$. Noisy: the
    measured MSE is a quadratic form of the random labels, so we compare it with its expectation
    $\sigma^2\,\|A_\infty\|_F^2/M$ (plus the noiseless error, below $10^{-5}$ here) within three standard errors
    of the 16 runs (4 label draws at each of 4 sizes).""")
nb.demo(
    questions=[
        "Without noise, which is better: the NTK regression (the mean of the trained ensemble) or one trained network?",
        "Switch the noise to 0.1, then 0.3. Which curves flatten, and at what height?",
        "Why does the Bayesian posterior mean keep improving with noise?",
    ],
    static="demos.plot_learning_curves()",
    interactive="""
        view = demos.LearningCurves.interact()
        view""",
    explanation=r"""
        * The ensemble mean wins: one network from the ensemble adds its variance (section 2), which falls more
          slowly than the squared bias (slope about $-3$ instead of $-4$). Averaging an ensemble of trained networks
          is worth it.
        * The interpolating curves (both NTK ones) flatten at about $\tfrac23\sigma^2$ (the dotted line is $\sigma^2$):
          more data does not help an interpolant average out the noise on the labels.
        * The Bayesian posterior with the right noise level is not an interpolant: it averages nearby labels, so its
          error keeps falling (slope about $-0.8$). Gradient descent can do the same, by stopping early (next).""",
)
nb.code("""
    view.set(noise=0.3)
    assert not view.errors""")

nb.md(r"""
    ### Early stopping is a ridge

    The ensemble mean at time $t$ is $\Theta(x^*, X)\,Q\,\mathrm{diag}\big(g_t(\lambda_i)\big)\,Q^\top Y$ with the
    **spectral filter** $g_t(\lambda) = (1 - e^{-\eta\lambda t})/\lambda$; kernel ridge regression with ridge $r$,
    $\Theta(x^*, X)(\Theta + rI)^{-1}Y$, has the filter $1/(\lambda + r)$. Both keep modes with large $\lambda$
    ($g \approx 1/\lambda$) and damp modes with small $\lambda$. With the calibration $r = 1/(\eta t)$ and
    $x = \eta\lambda t$, their ratio is

    $$\frac{g_t(\lambda)}{1/(\lambda + r)} = (1 - e^{-x})\Big(1 + \frac1x\Big) \in [1,\ 1.2985] \quad \text{for every } x > 0:$$

    the lower bound is $1 - e^{-x} \ge x/(1 + x)$, i.e. $e^{x} \ge 1 + x$; the upper bound is the maximum, at
    $x = 1.793$. So **stopping at time $t$ regularizes like a ridge of $1/(\eta t)$**, mode by mode within 30 %
    (Ali, Kolter & Tibshirani 2019 prove that the resulting risks are within a factor 1.69). The check below
    computes the two coefficient vectors by independent routes (`predict.transfer_matrix` and
    `ntk_teach.kernel_regression`, both with the identity as "test kernel", which returns the coefficients) on 20 noisy
    points, and compares their ratio in the eigenbasis with the formula, to $10^{-8}$ (the smallest eigenvalue,
    $0.003$, makes the coefficients up to $10^{4}$ times larger than the data).""")
nb.code("""
    es = demos.early_stopping_data()
    T, yn = es["T"], es["y"]
    lam_es, Q = torch.linalg.eigh(T)
    I = torch.eye(len(yn), dtype=torch.float64)
    worst = 0.0
    for t in demos.ES_TIMES:
        c_gd = Q.T @ (predict.transfer_matrix(T, I, t) @ yn)                              # Q^T g_t(Theta) y
        c_ridge = Q.T @ ntk_teach.kernel_regression(T, I, yn, ridge=predict.matched_ridge(t))  # Q^T (Theta + I/t)^-1 y
        ratio = c_gd / c_ridge
        x = lam_es * t
        assert torch.allclose(ratio, -torch.expm1(-x) * (1 + 1 / x), rtol=1e-8)
        assert float(ratio.min()) >= 1 - 1e-8 and float(ratio.max()) <= predict.FILTER_RATIO_MAX + 1e-8
        worst = max(worst, float(ratio.max()))
    print(f"largest ratio of the filters over all modes and times: {worst:.4f} (bound 1.2985)")
    best_t = demos.ES_TIMES[es["err_gd"].argmin()]
    print(f"test MSE: interpolation {es['err_inf']:.4f}; best early stopping {es['err_gd'].min():.4f} (t = {best_t:.3g}); "
          f"best ridge {es['err_ridge'].min():.4f}")
    assert es["err_gd"].min() < 0.8 * es["err_inf"] and es["err_ridge"].min() < 0.8 * es["err_inf"]""")
nb.md(r"""
    On these 20 noisy points (noise $\sigma = 0.3$) both the best stopping time and the best ridge beat the
    interpolant by more than 20 % (the assert), and they are within 3 % of each other. That last number is a
    measurement on one data set, not a theorem: the theorem is the mode-by-mode bound above.""")
nb.demo(
    questions=[
        "At $t = 0.1$, which eigen-directions of the data does the early-stopped prediction use?",
        "Slide $t$ from $0.01$ to $10^4$. Describe the test error: monotone, or not?",
        "Where on the right panel do you see overfitting at large $t$?",
    ],
    static="demos.plot_early_stopping_vs_ridge()",
    interactive="""
        view = demos.EarlyStoppingVsRidge.interact()
        view""",
    explanation=r"""
        * Only eigenvalues above about $1/t = 10$ (left of the dashed line the filter is flat, $\approx t$): two or three
          smooth, global modes. The prediction is a smooth curve through the cloud of points.
        * The error falls, reaches its minimum near $t \approx 5$, then rises to the interpolation level as the small
          eigenvalues (the wiggly modes that fit the noise) are learned: the U-shape of early stopping. The ridge curve,
          plotted against $1/r$, follows it closely.
        * At $t = 10^4$ the prediction passes through every noisy point, with kinks between them: that is the
          interpolant of section 1, fitting the noise.""",
)
nb.code("""
    view.set(t=1e4)
    assert not view.errors""")
nb.think(r"""
    A wide network is trained to zero training loss on noisy labels, and a colleague says "it cannot generalize,
    it memorized the noise". What does this notebook say?""", answer=r"""
    In the kernel regime it does memorize the noise, but the damage is bounded: interpolation passes on only a
    fraction of the noise variance (about $\tfrac23\sigma^2$ here, independent of $n$), while the bias keeps
    falling. Stopping earlier (or a ridge) removes most of that fraction. Whether memorizing is harmless, mild or
    catastrophic depends on the kernel and the dimension (Mallinar et al. 2022): in 1-D with the ReLU NTK it is
    mild ("tempered").""")

# ---------------------------------------------------------------------------------------------
nb.summary([
    "An infinitely wide network trained by gradient flow is $f_0$ plus kernel regression with the NTK on the "
    "initial residual: $f_t(x^*) = f_0(x^*) + \\Theta(x^*,X)\\Theta^{-1}(I - e^{-\\eta\\Theta t})(Y - f_0(X))$ "
    "(no $1/N$ with our loss; neural-tangents' exponent has one).",
    "Over random initializations this is a Gaussian process with mean $A_tY$ and covariance "
    "$\\Sigma^{**} + A_t\\Sigma A_t^\\top - A_t\\Sigma^{X*} - \\Sigma^{*X}A_t^\\top$: certain at the data, "
    "uncertain beyond it, and **not** the Bayesian posterior unless only the readout layer is trained.",
    "Finite ReLU networks trained by gradient descent approach the infinite-width prediction as the width grows; "
    "at widths 16-256 the distance falls roughly like $n^{-1/2}$.",
    "Gradient descent on the linearized network ends at $w_0 + J^+(y - f_0)$, the interpolant closest to its start: "
    "an implicit bias toward minimum norm, and the reason the prediction off the data depends on the initialization.",
    "NTK regression of a smooth 1-D target on a grid errs like $n^{-4}$; with label noise the interpolant's error "
    "stalls near $\\tfrac23\\sigma^2$. Stopping at time $t$ acts like a ridge $1/(\\eta t)$, mode by mode within 30 %.",
])
nb.references([
    ("A. Jacot, F. Gabriel, C. Hongler (2018). Neural Tangent Kernel: Convergence and Generalization in Neural "
     "Networks. NeurIPS (Figure 2: finite networks against the limiting Gaussian)", "https://arxiv.org/abs/1806.07572"),
    ("J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein, J. Pennington (2019). Wide Neural "
     "Networks of Any Depth Evolve as Linear Models Under Gradient Descent. NeurIPS (the infinite ensemble's mean and "
     "covariance)", "https://arxiv.org/abs/1902.06720"),
    ("J. Lee, Y. Bahri, R. Novak, S. Schoenholz, J. Pennington, J. Sohl-Dickstein (2018). Deep Neural Networks as "
     "Gaussian Processes. ICLR", "https://arxiv.org/abs/1711.00165"),
    ("R. Novak et al. (2020). Neural Tangents: Fast and Easy Infinite Neural Networks in Python. ICLR; "
     "`predict.gradient_descent_mse_ensemble` and the cookbook notebook",
     "https://github.com/google/neural-tangents/blob/main/notebooks/neural_tangents_cookbook.ipynb"),
    ("B. He, B. Lakshminarayanan, Y. W. Teh (2020). Bayesian Deep Ensembles via the Neural Tangent Kernel. NeurIPS",
     "https://arxiv.org/abs/2007.05864"),
    ("A. Ali, J. Z. Kolter, R. Tibshirani (2019). A Continuous-Time View of Early Stopping for Least Squares. "
     "AISTATS", "https://arxiv.org/abs/1810.10082"),
    ("N. Mallinar, J. Simon, A. Abedsoltan, P. Pandit, M. Belkin, P. Nakkiran (2022). Benign, Tempered, or "
     "Catastrophic: A Taxonomy of Overfitting. NeurIPS", "https://arxiv.org/abs/2207.06569"),
    ("A. Geifman, A. Yadav, Y. Kasten, M. Galun, D. Jacobs, R. Basri (2020). On the Similarity between the Laplace "
     "and Neural Tangent Kernels. NeurIPS", "https://arxiv.org/abs/2007.01580"),
])

if __name__ == "__main__":
    print("wrote", nb.write())
