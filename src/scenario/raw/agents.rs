//! The serde mirror of `[[agents]]` and `[control]`: every key of every kind of control
//! agent, as users write them; which keys a kind uses is validation's business
//! (`validate/agents.rs`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::{parse_duration, RawDist, Seconds};
use crate::policy::PolicyKind;

/// `[control]`: the active agents and the monitoring resolution.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawControl {
    /// Names of the agents that run (default: every declared agent).
    pub active: Option<Vec<String>>,
    pub scrape: Option<Seconds>,
}

/// The kinds of control agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAgent {
    pub name: String,
    pub kind: AgentKindName,
    pub service: Option<String>,
    pub services: Option<Vec<String>>,
    pub period: Option<Seconds>,
    pub window: Option<Seconds>,
    pub measurement_delay: Option<Seconds>,
    // autoscaler
    pub rule: Option<ScalingRuleName>,
    pub metric: Option<ScalingMetricName>,
    pub target: Option<Seconds>,
    pub tolerance: Option<f64>,
    pub min_replicas: Option<u32>,
    pub max_replicas: Option<u32>,
    pub stabilisation: Option<Seconds>,
    pub scale_up: Option<RawRateLimit>,
    pub scale_down: Option<RawRateLimit>,
    pub provisioning: Option<RawDelay>,
    pub removal: Option<RemovalName>,
    pub steps: Option<Vec<RawScalingStep>>,
    pub cooldown: Option<Seconds>,
    // remediator
    pub timeout: Option<Seconds>,
    pub failures: Option<u32>,
    pub probe: Option<ProbeName>,
    pub action: Option<RemedyName>,
    pub restart_delay: Option<RawDelay>,
    pub eject_for: Option<Seconds>,
    pub budget: Option<u32>,
    pub escalate: Option<String>,
    // adaptive
    pub arms: Option<Vec<PolicyKind>>,
    pub algorithm: Option<BanditName>,
    pub epsilon: Option<f64>,
    pub reward: Option<RewardName>,
    pub reward_scale: Option<Seconds>,
    pub tunes: Option<String>,
    pub targets: Option<Vec<f64>>,
    pub cost_weight: Option<f64>,
    // budget
    pub max_total: Option<u32>,
}

/// An autoscaler's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ScalingRuleName {
    Target,
    Step,
}

/// What an autoscaler watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ScalingMetricName {
    Utilisation,
    QueueLength,
    LatencyP99,
    LatencyMean,
}

/// A scaling rate limit: `max(replicas, percent of current)` per `period`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    pub replicas: Option<u32>,
    pub percent: Option<f64>,
    pub period: Option<Seconds>,
}

/// One step of step scaling.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScalingStep {
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub change: i32,
}

/// What happens to a removed replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RemovalName {
    Drain,
    Kill,
}

/// How a replica answers a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProbeName {
    InBand,
    Liveness,
}

/// A remediator's action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RemedyName {
    Restart,
    Eject,
}

/// A bandit algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BanditName {
    EpsilonGreedy,
    Ucb1,
}

/// What an adaptive agent maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
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
