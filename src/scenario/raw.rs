//! The serde mirror of a scenario file: field names and nesting exactly as users write them,
//! no defaults applied and no checks beyond types. `deny_unknown_fields` everywhere, so a
//! misspelt key is an error (with a suggestion, added by `scenario`) instead of being ignored.
//! Durations are `raw/duration.rs`, the policy tables `raw/policies.rs`, the control agents
//! `raw/agents.rs`. Conversion to the validated [`Scenario`](super::Scenario) lives in `validate.rs` (the
//! top-level keys) and in one file per section under `validate/`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::policy::PolicyKind;

mod agents;
mod duration;
mod policies;
pub(crate) use agents::*;
pub(crate) use duration::*;
pub(crate) use policies::*;

/// A whole scenario document.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    /// Name used in result files; letters, digits, `_`, `-` (default: file stem)
    pub name: Option<String>,
    /// Free text (default: `""`)
    pub description: Option<String>,
    /// Simulated span of one run, warm-up included; > 0, at most 1e7 s (unit: s)
    pub duration: Seconds,
    /// Initial span excluded from every figure: only jobs arriving after it count; < `duration`
    /// (unit: s; default: `0`)
    pub warmup: Option<Seconds>,
    /// Master seed; with the replication index it determines every random stream (default: `1`)
    pub seed: Option<u64>,
    /// Independent replications per policy; >= 1 (default: `1`)
    pub replications: Option<u32>,
    /// Front-end agents; jobs are spread over them round-robin; >= 1 (default: `1`)
    pub orchestrators: Option<u32>,
    /// Policies to compare, in order; each at most once; see `coordsim policies` (default: the
    /// protocols and classic baselines: `central`, `auction`, `gossip`, `random`,
    /// `round_robin`, `least_outstanding`, `power_of_d`, `peak_ewma`)
    pub policies: Option<Vec<PolicyKind>>,
    /// Parameters of the policies, below
    #[serde(default)]
    pub policy: RawPolicyParams,
    /// The network, below (default: zero latency, no loss)
    #[serde(default)]
    pub network: RawNetwork,
    /// A shared arrival process whose jobs are split over the classes that have a `weight`
    /// (default: none)
    pub arrival: Option<RawArrival>,
    /// The services, by name
    pub services: BTreeMap<String, RawService>,
    /// The workflows, by name (default: none)
    #[serde(default)]
    pub workflows: BTreeMap<String, RawWorkflow>,
    /// The job classes, by name
    pub classes: BTreeMap<String, RawClass>,
    /// Injected faults, below (default: none)
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Load shedding at the entry, below (default: none)
    pub admission: Option<RawAdmission>,
    /// Windows and impairment for the cascade figures and `timeseries.csv`, below (default:
    /// defaults below)
    pub metrics: Option<RawMetrics>,
    /// The grid that `coordsim sweep` runs, below; ignored by `run` (but checked) (default:
    /// none)
    pub sweep: Option<RawSweep>,
    /// Control agents (autoscalers, remediators, adaptive and budget agents), below (default:
    /// none)
    #[serde(default)]
    pub agents: Vec<RawAgent>,
    /// Which agents run, and the monitoring system they read, below (default: all agents, 1 s
    /// scrape)
    pub control: Option<RawControl>,
}

/// `[metrics]`: windows and impairment (docs/model.md section 8).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    /// Length of one window of the time series and of the cascade analysis; > 0 (unit: s;
    /// default: `"1s"`)
    pub window: Option<Seconds>,
    /// A service is impaired in a window when more than this share of the requests it finished
    /// there failed or missed its `slo`; in [0, 1) (default: `0.05`)
    pub impaired_error_ratio: Option<f64>,
    /// A service stays directly faulted this long after a fault on it ends (the time its
    /// callers need to drain timeouts, retries and queues); >= 0 (unit: s; default: `"2s"`)
    pub grace: Option<Seconds>,
    /// A service has recovered from a fault (`time_to_recover_s`) after this many windows in a
    /// row in which it meets its SLO; >= 1 (unit: windows; default: `3`)
    pub recovery_windows: Option<u32>,
}

/// `[sweep]`: the grid of cells, the policies and the replications of `coordsim sweep`.
/// Grid values stay raw TOML: each is written into the document as an override and
/// validated with the rest of the cell.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSweep {
    /// Swept keys: a quoted dotted key path (as for `--set`) mapped to an array of values or a
    /// range `{ from, to, step }` / `{ from, to, count }` (`to` included); `policies` cannot be
    /// swept (default: no key: one cell)
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<serde_json::Value>>")]
    pub grid: BTreeMap<String, toml::Value>,
    /// Policies compared in every cell, in order (default: the scenario's `policies`)
    pub policies: Option<Vec<PolicyKind>>,
    /// Replications per cell and policy; >= 1 (at least 3 under a precision target) (default:
    /// the scenario's `replications`)
    pub replications: Option<u32>,
    /// Reference of the paired differences in `summary.csv`; one of the compared policies
    /// (default: the first policy)
    pub reference: Option<PolicyKind>,
    /// Metric column of `runs.csv` -> relative half-width in (0, 1]: each cell gets
    /// replications until every policy's 95% interval of the metric is within that share of its
    /// mean (`--precision METRIC=REL` replaces it) (default: none)
    #[serde(default)]
    pub precision: BTreeMap<String, f64>,
    /// Cap on replications per cell under a precision target (default: `50`)
    pub max_replications: Option<u32>,
}

/// `[admission]`: jobs refused at the entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmission {
    /// A job arriving while this many are in the system is refused at once (counted as failed
    /// and in `jobs_shed`); >= 1 (unit: jobs)
    pub max_in_flight: u32,
}

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultKind {
    Crash,
    Slowdown,
    Partition,
    MessageLoss,
}

impl FaultKind {
    /// The name used in scenario files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Slowdown => "slowdown",
            FaultKind::Partition => "partition",
            FaultKind::MessageLoss => "message_loss",
        }
    }
}

/// `[[faults]]`: one injected fault, scheduled (`at`, `duration`) or random (`mtbf`, `mttr`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    /// `crash`, `slowdown`, `partition` or `message_loss`
    pub kind: FaultKind,
    /// `crash`, `slowdown`: the target service
    pub service: Option<String>,
    /// `crash`, `slowdown`: one group of the service's replicas (default: every group)
    pub group: Option<String>,
    /// `crash`, `slowdown`: one replica (0-based index among the starting replicas of the
    /// `group`, or of the service in group order) (default: all)
    pub replica: Option<u32>,
    /// `crash` of an agent instead of a service: `orchestrator-N` (0-based), or `central`'s
    /// `scheduler` or `standby`
    pub agent: Option<String>,
    /// Scheduled: start (with `duration`) (unit: s)
    pub at: Option<Seconds>,
    /// Scheduled: length (unit: s)
    pub duration: Option<Seconds>,
    /// Random: mean up time before each occurrence (with `mttr`) (unit: s)
    pub mtbf: Option<Seconds>,
    /// Random: mean length of each occurrence (unit: s)
    pub mttr: Option<Seconds>,
    /// `slowdown`: execution-time multiplier; > 0
    pub factor: Option<f64>,
    /// `partition` (required): the two sides; `message_loss` (optional): the link, else every
    /// link
    pub groups: Option<Vec<String>>,
    /// `message_loss`: extra loss probability (unit: probability)
    pub loss: Option<f64>,
}

/// How callers treat requests to a service (or to one call stage, or one step).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResilience {
    /// Per attempt: the caller stops waiting after this long and counts the attempt as failed
    /// (unit: s; default: none)
    pub timeout: Option<Seconds>,
    /// Further attempts after a failure or a timeout, below (default: no retry)
    pub retries: Option<RawRetries>,
    /// A second attempt when the first is slow, below (default: none)
    pub hedge: Option<RawHedge>,
    /// Send a cancel for timed-out and losing attempts: removes queued work, stops running work
    /// (default: `false`)
    pub cancel: Option<bool>,
    /// Fail fast while the destination looks broken, below (default: none)
    pub circuit_breaker: Option<RawBreaker>,
    /// Avoid replicas whose errors or latency stand out, below (default: none)
    pub outlier_ejection: Option<RawEjection>,
}

/// Backoff between attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BackoffKind {
    None,
    Constant,
    Exponential,
}

/// Randomisation of the backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JitterKind {
    None,
    Full,
    Equal,
}

/// `retries = { ... }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetries {
    /// Attempts after the first; at most 100
    pub max: u32,
    /// `none` (retry at once), `constant` (`base`), `exponential` (`base * 2^(n-1)`, at most
    /// `cap`) (default: `exponential` if `base` is set, else `none`)
    pub backoff: Option<BackoffKind>,
    /// First wait (unit: s)
    pub base: Option<Seconds>,
    /// Longest wait (`exponential`) (unit: s; default: `1024 * base`)
    pub cap: Option<Seconds>,
    /// `none`, `full` (uniform on [0, wait]) or `equal` (uniform on [wait/2, wait]) (default:
    /// `none`)
    pub jitter: Option<JitterKind>,
    /// A token bucket per caller and destination: each first attempt adds `budget` tokens (at
    /// most 10 held), each retry spends one; no token, no retry (unit: retries per request;
    /// default: unlimited)
    pub budget: Option<f64>,
}

/// `hedge = { after = ... }` or `hedge = { quantile = ... }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHedge {
    /// Send a second attempt if the first has not answered after this long (exactly one of
    /// `after`, `quantile`) (unit: s)
    pub after: Option<Seconds>,
    /// ... after this quantile of the latencies recently observed for the destination (0 < q <
    /// 1; no hedging until 32 results were seen)
    pub quantile: Option<f64>,
}

/// `circuit_breaker = { ... }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    /// Open when the failure share of the current window reaches this (once `min_requests` were
    /// seen) (default: `0.5`)
    pub error_rate: Option<f64>,
    /// Or after this many consecutive failures (`0`: off) (default: `5`)
    pub consecutive: Option<u32>,
    /// Length of the counting window (unit: s; default: `10s`)
    pub window: Option<Seconds>,
    /// Requests a window needs before its error rate counts (default: `10`)
    pub min_requests: Option<u32>,
    /// How long the breaker fails requests fast before letting probes through (unit: s;
    /// default: `5s`)
    pub open_for: Option<Seconds>,
    /// Requests let through while half-open: a success closes the breaker, a failure reopens it
    /// (default: `1`)
    pub probes: Option<u32>,
}

/// `outlier_ejection = { ... }`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEjection {
    /// Eject a replica after this many consecutive failures (timeouts count) (default: `5`)
    pub consecutive_failures: Option<u32>,
    /// Or when its mean latency (moving average) exceeds this multiple of the median over the
    /// service's replicas; > 1 (default: off)
    pub latency_factor: Option<f64>,
    /// Results a replica needs before its latency is judged (default: `20`)
    pub min_samples: Option<u32>,
    /// How long an ejected replica is avoided (unit: s; default: `30s`)
    pub eject_for: Option<Seconds>,
    /// At most this share of a service's replicas is ejected at once (default: `0.5`)
    pub max_ejected: Option<f64>,
}

/// Whether a service is machines or people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ServiceKindRaw {
    Machine,
    Human,
}

/// `working_hours = { ... }` of a human service.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHours {
    /// Offset of the start of work within each period (unit: s)
    pub start: Seconds,
    /// Offset of the end of work; `start < end <= period` (unit: s)
    pub end: Seconds,
    /// Length of a day (unit: s; default: `24h`)
    pub period: Option<Seconds>,
}

/// `approval = { ... }` of a workflow step.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApproval {
    /// The service of reviewers
    pub service: String,
    /// Probability that a job needs the review, drawn when the job arrives
    pub probability: f64,
    /// Probability that the reviewer rejects; the job then fails (default: `0`)
    pub reject: Option<f64>,
}

/// `[network]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    /// One-way latency of every message between agents, unless a link overrides it (unit: s;
    /// default: constant 0)
    pub latency: Option<RawDist>,
    /// Probability that a message is lost, in [0, 1], unless a link overrides it (unit:
    /// probability; default: `0`)
    pub loss: Option<f64>,
    /// Named groups of agents: each member is a service name (all its replicas) or
    /// `orchestrators` (default: none)
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Latency and loss between two groups, below; the first link matching a message applies
    /// (default: none)
    #[serde(default)]
    pub links: Vec<RawLink>,
}

/// `[[network.links]]`: latency and loss between two groups (both directions).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLink {
    /// Two group names (may be equal); the link applies in both directions
    pub between: Vec<String>,
    /// Latency on this link (unit: s; default: `network.latency`)
    pub latency: Option<RawDist>,
    /// Loss probability on this link (unit: probability; default: `network.loss`)
    pub loss: Option<f64>,
}

/// `[services.<name>]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    /// Identical workers; >= 1; required unless `groups` are declared, refused with them
    /// (unit: replicas)
    pub replicas: Option<u32>,
    /// Replica groups of their own speed, slots, queue and price, below; a service without
    /// groups is one group, `default`, of its own settings (default: none)
    pub groups: Option<Vec<RawGroup>>,
    /// The dispatcher is told each request's work when it places it (size-based assignment:
    /// `least_work_left`, `sita`) (default: `false`)
    pub sizes_known: Option<bool>,
    /// Price of one replica-hour, for the `cost` figure; the default of the service's groups;
    /// >= 0 (unit: per replica-hour; default: `0`)
    pub price: Option<f64>,
    /// Requests one replica executes at once; >= 1 (unit: requests; default: `1`)
    pub concurrency: Option<u32>,
    /// Requests one replica holds waiting; one more is rejected at once; `0` means no queue
    /// (unit: requests; default: unbounded)
    pub queue_capacity: Option<u32>,
    /// Execution takes `work / speed`; > 0 (unit: work-seconds per second; default: `1.0`)
    pub speed: Option<f64>,
    /// Base work size of one request, drawn when the job is created and shared by every retry
    /// and hedge of the request (unit: s)
    pub service_time: RawDist,
    /// Per-execution variability: multiplies the work, drawn for each attempt as it starts from
    /// its replica's own stream (a retry or hedge draws its own); a mean of 1 keeps the mean
    /// execution time; values are plain numbers (`mean = 1`, not `"1s"`) (unit: plain number;
    /// default: `1`)
    pub execution_multiplier: Option<RawDist>,
    /// Per-execution variability: added to the work (at speed 1) of each attempt, drawn as it
    /// starts from its replica's own stream; an attempt works for `(work x multiplier + extra)
    /// / speed x slowdown` (unit: s; default: none)
    pub execution_extra: Option<RawDist>,
    /// Downstream calls made after the service's own work, below (default: none)
    #[serde(default)]
    pub calls: Vec<RawCallStage>,
    /// How callers treat requests to this service, below (default: none)
    pub resilience: Option<RawResilience>,
    /// Server side: a request about to start is dropped instead of executed when its caller's
    /// timeout has passed or will pass before one mean execution time could finish; needs an
    /// execution time with a finite mean (default: `false`)
    pub drop_expired: Option<bool>,
    /// `machine` or `human` (a pool of people) (default: `machine`)
    pub kind: Option<ServiceKindRaw>,
    /// `human` only: when the people work, below (default: always)
    pub working_hours: Option<RawHours>,
    /// Latency objective of one request, placement to result; a slower successful request
    /// counts against the service's impairment like a failure; none: only failures count; > 0
    /// (unit: s; default: none)
    pub slo: Option<Seconds>,
}

/// `[[services.<name>.groups]]`: replicas of one speed, slots, queue and price.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroup {
    /// Unique within the service; faults (`group`) and autoscalers (`group`) name it
    pub name: String,
    /// Replicas of this group at the start; >= 1 (unit: replicas)
    pub replicas: u32,
    /// Execution takes `work / speed`; > 0 (unit: work-seconds per second; default: the
    /// service's `speed`)
    pub speed: Option<f64>,
    /// Requests one replica executes at once; >= 1 (unit: requests; default: the service's
    /// `concurrency`)
    pub concurrency: Option<u32>,
    /// Requests one replica holds waiting; `0` means no queue (unit: requests; default: the
    /// service's `queue_capacity`)
    pub queue_capacity: Option<u32>,
    /// Price of one replica-hour; >= 0 (unit: per replica-hour; default: the service's
    /// `price`)
    pub price: Option<f64>,
}

/// One stage of downstream calls.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallStage {
    /// Services called in parallel in this stage
    pub services: Vec<String>,
    /// Overrides the callees' `resilience` for these calls, key by key (default: the callee's)
    pub resilience: Option<RawResilience>,
}

/// `[workflows.<name>]`: a DAG of steps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkflow {
    /// The steps, below, in any order
    pub steps: Vec<RawStep>,
}

/// One step of a workflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    /// Unique in the workflow
    pub name: String,
    /// The service that executes the step
    pub service: String,
    /// Steps that must complete first; the steps must form a DAG (default: none)
    #[serde(default)]
    pub after: Vec<String>,
    /// Overrides the service's `resilience` for this step, key by key (default: the service's)
    pub resilience: Option<RawResilience>,
    /// A human review that may follow the step, below (default: none)
    pub approval: Option<RawApproval>,
    /// A (human) service that takes the step over when it fails for good, instead of failing
    /// the job (default: none)
    pub escalate: Option<String>,
}

/// `[classes.<name>]`: a kind of job and how it arrives.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClass {
    /// One-step jobs on this service (exactly one of `service`, `workflow`)
    pub service: Option<String>,
    /// Jobs that run this workflow
    pub workflow: Option<String>,
    /// A job unfinished this long after it arrived fails; work already under way runs on and
    /// its results are discarded (unit: s; default: none)
    pub deadline: Option<Seconds>,
    /// This class's own arrival process (exactly one of `arrival`, `weight`)
    pub arrival: Option<RawArrival>,
    /// Share of the top-level `arrival` process; > 0
    pub weight: Option<f64>,
}

/// The names of the arrival processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProcessKind {
    Poisson,
    Deterministic,
    Mmpp,
    Trace,
    Closed,
}

/// An arrival process. Which keys apply depends on `process`; validation names any key
/// that is missing or does not apply.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArrival {
    /// `poisson`, `deterministic`, `mmpp`, `trace` or `closed`
    pub process: ProcessKind,
    /// The base rate (for `mmpp`, in the normal state); in (0, 1e9] (unit: jobs/s; default:
    /// required by `poisson`, `deterministic`, `mmpp`)
    pub rate: Option<f64>,
    /// The rate in the burst state (unit: jobs/s; default: required by `mmpp`)
    pub burst_rate: Option<f64>,
    /// Mean (exponential) time in the normal state (unit: s; default: required by `mmpp`)
    pub normal_time: Option<Seconds>,
    /// Mean (exponential) time in the burst state (unit: s; default: required by `mmpp`)
    pub burst_time: Option<Seconds>,
    /// CSV file with a header row, relative to the scenario file (default: required by `trace`)
    pub file: Option<String>,
    /// `trace`: the column of arrival instants in seconds, non-decreasing (default: `time`)
    pub time_column: Option<String>,
    /// `trace`, top-level only: the column naming each arrival's class (default: none)
    pub class_column: Option<String>,
    /// Users, each sending its next job a think time after its previous job ended (completed or
    /// failed) (unit: users; default: required by `closed`)
    pub clients: Option<u32>,
    /// Think time (unit: s; default: required by `closed`)
    pub think: Option<RawDist>,
    /// Rate multipliers over windows, below (default: none)
    #[serde(default)]
    pub spikes: Vec<RawSpike>,
    /// A linear change of the rate multiplier, below (default: none)
    pub ramp: Option<RawRamp>,
    /// A cyclic rate multiplier, below (default: none)
    pub diurnal: Option<RawDiurnal>,
}

/// A traffic spike: the rate is multiplied by `factor` during `[at, at + duration)`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpike {
    /// Start of the spike (unit: s)
    pub at: Seconds,
    /// Length of the spike; > 0 (unit: s)
    pub duration: Seconds,
    /// Rate multiplier during the spike; >= 0
    pub factor: f64,
}

/// A ramp: the multiplier goes linearly from `from` at `start` to `to` at `end`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRamp {
    /// The multiplier is `from` until here (unit: s)
    pub start: Seconds,
    /// And `to` from here on; linear in between; > `start` (unit: s)
    pub end: Seconds,
    /// Multiplier before the ramp; >= 0 (default: `1`)
    pub from: Option<f64>,
    /// Multiplier after the ramp; >= 0
    pub to: f64,
}

/// A daily-style cycle: multiplier `1 + amplitude * cos(2 pi (t - peak) / period)`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDiurnal {
    /// Length of one cycle (unit: s)
    pub period: Seconds,
    /// In [0, 1]: the multiplier is `1 + amplitude * cos(2 pi (t - peak) / period)`
    pub amplitude: f64,
    /// An instant of maximum rate (unit: s; default: `0`)
    pub peak: Option<Seconds>,
}

/// A duration distribution, tagged by `dist`; parameters in seconds.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawDist {
    Constant {
        /// Always this; >= 0 (unit: s)
        value: Seconds,
    },
    Exponential {
        /// > 0; coefficient of variation 1 (unit: s)
        mean: Seconds,
    },
    Uniform {
        /// >= 0 (unit: s)
        min: Seconds,
        /// >= `min` (unit: s)
        max: Seconds,
    },
    Lognormal {
        /// > 0 (unit: s)
        mean: Seconds,
        /// Coefficient of variation (standard deviation / mean); > 0
        cv: f64,
    },
    Pareto {
        /// The minimum value; > 0 (unit: s)
        scale: Seconds,
        /// Tail index; > 0; the mean `shape * scale / (shape - 1)` is infinite for `shape <= 1`
        shape: f64,
    },
    BoundedPareto {
        /// > 0 (unit: s)
        min: Seconds,
        /// > `min` (unit: s)
        max: Seconds,
        /// Tail index; > 0
        shape: f64,
    },
    Empirical {
        /// CSV file with a header row, relative to the scenario file
        file: String,
        /// The column of values in seconds; draws resample them uniformly (default: the first
        /// column)
        column: Option<String>,
    },
}
