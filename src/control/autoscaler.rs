//! `autoscaler`: horizontal scaling of each of its services, by target tracking (the
//! Kubernetes horizontal pod autoscaler's rule) or by steps.
//!
//! Target tracking, per service, at each sync period:
//! - ratio = observed / target, where a utilisation is busy slots over the slots of every
//!   provisioned replica (replicas still being provisioned count as idle, as Kubernetes
//!   counts not-ready pods when scaling up), a queue length is requests waiting per
//!   provisioned replica, and a latency is the window's p99 or mean response time;
//! - desired = ceil(current x ratio), or current when |ratio - 1| <= tolerance, clamped to
//!   [min_replicas, max_replicas];
//! - scaling down goes only to the highest desired count of the stabilisation window (so a
//!   dip does not remove capacity a moment before it is needed again);
//! - the rate limits cap the change over the limit's period: at most max(replicas, percent
//!   of the count at the period's start) added (or removed).
//!
//! Step scaling: of the steps whose threshold the metric crosses, the one furthest from
//! normal applies (the highest `above`, the lowest `below`); after a change the agent waits
//! `cooldown`. No data (nothing ended, no replica serving) means no change.

use super::{Action, ControlAction, Observation};
use crate::scenario::{Autoscaler, RateLimit, ScalingMetric, ScalingRule};
use crate::time::SimTime;

/// An autoscaler's memory, per service.
#[derive(Debug)]
pub struct AutoscalerState {
    spec: Autoscaler,
    services: Vec<ServiceMemory>,
    /// Targets an adaptive agent set, per service (the rule's target otherwise).
    targets: Vec<Option<f64>>,
}

#[derive(Debug, Default)]
struct ServiceMemory {
    /// Desired counts of past decisions, oldest first, kept for the stabilisation window.
    recommendations: Vec<(SimTime, u32)>,
    /// Changes it made: when, and by how many replicas.
    changes: Vec<(SimTime, i64)>,
}

impl AutoscalerState {
    pub(super) fn new(spec: Autoscaler, services: usize) -> Self {
        AutoscalerState {
            spec,
            services: (0..services).map(|_| ServiceMemory::default()).collect(),
            targets: vec![None; services],
        }
    }

    /// Tracks `target` for its `index`-th service from now on (a tuning bandit's choice).
    pub fn set_target(&mut self, index: usize, target: f64) {
        self.targets[index] = Some(target);
    }

    /// The metric this autoscaler watches, as observed (`None` without data).
    pub fn metric(&self, obs: &Observation) -> Option<f64> {
        let current = f64::from(obs.provisioned.max(1));
        match self.spec.metric {
            ScalingMetric::Utilisation => (obs.span_s > 0.0).then(|| {
                let slots = obs.provisioned_slots.max(obs.slots_per_replica);
                obs.busy_slots / f64::from(slots)
            }),
            ScalingMetric::QueueLength => (obs.span_s > 0.0).then(|| obs.queued / current),
            ScalingMetric::LatencyP99 => obs.latency_p99_s,
            ScalingMetric::LatencyMean => obs.latency_mean_s,
        }
    }

    /// The decision for the `index`-th service of the agent.
    pub(super) fn decide(&mut self, index: usize, obs: &Observation) -> Option<ControlAction> {
        let now = obs.at;
        let current = obs.provisioned;
        let observed = self.metric(obs)?;
        let metric = self.spec.metric.name();
        let (min, max) = (self.spec.min_replicas, self.spec.max_replicas);
        let memory = &mut self.services[index];
        let (desired, why) = match &self.spec.rule {
            ScalingRule::Target { target, tolerance } => {
                let target = &self.targets[index].unwrap_or(*target);
                let ratio = observed / target;
                let raw = if (ratio - 1.0).abs() <= *tolerance {
                    current
                } else {
                    (f64::from(current) * ratio).ceil().min(f64::from(u32::MAX)) as u32
                };
                let desired = raw.clamp(min, max);
                // Stabilisation: the highest recommendation of the window bounds a scale-down.
                let horizon = now.saturating_sub(self.spec.stabilisation);
                memory.recommendations.retain(|&(t, _)| t >= horizon);
                memory.recommendations.push((now, desired));
                let stable =
                    memory.recommendations.iter().map(|&(_, d)| d).max().unwrap_or(desired);
                let chosen = if desired < current { stable.min(current) } else { desired };
                let why = format!(
                    "{metric} {observed:.4} against target {target} (ratio {ratio:.3}, tolerance {tolerance}): desired {desired}{}",
                    if chosen != desired {
                        format!(", held at {chosen} by the {}-s stabilisation window", self.spec.stabilisation.as_secs_f64())
                    } else {
                        String::new()
                    }
                );
                (chosen, why)
            }
            ScalingRule::Step { steps, cooldown } => {
                if memory.changes.last().is_some_and(|&(t, _)| now < t + *cooldown) {
                    return None;
                }
                let up = steps
                    .iter()
                    .filter(|s| s.above.is_some_and(|x| observed > x))
                    .max_by(|a, b| a.above.partial_cmp(&b.above).expect("finite thresholds"));
                let down = steps
                    .iter()
                    .filter(|s| s.below.is_some_and(|x| observed < x))
                    .min_by(|a, b| a.below.partial_cmp(&b.below).expect("finite thresholds"));
                let step = up.or(down)?;
                let to = (i64::from(current) + i64::from(step.change))
                    .clamp(i64::from(min), i64::from(max)) as u32;
                let threshold = step.above.or(step.below).expect("a step has a threshold");
                let side = if step.above.is_some() { "above" } else { "below" };
                (
                    to,
                    format!(
                        "{metric} {observed:.4} is {side} {threshold}: change {:+}",
                        step.change
                    ),
                )
            }
        };
        let limited = self.limit(index, now, current, desired);
        if limited == current {
            return None;
        }
        let memory = &mut self.services[index];
        memory.changes.push((now, i64::from(limited) - i64::from(current)));
        let reason =
            if limited != desired { format!("{why}; rate limit allows {limited}") } else { why };
        Some(ControlAction::new(Action::Scale { service: obs.service, to: limited }, reason))
    }

    /// The desired count after the rate limits of the change's direction.
    fn limit(&mut self, index: usize, now: SimTime, current: u32, desired: u32) -> u32 {
        let (limit, up) = if desired > current {
            (self.spec.scale_up, true)
        } else {
            (self.spec.scale_down, false)
        };
        let longest = self.spec.scale_up.period.max(self.spec.scale_down.period);
        let memory = &mut self.services[index];
        let horizon = now.saturating_sub(longest.max(self.spec.stabilisation));
        memory.changes.retain(|&(t, _)| t >= horizon);
        let since = now.saturating_sub(limit.period);
        let changed: i64 =
            memory.changes.iter().filter(|&&(t, _)| t > since).map(|&(_, d)| d).sum();
        let start = (i64::from(current) - changed).max(0) as u32;
        let allowed = allowance(limit, start);
        if up {
            desired.min(start.saturating_add(allowed))
        } else {
            desired.max(start.saturating_sub(allowed))
        }
    }
}

/// Replicas a limit allows over its period, from a count of `start` at the period's start.
fn allowance(limit: RateLimit, start: u32) -> u32 {
    let share = (f64::from(start) * limit.percent / 100.0).floor().min(f64::from(u32::MAX)) as u32;
    limit.replicas.max(share)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServiceId;
    use crate::scenario::{self, AgentKind};
    use crate::time::SimDuration;

    fn autoscaler(extra: &str) -> Autoscaler {
        let text = format!(
            r#"
            duration = 10
            [services.api]
            replicas = 2
            service_time = {{ dist = "constant", value = "10ms" }}
            [classes.web]
            service = "api"
            arrival = {{ process = "poisson", rate = 1 }}
            [[agents]]
            name = "hpa"
            kind = "autoscaler"
            service = "api"
            {extra}
            {max}
            "#,
            max = if extra.contains("max_replicas") { "" } else { "max_replicas = 20" }
        );
        let s = scenario::from_toml_str(&text, "t", &[]).unwrap();
        match &s.control.agents[0].kind {
            AgentKind::Autoscaler(a) => a.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn obs(at_s: u64, provisioned: u32, busy: f64) -> Observation {
        Observation {
            service: ServiceId(0),
            at: SimTime::ZERO + SimDuration::from_secs(at_s),
            provisioned,
            ready: provisioned,
            slots_per_replica: 1,
            provisioned_slots: provisioned,
            span_s: 15.0,
            busy_slots: busy,
            present_slots: f64::from(provisioned),
            queued: 0.0,
            arrivals: 0,
            requests: 100,
            failures: 0,
            slo_missed: 0,
            latency_mean_s: Some(0.01),
            latency_p50_s: None,
            latency_p99_s: Some(0.05),
            crashed: 0,
            slowed: 0,
        }
    }

    fn scaled_to(action: Option<ControlAction>) -> Option<u32> {
        action.map(|a| match a.action {
            Action::Scale { to, .. } => to,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn target_tracking_asks_for_ceil_of_current_times_the_ratio() {
        // Utilisation target 0.5; 4 replicas with 3.3 busy slots: ratio 1.65, desired
        // ceil(4 x 0.825 / 0.5) = ceil(6.6) = 7 (within the default up-limit of 4 or 100%).
        let mut a = AutoscalerState::new(autoscaler("target = 0.5"), 1);
        assert_eq!(scaled_to(a.decide(0, &obs(15, 4, 3.3))), Some(7));
    }

    #[test]
    fn inside_the_tolerance_nothing_changes() {
        // Ratio 0.54 / 0.5 = 1.08: inside the default 10% band, so no change; 0.56 is not.
        let mut a = AutoscalerState::new(autoscaler("target = 0.5"), 1);
        assert_eq!(scaled_to(a.decide(0, &obs(15, 10, 5.4))), None);
        assert_eq!(scaled_to(a.decide(0, &obs(30, 10, 5.6))), Some(12), "ceil(10 x 1.12)");
    }

    #[test]
    fn scale_down_waits_for_the_stabilisation_window() {
        let mut a = AutoscalerState::new(autoscaler("target = 0.5\nstabilisation = \"60s\""), 1);
        // At 15 s, 8 replicas at utilisation 0.5: desired 8 (recorded).
        assert_eq!(scaled_to(a.decide(0, &obs(15, 8, 4.0))), None);
        // At 30 s the load halves: desired 4, but 8 was desired within the last 60 s.
        assert_eq!(scaled_to(a.decide(0, &obs(30, 8, 2.0))), None);
        // At 90 s the 15-s recommendation has left the window; 30 s (desired 4) and later
        // remain, so it goes down to 4.
        assert_eq!(scaled_to(a.decide(0, &obs(90, 8, 2.0))), Some(4));
    }

    #[test]
    fn the_scale_up_limit_is_max_of_replicas_and_percent_per_period() {
        // From 2 replicas fully busy at target 0.1: desired 20, but at most max(4, 100% of
        // 2) = 4 more in 15 s: 6. Ten seconds later the same 15-s period still counts the
        // first 4 (from 2): nothing more. At 31 s a new period: 6 + max(4, 6) = 12.
        let mut a = AutoscalerState::new(autoscaler("target = 0.1"), 1);
        assert_eq!(scaled_to(a.decide(0, &obs(15, 2, 2.0))), Some(6));
        assert_eq!(scaled_to(a.decide(0, &obs(25, 6, 6.0))), None);
        assert_eq!(scaled_to(a.decide(0, &obs(31, 6, 6.0))), Some(12));
    }

    #[test]
    fn steps_take_the_furthest_threshold_crossed_and_then_cool_down() {
        let spec = autoscaler(
            "rule = \"step\"\nsteps = [{ above = 0.6, change = 1 }, { above = 0.9, change = 3 }, { below = 0.2, change = -1 }]\ncooldown = \"30s\"",
        );
        let mut a = AutoscalerState::new(spec, 1);
        assert_eq!(scaled_to(a.decide(0, &obs(15, 4, 3.8))), Some(7), "0.95 > 0.9: +3");
        assert_eq!(scaled_to(a.decide(0, &obs(30, 7, 0.7))), None, "cooling down");
        assert_eq!(scaled_to(a.decide(0, &obs(50, 7, 0.7))), Some(6), "0.1 < 0.2: -1");
    }

    #[test]
    fn counts_stay_within_min_and_max() {
        let spec =
            "target = 0.3\nmin_replicas = 2\nmax_replicas = 5\nscale_up = { percent = 1000 }";
        let mut a = AutoscalerState::new(autoscaler(spec), 1);
        assert_eq!(
            scaled_to(a.decide(0, &obs(15, 2, 2.0))),
            Some(5),
            "ceil(2 x 1 / 0.3) = 7, at most 5"
        );
        let mut a = AutoscalerState::new(
            autoscaler("target = 0.5\nmin_replicas = 2\nstabilisation = 0"),
            1,
        );
        assert_eq!(scaled_to(a.decide(0, &obs(15, 3, 0.0))), Some(2));
    }
}
