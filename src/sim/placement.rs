//! Placing units: a unit becomes a task (or, with no client-side mechanism, a plain unit
//! with a single attempt and no task record), the policy is asked where it goes (the breaker,
//! the retry budget and outlier ejection have their say first), and the chosen replica is
//! sent the hand-off. Deferred decisions come back through `policy_bridge.rs`.

use super::event::Event;
use super::network::{Agent, Body};
use super::policy_bridge::Deferred;
use super::replicas::{execution_time, Attempt};
use super::tasks::{Kind, Parent, Task};
use super::timers::Timer;
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::{ClassId, ReplicaId, ServiceId, WorkflowId};
use crate::policy::{Decision, Task as PolicyTask, TaskDetails};
use crate::scenario::Hedge;
use crate::time::{SimDuration, SimTime};

/// A unit to be executed once, without a task record (see `place_plain`): whose it is, and
/// who waits for it.
#[derive(Clone, Copy, Debug)]
pub(super) struct PlainUnit {
    pub(super) job: usize,
    pub(super) job_serial: u64,
    pub(super) workflow: WorkflowId,
    pub(super) unit: u32,
    pub(super) parent: Parent,
    pub(super) requester: Agent,
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    /// Creates a task for `unit` of `job` and places its first attempt. The requester is the
    /// job's orchestrator, or `caller` (the replica making the call).
    pub(super) fn new_task(
        &mut self,
        job: usize,
        unit: u32,
        parent: Parent,
        caller: Option<ReplicaId>,
        schedule: &mut Schedule<Event>,
    ) {
        let j = &self.jobs[job];
        let requester = caller.map_or(Agent::Orchestrator(j.agent), Agent::Replica);
        if self.layout.workflows[j.workflow.index()].units[unit as usize].rules.plain
            && !self.force_tasks
        {
            let (job_serial, workflow) = (j.serial, j.workflow);
            let plain = PlainUnit { job, job_serial, workflow, unit, parent, requester };
            self.place_plain(plain, schedule);
            return;
        }
        let serial = self.serial();
        let j = &self.jobs[job];
        let attempts = self.spare_attempt_lists.pop().unwrap_or_default();
        let task = self.tasks.insert(Task {
            serial,
            job,
            job_serial: j.serial,
            workflow: j.workflow,
            unit,
            parent,
            requester,
            first_placed: schedule.now(),
            live: 0,
            open: 0,
            retries: 0,
            hedged: false,
            retry_pending: false,
            outcome: None,
            winner_kind: None,
            held_original: None,
            attempts,
            ticket: None,
        });
        self.place_attempt(task, Kind::Original, schedule);
    }

    /// Places the single attempt of a unit without client-side mechanisms: no task record,
    /// its result goes straight to the parent.
    pub(super) fn place_plain(&mut self, plain: PlainUnit, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let service =
            self.layout.workflows[plain.workflow.index()].units[plain.unit as usize].service;
        let agent = self.agent_id(plain.requester);
        let ticket = self.next_ticket();
        if self.decision_notes {
            self.note_decision((plain.job, plain.job_serial), plain.unit, 0, service, now);
        }
        let decision = self.decide(now, &PolicyTask { agent, service, ticket }, false);
        if decision == Decision::Defer {
            self.defer(ticket, Deferred::Plain(plain), now);
        } else {
            self.place_plain_on(plain, decision, schedule);
        }
        self.apply_outbox(schedule);
    }

    /// Leaves what the policy asked to be told of the unit about to be placed: its details
    /// (with `attempt`, its attempt number) and its size. Out of line: only such policies
    /// come here.
    #[cold]
    #[inline(never)]
    fn note_decision(
        &mut self,
        job: (usize, u64),
        unit: u32,
        attempt: u32,
        service: ServiceId,
        now: SimTime,
    ) {
        if self.task_details {
            self.note_task_details(job.0, job.1, attempt);
        }
        if self.sizes {
            self.note_sizes(job.0, job.1, unit, service, now);
        }
    }

    /// The attempt number of an attempt of `kind` of a task: 0 for the first, `n` for the
    /// `n`-th retry; a hedge counts one more than the attempt it copies.
    fn attempt_number(&self, task: usize, kind: Kind) -> u32 {
        let t = &self.tasks[task];
        match kind {
            Kind::Original => 0,
            Kind::Hedge => t.retries + 1,
            _ => t.retries.max(1),
        }
    }

    /// Leaves the details of the task about to be placed for a policy that asks for them:
    /// its job's class and deadline (none for an escalation or a class without one) and
    /// its attempt number.
    fn note_task_details(&self, job: usize, job_serial: u64, attempt: u32) {
        let (class, deadline) = match self.jobs.get(job).filter(|j| j.serial == job_serial) {
            Some(j) if !j.is_escalation() => {
                (j.class, self.scenario.classes[j.class.index()].deadline.map(|d| j.arrived + d))
            }
            _ => (ClassId::ESCALATION, None),
        };
        self.notes.details.set(Some(TaskDetails { class, attempt, deadline }));
    }

    /// Leaves the work of the unit about to be placed, and each candidate's work left, for a
    /// policy that asks for sizes, where the service's sizes are known (docs/model.md
    /// section 12). Out of line: only such policies come here.
    fn note_sizes(
        &mut self,
        job: usize,
        job_serial: u64,
        unit: u32,
        service: ServiceId,
        now: SimTime,
    ) {
        let work = match self.jobs.get(job).filter(|j| j.serial == job_serial) {
            Some(j) if self.scenario.services[service.index()].sizes_known => j.plan.work(unit),
            _ => {
                self.notes.work.set(None);
                return;
            }
        };
        for &r in &self.members[service.index()] {
            let queued = self.queues[r.index()]
                .iter()
                .filter_map(|&a| self.attempts.get(a))
                .filter(|a| a.phase == super::replicas::Phase::Queued)
                .fold(SimDuration::ZERO, |sum, a| sum + a.execution);
            let running = self.running[r.index()]
                .iter()
                .filter_map(|&a| self.attempts.get(a))
                .filter(|a| a.phase == super::replicas::Phase::Working)
                .fold(SimDuration::ZERO, |sum, a| {
                    sum + (a.started + a.working_for).saturating_since(now)
                });
            self.work_left[r.index()] = queued + running;
        }
        self.notes.work.set(Some(work));
    }

    /// Carries out the policy's decision for a unit without a task record.
    #[inline(always)]
    pub(super) fn place_plain_on(
        &mut self,
        plain: PlainUnit,
        decision: Decision,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let PlainUnit { job, job_serial, workflow, unit, parent, requester } = plain;
        let service = self.layout.workflows[workflow.index()].units[unit as usize].service;
        let replica = match decision {
            Decision::Place(replica) => replica,
            Decision::Reject => {
                self.notes.staleness.set(SimDuration::ZERO);
                self.resolve(parent, job, job_serial, now, false, schedule);
                return;
            }
            Decision::Defer => unreachable!("a deferred placement is carried out on commit"),
        };
        debug_assert_eq!(
            self.layout.replica_service[replica.index()],
            service,
            "placed on another service"
        );
        let speed = self.layout.replica_speed[replica.index()];
        let execution = execution_time(self.jobs[job].plan.work(unit), speed);
        let serial = self.serial();
        let (attempt, slot) = self.attempts.vacant();
        *slot = Attempt {
            serial,
            task: None,
            task_serial: 0,
            job,
            job_serial,
            workflow,
            unit,
            parent,
            requester,
            kind: Kind::Original,
            ..Attempt::sent(replica, now, None, execution)
        };
        self.recorder.attempt_placed(now, self.notes.staleness.replace(SimDuration::ZERO));
        self.send(requester, Agent::Replica(replica), Body::Assign { attempt, serial }, schedule);
    }

    /// Places one attempt of a task through the policy, unless the breaker fails it fast.
    pub(super) fn place_attempt(
        &mut self,
        task: usize,
        kind: Kind,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let t = &self.tasks[task];
        let service = self.unit_service(t);
        let agent = self.agent_id(t.requester);
        let rules = self.unit_rules(t);
        let slot = self.caller_slot(agent, service);
        if rules.breaker {
            let unit = &self.layout.workflows[t.workflow.index()].units[t.unit as usize];
            let breaker = unit.resilience.circuit_breaker.as_ref().expect("rules say there is one");
            if !self.breakers[slot].allows(now, breaker) {
                // Fail fast, without retrying: the breaker exists to shed this load. A hedge
                // refused this way is simply not sent: the first attempt is still out.
                if self.tasks[task].live == 0 {
                    self.task_failed(task, schedule);
                }
                return;
            }
        }
        if let (Kind::Original, Some(ratio)) = (kind, rules.budget) {
            self.budgets[slot].deposit(ratio);
        }
        let range = self.layout.service_replicas[service.index()].clone();
        if rules.ejection {
            for r in range.clone() {
                self.excluded[r as usize] = self.ejections.is_ejected(agent.0, r, now);
            }
        }
        let ticket = self.next_ticket();
        if self.decision_notes {
            let t = &self.tasks[task];
            let (job, unit) = ((t.job, t.job_serial), t.unit);
            self.note_decision(job, unit, self.attempt_number(task, kind), service, now);
        }
        let decision = self.decide(now, &PolicyTask { agent, service, ticket }, rules.ejection);
        if rules.ejection {
            for r in range {
                self.excluded[r as usize] = false;
            }
        }
        if decision == Decision::Defer {
            let task_serial = self.tasks[task].serial;
            self.defer(ticket, Deferred::Attempt { task, task_serial, kind }, now);
        } else {
            self.place_attempt_on(task, kind, decision, schedule);
        }
        self.apply_outbox(schedule);
    }

    /// Carries out the policy's decision for an attempt of a task.
    pub(super) fn place_attempt_on(
        &mut self,
        task: usize,
        kind: Kind,
        decision: Decision,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let t = &self.tasks[task];
        let service = self.unit_service(t);
        let rules = self.unit_rules(t);
        let replica = match decision {
            Decision::Place(replica) => replica,
            Decision::Reject => {
                self.notes.staleness.set(SimDuration::ZERO);
                if self.tasks[task].live == 0 {
                    self.task_failed(task, schedule);
                }
                return;
            }
            Decision::Defer => unreachable!("a deferred placement is carried out on commit"),
        };
        debug_assert_eq!(
            self.layout.replica_service[replica.index()],
            service,
            "placed on another service"
        );
        let t = &self.tasks[task];
        let (task_serial, requester, parent) = (t.serial, t.requester, t.parent);
        let (job, job_serial, workflow, unit) = (t.job, t.job_serial, t.workflow, t.unit);
        let speed = self.layout.replica_speed[replica.index()];
        let execution = self
            .jobs
            .get(t.job)
            .filter(|j| j.serial == t.job_serial)
            .map_or(SimDuration::ZERO, |j| execution_time(j.plan.work(t.unit), speed));
        let serial = self.serial();
        let (attempt, slot) = self.attempts.vacant();
        *slot = Attempt {
            serial,
            task: Some(task),
            task_serial,
            job,
            job_serial,
            workflow,
            unit,
            parent,
            requester,
            kind,
            ..Attempt::sent(replica, now, rules.timeout.map(|d| now + d), execution)
        };
        self.recorder.attempt_placed(now, self.notes.staleness.replace(SimDuration::ZERO));
        let t = &mut self.tasks[task];
        t.live += 1;
        t.open += 1;
        if rules.cancel || self.force_tasks {
            t.attempts.push((attempt, serial));
        }
        if let Some(timeout) = rules.timeout {
            self.set_lane_timer(timeout, Timer::AttemptTimeout { attempt, serial }, schedule);
        }
        if kind == Kind::Original {
            let timer = Timer::Hedge { task, serial: task_serial };
            match rules.hedge {
                Some(Hedge::After(delay)) => self.set_lane_timer(delay, timer, schedule),
                Some(Hedge::Quantile(q)) => {
                    if let Some(delay) = self.latencies[service.index()].quantile(q) {
                        self.set_timer(delay, timer, schedule);
                    }
                }
                None => {}
            }
        }
        self.send(requester, Agent::Replica(replica), Body::Assign { attempt, serial }, schedule);
    }
}
