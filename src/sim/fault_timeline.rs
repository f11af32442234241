//! The fault timeline: every fault instance of a run, generated up front from the fault
//! stream, so every policy sees the same faults at the same instants (common random
//! numbers). What a fault does while active is `faults.rs`'s business.
//!
//! A scheduled fault gives one instance. A random fault alternates up times (exponential,
//! mean `mtbf`) and down times (mean `mttr`) from time zero; a random crash or slowdown of a
//! whole service gives each replica its own independent process.

use std::ops::Range;

use rand::Rng;

use super::layout::Layout;
use super::StreamId;
use crate::ids::ServiceId;
use crate::metrics::FaultRecord;
use crate::scenario::{FaultEffect, FaultTiming, Scenario};
use crate::time::{SimDuration, SimTime};

/// One occurrence of a fault.
#[derive(Clone, Debug)]
pub(super) struct Instance {
    pub(super) effect: FaultEffect,
    /// Replicas it hits (crash, slowdown); empty for network faults.
    pub(super) replicas: Range<u32>,
    pub(super) start: SimTime,
    pub(super) end: SimTime,
    pub(super) touched: u64,
    pub(super) started: bool,
}

/// Every instance of a run, in generation order (faults as listed, then time).
pub(super) fn timeline(scenario: &Scenario, replication: u32, layout: &Layout) -> Vec<Instance> {
    let mut rng = StreamId::Faults.rng(scenario.seed, replication);
    let end_of_run = SimTime::ZERO + scenario.duration;
    let mut instances = Vec::new();
    for fault in &scenario.faults {
        let targets: Vec<Range<u32>> = match fault.effect {
            FaultEffect::Crash { service, group, replica }
            | FaultEffect::Slowdown { service, group, replica, .. } => {
                // The target: a group's ids (its starting replicas, then room for added
                // ones), or the service's.
                let (all, starting): (Range<u32>, Vec<u32>) = match group {
                    Some(g) => {
                        let g = &layout.groups
                            [(layout.service_groups[service.index()].start + g) as usize];
                        (g.ids.clone(), (g.ids.start..g.ids.start + g.initial).collect())
                    }
                    None => (
                        layout.service_replicas[service.index()].clone(),
                        layout.starting_replicas(service).collect(),
                    ),
                };
                // Random faults run one process per replica the target starts with (so that
                // adding control agents changes no fault draw); a scheduled fault on the whole
                // target holds every replica it has while it lasts, added ones included.
                match (replica, fault.timing) {
                    (Some(r), _) => {
                        let id = starting[r as usize];
                        std::iter::once(id..id + 1).collect()
                    }
                    (None, FaultTiming::Random { .. }) => {
                        starting.iter().map(|&r| r..r + 1).collect()
                    }
                    (None, FaultTiming::Scheduled { .. }) => vec![all],
                }
            }
            FaultEffect::AgentCrash { .. }
            | FaultEffect::PolicyAgentCrash { .. }
            | FaultEffect::Partition { .. }
            | FaultEffect::MessageLoss { .. } => std::iter::once(0..0).collect(),
        };
        for replicas in targets {
            let mut push = |start: SimTime, end: SimTime| {
                instances.push(Instance {
                    effect: fault.effect.clone(),
                    replicas: replicas.clone(),
                    start,
                    end,
                    touched: 0,
                    started: false,
                })
            };
            match fault.timing {
                FaultTiming::Scheduled { at, duration } => push(at, at + duration),
                FaultTiming::Random { mtbf, mttr } => {
                    let mut t = SimTime::ZERO;
                    loop {
                        t += exponential(mtbf, &mut rng);
                        if t >= end_of_run {
                            break;
                        }
                        let end = t + exponential(mttr, &mut rng);
                        push(t, end);
                        t = end;
                    }
                }
            }
        }
    }
    instances
}

fn exponential(mean: SimDuration, rng: &mut crate::engine::SimRng) -> SimDuration {
    let u: f64 = rng.random();
    // At least one nanosecond, so an instance never ends when it starts.
    SimDuration::from_secs_f64(-mean.as_secs_f64() * (1.0 - u).ln()).max(SimDuration::from_nanos(1))
}

impl Instance {
    /// The record kept in the run summary.
    pub(super) fn record(
        &self,
        scenario: &Scenario,
        layout: &Layout,
        end_of_run: SimTime,
    ) -> FaultRecord {
        let group = |g: usize| scenario.network.groups[g].name.as_str();
        // The service, one of its groups (`service/group`), or one replica, named as in
        // the trace (`service[i]`, `service/group[i]`).
        let replica_target = |service: ServiceId| {
            let spec = &scenario.services[service.index()];
            let all = &layout.service_replicas[service.index()];
            if self.replicas == *all {
                return spec.name.clone();
            }
            let g = &layout.groups[layout.replica_group[self.replicas.start as usize] as usize];
            let in_group = format!("{}/{}", spec.name, spec.groups[g.index as usize].name);
            if self.replicas == g.ids {
                in_group
            } else if spec.grouped {
                format!("{in_group}[{}]", self.replicas.start - g.ids.start)
            } else {
                format!("{}[{}]", spec.name, self.replicas.start - all.start)
            }
        };
        let (kind, target) = match &self.effect {
            FaultEffect::Crash { service, .. } => ("crash", replica_target(*service)),
            FaultEffect::AgentCrash { orchestrator } => {
                ("crash", format!("orchestrator-{orchestrator}"))
            }
            FaultEffect::PolicyAgentCrash { agent: control } => {
                ("crash", if *control == 0 { "scheduler".to_owned() } else { "standby".to_owned() })
            }
            FaultEffect::Slowdown { service, .. } => ("slowdown", replica_target(*service)),
            FaultEffect::Partition { groups } => {
                ("partition", format!("{}<->{}", group(groups[0]), group(groups[1])))
            }
            FaultEffect::MessageLoss { groups: Some(g), .. } => {
                ("message_loss", format!("{}<->{}", group(g[0]), group(g[1])))
            }
            FaultEffect::MessageLoss { groups: None, .. } => {
                ("message_loss", "all links".to_owned())
            }
        };
        // Services directly faulted: the target of a crash or slowdown; the services of both
        // groups of a partition or a loss between groups; every service for loss on all
        // links; none for the crash of an orchestrator (it hosts no service).
        let in_groups = |groups: &[usize; 2]| {
            let mut services: Vec<ServiceId> = groups
                .iter()
                .flat_map(|&g| scenario.network.groups[g].services.iter().copied())
                .collect();
            services.sort_unstable();
            services.dedup();
            services
        };
        let faulted_services = match &self.effect {
            FaultEffect::Crash { service, .. } | FaultEffect::Slowdown { service, .. } => {
                vec![*service]
            }
            // An agent is no service: its crash directly faults none, so every service it
            // impairs is in its cascade.
            FaultEffect::AgentCrash { .. } | FaultEffect::PolicyAgentCrash { .. } => Vec::new(),
            FaultEffect::Partition { groups }
            | FaultEffect::MessageLoss { groups: Some(groups), .. } => in_groups(groups),
            FaultEffect::MessageLoss { groups: None, .. } => {
                (0..scenario.services.len() as u32).map(ServiceId).collect()
            }
        };
        FaultRecord {
            kind,
            target,
            start: self.start,
            end: self.end.min(end_of_run),
            touched: self.touched,
            faulted_services,
            cascade_size: 0,
            cascade_services: Vec::new(),
            time_to_recover_s: None,
        }
    }
}
