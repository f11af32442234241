//! `central`'s load estimate between heartbeats: with reports staggered over a long period,
//! the estimate that ages each report by the completions expected since it was sent stops
//! the herding of work onto the replica that reported last, and is as good as reports that
//! arrive all at once; with reports more often than a service time, aging changes nothing;
//! and every estimate in the audit log follows from the reports, their ages, the scheduler's
//! own assignments and the drain rate it names, recomputed here by hand.
//!
//! The same for `gossip`'s entries: aging them helps a lone deciding agent as it helps
//! `central`, changes nothing with reports more often than a service time, and every
//! audited estimate follows from the entry, its age, the rates its replica wrote, the
//! agent's own placements and its share of the arrivals.

use coordsim::ids::AgentId;
use coordsim::policy::{AuditRecord, Endpoint};
use coordsim::sim;

use crate::support::scenario;

/// 100 single-slot replicas of 10 ms exponential work at load 0.9 (9,000 requests/s), no
/// network latency, under `central` with the given heartbeat, reports and estimate; and
/// `random` as the second policy.
fn pool(heartbeat: &str, reports: &str, estimate: &str, duration_s: u32) -> String {
    format!(
        r#"
policies = ["central", "random"]
duration = "{duration_s}s"
warmup = "5s"
seed = 11
orchestrators = 1
[services.server]
replicas = 100
concurrency = 1
service_time = {{ dist = "exponential", mean = "10ms" }}
[classes.request]
service = "server"
arrival = {{ process = "poisson", rate = 9000 }}
[policy.central]
heartbeat = "{heartbeat}"
reports = "{reports}"
estimate = "{estimate}"
"#
    )
}

/// Mean latency in ms over replications 0 and 1 of policy `index`.
fn mean_latency(toml: &str, index: usize) -> f64 {
    let s = scenario(toml);
    (0..2).map(|rep| sim::run(&s, s.policies[index], rep).latency_mean_ms).sum::<f64>() / 2.0
}

#[test]
fn aged_estimates_stop_staggered_reports_from_herding_work() {
    // A period of 20 service times. With synchronous reports every replica's report is as
    // old as every other's, so their overstatement cancels: the reference.
    let synchronous = mean_latency(&pool("200ms", "synchronous", "reported", 30), 0);
    let herded = mean_latency(&pool("200ms", "staggered", "reported", 30), 0);
    let aged = mean_latency(&pool("200ms", "staggered", "aged", 30), 0);
    let random = mean_latency(&pool("200ms", "staggered", "aged", 30), 1);
    // Random placement makes 100 M/M/1 queues at 0.9: 1 / (100 - 90) s = 100 ms.
    assert!((random - 100.0).abs() < 15.0, "random {random:.1} ms");
    // The report-plus-assignments estimate herds (the issue's evidence: worse than random
    // or near it); the aged one does not.
    assert!(herded > 2.0 * synchronous, "herded {herded:.1} vs synchronous {synchronous:.1}");
    assert!(aged <= 1.2 * synchronous, "aged {aged:.1} vs synchronous {synchronous:.1}");
    assert!(aged < 0.5 * random, "aged {aged:.1} vs random {random:.1}");
}

#[test]
fn with_reports_more_often_than_a_service_time_aging_changes_nothing_that_matters() {
    // Reports every 5 ms: a report is at most half a service time old, so little drains.
    let reported = mean_latency(&pool("5ms", "staggered", "reported", 15), 0);
    let aged = mean_latency(&pool("5ms", "staggered", "aged", 15), 0);
    assert!((aged - reported).abs() < 0.05 * reported, "aged {aged:.2} vs reported {reported:.2}");
}

/// The requests left after `elapsed_s` at a replica of `slots` slots holding `level`,
/// finishing `rate` a second while all slots are busy: the queue drains at `rate` until
/// `slots` are left, which then run out at `rate / slots` each (memoryless work).
fn drained_by_hand(level: f64, elapsed_s: f64, slots: f64, rate: f64) -> f64 {
    if rate.is_nan() {
        return level; // no rate learned: nothing drains
    }
    let linear_until = ((level - slots) / rate).max(0.0);
    if elapsed_s <= linear_until {
        level - rate * elapsed_s
    } else {
        level.min(slots) * (-(elapsed_s - linear_until) * rate / slots).exp()
    }
}

fn detail(record: &AuditRecord, option: usize, name: &str) -> f64 {
    record.option_details[option]
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", record.option_details[option]))
        .1
}

#[test]
fn every_audited_estimate_follows_from_the_reports_their_ages_and_the_assignments() {
    for estimate in ["reported", "aged"] {
        let toml = pool("50ms", "staggered", estimate, 3)
            .replace("replicas = 100", "replicas = 4")
            .replace("rate = 9000", "rate = 320")
            .replace("warmup = \"5s\"", "warmup = \"1s\"");
        let s = scenario(&toml);
        let (_, log) = sim::run_audited(&s, s.policies[0], 0, usize::MAX);
        // Per replica: the time of the last assignment, the level it left, and the report
        // it was made against (its send time).
        let mut after_assignment: Vec<Option<(f64, f64, f64)>> = vec![None; 4];
        let mut checked = 0;
        let mut drained_some = false;
        for record in log.decisions.iter().filter(|r| r.agent == Endpoint::PolicyAgent(0)) {
            let now = record.at.as_secs_f64();
            for (i, &(replica, estimate_value)) in record.options.iter().enumerate() {
                let r = replica.0 as usize;
                let reported = detail(record, i, "reported");
                let age_s = detail(record, i, "report_age_ms") / 1e3;
                let assigned = detail(record, i, "assigned_since");
                let expected = detail(record, i, "expected");
                let report_sent = now - age_s;
                let by_hand = if estimate == "reported" {
                    reported + assigned
                } else {
                    let rate = detail(record, i, "drain_per_s");
                    drained_some |= !rate.is_nan() && age_s > 0.0;
                    match after_assignment[r] {
                        // Assigned since this report: from the level the last one left.
                        Some((at, level, sent))
                            if assigned > 0.0 && (sent - report_sent).abs() < 1e-9 =>
                        {
                            drained_by_hand(level, now - at, 1.0, rate)
                        }
                        _ => {
                            assert_eq!(assigned, 0.0, "an assignment this replay missed");
                            drained_by_hand(reported, age_s, 1.0, rate)
                        }
                    }
                };
                assert!(
                    (expected - by_hand).abs() < 1e-9,
                    "{estimate} {replica:?} at {now}: {expected} vs {by_hand}"
                );
                // One slot at speed 1: the estimate is the expected requests with this one.
                assert!((estimate_value - (expected + 1.0)).abs() < 1e-9);
                checked += 1;
            }
            if let Some(choice) = record.choice {
                let i = record.options.iter().position(|&(r, _)| r == choice).unwrap();
                let sent = now - detail(record, i, "report_age_ms") / 1e3;
                after_assignment[choice.0 as usize] =
                    Some((now, detail(record, i, "expected") + 1.0, sent));
            }
        }
        assert!(checked > 1000, "{estimate}: {checked} options checked");
        assert!(
            estimate == "reported" || drained_some,
            "the aged estimate learned a rate and used it"
        );
    }
}

/// `scenarios/pool.toml`'s 16 single-slot replicas of 10 ms exponential work at load 0.9,
/// no network latency, under `gossip` with `orchestrators` deciding agents.
fn gossip_pool(
    period: &str,
    orchestrators: u32,
    d: u32,
    estimate: &str,
    duration_s: u32,
) -> String {
    format!(
        r#"
policies = ["gossip"]
duration = "{duration_s}s"
warmup = "5s"
seed = 11
orchestrators = {orchestrators}
[services.server]
replicas = 16
concurrency = 1
service_time = {{ dist = "exponential", mean = "10ms" }}
[classes.request]
service = "server"
arrival = {{ process = "poisson", rate = 1440 }}
[policy.gossip]
period = "{period}"
d = {d}
estimate = "{estimate}"
"#
    )
}

#[test]
fn aged_gossip_entries_help_a_lone_agent_and_change_nothing_with_fresh_news() {
    // One deciding agent places every request, so an entry read rounds after it was written
    // overstates the load by all the completions since, as central's reports do; comparing
    // all 16 replicas makes it herd onto the entry written last. Aging removes that.
    let reported = mean_latency(&gossip_pool("100ms", 1, 16, "reported", 20), 0);
    let aged = mean_latency(&gossip_pool("100ms", 1, 16, "aged", 20), 0);
    assert!(aged < 0.75 * reported, "aged {aged:.1} vs reported {reported:.1} ms");
    // Fresh power-of-two choices (the supermarket model) give about 26 ms: stale news
    // cannot beat it, random placement (100 ms) it must.
    assert!(aged > 26.0 && aged < 80.0, "aged {aged:.1} ms");
    // Rounds every service time: an entry is a few service times old at most, news
    // spreads in about four rounds, and what aging removes is small.
    let reported = mean_latency(&gossip_pool("10ms", 1, 16, "reported", 10), 0);
    let aged = mean_latency(&gossip_pool("10ms", 1, 16, "aged", 10), 0);
    assert!((aged - reported).abs() < 0.05 * reported, "aged {aged:.2} vs reported {reported:.2}");
}

/// One slot finishing `drain` a second with `inflow` a second arriving (inflow < drain):
/// above one request the queue falls by `drain - inflow` a second; from one or fewer the
/// level relaxes to `inflow / drain` at rate `drain` (the M/M/1 fluid limit).
fn one_slot_by_hand(level: f64, elapsed_s: f64, drain: f64, inflow: f64) -> f64 {
    let settled = inflow / drain;
    let linear_until = ((level - 1.0) / (drain - inflow)).max(0.0);
    if elapsed_s <= linear_until {
        level - (drain - inflow) * elapsed_s
    } else {
        let start = level.min(1.0);
        settled + (start - settled) * (-(elapsed_s - linear_until) * drain).exp()
    }
}

#[test]
fn every_audited_gossip_estimate_follows_from_the_entry_its_age_and_the_rates() {
    let toml = gossip_pool("50ms", 1, 4, "aged", 3)
        .replace("replicas = 16", "replicas = 4")
        .replace("rate = 1440", "rate = 320")
        .replace("warmup = \"5s\"", "warmup = \"1s\"");
    let s = scenario(&toml);
    let (_, log) = sim::run_audited(&s, s.policies[0], 0, usize::MAX);
    // Per replica: the time of the agent's last placement there and the level it left.
    let mut placed: Vec<Option<(f64, f64)>> = vec![None; 4];
    let (mut checked, mut aged, mut adopted, mut raised) = (0, 0, 0, 0);
    let decisions = log.decisions.iter().filter(|r| r.agent == Endpoint::Agent(AgentId(0)));
    for record in decisions.filter(|r| !r.option_details.is_empty()) {
        let now = record.at.as_secs_f64();
        for (i, &(replica, estimate_value)) in record.options.iter().enumerate() {
            let r = replica.0 as usize;
            let get = |name| detail(record, i, name);
            let (level, level_age_s) = (get("level"), get("level_age_ms") / 1e3);
            // The level is the entry as its replica wrote it, or what the agent's last
            // placement there left.
            let from_entry = level == get("reported")
                && (level_age_s - get("report_age_ms") / 1e3).abs() < 1e-12;
            let from_placement = placed[r].is_some_and(|(at, left)| {
                (now - level_age_s - at).abs() < 1e-9 && (level - left).abs() < 1e-9
            });
            assert!(from_entry || from_placement, "{replica:?} at {now}: level {level}");
            adopted += usize::from(from_entry);
            raised += usize::from(from_placement && !from_entry);
            let (drain, inflow, others) =
                (get("drain_per_s"), get("inflow_per_s"), get("others_inflow_per_s"));
            assert!((0.0..=inflow + 1e-9).contains(&others), "others {others} of {inflow}");
            let by_hand = if drain <= 0.0 {
                level // no rate measured yet: the entry does not age
            } else if others < drain {
                aged += 1;
                one_slot_by_hand(level, level_age_s, drain, others)
            } else {
                continue; // an overloaded replica's growth is not worked out here
            };
            let expected = get("expected");
            assert!(
                (expected - by_hand).abs() < 1e-9,
                "{replica:?} at {now}: {expected} vs {by_hand}"
            );
            // One slot at speed 1: the estimate is the expected requests.
            assert!((estimate_value - expected).abs() < 1e-12);
            checked += 1;
        }
        let choice = record.choice.expect("gossip always places");
        let i = record.options.iter().position(|&(r, _)| r == choice).unwrap();
        placed[choice.0 as usize] = Some((now, detail(record, i, "expected") + 1.0));
    }
    assert!(checked > 1000 && aged > 500, "{checked} options checked, {aged} aged");
    assert!(adopted > 100 && raised > 100, "{adopted} levels from entries, {raised} raised");
}
