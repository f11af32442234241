//! Control agents (docs/model.md section 10): an autoscaler settles where queueing theory
//! puts it and its provisioning delay costs latency; remediation shortens an outage and,
//! under overload, makes things worse; a bandit finds the better policy; agents that undo
//! each other are counted; replicas that come and go keep every invariant.

use coordsim::metrics::RunSummary;
use coordsim::policy::PolicySpec;
use coordsim::sim;

use crate::support::{run_checked, scenario};

/// One service of single-slot replicas with exponential work of mean `mean_ms`, Poisson
/// arrivals at `rate` stepping to `rate x factor` at `step_s` (until the end), and `extra`
/// (TOML tables: agents, faults).
fn stepped(
    replicas: u32,
    mean_ms: f64,
    rate: f64,
    factor: f64,
    step_s: f64,
    duration_s: f64,
    extra: &str,
) -> String {
    spiked(replicas, mean_ms, rate, factor, step_s, duration_s - step_s + 1.0, duration_s, extra)
}

/// As [`stepped`], the rate back to `rate` after `spike_s`.
#[allow(clippy::too_many_arguments)]
fn spiked(
    replicas: u32,
    mean_ms: f64,
    rate: f64,
    factor: f64,
    step_s: f64,
    spike_s: f64,
    duration_s: f64,
    extra: &str,
) -> String {
    format!(
        r#"
duration = "{duration_s}s"
seed = 11
policies = ["power_of_d"]
[services.api]
replicas = {replicas}
service_time = {{ dist = "exponential", mean = "{mean_ms}ms" }}
[classes.web]
service = "api"
arrival = {{ process = "poisson", rate = {rate}, spikes = [{{ at = "{step_s}s", duration = "{spike_s}s", factor = {factor} }}] }}
{extra}
"#
    )
}

/// The mean of a service's `replicas` column over the windows starting in `[from_s, to_s)`.
fn mean_replicas(summary: &RunSummary, service: usize, from_s: f64, to_s: f64) -> f64 {
    let ts = &summary.timeseries;
    let n = ts.services.len();
    let picked: Vec<f64> = ts
        .windows
        .iter()
        .enumerate()
        .filter(|(_, w)| (from_s..to_s).contains(&w.start.as_secs_f64()))
        .map(|(k, _)| ts.service_windows[k * n + service].replicas)
        .collect();
    picked.iter().sum::<f64>() / picked.len() as f64
}

#[test]
fn an_autoscaler_without_provisioning_delay_settles_at_ceil_of_load_over_target() {
    // Target utilisation u = 0.6, E[S] = 20 ms. Before the step lambda1 = 100/s: ceil(2 /
    // 0.6) = 4 replicas (the start). After it lambda2 = 250/s: ceil(250 x 0.02 / 0.6) =
    // ceil(8.33) = 9. The backlog of the first seconds after the step may push it one
    // higher for a stabilisation window (300 s); the last 150 s of a 900-s run are judged.
    let agent = r#"
[[agents]]
name = "hpa"
kind = "autoscaler"
service = "api"
target = 0.6
max_replicas = 30
provisioning = "0s"
"#;
    let s = scenario(&stepped(4, 20.0, 100.0, 2.5, 300.0, 900.0, agent));
    let summary = sim::run(&s, PolicySpec::PowerOfD { d: 2 }, 0);
    let before = mean_replicas(&summary, 0, 60.0, 300.0);
    let settled = mean_replicas(&summary, 0, 750.0, 900.0);
    eprintln!("replicas before the step {before:.2}, settled after it {settled:.2}");
    let expected = (250.0f64 * 0.02 / 0.6).ceil();
    assert!((settled - expected).abs() <= 1.0, "settled at {settled}, theory {expected}");
    assert!(before <= 4.5, "before the step: {before}");
    assert!(summary.scale_ups >= 5);
}

#[test]
fn the_latency_excess_after_a_step_grows_with_the_provisioning_delay() {
    // Jobs arriving in the 120 s after the step (warm-up = the step) wait while the added
    // capacity is provisioned: the longer it takes, the longer the queue grows at
    // lambda2 = 250/s against 4 x 50/s.
    let latency = |delay: &str| {
        let agent = format!(
            "[[agents]]\nname = \"hpa\"\nkind = \"autoscaler\"\nservice = \"api\"\ntarget = 0.6\nmax_replicas = 30\nprovisioning = \"{delay}\"\n"
        );
        let text = stepped(4, 20.0, 100.0, 2.5, 300.0, 420.0, &agent).replacen(
            "seed = 11",
            "seed = 11\nwarmup = \"300s\"",
            1,
        );
        sim::run(&scenario(&text), PolicySpec::PowerOfD { d: 2 }, 0).latency_mean_ms
    };
    let means: Vec<f64> = ["0s", "20s", "60s"].iter().map(|d| latency(d)).collect();
    eprintln!("mean latency after the step with provisioning 0, 20, 60 s: {means:?} ms");
    assert!(means[0] < means[1] && means[1] < means[2], "{means:?}");
}

#[test]
fn a_remediator_shortens_an_outage_by_restarting_a_slow_replica() {
    // One of four replicas turns 50x slower for 200 s (a gray failure that only a restart
    // ends early: a leak, a stuck thread pool). A fourth of the requests go there: its
    // bounded queue fills and refuses most of them, so the service is impaired. The
    // remediator's in-band checks are refused too; after 3 failed checks 2 s apart it
    // restarts the replica, which is back, repaired, 5 s later.
    let text = |active: &str| {
        format!(
            r#"
duration = "300s"
seed = 5
policies = ["random"]
[services.api]
replicas = 4
concurrency = 2
queue_capacity = 10
service_time = {{ dist = "exponential", mean = "10ms" }}
slo = "100ms"
[classes.web]
service = "api"
arrival = {{ process = "poisson", rate = 200 }}
[[faults]]
kind = "slowdown"
service = "api"
replica = 1
factor = 50
at = "50s"
duration = "200s"
[[agents]]
name = "doctor"
kind = "remediator"
service = "api"
period = "2s"
timeout = "500ms"
restart_delay = "5s"
[control]
active = {active}
"#
        )
    };
    let without = sim::run(&scenario(&text("[]")), PolicySpec::Random, 0);
    let with = sim::run(&scenario(&text("[\"doctor\"]")), PolicySpec::Random, 0);
    eprintln!(
        "time to recover: {:.1} s without, {:.1} s with the remediator ({} restarts); p99 {:.1} / {:.1} ms",
        without.time_to_recover_s, with.time_to_recover_s, with.restarts, without.latency_p99_ms, with.latency_p99_ms
    );
    assert_eq!(with.restarts, 1, "one restart of the slow replica");
    // Detection takes 3 checks 2 s apart (the third fails at its 500 ms timeout), the
    // restart 5 s, and recovery needs 3 good windows: about 12 s of impairment, not 200.
    assert!(with.time_to_recover_s < 20.0, "{}", with.time_to_recover_s);
    assert!(without.time_to_recover_s >= 199.0, "{}", without.time_to_recover_s);
    assert!(with.latency_p99_ms < without.latency_p99_ms);
}

#[test]
fn restarts_under_overload_make_a_retry_storm_worse() {
    // The retry-storm scenario's service, on four replicas (capacity 1,600/s) at load 0.6
    // with a 10 s slowdown of all of them: queues fill, and an in-band health check waits
    // behind them past its timeout. A remediator that restarts replicas which fail three
    // checks throws away what they hold and a quarter of the capacity for each restart, in
    // the middle of the storm; without it the same storm drains once the slowdown ends.
    let text = |active: &str| {
        format!(
            r#"
duration = "120s"
warmup = "40s"
seed = 2
policies = ["random"]
[services.api]
replicas = 4
concurrency = 4
queue_capacity = 200
service_time = {{ dist = "exponential", mean = "10ms" }}
resilience = {{ timeout = "100ms", retries = {{ max = 3, budget = 0.2 }} }}
[classes.request]
service = "api"
arrival = {{ process = "poisson", rate = 960 }}
[[faults]]
kind = "slowdown"
service = "api"
factor = 4
at = "30s"
duration = "5s"
[[agents]]
name = "doctor"
kind = "remediator"
service = "api"
period = "2s"
timeout = "200ms"
budget = 2
restart_delay = "15s"
[control]
active = {active}
"#
        )
    };
    let without = sim::run(&scenario(&text("[]")), PolicySpec::Random, 0);
    let with = sim::run(&scenario(&text("[\"doctor\"]")), PolicySpec::Random, 0);
    eprintln!(
        "goodput after the trigger: {:.1}/s without, {:.1}/s with restarts ({} restarts)",
        without.goodput_per_s, with.goodput_per_s, with.restarts
    );
    assert!(with.restarts >= 2, "the overloaded replicas looked unhealthy: {}", with.restarts);
    assert!(
        with.goodput_per_s < 0.9 * without.goodput_per_s,
        "{} vs {}",
        with.goodput_per_s,
        without.goodput_per_s
    );
}

#[test]
fn an_autoscaler_and_a_budget_agent_undo_each_other_and_the_conflicts_are_counted() {
    // The autoscaler wants ceil(250 x 0.02 / 0.5) = 10 replicas; the budget allows 6. Each
    // period the autoscaler adds what the budget agent removed.
    let agents = r#"
[[agents]]
name = "hpa"
kind = "autoscaler"
service = "api"
target = 0.5
max_replicas = 20
provisioning = "0s"
stabilisation = "0s"
period = "10s"
[[agents]]
name = "cost"
kind = "budget"
service = "api"
max_total = 6
period = "10s"
"#;
    let s = scenario(&stepped(4, 20.0, 250.0, 1.0, 1.0, 300.0, agents));
    let summary = sim::run(&s, PolicySpec::PowerOfD { d: 2 }, 0);
    eprintln!(
        "conflicts {} flaps {} ups {} downs {}",
        summary.agent_conflicts, summary.flaps, summary.scale_ups, summary.scale_downs
    );
    assert!(summary.agent_conflicts >= 10, "{} conflicts", summary.agent_conflicts);
    assert!(summary.scale_downs >= 10);
}

#[test]
fn a_short_stabilisation_window_makes_an_autoscaler_flap() {
    // Load at the edge between two counts: with no stabilisation the count follows each
    // period's noise up and down; with the default 300 s it does not come back down.
    let run = |stabilisation: &str| {
        let agent = format!(
            "[[agents]]\nname = \"hpa\"\nkind = \"autoscaler\"\nservice = \"api\"\ntarget = 0.5\ntolerance = 0.02\nmax_replicas = 20\nprovisioning = \"0s\"\nperiod = \"5s\"\nstabilisation = \"{stabilisation}\"\n"
        );
        sim::run(
            &scenario(&stepped(5, 20.0, 125.0, 1.0, 1.0, 600.0, &agent)),
            PolicySpec::PowerOfD { d: 2 },
            0,
        )
    };
    let (short, long) = (run("0s"), run("300s"));
    eprintln!("flaps with no stabilisation {}, with 300 s {}", short.flaps, long.flaps);
    assert!(short.flaps >= 5, "{}", short.flaps);
    assert!(long.flaps < short.flaps);
}

#[test]
fn a_bandit_learns_to_place_with_the_better_policy_and_its_regret_is_measured() {
    // On 8 single-slot servers at load 0.85, power of two choices beats random placement by
    // a wide margin (the supermarket model); a UCB1 agent choosing between them every 5 s
    // on the share of requests within a 50 ms SLO should end up on power_of_d.
    let text = r#"
duration = "400s"
seed = 4
policies = ["random"]
[services.api]
replicas = 8
service_time = { dist = "exponential", mean = "10ms" }
slo = "50ms"
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 680 }
[[agents]]
name = "bandit"
kind = "adaptive"
service = "api"
period = "5s"
arms = ["random", "power_of_d"]
"#;
    let s = scenario(text);
    let (adaptive, log) = sim::run_audited(&s, PolicySpec::Random, 0, usize::MAX);
    let run = sim::run(&s, PolicySpec::Random, 0);
    let to_power = log.actions.iter().filter(|a| a.value.as_deref() == Some("power_of_d")).count();
    eprintln!(
        "regret {:.3} over {} decisions; switches to power_of_d {to_power}",
        run.regret,
        400 / 5
    );
    assert!(
        run.regret.is_finite() && adaptive.regret.is_nan(),
        "regret comes with `run`, not `run_audited`"
    );
    // The best fixed arm earns at most 1 per decision; UCB1's regret is logarithmic in the
    // number of decisions, far below the 80 decisions' worth of always choosing random.
    let fixed_random = {
        let without = format!("{text}[control]\nactive = []\n");
        sim::run(&scenario(&without), PolicySpec::Random, 0).latency_p99_ms
    };
    assert!(
        run.latency_p99_ms < fixed_random,
        "learning beat random placement: {} vs {fixed_random}",
        run.latency_p99_ms
    );
    assert!(run.regret < 10.0, "{}", run.regret);
}

#[test]
fn replicas_that_come_and_go_keep_every_invariant() {
    // Scaling both ways (kill removal), restarts and a crash together, under the checking
    // observer: capacity, causality, conservation; and the count stays in [min, max].
    let agents = r#"
[[agents]]
name = "hpa"
kind = "autoscaler"
service = "api"
target = 0.5
min_replicas = 2
max_replicas = 9
provisioning = { dist = "exponential", mean = "3s" }
stabilisation = "20s"
removal = "kill"
period = "5s"
[[agents]]
name = "doctor"
kind = "remediator"
service = "api"
period = "2s"
timeout = "300ms"
restart_delay = "3s"
[[faults]]
kind = "crash"
service = "api"
replica = 0
at = "60s"
duration = "40s"
"#;
    let mut text = spiked(3, 20.0, 80.0, 2.5, 100.0, 80.0, 300.0, agents);
    text = text.replace(
        "service_time = { dist = \"exponential\", mean = \"20ms\" }",
        "service_time = { dist = \"exponential\", mean = \"20ms\" }\nresilience = { timeout = \"500ms\", retries = { max = 1 } }",
    );
    let s = scenario(&text);
    let (summary, checker) = run_checked(&s, PolicySpec::PowerOfD { d: 2 }, 0);
    assert!(
        checker.violations.is_empty(),
        "{:?}",
        &checker.violations[..checker.violations.len().min(5)]
    );
    assert_eq!(
        summary.jobs_arrived,
        summary.jobs_completed + summary.jobs_failed + summary.jobs_in_flight
    );
    assert_eq!(
        checker.jobs_arrived,
        checker.jobs_ended + checker.jobs_at_end,
        "every job ends once"
    );
    let (ups, downs, restarts) = (summary.scale_ups, summary.scale_downs, summary.restarts);
    assert!(ups > 0 && downs > 0 && restarts > 0, "ups {ups}, downs {downs}, restarts {restarts}");
    assert!(
        checker.replica_counts.iter().all(|&(_, n)| (2..=9).contains(&n)),
        "{:?}",
        checker.replica_counts
    );
}
