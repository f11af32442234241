"""An autoscaler that learns: tabular Q-learning in plain numpy on coordsim.gym.CoordEnv,
trained on scenarios/autoscale.toml and compared with the Rust HPA and step autoscalers on
seeds it never trained on.

    .venv/bin/python examples/python/learn_autoscaler.py [--episodes 200] [--out results/learn-autoscaler]

The agent: one Q-table shared by the three services (each service is a learner of its own
that looks the table up with its own state: parameter sharing). A service's state is its
utilisation over the last 15 s period in six bands, its p99 against the SLO in three, and
whether replicas it asked for are still being provisioned (they take about 20 s, longer than
a period); its action adds -1, 0, +1 or +2 replicas. Each service is paid minus its own SLO misses and
replica cost over the step (``slo_weight`` per request that missed the 200 ms SLO,
``cost_weight`` per replica-second), and learns with the Q-learning update
(alpha 0.1, gamma 0.9, epsilon-greedy from 0.3 down to 0.02).

Evaluation: on seeds 1..8 (training used 1000 and up), the learned agent (greedy), the
Rust HPA (``hpa``), step scaling (``step``) and no autoscaling, all with the scenario's
``power_of_d`` placement: latency p99, failed jobs and replica-seconds, mean with a 95%
interval (Student t over the seeds), written to ``comparison.csv`` with a chart
``comparison.png`` (needs matplotlib).
"""

import argparse
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

import coordsim
from coordsim import gym as cg

ROOT = Path(__file__).resolve().parents[2]
UTILISATION = np.array([0.3, 0.45, 0.6, 0.7, 0.85])  # band edges: 6 bands
LATENCY = np.array([0.5, 1.0])  # p99 / SLO band edges: 3 bands
DELTAS = (-1, 0, 1, 2)
U, P99 = cg.SERVICE_FEATURES.index("utilisation"), cg.SERVICE_FEATURES.index("latency_p99_slo")
PENDING = cg.SERVICE_FEATURES.index("provisioning_fraction")
STATES = (len(UTILISATION) + 1) * (len(LATENCY) + 1) * 2
T95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}


def states(obs):
    """Each service's state index from its observation row."""
    u = np.searchsorted(UTILISATION, obs[:, U])
    p = np.searchsorted(LATENCY, obs[:, P99])
    pending = (obs[:, PENDING] > 0).astype(int)
    return (u * (len(LATENCY) + 1) + p) * 2 + pending


def service_rewards(env, info, slo_weight, cost_weight):
    """Each service's own reward over the step, from the step's raw figures."""
    per = info["services"]
    return np.array(
        [-(slo_weight * per[s]["slo_missed"] + cost_weight * per[s]["replica_seconds"]) for s in env.services]
    )


def make_env(scenario):
    return cg.CoordEnv(scenario, scaling=(min(DELTAS), max(DELTAS)), max_replicas=24,
                       provisioning={"dist": "lognormal", "mean": "20s", "cv": 0.3})


def train(scenario, episodes, slo_weight, cost_weight, rng):
    env = make_env(scenario)
    q = np.zeros((STATES, len(DELTAS)))
    for episode in range(episodes):
        epsilon = max(0.02, 0.3 * (1 - episode / (0.8 * episodes)))
        obs, _ = env.reset(seed=1000 + episode)
        s = states(obs)
        while True:
            greedy = q[s].argmax(axis=1)
            explore = rng.random(len(s)) < epsilon
            a = np.where(explore, rng.integers(0, len(DELTAS), len(s)), greedy)
            obs, _, terminated, truncated, info = env.step(a)
            r = service_rewards(env, info, slo_weight, cost_weight)
            s2 = states(obs)
            target = r + (0.0 if terminated else 0.9 * q[s2].max(axis=1))
            for i in range(len(s)):  # services share the table: update one by one
                q[s[i], a[i]] += 0.1 * (target[i] - q[s[i], a[i]])
            s = s2
            if terminated or truncated:
                break
    return q


def evaluate_learned(scenario, q, seeds):
    env = make_env(scenario)
    rows = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        while True:
            obs, _, terminated, truncated, _ = env.step(q[states(obs)].argmax(axis=1))
            if terminated or truncated:
                break
        rows.append(env.summary())
    return pd.concat(rows, ignore_index=True)


def evaluate_rust(scenario, active, seeds):
    rows = []
    for seed in seeds:
        s = scenario.with_set([f"control.active={active}", f"seed={seed}"])
        rows.append(coordsim.run(s, policies=["power_of_d"], replications=1).runs)
    return pd.concat(rows, ignore_index=True)


def interval(values):
    values = np.asarray(values, dtype=float)
    n = len(values)
    half = T95.get(n, 1.96) * values.std(ddof=1) / math.sqrt(n)
    return values.mean(), half


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=8, help="evaluation seeds 1..N")
    parser.add_argument("--slo-weight", type=float, default=0.05)
    parser.add_argument("--cost-weight", type=float, default=1 / 15)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "learn-autoscaler")
    args = parser.parse_args()
    scenario = coordsim.load(ROOT / "scenarios" / "autoscale.toml")
    rng = np.random.default_rng(28)
    started = time.perf_counter()
    q = train(scenario, args.episodes, args.slo_weight, args.cost_weight, rng)
    trained = time.perf_counter() - started
    print(f"trained {args.episodes} episodes of {scenario.duration_s:.0f} s in {trained:.1f} s")
    seeds = list(range(1, args.seeds + 1))
    results = {
        "q-learning (learned)": evaluate_learned(scenario, q, seeds),
        "hpa (Rust)": evaluate_rust(scenario, '["hpa"]', seeds),
        "step (Rust)": evaluate_rust(scenario, '["step"]', seeds),
        "no autoscaling": evaluate_rust(scenario, "[]", seeds),
    }
    table = []
    for name, runs in results.items():
        row = {"agent": name}
        for column in ("latency_p99_ms", "jobs_failed", "replica_seconds"):
            mean, half = interval(runs[column])
            row[column] = mean
            row[column + "_ci95"] = half
        table.append(row)
    table = pd.DataFrame(table)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "comparison.csv", index=False)
    with pd.option_context("display.width", 160, "display.float_format", "{:,.1f}".format):
        print(table.to_string(index=False))
    print("greedy action per state (rows: utilisation band; columns: p99/SLO band, each without")
    print("and with replicas still being provisioned):")
    print(np.array(DELTAS)[q.argmax(axis=1)].reshape(len(UTILISATION) + 1, 2 * (len(LATENCY) + 1)))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for _, row in table.iterrows():
        ax.errorbar(row.replica_seconds, row.latency_p99_ms, xerr=row.replica_seconds_ci95,
                    yerr=row.latency_p99_ms_ci95, fmt="o", capsize=4, label=row.agent)
    ax.set_xlabel("replica-seconds (cost)")
    ax.set_ylabel("latency p99 (ms)")
    ax.set_yscale("log")
    ax.set_title(f"autoscale.toml, {len(seeds)} unseen seeds, 95% intervals")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "comparison.png", dpi=120)
    print(f"wrote {args.out / 'comparison.csv'} and {args.out / 'comparison.png'}")


if __name__ == "__main__":
    main()
