//! Every file in scenarios/ loads, validates, and runs briefly under every policy.

use std::path::Path;

use coordsim::policy::PolicyKind;
use coordsim::scenario::{self, Override};

fn shipped() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_validates() {
    let files = shipped();
    assert!(!files.is_empty());
    for file in files {
        scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_shipped_scenario_runs_briefly_under_every_policy() {
    for file in shipped() {
        let full = scenario::load(&file).unwrap();
        // The warm-up plus two measured seconds keeps this quick whatever the file says.
        let short = format!("{}s", full.warmup.as_secs_f64() + 2.0);
        let all = PolicyKind::ALL.map(|k| format!("\"{}\"", k.name())).join(",");
        let mut overrides: Vec<Override> = vec![
            format!("duration=\"{short}\"").parse().unwrap(),
            format!("policies=[{all}]").parse().unwrap(),
        ];
        // The size-based policies need every service's sizes known to the dispatcher.
        for service in &full.services {
            overrides.push(format!("services.{}.sizes_known=true", service.name).parse().unwrap());
        }
        let s = scenario::load_with(Path::new(&file), &overrides).unwrap();
        assert_eq!(s.policies.len(), PolicyKind::ALL.len());
        for &policy in &s.policies {
            let summary = coordsim::sim::run(&s, policy, 0);
            assert!(
                summary.jobs_arrived > 0,
                "{}: no job arrived under {policy:?}",
                file.display()
            );
            assert_eq!(
                summary.jobs_arrived,
                summary.jobs_completed + summary.jobs_failed + summary.jobs_in_flight
            );
        }
    }
}
