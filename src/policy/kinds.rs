//! The catalogue of built-in policies: their names ([`PolicyKind`], as scenario files, the
//! CLI and the CSV files spell them), what each does, its parameters with their defaults,
//! and the validated parameters a run is configured with ([`PolicySpec`]). What a policy
//! does lives in its own file; `policy.rs` builds one from its spec.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::time::SimDuration;

/// The built-in policies, by the names used in scenario files, on the CLI and in CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Uniformly random replica.
    Random,
    /// Each agent cycles through the replicas.
    RoundRobin,
    /// Fewest requests this agent has in flight there.
    LeastOutstanding,
    /// Least loaded of `d` randomly probed replicas.
    PowerOfD,
    /// Least expected latency (peak-sensitive moving average) of two random replicas.
    PeakEwma,
    /// A scheduler agent fed by heartbeats places every task.
    Central,
    /// Contract net: announce, collect bids, award the best.
    Auction,
    /// Stale views spread by push-pull gossip; power of d choices over them.
    Gossip,
    /// A random replica, with probability proportional to its capacity.
    WeightedRandom,
    /// Least work left (queued plus remaining), in time; needs known sizes.
    LeastWorkLeft,
    /// Where the task would finish first, its own work included.
    LeastExpectedFinish,
    /// Size interval task assignment; needs known sizes.
    Sita,
}

impl PolicyKind {
    /// Every built-in policy, in catalog order: [`PolicyKind::DEFAULT`], then
    /// [`PolicyKind::FLEET`].
    pub const ALL: [PolicyKind; 12] = {
        let mut all = [PolicyKind::Random; 12];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < 8 { PolicyKind::DEFAULT[i] } else { PolicyKind::FLEET[i - 8] };
            i += 1;
        }
        all
    };

    /// The policies a scenario that lists none compares: the coordination protocols and
    /// the classic baselines.
    pub const DEFAULT: [PolicyKind; 8] = [
        PolicyKind::Central,
        PolicyKind::Auction,
        PolicyKind::Gossip,
        PolicyKind::Random,
        PolicyKind::RoundRobin,
        PolicyKind::LeastOutstanding,
        PolicyKind::PowerOfD,
        PolicyKind::PeakEwma,
    ];

    /// The baselines for fleets of different replicas (docs/model.md section 12), run when
    /// listed: two need known sizes, and on identical replicas the others repeat `random`'s
    /// and `power_of_d`'s question.
    pub const FLEET: [PolicyKind; 4] = [
        PolicyKind::WeightedRandom,
        PolicyKind::LeastWorkLeft,
        PolicyKind::LeastExpectedFinish,
        PolicyKind::Sita,
    ];

    /// The name used in files, on the CLI and in CSV.
    pub fn name(self) -> &'static str {
        match self {
            PolicyKind::Random => "random",
            PolicyKind::RoundRobin => "round_robin",
            PolicyKind::LeastOutstanding => "least_outstanding",
            PolicyKind::PowerOfD => "power_of_d",
            PolicyKind::PeakEwma => "peak_ewma",
            PolicyKind::Central => "central",
            PolicyKind::Auction => "auction",
            PolicyKind::Gossip => "gossip",
            PolicyKind::WeightedRandom => "weighted_random",
            PolicyKind::LeastWorkLeft => "least_work_left",
            PolicyKind::LeastExpectedFinish => "least_expected_finish",
            PolicyKind::Sita => "sita",
        }
    }

    /// One line saying what the policy does.
    pub fn description(self) -> &'static str {
        match self {
            PolicyKind::Random => "baseline: a uniformly random replica of the service",
            PolicyKind::RoundRobin => "baseline: each agent cycles through the service's replicas",
            PolicyKind::LeastOutstanding => {
                "baseline: the replica with the fewest of this agent's own requests in flight"
            }
            PolicyKind::PowerOfD => {
                "baseline: probe d random replicas, pick the one with the least work outstanding"
            }
            PolicyKind::PeakEwma => {
                "baseline: of two random replicas, the one with the least expected latency (own peak-sensitive moving average x own requests in flight)"
            }
            PolicyKind::Central => {
                "a scheduler agent, fed by replica heartbeats and its own assignments, places every task (request and reply messages), one decision at a time; optional standby"
            }
            PolicyKind::Auction => {
                "contract net: announce the task to k replicas, each live one bids its expected completion time, the best bid by the deadline wins the award"
            }
            PolicyKind::Gossip => {
                "every agent keeps a view of all replicas' load and heartbeats, spread by push-pull gossip; picks the least loaded of d unsuspected replicas in its stale view"
            }
            PolicyKind::WeightedRandom => {
                "baseline: a random replica, with probability proportional to its speed x concurrency"
            }
            PolicyKind::LeastWorkLeft => {
                "baseline: the replica whose queued and remaining work, in time at its speed per slot, is least (needs sizes_known)"
            }
            PolicyKind::LeastExpectedFinish => {
                "baseline: the replica where the task would finish first, its own work at that replica's speed included (known sizes where given, else mean sizes and loads)"
            }
            PolicyKind::Sita => {
                "baseline: size interval task assignment, one interval of request sizes per replica, cutoffs given or equalising load per capacity (needs sizes_known)"
            }
        }
    }

    /// Parameters with their defaults, as `(name, default, meaning)`.
    pub fn parameters(self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            PolicyKind::PowerOfD => &[("d", "2", "replicas probed per placement (>= 1)")],
            PolicyKind::PeakEwma => {
                &[("decay", "10s", "time constant of the latency average (> 0)")]
            }
            PolicyKind::Central => &[
                ("heartbeat", "100ms", "period of each replica's load report (> 0)"),
                ("missed", "3", "heartbeats missed before a replica is treated as dead (>= 1)"),
                ("decision_time", "100us", "scheduler time per placement, served one at a time"),
                ("standby", "false", "a standby scheduler takes over when the primary is silent"),
                ("detection_timeout", "500ms", "standby's silence threshold before taking over (> 0)"),
                ("request_timeout", "1s", "a requester re-sends an unanswered request after this (> 0)"),
                ("reports", "staggered", "`staggered`: heartbeats at phases spread over the period; `synchronous`: all at once, every period"),
                ("estimate", "aged", "`reported`: a replica's load is its last report plus the scheduler's assignments since; `aged`: that load drained by the completions expected since, at the rate learned from the replica's reports"),
            ],
            PolicyKind::Auction => &[
                ("k", "3", "replicas announced to per task, drawn at random (0: all of the service's replicas)"),
                ("bid_deadline", "20ms", "how long the announcer waits for bids (> 0)"),
                ("backoff", "20ms", "wait before re-announcing when no bid came (> 0)"),
            ],
            PolicyKind::Gossip => &[
                ("period", "100ms", "time between an agent's gossip rounds (> 0)"),
                ("fanout", "1", "peers contacted per round (>= 1)"),
                ("d", "2", "candidates compared per placement (>= 1)"),
                ("suspect_timeout", "1s", "a replica whose heartbeat counter has not grown for this long is suspected (> 0)"),
                ("mode", "place", "`place`: from the view; `claim`: post on a gossiped board, idle replicas claim"),
                ("resend_on_suspicion", "false", "an agent that starts suspecting a replica places again the tasks it waits for there (`place` mode)"),
                ("reports", "staggered", "`staggered`: rounds at phases spread over the period; `synchronous`: every agent's round at once, every period"),
                ("estimate", "reported", "`reported`: a replica's load is the entry its replica wrote plus the agent's own placements since; `aged`: the entry aged by the drain and arrival rates the replica wrote with it, less the agent's own share"),
            ],
            PolicyKind::Sita => &[(
                "cutoffs",
                "load-equalising",
                "size cutoffs between replicas' intervals, in s of work, increasing; used when the service has one more candidate than cutoffs (at most 15)",
            )],
            _ => &[],
        }
    }
}

impl PolicyKind {
    /// The policy with its default parameters.
    pub fn default_spec(self) -> PolicySpec {
        match self {
            PolicyKind::Random => PolicySpec::Random,
            PolicyKind::RoundRobin => PolicySpec::RoundRobin,
            PolicyKind::LeastOutstanding => PolicySpec::LeastOutstanding,
            PolicyKind::PowerOfD => PolicySpec::PowerOfD { d: 2 },
            PolicyKind::PeakEwma => PolicySpec::PeakEwma { decay: SimDuration::from_secs(10) },
            PolicyKind::Central => PolicySpec::Central(CentralParams::default()),
            PolicyKind::Auction => PolicySpec::Auction(AuctionParams::default()),
            PolicyKind::Gossip => PolicySpec::Gossip(GossipParams::default()),
            PolicyKind::WeightedRandom => PolicySpec::WeightedRandom,
            PolicyKind::LeastWorkLeft => PolicySpec::LeastWorkLeft,
            PolicyKind::LeastExpectedFinish => PolicySpec::LeastExpectedFinish,
            PolicyKind::Sita => PolicySpec::Sita(SitaCutoffs::default()),
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A policy with validated parameters: what a run is configured with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicySpec {
    /// See [`PolicyKind::Random`].
    Random,
    /// See [`PolicyKind::RoundRobin`].
    RoundRobin,
    /// See [`PolicyKind::LeastOutstanding`].
    LeastOutstanding,
    /// See [`PolicyKind::PowerOfD`].
    PowerOfD {
        /// Replicas probed per placement (>= 1; capped at the service's replica count).
        d: u32,
    },
    /// See [`PolicyKind::PeakEwma`].
    PeakEwma {
        /// Time constant of the latency average.
        decay: SimDuration,
    },
    /// See [`PolicyKind::Central`].
    Central(CentralParams),
    /// See [`PolicyKind::Auction`].
    Auction(AuctionParams),
    /// See [`PolicyKind::Gossip`].
    Gossip(GossipParams),
    /// See [`PolicyKind::WeightedRandom`].
    WeightedRandom,
    /// See [`PolicyKind::LeastWorkLeft`].
    LeastWorkLeft,
    /// See [`PolicyKind::LeastExpectedFinish`].
    LeastExpectedFinish,
    /// See [`PolicyKind::Sita`].
    Sita(SitaCutoffs),
}

/// `sita`'s size cutoffs, if given: increasing work sizes (at speed 1) between consecutive
/// replicas' intervals. Kept inline (at most [`SitaCutoffs::MAX`]) so that a spec stays
/// `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SitaCutoffs {
    len: u8,
    values: [SimDuration; SitaCutoffs::MAX],
}

impl SitaCutoffs {
    /// The most cutoffs that may be given (16 intervals).
    pub const MAX: usize = 15;

    /// These cutoffs (at most [`SitaCutoffs::MAX`], increasing: the caller validated them).
    pub fn new(cutoffs: &[SimDuration]) -> Self {
        assert!(cutoffs.len() <= Self::MAX, "at most {} cutoffs", Self::MAX);
        let mut values = [SimDuration::ZERO; Self::MAX];
        values[..cutoffs.len()].copy_from_slice(cutoffs);
        SitaCutoffs { len: cutoffs.len() as u8, values }
    }

    /// The cutoffs given (empty: computed to equalise load).
    pub fn given(&self) -> &[SimDuration] {
        &self.values[..usize::from(self.len)]
    }
}

/// Parameters of `central`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CentralParams {
    /// Period of each replica's heartbeat.
    pub heartbeat: SimDuration,
    /// Heartbeats missed before a replica is treated as dead.
    pub missed: u32,
    /// Scheduler time per decision.
    pub decision_time: SimDuration,
    /// Whether a standby scheduler exists.
    pub standby: bool,
    /// Silence after which the standby takes over.
    pub detection_timeout: SimDuration,
    /// A requester re-sends an unanswered request after this.
    pub request_timeout: SimDuration,
    /// When the replicas report: phases spread over the period, or all at once.
    pub reports: Reports,
    /// How a replica's load is estimated between its reports.
    pub estimate: LoadEstimate,
}

/// How a scheduler estimates a replica's load between two of its reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadEstimate {
    /// The last report plus the scheduler's own assignments since: every report overstates
    /// the load by the work finished since it was sent (the only estimate before 0.1's
    /// `aged`; results/central-estimate-sweep shows where it herds).
    Reported,
    /// The last report and the assignments since, drained by the completions expected since
    /// (a fluid model at the replica's drain rate, learned from its reports and the
    /// scheduler's own assignments): the default.
    #[default]
    Aged,
}

/// When the replicas of a protocol with periodic reports (central's heartbeats, gossip's
/// rounds) send them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reports {
    /// Each at its own phase, spread evenly over the period (agent `i` of `n` first at
    /// `(i + 1) / (n + 1)` of it): news arrives a little at a time.
    #[default]
    Staggered,
    /// All at once, at every multiple of the period: a board refreshed at once, and stale
    /// for everyone alike until the next refresh.
    Synchronous,
}

impl Reports {
    /// When agent `i` of `n` reports first, with reports every `period`.
    pub(crate) fn first(self, i: u64, n: u64, period: SimDuration) -> SimDuration {
        match self {
            Reports::Staggered => SimDuration::from_nanos(period.as_nanos() * (i + 1) / (n + 1)),
            Reports::Synchronous => period,
        }
    }
}

impl Default for CentralParams {
    fn default() -> Self {
        CentralParams {
            heartbeat: SimDuration::from_millis(100),
            missed: 3,
            decision_time: SimDuration::from_micros(100),
            standby: false,
            detection_timeout: SimDuration::from_millis(500),
            request_timeout: SimDuration::from_secs(1),
            reports: Reports::Staggered,
            estimate: LoadEstimate::Aged,
        }
    }
}

/// Parameters of `auction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuctionParams {
    /// Replicas announced to per task, drawn at random; 0 means all of the service's
    /// replicas. The default, 3, places as well as announcing to all on every shipped
    /// scenario but `pool` (see docs/policies.md) at a fraction of the messages.
    pub k: u32,
    /// How long the announcer waits for bids.
    pub bid_deadline: SimDuration,
    /// Wait before re-announcing when no bid came.
    pub backoff: SimDuration,
}

impl Default for AuctionParams {
    fn default() -> Self {
        AuctionParams {
            k: 3,
            bid_deadline: SimDuration::from_millis(20),
            backoff: SimDuration::from_millis(20),
        }
    }
}

/// Parameters of `gossip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GossipParams {
    /// Time between an agent's rounds.
    pub period: SimDuration,
    /// Peers contacted per round.
    pub fanout: u32,
    /// Candidates compared per placement.
    pub d: u32,
    /// Silence of a replica's heartbeat counter before it is suspected.
    pub suspect_timeout: SimDuration,
    /// How work is assigned: placed from the view, or claimed from a gossiped board.
    pub mode: GossipMode,
    /// When an agent starts suspecting a replica, it places again every task it is waiting
    /// for there (the first answer wins). Work duplicated this way on a replica that was in
    /// fact up counts as `false_suspicion`.
    pub resend_on_suspicion: bool,
    /// When the agents run their rounds: phases spread over the period, or all at once.
    pub reports: Reports,
    /// How an agent estimates a replica's load between the entries it hears of.
    pub estimate: LoadEstimate,
}

/// How `gossip` assigns work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GossipMode {
    /// The deciding agent places the task from its view (power of d choices).
    Place,
    /// The deciding agent posts the task on a gossiped board; idle replicas claim it.
    Claim,
}

impl Default for GossipParams {
    fn default() -> Self {
        GossipParams {
            period: SimDuration::from_millis(100),
            fanout: 1,
            d: 2,
            suspect_timeout: SimDuration::from_secs(1),
            mode: GossipMode::Place,
            resend_on_suspicion: false,
            reports: Reports::Staggered,
            estimate: LoadEstimate::Reported,
        }
    }
}

impl PolicySpec {
    /// Which policy this is.
    pub fn kind(self) -> PolicyKind {
        match self {
            PolicySpec::Random => PolicyKind::Random,
            PolicySpec::RoundRobin => PolicyKind::RoundRobin,
            PolicySpec::LeastOutstanding => PolicyKind::LeastOutstanding,
            PolicySpec::PowerOfD { .. } => PolicyKind::PowerOfD,
            PolicySpec::PeakEwma { .. } => PolicyKind::PeakEwma,
            PolicySpec::Central(_) => PolicyKind::Central,
            PolicySpec::Auction(_) => PolicyKind::Auction,
            PolicySpec::Gossip(_) => PolicyKind::Gossip,
            PolicySpec::WeightedRandom => PolicyKind::WeightedRandom,
            PolicySpec::LeastWorkLeft => PolicyKind::LeastWorkLeft,
            PolicySpec::LeastExpectedFinish => PolicyKind::LeastExpectedFinish,
            PolicySpec::Sita(_) => PolicyKind::Sita,
        }
    }
}
