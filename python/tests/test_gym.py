"""The stepping engine's decisions from Python and the environments over it
(docs/model.md section 11): an external agent answered with nothing, or with the HPA's
actions, is the run in which it holds or the HPA's run; Gymnasium's and PettingZoo's own
checkers pass; episodes are reproducible; a Python least-outstanding agent places as well as
the Rust policy; vectorised environments step, reset and equal their sub-environments."""

import math
from pathlib import Path

import numpy as np
import pytest

import coordsim

gymnasium = pytest.importorskip("gymnasium")
from coordsim import gym as cg  # noqa: E402

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

OUTSIDE = (
    'agents = [{ name = "outside", kind = "external", services = ["catalog", "pricing", "payment"], '
    'min_replicas = 1, max_replicas = 24, provisioning = { dist = "lognormal", mean = "20s", cv = 0.3 } }]'
)


def autoscale(active, seconds=200):
    return coordsim.load(SCENARIOS / "autoscale.toml", set={"duration": f"{seconds}s", "control.active": active})


def run_row(scenario, policy, replication=0):
    runs = coordsim.run(scenario, policies=[policy], replications=replication + 1).runs
    return runs[runs.replication == replication].reset_index(drop=True)


def test_an_agent_answered_with_nothing_is_the_run_in_which_it_holds():
    s = autoscale([]).with_agents(OUTSIDE)
    sim = coordsim.Simulation(s, policy="power_of_d")
    decisions = 0
    while True:
        sim.run_until(sim.end)
        if sim.waiting is None:
            break
        assert sim.waiting == "control" and sim.agent == "outside"
        seen = sim.observe()
        assert seen.time_s == pytest.approx(15.0 * (decisions + 1))
        assert set(seen.services) == {"catalog", "pricing", "payment"}
        assert seen["catalog"].latency_p50_s <= seen["catalog"].latency_p99_s
        sim.act([])
        decisions += 1
    assert decisions == 13  # 15 s, 30 s, ..., 195 s
    stepped = sim.summary()
    assert stepped.equals(run_row(s, "power_of_d")), "byte for byte the run in which it holds"
    # Every column but the events (its periods and the scrapes are events) is the run's
    # with no agent at all.
    none = run_row(autoscale([]), "power_of_d")
    left = stepped.drop(columns=["events", "fingerprint"])
    assert left.equals(none.drop(columns=["events", "fingerprint"]))


def test_an_agent_answered_with_the_hpas_actions_is_the_hpas_run():
    hpa = autoscale(["hpa"])
    audited = coordsim.run(hpa, policies=["power_of_d"], replications=1, audit=True)
    log = audited.audit
    scalings = log[(log.action == "scale") & (log.agent == "hpa")]
    assert len(scalings) >= 3
    s = autoscale([]).with_agents(OUTSIDE)
    sim = coordsim.Simulation(s, policy="power_of_d")
    while True:
        sim.run_until(sim.end)
        if sim.waiting is None:
            break
        these = scalings[np.isclose(scalings.time_s, sim.now, rtol=0, atol=1e-9)]
        sim.act([coordsim.Scale(row.service, int(row.value)) for row in these.itertuples()])
    replayed = sim.summary()
    whole = audited.runs
    assert replayed.fingerprint[0] == whole.fingerprint[0]
    assert replayed.drop(columns=["regret"]).equals(whole.drop(columns=["regret"]))


def test_act_and_observe_refuse_what_does_not_wait():
    sim = coordsim.Simulation(coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "25s"}))
    assert sim.waiting is None and sim.observe() is None
    with pytest.raises(RuntimeError, match="no external agent waits"):
        sim.act([])
    with pytest.raises(RuntimeError, match="no placement waits"):
        sim._sim.place(0)
    with pytest.raises(ValueError, match="steer: unknown service `nope`"):
        coordsim.Simulation(SCENARIOS / "mmc.toml", steer="nope")


# Gymnasium and PettingZoo's own checkers.


def test_check_env_passes_on_coord_env_and_placement_env():
    from gymnasium.utils.env_checker import check_env

    coord = cg.CoordEnv(autoscale([], 240), render_mode="ansi")
    check_env(coord, skip_render_check=True)
    both = cg.CoordEnv(autoscale([], 240), policies=["power_of_d", "round_robin"])
    check_env(both, skip_render_check=True)
    placement = cg.PlacementEnv(coordsim.load(SCENARIOS / "pool.toml", set={"duration": "8s", "warmup": "1s"}))
    check_env(placement, skip_render_check=True)


def test_parallel_api_test_passes_on_coord_parallel_env():
    pettingzoo = pytest.importorskip("pettingzoo")
    from pettingzoo.test import parallel_api_test

    env = cg.CoordParallelEnv(autoscale([], 300), neighbours=True, reward=0.5)
    parallel_api_test(env, num_cycles=40)
    env.reset(seed=1)
    assert env.state_space.contains(env.state())
    assert all(env.observation_spaces[a] is env.observation_space(a) for a in env.possible_agents)
    assert sorted(env.possible_agents) == ["catalog", "payment", "pricing"]


# Episodes.


def episode(env, seed, actions):
    obs, info = env.reset(seed=seed)
    out = [obs.tobytes()]
    rng = np.random.default_rng(0)
    while True:
        a = actions(rng, obs)
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((obs.tobytes(), reward, terminated, truncated, repr(sorted(info.items()))))
        if terminated or truncated:
            return out


def test_the_same_seed_gives_the_same_episode_and_another_seed_another():
    env = cg.CoordEnv(autoscale([], 300), scaling=(-1, 1))
    act = lambda rng, obs: rng.integers(0, 3, size=3)  # noqa: E731
    a, b, c = episode(env, 4, act), episode(env, 4, act), episode(env, 5, act)
    assert a == b
    assert a != c
    assert len(a) == 1 + 19  # decisions at 15 s .. 285 s, then the end
    # A reset without a seed runs the next replication of the same seed.
    env.reset(seed=4)
    first = env._core.replication
    env.reset()
    assert env._core.replication == first + 1


def test_placement_episodes_are_reproducible_by_seed():
    s = coordsim.load(SCENARIOS / "pool.toml", set={"duration": "3s", "warmup": "1s"})
    env = cg.PlacementEnv(s, max_steps=3000)
    act = lambda rng, obs: int(rng.integers(0, 16))  # noqa: E731
    a, b, c = episode(env, 11, act), episode(env, 11, act), episode(env, 12, act)
    assert a == b
    assert a != c
    assert len(a) == 1 + 3000 and a[-1][3], "truncated after max_steps"


def test_a_coord_env_episode_adds_up_to_the_runs_figures():
    env = cg.CoordEnv(autoscale([], 300), weights={"slo_missed": 0, "jobs_failed": 0, "replica_seconds": 1.0})
    steps = episode(env, 9, lambda rng, obs: rng.integers(0, 5, size=3))
    total = sum(step[1] for step in steps[1:])
    row = env.summary()
    # With only the replica-seconds weighted, the return is minus the run's replica-seconds.
    assert -total == pytest.approx(float(row.replica_seconds[0]), rel=1e-9)


def test_driving_the_scenarios_own_external_agent_is_driving_an_added_one_alike():
    own = cg.CoordEnv(autoscale([], 300).with_agents(OUTSIDE), agent="outside")
    added = cg.CoordEnv(autoscale([], 300), services=["catalog", "pricing", "payment"], max_replicas=24,
                        provisioning={"dist": "lognormal", "mean": "20s", "cv": 0.3})
    assert own._core.period == 15.0 and own._core.max_replicas == 24
    act = lambda rng, obs: rng.integers(0, 5, size=3)  # noqa: E731
    assert episode(own, 6, act) == episode(added, 6, act)
    with pytest.raises(ValueError, match="not an active external agent"):
        cg.CoordEnv(autoscale([], 300), agent="hpa")
    with pytest.raises(ValueError, match="the scenario's agent 'outside' sets these"):
        cg.CoordEnv(autoscale([], 300).with_agents(OUTSIDE), agent="outside", period=5)


def test_scaling_acts_and_is_clamped():
    env = cg.CoordEnv(autoscale([], 300), scaling=(-2, 2), max_replicas=6)
    env.reset(seed=1)
    for _ in range(8):
        obs, *_ = env.step(np.array([4, 4, 4]))  # +2 each
    seen = env._core.last
    assert all(seen[s].provisioned == 6 for s in ("catalog", "pricing", "payment"))
    assert obs[:, SERVICE("ready_fraction")].max() <= 1.0


def SERVICE(name):
    return cg.SERVICE_FEATURES.index(name)


def test_placement_env_least_outstanding_matches_the_rust_policy():
    # One dispatcher, so that the Rust policy's count of requests sent and not heard back
    # is the replica's running + queued: the Python agent sees the same figure. Ties break
    # at random in Rust and by lowest index here, so the means agree within their noise.
    s = coordsim.load(SCENARIOS / "pool.toml", set={"duration": "65s", "warmup": "5s", "orchestrators": 1})
    env = cg.PlacementEnv(s)
    python, rust = [], []
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        while True:
            load = obs[:, 1] + obs[:, 2] + (1 - obs[:, 0]) * 1e9
            obs, _, terminated, truncated, _ = env.step(int(np.argmin(load)))
            if terminated or truncated:
                break
        python.append(float(env.summary().latency_mean_ms[0]))
        rust.append(float(run_row(s.with_set([f"seed={seed}"]), "least_outstanding").latency_mean_ms[0]))
    diff = np.array(python) - np.array(rust)
    # Paired by seed (same arrivals and sizes): the difference's mean within 4 standard errors.
    se = diff.std(ddof=1) / math.sqrt(len(diff))
    assert abs(diff.mean()) <= 4 * se + 0.01 * np.mean(rust), (python, rust)
    # And it is far better than random placement (M/M/1 at 0.9: 100 ms; JSQ: ~18 ms).
    assert max(python) < 40.0


def test_the_return_of_a_placement_episode_is_minus_the_time_jobs_spent_in_the_system():
    s = coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "30s"})
    env = cg.PlacementEnv(s)
    obs, _ = env.reset(seed=2)
    total, steps = 0.0, 0
    while True:
        obs, r, terminated, truncated, _ = env.step(int(np.argmin(obs[:, 1] + obs[:, 2])))
        total += r
        steps += 1
        if terminated:
            break
    assert steps > 1000
    assert -total == pytest.approx(env._sim.job_seconds, rel=1e-12)
    # Little's law over the run: the time in the system is the jobs' latencies, those still
    # in the system at the end counted to the end (a few, at this load).
    row = env.summary()
    assert -total >= 0.9 * row.jobs_completed[0] * row.latency_mean_ms[0] / 1e3


def test_a_placement_sees_speeds_and_where_sizes_are_known_the_work():
    s = coordsim.load(SCENARIOS / "mixed-fleet.toml", set={"duration": "12s", "warmup": "2s"})
    sim = coordsim.Simulation(s, policy="least_work_left", steer="server")
    sim.run_until(sim.end)
    assert sim.waiting == "placement"
    seen = []
    for _ in range(3000):
        figures, agent, at = sim.placement()
        assert figures.shape == (sim._sim.placement_rows, 7)
        seen.append(figures)
        work_left = figures[:, 5] + (1 - figures[:, 0]) * 1e9
        sim.place(int(np.argmin(work_left)))  # least work left, by hand
        sim.run_until(sim.end)
    figures = np.stack(seen)
    speeds = {round(float(v), 3) for v in figures[0][figures[0][:, 0] == 1, 4]}
    assert speeds == {0.6, 1.0, 1.5}, speeds  # the three groups' speeds
    assert (figures[:, :, 6] > 0).all(), "the task's work is shown (sizes are known)"
    assert (figures[:, :, 6] == figures[:, :1, 6]).all(), "the same work on every row"
    assert (figures[:, :, 5] > 0).any(), "some replicas have work left"
    busy = figures[:, :, 1] + figures[:, :, 2] > 0
    assert (figures[:, :, 5][~busy] == 0).all(), "an idle replica has no work left"


# Vectorisation.


def test_gymnasium_vector_envs_step_and_reset():
    s = autoscale([], 120)
    fns = [lambda: cg.CoordEnv(s) for _ in range(4)]
    for cls in (gymnasium.vector.SyncVectorEnv, gymnasium.vector.AsyncVectorEnv):
        env = cls(fns)
        obs, _ = env.reset(seed=[1, 2, 3, 4])
        assert obs.shape == (4, 3, len(cg.SERVICE_FEATURES))
        for _ in range(4):  # decisions at 15 s .. 105 s: not yet the end
            obs, rewards, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated.any()
        assert rewards.shape == (4,)
        assert len({o.tobytes() for o in obs}) == 4, "each sub-environment has its own seed"
        env.close()
    pool = coordsim.load(SCENARIOS / "pool.toml", set={"duration": "6s", "warmup": "1s"})
    env = gymnasium.vector.AsyncVectorEnv([lambda: cg.PlacementEnv(pool) for _ in range(4)])
    obs, _ = env.reset(seed=7)
    for _ in range(50):
        obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (4, 16, 7)
    env.close()


def test_environments_pickle():
    import pickle

    env = cg.CoordEnv(autoscale([], 120), scaling=(-1, 1))
    again = pickle.loads(pickle.dumps(env))
    assert episode(again, 3, lambda rng, obs: rng.integers(0, 3, size=3)) == episode(
        env, 3, lambda rng, obs: rng.integers(0, 3, size=3)
    )


def test_the_native_vector_env_is_its_sub_environments_stepped_one_by_one():
    s = coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "3s", "warmup": "1s"})
    n, steps = 4, 2500
    vec = cg.make_vec("placement", s, num_envs=n)
    rng = np.random.default_rng(1)
    actions = rng.integers(0, vec.single_action_space.n, size=(steps, n))
    obs, _ = vec.reset(seed=10)
    trace = [(obs.copy(), None, None, None)]
    for t in range(steps):
        obs, r, te, tr, _ = vec.step(actions[t])
        trace.append((obs.copy(), r.copy(), te.copy(), tr.copy()))
    assert any(step[2].any() for step in trace[1:]), "episodes end within the steps"
    for i in range(n):
        env = cg.PlacementEnv(s)
        obs, _ = env.reset(seed=10 + i)
        assert np.array_equal(obs, trace[0][0][i])
        ended = False
        for t in range(steps):
            if ended:
                obs, _ = env.reset()  # the next replication, as the vector env's autoreset
                reward, terminated, truncated = 0.0, False, False
            else:
                obs, reward, terminated, truncated, _ = env.step(int(actions[t][i]))
            ended = terminated or truncated
            o, r, te, tr = trace[t + 1]
            assert np.array_equal(obs, o[i]) and reward == r[i] and terminated == te[i] and truncated == tr[i], (i, t)


# What a review of the environments asked for.


def test_placement_env_holds_the_scenarios_external_agents_and_runs_to_the_end():
    s = autoscale([], 120).with_agents(OUTSIDE)
    env = cg.PlacementEnv(s, service="payment")
    obs, _ = env.reset(seed=3)
    steps = 0
    while True:
        obs, _, terminated, truncated, _ = env.step(int(np.argmax(obs[:, 0])))
        steps += 1
        if terminated or truncated:
            break
    assert env._sim.now == pytest.approx(120.0), "the episode ends at the end of the run"
    assert steps > 100 * 120 * 0.5  # orders arrive at 60..180/s; one payment each


def test_offered_load_follows_the_arrival_rate_beyond_capacity():
    # pool.toml: 16 servers of 10 ms serve 1,600/s; offered loads 0.45, 0.9 and 1.8.
    for rate, load in [(720, 0.45), (1440, 0.9), (2880, 1.8)]:
        s = coordsim.load(SCENARIOS / "pool.toml", set={"duration": "40s", "warmup": "5s", "classes.request.arrival.rate": rate})
        env = cg.CoordEnv(s, scaling=(0, 0))
        obs, _ = env.reset(seed=1)
        seen = [obs[0, SERVICE("offered_load")]]
        while True:
            obs, _, terminated, _, _ = env.step(np.array([0]))
            if terminated:
                break
            seen.append(obs[0, SERVICE("offered_load")])
        assert np.mean(seen) == pytest.approx(load, rel=0.03), (rate, seen)


def test_a_shared_reward_is_coord_envs_reward_and_individual_rewards_add_up_to_it_without_p99():
    weights = {"slo_missed": 1.0, "latency_p99_s": 10.0, "jobs_failed": 2.0, "replica_seconds": 0.01}
    act = np.array([3, 2, 1])
    single = cg.CoordEnv(autoscale([], 200), services=["catalog", "pricing", "payment"], weights=weights)
    single.reset(seed=8)
    shared = cg.CoordParallelEnv(autoscale([], 200), agents=["catalog", "pricing", "payment"], reward="shared", weights=weights)
    shared.reset(seed=8)
    no_p99 = dict(weights, latency_p99_s=0.0)
    own = cg.CoordParallelEnv(autoscale([], 200), agents=["catalog", "pricing", "payment"], weights=no_p99)
    own.reset(seed=8)
    plain = cg.CoordEnv(autoscale([], 200), services=["catalog", "pricing", "payment"], weights=no_p99)
    plain.reset(seed=8)
    for _ in range(5):
        _, r, *_ = single.step(act)
        _, rs, *_ = shared.step({a: [act[i]] for i, a in enumerate(shared.agents)})
        assert all(v == pytest.approx(r, rel=1e-12) for v in rs.values())
        _, ro, *_ = own.step({a: [act[i]] for i, a in enumerate(own.agents)})
        _, rp, *_ = plain.step(act)
        assert sum(ro.values()) == pytest.approx(rp, rel=1e-9)


def test_failed_jobs_in_the_reward_add_up_to_the_runs():
    env = cg.CoordEnv(autoscale([], 400), weights={"slo_missed": 0, "jobs_failed": 1.0, "replica_seconds": 0})
    steps = episode(env, 2, lambda rng, obs: np.array([2, 2, 2]))  # hold: the flash sale fails jobs
    failed = int(env.summary().jobs_failed[0])
    assert failed > 100
    assert -sum(step[1] for step in steps[1:]) == failed


def test_an_agent_left_out_of_the_actions_holds():
    env = cg.CoordParallelEnv(autoscale([], 200), max_replicas=24)
    env.reset(seed=1)
    before = {s: env._core.last[s].provisioned for s in env._core.services}
    for _ in range(4):
        env.step({"catalog": [4]})  # +2 each time for catalog; the others hold
    after = {s: env._core.last[s].provisioned for s in env._core.services}
    assert after["catalog"] == before["catalog"] + 8
    assert after["pricing"] == before["pricing"] and after["payment"] == before["payment"]


def test_resets_without_a_seed_differ_between_environments_and_follow_a_seed():
    env = gymnasium.vector.SyncVectorEnv([lambda: cg.CoordEnv(autoscale([], 120)) for _ in range(3)])
    obs, _ = env.reset()
    assert len({o.tobytes() for o in obs}) == 3, "fresh seeds, as Gymnasium environments draw them"
    env.close()
    single = cg.PlacementEnv(coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "3s", "warmup": "1s"}))
    single.reset(seed=4)
    first = single._replication
    single.reset()
    assert (single._seed, single._replication) == (4, first + 1)
    vec = cg.make_vec("placement", coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "3s", "warmup": "1s"}), num_envs=2)
    a, _ = vec.reset(seed=4)
    b, _ = vec.reset()
    c, _ = vec.reset(seed=4)
    assert np.array_equal(a, c) and vec._replication == 0
    assert vec.np_random_seed == 4


def test_bad_actions_and_steps_out_of_turn_are_refused():
    env = cg.CoordEnv(autoscale([], 120), policies=["power_of_d", "round_robin"])
    env.reset(seed=1)
    with pytest.raises(ValueError, match="policy index 2"):
        env.step(np.array([2, 2, 2, 2, 0, 0]))
    with pytest.raises(ValueError, match="replica deltas must be in -2..2"):
        env.step(np.array([5, 2, 2, 0, 0, 0]))
    placement = cg.PlacementEnv(coordsim.load(SCENARIOS / "mmc.toml", set={"duration": "3s", "warmup": "1s"}))
    with pytest.raises(RuntimeError, match="reset"):
        placement.step(0)
    placement.reset(seed=1)
    with pytest.raises(ValueError, match="expected a replica's row"):
        placement.step(99)
    while not placement.step(0)[2]:
        pass
    with pytest.raises(RuntimeError, match="no placement waits"):
        placement.step(0)


def test_every_environment_pickles_and_async_vector_envs_spawn():
    import pickle

    parallel = cg.CoordParallelEnv(autoscale([], 120), reward=0.3)
    again = pickle.loads(pickle.dumps(parallel))
    acts = {a: [1] for a in parallel.possible_agents}
    parallel.reset(seed=2)
    again.reset(seed=2)
    assert all(np.array_equal(parallel.step(acts)[0][a], again.step(acts)[0][a]) for a in parallel.possible_agents)
    pool = coordsim.load(SCENARIOS / "pool.toml", set={"duration": "6s", "warmup": "1s"})
    vec = pickle.loads(pickle.dumps(cg.make_vec("placement", pool, num_envs=2)))
    assert vec.reset(seed=1)[0].shape == (2, 16, 7)
    env = gymnasium.vector.AsyncVectorEnv([lambda: cg.PlacementEnv(pool) for _ in range(2)], context="spawn")
    obs, _ = env.reset(seed=7)
    obs, *_ = env.step(np.array([0, 1]))
    assert obs.shape == (2, 16, 7)
    env.close()
