//! `gossip`: every agent places work from its own, stale view of the replicas, spread by
//! push-pull gossip.
//!
//! Every agent (orchestrators and replica workers) keeps, for every replica, a versioned
//! entry: the replica's heartbeat counter, its load (requests running and queued) when that
//! counter was current, and the local time the counter last grew. Every `period` (phases
//! staggered by agent) an agent runs a round:
//! - a replica's worker increments its own counter and writes its current load;
//! - it sends its whole view (`gossip`, a push) to `fanout` peers drawn at random among all
//!   agents; each peer merges it (per replica, the higher counter wins) and answers with its
//!   own view (`gossip`, a pull), which the sender merges.
//!
//! Placement needs no message: the agent draws `d` candidates among the replicas of the
//! service it does not suspect and takes the least loaded per unit of capacity in its view
//! (ties: the first drawn); it then counts one more request on that replica in its own view,
//! so it does not herd onto it until fresher news arrives. A replica whose counter has not
//! grown for `suspect_timeout` is suspected (if every replica is suspected, all are
//! candidates). Views are stale by up to a few rounds, which is the family's weakness: a
//! long period makes agents herd onto replicas that were idle when last heard of.
//!
//! With `resend_on_suspicion`, an agent that starts suspecting a replica at a round places
//! again every task it waits for there (`PolicyView::resend`); work that duplicates because
//! the replica was in fact up is counted as `false_suspicion`.
//!
//! A crashed worker loses its view and comes back with an empty one; its heartbeat counter
//! is kept (in stable storage), so its first round after recovery is news to everyone.
//! Messages carry a snapshot of the view as it was when sent.
//!
//! Under `estimate = "aged"` each worker also writes into its entry the rates it measures
//! of its own replica, and an agent ages every entry from when it was written (the `aged`
//! submodule); under `reported` (the default) an entry is the load written plus the
//! agent's own placements since.
//!
//! In `claim` mode work is pulled instead of pushed. The deciding agent posts the task on its
//! board and pushes its view at once; boards spread with the views. A replica's worker with
//! a free slot claims the oldest unclaimed post of its service it knows of (when it merges
//! news and at each round): its claim, stamped with the time, joins its board, and the task
//! goes to it. Two workers that learn of a post before learning of each other's claim both
//! execute it; when their views meet, the earlier claim (then the lower replica) wins and the
//! loser withdraws, its work counted as duplicated (`conflicting_claim`). Posts leave the
//! boards ten rounds after their first claim.

use std::collections::BTreeMap;
use std::ops::Range;

use rand::seq::index::sample;

mod aged;
use aged::AgedViews;

use super::messaging::{pack, unpack};
use super::{
    AuditRecord, Decision, Delivery, Endpoint, GossipMode, GossipParams, LoadEstimate, MessageKind,
    Policy, PolicyView, Task, Ticket, Topology,
};
use crate::engine::SimRng;
use crate::ids::{AgentId, ReplicaId, ServiceId};
use crate::time::SimTime;

/// Most posts one gossip message carries (claim mode), so that a backlog cannot make every
/// message grow without bound.
const BOARD_DIGEST: usize = 256;

// Timer tag.
const ROUND: u8 = 1;
// Message tags.
const PUSH: u8 = 10;
const PULL: u8 = 11;

/// What an agent knows of one replica.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    beat: u64,
    load: u32,
    /// When this agent last saw the counter grow.
    seen: SimTime,
    /// When the replica itself wrote this counter and load (the age of the news).
    written: SimTime,
}

/// A view as sent: counters, loads and when each was written.
type Snapshot = Vec<(u64, u32, SimTime)>;

/// The rates written with each entry of a view as sent (aged estimate only).
type Rates = Vec<(f32, f32)>;

/// News of one sampled replica being followed until every agent has it: the counter
/// value, when the replica wrote it, and how many agents know it (or a later one).
#[derive(Clone, Copy, Debug)]
struct Spread {
    replica: u32,
    beat: u64,
    since: SimTime,
    known: u32,
}

/// Replicas whose news is followed for the spread figures, at most this many (evenly
/// spaced over the replica ids).
const SPREAD_SAMPLE: usize = 8;

/// The earliest claim an agent knows of a post: when, and by which replica.
type Claim = Option<(SimTime, u32)>;

/// A board as sent: posts and their earliest known claims.
type BoardSnapshot = Vec<(u32, Claim)>;

/// A task posted on the board (claim mode).
#[derive(Debug)]
struct Post {
    ticket: Ticket,
    service: ServiceId,
    /// Replicas executing it under a claim not yet withdrawn.
    claimants: Vec<u32>,
    first_claim: Option<SimTime>,
}

/// The gossip policy.
#[derive(Debug)]
pub struct Gossip {
    params: GossipParams,
    orchestrators: u32,
    agents: u32,
    replicas: usize,
    service_replicas: Vec<Range<u32>>,
    capacity: Vec<f64>,
    /// `views[agent * replicas + replica]`.
    views: Vec<Entry>,
    /// Each replica's own heartbeat counter.
    counters: Vec<u64>,
    /// Snapshots in flight, in a ring reused slot by slot; a message whose slot was reused
    /// meanwhile (it was in flight for longer than a full turn of the ring) is dropped.
    ring: Vec<(u32, Snapshot, BoardSnapshot, Rates)>,
    next_slot: usize,
    /// Claim mode: the posts not yet forgotten, and what each agent knows of them.
    posts: BTreeMap<u32, Post>,
    next_post: u32,
    boards: Vec<BTreeMap<u32, Claim>>,
    slots: Vec<u32>,
    /// Whether each agent suspected each replica at its last round, kept when it matters
    /// (for the audit log, or to resend on suspicion).
    suspected: Vec<bool>,
    /// A placement's candidates and the unsuspected ones among them, reused from one
    /// placement to the next.
    candidates: Vec<ReplicaId>,
    trusted: Vec<ReplicaId>,
    /// The news being followed, one per sampled replica (None between two).
    spreads: Vec<Option<Spread>>,
    /// The aged estimate's state (`None` under `estimate = "reported"`).
    aged: Option<AgedViews>,
    rng: SimRng,
}

/// Every agent's view of every replica, the one state of a policy that grows with the
/// square of a count. The scenario's resource estimate refuses sizes over the memory limit
/// before a run; past a raised limit, a failed allocation is a panic with the sizes (which a
/// sweep records as the run's error) rather than an abort.
fn all_views(replicas: usize, agents: usize) -> Vec<Entry> {
    let n = replicas.saturating_mul(agents);
    let mut views = Vec::new();
    if views.try_reserve_exact(n).is_err() {
        panic!(
            "gossip: cannot allocate the views of {agents} agents over {replicas} replicas ({n} entries of {} bytes); lower the replicas or orchestrators",
            std::mem::size_of::<Entry>()
        );
    }
    views.resize(n, Entry::default());
    views
}

impl Gossip {
    /// The policy for this topology, drawing peers and candidates from `rng`.
    pub fn new(params: GossipParams, topology: &Topology, rng: SimRng) -> Self {
        let replicas = topology.total_replicas() as usize;
        let agents = topology.agents;
        let ring = (agents as usize * params.fanout as usize * 2).max(64);
        Gossip {
            params,
            orchestrators: topology.orchestrators,
            agents,
            replicas,
            service_replicas: topology.service_replicas.clone(),
            capacity: (0..replicas)
                .map(|r| f64::from(topology.slots[r]) * topology.speeds[r])
                .collect(),
            views: all_views(replicas, agents as usize),
            counters: vec![0; replicas],
            ring: (0..ring).map(|_| (0, Vec::new(), Vec::new(), Vec::new())).collect(),
            next_slot: 0,
            posts: BTreeMap::new(),
            next_post: 0,
            boards: vec![BTreeMap::new(); agents as usize],
            slots: topology.slots.clone(),
            suspected: Vec::new(),
            candidates: Vec::new(),
            trusted: Vec::new(),
            spreads: vec![None; replicas.min(SPREAD_SAMPLE)],
            aged: (params.estimate == LoadEstimate::Aged).then(|| {
                let mut replica_service = vec![0; replicas];
                for (s, range) in topology.service_replicas.iter().enumerate() {
                    for r in range.clone() {
                        replica_service[r as usize] = s as u32;
                    }
                }
                AgedViews::new(agents as usize, replica_service, topology.service_replicas.len())
            }),
            rng,
        }
    }

    /// The sampled replica followed in `spreads[k]`.
    fn sampled(&self, k: usize) -> u32 {
        (k * self.replicas / self.spreads.len()) as u32
    }

    /// Counts the agents that have the followed news of each sampled replica once
    /// `agent`'s view changed (`before`: its counters for them before), and reports every
    /// spread that reached all agents.
    fn follow_spreads(&mut self, view: &PolicyView<'_>, agent: AgentId, before: &[u64]) {
        let base = agent.index() * self.replicas;
        for (k, &held) in before.iter().enumerate().take(self.spreads.len()) {
            let Some(spread) = &mut self.spreads[k] else { continue };
            let now_beat = self.views[base + spread.replica as usize].beat;
            if held < spread.beat && now_beat >= spread.beat {
                spread.known += 1;
            }
            if spread.known < self.agents {
                continue;
            }
            let spread = self.spreads[k].take().expect("followed");
            let time = view.now().saturating_since(spread.since);
            let rounds = time.as_secs_f64() / self.params.period.as_secs_f64();
            view.record_gossip_spread(time, rounds);
            if view.auditing() {
                view.audit(AuditRecord {
                    at: view.now(),
                    agent: Endpoint::Agent(AgentId(self.orchestrators + spread.replica)),
                    service: self.service_of(spread.replica),
                    ticket: None,
                    options: Vec::new(),
                    option_details: Vec::new(),
                    choice: Some(ReplicaId(spread.replica)),
                    reason: format!(
                        "news of the replica's heartbeat {} (written at {:.6} s) has reached all {} agents: {:.6} s, {rounds:.2} rounds",
                        spread.beat,
                        spread.since.as_secs_f64(),
                        self.agents,
                        time.as_secs_f64()
                    ),
                });
            }
        }
    }

    /// The counters `agent` holds for the sampled replicas.
    fn sampled_beats(&self, agent: AgentId) -> [u64; SPREAD_SAMPLE] {
        let base = agent.index() * self.replicas;
        let mut beats = [0; SPREAD_SAMPLE];
        for (k, s) in self.spreads.iter().enumerate() {
            if let Some(s) = s {
                beats[k] = self.views[base + s.replica as usize].beat;
            }
        }
        beats
    }

    fn row(&self, agent: AgentId) -> Range<usize> {
        let base = agent.index() * self.replicas;
        base..base + self.replicas
    }

    fn suspects(&self, entry: &Entry, now: SimTime) -> bool {
        now.saturating_since(entry.seen) > self.params.suspect_timeout
    }

    /// Copies `agent`'s view into a ring slot; returns the message token.
    fn snapshot(&mut self, tag: u8, agent: AgentId) -> u64 {
        let slot = self.next_slot;
        self.next_slot = (self.next_slot + 1) % self.ring.len();
        let row = self.row(agent);
        let (generation, snapshot, board, rates) = &mut self.ring[slot];
        *generation = (*generation + 1) & 0xff_ffff;
        snapshot.clear();
        snapshot.extend(self.views[row].iter().map(|e| (e.beat, e.load, e.written)));
        if let Some(aged) = &self.aged {
            rates.clear();
            rates.extend((0..self.replicas).map(|r| {
                let e = aged.entry(agent.index(), r);
                (e.drain_per_s, e.inflow_per_s)
            }));
        }
        board.clear();
        let posts = &self.posts;
        // A message carries at most BOARD_DIGEST posts: the known claims first (so conflicts
        // are found), then the unclaimed posts, oldest first.
        let known = self.boards[agent.index()].iter().filter(|(p, _)| posts.contains_key(p));
        board.extend(known.clone().filter(|(_, c)| c.is_some()).map(|(&p, &c)| (p, c)));
        board.extend(known.filter(|(_, c)| c.is_none()).map(|(&p, &c)| (p, c)));
        board.truncate(BOARD_DIGEST);
        pack(tag, *generation, slot as u32)
    }

    /// Merges the snapshot a token names into `agent`'s view; false if it was overwritten.
    fn merge(&mut self, view: &PolicyView<'_>, agent: AgentId, token: u64) -> bool {
        let now = view.now();
        let (_, generation, slot) = unpack(token);
        let row = self.row(agent);
        if self.ring[slot as usize].0 != generation {
            return false;
        }
        let followed = self.spreads.iter().any(Option::is_some);
        let before = if followed { self.sampled_beats(agent) } else { [0; SPREAD_SAMPLE] };
        let (_, snapshot, _, rates) = &self.ring[slot as usize];
        let mine = self.views[row].iter_mut().zip(snapshot);
        match &mut self.aged {
            // The default estimate's merge in a loop of its own: it is gossip's hot path.
            None => {
                for (mine, &(beat, load, written)) in mine {
                    if beat > mine.beat {
                        *mine = Entry { beat, load, seen: now, written };
                    }
                }
            }
            Some(aged) => {
                for (r, (mine, &(beat, load, written))) in mine.enumerate() {
                    if beat > mine.beat {
                        *mine = Entry { beat, load, seen: now, written };
                        aged.adopt(agent.index(), r, load, written, rates[r]);
                    }
                }
            }
        }
        if followed {
            self.follow_spreads(view, agent, &before);
        }
        let (_, _, board, _) = &self.ring[slot as usize];
        if self.params.mode == GossipMode::Claim {
            let me = agent.0.checked_sub(self.orchestrators);
            for &(p, claim) in board {
                let Some(post) = self.posts.get_mut(&p) else { continue };
                let known = self.boards[agent.index()].entry(p).or_insert(None);
                let best = match (*known, claim) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                *known = best;
                // The views met: a claim of this replica that lost stops.
                if let (Some(r), Some((_, winner))) = (me, best) {
                    if winner != r && post.claimants.contains(&r) {
                        post.claimants.retain(|&c| c != r);
                        view.withdraw(post.ticket, ReplicaId(r));
                    }
                }
            }
            self.try_claim(view, agent);
        }
        true
    }

    /// Claim mode: a worker with free slots claims the oldest unclaimed posts of its service
    /// it knows of.
    fn try_claim(&mut self, view: &PolicyView<'_>, agent: AgentId) {
        let Some(r) = agent.0.checked_sub(self.orchestrators) else { return };
        let replica = ReplicaId(r);
        if !view.replica_up(replica) {
            return;
        }
        let mut free = self.slots[r as usize].saturating_sub(view.load(replica).outstanding());
        if free == 0 {
            return;
        }
        let service = self.service_of(r);
        let now = view.now();
        let posts = &mut self.posts;
        let board = &mut self.boards[agent.index()];
        board.retain(|p, _| posts.contains_key(p));
        for (p, claim) in board.iter_mut() {
            if free == 0 {
                break;
            }
            let post = posts.get_mut(p).expect("kept above");
            if claim.is_some() || post.service != service {
                continue;
            }
            *claim = Some((now, r));
            post.claimants.push(r);
            if post.first_claim.is_none() {
                post.first_claim = Some(now);
                view.commit(post.ticket, Some(replica));
            } else {
                // Someone claimed it already, unknown to this worker: a conflicting claim.
                view.claim(post.ticket, replica);
            }
            free -= 1;
        }
    }

    /// Sends `agent`'s view (and board) to `fanout` random peers.
    fn push(&mut self, view: &PolicyView<'_>, agent: AgentId) {
        let others = self.agents as usize - 1;
        let fanout = (self.params.fanout as usize).min(others);
        let picked = sample(&mut self.rng, others, fanout).into_vec();
        for p in picked {
            // Skip over the agent itself.
            let peer = if p >= agent.index() { p + 1 } else { p } as u32;
            let token = self.snapshot(PUSH, agent);
            view.send(
                Endpoint::Agent(agent),
                Endpoint::Agent(AgentId(peer)),
                MessageKind::Gossip,
                token,
            );
        }
    }

    /// Acts on the replicas `agent` starts or stops suspecting: audits the change, and with
    /// `resend_on_suspicion` has the tasks it waits for on a newly suspected one placed again.
    fn suspicions_changed(&mut self, view: &PolicyView<'_>, agent: AgentId) {
        if self.suspected.is_empty() {
            self.suspected = vec![false; self.views.len()];
        }
        let now = view.now();
        let row = self.row(agent);
        for (r, i) in row.enumerate() {
            let now_suspected = self.suspects(&self.views[i], now);
            if now_suspected != self.suspected[i] {
                self.suspected[i] = now_suspected;
                if now_suspected && self.params.resend_on_suspicion {
                    view.resend(agent, ReplicaId(r as u32));
                }
                if !view.auditing() {
                    continue;
                }
                let entry = self.views[i];
                view.audit(AuditRecord {
                    at: now,
                    agent: Endpoint::Agent(agent),
                    service: self.service_of(r as u32),
                    ticket: None,
                    options: Vec::new(),
                    option_details: Vec::new(),
                    choice: Some(ReplicaId(r as u32)),
                    reason: if now_suspected {
                        format!(
                            "suspects the replica: its heartbeat counter ({}) has not grown since {:.6} s",
                            entry.beat,
                            entry.seen.as_secs_f64()
                        )
                    } else {
                        format!("trusts the replica again: heartbeat counter {}", entry.beat)
                    },
                });
            }
        }
    }

    fn service_of(&self, replica: u32) -> ServiceId {
        let s = self.service_replicas.iter().position(|r| r.contains(&replica));
        ServiceId(s.expect("every replica serves a service") as u32)
    }

    fn round(&mut self, view: &PolicyView<'_>, agent: AgentId) {
        let now = view.now();
        if let Some(replica) = agent.0.checked_sub(self.orchestrators) {
            if !view.replica_up(ReplicaId(replica)) {
                return;
            }
            let r = replica as usize;
            self.counters[r] += 1;
            let measured = view.load(ReplicaId(replica));
            let load = measured.outstanding();
            let i = agent.index() * self.replicas + r;
            let beat = self.counters[r];
            self.views[i] = Entry { beat, load, seen: now, written: now };
            if let Some(aged) = &mut self.aged {
                aged.measure(agent.index(), r, measured, now);
            }
            // A sampled replica with no news followed starts the next: its own view knows.
            if let Some(k) = (0..self.spreads.len()).find(|&k| self.sampled(k) == replica) {
                if self.spreads[k].is_none() {
                    self.spreads[k] = Some(Spread { replica, beat, since: now, known: 1 });
                }
            }
        }
        if let Some(aged) = &mut self.aged {
            aged.round(agent.index(), self.params.period);
        }
        if view.auditing() || self.params.resend_on_suspicion {
            self.suspicions_changed(view, agent);
        }
        if self.params.mode == GossipMode::Claim {
            if agent.0 == 0 {
                // Forget posts claimed ten rounds ago: the claim has spread by then.
                let horizon = self.params.period.mul_f64(10.0);
                self.posts.retain(|_, p| p.first_claim.is_none_or(|t| now < t + horizon));
            }
            self.try_claim(view, agent);
        }
        self.push(view, agent);
    }
}

impl Policy for Gossip {
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let now = view.now();
        if self.params.mode == GossipMode::Claim {
            let id = self.next_post;
            self.next_post = self.next_post.wrapping_add(1);
            let post = Post {
                ticket: task.ticket,
                service: task.service,
                claimants: Vec::new(),
                first_claim: None,
            };
            self.posts.insert(id, post);
            self.boards[task.agent.index()].insert(id, None);
            self.try_claim(view, task.agent);
            self.push(view, task.agent);
            return Decision::Defer;
        }
        let base = task.agent.index() * self.replicas;
        let (mut candidates, mut trusted) =
            (std::mem::take(&mut self.candidates), std::mem::take(&mut self.trusted));
        candidates.clear();
        candidates.extend(view.candidates(task.service));
        if candidates.is_empty() {
            (self.candidates, self.trusted) = (candidates, trusted);
            return Decision::Reject;
        }
        trusted.clear();
        trusted.extend(
            candidates
                .iter()
                .copied()
                .filter(|r| !self.suspects(&self.views[base + r.index()], now)),
        );
        let pool = if trusted.is_empty() { &candidates } else { &trusted };
        let d = (self.params.d as usize).min(pool.len());
        let drawn = sample(&mut self.rng, pool.len(), d).into_vec();
        let drawn_replicas = drawn.iter().map(|&i| pool[i]);
        let (aged, slots, capacity) = (&self.aged, &self.slots, &self.capacity);
        let chosen = match aged {
            None => {
                let loaded = |r: ReplicaId| {
                    f64::from(self.views[base + r.index()].load) / capacity[r.index()]
                };
                drawn_replicas.reduce(|best, r| if loaded(r) < loaded(best) { r } else { best })
            }
            Some(aged) => aged.least(task.agent.index(), drawn_replicas, slots, capacity, now),
        };
        let chosen = chosen.expect("a service has at least one replica");
        // The requests the agent expects at a replica now, before this one.
        let expected = |r: ReplicaId| match aged {
            None => f64::from(self.views[base + r.index()].load),
            Some(aged) => aged.expected(task.agent.index(), r.index(), slots[r.index()], now),
        };
        let estimate = |r: ReplicaId| expected(r) / capacity[r.index()];
        if view.auditing() {
            view.audit(AuditRecord {
                at: now,
                agent: Endpoint::Agent(task.agent),
                service: task.service,
                ticket: None,
                options: drawn.iter().map(|&i| (pool[i], estimate(pool[i]))).collect(),
                option_details: match aged {
                    None => Vec::new(),
                    Some(aged) => drawn
                        .iter()
                        .map(|&i| {
                            let (r, e) = (pool[i].index(), &self.views[base + pool[i].index()]);
                            aged.details(task.agent.index(), r, (e.load, e.written), now, slots[r])
                        })
                        .collect(),
                },
                choice: Some(chosen),
                reason: format!(
                    "least loaded per unit of capacity of {d} drawn among {} unsuspected replicas, in this agent's gossiped view{}",
                    trusted.len(),
                    if aged.is_some() { ", each entry aged since it was written" } else { "" }
                ),
            });
        }
        let level = aged.as_ref().map(|_| expected(chosen));
        match (&mut self.aged, level) {
            (Some(aged), Some(level)) => {
                aged.placed(task.agent.index(), chosen.index(), level, now)
            }
            _ => self.views[base + chosen.index()].load += 1,
        }
        let entry = &self.views[base + chosen.index()];
        view.report_staleness(now.saturating_since(entry.written));
        (self.candidates, self.trusted) = (candidates, trusted);
        Decision::Place(chosen)
    }

    fn wants_outcomes(&self) -> bool {
        false
    }

    fn world_audits(&self) -> bool {
        false
    }

    fn needs_tasks(&self) -> bool {
        self.params.mode == GossipMode::Claim || self.params.resend_on_suspicion
    }

    fn on_abandoned(&mut self, _view: &PolicyView<'_>, ticket: Ticket) {
        // Its job ended before anyone claimed it: take the post off the boards.
        self.posts.retain(|_, post| post.ticket != ticket);
    }

    fn on_idle(&mut self, view: &PolicyView<'_>, replica: ReplicaId) {
        let agent = AgentId(self.orchestrators + replica.0);
        self.try_claim(view, agent);
    }

    fn start(&mut self, view: &PolicyView<'_>) {
        let n = u64::from(self.agents);
        for a in 0..n {
            let phase = self.params.reports.first(a, n, self.params.period);
            view.set_timer(phase, pack(ROUND, 0, a as u32));
        }
    }

    fn on_timer(&mut self, view: &PolicyView<'_>, token: u64) {
        let (tag, _, agent) = unpack(token);
        debug_assert_eq!(tag, ROUND, "gossip sets only round timers");
        self.round(view, AgentId(agent));
        view.set_timer(self.params.period, token);
    }

    fn on_message(&mut self, view: &PolicyView<'_>, message: &Delivery) {
        let (Endpoint::Agent(from), Endpoint::Agent(to)) = (message.from, message.to) else {
            unreachable!("gossip runs between agents only: {message:?}")
        };
        let (tag, _, _) = unpack(message.token);
        if !self.merge(view, to, message.token) {
            return;
        }
        if tag == PUSH {
            let token = self.snapshot(PULL, to);
            view.send(message.to, Endpoint::Agent(from), MessageKind::Gossip, token);
        }
    }

    fn on_crash(&mut self, view: &PolicyView<'_>, agent: Endpoint, down: bool) {
        let Endpoint::Agent(agent) = agent else { return };
        if down {
            return;
        }
        // Back with an empty view: nobody is suspected until the timeout passes again.
        let now = view.now();
        let before = self.sampled_beats(agent);
        let row = self.row(agent);
        for entry in &mut self.views[row] {
            *entry = Entry { beat: 0, load: 0, seen: now, written: SimTime::ZERO };
        }
        // It no longer knows the news being followed.
        for (k, spread) in self.spreads.iter_mut().enumerate() {
            if let Some(spread) = spread.as_mut().filter(|s| before[k] >= s.beat) {
                spread.known -= 1;
            }
        }
        self.boards[agent.index()].clear();
        let worker_of = agent.0.checked_sub(self.orchestrators).map(|r| r as usize);
        if let Some(aged) = &mut self.aged {
            aged.forget(agent.index(), worker_of);
        }
        if let Some(r) = agent.0.checked_sub(self.orchestrators) {
            // Its claims died with it.
            for post in self.posts.values_mut() {
                post.claimants.retain(|&c| c != r);
            }
        }
    }
}
