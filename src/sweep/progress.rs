//! Progress of a sweep on stderr: a bar (runs done, runs per second, time left) when stderr
//! is a terminal, plain lines every 5% (at most one a second) otherwise, nothing at all when
//! asked for quiet. Never stdout, so piping a sweep's table stays clean.
//!
//! The time left weighs each run by its expected events (the scenario's estimate, the one
//! `--max-events` checks): a sweep runs its cells in order and a later cell at a higher
//! load takes longer per run, so runs per second so far would promise too little time.
//! Until a tenth of the expected events are done (or 10 s have passed) the estimate is too
//! young to trust and is not given.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts finished runs; shared by the worker threads.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: Option<Mutex<Plain>>,
    weights: Mutex<Weights>,
    start: Instant,
}

#[derive(Debug)]
struct Plain {
    done: u64,
    total: u64,
    next_report: u64,
    last_report: Instant,
}

/// Expected events of the runs done and of all runs planned.
#[derive(Debug, Default)]
struct Weights {
    done: f64,
    total: f64,
}

/// Seconds left when `done` of `total` expected events took `elapsed_s`; `None` while too
/// little is done to tell.
fn time_left(weights: &Weights, elapsed_s: f64) -> Option<f64> {
    let share = weights.done / weights.total.max(f64::MIN_POSITIVE);
    (weights.done > 0.0 && (share >= 0.1 || elapsed_s >= 10.0))
        .then(|| elapsed_s * (weights.total - weights.done).max(0.0) / weights.done)
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere, or nothing when `quiet`.
    pub fn new(total: u64, quiet: bool) -> Self {
        let start = Instant::now();
        let mut progress = Progress { bar: None, plain: None, weights: Mutex::default(), start };
        if quiet {
            return progress;
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} runs  {per_sec:.1}  {elapsed} elapsed{msg}",
                )
                .expect("the template is valid"),
            );
            progress.bar = Some(bar);
            return progress;
        }
        let plain = Plain { done: 0, total, next_report: step(total), last_report: start };
        progress.plain = Some(Mutex::new(plain));
        progress
    }

    /// More runs joined the plan (the first round, or replications a precision target asked
    /// for), expecting `events` events in all.
    pub fn add_total(&self, more: u64, events: f64) {
        self.weights.lock().expect("progress lock is never poisoned").total += events;
        if let Some(bar) = &self.bar {
            bar.inc_length(more);
        }
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock is never poisoned");
            p.total += more;
        }
    }

    /// One run finished, of `events` expected events.
    pub fn inc(&self, events: f64) {
        let left = {
            let mut weights = self.weights.lock().expect("progress lock is never poisoned");
            weights.done += events;
            time_left(&weights, self.start.elapsed().as_secs_f64())
        };
        if let Some(bar) = &self.bar {
            if let Some(left) = left {
                bar.set_message(format!(
                    ", about {} left",
                    HumanDuration(Duration::from_secs_f64(left))
                ));
            }
            bar.inc(1);
        }
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock is never poisoned");
            p.done += 1;
            // Every 5% but at most once a second, and always the last run.
            let due = p.done >= p.next_report && p.last_report.elapsed().as_secs_f64() >= 1.0;
            if due || p.done == p.total {
                p.last_report = Instant::now();
                let secs = self.start.elapsed().as_secs_f64().max(1e-9);
                let rate = p.done as f64 / secs;
                let left = left.map(|s| format!(", about {s:.0} s left")).unwrap_or_default();
                eprintln!(
                    "sweep: {}/{} runs ({:.0}%), {rate:.1} runs/s{left}",
                    p.done,
                    p.total,
                    100.0 * p.done as f64 / p.total.max(1) as f64
                );
                p.next_report = p.done + step(p.total);
            }
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs between two plain reports: 5% of the total, at least one.
fn step(total: u64) -> u64 {
    (total / 20).max(1)
}

#[cfg(test)]
mod tests {
    use super::{time_left, Weights};

    #[test]
    fn time_left_weighs_runs_by_their_events_and_waits_until_it_can_tell() {
        // A first cell of 10 runs of 1,000 events took 20 s; 10 runs of 3,000 events remain:
        // 30,000 of 40,000 events left at 500 events/s is 60 s (runs per second would say 20).
        let w = Weights { done: 10_000.0, total: 40_000.0 };
        assert!((time_left(&w, 20.0).unwrap() - 60.0).abs() < 1e-9);
        // 5% done after 2 s: too young to tell; after 10 s it is told.
        let young = Weights { done: 5.0, total: 100.0 };
        assert_eq!(time_left(&young, 2.0), None);
        assert!((time_left(&young, 10.0).unwrap() - 190.0).abs() < 1e-9);
        assert_eq!(time_left(&Weights { done: 0.0, total: 1.0 }, 50.0), None);
    }
}
