//! The simulator against queueing theory. Expected values are computed here from the
//! formulas (Erlang C for M/M/c waiting, Erlang B for M/M/c/c blocking), never pasted from a
//! run. Each check runs independent replications and compares the theory with the mean of
//! the replication means, within four standard errors; it also requires the standard error
//! itself to be small (under 1.5% of the mean), so a check cannot pass by being vague.

use coordsim::policy::PolicySpec;
use coordsim::sim;

use crate::support::{erlang_c, mmc_toml, scenario};

/// Erlang B: blocking probability of an M/M/c/c loss system with offered load `a`.
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (f64::from(k) + a * b))
}

/// Mean and standard error of the mean over replications of `figure`.
fn replicate(
    toml: &str,
    replications: u32,
    figure: impl Fn(&coordsim::metrics::RunSummary) -> f64,
) -> (f64, f64) {
    let s = scenario(toml);
    let xs: Vec<f64> =
        (0..replications).map(|rep| figure(&sim::run(&s, PolicySpec::Random, rep))).collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn erlang_formulas_match_hand_calculation() {
    // M/M/1: P(wait) = rho. M/M/2 at a = 1: C = (1/2 * 2) / (1 + 1 + 1) = 1/3.
    assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // The reference: M/M/4 at load 0.9, mean service 10 ms -> 29.69 ms.
    let w = 10.0 + erlang_c(4, 3.6) / (400.0 - 360.0) * 1000.0;
    assert!((w - 29.69).abs() < 0.005, "{w}");
    // B(1, a) = a / (1 + a); B(2, 1) = 1/5.
    assert!((erlang_b(1, 3.0) - 0.75).abs() < 1e-12);
    assert!((erlang_b(2, 1.0) - 0.2).abs() < 1e-12);
}

/// Mean latency of M/M/c at load `rho` against 1/mu + C(c, a) / (c mu - lambda).
fn check_mmc(c: u32, rho: f64, customers: f64, replications: u32) {
    let mean_s = 0.010;
    let mu = 1.0 / mean_s;
    let lambda = rho * f64::from(c) * mu;
    let expected_ms = (1.0 / mu + erlang_c(c, lambda / mu) / (f64::from(c) * mu - lambda)) * 1e3;
    let (mean, se) =
        replicate(&mmc_toml(c, rho, mean_s, customers, None), replications, |s| s.latency_mean_ms);
    assert!(se / expected_ms < 0.015, "M/M/{c} rho {rho}: too imprecise to judge (se {se:.3} ms)");
    assert!(
        (mean - expected_ms).abs() < 4.0 * se,
        "M/M/{c} at rho {rho}: simulated {mean:.3} ms +- {se:.3}, Erlang C {expected_ms:.3} ms"
    );
}

#[test]
fn mm1_matches_theory_from_load_half_to_095() {
    check_mmc(1, 0.5, 200_000.0, 6);
    check_mmc(1, 0.8, 400_000.0, 6);
    // Near saturation the waiting times are strongly correlated: many more customers.
    check_mmc(1, 0.95, 2_500_000.0, 8);
}

#[test]
fn mm4_matches_erlang_c_from_load_half_to_095() {
    check_mmc(4, 0.5, 200_000.0, 6);
    check_mmc(4, 0.9, 400_000.0, 6);
    check_mmc(4, 0.95, 2_500_000.0, 8);
}

#[test]
fn mm16_matches_erlang_c_from_load_half_to_095() {
    check_mmc(16, 0.5, 200_000.0, 6);
    check_mmc(16, 0.9, 400_000.0, 6);
    check_mmc(16, 0.95, 2_500_000.0, 8);
}

#[test]
fn mmcc_blocking_matches_erlang_b() {
    // A replica with c slots and no queue rejects an arrival that finds all slots busy.
    // Insensitivity: Erlang B holds for any service-time distribution with the same mean.
    for (c, a) in [(1u32, 0.5), (4, 3.0), (8, 8.0)] {
        let rho = a / f64::from(c);
        let toml = mmc_toml(c, rho, 0.010, 200_000.0, Some(0));
        let (blocked, se) = replicate(&toml, 6, |s| s.jobs_failed as f64 / s.jobs_arrived as f64);
        let expected = erlang_b(c, a);
        assert!(
            (blocked - expected).abs() < 4.0 * se + 1e-3,
            "M/M/{c}/{c} at a = {a}: blocked {blocked:.4} +- {se:.4}, Erlang B {expected:.4}"
        );
    }
}

#[test]
fn shipped_mmc_scenario_is_within_one_percent_of_erlang_c() {
    let s = coordsim::scenario::load(std::path::Path::new("scenarios/mmc.toml")).unwrap();
    let summary = sim::run(&s, s.policies[0], 0);
    let expected = 10.0 + erlang_c(4, 3.6) / 40.0 * 1000.0;
    let error = summary.latency_mean_ms / expected - 1.0;
    assert!(error.abs() < 0.01, "mmc.toml: {} ms vs {expected} ms", summary.latency_mean_ms);
}
