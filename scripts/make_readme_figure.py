"""Draw docs/overview.png, the figure at the top of the README, from the package.

    .venv/bin/python scripts/make_readme_figure.py

Three panels, all for the reference network (1-D input, two hidden ReLU layers,
NTK parameterization, b_std = 1: with a 1-D input a larger bias spreads
the ReLU kinks over the plotted range instead of bunching them near x = 0): random networks become a Gaussian process,
the empirical NTK concentrates on its infinite-width limit, and a wide trained
network follows kernel regression with that limit.
"""
from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import ntk_teach as nt  # noqa: E402

B = 1.0  # bias scale b_std used in all panels
OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def main(out="docs/overview.png"):
    x = torch.linspace(-4, 4, 200, dtype=torch.float64)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), facecolor="white")

    ax = axes[0]
    with torch.no_grad():
        for width, style, color in [(2, ":", OKABE_ITO[1]), (1024, "-", OKABE_ITO[0])]:
            ys = nt.Ensemble(12, width, seed=10, b_std=B)(x)
            for k, y in enumerate(ys):
                ax.plot(x, y, style, color=color, lw=1.2, alpha=0.8, label=f"width {width}" if k == 0 else None)
    ax.set(title="(a) 12 random nets at initialization", xlabel="input $x$", ylabel=r"$f(x;\theta_0)$")
    ax.legend(loc="upper left")

    ax = axes[1]
    x0 = torch.tensor([1.0], dtype=torch.float64)
    for j, (width, style, color) in enumerate([(32, ":", OKABE_ITO[1]), (2048, "-", OKABE_ITO[0])]):
        for s in range(6):
            k = nt.empirical_ntk(nt.MLP(width, seed=100 + s, b_std=B), x0, x)[0]
            ax.plot(x, k, style, color=color, lw=1.1, alpha=0.8, label=f"empirical, width {width}" if s == 0 else None)
    ax.plot(x, nt.analytic_ntk(x0, x, b_std=B)[0], "--", color="black", lw=2, label="infinite width")
    ax.set(title=r"(b) NTK $\Theta(1, x)$ for 6 random inits", xlabel="input $x$", ylabel=r"$\Theta(1, x)$")
    ax.legend(loc="upper left", fontsize=8)

    ax = axes[2]
    xtr, ytr = nt.noisy_1d(8, fn="sin", noise=0.05, seed=3)
    model = nt.centered(nt.MLP(2048, seed=0, b_std=B), 1.0)
    K = nt.analytic_ntk(xtr, b_std=B)
    lr = 1.0 / float(torch.linalg.eigvalsh(K)[-1])  # half the stability limit 2 / lambda_max
    steps = 1500
    res = nt.train(model, xtr, ytr, lr=lr, steps=steps, record_every=steps, x_test=x)
    _, pred = nt.gradient_flow_mse(K, ytr, [lr * steps], K_test=nt.analytic_ntk(x, xtr, b_std=B))
    ax.plot(x, res.test_outputs[-1], "-", color=OKABE_ITO[0], lw=2.2, label="trained net, width 2048")
    ax.plot(x, pred[0], "--", color="black", lw=1.6, label="gradient flow with the infinite-width NTK")
    ax.plot(xtr, ytr, "o", color=OKABE_ITO[1], ms=6, label="training points")
    ax.set(title="(c) training follows the NTK", xlabel="input $x$", ylabel="$f(x)$")
    ax.legend(loc="upper left", fontsize=8)
    for ax in axes:
        ax.set_facecolor("white")
        ax.grid(alpha=0.3)
    fig.suptitle("ntk-teach: 1-D input, two hidden ReLU layers, NTK parameterization, $b_{std} = 1$", fontsize=11)
    fig.tight_layout()
    pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, facecolor="white")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
