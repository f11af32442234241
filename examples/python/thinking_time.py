"""At what thinking time does a smarter placement policy stop paying for itself?

Runs the least-expected-wait policy of own_policy.py on scenarios/checkout.toml at one
order rate with a decision time of 0, 0.5, 1, 2, 3, 4, 5, 10, 20 and 50 ms (the task waits that long,
holding nothing, before its placement takes effect; the placement was decided on the state
seen at the start), beside the built-in policies, and writes

    results/thinking-time/thinking_time.csv  decision time, policy, n, mean and 95% interval
                                              of latency_p99_ms and of the failed share
                                              (jobs_failed / jobs_arrived), and more
    results/thinking-time/thinking_time_runs.csv  every run's runs.csv row (replication r has
                                              the same seed under every policy: pair them)
    results/thinking-time/thinking_time.png  p99 against decision time, the built-ins as lines

    python examples/python/thinking_time.py                       # 300 orders/s, 3 replications
    python examples/python/thinking_time.py --times 0 1 5 --duration 60s --replications 1

Runs of a Python policy run one after another in a process (each decision needs the GIL),
so the decision times are spread over ``--jobs`` worker processes.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import coordsim  # noqa: E402
from own_policy import SCENARIO, LeastExpectedWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ["central", "auction", "gossip", "power_of_d", "random"]
FIGURES = ["latency_p99_ms", "failed_share", "latency_mean_ms", "placement_wait_mean_ms"]

# Student's t, 97.5% quantile, by degrees of freedom (as the sweep's summary.csv uses).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t975(df):
    if df <= 0:
        return math.nan
    if df > 30:
        return 1.96
    return T975[max(k for k in T975 if k <= df)]  # the nearest tabled df below: a little wider


def overrides(rate, duration, warmup):
    s = {"classes.order.arrival.rate": rate}
    if duration:
        s["duration"] = duration
    if warmup:
        s["warmup"] = warmup
    return s


def smart(ms):
    """The policy thinking `ms` milliseconds per decision, under its own name."""
    policy = LeastExpectedWait()
    policy.name = f"{LeastExpectedWait.name}@{ms:g}ms"
    policy.decision_time = f"{ms:g}ms"
    return policy


def run_smart(ms, rate, duration, warmup, replications):
    r = coordsim.run(SCENARIO, policies=[smart(ms)], replications=replications, set=overrides(rate, duration, warmup))
    return r.runs.assign(decision_time_ms=ms)


def run_built_in(rate, duration, warmup, replications):
    r = coordsim.run(SCENARIO, policies=BUILT_IN, replications=replications, set=overrides(rate, duration, warmup), jobs=1)
    return r.runs.assign(decision_time_ms=math.nan)


def summarise(runs):
    runs = runs.assign(failed_share=runs.jobs_failed / runs.jobs_arrived)
    rows = []
    for (policy, ms), cell in runs.groupby(["policy", "decision_time_ms"], dropna=False, sort=False):
        row = {"decision_time_ms": ms, "policy": policy, "n": len(cell)}
        for f in FIGURES:
            x = cell[f].dropna()
            mean, half = x.mean(), t975(len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else math.nan
            row.update({f"{f}_mean": mean, f"{f}_ci95_lo": mean - half, f"{f}_ci95_hi": mean + half})
        rows.append(row)
    return pd.DataFrame(rows)


def label_lines(ax, lines, gap=9.0):
    """Names at the right end of horizontal lines, nudged apart (in points) where they crowd."""
    fig = ax.figure
    fig.canvas.draw()
    to_points = 72.0 / fig.dpi
    ys = sorted((ax.transData.transform((0, y))[1] * to_points, name, y, colour) for name, y, colour in lines)
    placed = []
    for at, name, y, colour in ys:
        where = max(at, placed[-1] + gap) if placed else at
        placed.append(where)
        ax.annotate(name, (1.0, y), xycoords=("axes fraction", "data"), xytext=(3, where - at),
                    textcoords="offset points", va="center", fontsize=8, color=colour)


def draw(table, rate, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = table[table.decision_time_ms.notna()].sort_values("decision_time_ms")
    built = table[table.decision_time_ms.isna()]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, f, label in [
        (axes[0], "latency_p99_ms", "p99 order latency (ms)"),
        (axes[1], "failed_share", "failed share (jobs_failed / jobs_arrived)"),
    ]:
        x = own.decision_time_ms
        ax.plot(x, own[f + "_mean"], "o-", color="k", lw=2, label=f"{LeastExpectedWait.name} (Python), 95% band")
        ax.fill_between(x, own[f + "_ci95_lo"].clip(lower=1e-9 if f == "failed_share" else 1), own[f + "_ci95_hi"],
                        color="k", alpha=0.15)
        for i, (_, b) in enumerate(built.iterrows()):
            ax.axhline(b[f + "_mean"], color=f"C{i}", ls="--", lw=1.2, label=f"{b.policy} (built-in)")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(0, own.decision_time_ms.max() * 1.1)
        ax.set_xticks(list(x))
        ax.set_xticklabels([f"{v:g}" for v in x])
        if f == "failed_share":
            ax.set_yscale("symlog", linthresh=1e-4)
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
        label_lines(ax, [(b.policy, b[f + "_mean"], f"C{i}") for i, (_, b) in enumerate(built.iterrows())])
        ax.set_xlabel("decision time of the Python policy (ms)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"checkout.toml at {rate:g} orders/s (x3 for 30 s): thinking time against the built-in policies "
                 f"(dashed; n = {int(table.n.max())} per point)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=300, help="base order rate (orders/s)")
    ap.add_argument("--times", type=float, nargs="+", default=[0, 0.5, 1, 2, 3, 4, 5, 10, 20, 50], help="decision times (ms)")
    ap.add_argument("--duration", default=None, help="simulated duration (default: the scenario's, 200s)")
    ap.add_argument("--warmup", default=None, help="warm-up (default: the scenario's, 20s)")
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--out-dir", default=str(ROOT / "results" / "thinking-time"))
    args = ap.parse_args(argv)

    start = time.perf_counter()
    common = (args.rate, args.duration, args.warmup, args.replications)
    # spawn: the workers start clean rather than forking a process that holds Rust threads.
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_smart, ms, *common) for ms in sorted(args.times, reverse=True)]
        futures.append(pool.submit(run_built_in, *common))
        runs = pd.concat([f.result() for f in futures], ignore_index=True)
    table = summarise(runs)
    table = pd.concat([table[table.decision_time_ms.notna()].sort_values("decision_time_ms"),
                       table[table.decision_time_ms.isna()]], ignore_index=True)

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "thinking_time.csv", index=False)
    runs.to_csv(out / "thinking_time_runs.csv", index=False)  # per run, for paired comparisons (same seeds)
    draw(table, args.rate, out / "thinking_time.png")
    show = table[["decision_time_ms", "policy", "n", "latency_p99_ms_mean", "latency_p99_ms_ci95_lo",
                  "latency_p99_ms_ci95_hi", "failed_share_mean", "placement_wait_mean_ms_mean"]]
    print(show.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {out / 'thinking_time.csv'} and {out / 'thinking_time.png'} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
