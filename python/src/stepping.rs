//! `coordsim.Simulation`: one replication run in steps from Python (`run_until` a time,
//! then on), over the library's `sim::Simulation`, the same event loop as `coordsim.run`:
//! pausing changes nothing. The simulation borrows its scenario, so the Python object owns
//! both together (`self_cell`: the scenario, and the run that borrows it).

use coordsim::report::{self, RunRecord};
use coordsim::scenario::Scenario;
use coordsim::sim;
use coordsim::time::SimTime;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::LoadedScenario;

type Run<'s> = sim::Simulation<'s>;

self_cell::self_cell!(
    /// A scenario and a run of it.
    struct Owned {
        owner: Box<Scenario>,
        #[not_covariant]
        dependent: Run,
    }
);

/// One replication of a scenario under a built-in policy, run in steps.
#[pyclass(module = "coordsim", name = "Simulation", unsendable)]
pub struct Simulation {
    run: Owned,
    policy: String,
    replication: u32,
    seed: u64,
    end_s: f64,
    /// The run's `runs.csv` (header and row), once finished.
    finished: Option<Vec<u8>>,
}

#[pymethods]
impl Simulation {
    /// Replication `replication` of `scenario` under the built-in `policy` (default: the
    /// scenario's first), with the master `seed` (default: the scenario's).
    #[new]
    #[pyo3(signature = (scenario, policy = None, seed = None, replication = 0))]
    fn new(
        scenario: &LoadedScenario,
        policy: Option<String>,
        seed: Option<u64>,
        replication: u32,
    ) -> PyResult<Self> {
        let mut s = scenario.inner.clone();
        if let Some(seed) = seed {
            s.seed = seed;
        }
        let spec = match &policy {
            None => s.policies[0],
            Some(name) => {
                let kind = coordsim::policy::PolicyKind::ALL
                    .into_iter()
                    .find(|k| k.name() == name)
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            coordsim::policy::PolicyKind::ALL.iter().map(|k| k.name()).collect();
                        PyValueError::new_err(format!(
                            "policy: unknown built-in policy `{name}`; known: {}",
                            known.join(", ")
                        ))
                    })?;
                s.policies.iter().copied().find(|p| p.kind() == kind).unwrap_or(kind.default_spec())
            }
        };
        let (policy, seed, end_s) =
            (spec.kind().name().to_owned(), s.seed, s.duration.as_secs_f64());
        let run = Owned::new(Box::new(s), |s| sim::Simulation::new(s, spec, replication));
        Ok(Simulation { run, policy, replication, seed, end_s, finished: None })
    }

    /// The simulated time it stands at, in seconds.
    #[getter]
    fn now(&self) -> f64 {
        self.run.with_dependent(|_, r| r.now().as_secs_f64())
    }

    /// The end of the run (the scenario's `duration`), in seconds.
    #[getter]
    fn end(&self) -> f64 {
        self.end_s
    }

    /// Whether it has reached the end of the run.
    #[getter]
    fn finished(&self) -> bool {
        self.now() >= self.end()
    }

    /// Processes every event up to `time` seconds (at most the end of the run) and stands
    /// there; returns the time it stands at. A time already passed changes nothing.
    fn run_until(&mut self, time: f64) -> PyResult<f64> {
        if !(time.is_finite() && time >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "time: expected a number of seconds >= 0, found {time}"
            )));
        }
        let until = SimTime::from_nanos((time * 1e9).round().min(u64::MAX as f64) as u64);
        Ok(self.run.with_dependent_mut(|_, r| r.run_until(until).as_secs_f64()))
    }

    /// Runs it to the end (if it is not there) and returns its row of `runs.csv` (with the
    /// header), as bytes: the same as an unstepped run's.
    fn summary<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if self.finished.is_none() {
            let name = self.run.borrow_owner().name.clone();
            let summary = self
                .run
                .with_dependent_mut(|_, r| r.summarise())
                .ok_or_else(|| PyRuntimeError::new_err("the simulation was summarised already"))?;
            let record = RunRecord {
                scenario: name,
                cell: String::new(),
                policy: self.policy.clone(),
                replication: self.replication,
                seed: self.seed,
                summary,
            };
            self.finished = Some(report::runs_csv(&[record]));
        }
        Ok(PyBytes::new_bound(py, self.finished.as_deref().unwrap_or_default()))
    }

    fn __repr__(&self) -> String {
        format!(
            "<coordsim Simulation {} replication {} at t={:.6} s of {:.6} s>",
            self.policy,
            self.replication,
            self.now(),
            self.end()
        )
    }
}
