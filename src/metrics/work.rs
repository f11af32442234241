//! Where the service time went (docs/model.md section 8, "duplicated and wasted work"):
//! every execution's service-seconds as useful or duplicate (`dup_work_ratio`, the duplicate
//! executions by source), and, apart from that split, as used or wasted by cause
//! (`wasted_work_ratio` and its parts). An execution whose result its task used is wasted
//! only if its job then fails, which is known at the job's end; the world keeps those
//! service-seconds per job until then.

use crate::time::SimDuration;

/// Why a duplicate execution exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DupSource {
    /// A retry after a timeout or a failure.
    TimeoutRetry,
    /// A hedged request.
    Hedge,
    /// A re-auction.
    Reauction,
    /// A conflicting claim.
    ConflictingClaim,
    /// Work placed again because its requester wrongly suspected a live replica.
    FalseSuspicion,
}

/// Why an execution's result was not used (the first cause that applied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waste {
    /// Its requester had timed out on it (or its job's deadline passed) before it answered.
    Timeout,
    /// Its requester cancelled it while it ran (another copy had won).
    Cancelled,
    /// Its replica crashed, or a control agent restarted or removed it, while it ran.
    Crash,
    /// It ran to the end, but another copy's result had been used.
    Duplicate,
    /// It answered with a failure, or its result was used by a job that ended failed.
    Failed,
}

impl Waste {
    /// Every cause, in the order of the `wasted_<cause>` columns.
    pub const ALL: [Waste; 5] =
        [Waste::Timeout, Waste::Cancelled, Waste::Crash, Waste::Duplicate, Waste::Failed];
}

/// Service time accounting of the measured span.
#[derive(Debug, Default)]
pub(super) struct WorkTally {
    pub(super) useful_ns: u128,
    pub(super) duplicate_ns: u128,
    pub(super) dup_timeout_retry: u64,
    pub(super) dup_hedge: u64,
    pub(super) dup_reauction: u64,
    pub(super) dup_conflicting_claim: u64,
    pub(super) dup_false_suspicion: u64,
    /// Wasted service time by cause, in the order of `Waste::ALL`.
    wasted_ns: [u128; 5],
}

impl WorkTally {
    /// A measured execution: useful or duplicate, and wasted or not (yet).
    #[inline(always)]
    pub(super) fn execution(
        &mut self,
        executed: SimDuration,
        duplicate: Option<DupSource>,
        waste: Option<Waste>,
    ) {
        let ns = u128::from(executed.as_nanos());
        match duplicate {
            None => self.useful_ns += ns,
            Some(source) => {
                self.duplicate_ns += ns;
                match source {
                    DupSource::TimeoutRetry => self.dup_timeout_retry += 1,
                    DupSource::Hedge => self.dup_hedge += 1,
                    DupSource::Reauction => self.dup_reauction += 1,
                    DupSource::ConflictingClaim => self.dup_conflicting_claim += 1,
                    DupSource::FalseSuspicion => self.dup_false_suspicion += 1,
                }
            }
        }
        if let Some(cause) = waste {
            self.wasted_ns[cause as usize] += ns;
        }
    }

    /// Used service time (measured) of a job that ended failed: wasted after all.
    pub(super) fn failed_job(&mut self, used_ns: u64) {
        self.wasted_ns[Waste::Failed as usize] += u128::from(used_ns);
    }

    /// All service time executed in the measured span.
    pub(super) fn executed_ns(&self) -> u128 {
        self.useful_ns + self.duplicate_ns
    }

    pub(super) fn dup_executions(&self) -> u64 {
        self.dup_timeout_retry
            + self.dup_hedge
            + self.dup_reauction
            + self.dup_conflicting_claim
            + self.dup_false_suspicion
    }

    /// Service time of `share` over all executed (0 when nothing executed).
    fn share(&self, ns: u128) -> f64 {
        match self.executed_ns() {
            0 => 0.0,
            all => ns as f64 / all as f64,
        }
    }

    pub(super) fn dup_work_ratio(&self) -> f64 {
        self.share(self.duplicate_ns)
    }

    /// The wasted share of all service time, and its parts in the order of `Waste::ALL`.
    pub(super) fn wasted(&self) -> (f64, [f64; 5]) {
        let parts = self.wasted_ns.map(|ns| self.share(ns));
        (self.share(self.wasted_ns.iter().sum()), parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasted_parts_add_up_and_stay_apart_from_duplicates() {
        let mut t = WorkTally::default();
        let ms = SimDuration::from_millis;
        // 60 ms useful and used, 10 ms duplicate that ran to the end, 20 ms timed out (a
        // useful original whose retry won would be duplicate; here it is the original the
        // task fell back on), 10 ms used by a job that then failed.
        t.execution(ms(60), None, None);
        t.execution(ms(10), Some(DupSource::Hedge), Some(Waste::Duplicate));
        t.execution(ms(20), None, Some(Waste::Timeout));
        t.execution(ms(10), None, None);
        t.failed_job(ms(10).as_nanos());
        let (ratio, parts) = t.wasted();
        assert!((t.dup_work_ratio() - 0.1).abs() < 1e-12);
        assert!((ratio - 0.4).abs() < 1e-12, "{ratio}");
        assert_eq!(parts.map(|p| (p * 100.0).round()), [20.0, 0.0, 0.0, 10.0, 10.0]);
        assert_eq!(t.dup_executions(), 1);
        assert!((parts.iter().sum::<f64>() - ratio).abs() < 1e-12);
    }
}
