//! The validated types of a service: its replicas, slots, queue and speed, its downstream
//! calls, its working hours (people), and the resilience settings its callers apply.

use crate::dist::DurationDist;
use crate::ids::ServiceId;
use crate::time::{SimDuration, SimTime};

/// How callers treat requests to a service (resolved per step and per call stage).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Resilience {
    /// Per-attempt timeout: the caller gives up on an attempt after this long.
    pub timeout: Option<SimDuration>,
    /// Further attempts after a failure or a timeout.
    pub retries: Retries,
    /// A second attempt when the first is slow.
    pub hedge: Option<Hedge>,
    /// Cancel timed-out and losing attempts (removes queued work, stops running work).
    pub cancel: bool,
    /// Fail fast while the destination looks broken.
    pub circuit_breaker: Option<Breaker>,
    /// Avoid replicas whose errors or latency stand out.
    pub outlier_ejection: Option<Ejection>,
}

/// Retry settings.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Retries {
    /// Attempts after the first (0: no retry).
    pub max: u32,
    /// Wait before each retry.
    pub backoff: Backoff,
    /// Randomisation of the wait.
    pub jitter: Jitter,
    /// At most this many retries per original request, over time (a token bucket).
    pub budget: Option<f64>,
}

/// Wait before a retry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Backoff {
    /// Retry at once.
    #[default]
    None,
    /// Always the same wait.
    Constant(SimDuration),
    /// `base * 2^(retry - 1)`, at most `cap`.
    Exponential {
        /// First wait.
        base: SimDuration,
        /// Longest wait.
        cap: SimDuration,
    },
}

/// Randomisation of a backoff `b`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly `b`.
    #[default]
    None,
    /// Uniform on `[0, b]`.
    Full,
    /// Uniform on `[b/2, b]`.
    Equal,
}

/// When to send a hedged (second) attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Hedge {
    /// After a fixed delay.
    After(SimDuration),
    /// After the caller's observed latency quantile for this destination.
    Quantile(f64),
}

/// Circuit-breaker settings (one breaker per calling agent and destination service).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Breaker {
    /// Open when the failure share of the current window reaches this.
    pub error_rate: f64,
    /// Or after this many consecutive failures.
    pub consecutive: u32,
    /// Length of the counting window.
    pub window: SimDuration,
    /// Requests a window needs before its error rate counts.
    pub min_requests: u32,
    /// How long the breaker stays open before probing.
    pub open_for: SimDuration,
    /// Requests let through while half-open.
    pub probes: u32,
}

/// Outlier-ejection settings (each calling agent keeps its own view).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Ejection {
    /// Eject a replica after this many consecutive failures.
    pub consecutive_failures: u32,
    /// Or when its mean latency exceeds this multiple of the service's median (None: off).
    pub latency_factor: Option<f64>,
    /// Results a replica needs before its latency is judged.
    pub min_samples: u32,
    /// How long an ejected replica is avoided.
    pub eject_for: SimDuration,
    /// At most this share of a service's replicas is ejected at once.
    pub max_ejected: f64,
}

/// When the people of a human service work.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct WorkingHours {
    /// Offset of the start of work within each period.
    pub start: SimDuration,
    /// Offset of the end of work within each period.
    pub end: SimDuration,
    /// Length of a day.
    pub period: SimDuration,
}

impl WorkingHours {
    /// Whether `t` falls in working hours.
    pub fn working(&self, t: SimTime) -> bool {
        let offset = t.as_nanos() % self.period.as_nanos();
        offset >= self.start.as_nanos() && offset < self.end.as_nanos()
    }

    /// The next instant at or after `t` that falls in working hours.
    pub fn next_start(&self, t: SimTime) -> SimTime {
        if self.working(t) {
            return t;
        }
        let period = self.period.as_nanos();
        let day = t.as_nanos() / period * period;
        let today = day + self.start.as_nanos();
        SimTime::from_nanos(if today >= t.as_nanos() { today } else { today + period })
    }
}

/// A named kind of work served by replicas, in groups of identical ones.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Service {
    /// The key under `[services]`.
    pub name: String,
    /// Replicas serving this service at the start (>= 1): the sum over its groups.
    pub replicas: u32,
    /// The service's own `concurrency`: that of its groups unless one sets its own (>= 1).
    pub concurrency: u32,
    /// The service's own `queue_capacity`, the default of its groups. `u32::MAX` stands for
    /// unbounded.
    pub queue_capacity: u32,
    /// The service's own `speed`, the default of its groups (> 0).
    pub speed: f64,
    /// Its replicas by group (docs/model.md section 12), in declaration order; a service
    /// that declares none has one group, named `default`, with the service's own settings.
    pub groups: Vec<ReplicaGroup>,
    /// Whether `[[services.<name>.groups]]` were declared (replicas are then named with
    /// their group in fault targets, traces and audit logs).
    pub grouped: bool,
    /// Whether the dispatcher is told each request's work when it places it (size-based
    /// assignment): only then may a policy read the task's work and replicas' work left.
    pub sizes_known: bool,
    /// Base work size of one request, in seconds at speed 1: drawn once per request and
    /// shared by its retries and hedges.
    pub service_time: DurationDist,
    /// The per-execution part of the execution time, drawn for each attempt (None: every
    /// execution of a request takes the same time).
    pub execution: Option<ExecutionNoise>,
    /// Downstream calls made after the service's own work, holding the slot: stages in
    /// sequence, the calls of one stage in parallel. The call graph is acyclic.
    pub calls: Vec<CallStage>,
    /// How callers treat requests to this service, unless a step or call stage overrides it.
    pub resilience: Resilience,
    /// Server side: a request about to start is dropped instead of executed when its
    /// caller's timeout has passed or will pass before one mean execution time could finish.
    pub drop_expired: bool,
    /// For a service of people: when they work (None: machines, always).
    pub working_hours: Option<WorkingHours>,
    /// Whether this is a service of people (`kind = "human"`).
    pub human: bool,
    /// Latency objective of one request, placement to result (None: only failures count
    /// against the service).
    pub slo: Option<SimDuration>,
}

/// The per-execution part of a service's execution time, drawn for each attempt as it
/// starts, from its replica's own stream (docs/model.md section 3): an attempt works for
/// `(work x multiplier + extra) / speed x slowdown`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExecutionNoise {
    /// Multiplies the request's work: a distribution of plain numbers (1 when absent; a
    /// mean of 1 keeps the mean execution time).
    pub multiplier: Option<DurationDist>,
    /// Added to the work, in seconds at speed 1 (nothing when absent).
    pub extra: Option<DurationDist>,
}

/// Replicas of one service that share a speed, slots, a queue and a price.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ReplicaGroup {
    /// Unique within its service (`default` for the group of a service without groups).
    pub name: String,
    /// Replicas at the start (>= 1).
    pub replicas: u32,
    /// Work executed per second of time (> 0); execution takes `work / speed`.
    pub speed: f64,
    /// Requests one replica executes at once (>= 1).
    pub concurrency: u32,
    /// Requests one replica may hold waiting; one more is rejected at once. `u32::MAX`
    /// stands for unbounded.
    pub queue_capacity: u32,
    /// Price of one replica-hour (>= 0), for the `cost` figure.
    pub price: f64,
}

impl Service {
    /// The group named `name`, by index.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.name == name)
    }

    /// Work the starting replicas execute per second with every slot busy: the sum over
    /// groups of replicas x concurrency x speed.
    pub fn capacity_per_s(&self) -> f64 {
        self.groups.iter().map(|g| f64::from(g.replicas) * f64::from(g.concurrency) * g.speed).sum()
    }

    /// The slots of an average starting replica, each counted at its group's speed over the
    /// service's own (the concurrency, for a service without groups).
    pub fn slots_per_replica_at_own_speed(&self) -> f64 {
        let slots: f64 = self
            .groups
            .iter()
            .map(|g| f64::from(g.replicas) * f64::from(g.concurrency) * (g.speed / self.speed))
            .sum();
        slots / f64::from(self.replicas)
    }

    /// Slots of the starting replicas, over all groups.
    pub fn slots(&self) -> u64 {
        self.groups.iter().map(|g| u64::from(g.replicas) * u64::from(g.concurrency)).sum()
    }

    /// The mean work of one attempt (at speed 1), in seconds.
    pub fn mean_work_secs(&self) -> f64 {
        self.mean_execution_secs_at(1.0)
    }

    /// The mean execution time of one attempt on an unslowed replica of `speed`, in seconds.
    pub fn mean_execution_secs_at(&self, speed: f64) -> f64 {
        let work = self.service_time.mean_secs();
        let (factor, extra) = match &self.execution {
            None => (1.0, 0.0),
            Some(n) => (
                n.multiplier.as_ref().map_or(1.0, DurationDist::mean_secs),
                n.extra.as_ref().map_or(0.0, DurationDist::mean_secs),
            ),
        };
        (work * factor + extra) / speed
    }

    /// The mean execution time of one attempt on an unslowed replica, in seconds.
    pub fn mean_execution_secs(&self) -> f64 {
        self.mean_execution_secs_at(self.speed)
    }
}

/// One stage of calls.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CallStage {
    /// The services called in parallel.
    pub services: Vec<ServiceId>,
    /// For each call, the resolved resilience settings.
    pub resilience: Vec<Resilience>,
}
