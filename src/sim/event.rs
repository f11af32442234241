//! The closed set of things that happen in the simulated world, as past-tense facts.
//!
//! Events carry only small keys (a source index, a slab key) so that the event set stays
//! compact; the state they refer to lives in the world's slabs.

use crate::engine::EventDigest;

/// `Event::JobArrived::client` of an open-loop arrival.
pub(crate) const NO_CLIENT: u32 = u32::MAX;

/// Something that happens at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A job arrived from traffic source `source` (for a closed-loop source, from user
    /// `client`; otherwise `NO_CLIENT`).
    JobArrived { source: u16, client: u32 },
    /// A message in flight reached its destination (key into the message slab).
    MessageDelivered(u32),
    /// An attempt finished its own work on its replica (key into the attempt slab).
    WorkFinished(u32),
    /// A job's deadline passed (job slab key and the low bits of its serial number, so a
    /// reused slab key is not mistaken for the job).
    DeadlinePassed { job: u32, serial: u32 },
}

impl EventDigest for Event {
    #[inline]
    fn digest(&self) -> u64 {
        // Kind in the top bits, payload below: distinct events give distinct digests.
        match *self {
            Event::JobArrived { source, client } => {
                (1 << 60) | (u64::from(source) << 32) | u64::from(client)
            }
            Event::MessageDelivered(key) => (2 << 60) | u64::from(key),
            Event::WorkFinished(key) => (3 << 60) | u64::from(key),
            Event::DeadlinePassed { job, serial } => {
                (4 << 60) | (u64::from(serial) << 32) | u64::from(job)
            }
        }
    }
}
