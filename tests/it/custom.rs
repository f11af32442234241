//! A policy written outside the crate (examples/custom_policy.rs) runs through the public
//! API alone, and behaves as theory says it must.

#[path = "../../examples/custom_policy.rs"]
mod custom_policy;

use coordsim::policy::PolicySpec;

#[test]
fn join_idle_queue_runs_from_outside_the_crate_within_theoretical_bounds() {
    let pool = custom_policy::pool();
    let jiq = custom_policy::run_jiq(&pool, 0);
    let random = coordsim::sim::run(&pool, PolicySpec::Random, 0);
    // No placement beats one queue shared by the 16 servers (M/M/16 at load 0.9: 13.70 ms,
    // Erlang C). Splitting at random makes 16 M/M/1 queues: 100 ms. Sending work to an idle
    // server whenever one exists must land far closer to the first bound than the second.
    assert!(jiq.latency_mean_ms > 13.7, "{}", jiq.latency_mean_ms);
    assert!(
        jiq.latency_mean_ms < 0.5 * random.latency_mean_ms,
        "{} vs {}",
        jiq.latency_mean_ms,
        random.latency_mean_ms
    );
    // Common random numbers: the custom policy saw exactly the same jobs.
    assert_eq!(jiq.jobs_arrived, random.jobs_arrived);
    // Deterministic like any built-in policy.
    assert_eq!(jiq.fingerprint, custom_policy::run_jiq(&pool, 0).fingerprint);
}
