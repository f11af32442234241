//! The latency distribution a sweep draws: for the runs of its last cell, how many of the
//! measured jobs completed within each latency of a fixed logarithmic grid, kept with the
//! number of jobs that arrived, so that the CDF is over every job that arrived and the jobs
//! that failed or never finished show as the mass the curve never reaches.
//!
//! The grid is the same for every run ([`GRID_PER_DECADE`] latencies per decade from 1 µs
//! to 10^7 s, the histogram's range), so replications pool by adding their counts; a run stores only the stretch
//! between its first completion and the point where every completed job is counted. Counts
//! come from the run's HDR histogram (three significant digits), so a job is placed within
//! 0.1% of its latency, finer than the grid's 2.3% steps.

use serde::{Deserialize, Serialize};

use crate::metrics::latency::LatencyHistogram;

/// Latencies per decade on the grid.
pub const GRID_PER_DECADE: u32 = 100;

/// The grid's first latency is 10^`GRID_FROM_DECADE` ms (1 µs).
const GRID_FROM_DECADE: i32 = -3;

/// Decades the grid spans: up to 10^10 ms (10^7 s), the histogram's largest latency.
const GRID_DECADES: u32 = 13;

/// The latency of grid point `i`, in ms.
pub fn grid_ms(i: u32) -> f64 {
    10f64.powf(f64::from(GRID_FROM_DECADE) + f64::from(i) / f64::from(GRID_PER_DECADE))
}

fn grid_len() -> u32 {
    GRID_DECADES * GRID_PER_DECADE + 1
}

/// One run's counts of jobs completed within each grid latency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdfCounts {
    /// Jobs that arrived after the warm-up: the denominator.
    pub arrived: u64,
    /// The grid index of `within[0]`: the first grid latency any job completed within.
    pub first: u32,
    /// `within[k]`: measured jobs completed within grid latency `first + k`; the last entry
    /// is every measured job that completed, and the counts stay there beyond it.
    pub within: Vec<u64>,
}

impl CdfCounts {
    /// The counts of `histogram` (the measured completions) over `arrived` jobs.
    pub(crate) fn new(histogram: &LatencyHistogram, arrived: u64) -> CdfCounts {
        let edges_ns: Vec<u64> =
            (0..grid_len()).map(|i| (grid_ms(i) * 1e6).round() as u64).collect();
        let all = histogram.counts_within(&edges_ns);
        let total = all.last().copied().unwrap_or(0);
        let first = all.iter().position(|&n| n > 0).unwrap_or(all.len());
        let end = all.iter().position(|&n| n == total).map_or(all.len(), |i| i + 1).max(first);
        CdfCounts { arrived, first: first as u32, within: all[first..end].to_vec() }
    }

    /// Jobs completed within grid latency `i`.
    fn at(&self, i: u32) -> u64 {
        if i < self.first {
            0
        } else {
            let k = (i - self.first) as usize;
            self.within.get(k).or(self.within.last()).copied().unwrap_or(0)
        }
    }
}

/// The runs of one (cell, policy) pooled: per grid latency from the first any run reached
/// to the last any run needed, the jobs completed within it over all jobs arrived.
/// `None` when no run has counts or no job arrived.
pub fn pooled<'a>(runs: impl Iterator<Item = &'a CdfCounts>) -> Option<Vec<(f64, u64, u64)>> {
    let runs: Vec<&CdfCounts> = runs.collect();
    let arrived: u64 = runs.iter().map(|r| r.arrived).sum();
    if arrived == 0 {
        return None;
    }
    let from = runs.iter().filter(|r| !r.within.is_empty()).map(|r| r.first).min()?;
    let to = runs.iter().map(|r| r.first + r.within.len() as u32).max()?;
    Some(
        (from..to)
            .map(|i| (grid_ms(i), runs.iter().map(|r| r.at(i)).sum::<u64>(), arrived))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(latencies_ms: &[f64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::new();
        for &ms in latencies_ms {
            h.record((ms * 1e6) as u64);
        }
        h
    }

    #[test]
    fn the_grid_is_a_hundred_points_per_decade_from_a_microsecond() {
        assert!((grid_ms(0) - 1e-3).abs() < 1e-15);
        assert!((grid_ms(300) - 1.0).abs() < 1e-12);
        assert!((grid_ms(500) - 100.0).abs() < 1e-9);
        assert!((grid_ms(grid_len() - 1) / 1e10 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn counts_run_from_the_first_completion_to_the_last_and_leave_failures_out() {
        // Four jobs arrived, three completed: at 1, 10 and 100 ms (grid points 300, 400, 500).
        let c = CdfCounts::new(&histogram(&[1.0, 10.0, 100.0]), 4);
        assert_eq!(c.arrived, 4);
        assert_eq!(c.first, 300);
        assert_eq!(c.within.len(), 201);
        assert_eq!((c.at(299), c.at(300), c.at(399), c.at(400), c.at(500)), (0, 1, 1, 2, 3));
        // Beyond the stored stretch the count stays at every completion, never at arrivals:
        // the curve ends at 3/4.
        assert_eq!(c.at(900), 3);
        let pooled = pooled(std::iter::once(&c)).unwrap();
        let (ms, within, arrived) = *pooled.last().unwrap();
        assert!((ms - 100.0).abs() < 1e-9);
        assert_eq!((within, arrived), (3, 4));
    }

    #[test]
    fn replications_pool_by_adding_counts_over_the_union_of_their_stretches() {
        let a = CdfCounts::new(&histogram(&[1.0]), 1);
        let b = CdfCounts::new(&histogram(&[10.0, 10.0]), 3);
        let pooled = pooled([&a, &b].into_iter()).unwrap();
        assert_eq!(pooled.len(), 101, "grid points 300 to 400");
        assert_eq!((pooled[0].1, pooled[0].2), (1, 4));
        assert_eq!((pooled[99].1, pooled[100].1), (1, 3));
    }

    #[test]
    fn no_completion_gives_an_empty_stretch_and_no_arrival_no_curve() {
        let none = CdfCounts::new(&histogram(&[]), 5);
        assert!(none.within.is_empty());
        assert!(pooled(std::iter::once(&none)).is_none(), "nothing to draw");
        let idle = CdfCounts::new(&histogram(&[]), 0);
        assert!(pooled(std::iter::once(&idle)).is_none());
    }
}
