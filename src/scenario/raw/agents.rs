//! The serde mirror of `[[agents]]` and `[control]`: every key of every kind of control
//! agent, as users write them; which keys a kind uses is validation's business
//! (`validate/agents.rs`).

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::{parse_duration, RawDist, Seconds};
use crate::policy::PolicyKind;

/// `[control]`: the active agents and the monitoring resolution.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawControl {
    /// Names of the agents that run: a sweep compares control strategies with a grid over
    /// `control.active` (for example `[[], ["hpa"], ["step"]]`) (default: every declared agent)
    pub active: Option<Vec<String>>,
    /// Resolution of the monitoring system: agents read figures aggregated over whole scrape
    /// intervals; > 0 (unit: s; default: `1s`)
    pub scrape: Option<Seconds>,
}

/// The kinds of control agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AgentKindName {
    Autoscaler,
    Remediator,
    Adaptive,
    Budget,
    External,
}

impl AgentKindName {
    /// The name used in scenario files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            AgentKindName::Autoscaler => "autoscaler",
            AgentKindName::Remediator => "remediator",
            AgentKindName::Adaptive => "adaptive",
            AgentKindName::Budget => "budget",
            AgentKindName::External => "external",
        }
    }
}

/// `[[agents]]`: one control agent. The keys of every kind are here; validation refuses
/// the ones its kind does not use.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgent {
    /// The agent's name, in the audit log and the trace; unique
    pub name: String,
    /// `autoscaler`, `remediator`, `adaptive`, `budget` or `external` (decided outside the
    /// simulator, period by period: a Python control agent or an environment; run from the
    /// command line it holds, with a warning)
    pub kind: AgentKindName,
    /// The service it acts on (or `services`)
    pub service: Option<String>,
    /// The services it acts on, each independently (an autoscaler scales each on its own); not
    /// with `tunes`
    pub services: Option<Vec<String>>,
    /// Time between its decisions (an autoscaler's sync period, a remediator's health-check
    /// period); > 0 (unit: s; default: `15s` autoscaler and external, `10s` remediator and
    /// adaptive, `30s` budget)
    pub period: Option<Seconds>,
    /// The span of monitoring data each decision reads; at least `control.scrape` (unit: s;
    /// default: `period`)
    pub window: Option<Seconds>,
    /// How old the newest data it reads is (unit: s; default: `0s`)
    pub measurement_delay: Option<Seconds>,
    // autoscaler
    /// Autoscaler: `target` (Kubernetes HPA: desired = ceil(current x observed / target)
    /// outside the tolerance band) or `step` (default: `target`)
    pub rule: Option<ScalingRuleName>,
    /// Autoscaler: `utilisation` (busy slots over the slots of provisioned replicas),
    /// `queue_length` (requests waiting per replica), `latency_p99` or `latency_mean` (of the
    /// requests that ended, in s) (default: `utilisation`)
    pub metric: Option<ScalingMetricName>,
    /// Autoscaler: the metric's target; a utilisation in (0, 1], a queue length > 0, a latency
    /// > 0 (default: required with `rule = "target"`)
    pub target: Option<Seconds>,
    /// Autoscaler: no change while observed / target is within this of 1; in [0, 1) (default:
    /// `0.1`)
    pub tolerance: Option<f64>,
    /// Autoscaler, external: fewest replicas it leaves a service; >= 1 (unit: replicas;
    /// default: `1`)
    pub min_replicas: Option<u32>,
    /// Autoscaler, external: the group of replicas it adds to and removes from, or a list in
    /// order of preference (it adds to the first with room and removes from the last that has
    /// replicas) (default: every group, in declaration order)
    pub group: Option<RawGroupChoice>,
    /// Autoscaler, external: most replicas it gives a service (the service's capacity of ids);
    /// >= `min_replicas`; the service's `replicas` must lie within (unit: replicas)
    pub max_replicas: Option<u32>,
    /// Autoscaler: it scales down only to the highest count it desired over this span (unit: s;
    /// default: `300s`)
    pub stabilisation: Option<Seconds>,
    /// Autoscaler: at most max(`replicas`, `percent` of the count at the period's start) added
    /// per `period` (default: `{ replicas = 4, percent = 100, period = "15s" }`)
    pub scale_up: Option<RawRateLimit>,
    /// Autoscaler: the same for removals (default: `{ replicas = 0, percent = 100, period =
    /// "15s" }`)
    pub scale_down: Option<RawRateLimit>,
    /// Autoscaler, external: from the decision to add a replica until it takes work (drawn per
    /// replica from the agent's own stream) (unit: s; default: `30s`)
    pub provisioning: Option<RawDelay>,
    /// Autoscaler, budget, external: `drain` (no new work, finishes what it holds) or `kill`
    /// (gone at once with what it holds) (default: `drain`)
    pub removal: Option<RemovalName>,
    /// Autoscaler: `{ above = x, change = +n }` or `{ below = x, change = -n }`; of the steps
    /// whose threshold the metric crosses, the furthest from normal applies (default: required
    /// with `rule = "step"`)
    pub steps: Option<Vec<RawScalingStep>>,
    /// Autoscaler with `rule = "step"`: wait after a change (unit: s; default: `60s`)
    pub cooldown: Option<Seconds>,
    // remediator
    /// Remediator: a health check unanswered this long fails; at most `period` (unit: s;
    /// default: `1s`)
    pub timeout: Option<Seconds>,
    /// Remediator: consecutive failed checks before it acts; >= 1 (unit: checks; default: `3`)
    pub failures: Option<u32>,
    /// Remediator: `in_band` (the check waits in the replica's FIFO queue for a slot, taking no
    /// time of its own; a full queue refuses it) or `liveness` (any replica that is up answers
    /// at once) (default: `in_band`)
    pub probe: Option<ProbeName>,
    /// Remediator: `restart` (down for `restart_delay`, losing what it held; back empty, and
    /// the crash and slowdown faults holding it end for it) or `eject` (out of placement for
    /// `eject_for`) (default: `restart`)
    pub action: Option<RemedyName>,
    /// Remediator with `action = "restart"` (unit: s; default: `10s`)
    pub restart_delay: Option<RawDelay>,
    /// Remediator with `action = "eject"` (unit: s; default: `30s`)
    pub eject_for: Option<Seconds>,
    /// Remediator: most replicas of a service under action at once; beyond, it escalates (or
    /// waits) (unit: replicas; default: `1`)
    pub budget: Option<u32>,
    /// Remediator: a human service that a person answers escalations from; the person's answer
    /// lets it act beyond the budget (default: none)
    pub escalate: Option<String>,
    // adaptive
    /// Adaptive, external (any number, none: it does not choose placement): the placement
    /// policies it chooses among for its services (protocol-free ones: `random`, `round_robin`,
    /// `least_outstanding`, `power_of_d`, `peak_ewma`, with the scenario's `[policy.<name>]`
    /// parameters); at least two
    pub arms: Option<Vec<PolicyKind>>,
    /// Adaptive: `ucb1` or `epsilon_greedy` (default: `ucb1`)
    pub algorithm: Option<BanditName>,
    /// Adaptive with `algorithm = "epsilon_greedy"` (unit: probability; default: `0.1`)
    pub epsilon: Option<f64>,
    /// Adaptive: `slo` (share of the period's requests that succeeded within the service's
    /// `slo`) or `latency` (`reward_scale / (reward_scale + mean latency)`) (default: `slo`)
    pub reward: Option<RewardName>,
    /// Adaptive with `reward = "latency"` (unit: s; default: `100ms`)
    pub reward_scale: Option<Seconds>,
    /// Adaptive: the autoscaler (with `rule = "target"`) whose target it chooses, for that
    /// autoscaler's services; instead of `arms`
    pub tunes: Option<String>,
    /// Adaptive: the targets it chooses among; at least two (default: required with `tunes`)
    pub targets: Option<Vec<f64>>,
    /// Adaptive with `tunes`: the reward is `(1 - w) x quality + w x (1 - provisioned /
    /// max_replicas)`; in [0, 1) (default: `0.5` with `tunes`)
    pub cost_weight: Option<f64>,
    // budget
    /// Budget: most replicas over its services together; above, it removes one at a time from
    /// the least utilised service (unit: replicas)
    pub max_total: Option<u32>,
}

/// An autoscaler's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ScalingRuleName {
    Target,
    Step,
}

/// What an autoscaler watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ScalingMetricName {
    Utilisation,
    QueueLength,
    LatencyP99,
    LatencyMean,
}

/// A scaling rate limit: `max(replicas, percent of current)` per `period`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub replicas: Option<u32>,
    pub percent: Option<f64>,
    pub period: Option<Seconds>,
}

/// One step of step scaling.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScalingStep {
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub change: i32,
}

/// What happens to a removed replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RemovalName {
    Drain,
    Kill,
}

/// How a replica answers a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProbeName {
    InBand,
    Liveness,
}

/// A remediator's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RemedyName {
    Restart,
    Eject,
}

/// A bandit algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BanditName {
    EpsilonGreedy,
    Ucb1,
}

/// What an adaptive agent maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RewardName {
    Slo,
    Latency,
}

/// A delay: a duration (`"30s"`, a constant) or a distribution table (`{ dist = ... }`).
#[derive(Debug)]
pub(crate) enum RawDelay {
    Fixed(Seconds),
    Drawn(RawDist),
}

impl<'de> Deserialize<'de> for RawDelay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DelayVisitor;
        impl<'de> Visitor<'de> for DelayVisitor {
            type Value = RawDelay;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration (such as \"30s\") or a distribution table")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDelay, E> {
                Ok(RawDelay::Fixed(Seconds(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDelay, E> {
                Ok(RawDelay::Fixed(Seconds(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDelay, E> {
                Ok(RawDelay::Fixed(Seconds(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDelay, E> {
                parse_duration(v).map(|s| RawDelay::Fixed(Seconds(s))).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<RawDelay, A::Error> {
                RawDist::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawDelay::Drawn)
            }
        }
        deserializer.deserialize_any(DelayVisitor)
    }
}

impl JsonSchema for RawDelay {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Delay".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let fixed = generator.subschema_for::<Seconds>();
        let drawn = generator.subschema_for::<RawDist>();
        schemars::json_schema!({
            "description": "A delay: a duration (a constant, such as \"30s\") or a distribution table ({ dist = ... }).",
            "anyOf": [fixed, drawn]
        })
    }
}

/// One group name, or several in order of preference.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum RawGroupChoice {
    /// One group.
    One(String),
    /// Groups in order of preference.
    Many(Vec<String>),
}
