//! Timer lanes: timers of one constant delay, kept in a FIFO outside the event set.
//!
//! Many timers are set with a delay that is the same every time (a class's job deadline, a
//! unit's attempt timeout, a fixed hedging delay), so they come due in the order they were
//! set, and most of them never matter: the job completes, the attempt answers, long before.
//! Scheduled as one event each, they crowd the event set (`checkout` holds 600 to 1,800
//! stale job deadlines at any moment, which makes every push and pop dearer) and each costs
//! an event that finds nothing to do. A lane keeps them in arrival order instead and has at
//! most one event in the set, for its earliest timer that may still matter.
//!
//! Each timer takes its place in the order of events when it is set
//! ([`Schedule::reserve`](crate::engine::Schedule::reserve)); the lane's event is scheduled
//! in that place, so simultaneous events run in exactly the order they would with one event
//! per timer. A run differs from one without lanes only by the timer events that would have
//! done nothing (fewer `events`, another fingerprint); every figure is the same.
//!
//! The lane does not know what a timer means: the world says which timers can no longer do
//! anything (their job ended, their attempt answered) before a lane is armed again.

use std::collections::VecDeque;

use crate::time::{SimDuration, SimTime};

/// Lanes of timers, one per distinct delay.
#[derive(Debug)]
pub(super) struct TimerLanes<T> {
    lanes: Vec<Lane<T>>,
}

#[derive(Debug)]
struct Lane<T> {
    delay: SimDuration,
    /// Timers in due order: due time, reserved sequence number, the timer.
    entries: VecDeque<(SimTime, u64, T)>,
    /// Whether the lane has an event in the set, or is handling the timer it went off for
    /// (then a timer pushed meanwhile must not schedule a second event).
    armed: bool,
}

impl<T: Copy> TimerLanes<T> {
    pub(super) fn new() -> Self {
        TimerLanes { lanes: Vec::new() }
    }

    /// The lane for timers of `delay`, created on first use. (There are few distinct
    /// delays, one per class deadline and unit setting, so a scan is cheapest.)
    pub(super) fn lane(&mut self, delay: SimDuration) -> u32 {
        match self.lanes.iter().position(|l| l.delay == delay) {
            Some(i) => i as u32,
            None => {
                self.lanes.push(Lane { delay, entries: VecDeque::new(), armed: false });
                (self.lanes.len() - 1) as u32
            }
        }
    }

    /// Adds a timer due at `due` with sequence number `seq`. Returns whether the lane was
    /// idle: then the caller schedules the lane's event at `(due, seq)`.
    pub(super) fn push(&mut self, lane: u32, due: SimTime, seq: u64, timer: T) -> bool {
        let lane = &mut self.lanes[lane as usize];
        debug_assert!(lane.entries.back().is_none_or(|e| e.0 <= due), "timers out of order");
        debug_assert!(lane.armed || lane.entries.is_empty(), "an idle lane holds no timers");
        lane.entries.push_back((due, seq, timer));
        !std::mem::replace(&mut lane.armed, true)
    }

    /// The lane's event went off: takes the timer it was for. The lane stays armed (pushes
    /// schedule nothing) until [`TimerLanes::arm`].
    pub(super) fn fire(&mut self, lane: u32, now: SimTime) -> T {
        let lane = &mut self.lanes[lane as usize];
        debug_assert!(lane.armed, "a lane went off without an event");
        let (due, _, timer) = lane.entries.pop_front().expect("an armed lane holds its timer");
        debug_assert_eq!(due, now, "a lane went off at the wrong time");
        timer
    }

    /// The lane's earliest timer.
    pub(super) fn head(&self, lane: u32) -> Option<T> {
        self.lanes[lane as usize].entries.front().map(|e| e.2)
    }

    /// Forgets the lane's earliest timer (it can no longer do anything).
    pub(super) fn drop_head(&mut self, lane: u32) {
        self.lanes[lane as usize].entries.pop_front();
    }

    /// Arms the lane for its earliest timer: returns where its event goes, or `None` when
    /// the lane is empty (and now idle).
    pub(super) fn arm(&mut self, lane: u32) -> Option<(SimTime, u64)> {
        let lane = &mut self.lanes[lane as usize];
        let next = lane.entries.front().map(|e| (e.0, e.1));
        lane.armed = next.is_some();
        next
    }

    /// Timers waiting in all lanes.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lanes.iter().map(|l| l.entries.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_has_one_event_and_skips_dead_timers() {
        let t = SimTime::from_nanos;
        let mut lanes = TimerLanes::new();
        let a = lanes.lane(SimDuration::from_nanos(10));
        assert_eq!(lanes.lane(SimDuration::from_nanos(20)), a + 1);
        assert_eq!(lanes.lane(SimDuration::from_nanos(10)), a, "one lane per delay");
        // Three timers: only the first push asks for an event.
        assert!(lanes.push(a, t(10), 0, 'x'));
        assert!(!lanes.push(a, t(11), 1, 'y'));
        assert!(!lanes.push(a, t(12), 2, 'z'));
        // 'x' goes off; while it is handled, a new timer schedules nothing.
        assert_eq!(lanes.fire(a, t(10)), 'x');
        assert!(!lanes.push(a, t(20), 3, 'w'));
        // 'y' is dead: dropped without an event; the lane is armed for 'z' in its place.
        assert_eq!(lanes.head(a), Some('y'));
        lanes.drop_head(a);
        assert_eq!(lanes.arm(a), Some((t(12), 2)));
        assert_eq!(lanes.fire(a, t(12)), 'z');
        assert_eq!(lanes.arm(a), Some((t(20), 3)));
        assert_eq!(lanes.fire(a, t(20)), 'w');
        assert_eq!(lanes.arm(a), None);
        assert_eq!(lanes.len(), 0);
        // Idle again: the next push asks for an event.
        assert!(lanes.push(a, t(30), 4, 'v'));
    }
}
