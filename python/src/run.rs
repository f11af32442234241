//! `coordsim.run`: every policy and replication of a scenario, built-in policies and
//! Python ones side by side, with Python control agents where given; results as the CSV
//! bytes the binary writes.
//!
//! Runs of built-in policies without Python agents go as the binary runs them
//! (`cli::run_all`: in parallel, the GIL released). Runs that call Python (a Python policy,
//! or any run with a Python agent) go one after another on the calling thread, which holds
//! the GIL for the run: through `sim::run_with_policy` or `sim::run_driven`, the library's
//! entry points for policies and agents from outside the crate, so the engine is the same.
//! Records are put back in plan order (policies as listed, then replications), so the files
//! do not depend on which runs went where.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use coordsim::engine::SimRng;
use coordsim::policy::{self, PolicySpec, Topology};
use coordsim::report::{self, AuditedRun, RunRecord};
use coordsim::scenario::Scenario;
use coordsim::sim;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::agent::{AgentChoice, PyDriver};
use crate::errors::{catch_failure, runtime_error, scenario_error, Failure, RunLabel};
use crate::policy::{PolicyChoice, PyPolicy};
use crate::{limits, wait, LoadedScenario};

/// Who decides in a run.
enum Choice {
    BuiltIn(PolicySpec),
    Python(PolicyChoice),
}

impl Choice {
    fn name(&self) -> String {
        match self {
            Choice::BuiltIn(spec) => spec.kind().name().to_owned(),
            Choice::Python(c) => c.name.clone(),
        }
    }
}

/// Runs every policy and replication of `scenario` and returns the CSV files the binary's
/// `run` writes, as bytes by name (`runs`, `faults`, `classes`, `services`, `timeseries`);
/// with `out`, writes them there too (atomically, all or none).
///
/// `policies` lists, in order, built-in names (their parameters from the scenario) and
/// Python policy specs (`name`, `factory`, `wants_outcome`, `wants_membership`,
/// `decision_time`); empty: the scenario's own policies. `agents` are Python control agent
/// specs (`name`, `factory`), declared to the scenario by `agents_toml` (an `agents = [...]`
/// TOML document of external agents).
#[pyfunction]
#[pyo3(signature = (scenario, policies = Vec::new(), agents = Vec::new(), agents_toml = None, jobs = None, out = None, max_memory = None, max_events = None, strict = false, audit = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn run<'py>(
    py: Python<'py>,
    scenario: &LoadedScenario,
    policies: Vec<Bound<'py, PyAny>>,
    agents: Vec<Bound<'py, PyAny>>,
    agents_toml: Option<String>,
    jobs: Option<usize>,
    out: Option<PathBuf>,
    max_memory: Option<f64>,
    max_events: Option<f64>,
    strict: bool,
    audit: Option<usize>,
    progress: Option<PyObject>,
) -> PyResult<Bound<'py, PyDict>> {
    if jobs == Some(0) {
        return Err(PyValueError::new_err("jobs: expected at least 1 (0 would do nothing)"));
    }
    let path = scenario.path.clone();
    let s = match &agents_toml {
        None => scenario.inner.clone(),
        Some(text) => with_agents(py, scenario, text)?,
    };
    let choices = choices(&s, &policies)?;
    let agents: Vec<AgentChoice> =
        agents.iter().map(AgentChoice::from_py).collect::<PyResult<_>>()?;
    let runs = choices.len() * s.replications as usize;
    let progress = Progress { callback: progress, total: runs, done: std::cell::Cell::new(0) };
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    s.check_limits(&path, &limits(max_memory, max_events)?, threads.min(runs))
        .map_err(|e| scenario_error(py, &e, &path))?;
    if strict {
        s.strict(&path).map_err(|e| scenario_error(py, &e, &path))?;
    }
    if let Some(dir) = &out {
        // Before the runs: the results must have somewhere to go.
        report::check_writable(dir).map_err(|e| runtime_error(&e))?;
    }
    let records = if agents.is_empty() && choices.iter().all(|c| matches!(c, Choice::BuiltIn(_))) {
        run_built_in(py, &s, jobs, &progress)?
    } else {
        run_mixed(py, &s, &choices, &agents, jobs, &progress)?
    };
    let mut files = vec![
        ("runs", "csv", report::runs_csv(&records)),
        ("faults", "csv", report::faults_csv(&records)),
        ("classes", "csv", report::classes_csv(&records)),
        ("services", "csv", report::services_csv(&records)),
        ("timeseries", "csv", report::timeseries_csv(&records)),
    ];
    if let Some(limit) = audit {
        let runs = audited(py, &s, &choices, &agents, limit)?;
        files.push(("audit", "jsonl", report::audit_jsonl(&s, &runs)));
    }
    if let Some(dir) = out {
        let paths: Vec<PathBuf> =
            files.iter().map(|(name, ext, _)| dir.join(format!("{name}.{ext}"))).collect();
        let group: Vec<(&Path, &[u8])> =
            paths.iter().zip(&files).map(|(p, (_, _, b))| (p.as_path(), b.as_slice())).collect();
        report::write_all_atomic(&group).map_err(|e| runtime_error(&e))?;
    }
    let d = PyDict::new_bound(py);
    for (name, _, bytes) in &files {
        d.set_item(name, PyBytes::new_bound(py, bytes))?;
    }
    Ok(d)
}

/// The `[[agents]]` tables of an `agents = [...]` declaration.
pub(crate) fn agent_tables(text: &str) -> PyResult<Vec<toml::Table>> {
    let document: toml::Table =
        text.parse().map_err(|e| PyValueError::new_err(format!("the agents' declaration: {e}")))?;
    Ok(match document.get("agents") {
        Some(toml::Value::Array(list)) => list
            .iter()
            .filter_map(|v| match v {
                toml::Value::Table(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// The scenario again, with the Python agents declared as external agents.
fn with_agents(py: Python<'_>, scenario: &LoadedScenario, text: &str) -> PyResult<Scenario> {
    let tables = agent_tables(text)?;
    let path = scenario.path.clone();
    let mut s = py
        .allow_threads(|| scenario.document.scenario_with_agents(tables))
        .map_err(|e| scenario_error(py, &e, &path))?;
    // A seed given to `run` (any u64) is kept as the loaded scenario has it.
    s.seed = scenario.inner.seed;
    Ok(s)
}

/// The runs' policies in order: each name found among the scenario's policies (with its
/// parameters), each Python spec read once.
fn choices(s: &Scenario, policies: &[Bound<'_, PyAny>]) -> PyResult<Vec<Choice>> {
    if policies.is_empty() {
        return Ok(s.policies.iter().map(|&p| Choice::BuiltIn(p)).collect());
    }
    policies
        .iter()
        .map(|p| {
            if let Ok(name) = p.downcast::<PyString>() {
                let name: String = name.extract()?;
                let name = name.as_str();
                s.policies
                    .iter()
                    .find(|spec| spec.kind().name() == name)
                    .map(|&spec| Choice::BuiltIn(spec))
                    .ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "policies: {name:?} is not a policy of the scenario"
                        ))
                    })
            } else {
                PolicyChoice::from_py(p).map(Choice::Python)
            }
        })
        .collect()
}

/// Built-in policies only: the binary's path, off the GIL.
fn run_built_in(
    py: Python<'_>,
    s: &Scenario,
    jobs: Option<usize>,
    progress: &Progress,
) -> PyResult<Vec<RunRecord>> {
    let s = s.clone();
    let done = Arc::new(AtomicUsize::new(0));
    let counter = done.clone();
    let before = progress.done.get();
    let records = wait(
        py,
        move || coordsim::cli::run_all_counted(&s, jobs, &counter).map_err(|e| format!("{e:#}")),
        |py| progress.report(py, before + done.load(Ordering::Relaxed)),
        // A run cannot be stopped midway; it writes nothing, so it is left to end alone.
        || false,
    )?
    .map_err(PyRuntimeError::new_err)?;
    progress.report(py, before + records.len())?;
    Ok(records)
}

/// A caller's `progress(done, total)`, told of finished runs.
struct Progress {
    callback: Option<PyObject>,
    total: usize,
    done: std::cell::Cell<usize>,
}

impl Progress {
    fn report(&self, py: Python<'_>, done: usize) -> PyResult<()> {
        self.done.set(done);
        match &self.callback {
            Some(callback) => callback.call1(py, (done, self.total)).map(|_| ()),
            None => Ok(()),
        }
    }
}

/// Some runs call Python: the built-in runs without agents in parallel first, then the
/// others here, in order; records in plan order.
fn run_mixed(
    py: Python<'_>,
    s: &Scenario,
    choices: &[Choice],
    agents: &[AgentChoice],
    jobs: Option<usize>,
    progress: &Progress,
) -> PyResult<Vec<RunRecord>> {
    let mut records: Vec<Option<RunRecord>> = Vec::new();
    if agents.is_empty() {
        let mut built_in = s.clone();
        built_in.policies = choices
            .iter()
            .filter_map(|c| match c {
                Choice::BuiltIn(spec) => Some(*spec),
                Choice::Python(_) => None,
            })
            .collect();
        let mut done = if built_in.policies.is_empty() {
            Vec::new()
        } else {
            run_built_in(py, &built_in, jobs, progress)?
        }
        .into_iter();
        for c in choices {
            for _ in 0..s.replications {
                records.push(match c {
                    Choice::BuiltIn(_) => Some(done.next().expect("one record per built-in run")),
                    Choice::Python(_) => None,
                });
            }
        }
    } else {
        records.resize_with(choices.len() * s.replications as usize, || None);
    }
    for (i, choice) in choices.iter().enumerate() {
        for replication in 0..s.replications {
            let slot = &mut records[i * s.replications as usize + replication as usize];
            if slot.is_none() {
                *slot = Some(run_one(py, s, choice, agents, replication)?);
                progress.report(py, progress.done.get() + 1)?;
            }
        }
    }
    Ok(records.into_iter().map(|r| r.expect("every run ran")).collect())
}

/// Replication 0 of each policy again, audited (at most `limit` records of each kind), as
/// the binary's `run --audit` does; a Python policy's run names its parameters.
fn audited(
    py: Python<'_>,
    s: &Scenario,
    choices: &[Choice],
    agents: &[AgentChoice],
    limit: usize,
) -> PyResult<Vec<AuditedRun>> {
    choices
        .iter()
        .map(|choice| {
            let label = RunLabel {
                cell: String::new(),
                policy: choice.name(),
                replication: 0,
                seed: s.seed,
            };
            let log = match (choice, agents.is_empty()) {
                (Choice::BuiltIn(spec), true) => sim::run_audited(s, *spec, 0, limit).1,
                _ => {
                    let build = builder(py, s, choice);
                    let mut driver = if agents.is_empty() {
                        None
                    } else {
                        Some(PyDriver::new(py, s, agents, 0)?)
                    };
                    let driver = driver.as_mut().map(|d| d as &mut dyn coordsim::control::Driver);
                    catch_failure(py, &label, || {
                        sim::run_audited_outside(s, build, 0, limit, driver)
                    })?
                    .1
                }
            };
            let parameters = match choice {
                Choice::BuiltIn(_) => None,
                Choice::Python(c) => Some(c.parameters.clone()),
            };
            Ok(AuditedRun { policy: choice.name(), parameters, log })
        })
        .collect()
}

/// How a run builds `choice`'s policy (a Python policy's failure to build leaves the run as
/// a `PolicyError`).
fn builder<'a>(
    py: Python<'a>,
    s: &'a Scenario,
    choice: &'a Choice,
) -> impl FnOnce(&Topology, SimRng) -> Box<dyn policy::Policy> + 'a {
    move |topology: &Topology, rng: SimRng| -> Box<dyn policy::Policy> {
        match choice {
            Choice::BuiltIn(spec) => policy::build(*spec, topology, rng),
            Choice::Python(c) => match PyPolicy::build(py, c, s, topology, rng) {
                Ok(p) => Box::new(p),
                Err(error) => Failure {
                    error,
                    method: "setup",
                    time_s: 0.0,
                    subject: None,
                    who: c.name.clone(),
                }
                .raise(),
            },
        }
    }
}

/// One run that calls Python, on this thread.
fn run_one(
    py: Python<'_>,
    s: &Scenario,
    choice: &Choice,
    agents: &[AgentChoice],
    replication: u32,
) -> PyResult<RunRecord> {
    let label = RunLabel { cell: String::new(), policy: choice.name(), replication, seed: s.seed };
    let build = builder(py, s, choice);
    let summary = if agents.is_empty() {
        catch_failure(py, &label, || sim::run_with_policy(s, build, replication))?
    } else {
        let mut driver = PyDriver::new(py, s, agents, replication)?;
        catch_failure(py, &label, || sim::run_driven(s, build, replication, &mut driver))?
    };
    Ok(RunRecord {
        scenario: s.name.clone(),
        cell: String::new(),
        policy: label.policy,
        replication,
        seed: s.seed,
        summary,
    })
}
