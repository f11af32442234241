//! Coordination policies: the interface every policy implements, and the catalog of
//! built-in ones.
//!
//! A policy decides; the engine acts. At each decision point the simulated world hands the
//! policy a read-only [`PolicyView`] and a [`Task`], and the policy answers with a
//! [`Decision`]. The policy never mutates the world, so every policy runs on identical
//! mechanics and only its decisions differ. Each policy owns its random stream (given at
//! construction), so its draws never shift the workload (common random numbers).
//!
//! Adding a policy: implement [`Policy`], add a [`PolicyKind`] variant with its name and
//! description, a [`PolicySpec`] variant with its validated parameters, and a line in
//! [`build`]. No engine code changes.

mod baseline;
mod peak_ewma;

use std::fmt;
use std::ops::Range;

use serde::Deserialize;

use crate::engine::SimRng;
use crate::ids::{AgentId, ReplicaId, ServiceId};
use crate::time::{SimDuration, SimTime};

pub use baseline::{LeastOutstanding, PowerOfD, RandomChoice, RoundRobin};
pub use peak_ewma::PeakEwma;

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
}

/// A unit of work waiting to be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// The agent deciding: an orchestrator placing a workflow step, or a replica's worker
    /// placing one of its downstream calls.
    pub agent: AgentId,
    /// The service that must execute it.
    pub service: ServiceId,
}

/// What a policy decided for a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the task to this replica (which must serve the task's service).
    Place(ReplicaId),
    /// Refuse the task: it fails at once without using any replica.
    Reject,
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
    service_replicas: &'a [Range<u32>],
    loads: &'a [ReplicaLoad],
    excluded: &'a [bool],
    down: &'a [u32],
}

impl<'a> PolicyView<'a> {
    /// A view at `now` over the given topology and the loads of all replicas (indexed by
    /// [`ReplicaId`]).
    pub fn new(now: SimTime, service_replicas: &'a [Range<u32>], loads: &'a [ReplicaLoad]) -> Self {
        PolicyView { now, service_replicas, loads, excluded: &[], down: &[] }
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
        let range = self.replicas_of(service);
        let all_excluded = range.clone().all(|r| self.is_excluded(ReplicaId(r)));
        range.map(ReplicaId).filter(move |&r| all_excluded || !self.is_excluded(r))
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The replicas serving `service`, as a contiguous range of ids.
    pub fn replicas_of(&self, service: ServiceId) -> Range<u32> {
        self.service_replicas[service.index()].clone()
    }

    /// The replica's current load.
    pub fn load(&self, replica: ReplicaId) -> ReplicaLoad {
        self.loads[replica.index()]
    }
}

/// The shape of the world a policy is built for.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Agents that may place tasks (orchestrators and replica workers), numbered densely.
    pub agents: u32,
    /// For each service, its replicas.
    pub service_replicas: Vec<Range<u32>>,
}

impl Topology {
    /// Replicas over all services.
    pub fn total_replicas(&self) -> u32 {
        self.service_replicas.last().map_or(0, |r| r.end)
    }
}

/// The built-in policies, by the names used in scenario files, on the CLI and in CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Uniformly random replica.
    Random,
    /// Each agent cycles through the replicas.
    RoundRobin,
    /// Fewest requests this agent has in flight there.
    LeastOutstanding,
    /// Least loaded of `d` randomly probed replicas.
    PowerOfD,
    /// Least expected latency (peak-sensitive moving average) of two random replicas.
    PeakEwma,
}

impl PolicyKind {
    /// Every built-in policy, in catalog order.
    pub const ALL: [PolicyKind; 5] = [
        PolicyKind::Random,
        PolicyKind::RoundRobin,
        PolicyKind::LeastOutstanding,
        PolicyKind::PowerOfD,
        PolicyKind::PeakEwma,
    ];

    /// The name used in files, on the CLI and in CSV.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Random => "random",
            PolicyKind::RoundRobin => "round_robin",
            PolicyKind::LeastOutstanding => "least_outstanding",
            PolicyKind::PowerOfD => "power_of_d",
            PolicyKind::PeakEwma => "peak_ewma",
        }
    }

    /// One line saying what the policy does.
    pub fn description(self) -> &'static str {
        match self {
            PolicyKind::Random => "baseline: a uniformly random replica of the service",
            PolicyKind::RoundRobin => "baseline: each agent cycles through the service's replicas",
            PolicyKind::LeastOutstanding => {
                "baseline: the replica with the fewest of this agent's own requests in flight"
            }
            PolicyKind::PowerOfD => {
                "baseline: probe d random replicas, pick the one with the least work outstanding"
            }
            PolicyKind::PeakEwma => {
                "baseline: of two random replicas, the one with the least expected latency (own peak-sensitive moving average x own requests in flight)"
            }
        }
    }

    /// Parameters with their defaults, as `(name, default, meaning)`.
    pub fn parameters(self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            PolicyKind::PowerOfD => &[("d", "2", "replicas probed per placement (>= 1)")],
            PolicyKind::PeakEwma => {
                &[("decay", "10s", "time constant of the latency average (> 0)")]
            }
            _ => &[],
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy with validated parameters: what a run is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicySpec {
    /// See [`PolicyKind::Random`].
    Random,
    /// See [`PolicyKind::RoundRobin`].
    RoundRobin,
    /// See [`PolicyKind::LeastOutstanding`].
    LeastOutstanding,
    /// See [`PolicyKind::PowerOfD`].
    PowerOfD {
        /// Replicas probed per placement (>= 1; capped at the service's replica count).
        d: u32,
    },
    /// See [`PolicyKind::PeakEwma`].
    PeakEwma {
        /// Time constant of the latency average.
        decay: SimDuration,
    },
}

impl PolicySpec {
    /// Which policy this is.
    pub fn kind(self) -> PolicyKind {
        match self {
            PolicySpec::Random => PolicyKind::Random,
            PolicySpec::RoundRobin => PolicyKind::RoundRobin,
            PolicySpec::LeastOutstanding => PolicyKind::LeastOutstanding,
            PolicySpec::PowerOfD { .. } => PolicyKind::PowerOfD,
            PolicySpec::PeakEwma { .. } => PolicyKind::PeakEwma,
        }
    }
}

/// Builds a fresh policy for one run.
pub fn build(spec: PolicySpec, topology: &Topology, rng: SimRng) -> Box<dyn Policy> {
    match spec {
        PolicySpec::Random => Box::new(RandomChoice::new(rng)),
        PolicySpec::RoundRobin => Box::new(RoundRobin::new(topology)),
        PolicySpec::LeastOutstanding => Box::new(LeastOutstanding::new(topology, rng)),
        PolicySpec::PowerOfD { d } => Box::new(PowerOfD::new(d, rng)),
        PolicySpec::PeakEwma { decay } => Box::new(PeakEwma::new(decay, topology, rng)),
    }
}
