//! `central`: one scheduler agent places every task, from a global view fed by heartbeats.
//!
//! Protocol (every arrow is a message over the simulated network):
//! - each replica's worker sends a `heartbeat` with its load (requests running and queued)
//!   to the scheduler it knows, every `heartbeat` period (phases staggered by replica);
//! - a deciding agent sends a `request` to the scheduler and defers the placement; the
//!   scheduler serves requests one at a time, `decision_time` each, choosing among the live
//!   replicas of the service (a heartbeat within the last `missed` periods) the one with the
//!   least expected work per unit of capacity, `(expected load + 1) / (slots x speed)`, ties
//!   at random, the expected load being the last report plus the scheduler's assignments
//!   since, drained by the completions expected since (`estimate = "aged"`, the default,
//!   in `aged.rs`) or not (`"reported"`); it answers with a `reply`, and the agent hands the
//!   task to that replica;
//! - an agent re-sends a request unanswered after `request_timeout`;
//! - with `standby`, the active scheduler sends a heartbeat to the standby every period; after
//!   `detection_timeout` of silence the standby takes over: it sends `leader` to every agent
//!   (workers first), which re-send their open requests to it, and workers report at once,
//!   so it rebuilds its view from heartbeats. Without a standby, placement stops while the
//!   scheduler is down and resumes when it comes back (empty, rebuilding from heartbeats).
//!
//! A crashed scheduler loses its queue and its view. A scheduler that comes back while the
//! other one is active becomes the standby. A request that reaches a scheduler which is not
//! active is answered with `leader`, naming the active one as far as it knows.

use std::collections::{BTreeMap, VecDeque};

use super::messaging::{pack, unpack, DeadlineQueue};
use super::{
    argmin_random_tie, AuditRecord, CentralParams, Decision, Delivery, Endpoint, LoadEstimate,
    MessageKind, Policy, PolicyView, Task, Ticket, Topology,
};
use crate::engine::SimRng;
use crate::ids::{AgentId, ReplicaId, ServiceId};
use crate::time::{SimDuration, SimTime};

mod aged;
use super::fluid::average;
use aged::{drain_sample, AgedView, DRAIN_WEIGHT, SERVICE_DRAIN_WEIGHT};

// Timer tags.
const BEAT: u8 = 1;
const PING: u8 = 2;
const WATCH: u8 = 3;
const DECIDE: u8 = 4;
const RESEND: u8 = 5;
// Message tags.
const REQUEST: u8 = 10;
const REPLY: u8 = 11;
const LEADER: u8 = 12;
const REPORT: u8 = 13;
const ALIVE: u8 = 14;

/// What a scheduler knows of one replica.
#[derive(Clone, Copy, Debug, Default)]
struct ReplicaView {
    reported: u32,
    assigned_since: u32,
    last_beat: Option<SimTime>,
    /// When the replica sent the report `reported` comes from (its registration, for one
    /// not heard from yet).
    reported_at: SimTime,
}

/// One scheduler agent (the primary, or the standby).
#[derive(Debug)]
struct Scheduler {
    active: bool,
    /// Bumped at each crash, so timers set before it are ignored.
    epoch: u32,
    view: Vec<ReplicaView>,
    queue: VecDeque<(u32, SimTime)>,
    /// Requests with no live candidate, waiting for a heartbeat.
    blocked: Vec<u32>,
    /// The request being decided.
    serving: Option<u32>,
    /// When the standby last heard the active scheduler.
    last_heard: SimTime,
    /// `estimate = "aged"`: per replica, its aged view (empty under `reported`).
    aged: Vec<AgedView>,
    /// Per service, the drain rate per unit of capacity (requests a second per slot at
    /// speed 1) learned from all its replicas' reports, for replicas without their own.
    service_drain: Vec<Option<f64>>,
}

impl Scheduler {
    fn new(active: bool, replicas: usize, services: usize, known: bool, aged: bool) -> Self {
        let beat = if known { Some(SimTime::ZERO) } else { None };
        Scheduler {
            active,
            epoch: 0,
            aged: if aged { vec![AgedView::default(); replicas] } else { Vec::new() },
            service_drain: vec![None; services],
            view: vec![ReplicaView { last_beat: beat, ..ReplicaView::default() }; replicas],
            queue: VecDeque::new(),
            blocked: Vec::new(),
            serving: None,
            last_heard: SimTime::ZERO,
        }
    }
}

/// A placement request, as its agent and the scheduler know it.
#[derive(Clone, Copy, Debug)]
struct Request {
    ticket: Ticket,
    requester: AgentId,
    service: ServiceId,
    sends: u32,
    /// How old the chosen replica's report was when the scheduler decided (set with the
    /// reply).
    staleness: SimDuration,
}

/// The central scheduler policy.
#[derive(Debug)]
pub struct Central {
    params: CentralParams,
    orchestrators: u32,
    agents: u32,
    replica_service: Vec<ServiceId>,
    capacity: Vec<f64>,
    slots: Vec<u32>,
    schedulers: Vec<Scheduler>,
    /// The scheduler each agent sends its requests (and heartbeats) to.
    leader_of: Vec<u32>,
    requests: BTreeMap<u32, Request>,
    next_request: u32,
    /// Re-send deadlines of the open requests, with one timer in the world.
    resends: DeadlineQueue,
    rng: SimRng,
}

impl Central {
    /// The policy for this topology.
    pub fn new(params: CentralParams, topology: &Topology, rng: SimRng) -> Self {
        let replicas = topology.total_replicas() as usize;
        let mut replica_service = vec![ServiceId(0); replicas];
        for (s, range) in topology.service_replicas.iter().enumerate() {
            for r in range.clone() {
                replica_service[r as usize] = ServiceId(s as u32);
            }
        }
        let count = if params.standby { 2 } else { 1 };
        Central {
            params,
            orchestrators: topology.orchestrators,
            agents: topology.agents,
            replica_service,
            capacity: (0..replicas)
                .map(|r| f64::from(topology.slots[r]) * topology.speeds[r])
                .collect(),
            slots: topology.slots.clone(),
            // At the start every replica is known, as registered at deployment.
            schedulers: (0..count)
                .map(|c| {
                    let services = topology.service_replicas.len();
                    let aged = params.estimate == LoadEstimate::Aged;
                    Scheduler::new(c == 0, replicas, services, c == 0, aged)
                })
                .collect(),
            leader_of: vec![0; topology.agents as usize],
            requests: BTreeMap::new(),
            next_request: 0,
            resends: DeadlineQueue::new(pack(RESEND, 0, 0)),
            rng,
        }
    }

    fn worker(&self, replica: u32) -> AgentId {
        AgentId(self.orchestrators + replica)
    }

    fn other(c: u32) -> u32 {
        1 - c
    }

    /// Sends (or re-sends) a request to the scheduler its agent knows.
    fn send_request(&mut self, view: &PolicyView<'_>, id: u32) {
        let Some(request) = self.requests.get_mut(&id) else { return };
        request.sends += 1;
        let leader = self.leader_of[request.requester.index()];
        view.send(
            Endpoint::Agent(request.requester),
            Endpoint::PolicyAgent(leader),
            MessageKind::Request,
            pack(REQUEST, 0, id),
        );
        let sends = request.sends;
        self.resends.push(view, view.now() + self.params.request_timeout, id, sends);
    }

    fn report(&self, view: &PolicyView<'_>, replica: u32) {
        let r = ReplicaId(replica);
        let worker = self.worker(replica);
        let load = view.load(r).outstanding();
        view.send(
            Endpoint::Agent(worker),
            Endpoint::PolicyAgent(self.leader_of[worker.index()]),
            MessageKind::Heartbeat,
            pack(REPORT, replica, load),
        );
    }

    /// Serves queued requests until one needs decision time (or none is left).
    fn serve(&mut self, view: &PolicyView<'_>, c: u32) {
        let now = view.now();
        loop {
            let s = &mut self.schedulers[c as usize];
            if s.serving.is_some() {
                return;
            }
            let Some((id, arrived)) = s.queue.pop_front() else { return };
            if !self.requests.contains_key(&id) {
                continue; // Answered already (a re-sent duplicate).
            }
            view.record_scheduler_wait(now - arrived);
            if self.params.decision_time == SimDuration::ZERO {
                self.decide(view, c, id);
            } else {
                let s = &mut self.schedulers[c as usize];
                s.serving = Some(id);
                view.set_timer(self.params.decision_time, pack(DECIDE, s.epoch, c));
                return;
            }
        }
    }

    /// Decides one request at scheduler `c` and replies, or parks it until a heartbeat.
    fn decide(&mut self, view: &PolicyView<'_>, c: u32, id: u32) {
        let Some(&request) = self.requests.get(&id) else { return };
        let now = view.now();
        let horizon = self.params.heartbeat.as_nanos() * u64::from(self.params.missed);
        let s = &self.schedulers[c as usize];
        // Slices, not vectors, in the loops below: one bounds check per access, no reload.
        let views: &[ReplicaView] = &s.view;
        let live = |r: u32| {
            views[r as usize]
                .last_beat
                .is_some_and(|t| now.saturating_since(t).as_nanos() <= horizon)
        };
        let aged = self.params.estimate == LoadEstimate::Aged;
        let (slots, capacity): (&[u32], &[f64]) = (&self.slots, &self.capacity);
        let fallback = |r: u32| {
            s.service_drain[request.service.index()].map(|rate| rate * capacity[r as usize])
        };
        // The requests expected at the replica now, before this one.
        let expected = |r: u32| {
            let v = &s.view[r as usize];
            if aged {
                s.aged[r as usize].level_at(now, slots[r as usize], fallback(r))
            } else {
                f64::from(v.reported + v.assigned_since)
            }
        };
        let estimate = |r: u32| (expected(r) + 1.0) / self.capacity[r as usize];
        // The service's members, as the registry lists them: replicas added later register
        // there, removed ones leave it.
        let members = view.replicas_of(request.service);
        let live_members = members.iter().map(|r| r.0).filter(|&r| live(r));
        // The default estimate in a loop of its own, small enough to stay inlined (it is
        // the hot path of every placement under central).
        let best = if aged {
            argmin_random_tie(live_members.map(|r| (r, estimate(r))), &mut self.rng)
        } else {
            let reported = |r: u32| {
                let v = &views[r as usize];
                f64::from(v.reported + v.assigned_since + 1) / capacity[r as usize]
            };
            argmin_random_tie(live_members.map(|r| (r, reported(r))), &mut self.rng)
        };
        if view.auditing() {
            view.audit(AuditRecord {
                at: now,
                agent: Endpoint::PolicyAgent(c),
                service: request.service,
                ticket: Some(request.ticket),
                options: members.iter().map(|r| r.0).filter(|&r| live(r)).map(|r| (ReplicaId(r), estimate(r))).collect(),
                option_details: members
                    .iter()
                    .map(|r| r.0)
                    .filter(|&r| live(r))
                    .map(|r| {
                        let v = &s.view[r as usize];
                        let mut details = vec![
                            ("reported", f64::from(v.reported)),
                            ("report_age_ms", now.saturating_since(v.reported_at).as_secs_f64() * 1e3),
                            ("assigned_since", f64::from(v.assigned_since)),
                            ("expected", expected(r)),
                        ];
                        if aged {
                            let rate = s.aged[r as usize].drain_per_s.or(fallback(r));
                            details.push(("drain_per_s", rate.unwrap_or(f64::NAN)));
                        }
                        details
                    })
                    .collect(),
                choice: best.map(ReplicaId),
                reason: match (best, aged) {
                    (Some(_), false) => "least expected work per unit of capacity among live replicas: (reported + assigned_since + 1) / capacity".into(),
                    (Some(_), true) => "least expected work per unit of capacity among live replicas: (expected + 1) / capacity, expected = the report and the assignments since, drained at drain_per_s".into(),
                    (None, _) => "no live replica in the view: waiting for a heartbeat".into(),
                },
            });
        }
        let s = &mut self.schedulers[c as usize];
        let Some(chosen) = best else {
            s.blocked.push(id);
            return;
        };
        if aged {
            let fallback = s.service_drain[request.service.index()]
                .map(|rate| rate * self.capacity[chosen as usize]);
            let v = &mut s.aged[chosen as usize];
            v.level = v.level_at(now, self.slots[chosen as usize], fallback) + 1.0;
            v.at = now;
        }
        s.view[chosen as usize].assigned_since += 1;
        let staleness = now.saturating_since(s.view[chosen as usize].reported_at);
        if let Some(request) = self.requests.get_mut(&id) {
            request.staleness = staleness;
        }
        view.send(
            Endpoint::PolicyAgent(c),
            Endpoint::Agent(request.requester),
            MessageKind::Reply,
            pack(REPLY, chosen, id),
        );
    }

    fn take_over(&mut self, view: &PolicyView<'_>, c: u32) {
        let replicas = self.capacity.len();
        let s = &mut self.schedulers[c as usize];
        s.active = true;
        s.view = vec![ReplicaView::default(); replicas];
        s.aged.fill(AgedView::default());
        s.service_drain.fill(None);
        let epoch = s.epoch;
        // Workers first, so their heartbeats come before the requests re-sent to it.
        let order = (self.orchestrators..self.agents).chain(0..self.orchestrators);
        for agent in order {
            view.send(
                Endpoint::PolicyAgent(c),
                Endpoint::Agent(AgentId(agent)),
                MessageKind::Leader,
                pack(LEADER, c, 0),
            );
        }
        view.set_timer(self.params.heartbeat, pack(PING, epoch, c));
        if view.auditing() {
            view.audit(AuditRecord {
                at: view.now(),
                agent: Endpoint::PolicyAgent(c),
                service: ServiceId(0),
                ticket: None,
                options: Vec::new(),
                option_details: Vec::new(),
                choice: None,
                reason:
                    "takes over as scheduler: the active one was silent for the detection timeout"
                        .into(),
            });
        }
    }

    fn arm_watch(&self, view: &PolicyView<'_>, c: u32) {
        let s = &self.schedulers[c as usize];
        let due = (s.last_heard + self.params.detection_timeout).saturating_since(view.now());
        view.set_timer(due, pack(WATCH, s.epoch, c));
    }
}

impl Policy for Central {
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let id = self.next_request;
        self.next_request = self.next_request.wrapping_add(1);
        self.requests.insert(
            id,
            Request {
                ticket: task.ticket,
                requester: task.agent,
                service: task.service,
                sends: 0,
                staleness: SimDuration::ZERO,
            },
        );
        self.send_request(view, id);
        Decision::Defer
    }

    fn wants_outcomes(&self) -> bool {
        false
    }

    fn world_audits(&self) -> bool {
        false
    }

    fn on_abandoned(&mut self, _view: &PolicyView<'_>, ticket: Ticket) {
        // Its job ended: stop re-sending the request; a scheduler that still holds it skips
        // it (a request no longer here is never decided).
        self.requests.retain(|_, r| r.ticket != ticket);
    }

    fn start(&mut self, view: &PolicyView<'_>) {
        let n = self.capacity.len() as u64;
        for r in 0..n {
            // Staggered phases (heartbeats arrive a few at a time), or all at once.
            let phase = self.params.reports.first(r, n, self.params.heartbeat);
            view.set_timer(phase, pack(BEAT, r as u32, 0));
        }
        if self.schedulers.len() == 2 {
            view.set_timer(self.params.heartbeat, pack(PING, 0, 0));
            self.arm_watch(view, 1);
        }
    }

    fn on_timer(&mut self, view: &PolicyView<'_>, token: u64) {
        let (tag, a, b) = unpack(token);
        match tag {
            BEAT => {
                if view.replica_up(ReplicaId(a)) {
                    self.report(view, a);
                }
                view.set_timer(self.params.heartbeat, token);
            }
            PING => {
                let s = &self.schedulers[b as usize];
                if s.epoch == a && s.active && view.is_up(Endpoint::PolicyAgent(b)) {
                    view.send(
                        Endpoint::PolicyAgent(b),
                        Endpoint::PolicyAgent(Self::other(b)),
                        MessageKind::Heartbeat,
                        pack(ALIVE, b, 0),
                    );
                    view.set_timer(self.params.heartbeat, token);
                }
            }
            WATCH => {
                let s = &self.schedulers[b as usize];
                if s.epoch != a || s.active || !view.is_up(Endpoint::PolicyAgent(b)) {
                    return;
                }
                if view.now() >= s.last_heard + self.params.detection_timeout {
                    self.take_over(view, b);
                } else {
                    self.arm_watch(view, b);
                }
            }
            DECIDE => {
                let s = &mut self.schedulers[b as usize];
                if s.epoch != a {
                    return;
                }
                if let Some(id) = s.serving.take() {
                    self.decide(view, b, id);
                }
                self.serve(view, b);
            }
            RESEND => {
                self.resends.fired();
                while let Some((id, sends)) = self.resends.pop_due(view.now()) {
                    // Answered requests are gone; one re-sent since has a later deadline.
                    if self.requests.get(&id).is_some_and(|r| r.sends == sends) {
                        self.send_request(view, id);
                    }
                }
                let requests = &self.requests;
                self.resends
                    .rearm(view, |id, sends| requests.get(&id).is_some_and(|r| r.sends == sends));
            }
            _ => unreachable!("unknown central timer {token:#x}"),
        }
    }

    fn on_message(&mut self, view: &PolicyView<'_>, message: &Delivery) {
        let (tag, a, b) = unpack(message.token);
        let now = view.now();
        match (message.to, tag) {
            (Endpoint::PolicyAgent(c), REQUEST) => {
                let s = &mut self.schedulers[c as usize];
                if s.active {
                    s.queue.push_back((b, now));
                    self.serve(view, c);
                } else if let Endpoint::Agent(agent) = message.from {
                    // Not the scheduler (any more): redirect to the one that is.
                    view.send(
                        Endpoint::PolicyAgent(c),
                        Endpoint::Agent(agent),
                        MessageKind::Leader,
                        pack(LEADER, Self::other(c), 0),
                    );
                }
            }
            (Endpoint::PolicyAgent(c), REPORT) => {
                let s = &mut self.schedulers[c as usize];
                if !s.active {
                    return;
                }
                if self.params.estimate == LoadEstimate::Aged {
                    let before = s.view[a as usize];
                    let mut drain_per_s = s.aged[a as usize].drain_per_s;
                    let slots = self.slots[a as usize];
                    if let Some(sample) = drain_sample(&before, b, message.sent, slots) {
                        drain_per_s = Some(average(drain_per_s, sample, DRAIN_WEIGHT));
                        let service =
                            &mut s.service_drain[self.replica_service[a as usize].index()];
                        let per_capacity = sample / self.capacity[a as usize];
                        *service = Some(average(*service, per_capacity, SERVICE_DRAIN_WEIGHT));
                    }
                    s.aged[a as usize] =
                        AgedView { level: f64::from(b), at: message.sent, drain_per_s };
                }
                s.view[a as usize] = ReplicaView {
                    reported: b,
                    assigned_since: 0,
                    last_beat: Some(now),
                    reported_at: message.sent,
                };
                // Requests waiting for a live replica of this service get another chance.
                let service = self.replica_service[a as usize];
                let requests = &self.requests;
                let (ready, still): (Vec<u32>, Vec<u32>) = std::mem::take(&mut s.blocked)
                    .into_iter()
                    .partition(|id| requests.get(id).is_some_and(|r| r.service == service));
                s.blocked = still;
                for id in ready {
                    s.queue.push_back((id, now));
                }
                self.serve(view, c);
            }
            (Endpoint::PolicyAgent(c), ALIVE) => {
                self.schedulers[c as usize].last_heard = now;
            }
            (Endpoint::Agent(_), REPLY) => {
                if let Some(request) = self.requests.remove(&b) {
                    view.commit_with_staleness(request.ticket, ReplicaId(a), request.staleness);
                }
            }
            (Endpoint::Agent(agent), LEADER) => {
                if self.leader_of[agent.index()] == a {
                    return;
                }
                self.leader_of[agent.index()] = a;
                if let Some(replica) = agent.0.checked_sub(self.orchestrators) {
                    if view.replica_up(ReplicaId(replica)) {
                        self.report(view, replica);
                    }
                }
                let open: Vec<u32> = self
                    .requests
                    .iter()
                    .filter(|(_, r)| r.requester == agent)
                    .map(|(&id, _)| id)
                    .collect();
                for id in open {
                    self.send_request(view, id);
                }
            }
            _ => unreachable!("central message {message:?} to the wrong agent"),
        }
    }

    fn on_membership(&mut self, view: &PolicyView<'_>, replica: ReplicaId, member: bool) {
        // A replica that joins registers with the schedulers, as one deployed at the start
        // is registered: known, with no load, live from now until its heartbeats say
        // otherwise.
        if member {
            for s in &mut self.schedulers {
                s.view[replica.index()] = ReplicaView {
                    last_beat: Some(view.now()),
                    reported_at: view.now(),
                    ..ReplicaView::default()
                };
                if let Some(aged) = s.aged.get_mut(replica.index()) {
                    *aged = AgedView { at: view.now(), ..AgedView::default() };
                }
            }
        }
    }

    fn on_crash(&mut self, view: &PolicyView<'_>, agent: Endpoint, down: bool) {
        let Endpoint::PolicyAgent(c) = agent else { return };
        let replicas = self.capacity.len();
        let standby = self.schedulers.len() == 2;
        if down {
            let s = &mut self.schedulers[c as usize];
            s.epoch += 1;
            s.queue.clear();
            s.blocked.clear();
            s.serving = None;
            s.view = vec![ReplicaView::default(); replicas];
            s.aged.fill(AgedView::default());
            s.service_drain.fill(None);
            return;
        }
        // Back, empty. It schedules again unless the other one took over meanwhile.
        let other_active = standby && self.schedulers[Self::other(c) as usize].active;
        let s = &mut self.schedulers[c as usize];
        if other_active {
            s.active = false;
            s.last_heard = view.now();
            self.arm_watch(view, c);
        } else if s.active {
            if standby {
                view.set_timer(self.params.heartbeat, pack(PING, s.epoch, c));
            }
        } else {
            s.last_heard = view.now();
            self.arm_watch(view, c);
        }
    }
}
