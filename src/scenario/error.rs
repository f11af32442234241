//! Why a scenario could not be loaded: [`ScenarioError`] names the file, and for a field,
//! its dotted key path and what was expected; `Invalid` is the same before the file is known.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a scenario could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {}", .path.display())]
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
        Invalid { field: field.into(), message: message.into() }
    }

    pub(super) fn in_file(self, path: &Path) -> ScenarioError {
        ScenarioError::Field { path: path.to_owned(), field: self.field, message: self.message }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}
