//! The `coordsim` command: parses arguments and reports errors; the work is in `cli::run`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = coordsim::cli::Args::parse();
    match coordsim::cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(coordsim::cli::exit_code(&err))
        }
    }
}
