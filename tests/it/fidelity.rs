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
