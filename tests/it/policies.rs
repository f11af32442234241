//! Each coordination policy behaves as its family should: message counts that follow from
//! the protocol, failover times that follow from the timeouts, gossip dissemination in a
//! logarithmic number of rounds, the duplicates of gossip's conflicting claims and of its
//! resending on a wrong suspicion (and the work a right one rescues), and the classical
//! ordering of placement rules with the supermarket model's prediction for power of two
//! choices.

use coordsim::metrics::RunSummary;
use coordsim::policy::{AuditRecord, Endpoint, MessageKind, PolicySpec};
use coordsim::sim;

use crate::support::scenario;

/// One service of `replicas` single-slot servers with exponential work (mean 10 ms) at load
/// `load`, zero network latency, no faults; `extra` starts with the `policies = [...]` line,
/// which goes at the top, followed by tables (policy parameters, faults).
fn pool(replicas: u32, load: f64, duration_s: f64, extra: &str) -> String {
    let rate = load * f64::from(replicas) / 0.010;
    let (top, tables) = extra.split_once('\n').unwrap_or((extra, ""));
    format!(
        r#"
{top}
duration = "{duration_s}s"
warmup = "{warmup}s"
seed = 7
orchestrators = 2

[services.server]
replicas = {replicas}
concurrency = 1
service_time = {{ dist = "exponential", mean = "10ms" }}

[classes.request]
service = "server"
arrival = {{ process = "poisson", rate = {rate} }}
{tables}
"#,
        warmup = duration_s / 10.0
    )
}

fn spec(toml: &str, index: usize) -> (coordsim::scenario::Scenario, PolicySpec) {
    let s = scenario(toml);
    let p = s.policies[index];
    (s, p)
}

fn messages(summary: &RunSummary, kind: MessageKind) -> u64 {
    summary.messages_by_kind[kind.index()]
}

#[test]
fn an_auction_over_k_candidates_sends_k_announcements_at_most_k_bids_and_one_award() {
    for k in [1u32, 3, 8] {
        let toml =
            pool(8, 0.7, 20.0, &format!("policies = [\"auction\"]\n[policy.auction]\nk = {k}\n"));
        let (s, p) = spec(&toml, 0);
        let r = sim::run(&s, p, 0);
        let (announce, bid, award) = (
            messages(&r, MessageKind::Announce),
            messages(&r, MessageKind::Bid),
            messages(&r, MessageKind::Award),
        );
        assert!(award > 10_000, "k = {k}: {award} awards");
        assert_eq!(messages(&r, MessageKind::Assign), 0, "the award is the hand-off");
        // Every placement announces to exactly k replicas; an auction still open when the
        // run ends has announced without awarding (at most one per job in flight).
        assert_eq!(announce % u64::from(k), 0, "k = {k}");
        let auctions = announce / u64::from(k);
        assert!(
            auctions >= award && auctions - award <= r.jobs_in_flight + 1,
            "k = {k}: {auctions} auctions, {award} awards"
        );
        assert!(bid <= announce, "k = {k}: {bid} bids for {announce} announcements");
        // Nothing is lost and nobody crashes, so every announced replica bids.
        assert!(bid + u64::from(k) * (r.jobs_in_flight + 1) >= announce, "k = {k}");
        assert_eq!(r.jobs_failed, 0);
    }
}

/// The times at which a scheduler (control agent) made a placement decision.
fn decisions_by(audit: &[AuditRecord], control: u32) -> Vec<f64> {
    audit
        .iter()
        .filter(|a| a.agent == Endpoint::PolicyAgent(control) && a.choice.is_some())
        .map(|a| a.at.as_secs_f64())
        .collect()
}

#[test]
fn central_without_a_standby_stops_placing_until_the_scheduler_returns() {
    let toml = pool(
        8,
        0.5,
        12.0,
        r#"policies = ["central"]
[[faults]]
kind = "crash"
agent = "scheduler"
at = "5s"
duration = "3s"
"#,
    );
    let (s, p) = spec(&toml, 0);
    let audit = sim::run_audited(&s, p, 0, usize::MAX).1.decisions;
    let times = decisions_by(&audit, 0);
    assert!(times.iter().any(|&t| t < 5.0) && times.iter().any(|&t| t > 8.0));
    assert!(
        !times.iter().any(|&t| (5.0..8.0).contains(&t)),
        "a crashed scheduler decided at {:?}",
        times.iter().find(|&&t| (5.0..8.0).contains(&t))
    );
    assert!(decisions_by(&audit, 1).is_empty(), "there is no standby");
    // It comes back empty and rebuilds its view from heartbeats (period 100 ms, staggered):
    // placements resume within one heartbeat period of its return.
    let resumed = times.iter().copied().find(|&t| t >= 8.0).unwrap();
    eprintln!("without a standby, placement resumed at {resumed:.4} s (scheduler back at 8 s)");
    assert!(resumed <= 8.0 + 0.1 + 1e-3, "resumed at {resumed} s");
}

#[test]
fn central_with_a_standby_resumes_within_the_detection_timeout_plus_one_decision() {
    let toml = pool(
        8,
        0.5,
        12.0,
        r#"policies = ["central"]
[policy.central]
standby = true
detection_timeout = "300ms"
decision_time = "1ms"
[[faults]]
kind = "crash"
agent = "scheduler"
at = "5s"
duration = "3s"
"#,
    );
    let (s, p) = spec(&toml, 0);
    let (summary, log) = sim::run_audited(&s, p, 0, usize::MAX);
    let audit = log.decisions;
    let primary = decisions_by(&audit, 0);
    let standby = decisions_by(&audit, 1);
    assert!(primary.iter().all(|&t| t < 5.0), "the primary stays the standby once it is back");
    let first = standby.first().copied().expect("the standby takes over");
    eprintln!("standby's first decision at {first:.4} s (crash at 5 s)");
    // The standby last heard the primary at most one heartbeat before the crash, so it takes
    // over by 5 s + 300 ms; with zero network latency the re-sent requests arrive at once
    // and the first decision takes 1 ms.
    assert!(
        first > 5.0 && first <= 5.0 + 0.300 + 0.001 + 1e-9,
        "first standby decision at {first} s"
    );
    assert!(first >= 5.0 + 0.300 - 0.100, "it cannot detect before the timeout: {first} s");
    assert!(standby.iter().any(|&t| t > 11.0), "it keeps scheduling after the primary returns");
    assert!(summary.scheduler_queue_mean_ms.is_finite());
    assert!(messages(&summary, MessageKind::Leader) > 0);
}

/// Per agent, the first time it suspected `replica` after `after`.
fn first_suspicions(audit: &[AuditRecord], replica: u32, after: f64) -> Vec<(Endpoint, f64)> {
    let mut firsts: Vec<(Endpoint, f64)> = Vec::new();
    for a in audit {
        let t = a.at.as_secs_f64();
        if t > after
            && a.choice.is_some_and(|r| r.0 == replica)
            && a.reason.starts_with("suspects")
            && !firsts.iter().any(|(agent, _)| *agent == a.agent)
        {
            firsts.push((a.agent, t));
        }
    }
    firsts
}

#[test]
fn gossip_suspects_a_crashed_replica_everywhere_within_the_timeout_plus_log_n_rounds() {
    let (period, timeout, crash_at) = (0.1, 1.0, 3.0);
    let mut extra_rounds = Vec::new();
    for n in [16u32, 64, 256] {
        let extra = format!(
            r#"policies = ["gossip"]
[policy.gossip]
period = "{period}s"
suspect_timeout = "{timeout}s"
[[faults]]
kind = "crash"
service = "server"
replica = 0
at = "{crash_at}s"
duration = "100s"
"#
        );
        // Light load: this is about failure detection, not placement.
        let (s, p) = spec(&pool(n, 0.05, 7.0, &extra), 0);
        let audit = sim::run_audited(&s, p, 0, usize::MAX).1.decisions;
        let firsts = first_suspicions(&audit, 0, crash_at);
        // Every agent but the crashed replica's own worker (2 orchestrators + n workers).
        assert_eq!(firsts.len() as u32, n + 1, "n = {n}: agents that suspected");
        let last = firsts.iter().map(|&(_, t)| t).fold(0.0, f64::max);
        let delay = last - crash_at;
        // The last heartbeat reached some agents up to one round before the crash, so the
        // earliest suspicion is a round under the timeout.
        let earliest = firsts.iter().map(|&(_, t)| t).fold(f64::MAX, f64::min);
        assert!(earliest - crash_at >= timeout - period, "n = {n}: suspected at {earliest}");
        let rounds = (delay - timeout) / period;
        // Push-pull gossip spreads a rumour to all n agents in log3(n) + O(log log n)
        // rounds (Karp et al., 2000); suspicion is checked at each agent's own round (one
        // more round), so allow log2(n) + 2.
        let bound = f64::from(n).log2() + 2.0;
        assert!(
            rounds <= bound,
            "n = {n}: everyone suspects after {rounds:.1} extra rounds, bound {bound:.1}"
        );
        eprintln!("gossip n = {n}: all suspect {delay:.3} s after the crash, {rounds:.1} rounds past the timeout (bound {bound:.1})");
        extra_rounds.push(rounds);
    }
    assert!(
        extra_rounds[2] > extra_rounds[0],
        "dissemination takes longer with more agents: {extra_rounds:?}"
    );
}

#[test]
fn gossip_gets_worse_as_its_views_get_staler() {
    let p99 = |period: &str| {
        let extra = format!("policies = [\"gossip\"]\n[policy.gossip]\nperiod = \"{period}\"\n");
        let (s, p) = spec(&pool(16, 0.9, 100.0, &extra), 0);
        sim::run(&s, p, 0).latency_p99_ms
    };
    let (fresh, stale, staler) = (p99("10ms"), p99("200ms"), p99("2s"));
    eprintln!("gossip p99 by period 10 ms, 200 ms, 2 s: {fresh:.1}, {stale:.1}, {staler:.1} ms");
    assert!(
        fresh < stale && stale < staler,
        "p99 by period 10 ms, 200 ms, 2 s: {fresh}, {stale}, {staler}"
    );
}

/// Mean latency in ms of a policy on a pool of `n` servers at load 0.9, over replications.
fn mean_latency(n: u32, policy: &str, replications: u32) -> f64 {
    let extra = format!(
        "policies = [\"{policy}\"]\n[policy.central]\nheartbeat = \"1ms\"\ndecision_time = \"0s\"\n"
    );
    let (s, p) = spec(&pool(n, 0.9, 200.0, &extra), 0);
    let means: Vec<f64> = (0..replications).map(|r| sim::run(&s, p, r).latency_mean_ms).collect();
    means.iter().sum::<f64>() / f64::from(replications)
}

#[test]
fn with_exact_information_central_beats_two_choices_which_beats_random() {
    // Zero network latency, heartbeats every 1 ms (a tenth of a service time) plus the
    // scheduler's own assignments: central is join-the-shortest-queue with near-exact
    // information.
    let n = 32;
    let central = mean_latency(n, "central", 2);
    let two = mean_latency(n, "power_of_d", 2);
    let random = mean_latency(n, "random", 2);
    eprintln!(
        "n = {n}, load 0.9: central {central:.2} ms, power_of_d {two:.2} ms, random {random:.2} ms"
    );
    assert!(central < two && two < random, "central {central}, power_of_d {two}, random {random}");
    // Random splitting makes each server M/M/1 at load 0.9: 10 ms / (1 - 0.9) = 100 ms.
    assert!((random / 100.0 - 1.0).abs() < 0.1, "random {random} ms vs M/M/1 100 ms");
}

#[test]
fn two_choices_match_the_supermarket_model() {
    // Mitzenmacher's supermarket model: with d = 2 choices at load lambda, as n grows the
    // mean time in system (in service times) tends to sum_{i>=1} lambda^(2^i - 2).
    let lambda: f64 = 0.9;
    let predicted: f64 = (1..20).map(|i| lambda.powi((1 << i) - 2)).sum::<f64>() * 10.0;
    assert!((predicted - 26.14).abs() < 0.01, "hand value: 26.14 ms, got {predicted}");
    // The model is the n -> infinity limit; finite n converges from above at rate O(1/n). At
    // n = 128 the gap measured by Mitzenmacher's simulations at this load is about 1%; allow
    // 2% (it also covers the sampling noise of two 200 s replications, under 1%).
    let measured = mean_latency(128, "power_of_d", 2);
    eprintln!("power_of_d at n = 128: {measured:.3} ms, supermarket model {predicted:.3} ms");
    assert!(
        (measured / predicted - 1.0).abs() < 0.02,
        "power_of_d {measured:.2} ms vs supermarket model {predicted:.2} ms"
    );
}

#[test]
fn gossip_claims_duplicate_work_less_as_gossip_gets_faster() {
    // Idle replicas claim posted work they hear of; two that hear of a post before hearing of
    // each other's claim both run it, until their views meet and the later claim withdraws.
    // The faster the gossip, the sooner the loser hears and stops.
    let run = |period: &str| {
        let extra = format!(
            "policies = [\"gossip\"]\n[policy.gossip]\nmode = \"claim\"\nperiod = \"{period}\"\n"
        );
        let (s, p) = spec(&pool(16, 0.0625, 30.0, &extra), 0);
        sim::run(&s, p, 0)
    };
    let runs: Vec<RunSummary> = ["50ms", "10ms", "2ms"].iter().map(|p| run(p)).collect();
    let ratios: Vec<f64> = runs.iter().map(|r| r.dup_work_ratio).collect();
    eprintln!("claim mode dup_work_ratio at periods 50, 10, 2 ms: {ratios:?}");
    for r in &runs {
        assert!(r.dup_conflicting_claim > 0, "conflicting claims happen");
        assert_eq!(r.dup_executions, r.dup_conflicting_claim, "and they are the only duplicates");
        assert_eq!(r.jobs_failed, 0);
        assert!(r.jobs_completed + r.jobs_in_flight == r.jobs_arrived);
    }
    assert!(ratios[0] > ratios[1] && ratios[1] > ratios[2], "{ratios:?}");
}

#[test]
fn gossip_that_resends_on_a_wrong_suspicion_duplicates_work_counted_as_false_suspicion() {
    // News of a replica's heartbeat reaches an agent after about log2(18) rounds of push-pull
    // with one peer, so a suspect timeout of 1.5 periods makes agents suspect replicas that
    // are up. No fault is injected: every suspicion is wrong, and with
    // `resend_on_suspicion` each one places the suspected replica's work again.
    let run = |resend: bool| {
        let extra = format!(
            "policies = [\"gossip\"]\n[policy.gossip]\nperiod = \"100ms\"\nsuspect_timeout = \"150ms\"\nresend_on_suspicion = {resend}\n"
        );
        let (s, p) = spec(&pool(16, 0.5, 30.0, &extra), 0);
        sim::run(&s, p, 0)
    };
    let (with, without) = (run(true), run(false));
    eprintln!(
        "false suspicion duplicates: {} of {} jobs (dup_work_ratio {:.4})",
        with.dup_false_suspicion, with.jobs_completed, with.dup_work_ratio
    );
    assert!(with.dup_false_suspicion > 100, "{with:?}");
    assert_eq!(with.dup_executions, with.dup_false_suspicion, "the only source of duplicates");
    assert!(with.dup_work_ratio > 0.0);
    assert_eq!(with.jobs_failed, 0);
    assert_eq!(with.jobs_completed + with.jobs_in_flight, with.jobs_arrived);
    assert_eq!(without.dup_executions, 0, "without resending nothing is duplicated");
}

#[test]
fn gossip_that_resends_on_a_right_suspicion_rescues_the_work_a_crash_lost() {
    // Without timeouts, work lost with a crashed replica is waited for until the end of the
    // run. Agents that resend when they suspect the replica get it done elsewhere; their
    // suspicion is right (the replica is down), so nothing counts as a false suspicion.
    let run = |resend: bool| {
        let extra = format!(
            "policies = [\"gossip\"]\n[policy.gossip]\nsuspect_timeout = \"2s\"\nresend_on_suspicion = {resend}\n[[faults]]\nkind = \"crash\"\nservice = \"server\"\nreplica = 3\nat = \"10s\"\nduration = \"5s\"\n"
        );
        let (s, p) = spec(&pool(16, 0.5, 30.0, &extra), 0);
        sim::run(&s, p, 0)
    };
    let (with, without) = (run(true), run(false));
    // About 16 jobs are in the system at any moment (Little: 800/s x 20 ms), so both runs
    // end with some in flight; the lost ones stay in flight only without resending.
    let rescued = with.attempts_per_job * with.jobs_arrived as f64 - with.jobs_arrived as f64;
    assert!(rescued.round() >= 5.0, "work on the crashed replica was placed again: {rescued}");
    assert!(
        without.jobs_in_flight >= with.jobs_in_flight + 5,
        "lost work waits for ever without resending: {} vs {} in flight",
        without.jobs_in_flight,
        with.jobs_in_flight
    );
    assert_eq!(with.dup_false_suspicion, 0, "the suspicion was right");
    assert_eq!(with.jobs_completed + with.jobs_in_flight + with.jobs_failed, with.jobs_arrived);
}
