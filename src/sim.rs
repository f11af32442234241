//! The simulated microservice world: replicas with slots and bounded FIFO queues, jobs that
//! run workflows of steps, calls between services, and messages over the network. It
//! implements [`engine::Model`](crate::engine::Model); one call to [`run`] builds a world from
//! a validated scenario, drains the engine and returns the summary.
//!
//! What happens to one job (docs/model.md section 3):
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
//!
//! The world's state (`World`), its construction and the event dispatch live here; each
//! concern has a room of its own, holding its records and its `impl World` methods:
//! `jobs.rs` (jobs and steps), `placement.rs` (asking the policy, sending hand-offs),
//! `tasks.rs` (results, timeouts and the resilience decisions around them), `replicas.rs`
//! (admission, slots, queues, calls, cancels, execution accounting), `policy_bridge.rs` (the
//! outbox, deferred placements, commits, claims, audit), `faults.rs` (what faults do),
//! `network.rs` (sending and delivering messages) and `timers.rs`. Below them sit the pieces
//! that know nothing of `World`: `event.rs`, `layout.rs`, `links.rs`, `fault_timeline.rs`,
//! `traffic.rs`, `resilience.rs`, `lanes.rs`, `records.rs` and `observe.rs`.

/// The policy's view of the world, able to act through the world's outbox. A macro rather
/// than a method so that it borrows only the fields it reads, leaving `self.policy` free.
macro_rules! acting_view {
    ($world:expr, $now:expr) => {
        PolicyView::new($now, &$world.members, &$world.loads)
            .with_down(&$world.down)
            .with_health(&$world.policy_agent_down, &$world.slowdown)
            .with_outbox(&$world.outbox)
            .with_notes(&$world.notes)
            .with_fleet(&$world.layout.replica_speed, &$world.work_left)
    };
}

mod capacity;
mod control;
mod event;
mod fault_timeline;
mod faults;
mod jobs;
mod lanes;
mod layout;
mod links;
mod monitor;
mod network;
mod observe;
mod outside;
mod placement;
mod policy_bridge;
mod probes;
mod records;
mod replicas;
mod resilience;
mod stepping;
mod streams;
mod tasks;
mod timers;
mod traffic;

use std::cell::RefCell;
use std::collections::VecDeque;

use slab::Slab;

pub use control::ControlRecord;
pub use observe::{NoObserver, Observer};
pub use outside::{ControlAsk, PlacementAsk, ReplicaFigures};
pub use stepping::{Simulation, Waiting};
pub use streams::StreamId;

use crate::control::Driver;
use crate::engine::{Engine, EngineStats, Model, Schedule, SimRng};
use crate::ids::ReplicaId;
use crate::metrics::{Recorder, RunSummary};
use crate::policy::{
    self, AuditRecord, Command, DecisionNotes, MessageKind, Outbox, Policy, PolicySpec, PolicyView,
    ReplicaLoad, Ticket, Topology,
};
use crate::scenario::{FaultEffect, Scenario};
use crate::time::{SimDuration, SimTime};
use capacity::Lifecycle;
use control::{ControlLayer, Route};
use event::{Event, NO_CLIENT};
use fault_timeline::Instance;
use jobs::Job;
use lanes::TimerLanes;
use layout::Layout;
use links::Links;
use monitor::Monitor;
use network::Message;
use policy_bridge::Pending;
use records::Records;
use replicas::{Attempt, NoiseStreams};
use resilience::{BreakerState, Ejections, LatencyWindow, RetryBudget};
use tasks::Task;
use timers::Timer;
use traffic::{Source, Start};

/// Runs one replication of `scenario` under `policy`.
pub fn run(scenario: &Scenario, policy: PolicySpec, replication: u32) -> RunSummary {
    run_observed(scenario, policy, replication, &mut NoObserver)
}

/// Runs one replication of `scenario` under a policy built by `build`, which receives the
/// world's topology and the policy's own random stream. This is how a policy written outside
/// this crate runs (see `examples/custom_policy.rs`): nothing in the engine changes. (An
/// adaptive agent's `regret` needs runs with the same policy built again, so it stays NaN.)
pub fn run_with_policy(
    scenario: &Scenario,
    build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
    replication: u32,
) -> RunSummary {
    simulate(scenario, build, replication, &mut NoObserver, None, None, None).summary
}

/// [`run_with_policy`] or [`run_driven`] (with `driver`), reporting every mechanical step
/// to `observer`: a run of code from outside the crate, observed (the sweep's runs).
pub fn run_outside_observed<'o, O: Observer>(
    scenario: &Scenario,
    build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
    replication: u32,
    observer: &'o mut O,
    driver: Option<&'o mut dyn Driver>,
) -> RunSummary {
    simulate(scenario, build, replication, observer, None, None, driver).summary
}

/// Runs one replication of `scenario` with its `external` control agents decided by
/// `driver`, one period at a time (see [`Driver`]); the policy is built by `build`, as in
/// [`run_with_policy`]. The run ends at the scenario's end, or as soon as the driver returns
/// `None` (the figures then cover the run so far and are incomplete). Without an external
/// agent the driver is never called. (`regret` stays NaN, as in [`run_with_policy`].)
pub fn run_driven(
    scenario: &Scenario,
    build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
    replication: u32,
    driver: &mut dyn Driver,
) -> RunSummary {
    simulate(scenario, build, replication, &mut NoObserver, None, None, Some(driver)).summary
}

/// What a run's audit log holds: the policy's decisions and the control agents' actions.
#[derive(Clone, Debug, Default)]
pub struct AuditLog {
    /// One record per placement decision (at most the limit asked for), explained by the
    /// policy: the options with their estimates, the choice and the reason.
    pub decisions: Vec<AuditRecord>,
    /// One record per control action (at most the limit), with what the agent saw and why
    /// it acted.
    pub actions: Vec<ControlRecord>,
}

/// Like [`run`], also returning the audit log (at most `limit` records of each kind). The
/// run is audited for its log: its `regret` is not estimated (NaN).
pub fn run_audited(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
    limit: usize,
) -> (RunSummary, AuditLog) {
    let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
    let run = simulate(scenario, build, replication, &mut NoObserver, None, Some(limit), None);
    (run.summary, AuditLog { decisions: run.decisions, actions: run.actions })
}

/// [`run_audited`] of a run of code from outside the crate: a policy built by `build`, and
/// `external` agents decided by `driver` if given.
pub fn run_audited_outside(
    scenario: &Scenario,
    build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
    replication: u32,
    limit: usize,
    driver: Option<&mut dyn Driver>,
) -> (RunSummary, AuditLog) {
    let mut observer = NoObserver;
    let driver = driver.map(|d| d as &mut dyn Driver);
    let run = simulate(scenario, build, replication, &mut observer, None, Some(limit), driver);
    (run.summary, AuditLog { decisions: run.decisions, actions: run.actions })
}

/// Runs one replication for what `observer` sees of it alone (a trace): the same run as
/// [`run_observed`], without the counterfactual runs behind `regret` (NaN here).
pub fn observe<O: Observer>(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
    observer: &mut O,
) -> RunSummary {
    let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
    simulate(scenario, build, replication, observer, None, None, None).summary
}

/// Like [`run`], reporting every mechanical step to `observer`.
pub fn run_observed<O: Observer>(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
    observer: &mut O,
) -> RunSummary {
    let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
    let mut run = simulate(scenario, build, replication, observer, None, None, None);
    estimate_regret(scenario, policy, replication, &mut run);
    run.summary
}

/// What one run yields.
struct RunOutput {
    summary: RunSummary,
    decisions: Vec<AuditRecord>,
    actions: Vec<ControlRecord>,
    /// Per adaptive agent (in scenario order), per service, the rewards it was credited.
    rewards: Vec<Vec<Vec<f64>>>,
}

/// Fills in `regret` for a run with adaptive agents: for each, the same run (same seed,
/// same workload: common random numbers) once per arm with the agent held on that arm; its
/// regret is, summed over its services, the best fixed arm's total reward minus the reward
/// it obtained. The counterfactual runs cost one run per arm and agent.
fn estimate_regret(scenario: &Scenario, policy: PolicySpec, replication: u32, run: &mut RunOutput) {
    let adaptive: Vec<(usize, usize)> = scenario
        .control
        .agents
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match &a.kind {
            crate::scenario::AgentKind::Adaptive(spec) => Some((i, spec.arms.len())),
            _ => None,
        })
        .collect();
    if adaptive.is_empty() {
        return;
    }
    let mut regret = 0.0;
    for (j, &(agent, arms)) in adaptive.iter().enumerate() {
        let obtained: Vec<f64> = run.rewards[j].iter().map(|r| r.iter().sum()).collect();
        let mut best = vec![f64::NEG_INFINITY; obtained.len()];
        for arm in 0..arms {
            let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
            let pin = Some((agent, arm));
            let fixed = simulate(scenario, build, replication, &mut NoObserver, pin, None, None);
            for (s, rewards) in fixed.rewards[j].iter().enumerate() {
                best[s] = best[s].max(rewards.iter().sum());
            }
        }
        regret += best.iter().zip(&obtained).map(|(b, o)| b - o).sum::<f64>();
    }
    run.summary.regret = regret;
}

/// Builds the world of one run and drives it. A world without control agents is its own
/// type (`C = false`), in which the control layer's hooks on the per-job path compile away;
/// `pinned` fixes one adaptive agent's arm; `audit` asks for the audit log, at most that
/// many records of each kind.
fn simulate<'o, O: Observer>(
    scenario: &Scenario,
    build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
    replication: u32,
    observer: &'o mut O,
    pinned: Option<(usize, usize)>,
    audit: Option<usize>,
    driver: Option<&'o mut dyn Driver>,
) -> RunOutput {
    fn audited<'s, 'o, O: Observer, const C: bool>(
        mut world: World<'s, 'o, O, C>,
        audit: Option<usize>,
    ) -> World<'s, 'o, O, C> {
        if let Some(limit) = audit {
            world.outbox = Outbox::new(true);
            world.audit_limit = limit;
            if let Some(control) = world.control.as_deref_mut() {
                control.audit_limit = limit;
            }
        }
        world
    }
    if scenario.control.agents.is_empty() {
        let world = World::<O, false>::new(scenario, build, replication, observer, pinned, None);
        drive(audited(world, audit))
    } else {
        let world = World::<O, true>::new(scenario, build, replication, observer, pinned, driver);
        drive(audited(world, audit))
    }
}

/// Seeds a world's first events, drains the engine to the end of the run, and summarises.
fn drive<O: Observer, const C: bool>(world: World<'_, '_, O, C>) -> RunOutput {
    let end = SimTime::ZERO + world.scenario.duration;
    let mut engine = start(world);
    let stats = engine.run_until(end);
    conclude(engine, stats)
}

/// The engine of a world, its policy asked what it needs and its first events seeded: a run
/// ready to go (`drive` runs it to the end; `stepping::Simulation` in steps).
fn start<'s, 'o, O: Observer, const C: bool>(
    mut world: World<'s, 'o, O, C>,
) -> Engine<World<'s, 'o, O, C>> {
    let scenario = world.scenario;
    world.policy_wants_outcomes = world.policy.wants_outcomes() || !world.routes.is_empty();
    world.handoff_kind = world.policy.handoff_kind();
    world.reauctions = world.policy.retries_are_reauctions();
    world.world_audits = world.policy.world_audits();
    world.task_details = world.policy.wants_task_details();
    let sizes_wanted = world.policy.wants_sizes()
        || world.routes.iter().flatten().any(|r| r.arms.iter().any(|a| a.wants_sizes()))
        || world.steered_sizes();
    if sizes_wanted && scenario.services.iter().any(|s| s.sizes_known) {
        world.sizes = true;
        world.track_running = true;
        world.work_left = vec![SimDuration::ZERO; world.loads.len()];
    }
    world.decision_notes = world.task_details || world.sizes;
    world.force_tasks = world.policy.needs_tasks();
    let mut engine = Engine::with_capacity(world, 1024);
    {
        let (world, schedule) = engine.parts();
        world.seed_events(schedule);
    }
    engine
}

/// What a run that reached its end (`stats`) yields: the summary and the audit logs.
fn conclude<O: Observer, const C: bool>(
    engine: Engine<World<'_, '_, O, C>>,
    stats: EngineStats,
) -> RunOutput {
    let mut world = engine.into_model();
    let scenario = world.scenario;
    let end = SimTime::ZERO + scenario.duration;
    let workload_jobs = world.jobs.iter().filter(|(_, j)| !j.is_escalation()).count();
    world.observer.run_ended(stats.now, &world.loads, workload_jobs);
    let in_flight = world.jobs.iter().filter(|(_, job)| job.measured).count() as u64;
    let records = world
        .faults
        .iter()
        .filter(|f| f.started)
        .map(|f| f.record(scenario, &world.layout, end))
        .collect();
    let decisions = std::mem::take(&mut world.audit_log);
    let (actions, rewards) = match world.control.as_deref_mut() {
        Some(control) => (std::mem::take(&mut control.audit), control.rewards()),
        None => (Vec::new(), Vec::new()),
    };
    RunOutput {
        summary: world.recorder.finish(stats, in_flight, records),
        decisions,
        actions,
        rewards,
    }
}

/// The state of one run.
struct World<'s, 'o, O: Observer, const C: bool> {
    scenario: &'s Scenario,
    layout: Layout,
    /// Each service's members: the replicas that take new work, in id order (what policies
    /// see through `PolicyView::replicas_of`). All of them, without control agents.
    members: Vec<Vec<ReplicaId>>,
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
    /// The policy is told each task's class, attempt and deadline (`Policy::wants_task_details`).
    task_details: bool,
    /// Every unit gets a task record, so that the policy can claim it more than once.
    force_tasks: bool,
    /// The policy is told the work of each task of a service whose sizes are known, and
    /// each candidate's work left (`Policy::wants_sizes`).
    sizes: bool,
    /// Each replica's work left, filled for the candidates of a decision that uses sizes.
    work_left: Vec<SimDuration>,
    /// `task_details || sizes`: the one test the placement path makes for both.
    decision_notes: bool,
    /// Tasks whose deferred placement was committed, by ticket, while the policy may still
    /// claim or withdraw them.
    claimed: std::collections::BTreeMap<Ticket, (usize, u64)>,
    sources: Vec<Source>,
    content_rng: SimRng,
    network_rng: SimRng,
    resilience_rng: SimRng,
    /// The staleness the policy reported for the placement it is returning (zero: none).
    notes: DecisionNotes,
    /// Per service, the streams of the per-execution part of execution times (None for a
    /// service without one, the common case).
    execution_noise: Vec<Option<Box<NoiseStreams>>>,
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
    /// Active crashes of each agent of the policy (scheduler, standby).
    policy_agent_down: Vec<u32>,
    slowdown: Vec<f64>,
    /// For each network class (see `network.rs`), the groups it belongs to, as a bit set.
    class_groups: Vec<u64>,
    // Client-side resilience state.
    breakers: Vec<BreakerState>,
    ejections: Ejections,
    budgets: Vec<RetryBudget>,
    latencies: Vec<LatencyWindow>,
    excluded: Vec<bool>,
    // Control agents (see `control.rs`, `capacity.rs`, `monitor.rs`).
    /// Each replica's place in its life (all serving, without control agents).
    lifecycle: Vec<Lifecycle>,
    /// Replicas down for a reason of the control layer (absent, being provisioned,
    /// restarting), which the network's fast path must not meet.
    agents_out: u32,
    /// Every link is instant, no fault is active and no agent is out: a world message is
    /// received within the event that sends it (kept by `refresh_fast_send`).
    fast_send: bool,
    /// Replicas draining, so that the hot path looks at a replica's life only when some are.
    draining: u32,
    /// Health checks waiting in replicas' queues.
    probes_waiting: u32,
    /// Fault instances a restart ended for one replica: (instance, replica).
    repaired: Vec<(usize, u32)>,
    /// The adaptive agents' placement policies, per service (empty without any).
    routes: Vec<Option<Route>>,
    monitor: Option<Box<Monitor>>,
    control: Option<Box<ControlLayer>>,
    /// What decides for `external` agents (none: they take no action).
    driver: Option<&'o mut dyn Driver>,
    /// Decisions taken outside the engine in a stepped run (see `outside.rs`).
    outside: outside::Outside,
    recorder: Recorder,
    observer: &'o mut O,
}

// A note on `#[inline(always)]` in the rooms: it marks the steps every job of a plain
// scenario goes through (dispatch, decide, place, send and receive, finish, report, apply
// the outbox, free a slot, fill from the queue, end the job and keep its vectors, the next
// closed-loop job) and the early exit of `remove_attempt_if_done`: fourteen methods, plus
// `Model::handle`. Left to itself the compiler keeps them as calls with large frames.
// Forcing them takes about 15% off the instructions of an M/M/c job (callgrind) and changes
// no output. Forcing others measured worse, each tried alone: `admit` +4%, `start` +0.4%,
// `execute` and `on_message_delivered` (auction) +1%; `step_done` gained 0.1%, not worth its
// code size.
impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    /// The world of one run; `pinned` fixes one adaptive agent's arm (agent index, arm), for
    /// the counterfactual runs behind `regret`.
    fn new(
        scenario: &'s Scenario,
        build_policy: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
        replication: u32,
        observer: &'o mut O,
        pinned: Option<(usize, usize)>,
        driver: Option<&'o mut dyn Driver>,
    ) -> Self {
        let seed = scenario.seed;
        let layout = Layout::new(scenario);
        let loads = layout
            .replica_slots
            .iter()
            .map(|&slots| ReplicaLoad { running: 0, queued: 0, slots, finished: 0 })
            .collect::<Vec<_>>();
        let replicas = loads.len();
        let topology = Topology {
            agents: layout.agents(),
            orchestrators: scenario.orchestrators,
            service_replicas: layout.service_replicas.clone(),
            slots: loads.iter().map(|l| l.slots).collect(),
            speeds: layout.replica_speed.clone(),
            work: scenario.services.iter().map(|s| s.service_time.clone()).collect(),
            mean_work: scenario.services.iter().map(|s| s.mean_work_secs()).collect(),
        };
        let services = scenario.services.len();
        let agent_services = layout.agents() as usize * services;
        let mut class_groups = vec![0u64; services + 1];
        for (g, group) in scenario.network.groups.iter().enumerate() {
            if group.orchestrators {
                class_groups[links::ORCHESTRATORS] |= 1 << g;
            }
            for s in &group.services {
                class_groups[1 + s.index()] |= 1 << g;
            }
        }
        // Replicas beyond a service's starting count exist only once a control agent adds
        // them: until then they are absent, and down as agents.
        let lifecycle: Vec<Lifecycle> =
            (0..replicas as u32).map(|r| Lifecycle::at_start(layout.present_at_start(r))).collect();
        let down: Vec<u32> = lifecycle.iter().map(|l| u32::from(!l.provisioned())).collect();
        let agents_out = down.iter().sum();
        let controlled = !scenario.control.agents.is_empty();
        let adaptive = scenario.control.agents.iter().any(|a| match &a.kind {
            crate::scenario::AgentKind::Adaptive(a) => {
                matches!(a.arms, crate::scenario::Arms::Policies(_))
            }
            crate::scenario::AgentKind::External(e) => !e.arms.is_empty(),
            _ => false,
        });
        let members = topology
            .service_replicas
            .iter()
            .map(|range| {
                range
                    .clone()
                    .filter(|&r| lifecycle[r as usize].provisioned())
                    .map(ReplicaId)
                    .collect()
            })
            .collect();
        World {
            scenario,
            links: Links::new(&scenario.network, services),
            members,
            queues: (0..replicas).map(|_| VecDeque::new()).collect(),
            running: (0..replicas).map(|_| Vec::new()).collect(),
            track_running: controlled
                || scenario.faults.iter().any(|f| matches!(f.effect, FaultEffect::Crash { .. })),
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
            task_details: false,
            sizes: false,
            work_left: Vec::new(),
            decision_notes: false,
            force_tasks: false,
            claimed: std::collections::BTreeMap::new(),
            policy_wants_outcomes: true,
            policy: build_policy(&topology, StreamId::Policy.rng(seed, replication)),
            sources: Source::all(scenario, replication),
            content_rng: StreamId::JobContent.rng(seed, replication),
            network_rng: StreamId::Network.rng(seed, replication),
            resilience_rng: StreamId::Resilience.rng(seed, replication),
            notes: DecisionNotes::default(),
            execution_noise: NoiseStreams::all(scenario, &layout.service_replicas, replication),
            next_orchestrator: 0,
            next_serial: 0,
            spare_jobs: Vec::new(),
            spare_attempt_lists: Vec::new(),
            faults: fault_timeline::timeline(scenario, replication, &layout),
            active_faults: Vec::new(),
            down,
            orchestrator_down: vec![0; scenario.orchestrators as usize],
            policy_agent_down: vec![0; 2],
            slowdown: vec![1.0; replicas],
            class_groups,
            breakers: vec![BreakerState::default(); agent_services],
            ejections: Ejections::default(),
            budgets: vec![RetryBudget::default(); agent_services],
            latencies: (0..services).map(|_| LatencyWindow::default()).collect(),
            excluded: vec![false; replicas],
            lifecycle,
            agents_out,
            fast_send: false,
            draining: 0,
            probes_waiting: 0,
            repaired: Vec::new(),
            routes: if adaptive {
                control::routes(scenario, &topology, replication, pinned)
            } else {
                Vec::new()
            },
            monitor: controlled.then(|| Box::new(Monitor::new(scenario))),
            control: ControlLayer::new(scenario, replication, pinned),
            recorder: Recorder::for_scenario(scenario),
            observer,
            driver,
            outside: outside::Outside::default(),
            layout,
        }
    }

    fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// Seeds the first events: arrivals, the fault timeline, human shifts, and whatever the
    /// policy starts with (its first heartbeats or gossip rounds).
    fn seed_events(&mut self, schedule: &mut Schedule<Event>) {
        self.refresh_fast_send();
        let view = acting_view!(self, SimTime::ZERO);
        self.policy.start(&view);
        self.apply_outbox(schedule);
        if self.control.is_some() {
            self.start_control(schedule);
        }
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
}

impl<O: Observer, const C: bool> Model for World<'_, '_, O, C> {
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
