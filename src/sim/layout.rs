//! The scenario compiled into the flat shapes the world runs on: replica ranges, agent
//! numbering, and for each workflow the full tree of units a job executes.
//!
//! A job's work is a fixed array of units: for each step (in the workflow's topological
//! order) the step's own unit, followed by the units of every downstream call it makes,
//! expanded recursively through the call graph (which validation proved acyclic). Because
//! the shape is known up front, every unit's work size is drawn when the job is created,
//! from the job-content stream, in unit order: the same jobs under every policy.

use std::ops::Range;

use crate::ids::{AgentId, ReplicaId, ServiceId, WorkflowId};
use crate::scenario::{Hedge, Resilience, Scenario, Workflow};
use crate::time::SimDuration;

/// The client-side settings of a unit the hot path needs, as a small copyable summary of its
/// [`Resilience`] (which stays available for the rarely used details).
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    pub(super) timeout: Option<SimDuration>,
    pub(super) hedge: Option<Hedge>,
    pub(super) cancel: bool,
    pub(super) breaker: bool,
    pub(super) ejection: bool,
    pub(super) budget: Option<f64>,
    pub(super) max_retries: u32,
    /// No client-side mechanism at all: outcomes only go to the policy.
    pub(super) plain: bool,
}

impl Rules {
    fn of(r: &Resilience) -> Rules {
        let plain = r.timeout.is_none()
            && r.hedge.is_none()
            && !r.cancel
            && r.circuit_breaker.is_none()
            && r.outlier_ejection.is_none()
            && r.retries.max == 0;
        Rules {
            timeout: r.timeout,
            hedge: r.hedge,
            cancel: r.cancel,
            breaker: r.circuit_breaker.is_some(),
            ejection: r.outlier_ejection.is_some(),
            budget: r.retries.budget,
            max_retries: r.retries.max,
            plain,
        }
    }
}

/// One unit of a job: an execution on one service, then its stages of calls.
#[derive(Clone, Debug)]
pub(super) struct Unit {
    pub(super) service: ServiceId,
    /// Stages of downstream calls, in sequence; each lists the units called in parallel
    /// (indices into the same workflow's unit array).
    pub(super) stages: Vec<Vec<u32>>,
    /// How the requester treats this unit (timeouts, retries, ...).
    pub(super) resilience: Resilience,
    /// The same, summarised for the hot path.
    pub(super) rules: Rules,
}

/// A workflow's steps and units, ready to run.
#[derive(Clone, Debug)]
pub(super) struct WorkflowLayout {
    /// All units of one job.
    pub(super) units: Vec<Unit>,
    /// The root unit of each step.
    pub(super) step_unit: Vec<u32>,
    /// For each step, the steps waiting for it.
    pub(super) successors: Vec<Vec<usize>>,
    /// For each step, how many predecessors it waits for.
    pub(super) predecessors: Vec<u32>,
    /// Units a job needs when nothing goes wrong (steps and their calls; no reviews or
    /// escalations): the denominator of `attempts_per_job`.
    pub(super) normal_units: u32,
    /// For each step with an approval, the unit of its human review.
    pub(super) review_unit: Vec<Option<u32>>,
    /// For each step that escalates, the unit of the human take-over.
    pub(super) escalate_unit: Vec<Option<u32>>,
}

/// One group of a service's replicas (docs/model.md section 12), laid out: its ids (those
/// it starts with, then room for those control agents may add).
#[derive(Clone, Debug)]
pub(super) struct GroupLayout {
    /// Its index among its service's groups.
    pub(super) index: u32,
    pub(super) ids: Range<u32>,
    /// Replicas present at the start: the first of `ids`.
    pub(super) initial: u32,
}

/// The compiled scenario.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    pub(super) service_replicas: Vec<Range<u32>>,
    pub(super) replica_service: Vec<ServiceId>,
    /// Every service's groups, service by service (indices into them: group numbers).
    pub(super) groups: Vec<GroupLayout>,
    /// For each service, its group numbers.
    pub(super) service_groups: Vec<Range<u32>>,
    /// Each replica's group number.
    pub(super) replica_group: Vec<u32>,
    /// Each replica's nominal speed, slots and queue capacity (its group's).
    pub(super) replica_speed: Vec<f64>,
    pub(super) replica_slots: Vec<u32>,
    pub(super) replica_queue_capacity: Vec<u32>,
    /// The scenario's workflows, then one single-step workflow per human service that a
    /// remediator escalates to (see `escalation_workflow`).
    pub(super) workflows: Vec<WorkflowLayout>,
    /// For each service, the workflow of a request a control agent files to it (a person's
    /// look at an escalation), if any agent escalates there.
    pub(super) escalation_workflow: Vec<Option<WorkflowId>>,
    pub(super) orchestrators: u32,
}

impl Layout {
    pub(super) fn new(scenario: &Scenario) -> Self {
        let mut service_replicas = Vec::with_capacity(scenario.services.len());
        let mut replica_service = Vec::new();
        let mut groups = Vec::new();
        let mut service_groups = Vec::with_capacity(scenario.services.len());
        let (mut replica_group, mut replica_speed) = (Vec::new(), Vec::new());
        let (mut replica_slots, mut replica_queue_capacity) = (Vec::new(), Vec::new());
        // Ids by capacity, group by group: a group's replicas, then room for those an
        // autoscaler may add to it.
        for (index, service) in scenario.services.iter().enumerate() {
            let id = ServiceId(index as u32);
            let start = replica_service.len() as u32;
            let first_group = groups.len() as u32;
            for (g, spec) in service.groups.iter().enumerate() {
                let from = replica_service.len() as u32;
                let capacity = scenario.group_capacity(id, g) as usize;
                replica_service.extend(std::iter::repeat_n(id, capacity));
                replica_group.extend(std::iter::repeat_n(groups.len() as u32, capacity));
                replica_speed.extend(std::iter::repeat_n(spec.speed, capacity));
                replica_slots.extend(std::iter::repeat_n(spec.concurrency, capacity));
                replica_queue_capacity.extend(std::iter::repeat_n(spec.queue_capacity, capacity));
                groups.push(GroupLayout {
                    index: g as u32,
                    ids: from..replica_service.len() as u32,
                    initial: spec.replicas,
                });
            }
            service_groups.push(first_group..groups.len() as u32);
            service_replicas.push(start..replica_service.len() as u32);
        }
        let mut workflows: Vec<WorkflowLayout> =
            scenario.workflows.iter().map(|w| workflow_layout(scenario, w)).collect();
        let mut escalation_workflow = vec![None; scenario.services.len()];
        for agent in &scenario.control.agents {
            if let crate::scenario::AgentKind::Remediator(r) = &agent.kind {
                if let Some(human) = r.escalate.filter(|h| escalation_workflow[h.index()].is_none())
                {
                    escalation_workflow[human.index()] = Some(WorkflowId(workflows.len() as u32));
                    workflows.push(single_request(scenario, human));
                }
            }
        }
        Layout {
            service_replicas,
            replica_service,
            groups,
            service_groups,
            replica_group,
            replica_speed,
            replica_slots,
            replica_queue_capacity,
            workflows,
            escalation_workflow,
            orchestrators: scenario.orchestrators,
        }
    }

    /// Whether a replica is present when the run starts (not room for added ones).
    pub(super) fn present_at_start(&self, replica: u32) -> bool {
        let group = &self.groups[self.replica_group[replica as usize] as usize];
        replica - group.ids.start < group.initial
    }

    /// The replicas `service` starts with, group by group; `replica` picks one of them.
    pub(super) fn starting_replicas(&self, service: ServiceId) -> impl Iterator<Item = u32> + '_ {
        let groups = self.service_groups[service.index()].clone();
        groups.flat_map(|g| {
            let group = &self.groups[g as usize];
            group.ids.start..group.ids.start + group.initial
        })
    }

    /// The group numbers an agent scales on `service`, in its order of preference (every
    /// group of the service, in declaration order, when it names none).
    pub(super) fn scaling_groups(
        &self,
        scenario: &Scenario,
        names: &[String],
        service: ServiceId,
    ) -> Vec<u32> {
        let all = self.service_groups[service.index()].clone();
        if names.is_empty() {
            return all.collect();
        }
        let spec = &scenario.services[service.index()];
        names
            .iter()
            .map(|n| all.start + spec.group_index(n).expect("validated group name") as u32)
            .collect()
    }

    /// The worker agent of a replica.
    pub(super) fn replica_agent(&self, replica: ReplicaId) -> AgentId {
        AgentId(self.orchestrators + replica.0)
    }

    /// Orchestrators and replica workers.
    pub(super) fn agents(&self) -> u32 {
        self.orchestrators + self.replica_service.len() as u32
    }
}

fn workflow_layout(scenario: &Scenario, workflow: &Workflow) -> WorkflowLayout {
    let mut units = Vec::new();
    let mut step_unit = Vec::with_capacity(workflow.steps.len());
    let mut review_unit = Vec::with_capacity(workflow.steps.len());
    let mut normal_units = 0;
    let mut escalate_unit = Vec::with_capacity(workflow.steps.len());
    for step in &workflow.steps {
        let before = units.len();
        step_unit.push(expand(scenario, step.service, step.resilience.clone(), &mut units));
        normal_units += (units.len() - before) as u32;
        let human = |service: ServiceId| scenario.services[service.index()].resilience.clone();
        review_unit
            .push(step.approval.map(|a| expand(scenario, a.service, human(a.service), &mut units)));
        escalate_unit.push(step.escalate.map(|e| expand(scenario, e, human(e), &mut units)));
    }
    let n = workflow.steps.len();
    let mut successors = vec![Vec::new(); n];
    let mut predecessors = vec![0; n];
    for (i, step) in workflow.steps.iter().enumerate() {
        predecessors[i] = step.after.len() as u32;
        for &p in &step.after {
            successors[p].push(i);
        }
    }
    WorkflowLayout {
        units,
        step_unit,
        successors,
        predecessors,
        normal_units,
        review_unit,
        escalate_unit,
    }
}

/// A workflow of one request to `service`, with the service's own resilience settings.
fn single_request(scenario: &Scenario, service: ServiceId) -> WorkflowLayout {
    let mut units = Vec::new();
    let resilience = scenario.services[service.index()].resilience.clone();
    let root = expand(scenario, service, resilience, &mut units);
    WorkflowLayout {
        normal_units: units.len() as u32,
        units,
        step_unit: vec![root],
        successors: vec![Vec::new()],
        predecessors: vec![0],
        review_unit: vec![None],
        escalate_unit: vec![None],
    }
}

/// Appends the unit for `service` and, after it, its call subtree; returns its index.
fn expand(
    scenario: &Scenario,
    service: ServiceId,
    resilience: Resilience,
    units: &mut Vec<Unit>,
) -> u32 {
    let index = units.len();
    let rules = Rules::of(&resilience);
    units.push(Unit { service, stages: Vec::new(), resilience, rules });
    let mut stages = Vec::new();
    for stage in &scenario.services[service.index()].calls {
        let called = stage.services.iter().zip(&stage.resilience);
        stages
            .push(called.map(|(&callee, r)| expand(scenario, callee, r.clone(), units)).collect());
    }
    units[index].stages = stages;
    index as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_expand_steps_and_calls_in_order() {
        let s = crate::scenario::from_toml_str(
            r#"
            duration = 1
            [services.a]
            replicas = 2
            service_time = { dist = "constant", value = 0.001 }
            calls = [{ services = ["c"] }, { services = ["c", "d"] }]
            [services.c]
            replicas = 1
            service_time = { dist = "constant", value = 0.001 }
            calls = [{ services = ["d"] }]
            [services.d]
            replicas = 3
            service_time = { dist = "constant", value = 0.001 }
            [workflows.w]
            steps = [{ name = "x", service = "d" }, { name = "y", service = "a", after = ["x"] }]
            [classes.k]
            workflow = "w"
            arrival = { process = "poisson", rate = 1 }
            "#,
            "t",
            &[],
        )
        .unwrap();
        let layout = Layout::new(&s);
        assert_eq!(layout.service_replicas, vec![0..2, 2..3, 3..6]);
        let w = &layout.workflows[0];
        // x=d(0); y=a(1) -> stage0 [c(2) -> d(3)], stage1 [c(4) -> d(5), d(6)]
        let services: Vec<u32> = w.units.iter().map(|u| u.service.0).collect();
        assert_eq!(services, vec![2, 0, 1, 2, 1, 2, 2]);
        assert_eq!(w.step_unit, vec![0, 1]);
        assert_eq!(w.units[1].stages, vec![vec![2], vec![4, 6]]);
        assert_eq!(w.units[2].stages, vec![vec![3]]);
        assert_eq!(w.successors, vec![vec![1], vec![]]);
        assert_eq!(w.predecessors, vec![0, 1]);
        assert_eq!(layout.replica_agent(ReplicaId(4)), AgentId(5));
    }
}
