//! Scenario files: TOML text -> validated [`Scenario`].
//!
//! This is the only module that reads scenario files. Loading goes text -> `toml::Table`
//! (syntax errors, with line and column) -> `--set` overrides applied to the table -> the
//! serde mirror in `raw.rs` (type errors and unknown keys, with the key path and a
//! suggestion) -> [`Scenario`] via `validate.rs` (ranges and references, naming the field,
//! what was expected and what was found). Later stages take `&Scenario` and never re-check.
//! The validated types are `#[non_exhaustive]`: other crates can read them but only this
//! module can make them, so a `Scenario` in hand is always a valid one.

mod overrides;
mod raw;
mod validate;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

pub use overrides::Override;

use crate::dist::DurationDist;
pub use crate::ids::{ClassId, ServiceId};
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
    /// Job classes, indexed by [`ClassId`], sorted by name.
    pub classes: Vec<JobClass>,
}

/// A named kind of work served by identical replicas.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Service {
    /// The key under `[services]`.
    pub name: String,
    /// Identical workers serving this service (>= 1).
    pub replicas: u32,
    /// Requests one replica executes at once (>= 1).
    pub concurrency: u32,
    /// Requests one replica may hold waiting; one more is rejected at once. `u32::MAX`
    /// stands for unbounded.
    pub queue_capacity: u32,
    /// Work executed per second of time (> 0); execution takes `work / speed`.
    pub speed: f64,
    /// Base work size of one request, in seconds at speed 1.
    pub service_time: DurationDist,
}

/// A kind of job: what it asks for and how it arrives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobClass {
    /// The key under `[classes]`.
    pub name: String,
    /// The service a job of this class is one request to.
    pub service: ServiceId,
    /// How jobs of this class arrive.
    pub arrival: Arrival,
}

/// An arrival process.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Arrival {
    /// Open loop, exponential inter-arrival times with `rate` jobs per second.
    Poisson {
        /// Jobs per second (> 0).
        rate: f64,
    },
}

/// The simulated network between agents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Network {
    /// One-way latency of every message.
    pub latency: DurationDist,
    /// Probability that a message is lost, in `[0, 1]`.
    pub loss: f64,
}

impl Scenario {
    /// The number of replicas over all services.
    pub fn total_replicas(&self) -> u32 {
        self.services.iter().map(|s| s.replicas).sum()
    }

    /// The service with this name.
    pub fn service_id(&self, name: &str) -> Option<ServiceId> {
        self.services
            .iter()
            .position(|s| s.name == name)
            .map(|i| ServiceId(i as u32))
    }
}

/// Why a scenario could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}:{column}: not valid TOML: {message}", .path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A key or value does not fit the scenario schema.
    #[error("{}: {field}: {message}", .path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `services.server.replicas`.
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A `--set` override could not be applied.
    #[error("{}: --set {assignment}: {message}", .path.display())]
    Override {
        /// The file the override applies to.
        path: PathBuf,
        /// The `KEY=VALUE` text as given.
        assignment: String,
        /// What was wrong.
        message: String,
    },
}

impl ScenarioError {
    /// The dotted key path the error is about, when it is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// A validation failure before the file name is attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    fn in_file(self, path: &Path) -> ScenarioError {
        ScenarioError::Field {
            path: path.to_owned(),
            field: self.field,
            message: self.message,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
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
    let text = fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    parse(
        &text,
        path,
        stem.as_deref().unwrap_or("scenario"),
        overrides,
    )
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
    let mut document: toml::Table = text.parse().map_err(|err: toml::de::Error| {
        let (line, column) = err
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        ScenarioError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message: err.message().trim().to_owned(),
        }
    })?;
    for item in overrides {
        item.apply(&mut document)
            .map_err(|message| ScenarioError::Override {
                path: path.to_owned(),
                assignment: item.to_string(),
                message,
            })?;
    }
    let raw: raw::RawScenario = serde_path_to_error::deserialize(toml::Value::Table(document))
        .map_err(|err| {
            let field = err.path().to_string();
            let message = with_suggestion(&err.inner().to_string());
            ScenarioError::Field {
                path: path.to_owned(),
                field,
                message,
            }
        })?;
    validate::scenario(raw, default_name).map_err(|invalid| invalid.in_file(path))
}

/// 1-based line and column of byte offset `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
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
        assert_eq!(
            with_suggestion("missing field `duration`"),
            "missing field `duration`"
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
