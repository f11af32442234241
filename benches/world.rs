//! The microservice world end to end: the checkout workflow under every policy (jobs per
//! second; the coordination policies' messages must not make any more than 3x slower per job
//! than `random`), and how the
//! cost of a job grows with its number of steps (chains of 1, 5 and 20 steps), which should
//! be roughly linear.
//!
//! Run: `cargo bench --bench world`. Criterion reports jobs/s (`Throughput::Elements`); the
//! per-step cost is the chain figures divided by their step counts.

use std::hint::black_box;
use std::path::Path;

use coordsim::policy::PolicySpec;
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
