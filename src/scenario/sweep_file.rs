//! A scenario file with a `[sweep]` section: the validated grid, its cells as overrides of
//! the base document, and the loader that checks the base and every cell.

use std::fs;
use std::path::{Path, PathBuf};

use super::{
    apply_overrides, deserialize, from_document, parse_document, raw, sweep, Invalid, Override,
    Scenario, ScenarioError,
};

/// The `[sweep]` section of a scenario file, validated, with its grid expanded.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Sweep {
    /// The swept keys in the order the file lists them; cells are their Cartesian product
    /// (the first key varies slowest).
    pub grid: Vec<GridAxis>,
    /// Policies to compare (default: the scenario's `policies`).
    pub policies: Option<Vec<crate::policy::PolicyKind>>,
    /// Replications per cell and policy (default: the scenario's `replications`).
    pub replications: Option<u32>,
    /// Reference policy of the paired differences (default: the first policy).
    pub reference: Option<crate::policy::PolicyKind>,
    /// Precision targets: metric column of `runs.csv` and the relative half-width of its 95%
    /// interval that ends a cell's replications.
    pub precision: Vec<(String, f64)>,
    /// Cap on replications per cell when a precision target is set.
    pub max_replications: Option<u32>,
}

impl Sweep {
    /// The cap on replications per cell under a precision target.
    pub fn max_replications(&self) -> u32 {
        self.max_replications.unwrap_or(sweep::DEFAULT_MAX_REPLICATIONS)
    }
}

/// One swept key and its values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GridAxis {
    /// Dotted key path into the scenario document, as for `--set`.
    pub key: String,
    /// The values, in order (ranges expanded).
    pub values: Vec<toml::Value>,
}

/// A scenario file with a `[sweep]` section: the base document (the file without its
/// `[sweep]`) and the validated sweep. Each cell is the base document plus overrides,
/// validated like a file by [`SweepFile::cell`].
#[derive(Clone, Debug)]
pub struct SweepFile {
    path: PathBuf,
    default_name: String,
    text: String,
    document: toml::Table,
    /// The `[sweep]` section.
    pub sweep: Sweep,
    /// The base scenario (no cell override applied), with the sweep's policies and
    /// replications.
    pub base: Scenario,
}

impl SweepFile {
    /// The file as read.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The scenario of one cell: the base document with the sweep's `policies` and
    /// `replications` and then `overrides` applied, validated like a file.
    ///
    /// # Errors
    /// As [`load_with`], naming the file and the key.
    pub fn cell(&self, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        let mut all = sweep_overrides(&self.sweep);
        all.extend_from_slice(overrides);
        from_document(self.document.clone(), &self.path, &self.default_name, &all)
    }
}

impl SweepFile {
    /// Refuses a grid key that is valid in no cell: every cell fails, and fails because of
    /// that key (without its override the cell loads, or fails otherwise), as a misspelt
    /// key or a service that does not exist does. The error names the key and gives the
    /// first cell's error, with the loader's did-you-mean. A key valid in some cells and
    /// not in others passes: those cells' runs record their errors.
    ///
    /// # Errors
    /// [`ScenarioError::Field`] on `sweep.grid."<key>"`.
    pub fn check_grid(&self) -> Result<(), ScenarioError> {
        let grid = &self.sweep.grid;
        let mut at_fault = vec![true; grid.len()];
        let mut first_error: Vec<Option<String>> = vec![None; grid.len()];
        let mut index = vec![0usize; grid.len()];
        if grid.iter().any(|a| a.values.is_empty()) {
            return Ok(());
        }
        loop {
            let overrides: Vec<Override> = grid
                .iter()
                .zip(&index)
                .map(|(axis, &i)| Override::new(&axis.key, axis.values[i].clone()))
                .collect();
            match self.cell(&overrides) {
                Ok(_) => at_fault.fill(false),
                Err(err) => {
                    for (k, fault) in at_fault.iter_mut().enumerate().filter(|(_, f)| **f) {
                        let mut without = overrides.clone();
                        without.remove(k);
                        let blamed = match self.cell(&without) {
                            Ok(_) => true,
                            Err(other) => other.to_string() != err.to_string(),
                        };
                        *fault = blamed;
                        if blamed && first_error[k].is_none() {
                            first_error[k] = Some(match &err {
                                ScenarioError::Field { field, message, .. } => {
                                    format!("{field}: {message}")
                                }
                                other => other.to_string(),
                            });
                        }
                    }
                }
            }
            if !at_fault.iter().any(|&f| f) || !advance(&mut index, grid) {
                break;
            }
        }
        let Some(k) = at_fault.iter().position(|&f| f) else { return Ok(()) };
        let cause = first_error[k].take().unwrap_or_default();
        Err(Invalid::new(
            format!("sweep.grid.\"{}\"", grid[k].key),
            format!("the key is valid in no cell of the grid, so nothing would run: {cause}"),
        )
        .in_file(&self.path))
    }

    /// The same sweep with `agents` (tables of `[[agents]]` keys: the Python package's
    /// external agents) declared after the file's own, as [`super::load_with_agents`] adds
    /// them to a scenario; `declaration` (their text) joins the file's text, so that the
    /// sweep's content hash, and so `--resume`, tells sweeps with other agents apart.
    ///
    /// # Errors
    /// As [`load_sweep`]: an agent that is not valid, named as `agents.<name>.<key>`.
    pub fn with_agents(
        mut self,
        agents: Vec<toml::Table>,
        declaration: &str,
    ) -> Result<SweepFile, ScenarioError> {
        super::append_agents(&mut self.document, agents);
        self.text.push_str("\n# agents added by the caller\n");
        self.text.push_str(declaration);
        self.base = from_document(
            self.document.clone(),
            &self.path,
            &self.default_name,
            &sweep_overrides(&self.sweep),
        )?;
        Ok(self)
    }
}

/// Moves `index` to the next cell of `grid` (the last key fastest); false after the last.
fn advance(index: &mut [usize], grid: &[GridAxis]) -> bool {
    for (i, axis) in index.iter_mut().zip(grid).rev() {
        *i += 1;
        if *i < axis.values.len() {
            return true;
        }
        *i = 0;
    }
    false
}

/// The sweep's `policies` and `replications` as overrides of the base document.
fn sweep_overrides(sweep: &Sweep) -> Vec<Override> {
    let mut all = Vec::new();
    if let Some(policies) = &sweep.policies {
        let names = policies.iter().map(|p| toml::Value::String(p.name().to_owned())).collect();
        all.push(Override::new("policies", toml::Value::Array(names)));
    }
    if let Some(replications) = sweep.replications {
        all.push(Override::new("replications", toml::Value::Integer(i64::from(replications))));
    }
    all
}

/// Loads a scenario file with a `[sweep]` section.
///
/// # Errors
/// As [`load`]; also a file without a `[sweep]` section, a malformed grid, range or
/// precision target, or a reference policy that is not compared.
pub fn load_sweep(path: &Path) -> Result<SweepFile, ScenarioError> {
    load_sweep_with(path, &[])
}

/// As [`load_sweep`], with `--set` overrides written into the document first (the sweep's
/// own keys included): the grid then varies the overridden scenario. The overrides join the
/// file's text, so that the sweep's content hash, and so `--resume`, tells them apart.
///
/// # Errors
/// As [`load_sweep`]; also an override that cannot be applied.
pub fn load_sweep_with(path: &Path, overrides: &[Override]) -> Result<SweepFile, ScenarioError> {
    let mut text = fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
    let default_name = path
        .file_stem()
        .map_or_else(|| "scenario".to_owned(), |s| s.to_string_lossy().into_owned());
    let mut document = parse_document(&text, path)?;
    if !overrides.is_empty() {
        apply_overrides(&mut document, path, overrides)?;
        text.push_str("\n# overrides given with --set\n");
        for o in overrides {
            text.push_str(&format!("# {o}\n"));
        }
    }
    // The whole file first, so every key (the sweep's included) is checked as usual.
    let raw: raw::RawScenario = deserialize(document.clone(), path)?;
    let in_file = |invalid: Invalid| invalid.in_file(path);
    let Some(raw_sweep) = raw.sweep else {
        return Err(in_file(Invalid::new(
            "sweep",
            "no [sweep] section: `coordsim sweep` needs one (see docs/scenarios.md)",
        )));
    };
    let mut sweep = sweep::sweep(&raw_sweep).map_err(in_file)?;
    // Cells vary the first listed key slowest: restore the file's key order, which the
    // document's sorted tables lose.
    let order = grid_key_order(&text);
    sweep.grid.sort_by_key(|axis| order.iter().position(|k| *k == axis.key));
    document.remove("sweep");
    let base = from_document(document.clone(), path, &default_name, &sweep_overrides(&sweep))?;
    let file = SweepFile { path: path.to_owned(), default_name, text, document, sweep, base };
    if let Some(reference) = file.sweep.reference {
        if !file.base.policies.iter().any(|p| p.kind() == reference) {
            let compared: Vec<_> = file.base.policies.iter().map(|p| p.kind().name()).collect();
            return Err(in_file(Invalid::new(
                "sweep.reference",
                format!(
                    "`{}` is not one of the compared policies ({})",
                    reference.name(),
                    compared.join(", ")
                ),
            )));
        }
    }
    Ok(file)
}

/// The keys of `[sweep.grid]` in the order the text lists them (empty if the text has none).
fn grid_key_order(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else { return Vec::new() };
    doc.get("sweep")
        .and_then(|s| s.get("grid"))
        .and_then(|g| g.as_table_like())
        .map(|t| t.iter().map(|(k, _)| k.to_owned()).collect())
        .unwrap_or_default()
}
