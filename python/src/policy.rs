//! Placement policies written in Python: [`PyPolicy`] is a `coordsim::policy::Policy` that
//! holds the user's object and asks it, so the world places a task exactly where it would
//! ask a built-in policy and carries the answer out with the same mechanics.
//!
//! What crosses, and what it costs: one `View` object per run, refilled in Rust before each
//! call (its lists and numpy arrays are built only when the policy reads them, and the
//! candidate list once per decision); one small `Task` object per decision; the method
//! names looked up once per run. The run holds the GIL throughout (every decision needs it,
//! so taking it per call would cost more than it frees), and checks for Ctrl-C every few
//! thousand decisions.
//!
//! A policy that declares a `decision_time` thinks: its answer is held for a delay drawn
//! from its own stream and then committed as a deferred placement (the task waits, as it
//! waits for `central`'s reply), which `placement_wait_mean_ms` counts.

use std::collections::BTreeMap;
use std::fmt;

use coordsim::dist::DurationDist;
use coordsim::engine::SimRng;
use coordsim::ids::{ClassId, ReplicaId};
use coordsim::policy::{
    Decision, Outcome as RustOutcome, Outstanding, Policy, PolicyView, Task as RustTask,
    TaskDetails, Ticket, Topology as RustTopology,
};
use coordsim::scenario::Scenario;
use numpy::PyArray1;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use rand::{Rng, RngCore};

use crate::errors::{dict_of, Failure};

/// How often (in decisions) a run with a Python policy lets Python handle a signal.
const SIGNAL_CHECK_EVERY: u64 = 4096;

/// The replicas a policy may choose for a task, with each one's observable figures; reused
/// for every decision of a run (read it during the call; it changes at the next one).
#[pyclass(module = "coordsim", name = "View")]
pub struct View {
    now: f64,
    service: Option<Py<PyString>>,
    ids: Vec<u32>,
    queue: Vec<u32>,
    busy: Vec<u32>,
    slots: Vec<u32>,
    outstanding: Vec<u32>,
    up: Vec<bool>,
    ejected: Vec<bool>,
    speed: Vec<f64>,
    /// Seconds to finish what each candidate holds (NaN where sizes are not known).
    work_left: Vec<f64>,
    /// `candidates` as a list, built at its first read in a decision.
    candidates: Option<Py<PyList>>,
}

#[pymethods]
impl View {
    /// Simulated seconds now.
    #[getter]
    fn now(&self) -> f64 {
        self.now
    }

    /// The service whose replicas these are.
    #[getter]
    fn service(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.service.as_ref().map(|s| s.clone_ref(py))
    }

    /// The replica ids the task may go to (its service's members, in id order), as a list.
    #[getter]
    fn candidates(&mut self, py: Python<'_>) -> Py<PyList> {
        if let Some(list) = &self.candidates {
            return list.clone_ref(py);
        }
        let list = PyList::new_bound(py, &self.ids).unbind();
        self.candidates = Some(list.clone_ref(py));
        list
    }

    /// The candidates' ids as an array (aligned with every other array of the view).
    #[getter]
    fn ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        PyArray1::from_slice_bound(py, &self.ids)
    }

    /// Requests waiting in each candidate's queue now (an idealised probe: `power_of_d`'s).
    #[getter]
    fn queue_lengths<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        PyArray1::from_slice_bound(py, &self.queue)
    }

    /// Requests each candidate is executing now (busy slots; an idealised probe).
    #[getter]
    fn busy<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        PyArray1::from_slice_bound(py, &self.busy)
    }

    /// Each candidate's concurrency slots (its configuration).
    #[getter]
    fn concurrency<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        PyArray1::from_slice_bound(py, &self.slots)
    }

    /// Requests the deciding agent sent to each candidate and has not heard back from (what
    /// the agent itself knows: `least_outstanding`'s view).
    #[getter]
    fn outstanding<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        PyArray1::from_slice_bound(py, &self.outstanding)
    }

    /// Whether each candidate would answer a probe (not crashed): as `power_of_d` knows it.
    #[getter]
    fn up<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_slice_bound(py, &self.up)
    }

    /// Whether the deciding agent has ejected each candidate (outlier ejection): skip those
    /// unless all are.
    #[getter]
    fn ejected<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        PyArray1::from_slice_bound(py, &self.ejected)
    }

    /// Each candidate's nominal speed (work per second of service time).
    #[getter]
    fn speed<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice_bound(py, &self.speed)
    }

    /// Seconds each candidate needs to finish what it holds (its queue's work at its speed
    /// and the rest of what it runs), for a policy with `wants_sizes` on a service whose
    /// sizes are known; NaN otherwise.
    #[getter]
    fn work_left<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice_bound(py, &self.work_left)
    }

    /// The candidates as objects, one per replica, with the same figures as the arrays.
    #[getter]
    fn replicas(&self, py: Python<'_>) -> PyResult<Vec<Py<Replica>>> {
        (0..self.ids.len())
            .map(|i| {
                Py::new(
                    py,
                    Replica {
                        id: self.ids[i],
                        queue_length: self.queue[i],
                        busy: self.busy[i],
                        concurrency: self.slots[i],
                        outstanding: self.outstanding[i],
                        up: self.up[i],
                        ejected: self.ejected[i],
                        speed: self.speed[i],
                    },
                )
            })
            .collect()
    }

    fn __len__(&self) -> usize {
        self.ids.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<coordsim View at t={:.6} s: {} candidates {:?}>",
            self.now,
            self.ids.len(),
            self.ids
        )
    }
}

impl View {
    fn new() -> Self {
        View {
            now: 0.0,
            service: None,
            ids: Vec::new(),
            queue: Vec::new(),
            busy: Vec::new(),
            slots: Vec::new(),
            outstanding: Vec::new(),
            up: Vec::new(),
            ejected: Vec::new(),
            speed: Vec::new(),
            work_left: Vec::new(),
            candidates: None,
        }
    }
}

/// One candidate replica and its figures (see `View` for what each means).
#[pyclass(module = "coordsim", name = "Replica", frozen, get_all)]
pub struct Replica {
    id: u32,
    queue_length: u32,
    busy: u32,
    concurrency: u32,
    outstanding: u32,
    up: bool,
    ejected: bool,
    speed: f64,
}

#[pymethods]
impl Replica {
    fn __repr__(&self) -> String {
        format!(
            "Replica(id={}, queue_length={}, busy={}, concurrency={}, outstanding={}, up={}, ejected={}, speed={})",
            self.id,
            self.queue_length,
            self.busy,
            self.concurrency,
            self.outstanding,
            self.up,
            self.ejected,
            self.speed
        )
    }
}

/// A unit of work to place.
#[pyclass(module = "coordsim", name = "Task", frozen, get_all)]
pub struct Task {
    /// The service that must execute it.
    service: Py<PyString>,
    /// Its index among the scenario's services.
    service_id: u32,
    /// The job class of its job (None for a control agent's escalation to a person).
    job_class: Option<Py<PyString>>,
    /// The deciding agent: an orchestrator (0 .. orchestrators) or a replica's worker.
    agent: u32,
    /// Attempts of this unit placed before this one (0: the first).
    attempt: u32,
    /// Simulated seconds when its job's deadline passes (None: no deadline).
    deadline: Option<f64>,
    /// Its work in seconds at speed 1, for a policy with `wants_sizes` on a service whose
    /// sizes are known (None otherwise).
    work: Option<f64>,
}

#[pymethods]
impl Task {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Task(service={:?}, job_class={:?}, agent={}, attempt={}, deadline={:?}, work={:?})",
            self.service.bind(py).to_string(),
            self.job_class.as_ref().map(|c| c.bind(py).to_string()),
            self.agent,
            self.attempt,
            self.deadline,
            self.work
        )
    }
}

/// The result of a task the policy placed, as its deciding agent hears it.
#[pyclass(module = "coordsim", name = "Outcome", frozen, get_all)]
pub struct Outcome {
    /// The agent that placed it.
    agent: u32,
    /// Where it was placed.
    replica: u32,
    /// Whether the replica executed it (False: refused, by a full queue or a draining one).
    succeeded: bool,
    /// Seconds from placement to the result's arrival at the agent.
    latency: f64,
}

#[pymethods]
impl Outcome {
    fn __repr__(&self) -> String {
        format!(
            "Outcome(agent={}, replica={}, succeeded={}, latency={})",
            self.agent,
            self.replica,
            if self.succeeded { "True" } else { "False" },
            self.latency
        )
    }
}

/// The shape of the world a policy runs in, given to `setup` once per run.
#[pyclass(module = "coordsim", name = "Topology", frozen, get_all)]
pub struct Topology {
    /// Service names, by index.
    services: Vec<String>,
    /// Every replica id a service may ever have (those it starts with, then room for what
    /// control agents may add), by service name.
    replicas: Py<PyDict>,
    /// Agents that may place tasks: orchestrators first, then one worker per replica.
    agents: u32,
    /// Orchestrators (agents 0 .. orchestrators).
    orchestrators: u32,
    /// Each replica's concurrency slots, by replica id.
    concurrency: Py<PyArray1<u32>>,
    /// Each replica's nominal speed, by replica id.
    speed: Py<PyArray1<f64>>,
    /// Each replica's service index, by replica id.
    service_of: Py<PyArray1<u32>>,
}

impl Topology {
    fn new(py: Python<'_>, scenario: &Scenario, t: &RustTopology) -> PyResult<Self> {
        let replicas = PyDict::new_bound(py);
        let mut service_of = vec![0u32; t.total_replicas() as usize];
        for (i, (range, service)) in t.service_replicas.iter().zip(&scenario.services).enumerate() {
            replicas.set_item(&service.name, range.clone().collect::<Vec<u32>>())?;
            for r in range.clone() {
                service_of[r as usize] = i as u32;
            }
        }
        Ok(Topology {
            services: scenario.services.iter().map(|s| s.name.clone()).collect(),
            replicas: replicas.unbind(),
            agents: t.agents,
            orchestrators: t.orchestrators,
            concurrency: PyArray1::from_slice_bound(py, &t.slots).unbind(),
            speed: PyArray1::from_slice_bound(py, &t.speeds).unbind(),
            service_of: PyArray1::from_slice_bound(py, &service_of).unbind(),
        })
    }
}

#[pymethods]
impl Topology {
    fn __repr__(&self) -> String {
        format!(
            "<coordsim Topology: services {:?}, {} agents ({} orchestrators)>",
            self.services, self.agents, self.orchestrators
        )
    }
}

/// The policy's own random stream (the one a built-in policy of the same run would draw
/// from), for re-implementing a built-in policy's draws exactly; `rng` is for everything
/// else.
#[pyclass(module = "coordsim", name = "Stream")]
pub struct Stream {
    rng: SimRng,
}

#[pymethods]
impl Stream {
    /// A uniform integer in `[0, n)` (`n` a 32-bit count), drawn as the built-in policies
    /// draw their tie-breaks and random choices.
    fn below(&mut self, n: u32) -> PyResult<u32> {
        if n == 0 {
            return Err(PyValueError::new_err("below(n): n must be at least 1"));
        }
        Ok(self.rng.random_range(0..n))
    }

    /// A uniform float in `[0, 1)`.
    fn random(&mut self) -> f64 {
        self.rng.random()
    }
}

/// A Python policy as a run needs it: its name, how to make a fresh instance, and what it
/// defines.
pub struct PolicyChoice {
    pub name: String,
    /// Called with no argument, returns a fresh instance for one run.
    pub factory: PyObject,
    pub wants_outcome: bool,
    pub wants_membership: bool,
    /// Its class sets `wants_sizes`: it is told tasks' work and candidates' work left.
    pub wants_sizes: bool,
    pub decision_time: Option<DurationDist>,
    /// Its `params()`, for the audit log (with its `decision_time`, if any).
    pub parameters: Vec<(String, serde_json::Value)>,
}

impl PolicyChoice {
    pub fn from_py(spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        let decision_time = match spec.getattr("decision_time")?.extract::<Option<String>>()? {
            None => None,
            Some(text) => {
                let value: toml::Table = format!("v = {text}")
                    .parse()
                    .map_err(|e| PyValueError::new_err(format!("decision_time: {e}")))?;
                let value = value.get("v").cloned().expect("written above");
                let dist = coordsim::scenario::parse_delay(value, "decision_time")
                    .map_err(PyValueError::new_err)?;
                (!dist.is_always_zero()).then_some(dist)
            }
        };
        let parameters: String = spec.getattr("params_json")?.extract()?;
        let parameters: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&parameters)
                .map_err(|e| PyValueError::new_err(format!("the policy's params(): {e}")))?;
        Ok(PolicyChoice {
            name: spec.getattr("name")?.extract()?,
            factory: spec.getattr("factory")?.unbind(),
            wants_outcome: spec.getattr("wants_outcome")?.extract()?,
            wants_membership: spec.getattr("wants_membership")?.extract()?,
            wants_sizes: spec.getattr("wants_sizes")?.extract()?,
            decision_time,
            parameters: parameters.into_iter().collect(),
        })
    }
}

/// A placement decided and waiting out the policy's decision time.
#[derive(Clone, Copy, Debug)]
struct Thought {
    ticket: Ticket,
    replica: Option<ReplicaId>,
    /// The deciding agent, whose count of requests in flight the placement raised.
    agent: coordsim::ids::AgentId,
}

/// A Python policy in the engine.
pub struct PyPolicy {
    name: String,
    place: PyObject,
    on_outcome: Option<PyObject>,
    on_membership: Option<PyObject>,
    view: Py<View>,
    outstanding: Outstanding,
    wants_sizes: bool,
    speeds: Vec<f64>,
    /// Each replica's service index.
    replica_service: Vec<u32>,
    service_names: Vec<Py<PyString>>,
    class_names: Vec<Py<PyString>>,
    thinking: Option<(DurationDist, SimRng)>,
    thoughts: BTreeMap<u64, Thought>,
    next_thought: u64,
    decisions: u64,
    /// A failure leaves the run as text (a sweep's recorded error) rather than as a
    /// `PolicyError` for the caller.
    text_failures: bool,
}

impl fmt::Debug for PyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PyPolicy({})", self.name)
    }
}

/// A `numpy.random.Generator` seeded with `seed` (or `random.Random` without numpy).
pub fn python_rng(py: Python<'_>, seed: u128) -> PyResult<PyObject> {
    match py.import_bound("numpy.random") {
        Ok(np) => Ok(np.call_method1("default_rng", (seed,))?.unbind()),
        Err(_) => Ok(py.import_bound("random")?.call_method1("Random", (seed,))?.unbind()),
    }
}

/// 128 bits from `rng`.
pub fn seed_from(rng: &mut SimRng) -> u128 {
    (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
}

impl PyPolicy {
    /// A fresh instance of `choice` for one run, given its `rng` and `stream`, after its
    /// `setup(topology)`. The policy stream `rng` (ChaCha stream `(6, 0)`) becomes its
    /// `stream`; stream `(6, 1)` under the same key seeds its `rng`, and `(6, 2)` draws its
    /// decision times, so none of the three shifts another.
    pub fn build(
        py: Python<'_>,
        choice: &PolicyChoice,
        scenario: &Scenario,
        topology: &RustTopology,
        rng: SimRng,
    ) -> PyResult<Self> {
        let obj = choice.factory.call0(py)?;
        let bound = obj.bind(py);
        let mut seeder = rng.clone();
        seeder.set_stream(rng.get_stream() + 1);
        let mut thinker = rng.clone();
        thinker.set_stream(rng.get_stream() + 2);
        bound.setattr(intern!(py, "rng"), python_rng(py, seed_from(&mut seeder))?)?;
        bound.setattr(intern!(py, "stream"), Py::new(py, Stream { rng })?)?;
        let setup = bound.getattr(intern!(py, "setup"))?;
        setup.call1((Py::new(py, Topology::new(py, scenario, topology)?)?,))?;
        let method = |name: &Bound<'_, PyString>, wanted: bool| -> PyResult<Option<PyObject>> {
            Ok(if wanted { Some(bound.getattr(name)?.unbind()) } else { None })
        };
        Ok(PyPolicy {
            name: choice.name.clone(),
            place: bound.getattr(intern!(py, "place"))?.unbind(),
            on_outcome: method(intern!(py, "on_outcome"), choice.wants_outcome)?,
            on_membership: method(intern!(py, "on_membership"), choice.wants_membership)?,
            view: Py::new(py, View::new())?,
            outstanding: Outstanding::new(topology),
            wants_sizes: choice.wants_sizes,
            speeds: topology.speeds.clone(),
            replica_service: topology
                .service_replicas
                .iter()
                .enumerate()
                .flat_map(|(i, range)| range.clone().map(move |_| i as u32))
                .collect(),
            service_names: scenario
                .services
                .iter()
                .map(|s| PyString::intern_bound(py, &s.name).unbind())
                .collect(),
            class_names: scenario
                .classes
                .iter()
                .map(|c| PyString::intern_bound(py, &c.name).unbind())
                .collect(),
            thinking: choice.decision_time.clone().map(|d| (d, thinker)),
            thoughts: BTreeMap::new(),
            next_thought: 0,
            decisions: 0,
            text_failures: false,
        })
    }

    /// Refills the view with `service`'s members as `agent` sees them.
    fn fill(&self, py: Python<'_>, view: &PolicyView<'_>, service: usize, agent: u32) {
        let mut v = self.view.borrow_mut(py);
        v.now = secs(view.now());
        v.service = Some(self.service_names[service].clone_ref(py));
        v.candidates = None;
        v.ids.clear();
        v.queue.clear();
        v.busy.clear();
        v.slots.clear();
        v.outstanding.clear();
        v.up.clear();
        v.ejected.clear();
        v.speed.clear();
        v.work_left.clear();
        let own = self.outstanding.of(coordsim::ids::AgentId(agent));
        for &r in view.replicas_of(coordsim::ids::ServiceId(service as u32)) {
            let load = view.load(r);
            v.ids.push(r.0);
            v.queue.push(load.queued);
            v.busy.push(load.running);
            v.slots.push(load.slots);
            v.outstanding.push(own[r.index()]);
            v.up.push(view.answers_probes(r));
            v.ejected.push(view.is_excluded(r));
            v.speed.push(self.speeds[r.index()]);
            v.work_left.push(view.work_left(r).map_or(f64::NAN, |w| w.as_nanos() as f64 / 1e9));
        }
    }

    /// The name of the task's job class (None for an escalation to a person).
    fn class_name(&self, py: Python<'_>, details: Option<TaskDetails>) -> Option<Py<PyString>> {
        let class = details?.class;
        (class != ClassId::ESCALATION).then(|| self.class_names[class.index()].clone_ref(py))
    }

    fn task_object(
        &self,
        py: Python<'_>,
        task: &RustTask,
        details: Option<TaskDetails>,
        work: Option<coordsim::time::SimDuration>,
    ) -> PyResult<Py<Task>> {
        Py::new(
            py,
            Task {
                service: self.service_names[task.service.index()].clone_ref(py),
                service_id: task.service.0,
                job_class: self.class_name(py, details),
                agent: task.agent.0,
                attempt: details.map_or(0, |d| d.attempt),
                deadline: details.and_then(|d| d.deadline).map(secs),
                work: work.map(|w| w.as_nanos() as f64 / 1e9),
            },
        )
    }

    /// The same policy, whose failures leave the run as the text a sweep records.
    pub fn aborting_with_text(mut self) -> Self {
        self.text_failures = true;
        self
    }

    /// Leaves the run with `error` of `who`'s `method` as text, traceback included
    /// (`sweep::RunAborted`: the run's recorded error).
    pub fn abort_text(py: Python<'_>, who: &str, method: &str, now: f64, error: &PyErr) -> ! {
        let traceback = error.traceback_bound(py).and_then(|t| t.format().ok()).unwrap_or_default();
        let text = format!(
            "{who}.{method} failed at t = {now:.6} s: {}\n{traceback}",
            error.value_bound(py)
        );
        std::panic::resume_unwind(Box::new(coordsim::sweep::RunAborted(text)))
    }

    fn fail(
        &self,
        py: Python<'_>,
        error: PyErr,
        method: &'static str,
        now: f64,
        subject: Option<PyObject>,
    ) -> ! {
        if self.text_failures {
            Self::abort_text(py, &self.name, method, now, &error);
        }
        Failure { error, method, time_s: now, subject, who: self.name.clone() }.raise()
    }

    /// The task as a dict, for an error.
    fn task_dict(&self, py: Python<'_>, task: &RustTask, details: Option<TaskDetails>) -> PyObject {
        dict_of(
            py,
            &[
                ("service", self.service_names[task.service.index()].clone_ref(py).into_any()),
                (
                    "job_class",
                    self.class_name(py, details).map_or_else(|| py.None(), |c| c.into_any()),
                ),
                ("agent", task.agent.0.into_py(py)),
                ("attempt", details.map_or(0, |d| d.attempt).into_py(py)),
                ("deadline", details.and_then(|d| d.deadline).map(secs).into_py(py)),
            ],
        )
    }

    /// What `place` returned, as a decision: a candidate, or `None` to refuse.
    fn decision(&self, py: Python<'_>, answer: &Bound<'_, PyAny>) -> Result<Decision, PyErr> {
        if answer.is_none() {
            return Ok(Decision::Reject);
        }
        let wrong_type = || {
            PyTypeError::new_err(format!(
                "place must return a replica id (an int among view.candidates) or None, got {} ({})",
                answer.repr().map_or_else(|_| "?".into(), |r| r.to_string()),
                answer.get_type().name().map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        };
        if answer.is_instance_of::<PyBool>() {
            return Err(wrong_type());
        }
        let id: i64 = answer.extract().map_err(|_| wrong_type())?;
        let v = self.view.borrow(py);
        match u32::try_from(id).ok().filter(|id| v.ids.contains(id)) {
            Some(id) => Ok(Decision::Place(ReplicaId(id))),
            None => Err(PyValueError::new_err(format!(
                "place returned replica {id}, which is not a candidate for service {:?}: the candidates are {:?}",
                v.service.as_ref().map(|s| s.bind(py).to_string()).unwrap_or_default(),
                v.ids
            ))),
        }
    }
}

/// Simulated seconds as the nearest float (a division, so whole seconds stay whole).
fn secs(t: coordsim::time::SimTime) -> f64 {
    (t - coordsim::time::SimTime::ZERO).as_nanos() as f64 / 1e9
}

impl Policy for PyPolicy {
    fn wants_task_details(&self) -> bool {
        true
    }

    fn wants_sizes(&self) -> bool {
        self.wants_sizes
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &RustTask) -> Decision {
        Python::with_gil(|py| {
            let now = secs(view.now());
            self.decisions += 1;
            if self.decisions % SIGNAL_CHECK_EVERY == 0 {
                if let Err(e) = py.check_signals() {
                    self.fail(py, e, "place", now, None);
                }
            }
            if view.replicas_of(task.service).is_empty() {
                return Decision::Reject;
            }
            self.fill(py, view, task.service.index(), task.agent.0);
            let answer = match self
                .task_object(py, task, view.task_details(), view.task_work())
                .and_then(|t| self.place.call1(py, (self.view.clone_ref(py), t)))
            {
                Ok(answer) => answer,
                Err(e) => {
                    let subject = self.task_dict(py, task, view.task_details());
                    self.fail(py, e, "place", now, Some(subject))
                }
            };
            let decision = match self.decision(py, answer.bind(py)) {
                Ok(d) => d,
                Err(e) => {
                    let subject = self.task_dict(py, task, view.task_details());
                    self.fail(py, e, "place", now, Some(subject))
                }
            };
            if let Decision::Place(r) = decision {
                self.outstanding.placed(task.agent, r);
            }
            let Some((dist, rng)) = self.thinking.as_mut() else { return decision };
            let delay = dist.sample(rng);
            if delay == coordsim::time::SimDuration::ZERO {
                return decision;
            }
            let token = self.next_thought;
            self.next_thought += 1;
            let replica = match decision {
                Decision::Place(r) => Some(r),
                _ => None,
            };
            self.thoughts
                .insert(token, Thought { ticket: task.ticket, replica, agent: task.agent });
            view.set_timer(delay, token);
            Decision::Defer
        })
    }

    fn on_timer(&mut self, view: &PolicyView<'_>, token: u64) {
        if let Some(thought) = self.thoughts.remove(&token) {
            view.commit(thought.ticket, thought.replica);
        }
    }

    fn on_abandoned(&mut self, _view: &PolicyView<'_>, ticket: Ticket) {
        // A placement still being thought about when its job ended is never sent: no outcome
        // will come back for it, so the agent's count of requests in flight drops now.
        let (gone, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.thoughts).into_iter().partition(|(_, t)| t.ticket == ticket);
        self.thoughts = kept.into_iter().collect();
        for (_, thought) in gone {
            if let Some(replica) = thought.replica {
                let never_sent = RustOutcome {
                    agent: thought.agent,
                    replica,
                    succeeded: false,
                    latency: coordsim::time::SimDuration::ZERO,
                };
                self.outstanding.heard(&never_sent);
            }
        }
    }

    fn on_outcome(&mut self, view: &PolicyView<'_>, outcome: &RustOutcome) {
        self.outstanding.heard(outcome);
        let Some(method) = &self.on_outcome else { return };
        Python::with_gil(|py| {
            let now = secs(view.now());
            let service = self.service_of(view, outcome.replica);
            self.fill(py, view, service, outcome.agent.0);
            let o = Outcome {
                agent: outcome.agent.0,
                replica: outcome.replica.0,
                succeeded: outcome.succeeded,
                latency: outcome.latency.as_nanos() as f64 / 1e9,
            };
            if let Err(e) =
                Py::new(py, o).and_then(|o| method.call1(py, (self.view.clone_ref(py), o)))
            {
                self.fail(py, e, "on_outcome", now, None);
            }
        });
    }

    fn on_membership(&mut self, view: &PolicyView<'_>, replica: ReplicaId, member: bool) {
        let Some(method) = &self.on_membership else { return };
        Python::with_gil(|py| {
            let now = secs(view.now());
            let service = self.service_of(view, replica);
            self.fill(py, view, service, 0);
            if let Err(e) = method.call1(py, (self.view.clone_ref(py), replica.0, member)) {
                self.fail(py, e, "on_membership", now, None);
            }
        });
    }
}

impl PyPolicy {
    /// The service a replica belongs to.
    fn service_of(&self, _view: &PolicyView<'_>, replica: ReplicaId) -> usize {
        self.replica_service[replica.index()] as usize
    }
}
