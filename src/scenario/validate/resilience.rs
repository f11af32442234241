//! `resilience` tables -> [`Resilience`]: timeout, retries with backoff, jitter and budget,
//! hedging, cancellation, circuit breaker, outlier ejection, with their defaults.
//!
//! A table may be written on a service, on a call stage and on a workflow step; [`merge`]
//! lets the more specific one win key by key. Which table applies where, and the key path an
//! error names, is decided by the caller (services, workflows, classes).

use super::check::{
    at_least_one, count_at_most, positive_probability, positive_seconds, probability,
};
use super::Result;
use crate::scenario::raw::{BackoffKind, JitterKind, RawResilience};
use crate::scenario::{Backoff, Breaker, Ejection, Hedge, Invalid, Jitter, Resilience, Retries};
use crate::time::SimDuration;

/// Key-by-key override: `specific`'s keys win over `general`'s.
pub(super) fn merge(
    specific: Option<&RawResilience>,
    general: Option<&RawResilience>,
) -> RawResilience {
    let (s, g) = (specific.cloned().unwrap_or_default(), general.cloned().unwrap_or_default());
    RawResilience {
        timeout: s.timeout.or(g.timeout),
        retries: s.retries.or(g.retries),
        hedge: s.hedge.or(g.hedge),
        cancel: s.cancel.or(g.cancel),
        circuit_breaker: s.circuit_breaker.or(g.circuit_breaker),
        outlier_ejection: s.outlier_ejection.or(g.outlier_ejection),
    }
}

pub(super) fn resilience(field: &str, raw: &RawResilience) -> Result<Resilience> {
    let key = |k: &str| format!("{field}.{k}");
    let timeout = raw.timeout.map(|t| positive_seconds(&key("timeout"), t.0)).transpose()?;
    let retries = match &raw.retries {
        None => Retries::default(),
        Some(r) => {
            let base = r.base.map(|b| positive_seconds(&key("retries.base"), b.0)).transpose()?;
            let backoff = match r.backoff.unwrap_or(if base.is_some() {
                BackoffKind::Exponential
            } else {
                BackoffKind::None
            }) {
                BackoffKind::None => Backoff::None,
                BackoffKind::Constant => Backoff::Constant(base.ok_or_else(|| {
                    Invalid::new(key("retries.base"), "required by backoff `constant`")
                })?),
                BackoffKind::Exponential => {
                    let base = base.ok_or_else(|| {
                        Invalid::new(key("retries.base"), "required by backoff `exponential`")
                    })?;
                    let cap = match r.cap {
                        Some(c) => positive_seconds(&key("retries.cap"), c.0)?,
                        None => SimDuration::from_nanos(base.as_nanos().saturating_mul(1 << 10)),
                    };
                    if cap < base {
                        return Err(Invalid::new(
                            key("retries.cap"),
                            format!("expected at least retries.base ({base}), found {cap}"),
                        ));
                    }
                    Backoff::Exponential { base, cap }
                }
            };
            let budget = r
                .budget
                .map(|b| {
                    if b.is_finite() && b >= 0.0 {
                        Ok(b)
                    } else {
                        Err(Invalid::new(
                            key("retries.budget"),
                            format!("expected a ratio >= 0, found {b}"),
                        ))
                    }
                })
                .transpose()?;
            let jitter = match r.jitter.unwrap_or(JitterKind::None) {
                JitterKind::None => Jitter::None,
                JitterKind::Full => Jitter::Full,
                JitterKind::Equal => Jitter::Equal,
            };
            count_at_most(&key("retries.max"), r.max as usize, 100, "retries")?;
            Retries { max: r.max, backoff, jitter, budget }
        }
    };
    let hedge = match &raw.hedge {
        None => None,
        Some(h) => Some(match (h.after, h.quantile) {
            (Some(after), None) => Hedge::After(positive_seconds(&key("hedge.after"), after.0)?),
            (None, Some(q)) if q > 0.0 && q < 1.0 => Hedge::Quantile(q),
            (None, Some(q)) => {
                return Err(Invalid::new(
                    key("hedge.quantile"),
                    format!("expected a quantile in (0, 1), found {q}"),
                ))
            }
            _ => {
                return Err(Invalid::new(
                    key("hedge"),
                    "expected exactly one of `after` (a delay) or `quantile` (of observed latency)",
                ))
            }
        }),
    };
    let circuit_breaker = match &raw.circuit_breaker {
        None => None,
        Some(b) => Some(Breaker {
            error_rate: positive_probability(
                &key("circuit_breaker.error_rate"),
                b.error_rate.unwrap_or(0.5),
            )?,
            consecutive: b.consecutive.unwrap_or(5),
            window: positive_seconds(
                &key("circuit_breaker.window"),
                b.window.map_or(10.0, |w| w.0),
            )?,
            min_requests: b.min_requests.unwrap_or(10),
            open_for: positive_seconds(
                &key("circuit_breaker.open_for"),
                b.open_for.map_or(5.0, |w| w.0),
            )?,
            probes: at_least_one(&key("circuit_breaker.probes"), b.probes.unwrap_or(1))?,
        }),
    };
    let outlier_ejection = match &raw.outlier_ejection {
        None => None,
        Some(e) => Some(Ejection {
            consecutive_failures: e.consecutive_failures.unwrap_or(5),
            latency_factor: e
                .latency_factor
                .map(|f| {
                    if f.is_finite() && f > 1.0 {
                        Ok(f)
                    } else {
                        Err(Invalid::new(
                            key("outlier_ejection.latency_factor"),
                            format!("expected a number > 1, found {f}"),
                        ))
                    }
                })
                .transpose()?,
            min_samples: at_least_one(
                &key("outlier_ejection.min_samples"),
                e.min_samples.unwrap_or(20),
            )?,
            eject_for: positive_seconds(
                &key("outlier_ejection.eject_for"),
                e.eject_for.map_or(30.0, |w| w.0),
            )?,
            max_ejected: probability(
                &key("outlier_ejection.max_ejected"),
                e.max_ejected.unwrap_or(0.5),
            )?,
        }),
    };
    Ok(Resilience {
        timeout,
        retries,
        hedge,
        cancel: raw.cancel.unwrap_or(false),
        circuit_breaker,
        outlier_ejection,
    })
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::tests::check;

    #[test]
    fn limits_that_protect_the_run_are_enforced() {
        check(
            "services.api.resilience.circuit_breaker={error_rate=0}",
            "services.api.resilience.circuit_breaker.error_rate",
            "(0, 1]",
        );
    }
}
