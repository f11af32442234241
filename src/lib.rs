//! coordsim: a deterministic discrete-event simulator for comparing how autonomous agents
//! coordinate work across microservices.
//!
//! Data flows one way: a scenario file is loaded and validated ([`scenario`]), a world is
//! built from it and driven by the event [`engine`] ([`sim`]), a [`policy`] decides where
//! work goes, [`metrics`] summarise each run, and [`report`] turns summaries into tables and
//! CSV. [`cli`] wires these together for the `coordsim` binary. [`catalogue`], which depends
//! on nothing, says what every result column is.
//!
//! ```
//! use coordsim::{policy::PolicySpec, scenario, sim};
//!
//! // An M/M/1 queue at load 0.5: mean latency 1 / (mu - lambda) = 20 ms.
//! let toml = r#"
//!     duration = "400s"
//!     warmup = "20s"
//!     [services.server]
//!     replicas = 1
//!     service_time = { dist = "exponential", mean = "10ms" }
//!     [classes.request]
//!     service = "server"
//!     arrival = { process = "poisson", rate = 50 }
//! "#;
//! let scenario = scenario::from_toml_str(toml, "mm1", &[])?;
//! let summary = sim::run(&scenario, PolicySpec::Random, 0);
//! assert!((summary.latency_mean_ms / 20.0 - 1.0).abs() < 0.05);
//! assert_eq!(
//!     summary.jobs_arrived,
//!     summary.jobs_completed + summary.jobs_failed + summary.jobs_in_flight
//! );
//! # Ok::<(), coordsim::scenario::ScenarioError>(())
//! ```

#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

pub mod catalogue;
pub mod chart;
pub mod cli;
pub mod control;
pub mod dist;
pub mod engine;
pub mod ids;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod time;
pub mod trace;
