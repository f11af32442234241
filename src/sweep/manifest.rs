//! `DIR/manifest.json`: what produced a result directory (scenario content hash, crate
//! version, command line, seeds, shard) and the plan that assembling its run files needs.
//! `merge` refuses directories whose plans differ.
//!
//! The manifest holds only what rerunning the same command on another machine or at another
//! commit reproduces: the program is named without its directory, and the git commit of the
//! build goes with each run's wall time to `timing.csv` (shards and resumed sweeps may mix
//! builds), so that a rerun of committed results changes `timing.csv` alone.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::plan::{PlanInfo, Shard};
use super::store::StoreError;
use crate::report::{self, ReportError};

/// The manifest of a sweep directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of coordsim that wrote it.
    pub coordsim_version: String,
    /// The command line, as given, with the program named without its directory.
    pub command_line: Vec<String>,
    /// The scenario file, as given.
    pub scenario_file: String,
    /// How each run's random streams are seeded.
    pub seed_rule: String,
    /// Master seed of each cell, in cell order.
    pub seeds: Vec<u64>,
    /// The slice this directory holds (1-based `index`), or `None` for a whole sweep.
    pub shard: Option<ShardNote>,
    /// Directories merged into this one (`merge` only).
    pub merged_from: Vec<String>,
    /// A merge that lacked runs of the plan and was asked to go on (`merge --partial`):
    /// how many were missing. Absent for a whole sweep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<PartialNote>,
    /// The plan.
    pub plan: PlanInfo,
}

/// What a partial merge lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialNote {
    /// Runs of the plan in none of the merged directories.
    pub missing_runs: usize,
    /// What that means for the results.
    pub note: String,
}

/// A shard as a person reads it: `index` of `count`, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardNote {
    /// 1-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl From<Shard> for ShardNote {
    fn from(s: Shard) -> Self {
        ShardNote { index: s.index + 1, count: s.count }
    }
}

impl Manifest {
    /// A manifest for `plan`, written by this binary.
    pub fn new(
        plan: &PlanInfo,
        scenario_file: &str,
        command_line: Vec<String>,
        shard: Option<Shard>,
    ) -> Self {
        Manifest {
            coordsim_version: env!("CARGO_PKG_VERSION").to_owned(),
            command_line: portable(command_line),
            scenario_file: scenario_file.to_owned(),
            seed_rule: "every random stream of a run derives from (cell seed, replication, \
                        stream purpose): all policies of a cell share the workload"
                .to_owned(),
            seeds: plan.cells.iter().map(|c| c.seed).collect(),
            shard: shard.map(ShardNote::from),
            merged_from: Vec::new(),
            partial: None,
            plan: plan.clone(),
        }
    }

    /// Writes `dir/manifest.json` atomically.
    ///
    /// # Errors
    /// The path that could not be written.
    pub fn write(&self, dir: &Path) -> Result<(), ReportError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        bytes.push(b'\n');
        report::write_atomic(&dir.join("manifest.json"), &bytes)
    }

    /// Reads `dir/manifest.json`.
    ///
    /// # Errors
    /// A missing or unreadable file, or one that does not parse.
    pub fn read(dir: &Path) -> Result<Manifest, StoreError> {
        let path = dir.join("manifest.json");
        let bytes = std::fs::read(&path)
            .map_err(|source| StoreError::Read { path: path.clone(), source })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Format { path, message: e.to_string() })
    }
}

/// `command_line` with its first word (the program) reduced to its file name: where the
/// binary lives differs between machines and says nothing about the results.
pub(crate) fn portable(mut command_line: Vec<String>) -> Vec<String> {
    if let Some(program) = command_line.first_mut() {
        if let Some(name) = Path::new(program.as_str()).file_name() {
            *program = name.to_string_lossy().into_owned();
        }
    }
    command_line
}

/// The commit of the checkout the running binary was built in, if git can tell (the binary
/// normally lives under `target/` inside it); asked once per process.
pub(crate) fn git_commit() -> Option<String> {
    static COMMIT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    COMMIT.get_or_init(ask_git).clone()
}

fn ask_git() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(exe.parent()?)
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let commit = text.trim();
    (out.status.success() && commit.len() == 40).then(|| commit.to_owned())
}
