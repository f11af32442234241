//! What placement decisions knew (docs/model.md section 8, "staleness"): the age of the
//! information each measured decision used about the replica it chose
//! (`decision_staleness_mean_ms`, `_p99_ms`), and for gossip how long news took to reach
//! every agent (`gossip_spread_s`, `gossip_spread_rounds`).
//!
//! Most decisions of most policies see the present (probes, the agent's own counts) and are
//! counted, not recorded: only an age above zero touches the histogram, so the baselines pay
//! one increment per decision.

use super::latency::LatencyHistogram;
use crate::time::SimDuration;

/// Decision ages of the measured span.
#[derive(Debug, Default)]
pub(super) struct DecisionTally {
    decisions: u64,
    /// Decisions on information older than zero, their ages' sum and distribution.
    stale: u64,
    stale_sum_ns: u128,
    histogram: Option<LatencyHistogram>,
    spreads: u64,
    spread_ns: u128,
    spread_rounds: f64,
}

impl DecisionTally {
    #[inline(always)]
    pub(super) fn decision(&mut self, staleness: SimDuration) {
        self.decisions += 1;
        if staleness > SimDuration::ZERO {
            self.stale_decision(staleness);
        }
    }

    #[cold]
    fn stale_decision(&mut self, staleness: SimDuration) {
        self.stale += 1;
        self.stale_sum_ns += u128::from(staleness.as_nanos());
        self.histogram.get_or_insert_with(LatencyHistogram::new).record(staleness.as_nanos());
    }

    pub(super) fn spread(&mut self, time: SimDuration, rounds: f64) {
        self.spreads += 1;
        self.spread_ns += u128::from(time.as_nanos());
        self.spread_rounds += rounds;
    }

    /// Mean staleness in ms (NaN without decisions).
    pub(super) fn mean_ms(&self) -> f64 {
        if self.decisions == 0 {
            return f64::NAN;
        }
        self.stale_sum_ns as f64 / self.decisions as f64 * 1e-6
    }

    /// The `q` quantile of staleness in ms, the zeros counted (NaN without decisions): the
    /// value of rank `q x decisions`, which is 0 while the rank falls among the zeros and
    /// otherwise the matching quantile of the recorded ages.
    pub(super) fn quantile_ms(&self, q: f64) -> f64 {
        if self.decisions == 0 {
            return f64::NAN;
        }
        let zeros = (self.decisions - self.stale) as f64;
        let rank = q * self.decisions as f64;
        match &self.histogram {
            Some(h) if rank > zeros => {
                let within = ((rank - zeros) / self.stale as f64).min(1.0);
                h.value_at_quantile(within) as f64 * 1e-6
            }
            _ => 0.0,
        }
    }

    /// Mean spread (rounds, seconds); NaN when none completed.
    pub(super) fn spread_means(&self) -> (f64, f64) {
        if self.spreads == 0 {
            return (f64::NAN, f64::NAN);
        }
        let n = self.spreads as f64;
        (self.spread_rounds / n, self.spread_ns as f64 * 1e-9 / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_count_in_the_mean_and_the_quantiles() {
        let mut t = DecisionTally::default();
        assert!(t.mean_ms().is_nan() && t.quantile_ms(0.99).is_nan());
        // 98 decisions on the present, two on news 50 ms and 100 ms old.
        for _ in 0..98 {
            t.decision(SimDuration::ZERO);
        }
        t.decision(SimDuration::from_millis(50));
        t.decision(SimDuration::from_millis(100));
        assert!((t.mean_ms() - 1.5).abs() < 1e-9, "150 ms over 100 decisions");
        assert_eq!(t.quantile_ms(0.98), 0.0, "rank 98 is the last zero");
        // Rank 99 is the first recorded age; rank 100 the largest (histogram: 0.1%).
        assert!((t.quantile_ms(0.99) - 50.0).abs() < 0.05, "{}", t.quantile_ms(0.99));
        assert!((t.quantile_ms(1.0) - 100.0).abs() < 0.1, "{}", t.quantile_ms(1.0));
    }

    #[test]
    fn spreads_average() {
        let mut t = DecisionTally::default();
        assert!(t.spread_means().0.is_nan());
        t.spread(SimDuration::from_millis(300), 3.0);
        t.spread(SimDuration::from_millis(500), 5.0);
        assert_eq!(t.spread_means(), (4.0, 0.4));
    }
}
