"""Builds notebooks/02_wide_networks_are_gaussian_processes.ipynb
(run: .venv/bin/python notebooks/builders/build_02_wide_networks_are_gaussian_processes.py)."""
from ntk_teach.nbtools import NotebookBuilder

nb = NotebookBuilder(
    "02_wide_networks_are_gaussian_processes",
    title="Wide random networks are Gaussian processes (the NNGP)",
    summary="At initialization, a wide network's output is a Gaussian process whose covariance a short "
            "recursion computes; watch random networks turn into GP draws as the width grows.",
    objectives=[
        "write the reference network layer by layer (pre-activations, the $1/\\sqrt{n_l}$ scaling, $b_{std}$) "
        "and count its parameters;",
        "explain, with the central limit theorem, why the output at one input becomes Gaussian, and predict "
        "that its excess kurtosis falls like $1/n$;",
        "compute the NNGP kernel $\\Sigma^{l}$ layer by layer with the arc-cosine formula and check it against "
        "Monte Carlo;",
        "predict how depth and $b_{std}$ change the correlation between two inputs.",
    ],
    prerequisites=["01_foundations"],
    minutes=60,
    demo_module="nb02_wide_networks",
    extra_imports="""
        import inspect
        import math
        import numpy as np
        import torch
        from ntk_teach.kernels import relu_expectations""",
)

# ---------------------------------------------------------------------------------------------
nb.section("The network, written out", minutes=8, intro="""
    The reference network of the course has a 1-D input $x$ ($n_0 = 1$), two hidden ReLU layers of width
    $n_1 = n_2 = n$ and one output. In the **NTK parameterization** (Jacot et al. 2018) every parameter is
    drawn from $N(0, 1)$ and the scale sits in the forward pass:

    $$h^{1} = \\frac{w_{std}}{\\sqrt{n_0}} W^{1} x + b_{std}\\, b^{1}, \\qquad
      a^{l} = \\phi(h^{l}), \\qquad
      h^{l+1} = \\frac{w_{std}}{\\sqrt{n_l}} W^{l+1} a^{l} + b_{std}\\, b^{l+1}, \\qquad
      f(x;\\theta) = h^{3}.$$

    $\\phi = \\mathrm{ReLU}$, $w_{std} = 1$, and $b_{std} = 0.1$ (Jacot's $\\beta$) unless said otherwise.
    The factor $1/\\sqrt{n_l}$ keeps every pre-activation of order one however wide the layer: a sum of
    $n_l$ independent terms of size one, divided by $\\sqrt{n_l}$. That is the central limit theorem's scaling,
    and it is why a limit exists at all. (In the *standard* parameterization the same factor is folded into
    the variance of $W$; at initialization the two give the same random functions.)

    Here is the forward pass of `ntk_teach.MLP`, the code every notebook uses:""")
nb.code("""
    print(inspect.getsource(ntk_teach.MLP.forward))""")
nb.md("""
    Parameters: layer $l$ has an $n_l \\times n_{l-1}$ weight matrix and $n_l$ biases, so the reference
    network has $P = (1 + 1)n + (n + 1)n + (n + 1) = n^2 + 4n + 1$ parameters; for $n = 1000$ about a million.""")
nb.code("""
    for n in (1, 10, 100, 1000):
        P = ntk_teach.MLP(n, seed=0).num_params
        assert P == n**2 + 4 * n + 1, (n, P)
        print(f"width {n:5d}: {P:>9,d} parameters")""")

# ---------------------------------------------------------------------------------------------
nb.section("A gallery of random networks", minutes=8, intro="""
    Draw 100 networks at initialization and plot them on $[-4, 4]$. The dashed lines are $\\pm 2$ standard
    deviations of the infinitely wide network, $\\pm 2\\sqrt{\\Sigma(x, x)}$, computed in section 4.""")
nb.demo(
    questions=[
        "At width 1, what do the functions look like? How many kinks can a width-1 ReLU network have?",
        "As the width grows, does the *spread* of the functions grow, shrink, or settle?",
        "With $b_{std} = 0.1$ every function looks like two straight lines meeting near $x = 0$. Why? "
        "What changes with $b_{std} = 1$?",
    ],
    static="demos.plot_gallery()",
    interactive="gallery = demos.Gallery.interact()\ngallery",
    explanation="""
        A first-layer ReLU unit $\\mathrm{relu}(w_{std} W_j x + b_{std} b_j)$ has its kink at
        $x = -b_{std} b_j / (w_{std} W_j)$. With $b_{std} = 0.1$ these kinks sit within about $\\pm 0.1$ of 0,
        so in one dimension every network is nearly linear on each side of the origin; with $b_{std} = 1$ the
        kinks spread over the plot and the functions wiggle. The spread of the functions *settles* at the
        dashed band: the variance of the output has a finite limit thanks to the $1/\\sqrt{n}$ scaling.
        Narrow networks are non-Gaussian: many outputs near 0 (dead ReLUs) and a few large ones.""",
)
nb.code("""
    # Claim: wide networks stay in the 2-sigma band about 95.4 % of the time, as Gaussian values do.
    # 100 nets x 121 strongly correlated points: the fraction varies by a few percent from draw to draw,
    # so we accept 90-99 %.
    for b in demos.B_CHOICES:
        frac = demos.band_fraction(1024, b)
        print(f"b_std = {b}: {100 * frac:.1f} % of the values of 100 nets of width 1024 inside the band")
        assert 0.90 < frac < 0.99, frac""")

# ---------------------------------------------------------------------------------------------
nb.section("The central limit theorem at work", minutes=12, intro="""
    Fix one input, $x_0 = 1$, and look at $f(x_0)$ over many random networks. Given the last hidden layer,
    the output $f = \\frac{w_{std}}{\\sqrt{n}} \\sum_i W_i a_i + b_{std} b$ is a sum of independent Gaussians,
    so it is **exactly** Gaussian with a *random* variance

    $$s^2 = \\frac{w_{std}^2}{n} \\sum_{i=1}^{n} a_i(x_0)^2 + b_{std}^2 .$$

    The output is a *Gaussian scale mixture*, $f = s z$ with $z \\sim N(0, 1)$, and all of its
    non-Gaussianity comes from the randomness of $s^2$. But $s^2$ is an average of $n$ independent terms, so
    by the law of large numbers it concentrates: $\\mathrm{Var}(s^2) \\propto 1/n$. For a scale mixture the
    excess kurtosis is exactly $3\\,\\mathrm{Var}(s^2) / \\mathbb{E}[s^2]^2$, so it falls like $1/n$: on
    log-log axes, slope $-1$. (For ReLU the moments of $s^2$ even have an exact recursion, the black line;
    see `ntk_teach.sampling.relu_output_excess_kurtosis`.)""")
nb.demo(
    questions=[
        "At width 1 the histogram has a sharp peak at 0. Where does it come from?",
        "How wide must the network be before you cannot tell the histogram from the Gaussian by eye?",
        "Why are the open squares (the plain sample kurtosis) noisy at large width while the filled dots are not?",
    ],
    static="demos.plot_clt()",
    interactive="clt = demos.CLT.interact()\nclt",
    explanation="""
        The peak is the probability that every ReLU of a layer is off, which makes the output just the bias.
        The sample kurtosis of 20 000 Gaussian values has a standard error of $\\sqrt{24/20000} \\approx 0.035$,
        larger than the true excess kurtosis beyond width ~100; the filled dots estimate $\\mathrm{Var}(s^2)$
        instead, which is far less noisy: that is the scale-mixture identity at work.""",
)
nb.md("""
    **The checks.** The Monte Carlo estimate must agree with the exact formula at every width within 4 of its
    standard errors. The relative standard error of a variance estimated from $S$ samples is
    $\\sqrt{(m_4/\\sigma^4 - 1)/S}$ ($m_4$ the fourth central moment of $s^2$, estimated from the same
    samples): about 1 % for wide networks, where $s^2$ is nearly Gaussian, and several % for the heavy-tailed
    narrow ones. The fitted slope over
    widths 16 to 1024 is $-1$ up to the $1/n^2$ correction that the exact formula also has, so we compare
    the two fitted slopes (they must agree within 4 standard errors) and require the exact slope within
    0.05 of $-1$.""")
nb.code("""
    t = demos.kurtosis_table()
    rel = np.abs(t["mixture"] / t["exact"] - 1)
    print("relative difference Monte Carlo vs exact, by width:", np.round(rel, 3))
    print("relative standard errors:                          ", np.round(t["rel_se"], 3))
    assert np.all(rel < 4 * t["rel_se"]), rel / t["rel_se"]
    fit, fit_exact = t["fit_mixture"], t["fit_exact"]
    print(fit.label("Monte Carlo"), "|", fit_exact.label("exact formula"))
    assert abs(fit.slope - fit_exact.slope) < 4 * fit.stderr + 1e-3
    assert abs(fit_exact.slope + 1) < 0.05""")
nb.think(
    "The input-layer pre-activation $h^1_j(x_0) = w_{std} W_j x_0 + b_{std} b_j$ is exactly Gaussian for every "
    "width. Why is $f(x_0)$ of a *one*-hidden-layer network already non-Gaussian at finite width, then?",
    answer="Because the output adds up $n$ *non-Gaussian* terms $W_i\\,\\mathrm{relu}(h^1_i)$: products of "
           "Gaussians are not Gaussian. Only their normalized sum becomes Gaussian, at rate $1/n$ in the kurtosis.")

# ---------------------------------------------------------------------------------------------
nb.section("The covariance recursion", minutes=15, intro="""
    Wide networks are Gaussian processes (Neal 1996; Lee et al. 2018; Matthews et al. 2018). Which GP? Its
    covariance follows layer by layer. For the input layer, with $W^1_j, b^1_j \\sim N(0, 1)$:

    $$\\Sigma^{1}(x, x') = \\mathbb{E}[h^1_j(x) h^1_j(x')] = \\frac{w_{std}^2}{n_0}\\, x \\cdot x' + b_{std}^2 .$$

    For the next layers, the units $h^{l}_i$ become independent Gaussian processes with covariance
    $\\Sigma^{l}$ as the widths grow, so the average over $n_l$ units in $h^{l+1}$ becomes an expectation:

    $$\\Sigma^{l+1}(x, x') = w_{std}^2\\, \\mathbb{E}_{(u, v) \\sim N(0, \\Lambda)}[\\phi(u)\\phi(v)] + b_{std}^2,
      \\qquad \\Lambda = \\begin{pmatrix} \\Sigma^l(x, x) & \\Sigma^l(x, x') \\\\ \\Sigma^l(x', x) & \\Sigma^l(x', x') \\end{pmatrix}.$$

    For ReLU the Gaussian integral has a closed form, the **arc-cosine kernel** (Cho & Saul 2009). Write
    $u = \\sqrt{q_1}\\, z_1$ and $v = \\sqrt{q_2}\\,(\\cos t\\, z_1 + \\sin t\\, z_2)$ with
    $\\cos t = \\Sigma^l(x, x') / \\sqrt{q_1 q_2}$: the integral over the wedge of the plane where both are positive
    gives

    $$\\mathbb{E}[\\mathrm{relu}(u)\\,\\mathrm{relu}(v)] = \\frac{\\sqrt{q_1 q_2}}{2\\pi}\\big(\\sin t + (\\pi - t)\\cos t\\big).$$

    Check the two ends: $t = 0$ ($u = v$) gives $q/2 = \\mathbb{E}[\\mathrm{relu}(u)^2]$, and $t = \\pi$ ($v = -u$)
    gives 0, since then one of the two is always off. `ntk_teach.kernel_recursion` evaluates every layer:""")
nb.code("""
    x = torch.tensor([-2.0, 0.5, 1.0], dtype=torch.float64)
    layers = ntk_teach.kernel_recursion(x, depth=2, b_std=0.1)
    for l, s in enumerate(layers.sigma, start=1):
        print(f"Sigma^{l} =\\n{s.numpy().round(4)}")
    # the two ends of the arc-cosine formula
    q = torch.tensor([[2.0]], dtype=torch.float64)
    e_same, _ = relu_expectations(q, q, q)          # u = v
    e_opp, _ = relu_expectations(q, q, -q)          # v = -u
    assert torch.allclose(e_same, q / 2, rtol=1e-12) and abs(float(e_opp)) < 1e-15
    # the output covariance of the reference network is Sigma^3
    assert torch.allclose(layers.sigma[-1], ntk_teach.analytic_nngp(x), rtol=1e-14)""")
nb.demo(
    questions=[
        "$\\Sigma^1$ is $x x' + b_{std}^2$: what does its heatmap look like, and what does ReLU do to it?",
        "Where is the output variance $\\Sigma^3(x, x)$ largest, and why?",
    ],
    static="demos.plot_recursion()",
    interactive="recursion = demos.Recursion.interact()\nrecursion",
    explanation="""
        $\\Sigma^1$ is a saddle (positive where $x, x'$ have the same sign). ReLU keeps only positive parts:
        each hidden unit is on for one sign of $x$ (when $b_{std}$ is small), so inputs of opposite signs
        share few active units and their covariance drops to nearly $b_{std}^2$. The variance grows like $x^2$:
        a ReLU network is positively homogeneous when the biases are small.""",
)
nb.md("""
    **Monte Carlo against the formula.** Given its hidden layers, one network's output is Gaussian with
    covariance $C(x, x') = \\frac{w_{std}^2}{n} a^2(x) \\cdot a^2(x') + b_{std}^2$ (`ntk_teach.montecarlo.empirical_nngp`).
    That is an average over $n$ units, so it fluctuates around $\\Sigma$ by $O(n^{-1/2})$; its mean is off by
    only $O(1/n)$. The right panel fits the root-mean-square relative deviation over 24 seeds per width.""")
nb.demo(
    questions=[
        "At width 16, where in the $(x, x')$ plane is the difference largest?",
        "By what factor should the deviation shrink when the width grows 4-fold?",
    ],
    static="demos.plot_covariance_vs_width()",
    interactive="cov = demos.CovarianceVsWidth.interact()\ncov",
    explanation="""
        The difference is largest where $\\Sigma$ itself is large (large $|x|$, same sign): relative errors are
        what shrink uniformly. A 4-fold width gives a $\\sqrt{4} = 2$-fold smaller deviation: slope $-1/2$.""",
)
nb.md("""
    **The check.** The slope is fitted by weighted least squares with standard errors propagated from the
    24 seeds per width (`WidthSweep.fit`); the theory says $-1/2$, and we accept it within 4 standard errors
    (about $\\pm 0.1$).""")
nb.code("""
    fit = demos.covariance_sweep().fit()
    print(fit.label("deviation vs width"))
    assert abs(fit.slope + 0.5) < 4 * fit.stderr, fit""")

# ---------------------------------------------------------------------------------------------
nb.section("GP samples beside random networks", minutes=7, intro="""
    If wide networks *are* a Gaussian process, draws from the GP with the analytic kernel should be
    indistinguishable from random networks. (The GP draws use a Cholesky factor of $\\Sigma$ with a jitter of
    $10^{-10}$ times its mean diagonal, added only where the factorisation needs it.)""")
nb.demo(
    questions=["Which panel is the networks? Could you tell without the titles?"],
    static="demos.plot_gp_vs_nets()",
    interactive="gp = demos.GPvsNets.interact()\ngp",
    explanation="""
        You cannot: the functions have the same smoothness, the same spread growing with $|x|$, the same
        typical number of wiggles. The next cell makes "you cannot" quantitative.""",
)
nb.md("""
    **A quantitative check.** Take $S = 500$ random networks of width 512 and $S = 500$ GP draws, on 41
    inputs in $[-3, 3]$, and compare each sample covariance with $\\Sigma$. For Gaussian data the expected
    relative Frobenius error of a sample covariance is $\\sqrt{(1 + \\mathrm{tr}(\\Sigma)^2 / \\|\\Sigma\\|_F^2)/S}$
    (Wishart moments). Both must be within twice that; the networks' excess over it, an $O(1/n)$ bias, is tiny.""")
nb.code("""
    from ntk_teach.sampling import sample_mlp_outputs
    grid = demos.COV_GRID
    K = ntk_teach.analytic_nngp(grid)
    S = 500
    nets = sample_mlp_outputs(grid, width=512, n_nets=S, seed=11)
    gps = ntk_teach.sample_gp(K, S, seed=12)
    expected = demos.covariance_sampling_error(K, S)
    d_net = float(((nets.T @ nets) / S - K).norm() / K.norm())
    d_gp = float(((gps.T @ gps) / S - K).norm() / K.norm())
    print(f"relative covariance error: networks {d_net:.3f}, GP draws {d_gp:.3f}, Gaussian theory {expected:.3f}")
    assert d_net < 2 * expected and d_gp < 2 * expected""")

# ---------------------------------------------------------------------------------------------
nb.section("Depth and bias reshape the kernel", minutes=7, intro="""
    Run the recursion deeper. The correlation $\\rho^l(x, x') = \\Sigma^l(x, x') / \\sqrt{\\Sigma^l(x, x)\\Sigma^l(x', x')}$
    says how alike the network's values at two inputs are. The ReLU map
    $\\rho \\mapsto \\frac{1}{\\pi}\\big(\\sqrt{1 - \\rho^2} + (\\pi - \\arccos\\rho)\\,\\rho\\big)$ is always $\\geq \\rho$,
    with the single fixed point $\\rho = 1$.""")
nb.demo(
    questions=[
        "Without bias ($b_{std} = 0$), what happens to the correlation of $x = 1$ and $x' = -1$ after many layers?",
        "With $b_{std} = 0.1$ one curve dips before it rises. Which, and why can a bias *lower* a correlation?",
        "What does a kernel that is flat in $x$ mean for the functions a very deep random network computes?",
    ],
    static="demos.plot_depth_correlation()",
    interactive="depth = demos.DepthCorrelation.interact()\ndepth",
    explanation="""
        Every layer pulls correlations towards 1, so a deep random ReLU network maps all inputs to nearly the
        same output: its kernel flattens, and it forgets the geometry of its inputs. With $w_{std} = 1$ the
        variance also shrinks layer by layer towards $2 b_{std}^2$. Adding $b_{std}^2$ raises the covariance and
        both variances; when the two variances are very different (here $x' = 0.3$ has a small one) the
        relative increase of the small variance wins and the correlation drops for a layer or two.""",
)
nb.md("""
    **The checks.** Without bias the ReLU map never lowers a correlation, but it approaches 1 only slowly
    (polynomially in depth: inputs of opposite sign are still 5 % away after 21 layers). With a bias the
    variance has a fixed point $q^* = 2 b_{std}^2$ and the approach is geometric: after 21 layers every pair
    is within $10^{-4}$ of perfect correlation.""")
nb.code("""
    rho0 = demos.correlations_vs_depth(0.0)
    assert np.all(np.diff(rho0, axis=0) >= -1e-12)              # b_std = 0: monotone
    assert 0.01 < np.max(1 - rho0[-1]) < 0.1                     # ... and slow
    for b in (0.1, 1.0):
        assert np.all(1 - demos.correlations_vs_depth(b)[-1] < 1e-4), b   # with a bias: fast
    print("1 - correlation after 21 layers, b_std = 0:  ", (1 - rho0[-1]).round(4))
    print("1 - correlation after 21 layers, b_std = 0.1:", (1 - demos.correlations_vs_depth(0.1)[-1]).round(6))""")

# ---------------------------------------------------------------------------------------------
nb.section("Exercises", minutes=10)
nb.exercise(
    "2.1",
    task="""
        Write `sigma1(x1, x2, w_std, b_std)`: the input-layer covariance $\\Sigma^1$ for 1-D inputs given as
        1-D tensors of lengths $N_1$ and $N_2$, returned as an $(N_1, N_2)$ tensor. The check compares with
        `kernel_recursion(...).sigma[0]`.""",
    stub='''
        def sigma1(x1, x2, w_std=1.0, b_std=0.1):
            # TODO: w_std^2 * x x' / n_0 + b_std^2, as an (N1, N2) matrix
            raise NotImplementedError("Exercise 2.1")


        xa = torch.linspace(-2, 2, 5, dtype=torch.float64)
        xb = torch.tensor([0.3, -1.0], dtype=torch.float64)
        ref = lambda x1, x2, w, b: ntk_teach.kernel_recursion(x1, x2, depth=0, w_std=w, b_std=b).sigma[0]
        _ = checks.check_function("Exercise 2.1", sigma1, reference=ref,
                                  inputs=[(xa, xb, 1.0, 0.1), (xa, xa, 2.0, 0.5)], rtol=1e-12,
                                  mistakes={"forgot b_std^2": lambda x1, x2, w, b: w**2 * torch.outer(x1, x2),
                                            "b_std not squared": lambda x1, x2, w, b: w**2 * torch.outer(x1, x2) + b})''',
    solution='''
        # Solution to Exercise 2.1
        def sigma1_solution(x1, x2, w_std=1.0, b_std=0.1):
            return w_std**2 * torch.outer(x1, x2) / 1 + b_std**2   # n_0 = 1 for 1-D inputs


        _ = checks.check_function("Exercise 2.1 (solution)", sigma1_solution, reference=ref,
                                  inputs=[(xa, xb, 1.0, 0.1), (xa, xa, 2.0, 0.5)], rtol=1e-12, strict=True)''',
    hint="`torch.outer(x1, x2)` is the matrix of products $x_i x'_j$.",
)
nb.exercise(
    "2.2",
    task="""
        Verify the arc-cosine formula by Monte Carlo. Write `mc_relu(q1, q2, s, n, seed)` that draws `n` pairs
        $(u, v) \\sim N\\big(0, \\begin{pmatrix} q_1 & s \\\\ s & q_2 \\end{pmatrix}\\big)$ and returns the sample mean of
        $\\mathrm{relu}(u)\\,\\mathrm{relu}(v)$ as a float. With $n = 400\\,000$ the standard error is about
        $\\sqrt{\\mathrm{Var}/n} \\approx 0.002\\sqrt{q_1 q_2}$, so the check accepts a relative error of 2 %.""",
    stub='''
        def mc_relu(q1, q2, s, n=400_000, seed=0):
            # TODO: build (u, v) from two independent standard normals (or a Cholesky factor), average relu(u) relu(v)
            raise NotImplementedError("Exercise 2.2")


        def arccos_formula(q1, q2, s, n=400_000, seed=0):
            t = lambda v: torch.tensor([[v]], dtype=torch.float64)
            return float(relu_expectations(t(q1), t(q2), t(s))[0])


        cases = [(1.0, 1.0, 0.5), (2.0, 0.5, -0.3), (1.5, 1.0, 1.2)]
        _ = checks.check_function("Exercise 2.2", mc_relu, reference=arccos_formula, inputs=cases, rtol=0.02, atol=0.0)''',
    solution='''
        # Solution to Exercise 2.2
        def mc_relu_solution(q1, q2, s, n=400_000, seed=0):
            g = torch.Generator().manual_seed(seed)
            z = torch.randn(n, 2, generator=g, dtype=torch.float64)
            u = math.sqrt(q1) * z[:, 0]
            v = s / math.sqrt(q1) * z[:, 0] + math.sqrt(q2 - s**2 / q1) * z[:, 1]   # Cov(u, v) = s, Var(v) = q2
            return float((torch.relu(u) * torch.relu(v)).mean())


        _ = checks.check_function("Exercise 2.2 (solution)", mc_relu_solution, reference=arccos_formula,
                                  inputs=cases, rtol=0.02, atol=0.0, strict=True)''',
    hint="With $u = \\sqrt{q_1} z_1$, choose $v = a z_1 + c z_2$ so that $\\mathrm{Cov}(u, v) = s$ and "
         "$\\mathrm{Var}(v) = q_2$.",
)

# ---------------------------------------------------------------------------------------------
nb.summary([
    "The $1/\\sqrt{n_l}$ scaling of the NTK parameterization keeps every pre-activation of order one, so random "
    "networks have a limit as the width grows.",
    "Given the hidden layers, the output is exactly Gaussian with a random variance; that variance concentrates "
    "like $1/n$, so the excess kurtosis falls like $1/n$ (measured slope $-1.03$, exact formula $-1.03$).",
    "The limit is a Gaussian process with covariance $\\Sigma^{L+1}$ from the recursion "
    "$\\Sigma^{l+1} = w_{std}^2\\,\\mathbb{E}[\\phi(u)\\phi(v)] + b_{std}^2$, in closed form for ReLU (arc-cosine).",
    "One network's covariance deviates from $\\Sigma$ by $O(n^{-1/2})$ (measured slope $-0.50$).",
    "Depth pulls correlations towards 1: deep random networks forget input geometry; $b_{std}$ sets where "
    "the ReLU kinks are and, in 1-D, how wiggly the functions look.",
    "Next, notebook 03: the same limit for the *gradients* gives the neural tangent kernel.",
])
nb.references([
    ("R. M. Neal. Priors for Infinite Networks. In *Bayesian Learning for Neural Networks*, Springer, 1996",
     "https://doi.org/10.1007/978-1-4612-0745-0_2"),
    ("J. Lee, Y. Bahri, R. Novak, S. Schoenholz, J. Pennington, J. Sohl-Dickstein. Deep Neural Networks as "
     "Gaussian Processes. ICLR 2018", "https://arxiv.org/abs/1711.00165"),
    ("A. G. de G. Matthews, M. Rowland, J. Hron, R. E. Turner, Z. Ghahramani. Gaussian Process Behaviour in "
     "Wide Deep Neural Networks. ICLR 2018", "https://arxiv.org/abs/1804.11271"),
    ("Y. Cho, L. K. Saul. Kernel Methods for Deep Learning. NeurIPS 2009 (the arc-cosine kernel)",
     "https://papers.nips.cc/paper/2009/hash/5751ec3e9a4feab575962e78e006250d-Abstract.html"),
    ("A. Jacot, F. Gabriel, C. Hongler. Neural Tangent Kernel. NeurIPS 2018", "https://arxiv.org/abs/1806.07572"),
    ("R. Dwaraknath. Understanding the Neural Tangent Kernel (blog post, the gallery of random networks)",
     "https://rajatvd.github.io/NTK/"),
])

if __name__ == "__main__":
    print(nb.write())
