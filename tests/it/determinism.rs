//! docs/model.md section 9.5: the same inputs give the same fingerprint and byte-identical files,
//! whatever the number of threads. Each check is written once and run at 1 and 2 threads.

use std::process::Command;

use coordsim::report;

use crate::support::scenario;

/// Several replicas, non-zero latency, loss, a bounded queue: every stream is exercised.
const BUSY: &str = r#"
    duration = 30
    warmup = 3
    orchestrators = 2
    replications = 2
    [network]
    latency = { dist = "exponential", mean = "1ms" }
    loss = 0.01
    [services.api]
    replicas = 4
    concurrency = 2
    queue_capacity = 3
    service_time = { dist = "lognormal", mean = "20ms", cv = 1.5 }
    [services.db]
    replicas = 2
    concurrency = 4
    service_time = { dist = "uniform", min = "1ms", max = "9ms" }
    [classes.read]
    service = "db"
    arrival = { process = "poisson", rate = 300 }
    [classes.write]
    service = "api"
    arrival = { process = "poisson", rate = 250 }
"#;

fn csv_with_threads(threads: usize) -> Vec<u8> {
    let s = scenario(BUSY);
    report::runs_csv(&coordsim::cli::run_all(&s, Some(threads)).unwrap())
}

#[test]
fn runs_csv_is_byte_identical_at_one_and_two_threads() {
    let one = csv_with_threads(1);
    let two = csv_with_threads(2);
    assert_eq!(String::from_utf8_lossy(&one), String::from_utf8_lossy(&two));
    // Every policy a scenario compares by default x 2 replications, plus the header.
    let expected = coordsim::policy::PolicyKind::DEFAULT.len() * 2 + 1;
    assert_eq!(String::from_utf8_lossy(&one).lines().count(), expected);
}

#[test]
fn repeated_runs_repeat_and_replications_differ() {
    let s = scenario(BUSY);
    let a = coordsim::sim::run(&s, s.policies[0], 0);
    let b = coordsim::sim::run(&s, s.policies[0], 0);
    let c = coordsim::sim::run(&s, s.policies[0], 1);
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.events, b.events);
    assert_eq!(a.latency_mean_ms.to_bits(), b.latency_mean_ms.to_bits());
    assert_ne!(a.fingerprint, c.fingerprint, "replications must draw different streams");
}

#[test]
fn common_random_numbers_give_every_policy_the_same_arrivals() {
    // With no rejections possible (unbounded queues) and no loss, the arrived count depends
    // only on the arrival streams, so it must be equal across policies; the fingerprints
    // differ because the placements differ.
    let toml = BUSY.replace("queue_capacity = 3", "").replace("loss = 0.01", "loss = 0");
    let s = scenario(&toml);
    let runs: Vec<_> = s.policies.iter().map(|&p| coordsim::sim::run(&s, p, 0)).collect();
    assert!(runs.windows(2).all(|w| w[0].jobs_arrived == w[1].jobs_arrived));
    assert!(runs.windows(2).any(|w| w[0].fingerprint != w[1].fingerprint));
}

#[test]
fn the_binary_writes_identical_files_at_any_job_count() {
    let dir = crate::support::Scratch::new("det");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("busy.toml");
    std::fs::write(&file, BUSY).unwrap();
    let mut outputs = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.join(format!("out{jobs}"));
        let status = Command::new(env!("CARGO_BIN_EXE_coordsim"))
            .args(["run", file.to_str().unwrap(), "--jobs", jobs, "--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        outputs.push((std::fs::read(out.join("runs.csv")).unwrap(), status.stdout));
    }
    assert_eq!(outputs[0], outputs[1], "runs.csv and the table must not depend on --jobs");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every kind of control agent at once, probing over a lossy network, with a gray failure
/// to find and an adaptive agent choosing placement arms: the control layer's streams and
/// its actions must not depend on the thread count either.
const AGENTS: &str = r#"
    duration = 120
    warmup = 5
    replications = 2
    policies = ["random", "power_of_d", "central"]
    [network]
    latency = { dist = "exponential", mean = "1ms" }
    loss = 0.01
    [services.api]
    replicas = 3
    concurrency = 2
    service_time = { dist = "exponential", mean = "10ms" }
    slo = "100ms"
    [services.db]
    replicas = 2
    concurrency = 2
    service_time = { dist = "exponential", mean = "4ms" }
    slo = "50ms"
    [classes.web]
    service = "api"
    arrival = { process = "poisson", rate = 300 }
    [classes.read]
    service = "db"
    arrival = { process = "poisson", rate = 200 }
    [[faults]]
    kind = "slowdown"
    service = "api"
    replica = 1
    factor = 30
    at = "20s"
    duration = "60s"
    [[agents]]
    name = "hpa"
    kind = "autoscaler"
    service = "api"
    target = 0.5
    max_replicas = 8
    provisioning = "3s"
    period = "5s"
    [[agents]]
    name = "doctor"
    kind = "remediator"
    service = "api"
    period = "2s"
    timeout = "300ms"
    restart_delay = "4s"
    [[agents]]
    name = "chooser"
    kind = "adaptive"
    service = "db"
    arms = ["random", "least_outstanding"]
    period = "10s"
    [[agents]]
    name = "cost"
    kind = "budget"
    service = "api"
    max_total = 6
    period = "15s"
"#;

#[test]
fn control_agents_act_identically_at_one_and_two_threads() {
    let s = scenario(AGENTS);
    let one = coordsim::cli::run_all(&s, Some(1)).unwrap();
    let two = coordsim::cli::run_all(&s, Some(2)).unwrap();
    for (what, f) in [
        ("runs.csv", report::runs_csv as fn(&[_]) -> Vec<u8>),
        ("services.csv", report::services_csv),
        ("faults.csv", report::faults_csv),
        ("timeseries.csv", report::timeseries_csv),
    ] {
        assert_eq!(
            String::from_utf8_lossy(&f(&one)),
            String::from_utf8_lossy(&f(&two)),
            "{what} depends on the thread count"
        );
    }
    // The agents did act, so the check above compared actions and not empty columns.
    let acted = one.iter().map(|r| r.summary.scale_ups + r.summary.restarts).sum::<u64>();
    assert!(acted > 0, "no agent acted: the scenario no longer exercises the control layer");
}
