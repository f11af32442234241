//! What one run yields: the [`RunSummary`] and the records in it (fault instances, per-class
//! latency, the time series), named as in docs/model.md. Plain data; the [`Recorder`]
//! (`metrics.rs`) fills them in.
//!
//! [`Recorder`]: super::Recorder

use super::ServiceFigures;
use crate::engine::Fingerprint;
use crate::ids::ServiceId;
use crate::policy::MessageKind;
use crate::time::{SimDuration, SimTime};

/// The figures of one run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RunSummary {
    /// Jobs that arrived after the warm-up.
    pub jobs_arrived: u64,
    /// Of those, jobs that completed.
    pub jobs_completed: u64,
    /// Of those, jobs that failed.
    pub jobs_failed: u64,
    /// Of those, jobs neither completed nor failed when the run ended (counted from the
    /// world's live jobs, not by subtraction, so conservation is a real check).
    pub jobs_in_flight: u64,
    /// `jobs_failed / jobs_arrived` (0 when no job arrived).
    pub failed_ratio: f64,
    /// Completed jobs per simulated second over the measured span.
    pub goodput_per_s: f64,
    /// Mean latency of completed jobs, arrival to completion, in ms (NaN when none).
    pub latency_mean_ms: f64,
    /// Median latency in ms (NaN when none).
    pub latency_p50_ms: f64,
    /// 90th percentile latency in ms (NaN when none).
    pub latency_p90_ms: f64,
    /// 99th percentile latency in ms (NaN when none).
    pub latency_p99_ms: f64,
    /// 99.9th percentile latency in ms (NaN when none).
    pub latency_p999_ms: f64,
    /// Messages sent between agents after the warm-up.
    pub messages_total: u64,
    /// `messages_total / jobs_arrived` (0 when no job arrived).
    pub messages_per_job: f64,
    /// Service-seconds of duplicate executions over all service-seconds executed.
    pub dup_work_ratio: f64,
    /// Executions that were duplicates, all sources.
    pub dup_executions: u64,
    /// Duplicate executions caused by retries (after a timeout or a failure).
    pub dup_timeout_retry: u64,
    /// Duplicate executions caused by hedging.
    pub dup_hedge: u64,
    /// Duplicate executions caused by re-auctions (retries of auctioned tasks).
    pub dup_reauction: u64,
    /// Duplicate executions caused by conflicting claims (`gossip` in `claim` mode).
    pub dup_conflicting_claim: u64,
    /// Duplicate executions caused by work re-placed after a false suspicion (`gossip` with
    /// `resend_on_suspicion`, when the suspected replica was up).
    pub dup_false_suspicion: u64,
    /// Service-seconds of executions whose result was not used (timed out, cancelled, lost
    /// to a crash or restart, run to the end after another copy won, answered a failure,
    /// or used by a job that ended failed) over all service-seconds executed.
    pub wasted_work_ratio: f64,
    /// The part of `wasted_work_ratio` whose requester had timed out on it.
    pub wasted_timeout: f64,
    /// The part cancelled while it ran.
    pub wasted_cancelled: f64,
    /// The part lost when its replica crashed or was restarted or removed.
    pub wasted_crash: f64,
    /// The part that ran to the end after another copy's result was used.
    pub wasted_duplicate: f64,
    /// The part that answered a failure, or served a job that ended failed.
    pub wasted_failed: f64,
    /// Messages sent after the warm-up, by kind, in [`MessageKind::ALL`] order.
    pub messages_by_kind: [u64; MessageKind::ALL.len()],
    /// Mean time a deferred placement waited for the policy's protocol (request to
    /// decision), in ms (NaN when no placement was deferred).
    pub placement_wait_mean_ms: f64,
    /// Mean time a placement request waited in the scheduler's queue before being served,
    /// in ms (`central` only; NaN otherwise).
    pub scheduler_queue_mean_ms: f64,
    /// Mean age, over placement decisions, of the information about the chosen replica
    /// that the deciding agent used, in ms (0 for a decision that saw the present or used
    /// no information; NaN when no decision was made).
    pub decision_staleness_mean_ms: f64,
    /// The 99th percentile of that age, in ms.
    pub decision_staleness_p99_ms: f64,
    /// `gossip`: mean number of gossip rounds until every agent had heard a replica's new
    /// state (NaN for other policies, or when no spread completed).
    pub gossip_spread_rounds: f64,
    /// `gossip`: mean time until every agent had heard a replica's new state, in s.
    pub gossip_spread_s: f64,
    /// Service-seconds executed by executions whose result was used (or that a failed
    /// request needed anyway).
    pub useful_service_s: f64,
    /// Service-seconds executed by duplicate executions.
    pub duplicate_service_s: f64,
    /// All attempts placed, over the attempts a fault-free run would need (1 per unit).
    pub attempts_per_job: f64,
    /// Jobs refused at the entry by admission control (counted as failed too).
    pub jobs_shed: u64,
    /// Queued requests a server dropped because their caller had already timed out.
    pub dropped_expired: u64,
    /// Fault instances that started during the run.
    pub faults_injected: u64,
    /// Of those, instances that touched no request and no message.
    pub faults_untouched: u64,
    /// Share of fault instances whose cascade is empty (1 when none was injected).
    pub cascades_contained: f64,
    /// Mean cascade size over fault instances, in services (0 when none was injected).
    pub blast_radius_mean: f64,
    /// Service-seconds of impairment outside directly faulted services.
    pub secondary_impaired_s: f64,
    /// Latency of completed jobs per job class, in class order.
    pub classes: Vec<ClassFigures>,
    /// Per-window figures, overall and per service.
    pub timeseries: TimeSeries,
    /// Every fault instance that started, in timeline order: faults as listed in the
    /// scenario, each in time order (and, for a random fault on a whole service, replica by
    /// replica).
    pub faults: Vec<FaultRecord>,
    /// Human reviews that approved.
    pub approvals: u64,
    /// Human reviews that rejected (the job failed).
    pub rejections: u64,
    /// Steps taken over by people after failing for good.
    pub escalations: u64,
    /// Mean time jobs waited for people (review or escalation, placement to answer), in ms.
    pub human_wait_mean_ms: f64,
    /// Replica-seconds over the measured span, all services: the capacity used.
    pub replica_seconds: f64,
    /// Replica-hours times each group's price, summed over groups (0 where no price is set).
    pub cost: f64,
    /// Replicas added by control agents (after the warm-up).
    pub scale_ups: u64,
    /// Replicas removed by control agents.
    pub scale_downs: u64,
    /// Replicas restarted by remediators.
    pub restarts: u64,
    /// Replicas ejected from placement by remediators.
    pub ejections: u64,
    /// Escalations of remediators to people.
    pub escalations_by_agents: u64,
    /// Scaling actions that reverse the same agent's action on the same service within its
    /// stabilisation window (two periods where it has none).
    pub flaps: u64,
    /// Scaling actions that reverse another agent's action on the same service within one
    /// period of the later agent.
    pub agent_conflicts: u64,
    /// Mean over the faults that recovered of the time from a fault's start until its
    /// services met their SLO for `recovery_windows` windows, in s (NaN when none did).
    pub time_to_recover_s: f64,
    /// Faults whose services had not recovered by the end of the run.
    pub faults_unrecovered: u64,
    /// Adaptive agents' regret: reward of the best fixed arm in hindsight minus the reward
    /// obtained, summed over decisions (NaN without adaptive agents, or when it cannot be
    /// estimated, as for a policy built outside the crate).
    pub regret: f64,
    /// Per-service cost and control actions.
    pub services: Vec<ServiceFigures>,
    /// Events the engine processed (whole run, warm-up included).
    pub events: u64,
    /// Hash of the processed event sequence.
    pub fingerprint: Fingerprint,
}

/// One injected fault instance.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRecord {
    /// `crash`, `slowdown`, `partition` or `message_loss`.
    pub kind: &'static str,
    /// What it hit: `service`, `service[replica]`, `group<->group` or `all links`.
    pub target: String,
    /// When it started.
    pub start: SimTime,
    /// When it ended (or the end of the run if it was still active).
    pub end: SimTime,
    /// Requests and messages it affected; 0 means the fault tested nothing.
    pub touched: u64,
    /// Services it faults directly (see docs/model.md, "Cascades").
    pub faulted_services: Vec<ServiceId>,
    /// How many other services its cascade holds.
    pub cascade_size: u64,
    /// Names of the services in its cascade, in service order.
    pub cascade_services: Vec<String>,
    /// From its start until the services it faults met their SLO again for
    /// `recovery_windows` windows, in s; `None` if they never did within the run.
    pub time_to_recover_s: Option<f64>,
}

/// Latency of one job class's completed (measured) jobs.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassFigures {
    /// Class name.
    pub class: String,
    /// Measured jobs of the class that completed.
    pub jobs_completed: u64,
    /// Mean latency in ms (NaN when none completed).
    pub latency_mean_ms: f64,
    /// Median latency in ms (NaN when none).
    pub latency_p50_ms: f64,
    /// 90th percentile in ms (NaN when none).
    pub latency_p90_ms: f64,
    /// 99th percentile in ms (NaN when none).
    pub latency_p99_ms: f64,
    /// 99.9th percentile in ms (NaN when none).
    pub latency_p999_ms: f64,
}

/// Figures per window: one [`Window`] per window (all services together) and one
/// [`ServiceWindow`] per window and service.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeSeries {
    /// Window length.
    pub window: SimDuration,
    /// Service names, in service order.
    pub services: Vec<String>,
    /// Windows from time zero; the last one ends with the run (it may be shorter).
    pub windows: Vec<Window>,
    /// `services.len()` rows per window, window-major, services in order.
    pub service_windows: Vec<ServiceWindow>,
}

/// One window, all services together.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// Start of the window.
    pub start: SimTime,
    /// End of the window.
    pub end: SimTime,
    /// Jobs that arrived (measured or not, refused at the entry included).
    pub arrivals: u64,
    /// Jobs that completed.
    pub completions: u64,
    /// Jobs that failed (refused at the entry included).
    pub failures: u64,
    /// Time average of jobs in the system.
    pub jobs_in_system: f64,
    /// Time average of requests queued on all replicas.
    pub queue_length: f64,
    /// Time average of busy slots over all slots.
    pub utilisation: f64,
    /// Time average of provisioned replicas over all services.
    pub replicas: f64,
    /// Of the service time whose use was decided in the window, the wasted share (NaN when
    /// none was decided).
    pub wasted_work: f64,
    /// Whether some service was impaired.
    pub impaired: bool,
    /// Whether some injected fault was active.
    pub fault_active: bool,
    /// Whether a traffic shape raised an arrival rate above its base (at the midpoint).
    pub spike_active: bool,
}

/// One service in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceWindow {
    /// Requests that reached its replicas (admitted or refused).
    pub arrivals: u64,
    /// Requests that ended there successfully.
    pub completions: u64,
    /// Requests that ended there failed (failed, refused, killed, dropped, timed out).
    pub failures: u64,
    /// Of the completions, those slower than the service's SLO.
    pub slo_missed: u64,
    /// Time average of requests queued on its replicas.
    pub queue_length: f64,
    /// Time average of busy slots over its slots.
    pub utilisation: f64,
    /// Time average of its provisioned replicas (being provisioned and draining included).
    pub replicas: f64,
    /// Whether it was impaired.
    pub impaired: bool,
    /// Whether an injected fault directly faulted it (grace not included).
    pub fault_active: bool,
}
