//! The `coordsim` command line: arguments -> validated scenario -> runs -> table and files.
//!
//! This is the only module that knows about the process: arguments, the terminal, exit codes
//! and where results go. Every subcommand reads as load -> validate -> run -> report. Bad
//! input is rejected before any result file is created.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rayon::prelude::*;

use crate::metrics::trace::{TraceBounds, TraceObserver};
use crate::policy::PolicyKind;
use crate::report::{self, RunRecord};
use crate::scenario::{self, Override, Scenario, ScenarioError};
use crate::sim;
use crate::time::{SimDuration, SimTime};

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
    /// Check scenario files without running them.
    Validate {
        /// Scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the policies with a description and their parameters.
    Policies,
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
    #[arg(long)]
    pub replications: Option<u32>,
    /// Override a key of the scenario before validation, e.g. services.api.replicas=8
    /// (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<Override>,
    /// Output directory [default: results/<scenario file stem>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Also write DIR/audit.jsonl: every decision of replication 0 of each policy, with the
    /// options seen, their estimates, the choice and the reason.
    #[arg(long)]
    pub audit: bool,
    /// Most decisions audited per policy.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
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
    #[arg(long, value_name = "N")]
    pub trace_jobs: Option<u64>,
}

fn parse_span(text: &str) -> std::result::Result<(f64, f64), String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("expected START..END in seconds, found {text:?}"))?;
    let number = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0 && *x <= 1e7)
            .ok_or_else(|| format!("{t:?} in {text:?} is not a number of seconds in [0, 1e7]"))
    };
    let (start, end) = (number(start)?, number(end)?);
    if start < end {
        Ok((start, end))
    } else {
        Err(format!("the trace window {text:?} is empty: START must be below END"))
    }
}

fn parse_override(text: &str) -> std::result::Result<Override, String> {
    text.parse()
}

/// Runs a parsed command line.
///
/// # Errors
/// Bad input (a scenario that does not load, an unknown policy) or a failure to write
/// results, with the chain of causes; [`exit_code`] maps it to the process exit code.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Run(run_args) => run_scenario(&run_args),
        Command::Validate { files } => validate(&files),
        Command::Policies => {
            print!("{}", policies_text());
            Ok(())
        }
    }
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
struct BadInput(String);

fn run_scenario(args: &RunArgs) -> Result<()> {
    let scenario = load_for_run(args)?;
    let out_dir = args.out.clone().unwrap_or_else(|| default_out_dir(&args.scenario));
    let records = run_all(&scenario, args.jobs)?;
    print!("{}", report::runs_table(&records));
    // The table goes to stdout, progress notes to stderr: flush so they never interleave.
    std::io::Write::flush(&mut std::io::stdout()).context("writing the table")?;
    warn_untouched_faults(&records);
    let runs = out_dir.join("runs.csv");
    report::write_atomic(&runs, &report::runs_csv(&records))?;
    let faults = out_dir.join("faults.csv");
    report::write_atomic(&faults, &report::faults_csv(&records))?;
    let classes = out_dir.join("classes.csv");
    report::write_atomic(&classes, &report::classes_csv(&records))?;
    let timeseries = out_dir.join("timeseries.csv");
    report::write_atomic(&timeseries, &report::timeseries_csv(&records))?;
    eprintln!(
        "wrote {}, {}, {} and {}",
        runs.display(),
        faults.display(),
        classes.display(),
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
                (policy.kind(), sim::run_audited(&scenario, policy, 0, args.audit_limit).1)
            })
            .collect();
        let path = out_dir.join("audit.jsonl");
        report::write_atomic(&path, &report::audit_jsonl(&scenario, &audits))?;
        let lines: usize = audits.iter().map(|(_, a)| a.len()).sum();
        eprintln!("wrote {} ({lines} decisions)", path.display());
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
    sim::run_observed(scenario, scenario.policies[0], 0, &mut observer);
    observer.into_json()
}

/// A fault that touched no request and no message tested nothing: say so, once per fault
/// and policy, so a scenario can never silently test nothing.
fn warn_untouched_faults(records: &[RunRecord]) {
    for r in records.iter().filter(|r| r.replication == 0) {
        for f in r.summary.faults.iter().filter(|f| f.touched == 0) {
            eprintln!(
                "warning: {} fault on {} at [{:.3} s, {:.3} s) touched no request or message under {} (replication 0)",
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
    let mut overrides = args.overrides.clone();
    if !args.policies.is_empty() {
        let names = args.policies.iter().map(|p| toml::Value::String(p.clone())).collect();
        overrides.push(Override::new("policies", toml::Value::Array(names)));
    }
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
    let plan: Vec<_> = scenario
        .policies
        .iter()
        .flat_map(|&policy| (0..scenario.replications).map(move |rep| (policy, rep)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .context("starting worker threads")?;
    // `par_iter().map().collect()` on a Vec is indexed: results keep plan order.
    Ok(pool.install(|| {
        plan.par_iter()
            .map(|&(policy, replication)| RunRecord {
                scenario: scenario.name.clone(),
                cell: String::new(),
                policy: policy.kind(),
                replication,
                seed: scenario.seed,
                summary: sim::run(scenario, policy, replication),
            })
            .collect()
    }))
}

fn validate(files: &[PathBuf]) -> Result<()> {
    let mut failures = 0;
    for file in files {
        match scenario::load(file) {
            Ok(s) => {
                let policies: Vec<_> = s.policies.iter().map(|p| p.kind().name()).collect();
                println!(
                    "ok  {}: {} services, {} replicas, {} classes, policies {}",
                    file.display(),
                    s.services.len(),
                    s.total_replicas(),
                    s.classes.len(),
                    policies.join(", ")
                );
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

fn policies_text() -> String {
    let mut out = String::new();
    for kind in PolicyKind::ALL {
        out.push_str(&format!("{:<20}{}\n", kind.name(), kind.description()));
        for (name, default, meaning) in kind.parameters() {
            out.push_str(&format!("{:<20}  {name} = {default}: {meaning}\n", ""));
        }
    }
    out
}
