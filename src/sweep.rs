//! Sweeps: a scenario's `[sweep]` grid x policies x replications, run in parallel, each run
//! stored the moment it ends, then assembled into result files in plan order.
//!
//! This is the only module that runs many simulations at once (with rayon). The plan is
//! fixed before any run starts (`plan.rs`); each run seeds its streams from its cell's master
//! seed and its replication only, so all policies of a cell share the workload (common
//! random numbers) and no result depends on the thread count or on the order runs finish.
//! Under a precision target the cells grow in rounds, each decision a function of the
//! results so far, so even that is deterministic. Files are written through `report`:
//! one per run under `DIR/runs/` (`store.rs`), then `runs.csv`, `faults.csv`,
//! `runs_extra.csv`, `errors.csv`, `summary.csv`, `timing.csv`, `timeseries.csv` (replication 0 of every policy in the last cell) and `manifest.json`.

pub mod cdf;
pub mod manifest;
pub mod plan;
pub mod progress;
mod runs;
pub mod stats;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use self::manifest::Manifest;
use self::plan::{PlanInfo, PlanPolicy, RunKey, Shard, SweepPlan};
use self::progress::Progress;
pub use self::runs::{run_key, Outside, OutsideBuild, OutsideDriver, RunAborted};
use self::store::{RunFile, StoreError};
use crate::report;
use crate::scenario::{Limits, ScenarioError, SweepFile};

/// How to run a sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// Result directory.
    pub out: PathBuf,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
    /// Keep the run files already in `out` and run only the missing ones.
    pub resume: bool,
    /// Run only this slice of the plan.
    pub shard: Option<Shard>,
    /// Precision targets replacing the file's (metric, relative half-width).
    pub precision: Vec<(String, f64)>,
    /// The command line, for the manifest.
    pub command_line: Vec<String>,
    /// No progress output (and no warnings printed).
    pub quiet: bool,
    /// What one run may need; a cell over them is refused before anything runs.
    pub limits: Limits,
    /// Refuse cells with warnings (`--strict`).
    pub strict: bool,
    /// Shared with a caller that follows the sweep from another thread (the Python
    /// package: progress, Ctrl-C); `None` from the command line.
    pub watch: Option<Arc<Watch>>,
    /// The policies in order, when the caller brings policies of its own (names the
    /// scenario's policies do not have are run by `runner`); `None`: the scenario's.
    pub policies: Option<Vec<String>>,
    /// Runs the runs instead of this process's threads (the Python package's worker
    /// processes); `None`: rayon, `jobs` threads.
    pub runner: Option<Arc<dyn Runner>>,
}

/// What runs a sweep's runs when the caller does (the Python package, in worker processes
/// or on a cluster): each run is [`run_key`], its file written with [`store::write_run`],
/// wherever it happens.
pub trait Runner: Send + Sync + std::fmt::Debug {
    /// Runs every key of `keys` and writes its run file under the sweep's directory;
    /// returns when all are written, or early when the caller stopped the sweep (the runs
    /// written stay). An error stops the sweep.
    ///
    /// # Errors
    /// Why the runs could not be run (a worker that died, an executor that failed).
    fn run(&self, keys: &[RunKey]) -> Result<(), String>;
}

/// What a caller on another thread sees of a sweep, and how it stops one: runs done and
/// planned, and a flag that makes the sweep start no further run (the runs already written
/// stay, so `--resume` completes it).
#[derive(Debug, Default)]
pub struct Watch {
    /// Runs finished (written) so far.
    pub done: AtomicUsize,
    /// Runs planned so far (grows under a precision target).
    pub total: AtomicUsize,
    /// Set to stop: no run starts after it is seen.
    pub cancel: AtomicBool,
}

/// What a sweep did.
#[derive(Debug)]
pub struct SweepOutcome {
    /// Runs executed now (not found on disk).
    pub executed: usize,
    /// Runs of the plan (or shard) in all, executed now or before.
    pub total: usize,
    /// Runs that failed.
    pub failed: usize,
    /// Wall-clock seconds spent running.
    pub elapsed_s: f64,
    /// The assembled files, unless this was a shard.
    pub assembled: Option<store::Assembled>,
}

/// Why a sweep or a merge stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Reading or writing results failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing results failed.
    #[error(transparent)]
    Write(#[from] report::ReportError),
    /// The result directory holds another sweep, or merged directories disagree.
    #[error("{0}")]
    Mismatch(String),
    /// The thread pool could not start.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
    /// The caller's runner failed.
    #[error("the runs could not be run: {0}")]
    Runner(String),
    /// The caller asked the sweep to stop (through its [`Watch`]).
    #[error("the sweep was interrupted after {0} runs; the runs written are kept, and `--resume` completes it")]
    Cancelled(usize),
    /// Runs of the plan are missing from a merge that was not asked to be partial.
    #[error("{0}")]
    Incomplete(String),
    /// A scenario cell cannot run well: over a resource limit, or (under `--strict`) with a
    /// warning.
    #[error("cell {cell}")]
    Cell {
        /// The cell's label (its swept values).
        cell: String,
        /// Why.
        #[source]
        source: ScenarioError,
    },
}

/// Refuses, before anything is written, a cell over a resource limit (with as many runs
/// in memory at once as there are worker threads) or, under `--strict`, a cell with a
/// warning; prints the warnings otherwise: those every cell has once, the others once per
/// cell.
fn check_cells(
    file: &SweepFile,
    plan: &SweepPlan,
    options: &SweepOptions,
) -> Result<(), SweepError> {
    let threads = options.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let runs = plan.info.policies.len() * plan.info.replications as usize * plan.cells.len();
    let at_once = threads.min(runs).max(1);
    let mut per_cell = Vec::new();
    for (cell, info) in plan.cells.iter().zip(&plan.info.cells) {
        let Ok(scenario) = cell else {
            per_cell.push(Vec::new());
            continue;
        };
        let label =
            if info.label.is_empty() { "(the only cell)".to_owned() } else { info.label.clone() };
        let refuse = |source| SweepError::Cell { cell: label.clone(), source };
        scenario.check_limits(file.path(), &options.limits, at_once).map_err(refuse)?;
        if options.strict {
            scenario.strict(file.path()).map_err(refuse)?;
        }
        per_cell.push(scenario.warnings());
    }
    if options.quiet {
        return Ok(());
    }
    let everywhere: Vec<_> = per_cell
        .first()
        .map(|first| {
            first.iter().filter(|w| per_cell.iter().all(|c| c.contains(w))).cloned().collect()
        })
        .unwrap_or_default();
    for w in &everywhere {
        eprintln!("warning: {}: {w}", file.path().display());
    }
    for (warnings, info) in per_cell.iter().zip(&plan.info.cells) {
        for w in warnings.iter().filter(|w| !everywhere.contains(w)) {
            eprintln!("warning: {}: cell {}: {w}", file.path().display(), info.label);
        }
    }
    Ok(())
}

/// Runs (or resumes) the sweep of `file` into `options.out`.
///
/// # Errors
/// A result directory holding another sweep, or a file that cannot be read or written. A
/// failing run is not an error: it is recorded and counted in [`SweepOutcome::failed`].
pub fn run(file: &SweepFile, options: &SweepOptions) -> Result<SweepOutcome, SweepError> {
    let plan = SweepPlan::new(file, &options.precision, options.policies.as_deref());
    let out = &options.out;
    if options.runner.is_none() && plan.policies.contains(&PlanPolicy::Outside) {
        return Err(SweepError::Mismatch(
            "the sweep names policies that are not the scenario's, and nothing runs them".into(),
        ));
    }
    check_cells(file, &plan, options)?;
    let mut done = if options.resume {
        if let Ok(previous) = Manifest::read(out) {
            if previous.plan != plan.info {
                return Err(SweepError::Mismatch(format!(
                    "{} holds results of another sweep (scenario hash {} vs {}, or another grid); \
                     resume needs the same scenario file",
                    out.display(),
                    previous.plan.scenario_hash,
                    plan.info.scenario_hash
                )));
            }
        }
        let (found, moved) = store::read_runs(out, &plan.info, store::Damaged::MoveAside)?;
        for (path, why) in &moved {
            eprintln!(
                "warning: a damaged run file ({why}) was moved aside to {}; its run runs again",
                path.display()
            );
        }
        found
    } else {
        store::clear_runs(out)?;
        BTreeMap::new()
    };
    let shard_note = options.shard.filter(|s| s.count > 1);
    Manifest::new(
        &plan.info,
        &file.path().display().to_string(),
        options.command_line.clone(),
        shard_note,
    )
    .write(out)?;
    // No more threads than runs of the plan (a precision target may add runs, but never
    // more at once than the first round's cells hold).
    let most = plan.runs(plan.info.replications).len().max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.map_or(0, |j| j.min(most)))
        .build()
        .map_err(|e| SweepError::Threads(e.to_string()))?;
    let start = Instant::now();
    let mut executed = 0;
    let mut replications = vec![plan.info.replications; plan.cells.len()];
    let owned = |position: usize, key: RunKey| match shard_note {
        None => true,
        // Under a precision target a cell's replications depend on its own results, so a
        // whole cell must live in one shard.
        Some(s) if !plan.info.precision.is_empty() => s.owns(key.cell as usize),
        Some(s) => s.owns(position),
    };
    let progress = Progress::new(0, options.quiet);
    // Each run's expected events, by cell and policy: what the time left is weighed by.
    let events: Vec<Vec<f64>> = plan
        .cells
        .iter()
        .map(|cell| {
            plan.policies
                .iter()
                .map(|&chosen| match (cell, chosen) {
                    (Ok(s), PlanPolicy::BuiltIn(i)) => s.estimate(s.policies[i]).events,
                    (Ok(s), PlanPolicy::Outside) => s.largest_estimate().events,
                    (Err(_), _) => 1.0,
                })
                .collect()
        })
        .collect();
    loop {
        let todo: Vec<RunKey> = (0..plan.cells.len() as u32)
            .flat_map(|c| plan.cell_runs(c, replications[c as usize]))
            .enumerate()
            .filter(|&(i, key)| owned(i, key))
            .map(|(_, key)| key)
            .filter(|key| !done.contains_key(key))
            .collect();
        progress.add_total(
            todo.len() as u64,
            todo.iter().map(|&k| events[k.cell as usize][k.policy as usize]).sum(),
        );
        let watch = options.watch.as_deref();
        if let Some(w) = watch {
            w.total.fetch_add(todo.len(), Ordering::Relaxed);
        }
        let cancelled = || watch.is_some_and(|w| w.cancel.load(Ordering::Relaxed));
        if let Some(runner) = &options.runner {
            runner.run(&todo).map_err(SweepError::Runner)?;
            let (found, _) = store::read_runs(out, &plan.info, store::Damaged::Fail)?;
            for key in &todo {
                if let Some(run) = found.get(key) {
                    executed += 1;
                    done.insert(*key, run.clone());
                }
            }
            if todo.iter().any(|key| !done.contains_key(key)) {
                progress.finish();
                return Err(if cancelled() {
                    SweepError::Cancelled(executed)
                } else {
                    SweepError::Runner("runs are missing after the runner returned".into())
                });
            }
            if plan.info.precision.is_empty() || !grow(&plan, &done, &mut replications, &owned) {
                break;
            }
            continue;
        }
        let results: Vec<Result<Option<(RunKey, RunFile)>, report::ReportError>> =
            pool.install(|| {
                todo.par_iter()
                    .map(|&key| {
                        if cancelled() {
                            return Ok(None);
                        }
                        let run = run_key(&plan, key, Outside::default());
                        store::write_run(out, key, &run)?;
                        progress.inc(events[key.cell as usize][key.policy as usize]);
                        if let Some(w) = watch {
                            w.done.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Some((key, run)))
                    })
                    .collect()
            });
        for result in results {
            if let Some((key, run)) = result? {
                executed += 1;
                done.insert(key, run);
            }
        }
        if cancelled() {
            progress.finish();
            return Err(SweepError::Cancelled(executed));
        }
        if plan.info.precision.is_empty() || !grow(&plan, &done, &mut replications, &owned) {
            break;
        }
    }
    progress.finish();
    let elapsed_s = start.elapsed().as_secs_f64();
    let total = done.len();
    let failed = done.values().filter(|r| r.error.is_some()).count();
    let assembled = match shard_note {
        Some(_) => None,
        None => Some(write_results(out, &plan.info, &done)?),
    };
    Ok(SweepOutcome { executed, total, failed, elapsed_s, assembled })
}

/// Under a precision target, raises the replications of every cell whose interval is still
/// too wide; returns whether any cell grew.
fn grow(
    plan: &SweepPlan,
    done: &BTreeMap<RunKey, RunFile>,
    replications: &mut [u32],
    owned: &impl Fn(usize, RunKey) -> bool,
) -> bool {
    let metrics = store::metric_positions();
    let cap = plan.info.max_replications;
    let mut grew = false;
    for (c, n) in replications.iter_mut().enumerate() {
        if *n >= cap || !owned(usize::MAX, RunKey { cell: c as u32, policy: 0, replication: 0 }) {
            continue;
        }
        let mut needed = *n;
        for p in 0..plan.policies.len() as u16 {
            let values = store::cell_policy_values(done, c as u32, p, &metrics);
            for (metric, rel) in &plan.info.precision {
                let m = metrics.iter().position(|(_, name)| name == metric).expect("validated");
                let column = store::column(&values, m);
                let i = stats::interval(&column);
                if i.n < 2 {
                    continue;
                }
                let target = rel * i.mean.abs();
                if i.half_width() > target {
                    // The half-width shrinks as 1/sqrt(n): aim straight at the target.
                    let ratio = i.half_width() / target.max(f64::MIN_POSITIVE);
                    let aim = (i.n as f64 * ratio * ratio).ceil().min(f64::from(cap)) as u32;
                    needed = needed.max(aim).max(*n + 1);
                }
            }
        }
        if needed > *n {
            *n = needed.min(cap);
            grew = true;
        }
    }
    grew
}

/// Assembles and writes the result files of a complete sweep.
fn write_results(
    out: &Path,
    plan: &PlanInfo,
    runs: &BTreeMap<RunKey, RunFile>,
) -> Result<store::Assembled, report::ReportError> {
    let a = store::assemble(plan, runs);
    let files = [
        ("runs.csv", &a.runs),
        ("faults.csv", &a.faults),
        ("services.csv", &a.services),
        ("runs_extra.csv", &a.extra),
        ("errors.csv", &a.errors),
        ("summary.csv", &a.summary),
        ("timing.csv", &a.timing),
        ("timeseries.csv", &a.timeseries),
        ("latency_cdf.csv", &a.latency_cdf),
    ]
    .map(|(name, bytes)| (out.join(name), bytes));
    let files: Vec<(&Path, &[u8])> =
        files.iter().map(|(path, bytes)| (path.as_path(), bytes.as_slice())).collect();
    report::write_all_atomic(&files)?;
    Ok(a)
}

/// Combines shard directories into `out`: the same files an unsharded sweep writes.
///
/// # Errors
/// A directory without a manifest, directories of different sweeps, or an IO failure.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    command_line: Vec<String>,
    partial: bool,
) -> Result<(store::Assembled, usize), SweepError> {
    let mut manifests = Vec::new();
    for dir in dirs {
        manifests.push(Manifest::read(dir)?);
    }
    let first = manifests.first().ok_or_else(|| SweepError::Mismatch("nothing to merge".into()))?;
    for (m, dir) in manifests.iter().zip(dirs).skip(1) {
        if m.plan != first.plan {
            return Err(SweepError::Mismatch(format!(
                "{} and {} hold different sweeps (scenario hash {} vs {}, or another grid)",
                dirs[0].display(),
                dir.display(),
                first.plan.scenario_hash,
                m.plan.scenario_hash
            )));
        }
    }
    let mut runs: BTreeMap<RunKey, (RunFile, &Path)> = BTreeMap::new();
    for dir in dirs {
        let (found, _) = store::read_runs(dir, &first.plan, store::Damaged::Fail)?;
        for (key, run) in found {
            match runs.get(&key) {
                None => {
                    runs.insert(key, (run, dir));
                }
                Some((held, from)) if !held.same_results(&run) => {
                    return Err(SweepError::Mismatch(format!(
                        "run {} of cell {} replication {} is in {} and in {} with different results; merge each run once (or rerun the shard)",
                        run.policy,
                        key.cell,
                        key.replication,
                        from.display(),
                        dir.display()
                    )));
                }
                Some(_) => {} // the same run twice (a shard given twice): one copy
            }
        }
    }
    let runs: BTreeMap<RunKey, RunFile> = runs.into_iter().map(|(k, (r, _))| (k, r)).collect();
    let expected = if first.plan.precision.is_empty() {
        first.plan.cells.len() * first.plan.policies.len() * first.plan.replications as usize
    } else {
        runs.len()
    };
    let missing = expected.saturating_sub(runs.len());
    if missing > 0 && !partial {
        // Checked before anything is written: a refused merge leaves `out` as it was.
        return Err(SweepError::Incomplete(format!(
            "{missing} of the plan's {expected} runs are in none of the {} directories (a shard not given, or not finished); give every shard, or pass --partial to merge what there is (summary.csv's `n` then says how many runs each row has)",
            dirs.len()
        )));
    }
    // The merged directory keeps its own copy of every run, so it can be resumed or merged.
    for (&key, run) in &runs {
        store::write_run(out, key, run)?;
    }
    let mut manifest = first.clone();
    manifest.command_line = manifest::portable(command_line);
    manifest.shard = None;
    manifest.merged_from = dirs.iter().map(|d| d.display().to_string()).collect();
    manifest.partial = (missing > 0).then(|| manifest::PartialNote {
        missing_runs: missing,
        note: "a partial merge (--partial): some cells have fewer runs than the plan; summary.csv's n says how many".into(),
    });
    manifest.write(out)?;
    let assembled = write_results(out, &first.plan, &runs)?;
    Ok((assembled, missing))
}

/// A terminal table of a summary: per (cell, policy), the runs and the key figures with
/// their 95% intervals.
pub fn summary_table(summary: &[u8]) -> String {
    let mut reader = csv::Reader::from_reader(summary);
    let Ok(header) = reader.headers().cloned() else { return String::new() };
    let col = |name: &str| header.iter().position(|h| h == name);
    let columns = [
        ("p99 ms", "latency_p99_ms"),
        ("failed share", "failed_ratio"),
        ("mean ms", "latency_mean_ms"),
        ("goodput/s", "goodput_per_s"),
        ("dup work", "dup_work_ratio"),
    ];
    let rows: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
    let text = |r: &csv::StringRecord, c: Option<usize>| {
        c.and_then(|c| r.get(c)).unwrap_or_default().to_owned()
    };
    let width = |name: &str, least: usize| {
        rows.iter().map(|r| text(r, col(name)).len()).max().unwrap_or(0).max(least)
    };
    let (cell_width, policy_width) = (width("cell", 4), width("policy", 18));
    let mut out = format!("{:<cell_width$}  {:<policy_width$} {:>4}", "cell", "policy", "n");
    for (title, _) in columns {
        out.push_str(&format!("  {title:>22}"));
    }
    out.push('\n');
    for r in &rows {
        out.push_str(&format!(
            "{:<cell_width$}  {:<policy_width$} {:>4}",
            text(r, col("cell")),
            text(r, col("policy")),
            text(r, col("n"))
        ));
        for (_, metric) in columns {
            let number =
                |suffix: &str| text(r, col(&format!("{metric}_{suffix}"))).parse::<f64>().ok();
            let figure = match (number("mean"), number("ci95_lo"), number("ci95_hi")) {
                (Some(m), Some(lo), Some(hi)) => format!("{m:.3} +- {:.3}", (hi - lo) / 2.0),
                (Some(m), _, _) => format!("{m:.3}"),
                _ => "-".to_owned(),
            };
            out.push_str(&format!("  {figure:>22}"));
        }
        out.push('\n');
    }
    out
}
