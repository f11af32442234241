//! The package's exceptions and how a failure inside user code leaves a run.
//!
//! `ScenarioError` carries the file, the key path and the message of a scenario the loader
//! refused. `PolicyError` is raised when a Python policy or control agent fails inside a
//! run: an exception it raised (kept as `__cause__`, with its traceback), or an answer that
//! is not one it may give; it names the run (cell, policy, replication, seed), the simulated
//! time and what was being decided.
//!
//! Inside a run, user code is called from deep in the engine's loop, which has no way to
//! fail. A failure there leaves the run by unwinding with a [`Failure`] payload
//! (`std::panic::resume_unwind`, which runs no panic hook and prints nothing); the bridge
//! catches it around the run ([`catch_failure`]) and turns it into the Python exception.
//! Nothing is written by a run that failed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use coordsim::scenario;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

create_exception!(
    coordsim,
    ScenarioError,
    PyException,
    "A scenario that cannot be loaded, validated or run well: `file`, `field` (the dotted key path, or None) and `message` say which and why."
);

create_exception!(
    coordsim,
    PolicyError,
    PyException,
    "A Python policy or control agent failed inside a run: it raised (the exception is `__cause__`, with its traceback) or gave an answer it may not give. `policy`, `cell`, `replication`, `seed` name the run, `time_s` the simulated time, `method` the call (`place`, `act`, ...), and `task` or `observation` what it was deciding on."
);

/// An error and its causes, as one line (`cannot read x.toml: No such file or directory
/// (os error 2)`): each error says what failed, its source why.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A Python `RuntimeError` with an error's whole chain.
pub fn runtime_error(err: &dyn std::error::Error) -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(chain(err))
}

/// A Python `ScenarioError` carrying the file, the key path and the message.
pub fn scenario_error(py: Python<'_>, err: &scenario::ScenarioError, path: &Path) -> PyErr {
    let message = chain(err);
    let e = ScenarioError::new_err(message.clone());
    let value = e.value_bound(py);
    let _ = value.setattr("file", path.display().to_string());
    let _ = value.setattr("field", err.field().map(str::to_owned));
    let _ = value.setattr("message", message);
    e
}

/// Which run user code was deciding for.
#[derive(Clone, Debug)]
pub struct RunLabel {
    pub cell: String,
    pub policy: String,
    pub replication: u32,
    pub seed: u64,
}

/// Why a run stopped inside user code: unwound out of the engine as a panic payload.
pub struct Failure {
    /// What user code raised (or what the bridge found wrong with its answer).
    pub error: PyErr,
    /// The call: `place`, `on_outcome`, `on_membership`, `setup`, `act`.
    pub method: &'static str,
    /// Simulated seconds when it happened.
    pub time_s: f64,
    /// What it was deciding on: the task (a dict) for a policy, the observation for an agent.
    pub subject: Option<PyObject>,
    /// Whose code it was (a policy's or an agent's name).
    pub who: String,
}

impl Failure {
    /// Leaves the run now, carrying this failure to [`catch_failure`].
    pub fn raise(self) -> ! {
        std::panic::resume_unwind(Box::new(self))
    }
}

/// Runs `work` (a simulation that calls user code), turning a [`Failure`] that unwound out
/// of it into a `PolicyError` (a `KeyboardInterrupt` stays itself), and any other panic into
/// a `RuntimeError` naming the run.
pub fn catch_failure<T>(py: Python<'_>, label: &RunLabel, work: impl FnOnce() -> T) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(value) => Ok(value),
        Err(payload) => match payload.downcast::<Failure>() {
            Ok(failure) => Err(policy_error(py, label, *failure)),
            Err(payload) => {
                let why = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".to_owned());
                Err(PyRuntimeError::new_err(format!(
                    "the run of {} replication {} failed: {why}",
                    label.policy, label.replication
                )))
            }
        },
    }
}

fn policy_error(py: Python<'_>, label: &RunLabel, failure: Failure) -> PyErr {
    if failure.error.is_instance_of::<PyKeyboardInterrupt>(py) {
        return failure.error;
    }
    let cell = if label.cell.is_empty() { String::new() } else { format!("cell {}, ", label.cell) };
    let message = format!(
        "{}.{} failed at t = {:.6} s ({cell}policy {}, replication {}, seed {}): {}",
        failure.who,
        failure.method,
        failure.time_s,
        label.policy,
        label.replication,
        label.seed,
        failure.error.value_bound(py)
    );
    let e = PolicyError::new_err(message);
    let value = e.value_bound(py);
    let _ = value.setattr("policy", &label.policy);
    let _ = value.setattr("cell", &label.cell);
    let _ = value.setattr("replication", label.replication);
    let _ = value.setattr("seed", label.seed);
    let _ = value.setattr("time_s", failure.time_s);
    let _ = value.setattr("method", failure.method);
    let _ = value.setattr("agent", &failure.who);
    let (task, observation) = match failure.method {
        "act" => (None, failure.subject),
        _ => (failure.subject, None),
    };
    let _ = value.setattr("task", task);
    let _ = value.setattr("observation", observation);
    e.set_cause(py, Some(failure.error));
    e
}

/// A dict of `(key, value)` pairs, for the subject of a failure.
pub fn dict_of(py: Python<'_>, items: &[(&str, PyObject)]) -> PyObject {
    let d = PyDict::new_bound(py);
    for (k, v) in items {
        let _ = d.set_item(k, v);
    }
    d.into_any().unbind()
}
