//! `auction`: the contract net protocol, one auction per placement.
//!
//! Protocol (every arrow is a message over the simulated network):
//! - the deciding agent (the manager) sends an `announce` to each candidate replica's worker:
//!   all replicas of the service, or `k` of them drawn at random; it defers the placement;
//! - each worker that receives it (a crashed replica receives nothing) answers with a `bid`:
//!   its expected completion time for the task in units of the service's work, from what it
//!   knows of itself: `(requests running and queued + 1) / slots x slowdown / speed`;
//! - the manager awards the task to the lowest bid (ties: the first received) when every
//!   candidate has bid or at `bid_deadline`, whichever comes first; the award is the
//!   hand-off itself (counted as `award`, not `assign`). Late bids are ignored;
//! - with no bid by the deadline, the manager announces again after `backoff`, to a fresh
//!   sample.
//!
//! An award that is lost, or whose result never comes back, is detected by the unit's
//! `timeout` (a resilience setting); its retry is a new auction (a re-auction), and the work
//! the first winner may still be doing counts as duplicated, from source `reauction`.
//!
//! Per placement, without loss: k announcements, at most k bids and one award.

use std::collections::VecDeque;

use rand::seq::index::sample;

use super::messaging::{pack, unpack, DeadlineQueue};
use super::{
    AuctionParams, AuditRecord, Decision, Delivery, Endpoint, MessageKind, Policy, PolicyView,
    Task, Ticket, Topology,
};
use crate::engine::SimRng;
use crate::ids::{AgentId, ReplicaId, ServiceId};
use crate::time::SimTime;

// Timer tags.
const DEADLINE: u8 = 1;
const AGAIN: u8 = 2;
// Message tags.
const ANNOUNCE: u8 = 10;
const BID: u8 = 11;

/// An open auction.
#[derive(Debug)]
struct Open {
    ticket: Ticket,
    manager: AgentId,
    service: ServiceId,
    /// Announcements of the current round.
    announced: u32,
    /// Bids received this round, in arrival order, with when each was sent.
    bids: Vec<(ReplicaId, f32, SimTime)>,
}

/// The open auctions by id. Ids are handed out in increasing order and an auction lives for
/// about one bid deadline, so the open ones fill a short window of ids: a ring indexed by
/// `id - base` finds one in constant time, where a map would chase pointers on every bid.
#[derive(Debug, Default)]
struct OpenAuctions {
    /// The id of `slots[0]`.
    base: u32,
    /// `None` for an auction of the window that has closed.
    slots: VecDeque<Option<Open>>,
}

impl OpenAuctions {
    /// Opens auction `id`, which must be the newest id handed out.
    fn insert(&mut self, id: u32, open: Open) {
        if self.slots.is_empty() {
            self.base = id;
        }
        debug_assert_eq!(id.wrapping_sub(self.base) as usize, self.slots.len(), "ids in order");
        self.slots.push_back(Some(open));
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Open> {
        self.slots.get_mut(id.wrapping_sub(self.base) as usize)?.as_mut()
    }

    fn contains(&self, id: u32) -> bool {
        self.slots.get(id.wrapping_sub(self.base) as usize).is_some_and(Option::is_some)
    }

    /// Closes auction `id`, if open, and returns it.
    fn remove(&mut self, id: u32) -> Option<Open> {
        let open = self.slots.get_mut(id.wrapping_sub(self.base) as usize)?.take();
        self.trim_front();
        open
    }

    /// Closes every open auction for which `keep` is false.
    fn retain(&mut self, mut keep: impl FnMut(&Open) -> bool) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|open| !keep(open)) {
                *slot = None;
            }
        }
        self.trim_front();
    }

    /// Moves the window's start past closed auctions.
    fn trim_front(&mut self) {
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.base = self.base.wrapping_add(1);
        }
    }
}

/// The contract net policy.
#[derive(Debug)]
pub struct Auction {
    params: AuctionParams,
    orchestrators: u32,
    /// `1 / (slots x speed)` of each replica.
    inverse_capacity: Vec<f64>,
    /// Open auctions by id (ids are never reused, so a late bid finds nothing).
    auctions: OpenAuctions,
    next_auction: u32,
    /// Bid lists of closed auctions, reused.
    spare_bids: Vec<Vec<(ReplicaId, f32, SimTime)>>,
    candidates: Vec<ReplicaId>,
    /// Bid deadlines of the open auctions, with one timer in the world.
    deadlines: DeadlineQueue,
    rng: SimRng,
}

impl Auction {
    /// The policy for this topology, drawing samples from `rng`.
    pub fn new(params: AuctionParams, topology: &Topology, rng: SimRng) -> Self {
        let replicas = topology.total_replicas() as usize;
        Auction {
            params,
            orchestrators: topology.orchestrators,
            inverse_capacity: (0..replicas)
                .map(|r| 1.0 / (f64::from(topology.slots[r]) * topology.speeds[r]))
                .collect(),
            auctions: OpenAuctions::default(),
            next_auction: 0,
            spare_bids: Vec::new(),
            candidates: Vec::new(),
            deadlines: DeadlineQueue::new(pack(DEADLINE, 0, 0)),
            rng,
        }
    }

    fn new_id(&mut self) -> u32 {
        let id = self.next_auction;
        self.next_auction = self.next_auction.wrapping_add(1);
        id
    }

    /// Announces auction `id` to a fresh set of candidates and sets its deadline.
    fn announce(&mut self, view: &PolicyView<'_>, id: u32) {
        let open = self.auctions.get_mut(id).expect("announcing an open auction");
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        candidates.extend(view.candidates(open.service));
        let n = candidates.len();
        let k = if self.params.k == 0 { n } else { (self.params.k as usize).min(n) };
        open.announced = k as u32;
        open.bids.clear();
        let manager = Endpoint::Agent(open.manager);
        let mut send = |r: ReplicaId| {
            let worker = Endpoint::Agent(AgentId(self.orchestrators + r.0));
            view.send(manager, worker, MessageKind::Announce, pack(ANNOUNCE, 0, id));
        };
        if k == n {
            candidates.iter().copied().for_each(&mut send);
        } else {
            // Sorted, so the announcement order does not depend on the sampling algorithm.
            let mut picked: Vec<usize> = sample(&mut self.rng, n, k).into_vec();
            picked.sort_unstable();
            picked.into_iter().for_each(|i| send(candidates[i]));
        }
        self.candidates = candidates;
        self.deadlines.push(view, view.now() + self.params.bid_deadline, id, 0);
    }

    /// Closes the current round of auction `id`: award the best bid, or try again later.
    fn close(&mut self, view: &PolicyView<'_>, id: u32) {
        let open = self.auctions.get_mut(id).expect("closing an open auction");
        let best =
            open.bids.iter().copied().reduce(|best, bid| if bid.1 < best.1 { bid } else { best });
        if view.auditing() {
            view.audit(AuditRecord {
                at: view.now(),
                agent: Endpoint::Agent(open.manager),
                service: open.service,
                ticket: Some(open.ticket),
                options: open.bids.iter().map(|&(r, b, _)| (r, f64::from(b))).collect(),
                option_details: Vec::new(),
                choice: best.map(|b| b.0),
                reason: match best {
                    Some(_) => format!(
                        "lowest bid (expected completion in service times) of {} received, {} announced",
                        open.bids.len(),
                        open.announced
                    ),
                    None => format!("no bid by the deadline from {} announced: announce again after the backoff", open.announced),
                },
            });
        }
        match best {
            Some((replica, _, sent)) => {
                let open = self.auctions.remove(id).expect("still open");
                // The winning bid reported the bidder's load when it was sent.
                let staleness = view.now().saturating_since(sent);
                view.commit_with_staleness(open.ticket, replica, staleness);
                self.spare_bids.push(open.bids);
            }
            None => {
                // The next round is a new auction id, so late bids of this one are ignored.
                let open = self.auctions.remove(id).expect("still open");
                let next = self.new_id();
                self.auctions.insert(next, open);
                view.set_timer(self.params.backoff, pack(AGAIN, 0, next));
            }
        }
    }
}

impl Policy for Auction {
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let id = self.new_id();
        let open = Open {
            ticket: task.ticket,
            manager: task.agent,
            service: task.service,
            announced: 0,
            bids: self.spare_bids.pop().unwrap_or_default(),
        };
        self.auctions.insert(id, open);
        self.announce(view, id);
        Decision::Defer
    }

    fn wants_outcomes(&self) -> bool {
        false
    }

    fn world_audits(&self) -> bool {
        false
    }

    fn on_abandoned(&mut self, _view: &PolicyView<'_>, ticket: Ticket) {
        // Its job ended: close the auction without an award; late bids find nothing.
        self.auctions.retain(|open| open.ticket != ticket);
    }

    fn handoff_kind(&self) -> MessageKind {
        MessageKind::Award
    }

    fn retries_are_reauctions(&self) -> bool {
        true
    }

    fn on_timer(&mut self, view: &PolicyView<'_>, token: u64) {
        let (tag, _, id) = unpack(token);
        if tag == AGAIN && !self.auctions.contains(id) {
            return;
        }
        match tag {
            DEADLINE => {
                self.deadlines.fired();
                while let Some((id, _)) = self.deadlines.pop_due(view.now()) {
                    // An auction that closed early is gone; one re-announced has a new id.
                    if self.auctions.contains(id) {
                        self.close(view, id);
                    }
                }
                let auctions = &self.auctions;
                self.deadlines.rearm(view, |id, _| auctions.contains(id));
            }
            AGAIN => self.announce(view, id),
            _ => unreachable!("unknown auction timer {token:#x}"),
        }
    }

    fn on_message(&mut self, view: &PolicyView<'_>, message: &Delivery) {
        let (tag, a, id) = unpack(message.token);
        match tag {
            ANNOUNCE => {
                let Endpoint::Agent(worker) = message.to else {
                    unreachable!("announce to {:?}", message.to)
                };
                let replica = ReplicaId(worker.0 - self.orchestrators);
                let load = view.load(replica).outstanding();
                let bid = f64::from(load + 1)
                    * self.inverse_capacity[replica.index()]
                    * view.slowdown(replica);
                // The bid travels in the token's 24-bit field: an f32 without its 8 lowest
                // mantissa bits (relative precision 2^-15, plenty to rank bids).
                let bits = (bid as f32).to_bits() >> 8;
                view.send(message.to, message.from, MessageKind::Bid, pack(BID, bits, id));
            }
            BID => {
                let Some(open) = self.auctions.get_mut(id) else { return };
                let Endpoint::Agent(worker) = message.from else {
                    unreachable!("bid from {:?}", message.from)
                };
                let replica = ReplicaId(worker.0 - self.orchestrators);
                let bid = f32::from_bits(a << 8);
                open.bids.push((replica, bid, message.sent));
                if open.bids.len() as u32 >= open.announced {
                    self.close(view, id);
                }
            }
            _ => unreachable!("unknown auction message {message:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(ticket: u64) -> Open {
        Open {
            ticket: Ticket(ticket),
            manager: AgentId(0),
            service: ServiceId(0),
            announced: 0,
            bids: Vec::new(),
        }
    }

    #[test]
    fn the_ring_finds_open_auctions_and_forgets_closed_ones_across_id_wrap() {
        let mut ring = OpenAuctions::default();
        // Ids handed out in order, starting just below the wrap.
        let ids: Vec<u32> = (0..5).map(|i| (u32::MAX - 2).wrapping_add(i)).collect();
        for (n, &id) in ids.iter().enumerate() {
            ring.insert(id, open(n as u64));
        }
        assert!(ids.iter().all(|&id| ring.contains(id)));
        assert!(!ring.contains(ids[4].wrapping_add(1)), "an id not handed out yet");
        // Closing one in the middle leaves the window; closing the oldest trims it.
        assert_eq!(ring.remove(ids[2]).map(|o| o.ticket), Some(Ticket(2)));
        assert!(!ring.contains(ids[2]) && ring.remove(ids[2]).is_none());
        assert_eq!(ring.slots.len(), 5);
        ring.remove(ids[0]);
        ring.remove(ids[1]);
        assert_eq!((ring.base, ring.slots.len()), (ids[3], 2), "trimmed past the closed ones");
        assert_eq!(ring.get_mut(ids[4]).map(|o| o.ticket), Some(Ticket(4)));
        // Retain closes by predicate; an emptied ring starts again at the next id.
        ring.retain(|o| o.ticket != Ticket(3));
        assert!(!ring.contains(ids[3]) && ring.contains(ids[4]));
        ring.remove(ids[4]);
        assert!(ring.slots.is_empty());
        ring.insert(7, open(9));
        assert!(ring.contains(7) && !ring.contains(ids[4]));
    }
}
