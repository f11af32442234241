//! What control agents did to the world, as figures (docs/model.md section 10): the cost
//! of the replicas (`replica_seconds`: the integral of provisioned replicas over the
//! measured span, a replica counting from the action that adds it until it is gone), and
//! the actions counted after the warm-up, per service and in all.

use crate::ids::ServiceId;
use crate::scenario::Scenario;
use crate::time::SimTime;

/// One service's control figures over a run.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceFigures {
    /// Service name.
    pub service: String,
    /// Replicas it started with.
    pub replicas_initial: u32,
    /// Replicas provisioned at the end (being provisioned and draining included).
    pub replicas_final: u32,
    /// Replica-seconds over the measured span: the cost.
    pub replica_seconds: f64,
    /// Replicas added by control agents.
    pub scale_ups: u64,
    /// Replicas removed by control agents.
    pub scale_downs: u64,
    /// Restarts by remediators.
    pub restarts: u64,
    /// Ejections by remediators.
    pub ejections: u64,
}

#[derive(Clone, Debug)]
struct ServiceTally {
    initial: u32,
    provisioned: u32,
    since: SimTime,
    replica_ns: u128,
    scale_ups: u64,
    scale_downs: u64,
    restarts: u64,
    ejections: u64,
}

/// The running tally the recorder keeps.
#[derive(Clone, Debug, Default)]
pub(crate) struct ControlTally {
    services: Vec<ServiceTally>,
    pub(crate) escalations: u64,
    pub(crate) flaps: u64,
    pub(crate) conflicts: u64,
}

impl ControlTally {
    pub(crate) fn for_scenario(scenario: &Scenario, warmup_end: SimTime) -> Self {
        ControlTally {
            services: scenario
                .services
                .iter()
                .map(|s| ServiceTally {
                    initial: s.replicas,
                    provisioned: s.replicas,
                    since: warmup_end,
                    replica_ns: 0,
                    scale_ups: 0,
                    scale_downs: 0,
                    restarts: 0,
                    ejections: 0,
                })
                .collect(),
            ..ControlTally::default()
        }
    }

    /// Integrates a service's replicas up to `now` (from the end of the warm-up).
    fn settle(&mut self, now: SimTime, service: ServiceId) {
        let s = &mut self.services[service.index()];
        if now > s.since {
            s.replica_ns += u128::from(s.provisioned) * u128::from((now - s.since).as_nanos());
            s.since = now;
        }
    }

    pub(crate) fn provisioned_changed(&mut self, now: SimTime, service: ServiceId, delta: i64) {
        self.settle(now, service);
        let s = &mut self.services[service.index()];
        s.provisioned = s.provisioned.checked_add_signed(delta as i32).expect("a count stays >= 0");
    }

    pub(crate) fn scaled(&mut self, service: ServiceId, change: i64) {
        let s = &mut self.services[service.index()];
        if change > 0 {
            s.scale_ups += change as u64;
        } else {
            s.scale_downs += change.unsigned_abs();
        }
    }

    pub(crate) fn restarted(&mut self, service: ServiceId) {
        self.services[service.index()].restarts += 1;
    }

    pub(crate) fn ejected(&mut self, service: ServiceId) {
        self.services[service.index()].ejections += 1;
    }

    /// The per-service figures at the end of the run, `names` in service order.
    pub(crate) fn finish(&mut self, end: SimTime, names: &[String]) -> Vec<ServiceFigures> {
        for s in 0..self.services.len() {
            self.settle(end, ServiceId(s as u32));
        }
        self.services
            .iter()
            .zip(names)
            .map(|(s, name)| ServiceFigures {
                service: name.clone(),
                replicas_initial: s.initial,
                replicas_final: s.provisioned,
                replica_seconds: s.replica_ns as f64 * 1e-9,
                scale_ups: s.scale_ups,
                scale_downs: s.scale_downs,
                restarts: s.restarts,
                ejections: s.ejections,
            })
            .collect()
    }
}
