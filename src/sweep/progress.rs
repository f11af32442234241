//! Progress of a sweep on stderr: a bar (runs done, runs per second, time left) when stderr
//! is a terminal, plain lines every 5% (at most one a second) otherwise, nothing at all when asked for quiet.
//! Never stdout, so piping a sweep's table stays clean.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counts finished runs; shared by the worker threads.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: Option<Mutex<Plain>>,
}

#[derive(Debug)]
struct Plain {
    done: u64,
    total: u64,
    next_report: u64,
    start: Instant,
    last_report: Instant,
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere, or nothing when `quiet`.
    pub fn new(total: u64, quiet: bool) -> Self {
        if quiet {
            return Progress { bar: None, plain: None };
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} runs  {per_sec:.1}  {elapsed} elapsed, {eta} left",
                )
                .expect("the template is valid"),
            );
            return Progress { bar: Some(bar), plain: None };
        }
        let now = Instant::now();
        let plain =
            Plain { done: 0, total, next_report: step(total), start: now, last_report: now };
        Progress { bar: None, plain: Some(Mutex::new(plain)) }
    }

    /// More runs joined the plan (a precision target asked for replications).
    pub fn add_total(&self, more: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(more);
        }
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock is never poisoned");
            p.total += more;
        }
    }

    /// One run finished.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        if let Some(plain) = &self.plain {
            let mut p = plain.lock().expect("progress lock is never poisoned");
            p.done += 1;
            // Every 5% but at most once a second, and always the last run.
            let due = p.done >= p.next_report && p.last_report.elapsed().as_secs_f64() >= 1.0;
            if due || p.done == p.total {
                p.last_report = Instant::now();
                let secs = p.start.elapsed().as_secs_f64().max(1e-9);
                let rate = p.done as f64 / secs;
                let left = p.total.saturating_sub(p.done) as f64 / rate.max(1e-9);
                eprintln!(
                    "sweep: {}/{} runs ({:.0}%), {rate:.1} runs/s, about {left:.0} s left",
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
