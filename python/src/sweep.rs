//! `coordsim.sweep`: a scenario's `[sweep]` run through the library's `sweep::run`, exactly
//! as `coordsim sweep` runs it, or, when Python policies take part, with its runs handed to
//! Python (`runner`), which runs them in worker processes (`concurrent.futures`, a Dask
//! cluster): each worker holds a [`SweepWorker`] that runs one key at a time and writes its
//! run file, and `sweep::run` assembles the files as it always does, so the results do not
//! depend on where or in which order the runs ran.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use coordsim::control::Driver;
use coordsim::engine::SimRng;
use coordsim::policy::{Policy, Topology};
use coordsim::scenario::{self, Scenario, SweepFile};
use coordsim::sweep::plan::{RunKey, SweepPlan};
use coordsim::sweep::{self as library, store, Runner, SweepError, SweepOptions, Watch};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::agent::{AgentChoice, PyDriver};
use crate::errors::{runtime_error, scenario_error};
use crate::policy::{PolicyChoice, PyPolicy};
use crate::run::agent_tables;
use crate::{limits, wait};

/// What the runner of a sweep sees of it: whether to stop, and how many runs are done.
#[pyclass(module = "coordsim", frozen)]
pub struct SweepWatch {
    watch: Arc<Watch>,
}

#[pymethods]
impl SweepWatch {
    /// Whether the sweep was asked to stop (Ctrl-C): start no further run.
    fn cancelled(&self) -> bool {
        self.watch.cancel.load(Ordering::Relaxed)
    }

    /// Counts `n` more runs as done (for the progress shown).
    fn add_done(&self, n: usize) {
        self.watch.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// A Python callable `runner(keys, watch)` that runs keys (as `(cell, policy, replication)`
/// tuples) somewhere and returns when their run files are written or the watch says stop.
#[derive(Debug)]
struct PyRunner {
    callback: PyObject,
    watch: Arc<Watch>,
}

impl Runner for PyRunner {
    fn run(&self, keys: &[RunKey]) -> Result<(), String> {
        let keys: Vec<(u32, u16, u32)> =
            keys.iter().map(|k| (k.cell, k.policy, k.replication)).collect();
        Python::with_gil(|py| {
            let watch =
                Py::new(py, SweepWatch { watch: self.watch.clone() }).map_err(|e| e.to_string())?;
            self.callback.call1(py, (keys, watch)).map(|_| ()).map_err(|e| {
                // The cause a user needs: the exception with its traceback.
                let traceback =
                    e.traceback_bound(py).and_then(|t| t.format().ok()).unwrap_or_default();
                format!("{traceback}{}", e.value_bound(py))
            })
        })
    }
}

/// Runs the `[sweep]` of a scenario file into `out`, exactly as `coordsim sweep` does
/// (resumable, byte-identical at any thread count), calling `progress(done, total)` about
/// every 50 ms when given. With `policies` (names in order, the scenario's built-in ones
/// and others) and `runner`, the runs are handed to `runner(keys, watch)`. Returns
/// `(runs, executed, failed)`.
#[pyfunction]
#[pyo3(signature = (path, out, jobs = None, resume = false, progress = None, max_memory = None, max_events = None, strict = false, policies = None, runner = None, agents_toml = None, set = Vec::new()))]
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    py: Python<'_>,
    path: PathBuf,
    out: PathBuf,
    jobs: Option<usize>,
    resume: bool,
    progress: Option<PyObject>,
    max_memory: Option<f64>,
    max_events: Option<f64>,
    strict: bool,
    policies: Option<Vec<String>>,
    runner: Option<PyObject>,
    agents_toml: Option<String>,
    set: Vec<String>,
) -> PyResult<(usize, usize, usize)> {
    if jobs == Some(0) {
        return Err(PyValueError::new_err("jobs: expected at least 1 (0 would do nothing)"));
    }
    let file = load(py, &path, agents_toml.as_deref(), set)?;
    let watch = Arc::new(Watch::default());
    let out_dir = out.clone();
    let options = SweepOptions {
        out,
        jobs,
        resume,
        shard: None,
        precision: Vec::new(),
        command_line: vec!["python: coordsim.sweep".into(), path.display().to_string()],
        quiet: true,
        limits: limits(max_memory, max_events)?,
        strict,
        watch: Some(watch.clone()),
        policies,
        runner: runner.map(|callback| {
            Arc::new(PyRunner { callback, watch: watch.clone() }) as Arc<dyn Runner>
        }),
    };
    let (ticker, stopper) = (watch.clone(), watch.clone());
    let outcome = wait(
        py,
        move || library::run(&file, &options),
        |py| match &progress {
            Some(callback) => callback
                .call1(
                    py,
                    (ticker.done.load(Ordering::Relaxed), ticker.total.load(Ordering::Relaxed)),
                )
                .map(|_| ()),
            None => Ok(()),
        },
        move || {
            stopper.cancel.store(true, Ordering::Relaxed);
            true
        },
    )?;
    match outcome {
        Ok(o) => {
            if o.assembled.is_some() {
                // The charts `coordsim sweep` draws, from the files just written.
                let dir = out_dir.clone();
                py.allow_threads(|| coordsim::chart::plot_dir(&dir))
                    .map_err(|e| PyRuntimeError::new_err(format!("drawing the charts: {e}")))?;
            }
            Ok((o.total, o.executed, o.failed))
        }
        Err(SweepError::Cell { source, .. }) => Err(scenario_error(py, &source, &path)),
        Err(e) => Err(runtime_error(&e)),
    }
}

/// The sweep file with `set` (KEY=VALUE texts) applied, and the Python agents of
/// `agents_toml` declared in it; its grid keys checked.
fn load(
    py: Python<'_>,
    path: &std::path::Path,
    agents_toml: Option<&str>,
    set: Vec<String>,
) -> PyResult<SweepFile> {
    let tables = agents_toml.map(agent_tables).transpose()?;
    let set = crate::overrides(set)?;
    py.allow_threads(|| {
        let file = scenario::load_sweep_with(path, &set)?;
        let file = match (tables, agents_toml) {
            (Some(tables), Some(text)) => file.with_agents(tables, text)?,
            _ => file,
        };
        file.check_grid()?;
        Ok(file)
    })
    .map_err(|e| scenario_error(py, &e, path))
}

/// One worker's view of a sweep: the plan (every cell's scenario), built once per process,
/// and the runs it is given, one key at a time.
#[pyclass(module = "coordsim", frozen)]
pub struct SweepWorker {
    plan: SweepPlan,
    /// The scenario file, kept for the plan's cells.
    _file: SweepFile,
}

#[pymethods]
impl SweepWorker {
    /// The plan of the sweep of `path` with `set` applied, `policies` (names in order) and
    /// the Python agents of `agents_toml`.
    #[new]
    #[pyo3(signature = (path, policies, agents_toml = None, set = Vec::new()))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        policies: Vec<String>,
        agents_toml: Option<String>,
        set: Vec<String>,
    ) -> PyResult<Self> {
        let file = load(py, &path, agents_toml.as_deref(), set)?;
        let plan = SweepPlan::new(&file, &[], Some(&policies));
        Ok(SweepWorker { plan, _file: file })
    }

    /// Runs `key` (cell, policy, replication) into `out`'s run files; `spec` is the Python
    /// policy of that key (None for a built-in one), `agents` the Python control agents of
    /// every run (declared to the plan by its `agents_toml`). A failure of the policy is the run's
    /// recorded error (with its traceback), as a failing run of the binary's sweep is.
    #[pyo3(signature = (key, out, spec = None, agents = Vec::new()))]
    fn run(
        &self,
        py: Python<'_>,
        key: (u32, u16, u32),
        out: PathBuf,
        spec: Option<Bound<'_, PyAny>>,
        agents: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let key = RunKey { cell: key.0, policy: key.1, replication: key.2 };
        if key.cell as usize >= self.plan.cells.len()
            || key.policy as usize >= self.plan.policies.len()
        {
            return Err(PyValueError::new_err(format!("{key:?} is not a run of the sweep")));
        }
        let choice = spec.as_ref().map(PolicyChoice::from_py).transpose()?;
        let build = |s: &Scenario, topology: &Topology, rng: SimRng| -> Box<dyn Policy> {
            let choice = choice.as_ref().expect("checked by run_key: outside policies have a spec");
            match PyPolicy::build(py, choice, s, topology, rng) {
                Ok(p) => Box::new(p.aborting_with_text()),
                Err(e) => PyPolicy::abort_text(py, &choice.name, "setup", 0.0, &e),
            }
        };
        let agents: Vec<AgentChoice> =
            agents.iter().map(AgentChoice::from_py).collect::<PyResult<_>>()?;
        let drive =
            for_any_scenario(|s, replication| match PyDriver::new(py, s, &agents, replication) {
                Ok(d) => Box::new(d.aborting_with_text()),
                Err(e) => PyPolicy::abort_text(py, "the agents", "setup", 0.0, &e),
            });
        let outside = library::Outside {
            policy: choice.is_some().then_some(&build as library::OutsideBuild<'_>),
            driver: (!agents.is_empty()).then_some(&drive as library::OutsideDriver<'_>),
        };
        let run = library::run_key(&self.plan, key, outside);
        store::write_run(&out, key, &run).map_err(|e| runtime_error(&e))
    }
}

/// `make` as a driver factory for any scenario's lifetime (a closure alone is not inferred
/// to be one).
fn for_any_scenario<F>(make: F) -> F
where
    F: for<'s> Fn(&'s Scenario, u32) -> Box<dyn Driver + 's>,
{
    make
}
