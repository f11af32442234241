//! The latency histogram: HDR buckets of three significant digits from 1 ns to 10^7 s, whose
//! counts start 32 bits wide and widen to 64 bits before any of them could saturate.
//!
//! Why not a `Histogram<u64>` from the start: every completed job records one latency, and
//! the counts a run touches (a few powers of two around its typical latency, 1,024 counts
//! each) are then twice the size, about 50 KiB instead of 25 KiB: more than a core's L1 data
//! cache holds next to the world's records. In the M/M/c profile (`perf record`) the load of
//! the count was most of the histogram's 6% of the run. A bucket's count never exceeds the
//! number of values recorded, so 32-bit counts are exact until 2^32 - 1 values; the
//! histogram copies itself into 64-bit counts before the one that could overflow. Quantiles
//! read the same counts either way, so the figures do not depend on the width.

use hdrhistogram::Histogram;

/// Largest latency the histogram resolves (longer ones are clamped to it): 10^7 s, the
/// longest run a scenario may ask for.
pub(crate) const LATENCY_MAX_NS: u64 = 10_000_000 * 1_000_000_000;

/// Values a 32-bit histogram takes before it widens: below this, no count can saturate.
const NARROW_LIMIT: u64 = u32::MAX as u64;

/// Latencies in nanoseconds, for quantiles (see the module's note).
#[derive(Debug)]
pub(crate) struct LatencyHistogram {
    counts: Counts,
    /// Values a narrow histogram may take before it widens (`NARROW_LIMIT`, lower in tests).
    narrow_limit: u64,
}

#[derive(Debug)]
enum Counts {
    Narrow(Histogram<u32>),
    Wide(Histogram<u64>),
}

impl LatencyHistogram {
    pub(crate) fn new() -> Self {
        Self::with_narrow_limit(NARROW_LIMIT)
    }

    fn with_narrow_limit(narrow_limit: u64) -> Self {
        let narrow = Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3)
            .expect("constant histogram bounds are valid");
        LatencyHistogram { counts: Counts::Narrow(narrow), narrow_limit }
    }

    /// Records one latency; one beyond the range is clamped to its end.
    #[inline]
    pub(crate) fn record(&mut self, nanos: u64) {
        match &mut self.counts {
            Counts::Narrow(h) if h.len() < self.narrow_limit => h.saturating_record(nanos),
            Counts::Narrow(_) => {
                self.widen();
                self.record(nanos);
            }
            Counts::Wide(h) => h.saturating_record(nanos),
        }
    }

    #[cold]
    fn widen(&mut self) {
        if let Counts::Narrow(h) = &self.counts {
            let mut wide = Histogram::<u64>::new_from(h);
            for bucket in h.iter_recorded() {
                // A bucket's highest equivalent value lands in the same bucket.
                let (value, count) = (bucket.value_iterated_to(), bucket.count_at_value());
                wide.saturating_record_n(value, u64::from(count));
            }
            self.counts = Counts::Wide(wide);
        }
    }

    /// Whether no latency was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        match &self.counts {
            Counts::Narrow(h) => h.is_empty(),
            Counts::Wide(h) => h.is_empty(),
        }
    }

    /// For each of `edges_ns` (ascending), how many latencies recorded are at most it
    /// (a value counts by the lowest value of its bucket: within 0.1% of itself).
    pub(crate) fn counts_within(&self, edges_ns: &[u64]) -> Vec<u64> {
        let buckets: Vec<(u64, u64)> = match &self.counts {
            Counts::Narrow(h) => h
                .iter_recorded()
                .map(|b| {
                    (h.lowest_equivalent(b.value_iterated_to()), u64::from(b.count_at_value()))
                })
                .collect(),
            Counts::Wide(h) => h
                .iter_recorded()
                .map(|b| (h.lowest_equivalent(b.value_iterated_to()), b.count_at_value()))
                .collect(),
        };
        let mut out = Vec::with_capacity(edges_ns.len());
        let (mut next, mut within) = (0, 0u64);
        for &edge in edges_ns {
            while next < buckets.len() && buckets[next].0 <= edge {
                within += buckets[next].1;
                next += 1;
            }
            out.push(within);
        }
        out
    }

    /// The latency at quantile `q` in [0, 1], in nanoseconds (0 when empty).
    pub(crate) fn value_at_quantile(&self, q: f64) -> u64 {
        match &self.counts {
            Counts::Narrow(h) => h.value_at_quantile(q),
            Counts::Wide(h) => h.value_at_quantile(q),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const QUANTILES: [f64; 7] = [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0];

    /// Quantiles of `values` in a plain 64-bit histogram of the same bounds: the reference.
    fn reference(values: &[u64]) -> Vec<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_NS, 3).unwrap();
        values.iter().for_each(|&v| h.saturating_record(v));
        QUANTILES.iter().map(|&q| h.value_at_quantile(q)).collect()
    }

    fn latencies(n: usize) -> Vec<u64> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        // Spread over nine decades, with a few out of range (clamped) and a few zeros.
        (0..n)
            .map(|i| match i % 97 {
                0 => 0,
                1 => LATENCY_MAX_NS * 2,
                _ => 10f64.powf(rng.random_range(0.0..9.0)) as u64 * 1_000,
            })
            .collect()
    }

    #[test]
    fn quantiles_are_those_of_a_64_bit_histogram_before_and_after_widening() {
        let values = latencies(5_000);
        for limit in [u64::MAX, 1, 1_000, 4_999, 5_000] {
            let mut h = LatencyHistogram::with_narrow_limit(limit);
            values.iter().for_each(|&v| h.record(v));
            let widened = matches!(h.counts, Counts::Wide(_));
            assert_eq!(widened, limit < 5_000, "limit {limit}");
            let got: Vec<u64> = QUANTILES.iter().map(|&q| h.value_at_quantile(q)).collect();
            assert_eq!(got, reference(&values), "limit {limit}");
        }
    }

    #[test]
    fn a_narrow_count_is_never_asked_to_pass_its_limit() {
        // With a limit of 3 values, the fourth widens first; every value lands in one bucket,
        // whose count reaches 10 only because the counts widened.
        let mut h = LatencyHistogram::with_narrow_limit(3);
        (0..10).for_each(|_| h.record(5_000));
        let Counts::Wide(wide) = &h.counts else { panic!("the histogram did not widen") };
        assert_eq!(wide.count_at(5_000), 10);
        assert!(!h.is_empty());
        assert!(LatencyHistogram::new().is_empty());
    }
}
