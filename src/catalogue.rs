//! The catalogue of result columns: the one place that says which columns the result files
//! have, in which order, and what each figure of `runs.csv` is: what it means, what an axis
//! showing it is called (with its unit), whether `summary.csv` gives it an interval and a
//! paired difference, whether it has a chart of its own, and whether its values may span
//! orders of magnitude.
//!
//! `report` writes the headers from here, `sweep` summarises and pairs what the catalogue
//! says, `scenario` accepts precision targets on the summarised metrics, and `chart` draws
//! the key metrics with the axis titles given here. Meanings follow docs/model.md; a metric
//! is added here, in `metrics::RunSummary` and in `report`'s `runs_csv`, in the same order.
//!
//! This module depends on nothing else in the crate, so everything can read it.

/// Columns that identify a run (and start every per-run file), in order.
pub const KEY_COLUMNS: [&str; 5] = ["scenario", "cell", "policy", "replication", "seed"];

/// One column of `runs.csv` after the key columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metric {
    /// The column name, as in docs/model.md.
    pub name: &'static str,
    /// What it is, in one line.
    pub description: &'static str,
    /// What it measures, in words, as an axis or a chart title says it ("p99 latency").
    pub quantity: &'static str,
    /// Its unit in words ("ms", "jobs/s"); empty when the quantity says it all.
    pub unit: &'static str,
    /// `summary.csv` gives its mean and 95% interval (and a precision target may name it).
    pub summarised: bool,
    /// Its place among the metrics `summary.csv` pairs against the reference policy (the
    /// order of the `_diff_` columns), if it is paired.
    pub paired: Option<u8>,
    /// `coordsim plot` draws it against the first swept key.
    pub key_chart: bool,
    /// Its values may span orders of magnitude (latencies under overload, message counts
    /// across protocols): a chart of it uses a log scale when the values drawn do.
    pub spans_decades: bool,
}

impl Metric {
    /// A metric summarised with an interval, unpaired, without a chart, on a linear scale.
    const fn new(
        name: &'static str,
        quantity: &'static str,
        unit: &'static str,
        description: &'static str,
    ) -> Metric {
        Metric {
            name,
            description,
            quantity,
            unit,
            summarised: true,
            paired: None,
            key_chart: false,
            spans_decades: false,
        }
    }

    const fn paired(self, place: u8) -> Metric {
        Metric { paired: Some(place), ..self }
    }

    const fn charted(self) -> Metric {
        Metric { key_chart: true, ..self }
    }

    const fn decades(self) -> Metric {
        Metric { spans_decades: true, ..self }
    }

    const fn not_summarised(self) -> Metric {
        Metric { summarised: false, ..self }
    }

    /// The title of an axis showing this metric.
    pub fn axis(&self) -> Axis {
        Axis { quantity: self.quantity.to_owned(), unit: self.unit.to_owned() }
    }
}

/// Every column of `runs.csv` after the key columns, in order: the figures of a run, then
/// its `fingerprint` (a hash, not a quantity: not summarised).
pub const METRICS: [Metric; 70] = [
    Metric::new("jobs_arrived", "jobs arrived", "jobs", "Jobs that arrived after the warm-up."),
    Metric::new(
        "jobs_completed",
        "jobs completed",
        "jobs",
        "Of the jobs arrived, those that completed.",
    ),
    Metric::new(
        "jobs_failed",
        "jobs failed",
        "jobs",
        "Of the jobs arrived, those that failed (a step failed for good, a deadline, shedding).",
    )
    .decades(),
    Metric::new(
        "jobs_in_flight",
        "jobs in flight at the end",
        "jobs",
        "Of the jobs arrived, those neither completed nor failed when the run ended.",
    )
    .decades(),
    Metric::new(
        "failed_ratio",
        "failed share",
        "share of jobs arrived",
        "jobs_failed over jobs_arrived (0 when no job arrived): the failures latency figures leave out.",
    )
    .decades()
    .charted(),
    Metric::new(
        "goodput_per_s",
        "goodput",
        "jobs/s",
        "Completed jobs per simulated second over the measured span (duration minus warm-up).",
    )
    .paired(2)
    .charted(),
    Metric::new(
        "latency_mean_ms",
        "mean latency",
        "ms",
        "Mean latency of completed jobs, arrival to completion (exact).",
    )
    .paired(0)
    .decades(),
    Metric::new(
        "latency_p50_ms",
        "median latency",
        "ms",
        "Median latency of completed jobs, from the HDR histogram (within 0.1%).",
    )
    .decades(),
    Metric::new(
        "latency_p90_ms",
        "p90 latency",
        "ms",
        "90th percentile latency of completed jobs.",
    )
    .decades(),
    Metric::new(
        "latency_p99_ms",
        "p99 latency",
        "ms",
        "99th percentile latency of completed jobs.",
    )
    .paired(1)
    .charted()
    .decades(),
    Metric::new(
        "latency_p999_ms",
        "p99.9 latency",
        "ms",
        "99.9th percentile latency of completed jobs.",
    )
    .decades(),
    Metric::new(
        "messages_total",
        "messages sent",
        "messages",
        "Messages sent between agents after the warm-up, of every kind, lost or not.",
    )
    .decades(),
    Metric::new(
        "messages_per_job",
        "messages per job",
        "",
        "messages_total over jobs_arrived (0 when no job arrived): the coordination cost.",
    )
    .paired(4)
    .charted()
    .decades(),
    Metric::new(
        "messages_assign",
        "assign messages",
        "messages",
        "Hand-offs of work to a replica.",
    )
    .decades(),
    Metric::new(
        "messages_result",
        "result messages",
        "messages",
        "Results sent back to the requester.",
    )
    .decades(),
    Metric::new(
        "messages_cancel",
        "cancel messages",
        "messages",
        "Cancels of timed-out or losing attempts.",
    )
    .decades(),
    Metric::new(
        "messages_heartbeat",
        "heartbeat messages",
        "messages",
        "Replica load reports to central's scheduler; its liveness messages to the standby.",
    )
    .decades(),
    Metric::new(
        "messages_request",
        "placement request messages",
        "messages",
        "Placement requests to central's scheduler.",
    )
    .decades(),
    Metric::new(
        "messages_reply",
        "placement reply messages",
        "messages",
        "The scheduler's answers to placement requests.",
    )
    .decades(),
    Metric::new(
        "messages_leader",
        "leader messages",
        "messages",
        "A new scheduler announcing itself, or redirecting a request.",
    )
    .decades(),
    Metric::new(
        "messages_announce",
        "announce messages",
        "messages",
        "Auction announcements of a task to candidate replicas.",
    )
    .decades(),
    Metric::new("messages_bid", "bid messages", "messages", "Replicas' bids in auctions.")
        .decades(),
    Metric::new(
        "messages_award",
        "award messages",
        "messages",
        "An auction's hand-off to the winning replica (in place of assign).",
    )
    .decades(),
    Metric::new(
        "messages_gossip",
        "gossip messages",
        "messages",
        "Gossip pushes and pulls of views.",
    )
    .decades(),
    Metric::new(
        "messages_health",
        "health-check messages",
        "messages",
        "Remediators' health checks and the replicas' answers.",
    ),
    Metric::new(
        "placement_wait_mean_ms",
        "mean placement wait",
        "ms",
        "Mean time from a deferred placement's request to its decision (coordination latency).",
    )
    .decades(),
    Metric::new(
        "scheduler_queue_mean_ms",
        "mean scheduler queueing",
        "ms",
        "Mean time a placement request waited in central's scheduler queue before its decision.",
    )
    .decades(),
    Metric::new(
        "decision_staleness_mean_ms",
        "mean decision staleness",
        "ms",
        "Mean age of the information about the chosen replica that each placement decision used (0 when it saw the present).",
    )
    .decades(),
    Metric::new(
        "decision_staleness_p99_ms",
        "p99 decision staleness",
        "ms",
        "99th percentile of the age of the information each placement decision used.",
    )
    .decades(),
    Metric::new(
        "gossip_spread_rounds",
        "gossip spread",
        "rounds",
        "gossip: mean gossip rounds until every agent had heard a sampled replica's new state.",
    ),
    Metric::new(
        "gossip_spread_s",
        "gossip spread time",
        "s",
        "gossip: mean time until every agent had heard a sampled replica's new state.",
    ),
    Metric::new(
        "dup_work_ratio",
        "duplicated work",
        "share of service time",
        "Service-seconds of duplicate executions over all service-seconds executed.",
    )
    .paired(3)
    .charted(),
    Metric::new(
        "dup_executions",
        "duplicate executions",
        "executions",
        "Executions whose result was not the one used, all sources.",
    )
    .decades(),
    Metric::new(
        "dup_timeout_retry",
        "duplicates from retries",
        "executions",
        "Duplicate executions caused by retries after a timeout or a failure.",
    )
    .decades(),
    Metric::new(
        "dup_hedge",
        "duplicates from hedges",
        "executions",
        "Duplicate executions caused by hedging.",
    )
    .decades(),
    Metric::new(
        "dup_reauction",
        "duplicates from re-auctions",
        "executions",
        "Duplicate executions caused by re-auctions (retries of auctioned tasks).",
    )
    .decades(),
    Metric::new(
        "dup_conflicting_claim",
        "duplicates from conflicting claims",
        "executions",
        "Duplicate executions of losing claims (gossip claim mode).",
    )
    .decades(),
    Metric::new(
        "dup_false_suspicion",
        "duplicates from false suspicion",
        "executions",
        "Duplicate executions of work re-placed after a false suspicion (gossip `resend_on_suspicion`).",
    )
    .decades(),
    Metric::new(
        "wasted_work_ratio",
        "wasted work",
        "share of service time",
        "Service-seconds of executions whose result was not used (timed out, cancelled, crashed, a losing copy, failed, or serving a failed job) over all service-seconds executed.",
    ),
    Metric::new(
        "wasted_timeout",
        "wasted work: timed out",
        "share of service time",
        "The part of wasted_work_ratio whose requester had timed out on it.",
    ),
    Metric::new(
        "wasted_cancelled",
        "wasted work: cancelled",
        "share of service time",
        "The part of wasted_work_ratio cancelled while it ran, another copy having won.",
    ),
    Metric::new(
        "wasted_crash",
        "wasted work: lost to crashes",
        "share of service time",
        "The part of wasted_work_ratio lost when its replica crashed, restarted or was removed.",
    ),
    Metric::new(
        "wasted_duplicate",
        "wasted work: losing copies",
        "share of service time",
        "The part of wasted_work_ratio that ran to the end after another copy's result was used.",
    ),
    Metric::new(
        "wasted_failed",
        "wasted work: failures",
        "share of service time",
        "The part of wasted_work_ratio that answered a failure or served a job that ended failed.",
    ),
    Metric::new(
        "attempts_per_job",
        "attempt amplification",
        "attempts per attempt needed",
        "Attempts placed over the attempts a fault-free run would need: a retry storm's signature.",
    ),
    Metric::new(
        "jobs_shed",
        "jobs shed",
        "jobs",
        "Jobs refused at the entry by admission control (counted as failed too).",
    )
    .decades(),
    Metric::new(
        "dropped_expired",
        "expired requests dropped",
        "requests",
        "Requests a replica dropped unstarted: their caller's timeout had passed or would first.",
    )
    .decades(),
    Metric::new(
        "faults_injected",
        "faults injected",
        "faults",
        "Fault instances that started during the run, warm-up included.",
    ),
    Metric::new(
        "faults_untouched",
        "faults that touched nothing",
        "faults",
        "Of those, instances that touched no request and no message.",
    ),
    Metric::new(
        "cascades_contained",
        "faults contained",
        "share",
        "Share of fault instances whose cascade is empty (1 when none was injected).",
    )
    .paired(5)
    .charted(),
    Metric::new(
        "blast_radius_mean",
        "mean blast radius",
        "services",
        "Mean cascade size over fault instances, in services (0 when none was injected).",
    ),
    Metric::new(
        "secondary_impaired_s",
        "secondary impairment",
        "service-seconds",
        "Service-seconds of impairment outside directly faulted services.",
    )
    .decades(),
    Metric::new("approvals", "approvals", "reviews", "Human reviews that approved."),
    Metric::new(
        "rejections",
        "rejections",
        "reviews",
        "Human reviews that rejected (the job failed).",
    ),
    Metric::new(
        "escalations",
        "escalations",
        "steps",
        "Steps taken over by people after failing for good.",
    ),
    Metric::new(
        "human_wait_mean_ms",
        "mean wait for people",
        "ms",
        "Mean time from placing a review or escalation to its successful answer.",
    )
    .decades(),
    Metric::new(
        "replica_seconds",
        "cost in replica-seconds",
        "replica-s",
        "Integral of provisioned replicas over the measured span, all services (a replica counts from the action that adds it, provisioning included, until it is gone).",
    )
    .charted(),
    Metric::new(
        "cost",
        "cost",
        "price units",
        "Replica-hours of each replica group times its price per replica-hour, summed over groups (0 where no price is set).",
    )
    .charted(),
    Metric::new(
        "scale_ups",
        "replicas added",
        "replicas",
        "Replicas control agents added.",
    ),
    Metric::new(
        "scale_downs",
        "replicas removed",
        "replicas",
        "Replicas control agents removed.",
    ),
    Metric::new(
        "restarts",
        "restarts",
        "replicas",
        "Replicas remediators restarted.",
    ),
    Metric::new(
        "ejections",
        "ejections",
        "replicas",
        "Replicas remediators took out of placement.",
    ),
    Metric::new(
        "escalations_by_agents",
        "escalations by agents",
        "escalations",
        "Times remediators asked a person to act (more replicas to act on than their budget).",
    ),
    Metric::new(
        "flaps",
        "flaps",
        "actions",
        "Scaling actions that reverse the same agent's action on the same service within its stabilisation window (two periods where it has none).",
    ),
    Metric::new(
        "agent_conflicts",
        "agent conflicts",
        "actions",
        "Scaling actions that reverse another agent's action on the same service within one period of the later agent.",
    ),
    Metric::new(
        "time_to_recover_s",
        "time to recover",
        "s",
        "Mean over recovered faults of the time from a fault's start until its services met their SLO for `recovery_windows` consecutive windows.",
    )
    .decades(),
    Metric::new(
        "faults_unrecovered",
        "faults never recovered",
        "faults",
        "Faults whose services had not met their SLO again by the end of the run.",
    ),
    Metric::new(
        "regret",
        "adaptive agents' regret",
        "reward",
        "Reward of the best fixed arm in hindsight minus the reward obtained, summed over decisions (adaptive agents; the best arm from counterfactual runs with common random numbers).",
    ),
    Metric::new(
        "events",
        "events processed",
        "events",
        "Events the engine processed, whole run, warm-up included.",
    )
    .decades(),
    Metric::new(
        "fingerprint",
        "event sequence fingerprint",
        "hash",
        "Hash of the processed event sequence, for comparing runs cheaply.",
    )
    .not_summarised(),
];

/// The names of [`METRICS`], in order.
const METRIC_NAMES: [&str; METRICS.len()] = {
    let mut names = [""; METRICS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = METRICS[i].name;
        i += 1;
    }
    names
};

/// The header of `runs.csv`: the key columns, then every column of [`METRICS`].
pub const RUNS_COLUMNS: [&str; KEY_COLUMNS.len() + METRICS.len()] = with_keys(&METRIC_NAMES);

/// The header of `faults.csv`: the key columns, then one fault instance.
pub const FAULTS_COLUMNS: [&str; 13] = with_keys(&[
    "kind",
    "target",
    "start_s",
    "end_s",
    "touched",
    "cascade_size",
    "cascade_services",
    "time_to_recover_s",
]);

/// The header of `services.csv`: the key columns, then one replica group of one service
/// (`default` for a service without groups): its replicas, their use and cost, and the
/// control actions on it.
pub const SERVICES_COLUMNS: [&str; 15] = with_keys(&[
    "service",
    "group",
    "replicas_initial",
    "replicas_final",
    "replica_seconds",
    "cost",
    "scale_ups",
    "scale_downs",
    "restarts",
    "ejections",
]);

/// The header of `classes.csv`: the key columns, then one class's latency.
pub const CLASSES_COLUMNS: [&str; 12] = with_keys(&[
    "class",
    "jobs_completed",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "latency_p999_ms",
]);

/// The header of `timeseries.csv`: the key columns, then one window of one service (or of
/// the whole system).
pub const TIMESERIES_COLUMNS: [&str; 19] = with_keys(&[
    "window_start_s",
    "service",
    "arrivals",
    "completions",
    "failures",
    "queue_length",
    "utilisation",
    "impaired",
    "fault_active",
    "spike_active",
    "slo_missed",
    "jobs_in_system",
    "replicas",
    "wasted_work",
]);

/// The key columns followed by `rest`; `N` must be their total.
const fn with_keys<const N: usize>(rest: &[&'static str]) -> [&'static str; N] {
    assert!(KEY_COLUMNS.len() + rest.len() == N, "N counts the key columns and the rest");
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < KEY_COLUMNS.len() { KEY_COLUMNS[i] } else { rest[i - KEY_COLUMNS.len()] };
        i += 1;
    }
    out
}

/// The metric named `name`, with its position among [`METRICS`].
pub fn metric(name: &str) -> Option<(usize, &'static Metric)> {
    METRICS.iter().enumerate().find(|(_, m)| m.name == name)
}

/// The metrics `summary.csv` gives an interval for, in column order: every metric column of
/// `runs.csv` but the fingerprint.
pub fn summarised() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(|m| m.summarised)
}

/// The names of the summarised metrics, in column order.
pub fn summarised_names() -> Vec<&'static str> {
    summarised().map(|m| m.name).collect()
}

/// The metrics paired against the reference policy, in the order of their `_diff_` columns.
pub fn paired() -> Vec<&'static Metric> {
    let mut paired: Vec<&Metric> = METRICS.iter().filter(|m| m.paired.is_some()).collect();
    paired.sort_by_key(|m| m.paired);
    paired
}

/// The metrics drawn against the first swept key, in column order.
pub fn key_charts() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(|m| m.key_chart)
}

/// The title of an axis: a quantity in words and its unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// What the axis shows, in words.
    pub quantity: String,
    /// Its unit in words; empty when the quantity says it all.
    pub unit: String,
}

impl Axis {
    /// "quantity (unit)", or the quantity alone when there is no unit.
    pub fn title(&self) -> String {
        self.title_noting(None)
    }

    /// The axis with its unit's jobs called after the scenario's one job class: "orders/s"
    /// for "jobs/s" where the class is `order` ([`plural`]).
    pub fn of_class(self, class: &str) -> Axis {
        let unit = self.unit.replace("jobs", &plural(class));
        Axis { unit, ..self }
    }

    /// The title with a note beside the unit: "p99 latency (ms, log scale)".
    pub fn title_noting(&self, note: Option<&str>) -> String {
        let quantity = &self.quantity;
        match (self.unit.as_str(), note) {
            ("", None) => quantity.clone(),
            ("", Some(note)) => format!("{quantity} ({note})"),
            (unit, None) => format!("{quantity} ({unit})"),
            (unit, Some(note)) => format!("{quantity} ({unit}, {note})"),
        }
    }
}

/// The axis title of a swept scenario key (a dotted path, as for `--set`), read as a person
/// would say it: the name of the class, service or policy it belongs to, then the setting in
/// words, with its unit when the setting has one that its values do not carry (durations
/// are written with theirs, as "200ms").
///
/// `classes.order.arrival.rate` is "order arrival rate (jobs/s)", `services.api.replicas`
/// is "api replicas", `services.api.resilience.retries.max` "api max retries".
pub fn swept_key(key: &str) -> Axis {
    let parts: Vec<&str> = key.split('.').collect();
    let mut words: Vec<String> = Vec::new();
    let mut rest = parts.as_slice();
    // A named table (a class, service, workflow, or a policy's parameters) is called by its
    // name, as written (names may hold `_` and `-`).
    if let [section, name, tail @ ..] = rest {
        if matches!(*section, "classes" | "services" | "workflows" | "policy") && !tail.is_empty() {
            words.push((*name).to_owned());
            rest = tail;
        }
    }
    // Tables that only group settings add nothing a reader needs, unless the whole table
    // is what is swept.
    let last = rest.len().saturating_sub(1);
    let rest: Vec<&str> = rest
        .iter()
        .enumerate()
        .filter(|&(i, p)| *p != "resilience" || i == last)
        .map(|(_, p)| *p)
        .collect();
    match rest.as_slice() {
        [.., "retries", "max"] => {
            words.extend(rest[..rest.len() - 2].iter().map(|p| p.replace('_', " ")));
            words.push("max retries".to_owned());
        }
        _ => words.extend(rest.iter().map(|p| p.replace('_', " "))),
    }
    // A class's arrival rate counts the class's own jobs: `classes.order.arrival.rate` is
    // in orders/s.
    let class = match parts.as_slice() {
        ["classes", name, ..] => Some(*name),
        _ => None,
    };
    let unit = match rest.last().copied().unwrap_or_default() {
        "rate" | "burst_rate" => {
            return Axis {
                quantity: words.join(" "),
                unit: format!("{}/s", class.map_or_else(|| "jobs".to_owned(), plural)),
            }
        }
        "clients" => "users",
        "concurrency" => "slots per replica",
        "queue_capacity" => "requests",
        "speed" => "work-seconds per second",
        "max_in_flight" => "jobs",
        "loss" | "probability" | "reject" | "error_rate" => "probability",
        "factor" => "multiplier",
        "budget" => "retries per request",
        "d" | "k" => "replicas",
        "fanout" => "peers",
        "missed" => "heartbeats",
        _ => "",
    };
    Axis { quantity: words.join(" "), unit: unit.to_owned() }
}

/// The plural of a class name as English forms it, for units: `order` -> "orders",
/// `search` -> "searches", `query` -> "queries"; a name with `_` or `-` pluralises its
/// last word, and one that already ends in `s` stays as it is.
pub fn plural(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let consonant_y = lower.ends_with('y')
        && !lower[..lower.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u'])
        && lower.len() > 1;
    if lower.ends_with("ss") || ["sh", "ch", "x", "z"].iter().any(|e| lower.ends_with(e)) {
        format!("{name}es")
    } else if lower.ends_with('s') {
        name.to_owned()
    } else if consonant_y {
        format!("{}ies", &name[..name.len() - 1])
    } else {
        format!("{name}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_says_what_it_is_and_how_an_axis_calls_it() {
        for m in &METRICS {
            assert!(!m.description.trim().is_empty(), "{} has no description", m.name);
            assert!(!m.description.contains('\n'), "{}: one line", m.name);
            assert!(!m.quantity.trim().is_empty(), "{} has no quantity", m.name);
            assert!(!m.axis().title().trim().is_empty(), "{} has no axis title", m.name);
            assert_ne!(m.axis().title(), m.name, "{}: the axis title is in words", m.name);
        }
    }

    #[test]
    fn names_are_unique_and_only_the_fingerprint_is_not_summarised() {
        for (i, c) in RUNS_COLUMNS.iter().enumerate() {
            assert!(!RUNS_COLUMNS[..i].contains(c), "`{c}` is listed twice");
        }
        let unsummarised: Vec<_> = METRICS.iter().filter(|m| !m.summarised).collect();
        assert_eq!(unsummarised.len(), 1);
        assert_eq!(unsummarised[0].name, "fingerprint");
        assert_eq!(RUNS_COLUMNS.last(), Some(&"fingerprint"));
        assert_eq!(summarised().count(), RUNS_COLUMNS.len() - KEY_COLUMNS.len() - 1);
    }

    #[test]
    fn paired_and_charted_metrics_are_summarised_and_pairs_are_ordered() {
        let names: Vec<&str> = paired().iter().map(|m| m.name).collect();
        // The order of summary.csv's paired columns (docs/model.md, "Sweep statistics").
        assert_eq!(
            names,
            [
                "latency_mean_ms",
                "latency_p99_ms",
                "goodput_per_s",
                "dup_work_ratio",
                "messages_per_job",
                "cascades_contained"
            ]
        );
        let places: Vec<u8> = paired().iter().filter_map(|m| m.paired).collect();
        assert_eq!(places, (0..places.len() as u8).collect::<Vec<_>>(), "places 0, 1, ...");
        assert!(paired().iter().all(|m| m.summarised));
        assert!(key_charts().all(|m| m.summarised));
        let charted: Vec<&str> = key_charts().map(|m| m.name).collect();
        assert_eq!(
            charted,
            [
                "failed_ratio",
                "goodput_per_s",
                "latency_p99_ms",
                "messages_per_job",
                "dup_work_ratio",
                "cascades_contained",
                "replica_seconds",
                "cost"
            ]
        );
    }

    #[test]
    fn every_file_starts_with_the_key_columns() {
        for header in [&FAULTS_COLUMNS[..], &CLASSES_COLUMNS, &TIMESERIES_COLUMNS, &RUNS_COLUMNS] {
            assert_eq!(header[..KEY_COLUMNS.len()], KEY_COLUMNS);
        }
        assert_eq!(FAULTS_COLUMNS[5], "kind");
        assert_eq!(TIMESERIES_COLUMNS[16], "jobs_in_system");
    }

    #[test]
    fn axis_titles_put_the_unit_and_a_note_in_brackets() {
        let (i, p99) = metric("latency_p99_ms").unwrap();
        assert_eq!(RUNS_COLUMNS[KEY_COLUMNS.len() + i], "latency_p99_ms");
        assert_eq!(p99.axis().title(), "p99 latency (ms)");
        assert_eq!(p99.axis().title_noting(Some("log scale")), "p99 latency (ms, log scale)");
        let per_job = metric("messages_per_job").unwrap().1.axis();
        assert_eq!(per_job.title(), "messages per job");
        assert_eq!(per_job.title_noting(Some("log scale")), "messages per job (log scale)");
        assert!(metric("latency_p99").is_none());
    }

    #[test]
    fn class_names_pluralise_as_english_does() {
        for (name, plural_form) in [
            ("order", "orders"),
            ("search", "searches"),
            ("query", "queries"),
            ("day", "days"),
            ("box", "boxes"),
            ("address", "addresses"),
            ("news", "news"),
            ("page_view", "page_views"),
            ("Checkout", "Checkouts"),
        ] {
            assert_eq!(plural(name), plural_form);
        }
        let goodput = metric("goodput_per_s").unwrap().1.axis().of_class("order");
        assert_eq!(goodput.title(), "goodput (orders/s)");
        let failed = metric("failed_ratio").unwrap().1.axis().of_class("query");
        assert_eq!(failed.title(), "failed share (share of queries arrived)");
    }

    #[test]
    fn swept_keys_read_as_words() {
        let title = |key: &str| swept_key(key).title();
        assert_eq!(title("classes.order.arrival.rate"), "order arrival rate (orders/s)");
        assert_eq!(
            title("classes.search.arrival.burst_rate"),
            "search arrival burst rate (searches/s)"
        );
        assert_eq!(title("arrival.rate"), "arrival rate (jobs/s)", "the shared arrival: no class");
        assert_eq!(title("services.api.replicas"), "api replicas");
        assert_eq!(
            title("services.orders-db.concurrency"),
            "orders-db concurrency (slots per replica)"
        );
        assert_eq!(title("services.api.resilience.retries.max"), "api max retries");
        assert_eq!(title("services.api.resilience.timeout"), "api timeout");
        assert_eq!(title("services.api.resilience"), "api resilience", "the whole table swept");
        assert_eq!(title("policy.power_of_d.d"), "power_of_d d (replicas)");
        assert_eq!(title("network.loss"), "network loss (probability)");
        assert_eq!(title("admission.max_in_flight"), "admission max in flight (jobs)");
        assert_eq!(title("seed"), "seed");
        // A class called like a section is still a class.
        assert_eq!(title("classes.services.arrival.clients"), "services arrival clients (users)");
    }
}
