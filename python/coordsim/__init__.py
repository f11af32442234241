"""coordsim from Python: load scenarios, run them and sweep them, with results as pandas
DataFrames whose columns are the CSV files' columns.

The simulation runs in Rust, through the same functions as the ``coordsim`` binary, so a
run or a sweep gives the binary's figures byte for byte (the CSV bytes are what the
binary writes; the DataFrames are read from them). Long calls release the GIL, report
progress (``tqdm`` if installed, or a callback) and stop on Ctrl-C without leaving
half-written files: an interrupted sweep keeps the runs it wrote, and ``resume=True``
completes it.

    import coordsim
    s = coordsim.load("scenarios/pool.toml", set={"duration": "60s"})
    r = coordsim.run(s, policies=["random", "power_of_d"], replications=2)
    r.runs.groupby("policy").latency_mean_ms.mean()
"""

from __future__ import annotations

import builtins
import difflib
import errno
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd

from . import _coordsim
from ._coordsim import (
    Eject,
    LoadedScenario,
    Observation,
    Outcome,
    PolicyError,
    Readmit,
    Replica,
    Restart,
    Scale,
    ScenarioError,
    ServiceObservation,
    SetPolicy,
    Stream,
    Task,
    Topology,
    View,
)
from ._agents import ControlAgent, Policy, agent_spec, policy_spec

__all__ = [
    "ControlAgent",
    "Simulation",
    "Eject",
    "LoadedScenario",
    "Observation",
    "Outcome",
    "Policy",
    "PolicyError",
    "Readmit",
    "Replica",
    "Restart",
    "RunResults",
    "Scale",
    "ScenarioError",
    "ScenarioFileNotFoundError",
    "ServiceObservation",
    "SetPolicy",
    "Stream",
    "SweepResults",
    "Task",
    "Topology",
    "View",
    "load",
    "loads",
    "from_dict",
    "policies",
    "run",
    "sweep",
]
__version__ = _coordsim.__version__

Overrides = Union[None, Mapping[str, Any], Iterable[str]]


class ScenarioFileNotFoundError(ScenarioError, FileNotFoundError):
    """A scenario file that does not exist: a :class:`ScenarioError` (with ``file``,
    ``field`` None and ``message``) that is also the ``FileNotFoundError`` Python code
    expects (``errno``, ``filename``)."""


def _toml_key(key: str) -> str:
    """A table key as TOML text: bare when it can be, quoted otherwise (a dotted key path
    such as a sweep grid's ``"services.api.replicas"`` is one key, not nested tables)."""
    key = str(key)
    if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
        return key
    return json.dumps(key)


def _toml_value(value: Any) -> str:
    """A Python value as the TOML text of a ``--set`` value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as a scenario value")


def _overrides(set: Overrides) -> List[str]:
    if set is None:
        return []
    if isinstance(set, Mapping):
        return [f"{k}={_toml_value(v)}" for k, v in set.items()]
    return [str(s) for s in set]


def load(path: Union[str, os.PathLike, Mapping[str, Any]], set: Overrides = None) -> LoadedScenario:
    """Loads and validates a scenario file (or a nested dict: :func:`from_dict`).

    ``set`` overrides keys before validation, as ``--set`` does: a dict
    (``{"services.api.replicas": 8}``) or ``KEY=VALUE`` strings. Raises
    :class:`ScenarioError` (with ``file``, ``field`` and ``message``) for the same inputs,
    with the same words, as the binary; a file that does not exist raises
    :class:`ScenarioFileNotFoundError`, which is also a ``FileNotFoundError``.
    """
    if isinstance(path, Mapping):
        return from_dict(path, set=set)
    if not os.path.exists(path):
        error = ScenarioFileNotFoundError(errno.ENOENT, "no such scenario file", os.fspath(path))
        error.file, error.field, error.message = os.fspath(path), None, f"cannot read scenario file {os.fspath(path)}: not found"
        raise error
    return _coordsim.load(os.fspath(path), _overrides(set))


def loads(text: str, set: Overrides = None, name: str = "scenario") -> LoadedScenario:
    """Validates scenario TOML text, as :func:`load` validates a file: the same checks and the
    same :class:`ScenarioError`, whose ``file`` is ``<string>``. ``name`` is the scenario's
    name when the text sets none (a file takes its stem); files the text names (traces,
    samples) are read relative to the working directory. ``scenario.to_toml()`` gives the
    text back, to save and rerun from the command line with identical results.
    """
    return _coordsim.loads(text, _overrides(set), name)


def from_dict(document: Mapping[str, Any], set: Overrides = None, name: str = "scenario") -> LoadedScenario:
    """Validates a scenario given as a nested dict shaped like the TOML file (tables as
    dicts, arrays as lists; durations as numbers of seconds or strings such as ``"10ms"``),
    with the same checks and :class:`ScenarioError` (``file`` is ``<dict>``) as :func:`load`.
    """
    try:
        text = json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"a scenario dict must hold only dicts, lists, strings, finite numbers and booleans: {err}") from None
    return _coordsim.load_json(text, _overrides(set), name)


def policies() -> List[str]:
    """The names of the built-in policies."""
    return list(_coordsim.policies())


def _frame(data: bytes) -> pd.DataFrame:
    if not data.strip():
        return pd.DataFrame()
    # Cells are written as text: keep the key columns as the CSV has them.
    return pd.read_csv(io.BytesIO(data), dtype={"cell": str, "fingerprint": str}, keep_default_na=True)


@dataclass
class RunResults:
    """What ``coordsim run`` writes, as DataFrames, and the CSV bytes they came from."""

    runs: pd.DataFrame
    faults: pd.DataFrame
    classes: pd.DataFrame
    services: pd.DataFrame
    timeseries: pd.DataFrame
    csv: Dict[str, bytes]
    audit: Optional[pd.DataFrame] = None

    def __repr__(self) -> str:
        runs = self.runs
        if runs.empty:
            return "<coordsim RunResults: no runs>"
        policies = list(dict.fromkeys(runs.policy))
        tables = [n for n in ("runs", "faults", "classes", "services", "timeseries") if not getattr(self, n).empty]
        if self.audit is not None:
            tables.append("audit")
        return (
            f"<coordsim RunResults of {runs.scenario.iloc[0]!r}: {len(runs)} runs of {len(policies)} policies "
            f"({', '.join(policies)}); tables {', '.join(tables)}; runs has {len(runs.columns)} columns>"
        )


PolicyLike = Union[str, "Policy", Callable[[], "Policy"]]


def run(
    scenario: Union[str, os.PathLike, LoadedScenario],
    policies: Union[None, PolicyLike, Sequence[PolicyLike]] = None,
    seed: Optional[int] = None,
    replications: Optional[int] = None,
    set: Overrides = None,
    jobs: Optional[int] = None,
    out: Union[None, str, os.PathLike] = None,
    max_memory: Optional[float] = None,
    max_events: Optional[float] = None,
    strict: bool = False,
    agents: Optional[Sequence[Union["ControlAgent", Callable[[], "ControlAgent"]]]] = None,
    audit: Union[bool, int] = False,
    progress: Union[None, bool, Callable[[int, int], Any]] = None,
) -> RunResults:
    """Runs a scenario once per policy and replication, as ``coordsim run`` does.

    ``policies`` lists built-in policy names (their parameters from the scenario) and your
    own :class:`Policy` instances (or factories that return one), in the order the results
    list them; a single name or policy is accepted too. ``agents`` adds your own
    :class:`ControlAgent` instances (or factories) to every run, beside the scenario's own
    agents. Each run starts from a fresh copy of each instance (``copy.deepcopy``, or a
    call of the factory), so runs never share state and the same seed gives the same run.

    ``seed``, ``replications`` and ``set`` act as the binary's flags; ``jobs`` is the worker
    threads of the built-in runs (results do not depend on it; runs that call Python run one
    after another on this thread). With ``out``, the CSV files are also written there,
    byte-identical to the binary's for built-in policies. Runs are refused like the
    binary's when over ``max_memory`` bytes or ``max_events`` events, and with ``strict``
    when the scenario has warnings. A failure inside your code raises :class:`PolicyError`
    (the original exception is its ``__cause__``) and writes nothing.

    ``audit`` (True, or the most records of each kind per policy, default 100,000) reruns
    replication 0 of each policy with its decisions and control actions recorded, as
    ``coordsim run --audit`` does: ``results.audit`` (and ``audit.jsonl`` in ``out``); a
    Python policy's run starts with a line naming its parameters (``params()``).

    ``progress`` is a callable ``(done, total)`` told of finished runs, ``False`` for none,
    or by default a tqdm bar when tqdm is installed.
    """
    if policies is not None and (isinstance(policies, (str, Policy)) or not _is_sequence(policies)):
        policies = [policies]  # one name or one policy
    choices: List[Any] = []
    names: List[str] = []
    if policies is not None:
        for p in policies:
            if isinstance(p, str):
                _check_built_in(p)
                choices.append(p)
                names.append(p)
            else:
                spec = policy_spec(p)
                choices.append(spec)
                names.append(spec.name)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"policies: each policy needs its own name; {duplicates} appear more than once")
    agent_specs = [agent_spec(a) for a in (agents or [])]
    agent_names = [a.name for a in agent_specs]
    if len(builtins.set(agent_names)) != len(agent_names):
        raise ValueError(f"agents: each agent needs its own name; got {agent_names}")
    extra = _overrides(set)
    built_in = [c for c in choices if isinstance(c, str)]
    if built_in:
        extra.append("policies=" + _toml_value(built_in))
    if replications is not None:
        extra.append(f"replications={int(replications)}")
    if seed is not None:
        extra.append(f"seed={int(seed)}")
    if isinstance(scenario, LoadedScenario):
        loaded = scenario.with_set(extra) if extra else scenario
    else:
        loaded = load(scenario, extra)
    agents_toml = None
    if agent_specs:
        agents_toml = "agents = [" + ", ".join(_toml_value(a.table) for a in agent_specs) + "]"
    callback, bar = _progress_callback(progress, "run")
    try:
        csv = _coordsim.run(
            loaded,
            policies=choices,
            agents=agent_specs,
            agents_toml=agents_toml,
            jobs=jobs,
            out=None if out is None else os.fspath(out),
            max_memory=max_memory,
            max_events=max_events,
            strict=strict,
            audit=None if audit is False else (100_000 if audit is True else int(audit)),
            progress=callback,
        )
    finally:
        if bar is not None:
            bar.close()
    csv = {k: bytes(v) for k, v in csv.items()}
    audit_log = csv.pop("audit", None)
    return RunResults(
        runs=_frame(csv["runs"]),
        faults=_frame(csv["faults"]),
        classes=_frame(csv["classes"]),
        services=_frame(csv["services"]),
        timeseries=_frame(csv["timeseries"]),
        csv=csv,
        audit=None if audit_log is None else _lines(audit_log),
    )


class Simulation:
    """One replication of a scenario under a built-in policy, run in steps: ``run_until(t)``
    processes every event up to ``t`` seconds and stands there, ``summary()`` runs it to the
    end and returns its row of ``runs.csv``. It is the same event loop as :func:`run`, so
    pausing changes nothing: a run stepped to any times gives the same fingerprint and
    figures as the run in one go (docs/model.md section 11).

    ``run_until`` also stops where a decision waits for Python: an ``external`` agent's at
    its period (``waiting == "control"``: ``observe()`` gives its :class:`Observation`,
    ``act([...])`` answers with actions, carried out at that instant), or, with ``steer=``
    a service, each placement on it (``waiting == "placement"``: see
    :class:`coordsim.gym.PlacementEnv`). An agent left unanswered holds. Answered with
    nothing at every period, the run is byte for byte the run in which the agent holds;
    answered with the actions the HPA takes, it is the HPA's run.

    ``scenario`` is a :class:`LoadedScenario` or what :func:`load` takes; ``policy`` a
    built-in name (default: the scenario's first); ``seed`` the master seed (default: the
    scenario's); ``replication`` the replication index.
    """

    def __init__(
        self,
        scenario: Union[LoadedScenario, str, os.PathLike, Mapping[str, Any]],
        policy: Optional[str] = None,
        seed: Optional[int] = None,
        replication: int = 0,
        steer: Optional[str] = None,
    ) -> None:
        if not isinstance(scenario, LoadedScenario):
            scenario = load(scenario)
        self._sim = _coordsim.Simulation(scenario, policy, seed, replication, steer)

    @property
    def now(self) -> float:
        """The simulated time it stands at, in seconds."""
        return self._sim.now

    @property
    def end(self) -> float:
        """The end of the run (the scenario's ``duration``), in seconds."""
        return self._sim.end

    @property
    def finished(self) -> bool:
        """Whether it has reached the end of the run."""
        return self._sim.finished

    @property
    def waiting(self) -> Optional[str]:
        """What the run waits for: ``"control"``, ``"placement"`` or None."""
        return self._sim.waiting

    @property
    def agent(self) -> Optional[str]:
        """The name of the external agent the run waits for (None if none waits)."""
        return self._sim.agent

    def run_until(self, time: float) -> float:
        """Processes every event up to ``time`` seconds (at most the end), or up to the first
        decision before it that waits for Python, and returns the time it then stands at; a
        time already passed changes nothing."""
        return self._sim.run_until(float(time))

    def observe(self) -> Optional[Observation]:
        """What the waiting external agent sees (docs/model.md section 10), or None."""
        return self._sim.observe()

    def act(self, actions: Optional[Sequence[Any]] = None) -> None:
        """Answers the waiting external agent with ``actions`` (:class:`Scale`,
        :class:`Restart`, :class:`Eject`, :class:`Readmit`, :class:`SetPolicy`), carried out
        now as a control agent's are; scaling is clamped to the agent's bounds."""
        self._sim.act(actions)

    def placement(self) -> Optional[Tuple[Any, int, float]]:
        """The waiting placement on the steered service, or None: ``(figures, agent,
        time_s)``, ``figures`` a float32 array of a row per replica of the service (columns
        ``coordsim.gym.PLACEMENT_FEATURES``), ``agent`` the index of the placing agent."""
        return self._sim.placement()

    def place(self, choice: Optional[int]) -> None:
        """Answers the waiting placement with the replica at row ``choice``; None, or a
        replica that is not a candidate, rejects the task (it fails)."""
        self._sim.place(None if choice is None else int(choice))

    def so_far(self) -> Dict[str, Any]:
        """The run's figures so far, counted as ``runs.csv`` counts them (from the end of the
        warm-up): jobs completed and failed, latency sum, replica-seconds (in all and per
        service), cost, flaps and agent conflicts."""
        return self._sim.so_far()

    def summary(self) -> pd.DataFrame:
        """Runs it to the end (if it is not there) and returns its row of ``runs.csv``, with
        the same columns and values as the unstepped run's."""
        return _frame(self._sim.summary())

    def __repr__(self) -> str:
        return repr(self._sim)


def _lines(data: bytes) -> pd.DataFrame:
    """JSON lines as a DataFrame (one row per line; nested objects stay dicts)."""
    return pd.DataFrame([json.loads(line) for line in data.splitlines() if line.strip()])


def _check_built_in(name: str) -> None:
    """A policy name given as an argument must be a built-in policy's."""
    known = policies()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"policies: {name!r} is not a built-in policy{hint}; the built-in ones are {', '.join(known)}")


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, (str, bytes, Mapping))


@dataclass
class SweepResults:
    """A sweep's directory and its tables as DataFrames."""

    out: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    faults: pd.DataFrame
    services: pd.DataFrame
    timeseries: pd.DataFrame
    errors: pd.DataFrame
    latency_cdf: pd.DataFrame
    executed: int
    failed: int

    def __repr__(self) -> str:
        policies = list(dict.fromkeys(self.runs.policy)) if not self.runs.empty else []
        return (
            f"<coordsim SweepResults in {self.out}: {len(self.runs)} runs of {len(policies)} policies "
            f"({', '.join(policies)}), {self.executed} executed now, {self.failed} failed>"
        )


def _progress_callback(progress: Union[None, bool, Callable[[int, int], Any]], desc: str = "sweep"):
    if callable(progress):
        return progress, None
    if progress is False:
        return None, None
    try:
        from tqdm.auto import tqdm  # optional
    except ImportError:
        return None, None
    bar = tqdm(total=0, unit="run", desc=desc)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    return update, bar


def sweep(
    path: Union[str, os.PathLike, LoadedScenario],
    out: Union[None, str, os.PathLike] = None,
    jobs: Optional[int] = None,
    resume: bool = False,
    progress: Union[None, bool, Callable[[int, int], Any]] = None,
    max_memory: Optional[float] = None,
    max_events: Optional[float] = None,
    strict: bool = False,
    policies: Union[None, PolicyLike, Sequence[PolicyLike]] = None,
    executor: Any = None,
    agents: Optional[Sequence[Union["ControlAgent", Callable[[], "ControlAgent"]]]] = None,
    set: Overrides = None,
    replications: Optional[int] = None,
) -> SweepResults:
    """Runs the ``[sweep]`` of a scenario file into ``out``, as ``coordsim sweep`` does.

    ``out`` defaults to a new temporary directory. ``progress`` is a callable
    ``(done, total)``, ``False`` for none, or by default a tqdm bar when tqdm is installed.
    Ctrl-C stops the sweep after the runs in progress; they and every earlier run stay in
    ``out``, and ``resume=True`` completes it with identical results.

    ``policies`` lists the policies compared, in order: the scenario's built-in ones by name
    and your own :class:`Policy` instances (or factories). A sweep with your own policies
    runs its runs in worker processes (one per core, or ``jobs``), or on ``executor``, any
    ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``, or a Dask cluster's
    ``client.get_executor()``); the files are byte-identical whatever runs them. ``agents``
    adds your own :class:`ControlAgent` instances (or factories) to every run, as in
    :func:`run` (a grid over ``control.active`` can name them).

    ``path`` may also be a loaded scenario (with a ``[sweep]`` section): one loaded from a
    file sweeps that file with its overrides, one built with :func:`loads` or
    :func:`from_dict` is written to ``out/scenario.toml`` and swept from there. ``set``
    overrides keys before the grid applies, as ``coordsim sweep --set`` does, and
    ``replications`` sets the sweep's replications per cell and policy.
    """
    out = Path(tempfile.mkdtemp(prefix="coordsim-sweep-")) if out is None else Path(out)
    extra = _overrides(set)
    if replications is not None:
        extra.append(f"sweep.replications={int(replications)}")
    if isinstance(path, LoadedScenario):
        if path.path in ("<string>", "<dict>"):
            out.mkdir(parents=True, exist_ok=True)
            (out / "scenario.toml").write_text(path.to_toml())
            path = out / "scenario.toml"
        else:
            extra = list(path.overrides) + extra
            path = path.path
    names: Optional[List[str]] = None
    runner = None
    own_executor = None
    agent_specs = [agent_spec(a) for a in (agents or [])]
    agents_toml = None
    if agent_specs:
        agents_toml = "agents = [" + ", ".join(_toml_value(a.table) for a in agent_specs) + "]"
    if policies is not None or executor is not None or agent_specs:
        from . import _sweep

        if policies is None:
            policies = load(path, extra).policies
        elif isinstance(policies, (str, Policy)) or not _is_sequence(policies):
            policies = [policies]
        built_in = load(path, extra).policies
        names, specs = [], {}
        for i, p in enumerate(policies):
            if isinstance(p, str):
                if p not in built_in:
                    raise ValueError(
                        f"policies: {p!r} is not one of the scenario's policies {built_in} (a sweep's built-in policies come from its file)"
                    )
                names.append(p)
            else:
                spec = policy_spec(p)
                names.append(spec.name)
                specs[i] = spec
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"policies: each policy needs its own name; {duplicates} appear more than once")
        if executor is None:
            executor = own_executor = _sweep.default_executor(jobs)
        job = _sweep.SweepJob(
            path=os.fspath(Path(path).resolve()),
            out=os.fspath(out.resolve()),
            policies=tuple(names),
            specs=specs,
            agents=tuple(agent_specs),
            agents_toml=agents_toml,
            set=tuple(extra),
        )
        runner = _sweep.make_runner(executor, job)
    callback, bar = _progress_callback(progress)
    try:
        total, executed, failed = _coordsim.sweep(
            os.fspath(path),
            os.fspath(out),
            jobs=jobs,
            resume=resume,
            progress=callback,
            max_memory=max_memory,
            max_events=max_events,
            strict=strict,
            policies=names,
            runner=runner,
            agents_toml=agents_toml,
            set=extra,
        )
    finally:
        if bar is not None:
            bar.close()
        if own_executor is not None:
            own_executor.shutdown(wait=True, cancel_futures=True)

    def read(name: str) -> pd.DataFrame:
        p = out / f"{name}.csv"
        return _frame(p.read_bytes()) if p.exists() else pd.DataFrame()

    return SweepResults(
        out=out,
        runs=read("runs"),
        summary=read("summary"),
        faults=read("faults"),
        services=read("services"),
        timeseries=read("timeseries"),
        errors=read("errors"),
        latency_cdf=read("latency_cdf"),
        executed=executed,
        failed=failed,
    )
