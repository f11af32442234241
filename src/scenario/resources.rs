//! What a run of a validated scenario will need, estimated from the scenario alone before
//! anything is allocated: memory by part (replicas, agents, policy state, metric windows,
//! the monitoring system, jobs in flight, loaded traces) and the work of the run in events,
//! with the keys each part grows with. [`Limits`] turns an estimate over a limit into an
//! error naming those keys, the estimate, the limit and the flag that raises it.
//!
//! The per-item sizes are measured (peak resident memory of runs that scale one part,
//! `benches/resources/estimate.sh`); the estimate is meant to be within a factor of 3 of
//! the measured peak and to err on the high side. It is an order of magnitude, not an
//! accounting: its job is to refuse a scenario that would need 50 GB before it aborts on an
//! allocation, and to accept every ordinary one.

use std::path::Path;

use super::{ClassSource, Invalid, Process, Scenario, ScenarioError, Workflow};
use crate::ids::ServiceId;
use crate::policy::PolicySpec;

/// Memory of the process with no scenario at all (binary, histograms, buffers), in bytes.
const BASE_BYTES: f64 = 8.0 * MIB;
/// Per replica under a policy that keeps no per-replica state of its own.
const REPLICA_BYTES: f64 = 200.0;
/// Extra per replica for `central`'s view and heartbeats, `peak_ewma`'s averages.
const REPLICA_VIEW_BYTES: f64 = 150.0;
/// Extra per replica whose service draws per-execution variability (its own stream).
const NOISE_STREAM_BYTES: f64 = 400.0;
/// Per orchestrator.
const ORCHESTRATOR_BYTES: f64 = 64.0;
/// Per (agent, replica) pair under `gossip`: every agent's view of every replica, and the
/// views in flight.
const GOSSIP_ENTRY_BYTES: f64 = 100.0;
/// Per time-series row (one per window and service, plus the `*` row).
const WINDOW_ROW_BYTES: f64 = 170.0;
/// Per scrape interval and service kept by the monitoring system.
const SCRAPE_BYTES: f64 = 1_200.0;
/// Per job in flight, and per unit of it.
const JOB_BYTES: f64 = 350.0;
const UNIT_BYTES: f64 = 120.0;
/// Per arrival instant of a loaded trace.
const TRACE_ARRIVAL_BYTES: f64 = 12.0;
/// Events per unit a job runs (placement, hand-off, start, end, result) and per job.
const EVENTS_PER_UNIT: f64 = 5.0;
const EVENTS_PER_JOB: f64 = 2.0;
/// Jobs in flight assumed in a stable system, beyond Little's law with the mean sojourn:
/// bursts, variance and faults keep more in flight than the mean.
const IN_FLIGHT_SAFETY: f64 = 4.0;

const MIB: f64 = 1024.0 * 1024.0;

/// One part of an estimate: what it is, the keys it grows with, its size.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// What the memory holds, in words.
    pub what: String,
    /// The scenario keys it grows with, as dotted paths.
    pub keys: Vec<String>,
    /// Estimated bytes.
    pub bytes: f64,
}

/// The estimated needs of one run of a scenario under one policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The parts, largest first.
    pub parts: Vec<Part>,
    /// Expected events of the run (with gossip's merged entries counted as events).
    pub events: f64,
    /// The keys the event count grows with.
    pub event_keys: Vec<String>,
}

impl Estimate {
    /// Estimated peak memory in bytes.
    pub fn bytes(&self) -> f64 {
        BASE_BYTES + self.parts.iter().map(|p| p.bytes).sum::<f64>()
    }
}

/// Limits a run must stay within. A sweep or a `run` checks each run's estimate times the
/// runs it holds at once (the worker threads).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Bytes all runs in progress may need together.
    pub max_memory: f64,
    /// Events one run may take.
    pub max_events: f64,
}

/// Default memory limit: 8 GiB, a third of a 24 GiB machine (or `COORDSIM_MAX_MEMORY`).
pub const DEFAULT_MAX_MEMORY: f64 = 8.0 * 1024.0 * MIB;
/// Default event limit: 10^10 events, most of an hour of one run at the usual 3 to 10
/// million events per second.
pub const DEFAULT_MAX_EVENTS: f64 = 1e10;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_memory: DEFAULT_MAX_MEMORY, max_events: DEFAULT_MAX_EVENTS }
    }
}

/// Parses a size such as `8G`, `512M`, `2GiB` or a plain number of bytes.
///
/// # Errors
/// A text that is not a positive number with an optional unit (K, M, G, T; with or
/// without `iB` / `B`; powers of 1024).
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => MIB,
        "G" | "GB" | "GIB" => 1024.0 * MIB,
        "T" | "TB" | "TIB" => 1024.0 * 1024.0 * MIB,
        _ => return Err(format!("{text:?}: unknown unit (use K, M, G or T, powers of 1024)")),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n * factor),
        _ => Err(format!("{text:?} is not a positive size such as 8G or 512M")),
    }
}

/// A size in words: `12.3 GiB`.
pub fn size_text(bytes: f64) -> String {
    if bytes >= 1024.0 * MIB {
        format!("{:.1} GiB", bytes / (1024.0 * MIB))
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes / MIB)
    } else {
        format!("{:.0} KiB", bytes / 1024.0)
    }
}

impl Scenario {
    /// The estimated needs of one run of this scenario under `policy`.
    pub fn estimate(&self, policy: PolicySpec) -> Estimate {
        estimate(self, policy)
    }

    /// The largest estimate over the scenario's policies.
    pub fn largest_estimate(&self) -> Estimate {
        self.policies
            .iter()
            .map(|&p| estimate(self, p))
            .max_by(|a, b| a.bytes().total_cmp(&b.bytes()).then(a.events.total_cmp(&b.events)))
            .unwrap_or_else(|| estimate(self, PolicySpec::Random))
    }

    /// Checks every policy's estimate against `limits`, with `at_once` runs in memory
    /// together.
    ///
    /// # Errors
    /// The first policy whose estimate is over a limit, naming the file (`path`) and the
    /// keys responsible.
    pub fn check_limits(
        &self,
        path: &Path,
        limits: &Limits,
        at_once: usize,
    ) -> Result<(), ScenarioError> {
        self.over_limits(limits, at_once).map_err(|invalid| invalid.in_file(path))
    }

    fn over_limits(&self, limits: &Limits, at_once: usize) -> Result<(), Invalid> {
        for &policy in &self.policies {
            let e = estimate(self, policy);
            let total = e.bytes() * at_once.max(1) as f64;
            if total > limits.max_memory {
                let top = &e.parts[0];
                let runs = if at_once > 1 {
                    format!(" per run, {} for the {at_once} runs held at once (one per worker thread; fewer with --jobs)", size_text(total))
                } else {
                    String::new()
                };
                return Err(Invalid::new(
                    top.keys.join(", "),
                    format!(
                        "a run under {} would need about {}{runs}, over the limit of {}; most of it is {} ({}). Make the scenario smaller, or raise the limit with --max-memory (or COORDSIM_MAX_MEMORY) if the machine has the memory",
                        policy.kind().name(),
                        size_text(e.bytes()),
                        size_text(limits.max_memory),
                        top.what,
                        size_text(top.bytes),
                    ),
                ));
            }
            if e.events > limits.max_events {
                return Err(Invalid::new(
                    e.event_keys.join(", "),
                    format!(
                        "a run under {} would take about {:.2e} events, over the limit of {:.2e} (hours of computing); shorten `duration` or lower the rates, or raise the limit with --max-events",
                        policy.kind().name(),
                        e.events,
                        limits.max_events
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Where each class's jobs come from, as rates: open classes at their peak rate (jobs per
/// second), closed classes at most one job per user per think time.
#[derive(Clone, Copy)]
struct ClassRate {
    /// Open-loop jobs per second at the peak of every shape.
    open: f64,
    /// The same without spikes (the rate most of the run sees).
    open_base: f64,
    /// Seconds of the run under a spike.
    spike_s: f64,
    closed: f64,
    users: f64,
}

const NO_RATE: ClassRate =
    ClassRate { open: 0.0, open_base: 0.0, spike_s: 0.0, closed: 0.0, users: 0.0 };

fn class_rates(s: &Scenario) -> Vec<ClassRate> {
    let duration = s.duration.as_secs_f64();
    let rate = |a: &super::Arrival| -> ClassRate {
        let factor: f64 = a.shapes.iter().map(super::RateShape::max).product();
        let base: f64 = a
            .shapes
            .iter()
            .filter(|x| !matches!(x, super::RateShape::Spike { .. }))
            .map(super::RateShape::max)
            .product();
        let spike_s: f64 = a
            .shapes
            .iter()
            .map(|x| match *x {
                super::RateShape::Spike { duration, .. } => duration.as_secs_f64(),
                _ => 0.0,
            })
            .sum();
        let open = |r: f64| ClassRate {
            open: r * factor,
            open_base: r * base,
            spike_s: spike_s.min(duration),
            ..NO_RATE
        };
        match &a.process {
            Process::Poisson { rate } | Process::Deterministic { rate } => open(*rate),
            Process::Mmpp { rate, burst_rate, .. } => open(rate.max(*burst_rate)),
            Process::Trace { times, .. } => open(times.len() as f64 / duration),
            Process::Closed { clients, think } => {
                let users = f64::from(*clients);
                ClassRate { closed: users / think.mean_secs().max(1e-3), users, ..NO_RATE }
            }
        }
    };
    let shared = s.shared_arrival.as_ref().map(rate);
    let total_weight = s.shared_weight();
    s.classes
        .iter()
        .map(|c| match &c.source {
            ClassSource::Own(a) => rate(a),
            ClassSource::Weight(w) => {
                let share = w / total_weight.max(f64::MIN_POSITIVE);
                let r = shared.unwrap_or(NO_RATE);
                ClassRate {
                    open: r.open * share,
                    open_base: r.open_base * share,
                    spike_s: r.spike_s,
                    closed: r.closed * share,
                    users: r.users * share,
                }
            }
        })
        .collect()
}

/// How many times one job of `workflow` visits each service (steps and transitive calls).
pub(super) fn visits(s: &Scenario, workflow: &Workflow) -> Vec<f64> {
    fn add(s: &Scenario, service: usize, into: &mut [f64], depth: u32) {
        into[service] += 1.0;
        if depth > 64 {
            return; // the call graph is acyclic (validated); this only bounds the recursion
        }
        for stage in &s.services[service].calls {
            for callee in &stage.services {
                add(s, callee.index(), into, depth + 1);
            }
        }
    }
    let mut v = vec![0.0; s.services.len()];
    for step in &workflow.steps {
        add(s, step.service.index(), &mut v, 0);
    }
    v
}

fn estimate(s: &Scenario, policy: PolicySpec) -> Estimate {
    let duration = s.duration.as_secs_f64();
    let mut parts = Vec::new();

    // Replicas at their most: what agents may add counts.
    let max_replicas: Vec<f64> =
        (0..s.services.len()).map(|i| f64::from(s.capacity(ServiceId(i as u32)))).collect();
    let replicas: f64 = max_replicas.iter().sum();
    let noisy: f64 = s
        .services
        .iter()
        .zip(&max_replicas)
        .filter(|(x, _)| x.execution.is_some())
        .map(|(_, r)| r)
        .sum();
    let replica_keys: Vec<String> = {
        let mut by_size: Vec<(f64, &str)> =
            max_replicas.iter().zip(&s.services).map(|(r, x)| (*r, x.name.as_str())).collect();
        by_size.sort_by(|a, b| b.0.total_cmp(&a.0));
        by_size.iter().take(3).map(|(_, n)| format!("services.{n}.replicas")).collect()
    };
    let view = matches!(policy, PolicySpec::Central(_) | PolicySpec::PeakEwma { .. });
    let per_replica = REPLICA_BYTES + if view { REPLICA_VIEW_BYTES } else { 0.0 };
    parts.push(Part {
        what: "the replicas".into(),
        keys: replica_keys.clone(),
        bytes: replicas * per_replica + noisy * NOISE_STREAM_BYTES,
    });
    let orchestrators = f64::from(s.orchestrators);
    parts.push(Part {
        what: "the orchestrators".into(),
        keys: vec!["orchestrators".into()],
        bytes: orchestrators * ORCHESTRATOR_BYTES,
    });
    let agents = orchestrators + replicas;
    let mut gossip_merges = 0.0;
    if let PolicySpec::Gossip(g) = policy {
        let mut keys = vec!["orchestrators".to_owned()];
        keys.extend(replica_keys.iter().cloned());
        parts.push(Part {
            what: "gossip's views (every agent's entry for every replica: (orchestrators + replicas) x replicas)".into(),
            keys,
            bytes: agents * replicas * GOSSIP_ENTRY_BYTES,
        });
        let rounds = duration / g.period.as_secs_f64();
        // Each round an agent merges a view of every replica from each peer it hears.
        gossip_merges = agents * rounds * f64::from(g.fanout.max(1)) * 2.0 * replicas / 16.0;
    }

    let windows = (duration / s.metrics.window.as_secs_f64()).ceil();
    parts.push(Part {
        what: "the metric windows (one time-series row per window and service)".into(),
        keys: vec!["metrics.window".into(), "duration".into()],
        bytes: windows * (s.services.len() as f64 + 1.0) * WINDOW_ROW_BYTES,
    });

    if !s.control.agents.is_empty() {
        let longest = s
            .control
            .agents
            .iter()
            .map(|a| (a.window + a.measurement_delay).as_secs_f64())
            .fold(0.0, f64::max);
        let intervals = (longest / s.control.scrape.as_secs_f64()).ceil() + 2.0;
        parts.push(Part {
            what: "the monitoring system's scrape intervals".into(),
            keys: vec!["control.scrape".into(), "agents.window".into()],
            bytes: intervals * s.services.len() as f64 * SCRAPE_BYTES,
        });
    }

    let traced: f64 = s
        .classes
        .iter()
        .filter_map(|c| match &c.source {
            ClassSource::Own(a) => Some(a),
            ClassSource::Weight(_) => None,
        })
        .chain(s.shared_arrival.as_ref())
        .map(|a| match &a.process {
            Process::Trace { times, .. } => times.len() as f64,
            _ => 0.0,
        })
        .sum();
    if traced > 0.0 {
        parts.push(Part {
            what: "the arrival traces".into(),
            keys: vec!["classes.arrival.file".into()],
            bytes: traced * TRACE_ARRIVAL_BYTES,
        });
    }

    // Jobs in flight: Little's law in a stable system, the backlog in an overloaded one.
    let rates = class_rates(s);
    let mut work = vec![0.0; s.services.len()]; // service-seconds per second, at the peak
    let mut work_base = vec![0.0; s.services.len()]; // and without spikes
    let (mut open_rate, mut rate, mut users) = (0.0, 0.0, 0.0);
    let mut spike_s: f64 = 0.0;
    let mut units_per_job: f64 = 1.0;
    let mut unit_rate = 0.0;
    let mut deadline_bound = 0.0;
    let mut all_deadlines = true;
    for (class, r) in s.classes.iter().zip(&rates) {
        let v = visits(s, &s.workflows[class.workflow.index()]);
        let units: f64 = v.iter().sum();
        units_per_job = units_per_job.max(units);
        let jobs_per_s = r.open + r.closed;
        (open_rate, rate, users) = (open_rate + r.open, rate + jobs_per_s, users + r.users);
        unit_rate += jobs_per_s * units;
        spike_s = spike_s.max(r.spike_s);
        for (i, n) in v.iter().enumerate() {
            work[i] += jobs_per_s * n * s.services[i].mean_execution_secs();
            work_base[i] += (r.open_base + r.closed) * n * s.services[i].mean_execution_secs();
        }
        match class.deadline {
            Some(d) if s.services.iter().all(|x| x.drop_expired) => {
                deadline_bound += jobs_per_s * d.as_secs_f64();
            }
            _ => all_deadlines = false,
        }
    }
    // Little's law: jobs in flight = arrival rate x sojourn, the sojourn summed over the
    // services visited, each stretched by 1 / (1 - utilisation).
    let mut stable = 0.0;
    let mut backlog: f64 = 0.0;
    let capacity: Vec<f64> = s
        .services
        .iter()
        .zip(&max_replicas)
        .map(|(x, r)| (r * x.slots_per_replica_at_own_speed()).max(1.0))
        .collect();
    // Requests a service can hold before it refuses (unbounded queues: no limit).
    let room = |i: usize| {
        let x = &s.services[i];
        if x.groups.iter().any(|g| g.queue_capacity == u32::MAX) {
            f64::INFINITY
        } else {
            let held: f64 = x
                .groups
                .iter()
                .map(|g| {
                    f64::from(g.replicas) * (f64::from(g.concurrency) + f64::from(g.queue_capacity))
                })
                .sum();
            max_replicas[i] * held / f64::from(x.replicas)
        }
    };
    for (i, &capacity) in capacity.iter().enumerate() {
        let rho = work[i] / capacity;
        if rho < 0.98 {
            // Requests at the service (in Erlangs, stretched as in an M/M/1 queue).
            stable += work[i] / (1.0 - rho);
        } else {
            // Overloaded: open arrivals pile up at the rate capacity cannot follow, for
            // the spikes' time if only spikes overload it, or for the whole run.
            let span = if work_base[i] / capacity < 0.98 { spike_s } else { duration };
            let growth = open_rate * (1.0 - 1.0 / rho).max(0.02) * span;
            backlog = backlog.max(growth.min(room(i)));
            stable += capacity;
        }
    }
    // Copies of a request: retries and a hedge.
    let resiliences = s
        .services
        .iter()
        .map(|x| &x.resilience)
        .chain(s.workflows.iter().flat_map(|w| w.steps.iter().map(|st| &st.resilience)))
        .chain(s.services.iter().flat_map(|x| x.calls.iter().flat_map(|c| c.resilience.iter())));
    let mut copies: f64 = 1.0;
    let mut retrying = false;
    for r in resiliences {
        copies =
            copies.max(1.0 + f64::from(r.retries.max) + f64::from(u8::from(r.hedge.is_some())));
        retrying |= r.timeout.is_some() && r.retries.max > 0;
    }
    // A fault that takes a whole service's capacity (a crash) or divides it (a slowdown)
    // backs work up while it lasts, and for the rest of the run when callers retry on
    // timeouts and the service is busy (a retry storm can outlive its trigger).
    for fault in &s.faults {
        let (service, left) = match fault.effect {
            super::FaultEffect::Crash { service, group: None, replica: None } => {
                (service.index(), 0.0)
            }
            super::FaultEffect::Slowdown { service, group: None, replica: None, factor } => {
                (service.index(), 1.0 / factor)
            }
            _ => continue,
        };
        let super::FaultTiming::Scheduled { at, duration: length } = fault.timing else {
            continue;
        };
        let during = capacity[service] * left;
        if work_base[service] > 0.0 && work_base[service] > 0.98 * during {
            // Metastable only when the service is busy enough for retries to keep it
            // overloaded (scenarios/retry-storm.toml runs at 0.6 before its trigger).
            let busy = work_base[service] / capacity[service] >= 0.5;
            let span = if retrying && busy {
                (s.duration.as_secs_f64() - (at - crate::time::SimTime::ZERO).as_secs_f64())
                    .max(0.0)
            } else {
                length.as_secs_f64()
            };
            let growth = open_rate * copies * (1.0 - during / work_base[service]).max(0.02) * span;
            backlog = backlog.max(growth.min(room(service)));
        }
    }
    let mut in_flight = stable * IN_FLIGHT_SAFETY + backlog + users + 1_000.0;
    in_flight = in_flight.min(open_rate * duration + users + 1_000.0);
    if all_deadlines && deadline_bound > 0.0 {
        in_flight = in_flight.min(deadline_bound * IN_FLIGHT_SAFETY + users + 1_000.0);
    }
    if let Some(max) = s.max_in_flight {
        in_flight = in_flight.min(f64::from(max) + 1_000.0);
    }
    let class_keys: Vec<String> = {
        let mut keys: Vec<String> =
            s.classes.iter().take(2).map(|c| format!("classes.{}.arrival.rate", c.name)).collect();
        keys.push("duration".into());
        keys
    };
    parts.push(Part {
        what: "the jobs in flight (with their work in queues and the event set)".into(),
        keys: class_keys.clone(),
        bytes: in_flight * (JOB_BYTES + units_per_job * UNIT_BYTES)
            // A backlog of retried requests holds every copy.
            + backlog.min(in_flight) * units_per_job * (copies - 1.0) * UNIT_BYTES,
    });

    // Events: the jobs' own, plus what protocols and agents send on their own.
    let jobs = rate * duration;
    let units = unit_rate * duration;
    let mut events = jobs * EVENTS_PER_JOB + units * EVENTS_PER_UNIT + gossip_merges;
    match policy {
        PolicySpec::Central(c) => events += replicas * duration / c.heartbeat.as_secs_f64() * 2.0,
        PolicySpec::Gossip(g) => events += agents * duration / g.period.as_secs_f64() * 2.0,
        PolicySpec::Auction(a) => events += units * 2.0 * f64::from(a.k.max(1)).min(replicas),
        _ => {}
    }
    events += windows;
    let mut event_keys = class_keys;
    if gossip_merges > 0.0 {
        event_keys.push("policy.gossip.period".into());
        event_keys.extend(replica_keys);
    }

    parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    Estimate { parts, events, event_keys }
}
