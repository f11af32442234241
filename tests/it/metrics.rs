//! Cascades, time series and quantiles (docs/model.md section 8 and invariants 6 and 7), on small
//! scenarios built for them. Expected values come from the definitions, hand reasoning and
//! Little's law, never from an earlier run.

use std::path::Path;

use coordsim::metrics::RunSummary;
use coordsim::policy::PolicySpec;
use coordsim::scenario::{self, Override};
use coordsim::sim::{self, Observer};
use coordsim::time::{SimDuration, SimTime};

use crate::support::{mmc_toml, scenario};

fn run(toml: &str) -> RunSummary {
    sim::run(&scenario(toml), PolicySpec::Random, 0)
}

/// `api` serves web traffic; `isolated` serves its own small class and nobody calls it.
const ISOLATED: &str = r#"
    duration = 20
    warmup = 1
    policies = ["random"]
    [services.api]
    replicas = 2
    concurrency = 4
    service_time = { dist = "exponential", mean = "10ms" }
    [services.isolated]
    replicas = 1
    service_time = { dist = "constant", value = "1ms" }
    [classes.web]
    service = "api"
    arrival = { process = "poisson", rate = 200 }
    [classes.batch]
    service = "isolated"
    arrival = { process = "poisson", rate = 20 }
    [[faults]]
    kind = "crash"
    service = "isolated"
    at = "5s"
    duration = "3s"
"#;

#[test]
fn an_isolated_service_that_crashes_is_contained() {
    let s = run(ISOLATED);
    assert_eq!(s.faults_injected, 1);
    assert!(s.faults[0].touched > 0, "the crash must hit the isolated service's own requests");
    // Nobody depends on `isolated`: its crash cannot impair anyone else.
    assert_eq!(s.faults[0].cascade_size, 0, "{:?}", s.faults[0].cascade_services);
    assert_eq!((s.cascades_contained, s.blast_radius_mean), (1.0, 0.0));
    assert_eq!(s.secondary_impaired_s, 0.0);
    // The fault itself is marked in the time series for its span (5 s to 8 s) only.
    let ts = &s.timeseries;
    let isolated = ts.services.iter().position(|n| n == "isolated").unwrap();
    let n = ts.services.len();
    for k in 5..8 {
        assert!(ts.service_windows[k * n + isolated].fault_active, "window {k}");
        assert!(ts.windows[k].fault_active, "window {k}");
    }
    assert!(!ts.service_windows[4 * n + isolated].fault_active);
    assert!(!ts.service_windows[8 * n + isolated].fault_active, "the grace is not the fault");
}

/// Two services (`inventory`, `pricing`) call a shared database of two replicas, one of which
/// crashes from 10 s to 15 s. `extra` adds resilience to the calls to the database.
fn shared_database(extra: &str) -> String {
    format!(
        r#"
        duration = 25
        warmup = 2
        policies = ["random"]
        [services.inventory]
        replicas = 2
        concurrency = 4
        queue_capacity = 8
        service_time = {{ dist = "constant", value = "2ms" }}
        calls = [{{ services = ["db"] }}]
        [services.pricing]
        replicas = 2
        concurrency = 4
        queue_capacity = 8
        service_time = {{ dist = "constant", value = "2ms" }}
        calls = [{{ services = ["db"] }}]
        [services.db]
        replicas = 2
        concurrency = 8
        service_time = {{ dist = "exponential", mean = "2ms" }}
        {extra}
        [workflows.order]
        steps = [{{ name = "inventory", service = "inventory" }}, {{ name = "pricing", service = "pricing" }}]
        [classes.order]
        workflow = "order"
        deadline = "1s"
        arrival = {{ process = "poisson", rate = 200 }}
        [[faults]]
        kind = "crash"
        service = "db"
        replica = 0
        at = "10s"
        duration = "5s"
        "#
    )
}

#[test]
fn a_shared_database_crash_cascades_to_its_callers_unless_they_time_out_and_eject() {
    // Without timeouts, half of the calls go to the dead replica and never come back: each
    // holds a caller's slot for ever, so within a fraction of a second both callers' slots
    // and queues are full and they refuse everything (well over 5% failures).
    let bare = run(&shared_database(""));
    assert_eq!(bare.faults_injected, 1);
    let cascade = &bare.faults[0].cascade_services;
    eprintln!("without timeouts: cascade {cascade:?}");
    assert!(bare.faults[0].cascade_size >= 2, "cascade {cascade:?}");
    assert!(cascade.contains(&"inventory".to_owned()) && cascade.contains(&"pricing".to_owned()));
    assert_eq!((bare.cascades_contained, bare.blast_radius_mean), (0.0, 2.0));
    // With a 20 ms timeout, retries and outlier ejection the callers route around the dead
    // replica after a timeout or two per agent, and fail almost nothing. (A per-service
    // circuit breaker would be the wrong tool here: it fails fast every call to the
    // database, the healthy replica's included, which impairs the callers by design.)
    let resilient = run(&shared_database(
        r#"resilience = { timeout = "20ms", retries = { max = 3 }, outlier_ejection = { consecutive_failures = 1, eject_for = "30s" } }"#,
    ));
    let cascade = &resilient.faults[0].cascade_services;
    eprintln!("with timeouts, retries and ejection: cascade {cascade:?}");
    assert!(
        resilient.faults[0].cascade_size < bare.faults[0].cascade_size,
        "cascade {cascade:?} is not smaller"
    );
    assert_eq!(resilient.faults[0].cascade_size, 0, "cascade {cascade:?}");
    assert!(resilient.secondary_impaired_s < bare.secondary_impaired_s);
}

#[test]
fn without_faults_every_cascade_figure_is_neutral() {
    let s = scenario::load_with(
        Path::new("scenarios/checkout.toml"),
        &["duration=\"60s\"".parse::<Override>().unwrap()],
    )
    .unwrap();
    let s = sim::run(&s, PolicySpec::Random, 0);
    assert_eq!(s.faults_injected, 0);
    assert_eq!((s.cascades_contained, s.blast_radius_mean), (1.0, 0.0));
    assert!(s.timeseries.windows.iter().all(|w| !w.fault_active));
}

/// Mean jobs in system over the measured windows (the warm-up is a whole number of windows).
fn jobs_in_system(s: &RunSummary, warmup_s: f64) -> f64 {
    let measured: Vec<_> =
        s.timeseries.windows.iter().filter(|w| w.start.as_secs_f64() >= warmup_s).collect();
    let span: f64 = measured.iter().map(|w| (w.end - w.start).as_secs_f64()).sum();
    measured.iter().map(|w| w.jobs_in_system * (w.end - w.start).as_secs_f64()).sum::<f64>() / span
}

/// Little's law on one sample path: the time integral of jobs in system over the measured
/// span equals the sum of the measured jobs' times in system, up to the jobs that straddle
/// the span's edges (tens of jobs of tens of ms over hundreds of seconds: below 1e-3
/// relative). The 1% tolerance is far above that and far below any accounting mistake (a job
/// counted twice or never would be off by a whole job's share).
fn check_little(s: &RunSummary, warmup_s: f64) {
    assert_eq!(s.jobs_failed, 0, "every job completes, so goodput is the arrival rate");
    let l = jobs_in_system(s, warmup_s);
    let lambda_w = s.goodput_per_s * s.latency_mean_ms * 1e-3;
    eprintln!("L = {l:.4}, lambda W = {lambda_w:.4}");
    assert!((l / lambda_w - 1.0).abs() < 0.01, "L = {l}, lambda W = {lambda_w}");
}

#[test]
fn littles_law_holds_on_mmc() {
    // M/M/4 at load 0.9: L = lambda W = 360/s x 29.69 ms = 10.7 jobs in theory.
    let s = scenario::load_with(
        Path::new("scenarios/mmc.toml"),
        &["duration=\"500s\"".parse::<Override>().unwrap()],
    )
    .unwrap();
    let s = sim::run(&s, PolicySpec::Random, 0);
    check_little(&s, 20.0);
    let l = jobs_in_system(&s, 20.0);
    assert!((l / 10.69 - 1.0).abs() < 0.1, "L = {l}, theory 10.69");
}

#[test]
fn littles_law_holds_on_checkout() {
    // Without its payment slowdown, so that no order misses its deadline.
    let no_faults: scenario::Override = "faults=[]".parse().unwrap();
    let sc = scenario::load_with(Path::new("scenarios/checkout.toml"), &[no_faults]).unwrap();
    // Two choices, so that no order misses its deadline even in the traffic spike.
    let s = sim::run(&sc, PolicySpec::PowerOfD { d: 2 }, 0);
    check_little(&s, sc.warmup.as_secs_f64());
}

/// Collects the exact latency of every measured completed job.
#[derive(Default)]
struct Latencies(Vec<u64>);

impl Observer for Latencies {
    fn job_left(
        &mut self,
        _: SimTime,
        _: u64,
        completed: bool,
        latency: SimDuration,
        measured: bool,
    ) {
        if completed && measured {
            self.0.push(latency.as_nanos());
        }
    }
}

#[test]
fn histogram_quantiles_agree_with_exact_quantiles() {
    let sc = scenario(&mmc_toml(2, 0.8, 0.01, 20_000.0, None));
    let mut exact = Latencies::default();
    let s = sim::run_observed(&sc, PolicySpec::Random, 0, &mut exact);
    let mut sample = exact.0;
    sample.sort_unstable();
    assert_eq!(sample.len() as u64, s.jobs_completed);
    let mean_ms = sample.iter().map(|&ns| ns as f64).sum::<f64>() / sample.len() as f64 * 1e-6;
    assert!((s.latency_mean_ms / mean_ms - 1.0).abs() < 1e-9, "the mean is exact");
    for (q, got) in [
        (0.5, s.latency_p50_ms),
        (0.9, s.latency_p90_ms),
        (0.99, s.latency_p99_ms),
        (0.999, s.latency_p999_ms),
    ] {
        // The exact quantile: the smallest sample with at least q of the sample at or below.
        let rank = ((q * sample.len() as f64).ceil() as usize).max(1);
        let exact_ms = sample[rank - 1] as f64 * 1e-6;
        // Three significant digits: within 0.1% relative, plus one bucket (another 0.1%) for
        // the histogram reporting its bucket's upper end.
        assert!(
            (got / exact_ms - 1.0).abs() <= 2e-3,
            "q {q}: histogram {got} ms, exact {exact_ms} ms"
        );
    }
    assert_eq!(s.classes.len(), 1);
    assert_eq!(
        s.classes[0].latency_p99_ms, s.latency_p99_ms,
        "one class: its figures are the run's"
    );
}

#[test]
fn per_class_latency_splits_the_jobs() {
    // Two classes on separate idle services with constant work: latency is the work.
    let s = run(r#"
        duration = 20
        policies = ["random"]
        [services.fast]
        replicas = 1
        concurrency = 100
        service_time = { dist = "constant", value = "2ms" }
        [services.slow]
        replicas = 1
        concurrency = 100
        service_time = { dist = "constant", value = "30ms" }
        [classes.a]
        service = "fast"
        arrival = { process = "poisson", rate = 50 }
        [classes.b]
        service = "slow"
        arrival = { process = "poisson", rate = 10 }
    "#);
    let (a, b) = (&s.classes[0], &s.classes[1]);
    assert_eq!((a.class.as_str(), b.class.as_str()), ("a", "b"));
    assert_eq!(a.jobs_completed + b.jobs_completed, s.jobs_completed);
    assert!((a.latency_mean_ms - 2.0).abs() < 1e-6 && (a.latency_p99_ms / 2.0 - 1.0).abs() < 1e-3);
    assert!(
        (b.latency_mean_ms - 30.0).abs() < 1e-6 && (b.latency_p50_ms / 30.0 - 1.0).abs() < 1e-3
    );
}

#[test]
fn the_trace_is_chrome_trace_json_with_paired_flows_and_bounded() {
    use coordsim::trace::{TraceBounds, TraceObserver};
    let sc = scenario::load_with(
        Path::new("scenarios/checkout.toml"),
        &[
            "duration=\"40s\"".parse::<Override>().unwrap(),
            r#"faults=[{kind="slowdown",service="fraud",replica=0,factor=3,at="30.01s",duration="1s"}]"#
                .parse()
                .unwrap(),
        ],
    )
    .unwrap();
    let mut bounds = TraceBounds::first_measured_jobs(&sc);
    bounds.max_jobs = Some(50);
    let mut observer = TraceObserver::new(&sc, bounds);
    let summary = sim::run_observed(&sc, PolicySpec::Random, 0, &mut observer);
    let plain = sim::run(&sc, PolicySpec::Random, 0);
    assert_eq!(summary.fingerprint, plain.fingerprint, "observing changes nothing");
    let doc: serde_json::Value = serde_json::from_slice(&observer.into_json()).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let mut flows = std::collections::BTreeMap::<u64, (u32, u32)>::new();
    let (mut jobs, mut executions, mut faults) = (0, 0, 0);
    for e in events {
        let ph = e["ph"].as_str().unwrap();
        assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
        if ph != "M" {
            assert!(e["ts"].as_f64().unwrap() >= 0.0, "{e}");
        }
        match ph {
            "X" => {
                assert!(e["dur"].as_f64().unwrap() >= 0.0, "{e}");
                match e["cat"].as_str().unwrap() {
                    "job" => jobs += 1,
                    "execution" => executions += 1,
                    other => panic!("unexpected slice category {other}"),
                }
            }
            "s" => flows.entry(e["id"].as_u64().unwrap()).or_default().0 += 1,
            "f" => {
                assert_eq!(e["bp"], "e");
                flows.entry(e["id"].as_u64().unwrap()).or_default().1 += 1;
            }
            "i" => faults += 1,
            "M" => assert!(e["args"]["name"].is_string() || e["args"]["sort_index"].is_u64()),
            other => panic!("unexpected phase {other}"),
        }
    }
    // 50 jobs of 5 steps and 5 calls each: 500 executions when nothing is retried.
    assert_eq!(jobs, 50);
    assert_eq!(executions, 500);
    assert_eq!(flows.len(), 500, "one arrow per execution");
    assert!(flows.values().all(|&(s, f)| (s, f) == (1, 1)), "every flow starts and ends once");
    assert_eq!(faults, 2, "the slowdown's start and end");
}
