//! The keys of each agent kind -> its part of [`ControlAgent`]: an autoscaler's rule, steps,
//! bounds and rate limits; a remediator's probe, thresholds and remedy; an adaptive agent's
//! arms, algorithm and reward; an external agent's bounds and arms. Defaults are filled in
//! here, as docs/scenarios.md lists them.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::check::{
    at_least_one, backticked, lookup, non_negative_seconds, positive_finite, positive_seconds,
    probability,
};
use super::super::distributions::dist;
use super::super::Result;
use crate::dist::DurationDist;
use crate::policy::{PolicyKind, PolicySpec};
use crate::scenario::control::{
    Adaptive, Arms, Autoscaler, Bandit, External, Probe, RateLimit, Remediator, Remedy, Removal,
    Reward, ScalingMetric, ScalingRule, ScalingStep,
};
use crate::scenario::raw::{
    BanditName, ProbeName, RawAgent, RawDelay, RawRateLimit, RemedyName, RemovalName, RewardName,
    ScalingMetricName, ScalingRuleName,
};
use crate::scenario::{Invalid, Service, ServiceId};
use crate::time::SimDuration;

/// An external agent: the bounds of its driver's scaling (the service's replica count by
/// default: no scaling) and the arms it may choose between (none by default).
pub(super) fn external(
    raw: &RawAgent,
    key: &dyn Fn(&str) -> String,
    targets: &[ServiceId],
    services: &[Service],
    policies: &[PolicySpec],
    base: &Path,
) -> Result<External> {
    let replicas = |f: fn(u32, u32) -> u32| {
        targets.iter().map(|s| services[s.index()].replicas).reduce(f).unwrap_or(1)
    };
    let min_replicas =
        at_least_one(&key("min_replicas"), raw.min_replicas.unwrap_or_else(|| replicas(u32::min)))?;
    let max_replicas = raw.max_replicas.unwrap_or_else(|| replicas(u32::max));
    check_bounds(key, targets, services, min_replicas, max_replicas)?;
    let provisioning = delay(&key("provisioning"), raw.provisioning.as_ref(), 30.0, base)?;
    let removal = match raw.removal.unwrap_or(RemovalName::Drain) {
        RemovalName::Drain => Removal::Drain,
        RemovalName::Kill => Removal::Kill,
    };
    let arms = match &raw.arms {
        Some(kinds) => policy_arms(key, kinds, policies, services)?,
        None => Vec::new(),
    };
    let restart_delay = delay(&key("restart_delay"), raw.restart_delay.as_ref(), 10.0, base)?;
    let eject_for = positive_seconds(&key("eject_for"), raw.eject_for.map_or(30.0, |e| e.0))?;
    Ok(External {
        min_replicas,
        max_replicas,
        provisioning,
        removal,
        arms,
        restart_delay,
        eject_for,
    })
}

/// `min_replicas <= max_replicas`, with every service's replica count between them.
fn check_bounds(
    key: &dyn Fn(&str) -> String,
    targets: &[ServiceId],
    services: &[Service],
    min_replicas: u32,
    max_replicas: u32,
) -> Result<()> {
    if max_replicas < min_replicas {
        return Err(Invalid::new(
            key("max_replicas"),
            format!("expected at least min_replicas ({min_replicas}), found {max_replicas}"),
        ));
    }
    for &s in targets {
        let service = &services[s.index()];
        if !(min_replicas..=max_replicas).contains(&service.replicas) {
            return Err(Invalid::new(
                key("max_replicas"),
                format!(
                    "expected services.{}.replicas ({}) within [min_replicas, max_replicas] = [{min_replicas}, {max_replicas}]",
                    service.name, service.replicas
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn autoscaler(
    raw: &RawAgent,
    key: &dyn Fn(&str) -> String,
    targets: &[ServiceId],
    services: &[Service],
    base: &Path,
) -> Result<Autoscaler> {
    let metric = match raw.metric.unwrap_or(ScalingMetricName::Utilisation) {
        ScalingMetricName::Utilisation => ScalingMetric::Utilisation,
        ScalingMetricName::QueueLength => ScalingMetric::QueueLength,
        ScalingMetricName::LatencyP99 => ScalingMetric::LatencyP99,
        ScalingMetricName::LatencyMean => ScalingMetric::LatencyMean,
    };
    let rule_name = raw.rule.unwrap_or(ScalingRuleName::Target);
    let rule = match rule_name {
        ScalingRuleName::Target => {
            if raw.steps.is_some() || raw.cooldown.is_some() {
                let k = if raw.steps.is_some() { "steps" } else { "cooldown" };
                return Err(Invalid::new(key(k), "used only with rule = \"step\""));
            }
            let target = raw
                .target
                .ok_or_else(|| Invalid::new(key("target"), "required by rule = \"target\""))?
                .0;
            let target = match metric {
                ScalingMetric::Utilisation => {
                    if !(target > 0.0 && target <= 1.0) {
                        return Err(Invalid::new(
                            key("target"),
                            format!("expected a utilisation in (0, 1], found {target}"),
                        ));
                    }
                    target
                }
                _ => positive_finite(&key("target"), target)?,
            };
            let tolerance = raw.tolerance.unwrap_or(0.1);
            if !(0.0..1.0).contains(&tolerance) {
                return Err(Invalid::new(
                    key("tolerance"),
                    format!("expected a fraction in [0, 1), found {tolerance}"),
                ));
            }
            ScalingRule::Target { target, tolerance }
        }
        ScalingRuleName::Step => {
            if raw.target.is_some() || raw.tolerance.is_some() {
                let k = if raw.target.is_some() { "target" } else { "tolerance" };
                return Err(Invalid::new(key(k), "used only with rule = \"target\""));
            }
            let raw_steps = raw.steps.as_ref().filter(|s| !s.is_empty()).ok_or_else(|| {
                Invalid::new(key("steps"), "required by rule = \"step\": at least one step")
            })?;
            let mut steps = Vec::with_capacity(raw_steps.len());
            for (i, s) in raw_steps.iter().enumerate() {
                let field = key(&format!("steps[{i}]"));
                let step = match (s.above, s.below) {
                    (Some(x), None) if s.change > 0 && x.is_finite() => {
                        ScalingStep { above: Some(x), below: None, change: s.change }
                    }
                    (None, Some(x)) if s.change < 0 && x.is_finite() => {
                        ScalingStep { above: None, below: Some(x), change: s.change }
                    }
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(Invalid::new(field, "expected exactly one of `above` and `below`"))
                    }
                    _ => {
                        return Err(Invalid::new(
                            field,
                            "expected a finite threshold, and a positive `change` above it or a negative one below it",
                        ))
                    }
                };
                steps.push(step);
            }
            let cooldown = match raw.cooldown {
                Some(c) => non_negative_seconds(&key("cooldown"), c.0)?,
                None => SimDuration::from_secs(60),
            };
            ScalingRule::Step { steps, cooldown }
        }
    };
    let min_replicas = at_least_one(&key("min_replicas"), raw.min_replicas.unwrap_or(1))?;
    let max_replicas = raw.max_replicas.ok_or_else(|| {
        Invalid::new(key("max_replicas"), "required by an agent of kind `autoscaler`")
    })?;
    check_bounds(key, targets, services, min_replicas, max_replicas)?;
    let stabilisation = match raw.stabilisation {
        Some(s) => non_negative_seconds(&key("stabilisation"), s.0)?,
        None => SimDuration::from_secs(300),
    };
    let scale_up = rate_limit(&key("scale_up"), raw.scale_up.as_ref(), 4)?;
    let scale_down = rate_limit(&key("scale_down"), raw.scale_down.as_ref(), 0)?;
    let provisioning = delay(&key("provisioning"), raw.provisioning.as_ref(), 30.0, base)?;
    let removal = match raw.removal.unwrap_or(RemovalName::Drain) {
        RemovalName::Drain => Removal::Drain,
        RemovalName::Kill => Removal::Kill,
    };
    Ok(Autoscaler {
        rule,
        metric,
        min_replicas,
        max_replicas,
        stabilisation,
        scale_up,
        scale_down,
        provisioning,
        removal,
    })
}

/// A rate limit, with the Kubernetes defaults: `replicas` (4 up, none down) or 100% of the
/// current count, whichever allows more, per 15 s.
fn rate_limit(field: &str, raw: Option<&RawRateLimit>, replicas: u32) -> Result<RateLimit> {
    let replicas = raw.and_then(|r| r.replicas).unwrap_or(replicas);
    let percent = raw.and_then(|r| r.percent).unwrap_or(100.0);
    if !(percent.is_finite() && percent >= 0.0) {
        return Err(Invalid::new(
            format!("{field}.percent"),
            format!("expected a percentage >= 0, found {percent}"),
        ));
    }
    if replicas == 0 && percent == 0.0 {
        return Err(Invalid::new(
            field,
            "expected a limit that allows some change (replicas or percent above 0)",
        ));
    }
    let period = match raw.and_then(|r| r.period) {
        Some(p) => positive_seconds(&format!("{field}.period"), p.0)?,
        None => SimDuration::from_secs(15),
    };
    Ok(RateLimit { replicas, percent, period })
}

/// A delay written as a duration or a distribution (default: the constant `default` s).
/// A delay written as a TOML value (`"5ms"`, a number of seconds, or a distribution table),
/// checked as an agent's `provisioning` is; `field` names it in the error.
pub(crate) fn delay_value(field: &str, value: toml::Value) -> Result<DurationDist> {
    let raw: RawDelay = value
        .try_into()
        .map_err(|e: toml::de::Error| Invalid::new(field, e.message().trim().to_owned()))?;
    delay(field, Some(&raw), 0.0, Path::new("."))
}

fn delay(field: &str, raw: Option<&RawDelay>, default: f64, base: &Path) -> Result<DurationDist> {
    let built = match raw {
        Some(RawDelay::Drawn(d)) => return dist(field, d, base),
        Some(RawDelay::Fixed(s)) => {
            non_negative_seconds(field, s.0)?;
            DurationDist::constant(s.0)
        }
        None => DurationDist::constant(default),
    };
    built.map_err(|why| Invalid::new(field, why))
}

pub(super) fn remediator(
    raw: &RawAgent,
    key: &dyn Fn(&str) -> String,
    period: SimDuration,
    service_ids: &BTreeMap<&str, ServiceId>,
    services: &[Service],
    base: &Path,
) -> Result<Remediator> {
    let timeout = positive_seconds(&key("timeout"), raw.timeout.map_or(1.0, |t| t.0))?;
    if timeout > period {
        return Err(Invalid::new(
            key("timeout"),
            format!("expected at most the period ({period}), found {timeout}"),
        ));
    }
    let failures = at_least_one(&key("failures"), raw.failures.unwrap_or(3))?;
    let probe = match raw.probe.unwrap_or(ProbeName::InBand) {
        ProbeName::InBand => Probe::InBand,
        ProbeName::Liveness => Probe::Liveness,
    };
    let action = match raw.action.unwrap_or(RemedyName::Restart) {
        RemedyName::Restart => Remedy::Restart,
        RemedyName::Eject => Remedy::Eject,
    };
    if action == Remedy::Eject && raw.restart_delay.is_some() {
        return Err(Invalid::new(key("restart_delay"), "used only with action = \"restart\""));
    }
    if action == Remedy::Restart && raw.eject_for.is_some() {
        return Err(Invalid::new(key("eject_for"), "used only with action = \"eject\""));
    }
    let restart_delay = delay(&key("restart_delay"), raw.restart_delay.as_ref(), 10.0, base)?;
    let eject_for = positive_seconds(&key("eject_for"), raw.eject_for.map_or(30.0, |e| e.0))?;
    let budget = at_least_one(&key("budget"), raw.budget.unwrap_or(1))?;
    let escalate = match &raw.escalate {
        None => None,
        Some(name) => {
            let s = lookup(&key("escalate"), "service", name, service_ids)?;
            if !services[s.index()].human {
                return Err(Invalid::new(
                    key("escalate"),
                    format!("expected a human service (kind = \"human\"), found `{name}`"),
                ));
            }
            Some(s)
        }
    };
    Ok(Remediator { timeout, failures, probe, action, restart_delay, eject_for, budget, escalate })
}

/// Placement policies as arms: protocol-free ones, each once, with the scenario's
/// parameters for the policy.
fn policy_arms(
    key: &dyn Fn(&str) -> String,
    kinds: &[PolicyKind],
    policies: &[PolicySpec],
    services: &[Service],
) -> Result<Vec<PolicySpec>> {
    if kinds.len() < 2 {
        return Err(Invalid::new(
            key("arms"),
            format!("expected at least two policies, found {}", kinds.len()),
        ));
    }
    let mut arms = Vec::with_capacity(kinds.len());
    for (i, &k) in kinds.iter().enumerate() {
        let field = key(&format!("arms[{i}]"));
        if matches!(k, PolicyKind::Central | PolicyKind::Auction | PolicyKind::Gossip) {
            let simple: Vec<&str> = PolicyKind::ALL
                .iter()
                .filter(|p| {
                    !matches!(p, PolicyKind::Central | PolicyKind::Auction | PolicyKind::Gossip)
                })
                .map(|p| p.name())
                .collect();
            return Err(Invalid::new(
                field,
                format!(
                    "expected a policy without a protocol of its own ({}), found `{}`",
                    backticked(simple),
                    k.name()
                ),
            ));
        }
        if kinds[..i].contains(&k) {
            return Err(Invalid::new(field, format!("`{}` is listed twice", k.name())));
        }
        super::super::policies::sizes_known_for(k, &field, services)?;
        // The arm runs with the parameters the scenario gives the policy.
        let spec =
            policies.iter().copied().find(|p| p.kind() == k).unwrap_or_else(|| k.default_spec());
        arms.push(spec);
    }
    Ok(arms)
}

pub(super) fn adaptive(
    raw: &RawAgent,
    key: &dyn Fn(&str) -> String,
    targets: &[ServiceId],
    services: &[Service],
    policies: &[PolicySpec],
) -> Result<Adaptive> {
    let arms = match (&raw.arms, &raw.tunes) {
        (Some(_), Some(_)) => {
            return Err(Invalid::new(
                key("tunes"),
                "expected `arms` (placement policies) or `tunes` (an autoscaler), not both",
            ))
        }
        (None, None) => {
            return Err(Invalid::new(
                key("arms"),
                "required by an agent of kind `adaptive`: the placement policies it chooses among (or `tunes` and `targets`)",
            ))
        }
        (None, Some(_)) => {
            let values = raw.targets.clone().ok_or_else(|| {
                Invalid::new(key("targets"), "required with `tunes`: the targets it chooses among")
            })?;
            if values.len() < 2 {
                return Err(Invalid::new(
                    key("targets"),
                    format!("expected at least two targets, found {}", values.len()),
                ));
            }
            // Which autoscaler, and whether the targets suit its metric, is checked once
            // every agent is known (`resolve_tuning`).
            Arms::Targets { autoscaler: usize::MAX, values }
        }
        (Some(kinds), None) => {
            if raw.targets.is_some() {
                return Err(Invalid::new(key("targets"), "used only with `tunes`"));
            }
            Arms::Policies(policy_arms(key, kinds, policies, services)?)
        }
    };
    if raw.tunes.is_none() && raw.cost_weight.is_some() {
        return Err(Invalid::new(
            key("cost_weight"),
            "used only with `tunes` (placement arms do not change the cost)",
        ));
    }
    let cost_weight = raw.cost_weight.unwrap_or(if raw.tunes.is_some() { 0.5 } else { 0.0 });
    if !(0.0..1.0).contains(&cost_weight) {
        return Err(Invalid::new(
            key("cost_weight"),
            format!("expected a weight in [0, 1), found {cost_weight}"),
        ));
    }
    let algorithm = match raw.algorithm.unwrap_or(BanditName::Ucb1) {
        BanditName::Ucb1 => {
            if raw.epsilon.is_some() {
                return Err(Invalid::new(
                    key("epsilon"),
                    "used only with algorithm = \"epsilon_greedy\"",
                ));
            }
            Bandit::Ucb1
        }
        BanditName::EpsilonGreedy => Bandit::EpsilonGreedy {
            epsilon: probability(&key("epsilon"), raw.epsilon.unwrap_or(0.1))?,
        },
    };
    let reward = match raw.reward.unwrap_or(RewardName::Slo) {
        RewardName::Slo => {
            if raw.reward_scale.is_some() {
                return Err(Invalid::new(
                    key("reward_scale"),
                    "used only with reward = \"latency\"",
                ));
            }
            for &s in targets {
                if services[s.index()].slo.is_none() {
                    return Err(Invalid::new(
                        key("reward"),
                        format!(
                            "reward = \"slo\" needs services.{}.slo (or reward = \"latency\")",
                            services[s.index()].name
                        ),
                    ));
                }
            }
            Reward::Slo
        }
        RewardName::Latency => Reward::Latency {
            scale: positive_seconds(&key("reward_scale"), raw.reward_scale.map_or(0.1, |s| s.0))?,
        },
    };
    Ok(Adaptive { arms, algorithm, reward, cost_weight })
}
