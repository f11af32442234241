//! `central`'s age-aware load estimate (`estimate = "aged"`): per replica, the requests
//! expected now, from its last report drained by a fluid model at a rate the scheduler
//! learns from consecutive saturated reports and its own assignments, raised by one at each
//! assignment. Only what a real scheduler knows goes in: never the replicas' true state.

use super::ReplicaView;
use crate::policy::fluid::drained;
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
