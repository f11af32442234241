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
//! Around that, the requester of each unit applies its resilience settings (timeouts,
//! retries with backoff, hedges, cancels, circuit breakers, outlier ejection: a unit is a
//! *task*, each try of it an *attempt*), and the fault timeline crashes and slows replicas,
//! partitions groups and drops messages. The first attempt whose result is used is useful;
//! the others are duplicates, accounted by source.
//!
//! A message whose link has zero latency and no loss is delivered within the event that sent
//! it, so a zero-latency network adds no events. The world owns the mechanics; it never
//! decides where work goes.

mod event;
mod faults;
mod lanes;
mod layout;
mod network;
mod observe;
mod records;
mod resilience;
mod traffic;

use std::cell::RefCell;
use std::collections::VecDeque;

use rand::Rng;
use slab::Slab;

pub use observe::{NoObserver, Observer};

use crate::engine::{derive_stream, Engine, Model, Schedule, SimRng};
use crate::ids::{AgentId, ClassId, OrchestratorId, ReplicaId, ServiceId, WorkflowId};
use crate::metrics::{DupSource, Recorder, RunSummary};
use crate::policy::{
    self, AuditRecord, Command, Decision, Delivery, Endpoint, MessageKind, Outbox, Outcome, Policy,
    PolicySpec, PolicyView, ReplicaLoad, Task as PolicyTask, Ticket, Topology,
};
use crate::scenario::{FaultEffect, Hedge, Resilience, Scenario};
use crate::time::{SimDuration, SimTime};
use event::{Event, NO_CLIENT};
use faults::Instance;
use lanes::TimerLanes;
use layout::Layout;
use network::Links;
use records::Records;
use resilience::{BreakerState, Ejections, LatencyWindow, RetryBudget};
use traffic::{Source, Start};

/// Low bits of a [`Ticket`] that hold the pending placement's serial number (the slab key
/// is above them).
const TICKET_SERIAL_BITS: u32 = 40;

/// The policy's view of the world, able to act through the world's outbox. A macro rather
/// than a method so that it borrows only the fields it reads, leaving `self.policy` free.
macro_rules! acting_view {
    ($world:expr, $now:expr) => {
        PolicyView::new($now, &$world.layout.service_replicas, &$world.loads)
            .with_down(&$world.down)
            .with_health(&$world.control_down, &$world.slowdown)
            .with_outbox(&$world.outbox)
    };
}

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
    /// Backoff jitter of retries.
    Resilience,
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
            StreamId::Resilience => (7, 0),
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

/// Runs one replication of `scenario` under a policy built by `build`, which receives the
/// world's topology and the policy's own random stream. This is how a policy written outside
/// this crate runs (see `examples/custom_policy.rs`): nothing in the engine changes.
pub fn run_with_policy(
    scenario: &Scenario,
    build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
    replication: u32,
) -> RunSummary {
    drive(World::new(scenario, build, replication, &mut NoObserver))
}

/// Like [`run`], also returning the audit log: one record per decision (at most `limit`),
/// explained by the policy (options with their estimates, the choice and the reason).
pub fn run_audited(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
    limit: usize,
) -> (RunSummary, Vec<AuditRecord>) {
    let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
    let mut observer = NoObserver;
    let mut world = World::new(scenario, build, replication, &mut observer);
    world.outbox = Outbox::new(true);
    world.audit_limit = limit;
    drive_audited(world)
}

/// Like [`run`], reporting every mechanical step to `observer`.
pub fn run_observed<O: Observer>(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
    observer: &mut O,
) -> RunSummary {
    let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
    drive(World::new(scenario, build, replication, observer))
}

/// Seeds a world's first events, drains the engine to the end of the run, and summarises.
fn drive<O: Observer>(world: World<'_, '_, O>) -> RunSummary {
    drive_audited(world).0
}

fn drive_audited<O: Observer>(mut world: World<'_, '_, O>) -> (RunSummary, Vec<AuditRecord>) {
    let scenario = world.scenario;
    world.policy_wants_outcomes = world.policy.wants_outcomes();
    world.handoff_kind = world.policy.handoff_kind();
    world.reauctions = world.policy.retries_are_reauctions();
    world.world_audits = world.policy.world_audits();
    world.force_tasks = world.policy.needs_tasks();
    let mut engine = Engine::with_capacity(world, 1024);
    {
        let (world, schedule) = engine.parts();
        world.seed_events(schedule);
    }
    let end = SimTime::ZERO + scenario.duration;
    let stats = engine.run_until(end);
    let mut world = engine.into_model();
    world.observer.run_ended(stats.now, &world.loads, world.jobs.len());
    let in_flight = world.jobs.iter().filter(|(_, job)| job.measured).count() as u64;
    let records = world
        .faults
        .iter()
        .filter(|f| f.started)
        .map(|f| f.record(scenario, &world.layout.service_replicas, end))
        .collect();
    let audit = std::mem::take(&mut world.audit_log);
    (world.recorder.finish(stats, in_flight, records), audit)
}

/// How long `work` takes on a replica of `speed` (the common speed 1 costs no division).
#[inline]
fn execution_time(work: SimDuration, speed: f64) -> SimDuration {
    if speed == 1.0 {
        work
    } else {
        work.mul_f64(1.0 / speed)
    }
}

/// Who sends and receives messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agent {
    Orchestrator(OrchestratorId),
    Replica(ReplicaId),
    /// A control agent of the policy (see [`Endpoint::Control`]).
    Control(u32),
}

/// What a message says. Attempts are named by slab key and serial number.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// "Execute this attempt", to a replica.
    Assign { attempt: usize, serial: u64 },
    /// "This attempt is done (or failed)", back to whoever placed it.
    Result { attempt: usize, serial: u64, succeeded: bool },
    /// "Stop this attempt", from the requester to the replica.
    Cancel { attempt: usize, serial: u64 },
    /// One of the policy's own messages; only the policy reads its content.
    Policy { kind: MessageKind, token: u64 },
}

#[derive(Debug)]
struct Message {
    from: Agent,
    to: Agent,
    sent: SimTime,
    body: Body,
}

/// What a timer does when it goes off; serials identify the objects it was set for.
#[derive(Clone, Copy, Debug)]
enum Timer {
    /// A job's deadline passed.
    Deadline { job: usize, serial: u64 },
    /// The requester stops waiting for an attempt.
    AttemptTimeout { attempt: usize, serial: u64 },
    /// A task's backoff ended: place a retry.
    Retry { task: usize, serial: u64 },
    /// A task's first attempt has been out for the hedging delay.
    Hedge { task: usize, serial: u64 },
    /// A timer the policy set.
    Policy { token: u64 },
}

/// A placement the policy deferred, with what is needed to carry it out later.
#[derive(Clone, Copy, Debug)]
struct Pending {
    serial: u64,
    since: SimTime,
    /// The job it belongs to (key and serial).
    job: usize,
    job_serial: u64,
    what: Deferred,
}

#[derive(Clone, Copy, Debug)]
enum Deferred {
    /// A unit without a task record (see `place_plain`).
    Plain(PlainUnit),
    /// An attempt of a task.
    Attempt { task: usize, task_serial: u64, kind: Kind },
}

/// A unit to be executed once, without a task record (see `place_plain`): whose it is, and
/// who waits for it.
#[derive(Clone, Copy, Debug)]
struct PlainUnit {
    job: usize,
    job_serial: u64,
    workflow: WorkflowId,
    unit: u32,
    parent: Parent,
    requester: Agent,
}

/// A job in the system.
#[derive(Debug)]
struct Job {
    serial: u64,
    class: ClassId,
    workflow: WorkflowId,
    arrived: SimTime,
    /// Whether it arrived after the warm-up and so counts in the figures.
    measured: bool,
    agent: OrchestratorId,
    /// The closed-loop user that sent it: (source, user).
    client: Option<(u16, u32)>,
    /// Work sizes of its units and what its steps wait for.
    plan: JobPlan,
    steps_left: u32,
    /// Steps (by index, below 64) that need a human review, and reviews that will reject.
    review: u64,
    reject: u64,
    /// Its placements the policy deferred and has not decided yet.
    deferred: u32,
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
        }
    }
}

/// A job's per-unit work sizes (see `layout.rs`) and, for each step, the predecessors not yet
/// completed. A workflow of one unit (and so one step) keeps its work size inline: most jobs
/// of simple scenarios carry no vector at all.
#[derive(Debug)]
enum JobPlan {
    Single(SimDuration),
    Many { work: Vec<SimDuration>, waiting: Vec<u32> },
}

impl JobPlan {
    fn work(&self, unit: u32) -> SimDuration {
        match self {
            JobPlan::Single(work) => *work,
            JobPlan::Many { work, .. } => work[unit as usize],
        }
    }

    /// Whether every predecessor of `step` has completed.
    fn ready(&self, step: usize) -> bool {
        match self {
            JobPlan::Single(_) => true,
            JobPlan::Many { waiting, .. } => waiting[step] == 0,
        }
    }
}

/// Who is waiting for a task's outcome.
#[derive(Clone, Copy, Debug)]
enum Parent {
    /// An orchestrator, for this step of the job.
    Step(u32),
    /// An orchestrator, for the human review of this step.
    Review(u32),
    /// An orchestrator, for the human take-over of this failed step.
    Escalation(u32),
    /// A replica executing this attempt, which made the call.
    Call { attempt: usize, serial: u64 },
}

/// Why an attempt exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Original,
    Retry,
    Hedge,
    /// A retry of a task placed by auction: a new auction.
    Reauction,
    /// A further claim of a task already claimed elsewhere.
    Claim,
}

impl Kind {
    fn dup_source(self) -> DupSource {
        match self {
            Kind::Hedge => DupSource::Hedge,
            Kind::Reauction => DupSource::Reauction,
            Kind::Claim => DupSource::ConflictingClaim,
            Kind::Original | Kind::Retry => DupSource::TimeoutRetry,
        }
    }
}

/// One unit of a job requested by one agent, tried by one or more attempts.
#[derive(Debug)]
struct Task {
    serial: u64,
    job: usize,
    job_serial: u64,
    workflow: WorkflowId,
    unit: u32,
    parent: Parent,
    requester: Agent,
    first_placed: SimTime,
    /// Attempts whose requester is still waiting.
    live: u32,
    /// Attempts not yet removed (either side still open).
    open: u32,
    retries: u32,
    hedged: bool,
    retry_pending: bool,
    /// `Some(true)` once an attempt succeeded, `Some(false)` once the task failed for good.
    outcome: Option<bool>,
    winner_kind: Option<Kind>,
    /// Service time of the original attempt, held until the task's outcome says whether it
    /// was useful.
    held_original: Option<SimDuration>,
    /// Its attempts (key, serial), for cancelling losers.
    attempts: Vec<(usize, u64)>,
    /// The ticket its deferred placement was committed under, when the policy may claim it
    /// again (see `Policy::needs_tasks`).
    ticket: Option<Ticket>,
}

/// Where an attempt is on its replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
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

/// One execution of one unit on one replica.
#[derive(Debug)]
struct Attempt {
    serial: u64,
    /// The task it is an attempt of, or `None` for a unit without any client-side mechanism
    /// (no timeout, retry, hedge, cancel, breaker or ejection): such a unit has exactly one
    /// attempt, so it needs no task record (the hot path of plain scenarios).
    task: Option<usize>,
    task_serial: u64,
    job: usize,
    job_serial: u64,
    workflow: WorkflowId,
    unit: u32,
    parent: Parent,
    requester: Agent,
    kind: Kind,
    replica: ReplicaId,
    placed: SimTime,
    /// When the requester gives up (placement + timeout), for servers that drop expired work.
    expires: Option<SimTime>,
    /// Execution time of the unit's own work on this replica, before any slowdown.
    execution: SimDuration,
    started: SimTime,
    /// Execution time after slowdown, fixed when it started.
    working_for: SimDuration,
    phase: Phase,
    requester_open: bool,
    winner: bool,
    stage: u32,
    pending_calls: u32,
    call_failed: bool,
    executed: SimDuration,
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
    fn sent(
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
            executed: SimDuration::ZERO,
        }
    }
}

/// The state of one run.
struct World<'s, 'o, O: Observer> {
    scenario: &'s Scenario,
    layout: Layout,
    links: Links,
    loads: Vec<ReplicaLoad>,
    queues: Vec<VecDeque<usize>>,
    /// Attempts holding a slot on each replica (working or calling), kept only when a crash
    /// can happen (`track_running`): a crash must find them.
    running: Vec<Vec<usize>>,
    track_running: bool,
    jobs: Records<Job>,
    tasks: Slab<Task>,
    attempts: Records<Attempt>,
    messages: Slab<Message>,
    timers: Slab<Timer>,
    /// Timers of constant delay (deadlines, timeouts, fixed hedges), outside the event set.
    lanes: TimerLanes<Timer>,
    /// Off only in the test that checks that lanes change no figure.
    lanes_enabled: bool,
    pending: Slab<Pending>,
    policy: Box<dyn Policy>,
    policy_wants_outcomes: bool,
    /// Commands the policy issued in its current call (see `policy/messaging.rs`).
    outbox: RefCell<Outbox>,
    spare_commands: Vec<Command>,
    audit_log: Vec<AuditRecord>,
    audit_limit: usize,
    handoff_kind: MessageKind,
    reauctions: bool,
    world_audits: bool,
    /// Every unit gets a task record, so that the policy can claim it more than once.
    force_tasks: bool,
    /// Tasks whose deferred placement was committed, by ticket, while the policy may still
    /// claim or withdraw them.
    claimed: std::collections::BTreeMap<Ticket, (usize, u64)>,
    sources: Vec<Source>,
    content_rng: SimRng,
    network_rng: SimRng,
    resilience_rng: SimRng,
    next_orchestrator: u32,
    next_serial: u64,
    /// Per-job and per-task vectors of finished ones, reused so that steady state allocates
    /// nothing.
    spare_jobs: Vec<(Vec<SimDuration>, Vec<u32>)>,
    spare_attempt_lists: Vec<Vec<(usize, u64)>>,
    // Faults.
    faults: Vec<Instance>,
    active_faults: Vec<usize>,
    down: Vec<u32>,
    /// Active crashes of each orchestrator.
    orchestrator_down: Vec<u32>,
    /// Active crashes of each control agent of the policy (scheduler, standby).
    control_down: Vec<u32>,
    slowdown: Vec<f64>,
    /// For each network class (see `network.rs`), the groups it belongs to, as a bit set.
    class_groups: Vec<u64>,
    // Client-side resilience state.
    breakers: Vec<BreakerState>,
    ejections: Ejections,
    budgets: Vec<RetryBudget>,
    latencies: Vec<LatencyWindow>,
    excluded: Vec<bool>,
    recorder: Recorder,
    observer: &'o mut O,
}

// A note on `#[inline(always)]` below: it marks the steps every job of a plain scenario goes
// through (dispatch, decide, place, send and receive, finish, report, free a slot, end the
// job) and the early exit of `remove_attempt_if_done`. Left to itself the compiler keeps them
// as calls with large frames. Forcing these thirteen takes about 15% off the instructions of
// an M/M/c job (callgrind) and changes no output. Forcing others measured worse, each tried
// alone: `admit` +4%, `start` +0.4%, `execute` and `on_message_delivered` (auction) +1%;
// `step_done` gained 0.1%, not worth its code size.
impl<'s, 'o, O: Observer> World<'s, 'o, O> {
    fn new(
        scenario: &'s Scenario,
        build_policy: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
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
        let replicas = loads.len();
        let topology = Topology {
            agents: layout.agents(),
            orchestrators: scenario.orchestrators,
            service_replicas: layout.service_replicas.clone(),
            slots: loads.iter().map(|l| l.slots).collect(),
            speeds: layout
                .replica_service
                .iter()
                .map(|s| scenario.services[s.index()].speed)
                .collect(),
        };
        let services = scenario.services.len();
        let agent_services = layout.agents() as usize * services;
        let mut class_groups = vec![0u64; services + 1];
        for (g, group) in scenario.network.groups.iter().enumerate() {
            if group.orchestrators {
                class_groups[network::ORCHESTRATORS] |= 1 << g;
            }
            for s in &group.services {
                class_groups[1 + s.index()] |= 1 << g;
            }
        }
        World {
            scenario,
            links: Links::new(&scenario.network, services),
            queues: (0..replicas).map(|_| VecDeque::new()).collect(),
            running: (0..replicas).map(|_| Vec::new()).collect(),
            track_running: scenario
                .faults
                .iter()
                .any(|f| matches!(f.effect, FaultEffect::Crash { .. })),
            loads,
            jobs: Records::default(),
            tasks: Slab::new(),
            attempts: Records::default(),
            messages: Slab::new(),
            timers: Slab::new(),
            lanes: TimerLanes::new(),
            lanes_enabled: true,
            pending: Slab::new(),
            outbox: Outbox::new(false),
            spare_commands: Vec::new(),
            audit_log: Vec::new(),
            audit_limit: 0,
            handoff_kind: MessageKind::Assign,
            reauctions: false,
            world_audits: true,
            force_tasks: false,
            claimed: std::collections::BTreeMap::new(),
            policy_wants_outcomes: true,
            policy: build_policy(&topology, StreamId::Policy.rng(seed, replication)),
            sources: Source::all(scenario, replication),
            content_rng: StreamId::JobContent.rng(seed, replication),
            network_rng: StreamId::Network.rng(seed, replication),
            resilience_rng: StreamId::Resilience.rng(seed, replication),
            next_orchestrator: 0,
            next_serial: 0,
            spare_jobs: Vec::new(),
            spare_attempt_lists: Vec::new(),
            faults: faults::timeline(scenario, replication, &layout.service_replicas),
            active_faults: Vec::new(),
            down: vec![0; replicas],
            orchestrator_down: vec![0; scenario.orchestrators as usize],
            control_down: vec![0; 2],
            slowdown: vec![1.0; replicas],
            class_groups,
            breakers: vec![BreakerState::default(); agent_services],
            ejections: Ejections::default(),
            budgets: vec![RetryBudget::default(); agent_services],
            latencies: (0..services).map(|_| LatencyWindow::default()).collect(),
            excluded: vec![false; replicas],
            recorder: Recorder::for_scenario(scenario),
            observer,
            layout,
        }
    }

    fn set_timer(&mut self, delay: SimDuration, timer: Timer, schedule: &mut Schedule<Event>) {
        let key = self.timers.insert(timer);
        schedule.after(delay, Event::TimerFired(key as u32));
    }

    /// Sets a timer whose delay is the same for every timer of its kind and setting, so that
    /// it goes to the lane of that delay (see `lanes.rs`).
    fn set_lane_timer(&mut self, delay: SimDuration, timer: Timer, schedule: &mut Schedule<Event>) {
        if !self.lanes_enabled {
            self.set_timer(delay, timer, schedule);
            return;
        }
        let lane = self.lanes.lane(delay);
        let seq = schedule.reserve();
        let due = schedule.now() + delay;
        if self.lanes.push(lane, due, seq, timer) {
            schedule.at_reserved(due, seq, Event::LaneDue(lane));
        }
    }

    /// A lane's earliest timer is due: it goes off, then the lane is armed for the next
    /// timer that can still do something.
    fn on_lane_due(&mut self, lane: u32, schedule: &mut Schedule<Event>) {
        let timer = self.lanes.fire(lane, schedule.now());
        self.on_timer(timer, schedule);
        while let Some(timer) = self.lanes.head(lane) {
            if !self.timer_is_spent(timer) {
                break;
            }
            self.lanes.drop_head(lane);
        }
        if let Some((due, seq)) = self.lanes.arm(lane) {
            schedule.at_reserved(due, seq, Event::LaneDue(lane));
        }
    }

    /// Whether a timer can no longer do anything when it goes off, whatever happens until
    /// then: its job ended, its attempt was answered or given up, its task was decided.
    /// (Only what cannot change back counts.)
    fn timer_is_spent(&self, timer: Timer) -> bool {
        match timer {
            Timer::Deadline { job, serial } => !self.job_alive(job, serial),
            Timer::AttemptTimeout { attempt, serial } => {
                self.attempt(attempt, serial).is_none_or(|a| !a.requester_open)
            }
            Timer::Hedge { task, serial } => {
                self.task_by(task, serial).is_none_or(|t| t.outcome.is_some() || t.hedged)
            }
            Timer::Retry { .. } | Timer::Policy { .. } => false,
        }
    }

    fn on_timer(&mut self, timer: Timer, schedule: &mut Schedule<Event>) {
        match timer {
            Timer::Deadline { job, serial } => self.on_deadline_passed(job, serial, schedule),
            Timer::AttemptTimeout { attempt, serial } => {
                self.on_attempt_timed_out(attempt, serial, schedule)
            }
            Timer::Retry { task, serial } => self.on_retry_due(task, serial, schedule),
            Timer::Hedge { task, serial } => self.on_hedge_due(task, serial, schedule),
            Timer::Policy { token } => {
                let view = acting_view!(self, schedule.now());
                self.policy.on_timer(&view, token);
                self.apply_outbox(schedule);
            }
        }
    }

    fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// Seeds the first events: arrivals, the fault timeline, human shifts, and whatever the
    /// policy starts with (its first heartbeats or gossip rounds).
    fn seed_events(&mut self, schedule: &mut Schedule<Event>) {
        let view = acting_view!(self, SimTime::ZERO);
        self.policy.start(&view);
        self.apply_outbox(schedule);
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
        for (i, fault) in self.faults.iter().enumerate() {
            schedule.at(fault.start, Event::FaultStarted(i as u32));
            schedule.at(fault.end, Event::FaultEnded(i as u32));
        }
        for (s, service) in self.scenario.services.iter().enumerate() {
            if let Some(hours) = service.working_hours {
                schedule.at(hours.next_start(SimTime::ZERO), Event::ShiftStarted(s as u32));
            }
        }
    }

    fn agent_id(&self, agent: Agent) -> AgentId {
        match agent {
            Agent::Orchestrator(o) => AgentId(o.0),
            Agent::Replica(r) => self.layout.replica_agent(r),
            Agent::Control(_) => unreachable!("control agents place no tasks"),
        }
    }

    /// How a policy names an agent.
    fn endpoint(&self, agent: Agent) -> Endpoint {
        match agent {
            Agent::Control(c) => Endpoint::Control(c),
            other => Endpoint::Agent(self.agent_id(other)),
        }
    }

    /// The agent a policy names.
    fn agent_of(&self, endpoint: Endpoint) -> Agent {
        match endpoint {
            Endpoint::Control(c) => Agent::Control(c),
            Endpoint::Agent(a) => match a.0.checked_sub(self.scenario.orchestrators) {
                Some(r) => Agent::Replica(ReplicaId(r)),
                None => Agent::Orchestrator(OrchestratorId(a.0)),
            },
        }
    }

    /// Whether an agent is crashed.
    fn agent_down(&self, agent: Agent) -> bool {
        match agent {
            Agent::Orchestrator(o) => self.orchestrator_down[o.index()] > 0,
            Agent::Replica(r) => self.down[r.index()] > 0,
            Agent::Control(c) => self.control_down[c as usize] > 0,
        }
    }

    // ---- the policy's own actions ---------------------------------------------------------

    /// A ticket for a placement the policy may defer.
    fn next_ticket(&mut self) -> Ticket {
        let key = self.pending.vacant_key() as u64;
        let serial = self.serial() & ((1 << TICKET_SERIAL_BITS) - 1);
        Ticket((key << TICKET_SERIAL_BITS) | serial)
    }

    /// Records a deferred placement under the ticket just handed out.
    fn defer(&mut self, ticket: Ticket, what: Deferred, now: SimTime) {
        let (job, job_serial) = match what {
            Deferred::Plain(p) => (p.job, p.job_serial),
            Deferred::Attempt { task, .. } => (self.tasks[task].job, self.tasks[task].job_serial),
        };
        if let Some(j) = self.jobs.get_mut(job).filter(|j| j.serial == job_serial) {
            j.deferred += 1;
        }
        let key = self.pending.insert(Pending {
            serial: ticket.0 & ((1 << TICKET_SERIAL_BITS) - 1),
            since: now,
            job,
            job_serial,
            what,
        });
        debug_assert_eq!(key as u64, ticket.0 >> TICKET_SERIAL_BITS, "ticket key was vacant");
    }

    /// Carries out what the policy asked for during its last call, then anything those
    /// actions made it ask for, until nothing is left.
    #[inline(always)]
    fn apply_outbox(&mut self, schedule: &mut Schedule<Event>) {
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

    fn execute(&mut self, command: Command, schedule: &mut Schedule<Event>) {
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
            Command::Commit { ticket, replica } => self.commit(ticket, replica, schedule),
            Command::Claim { ticket, replica } => self.claim_again(ticket, replica, schedule),
            Command::Withdraw { ticket, replica } => self.withdraw(ticket, replica, schedule),
            Command::SchedulerWait(wait) => self.recorder.scheduler_wait(now, wait),
        }
    }

    /// A job ended while some of its placements were deferred: nobody needs them any more.
    /// The policy is told (so it stops working on them), and a caller still waiting for one
    /// of them is answered with a failure, as a commit would have been.
    fn abandon_deferred(&mut self, job: usize, job_serial: u64, schedule: &mut Schedule<Event>) {
        let keys: Vec<usize> = self
            .pending
            .iter()
            .filter(|(_, p)| p.job == job && p.job_serial == job_serial)
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            let pending = self.pending.remove(key);
            let ticket = Ticket(((key as u64) << TICKET_SERIAL_BITS) | pending.serial);
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

    /// Finishes a deferred placement.
    fn commit(
        &mut self,
        ticket: Ticket,
        replica: Option<ReplicaId>,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let key = (ticket.0 >> TICKET_SERIAL_BITS) as usize;
        let serial = ticket.0 & ((1 << TICKET_SERIAL_BITS) - 1);
        if self.pending.get(key).is_none_or(|p| p.serial != serial) {
            return;
        }
        let pending = self.pending.remove(key);
        if let Some(j) = self.jobs.get_mut(pending.job).filter(|j| j.serial == pending.job_serial) {
            j.deferred -= 1;
        }
        self.recorder.placement_wait(now, now - pending.since);
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
    fn claim_again(&mut self, ticket: Ticket, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let Some(&(task, serial)) = self.claimed.get(&ticket) else { return };
        let Some(t) = self.task_by(task, serial) else { return };
        if t.outcome.is_none() && !self.orphaned(t) {
            self.place_attempt_on(task, Kind::Claim, Decision::Place(replica), schedule);
        }
    }

    /// The requester stops waiting for a task's attempt on `replica` and tells the replica to
    /// stop it (a claim that lost).
    fn withdraw(&mut self, ticket: Ticket, replica: ReplicaId, schedule: &mut Schedule<Event>) {
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

    /// An audit record for a decision the policy made on the spot, when the policy leaves
    /// explaining to the world: the options with their load per slot, and the choice.
    fn audit_on_the_spot(&mut self, now: SimTime, task: &PolicyTask, decision: Decision) {
        if self.audit_log.len() >= self.audit_limit {
            return;
        }
        let options = self.layout.service_replicas[task.service.index()]
            .clone()
            .map(|r| {
                let load = self.loads[r as usize];
                (ReplicaId(r), f64::from(load.outstanding()) / f64::from(load.slots))
            })
            .collect();
        self.audit_log.push(AuditRecord {
            at: now,
            agent: Endpoint::Agent(task.agent),
            service: task.service,
            ticket: None,
            options,
            choice: match decision {
                Decision::Place(r) => Some(r),
                _ => None,
            },
            reason: "decided on the spot; estimates are the true requests per slot".into(),
        });
    }

    /// Asks the policy where a task goes, auditing the answer if asked to.
    #[inline(always)]
    fn decide(&mut self, now: SimTime, task: &PolicyTask, excluded: bool) -> Decision {
        let view = acting_view!(self, now);
        let view = if excluded { view.with_excluded(&self.excluded) } else { view };
        let decision = self.policy.place(&view, task);
        if self.world_audits && self.outbox.borrow().audit.is_some() && decision != Decision::Defer
        {
            self.audit_on_the_spot(now, task, decision);
        }
        decision
    }

    fn unit_resilience(&self, task: &Task) -> &Resilience {
        &self.layout.workflows[task.workflow.index()].units[task.unit as usize].resilience
    }

    fn unit_rules(&self, task: &Task) -> layout::Rules {
        self.layout.workflows[task.workflow.index()].units[task.unit as usize].rules
    }

    fn unit_service(&self, task: &Task) -> ServiceId {
        self.layout.workflows[task.workflow.index()].units[task.unit as usize].service
    }

    fn job_alive(&self, job: usize, serial: u64) -> bool {
        self.jobs.get(job).is_some_and(|j| j.serial == serial)
    }

    fn attempt(&self, key: usize, serial: u64) -> Option<&Attempt> {
        self.attempts.get(key).filter(|a| a.serial == serial)
    }

    /// Whether nobody needs a task's outcome any more: its job ended, or the calling
    /// attempt it answers to was cancelled, killed or finished meanwhile.
    fn orphaned(&self, t: &Task) -> bool {
        !self.job_alive(t.job, t.job_serial)
            || match t.parent {
                Parent::Call { attempt, serial } => {
                    self.attempt(attempt, serial).is_none_or(|a| a.phase != Phase::Calling)
                }
                _ => false,
            }
    }

    fn task_by(&self, key: usize, serial: u64) -> Option<&Task> {
        self.tasks.get(key).filter(|t| t.serial == serial)
    }

    // ---- jobs and steps -------------------------------------------------------------------

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

    fn create_job(
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
            self.recorder.job_entered(now, false);
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
        self.recorder.job_entered(now, true);
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
    fn dispatch_step(&mut self, job: usize, step: usize, schedule: &mut Schedule<Event>) {
        let unit = self.layout.workflows[self.jobs[job].workflow.index()].step_unit[step];
        self.new_task(job, unit, Parent::Step(step as u32), None, schedule);
    }

    fn step_done(&mut self, job: usize, step: u32, schedule: &mut Schedule<Event>) {
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
    fn end_job(
        &mut self,
        job: usize,
        completed: bool,
        now: SimTime,
        schedule: &mut Schedule<Event>,
    ) {
        let key = job;
        let j = &mut self.jobs[key];
        let (serial, class, arrived, measured, client, deferred) =
            (j.serial, j.class, j.arrived, j.measured, j.client, j.deferred);
        let plan = std::mem::replace(&mut j.plan, JobPlan::Single(SimDuration::ZERO));
        self.jobs.remove(key);
        if deferred > 0 {
            self.abandon_deferred(key, serial, schedule);
        }
        if measured {
            if completed {
                self.recorder.job_completed(class, now - arrived);
            } else {
                self.recorder.job_failed();
            }
        }
        self.recorder.job_left(now, completed);
        self.observer.job_left(now, serial, completed, now - arrived, measured);
        if completed {
            self.observer.job_completed_latency(now, now - arrived);
        }
        self.observer.job_ended(now, completed);
        self.next_job_of(client, schedule);
        self.recycle(plan);
    }

    /// Keeps a finished job's vectors for the next job of several units.
    #[inline(always)]
    fn recycle(&mut self, plan: JobPlan) {
        if let JobPlan::Many { work, waiting } = plan {
            self.spare_jobs.push((work, waiting));
        }
    }

    /// A closed-loop user thinks, then sends its next job.
    #[inline(always)]
    fn next_job_of(&mut self, client: Option<(u16, u32)>, schedule: &mut Schedule<Event>) {
        if let Some((source, client)) = client {
            let think = self.sources[source as usize].think();
            schedule.after(think, Event::JobArrived { source, client });
        }
    }

    fn on_deadline_passed(&mut self, job: usize, serial: u64, schedule: &mut Schedule<Event>) {
        if self.job_alive(job, serial) {
            let now = schedule.now();
            self.end_job(job, false, now, schedule);
        }
    }

    // ---- tasks: one unit requested by one agent ---------------------------------------------

    /// Creates a task for `unit` of `job` and places its first attempt. The requester is the
    /// job's orchestrator, or `caller` (the replica making the call).
    fn new_task(
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
    fn place_plain(&mut self, plain: PlainUnit, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let service =
            self.layout.workflows[plain.workflow.index()].units[plain.unit as usize].service;
        let agent = self.agent_id(plain.requester);
        let ticket = self.next_ticket();
        let decision = self.decide(now, &PolicyTask { agent, service, ticket }, false);
        if decision == Decision::Defer {
            self.defer(ticket, Deferred::Plain(plain), now);
        } else {
            self.place_plain_on(plain, decision, schedule);
        }
        self.apply_outbox(schedule);
    }

    /// Carries out the policy's decision for a unit without a task record.
    #[inline(always)]
    fn place_plain_on(
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
        let speed = self.scenario.services[service.index()].speed;
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
        self.recorder.attempt_placed(now);
        self.send(requester, Agent::Replica(replica), Body::Assign { attempt, serial }, schedule);
    }

    /// Places one attempt of a task through the policy, unless the breaker fails it fast.
    fn place_attempt(&mut self, task: usize, kind: Kind, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let t = &self.tasks[task];
        let service = self.unit_service(t);
        let agent = self.agent_id(t.requester);
        let rules = self.unit_rules(t);
        let slot = agent.index() * self.scenario.services.len() + service.index();
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
    fn place_attempt_on(
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
        let speed = self.scenario.services[service.index()].speed;
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
        self.recorder.attempt_placed(now);
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

    /// An attempt of the task failed (refused, timed out, or answered with a failure).
    fn attempt_failed(&mut self, task: usize, schedule: &mut Schedule<Event>) {
        let t = &self.tasks[task];
        if t.outcome.is_some() || t.live > 0 || t.retry_pending {
            // Decided already, or another attempt (a hedge) may still succeed.
            return;
        }
        if t.retries < self.unit_rules(t).max_retries {
            let retries = &self.unit_resilience(t).retries;
            let (budget, backoff, jitter) = (retries.budget, retries.backoff, retries.jitter);
            let slot = self.agent_id(t.requester).index() * self.scenario.services.len()
                + self.unit_service(t).index();
            let allowed = budget.is_none() || self.budgets[slot].withdraw();
            if allowed {
                let t = &mut self.tasks[task];
                t.retries += 1;
                t.retry_pending = true;
                let wait =
                    resilience::backoff(backoff, jitter, t.retries, &mut self.resilience_rng);
                let timer = Timer::Retry { task, serial: t.serial };
                self.set_timer(wait, timer, schedule);
                return;
            }
        }
        self.task_failed(task, schedule);
    }

    fn on_retry_due(&mut self, task: usize, serial: u64, schedule: &mut Schedule<Event>) {
        let Some(t) = self.task_by(task, serial) else { return };
        let orphan = self.orphaned(t);
        self.tasks[task].retry_pending = false;
        if self.tasks[task].outcome.is_some() {
            return;
        }
        if orphan {
            // The job ended meanwhile: nobody needs this work any more.
            self.task_failed(task, schedule);
        } else {
            let kind = if self.reauctions { Kind::Reauction } else { Kind::Retry };
            self.place_attempt(task, kind, schedule);
        }
    }

    fn on_hedge_due(&mut self, task: usize, serial: u64, schedule: &mut Schedule<Event>) {
        let Some(t) = self.task_by(task, serial) else { return };
        if t.outcome.is_none() && t.live == 1 && !t.hedged && !t.retry_pending && !self.orphaned(t)
        {
            self.tasks[task].hedged = true;
            self.place_attempt(task, Kind::Hedge, schedule);
        }
    }

    /// The task succeeded through `attempt`: cancel the losers and tell the parent.
    fn task_succeeded(&mut self, task: usize, attempt: usize, schedule: &mut Schedule<Event>) {
        let kind = self.attempts[attempt].kind;
        self.attempts[attempt].winner = true;
        let t = &mut self.tasks[task];
        t.outcome = Some(true);
        t.winner_kind = Some(kind);
        if let Some(held) = t.held_original.take() {
            self.recorder.execution(schedule.now(), held, Some(kind.dup_source()));
        }
        if self.unit_rules(&self.tasks[task]).cancel {
            self.cancel_losers(task, attempt, schedule);
        }
        self.notify_parent(task, true, schedule);
    }

    /// The task failed for good.
    fn task_failed(&mut self, task: usize, schedule: &mut Schedule<Event>) {
        let t = &mut self.tasks[task];
        t.outcome = Some(false);
        if let Some(held) = t.held_original.take() {
            // No result was used: the original execution is the one the request needed.
            self.recorder.execution(schedule.now(), held, None);
        }
        self.notify_parent(task, false, schedule);
    }

    /// The task is decided: the caller stops waiting for its other attempts and, with
    /// `cancel`, tells their replicas to stop.
    fn cancel_losers(&mut self, task: usize, winner: usize, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let list = std::mem::take(&mut self.tasks[task].attempts);
        for &(key, serial) in &list {
            if key == winner {
                continue;
            }
            let Some(a) = self.attempt(key, serial) else { continue };
            let (replica, phase, open, placed) = (a.replica, a.phase, a.requester_open, a.placed);
            if open {
                // The caller is done with it: no result will be waited for, and no verdict
                // (breaker, ejection) is drawn from an attempt it cancelled itself.
                self.attempts[key].requester_open = false;
                self.tasks[task].live -= 1;
                if self.policy_wants_outcomes {
                    let agent = self.agent_id(self.tasks[task].requester);
                    let view = PolicyView::new(now, &self.layout.service_replicas, &self.loads);
                    let outcome =
                        Outcome { agent, replica, succeeded: false, latency: now - placed };
                    self.policy.on_outcome(&view, &outcome);
                }
            }
            if phase == Phase::Closed {
                self.remove_attempt_if_done(key, now);
            } else {
                let requester = self.tasks[task].requester;
                self.send(
                    requester,
                    Agent::Replica(replica),
                    Body::Cancel { attempt: key, serial },
                    schedule,
                );
            }
        }
        if let Some(t) = self.tasks.get_mut(task) {
            t.attempts = list;
        }
    }

    fn notify_parent(&mut self, task: usize, succeeded: bool, schedule: &mut Schedule<Event>) {
        let t = &self.tasks[task];
        let (parent, job, job_serial, first_placed) =
            (t.parent, t.job, t.job_serial, t.first_placed);
        self.remove_task_if_done(task);
        self.resolve(parent, job, job_serial, first_placed, succeeded, schedule);
    }

    /// A unit's outcome reaches whoever needs it: a calling attempt, or the job's step logic.
    fn resolve(
        &mut self,
        parent: Parent,
        job: usize,
        job_serial: u64,
        first_placed: SimTime,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        if let Parent::Call { attempt, serial } = parent {
            self.call_answered(attempt, serial, succeeded, schedule);
            return;
        }
        if !self.job_alive(job, job_serial) {
            return;
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

    fn remove_task_if_done(&mut self, task: usize) {
        let t = &self.tasks[task];
        if t.outcome.is_some() && t.open == 0 && !t.retry_pending {
            let mut t = self.tasks.remove(task);
            if let Some(ticket) = t.ticket {
                self.claimed.remove(&ticket);
            }
            t.attempts.clear();
            self.spare_attempt_lists.push(t.attempts);
        }
    }

    // ---- attempts on replicas -------------------------------------------------------------

    /// A hand-off reached its replica: run it, queue it, or refuse it.
    fn admit(&mut self, attempt: usize, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        if self.attempts[attempt].phase == Phase::Closed {
            // Cancelled before it arrived.
            self.remove_attempt_if_done(attempt, now);
            return;
        }
        let load = self.loads[replica.index()];
        let service_id = self.layout.replica_service[replica.index()];
        self.recorder.request_arrived(now, service_id);
        let service = &self.scenario.services[service_id.index()];
        let capacity = service.queue_capacity;
        let working = service.working_hours.is_none_or(|h| h.working(now));
        if working && load.running < load.slots {
            self.start(attempt, replica, false, schedule);
        } else if load.queued < capacity {
            self.queues[replica.index()].push_back(attempt);
            self.loads[replica.index()].queued += 1;
            self.attempts[attempt].phase = Phase::Queued;
            self.recorder.load_changed(now, service_id, 0, 1);
            self.observer.attempt_queued(now, replica, self.loads[replica.index()], capacity);
        } else {
            self.observer.attempt_rejected(now, replica);
            // Read before closing: closing may remove an attempt whose requester gave up.
            let a = &self.attempts[attempt];
            let (serial, requester) = (a.serial, a.requester);
            if a.requester_open {
                self.recorder.request_ended(now, service_id, false, now - a.placed);
            }
            self.close_server(attempt, now);
            self.send(
                Agent::Replica(replica),
                requester,
                Body::Result { attempt, serial, succeeded: false },
                schedule,
            );
        }
    }

    /// Starts an attempt, or drops it if its requester has already given up and the service
    /// drops expired work. Returns whether it started.
    fn start(
        &mut self,
        attempt: usize,
        replica: ReplicaId,
        from_queue: bool,
        schedule: &mut Schedule<Event>,
    ) -> bool {
        let now = schedule.now();
        let service = self.layout.replica_service[replica.index()];
        let a = &self.attempts[attempt];
        let spec = &self.scenario.services[service.index()];
        // Work that cannot finish before its caller's deadline, even at the typical speed, is
        // work nobody will use.
        let hopeless = |expires: SimTime| {
            expires <= now + SimDuration::from_secs_f64(spec.service_time.mean_secs() / spec.speed)
        };
        if spec.drop_expired && a.expires.is_some_and(hopeless) {
            if from_queue {
                self.recorder.load_changed(now, service, 0, -1);
                self.observer.attempt_unqueued(now, replica);
            }
            if a.requester_open {
                self.recorder.request_ended(now, service, false, now - a.placed);
            }
            self.recorder.dropped_expired(now);
            self.close_server(attempt, now);
            return false;
        }
        let factor = self.slowdown[replica.index()];
        if factor != 1.0 {
            self.touch_replica_faults(replica, false);
        }
        let a = &mut self.attempts[attempt];
        a.phase = Phase::Working;
        a.started = now;
        a.working_for = a.execution.mul_f64(factor);
        schedule.after(a.working_for, Event::WorkFinished(attempt as u32));
        self.loads[replica.index()].running += 1;
        self.recorder.load_changed(now, service, 1, -i64::from(from_queue));
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
        true
    }

    /// Fills free slots of a replica from its queue (during working hours).
    #[inline(always)]
    fn start_queued(&mut self, replica: ReplicaId, schedule: &mut Schedule<Event>) {
        let service = self.layout.replica_service[replica.index()];
        if self.scenario.services[service.index()]
            .working_hours
            .is_some_and(|h| !h.working(schedule.now()))
        {
            return;
        }
        while self.loads[replica.index()].running < self.loads[replica.index()].slots {
            let Some(next) = self.queues[replica.index()].pop_front() else { break };
            self.loads[replica.index()].queued -= 1;
            self.start(next, replica, true, schedule);
        }
    }

    fn on_work_finished(&mut self, attempt: usize, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        // The slab key may have been reused since this was scheduled (the attempt was
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
        let task = a;
        let has_calls = !self.layout.workflows[task.workflow.index()].units[task.unit as usize]
            .stages
            .is_empty();
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
    fn begin_stage(&mut self, attempt: usize, stage: u32, schedule: &mut Schedule<Event>) {
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
    fn call_answered(
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
        let t = &*a;
        let stages =
            self.layout.workflows[t.workflow.index()].units[t.unit as usize].stages.len() as u32;
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
    fn release_slot(&mut self, attempt: usize, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let replica = self.attempts[attempt].replica;
        if self.track_running {
            let list = &mut self.running[replica.index()];
            if let Some(i) = list.iter().position(|&k| k == attempt) {
                list.swap_remove(i);
            }
        }
        self.loads[replica.index()].running -= 1;
        let service = self.layout.replica_service[replica.index()];
        self.recorder.load_changed(now, service, -1, 0);
        self.observer.attempt_finished(now, replica, self.loads[replica.index()]);
        self.start_queued(replica, schedule);
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
    fn finish_attempt(&mut self, attempt: usize, succeeded: bool, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        self.release_slot(attempt, schedule);
        let (replica, serial, task) = {
            let a = &self.attempts[attempt];
            if a.requester_open {
                let service = self.layout.replica_service[a.replica.index()];
                self.recorder.request_ended(now, service, succeeded, now - a.placed);
            }
            (a.replica, a.serial, a.requester)
        };
        let requester = task;
        self.close_server(attempt, now);
        self.send(
            Agent::Replica(replica),
            requester,
            Body::Result { attempt, serial, succeeded },
            schedule,
        );
    }

    /// A cancel reached the replica: drop the attempt from the queue or stop it.
    fn cancel(&mut self, attempt: usize, serial: u64, schedule: &mut Schedule<Event>) {
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
                    self.recorder.load_changed(now, service, 0, -1);
                    self.observer.attempt_unqueued(now, replica);
                }
                self.close_server(attempt, now);
            }
            Phase::Working => {
                self.attempts[attempt].executed = now - self.attempts[attempt].started;
                self.release_slot(attempt, schedule);
                self.close_server(attempt, now);
            }
            Phase::Calling => {
                self.release_slot(attempt, schedule);
                self.close_server(attempt, now);
            }
            Phase::Closed => {}
        }
    }

    /// The server side of an attempt is over; account its execution when both sides are.
    fn close_server(&mut self, attempt: usize, now: SimTime) {
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
    fn remove_attempt_if_done(&mut self, attempt: usize, now: SimTime) {
        let a = &self.attempts[attempt];
        if a.phase == Phase::Closed && !a.requester_open {
            if a.task.is_none() {
                // A unit without client-side mechanisms has one attempt: its execution is
                // useful.
                let executed = a.executed;
                self.attempts.remove(attempt);
                if executed > SimDuration::ZERO {
                    self.recorder.execution(now, executed, None);
                }
            } else {
                self.remove_attempt_of_task(attempt, now);
            }
        }
    }

    /// Removes an attempt of a task both sides are done with (see `remove_attempt_if_done`).
    fn remove_attempt_of_task(&mut self, attempt: usize, now: SimTime) {
        let a = &self.attempts[attempt];
        let (task, task_serial, executed, winner, kind) =
            (a.task.expect("an attempt of a task"), a.task_serial, a.executed, a.winner, a.kind);
        self.attempts.remove(attempt);
        let t = &mut self.tasks[task];
        debug_assert_eq!(t.serial, task_serial, "a task outlives its attempts");
        t.open -= 1;
        if executed > SimDuration::ZERO {
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
                        t.held_original = Some(executed);
                        None
                    }
                }
            };
            if let Some(duplicate) = verdict {
                self.recorder.execution(now, executed, duplicate);
            }
        }
        self.remove_task_if_done(task);
    }

    /// A result reached the requester of an attempt.
    #[inline(always)]
    fn on_result(
        &mut self,
        attempt: usize,
        serial: u64,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let Some(a) = self.attempt(attempt, serial) else { return };
        if !a.requester_open {
            // It timed out earlier: the requester has moved on.
            self.remove_attempt_if_done(attempt, now);
            return;
        }
        let (replica, latency) = (a.replica, now - a.placed);
        let Some(task) = a.task else {
            let (parent, job, job_serial, requester, placed) =
                (a.parent, a.job, a.job_serial, a.requester, a.placed);
            self.attempts[attempt].requester_open = false;
            if self.policy_wants_outcomes {
                let agent = self.agent_id(requester);
                let view = PolicyView::new(now, &self.layout.service_replicas, &self.loads);
                self.policy.on_outcome(&view, &Outcome { agent, replica, succeeded, latency });
            }
            self.remove_attempt_if_done(attempt, now);
            self.resolve(parent, job, job_serial, placed, succeeded, schedule);
            return;
        };
        self.attempts[attempt].requester_open = false;
        self.tasks[task].live -= 1;
        self.record_outcome(task, replica, succeeded, latency, now);
        if succeeded && self.tasks[task].outcome.is_none() {
            self.task_succeeded(task, attempt, schedule);
        } else if !succeeded {
            self.attempt_failed(task, schedule);
        }
        self.remove_attempt_if_done(attempt, now);
    }

    fn on_attempt_timed_out(
        &mut self,
        attempt: usize,
        serial: u64,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let Some(a) = self.attempts.get(attempt).filter(|a| a.serial == serial && a.requester_open)
        else {
            return;
        };
        let task = a.task.expect("only units with a task have timeouts");
        let (replica, full_serial, phase) = (a.replica, a.serial, a.phase);
        if phase != Phase::Closed {
            // The service has not ended it yet: it ends there now, as a failure.
            let service = self.layout.replica_service[replica.index()];
            self.recorder.request_ended(now, service, false, now - a.placed);
        }
        self.attempts[attempt].requester_open = false;
        self.tasks[task].live -= 1;
        let timeout = now - self.attempts[attempt].placed;
        self.record_outcome(task, replica, false, timeout, now);
        if self.unit_rules(&self.tasks[task]).cancel && phase != Phase::Closed {
            let requester = self.tasks[task].requester;
            self.send(
                requester,
                Agent::Replica(replica),
                Body::Cancel { attempt, serial: full_serial },
                schedule,
            );
        }
        self.attempt_failed(task, schedule);
        if self.attempts.contains(attempt) {
            self.remove_attempt_if_done(attempt, now);
        }
    }

    /// What the requester learns from an attempt's outcome: the policy, its breaker, its
    /// outlier detector and the latency it observes.
    fn record_outcome(
        &mut self,
        task: usize,
        replica: ReplicaId,
        succeeded: bool,
        latency: SimDuration,
        now: SimTime,
    ) {
        let t = &self.tasks[task];
        let agent = self.agent_id(t.requester);
        let service = self.unit_service(t);
        let rules = self.unit_rules(t);
        let unit = &self.layout.workflows[t.workflow.index()].units[t.unit as usize];
        let outcome = Outcome { agent, replica, succeeded, latency };
        let view = PolicyView::new(now, &self.layout.service_replicas, &self.loads);
        self.policy.on_outcome(&view, &outcome);
        if rules.plain {
            return;
        }
        if let Some(breaker) = &unit.resilience.circuit_breaker {
            let slot = agent.index() * self.scenario.services.len() + service.index();
            self.breakers[slot].record(now, succeeded, breaker);
        }
        if let Some(ejection) = &unit.resilience.outlier_ejection {
            let peers = self.layout.service_replicas[service.index()].clone();
            self.ejections.record((agent.0, replica.0), peers, succeeded, latency, now, ejection);
        }
        if succeeded && matches!(rules.hedge, Some(Hedge::Quantile(_))) {
            self.latencies[service.index()].push(latency);
        }
    }

    // ---- faults ---------------------------------------------------------------------------

    fn on_fault_started(&mut self, index: u32, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let i = index as usize;
        self.faults[i].started = true;
        self.active_faults.push(i);
        self.observer.fault_changed(now, index, &self.faults[i].effect, true);
        match self.faults[i].effect {
            FaultEffect::Crash { .. } => {
                for r in self.faults[i].replicas.clone() {
                    self.down[r as usize] += 1;
                    if self.down[r as usize] == 1 {
                        self.observer.replica_crashed(now, ReplicaId(r), true);
                        let lost = self.crash(ReplicaId(r), now);
                        self.faults[i].touched += lost;
                        self.tell_policy_crash(Agent::Replica(ReplicaId(r)), true, schedule);
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
            FaultEffect::ControlCrash { control } => {
                self.control_down[control as usize] += 1;
                if self.control_down[control as usize] == 1 {
                    self.tell_policy_crash(Agent::Control(control), true, schedule);
                }
            }
            FaultEffect::Slowdown { .. } => self.recompute_slowdown(i),
            FaultEffect::Partition { .. } | FaultEffect::MessageLoss { .. } => {}
        }
    }

    /// Tells the policy an agent crashed or came back (its state is the policy's to lose).
    fn tell_policy_crash(&mut self, agent: Agent, down: bool, schedule: &mut Schedule<Event>) {
        let endpoint = self.endpoint(agent);
        let view = acting_view!(self, schedule.now());
        self.policy.on_crash(&view, endpoint, down);
        self.apply_outbox(schedule);
    }

    /// Counts a message against the active crash of a control agent.
    fn touch_control_fault(&mut self, control: u32) {
        for &f in &self.active_faults {
            if self.faults[f].effect == (FaultEffect::ControlCrash { control }) {
                self.faults[f].touched += 1;
            }
        }
    }

    fn on_fault_ended(&mut self, index: u32, schedule: &mut Schedule<Event>) {
        let i = index as usize;
        self.active_faults.retain(|&f| f != i);
        self.observer.fault_changed(schedule.now(), index, &self.faults[i].effect, false);
        match self.faults[i].effect {
            FaultEffect::Crash { .. } => {
                for r in self.faults[i].replicas.clone() {
                    self.down[r as usize] -= 1;
                    if self.down[r as usize] == 0 {
                        self.observer.replica_crashed(schedule.now(), ReplicaId(r), false);
                        // Back, empty. Work may already be waiting for it? No: it was lost.
                        self.start_queued(ReplicaId(r), schedule);
                        self.tell_policy_crash(Agent::Replica(ReplicaId(r)), false, schedule);
                    }
                }
            }
            FaultEffect::AgentCrash { orchestrator } => {
                self.orchestrator_down[orchestrator as usize] -= 1;
            }
            FaultEffect::ControlCrash { control } => {
                self.control_down[control as usize] -= 1;
                if self.control_down[control as usize] == 0 {
                    self.tell_policy_crash(Agent::Control(control), false, schedule);
                }
            }
            FaultEffect::Slowdown { .. } => self.recompute_slowdown(i),
            FaultEffect::Partition { .. } | FaultEffect::MessageLoss { .. } => {}
        }
    }

    /// Counts a job or message against the active crash of an orchestrator.
    fn touch_orchestrator_fault(&mut self, orchestrator: u32) {
        for &f in &self.active_faults {
            if self.faults[f].effect == (FaultEffect::AgentCrash { orchestrator }) {
                self.faults[f].touched += 1;
            }
        }
    }

    fn recompute_slowdown(&mut self, changed: usize) {
        for r in self.faults[changed].replicas.clone() {
            let mut factor = 1.0;
            for &f in &self.active_faults {
                if let FaultEffect::Slowdown { factor: x, .. } = self.faults[f].effect {
                    if self.faults[f].replicas.contains(&r) {
                        factor *= x;
                    }
                }
            }
            self.slowdown[r as usize] = factor;
        }
    }

    /// Kills everything on a replica; returns how many attempts were lost.
    fn crash(&mut self, replica: ReplicaId, now: SimTime) -> u64 {
        let mut lost = 0;
        let service = self.layout.replica_service[replica.index()];
        let queued: Vec<usize> = self.queues[replica.index()].drain(..).collect();
        self.recorder.load_changed(now, service, 0, -(queued.len() as i64));
        for attempt in queued {
            lost += 1;
            self.observer.attempt_unqueued(now, replica);
            self.crash_ended(attempt, service, now);
            self.close_server(attempt, now);
        }
        let running = std::mem::take(&mut self.running[replica.index()]);
        let killed = running.len();
        self.recorder.load_changed(now, service, -(killed as i64), 0);
        for attempt in running {
            lost += 1;
            self.crash_ended(attempt, service, now);
            let a = &mut self.attempts[attempt];
            if a.phase == Phase::Working {
                a.executed = now - a.started;
            }
            self.close_server(attempt, now);
        }
        let slots = self.loads[replica.index()].slots;
        self.loads[replica.index()] = ReplicaLoad { running: 0, queued: 0, slots };
        for _ in 0..killed {
            self.observer.attempt_finished(now, replica, self.loads[replica.index()]);
        }
        lost
    }

    /// An attempt killed by a crash ends, failed, on its service (if its requester waits).
    fn crash_ended(&mut self, attempt: usize, service: ServiceId, now: SimTime) {
        let a = &self.attempts[attempt];
        if a.requester_open {
            self.recorder.request_ended(now, service, false, now - a.placed);
        }
    }

    /// Counts a request or message against the active crash (`crash`) or slowdown faults
    /// covering a replica.
    fn touch_replica_faults(&mut self, replica: ReplicaId, crash: bool) {
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

    fn on_shift_started(&mut self, service: u32, schedule: &mut Schedule<Event>) {
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

    // ---- network --------------------------------------------------------------------------

    /// The network class of an agent: orchestrators, or the service of a replica.
    fn agent_class(&self, agent: Agent) -> usize {
        match agent {
            // Control agents sit with the orchestrators.
            Agent::Orchestrator(_) | Agent::Control(_) => network::ORCHESTRATORS,
            Agent::Replica(r) => 1 + self.layout.replica_service[r.index()].index(),
        }
    }

    /// Whether an active partition separates two agents; counts the drop against it.
    fn partitioned(&mut self, from: usize, to: usize) -> bool {
        let (a, b) = (self.class_groups[from], self.class_groups[to]);
        for &f in &self.active_faults {
            if let FaultEffect::Partition { groups: [x, y] } = self.faults[f].effect {
                let (x, y) = (1u64 << x, 1u64 << y);
                if (a & x != 0 && b & y != 0) || (a & y != 0 && b & x != 0) {
                    self.faults[f].touched += 1;
                    return true;
                }
            }
        }
        false
    }

    /// Whether an active message-loss fault drops this message; counts it.
    fn lost_to_fault(&mut self, from: usize, to: usize) -> bool {
        let (a, b) = (self.class_groups[from], self.class_groups[to]);
        for k in 0..self.active_faults.len() {
            let f = self.active_faults[k];
            if let FaultEffect::MessageLoss { loss, groups } = self.faults[f].effect {
                let applies = groups.is_none_or(|[x, y]| {
                    let (x, y) = (1u64 << x, 1u64 << y);
                    (a & x != 0 && b & y != 0) || (a & y != 0 && b & x != 0)
                });
                if applies && self.network_rng.random::<f64>() < loss {
                    self.faults[f].touched += 1;
                    return true;
                }
            }
        }
        false
    }

    /// Sends a message: counts it, maybe loses it, and delivers it after the link's latency
    /// (within this event when the link is instant and no fault is active).
    ///
    /// A policy's own message always goes through the event queue, even over an instant
    /// link, so a protocol's steps are events of their own and never nest.
    #[inline(always)]
    fn send(&mut self, from: Agent, to: Agent, body: Body, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let kind = match body {
            Body::Assign { .. } => self.handoff_kind,
            Body::Result { .. } => MessageKind::Result,
            Body::Cancel { .. } => MessageKind::Cancel,
            Body::Policy { kind, .. } => kind,
        };
        self.recorder.message_sent(now, kind);
        let queued = matches!(body, Body::Policy { .. });
        if !queued && self.links.all_instant() && self.active_faults.is_empty() {
            // Every link is instant and nothing is broken (no agent is down without an active
            // fault): it is received now, with no lookups and no message record.
            debug_assert!(!self.agent_down(to), "an agent is down without an active fault");
            self.receive(from, to, now, body, schedule);
            return;
        }
        let (fc, tc) = (self.agent_class(from), self.agent_class(to));
        if !self.active_faults.is_empty()
            && (self.partitioned(fc, tc) || self.lost_to_fault(fc, tc))
        {
            self.message_lost(body, now);
            return;
        }
        let link = self.links.between(fc, tc);
        let message = Message { from, to, sent: now, body };
        if link.instant && !queued {
            self.deliver(message, schedule);
            return;
        }
        if link.loss > 0.0 && self.network_rng.random::<f64>() < link.loss {
            self.message_lost(body, now);
            return;
        }
        let latency = if link.instant {
            SimDuration::ZERO
        } else {
            link.latency.sample(&mut self.network_rng)
        };
        let key = self.messages.insert(message);
        schedule.after(latency, Event::MessageDelivered(key as u32));
    }

    /// A message vanished. A lost hand-off means its attempt never reaches the replica: its
    /// server side is over (the requester still waits, until its timeout).
    fn message_lost(&mut self, body: Body, now: SimTime) {
        self.observer.message_lost(now);
        if let Body::Assign { attempt, serial } = body {
            if self.attempt(attempt, serial).is_some() {
                self.close_server(attempt, now);
            }
        }
    }

    fn on_message_delivered(&mut self, key: u32, schedule: &mut Schedule<Event>) {
        let message = self.messages.remove(key as usize);
        if !self.active_faults.is_empty()
            && self.partitioned(self.agent_class(message.from), self.agent_class(message.to))
        {
            // A partition that began while the message was in flight.
            self.message_lost(message.body, schedule.now());
            return;
        }
        self.deliver(message, schedule);
    }

    fn deliver(&mut self, message: Message, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        if self.agent_down(message.to) {
            match message.to {
                Agent::Control(c) => self.touch_control_fault(c),
                Agent::Orchestrator(o) => self.touch_orchestrator_fault(o.0),
                Agent::Replica(r) => self.touch_replica_faults(r, true),
            }
            self.observer.message_lost(now);
            // A hand-off to a crashed replica is lost, and so is the attempt it carried.
            if let (Agent::Replica(_), Body::Assign { attempt, serial }) =
                (message.to, message.body)
            {
                if self.attempt(attempt, serial).is_some() {
                    self.close_server(attempt, now);
                }
            }
            return;
        }
        self.receive(message.from, message.to, message.sent, message.body, schedule);
    }

    /// A message sent at `sent` reached an agent that is up: it acts on it.
    #[inline(always)]
    fn receive(
        &mut self,
        from: Agent,
        to: Agent,
        sent: SimTime,
        body: Body,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        if O::ACTIVE {
            let link = self.links.between(self.agent_class(from), self.agent_class(to));
            self.observer.message_delivered(sent, now, link.latency.min());
        }
        match (to, body) {
            (Agent::Replica(replica), Body::Assign { attempt, serial }) => {
                if self.attempt(attempt, serial).is_some() {
                    self.admit(attempt, replica, schedule);
                }
            }
            (Agent::Replica(_), Body::Cancel { attempt, serial }) => {
                self.cancel(attempt, serial, schedule)
            }
            (_, Body::Result { attempt, serial, succeeded }) => {
                self.on_result(attempt, serial, succeeded, schedule)
            }
            (to, Body::Policy { kind, token }) => {
                let delivery = Delivery {
                    from: self.endpoint(from),
                    to: self.endpoint(to),
                    kind,
                    token,
                    sent,
                };
                let view = acting_view!(self, now);
                self.policy.on_message(&view, &delivery);
                self.apply_outbox(schedule);
            }
            (to, body) => unreachable!("message {body:?} cannot be addressed to {to:?}"),
        }
    }
}

impl<O: Observer> Model for World<'_, '_, O> {
    type Event = Event;

    #[inline(always)]
    fn handle(&mut self, event: Event, schedule: &mut Schedule<Event>) {
        match event {
            Event::JobArrived { source, client } => self.on_job_arrived(source, client, schedule),
            Event::MessageDelivered(key) => self.on_message_delivered(key, schedule),
            Event::WorkFinished(attempt) => self.on_work_finished(attempt as usize, schedule),
            Event::TimerFired(key) => {
                let timer = self.timers.remove(key as usize);
                self.on_timer(timer, schedule);
            }
            Event::LaneDue(lane) => self.on_lane_due(lane, schedule),
            Event::FaultStarted(i) => self.on_fault_started(i, schedule),
            Event::FaultEnded(i) => self.on_fault_ended(i, schedule),
            Event::ShiftStarted(s) => self.on_shift_started(s, schedule),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deadlines, timeouts with retries, a fixed hedge, message loss and a crash: every kind
    /// of laned timer, and timers that do and do not go off.
    const TIMERS: &str = r#"
duration = "30s"
warmup = "2s"
orchestrators = 2
policies = ["random", "central", "auction", "gossip"]
[network]
latency = { dist = "lognormal", mean = "0.5ms", cv = 0.5 }
loss = 0.01
[services.front]
replicas = 3
concurrency = 4
service_time = { dist = "lognormal", mean = "4ms", cv = 1.0 }
calls = [{ services = ["store"] }]
resilience = { timeout = "40ms", retries = { max = 2 }, hedge = { after = "15ms" } }
[services.store]
replicas = 4
concurrency = 2
service_time = { dist = "exponential", mean = "3ms" }
resilience = { timeout = "25ms", retries = { max = 1 } }
[classes.order]
service = "front"
deadline = "150ms"
arrival = { process = "poisson", rate = 400 }
[[faults]]
kind = "crash"
service = "store"
replica = 1
at = "10s"
duration = "5s"
"#;

    fn run_with_lanes(scenario: &Scenario, policy: PolicySpec, lanes: bool) -> RunSummary {
        let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
        let mut observer = NoObserver;
        let mut world = World::new(scenario, build, 0, &mut observer);
        world.lanes_enabled = lanes;
        drive(world)
    }

    #[test]
    fn timer_lanes_change_no_figure_only_the_events_that_did_nothing() {
        let scenario = crate::scenario::from_toml_str(TIMERS, "timers", &[]).expect("valid");
        for &policy in &scenario.policies {
            let with = run_with_lanes(&scenario, policy, true);
            let mut without = run_with_lanes(&scenario, policy, false);
            assert!(with.jobs_completed > 5_000, "{policy:?}: the run did work");
            assert!(with.jobs_failed > 0 && with.dup_executions > 0, "{policy:?}: timers mattered");
            assert!(
                with.events < without.events,
                "{policy:?}: lanes skip spent timers ({} vs {} events)",
                with.events,
                without.events
            );
            // Same figures once the engine's own counts are set aside.
            without.events = with.events;
            without.fingerprint = with.fingerprint;
            // Compared as text: figures a run cannot have (a placement wait without deferred
            // placements) are NaN, which is not equal to itself.
            assert_eq!(format!("{with:?}"), format!("{without:?}"), "{policy:?}");
        }
    }
}
