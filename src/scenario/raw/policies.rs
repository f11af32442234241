//! The `[policy]` tables of a scenario file: each coordination policy's parameters, as
//! written (defaults and checks are `validate/policies.rs`'s).

use schemars::JsonSchema;
use serde::Deserialize;

use super::Seconds;

/// `[policy.<name>]` tables: parameters of each policy.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicyParams {
    /// Parameters of `power_of_d`
    pub power_of_d: Option<RawPowerOfD>,
    /// Parameters of `peak_ewma`
    pub peak_ewma: Option<RawPeakEwma>,
    /// Parameters of `central`
    pub central: Option<RawCentral>,
    /// Parameters of `auction`
    pub auction: Option<RawAuction>,
    /// Parameters of `gossip`
    pub gossip: Option<RawGossip>,
    /// Parameters of `sita`
    pub sita: Option<RawSita>,
}

/// `[policy.sita]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSita {
    /// Work sizes (at speed 1) between consecutive replicas' size intervals, increasing, > 0,
    /// at most 15; used where a service has one more candidate replica than cutoffs, else the
    /// computed ones (unit: s; default: computed to give each replica load in proportion to
    /// its speed x concurrency)
    pub cutoffs: Option<Vec<Seconds>>,
}

/// `[policy.central]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCentral {
    /// Period of each replica's load report to the scheduler; > 0 (unit: s; default: `100ms`)
    pub heartbeat: Option<Seconds>,
    /// A replica whose last heartbeat is older than `missed` periods is treated as dead; >= 1
    /// (unit: heartbeats; default: `3`)
    pub missed: Option<u32>,
    /// Scheduler time per placement; requests are served one at a time; >= 0 (unit: s; default:
    /// `100us`)
    pub decision_time: Option<Seconds>,
    /// A standby scheduler takes over when the active one is silent for `detection_timeout`
    /// (default: `false`)
    pub standby: Option<bool>,
    /// Silence of the active scheduler before the standby takes over; > 0 (unit: s; default:
    /// `500ms`)
    pub detection_timeout: Option<Seconds>,
    /// An agent re-sends a placement request unanswered for this long; > 0 (unit: s; default:
    /// `1s`)
    pub request_timeout: Option<Seconds>,
    /// When the replicas send their heartbeats: `staggered` (replica `i` of `n` first at `(i +
    /// 1) / (n + 1)` of the period, then every period) or `synchronous` (all at once, at every
    /// multiple of the period: a board refreshed at once) (default: `staggered`)
    pub reports: Option<crate::policy::Reports>,
    /// A replica's load between its reports: `reported` (the last report plus the scheduler's
    /// assignments since) or `aged` (the same, drained by the completions expected since, at a
    /// rate learned from the reports; docs/policies.md) (default: `aged`)
    pub estimate: Option<crate::policy::LoadEstimate>,
}

/// `[policy.auction]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuction {
    /// Replicas the task is announced to, drawn at random (all of them when the service has no
    /// more); 0 means all of the service's replicas (unit: replicas; default: `3`)
    pub k: Option<u32>,
    /// How long the announcer waits for bids before awarding (it awards at once when every
    /// candidate has bid); > 0 (unit: s; default: `20ms`)
    pub bid_deadline: Option<Seconds>,
    /// Wait before announcing again when no bid came; > 0 (unit: s; default: `20ms`)
    pub backoff: Option<Seconds>,
}

/// `[policy.gossip]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGossip {
    /// Time between an agent's gossip rounds; > 0 (unit: s; default: `100ms`)
    pub period: Option<Seconds>,
    /// Peers each agent exchanges views with per round (push-pull); >= 1 (unit: peers; default:
    /// `1`)
    pub fanout: Option<u32>,
    /// Candidates compared per placement in the agent's view; >= 1 (unit: replicas; default:
    /// `2`)
    pub d: Option<u32>,
    /// A replica whose heartbeat counter has not grown for this long is suspected and avoided;
    /// > 0 (unit: s; default: `1s`)
    pub suspect_timeout: Option<Seconds>,
    /// `place`: the deciding agent places from its view; `claim`: it posts the task on a board
    /// spread by the same gossip, and idle replicas claim it (conflicting claims are found when
    /// views meet; the later claim withdraws) (default: `place`)
    pub mode: Option<crate::policy::GossipMode>,
    /// When an agent starts suspecting a replica it places again every task it waits for there
    /// (the first answer wins); work duplicated on a replica that was up counts as
    /// `dup_false_suspicion`; `place` mode only (default: `false`)
    pub resend_on_suspicion: Option<bool>,
    /// When the agents run their rounds: `staggered` (agent `i` of `n` first at `(i + 1) / (n +
    /// 1)` of the period) or `synchronous` (every agent's round at once, at every multiple of
    /// the period) (default: `staggered`)
    pub reports: Option<crate::policy::Reports>,
    /// A replica's load between the entries an agent hears of: `reported` (the load its replica
    /// wrote plus the agent's own placements since) or `aged` (each worker also writes the
    /// rates it measures, and the agent ages the entry by them: helps a lone deciding agent,
    /// not several; docs/policies.md) (default: `reported`)
    pub estimate: Option<crate::policy::LoadEstimate>,
}

/// `[policy.peak_ewma]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeakEwma {
    /// Time constant of each agent's latency average per replica; > 0 (unit: s; default: `10s`)
    pub decay: Option<Seconds>,
}

/// `[policy.power_of_d]`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPowerOfD {
    /// Replicas probed per placement; >= 1; capped at the service's replica count (unit:
    /// replicas; default: `2`)
    pub d: Option<u32>,
}
