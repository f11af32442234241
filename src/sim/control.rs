//! The control layer in the world (docs/model.md section 10): control agents' decisions
//! every period, from what the monitoring system shows them (`monitor.rs`), carried out
//! with real delays: scaling and restarts through `capacity.rs`, health checks as messages
//! over the network (answered by the replica as its probe kind says), escalations as
//! requests to a human service, and the adaptive agents' choice of placement policy (each
//! arm a policy of its own, placing the service's work while chosen). Every action is
//! counted, checked against earlier ones for flaps and conflicts, written to the audit log
//! with what the agent saw and why it acted, and reported to the observer (the trace).
//!
//! Each agent has two random streams of its own: its decisions (a bandit's exploration) and
//! the delays of its actions (provisioning, restarts, a person's work), so adding an agent
//! changes no other agent's draws and never the workload.

use std::collections::BTreeMap;

use super::event::Event;
use super::outside::ControlAsk;
use super::probes::{OpenProbe, WaitingProbe};
use super::timers::Timer;
use super::{Observer, StreamId, World};
use crate::control::{Action, ControlAction, Controller, Observation};
use crate::engine::{Schedule, SimRng};
use crate::ids::{ReplicaId, ServiceId};
use crate::policy::{self, Outcome, Policy, PolicyView, Topology};
use crate::scenario::{Adaptive, AgentKind, Arms, ControlAgent, Removal, Scenario};
use crate::time::{SimDuration, SimTime};

/// What a control timer does when it goes off.
#[derive(Clone, Copy, Debug)]
pub(super) enum ControlTimer {
    /// An agent's period: it decides.
    Tick { agent: u32 },
    /// A health check got no answer in time.
    ProbeTimeout { probe: u32 },
    /// A replica being provisioned is ready.
    ReplicaReady { replica: ReplicaId, epoch: u32 },
    /// A restart's delay is over.
    RestartDone { replica: ReplicaId, epoch: u32 },
    /// An ejection is over.
    EjectionOver { replica: ReplicaId, epoch: u32 },
}

/// One control agent in a run.
#[derive(Debug)]
struct AgentRun {
    controller: Controller,
    /// The delays of its actions.
    delays: SimRng,
}

/// An escalation a person is working on.
#[derive(Clone, Debug)]
struct Escalation {
    agent: u32,
    service: ServiceId,
    replicas: Vec<ReplicaId>,
}

/// A scaling action, for finding flaps and conflicts.
#[derive(Clone, Copy, Debug)]
struct Scaled {
    at: SimTime,
    agent: u32,
    service: ServiceId,
    up: bool,
}

/// A placement policy per arm of an adaptive agent, and the arm placing a service's work.
#[derive(Debug)]
pub(super) struct Route {
    pub(super) arms: Vec<Box<dyn Policy>>,
    pub(super) current: usize,
}

/// A control action as the audit log keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlRecord {
    /// When.
    pub at: SimTime,
    /// The agent's name.
    pub agent: String,
    /// Its kind (`autoscaler`, ...).
    pub kind: &'static str,
    /// The action: `scale`, `restart`, `eject`, `escalate`, `set_arm`.
    pub action: &'static str,
    /// The service it concerns.
    pub service: String,
    /// The replica it concerns, named `service[i]`, if one.
    pub replica: Option<String>,
    /// The count or arm it set, if any (`scale`: the new replica count; `set_arm`: the
    /// policy's name).
    pub value: Option<String>,
    /// What it saw: figure names and values.
    pub saw: Vec<(&'static str, f64)>,
    /// Why it acted.
    pub reason: String,
}

/// Everything of the control layer in one run.
#[derive(Debug)]
pub(super) struct ControlLayer {
    agents: Vec<AgentRun>,
    pub(super) open_probes: BTreeMap<u32, OpenProbe>,
    next_probe: u32,
    /// Health checks waiting in each replica's queue.
    pub(super) waiting: Vec<Vec<WaitingProbe>>,
    escalations: BTreeMap<u32, Escalation>,
    next_escalation: u32,
    scaled: Vec<Scaled>,
    pub(super) audit: Vec<ControlRecord>,
    pub(super) audit_limit: usize,
}

impl ControlLayer {
    /// Agent `agent`'s controller.
    pub(super) fn controller(&mut self, agent: u32) -> &mut Controller {
        &mut self.agents[agent as usize].controller
    }

    /// A fresh health check's id.
    pub(super) fn next_probe_id(&mut self) -> u32 {
        let probe = self.next_probe;
        self.next_probe = self.next_probe.wrapping_add(1);
        probe
    }

    /// The layer for `scenario`'s agents, or `None` without any; `pinned` fixes one adaptive
    /// agent's arm (a counterfactual run).
    pub(super) fn new(
        scenario: &Scenario,
        replication: u32,
        pinned: Option<(usize, usize)>,
    ) -> Option<Box<Self>> {
        if scenario.control.agents.is_empty() {
            return None;
        }
        let agents = scenario
            .control
            .agents
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let seed = scenario.seed;
                let pin = pinned.filter(|&(a, _)| a == i).map(|(_, arm)| arm);
                AgentRun {
                    controller: Controller::new(
                        &scenario.control.agents,
                        spec,
                        StreamId::Agent(i as u32).rng(seed, replication),
                        pin,
                    ),
                    delays: StreamId::AgentDelays(i as u32).rng(seed, replication),
                }
            })
            .collect();
        let replicas: usize = (0..scenario.services.len())
            .map(|s| scenario.capacity(ServiceId(s as u32)) as usize)
            .sum();
        Some(Box::new(ControlLayer {
            agents,
            open_probes: BTreeMap::new(),
            next_probe: 0,
            waiting: vec![Vec::new(); replicas],
            escalations: BTreeMap::new(),
            next_escalation: 0,
            scaled: Vec::new(),
            audit: Vec::new(),
            audit_limit: 0,
        }))
    }

    /// The rewards each adaptive agent's bandits were credited with, per service.
    pub(super) fn rewards(&self) -> Vec<Vec<Vec<f64>>> {
        self.agents
            .iter()
            .filter_map(|a| match &a.controller {
                Controller::Adaptive(b) => Some(b.rewards().map(<[f64]>::to_vec).collect()),
                _ => None,
            })
            .collect()
    }
}

/// The routes of a scenario's adaptive agents: one per service they choose for, with every
/// arm's policy built for the run (`None` for other services).
pub(super) fn routes(
    scenario: &Scenario,
    topology: &Topology,
    replication: u32,
    pinned: Option<(usize, usize)>,
) -> Vec<Option<Route>> {
    let mut routes: Vec<Option<Route>> = (0..scenario.services.len()).map(|_| None).collect();
    for (i, agent) in scenario.control.agents.iter().enumerate() {
        let policies = match &agent.kind {
            AgentKind::Adaptive(Adaptive { arms: Arms::Policies(policies), .. }) => policies,
            AgentKind::External(e) if !e.arms.is_empty() => &e.arms,
            _ => continue,
        };
        let first = pinned.filter(|&(a, _)| a == i).map_or(0, |(_, arm)| arm);
        for (k, &service) in agent.services.iter().enumerate() {
            let arms = policies
                .iter()
                .enumerate()
                .map(|(a, &arm)| {
                    // Each arm's own stream: (agent, service, arm) in the agent's range.
                    let code = ((i as u32) << 20) | ((k as u32) << 8) | a as u32;
                    policy::build(
                        arm,
                        topology,
                        StreamId::Arm(code).rng(scenario.seed, replication),
                    )
                })
                .collect();
            routes[service.index()] = Some(Route { arms, current: first });
        }
    }
    routes
}

/// An outcome reaches the arms of the adaptive agent choosing for `service`, if one does:
/// every arm learns from every outcome, whichever placed the work.
#[inline]
pub(super) fn tell_arms(
    routes: &mut [Option<Route>],
    service: ServiceId,
    view: &PolicyView<'_>,
    outcome: &Outcome,
) {
    if let Some(Some(route)) = routes.get_mut(service.index()) {
        for arm in &mut route.arms {
            arm.on_outcome(view, outcome);
        }
    }
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn set_control_timer(
        &mut self,
        delay: SimDuration,
        timer: ControlTimer,
        schedule: &mut Schedule<Event>,
    ) {
        self.set_timer(delay, Timer::Control(timer), schedule);
    }

    /// Sets every agent's first period.
    pub(super) fn start_control(&mut self, schedule: &mut Schedule<Event>) {
        for (i, agent) in self.scenario.control.agents.iter().enumerate() {
            let tick = ControlTimer::Tick { agent: i as u32 };
            self.set_timer(agent.period, Timer::Control(tick), schedule);
        }
    }

    pub(super) fn on_control_timer(&mut self, timer: ControlTimer, schedule: &mut Schedule<Event>) {
        match timer {
            ControlTimer::Tick { agent } => self.on_tick(agent, schedule),
            ControlTimer::ProbeTimeout { probe } => self.probe_failed(probe, schedule),
            ControlTimer::ReplicaReady { replica, epoch } => {
                self.replica_ready(replica, epoch, schedule)
            }
            ControlTimer::RestartDone { replica, epoch } => {
                self.restart_done(replica, epoch, schedule)
            }
            ControlTimer::EjectionOver { replica, epoch } => {
                self.ejection_over(replica, epoch, schedule)
            }
        }
    }

    pub(super) fn spec(&self, agent: u32) -> &'s ControlAgent {
        &self.scenario.control.agents[agent as usize]
    }

    pub(super) fn layer(&mut self) -> &mut ControlLayer {
        self.control.as_deref_mut().expect("control agents exist")
    }

    /// What `agent` sees of `service` now.
    fn observe(&mut self, agent: u32, service: ServiceId, now: SimTime) -> Observation {
        let spec = self.spec(agent);
        let monitor =
            self.monitor.as_deref_mut().expect("control agents read the monitoring system");
        let mut obs = monitor.observe(now, service, spec.window, spec.measurement_delay);
        obs.provisioned = self.provisioned(service);
        obs.ready = self.members[service.index()].len() as u32;
        let first = self.layout.scaling_groups(self.scenario, &spec.groups, service)[0];
        obs.slots_per_replica =
            self.layout.replica_slots[self.layout.groups[first as usize].ids.start as usize];
        let replicas = self.layout.service_replicas[service.index()].clone();
        obs.provisioned_slots = replicas
            .clone()
            .filter(|&r| self.lifecycle[r as usize].provisioned())
            .map(|r| self.layout.replica_slots[r as usize])
            .sum();
        obs.crashed = replicas.clone().filter(|&r| self.crashed_by_fault(r)).count() as u32;
        obs.slowed = replicas.filter(|&r| self.slowdown[r as usize] > 1.0).count() as u32;
        obs
    }

    /// Whether an active crash fault holds the replica (and no restart ended it for it).
    fn crashed_by_fault(&self, replica: u32) -> bool {
        self.active_faults.iter().any(|&f| {
            matches!(self.faults[f].effect, crate::scenario::FaultEffect::Crash { .. })
                && self.faults[f].replicas.contains(&replica)
                && !self.repaired.contains(&(f, replica))
        })
    }

    fn on_tick(&mut self, agent: u32, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        let spec = self.spec(agent);
        self.set_timer(spec.period, Timer::Control(ControlTimer::Tick { agent }), schedule);
        let observations: Vec<Observation> =
            spec.services.iter().map(|&s| self.observe(agent, s, now)).collect();
        let serving: Vec<ReplicaId> = spec
            .services
            .iter()
            .flat_map(|&s| self.layout.service_replicas[s.index()].clone())
            .map(ReplicaId)
            .filter(|r| self.lifecycle[r.index()].presence == super::capacity::Presence::Serving)
            .collect();
        let mut actions = Vec::new();
        if let AgentKind::External(bounds) = &spec.kind {
            if self.outside.stepped {
                // A stepped run waits for the answer (see `outside.rs`).
                self.outside.control = Some(ControlAsk { agent, observations });
                return;
            }
            let Some(driver) = self.driver.as_deref_mut() else {
                return; // nothing decides for it: it holds
            };
            match driver.decide(&spec.name, now, &observations) {
                Some(asked) => {
                    let service_of = &self.layout.replica_service;
                    actions = external_actions(spec, bounds, service_of, asked);
                }
                None => {
                    schedule.halt();
                    return;
                }
            }
        }
        match &mut self.layer().agents[agent as usize].controller {
            Controller::Remediator(r) => actions = r.probes(&serving),
            controller => controller.decide(&observations, &mut actions),
        }
        for action in actions {
            let saw = action_service(&action.action)
                .and_then(|s| observations.iter().find(|o| o.service == s))
                .copied();
            self.carry_out(agent, action, saw, schedule);
        }
    }

    /// Carries out one action of `agent`, having seen `saw` (if it concerns a service).
    pub(super) fn carry_out(
        &mut self,
        agent: u32,
        action: ControlAction,
        saw: Option<Observation>,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let spec = self.spec(agent);
        let measured = self.recorder.measures(now);
        let ControlAction { action, reason } = action;
        let (name, service, replica, value): (
            &'static str,
            ServiceId,
            Option<ReplicaId>,
            Option<String>,
        ) = match &action {
            Action::Probe { replica } => {
                self.send_probe(agent, *replica, schedule);
                return;
            }
            Action::Scale { service, to } => {
                let (removal, provisioning) = match &spec.kind {
                    AgentKind::Autoscaler(a) => (a.removal, Some(a.provisioning.clone())),
                    AgentKind::External(e) => (e.removal, Some(e.provisioning.clone())),
                    _ => (Removal::Drain, None),
                };
                let from = self.provisioned(*service);
                let layer = self.control.as_deref_mut().expect("control agents exist");
                let delays = &mut layer.agents[agent as usize].delays;
                let mut draws = Vec::new();
                if let Some(dist) = &provisioning {
                    draws.extend((from..*to).map(|_| dist.sample(delays)));
                }
                let mut next = draws.into_iter();
                let groups = self.layout.scaling_groups(self.scenario, &spec.groups, *service);
                let change = self.scale_service(
                    *service,
                    *to,
                    super::capacity::Scaling { groups: &groups, removal, measured },
                    || next.next().unwrap_or(SimDuration::ZERO),
                    schedule,
                );
                if change == 0 {
                    return;
                }
                self.check_reversal(agent, *service, change > 0, now, measured);
                ("scale", *service, None, Some(self.provisioned(*service).to_string()))
            }
            Action::Restart { replica } => {
                let restart_delay = match &spec.kind {
                    AgentKind::Remediator(r) => &r.restart_delay,
                    AgentKind::External(e) => &e.restart_delay,
                    _ => unreachable!("only remediators and external agents restart"),
                };
                let layer = self.control.as_deref_mut().expect("control agents exist");
                let delay = restart_delay.sample(&mut layer.agents[agent as usize].delays);
                if !self.restart(*replica, delay, schedule) {
                    return;
                }
                let service = self.layout.replica_service[replica.index()];
                if measured {
                    self.recorder.restarted(self.layout.replica_group[replica.index()]);
                }
                ("restart", service, Some(*replica), None)
            }
            Action::Eject { replica } => {
                let eject_for = match &spec.kind {
                    AgentKind::Remediator(r) => r.eject_for,
                    AgentKind::External(e) => e.eject_for,
                    _ => unreachable!("only remediators and external agents eject"),
                };
                if !self.eject(*replica, eject_for, schedule) {
                    return;
                }
                let service = self.layout.replica_service[replica.index()];
                if measured {
                    self.recorder.ejected(self.layout.replica_group[replica.index()]);
                }
                ("eject", service, Some(*replica), None)
            }
            Action::Readmit { replica } => {
                if !self.readmit(*replica, schedule) {
                    return;
                }
                ("readmit", self.layout.replica_service[replica.index()], Some(*replica), None)
            }
            Action::Escalate { service, replicas } => {
                let AgentKind::Remediator(r) = &spec.kind else {
                    unreachable!("only remediators escalate")
                };
                let human = r.escalate.expect("an escalating remediator names its human service");
                let layer = self.control.as_deref_mut().expect("control agents exist");
                let id = layer.next_escalation;
                layer.next_escalation += 1;
                layer.escalations.insert(
                    id,
                    Escalation { agent, service: *service, replicas: replicas.clone() },
                );
                let work = self.scenario.services[human.index()]
                    .service_time
                    .sample(&mut layer.agents[agent as usize].delays);
                self.create_escalation_job(human, work, id, schedule);
                if measured {
                    self.recorder.escalated_by_agent();
                }
                ("escalate", *service, None, Some(format!("{} replicas", replicas.len())))
            }
            Action::SetArm { service, arm } => {
                let chosen = match &spec.kind {
                    AgentKind::External(e) => {
                        if let Some(route) = self.routes[service.index()].as_mut() {
                            route.current = *arm;
                        }
                        e.arms[*arm].kind().name().to_owned()
                    }
                    AgentKind::Adaptive(a) => {
                        match &a.arms {
                            Arms::Policies(_) => {
                                if let Some(route) = self.routes[service.index()].as_mut() {
                                    route.current = *arm;
                                }
                            }
                            Arms::Targets { autoscaler, values } => {
                                let tuned = &self.scenario.control.agents[*autoscaler];
                                let index = tuned.services.iter().position(|s| s == service);
                                let index = index
                                    .expect("a tuning bandit acts on the autoscaler's services");
                                let tuned = &mut self.layer().agents[*autoscaler].controller;
                                let Controller::Autoscaler(scaler) = tuned else {
                                    unreachable!("validation: a tuning bandit tunes an autoscaler")
                                };
                                scaler.set_target(index, values[*arm]);
                            }
                        }
                        a.arms.name(*arm)
                    }
                    _ => unreachable!("only adaptive and external agents set arms"),
                };
                ("set_arm", *service, None, Some(chosen))
            }
        };
        let replica_name = replica.map(|r| self.replica_name(r));
        let service_name = &self.scenario.services[service.index()].name;
        if O::ACTIVE {
            let what = match (&replica_name, &value) {
                (Some(r), _) => format!("{} {name} {r}", spec.name),
                (None, Some(v)) => format!("{} {name} {service_name} -> {v}", spec.name),
                (None, None) => format!("{} {name} {service_name}", spec.name),
            };
            self.observer.control_acted(now, &what);
        }
        let layer = self.control.as_deref_mut().expect("control agents exist");
        if layer.audit.len() < layer.audit_limit {
            layer.audit.push(ControlRecord {
                at: now,
                agent: spec.name.clone(),
                kind: spec.kind.name(),
                action: name,
                service: service_name.clone(),
                replica: replica_name,
                value,
                saw: saw.map(observation_figures).unwrap_or_default(),
                reason,
            });
        }
    }

    /// Counts a scaling action that reverses earlier ones on the same service: a flap when
    /// the same agent's last action there was the opposite, within its stabilisation window
    /// (two periods without one); a conflict when another agent's last action there was the
    /// opposite, within one period of this agent. One action can be both.
    fn check_reversal(
        &mut self,
        agent: u32,
        service: ServiceId,
        up: bool,
        now: SimTime,
        measured: bool,
    ) {
        let spec = self.spec(agent);
        let own_window = match &spec.kind {
            AgentKind::Autoscaler(a) if a.stabilisation > SimDuration::ZERO => a.stabilisation,
            _ => spec.period.mul_f64(2.0),
        };
        let layer = self.control.as_deref_mut().expect("control agents exist");
        let within = |s: &Scaled, span: SimDuration| now.saturating_since(s.at) <= span;
        let mine = layer.scaled.iter().rev().find(|s| s.service == service && s.agent == agent);
        let flap = mine.is_some_and(|s| s.up != up && within(s, own_window));
        let theirs = layer.scaled.iter().rev().find(|s| s.service == service && s.agent != agent);
        let conflict = theirs.is_some_and(|s| s.up != up && within(s, spec.period));
        layer.scaled.push(Scaled { at: now, agent, service, up });
        // Only the last action of each agent on each service can matter; keep the log short.
        if layer.scaled.len() > 4_096 {
            let mut seen = std::collections::BTreeSet::new();
            let mut kept: Vec<Scaled> = layer
                .scaled
                .iter()
                .rev()
                .filter(|s| seen.insert((s.agent, s.service)))
                .copied()
                .collect();
            kept.reverse();
            layer.scaled = kept;
        }
        if measured {
            if flap {
                self.recorder.flapped();
            }
            if conflict {
                self.recorder.conflicted();
            }
        }
    }

    /// A replica's name as results show it: `service[index]`.
    pub(super) fn replica_name(&self, replica: ReplicaId) -> String {
        let service = self.layout.replica_service[replica.index()];
        let first = self.layout.service_replicas[service.index()].start;
        format!("{}[{}]", self.scenario.services[service.index()].name, replica.0 - first)
    }

    /// A person answered escalation `id` (or it failed): the remediator acts on it.
    pub(super) fn escalation_answered(
        &mut self,
        id: u32,
        completed: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(e) = self.layer().escalations.remove(&id) else { return };
        let layer = self.layer();
        let Controller::Remediator(r) = &mut layer.agents[e.agent as usize].controller else {
            unreachable!("escalations belong to remediators")
        };
        let actions = if completed {
            r.on_escalation_answered(e.service, &e.replicas)
        } else {
            r.on_escalation_answered(e.service, &[])
        };
        for action in actions {
            self.carry_out(e.agent, action, None, schedule);
        }
    }
}

/// What an external agent's driver asked, as the actions the world carries out: scaling
/// clamped to the agent's bounds, arms within its list, nothing outside its services.
pub(super) fn external_actions(
    spec: &ControlAgent,
    bounds: &crate::scenario::External,
    service_of: &[ServiceId],
    asked: Vec<Action>,
) -> Vec<ControlAction> {
    asked
        .into_iter()
        .filter_map(|action| match action {
            Action::Scale { service, to } if spec.services.contains(&service) => {
                let to = to.clamp(bounds.min_replicas, bounds.max_replicas);
                Some(Action::Scale { service, to })
            }
            Action::SetArm { service, arm }
                if spec.services.contains(&service) && arm < bounds.arms.len() =>
            {
                Some(Action::SetArm { service, arm })
            }
            Action::Restart { replica }
            | Action::Eject { replica }
            | Action::Readmit { replica }
                if service_of.get(replica.index()).is_some_and(|s| spec.services.contains(s)) =>
            {
                Some(action)
            }
            _ => None,
        })
        .map(|action| ControlAction { action, reason: "the driver asked".to_owned() })
        .collect()
}

/// The service an action concerns, if it names one.
pub(super) fn action_service(action: &Action) -> Option<ServiceId> {
    match action {
        Action::Scale { service, .. }
        | Action::Escalate { service, .. }
        | Action::SetArm { service, .. } => Some(*service),
        _ => None,
    }
}

/// An observation's figures, for the audit log.
fn observation_figures(o: Observation) -> Vec<(&'static str, f64)> {
    let mut figures = vec![
        ("provisioned", f64::from(o.provisioned)),
        ("ready", f64::from(o.ready)),
        ("span_s", o.span_s),
        ("busy_slots", o.busy_slots),
        ("queued", o.queued),
        ("requests", o.requests as f64),
        ("failures", o.failures as f64),
        ("slo_missed", o.slo_missed as f64),
    ];
    if let Some(u) = o.utilisation() {
        figures.push(("utilisation", u));
    }
    if let Some(l) = o.latency_mean_s {
        figures.push(("latency_mean_s", l));
    }
    if let Some(l) = o.latency_p99_s {
        figures.push(("latency_p99_s", l));
    }
    figures
}
