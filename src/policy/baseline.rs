//! Baseline policies for reference and validation: `random`, `round_robin`,
//! `least_outstanding` and `power_of_d`. The load-aware two divide a load by its replica's
//! capacity only where a service's replicas differ (docs/model.md section 12), so that on
//! alike replicas they choose exactly as they always did.
//!
//! They exchange no messages of their own. `least_outstanding` uses only what its agent
//! knows (its own requests in flight); `power_of_d` reads the true load of the probed
//! replicas, an idealised instantaneous probe. Ties are broken uniformly at random from the
//! policy's own stream, so no replica is favoured by its index.

use rand::Rng;

use super::{argmin_random_tie, Decision, Outcome, Policy, PolicyView, Task, Topology};
use crate::engine::SimRng;
use crate::ids::{AgentId, ReplicaId};

/// A uniformly random replica of the task's service.
#[derive(Debug)]
pub struct RandomChoice {
    rng: SimRng,
}

impl RandomChoice {
    /// A policy drawing from `rng`.
    pub fn new(rng: SimRng) -> Self {
        RandomChoice { rng }
    }
}

impl Policy for RandomChoice {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let replicas = view.replicas_of(task.service);
        // A service of one replica leaves nothing to draw. (The stream is this policy's own:
        // skipping the draw changes only which numbers its later draws get.) The index is
        // drawn as a u32: the draw depends only on the range's width and type, so it is the
        // same whichever ids the members have.
        let pick = match replicas.len() {
            0 => return Decision::Reject,
            1 => replicas[0],
            n => replicas[self.rng.random_range(0..n as u32) as usize],
        };
        if !view.is_excluded(pick) {
            return Decision::Place(pick);
        }
        // Some replicas are ejected: draw uniformly among the others.
        let n = view.candidates(task.service).count();
        let k = self.rng.random_range(0..n);
        Decision::Place(view.candidates(task.service).nth(k).expect("k < n"))
    }
}

/// Each agent cycles through each service's replicas on its own (no shared counter).
#[derive(Debug)]
pub struct RoundRobin {
    services: usize,
    /// `next[agent * services + service]`: offset of the next replica to use.
    next: Vec<u32>,
}

impl RoundRobin {
    /// A policy for this topology.
    pub fn new(topology: &Topology) -> Self {
        let services = topology.service_replicas.len();
        RoundRobin { services, next: vec![0; services * topology.agents as usize] }
    }
}

impl Policy for RoundRobin {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let replicas = view.replicas_of(task.service);
        let n = replicas.len() as u32;
        if n == 0 {
            return Decision::Reject;
        }
        let cursor = &mut self.next[task.agent.index() * self.services + task.service.index()];
        // The membership may have shrunk since the cursor last moved.
        if *cursor >= n {
            *cursor = 0;
        }
        // Skip ejected replicas, unless all are.
        for _ in 0..n {
            let chosen = replicas[*cursor as usize];
            *cursor = (*cursor + 1) % n;
            if !view.is_excluded(chosen) {
                return Decision::Place(chosen);
            }
        }
        let chosen = replicas[*cursor as usize];
        *cursor = (*cursor + 1) % n;
        Decision::Place(chosen)
    }
}

/// The requests each agent has sent to each replica and not yet heard back from: all that
/// an agent knows of its own requests in flight (`least_outstanding`'s whole view, and the
/// `outstanding` figure of a Python policy's view).
#[derive(Clone, Debug)]
pub struct Outstanding {
    replicas: usize,
    /// `counts[agent * replicas + replica]`.
    counts: Vec<u32>,
}

impl Outstanding {
    /// No request in flight, for this topology.
    pub fn new(topology: &Topology) -> Self {
        let replicas = topology.total_replicas() as usize;
        Outstanding { replicas, counts: vec![0; replicas * topology.agents as usize] }
    }

    /// Agent `agent`'s counts, indexed by replica id.
    pub fn of(&self, agent: AgentId) -> &[u32] {
        let base = agent.index() * self.replicas;
        &self.counts[base..base + self.replicas]
    }

    /// `agent` sent one more request to `replica`.
    pub fn placed(&mut self, agent: AgentId, replica: ReplicaId) {
        self.counts[agent.index() * self.replicas + replica.index()] += 1;
    }

    /// The agent that placed a request heard how it ended.
    pub fn heard(&mut self, outcome: &Outcome) {
        let slot =
            &mut self.counts[outcome.agent.index() * self.replicas + outcome.replica.index()];
        *slot = slot.saturating_sub(1);
    }
}

/// The replica with the fewest requests this agent has sent and not yet heard back from;
/// where replicas differ, the fewest per unit of capacity counting this one
/// (`(outstanding + 1) / (slots x speed)`).
#[derive(Debug)]
pub struct LeastOutstanding {
    outstanding: Outstanding,
    /// Per service, whether its replicas are alike (counts compare as they are).
    uniform: Vec<bool>,
    rng: SimRng,
}

impl LeastOutstanding {
    /// A policy for this topology, breaking ties from `rng`.
    pub fn new(topology: &Topology, rng: SimRng) -> Self {
        LeastOutstanding {
            outstanding: Outstanding::new(topology),
            uniform: topology.uniform_capacity(),
            rng,
        }
    }
}

impl Policy for LeastOutstanding {
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        if view.replicas_of(task.service).is_empty() {
            return Decision::Reject;
        }
        let counts = self.outstanding.of(task.agent);
        let chosen = if self.uniform[task.service.index()] {
            let candidates = view.candidates(task.service).map(|r| (r.0, counts[r.index()]));
            argmin_random_tie(candidates, &mut self.rng)
        } else {
            let per_capacity = |r: ReplicaId| f64::from(counts[r.index()] + 1) / view.capacity(r);
            let candidates = view.candidates(task.service).map(|r| (r.0, per_capacity(r)));
            argmin_random_tie(candidates, &mut self.rng)
        }
        .expect("a service has at least one replica");
        self.outstanding.placed(task.agent, ReplicaId(chosen));
        Decision::Place(ReplicaId(chosen))
    }

    fn on_outcome(&mut self, _view: &PolicyView<'_>, outcome: &Outcome) {
        self.outstanding.heard(outcome);
    }
}

/// Probes `d` distinct random replicas and picks the one with the least outstanding work
/// among those that answer (a crashed replica does not); where replicas differ, the least
/// per unit of capacity counting this one (`(outstanding + 1) / (slots x speed)`).
#[derive(Debug)]
pub struct PowerOfD {
    d: u32,
    /// Per service, whether its replicas are alike (loads compare as they are).
    uniform: Vec<bool>,
    rng: SimRng,
    /// Reused between placements so a placement allocates nothing.
    probed: Vec<u32>,
}

impl PowerOfD {
    /// A policy for this topology probing `d` replicas (at least 1), drawing from `rng`.
    pub fn new(d: u32, topology: &Topology, rng: SimRng) -> Self {
        PowerOfD {
            d: d.max(1),
            uniform: topology.uniform_capacity(),
            rng,
            probed: Vec::with_capacity(d as usize),
        }
    }
}

impl PowerOfD {
    /// The choice among the probed replicas where they differ: the least `(load + 1) /
    /// capacity`. Out of line, so that the common case's code stays as it was.
    #[cold]
    #[inline(never)]
    fn per_capacity(
        &mut self,
        view: &PolicyView<'_>,
        replicas: &[ReplicaId],
        any_usable: bool,
    ) -> Decision {
        let usable = |r: ReplicaId| view.answers_probes(r) && !view.is_excluded(r);
        let per_capacity =
            |r: ReplicaId| f64::from(view.load(r).outstanding() + 1) / view.capacity(r);
        let candidates = self
            .probed
            .iter()
            .map(|&i| replicas[i as usize])
            .filter(|&r| !any_usable || usable(r))
            .map(|r| (r.0, per_capacity(r)));
        let chosen = argmin_random_tie(candidates, &mut self.rng);
        Decision::Place(ReplicaId(chosen.expect("a service has at least one replica")))
    }
}

impl Policy for PowerOfD {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let replicas = view.replicas_of(task.service);
        let n = replicas.len() as u32;
        if n == 0 {
            return Decision::Reject;
        }
        let d = self.d.min(n);
        // Floyd's algorithm: d distinct indices out of n with d draws and no allocation.
        self.probed.clear();
        for j in n - d..n {
            let t = self.rng.random_range(0..=j);
            let pick = if self.probed.contains(&t) { j } else { t };
            self.probed.push(pick);
        }
        // A probe to a crashed replica goes unanswered; skip those and the ones this agent
        // ejected, unless that leaves nothing.
        let usable = |r: ReplicaId| view.answers_probes(r) && !view.is_excluded(r);
        let any_usable = self.probed.iter().any(|&i| usable(replicas[i as usize]));
        if !self.uniform[task.service.index()] {
            return self.per_capacity(view, replicas, any_usable);
        }
        let candidates = self
            .probed
            .iter()
            .map(|&i| replicas[i as usize])
            .filter(|&r| !any_usable || usable(r))
            .map(|r| (r.0, view.load(r).outstanding()));
        Decision::Place(ReplicaId(
            argmin_random_tie(candidates, &mut self.rng)
                .expect("a service has at least one replica"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;
    use crate::ids::{AgentId, ServiceId};
    use crate::policy::{ReplicaLoad, Ticket};
    use crate::time::SimTime;

    fn topology() -> Topology {
        Topology {
            agents: 2,
            orchestrators: 2,
            service_replicas: vec![0..3, 3..7],
            slots: vec![1; 7],
            speeds: vec![1.0; 7],
            work: vec![crate::dist::DurationDist::exponential(0.01).unwrap(); 2],
            mean_work: vec![0.01; 2],
        }
    }

    fn place_many(policy: &mut dyn Policy, loads: &[u32], agent: u32, n: usize) -> Vec<u32> {
        let topo = topology();
        let loads: Vec<ReplicaLoad> = loads
            .iter()
            .map(|&running| ReplicaLoad { running, queued: 0, slots: 1, finished: 0 })
            .collect();
        let members = topo.all_members();
        let view = PolicyView::new(SimTime::ZERO, &members, &loads);
        let task = Task { agent: AgentId(agent), service: ServiceId(1), ticket: Ticket(0) };
        (0..n)
            .map(|_| match policy.place(&view, &task) {
                Decision::Place(r) => r.0,
                other => panic!("baselines always place, not {other:?}"),
            })
            .collect()
    }

    #[test]
    fn round_robin_cycles_per_agent() {
        let mut p = RoundRobin::new(&topology());
        assert_eq!(place_many(&mut p, &[0; 7], 0, 5), vec![3, 4, 5, 6, 3]);
        assert_eq!(place_many(&mut p, &[0; 7], 1, 2), vec![3, 4]);
    }

    #[test]
    fn random_stays_in_the_service_and_covers_it() {
        let mut p = RandomChoice::new(derive_stream(1, 0, 9));
        let picks = place_many(&mut p, &[0; 7], 0, 4000);
        for r in 3..7 {
            let share = picks.iter().filter(|&&p| p == r).count() as f64 / 4000.0;
            // Binomial(4000, 1/4): sd 0.0068, so 0.04 is about six sd.
            assert!((share - 0.25).abs() < 0.04, "replica {r}: share {share}");
        }
    }

    #[test]
    fn power_of_d_with_d_equal_n_is_join_the_shortest_queue() {
        let mut p = PowerOfD::new(4, &topology(), derive_stream(1, 0, 9));
        let picks = place_many(&mut p, &[5, 5, 5, 3, 1, 7, 1], 0, 200);
        assert!(picks.iter().all(|&r| r == 4 || r == 6));
        assert!(picks.contains(&4) && picks.contains(&6), "ties must be broken both ways");
    }

    #[test]
    fn power_of_d_never_picks_the_worst_when_d_is_two() {
        let mut p = PowerOfD::new(2, &topology(), derive_stream(2, 0, 9));
        let picks = place_many(&mut p, &[0, 0, 0, 1, 2, 3, 9], 0, 1000);
        assert!(!picks.contains(&6));
        // Replica 3 (least loaded) wins every pair it is in: 3 of 6 pairs, share 1/2.
        let share = picks.iter().filter(|&&p| p == 3).count() as f64 / 1000.0;
        assert!((share - 0.5).abs() < 0.07, "share {share}");
    }

    #[test]
    fn least_outstanding_spreads_then_forgets_on_outcome() {
        let topo = topology();
        let mut p = LeastOutstanding::new(&topo, derive_stream(3, 0, 9));
        let mut picks = place_many(&mut p, &[0; 7], 0, 4);
        picks.sort_unstable();
        assert_eq!(picks, vec![3, 4, 5, 6]);
        let loads = [ReplicaLoad::default(); 7];
        let members = topo.all_members();
        let view = PolicyView::new(SimTime::ZERO, &members, &loads);
        p.on_outcome(
            &view,
            &Outcome {
                agent: AgentId(0),
                replica: ReplicaId(5),
                succeeded: true,
                latency: crate::time::SimDuration::ZERO,
            },
        );
        assert_eq!(place_many(&mut p, &[0; 7], 0, 1), vec![5]);
        // The other agent's counts are its own.
        assert_eq!(place_many(&mut p, &[0; 7], 1, 4).len(), 4);
    }
}
