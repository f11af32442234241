//! Simulated time: integer nanoseconds, never floating point, never the wall clock.
//!
//! [`SimTime`] is an instant since the start of a run and [`SimDuration`] a span between two
//! instants. Durations read from scenario files or drawn from distributions are in seconds
//! (`f64`) and are rounded to the nearest nanosecond exactly once, by
//! [`SimDuration::from_secs_f64`]. Arithmetic saturates instead of wrapping, so a huge draw
//! from a heavy-tailed distribution pins to the end of time rather than panicking.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The last representable instant (about 584 years).
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The instant `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start, for reporting only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    /// The instant `span` before this one, or the start if that is earlier.
    pub fn saturating_sub(self, span: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(span.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span.
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: u64) -> Self {
        SimDuration(nanos)
    }

    /// A span of `micros` microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        SimDuration(micros * 1_000)
    }

    /// A span of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis * 1_000_000)
    }

    /// A span of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs * 1_000_000_000)
    }

    /// Converts seconds to the nearest nanosecond.
    ///
    /// Negative values and NaN become zero and values past the end of time saturate: callers
    /// validate user input before converting, so this only guards draws from distributions.
    pub fn from_secs_f64(secs: f64) -> Self {
        // `as` from f64 to u64 truncates, saturates and maps NaN (and negatives) to 0, so adding
        // one half rounds non-negative values to the nearest nanosecond. (`f64::round` is a
        // library call on baseline x86-64, and this runs for every draw.)
        SimDuration((secs * 1e9 + 0.5) as u64)
    }

    /// Nanoseconds in this span.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds in this span, for reporting and for rates.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 * 1e-9
    }

    /// Scales the span by a positive factor (a replica's speed, a slowdown), rounding to the
    /// nearest nanosecond. A factor of exactly 1 returns the span unchanged.
    pub fn mul_f64(self, factor: f64) -> SimDuration {
        if factor == 1.0 {
            self
        } else {
            SimDuration::from_secs_f64(self.as_secs_f64() * factor)
        }
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// The span between two instants; `self` must not be earlier than `rhs`.
    fn sub(self, rhs: SimTime) -> SimDuration {
        debug_assert!(self >= rhs, "negative span: {self} - {rhs}");
        SimDuration(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_the_nearest_nanosecond() {
        assert_eq!(SimDuration::from_secs_f64(1.5e-9).as_nanos(), 2);
        assert_eq!(SimDuration::from_secs_f64(1.4e-9).as_nanos(), 1);
        assert_eq!(SimDuration::from_secs_f64(0.010).as_nanos(), 10_000_000);
        assert_eq!(SimDuration::from_secs_f64(-3.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(1e300), SimDuration::MAX);
    }

    #[test]
    fn adding_past_the_end_of_time_saturates() {
        assert_eq!(SimTime::MAX + SimDuration::from_nanos(1), SimTime::MAX);
    }

    #[test]
    fn scaling_by_speed_rounds_once() {
        let work = SimDuration::from_nanos(10_000_000);
        assert_eq!(work.mul_f64(1.0), work);
        assert_eq!(work.mul_f64(0.5).as_nanos(), 5_000_000);
        assert_eq!(SimDuration::from_nanos(3).mul_f64(1.0 / 3.0).as_nanos(), 1);
    }
}
