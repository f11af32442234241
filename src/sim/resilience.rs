//! Client-side resilience state: what a calling agent remembers about its destinations.
//! Circuit breakers (per agent and service), outlier ejection (per agent and replica),
//! retry budgets (per agent and service), and the observed latency that quantile hedging
//! waits for (per service). The mechanics that use them are in `placement.rs` and `tasks.rs`.

use std::collections::BTreeMap;

use rand::Rng;

use crate::engine::SimRng;
use crate::scenario::{Backoff, Breaker, Ejection, Jitter};
use crate::time::{SimDuration, SimTime};

/// The wait before retry number `retry` (1-based).
pub(super) fn backoff(
    backoff: Backoff,
    jitter: Jitter,
    retry: u32,
    rng: &mut SimRng,
) -> SimDuration {
    let wait = match backoff {
        Backoff::None => return SimDuration::ZERO,
        Backoff::Constant(d) => d,
        Backoff::Exponential { base, cap } => {
            let doubled = base.as_nanos().saturating_mul(1u64 << (retry - 1).min(40));
            SimDuration::from_nanos(doubled.min(cap.as_nanos()))
        }
    };
    match jitter {
        Jitter::None => wait,
        Jitter::Full => SimDuration::from_nanos(rng.random_range(0..=wait.as_nanos())),
        Jitter::Equal => {
            let half = wait.as_nanos() / 2;
            SimDuration::from_nanos(half + rng.random_range(0..=wait.as_nanos() - half))
        }
    }
}

/// A circuit breaker's state.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct BreakerState {
    window_start: SimTime,
    requests: u32,
    failures: u32,
    consecutive: u32,
    open_until: Option<SimTime>,
    probes_left: u32,
}

impl BreakerState {
    /// Whether a request may go now: the breaker is closed, or half-open with a probe left.
    /// Probes that never answer (lost) do not keep it half-open forever: after another
    /// `open_for` it hands out fresh probes.
    pub(super) fn allows(&mut self, now: SimTime, config: &Breaker) -> bool {
        match self.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(until) => {
                if self.probes_left == 0 && now >= until + config.open_for {
                    self.open_until = Some(now);
                    self.probes_left = config.probes;
                }
                if self.probes_left > 0 {
                    self.probes_left -= 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records the outcome of a request that was allowed.
    pub(super) fn record(&mut self, now: SimTime, succeeded: bool, config: &Breaker) {
        if let Some(until) = self.open_until {
            if now >= until {
                // Half-open: the probe decides.
                if succeeded {
                    *self = BreakerState { window_start: now, ..BreakerState::default() };
                } else {
                    self.trip(now, config);
                }
            }
            return;
        }
        if now >= self.window_start + config.window {
            self.window_start = now;
            self.requests = 0;
            self.failures = 0;
        }
        self.requests += 1;
        if succeeded {
            self.consecutive = 0;
        } else {
            self.failures += 1;
            self.consecutive += 1;
        }
        let by_rate = self.requests >= config.min_requests
            && f64::from(self.failures) >= config.error_rate * f64::from(self.requests);
        let by_streak = config.consecutive > 0 && self.consecutive >= config.consecutive;
        if by_rate || by_streak {
            self.trip(now, config);
        }
    }

    fn trip(&mut self, now: SimTime, config: &Breaker) {
        self.open_until = Some(now + config.open_for);
        self.probes_left = config.probes;
        self.consecutive = 0;
    }
}

/// What one agent knows about one replica, for outlier ejection.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReplicaHealth {
    consecutive_failures: u32,
    samples: u32,
    /// Exponentially weighted mean latency of successful attempts, in seconds.
    mean_latency: f64,
    pub(super) ejected_until: SimTime,
}

/// Outlier-ejection state of all agents, by (agent, replica).
#[derive(Debug, Default)]
pub(super) struct Ejections {
    health: BTreeMap<(u32, u32), ReplicaHealth>,
}

impl Ejections {
    pub(super) fn is_ejected(&self, agent: u32, replica: u32, now: SimTime) -> bool {
        self.health.get(&(agent, replica)).is_some_and(|h| h.ejected_until > now)
    }

    /// Records an outcome; may eject the replica. `peers` are the service's replicas.
    pub(super) fn record(
        &mut self,
        (agent, replica): (u32, u32),
        peers: std::ops::Range<u32>,
        succeeded: bool,
        latency: SimDuration,
        now: SimTime,
        config: &Ejection,
    ) {
        let h = self.health.entry((agent, replica)).or_default();
        if succeeded {
            h.consecutive_failures = 0;
            h.samples += 1;
            // Weight 0.1: the mean follows the last ~10 results.
            let x = latency.as_secs_f64();
            h.mean_latency = if h.samples == 1 { x } else { 0.9 * h.mean_latency + 0.1 * x };
        } else {
            h.consecutive_failures += 1;
        }
        let mut eject = config.consecutive_failures > 0
            && h.consecutive_failures >= config.consecutive_failures;
        if let (Some(factor), true) = (config.latency_factor, succeeded) {
            let mine = (h.samples, h.mean_latency);
            let mut others: Vec<f64> = peers
                .clone()
                .filter_map(|p| self.health.get(&(agent, p)))
                .filter(|o| o.samples >= config.min_samples)
                .map(|o| o.mean_latency)
                .collect();
            if mine.0 >= config.min_samples && others.len() >= 3 {
                others.sort_by(f64::total_cmp);
                let median = others[others.len() / 2];
                eject |= mine.1 > factor * median;
            }
        }
        if eject {
            let ejected_now = peers.clone().filter(|&p| self.is_ejected(agent, p, now)).count();
            let allowed = (config.max_ejected * peers.len() as f64).floor() as usize;
            if ejected_now < allowed {
                let h = self.health.entry((agent, replica)).or_default();
                h.ejected_until = now + config.eject_for;
                h.consecutive_failures = 0;
                // Judge it afresh when it comes back.
                h.samples = 0;
            }
        }
    }
}

/// Recent latencies of successful attempts to one service, for quantile hedging.
#[derive(Debug, Default)]
pub(super) struct LatencyWindow {
    recent: Vec<u64>,
    next: usize,
    since_sort: u32,
    cached: Option<(f64, SimDuration)>,
}

/// Latencies kept per service.
const WINDOW: usize = 512;

impl LatencyWindow {
    pub(super) fn push(&mut self, latency: SimDuration) {
        if self.recent.len() < WINDOW {
            self.recent.push(latency.as_nanos());
        } else {
            self.recent[self.next] = latency.as_nanos();
            self.next = (self.next + 1) % WINDOW;
        }
        self.since_sort += 1;
    }

    /// The `q` quantile of the recent latencies, recomputed every 64 samples; `None` until
    /// 32 samples were seen (no hedging before the caller knows what slow means).
    pub(super) fn quantile(&mut self, q: f64) -> Option<SimDuration> {
        if self.recent.len() < 32 {
            return None;
        }
        match self.cached {
            Some((cq, value)) if cq == q && self.since_sort < 64 => Some(value),
            _ => {
                let mut sorted = self.recent.clone();
                sorted.sort_unstable();
                let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
                let value = SimDuration::from_nanos(sorted[index]);
                self.cached = Some((q, value));
                self.since_sort = 0;
                Some(value)
            }
        }
    }
}

/// A retry budget: each original request deposits `ratio` tokens (up to a cap), each retry
/// spends one.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct RetryBudget {
    tokens: f64,
}

/// Tokens a budget can hold: a burst of at most this many retries.
const BUDGET_CAP: f64 = 10.0;

impl RetryBudget {
    pub(super) fn deposit(&mut self, ratio: f64) {
        self.tokens = (self.tokens + ratio).min(BUDGET_CAP);
    }

    pub(super) fn withdraw(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::DurationDist;
    use crate::engine::derive_stream;

    #[test]
    fn latency_window_estimates_the_quantile_of_recent_samples() {
        // Exp(10 ms): p95 = 10 ms * ln 20 = 29.96 ms. With 512 samples the estimate's standard
        // deviation is about 2 ms; average many estimates to check there is no bias.
        let d = DurationDist::exponential(0.010).unwrap();
        let mut rng = derive_stream(9, 0, 0);
        let mut w = LatencyWindow::default();
        let (mut sum, mut n) = (0.0, 0);
        for i in 0..200_000 {
            w.push(d.sample(&mut rng));
            if i > 1000 && i % 97 == 0 {
                sum += w.quantile(0.95).unwrap().as_secs_f64();
                n += 1;
            }
        }
        let mean = sum / f64::from(n);
        assert!((mean - 0.02996).abs() < 0.0005, "{mean}");
    }
}
