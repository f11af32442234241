"""Reinforcement-learning environments over coordsim's stepping engine (docs/model.md
section 11, "Environments"): an episode is one run of a scenario, a step goes to the next
decision, and the reward over a step is a documented function of the run's own figures.

- :class:`CoordEnv` (Gymnasium): one step per control period; the agent scales services
  and/or chooses their placement policies.
- :class:`PlacementEnv` (Gymnasium): one step per placement on one service; the agent picks
  the replica. Its step runs in Rust (the engine stops at the next placement).
- :class:`CoordParallelEnv` (PettingZoo Parallel API): one agent per service (or group of
  services), each seeing its own services and acting on them.
- :func:`make_vec`: a native vector environment of :class:`PlacementEnv`, stepped in Rust
  across the cores with the GIL released (``coordsim.gym.PlacementVecEnv``).

``gymnasium`` is needed (``pip install gymnasium``); ``pettingzoo`` for
:class:`CoordParallelEnv`. Episodes are reproducible: ``reset(seed=s)`` runs the scenario
with master seed ``s`` (every draw of the workload, faults and policies), and a reset
without a seed runs the next replication of the last seed (or, if none was ever given, a
fresh seed, as Gymnasium environments draw one).
"""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError("coordsim.gym needs gymnasium: pip install gymnasium") from error

from . import _coordsim
from ._coordsim import LoadedScenario, Scale, SetPolicy

__all__ = [
    "CoordEnv",
    "PlacementEnv",
    "CoordParallelEnv",
    "PlacementVecEnv",
    "make_vec",
    "SERVICE_FEATURES",
    "PLACEMENT_FEATURES",
    "DEFAULT_WEIGHTS",
]

#: Columns of a :class:`CoordEnv` observation, one row per service (see docs/model.md).
SERVICE_FEATURES = (
    "utilisation",  # busy slots / slots of the replicas present, over the last window
    "queued_per_slot",  # mean requests waiting / slots provisioned
    "latency_p50_slo",  # median response time / the service's SLO (or / 1 s without one)
    "latency_p99_slo",  # 99th percentile / the SLO (or / 1 s)
    "slo_missed_fraction",  # requests that missed the SLO / requests that ended
    "failed_fraction",  # requests that failed / requests that ended
    "ready_fraction",  # replicas taking work / the agent's max_replicas
    "provisioning_fraction",  # replicas provisioned but not yet taking work / max_replicas
    "offered_load",  # arrival rate / what the starting replicas serve when all are busy
    "crashed_fraction",  # replicas a crash fault holds / replicas provisioned
    "slowed_fraction",  # replicas a slowdown fault holds / replicas provisioned
)

#: The largest value of an observation's unbounded columns (values are clipped to it, so
#: that spaces are finite, as learning libraries expect).
HIGH = 1e6

#: Columns of :data:`SERVICE_FEATURES` that are fractions (bounded by 1).
_FRACTIONS = {"utilisation", "slo_missed_fraction", "failed_fraction", "ready_fraction",
              "provisioning_fraction", "crashed_fraction", "slowed_fraction"}


def _service_box(rows: int) -> "spaces.Box":
    high = np.array([1.0 if f in _FRACTIONS else HIGH for f in SERVICE_FEATURES], dtype=np.float32)
    return spaces.Box(0.0, np.tile(high, (rows, 1)), dtype=np.float32)


def _placement_box(rows: int) -> "spaces.Box":
    high = np.array([1.0 if f == "candidate" else HIGH for f in _coordsim.PLACEMENT_COLUMNS], dtype=np.float32)
    return spaces.Box(0.0, np.tile(high, (rows, 1)), dtype=np.float32)


#: Columns of a :class:`PlacementEnv` observation, one row per replica of the service.
PLACEMENT_FEATURES = tuple(_coordsim.PLACEMENT_COLUMNS)

#: Default reward weights (the reward is minus their weighted sum over the step).
DEFAULT_WEIGHTS = {"slo_missed": 1.0, "latency_p99_s": 0.0, "jobs_failed": 1.0, "replica_seconds": 0.01}


def _load(scenario: Union[LoadedScenario, str, os.PathLike, Mapping[str, Any]]) -> LoadedScenario:
    if isinstance(scenario, LoadedScenario):
        return scenario
    from . import load

    return load(scenario)


def _toml_table(table: Mapping[str, Any]) -> str:
    from . import _toml_value

    return "agents = [" + _toml_value(dict(table)) + "]"


class _Controlled:
    """What :class:`CoordEnv` and :class:`CoordParallelEnv` share: the scenario with the
    environment's external agent, the run, the observation rows and the step's figures."""

    AGENT = "gym"

    def __init__(
        self,
        scenario,
        services: Optional[Sequence[str]],
        policy: Optional[str],
        period: Optional[float],
        scaling: Optional[Tuple[int, int]],
        policies: Optional[Sequence[str]],
        min_replicas: Optional[int],
        max_replicas: Optional[int],
        provisioning: Optional[Mapping[str, Any]],
        weights: Optional[Mapping[str, float]],
        replication: int,
        agent: Optional[str] = None,
    ) -> None:
        base = _load(scenario)
        facts = {f["name"]: f for f in base.service_facts()}
        if agent is not None:
            # The scenario's own external agent: its services, period, bounds and arms.
            declared = {a["name"]: a for a in base.external_agents()}
            if agent not in declared:
                raise ValueError(f"agent: {agent!r} is not an active external agent of the scenario; "
                                 f"its external agents: {sorted(declared)}")
            given = {k: v for k, v in dict(services=services, period=period, policies=policies, min_replicas=min_replicas,
                                              max_replicas=max_replicas, provisioning=provisioning).items() if v is not None}
            if given:
                raise ValueError(f"{sorted(given)}: the scenario's agent {agent!r} sets these; give them in the scenario file")
            spec = declared[agent]
            if spec["window_s"] != spec["period_s"] or spec["measurement_delay_s"] != 0:
                import warnings

                warnings.warn(
                    f"agent {agent!r}: its window ({spec['window_s']} s) or measurement delay "
                    f"({spec['measurement_delay_s']} s) is not its period: the reward's SLO and p99 "
                    "terms then count other spans than the step's", stacklevel=3)
            services, period, policies = spec["services"], spec["period_s"], spec["arms"]
            max_replicas = spec["max_replicas"]
        period = 15.0 if period is None else period
        self.agent = agent if agent is not None else self.AGENT
        self.services = list(services) if services is not None else list(facts)
        unknown = [s for s in self.services if s not in facts]
        if unknown:
            raise ValueError(f"services: {unknown} are not services of the scenario; its services: {list(facts)}")
        if not self.services:
            raise ValueError("services: at least one service to act on")
        if scaling is None and not policies:
            raise ValueError("the agent must act: give `scaling` (a (low, high) range of replica deltas) or `policies`")
        if scaling is not None:
            low, high = int(scaling[0]), int(scaling[1])
            if low > 0 or high < 0:
                raise ValueError(f"scaling: expected (low <= 0, high >= 0) replica deltas, found {scaling!r}")
            scaling = (low, high)
        if not period > 0:
            raise ValueError(f"period: expected a number of seconds > 0, found {period!r}")
        self.facts = [facts[s] for s in self.services]
        self.max_replicas = int(max_replicas) if max_replicas is not None else max(4 * max(f["replicas"] for f in self.facts), 8)
        if agent is not None:
            self.scenario = base
        else:
            table: Dict[str, Any] = {
                "name": self.AGENT,
                "kind": "external",
                "services": self.services,
                "period": f"{float(period)}s",
                "min_replicas": 1 if min_replicas is None else int(min_replicas),
                "max_replicas": self.max_replicas,
            }
            if provisioning is not None:
                table["provisioning"] = dict(provisioning)
            if policies:
                table["arms"] = list(policies)
            self.scenario = base.with_agents(_toml_table(table))
        self.policy = policy
        self.period = float(period)
        self.scaling = scaling
        self.policies = list(policies or [])
        self.weights = dict(DEFAULT_WEIGHTS)
        if weights:
            unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
            if unknown:
                raise ValueError(f"weights: unknown terms {unknown}; known: {sorted(DEFAULT_WEIGHTS)}")
            self.weights.update({k: float(v) for k, v in weights.items()})
        self.seed = int(base.seed)
        self.seeded = False
        self.replication = int(replication)
        self.sim: Optional[_coordsim.Simulation] = None
        self.arms = [0] * len(self.services)
        self.last: Optional[Any] = None  # the last Observation
        self.high = _service_box(len(self.services)).high

    # The run.

    def summary(self):
        """The run's row of ``runs.csv`` as a DataFrame (run to the end if it is not)."""
        from . import _frame

        return _frame(self.sim.summary())

    def start(self, seed: Optional[int], replication: Optional[int], np_random) -> None:
        if seed is None and not self.seeded:
            # Never seeded: a fresh seed, as Gymnasium environments draw one (reset(seed=...)
            # for an episode that can be run again).
            seed = int(np_random.integers(2**63))
        if seed is not None:
            self.seed = int(seed)
            self.seeded = True
            self.replication = 0 if replication is None else int(replication)
        elif replication is not None:
            self.replication = int(replication)
        else:
            self.replication += 1  # the next episode of the same seed
        self.sim = _coordsim.Simulation(self.scenario, self.policy, self.seed, self.replication)
        self.arms = [0] * len(self.services)
        self.figures = self.sim.so_far()
        self.running = self.advance()

    def advance(self) -> bool:
        """Runs to the environment agent's next decision; False at the end of the run."""
        sim = self.sim
        while True:
            sim.run_until(sim.end)
            if sim.waiting is None:
                self.last = None
                return False
            if sim.agent == self.agent:
                self.last = sim.observe()
                if sim.now >= sim.end:
                    # A decision at the very end closes the last step; nothing is left to do.
                    sim.act([])
                    sim.run_until(sim.end)
                    return False
                return True
            sim.act([])  # another external agent of the scenario's own: it holds

    def act(self, scale: Sequence[int], arms: Sequence[int]) -> None:
        actions = []
        if scale is not None and self.scaling is not None:
            low, high = self.scaling
            if any(not low <= int(d) <= high for d in scale):
                raise ValueError(f"action: replica deltas must be in {low}..{high}, found {list(map(int, scale))}")
        for i, service in enumerate(self.services):
            seen = self.last[service]
            if scale is not None and scale[i] != 0:
                actions.append(Scale(service, max(0, seen.provisioned + int(scale[i]))))
            if arms is not None and int(arms[i]) != self.arms[i]:
                arm = int(arms[i])
                if not 0 <= arm < len(self.policies):
                    raise ValueError(f"action: policy index {arm} for {service!r} is not in 0..{len(self.policies) - 1}")
                self.arms[i] = arm
                actions.append(SetPolicy(service, self.policies[arm]))
        self.sim.act(actions)

    # What the agent sees and is paid.

    def rows(self, services: Sequence[int]) -> np.ndarray:
        out = np.zeros((len(services), len(SERVICE_FEATURES)), dtype=np.float32)
        if self.last is None:
            return out
        for row, i in enumerate(services):
            o, f = self.last[self.services[i]], self.facts[i]
            slots = max(o.provisioned * o.slots_per_replica, 1)
            scale = f["slo_s"] or 1.0
            ended = max(o.requests, 1)
            rate = o.arrivals / o.span_s if o.span_s > 0 else 0.0
            out[row] = (
                o.utilisation or 0.0,
                o.queued / slots,
                (o.latency_p50_s or 0.0) / scale,
                (o.latency_p99_s or 0.0) / scale,
                o.slo_missed / ended,
                o.failures / ended,
                o.ready / self.max_replicas,
                max(o.provisioned - o.ready, 0) / self.max_replicas,
                rate / max(f["capacity_rps"], 1e-9),
                o.crashed / max(o.provisioned, 1),
                o.slowed / max(o.provisioned, 1),
            )
        return np.minimum(out, self.high[: len(services)])

    def step_figures(self, before: Dict[str, Any]) -> Dict[str, Any]:
        """The step's figures: per service (SLO misses, p99, requests, replica-seconds) from
        the observation at its end (whose window is the step), and the run's failed jobs,
        replica-seconds, cost, flaps and conflicts over the step."""
        now = self.sim.so_far()
        figures = {
            "time_s": self.sim.now,
            "jobs_completed": now["jobs_completed"] - before["jobs_completed"],
            "jobs_failed": now["jobs_failed"] - before["jobs_failed"],
            "replica_seconds": now["replica_seconds"] - before["replica_seconds"],
            "cost": now["cost"] - before["cost"],
            "flaps": now["flaps"] - before["flaps"],
            "agent_conflicts": now["agent_conflicts"] - before["agent_conflicts"],
            "services": {},
        }
        for service in self.services:
            o = None if self.last is None else self.last[service]
            figures["services"][service] = {
                "requests": 0 if o is None else o.requests,
                "slo_missed": 0 if o is None else o.slo_missed,
                "latency_p99_s": 0.0 if o is None or o.latency_p99_s is None else o.latency_p99_s,
                "replica_seconds": now["replica_seconds_by_service"][service]
                - before["replica_seconds_by_service"][service],
                "provisioned": 0 if o is None else o.provisioned,
            }
        self.figures = now
        return figures

    def cost_of(self, figures: Dict[str, Any], services: Sequence[str], failed_share: float) -> float:
        """Minus the weighted sum of the step's figures over `services` (their SLO misses,
        worst p99, replica-seconds) and `failed_share` of its failed jobs."""
        w = self.weights
        per = [figures["services"][s] for s in services]
        return -(
            w["slo_missed"] * sum(p["slo_missed"] for p in per)
            + w["latency_p99_s"] * max((p["latency_p99_s"] for p in per), default=0.0)
            + w["replica_seconds"] * sum(p["replica_seconds"] for p in per)
            + w["jobs_failed"] * failed_share * figures["jobs_failed"]
        )

    def line(self, reward: float) -> str:
        parts = [f"t={self.sim.now:8.1f}s reward {reward:10.3f}"]
        for service in self.services:
            o = None if self.last is None else self.last[service]
            if o is None:
                parts.append(f"{service} -")
            else:
                p99 = "-" if o.latency_p99_s is None else f"{o.latency_p99_s * 1e3:.0f}ms"
                u = "-" if o.utilisation is None else f"{o.utilisation:.2f}"
                parts.append(f"{service} {o.provisioned}r u={u} p99={p99}")
        return " | ".join(parts)


class CoordEnv(gymnasium.Env):
    """A Gymnasium environment: one step per control period of a scenario's run.

    The environment adds an ``external`` control agent named ``gym`` over ``services``
    (default: all) to the scenario and answers it each ``period`` seconds (default 15);
    with ``agent="name"`` it drives that ``external`` agent of the scenario instead, whose
    services, period, bounds and policies the file gives. The scenario's other active
    agents run alongside it (their conflicts with it are counted).

    Observation: ``Box`` of shape ``(len(services), len(SERVICE_FEATURES))``, float32, a row
    per service in the order of ``services``, columns :data:`SERVICE_FEATURES`, from the
    monitoring figures of the last ``period`` (docs/model.md section 10); fractions are in
    [0, 1], the other columns in [0, ``HIGH``] (clipped).

    Action: ``MultiDiscrete``: with ``scaling=(low, high)`` (default ``(-2, 2)``) one entry
    per service, entry ``a`` meaning "add ``a + low`` replicas" (clamped to ``min_replicas``
    and ``max_replicas``, default 4 x the largest starting count, at least 8); with
    ``policies=[...]`` one entry per service choosing its placement policy (index into the
    list; the first places until changed); with both, the scaling entries first.

    Reward: minus ``weights["slo_missed"]`` x requests that missed their service's SLO,
    ``+ weights["latency_p99_s"]`` x the worst service p99 in seconds, ``+
    weights["jobs_failed"]`` x jobs that failed, ``+ weights["replica_seconds"]`` x
    replica-seconds (defaults :data:`DEFAULT_WEIGHTS`), over the step. Failed jobs and
    replica-seconds are the run's (from the end of the warm-up: summed over an episode they
    are ``runs.csv``'s); SLO misses and p99 come from the observation closing the step (its
    window is the step), so the last step, which closes at the end of the run rather than
    at a decision, counts only failed jobs and replica-seconds. ``info`` has the raw figures.

    ``terminated`` at the scenario's end; ``truncated`` after ``max_steps`` steps.
    ``render_mode="ansi"``: ``render()`` returns one line per step.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        scenario,
        *,
        services: Optional[Sequence[str]] = None,
        policy: Optional[str] = None,
        period: Optional[float] = None,
        scaling: Optional[Tuple[int, int]] = (-2, 2),
        policies: Optional[Sequence[str]] = None,
        min_replicas: Optional[int] = None,
        max_replicas: Optional[int] = None,
        provisioning: Optional[Mapping[str, Any]] = None,
        weights: Optional[Mapping[str, float]] = None,
        max_steps: Optional[int] = None,
        replication: int = 0,
        render_mode: Optional[str] = None,
        agent: Optional[str] = None,
    ) -> None:
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode: expected None or 'ansi', found {render_mode!r}")
        self._config = dict(
            services=services, policy=policy, period=period, scaling=scaling, policies=policies,
            min_replicas=min_replicas, max_replicas=max_replicas, provisioning=provisioning,
            weights=weights, max_steps=max_steps, replication=replication, render_mode=render_mode,
            agent=agent,
        )
        self._source = _load(scenario)
        self._core = _Controlled(
            self._source, services, policy, period, scaling, policies, min_replicas, max_replicas,
            provisioning, weights, replication, agent,
        )
        core = self._core
        n = len(core.services)
        self.observation_space = _service_box(n)
        nvec = []
        if core.scaling is not None:
            nvec += [core.scaling[1] - core.scaling[0] + 1] * n
        if core.policies:
            nvec += [len(core.policies)] * n
        self.action_space = spaces.MultiDiscrete(nvec)
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._steps = 0
        self._line = ""

    @property
    def services(self) -> List[str]:
        """The services of the observation's rows and of the action's entries."""
        return list(self._core.services)

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        super().reset(seed=seed)
        replication = None if not options else options.get("replication")
        self._core.start(seed, replication, self.np_random)
        self._steps = 0
        self._line = self._core.line(0.0)
        return self._core.rows(range(len(self._core.services))), {"time_s": self._core.sim.now}

    def step(self, action):
        core = self._core
        if core.sim is None or not core.running:
            raise RuntimeError("step: call reset() first (the episode has ended)")
        action = np.asarray(action, dtype=np.int64).reshape(-1)
        n = len(core.services)
        scale = arms = None
        if core.scaling is not None:
            scale = action[:n] + core.scaling[0]
            arms = action[n:] if core.policies else None
        else:
            arms = action
        core.act(scale, arms)
        before = core.figures
        running = core.running = core.advance()
        figures = core.step_figures(before)
        reward = core.cost_of(figures, core.services, 1.0)
        self._steps += 1
        truncated = running and self.max_steps is not None and self._steps >= self.max_steps
        self._line = core.line(reward)
        obs = core.rows(range(n))
        return obs, float(reward), not running, bool(truncated), figures

    def render(self):
        if self.render_mode == "ansi":
            return self._line + "\n"
        return None

    def summary(self):
        """The episode's run as its row of ``runs.csv`` (a DataFrame; the run is finished
        first, its remaining decisions held)."""
        return self._core.summary()

    def close(self) -> None:
        self._core.sim = None

    def __getstate__(self):
        # A run in progress is not carried: an unpickled environment starts with reset().
        return {"scenario": self._source.to_toml(), "config": self._config}

    def __setstate__(self, state):
        from . import loads

        self.__init__(loads(state["scenario"]), **state["config"])


class PlacementEnv(gymnasium.Env):
    """A Gymnasium environment: one step per placement decision on one ``service`` (default:
    the scenario's first); the scenario's placement ``policy`` places the other services.

    Observation: ``Box`` of shape ``(replicas, 7)``, float32, a row per replica of the service
    (every replica it may ever have, in id order), columns :data:`PLACEMENT_FEATURES`:
    ``candidate`` (1 if it may be chosen now: a member, not ejected), ``running``,
    ``queued``, ``slots``, ``speed``, ``work_left_s`` (time to finish what it holds) and
    ``task_work_s`` (the task's work, the same in every row), the last two 0 unless the
    scenario says the service's sizes are known. These are what any built-in policy's view
    shows (docs/model.md).

    Action: ``Discrete(replicas)``, the row of the chosen replica. A replica that is not a
    candidate rejects the task (it fails, as a policy's rejection does). External agents of
    the scenario hold.

    Reward: minus the number of jobs in the system times the time the step took, in
    job-seconds (every job, warm-up included), so that an episode's return is minus the
    total time jobs spent in the system. ``terminated`` at the scenario's end;
    ``truncated`` after ``max_steps``. The step runs in Rust: the engine stops at the
    next placement on the service.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 30}

    def __init__(
        self,
        scenario,
        *,
        service: Optional[str] = None,
        policy: Optional[str] = None,
        max_steps: Optional[int] = None,
        replication: int = 0,
        render_mode: Optional[str] = None,
    ) -> None:
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode: expected None or 'ansi', found {render_mode!r}")
        self._config = dict(service=service, policy=policy, max_steps=max_steps, replication=replication, render_mode=render_mode)
        self._scenario = _load(scenario)
        facts = {f["name"]: f for f in self._scenario.service_facts()}
        self.service = service if service is not None else next(iter(facts))
        if self.service not in facts:
            raise ValueError(f"service: {self.service!r} is not a service of the scenario; its services: {list(facts)}")
        probe = _coordsim.Simulation(self._scenario, policy, None, 0, self.service)
        rows = probe.placement_rows
        self.observation_space = _placement_box(rows)
        self.action_space = spaces.Discrete(rows)
        self.policy = policy
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._seed = int(self._scenario.seed)
        self._seeded = False
        self._replication = int(replication)
        self._sim: Optional[_coordsim.Simulation] = None
        self._steps = 0
        self._last = (0, 0.0)

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        super().reset(seed=seed)
        replication = None if not options else options.get("replication")
        if seed is None and not self._seeded:
            seed = int(self.np_random.integers(2**63))  # never seeded: a fresh seed
        if seed is not None:
            self._seed, self._replication, self._seeded = int(seed), int(replication or 0), True
        elif replication is not None:
            self._replication = int(replication)
        else:
            self._replication += 1
        self._sim = _coordsim.Simulation(self._scenario, self.policy, self._seed, self._replication, self.service)
        self._steps = 0
        waiting = self._sim.next_placement()
        if waiting is None:
            return np.zeros(self.observation_space.shape, np.float32), {"time_s": self._sim.now}
        return waiting[0], {"time_s": waiting[2]}

    def step(self, action):
        if self._sim is None:
            raise RuntimeError("step: call reset() first")
        obs, added, finished = self._sim.place_and_run(int(action))
        self._steps += 1
        truncated = not finished and self.max_steps is not None and self._steps >= self.max_steps
        self._last = (int(action), added)
        return obs, -added, finished, truncated, {}

    def render(self):
        if self.render_mode == "ansi":
            sim = self._sim
            return f"t={sim.now:10.6f}s placed on {self._last[0]} jobs in system {sim.jobs_in_system} reward {-self._last[1]:.6f}\n"
        return None

    def summary(self):
        """The episode's run as its row of ``runs.csv`` (a DataFrame; the run is finished
        first, its remaining placements rejected)."""
        from . import _frame

        return _frame(self._sim.summary())

    def close(self) -> None:
        self._sim = None

    def __getstate__(self):
        return {"scenario": self._scenario.to_toml(), "config": self._config}

    def __setstate__(self, state):
        from . import loads

        self.__init__(loads(state["scenario"]), **state["config"])


class PlacementVecEnv(gymnasium.vector.VectorEnv):
    """A native vector environment of :class:`PlacementEnv`: ``num_envs`` runs of the
    scenario stepped in one call in Rust, with the GIL released and the runs spread over
    the cores. Sub-environment ``i`` runs master seed ``seed + i`` (``reset(seed=s)``; a
    list gives each its own), replication 0 and then, after each episode, the next
    replication; its episodes are exactly :class:`PlacementEnv`'s with the same seed and
    replication. Observations ``(num_envs, replicas, 7)`` float32, actions an int array of
    ``num_envs`` rows, rewards float64; a sub-environment that ended is reset at the next
    step, whose action for it is ignored (``AutoresetMode.NEXT_STEP``)."""

    metadata = {"autoreset_mode": gymnasium.vector.AutoresetMode.NEXT_STEP, "render_modes": []}

    def __getstate__(self):
        return {"scenario": self._scenario, "num_envs": self.num_envs, "config": self._config}

    def __setstate__(self, state):
        self.__init__(state["scenario"], state["num_envs"], **state["config"])

    def __init__(
        self,
        scenario,
        num_envs: int,
        *,
        service: Optional[str] = None,
        policy: Optional[str] = None,
        max_steps: Optional[int] = None,
    ) -> None:
        self._scenario = _load(scenario)
        facts = [f["name"] for f in self._scenario.service_facts()]
        self.service = service if service is not None else facts[0]
        self._core = _coordsim.PlacementVec(self._scenario, self.service, int(num_envs), policy, max_steps)
        rows = self._core.rows
        self.num_envs = int(num_envs)
        self.single_observation_space = _placement_box(rows)
        self.single_action_space = spaces.Discrete(rows)
        self.observation_space = gymnasium.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gymnasium.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self._config = dict(service=service, policy=policy, max_steps=max_steps)
        self._seeds: Optional[List[int]] = None
        self._replication = 0

    def reset(self, *, seed: Union[None, int, Sequence[int]] = None, options: Optional[Dict[str, Any]] = None):
        """Starts every sub-environment: with ``seed`` (an int: sub-environment ``i`` runs
        ``seed + i``; a list: one each), replication 0; without, the next replication of the
        last seeds (fresh seeds if none was ever given). ``options`` are not used."""
        if seed is None and self._seeds is None:
            seed = int(np.random.default_rng().integers(2**62))
        if seed is not None:
            seeds = [int(seed) + i for i in range(self.num_envs)] if isinstance(seed, (int, np.integer)) else [int(s) for s in seed]
            self._seeds, self._replication = seeds, 0
            self._np_random, self._np_random_seed = gymnasium.utils.seeding.np_random(seeds[0])
        else:
            self._replication += 1
        return self._core.reset(self._seeds, self._replication), {}

    def step(self, actions):
        obs, rewards, terminated, truncated = self._core.step(np.asarray(actions, dtype=np.int64).reshape(-1))
        return obs, rewards, terminated, truncated, {}

    def close_extras(self, **kwargs) -> None:
        self._core = None


def make_vec(kind: str, scenario, num_envs: int, **kwargs) -> gymnasium.vector.VectorEnv:
    """A native vector environment: ``make_vec("placement", scenario, num_envs=64)`` is a
    :class:`PlacementVecEnv` (keywords: ``service``, ``policy``, ``max_steps``)."""
    if kind != "placement":
        raise ValueError(f"make_vec: the native vector environment is 'placement'; found {kind!r} "
                         "(for CoordEnv use gymnasium.vector.SyncVectorEnv or AsyncVectorEnv)")
    return PlacementVecEnv(scenario, num_envs, **kwargs)


class _NoPettingZoo:
    """Stands in for pettingzoo's ParallelEnv when pettingzoo is not installed."""


try:
    from pettingzoo import ParallelEnv as _ParallelEnv
except ImportError:  # pragma: no cover - pettingzoo is optional
    _ParallelEnv = _NoPettingZoo


class CoordParallelEnv(_ParallelEnv):
    """A PettingZoo Parallel environment: agents that each own part of the system
    (docs/model.md section 11), one step per control period.

    ``agents``: None (one agent per service, named after it), a list of service names,
    or a dict ``{agent: [services]}``. Each agent observes its own services' rows
    (columns :data:`SERVICE_FEATURES`, as :class:`CoordEnv`) and, with
    ``neighbours=True``, also the rows of the services they call and that call them (after
    its own); it acts on its own services only (``MultiDiscrete``, as :class:`CoordEnv`'s
    action over its services). All agents decide at the same instants, from the same
    observations, and their actions are carried out together; an agent missing from the
    actions holds.

    Rewards: each agent's own term is minus the weighted SLO misses, worst p99 and
    replica-seconds of its services plus an equal share of the failed jobs
    (:data:`DEFAULT_WEIGHTS`); ``reward="individual"`` pays each agent its own term,
    ``"shared"`` pays every agent the team's (:class:`CoordEnv`'s reward: the sum of the
    terms, with the worst p99 over all services), a number ``a`` in [0, 1] pays ``a`` x own
    + (1 - a) x team. ``infos`` carry the step's figures, ``agent_conflicts`` and ``flaps``
    among them. Seeds as :class:`CoordEnv`'s.
    """

    metadata = {"name": "coordsim_parallel_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(
        self,
        scenario,
        *,
        agents: Union[None, Sequence[str], Mapping[str, Sequence[str]]] = None,
        neighbours: bool = False,
        reward: Union[str, float] = "individual",
        policy: Optional[str] = None,
        period: Optional[float] = None,
        scaling: Optional[Tuple[int, int]] = (-2, 2),
        policies: Optional[Sequence[str]] = None,
        min_replicas: Optional[int] = None,
        max_replicas: Optional[int] = None,
        provisioning: Optional[Mapping[str, Any]] = None,
        weights: Optional[Mapping[str, float]] = None,
        max_steps: Optional[int] = None,
        replication: int = 0,
        render_mode: Optional[str] = None,
    ) -> None:
        if _ParallelEnv is _NoPettingZoo:
            raise ImportError("coordsim.gym.CoordParallelEnv needs pettingzoo: pip install pettingzoo")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode: expected None or 'ansi', found {render_mode!r}")
        self._config = dict(
            agents=agents, neighbours=neighbours, reward=reward, policy=policy, period=period, scaling=scaling,
            policies=policies, min_replicas=min_replicas, max_replicas=max_replicas, provisioning=provisioning,
            weights=weights, max_steps=max_steps, replication=replication, render_mode=render_mode,
        )
        self._source = _load(scenario)
        if isinstance(reward, str):
            if reward not in ("individual", "shared"):
                raise ValueError(f"reward: expected 'individual', 'shared' or a number in [0, 1], found {reward!r}")
            self._own = 1.0 if reward == "individual" else 0.0
        else:
            self._own = float(reward)
            if not 0.0 <= self._own <= 1.0:
                raise ValueError(f"reward: expected a number in [0, 1], found {reward!r}")
        base = self._source
        names = [f["name"] for f in base.service_facts()]
        if agents is None:
            owned = {s: [s] for s in names}
        elif isinstance(agents, Mapping):
            owned = {str(a): [s] if isinstance(s, str) else list(s) for a, s in agents.items()}
        elif isinstance(agents, (set, frozenset)):
            raise TypeError("agents: give a list or a dict (a set has no order, and the agents' order is part of the environment)")
        else:
            owned = {str(s): [str(s)] for s in agents}
        everyone = [s for services in owned.values() for s in services]
        if len(set(everyone)) != len(everyone):
            raise ValueError(f"agents: a service belongs to one agent only; got {owned}")
        self._core = _Controlled(
            base, everyone, policy, period, scaling, policies, min_replicas, max_replicas,
            provisioning, weights, replication,
        )
        core = self._core
        index = {s: i for i, s in enumerate(core.services)}
        facts = {f["name"]: f for f in base.service_facts()}
        self._own_rows = {a: [index[s] for s in services] for a, services in owned.items()}
        self._seen_rows = {}
        for a, services in owned.items():
            rows = [index[s] for s in services]
            if neighbours:
                near = []
                for s in services:
                    near += [c for c in facts[s]["calls"]]
                    near += [o for o, f in facts.items() if s in f["calls"]]
                rows += [index[n] for n in dict.fromkeys(near) if n in index and index[n] not in rows]
            self._seen_rows[a] = rows
        self.possible_agents = list(owned)
        self.agents = []
        self._observation_spaces = {
            a: _service_box(len(self._seen_rows[a]))
            for a in self.possible_agents
        }
        self._action_spaces = {}
        for a in self.possible_agents:
            n = len(self._own_rows[a])
            nvec = []
            if core.scaling is not None:
                nvec += [core.scaling[1] - core.scaling[0] + 1] * n
            if core.policies:
                nvec += [len(core.policies)] * n
            self._action_spaces[a] = spaces.MultiDiscrete(nvec)
        self._owned = owned
        # PettingZoo's declared attributes, for tools that read them rather than the methods.
        self.observation_spaces = self._observation_spaces
        self.action_spaces = self._action_spaces
        self.state_space = _service_box(len(core.services))
        self.max_steps = max_steps
        self.render_mode = render_mode
        self._steps = 0
        self._line = ""

    def _rng(self, seed):
        """The generator a fresh seed is drawn from when none was ever given."""
        if seed is not None or not hasattr(self, "_np_random"):
            self._np_random = np.random.default_rng(seed)
        return self._np_random

    def observation_space(self, agent):
        return self._observation_spaces[agent]

    def action_space(self, agent):
        return self._action_spaces[agent]

    def _observations(self):
        return {a: self._core.rows(self._seen_rows[a]) for a in self.agents}

    def reset(self, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None):
        replication = None if not options else options.get("replication")
        self._core.start(seed, replication, self._rng(seed))
        self.agents = list(self.possible_agents) if self._core.running else []
        self._steps = 0
        self._line = self._core.line(0.0)
        infos = {a: {"time_s": self._core.sim.now} for a in self.agents}
        return self._observations(), infos

    def step(self, actions):
        core = self._core
        if not self.agents:
            raise RuntimeError("step: call reset() first (the episode has ended)")
        n = len(core.services)
        scale = np.zeros(n, dtype=np.int64) if core.scaling is not None else None
        arms = np.array(core.arms, dtype=np.int64) if core.policies else None
        for a in self.agents:
            if a not in actions:
                continue  # an agent without an action holds
            act = np.asarray(actions[a], dtype=np.int64).reshape(-1)
            rows = self._own_rows[a]
            k = len(rows)
            if scale is not None:
                scale[rows] = act[:k] + core.scaling[0]
                if arms is not None:
                    arms[rows] = act[k:]
            else:
                arms[rows] = act
        core.act(scale, arms)
        before = core.figures
        running = core.running = core.advance()
        figures = core.step_figures(before)
        share = 1.0 / len(self.possible_agents)
        own = {a: core.cost_of(figures, self._owned[a], share) for a in self.agents}
        team = core.cost_of(figures, core.services, 1.0)  # CoordEnv's reward
        rewards = {a: float(self._own * own[a] + (1.0 - self._own) * team) for a in self.agents}
        self._steps += 1
        truncated = running and self.max_steps is not None and self._steps >= self.max_steps
        obs = self._observations()
        terminations = {a: not running for a in self.agents}
        truncations = {a: bool(truncated) for a in self.agents}
        infos = {
            a: {**{k: v for k, v in figures.items() if k != "services"},
                "services": {s: figures["services"][s] for s in self._owned[a]}}
            for a in self.agents
        }
        self._line = core.line(team)
        if not running or truncated:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode == "ansi":
            return self._line + "\n"
        return None

    def close(self):
        self._core.sim = None

    def state(self):
        return self._core.rows(range(len(self._core.services)))

    def __getstate__(self):
        return {"scenario": self._source, "config": self._config}

    def __setstate__(self, state):
        self.__init__(state["scenario"], **state["config"])
