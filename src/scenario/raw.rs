//! The serde mirror of a scenario file: field names and nesting exactly as users write them,
//! no defaults applied and no checks beyond types. `deny_unknown_fields` everywhere, so a
//! misspelt key is an error (with a suggestion, added by `scenario`) instead of being ignored.
//! Conversion to the validated [`Scenario`](super::Scenario) lives in `validate.rs` (the
//! top-level keys) and in one file per section under `validate/`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::policy::PolicyKind;

mod agents;
pub(crate) use agents::*;

/// A whole scenario document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<String>,
    pub description: Option<String>,
    pub duration: Seconds,
    pub warmup: Option<Seconds>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub orchestrators: Option<u32>,
    pub policies: Option<Vec<PolicyKind>>,
    #[serde(default)]
    pub policy: RawPolicyParams,
    #[serde(default)]
    pub network: RawNetwork,
    /// A shared arrival process whose jobs are split over the classes by `weight`.
    pub arrival: Option<RawArrival>,
    pub services: BTreeMap<String, RawService>,
    #[serde(default)]
    pub workflows: BTreeMap<String, RawWorkflow>,
    pub classes: BTreeMap<String, RawClass>,
    /// Injected faults.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Load shedding at the entry.
    pub admission: Option<RawAdmission>,
    /// How the cascade figures and the time series cut and judge time.
    pub metrics: Option<RawMetrics>,
    /// A grid of variants of this scenario, run by `coordsim sweep`.
    pub sweep: Option<RawSweep>,
    /// Control agents: autoscalers, remediators, adaptive and budget agents.
    #[serde(default)]
    pub agents: Vec<RawAgent>,
    /// Which agents run, and the monitoring system they read.
    pub control: Option<RawControl>,
}

/// `[metrics]`: windows and impairment (docs/model.md section 8).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetrics {
    pub window: Option<Seconds>,
    pub impaired_error_ratio: Option<f64>,
    pub grace: Option<Seconds>,
    pub recovery_windows: Option<u32>,
}

/// `[sweep]`: the grid of cells, the policies and the replications of `coordsim sweep`.
/// Grid values stay raw TOML: each is written into the document as an override and
/// validated with the rest of the cell.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSweep {
    #[serde(default)]
    pub grid: BTreeMap<String, toml::Value>,
    pub policies: Option<Vec<PolicyKind>>,
    pub replications: Option<u32>,
    pub reference: Option<PolicyKind>,
    #[serde(default)]
    pub precision: BTreeMap<String, f64>,
    pub max_replications: Option<u32>,
}

/// `[admission]`: jobs refused at the entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAdmission {
    pub max_in_flight: u32,
}

/// The kinds of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    pub kind: FaultKind,
    pub service: Option<String>,
    pub replica: Option<u32>,
    pub agent: Option<String>,
    pub at: Option<Seconds>,
    pub duration: Option<Seconds>,
    pub mtbf: Option<Seconds>,
    pub mttr: Option<Seconds>,
    pub factor: Option<f64>,
    pub groups: Option<Vec<String>>,
    pub loss: Option<f64>,
}

/// How callers treat requests to a service (or to one call stage, or one step).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResilience {
    pub timeout: Option<Seconds>,
    pub retries: Option<RawRetries>,
    pub hedge: Option<RawHedge>,
    pub cancel: Option<bool>,
    pub circuit_breaker: Option<RawBreaker>,
    pub outlier_ejection: Option<RawEjection>,
}

/// Backoff between attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BackoffKind {
    None,
    Constant,
    Exponential,
}

/// Randomisation of the backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JitterKind {
    None,
    Full,
    Equal,
}

/// `retries = { ... }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetries {
    pub max: u32,
    pub backoff: Option<BackoffKind>,
    pub base: Option<Seconds>,
    pub cap: Option<Seconds>,
    pub jitter: Option<JitterKind>,
    pub budget: Option<f64>,
}

/// `hedge = { after = ... }` or `hedge = { quantile = ... }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHedge {
    pub after: Option<Seconds>,
    pub quantile: Option<f64>,
}

/// `circuit_breaker = { ... }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBreaker {
    pub error_rate: Option<f64>,
    pub consecutive: Option<u32>,
    pub window: Option<Seconds>,
    pub min_requests: Option<u32>,
    pub open_for: Option<Seconds>,
    pub probes: Option<u32>,
}

/// `outlier_ejection = { ... }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEjection {
    pub consecutive_failures: Option<u32>,
    pub latency_factor: Option<f64>,
    pub min_samples: Option<u32>,
    pub eject_for: Option<Seconds>,
    pub max_ejected: Option<f64>,
}

/// Whether a service is machines or people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ServiceKindRaw {
    Machine,
    Human,
}

/// `working_hours = { ... }` of a human service.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHours {
    pub start: Seconds,
    pub end: Seconds,
    pub period: Option<Seconds>,
}

/// `approval = { ... }` of a workflow step.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApproval {
    pub service: String,
    pub probability: f64,
    pub reject: Option<f64>,
}

/// `[policy.<name>]` tables: parameters of each policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicyParams {
    pub power_of_d: Option<RawPowerOfD>,
    pub peak_ewma: Option<RawPeakEwma>,
    pub central: Option<RawCentral>,
    pub auction: Option<RawAuction>,
    pub gossip: Option<RawGossip>,
}

/// `[policy.central]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCentral {
    pub heartbeat: Option<Seconds>,
    pub missed: Option<u32>,
    pub decision_time: Option<Seconds>,
    pub standby: Option<bool>,
    pub detection_timeout: Option<Seconds>,
    pub request_timeout: Option<Seconds>,
    pub reports: Option<crate::policy::Reports>,
    pub estimate: Option<crate::policy::LoadEstimate>,
}

/// `[policy.auction]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuction {
    pub k: Option<u32>,
    pub bid_deadline: Option<Seconds>,
    pub backoff: Option<Seconds>,
}

/// `[policy.gossip]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGossip {
    pub period: Option<Seconds>,
    pub fanout: Option<u32>,
    pub d: Option<u32>,
    pub suspect_timeout: Option<Seconds>,
    pub mode: Option<crate::policy::GossipMode>,
    pub resend_on_suspicion: Option<bool>,
    pub reports: Option<crate::policy::Reports>,
    pub estimate: Option<crate::policy::LoadEstimate>,
}

/// `[policy.peak_ewma]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeakEwma {
    pub decay: Option<Seconds>,
}

/// `[policy.power_of_d]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPowerOfD {
    pub d: Option<u32>,
}

/// `[network]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub latency: Option<RawDist>,
    pub loss: Option<f64>,
    /// Named groups of agents: each member is a service name or `orchestrators`.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// Per-link overrides between groups, first match wins.
    #[serde(default)]
    pub links: Vec<RawLink>,
}

/// `[[network.links]]`: latency and loss between two groups (both directions).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLink {
    pub between: Vec<String>,
    pub latency: Option<RawDist>,
    pub loss: Option<f64>,
}

/// `[services.<name>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub replicas: u32,
    pub concurrency: Option<u32>,
    pub queue_capacity: Option<u32>,
    pub speed: Option<f64>,
    pub service_time: RawDist,
    /// Per-execution variability: a multiplier of the work and an added term, drawn for
    /// each attempt.
    pub execution_multiplier: Option<RawDist>,
    pub execution_extra: Option<RawDist>,
    /// Downstream calls made after the service's own work: stages run in sequence, the
    /// services of one stage in parallel.
    #[serde(default)]
    pub calls: Vec<RawCallStage>,
    /// How callers treat requests to this service.
    pub resilience: Option<RawResilience>,
    /// Server side: skip queued requests whose caller has already timed out.
    pub drop_expired: Option<bool>,
    pub kind: Option<ServiceKindRaw>,
    pub working_hours: Option<RawHours>,
    /// Latency objective of one request (placement to result), for impairment.
    pub slo: Option<Seconds>,
}

/// One stage of downstream calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallStage {
    pub services: Vec<String>,
    /// Overrides the callees' `resilience`, key by key, for these calls.
    pub resilience: Option<RawResilience>,
}

/// `[workflows.<name>]`: a DAG of steps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWorkflow {
    pub steps: Vec<RawStep>,
}

/// One step of a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub name: String,
    pub service: String,
    #[serde(default)]
    pub after: Vec<String>,
    /// Overrides the service's `resilience`, key by key, for this step.
    pub resilience: Option<RawResilience>,
    pub approval: Option<RawApproval>,
    /// A human service that takes over the step when it fails for good.
    pub escalate: Option<String>,
}

/// `[classes.<name>]`: a kind of job and how it arrives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClass {
    /// One-step jobs on this service (exclusive with `workflow`).
    pub service: Option<String>,
    /// Jobs that run this workflow (exclusive with `service`).
    pub workflow: Option<String>,
    pub deadline: Option<Seconds>,
    /// This class's own arrival process (exclusive with `weight`).
    pub arrival: Option<RawArrival>,
    /// Share of the top-level `arrival` process (exclusive with `arrival`).
    pub weight: Option<f64>,
}

/// The names of the arrival processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawArrival {
    pub process: ProcessKind,
    pub rate: Option<f64>,
    pub burst_rate: Option<f64>,
    pub normal_time: Option<Seconds>,
    pub burst_time: Option<Seconds>,
    pub file: Option<String>,
    pub time_column: Option<String>,
    pub class_column: Option<String>,
    pub clients: Option<u32>,
    pub think: Option<RawDist>,
    #[serde(default)]
    pub spikes: Vec<RawSpike>,
    pub ramp: Option<RawRamp>,
    pub diurnal: Option<RawDiurnal>,
}

/// A traffic spike: the rate is multiplied by `factor` during `[at, at + duration)`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpike {
    pub at: Seconds,
    pub duration: Seconds,
    pub factor: f64,
}

/// A ramp: the multiplier goes linearly from `from` at `start` to `to` at `end`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRamp {
    pub start: Seconds,
    pub end: Seconds,
    pub from: Option<f64>,
    pub to: f64,
}

/// A daily-style cycle: multiplier `1 + amplitude * cos(2 pi (t - peak) / period)`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDiurnal {
    pub period: Seconds,
    pub amplitude: f64,
    pub peak: Option<Seconds>,
}

/// A duration distribution, tagged by `dist`; parameters in seconds.
#[derive(Debug, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawDist {
    Constant { value: Seconds },
    Exponential { mean: Seconds },
    Uniform { min: Seconds, max: Seconds },
    Lognormal { mean: Seconds, cv: f64 },
    Pareto { scale: Seconds, shape: f64 },
    BoundedPareto { min: Seconds, max: Seconds, shape: f64 },
    Empirical { file: String, column: Option<String> },
}

/// A duration as written in a file: a number of seconds (`0.01`) or a string with a unit
/// (`"10ms"`, `"1.5s"`, `"250us"`, `"2m"`). Sign and range are checked by validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;
        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration: seconds as a number, or a string such as \"10ms\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse_duration(v).map(Seconds).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SecondsVisitor)
    }
}

/// Parses `"<number><unit>"` with unit `ns`, `us`, `ms`, `s`, `m` or `h` into seconds.
///
/// Written here rather than taken from a crate because the common duration crates reject
/// fractions ("1.5ms") or return `std::time::Duration`, which cannot carry the negative
/// values that validation wants to report rather than fail to parse.
pub(crate) fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("duration {text:?} has no unit (use ns, us, ms, s, m or h)"))?;
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ns, us, ms, s, m or h)"
            ))
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{number:?} in duration {text:?} is not a number"))?;
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10ms"), Ok(0.010));
        assert_eq!(parse_duration("1.5 s"), Ok(1.5));
        assert_eq!(parse_duration("250us"), Ok(250e-6));
        assert_eq!(parse_duration("2m"), Ok(120.0));
        assert_eq!(parse_duration("-3s"), Ok(-3.0));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs").unwrap_err().contains("unknown duration unit"));
        assert!(parse_duration("x1ms").is_err());
    }
}
