//! Jobs and their steps: a job is created when it arrives (every unit's work size drawn at
//! once from the job-content stream, so the workload is the same under every policy), its
//! ready steps are dispatched, and each step's outcome (with its human review or escalation)
//! moves the workflow on until the job completes, fails, or its deadline passes. Closed-loop
//! users send their next job from here. Where a unit runs is `placement.rs`'s business.

use super::event::Event;
use super::event::NO_CLIENT;
use super::tasks::Parent;
use super::timers::Timer;
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::{ClassId, OrchestratorId, ServiceId, WorkflowId};
use crate::metrics::Waste;
use crate::time::{SimDuration, SimTime};
use rand::Rng;

/// A job in the system.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) serial: u64,
    pub(super) class: ClassId,
    pub(super) workflow: WorkflowId,
    pub(super) arrived: SimTime,
    /// Whether it arrived after the warm-up and so counts in the figures.
    pub(super) measured: bool,
    pub(super) agent: OrchestratorId,
    /// The closed-loop user that sent it: (source, user).
    pub(super) client: Option<(u16, u32)>,
    /// Work sizes of its units and what its steps wait for.
    pub(super) plan: JobPlan,
    pub(super) steps_left: u32,
    /// Steps (by index, below 64) that need a human review, and reviews that will reject.
    pub(super) review: u64,
    pub(super) reject: u64,
    /// Its placements the policy deferred and has not decided yet.
    pub(super) deferred: u32,
    /// Service time of the executions its tasks used so far, in ns (wasted if it fails).
    pub(super) used_ns: u64,
}

/// `Job::class` of a job that carries a control agent's escalation to a person (its id in
/// `Job::reject`, which only a human review reads, and such a job has none). It counts in no job figure. A sentinel
/// rather than a field of its own keeps the job record, which every job writes and reads
/// whole, as small as it was.
pub(super) const ESCALATION: ClassId = ClassId::ESCALATION;

impl Job {
    /// Whether it carries a control agent's escalation rather than the workload's work.
    pub(super) fn is_escalation(&self) -> bool {
        self.class == ESCALATION
    }
}

/// A blank record, for a new slot of `Records` (overwritten before it is read).
impl Default for Job {
    fn default() -> Self {
        Job {
            serial: 0,
            class: ClassId(0),
            workflow: WorkflowId(0),
            arrived: SimTime::ZERO,
            measured: false,
            agent: OrchestratorId(0),
            client: None,
            plan: JobPlan::Single(SimDuration::ZERO),
            steps_left: 0,
            review: 0,
            reject: 0,
            deferred: 0,
            used_ns: 0,
        }
    }
}

/// A job's per-unit work sizes (see `layout.rs`) and, for each step, the predecessors not yet
/// completed. A workflow of one unit (and so one step) keeps its work size inline: most jobs
/// of simple scenarios carry no vector at all.
#[derive(Debug)]
pub(super) enum JobPlan {
    Single(SimDuration),
    Many { work: Vec<SimDuration>, waiting: Vec<u32> },
}

impl JobPlan {
    pub(super) fn work(&self, unit: u32) -> SimDuration {
        match self {
            JobPlan::Single(work) => *work,
            JobPlan::Many { work, .. } => work[unit as usize],
        }
    }

    /// Whether every predecessor of `step` has completed.
    pub(super) fn ready(&self, step: usize) -> bool {
        match self {
            JobPlan::Single(_) => true,
            JobPlan::Many { waiting, .. } => waiting[step] == 0,
        }
    }
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn job_alive(&self, job: usize, serial: u64) -> bool {
        self.jobs.get(job).is_some_and(|j| j.serial == serial)
    }

    pub(super) fn on_job_arrived(
        &mut self,
        source: u16,
        client: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let class = self.sources[source as usize].pick_class();
        if client == NO_CLIENT {
            if let Some(next) = self.sources[source as usize].next_open_arrival(now) {
                schedule.at(next, Event::JobArrived { source, client });
            }
        }
        let client = (client != NO_CLIENT).then_some((source, client));
        self.create_job(class, client, schedule);
    }

    pub(super) fn create_job(
        &mut self,
        class: ClassId,
        client: Option<(u16, u32)>,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let measured = self.recorder.measures(now);
        self.observer.job_arrived(now, class);
        if measured {
            self.recorder.job_arrived();
        }
        let spec = &self.scenario.classes[class.index()];
        let workflow = &self.layout.workflows[spec.workflow.index()];
        // Draw every unit's work size now, in unit order, from the job-content stream; then
        // the review decisions. The same jobs under every policy.
        // The plan is kept in its parts until it is written into the job record: an enum
        // built in a temporary is copied in wide pieces just after its narrow stores, which
        // stalls (see records.rs).
        let (single_work, many) = if let [unit] = workflow.units.as_slice() {
            let dist = &self.scenario.services[unit.service.index()].service_time;
            (dist.sample(&mut self.content_rng), None)
        } else {
            let (mut work, mut waiting) = self.spare_jobs.pop().unwrap_or_default();
            work.clear();
            work.extend(workflow.units.iter().map(|u| {
                self.scenario.services[u.service.index()].service_time.sample(&mut self.content_rng)
            }));
            waiting.clear();
            waiting.extend_from_slice(&workflow.predecessors);
            (SimDuration::ZERO, Some((work, waiting)))
        };
        let (mut review, mut reject) = (0u64, 0u64);
        let steps_with_reviews = if workflow.review_unit.iter().any(Option::is_some) {
            self.scenario.workflows[spec.workflow.index()].steps.as_slice()
        } else {
            &[]
        };
        for (step, s) in steps_with_reviews.iter().enumerate() {
            if let Some(approval) = s.approval {
                let (needs, rejects): (f64, f64) =
                    (self.content_rng.random(), self.content_rng.random());
                if step < 64 && needs < approval.probability {
                    review |= 1 << step;
                    if rejects < approval.reject {
                        reject |= 1 << step;
                    }
                }
            }
        }
        let steps = workflow.predecessors.len();
        let normal_units = u64::from(workflow.normal_units);
        let serial = self.serial();
        let agent = OrchestratorId(self.next_orchestrator);
        // Round robin over the orchestrators (a compare, not a division, on every job).
        self.next_orchestrator += 1;
        if self.next_orchestrator == self.scenario.orchestrators {
            self.next_orchestrator = 0;
        }
        // Everything drawn so far is drawn for every job, so refusing one below never shifts
        // the content of the next (common random numbers hold under admission control).
        let shed = self.scenario.max_in_flight.is_some_and(|max| self.jobs.len() >= max as usize);
        let front_end_down = self.orchestrator_down[agent.index()] > 0;
        if shed || front_end_down {
            // Refused at the entry, or routed to a crashed front end: a failure at once.
            if front_end_down {
                self.touch_orchestrator_fault(agent.0);
            }
            if measured {
                if shed {
                    self.recorder.job_shed();
                }
                self.recorder.job_failed();
            }
            self.recorder.window_job_arrived(now, false);
            self.observer.job_ended(now, false);
            self.next_job_of(client, schedule);
            if let Some(parts) = many {
                self.spare_jobs.push(parts);
            }
            return;
        }
        if measured {
            self.recorder.attempts_needed(normal_units);
        }
        self.recorder.window_job_arrived(now, true);
        self.observer.job_entered(now, serial, class, agent.0);
        let (job, slot) = self.jobs.vacant();
        *slot = Job {
            serial,
            class,
            workflow: spec.workflow,
            arrived: now,
            measured,
            agent,
            client,
            plan: match many {
                None => JobPlan::Single(single_work),
                Some((work, waiting)) => JobPlan::Many { work, waiting },
            },
            steps_left: steps as u32,
            review,
            reject,
            deferred: 0,
            used_ns: 0,
        };
        if let Some(deadline) = spec.deadline {
            self.set_lane_timer(deadline, Timer::Deadline { job, serial }, schedule);
        }
        for step in 0..steps {
            // A step failing at once (refused) ends the job: stop dispatching.
            let ready =
                self.jobs.get(job).is_some_and(|j| j.serial == serial && j.plan.ready(step));
            if ready {
                self.dispatch_step(job, step, schedule);
            }
        }
    }

    #[inline(always)]
    pub(super) fn dispatch_step(
        &mut self,
        job: usize,
        step: usize,
        schedule: &mut Schedule<Event>,
    ) {
        let unit = self.layout.workflows[self.jobs[job].workflow.index()].step_unit[step];
        self.new_task(job, unit, Parent::Step(step as u32), None, schedule);
    }

    pub(super) fn step_done(&mut self, job: usize, step: u32, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let j = &mut self.jobs[job];
        if j.steps_left == 1 {
            // The last step: the job ends, and its record is read out whole right away (the
            // count is not written first: a narrow write just before a wide read of the same
            // bytes stalls the read on x86).
            self.end_job(job, true, now, schedule);
            return;
        }
        j.steps_left -= 1;
        let serial = j.serial;
        let workflow = j.workflow.index();
        for i in 0..self.layout.workflows[workflow].successors[step as usize].len() {
            let next = self.layout.workflows[workflow].successors[step as usize][i];
            let Some(j) = self.jobs.get_mut(job).filter(|j| j.serial == serial) else { return };
            let JobPlan::Many { waiting, .. } = &mut j.plan else {
                unreachable!("a step with successors belongs to a workflow of several units")
            };
            waiting[next] -= 1;
            if waiting[next] == 0 {
                self.dispatch_step(job, next, schedule);
            }
        }
    }

    #[inline(always)]
    pub(super) fn end_job(
        &mut self,
        job: usize,
        completed: bool,
        now: SimTime,
        schedule: &mut Schedule<Event>,
    ) {
        let j = &mut self.jobs[job];
        let (serial, class, arrived, measured, client, deferred, used_ns) =
            (j.serial, j.class, j.arrived, j.measured, j.client, j.deferred, j.used_ns);
        let escalation = if C && class == ESCALATION { Some(j.reject as u32) } else { None };
        let plan = std::mem::replace(&mut j.plan, JobPlan::Single(SimDuration::ZERO));
        self.jobs.remove(job);
        if deferred > 0 {
            self.abandon_deferred(job, serial, schedule);
        }
        if let Some(escalation) = escalation {
            // A person's answer is used, whatever it is.
            self.recorder.work_used(now, used_ns);
            self.escalation_answered(escalation, completed, schedule);
            return;
        }
        if measured {
            if completed {
                self.recorder.job_completed(class, now - arrived);
            } else {
                self.recorder.job_failed();
            }
        }
        // A measured job arrived after the warm-up, so all its executions were measured.
        let measured_ns = if measured { used_ns } else { 0 };
        self.recorder.job_left(now, completed, used_ns, measured_ns);
        self.observer.job_left(now, serial, completed, now - arrived, measured);
        if completed {
            self.observer.job_completed_latency(now, now - arrived);
        }
        self.observer.job_ended(now, completed);
        self.next_job_of(client, schedule);
        self.recycle(plan);
    }

    /// Files escalation `id` of a control agent as a request to the human service `human`,
    /// of `work` seconds of a person's time (drawn by the agent), through orchestrator 0.
    /// It is a job that counts in no job figure; its request counts on the human service.
    pub(super) fn create_escalation_job(
        &mut self,
        human: ServiceId,
        work: SimDuration,
        id: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let workflow = self.layout.escalation_workflow[human.index()]
            .expect("the layout has a workflow for every human service agents escalate to");
        let serial = self.serial();
        let (job, slot) = self.jobs.vacant();
        *slot = Job {
            serial,
            class: ESCALATION,
            workflow,
            arrived: now,
            measured: false,
            agent: OrchestratorId(0),
            client: None,
            plan: JobPlan::Single(work),
            steps_left: 1,
            review: 0,
            reject: u64::from(id),
            deferred: 0,
            used_ns: 0,
        };
        if self.orchestrator_down[0] > 0 {
            self.end_job(job, false, now, schedule);
            return;
        }
        self.dispatch_step(job, 0, schedule);
    }

    /// Keeps a finished job's vectors for the next job of several units.
    #[inline(always)]
    pub(super) fn recycle(&mut self, plan: JobPlan) {
        if let JobPlan::Many { work, waiting } = plan {
            self.spare_jobs.push((work, waiting));
        }
    }

    /// A closed-loop user thinks, then sends its next job.
    #[inline(always)]
    pub(super) fn next_job_of(
        &mut self,
        client: Option<(u16, u32)>,
        schedule: &mut Schedule<Event>,
    ) {
        if let Some((source, client)) = client {
            let think = self.sources[source as usize].think();
            schedule.after(think, Event::JobArrived { source, client });
        }
    }

    pub(super) fn on_deadline_passed(
        &mut self,
        job: usize,
        serial: u64,
        schedule: &mut Schedule<Event>,
    ) {
        if self.job_alive(job, serial) {
            let now = schedule.now();
            self.end_job(job, false, now, schedule);
        }
    }

    /// A unit's outcome reaches whoever needs it: a calling attempt, or the job's step logic.
    pub(super) fn resolve(
        &mut self,
        parent: Parent,
        job: usize,
        job_serial: u64,
        first_placed: SimTime,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let job = (job, job_serial);
        self.resolve_with(parent, job, first_placed, succeeded, SimDuration::ZERO, schedule);
    }

    /// `resolve`, with `used` of service time whose result this is (a unit without a task
    /// record: its one execution), credited to the job if it is still there, wasted if not.
    #[inline(always)]
    pub(super) fn resolve_with(
        &mut self,
        parent: Parent,
        (job, job_serial): (usize, u64),
        first_placed: SimTime,
        succeeded: bool,
        used: SimDuration,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        if let Parent::Call { attempt, serial } = parent {
            if used > SimDuration::ZERO {
                let waste = (!self.credit_job(used, job, job_serial)).then_some(Waste::Failed);
                self.recorder.execution(now, used, None, waste);
            }
            self.call_answered(attempt, serial, succeeded, schedule);
            return;
        }
        if !self.job_alive(job, job_serial) {
            if used > SimDuration::ZERO {
                self.recorder.execution(now, used, None, Some(Waste::Failed));
            }
            return;
        }
        if used > SimDuration::ZERO {
            self.jobs[job].used_ns += used.as_nanos();
            self.recorder.execution(now, used, None, None);
        }
        let measured = self.jobs[job].measured;
        match parent {
            Parent::Step(step) => {
                let bit = 1u64.checked_shl(step).unwrap_or(0);
                if succeeded && self.jobs[job].review & bit != 0 {
                    let unit = self.layout.workflows[self.jobs[job].workflow.index()].review_unit
                        [step as usize]
                        .expect("a step with reviews has a review unit");
                    self.new_task(job, unit, Parent::Review(step), None, schedule);
                } else if succeeded {
                    if self.jobs[job].steps_left == 1 {
                        // Its last step: the job is done (`step_done` without the call).
                        self.end_job(job, true, now, schedule);
                    } else {
                        self.step_done(job, step, schedule);
                    }
                } else if let Some(unit) = self.layout.workflows[self.jobs[job].workflow.index()]
                    .escalate_unit[step as usize]
                {
                    if measured {
                        self.recorder.escalation();
                    }
                    self.new_task(job, unit, Parent::Escalation(step), None, schedule);
                } else {
                    self.end_job(job, false, now, schedule);
                }
            }
            Parent::Review(step) => {
                let rejected = self.jobs[job].reject & 1u64.checked_shl(step).unwrap_or(0) != 0;
                if measured && succeeded {
                    self.recorder.review(!rejected, now - first_placed);
                }
                if succeeded && !rejected {
                    self.step_done(job, step, schedule);
                } else {
                    self.end_job(job, false, now, schedule);
                }
            }
            Parent::Escalation(step) => {
                if measured && succeeded {
                    self.recorder.human_wait(now - first_placed);
                }
                if succeeded {
                    self.step_done(job, step, schedule);
                } else {
                    self.end_job(job, false, now, schedule);
                }
            }
            Parent::Call { .. } => unreachable!("handled above"),
        }
    }
}
