//! The validated types of control agents (docs/model.md section 10): agents that act on the
//! system itself rather than place work. Each watches some services through the monitoring
//! system every `period` and acts with real delays: an `autoscaler` adds and removes replicas,
//! a `remediator` health-checks replicas and restarts or ejects the ones that fail, an
//! `adaptive` agent learns which placement policy serves a service best, and a `budget` agent
//! holds the replicas of its services under a cap.

use crate::dist::DurationDist;
use crate::ids::ServiceId;
use crate::policy::PolicySpec;
use crate::time::SimDuration;

/// The control layer of a scenario: the agents that run, and how the monitoring system they
/// read samples the world.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Control {
    /// The active agents, in the order the file declares them (`[control] active` picks
    /// them; all declared agents by default).
    pub agents: Vec<ControlAgent>,
    /// Resolution of the monitoring system: agents read figures aggregated over whole
    /// scrape intervals (default 1 s).
    pub scrape: SimDuration,
}

impl Default for Control {
    fn default() -> Self {
        Control { agents: Vec::new(), scrape: SimDuration::from_secs(1) }
    }
}

/// One control agent.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ControlAgent {
    /// Its name (unique), as in the audit log and the trace.
    pub name: String,
    /// The services it watches and acts on (each independently, for an autoscaler).
    pub services: Vec<ServiceId>,
    /// The replica groups an autoscaler or external agent adds to and removes from, in order
    /// of preference (empty: every group of the service, in declaration order).
    pub groups: Vec<String>,
    /// Time between two of its decisions (an autoscaler's sync period, a remediator's
    /// health-check period).
    pub period: SimDuration,
    /// The span of monitoring data each decision reads.
    pub window: SimDuration,
    /// How old the newest data it reads is: it sees the window that ended this long ago.
    pub measurement_delay: SimDuration,
    /// What it does.
    pub kind: AgentKind,
}

/// The kinds of control agent.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AgentKind {
    /// Horizontal scaling of each of its services.
    Autoscaler(Autoscaler),
    /// Health checks and recovery actions.
    Remediator(Remediator),
    /// A bandit choosing each service's placement policy.
    Adaptive(Adaptive),
    /// A cap on the replicas of its services together.
    Budget(Budget),
    /// An agent whose decisions come from outside the simulator (a program driving the run
    /// period by period: `coordsim.gym`); without one it takes no action.
    External(External),
}

impl AgentKind {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            AgentKind::Autoscaler(_) => "autoscaler",
            AgentKind::Remediator(_) => "remediator",
            AgentKind::Adaptive(_) => "adaptive",
            AgentKind::Budget(_) => "budget",
            AgentKind::External(_) => "external",
        }
    }
}

/// An autoscaler's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Autoscaler {
    /// How the desired replica count follows from what it sees.
    pub rule: ScalingRule,
    /// What it watches.
    pub metric: ScalingMetric,
    /// Fewest replicas it leaves a service.
    pub min_replicas: u32,
    /// Most replicas it gives a service.
    pub max_replicas: u32,
    /// Scale-down stabilisation: it scales down only to the highest count it desired over
    /// this span (the Kubernetes rule; 300 s by default).
    pub stabilisation: SimDuration,
    /// Most replicas added per `period` of the limit.
    pub scale_up: RateLimit,
    /// Most replicas removed per `period` of the limit.
    pub scale_down: RateLimit,
    /// Time from the decision to add a replica until it takes work.
    pub provisioning: DurationDist,
    /// What happens to a replica it removes.
    pub removal: Removal,
}

/// How an autoscaler turns an observation into a replica count.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ScalingRule {
    /// Target tracking (Kubernetes' horizontal pod autoscaler): desired = ceil(current x
    /// observed / target), unless observed / target is within `tolerance` of 1.
    Target {
        /// The metric's target value (a fraction for utilisation, requests per replica for
        /// queue length, seconds for latency).
        target: f64,
        /// The dead band around the target, as a fraction.
        tolerance: f64,
    },
    /// Step scaling: the first step whose threshold the metric crosses sets the change, and
    /// after a change the agent waits `cooldown` before the next.
    Step {
        /// Thresholds and changes, in the order written.
        steps: Vec<ScalingStep>,
        /// Wait after a change.
        cooldown: SimDuration,
    },
}

/// One step of step scaling: when the metric is above (or below) a threshold, change the
/// replica count by `change`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScalingStep {
    /// `Some(x)`: applies when the metric exceeds `x`.
    pub above: Option<f64>,
    /// `Some(x)`: applies when the metric is under `x`.
    pub below: Option<f64>,
    /// Replicas to add (positive) or remove (negative).
    pub change: i32,
}

/// What an autoscaler watches, aggregated over its window and the service's ready replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScalingMetric {
    /// Busy slots over the slots of ready replicas.
    Utilisation,
    /// Requests waiting per ready replica.
    QueueLength,
    /// The 99th percentile of the response time of requests that ended, in seconds.
    LatencyP99,
    /// The mean response time of requests that ended, in seconds.
    LatencyMean,
}

impl ScalingMetric {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            ScalingMetric::Utilisation => "utilisation",
            ScalingMetric::QueueLength => "queue_length",
            ScalingMetric::LatencyP99 => "latency_p99",
            ScalingMetric::LatencyMean => "latency_mean",
        }
    }
}

/// A rate limit on scaling: at most `max(replicas, percent / 100 x current)` replicas per
/// `period` (the Kubernetes policies; the more permissive one wins).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RateLimit {
    /// A fixed number of replicas.
    pub replicas: u32,
    /// A share of the current count, in percent.
    pub percent: f64,
    /// The span the limit applies to.
    pub period: SimDuration,
}

/// What happens to a replica an autoscaler or a budget agent removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Removal {
    /// It takes no new work, finishes what it holds, then is gone.
    Drain,
    /// It is gone at once, with what it held (lost, as in a crash).
    Kill,
}

/// A remediator's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Remediator {
    /// A health check not answered within this is a failure.
    pub timeout: SimDuration,
    /// Consecutive failed checks before it acts on a replica.
    pub failures: u32,
    /// How a replica answers a health check.
    pub probe: Probe,
    /// What it does to a replica that failed its checks.
    pub action: Remedy,
    /// How long a restarted replica is down.
    pub restart_delay: DurationDist,
    /// How long an ejected replica stays out of placement.
    pub eject_for: SimDuration,
    /// Most replicas of a service it keeps under action at once; beyond that it escalates.
    pub budget: u32,
    /// The human service it escalates to (without one, actions beyond the budget wait).
    pub escalate: Option<ServiceId>,
}

/// How a replica answers a health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Probe {
    /// The check is served like a request: it waits in the replica's FIFO queue for a slot
    /// (taking no time of its own), and a full queue refuses it. An overloaded replica looks
    /// unhealthy.
    InBand,
    /// Any replica that is up answers at once.
    Liveness,
}

/// A remediator's action on a replica that failed its health checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remedy {
    /// The replica goes down for the restart delay, losing what it held, and comes back
    /// empty and repaired (crash and slowdown faults holding it end for it).
    Restart,
    /// The replica leaves placement for `eject_for`; it keeps what it holds.
    Eject,
}

/// An adaptive agent's settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Adaptive {
    /// What it chooses among.
    pub arms: Arms,
    /// How it balances trying arms and using the best one.
    pub algorithm: Bandit,
    /// What it maximises.
    pub reward: Reward,
    /// Weight of thrift in the reward, in [0, 1): the reward is `(1 - w) x quality + w x (1 -
    /// provisioned / max_replicas)` when it tunes an autoscaler (0: quality alone).
    pub cost_weight: f64,
}

/// An adaptive agent's arms.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Arms {
    /// Placement policies for its services (protocol-free policies only).
    Policies(Vec<PolicySpec>),
    /// Target values of an autoscaler's target-tracking rule, for its services.
    Targets {
        /// The autoscaler it tunes (index in `Control::agents`).
        autoscaler: usize,
        /// The targets it chooses among.
        values: Vec<f64>,
    },
}

impl Arms {
    /// How many there are.
    pub fn len(&self) -> usize {
        match self {
            Arms::Policies(p) => p.len(),
            Arms::Targets { values, .. } => values.len(),
        }
    }

    /// Whether there are none (never, after validation).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Arm `i` in words, as the audit log shows it.
    pub fn name(&self, i: usize) -> String {
        match self {
            Arms::Policies(p) => p[i].kind().name().to_owned(),
            Arms::Targets { values, .. } => format!("target {}", values[i]),
        }
    }
}

/// Multi-armed bandit algorithms.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Bandit {
    /// With probability `epsilon` a uniformly random arm, otherwise the best so far.
    EpsilonGreedy {
        /// Exploration probability.
        epsilon: f64,
    },
    /// Every arm once, then the arm with the highest mean reward plus sqrt(2 ln n / n_arm).
    Ucb1,
}

/// The reward of one decision period, in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reward {
    /// The share of requests that ended in the period, on the agent's service, that
    /// succeeded within the service's `slo`.
    Slo,
    /// `scale / (scale + mean response time)` of those requests.
    Latency {
        /// The response time that earns a reward of 1/2.
        scale: SimDuration,
    },
}

/// A budget agent's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Budget {
    /// Most replicas (provisioned, including those being provisioned) over its services.
    pub max_total: u32,
}

/// An external agent's settings: what its driver may do.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct External {
    /// Fewest replicas a scaling action may leave on each of its services.
    pub min_replicas: u32,
    /// Most replicas a scaling action may ask for on each of its services.
    pub max_replicas: u32,
    /// How long a new replica takes before it serves.
    pub provisioning: DurationDist,
    /// What happens to a removed replica.
    pub removal: Removal,
    /// The placement policies it may choose between for each service (empty: it does not
    /// choose placement); the first places work until it chooses.
    pub arms: Vec<PolicySpec>,
    /// How long a replica it restarts stays down.
    pub restart_delay: DurationDist,
    /// How long a replica it ejects stays out of placement.
    pub eject_for: SimDuration,
}
