//! Control agents' decisions (docs/model.md section 10): what an autoscaler, a remediator, an
//! adaptive agent or a budget agent does with what it sees. Like a placement policy, a
//! control agent never touches the world: it reads an [`Observation`] (figures of the
//! monitoring system, aggregated over its window and as old as its measurement delay) or the
//! answer to a health check, and returns [`ControlAction`]s, each with the reason it gives;
//! the world carries them out with their delays (`sim/capacity.rs`, `sim/control.rs`).
//!
//! Each agent draws from its own random stream, so adding one changes no other agent's draws
//! and never the workload.

mod adaptive;
mod autoscaler;
mod budget;
mod remediator;

use crate::engine::SimRng;
use crate::ids::{ReplicaId, ServiceId};
use crate::scenario::{AgentKind, Arms, ControlAgent};
use crate::time::SimTime;

pub use adaptive::BanditState;
pub use autoscaler::AutoscalerState;
pub use budget::BudgetState;
pub use remediator::RemediatorState;

/// What a control agent sees of one service at one decision: the monitoring system's
/// figures over the agent's window, which ended `measurement_delay` before `at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// The service.
    pub service: ServiceId,
    /// When the agent decides.
    pub at: SimTime,
    /// Replicas provisioned now, being provisioned included (the count it scales).
    pub provisioned: u32,
    /// Replicas taking work now.
    pub ready: u32,
    /// Slots of one replica (of the group the agent adds to first, where replicas differ).
    pub slots_per_replica: u32,
    /// Slots of the replicas provisioned now (being provisioned included).
    pub provisioned_slots: u32,
    /// Seconds of data the figures cover (0 when there is none yet).
    pub span_s: f64,
    /// Time average of busy slots over the service's replicas.
    pub busy_slots: f64,
    /// Time average of the slots of replicas present (serving or draining).
    pub present_slots: f64,
    /// Time average of requests waiting in the service's queues.
    pub queued: f64,
    /// Requests that reached a replica of the service (admitted or refused).
    pub arrivals: u64,
    /// Requests that ended on the service.
    pub requests: u64,
    /// Of those, the ones that failed.
    pub failures: u64,
    /// Of the successful ones, those that missed the service's SLO.
    pub slo_missed: u64,
    /// Mean response time of the requests that ended, in seconds.
    pub latency_mean_s: Option<f64>,
    /// Median of that response time, in seconds (from the monitoring system's bucketed
    /// histogram, linearly interpolated in its bucket).
    pub latency_p50_s: Option<f64>,
    /// 99th percentile of that response time, in seconds (likewise).
    pub latency_p99_s: Option<f64>,
    /// Replicas of the service crashed by a fault now (the fault schedule's truth at the
    /// decision, not a measurement).
    pub crashed: u32,
    /// Replicas of the service slowed by a fault now (likewise).
    pub slowed: u32,
}

impl Observation {
    /// Busy slots over present slots.
    pub fn utilisation(&self) -> Option<f64> {
        (self.present_slots > 0.0).then(|| self.busy_slots / self.present_slots)
    }
}

/// What a control agent asks the world to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Bring the service to this many provisioned replicas (adding, or removing as the
    /// agent's removal says).
    Scale {
        /// The service.
        service: ServiceId,
        /// Its desired count.
        to: u32,
    },
    /// Send a health check to the replica.
    Probe {
        /// The replica.
        replica: ReplicaId,
    },
    /// Restart the replica.
    Restart {
        /// The replica.
        replica: ReplicaId,
    },
    /// Take the replica out of placement for a while.
    Eject {
        /// The replica.
        replica: ReplicaId,
    },
    /// End the replica's ejection now (it takes work again).
    Readmit {
        /// The replica.
        replica: ReplicaId,
    },
    /// Ask a person (the agent's human service) to act on these replicas of a service.
    Escalate {
        /// The service.
        service: ServiceId,
        /// The replicas the agent would act on.
        replicas: Vec<ReplicaId>,
    },
    /// Place the service's work with this arm's policy from now on.
    SetArm {
        /// The service.
        service: ServiceId,
        /// Index into the agent's arms.
        arm: usize,
    },
}

/// An action with the agent's reason for it, as the audit log records it.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlAction {
    /// What to do.
    pub action: Action,
    /// Why, in words, with the figures the agent judged by.
    pub reason: String,
}

impl ControlAction {
    fn new(action: Action, reason: String) -> Self {
        ControlAction { action, reason }
    }
}

/// The state of one control agent between decisions.
#[derive(Debug)]
pub enum Controller {
    /// An autoscaler.
    Autoscaler(AutoscalerState),
    /// A remediator.
    Remediator(RemediatorState),
    /// An adaptive agent.
    Adaptive(Box<BanditState>),
    /// A budget agent.
    Budget(BudgetState),
    /// An external agent: its [`Driver`] decides, outside the simulator.
    External,
}

/// What decides for an `external` agent: a program outside the simulator (the Python
/// package's Gymnasium environment, a test) that drives the run one period at a time.
///
/// Only [`Action::Scale`] (to a count within the agent's `[min_replicas, max_replicas]`;
/// others are clamped to it) and [`Action::SetArm`] (an index into its `arms`; others are
/// ignored) act; other actions are ignored. The driver sees what any control agent sees.
/// (`Send`: a run, driver and all, may move to another thread, as a vector environment's
/// sub-environments do.)
pub trait Driver: Send {
    /// One decision of the external agent `agent` (its name) at `at`, from one observation
    /// per service it acts on (in the order of its `services`): its actions, or `None` to
    /// end the run at once (the driver has what it wanted; the run's figures are then
    /// incomplete).
    fn decide(
        &mut self,
        agent: &str,
        at: SimTime,
        observations: &[Observation],
    ) -> Option<Vec<Action>>;
}

impl Controller {
    /// A fresh agent for `spec`, drawing from `rng`; `pinned` fixes an adaptive agent's
    /// arm (for the counterfactual runs that estimate its regret).
    pub fn new(
        all: &[ControlAgent],
        spec: &ControlAgent,
        rng: SimRng,
        pinned: Option<usize>,
    ) -> Self {
        match &spec.kind {
            AgentKind::Autoscaler(a) => {
                Controller::Autoscaler(AutoscalerState::new(a.clone(), spec.services.len()))
            }
            AgentKind::Remediator(r) => Controller::Remediator(RemediatorState::new(r.clone())),
            AgentKind::Adaptive(a) => {
                // A bandit tuning an autoscaler weighs its cost against that autoscaler's
                // largest count.
                let most = match &a.arms {
                    Arms::Targets { autoscaler, .. } => match &all[*autoscaler].kind {
                        AgentKind::Autoscaler(s) => Some(s.max_replicas),
                        _ => None,
                    },
                    Arms::Policies(_) => None,
                };
                Controller::Adaptive(Box::new(BanditState::new(
                    a,
                    spec.services.len(),
                    rng,
                    pinned,
                    most,
                )))
            }
            AgentKind::Budget(b) => Controller::Budget(BudgetState::new(*b)),
            AgentKind::External(_) => Controller::External,
        }
    }

    /// One decision of every kind but the remediator's: what it does after seeing its
    /// services (one observation each, in the order of `ControlAgent::services`).
    pub fn decide(&mut self, observations: &[Observation], out: &mut Vec<ControlAction>) {
        match self {
            Controller::Autoscaler(a) => {
                for (i, obs) in observations.iter().enumerate() {
                    out.extend(a.decide(i, obs));
                }
            }
            Controller::Adaptive(b) => {
                for (i, obs) in observations.iter().enumerate() {
                    out.extend(b.decide(i, obs));
                }
            }
            Controller::Budget(b) => out.extend(b.decide(observations)),
            Controller::Remediator(_) | Controller::External => {}
        }
    }
}
