//! The validated types of injected faults: what each does and when it happens.

use crate::ids::ServiceId;
use crate::time::{SimDuration, SimTime};

/// An injected fault.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Fault {
    /// What it does.
    pub effect: FaultEffect,
    /// When it happens.
    pub timing: FaultTiming,
}

/// What a fault does while it is active.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultEffect {
    /// The replicas stop: queued and running work is lost, messages to them are dropped,
    /// and they come back empty. `replica: None` means every replica of the service.
    Crash {
        /// The service.
        service: ServiceId,
        /// One group of its replicas (index into its `groups`), or every group.
        group: Option<u32>,
        /// One replica (index among the starting replicas of the group, or of the service
        /// in group order), or all of them.
        replica: Option<u32>,
    },
    /// An orchestrator agent stops: the jobs it coordinates are lost (they fail), results
    /// sent to it are dropped, and jobs routed to it while it is down fail at once. It
    /// comes back empty.
    AgentCrash {
        /// The orchestrator.
        orchestrator: u32,
    },
    /// An agent of the policy stops (`central`'s scheduler is 0, its standby 1): messages
    /// to it are lost and it comes back with an empty state. Under a policy without such
    /// agents it touches nothing.
    PolicyAgentCrash {
        /// The policy agent.
        agent: u32,
    },
    /// Work started on the replicas takes `factor` times longer (a gray failure).
    Slowdown {
        /// The service.
        service: ServiceId,
        /// One group of its replicas (index into its `groups`), or every group.
        group: Option<u32>,
        /// One replica (index among the starting replicas of the group, or of the service
        /// in group order), or all of them.
        replica: Option<u32>,
        /// Execution-time multiplier (> 0).
        factor: f64,
    },
    /// Messages between the two groups (indices into `network.groups`) are dropped.
    Partition {
        /// The two sides.
        groups: [usize; 2],
    },
    /// An extra loss probability on messages between two groups, or on every message.
    MessageLoss {
        /// Extra loss probability in [0, 1].
        loss: f64,
        /// The two groups, or `None` for every link.
        groups: Option<[usize; 2]>,
    },
}

/// When a fault is active.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum FaultTiming {
    /// Once, over `[at, at + duration)`.
    Scheduled {
        /// Start.
        at: SimTime,
        /// Length.
        duration: SimDuration,
    },
    /// Repeatedly: up for an exponential time of mean `mtbf`, then down for an exponential
    /// time of mean `mttr`. A crash or slowdown of a whole service with random timing gives
    /// each replica its own independent process.
    Random {
        /// Mean time between failures.
        mtbf: SimDuration,
        /// Mean time to repair.
        mttr: SimDuration,
    },
}
