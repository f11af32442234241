//! A complete coordination policy written against coordsim's public API, without touching
//! the engine: join-the-idle-queue. The deciding agent looks at the service's replicas (an
//! idealised probe, as `power_of_d` uses), sends the task to one with a free slot (chosen at
//! random among them), and falls back to a uniformly random replica when none is idle.
//!
//! Run it: `cargo run --release --example custom_policy` (compares it with the built-in
//! `random` and `power_of_d` on `scenarios/pool.toml`, 16 servers at load 0.9).

use std::path::Path;

use coordsim::engine::SimRng;
use coordsim::metrics::RunSummary;
use coordsim::policy::{Decision, Policy, PolicySpec, PolicyView, Task, Topology};
use coordsim::scenario::{self, Scenario};
use coordsim::sim;
use rand::Rng;

/// Join-the-idle-queue placement.
#[derive(Debug)]
pub struct JoinIdleQueue {
    rng: SimRng,
}

impl JoinIdleQueue {
    /// The policy for a run; `rng` is the policy's own stream (common random numbers: the
    /// workload does not depend on how many numbers it draws).
    pub fn new(_topology: &Topology, rng: SimRng) -> Self {
        JoinIdleQueue { rng }
    }
}

impl Policy for JoinIdleQueue {
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        // Reservoir-sample one idle replica in a single pass, without allocating.
        let mut chosen = None;
        let mut idle = 0u32;
        for replica in view.candidates(task.service) {
            let load = view.load(replica);
            if load.running < load.slots && view.answers_probes(replica) {
                idle += 1;
                if self.rng.random_range(0..idle) == 0 {
                    chosen = Some(replica);
                }
            }
        }
        let all = view.replicas_of(task.service);
        if all.is_empty() {
            return Decision::Reject; // every replica of the service is gone
        }
        let replica =
            chosen.unwrap_or_else(|| all[self.rng.random_range(0..all.len() as u32) as usize]);
        Decision::Place(replica)
    }

    /// This policy learns nothing from outcomes.
    fn wants_outcomes(&self) -> bool {
        false
    }
}

/// Runs replication `replication` of `scenario` under join-the-idle-queue.
pub fn run_jiq(scenario: &Scenario, replication: u32) -> RunSummary {
    sim::run_with_policy(
        scenario,
        |topology, rng| Box::new(JoinIdleQueue::new(topology, rng)),
        replication,
    )
}

/// The pool scenario shipped with coordsim.
pub fn pool() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pool.toml");
    scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[allow(dead_code)] // Also compiled into the integration tests, which do not call `main`.
fn main() {
    let pool = pool();
    println!("{:<22}{:>10}{:>10}", "policy", "mean ms", "p99 ms");
    let builtin =
        [("random", PolicySpec::Random), ("power_of_d (d = 2)", PolicySpec::PowerOfD { d: 2 })];
    for (name, spec) in builtin {
        let s = sim::run(&pool, spec, 0);
        println!("{name:<22}{:>10.2}{:>10.2}", s.latency_mean_ms, s.latency_p99_ms);
    }
    let s = run_jiq(&pool, 0);
    println!("{:<22}{:>10.2}{:>10.2}", "join_idle_queue", s.latency_mean_ms, s.latency_p99_ms);
}
