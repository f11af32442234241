//! The sweep plan: the grid's cells (Cartesian product in the file's key order), each a
//! validated scenario or the error that made it invalid, the policies, and the fixed order
//! of runs (cells, then policies as listed, then replications).
//!
//! [`PlanInfo`] is the part of the plan that assembling results needs; it is stored in the
//! manifest, so `merge` needs only result directories, not the scenario file.

use serde::{Deserialize, Serialize};

use crate::policy::PolicyKind;
use crate::scenario::{Override, Scenario, SweepFile};

/// What identifies a run within a sweep; ordered as the plan is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunKey {
    /// Cell index in grid order.
    pub cell: u32,
    /// Policy index in the sweep's order.
    pub policy: u16,
    /// Replication index.
    pub replication: u32,
}

/// One cell of the grid, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellInfo {
    /// `key=value` pairs joined by `;` (the `cell` column of the result files).
    pub label: String,
    /// The value of each swept key, as text, in the order of [`PlanInfo::keys`].
    pub values: Vec<String>,
    /// The cell's master seed.
    pub seed: u64,
}

/// Everything about a plan that turning run files into result files needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// Scenario name (the `scenario` column).
    pub scenario: String,
    /// Content hash of the scenario file.
    pub scenario_hash: String,
    /// Swept key paths, in the file's order.
    pub keys: Vec<String>,
    /// The cells, in plan order.
    pub cells: Vec<CellInfo>,
    /// Policy names, in the sweep's order.
    pub policies: Vec<String>,
    /// The reference policy of the paired differences.
    pub reference: String,
    /// Replications per cell and policy (the first round, under a precision target).
    pub replications: u32,
    /// Precision targets (metric, relative half-width); empty for a fixed count.
    pub precision: Vec<(String, f64)>,
    /// Cap on replications per cell under a precision target.
    pub max_replications: u32,
    /// Configured warm-up, in seconds, of the base scenario.
    pub warmup_s: f64,
    /// The job classes of the base scenario, in the file's order: what charts name their
    /// units after and where they mark deadlines. Absent from manifests of earlier versions.
    #[serde(default)]
    pub classes: Vec<ClassNote>,
}

/// A job class as the charts need it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassNote {
    /// The key under `[classes]`.
    pub name: String,
    /// Its deadline in seconds, if it has one and no swept key changes it.
    pub deadline_s: Option<f64>,
}

/// The expanded sweep: cells with their scenarios, ready to run.
#[derive(Debug)]
pub struct SweepPlan {
    /// The recorded part.
    pub info: PlanInfo,
    /// Each cell's scenario, or why it is invalid (file, key and expectation).
    pub cells: Vec<Result<Scenario, String>>,
    /// The policies, in the sweep's order.
    pub policies: Vec<PlanPolicy>,
}

/// Who decides in a policy's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanPolicy {
    /// A built-in policy: the cell scenario's policy at this index (with its parameters).
    BuiltIn(usize),
    /// A policy from outside the crate (the Python package's), built by the caller's
    /// [`Runner`](crate::sweep::Runner) and known here by its name only.
    Outside,
}

impl SweepPlan {
    /// Expands `file`'s grid; `precision` replaces the file's precision targets when not
    /// empty. An invalid cell does not fail the plan: its runs will record the error.
    ///
    /// `names` lists the policies in order when the caller brings policies of its own (the
    /// names the scenario's policies do not have are [`PlanPolicy::Outside`]); `None`: the
    /// scenario's policies.
    pub fn new(
        file: &SweepFile,
        precision: &[(String, f64)],
        names: Option<&[String]>,
    ) -> SweepPlan {
        let sweep = &file.sweep;
        let policies: Vec<PolicyKind> = file.base.policies.iter().map(|p| p.kind()).collect();
        let names: Vec<String> = match names {
            Some(names) => names.to_vec(),
            None => policies.iter().map(|p| p.name().to_owned()).collect(),
        };
        let chosen: Vec<PlanPolicy> = names
            .iter()
            .map(|n| match policies.iter().position(|p| p.name() == n) {
                Some(i) => PlanPolicy::BuiltIn(i),
                None => PlanPolicy::Outside,
            })
            .collect();
        let reference = sweep
            .reference
            .map(|r| r.name().to_owned())
            .filter(|r| names.contains(r))
            .unwrap_or_else(|| names.first().cloned().unwrap_or_default());
        let precision =
            if precision.is_empty() { sweep.precision.clone() } else { precision.to_vec() };
        let mut replications = file.base.replications;
        if !precision.is_empty() {
            // An interval needs at least two values; three keep the first estimate sane.
            replications = replications.max(3).min(sweep.max_replications());
        }
        let mut infos = Vec::new();
        let mut cells = Vec::new();
        for values in cartesian(&sweep.grid.iter().map(|a| a.values.len()).collect::<Vec<_>>()) {
            let overrides: Vec<Override> = sweep
                .grid
                .iter()
                .zip(&values)
                .map(|(axis, &i)| Override::new(&axis.key, axis.values[i].clone()))
                .collect();
            let texts: Vec<String> =
                sweep.grid.iter().zip(&values).map(|(a, &i)| value_text(&a.values[i])).collect();
            let label = sweep
                .grid
                .iter()
                .zip(&texts)
                .map(|(a, t)| format!("{}={t}", a.key))
                .collect::<Vec<_>>()
                .join(";");
            let scenario = file.cell(&overrides).map_err(|e| e.to_string());
            let seed = scenario.as_ref().map_or(file.base.seed, |s| s.seed);
            if let Ok(s) = &scenario {
                let kinds: Vec<_> = s.policies.iter().map(|p| p.kind()).collect();
                assert_eq!(
                    kinds, policies,
                    "`policies` cannot be swept, so every cell has the base's"
                );
            }
            infos.push(CellInfo { label, values: texts, seed });
            cells.push(scenario);
        }
        let info = PlanInfo {
            scenario: file.base.name.clone(),
            scenario_hash: content_hash(without_schema_directive(file.text()).as_bytes()),
            keys: sweep.grid.iter().map(|a| a.key.clone()).collect(),
            cells: infos,
            policies: names,
            reference,
            replications,
            precision,
            max_replications: sweep.max_replications().max(replications),
            warmup_s: file.base.warmup.as_secs_f64(),
            classes: file
                .base
                .classes
                .iter()
                .map(|class| {
                    let swept = sweep.grid.iter().any(|a| {
                        a.key == "classes"
                            || a.key == format!("classes.{}", class.name)
                            || a.key.starts_with(&format!("classes.{}.deadline", class.name))
                    });
                    ClassNote {
                        name: class.name.clone(),
                        deadline_s: class.deadline.filter(|_| !swept).map(|d| d.as_secs_f64()),
                    }
                })
                .collect(),
        };
        SweepPlan { info, cells, policies: chosen }
    }

    /// Every run of cell `cell` with replications `0..replications`, in plan order.
    pub fn cell_runs(&self, cell: u32, replications: u32) -> impl Iterator<Item = RunKey> + '_ {
        (0..self.policies.len() as u16).flat_map(move |policy| {
            (0..replications).map(move |replication| RunKey { cell, policy, replication })
        })
    }

    /// Every run at a fixed count of replications, in plan order.
    pub fn runs(&self, replications: u32) -> Vec<RunKey> {
        (0..self.cells.len() as u32).flat_map(|c| self.cell_runs(c, replications)).collect()
    }
}

/// A slice of the plan: shard `index` (0-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: u32,
    /// Number of shards, at least 1.
    pub count: u32,
}

impl Shard {
    /// Whether the run at `position` in plan order belongs to this shard. Runs are dealt
    /// round-robin, so shards get equal shares of every cell and policy.
    pub fn owns(&self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }
}

/// Every combination of indices below `sizes`, the first varying slowest.
fn cartesian(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for &size in sizes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..size).map(move |i| {
                    let mut next = prefix.clone();
                    next.push(i);
                    next
                })
            })
            .collect();
    }
    out
}

/// A grid value as it appears in labels and columns: strings without quotes.
fn value_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A scenario's text without its first line when that is a taplo schema directive
/// (`#:schema ...`): editor metadata, which adding or moving does not make the results of
/// another scenario.
pub fn without_schema_directive(text: &str) -> &str {
    match text.strip_prefix("#:schema ") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, after)| after),
        None => text,
    }
}

/// FNV-1a (64-bit) of `bytes`, as `fnv1a64:<hex>`: enough to tell two scenario files apart,
/// with no dependency.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv1a64:{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cartesian_varies_the_first_key_slowest() {
        assert_eq!(
            cartesian(&[2, 3]),
            vec![vec![0, 0], vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 1], vec![1, 2]]
        );
        assert_eq!(cartesian(&[]), vec![Vec::<usize>::new()]);
    }

    #[test]
    fn shards_deal_runs_round_robin() {
        let shards = [
            Shard { index: 0, count: 3 },
            Shard { index: 1, count: 3 },
            Shard { index: 2, count: 3 },
        ];
        for position in 0..30 {
            assert_eq!(shards.iter().filter(|s| s.owns(position)).count(), 1);
        }
        assert_eq!((0..30).filter(|&p| shards[1].owns(p)).count(), 10);
    }

    #[test]
    fn fnv1a_of_known_strings() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(content_hash(b""), "fnv1a64:cbf29ce484222325");
        let text = "duration = 1\n";
        let with = format!("#:schema ../docs/scenario.schema.json\n{text}");
        assert_eq!(without_schema_directive(&with), text);
        assert_eq!(without_schema_directive(text), text);
        assert_eq!(without_schema_directive("# a comment\n"), "# a comment\n");
        assert_eq!(content_hash(b"a"), "fnv1a64:af63dc4c8601ec8c");
    }
}
