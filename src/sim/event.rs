//! The closed set of things that happen in the simulated world, as past-tense facts.
//!
//! Events carry only small keys (a class index, a slab key) so that the event set stays
//! compact; the state they refer to lives in the world's slabs.

use crate::engine::EventDigest;
use crate::ids::ClassId;

/// Something that happens at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The next job of this class arrived from outside.
    JobArrived(ClassId),
    /// A message in flight reached its destination (key into the message slab).
    MessageDelivered(u32),
    /// An attempt finished executing on its replica (key into the attempt slab).
    ExecutionFinished(u32),
}

impl EventDigest for Event {
    #[inline]
    fn digest(&self) -> u64 {
        // Kind in the top bits, payload below: distinct events give distinct digests.
        match *self {
            Event::JobArrived(class) => (1 << 60) | u64::from(class.0),
            Event::MessageDelivered(key) => (2 << 60) | u64::from(key),
            Event::ExecutionFinished(key) => (3 << 60) | u64::from(key),
        }
    }
}
