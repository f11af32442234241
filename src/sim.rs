//! The simulated microservice world: replicas with slots and bounded FIFO queues, jobs
//! entering through orchestrator agents, placement by the policy, and messages over the
//! network. It implements [`engine::Model`](crate::engine::Model); one call to [`run`]
//! builds a world from a validated scenario, drains the engine and returns the summary.
//!
//! What happens to one job (MODEL.md section 3):
//! 1. `JobArrived`: the job is created at the next orchestrator (round-robin); its work size
//!    is drawn from the job-content stream, so it is the same under every policy.
//! 2. The orchestrator asks the policy where to place the step and sends the hand-off
//!    message to that replica.
//! 3. On delivery the replica starts it if a slot is free, queues it if the queue has room,
//!    or rejects it (a failure result goes back at once).
//! 4. `ExecutionFinished` after `work / speed`: the slot passes to the head of the queue and
//!    the result travels back; on its delivery the orchestrator completes the job.
//!
//! A message whose latency is zero is delivered within the event that sent it, so a
//! zero-latency network adds no events (this is what makes the M/M/c validation cheap).
//! The world owns the mechanics; it never decides where work goes.

mod event;
mod observe;

use std::collections::VecDeque;
use std::ops::Range;

use rand::Rng;
use rand_distr::{Distribution, Exp};
use slab::Slab;

pub use observe::{NoObserver, Observer};

use crate::engine::{derive_stream, Engine, Model, Schedule, SimRng};
use crate::ids::{ClassId, OrchestratorId, ReplicaId, ServiceId};
use crate::metrics::{Recorder, RunSummary};
use crate::policy::{
    self, Decision, Outcome, Policy, PolicySpec, PolicyView, ReplicaLoad, Task, Topology,
};
use crate::scenario::{Arrival, Scenario};
use crate::time::{SimDuration, SimTime};
use event::Event;

/// The purposes that get their own random stream (MODEL.md section 2).
///
/// Each purpose draws from its own ChaCha stream, so, for example, a policy that draws more
/// random numbers never changes which jobs arrive or how large they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamId {
    /// Inter-arrival times of one job class.
    Arrivals(ClassId),
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
            StreamId::Arrivals(class) => (1, class.0),
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
        world.schedule_first_arrivals(schedule);
    }
    let stats = engine.run_until(SimTime::ZERO + scenario.duration);
    let world = engine.into_model();
    world
        .observer
        .run_ended(stats.now, &world.loads, world.jobs.len());
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
    /// "Execute this attempt", from an orchestrator to a replica.
    Assign { attempt: usize },
    /// "This attempt is done (or was refused)", from a replica back to its orchestrator.
    Result { attempt: usize, succeeded: bool },
}

#[derive(Debug)]
struct Message {
    to: Agent,
    sent: SimTime,
    body: Body,
}

/// A job in the system.
#[derive(Debug)]
struct Job {
    arrived: SimTime,
    /// Whether it arrived after the warm-up and so counts in the figures.
    measured: bool,
}

/// One try of one unit of work on one replica.
#[derive(Debug)]
struct Attempt {
    job: usize,
    agent: OrchestratorId,
    replica: ReplicaId,
    /// Execution time on this replica (work size scaled by the replica's speed).
    execution: SimDuration,
    placed: SimTime,
}

/// One class's arrival process and its own random stream.
#[derive(Debug)]
struct ArrivalSource {
    rng: SimRng,
    inter_arrival: Exp<f64>,
}

/// The state of one run.
struct World<'s, 'o, O: Observer> {
    scenario: &'s Scenario,
    service_replicas: Vec<Range<u32>>,
    replica_service: Vec<ServiceId>,
    loads: Vec<ReplicaLoad>,
    queues: Vec<VecDeque<usize>>,
    jobs: Slab<Job>,
    attempts: Slab<Attempt>,
    messages: Slab<Message>,
    policy: Box<dyn Policy>,
    arrivals: Vec<ArrivalSource>,
    content_rng: SimRng,
    network_rng: SimRng,
    next_orchestrator: u32,
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
        let mut service_replicas = Vec::with_capacity(scenario.services.len());
        let mut replica_service = Vec::new();
        let mut loads = Vec::new();
        for (index, service) in scenario.services.iter().enumerate() {
            let start = replica_service.len() as u32;
            for _ in 0..service.replicas {
                replica_service.push(ServiceId(index as u32));
                loads.push(ReplicaLoad {
                    running: 0,
                    queued: 0,
                    slots: service.concurrency,
                });
            }
            service_replicas.push(start..replica_service.len() as u32);
        }
        let topology = Topology {
            orchestrators: scenario.orchestrators,
            service_replicas: service_replicas.clone(),
        };
        let arrivals = scenario
            .classes
            .iter()
            .enumerate()
            .map(|(index, class)| {
                let Arrival::Poisson { rate } = class.arrival;
                ArrivalSource {
                    rng: StreamId::Arrivals(ClassId(index as u32)).rng(seed, replication),
                    inter_arrival: Exp::new(rate).expect("validation keeps rates finite and > 0"),
                }
            })
            .collect();
        World {
            scenario,
            queues: (0..loads.len()).map(|_| VecDeque::new()).collect(),
            service_replicas,
            replica_service,
            loads,
            jobs: Slab::new(),
            attempts: Slab::new(),
            messages: Slab::new(),
            policy: policy::build(policy, &topology, StreamId::Policy.rng(seed, replication)),
            arrivals,
            content_rng: StreamId::JobContent.rng(seed, replication),
            network_rng: StreamId::Network.rng(seed, replication),
            next_orchestrator: 0,
            recorder: Recorder::new(SimTime::ZERO + scenario.warmup),
            observer,
        }
    }

    fn schedule_first_arrivals(&mut self, schedule: &mut Schedule<Event>) {
        for class in 0..self.arrivals.len() {
            self.schedule_next_arrival(ClassId(class as u32), schedule);
        }
    }

    fn schedule_next_arrival(&mut self, class: ClassId, schedule: &mut Schedule<Event>) {
        let source = &mut self.arrivals[class.index()];
        let gap = SimDuration::from_secs_f64(source.inter_arrival.sample(&mut source.rng));
        schedule.after(gap, Event::JobArrived(class));
    }

    // ---- event handlers -------------------------------------------------------------------

    fn on_job_arrived(&mut self, class: ClassId, schedule: &mut Schedule<Event>) {
        self.schedule_next_arrival(class, schedule);
        let now = schedule.now();
        let measured = self.recorder.measures(now);
        if measured {
            self.recorder.job_arrived();
        }
        self.observer.job_arrived(now);
        let job = self.jobs.insert(Job {
            arrived: now,
            measured,
        });
        let agent = OrchestratorId(self.next_orchestrator);
        self.next_orchestrator = (self.next_orchestrator + 1) % self.scenario.orchestrators;

        let service = self.scenario.classes[class.index()].service;
        let spec = &self.scenario.services[service.index()];
        let work = spec.service_time.sample(&mut self.content_rng);
        let execution = work.mul_f64(1.0 / spec.speed);
        let task = Task { agent, service };
        let view = PolicyView::new(now, &self.service_replicas, &self.loads);
        match self.policy.place(&view, &task) {
            Decision::Place(replica) => {
                debug_assert_eq!(
                    self.replica_service[replica.index()],
                    service,
                    "placed on a replica of another service"
                );
                let attempt = self.attempts.insert(Attempt {
                    job,
                    agent,
                    replica,
                    execution,
                    placed: now,
                });
                self.send(Agent::Replica(replica), Body::Assign { attempt }, schedule);
            }
            Decision::Reject => self.end_job(job, false, now),
        }
    }

    fn on_message_delivered(&mut self, key: u32, schedule: &mut Schedule<Event>) {
        let message = self.messages.remove(key as usize);
        self.deliver(message, schedule);
    }

    fn on_execution_finished(&mut self, attempt: u32, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let attempt = attempt as usize;
        let replica = self.attempts[attempt].replica;
        self.loads[replica.index()].running -= 1;
        self.observer
            .attempt_finished(now, replica, self.loads[replica.index()]);
        if let Some(next) = self.queues[replica.index()].pop_front() {
            self.loads[replica.index()].queued -= 1;
            self.start(next, replica, true, schedule);
        }
        let agent = self.attempts[attempt].agent;
        self.send(
            Agent::Orchestrator(agent),
            Body::Result {
                attempt,
                succeeded: true,
            },
            schedule,
        );
    }

    // ---- mechanics ------------------------------------------------------------------------

    /// Sends a message: counts it, maybe loses it, and delivers it after the network latency
    /// (at once when the latency is zero).
    fn send(&mut self, to: Agent, body: Body, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        self.recorder.message_sent(now);
        let network = &self.scenario.network;
        if network.loss > 0.0 && self.network_rng.random::<f64>() < network.loss {
            self.observer.message_lost(now);
            return;
        }
        let message = Message {
            to,
            sent: now,
            body,
        };
        if network.latency.is_always_zero() {
            self.deliver(message, schedule);
        } else {
            let latency = network.latency.sample(&mut self.network_rng);
            let key = self.messages.insert(message);
            schedule.after(latency, Event::MessageDelivered(key as u32));
        }
    }

    fn deliver(&mut self, message: Message, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        self.observer
            .message_delivered(message.sent, now, self.scenario.network.latency.min());
        match (message.to, message.body) {
            (Agent::Replica(replica), Body::Assign { attempt }) => {
                self.admit(attempt, replica, schedule)
            }
            (Agent::Orchestrator(_), Body::Result { attempt, succeeded }) => {
                self.on_result(attempt, succeeded, now)
            }
            (to, body) => unreachable!("message {body:?} cannot be addressed to {to:?}"),
        }
    }

    /// A hand-off reached its replica: run it, queue it, or refuse it.
    fn admit(&mut self, attempt: usize, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let load = self.loads[replica.index()];
        let capacity =
            self.scenario.services[self.replica_service[replica.index()].index()].queue_capacity;
        if load.running < load.slots {
            self.start(attempt, replica, false, schedule);
        } else if load.queued < capacity {
            self.queues[replica.index()].push_back(attempt);
            self.loads[replica.index()].queued += 1;
            self.observer
                .attempt_queued(now, replica, self.loads[replica.index()], capacity);
        } else {
            self.observer.attempt_rejected(now, replica);
            let agent = self.attempts[attempt].agent;
            self.send(
                Agent::Orchestrator(agent),
                Body::Result {
                    attempt,
                    succeeded: false,
                },
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
        let execution = self.attempts[attempt].execution;
        schedule.after(execution, Event::ExecutionFinished(attempt as u32));
    }

    /// A result reached the orchestrator that placed the attempt.
    fn on_result(&mut self, attempt: usize, succeeded: bool, now: SimTime) {
        let attempt = self.attempts.remove(attempt);
        let outcome = Outcome {
            agent: attempt.agent,
            replica: attempt.replica,
            succeeded,
            latency: now - attempt.placed,
        };
        let view = PolicyView::new(now, &self.service_replicas, &self.loads);
        self.policy.on_outcome(&view, &outcome);
        self.end_job(attempt.job, succeeded, now);
    }

    fn end_job(&mut self, job: usize, completed: bool, now: SimTime) {
        let job = self.jobs.remove(job);
        if job.measured {
            if completed {
                self.recorder.job_completed(now - job.arrived);
            } else {
                self.recorder.job_failed();
            }
        }
        self.observer.job_ended(now, completed);
    }
}

impl<O: Observer> Model for World<'_, '_, O> {
    type Event = Event;

    fn handle(&mut self, event: Event, schedule: &mut Schedule<Event>) {
        match event {
            Event::JobArrived(class) => self.on_job_arrived(class, schedule),
            Event::MessageDelivered(key) => self.on_message_delivered(key, schedule),
            Event::ExecutionFinished(attempt) => self.on_execution_finished(attempt, schedule),
        }
    }
}
