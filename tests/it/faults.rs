//! Faults and the resilience mechanisms that contain them. The retry storm is checked the
//! way docs/model.md and the scenario header explain it: collapse without mitigation (and with
//! backoff alone, since the clients are open loop), recovery with each mitigation.

use std::path::Path;

use coordsim::metrics::RunSummary;
use coordsim::policy::PolicySpec;
use coordsim::scenario::{self, Override};
use coordsim::sim;

use crate::support::{run_checked, scenario};

fn storm(seed: u64, sets: &[&str]) -> RunSummary {
    let mut overrides: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    overrides.push(format!("seed={seed}").parse().unwrap());
    let s = scenario::load_with(Path::new("scenarios/retry-storm.toml"), &overrides).unwrap();
    sim::run(&s, PolicySpec::Random, 0)
}

/// Goodput before the trigger (jobs arriving in [10 s, 30 s)) and long after it ([60, 120)).
fn before_and_after(seed: u64, sets: &[&str]) -> (f64, f64) {
    let mut before_sets = sets.to_vec();
    before_sets.push("duration=\"30s\"");
    let before = storm(seed, &before_sets).goodput_per_s;
    let mut after_sets = sets.to_vec();
    after_sets.push("warmup=\"60s\"");
    let after = storm(seed, &after_sets).goodput_per_s;
    (before, after)
}

#[test]
fn retry_storm_persists_and_each_mitigation_removes_it() {
    for seed in [1, 2, 3] {
        let (before, after) = before_and_after(seed, &[]);
        // About 240/s before; the storm leaves less than half of it long after the trigger.
        assert!((before - 240.0).abs() < 10.0, "seed {seed}: goodput before the trigger {before}");
        assert!(
            after < 0.5 * before,
            "seed {seed}: no collapse ({after} after vs {before} before)"
        );
        // Backoff alone only delays the extra attempts of open-loop clients.
        let (_, backoff) =
            before_and_after(seed, &[r#"services.api.resilience.retries={max=3,base="50ms"}"#]);
        assert!(backoff < 0.5 * before, "seed {seed}: backoff alone recovered ({backoff})");
        for mitigation in [
            "services.api.resilience.retries.budget=0.1",
            "services.api.resilience.circuit_breaker={}",
            "services.api.drop_expired=true",
        ] {
            let (_, recovered) = before_and_after(seed, &[mitigation]);
            assert!(
                recovered > 0.95 * before,
                "seed {seed}: {mitigation} left goodput at {recovered} (before {before})"
            );
        }
    }
}

#[test]
fn the_collapse_begins_when_the_trigger_is_long_enough() {
    // Post-trigger goodput for slowdowns of growing length: short ones are absorbed, long ones
    // tip the system over, and once a length tips it, every longer one does too.
    let lengths = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0];
    let collapsed: Vec<bool> = lengths
        .iter()
        .map(|len| {
            let set = format!("faults=[{{kind=\"slowdown\",service=\"api\",factor=4,at=\"30s\",duration=\"{len}s\"}}]");
            let after = storm(1, &[&set, "warmup=\"60s\""]).goodput_per_s;
            eprintln!("trigger {len:>4} s: goodput after {after:.1}/s");
            after < 120.0
        })
        .collect();
    assert!(!collapsed[0], "a 100 ms slowdown must be absorbed");
    assert!(collapsed[lengths.len() - 1], "a 5 s slowdown must tip the system");
    let first = collapsed.iter().position(|&c| c).unwrap();
    assert!(
        collapsed[first..].iter().all(|&c| c),
        "collapse is not monotonic in the trigger: {collapsed:?}"
    );
}

/// One service at low load, exponential 10 ms work, optionally hedged.
fn hedged(extra: &str) -> RunSummary {
    let toml = format!(
        r#"
        duration = 200
        warmup = 10
        [services.api]
        replicas = 8
        concurrency = 4
        service_time = {{ dist = "exponential", mean = "10ms" }}
        resilience = {{ {extra} }}
        [classes.c]
        service = "api"
        arrival = {{ process = "poisson", rate = 200 }}
        "#
    );
    sim::run(&scenario(&toml), PolicySpec::LeastOutstanding, 0)
}

#[test]
fn hedging_at_p95_duplicates_about_five_percent_and_cancel_saves_work() {
    let plain = hedged("");
    assert_eq!(plain.dup_executions, 0);
    let hedge = hedged("hedge = { quantile = 0.95 }");
    // At this load an attempt's latency is its work, and a hedge re-executes the same work
    // (docs/model.md), so the hedge of a slow request is as slow as the original and both
    // latencies enter the observed sample. If a share h of requests is hedged, the sample
    // holds 2h slow values out of 1 + h, and the hedge delay is its p95 when
    // 2h / (1 + h) = 0.05: h = 0.05 / 1.95 = 2.56% of requests, each with one duplicate
    // execution. The p95 is estimated from 512 latencies: allow 1.8% to 3.4%.
    let share = hedge.dup_hedge as f64 / hedge.jobs_completed as f64;
    assert!((0.018..0.034).contains(&share), "hedged share {share}");
    let cancelled = hedged("hedge = { quantile = 0.95 }, cancel = true");
    assert!(
        cancelled.dup_work_ratio < hedge.dup_work_ratio,
        "{} vs {}",
        cancelled.dup_work_ratio,
        hedge.dup_work_ratio
    );
    assert!(hedge.dup_work_ratio > 0.0);
}

#[test]
fn without_timeouts_hedges_or_retries_nothing_is_duplicated() {
    // Without its slowdown, so that no order misses its deadline and every unit runs.
    let no_faults: scenario::Override = "faults=[]".parse().unwrap();
    let s = scenario::load_with(Path::new("scenarios/checkout.toml"), &[no_faults]).unwrap();
    for &policy in &s.policies {
        let summary = sim::run(&s, policy, 0);
        assert_eq!(summary.dup_executions, 0);
        assert_eq!(summary.dup_work_ratio, 0.0);
        assert!((summary.attempts_per_job - 1.0).abs() < 1e-3, "{}", summary.attempts_per_job);
    }
}

const DEPENDENCY: &str = r#"
    duration = 60
    warmup = 5
    [network]
    latency = { dist = "constant", value = "1ms" }
    [services.api]
    replicas = 2
    concurrency = 8
    service_time = { dist = "constant", value = "2ms" }
    calls = [{ services = ["db"] }]
    [services.db]
    replicas = 2
    concurrency = 8
    service_time = { dist = "exponential", mean = "2ms" }
    resilience = { timeout = "50ms", retries = { max = 2 } }
    [classes.c]
    service = "api"
    deadline = "2s"
    arrival = { process = "poisson", rate = 100 }
    [[faults]]
    kind = "crash"
    service = "db"
    at = 20
    duration = 20
"#;

#[test]
fn a_circuit_breaker_fails_fast_while_a_dependency_is_down() {
    let without = sim::run(&scenario(DEPENDENCY), PolicySpec::Random, 0);
    let with = scenario::from_toml_str(
        DEPENDENCY,
        "d",
        &["services.db.resilience.circuit_breaker={consecutive=5,open_for=\"2s\"}"
            .parse()
            .unwrap()],
    )
    .unwrap();
    let with = sim::run(&with, PolicySpec::Random, 0);
    // Both lose the jobs of the outage (about 20 s x 100/s); the breaker sends far fewer
    // doomed attempts and answers them without waiting for timeouts.
    assert!(
        without.jobs_failed > 1500 && with.jobs_failed > 1500,
        "{} {}",
        without.jobs_failed,
        with.jobs_failed
    );
    assert!(
        with.attempts_per_job < without.attempts_per_job - 0.3,
        "{} vs {}",
        with.attempts_per_job,
        without.attempts_per_job
    );
    assert_eq!(without.faults_injected, 1);
    assert!(without.faults[0].touched > 0);
}

#[test]
fn every_fault_is_recorded_and_one_that_touches_nothing_says_so() {
    let toml = r#"
        duration = 100
        [network]
        groups = { front = ["orchestrators"], back = ["busy"] }
        [services.busy]
        replicas = 3
        service_time = { dist = "exponential", mean = "5ms" }
        [services.idle]
        replicas = 2
        service_time = { dist = "constant", value = "1ms" }
        [classes.c]
        service = "busy"
        arrival = { process = "poisson", rate = 50 }
        [[faults]]
        kind = "crash"
        service = "idle"
        at = 10
        duration = 5
        [[faults]]
        kind = "partition"
        groups = ["front", "back"]
        at = 30
        duration = 2
        [[faults]]
        kind = "slowdown"
        service = "busy"
        factor = 3
        mtbf = 20
        mttr = 2
        [[faults]]
        kind = "message_loss"
        loss = 0.5
        at = 200
        duration = 1
    "#;
    let (s, c) = run_checked(&scenario(toml), PolicySpec::Random, 0);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    // The crash and the partition, plus some random slowdowns of the 3 busy replicas
    // (about 3 x 100 / 22 = 14); the loss at 200 s is after the end and never starts.
    assert_eq!(s.faults_injected as usize, s.faults.len());
    let crash = s.faults.iter().find(|f| f.kind == "crash").unwrap();
    assert_eq!(
        (crash.target.as_str(), crash.start.as_nanos(), crash.end.as_nanos()),
        ("idle", 10_000_000_000, 15_000_000_000)
    );
    assert_eq!(crash.touched, 0, "nobody calls `idle`");
    assert!(s.faults_untouched >= 1);
    let partition = s.faults.iter().find(|f| f.kind == "partition").unwrap();
    assert_eq!(partition.target, "front<->back");
    assert!(
        partition.touched > 50,
        "2 s of 50 jobs/s, each hand-off dropped: {}",
        partition.touched
    );
    let slowdowns: Vec<_> = s.faults.iter().filter(|f| f.kind == "slowdown").collect();
    assert!((5..30).contains(&slowdowns.len()), "{}", slowdowns.len());
    assert!(slowdowns.iter().all(|f| f.target.starts_with("busy[") && f.start < f.end));
    assert!(s.faults.iter().all(|f| f.kind != "message_loss"));
}

#[test]
fn total_message_loss_stops_everything_and_is_counted() {
    let toml = r#"
        duration = 20
        [services.s]
        replicas = 1
        service_time = { dist = "constant", value = "1ms" }
        [classes.c]
        service = "s"
        arrival = { process = "poisson", rate = 100 }
        [[faults]]
        kind = "message_loss"
        loss = 1.0
        at = 5
        duration = 10
    "#;
    let mut checker_total = 0;
    let (s, c) = run_checked(&scenario(toml), PolicySpec::Random, 0);
    for (second, n) in c.completions_by_second.iter().enumerate() {
        if (5..15).contains(&second) {
            checker_total += n;
        }
    }
    assert_eq!(checker_total, 0, "nothing completes while every message is lost");
    assert!(s.faults[0].touched > 900);
    // Jobs that arrived during the loss never complete: no timeout, no retry.
    assert!(s.jobs_in_flight > 900, "{}", s.jobs_in_flight);
}

#[test]
fn nothing_runs_on_a_crashed_replica_and_it_comes_back_empty() {
    let (s, c) = run_checked(&scenario(DEPENDENCY), PolicySpec::RoundRobin, 0);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    // After the crash (20-40 s) the service works again.
    let after: u64 = c.completions_by_second[45..59].iter().sum();
    assert!(after > 14 * 90, "{after}");
    let during: u64 = c.completions_by_second[21..39].iter().sum();
    assert_eq!(during, 0, "every job calls the crashed database");
    assert!(s.faults[0].touched > 0);
}

#[test]
fn people_review_in_working_hours_approve_reject_and_take_over() {
    let toml = r#"
        duration = 400
        [services.check]
        replicas = 2
        concurrency = 4
        service_time = { dist = "constant", value = "10ms" }
        queue_capacity = 0
        [services.pay]
        replicas = 1
        concurrency = 2
        queue_capacity = 0
        service_time = { dist = "constant", value = "100ms" }
        [services.reviewers]
        kind = "human"
        replicas = 6
        concurrency = 1
        service_time = { dist = "constant", value = "2s" }
        working_hours = { start = "50s", end = "100s", period = "100s" }
        [workflows.order]
        steps = [
            { name = "check", service = "check", approval = { service = "reviewers", probability = 0.2, reject = 0.25 } },
            { name = "pay", service = "pay", after = ["check"], escalate = "reviewers" },
        ]
        [classes.c]
        workflow = "order"
        arrival = { process = "poisson", rate = 5 }
    "#;
    let s = sim::run(&scenario(toml), PolicySpec::Random, 0);
    let reviews = s.approvals + s.rejections;
    // 5 jobs/s over 400 s, 20% reviewed: about 400 reviews requested. Six reviewers of 2 s
    // each, working half of each 100 s day, review 1.5/s on average against 1/s requested;
    // the reviews asked for in the last night are still waiting at the end (about 50).
    // A quarter reject.
    assert!((280..=460).contains(&reviews), "{reviews}");
    let rejected = s.rejections as f64 / reviews as f64;
    assert!((0.15..0.35).contains(&rejected), "{rejected}");
    // `pay` has 2 slots of 100 ms and no queue: some payments are refused and escalated.
    assert!(s.escalations > 0);
    // Reviews asked for at night wait for the morning: the mean wait is far above the 2 s
    // of work (half of each 100 s day is night).
    assert!(s.human_wait_mean_ms > 10_000.0, "{}", s.human_wait_mean_ms);
}

#[test]
fn admission_control_sheds_beyond_the_limit() {
    let toml = r#"
        duration = 30
        admission = { max_in_flight = 20 }
        [services.s]
        replicas = 1
        concurrency = 2
        service_time = { dist = "constant", value = "10ms" }
        [classes.c]
        service = "s"
        arrival = { process = "poisson", rate = 400 }
    "#;
    let (s, c) = run_checked(&scenario(toml), PolicySpec::Random, 0);
    // Capacity 200/s against 400/s offered: about half is shed, and the system never
    // holds more than 20 jobs, so latency stays under 20 x 10 ms / 2 slots = 100 ms + 10 ms.
    assert!(s.jobs_shed > 4000, "{}", s.jobs_shed);
    assert!(c.jobs_at_end <= 20);
    assert!(s.latency_p999_ms <= 110.5, "{}", s.latency_p999_ms);
    assert!((s.goodput_per_s - 200.0).abs() < 5.0, "{}", s.goodput_per_s);
}

#[test]
fn no_message_crosses_a_partition_and_only_timeouts_let_callers_recover() {
    // Orchestrators and `api` on one side, `db` on the other; api calls db. During [10, 20)
    // no call reaches db and no answer comes back, including calls already in flight when
    // the partition begins (dropped at delivery), so no job completes in that window.
    let toml = r#"
        duration = 40
        [network]
        latency = { dist = "constant", value = "2ms" }
        groups = { front = ["orchestrators", "api"], back = ["db"] }
        [services.api]
        replicas = 2
        concurrency = 8
        service_time = { dist = "constant", value = "1ms" }
        calls = [{ services = ["db"] }]
        [services.db]
        replicas = 2
        concurrency = 8
        service_time = { dist = "exponential", mean = "1ms" }
        [classes.c]
        service = "api"
        deadline = "1s"
        arrival = { process = "poisson", rate = 200 }
        [[faults]]
        kind = "partition"
        groups = ["front", "back"]
        at = 10
        duration = 10
    "#;
    let completions = |c: &crate::support::Checker, from: usize, to: usize| -> u64 {
        (from..to).map(|s| c.completions_by_second.get(s).copied().unwrap_or(0)).sum()
    };
    // Without a timeout, a call lost in the partition never answers, and its caller holds
    // its slot for ever: once api's 16 slots are stuck, nothing completes again.
    let (s, c) = run_checked(&scenario(toml), PolicySpec::Random, 0);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    assert!(completions(&c, 0, 10) > 9 * 180);
    assert_eq!(completions(&c, 10, 20), 0);
    assert_eq!(completions(&c, 21, 40), 0, "stuck callers cannot recover without timeouts");
    assert!(s.faults[0].touched > 0);
    // With a 50 ms timeout on calls to db, callers give up, free their slots and recover.
    let with = scenario::from_toml_str(
        toml,
        "p",
        &["services.db.resilience.timeout=\"50ms\"".parse().unwrap()],
    )
    .unwrap();
    let (s, c) = run_checked(&with, PolicySpec::Random, 0);
    assert_eq!(completions(&c, 10, 20), 0);
    assert!(completions(&c, 21, 40) > 18 * 180, "{}", completions(&c, 21, 40));
    // About 10 s x 200/s jobs fail during the partition.
    assert!((1800..2200).contains(&s.jobs_failed), "{}", s.jobs_failed);
}

#[test]
fn a_crashed_orchestrator_loses_its_jobs_and_the_jobs_routed_to_it() {
    // Two front ends share the jobs round-robin; orchestrator-1 is down during [10, 20):
    // half of the jobs arriving then are lost at once, and the ones it was coordinating when
    // it crashed (about 200/s x 100 ms of work / 2) are lost too. The other half complete.
    let toml = r#"
        duration = 30
        orchestrators = 2
        [services.s]
        replicas = 4
        concurrency = 8
        service_time = { dist = "constant", value = "100ms" }
        [classes.c]
        service = "s"
        arrival = { process = "deterministic", rate = 200 }
        [[faults]]
        kind = "crash"
        agent = "orchestrator-1"
        at = 10
        duration = 10
    "#;
    let (s, c) = run_checked(&scenario(toml), PolicySpec::RoundRobin, 0);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    // 10 s x 200/s / 2 = 1000 jobs routed to the dead front end, plus its half of the
    // 200/s x 100 ms = 20 jobs in flight at the crash: 1010 (give or take the job on the
    // boundary instant). Touched counts those jobs and the 10 results later sent to it.
    assert!((1009..=1011).contains(&s.jobs_failed), "{}", s.jobs_failed);
    assert_eq!(s.faults[0].target, "orchestrator-1");
    let dropped_results = s.faults[0].touched - s.jobs_failed;
    assert!((9..=11).contains(&dropped_results), "{dropped_results}");
    let during: u64 = c.completions_by_second[11..20].iter().sum();
    assert_eq!(during, 9 * 100, "the live front end keeps completing its half");
    let err = scenario::from_toml_str(
        toml,
        "t",
        &["faults=[{kind=\"crash\",agent=\"orchestrator-2\",at=1,duration=1}]".parse().unwrap()],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown agent `orchestrator-2`; known: `orchestrator-0`, `orchestrator-1`"),
        "{err}"
    );
}

#[test]
fn cancelled_hedge_losers_are_accounted_and_released() {
    // One replica in four is 20x slow; hedging after 15 ms with cancel. Every execution that
    // ran (including the cancelled losers, stopped part-way) must appear as useful or
    // duplicate service time: the accounting may miss only what is still running at the end.
    let toml = r#"
        duration = 60
        [services.api]
        replicas = 4
        concurrency = 4
        service_time = { dist = "exponential", mean = "5ms" }
        resilience = { hedge = { after = "15ms" }, cancel = true }
        [classes.c]
        service = "api"
        arrival = { process = "poisson", rate = 300 }
        [[faults]]
        kind = "slowdown"
        service = "api"
        replica = 2
        factor = 20
        at = 0
        duration = 60
    "#;
    let (s, c) = run_checked(&scenario(toml), PolicySpec::RoundRobin, 0);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    let accounted = s.useful_service_s + s.duplicate_service_s;
    assert!(s.dup_hedge > 1000, "{}", s.dup_hedge);
    assert!(accounted > 0.99 * c.executed_s, "accounted {accounted} of {} executed", c.executed_s);
    // Without cancel, losers run to completion: more duplicate work.
    let uncancelled = scenario::from_toml_str(
        toml,
        "h",
        &["services.api.resilience.cancel=false".parse().unwrap()],
    )
    .unwrap();
    let u = sim::run(&uncancelled, PolicySpec::RoundRobin, 0);
    assert!(u.dup_work_ratio > s.dup_work_ratio, "{} vs {}", u.dup_work_ratio, s.dup_work_ratio);
}

#[test]
fn a_rate_that_ramps_down_to_zero_stops_arrivals_and_the_run_ends() {
    let toml = r#"
        duration = 30
        [services.s]
        replicas = 1
        service_time = { dist = "constant", value = "1ms" }
        [classes.c]
        service = "s"
        arrival = { process = "poisson", rate = 100, ramp = { start = 0, end = 10, to = 0 } }
        [classes.d]
        service = "s"
        arrival = { process = "deterministic", rate = 100, ramp = { start = 0, end = 10, to = 0 } }
    "#;
    // Each class: the rate falls linearly from 100/s to 0 over 10 s: 500 arrivals expected
    // (exactly, up to rounding, for the deterministic one), then none.
    let (s, c) = run_checked(&scenario(toml), PolicySpec::Random, 0);
    let (poisson, deterministic) = (c.arrivals_by_class[0] as f64, c.arrivals_by_class[1] as f64);
    assert!((poisson - 500.0).abs() < 4.0 * 500f64.sqrt(), "{poisson}");
    assert!((deterministic - 500.0).abs() < 15.0, "{deterministic}");
    assert_eq!(s.jobs_arrived, c.jobs_arrived);
}

#[test]
fn peak_ewma_learns_to_avoid_a_slow_replica() {
    // gray-failure.toml: one replica of eight turns 10x slow at 20 s. Placement that does not
    // learn (random) keeps sending it an eighth of the traffic, whose requests miss their
    // deadline; peak_ewma's agents see its latency jump and send it almost nothing.
    let s = scenario::load(Path::new("scenarios/gray-failure.toml")).unwrap();
    let random = sim::run(&s, PolicySpec::Random, 0);
    let peak = sim::run(
        &s,
        coordsim::policy::PolicySpec::PeakEwma {
            decay: coordsim::time::SimDuration::from_secs_f64(10.0),
        },
        0,
    );
    assert!(random.jobs_failed > 10_000, "{}", random.jobs_failed);
    assert!(
        peak.jobs_failed * 100 < random.jobs_failed,
        "{} vs {}",
        peak.jobs_failed,
        random.jobs_failed
    );
}
