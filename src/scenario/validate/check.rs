//! The checks every section shares: one value against its range (counts, numbers, rates,
//! probabilities, durations), one name against the names it may refer to, one column against
//! a CSV header. Each returns the value or an [`Invalid`] that names the key path given and
//! says what was expected and what was found.
//!
//! Only the wording of an error is decided here; which key is checked, against what, and in
//! which order is the section's business. The clock bounds durations: nothing above 1e7 s, so
//! nanosecond arithmetic stays far from overflow.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::Path;

use super::Result;
use crate::scenario::{closest, Invalid};
use crate::time::SimDuration;

/// Each key of `map` with the id its item gets: its position in the map's (sorted) order.
pub(super) fn ids_by_name<V, T>(
    map: &BTreeMap<String, V>,
    id: impl Fn(usize) -> T,
) -> BTreeMap<&str, T> {
    map.keys().enumerate().map(|(i, name)| (name.as_str(), id(i))).collect()
}

/// The id `name` refers to, or an error listing the `what`s that exist.
pub(super) fn lookup<T: Copy>(
    field: &str,
    what: &str,
    name: &str,
    known: &BTreeMap<&str, T>,
) -> Result<T> {
    known
        .get(name)
        .copied()
        .ok_or_else(|| unknown_reference(field, what, name, known.keys().copied()))
}

/// "unknown service `x`; known: `a`, `b`", with the closest known name if one is close.
pub(super) fn unknown_reference<'a>(
    field: &str,
    what: &str,
    got: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Invalid {
    let list = backticked(known.clone());
    let hint = closest(got, known).map(|k| format!("; did you mean `{k}`?")).unwrap_or_default();
    Invalid::new(field, format!("unknown {what} `{got}`; known: {list}{hint}"))
}

/// The names as a list for an error: "`a`, `b`, `c`".
pub(super) fn backticked<T: Display>(names: impl IntoIterator<Item = T>) -> String {
    names.into_iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

/// The position of column `name` in the header of the CSV file at `path`.
pub(super) fn csv_column(
    field: &str,
    path: &Path,
    headers: &csv::StringRecord,
    name: &str,
) -> Result<usize> {
    headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
        let known: Vec<&str> = headers.iter().collect();
        Invalid::new(
            field,
            format!(
                "{}: no column `{name}` in the header (columns: {})",
                path.display(),
                known.join(", ")
            ),
        )
    })
}

pub(super) fn check_name(field: &str, name: &str) -> Result<String> {
    let ok =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Invalid::new(
            field,
            format!("expected a name of letters, digits, `_` or `-`, found {name:?}"),
        ))
    }
}

pub(super) fn at_least_one(field: &str, value: u32) -> Result<u32> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected an integer >= 1, found {value}")))
    }
}

pub(super) fn at_most(field: &str, value: u32, max: u32) -> Result<u32> {
    if value <= max {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected at most {max}, found {value}")))
    }
}

/// A limit on how many of something (`what`, plural) there may be.
pub(super) fn count_at_most(field: &str, count: usize, max: usize, what: &str) -> Result<()> {
    if count <= max {
        Ok(())
    } else {
        Err(Invalid::new(field, format!("expected at most {max} {what}, found {count}")))
    }
}

pub(super) fn positive_finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a finite number > 0, found {value}")))
    }
}

pub(super) fn non_negative_finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a finite number >= 0, found {value}")))
    }
}

/// Arrival rates above 10^9 per second would make the mean gap shorter than the clock's
/// nanosecond resolution, so gaps would round to zero and time would stop advancing.
pub(super) fn rate_per_second(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 && value <= 1e9 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a rate in (0, 1e9] per second, found {value}")))
    }
}

pub(super) fn positive_probability(field: &str, value: f64) -> Result<f64> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a probability in (0, 1], found {value}")))
    }
}

pub(super) fn probability(field: &str, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a probability in [0, 1], found {value}")))
    }
}

pub(super) fn positive_seconds(field: &str, secs: f64) -> Result<SimDuration> {
    let d = non_negative_seconds(field, secs)?;
    if d > SimDuration::ZERO {
        Ok(d)
    } else {
        Err(Invalid::new(field, format!("expected a duration > 0, found {secs} s")))
    }
}

pub(super) fn non_negative_seconds(field: &str, secs: f64) -> Result<SimDuration> {
    // 1e7 s (about 116 days) keeps nanosecond arithmetic far from overflow.
    if secs.is_finite() && (0.0..=1e7).contains(&secs) {
        Ok(SimDuration::from_secs_f64(secs))
    } else {
        Err(Invalid::new(field, format!("expected a duration in [0, 1e7] s, found {secs} s")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The helpers that replaced several hand-written copies word for word.
    #[test]
    fn shared_messages_read_as_the_copies_they_replaced() {
        let err = count_at_most("classes", 60_001, 60_000, "classes").unwrap_err();
        assert_eq!(err.message, "expected at most 60000 classes, found 60001");
        assert!(count_at_most("network.groups", 64, 64, "groups").is_ok());
        assert_eq!(backticked(["a", "b"]), "`a`, `b`");
        assert_eq!(backticked(Vec::<String>::new()), "");
        let known: BTreeMap<&str, u32> = [("api", 0), ("db", 1)].into();
        let err = lookup("f", "service", "apj", &known).unwrap_err();
        assert_eq!(err.message, "unknown service `apj`; known: `api`, `db`; did you mean `api`?");
        let headers = csv::StringRecord::from(vec!["time", " class "]);
        assert_eq!(csv_column("f", Path::new("t.csv"), &headers, "class").unwrap(), 1);
        let err = csv_column("f", Path::new("t.csv"), &headers, "when").unwrap_err();
        assert_eq!(err.message, "t.csv: no column `when` in the header (columns: time,  class )");
    }
}
