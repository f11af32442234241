//! The closed set of things that happen in the simulated world, as past-tense facts.
//!
//! Events are 8 bytes: a kind and small keys, so the event set stays compact (its entries
//! move on every push and pop). Keys point into the world's slabs. A slab key can be reused,
//! so every event is validated against the object's state when it fires: `WorkFinished`
//! against the attempt's phase and finish time, timers through their own slab entry, which
//! holds the full serial numbers of what they refer to.

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
    /// An attempt finished its own work on its replica (key of the attempt record).
    WorkFinished(u32),
    /// A timer went off (key into the timer slab: deadlines, timeouts, retries, hedges).
    TimerFired(u32),
    /// A fault instance began (index into the fault timeline).
    FaultStarted(u32),
    /// A fault instance ended.
    FaultEnded(u32),
    /// The people of a human service start their working day.
    ShiftStarted(u32),
    /// The earliest timer of a timer lane is due (index of the lane; see `lanes.rs`).
    LaneDue(u32),
}

impl EventDigest for Event {
    #[inline]
    fn digest(&self) -> u64 {
        // Kind in the top bits, payload below: distinct events give distinct digests.
        let tagged = |kind: u64, payload: u64| (kind << 56) | payload;
        match *self {
            Event::JobArrived { source, client } => {
                tagged(1, (u64::from(source) << 32) | u64::from(client))
            }
            Event::MessageDelivered(key) => tagged(2, u64::from(key)),
            Event::WorkFinished(key) => tagged(3, u64::from(key)),
            Event::TimerFired(key) => tagged(4, u64::from(key)),
            Event::FaultStarted(i) => tagged(5, u64::from(i)),
            Event::FaultEnded(i) => tagged(6, u64::from(i)),
            Event::ShiftStarted(s) => tagged(7, u64::from(s)),
            Event::LaneDue(lane) => tagged(8, u64::from(lane)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_eight_bytes() {
        assert_eq!(std::mem::size_of::<Event>(), 8);
    }
}
