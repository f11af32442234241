//! Runs driven from outside (`sim::run_driven`, what the Python package's Gymnasium
//! environment uses): an external agent sees what queueing theory says it should, its
//! scaling and arm choices act, fault flags follow the fault schedule, a driver can end a run
//! early, and the same driver gives the same run.

use coordsim::control::{Action, Driver, Observation};
use coordsim::ids::ServiceId;
use coordsim::metrics::RunSummary;
use coordsim::policy;
use coordsim::scenario::Scenario;
use coordsim::sim;
use coordsim::time::SimTime;

use crate::support::scenario;

/// One service `api` of `replicas` single-slot replicas, exponential work of mean 10 ms,
/// Poisson arrivals at `rate`, an external agent deciding every 5 s over 5 s windows, and
/// `extra` TOML (the agent's own keys first, then other tables).
fn driven_toml(replicas: u32, rate: f64, duration_s: f64, agent_keys: &str, extra: &str) -> String {
    format!(
        r#"
duration = "{duration_s}s"
warmup = "20s"
seed = 5
policies = ["random"]
[services.api]
replicas = {replicas}
service_time = {{ dist = "exponential", mean = "10ms" }}
[classes.web]
service = "api"
arrival = {{ process = "poisson", rate = {rate} }}
[[agents]]
name = "outside"
kind = "external"
service = "api"
period = "5s"
{agent_keys}
{extra}
"#
    )
}

/// A driver that records what it saw and acts from a script: `act(call, observation)`.
struct Scripted<F: FnMut(usize, &Observation) -> Option<Vec<Action>>> {
    seen: Vec<(SimTime, Observation)>,
    act: F,
}

impl<F: FnMut(usize, &Observation) -> Option<Vec<Action>> + Send> Driver for Scripted<F> {
    fn decide(&mut self, agent: &str, at: SimTime, obs: &[Observation]) -> Option<Vec<Action>> {
        assert_eq!(agent, "outside");
        assert_eq!(obs.len(), 1, "one observation per service of the agent");
        self.seen.push((at, obs[0]));
        (self.act)(self.seen.len() - 1, &obs[0])
    }
}

fn drive<F: FnMut(usize, &Observation) -> Option<Vec<Action>> + Send>(
    s: &Scenario,
    act: F,
) -> (RunSummary, Vec<(SimTime, Observation)>) {
    let spec = s.policies[0];
    let mut driver = Scripted { seen: Vec::new(), act };
    let build = |t: &policy::Topology, rng| policy::build(spec, t, rng);
    let summary = sim::run_driven(s, build, 0, &mut driver);
    (summary, driver.seen)
}

fn secs(t: SimTime) -> f64 {
    (t - SimTime::ZERO).as_secs_f64()
}

/// The mean utilisation the driver saw over decisions in `[from_s, to_s)`.
fn mean_utilisation(seen: &[(SimTime, Observation)], from_s: f64, to_s: f64) -> f64 {
    let u: Vec<f64> = seen
        .iter()
        .filter(|(at, _)| (from_s..to_s).contains(&secs(*at)))
        .filter_map(|(_, o)| o.utilisation())
        .collect();
    u.iter().sum::<f64>() / u.len() as f64
}

#[test]
fn the_driver_sees_the_offered_load_and_its_scaling_halves_it() {
    // 4 replicas at 200/s x 10 ms: utilisation 2/4 = 0.5; scaled to 8 at 200 s with no
    // provisioning delay: 2/8 = 0.25. Each 5 s window holds ~1000 jobs, so the mean over
    // ~35 windows is within a few percent.
    let toml = driven_toml(4, 200.0, 400.0, "max_replicas = 8\nprovisioning = \"0s\"", "");
    let s = scenario(&toml);
    let api = ServiceId(0);
    let (summary, seen) = drive(&s, |_, o| {
        Some(if secs(o.at) >= 200.0 { vec![Action::Scale { service: api, to: 8 }] } else { vec![] })
    });
    assert_eq!(seen.len(), 80, "one decision every 5 s of 400 s");
    assert_eq!(secs(seen[0].0), 5.0);
    let before = mean_utilisation(&seen, 25.0, 200.0);
    let after = mean_utilisation(&seen, 210.0, 400.0);
    assert!((before - 0.5).abs() < 0.02, "utilisation before scaling {before}, theory 0.5");
    assert!((after - 0.25).abs() < 0.015, "utilisation after scaling {after}, theory 0.25");
    // Poisson arrivals at 200/s: 1000 in a 5 s window on average (sd 31.6); over the 79
    // full windows the mean is within 4 standard errors (3.6) of 1000, and arrivals and
    // completions in a window differ only by what is in the system at its edges.
    let full = &seen[1..];
    let arrivals = full.iter().map(|(_, o)| o.arrivals as f64).sum::<f64>() / full.len() as f64;
    assert!((arrivals - 1000.0).abs() < 4.0 * 31.6 / (full.len() as f64).sqrt(), "{arrivals}");
    for (_, o) in full {
        assert!(o.arrivals.abs_diff(o.requests) < 60, "{} vs {}", o.arrivals, o.requests);
    }
    for (at, o) in &seen {
        let expected = if secs(*at) > 200.0 { 8 } else { 4 };
        assert_eq!(o.provisioned, expected, "replicas provisioned at {} s", secs(*at));
        assert_eq!(o.ready, expected, "replicas ready at {} s (no provisioning delay)", secs(*at));
    }
    // Replica-seconds over the measured span [20 s, 400 s): 4 x 180 + 8 x 200.
    let expected = 4.0 * 180.0 + 8.0 * 200.0;
    assert!(
        (summary.replica_seconds - expected).abs() < 1e-6,
        "replica_seconds {} vs {expected}",
        summary.replica_seconds
    );
}

#[test]
fn scaling_outside_the_bounds_is_clamped_and_other_services_are_ignored() {
    let toml =
        driven_toml(2, 50.0, 60.0, "min_replicas = 1\nmax_replicas = 3\nprovisioning = \"0s\"", "");
    let s = scenario(&toml);
    let api = ServiceId(0);
    let (_, seen) = drive(&s, |call, _| {
        Some(match call {
            0 => vec![Action::Scale { service: api, to: 50 }],
            1 => vec![Action::Scale { service: ServiceId(7), to: 1 }],
            2 => vec![Action::Scale { service: api, to: 0 }],
            _ => vec![],
        })
    });
    let provisioned: Vec<u32> = seen.iter().map(|(_, o)| o.provisioned).take(4).collect();
    // Seen before acting: 2 at first, then 3 (clamped from 50), still 3 (the other service
    // does not exist for it), then 1 (clamped from 0).
    assert_eq!(provisioned, vec![2, 3, 3, 1]);
}

#[test]
fn fault_flags_follow_the_fault_schedule() {
    // api[0] crashed over [22 s, 32 s) and api[1] slowed over [41 s, 52 s): decisions at
    // 25 s and 30 s see the crash, those at 45 s and 50 s the slowdown, none other.
    let faults = r#"
[[faults]]
kind = "crash"
service = "api"
replica = 0
at = "22s"
duration = "10s"
[[faults]]
kind = "slowdown"
service = "api"
replica = 1
factor = 3
at = "41s"
duration = "11s"
"#;
    let s = scenario(&driven_toml(3, 50.0, 70.0, "", faults));
    let (_, seen) = drive(&s, |_, _| Some(vec![]));
    for (at, o) in &seen {
        let t = secs(*at);
        let crashed = u32::from((22.0..32.0).contains(&t));
        let slowed = u32::from((41.0..52.0).contains(&t));
        assert_eq!((o.crashed, o.slowed), (crashed, slowed), "fault flags at {t} s");
    }
}

#[test]
fn choosing_the_better_arm_changes_where_work_goes() {
    // Load 0.8 on 8 replicas: joining the shortest queue (least_outstanding) cuts the tail
    // far below random placement (M/M/1 per replica: p99 = ln(100) x 10 ms / 0.2 = 230 ms).
    let arms = r#"arms = ["random", "least_outstanding"]"#;
    let s = scenario(&driven_toml(8, 640.0, 200.0, arms, ""));
    let api = ServiceId(0);
    let (stay, _) = drive(&s, |_, _| Some(vec![]));
    let (switch, _) = drive(&s, |_, _| Some(vec![Action::SetArm { service: api, arm: 1 }]));
    let (bogus, _) = drive(&s, |_, _| Some(vec![Action::SetArm { service: api, arm: 9 }]));
    assert!(
        (stay.latency_p99_ms - 230.0).abs() < 40.0,
        "random placement p99 {} ms, M/M/1 theory 230 ms",
        stay.latency_p99_ms
    );
    assert!(
        switch.latency_p99_ms < 0.5 * stay.latency_p99_ms,
        "least_outstanding p99 {} ms vs random {} ms",
        switch.latency_p99_ms,
        stay.latency_p99_ms
    );
    assert_eq!(bogus.fingerprint, stay.fingerprint, "an arm out of range is ignored");
}

#[test]
fn a_driver_can_end_the_run_and_the_same_driver_gives_the_same_run() {
    let s = scenario(&driven_toml(2, 50.0, 100.0, "max_replicas = 4", ""));
    let api = ServiceId(0);
    let script = |call: usize, _: &Observation| match call {
        3 => None,
        c => Some(vec![Action::Scale { service: api, to: 2 + c as u32 % 3 }]),
    };
    let (stopped, seen) = drive(&s, script);
    assert_eq!(seen.len(), 4, "no decision after the driver ended the run");
    let (full, all) = drive(&s, |_, _| Some(vec![]));
    assert_eq!(all.len(), 20);
    assert!(stopped.events < full.events / 2, "{} events of {}", stopped.events, full.events);
    let (again, seen_again) = drive(&s, script);
    assert_eq!(again.fingerprint, stopped.fingerprint);
    assert_eq!(seen_again, seen);
    // Undriven, the agent holds: the run is the plain run of the scenario.
    let plain = sim::run(&s, s.policies[0], 0);
    assert_eq!(plain.fingerprint, full.fingerprint);
}
