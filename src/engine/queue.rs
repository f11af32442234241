//! The pending-event set: a 4-ary heap ordered by `(time, scheduling sequence)`.
//!
//! Two events at the same nanosecond are popped in the order they were pushed. The sequence
//! number makes the order total, so the heap's internal layout never decides which of two
//! simultaneous events runs first, and a run is a pure function of its inputs.

use crate::time::SimTime;

/// Children per node. Four halves the depth of a binary heap; the four children of a node
/// sit next to each other in memory, and a pop (the common operation: every event is popped
/// once) walks half as many levels.
const ARITY: usize = 4;

/// One pending event with its ordering key (24 bytes with an 8-byte event).
#[derive(Clone, Copy, Debug)]
struct Scheduled<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> Scheduled<E> {
    #[inline]
    fn new(time: SimTime, seq: u64, event: E) -> Self {
        Scheduled { time: time.as_nanos(), seq, event }
    }

    /// `(time, seq)` as one number, so that ordering two events is one wide comparison
    /// without a branch.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }

    #[inline]
    fn time(&self) -> SimTime {
        SimTime::from_nanos(self.time)
    }
}

/// Pending events, popped by `(time, scheduling order)`.
///
/// A 4-ary min-heap written here rather than `std::collections::BinaryHeap`: the standard
/// heap is binary, and the event set is the one structure every event goes through twice.
/// (`benches/engine.rs` compares it with a `BinaryHeap` loop on the hold model.)
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: Vec<Scheduled<E>>,
    next_seq: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: Vec::with_capacity(capacity), next_seq: 0 }
    }

    /// Adds `event` at `time`; it runs after every event already queued for the same time.
    #[inline(always)]
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.insert(Scheduled::new(time, seq, event));
    }

    /// Takes the next scheduling sequence number without scheduling anything yet. An event
    /// pushed later with [`EventQueue::push_reserved`] and this number is ordered as if it
    /// had been pushed now: a model can keep a timer outside the queue and put it in only
    /// when it is due next, without changing the order of simultaneous events.
    #[inline]
    pub fn reserve(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Adds `event` at `time` in the place of sequence number `seq`, from
    /// [`EventQueue::reserve`]. Each reserved number is used at most once.
    #[inline]
    pub fn push_reserved(&mut self, time: SimTime, seq: u64, event: E) {
        debug_assert!(seq < self.next_seq, "sequence number {seq} was never reserved");
        self.insert(Scheduled::new(time, seq, event));
    }

    /// Removes and returns the earliest event.
    #[inline(always)]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let last = self.heap.pop()?;
        let Some(&top) = self.heap.first() else {
            return Some((last.time(), last.event));
        };
        self.settle_from_root(last);
        Some((top.time(), top.event))
    }

    /// Removes and returns the earliest event if it is not later than `end`.
    #[inline]
    pub fn pop_not_after(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        match self.heap.first() {
            Some(next) if next.time() <= end => self.pop(),
            _ => None,
        }
    }

    /// Drops every pending event (sequence numbers already handed out stay used).
    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// The number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Adds an entry: a hole opens at the bottom and moves up past every later parent, and
    /// the entry is written once, where the hole stops.
    #[inline(always)]
    fn insert(&mut self, entry: Scheduled<E>) {
        let key = entry.key();
        let mut hole = self.heap.len();
        self.heap.push(entry);
        let heap = self.heap.as_mut_slice();
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if heap[parent].key() <= key {
                break;
            }
            heap[hole] = heap[parent];
            hole = parent;
        }
        heap[hole] = entry;
    }

    /// Puts `entry` in the root's place (the root has been taken): a hole moves down from the
    /// root past every earlier child, and the entry is written once, where the hole stops.
    ///
    /// Moving a hole rather than swapping the entry down copies each displaced child once and
    /// keeps the entry in registers until the end; it also never reads back an entry just
    /// written, which on x86 stalls when the write was narrower than the read.
    #[inline(always)]
    fn settle_from_root(&mut self, entry: Scheduled<E>) {
        let heap = self.heap.as_mut_slice();
        let len = heap.len();
        let key = entry.key();
        let mut hole = 0;
        loop {
            let first = hole * ARITY + 1;
            let (best, best_key) = if first + ARITY <= len {
                // All four children: a tournament of three comparisons.
                let c = &heap[first..first + ARITY];
                let (k0, k1, k2, k3) = (c[0].key(), c[1].key(), c[2].key(), c[3].key());
                let (i01, k01) = if k1 < k0 { (1, k1) } else { (0, k0) };
                let (i23, k23) = if k3 < k2 { (3, k3) } else { (2, k2) };
                if k23 < k01 {
                    (first + i23, k23)
                } else {
                    (first + i01, k01)
                }
            } else if first < len {
                // The last, incomplete family at the bottom: one to three children, scanned
                // over a slice (a small heap, as in an M/M/c run, comes here on every pop).
                let mut best = (first, heap[first].key());
                for (i, child) in (first + 1..).zip(&heap[first + 1..]) {
                    let k = child.key();
                    if k < best.1 {
                        best = (i, k);
                    }
                }
                best
            } else {
                break;
            };
            if key <= best_key {
                break;
            }
            heap[hole] = heap[best];
            hole = best;
        }
        heap[hole] = entry;
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
    fn a_reserved_event_takes_the_place_of_its_reservation() {
        let mut q = EventQueue::default();
        let t = SimTime::from_nanos;
        q.push(t(5), 'a');
        let seq = q.reserve();
        q.push(t(5), 'c');
        q.push(t(3), 'x');
        // Pushed last, but reserved between 'a' and 'c': it runs between them.
        q.push_reserved(t(5), seq, 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['x', 'a', 'b', 'c']);
    }

    proptest::proptest! {
        /// Any interleaving of pushes and pops gives what a sorted reference set gives:
        /// the earliest `(time, push order)` first.
        #[test]
        fn pops_match_a_sorted_reference(
            ops in proptest::collection::vec(proptest::option::of(0u64..50), 0..400)
        ) {
            let mut q = EventQueue::default();
            let mut reference = std::collections::BTreeSet::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Some(time) => {
                        q.push(SimTime::from_nanos(time), n);
                        reference.insert((time, n));
                    }
                    None => {
                        let expected = reference.pop_first();
                        let got = q.pop().map(|(t, n)| (t.as_nanos(), n));
                        proptest::prop_assert_eq!(got, expected);
                    }
                }
                proptest::prop_assert_eq!(q.len(), reference.len());
            }
            while let Some(expected) = reference.pop_first() {
                proptest::prop_assert_eq!(q.pop().map(|(t, n)| (t.as_nanos(), n)), Some(expected));
            }
            proptest::prop_assert!(q.is_empty());
        }
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
