//! The checks every section shares: one value against its range (counts, numbers, rates,
//! probabilities, durations), one name against the names it may refer to. Each returns the
//! value or an [`Invalid`] that names the key path given and says what was expected and what
//! was found.
//!
//! Only the wording of an error is decided here; which key is checked, against what, and in
//! which order is the section's business. The clock bounds durations: nothing above 1e7 s, so
//! nanosecond arithmetic stays far from overflow.

use std::collections::BTreeMap;

use super::Result;
use crate::scenario::{closest, Invalid};
use crate::time::SimDuration;

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
    let list = known.clone().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    let hint = closest(got, known).map(|k| format!("; did you mean `{k}`?")).unwrap_or_default();
    Invalid::new(field, format!("unknown {what} `{got}`; known: {list}{hint}"))
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
