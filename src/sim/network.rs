//! Messages between agents: who the agents are (orchestrators, replicas' workers, the
//! policy's own agents), what a message says, and how it travels: counted when sent,
//! dropped by partitions and loss, delayed by the link's latency (`links.rs`), lost at a
//! crashed receiver, and finally acted on by the receiving agent. An instant link with no
//! fault active delivers within the sending event.

use super::event::Event;
use super::links;
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::{AgentId, OrchestratorId, ReplicaId};
use crate::policy::{Delivery, Endpoint, MessageKind, PolicyView};
use crate::scenario::FaultEffect;
use crate::time::{SimDuration, SimTime};
use rand::Rng;

/// Who sends and receives messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Agent {
    Orchestrator(OrchestratorId),
    Replica(ReplicaId),
    /// An agent of the policy (see [`Endpoint::PolicyAgent`]).
    Policy(u32),
    /// A control agent (by its index in the scenario); it sits with the orchestrators on
    /// the network and is never down.
    Controller(u32),
}

/// What a message says. Attempts are named by slab key and serial number.
#[derive(Clone, Copy, Debug)]
pub(super) enum Body {
    /// "Execute this attempt", to a replica.
    Assign { attempt: usize, serial: u64 },
    /// "This attempt is done (or failed)", back to whoever placed it.
    Result { attempt: usize, serial: u64, succeeded: bool },
    /// "Stop this attempt", from the requester to the replica.
    Cancel { attempt: usize, serial: u64 },
    /// One of the policy's own messages; only the policy reads its content.
    Policy { kind: MessageKind, token: u64 },
    /// A control agent's health check, to a replica.
    Probe { agent: u32, probe: u32 },
    /// A replica's answer to a health check.
    ProbeReply { probe: u32, healthy: bool },
}

#[derive(Debug)]
pub(super) struct Message {
    pub(super) from: Agent,
    pub(super) to: Agent,
    pub(super) sent: SimTime,
    pub(super) body: Body,
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn agent_id(&self, agent: Agent) -> AgentId {
        match agent {
            Agent::Orchestrator(o) => AgentId(o.0),
            Agent::Replica(r) => self.layout.replica_agent(r),
            Agent::Policy(_) | Agent::Controller(_) => {
                unreachable!("only orchestrators and replicas place tasks")
            }
        }
    }

    /// How a policy names an agent.
    pub(super) fn endpoint(&self, agent: Agent) -> Endpoint {
        match agent {
            Agent::Policy(c) => Endpoint::PolicyAgent(c),
            other => Endpoint::Agent(self.agent_id(other)),
        }
    }

    /// The agent a policy names.
    pub(super) fn agent_of(&self, endpoint: Endpoint) -> Agent {
        match endpoint {
            Endpoint::PolicyAgent(c) => Agent::Policy(c),
            Endpoint::Agent(a) => match a.0.checked_sub(self.scenario.orchestrators) {
                Some(r) => Agent::Replica(ReplicaId(r)),
                None => Agent::Orchestrator(OrchestratorId(a.0)),
            },
        }
    }

    /// Whether an agent is crashed.
    pub(super) fn agent_down(&self, agent: Agent) -> bool {
        match agent {
            Agent::Orchestrator(o) => self.orchestrator_down[o.index()] > 0,
            Agent::Replica(r) => self.down[r.index()] > 0,
            Agent::Policy(c) => self.policy_agent_down[c as usize] > 0,
            Agent::Controller(_) => false,
        }
    }

    /// The network class of an agent: orchestrators, or the service of a replica.
    pub(super) fn agent_class(&self, agent: Agent) -> usize {
        match agent {
            // The policy's agents sit with the orchestrators.
            Agent::Orchestrator(_) | Agent::Policy(_) | Agent::Controller(_) => {
                links::ORCHESTRATORS
            }
            Agent::Replica(r) => 1 + self.layout.replica_service[r.index()].index(),
        }
    }

    /// Whether a world message can be received within the event that sends it: every link
    /// is instant, no fault is active, and no agent is out for the control layer (so no
    /// agent is down). Called whenever one of those changes.
    pub(super) fn refresh_fast_send(&mut self) {
        self.fast_send =
            self.links.all_instant() && self.active_faults.is_empty() && self.agents_out == 0;
    }

    /// Whether an active partition separates two agents; counts the drop against it.
    pub(super) fn partitioned(&mut self, from: usize, to: usize) -> bool {
        let (a, b) = (self.class_groups[from], self.class_groups[to]);
        for &f in &self.active_faults {
            if let FaultEffect::Partition { groups } = self.faults[f].effect {
                if links::between_groups(a, b, groups) {
                    self.faults[f].touched += 1;
                    return true;
                }
            }
        }
        false
    }

    /// Whether an active message-loss fault drops this message; counts it.
    pub(super) fn lost_to_fault(&mut self, from: usize, to: usize) -> bool {
        let (a, b) = (self.class_groups[from], self.class_groups[to]);
        for k in 0..self.active_faults.len() {
            let f = self.active_faults[k];
            if let FaultEffect::MessageLoss { loss, groups } = self.faults[f].effect {
                let applies = groups.is_none_or(|pair| links::between_groups(a, b, pair));
                if applies && self.network_rng.random::<f64>() < loss {
                    self.faults[f].touched += 1;
                    return true;
                }
            }
        }
        false
    }

    /// Sends a message: counts it, maybe loses it, and delivers it after the link's latency
    /// (within this event when the link is instant and no fault is active).
    ///
    /// A policy's own message always goes through the event queue, even over an instant
    /// link, so a protocol's steps are events of their own and never nest.
    #[inline(always)]
    pub(super) fn send(
        &mut self,
        from: Agent,
        to: Agent,
        body: Body,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let kind = match body {
            Body::Assign { .. } => self.handoff_kind,
            Body::Result { .. } => MessageKind::Result,
            Body::Cancel { .. } => MessageKind::Cancel,
            Body::Policy { kind, .. } => kind,
            Body::Probe { .. } | Body::ProbeReply { .. } => MessageKind::Health,
        };
        self.recorder.message_sent(now, kind);
        let queued = matches!(body, Body::Policy { .. });
        if !queued && self.fast_send {
            // Every link is instant and nothing is broken (no agent is down without an active
            // fault, or a control agent's action): it is received now, with no lookups and no
            // message record.
            debug_assert!(!self.agent_down(to), "an agent is down without an active fault");
            self.receive(from, to, now, body, schedule);
            return;
        }
        let (fc, tc) = (self.agent_class(from), self.agent_class(to));
        if !self.active_faults.is_empty()
            && (self.partitioned(fc, tc) || self.lost_to_fault(fc, tc))
        {
            self.message_lost(body, now);
            return;
        }
        let link = self.links.between(fc, tc);
        let message = Message { from, to, sent: now, body };
        if link.instant && !queued {
            self.deliver(message, schedule);
            return;
        }
        if link.loss > 0.0 && self.network_rng.random::<f64>() < link.loss {
            self.message_lost(body, now);
            return;
        }
        let latency = if link.instant {
            SimDuration::ZERO
        } else {
            link.latency.sample(&mut self.network_rng)
        };
        let key = self.messages.insert(message);
        schedule.after(latency, Event::MessageDelivered(key as u32));
    }

    /// A message vanished. A lost hand-off means its attempt never reaches the replica: its
    /// server side is over (the requester still waits, until its timeout).
    pub(super) fn message_lost(&mut self, body: Body, now: SimTime) {
        self.observer.message_lost(now);
        if let Body::Assign { attempt, serial } = body {
            if self.attempt(attempt, serial).is_some() {
                self.close_server(attempt, now);
            }
        }
    }

    pub(super) fn on_message_delivered(&mut self, key: u32, schedule: &mut Schedule<Event>) {
        let message = self.messages.remove(key as usize);
        if !self.active_faults.is_empty()
            && self.partitioned(self.agent_class(message.from), self.agent_class(message.to))
        {
            // A partition that began while the message was in flight.
            self.message_lost(message.body, schedule.now());
            return;
        }
        self.deliver(message, schedule);
    }

    pub(super) fn deliver(&mut self, message: Message, schedule: &mut Schedule<Event>) {
        let now = schedule.now();
        if self.agent_down(message.to) {
            match message.to {
                Agent::Policy(c) => self.touch_policy_agent_fault(c),
                Agent::Orchestrator(o) => self.touch_orchestrator_fault(o.0),
                Agent::Replica(r) => self.touch_replica_faults(r, true),
                Agent::Controller(_) => unreachable!("control agents are never down"),
            }
            self.observer.message_lost(now);
            // A hand-off to a crashed replica is lost, and so is the attempt it carried.
            if let (Agent::Replica(_), Body::Assign { attempt, serial }) =
                (message.to, message.body)
            {
                if self.attempt(attempt, serial).is_some() {
                    self.close_server(attempt, now);
                }
            }
            return;
        }
        self.receive(message.from, message.to, message.sent, message.body, schedule);
    }

    /// A message sent at `sent` reached an agent that is up: it acts on it.
    #[inline(always)]
    pub(super) fn receive(
        &mut self,
        from: Agent,
        to: Agent,
        sent: SimTime,
        body: Body,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        if O::ACTIVE {
            let link = self.links.between(self.agent_class(from), self.agent_class(to));
            self.observer.message_delivered(sent, now, link.latency.min());
        }
        match (to, body) {
            (Agent::Replica(replica), Body::Assign { attempt, serial }) => {
                if self.attempt(attempt, serial).is_some() {
                    self.admit(attempt, replica, schedule);
                }
            }
            (Agent::Replica(_), Body::Cancel { attempt, serial }) => {
                self.cancel(attempt, serial, schedule)
            }
            (_, Body::Result { attempt, serial, succeeded }) => {
                self.on_result(attempt, serial, succeeded, schedule)
            }
            (Agent::Replica(replica), Body::Probe { agent, probe }) => {
                self.on_probe(from, replica, agent, probe, schedule)
            }
            (Agent::Controller(_), Body::ProbeReply { probe, healthy }) => {
                self.on_probe_reply(probe, healthy, schedule)
            }
            (to, Body::Policy { kind, token }) => {
                let delivery = Delivery {
                    from: self.endpoint(from),
                    to: self.endpoint(to),
                    kind,
                    token,
                    sent,
                };
                let view = acting_view!(self, now);
                self.policy.on_message(&view, &delivery);
                self.apply_outbox(schedule);
            }
            (to, body) => unreachable!("message {body:?} cannot be addressed to {to:?}"),
        }
    }
}
