//! The validated types of the network: the default link, named groups of agents, and
//! links between groups.

use crate::dist::DurationDist;
use crate::ids::ServiceId;

/// The simulated network between agents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Network {
    /// One-way latency of every message, unless a link overrides it.
    pub latency: DurationDist,
    /// Probability that a message is lost, in `[0, 1]`, unless a link overrides it.
    pub loss: f64,
    /// Named groups of agents.
    pub groups: Vec<Group>,
    /// Overrides for messages between two groups; the first matching link applies.
    pub links: Vec<Link>,
}

/// A named set of agents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Group {
    /// The key under `[network.groups]`.
    pub name: String,
    /// Whether the orchestrators belong to it.
    pub orchestrators: bool,
    /// Services whose replicas belong to it.
    pub services: Vec<ServiceId>,
}

/// Latency and loss for messages between two groups, in either direction.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Link {
    /// The two groups (indices into [`Network::groups`]; may be equal).
    pub between: [usize; 2],
    /// Latency on this link.
    pub latency: DurationDist,
    /// Loss probability on this link.
    pub loss: f64,
}
