"""Type stubs of the Rust extension module (see coordsim/__init__.py for the Python API)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

class PolicyError(Exception):
    """A Python policy or control agent failed inside a run."""

    policy: str
    cell: str
    replication: int
    seed: int
    time_s: float
    method: str
    agent: str
    task: Optional[Dict[str, object]]
    observation: Optional["Observation"]

class View:
    """The candidates of one placement and their figures (reused between decisions)."""

    @property
    def now(self) -> float: ...
    @property
    def service(self) -> str: ...
    @property
    def candidates(self) -> List[int]: ...
    @property
    def ids(self) -> npt.NDArray[np.uint32]: ...
    @property
    def queue_lengths(self) -> npt.NDArray[np.uint32]: ...
    @property
    def busy(self) -> npt.NDArray[np.uint32]: ...
    @property
    def concurrency(self) -> npt.NDArray[np.uint32]: ...
    @property
    def outstanding(self) -> npt.NDArray[np.uint32]: ...
    @property
    def up(self) -> npt.NDArray[np.bool_]: ...
    @property
    def ejected(self) -> npt.NDArray[np.bool_]: ...
    @property
    def speed(self) -> npt.NDArray[np.float64]: ...
    @property
    def work_left(self) -> npt.NDArray[np.float64]: ...
    @property
    def replicas(self) -> List["Replica"]: ...
    def __len__(self) -> int: ...

class Replica:
    id: int
    queue_length: int
    busy: int
    concurrency: int
    outstanding: int
    up: bool
    ejected: bool
    speed: float

class Task:
    service: str
    service_id: int
    job_class: Optional[str]
    agent: int
    attempt: int
    deadline: Optional[float]
    work: Optional[float]

class Outcome:
    agent: int
    replica: int
    succeeded: bool
    latency: float

class Topology:
    services: List[str]
    replicas: Dict[str, List[int]]
    agents: int
    orchestrators: int
    concurrency: npt.NDArray[np.uint32]
    speed: npt.NDArray[np.float64]
    service_of: npt.NDArray[np.uint32]

class Stream:
    def below(self, n: int) -> int: ...
    def random(self) -> float: ...

class Scale:
    service: str
    replicas: int
    def __init__(self, service: str, replicas: int) -> None: ...

class Restart:
    replica: int
    def __init__(self, replica: int) -> None: ...

class Eject:
    replica: int
    def __init__(self, replica: int) -> None: ...

class Readmit:
    replica: int
    def __init__(self, replica: int) -> None: ...

class SetPolicy:
    service: str
    policy: str
    def __init__(self, service: str, policy: str) -> None: ...

class ServiceObservation:
    service: str
    provisioned: int
    ready: int
    slots_per_replica: int
    span_s: float
    busy_slots: float
    present_slots: float
    utilisation: Optional[float]
    queued: float
    arrivals: int
    requests: int
    failures: int
    slo_missed: int
    latency_mean_s: Optional[float]
    latency_p50_s: Optional[float]
    latency_p99_s: Optional[float]
    crashed: int
    slowed: int

class Observation:
    time_s: float
    services: Dict[str, ServiceObservation]
    def __getitem__(self, service: str) -> ServiceObservation: ...

class ScenarioError(Exception):
    """A scenario that cannot be loaded, validated or run well."""

    file: str
    field: Optional[str]
    message: str

PLACEMENT_COLUMNS: List[str]

class Simulation:
    def __init__(
        self,
        scenario: LoadedScenario,
        policy: Optional[str] = ...,
        seed: Optional[int] = ...,
        replication: int = ...,
        steer: Optional[str] = ...,
    ) -> None: ...
    @property
    def now(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def finished(self) -> bool: ...
    @property
    def waiting(self) -> Optional[str]: ...
    @property
    def agent(self) -> Optional[str]: ...
    @property
    def placement_rows(self) -> int: ...
    @property
    def job_seconds(self) -> float: ...
    @property
    def jobs_in_system(self) -> int: ...
    def run_until(self, time: float) -> float: ...
    def observe(self) -> Optional[Observation]: ...
    def act(self, actions: Optional[Sequence[object]]) -> None: ...
    def placement(self) -> Optional[Tuple[np.ndarray, int, float]]: ...
    def place(self, choice: Optional[int]) -> None: ...
    def place_and_run(self, choice: int) -> Tuple[np.ndarray, float, bool]: ...
    def next_placement(self) -> Optional[Tuple[np.ndarray, int, float]]: ...
    def so_far(self) -> Dict[str, object]: ...
    def summary(self) -> bytes: ...

class PlacementVec:
    def __init__(
        self,
        scenario: LoadedScenario,
        service: str,
        num_envs: int,
        policy: Optional[str] = ...,
        max_steps: Optional[int] = ...,
    ) -> None: ...
    @property
    def rows(self) -> int: ...
    def reset(self, seeds: List[int], replication: int = ...) -> np.ndarray: ...
    def step(self, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...

class LoadedScenario:
    """A validated scenario."""

    def to_toml(self) -> str: ...
    def __reduce__(self) -> Tuple[Any, Tuple[str, List[str], str]]: ...
    def with_set(self, set: List[str]) -> LoadedScenario: ...
    def with_agents(self, agents_toml: str) -> LoadedScenario: ...
    def service_facts(self) -> List[Dict[str, object]]: ...
    def external_agents(self) -> List[Dict[str, object]]: ...

    @property
    def name(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def overrides(self) -> List[str]: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def warmup_s(self) -> float: ...
    @property
    def seed(self) -> int: ...
    @property
    def replications(self) -> int: ...
    @property
    def policies(self) -> List[str]: ...
    @property
    def services(self) -> List[str]: ...
    @property
    def warnings(self) -> List[Tuple[str, str]]: ...
    @property
    def estimate(self) -> Dict[str, object]: ...

def load(path: str, set: List[str] = ...) -> LoadedScenario: ...
def loads(text: str, set: List[str] = ..., name: Optional[str] = ...) -> LoadedScenario: ...
def load_json(json: str, set: List[str] = ..., name: Optional[str] = ...) -> LoadedScenario: ...
def run(
    scenario: LoadedScenario,
    policies: Sequence[Any] = ...,
    agents: Sequence[Any] = ...,
    agents_toml: Optional[str] = ...,
    jobs: Optional[int] = ...,
    out: Optional[str] = ...,
    max_memory: Optional[float] = ...,
    max_events: Optional[float] = ...,
    strict: bool = ...,
    audit: Optional[int] = ...,
    progress: Optional[Callable[[int, int], object]] = ...,
) -> Dict[str, bytes]: ...
def sweep(
    path: str,
    out: str,
    jobs: Optional[int] = ...,
    resume: bool = ...,
    progress: Optional[Callable[[int, int], object]] = ...,
    max_memory: Optional[float] = ...,
    max_events: Optional[float] = ...,
    strict: bool = ...,
    policies: Optional[List[str]] = ...,
    runner: Optional[Callable[[List[Tuple[int, int, int]], "SweepWatch"], None]] = ...,
    agents_toml: Optional[str] = ...,
    set: List[str] = ...,
) -> Tuple[int, int, int]: ...

class SweepWatch:
    def cancelled(self) -> bool: ...
    def add_done(self, n: int) -> None: ...

class SweepWorker:
    def __init__(self, path: str, policies: List[str], agents_toml: Optional[str] = ..., set: List[str] = ...) -> None: ...
    def run(self, key: Tuple[int, int, int], out: str, spec: Optional[Any] = ...) -> None: ...
def policies() -> List[str]: ...
