//! The native vector environment's engine (`coordsim.gym.PlacementVecEnv`): many placement
//! runs of one scenario stepped in one call, actions in and observations out as numpy
//! arrays, with the GIL released and the runs spread over the cores (rayon). Each sub-run
//! is a `sim::Simulation` with one service steered, exactly as `coordsim.gym.PlacementEnv`
//! runs it, so its episodes are that environment's, step for step. A sub-run that ended is
//! started again at the next step (the next replication of its seed), the action given for
//! it then ignored: Gymnasium's next-step autoreset.

use coordsim::ids::ServiceId;
use coordsim::policy::PolicySpec;
use coordsim::scenario::Scenario;
use coordsim::sim::{self, Waiting};
use numpy::ndarray::{Array1, Array3};
use numpy::{IntoPyArray, PyArray1, PyArray3, PyReadonlyArray1};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::stepping::{fill_figures, policy_spec, steered_service, PLACEMENT_COLUMNS};
use crate::LoadedScenario;

type Run<'s> = sim::Simulation<'s>;

self_cell::self_cell!(
    /// One sub-environment's scenario (with its seed) and its run.
    struct Episode {
        owner: Box<Scenario>,
        #[not_covariant]
        dependent: Run,
    }
);

/// What every sub-run shares: the scenario, the policy placing the other services, the
/// steered service and its replicas, and the step limit.
struct Setting {
    scenario: Scenario,
    spec: PolicySpec,
    steered: ServiceId,
    rows: usize,
    max_steps: Option<u64>,
}

/// One sub-environment.
struct Sub {
    episode: Option<Episode>,
    seed: u64,
    replication: u32,
    steps: u64,
    /// It ended (terminated or truncated) at the last step: it starts again at the next.
    ended: bool,
}

impl Sub {
    /// Starts its episode (its seed, its replication) and writes its first observation.
    fn start(&mut self, setting: &Setting, cells: &mut [f32]) {
        let mut scenario = setting.scenario.clone();
        scenario.seed = self.seed;
        let (spec, replication, steered) = (setting.spec, self.replication, setting.steered);
        let mut episode = Episode::new(Box::new(scenario), |s| {
            sim::Simulation::steering(s, spec, replication, Some(steered))
        });
        episode.with_dependent_mut(|_, run| {
            run.run_to_placement();
            fill_figures(cells, waiting_placement(run));
        });
        self.episode = Some(episode);
        self.steps = 0;
        self.ended = false;
    }

    /// One step: (reward, terminated, truncated), its next observation written to `cells`.
    fn step(&mut self, setting: &Setting, action: i64, cells: &mut [f32]) -> (f64, bool, bool) {
        if self.ended {
            self.replication += 1;
            self.start(setting, cells);
            return (0.0, false, false);
        }
        let episode = self.episode.as_mut().expect("a started sub-environment");
        let (added, finished) = episode.with_dependent_mut(|_, run| {
            let before = run.job_seconds();
            run.place(usize::try_from(action).ok());
            run.run_to_placement();
            let ask = waiting_placement(run);
            fill_figures(cells, ask);
            (run.job_seconds() - before, ask.is_none())
        });
        self.steps += 1;
        let truncated = !finished && setting.max_steps.is_some_and(|m| self.steps >= m);
        self.ended = finished || truncated;
        (-added, finished, truncated)
    }
}

fn waiting_placement<'a>(run: &'a Run<'_>) -> Option<&'a sim::PlacementAsk> {
    match run.waiting() {
        Some(Waiting::Placement(ask)) => Some(ask),
        _ => None,
    }
}

/// Many placement environments of one scenario, stepped together in Rust.
#[pyclass(module = "coordsim", name = "PlacementVec")]
pub struct PlacementVec {
    setting: Setting,
    subs: Vec<Sub>,
}

/// One sub-environment's step as the parallel loop hands it out: the sub-environment, its
/// observation's cells, where its outcome goes and its action.
type Job<'a> = ((&'a mut Sub, &'a mut [f32]), (&'a mut (f64, bool, bool), &'a i64));

type Stepped<'py> = (
    Bound<'py, PyArray3<f32>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
);

#[pymethods]
impl PlacementVec {
    /// `num_envs` placement environments of `scenario` on `service`, the other services
    /// placed by the built-in `policy` (default: the scenario's first).
    #[new]
    #[pyo3(signature = (scenario, service, num_envs, policy = None, max_steps = None))]
    fn new(
        scenario: &LoadedScenario,
        service: String,
        num_envs: usize,
        policy: Option<String>,
        max_steps: Option<u64>,
    ) -> PyResult<Self> {
        if num_envs == 0 {
            return Err(PyValueError::new_err("num_envs: expected at least 1, found 0"));
        }
        let s = scenario.inner.clone();
        let spec = policy_spec(&s, policy.as_deref())?;
        let steered = steered_service(&s, &service)?;
        let rows = crate::agent::service_ranges(&s)[steered.index()].len();
        let subs = (0..num_envs)
            .map(|i| Sub {
                episode: None,
                seed: s.seed.wrapping_add(i as u64),
                replication: 0,
                steps: 0,
                ended: false,
            })
            .collect();
        Ok(PlacementVec { setting: Setting { scenario: s, spec, steered, rows, max_steps }, subs })
    }

    /// Rows of each observation: the replicas of the steered service.
    #[getter]
    fn rows(&self) -> usize {
        self.setting.rows
    }

    /// Starts every sub-environment, sub-environment `i` with master seed `seeds[i]` and
    /// replication `replication`; returns the first observations, `(num_envs, rows, 7)`.
    #[pyo3(signature = (seeds, replication = 0))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seeds: Vec<u64>,
        replication: u32,
    ) -> PyResult<Bound<'py, PyArray3<f32>>> {
        if seeds.len() != self.subs.len() {
            return Err(PyValueError::new_err(format!(
                "seeds: expected one per sub-environment ({}), found {}",
                self.subs.len(),
                seeds.len()
            )));
        }
        let width = self.setting.rows * PLACEMENT_COLUMNS.len();
        let mut cells = vec![0f32; self.subs.len() * width];
        let setting = &self.setting;
        let subs = &mut self.subs;
        py.allow_threads(|| {
            subs.par_iter_mut().zip(cells.par_chunks_mut(width.max(1))).zip(seeds).for_each(
                |((sub, cells), seed)| {
                    (sub.seed, sub.replication) = (seed, replication);
                    sub.start(setting, cells);
                },
            );
        });
        Ok(self.observations(py, cells))
    }

    /// Steps every sub-environment with its action (the row of the chosen replica; one that
    /// is not a candidate rejects the task): `(observations, rewards, terminated,
    /// truncated)`.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<Stepped<'py>> {
        let actions = actions.as_slice()?.to_vec();
        let n = self.subs.len();
        if actions.len() != n {
            return Err(PyValueError::new_err(format!(
                "actions: expected one per sub-environment ({n}), found {}",
                actions.len()
            )));
        }
        let rows = self.setting.rows;
        if let Some(bad) = actions.iter().find(|&&a| usize::try_from(a).map_or(true, |a| a >= rows))
        {
            return Err(PyValueError::new_err(format!(
                "actions: expected a replica's row in 0..{rows} for every sub-environment, found {bad}"
            )));
        }
        if self.subs.iter().any(|s| s.episode.is_none()) {
            return Err(PyRuntimeError::new_err("step: call reset() first"));
        }
        let width = self.setting.rows * PLACEMENT_COLUMNS.len();
        let mut cells = vec![0f32; n * width];
        let mut outcomes = vec![(0.0, false, false); n];
        let setting = &self.setting;
        let subs = &mut self.subs;
        let work = |((sub, cells), (outcome, action)): Job<'_>| {
            *outcome = sub.step(setting, *action, cells);
        };
        if n == 1 {
            work(((&mut subs[0], &mut cells[..]), (&mut outcomes[0], &actions[0])));
        } else {
            py.allow_threads(|| {
                subs.par_iter_mut()
                    .zip(cells.par_chunks_mut(width.max(1)))
                    .zip(outcomes.par_iter_mut().zip(actions.par_iter()))
                    .for_each(work);
            });
        }
        let rewards: Vec<f64> = outcomes.iter().map(|o| o.0).collect();
        let terminated: Vec<bool> = outcomes.iter().map(|o| o.1).collect();
        let truncated: Vec<bool> = outcomes.iter().map(|o| o.2).collect();
        Ok((
            self.observations(py, cells),
            Array1::from(rewards).into_pyarray_bound(py),
            Array1::from(terminated).into_pyarray_bound(py),
            Array1::from(truncated).into_pyarray_bound(py),
        ))
    }
}

impl PlacementVec {
    fn observations<'py>(&self, py: Python<'py>, cells: Vec<f32>) -> Bound<'py, PyArray3<f32>> {
        Array3::from_shape_vec((self.subs.len(), self.setting.rows, PLACEMENT_COLUMNS.len()), cells)
            .expect("sub-environments x rows x columns cells")
            .into_pyarray_bound(py)
    }
}
