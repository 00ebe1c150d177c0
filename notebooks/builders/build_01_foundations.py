"""Builds notebooks/01_foundations.ipynb (run: .venv/bin/python notebooks/builders/build_01_foundations.py)."""
from ntk_teach.nbtools import NotebookBuilder

nb = NotebookBuilder(
    "01_foundations",
    title="Foundations: Jacobians, gradient flow, the CLT, Taylor expansion, kernels and Gaussian processes",
    summary="The six tools the NTK story is built from, each computed, checked and drawn, and each tied to the "
            "notebook that uses it.",
    objectives=[
        "compute the Jacobian of a vector-valued map by hand and with `torch.func`, and state its shape;",
        "explain why gradient descent is explicit Euler on gradient flow, and predict the largest stable step;",
        "state the CLT's rate ($N^{-1/2}$) and check it on exact distributions;",
        "write a kernel as an inner product of features and check that a Gram matrix is positive semi-definite;",
        "compute a Gaussian-process posterior mean and band stably with a Cholesky factor.",
    ],
    prerequisites=["00_start_here"],
    minutes=60,
    demo_module="nb01_foundations",
    extra_imports="""
        import math
        import numpy as np
        import torch
        from torch.func import jacrev
        from ntk_teach import foundations""",
)

# ---------------------------------------------------------------------------------------------
nb.section("Vector-to-vector derivatives: the Jacobian", minutes=10, intro="""
    For $F: \\mathbb{R}^n \\to \\mathbb{R}^m$ the Jacobian $J(x) \\in \\mathbb{R}^{m \\times n}$ has entries
    $J_{ij} = \\partial F_i / \\partial x_j$: **one row per output, one column per input**. It is the best linear
    approximation, $F(x + dx) \\approx F(x) + J(x)\\,dx$. For a scalar function ($m = 1$) the Jacobian is a single
    row and the gradient is its transpose, $\\nabla F = J^\\top$.

    Running example: $F(x) = (x_0 x_1,\\ \\sin x_0 + x_1^2,\\ e^{x_1})$, so by hand
    $$J(x) = \\begin{pmatrix} x_1 & x_0 \\\\ \\cos x_0 & 2 x_1 \\\\ 0 & e^{x_1} \\end{pmatrix} \\in \\mathbb{R}^{3 \\times 2}.$$""")
nb.code("""
    x = torch.tensor([0.7, -0.4], dtype=torch.float64)
    J_auto = jacrev(foundations.example_map)(x)          # reverse mode: one backward pass per output
    J_hand = foundations.example_map_jacobian(x)
    print("shape (outputs, inputs):", tuple(J_auto.shape))
    print(J_auto.numpy().round(4))
    assert J_auto.shape == (3, 2) and torch.allclose(J_auto, J_hand, rtol=0, atol=1e-15)

    # gradient = transposed Jacobian, for the scalar output F_1
    g = torch.func.grad(lambda z: foundations.example_map(z)[1])(x)
    assert torch.allclose(g, J_auto[1], atol=1e-15)
    # backpropagation computes J^T v without building J (a vector-Jacobian product)
    v = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    _, vjp = torch.func.vjp(foundations.example_map, x)
    assert torch.allclose(vjp(v)[0], J_auto.T @ v, atol=1e-15)""")
nb.md("""
    **Where it is used.** For a network $f(x; \\theta)$ on $N$ inputs, the Jacobian with respect to the
    parameters is $N \\times P$, and the neural tangent kernel is $\\Theta = J J^\\top$ (notebook 03). Below, a
    map of the plane and its linearization on a circle of radius $r$: the gap between the two images is
    $O(r^2)$, the size of the neglected second-order term.""")
nb.demo(
    questions=["When you halve the radius, by what factor does the largest gap shrink?"],
    static="demos.plot_jacobian_map()",
    interactive="jac = demos.JacobianMap.interact()\njac",
    explanation="""
        By 4: the first-order Taylor expansion leaves an error $\\tfrac{1}{2} dp^\\top \\nabla^2 G\\, dp = O(r^2)$.
        The title divides the gap by $r^2$: it settles to a constant as $r \\to 0$.""",
)
nb.code("""
    fit = demos.jacobian_gap_slope()            # radii 1e-3 .. 1e-1
    print(fit.label("gap vs radius"))
    assert abs(fit.slope - 2) < 0.05            # O(r^2); the O(r^3) term shifts the fit by ~r = 0.1 at most""")

nb.think(
    "A network with $P$ parameters is evaluated on $N$ inputs. What is the shape of the Jacobian of the outputs "
    "with respect to the parameters, and how many backward passes does `jacrev` need to build it?",
    answer="$N \\times P$: one row per output. Reverse mode builds one row per backward pass, so $N$ passes "
           "(vectorized by `vmap`). For $P = 10^6$ and $N = 1000$ that is 8 GB in float64, which is why notebook 03 "
           "computes $J J^\\top$ without ever building $J$.")

# ---------------------------------------------------------------------------------------------
nb.section("Differential equations, and gradient descent as Euler's method", minutes=10, intro="""
    The equation $dy/dt = a\\,y$ separates: $dy / y = a\\,dt$, so $\\ln|y| = a t + c$ and $y(t) = y_0 e^{a t}$.
    **Explicit Euler** replaces the derivative by a step of size $h$: $y_{k+1} = y_k + h\\,a\\,y_k = (1 + a h)\\,y_k$.
    For $a < 0$ the exact solution decays; Euler decays only while $|1 + a h| < 1$, that is for
    $h < 2/|a|$ (and overshoots, oscillating, beyond $h = 1/|a|$).

    **Gradient descent is Euler on gradient flow.** Gradient flow $d\\theta/dt = -\\nabla L(\\theta)$ is an ODE;
    gradient descent $\\theta_{k+1} = \\theta_k - \\eta \\nabla L(\\theta_k)$ is exactly its explicit Euler step
    with $h = \\eta$. On $L(w) = \\lambda w^2 / 2$ the flow is $dw/dt = -\\lambda w$, so gradient descent is
    stable exactly for $\\eta < 2/\\lambda$. Notebook 05 finds the same threshold, $2/\\lambda_{max}$ of the NTK.""")
nb.demo(
    questions=["At which step size do the Euler points start to alternate in sign? At which do they blow up?"],
    static="demos.plot_euler()",
    interactive="euler = demos.EulerSteps.interact()\neuler",
    explanation="""
        With $a = -1$: the factor $1 - h$ turns negative beyond $h = 1$ (alternating signs, still decaying) and
        its magnitude exceeds 1 beyond $h = 2$ (divergence).""",
)
nb.code("""
    lam, eta, w0 = 3.0, 0.2, 1.5
    w, ws = w0, [w0]
    for _ in range(10):                         # gradient descent on L(w) = lam w^2 / 2
        w = w - eta * lam * w
        ws.append(w)
    assert np.allclose(ws, foundations.euler(-lam, w0, eta, 10), rtol=1e-14)
    limit = foundations.euler_stability_limit(-lam)
    assert abs(foundations.euler(-lam, 1.0, 0.99 * limit, 500)[-1]) < 1      # just below 2/lam: decays
    assert abs(foundations.euler(-lam, 1.0, 1.01 * limit, 500)[-1]) > 1      # just above: diverges
    print(f"gradient descent on lam = {lam}: stable for eta < 2/lam = {limit:.4f}")""")

# ---------------------------------------------------------------------------------------------
nb.section("The central limit theorem", minutes=12, intro="""
    The mean $\\bar x_N$ of $N$ i.i.d. draws with mean $\\mu$ and variance $\\sigma^2$ is approximately
    $N(\\mu, \\sigma^2/N)$, whatever the distribution. How fast? The Berry–Esseen theorem bounds the largest
    gap between the two cumulative distribution functions (the Kolmogorov–Smirnov distance) by
    $C\\,\\mathbb{E}|x - \\mu|^3 / (\\sigma^3\\sqrt{N})$: it falls like $N^{-1/2}$. For exponential draws the law
    of the mean is exactly Gamma$(N, 1/N)$ and for Bernoulli draws Binomial$(N, p)/N$, so the distance can be
    computed without sampling noise (right panel).""")
nb.demo(
    questions=[
        "Which distribution looks Gaussian first: exponential, uniform or Bernoulli? Why?",
        "How much larger must $N$ be to halve the distance to the normal?",
    ],
    static="demos.plot_clt()",
    interactive="clt = demos.CLT.interact()\nclt",
    explanation="""
        The uniform distribution is symmetric (no skewness), so its leading $N^{-1/2}$ error term vanishes and it
        looks Gaussian almost at once. The skewed exponential and the lattice Bernoulli need $4\\times$ more
        draws to halve the distance. Notebook 02 meets the same law in a network: the output at one input is a
        sum over $n$ hidden units, Gaussian up to $O(n^{-1/2})$ (kurtosis $O(1/n)$).""",
)
nb.think(
    "A hidden layer has $n$ units and the output is $\\frac{1}{\\sqrt n}\\sum_i v_i a_i$ with independent $v_i$. "
    "Why $1/\\sqrt n$ and not $1/n$?",
    answer="With $1/n$ the sum would converge to its mean, 0, a deterministic function: no randomness left. "
           "$1/\\sqrt n$ is the CLT scaling that keeps the variance fixed, so the limit is a Gaussian (process).")
nb.code("""
    t = demos.ks_table()
    for dist in ("exponential", "bernoulli(0.2)"):
        fit = t[dist + " fit"]
        print(fit.label(dist))
        # exact laws, no sampling noise: only the O(1/N) Edgeworth term bends the line, < 0.02 over N >= 16
        assert abs(fit.slope + 0.5) < 0.02, fit""")
nb.md("""
    **The multivariate CLT.** For i.i.d. random vectors with covariance $C$, $\\sqrt{N}(\\bar x_N - \\mu)$ tends to
    $N(0, C)$. The ellipse $\\{z : z^\\top C^{-1} z = 4\\}$ (its axes are the eigenvectors of $C$, scaled by
    $2\\sqrt{\\lambda_i}$) holds $1 - e^{-2} = 86.5\\%$ of a 2-D Gaussian.""")
nb.demo(
    questions=["At $N = 1$ the cloud is bounded on one side. Which side, and why?"],
    static="demos.plot_clt_2d()",
    interactive="clt2 = demos.CLT2D.interact()\nclt2",
    explanation="""
        An exponential draw is never below 0, so the first coordinate is never below $-1$ at $N = 1$.
        As $N$ grows the cloud fills the ellipse symmetrically.""",
)
nb.code("""
    frac = demos.fraction_in_ellipse(demos.scaled_means_2d(256))
    # 2000 points: binomial standard error sqrt(0.865 * 0.135 / 2000) = 0.0076; accept 4 of them
    print(f"N = 256: {100 * frac:.1f} % inside the 2-sigma ellipse (Gaussian: 86.5 %)")
    assert abs(frac - (1 - math.exp(-2))) < 4 * math.sqrt(0.865 * 0.135 / 2000)""")

# ---------------------------------------------------------------------------------------------
nb.section("Taylor expansion", minutes=8, intro="""
    $f(x) = \\sum_{j \\le k} f^{(j)}(a) (x - a)^j / j! + O((x - a)^{k+1})$. The derivatives below are computed by
    nesting `torch.func.grad`. The first-order expansion, the tangent line, is the one the NTK needs: a network
    trained lazily stays close to its first-order expansion in the parameters (notebook 04), with an error
    that shrinks like the *square* of the distance moved.""")
nb.demo(
    questions=["Around which points $a$ does a low order already fit well on a wide interval?",
               "Why does the order-1 error curve have slope 2 on log-log axes?"],
    static="demos.plot_taylor()",
    interactive="taylor = demos.Taylor.interact()\ntaylor",
    explanation="""
        Where $f$ is nearly linear (small $f''(a)$) the tangent is good far from $a$. The error of order $k$ is
        $f^{(k+1)}(\\xi) h^{k+1} / (k+1)!$, so order 1 gives slope 2 and order 2 slope 3 (unless the next
        derivative vanishes at $a$).""",
)
nb.code("""
    for order in (1, 2):
        fit = demos.taylor_error_fit(order, a=0.5)
        print(fit.label(f"order {order}"))
        assert abs(fit.slope - (order + 1)) < 0.05  # the next term shifts the fit by O(h) = 0.1 * |f'''/f''| at most""")

# ---------------------------------------------------------------------------------------------
nb.section("Kernels", minutes=10, intro="""
    A **kernel** $k(x, x') = \\varphi(x) \\cdot \\varphi(x')$ is an inner product of features. The polynomial kernel
    $(x \\cdot x' + c)^2$ on $\\mathbb{R}^2$ has the six features
    $\\varphi(x) = (x_1^2, x_2^2, \\sqrt2 x_1 x_2, \\sqrt{2c}\\,x_1, \\sqrt{2c}\\,x_2, c)$. A Gram matrix
    $K_{ij} = k(x_i, x_j) = \\Phi\\Phi^\\top$ is therefore positive semi-definite: $v^\\top K v = \\|\\Phi^\\top v\\|^2 \\ge 0$.
    The NTK is such a kernel with $\\varphi(x) = \\nabla_\\theta f(x)$ (notebook 03).""")
nb.code("""
    X = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    Phi = foundations.poly2_features(X, c=1.0)
    K = foundations.poly_kernel(X, c=1.0)
    assert torch.allclose(Phi @ Phi.T, K, rtol=1e-12, atol=1e-12)
    lam = torch.linalg.eigvalsh(K)
    # 50 points but only 6 features: rank 6, the other 44 eigenvalues are 0 up to rounding (~1e-13 * max)
    print(f"eigenvalues: min {lam.min():.2e}, max {lam.max():.2e}, rank {(lam > 1e-9 * lam.max()).sum()}")
    assert lam.min() > -1e-10 * lam.max() and int((lam > 1e-9 * lam.max()).sum()) == 6""")
nb.md("""
    **Kernel regression.** Two ways to predict with a kernel: the *weighted sum* (Nadaraya–Watson)
    $\\hat f(x) = \\sum_i k(x, x_i) y_i / \\sum_i k(x, x_i)$, and *kernel ridge regression*
    $\\hat f(x) = k(x, X)(K + \\lambda I)^{-1} y$, which as $\\lambda \\to 0$ interpolates the data. Infinitely
    wide networks trained to convergence compute the second, with the NTK as the kernel (notebook 06).""")
nb.demo(
    questions=["What happens to each predictor for a very short length-scale? For a very long one?",
               "Which predictor passes through the data points when the ridge is tiny?"],
    static="demos.plot_kernel_regression()",
    interactive="kr = demos.KernelRegression.interact()\nkr",
    explanation="""
        Short length-scale: the weighted sum becomes a staircase (nearest neighbour) and ridge regression spikes
        at the data and falls to 0 in between. Long length-scale: the weighted sum tends to the mean of all $y$;
        ridge regression fits a smooth curve. With a tiny ridge, kernel ridge regression interpolates.""",
)
nb.code("""
    # kernel ridge regression interpolates as the ridge vanishes: the training residual is
    # ridge * (K + ridge I)^-1 y, which shrinks with the ridge. Two of the 20 points are close, so K has
    # eigenvalues down to ~1e-9 and the residual only falls below 1 % once the ridge is below them.
    Kt = ntk_teach.rbf_kernel(demos.X_TRAIN, length_scale=0.5)
    res = [float((ntk_teach.kernel_regression(Kt, Kt, demos.Y_TRAIN, ridge=r) - demos.Y_TRAIN).norm()
                 / demos.Y_TRAIN.norm()) for r in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10)]
    print("relative training residual for ridge 1e-2 ... 1e-10:", np.round(res, 4))
    assert all(a > b for a, b in zip(res, res[1:])) and res[-1] < 0.01
    # the weighted sum never leaves the range of the targets (its weights are >= 0 and sum to one)
    nw, _ = demos.kernel_predictions(0.5, 1e-2)
    assert demos.Y_TRAIN.min() - 1e-12 <= nw.min() and nw.max() <= demos.Y_TRAIN.max() + 1e-12""")

# ---------------------------------------------------------------------------------------------
nb.section("Gaussian processes", minutes=10, intro="""
    A Gaussian process is a distribution over functions: the values at any finite set of inputs are jointly
    Gaussian, with covariance $k(x_i, x_j)$. Here $k$ is the squared-exponential kernel
    $k(x, x') = \\exp(-|x - x'|^2 / (2\\ell^2))$. Given exact observations $y$ at $X$, the posterior at $x_*$ is
    Gaussian with
    $$\\mu_* = k(x_*, X) K^{-1} y, \\qquad \\Sigma_* = k(x_*, x_*) - k(x_*, X) K^{-1} k(X, x_*).$$
    Computed **stably**: factor $K = L L^\\top$ (Cholesky) instead of inverting $K$, then solve triangular
    systems. Nearby inputs make $K$ numerically singular; then a jitter $\\epsilon I$ is added, starting at
    $10^{-10}$ times the mean diagonal and raised tenfold until the factorisation succeeds, and reported
    (`ntk_teach.gp_posterior(...).jitter`). Notebook 02 shows that a wide random network *is* such a GP.""")
nb.demo(
    questions=["What does the length-scale do to the prior samples?",
               "Where is the posterior band narrow, and where wide?"],
    static="demos.plot_gp()",
    interactive="gp = demos.GaussianProcess.interact()\ngp",
    explanation="""
        $\\ell$ is the distance over which the function forgets its value: short $\\ell$, wiggly samples. The
        posterior band pinches to zero at exact observations and reopens to the prior's $\\pm 2$ away from them,
        within a few $\\ell$.""",
)
nb.code("""
    post = demos.gp_fit(1.0)
    at_data = ntk_teach.gp_posterior(ntk_teach.rbf_kernel(demos.X_GP), ntk_teach.rbf_kernel(demos.X_GP),
                                     ntk_teach.rbf_kernel(demos.X_GP), demos.Y_GP)
    assert torch.allclose(at_data.mean, demos.Y_GP, atol=1e-8) and float(at_data.std.max()) < 1e-4
    far = float(post.std[0])                     # x = -3.5, 1.5 length-scales from the nearest observation
    print(f"jitter used: {post.jitter:.1e}; posterior std at x = -3.5: {far:.3f} (prior: 1)")
    assert 0.5 < far <= 1.0""")

# ---------------------------------------------------------------------------------------------
nb.section("Exercises", minutes=10)
nb.exercise(
    "1.1",
    task="""
        Compute a Jacobian by hand. For $H(x) = (x_0^2 x_1,\\ x_0 + \\cos x_1)$, write `jac_H(x)` returning the
        $2 \\times 2$ matrix $\\partial H_i / \\partial x_j$ (rows: outputs). The check compares with `jacrev`.""",
    stub='''
        def H(x):
            return torch.stack([x[0] ** 2 * x[1], x[0] + torch.cos(x[1])])


        def jac_H(x):
            # TODO: return torch.tensor([[dH0/dx0, dH0/dx1], [dH1/dx0, dH1/dx1]], dtype=torch.float64)
            raise NotImplementedError("Exercise 1.1")


        points = [(torch.tensor([0.3, -1.2], dtype=torch.float64),), (torch.tensor([2.0, 0.5], dtype=torch.float64),)]
        _ = checks.check_function("Exercise 1.1", jac_H, reference=jacrev(H), inputs=points, rtol=1e-12,
                                  mistakes={"transposed (rows must be outputs)": lambda x: jacrev(H)(x).T})''',
    solution='''
        # Solution to Exercise 1.1
        def jac_H_solution(x):
            return torch.tensor([[2 * x[0] * x[1], x[0] ** 2],
                                 [1.0, -torch.sin(x[1])]], dtype=torch.float64)


        _ = checks.check_function("Exercise 1.1 (solution)", jac_H_solution, reference=jacrev(H), inputs=points,
                                  rtol=1e-12, strict=True)''',
)
nb.exercise(
    "1.2",
    task="""
        A kernel from features. Write `cubic_gram(X)` that returns the Gram matrix of the kernel
        $k(x, x') = (x x')^3 + x x'$ for 1-D inputs (a 1-D tensor) **as $\\Phi\\Phi^\\top$ of an explicit feature
        map** $\\varphi(x) = (x^3, x)$, and check it is positive semi-definite.""",
    stub='''
        def cubic_gram(X):
            # TODO: Phi = torch.stack([...], dim=1); return Phi @ Phi.T
            raise NotImplementedError("Exercise 1.2")


        Xc = torch.linspace(-2, 2, 9, dtype=torch.float64)
        kernel = lambda X: torch.outer(X, X) ** 3 + torch.outer(X, X)
        _ = checks.check_function("Exercise 1.2", cubic_gram, reference=kernel, inputs=[(Xc,)], rtol=1e-12)''',
    solution='''
        # Solution to Exercise 1.2
        def cubic_gram_solution(X):
            Phi = torch.stack([X**3, X], dim=1)
            return Phi @ Phi.T


        _ = checks.check_function("Exercise 1.2 (solution)", cubic_gram_solution, reference=kernel, inputs=[(Xc,)],
                                  rtol=1e-12, strict=True)
        _ = checks.check_psd("Exercise 1.2 (PSD)", cubic_gram_solution(Xc), strict=True)''',
)
nb.exercise(
    "1.3",
    task="""
        Write the GP posterior mean `gp_mean(K, Ks, y)` $= K_{*X} K^{-1} y$ **with a Cholesky factor**
        (`torch.linalg.cholesky`, then `torch.cholesky_solve`), not with `torch.linalg.inv`.""",
    stub='''
        def gp_mean(K, Ks, y):
            # TODO: L = torch.linalg.cholesky(K); alpha = torch.cholesky_solve(y[:, None], L)[:, 0]; return Ks @ alpha
            raise NotImplementedError("Exercise 1.3")


        Kx = ntk_teach.rbf_kernel(demos.X_GP)
        Ksx = ntk_teach.rbf_kernel(demos.X_TEST, demos.X_GP)
        reference = lambda K, Ks, y: ntk_teach.gp_posterior(K, Ks, ntk_teach.rbf_kernel(demos.X_TEST), y).mean
        _ = checks.check_function("Exercise 1.3", gp_mean, reference=reference, inputs=[(Kx, Ksx, demos.Y_GP)],
                                  rtol=1e-9, atol=1e-12)''',
    solution='''
        # Solution to Exercise 1.3
        def gp_mean_solution(K, Ks, y):
            L = torch.linalg.cholesky(K)
            return Ks @ torch.cholesky_solve(y[:, None], L)[:, 0]


        _ = checks.check_function("Exercise 1.3 (solution)", gp_mean_solution, reference=reference,
                                  inputs=[(Kx, Ksx, demos.Y_GP)], rtol=1e-9, atol=1e-12, strict=True)''',
)

# ---------------------------------------------------------------------------------------------
nb.summary([
    "The Jacobian has one row per output and one column per input; gradients are its transposed rows, and "
    "backpropagation computes $J^\\top v$. The NTK will be $J J^\\top$.",
    "Gradient descent is explicit Euler on gradient flow: stable only for $\\eta < 2/\\lambda_{max}$.",
    "Means of $N$ draws approach a Gaussian at the rate $N^{-1/2}$ (measured slope $-0.50$ on exact laws); "
    "vectors approach $N(0, C)$.",
    "A first-order Taylor expansion errs by $O(h^2)$: the basis of lazy training.",
    "Kernels are inner products of features; their Gram matrices are PSD; kernel ridge regression interpolates "
    "as the ridge vanishes.",
    "A GP posterior is computed with a Cholesky factor (and a reported jitter when needed).",
])
nb.references([
    ("PyTorch documentation: torch.func (jacrev, jvp, vjp, grad)", "https://pytorch.org/docs/stable/func.html"),
    ("A. C. Berry (1941) and C.-G. Esseen (1942): the Berry-Esseen theorem",
     "https://en.wikipedia.org/wiki/Berry%E2%80%93Esseen_theorem"),
    ("C. E. Rasmussen, C. K. I. Williams. Gaussian Processes for Machine Learning. MIT Press, 2006 (Algorithm 2.1)",
     "http://gaussianprocess.org/gpml/"),
    ("B. Schölkopf, A. J. Smola. Learning with Kernels. MIT Press, 2002", "https://mitpress.mit.edu/9780262536578/"),
    ("E. Hairer, S. P. Nørsett, G. Wanner. Solving Ordinary Differential Equations I. Springer, 1993",
     "https://doi.org/10.1007/978-3-540-78862-1"),
])

if __name__ == "__main__":
    print(nb.write())
