//! Health checks in the world (docs/model.md section 10): a remediator's probe travels to
//! its replica as a message over the network, and the replica answers as the probe kind
//! says: a liveness probe at once, an in-band probe only when the requests ahead of it in
//! the queue have left and a slot is free (so a saturated replica looks unhealthy). No
//! answer before the timeout counts as a failed check.

use super::control::ControlTimer;
use super::event::Event;
use super::network::{Agent, Body};
use super::{Observer, World};
use crate::control::Controller;
use crate::engine::Schedule;
use crate::ids::ReplicaId;
use crate::scenario::{AgentKind, Probe};

/// A health check in flight.
#[derive(Clone, Copy, Debug)]
pub(super) struct OpenProbe {
    pub(super) agent: u32,
    pub(super) replica: ReplicaId,
}

/// A health check waiting in a replica's queue (`in_band`): answered when the requests
/// ahead of it have left the queue and a slot is free.
#[derive(Clone, Copy, Debug)]
pub(super) struct WaitingProbe {
    probe: u32,
    from: Agent,
    ahead: u32,
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    pub(super) fn send_probe(
        &mut self,
        agent: u32,
        replica: ReplicaId,
        schedule: &mut Schedule<Event>,
    ) {
        let AgentKind::Remediator(r) = &self.spec(agent).kind else {
            unreachable!("only remediators probe")
        };
        let timeout = r.timeout;
        let layer = self.layer();
        let probe = layer.next_probe_id();
        layer.open_probes.insert(probe, OpenProbe { agent, replica });
        self.set_control_timer(timeout, ControlTimer::ProbeTimeout { probe }, schedule);
        self.send(
            Agent::Controller(agent),
            Agent::Replica(replica),
            Body::Probe { agent, probe },
            schedule,
        );
    }

    /// A health check reached its replica, which is up: it answers, or queues it.
    pub(super) fn on_probe(
        &mut self,
        from: Agent,
        replica: ReplicaId,
        agent: u32,
        probe: u32,
        schedule: &mut Schedule<Event>,
    ) {
        let AgentKind::Remediator(r) = &self.spec(agent).kind else {
            unreachable!("only remediators probe")
        };
        let load = self.loads[replica.index()];
        let service = &self.scenario.services[self.layout.replica_service[replica.index()].index()];
        let draining =
            self.lifecycle[replica.index()].presence != super::capacity::Presence::Serving;
        let healthy = match r.probe {
            Probe::Liveness => !draining,
            Probe::InBand => {
                if draining || load.queued >= self.layout.replica_queue_capacity[replica.index()] {
                    false
                } else if load.running < load.slots
                    && service.working_hours.is_none_or(|h| h.working(schedule.now()))
                {
                    true
                } else {
                    let layer = self.layer();
                    layer.waiting[replica.index()].push(WaitingProbe {
                        probe,
                        from,
                        ahead: load.queued,
                    });
                    self.probes_waiting += 1;
                    return;
                }
            }
        };
        self.send(Agent::Replica(replica), from, Body::ProbeReply { probe, healthy }, schedule);
    }

    /// A request left `replica`'s queue: health checks behind it move up, and those now at
    /// the head are answered (they take no time of a slot of their own).
    pub(super) fn serve_waiting_probes(
        &mut self,
        replica: ReplicaId,
        popped: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let layer = self.layer();
        let list = &mut layer.waiting[replica.index()];
        if list.is_empty() {
            return;
        }
        if popped {
            for w in list.iter_mut() {
                w.ahead = w.ahead.saturating_sub(1);
            }
        }
        let due: Vec<WaitingProbe> = list.iter().copied().filter(|w| w.ahead == 0).collect();
        list.retain(|w| w.ahead > 0);
        self.probes_waiting -= due.len() as u32;
        for w in due {
            let reply = Body::ProbeReply { probe: w.probe, healthy: true };
            self.send(Agent::Replica(replica), w.from, reply, schedule);
        }
    }

    /// A replica went down: the health checks waiting there die with it.
    pub(super) fn drop_waiting_probes(&mut self, replica: ReplicaId) {
        if let Some(layer) = self.control.as_deref_mut() {
            let n = std::mem::take(&mut layer.waiting[replica.index()]).len();
            self.probes_waiting -= n as u32;
        }
    }

    /// A health check's answer reached its remediator.
    pub(super) fn on_probe_reply(
        &mut self,
        probe: u32,
        healthy: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(open) = self.layer().open_probes.remove(&probe) else { return };
        self.checked(open, healthy, schedule);
    }

    pub(super) fn probe_failed(&mut self, probe: u32, schedule: &mut Schedule<Event>) {
        let Some(open) = self.layer().open_probes.remove(&probe) else { return };
        self.checked(open, false, schedule);
    }

    fn checked(&mut self, open: OpenProbe, healthy: bool, schedule: &mut Schedule<Event>) {
        let service = self.layout.replica_service[open.replica.index()];
        let layer = self.layer();
        let Controller::Remediator(r) = layer.controller(open.agent) else {
            unreachable!("probes belong to remediators")
        };
        let actions = r.on_check(open.replica, service, healthy);
        for action in actions {
            self.carry_out(open.agent, action, None, schedule);
        }
    }
}
