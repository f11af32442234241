//! Model fidelity against algebra worked out here: hedging when each execution draws its own
//! time (min-of-copies), the cost of a hedge with and without cancellation, what a decision
//! knew and how old it was, how fast gossip spreads news, and wasted work. Expected values
//! come from the formulas in the comments, never from a run.

use coordsim::metrics::RunSummary;
use coordsim::policy::PolicySpec;
use coordsim::sim;

use crate::support::scenario;

/// Mean execution time (ms) of the hedging checks: every execution of a request draws an
/// exponential time of this mean (constant 10 ms work times an exponential multiplier of
/// mean 1), so a hedge is an independent second copy.
const M: f64 = 10.0;
/// The hedge delay (ms): the 95th percentile of the execution time, -ln(0.05) x M = 29.96
/// ms, rounded to 30 ms, so that a share h = exp(-3) = 4.98% of requests is hedged.
const X: f64 = 30.0;

/// One service with ample slots (no request ever queues), no network delay, and the
/// per-execution variability above; `resilience` is the callers' policy.
fn hedging(resilience: &str, replications: u32) -> Vec<RunSummary> {
    let toml = format!(
        r#"
        duration = 100
        warmup = 1
        [services.api]
        replicas = 4
        concurrency = 64
        service_time = {{ dist = "constant", value = "10ms" }}
        execution_multiplier = {{ dist = "exponential", mean = 1 }}
        resilience = {{ {resilience} }}
        [classes.c]
        service = "api"
        arrival = {{ process = "poisson", rate = 1000 }}
        "#
    );
    let s = scenario(&toml);
    (0..replications).map(|rep| sim::run(&s, PolicySpec::Random, rep)).collect()
}

/// Mean and standard error of `figure` over runs.
fn mean_se(runs: &[RunSummary], figure: impl Fn(&RunSummary) -> f64) -> (f64, f64) {
    let xs: Vec<f64> = runs.iter().map(figure).collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn assert_close(what: &str, (mean, se): (f64, f64), expected: f64, floor: f64) {
    assert!(
        (mean - expected).abs() < 4.0 * se + floor,
        "{what}: {mean:.5} +- {se:.5}, theory {expected:.5}"
    );
}

/// The latency quantile q of a request hedged at X: with T, T' independent exponentials of
/// mean M, the latency is L = min(T, X + T'). For t < X, P(L > t) = exp(-t/M); past X both
/// copies run and, by memorylessness, the first to finish is exponential of mean M/2:
/// P(L > t) = h exp(-2 (t - X) / M) with h = exp(-X/M).
fn hedged_quantile(q: f64) -> f64 {
    let h = (-X / M).exp();
    let tail = 1.0 - q;
    if tail >= h {
        -M * tail.ln()
    } else {
        X + M / 2.0 * (h / tail).ln()
    }
}

#[test]
fn hedging_independent_executions_follows_min_of_copies_algebra() {
    let h = (-X / M).exp();
    let plain = hedging("", 4);
    let hedged = hedging(&format!("hedge = {{ after = \"{X}ms\" }}"), 4);
    // Without hedging: exponential latency, quantile -M ln(1 - q).
    assert_close("plain p99", mean_se(&plain, |s| s.latency_p99_ms), -M * 0.01f64.ln(), 0.1);
    // The share of requests hedged is P(T > X) = h: each adds one attempt.
    assert_close("hedged share", mean_se(&hedged, |s| s.attempts_per_job - 1.0), h, 1e-3);
    // E[L] = integral of P(L > t) = M (1 - h) + h M / 2.
    let mean = M * (1.0 - h) + h * M / 2.0;
    assert_close("hedged mean", mean_se(&hedged, |s| s.latency_mean_ms), mean, 0.02);
    // Quantiles from the survival function, within the histogram's 0.1% and 4 SE.
    assert_close("hedged p99", mean_se(&hedged, |s| s.latency_p99_ms), hedged_quantile(0.99), 0.1);
    assert_close(
        "hedged p99.9",
        mean_se(&hedged, |s| s.latency_p999_ms),
        hedged_quantile(0.999),
        0.3,
    );
    // The classic result: the tail shrinks by a large factor (p99.9 from 69 ms to 50 ms)
    // for 5% more executions.
    let (plain_p999, _) = mean_se(&plain, |s| s.latency_p999_ms);
    assert!(hedged_quantile(0.999) < 0.75 * plain_p999);
}

#[test]
fn a_hedge_costs_a_duplicate_execution_and_almost_nothing_with_cancellation() {
    let h = (-X / M).exp();
    // Per hedged request the original runs X + E and the hedge T', E and T' independent
    // exponentials of mean M. Without cancellation both run to the end: busy time X + 2M;
    // the loser is the later one, of mean (X + 2M) - E[winner], and
    // E[winner] = 1/2 (X + M/2) + 1/2 (M/2) = X/2 + M/2, so E[loser] = X/2 + 3M/2. Over all
    // requests the busy time is M (1 + h) (an unhedged request's time is T given T < X,
    // and (1 - h) E[T | T < X] = M (1 - h) - X h), so the duplicated share of work is
    // h (X/2 + 3M/2) / (M (1 + h)).
    let plain = hedging(&format!("hedge = {{ after = \"{X}ms\" }}"), 4);
    let expected = h * (X / 2.0 + 1.5 * M) / (M * (1.0 + h));
    assert_close(
        "dup_work_ratio without cancel",
        mean_se(&plain, |s| s.dup_work_ratio),
        expected,
        2e-3,
    );
    // With cancellation (and no network delay) the loser stops when the winner ends: the
    // pair is busy X + 2 min(E, T') = X + M on average, so all requests together take
    // M (1 - h) - X h + h (X + M) = M, the same as without hedging. The loser is the hedge
    // (run for min = M/2 on average) when the original wins, the original (X + M/2) when
    // the hedge wins: E[loser] = X/2 + M/2 over total M per request.
    // Nothing fails and nothing times out: the wasted work is exactly the losing copies,
    // run to the end.
    for s in &plain {
        assert_eq!(s.wasted_work_ratio, s.dup_work_ratio);
        assert_eq!(s.wasted_duplicate, s.dup_work_ratio);
    }
    let cancelled = hedging(&format!("hedge = {{ after = \"{X}ms\" }}, cancel = true"), 4);
    // With instant cancels a loser is stopped while it runs (or, rarely, has just ended).
    for s in &cancelled {
        assert!((s.wasted_cancelled + s.wasted_duplicate - s.dup_work_ratio).abs() < 1e-12);
        assert!(s.wasted_cancelled > 0.9 * s.dup_work_ratio);
    }
    let expected = h * (X / 2.0 + M / 2.0) / M;
    assert_close(
        "dup_work_ratio with cancel",
        mean_se(&cancelled, |s| s.dup_work_ratio),
        expected,
        2e-3,
    );
}

/// The retry storm's windows: the wasted share of the service time decided in each window,
/// averaged over `[from, to)` seconds.
fn storm_wasted(sets: &[&str], from: f64, to: f64) -> f64 {
    let overrides: Vec<coordsim::scenario::Override> =
        sets.iter().map(|s| s.parse().unwrap()).collect();
    let path = std::path::Path::new("scenarios/retry-storm.toml");
    let s = coordsim::scenario::load_with(path, &overrides).unwrap();
    let run = sim::run(&s, PolicySpec::Random, 0);
    let values: Vec<f64> = run
        .timeseries
        .windows
        .iter()
        .filter(|w| (from..to).contains(&w.start.as_secs_f64()) && !w.wasted_work.is_nan())
        .map(|w| w.wasted_work)
        .collect();
    assert!(!values.is_empty());
    values.iter().sum::<f64>() / values.len() as f64
}

#[test]
fn a_retry_storm_wastes_nearly_all_the_capacity_and_its_mitigations_nearly_none() {
    // Collapsed (tests/it/faults.rs checks that goodput stays below half long after the
    // trigger), the one replica is busy all the time while each request waits behind more
    // than its 100 ms timeout of queued work: almost every execution serves a request whose
    // caller has given up. The used share of a window is at most its completions x 10 ms
    // over its 4 busy slot-seconds, under 1/8 at half the 240/s goodput, and the goodput
    // long after the trigger is far lower still: the wasted share must be above 0.9.
    let collapsed = storm_wasted(&[], 60.0, 120.0);
    assert!(collapsed > 0.9, "collapsed windows waste {collapsed}");
    // Before the trigger, at 60% load, an attempt times out only if it waits 100 ms, ten
    // mean service times: rare (the M/M/4 waiting-time tail at that depth is below 1e-3).
    let before = storm_wasted(&[], 10.0, 30.0);
    assert!(before < 0.01, "windows before the trigger waste {before}");
    for mitigation in [
        "services.api.resilience.retries.budget=0.1",
        "services.api.resilience.circuit_breaker={}",
        "services.api.drop_expired=true",
    ] {
        let after = storm_wasted(&[mitigation], 60.0, 120.0);
        assert!(after < 0.01, "{mitigation}: windows long after the trigger waste {after}");
    }
}

/// Arrival instants (s) of the staleness checks: none on a report instant.
const TIMES: [f64; 8] = [0.04, 0.13, 0.21, 0.37, 0.42, 0.66, 0.71, 0.98];

/// A scenario whose jobs arrive at `TIMES` (from a trace file written next to it), placed by
/// `central` with heartbeats every 100 ms (`reports` as given), no network delay and no
/// decision time: each decision happens at its job's arrival, in the one scheduler.
fn traced_central(dir: &std::path::Path, reports: &str, replicas: u32, work: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let trace: String = std::iter::once("time".to_owned())
        .chain(TIMES.iter().map(|t| t.to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("arrivals.csv"), trace + "\n").unwrap();
    format!(
        r#"
        duration = 1.5
        warmup = 0
        policies = ["central", "random", "power_of_d"]
        [policy.central]
        heartbeat = "100ms"
        decision_time = 0
        reports = "{reports}"
        [services.api]
        replicas = {replicas}
        service_time = {{ dist = "constant", value = "{work}" }}
        [classes.c]
        service = "api"
        arrival = {{ process = "trace", file = "arrivals.csv" }}
        "#
    )
}

fn load_in(dir: &std::path::Path, toml: &str) -> coordsim::scenario::Scenario {
    let path = dir.join("s.toml");
    std::fs::write(&path, toml).unwrap();
    coordsim::scenario::load(&path).unwrap()
}

#[test]
fn decision_staleness_is_the_age_of_the_report_each_decision_used() {
    let dir = crate::support::Scratch::new("stale");
    let t = 0.1;
    for (reports, last_report) in [
        // All replicas report at every multiple of T.
        ("synchronous", Box::new(move |at: f64| (at / t).floor() * t) as Box<dyn Fn(f64) -> f64>),
        // One replica, staggered: its phase is T (0 + 1) / (1 + 1) = T/2, then every T;
        // before it, the scheduler's knowledge dates from registration at 0.
        (
            "staggered",
            Box::new(
                move |at: f64| {
                    if at < t / 2.0 {
                        0.0
                    } else {
                        ((at - t / 2.0) / t).floor() * t + t / 2.0
                    }
                },
            ),
        ),
    ] {
        let s = load_in(&dir, &traced_central(&dir, reports, 1, "1ms"));
        let ages: Vec<f64> = TIMES.iter().map(|&at| (at - last_report(at)) * 1e3).collect();
        let mean = ages.iter().sum::<f64>() / ages.len() as f64;
        let central = sim::run(&s, s.policies[0], 0);
        assert_eq!(central.jobs_completed, TIMES.len() as u64);
        assert!(
            (central.decision_staleness_mean_ms - mean).abs() < 1e-6,
            "{reports}: {} ms, by hand {mean} ms from {ages:?}",
            central.decision_staleness_mean_ms
        );
        // The 99th percentile of 8 values is the largest (within the histogram's 0.1%).
        let max = ages.iter().copied().fold(0.0, f64::max);
        assert!((central.decision_staleness_p99_ms / max - 1.0).abs() < 1e-3, "{reports}");
        // Baselines see the present (`power_of_d` probes) or use no information.
        for &p in &s.policies[1..] {
            let run = sim::run(&s, p, 0);
            assert_eq!((run.decision_staleness_mean_ms, run.decision_staleness_p99_ms), (0.0, 0.0));
        }
    }
    // By hand for the synchronous case: ages 40, 30, 10, 70, 20, 60, 10, 80 ms.
    let s = load_in(&dir, &traced_central(&dir, "synchronous", 1, "1ms"));
    assert!((sim::run(&s, s.policies[0], 0).decision_staleness_mean_ms - 40.0).abs() < 1e-6);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The load each replica reported at its last report before `at`, counted by hand: one
/// FIFO server per replica, constant `work`, the jobs placed on it so far.
fn reported_load(placed: &[(f64, usize)], replica: usize, report: f64, work: f64) -> u32 {
    let mut finish = 0.0f64;
    let mut outstanding = 0;
    for &(arrived, _) in placed.iter().filter(|&&(_, r)| r == replica) {
        finish = finish.max(arrived) + work;
        if arrived < report && report < finish {
            outstanding += 1;
        }
    }
    outstanding
}

#[test]
fn with_synchronous_reports_central_picks_the_least_loaded_as_of_the_last_report() {
    // Three single-slot replicas, 300 ms jobs: between two reports the scheduler knows the
    // loads of the last report plus its own assignments since, not the jobs that ended.
    let dir = crate::support::Scratch::new("sync");
    let (t, work) = (0.1, 0.3);
    // The estimate this test works out by hand is the reported one (tests/it/estimates.rs
    // checks the aged one).
    let text = traced_central(&dir, "synchronous", 3, "300ms")
        .replace("[policy.central]", "[policy.central]\nestimate = \"reported\"");
    let s = load_in(&dir, &text);
    let (_, log) = sim::run_audited(&s, s.policies[0], 0, usize::MAX);
    let decisions: Vec<_> = log.decisions.iter().filter(|d| d.ticket.is_some()).collect();
    assert_eq!(decisions.len(), TIMES.len());
    let mut placed: Vec<(f64, usize)> = Vec::new();
    for d in decisions {
        let at = d.at.as_secs_f64();
        let report = (at / t).floor() * t;
        // By hand: reported load + own assignments since the report + 1, per slot.
        let estimate = |r: usize| {
            let since = placed.iter().filter(|&&(a, p)| p == r && a > report).count() as u32;
            f64::from(reported_load(&placed, r, report, work) + since + 1)
        };
        for &(r, e) in &d.options {
            assert_eq!(e, estimate(r.index()), "at {at} s, replica {r}: {:?}", d.options);
        }
        let best = (0..3).map(estimate).fold(f64::INFINITY, f64::min);
        let chosen = d.choice.expect("a live replica").index();
        assert_eq!(estimate(chosen), best, "at {at} s: chose {chosen}, options {:?}", d.options);
        placed.push((at, chosen));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Mean gossip spread (rounds) with `agents` agents (one orchestrator, the rest replicas).
fn spread_rounds(agents: u32) -> f64 {
    let toml = format!(
        r#"
        duration = 6
        warmup = 1
        orchestrators = 1
        policies = ["gossip"]
        [services.api]
        replicas = {}
        service_time = {{ dist = "constant", value = "1ms" }}
        [classes.c]
        service = "api"
        arrival = {{ process = "poisson", rate = 5 }}
        "#,
        agents - 1
    );
    let s = scenario(&toml);
    let runs: Vec<f64> =
        (0..3).map(|rep| sim::run(&s, s.policies[0], rep).gossip_spread_rounds).collect();
    assert!(runs.iter().all(|r| r.is_finite()), "{agents} agents: {runs:?}");
    runs.iter().sum::<f64>() / runs.len() as f64
}

#[test]
fn gossip_news_reaches_every_agent_in_rounds_that_grow_like_log_n() {
    // Push-pull gossip with one peer per round: the informed share grows geometrically
    // (about threefold a round early on, push and pull together, then the last ones are
    // caught doubly fast), so everyone knows after about log3 n + O(ln ln n) rounds
    // (Karp et al. 2000). Each fourfold increase of n adds about log3 4 = 1.26 rounds; a
    // linear growth would add four times more at each step.
    let sizes = [8, 32, 128, 512];
    let rounds: Vec<f64> = sizes.iter().map(|&n| spread_rounds(n)).collect();
    let steps: Vec<f64> = rounds.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, step) in steps.iter().enumerate() {
        assert!(
            (0.5..2.5).contains(step),
            "from {} to {} agents: +{step:.2} rounds ({rounds:?})",
            sizes[i],
            sizes[i + 1]
        );
    }
    assert!(steps[2] < 2.0 * steps[0], "increments grow: {steps:?} ({rounds:?})");
    assert!(rounds[3] < 12.0, "{rounds:?}");
}

#[test]
fn gossip_spreads_are_in_the_audit_log() {
    let s = scenario(
        r#"
        duration = 3
        warmup = 0
        policies = ["gossip"]
        [services.api]
        replicas = 6
        service_time = { dist = "constant", value = "1ms" }
        [classes.c]
        service = "api"
        arrival = { process = "poisson", rate = 20 }
        "#,
    );
    let (summary, log) = sim::run_audited(&s, s.policies[0], 0, usize::MAX);
    let spreads: Vec<_> =
        log.decisions.iter().filter(|d| d.reason.contains("has reached all 7 agents")).collect();
    assert!(!spreads.is_empty());
    // Each line says the time; their mean is the run's figure (all after the zero warm-up).
    let seconds: Vec<f64> = spreads
        .iter()
        .map(|d| {
            let after = d.reason.split("agents: ").nth(1).unwrap();
            after.split(" s,").next().unwrap().parse().unwrap()
        })
        .collect();
    let mean = seconds.iter().sum::<f64>() / seconds.len() as f64;
    assert!((mean - summary.gossip_spread_s).abs() < 1e-5, "{mean} vs {}", summary.gossip_spread_s);
}

/// One cell of scenarios/hedging.toml: the callers' `resilience` and where the variability
/// is (`per_execution`: the multiplier is lognormal and the work constant; otherwise the
/// reverse), over 60 s.
fn hedging_cell(resilience: &str, per_execution: bool) -> RunSummary {
    let (multiplier, work) = if per_execution {
        (r#"{dist="lognormal",mean=1,cv=2.0}"#, r#"{dist="constant",value="10ms"}"#)
    } else {
        (r#"{dist="constant",value=1}"#, r#"{dist="lognormal",mean="10ms",cv=2.0}"#)
    };
    let sets = [
        format!("services.api.resilience={resilience}"),
        format!("services.api.execution_multiplier={multiplier}"),
        format!("services.api.service_time={work}"),
        "duration=\"60s\"".to_owned(),
    ];
    let overrides: Vec<coordsim::scenario::Override> =
        sets.iter().map(|s| s.parse().unwrap()).collect();
    let path = std::path::Path::new("scenarios/hedging.toml");
    let s = coordsim::scenario::load_with(path, &overrides).unwrap();
    sim::run(&s, s.policies[0], 0)
}

#[test]
fn the_hedging_scenario_shows_where_a_hedge_pays() {
    let hedge = "{hedge={quantile=0.95}}";
    // Per execution, the hedge draws its own time: the tail falls by far more than noise.
    let (none, hedged) = (hedging_cell("{}", true), hedging_cell(hedge, true));
    assert!(
        hedged.latency_p99_ms < 0.7 * none.latency_p99_ms,
        "{} vs {}",
        hedged.latency_p99_ms,
        none.latency_p99_ms
    );
    // Per request, the copy repeats the same work: the tail stays (within 5%).
    let (none, hedged) = (hedging_cell("{}", false), hedging_cell(hedge, false));
    let change = hedged.latency_p99_ms / none.latency_p99_ms - 1.0;
    assert!(change.abs() < 0.05, "per-request p99 changed by {change}");
    // A hedge at the observed p95 costs about 5% more executions: the share of requests
    // still out at their p95, fewer when the copy is as slow as the original (a hedge of a
    // slow request is slow too, which raises the observed p95).
    let extra = hedged.attempts_per_job - 1.0;
    assert!((0.01..0.07).contains(&extra), "{extra}");
}
