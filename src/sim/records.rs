//! Records: the keyed store of the world's live jobs and attempts.
//!
//! A record gets a small integer key when it is inserted; the key names it in events and in
//! other records until it is removed, and is then reused, the most recently freed key first
//! (the same keys, in the same order, as the `slab` crate gives, so events and fingerprints do
//! not depend on which of the two stores a run used).
//!
//! Why not `slab` for these two: every job of every run inserts and removes one job record
//! and at least one attempt record. `Slab::insert` takes the record by value: it is built in
//! a temporary and then copied into its slot in wide pieces, and `Slab::remove` copies it
//! out whole. On x86 a wide read of bytes written a moment earlier by narrower writes cannot
//! be served from the store buffer and stalls; the M/M/c profile (`perf record`) put about
//! 10% of the run in these copies. Here the caller takes a vacant slot first and writes the
//! record into it in place (`*slot = Job { .. }` stores each field where it lives), and a
//! removal only marks the slot vacant. A vacant slot keeps its last record, which nothing
//! can reach until the slot is written again. Other records (tasks, messages, timers) are
//! rarer and stay in `slab`.

use std::ops::{Index, IndexMut};

#[derive(Debug)]
struct Slot<T> {
    record: T,
    occupied: bool,
}

/// Records of type `T` under reusable `usize` keys.
#[derive(Debug)]
pub(super) struct Records<T> {
    slots: Vec<Slot<T>>,
    /// Vacant keys, the most recently freed last.
    free: Vec<usize>,
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Records { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T: Default> Records<T> {
    /// Takes a vacant slot (the most recently freed, or a new one) and returns its key and
    /// the slot, which the caller must fill at once: `*slot = T { .. }`. Until then it holds
    /// a stale or default record.
    #[inline(always)]
    pub(super) fn vacant(&mut self) -> (usize, &mut T) {
        let key = match self.free.pop() {
            Some(key) => key,
            None => {
                self.slots.push(Slot { record: T::default(), occupied: false });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[key];
        slot.occupied = true;
        (key, &mut slot.record)
    }

    /// Stores `record` and returns its key (see [`Records::vacant`] for the in-place form).
    #[cfg(test)]
    pub(super) fn insert(&mut self, record: T) -> usize {
        let (key, slot) = self.vacant();
        *slot = record;
        key
    }
}

impl<T> Records<T> {
    /// The number of records.
    pub(super) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Removes the record under `key`. Read what is needed from it first: the record is not
    /// moved out (see the module's note).
    ///
    /// # Panics
    /// If no record has that key.
    #[inline]
    pub(super) fn remove(&mut self, key: usize) {
        let slot = &mut self.slots[key];
        assert!(slot.occupied, "removing a record that is not there");
        slot.occupied = false;
        self.free.push(key);
    }

    /// The record under `key`, if there is one.
    #[inline]
    pub(super) fn get(&self, key: usize) -> Option<&T> {
        self.slots.get(key).filter(|slot| slot.occupied).map(|slot| &slot.record)
    }

    /// The record under `key`, if there is one, for changing.
    #[inline]
    pub(super) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        self.slots.get_mut(key).filter(|slot| slot.occupied).map(|slot| &mut slot.record)
    }

    /// Whether a record has this key.
    pub(super) fn contains(&self, key: usize) -> bool {
        self.get(key).is_some()
    }

    /// Every record with its key, by key.
    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots.iter().enumerate().filter(|(_, slot)| slot.occupied).map(|(k, s)| (k, &s.record))
    }
}

impl<T> Index<usize> for Records<T> {
    type Output = T;

    #[inline]
    fn index(&self, key: usize) -> &T {
        self.get(key).expect("no record under this key")
    }
}

impl<T> IndexMut<usize> for Records<T> {
    #[inline]
    fn index_mut(&mut self, key: usize) -> &mut T {
        self.get_mut(key).expect("no record under this key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are reused most recently freed first, as `slab` reuses them: the property the
    /// fingerprints of existing runs rely on. Checked against `slab` itself on random
    /// sequences of inserts and removes.
    #[test]
    fn keys_follow_slab_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let mut ours = Records::default();
            let mut reference = slab::Slab::new();
            let mut live: Vec<usize> = Vec::new();
            for step in 0..400u32 {
                if live.is_empty() || rng.random_bool(0.55) {
                    let (a, b) = (ours.insert(step), reference.insert(step));
                    assert_eq!(a, b, "insert {step}");
                    live.push(a);
                } else {
                    let key = live.swap_remove(rng.random_range(0..live.len()));
                    assert_eq!(ours[key], reference[key]);
                    ours.remove(key);
                    reference.remove(key);
                }
                assert_eq!(ours.len(), reference.len());
                assert!(ours
                    .iter()
                    .map(|(k, v)| (k, *v))
                    .eq(reference.iter().map(|(k, v)| (k, *v))));
            }
        }
    }

    #[test]
    fn a_removed_key_holds_nothing_until_reused() {
        let mut records = Records::default();
        let a = records.insert('a');
        let b = records.insert('b');
        records.remove(a);
        assert!(!records.contains(a) && records.get(a).is_none());
        assert_eq!(records[b], 'b');
        assert_eq!(records.insert('c'), a);
        assert_eq!(records[a], 'c');
        assert_eq!(records.len(), 2);
    }
}
