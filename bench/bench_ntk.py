"""NTK speed benchmark (issue 2): structured empirical NTK vs Jacobian contraction, float32 at width 4096, analytic kernels.

    .venv/bin/python bench/bench_ntk.py               # run, print the table, write the bench/RESULTS.md section
    .venv/bin/python bench/bench_ntk.py --no-write    # print only
    .venv/bin/python bench/bench_ntk.py --strict      # exit 1 when a target is missed

Targets (issue 2), all measured in this one run (medians of wall-clock times over repeats; the ratio
compares medians taken from interleaved rounds, so both sides see the same machine load):

* ``empirical_ntk(method="structured")`` for the default ``MLP`` (depth 2, relu, float64) at width 1024,
  N = 128 inputs is >= 50x faster than ``method="jacobian"`` (torch.func Jacobian contraction).
  Ceiling: the contraction costs ~2 N^2 P flops against ~4 N P for the structured forward/backward, so the
  speed-up tends to about N/2 .. 0.7 N as the width grows (STYLE.md), ~64-90 here.
* width 4096, N = 128, structured, float32: < 0.2 s.
* ``analytic_ntk`` and ``analytic_nngp`` (relu, depth 2) for N = 1000: < 0.1 s each.

The section between the marker comments in bench/RESULTS.md is replaced; bench_widgets.py owns another
section of the same file. The machine (cores, torch version and threads) and the load average at run time
are recorded: other jobs share these cores, and a load above the core count inflates every number.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402  (bench/_results.py)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
START, END = "<!-- bench_ntk:start -->", "<!-- bench_ntk:end -->"
RATIO_TARGET, F32_TARGET_S, ANALYTIC_TARGET_S = 50.0, 0.2, 0.1


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return float("nan")


def _timed(fn):
    """(wall seconds, CPU seconds of this process) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def measure(cases: dict, repeats: dict, rounds: int) -> dict:
    """Interleaved rounds: in every round each case runs ``repeats[name]`` times. Returns per-case wall/CPU lists."""
    for fn in cases.values():  # warm-up (first-call allocations, torch.func tracing)
        fn()
    out = {name: {"wall": [], "cpu": []} for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            for _ in range(repeats[name]):
                w, c = _timed(fn)
                out[name]["wall"].append(w)
                out[name]["cpu"].append(c)
    return out


def run(rounds: int = 5) -> tuple[list, dict]:
    import torch

    import ntk_teach as nt

    x128 = torch.linspace(-3, 3, 128, dtype=torch.float64)
    x1000 = torch.linspace(-3, 3, 1000, dtype=torch.float64)
    net = nt.MLP(1024, seed=0)  # the default MLP: depth 2, relu, NTK parameterization, float64
    net32 = nt.MLP(4096, seed=0, dtype=torch.float32)
    x128_32 = x128.float()

    # correctness first: the two methods agree (float64), so the ratio compares equal answers
    k_s = nt.empirical_ntk(net, x128, method="structured")
    k_j = nt.empirical_ntk(net, x128, method="jacobian")
    agree = float((k_s - k_j).abs().max() / k_s.abs().max())
    del k_j

    cases = {
        "structured": lambda: nt.empirical_ntk(net, x128, method="structured"),
        "jacobian": lambda: nt.empirical_ntk(net, x128, method="jacobian"),
        "structured_f32_4096": lambda: nt.empirical_ntk(net32, x128_32, method="structured"),
        "analytic_ntk": lambda: nt.analytic_ntk(x1000),
        "analytic_nngp": lambda: nt.analytic_nngp(x1000),
    }
    repeats = {"structured": 5, "jacobian": 1, "structured_f32_4096": 3, "analytic_ntk": 3, "analytic_nngp": 3}
    t = measure(cases, repeats, rounds)
    med = {k: statistics.median(v["wall"]) for k, v in t.items()}
    cpu = {k: statistics.median(v["cpu"]) for k, v in t.items()}
    # per-round ratios (same load within a round) as a robustness check of the ratio of medians
    per_round = []
    for r in range(rounds):
        s = statistics.median(t["structured"]["wall"][r * 5:(r + 1) * 5])
        per_round.append(t["jacobian"]["wall"][r] / s)
    ratio = med["jacobian"] / med["structured"]
    ratio_cpu = cpu["jacobian"] / cpu["structured"]
    rows = [
        ("structured NTK, width 1024, N=128, float64", med["structured"], cpu["structured"], "", ""),
        ("Jacobian contraction (torch.func), same net and inputs", med["jacobian"], cpu["jacobian"], "", ""),
        ("speed-up structured vs Jacobian (ratio of medians)", None, None,
         f"{ratio:.0f}x (CPU-time ratio {ratio_cpu:.0f}x; per-round {min(per_round):.0f}-{max(per_round):.0f}x)",
         f">= {RATIO_TARGET:.0f}x: {'pass' if ratio >= RATIO_TARGET else 'MISS'}"),
        ("structured NTK, width 4096, N=128, float32", med["structured_f32_4096"], cpu["structured_f32_4096"], "",
         f"< {F32_TARGET_S:.1f} s: {'pass' if med['structured_f32_4096'] < F32_TARGET_S else 'MISS'}"),
        ("analytic_ntk, N=1000 (relu, depth 2)", med["analytic_ntk"], cpu["analytic_ntk"], "",
         f"< {ANALYTIC_TARGET_S:.1f} s: {'pass' if med['analytic_ntk'] < ANALYTIC_TARGET_S else 'MISS'}"),
        ("analytic_nngp, N=1000 (relu, depth 2)", med["analytic_nngp"], cpu["analytic_nngp"], "",
         f"< {ANALYTIC_TARGET_S:.1f} s: {'pass' if med['analytic_nngp'] < ANALYTIC_TARGET_S else 'MISS'}"),
    ]
    info = {"agree": agree, "ratio": ratio, "med": med, "params": net.num_params,
            "passed": {"ratio": ratio >= RATIO_TARGET, "f32": med["structured_f32_4096"] < F32_TARGET_S,
                       "analytic_ntk": med["analytic_ntk"] < ANALYTIC_TARGET_S,
                       "analytic_nngp": med["analytic_nngp"] < ANALYTIC_TARGET_S},
            "samples": {k: len(v["wall"]) for k, v in t.items()}}
    return rows, info


def render(rows, info, meta) -> str:
    lines = [
        START,
        "## Empirical and analytic NTK speed (`bench/bench_ntk.py`)",
        "",
        f"Run {meta['date']} on {meta['machine']}: {meta['cpus']} CPUs ({meta['cpu_model']}), Python "
        f"{meta['python']}, torch {meta['torch']} with {meta['threads']} threads; load average "
        f"{meta['load_before']:.1f} before / {meta['load_after']:.1f} after"
        + (" -- **busy machine**: other jobs held the cores, so wall times are inflated; the CPU-time column "
           "is this process's own CPU use." if meta["busy"] else "."),
        "",
        f"Medians of wall-clock times over interleaved rounds ({meta['rounds']} rounds; samples: "
        + ", ".join(f"{k} {v}" for k, v in info["samples"].items()) + "). "
        f"The default MLP at width 1024 has {info['params']:,} parameters; structured and Jacobian NTKs agree "
        f"to {info['agree']:.1e} (relative max difference, float64).",
        "",
        "| case | median wall | median CPU | result | target |",
        "|---|---|---|---|---|",
    ]
    for name, wall, cpu, result, target in rows:
        w = "" if wall is None else f"{wall * 1e3:.1f} ms"
        c = "" if cpu is None else f"{cpu * 1e3:.1f} ms"
        lines.append(f"| {name} | {w} | {c} | {result} | {target} |")
    lines += ["", END]
    return "\n".join(lines)


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replace our marked section of RESULTS.md (or append it); see ``bench/_results.py``."""
    _results.write_section(section, START, END, path)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)

    import torch

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(), "cpus": cpus,
            "cpu_model": _cpu_model(), "python": platform.python_version(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "load_before": _load(), "rounds": args.rounds}
    print(f"{meta['cpus']} CPUs ({meta['cpu_model']}), torch {meta['torch']}, {meta['threads']} threads, "
          f"load average {meta['load_before']:.2f}", flush=True)
    rows, info = run(args.rounds)
    meta["load_after"] = _load()
    meta["busy"] = max(meta["load_before"], meta["load_after"]) > meta["cpus"]
    for name, wall, cpu, result, target in rows:
        w = "" if wall is None else f"{wall * 1e3:9.1f} ms"
        c = "" if cpu is None else f"(CPU {cpu * 1e3:8.1f} ms)"
        print(f"{name:58s} {w:>12s} {c:>18s} {result} {target}")
    print(f"load average after: {meta['load_after']:.2f}" + ("  (busy machine: wall times inflated)"
                                                               if meta["busy"] else ""))
    if not args.no_write:
        write_section(render(rows, info, meta))
        print(f"wrote the bench_ntk section of {RESULTS.relative_to(REPO)}")
    return 1 if args.strict and not all(info["passed"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
