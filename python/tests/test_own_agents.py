"""Your own agents in the engine: Python placement policies and control agents judged on
the same footing as the built-in ones. Expected values come from queueing theory or from the
Rust implementation of the same rule, never from the bridge's own output."""

import math
from pathlib import Path

import numpy as np
import pytest

import coordsim

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


class FirstCandidate(coordsim.Policy):
    """Always the first candidate."""

    def place(self, view, task):
        return view.candidates[0]


class PyRoundRobin(coordsim.Policy):
    """`round_robin` re-implemented: each agent cycles through each service's members on its
    own, skipping ejected replicas unless all are."""

    name = "py_round_robin"

    def setup(self, topology):
        self.cursor = {}

    def place(self, view, task):
        members = view.candidates
        n = len(members)
        key = (task.agent, task.service_id)
        cursor = self.cursor.get(key, 0)
        if cursor >= n:  # the membership shrank
            cursor = 0
        ejected = view.ejected
        for _ in range(n):
            i = cursor
            cursor = (cursor + 1) % n
            if not ejected[i]:
                self.cursor[key] = cursor
                return members[i]
        self.cursor[key] = (cursor + 1) % n
        return members[cursor]


class PyLeastOutstanding(coordsim.Policy):
    """`least_outstanding` re-implemented, with its tie-break: reservoir sampling over the
    equal least counts, one draw from the policy's stream per tie met."""

    name = "py_least_outstanding"

    def place(self, view, task):
        return least_with_ties(self, view, view.outstanding)


def least_with_ties(policy, view, values):
    """The candidate of least value, skipping ejected ones unless all are, ties broken as the
    Rust baselines break them: reservoir sampling over the equal least values, one draw from
    the policy's stream per tie met."""
    ejected = view.ejected
    skip_ejected = not bool(ejected.all())
    best, best_value, ties = None, None, 0
    for i, replica in enumerate(view.candidates):
        if skip_ejected and ejected[i]:
            continue
        value = values[i]
        if best is None or value < best_value:
            best, best_value, ties = replica, value, 1
        elif value == best_value:
            ties += 1
            if policy.stream.below(ties) == 0:
                best = replica
    return best


class PyLeastWorkLeft(coordsim.Policy):
    """`least_work_left` re-implemented from the sizes the view shows (`wants_sizes`): the
    candidate with the least work left per slot, ties broken as `least_outstanding`'s."""

    name = "py_least_work_left"
    wants_sizes = True

    def place(self, view, task):
        assert task.work is not None and task.work > 0, "sizes are known on this service"
        return least_with_ties(self, view, view.work_left / view.concurrency)


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


MM1 = """
duration = "{duration}s"
warmup = "100s"
seed = 3
policies = ["random"]
[services.server]
replicas = 1
service_time = {{ dist = "exponential", mean = "10ms" }}
[classes.request]
service = "server"
arrival = {{ process = "poisson", rate = 50 }}
"""


def test_a_python_policy_on_one_replica_gives_the_mm1_figures(tmp_path):
    # M/M/1 with lambda = 50/s, mu = 100/s: the sojourn time is exponential with rate
    # mu - lambda = 50/s, so its mean is 20 ms and its p99 is ln(100) / 50 s = 92.1 ms.
    path = write(tmp_path, MM1.format(duration=2100))
    r = coordsim.run(path, policies=[FirstCandidate()], replications=1)
    row = r.runs.iloc[0]
    assert row.policy == "FirstCandidate"
    assert row.latency_mean_ms == pytest.approx(20.0, rel=0.05)
    assert row.latency_p99_ms == pytest.approx(1000 * math.log(100) / 50, rel=0.06)


@pytest.mark.parametrize(
    "scenario, overrides",
    [
        ("pool.toml", {"duration": "40s", "warmup": "5s"}),
        ("checkout.toml", {"duration": "30s", "warmup": "5s"}),
    ],
)
def test_python_reimplementations_give_the_rust_runs_column_for_column(scenario, overrides):
    r = coordsim.run(
        SCENARIOS / scenario,
        policies=["round_robin", PyRoundRobin(), "least_outstanding", PyLeastOutstanding()],
        replications=2,
        set=overrides,
    )
    runs = r.runs.set_index(["policy", "replication"])
    for rust, python in [("round_robin", "py_round_robin"), ("least_outstanding", "py_least_outstanding")]:
        for rep in (0, 1):
            a, b = runs.loc[(rust, rep)], runs.loc[(python, rep)]
            assert a.fingerprint == b.fingerprint
            different = [c for c in runs.columns if not (a[c] == b[c] or (pd_isnan(a[c]) and pd_isnan(b[c])))]
            assert different == [], f"{python} differs from {rust} in {different}"
            assert a.jobs_completed > 0


def test_a_python_policy_that_wants_sizes_sees_them_and_reimplements_least_work_left():
    s = coordsim.load(SCENARIOS / "mixed-fleet.toml", set={"duration": "40s", "warmup": "5s", "policies": ["least_work_left"]})
    r = coordsim.run(s, policies=["least_work_left", PyLeastWorkLeft()], replications=2)
    runs = r.runs.set_index(["policy", "replication"])
    for rep in (0, 1):
        a, b = runs.loc[("least_work_left", rep)], runs.loc[("py_least_work_left", rep)]
        assert a.fingerprint == b.fingerprint
        different = [c for c in runs.columns if not (a[c] == b[c] or (pd_isnan(a[c]) and pd_isnan(b[c])))]
        assert different == [], f"py_least_work_left differs from least_work_left in {different}"

    class Blind(coordsim.Policy):  # does not ask: sees no sizes
        def place(self, view, task):
            assert task.work is None and np.isnan(view.work_left).all()
            return view.candidates[0]

    coordsim.run(s.with_set(["duration=\"8s\""]), policies=[Blind()], replications=1)


def pd_isnan(value):
    return isinstance(value, float) and math.isnan(value)


class PyHPA(coordsim.ControlAgent):
    """The Kubernetes HPA rule of the Rust `autoscaler` (target 0.6 on utilisation over the
    slots of provisioned replicas, tolerance 0.1, a 300 s stabilisation window for
    scale-downs, at most max(4, 100%) replicas added per 15 s period)."""

    name = "py_hpa"
    services = ["catalog", "pricing", "payment"]
    period = "15s"
    min_replicas = 1
    max_replicas = 24
    provisioning = {"dist": "lognormal", "mean": "20s", "cv": 0.3}

    def __init__(self, target=0.6):
        self.target = target
        self.recommendations = {s: [] for s in self.services}

    def act(self, observation):
        actions = []
        for name in self.services:
            o = observation[name]
            if o.span_s <= 0:
                continue  # no data, no change
            current = o.provisioned
            ratio = o.busy_slots / (max(current, 1) * o.slots_per_replica) / self.target
            raw = current if abs(ratio - 1) <= 0.1 else math.ceil(current * ratio)
            desired = min(max(raw, self.min_replicas), self.max_replicas)
            window = [(t, d) for t, d in self.recommendations[name] if t >= observation.time_s - 300]
            window.append((observation.time_s, desired))
            self.recommendations[name] = window
            chosen = min(max(d for _, d in window), current) if desired < current else desired
            chosen = min(chosen, current + max(4, current))
            if chosen != current:
                actions.append(coordsim.Scale(name, chosen))
        return actions


def test_a_python_hpa_follows_the_rust_hpa_replica_for_replica():
    base = {"duration": "600s", "warmup": "60s"}
    scenario = SCENARIOS / "autoscale.toml"
    rust = coordsim.run(scenario, policies="power_of_d", replications=1, set={**base, "control.active": ["hpa"]})
    python = coordsim.run(
        scenario, policies="power_of_d", replications=1, set={**base, "control.active": []}, agents=[PyHPA()]
    )
    assert rust.runs.scale_ups.iloc[0] > 3, "the HPA must act for the comparison to mean anything"
    columns = ["window_start_s", "service", "replicas"]
    assert rust.timeseries[columns].equals(python.timeseries[columns])
    a, b = rust.runs.iloc[0], python.runs.iloc[0]
    assert a.fingerprint == b.fingerprint
    assert [c for c in rust.runs.columns if not (a[c] == b[c] or (pd_isnan(a[c]) and pd_isnan(b[c])))] == []


def test_python_and_rust_agents_run_together_and_their_conflicts_count():
    class Shrinker(coordsim.ControlAgent):
        """Takes away what the HPA adds: every period, one replica fewer on payment."""

        services = ["payment"]
        period = "15s"
        max_replicas = 24

        def act(self, observation):
            o = observation["payment"]
            return [coordsim.Scale("payment", max(1, o.provisioned - 1))]

    r = coordsim.run(
        SCENARIOS / "autoscale.toml",
        policies="power_of_d",
        replications=1,
        set={"duration": "600s", "warmup": "60s", "control.active": ["hpa"]},
        agents=[Shrinker()],
    )
    row = r.runs.iloc[0]
    assert row.scale_downs > 0 and row.scale_ups > 0
    assert row.agent_conflicts > 0


class Thinker(coordsim.Policy):
    decision_time = "5ms"

    def place(self, view, task):
        return view.candidates[0]


def test_decision_time_delays_every_placement_by_exactly_that_much(tmp_path):
    # Thinking 5 ms before each placement shifts every job's arrival at the queue by 5 ms
    # and changes nothing else: the wait per placement is 5 ms, the mean latency that of
    # M/M/1 (20 ms) plus 5 ms.
    path = write(tmp_path, MM1.format(duration=2100))
    r = coordsim.run(path, policies=[Thinker()], replications=1)
    row = r.runs.iloc[0]
    assert row.placement_wait_mean_ms == pytest.approx(5.0, abs=1e-6)
    assert row.latency_mean_ms == pytest.approx(25.0, rel=0.05)


class RandomPick(coordsim.Policy):
    def place(self, view, task):
        return view.candidates[int(self.rng.integers(len(view)))]


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    s = coordsim.load(SCENARIOS / "pool.toml", set={"duration": "20s", "warmup": "2s"})
    a = coordsim.run(s, policies=[RandomPick()], replications=2)
    b = coordsim.run(s, policies=[RandomPick()], replications=2)
    c = coordsim.run(s, policies=[RandomPick()], replications=2, seed=99)
    assert a.csv == b.csv
    assert list(a.runs.fingerprint) != list(c.runs.fingerprint)
    assert a.runs.fingerprint.iloc[0] != a.runs.fingerprint.iloc[1], "replications differ"


def test_the_view_offers_arrays_and_objects_that_agree():
    seen = []

    class Inspect(coordsim.Policy):
        def place(self, view, task):
            if len(seen) < 50:
                replicas = view.replicas
                seen.append(
                    (
                        list(view.candidates) == [r.id for r in replicas] == list(view.ids),
                        list(view.queue_lengths) == [r.queue_length for r in replicas],
                        list(view.busy) == [r.busy for r in replicas],
                        bool(np.all(view.concurrency == 1)),
                        bool(np.all(view.up)),
                        bool(np.all(view.speed == 1.0)),
                        task.service == "server" and task.job_class == "request" and task.attempt == 0,
                    )
                )
            return view.candidates[0]

    coordsim.run(SCENARIOS / "pool.toml", policies=[Inspect()], replications=1, set={"duration": "2s", "warmup": "0s"})
    assert len(seen) == 50 and all(all(row) for row in seen)


class Raises(coordsim.Policy):
    def place(self, view, task):
        if view.now > 1.0:
            raise RuntimeError("my policy broke")
        return view.candidates[0]


class WrongType(coordsim.Policy):
    def place(self, view, task):
        return "the first one"


class NotACandidate(coordsim.Policy):
    def place(self, view, task):
        return 999


def test_an_exception_in_place_is_a_policy_error_naming_the_run_and_the_task(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(coordsim.PolicyError) as err:
        coordsim.run(SCENARIOS / "pool.toml", policies=["random", Raises()], set={"duration": "5s", "warmup": "0s"}, out=out)
    e = err.value
    assert e.policy == "Raises" and e.method == "place" and e.replication == 0 and e.seed == 1
    assert 1.0 < e.time_s < 1.1
    assert e.task["service"] == "server" and e.task["job_class"] == "request"
    assert isinstance(e.__cause__, RuntimeError) and "my policy broke" in str(e)
    assert e.__cause__.__traceback__ is not None
    assert not out.exists(), "nothing is written by a call that failed"


@pytest.mark.parametrize("policy, cause, words", [(WrongType(), TypeError, "got 'the first one'"), (NotACandidate(), ValueError, "replica 999")])
def test_an_answer_that_is_not_a_candidate_is_a_policy_error(policy, cause, words):
    with pytest.raises(coordsim.PolicyError) as err:
        coordsim.run(SCENARIOS / "pool.toml", policies=[policy], set={"duration": "5s", "warmup": "0s"})
    assert isinstance(err.value.__cause__, cause)
    assert words in str(err.value) and "candidates" in str(err.value)


def test_a_wrong_action_is_a_policy_error_with_the_observation():
    class Wrong(coordsim.ControlAgent):
        services = ["payment"]

        def act(self, observation):
            return [coordsim.Scale("catalog", 3)]

    with pytest.raises(coordsim.PolicyError) as err:
        coordsim.run(SCENARIOS / "autoscale.toml", policies="power_of_d", replications=1, set={"duration": "100s"}, agents=[Wrong()])
    e = err.value
    assert e.method == "act" and e.agent == "Wrong"
    assert e.observation["payment"].provisioned == 2
    assert "not one the agent acts on" in str(e)


def test_a_single_policy_name_and_duplicate_names():
    r = coordsim.run(SCENARIOS / "pool.toml", policies="random", replications=1, set={"duration": "2s", "warmup": "0s"})
    assert list(r.runs.policy) == ["random"]
    with pytest.raises(ValueError, match="more than once"):
        coordsim.run(SCENARIOS / "pool.toml", policies=[FirstCandidate(), FirstCandidate()])


class Tuned(PyLeastOutstanding):
    name = "tuned_least_outstanding"

    def __init__(self):
        self.aggressiveness = 0.7
        self.label = "fair"


def test_the_audit_log_names_a_python_policys_parameters_and_its_decisions(tmp_path):
    import json
    import subprocess

    from test_coordsim import binary

    overrides = {"duration": "3s", "warmup": "0s"}
    r = coordsim.run(
        SCENARIOS / "pool.toml", policies=["least_outstanding", Tuned()], replications=1, set=overrides, audit=True, out=tmp_path / "py"
    )
    lines = [json.loads(line) for line in (tmp_path / "py" / "audit.jsonl").read_text().splitlines()]
    header = [line for line in lines if "parameters" in line]
    assert header == [{"policy": "tuned_least_outstanding", "parameters": {"aggressiveness": 0.7, "label": "fair"}}]
    rust = [dict(line, policy=None) for line in lines if line.get("policy") == "least_outstanding"]
    python = [dict(line, policy=None) for line in lines if line.get("policy") == "tuned_least_outstanding" and "parameters" not in line]
    assert len(rust) > 1000 and python == rust, "the same decisions, explained alike"
    assert len(r.audit) == len(lines)
    # The built-in policy's part is the binary's own audit log, byte for byte.
    subprocess.run(
        [binary(), "run", SCENARIOS / "pool.toml", "--policy", "least_outstanding", "--replications", "1",
         "--set", "duration=3s", "--set", "warmup=0s", "--audit", "--out", tmp_path / "cli"],
        check=True, capture_output=True,
    )
    cli = (tmp_path / "cli" / "audit.jsonl").read_text().splitlines()
    assert cli == (tmp_path / "py" / "audit.jsonl").read_text().splitlines()[: len(cli)]


def test_a_placement_abandoned_while_thinking_leaves_no_request_in_flight(tmp_path):
    # Every job's deadline (10 ms) passes while its placement is thought about (50 ms): no
    # request is ever sent, so the agent's own count of requests in flight must not grow.
    # At 50 jobs/s about 2.5 placements are being thought about at any moment.
    text = MM1.format(duration=200).replace(
        'service = "server"\narrival', 'service = "server"\ndeadline = "10ms"\narrival'
    )
    path = write(tmp_path, text)
    most = []

    class SlowThinker(coordsim.Policy):
        decision_time = "50ms"

        def place(self, view, task):
            most.append(int(view.outstanding.sum()))
            return view.candidates[0]

    r = coordsim.run(path, policies=[SlowThinker()], replications=1)
    assert r.runs.jobs_completed.iloc[0] == 0 and len(most) > 5000
    assert max(most) < 20, max(most)
