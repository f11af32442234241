//! The simulated network: which latency distribution and loss probability apply to a
//! message between two agents.
//!
//! Agents fall into classes (the orchestrators, or the replicas of one service); the first
//! `[[network.links]]` entry whose two groups contain the sender's and the receiver's classes
//! (in either direction) applies, otherwise the network default. The choice is precomputed
//! into a small class-by-class table, so a send costs one lookup.

use crate::dist::DurationDist;
use crate::scenario::Network;

/// Latency and loss of one kind of link.
#[derive(Debug)]
pub(super) struct LinkSpec {
    pub(super) latency: DurationDist,
    pub(super) loss: f64,
    /// Draws are always zero and nothing is lost: deliver within the sending event.
    pub(super) instant: bool,
}

/// The link table.
#[derive(Debug)]
pub(super) struct Links {
    specs: Vec<LinkSpec>,
    /// `table[from_class * classes + to_class]`: index into `specs`.
    table: Vec<u16>,
    classes: usize,
    all_instant: bool,
}

/// Whether a message between two classes of agents, belonging to the groups of bit sets `a`
/// and `b`, goes between the two groups of `pair` (in either direction).
pub(super) fn between_groups(a: u64, b: u64, pair: [usize; 2]) -> bool {
    let (x, y) = (1u64 << pair[0], 1u64 << pair[1]);
    (a & x != 0 && b & y != 0) || (a & y != 0 && b & x != 0)
}

/// The agent class of the orchestrators, for [`Links::between`]; services are `1 + index`.
pub(super) const ORCHESTRATORS: usize = 0;

impl Links {
    pub(super) fn new(network: &Network, services: usize) -> Links {
        let spec = |latency: &DurationDist, loss: f64| LinkSpec {
            latency: latency.clone(),
            loss,
            instant: latency.is_always_zero() && loss == 0.0,
        };
        let mut specs = vec![spec(&network.latency, network.loss)];
        specs.extend(network.links.iter().map(|l| spec(&l.latency, l.loss)));
        let classes = services + 1;
        let member = |group: usize, class: usize| {
            let g = &network.groups[group];
            if class == ORCHESTRATORS {
                g.orchestrators
            } else {
                g.services.iter().any(|s| s.index() == class - 1)
            }
        };
        let mut table = vec![0u16; classes * classes];
        for a in 0..classes {
            for b in 0..classes {
                let found = network.links.iter().position(|l| {
                    let [x, y] = l.between;
                    (member(x, a) && member(y, b)) || (member(y, a) && member(x, b))
                });
                table[a * classes + b] = found.map_or(0, |i| i as u16 + 1);
            }
        }
        let all_instant = specs.iter().all(|s| s.instant);
        Links { specs, table, classes, all_instant }
    }

    /// Whether every link is instant (zero latency, no loss).
    #[inline]
    pub(super) fn all_instant(&self) -> bool {
        self.all_instant
    }

    /// The link between two agent classes.
    #[inline]
    pub(super) fn between(&self, from: usize, to: usize) -> &LinkSpec {
        &self.specs[self.table[from * self.classes + to] as usize]
    }
}
