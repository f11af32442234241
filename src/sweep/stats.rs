//! Statistics over replications: Student t confidence intervals, paired differences, and the
//! MSER-5 truncation point of a series.
//!
//! Pure functions of slices; NaN values (undefined figures, such as the latency of a run
//! that completed no job) are skipped, so `n` counts only the values that exist.

/// Probability of the two-sided 95% interval's upper quantile.
const P975: f64 = 0.975;

/// Mean and 95% confidence interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    /// Values that were not NaN.
    pub n: usize,
    /// Their mean (NaN when `n` = 0).
    pub mean: f64,
    /// Lower end of the 95% interval (NaN when `n` < 2).
    pub lo: f64,
    /// Upper end of the 95% interval (NaN when `n` < 2).
    pub hi: f64,
}

impl Interval {
    /// Half the interval's width (NaN when `n` < 2).
    pub fn half_width(&self) -> f64 {
        (self.hi - self.lo) / 2.0
    }
}

/// The mean of the non-NaN `values` with its Student t 95% interval,
/// `mean +- t(0.975, n - 1) * s / sqrt(n)`, `s` the sample standard deviation.
pub fn interval(values: &[f64]) -> Interval {
    let valid: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = valid.len();
    if n == 0 {
        return Interval { n, mean: f64::NAN, lo: f64::NAN, hi: f64::NAN };
    }
    let mean = valid.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Interval { n, mean, lo: f64::NAN, hi: f64::NAN };
    }
    let var = valid.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile_975(n as u64 - 1) * (var / n as f64).sqrt();
    Interval { n, mean, lo: mean - half, hi: mean + half }
}

/// The interval of the paired differences `a[i] - b[i]`, over the indices where both exist.
/// With common random numbers, `a[i]` and `b[i]` saw the same workload, so the noise they
/// share cancels and this interval is much tighter than the two unpaired ones.
pub fn paired_difference(a: &[f64], b: &[f64]) -> Interval {
    let diffs: Vec<f64> =
        a.iter().zip(b).filter(|(x, y)| !x.is_nan() && !y.is_nan()).map(|(x, y)| x - y).collect();
    interval(&diffs)
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of freedom.
///
/// Up to 200 degrees of freedom the quantile is found by bisection on the exact
/// distribution function (Abramowitz and Stegun 26.7.3 and 26.7.4, finite sums for integer
/// `df`); above, by the Cornish-Fisher expansion around the normal quantile, whose error
/// there is below 1e-7.
///
/// # Panics
/// If `df` is 0.
pub fn t_quantile_975(df: u64) -> f64 {
    assert!(df > 0, "a t quantile needs at least one degree of freedom");
    if df > 200 {
        return cornish_fisher(P975, df as f64);
    }
    let (mut lo, mut hi) = (0.0_f64, 100.0_f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if t_cdf(mid, df) < P975 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// P(T <= t) for Student's t with integer `df` and `t` >= 0.
fn t_cdf(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c2) = (theta.sin(), theta.cos().powi(2));
    // A(t | df) = P(|T| <= t), a finite sum in powers of cos^2(theta).
    let a = if df % 2 == 0 {
        let (mut term, mut sum) = (1.0, 1.0);
        let mut k = 2;
        while k < df {
            term *= c2 * (k - 1) as f64 / k as f64;
            sum += term;
            k += 2;
        }
        s * sum
    } else {
        let mut sum = 0.0;
        if df > 1 {
            let (mut term, mut total) = (1.0, 1.0);
            let mut k = 3;
            while k < df {
                term *= c2 * (k - 1) as f64 / k as f64;
                total += term;
                k += 2;
            }
            sum = s * theta.cos() * total;
        }
        2.0 / std::f64::consts::PI * (theta + sum)
    };
    0.5 + a / 2.0
}

/// Cornish-Fisher expansion of the t quantile in powers of 1/df (Abramowitz and Stegun
/// 26.7.5), from the normal quantile.
fn cornish_fisher(p: f64, df: f64) -> f64 {
    let z = normal_quantile(p);
    let z3 = z.powi(3);
    let z5 = z.powi(5);
    let z7 = z.powi(7);
    let z9 = z.powi(9);
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df.powi(2))
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

/// The standard normal quantile for the one probability this module needs.
fn normal_quantile(p: f64) -> f64 {
    assert!((p - P975).abs() < 1e-12, "only the 0.975 quantile is tabulated");
    1.959_963_984_540_054
}

/// The MSER-5 truncation point of `series` (observations in time order): the series is cut
/// into batches of 5, and the number `d` of leading batches to drop is the one minimising
/// `sum_{j > d} (Z_j - mean_{j > d} Z)^2 / (m - d)^2` over the `m` batch means `Z`, searched
/// over the first half (White, 1997). Returns `5 d`, in observations; 0 when there are
/// fewer than two batches. Ties go to the smallest `d`.
pub fn mser5(series: &[f64]) -> usize {
    let means: Vec<f64> = series.chunks_exact(5).map(|b| b.iter().sum::<f64>() / 5.0).collect();
    5 * mser_batches(&means)
}

/// MSER over batch means: the number of leading batches to drop.
pub fn mser_batches(means: &[f64]) -> usize {
    let m = means.len();
    if m < 2 {
        return 0;
    }
    // Suffix sums make every candidate O(1).
    let mut sum = vec![0.0; m + 1];
    let mut sum_sq = vec![0.0; m + 1];
    for j in (0..m).rev() {
        sum[j] = sum[j + 1] + means[j];
        sum_sq[j] = sum_sq[j + 1] + means[j] * means[j];
    }
    let mut best = (f64::INFINITY, 0);
    for d in 0..=m / 2 {
        let k = (m - d) as f64;
        let sse = (sum_sq[d] - sum[d] * sum[d] / k).max(0.0);
        let score = sse / (k * k);
        // A relative tolerance keeps rounding noise from picking a later, equal minimum.
        if score < best.0 * (1.0 - 1e-12) {
            best = (score, d);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_printed_tables() {
        // Student t table, two-sided 95% (one-sided 0.975), three decimals.
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (4, 2.776),
            (9, 2.262),
            (10, 2.228),
            (29, 2.045),
            (30, 2.042),
            (60, 2.000),
            (120, 1.980),
            (1000, 1.962),
        ] {
            let got = t_quantile_975(df);
            assert!((got - t).abs() < 6e-4, "df {df}: {got} vs {t}");
        }
        // The exact values at df 1 and 2: tan(0.475 pi) and 0.95 / sqrt(2 * 0.975 * 0.025).
        assert!((t_quantile_975(1) - (0.475 * std::f64::consts::PI).tan()).abs() < 1e-9);
        assert!((t_quantile_975(2) - 0.95 / (2.0_f64 * 0.975 * 0.025).sqrt()).abs() < 1e-9);
        // The two methods agree where they meet.
        assert!((t_quantile_975(200) - cornish_fisher(P975, 200.0)).abs() < 1e-7);
    }

    #[test]
    fn interval_by_hand() {
        // 2, 4, 6, 8: mean 5, s^2 = (9 + 1 + 1 + 9) / 3 = 20/3, s / sqrt(4) = 1.2910,
        // t(0.975, 3) = 3.1824, half-width 4.1085.
        let i = interval(&[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(i.n, 4);
        assert_eq!(i.mean, 5.0);
        assert!((i.half_width() - 4.1085).abs() < 1e-3, "{i:?}");
        // NaN is skipped: the same figures.
        let j = interval(&[2.0, f64::NAN, 4.0, 6.0, 8.0]);
        assert_eq!(j.n, 4);
        assert!((j.lo - i.lo).abs() < 1e-12);
        // One value: a mean, no interval; none: nothing.
        let one = interval(&[3.0]);
        assert_eq!((one.n, one.mean), (1, 3.0));
        assert!(one.lo.is_nan() && one.hi.is_nan());
        assert!(interval(&[]).mean.is_nan());
    }

    #[test]
    fn paired_differences_cancel_the_shared_noise() {
        // b = a + 1 + small noise: a wide unpaired spread but a tight difference.
        let a = [10.0, 20.0, 30.0, f64::NAN];
        let b = [11.0, 21.5, 30.5, 7.0];
        let d = paired_difference(&b, &a);
        assert_eq!(d.n, 3, "the pair with a NaN is dropped");
        // Differences 1, 1.5, 0.5: mean 1, s = 0.5, half-width 4.303 * 0.5 / sqrt(3) = 1.2422.
        assert!((d.mean - 1.0).abs() < 1e-12);
        assert!((d.half_width() - 1.2422).abs() < 1e-3, "{d:?}");
        assert!(d.half_width() < interval(&b[..3]).half_width() / 5.0);
    }

    #[test]
    fn mser5_cuts_the_transient() {
        // Batch means 10, 6, then 2 for six batches. By hand, MSER(d) = SSE / (m - d)^2:
        // d = 0: mean 3.5, SSE 42.25 + 6.25 + 6 * 2.25 = 62, 62 / 64 = 0.969;
        // d = 1: mean 18/7, SSE 11.755 + 6 * 0.327 = 13.714, / 49 = 0.280;
        // d = 2: every remaining mean is 2, SSE 0: the minimum, first reached at d = 2.
        let mut series = vec![10.0; 5];
        series.extend([6.0; 5]);
        series.extend([2.0; 30]);
        assert_eq!(mser5(&series), 10);
        // A stationary series needs no truncation; a short one cannot be judged.
        assert_eq!(mser5(&[4.0; 40]), 0);
        assert_eq!(mser5(&[9.0, 1.0, 1.0]), 0);
        // Batches are means of 5: the transient inside the first batch alone is averaged.
        assert_eq!(mser_batches(&[10.0, 6.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]), 2);
    }
}
