//! Decisions taken outside the engine while a stepped run waits (docs/model.md section 11):
//! an `external` agent answered at every period with nothing is the run in which it holds,
//! answered with the actions the HPA took it is the HPA's run, event for event; placements
//! on a steered service answered as round-robin would are round-robin's run; an unanswered
//! placement is rejected; and the figures so far add up to the run's.

use std::path::{Path, PathBuf};

use coordsim::control::Action;
use coordsim::metrics::RunSummary;
use coordsim::policy::PolicyKind;
use coordsim::scenario::{self, Override, Scenario};
use coordsim::sim::{self, Simulation, Waiting};
use coordsim::time::SimTime;

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

fn set(text: &str) -> Override {
    text.parse().unwrap()
}

/// autoscale.toml for 200 s with the agents `active`, and, when `outside` is true, an
/// external agent `outside` with the HPA's bounds and provisioning (active too).
fn autoscale(active: &str, outside: bool) -> Scenario {
    let overrides = [set("duration=\"200s\""), set(&format!("control.active={active}"))];
    if !outside {
        return scenario::load_with(&path("autoscale.toml"), &overrides).unwrap();
    }
    let agent: toml::Table = toml::from_str(
        r#"
name = "outside"
kind = "external"
services = ["catalog", "pricing", "payment"]
min_replicas = 1
max_replicas = 24
provisioning = { dist = "lognormal", mean = "20s", cv = 0.3 }
"#,
    )
    .unwrap();
    scenario::load_with_agents(&path("autoscale.toml"), &overrides, vec![agent]).unwrap()
}

fn same_run(a: &RunSummary, b: &RunSummary, what: &str) {
    assert_eq!(a.fingerprint, b.fingerprint, "{what}");
    assert_eq!(a.events, b.events, "{what}");
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}: every figure");
}

/// Steps `sim` from decision to decision, answering each external agent's with
/// `answer(time)`; returns how many it answered.
fn answer_each(sim: &mut Simulation<'_>, mut answer: impl FnMut(SimTime) -> Vec<Action>) -> usize {
    let mut answered = 0;
    while sim.run_until(sim.end()) < sim.end() || sim.waiting().is_some() {
        let at = sim.now();
        match sim.waiting() {
            Some(Waiting::Control { agent, ask }) => {
                assert_eq!(agent, "outside");
                assert_eq!(ask.observations.len(), 3, "one observation per service");
                assert!(ask.observations.iter().all(|o| o.at == at));
                sim.act(answer(at));
                answered += 1;
            }
            other => panic!("only the external agent waits, not {other:?}"),
        }
    }
    answered
}

#[test]
fn an_agent_answered_with_nothing_is_the_run_in_which_it_holds() {
    let s = autoscale("[]", true);
    let spec = s.policies[0];
    let mut stepped = Simulation::new(&s, spec, 1);
    let answered = answer_each(&mut stepped, |_| Vec::new());
    // One decision every 15 s from t = 15 s to 195 s (and none at the end itself, 200 s).
    assert_eq!(answered, 13);
    same_run(&stepped.finish(), &sim::run(&s, spec, 1), "answered with nothing");
    // Every figure but the events (the agent's periods and the monitoring system's scrapes
    // are events) is the figure of the run with no agent at all.
    let none = sim::run(&autoscale("[]", false), spec, 1);
    let held = sim::run(&s, spec, 1);
    assert!(held.events > none.events);
    let mut same_events = held.clone();
    (same_events.events, same_events.fingerprint) = (none.events, none.fingerprint);
    assert_eq!(format!("{same_events:?}"), format!("{none:?}"));
}

#[test]
fn an_agent_answered_with_the_hpas_actions_is_the_hpas_run() {
    let hpa = autoscale("[\"hpa\"]", false);
    let spec = hpa.policies[0];
    let (whole, log) = sim::run_audited(&hpa, spec, 1, usize::MAX);
    let scalings: Vec<_> = log.actions.iter().filter(|a| a.action == "scale").collect();
    assert!(scalings.len() >= 3, "the HPA scales in this run: {}", scalings.len());
    let outside = autoscale("[]", true);
    let mut stepped = Simulation::new(&outside, spec, 1);
    answer_each(&mut stepped, |at| {
        scalings
            .iter()
            .filter(|a| a.at == at)
            .map(|a| Action::Scale {
                service: outside.service_id(&a.service).unwrap(),
                to: a.value.as_deref().unwrap().parse().unwrap(),
            })
            .collect()
    });
    let replayed = stepped.finish();
    // The audited run's regret is not estimated; nor is it for runs without a bandit.
    same_run(&replayed, &whole, "the HPA's actions, replayed");
    assert!(replayed.replica_seconds > 0.0 && replayed.flaps == whole.flaps);
}

/// pool.toml for 25 s, its one service steered: each placement answered as round-robin
/// (one cursor per placing agent, over all replicas: none is ever excluded here).
#[test]
fn placements_answered_as_round_robin_are_round_robins_run() {
    let cut = [set("duration=\"25s\""), set("warmup=\"5s\"")];
    let s = scenario::load_with(&path("pool.toml"), &cut).unwrap();
    let spec = PolicyKind::RoundRobin.default_spec();
    let server = s.service_id("server").unwrap();
    let mut stepped = Simulation::steering(&s, spec, 2, Some(server));
    let mut cursors = [0usize; 16];
    let mut placements = 0u64;
    let mut last = SimTime::ZERO;
    loop {
        stepped.run_until(stepped.end());
        let Some(Waiting::Placement(ask)) = stepped.waiting() else { break };
        assert!(ask.at >= last, "asked in time order");
        last = ask.at;
        assert_eq!(ask.replicas.len(), 16);
        assert!(ask.replicas.iter().all(|f| f.candidate && f.slots == 1 && f.speed == 1.0));
        assert!(ask.work.is_none(), "sizes are not known in pool.toml");
        let busy: u32 = ask.replicas.iter().map(|f| f.running).sum();
        assert!(busy <= 16);
        let cursor = &mut cursors[ask.agent.index()];
        let choice = *cursor % 16;
        *cursor = choice + 1;
        stepped.place(Some(choice));
        placements += 1;
    }
    assert!(stepped.is_finished());
    // 1,440 jobs/s for 25 s: about 36,000 placements (a Poisson count: sd 190).
    assert!((35_000..37_000).contains(&placements), "{placements}");
    same_run(&stepped.finish(), &sim::run(&s, spec, 2), "round-robin answered from outside");
}

#[test]
fn an_unanswered_placement_holds_the_run_and_is_rejected_at_the_end() {
    let s = scenario::load_with(&path("mmc.toml"), &[set("duration=\"30s\"")]).unwrap();
    let server = s.services[0].name.clone();
    let mut stepped =
        Simulation::steering(&s, s.policies[0], 0, Some(s.service_id(&server).unwrap()));
    let at = stepped.run_until(stepped.end());
    assert!(at < stepped.end() && matches!(stepped.waiting(), Some(Waiting::Placement(_))));
    assert_eq!(stepped.run_until(stepped.end()), at, "it waits for the answer");
    assert_eq!(stepped.jobs_in_system(), 1);
    let summary = stepped.finish();
    // Every placement from then on is rejected: no job completes.
    assert_eq!(summary.jobs_completed, 0);
    assert!(summary.jobs_failed > 0);
}

#[test]
fn the_figures_so_far_add_up_to_the_runs() {
    // Stepped decision by decision, scaling the catalogue up and down: the differences of
    // the figures between decisions add up to the run's own.
    let s = autoscale("[]", true);
    let spec = s.policies[0];
    let catalog = s.service_id("catalog").unwrap();
    let mut stepped = Simulation::new(&s, spec, 0);
    let (mut previous, mut decisions) = (stepped.so_far(), 0u32);
    let (mut completed, mut failed, mut seconds, mut latency) = (0, 0, 0.0, 0.0);
    loop {
        stepped.run_until(stepped.end());
        let now = stepped.so_far();
        completed += now.jobs_completed - previous.jobs_completed;
        failed += now.jobs_failed - previous.jobs_failed;
        seconds += now.replica_seconds - previous.replica_seconds;
        latency += now.latency_sum_s - previous.latency_sum_s;
        previous = now;
        if stepped.waiting().is_none() {
            break;
        }
        decisions += 1;
        stepped.act(vec![Action::Scale { service: catalog, to: 2 + decisions % 3 }]);
    }
    let summary = stepped.finish();
    assert_eq!(completed, summary.jobs_completed);
    assert_eq!(failed, summary.jobs_failed);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    assert!(close(seconds, summary.replica_seconds), "{seconds} {}", summary.replica_seconds);
    assert!(close(latency / completed as f64 * 1e3, summary.latency_mean_ms));
    // The catalogue went from 2 to 3, 4 and back: more replica-seconds than 5 replicas
    // held still over the 140 s measured.
    assert!(summary.replica_seconds > 5.0 * 140.0, "{}", summary.replica_seconds);
}

#[test]
fn rejected_placements_spend_no_time_in_the_system() {
    // Sparse arrivals (1/s) on two idle replicas of 10 ms: a rejected placement fails its
    // job the instant it arrives, so with every placement rejected the time jobs spent in
    // the system is exactly zero, and with every other one placed it is the placed jobs'
    // latencies (and at most the last one's 10 ms, still running at the end).
    let text = r#"
duration = "200s"
warmup = "0s"
seed = 3
policies = ["random"]
[services.api]
replicas = 2
service_time = { dist = "constant", value = "10ms" }
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 1 }
"#;
    let s = crate::support::scenario(text);
    let api = s.service_id("api");
    let mut stepped = Simulation::steering(&s, s.policies[0], 0, api);
    let mut asked = 0u64;
    while stepped.run_to_placement() {
        stepped.place(None);
        asked += 1;
    }
    assert!(asked > 150, "{asked}");
    assert_eq!(stepped.job_seconds(), 0.0);
    let summary = stepped.finish();
    assert_eq!((summary.jobs_completed, summary.jobs_failed), (0, asked));

    let mut stepped = Simulation::steering(&s, s.policies[0], 0, api);
    let mut asked = 0u64;
    while stepped.run_to_placement() {
        stepped.place((asked % 2 == 0).then_some(0));
        asked += 1;
    }
    let seconds = stepped.job_seconds();
    let summary = stepped.finish();
    assert_eq!(summary.jobs_completed, asked.div_ceil(2));
    let latencies = summary.latency_mean_ms * 1e-3 * summary.jobs_completed as f64;
    assert!(
        seconds >= latencies - 1e-9 && seconds <= latencies + 0.010 + 1e-9,
        "{seconds} {latencies}"
    );
}
