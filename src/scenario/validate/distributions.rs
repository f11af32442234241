//! Duration distributions as written (`service_time`, `think`, network `latency`) ->
//! [`DurationDist`], and the samples file an `empirical` distribution names.
//!
//! The parameter checks themselves belong to the `DurationDist` constructors in `crate::dist`;
//! this file only hands them the values and puts the key path on the reason they give.

use std::path::Path;

use super::check::csv_column;
use super::Result;
use crate::dist::DurationDist;
use crate::scenario::raw::RawDist;
use crate::scenario::Invalid;

/// `base` is the directory a samples file is relative to.
pub(super) fn dist(field: &str, raw: &RawDist, base: &Path) -> Result<DurationDist> {
    let built = match raw {
        RawDist::Constant { value } => DurationDist::constant(value.0),
        RawDist::Exponential { mean } => DurationDist::exponential(mean.0),
        RawDist::Uniform { min, max } => DurationDist::uniform(min.0, max.0),
        RawDist::Lognormal { mean, cv } => DurationDist::lognormal(mean.0, *cv),
        RawDist::Pareto { scale, shape } => DurationDist::pareto(scale.0, *shape),
        RawDist::BoundedPareto { min, max, shape } => {
            DurationDist::bounded_pareto(min.0, max.0, *shape)
        }
        RawDist::Empirical { file, column } => {
            let values =
                read_column(&format!("{field}.file"), &base.join(file), column.as_deref())?;
            DurationDist::empirical(values)
        }
    };
    built.map_err(|why| Invalid::new(field, why))
}

/// The numbers (seconds) in one column of a CSV file with a header (default: the first).
fn read_column(field: &str, path: &Path, column: Option<&str>) -> Result<Vec<f64>> {
    let shown = path.display();
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| Invalid::new(field, format!("cannot read samples {shown}: {e}")))?;
    let headers =
        reader.headers().map_err(|e| Invalid::new(field, format!("{shown}: {e}")))?.clone();
    let at = match column {
        None => 0,
        Some(name) => csv_column(field, path, &headers, name)?,
    };
    let mut values = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Invalid::new(field, format!("{shown}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let text = record.get(at).unwrap_or("").trim();
        let value: f64 = text.parse().map_err(|_| {
            Invalid::new(field, format!("{shown}:{line}: `{text}` is not a number of seconds"))
        })?;
        values.push(value);
    }
    Ok(values)
}
