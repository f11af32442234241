//! Validated probability distributions of durations, and drawing from them.
//!
//! Parameters are given in seconds (scenario files) and every draw is rounded once to the
//! nearest nanosecond. The sampling objects of `rand_distr` are built at validation time, so
//! a draw is a single call with no parameter checks left in the hot path.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Pareto, Uniform};

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
    Pareto {
        scale: f64,
        shape: f64,
        pareto: Pareto<f64>,
    },
    BoundedPareto {
        min: f64,
        max: f64,
        shape: f64,
    },
    /// Resampling of observed values (seconds), uniformly.
    Empirical {
        values: Arc<[f64]>,
        mean: f64,
    },
}

/// Why a distribution's parameters were refused, in words for an error message.
pub(crate) type ParamError = String;

impl DurationDist {
    /// Always `value` seconds.
    pub fn constant(value: f64) -> Result<Self, ParamError> {
        check_finite_non_negative("value", value)?;
        Ok(DurationDist { shape: Shape::Constant(SimDuration::from_secs_f64(value)) })
    }

    /// Exponential with the given mean in seconds (> 0).
    pub fn exponential(mean: f64) -> Result<Self, ParamError> {
        check_positive("mean", mean)?;
        let exp = Exp::new(1.0 / mean).map_err(|e| format!("mean: {e}"))?;
        Ok(DurationDist { shape: Shape::Exponential { mean, exp } })
    }

    /// Uniform on `[min, max]` seconds, `0 <= min <= max`.
    pub fn uniform(min: f64, max: f64) -> Result<Self, ParamError> {
        check_finite_non_negative("min", min)?;
        check_finite_non_negative("max", max)?;
        if max < min {
            return Err(format!("max must be >= min, found min = {min} and max = {max}"));
        }
        let uniform = Uniform::new_inclusive(min, max).map_err(|e| format!("{e}"))?;
        Ok(DurationDist { shape: Shape::Uniform { min, max, uniform } })
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
        Ok(DurationDist { shape: Shape::LogNormal { mean, cv, lognormal } })
    }

    /// Pareto (type I) with minimum `scale` seconds (> 0) and tail index `shape` (> 0).
    /// The mean `shape * scale / (shape - 1)` is infinite when `shape <= 1`.
    pub fn pareto(scale: f64, shape: f64) -> Result<Self, ParamError> {
        check_positive("scale", scale)?;
        check_positive("shape", shape)?;
        let pareto = Pareto::new(scale, shape).map_err(|e| format!("{e}"))?;
        Ok(DurationDist { shape: Shape::Pareto { scale, shape, pareto } })
    }

    /// Pareto with tail index `shape` truncated to `[min, max]` seconds, `0 < min < max`.
    pub fn bounded_pareto(min: f64, max: f64, shape: f64) -> Result<Self, ParamError> {
        check_positive("min", min)?;
        check_positive("max", max)?;
        check_positive("shape", shape)?;
        if max <= min {
            return Err(format!("max must be > min, found min = {min} and max = {max}"));
        }
        Ok(DurationDist { shape: Shape::BoundedPareto { min, max, shape } })
    }

    /// Resamples `values` (seconds, each finite and >= 0, at least one) uniformly.
    pub fn empirical(values: Vec<f64>) -> Result<Self, ParamError> {
        if values.is_empty() {
            return Err("an empirical distribution needs at least one value".into());
        }
        if let Some(bad) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(format!("values must be finite numbers of seconds >= 0, found {bad}"));
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Ok(DurationDist { shape: Shape::Empirical { values: values.into(), mean } })
    }

    /// Draws one duration.
    ///
    /// The exponential, the commonest shape, is drawn here, inlined into the caller; the
    /// others go through a call.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        if let Shape::Exponential { exp, .. } = &self.shape {
            return SimDuration::from_secs_f64(exp.sample(rng));
        }
        self.sample_other(rng)
    }

    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        match &self.shape {
            Shape::Constant(value) => *value,
            Shape::Exponential { exp, .. } => SimDuration::from_secs_f64(exp.sample(rng)),
            Shape::Uniform { uniform, .. } => SimDuration::from_secs_f64(uniform.sample(rng)),
            Shape::LogNormal { lognormal, .. } => SimDuration::from_secs_f64(lognormal.sample(rng)),
            Shape::Pareto { pareto, .. } => SimDuration::from_secs_f64(pareto.sample(rng)),
            Shape::BoundedPareto { min, max, shape } => {
                // Inverse CDF: F(x) = (1 - (min/x)^a) / (1 - (min/max)^a).
                let u: f64 = rng.random();
                let tail = 1.0 - u * (1.0 - (min / max).powf(*shape));
                SimDuration::from_secs_f64(min / tail.powf(1.0 / shape))
            }
            Shape::Empirical { values, .. } => {
                SimDuration::from_secs_f64(values[rng.random_range(0..values.len())])
            }
        }
    }

    /// Draws one value in seconds, unrounded: for distributions of plain numbers (an
    /// execution-time multiplier), where rounding to the nanosecond would be wrong. The
    /// same draws as [`DurationDist::sample`] before rounding; kept apart from it so that
    /// the hot path's code stays as it was.
    #[cold]
    pub fn sample_secs<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.shape {
            Shape::Constant(value) => value.as_secs_f64(),
            Shape::Exponential { exp, .. } => exp.sample(rng),
            Shape::Uniform { uniform, .. } => uniform.sample(rng),
            Shape::LogNormal { lognormal, .. } => lognormal.sample(rng),
            Shape::Pareto { pareto, .. } => pareto.sample(rng),
            Shape::BoundedPareto { min, max, shape } => {
                let u: f64 = rng.random();
                let tail = 1.0 - u * (1.0 - (min / max).powf(*shape));
                min / tail.powf(1.0 / shape)
            }
            Shape::Empirical { values, .. } => values[rng.random_range(0..values.len())],
        }
    }

    /// The mean in seconds.
    pub fn mean_secs(&self) -> f64 {
        match &self.shape {
            Shape::Constant(value) => value.as_secs_f64(),
            Shape::Exponential { mean, .. } | Shape::LogNormal { mean, .. } => *mean,
            Shape::Uniform { min, max, .. } => (min + max) / 2.0,
            Shape::Pareto { scale, shape, .. } => {
                if *shape > 1.0 {
                    shape * scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            Shape::BoundedPareto { min, max, shape } => bounded_pareto_mean(*min, *max, *shape),
            Shape::Empirical { mean, .. } => *mean,
        }
    }

    /// The partial mean `E[X; X <= c]` in seconds: what draws no larger than `c` seconds
    /// contribute to the mean (the mean itself as `c` grows). Size-interval assignment
    /// (`sita`) splits the load with it.
    pub fn partial_mean_secs(&self, c: f64) -> f64 {
        match &self.shape {
            Shape::Constant(value) => {
                let v = value.as_secs_f64();
                if v <= c {
                    v
                } else {
                    0.0
                }
            }
            Shape::Exponential { mean, .. } => {
                let x = c.max(0.0) / mean;
                mean * (1.0 - (-x).exp() * (1.0 + x))
            }
            Shape::Uniform { min, max, .. } => {
                let c = c.clamp(*min, *max);
                if max > min {
                    (c * c - min * min) / (2.0 * (max - min))
                } else {
                    *min
                }
            }
            Shape::LogNormal { mean, cv, .. } => {
                if c <= 0.0 {
                    return 0.0;
                }
                let sigma2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                let sigma = sigma2.sqrt();
                mean * normal_cdf((c.ln() - mu - sigma2) / sigma)
            }
            Shape::Pareto { scale, shape, .. } => {
                if c <= *scale {
                    0.0
                } else if (shape - 1.0).abs() < 1e-12 {
                    scale * (c / scale).ln()
                } else {
                    shape * scale / (shape - 1.0) * (1.0 - (scale / c).powf(shape - 1.0))
                }
            }
            Shape::BoundedPareto { min, max, shape } => {
                let c = c.clamp(*min, *max);
                if c <= *min {
                    0.0
                } else {
                    bounded_pareto_mean(*min, c, *shape) * (1.0 - (min / c).powf(*shape))
                        / (1.0 - (min / max).powf(*shape))
                }
            }
            Shape::Empirical { values, .. } => {
                values.iter().filter(|&&v| v <= c).sum::<f64>() / values.len() as f64
            }
        }
    }

    /// The smallest duration a draw can return (after rounding).
    pub fn min(&self) -> SimDuration {
        match &self.shape {
            Shape::Constant(value) => *value,
            Shape::Uniform { min, .. } => SimDuration::from_secs_f64(*min),
            Shape::Exponential { .. } | Shape::LogNormal { .. } => SimDuration::ZERO,
            Shape::Pareto { scale, .. } => SimDuration::from_secs_f64(*scale),
            Shape::BoundedPareto { min, .. } => SimDuration::from_secs_f64(*min),
            Shape::Empirical { values, .. } => {
                SimDuration::from_secs_f64(values.iter().copied().fold(f64::INFINITY, f64::min))
            }
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
            Shape::Pareto { shape, .. } => {
                if *shape > 2.0 {
                    1.0 / (shape * (shape - 2.0)).sqrt()
                } else {
                    f64::INFINITY
                }
            }
            Shape::BoundedPareto { .. } | Shape::Empirical { .. } => f64::NAN,
        }
    }
}

/// Mean of a Pareto with tail index `a` truncated to `[l, h]`.
fn bounded_pareto_mean(l: f64, h: f64, a: f64) -> f64 {
    let norm = 1.0 - (l / h).powf(a);
    if (a - 1.0).abs() < 1e-12 {
        l * (h / l).ln() / norm
    } else {
        a * l.powf(a) / (norm * (a - 1.0)) * (l.powf(1.0 - a) - h.powf(1.0 - a))
    }
}

/// The standard normal distribution function, from the complementary error function's
/// Chebyshev fit (relative error below 1.2e-7 everywhere; Numerical Recipes, section 6.2).
fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    0.5 * if x >= 0.0 { erfc } else { 2.0 - erfc }
}

fn check_finite_non_negative(name: &str, value: f64) -> Result<(), ParamError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be a finite number of seconds >= 0, found {value}"))
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
mod partial_means {
    use super::DurationDist;
    use rand::SeedableRng;

    /// The partial mean against a sample average of `x 1{x <= c}` over 400,000 draws.
    fn agrees_with_draws(d: &DurationDist, c: f64, tolerance: f64) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 400_000;
        let sum: f64 = (0..n).map(|_| d.sample_secs(&mut rng)).filter(|&x| x <= c).sum();
        let sampled = sum / n as f64;
        let exact = d.partial_mean_secs(c);
        assert!(
            (exact - sampled).abs() <= tolerance * d.mean_secs(),
            "{d:?} at {c}: {exact} vs {sampled}"
        );
    }

    #[test]
    fn each_shape_matches_its_draws_and_tends_to_the_mean() {
        let shapes = [
            DurationDist::exponential(0.01).unwrap(),
            DurationDist::uniform(0.002, 0.02).unwrap(),
            DurationDist::lognormal(0.01, 1.5).unwrap(),
            DurationDist::pareto(0.004, 2.5).unwrap(),
            DurationDist::bounded_pareto(0.001, 1.0, 1.5).unwrap(),
            DurationDist::empirical(vec![0.001, 0.004, 0.01, 0.05]).unwrap(),
        ];
        for d in &shapes {
            for c in [0.003, 0.008, 0.02, 0.05] {
                agrees_with_draws(d, c, 0.01);
            }
            let all = d.partial_mean_secs(1e6);
            assert!((all - d.mean_secs()).abs() < 1e-9 * d.mean_secs(), "{d:?}: {all}");
            assert_eq!(d.partial_mean_secs(0.0), 0.0, "{d:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;

    /// Sample mean and coefficient of variation of `n` draws, in seconds.
    fn moments(dist: &DurationDist, n: usize) -> (f64, f64) {
        let mut rng = derive_stream(11, 0, 0);
        let xs: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng).as_secs_f64()).collect();
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
            (DurationDist::uniform(0.002, 0.004).unwrap(), 0.003, 0.002 / (12f64.sqrt() * 0.003)),
            (DurationDist::lognormal(0.050, 2.0).unwrap(), 0.050, 2.0),
            // Pareto shape 4: mean 4/3 scale, cv 1/sqrt(8).
            (DurationDist::pareto(0.003, 4.0).unwrap(), 0.004, 1.0 / 8f64.sqrt()),
        ];
        for (dist, mean, cv) in cases {
            let (m, c) = moments(&dist, 200_000);
            assert!((m / mean - 1.0).abs() < 0.02, "{dist:?}: mean {m} vs {mean}");
            // The sample cv of a lognormal with cv 2 converges slowly (heavy tail): 10%.
            assert!((c / cv - 1.0).abs() < 0.10, "{dist:?}: cv {c} vs {cv}");
            assert!((dist.mean_secs() - mean).abs() < 1e-12);
        }
    }

    #[test]
    fn bounded_pareto_stays_in_bounds_and_matches_its_mean() {
        // shape 1.5 on [1 ms, 1 s]: mean = 1.5 * l^1.5 / ((1 - (l/h)^1.5) * 0.5)
        //   * (l^-0.5 - h^-0.5) = 3 ms * (1 - 0.0316) / (1 - 3.16e-5) = 2.905 ms.
        let d = DurationDist::bounded_pareto(0.001, 1.0, 1.5).unwrap();
        assert!((d.mean_secs() - 0.002905).abs() < 2e-6, "{}", d.mean_secs());
        let mut rng = derive_stream(3, 0, 0);
        let n = 400_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = d.sample(&mut rng).as_secs_f64();
            assert!((0.001..=1.0).contains(&x), "{x}");
            sum += x;
        }
        // Heavy tail: the sample mean converges slowly; 5% is several standard errors here.
        assert!((sum / n as f64 / d.mean_secs() - 1.0).abs() < 0.05);
    }

    #[test]
    fn empirical_resamples_the_given_values() {
        let d = DurationDist::empirical(vec![0.001, 0.003]).unwrap();
        assert!((d.mean_secs() - 0.002).abs() < 1e-15);
        let mut rng = derive_stream(4, 0, 0);
        let ones = (0..10_000).filter(|_| d.sample(&mut rng).as_nanos() == 1_000_000).count();
        assert!((4_700..5_300).contains(&ones), "{ones}");
        assert!(DurationDist::empirical(vec![]).is_err());
        assert!(DurationDist::empirical(vec![-1.0]).is_err());
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
