//! Scenario files: TOML text -> validated [`Scenario`].
//!
//! This is the only module that reads scenario files. Loading goes text -> `toml::Table`
//! (syntax errors, with line and column) -> `--set` overrides applied to the table -> the
//! serde mirror in `raw.rs` (type errors and unknown keys, with the key path and a
//! suggestion) -> [`Scenario`] via `validate.rs` (ranges and references, naming the field,
//! what was expected and what was found). Later stages take `&Scenario` and never re-check.
//! The validated types are `#[non_exhaustive]`: other crates can read them but only this
//! module can make them, so a `Scenario` in hand is always a valid one.

mod overrides;
mod raw;
mod sweep;
mod validate;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use overrides::Override;

use crate::dist::DurationDist;
pub use crate::ids::{ClassId, ServiceId, WorkflowId};
use crate::policy::PolicySpec;
use crate::time::{SimDuration, SimTime};

/// A validated scenario: everything a run needs, with defaults applied.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Scenario {
    /// Name used in result files (default: the file stem).
    pub name: String,
    /// Free text from the file.
    pub description: String,
    /// Simulated span of one run, warm-up included.
    pub duration: SimDuration,
    /// Initial span excluded from every figure.
    pub warmup: SimDuration,
    /// Master seed; every random stream derives from it and the replication index.
    pub seed: u64,
    /// Independent replications per policy.
    pub replications: u32,
    /// Front-end agents that receive jobs round-robin and delegate their work.
    pub orchestrators: u32,
    /// The policies to compare, in the order given.
    pub policies: Vec<PolicySpec>,
    /// How messages between agents travel.
    pub network: Network,
    /// Services, indexed by [`ServiceId`], sorted by name.
    pub services: Vec<Service>,
    /// Workflows, indexed by [`WorkflowId`]: the named ones sorted by name, then one
    /// single-step workflow per class declared with `service = ...`.
    pub workflows: Vec<Workflow>,
    /// Job classes, indexed by [`ClassId`], sorted by name.
    pub classes: Vec<JobClass>,
    /// The shared arrival process of classes declared with a `weight`, if any.
    pub shared_arrival: Option<Arrival>,
    /// Injected faults.
    pub faults: Vec<Fault>,
    /// Jobs in the system beyond which arriving jobs are refused at the entry (fail at once).
    pub max_in_flight: Option<u32>,
    /// Windows and impairment, for the cascade figures and the time series.
    pub metrics: MetricsSettings,
}

/// `[metrics]`: how time is cut into windows and when a service counts as impaired
/// (MODEL.md section 8).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricsSettings {
    /// Length of one window (> 0).
    pub window: SimDuration,
    /// A service is impaired in a window when more than this share of the requests it
    /// finished there failed or missed its SLO; in [0, 1).
    pub impaired_error_ratio: f64,
    /// How long a service stays directly faulted after a fault on it ends.
    pub grace: SimDuration,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            window: SimDuration::from_nanos(1_000_000_000),
            impaired_error_ratio: 0.05,
            grace: SimDuration::from_nanos(2_000_000_000),
        }
    }
}

/// An injected fault.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Fault {
    /// What it does.
    pub effect: FaultEffect,
    /// When it happens.
    pub timing: FaultTiming,
}

/// What a fault does while it is active.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultEffect {
    /// The replicas stop: queued and running work is lost, messages to them are dropped,
    /// and they come back empty. `replica: None` means every replica of the service.
    Crash {
        /// The service.
        service: ServiceId,
        /// One replica (index within the service), or all of them.
        replica: Option<u32>,
    },
    /// An orchestrator agent stops: the jobs it coordinates are lost (they fail), results
    /// sent to it are dropped, and jobs routed to it while it is down fail at once. It
    /// comes back empty.
    AgentCrash {
        /// The orchestrator.
        orchestrator: u32,
    },
    /// A control agent of the policy stops (`central`'s scheduler is 0, its standby 1):
    /// messages to it are lost and it comes back with an empty state. Under a policy without
    /// control agents it touches nothing.
    ControlCrash {
        /// The control agent.
        control: u32,
    },
    /// Work started on the replicas takes `factor` times longer (a gray failure).
    Slowdown {
        /// The service.
        service: ServiceId,
        /// One replica (index within the service), or all of them.
        replica: Option<u32>,
        /// Execution-time multiplier (> 0).
        factor: f64,
    },
    /// Messages between the two groups (indices into `network.groups`) are dropped.
    Partition {
        /// The two sides.
        groups: [usize; 2],
    },
    /// An extra loss probability on messages between two groups, or on every message.
    MessageLoss {
        /// Extra loss probability in [0, 1].
        loss: f64,
        /// The two groups, or `None` for every link.
        groups: Option<[usize; 2]>,
    },
}

/// When a fault is active.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultTiming {
    /// Once, over `[at, at + duration)`.
    Scheduled {
        /// Start.
        at: SimTime,
        /// Length.
        duration: SimDuration,
    },
    /// Repeatedly: up for an exponential time of mean `mtbf`, then down for an exponential
    /// time of mean `mttr`. A crash or slowdown of a whole service with random timing gives
    /// each replica its own independent process.
    Random {
        /// Mean time between failures.
        mtbf: SimDuration,
        /// Mean time to repair.
        mttr: SimDuration,
    },
}

/// How callers treat requests to a service (resolved per step and per call stage).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Resilience {
    /// Per-attempt timeout: the caller gives up on an attempt after this long.
    pub timeout: Option<SimDuration>,
    /// Further attempts after a failure or a timeout.
    pub retries: Retries,
    /// A second attempt when the first is slow.
    pub hedge: Option<Hedge>,
    /// Cancel timed-out and losing attempts (removes queued work, stops running work).
    pub cancel: bool,
    /// Fail fast while the destination looks broken.
    pub circuit_breaker: Option<Breaker>,
    /// Avoid replicas whose errors or latency stand out.
    pub outlier_ejection: Option<Ejection>,
}

/// Retry settings.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Retries {
    /// Attempts after the first (0: no retry).
    pub max: u32,
    /// Wait before each retry.
    pub backoff: Backoff,
    /// Randomisation of the wait.
    pub jitter: Jitter,
    /// At most this many retries per original request, over time (a token bucket).
    pub budget: Option<f64>,
}

/// Wait before a retry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Backoff {
    /// Retry at once.
    #[default]
    None,
    /// Always the same wait.
    Constant(SimDuration),
    /// `base * 2^(retry - 1)`, at most `cap`.
    Exponential {
        /// First wait.
        base: SimDuration,
        /// Longest wait.
        cap: SimDuration,
    },
}

/// Randomisation of a backoff `b`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly `b`.
    #[default]
    None,
    /// Uniform on `[0, b]`.
    Full,
    /// Uniform on `[b/2, b]`.
    Equal,
}

/// When to send a hedged (second) attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Hedge {
    /// After a fixed delay.
    After(SimDuration),
    /// After the caller's observed latency quantile for this destination.
    Quantile(f64),
}

/// Circuit-breaker settings (one breaker per calling agent and destination service).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Breaker {
    /// Open when the failure share of the current window reaches this.
    pub error_rate: f64,
    /// Or after this many consecutive failures.
    pub consecutive: u32,
    /// Length of the counting window.
    pub window: SimDuration,
    /// Requests a window needs before its error rate counts.
    pub min_requests: u32,
    /// How long the breaker stays open before probing.
    pub open_for: SimDuration,
    /// Requests let through while half-open.
    pub probes: u32,
}

/// Outlier-ejection settings (each calling agent keeps its own view).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Ejection {
    /// Eject a replica after this many consecutive failures.
    pub consecutive_failures: u32,
    /// Or when its mean latency exceeds this multiple of the service's median (None: off).
    pub latency_factor: Option<f64>,
    /// Results a replica needs before its latency is judged.
    pub min_samples: u32,
    /// How long an ejected replica is avoided.
    pub eject_for: SimDuration,
    /// At most this share of a service's replicas is ejected at once.
    pub max_ejected: f64,
}

/// When the people of a human service work.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct WorkingHours {
    /// Offset of the start of work within each period.
    pub start: SimDuration,
    /// Offset of the end of work within each period.
    pub end: SimDuration,
    /// Length of a day.
    pub period: SimDuration,
}

impl WorkingHours {
    /// Whether `t` falls in working hours.
    pub fn working(&self, t: SimTime) -> bool {
        let offset = t.as_nanos() % self.period.as_nanos();
        offset >= self.start.as_nanos() && offset < self.end.as_nanos()
    }

    /// The next instant at or after `t` that falls in working hours.
    pub fn next_start(&self, t: SimTime) -> SimTime {
        if self.working(t) {
            return t;
        }
        let period = self.period.as_nanos();
        let day = t.as_nanos() / period * period;
        let today = day + self.start.as_nanos();
        SimTime::from_nanos(if today >= t.as_nanos() { today } else { today + period })
    }
}

/// A human review that may follow a step.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Approval {
    /// The human service that reviews.
    pub service: ServiceId,
    /// Probability that the step needs a review.
    pub probability: f64,
    /// Probability that a reviewer rejects (the job then fails).
    pub reject: f64,
}

/// A named kind of work served by identical replicas.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Service {
    /// The key under `[services]`.
    pub name: String,
    /// Identical workers serving this service (>= 1).
    pub replicas: u32,
    /// Requests one replica executes at once (>= 1).
    pub concurrency: u32,
    /// Requests one replica may hold waiting; one more is rejected at once. `u32::MAX`
    /// stands for unbounded.
    pub queue_capacity: u32,
    /// Work executed per second of time (> 0); execution takes `work / speed`.
    pub speed: f64,
    /// Base work size of one request, in seconds at speed 1.
    pub service_time: DurationDist,
    /// Downstream calls made after the service's own work, holding the slot: stages in
    /// sequence, the calls of one stage in parallel. The call graph is acyclic.
    pub calls: Vec<CallStage>,
    /// How callers treat requests to this service, unless a step or call stage overrides it.
    pub resilience: Resilience,
    /// Server side: a request about to start is dropped instead of executed when its
    /// caller's timeout has passed or will pass before one mean execution time could finish.
    pub drop_expired: bool,
    /// For a service of people: when they work (None: machines, always).
    pub working_hours: Option<WorkingHours>,
    /// Whether this is a service of people (`kind = "human"`).
    pub human: bool,
    /// Latency objective of one request, placement to result (None: only failures count
    /// against the service).
    pub slo: Option<SimDuration>,
}

/// One stage of calls.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CallStage {
    /// The services called in parallel.
    pub services: Vec<ServiceId>,
    /// For each call, the resolved resilience settings.
    pub resilience: Vec<Resilience>,
}

/// A DAG of steps, each executed by one service.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Workflow {
    /// The key under `[workflows]` (or `<class>` for a class's single-step workflow).
    pub name: String,
    /// Steps in a topological order: every step comes after all of its predecessors.
    pub steps: Vec<Step>,
}

/// One step of a workflow.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Step {
    /// The step's name, unique in its workflow.
    pub name: String,
    /// The service that executes it.
    pub service: ServiceId,
    /// Indices (into [`Workflow::steps`]) of the steps that must complete first; all are
    /// smaller than this step's own index.
    pub after: Vec<usize>,
    /// The resolved resilience settings for this step.
    pub resilience: Resilience,
    /// A human review that may follow the step.
    pub approval: Option<Approval>,
    /// A human service that takes over when the step fails for good.
    pub escalate: Option<ServiceId>,
}

/// A kind of job: what it runs and how it arrives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobClass {
    /// The key under `[classes]`.
    pub name: String,
    /// The workflow a job of this class runs.
    pub workflow: WorkflowId,
    /// A job still unfinished this long after it arrived fails.
    pub deadline: Option<SimDuration>,
    /// Where its jobs come from.
    pub source: ClassSource,
}

/// Where a class's jobs come from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClassSource {
    /// Its own arrival process.
    Own(Arrival),
    /// A share of [`Scenario::shared_arrival`], proportional to this weight (> 0).
    Weight(f64),
}

/// An arrival process and the shapes that modulate its rate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Arrival {
    /// The process.
    pub process: Process,
    /// Rate multipliers, combined by multiplication (open-loop processes only).
    pub shapes: Vec<RateShape>,
}

/// The kinds of arrival process.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Process {
    /// Open loop, exponential gaps, `rate` jobs per second.
    Poisson {
        /// Jobs per second.
        rate: f64,
    },
    /// Open loop, constant gaps of `1 / rate`.
    Deterministic {
        /// Jobs per second.
        rate: f64,
    },
    /// Open loop, two-state Markov-modulated Poisson: `rate` in the normal state and
    /// `burst_rate` in the burst state, with exponential sojourns of the given means.
    Mmpp {
        /// Jobs per second in the normal state.
        rate: f64,
        /// Jobs per second in the burst state.
        burst_rate: f64,
        /// Mean time in the normal state.
        normal_time: SimDuration,
        /// Mean time in the burst state.
        burst_time: SimDuration,
    },
    /// Replay of recorded arrival instants (sorted), optionally with the class of each.
    Trace {
        /// Arrival instants, non-decreasing.
        times: Arc<[SimTime]>,
        /// The class of each arrival, when the trace has a class column.
        classes: Option<Arc<[ClassId]>>,
    },
    /// Closed loop: `clients` users, each sending its next job a think time after its
    /// previous job ended.
    Closed {
        /// Number of users.
        clients: u32,
        /// Think time between a job's end and the same user's next job.
        think: DurationDist,
    },
}

/// A multiplier of an open-loop arrival rate over time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RateShape {
    /// `factor` during `[at, at + duration)`, 1 elsewhere.
    Spike {
        /// Start.
        at: SimTime,
        /// Length.
        duration: SimDuration,
        /// Multiplier (>= 0).
        factor: f64,
    },
    /// `from` before `start`, linear to `to` at `end`, `to` after.
    Ramp {
        /// Start of the ramp.
        start: SimTime,
        /// End of the ramp.
        end: SimTime,
        /// Multiplier before the ramp.
        from: f64,
        /// Multiplier after the ramp.
        to: f64,
    },
    /// `1 + amplitude * cos(2 pi (t - peak) / period)`.
    Diurnal {
        /// Length of one cycle.
        period: SimDuration,
        /// In [0, 1].
        amplitude: f64,
        /// An instant of maximum rate.
        peak: SimTime,
    },
}

impl RateShape {
    /// The multiplier at `t`.
    pub fn at(&self, t: SimTime) -> f64 {
        match *self {
            RateShape::Spike { at, duration, factor } => {
                if t >= at && t < at + duration {
                    factor
                } else {
                    1.0
                }
            }
            RateShape::Ramp { start, end, from, to } => {
                if t <= start {
                    from
                } else if t >= end {
                    to
                } else {
                    let x = (t - start).as_secs_f64() / (end - start).as_secs_f64();
                    from + (to - from) * x
                }
            }
            RateShape::Diurnal { period, amplitude, peak } => {
                let phase = (t.as_secs_f64() - peak.as_secs_f64()) / period.as_secs_f64();
                1.0 + amplitude * (std::f64::consts::TAU * phase).cos()
            }
        }
    }

    /// An upper bound of the multiplier over all time.
    pub fn max(&self) -> f64 {
        match *self {
            RateShape::Spike { factor, .. } => factor.max(1.0),
            RateShape::Ramp { from, to, .. } => from.max(to),
            RateShape::Diurnal { amplitude, .. } => 1.0 + amplitude,
        }
    }
}

/// The simulated network between agents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Network {
    /// One-way latency of every message, unless a link overrides it.
    pub latency: DurationDist,
    /// Probability that a message is lost, in `[0, 1]`, unless a link overrides it.
    pub loss: f64,
    /// Named groups of agents.
    pub groups: Vec<Group>,
    /// Overrides for messages between two groups; the first matching link applies.
    pub links: Vec<Link>,
}

/// A named set of agents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Group {
    /// The key under `[network.groups]`.
    pub name: String,
    /// Whether the orchestrators belong to it.
    pub orchestrators: bool,
    /// Services whose replicas belong to it.
    pub services: Vec<ServiceId>,
}

/// Latency and loss for messages between two groups, in either direction.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Link {
    /// The two groups (indices into [`Network::groups`]; may be equal).
    pub between: [usize; 2],
    /// Latency on this link.
    pub latency: DurationDist,
    /// Loss probability on this link.
    pub loss: f64,
}

impl Scenario {
    /// The number of replicas over all services.
    pub fn total_replicas(&self) -> u32 {
        self.services.iter().map(|s| s.replicas).sum()
    }

    /// The service with this name.
    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services.iter().position(|s| s.name == name).map(|i| ServiceId(i as u32))
    }

    /// The class with this name.
    pub fn class_id(&self, name: &str) -> Option<ClassId> {
        self.classes.iter().position(|c| c.name == name).map(|i| ClassId(i as u32))
    }
}

/// Why a scenario could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}:{column}: not valid TOML: {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A key or value does not fit the scenario schema.
    #[error("{}: {field}: {message}", .path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `services.server.replicas`.
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A `--set` override could not be applied.
    #[error("{}: --set {assignment}: {message}", .path.display())]
    Override {
        /// The file the override applies to.
        path: PathBuf,
        /// The `KEY=VALUE` text as given.
        assignment: String,
        /// What was wrong.
        message: String,
    },
}

impl ScenarioError {
    /// The dotted key path the error is about, when it is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A validation failure before the file name is attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid { field: field.into(), message: message.into() }
    }

    fn in_file(self, path: &Path) -> ScenarioError {
        ScenarioError::Field { path: path.to_owned(), field: self.field, message: self.message }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Loads and validates a scenario file.
///
/// # Errors
/// [`ScenarioError`] names the file, the key path and what was expected: a missing or
/// unreadable file, invalid TOML, an unknown key (with the closest known one), a value of the
/// wrong type, or a value out of range.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &[])
}

/// Loads a scenario file, applies `overrides` to the document, then validates it.
///
/// # Errors
/// As [`load`], plus an override whose key path cannot be set.
pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let text = fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    parse(&text, path, stem.as_deref().unwrap_or("scenario"), overrides)
}

/// Validates scenario text that did not come from a file (tests, generated scenarios).
/// `origin` stands in for the file name in errors and is the default scenario name.
///
/// # Errors
/// As [`load_with`].
pub fn from_toml_str(
    text: &str,
    origin: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    parse(text, Path::new(origin), origin, overrides)
}

fn parse(
    text: &str,
    path: &Path,
    default_name: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    from_document(parse_document(text, path)?, path, default_name, overrides)
}

/// Text -> TOML document, with the line and column of a syntax error.
fn parse_document(text: &str, path: &Path) -> Result<toml::Table, ScenarioError> {
    text.parse().map_err(|err: toml::de::Error| {
        let (line, column) = err.span().map_or((1, 1), |span| line_column(text, span.start));
        ScenarioError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: err.message().trim().to_owned(),
        }
    })
}

/// Overrides applied to a parsed document, then the schema and the validation.
fn from_document(
    mut document: toml::Table,
    path: &Path,
    default_name: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    for item in overrides {
        item.apply(&mut document).map_err(|message| ScenarioError::Override {
            path: path.to_owned(),
            assignment: item.to_string(),
            message,
        })?;
    }
    let raw: raw::RawScenario = deserialize(document, path)?;
    if let Some(section) = &raw.sweep {
        // `run` and `validate` ignore a sweep but still check it.
        sweep::sweep(section).map_err(|invalid| invalid.in_file(path))?;
    }
    // Files a scenario names (traces, empirical samples) are relative to the scenario file.
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    validate::scenario(raw, default_name, base).map_err(|invalid| invalid.in_file(path))
}

/// The serde mirror of a document, errors naming the key path (with a suggestion).
fn deserialize<T: serde::de::DeserializeOwned>(
    document: toml::Table,
    path: &Path,
) -> Result<T, ScenarioError> {
    serde_path_to_error::deserialize(toml::Value::Table(document)).map_err(|err| {
        let field = err.path().to_string();
        // The toml crate appends "in `table`" on a second line: the path says it already.
        let inner = err.inner().to_string();
        let first_line = inner.lines().next().unwrap_or_default();
        let message = with_suggestion(first_line);
        ScenarioError::Field { path: path.to_owned(), field, message }
    })
}

/// The `[sweep]` section of a scenario file, validated, with its grid expanded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sweep {
    /// The swept keys in the order the file lists them; cells are their Cartesian product
    /// (the first key varies slowest).
    pub grid: Vec<GridAxis>,
    /// Policies to compare (default: the scenario's `policies`).
    pub policies: Option<Vec<crate::policy::PolicyKind>>,
    /// Replications per cell and policy (default: the scenario's `replications`).
    pub replications: Option<u32>,
    /// Reference policy of the paired differences (default: the first policy).
    pub reference: Option<crate::policy::PolicyKind>,
    /// Precision targets: metric column of `runs.csv` and the relative half-width of its 95%
    /// interval that ends a cell's replications.
    pub precision: Vec<(String, f64)>,
    /// Cap on replications per cell when a precision target is set.
    pub max_replications: Option<u32>,
}

impl Sweep {
    /// The cap on replications per cell under a precision target.
    pub fn max_replications(&self) -> u32 {
        self.max_replications.unwrap_or(sweep::DEFAULT_MAX_REPLICATIONS)
    }
}

/// One swept key and its values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GridAxis {
    /// Dotted key path into the scenario document, as for `--set`.
    pub key: String,
    /// The values, in order (ranges expanded).
    pub values: Vec<toml::Value>,
}

/// A scenario file with a `[sweep]` section: the base document (the file without its
/// `[sweep]`) and the validated sweep. Each cell is the base document plus overrides,
/// validated like a file by [`SweepFile::cell`].
#[derive(Clone, Debug)]
pub struct SweepFile {
    path: PathBuf,
    default_name: String,
    text: String,
    document: toml::Table,
    /// The `[sweep]` section.
    pub sweep: Sweep,
    /// The base scenario (no cell override applied), with the sweep's policies and
    /// replications.
    pub base: Scenario,
}

impl SweepFile {
    /// The file as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The scenario of one cell: the base document with the sweep's `policies` and
    /// `replications` and then `overrides` applied, validated like a file.
    ///
    /// # Errors
    /// As [`load_with`], naming the file and the key.
    pub fn cell(&self, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let mut all = sweep_overrides(&self.sweep);
        all.extend_from_slice(overrides);
        from_document(self.document.clone(), &self.path, &self.default_name, &all)
    }
}

/// The sweep's `policies` and `replications` as overrides of the base document.
fn sweep_overrides(sweep: &Sweep) -> Vec<Override> {
    let mut all = Vec::new();
    if let Some(policies) = &sweep.policies {
        let names = policies.iter().map(|p| toml::Value::String(p.name().to_owned())).collect();
        all.push(Override::new("policies", toml::Value::Array(names)));
    }
    if let Some(replications) = sweep.replications {
        all.push(Override::new("replications", toml::Value::Integer(i64::from(replications))));
    }
    all
}

/// Loads a scenario file with a `[sweep]` section.
///
/// # Errors
/// As [`load`]; also a file without a `[sweep]` section, a malformed grid, range or
/// precision target, or a reference policy that is not compared.
pub fn load_sweep(path: &Path) -> Result<SweepFile, ScenarioError> {
    let text = fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
    let default_name = path
        .file_stem()
        .map_or_else(|| "scenario".to_owned(), |s| s.to_string_lossy().into_owned());
    let mut document = parse_document(&text, path)?;
    // The whole file first, so every key (the sweep's included) is checked as usual.
    let raw: raw::RawScenario = deserialize(document.clone(), path)?;
    let in_file = |invalid: Invalid| invalid.in_file(path);
    let Some(raw_sweep) = raw.sweep else {
        return Err(in_file(Invalid::new(
            "sweep",
            "no [sweep] section: `coordsim sweep` needs one (see docs/scenarios.md)",
        )));
    };
    let mut sweep = sweep::sweep(&raw_sweep).map_err(in_file)?;
    // Cells vary the first listed key slowest: restore the file's key order, which the
    // document's sorted tables lose.
    let order = grid_key_order(&text);
    sweep.grid.sort_by_key(|axis| order.iter().position(|k| *k == axis.key));
    document.remove("sweep");
    let base = from_document(document.clone(), path, &default_name, &sweep_overrides(&sweep))?;
    let file = SweepFile { path: path.to_owned(), default_name, text, document, sweep, base };
    if let Some(reference) = file.sweep.reference {
        if !file.base.policies.iter().any(|p| p.kind() == reference) {
            let compared: Vec<_> = file.base.policies.iter().map(|p| p.kind().name()).collect();
            return Err(in_file(Invalid::new(
                "sweep.reference",
                format!(
                    "`{}` is not one of the compared policies ({})",
                    reference.name(),
                    compared.join(", ")
                ),
            )));
        }
    }
    Ok(file)
}

/// The keys of `[sweep.grid]` in the order the text lists them (empty if the text has none).
fn grid_key_order(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else { return Vec::new() };
    doc.get("sweep")
        .and_then(|s| s.get("grid"))
        .and_then(|g| g.as_table_like())
        .map(|t| t.iter().map(|(k, _)| k.to_owned()).collect())
        .unwrap_or_default()
}

/// 1-based line and column of byte offset `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Adds "did you mean `x`?" to serde's unknown-field and unknown-variant messages.
///
/// serde words these as "unknown field `got`, expected one of `a`, `b`" (or "expected `a`");
/// the first back-quoted word is what the user wrote, the others are the valid names.
fn with_suggestion(message: &str) -> String {
    let message = message.trim();
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return message.to_owned();
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    match quoted.split_first() {
        Some((got, known)) => match closest(got, known.iter().copied()) {
            Some(best) => format!("{message}; did you mean `{best}`?"),
            None => message.to_owned(),
        },
        None => message.to_owned(),
    }
}

/// The candidate closest to `got`, if one is close enough to be a plausible typo.
pub(crate) fn closest<'a>(got: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(got, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_closest_known_name() {
        let msg = "unknown field `concurency`, expected one of `replicas`, `concurrency`, `speed`";
        assert!(with_suggestion(msg).ends_with("did you mean `concurrency`?"));
        let far = "unknown field `zzz`, expected one of `replicas`, `speed`";
        assert_eq!(with_suggestion(far), far);
        assert_eq!(with_suggestion("missing field `duration`"), "missing field `duration`");
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
