//! The simulated microservice world: replicas with slots and bounded FIFO queues, jobs that
//! run workflows of steps, calls between services, and messages over the network. It
//! implements [`engine::Model`](crate::engine::Model); one call to [`run`] builds a world from
//! a validated scenario, drains the engine and returns the summary.
//!
//! What happens to one job (MODEL.md section 3):
//! 1. `JobArrived`: the job is created at the next orchestrator (round-robin) with every
//!    unit's work size drawn from the job-content stream (see `layout.rs`), so it is the
//!    same under every policy. Steps with no predecessors are dispatched.
//! 2. Dispatching a unit asks the policy where to place it and sends the hand-off message to
//!    that replica. On delivery the replica starts it if a slot is free, queues it if the
//!    queue has room, or refuses it (a failure result goes back at once).
//! 3. `WorkFinished` after `work / speed`: the replica then makes the unit's downstream calls,
//!    stage by stage (each placed through the policy by the replica's worker agent), holding
//!    its slot until every call of the last stage has answered. A failed call fails the unit.
//! 4. The unit's result travels back to whoever placed it: a calling replica continues; an
//!    orchestrator marks the step done, dispatches the steps that were waiting for it, and
//!    completes the job after its last step. A failed step fails the job, and so does a
//!    passed deadline; work already under way for a failed job runs on, and its results are
//!    discarded when they arrive.
//!
//! A message whose link has zero latency and no loss is delivered within the event that sent
//! it, so a zero-latency network adds no events. The world owns the mechanics; it never
//! decides where work goes.

mod event;
mod layout;
mod network;
mod observe;
mod traffic;

use std::collections::VecDeque;

use slab::Slab;

pub use observe::{NoObserver, Observer};

use crate::engine::{derive_stream, Engine, Model, Schedule, SimRng};
use crate::ids::{AgentId, ClassId, OrchestratorId, ReplicaId, ServiceId, WorkflowId};
use crate::metrics::{Recorder, RunSummary};
use crate::policy::{
    self, Decision, Outcome, Policy, PolicySpec, PolicyView, ReplicaLoad, Task, Topology,
};
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};
use event::{Event, NO_CLIENT};
use layout::Layout;
use network::Links;
use rand::Rng;
use traffic::{Source, Start};

/// The purposes that get their own random stream (MODEL.md section 2).
///
/// Each purpose draws from its own ChaCha stream, so, for example, a policy that draws more
/// random numbers never changes which jobs arrive or how large they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamId {
    /// Arrivals of one traffic source (a class's own process, or index = number of classes
    /// for the shared process).
    Arrivals(u32),
    /// Work sizes and other job content, drawn when a job is created.
    JobContent,
    /// Execution-time noise of one service.
    Execution(ServiceId),
    /// Message latency and loss.
    Network,
    /// The fault schedule.
    Faults,
    /// The policy's own decisions.
    Policy,
}

impl StreamId {
    /// The ChaCha stream number: purpose in the high 32 bits, index in the low 32.
    pub fn code(self) -> u64 {
        let (purpose, index) = match self {
            StreamId::Arrivals(source) => (1, source),
            StreamId::JobContent => (2, 0),
            StreamId::Execution(service) => (3, service.0),
            StreamId::Network => (4, 0),
            StreamId::Faults => (5, 0),
            StreamId::Policy => (6, 0),
        };
        (purpose << 32) | u64::from(index)
    }

    /// The generator for this purpose in replication `replication` of a run seeded `seed`.
    pub fn rng(self, seed: u64, replication: u32) -> SimRng {
        derive_stream(seed, u64::from(replication), self.code())
    }
}

/// Runs one replication of `scenario` under `policy`.
pub fn run(scenario: &Scenario, policy: PolicySpec, replication: u32) -> RunSummary {
    run_observed(scenario, policy, replication, &mut NoObserver)
}

/// Like [`run`], reporting every mechanical step to `observer`.
pub fn run_observed<O: Observer>(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
    observer: &mut O,
) -> RunSummary {
    let world = World::new(scenario, policy, replication, observer);
    let mut engine = Engine::with_capacity(world, 1024);
    {
        let (world, schedule) = engine.parts();
        world.start_sources(schedule);
    }
    let stats = engine.run_until(SimTime::ZERO + scenario.duration);
    let world = engine.into_model();
    world.observer.run_ended(stats.now, &world.loads, world.jobs.len());
    let in_flight = world.jobs.iter().filter(|(_, job)| job.measured).count() as u64;
    world.recorder.finish(stats, in_flight)
}

/// Who sends and receives messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agent {
    Orchestrator(OrchestratorId),
    Replica(ReplicaId),
}

/// What a message says.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// "Execute this attempt", to a replica.
    Assign { attempt: usize },
    /// "This attempt is done (or failed)", back to whoever placed it.
    Result { attempt: usize, succeeded: bool },
}

#[derive(Debug)]
struct Message {
    from: Agent,
    to: Agent,
    sent: SimTime,
    body: Body,
}

/// A job in the system.
#[derive(Debug)]
struct Job {
    serial: u64,
    workflow: WorkflowId,
    arrived: SimTime,
    /// Whether it arrived after the warm-up and so counts in the figures.
    measured: bool,
    agent: OrchestratorId,
    /// The closed-loop user that sent it: (source, user).
    client: Option<(u16, u32)>,
    /// Work size of each unit (see `layout.rs`).
    work: Vec<SimDuration>,
    /// For each step, predecessors not yet completed.
    waiting: Vec<u32>,
    steps_left: u32,
}

/// Who is waiting for an attempt's result.
#[derive(Clone, Copy, Debug)]
enum Parent {
    /// An orchestrator, for this step of the job.
    Step(u32),
    /// A replica executing this attempt, which made the call.
    Call(usize),
}

/// One execution of one unit on one replica.
#[derive(Debug)]
struct Attempt {
    job: usize,
    job_serial: u64,
    workflow: WorkflowId,
    unit: u32,
    parent: Parent,
    requester: Agent,
    replica: ReplicaId,
    placed: SimTime,
    /// Execution time of the unit's own work on this replica.
    execution: SimDuration,
    /// The call stage under way, its calls still unanswered, and whether one failed.
    stage: u32,
    pending_calls: u32,
    call_failed: bool,
}

/// The state of one run.
struct World<'s, 'o, O: Observer> {
    scenario: &'s Scenario,
    layout: Layout,
    links: Links,
    loads: Vec<ReplicaLoad>,
    queues: Vec<VecDeque<usize>>,
    jobs: Slab<Job>,
    attempts: Slab<Attempt>,
    messages: Slab<Message>,
    policy: Box<dyn Policy>,
    sources: Vec<Source>,
    content_rng: SimRng,
    network_rng: SimRng,
    next_orchestrator: u32,
    next_serial: u64,
    /// Per-job vectors of finished jobs, reused so that steady state allocates nothing.
    spare: Vec<(Vec<SimDuration>, Vec<u32>)>,
    recorder: Recorder,
    observer: &'o mut O,
}

impl<'s, 'o, O: Observer> World<'s, 'o, O> {
    fn new(
        scenario: &'s Scenario,
        policy: PolicySpec,
        replication: u32,
        observer: &'o mut O,
    ) -> Self {
        let seed = scenario.seed;
        let layout = Layout::new(scenario);
        let loads = layout
            .replica_service
            .iter()
            .map(|s| ReplicaLoad {
                running: 0,
                queued: 0,
                slots: scenario.services[s.index()].concurrency,
            })
            .collect::<Vec<_>>();
        let topology =
            Topology { agents: layout.agents(), service_replicas: layout.service_replicas.clone() };
        World {
            scenario,
            links: Links::new(&scenario.network, scenario.services.len()),
            queues: (0..loads.len()).map(|_| VecDeque::new()).collect(),
            loads,
            jobs: Slab::new(),
            attempts: Slab::new(),
            messages: Slab::new(),
            policy: policy::build(policy, &topology, StreamId::Policy.rng(seed, replication)),
            sources: Source::all(scenario, replication),
            content_rng: StreamId::JobContent.rng(seed, replication),
            network_rng: StreamId::Network.rng(seed, replication),
            next_orchestrator: 0,
            next_serial: 0,
            spare: Vec::new(),
            recorder: Recorder::new(SimTime::ZERO + scenario.warmup),
            observer,
            layout,
        }
    }

    fn start_sources(&mut self, schedule: &mut Schedule<Event>) {
        for index in 0..self.sources.len() {
            let source = index as u16;
            match self.sources[index].start() {
                Start::At(Some(t)) => {
                    schedule.at(t, Event::JobArrived { source, client: NO_CLIENT })
                }
                Start::At(None) => {}
                Start::Clients(firsts) => {
                    for (client, t) in firsts.into_iter().enumerate() {
                        schedule.at(t, Event::JobArrived { source, client: client as u32 });
                    }
                }
            }
        }
    }

    // ---- event handlers -------------------------------------------------------------------

    fn on_job_arrived(&mut self, source: u16, client: u32, schedule: &mut Schedule<Event>) {
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

    fn on_message_delivered(&mut self, key: u32, schedule: &mut Schedule<Event>) {
        let message = self.messages.remove(key as usize);
        self.deliver(message, schedule);
    }

    fn on_work_finished(&mut self, attempt: u32, schedule: &mut Schedule<Event>) {
        let attempt = attempt as usize;
        let a = &self.attempts[attempt];
        let has_calls =
            !self.layout.workflows[a.workflow.index()].units[a.unit as usize].stages.is_empty();
        if has_calls {
            self.begin_stage(attempt, 0, schedule);
        } else {
            self.finish_attempt(attempt, true, schedule);
        }
    }

    fn on_deadline_passed(
        &mut self,
        job: u32,
        serial: u32,
        now: SimTime,
        schedule: &mut Schedule<Event>,
    ) {
        let alive = self.jobs.get(job as usize).is_some_and(|j| j.serial as u32 == serial);
        if alive {
            self.end_job(job as usize, false, now, schedule);
        }
    }

    // ---- jobs and steps -------------------------------------------------------------------

    fn create_job(
        &mut self,
        class: ClassId,
        client: Option<(u16, u32)>,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let measured = self.recorder.measures(now);
        if measured {
            self.recorder.job_arrived();
        }
        self.observer.job_arrived(now, class);
        let spec = &self.scenario.classes[class.index()];
        let workflow = &self.layout.workflows[spec.workflow.index()];
        let (mut work, mut waiting) = self.spare.pop().unwrap_or_default();
        work.clear();
        // Draw every unit's work size now, in unit order, from the job-content stream.
        work.extend(workflow.units.iter().map(|u| {
            self.scenario.services[u.service.index()].service_time.sample(&mut self.content_rng)
        }));
        waiting.clear();
        waiting.extend_from_slice(&workflow.predecessors);
        let serial = self.next_serial;
        self.next_serial += 1;
        let agent = OrchestratorId(self.next_orchestrator);
        self.next_orchestrator = (self.next_orchestrator + 1) % self.scenario.orchestrators;
        let steps = waiting.len();
        let job = self.jobs.insert(Job {
            serial,
            workflow: spec.workflow,
            arrived: now,
            measured,
            agent,
            client,
            work,
            waiting,
            steps_left: steps as u32,
        });
        if let Some(deadline) = spec.deadline {
            schedule
                .after(deadline, Event::DeadlinePassed { job: job as u32, serial: serial as u32 });
        }
        for step in 0..steps {
            // A step failing synchronously (rejected at once) ends the job: stop dispatching.
            let ready =
                self.jobs.get(job).is_some_and(|j| j.serial == serial && j.waiting[step] == 0);
            if ready {
                self.dispatch_step(job, step, schedule);
            }
        }
    }

    fn dispatch_step(&mut self, job: usize, step: usize, schedule: &mut Schedule<Event>) {
        let j = &self.jobs[job];
        let unit = self.layout.workflows[j.workflow.index()].step_unit[step];
        let requester = Agent::Orchestrator(j.agent);
        self.place(job, unit, requester, Parent::Step(step as u32), schedule);
    }

    fn step_done(&mut self, job: usize, step: u32, now: SimTime, schedule: &mut Schedule<Event>) {
        let j = &mut self.jobs[job];
        j.steps_left -= 1;
        if j.steps_left == 0 {
            self.end_job(job, true, now, schedule);
            return;
        }
        let serial = j.serial;
        let workflow = j.workflow.index();
        for i in 0..self.layout.workflows[workflow].successors[step as usize].len() {
            let next = self.layout.workflows[workflow].successors[step as usize][i];
            let Some(j) = self.jobs.get_mut(job).filter(|j| j.serial == serial) else { return };
            j.waiting[next] -= 1;
            if j.waiting[next] == 0 {
                self.dispatch_step(job, next, schedule);
            }
        }
    }

    fn end_job(
        &mut self,
        job: usize,
        completed: bool,
        now: SimTime,
        schedule: &mut Schedule<Event>,
    ) {
        let job = self.jobs.remove(job);
        if job.measured {
            if completed {
                self.recorder.job_completed(now - job.arrived);
            } else {
                self.recorder.job_failed();
            }
        }
        self.observer.job_ended(now, completed);
        if let Some((source, client)) = job.client {
            let think = self.sources[source as usize].think();
            schedule.after(think, Event::JobArrived { source, client });
        }
        self.spare.push((job.work, job.waiting));
    }

    // ---- units and attempts ---------------------------------------------------------------

    /// Places one unit of a job through the policy and hands it to the chosen replica.
    fn place(
        &mut self,
        job: usize,
        unit: u32,
        requester: Agent,
        parent: Parent,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let j = &self.jobs[job];
        let service = self.layout.workflows[j.workflow.index()].units[unit as usize].service;
        let agent = match requester {
            Agent::Orchestrator(o) => AgentId(o.0),
            Agent::Replica(r) => self.layout.replica_agent(r),
        };
        let view = PolicyView::new(now, &self.layout.service_replicas, &self.loads);
        match self.policy.place(&view, &Task { agent, service }) {
            Decision::Place(replica) => {
                debug_assert_eq!(
                    self.layout.replica_service[replica.index()],
                    service,
                    "placed on another service"
                );
                let speed = self.scenario.services[service.index()].speed;
                let attempt = self.attempts.insert(Attempt {
                    job,
                    job_serial: j.serial,
                    workflow: j.workflow,
                    unit,
                    parent,
                    requester,
                    replica,
                    placed: now,
                    execution: j.work[unit as usize].mul_f64(1.0 / speed),
                    stage: 0,
                    pending_calls: 0,
                    call_failed: false,
                });
                self.send(requester, Agent::Replica(replica), Body::Assign { attempt }, schedule);
            }
            Decision::Reject => self.unit_failed_unplaced(job, parent, now, schedule),
        }
    }

    /// The policy refused a unit: its parent learns at once that it failed.
    fn unit_failed_unplaced(
        &mut self,
        job: usize,
        parent: Parent,
        now: SimTime,
        schedule: &mut Schedule<Event>,
    ) {
        match parent {
            Parent::Step(_) => self.end_job(job, false, now, schedule),
            Parent::Call(caller) => self.call_answered(caller, false, schedule),
        }
    }

    /// A hand-off reached its replica: run it, queue it, or refuse it.
    fn admit(&mut self, attempt: usize, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let load = self.loads[replica.index()];
        let capacity = self.scenario.services[self.layout.replica_service[replica.index()].index()]
            .queue_capacity;
        if load.running < load.slots {
            self.start(attempt, replica, false, schedule);
        } else if load.queued < capacity {
            self.queues[replica.index()].push_back(attempt);
            self.loads[replica.index()].queued += 1;
            self.observer.attempt_queued(now, replica, self.loads[replica.index()], capacity);
        } else {
            self.observer.attempt_rejected(now, replica);
            let requester = self.attempts[attempt].requester;
            self.send(
                Agent::Replica(replica),
                requester,
                Body::Result { attempt, succeeded: false },
                schedule,
            );
        }
    }

    fn start(
        &mut self,
        attempt: usize,
        replica: ReplicaId,
        from_queue: bool,
        schedule: &mut Schedule<Event>,
    ) {
        self.loads[replica.index()].running += 1;
        self.observer.attempt_started(
            schedule.now(),
            replica,
            self.loads[replica.index()],
            from_queue,
        );
        schedule.after(self.attempts[attempt].execution, Event::WorkFinished(attempt as u32));
    }

    /// Makes the calls of stage `stage` of an attempt's unit, in parallel.
    fn begin_stage(&mut self, attempt: usize, stage: u32, schedule: &mut Schedule<Event>) {
        let a = &mut self.attempts[attempt];
        let (job, serial, workflow, unit, replica) =
            (a.job, a.job_serial, a.workflow, a.unit, a.replica);
        let calls = self.layout.workflows[workflow.index()].units[unit as usize].stages
            [stage as usize]
            .len();
        a.stage = stage;
        // Set before placing: a call refused at once answers within this loop.
        a.pending_calls = calls as u32;
        for i in 0..calls {
            let callee = self.layout.workflows[workflow.index()].units[unit as usize].stages
                [stage as usize][i];
            if self.jobs.get(job).is_some_and(|j| j.serial == serial) {
                self.place(job, callee, Agent::Replica(replica), Parent::Call(attempt), schedule);
            } else {
                // The job already failed: calls of orphaned work fail without being placed.
                self.call_answered(attempt, false, schedule);
            }
        }
    }

    /// One call of an attempt's current stage answered.
    fn call_answered(&mut self, attempt: usize, succeeded: bool, schedule: &mut Schedule<Event>) {
        let a = &mut self.attempts[attempt];
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

    /// An attempt is done on its replica: free the slot and report to the requester.
    fn finish_attempt(&mut self, attempt: usize, succeeded: bool, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let (replica, requester) =
            (self.attempts[attempt].replica, self.attempts[attempt].requester);
        self.loads[replica.index()].running -= 1;
        self.observer.attempt_finished(now, replica, self.loads[replica.index()]);
        if let Some(next) = self.queues[replica.index()].pop_front() {
            self.loads[replica.index()].queued -= 1;
            self.start(next, replica, true, schedule);
        }
        self.send(
            Agent::Replica(replica),
            requester,
            Body::Result { attempt, succeeded },
            schedule,
        );
    }

    /// A result reached the agent that placed the attempt.
    fn on_result(&mut self, attempt: usize, succeeded: bool, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let a = self.attempts.remove(attempt);
        let agent = match a.requester {
            Agent::Orchestrator(o) => AgentId(o.0),
            Agent::Replica(r) => self.layout.replica_agent(r),
        };
        let outcome = Outcome { agent, replica: a.replica, succeeded, latency: now - a.placed };
        let view = PolicyView::new(now, &self.layout.service_replicas, &self.loads);
        self.policy.on_outcome(&view, &outcome);
        match a.parent {
            Parent::Call(caller) => self.call_answered(caller, succeeded, schedule),
            Parent::Step(step) => {
                let alive = self.jobs.get(a.job).is_some_and(|j| j.serial == a.job_serial);
                if !alive {
                    // The job already ended (deadline or another step failed): discard.
                } else if succeeded {
                    self.step_done(a.job, step, now, schedule);
                } else {
                    self.end_job(a.job, false, now, schedule);
                }
            }
        }
    }

    // ---- network --------------------------------------------------------------------------

    /// The network class of an agent: orchestrators, or the service of a replica.
    fn agent_class(&self, agent: Agent) -> usize {
        match agent {
            Agent::Orchestrator(_) => network::ORCHESTRATORS,
            Agent::Replica(r) => 1 + self.layout.replica_service[r.index()].index(),
        }
    }

    /// Sends a message: counts it, maybe loses it, and delivers it after the link's latency
    /// (within this event when the link is instant).
    fn send(&mut self, from: Agent, to: Agent, body: Body, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        self.recorder.message_sent(now);
        let link = self.links.between(self.agent_class(from), self.agent_class(to));
        let message = Message { from, to, sent: now, body };
        if link.instant {
            self.deliver(message, schedule);
            return;
        }
        if link.loss > 0.0 && self.network_rng.random::<f64>() < link.loss {
            self.observer.message_lost(now);
            return;
        }
        let latency = link.latency.sample(&mut self.network_rng);
        let key = self.messages.insert(message);
        schedule.after(latency, Event::MessageDelivered(key as u32));
    }

    fn deliver(&mut self, message: Message, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let link = self.links.between(self.agent_class(message.from), self.agent_class(message.to));
        self.observer.message_delivered(message.sent, now, link.latency.min());
        match (message.to, message.body) {
            (Agent::Replica(replica), Body::Assign { attempt }) => {
                self.admit(attempt, replica, schedule)
            }
            (_, Body::Result { attempt, succeeded }) => {
                self.on_result(attempt, succeeded, schedule)
            }
            (to, body) => unreachable!("message {body:?} cannot be addressed to {to:?}"),
        }
    }
}

impl<O: Observer> Model for World<'_, '_, O> {
    type Event = Event;

    fn handle(&mut self, event: Event, schedule: &mut Schedule<Event>) {
        match event {
            Event::JobArrived { source, client } => self.on_job_arrived(source, client, schedule),
            Event::MessageDelivered(key) => self.on_message_delivered(key, schedule),
            Event::WorkFinished(attempt) => self.on_work_finished(attempt, schedule),
            Event::DeadlinePassed { job, serial } => {
                let now = schedule.now();
                self.on_deadline_passed(job, serial, now, schedule)
            }
        }
    }
}
