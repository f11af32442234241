//! Coordination policies: the interface every policy implements, and the catalog of
//! built-in ones.
//!
//! A policy decides; the world acts. At each decision point the simulated world hands the
//! policy a read-only [`PolicyView`] and a [`Task`], and the policy answers with a
//! [`Decision`]. The policy never mutates the world, so every policy runs on identical
//! mechanics and only its decisions differ. Each policy owns its random stream (given at
//! construction), so its draws never shift the workload (common random numbers).
//!
//! Policies that coordinate through messages (`central`, `auction`, `gossip`) also act
//! through the view: they send their own messages, set timers and may defer a placement
//! ([`Decision::Defer`]) until their protocol has an answer ([`PolicyView::commit`]). The
//! world carries these commands out after the policy returns, over the same simulated
//! network, so coordination costs messages, time and exposure to faults like everything else.
//!
//! Adding a policy: implement [`Policy`], add a [`PolicyKind`] variant with its name and
//! description, a [`PolicySpec`] variant with its validated parameters, and a line in
//! [`build`]. No engine code changes.

mod auction;
mod baseline;
mod central;
mod fleet;
mod fluid;
mod gossip;
mod kinds;
mod messaging;
mod peak_ewma;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ops::Range;

use crate::engine::SimRng;
use crate::ids::{AgentId, ClassId, ReplicaId, ServiceId};
use crate::time::{SimDuration, SimTime};

pub use auction::Auction;
pub use baseline::{LeastOutstanding, Outstanding, PowerOfD, RandomChoice, RoundRobin};
pub use central::Central;
pub use fleet::{LeastExpectedFinish, LeastWorkLeft, Sita, WeightedRandom};
pub use gossip::Gossip;
pub use kinds::{
    AuctionParams, CentralParams, GossipMode, GossipParams, LoadEstimate, PolicyKind, PolicySpec,
    Reports, SitaCutoffs,
};
pub use messaging::{AuditRecord, Delivery, Endpoint, MessageKind, Outbox, Ticket};
pub use peak_ewma::PeakEwma;

pub(crate) use messaging::Command;

/// A coordination strategy.
pub trait Policy: Send + fmt::Debug {
    /// Where a ready task goes.
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision;

    /// The outcome of a task this policy placed, as seen by the agent that placed it (when
    /// the result message arrives). Latency-learning and in-flight-counting policies use it.
    fn on_outcome(&mut self, _view: &PolicyView<'_>, _outcome: &Outcome) {}

    /// Whether [`Policy::on_outcome`] does anything; a policy that ignores outcomes returns
    /// `false` so the world can skip building its view (a measurable saving per request).
    fn wants_outcomes(&self) -> bool {
        true
    }

    /// Called once when the run starts: a policy with periodic activity (heartbeats, gossip
    /// rounds) sets its first timers here.
    fn start(&mut self, _view: &PolicyView<'_>) {}

    /// One of the policy's own messages arrived (never called for a crashed receiver).
    fn on_message(&mut self, _view: &PolicyView<'_>, _message: &Delivery) {}

    /// A timer the policy set went off.
    fn on_timer(&mut self, _view: &PolicyView<'_>, _token: u64) {}

    /// An agent crashed (`down`) or came back; a crashed agent's state is lost, and it
    /// comes back empty. Reported for replica workers and the policy's own agents.
    fn on_crash(&mut self, _view: &PolicyView<'_>, _agent: Endpoint, _down: bool) {}

    /// A replica joined (`member`) or left its service's members (see
    /// [`PolicyView::replicas_of`]): a control agent added, removed, restarted or ejected it.
    /// A replica that appears or goes also comes up or goes down as an agent
    /// ([`Policy::on_crash`]).
    fn on_membership(&mut self, _view: &PolicyView<'_>, _replica: ReplicaId, _member: bool) {}

    /// The kind the world counts the hand-off of a placed task as.
    fn handoff_kind(&self) -> MessageKind {
        MessageKind::Assign
    }

    /// Whether a retry of a task this policy placed is a re-auction (its duplicates are then
    /// counted as `reauction`, not `timeout_retry`).
    fn retries_are_reauctions(&self) -> bool {
        false
    }

    /// A placement the policy deferred is no longer needed (its job ended first): the
    /// policy should stop working on it. A later `commit` of the ticket is ignored anyway.
    fn on_abandoned(&mut self, _view: &PolicyView<'_>, _ticket: Ticket) {}

    /// A replica finished work and has a free slot with nothing queued (called only for
    /// policies that [need tasks](Policy::needs_tasks): policies that pull work use it).
    fn on_idle(&mut self, _view: &PolicyView<'_>, _replica: ReplicaId) {}

    /// Whether the policy may place a task more than once ([`PolicyView::claim`],
    /// [`PolicyView::resend`]) and withdraw one of its attempts ([`PolicyView::withdraw`]);
    /// the world then keeps a task record, with its attempts, for every unit.
    fn needs_tasks(&self) -> bool {
        false
    }

    /// Whether the policy reads [`PolicyView::task_details`] (class, attempt, deadline); the
    /// world works them out only then, so that other policies pay nothing for them.
    fn wants_task_details(&self) -> bool {
        false
    }

    /// Whether the policy reads the sizes of tasks ([`PolicyView::task_work`]) and replicas'
    /// work left ([`PolicyView::work_left`]); the world works them out only then, and only
    /// for services whose sizes are known (`sizes_known`).
    fn wants_sizes(&self) -> bool {
        false
    }

    /// Whether the world should write an audit record for each of this policy's synchronous
    /// decisions (options with their load, and the choice); policies that explain their own
    /// decisions through [`PolicyView::audit`] return `false`.
    fn world_audits(&self) -> bool {
        true
    }
}

/// A unit of work waiting to be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// The agent deciding: an orchestrator placing a workflow step, or a replica's worker
    /// placing one of its downstream calls.
    pub agent: AgentId,
    /// The service that must execute it.
    pub service: ServiceId,
    /// How to finish the placement later, if the policy defers it.
    pub ticket: Ticket,
}

/// What travels with a task for a policy that asks for it ([`Policy::wants_task_details`],
/// read with [`PolicyView::task_details`]): its job's class, its attempt number and its
/// job's deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDetails {
    /// The job class of the job it belongs to ([`ClassId::ESCALATION`] for a control
    /// agent's escalation to a person, which belongs to no class, or for a job that ended).
    pub class: ClassId,
    /// How many attempts of this unit its requester placed before this one: 0 for the
    /// first, `n` for the `n`-th retry; a hedge counts one more than the attempt it copies.
    pub attempt: u32,
    /// When its job's deadline passes, if its class has one.
    pub deadline: Option<SimTime>,
}

/// What a policy decided for a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the task to this replica (which must serve the task's service).
    Place(ReplicaId),
    /// Refuse the task: it fails at once without using any replica.
    Reject,
    /// Decide later: the policy will call [`PolicyView::commit`] with the task's ticket
    /// (once its protocol has an answer). Until then the task waits, holding nothing.
    Defer,
}

/// The result of a placed task, reported back to the agent that placed it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The agent that placed the task.
    pub agent: AgentId,
    /// Where it was placed.
    pub replica: ReplicaId,
    /// Whether the replica executed it (false: rejected by a full queue).
    pub succeeded: bool,
    /// From placement to the result's arrival at the agent.
    pub latency: SimDuration,
}

/// The instantaneous load of one replica.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaLoad {
    /// Requests executing.
    pub running: u32,
    /// Requests waiting in the queue.
    pub queued: u32,
    /// Concurrency slots.
    pub slots: u32,
    /// Requests that have left its slots since the run began, wrapping at `u32::MAX`: the
    /// count a replica keeps of its own completions (gossip's workers measure their rates
    /// with it).
    pub finished: u32,
}

impl ReplicaLoad {
    /// Requests executing or waiting.
    pub fn outstanding(self) -> u32 {
        self.running + self.queued
    }
}

/// What a policy may look at when deciding.
///
/// Baselines that probe (`power_of_d`) read [`PolicyView::load`], the replica's true current
/// load, as if the probe's answer came back instantly.
#[derive(Clone, Copy, Debug)]
pub struct PolicyView<'a> {
    now: SimTime,
    members: &'a [Vec<ReplicaId>],
    loads: &'a [ReplicaLoad],
    excluded: &'a [bool],
    down: &'a [u32],
    policy_agent_down: &'a [u32],
    slowdown: &'a [f64],
    speeds: &'a [f64],
    work_left: &'a [SimDuration],
    outbox: Option<&'a RefCell<Outbox>>,
    /// What passes between the world and the policy beside the decision.
    notes: Option<&'a DecisionNotes>,
}

/// What passes between the world and the policy beside a decision: the details of the task
/// being placed (for a policy that asks for them) and the age of the information the
/// placement used (what [`PolicyView::report_staleness`] says).
#[derive(Debug, Default)]
pub struct DecisionNotes {
    /// The age the policy reports, for the world to read after `place`.
    pub staleness: Cell<SimDuration>,
    /// The task's details, set by the world before `place` when the policy asks for them.
    pub details: Cell<Option<TaskDetails>>,
    /// The task's work (seconds at speed 1), set by the world before `place` where its
    /// service's sizes are known and the policy asks for sizes.
    pub work: Cell<Option<SimDuration>>,
}

impl<'a> PolicyView<'a> {
    /// A view at `now` over each service's member replicas (those that take new work: see
    /// [`PolicyView::replicas_of`]) and the loads of all replicas (indexed by [`ReplicaId`]).
    pub fn new(now: SimTime, members: &'a [Vec<ReplicaId>], loads: &'a [ReplicaLoad]) -> Self {
        PolicyView {
            now,
            members,
            loads,
            excluded: &[],
            down: &[],
            policy_agent_down: &[],
            slowdown: &[],
            speeds: &[],
            work_left: &[],
            outbox: None,
            notes: None,
        }
    }

    /// The same view, with each replica's nominal speed and, for a policy that [asks for
    /// sizes](Policy::wants_sizes), the time each replica needs to finish what it holds
    /// (both indexed by [`ReplicaId`]; `work_left` is read only where the task's work is
    /// known).
    pub fn with_fleet(self, speeds: &'a [f64], work_left: &'a [SimDuration]) -> Self {
        PolicyView { speeds, work_left, ..self }
    }

    /// A replica's nominal speed: work executed per second of time (1 when the view was
    /// built without speeds). Replicas of one group share it (docs/model.md section 12).
    pub fn speed(&self, replica: ReplicaId) -> f64 {
        self.speeds.get(replica.index()).copied().unwrap_or(1.0)
    }

    /// A replica's capacity: its slots times its nominal speed, the work it executes per
    /// second with every slot busy. Load-aware policies divide load by it.
    pub fn capacity(&self, replica: ReplicaId) -> f64 {
        f64::from(self.loads[replica.index()].slots) * self.speed(replica)
    }

    /// The work of the task being placed, in seconds at speed 1, where its service's sizes
    /// are known (`sizes_known`) and the policy [asks for sizes](Policy::wants_sizes);
    /// `None` otherwise.
    pub fn task_work(&self) -> Option<SimDuration> {
        self.notes.and_then(|n| n.work.get())
    }

    /// How long `replica` needs to finish what it holds, when [`PolicyView::task_work`] is
    /// known: its queued requests' work at its nominal speed, plus what is left of those it
    /// runs (slots together: divide by the slots for the wait of one more request).
    pub fn work_left(&self, replica: ReplicaId) -> Option<SimDuration> {
        self.task_work()?;
        self.work_left.get(replica.index()).copied()
    }

    /// The same view, able to act: commands go to `outbox`, which the world carries out.
    pub fn with_outbox(self, outbox: &'a RefCell<Outbox>) -> Self {
        PolicyView { outbox: Some(outbox), ..self }
    }

    /// The same view, keeping what [`PolicyView::report_staleness`] says in `notes` and
    /// reading [`PolicyView::task_details`] from it.
    pub fn with_notes(self, notes: &'a DecisionNotes) -> Self {
        PolicyView { notes: Some(notes), ..self }
    }

    /// The class, attempt number and deadline of the task being placed, for a policy that
    /// [asks for them](Policy::wants_task_details) (`None` for the others, and outside
    /// `place`).
    pub fn task_details(&self) -> Option<TaskDetails> {
        self.notes.and_then(|n| n.details.get())
    }

    /// The same view, with the crash state of the policy's agents and each replica's current
    /// slowdown factor (for a replica's estimate of its own speed).
    pub fn with_health(self, policy_agent_down: &'a [u32], slowdown: &'a [f64]) -> Self {
        PolicyView { policy_agent_down, slowdown, ..self }
    }

    /// Whether an endpoint is up. Policies use it for their own agents' timers: a crashed
    /// agent does nothing (the world also drops what it sends and what is sent to it).
    pub fn is_up(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::PolicyAgent(c) => {
                self.policy_agent_down.get(c as usize).is_none_or(|&d| d == 0)
            }
            Endpoint::Agent(_) => true,
        }
    }

    /// Whether a replica is up (what its own worker knows of itself).
    pub fn replica_up(&self, replica: ReplicaId) -> bool {
        self.answers_probes(replica)
    }

    /// How much slower than nominal the replica currently works (1 when healthy); what a
    /// replica knows of its own speed.
    pub fn slowdown(&self, replica: ReplicaId) -> f64 {
        self.slowdown.get(replica.index()).copied().unwrap_or(1.0)
    }

    fn command(&self, command: Command) {
        let outbox = self.outbox.expect("this view cannot act: the world passed no outbox");
        outbox.borrow_mut().commands.push(command);
    }

    /// Sends a policy message; `token` is the policy's own reference to its content.
    pub fn send(&self, from: Endpoint, to: Endpoint, kind: MessageKind, token: u64) {
        self.command(Command::Send { from, to, kind, token });
    }

    /// Sets a timer: [`Policy::on_timer`] gets `token` after `delay`.
    pub fn set_timer(&self, delay: SimDuration, token: u64) {
        self.command(Command::Timer { delay, token });
    }

    /// Finishes a deferred placement: place on `replica`, or reject with `None`. A ticket
    /// whose task is gone (its job ended meanwhile) is ignored.
    pub fn commit(&self, ticket: Ticket, replica: Option<ReplicaId>) {
        self.command(Command::Commit { ticket, replica, staleness: None });
    }

    /// [`PolicyView::commit`] of a placement decided on information `staleness` old: the
    /// time since the freshest report of the chosen replica's state that the deciding
    /// agent held when it decided (`decision_staleness_mean_ms`, `_p99_ms`).
    pub fn commit_with_staleness(
        &self,
        ticket: Ticket,
        replica: ReplicaId,
        staleness: SimDuration,
    ) {
        self.command(Command::Commit {
            ticket,
            replica: Some(replica),
            staleness: Some(staleness),
        });
    }

    /// Says, from [`Policy::place`], how old the information was that the placement it is
    /// about to return used: the time since the freshest report of the chosen replica's
    /// state that the deciding agent held. A placement that reports nothing saw the present
    /// (a probe, the agent's own counts) or used no information, and counts as 0.
    pub fn report_staleness(&self, staleness: SimDuration) {
        if let Some(notes) = self.notes {
            notes.staleness.set(staleness);
        }
    }

    /// Reports that news of a replica's state took `time` (`rounds` protocol rounds) to
    /// reach every agent (`gossip_spread_s`, `gossip_spread_rounds`).
    pub fn record_gossip_spread(&self, time: SimDuration, rounds: f64) {
        self.command(Command::Spread { time, rounds });
    }

    /// Places one more attempt of a task whose deferred placement was committed already (a
    /// conflicting claim: its execution counts as duplicated work, `conflicting_claim`,
    /// unless its result is the one used). Needs [`Policy::needs_tasks`].
    pub fn claim(&self, ticket: Ticket, replica: ReplicaId) {
        self.command(Command::Claim { ticket, replica });
    }

    /// The requester stops waiting for the task's attempt on `replica` and tells the replica
    /// to stop it (a claim that lost). Needs [`Policy::needs_tasks`].
    pub fn withdraw(&self, ticket: Ticket, replica: ReplicaId) {
        self.command(Command::Withdraw { ticket, replica });
    }

    /// `agent` no longer trusts `replica`: every task `agent` is waiting for there gets one
    /// more attempt, placed through the policy as usual, while the attempt on `replica` stays
    /// open (the first answer wins). Needs [`Policy::needs_tasks`]. Work duplicated this way
    /// counts as `false_suspicion` when the replica was in fact up.
    pub fn resend(&self, agent: AgentId, replica: ReplicaId) {
        self.command(Command::Resend { agent, replica });
    }

    /// Reports how long a placement request waited in a scheduler's queue before being
    /// served (the `scheduler_queue_mean_ms` metric).
    pub fn record_scheduler_wait(&self, wait: SimDuration) {
        self.command(Command::SchedulerWait(wait));
    }

    /// Whether decisions are being audited (build [`AuditRecord`]s only then).
    pub fn auditing(&self) -> bool {
        self.outbox.is_some_and(|o| o.borrow().audit.is_some())
    }

    /// Adds a record to the audit log, if auditing.
    pub fn audit(&self, record: AuditRecord) {
        if let Some(outbox) = self.outbox {
            if let Some(log) = outbox.borrow_mut().audit.as_mut() {
                log.push(record);
            }
        }
    }

    /// The same view, with replicas the deciding agent has ejected (outlier ejection)
    /// marked `true` in `excluded` (indexed by [`ReplicaId`]).
    pub fn with_excluded(self, excluded: &'a [bool]) -> Self {
        PolicyView { excluded, ..self }
    }

    /// The same view, with the replicas that are crashed (non-zero in `down`, indexed by
    /// [`ReplicaId`]), so that a probe to them goes unanswered.
    pub fn with_down(self, down: &'a [u32]) -> Self {
        PolicyView { down, ..self }
    }

    /// Whether a probe to this replica would be answered (it is not crashed). Only policies
    /// that probe use this; the others do not know which replicas are up.
    pub fn answers_probes(&self, replica: ReplicaId) -> bool {
        self.down.get(replica.index()).is_none_or(|&d| d == 0)
    }

    /// Whether the deciding agent avoids this replica (ejected as an outlier). Policies
    /// should skip excluded replicas unless every candidate is excluded.
    pub fn is_excluded(&self, replica: ReplicaId) -> bool {
        self.excluded.get(replica.index()).copied().unwrap_or(false)
    }

    /// The replicas of `service` the agent does not avoid, or all of them if it avoids every
    /// one (a policy must place somewhere).
    pub fn candidates(&self, service: ServiceId) -> impl Iterator<Item = ReplicaId> + '_ {
        let members = self.replicas_of(service);
        let all_excluded = members.iter().all(|&r| self.is_excluded(r));
        members.iter().copied().filter(move |&r| all_excluded || !self.is_excluded(r))
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The replicas of `service` that take new work, in id order: its members in the
    /// service registry. Without control agents these are all of its replicas; replicas that
    /// are being provisioned, draining, restarting or ejected by a remediator are not
    /// members. Never empty while the service has a member; a service whose every replica is
    /// gone has none (a policy then rejects the task).
    pub fn replicas_of(&self, service: ServiceId) -> &'a [ReplicaId] {
        &self.members[service.index()]
    }

    /// The replica's current load.
    pub fn load(&self, replica: ReplicaId) -> ReplicaLoad {
        self.loads[replica.index()]
    }
}

/// The shape of the world a policy is built for.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Agents that may place tasks (orchestrators and replica workers), numbered densely:
    /// orchestrators first, then one worker per replica in replica order.
    pub agents: u32,
    /// Orchestrators (agents `0..orchestrators`).
    pub orchestrators: u32,
    /// For each service, the ids its replicas may ever have: the replicas it starts with,
    /// then room for those control agents may add (see [`PolicyView::replicas_of`] for
    /// which take work at a given moment).
    pub service_replicas: Vec<Range<u32>>,
    /// Each replica's concurrency slots.
    pub slots: Vec<u32>,
    /// Each replica's nominal speed (work per second of service time).
    pub speeds: Vec<f64>,
    /// Each service's distribution of request work (seconds at speed 1).
    pub work: Vec<crate::dist::DurationDist>,
    /// Each service's mean work of one execution, noise included (seconds at speed 1).
    pub mean_work: Vec<f64>,
}

impl Topology {
    /// For each service, whether every replica it may have has the same capacity (slots
    /// and speed): load-aware baselines then compare loads as counts, exactly as on a fleet
    /// without groups, and divide them by capacity only where replicas differ.
    pub fn uniform_capacity(&self) -> Vec<bool> {
        self.service_replicas
            .iter()
            .map(|range| {
                let first = range.start as usize;
                range.clone().all(|r| {
                    let r = r as usize;
                    self.slots[r] == self.slots[first] && self.speeds[r] == self.speeds[first]
                })
            })
            .collect()
    }

    /// Every replica id of every service, as member lists for [`PolicyView::new`] (what a
    /// world without control agents has at every moment).
    pub fn all_members(&self) -> Vec<Vec<ReplicaId>> {
        self.service_replicas.iter().map(|r| r.clone().map(ReplicaId).collect()).collect()
    }

    /// Replicas over all services.
    pub fn total_replicas(&self) -> u32 {
        self.service_replicas.last().map_or(0, |r| r.end)
    }

    /// The worker agent of a replica.
    pub fn worker(&self, replica: ReplicaId) -> AgentId {
        AgentId(self.orchestrators + replica.0)
    }

    /// The replica an agent works for, or `None` for an orchestrator.
    pub fn replica_of(&self, agent: AgentId) -> Option<ReplicaId> {
        agent.0.checked_sub(self.orchestrators).map(ReplicaId)
    }
}

/// The key with the smallest value; among equal smallest values, one chosen uniformly at
/// random from `rng` (reservoir sampling: one pass, no allocation, one draw per tie met);
/// `None` when there are no items. The policies that pick a least loaded replica share it,
/// so they break ties alike.
pub(crate) fn argmin_random_tie<V: PartialOrd + Copy>(
    items: impl Iterator<Item = (u32, V)>,
    rng: &mut SimRng,
) -> Option<u32> {
    let mut best: Option<(u32, V)> = None;
    let mut ties = 0u32;
    for (key, value) in items {
        match best {
            Some((_, v)) if value > v => {}
            Some((_, v)) if value == v => {
                ties += 1;
                if rand::Rng::random_range(rng, 0..ties) == 0 {
                    best = Some((key, value));
                }
            }
            _ => {
                best = Some((key, value));
                ties = 1;
            }
        }
    }
    best.map(|(key, _)| key)
}

/// Builds a fresh policy for one run.
pub fn build(spec: PolicySpec, topology: &Topology, rng: SimRng) -> Box<dyn Policy> {
    match spec {
        PolicySpec::Random => Box::new(RandomChoice::new(rng)),
        PolicySpec::RoundRobin => Box::new(RoundRobin::new(topology)),
        PolicySpec::LeastOutstanding => Box::new(LeastOutstanding::new(topology, rng)),
        PolicySpec::PowerOfD { d } => Box::new(PowerOfD::new(d, topology, rng)),
        PolicySpec::PeakEwma { decay } => Box::new(PeakEwma::new(decay, topology, rng)),
        PolicySpec::Central(params) => Box::new(Central::new(params, topology, rng)),
        PolicySpec::Auction(params) => Box::new(Auction::new(params, topology, rng)),
        PolicySpec::Gossip(params) => Box::new(Gossip::new(params, topology, rng)),
        PolicySpec::WeightedRandom => Box::new(WeightedRandom::new(rng)),
        PolicySpec::LeastWorkLeft => Box::new(LeastWorkLeft::new(rng)),
        PolicySpec::LeastExpectedFinish => Box::new(LeastExpectedFinish::new(topology, rng)),
        PolicySpec::Sita(cutoffs) => Box::new(Sita::new(cutoffs, topology, rng)),
    }
}
