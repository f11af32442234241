//! The discrete-event engine: a clock, a totally ordered event set and the loop that drains it.
//!
//! The engine knows time, events and random streams and nothing of services, jobs or policies,
//! so it can be tested and benchmarked alone (`benches/engine.rs` runs the classic hold model
//! on it). A model plugs in by implementing [`Model`]: the engine pops the earliest event,
//! advances the clock, folds the event into the run's [`Fingerprint`], and hands it to
//! [`Model::handle`] together with a [`Schedule`] for scheduling follow-up events.
//!
//! The engine does no IO, reads no wall clock, starts no threads and allocates nothing per
//! event beyond the event set's own storage.

mod fingerprint;
mod queue;
mod stream;

pub use fingerprint::Fingerprint;
pub use queue::EventQueue;
pub use stream::{derive_stream, SimRng};

use crate::time::{SimDuration, SimTime};

/// A simulation model driven by the engine.
pub trait Model {
    /// The closed set of things that can happen in this model: small plain values (an
    /// event names what it is about by key or index), copied in and out of the event set.
    type Event: EventDigest + Copy;

    /// Reacts to `event`, which happens at `schedule.now()`.
    fn handle(&mut self, event: Self::Event, schedule: &mut Schedule<Self::Event>);
}

/// A cheap 64-bit summary of an event, folded into the run's fingerprint.
///
/// Two runs that process the same events at the same times get the same fingerprint; a
/// digest should therefore cover the event's kind and the identifiers it carries.
pub trait EventDigest {
    /// The digest of this event (need not be collision-free; it is a check, not a key).
    fn digest(&self) -> u64;
}

impl EventDigest for () {
    fn digest(&self) -> u64 {
        0
    }
}

/// The clock and the pending events, as a model sees them while handling an event.
#[derive(Debug)]
pub struct Schedule<E> {
    now: SimTime,
    queue: EventQueue<E>,
}

impl<E: Copy> Schedule<E> {
    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `time`, which must not be in the past.
    ///
    /// # Panics
    /// In debug builds, if `time` is earlier than [`Schedule::now`] (a model bug).
    #[inline(always)]
    pub fn at(&mut self, time: SimTime, event: E) {
        debug_assert!(time >= self.now, "event scheduled in the past: {time} < {}", self.now);
        self.queue.push(time, event);
    }

    /// Schedules `event` after `delay`.
    #[inline(always)]
    pub fn after(&mut self, delay: SimDuration, event: E) {
        self.queue.push(self.now + delay, event);
    }

    /// Reserves a place in the order of events scheduled now, for an event that will be
    /// scheduled later with [`Schedule::at_reserved`] (see [`EventQueue::reserve`]).
    #[inline]
    pub fn reserve(&mut self) -> u64 {
        self.queue.reserve()
    }

    /// Schedules `event` at `time`, ordered among simultaneous events as if it had been
    /// scheduled when `seq` was reserved.
    ///
    /// # Panics
    /// In debug builds, if `time` is earlier than [`Schedule::now`] (a model bug).
    #[inline]
    pub fn at_reserved(&mut self, time: SimTime, seq: u64, event: E) {
        debug_assert!(time >= self.now, "event scheduled in the past: {time} < {}", self.now);
        self.queue.push_reserved(time, seq, event);
    }

    /// Ends the run: drops every pending event, so that the engine's loop returns after the
    /// event being handled (a model whose driver stops it early).
    pub fn halt(&mut self) {
        self.queue.clear();
    }

    /// The number of events waiting.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

/// What the engine itself measured over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineStats {
    /// Events processed.
    pub events: u64,
    /// Hash of the processed `(time, event digest)` sequence.
    pub fingerprint: Fingerprint,
    /// The clock when the run stopped.
    pub now: SimTime,
}

/// Runs a [`Model`] by draining its event set in `(time, scheduling order)`.
#[derive(Debug)]
pub struct Engine<M: Model> {
    model: M,
    schedule: Schedule<M::Event>,
    events: u64,
    fingerprint: Fingerprint,
}

impl<M: Model> Engine<M> {
    /// An engine at time zero with no pending events.
    pub fn new(model: M) -> Self {
        Self::with_capacity(model, 0)
    }

    /// Like [`Engine::new`], with room for `capacity` pending events before the event set
    /// grows.
    pub fn with_capacity(model: M, capacity: usize) -> Self {
        Engine {
            model,
            schedule: Schedule { now: SimTime::ZERO, queue: EventQueue::with_capacity(capacity) },
            events: 0,
            fingerprint: Fingerprint::new(),
        }
    }

    /// The schedule, for seeding the initial events before [`Engine::run_until`].
    pub fn schedule(&mut self) -> &mut Schedule<M::Event> {
        &mut self.schedule
    }

    /// The model, for reading its state between runs.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Mutable access to the model and the schedule together, e.g. to let the model seed its
    /// own initial events.
    pub fn parts(&mut self) -> (&mut M, &mut Schedule<M::Event>) {
        (&mut self.model, &mut self.schedule)
    }

    /// Processes every event whose time is at most `end`, then sets the clock to `end`.
    /// Events after `end` stay pending.
    pub fn run_until(&mut self, end: SimTime) -> EngineStats {
        while let Some((time, event)) = self.schedule.queue.pop_not_after(end) {
            self.process(time, event);
        }
        self.schedule.now = self.schedule.now.max(end);
        self.stats()
    }

    /// Like [`Engine::run_until`], stopping early, right after an event that leaves
    /// `stop(time, model)` true (a decision waiting for someone outside the engine): the clock then
    /// stands at that event and the events after it stay pending. Returns whether it stopped
    /// early. Resuming runs the same events in the same order as a run that never stopped.
    pub fn run_until_or(
        &mut self,
        end: SimTime,
        mut stop: impl FnMut(SimTime, &M) -> bool,
    ) -> bool {
        while let Some((time, event)) = self.schedule.queue.pop_not_after(end) {
            self.process(time, event);
            if stop(time, &self.model) {
                return true;
            }
        }
        self.schedule.now = self.schedule.now.max(end);
        false
    }

    /// Processes the earliest pending event, if any, and returns its time.
    #[inline]
    pub fn step(&mut self) -> Option<SimTime> {
        let (time, event) = self.schedule.queue.pop()?;
        self.process(time, event);
        Some(time)
    }

    /// Moves the clock to an event just taken from the queue, folds it into the
    /// fingerprint and hands it to the model.
    #[inline(always)]
    fn process(&mut self, time: SimTime, event: M::Event) {
        debug_assert!(time >= self.schedule.now, "time went backwards");
        self.schedule.now = time;
        self.events += 1;
        self.fingerprint.add(time.as_nanos(), event.digest());
        self.model.handle(event, &mut self.schedule);
    }

    /// Events processed so far, the fingerprint and the clock.
    pub fn stats(&self) -> EngineStats {
        EngineStats { events: self.events, fingerprint: self.fingerprint, now: self.schedule.now }
    }

    /// Ends the run and returns the model.
    pub fn into_model(self) -> M {
        self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the order events are handled in and schedules a chain of follow-ups.
    struct Recorder {
        seen: Vec<(u64, u32)>,
    }

    #[derive(Clone, Copy, Debug)]
    struct Tick(u32);

    impl EventDigest for Tick {
        fn digest(&self) -> u64 {
            u64::from(self.0)
        }
    }

    impl Model for Recorder {
        type Event = Tick;
        fn handle(&mut self, event: Tick, schedule: &mut Schedule<Tick>) {
            self.seen.push((schedule.now().as_nanos(), event.0));
            if event.0 == 1 {
                // Same-time follow-up: must run after everything already scheduled at t=5.
                schedule.after(SimDuration::ZERO, Tick(10));
            }
        }
    }

    fn run(ticks: &[(u64, u32)], end: u64) -> (Vec<(u64, u32)>, EngineStats) {
        let mut engine = Engine::new(Recorder { seen: Vec::new() });
        for &(t, id) in ticks {
            engine.schedule().at(SimTime::from_nanos(t), Tick(id));
        }
        let stats = engine.run_until(SimTime::from_nanos(end));
        (engine.into_model().seen, stats)
    }

    #[test]
    fn equal_times_run_in_scheduling_order_and_follow_ups_go_last() {
        let (seen, stats) = run(&[(5, 1), (3, 0), (5, 2), (5, 3), (9, 4)], 100);
        assert_eq!(seen, vec![(3, 0), (5, 1), (5, 2), (5, 3), (5, 10), (9, 4)]);
        assert_eq!(stats.events, 6);
        assert_eq!(stats.now, SimTime::from_nanos(100));
    }

    #[test]
    fn stopping_early_and_resuming_runs_the_same_events() {
        let ticks = [(5, 1), (5, 2), (3, 3), (9, 4), (12, 5), (12, 6)];
        let (whole, stats) = run(&ticks, 20);
        let mut engine = Engine::new(Recorder { seen: Vec::new() });
        for &(t, id) in &ticks {
            engine.schedule().at(SimTime::from_nanos(t), Tick(id));
        }
        // Stop after every event of an even id (the same-time follow-up 10 included).
        let mut stops = Vec::new();
        while engine.run_until_or(SimTime::from_nanos(20), |_, m| {
            m.seen.last().is_some_and(|&(_, id)| id % 2 == 0)
        }) {
            stops.push(engine.stats().now.as_nanos());
        }
        assert_eq!(stops, vec![5, 5, 9, 12], "it stands at each stopping event");
        assert_eq!(engine.model().seen, whole);
        assert_eq!(engine.stats(), stats);
    }

    #[test]
    fn events_after_the_end_stay_pending() {
        let mut engine = Engine::new(Recorder { seen: Vec::new() });
        engine.schedule().at(SimTime::from_nanos(7), Tick(0));
        engine.schedule().at(SimTime::from_nanos(8), Tick(2));
        let stats = engine.run_until(SimTime::from_nanos(7));
        assert_eq!(stats.events, 1);
        assert_eq!(engine.schedule().pending(), 1);
    }

    #[test]
    fn fingerprint_depends_on_times_and_events() {
        let (_, a) = run(&[(1, 5), (2, 6)], 10);
        let (_, b) = run(&[(1, 5), (2, 6)], 10);
        let (_, c) = run(&[(1, 5), (3, 6)], 10);
        let (_, d) = run(&[(1, 6), (2, 5)], 10);
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_ne!(a.fingerprint, d.fingerprint);
    }
}
