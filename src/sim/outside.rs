//! Decisions a program outside the engine takes while the run waits (docs/model.md section
//! 11): an `external` control agent's at its period, and each placement on one steered
//! service. The world leaves what the decider sees here, the engine stops after the event
//! (`stepping.rs`), and the answer is carried out at the same simulated time before any
//! other event: waiting changes nothing the run does.

use std::collections::VecDeque;

use super::control::{action_service, external_actions};
use super::event::Event;
use super::{Observer, World};
use crate::control::{Action, Observation};
use crate::engine::Schedule;
use crate::ids::{AgentId, ReplicaId, ServiceId};
use crate::policy::{Decision, PolicyView, Task, Ticket};
use crate::scenario::AgentKind;
use crate::time::{SimDuration, SimTime};

/// An `external` agent's decision, waiting for its answer.
#[derive(Clone, Debug)]
pub struct ControlAsk {
    /// The agent (its index among the scenario's agents).
    pub agent: u32,
    /// What it sees of each of its services, in the order of its `services`.
    pub observations: Vec<Observation>,
}

/// A placement on the steered service, waiting for its answer.
#[derive(Clone, Debug)]
pub struct PlacementAsk {
    /// How the world finishes it.
    ticket: Ticket,
    /// When it was asked.
    pub at: SimTime,
    /// The agent placing it (an orchestrator, or a replica's worker placing a call).
    pub agent: AgentId,
    /// The task's work, where the service's sizes are known.
    pub work: Option<SimDuration>,
    /// Every replica of the service, in id order: the action is an index into this list.
    pub replicas: Vec<ReplicaFigures>,
}

/// What a placement sees of one replica: what a dispatcher's view shows any policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaFigures {
    /// The replica.
    pub replica: ReplicaId,
    /// Whether it may be chosen now (a member of the service, not excluded by a breaker or
    /// an ejection).
    pub candidate: bool,
    /// Requests executing.
    pub running: u32,
    /// Requests waiting in its queue.
    pub queued: u32,
    /// Its concurrency slots.
    pub slots: u32,
    /// Its speed (work per second of a slot).
    pub speed: f64,
    /// Time to finish what it holds, where the service's sizes are known.
    pub work_left: Option<SimDuration>,
}

/// The decisions waiting for the outside, and which ones are taken there.
#[derive(Debug)]
pub(super) struct Outside {
    /// External agents wait for an answer (a stepped run), rather than asking a driver.
    pub(super) stepped: bool,
    /// The service whose placements are decided outside (`NOBODY` for none).
    pub(super) steered: ServiceId,
    pub(super) control: Option<ControlAsk>,
    pub(super) placements: VecDeque<PlacementAsk>,
    /// Replica lists of answered placements, reused.
    spare: Vec<Vec<ReplicaFigures>>,
}

/// No service: nothing is steered.
const NOBODY: ServiceId = ServiceId(u32::MAX);

impl Default for Outside {
    fn default() -> Self {
        Outside {
            stepped: false,
            steered: NOBODY,
            control: None,
            placements: VecDeque::new(),
            spare: Vec::new(),
        }
    }
}

impl Outside {
    /// Whether a decision waits for an answer.
    #[inline]
    pub(super) fn waiting(&self) -> bool {
        self.control.is_some() || !self.placements.is_empty()
    }

    /// Leaves the placement of `task` (on the steered service, whose replicas are
    /// `replicas`) for the outside, with what `view` shows of each replica; it is deferred.
    pub(super) fn ask(
        &mut self,
        view: &PolicyView<'_>,
        task: &Task,
        replicas: std::ops::Range<u32>,
    ) -> Decision {
        let mut figures = self.spare.pop().unwrap_or_default();
        figures.extend(replicas.map(ReplicaId).map(|replica| {
            let load = view.load(replica);
            ReplicaFigures {
                replica,
                candidate: false,
                running: load.running,
                queued: load.queued,
                slots: load.slots,
                speed: view.speed(replica),
                work_left: view.work_left(replica),
            }
        }));
        let first = figures.first().map_or(0, |f| f.replica.0);
        for r in view.candidates(task.service) {
            figures[(r.0 - first) as usize].candidate = true;
        }
        self.placements.push_back(PlacementAsk {
            ticket: task.ticket,
            at: view.now(),
            agent: task.agent,
            work: view.task_work(),
            replicas: figures,
        });
        Decision::Defer
    }
}

impl<O: Observer, const C: bool> World<'_, '_, O, C> {
    /// Steers `service`'s placements to the outside, and makes external agents wait for
    /// answers: the world of a stepped run (before its first event).
    pub(super) fn steer(&mut self, service: Option<ServiceId>) {
        self.outside.stepped = true;
        if let Some(s) = service {
            self.outside.steered = s;
        }
    }

    /// Whether the steered service's sizes are known (its placements see them).
    pub(super) fn steered_sizes(&self) -> bool {
        self.scenario.services.get(self.outside.steered.index()).is_some_and(|s| s.sizes_known)
    }

    /// Carries out the waiting external agent's answer, as a driver's (scaling clamped to
    /// its bounds, nothing outside its services); no answer is holding.
    pub(super) fn answer_control(&mut self, asked: Vec<Action>, schedule: &mut Schedule<Event>) {
        let Some(ask) = self.outside.control.take() else { return };
        let spec = self.spec(ask.agent);
        let AgentKind::External(bounds) = &spec.kind else {
            unreachable!("only external agents wait for the outside")
        };
        let actions = external_actions(spec, bounds, &self.layout.replica_service, asked);
        for action in actions {
            let saw = action_service(&action.action)
                .and_then(|s| ask.observations.iter().find(|o| o.service == s))
                .copied();
            self.carry_out(ask.agent, action, saw, schedule);
        }
    }

    /// Carries out the oldest waiting placement's answer: the replica at `choice` in its
    /// list, or a rejection (no choice, or a replica that is not a candidate).
    pub(super) fn answer_placement(
        &mut self,
        choice: Option<usize>,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(mut ask) = self.outside.placements.pop_front() else { return };
        let replica =
            choice.and_then(|i| ask.replicas.get(i)).filter(|f| f.candidate).map(|f| f.replica);
        self.commit(ask.ticket, replica, None, false, schedule);
        self.apply_outbox(schedule);
        ask.replicas.clear();
        self.outside.spare.push(ask.replicas);
    }

    /// Jobs in the system now (arrived and not yet ended, measured or not).
    pub(super) fn jobs_in_system(&self) -> usize {
        self.jobs.len()
    }
}
