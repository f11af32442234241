//! The bridge between the world and the policy: the world asks and the policy answers
//! (`decide`), and everything else the policy does is a command left in the outbox that the
//! world carries out after the policy returns: messages, timers, commits of deferred
//! placements (with their tickets), claims and withdrawals, scheduler waits, audit records.
//! A policy never touches the world's state; this room is the only way in.

use super::event::Event;
use super::network::{Agent, Body};
use super::placement::PlainUnit;
use super::replicas::Phase;
use super::tasks::{Kind, Parent};
use super::timers::Timer;
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::ReplicaId;
use crate::policy::{
    AuditRecord, Command, Decision, Endpoint, PolicyView, Task as PolicyTask, Ticket,
};
use crate::time::{SimDuration, SimTime};

/// Low bits of a [`Ticket`] that hold the pending placement's serial number (the slab key
/// is above them).
const TICKET_SERIAL_BITS: u32 = 40;

/// The ticket of the pending placement under `key` with serial number `serial` (of which
/// the low `TICKET_SERIAL_BITS` are kept).
fn ticket(key: usize, serial: u64) -> Ticket {
    Ticket(((key as u64) << TICKET_SERIAL_BITS) | (serial & ((1 << TICKET_SERIAL_BITS) - 1)))
}

/// The pending placement's key and (kept) serial number a ticket names.
fn split(ticket: Ticket) -> (usize, u64) {
    ((ticket.0 >> TICKET_SERIAL_BITS) as usize, ticket.0 & ((1 << TICKET_SERIAL_BITS) - 1))
}

/// A placement the policy deferred, with what is needed to carry it out later.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pending {
    pub(super) serial: u64,
    pub(super) since: SimTime,
    /// The job it belongs to (key and serial).
    pub(super) job: usize,
    pub(super) job_serial: u64,
    pub(super) what: Deferred,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Deferred {
    /// A unit without a task record (see `place_plain`).
    Plain(PlainUnit),
    /// An attempt of a task.
    Attempt { task: usize, task_serial: u64, kind: Kind },
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    /// A ticket for a placement the policy may defer.
    pub(super) fn next_ticket(&mut self) -> Ticket {
        let key = self.pending.vacant_key();
        let serial = self.serial();
        ticket(key, serial)
    }

    /// Records a deferred placement under the ticket just handed out.
    pub(super) fn defer(&mut self, ticket: Ticket, what: Deferred, now: SimTime) {
        // Staleness belongs to the placement that is committed, not to this one.
        self.notes.staleness.set(SimDuration::ZERO);
        let (job, job_serial) = match what {
            Deferred::Plain(p) => (p.job, p.job_serial),
            Deferred::Attempt { task, .. } => (self.tasks[task].job, self.tasks[task].job_serial),
        };
        if let Some(j) = self.jobs.get_mut(job).filter(|j| j.serial == job_serial) {
            j.deferred += 1;
        }
        let (vacant, serial) = split(ticket);
        let key = self.pending.insert(Pending { serial, since: now, job, job_serial, what });
        debug_assert_eq!(key, vacant, "ticket key was vacant");
    }

    /// Carries out what the policy asked for during its last call, then anything those
    /// actions made it ask for, until nothing is left.
    #[inline(always)]
    pub(super) fn apply_outbox(&mut self, schedule: &mut Schedule<Event>) {
        loop {
            // No view is alive here, so the outbox is reached without a run-time borrow.
            let outbox = self.outbox.get_mut();
            if let Some(records) = outbox.audit.as_mut() {
                let room = self.audit_limit.saturating_sub(self.audit_log.len());
                self.audit_log.extend(records.drain(..).take(room));
            }
            match outbox.commands.len() {
                0 => return,
                // The common case (one message, one timer, one commit): no buffer swap.
                1 => {
                    let command = outbox.commands.pop().expect("one command");
                    self.execute(command, schedule);
                }
                _ => {
                    // Swap in the spare buffer, so that steady state allocates nothing.
                    let spare = std::mem::take(&mut self.spare_commands);
                    let mut commands = std::mem::replace(&mut outbox.commands, spare);
                    for command in commands.drain(..) {
                        self.execute(command, schedule);
                    }
                    self.spare_commands = commands;
                }
            }
        }
    }

    pub(super) fn execute(&mut self, command: Command, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        match command {
            Command::Send { from, to, kind, token } => {
                let (from, to) = (self.agent_of(from), self.agent_of(to));
                // A crashed agent sends nothing.
                if !self.agent_down(from) {
                    self.send(from, to, Body::Policy { kind, token }, schedule);
                }
            }
            Command::Timer { delay, token } => {
                self.set_timer(delay, Timer::Policy { token }, schedule)
            }
            Command::Commit { ticket, replica, staleness } => {
                self.commit(ticket, replica, staleness, true, schedule)
            }
            Command::Claim { ticket, replica } => self.claim_again(ticket, replica, schedule),
            Command::Withdraw { ticket, replica } => self.withdraw(ticket, replica, schedule),
            Command::Resend { agent, replica } => self.resend(agent, replica, schedule),
            Command::SchedulerWait(wait) => self.recorder.scheduler_wait(now, wait),
            Command::Spread { time, rounds } => self.recorder.gossip_spread(now, time, rounds),
        }
    }

    /// A job ended while some of its placements were deferred: nobody needs them any more.
    /// The policy is told (so it stops working on them), and a caller still waiting for one
    /// of them is answered with a failure, as a commit would have been.
    pub(super) fn abandon_deferred(
        &mut self,
        job: usize,
        job_serial: u64,
        schedule: &mut Schedule<Event>,
    ) {
        let keys: Vec<usize> = self
            .pending
            .iter()
            .filter(|(_, p)| p.job == job && p.job_serial == job_serial)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            let pending = self.pending.remove(key);
            let ticket = ticket(key, pending.serial);
            let view = acting_view!(self, schedule.now());
            self.policy.on_abandoned(&view, ticket);
            match pending.what {
                Deferred::Plain(PlainUnit { parent, .. }) => {
                    if let Parent::Call { .. } = parent {
                        self.resolve(parent, job, job_serial, pending.since, false, schedule);
                    }
                }
                Deferred::Attempt { task, task_serial, .. } => {
                    if self.task_by(task, task_serial).is_some_and(|t| t.outcome.is_none())
                        && self.tasks[task].live == 0
                    {
                        self.task_failed(task, schedule);
                    }
                }
            }
        }
        self.apply_outbox(schedule);
    }

    /// Finishes a deferred placement; `waited` says whether it counts among the placements
    /// that waited for an answer (one decided outside the engine while the run waited did
    /// not wait in simulated time: it counts as decided on the spot).
    pub(super) fn commit(
        &mut self,
        ticket: Ticket,
        replica: Option<ReplicaId>,
        staleness: Option<SimDuration>,
        waited: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let (key, serial) = split(ticket);
        if self.pending.get(key).is_none_or(|p| p.serial != serial) {
            return;
        }
        // The age of what the decision used, for the placement below to count.
        self.notes.staleness.set(staleness.unwrap_or(SimDuration::ZERO));
        let pending = self.pending.remove(key);
        if let Some(j) = self.jobs.get_mut(pending.job).filter(|j| j.serial == pending.job_serial) {
            j.deferred -= 1;
        }
        if waited {
            self.recorder.placement_wait(now, now - pending.since);
        }
        let decision = replica.map_or(Decision::Reject, Decision::Place);
        match pending.what {
            Deferred::Plain(p) => {
                if self.job_alive(p.job, p.job_serial) {
                    self.place_plain_on(p, decision, schedule);
                } else {
                    // Nobody needs the work any more; a caller still waiting is answered.
                    self.resolve(p.parent, p.job, p.job_serial, pending.since, false, schedule);
                }
            }
            Deferred::Attempt { task, task_serial, kind } => {
                let Some(t) = self.task_by(task, task_serial) else { return };
                if t.outcome.is_some() {
                    return;
                }
                if self.orphaned(t) {
                    if self.tasks[task].live == 0 {
                        self.task_failed(task, schedule);
                    }
                } else {
                    if self.force_tasks {
                        self.tasks[task].ticket = Some(ticket);
                        self.claimed.insert(ticket, (task, task_serial));
                    }
                    self.place_attempt_on(task, kind, decision, schedule);
                }
            }
        }
    }

    /// Places one more attempt of a committed task (a conflicting claim).
    pub(super) fn claim_again(
        &mut self,
        ticket: Ticket,
        replica: ReplicaId,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(&(task, serial)) = self.claimed.get(&ticket) else { return };
        let Some(t) = self.task_by(task, serial) else { return };
        if t.outcome.is_none() && !self.orphaned(t) {
            self.place_attempt_on(task, Kind::Claim, Decision::Place(replica), schedule);
        }
    }

    /// The requester stops waiting for a task's attempt on `replica` and tells the replica to
    /// stop it (a claim that lost).
    pub(super) fn withdraw(
        &mut self,
        ticket: Ticket,
        replica: ReplicaId,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(&(task, serial)) = self.claimed.get(&ticket) else { return };
        if self.task_by(task, serial).is_none() {
            return;
        }
        let now = schedule.now();
        let found = self.tasks[task].attempts.iter().copied().find(|&(a, s)| {
            self.attempt(a, s).is_some_and(|a| a.replica == replica && a.requester_open)
        });
        let Some((attempt, attempt_serial)) = found else { return };
        self.attempts[attempt].requester_open = false;
        self.tasks[task].live -= 1;
        let requester = self.tasks[task].requester;
        if self.tasks[task].live == 0 {
            // The winner is gone too (it failed meanwhile): retry or give up as usual.
            self.attempt_failed(task, schedule);
        }
        if self.attempt(attempt, attempt_serial).is_some_and(|a| a.phase != Phase::Closed) {
            let cancel = Body::Cancel { attempt, serial: attempt_serial };
            self.send(requester, Agent::Replica(replica), cancel, schedule);
        }
        if self.attempt(attempt, attempt_serial).is_some() {
            self.remove_attempt_if_done(attempt, now);
        }
    }

    /// `agent` suspects `replica`: every undecided task it requested that has an attempt
    /// there it still waits for gets one more attempt, placed through the policy. The world
    /// knows what the agent cannot: whether the replica was really down, which decides how
    /// the duplicated work is counted (`Kind::Resent` or `Kind::FalselyResent`).
    pub(super) fn resend(
        &mut self,
        agent: crate::ids::AgentId,
        replica: ReplicaId,
        schedule: &mut Schedule<Event>,
    ) {
        let kind = if self.down[replica.index()] > 0 { Kind::Resent } else { Kind::FalselyResent };
        let waiting: Vec<usize> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                t.outcome.is_none()
                    && !t.retry_pending
                    && self.agent_id(t.requester) == agent
                    && t.attempts.iter().any(|&(a, s)| {
                        self.attempt(a, s).is_some_and(|a| a.replica == replica && a.requester_open)
                    })
            })
            .map(|(key, _)| key)
            .collect();
        for task in waiting {
            if !self.orphaned(&self.tasks[task]) {
                self.place_attempt(task, kind, schedule);
            }
        }
    }

    /// An audit record for a decision the policy made on the spot, when the policy leaves
    /// explaining to the world: the options with their load per slot, and the choice.
    pub(super) fn audit_on_the_spot(
        &mut self,
        now: SimTime,
        task: &PolicyTask,
        decision: Decision,
    ) {
        if self.audit_log.len() >= self.audit_limit {
            return;
        }
        let options = self.members[task.service.index()]
            .iter()
            .map(|&r| {
                let load = self.loads[r.index()];
                (r, f64::from(load.outstanding()) / f64::from(load.slots))
            })
            .collect();
        self.audit_log.push(AuditRecord {
            at: now,
            agent: Endpoint::Agent(task.agent),
            service: task.service,
            ticket: None,
            options,
            option_details: Vec::new(),
            choice: match decision {
                Decision::Place(r) => Some(r),
                _ => None,
            },
            reason: "decided on the spot; estimates are the true requests per slot".into(),
        });
    }

    /// Asks the policy where a task goes, auditing the answer if asked to.
    #[inline(always)]
    pub(super) fn decide(&mut self, now: SimTime, task: &PolicyTask, excluded: bool) -> Decision {
        let view = acting_view!(self, now);
        let view = if excluded { view.with_excluded(&self.excluded) } else { view };
        // A steered service is placed from outside the engine (a stepped run's); a service
        // an adaptive agent chooses for, by the arm it chose.
        let decision = if task.service == self.outside.steered {
            let replicas = self.layout.service_replicas[task.service.index()].clone();
            self.outside.ask(&view, task, replicas)
        } else {
            match self.routes.get_mut(task.service.index()).filter(|_| C) {
                Some(Some(route)) => route.arms[route.current].place(&view, task),
                _ => self.policy.place(&view, task),
            }
        };
        if self.decision_notes {
            // The details and the size belong to this decision only.
            self.notes.details.set(None);
            self.notes.work.set(None);
        }
        if self.world_audits && self.outbox.borrow().audit.is_some() && decision != Decision::Defer
        {
            self.audit_on_the_spot(now, task, decision);
        }
        decision
    }

    /// Tells the policy an agent crashed or came back (its state is the policy's to lose).
    pub(super) fn tell_policy_crash(
        &mut self,
        agent: Agent,
        down: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let endpoint = self.endpoint(agent);
        let view = acting_view!(self, schedule.now());
        self.policy.on_crash(&view, endpoint, down);
        self.apply_outbox(schedule);
    }
}
