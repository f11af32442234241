//! What control agents did to the world, as figures (docs/model.md sections 10 and 12): the
//! replicas' use (`replica_seconds`: the integral of provisioned replicas over the measured
//! span, a replica counting from the action that adds it until it is gone) and its `cost`
//! (replica-hours times the group's price), and the actions counted after the warm-up, per
//! replica group and in all.

use crate::scenario::Scenario;
use crate::time::SimTime;

/// One replica group's control figures over a run (a service without groups has one,
/// `default`).
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceFigures {
    /// Service name.
    pub service: String,
    /// Group name.
    pub group: String,
    /// Replicas it started with.
    pub replicas_initial: u32,
    /// Replicas provisioned at the end (being provisioned and draining included).
    pub replicas_final: u32,
    /// Replica-seconds over the measured span.
    pub replica_seconds: f64,
    /// Replica-hours times the group's price.
    pub cost: f64,
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
struct GroupTally {
    service: String,
    name: String,
    price: f64,
    initial: u32,
    provisioned: u32,
    since: SimTime,
    replica_ns: u128,
    scale_ups: u64,
    scale_downs: u64,
    restarts: u64,
    ejections: u64,
}

impl GroupTally {
    /// Its replica-seconds up to `now`.
    fn seconds_so_far(&self, now: SimTime) -> f64 {
        let more = if now > self.since { (now - self.since).as_nanos() } else { 0 };
        (self.replica_ns + u128::from(self.provisioned) * u128::from(more)) as f64 * 1e-9
    }
}

/// The running tally the recorder keeps, per replica group: groups are numbered service by
/// service, in declaration order (as the world lays them out).
#[derive(Clone, Debug, Default)]
pub(crate) struct ControlTally {
    groups: Vec<GroupTally>,
    pub(crate) escalations: u64,
    pub(crate) flaps: u64,
    pub(crate) conflicts: u64,
}

impl ControlTally {
    pub(crate) fn for_scenario(scenario: &Scenario, warmup_end: SimTime) -> Self {
        let groups = scenario.services.iter().flat_map(|s| {
            s.groups.iter().map(move |g| GroupTally {
                service: s.name.clone(),
                name: g.name.clone(),
                price: g.price,
                initial: g.replicas,
                provisioned: g.replicas,
                since: warmup_end,
                replica_ns: 0,
                scale_ups: 0,
                scale_downs: 0,
                restarts: 0,
                ejections: 0,
            })
        });
        ControlTally { groups: groups.collect(), ..ControlTally::default() }
    }

    /// Integrates a group's replicas up to `now` (from the end of the warm-up).
    fn settle(&mut self, now: SimTime, group: usize) {
        let g = &mut self.groups[group];
        if now > g.since {
            g.replica_ns += u128::from(g.provisioned) * u128::from((now - g.since).as_nanos());
            g.since = now;
        }
    }

    pub(crate) fn provisioned_changed(&mut self, now: SimTime, group: u32, delta: i64) {
        self.settle(now, group as usize);
        let g = &mut self.groups[group as usize];
        g.provisioned = g.provisioned.checked_add_signed(delta as i32).expect("a count stays >= 0");
    }

    pub(crate) fn scaled(&mut self, group: u32, change: i64) {
        let g = &mut self.groups[group as usize];
        if change > 0 {
            g.scale_ups += change as u64;
        } else {
            g.scale_downs += change.unsigned_abs();
        }
    }

    pub(crate) fn restarted(&mut self, group: u32) {
        self.groups[group as usize].restarts += 1;
    }

    pub(crate) fn ejected(&mut self, group: u32) {
        self.groups[group as usize].ejections += 1;
    }

    /// Replica-seconds and cost over the measured span up to `now`, summed over groups
    /// (the run's `replica_seconds` and `cost` so far).
    pub(crate) fn use_so_far(&self, now: SimTime) -> (f64, f64) {
        self.groups.iter().fold((0.0, 0.0), |(seconds, cost), g| {
            let s = g.seconds_so_far(now);
            (seconds + s, cost + s / 3600.0 * g.price)
        })
    }

    /// Replica-seconds over the measured span up to `now`, per group (in group order).
    pub(crate) fn seconds_by_group(&self, now: SimTime) -> Vec<f64> {
        self.groups.iter().map(|g| g.seconds_so_far(now)).collect()
    }

    /// The per-group figures at the end of the run, in group order.
    pub(crate) fn finish(&mut self, end: SimTime) -> Vec<ServiceFigures> {
        for g in 0..self.groups.len() {
            self.settle(end, g);
        }
        self.groups
            .iter()
            .map(|g| {
                let replica_seconds = g.replica_ns as f64 * 1e-9;
                ServiceFigures {
                    service: g.service.clone(),
                    group: g.name.clone(),
                    replicas_initial: g.initial,
                    replicas_final: g.provisioned,
                    replica_seconds,
                    cost: replica_seconds / 3600.0 * g.price,
                    scale_ups: g.scale_ups,
                    scale_downs: g.scale_downs,
                    restarts: g.restarts,
                    ejections: g.ejections,
                }
            })
            .collect()
    }
}
