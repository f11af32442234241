//! The random streams of a run: one ChaCha stream per purpose (arrivals of each source, job
//! content, each replica's execution noise, the network, faults, the policy, resilience,
//! each control agent's decisions and delays, each arm of an adaptive agent), derived from
//! the run's seed and replication by `engine::derive_stream`, so that no purpose's draws
//! shift another's (common random numbers).

use crate::engine::{derive_stream, SimRng};

/// The purposes that get their own random stream (docs/model.md section 2).
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
    /// The per-execution part of execution times on one replica (by replica index).
    Execution(u32),
    /// Message latency and loss.
    Network,
    /// The fault schedule.
    Faults,
    /// The policy's own decisions.
    Policy,
    /// Backoff jitter of retries.
    Resilience,
    /// The decisions of one control agent (by its index in the scenario).
    Agent(u32),
    /// The delays of one control agent's actions (provisioning, restarts, escalations).
    AgentDelays(u32),
    /// The placement policy of one arm of an adaptive agent (agent, service and arm packed
    /// by `control.rs`).
    Arm(u32),
}

impl StreamId {
    /// The ChaCha stream number: purpose in the high 32 bits, index in the low 32.
    pub fn code(self) -> u64 {
        let (purpose, index) = match self {
            StreamId::Arrivals(source) => (1, source),
            StreamId::JobContent => (2, 0),
            StreamId::Execution(replica) => (3, replica),
            StreamId::Network => (4, 0),
            StreamId::Faults => (5, 0),
            StreamId::Policy => (6, 0),
            StreamId::Resilience => (7, 0),
            StreamId::Agent(agent) => (8, agent),
            StreamId::AgentDelays(agent) => (9, agent),
            StreamId::Arm(code) => (10, code),
        };
        (purpose << 32) | u64::from(index)
    }

    /// The generator for this purpose in replication `replication` of a run seeded `seed`.
    pub fn rng(self, seed: u64, replication: u32) -> SimRng {
        derive_stream(seed, u64::from(replication), self.code())
    }
}
