//! What a policy can do besides answering: send its own messages over the simulated network,
//! set timers, finish a placement it deferred, and explain its decisions for the audit log.
//!
//! A policy never acts on the world directly. It writes commands into the [`Outbox`] that
//! its [`PolicyView`](super::PolicyView) carries; the world carries them out once the policy
//! returns, so a message sent by a policy crosses the same links, partitions, loss and
//! crashes as the world's own hand-offs and results, and costs what they cost.

use std::cell::RefCell;

use crate::ids::{AgentId, ReplicaId, ServiceId};
use crate::time::{SimDuration, SimTime};

/// Who sends or receives a policy message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// An agent of the world: an orchestrator or a replica's worker.
    Agent(AgentId),
    /// An agent the policy owns (for `central`: 0 is the scheduler, 1 its standby). Policy
    /// agents sit with the orchestrators on the network and can be crashed by a fault
    /// (`agent = "scheduler"` or `"standby"`).
    PolicyAgent(u32),
}

/// Every kind of message, for counting the cost of coordination by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// The world's hand-off of a request to a replica.
    Assign,
    /// The world's answer to a request.
    Result,
    /// The world's cancellation of a request.
    Cancel,
    /// A replica's periodic load report (`central`).
    Heartbeat,
    /// A placement request to a scheduler (`central`).
    Request,
    /// A scheduler's placement answer (`central`).
    Reply,
    /// A new scheduler telling the agents where to send requests (`central`).
    Leader,
    /// A call for bids (`auction`).
    Announce,
    /// A replica's bid (`auction`).
    Bid,
    /// The hand-off to an auction's winner, in place of `assign` (`auction`).
    Award,
    /// A push or pull of a gossip exchange (`gossip`).
    Gossip,
    /// A control agent's health check of a replica, or its answer (`remediator`).
    Health,
}

impl MessageKind {
    /// Every kind, in column order.
    pub const ALL: [MessageKind; 12] = [
        MessageKind::Assign,
        MessageKind::Result,
        MessageKind::Cancel,
        MessageKind::Heartbeat,
        MessageKind::Request,
        MessageKind::Reply,
        MessageKind::Leader,
        MessageKind::Announce,
        MessageKind::Bid,
        MessageKind::Award,
        MessageKind::Gossip,
        MessageKind::Health,
    ];

    /// The name used in `runs.csv` (`messages_<name>`) and the audit log.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Assign => "assign",
            MessageKind::Result => "result",
            MessageKind::Cancel => "cancel",
            MessageKind::Heartbeat => "heartbeat",
            MessageKind::Request => "request",
            MessageKind::Reply => "reply",
            MessageKind::Leader => "leader",
            MessageKind::Announce => "announce",
            MessageKind::Bid => "bid",
            MessageKind::Award => "award",
            MessageKind::Gossip => "gossip",
            MessageKind::Health => "health",
        }
    }

    /// Position in [`MessageKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A placement the policy deferred ([`Decision::Defer`](super::Decision::Defer)); it
/// finishes it later with [`PolicyView::commit`](super::PolicyView::commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub u64);

/// A policy message arriving at its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Who sent it.
    pub from: Endpoint,
    /// Who receives it.
    pub to: Endpoint,
    /// What kind of message it is.
    pub kind: MessageKind,
    /// The policy's own reference to the content (the world never reads it).
    pub token: u64,
    /// When it was sent.
    pub sent: SimTime,
}

/// One decision, explained: a line of `audit.jsonl`.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// When it was decided.
    pub at: SimTime,
    /// Who decided.
    pub agent: Endpoint,
    /// The task's service.
    pub service: ServiceId,
    /// The placement it answers, when deferred.
    pub ticket: Option<Ticket>,
    /// The options seen, with the estimate each was judged by (lower is better).
    pub options: Vec<(ReplicaId, f64)>,
    /// What each option's estimate was made of, named (parallel to `options`; empty when
    /// the policy says nothing more).
    pub option_details: Vec<Vec<(&'static str, f64)>>,
    /// The replica chosen, if any.
    pub choice: Option<ReplicaId>,
    /// Why, in a few words.
    pub reason: String,
}

/// A command from a policy to the world.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Command {
    Send {
        from: Endpoint,
        to: Endpoint,
        kind: MessageKind,
        token: u64,
    },
    Timer {
        delay: SimDuration,
        token: u64,
    },
    Commit {
        ticket: Ticket,
        replica: Option<ReplicaId>,
        staleness: Option<SimDuration>,
    },
    Claim {
        ticket: Ticket,
        replica: ReplicaId,
    },
    Withdraw {
        ticket: Ticket,
        replica: ReplicaId,
    },
    Resend {
        agent: AgentId,
        replica: ReplicaId,
    },
    SchedulerWait(SimDuration),
    /// News of a replica's state reached every agent (gossip): after this long, this many
    /// rounds.
    Spread {
        time: SimDuration,
        rounds: f64,
    },
}

/// Commands a policy issued during one call, and its audit records.
#[derive(Debug, Default)]
pub struct Outbox {
    pub(crate) commands: Vec<Command>,
    pub(crate) audit: Option<Vec<AuditRecord>>,
}

impl Outbox {
    /// An outbox that keeps audit records only when `audit` is true.
    pub fn new(audit: bool) -> RefCell<Outbox> {
        RefCell::new(Outbox { commands: Vec::new(), audit: audit.then(Vec::new) })
    }
}

/// Deadlines of one fixed length, in the order they were set, with at most one timer in the
/// world at a time (for the earliest that still matters).
///
/// A protocol that sets a deadline per placement and nearly always finishes before it (an
/// auction's bid deadline, a scheduler request's re-send timeout) would otherwise fill the
/// event queue with timers that go off to find nothing, which makes every event dearer.
/// Here the policy keeps its deadlines in a queue and the world holds one timer.
#[derive(Debug)]
pub(crate) struct DeadlineQueue {
    entries: std::collections::VecDeque<(SimTime, u32, u32)>,
    armed: bool,
    /// Between [`DeadlineQueue::fired`] and [`DeadlineQueue::rearm`]: pushes set no timer.
    handling: bool,
    token: u64,
}

impl DeadlineQueue {
    /// An empty queue whose timer carries `token`.
    pub(crate) fn new(token: u64) -> Self {
        DeadlineQueue {
            entries: std::collections::VecDeque::new(),
            armed: false,
            handling: false,
            token,
        }
    }

    /// Adds a deadline at `due` for `(id, extra)`; deadlines come in time order.
    pub(crate) fn push(&mut self, view: &super::PolicyView<'_>, due: SimTime, id: u32, extra: u32) {
        debug_assert!(self.entries.back().is_none_or(|e| e.0 <= due), "deadlines out of order");
        self.entries.push_back((due, id, extra));
        if !self.handling && !self.armed {
            // Not armed means empty (see `rearm`), so this is the earliest deadline; arming
            // for the front keeps a forgotten `rearm` from delaying earlier ones.
            debug_assert_eq!(self.entries.len(), 1, "an unarmed queue holds no deadlines");
            let earliest = self.entries.front().map_or(due, |e| e.0);
            self.armed = true;
            view.set_timer(earliest.saturating_since(view.now()), self.token);
        }
    }

    /// The queue's timer went off: no timer is set any more. Call this first, then take the
    /// due deadlines with [`DeadlineQueue::pop_due`], then [`DeadlineQueue::rearm`]. (Only
    /// here: deadlines pushed while handling the due ones may set the next timer, and must
    /// not set a second one.)
    pub(crate) fn fired(&mut self) {
        self.armed = false;
        self.handling = true;
    }

    /// The next deadline that has passed, if any.
    pub(crate) fn pop_due(&mut self, now: SimTime) -> Option<(u32, u32)> {
        match self.entries.front() {
            Some(&(due, id, extra)) if due <= now => {
                self.entries.pop_front();
                Some((id, extra))
            }
            _ => None,
        }
    }

    /// Sets the timer for the earliest deadline left that still matters, if any and if none
    /// is set. Deadlines at the front for which `matters(id, extra)` is false are dropped
    /// first, so that the timer never goes off for work already done (an auction closed
    /// early, a request answered); `matters` must stay false once it is false.
    pub(crate) fn rearm(
        &mut self,
        view: &super::PolicyView<'_>,
        mut matters: impl FnMut(u32, u32) -> bool,
    ) {
        self.handling = false;
        while let Some(&(_, id, extra)) = self.entries.front() {
            if matters(id, extra) {
                break;
            }
            self.entries.pop_front();
        }
        if let (false, Some(&(due, ..))) = (self.armed, self.entries.front()) {
            self.armed = true;
            view.set_timer(due.saturating_since(view.now()), self.token);
        }
    }

    /// Forgets every deadline (the agent that held them crashed).
    #[allow(dead_code)]
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// Packs a tag (8 bits) and two fields (24 and 32 bits) into a token or timer key.
pub(crate) fn pack(tag: u8, a: u32, b: u32) -> u64 {
    debug_assert!(a < 1 << 24, "field too wide for a token");
    (u64::from(tag) << 56) | (u64::from(a & 0xff_ffff) << 32) | u64::from(b)
}

/// The tag and two fields of a token made by [`pack`].
pub(crate) fn unpack(token: u64) -> (u8, u32, u32) {
    ((token >> 56) as u8, ((token >> 32) & 0xff_ffff) as u32, token as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_queue_keeps_one_timer_however_many_deadlines() {
        let outbox = Outbox::new(false);
        // One service with one replica.
        let ranges = vec![vec![ReplicaId(0)]];
        let loads = [crate::policy::ReplicaLoad::default()];
        let mut q = DeadlineQueue::new(7);
        let view =
            super::super::PolicyView::new(SimTime::ZERO, &ranges, &loads).with_outbox(&outbox);
        for id in 0..5 {
            q.push(&view, SimTime::from_nanos(10 + id), id as u32, 0);
        }
        assert_eq!(outbox.borrow().commands.len(), 1, "five deadlines, one timer");
        outbox.borrow_mut().commands.clear();
        // The timer fires at 12: three are due; handling them pushes three more deadlines,
        // which must not set more than the one next timer.
        let view = super::super::PolicyView::new(SimTime::from_nanos(12), &ranges, &loads)
            .with_outbox(&outbox);
        q.fired();
        let mut due = Vec::new();
        while let Some((id, _)) = q.pop_due(view.now()) {
            due.push(id);
            q.push(&view, SimTime::from_nanos(100 + u64::from(id)), id, 1);
        }
        // Deadline 3 no longer matters: the timer is for 4 (at 14).
        q.rearm(&view, |id, _| id != 3);
        assert_eq!(due, vec![0, 1, 2]);
        let commands = outbox.borrow().commands.clone();
        assert_eq!(
            commands,
            vec![Command::Timer { delay: SimDuration::from_nanos(2), token: 7 }],
            "one timer, for the earliest deadline left that matters (14)"
        );
    }

    #[test]
    fn tokens_round_trip() {
        for (tag, a, b) in [(0, 0, 0), (7, 0xff_ffff, u32::MAX), (255, 12, 34)] {
            assert_eq!(unpack(pack(tag, a, b)), (tag, a, b));
        }
    }

    #[test]
    fn kinds_are_indexed_in_column_order() {
        for (i, kind) in MessageKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
        }
    }
}
