//! One run of a sweep's plan, wherever it runs (this process's threads, or a caller's
//! worker processes): the cell's scenario under the run's policy (built in, or built by
//! code from outside the crate), observed for the figures only a sweep records (the MSER-5
//! truncation point and the latency percentiles), and turned into its run file. A run
//! never fails the sweep: a panic, a run aborted by outside code or an invalid cell is the
//! run's recorded error.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::cdf::CdfCounts;
use super::plan::{PlanPolicy, RunKey, SweepPlan};
use super::stats;
use super::store::{self, RunFile, LATENCY_PERCENTILES};
use crate::control::Driver;
use crate::engine::SimRng;
use crate::metrics::latency::LatencyHistogram;
use crate::policy::Topology;
use crate::report::RunRecord;
use crate::scenario::Scenario;
use crate::sim::{self, Observer};
use crate::time::{SimDuration, SimTime};

/// Why a run stopped in code from outside the crate (a Python policy that raised): the
/// payload such code unwinds with, whose text becomes the run's error as it is.
#[derive(Debug)]
pub struct RunAborted(pub String);

/// How a policy from outside the crate is built for one run: from the cell's scenario,
/// the world's topology and the policy's own random stream.
pub type OutsideBuild<'b> =
    &'b dyn Fn(&Scenario, &Topology, SimRng) -> Box<dyn crate::policy::Policy>;

/// What decides a run's `external` control agents: made for each run from the cell's
/// scenario and the replication.
pub type OutsideDriver<'b> = &'b dyn for<'s> Fn(&'s Scenario, u32) -> Box<dyn Driver + 's>;

/// Code from outside the crate that a run needs: the policy of a [`PlanPolicy::Outside`]
/// run, and the driver of the scenario's `external` agents (without one they hold).
#[derive(Clone, Copy, Default)]
pub struct Outside<'b> {
    /// Builds the policy of a run of an outside policy.
    pub policy: Option<OutsideBuild<'b>>,
    /// Decides the external agents of every run.
    pub driver: Option<OutsideDriver<'b>>,
}

impl std::fmt::Debug for Outside<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outside")
            .field("policy", &self.policy.is_some())
            .field("driver", &self.driver.is_some())
            .finish()
    }
}

/// Runs one run of the plan; never panics: a panic, a run aborted by outside code
/// ([`RunAborted`]) or an invalid cell becomes the error of the returned record. `outside`
/// builds the policy of a [`PlanPolicy::Outside`] run (such a run without it is an error)
/// and drives external agents.
pub fn run_key(plan: &SweepPlan, key: RunKey, outside: Outside<'_>) -> RunFile {
    let info = &plan.info.cells[key.cell as usize];
    let policy = plan.info.policies[key.policy as usize].clone();
    let start = Instant::now();
    let mut file = RunFile {
        cell: key.cell,
        policy,
        replication: key.replication,
        seed: info.seed,
        runs_row: String::new(),
        faults_rows: String::new(),
        services_rows: String::new(),
        mser5_truncation_s: None,
        latency_percentiles_ms: Vec::new(),
        timeseries_rows: String::new(),
        latency_cdf: None,
        error: None,
        wall_s: 0.0,
        git_commit: super::manifest::git_commit(),
    };
    match &plan.cells[key.cell as usize] {
        Err(message) => file.error = Some(format!("invalid cell: {message}")),
        Ok(scenario) => {
            let chosen = plan.policies[key.policy as usize];
            let result = catch_unwind(AssertUnwindSafe(|| {
                simulate(scenario, key, chosen, &file.policy, outside, &info.label)
            }));
            match result {
                Ok(Some((record, extra))) => {
                    let rows = store::render_rows(&record);
                    file.runs_row = rows.runs;
                    file.faults_rows = rows.faults;
                    file.services_rows = rows.services;
                    let last_cell = key.cell as usize + 1 == plan.cells.len();
                    if key.replication == 0 && last_cell {
                        file.timeseries_rows = store::render_timeseries(&record);
                    }
                    if last_cell {
                        let arrived = record.summary.jobs_arrived;
                        file.latency_cdf = Some(CdfCounts::new(&extra.histogram, arrived));
                    }
                    file.mser5_truncation_s = extra.mser5_truncation_s;
                    file.latency_percentiles_ms = extra.percentiles_ms;
                }
                Ok(None) => {
                    file.error = Some(format!(
                        "policy {} is not built in, and nothing was given to build it",
                        file.policy
                    ));
                }
                Err(panic) => {
                    file.error = Some(match panic.downcast::<RunAborted>() {
                        Ok(aborted) => aborted.0,
                        Err(panic) => {
                            let message = panic
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_owned())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".to_owned());
                            format!("panicked: {message}")
                        }
                    });
                }
            }
        }
    }
    file.wall_s = start.elapsed().as_secs_f64();
    file
}

/// What a sweep records per run beyond `runs.csv`.
struct Extra {
    mser5_truncation_s: Option<f64>,
    percentiles_ms: Vec<Option<f64>>,
    /// The measured jobs' latencies.
    histogram: LatencyHistogram,
}

fn simulate(
    scenario: &Scenario,
    key: RunKey,
    chosen: PlanPolicy,
    name: &str,
    outside: Outside<'_>,
    label: &str,
) -> Option<(RunRecord, Extra)> {
    let mut observer = LatencySeries::new(scenario.warmup);
    let rep = key.replication;
    let mut made = outside.driver.map(|make| make(scenario, rep));
    let driver = made.as_deref_mut().map(|d| d as &mut dyn Driver);
    let summary = match (chosen, driver) {
        (PlanPolicy::BuiltIn(index), None) => {
            sim::run_observed(scenario, scenario.policies[index], rep, &mut observer)
        }
        (PlanPolicy::BuiltIn(index), driver) => {
            let spec = scenario.policies[index];
            let build =
                |topology: &Topology, rng: SimRng| crate::policy::build(spec, topology, rng);
            sim::run_outside_observed(scenario, build, rep, &mut observer, driver)
        }
        (PlanPolicy::Outside, driver) => {
            let policy = outside.policy?;
            let build = |topology: &Topology, rng: SimRng| policy(scenario, topology, rng);
            sim::run_outside_observed(scenario, build, rep, &mut observer, driver)
        }
    };
    let record = RunRecord {
        scenario: scenario.name.clone(),
        cell: label.to_owned(),
        policy: name.to_owned(),
        replication: key.replication,
        seed: scenario.seed,
        summary,
    };
    Some((record, observer.finish()))
}

/// Collects, during a run, the batch means of 5 successive completion latencies (all jobs,
/// warm-up included, in completion order) for MSER-5, and a histogram of the measured jobs'
/// latencies for the percentiles of the CDF.
struct LatencySeries {
    warmup: SimTime,
    batch_sum: f64,
    batch_len: u32,
    batch_means: Vec<f64>,
    batch_ends: Vec<SimTime>,
    histogram: LatencyHistogram,
}

impl LatencySeries {
    fn new(warmup: SimDuration) -> Self {
        LatencySeries {
            warmup: SimTime::ZERO + warmup,
            batch_sum: 0.0,
            batch_len: 0,
            batch_means: Vec::new(),
            batch_ends: Vec::new(),
            histogram: LatencyHistogram::new(),
        }
    }

    fn finish(self) -> Extra {
        let d = stats::mser_batches(&self.batch_means);
        let mser5_truncation_s =
            Some(if d == 0 { 0.0 } else { self.batch_ends[d - 1].as_secs_f64() });
        let percentiles_ms = LATENCY_PERCENTILES
            .iter()
            .map(|&p| {
                (!self.histogram.is_empty())
                    .then(|| self.histogram.value_at_quantile(p / 100.0) as f64 / 1e6)
            })
            .collect();
        Extra { mser5_truncation_s, percentiles_ms, histogram: self.histogram }
    }
}

impl Observer for LatencySeries {
    fn job_completed_latency(&mut self, at: SimTime, latency: SimDuration) {
        let ms = latency.as_secs_f64() * 1e3;
        self.batch_sum += ms;
        self.batch_len += 1;
        if self.batch_len == 5 {
            self.batch_means.push(self.batch_sum / 5.0);
            self.batch_ends.push(at);
            self.batch_sum = 0.0;
            self.batch_len = 0;
        }
        if self.warmup + latency <= at {
            // Saturates rather than fails: a latency beyond the histogram's range is clamped.
            self.histogram.record(latency.as_nanos().max(1));
        }
    }
}
