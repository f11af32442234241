"""Your own autoscaler, judged beside the Rust HPA and no autoscaling on scenarios/autoscale.toml.

The agent below is a proportional rule that also counts the queue: every 15 s it wants
enough replicas for the demand it saw, busy slots + queued requests, at a target
utilisation, ceil(demand / (slots per replica x target)). Utilisation alone cannot exceed
1, so a saturated service looks only "full"; its queue says by how much. It adds replicas
at once and removes one per period, and only after `calm` periods in a row that wanted
fewer (a short stabilisation against flapping). Try other values: with target 0.7 the
flash sale's queue outgrows the capacity still being provisioned and the tail goes back
to seconds; with calm = 4 it costs about 40% more. Copy the class, change ``act``, and rerun:

    python examples/python/own_autoscaler.py
    python examples/python/own_autoscaler.py --duration 300s --replications 1

It prints, per strategy, the cost (replica_seconds: provisioned replicas integrated over
the measured span), p99 latency and failed jobs, and draws cost against p99 to ``--out``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pandas as pd

import coordsim

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "autoscale.toml"


class QueueAware(coordsim.ControlAgent):
    """Replicas for (busy slots + queued) at `target` utilisation; up at once, down slowly."""

    name = "queue_aware"
    services = ["catalog", "pricing", "payment"]
    period = "15s"
    min_replicas = 1
    max_replicas = 24
    provisioning = {"dist": "lognormal", "mean": "20s", "cv": 0.3}  # as the file's HPA

    def __init__(self, target=0.6, calm=2):
        self.target = target
        self.calm = calm
        self.lower_for = {s: 0 for s in self.services}  # periods in a row that wanted fewer

    def act(self, observation):
        actions = []
        for name in self.services:
            o = observation[name]
            if o.span_s <= 0:
                continue  # no data yet
            demand = o.busy_slots + o.queued
            desired = max(self.min_replicas, math.ceil(demand / (o.slots_per_replica * self.target)))
            desired = min(desired, self.max_replicas)
            current = o.provisioned
            if desired > current:
                self.lower_for[name] = 0
                actions.append(coordsim.Scale(name, desired))
            elif desired < current:
                self.lower_for[name] += 1
                if self.lower_for[name] >= self.calm:
                    self.lower_for[name] = 0
                    actions.append(coordsim.Scale(name, current - 1))
            else:
                self.lower_for[name] = 0
        return actions


def compare(agent, duration=None, replications=2, policy="power_of_d", warmup=None):
    """runs.csv rows of no autoscaling, the file's HPA and ``agent``, with a `strategy` column."""
    base = {"duration": duration} if duration else {}
    if warmup:
        base["warmup"] = warmup
    frames = []
    for strategy, active, agents in [("none", [], None), ("hpa", ["hpa"], None), (agent.name, [], [agent])]:
        # control.active = [] for the Python agent: it is added beside the file's agents,
        # which must not act too.
        r = coordsim.run(
            SCENARIO, policies=policy, replications=replications, set={**base, "control.active": active}, agents=agents
        )
        frames.append(r.runs.assign(strategy=strategy))
    return pd.concat(frames, ignore_index=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", default=None, help="simulated duration, e.g. 300s (default: the scenario's, 1200s)")
    ap.add_argument("--warmup", default=None, help="warm-up left out of the figures (default: the scenario's, 60s)")
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--policy", default="power_of_d", help="the placement policy of every run")
    ap.add_argument("--out", default="own_autoscaler.png", help="the chart's path")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    agent = QueueAware()
    runs = compare(agent, args.duration, args.replications, args.policy, warmup=args.warmup)
    strategies = list(dict.fromkeys(runs.strategy))
    columns = ["replica_seconds", "latency_p99_ms", "jobs_failed", "jobs_arrived", "scale_ups", "scale_downs", "flaps"]
    table = runs.groupby("strategy", sort=False)[columns].mean()
    table["failed %"] = 100 * table.jobs_failed / table.jobs_arrived
    print(f"autoscale.toml, placement {args.policy}, {args.replications} replication(s), mean over replications")
    print(table.drop(columns="jobs_arrived").round(3).to_string())

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, strategy in enumerate(strategies):
        rows = runs[runs.strategy == strategy]
        colour = f"C{i}"
        ax.scatter(rows.replica_seconds, rows.latency_p99_ms, color=colour, alpha=0.4, s=20)
        ax.scatter(rows.replica_seconds.mean(), rows.latency_p99_ms.mean(), color=colour, s=90, marker="D", label=strategy)
    ax.set_xlabel("cost: replica-seconds over the measured span")
    ax.set_ylabel("p99 order latency (ms)")
    ax.set_yscale("log")
    ax.set_title("autoscale.toml: cost against tail latency\n(small dots: replications; diamonds: their mean)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
