//! The command line's words: the parsers of flag values (counts that must be at least 1,
//! sizes, event counts, spans, `--set` and `--precision`), the limits and strictness every
//! scenario-reading verb shares (`Checks`), and the shard a process runs (`--shard`, from
//! the flag or a cluster scheduler's environment).

use super::BadInput;
use crate::catalogue;
use crate::scenario::{self, Override};
use crate::sweep::plan::Shard;

/// What a scenario must satisfy before it runs, beyond being valid.
#[derive(Debug, Clone, clap::Args)]
pub struct Checks {
    /// Refuse a scenario whose runs would need more memory than SIZE together (one run per
    /// worker thread at once), e.g. 16G [default: COORDSIM_MAX_MEMORY, or 8G].
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_memory: Option<f64>,
    /// Refuse a scenario whose run would take more than N events (estimated), e.g. 1e11
    /// [default: 1e10].
    #[arg(long, value_name = "N", value_parser = parse_events)]
    pub max_events: Option<f64>,
    /// Treat warnings (a fault or spike outside the measured span, a class that never
    /// arrives, a service nothing reaches) as errors.
    #[arg(long)]
    pub strict: bool,
}

impl Checks {
    /// The limits these flags (and the environment) set.
    pub(super) fn limits(&self) -> std::result::Result<scenario::Limits, BadInput> {
        let max_memory = match self.max_memory {
            Some(bytes) => bytes,
            None => match std::env::var("COORDSIM_MAX_MEMORY") {
                Ok(text) => scenario::parse_size(&text)
                    .map_err(|e| BadInput(format!("COORDSIM_MAX_MEMORY: {e}")))?,
                Err(_) => scenario::DEFAULT_MAX_MEMORY,
            },
        };
        Ok(scenario::Limits {
            max_memory,
            max_events: self.max_events.unwrap_or(scenario::DEFAULT_MAX_EVENTS),
        })
    }
}

pub(super) fn parse_size_arg(text: &str) -> std::result::Result<f64, String> {
    scenario::parse_size(text)
}

pub(super) fn parse_events(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 1.0 => Ok(n),
        _ => Err(format!("{text:?} is not a number of events >= 1 (for example 1e11)")),
    }
}

/// A count that must be at least 1 (`--jobs`, `--audit-limit`, `--trace-jobs`, ...).
pub(super) fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("expected at least 1 (0 would do nothing)".into()),
        Err(_) => Err(format!("{text:?} is not a whole number >= 1")),
    }
}

pub(super) fn at_least_one_u32(text: &str) -> std::result::Result<u32, String> {
    let n = at_least_one(text)?;
    u32::try_from(n).map_err(|_| format!("{text} is too large (at most {})", u32::MAX))
}

pub(super) fn at_least_one_u64(text: &str) -> std::result::Result<u64, String> {
    at_least_one(text).map(|n| n as u64)
}

pub(super) fn parse_precision(text: &str) -> std::result::Result<(String, f64), String> {
    let (metric, rel) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not METRIC=REL (for example latency_p99_ms=0.05)"))?;
    let rel: f64 = rel.parse().map_err(|_| format!("`{rel}` is not a number"))?;
    // The same checks, and words, as a `precision` key of a sweep file.
    scenario::check_precision("--precision", metric, rel, &catalogue::summarised_names())
        .map_err(|invalid| invalid.message)?;
    Ok((metric.to_owned(), rel))
}

pub(super) fn parse_span(text: &str) -> std::result::Result<(f64, f64), String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("expected START..END in seconds, found {text:?}"))?;
    let number = |t: &str| {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0 && *x <= 1e7)
            .ok_or_else(|| format!("{t:?} in {text:?} is not a number of seconds in [0, 1e7]"))
    };
    let (start, end) = (number(start)?, number(end)?);
    if start < end {
        Ok((start, end))
    } else {
        Err(format!("the trace window {text:?} is empty: START must be below END"))
    }
}

pub(super) fn parse_override(text: &str) -> std::result::Result<Override, String> {
    text.parse()
}

/// The shard to run: `K/N` (1-based K), or `auto` from the environment (`env` looks a
/// variable up): Slurm job arrays (SLURM_ARRAY_TASK_ID, normalised by
/// SLURM_ARRAY_TASK_MIN, and SLURM_ARRAY_TASK_COUNT) or Kubernetes Indexed Jobs
/// (JOB_COMPLETION_INDEX, 0-based, with `count` or COORDSIM_SHARD_COUNT).
pub(super) fn resolve_shard(
    arg: Option<&str>,
    count: Option<u32>,
    env: impl Fn(&str) -> Option<String>,
) -> std::result::Result<Option<Shard>, String> {
    let number = |name: &str, text: &str| {
        text.trim().parse::<u32>().map_err(|_| format!("{name}={text:?} is not a whole number"))
    };
    let Some(arg) = arg else { return Ok(None) };
    let (index, total) = if arg == "auto" {
        if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
            let id = number("SLURM_ARRAY_TASK_ID", &id)?;
            let min = match env("SLURM_ARRAY_TASK_MIN") {
                Some(m) => number("SLURM_ARRAY_TASK_MIN", &m)?,
                None => 0,
            };
            let total = env("SLURM_ARRAY_TASK_COUNT").ok_or(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not",
            )?;
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            (index, number("SLURM_ARRAY_TASK_COUNT", &total)?)
        } else if let Some(index) = env("JOB_COMPLETION_INDEX") {
            let total = match (count, env("COORDSIM_SHARD_COUNT")) {
                (Some(n), _) => n,
                (None, Some(n)) => number("COORDSIM_SHARD_COUNT", &n)?,
                (None, None) => {
                    return Err("--shard auto under JOB_COMPLETION_INDEX needs --shard-count or COORDSIM_SHARD_COUNT (the Job's completions)".into())
                }
            };
            (number("JOB_COMPLETION_INDEX", &index)?, total)
        } else {
            return Err(
                "--shard auto: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set".into(),
            );
        }
    } else {
        let (k, n) = arg
            .split_once('/')
            .ok_or_else(|| format!("--shard {arg:?}: expected K/N (for example 2/8) or auto"))?;
        let (k, n) = (number("K", k)?, number("N", n)?);
        if k == 0 || k > n {
            return Err(format!("--shard {arg}: expected 1 <= K <= N"));
        }
        (k - 1, n)
    };
    if total == 0 || index >= total {
        return Err(format!("shard index {index} (0-based) is not below the shard count {total}"));
    }
    Ok(Some(Shard { index, count: total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn shards_come_from_the_flag_or_the_scheduler() {
        let none = env(&[]);
        assert_eq!(resolve_shard(Some("2/8"), None, &none), Ok(Some(Shard { index: 1, count: 8 })));
        assert!(resolve_shard(Some("0/8"), None, &none).is_err());
        assert!(resolve_shard(Some("9/8"), None, &none).is_err());
        assert!(resolve_shard(Some("auto"), None, &none).is_err());
        assert_eq!(resolve_shard(None, None, &none), Ok(None));
        // Slurm arrays numbered 1..=4: task 1 is the first shard.
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            resolve_shard(Some("auto"), None, &slurm),
            Ok(Some(Shard { index: 0, count: 4 }))
        );
        // Kubernetes indices are 0-based; the count comes from the flag or the variable.
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3"), ("COORDSIM_SHARD_COUNT", "4")]);
        assert_eq!(resolve_shard(Some("auto"), None, &k8s), Ok(Some(Shard { index: 3, count: 4 })));
        assert!(resolve_shard(Some("auto"), Some(3), &k8s).is_err(), "index 3 of 3");
    }

    #[test]
    fn precision_flags_name_metric_columns() {
        assert_eq!(parse_precision("latency_p99_ms=0.05"), Ok(("latency_p99_ms".to_owned(), 0.05)));
        assert!(parse_precision("latency=0.05").unwrap_err().contains("not a metric column"));
        assert!(parse_precision("goodput_per_s=2").is_err());
    }
}
