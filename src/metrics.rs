//! Per-run figures: the [`Recorder`] the world feeds while it runs, and the [`RunSummary`]
//! it yields at the end, named as in docs/model.md section 8.
//!
//! Only jobs that arrive after the warm-up count, and only messages sent after it. Latency
//! quantiles come from a high-dynamic-range histogram with three significant digits (relative
//! error at most 0.1%); the mean is exact, from a running sum. Memory does not grow with the
//! number of jobs.

mod cascade;
mod control;
mod decisions;
pub(crate) mod latency;
mod summary;
mod windows;
mod work;

use crate::engine::EngineStats;
use crate::ids::{ClassId, ServiceId};
use crate::policy::MessageKind;
use crate::scenario::Scenario;
use crate::time::{SimDuration, SimTime};
use control::ControlTally;
pub use control::ServiceFigures;
use decisions::DecisionTally;
use latency::LatencyHistogram;
pub use summary::{ClassFigures, FaultRecord, RunSummary, ServiceWindow, TimeSeries, Window};
use windows::{WindowSpec, Windows};
use work::WorkTally;
pub use work::{DupSource, Waste};

/// Latency accumulation of one class.
#[derive(Debug)]
struct ClassLatency {
    completed: u64,
    sum_ns: u128,
    /// Created at the first completion.
    histogram: Option<LatencyHistogram>,
}

/// Mean and quantiles of a latency accumulation, in ms (NaN when empty).
fn latency_figures(completed: u64, sum_ns: u128, histogram: Option<&LatencyHistogram>) -> [f64; 5] {
    match histogram {
        Some(h) if completed > 0 => [
            sum_ns as f64 / completed as f64 * 1e-6,
            h.value_at_quantile(0.5) as f64 * 1e-6,
            h.value_at_quantile(0.9) as f64 * 1e-6,
            h.value_at_quantile(0.99) as f64 * 1e-6,
            h.value_at_quantile(0.999) as f64 * 1e-6,
        ],
        _ => [f64::NAN; 5],
    }
}

/// A run's figures so far (measured: from the end of the warm-up), as their `runs.csv`
/// columns will count them at the end.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SoFar {
    /// Measured jobs completed.
    pub jobs_completed: u64,
    /// Measured jobs failed.
    pub jobs_failed: u64,
    /// Sum of the completed jobs' latencies, in seconds.
    pub latency_sum_s: f64,
    /// Integral of provisioned replicas, in replica-seconds.
    pub replica_seconds: f64,
    /// Replica-hours times their group's price.
    pub cost: f64,
    /// Scaling actions that reversed the same agent's.
    pub flaps: u64,
    /// Scaling actions that reversed another agent's.
    pub agent_conflicts: u64,
}

/// Accumulates a run's figures as the world reports what happens.
#[derive(Debug)]
pub struct Recorder {
    warmup_end: SimTime,
    arrived: u64,
    completed: u64,
    failed: u64,
    messages: u64,
    latency: LatencyHistogram,
    latency_sum_ns: u128,
    work: WorkTally,
    decisions: DecisionTally,
    messages_by_kind: [u64; MessageKind::ALL.len()],
    placement_waits: u64,
    placement_wait_ns: u128,
    scheduler_waits: u64,
    scheduler_wait_ns: u128,
    attempts: u64,
    attempts_needed: u64,
    shed: u64,
    dropped_expired: u64,
    approvals: u64,
    rejections: u64,
    escalations: u64,
    human_waits: u64,
    human_wait_ns: u128,
    class_names: Vec<String>,
    /// Per-class latency; empty when there is a single class (it equals the overall).
    classes: Vec<ClassLatency>,
    windows: Windows,
    control: ControlTally,
}

impl Recorder {
    /// A recorder for a run of `scenario`: its warm-up, classes, services and `[metrics]`.
    pub fn for_scenario(scenario: &Scenario) -> Self {
        let mut r = Recorder::new(SimTime::ZERO + scenario.warmup);
        r.class_names = scenario.classes.iter().map(|c| c.name.clone()).collect();
        if r.class_names.len() > 1 {
            r.classes = (0..r.class_names.len())
                .map(|_| ClassLatency { completed: 0, sum_ns: 0, histogram: None })
                .collect();
        }
        r.windows = Windows::new(WindowSpec::from_scenario(scenario));
        r.control = ControlTally::for_scenario(scenario, r.warmup_end);
        r
    }

    /// A recorder that ignores everything before `warmup_end`.
    pub fn new(warmup_end: SimTime) -> Self {
        Recorder {
            warmup_end,
            arrived: 0,
            completed: 0,
            failed: 0,
            messages: 0,
            latency: LatencyHistogram::new(),
            latency_sum_ns: 0,
            work: WorkTally::default(),
            decisions: DecisionTally::default(),
            messages_by_kind: [0; MessageKind::ALL.len()],
            placement_waits: 0,
            placement_wait_ns: 0,
            scheduler_waits: 0,
            scheduler_wait_ns: 0,
            attempts: 0,
            attempts_needed: 0,
            shed: 0,
            dropped_expired: 0,
            approvals: 0,
            rejections: 0,
            escalations: 0,
            human_waits: 0,
            human_wait_ns: 0,
            class_names: Vec::new(),
            classes: Vec::new(),
            windows: Windows::new(WindowSpec::empty()),
            control: ControlTally::default(),
        }
    }

    /// `service`'s provisioned replicas in replica group `group` (numbered over all
    /// services) changed by `delta` (a control agent added one, or one is gone).
    pub fn provisioned_changed(
        &mut self,
        now: SimTime,
        service: ServiceId,
        group: u32,
        delta: i64,
    ) {
        self.windows.provisioned_changed(now, service, delta);
        self.control.provisioned_changed(now, group, delta);
    }

    /// The slots of `service`'s present replicas changed by `slots`.
    pub fn present_slots_changed(&mut self, now: SimTime, service: ServiceId, slots: i64) {
        self.windows.present_slots_changed(now, service, slots);
    }

    /// A control agent changed replica group `group`'s replica count by `change` (measured).
    pub fn scaled(&mut self, group: u32, change: i64) {
        self.control.scaled(group, change);
    }

    /// A remediator restarted a replica of replica group `group` (measured).
    pub fn restarted(&mut self, group: u32) {
        self.control.restarted(group);
    }

    /// A remediator ejected a replica of replica group `group` (measured).
    pub fn ejected(&mut self, group: u32) {
        self.control.ejected(group);
    }

    /// A remediator escalated to a person (measured).
    pub fn escalated_by_agent(&mut self) {
        self.control.escalations += 1;
    }

    /// A scaling action reversed the same agent's (measured).
    pub fn flapped(&mut self) {
        self.control.flaps += 1;
    }

    /// A scaling action reversed another agent's (measured).
    pub fn conflicted(&mut self) {
        self.control.conflicts += 1;
    }

    /// An execution ended having used `executed` service time at `at`; `duplicate` says
    /// whether (and why) it was redundant, `waste` why its result was not used (None: its
    /// task used it, and it is wasted only if the job fails, see `job_left`). Returns
    /// whether it was measured (after the warm-up).
    #[inline(always)]
    pub fn execution(
        &mut self,
        at: SimTime,
        executed: SimDuration,
        duplicate: Option<DupSource>,
        waste: Option<Waste>,
    ) -> bool {
        if waste.is_some() {
            self.windows.work_decided(at, executed.as_nanos(), executed.as_nanos());
        }
        if !self.measures(at) {
            return false;
        }
        self.work.execution(executed, duplicate, waste);
        true
    }

    /// News of a replica's state, first known at its source, reached every agent at `at`
    /// after `time` (`rounds` protocol rounds).
    pub fn gossip_spread(&mut self, at: SimTime, time: SimDuration, rounds: f64) {
        if self.measures(at) {
            self.decisions.spread(time, rounds);
        }
    }

    /// An attempt was placed at `at`, by a decision on information `staleness` old (the
    /// placement decisions behind `decision_staleness_*`).
    #[inline(always)]
    pub fn attempt_placed(&mut self, at: SimTime, staleness: SimDuration) {
        if self.measures(at) {
            self.attempts += 1;
            self.decisions.decision(staleness);
        }
    }

    /// A measured job arrived that needs `units` attempts if nothing goes wrong.
    pub fn attempts_needed(&mut self, units: u64) {
        self.attempts_needed += units;
    }

    /// A measured job was refused at the entry.
    pub fn job_shed(&mut self) {
        self.shed += 1;
    }

    /// A server dropped an expired request at `at`.
    pub fn dropped_expired(&mut self, at: SimTime) {
        if self.measures(at) {
            self.dropped_expired += 1;
        }
    }

    /// A human review of a measured job ended: approved or not, after `waited`.
    pub fn review(&mut self, approved: bool, waited: SimDuration) {
        if approved {
            self.approvals += 1;
        } else {
            self.rejections += 1;
        }
        self.human_wait(waited);
    }

    /// A step of a measured job was escalated to people.
    pub fn escalation(&mut self) {
        self.escalations += 1;
    }

    /// A measured job waited for people for `waited` (an escalation that ended).
    pub fn human_wait(&mut self, waited: SimDuration) {
        self.human_waits += 1;
        self.human_wait_ns += u128::from(waited.as_nanos());
    }

    /// The run's figures so far, at `now` (what a stepped run's reward is made of: their
    /// differences between two decisions add up to the run's own figures).
    pub fn so_far(&self, now: SimTime) -> SoFar {
        let (replica_seconds, cost) = self.control.use_so_far(now);
        SoFar {
            jobs_completed: self.completed,
            jobs_failed: self.failed,
            latency_sum_s: self.latency_sum_ns as f64 * 1e-9,
            replica_seconds,
            cost,
            flaps: self.control.flaps,
            agent_conflicts: self.control.conflicts,
        }
    }

    /// Replica-seconds over the measured span up to `now`, per replica group (numbered
    /// service by service, in declaration order).
    pub fn replica_seconds_by_group(&self, now: SimTime) -> Vec<f64> {
        self.control.seconds_by_group(now)
    }

    /// Whether something happening at `at` is in the measured span.
    #[inline]
    pub fn measures(&self, at: SimTime) -> bool {
        at >= self.warmup_end
    }

    /// A measured job arrived.
    #[inline]
    pub fn job_arrived(&mut self) {
        self.arrived += 1;
    }

    /// A measured job of `class` completed after `latency`.
    #[inline]
    pub fn job_completed(&mut self, class: ClassId, latency: SimDuration) {
        self.completed += 1;
        self.latency_sum_ns += u128::from(latency.as_nanos());
        self.latency.record(latency.as_nanos());
        if let Some(c) = self.classes.get_mut(class.index()) {
            c.completed += 1;
            c.sum_ns += u128::from(latency.as_nanos());
            c.histogram.get_or_insert_with(LatencyHistogram::new).record(latency.as_nanos());
        }
    }

    /// A request reached a replica of `service` at `now` (admitted or refused).
    #[inline]
    pub fn request_arrived(&mut self, now: SimTime, service: ServiceId) {
        self.windows.request_arrived(now, service);
    }

    /// A request ended on `service` at `now`, `succeeded` or not, `response` after it was
    /// placed. Each attempt ends once (see docs/model.md, "Cascades").
    #[inline]
    pub fn request_ended(
        &mut self,
        now: SimTime,
        service: ServiceId,
        succeeded: bool,
        response: SimDuration,
    ) {
        self.windows.request_ended(now, service, succeeded, response);
    }

    /// The busy slots (`running`) and queued requests (`queued`) of `service` changed by
    /// these amounts at `now`.
    #[inline]
    pub fn load_changed(&mut self, now: SimTime, service: ServiceId, running: i64, queued: i64) {
        self.windows.load_changed(now, service, running, queued);
    }

    /// A job arrived at `now` (measured or not), for the time series; `admitted` is false
    /// when it was refused at once (which counts as a failure in its window).
    #[inline]
    pub fn window_job_arrived(&mut self, now: SimTime, admitted: bool) {
        self.windows.job_arrived(now, admitted);
    }

    /// `used_ns` of service time used by something other than a job of the workload (an
    /// escalation's answer) was decided at `now`: used.
    pub fn work_used(&mut self, now: SimTime, used_ns: u64) {
        self.windows.work_decided(now, used_ns, 0);
    }

    /// A job left the system at `now`, completed or not, having used `used_ns` of service
    /// time in executions whose results its tasks used (`measured_ns` of them measured):
    /// wasted if it failed.
    #[inline]
    pub fn job_left(&mut self, now: SimTime, completed: bool, used_ns: u64, measured_ns: u64) {
        self.windows.job_left(now, completed, used_ns);
        if !completed {
            self.work.failed_job(measured_ns);
        }
    }

    /// A measured job failed.
    #[inline]
    pub fn job_failed(&mut self) {
        self.failed += 1;
    }

    /// A message of `kind` was sent at `at`.
    #[inline]
    pub fn message_sent(&mut self, at: SimTime, kind: MessageKind) {
        if self.measures(at) {
            self.messages += 1;
            self.messages_by_kind[kind.index()] += 1;
        }
    }

    /// A deferred placement was decided at `at` after waiting `wait`.
    pub fn placement_wait(&mut self, at: SimTime, wait: SimDuration) {
        if self.measures(at) {
            self.placement_waits += 1;
            self.placement_wait_ns += u128::from(wait.as_nanos());
        }
    }

    /// A scheduler started serving a request at `at` after it waited `wait` in its queue.
    pub fn scheduler_wait(&mut self, at: SimTime, wait: SimDuration) {
        if self.measures(at) {
            self.scheduler_waits += 1;
            self.scheduler_wait_ns += u128::from(wait.as_nanos());
        }
    }

    /// Closes the run: `in_flight` measured jobs are still unfinished at `engine.now`;
    /// `faults` are the fault instances that started.
    pub fn finish(
        mut self,
        engine: EngineStats,
        in_flight: u64,
        mut faults: Vec<FaultRecord>,
    ) -> RunSummary {
        self.windows.close(engine.now);
        let (timeseries, cascades) = cascade::analyse(
            &self.windows.spec,
            &self.windows.service_rows,
            &self.windows.job_rows,
            &self.windows.service_replicas,
            &self.windows.job_replicas,
            engine.now,
            &mut faults,
        );
        let classes = self
            .class_names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (completed, sum, histogram) = match self.classes.get(i) {
                    Some(c) => (c.completed, c.sum_ns, c.histogram.as_ref()),
                    None => (self.completed, self.latency_sum_ns, Some(&self.latency)),
                };
                let [mean, p50, p90, p99, p999] = latency_figures(completed, sum, histogram);
                ClassFigures {
                    class: name.clone(),
                    jobs_completed: completed,
                    latency_mean_ms: mean,
                    latency_p50_ms: p50,
                    latency_p90_ms: p90,
                    latency_p99_ms: p99,
                    latency_p999_ms: p999,
                }
            })
            .collect();
        let (wasted_work_ratio, wasted) = self.work.wasted();
        let span = engine.now.saturating_since(self.warmup_end).as_secs_f64();
        let services = self.control.finish(engine.now);
        let total = |f: fn(&ServiceFigures) -> u64| services.iter().map(f).sum::<u64>();
        let quantile_ms = |q: f64| {
            if self.completed == 0 {
                f64::NAN
            } else {
                self.latency.value_at_quantile(q) as f64 * 1e-6
            }
        };
        RunSummary {
            jobs_arrived: self.arrived,
            jobs_completed: self.completed,
            jobs_failed: self.failed,
            jobs_in_flight: in_flight,
            failed_ratio: if self.arrived == 0 {
                0.0
            } else {
                self.failed as f64 / self.arrived as f64
            },
            goodput_per_s: if span > 0.0 { self.completed as f64 / span } else { 0.0 },
            latency_mean_ms: if self.completed == 0 {
                f64::NAN
            } else {
                self.latency_sum_ns as f64 / self.completed as f64 * 1e-6
            },
            latency_p50_ms: quantile_ms(0.5),
            latency_p90_ms: quantile_ms(0.9),
            latency_p99_ms: quantile_ms(0.99),
            latency_p999_ms: quantile_ms(0.999),
            messages_total: self.messages,
            messages_per_job: if self.arrived == 0 {
                0.0
            } else {
                self.messages as f64 / self.arrived as f64
            },
            dup_work_ratio: self.work.dup_work_ratio(),
            dup_executions: self.work.dup_executions(),
            dup_timeout_retry: self.work.dup_timeout_retry,
            dup_hedge: self.work.dup_hedge,
            dup_reauction: self.work.dup_reauction,
            dup_conflicting_claim: self.work.dup_conflicting_claim,
            dup_false_suspicion: self.work.dup_false_suspicion,
            wasted_work_ratio,
            wasted_timeout: wasted[Waste::Timeout as usize],
            wasted_cancelled: wasted[Waste::Cancelled as usize],
            wasted_crash: wasted[Waste::Crash as usize],
            wasted_duplicate: wasted[Waste::Duplicate as usize],
            wasted_failed: wasted[Waste::Failed as usize],
            messages_by_kind: self.messages_by_kind,
            placement_wait_mean_ms: mean_ms(self.placement_wait_ns, self.placement_waits),
            scheduler_queue_mean_ms: mean_ms(self.scheduler_wait_ns, self.scheduler_waits),
            decision_staleness_mean_ms: self.decisions.mean_ms(),
            decision_staleness_p99_ms: self.decisions.quantile_ms(0.99),
            gossip_spread_rounds: self.decisions.spread_means().0,
            gossip_spread_s: self.decisions.spread_means().1,
            useful_service_s: self.work.useful_ns as f64 * 1e-9,
            duplicate_service_s: self.work.duplicate_ns as f64 * 1e-9,
            attempts_per_job: if self.attempts_needed == 0 {
                0.0
            } else {
                self.attempts as f64 / self.attempts_needed as f64
            },
            jobs_shed: self.shed,
            dropped_expired: self.dropped_expired,
            faults_injected: faults.len() as u64,
            faults_untouched: faults.iter().filter(|f| f.touched == 0).count() as u64,
            cascades_contained: cascades.cascades_contained,
            blast_radius_mean: cascades.blast_radius_mean,
            secondary_impaired_s: cascades.secondary_impaired_s,
            classes,
            timeseries,
            faults,
            approvals: self.approvals,
            rejections: self.rejections,
            escalations: self.escalations,
            human_wait_mean_ms: if self.human_waits == 0 {
                f64::NAN
            } else {
                self.human_wait_ns as f64 / self.human_waits as f64 * 1e-6
            },
            replica_seconds: services.iter().map(|s| s.replica_seconds).sum(),
            cost: services.iter().map(|s| s.cost).sum(),
            scale_ups: total(|s| s.scale_ups),
            scale_downs: total(|s| s.scale_downs),
            restarts: total(|s| s.restarts),
            ejections: total(|s| s.ejections),
            escalations_by_agents: self.control.escalations,
            flaps: self.control.flaps,
            agent_conflicts: self.control.conflicts,
            time_to_recover_s: cascades.time_to_recover_s,
            faults_unrecovered: cascades.faults_unrecovered,
            regret: f64::NAN,
            services,
            events: engine.events,
            fingerprint: engine.fingerprint,
        }
    }
}

/// A mean of nanosecond sums in milliseconds, NaN when there is nothing to average.
fn mean_ms(sum_ns: u128, count: u64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        sum_ns as f64 / count as f64 * 1e-6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(now_s: u64) -> EngineStats {
        EngineStats {
            events: 0,
            fingerprint: crate::engine::Fingerprint::new(),
            now: SimTime::from_nanos(now_s * 1_000_000_000),
        }
    }

    #[test]
    fn figures_from_hand_fed_latencies() {
        let mut r = Recorder::new(SimTime::from_nanos(1_000_000_000));
        for ms in 1..=1000u64 {
            r.job_arrived();
            r.job_completed(ClassId(0), SimDuration::from_nanos(ms * 1_000_000));
        }
        r.job_arrived();
        r.job_failed();
        let s = r.finish(stats(11), 0, Vec::new());
        assert_eq!((s.jobs_arrived, s.jobs_completed, s.jobs_failed), (1001, 1000, 1));
        assert!((s.latency_mean_ms - 500.5).abs() < 1e-9);
        // Exact quantiles of 1..=1000 ms are 500, 900, 990, 999 ms; the histogram may be off
        // by its 0.1% resolution.
        for (got, exact) in [
            (s.latency_p50_ms, 500.0),
            (s.latency_p90_ms, 900.0),
            (s.latency_p99_ms, 990.0),
            (s.latency_p999_ms, 999.0),
        ] {
            assert!((got / exact - 1.0).abs() <= 1e-3, "{got} vs {exact}");
        }
        assert!((s.goodput_per_s - 100.0).abs() < 1e-9, "1000 jobs over 10 s");
    }

    #[test]
    fn no_completions_means_no_latency() {
        let s = Recorder::new(SimTime::ZERO).finish(stats(1), 0, Vec::new());
        assert!(s.latency_mean_ms.is_nan() && s.latency_p99_ms.is_nan());
        assert_eq!(s.messages_per_job, 0.0);
    }

    #[test]
    fn messages_before_the_warmup_do_not_count() {
        let mut r = Recorder::new(SimTime::from_nanos(10));
        r.message_sent(SimTime::from_nanos(9), MessageKind::Assign);
        r.message_sent(SimTime::from_nanos(10), MessageKind::Bid);
        assert_eq!(r.finish(stats(1), 0, Vec::new()).messages_total, 1);
    }
}
