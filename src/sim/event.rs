//! The closed set of things that happen in the simulated world, as past-tense facts.
//!
//! Events carry only small keys (a source index, a slab key and the low bits of the
//! referenced object's serial number) so that the event set stays compact and a reused slab
//! key is never mistaken for the object the event was scheduled for.

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
    /// An attempt finished its own work on its replica.
    WorkFinished { attempt: u32, serial: u32 },
    /// A job's deadline passed.
    DeadlinePassed { job: u32, serial: u32 },
    /// The requester stopped waiting for an attempt.
    AttemptTimedOut { attempt: u32, serial: u32 },
    /// A task's backoff ended: place a retry.
    RetryDue { task: u32, serial: u32 },
    /// A task's first attempt has been out for the hedging delay.
    HedgeDue { task: u32, serial: u32 },
    /// A fault instance began (index into the fault timeline).
    FaultStarted(u32),
    /// A fault instance ended.
    FaultEnded(u32),
    /// The people of a human service start their working day.
    ShiftStarted(u32),
}

impl EventDigest for Event {
    #[inline]
    fn digest(&self) -> u64 {
        // Kind in the top bits, payload below: distinct events give distinct digests.
        let pair = |kind: u64, a: u32, b: u32| (kind << 60) | (u64::from(b) << 28) ^ u64::from(a);
        match *self {
            Event::JobArrived { source, client } => pair(1, client, u32::from(source)),
            Event::MessageDelivered(key) => pair(2, key, 0),
            Event::WorkFinished { attempt, serial } => pair(3, attempt, serial),
            Event::DeadlinePassed { job, serial } => pair(4, job, serial),
            Event::AttemptTimedOut { attempt, serial } => pair(5, attempt, serial),
            Event::RetryDue { task, serial } => pair(6, task, serial),
            Event::HedgeDue { task, serial } => pair(7, task, serial),
            Event::FaultStarted(i) => pair(8, i, 0),
            Event::FaultEnded(i) => pair(9, i, 0),
            Event::ShiftStarted(s) => pair(10, s, 0),
        }
    }
}
