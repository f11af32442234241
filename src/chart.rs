//! Charts of a sweep directory, as PNG and SVG under `DIR/charts/`: each key metric against
//! the first swept key (one line per policy with its 95% band), the latency CDF per policy
//! on a log axis, and, when `DIR/timeseries.csv` exists, one run's time series with fault
//! and spike spans shaded.
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
    if let Some(key) = plan.keys.first() {
        let swept = catalogue::swept_key(key);
        let others =
            if plan.keys.len() > 1 { " (other swept keys at their first value)" } else { "" };
        for metric in catalogue::key_charts() {
            let Some((series, x_categories)) = data::metric_series(&summary, plan, metric.name)
            else {
                continue;
            };
            // A log scale where the metric may span orders of magnitude and, in the values
            // drawn, does.
            let factor =
                data::mean_factor(&series).filter(|f| metric.spans_decades && *f > LOG_FACTOR);
            let y_label = metric.axis().title_noting(factor.map(|_| "log scale"));
            let log_note = factor
                .map(|f| format!("; log scale, as the means span a factor of {f:.0}"))
                .unwrap_or_default();
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
            };
            written.extend(save(&out, metric.name, &draw::Chart::Lines(chart))?);
        }
    }
    if let Ok(extra) = data::Table::read(&dir.join("runs_extra.csv")) {
        if let Some((cell, series)) = data::cdf_series(&extra, plan) {
            let at =
                if cell.is_empty() { String::new() } else { format!(" at {}", cell_words(&cell)) };
            let latency = catalogue::Axis { quantity: "latency".to_owned(), unit: "ms" };
            let chart = draw::LineChart {
                title: format!("{}: latency distribution{at}", plan.scenario),
                subtitle: "percentiles 1 to 99.9, mean over replications".to_owned(),
                x_label: latency.title_noting(Some("log scale")),
                y_label: "share of jobs completed within".to_owned(),
                series,
                x_categories: None,
                x_log: true,
                y_log: false,
                y_range: Some((0.0, 1.0)),
                dodge: false,
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

/// A cell label (`key=value` joined by `;`) in words: "order arrival rate = 350 jobs/s".
pub(crate) fn cell_words(label: &str) -> String {
    label
        .split(';')
        .map(|part| match part.split_once('=') {
            Some((key, value)) => {
                let axis = catalogue::swept_key(key);
                let unit =
                    if axis.unit.is_empty() { String::new() } else { format!(" {}", axis.unit) };
                format!("{} = {value}{unit}", axis.quantity)
            }
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::cell_words;

    #[test]
    fn cells_read_as_words() {
        assert_eq!(cell_words("classes.order.arrival.rate=350"), "order arrival rate = 350 jobs/s");
        assert_eq!(
            cell_words("services.api.replicas=4;classes.web.arrival.rate=200"),
            "api replicas = 4, web arrival rate = 200 jobs/s"
        );
        assert_eq!(cell_words(""), "");
    }
}
