"""coordsim.Simulation, the stepping engine: a run stepped to any times and summarised is the
unstepped run (every column of runs.csv, the fingerprint included); its clock and errors."""

import random
from pathlib import Path

import pytest

import coordsim

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def unstepped(scenario, policy, replication, seed=None):
    s = scenario if seed is None else scenario.with_set([f"seed={seed}"])
    runs = coordsim.run(s, policies=[policy]).runs
    return runs[runs.replication == replication].reset_index(drop=True)


@pytest.mark.parametrize(
    "file, policy, seconds",
    [("pool.toml", "central", 45.0), ("autoscale.toml", "power_of_d", 120.0), ("gray-failure.toml", "peak_ewma", 25.0)],
)
def test_a_stepped_run_is_the_unstepped_run(file, policy, seconds):
    scenario = coordsim.load(SCENARIOS / file, set={"duration": f"{seconds}s", "replications": 2})
    rng = random.Random(28)
    sim = coordsim.Simulation(scenario, policy=policy, replication=1)
    assert sim.now == 0.0 and sim.end == pytest.approx(seconds) and not sim.finished
    t = 0.0
    while t < sim.end:
        t += rng.choice([0.0, 1e-4, rng.uniform(0.0, 3.0)])
        assert sim.run_until(t) == pytest.approx(min(t, sim.end))
        assert sim.run_until(0.0) == pytest.approx(min(t, sim.end)), "a time passed changes nothing"
    assert sim.finished
    stepped = sim.summary()
    whole = unstepped(scenario, policy, 1)
    assert list(stepped.columns) == list(whole.columns)
    assert stepped.equals(whole), (stepped.T, whole.T)
    # Asked again, the same row.
    assert sim.summary().equals(stepped)


def test_seed_and_replication_choose_the_run():
    scenario = coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "30s"})
    a = coordsim.Simulation(scenario, policy="random", seed=7).summary()
    b = coordsim.Simulation(scenario, policy="random", seed=7).summary()
    c = coordsim.Simulation(scenario, policy="random", seed=8).summary()
    assert a.equals(b)
    assert a.fingerprint[0] != c.fingerprint[0]
    assert a.equals(unstepped(scenario, "random", 0, seed=7))


def test_bad_arguments_are_refused():
    scenario = coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "25s"})
    with pytest.raises(ValueError, match="unknown built-in policy `randomm`"):
        coordsim.Simulation(scenario, policy="randomm")
    sim = coordsim.Simulation(scenario)
    with pytest.raises(ValueError, match="expected a number of seconds >= 0"):
        sim.run_until(-1.0)
    # Summarised early, it has run to the end.
    row = sim.summary()
    assert sim.finished and sim.now == sim.end and len(row) == 1
