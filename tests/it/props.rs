//! docs/model.md section 9 invariants on random small scenarios, one property per invariant, and
//! the loader fed arbitrary and mutated documents. A failing case prints a TOML document
//! (the generator's `Debug`) and saves it under `target/proptest-cases/`, naming the file,
//! which `coordsim run` reruns.

use coordsim::policy::PolicySpec;
use coordsim::scenario;
use proptest::prelude::*;

use crate::support::{leaves, remove_path, run_checked, small_scenario, GenScenario};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() }
}

fn the_policy(g: &GenScenario) -> PolicySpec {
    g.scenario().policies[0]
}

proptest! {
    #![proptest_config(config())]

    /// 9.1 Conservation: arrived = completed + failed + in flight, over measured jobs and
    /// over all jobs; every attempt that starts finishes at most once, and the ones that did
    /// not finish are exactly those still running at the end.
    #[test]
    fn prop_jobs_and_attempts_are_conserved(g in small_scenario(), rep in 0u32..4) {
        let (s, c) = run_checked(&g.scenario(), the_policy(&g), rep);
        prop_assert_eq!(s.jobs_arrived, s.jobs_completed + s.jobs_failed + s.jobs_in_flight);
        prop_assert_eq!(c.jobs_arrived, c.jobs_ended + c.jobs_at_end);
        prop_assert_eq!(c.started - c.finished, c.running_at_end);
        // Every queued attempt started later, left the queue without starting (cancelled,
        // expired, crashed), or is still queued.
        prop_assert_eq!(c.queued, c.started_from_queue + c.unqueued + c.queued_at_end);
    }

    /// 9.2 Capacity: no replica runs more than `concurrency` requests or queues more than
    /// `queue_capacity`, and nothing waits while a slot is free.
    #[test]
    fn prop_capacity_is_respected(g in small_scenario(), rep in 0u32..4) {
        let (_, c) = run_checked(&g.scenario(), the_policy(&g), rep);
        prop_assert!(c.violations.is_empty(), "{:?}", c.violations);
    }

    /// 9.3 Causality: observed times never decrease, and no message arrives before its send
    /// time plus the network's minimum latency (checked by the same observer).
    #[test]
    fn prop_time_and_messages_are_causal(g in small_scenario(), rep in 0u32..4) {
        let (s, c) = run_checked(&g.scenario(), the_policy(&g), rep);
        prop_assert!(c.violations.is_empty(), "{:?}", c.violations);
        prop_assert!(c.delivered + c.lost > 0 || s.jobs_arrived == 0);
    }

    /// 9.4 Accounting: without timeouts, hedges or re-placements there are no duplicates;
    /// with them, duplicate service time never exceeds all service time observed.
    #[test]
    fn prop_duplicates_need_a_cause(g in small_scenario(), rep in 0u32..4) {
        let mut plain = g.clone();
        for s in &mut plain.services {
            s.resilience = None;
        }
        let (s, _) = run_checked(&plain.scenario(), the_policy(&plain), rep);
        prop_assert_eq!(s.dup_executions, 0);
        prop_assert_eq!(s.dup_work_ratio, 0.0);
        let (s, c) = run_checked(&g.scenario(), the_policy(&g), rep);
        prop_assert!((0.0..=1.0).contains(&s.dup_work_ratio));
        prop_assert!(s.useful_service_s + s.duplicate_service_s <= c.executed_s + 1e-6);
        // Every execution that stopped (finished, cancelled or killed) used no service time
        // after it stopped; no work started on a crashed replica.
        prop_assert!(c.violations.is_empty(), "{:?}", c.violations);
    }

    /// Wasted work: a share of all service time, the sum of its parts, and at least the
    /// duplicated share (a duplicate's result is never used); per window a share too. In a
    /// run without failures, timeouts, hedges, crashes or agents, nothing is wasted.
    #[test]
    fn prop_wasted_work_is_accounted(g in small_scenario(), rep in 0u32..4) {
        let (s, _) = run_checked(&g.scenario(), the_policy(&g), rep);
        let parts = s.wasted_timeout + s.wasted_cancelled + s.wasted_crash
            + s.wasted_duplicate + s.wasted_failed;
        prop_assert!((0.0..=1.0 + 1e-9).contains(&s.wasted_work_ratio), "{}", s.wasted_work_ratio);
        prop_assert!((parts - s.wasted_work_ratio).abs() < 1e-9, "{parts} vs {}", s.wasted_work_ratio);
        prop_assert!(s.dup_work_ratio <= s.wasted_work_ratio + 1e-9);
        for w in &s.timeseries.windows {
            prop_assert!(w.wasted_work.is_nan() || (0.0..=1.0).contains(&w.wasted_work));
        }
        // `jobs_failed` counts measured jobs only; a job that arrived in the warm-up and
        // failed after it wastes measured work too, so the time series (all jobs) decides.
        let any_failed = s.timeseries.windows.iter().any(|w| w.failures > 0);
        if !any_failed && s.dup_executions == 0 && s.faults_injected == 0
            && s.scale_downs == 0 && s.restarts == 0
        {
            prop_assert_eq!(s.wasted_work_ratio, 0.0);
        }
    }

    /// Every injected fault that started is in the recorded timeline, with a sane span.
    #[test]
    fn prop_faults_are_recorded(g in small_scenario(), rep in 0u32..4) {
        let scenario = g.scenario();
        let (s, _) = run_checked(&scenario, the_policy(&g), rep);
        let expected = g.faults.iter().filter(|f| f.3 * g.duration_s < g.duration_s).count();
        prop_assert_eq!(s.faults.len(), expected);
        prop_assert_eq!(s.faults_injected as usize, expected);
        for f in &s.faults {
            prop_assert!(f.start < f.end && f.end <= coordsim::time::SimTime::ZERO + scenario.duration);
        }
    }

    /// 9.5 Determinism: the same scenario and seed give the same fingerprint and figures.
    #[test]
    fn prop_runs_are_deterministic(g in small_scenario(), rep in 0u32..4) {
        let scenario = g.scenario();
        let a = coordsim::sim::run(&scenario, the_policy(&g), rep);
        let b = coordsim::sim::run(&scenario, the_policy(&g), rep);
        prop_assert_eq!(a.fingerprint, b.fingerprint);
        prop_assert_eq!(a.events, b.events);
        prop_assert_eq!(a.latency_p99_ms.to_bits(), b.latency_p99_ms.to_bits());
    }

    /// Common random numbers (docs/model.md section 2): with unbounded queues and no loss, the
    /// jobs that arrive do not depend on the policy.
    #[test]
    fn prop_policy_never_shifts_the_workload(g in small_scenario(), rep in 0u32..2) {
        let mut g = g;
        g.loss = 0.0;
        for s in &mut g.services {
            s.queue_capacity = None;
        }
        // Faults and resilience change no arrival either, but keep the check about policies.
        g.faults.clear();
        // Closed-loop users send their next job when the previous one ends, which depends on
        // the policy: only open-loop arrivals are policy-free by construction.
        for c in &mut g.classes {
            c.closed = false;
        }
        let scenario = scenario::from_toml_str(
            &g.toml().replace(&format!("policies = [\"{}\"]", g.policy), ""), "crn", &[],
        ).unwrap();
        let arrived: Vec<u64> =
            scenario.policies.iter().map(|&p| coordsim::sim::run(&scenario, p, rep).jobs_arrived).collect();
        prop_assert!(arrived.windows(2).all(|w| w[0] == w[1]), "{:?}", arrived);
    }

    /// Cost, group by group (docs/model.md section 12): each group's cost is its
    /// replica-hours times its price; a group that no autoscaler scales holds its starting
    /// replicas over the whole measured span (so an autoscaler that prefers groups touches
    /// only those); and the run's figures are the sums over groups.
    #[test]
    fn prop_cost_is_replica_hours_times_price_group_by_group(g in small_scenario(), rep in 0u32..2) {
        let scenario = g.scenario();
        let (s, _) = run_checked(&scenario, the_policy(&g), rep);
        let span = scenario.duration.as_secs_f64() - scenario.warmup.as_secs_f64();
        let mut row = 0;
        for (i, service) in scenario.services.iter().enumerate() {
            let scaled_by: Vec<&coordsim::scenario::ControlAgent> = scenario.control.agents.iter()
                .filter(|a| a.services.contains(&coordsim::ids::ServiceId(i as u32)))
                .filter(|a| matches!(a.kind, coordsim::scenario::AgentKind::Autoscaler(_) | coordsim::scenario::AgentKind::Budget(_)))
                .collect();
            for group in &service.groups {
                let figures = &s.services[row];
                row += 1;
                prop_assert_eq!(&figures.group, &group.name);
                let expected_cost = figures.replica_seconds / 3600.0 * group.price;
                prop_assert!((figures.cost - expected_cost).abs() <= 1e-12 * (1.0 + expected_cost));
                let untouched = scaled_by.iter().all(|a| !a.groups.is_empty() && !a.groups.contains(&group.name));
                if untouched {
                    let held = f64::from(group.replicas) * span;
                    prop_assert!((figures.replica_seconds - held).abs() < 1e-6, "{} {:?}: {} vs {held}", service.name, group.name, figures.replica_seconds);
                    prop_assert_eq!(figures.scale_ups + figures.scale_downs, 0);
                }
            }
        }
        prop_assert_eq!(row, s.services.len());
        let cost: f64 = s.services.iter().map(|f| f.cost).sum();
        prop_assert!((s.cost - cost).abs() <= 1e-12 * (1.0 + cost));
    }

    /// 9.6 Neutrality: with no faults, every cascade is contained and none has a radius.
    #[test]
    fn prop_no_faults_no_cascades(g in small_scenario(), rep in 0u32..2) {
        let mut g = g;
        g.faults.clear();
        let (s, _) = run_checked(&g.scenario(), the_policy(&g), rep);
        prop_assert_eq!(s.faults_injected, 0);
        prop_assert_eq!(s.cascades_contained, 1.0);
        prop_assert_eq!(s.blast_radius_mean, 0.0);
        prop_assert!(s.timeseries.windows.iter().all(|w| !w.fault_active));
    }
}

/// A valid document covering every key the loader knows.
const FULL: &str = r#"
name = "full"
description = "every key"
duration = "10s"
warmup = "1s"
seed = 3
replications = 2
orchestrators = 2
policies = ["random", "power_of_d"]
[policy.power_of_d]
d = 2
[network]
latency = { dist = "uniform", min = "1ms", max = "2ms" }
loss = 0.01
[services.api]
replicas = 2
concurrency = 3
queue_capacity = 10
speed = 1.5
service_time = { dist = "lognormal", mean = "10ms", cv = 2.0 }
[services.db]
replicas = 1
service_time = { dist = "constant", value = 0.002 }
slo = "10ms"
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 100 }
[control]
scrape = "500ms"
[[agents]]
name = "hpa"
kind = "autoscaler"
service = "api"
target = 0.6
max_replicas = 4
provisioning = "1s"
period = "2s"
[[agents]]
name = "doctor"
kind = "remediator"
services = ["api", "db"]
period = "1s"
timeout = "200ms"
[[agents]]
name = "bandit"
kind = "adaptive"
service = "db"
arms = ["random", "power_of_d"]
period = "3s"
"#;

fn odd_value() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        Just(toml::Value::Integer(-1)),
        Just(toml::Value::Integer(0)),
        Just(toml::Value::Integer(i64::MAX)),
        Just(toml::Value::Float(-0.5)),
        Just(toml::Value::Float(f64::NAN)),
        Just(toml::Value::Float(f64::INFINITY)),
        Just(toml::Value::Float(1e300)),
        Just(toml::Value::String("banana".into())),
        Just(toml::Value::String("-5ms".into())),
        Just(toml::Value::Boolean(true)),
        Just(toml::Value::Array(vec![])),
        Just(toml::Value::Table(toml::Table::new())),
    ]
}

/// What the loader may return for any input: an error, or a scenario whose invariants hold.
fn assert_valid_or_error(
    result: Result<scenario::Scenario, scenario::ScenarioError>,
) -> Result<(), TestCaseError> {
    if let Ok(s) = result {
        prop_assert!(!s.services.is_empty() && !s.classes.is_empty() && !s.policies.is_empty());
        prop_assert!(s.warmup < s.duration);
        prop_assert!((0.0..=1.0).contains(&s.network.loss));
        for svc in &s.services {
            prop_assert!(svc.replicas >= 1 && svc.concurrency >= 1);
            prop_assert!(svc.speed.is_finite() && svc.speed > 0.0);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Dropping any key gives an error or a valid scenario, never a panic.
    #[test]
    fn prop_loader_survives_dropped_keys(pick in any::<prop::sample::Index>()) {
        let doc: toml::Table = FULL.parse().unwrap();
        let mut paths = Vec::new();
        leaves(&toml::Value::Table(doc.clone()), "", &mut paths);
        let path = pick.get(&paths);
        let mut doc = doc;
        remove_path(&mut doc, &path.split('.').collect::<Vec<_>>());
        assert_valid_or_error(scenario::from_toml_str(&toml::to_string(&doc).unwrap(), "m", &[]))?;
    }

    /// Replacing any key's value by one of the wrong type or sign: error or valid, no panic.
    #[test]
    fn prop_loader_survives_wrong_values(pick in any::<prop::sample::Index>(), value in odd_value()) {
        let doc: toml::Table = FULL.parse().unwrap();
        let mut paths = Vec::new();
        leaves(&toml::Value::Table(doc.clone()), "", &mut paths);
        let path = pick.get(&paths);
        let set = scenario::Override::new(path, value);
        assert_valid_or_error(scenario::from_toml_str(FULL, "m", &[set]))?;
    }

    /// Arbitrary text and truncated or byte-flipped documents: error or valid, no panic.
    #[test]
    fn prop_loader_survives_garbage(
        text in ".{0,200}",
        cut in 0usize..FULL.len(),
        flip in (0usize..FULL.len(), any::<u8>()),
    ) {
        assert_valid_or_error(scenario::from_toml_str(&text, "g", &[]))?;
        assert_valid_or_error(scenario::from_toml_str(&FULL[..cut], "g", &[]))?;
        let mut bytes = FULL.as_bytes().to_vec();
        bytes[flip.0] = flip.1;
        let mutated = String::from_utf8_lossy(&bytes);
        assert_valid_or_error(scenario::from_toml_str(&mutated, "g", &[]))?;
    }
}

#[test]
fn the_full_document_is_valid() {
    let s = scenario::from_toml_str(FULL, "m", &[]).unwrap();
    assert_eq!(s.services.len(), 2);
    assert_eq!(s.policies, vec![PolicySpec::Random, PolicySpec::PowerOfD { d: 2 }]);
    assert_eq!(s.control.agents.len(), 3);
}

/// The generator reaches the control layer: a good share of its cases have agents that
/// act, so the properties above hold with replicas coming and going, not only without.
#[test]
fn generated_cases_exercise_control_agents() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut with_agents, mut acted) = (0, 0);
    for _ in 0..150 {
        let g = small_scenario().new_tree(&mut runner).unwrap().current();
        if g.agents.is_empty() {
            continue;
        }
        with_agents += 1;
        let (s, c) = run_checked(&g.scenario(), the_policy(&g), 0);
        assert!(c.violations.is_empty(), "{:?}\n{g:?}", c.violations);
        if s.scale_ups + s.scale_downs + s.restarts + s.ejections > 0 {
            acted += 1;
        }
    }
    assert!(with_agents >= 30, "only {with_agents} of 150 cases have agents");
    assert!(acted * 3 >= with_agents, "agents acted in only {acted} of {with_agents} cases");
}

/// A failing case is a file a person can rerun: its `Debug` (what proptest prints) saves the
/// scenario and names the path, and that file loads to the same scenario: the same run,
/// event for event.
#[test]
fn a_shown_case_is_saved_as_a_scenario_file_that_reruns_it() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let g = small_scenario().new_tree(&mut runner).unwrap().current();
    let shown = format!("{g:?}");
    let path = shown
        .split("saved to ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("no path in {shown}"));
    let loaded = scenario::load(std::path::Path::new(path)).unwrap();
    let policy = the_policy(&g);
    let (a, b) =
        (coordsim::sim::run(&loaded, policy, 1), coordsim::sim::run(&g.scenario(), policy, 1));
    assert_eq!((a.events, a.fingerprint), (b.events, b.fingerprint));
}

/// The loader's fuzz target, long (`cargo test --release --test it -- --ignored
/// fuzz_the_loader --nocapture`; `COORDSIM_FUZZ_CASES` sets the rounds, 100,000 by default,
/// three inputs each): every shipped scenario mutated by a dropped key, a wrong value and a
/// flipped byte.
/// Every input must load as a valid scenario or fail with an error, and a valid one must
/// give a finite estimate and warnings without panicking. Prints how many inputs it ran.
#[test]
#[ignore = "long: a fuzz run of the loader, see its comment for the command"]
fn fuzz_the_loader() {
    use proptest::test_runner::{Config, TestRunner};
    let cases: u32 =
        std::env::var("COORDSIM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut corpus: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    corpus.sort();
    let (mut valid, mut errors) = (0u64, 0u64);
    let mut check = |result: Result<scenario::Scenario, scenario::ScenarioError>| match result {
        Ok(s) => {
            valid += 1;
            let e = s.largest_estimate();
            assert!(e.bytes().is_finite() && e.bytes() > 0.0 && e.events >= 0.0, "{e:?}");
            let _ = s.warnings();
            assert_valid_or_error(Ok(s)).unwrap();
        }
        Err(err) => {
            errors += 1;
            assert!(!err.to_string().is_empty());
        }
    };
    let mut runner =
        TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (
        0..corpus.len(),
        any::<prop::sample::Index>(),
        odd_value(),
        any::<prop::sample::Index>(),
        any::<u8>(),
    );
    let mut inputs = 0u64;
    for _ in 0..cases {
        use proptest::strategy::ValueTree;
        let (file, pick, value, at, byte) = strategy.new_tree(&mut runner).unwrap().current();
        let (name, text) = &corpus[file];
        let base = std::path::Path::new(name).parent().unwrap().join("x.toml");
        let origin = base.display().to_string();
        let doc: toml::Table = text.parse().unwrap();
        let mut paths = Vec::new();
        leaves(&toml::Value::Table(doc.clone()), "", &mut paths);
        let path = pick.get(&paths).clone();
        let mut dropped = doc.clone();
        remove_path(&mut dropped, &path.split('.').collect::<Vec<_>>());
        check(scenario::from_toml_str(&toml::to_string(&dropped).unwrap(), &origin, &[]));
        check(scenario::from_toml_str(text, &origin, &[scenario::Override::new(&path, value)]));
        let mut bytes = text.as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        check(scenario::from_toml_str(&String::from_utf8_lossy(&bytes), &origin, &[]));
        inputs += 3;
    }
    println!(
        "fuzzed the loader with {inputs} inputs from {} shipped scenarios: {valid} valid, {errors} refused with an error, no panic",
        corpus.len()
    );
}
