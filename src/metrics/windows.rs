//! The window accumulator: per-service counters and load integrals for the current window
//! (docs/model.md section 8), flushed into one row per window and service when time passes the
//! window's end. The time series and the cascade figures are both computed from these rows.
//!
//! Cost: every call is a few additions on fixed-size per-service state plus one comparison
//! with the window's end; a flush happens once per window. Memory grows with the run's
//! duration divided by the window, never with the number of jobs. It never feeds back into
//! the simulation.

use crate::ids::ServiceId;
use crate::scenario::{ClassSource, RateShape, Scenario};
use crate::time::{SimDuration, SimTime};

/// What the accumulator needs to know about the scenario.
#[derive(Clone, Debug)]
pub(crate) struct WindowSpec {
    pub(crate) window: SimDuration,
    pub(crate) impaired_error_ratio: f64,
    pub(crate) grace: SimDuration,
    /// Latency objective per service, in ns (`u64::MAX`: none).
    pub(crate) slo_ns: Vec<u64>,
    /// Slots of each service at the start (replicas x concurrency).
    pub(crate) slots: Vec<u64>,
    /// Replicas of each service at the start.
    pub(crate) replicas: Vec<u64>,
    /// Consecutive windows that meet the SLO after which a service counts as recovered.
    pub(crate) recovery_windows: u32,
    pub(crate) service_names: Vec<String>,
    /// The rate shapes of every open-loop arrival process that has any.
    pub(crate) shapes: Vec<Vec<RateShape>>,
}

impl WindowSpec {
    pub(crate) fn from_scenario(scenario: &Scenario) -> Self {
        let mut shapes: Vec<Vec<RateShape>> = scenario
            .classes
            .iter()
            .filter_map(|c| match &c.source {
                ClassSource::Own(arrival) => Some(arrival.shapes.clone()),
                _ => None,
            })
            .collect();
        if let Some(shared) = &scenario.shared_arrival {
            shapes.push(shared.shapes.clone());
        }
        shapes.retain(|s| !s.is_empty());
        WindowSpec {
            window: scenario.metrics.window,
            impaired_error_ratio: scenario.metrics.impaired_error_ratio,
            grace: scenario.metrics.grace,
            slo_ns: scenario
                .services
                .iter()
                .map(|s| s.slo.map_or(u64::MAX, SimDuration::as_nanos))
                .collect(),
            slots: scenario.services.iter().map(|s| s.slots()).collect(),
            replicas: scenario.services.iter().map(|s| u64::from(s.replicas)).collect(),
            recovery_windows: scenario.metrics.recovery_windows,
            service_names: scenario.services.iter().map(|s| s.name.clone()).collect(),
            shapes,
        }
    }

    /// No services, no shapes, default settings: for a recorder fed by hand.
    pub(crate) fn empty() -> Self {
        let defaults = crate::scenario::MetricsSettings::default();
        WindowSpec {
            window: defaults.window,
            impaired_error_ratio: defaults.impaired_error_ratio,
            grace: defaults.grace,
            slo_ns: Vec::new(),
            slots: Vec::new(),
            replicas: Vec::new(),
            recovery_windows: defaults.recovery_windows,
            service_names: Vec::new(),
            shapes: Vec::new(),
        }
    }

    /// Whether a declared spike that raises an arrival rate (`spikes`, factor above 1)
    /// overlaps the window `[start, end)`. A ramp or a diurnal peak is the traffic's
    /// shape, not a spike, however high it climbs.
    pub(crate) fn spike_active(&self, start: SimTime, end: SimTime) -> bool {
        self.shapes.iter().flatten().any(|shape| match *shape {
            RateShape::Spike { at, duration, factor } => {
                factor > 1.0 && at < end && start < at + duration
            }
            _ => false,
        })
    }
}

/// One service in one window, as accumulated.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ServiceCounts {
    pub(crate) arrivals: u32,
    pub(crate) completions: u32,
    pub(crate) failures: u32,
    /// Completions whose response time exceeded the service's SLO.
    pub(crate) slo_missed: u32,
    /// Time average of requests queued on its replicas.
    pub(crate) queue_length: f64,
    /// Time average of busy slots over all slots.
    pub(crate) utilisation: f64,
}

/// Jobs in one window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct JobCounts {
    pub(crate) arrivals: u32,
    pub(crate) completions: u32,
    pub(crate) failures: u32,
    /// Time average of jobs in the system.
    pub(crate) in_system: f64,
    /// Time averages over all services (queued requests; busy slots over all slots).
    pub(crate) queue_length: f64,
    pub(crate) utilisation: f64,
    /// Service time whose use was decided in the window (an unused execution as it ends,
    /// a used one when its job ends), and the wasted part of it, in ns.
    pub(crate) work_ns: u64,
    pub(crate) wasted_ns: u64,
}

/// A piecewise-constant level and its integral since the window began.
///
/// The integral is kept in a form that costs one multiply-add per change and needs no
/// "since" timestamp: over a window `[start, end)` in which the level starts at `v0` and
/// changes by `d_i` at `t_i`, the area is `v_end * end - v0 * start - sum_i d_i * t_i`.
/// `offset` holds the last two terms (exact in `i128`), so closing at `end` is one more
/// multiply-add, and the area equals the sum of `value * duration` over the window's
/// segments exactly.
#[derive(Clone, Copy, Debug, Default)]
struct Level {
    value: u64,
    offset: i128,
}

impl Level {
    #[inline]
    fn change(&mut self, now: SimTime, delta: i64) {
        self.offset -= i128::from(delta) * i128::from(now.as_nanos());
        self.value = self.value.wrapping_add_signed(delta);
    }

    /// Closes the integral at `end`, returning the area, and starts the next window there.
    fn close(&mut self, end: SimTime) -> u128 {
        let at_end = i128::from(self.value) * i128::from(end.as_nanos());
        let area = at_end + self.offset;
        self.offset = -at_end;
        u128::try_from(area).expect("a level's integral is never negative")
    }
}

/// The current window of one service.
#[derive(Clone, Copy, Debug, Default)]
struct Live {
    counts: ServiceCounts,
    slo_ns: u64,
    running: Level,
    queued: Level,
}

/// The replicas of one service in the current window: the slots of those present (serving
/// or draining) and the provisioned count. They change only when control agents act, so
/// they live apart from the per-request state of `Live`.
#[derive(Clone, Copy, Debug, Default)]
struct Capacity {
    present: Level,
    provisioned: Level,
    /// Whether `present` changed in this window (utilisation then divides by its area).
    present_changed: bool,
}

/// Per-window accumulation for one run.
#[derive(Debug)]
pub(crate) struct Windows {
    pub(crate) spec: WindowSpec,
    start: SimTime,
    end: SimTime,
    /// Everything the hot path touches for one service, together (one lookup, one or two
    /// cache lines).
    live: Vec<Live>,
    jobs: JobCounts,
    jobs_level: Level,
    capacity: Vec<Capacity>,
    /// Flushed rows: `services` rows per window, window-major.
    pub(crate) service_rows: Vec<ServiceCounts>,
    pub(crate) job_rows: Vec<JobCounts>,
    /// Time average of provisioned replicas, per service row and per window.
    pub(crate) service_replicas: Vec<f64>,
    pub(crate) job_replicas: Vec<f64>,
}

impl Windows {
    pub(crate) fn new(spec: WindowSpec) -> Self {
        Windows {
            start: SimTime::ZERO,
            end: SimTime::ZERO + spec.window,
            live: spec.slo_ns.iter().map(|&slo_ns| Live { slo_ns, ..Live::default() }).collect(),
            capacity: (0..spec.slo_ns.len())
                .map(|s| {
                    let mut c = Capacity::default();
                    c.present.change(SimTime::ZERO, spec.slots[s] as i64);
                    c.provisioned.change(SimTime::ZERO, spec.replicas[s] as i64);
                    c
                })
                .collect(),
            service_replicas: Vec::new(),
            job_replicas: Vec::new(),
            jobs: JobCounts::default(),
            jobs_level: Level::default(),
            service_rows: Vec::new(),
            job_rows: Vec::new(),
            spec,
        }
    }

    /// Brings the current window up to `now`, flushing every window that ended before it.
    #[inline(always)]
    fn at(&mut self, now: SimTime) {
        if now >= self.end {
            self.roll(now);
        }
    }

    #[cold]
    fn roll(&mut self, now: SimTime) {
        while now >= self.end {
            let end = self.end;
            self.flush(end);
            self.start = end;
            self.end = end + self.spec.window;
        }
    }

    /// Closes the current window at `end` (its end, or the end of the run).
    fn flush(&mut self, end: SimTime) {
        let length = (end - self.start).as_nanos().max(1) as f64;
        let (mut all_queued, mut all_busy, mut all_slots) = (0u128, 0u128, 0u64);
        let (mut all_present, mut all_replicas, mut any_changed) = (0u128, 0u128, false);
        for s in 0..self.live.len() {
            let live = &mut self.live[s];
            let mut row = std::mem::take(&mut live.counts);
            let busy = live.running.close(end);
            let queued = live.queued.close(end);
            let capacity = &mut self.capacity[s];
            let slots_now = capacity.present.value;
            let present = capacity.present.close(end);
            let replicas = capacity.provisioned.close(end);
            row.queue_length = queued as f64 / length;
            // With the same slots all window long (always, without control agents) the
            // area of present slots is slots x length: divide by that product, as ever.
            row.utilisation = if !capacity.present_changed {
                if slots_now == 0 {
                    0.0
                } else {
                    busy as f64 / (length * slots_now as f64)
                }
            } else if present == 0 {
                0.0
            } else {
                busy as f64 / present as f64
            };
            self.service_replicas.push(replicas as f64 / length);
            any_changed |= capacity.present_changed;
            capacity.present_changed = false;
            all_queued += queued;
            all_busy += busy;
            all_slots += slots_now;
            all_present += present;
            all_replicas += replicas;
            self.service_rows.push(row);
        }
        let mut jobs = std::mem::take(&mut self.jobs);
        jobs.in_system = self.jobs_level.close(end) as f64 / length;
        jobs.queue_length = all_queued as f64 / length;
        jobs.utilisation = if !any_changed {
            if all_slots == 0 {
                0.0
            } else {
                all_busy as f64 / (length * all_slots as f64)
            }
        } else if all_present == 0 {
            0.0
        } else {
            all_busy as f64 / all_present as f64
        };
        self.job_replicas.push(all_replicas as f64 / length);
        self.job_rows.push(jobs);
    }

    /// Flushes up to the end of the run; the last window may be shorter than the others.
    pub(crate) fn close(&mut self, end_of_run: SimTime) {
        if end_of_run >= self.end {
            self.roll(end_of_run);
        }
        if end_of_run > self.start {
            self.flush(end_of_run);
        }
    }

    /// `work_ns` of service time was decided used or wasted now, `wasted_ns` of it wasted.
    #[inline]
    pub(crate) fn work_decided(&mut self, now: SimTime, work_ns: u64, wasted_ns: u64) {
        self.at(now);
        self.jobs.work_ns += work_ns;
        self.jobs.wasted_ns += wasted_ns;
    }

    /// A request reached a replica of `service` (admitted or refused).
    #[inline]
    pub(crate) fn request_arrived(&mut self, now: SimTime, service: ServiceId) {
        self.at(now);
        self.live[service.index()].counts.arrivals += 1;
    }

    /// A request ended on `service`: `succeeded` or not, `response` after its placement.
    #[inline]
    pub(crate) fn request_ended(
        &mut self,
        now: SimTime,
        service: ServiceId,
        succeeded: bool,
        response: SimDuration,
    ) {
        self.at(now);
        let live = &mut self.live[service.index()];
        if succeeded {
            live.counts.completions += 1;
            live.counts.slo_missed += u32::from(response.as_nanos() > live.slo_ns);
        } else {
            live.counts.failures += 1;
        }
    }

    /// Busy slots and queued requests of `service` changed by these amounts.
    #[inline]
    pub(crate) fn load_changed(
        &mut self,
        now: SimTime,
        service: ServiceId,
        running: i64,
        queued: i64,
    ) {
        self.at(now);
        // Both levels, unconditionally: a change by zero changes nothing, and costs less than
        // a branch that goes either way at random.
        let live = &mut self.live[service.index()];
        live.running.change(now, running);
        live.queued.change(now, queued);
    }

    /// The slots of `service`'s present replicas changed by `slots` (a replica became
    /// ready, or is gone).
    pub(crate) fn present_slots_changed(&mut self, now: SimTime, service: ServiceId, slots: i64) {
        self.at(now);
        let capacity = &mut self.capacity[service.index()];
        capacity.present.change(now, slots);
        capacity.present_changed = true;
    }

    /// `service`'s provisioned replicas changed by `delta`.
    pub(crate) fn provisioned_changed(&mut self, now: SimTime, service: ServiceId, delta: i64) {
        self.at(now);
        self.capacity[service.index()].provisioned.change(now, delta);
    }

    /// A job arrived; `entered` says whether it entered the system (or was refused at once,
    /// which counts as a failure).
    #[inline]
    pub(crate) fn job_arrived(&mut self, now: SimTime, entered: bool) {
        self.at(now);
        self.jobs.arrivals += 1;
        if entered {
            self.jobs_level.change(now, 1);
        } else {
            self.jobs.failures += 1;
        }
    }

    /// A job in the system ended.
    #[inline]
    pub(crate) fn job_left(&mut self, now: SimTime, completed: bool, used_ns: u64) {
        self.at(now);
        if completed {
            self.jobs.completions += 1;
        } else {
            self.jobs.failures += 1;
            self.jobs.wasted_ns += used_ns;
        }
        self.jobs.work_ns += used_ns;
        self.jobs_level.change(now, -1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(services: usize, slots: u64) -> WindowSpec {
        WindowSpec {
            window: SimDuration::from_nanos(1_000),
            impaired_error_ratio: 0.05,
            grace: SimDuration::ZERO,
            slo_ns: vec![100; services],
            slots: vec![slots; services],
            replicas: vec![slots; services],
            recovery_windows: 3,
            service_names: (0..services).map(|s| format!("s{s}")).collect(),
            shapes: Vec::new(),
        }
    }

    fn t(ns: u64) -> SimTime {
        SimTime::from_nanos(ns)
    }

    #[test]
    fn only_a_declared_spike_that_raises_the_rate_is_a_spike() {
        let d = SimDuration::from_nanos;
        let mut spec = spec(1, 1);
        // A diurnal cycle of 10 s peaking at 5 s (rate doubled there), a dip to half at
        // [1 s, 2 s) and a spike of 3x over [6.2 s, 6.4 s).
        spec.shapes = vec![
            vec![RateShape::Diurnal {
                period: d(10_000_000_000),
                amplitude: 1.0,
                peak: t(5_000_000_000),
            }],
            vec![
                RateShape::Spike { at: t(1_000_000_000), duration: d(1_000_000_000), factor: 0.5 },
                RateShape::Spike { at: t(6_200_000_000), duration: d(200_000_000), factor: 3.0 },
            ],
        ];
        let active = |from_s: u64| {
            spec.spike_active(t(from_s * 1_000_000_000), t((from_s + 1) * 1_000_000_000))
        };
        // The diurnal peak window and the dip are not spikes; the window the spike overlaps
        // is, though the spike misses its midpoint (6.5 s).
        assert!(!active(4) && !active(5), "a diurnal peak is the traffic's shape");
        assert!(!active(1), "a dip is not a spike");
        assert!(active(6));
        assert!(!active(7));
    }

    #[test]
    fn load_integrals_are_time_averages_per_window() {
        // Two slots; one busy from 250 to 1500 ns, a second from 500 to 750 ns; windows of
        // 1000 ns. Window 0: busy area 750 + 250 = 1000 slot-ns over 2000 -> 0.5. Window 1:
        // 500 slot-ns over 2000 -> 0.25. Queue: one request queued from 0 to 500 -> 0.5.
        let mut w = Windows::new(spec(1, 2));
        let s = ServiceId(0);
        w.load_changed(t(0), s, 0, 1);
        w.load_changed(t(250), s, 1, 0);
        w.load_changed(t(500), s, 1, -1);
        w.load_changed(t(750), s, -1, 0);
        w.load_changed(t(1500), s, -1, 0);
        w.close(t(2000));
        assert_eq!(w.service_rows.len(), 2);
        assert_eq!(w.service_rows[0].utilisation, 0.5);
        assert_eq!(w.service_rows[0].queue_length, 0.5);
        assert_eq!(w.service_rows[1].utilisation, 0.25);
        assert_eq!(w.service_rows[1].queue_length, 0.0);
    }

    #[test]
    fn outcomes_fall_in_the_window_they_happen_and_empty_windows_are_rows_too() {
        let mut w = Windows::new(spec(2, 1));
        w.job_arrived(t(0), true);
        w.request_arrived(t(10), ServiceId(1));
        w.request_ended(t(20), ServiceId(1), true, SimDuration::from_nanos(50));
        w.job_left(t(2_500), true, 0);
        w.request_ended(t(3_100), ServiceId(1), true, SimDuration::from_nanos(150));
        w.request_ended(t(3_200), ServiceId(0), false, SimDuration::ZERO);
        w.close(t(3_500));
        // Windows [0,1000), [1000,2000), [2000,3000), [3000,3500): 4 windows x 2 services.
        assert_eq!(w.service_rows.len(), 8);
        assert_eq!(w.service_rows[1].arrivals, 1);
        assert_eq!(w.service_rows[1].completions, 1);
        assert_eq!(w.service_rows[1].slo_missed, 0);
        assert_eq!(w.service_rows[7].slo_missed, 1, "150 ns > SLO of 100 ns");
        assert_eq!(w.service_rows[6].failures, 1);
        assert_eq!(w.job_rows.len(), 4);
        assert_eq!(w.job_rows[0].in_system, 1.0);
        assert_eq!(w.job_rows[2].in_system, 0.5);
        assert_eq!(w.job_rows[2].completions, 1);
        assert_eq!(w.job_rows[3].in_system, 0.0);
    }
}
