//! The run fingerprint: a running 64-bit hash of the processed `(time, event)` sequence.
//!
//! It is a cheap equality check between runs (same inputs, same fingerprint), not a
//! cryptographic digest. The mixing step is the multiply-rotate of FxHash, which costs one
//! multiplication per word and is therefore affordable on every event; the final value goes
//! through the SplitMix64 finalizer so that nearby sequences print as unrelated numbers.

use std::fmt;

const MIX: u64 = 0x517c_c1b7_2722_0a95;

/// Hash of a run's processed event sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprint {
    /// The fingerprint of an empty run.
    pub const fn new() -> Self {
        Fingerprint(0)
    }

    /// Folds one processed event into the hash.
    #[inline]
    pub fn add(&mut self, time_nanos: u64, digest: u64) {
        self.0 = (self.0.rotate_left(5) ^ time_nanos).wrapping_mul(MIX);
        self.0 = (self.0.rotate_left(5) ^ digest).wrapping_mul(MIX);
    }

    /// The finished 64-bit value.
    pub fn value(self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl fmt::Display for Fingerprint {
    /// Sixteen lowercase hex digits, the form used in CSV files and on the terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.value())
    }
}
