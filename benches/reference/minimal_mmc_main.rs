//! The `minimal_mmc` example: runs the minimal M/M/c loop of `minimal_mmc.rs` as a whole
//! process, so `benches/peers/compare.sh` can time it (wall clock and peak memory) next to the
//! `coordsim` binary and SimPy. It prints one line of `key=value` figures and nothing else.
//!
//! Usage: `minimal_mmc [CUSTOMERS [SEED]]` (defaults: 1000000 customers, seed 1).

#[path = "minimal_mmc.rs"]
mod minimal_mmc;

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut number = |name: &str, default: u64| match args.next() {
        None => Ok(default),
        Some(text) => text
            .parse::<u64>()
            .map_err(|err| format!("{name} must be a non-negative integer, got `{text}`: {err}")),
    };
    let (customers, seed) = match (number("CUSTOMERS", 1_000_000), number("SEED", 1)) {
        (Ok(customers), Ok(seed)) => (customers, seed),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("error: {message}\nusage: minimal_mmc [CUSTOMERS [SEED]]");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let (mean_s, events) = minimal_mmc::run(customers, seed);
    let wall = start.elapsed().as_secs_f64();
    println!(
        "customers={customers} events={events} mean_latency_ms={:.3} erlang_c_ms={:.2} wall_s={wall:.3}",
        mean_s * 1e3,
        minimal_mmc::ERLANG_C_MEAN_S * 1e3,
    );
    ExitCode::SUCCESS
}
