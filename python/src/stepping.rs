//! `coordsim.Simulation`: one replication run in steps from Python (`run_until` a time,
//! then on), over the library's `sim::Simulation`, the same event loop as `coordsim.run`:
//! pausing changes nothing. It stops where a decision waits for Python: an `external`
//! agent's (`observe`, then `act`) or a placement on the steered service (`placement`, then
//! `place`; `place_and_run` is the environments' fast path). The simulation borrows its
//! scenario, so the Python object owns both together (`self_cell`: the scenario, and the
//! run that borrows it).

use std::ops::Range;

use coordsim::ids::ServiceId;
use coordsim::policy::{PolicyKind, PolicySpec};
use coordsim::report::{self, RunRecord};
use coordsim::scenario::{AgentKind, Scenario};
use coordsim::sim::{self, PlacementAsk, Waiting};
use coordsim::time::SimTime;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::agent::{actions, observation, service_ranges, Observation};
use crate::LoadedScenario;

/// Columns of a placement's figures, one row per replica of the steered service.
pub const PLACEMENT_COLUMNS: [&str; 7] =
    ["candidate", "running", "queued", "slots", "speed", "work_left_s", "task_work_s"];

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
    /// Each service's replica ids.
    ranges: Vec<Range<u32>>,
    /// Replicas of the steered service (0 when none is).
    steered_replicas: usize,
}

#[pymethods]
impl Simulation {
    /// Replication `replication` of `scenario` under the built-in `policy` (default: the
    /// scenario's first), with the master `seed` (default: the scenario's).
    #[new]
    #[pyo3(signature = (scenario, policy = None, seed = None, replication = 0, steer = None))]
    fn new(
        scenario: &LoadedScenario,
        policy: Option<String>,
        seed: Option<u64>,
        replication: u32,
        steer: Option<String>,
    ) -> PyResult<Self> {
        let mut s = scenario.inner.clone();
        if let Some(seed) = seed {
            s.seed = seed;
        }
        let spec = policy_spec(&s, policy.as_deref())?;
        let steered = steer.as_deref().map(|name| steered_service(&s, name)).transpose()?;
        let (policy, seed, end_s) =
            (spec.kind().name().to_owned(), s.seed, secs(SimTime::ZERO + s.duration));
        let ranges = service_ranges(&s);
        let steered_replicas = steered.map_or(0, |s: ServiceId| ranges[s.index()].len());
        let run =
            Owned::new(Box::new(s), |s| sim::Simulation::steering(s, spec, replication, steered));
        Ok(Simulation {
            run,
            policy,
            replication,
            seed,
            end_s,
            finished: None,
            ranges,
            steered_replicas,
        })
    }

    /// What the run waits for: `"control"` (an external agent: `observe`, then `act`),
    /// `"placement"` (on the steered service: `placement`, then `place`) or None.
    #[getter]
    fn waiting(&self) -> Option<&'static str> {
        self.run.with_dependent(|_, r| match r.waiting() {
            Some(Waiting::Control { .. }) => Some("control"),
            Some(Waiting::Placement(_)) => Some("placement"),
            None => None,
        })
    }

    /// The name of the external agent the run waits for (None if none waits).
    #[getter]
    fn agent(&self) -> Option<String> {
        self.run.with_dependent(|_, r| match r.waiting() {
            Some(Waiting::Control { agent, .. }) => Some(agent.to_owned()),
            _ => None,
        })
    }

    /// What the waiting external agent sees (an `Observation`), or None if none waits.
    fn observe(&self, py: Python<'_>) -> PyResult<Option<Py<Observation>>> {
        self.run.with_dependent(|s, r| match r.waiting() {
            Some(Waiting::Control { ask, .. }) => {
                observation(py, s, r.now(), &ask.observations).map(Some)
            }
            _ => Ok(None),
        })
    }

    /// Answers the waiting external agent with `actions` (a list of `Scale`, `Restart`,
    /// `Eject`, `Readmit`, `SetPolicy`, or None), carried out now; then the run goes on at
    /// the next `run_until`. Scaling is clamped to the agent's bounds.
    fn act(&mut self, actions_given: &Bound<'_, PyAny>) -> PyResult<()> {
        let ranges = &self.ranges;
        self.run.with_dependent_mut(|s, r| {
            let Some(Waiting::Control { ask, .. }) = r.waiting() else {
                return Err(PyRuntimeError::new_err(
                    "act: no external agent waits (run_until stops where one does)",
                ));
            };
            let spec = &s.control.agents[ask.agent as usize];
            let arms: Vec<String> = match &spec.kind {
                AgentKind::External(e) => {
                    e.arms.iter().map(|p| p.kind().name().to_owned()).collect()
                }
                _ => Vec::new(),
            };
            let asked = actions(s, ranges, &spec.services, &arms, actions_given)?;
            r.act(asked);
            Ok(())
        })
    }

    /// The waiting placement on the steered service, or None: `(figures, agent, time_s)`,
    /// with `figures` a float32 array of one row per replica of the service and the columns
    /// `PLACEMENT_COLUMNS`, `agent` the index of the agent placing it.
    fn placement<'py>(&self, py: Python<'py>) -> Option<(Bound<'py, PyArray2<f32>>, u32, f64)> {
        let rows = self.steered_replicas;
        self.run.with_dependent(|_, r| match r.waiting() {
            Some(Waiting::Placement(ask)) => {
                Some((figures(py, rows, Some(ask)), ask.agent.0, secs(ask.at)))
            }
            _ => None,
        })
    }

    /// Answers the waiting placement: the replica at `choice` in its rows, or a rejection
    /// (the task fails) for None or a replica that is not a candidate.
    #[pyo3(signature = (choice))]
    fn place(&mut self, choice: Option<i64>) -> PyResult<()> {
        let choice = choice.and_then(|c| usize::try_from(c).ok());
        self.run.with_dependent_mut(|_, r| {
            if !matches!(r.waiting(), Some(Waiting::Placement(_))) {
                return Err(PyRuntimeError::new_err("place: no placement waits"));
            }
            r.place(choice);
            Ok(())
        })
    }

    /// The placement environments' step: answers the waiting placement with `choice` (a
    /// row of its figures; a row that is not a candidate rejects the task), runs to the next
    /// one (holding any external agent on the way), and returns `(figures, job_seconds,
    /// finished)`: the next placement's figures (zeros once finished), the job-seconds the
    /// step added (jobs in the system times the time it took), and whether the run reached
    /// its end.
    fn place_and_run<'py>(
        &mut self,
        py: Python<'py>,
        choice: i64,
    ) -> PyResult<(Bound<'py, PyArray2<f32>>, f64, bool)> {
        let rows = self.steered_replicas;
        if usize::try_from(choice).map_or(true, |c| c >= rows) {
            return Err(PyValueError::new_err(format!(
                "action: expected a replica's row in 0..{rows}, found {choice}"
            )));
        }
        self.run.with_dependent_mut(|_, r| {
            if !matches!(r.waiting(), Some(Waiting::Placement(_))) {
                return Err(PyRuntimeError::new_err(
                    "step: no placement waits (call reset() first: the episode has ended)",
                ));
            }
            let before = r.job_seconds();
            r.place(usize::try_from(choice).ok());
            let waits = r.run_to_placement();
            let added = r.job_seconds() - before;
            Ok(match r.waiting() {
                Some(Waiting::Placement(ask)) if waits => {
                    (figures(py, rows, Some(ask)), added, false)
                }
                _ => (figures(py, rows, None), added, true),
            })
        })
    }

    /// Runs to the next placement on the steered service (holding any external agent on
    /// the way) and returns it as `placement()` does, or None at the end of the run.
    fn next_placement<'py>(
        &mut self,
        py: Python<'py>,
    ) -> Option<(Bound<'py, PyArray2<f32>>, u32, f64)> {
        self.run.with_dependent_mut(|_, r| r.run_to_placement());
        self.placement(py)
    }

    /// Rows of a placement's figures: the replicas of the steered service (0 if none is).
    #[getter]
    fn placement_rows(&self) -> usize {
        self.steered_replicas
    }

    /// Job-seconds so far: the integral of the jobs in the system over time (every job,
    /// warm-up included), i.e. the time jobs spent in the system.
    #[getter]
    fn job_seconds(&self) -> f64 {
        self.run.with_dependent(|_, r| r.job_seconds())
    }

    /// Jobs in the system now.
    #[getter]
    fn jobs_in_system(&self) -> usize {
        self.run.with_dependent(|_, r| r.jobs_in_system())
    }

    /// The run's figures so far, counted as `runs.csv` counts them (from the end of the
    /// warm-up): `jobs_completed`, `jobs_failed`, `latency_sum_s`, `replica_seconds`,
    /// `cost`, `flaps`, `agent_conflicts`.
    fn so_far<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = self.run.with_dependent(|_, r| r.so_far());
        let d = PyDict::new_bound(py);
        d.set_item("jobs_completed", f.jobs_completed)?;
        d.set_item("jobs_failed", f.jobs_failed)?;
        d.set_item("latency_sum_s", f.latency_sum_s)?;
        d.set_item("replica_seconds", f.replica_seconds)?;
        d.set_item("cost", f.cost)?;
        d.set_item("flaps", f.flaps)?;
        d.set_item("agent_conflicts", f.agent_conflicts)?;
        let by_service = PyDict::new_bound(py);
        self.run.with_dependent(|s, r| -> PyResult<()> {
            let mut groups = r.replica_seconds_by_group().into_iter();
            for svc in &s.services {
                let seconds: f64 = groups.by_ref().take(svc.groups.len()).sum();
                by_service.set_item(&svc.name, seconds)?;
            }
            Ok(())
        })?;
        d.set_item("replica_seconds_by_service", by_service)?;
        Ok(d)
    }

    /// The simulated time it stands at, in seconds.
    #[getter]
    fn now(&self) -> f64 {
        self.run.with_dependent(|_, r| secs(r.now()))
    }

    /// The end of the run (the scenario's `duration`), in seconds.
    #[getter]
    fn end(&self) -> f64 {
        self.end_s
    }

    /// Whether it has reached the end of the run.
    #[getter]
    fn finished(&self) -> bool {
        self.run.with_dependent(|_, r| r.is_finished())
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
        Ok(self.run.with_dependent_mut(|_, r| secs(r.run_until(until))))
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

/// A placement's figures as a `rows x 7` array (`PLACEMENT_COLUMNS`); zeros without one.
fn figures<'py>(
    py: Python<'py>,
    rows: usize,
    ask: Option<&PlacementAsk>,
) -> Bound<'py, PyArray2<f32>> {
    let mut cells = vec![0f32; rows * PLACEMENT_COLUMNS.len()];
    fill_figures(&mut cells, ask);
    Array2::from_shape_vec((rows, PLACEMENT_COLUMNS.len()), cells)
        .expect("rows x columns cells")
        .into_pyarray_bound(py)
}

/// The largest value of a placement's columns (`coordsim.gym.HIGH`): larger ones are
/// clipped, so that observations stay in their space.
const HIGH: f32 = 1e6;

/// Writes a placement's figures into `cells` (a row of `PLACEMENT_COLUMNS` per replica,
/// clipped to `HIGH`); zeros without one.
pub(crate) fn fill_figures(cells: &mut [f32], ask: Option<&PlacementAsk>) {
    let Some(ask) = ask else {
        cells.fill(0.0);
        return;
    };
    let clip = |x: f64| (x as f32).min(HIGH);
    let work = ask.work.map_or(0.0, |w| clip(w.as_secs_f64()));
    for (row, f) in cells.chunks_exact_mut(PLACEMENT_COLUMNS.len()).zip(&ask.replicas) {
        row.copy_from_slice(&[
            f32::from(u8::from(f.candidate)),
            clip(f64::from(f.running)),
            clip(f64::from(f.queued)),
            clip(f64::from(f.slots)),
            clip(f.speed),
            f.work_left.map_or(0.0, |w| clip(w.as_secs_f64())),
            work,
        ]);
    }
}

/// The built-in policy named `name` with the scenario's parameters for it (default: the
/// scenario's first policy).
pub(crate) fn policy_spec(s: &Scenario, name: Option<&str>) -> PyResult<PolicySpec> {
    let Some(name) = name else { return Ok(s.policies[0]) };
    let kind = PolicyKind::ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
        let known: Vec<&str> = PolicyKind::ALL.iter().map(|k| k.name()).collect();
        PyValueError::new_err(format!(
            "policy: unknown built-in policy `{name}`; known: {}",
            known.join(", ")
        ))
    })?;
    Ok(s.policies.iter().copied().find(|p| p.kind() == kind).unwrap_or(kind.default_spec()))
}

/// The service named `name`, whose placements are steered.
pub(crate) fn steered_service(s: &Scenario, name: &str) -> PyResult<ServiceId> {
    s.service_id(name).ok_or_else(|| {
        let known: Vec<&str> = s.services.iter().map(|s| s.name.as_str()).collect();
        PyValueError::new_err(format!(
            "steer: unknown service `{name}`; the scenario's services: {}",
            known.join(", ")
        ))
    })
}

/// Simulated seconds as the nearest float (a division, so whole seconds stay whole).
fn secs(t: SimTime) -> f64 {
    (t - SimTime::ZERO).as_nanos() as f64 / 1e9
}
