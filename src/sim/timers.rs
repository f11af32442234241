//! Timers: what each kind does when it goes off (deadlines, attempt timeouts, retries,
//! hedges, the policy's own timers), set either as events of their own or, for timers of a
//! constant delay, in the FIFO lanes of `lanes.rs`, which drop timers that can no longer do
//! anything without an event.

use super::control::ControlTimer;
use super::event::Event;
use super::{Observer, World};
use crate::engine::Schedule;
use crate::policy::PolicyView;
use crate::time::SimDuration;

/// What a timer does when it goes off; serials identify the objects it was set for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Timer {
    /// A job's deadline passed.
    Deadline { job: usize, serial: u64 },
    /// The requester stops waiting for an attempt.
    AttemptTimeout { attempt: usize, serial: u64 },
    /// A task's backoff ended: place a retry.
    Retry { task: usize, serial: u64 },
    /// A task's first attempt has been out for the hedging delay.
    Hedge { task: usize, serial: u64 },
    /// A timer the policy set.
    Policy { token: u64 },
    /// A timer of the control layer (see `control.rs`).
    Control(ControlTimer),
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn set_timer(
        &mut self,
        delay: SimDuration,
        timer: Timer,
        schedule: &mut Schedule<Event>,
    ) {
        let key = self.timers.insert(timer);
        schedule.after(delay, Event::TimerFired(key as u32));
    }

    /// Sets a timer whose delay is the same for every timer of its kind and setting, so that
    /// it goes to the lane of that delay (see `lanes.rs`).
    pub(super) fn set_lane_timer(
        &mut self,
        delay: SimDuration,
        timer: Timer,
        schedule: &mut Schedule<Event>,
    ) {
        if !self.lanes_enabled {
            self.set_timer(delay, timer, schedule);
            return;
        }
        let lane = self.lanes.lane(delay);
        let seq = schedule.reserve();
        let due = schedule.now() + delay;
        if self.lanes.push(lane, due, seq, timer) {
            schedule.at_reserved(due, seq, Event::LaneDue(lane));
        }
    }

    /// A lane's earliest timer is due: it goes off, then the lane is armed for the next
    /// timer that can still do something.
    pub(super) fn on_lane_due(&mut self, lane: u32, schedule: &mut Schedule<Event>) {
        let timer = self.lanes.fire(lane, schedule.now());
        self.on_timer(timer, schedule);
        while let Some(timer) = self.lanes.head(lane) {
            if !self.timer_is_spent(timer) {
                break;
            }
            self.lanes.drop_head(lane);
        }
        if let Some((due, seq)) = self.lanes.arm(lane) {
            schedule.at_reserved(due, seq, Event::LaneDue(lane));
        }
    }

    /// Whether a timer can no longer do anything when it goes off, whatever happens until
    /// then: its job ended, its attempt was answered or given up, its task was decided.
    /// (Only what cannot change back counts.)
    pub(super) fn timer_is_spent(&self, timer: Timer) -> bool {
        match timer {
            Timer::Deadline { job, serial } => !self.job_alive(job, serial),
            Timer::AttemptTimeout { attempt, serial } => {
                self.attempt(attempt, serial).is_none_or(|a| !a.requester_open)
            }
            Timer::Hedge { task, serial } => {
                self.task_by(task, serial).is_none_or(|t| t.outcome.is_some() || t.hedged)
            }
            Timer::Retry { .. } | Timer::Policy { .. } | Timer::Control(_) => false,
        }
    }

    pub(super) fn on_timer(&mut self, timer: Timer, schedule: &mut Schedule<Event>) {
        match timer {
            Timer::Deadline { job, serial } => self.on_deadline_passed(job, serial, schedule),
            Timer::AttemptTimeout { attempt, serial } => {
                self.on_attempt_timed_out(attempt, serial, schedule)
            }
            Timer::Retry { task, serial } => self.on_retry_due(task, serial, schedule),
            Timer::Hedge { task, serial } => self.on_hedge_due(task, serial, schedule),
            Timer::Policy { token } => {
                let view = acting_view!(self, schedule.now());
                self.policy.on_timer(&view, token);
                self.apply_outbox(schedule);
            }
            Timer::Control(timer) => self.on_control_timer(timer, schedule),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::super::{drive, NoObserver, World};
    use crate::engine::SimRng;
    use crate::metrics::RunSummary;
    use crate::policy::{self, PolicySpec, Topology};
    use crate::scenario::Scenario;

    /// Deadlines, timeouts with retries, a fixed hedge, message loss and a crash: every kind
    /// of laned timer, and timers that do and do not go off.
    const TIMERS: &str = r#"
duration = "30s"
warmup = "2s"
orchestrators = 2
policies = ["random", "central", "auction", "gossip"]
[network]
latency = { dist = "lognormal", mean = "0.5ms", cv = 0.5 }
loss = 0.01
[services.front]
replicas = 3
concurrency = 4
service_time = { dist = "lognormal", mean = "4ms", cv = 1.0 }
calls = [{ services = ["store"] }]
resilience = { timeout = "40ms", retries = { max = 2 }, hedge = { after = "15ms" } }
[services.store]
replicas = 4
concurrency = 2
service_time = { dist = "exponential", mean = "3ms" }
resilience = { timeout = "25ms", retries = { max = 1 } }
[classes.order]
service = "front"
deadline = "150ms"
arrival = { process = "poisson", rate = 400 }
[[faults]]
kind = "crash"
service = "store"
replica = 1
at = "10s"
duration = "5s"
"#;

    fn run_with_lanes(scenario: &Scenario, policy: PolicySpec, lanes: bool) -> RunSummary {
        let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
        let mut observer = NoObserver;
        let mut world = World::<_, false>::new(scenario, build, 0, &mut observer, None, None);
        world.lanes_enabled = lanes;
        drive(world).summary
    }

    #[test]
    fn timer_lanes_change_no_figure_only_the_events_that_did_nothing() {
        let scenario = crate::scenario::from_toml_str(TIMERS, "timers", &[]).expect("valid");
        for &policy in &scenario.policies {
            let with = run_with_lanes(&scenario, policy, true);
            let mut without = run_with_lanes(&scenario, policy, false);
            assert!(with.jobs_completed > 5_000, "{policy:?}: the run did work");
            assert!(with.jobs_failed > 0 && with.dup_executions > 0, "{policy:?}: timers mattered");
            assert!(
                with.events < without.events,
                "{policy:?}: lanes skip spent timers ({} vs {} events)",
                with.events,
                without.events
            );
            // Same figures once the engine's own counts are set aside.
            without.events = with.events;
            without.fingerprint = with.fingerprint;
            // Compared as text: figures a run cannot have (a placement wait without deferred
            // placements) are NaN, which is not equal to itself.
            assert_eq!(format!("{with:?}"), format!("{without:?}"), "{policy:?}");
        }
    }
}
