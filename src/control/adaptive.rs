//! `adaptive`: a multi-armed bandit per service, choosing which placement policy (arm)
//! places the service's work. At each decision it credits the arm that ran during the last
//! period with that period's reward, then picks the next arm:
//! - `ucb1`: every arm once, then the arm with the highest mean reward plus
//!   sqrt(2 ln n / n_arm) (Auer et al., 2002);
//! - `epsilon_greedy`: with probability epsilon an arm drawn uniformly, otherwise the arm
//!   with the highest mean so far (ties to the lowest index).
//!
//! Rewards are in [0, 1]: the share of requests that succeeded within the SLO, or
//! `scale / (scale + mean latency)`. A period in which nothing ended earns nothing and is
//! not counted. Random draws come from the agent's own stream.

use rand::Rng;

use super::{Action, ControlAction, Observation};
use crate::engine::SimRng;
use crate::scenario::{Adaptive, Bandit as BanditKind, Reward};

/// An adaptive agent's memory: one bandit per service.
#[derive(Debug)]
pub struct BanditState {
    algorithm: BanditKind,
    reward: Reward,
    /// Thrift in the reward: its weight, and the count that earns none.
    cost: Option<(f64, u32)>,
    arms: usize,
    services: Vec<ServiceArms>,
    rng: SimRng,
    pinned: Option<usize>,
}

#[derive(Debug)]
struct ServiceArms {
    current: usize,
    plays: Vec<u64>,
    sums: Vec<f64>,
    /// The reward of every credited period, in order (for the regret figure).
    history: Vec<f64>,
}

impl BanditState {
    /// A bandit per service; `most` is the tuned autoscaler's `max_replicas`, when it tunes
    /// one (its cost then weighs in the reward).
    pub(super) fn new(
        spec: &Adaptive,
        services: usize,
        rng: SimRng,
        pinned: Option<usize>,
        most: Option<u32>,
    ) -> Self {
        let arms = spec.arms.len();
        let first = pinned.unwrap_or(0);
        BanditState {
            algorithm: spec.algorithm,
            reward: spec.reward,
            cost: most.filter(|_| spec.cost_weight > 0.0).map(|m| (spec.cost_weight, m)),
            arms,
            services: (0..services)
                .map(|_| ServiceArms {
                    current: first,
                    plays: vec![0; arms],
                    sums: vec![0.0; arms],
                    history: Vec::new(),
                })
                .collect(),
            rng,
            pinned,
        }
    }

    /// The arm each service starts with.
    pub fn initial_arm(&self) -> usize {
        self.pinned.unwrap_or(0)
    }

    /// The rewards each service's bandit was credited with, period by period.
    pub fn rewards(&self) -> impl Iterator<Item = &[f64]> {
        self.services.iter().map(|s| s.history.as_slice())
    }

    /// The reward of one observed period, if anything ended in it.
    pub fn reward(&self, obs: &Observation) -> Option<f64> {
        if obs.requests == 0 {
            return None;
        }
        let quality = match self.reward {
            Reward::Slo => {
                let good = obs.requests - obs.failures - obs.slo_missed;
                good as f64 / obs.requests as f64
            }
            Reward::Latency { scale } => {
                let scale = scale.as_secs_f64();
                scale / (scale + obs.latency_mean_s.unwrap_or(f64::INFINITY))
            }
        };
        Some(match self.cost {
            None => quality,
            Some((weight, most)) => {
                let thrift = 1.0 - f64::from(obs.provisioned.min(most)) / f64::from(most);
                (1.0 - weight) * quality + weight * thrift
            }
        })
    }

    pub(super) fn decide(&mut self, index: usize, obs: &Observation) -> Option<ControlAction> {
        let reward = self.reward(obs);
        let arms = self.arms;
        let s = &mut self.services[index];
        if let Some(r) = reward {
            s.plays[s.current] += 1;
            s.sums[s.current] += r;
            s.history.push(r);
        }
        let mean = |s: &ServiceArms, a: usize| {
            if s.plays[a] == 0 {
                0.0
            } else {
                s.sums[a] / s.plays[a] as f64
            }
        };
        let (next, why) = if let Some(p) = self.pinned {
            (p, "pinned (a counterfactual run)".to_owned())
        } else {
            match self.algorithm {
                BanditKind::Ucb1 => match (0..arms).find(|&a| s.plays[a] == 0) {
                    Some(a) => (a, "ucb1: every arm is tried once first".to_owned()),
                    None => {
                        let n: u64 = s.plays.iter().sum();
                        let score = |a: usize| {
                            mean(s, a) + (2.0 * (n as f64).ln() / s.plays[a] as f64).sqrt()
                        };
                        let best = (0..arms)
                            .max_by(|&a, &b| score(a).total_cmp(&score(b)).then(b.cmp(&a)))
                            .expect("at least two arms");
                        (best, format!("ucb1: highest mean plus bonus ({:.4})", score(best)))
                    }
                },
                BanditKind::EpsilonGreedy { epsilon } => {
                    if self.rng.random::<f64>() < epsilon {
                        let a = self.rng.random_range(0..arms as u32) as usize;
                        (a, format!("epsilon-greedy: exploring (epsilon {epsilon})"))
                    } else {
                        let best = (0..arms)
                            .max_by(|&a, &b| mean(s, a).total_cmp(&mean(s, b)).then(b.cmp(&a)))
                            .expect("at least two arms");
                        (best, format!("epsilon-greedy: best mean so far ({:.4})", mean(s, best)))
                    }
                }
            }
        };
        let last = match reward {
            Some(r) => format!("reward {r:.4} for arm {}", s.current),
            None => "no request ended: no reward".to_owned(),
        };
        if next == s.current {
            return None;
        }
        s.current = next;
        Some(ControlAction::new(
            Action::SetArm { service: obs.service, arm: next },
            format!(
                "{last}; means {:?}; {why}",
                (0..arms).map(|a| (mean(s, a) * 1e4).round() / 1e4).collect::<Vec<_>>()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;
    use crate::ids::ServiceId;
    use crate::policy::PolicySpec;
    use crate::scenario::Arms;
    use crate::time::SimTime;

    fn obs(good: u64, of: u64) -> Observation {
        Observation {
            service: ServiceId(0),
            at: SimTime::ZERO,
            provisioned: 1,
            ready: 1,
            slots_per_replica: 1,
            provisioned_slots: 1,
            span_s: 1.0,
            busy_slots: 0.5,
            present_slots: 1.0,
            queued: 0.0,
            arrivals: 0,
            requests: of,
            failures: of - good,
            slo_missed: 0,
            latency_mean_s: Some(0.01),
            latency_p50_s: None,
            latency_p99_s: Some(0.02),
            crashed: 0,
            slowed: 0,
        }
    }

    fn spec(algorithm: BanditKind) -> Adaptive {
        Adaptive {
            arms: Arms::Policies(vec![
                PolicySpec::Random,
                PolicySpec::PowerOfD { d: 2 },
                PolicySpec::RoundRobin,
            ]),
            algorithm,
            reward: Reward::Slo,
            cost_weight: 0.0,
        }
    }

    /// Runs `periods` decisions where arm `a` earns `means[a]` (as a share of 1000 requests).
    fn play(algorithm: BanditKind, means: [f64; 3], periods: usize) -> Vec<u64> {
        let mut b = BanditState::new(&spec(algorithm), 1, derive_stream(3, 0, 77), None, None);
        for _ in 0..periods {
            let arm = b.services[0].current;
            let good = (means[arm] * 1000.0).round() as u64;
            b.decide(0, &obs(good, 1000));
        }
        b.services[0].plays.clone()
    }

    #[test]
    fn ucb1_plays_each_worse_arm_no_more_than_its_regret_bound() {
        // Auer, Cesa-Bianchi and Fischer (2002), theorem 1: an arm whose mean is `gap` below
        // the best is played at most 8 ln n / gap^2 + 1 + pi^2 / 3 times in n plays.
        let (means, n) = ([0.2, 0.9, 0.5], 2000);
        let plays = play(BanditKind::Ucb1, means, n);
        assert!(plays.iter().all(|&p| p >= 1), "every arm is tried: {plays:?}");
        for arm in [0, 2] {
            let gap: f64 = means[1] - means[arm];
            let bound =
                8.0 * (n as f64).ln() / (gap * gap) + 1.0 + std::f64::consts::PI.powi(2) / 3.0;
            assert!((plays[arm] as f64) <= bound, "arm {arm}: {plays:?} against {bound:.0}");
        }
    }

    #[test]
    fn epsilon_greedy_explores_about_epsilon_of_the_time() {
        let plays = play(BanditKind::EpsilonGreedy { epsilon: 0.2 }, [0.6, 0.9, 0.7], 2000);
        // Exploration picks each arm with probability 0.2 / 3; the best arm is played the
        // rest of the time once found: expected share of others about 2 x 0.0667 = 0.133.
        let others = (plays[0] + plays[2]) as f64 / 2000.0;
        assert!((others - 0.133).abs() < 0.04, "{plays:?}");
    }

    #[test]
    fn a_pinned_bandit_never_leaves_its_arm() {
        let mut b =
            BanditState::new(&spec(BanditKind::Ucb1), 1, derive_stream(3, 0, 77), Some(2), None);
        for _ in 0..20 {
            assert!(b.decide(0, &obs(500, 1000)).is_none());
        }
        assert_eq!(b.services[0].plays, vec![0, 0, 20]);
    }
}
