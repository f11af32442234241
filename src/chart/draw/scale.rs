//! Axes as [`Scale`]s: the range drawn (the log10 of the values on a log axis) and ticks at
//! round numbers, linear (1, 2, 2.5 or 5 times a power of ten) or logarithmic (powers of
//! ten, and 2 and 5 times them when there are few), or named categories at 0, 1, ...

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// One axis: the range drawn (the log10 of the values on a log axis) and its labelled ticks.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Scale {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) log: bool,
    /// (position drawn, label).
    pub(super) ticks: Vec<(f64, String)>,
}

impl Scale {
    /// A linear axis over the finite `values`, padded by 5% (widened when flat); from 0 when
    /// the values are positive and 0 is not far below them.
    pub(super) fn linear(values: impl Iterator<Item = f64>, from_zero: bool) -> Scale {
        let (lo, hi) = bounds(values);
        let lo = if from_zero && lo > 0.0 && lo < (hi - lo) * 0.5 { 0.0 } else { lo };
        Scale::fixed(lo, hi)
    }

    /// A linear axis from `lo` to `hi`.
    pub(super) fn fixed(lo: f64, hi: f64) -> Scale {
        Scale { lo, hi, log: false, ticks: linear_ticks(lo, hi) }
    }

    /// A log axis over the positive finite `values`, padded by 5% of its decades.
    pub(super) fn log(values: impl Iterator<Item = f64>) -> Scale {
        let (lo, hi) = bounds(values.filter(|v| *v > 0.0).map(f64::log10));
        Scale { lo, hi, log: true, ticks: log_ticks(lo, hi) }
    }

    /// Positions 0, 1, ... named by `names`.
    pub(super) fn categories(names: &[String]) -> Scale {
        let hi = names.len().max(1) as f64 - 1.0;
        let pad = (hi * 0.05).max(0.3);
        let ticks = names.iter().enumerate().map(|(i, n)| (i as f64, n.clone())).collect();
        Scale { lo: -pad, hi: hi + pad, log: false, ticks }
    }

    /// Where `value` is drawn; a value a log axis cannot show (0 or less) is drawn at its
    /// bottom, and NaN stays NaN.
    pub(super) fn position(&self, value: f64) -> f64 {
        match self.log {
            true if value > 0.0 => value.log10(),
            true if value.is_nan() => value,
            true => self.lo,
            false => value,
        }
    }

    pub(super) fn label(&self, position: f64) -> String {
        let near = 1e-9 * (self.hi - self.lo).abs().max(1e-300);
        let tick = self.ticks.iter().find(|(p, _)| (p - position).abs() <= near);
        tick.map(|(_, label)| label.clone()).unwrap_or_default()
    }
}

impl Ranged for Scale {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    /// The ticks, for the labelled lines; no lighter lines between them.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.iter().map(|(p, _)| *p).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// `(min, max)` of finite values, widened when flat (from 0 to 1 when all are 0) and padded
/// by 5%.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if lo == 0.0 && hi == 0.0 {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        let pad = (hi.abs() * 0.1).max(1e-3);
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// Ticks every 1, 2, 2.5 or 5 times a power of ten, about six of them over `[lo, hi]`,
/// labelled with as many decimals as the step needs.
fn linear_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let raw = (hi - lo) / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * 0.999)
        .unwrap_or(10.0 * magnitude);
    let decimals = (0..=12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(12) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            // `+ 0.0` turns -0 into 0, so no label reads "-0".
            (v, format!("{:.decimals$}", v + 0.0))
        })
        .collect()
}

/// Ticks of a log axis drawn from `lo` to `hi` (log10 of the values): at powers of ten,
/// and at 2 and 5 times them (or every integer multiple) when that leaves fewer than four.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let decades = lo.floor() as i32..=hi.ceil() as i32;
    let at = |mantissas: &[u32]| -> Vec<(f64, String)> {
        decades
            .clone()
            .flat_map(|k| mantissas.iter().map(move |&m| (m, k)))
            .filter_map(|(m, k)| {
                let position = f64::from(m).log10() + f64::from(k);
                (lo <= position && position <= hi).then(|| (position, power_label(m, k)))
            })
            .collect()
    };
    let mut ticks = at(&[1]);
    if ticks.len() < 4 {
        ticks = at(&[1, 2, 5]);
    }
    if ticks.len() < 4 {
        ticks = at(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    // Many decades: every other power of ten, and so on, up to about ten labels.
    let every = ticks.len().div_ceil(10).max(1);
    ticks.into_iter().step_by(every).collect()
}

/// `m * 10^k` written out: 2000, 0.05, or 5e9 when that would be long.
fn power_label(m: u32, k: i32) -> String {
    match k {
        0..=6 => (u64::from(m) * 10u64.pow(k as u32)).to_string(),
        -6..=-1 => format!("{:.*}", (-k) as usize, f64::from(m) * 10f64.powi(k)),
        _ => format!("{m}e{k}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ticks: &[(f64, String)]) -> Vec<&str> {
        ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn linear_ticks_are_round_numbers() {
        assert_eq!(labels(&linear_ticks(0.0, 2000.0)), ["0", "500", "1000", "1500", "2000"]);
        assert_eq!(labels(&linear_ticks(-0.04, 1.04)), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(labels(&linear_ticks(0.9, 1.1))[0], "0.90");
        assert!(linear_ticks(-1.0, 1.0).iter().all(|(_, l)| l != "-0"));
    }

    #[test]
    fn log_ticks_are_one_two_five_times_powers_of_ten() {
        let (lo, hi) = (200f64.log10(), 3000f64.log10());
        assert_eq!(labels(&log_ticks(lo, hi)), ["200", "500", "1000", "2000"]);
        let (lo, hi) = (0.01f64.log10(), 1e4f64.log10());
        assert_eq!(labels(&log_ticks(lo, hi)), ["0.01", "0.1", "1", "10", "100", "1000", "10000"]);
        assert_eq!(power_label(5, -2), "0.05");
        assert_eq!(power_label(2, 9), "2e9");
    }

    #[test]
    fn a_log_scale_draws_the_log_and_puts_what_it_cannot_show_at_the_bottom() {
        let scale = Scale::log([1.0, 1000.0].into_iter());
        assert!((scale.position(100.0) - 2.0).abs() < 1e-12);
        assert_eq!(scale.position(0.0), scale.lo);
        assert_eq!(scale.position(-3.0), scale.lo);
        assert_eq!(scale.label(2.0), "100");
    }
}
