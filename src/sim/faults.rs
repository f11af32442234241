//! What an injected fault does to the world while it lasts: a crash kills what a replica
//! holds and silences it (or an orchestrator, or an agent of the policy), a slowdown
//! stretches the work that starts under it, and partitions and message loss are consulted by
//! the network (`network.rs`). The timeline of instances itself is drawn up front in
//! `fault_timeline.rs`; this room starts and ends them and counts what each touched.

use super::event::Event;
use super::network::Agent;
use super::replicas::{Lost, Phase};
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::{ReplicaId, ServiceId};
use crate::policy::ReplicaLoad;
use crate::scenario::FaultEffect;
use crate::time::SimTime;

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn on_fault_started(&mut self, index: u32, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let i = index as usize;
        self.faults[i].started = true;
        self.active_faults.push(i);
        self.refresh_fast_send();
        self.observer.fault_changed(now, index, &self.faults[i].effect, true);
        match self.faults[i].effect {
            FaultEffect::Crash { .. } => {
                for r in self.faults[i].replicas.clone() {
                    self.down[r as usize] += 1;
                    if self.down[r as usize] == 1 {
                        self.observer.replica_crashed(now, ReplicaId(r), true);
                        let lost = self.crash(ReplicaId(r), now);
                        self.faults[i].touched += lost;
                        self.drop_waiting_probes(ReplicaId(r));
                        self.tell_policy_crash(Agent::Replica(ReplicaId(r)), true, schedule);
                        if self.draining > 0 {
                            self.retire_if_drained(ReplicaId(r), schedule);
                        }
                    }
                }
            }
            FaultEffect::AgentCrash { orchestrator } => {
                let o = orchestrator as usize;
                self.orchestrator_down[o] += 1;
                if self.orchestrator_down[o] == 1 {
                    // Its jobs are lost: nobody holds their state any more.
                    let lost: Vec<usize> = self
                        .jobs
                        .iter()
                        .filter(|(_, j)| j.agent.0 == orchestrator)
                        .map(|(k, _)| k)
                        .collect();
                    self.faults[i].touched += lost.len() as u64;
                    for job in lost {
                        self.end_job(job, false, now, schedule);
                    }
                }
            }
            FaultEffect::PolicyAgentCrash { agent: control } => {
                self.policy_agent_down[control as usize] += 1;
                if self.policy_agent_down[control as usize] == 1 {
                    self.tell_policy_crash(Agent::Policy(control), true, schedule);
                }
            }
            FaultEffect::Slowdown { .. } => self.recompute_slowdown(i),
            FaultEffect::Partition { .. } | FaultEffect::MessageLoss { .. } => {}
        }
    }

    pub(super) fn on_fault_ended(&mut self, index: u32, schedule: &mut Schedule<Event>) {
        let i = index as usize;
        self.active_faults.retain(|&f| f != i);
        self.refresh_fast_send();
        self.observer.fault_changed(schedule.now(), index, &self.faults[i].effect, false);
        match self.faults[i].effect {
            FaultEffect::Crash { .. } => {
                for r in self.faults[i].replicas.clone() {
                    if !self.repaired.is_empty() && self.repaired.contains(&(i, r)) {
                        continue; // a restart ended this fault for it already
                    }
                    self.down[r as usize] -= 1;
                    if self.down[r as usize] == 0 {
                        self.observer.replica_crashed(schedule.now(), ReplicaId(r), false);
                        // Back, empty: the crash emptied its queue, and nothing reaches a
                        // replica while it is down.
                        debug_assert!(
                            self.queues[r as usize].is_empty(),
                            "a crash empties the queue"
                        );
                        self.tell_policy_crash(Agent::Replica(ReplicaId(r)), false, schedule);
                    }
                }
            }
            FaultEffect::AgentCrash { orchestrator } => {
                self.orchestrator_down[orchestrator as usize] -= 1;
            }
            FaultEffect::PolicyAgentCrash { agent: control } => {
                self.policy_agent_down[control as usize] -= 1;
                if self.policy_agent_down[control as usize] == 0 {
                    self.tell_policy_crash(Agent::Policy(control), false, schedule);
                }
            }
            FaultEffect::Slowdown { .. } => self.recompute_slowdown(i),
            FaultEffect::Partition { .. } | FaultEffect::MessageLoss { .. } => {}
        }
    }

    pub(super) fn recompute_slowdown(&mut self, changed: usize) {
        for r in self.faults[changed].replicas.clone() {
            let mut factor = 1.0;
            for &f in &self.active_faults {
                if let FaultEffect::Slowdown { factor: x, .. } = self.faults[f].effect {
                    if self.faults[f].replicas.contains(&r) && !self.repaired.contains(&(f, r)) {
                        factor *= x;
                    }
                }
            }
            self.slowdown[r as usize] = factor;
        }
    }

    /// Kills everything on a replica; returns how many attempts were lost.
    pub(super) fn crash(&mut self, replica: ReplicaId, now: SimTime) -> u64 {
        let mut lost = 0;
        let service = self.layout.replica_service[replica.index()];
        let queued: Vec<usize> = self.queues[replica.index()].drain(..).collect();
        self.load_changed(now, service, 0, -(queued.len() as i64));
        for attempt in queued {
            lost += 1;
            self.observer.attempt_unqueued(now, replica);
            self.crash_ended(attempt, service, now);
            self.close_server(attempt, now);
        }
        let running = std::mem::take(&mut self.running[replica.index()]);
        let killed = running.len();
        self.load_changed(now, service, -(killed as i64), 0);
        for attempt in running {
            lost += 1;
            self.crash_ended(attempt, service, now);
            let a = &mut self.attempts[attempt];
            if a.phase == Phase::Working {
                a.executed = now - a.started;
            }
            a.lost.set(Lost::Crash);
            self.close_server(attempt, now);
        }
        let ReplicaLoad { slots, finished, .. } = self.loads[replica.index()];
        self.loads[replica.index()] = ReplicaLoad { running: 0, queued: 0, slots, finished };
        for _ in 0..killed {
            self.observer.attempt_finished(now, replica, self.loads[replica.index()]);
        }
        lost
    }

    /// An attempt killed by a crash ends, failed, on its service (if its requester waits).
    pub(super) fn crash_ended(&mut self, attempt: usize, service: ServiceId, now: SimTime) {
        let a = &self.attempts[attempt];
        if a.requester_open {
            self.request_ended(now, service, false, now - a.placed);
        }
    }

    /// Counts a request or message against the active crash (`crash`) or slowdown faults
    /// covering a replica.
    pub(super) fn touch_replica_faults(&mut self, replica: ReplicaId, crash: bool) {
        for &f in &self.active_faults {
            let fault = &mut self.faults[f];
            let matches = matches!(
                (&fault.effect, crash),
                (FaultEffect::Crash { .. }, true) | (FaultEffect::Slowdown { .. }, false)
            );
            if matches && fault.replicas.contains(&replica.0) {
                fault.touched += 1;
            }
        }
    }

    /// Counts a message against the active crash of a policy agent.
    pub(super) fn touch_policy_agent_fault(&mut self, control: u32) {
        for &f in &self.active_faults {
            if self.faults[f].effect == (FaultEffect::PolicyAgentCrash { agent: control }) {
                self.faults[f].touched += 1;
            }
        }
    }

    /// Counts a job or message against the active crash of an orchestrator.
    pub(super) fn touch_orchestrator_fault(&mut self, orchestrator: u32) {
        for &f in &self.active_faults {
            if self.faults[f].effect == (FaultEffect::AgentCrash { orchestrator }) {
                self.faults[f].touched += 1;
            }
        }
    }
}
