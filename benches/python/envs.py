"""Speed of the learning environments (issue 28), in environment steps per second.

    .venv/bin/python benches/python/envs.py [--rounds 5]

Prints, as medians over the rounds (each round runs every variant once, interleaved, so a
noisy machine slows all alike):

- ``CoordEnv`` on scenarios/autoscale.toml (one step per 15 s control period; a whole
  1,200 s episode per round), the agent holding (the middle action);
- ``PlacementEnv`` on scenarios/pool.toml (one step per placement: 16 replicas, 1,440
  placements per simulated second), a trivial agent (replica ``step mod 16``);
- the native vector environment ``make_vec("placement", pool, num_envs=n)`` for n = 1, 16
  and 64, a vectorised numpy agent (replica ``(step + i) mod 16`` for sub-environment i);
- the baseline measured in the same run: the same placement setting (16 single-slot FCFS
  servers, Poisson arrivals at load 0.9, exponential work) as a pure-Python event loop
  (heapq), the way the load-balancing environments learned placement is studied in are
  written, stepped by the same trivial agent.

Figures are steps per second of wall time, the agent's own time included, and each one's
ratio to the pure-Python baseline.
"""

import argparse
import heapq
import math
import random
import statistics
import time
from pathlib import Path

import numpy as np

import coordsim
from coordsim import gym as cg

ROOT = Path(__file__).resolve().parents[2]


class PurePythonBalancer:
    """Placement on 16 single-slot FCFS servers with Poisson arrivals, one step per arrival,
    observation the servers' queue lengths, reward minus jobs in system times elapsed time:
    a minimal pure-Python discrete-event environment (the baseline)."""

    def __init__(self, servers=16, load=0.9, mean=0.01, seed=0):
        self.n, self.mean = servers, mean
        self.rate = load * servers / mean
        self.rng = random.Random(seed)

    def reset(self):
        self.now = 0.0
        self.queue = [0] * self.n  # jobs at each server, the running one included
        self.events = []  # (time, server) of departures
        self.next_arrival = self.rng.expovariate(self.rate)
        self.jobs = 0
        self._advance()
        return np.array(self.queue, dtype=np.float32)

    def _advance(self):
        # Process departures until the next arrival, integrating jobs in system.
        area = 0.0
        while self.events and self.events[0][0] <= self.next_arrival:
            t, server = heapq.heappop(self.events)
            area += self.jobs * (t - self.now)
            self.now = t
            self.jobs -= 1
            self.queue[server] -= 1
            if self.queue[server] > 0:
                heapq.heappush(self.events, (t + self.rng.expovariate(1 / self.mean), server))
        area += self.jobs * (self.next_arrival - self.now)
        self.now = self.next_arrival
        return area

    def step(self, server):
        self.jobs += 1
        self.queue[server] += 1
        if self.queue[server] == 1:
            heapq.heappush(self.events, (self.now + self.rng.expovariate(1 / self.mean), server))
        self.next_arrival = self.now + self.rng.expovariate(self.rate)
        area = self._advance()
        return np.array(self.queue, dtype=np.float32), -area, False, False, {}


def baseline(steps):
    env = PurePythonBalancer()
    env.reset()
    start = time.perf_counter()
    for k in range(steps):
        env.step(k % 16)
    return steps / (time.perf_counter() - start)


def coord_env(scenario):
    env = cg.CoordEnv(scenario)
    hold = np.array([2, 2, 2])
    env.reset(seed=1)
    steps = 0
    start = time.perf_counter()
    while True:
        _, _, terminated, truncated, _ = env.step(hold)
        steps += 1
        if terminated or truncated:
            break
    return steps / (time.perf_counter() - start)


def placement_env(scenario, steps):
    env = cg.PlacementEnv(scenario, max_steps=steps)
    env.reset(seed=1)
    done, k = False, 0
    start = time.perf_counter()
    while not done:
        _, _, terminated, truncated, _ = env.step(k % 16)
        k += 1
        done = terminated or truncated
    return k / (time.perf_counter() - start)


def vector_env(scenario, n, steps):
    env = cg.make_vec("placement", scenario, num_envs=n)
    env.reset(seed=1)
    offsets = np.arange(n, dtype=np.int64)
    rounds = max(steps // n, 1)
    start = time.perf_counter()
    for k in range(rounds):
        env.step((offsets + k) % 16)
    return rounds * n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=400_000, help="placement steps per measurement")
    args = parser.parse_args()
    autoscale = coordsim.load(ROOT / "scenarios" / "autoscale.toml")
    pool = coordsim.load(ROOT / "scenarios" / "pool.toml")
    variants = {
        "pure-Python event loop (baseline)": lambda: baseline(args.steps // 4),
        "CoordEnv, autoscale.toml": lambda: coord_env(autoscale),
        "PlacementEnv, pool.toml": lambda: placement_env(pool, args.steps),
        "native vector env, 1 sub-env": lambda: vector_env(pool, 1, args.steps),
        "native vector env, 16 sub-envs": lambda: vector_env(pool, 16, args.steps),
        "native vector env, 64 sub-envs": lambda: vector_env(pool, 64, args.steps),
    }
    figures = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, measure in variants.items():
            figures[name].append(measure())
    base = statistics.median(figures["pure-Python event loop (baseline)"])
    print(f"steps per second, median of {args.rounds} rounds (ratio to the pure-Python baseline)")
    for name, values in figures.items():
        median = statistics.median(values)
        spread = f"{min(values):,.0f}-{max(values):,.0f}"
        print(f"  {name:36s} {median:>12,.0f}   x{median / base:6.2f}   (range {spread})")


if __name__ == "__main__":
    main()
