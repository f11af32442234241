//! Scenario files: TOML text -> validated [`Scenario`].
//!
//! This is the only module that reads scenario files. Loading goes text -> `toml::Table`
//! (syntax errors, with line and column) -> `--set` overrides applied to the table -> the
//! serde mirror in `raw.rs` (type errors and unknown keys, with the key path and a
//! suggestion) -> [`Scenario`] via `validate.rs` (ranges and references, naming the field,
//! what was expected and what was found). Later stages take `&Scenario` and never re-check.
//! The validated types are `#[non_exhaustive]`: other crates can read them but only this
//! module can make them, so a `Scenario` in hand is always a valid one.
//!
//! The validated types live by section, re-exported here: `service.rs` (services, calls,
//! resilience, working hours), `workload.rs` (workflows, classes, arrivals), `fault.rs`,
//! `network.rs`, `error.rs` (`ScenarioError`), `sweep_file.rs` (a file with a `[sweep]`).

mod control;
mod error;
mod fault;
mod network;
mod overrides;
mod raw;
mod resources;
mod schema;
mod service;
mod sweep;
mod sweep_file;
mod validate;
mod warnings;
mod workload;

use std::fs;
use std::path::{Path, PathBuf};

pub use control::{
    Adaptive, AgentKind, Arms, Autoscaler, Bandit, Budget, Control, ControlAgent, External, Probe,
    RateLimit, Remediator, Remedy, Removal, Reward, ScalingMetric, ScalingRule, ScalingStep,
};
pub(crate) use error::Invalid;
pub use error::ScenarioError;

pub use fault::{Fault, FaultEffect, FaultTiming};
pub use network::{Group, Link, Network};
pub use overrides::Override;
pub use resources::{
    parse_size, size_text, Estimate, Limits, Part, DEFAULT_MAX_EVENTS, DEFAULT_MAX_MEMORY,
};
pub use schema::{scenario_schema, SCHEMA_PATH};
pub use service::{
    Backoff, Breaker, CallStage, Ejection, ExecutionNoise, Hedge, Jitter, ReplicaGroup, Resilience,
    Retries, Service, WorkingHours,
};
pub(crate) use sweep::check_precision;
pub use sweep_file::{load_sweep, load_sweep_with, GridAxis, Sweep, SweepFile};
pub use warnings::Warning;
pub use workload::{Approval, Arrival, ClassSource, JobClass, Process, RateShape, Step, Workflow};

pub use crate::ids::{ClassId, ServiceId, WorkflowId};
use crate::policy::PolicySpec;

use crate::time::SimDuration;

/// A validated scenario: everything a run needs, with defaults applied.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Scenario {
    /// Name used in result files (default: the file stem).
    pub name: String,
    /// Free text from the file.
    pub description: String,
    /// Simulated span of one run, warm-up included.
    pub duration: SimDuration,
    /// Initial span excluded from every figure.
    pub warmup: SimDuration,
    /// Master seed; every random stream derives from it and the replication index.
    pub seed: u64,
    /// Independent replications per policy.
    pub replications: u32,
    /// Front-end agents that receive jobs round-robin and delegate their work.
    pub orchestrators: u32,
    /// The policies to compare, in the order given.
    pub policies: Vec<PolicySpec>,
    /// How messages between agents travel.
    pub network: Network,
    /// Services, indexed by [`ServiceId`], sorted by name.
    pub services: Vec<Service>,
    /// Workflows, indexed by [`WorkflowId`]: the named ones sorted by name, then one
    /// single-step workflow per class declared with `service = ...`.
    pub workflows: Vec<Workflow>,
    /// Job classes, indexed by [`ClassId`], sorted by name.
    pub classes: Vec<JobClass>,
    /// The shared arrival process of classes declared with a `weight`, if any.
    pub shared_arrival: Option<Arrival>,
    /// Injected faults.
    pub faults: Vec<Fault>,
    /// Jobs in the system beyond which arriving jobs are refused at the entry (fail at once).
    pub max_in_flight: Option<u32>,
    /// Windows and impairment, for the cascade figures and the time series.
    pub metrics: MetricsSettings,
    /// Control agents and the monitoring system they read (none by default).
    pub control: Control,
    /// Keys of service durations written as bare numbers (seconds), for the warning that
    /// names one where a service is overloaded (`services.api.service_time.mean`).
    pub(crate) bare_seconds: Vec<String>,
}

/// `[metrics]`: how time is cut into windows and when a service counts as impaired
/// (docs/model.md section 8).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct MetricsSettings {
    /// Length of one window (> 0).
    pub window: SimDuration,
    /// A service is impaired in a window when more than this share of the requests it
    /// finished there failed or missed its SLO; in [0, 1).
    pub impaired_error_ratio: f64,
    /// How long a service stays directly faulted after a fault on it ends.
    pub grace: SimDuration,
    /// Consecutive windows a service must meet its SLO in to count as recovered from a
    /// fault (`time_to_recover_s`); at least 1.
    pub recovery_windows: u32,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            window: SimDuration::from_nanos(1_000_000_000),
            impaired_error_ratio: 0.05,
            grace: SimDuration::from_nanos(2_000_000_000),
            recovery_windows: 3,
        }
    }
}

impl Scenario {
    /// The weights of the classes that share [`Scenario::shared_arrival`], summed.
    pub fn shared_weight(&self) -> f64 {
        self.classes
            .iter()
            .filter_map(|c| match c.source {
                ClassSource::Weight(w) => Some(w),
                ClassSource::Own(_) => None,
            })
            .sum()
    }

    /// The most replicas `service` can ever have: the sum of its groups' capacities.
    /// Replica ids are laid out by capacity, group by group, so replicas that come and go
    /// keep their ids.
    pub fn capacity(&self, service: ServiceId) -> u32 {
        (0..self.services[service.index()].groups.len())
            .map(|g| self.group_capacity(service, g))
            .sum()
    }

    /// The most replicas group `group` of `service` can ever have: those it starts with, plus
    /// the room an autoscaler or external agent that scales it may add (its `max_replicas`
    /// beyond the service's starting count).
    pub fn group_capacity(&self, service: ServiceId, group: usize) -> u32 {
        let spec = &self.services[service.index()];
        let name = &spec.groups[group].name;
        let scaling = self.control.agents.iter().filter(|a| {
            a.services.contains(&service) && (a.groups.is_empty() || a.groups.contains(name))
        });
        let room = scaling
            .filter_map(|a| match &a.kind {
                AgentKind::Autoscaler(s) => Some(s.max_replicas),
                AgentKind::External(e) => Some(e.max_replicas),
                _ => None,
            })
            .map(|max| max.saturating_sub(spec.replicas))
            .max()
            .unwrap_or(0);
        spec.groups[group].replicas + room
    }

    /// Every replica's name, by replica id: `service[i]` for a service without groups,
    /// `service/group[i]` for one with groups (`i` counting within the service, or the
    /// group). Ids are laid out service by service, group by group, by capacity.
    pub fn replica_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (s, service) in self.services.iter().enumerate() {
            let mut index = 0;
            for (g, group) in service.groups.iter().enumerate() {
                if service.grouped {
                    index = 0;
                }
                for _ in 0..self.group_capacity(ServiceId(s as u32), g) {
                    names.push(if service.grouped {
                        format!("{}/{}[{index}]", service.name, group.name)
                    } else {
                        format!("{}[{index}]", service.name)
                    });
                    index += 1;
                }
            }
        }
        names
    }

    /// The name of a crash or slowdown's target: the service, `service/group`, or one
    /// replica (as in [`Scenario::replica_names`], counting the starting replicas).
    pub fn fault_target_name(
        &self,
        service: ServiceId,
        group: Option<u32>,
        replica: Option<u32>,
    ) -> String {
        let spec = &self.services[service.index()];
        let mut name = spec.name.clone();
        let (group, replica) = match (group, replica) {
            (Some(g), r) => (Some(g), r),
            // A replica counted over the service: found in its group, if it has groups.
            (None, Some(mut r)) if spec.grouped => {
                let mut g = 0;
                while r >= spec.groups[g].replicas {
                    r -= spec.groups[g].replicas;
                    g += 1;
                }
                (Some(g as u32), Some(r))
            }
            (None, r) => (None, r),
        };
        if let Some(g) = group {
            name = format!("{name}/{}", spec.groups[g as usize].name);
        }
        match replica {
            Some(r) => format!("{name}[{r}]"),
            None => name,
        }
    }

    /// The number of replicas over all services.
    pub fn total_replicas(&self) -> u32 {
        self.services.iter().map(|s| s.replicas).sum()
    }

    /// The service with this name.
    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services.iter().position(|s| s.name == name).map(|i| ServiceId(i as u32))
    }

    /// The class with this name.
    pub fn class_id(&self, name: &str) -> Option<ClassId> {
        self.classes.iter().position(|c| c.name == name).map(|i| ClassId(i as u32))
    }
}

/// Loads and validates a scenario file.
///
/// # Errors
/// [`ScenarioError`] names the file, the key path and what was expected: a missing or
/// unreadable file, invalid TOML, an unknown key (with the closest known one), a value of the
/// wrong type, or a value out of range.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, &[])
}

/// Loads a scenario file, applies `overrides` to the document, then validates it.
///
/// # Errors
/// As [`load`], plus an override whose key path cannot be set.
pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let text = fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    parse(&text, path, stem.as_deref().unwrap_or("scenario"), overrides)
}

/// Loads a scenario file like [`load_with`], with `agents` (each a table of `[[agents]]`
/// keys, typically `kind = "external"` agents whose decisions come from a driver outside the
/// simulator) added after those the file declares, and added to `[control] active` when the
/// file names the active agents. They are validated like agents written in the file, and an
/// error names them as `agents.<name>.<key>`.
///
/// # Errors
/// As [`load_with`].
pub fn load_with_agents(
    path: &Path,
    overrides: &[Override],
    agents: Vec<toml::Table>,
) -> Result<Scenario, ScenarioError> {
    // The file's own overrides first, so that `--set agents.<name>...` still finds its agent.
    Document::read(path, overrides)?.scenario_with_agents(agents)
}

/// A scenario document as the loader reads it, before validation: the TOML table with the
/// overrides applied, where it came from (a file, or a name such as `<string>` standing in
/// for one in errors) and the scenario name it defaults to. What the Python package keeps of
/// a loaded scenario, so that it can be validated again with agents added, and written back.
#[derive(Clone, Debug)]
pub struct Document {
    table: toml::Table,
    path: PathBuf,
    default_name: String,
}

impl Document {
    /// A scenario file's document with `overrides` applied.
    ///
    /// # Errors
    /// An unreadable file, invalid TOML, or an override that cannot be set.
    pub fn read(path: &Path, overrides: &[Override]) -> Result<Document, ScenarioError> {
        let text = fs::read_to_string(path)
            .map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Document::parse(&text, path, stem.as_deref().unwrap_or("scenario"), overrides)
    }

    /// The document of scenario text that is not a file; `origin` stands in for the file
    /// name in errors (files it names are read relative to the working directory).
    ///
    /// # Errors
    /// Invalid TOML, or an override that cannot be set.
    pub fn from_text(
        text: &str,
        origin: &str,
        default_name: &str,
        overrides: &[Override],
    ) -> Result<Document, ScenarioError> {
        Document::parse(text, Path::new(origin), default_name, overrides)
    }

    /// The document of an already parsed table (a dict built in Python).
    ///
    /// # Errors
    /// An override that cannot be set.
    pub fn from_table(
        mut table: toml::Table,
        origin: &str,
        default_name: &str,
        overrides: &[Override],
    ) -> Result<Document, ScenarioError> {
        apply_overrides(&mut table, Path::new(origin), overrides)?;
        Ok(Document { table, path: PathBuf::from(origin), default_name: default_name.to_owned() })
    }

    fn parse(
        text: &str,
        path: &Path,
        default_name: &str,
        overrides: &[Override],
    ) -> Result<Document, ScenarioError> {
        let mut table = parse_document(text, path)?;
        apply_overrides(&mut table, path, overrides)?;
        Ok(Document { table, path: path.to_owned(), default_name: default_name.to_owned() })
    }

    /// The same document with more `overrides` applied.
    ///
    /// # Errors
    /// An override that cannot be set.
    pub fn with_overrides(&self, overrides: &[Override]) -> Result<Document, ScenarioError> {
        let mut table = self.table.clone();
        apply_overrides(&mut table, &self.path, overrides)?;
        Ok(Document { table, ..self.clone() })
    }

    /// Where it came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The validated scenario.
    ///
    /// # Errors
    /// As [`load`].
    pub fn scenario(&self) -> Result<Scenario, ScenarioError> {
        from_document(self.table.clone(), &self.path, &self.default_name, &[])
    }

    /// The validated scenario with `agents` added, as [`load_with_agents`] adds them.
    ///
    /// # Errors
    /// As [`load_with_agents`].
    pub fn scenario_with_agents(
        &self,
        agents: Vec<toml::Table>,
    ) -> Result<Scenario, ScenarioError> {
        self.with_agents(agents).scenario()
    }

    /// The document with `agents` added as [`Document::scenario_with_agents`] adds them
    /// (not validated yet).
    pub fn with_agents(&self, agents: Vec<toml::Table>) -> Document {
        let mut table = self.table.clone();
        append_agents(&mut table, agents);
        Document { table, ..self.clone() }
    }

    /// The document as TOML text that loads to the same scenario: its overrides written in,
    /// and its name (which a file takes from its stem) written out. Comments and the
    /// order of keys are not kept.
    pub fn to_toml(&self) -> String {
        let mut table = self.table.clone();
        if !table.contains_key("name") {
            table.insert("name".into(), toml::Value::String(self.default_name.clone()));
        }
        toml::to_string(&table).expect("a TOML table is TOML")
    }
}

/// Appends `agents` to the document's `[[agents]]`, and their names to `[control] active`
/// when the document names the active agents.
fn append_agents(document: &mut toml::Table, agents: Vec<toml::Table>) {
    let names: Vec<toml::Value> = agents.iter().filter_map(|a| a.get("name").cloned()).collect();
    let declared = document.entry("agents").or_insert_with(|| toml::Value::Array(Vec::new()));
    if let toml::Value::Array(list) = declared {
        list.extend(agents.into_iter().map(toml::Value::Table));
    }
    if let Some(toml::Value::Table(control)) = document.get_mut("control") {
        if let Some(toml::Value::Array(active)) = control.get_mut("active") {
            active.extend(names);
        }
    }
}

/// A delay written as a TOML value: a duration (`"250ms"`, `"2s"`, or a number of seconds)
/// or a distribution table (`{ dist = "exponential", mean = "5ms" }`), checked as a control
/// agent's `provisioning` is. `field` names the value in the error.
///
/// # Errors
/// A value that is not a non-negative duration or a valid distribution: the message says
/// what was expected.
pub fn parse_delay(value: toml::Value, field: &str) -> Result<crate::dist::DurationDist, String> {
    validate::delay_value(field, value).map_err(|e| e.to_string())
}

/// Validates scenario text that did not come from a file (tests, generated scenarios).
/// `origin` stands in for the file name in errors and is the default scenario name.
///
/// # Errors
/// As [`load_with`].
pub fn from_toml_str(
    text: &str,
    origin: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    parse(text, Path::new(origin), origin, overrides)
}

fn parse(
    text: &str,
    path: &Path,
    default_name: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    from_document(parse_document(text, path)?, path, default_name, overrides)
}

/// Text -> TOML document, with the line and column of a syntax error.
pub(super) fn parse_document(text: &str, path: &Path) -> Result<toml::Table, ScenarioError> {
    text.parse().map_err(|err: toml::de::Error| {
        let (line, column) = err.span().map_or((1, 1), |span| line_column(text, span.start));
        ScenarioError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: err.message().trim().to_owned(),
        }
    })
}

/// `--set` overrides written into a parsed document, in order.
pub(super) fn apply_overrides(
    document: &mut toml::Table,
    path: &Path,
    overrides: &[Override],
) -> Result<(), ScenarioError> {
    for item in overrides {
        item.apply(document).map_err(|message| ScenarioError::Override {
            path: path.to_owned(),
            assignment: item.to_string(),
            message,
        })?;
    }
    Ok(())
}

/// Overrides applied to a parsed document, then the schema and the validation.
pub(super) fn from_document(
    mut document: toml::Table,
    path: &Path,
    default_name: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    apply_overrides(&mut document, path, overrides)?;
    let bare_seconds = bare_service_seconds(&document);
    let raw: raw::RawScenario = deserialize(document, path)?;
    if let Some(section) = &raw.sweep {
        // `run` and `validate` ignore a sweep but still check it.
        sweep::sweep(section).map_err(|invalid| invalid.in_file(path))?;
    }
    // Files a scenario names (traces, empirical samples) are relative to the scenario file.
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut scenario =
        validate::scenario(raw, default_name, base).map_err(|invalid| invalid.in_file(path))?;
    scenario.bare_seconds = bare_seconds;
    Ok(scenario)
}

/// The duration keys of each service's work (`service_time`, `execution_multiplier`,
/// `execution_extra`) written as a bare number, which is seconds: `mean = 10` is 10 s.
fn bare_service_seconds(document: &toml::Table) -> Vec<String> {
    const DURATION_KEYS: [&str; 5] = ["value", "mean", "min", "max", "scale"];
    let Some(toml::Value::Table(services)) = document.get("services") else { return Vec::new() };
    let mut keys = Vec::new();
    for (name, service) in services {
        for part in ["service_time", "execution_extra"] {
            let Some(toml::Value::Table(dist)) = service.get(part) else { continue };
            for key in DURATION_KEYS {
                if matches!(dist.get(key), Some(toml::Value::Integer(_) | toml::Value::Float(_))) {
                    keys.push(format!("services.{name}.{part}.{key}"));
                }
            }
        }
    }
    keys
}

/// The serde mirror of a document, errors naming the key path (with a suggestion).
pub(super) fn deserialize<T: serde::de::DeserializeOwned>(
    document: toml::Table,
    path: &Path,
) -> Result<T, ScenarioError> {
    serde_path_to_error::deserialize(toml::Value::Table(document)).map_err(|err| {
        let field = err.path().to_string();
        // The toml crate appends "in `table`" on a second line: the path says it already.
        let inner = err.inner().to_string();
        let first_line = inner.lines().next().unwrap_or_default();
        let message = with_suggestion(first_line);
        ScenarioError::Field { path: path.to_owned(), field, message }
    })
}

/// 1-based line and column of byte offset `offset` in `text`.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Adds "did you mean `x`?" to serde's unknown-field and unknown-variant messages.
///
/// serde words these as "unknown field `got`, expected one of `a`, `b`" (or "expected `a`");
/// the first back-quoted word is what the user wrote, the others are the valid names.
fn with_suggestion(message: &str) -> String {
    let message = message.trim();
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return message.to_owned();
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    match quoted.split_first() {
        Some((got, known)) => match closest(got, known.iter().copied()) {
            Some(best) => format!("{message}; did you mean `{best}`?"),
            None => message.to_owned(),
        },
        None => message.to_owned(),
    }
}

/// The candidate closest to `got`, if one is close enough to be a plausible typo.
pub(crate) fn closest<'a>(got: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(got, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_closest_known_name() {
        let msg = "unknown field `concurency`, expected one of `replicas`, `concurrency`, `speed`";
        assert!(with_suggestion(msg).ends_with("did you mean `concurrency`?"));
        let far = "unknown field `zzz`, expected one of `replicas`, `speed`";
        assert_eq!(with_suggestion(far), far);
        assert_eq!(with_suggestion("missing field `duration`"), "missing field `duration`");
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
