//! The single integration-test binary; one module per concern.

// Shared helpers: tiny-scenario builders, the invariant-checking observer, proptest strategies.
mod support;

// Every file in scenarios/ loads and validates.
mod scenarios;
// The JSON Schema of scenario files against the loader and docs/scenarios.md.
mod schema;
// docs/scenarios.md lists exactly the keys the loader accepts; every source file opens with
// a `//!` paragraph, and none in src/ outgrows a room.
mod docs;
// M/M/1, M/M/c (Erlang C) and M/M/c/c (Erlang B): expected values computed from theory.
mod theory;
// Hedging with per-execution variability, staleness, gossip spread, wasted work: algebra.
mod fidelity;
// Workflows, calls, network links, traffic shapes, closed loops: hand calculations and theory.
mod world;
// Faults and resilience: the retry storm and its mitigations, hedging, breakers, people.
mod faults;
// Same inputs, same bytes: repeated runs, 1 vs 2 threads, the CLI's files.
mod determinism;
// Control agents: autoscaling against theory, remediation that helps and hurts, bandits,
// conflicts between agents, invariants while replicas come and go.
mod control;
// The stepping engine: a run paused anywhere and finished is the run in one go.
mod stepping;
// Decisions taken outside the engine while a stepped run waits.
mod outside;
// Runs driven from outside, period by period (the Gymnasium environment's engine): what the
// driver sees against theory, its actions, fault flags, ending early, determinism.
mod driven;
// Sweeps: --jobs, shards and resume give identical files; failures recorded; precision; charts.
mod sweep;
// The binary: bad input gives a clear error, exit code 2 and no result files.
mod cli;
// Sweep grid keys checked before anything runs; `sweep --set`.
mod sweep_keys;
// Inputs valid key by key that cannot run well: resource limits, --strict warnings,
// meaningless arguments, incomplete merges, damaged run files under --resume.
mod limits;
// A policy written outside the crate, through the public API only.
mod custom;
// Cascades, time series, per-class latency, Little's law, histogram vs exact quantiles.
mod metrics;
// Each policy as its family should behave: message counts, failover times, gossip
// dissemination, claims and resending on suspicion, the ordering of placement rules, the
// supermarket model.
mod policies;
// `central`'s load estimate between heartbeats, and its audit.
mod estimates;
// Replica groups of their own speed, slots and price; placement that knows speeds and sizes,
// against queueing theory (Erlang C, M/D/k, M/M/1 splits, Pollaczek-Khinchine).
mod fleets;
// docs/model.md section 9 invariants on random small scenarios; the loader never panics.
mod props;
