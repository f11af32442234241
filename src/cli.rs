//! The `coordsim` command line: arguments -> validated scenario -> runs -> table and files.
//!
//! This is the only module that knows about the process: arguments, the terminal, exit codes
//! and where results go. Every subcommand reads as load -> validate -> run -> report. Bad
//! input is rejected before any result file is created.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rayon::prelude::*;

mod parse;

pub use self::parse::Checks;
use self::parse::{
    at_least_one, at_least_one_u32, at_least_one_u64, parse_override, parse_precision, parse_span,
    resolve_shard,
};
use crate::chart;
use crate::policy::PolicyKind;
use crate::report::{self, RunRecord};
use crate::scenario::{self, Override, Scenario, ScenarioError};
use crate::sim;
use crate::sweep::{self, SweepOptions};
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceBounds, TraceObserver};

/// Exit code for bad input: a scenario that does not load or validate, a bad flag.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for a failure while running or writing results.
pub const EXIT_FAILURE: u8 = 1;

/// Deterministic discrete-event simulator for comparing how autonomous agents coordinate
/// work across microservices.
#[derive(Debug, Parser)]
#[command(name = "coordsim", version, about, max_term_width = 100)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario once per policy (and replication); print a table, write DIR/runs.csv,
    /// faults.csv, classes.csv and timeseries.csv.
    Run(RunArgs),
    /// Check scenario files without running them: errors, warnings (what a scenario
    /// declares but cannot exercise) and the estimated memory and events of a run.
    Validate {
        /// Scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Override a key before validation, as for `run` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
        overrides: Vec<Override>,
        /// Check and estimate under these policies (repeatable; default: the scenario's).
        #[arg(long = "policy", value_name = "NAME")]
        policies: Vec<String>,
        /// Limits and strictness.
        #[command(flatten)]
        checks: Checks,
    },
    /// List the policies with a description and their parameters.
    Policies,
    /// Print the JSON Schema of scenario files (the `[sweep]` section included), for
    /// editors: docs/scenario.schema.json is the committed copy.
    Schema,
    /// Run the `[sweep]` grid of a scenario: every cell x policy x replication, in parallel;
    /// write DIR/runs.csv, summary.csv, charts/ and more.
    Sweep(SweepArgs),
    /// Combine the directories of sharded sweeps into the output of one unsharded sweep.
    Merge {
        /// Shard result directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Merge even if runs of the plan are missing (the manifest then says so, and
        /// summary.csv's `n` says how many runs each row has).
        #[arg(long)]
        partial: bool,
    },
    /// Draw the charts of a sweep directory again (DIR/charts/*.png and *.svg).
    Plot {
        /// A sweep's result directory.
        dir: PathBuf,
    },
}

/// Arguments of `coordsim sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (TOML) with a `[sweep]` section.
    pub scenario: PathBuf,
    /// Override a key of the scenario before the grid is applied, e.g.
    /// services.api.replicas=8 (repeatable); the grid's keys then vary the overridden scenario.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<Override>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub jobs: Option<usize>,
    /// Output directory [default: results/<scenario file stem>-sweep].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Keep the runs already in DIR and run only the missing ones.
    #[arg(long)]
    pub resume: bool,
    /// Run only slice K of N (1-based), or `auto`: from SLURM_ARRAY_TASK_ID and
    /// SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX (0-based) with --shard-count or
    /// COORDSIM_SHARD_COUNT.
    #[arg(long, value_name = "K/N|auto")]
    pub shard: Option<String>,
    /// Number of shards for `--shard auto` under a Kubernetes Indexed Job.
    #[arg(long, value_name = "N", value_parser = at_least_one_u32)]
    pub shard_count: Option<u32>,
    /// Add replications to each cell until the 95% interval of METRIC is within REL of its
    /// mean, e.g. latency_p99_ms=0.05 (repeatable; replaces the file's sweep.precision).
    #[arg(long = "precision", value_name = "METRIC=REL", value_parser = parse_precision)]
    pub precision: Vec<(String, f64)>,
    /// Limits and strictness.
    #[command(flatten)]
    pub checks: Checks,
}

/// Arguments of `coordsim run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Policy to run (repeatable; default: the scenario's `policies`).
    #[arg(long = "policy", value_name = "NAME")]
    pub policies: Vec<String>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications per policy (default: the scenario's `replications`).
    #[arg(long, value_parser = at_least_one_u32)]
    pub replications: Option<u32>,
    /// Override a key of the scenario before validation, e.g. services.api.replicas=8
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<Override>,
    /// Output directory [default: results/<scenario file stem>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub jobs: Option<usize>,
    /// Also write DIR/audit.jsonl: every decision of replication 0 of each policy, with the
    /// options seen, their estimates, the choice and the reason.
    #[arg(long)]
    pub audit: bool,
    /// Most decisions audited per policy.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = at_least_one)]
    pub audit_limit: usize,
    /// Also write DIR/trace.json (Chrome trace format; open it in ui.perfetto.dev): replication
    /// 0 of the first policy, re-run observed. Without --trace-window or --trace-jobs it
    /// follows the first 200 jobs that arrive after the warm-up.
    #[arg(long)]
    pub trace: bool,
    /// Trace only jobs arriving in this span of simulated seconds, e.g. 60..62 (implies
    /// --trace).
    #[arg(long, value_name = "START..END", value_parser = parse_span)]
    pub trace_window: Option<(f64, f64)>,
    /// Trace at most this many jobs (implies --trace).
    #[arg(long, value_name = "N", value_parser = at_least_one_u64)]
    pub trace_jobs: Option<u64>,
    /// Limits and strictness.
    #[command(flatten)]
    pub checks: Checks,
}

/// Runs a parsed command line.
///
/// # Errors
/// Bad input (a scenario that does not load, an unknown policy) or a failure to write
/// results, with the chain of causes; [`exit_code`] maps it to the process exit code.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Run(run_args) => run_scenario(&run_args),
        Command::Validate { files, overrides, policies, checks } => {
            validate(&files, &with_policies(overrides, &policies), &checks)
        }
        Command::Policies => {
            print!("{}", policies_text());
            Ok(())
        }
        Command::Schema => {
            print!("{}", crate::scenario::scenario_schema());
            Ok(())
        }
        Command::Sweep(sweep_args) => run_sweep(&sweep_args),
        Command::Merge { dirs, out, partial } => merge(&dirs, &out, partial),
        Command::Plot { dir } => plot(&dir),
    }
}

fn run_sweep(args: &SweepArgs) -> Result<()> {
    warn_many_jobs(args.jobs);
    let shard =
        resolve_shard(args.shard.as_deref(), args.shard_count, |name| std::env::var(name).ok())
            .map_err(BadInput)?;
    let file = scenario::load_sweep_with(&args.scenario, &args.overrides)?;
    // A grid key valid in no cell is refused before anything runs or is written.
    file.check_grid()?;
    let out = args.out.clone().unwrap_or_else(|| {
        let mut dir = default_out_dir(&args.scenario).into_os_string();
        dir.push("-sweep");
        dir.into()
    });
    let options = SweepOptions {
        out: out.clone(),
        jobs: args.jobs,
        resume: args.resume,
        shard,
        precision: args.precision.clone(),
        command_line: std::env::args().collect(),
        quiet: false,
        limits: args.checks.limits()?,
        strict: args.checks.strict,
        watch: None,
        policies: None,
        runner: None,
    };
    let outcome = sweep::run(&file, &options)?;
    eprintln!(
        "sweep: {} runs ({} run now, {} found) in {:.1} s, {:.1} runs/s",
        outcome.total,
        outcome.executed,
        outcome.total - outcome.executed,
        outcome.elapsed_s,
        outcome.executed as f64 / outcome.elapsed_s.max(1e-9)
    );
    match &outcome.assembled {
        Some(assembled) => finish_results(&out, assembled)?,
        None => eprintln!(
            "wrote this shard's runs to {}; combine the shards with `coordsim merge`",
            out.join("runs").display()
        ),
    }
    fail_if_runs_failed(outcome.failed, outcome.total, &out)
}

/// The table on stdout, warnings, charts: what every complete sweep and merge ends with.
fn finish_results(out: &Path, assembled: &sweep::store::Assembled) -> Result<()> {
    print!("{}", sweep::summary_table(&assembled.summary));
    std::io::Write::flush(&mut std::io::stdout()).context("writing the table")?;
    for (cell, policy, median) in assembled.warmup_warnings.iter().take(5) {
        eprintln!(
            "warning: {cell} {policy}: median MSER-5 truncation point {median:.3} s is past the configured warm-up; consider a longer `warmup`"
        );
    }
    if assembled.warmup_warnings.len() > 5 {
        eprintln!(
            "warning: {} more (cell, policy) pairs with a warm-up shorter than MSER-5 suggests (see summary.csv, warmup_warning)",
            assembled.warmup_warnings.len() - 5
        );
    }
    let charts = chart::plot_dir(out).context("drawing the charts")?;
    eprintln!(
        "wrote {}/{{runs,faults,services,runs_extra,errors,summary,timing,timeseries,latency_cdf}}.csv, manifest.json and {} charts",
        out.display(),
        charts.len()
    );
    Ok(())
}

fn fail_if_runs_failed(failed: usize, total: usize, out: &Path) -> Result<()> {
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {total} runs failed; their errors are in {}",
            out.join("errors.csv").display()
        );
    }
    Ok(())
}

fn merge(dirs: &[PathBuf], out: &Path, partial: bool) -> Result<()> {
    let (assembled, missing) = sweep::merge(dirs, out, std::env::args().collect(), partial)
        .map_err(|e| match e {
            sweep::SweepError::Incomplete(message) => BadInput(message).into(),
            other => anyhow::Error::from(other),
        })?;
    finish_results(out, &assembled)?;
    if missing > 0 {
        eprintln!(
            "warning: a partial merge: {missing} runs of the plan are in none of the directories (manifest.json says so; summary.csv's n counts each row's runs)"
        );
    }
    let total = String::from_utf8_lossy(&assembled.timing).lines().count().saturating_sub(1);
    fail_if_runs_failed(assembled.failed, total, out)
}

fn plot(dir: &Path) -> Result<()> {
    let charts = chart::plot_dir(dir)?;
    for c in &charts {
        eprintln!("wrote {}", c.display());
    }
    Ok(())
}

/// The process exit code for an error returned by [`run`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|cause| cause.is::<ScenarioError>() || cause.is::<BadInput>()) {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

/// Bad input that is not about a scenario file's contents.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadInput(pub(crate) String);

/// Warns when `--jobs` asks for many more threads than the machine has cores (each starts;
/// beyond the cores they only share them).
fn warn_many_jobs(jobs: Option<usize>) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if let Some(j) = jobs.filter(|&j| j > 4 * cores) {
        eprintln!(
            "warning: --jobs {j} is more than 4 threads per core ({cores} cores): runs share the cores, so more threads only cost memory; at most one thread per run is started"
        );
    }
}

fn run_scenario(args: &RunArgs) -> Result<()> {
    warn_many_jobs(args.jobs);
    let scenario = load_for_run(args)?;
    let runs = scenario.policies.len() * scenario.replications as usize;
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    scenario.check_limits(&args.scenario, &args.checks.limits()?, threads.min(runs))?;
    if args.checks.strict {
        scenario.strict(&args.scenario)?;
    }
    for w in scenario.warnings() {
        eprintln!("warning: {}: {w}", args.scenario.display());
    }
    let out_dir = args.out.clone().unwrap_or_else(|| default_out_dir(&args.scenario));
    // Before the runs, which may take hours: the results must have somewhere to go.
    report::check_writable(&out_dir)?;
    let records = run_all(&scenario, args.jobs)?;
    print!("{}", report::runs_table(&records));
    // The table goes to stdout, progress notes to stderr: flush so they never interleave.
    std::io::Write::flush(&mut std::io::stdout()).context("writing the table")?;
    warn_untouched_faults(&records);
    let runs = out_dir.join("runs.csv");
    let faults = out_dir.join("faults.csv");
    let classes = out_dir.join("classes.csv");
    let services = out_dir.join("services.csv");
    let timeseries = out_dir.join("timeseries.csv");
    report::write_all_atomic(&[
        (&runs, &report::runs_csv(&records)),
        (&faults, &report::faults_csv(&records)),
        (&classes, &report::classes_csv(&records)),
        (&services, &report::services_csv(&records)),
        (&timeseries, &report::timeseries_csv(&records)),
    ])?;
    eprintln!(
        "wrote {}, {}, {}, {} and {}",
        runs.display(),
        faults.display(),
        classes.display(),
        services.display(),
        timeseries.display()
    );
    if args.trace || args.trace_window.is_some() || args.trace_jobs.is_some() {
        let trace = out_dir.join("trace.json");
        report::write_atomic(&trace, &trace_json(&scenario, args))?;
        eprintln!("wrote {} (open it in https://ui.perfetto.dev)", trace.display());
    }
    if args.audit {
        let audits: Vec<_> = scenario
            .policies
            .par_iter()
            .map(|&policy| {
                let log = sim::run_audited(&scenario, policy, 0, args.audit_limit).1;
                report::AuditedRun::built_in(policy.kind(), log)
            })
            .collect();
        let path = out_dir.join("audit.jsonl");
        report::write_atomic(&path, &report::audit_jsonl(&scenario, &audits))?;
        let decisions: usize = audits.iter().map(|a| a.log.decisions.len()).sum();
        let actions: usize = audits.iter().map(|a| a.log.actions.len()).sum();
        if actions == 0 {
            eprintln!("wrote {} ({decisions} decisions)", path.display());
        } else {
            eprintln!(
                "wrote {} ({decisions} decisions, {actions} control actions)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Re-runs replication 0 of the first policy with the trace observer (the run is the same
/// run: observation changes nothing) and renders the trace.
fn trace_json(scenario: &Scenario, args: &RunArgs) -> Vec<u8> {
    let mut bounds = TraceBounds::first_measured_jobs(scenario);
    if let Some((start, end)) = args.trace_window {
        bounds.from = SimTime::ZERO + SimDuration::from_secs_f64(start);
        bounds.until = Some(SimTime::ZERO + SimDuration::from_secs_f64(end));
        bounds.max_jobs = None;
    }
    if let Some(n) = args.trace_jobs {
        bounds.max_jobs = Some(n);
    }
    let mut observer = TraceObserver::new(scenario, bounds);
    sim::observe(scenario, scenario.policies[0], 0, &mut observer);
    observer.into_json()
}

/// A fault that touched no request and no message tested nothing: say so, once per fault
/// and policy, so a scenario can never silently test nothing.
fn warn_untouched_faults(records: &[RunRecord]) {
    for r in records.iter().filter(|r| r.replication == 0) {
        for f in r.summary.faults.iter().filter(|f| f.touched == 0) {
            // A policy that probes replicas before placing sees a crashed one and avoids it:
            // then the policy, not the scenario, is why the fault touched nothing.
            let why = if f.kind == "crash" && r.policy == "power_of_d" {
                ": power_of_d's probes see a crashed replica and avoid it, so this may be the policy's knowledge rather than a mistake in the scenario"
            } else {
                ""
            };
            eprintln!(
                "warning: {} fault on {} at [{:.3} s, {:.3} s) touched no request or message under {} (replication 0){why}",
                f.kind,
                f.target,
                f.start.as_secs_f64(),
                f.end.as_secs_f64(),
                r.policy
            );
        }
    }
}

/// Loads the scenario with `--set`, `--policy`, `--seed` and `--replications` applied.
fn load_for_run(args: &RunArgs) -> Result<Scenario> {
    let mut overrides = with_policies(args.overrides.clone(), &args.policies);
    if let Some(replications) = args.replications {
        overrides
            .push(Override::new("replications", toml::Value::Integer(i64::from(replications))));
    }
    let mut scenario = scenario::load_with(&args.scenario, &overrides)?;
    if let Some(seed) = args.seed {
        // Any u64 is a valid seed, including those TOML integers cannot hold.
        scenario.seed = seed;
    }
    Ok(scenario)
}

fn default_out_dir(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned());
    Path::new("results").join(stem)
}

/// Runs every (policy, replication) of the scenario, in parallel, returning records in plan
/// order (policies as listed, then replications) whatever the thread count.
///
/// # Errors
/// If the thread pool cannot be built.
pub fn run_all(scenario: &Scenario, jobs: Option<usize>) -> Result<Vec<RunRecord>> {
    run_all_counted(scenario, jobs, &AtomicUsize::new(0))
}

/// [`run_all`], counting finished runs in `done` (for a caller's progress). At most one
/// thread per run is started, whatever `jobs` asks.
///
/// # Errors
/// If the thread pool cannot be built.
pub fn run_all_counted(
    scenario: &Scenario,
    jobs: Option<usize>,
    done: &AtomicUsize,
) -> Result<Vec<RunRecord>> {
    let plan: Vec<_> = scenario
        .policies
        .iter()
        .flat_map(|&policy| (0..scenario.replications).map(move |rep| (policy, rep)))
        .collect();
    // A run that fails (a panic: an allocation refused past a raised memory limit, a bug)
    // becomes an error naming it; nothing is written.
    let run = |&(policy, replication): &(crate::policy::PolicySpec, u32)| {
        let summary = std::panic::catch_unwind(|| sim::run(scenario, policy, replication))
            .map_err(|payload| {
                let why = payload
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| payload.downcast_ref::<&str>().copied())
                    .unwrap_or("a panic");
                anyhow::anyhow!(
                    "the run of {} replication {replication} failed: {why}",
                    policy.kind()
                )
            })?;
        done.fetch_add(1, Ordering::Relaxed);
        Ok(RunRecord {
            scenario: scenario.name.clone(),
            cell: String::new(),
            policy: policy.kind().name().to_owned(),
            replication,
            seed: scenario.seed,
            summary,
        })
    };
    if jobs == Some(1) || plan.len() == 1 {
        // One thread or one run: on this thread, with no pool to start.
        return plan.iter().map(run).collect();
    }
    // No more threads than runs: a thread without a run would only cost its start.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.map_or(0, |j| j.min(plan.len())))
        .build()
        .context("starting worker threads")?;
    // `par_iter().map().collect()` on a Vec is indexed: results keep plan order.
    pool.install(|| plan.par_iter().map(run).collect())
}

/// `--set` overrides with `--policy` names added as an override of `policies`.
fn with_policies(mut overrides: Vec<Override>, policies: &[String]) -> Vec<Override> {
    if !policies.is_empty() {
        let names = policies.iter().map(|p| toml::Value::String(p.clone())).collect();
        overrides.push(Override::new("policies", toml::Value::Array(names)));
    }
    overrides
}

fn validate(files: &[PathBuf], overrides: &[Override], checks: &Checks) -> Result<()> {
    let limits = checks.limits()?;
    let mut failures = 0;
    for file in files {
        let checked = scenario::load_with(file, overrides).and_then(|s| {
            if has_sweep(file) {
                scenario::load_sweep_with(file, overrides)?.check_grid()?;
            }
            s.check_limits(file, &limits, 1)?;
            if checks.strict {
                s.strict(file)?;
            }
            Ok(s)
        });
        match checked {
            Ok(s) => {
                let policies: Vec<_> = s.policies.iter().map(|p| p.kind().name()).collect();
                let estimate = s.largest_estimate();
                println!(
                    "ok  {}: {} services, {} replicas, {} classes, policies {}; a run needs about {} and {:.1e} events",
                    file.display(),
                    s.services.len(),
                    s.total_replicas(),
                    s.classes.len(),
                    policies.join(", "),
                    scenario::size_text(estimate.bytes()),
                    estimate.events
                );
                for w in s.warnings() {
                    eprintln!("warning: {}: {w}", file.display());
                }
            }
            Err(err) => {
                failures += 1;
                eprintln!("error: {err}");
            }
        }
    }
    if failures == 0 {
        Ok(())
    } else {
        Err(BadInput(format!("{failures} of {} scenario files are invalid", files.len())).into())
    }
}

/// Whether a scenario file has a `[sweep]` section (its grid is then checked too).
fn has_sweep(file: &Path) -> bool {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.parse::<toml::Table>().is_ok_and(|doc| doc.contains_key("sweep"))
}

fn policies_text() -> String {
    let mut out = String::new();
    for kind in PolicyKind::ALL {
        out.push_str(&format!("{:<23}{}\n", kind.name(), kind.description()));
        for (name, default, meaning) in kind.parameters() {
            out.push_str(&format!("{:<23}  {name} = {default}: {meaning}\n", ""));
        }
    }
    out
}
