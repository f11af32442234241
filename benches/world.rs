//! The microservice world end to end: the checkout workflow under every policy (jobs per
//! second; the coordination policies' messages must not make any more than 3x slower per job
//! than `random`), and how the
//! cost of a job grows with its number of steps (chains of 1, 5 and 20 steps), which should
//! be roughly linear.
//!
//! Run: `cargo bench --bench world`. Criterion reports jobs/s (`Throughput::Elements`); the
//! per-step cost is the chain figures divided by their step counts. After the checkout group,
//! a table gives each policy's median time per run and its ratio to `random`, measured in
//! rounds that run every policy once in turn and paired within a round, so that a drift of
//! the machine's speed during the bench weighs on every policy alike (`cargo bench --bench world -- checkout` runs only
//! that part). It measures only; it asserts nothing about time.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use coordsim::policy::{AuctionParams, PolicySpec};
use coordsim::scenario::{self, Override, Scenario};
use coordsim::sim;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// A workflow of `steps` sequential steps over 4 services, 0.5 ms network latency, Poisson
/// arrivals at 200 jobs/s for 200 s (about 40,000 jobs); every service far from saturation.
fn chain(steps: usize) -> Scenario {
    let step_list: Vec<String> = (0..steps)
        .map(|i| {
            let after = if i == 0 { String::new() } else { format!(", after = [\"s{}\"]", i - 1) };
            format!("{{ name = \"s{i}\", service = \"svc{}\"{after} }}", i % 4)
        })
        .collect();
    let services: String = (0..4)
        .map(|i| {
            format!(
                "[services.svc{i}]\nreplicas = 4\nconcurrency = 8\nservice_time = {{ dist = \"exponential\", mean = \"1ms\" }}\n"
            )
        })
        .collect();
    let text = format!(
        "duration = 200\nwarmup = 10\norchestrators = 4\n[network]\nlatency = {{ dist = \"constant\", value = \"0.5ms\" }}\n{services}\
         [workflows.chain]\nsteps = [{}]\n[classes.job]\nworkflow = \"chain\"\narrival = {{ process = \"poisson\", rate = 200 }}\n",
        step_list.join(", ")
    );
    scenario::from_toml_str(&text, "chain", &[]).expect("the bench scenario is valid")
}

fn bench_checkout(c: &mut Criterion) {
    let set: Override = "duration=\"100s\"".parse().expect("valid override");
    let checkout = scenario::load_with(Path::new("scenarios/checkout.toml"), &[set])
        .expect("checkout.toml loads");
    let jobs = sim::run(&checkout, PolicySpec::Random, 0).jobs_arrived;
    let mut group = c.benchmark_group("checkout");
    group.sample_size(10);
    group.throughput(Throughput::Elements(jobs));
    // Every policy on the same jobs: the coordination messages' cost per job, against random.
    for &policy in &checkout.policies {
        group.bench_function(policy.kind().name(), |b| {
            b.iter(|| black_box(sim::run(&checkout, policy, 0)))
        });
    }
    group.finish();
    ratios_to_random(&checkout, jobs);
}

/// Rounds of the interleaved comparison.
const ROUNDS: usize = 11;

/// CPU time of the calling thread, in seconds (what the run itself used, whatever else the
/// machine did meanwhile).
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write to; the clock id is a constant Linux knows.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Times every policy once per round, in turn, and prints for each its median seconds per
/// run and the median over rounds of its time divided by `random`'s time in the same round
/// (target: at most 3), in wall time and in thread CPU time. Pairing within a round cancels
/// a slow drift of the machine's speed; the CPU-time figure is the steadier one when the
/// host is busy.
fn ratios_to_random(checkout: &Scenario, jobs: u64) {
    // The scenario's policies with their default parameters, and `auction` announcing to
    // every replica (`k = 0`, contract net's broadcast) for comparison.
    let broadcast = PolicySpec::Auction(AuctionParams { k: 0, ..AuctionParams::default() });
    let policies: Vec<PolicySpec> =
        checkout.policies.iter().copied().chain(std::iter::once(broadcast)).collect();
    let name = |p: &PolicySpec| {
        if *p == broadcast {
            "auction k=0".to_string()
        } else {
            p.kind().name().to_string()
        }
    };
    let random =
        policies.iter().position(|p| *p == PolicySpec::Random).expect("checkout lists random");
    // [policy][round] = (wall, cpu)
    let mut times = vec![Vec::with_capacity(ROUNDS); policies.len()];
    for _ in 0..ROUNDS {
        for (i, &policy) in policies.iter().enumerate() {
            let (wall, cpu) = (Instant::now(), thread_cpu_seconds());
            black_box(sim::run(checkout, policy, 0));
            times[i].push((wall.elapsed().as_secs_f64(), thread_cpu_seconds() - cpu));
        }
    }
    println!(
        "\ncheckout, {jobs} jobs per run, {ROUNDS} interleaved rounds: medians \
         (target: <= 3x random)"
    );
    println!(
        "{:>18}  {:>8}  {:>8}  {:>8}  {:>11}  {:>10}",
        "policy", "wall s", "cpu s", "us/job", "wall ratio", "cpu ratio"
    );
    for (i, policy) in policies.iter().enumerate() {
        let paired = |pick: fn(&(f64, f64)) -> f64| {
            median(times[i].iter().zip(&times[random]).map(|(t, r)| pick(t) / pick(r)).collect())
        };
        let wall = median(times[i].iter().map(|t| t.0).collect());
        let cpu = median(times[i].iter().map(|t| t.1).collect());
        println!(
            "{:>18}  {wall:>8.4}  {cpu:>8.4}  {:>8.2}  {:>11.2}  {:>10.2}",
            name(policy),
            cpu * 1e6 / jobs as f64,
            paired(|t| t.0),
            paired(|t| t.1),
        );
    }
}

fn bench_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain");
    group.sample_size(10);
    for steps in [1usize, 5, 20] {
        let s = chain(steps);
        let jobs = sim::run(&s, PolicySpec::Random, 0).jobs_arrived;
        group.throughput(Throughput::Elements(jobs));
        group.bench_with_input(BenchmarkId::from_parameter(steps), &s, |b, s| {
            b.iter(|| black_box(sim::run(s, PolicySpec::Random, 0)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_checkout, bench_chain);
criterion_main!(benches);
