//! Charts of a sweep directory, as PNG and SVG under `DIR/charts/`: each key metric against
//! the first swept key (one line per policy with its 95% band), the latency CDF per policy
//! on a log axis, when the cost differs between cells the cost-latency trade-off
//! (`cost_latency`: p99 latency against replica-seconds, one point per cell and policy),
//! and, when `DIR/timeseries.csv` exists, one run's time series with fault and spike spans
//! shaded (and a panel of replicas per service when agents changed them).
//!
//! Swept values that are not numbers are named in words: a list of agents
//! `["hpa_tuned", "bandit"]` as "hpa_tuned+bandit", `[]` as "none" ([`value_words`]).
//!
//! Which metrics get a chart, and what their axes are called, comes from [`catalogue`]; a
//! swept key is titled in words (`classes.order.arrival.rate` as "order arrival rate
//! (jobs/s)"). A metric the catalogue says may span orders of magnitude is drawn on a log
//! scale when its means do (all positive, the largest more than 30 times the smallest),
//! and its axis title says so. Policies differ in colour, dash and marker, and the legend
//! stands right of the data.
//!
//! Charts read only result files (`manifest.json`, `summary.csv`, `runs_extra.csv`,
//! `timeseries.csv`) and never run simulations. Text is drawn with DejaVu Sans, embedded in
//! the binary, so no system font is needed. Images are rendered in memory and written
//! through `report::write_atomic`.

mod data;
mod draw;

use std::path::{Path, PathBuf};

use crate::catalogue;
use crate::report::{self, ReportError};
use crate::sweep::manifest::Manifest;
use crate::sweep::store::StoreError;

/// Pixel size of every chart.
const SIZE: (u32, u32) = (960, 600);

/// A metric that may span orders of magnitude is drawn on a log scale when its largest mean
/// is more than this many times its smallest (all of them positive).
const LOG_FACTOR: f64 = 30.0;

/// A chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A result file could not be read.
    #[error(transparent)]
    Read(#[from] StoreError),
    /// A chart could not be written.
    #[error(transparent)]
    Write(#[from] ReportError),
    /// Drawing failed.
    #[error("drawing {name}: {message}")]
    Draw {
        /// The chart.
        name: String,
        /// What the drawing library said.
        message: String,
    },
}

/// Draws every chart the files in `dir` allow; returns the files written.
///
/// # Errors
/// A missing manifest or summary, or a file that cannot be written.
pub fn plot_dir(dir: &Path) -> Result<Vec<PathBuf>, ChartError> {
    draw::register_font();
    let manifest = Manifest::read(dir)?;
    let plan = &manifest.plan;
    let summary = data::Table::read(&dir.join("summary.csv"))?;
    let mut written = Vec::new();
    let out = dir.join("charts");
    // Jobs are called after the scenario's class when it has one ("orders/s").
    let class = match plan.classes.as_slice() {
        [one] => Some(one.name.as_str()),
        _ => None,
    };
    let of_class = |axis: catalogue::Axis| match class {
        Some(name) => axis.of_class(name),
        None => axis,
    };
    let jobs = class.map_or_else(|| "jobs".to_owned(), catalogue::plural);
    let failed = data::metric_series(&summary, plan, "failed_ratio").map(|(series, _)| series);
    if let Some(key) = plan.keys.first() {
        let swept = catalogue::swept_key(key);
        let others =
            if plan.keys.len() > 1 { " (other swept keys at their first value)" } else { "" };
        for metric in catalogue::key_charts() {
            let Some((mut series, x_categories)) = data::metric_series(&summary, plan, metric.name)
            else {
                continue;
            };
            // Latency figures count completed jobs only: points of a policy that failed
            // many are ringed, and a deadline (which caps them) is marked.
            let latency = metric.unit == "ms" && metric.name.starts_with("latency_");
            if let (true, Some(failed)) = (latency, &failed) {
                data::flag_failures(&mut series, failed, FAILED_FLAG);
            }
            // The cost is the same everywhere when nothing changes the replicas (no control
            // agents): a flat line would only look like a finding.
            if matches!(metric.name, "replica_seconds" | "cost") && data::is_constant(&series) {
                continue;
            }
            // A log scale where the metric may span orders of magnitude and, in the values
            // drawn, does.
            let factor =
                data::mean_factor(&series).filter(|f| metric.spans_decades && *f > LOG_FACTOR);
            let y_label = of_class(metric.axis()).title_noting(factor.map(|_| "log scale"));
            let mut log_note = factor
                .map(|f| format!("; log scale, as the means span a factor of {f:.0}"))
                .unwrap_or_default();
            let mut y_marks = Vec::new();
            if latency {
                let top = series
                    .iter()
                    .flat_map(|s| s.points.iter().flat_map(|p| [p.y, p.hi]))
                    .filter(|v| v.is_finite())
                    .fold(0.0f64, f64::max);
                for (mark, deadline_ms) in deadline_marks(plan) {
                    if top >= deadline_ms / DEADLINE_REACH {
                        y_marks.push(mark);
                    } else {
                        log_note += &format!("; {} above the axis", mark.label);
                    }
                }
            }
            let chart = draw::LineChart {
                title: format!("{}: {} vs {}", plan.scenario, metric.quantity, swept.quantity),
                subtitle: format!(
                    "mean and 95% interval over replications{others}\n\
                     policies drawn {} px apart, so that equal values stay visible{log_note}",
                    draw::DODGE_PX
                ),
                x_label: swept.title(),
                y_label,
                series,
                x_categories,
                x_log: false,
                y_log: factor.is_some(),
                y_range: None,
                dodge: true,
                sparse_markers: false,
                x_marks: Vec::new(),
                y_marks,
                flag_note: Some(format!(
                    "ringed: more than\n{:.0}% of the {jobs}\nfailed (see the\nfailed share chart)",
                    FAILED_FLAG * 100.0
                )),
            };
            written.extend(save(&out, metric.name, &draw::Chart::Lines(chart))?);
        }
    }
    if let Some(chart) = cost_latency(&summary, plan) {
        written.extend(save(&out, "cost_latency", &draw::Chart::Scatter(chart))?);
    }
    if let Ok(cdf) = data::Table::read(&dir.join("latency_cdf.csv")) {
        if let Some((cell, series)) = data::cdf_series(&cdf, plan) {
            let at =
                if cell.is_empty() { String::new() } else { format!(" at {}", cell_words(&cell)) };
            let latency = catalogue::Axis { quantity: "latency".to_owned(), unit: "ms".into() };
            let longest =
                series.iter().filter_map(|s| s.points.last().map(|p| p.x)).fold(0.0f64, f64::max);
            let x_marks = deadline_marks(plan)
                .into_iter()
                .filter(|(_, ms)| *ms <= longest * DEADLINE_REACH)
                .map(|(mark, _)| mark)
                .collect();
            let chart = draw::LineChart {
                title: format!("{}: latency distribution{at}", plan.scenario),
                subtitle: format!(
                    "share of all {jobs} that arrived after the warm-up, pooled over replications:\n\
                     a curve ends below 1 by the {jobs} that failed or never finished"
                ),
                x_label: latency.title_noting(Some("log scale")),
                y_label: format!("share of {jobs} completed within"),
                series,
                x_categories: None,
                x_log: true,
                y_log: false,
                y_range: Some((0.0, 1.0)),
                dodge: false,
                sparse_markers: true,
                x_marks,
                y_marks: Vec::new(),
                flag_note: None,
            };
            written.extend(save(&out, "latency_cdf", &draw::Chart::Lines(chart))?);
        }
    }
    let timeseries = dir.join("timeseries.csv");
    if timeseries.exists() {
        if let Ok(table) = data::Table::read(&timeseries) {
            if let Some(ts) = data::time_series(&table) {
                written.extend(save(&out, "timeseries", &draw::Chart::Series(ts))?);
            }
        }
    }
    Ok(written)
}

/// A latency point of a policy that failed more than this share of its jobs is ringed.
const FAILED_FLAG: f64 = 0.01;

/// A deadline is marked on a latency axis when the largest value drawn is at least this
/// many times smaller than it (or on a CDF, the longest latency drawn); further off, it
/// would squash the data.
const DEADLINE_REACH: f64 = 4.0;

/// Each class deadline of the plan as a mark in ms ("order deadline 2 s"), with its value.
fn deadline_marks(plan: &crate::sweep::plan::PlanInfo) -> Vec<(draw::Mark, f64)> {
    plan.classes
        .iter()
        .filter_map(|class| {
            let s = class.deadline_s?;
            let ms = s * 1e3;
            let words =
                if s >= 1.0 { format!("{} s", trimmed(s)) } else { format!("{} ms", trimmed(ms)) };
            Some((draw::Mark { at: ms, label: format!("{} deadline {words}", class.name) }, ms))
        })
        .collect()
}

/// A number with at most three decimals and no trailing zeros: 2 -> "2", 0.25 -> "0.25".
fn trimmed(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The cost-latency trade-off: p99 latency against the priced cost (or replica-seconds,
/// where no price is set), one point per cell and policy; `None` unless the cost differs
/// between cells.
fn cost_latency(
    summary: &data::Table,
    plan: &crate::sweep::plan::PlanInfo,
) -> Option<draw::ScatterChart> {
    let (_, latency) = catalogue::metric("latency_p99_ms")?;
    // The priced cost where prices are set (it then differs between cells), else the
    // replica-seconds.
    let (cost, series) = ["cost", "replica_seconds"].iter().find_map(|name| {
        let (_, cost) = catalogue::metric(name)?;
        Some((cost, data::trade_off(summary, plan, cost.name, latency.name)?))
    })?;
    // Log scales as on the other charts: where the catalogue allows it and the means span
    // more than a factor of LOG_FACTOR.
    let log = |metric: &catalogue::Metric, mean: fn(&draw::TradeOffPoint) -> f64| {
        let means = series.iter().flat_map(|s| s.points.iter().map(mean));
        data::factor(means).filter(|f| metric.spans_decades && *f > LOG_FACTOR)
    };
    let x_factor = log(cost, |p| p.x.mean);
    let y_factor = log(latency, |p| p.y.mean);
    let mut notes = String::new();
    for (axis, factor) in [("x", x_factor), ("y", y_factor)] {
        if let Some(f) = factor {
            notes += &format!("; log scale on {axis}, as the means span a factor of {f:.0}");
        }
    }
    let keys: Vec<String> = plan.keys.iter().map(|k| catalogue::swept_key(k).quantity).collect();
    Some(draw::ScatterChart {
        title: format!("{}: {} vs {}", plan.scenario, latency.quantity, cost.quantity),
        subtitle: format!(
            "mean and 95% interval over replications, one point per cell and policy\n\
             points labelled by {}{notes}",
            keys.join(", ")
        ),
        x_label: cost.axis().title_noting(x_factor.map(|_| "log scale")),
        y_label: latency.axis().title_noting(y_factor.map(|_| "log scale")),
        series,
        x_log: x_factor.is_some(),
        y_log: y_factor.is_some(),
    })
}

/// Renders `draw` to `<name>.png` and `<name>.svg` in `dir`.
fn save(dir: &Path, name: &str, chart: &draw::Chart) -> Result<Vec<PathBuf>, ChartError> {
    let failed = |message: String| ChartError::Draw { name: name.to_owned(), message };
    let (png, svg) = draw::render(SIZE, chart).map_err(failed)?;
    let png_path = dir.join(format!("{name}.png"));
    let svg_path = dir.join(format!("{name}.svg"));
    report::write_atomic(&png_path, &png)?;
    report::write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

/// A cell label (`key=value` joined by `;`) in words: "order arrival rate = 350 orders/s".
pub(crate) fn cell_words(label: &str) -> String {
    label
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((key, value)) => {
                let axis = catalogue::swept_key(key);
                let unit =
                    if axis.unit.is_empty() { String::new() } else { format!(" {}", axis.unit) };
                format!("{} = {}{unit}", axis.quantity, value_words(value))
            }
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A swept value as a label says it: a list by its items joined with `+`
/// (`["hpa_tuned", "bandit"]` is "hpa_tuned+bandit", `[]` is "none"), a table by its
/// `key=value` pairs; any other value (a number, a duration, a name) as written.
pub(crate) fn value_words(value: &str) -> String {
    let trimmed = value.trim();
    if !(trimmed.starts_with('[') || trimmed.starts_with('{')) {
        return value.to_owned();
    }
    match format!("v = {trimmed}").parse::<toml::Table>() {
        Ok(table) => table.get("v").map_or_else(|| value.to_owned(), toml_words),
        Err(_) => value.to_owned(),
    }
}

fn toml_words(value: &toml::Value) -> String {
    // An item that is itself a list or a table is bracketed, so that its parts stay together.
    let item = |v: &toml::Value| match v {
        toml::Value::Array(a) if !a.is_empty() => format!("({})", toml_words(v)),
        toml::Value::Table(t) if !t.is_empty() => format!("({})", toml_words(v)),
        _ => toml_words(v),
    };
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) if items.is_empty() => "none".to_owned(),
        toml::Value::Array(items) => items.iter().map(item).collect::<Vec<_>>().join("+"),
        toml::Value::Table(table) if table.is_empty() => "none".to_owned(),
        toml::Value::Table(table) => {
            table.iter().map(|(k, v)| format!("{k}={}", item(v))).collect::<Vec<_>>().join(" ")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{cell_words, value_words};

    #[test]
    fn cells_read_as_words() {
        assert_eq!(
            cell_words("classes.order.arrival.rate=350"),
            "order arrival rate = 350 orders/s"
        );
        assert_eq!(
            cell_words("services.api.replicas=4;classes.upload.arrival.rate=200"),
            "api replicas = 4, upload arrival rate = 200 uploads/s"
        );
        assert_eq!(cell_words(""), "");
        assert_eq!(
            cell_words(r#"control.active=["hpa_tuned", "bandit"]"#),
            "control active = hpa_tuned+bandit"
        );
    }

    #[test]
    fn swept_values_read_compactly() {
        assert_eq!(value_words("[]"), "none");
        assert_eq!(value_words(r#"["hpa"]"#), "hpa");
        assert_eq!(value_words(r#"["hpa_tuned", "bandit"]"#), "hpa_tuned+bandit");
        assert_eq!(value_words(r#"[["a", "b"], "c"]"#), "(a+b)+c");
        assert_eq!(value_words("[1, 2.5]"), "1+2.5");
        assert_eq!(
            value_words(r#"{ dist = "exponential", mean = "10ms" }"#),
            "dist=exponential mean=10ms"
        );
        // Values that are not lists or tables stay as written (no `1e3` read as 1000).
        for text in ["350", "1e3", "200ms", "power_of_d", "true", "[unclosed"] {
            assert_eq!(value_words(text), text);
        }
    }
}
