//! The execution trace: an [`Observer`] that writes what a bounded set of jobs did in the
//! Chrome trace event format (JSON), which Perfetto (ui.perfetto.dev) and chrome://tracing
//! open.
//!
//! Layout: one process per replica (`service[i]`) and per orchestrator agent
//! (`orchestrator-N`); inside each, one thread per lane, so that concurrent slices never
//! overlap on a track (a replica's lanes are its slots in use; an orchestrator's, the traced
//! jobs it holds at once). A job is a slice on its orchestrator from arrival to end; an
//! execution is a slice on its replica from start to close (finished, cancelled or killed),
//! its calls included. Flow arrows go from a job to each of its steps' executions, and from
//! a calling execution to each execution of its calls, leaving at the placement and landing
//! at the start. Fault starts and ends are global instants.
//!
//! Bounded: only jobs that enter the system inside the trace window, and at most a given
//! number of them, are traced (with their executions); memory and file size grow with
//! that bound, not with the run. It observes only, so the traced run is the same run.
//!
//! It sits above `sim` (whose `Observer` it implements), not in `metrics`, which `sim`
//! feeds: so no module imports one that imports it back.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::ids::{ClassId, ReplicaId, ServiceId};
use crate::policy::ReplicaLoad;
use crate::scenario::{FaultEffect, Scenario};
use crate::sim::Observer;
use crate::time::{SimDuration, SimTime};

/// Which jobs a trace follows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceBounds {
    /// Jobs entering at or after this instant...
    pub from: SimTime,
    /// ...and before this one (None: until the end of the run)...
    pub until: Option<SimTime>,
    /// ...up to this many (None: all of them).
    pub max_jobs: Option<u64>,
}

impl TraceBounds {
    /// Jobs traced when no bound is given: the first 200 that arrive after the warm-up.
    pub const DEFAULT_JOBS: u64 = 200;

    /// The default bounds for `scenario`: the first [`Self::DEFAULT_JOBS`] measured jobs.
    pub fn first_measured_jobs(scenario: &Scenario) -> Self {
        TraceBounds {
            from: SimTime::ZERO + scenario.warmup,
            until: None,
            max_jobs: Some(Self::DEFAULT_JOBS),
        }
    }
}

/// Process id of the first orchestrator (replicas are numbered from 1).
const ORCHESTRATOR_PID: u64 = 1_000_000;

#[derive(Debug)]
struct OpenJob {
    pid: u64,
    lane: usize,
    arrived: SimTime,
    class: ClassId,
}

#[derive(Debug)]
struct OpenExecution {
    replica: ReplicaId,
    lane: usize,
    started: SimTime,
    service: ServiceId,
    job: u64,
}

/// Lanes of one track group: `true` while in use.
fn take_lane(lanes: &mut Vec<bool>) -> usize {
    match lanes.iter().position(|&busy| !busy) {
        Some(i) => {
            lanes[i] = true;
            i
        }
        None => {
            lanes.push(true);
            lanes.len() - 1
        }
    }
}

/// Microseconds, the trace format's time unit.
fn us(t: SimTime) -> f64 {
    t.as_nanos() as f64 * 1e-3
}

/// Records a bounded execution trace; [`TraceObserver::into_json`] renders it.
#[derive(Debug)]
pub struct TraceObserver {
    bounds: TraceBounds,
    taken: u64,
    service_names: Vec<String>,
    class_names: Vec<String>,
    /// Each replica's name (`service[i]`, or `service/group[i]`).
    replicas: Vec<String>,
    /// The name of each crash or slowdown's target (service, group, replica).
    fault_targets: BTreeMap<(ServiceId, Option<u32>, Option<u32>), String>,
    jobs: BTreeMap<u64, OpenJob>,
    executions: BTreeMap<u64, OpenExecution>,
    replica_lanes: Vec<Vec<bool>>,
    orchestrator_lanes: Vec<Vec<bool>>,
    events: Vec<Value>,
}

impl TraceObserver {
    /// A trace of a run of `scenario`, following the jobs `bounds` admits.
    pub fn new(scenario: &Scenario, bounds: TraceBounds) -> Self {
        let replicas = scenario.replica_names();
        let fault_targets = scenario
            .faults
            .iter()
            .filter_map(|f| match f.effect {
                FaultEffect::Crash { service, group, replica }
                | FaultEffect::Slowdown { service, group, replica, .. } => Some((
                    (service, group, replica),
                    scenario.fault_target_name(service, group, replica),
                )),
                _ => None,
            })
            .collect();
        TraceObserver {
            fault_targets,
            bounds,
            taken: 0,
            service_names: scenario.services.iter().map(|s| s.name.clone()).collect(),
            class_names: scenario.classes.iter().map(|c| c.name.clone()).collect(),
            replica_lanes: vec![Vec::new(); replicas.len()],
            orchestrator_lanes: vec![Vec::new(); scenario.orchestrators as usize],
            replicas,
            jobs: BTreeMap::new(),
            executions: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn in_window(&self, at: SimTime) -> bool {
        at >= self.bounds.from && self.bounds.until.is_none_or(|u| at < u)
    }

    fn replica_name(&self, replica: ReplicaId) -> String {
        self.replicas[replica.index()].clone()
    }

    /// Names every process and lane that appears, then the events: a JSON object with
    /// `traceEvents` and `displayTimeUnit`.
    pub fn into_json(mut self) -> Vec<u8> {
        let mut meta = Vec::new();
        for (r, lanes) in self.replica_lanes.iter().enumerate() {
            if lanes.is_empty() {
                continue;
            }
            let pid = r as u64 + 1;
            let name = self.replica_name(ReplicaId(r as u32));
            meta.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}));
            meta.push(json!({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": pid}}));
            for lane in 0..lanes.len() {
                meta.push(json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": lane + 1, "args": {"name": format!("slot {}", lane + 1)}}));
            }
        }
        for (o, lanes) in self.orchestrator_lanes.iter().enumerate() {
            if lanes.is_empty() {
                continue;
            }
            let pid = ORCHESTRATOR_PID + o as u64;
            meta.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": format!("orchestrator-{o}")}}));
            for lane in 0..lanes.len() {
                meta.push(json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": lane + 1, "args": {"name": format!("jobs {}", lane + 1)}}));
            }
        }
        meta.append(&mut self.events);
        let doc = json!({"traceEvents": meta, "displayTimeUnit": "ms"});
        serde_json::to_vec(&doc).expect("a JSON value always serialises")
    }

    fn close_job(&mut self, at: SimTime, job: u64, outcome: &str) {
        let Some(open) = self.jobs.remove(&job) else { return };
        let o = (open.pid - ORCHESTRATOR_PID) as usize;
        self.orchestrator_lanes[o][open.lane] = false;
        self.events.push(json!({
            "ph": "X", "name": format!("job {job} ({})", self.class_names[open.class.index()]),
            "cat": "job", "pid": open.pid, "tid": open.lane + 1,
            "ts": us(open.arrived), "dur": us(at) - us(open.arrived),
            "args": {"job": job, "outcome": outcome},
        }));
    }

    fn close_execution(&mut self, at: SimTime, attempt: u64, outcome: &str) {
        let Some(open) = self.executions.remove(&attempt) else { return };
        self.replica_lanes[open.replica.index()][open.lane] = false;
        self.events.push(json!({
            "ph": "X", "name": self.service_names[open.service.index()].clone(),
            "cat": "execution", "pid": open.replica.0 as u64 + 1, "tid": open.lane + 1,
            "ts": us(open.started), "dur": us(at) - us(open.started),
            "args": {"job": open.job, "attempt": attempt, "end": outcome},
        }));
    }
}

impl Observer for TraceObserver {
    fn job_entered(&mut self, at: SimTime, job: u64, class: ClassId, orchestrator: u32) {
        if !self.in_window(at) || self.bounds.max_jobs.is_some_and(|m| self.taken >= m) {
            return;
        }
        self.taken += 1;
        let lane = take_lane(&mut self.orchestrator_lanes[orchestrator as usize]);
        let pid = ORCHESTRATOR_PID + u64::from(orchestrator);
        self.jobs.insert(job, OpenJob { pid, lane, arrived: at, class });
    }

    fn job_left(&mut self, at: SimTime, job: u64, completed: bool, _: SimDuration, _: bool) {
        self.close_job(at, job, if completed { "completed" } else { "failed" });
    }

    fn execution_began(
        &mut self,
        at: SimTime,
        replica: ReplicaId,
        service: ServiceId,
        attempt: u64,
        job: u64,
        placed: SimTime,
        caller: Option<u64>,
    ) {
        // The track the placement came from: the job's, or the calling execution's.
        let from = match caller {
            None => self.jobs.get(&job).map(|j| (j.pid, j.lane + 1)),
            Some(c) => self.executions.get(&c).map(|e| (e.replica.0 as u64 + 1, e.lane + 1)),
        };
        let Some((from_pid, from_tid)) = from else { return };
        let lane = take_lane(&mut self.replica_lanes[replica.index()]);
        let pid = replica.0 as u64 + 1;
        let name = if caller.is_some() { "call" } else { "step" };
        self.events.push(json!({
            "ph": "s", "name": name, "cat": "flow", "id": attempt,
            "pid": from_pid, "tid": from_tid, "ts": us(placed),
        }));
        self.events.push(json!({
            "ph": "f", "bp": "e", "name": name, "cat": "flow", "id": attempt,
            "pid": pid, "tid": lane + 1, "ts": us(at),
        }));
        self.executions.insert(attempt, OpenExecution { replica, lane, started: at, service, job });
    }

    fn execution_closed(&mut self, at: SimTime, _replica: ReplicaId, attempt: u64) {
        self.close_execution(at, attempt, "closed");
    }

    fn control_acted(&mut self, at: SimTime, what: &str) {
        if !self.in_window(at) {
            return;
        }
        self.events.push(json!({
            "ph": "i", "s": "g", "name": format!("control: {what}"),
            "cat": "control", "pid": 0, "tid": 0, "ts": us(at),
        }));
    }

    fn fault_changed(&mut self, at: SimTime, index: u32, effect: &FaultEffect, started: bool) {
        if !self.in_window(at) {
            return;
        }
        let target = match effect {
            FaultEffect::Crash { service, group, replica }
            | FaultEffect::Slowdown { service, group, replica, .. } => {
                self.fault_targets[&(*service, *group, *replica)].clone()
            }
            FaultEffect::AgentCrash { orchestrator } => format!("orchestrator-{orchestrator}"),
            FaultEffect::PolicyAgentCrash { agent: 0 } => "scheduler".to_owned(),
            FaultEffect::PolicyAgentCrash { .. } => "standby".to_owned(),
            FaultEffect::Partition { .. } => "partition".to_owned(),
            FaultEffect::MessageLoss { .. } => "message loss".to_owned(),
        };
        let kind = match effect {
            FaultEffect::Crash { .. }
            | FaultEffect::AgentCrash { .. }
            | FaultEffect::PolicyAgentCrash { .. } => "crash",
            FaultEffect::Slowdown { .. } => "slowdown",
            FaultEffect::Partition { .. } => "partition",
            FaultEffect::MessageLoss { .. } => "message_loss",
        };
        let edge = if started { "starts" } else { "ends" };
        self.events.push(json!({
            "ph": "i", "s": "g", "name": format!("fault {index}: {kind} {target} {edge}"),
            "cat": "fault", "pid": 0, "tid": 0, "ts": us(at),
        }));
    }

    fn run_ended(&mut self, at: SimTime, _: &[ReplicaLoad], _: usize) {
        let open: Vec<u64> = self.executions.keys().copied().collect();
        for attempt in open {
            self.close_execution(at, attempt, "running at the end");
        }
        let open: Vec<u64> = self.jobs.keys().copied().collect();
        for job in open {
            self.close_job(at, job, "in flight at the end");
        }
    }
}
