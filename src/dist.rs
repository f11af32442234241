//! Validated probability distributions of durations, and drawing from them.
//!
//! Parameters are given in seconds (scenario files) and every draw is rounded once to the
//! nearest nanosecond. The sampling objects of `rand_distr` are built at validation time, so
//! a draw is a single call with no parameter checks left in the hot path.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Uniform};

use crate::time::SimDuration;

/// A distribution of non-negative durations.
#[derive(Clone, Debug)]
pub struct DurationDist {
    shape: Shape,
}

#[derive(Clone, Debug)]
enum Shape {
    Constant(SimDuration),
    Exponential {
        mean: f64,
        exp: Exp<f64>,
    },
    Uniform {
        min: f64,
        max: f64,
        uniform: Uniform<f64>,
    },
    LogNormal {
        mean: f64,
        cv: f64,
        lognormal: LogNormal<f64>,
    },
}

/// Why a distribution's parameters were refused, in words for an error message.
pub(crate) type ParamError = String;

impl DurationDist {
    /// Always `value` seconds.
    pub fn constant(value: f64) -> Result<Self, ParamError> {
        check_finite_non_negative("value", value)?;
        Ok(DurationDist {
            shape: Shape::Constant(SimDuration::from_secs_f64(value)),
        })
    }

    /// Exponential with the given mean in seconds (> 0).
    pub fn exponential(mean: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean)?;
        let exp = Exp::new(1.0 / mean).map_err(|e| format!("mean: {e}"))?;
        Ok(DurationDist {
            shape: Shape::Exponential { mean, exp },
        })
    }

    /// Uniform on `[min, max]` seconds, `0 <= min <= max`.
    pub fn uniform(min: f64, max: f64) -> Result<Self, ParamError> {
        check_finite_non_negative("min", min)?;
        check_finite_non_negative("max", max)?;
        if max < min {
            return Err(format!(
                "max must be >= min, found min = {min} and max = {max}"
            ));
        }
        let uniform = Uniform::new_inclusive(min, max).map_err(|e| format!("{e}"))?;
        Ok(DurationDist {
            shape: Shape::Uniform { min, max, uniform },
        })
    }

    /// Lognormal with the given mean in seconds (> 0) and coefficient of variation (> 0).
    ///
    /// With `sigma^2 = ln(1 + cv^2)` and `mu = ln(mean) - sigma^2 / 2` the underlying normal
    /// gives exactly the requested mean and standard deviation `cv * mean`.
    pub fn lognormal(mean: f64, cv: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean)?;
        check_positive("cv", cv)?;
        let sigma2 = (1.0 + cv * cv).ln();
        let mu = mean.ln() - sigma2 / 2.0;
        let lognormal = LogNormal::new(mu, sigma2.sqrt()).map_err(|e| format!("{e}"))?;
        Ok(DurationDist {
            shape: Shape::LogNormal {
                mean,
                cv,
                lognormal,
            },
        })
    }

    /// Draws one duration.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match &self.shape {
            Shape::Constant(value) => *value,
            Shape::Exponential { exp, .. } => SimDuration::from_secs_f64(exp.sample(rng)),
            Shape::Uniform { uniform, .. } => SimDuration::from_secs_f64(uniform.sample(rng)),
            Shape::LogNormal { lognormal, .. } => SimDuration::from_secs_f64(lognormal.sample(rng)),
        }
    }

    /// The mean in seconds.
    pub fn mean_secs(&self) -> f64 {
        match &self.shape {
            Shape::Constant(value) => value.as_secs_f64(),
            Shape::Exponential { mean, .. } | Shape::LogNormal { mean, .. } => *mean,
            Shape::Uniform { min, max, .. } => (min + max) / 2.0,
        }
    }

    /// The smallest duration a draw can return (after rounding).
    pub fn min(&self) -> SimDuration {
        match &self.shape {
            Shape::Constant(value) => *value,
            Shape::Uniform { min, .. } => SimDuration::from_secs_f64(*min),
            Shape::Exponential { .. } | Shape::LogNormal { .. } => SimDuration::ZERO,
        }
    }

    /// Whether every draw is zero (lets callers skip scheduling a zero-delay event).
    pub fn is_always_zero(&self) -> bool {
        matches!(self.shape, Shape::Constant(SimDuration::ZERO))
    }

    /// The coefficient of variation (standard deviation / mean); 0 for a constant.
    pub fn cv(&self) -> f64 {
        match &self.shape {
            Shape::Constant(_) => 0.0,
            Shape::Exponential { .. } => 1.0,
            Shape::Uniform { min, max, .. } => {
                let mean = (min + max) / 2.0;
                if mean == 0.0 {
                    0.0
                } else {
                    (max - min) / (12f64.sqrt() * mean)
                }
            }
            Shape::LogNormal { cv, .. } => *cv,
        }
    }
}

fn check_finite_non_negative(name: &str, value: f64) -> Result<(), ParamError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{name} must be a finite number of seconds >= 0, found {value}"
        ))
    }
}

fn check_positive(name: &str, value: f64) -> Result<(), ParamError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be a finite number > 0, found {value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;

    /// Sample mean and coefficient of variation of `n` draws, in seconds.
    fn moments(dist: &DurationDist, n: usize) -> (f64, f64) {
        let mut rng = derive_stream(11, 0, 0);
        let xs: Vec<f64> = (0..n)
            .map(|_| dist.sample(&mut rng).as_secs_f64())
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt() / mean)
    }

    #[test]
    fn draws_match_the_requested_mean_and_cv() {
        // 200k draws: the standard error of the mean is cv / sqrt(n) < 0.5% for cv <= 2,
        // so a 2% tolerance is four standard errors or more.
        let cases = [
            (DurationDist::exponential(0.010).unwrap(), 0.010, 1.0),
            (
                DurationDist::uniform(0.002, 0.004).unwrap(),
                0.003,
                0.002 / (12f64.sqrt() * 0.003),
            ),
            (DurationDist::lognormal(0.050, 2.0).unwrap(), 0.050, 2.0),
        ];
        for (dist, mean, cv) in cases {
            let (m, c) = moments(&dist, 200_000);
            assert!(
                (m / mean - 1.0).abs() < 0.02,
                "{dist:?}: mean {m} vs {mean}"
            );
            // The sample cv of a lognormal with cv 2 converges slowly (heavy tail): 10%.
            assert!((c / cv - 1.0).abs() < 0.10, "{dist:?}: cv {c} vs {cv}");
            assert!((dist.mean_secs() - mean).abs() < 1e-12);
        }
    }

    #[test]
    fn constant_is_exact_and_zero_is_detected() {
        let mut rng = derive_stream(1, 0, 0);
        let d = DurationDist::constant(0.25).unwrap();
        assert_eq!(d.sample(&mut rng).as_nanos(), 250_000_000);
        assert!(DurationDist::constant(0.0).unwrap().is_always_zero());
        assert!(!d.is_always_zero());
    }

    #[test]
    fn impossible_parameters_are_refused() {
        assert!(DurationDist::exponential(0.0).is_err());
        assert!(DurationDist::exponential(-1.0).is_err());
        assert!(DurationDist::exponential(f64::NAN).is_err());
        assert!(DurationDist::constant(-0.1).is_err());
        assert!(DurationDist::uniform(0.3, 0.2).is_err());
        assert!(DurationDist::lognormal(0.1, 0.0).is_err());
        assert!(DurationDist::lognormal(f64::INFINITY, 1.0).is_err());
    }
}
