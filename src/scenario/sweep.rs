//! `RawSweep` -> [`Sweep`]: the `[sweep]` section checked and its grid expanded into values.
//!
//! Only the section's own shape is checked here (key paths, ranges, precision targets);
//! whether a grid value fits the key it sets is checked when the cell is validated as a
//! whole document, exactly like `--set`. Errors name the dotted key path under `sweep`.

use super::raw::RawSweep;
use super::{GridAxis, Invalid, Sweep};
use crate::catalogue;

type Result<T> = std::result::Result<T, Invalid>;

/// Most values one grid key may expand to, and most cells a grid may have.
const MAX_VALUES: usize = 10_000;
const MAX_CELLS: usize = 100_000;
/// Default cap on replications per cell when a precision target is set.
pub(super) const DEFAULT_MAX_REPLICATIONS: u32 = 50;

pub(super) fn sweep(raw: &RawSweep) -> Result<Sweep> {
    let mut grid = Vec::with_capacity(raw.grid.len());
    let mut cells: usize = 1;
    for (key, value) in &raw.grid {
        let field = format!("sweep.grid.\"{key}\"");
        check_key_path(&field, key)?;
        let values = axis_values(&field, value)?;
        cells = cells.saturating_mul(values.len());
        grid.push(GridAxis { key: key.clone(), values });
    }
    if cells > MAX_CELLS {
        return Err(Invalid::new(
            "sweep.grid",
            format!("expected at most {MAX_CELLS} cells, found {cells}"),
        ));
    }
    if let Some(0) = raw.replications {
        return Err(Invalid::new("sweep.replications", "expected at least 1, found 0"));
    }
    if let Some(policies) = &raw.policies {
        if policies.is_empty() {
            return Err(Invalid::new("sweep.policies", "expected at least one policy"));
        }
        for (i, p) in policies.iter().enumerate() {
            if policies[..i].contains(p) {
                return Err(Invalid::new(
                    format!("sweep.policies[{i}]"),
                    format!("`{}` is listed twice", p.name()),
                ));
            }
        }
    }
    let metrics = catalogue::summarised_names();
    let mut precision = Vec::with_capacity(raw.precision.len());
    for (metric, &rel) in &raw.precision {
        let field = format!("sweep.precision.{metric}");
        check_precision(&field, metric, rel, &metrics)?;
        precision.push((metric.clone(), rel));
    }
    let initial = raw.replications.unwrap_or(1);
    if let Some(max) = raw.max_replications {
        if max < initial.max(2) {
            return Err(Invalid::new(
                "sweep.max_replications",
                format!("expected at least the initial replications and 2, found {max}"),
            ));
        }
    }
    Ok(Sweep {
        grid,
        policies: raw.policies.clone(),
        replications: raw.replications,
        reference: raw.reference,
        precision,
        max_replications: raw.max_replications,
    })
}

/// Checks one precision target: a metric column of `runs.csv` that `summary.csv` gives an
/// interval for, and a relative half-width in (0, 1].
pub(crate) fn check_precision(field: &str, metric: &str, rel: f64, metrics: &[&str]) -> Result<()> {
    if !metrics.contains(&metric) {
        let hint = super::closest(metric, metrics.iter().copied())
            .map(|m| format!("; did you mean `{m}`?"))
            .unwrap_or_default();
        return Err(Invalid::new(
            field,
            format!("`{metric}` is not a metric column of runs.csv{hint}"),
        ));
    }
    if !(rel > 0.0 && rel <= 1.0) {
        return Err(Invalid::new(
            field,
            format!("expected a relative half-width in (0, 1], found {rel}"),
        ));
    }
    Ok(())
}

fn check_key_path(field: &str, key: &str) -> Result<()> {
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(Invalid::new(
            field,
            "expected a dotted key path such as \"classes.web.arrival.rate\"",
        ));
    }
    let first = key.split('.').next().unwrap_or_default();
    if matches!(first, "sweep" | "policies") {
        return Err(Invalid::new(
            field,
            format!("`{first}` cannot be swept (list policies in sweep.policies)"),
        ));
    }
    Ok(())
}

/// An array of values as given, or a range table `{ from, to, step }` / `{ from, to, count }`.
fn axis_values(field: &str, value: &toml::Value) -> Result<Vec<toml::Value>> {
    match value {
        toml::Value::Array(values) if values.is_empty() => {
            Err(Invalid::new(field, "expected at least one value"))
        }
        toml::Value::Array(values) if values.len() > MAX_VALUES => Err(Invalid::new(
            field,
            format!("expected at most {MAX_VALUES} values, found {}", values.len()),
        )),
        toml::Value::Array(values) => Ok(values.clone()),
        toml::Value::Table(range) => range_values(field, range),
        other => Err(Invalid::new(
            field,
            format!(
                "expected an array of values or a range {{ from, to, step }} or {{ from, to, count }}, found a value of type {}",
                other.type_str()
            ),
        )),
    }
}

fn number(field: &str, range: &toml::Table, key: &str) -> Result<Option<toml::Value>> {
    match range.get(key) {
        None => Ok(None),
        Some(v @ (toml::Value::Integer(_) | toml::Value::Float(_))) => Ok(Some(v.clone())),
        Some(other) => Err(Invalid::new(
            format!("{field}.{key}"),
            format!("expected a number, found a value of type {}", other.type_str()),
        )),
    }
}

fn as_f64(value: &toml::Value) -> f64 {
    match value {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        _ => unreachable!("`number` only returns integers and floats"),
    }
}

/// Rounds away the binary noise of `from + i * step` (0.30000000000000004 -> 0.3), so cell
/// labels read as the user wrote them.
fn tidy(value: f64) -> f64 {
    if value.abs() < 1e6 {
        (value * 1e12).round() / 1e12
    } else {
        value
    }
}

fn range_values(field: &str, range: &toml::Table) -> Result<Vec<toml::Value>> {
    if let Some(key) =
        range.keys().find(|k| !matches!(k.as_str(), "from" | "to" | "step" | "count"))
    {
        return Err(Invalid::new(
            format!("{field}.{key}"),
            "unknown key in a range, expected `from`, `to` and `step` or `count`",
        ));
    }
    let from = number(field, range, "from")?
        .ok_or_else(|| Invalid::new(format!("{field}.from"), "a range needs `from`"))?;
    let to = number(field, range, "to")?
        .ok_or_else(|| Invalid::new(format!("{field}.to"), "a range needs `to`"))?;
    let (lo, hi) = (as_f64(&from), as_f64(&to));
    if !(lo.is_finite() && hi.is_finite() && hi >= lo) {
        return Err(Invalid::new(
            format!("{field}.to"),
            format!("expected a finite `to` at least `from` ({lo}), found {hi}"),
        ));
    }
    let integers = matches!((&from, &to), (toml::Value::Integer(_), toml::Value::Integer(_)));
    let step = number(field, range, "step")?;
    let values: Vec<f64> = match (step, range.get("count")) {
        (Some(step), None) => {
            let s = as_f64(&step);
            if !(s.is_finite() && s > 0.0) {
                return Err(Invalid::new(
                    format!("{field}.step"),
                    format!("expected a step > 0, found {s}"),
                ));
            }
            // The small slack keeps `to` when rounding puts it a hair past the last step.
            let n = ((hi - lo) / s + 1e-9).floor() + 1.0;
            if n > MAX_VALUES as f64 {
                return Err(Invalid::new(
                    field,
                    format!("expected at most {MAX_VALUES} values, found {n}"),
                ));
            }
            let all_integers = integers && matches!(step, toml::Value::Integer(_));
            let values = (0..n as usize).map(|i| tidy(lo + i as f64 * s)).collect();
            if all_integers {
                return Ok(to_integers(values));
            }
            values
        }
        (None, Some(count)) => {
            let n = match count {
                toml::Value::Integer(n) if (1..=MAX_VALUES as i64).contains(n) => *n as usize,
                other => {
                    return Err(Invalid::new(
                        format!("{field}.count"),
                        format!("expected an integer in [1, {MAX_VALUES}], found {other}"),
                    ))
                }
            };
            if n == 1 {
                vec![lo]
            } else {
                let values: Vec<f64> =
                    (0..n).map(|i| tidy(lo + (hi - lo) * i as f64 / (n - 1) as f64)).collect();
                if integers && values.iter().all(|v| v.fract() == 0.0) {
                    return Ok(to_integers(values));
                }
                values
            }
        }
        _ => return Err(Invalid::new(field, "a range needs exactly one of `step` and `count`")),
    };
    Ok(values.into_iter().map(toml::Value::Float).collect())
}

fn to_integers(values: Vec<f64>) -> Vec<toml::Value> {
    values.into_iter().map(|v| toml::Value::Integer(v as i64)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(text: &str) -> Result<Vec<toml::Value>> {
        let doc: toml::Table = format!("v = {text}").parse().unwrap();
        axis_values("sweep.grid.\"k\"", &doc["v"])
    }

    fn floats(values: &[toml::Value]) -> Vec<f64> {
        values.iter().map(as_f64).collect()
    }

    #[test]
    fn ranges_expand_by_step_and_by_count() {
        assert_eq!(
            axis("{ from = 2, to = 8, step = 2 }").unwrap(),
            [2, 4, 6, 8].map(toml::Value::Integer).to_vec()
        );
        // 0.1 steps land exactly on the written decimals, and `to` is kept.
        assert_eq!(
            floats(&axis("{ from = 0.1, to = 0.5, step = 0.1 }").unwrap()),
            [0.1, 0.2, 0.3, 0.4, 0.5]
        );
        assert_eq!(
            floats(&axis("{ from = 0, to = 1, count = 5 }").unwrap()),
            [0.0, 0.25, 0.5, 0.75, 1.0]
        );
        assert_eq!(
            axis("{ from = 10, to = 40, count = 4 }").unwrap(),
            [10, 20, 30, 40].map(toml::Value::Integer).to_vec()
        );
        assert_eq!(axis("[\"a\", 3]").unwrap().len(), 2);
    }

    #[test]
    fn bad_axes_name_the_key() {
        let msg = |t: &str| axis(t).unwrap_err().to_string();
        assert!(msg("[]").contains("at least one value"));
        assert!(msg("{ from = 3, to = 1, step = 1 }").contains("sweep.grid.\"k\".to"));
        assert!(msg("{ from = 0, to = 1, step = 0 }").contains("step > 0"));
        assert!(msg("{ from = 0, to = 1 }").contains("exactly one of `step` and `count`"));
        assert!(msg("{ from = 0, to = 1, stp = 1 }").contains("sweep.grid.\"k\".stp"));
        assert!(msg("5").contains("found a value of type integer"));
    }

    #[test]
    fn precision_targets_are_metric_columns() {
        let metrics = catalogue::summarised_names();
        assert!(check_precision("f", "latency_p99_ms", 0.05, &metrics).is_ok());
        let err = check_precision("f", "latency_p99", 0.05, &metrics).unwrap_err();
        assert!(err.message.contains("did you mean `latency_p99_ms`"), "{err}");
        assert!(check_precision("f", "fingerprint", 0.05, &metrics).is_err());
        assert!(check_precision("f", "goodput_per_s", 0.0, &metrics).is_err());
    }
}
