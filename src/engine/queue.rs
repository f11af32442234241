//! The pending-event set: a binary heap ordered by `(time, scheduling sequence)`.
//!
//! Two events at the same nanosecond are popped in the order they were pushed. The sequence
//! number makes the order total, so the heap's internal layout never decides which of two
//! simultaneous events runs first, and a run is a pure function of its inputs.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// One pending event with its ordering key.
#[derive(Debug)]
struct Scheduled<E> {
    time: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` pops the greatest element and we want the earliest.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Pending events, popped by `(time, scheduling order)`.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<E> EventQueue<E> {
    /// An empty queue with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(capacity), next_seq: 0 }
    }

    /// Adds `event` at `time`; it runs after every event already queued for the same time.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Scheduled { time, seq, event });
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|s| (s.time, s.event))
    }

    /// Removes and returns the earliest event if it is not later than `end`.
    #[inline]
    pub fn pop_not_after(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        match self.heap.peek() {
            Some(next) if next.time <= end => self.pop(),
            _ => None,
        }
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|s| s.time)
    }

    /// The number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_by_push_order() {
        let mut q = EventQueue::default();
        let t = SimTime::from_nanos;
        for (time, id) in [(20, 'a'), (10, 'b'), (20, 'c'), (10, 'd'), (0, 'e'), (20, 'f')] {
            q.push(t(time), id);
        }
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['e', 'b', 'd', 'a', 'c', 'f']);
    }

    #[test]
    fn thousands_of_equal_times_stay_fifo() {
        let mut q = EventQueue::default();
        for i in 0..5000u32 {
            q.push(SimTime::from_nanos(u64::from(i % 3)), i);
        }
        let popped: Vec<(SimTime, u32)> = std::iter::from_fn(|| q.pop()).collect();
        for pair in popped.windows(2) {
            let ((t0, a), (t1, b)) = (pair[0], pair[1]);
            assert!(t0 < t1 || (t0 == t1 && a < b), "{pair:?} out of order");
        }
    }
}
