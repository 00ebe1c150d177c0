"""Builds notebooks/00_start_here.ipynb (run: .venv/bin/python notebooks/builders/build_00_start_here.py)."""
from ntk_teach.nbtools import NotebookBuilder, details

nb = NotebookBuilder(
    "00_start_here",
    title="Start here",
    summary="What this course on the Neural Tangent Kernel teaches, how its notebooks fit together, "
            "the notation it uses, and a check that your setup works.",
    objectives=[
        "choose a path through the course (the 90-minute lecture path or the self-study path) "
        "and name what each notebook needs first;",
        "translate the notation of Jacot et al., Lee et al., Arora et al., Du et al., Chizat & Bach and "
        "neural-tangents into the course's ($\\theta$, $f$, $n_l$, $b_{std}$, $\\alpha$, $\\Theta$, $\\Sigma$);",
        "compute the number of parameters of the reference network for any width, and check it against "
        "`ntk_teach.MLP(...).num_params`;",
        "use the course widgets (width, alpha, seed, step + play) and fix a widget that does not display.",
    ],
    prerequisites=[],
    minutes=20,
    demo_module="nb00_start_here",
    extra_imports="""
        import numpy as np
        import torch""",
)

# ---------------------------------------------------------------------------------------------
nb.section("What this course teaches, and for whom", minutes=3, intro="""
    A neural network with millions of parameters, trained by gradient descent on a few data points,
    should be hopeless to analyse. Yet when the network is **wide**, three exact statements hold, and
    this course lets you see each of them happen on your screen:

    1. **At initialization** a wide network is a *Gaussian process*: its output at any inputs is
       jointly Gaussian, with a covariance $\\Sigma$ (the NNGP kernel) that a short recursion computes.
    2. **During training** the network moves like its *linearization* around the initial parameters
       ("lazy training"); in function space, gradient descent is then driven by one fixed kernel,
       the **Neural Tangent Kernel** $\\Theta(x, x') = \\nabla_\\theta f(x) \\cdot \\nabla_\\theta f(x')$.
    3. **After training** the prediction is kernel regression with $\\Theta$, so an infinite ensemble
       of trained networks has a closed form, and so do its errors.

    **For whom:** graduate students and researchers who know backpropagation, gradient descent,
    eigenvalues and Gaussian random variables. No kernel methods needed; notebook 01 reviews them.
    Every claim in the notebooks is a number computed in front of you, checked by an `assert`.""")

nb.section("The map of the course", minutes=2, intro="""
    Eight notebooks; an arrow points from a notebook to one that builds on it. Filled boxes with a solid
    border form the 90-minute lecture path; the others are for self-study.""")
nb.code("""
    demos.plot_course_map()""", tags=("demo",))
nb.code("""
    # the map is drawn from one table; check that it is consistent
    stems = [stem for stem, *_ in demos.NOTEBOOKS]
    assert stems == sorted(stems) and len(stems) == 8
    for stem, title, minutes, prerequisites in demos.NOTEBOOKS:
        assert all(stems.index(p) < stems.index(stem) for p in prerequisites), stem  # prerequisites come first
    depth = demos.prerequisite_depth()
    print("longest chain of prerequisites:", max(depth.values()) + 1, "notebooks;",
          "self-study total:", sum(m for _, _, m, _ in demos.NOTEBOOKS), "min")""")

# ---------------------------------------------------------------------------------------------
nb.section("Notation: one table for all the sources", minutes=5, intro="""
    Papers on the NTK name the same objects differently, and two names collide. The course uses the
    first column everywhere; CONTRIBUTING.md states the conventions once.

    | Object | This course | Jacot et al. 2018 | Lee et al. 2019 | Arora et al. 2019 / Du et al. 2019 | Chizat & Bach 2019 | neural-tangents |
    |---|---|---|---|---|---|---|
    | parameters | $\\theta$ (all weights and biases) | $\\theta$ | $\\theta$ | $W$, $w$ | $w$ | `params` |
    | network output | $f(x;\\theta)$ | $f_\\theta(x)$ | $f_t(x)$ | $f(\\theta, x)$, $u$ | $h(w)$ | `apply_fn` |
    | width of layer $l$ | $n_l$ (input $n_0 = d_{in}$) | $n_l$ | $n_l$ | $m$ | $m$ | `width` |
    | weight scale | $w_{std}$ | (1) | $\\sigma_w$ | (1) | | `W_std` |
    | bias scale | $b_{std}$ | $\\beta$ | $\\sigma_b$ | (no bias) | | `b_std` |
    | output scale | $\\alpha$ | | | | $\\alpha$ | |
    | NNGP kernel (init covariance) | $\\Sigma$ | $\\Sigma^{(L)}$ | $\\mathcal{K}$ | $\\Sigma^{(h)}$ | | `nngp` |
    | NTK | $\\Theta$ | $\\Theta^{(L)}$ | $\\Theta$ ($\\hat\\Theta_t$ empirical) | $\\Theta$; Gram matrix $H$, $H^\\infty$ | | `ntk` |

    Two traps:

    * **$K$ means different kernels.** Lee et al. write $\\mathcal{K}$ for the NNGP kernel, while kernel-regression
      texts write $K$ for whatever kernel is used, here the NTK: $\\Theta = K = H$ when the NTK is the kernel of a
      regression, but never $\\Sigma = \\Theta$. The course writes $\\Sigma$ and $\\Theta$, and `K` only in code for
      "the kernel matrix at hand".
    * **Parameterization.** *NTK parameterization* (Jacot et al., Lee et al., neural-tangents, and our default):
      $h^{l} = \\frac{w_{std}}{\\sqrt{n_{l-1}}} W^{l} a^{l-1} + b_{std}\\, b^{l}$ with all $W, b \\sim \\mathcal{N}(0, 1)$.
      *Standard parameterization* (LeCun initialization, what `torch.nn.Linear`-style code trains):
      $h^{l} = W^{l} a^{l-1} + b^{l}$ with $W \\sim \\mathcal{N}(0, w_{std}^2/n_{l-1})$, $b \\sim \\mathcal{N}(0, b_{std}^2)$.
      Same functions at initialization, different gradients: the NTK of the standard parameterization grows with
      the width. Every figure says which one it uses.

    **Loss.** $L(\\theta) = \\tfrac12 \\sum_i (f(x_i) - y_i)^2$, half the *sum* of squares. Gradient flow
    $\\dot\\theta = -\\eta \\nabla L$ gives $\\dot f = -\\eta\\, \\Theta (f - y)$. (neural-tangents uses the *mean*,
    so its $\\Theta$ carries a factor $1/N$ that ours does not.)""")
nb.think("""
    Lee et al. write $\\mathcal{K}$ and a kernel-regression tutorial writes $K$. Before reading a formula that
    contains $K(X, X)^{-1} y$, what must you find out first?""", answer="""
    Which kernel $K$ is: the NNGP kernel $\\Sigma$ (the prediction of a Bayesian GP, or of training only the
    last layer) or the NTK $\\Theta$ (the prediction of training *all* layers by gradient descent). The two
    predictions differ; notebook 06 compares them.""")

# ---------------------------------------------------------------------------------------------
nb.section("The reference network", minutes=5, intro="""
    Almost every figure uses one network, `ntk_teach.MLP(width)`: a **1-D input** $x$, **two hidden ReLU layers**
    of $n$ units each, and a linear readout to one output, in the NTK parameterization with $w_{std} = 1$,
    $b_{std} = 0.1$ by default:

    $$f(x;\\theta) = \\tfrac{1}{\\sqrt{n}}\\, W^{3}\\, \\phi\\!\\Big(\\tfrac{1}{\\sqrt{n}}\\, W^{2}\\, \\phi\\big(W^{1} x + b_{std} b^{1}\\big) + b_{std} b^{2}\\Big) + b_{std} b^{3}, \\qquad \\phi = \\mathrm{ReLU}.$$

    Layer $l$ has a weight matrix of $n_{l-1} \\times n_l$ entries and $n_l$ biases, with sizes
    $n_0 = 1,\\ n_1 = n_2 = n,\\ n_3 = 1$.""")
nb.exercise(
    "0.1",
    task="""
        Write `num_params(width, depth=2, d_in=1)`: the number of scalar parameters (weights and biases)
        of `ntk_teach.MLP(width, depth=depth, d_in=d_in)`. The self-check compares it with the network's
        own count for several widths and depths.""",
    stub="""
        def num_params(width, depth=2, d_in=1):
            # TODO: add up (fan_in + 1) * fan_out over the layers d_in -> width -> ... -> width -> 1
            raise NotImplementedError("Exercise 0.1")


        def true_count(width, depth=2, d_in=1):
            return ntk_teach.MLP(width, depth=depth, d_in=d_in).num_params


        cases = [(1,), (7,), (64,), (300, 1), (50, 3, 2)]
        _ = checks.check_function("Exercise 0.1", num_params, reference=true_count, inputs=cases, rtol=0, atol=0)""",
    hint="""
        With sizes $n_0, n_1, \\dots, n_{L+1}$, layer $l$ has $n_{l-1} n_l$ weights and $n_l$ biases.""",
    solution="""
        # Solution to Exercise 0.1
        def num_params_solution(width, depth=2, d_in=1):
            sizes = [d_in] + [width] * depth + [1]
            return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))


        _ = checks.check_function("Exercise 0.1 (solution)", num_params_solution, reference=true_count,
                                  inputs=cases, rtol=0, atol=0, strict=True)""",
)
nb.md("""
    For the reference network the sum is $(1+1)n + (n+1)n + (n+1) = n^2 + 4n + 1$: the hidden-to-hidden matrix
    dominates, so the count grows like $n^2$.""")
nb.code("""
    widths = [2 ** k for k in range(1, 11)]
    counts = [ntk_teach.MLP(n, seed=0).num_params for n in widths]
    for n, p in zip(widths, counts):
        assert p == n ** 2 + 4 * n + 1, (n, p)
    print("width n   parameters P   P / n^2")
    for n, p in zip(widths, counts):
        print(f"{n:7d} {p:14,d} {p / n**2:9.3f}")""")
nb.md("""
    Why is the $1/\\sqrt{n}$ in the NTK parameterization there? It keeps the output the same size at every
    width. For ReLU this is *exact*, not only in the limit: given the previous layer, each pre-activation is a
    symmetric random variable, so $\\mathbb{E}[\\mathrm{ReLU}(h)^2] = \\tfrac12 \\mathbb{E}[h^2]$, and the second moment
    passes through every layer unchanged. Hence $\\mathbb{E}[f(x)^2] = \\Sigma(x, x)$, the NNGP variance, at **every**
    width. The next cell checks it with 300 random networks at widths 4 and 128; the tolerance is 4 standard
    errors of the Monte-Carlo mean, estimated from the same samples.""")
nb.code("""
    x = torch.tensor([-1.5, 0.0, 1.0], dtype=torch.float64)
    sigma = ntk_teach.analytic_nngp(x, b_std=1.0).diagonal().numpy()   # Sigma(x, x) of the output
    n_nets = 300
    for width in (4, 128):
        with torch.no_grad():  # n_nets networks MLP(width, seed=s), s = 0..n_nets-1, in one vectorized pass
            f = ntk_teach.Ensemble(n_nets, width, seed=0, b_std=1.0)(x).numpy()
        second_moment = (f ** 2).mean(axis=0)
        std_err = (f ** 2).std(axis=0, ddof=1) / np.sqrt(n_nets)
        print(f"width {width:3d}: E f(x)^2 = {np.round(second_moment, 3)}  Sigma(x,x) = {np.round(sigma, 3)}"
              f"  (+- {np.round(std_err, 3)})")
        assert np.all(np.abs(second_moment - sigma) < 4 * std_err), (width, second_moment, sigma, std_err)""")

# ---------------------------------------------------------------------------------------------
nb.section("How to use the widgets", minutes=3, intro="""
    Every interactive figure in the course works the same way:

    * **Questions first.** Guess, then move the sliders, then open the explanation.
    * **A static figure**, drawn by a plain function call with default values (it also shows in the HTML and
      slide versions of the course), then **the widget**: the controls above **one** figure that is redrawn in
      place.
    * **Standard controls:** `width` (log-spaced choices), `alpha` (a log slider), `seed` (type or use the arrows:
      a new seed draws new random parameters), and `step` with a ▶ button that plays a training run.
      Slow demos update when you release the slider.
    * If a figure stops updating, look below it: an error in the demo prints its traceback there.
    * From code: `view = demos.RandomNets.interact()` returns the widget; `view.set(width=64)` moves it.""")
nb.demo(
    questions=[
        "A ReLU network with a 1-D input is piecewise linear. Do narrow or wide networks have more kinks?",
        "Does the typical size of $f(x)$ grow with the width?",
        "What changes when you change the seed but keep the width?",
    ],
    static="demos.plot_random_nets()",
    interactive="""
        view = demos.RandomNets.interact()
        view""",
    explanation="""
        * Each hidden ReLU that switches on or off at some input adds a kink, so **wide networks have many small
          kinks** and look smooth, while narrow ones have a few large ones.
        * The size does **not** grow with the width: the $1/\\sqrt{n}$ keeps $\\mathbb{E} f(x)^2 = \\Sigma(x, x)$ at
          every width (checked above). What changes with the width is the *shape* of the distribution: it
          becomes Gaussian (notebook 02).
        * A new seed draws a new network from the same distribution: at large width all draws share the same
          smoothness, only their values differ.""",
)
nb.md("""
    The first answer, in numbers: count the grid points (161 on $[-2, 2]$) where the slope of $f$ changes,
    i.e. where the second difference is not zero (above $10^{-9}$, far above round-off), for the five networks
    at widths 2, 16 and 256. The same cell drives the widget from code: `view.set(...)`.""")
nb.code("""
    def kinks(width, seed=0):
        y = demos.random_net_outputs(width, seed)                     # (5 networks, 161 grid points)
        return (np.abs(np.diff(y, n=2, axis=1)) > 1e-9).sum(axis=1)


    for width in (2, 16, 256):
        print(f"width {width:3d}: kinks per network {kinks(width)}")
        view.set(width=width)                                          # the figure above follows
    assert kinks(256).min() > kinks(16).max() > kinks(2).max()
    view.set(width=4)                                                  # back to the default
    assert view.controls["width"].value == 4 and not view.errors""")

# ---------------------------------------------------------------------------------------------
nb.section("Two paths through the course", minutes=2, intro="""
    **Self-study** (about 8 hours): the notebooks in order, 00 to 07, with every exercise. Each notebook starts with
    its objectives, prerequisites and time, and runs top to bottom in under a minute.

    **A 90-minute lecture** (LECTURER.md has the script, the demos to run live and the usual questions):

    | Minutes | Notebook | Run live |
    |---|---|---|
    | 5 | 00 Start here | the course map; the random-networks slider |
    | 15 | 02 Wide networks are Gaussian processes | random-init gallery at widths 4 / 64 / 1024 |
    | 25 | 03 The neural tangent kernel | empirical NTK vs analytic NTK as the width grows |
    | 20 | 04 Lazy training and linearization | the alpha toy model; relative weight change |
    | 25 | 05 Gradient flow and the kernel regime | training scrubbed with the step slider; $e^{-\\eta\\Theta t}$ |

    For projectors, start JupyterLab with `NTK_TEACH_LECTURE=1 bash scripts/course.sh lab` (larger fonts), or show
    the rendered slides: `bash scripts/course.sh render` writes HTML pages and reveal.js slides into `build/`.""")
nb.code("""
    assert sum(minutes for _, minutes, _ in demos.LECTURE_PLAN) == 90
    assert [stem for stem, _, _ in demos.LECTURE_PLAN] == list(demos.LECTURE_PATH)""")

# ---------------------------------------------------------------------------------------------
nb.section("Check your environment", minutes=2, intro="""
    Run the next two cells. The first prints the versions the course was tested with next to yours;
    the second shows a slider: move it and the curve must change.""")
nb.code("""
    import sys
    import ipykernel
    import ipywidgets
    import matplotlib
    import scipy

    print(f"python      {sys.version.split()[0]:10s} (needs >= 3.10)")
    for module, tested in [(ntk_teach, "0.1"), (torch, "2.13"), (np, "2.x"), (scipy, "1.x"),
                           (matplotlib, "3.11"), (ipywidgets, "8.1"), (ipykernel, "7.x")]:
        print(f"{module.__name__:11s} {module.__version__:10s} (tested with {tested})")
    print(f"matplotlib backend: {matplotlib.get_backend()};  ipympl in use: {viz.ipympl_active()}")
    assert sys.version_info >= (3, 10) and int(ipywidgets.__version__.split('.')[0]) == 8""")
nb.code("""
    check = demos.WidgetCheck.interact()
    check""", tags=("demo",))
nb.md(details("The slider does not show, or says \"Error displaying widget\"?", """
    Do these in order; stop when the slider works.

    1. **Kernel > Restart Kernel and Run All Cells.** "Error displaying widget: model not found" most often means
       the page shows widgets saved from an earlier session whose kernel is gone.
    2. **Start JupyterLab from the course environment:** `bash scripts/course.sh lab`. The widget manager
       (`jupyterlab_widgets`) must be installed in the environment that runs JupyterLab, with the same major
       version as `ipywidgets` (8). `jupyter labextension list` must list
       `@jupyter-widgets/jupyterlab-manager ... enabled OK`.
    3. **VS Code:** install the *Jupyter* extension, pick the `.venv` interpreter as the kernel, and reload
       the window.
    4. **Google Colab:** run `from google.colab import output; output.enable_custom_widget_manager()` once,
       then rerun the cell. (Colab cannot use ipympl; the course does not need it.)
    5. **Still nothing?** Every demo is preceded by a static figure of the same plot, and `view.set(...)` redraws
       a demo from code, so you can follow the course without sliders. Please report the problem with the
       output of the version cell above.

    If the slider moves but the curve does not change, read the traceback printed under the figure."""))
nb.code("""
    check.set(k=3)
    assert check.demo.line.get_ydata()[50] == np.sin(3 * check.demo.x[50]) and not check.errors""")

# ---------------------------------------------------------------------------------------------
nb.summary([
    "Wide networks are Gaussian processes at initialization ($\\Sigma$), train like their linearization, and "
    "their training is governed by the Neural Tangent Kernel $\\Theta$.",
    "The course writes $\\theta, f, n_l, w_{std}, b_{std}, \\alpha, \\Sigma, \\Theta$; $K$ is ambiguous across papers "
    "(Lee et al.'s $\\mathcal{K}$ is the NNGP kernel); the default is the NTK parameterization and the loss "
    "$\\tfrac12\\sum_i (f(x_i)-y_i)^2$.",
    "The reference network (1-D input, two hidden ReLU layers of width $n$) has $n^2 + 4n + 1$ parameters, "
    "and $\\mathbb{E} f(x)^2 = \\Sigma(x,x)$ at every width.",
    "Widgets: questions first, a static figure, then controls on one figure redrawn in place; "
    "if a widget does not display, restart and run all, and start JupyterLab with `bash scripts/course.sh lab`.",
])
nb.references([
    ("A. Jacot, F. Gabriel, C. Hongler (2018). Neural Tangent Kernel: Convergence and Generalization in Neural "
     "Networks. NeurIPS", "https://arxiv.org/abs/1806.07572"),
    ("J. Lee, Y. Bahri, R. Novak, S. Schoenholz, J. Pennington, J. Sohl-Dickstein (2018). Deep Neural Networks as "
     "Gaussian Processes. ICLR", "https://arxiv.org/abs/1711.00165"),
    ("J. Lee, L. Xiao, S. Schoenholz, Y. Bahri, R. Novak, J. Sohl-Dickstein, J. Pennington (2019). Wide Neural "
     "Networks of Any Depth Evolve as Linear Models Under Gradient Descent. NeurIPS", "https://arxiv.org/abs/1902.06720"),
    ("S. Arora, S. Du, W. Hu, Z. Li, R. Salakhutdinov, R. Wang (2019). On Exact Computation with an Infinitely Wide "
     "Neural Net. NeurIPS", "https://arxiv.org/abs/1904.11955"),
    ("S. Du, X. Zhai, B. Poczos, A. Singh (2019). Gradient Descent Provably Optimizes Over-parameterized Neural "
     "Networks. ICLR", "https://arxiv.org/abs/1810.02054"),
    ("L. Chizat, E. Oyallon, F. Bach (2019). On Lazy Training in Differentiable Programming. NeurIPS",
     "https://arxiv.org/abs/1812.07956"),
    ("R. Novak et al. (2020). Neural Tangents: Fast and Easy Infinite Neural Networks in Python. ICLR",
     "https://github.com/google/neural-tangents"),
    ("R. Dwaraknath. Understanding the Neural Tangent Kernel (blog post with code)", "https://rajatvd.github.io/NTK/"),
])

if __name__ == "__main__":
    print("wrote", nb.write())
