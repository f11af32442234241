//! M/M/c end to end: the simulator against the minimal hand-written M/M/c loop, in one run.
//!
//! The workload is M/M/4 at load 0.9 (lambda 360/s, mean service 10 ms), about 1,000,000
//! customers. `mmc/coordsim` runs `scenarios/mmc.toml` with the duration overridden to
//! 2778 s through [`coordsim::sim::run`] (the scenario is loaded outside the timed part);
//! `mmc/minimal` runs `benches/reference/minimal_mmc.rs`. Before timing, both are run once
//! and their mean latency is checked against the Erlang C value (29.69 ms, within 3%), which
//! proves each is a real M/M/c. After the group this prints the median seconds per
//! 1M-customer run of both, their ratio (target: coordsim within 2x), and jobs/s and events/s,
//! then the median ratio over rounds that run both in turn (steadier on a busy host).
//! It measures only; it asserts nothing about time.

#[path = "reference/minimal_mmc.rs"]
mod minimal_mmc;

use std::path::Path;
use std::time::{Duration, Instant};

use coordsim::policy::PolicySpec;
use coordsim::scenario::{self, Override, Scenario};
use coordsim::sim;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};

/// Customers per timed run.
const CUSTOMERS: u64 = 1_000_000;
/// Simulated span that brings about `CUSTOMERS` arrivals at 360/s.
const DURATION: &str = "duration=\"2778s\"";
/// Criterion samples per benchmark.
const SAMPLES: usize = 10;
/// Seed of the minimal loop (the scenario file carries coordsim's).
const SEED: u64 = 1;
/// Allowed relative distance of a mean latency from Erlang C.
const TOLERANCE: f64 = 0.03;

fn mmc_scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mmc.toml");
    let duration: Override = DURATION.parse().expect("constant override is valid");
    scenario::load_with(&path, &[duration])
        .unwrap_or_else(|err| panic!("cannot load the M/M/c scenario: {err}"))
}

/// Checks a mean latency against Erlang C and prints it.
fn check_latency(name: &str, mean_ms: f64, jobs: u64, events: u64) {
    let expected_ms = minimal_mmc::ERLANG_C_MEAN_S * 1e3;
    println!(
        "mmc/{name}: {jobs} jobs, {events} events, mean latency {mean_ms:.3} ms \
         (Erlang C {expected_ms:.2} ms, {:+.2}%)",
        (mean_ms / expected_ms - 1.0) * 100.0
    );
    assert!(
        (mean_ms / expected_ms - 1.0).abs() <= TOLERANCE,
        "mmc/{name}: mean latency {mean_ms} ms is not within 3% of Erlang C {expected_ms} ms"
    );
}

/// Median of the last `SAMPLES` recorded seconds-per-run: the measurement phase.
fn median_of_samples(recorded: &[f64]) -> Option<f64> {
    let mut last = recorded[recorded.len().saturating_sub(SAMPLES)..].to_vec();
    last.sort_by(f64::total_cmp);
    (!last.is_empty()).then(|| last[last.len() / 2])
}

/// Times `iters` runs of `one_run`, recording seconds per run.
fn timed(iters: u64, recorded: &mut Vec<f64>, mut one_run: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        one_run();
    }
    let elapsed = start.elapsed();
    recorded.push(elapsed.as_secs_f64() / iters as f64);
    elapsed
}

fn mmc(c: &mut Criterion) {
    let scenario = mmc_scenario();
    let first = sim::run(&scenario, PolicySpec::Random, 0);
    check_latency("coordsim", first.latency_mean_ms, first.jobs_arrived, first.events);
    let (mean_s, minimal_events) = minimal_mmc::run(CUSTOMERS, SEED);
    check_latency("minimal", mean_s * 1e3, CUSTOMERS, minimal_events);

    let mut group = c.benchmark_group("mmc");
    group.sample_size(SAMPLES);
    // Flat: every sample runs the same number of whole simulations (each takes ~0.1 s).
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(CUSTOMERS));

    let mut coordsim_s = Vec::new();
    group.bench_function("coordsim", |b| {
        b.iter_custom(|iters| {
            timed(iters, &mut coordsim_s, || {
                let summary = sim::run(&scenario, PolicySpec::Random, 0);
                assert_eq!(summary.fingerprint, first.fingerprint, "runs are deterministic");
            })
        });
    });
    let mut minimal_s = Vec::new();
    group.bench_function("minimal", |b| {
        b.iter_custom(|iters| {
            timed(iters, &mut minimal_s, || {
                let (_, events) = minimal_mmc::run(CUSTOMERS, SEED);
                assert_eq!(events, 2 * CUSTOMERS, "two events per customer");
            })
        });
    });
    group.finish();

    if let (Some(ours), Some(limit)) =
        (median_of_samples(&coordsim_s), median_of_samples(&minimal_s))
    {
        println!("\nM/M/4 at load 0.9, median per run (target: coordsim / minimal <= 2.00)");
        println!(
            "{:>9}  {:>9}  {:>12}  {:>12}  {:>10}",
            "impl", "s/run", "jobs/s", "events/s", "ns/event"
        );
        for (name, secs, jobs, events) in [
            ("coordsim", ours, first.events / 2, first.events),
            ("minimal", limit, CUSTOMERS, minimal_events),
        ] {
            println!(
                "{name:>9}  {secs:>9.4}  {:>12.0}  {:>12.0}  {:>10.1}",
                jobs as f64 / secs,
                events as f64 / secs,
                secs * 1e9 / events as f64,
            );
        }
        println!("ratio of the medians coordsim / minimal: {:.2}", ours / limit);
    }
    paired_ratio(&scenario);
}

/// Rounds of the paired comparison.
const ROUNDS: usize = 11;

/// Runs coordsim and the minimal loop one after the other, `ROUNDS` times, and prints the
/// median over rounds of their time ratio within a round. Criterion times each one's samples
/// in a block, so a drift of the machine's speed between the blocks (common on shared
/// hosts) moves the ratio of the medians; pairing within a round cancels it.
fn paired_ratio(scenario: &Scenario) {
    let mut ratios = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        std::hint::black_box(sim::run(scenario, PolicySpec::Random, 0));
        let ours = start.elapsed().as_secs_f64();
        let start = Instant::now();
        std::hint::black_box(minimal_mmc::run(CUSTOMERS, SEED));
        ratios.push(ours / start.elapsed().as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "paired ratio coordsim / minimal, median of {ROUNDS} rounds: {:.2} (range {:.2}-{:.2}; \
         target <= 2.00)",
        ratios[ROUNDS / 2],
        ratios[0],
        ratios[ROUNDS - 1]
    );
}

criterion_group!(benches, mmc);
criterion_main!(benches);
