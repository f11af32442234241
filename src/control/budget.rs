//! `budget`: a cost agent holding the replicas of its services together under `max_total`.
//! At each decision, while the provisioned total is above the cap, it removes one replica
//! from the service with the lowest utilisation in its window (ties: the service listed
//! first), never below one replica per service. It adds nothing: next to an autoscaler it
//! is the classic pair of agents that undo each other's actions.

use super::{Action, ControlAction, Observation};
use crate::scenario::Budget;

/// A budget agent (it keeps no memory between decisions).
#[derive(Debug)]
pub struct BudgetState {
    spec: Budget,
}

impl BudgetState {
    pub(super) fn new(spec: Budget) -> Self {
        BudgetState { spec }
    }

    pub(super) fn decide(&mut self, observations: &[Observation]) -> Vec<ControlAction> {
        let mut counts: Vec<u32> = observations.iter().map(|o| o.provisioned).collect();
        let total: u32 = counts.iter().sum();
        let cap = self.spec.max_total;
        let mut over = total.saturating_sub(cap);
        while over > 0 {
            let utilisation = |i: usize| observations[i].utilisation().unwrap_or(0.0);
            let Some(i) = (0..counts.len())
                .filter(|&i| counts[i] > 1)
                .min_by(|&a, &b| utilisation(a).total_cmp(&utilisation(b)).then(a.cmp(&b)))
            else {
                break;
            };
            counts[i] -= 1;
            over -= 1;
        }
        observations
            .iter()
            .zip(&counts)
            .filter(|(o, &c)| c < o.provisioned)
            .map(|(o, &c)| {
                ControlAction::new(
                    Action::Scale { service: o.service, to: c },
                    format!(
                        "{total} replicas over its services, above the budget of {cap}; this one the least utilised ({:.4})",
                        o.utilisation().unwrap_or(0.0)
                    ),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServiceId;
    use crate::time::SimTime;

    fn obs(service: u32, provisioned: u32, busy: f64) -> Observation {
        Observation {
            service: ServiceId(service),
            at: SimTime::ZERO,
            provisioned,
            ready: provisioned,
            slots_per_replica: 1,
            provisioned_slots: provisioned,
            span_s: 30.0,
            busy_slots: busy,
            present_slots: f64::from(provisioned),
            queued: 0.0,
            arrivals: 0,
            requests: 0,
            failures: 0,
            slo_missed: 0,
            latency_mean_s: None,
            latency_p50_s: None,
            latency_p99_s: None,
            crashed: 0,
            slowed: 0,
        }
    }

    #[test]
    fn over_budget_it_trims_the_least_utilised_services_first() {
        // 6 + 4 = 10 replicas, budget 6: four to remove. Utilisations 0.5 and 0.25: the
        // second loses replicas first, down to one (three), then the first loses one.
        let mut b = BudgetState::new(Budget { max_total: 6 });
        let actions = b.decide(&[obs(0, 6, 3.0), obs(1, 4, 1.0)]);
        let moves: Vec<&Action> = actions.iter().map(|a| &a.action).collect();
        assert_eq!(
            moves,
            [
                &Action::Scale { service: ServiceId(0), to: 5 },
                &Action::Scale { service: ServiceId(1), to: 1 }
            ]
        );
        assert!(b.decide(&[obs(0, 4, 3.0), obs(1, 2, 1.0)]).is_empty(), "at the budget");
    }
}
