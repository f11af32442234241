//! `coordsim._coordsim`: the Rust core as a Python extension module. It loads and checks
//! scenarios (errors raised as `ScenarioError` with the file, the key path and what was
//! expected), runs a scenario's policies and replications, and runs sweeps, always through
//! the same library functions the `coordsim` binary calls, so every figure and every file
//! is the binary's byte for byte. Results cross into Python as CSV bytes (the same bytes
//! the binary writes), which `coordsim/__init__.py` turns into pandas DataFrames.
//!
//! Long calls run on a thread of their own with the GIL released; the calling thread wakes
//! every 50 ms to report progress and to let Python raise `KeyboardInterrupt`. On Ctrl-C a
//! sweep starts no further run (the runs already written stay, so `resume=True` completes
//! it) and a `run` discards its results: nothing is half-written in either case.

// PyO3 0.22's macros expand to a `gil-refs` cfg and to `.into()` on a PyErr: not ours.
#![allow(unexpected_cfgs, clippy::useless_conversion)]

use std::path::PathBuf;
use std::time::Duration;

mod agent;
mod errors;
mod policy;
mod run;
mod stepping;
mod sweep;
mod vector;

use coordsim::scenario::{self, Limits, Override, Scenario};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use errors::{scenario_error, PolicyError, ScenarioError};

pub(crate) fn overrides(set: Vec<String>) -> PyResult<Vec<Override>> {
    set.iter().map(|s| s.parse::<Override>().map_err(PyValueError::new_err)).collect()
}

/// The limits a call runs under: `max_memory` bytes (default: COORDSIM_MAX_MEMORY or 8 GiB)
/// and `max_events` (default 1e10), as for the binary.
pub(crate) fn limits(max_memory: Option<f64>, max_events: Option<f64>) -> PyResult<Limits> {
    let max_memory = match max_memory {
        Some(b) => b,
        None => match std::env::var("COORDSIM_MAX_MEMORY") {
            Ok(text) => scenario::parse_size(&text)
                .map_err(|e| PyValueError::new_err(format!("COORDSIM_MAX_MEMORY: {e}")))?,
            Err(_) => scenario::DEFAULT_MAX_MEMORY,
        },
    };
    Ok(Limits { max_memory, max_events: max_events.unwrap_or(scenario::DEFAULT_MAX_EVENTS) })
}

/// What `loads` is called with to unpickle a scenario: its text, no overrides, its name.
type LoadsArguments = (String, Vec<String>, String);

/// A validated scenario.
#[pyclass(module = "coordsim._coordsim", frozen)]
pub(crate) struct LoadedScenario {
    pub(crate) path: PathBuf,
    pub(crate) overrides: Vec<String>,
    pub(crate) inner: Scenario,
    /// The document it was validated from: validated again when agents are added, and
    /// written back by `to_toml`.
    pub(crate) document: scenario::Document,
}

#[pymethods]
impl LoadedScenario {
    /// The scenario's name (the file stem unless the file sets `name`).
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The scenario as TOML text that loads to the same scenario (overrides written in,
    /// the name written out; comments and key order not kept).
    fn to_toml(&self) -> String {
        self.document.to_toml()
    }

    /// The same scenario with more overrides (KEY=VALUE texts) applied, validated again.
    fn with_set(&self, py: Python<'_>, set: Vec<String>) -> PyResult<LoadedScenario> {
        let parsed = overrides(set.clone())?;
        let all = self.overrides.iter().cloned().chain(set).collect();
        loaded(py, &self.path.clone(), all, || self.document.with_overrides(&parsed))
    }

    /// One dict per service, for normalising what agents see: `name`, `replicas` (at the
    /// start), `slots` (at the start, all replicas), `capacity_rps` (requests per second the
    /// starting replicas serve when all are busy: slots x speed / mean work), `slo_s` (None
    /// without an SLO), `calls` (the services it calls).
    fn service_facts<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let s = &self.inner;
        s.services
            .iter()
            .map(|svc| {
                let d = PyDict::new_bound(py);
                d.set_item("name", &svc.name)?;
                d.set_item("replicas", svc.groups.iter().map(|g| g.replicas).sum::<u32>())?;
                d.set_item("slots", svc.slots())?;
                let capacity: f64 = svc
                    .groups
                    .iter()
                    .map(|g| f64::from(g.replicas) * f64::from(g.concurrency) * g.speed)
                    .sum();
                d.set_item("capacity_rps", capacity / svc.mean_work_secs().max(1e-12))?;
                d.set_item("slo_s", svc.slo.map(|t| t.as_secs_f64()))?;
                let calls: Vec<&str> = svc
                    .calls
                    .iter()
                    .flat_map(|stage| stage.services.iter())
                    .map(|&c| s.services[c.index()].name.as_str())
                    .collect();
                d.set_item("calls", calls)?;
                Ok(d)
            })
            .collect()
    }

    /// One dict per active `external` agent the scenario declares: `name`, `services`,
    /// `period_s`, `window_s`, `measurement_delay_s`, `min_replicas`, `max_replicas` and
    /// `arms` (the policies it may choose).
    fn external_agents<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let s = &self.inner;
        let mut out = Vec::new();
        for agent in &s.control.agents {
            let coordsim::scenario::AgentKind::External(e) = &agent.kind else { continue };
            let d = PyDict::new_bound(py);
            d.set_item("name", &agent.name)?;
            let services: Vec<&str> =
                agent.services.iter().map(|&x| s.services[x.index()].name.as_str()).collect();
            d.set_item("services", services)?;
            d.set_item("period_s", agent.period.as_nanos() as f64 / 1e9)?;
            d.set_item("window_s", agent.window.as_nanos() as f64 / 1e9)?;
            d.set_item("measurement_delay_s", agent.measurement_delay.as_nanos() as f64 / 1e9)?;
            d.set_item("min_replicas", e.min_replicas)?;
            d.set_item("max_replicas", e.max_replicas)?;
            let arms: Vec<&str> = e.arms.iter().map(|p| p.kind().name()).collect();
            d.set_item("arms", arms)?;
            out.push(d);
        }
        Ok(out)
    }

    /// The same scenario with agents added (`agents = [...]` TOML text: tables of
    /// `[[agents]]`), after those it declares and to `control.active` if it names the active
    /// agents; validated again.
    fn with_agents(&self, py: Python<'_>, agents_toml: &str) -> PyResult<LoadedScenario> {
        let tables = run::agent_tables(agents_toml)?;
        loaded(py, &self.path.clone(), self.overrides.clone(), || {
            Ok(self.document.with_agents(tables))
        })
    }

    /// Pickles as its TOML text (`to_toml`), loaded again by `loads`: the same scenario,
    /// named as before (data files it names are then read relative to the working
    /// directory).
    fn __reduce__(&self, py: Python<'_>) -> PyResult<(PyObject, LoadsArguments)> {
        let loads = py.import_bound("coordsim._coordsim")?.getattr("loads")?.unbind();
        Ok((loads, (self.document.to_toml(), Vec::new(), self.inner.name.clone())))
    }

    /// The file it was loaded from (`<string>` or `<dict>` for one built in Python).
    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }

    /// The `--set` overrides applied, as KEY=VALUE texts.
    #[getter]
    fn overrides(&self) -> Vec<String> {
        self.overrides.clone()
    }

    /// Simulated seconds of one run, warm-up included.
    #[getter]
    fn duration_s(&self) -> f64 {
        self.inner.duration.as_secs_f64()
    }

    /// Seconds excluded from every figure.
    #[getter]
    fn warmup_s(&self) -> f64 {
        self.inner.warmup.as_secs_f64()
    }

    /// The master seed.
    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Replications per policy.
    #[getter]
    fn replications(&self) -> u32 {
        self.inner.replications
    }

    /// The policies compared, by name.
    #[getter]
    fn policies(&self) -> Vec<String> {
        self.inner.policies.iter().map(|p| p.kind().name().to_owned()).collect()
    }

    /// The services, by name.
    #[getter]
    fn services(&self) -> Vec<String> {
        self.inner.services.iter().map(|s| s.name.clone()).collect()
    }

    /// What the scenario declares but cannot exercise, as (key, message) pairs.
    #[getter]
    fn warnings(&self) -> Vec<(String, String)> {
        self.inner.warnings().into_iter().map(|w| (w.field, w.message)).collect()
    }

    /// The estimated needs of one run under the most demanding policy: a dict with
    /// `bytes`, `events` and `parts` (what, keys, bytes).
    #[getter]
    fn estimate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let e = self.inner.largest_estimate();
        let d = PyDict::new_bound(py);
        d.set_item("bytes", e.bytes())?;
        d.set_item("events", e.events)?;
        let parts: Vec<(String, Vec<String>, f64)> =
            e.parts.iter().map(|p| (p.what.clone(), p.keys.clone(), p.bytes)).collect();
        d.set_item("parts", parts)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "<coordsim scenario {:?} from {}: {} services, policies {}>",
            self.inner.name,
            self.path.display(),
            self.inner.services.len(),
            self.policies().join(", ")
        )
    }
}

/// Loads and validates a scenario file with `set` (KEY=VALUE texts) applied.
#[pyfunction]
#[pyo3(signature = (path, set = Vec::new()))]
fn load(py: Python<'_>, path: PathBuf, set: Vec<String>) -> PyResult<LoadedScenario> {
    let parsed = overrides(set.clone())?;
    loaded(py, &path, set, || scenario::Document::read(&path, &parsed))
}

/// Validates scenario text (`origin`: `<string>`, named in errors) with `set` applied.
#[pyfunction]
#[pyo3(signature = (text, set = Vec::new(), name = None))]
fn loads(
    py: Python<'_>,
    text: &str,
    set: Vec<String>,
    name: Option<String>,
) -> PyResult<LoadedScenario> {
    let parsed = overrides(set.clone())?;
    let name = name.unwrap_or_else(|| "scenario".to_owned());
    let path = PathBuf::from("<string>");
    loaded(py, &path, set, || scenario::Document::from_text(text, "<string>", &name, &parsed))
}

/// Validates a scenario given as JSON text (a Python dict dumped by the package; origin
/// `<dict>`, named in errors) with `set` applied.
#[pyfunction]
#[pyo3(signature = (json, set = Vec::new(), name = None))]
fn load_json(
    py: Python<'_>,
    json: &str,
    set: Vec<String>,
    name: Option<String>,
) -> PyResult<LoadedScenario> {
    let parsed = overrides(set.clone())?;
    let name = name.unwrap_or_else(|| "scenario".to_owned());
    let path = PathBuf::from("<dict>");
    let table = serde_json::from_str::<serde_json::Value>(json)
        .map_err(|e| e.to_string())
        .and_then(|value| toml::Table::try_from(value).map_err(|e| e.to_string()))
        .map_err(|e| PyValueError::new_err(format!("a scenario dict must be TOML-shaped (tables, arrays, strings, numbers, booleans; no None): {e}")))?;
    loaded(py, &path, set, || scenario::Document::from_table(table, "<dict>", &name, &parsed))
}

/// A document made by `document`, validated, as a loaded scenario.
fn loaded(
    py: Python<'_>,
    path: &std::path::Path,
    set: Vec<String>,
    document: impl FnOnce() -> Result<scenario::Document, scenario::ScenarioError> + Send,
) -> PyResult<LoadedScenario> {
    let (document, inner) = py
        .allow_threads(|| {
            let document = document()?;
            let inner = document.scenario()?;
            Ok((document, inner))
        })
        .map_err(|e| scenario_error(py, &e, path))?;
    Ok(LoadedScenario { path: path.to_owned(), overrides: set, inner, document })
}

/// Waits for `work` on its own thread with the GIL released, waking every 50 ms to call
/// `tick` (progress) and to let Python raise on a signal; `on_interrupt` runs then, and
/// when it returns true (it told the work to stop) the work is waited for before raising;
/// otherwise it is left to finish on its own and its result is dropped.
pub(crate) fn wait<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce() -> T + Send + 'static,
    mut tick: impl FnMut(Python<'_>) -> PyResult<()>,
    on_interrupt: impl FnOnce() -> bool,
) -> PyResult<T> {
    let handle = std::thread::spawn(work);
    loop {
        let finished = py.allow_threads(|| {
            for _ in 0..5 {
                if handle.is_finished() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            handle.is_finished()
        });
        // A signal, or an exception raised by the progress callback (a KeyboardInterrupt
        // can surface inside it), stops the work the same way.
        let stop = tick(py).and_then(|()| py.check_signals());
        if let Err(interrupt) = stop {
            if on_interrupt() || finished {
                // Let the work finish what it had started (a sweep's runs in progress),
                // so nothing it writes can race a resume that follows.
                let _ = py.allow_threads(|| handle.join());
            }
            return Err(interrupt);
        }
        if finished {
            return handle.join().map_err(|payload| {
                let why = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "a panic".to_owned());
                PyRuntimeError::new_err(format!("coordsim failed: {why}"))
            });
        }
    }
}

/// The names of the built-in policies.
#[pyfunction]
fn policies() -> Vec<&'static str> {
    coordsim::policy::PolicyKind::ALL.iter().map(|k| k.name()).collect()
}

#[pymodule]
fn _coordsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScenarioError", m.py().get_type_bound::<ScenarioError>())?;
    m.add("PolicyError", m.py().get_type_bound::<PolicyError>())?;
    m.add_class::<LoadedScenario>()?;
    m.add_class::<stepping::Simulation>()?;
    m.add_class::<vector::PlacementVec>()?;
    m.add("PLACEMENT_COLUMNS", stepping::PLACEMENT_COLUMNS.to_vec())?;
    m.add_class::<policy::View>()?;
    m.add_class::<policy::Replica>()?;
    m.add_class::<policy::Task>()?;
    m.add_class::<policy::Outcome>()?;
    m.add_class::<policy::Topology>()?;
    m.add_class::<policy::Stream>()?;
    m.add_class::<agent::Scale>()?;
    m.add_class::<agent::Restart>()?;
    m.add_class::<agent::Eject>()?;
    m.add_class::<agent::Readmit>()?;
    m.add_class::<agent::SetPolicy>()?;
    m.add_class::<agent::Observation>()?;
    m.add_class::<agent::ServiceObservation>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(load_json, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep, m)?)?;
    m.add_class::<sweep::SweepWorker>()?;
    m.add_class::<sweep::SweepWatch>()?;
    m.add_function(wrap_pyfunction!(policies, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
