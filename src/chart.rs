//! Charts of a sweep directory, as PNG and SVG under `DIR/charts/`: each key metric against
//! the first swept key (one line per policy with its 95% band), the latency CDF per policy
//! on a log axis, and, when `DIR/timeseries.csv` exists, one run's time series with fault
//! and spike spans shaded.
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
    if let Some(key) = plan.keys.first() {
        for metric in catalogue::key_charts() {
            let (metric, label) = (metric.name, metric.axis().title());
            let Some((series, x_categories)) = data::metric_series(&summary, plan, metric) else {
                continue;
            };
            let others =
                if plan.keys.len() > 1 { " (other swept keys at their first value)" } else { "" };
            let chart = draw::LineChart {
                title: format!("{}: {label} vs {key}", plan.scenario),
                subtitle: format!("mean and 95% interval over replications{others}"),
                x_label: axis_label(key),
                y_label: label,
                series,
                x_categories,
            };
            written.extend(save(&out, metric, &draw::Chart::Lines(chart))?);
        }
    }
    if let Ok(extra) = data::Table::read(&dir.join("runs_extra.csv")) {
        if let Some((cell, series)) = data::cdf_series(&extra, plan) {
            let at = if cell.is_empty() { String::new() } else { format!(" at {cell}") };
            let chart = draw::LineChart {
                title: format!("{}: latency distribution{at}", plan.scenario),
                subtitle: "percentiles 1 to 99.9, mean over replications".to_owned(),
                x_label: "latency (ms, log scale)".to_owned(),
                y_label: "share of jobs completed within".to_owned(),
                series,
                x_categories: None,
            };
            written.extend(save(&out, "latency_cdf", &draw::Chart::Cdf(chart))?);
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

/// A swept key as an axis name, with its unit when the key's name says it (a rate, a count
/// of replicas or slots, a probability); other keys are named as they are.
fn axis_label(key: &str) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    let unit = match last {
        "rate" => Some("per second"),
        "replicas" => Some("replicas"),
        "concurrency" => Some("slots per replica"),
        "loss" | "probability" | "reject" => Some("probability"),
        "factor" => Some("multiplier"),
        _ => None,
    };
    match unit {
        Some(unit) => format!("{key} ({unit})"),
        None => key.to_owned(),
    }
}

#[cfg(test)]
mod axis_tests {
    use super::axis_label;

    #[test]
    fn known_keys_get_their_unit() {
        assert_eq!(
            axis_label("classes.order.arrival.rate"),
            "classes.order.arrival.rate (per second)"
        );
        assert_eq!(axis_label("services.api.replicas"), "services.api.replicas (replicas)");
        assert_eq!(axis_label("seed"), "seed");
    }
}
