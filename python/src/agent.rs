//! Control agents written in Python: each is an `external` agent of the scenario (added to
//! its `[[agents]]` with the keys the Python class declares), and [`PyDriver`], a
//! `coordsim::control::Driver`, asks the user's object at each of its periods with the
//! observation a built-in agent would see, and turns the actions it returns into the
//! world's actions (carried out, counted and audited as a built-in agent's are).
//!
//! The action classes (`Scale`, `Restart`, `Eject`, `Readmit`, `SetPolicy`) and the observation
//! classes live here; so does the check of an action against what the agent may do (its
//! services, their replicas, its policies), which raises `PolicyError` rather than letting
//! a wrong action pass silently.

use std::collections::BTreeMap;
use std::ops::Range;

use coordsim::control::{Action, Driver, Observation as RustObservation};
use coordsim::engine::derive_stream;
use coordsim::ids::{ReplicaId, ServiceId};
use coordsim::scenario::{AgentKind, Scenario};
use coordsim::sim::StreamId;
use coordsim::time::SimTime;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::Failure;
use crate::policy::{python_rng, seed_from};

/// Bring `service` to `replicas` provisioned replicas (clamped to the agent's
/// `[min_replicas, max_replicas]`).
#[pyclass(module = "coordsim", frozen, get_all)]
#[derive(Clone)]
pub struct Scale {
    service: String,
    replicas: u32,
}

#[pymethods]
impl Scale {
    #[new]
    fn new(service: String, replicas: u32) -> Self {
        Scale { service, replicas }
    }

    fn __repr__(&self) -> String {
        format!("Scale({:?}, {})", self.service, self.replicas)
    }
}

/// Restart replica `replica` (down for the agent's `restart_delay`, back empty).
#[pyclass(module = "coordsim", frozen, get_all)]
#[derive(Clone)]
pub struct Restart {
    replica: u32,
}

#[pymethods]
impl Restart {
    #[new]
    fn new(replica: u32) -> Self {
        Restart { replica }
    }

    fn __repr__(&self) -> String {
        format!("Restart({})", self.replica)
    }
}

/// Take replica `replica` out of placement for the agent's `eject_for`.
#[pyclass(module = "coordsim", frozen, get_all)]
#[derive(Clone)]
pub struct Eject {
    replica: u32,
}

#[pymethods]
impl Eject {
    #[new]
    fn new(replica: u32) -> Self {
        Eject { replica }
    }

    fn __repr__(&self) -> String {
        format!("Eject({})", self.replica)
    }
}

/// End replica `replica`'s ejection now (it takes work again).
#[pyclass(module = "coordsim", frozen, get_all)]
#[derive(Clone)]
pub struct Readmit {
    replica: u32,
}

#[pymethods]
impl Readmit {
    #[new]
    fn new(replica: u32) -> Self {
        Readmit { replica }
    }

    fn __repr__(&self) -> String {
        format!("Readmit({})", self.replica)
    }
}

/// Place `service`'s work with the built-in policy `policy` (one of the agent's `policies`).
#[pyclass(module = "coordsim", frozen, get_all)]
#[derive(Clone)]
pub struct SetPolicy {
    service: String,
    policy: String,
}

#[pymethods]
impl SetPolicy {
    #[new]
    fn new(service: String, policy: String) -> Self {
        SetPolicy { service, policy }
    }

    fn __repr__(&self) -> String {
        format!("SetPolicy({:?}, {:?})", self.service, self.policy)
    }
}

/// What the monitoring system shows of one service (docs/model.md section 10), over the
/// agent's window, as old as its measurement delay.
#[pyclass(module = "coordsim", name = "ServiceObservation", frozen, get_all)]
pub struct ServiceObservation {
    /// The service.
    service: String,
    /// Replicas provisioned now, those being provisioned included (the count it scales).
    provisioned: u32,
    /// Replicas taking work now.
    ready: u32,
    /// Slots of one replica.
    slots_per_replica: u32,
    /// Seconds of data the figures cover (0 when there is none yet).
    span_s: f64,
    /// Time average of busy slots.
    busy_slots: f64,
    /// Time average of the slots of replicas present (serving or draining).
    present_slots: f64,
    /// Busy slots over present slots (None without data).
    utilisation: Option<f64>,
    /// Time average of requests waiting in the service's queues.
    queued: f64,
    /// Requests that reached a replica of the service in the window (admitted or refused).
    arrivals: u64,
    /// Requests that ended on the service in the window.
    requests: u64,
    /// Of those, the ones that failed.
    failures: u64,
    /// Of the successful ones, those that missed the service's SLO.
    slo_missed: u64,
    /// Mean response time of the requests that ended, in seconds (None: none ended).
    latency_mean_s: Option<f64>,
    /// Their median, in seconds (bucketed, interpolated; None: none ended).
    latency_p50_s: Option<f64>,
    /// Their 99th percentile, in seconds (bucketed, interpolated; None: none ended).
    latency_p99_s: Option<f64>,
    /// Replicas a crash fault holds now (the fault schedule's truth: what alerts would say).
    crashed: u32,
    /// Replicas a slowdown fault holds now (likewise).
    slowed: u32,
}

#[pymethods]
impl ServiceObservation {
    fn __repr__(&self) -> String {
        format!(
            "ServiceObservation({:?}: provisioned={}, ready={}, utilisation={:?}, queued={:.3}, requests={}, latency_p99_s={:?})",
            self.service,
            self.provisioned,
            self.ready,
            self.utilisation,
            self.queued,
            self.requests,
            self.latency_p99_s
        )
    }
}

/// One decision's observation: the time and, by service name, what the agent sees of each
/// service it acts on (`observation["api"]`).
#[pyclass(module = "coordsim", name = "Observation", frozen, get_all)]
pub struct Observation {
    /// Simulated seconds now.
    time_s: f64,
    /// `ServiceObservation` by service name, in the order of the agent's `services`.
    services: Py<PyDict>,
}

#[pymethods]
impl Observation {
    fn __getitem__<'py>(&self, py: Python<'py>, service: &str) -> PyResult<Bound<'py, PyAny>> {
        self.services.bind(py).as_any().get_item(service)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("<coordsim Observation at t={:.3} s: {}>", self.time_s, self.services.bind(py))
    }
}

/// A Python control agent as a run needs it.
pub struct AgentChoice {
    pub name: String,
    /// Called with no argument, returns a fresh instance for one run.
    pub factory: PyObject,
}

impl AgentChoice {
    pub fn from_py(spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(AgentChoice {
            name: spec.getattr("name")?.extract()?,
            factory: spec.getattr("factory")?.unbind(),
        })
    }
}

/// One Python agent in a run.
struct Running {
    name: String,
    act: PyObject,
    services: Vec<ServiceId>,
    /// Its `policies`, the arms a `SetPolicy` names.
    arms: Vec<String>,
}

/// The driver of a run's Python control agents.
pub struct PyDriver<'s> {
    scenario: &'s Scenario,
    /// A failure leaves the run as text (a sweep's recorded error), not as `PolicyError`.
    text_failures: bool,
    agents: BTreeMap<String, Running>,
    /// Each service's replica ids (laid out by capacity, as the world lays them out).
    ranges: Vec<Range<u32>>,
}

impl<'s> PyDriver<'s> {
    /// Fresh instances of `choices` for replication `replication` of `scenario` (which
    /// declares each as an external agent of the same name, unless `control.active` leaves
    /// it out), each with its `rng` seeded from its agent stream.
    pub fn new(
        py: Python<'_>,
        scenario: &'s Scenario,
        choices: &[AgentChoice],
        replication: u32,
    ) -> PyResult<Self> {
        let mut agents = BTreeMap::new();
        for choice in choices {
            // An agent the cell's `control.active` leaves out does not run.
            let Some((index, spec)) =
                scenario.control.agents.iter().enumerate().find(|(_, a)| a.name == choice.name)
            else {
                continue;
            };
            let AgentKind::External(external) = &spec.kind else {
                return Err(PyValueError::new_err(format!(
                    "agent {:?}: the scenario declares an agent of that name already",
                    choice.name
                )));
            };
            let obj = choice.factory.call0(py)?;
            let mut stream = derive_stream(
                scenario.seed,
                u64::from(replication),
                StreamId::Agent(index as u32).code(),
            );
            obj.bind(py).setattr(intern!(py, "rng"), python_rng(py, seed_from(&mut stream))?)?;
            agents.insert(
                choice.name.clone(),
                Running {
                    name: choice.name.clone(),
                    act: obj.bind(py).getattr(intern!(py, "act"))?.unbind(),
                    services: spec.services.clone(),
                    arms: external.arms.iter().map(|p| p.kind().name().to_owned()).collect(),
                },
            );
        }
        Ok(PyDriver { scenario, text_failures: false, agents, ranges: service_ranges(scenario) })
    }

    /// The same driver, whose failures leave the run as the text a sweep records.
    pub fn aborting_with_text(mut self) -> Self {
        self.text_failures = true;
        self
    }
}

/// What an agent sees (`seen`, one per service) as the Python `Observation`.
pub fn observation(
    py: Python<'_>,
    scenario: &Scenario,
    at: SimTime,
    seen: &[RustObservation],
) -> PyResult<Py<Observation>> {
    let services = PyDict::new_bound(py);
    for o in seen {
        let name = &scenario.services[o.service.index()].name;
        let so = ServiceObservation {
            service: name.clone(),
            provisioned: o.provisioned,
            ready: o.ready,
            slots_per_replica: o.slots_per_replica,
            span_s: o.span_s,
            busy_slots: o.busy_slots,
            present_slots: o.present_slots,
            utilisation: o.utilisation(),
            queued: o.queued,
            arrivals: o.arrivals,
            requests: o.requests,
            failures: o.failures,
            slo_missed: o.slo_missed,
            latency_mean_s: o.latency_mean_s,
            latency_p50_s: o.latency_p50_s,
            latency_p99_s: o.latency_p99_s,
            crashed: o.crashed,
            slowed: o.slowed,
        };
        services.set_item(name, Py::new(py, so)?)?;
    }
    Py::new(py, Observation { time_s: secs(at), services: services.unbind() })
}

/// `answer` (what `act` returned, or what `Simulation.act` is given) as the world's actions
/// of an agent acting on `services`, choosing among `arms`; `ranges` are each service's
/// replica ids.
pub fn actions(
    scenario: &Scenario,
    ranges: &[Range<u32>],
    services: &[ServiceId],
    arms: &[String],
    answer: &Bound<'_, PyAny>,
) -> PyResult<Vec<Action>> {
    if answer.is_none() {
        return Ok(Vec::new());
    }
    let service = |name: &str| -> PyResult<ServiceId> {
        services.iter().copied().find(|s| scenario.services[s.index()].name == name).ok_or_else(
            || {
                PyValueError::new_err(format!(
                    "service {name:?} is not one the agent acts on (its services: {:?})",
                    services.iter().map(|s| &scenario.services[s.index()].name).collect::<Vec<_>>()
                ))
            },
        )
    };
    let replica = |id: u32| -> PyResult<ReplicaId> {
        let ok = services.iter().any(|s| ranges[s.index()].contains(&id));
        if ok {
            Ok(ReplicaId(id))
        } else {
            Err(PyValueError::new_err(format!(
                "replica {id} belongs to no service the agent acts on"
            )))
        }
    };
    let mut out = Vec::new();
    for item in answer.iter().map_err(|_| {
        PyTypeError::new_err(
            "act must return a list of actions (Scale, Restart, Eject, Readmit, SetPolicy) or None",
        )
    })? {
        let item = item?;
        let action = if let Ok(a) = item.downcast::<Scale>() {
            let a = a.get();
            Action::Scale { service: service(&a.service)?, to: a.replicas }
        } else if let Ok(a) = item.downcast::<Restart>() {
            Action::Restart { replica: replica(a.get().replica)? }
        } else if let Ok(a) = item.downcast::<Eject>() {
            Action::Eject { replica: replica(a.get().replica)? }
        } else if let Ok(a) = item.downcast::<Readmit>() {
            Action::Readmit { replica: replica(a.get().replica)? }
        } else if let Ok(a) = item.downcast::<SetPolicy>() {
            let a = a.get();
            let service = service(&a.service)?;
            let arm = arms.iter().position(|p| *p == a.policy).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "SetPolicy: {:?} is not one of the agent's policies {:?}",
                    a.policy, arms
                ))
            })?;
            Action::SetArm { service, arm }
        } else {
            return Err(PyTypeError::new_err(format!(
                "act returned {}, which is not an action (Scale, Restart, Eject, Readmit, SetPolicy)",
                item.repr().map_or_else(|_| "?".into(), |r| r.to_string())
            )));
        };
        out.push(action);
    }
    Ok(out)
}

/// Each service's replica ids, as the world lays them out.
pub fn service_ranges(scenario: &Scenario) -> Vec<Range<u32>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for i in 0..scenario.services.len() {
        let end = start + scenario.capacity(ServiceId(i as u32));
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Simulated seconds as the nearest float (a division, so whole seconds stay whole).
fn secs(t: SimTime) -> f64 {
    (t - SimTime::ZERO).as_nanos() as f64 / 1e9
}

impl Driver for PyDriver<'_> {
    fn decide(
        &mut self,
        agent: &str,
        at: SimTime,
        observations: &[RustObservation],
    ) -> Option<Vec<Action>> {
        let Some(running) = self.agents.get(agent) else {
            return Some(Vec::new()); // an external agent of the file's own: it holds
        };
        Python::with_gil(|py| {
            let text = self.text_failures;
            let fail = |error: PyErr, subject: Option<PyObject>| -> ! {
                if text {
                    crate::policy::PyPolicy::abort_text(py, &running.name, "act", secs(at), &error);
                }
                Failure {
                    error,
                    method: "act",
                    time_s: secs(at),
                    subject,
                    who: running.name.clone(),
                }
                .raise()
            };
            let observation = match observation(py, self.scenario, at, observations) {
                Ok(o) => o,
                Err(e) => fail(e, None),
            };
            let subject = observation.clone_ref(py).into_any();
            let answer = match running.act.call1(py, (observation,)) {
                Ok(a) => a,
                Err(e) => fail(e, Some(subject)),
            };
            match actions(
                self.scenario,
                &self.ranges,
                &running.services,
                &running.arms,
                answer.bind(py),
            ) {
                Ok(actions) => Some(actions),
                Err(e) => fail(e, Some(subject)),
            }
        })
    }
}
