//! `peak_ewma`: latency-learning placement, after Finagle's peak-EWMA load balancer.
//!
//! Each agent keeps, for each replica, a moving average of the latency it observed there
//! that is *peak-sensitive*: a sample above the average replaces it at once, a sample below
//! pulls it down with weight `1 - exp(-dt / decay)`, so a replica that turns slow is avoided
//! immediately and forgiven gradually. Placement compares two random replicas by
//! `average x (requests this agent has in flight there + 1)` and takes the cheaper (ties at
//! random); where a service's replicas differ in slots, that cost is divided by the replica's
//! slots (the average already carries its speed). Failures count with the latency after
//! which they were observed (a timeout is a long sample), so a replica that times out is
//! avoided too. Nothing but the agent's own
//! observations is used: no probes, no messages.

use rand::Rng;

use super::{Decision, Outcome, Policy, PolicyView, Task, Topology};
use crate::engine::SimRng;
use crate::ids::{ReplicaId, ServiceId};
use crate::time::{SimDuration, SimTime};

/// What one agent knows about one replica.
#[derive(Clone, Copy, Debug, Default)]
struct Estimate {
    /// Moving average of latency, in seconds (0 until the first sample).
    average: f64,
    /// When it was last updated.
    stamp: SimTime,
    /// Requests this agent placed there and has not heard back from.
    outstanding: u32,
}

/// Peak-EWMA placement over two random choices.
#[derive(Debug)]
pub struct PeakEwma {
    decay: f64,
    replicas: usize,
    /// `estimates[agent * replicas + replica]`.
    estimates: Vec<Estimate>,
    /// Per service, whether its replicas all have the same slots.
    uniform_slots: Vec<bool>,
    rng: SimRng,
}

impl PeakEwma {
    /// A policy for this topology with time constant `decay` (> 0), drawing from `rng`.
    pub fn new(decay: SimDuration, topology: &Topology, rng: SimRng) -> Self {
        let replicas = topology.total_replicas() as usize;
        PeakEwma {
            decay: decay.as_secs_f64(),
            replicas,
            estimates: vec![Estimate::default(); replicas * topology.agents as usize],
            uniform_slots: topology
                .service_replicas
                .iter()
                .map(|range| {
                    let first = topology.slots[range.start as usize];
                    range.clone().all(|r| topology.slots[r as usize] == first)
                })
                .collect(),
            rng,
        }
    }

    /// The expected latency there: the latency average times the requests it would share
    /// the replica with, per slot where the service's replicas differ in slots (the average
    /// already carries the replica's speed).
    fn cost(
        &self,
        base: usize,
        view: &PolicyView<'_>,
        service: ServiceId,
        replica: ReplicaId,
    ) -> f64 {
        let e = &self.estimates[base + replica.index()];
        let cost = e.average * f64::from(e.outstanding + 1);
        if self.uniform_slots[service.index()] {
            cost
        } else {
            cost / f64::from(view.load(replica).slots)
        }
    }
}

impl Policy for PeakEwma {
    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let base = task.agent.index() * self.replicas;
        let n = view.candidates(task.service).count();
        if n == 0 {
            // Every replica of the service is gone or out of service (control agents).
            return Decision::Reject;
        }
        let first = self.rng.random_range(0..n);
        let mut second = self.rng.random_range(0..n.max(2) - 1);
        if n > 1 && second >= first {
            second += 1;
        }
        let pick = |k: usize| view.candidates(task.service).nth(k.min(n - 1)).expect("k < n");
        let (a, b) = (pick(first), pick(second));
        let (ca, cb) =
            (self.cost(base, view, task.service, a), self.cost(base, view, task.service, b));
        let chosen = if ca < cb || (ca == cb && self.rng.random::<bool>()) { a } else { b };
        let estimate = &mut self.estimates[base + chosen.index()];
        estimate.outstanding += 1;
        // The latency average dates from the last outcome heard from there (none yet: the
        // choice used no news of it).
        if estimate.average > 0.0 {
            view.report_staleness(view.now().saturating_since(estimate.stamp));
        }
        Decision::Place(chosen)
    }

    fn on_outcome(&mut self, view: &PolicyView<'_>, outcome: &Outcome) {
        let e =
            &mut self.estimates[outcome.agent.index() * self.replicas + outcome.replica.index()];
        e.outstanding = e.outstanding.saturating_sub(1);
        let sample = outcome.latency.as_secs_f64();
        let now = view.now();
        if sample > e.average {
            e.average = sample;
        } else {
            let elapsed = now.saturating_since(e.stamp).as_secs_f64();
            let keep = (-elapsed / self.decay).exp();
            e.average = e.average * keep + sample * (1.0 - keep);
        }
        e.stamp = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;
    use crate::ids::{AgentId, ServiceId};
    use crate::policy::{ReplicaLoad, Ticket};

    fn outcome(replica: u32, latency_ms: u64) -> Outcome {
        Outcome {
            agent: AgentId(0),
            replica: ReplicaId(replica),
            succeeded: true,
            latency: SimDuration::from_nanos(latency_ms * 1_000_000),
        }
    }

    #[test]
    fn a_slow_sample_counts_at_once_and_fast_ones_forgive_gradually() {
        let topology = Topology {
            agents: 1,
            orchestrators: 1,
            service_replicas: std::iter::once(0..2).collect(),
            slots: vec![1; 2],
            speeds: vec![1.0; 2],
            work: vec![crate::dist::DurationDist::exponential(0.01).unwrap()],
            mean_work: vec![0.01],
        };
        let mut p = PeakEwma::new(
            SimDuration::from_nanos(1_000_000_000),
            &topology,
            derive_stream(1, 0, 1),
        );
        let loads = [ReplicaLoad::default(); 2];
        let at = |ms: u64| SimTime::from_nanos(ms * 1_000_000);
        let members = topology.all_members();
        let view = |ms| PolicyView::new(at(ms), &members, &loads);
        p.on_outcome(&view(0), &outcome(0, 10));
        p.on_outcome(&view(0), &outcome(0, 500));
        assert!((p.estimates[0].average - 0.5).abs() < 1e-12, "the peak is taken at once");
        // 1 s later (one time constant) a 10 ms sample keeps exp(-1) of the old average.
        p.on_outcome(&view(1000), &outcome(0, 10));
        let expected = 0.5 * (-1f64).exp() + 0.010 * (1.0 - (-1f64).exp());
        assert!((p.estimates[0].average - expected).abs() < 1e-12, "{}", p.estimates[0].average);
    }

    #[test]
    fn two_choices_avoid_the_replica_that_was_slow() {
        let topology = Topology {
            agents: 1,
            orchestrators: 1,
            service_replicas: std::iter::once(0..2).collect(),
            slots: vec![1; 2],
            speeds: vec![1.0; 2],
            work: vec![crate::dist::DurationDist::exponential(0.01).unwrap()],
            mean_work: vec![0.01],
        };
        let mut p = PeakEwma::new(
            SimDuration::from_nanos(10_000_000_000),
            &topology,
            derive_stream(2, 0, 1),
        );
        let loads = [ReplicaLoad::default(); 2];
        let members = topology.all_members();
        let view = PolicyView::new(SimTime::ZERO, &members, &loads);
        p.on_outcome(&view, &outcome(0, 10));
        p.on_outcome(&view, &outcome(1, 400));
        let task = Task { agent: AgentId(0), service: ServiceId(0), ticket: Ticket(0) };
        // With 2 replicas both are always compared: replica 0 wins until its in-flight count
        // makes it dearer than replica 1 (10 ms x (n + 1) > 400 ms once n >= 40).
        let picks: Vec<u32> = (0..50)
            .map(|_| match p.place(&view, &task) {
                Decision::Place(r) => r.0,
                other => unreachable!("{other:?}"),
            })
            .collect();
        assert!(picks[..40].iter().all(|&r| r == 0), "{picks:?}");
        assert!(picks[40..].contains(&1));
    }
}
