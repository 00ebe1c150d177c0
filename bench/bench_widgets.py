"""Widget update speed: every registered demo, driven through its control ranges.

    .venv/bin/python bench/bench_widgets.py                 # all demos, write bench/RESULTS.md section
    .venv/bin/python bench/bench_widgets.py --demo 00.random_nets --no-write

For each demo in ``ntk_teach.viz.registered_demos()`` it opens the interactive view on
the inline path (the path every user has; ipympl is optional), then, for each control,
scrubs it through its range (:func:`ntk_teach.viz.control_values`) forward and back,
``--rounds`` times, the other controls at their defaults, like a learner dragging a slider.
Every event is timed as update (compute + set_data) plus draw (Agg render + PNG encode),
which is all the work the kernel does per slider event. The first visit of a value is
"cold" (empty caches), later visits are warm; both count.

Baseline in the same run: a full re-plot per event (new figure, setup, update, PNG), what a
plain ``interact`` around the static plotting function would do.

Targets (issue 3): median < 150 ms and 95th percentile < 400 ms per demo.
The section between the marker comments in bench/RESULTS.md is replaced; other
benchmarks own the rest of that file.
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

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
START, END = "<!-- bench_widgets:start -->", "<!-- bench_widgets:end -->"
MEDIAN_TARGET_MS, P95_TARGET_MS = 150.0, 400.0


def _p95(xs):
    return float(np.percentile(xs, 95)) if xs else float("nan")


def scrub_values(w, max_values):
    """Forward then back through the control's range (the way a slider is dragged)."""
    from ntk_teach import viz

    vals = viz.control_values(w, max_values=max_values)
    return vals + vals[-2::-1] if len(vals) > 1 else vals


def bench_demo(cls, rounds=2, max_values=8, baseline_events=6):
    from ntk_teach import viz
    from ntk_teach.viz.figure import fast_png

    view = cls.interact(backend="inline")
    defaults = dict(view.params)
    total, update, draw = [], [], []
    for _ in range(rounds):
        for key, w in view.controls.items():
            for v in scrub_values(w, max_values):
                um, dm = view.set(**{key: v})
                update.append(um)
                draw.append(dm)
                total.append(um + dm)
            view.set(**{key: defaults[key]})
    # baseline: a full re-plot per event, same values, warm caches
    base = []
    events = [(k, v) for k, w in view.controls.items() for v in viz.control_values(w, max_values=max_values)]
    step = max(1, len(events) // baseline_events) if events else 1
    for key, v in events[::step][:baseline_events] or [(None, None)]:
        t0 = time.perf_counter()
        fig = cls.plot(**({key: v} if key else {}))
        fast_png(fig)
        base.append((time.perf_counter() - t0) * 1e3)
    view.close()
    return {
        "events": len(total),
        "median": statistics.median(total),
        "p95": _p95(total),
        "max": max(total),
        "update_median": statistics.median(update),
        "draw_median": statistics.median(draw),
        "baseline_median": statistics.median(base),
        "controls": ", ".join(view.controls) or "(none)",
    }


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return float("nan")


def render_section(results, meta) -> str:
    lines = [START, "## Widget updates (`bench/bench_widgets.py`)", "",
             f"Every registered demo driven through its control ranges on the inline path "
             f"(update + Agg draw + PNG per event; forward and back, {meta['rounds']} rounds, cold and warm caches). "
             f"Baseline: a full re-plot per event in the same run. Targets: median < {MEDIAN_TARGET_MS:.0f} ms, "
             f"95th percentile < {P95_TARGET_MS:.0f} ms.", "",
             f"Run {meta['date']} on {meta['machine']}, {meta['cpus']} CPUs, torch threads {meta['threads']}, "
             f"load average {meta['load_before']:.1f} before / {meta['load_after']:.1f} after "
             "(other jobs share these cores; a high load inflates every number).", "",
             "| demo | controls | events | median ms | p95 ms | max ms | update / draw median ms "
             "| full re-plot median ms | in-place speed-up | target |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        ok = r["median"] < MEDIAN_TARGET_MS and r["p95"] < P95_TARGET_MS
        lines.append(f"| `{name}` | {r['controls']} | {r['events']} | {r['median']:.0f} | {r['p95']:.0f} | "
                     f"{r['max']:.0f} | {r['update_median']:.0f} / {r['draw_median']:.0f} | "
                     f"{r['baseline_median']:.0f} | {r['baseline_median'] / r['median']:.1f}x | "
                     f"{'pass' if ok else 'MISS'} |")
    lines += ["", END]
    return "\n".join(lines)


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replace our marked section of RESULTS.md (or append it); see ``bench/_results.py``."""
    _results.write_section(section, START, END, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo", action="append", help="only these demo names (repeatable)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-values", type=int, default=8, help="values per control range")
    ap.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = ap.parse_args(argv)

    import torch

    from ntk_teach import viz

    viz.use_style()
    demos = viz.registered_demos()
    if args.demo:
        unknown = sorted(set(args.demo) - set(demos))
        if unknown:
            print(f"unknown demo(s) {unknown}; registered: {list(demos)}", file=sys.stderr)
            return 2
        demos = {k: v for k, v in demos.items() if k in args.demo}
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(), "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(), "load_before": _load(), "rounds": args.rounds}
    results, failed = {}, []
    for name, cls in demos.items():
        r = bench_demo(cls, rounds=args.rounds, max_values=args.max_values)
        results[name] = r
        ok = r["median"] < MEDIAN_TARGET_MS and r["p95"] < P95_TARGET_MS
        if not ok:
            failed.append(name)
        print(f"{name:40s} events {r['events']:4d}  median {r['median']:6.1f} ms  p95 {r['p95']:6.1f} ms  "
              f"max {r['max']:6.1f} ms  (update {r['update_median']:.1f} + draw {r['draw_median']:.1f}; "
              f"re-plot {r['baseline_median']:.1f} ms)  {'pass' if ok else 'MISS'}", flush=True)
    meta["load_after"] = _load()
    section = render_section(results, meta)
    if not args.no_write:
        write_section(section)
        print(f"wrote the bench_widgets section of {RESULTS.relative_to(REPO)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
