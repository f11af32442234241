//! `central`'s age-aware load estimate (`estimate = "aged"`): per replica, the requests
//! expected now, from its last report drained by a fluid model at a rate the scheduler
//! learns from consecutive saturated reports and its own assignments, raised by one at each
//! assignment. Only what a real scheduler knows goes in: never the replicas' true state.

use super::ReplicaView;
use crate::time::SimTime;

/// What `estimate = "aged"` adds to a scheduler's view of one replica (kept apart, so that
/// the default estimate's view stays as small as it was).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AgedView {
    /// The requests expected at the replica at `at` (the report, then drained and raised
    /// by each assignment).
    pub(super) level: f64,
    pub(super) at: SimTime,
    /// Requests per second the replica finishes while all its slots are busy, learned from
    /// its reports (`None` until two reports in a row found it saturated).
    pub(super) drain_per_s: Option<f64>,
}

/// Weight of a new drain-rate sample in its running average.
pub(super) const DRAIN_WEIGHT: f64 = 0.2;

/// The requests left at a replica of `slots` slots that held `level` (expected) requests
/// `elapsed_s` ago, finishing `drain_per_s` requests a second while its slots are all busy:
/// a fluid model in which the queue drains linearly at the full rate and, once no more than
/// `slots` remain, each runs out at the per-slot rate (exponentially, as memoryless work
/// does).
pub(super) fn drained(level: f64, elapsed_s: f64, slots: f64, drain_per_s: f64) -> f64 {
    if level <= 0.0 || elapsed_s <= 0.0 || drain_per_s <= 0.0 {
        return level.max(0.0);
    }
    let (mut left, mut time) = (level, elapsed_s);
    if left > slots {
        let until_slots = (left - slots) / drain_per_s;
        if time <= until_slots {
            return left - drain_per_s * time;
        }
        time -= until_slots;
        left = slots;
    }
    left * (-time * drain_per_s / slots).exp()
}

impl AgedView {
    /// The requests expected at the replica at `now` under the aged estimate, drained at its
    /// own learned rate or else at `fallback` (its service's, for a replica never seen
    /// saturated: one the scheduler starves would otherwise never age, and never get work).
    pub(super) fn level_at(&self, now: SimTime, slots: u32, fallback: Option<f64>) -> f64 {
        match self.drain_per_s.or(fallback) {
            None => self.level,
            Some(rate) => drained(
                self.level,
                now.saturating_since(self.at).as_secs_f64(),
                f64::from(slots),
                rate,
            ),
        }
    }
}

/// Weight of a new sample in a service's drain rate (it gets one per saturated report of
/// any of its replicas, so many more than a replica does).
pub(super) const SERVICE_DRAIN_WEIGHT: f64 = 0.05;

/// A sample of the replica's drain rate from its report of `load` sent at `sent`, given
/// what the scheduler knew before it: when this report and the one before both found every
/// slot busy, the requests that left in between (the earlier load, plus the scheduler's
/// assignments since, minus this load) over the time between the reports. `None` otherwise.
pub(super) fn drain_sample(
    before: &ReplicaView,
    load: u32,
    sent: SimTime,
    slots: u32,
) -> Option<f64> {
    let span = sent.saturating_since(before.reported_at).as_secs_f64();
    let saturated = before.last_beat.is_some() && before.reported >= slots && load >= slots;
    let left = f64::from(before.reported) + f64::from(before.assigned_since) - f64::from(load);
    (saturated && span > 0.0).then(|| left.max(0.0) / span)
}

/// `sample` averaged into `rate` with weight `weight` (the sample itself for the first).
pub(super) fn average(rate: Option<f64>, sample: f64, weight: f64) -> f64 {
    match rate {
        None => sample,
        Some(rate) => rate + weight * (sample - rate),
    }
}

#[cfg(test)]
mod tests {
    use super::drained;

    #[test]
    fn a_queue_drains_linearly_to_the_slots_then_each_runs_out_exponentially() {
        // One slot finishing 100 a second: 5 requests are 3 after 20 ms, 1 after 40 ms,
        // then the last runs out at rate 100: e^-1 of it is left 10 ms later.
        assert!((drained(5.0, 0.020, 1.0, 100.0) - 3.0).abs() < 1e-12);
        assert!((drained(5.0, 0.040, 1.0, 100.0) - 1.0).abs() < 1e-12);
        assert!((drained(5.0, 0.050, 1.0, 100.0) - (-1.0f64).exp()).abs() < 1e-12);
        // Four slots finishing 400 a second: 2 running requests drain at 100 each.
        assert!((drained(2.0, 0.010, 4.0, 400.0) - 2.0 * (-1.0f64).exp()).abs() < 1e-12);
        // No time, no rate, or nothing there: as it was.
        assert_eq!(drained(3.0, 0.0, 1.0, 100.0), 3.0);
        assert_eq!(drained(3.0, 1.0, 1.0, 0.0), 3.0);
        assert_eq!(drained(0.0, 1.0, 1.0, 100.0), 0.0);
    }
}
