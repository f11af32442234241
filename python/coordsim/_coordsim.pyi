"""Type stubs of the Rust extension module (see coordsim/__init__.py for the Python API)."""

from typing import Callable, Dict, List, Optional, Tuple

__version__: str

class ScenarioError(Exception):
    """A scenario that cannot be loaded, validated or run well."""

    file: str
    field: Optional[str]
    message: str

class LoadedScenario:
    """A validated scenario."""

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
    def warnings(self) -> List[Tuple[str, str]]: ...
    def estimate(self) -> Dict[str, object]: ...

def load(path: str, set: List[str] = ...) -> LoadedScenario: ...
def run(
    scenario: LoadedScenario,
    jobs: Optional[int] = ...,
    out: Optional[str] = ...,
    max_memory: Optional[float] = ...,
    max_events: Optional[float] = ...,
    strict: bool = ...,
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
) -> Tuple[int, int, int]: ...
def policies() -> List[str]: ...
