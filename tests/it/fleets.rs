//! Heterogeneous fleets (docs/model.md section 12) against theory computed here, never
//! pasted from a run: `least_work_left` on identical replicas as one first-come-first-served
//! queue (Erlang C for exponential sizes; M/D/k from the Kiefer-Wolfowitz recursion, itself
//! checked against Erlang C and Pollaczek-Khinchine), `weighted_random` as independent M/M/1
//! queues, `sita`'s two intervals as M/G/1 queues (Pollaczek-Khinchine); groups of alike
//! replicas run exactly as one service of them; autoscalers that prefer a group; cost; and
//! the errors of bad groups.

use rand::{Rng, SeedableRng};

use coordsim::metrics::RunSummary;
use coordsim::policy::PolicyKind;
use coordsim::scenario;
use coordsim::sim;

use crate::support::{erlang_c, scenario};

/// Mean wait in a first-come-first-served queue with `k` servers, Poisson arrivals at
/// `lambda` and service times from `service`, by the Kiefer-Wolfowitz recursion on the vector
/// of the servers' residual work over `customers` customers (the first tenth discarded).
fn fcfs_mean_wait(
    k: usize,
    lambda: f64,
    customers: usize,
    mut service: impl FnMut(&mut rand_chacha::ChaCha8Rng) -> f64,
) -> f64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut work = vec![0.0f64; k];
    let (mut sum, mut counted) = (0.0, 0usize);
    for n in 0..customers {
        // The arrival joins the server that frees first: it waits that server's work.
        let wait = work[0];
        if n >= customers / 10 {
            sum += wait;
            counted += 1;
        }
        work[0] += service(&mut rng);
        let gap = -(1.0 - rng.random::<f64>()).ln() / lambda;
        for w in &mut work {
            *w = (*w - gap).max(0.0);
        }
        work.sort_by(f64::total_cmp);
    }
    sum / counted as f64
}

/// Mean and standard error over `replications` runs of `policy` of `figure`.
fn replicate(
    toml: &str,
    policy: PolicyKind,
    replications: u32,
    figure: impl Fn(&RunSummary) -> f64,
) -> (f64, f64) {
    let s = scenario(toml);
    let spec = s.policies.iter().copied().find(|p| p.kind() == policy).expect("listed policy");
    let xs: Vec<f64> = (0..replications).map(|rep| figure(&sim::run(&s, spec, rep))).collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// The simulated mean latency within four standard errors of theory, and precise enough
/// (standard error under 1.5% of the expectation) that the check means something.
fn assert_close(what: &str, (mean, se): (f64, f64), expected_ms: f64) {
    assert!(se / expected_ms < 0.015, "{what}: too imprecise to judge (se {se:.3} ms)");
    assert!(
        (mean - expected_ms).abs() < 4.0 * se,
        "{what}: simulated {mean:.3} ms +- {se:.3}, theory {expected_ms:.3} ms"
    );
}

/// One service `server` of single-slot replicas given by `fleet` (a `replicas = ...` line or
/// `[[services.server.groups]]` tables), work from `work`, sizes known, Poisson arrivals at
/// `rate` for `customers` jobs.
fn fleet_toml(
    fleet: &str,
    work: &str,
    rate: f64,
    customers: f64,
    policies: &str,
    extra: &str,
) -> String {
    let duration = customers / rate;
    format!(
        "duration = {duration}\nwarmup = {}\npolicies = [{policies}]\n{extra}\n[services.server]\nsizes_known = true\nservice_time = {work}\n{fleet}\n[classes.request]\nservice = \"server\"\narrival = {{ process = \"poisson\", rate = {rate} }}\n",
        duration * 0.02
    )
}

#[test]
fn the_fcfs_recursion_matches_erlang_c_and_pollaczek_khinchine() {
    // M/M/4 at rho 0.8, mean 10 ms: Erlang C.
    let exponential = |rng: &mut rand_chacha::ChaCha8Rng| -(1.0 - rng.random::<f64>()).ln() * 0.010;
    let w = fcfs_mean_wait(4, 320.0, 2_000_000, exponential);
    let erlang = erlang_c(4, 3.2) / (400.0 - 320.0);
    assert!((w - erlang).abs() < 0.03 * erlang, "recursion {w} vs Erlang C {erlang}");
    // M/D/1 at rho 0.8: W = rho / (2 mu (1 - rho)) = 0.8 x 10 ms / 0.4 = 20 ms.
    let w = fcfs_mean_wait(1, 80.0, 2_000_000, |_| 0.010);
    assert!((w - 0.020).abs() < 0.03 * 0.020, "recursion {w} vs Pollaczek-Khinchine 20 ms");
}

#[test]
fn least_work_left_on_identical_replicas_is_one_fcfs_queue_erlang_c() {
    // Four single-slot replicas, exponential sizes of mean 10 ms known to the dispatcher, at
    // load 0.8: each job joins the replica that frees first, as in M/M/4.
    let toml = fleet_toml(
        "replicas = 4",
        "{ dist = \"exponential\", mean = \"10ms\" }",
        320.0,
        400_000.0,
        "\"least_work_left\"",
        "",
    );
    let expected = (0.010 + erlang_c(4, 3.2) / (400.0 - 320.0)) * 1e3;
    assert_close(
        "least_work_left, M/M/4 at 0.8",
        replicate(&toml, PolicyKind::LeastWorkLeft, 6, |s| s.latency_mean_ms),
        expected,
    );
}

#[test]
fn least_work_left_with_deterministic_sizes_is_m_d_k() {
    // Constant 10 ms sizes on four replicas at load 0.8: M/D/4, whose mean wait comes from the
    // recursion above (checked against theory in its own test).
    let toml = fleet_toml(
        "replicas = 4",
        "{ dist = \"constant\", value = \"10ms\" }",
        320.0,
        400_000.0,
        "\"least_work_left\"",
        "",
    );
    let wait = fcfs_mean_wait(4, 320.0, 4_000_000, |_| 0.010);
    let expected = (0.010 + wait) * 1e3;
    // M/D/4 waits about half as long as M/M/4 (a classic approximation), which the
    // simulated figure must reflect too.
    let mm4 = erlang_c(4, 3.2) / 80.0;
    assert!((wait / mm4 - 0.5).abs() < 0.1, "M/D/4 {wait} vs M/M/4 {mm4}");
    assert_close(
        "least_work_left, M/D/4 at 0.8",
        replicate(&toml, PolicyKind::LeastWorkLeft, 6, |s| s.latency_mean_ms),
        expected,
    );
}

#[test]
fn weighted_random_splits_poisson_traffic_into_independent_mm1_queues() {
    // Speeds 0.5, 1 and 2 at total load 0.7: replica i gets lambda s_i / 3.5 and serves at
    // 100 s_i per second, so each is an M/M/1 queue at 0.7 and the mean latency is
    // sum_i (s_i / 3.5) / (100 s_i (1 - 0.7)) = 3 / (3.5 x 30) s = 28.571 ms.
    let groups = "[[services.server.groups]]\nname = \"slow\"\nreplicas = 1\nspeed = 0.5\n[[services.server.groups]]\nname = \"mid\"\nreplicas = 1\n[[services.server.groups]]\nname = \"fast\"\nreplicas = 1\nspeed = 2.0\n";
    let toml = fleet_toml(
        groups,
        "{ dist = \"exponential\", mean = \"10ms\" }",
        245.0,
        400_000.0,
        "\"weighted_random\"",
        "",
    );
    let speeds = [0.5, 1.0, 2.0];
    let expected: f64 =
        speeds.iter().map(|s| (s / 3.5) / (100.0 * s * (1.0 - 0.7))).sum::<f64>() * 1e3;
    assert!((expected - 28.571_428).abs() < 1e-3);
    assert_close(
        "weighted_random over speeds 0.5, 1, 2",
        replicate(&toml, PolicyKind::WeightedRandom, 6, |s| s.latency_mean_ms),
        expected,
    );
}

/// The Pollaczek-Khinchine mean latency of `sita` over two unit-speed replicas with
/// exponential sizes of mean `m` s, Poisson arrivals at `lambda` and cutoff `c` s: each
/// replica an M/G/1 queue of the sizes on its side of the cutoff.
fn sita_two_replicas_ms(lambda: f64, m: f64, c: f64) -> f64 {
    let tail = (-c / m).exp();
    let below = [1.0 - tail, tail];
    // E[X; X <= c] and E[X^2; X <= c] of the exponential, and the rest above c.
    let first_below = m - tail * (c + m);
    let second_below = 2.0 * m * m - tail * (c * c + 2.0 * m * c + 2.0 * m * m);
    let first = [first_below, m - first_below];
    let second = [second_below, 2.0 * m * m - second_below];
    (0..2)
        .map(|i| {
            let rho = lambda * first[i];
            let wait = lambda * second[i] / (2.0 * (1.0 - rho));
            below[i] * (wait + first[i] / below[i])
        })
        .sum::<f64>()
        * 1e3
}

#[test]
fn sita_gives_each_replica_the_mg1_figure_of_its_interval() {
    // Two unit-speed replicas, exponential sizes of mean 10 ms, load 0.7: the computed cutoff
    // gives each replica half the work, at c = 16.7835 ms (E[X; X <= c] = m / 2).
    let c = 0.010 * 1.678_346_99;
    let expected = sita_two_replicas_ms(140.0, 0.010, c);
    let work = "{ dist = \"exponential\", mean = \"10ms\" }";
    let computed = fleet_toml("replicas = 2", work, 140.0, 400_000.0, "\"sita\"", "");
    assert_close(
        "sita, computed cutoff",
        replicate(&computed, PolicyKind::Sita, 6, |s| s.latency_mean_ms),
        expected,
    );
    // A cutoff given elsewhere gives that cutoff's figure (here 20 ms: loads 0.83 below, 0.57 above).
    let given = 0.020;
    let toml = fleet_toml(
        "replicas = 2",
        work,
        140.0,
        400_000.0,
        "\"sita\"",
        &format!("[policy.sita]\ncutoffs = [{given}]\n"),
    );
    let expected = sita_two_replicas_ms(140.0, 0.010, given);
    assert_close(
        "sita, cutoff 20 ms",
        replicate(&toml, PolicyKind::Sita, 6, |s| s.latency_mean_ms),
        expected,
    );
}

#[test]
fn groups_of_alike_replicas_run_exactly_as_one_service_of_them() {
    // Eight identical replicas as one service or as three groups of the same settings: every
    // policy makes the same decisions, so every run has the same fingerprint and figures.
    // A crash of the service's sixth replica hits the same replica both ways.
    let body = |fleet: &str| {
        format!(
            "duration = 20\nwarmup = 2\norchestrators = 2\n[services.server]\n{fleet}\nconcurrency = 2\nsizes_known = true\nservice_time = {{ dist = \"exponential\", mean = \"10ms\" }}\n[classes.request]\nservice = \"server\"\narrival = {{ process = \"poisson\", rate = 1200 }}\n[[faults]]\nkind = \"crash\"\nservice = \"server\"\nreplica = 5\nat = 5\nduration = 3\n"
        )
    };
    let one = scenario(&body("replicas = 8"));
    let groups = "groups = [{ name = \"a\", replicas = 3 }, { name = \"b\", replicas = 3 }, { name = \"c\", replicas = 2 }]";
    let three = scenario(&body(groups));
    for kind in PolicyKind::ALL {
        let spec = kind.default_spec();
        let (x, y) = (sim::run(&one, spec, 0), sim::run(&three, spec, 0));
        assert_eq!(x.fingerprint, y.fingerprint, "{kind}");
        assert_eq!(x.events, y.events, "{kind}");
        assert_eq!(x.latency_mean_ms.to_bits(), y.latency_mean_ms.to_bits(), "{kind}");
        assert_eq!(x.faults[0].touched, y.faults[0].touched, "{kind}");
        assert_eq!((x.jobs_completed, x.jobs_failed), (y.jobs_completed, y.jobs_failed), "{kind}");
        assert_eq!(x.replica_seconds.to_bits(), y.replica_seconds.to_bits(), "{kind}");
    }
}

#[test]
fn an_autoscaler_adds_to_its_preferred_group_and_cost_is_replica_hours_times_price() {
    // Two on-demand replicas cannot keep up with load 1.5; the autoscaler prefers spot
    // replicas, so every replica it adds is spot and the on-demand ones hold their two
    // replicas for the whole measured span (hand calculation: 2 x 90 s x $0.50 / 3600).
    let toml = r#"
        duration = 100
        warmup = 10
        policies = ["least_expected_finish"]
        [services.api]
        service_time = { dist = "exponential", mean = "10ms" }
        groups = [{ name = "ondemand", replicas = 2, price = 0.5 }, { name = "spot", replicas = 1, speed = 0.5, price = 0.1 }]
        [classes.c]
        service = "api"
        arrival = { process = "poisson", rate = 375 }
        [[agents]]
        name = "hpa"
        kind = "autoscaler"
        service = "api"
        target = 0.6
        max_replicas = 12
        provisioning = "2s"
        group = ["spot", "ondemand"]
    "#;
    let s = scenario(toml);
    let run = sim::run(&s, s.policies[0], 0);
    let [ondemand, spot] = &run.services[..] else { panic!("{:?}", run.services) };
    assert_eq!((ondemand.group.as_str(), spot.group.as_str()), ("ondemand", "spot"));
    assert_eq!(ondemand.scale_ups, 0);
    assert!(spot.scale_ups >= 3, "{spot:?}");
    assert!((ondemand.replica_seconds - 180.0).abs() < 1e-9, "{ondemand:?}");
    assert!((ondemand.cost - 180.0 / 3600.0 * 0.5).abs() < 1e-12);
    assert!((spot.cost - spot.replica_seconds / 3600.0 * 0.1).abs() < 1e-12);
    assert!((run.cost - ondemand.cost - spot.cost).abs() < 1e-12);
    assert!((run.replica_seconds - ondemand.replica_seconds - spot.replica_seconds).abs() < 1e-9);
}

/// The field and message of the error loading `toml`.
fn refused(toml: &str) -> (String, String) {
    match scenario::from_toml_str(toml, "fleet.toml", &[]) {
        Ok(_) => panic!("accepted:\n{toml}"),
        Err(e) => (e.field().unwrap_or_default().to_owned(), e.to_string()),
    }
}

#[test]
fn bad_groups_are_refused_with_the_field_and_what_is_expected() {
    let base = |service: &str, rest: &str| {
        format!("duration = 10\npolicies = [\"random\"]\n[services.api]\nservice_time = {{ dist = \"exponential\", mean = \"10ms\" }}\n{service}\n[classes.c]\nservice = \"api\"\narrival = {{ process = \"poisson\", rate = 10 }}\n{rest}")
    };
    let two =
        "groups = [{ name = \"a\", replicas = 1 }, { name = \"b\", replicas = 2, speed = 2.0 }]";
    let cases: Vec<(String, &str, &str)> = vec![
        (base("groups = [{ name = \"a\", replicas = 0 }]", ""), "services.api.groups[0].replicas", "expected an integer >= 1"),
        (base("groups = []", ""), "services.api.groups", "at least one group"),
        (base("replicas = 2\ngroups = [{ name = \"a\", replicas = 1 }]", ""), "services.api.replicas", "not both"),
        (base("", ""), "services.api.replicas", "or `[[services.<name>.groups]]`"),
        (base("groups = [{ name = \"a\", replicas = 1 }, { name = \"a\", replicas = 1 }]", ""), "services.api.groups[1].name", "unique"),
        (base("groups = [{ name = \"a\", replicas = 1, price = -1 }]", ""), "services.api.groups[0].price", ">= 0"),
        (base(two, "[[faults]]\nkind = \"crash\"\nservice = \"api\"\ngroup = \"c\"\nat = 1\nduration = 1\n"), "faults[0].group", "unknown group `c` of service `api`; known: `a`, `b`"),
        (base(two, "[[faults]]\nkind = \"crash\"\nservice = \"api\"\ngroup = \"a\"\nreplica = 1\nat = 1\nduration = 1\n"), "faults[0].replica", "group `a` has 1"),
        (base(two, "[[agents]]\nname = \"hpa\"\nkind = \"autoscaler\"\nservice = \"api\"\ntarget = 0.5\nmax_replicas = 5\ngroup = [\"b\", \"spot\"]\n"), "agents.hpa.group", "unknown group `spot`"),
        (base(two, "[[agents]]\nname = \"doc\"\nkind = \"remediator\"\nservice = \"api\"\ngroup = \"a\"\n"), "agents.doc.group", "not used by an agent of kind `remediator`"),
        (base("replicas = 2", "").replace("[\"random\"]", "[\"least_work_left\"]"), "policies[0]", "services.api.sizes_known = true"),
        (base("replicas = 2\nsizes_known = true", "[policy.sita]\ncutoffs = [0.02, 0.01]\n").replace("[\"random\"]", "[\"sita\"]"), "policy.sita.cutoffs[1]", "increasing order"),
        (base("replicas = 2\nsizes_known = true", "[policy.sita]\ncutoffs = []\n").replace("[\"random\"]", "[\"sita\"]"), "policy.sita.cutoffs", "expected 1 to 15 cutoffs"),
        (base("replicas = 2\nsizes_known = true", "[policy.sita]\ncutoffs = [-1]\n").replace("[\"random\"]", "[\"sita\"]"), "policy.sita.cutoffs[0]", "expected a duration"),
    ];
    for (toml, field, message) in cases {
        let (f, text) = refused(&toml);
        assert_eq!(f, field, "{text}\n{toml}");
        assert!(text.contains(message), "{text}\n{toml}");
        assert!(text.contains("fleet.toml"), "{text}");
    }
}

#[test]
fn faults_name_replicas_with_their_group() {
    let toml = r#"
        duration = 10
        policies = ["random"]
        [services.api]
        service_time = { dist = "exponential", mean = "10ms" }
        groups = [{ name = "new", replicas = 2 }, { name = "old", replicas = 3, speed = 0.5 }]
        [classes.c]
        service = "api"
        arrival = { process = "poisson", rate = 100 }
        [[faults]]
        kind = "crash"
        service = "api"
        replica = 3
        at = 1
        duration = 1
        [[faults]]
        kind = "slowdown"
        service = "api"
        group = "old"
        factor = 2
        at = 2
        duration = 1
        [[faults]]
        kind = "crash"
        service = "api"
        group = "new"
        replica = 1
        at = 3
        duration = 1
    "#;
    let s = scenario(toml);
    let run = sim::run(&s, s.policies[0], 0);
    let targets: Vec<&str> = run.faults.iter().map(|f| f.target.as_str()).collect();
    // The fourth starting replica of the service is the second of group `old`.
    assert_eq!(targets, ["api/old[1]", "api/old", "api/new[1]"]);
    assert_eq!(
        s.replica_names(),
        ["api/new[0]", "api/new[1]", "api/old[0]", "api/old[1]", "api/old[2]"]
    );
}
