//! The monitoring system control agents read (docs/model.md section 10): per service, the
//! figures of each scrape interval (`[control] scrape`, 1 s by default): time integrals of
//! busy slots, queued requests and present slots, the requests that arrived, and the
//! requests that ended with their outcome and a bucketed histogram of their response times,
//! as a metrics server would keep them. An agent's [`Observation`] sums the whole intervals
//! of its window that ended at least its measurement delay ago; it never reads the world's
//! state directly.
//!
//! It exists only in runs with control agents; then the world feeds it alongside the
//! recorder (`World::load_changed`, `World::request_arrived`, `World::request_ended`).
//! Memory: the intervals the longest window and delay need, per service.

use std::collections::VecDeque;

use super::{Observer, World};
use crate::control::Observation;
use crate::ids::ServiceId;
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};

/// Response-time buckets: four per octave from 1.024 us up, plus one below and one above.
const OCTAVES: usize = 32;
const BUCKETS: usize = OCTAVES * 4 + 2;
const FIRST_OCTAVE: u32 = 10;

/// The bucket of a response time of `ns` nanoseconds.
fn bucket(ns: u64) -> usize {
    if ns < 1 << FIRST_OCTAVE {
        return 0;
    }
    let octave = 63 - ns.leading_zeros();
    if octave >= FIRST_OCTAVE + OCTAVES as u32 {
        return BUCKETS - 1;
    }
    let quarter = ((ns >> (octave - 2)) & 3) as usize;
    1 + (octave - FIRST_OCTAVE) as usize * 4 + quarter
}

/// The lower and upper bounds of a bucket, in nanoseconds.
fn bucket_bounds(b: usize) -> (f64, f64) {
    if b == 0 {
        return (0.0, (1u64 << FIRST_OCTAVE) as f64);
    }
    if b == BUCKETS - 1 {
        let top = 2f64.powi((FIRST_OCTAVE as usize + OCTAVES) as i32);
        return (top, top);
    }
    let octave = FIRST_OCTAVE as usize + (b - 1) / 4;
    let quarter = ((b - 1) % 4) as f64;
    let base = 2f64.powi(octave as i32);
    (base * (1.0 + quarter / 4.0), base * (1.0 + (quarter + 1.0) / 4.0))
}

/// A piecewise-constant level and its integral since the interval began (exact integers).
#[derive(Clone, Copy, Debug, Default)]
struct Level {
    value: i64,
    since: u64,
    area: i128,
}

impl Level {
    fn change(&mut self, now: SimTime, delta: i64) {
        self.settle(now);
        self.value += delta;
    }

    fn settle(&mut self, now: SimTime) {
        let t = now.as_nanos();
        self.area += i128::from(self.value) * i128::from(t - self.since);
        self.since = t;
    }

    fn take(&mut self, end: SimTime) -> u128 {
        self.settle(end);
        u128::try_from(std::mem::take(&mut self.area)).expect("levels are never negative")
    }
}

/// One service in one scrape interval.
#[derive(Clone, Debug)]
struct Interval {
    end: SimTime,
    length_ns: u64,
    busy: u128,
    queued: u128,
    present: u128,
    arrivals: u64,
    requests: u64,
    failures: u64,
    slo_missed: u64,
    latency_ns: u128,
    buckets: Box<[u32; BUCKETS]>,
}

#[derive(Debug)]
struct LiveService {
    busy: Level,
    queued: Level,
    present: Level,
    arrivals: u64,
    requests: u64,
    failures: u64,
    slo_missed: u64,
    latency_ns: u128,
    buckets: Box<[u32; BUCKETS]>,
    slo_ns: u64,
    history: VecDeque<Interval>,
}

/// The monitoring system of one run.
#[derive(Debug)]
pub(super) struct Monitor {
    scrape: SimDuration,
    start: SimTime,
    end: SimTime,
    keep: usize,
    services: Vec<LiveService>,
}

impl Monitor {
    pub(super) fn new(scenario: &Scenario) -> Self {
        let scrape = scenario.control.scrape;
        let longest = scenario
            .control
            .agents
            .iter()
            .map(|a| a.window.as_nanos() + a.measurement_delay.as_nanos())
            .max()
            .unwrap_or(0);
        let keep = (longest / scrape.as_nanos().max(1)) as usize + 2;
        Monitor {
            scrape,
            start: SimTime::ZERO,
            end: SimTime::ZERO + scrape,
            keep,
            services: scenario
                .services
                .iter()
                .map(|s| LiveService {
                    busy: Level::default(),
                    queued: Level::default(),
                    present: Level { value: s.slots() as i64, ..Level::default() },
                    arrivals: 0,
                    requests: 0,
                    failures: 0,
                    slo_missed: 0,
                    latency_ns: 0,
                    buckets: Box::new([0; BUCKETS]),
                    slo_ns: s.slo.map_or(u64::MAX, SimDuration::as_nanos),
                    history: VecDeque::new(),
                })
                .collect(),
        }
    }

    /// Closes every interval that ended by `now`.
    pub(super) fn at(&mut self, now: SimTime) {
        while now >= self.end {
            let (start, end) = (self.start, self.end);
            for s in &mut self.services {
                let row = Interval {
                    end,
                    length_ns: (end - start).as_nanos(),
                    busy: s.busy.take(end),
                    queued: s.queued.take(end),
                    present: s.present.take(end),
                    arrivals: std::mem::take(&mut s.arrivals),
                    requests: std::mem::take(&mut s.requests),
                    failures: std::mem::take(&mut s.failures),
                    slo_missed: std::mem::take(&mut s.slo_missed),
                    latency_ns: std::mem::take(&mut s.latency_ns),
                    buckets: std::mem::replace(&mut s.buckets, Box::new([0; BUCKETS])),
                };
                if s.history.len() == self.keep {
                    s.history.pop_front();
                }
                s.history.push_back(row);
            }
            self.start = end;
            self.end = end + self.scrape;
        }
    }

    pub(super) fn load_changed(
        &mut self,
        now: SimTime,
        service: ServiceId,
        running: i64,
        queued: i64,
    ) {
        self.at(now);
        let s = &mut self.services[service.index()];
        s.busy.change(now, running);
        s.queued.change(now, queued);
    }

    pub(super) fn present_changed(&mut self, now: SimTime, service: ServiceId, slots: i64) {
        self.at(now);
        self.services[service.index()].present.change(now, slots);
    }

    pub(super) fn request_arrived(&mut self, now: SimTime, service: ServiceId) {
        self.at(now);
        self.services[service.index()].arrivals += 1;
    }

    pub(super) fn request_ended(
        &mut self,
        now: SimTime,
        service: ServiceId,
        succeeded: bool,
        response: SimDuration,
    ) {
        self.at(now);
        let s = &mut self.services[service.index()];
        s.requests += 1;
        if succeeded {
            s.slo_missed += u64::from(response.as_nanos() > s.slo_ns);
        } else {
            s.failures += 1;
        }
        s.latency_ns += u128::from(response.as_nanos());
        s.buckets[bucket(response.as_nanos())] += 1;
    }

    /// What an agent with this window and delay sees of `service` at `now` (figures only;
    /// the caller fills in the replica counts).
    pub(super) fn observe(
        &mut self,
        now: SimTime,
        service: ServiceId,
        window: SimDuration,
        delay: SimDuration,
    ) -> Observation {
        self.at(now);
        let newest = now.saturating_sub(delay);
        let oldest = newest.saturating_sub(window);
        let s = &self.services[service.index()];
        let rows = s.history.iter().filter(|r| r.end <= newest && r.end > oldest);
        let mut length = 0u64;
        let (mut busy, mut queued, mut present, mut latency) = (0u128, 0u128, 0u128, 0u128);
        let (mut arrivals, mut requests, mut failures, mut slo_missed) = (0, 0, 0, 0);
        let mut buckets = [0u64; BUCKETS];
        for r in rows {
            length += r.length_ns;
            busy += r.busy;
            queued += r.queued;
            present += r.present;
            latency += r.latency_ns;
            arrivals += r.arrivals;
            requests += r.requests;
            failures += r.failures;
            slo_missed += r.slo_missed;
            for (b, &c) in buckets.iter_mut().zip(r.buckets.iter()) {
                *b += u64::from(c);
            }
        }
        let per = |area: u128| if length == 0 { 0.0 } else { area as f64 / length as f64 };
        Observation {
            service,
            at: now,
            provisioned: 0,
            ready: 0,
            slots_per_replica: 0,
            provisioned_slots: 0,
            span_s: length as f64 * 1e-9,
            busy_slots: per(busy),
            present_slots: per(present),
            queued: per(queued),
            arrivals,
            requests,
            failures,
            slo_missed,
            latency_mean_s: (requests > 0).then(|| latency as f64 / requests as f64 * 1e-9),
            latency_p50_s: quantile(&buckets, requests, 0.5).map(|ns| ns * 1e-9),
            latency_p99_s: quantile(&buckets, requests, 0.99).map(|ns| ns * 1e-9),
            crashed: 0,
            slowed: 0,
        }
    }
}

/// The `q`-quantile of `n` samples in `buckets`, interpolated linearly inside its bucket
/// (as Prometheus' `histogram_quantile` does).
fn quantile(buckets: &[u64; BUCKETS], n: u64, q: f64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let rank = q * n as f64;
    let mut below = 0u64;
    for (b, &count) in buckets.iter().enumerate() {
        if count > 0 && (below + count) as f64 >= rank {
            let (lo, hi) = bucket_bounds(b);
            let inside = (rank - below as f64) / count as f64;
            return Some(lo + (hi - lo) * inside.clamp(0.0, 1.0));
        }
        below += count;
    }
    Some(bucket_bounds(BUCKETS - 1).0)
}

impl<O: Observer, const C: bool> World<'_, '_, O, C> {
    /// Busy slots and queued requests of `service` changed: the recorder and, in runs with
    /// control agents, the monitoring system hear of it.
    #[inline(always)]
    pub(super) fn load_changed(
        &mut self,
        now: SimTime,
        service: ServiceId,
        running: i64,
        queued: i64,
    ) {
        self.recorder.load_changed(now, service, running, queued);
        if let Some(monitor) = self.monitor.as_deref_mut().filter(|_| C) {
            monitor.load_changed(now, service, running, queued);
        }
    }

    /// A request reached a replica of `service` (admitted or refused): the recorder and, in
    /// runs with control agents, the monitoring system hear of it.
    #[inline(always)]
    pub(super) fn request_arrived(&mut self, now: SimTime, service: ServiceId) {
        self.recorder.request_arrived(now, service);
        if let Some(monitor) = self.monitor.as_deref_mut().filter(|_| C) {
            monitor.request_arrived(now, service);
        }
    }

    /// A request ended on `service` (see `Recorder::request_ended`).
    #[inline(always)]
    pub(super) fn request_ended(
        &mut self,
        now: SimTime,
        service: ServiceId,
        succeeded: bool,
        response: SimDuration,
    ) {
        self.recorder.request_ended(now, service, succeeded, response);
        if let Some(monitor) = self.monitor.as_deref_mut().filter(|_| C) {
            monitor.request_ended(now, service, succeeded, response);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_a_quarter_octave_each_and_contain_their_values() {
        for ns in [1_024u64, 1_300, 5_000, 123_456, 9_999_999, 1 << 40] {
            let (lo, hi) = bucket_bounds(bucket(ns));
            assert!(lo <= ns as f64 && (ns as f64) < hi, "{ns} in [{lo}, {hi})");
            assert!(
                hi / lo <= 1.25 + 1e-12,
                "{ns}: bucket [{lo}, {hi}) wider than a quarter octave"
            );
        }
        assert_eq!(bucket(10), 0);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn the_quantile_interpolates_inside_its_bucket() {
        // 100 samples all in the bucket [2048, 2560): the 0.99-quantile sits 99% of the way.
        let mut b = [0u64; BUCKETS];
        b[bucket(2_100)] = 100;
        let q = quantile(&b, 100, 0.99).unwrap();
        assert!((q - (2048.0 + 0.99 * 512.0)).abs() < 1e-9, "{q}");
    }
}
