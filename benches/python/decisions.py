"""Speed of Python placement policies in the engine (issue 27), on scenarios/pool.toml
(16 single-slot replicas, so every decision sees 16 candidates; 1,440 placements per
simulated second).

    .venv/bin/python benches/python/decisions.py [--rounds 5] [--duration 200s]

Prints, as medians over the rounds (each round runs every variant once, interleaved, so a
noisy machine slows all alike): decisions per second of a trivial Python `place` (always
the first candidate) and of a Python re-implementation of `least_outstanding`, and each
whole run's wall time against the same run under the Rust `least_outstanding` and Rust
`random`. Decisions are counted by a separate run of a counting policy (the same
placements), so the timed runs do no counting of their own.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import coordsim

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from test_own_agents import PyLeastOutstanding  # noqa: E402  (the tested re-implementation)


class First(coordsim.Policy):
    """The cheapest possible decision: the first candidate."""

    def place(self, view, task):
        return view.candidates[0]


class Fixed(coordsim.Policy):
    """Crossing only: returns a replica known from setup, reads nothing of the view."""

    def setup(self, topology):
        self.replica = topology.replicas["server"][0]

    def place(self, view, task):
        return self.replica


class ShortestQueue(coordsim.Policy):
    """One numpy array per decision: the shortest queue by probing."""

    def place(self, view, task):
        return view.candidates[int((view.busy + view.queue_lengths).argmin())]


class Objects(coordsim.Policy):
    """The candidates as objects (one per replica per decision)."""

    def place(self, view, task):
        return min(view.replicas, key=lambda r: r.busy + r.queue_length).id


class Counting(coordsim.Policy):
    def __init__(self):
        self.decisions = 0
        Counting.last = self

    def place(self, view, task):
        self.decisions += 1
        Counting.last = self
        return view.candidates[0]


def timed(scenario, policy):
    start = time.perf_counter()
    coordsim.run(scenario, policies=[policy], replications=1, jobs=1)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", default="200s")
    parser.add_argument("--breakdown", action="store_true", help="also time where the time goes: the crossing alone, arrays, objects")
    args = parser.parse_args()
    scenario = coordsim.load(ROOT / "scenarios" / "pool.toml", set={"duration": args.duration, "warmup": "0s"})
    coordsim.run(scenario, policies=[lambda: Counting()], replications=1)
    decisions = Counting.last.decisions
    coordsim.run(scenario, policies=[lambda: Counting()], replications=1)
    # least_outstanding places the same number of jobs (arrivals do not depend on placement).
    variants = {
        "python first candidate": lambda: First(),
        "python least_outstanding": lambda: PyLeastOutstanding(),
        "rust least_outstanding": "least_outstanding",
        "rust random": "random",
    }
    if args.breakdown:
        variants.update(
            {
                "python fixed (crossing)": lambda: Fixed(),
                "python shortest (arrays)": lambda: ShortestQueue(),
                "python shortest (objects)": lambda: Objects(),
            }
        )
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, policy in variants.items():
            times[name].append(timed(scenario, policy))
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["rust least_outstanding"]
    print(f"pool.toml, {args.duration} simulated, {decisions} placements of 16 candidates each, median of {args.rounds} rounds")
    for name, m in medians.items():
        print(
            f"  {name:26s} {m * 1e3:9.1f} ms  {decisions / m:12,.0f} decisions/s  {m / base:6.2f}x rust least_outstanding"
            f"  {(m - medians['rust random']) / decisions * 1e9:8.0f} ns/decision over rust random"
        )


if __name__ == "__main__":
    main()
