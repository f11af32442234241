//! `gossip`'s age-aware load estimate (`estimate = "aged"`): each replica's worker measures
//! its own rates (requests finished a second while its slots are all busy, requests arriving
//! a second) and writes them into its gossip entry with its load; an agent ages each entry
//! from when it was written by the fluid model of `policy::fluid`, draining at the replica's
//! rate while the requests other agents place keep arriving, and raises it by one at each of
//! its own placements. An agent knows only its entries, its own placements and its own
//! share of a service's arrivals: never the replicas' true state.

use crate::ids::ReplicaId;
use crate::policy::fluid::{aged_level, average};
use crate::policy::ReplicaLoad;
use crate::time::{SimDuration, SimTime};

/// Weight of a new sample in a worker's rates and in an agent's own placement rate.
const RATE_WEIGHT: f64 = 0.2;

/// One agent's aged view of one replica.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AgedEntry {
    /// The requests expected at the replica at `at`: the load it wrote then, drained and
    /// raised by this agent's placements since.
    pub(super) level: f64,
    pub(super) at: SimTime,
    /// What the replica wrote with the entry: requests a second it finishes while its
    /// slots are all busy (0: not yet measured, and then the entry does not age) and
    /// requests a second arriving.
    pub(super) drain_per_s: f32,
    pub(super) inflow_per_s: f32,
}

/// A worker's own measure of its replica, from one round to the next.
#[derive(Clone, Copy, Debug, Default)]
struct Meter {
    at: Option<SimTime>,
    finished: u32,
    load: u32,
    drain_per_s: Option<f64>,
    inflow_per_s: Option<f64>,
}

/// What an agent knows of its own part in a service's arrivals.
#[derive(Clone, Copy, Debug, Default)]
struct OwnShare {
    /// Its placements on the service since its last round.
    placed: u32,
    /// Its placements a second, averaged over its rounds.
    rate_per_s: Option<f64>,
    /// The arrivals a second its entries of the service's replicas add up to.
    inflow_per_s: f64,
}

/// The aged estimate's state, kept apart from the gossiped view so that the reported
/// estimate's stays as small as it was.
#[derive(Debug)]
pub(super) struct AgedViews {
    replicas: usize,
    services: usize,
    replica_service: Vec<u32>,
    /// `entries[agent * replicas + replica]`.
    entries: Vec<AgedEntry>,
    /// `meters[replica]`: its worker's.
    meters: Vec<Meter>,
    /// `own[agent * services + service]`.
    own: Vec<OwnShare>,
}

impl AgedViews {
    pub(super) fn new(agents: usize, replica_service: Vec<u32>, services: usize) -> Self {
        let replicas = replica_service.len();
        AgedViews {
            replicas,
            services,
            entries: vec![AgedEntry::default(); agents * replicas],
            meters: vec![Meter::default(); replicas],
            own: vec![OwnShare::default(); agents * services],
            replica_service,
        }
    }

    pub(super) fn entry(&self, agent: usize, replica: usize) -> AgedEntry {
        self.entries[agent * self.replicas + replica]
    }

    fn own_index(&self, agent: usize, replica: usize) -> usize {
        agent * self.services + self.replica_service[replica] as usize
    }

    /// A worker's round: samples its replica's rates since its last round (the drain rate
    /// only when both rounds found every slot busy) and writes them with the load into its
    /// own entry.
    pub(super) fn measure(
        &mut self,
        agent: usize,
        replica: usize,
        load: ReplicaLoad,
        now: SimTime,
    ) {
        let m = &mut self.meters[replica];
        let outstanding = load.outstanding();
        if let Some(at) = m.at {
            let span = now.saturating_since(at).as_secs_f64();
            if span > 0.0 {
                let left = load.finished.wrapping_sub(m.finished);
                let arrived = (i64::from(left) + i64::from(outstanding) - i64::from(m.load)).max(0);
                m.inflow_per_s = Some(average(m.inflow_per_s, arrived as f64 / span, RATE_WEIGHT));
                if m.load >= load.slots && outstanding >= load.slots {
                    let sample = f64::from(left) / span;
                    m.drain_per_s = Some(average(m.drain_per_s, sample, RATE_WEIGHT));
                }
            }
        }
        (m.at, m.finished, m.load) = (Some(now), load.finished, outstanding);
        let (drain, inflow) = (m.drain_per_s.unwrap_or(0.0), m.inflow_per_s.unwrap_or(0.0));
        self.adopt(agent, replica, outstanding, now, (drain as f32, inflow as f32));
    }

    /// Takes a newer entry of `replica` into `agent`'s view: the load and rates the replica
    /// wrote at `written`.
    pub(super) fn adopt(
        &mut self,
        agent: usize,
        replica: usize,
        load: u32,
        written: SimTime,
        (drain_per_s, inflow_per_s): (f32, f32),
    ) {
        let own = self.own_index(agent, replica);
        let entry = &mut self.entries[agent * self.replicas + replica];
        self.own[own].inflow_per_s += f64::from(inflow_per_s) - f64::from(entry.inflow_per_s);
        *entry = AgedEntry { level: f64::from(load), at: written, drain_per_s, inflow_per_s };
    }

    /// The requests `agent` expects at `replica` (of `slots` slots) at `now`: its entry
    /// aged, with the arrivals of the other agents at the replica's measured inflow less
    /// this agent's own share of the service's.
    pub(super) fn expected(&self, agent: usize, replica: usize, slots: u32, now: SimTime) -> f64 {
        let e = self.entry(agent, replica);
        if e.drain_per_s <= 0.0 {
            return e.level;
        }
        aged_level(
            e.level,
            now.saturating_since(e.at).as_secs_f64(),
            f64::from(slots),
            f64::from(e.drain_per_s),
            self.others_inflow(agent, replica),
        )
    }

    /// The requests a second `agent` expects the other agents to place on `replica`: its
    /// measured inflow, less the share of the service's arrivals that are this agent's own
    /// placements (its placement rate over the inflows its entries add up to).
    pub(super) fn others_inflow(&self, agent: usize, replica: usize) -> f64 {
        let own = self.own[self.own_index(agent, replica)];
        let share = match own.rate_per_s {
            Some(rate) if own.inflow_per_s > 0.0 => (rate / own.inflow_per_s).min(1.0),
            _ => 0.0,
        };
        f64::from(self.entry(agent, replica).inflow_per_s) * (1.0 - share)
    }

    /// The candidate `agent` expects the fewest requests at per unit of capacity (ties:
    /// the first); out of line, so that the default estimate's placement stays as it was.
    #[inline(never)]
    pub(super) fn least(
        &self,
        agent: usize,
        candidates: impl Iterator<Item = ReplicaId>,
        slots: &[u32],
        capacity: &[f64],
        now: SimTime,
    ) -> Option<ReplicaId> {
        let estimate = |r: ReplicaId| {
            self.expected(agent, r.index(), slots[r.index()], now) / capacity[r.index()]
        };
        candidates.reduce(|best, r| if estimate(r) < estimate(best) { r } else { best })
    }

    /// What `agent`'s estimate of `replica` (of `slots` slots) at `now` is made of, for
    /// the audit log: the entry as the replica wrote it (`reported` load, `written` when),
    /// the level this agent carries and its age, the rates and the result.
    pub(super) fn details(
        &self,
        agent: usize,
        replica: usize,
        (reported, written): (u32, SimTime),
        now: SimTime,
        slots: u32,
    ) -> Vec<(&'static str, f64)> {
        let e = self.entry(agent, replica);
        let age_ms = |t: SimTime| now.saturating_since(t).as_secs_f64() * 1e3;
        vec![
            ("reported", f64::from(reported)),
            ("report_age_ms", age_ms(written)),
            ("level", e.level),
            ("level_age_ms", age_ms(e.at)),
            ("drain_per_s", f64::from(e.drain_per_s)),
            ("inflow_per_s", f64::from(e.inflow_per_s)),
            ("others_inflow_per_s", self.others_inflow(agent, replica)),
            ("expected", self.expected(agent, replica, slots, now)),
        ]
    }

    /// `agent` placed a request on `replica`, which it expected to hold `expected` now.
    pub(super) fn placed(&mut self, agent: usize, replica: usize, expected: f64, now: SimTime) {
        let own = self.own_index(agent, replica);
        self.own[own].placed += 1;
        let entry = &mut self.entries[agent * self.replicas + replica];
        (entry.level, entry.at) = (expected + 1.0, now);
    }

    /// An agent's round: its placements since the last one become a sample of its rate.
    pub(super) fn round(&mut self, agent: usize, period: SimDuration) {
        let span = period.as_secs_f64();
        for own in &mut self.own[agent * self.services..(agent + 1) * self.services] {
            let sample = f64::from(own.placed) / span;
            own.rate_per_s = Some(average(own.rate_per_s, sample, RATE_WEIGHT));
            own.placed = 0;
        }
    }

    /// `agent` came back from a crash with an empty view (and, a worker, with its meter
    /// reset: the requests it held were lost).
    pub(super) fn forget(&mut self, agent: usize, worker_of: Option<usize>) {
        let row = agent * self.replicas..(agent + 1) * self.replicas;
        self.entries[row].fill(AgedEntry::default());
        self.own[agent * self.services..(agent + 1) * self.services].fill(OwnShare::default());
        if let Some(replica) = worker_of {
            self.meters[replica] = Meter::default();
        }
    }
}
