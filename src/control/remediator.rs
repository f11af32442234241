//! `remediator`: health checks and recovery actions, per replica of its services.
//!
//! Every period it sends each replica a health check (a message over the network, answered
//! as the probe kind says: `in_band` through the replica's queue, `liveness` at once by any
//! replica that is up). A check unanswered within `timeout`, or refused, is a failure. After
//! `failures` consecutive failures it acts on the replica (restart or eject), unless that
//! would put more than `budget` replicas of the service under action at once: then it
//! escalates to its human service, and acts on the replicas the person confirms when the
//! answer comes (a person may touch more than the budget), or, without a human service,
//! waits. A replica is under action until it answers a check again.

use std::collections::BTreeMap;

use super::{Action, ControlAction};
use crate::ids::{ReplicaId, ServiceId};
use crate::scenario::{Remediator, Remedy};

/// A remediator's memory.
#[derive(Debug)]
pub struct RemediatorState {
    spec: Remediator,
    replicas: BTreeMap<ReplicaId, Health>,
    /// Services with an escalation waiting for a person.
    escalated: Vec<ServiceId>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Health {
    service: Option<ServiceId>,
    failures: u32,
    under_action: bool,
}

impl RemediatorState {
    pub(super) fn new(spec: Remediator) -> Self {
        RemediatorState { spec, replicas: BTreeMap::new(), escalated: Vec::new() }
    }

    /// The settings.
    pub fn spec(&self) -> &Remediator {
        &self.spec
    }

    /// The checks of one period: one per replica given (those present, in id order).
    pub fn probes(&self, replicas: &[ReplicaId]) -> Vec<ControlAction> {
        replicas
            .iter()
            .map(|&replica| {
                ControlAction::new(Action::Probe { replica }, "periodic health check".into())
            })
            .collect()
    }

    /// A check of `replica` (of `service`) answered (`healthy`) or failed; what to do now.
    pub fn on_check(
        &mut self,
        replica: ReplicaId,
        service: ServiceId,
        healthy: bool,
    ) -> Vec<ControlAction> {
        let threshold = self.spec.failures;
        let h = self.replicas.entry(replica).or_default();
        h.service = Some(service);
        if healthy {
            *h = Health { service: Some(service), failures: 0, under_action: false };
            return Vec::new();
        }
        h.failures += 1;
        if h.failures < threshold || h.under_action {
            return Vec::new();
        }
        let acting =
            self.replicas.values().filter(|o| o.service == Some(service) && o.under_action).count()
                as u32;
        let failures = self.replicas[&replica].failures;
        if acting < self.spec.budget {
            return vec![self.act(replica, format!("{failures} consecutive failed health checks"))];
        }
        if self.spec.escalate.is_none() || self.escalated.contains(&service) {
            return Vec::new();
        }
        self.escalated.push(service);
        let failing: Vec<ReplicaId> = self
            .replicas
            .iter()
            .filter(|(_, o)| {
                o.service == Some(service) && o.failures >= threshold && !o.under_action
            })
            .map(|(&r, _)| r)
            .collect();
        vec![ControlAction::new(
            Action::Escalate { service, replicas: failing.clone() },
            format!(
                "{} replicas failing their checks while {acting} are under action, the budget: a person decides",
                failing.len()
            ),
        )]
    }

    /// A person answered an escalation: act on those of its replicas that still fail.
    pub fn on_escalation_answered(
        &mut self,
        service: ServiceId,
        replicas: &[ReplicaId],
    ) -> Vec<ControlAction> {
        self.escalated.retain(|&s| s != service);
        let threshold = self.spec.failures;
        replicas
            .iter()
            .filter(|r| {
                self.replicas.get(r).is_some_and(|h| h.failures >= threshold && !h.under_action)
            })
            .copied()
            .collect::<Vec<_>>()
            .into_iter()
            .map(|r| self.act(r, "confirmed by a person after an escalation".into()))
            .collect()
    }

    fn act(&mut self, replica: ReplicaId, reason: String) -> ControlAction {
        let h = self.replicas.get_mut(&replica).expect("known replica");
        h.under_action = true;
        h.failures = 0;
        let action = match self.spec.action {
            Remedy::Restart => Action::Restart { replica },
            Remedy::Eject => Action::Eject { replica },
        };
        ControlAction::new(action, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DurationDist;
    use crate::scenario::Probe;
    use crate::time::SimDuration;

    fn spec(budget: u32, escalate: bool) -> Remediator {
        Remediator {
            timeout: SimDuration::from_secs(1),
            failures: 3,
            probe: Probe::InBand,
            action: Remedy::Restart,
            restart_delay: DurationDist::constant(10.0).unwrap(),
            eject_for: SimDuration::from_secs(30),
            budget,
            escalate: escalate.then_some(ServiceId(9)),
        }
    }

    #[test]
    fn it_acts_after_the_threshold_and_once_until_the_replica_answers() {
        let mut r = RemediatorState::new(spec(1, false));
        let (a, s) = (ReplicaId(4), ServiceId(0));
        assert!(r.on_check(a, s, false).is_empty());
        assert!(r.on_check(a, s, false).is_empty());
        let acted = r.on_check(a, s, false);
        assert_eq!(acted[0].action, Action::Restart { replica: a });
        // Down while it restarts: its checks fail, but it is under action already.
        for _ in 0..5 {
            assert!(r.on_check(a, s, false).is_empty());
        }
        assert!(r.on_check(a, s, true).is_empty());
        // Healthy again: a new series of failures counts from zero.
        assert!(r.on_check(a, s, false).is_empty());
    }

    #[test]
    fn beyond_the_budget_it_escalates_once_and_acts_on_the_answer() {
        let mut r = RemediatorState::new(spec(1, true));
        let s = ServiceId(0);
        for _ in 0..3 {
            r.on_check(ReplicaId(1), s, false);
        }
        for _ in 0..2 {
            r.on_check(ReplicaId(2), s, false);
            r.on_check(ReplicaId(3), s, false);
        }
        let escalation = r.on_check(ReplicaId(2), s, false);
        assert!(matches!(escalation[0].action, Action::Escalate { .. }), "{escalation:?}");
        assert!(r.on_check(ReplicaId(3), s, false).is_empty(), "one escalation at a time");
        let Action::Escalate { replicas, .. } = &escalation[0].action else { unreachable!() };
        assert_eq!(replicas, &[ReplicaId(2)]);
        let acted = r.on_escalation_answered(s, &[ReplicaId(2), ReplicaId(3)]);
        let targets: Vec<&Action> = acted.iter().map(|a| &a.action).collect();
        assert_eq!(
            targets,
            [
                &Action::Restart { replica: ReplicaId(2) },
                &Action::Restart { replica: ReplicaId(3) }
            ]
        );
    }

    #[test]
    fn without_a_human_service_it_waits_at_the_budget() {
        let mut r = RemediatorState::new(spec(1, false));
        let s = ServiceId(0);
        for _ in 0..3 {
            r.on_check(ReplicaId(1), s, false);
        }
        for _ in 0..10 {
            assert!(r.on_check(ReplicaId(2), s, false).is_empty());
        }
    }
}
