//! Where a sweep keeps its results: one small JSON file per finished run under `DIR/runs/`,
//! written atomically the moment the run ends, so a killed sweep loses only the runs in
//! progress and `--resume` runs only what is missing. At the end (and in `merge`) the run
//! files are assembled in plan order into the result files; assembly is a pure function of
//! the plan and the run files, so any thread count, any completion order and any split into
//! shards give the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cdf::{self, CdfCounts};
use super::plan::{PlanInfo, RunKey};
use super::stats;
use crate::catalogue::{self, KEY_COLUMNS};
use crate::report::{self, ReportError};

/// Latency percentiles recorded per run for the CDF (and as `runs_extra.csv` columns).
pub const LATENCY_PERCENTILES: [f64; 16] =
    [1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.9];

/// One finished (or failed) run, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// Cell index.
    pub cell: u32,
    /// Policy name.
    pub policy: String,
    /// Replication index.
    pub replication: u32,
    /// Master seed of the cell.
    pub seed: u64,
    /// The run's `runs.csv` row (with its newline); empty when the run failed.
    pub runs_row: String,
    /// Its `faults.csv` rows.
    pub faults_rows: String,
    /// Its `services.csv` rows.
    #[serde(default)]
    pub services_rows: String,
    /// MSER-5 truncation point of the completion-latency series, in simulated seconds.
    pub mser5_truncation_s: Option<f64>,
    /// Latency at [`LATENCY_PERCENTILES`], in ms (`None` when no job completed).
    pub latency_percentiles_ms: Vec<Option<f64>>,
    /// Its `timeseries.csv` rows, for the runs whose time series the sweep keeps
    /// (replication 0 of every policy in the last cell).
    #[serde(default)]
    pub timeseries_rows: String,
    /// Its jobs completed within each latency of the CDF's grid, for the runs whose
    /// distribution the sweep draws (every run of the last cell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_cdf: Option<CdfCounts>,
    /// Why the run failed (an invalid cell, a panic), if it did.
    pub error: Option<String>,
    /// Wall-clock time of the run, in seconds (only ever written to `timing.csv`).
    pub wall_s: f64,
    /// The git commit of the build that ran it, when known (only ever written to
    /// `timing.csv`: shards and resumed sweeps may mix builds).
    #[serde(default)]
    pub git_commit: Option<String>,
}

/// A stored result could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading a file or directory failed.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file is not what this version writes.
    #[error("{}: not a coordsim sweep file: {message}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] ReportError),
    /// A damaged run file could not be renamed out of the way.
    #[error("cannot move the damaged run file aside to {}", .path.display())]
    MoveAside {
        /// The name it was to get.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl RunFile {
    /// Whether two files of a run hold the same results (the wall time and the build may
    /// differ).
    pub fn same_results(&self, other: &RunFile) -> bool {
        let mut a = self.clone();
        a.wall_s = other.wall_s;
        a.git_commit.clone_from(&other.git_commit);
        // Compared as written, so NaN figures compare equal to themselves.
        serde_json::to_vec(&a).ok() == serde_json::to_vec(other).ok()
    }
}

/// The file of run `key` under `dir`.
pub fn run_path(dir: &Path, key: RunKey, policy: &str) -> PathBuf {
    dir.join("runs").join(format!("c{:05}-{policy}-r{:05}.json", key.cell, key.replication))
}

/// Writes one run's file atomically.
///
/// # Errors
/// The path that could not be written.
pub fn write_run(dir: &Path, key: RunKey, run: &RunFile) -> Result<(), ReportError> {
    let bytes = serde_json::to_vec(run).expect("a run file always serialises");
    report::write_atomic(&run_path(dir, key, &run.policy), &bytes)
}

/// Damaged run files moved aside: where each went, and what was wrong with it.
pub type MovedAside = Vec<(PathBuf, String)>;

/// What [`read_runs`] does with a run file it cannot use (not JSON, or not of this plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damaged {
    /// Stop with an error naming the file (a merge: its input must be whole).
    Fail,
    /// Rename it to `<name>.damaged` beside itself and leave the run to be run again
    /// (a resume).
    MoveAside,
}

/// Reads the run files under `dir/runs/` that belong to `plan`, with the paths of the
/// damaged files moved aside and what was wrong with each (always empty under
/// [`Damaged::Fail`]).
///
/// # Errors
/// A directory or file that cannot be read; a damaged file under [`Damaged::Fail`], or one
/// that cannot be renamed.
pub fn read_runs(
    dir: &Path,
    plan: &PlanInfo,
    damaged: Damaged,
) -> Result<(BTreeMap<RunKey, RunFile>, MovedAside), StoreError> {
    let runs_dir = dir.join("runs");
    let mut out = BTreeMap::new();
    let mut moved = Vec::new();
    let entries = match fs::read_dir(&runs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((out, moved)),
        Err(source) => return Err(StoreError::Read { path: runs_dir, source }),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| StoreError::Read { path: runs_dir.clone(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && name.ends_with(".json") {
            paths.push(entry.path());
        }
    }
    // The order of the directory is the file system's: sort, so messages are the same.
    paths.sort();
    for path in paths {
        let bytes =
            fs::read(&path).map_err(|source| StoreError::Read { path: path.clone(), source })?;
        match parse_run(&bytes, plan) {
            Ok((key, run)) => {
                out.insert(key, run);
            }
            Err(message) if damaged == Damaged::MoveAside => {
                let mut aside = path.clone().into_os_string();
                aside.push(".damaged");
                let aside = PathBuf::from(aside);
                fs::rename(&path, &aside)
                    .map_err(|source| StoreError::MoveAside { path: aside.clone(), source })?;
                moved.push((aside, message));
            }
            Err(message) => return Err(StoreError::Format { path, message }),
        }
    }
    Ok((out, moved))
}

/// One run file's contents, checked against the plan.
fn parse_run(bytes: &[u8], plan: &PlanInfo) -> Result<(RunKey, RunFile), String> {
    let run: RunFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let policy = plan
        .policies
        .iter()
        .position(|p| *p == run.policy)
        .ok_or_else(|| format!("policy `{}` is not in the sweep", run.policy))?;
    if run.cell as usize >= plan.cells.len() {
        return Err(format!("cell {} is not in the sweep", run.cell));
    }
    Ok((RunKey { cell: run.cell, policy: policy as u16, replication: run.replication }, run))
}

/// Deletes the run files under `dir/runs/` (a fresh sweep into a used directory).
///
/// # Errors
/// A file that cannot be removed.
pub fn clear_runs(dir: &Path) -> Result<(), StoreError> {
    let runs_dir = dir.join("runs");
    let Ok(entries) = fs::read_dir(&runs_dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            fs::remove_file(&path)
                .map_err(|source| StoreError::Write(ReportError { path, source }))?;
        }
    }
    Ok(())
}

/// The assembled result files, as bytes.
#[derive(Debug)]
pub struct Assembled {
    /// `runs.csv`.
    pub runs: Vec<u8>,
    /// `faults.csv`.
    pub faults: Vec<u8>,
    /// `services.csv`: each service's cost and control actions, per run.
    pub services: Vec<u8>,
    /// `runs_extra.csv`: per-run MSER-5 truncation and latency percentiles.
    pub extra: Vec<u8>,
    /// `errors.csv`: failed runs and why.
    pub errors: Vec<u8>,
    /// `summary.csv`: per (cell, policy) means, intervals and paired differences.
    pub summary: Vec<u8>,
    /// `timing.csv`: wall-clock seconds per run (not deterministic).
    pub timing: Vec<u8>,
    /// `timeseries.csv`: the time series of replication 0 of every policy in the last cell.
    pub timeseries: Vec<u8>,
    /// `latency_cdf.csv`: per (cell, policy) with counts (the last cell), the share of the
    /// jobs arrived that completed within each latency of the grid, pooled over the
    /// replications.
    pub latency_cdf: Vec<u8>,
    /// Failed runs.
    pub failed: usize,
    /// (cell label, policy, median MSER-5 truncation in s) where it exceeds the warm-up.
    pub warmup_warnings: Vec<(String, String, f64)>,
}

fn first_line_removed(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
    &bytes[start..]
}

/// Renders a run's `timeseries.csv` rows (without the header).
pub fn render_timeseries(record: &report::RunRecord) -> String {
    let rows = report::timeseries_csv(std::slice::from_ref(record));
    String::from_utf8_lossy(first_line_removed(&rows)).into_owned()
}

/// A run's rows of the per-run files (without headers).
#[derive(Debug)]
pub struct Rows {
    /// Its `runs.csv` row.
    pub runs: String,
    /// Its `faults.csv` rows.
    pub faults: String,
    /// Its `services.csv` rows.
    pub services: String,
}

/// Renders a run's `runs.csv`, `faults.csv` and `services.csv` rows (without headers).
pub fn render_rows(record: &report::RunRecord) -> Rows {
    let one = std::slice::from_ref(record);
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(first_line_removed(&bytes)).into_owned();
    Rows {
        runs: text(report::runs_csv(one)),
        faults: text(report::faults_csv(one)),
        services: text(report::services_csv(one)),
    }
}

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells).expect("writing to memory cannot fail");
    w.into_inner().expect("flushing to memory cannot fail")
}

/// A header line: the key columns, then `rest`.
fn keyed_header(rest: impl IntoIterator<Item = String>) -> Vec<u8> {
    let cells: Vec<String> = KEY_COLUMNS.iter().map(|s| (*s).to_owned()).chain(rest).collect();
    csv_line(&cells)
}

/// The column name of a latency percentile: 99.9 -> `latency_p999_ms`, 5 -> `latency_p5_ms`.
pub fn percentile_column(p: f64) -> String {
    format!("latency_p{}_ms", format!("{p}").replace('.', ""))
}

fn cell(value: f64) -> String {
    report::float_cell(value)
}

/// Parses a run's `runs.csv` row into its metric values (NaN for an empty cell).
fn metric_values(row: &str, metrics: &[(usize, &str)]) -> Vec<f64> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(row.as_bytes());
    let record = reader.records().next().and_then(Result::ok);
    metrics
        .iter()
        .map(|&(i, _)| {
            record
                .as_ref()
                .and_then(|r| r.get(i))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// Assembles the result files from the runs, which must be keyed in plan order.
pub fn assemble(plan: &PlanInfo, runs: &BTreeMap<RunKey, RunFile>) -> Assembled {
    let mut out_runs = csv_line(&catalogue::RUNS_COLUMNS.map(str::to_owned));
    let mut out_faults = csv_line(&catalogue::FAULTS_COLUMNS.map(str::to_owned));
    let mut out_services = csv_line(&catalogue::SERVICES_COLUMNS.map(str::to_owned));
    let mut out_timeseries = csv_line(&catalogue::TIMESERIES_COLUMNS.map(str::to_owned));
    let mut out_extra = keyed_header(
        std::iter::once("mser5_truncation_s".to_owned())
            .chain(LATENCY_PERCENTILES.iter().map(|&p| percentile_column(p))),
    );
    let mut out_errors = keyed_header(["error".to_owned()]);
    let mut out_timing = keyed_header(["wall_s".to_owned(), "git_commit".to_owned()]);
    let mut out_cdf = csv_line(
        &[
            "scenario",
            "cell",
            "policy",
            "latency_ms",
            "jobs_within",
            "jobs_arrived",
            "share_within",
        ]
        .map(str::to_owned),
    );
    let mut failed = 0;
    for (key, run) in runs {
        let label = &plan.cells[key.cell as usize].label;
        let ids = vec![
            plan.scenario.clone(),
            label.clone(),
            run.policy.clone(),
            run.replication.to_string(),
            run.seed.to_string(),
        ];
        let mut timing = ids.clone();
        timing.push(format!("{:.6}", run.wall_s));
        timing.push(run.git_commit.clone().unwrap_or_default());
        out_timing.extend(csv_line(&timing));
        if let Some(error) = &run.error {
            failed += 1;
            let mut row = ids;
            row.push(error.clone());
            out_errors.extend(csv_line(&row));
            continue;
        }
        out_runs.extend_from_slice(run.runs_row.as_bytes());
        out_faults.extend_from_slice(run.faults_rows.as_bytes());
        out_services.extend_from_slice(run.services_rows.as_bytes());
        out_timeseries.extend_from_slice(run.timeseries_rows.as_bytes());
        let mut row = ids;
        row.push(run.mser5_truncation_s.map_or_else(String::new, cell));
        row.extend(run.latency_percentiles_ms.iter().map(|v| v.map_or_else(String::new, cell)));
        out_extra.extend(csv_line(&row));
    }
    for (c, info) in plan.cells.iter().enumerate() {
        for (p, policy) in plan.policies.iter().enumerate() {
            let from = RunKey { cell: c as u32, policy: p as u16, replication: 0 };
            let to = RunKey { replication: u32::MAX, ..from };
            let counts = runs.range(from..=to).filter_map(|(_, r)| r.latency_cdf.as_ref());
            for (ms, within, arrived) in cdf::pooled(counts).unwrap_or_default() {
                let share = within as f64 / arrived as f64;
                out_cdf.extend(csv_line(&[
                    plan.scenario.clone(),
                    info.label.clone(),
                    policy.clone(),
                    format!("{ms:.6e}"),
                    within.to_string(),
                    arrived.to_string(),
                    cell(share),
                ]));
            }
        }
    }
    let (summary, warmup_warnings) = summary_csv(plan, runs);
    Assembled {
        runs: out_runs,
        faults: out_faults,
        services: out_services,
        extra: out_extra,
        errors: out_errors,
        summary,
        timing: out_timing,
        timeseries: out_timeseries,
        latency_cdf: out_cdf,
        failed,
        warmup_warnings,
    }
}

/// The values of every metric for each replication of one (cell, policy), in replication
/// order; failed runs are left out.
pub fn cell_policy_values(
    runs: &BTreeMap<RunKey, RunFile>,
    cell: u32,
    policy: u16,
    metrics: &[(usize, &str)],
) -> BTreeMap<u32, Vec<f64>> {
    let from = RunKey { cell, policy, replication: 0 };
    let to = RunKey { cell, policy, replication: u32::MAX };
    runs.range(from..=to)
        .filter(|(_, r)| r.error.is_none())
        .map(|(k, r)| (k.replication, metric_values(&r.runs_row, metrics)))
        .collect()
}

/// The metric columns of `runs.csv` that `summary.csv` summarises, with their positions.
pub fn metric_positions() -> Vec<(usize, &'static str)> {
    catalogue::METRICS
        .iter()
        .enumerate()
        .filter(|(_, m)| m.summarised)
        .map(|(i, m)| (KEY_COLUMNS.len() + i, m.name))
        .collect()
}

/// One metric's values over the replications of a cell and policy, in replication order.
pub(crate) fn column(values: &BTreeMap<u32, Vec<f64>>, m: usize) -> Vec<f64> {
    values.values().map(|v| v[m]).collect()
}

fn summary_csv(
    plan: &PlanInfo,
    runs: &BTreeMap<RunKey, RunFile>,
) -> (Vec<u8>, Vec<(String, String, f64)>) {
    let metrics = metric_positions();
    let paired: Vec<usize> = catalogue::paired()
        .iter()
        .filter_map(|p| metrics.iter().position(|(_, m)| *m == p.name))
        .collect();
    let mut header = vec!["scenario".to_owned(), "cell".to_owned()];
    header.extend(plan.keys.iter().cloned());
    header.extend(["policy".to_owned(), "n".to_owned()]);
    for (_, m) in &metrics {
        header.extend([format!("{m}_mean"), format!("{m}_ci95_lo"), format!("{m}_ci95_hi")]);
    }
    for &m in &paired {
        let name = metrics[m].1;
        header.extend([
            format!("{name}_diff_mean"),
            format!("{name}_diff_ci95_lo"),
            format!("{name}_diff_ci95_hi"),
        ]);
    }
    header.extend(["mser5_truncation_s_median".to_owned(), "warmup_warning".to_owned()]);
    let mut out = csv_line(&header);
    let mut warnings = Vec::new();
    let reference = plan.policies.iter().position(|p| *p == plan.reference).unwrap_or(0) as u16;
    for (c, info) in plan.cells.iter().enumerate() {
        let c = c as u32;
        let ref_values = cell_policy_values(runs, c, reference, &metrics);
        for (p, policy) in plan.policies.iter().enumerate() {
            let values = cell_policy_values(runs, c, p as u16, &metrics);
            let mut row = vec![plan.scenario.clone(), info.label.clone()];
            row.extend(info.values.iter().cloned());
            row.extend([policy.clone(), values.len().to_string()]);
            for m in 0..metrics.len() {
                let i = stats::interval(&column(&values, m));
                row.extend([cell(i.mean), cell(i.lo), cell(i.hi)]);
            }
            for &m in &paired {
                if p as u16 == reference {
                    row.extend([String::new(), String::new(), String::new()]);
                    continue;
                }
                // Pair by replication: both runs saw the same jobs and faults.
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for (rep, v) in &values {
                    if let Some(r) = ref_values.get(rep) {
                        a.push(v[m]);
                        b.push(r[m]);
                    }
                }
                let d = stats::paired_difference(&a, &b);
                row.extend([cell(d.mean), cell(d.lo), cell(d.hi)]);
            }
            let mut mser: Vec<f64> = runs
                .range(
                    RunKey { cell: c, policy: p as u16, replication: 0 }..=RunKey {
                        cell: c,
                        policy: p as u16,
                        replication: u32::MAX,
                    },
                )
                .filter_map(|(_, r)| r.mser5_truncation_s)
                .collect();
            let median = median(&mut mser);
            let warn = median > plan.warmup_s;
            if warn {
                warnings.push((info.label.clone(), policy.clone(), median));
            }
            row.extend([cell(median), warn.to_string()]);
            out.extend(csv_line(&row));
        }
    }
    (out, warnings)
}

/// The median (NaN for none).
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::plan::CellInfo;

    fn plan() -> PlanInfo {
        PlanInfo {
            scenario: "s".into(),
            scenario_hash: "h".into(),
            keys: vec!["a.b".into()],
            cells: vec![CellInfo { label: "a.b=1".into(), values: vec!["1".into()], seed: 3 }],
            policies: vec!["random".into(), "round_robin".into()],
            reference: "random".into(),
            replications: 2,
            precision: Vec::new(),
            max_replications: 2,
            warmup_s: 1.0,
            classes: Vec::new(),
        }
    }

    /// A runs.csv row with `latency_p99_ms` = `p99` and every other metric empty.
    fn run(policy: &str, rep: u32, p99: f64, mser: f64) -> RunFile {
        let mut cells = vec![String::new(); catalogue::RUNS_COLUMNS.len()];
        let i = catalogue::RUNS_COLUMNS.iter().position(|c| *c == "latency_p99_ms").unwrap();
        cells[i] = p99.to_string();
        RunFile {
            cell: 0,
            policy: policy.into(),
            replication: rep,
            seed: 3,
            runs_row: String::from_utf8(csv_line(&cells)).unwrap(),
            faults_rows: String::new(),
            services_rows: String::new(),
            mser5_truncation_s: Some(mser),
            latency_percentiles_ms: vec![None; LATENCY_PERCENTILES.len()],
            timeseries_rows: String::new(),
            latency_cdf: None,
            error: None,
            wall_s: 0.5,
            git_commit: None,
        }
    }

    #[test]
    fn summary_has_intervals_and_paired_differences() {
        let mut runs = BTreeMap::new();
        for (p, name) in ["random", "round_robin"].iter().enumerate() {
            for rep in 0..2 {
                // random: 10, 20; round_robin: 12, 21 -> differences 2 and 1.
                let v = [[10.0, 20.0], [12.0, 21.0]][p][rep as usize];
                let k = RunKey { cell: 0, policy: p as u16, replication: rep };
                runs.insert(k, run(name, rep, v, [0.5, 3.0][p]));
            }
        }
        let a = assemble(&plan(), &runs);
        let text = String::from_utf8(a.summary).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let get = |row: usize, col: &str| {
            rows[row].get(header.iter().position(|h| h == col).unwrap()).unwrap().to_owned()
        };
        assert_eq!(
            &header.iter().take(5).collect::<Vec<_>>(),
            &["scenario", "cell", "a.b", "policy", "n"]
        );
        assert_eq!(get(1, "n"), "2");
        // 12 and 21: mean 16.5, s = 6.364, half-width 12.706 * 6.364 / sqrt 2 = 57.18.
        assert_eq!(get(1, "latency_p99_ms_mean"), "16.500000");
        let lo: f64 = get(1, "latency_p99_ms_ci95_lo").parse().unwrap();
        assert!((lo - (16.5 - 57.18)).abs() < 0.01, "{lo}");
        // Differences 2 and 1: mean 1.5, s = 0.7071, half-width 12.706 * 0.5 = 6.353.
        assert_eq!(get(1, "latency_p99_ms_diff_mean"), "1.500000");
        let hi: f64 = get(1, "latency_p99_ms_diff_ci95_hi").parse().unwrap();
        assert!((hi - 7.853).abs() < 0.01, "{hi}");
        assert_eq!(get(0, "latency_p99_ms_diff_mean"), "", "no difference to itself");
        assert_eq!(get(0, "goodput_per_s_mean"), "", "empty cells are skipped");
        // Median MSER-5 truncation 3 s > 1 s warm-up under round_robin only.
        assert_eq!(get(0, "warmup_warning"), "false");
        assert_eq!(get(1, "warmup_warning"), "true");
        assert_eq!(a.warmup_warnings.len(), 1);
        assert_eq!(String::from_utf8(a.runs).unwrap().lines().count(), 5);
    }

    #[test]
    fn failed_runs_go_to_errors_only() {
        let mut runs = BTreeMap::new();
        let mut bad = run("random", 0, 1.0, 0.0);
        bad.error = Some("boom".into());
        bad.runs_row.clear();
        runs.insert(RunKey { cell: 0, policy: 0, replication: 0 }, bad);
        let a = assemble(&plan(), &runs);
        assert_eq!(a.failed, 1);
        assert_eq!(String::from_utf8(a.runs).unwrap().lines().count(), 1);
        assert_eq!(
            String::from_utf8(a.errors).unwrap().lines().nth(1),
            Some("s,a.b=1,random,0,3,boom")
        );
    }

    #[test]
    fn percentile_columns_follow_the_runs_csv_names() {
        assert_eq!(percentile_column(99.9), "latency_p999_ms");
        assert_eq!(percentile_column(50.0), "latency_p50_ms");
        assert_eq!(percentile_column(99.5), "latency_p995_ms");
    }
}
