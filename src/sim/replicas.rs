//! Attempts on replicas: the server side of every execution. A hand-off is admitted (run
//! in a free slot, queued in the bounded FIFO, or refused), runs for `work / speed x
//! slowdown`, makes its unit's downstream calls stage by stage while holding its slot, and
//! ends by freeing the slot (the queue moves) and answering its requester; a cancel stops it.
//! When both sides of an attempt are done its execution is accounted as useful or duplicate.
//! Human services' working hours gate starts here too.

use super::event::Event;
use super::network::{Agent, Body};
use super::tasks::{Kind, Parent};
use super::{Observer, World};
use std::ops::Range;

use super::StreamId;
use crate::engine::{Schedule, SimRng};
use crate::ids::{ReplicaId, ServiceId, WorkflowId};
use crate::metrics::{DupSource, Waste};
use crate::policy::PolicyView;
use crate::scenario::{ExecutionNoise, Scenario};
use crate::time::{SimDuration, SimTime};

/// Where an attempt is on its replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// The hand-off is in the network.
    Sent,
    Queued,
    /// Executing its own work.
    Working,
    /// Waiting for its calls, holding the slot.
    Calling,
    /// Done on the server side (finished, cancelled, killed or dropped).
    Closed,
}

/// Whether an attempt's result is used, or why not, as soon as something decides it (the
/// first cause sticks): what the wasted-work accounting reads when both sides are done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lost {
    /// Nothing yet: a losing copy if nothing else happens.
    No,
    /// Its task used its result, and its service time is credited to its job.
    Used,
    /// Killed by a crash (or a restart or removal by a control agent).
    Crash,
    /// Its requester timed out on it.
    Timeout,
    /// Stopped by a cancel while it ran.
    Cancelled,
    /// It answered with a failure.
    Failed,
}

impl Lost {
    /// Records the first cause.
    pub(super) fn set(&mut self, cause: Lost) {
        if *self == Lost::No {
            *self = cause;
        }
    }

    /// The wasted-work cause of an execution (None: used, and credited to its job).
    fn waste(self) -> Option<Waste> {
        Some(match self {
            Lost::Used => return None,
            Lost::No => Waste::Duplicate,
            Lost::Crash => Waste::Crash,
            Lost::Timeout => Waste::Timeout,
            Lost::Cancelled => Waste::Cancelled,
            Lost::Failed => Waste::Failed,
        })
    }
}

/// One execution of one unit on one replica.
#[derive(Debug)]
pub(super) struct Attempt {
    pub(super) serial: u64,
    /// The task it is an attempt of, or `None` for a unit without any client-side mechanism
    /// (no timeout, retry, hedge, cancel, breaker or ejection): such a unit has exactly one
    /// attempt, so it needs no task record (the hot path of plain scenarios).
    pub(super) task: Option<usize>,
    pub(super) task_serial: u64,
    pub(super) job: usize,
    pub(super) job_serial: u64,
    pub(super) workflow: WorkflowId,
    pub(super) unit: u32,
    pub(super) parent: Parent,
    pub(super) requester: Agent,
    pub(super) kind: Kind,
    pub(super) replica: ReplicaId,
    pub(super) placed: SimTime,
    /// When the requester gives up (placement + timeout), for servers that drop expired work.
    pub(super) expires: Option<SimTime>,
    /// Execution time of the unit's own work on this replica, before any slowdown.
    pub(super) execution: SimDuration,
    pub(super) started: SimTime,
    /// Execution time after slowdown, fixed when it started.
    pub(super) working_for: SimDuration,
    pub(super) phase: Phase,
    pub(super) requester_open: bool,
    pub(super) winner: bool,
    pub(super) stage: u32,
    pub(super) pending_calls: u32,
    pub(super) call_failed: bool,
    pub(super) lost: Lost,
    pub(super) executed: SimDuration,
}

/// A blank record, for a new slot of `Records` (overwritten before it is read).
impl Default for Attempt {
    fn default() -> Self {
        Attempt::sent(ReplicaId(0), SimTime::ZERO, None, SimDuration::ZERO)
    }
}

impl Attempt {
    /// The state of an attempt whose hand-off has just been sent to `replica`. Callers fill
    /// in who it belongs to (its task, job, unit, parent and requester) with struct-update
    /// syntax; the values given here for those are placeholders that every caller replaces.
    pub(super) fn sent(
        replica: ReplicaId,
        now: SimTime,
        expires: Option<SimTime>,
        execution: SimDuration,
    ) -> Attempt {
        Attempt {
            serial: 0,
            task: None,
            task_serial: 0,
            job: 0,
            job_serial: 0,
            workflow: WorkflowId(0),
            unit: 0,
            parent: Parent::Step(0),
            requester: Agent::Replica(replica),
            kind: Kind::Original,
            replica,
            placed: now,
            expires,
            execution,
            started: now,
            working_for: SimDuration::ZERO,
            phase: Phase::Sent,
            requester_open: true,
            winner: false,
            stage: 0,
            pending_calls: 0,
            call_failed: false,
            lost: Lost::No,
            executed: SimDuration::ZERO,
        }
    }
}

/// The streams of one service's per-execution variability, one per replica (its capacity,
/// scaled replicas included), so that what one replica draws does not depend on another's
/// executions.
#[derive(Debug)]
pub(super) struct NoiseStreams {
    first_replica: u32,
    streams: Vec<SimRng>,
}

impl NoiseStreams {
    /// The streams of every service with an `execution_multiplier` or `execution_extra`.
    pub(super) fn all(
        scenario: &Scenario,
        service_replicas: &[Range<u32>],
        replication: u32,
    ) -> Vec<Option<Box<NoiseStreams>>> {
        scenario
            .services
            .iter()
            .zip(service_replicas)
            .map(|(service, range)| {
                service.execution.as_ref()?;
                Some(Box::new(NoiseStreams {
                    first_replica: range.start,
                    streams: range
                        .clone()
                        .map(|r| StreamId::Execution(r).rng(scenario.seed, replication))
                        .collect(),
                }))
            })
            .collect()
    }

    /// How long an attempt of `execution` (its work over the speed) works on `replica`:
    /// its work times a multiplier, plus an added term over the speed, both drawn now.
    #[cold]
    fn draw(
        &mut self,
        noise: &ExecutionNoise,
        replica: ReplicaId,
        execution: SimDuration,
        speed: f64,
    ) -> SimDuration {
        let rng = &mut self.streams[(replica.0 - self.first_replica) as usize];
        let scaled = match &noise.multiplier {
            Some(m) => execution.mul_f64(m.sample_secs(rng)),
            None => execution,
        };
        match &noise.extra {
            Some(e) => scaled + execution_time(e.sample(rng), speed),
            None => scaled,
        }
    }
}

/// How long `work` takes on a replica of `speed` (the common speed 1 costs no division).
#[inline]
pub(super) fn execution_time(work: SimDuration, speed: f64) -> SimDuration {
    if speed == 1.0 {
        work
    } else {
        work.mul_f64(1.0 / speed)
    }
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn attempt(&self, key: usize, serial: u64) -> Option<&Attempt> {
        self.attempts.get(key).filter(|a| a.serial == serial)
    }

    /// A hand-off reached its replica: run it, queue it, or refuse it.
    pub(super) fn admit(
        &mut self,
        attempt: usize,
        replica: ReplicaId,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        if self.attempts[attempt].phase == Phase::Closed {
            // Cancelled before it arrived.
            self.remove_attempt_if_done(attempt, now);
            return;
        }
        let load = self.loads[replica.index()];
        let service_id = self.layout.replica_service[replica.index()];
        self.request_arrived(now, service_id);
        let service = &self.scenario.services[service_id.index()];
        let capacity = self.layout.replica_queue_capacity[replica.index()];
        let working = service.working_hours.is_none_or(|h| h.working(now));
        // A draining replica takes no new work: a hand-off that still reaches it is refused.
        let draining = C
            && self.draining > 0
            && self.lifecycle[replica.index()].presence == super::capacity::Presence::Draining;
        if draining {
            self.refuse(attempt, replica, service_id, schedule);
        } else if working && load.running < load.slots {
            self.start(attempt, replica, false, schedule);
        } else if load.queued < capacity {
            self.queues[replica.index()].push_back(attempt);
            self.loads[replica.index()].queued += 1;
            self.attempts[attempt].phase = Phase::Queued;
            self.load_changed(now, service_id, 0, 1);
            self.observer.attempt_queued(now, replica, self.loads[replica.index()], capacity);
        } else {
            self.refuse(attempt, replica, service_id, schedule);
        }
    }

    /// The replica refuses an attempt (its queue is full, or it is draining): a failure
    /// goes back at once.
    fn refuse(
        &mut self,
        attempt: usize,
        replica: ReplicaId,
        service: ServiceId,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        self.observer.attempt_rejected(now, replica);
        // Read before closing: closing may remove an attempt whose requester gave up.
        let a = &self.attempts[attempt];
        let (serial, requester, open, placed) = (a.serial, a.requester, a.requester_open, a.placed);
        if open {
            self.request_ended(now, service, false, now - placed);
        }
        self.close_server(attempt, now);
        self.send(
            Agent::Replica(replica),
            requester,
            Body::Result { attempt, serial, succeeded: false },
            schedule,
        );
    }

    /// Starts an attempt, or drops it if its requester has already given up and the service
    /// drops expired work.
    pub(super) fn start(
        &mut self,
        attempt: usize,
        replica: ReplicaId,
        from_queue: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let service = self.layout.replica_service[replica.index()];
        let a = &self.attempts[attempt];
        let spec = &self.scenario.services[service.index()];
        // Work that cannot finish before its caller's deadline, even at the replica's typical
        // speed, is work nobody will use.
        let speed = |world: &Self| world.layout.replica_speed[replica.index()];
        let hopeless = |expires: SimTime| {
            expires <= now + SimDuration::from_secs_f64(spec.mean_execution_secs_at(speed(self)))
        };
        if spec.drop_expired && a.expires.is_some_and(hopeless) {
            let (open, placed) = (a.requester_open, a.placed);
            if from_queue {
                self.load_changed(now, service, 0, -1);
                self.observer.attempt_unqueued(now, replica);
            }
            if open {
                self.request_ended(now, service, false, now - placed);
            }
            self.recorder.dropped_expired(now);
            self.close_server(attempt, now);
            return;
        }
        let factor = self.slowdown[replica.index()];
        if factor != 1.0 {
            self.touch_replica_faults(replica, false);
        }
        let mut execution = self.attempts[attempt].execution;
        if let Some(streams) = &mut self.execution_noise[service.index()] {
            let noise = spec.execution.as_ref().expect("streams only for a service with noise");
            let speed = self.layout.replica_speed[replica.index()];
            execution = streams.draw(noise, replica, execution, speed);
        }
        let a = &mut self.attempts[attempt];
        a.phase = Phase::Working;
        a.started = now;
        a.working_for = execution.mul_f64(factor);
        schedule.after(a.working_for, Event::WorkFinished(attempt as u32));
        self.loads[replica.index()].running += 1;
        self.load_changed(now, service, 1, -i64::from(from_queue));
        if self.track_running {
            self.running[replica.index()].push(attempt);
        }
        self.observer.attempt_started(now, replica, self.loads[replica.index()], from_queue);
        if O::ACTIVE {
            let a = &self.attempts[attempt];
            let caller = match a.parent {
                Parent::Call { serial, .. } => Some(serial),
                _ => None,
            };
            self.observer.execution_began(
                now,
                replica,
                service,
                a.serial,
                a.job_serial,
                a.placed,
                caller,
            );
        }
    }

    /// Fills free slots of a replica from its queue (during working hours).
    #[inline(always)]
    pub(super) fn start_queued(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let service = self.layout.replica_service[replica.index()];
        if self.scenario.services[service.index()]
            .working_hours
            .is_some_and(|h| !h.working(schedule.now()))
        {
            return;
        }
        if C && self.probes_waiting > 0 {
            self.start_queued_with_probes(replica, schedule);
            return;
        }
        while self.loads[replica.index()].running < self.loads[replica.index()].slots {
            let Some(next) = self.queues[replica.index()].pop_front() else { break };
            self.loads[replica.index()].queued -= 1;
            self.start(next, replica, true, schedule);
        }
    }

    /// `start_queued` while health checks wait in queues: a check at the head is answered
    /// (taking no slot time) before the next request starts.
    #[cold]
    fn start_queued_with_probes(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        while self.loads[replica.index()].running < self.loads[replica.index()].slots {
            self.serve_waiting_probes(replica, false, schedule);
            let Some(next) = self.queues[replica.index()].pop_front() else { break };
            self.loads[replica.index()].queued -= 1;
            self.serve_waiting_probes(replica, true, schedule);
            self.start(next, replica, true, schedule);
        }
    }

    pub(super) fn on_work_finished(&mut self, attempt: usize, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        // The record's key may have been reused since this was scheduled (the attempt was
        // cancelled or killed): only an attempt working and due now is the one it was for.
        // Another attempt under the same key due at the very same instant would finish now
        // anyway, and its own event then finds it past the working phase.
        let Some(a) = self
            .attempts
            .get(attempt)
            .filter(|a| a.phase == Phase::Working && a.started + a.working_for == now)
        else {
            return; // cancelled or killed meanwhile
        };
        let has_calls =
            !self.layout.workflows[a.workflow.index()].units[a.unit as usize].stages.is_empty();
        let a = &mut self.attempts[attempt];
        a.executed = a.working_for;
        if has_calls {
            a.phase = Phase::Calling;
            self.begin_stage(attempt, 0, schedule);
        } else {
            self.finish_attempt(attempt, true, schedule);
        }
    }

    /// Makes the calls of stage `stage` of an attempt's unit, in parallel.
    pub(super) fn begin_stage(
        &mut self,
        attempt: usize,
        stage: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let a = &mut self.attempts[attempt];
        let (serial, replica) = (a.serial, a.replica);
        let (job, job_serial, workflow, unit) = (a.job, a.job_serial, a.workflow, a.unit);
        let calls = self.layout.workflows[workflow.index()].units[unit as usize].stages
            [stage as usize]
            .len();
        a.stage = stage;
        // Set before placing: a call refused at once answers within this loop.
        a.pending_calls = calls as u32;
        for i in 0..calls {
            let callee = self.layout.workflows[workflow.index()].units[unit as usize].stages
                [stage as usize][i];
            if self.job_alive(job, job_serial) {
                self.new_task(
                    job,
                    callee,
                    Parent::Call { attempt, serial },
                    Some(replica),
                    schedule,
                );
            } else {
                // The job already ended: calls of orphaned work fail without being placed.
                self.call_answered(attempt, serial, false, schedule);
            }
        }
    }

    /// One call of an attempt's current stage answered.
    pub(super) fn call_answered(
        &mut self,
        attempt: usize,
        serial: u64,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(a) = self
            .attempts
            .get_mut(attempt)
            .filter(|a| a.serial == serial && a.phase == Phase::Calling)
        else {
            return; // the caller was cancelled or killed meanwhile
        };
        a.pending_calls -= 1;
        a.call_failed |= !succeeded;
        if a.pending_calls > 0 {
            return;
        }
        let stages =
            self.layout.workflows[a.workflow.index()].units[a.unit as usize].stages.len() as u32;
        if a.call_failed {
            self.finish_attempt(attempt, false, schedule);
        } else if a.stage + 1 < stages {
            let next = a.stage + 1;
            self.begin_stage(attempt, next, schedule);
        } else {
            self.finish_attempt(attempt, true, schedule);
        }
    }

    /// Frees the slot an attempt holds and lets the queue move.
    #[inline(always)]
    pub(super) fn release_slot(&mut self, attempt: usize, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let replica = self.attempts[attempt].replica;
        if self.track_running {
            let list = &mut self.running[replica.index()];
            if let Some(i) = list.iter().position(|&k| k == attempt) {
                list.swap_remove(i);
            }
        }
        let load = &mut self.loads[replica.index()];
        load.running -= 1;
        load.finished = load.finished.wrapping_add(1);
        let service = self.layout.replica_service[replica.index()];
        self.load_changed(now, service, -1, 0);
        self.observer.attempt_finished(now, replica, self.loads[replica.index()]);
        self.start_queued(replica, schedule);
        if C && self.draining > 0 {
            self.retire_if_drained(replica, schedule);
        }
        if self.force_tasks
            && self.loads[replica.index()].outstanding() < self.loads[replica.index()].slots
        {
            // A policy that pulls work hears at once that a worker has room.
            let view = acting_view!(self, now);
            self.policy.on_idle(&view, replica);
            self.apply_outbox(schedule);
        }
    }

    /// An attempt is done on its replica: free the slot and report to the requester.
    #[inline(always)]
    pub(super) fn finish_attempt(
        &mut self,
        attempt: usize,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        self.release_slot(attempt, schedule);
        let a = &self.attempts[attempt];
        let (replica, serial, requester, open, placed) =
            (a.replica, a.serial, a.requester, a.requester_open, a.placed);
        if open {
            let service = self.layout.replica_service[replica.index()];
            self.request_ended(now, service, succeeded, now - placed);
        }
        self.close_server(attempt, now);
        self.send(
            Agent::Replica(replica),
            requester,
            Body::Result { attempt, serial, succeeded },
            schedule,
        );
    }

    /// A cancel reached the replica: drop the attempt from the queue or stop it.
    pub(super) fn cancel(&mut self, attempt: usize, serial: u64, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let Some(a) = self.attempt(attempt, serial) else { return };
        let replica = a.replica;
        match a.phase {
            Phase::Sent => self.close_server(attempt, now),
            Phase::Queued => {
                let queue = &mut self.queues[replica.index()];
                if let Some(i) = queue.iter().position(|&k| k == attempt) {
                    queue.remove(i);
                    self.loads[replica.index()].queued -= 1;
                    let service = self.layout.replica_service[replica.index()];
                    self.load_changed(now, service, 0, -1);
                    self.observer.attempt_unqueued(now, replica);
                }
                self.close_server(attempt, now);
                if C && self.draining > 0 {
                    self.retire_if_drained(replica, schedule);
                }
            }
            Phase::Working => {
                let a = &mut self.attempts[attempt];
                a.executed = now - a.started;
                a.lost.set(Lost::Cancelled);
                self.release_slot(attempt, schedule);
                self.close_server(attempt, now);
            }
            Phase::Calling => {
                self.attempts[attempt].lost.set(Lost::Cancelled);
                self.release_slot(attempt, schedule);
                self.close_server(attempt, now);
            }
            Phase::Closed => {}
        }
    }

    /// The server side of an attempt is over; account its execution when both sides are.
    pub(super) fn close_server(&mut self, attempt: usize, now: SimTime) {
        let a = &mut self.attempts[attempt];
        if O::ACTIVE && matches!(a.phase, Phase::Working | Phase::Calling) {
            self.observer.execution_ended(now, a.replica, a.started, a.executed);
            self.observer.execution_closed(now, a.replica, a.serial);
        }
        a.phase = Phase::Closed;
        self.remove_attempt_if_done(attempt, now);
    }

    /// Removes an attempt once the replica is done with it and the requester has stopped
    /// waiting, and accounts its execution as useful or duplicate.
    #[inline(always)]
    pub(super) fn remove_attempt_if_done(&mut self, attempt: usize, now: SimTime) {
        let a = &self.attempts[attempt];
        if a.phase == Phase::Closed && !a.requester_open {
            if a.task.is_none() {
                // A unit without client-side mechanisms has one attempt: its execution is
                // useful. Its result credits its service time to the job as it resolves it
                // (`on_result`), so here only an execution a crash lost is left to account.
                if a.executed > SimDuration::ZERO {
                    self.account_plain(attempt, now);
                }
                self.attempts.remove(attempt);
            } else {
                self.remove_attempt_of_task(attempt, now);
            }
        }
    }

    /// Removes an attempt of a task both sides are done with (see `remove_attempt_if_done`).
    pub(super) fn remove_attempt_of_task(&mut self, attempt: usize, now: SimTime) {
        let a = &self.attempts[attempt];
        let (task, task_serial, executed, winner, kind) =
            (a.task.expect("an attempt of a task"), a.task_serial, a.executed, a.winner, a.kind);
        let lost = a.lost;
        self.attempts.remove(attempt);
        let t = &mut self.tasks[task];
        debug_assert_eq!(t.serial, task_serial, "a task outlives its attempts");
        t.open -= 1;
        if executed > SimDuration::ZERO {
            // The winner was credited to its job when its task used it (or found the job
            // failed); any other execution's result was not used.
            let waste = lost.waste();
            let verdict = if winner {
                Some(None)
            } else if kind != Kind::Original {
                // A hedge involved on either side makes it a hedging duplicate.
                let hedged = kind == Kind::Hedge || t.winner_kind == Some(Kind::Hedge);
                Some(Some(if hedged { DupSource::Hedge } else { kind.dup_source() }))
            } else {
                match (t.outcome, t.winner_kind) {
                    (Some(true), Some(winner)) => Some(Some(winner.dup_source())),
                    (Some(_), _) => Some(None),
                    (None, _) => {
                        let waste = waste.expect("a held original is not the winner");
                        t.held_original = Some((executed, waste));
                        None
                    }
                }
            };
            if let Some(duplicate) = verdict {
                self.recorder.execution(now, executed, duplicate, waste);
            }
        }
        self.remove_task_if_done(task);
    }

    /// Accounts the execution of a unit without a task record that its result did not
    /// carry to the job: one lost to a crash, or used by its job if it is still there.
    #[cold]
    fn account_plain(&mut self, attempt: usize, now: SimTime) {
        let a = &self.attempts[attempt];
        let (executed, lost, job, job_serial) = (a.executed, a.lost, a.job, a.job_serial);
        let waste = if lost == Lost::Crash {
            Some(Waste::Crash)
        } else if self.credit_job(executed, job, job_serial) {
            None
        } else {
            Some(Waste::Failed)
        };
        self.recorder.execution(now, executed, None, waste);
    }

    /// Credits `executed` of service time whose result a task used to its job, kept until
    /// the job ends (wasted if it fails). False when the job has ended already: it failed,
    /// since a job succeeds only once every unit has, so the work is wasted.
    #[inline(always)]
    pub(super) fn credit_job(
        &mut self,
        executed: SimDuration,
        job: usize,
        job_serial: u64,
    ) -> bool {
        match self.jobs.get_mut(job).filter(|j| j.serial == job_serial) {
            Some(j) => {
                j.used_ns += executed.as_nanos();
                true
            }
            None => false,
        }
    }

    pub(super) fn on_shift_started(&mut self, service: u32, schedule: &mut Schedule<Event>) {
        let range = self.layout.service_replicas[service as usize].clone();
        for r in range {
            if self.down[r as usize] == 0 {
                self.start_queued(ReplicaId(r), schedule);
            }
        }
        let hours = self.scenario.services[service as usize]
            .working_hours
            .expect("only human services have shifts");
        schedule.after(hours.period, Event::ShiftStarted(service));
    }
}
