//! Durations as scenario files write them: a number of seconds or a string with a unit,
//! parsed here and described to the JSON Schema in the same two forms.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration as written in a file: a number of seconds (`0.01`) or a string with a unit
/// (`"10ms"`, `"1.5s"`, `"250us"`, `"2m"`). Sign and range are checked by validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Seconds(pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;
        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration: seconds as a number, or a string such as \"10ms\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse_duration(v).map(Seconds).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(SecondsVisitor)
    }
}

/// The pattern of a duration written as a string: a number, then a unit (`ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `min` or `h`), spaces allowed around and between them.
pub(crate) const DURATION_PATTERN: &str =
    r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)\s*(ns|us|µs|ms|s|m|min|h)\s*$";

impl JsonSchema for Seconds {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: a number of seconds (0.01), or a string with a unit (\"10ms\", \"1.5s\", \"250us\", \"2m\"; units ns, us, ms, s, m or min, h).",
            "anyOf": [
                { "type": "number" },
                { "type": "string", "pattern": DURATION_PATTERN }
            ]
        })
    }
}

/// Parses `"<number><unit>"` with unit `ns`, `us`, `ms`, `s`, `m` or `h` into seconds.
///
/// Written here rather than taken from a crate because the common duration crates reject
/// fractions ("1.5ms") or return `std::time::Duration`, which cannot carry the negative
/// values that validation wants to report rather than fail to parse.
pub(crate) fn parse_duration(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("duration {text:?} has no unit (use ns, us, ms, s, m or h)"))?;
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {text:?} (use ns, us, ms, s, m or h)"
            ))
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{number:?} in duration {text:?} is not a number"))?;
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("10ms"), Ok(0.010));
        assert_eq!(parse_duration("1.5 s"), Ok(1.5));
        assert_eq!(parse_duration("250us"), Ok(250e-6));
        assert_eq!(parse_duration("2m"), Ok(120.0));
        assert_eq!(parse_duration("-3s"), Ok(-3.0));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs").unwrap_err().contains("unknown duration unit"));
        assert!(parse_duration("x1ms").is_err());
    }
}
