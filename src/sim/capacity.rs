//! Replicas that come and go (docs/model.md section 10): each replica's place in its life,
//! and the actions of control agents on it. Replica ids are laid out by each service's
//! capacity (its replicas, or an autoscaler's `max_replicas`); the ones beyond the start
//! are `Absent` until added.
//!
//! - Adding a replica makes an absent one `Provisioning` (it costs from that moment) and,
//!   after the provisioning delay, `Serving`: a member that policies place on.
//! - Removing one cancels a replica still being provisioned first (the newest first), then
//!   takes the newest serving one: `drain` leaves it `Draining` (out of placement, refusing
//!   hand-offs that still reach it, finishing what it holds, gone when empty), `kill` ends it
//!   at once with what it holds, as a crash would.
//! - A restart takes a serving replica down for the restart delay (what it held is lost)
//!   and brings it back empty and repaired: the crash and slowdown faults holding it end for
//!   it. An ejection takes it out of placement for a while; it keeps its work.
//!
//! A replica that is absent, being provisioned or restarting is down as an agent (messages
//! to it are lost, it sends nothing), counted in `down` like a crash, and in `agents_out`
//! so that the network's fast path knows an agent is down without an active fault. Members
//! change only here; the policy hears of every change (`Policy::on_membership`, and
//! `Policy::on_crash` when a replica's worker appears or goes).

use super::event::Event;
use super::network::Agent;
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::{ReplicaId, ServiceId};
use crate::policy::PolicyView;
use crate::scenario::Removal;
use crate::time::{SimDuration, SimTime};

/// Where a replica is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Presence {
    /// Taking work (unless restarting or ejected).
    Serving,
    /// Added, not taking work yet.
    Provisioning,
    /// Removed, finishing what it holds.
    Draining,
    /// Not provisioned.
    Absent,
}

/// A replica's life, as control agents shape it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lifecycle {
    pub(super) presence: Presence,
    pub(super) restarting: bool,
    pub(super) ejected: bool,
    /// Bumped at every change, so that a timer set for an earlier state is ignored.
    pub(super) epoch: u32,
}

impl Lifecycle {
    /// The state of a replica the scenario starts with (`present`) or not.
    pub(super) fn at_start(present: bool) -> Self {
        Lifecycle {
            presence: if present { Presence::Serving } else { Presence::Absent },
            restarting: false,
            ejected: false,
            epoch: 0,
        }
    }

    /// Whether policies may place on it.
    fn member(self) -> bool {
        self.presence == Presence::Serving && !self.restarting && !self.ejected
    }

    /// Whether it counts against the replica count a control agent scales.
    pub(super) fn provisioned(self) -> bool {
        matches!(self.presence, Presence::Serving | Presence::Provisioning)
    }
}

/// How an agent scales a service: the groups it adds to (in order of preference) and
/// removes from (in reverse), how it removes, and whether its changes are counted.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scaling<'a> {
    pub(super) groups: &'a [u32],
    pub(super) removal: Removal,
    pub(super) measured: bool,
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    /// Replicas of `service` provisioned (serving or being provisioned).
    pub(super) fn provisioned(&self, service: ServiceId) -> u32 {
        let range = self.layout.service_replicas[service.index()].clone();
        range.filter(|&r| self.lifecycle[r as usize].provisioned()).count() as u32
    }

    /// Brings `service` to `to` provisioned replicas; returns the change made. Replicas are
    /// added to the first of `groups` (group numbers, in order of preference) with room, and
    /// removed from the last that has any: one being provisioned first, the newest first,
    /// then a serving one. New replicas take `provisioning` (a delay already drawn for
    /// each) to become serving. With `measured`, each group's change is counted.
    pub(super) fn scale_service(
        &mut self,
        service: ServiceId,
        to: u32,
        how: Scaling<'_>,
        mut provisioning: impl FnMut() -> SimDuration,
        schedule: &mut Schedule<Event>,
    ) -> i64 {
        let Scaling { groups, removal, measured } = how;
        let current = self.provisioned(service);
        let mut change = 0i64;
        let now = schedule.now();
        let ranges: Vec<_> =
            groups.iter().map(|&g| self.layout.groups[g as usize].ids.clone()).collect();
        let ids = |ids: &std::ops::Range<u32>| ids.clone();
        if to > current {
            for _ in current..to {
                let Some(r) = ranges
                    .iter()
                    .flat_map(ids)
                    .find(|&r| self.lifecycle[r as usize].presence == Presence::Absent)
                else {
                    break; // at capacity (validation keeps `to` within it)
                };
                self.add_replica(ReplicaId(r), provisioning(), schedule);
                if measured {
                    self.recorder.scaled(self.layout.replica_group[r as usize], 1);
                }
                change += 1;
            }
        } else {
            for _ in to..current {
                let newest = |p: Presence| {
                    ranges
                        .iter()
                        .rev()
                        .flat_map(|g| ids(g).rev())
                        .find(|&r| self.lifecycle[r as usize].presence == p)
                };
                let Some(r) = newest(Presence::Provisioning).or_else(|| newest(Presence::Serving))
                else {
                    break;
                };
                self.remove_replica(ReplicaId(r), removal, schedule);
                if measured {
                    self.recorder.scaled(self.layout.replica_group[r as usize], -1);
                }
                change -= 1;
            }
        }
        if O::ACTIVE && change != 0 {
            let provisioned = self.provisioned(service);
            self.observer.replicas_provisioned(now, service, provisioned);
        }
        change
    }

    fn add_replica(
        &mut self,
        replica: ReplicaId,
        delay: SimDuration,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let service = self.layout.replica_service[replica.index()];
        let life = &mut self.lifecycle[replica.index()];
        life.presence = Presence::Provisioning;
        life.epoch += 1;
        let epoch = life.epoch;
        self.recorder.provisioned_changed(
            now,
            service,
            self.layout.replica_group[replica.index()],
            1,
        );
        if delay == SimDuration::ZERO {
            self.replica_ready(replica, epoch, schedule);
        } else {
            self.set_control_timer(
                delay,
                super::control::ControlTimer::ReplicaReady { replica, epoch },
                schedule,
            );
        }
    }

    /// A replica being provisioned is ready: it serves from now on.
    pub(super) fn replica_ready(
        &mut self,
        replica: ReplicaId,
        epoch: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let life = self.lifecycle[replica.index()];
        if life.epoch != epoch || life.presence != Presence::Provisioning {
            return; // removed while it was being provisioned
        }
        let now = schedule.now();
        let service = self.layout.replica_service[replica.index()];
        self.lifecycle[replica.index()].presence = Presence::Serving;
        self.present_changed(now, service, replica, 1);
        self.agent_back(replica, schedule);
        self.refresh_membership(replica, schedule);
    }

    fn remove_replica(
        &mut self,
        replica: ReplicaId,
        removal: Removal,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let service = self.layout.replica_service[replica.index()];
        let life = &mut self.lifecycle[replica.index()];
        life.epoch += 1;
        match life.presence {
            Presence::Provisioning => {
                // Never served: it is simply gone.
                life.presence = Presence::Absent;
                self.recorder.provisioned_changed(
                    now,
                    service,
                    self.layout.replica_group[replica.index()],
                    -1,
                );
                self.observer.replica_gone(now, replica, self.loads[replica.index()], false);
            }
            Presence::Serving => match removal {
                Removal::Kill => self.retire(replica, schedule),
                Removal::Drain => {
                    life.presence = Presence::Draining;
                    self.draining += 1;
                    self.observer.replica_draining(now, replica);
                    self.refresh_membership(replica, schedule);
                    self.retire_if_drained(replica, schedule);
                }
            },
            Presence::Draining | Presence::Absent => {
                unreachable!("only provisioned replicas are removed")
            }
        }
    }

    /// A draining replica that holds nothing any more is gone.
    #[inline]
    pub(super) fn retire_if_drained(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        if self.lifecycle[replica.index()].presence == Presence::Draining
            && self.loads[replica.index()].outstanding() == 0
        {
            self.retire(replica, schedule);
        }
    }

    /// A serving or draining replica is gone, with whatever it still held.
    fn retire(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let service = self.layout.replica_service[replica.index()];
        let life = &mut self.lifecycle[replica.index()];
        let drained = life.presence == Presence::Draining;
        if drained {
            self.draining -= 1;
        }
        self.observer.replica_gone(now, replica, self.loads[replica.index()], drained);
        let life = &mut self.lifecycle[replica.index()];
        life.presence = Presence::Absent;
        life.epoch += 1;
        let restarting = std::mem::replace(&mut life.restarting, false);
        life.ejected = false;
        self.recorder.provisioned_changed(
            now,
            service,
            self.layout.replica_group[replica.index()],
            -1,
        );
        self.present_changed(now, service, replica, -1);
        self.refresh_membership(replica, schedule);
        if restarting {
            // Already down (and out) for its restart: it stays so, now for good.
            return;
        }
        self.agent_out(replica, schedule);
    }

    /// Restarts a serving replica: down for `delay`, then back empty and repaired.
    pub(super) fn restart(
        &mut self,
        replica: ReplicaId,
        delay: SimDuration,
        schedule: &mut Schedule<Event>,
    ) -> bool {
        let life = self.lifecycle[replica.index()];
        if life.presence != Presence::Serving || life.restarting {
            return false;
        }
        let life = &mut self.lifecycle[replica.index()];
        life.restarting = true;
        life.epoch += 1;
        let epoch = life.epoch;
        self.agent_out(replica, schedule);
        self.repair(replica);
        self.refresh_membership(replica, schedule);
        self.set_control_timer(
            delay,
            super::control::ControlTimer::RestartDone { replica, epoch },
            schedule,
        );
        true
    }

    /// A restart's delay is over: the replica is back.
    pub(super) fn restart_done(
        &mut self,
        replica: ReplicaId,
        epoch: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let life = &mut self.lifecycle[replica.index()];
        if life.epoch != epoch || !life.restarting {
            return;
        }
        life.restarting = false;
        self.agent_back(replica, schedule);
        self.refresh_membership(replica, schedule);
    }

    /// Takes a serving replica out of placement for `span`.
    pub(super) fn eject(
        &mut self,
        replica: ReplicaId,
        span: SimDuration,
        schedule: &mut Schedule<Event>,
    ) -> bool {
        let life = &mut self.lifecycle[replica.index()];
        if life.presence != Presence::Serving || life.ejected {
            return false;
        }
        life.ejected = true;
        life.epoch += 1;
        let epoch = life.epoch;
        self.refresh_membership(replica, schedule);
        self.set_control_timer(
            span,
            super::control::ControlTimer::EjectionOver { replica, epoch },
            schedule,
        );
        true
    }

    /// An agent ends the replica's ejection early: it takes work again (the ejection's own
    /// end is then ignored). Whether it was ejected.
    pub(super) fn readmit(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) -> bool {
        let life = &mut self.lifecycle[replica.index()];
        if !life.ejected {
            return false;
        }
        life.ejected = false;
        life.epoch += 1;
        self.refresh_membership(replica, schedule);
        true
    }

    /// An ejection is over: the replica takes work again.
    pub(super) fn ejection_over(
        &mut self,
        replica: ReplicaId,
        epoch: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let life = &mut self.lifecycle[replica.index()];
        if life.epoch != epoch || !life.ejected {
            return;
        }
        life.ejected = false;
        self.refresh_membership(replica, schedule);
    }

    /// The replica's worker goes down for a reason of the control layer (removed,
    /// restarting): what it holds is lost, and the policy hears of it.
    fn agent_out(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        self.agents_out += 1;
        self.refresh_fast_send();
        self.down[replica.index()] += 1;
        if self.down[replica.index()] == 1 {
            self.observer.replica_crashed(now, replica, true);
            self.crash(replica, now);
            self.drop_waiting_probes(replica);
            self.tell_policy_crash(Agent::Replica(replica), true, schedule);
        }
    }

    /// The replica's worker is up again after a reason of the control layer (provisioned,
    /// restarted), unless a fault still holds it.
    fn agent_back(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        self.agents_out -= 1;
        self.refresh_fast_send();
        self.down[replica.index()] -= 1;
        if self.down[replica.index()] == 0 {
            self.observer.replica_crashed(schedule.now(), replica, false);
            self.tell_policy_crash(Agent::Replica(replica), false, schedule);
        }
    }

    /// A restart ends the crash and slowdown faults holding the replica, for it alone.
    fn repair(&mut self, replica: ReplicaId) {
        for k in 0..self.active_faults.len() {
            let f = self.active_faults[k];
            let covers = self.faults[f].replicas.contains(&replica.0);
            if !covers || self.repaired.contains(&(f, replica.0)) {
                continue;
            }
            match self.faults[f].effect {
                crate::scenario::FaultEffect::Crash { .. } => {
                    self.down[replica.index()] -= 1;
                    self.repaired.push((f, replica.0));
                }
                crate::scenario::FaultEffect::Slowdown { .. } => {
                    self.repaired.push((f, replica.0));
                    self.recompute_slowdown(f);
                }
                _ => {}
            }
        }
    }

    /// Slots of present replicas of `service` changed by `replicas` x concurrency.
    fn present_changed(
        &mut self,
        now: SimTime,
        service: ServiceId,
        replica: ReplicaId,
        replicas: i64,
    ) {
        let slots = i64::from(self.loads[replica.index()].slots) * replicas;
        self.recorder.present_slots_changed(now, service, slots);
        if let Some(monitor) = self.monitor.as_deref_mut() {
            monitor.present_changed(now, service, slots);
        }
    }

    /// Puts a replica in, or takes it out of, its service's members as its life says, and
    /// tells the policy of a change.
    fn refresh_membership(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let service = self.layout.replica_service[replica.index()];
        let members = &mut self.members[service.index()];
        let should = self.lifecycle[replica.index()].member();
        let changed = match (members.binary_search(&replica), should) {
            (Err(at), true) => {
                members.insert(at, replica);
                true
            }
            (Ok(at), false) => {
                members.remove(at);
                true
            }
            _ => false,
        };
        if changed {
            let view = acting_view!(self, schedule.now());
            self.policy.on_membership(&view, replica, should);
            self.apply_outbox(schedule);
        }
    }
}
