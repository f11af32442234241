//! The stepping engine (docs/model.md section 11): a run paused at any times and finished
//! is the run in one go, event for event (fingerprint, events, every figure), with and
//! without control agents, faults and message-passing policies; and the clock it shows.

use std::path::Path;

use rand::{Rng, SeedableRng};

use coordsim::policy::PolicyKind;
use coordsim::scenario::{self, Override};
use coordsim::sim::{self, Simulation};
use coordsim::time::{SimDuration, SimTime};

/// A shipped scenario cut to its warm-up plus `measured` seconds.
fn shipped(name: &str, measured: f64) -> scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name);
    let full = scenario::load(&path).unwrap();
    let duration = full.warmup.as_secs_f64() + measured;
    let set: Override = format!("duration=\"{duration}s\"").parse().unwrap();
    scenario::load_with(&path, &[set]).unwrap()
}

#[test]
fn a_run_paused_anywhere_is_the_run_in_one_go() {
    let cases = [
        ("pool.toml", 5.0, PolicyKind::Central),
        ("pool.toml", 5.0, PolicyKind::Gossip),
        ("checkout.toml", 5.0, PolicyKind::Auction),
        ("gray-failure.toml", 5.0, PolicyKind::PeakEwma),
        ("autoscale.toml", 60.0, PolicyKind::PowerOfD),
        ("remediation-helps.toml", 30.0, PolicyKind::Random),
        ("hedging.toml", 5.0, PolicyKind::LeastOutstanding),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(28);
    for (file, measured, kind) in cases {
        let s = shipped(file, measured);
        let spec =
            s.policies.iter().copied().find(|p| p.kind() == kind).unwrap_or(kind.default_spec());
        let whole = sim::run(&s, spec, 1);
        // Pauses at random times: some close together, some at the very same instant,
        // some at a time already passed, the last past the end.
        let mut stepped = Simulation::new(&s, spec, 1);
        let end = stepped.end();
        let mut t = SimTime::ZERO;
        while t < end {
            let gap = match rng.random_range(0..4) {
                0 => SimDuration::ZERO,
                1 => SimDuration::from_nanos(rng.random_range(1..1_000_000)),
                _ => SimDuration::from_secs_f64(rng.random_range(0.0..2.0)),
            };
            t += gap;
            let now = stepped.run_until(t);
            assert_eq!(now, t.min(end), "{file}");
            assert_eq!(stepped.run_until(SimTime::ZERO), now, "a time passed changes nothing");
        }
        assert!(stepped.is_finished());
        let paused = stepped.finish();
        assert_eq!(paused.fingerprint, whole.fingerprint, "{file} under {kind}");
        assert_eq!(paused.events, whole.events, "{file} under {kind}");
        assert_eq!(
            format!("{paused:?}"),
            format!("{whole:?}"),
            "{file} under {kind}: every figure"
        );
    }
}

#[test]
fn a_simulation_stands_at_zero_and_finishes_at_the_end() {
    let s = shipped("mmc.toml", 2.0);
    let spec = s.policies[0];
    let fresh = Simulation::new(&s, spec, 0);
    assert_eq!(fresh.now(), SimTime::ZERO);
    assert!(!fresh.is_finished());
    assert_eq!(fresh.end(), SimTime::ZERO + s.duration);
    // Finished at once, it is the whole run.
    assert_eq!(fresh.finish().fingerprint, sim::run(&s, spec, 0).fingerprint);
    let mut sim = Simulation::new(&s, spec, 0);
    assert_eq!(sim.run_until(SimTime::ZERO + SimDuration::from_secs(10_000)), sim.end());
    assert!(sim.is_finished());
}
