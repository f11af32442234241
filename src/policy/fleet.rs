//! Baselines for fleets whose replicas differ in speed and slots (docs/model.md section 12):
//! `weighted_random`, `least_work_left`, `least_expected_finish` and `sita`.
//!
//! Like the other baselines they send no messages. What each reads, and what that would cost
//! a real dispatcher, is in docs/policies.md: `weighted_random` only the replicas' nominal
//! capacities (configuration); `least_expected_finish` every candidate's true load (a probe of
//! each, as join-the-shortest-queue), and the task's work where sizes are known;
//! `least_work_left` every candidate's work left and the task's work (a dispatcher told every
//! request's size, and each replica's backlog in time); `sita` only the task's work. Ties are
//! broken uniformly at random from the policy's own stream.

use rand::Rng;

use super::{argmin_random_tie, Decision, Policy, PolicyView, SitaCutoffs, Task, Topology};
use crate::dist::DurationDist;
use crate::engine::SimRng;
use crate::ids::{ReplicaId, ServiceId};
use crate::time::SimDuration;

/// A random candidate, with probability proportional to its capacity (speed x slots): on
/// Poisson arrivals, each replica an independent queue loaded in proportion to what it can
/// do.
#[derive(Debug)]
pub struct WeightedRandom {
    rng: SimRng,
}

impl WeightedRandom {
    /// A policy drawing from `rng`.
    pub fn new(rng: SimRng) -> Self {
        WeightedRandom { rng }
    }
}

impl Policy for WeightedRandom {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let total: f64 = view.candidates(task.service).map(|r| view.capacity(r)).sum();
        if total <= 0.0 {
            return Decision::Reject;
        }
        let mut point = self.rng.random::<f64>() * total;
        let mut last = None;
        for r in view.candidates(task.service) {
            point -= view.capacity(r);
            last = Some(r);
            if point < 0.0 {
                break;
            }
        }
        // Rounding can leave the point just past the last candidate: it is the last one's.
        Decision::Place(last.expect("a positive total has a candidate"))
    }
}

/// The candidate whose work left, in time at its own speed and per slot, is least: with
/// one slot per replica, the least work left (LWL) rule, which on identical replicas is a
/// central first-come-first-served queue. Needs the service's sizes known.
#[derive(Debug)]
pub struct LeastWorkLeft {
    rng: SimRng,
}

impl LeastWorkLeft {
    /// A policy breaking ties from `rng`.
    pub fn new(rng: SimRng) -> Self {
        LeastWorkLeft { rng }
    }
}

impl Policy for LeastWorkLeft {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn wants_sizes(&self) -> bool {
        true
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let candidates = view.candidates(task.service).map(|r| {
            // Validation makes every service's sizes known; a replica without them (none)
            // would count as idle.
            let left = view.work_left(r).unwrap_or(SimDuration::ZERO);
            (r.0, left.as_secs_f64() / f64::from(view.load(r).slots))
        });
        match argmin_random_tie(candidates, &mut self.rng) {
            Some(r) => Decision::Place(ReplicaId(r)),
            None => Decision::Reject,
        }
    }
}

/// The candidate where this task would finish first: its wait for a slot plus its own
/// execution at that replica's speed. The wait is the replica's work left per slot where
/// sizes are known (none while a slot is free and nothing waits); otherwise it is counted
/// in mean requests from the true load (the requests ahead of it beyond the free slots, each
/// a mean work per slot at the replica's speed): shortest expected delay.
#[derive(Debug)]
pub struct LeastExpectedFinish {
    /// Each service's mean work (seconds at speed 1).
    mean_work: Vec<f64>,
    rng: SimRng,
}

impl LeastExpectedFinish {
    /// A policy for this topology, breaking ties from `rng`.
    pub fn new(topology: &Topology, rng: SimRng) -> Self {
        LeastExpectedFinish { mean_work: topology.mean_work.clone(), rng }
    }
}

/// When a task would finish on `replica`, of mean work `mean` (seconds at speed 1) where its
/// own is unknown.
fn expected_finish(view: &PolicyView<'_>, mean: f64, replica: ReplicaId) -> f64 {
    let load = view.load(replica);
    let (slots, speed) = (f64::from(load.slots), view.speed(replica));
    match (view.task_work(), view.work_left(replica)) {
        (Some(work), Some(left)) => {
            let wait = if load.running < load.slots && load.queued == 0 {
                0.0
            } else {
                left.as_secs_f64() / slots
            };
            wait + work.as_secs_f64() / speed
        }
        _ => {
            let ahead = f64::from((load.outstanding() + 1).saturating_sub(load.slots));
            (ahead / slots + 1.0) * mean / speed
        }
    }
}

impl Policy for LeastExpectedFinish {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn wants_sizes(&self) -> bool {
        true
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let mean = self.mean_work[task.service.index()];
        let candidates =
            view.candidates(task.service).map(|r| (r.0, expected_finish(view, mean, r)));
        match argmin_random_tie(candidates, &mut self.rng) {
            Some(r) => Decision::Place(ReplicaId(r)),
            None => Decision::Reject,
        }
    }
}

/// Size interval task assignment: the candidates, in id order, each take one interval of
/// request sizes, the smallest sizes to the first. The cutoffs between intervals are the
/// ones given where the service has one more candidate than cutoffs; otherwise they are
/// computed from the service's size distribution so that each candidate's share of the
/// work is its share of the candidates' capacity (speed x slots). Needs sizes known.
#[derive(Debug)]
pub struct Sita {
    given: SitaCutoffs,
    /// Each service's work-size distribution (seconds at speed 1).
    work: Vec<DurationDist>,
    /// Per service, the candidates the computed cutoffs were made for, and the cutoffs.
    computed: Vec<Option<(Vec<ReplicaId>, Vec<f64>)>>,
    /// Reused between placements so a placement allocates nothing.
    candidates: Vec<ReplicaId>,
    rng: SimRng,
}

impl Sita {
    /// A policy for this topology with `given` cutoffs (or none), drawing from `rng` where
    /// a size is unknown.
    pub fn new(given: SitaCutoffs, topology: &Topology, rng: SimRng) -> Self {
        let services = topology.work.len();
        Sita {
            given,
            work: topology.work.clone(),
            computed: vec![None; services],
            candidates: Vec::new(),
            rng,
        }
    }

    /// The cutoffs for these candidates of `service`, computed when they changed.
    fn cutoffs(
        &mut self,
        view: &PolicyView<'_>,
        service: ServiceId,
        candidates: &[ReplicaId],
    ) -> &[f64] {
        let slot = &mut self.computed[service.index()];
        if slot.as_ref().is_none_or(|(made_for, _)| made_for != candidates) {
            let shares: Vec<f64> = candidates.iter().map(|&r| view.capacity(r)).collect();
            let cutoffs = load_equalising_cutoffs(&self.work[service.index()], &shares);
            *slot = Some((candidates.to_vec(), cutoffs));
        }
        &slot.as_ref().expect("just computed").1
    }
}

impl Policy for Sita {
    fn wants_outcomes(&self) -> bool {
        false
    }

    fn wants_sizes(&self) -> bool {
        true
    }

    fn place(&mut self, view: &PolicyView<'_>, task: &Task) -> Decision {
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        candidates.extend(view.candidates(task.service));
        let decision = self.choose(view, task, &candidates);
        self.candidates = candidates;
        decision
    }
}

impl Sita {
    fn choose(&mut self, view: &PolicyView<'_>, task: &Task, candidates: &[ReplicaId]) -> Decision {
        if candidates.is_empty() {
            return Decision::Reject;
        }
        let Some(work) = view.task_work() else {
            // Validation makes every service's sizes known; without a size, any candidate.
            let k = self.rng.random_range(0..candidates.len());
            return Decision::Place(candidates[k]);
        };
        let w = work.as_secs_f64();
        let given = self.given.given();
        let interval = if given.len() + 1 == candidates.len() {
            given.partition_point(|c| c.as_secs_f64() < w)
        } else {
            self.cutoffs(view, task.service, candidates).partition_point(|&c| c < w)
        };
        Decision::Place(candidates[interval.min(candidates.len() - 1)])
    }
}

/// Cutoffs `c_1 < ... < c_{n-1}` splitting the sizes of `work` into `n` intervals, so that
/// the sizes in interval `i` carry the fraction `shares[i] / sum(shares)` of the mean work:
/// `E[X; X <= c_k] = E[X] x (shares[0] + ... + shares[k-1]) / sum`, solved by bisection.
pub(crate) fn load_equalising_cutoffs(work: &DurationDist, shares: &[f64]) -> Vec<f64> {
    let total: f64 = shares.iter().sum();
    let mean = work.mean_secs();
    if !(mean.is_finite() && mean > 0.0 && total > 0.0) {
        return vec![f64::INFINITY; shares.len().saturating_sub(1)];
    }
    let mut cumulative = 0.0;
    let mut cutoffs = Vec::with_capacity(shares.len().saturating_sub(1));
    for share in &shares[..shares.len().saturating_sub(1)] {
        cumulative += share;
        let target = mean * cumulative / total;
        let (mut lo, mut hi) = (0.0, mean);
        while work.partial_mean_secs(hi) < target && hi < 1e12 {
            lo = hi;
            hi *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if work.partial_mean_secs(mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-15 * hi {
                break;
            }
        }
        cutoffs.push(hi);
    }
    cutoffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;
    use crate::ids::AgentId;
    use crate::policy::{ReplicaLoad, Ticket};
    use crate::time::SimTime;

    #[test]
    fn cutoffs_split_exponential_work_as_asked() {
        // Two equal shares of an exponential of mean 1: E[X; X <= c] = 1 - e^-c (1 + c)
        // = 1/2 at c = 1.678347 (the root of (1 + c) e^-c = 1/2).
        let work = DurationDist::exponential(1.0).unwrap();
        let c = load_equalising_cutoffs(&work, &[1.0, 1.0]);
        assert!((c[0] - 1.678_346_99).abs() < 1e-6, "{c:?}");
        // Shares 1 : 2 : 1 put a quarter below c1 and three quarters below c2.
        let c = load_equalising_cutoffs(&work, &[1.0, 2.0, 1.0]);
        for (cut, frac) in c.iter().zip([0.25, 0.75]) {
            assert!((work.partial_mean_secs(*cut) - frac).abs() < 1e-9, "{c:?}");
        }
    }

    #[test]
    fn weighted_random_follows_capacity() {
        let members = vec![vec![ReplicaId(0), ReplicaId(1), ReplicaId(2)]];
        let loads = vec![ReplicaLoad { running: 0, queued: 0, slots: 1, finished: 0 }; 3];
        let speeds = [1.0, 2.0, 5.0];
        let view = PolicyView::new(SimTime::ZERO, &members, &loads).with_fleet(&speeds, &[]);
        let task = Task { agent: AgentId(0), service: ServiceId(0), ticket: Ticket(0) };
        let mut p = WeightedRandom::new(derive_stream(1, 0, 9));
        let mut counts = [0u32; 3];
        let n = 80_000;
        for _ in 0..n {
            let Decision::Place(r) = p.place(&view, &task) else { panic!() };
            counts[r.index()] += 1;
        }
        for (count, speed) in counts.iter().zip(speeds) {
            // Binomial(80000, p): sd below 0.0018 of n; 0.008 is more than four sd.
            let share = f64::from(*count) / f64::from(n);
            assert!((share - speed / 8.0).abs() < 0.008, "{counts:?}");
        }
    }
}
