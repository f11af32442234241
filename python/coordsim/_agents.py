"""Your own agents: the base classes of placement policies and control agents written in
Python, and what the engine is told of each (its name, how to make a fresh instance for a
run, what it defines, and for a control agent the ``[[agents]]`` keys it declares).

A policy or agent decides; the Rust engine does everything else (the world, faults,
network, metrics), exactly as for a built-in one. See docs/model.md for every field of
the view, the task, the observation and the actions.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

Duration = Union[str, float, int, Mapping[str, Any]]


class Policy:
    """A placement policy written in Python.

    Subclass it and define :meth:`place`; the engine calls it wherever it would ask a
    built-in policy (a ready task of a workflow step, or a replica's downstream call)::

        class FirstFree(coordsim.Policy):
            def place(self, view, task):
                busy = view.busy + view.queue_lengths
                return view.candidates[int(busy.argmin())]

    Attributes set by the engine before :meth:`setup`, once per run:

    * ``rng``: a ``numpy.random.Generator`` seeded from the run's policy stream (the same
      seed gives the same draws; its draws never shift the workload);
    * ``stream``: the very stream a built-in policy of the run would draw from
      (``stream.below(n)``, ``stream.random()``), to re-implement a built-in policy's
      draws exactly.

    Class attributes you may set: ``name`` (the ``policy`` key of every output; default the
    class name), ``decision_time`` (how long the policy thinks before its placement takes
    effect: a duration such as ``"5ms"``, seconds as a number, or a distribution table such
    as ``{"dist": "exponential", "mean": "5ms"}``; the task waits meanwhile) and
    ``wants_sizes`` (True: on a service whose sizes are known, ``sizes_known``, the policy
    is told each task's work, ``task.work``, and each candidate's work left,
    ``view.work_left``, as size-based dispatchers are; elsewhere they stay None and NaN). Public
    attributes of simple types are the policy's parameters (:meth:`params`).
    """

    name: Optional[str] = None
    decision_time: Optional[Duration] = None
    wants_sizes: bool = False
    rng: Any
    stream: Any

    def setup(self, topology: Any) -> None:
        """Called once per run before the first decision, with the run's ``Topology``."""

    def place(self, view: Any, task: Any) -> Optional[int]:
        """The replica (an id among ``view.candidates``) for ``task``, or None to refuse it."""
        raise NotImplementedError(f"{type(self).__name__} must define place(self, view, task)")

    def on_outcome(self, view: Any, outcome: Any) -> None:
        """The result of a task this policy placed (define it only if you use it: a policy
        that does not pays nothing per outcome)."""

    def on_membership(self, view: Any, replica: int, member: bool) -> None:
        """A replica joined (``member``) or left its service's candidates (a control agent
        added, removed, restarted or ejected it); ``view`` shows that service."""

    def params(self) -> Dict[str, Any]:
        """The policy's parameters: its public attributes of simple types."""
        return {
            k: v
            for k, v in vars(self).items()
            if not k.startswith("_")
            and k not in ("rng", "stream", "name", "decision_time", "wants_sizes")
            and isinstance(v, (bool, int, float, str))
        }


class ControlAgent:
    """A control agent written in Python (docs/model.md section 10).

    Subclass it, set ``services`` and define :meth:`act`; every ``period`` the engine calls
    it with what the monitoring system shows of each of its services (over ``window``, as
    old as ``measurement_delay``), and carries out the actions it returns with the world's
    delays, counted and audited as a built-in agent's actions are::

        class Doubler(coordsim.ControlAgent):
            services = ["api"]
            period = "15s"
            max_replicas = 16

            def act(self, observation):
                api = observation["api"]
                if (api.utilisation or 0) > 0.8:
                    return [coordsim.Scale("api", api.provisioned * 2)]
                return []

    The class attributes are the keys of an ``[[agents]]`` entry (docs/scenarios.md), with
    the same meaning and defaults: ``name`` (default the class name), ``services``,
    ``period``, ``window``, ``measurement_delay``, ``min_replicas``, ``max_replicas``,
    ``provisioning``, ``removal``, ``restart_delay``, ``eject_for`` and ``policies`` (the
    built-in policies a ``SetPolicy`` may choose, the first placing work until it does).
    ``rng`` is a ``numpy.random.Generator`` seeded from the agent's own stream.
    """

    name: Optional[str] = None
    services: Sequence[str] = ()
    period: Optional[Duration] = None
    window: Optional[Duration] = None
    measurement_delay: Optional[Duration] = None
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None
    provisioning: Optional[Duration] = None
    removal: Optional[str] = None
    restart_delay: Optional[Duration] = None
    eject_for: Optional[Duration] = None
    policies: Sequence[str] = ()
    rng: Any

    def act(self, observation: Any) -> List[Any]:
        """The actions to take now (``Scale``, ``Restart``, ``Eject``, ``Readmit``, ``SetPolicy``)."""
        raise NotImplementedError(f"{type(self).__name__} must define act(self, observation)")


class _Copies:
    """A factory of deep copies of one instance (picklable, so that worker processes can
    make their own)."""

    def __init__(self, template: Any) -> None:
        self.template = template

    def __call__(self) -> Any:
        return copy.deepcopy(self.template)


def _fresh(template: Any) -> Callable[[], Any]:
    """A factory of fresh instances: a deep copy of an instance per call, or the callable."""
    if isinstance(template, (Policy, ControlAgent)):
        return _Copies(template)
    if callable(template):
        return template
    raise TypeError(
        f"expected a coordsim.Policy or coordsim.ControlAgent (an instance or a factory), got {template!r}"
    )


def _probe(template: Any) -> Any:
    return template if isinstance(template, (Policy, ControlAgent)) else template()


def _duration_text(value: Duration) -> str:
    from . import _toml_value

    return _toml_value(value)


@dataclass
class PolicySpec:
    """What the engine is told of a Python policy."""

    name: str
    factory: Callable[[], Policy]
    wants_outcome: bool
    wants_membership: bool
    decision_time: Optional[str]
    params: Dict[str, Any]
    wants_sizes: bool = False

    @property
    def params_json(self) -> str:
        """The parameters the audit log names: ``params()``, and the decision time."""
        shown = dict(self.params)
        if self.decision_time is not None:
            try:  # a duration, written as a TOML (= JSON) string
                shown["decision_time"] = json.loads(self.decision_time)
            except ValueError:  # a distribution table
                shown["decision_time"] = self.decision_time
        return json.dumps(shown, default=str)


def policy_spec(policy: Union[Policy, Callable[[], Policy]]) -> PolicySpec:
    factory = _fresh(policy)
    probe = _probe(policy)
    if not isinstance(probe, Policy):
        raise TypeError(f"policies: {policy!r} is not a coordsim.Policy (or a factory of one)")
    cls = type(probe)
    name = probe.name or cls.__name__
    return PolicySpec(
        name=str(name),
        factory=factory,
        wants_outcome=cls.on_outcome is not Policy.on_outcome,
        wants_membership=cls.on_membership is not Policy.on_membership,
        decision_time=None if probe.decision_time is None else _duration_text(probe.decision_time),
        params=probe.params(),
        wants_sizes=bool(probe.wants_sizes),
    )


@dataclass
class AgentSpec:
    """What the engine is told of a Python control agent."""

    name: str
    factory: Callable[[], ControlAgent]
    table: Dict[str, Any]


_AGENT_KEYS = (
    "period",
    "window",
    "measurement_delay",
    "min_replicas",
    "max_replicas",
    "provisioning",
    "removal",
    "restart_delay",
    "eject_for",
)


def agent_spec(agent: Union[ControlAgent, Callable[[], ControlAgent]]) -> AgentSpec:
    factory = _fresh(agent)
    probe = _probe(agent)
    if not isinstance(probe, ControlAgent):
        raise TypeError(f"agents: {agent!r} is not a coordsim.ControlAgent (or a factory of one)")
    name = str(probe.name or type(probe).__name__)
    services = [probe.services] if isinstance(probe.services, str) else list(probe.services)
    if not services:
        raise ValueError(f"agent {name}: set `services`, the services it acts on")
    table: Dict[str, Any] = {"name": name, "kind": "external", "services": services}
    for key in _AGENT_KEYS:
        value = getattr(probe, key)
        if value is not None:
            table[key] = value
    if probe.policies:
        table["arms"] = list(probe.policies)
    return AgentSpec(name=name, factory=factory, table=table)
