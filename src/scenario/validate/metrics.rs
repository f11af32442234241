//! `[metrics]` -> [`MetricsSettings`]: the window of the time series and of the cascade
//! figures, the error ratio that makes a window impaired, the grace after a fault, and the
//! windows a service must meet its SLO in to count as recovered.
//! Every key is optional; a missing table or key takes `MetricsSettings::default()`.

use super::check::{at_least_one, non_negative_seconds, positive_seconds};
use super::Result;
use crate::scenario::raw::RawMetrics;
use crate::scenario::{Invalid, MetricsSettings};

pub(super) fn metrics(raw: Option<&RawMetrics>) -> Result<MetricsSettings> {
    let defaults = MetricsSettings::default();
    let Some(raw) = raw else { return Ok(defaults) };
    let window = match raw.window {
        Some(w) => positive_seconds("metrics.window", w.0)?,
        None => defaults.window,
    };
    let impaired_error_ratio = match raw.impaired_error_ratio {
        Some(r) if (0.0..1.0).contains(&r) => r,
        Some(r) => {
            return Err(Invalid::new(
                "metrics.impaired_error_ratio",
                format!("expected a share in [0, 1), found {r}"),
            ))
        }
        None => defaults.impaired_error_ratio,
    };
    let grace = match raw.grace {
        Some(g) => non_negative_seconds("metrics.grace", g.0)?,
        None => defaults.grace,
    };
    let recovery_windows = at_least_one(
        "metrics.recovery_windows",
        raw.recovery_windows.unwrap_or(defaults.recovery_windows),
    )?;
    Ok(MetricsSettings { window, impaired_error_ratio, grace, recovery_windows })
}
