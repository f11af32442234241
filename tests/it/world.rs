//! The microservice world against hand calculations and theory: calls hold the caller's
//! slot, link latencies add up, fork-join and closed-loop queues match their exact formulas,
//! and each traffic shape delivers the number of jobs its rate integral says.

use coordsim::policy::PolicySpec;
use coordsim::sim;

use crate::support::{run_checked, scenario};

/// Mean and standard error over replications.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn a_call_holds_the_callers_slot() {
    // `front` (one slot, 1 ms of work) calls `back` (9 ms). Zero network latency, one job
    // every 20 ms: every job takes exactly 1 + 9 = 10 ms.
    let base = r#"
        duration = 20
        warmup = 1
        [services.front]
        replicas = 1
        service_time = { dist = "constant", value = "1ms" }
        calls = [{ services = ["back"] }]
        [services.back]
        replicas = 4
        concurrency = 4
        service_time = { dist = "constant", value = "9ms" }
        [classes.c]
        service = "front"
        arrival = { process = "deterministic", rate = RATE }
    "#;
    let s = sim::run(&scenario(&base.replace("RATE", "50")), PolicySpec::Random, 0);
    assert_eq!(s.jobs_failed, 0);
    assert!(s.jobs_in_flight <= 1, "only the job arriving in the last 10 ms may be unfinished");
    assert!((s.latency_mean_ms - 10.0).abs() < 1e-6, "{}", s.latency_mean_ms);
    assert!((s.latency_p99_ms - 10.0).abs() < 0.01);
    // 150 jobs/s against a capacity of 1 / 10 ms = 100 jobs/s: although `back` has 16 idle
    // slots, `front` saturates because its slot is held during the call, so completions run
    // at 100/s and the backlog grows. Only jobs arriving after the 1 s warm-up count, and the
    // 50 jobs queued by then take 0.5 s to clear: goodput = 100 * 18.5 / 19 = 97.37/s.
    let s = sim::run(&scenario(&base.replace("RATE", "150")), PolicySpec::Random, 0);
    assert!((s.goodput_per_s - 100.0 * 18.5 / 19.0).abs() < 0.2, "{}", s.goodput_per_s);
    assert!(s.jobs_in_flight as f64 > 0.3 * 50.0 * 19.0, "{}", s.jobs_in_flight);
}

#[test]
fn latencies_add_up_along_steps_calls_and_links() {
    // Two sequential steps; step `b` calls `c`. Orchestrator<->a and <->b: 1 ms default;
    // b<->c: a 5 ms link. Job latency = 2*1 (a) + 2 (work a) + 2*1 (b) + 3 (work b)
    //   + 2*5 (call) + 4 (work c) = 23 ms.
    let toml = r#"
        duration = 10
        [network]
        latency = { dist = "constant", value = "1ms" }
        groups = { inner = ["b"], db = ["c"] }
        links = [{ between = ["inner", "db"], latency = { dist = "constant", value = "5ms" } }]
        [services.a]
        replicas = 1
        service_time = { dist = "constant", value = "2ms" }
        [services.b]
        replicas = 1
        service_time = { dist = "constant", value = "3ms" }
        calls = [{ services = ["c"] }]
        [services.c]
        replicas = 1
        service_time = { dist = "constant", value = "4ms" }
        [workflows.w]
        steps = [{ name = "first", service = "a" }, { name = "second", service = "b", after = ["first"] }]
        [classes.k]
        workflow = "w"
        arrival = { process = "deterministic", rate = 10 }
    "#;
    let (s, c) = run_checked(&scenario(toml), PolicySpec::RoundRobin, 0);
    assert!(c.violations.is_empty(), "{:?}", c.violations);
    assert!((s.latency_mean_ms - 23.0).abs() < 1e-6, "{}", s.latency_mean_ms);
    // 3 units, 2 messages each; the last of the ~100 jobs may be only part-way.
    assert!((s.messages_per_job - 6.0).abs() < 0.06, "{}", s.messages_per_job);
}

#[test]
fn parallel_steps_wait_for_the_slowest_branch() {
    // Fork-join of two M/M/1 queues (Nelson and Tantawi 1988; exact for two servers,
    // Flatto and Hahn 1984): E[R] = (12 - rho) / 8 * 1 / (mu - lambda).
    for rho in [0.5, 0.8] {
        let mu = 100.0;
        let lambda = rho * mu;
        let toml = format!(
            r#"
            duration = {duration}
            warmup = 20
            [services.left]
            replicas = 1
            service_time = {{ dist = "exponential", mean = 0.01 }}
            [services.right]
            replicas = 1
            service_time = {{ dist = "exponential", mean = 0.01 }}
            [workflows.fork]
            steps = [{{ name = "l", service = "left" }}, {{ name = "r", service = "right" }}]
            [classes.k]
            workflow = "fork"
            arrival = {{ process = "poisson", rate = {lambda} }}
            "#,
            duration = 400_000.0 / lambda,
        );
        let s = scenario(&toml);
        let xs: Vec<f64> =
            (0..6).map(|rep| sim::run(&s, PolicySpec::Random, rep).latency_mean_ms).collect();
        let (mean, se) = mean_se(&xs);
        let expected = (12.0 - rho) / 8.0 / (mu - lambda) * 1e3;
        assert!(se / expected < 0.015, "too imprecise: se {se}");
        assert!(
            (mean - expected).abs() < 4.0 * se,
            "rho {rho}: {mean:.3} +- {se:.3} ms vs {expected:.3} ms"
        );
    }
}

/// Exact mean value analysis of N users cycling between a think time Z and one exponential
/// FCFS server with mean S: returns (throughput, mean response time).
fn mva(users: u32, s: f64, z: f64) -> (f64, f64) {
    let (mut x, mut r, mut q) = (0.0, 0.0, 0.0);
    for n in 1..=users {
        r = s * (1.0 + q);
        x = f64::from(n) / (r + z);
        q = x * r;
    }
    (x, r)
}

#[test]
fn closed_loop_matches_mean_value_analysis() {
    for users in [5u32, 20] {
        let toml = format!(
            r#"
            duration = 2000
            warmup = 50
            [services.server]
            replicas = 1
            service_time = {{ dist = "exponential", mean = 0.01 }}
            [classes.users]
            service = "server"
            arrival = {{ process = "closed", clients = {users}, think = {{ dist = "exponential", mean = 0.1 }} }}
            "#
        );
        let s = scenario(&toml);
        let runs: Vec<_> = (0..5).map(|rep| sim::run(&s, PolicySpec::Random, rep)).collect();
        let (x, r) = mva(users, 0.01, 0.1);
        let (rm, rse) = mean_se(&runs.iter().map(|s| s.latency_mean_ms).collect::<Vec<_>>());
        let (xm, xse) = mean_se(&runs.iter().map(|s| s.goodput_per_s).collect::<Vec<_>>());
        assert!(
            (rm - r * 1e3).abs() < 4.0 * rse + 1e-3 * r * 1e3,
            "{users} users: R {rm:.3} +- {rse:.3} ms vs MVA {:.3}",
            r * 1e3
        );
        assert!(
            (xm - x).abs() < 4.0 * xse + 1e-3 * x,
            "{users} users: X {xm:.2} +- {xse:.2} vs MVA {x:.2}"
        );
        // A closed system never has more jobs than users.
        assert!(runs.iter().all(|s| s.jobs_in_flight <= u64::from(users)));
    }
}

fn arrivals(arrival: &str, duration: f64) -> u64 {
    let toml = format!(
        r#"
        duration = {duration}
        [services.s]
        replicas = 1
        concurrency = 1000
        service_time = {{ dist = "constant", value = "1ms" }}
        [classes.c]
        service = "s"
        arrival = {arrival}
        "#
    );
    sim::run(&scenario(&toml), PolicySpec::Random, 0).jobs_arrived
}

#[test]
fn deterministic_arrivals_follow_the_shaped_rate_exactly() {
    // 100/s for 30 s, tripled during [10 s, 20 s): 100*30 + 200*10 = 5000 arrivals (the
    // first comes one gap after time zero, so one fewer may fall inside the run).
    let n = arrivals(
        r#"{ process = "deterministic", rate = 100, spikes = [{ at = 10, duration = 10, factor = 3 }] }"#,
        30.0,
    );
    assert!((4998..=5000).contains(&n), "{n}");
    // A ramp from 1x to 3x over [0, 20 s], then 3x until 30 s: 100 * (20 * 2 + 10 * 3) = 7000.
    let n = arrivals(
        r#"{ process = "deterministic", rate = 100, ramp = { start = 0, end = 20, to = 3 } }"#,
        30.0,
    );
    assert!((6990..=7000).contains(&n), "{n}");
}

#[test]
fn poisson_shapes_integrate_to_their_expected_counts() {
    // Each count is Poisson with mean m: allow 4 standard deviations, sqrt(m).
    let cases = [
        // Diurnal over whole periods averages to the base rate: 200/s * 100 s.
        (
            r#"{ process = "poisson", rate = 200, diurnal = { period = 20, amplitude = 0.8 } }"#,
            20_000.0,
        ),
        // A 5x spike for 10 s of 100: 200 * (90 + 50).
        (
            r#"{ process = "poisson", rate = 200, spikes = [{ at = 40, duration = 10, factor = 5 }] }"#,
            28_000.0,
        ),
        // Ramp from 0.5x to 2x over [0, 100]: mean multiplier 1.25.
        (
            r#"{ process = "poisson", rate = 200, ramp = { start = 0, end = 100, from = 0.5, to = 2 } }"#,
            25_000.0,
        ),
    ];
    for (arrival, expected) in cases {
        let expected: f64 = expected;
        let n = arrivals(arrival, 100.0) as f64;
        assert!((n - expected).abs() < 4.0 * expected.sqrt(), "{arrival}: {n} vs {expected}");
    }
}

#[test]
fn mmpp_long_run_rate_over_replications() {
    // Two-state MMPP: long-run rate (100 * 8 + 1000 * 2) / 10 = 280/s. A single run varies a
    // lot (the time spent bursting is a sum of a few exponentials), so compare the mean of
    // ten 1000 s replications, within 4 standard errors.
    let toml = r#"
        duration = 1000
        [services.s]
        replicas = 1
        concurrency = 1000
        service_time = { dist = "constant", value = "1ms" }
        [classes.c]
        service = "s"
        arrival = { process = "mmpp", rate = 100, burst_rate = 1000, normal_time = 8, burst_time = 2 }
    "#;
    let s = scenario(toml);
    let rates: Vec<f64> = (0..10)
        .map(|rep| sim::run(&s, PolicySpec::Random, rep).jobs_arrived as f64 / 1000.0)
        .collect();
    let (mean, se) = mean_se(&rates);
    assert!((mean - 280.0).abs() < 4.0 * se, "{mean} +- {se}");
}

#[test]
fn a_trace_is_replayed_exactly_and_weights_split_the_shared_stream() {
    let dir = crate::support::Scratch::new("world");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("t.csv"), "time,kind\n0.5,a\n1.0,b\n1.0,b\n7.5,a\n12,a\n").unwrap();
    let file = dir.join("s.toml");
    std::fs::write(
        &file,
        r#"
        duration = 10
        arrival = { process = "trace", file = "t.csv", class_column = "kind" }
        [services.s]
        replicas = 1
        service_time = { dist = "constant", value = "1ms" }
        [classes.a]
        service = "s"
        weight = 1
        [classes.b]
        service = "s"
        weight = 1
        "#,
    )
    .unwrap();
    let s = coordsim::scenario::load(&file).unwrap();
    let (summary, c) = run_checked(&s, PolicySpec::Random, 0);
    // The arrival at 12 s is after the end.
    assert_eq!(summary.jobs_arrived, 4);
    assert_eq!(c.arrivals_by_class, vec![2, 2]);

    let weighted = r#"
        duration = 100
        arrival = { process = "poisson", rate = 400 }
        [services.s]
        replicas = 1
        concurrency = 100
        service_time = { dist = "constant", value = "1ms" }
        [classes.a]
        service = "s"
        weight = 1
        [classes.b]
        service = "s"
        weight = 3
    "#;
    let (summary, c) = run_checked(&scenario(weighted), PolicySpec::Random, 0);
    let share = c.arrivals_by_class[1] as f64 / summary.jobs_arrived as f64;
    // Binomial(40000, 0.75): sd 0.0022.
    assert!((share - 0.75).abs() < 0.01, "{share}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn deadlines_fail_late_jobs_and_spare_timely_ones() {
    let toml = |deadline: &str| {
        format!(
            r#"
            duration = 20
            warmup = 1
            [services.slow]
            replicas = 2
            concurrency = 10
            service_time = {{ dist = "constant", value = "300ms" }}
            [classes.c]
            service = "slow"
            deadline = "{deadline}"
            arrival = {{ process = "poisson", rate = 20 }}
            "#
        )
    };
    let late = sim::run(&scenario(&toml("200ms")), PolicySpec::Random, 0);
    assert_eq!(late.jobs_completed, 0);
    assert!(late.jobs_failed > 300, "{}", late.jobs_failed);
    let timely = sim::run(&scenario(&toml("1s")), PolicySpec::LeastOutstanding, 0);
    assert_eq!(timely.jobs_failed, 0);
    assert!((timely.latency_mean_ms - 300.0).abs() < 1e-6);
}
