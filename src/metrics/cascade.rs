//! Cascades (docs/model.md section 8): from the per-window rows and the fault records, which
//! service was impaired and which was directly faulted in each window, the cascade of each
//! fault, and the run's `cascades_contained`, `blast_radius_mean` and
//! `secondary_impaired_s`. Pure: rows and records in, figures out; it runs once per run.

use super::windows::{JobCounts, ServiceCounts, WindowSpec};
use super::{FaultRecord, ServiceWindow, TimeSeries, Window};
use crate::time::SimTime;

/// The cascade figures of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CascadeFigures {
    pub(crate) cascades_contained: f64,
    pub(crate) blast_radius_mean: f64,
    pub(crate) secondary_impaired_s: f64,
    /// Mean of the faults' recovery times, NaN when none recovered (or none happened).
    pub(crate) time_to_recover_s: f64,
    pub(crate) faults_unrecovered: u64,
}

/// Whether a service meets its SLO in a window, for recovery: not impaired, and either
/// something ended there or nothing arrived (requests that arrive and never end are not a
/// service that works).
fn meets_slo(c: &ServiceCounts, ratio: f64) -> bool {
    !impaired(c, ratio) && (c.completions + c.failures > 0 || c.arrivals == 0)
}

/// Whether a service with these counts is impaired: more than `ratio` of the requests it
/// finished failed or missed the SLO (a window with nothing finished is not impaired).
pub(crate) fn impaired(c: &ServiceCounts, ratio: f64) -> bool {
    let finished = u64::from(c.completions) + u64::from(c.failures);
    let bad = u64::from(c.failures) + u64::from(c.slo_missed);
    finished > 0 && bad as f64 > ratio * finished as f64
}

/// Builds the time series and the cascade figures, and fills in each fault's cascade.
/// `service_rows` has one row per service per window (window-major), `job_rows` one per
/// window; the windows cut `[0, end_of_run)` from zero.
#[allow(clippy::too_many_arguments)]
pub(crate) fn analyse(
    spec: &WindowSpec,
    service_rows: &[ServiceCounts],
    job_rows: &[JobCounts],
    service_replicas: &[f64],
    job_replicas: &[f64],
    end_of_run: SimTime,
    faults: &mut [FaultRecord],
) -> (TimeSeries, CascadeFigures) {
    let services = spec.service_names.len();
    let windows = job_rows.len();
    debug_assert_eq!(service_rows.len(), windows * services, "one row per service and window");
    let w = spec.window.as_nanos();
    let bounds = |k: usize| {
        let start = SimTime::from_nanos(k as u64 * w);
        (start, (start + spec.window).min(end_of_run))
    };
    // The windows overlapping [from, to): first and one past the last.
    let overlapping = |from: SimTime, to: SimTime| {
        let first = (from.as_nanos() / w) as usize;
        let last = to.as_nanos().div_ceil(w) as usize;
        first.min(windows)..last.min(windows)
    };
    let impaired: Vec<bool> =
        service_rows.iter().map(|c| impaired(c, spec.impaired_error_ratio)).collect();
    // Directly faulted: a fault on the service overlaps the window, grace included; active:
    // the same without the grace.
    let mut faulted = vec![false; windows * services];
    let mut active = vec![false; windows * services];
    let mut any_active = vec![false; windows];
    for f in faults.iter() {
        for k in overlapping(f.start, f.end) {
            any_active[k] = true;
            for s in &f.faulted_services {
                active[k * services + s.index()] = true;
            }
        }
        for k in overlapping(f.start, f.end + spec.grace) {
            for s in &f.faulted_services {
                faulted[k * services + s.index()] = true;
            }
        }
    }
    let mut secondary_ns = 0u128;
    for k in 0..windows {
        let (start, end) = bounds(k);
        for s in 0..services {
            let i = k * services + s;
            if impaired[i] && !faulted[i] {
                secondary_ns += u128::from((end - start).as_nanos());
            }
        }
    }
    let mut contained = 0usize;
    let mut sizes = 0usize;
    for f in faults.iter_mut() {
        let span = overlapping(f.start, f.end + spec.grace);
        let before = span.start.checked_sub(1);
        let cascade: Vec<usize> = (0..services)
            .filter(|&s| !f.faulted_services.iter().any(|x| x.index() == s))
            .filter(|&s| before.is_none_or(|b| !impaired[b * services + s]))
            .filter(|&s| {
                span.clone().any(|k| impaired[k * services + s] && !faulted[k * services + s])
            })
            .collect();
        f.cascade_size = cascade.len() as u64;
        f.cascade_services = cascade.iter().map(|&s| spec.service_names[s].clone()).collect();
        contained += usize::from(cascade.is_empty());
        sizes += cascade.len();
    }
    // Recovery: from the fault's start to the start of the first run of
    // `recovery_windows` windows (beginning no earlier than the fault's own window) in which
    // every service it faults meets its SLO; a fault that faults no service (an
    // orchestrator's or a policy agent's crash) is judged on every service.
    let runs = spec.recovery_windows.max(1) as usize;
    let meets: Vec<bool> =
        service_rows.iter().map(|c| meets_slo(c, spec.impaired_error_ratio)).collect();
    let (mut recovered_s, mut recovered, mut unrecovered) = (0.0, 0u64, 0u64);
    for f in faults.iter_mut() {
        let all: Vec<usize> = (0..services).collect();
        let judged: Vec<usize> = if f.faulted_services.is_empty() {
            all
        } else {
            f.faulted_services.iter().map(|s| s.index()).collect()
        };
        let first = ((f.start.as_nanos() / w) as usize).min(windows);
        let good = |k: usize| judged.iter().all(|&s| meets[k * services + s]);
        let found = (first..windows.saturating_sub(runs - 1)).find(|&k| (k..k + runs).all(good));
        f.time_to_recover_s = found.map(|k| bounds(k).0.saturating_since(f.start).as_secs_f64());
        match f.time_to_recover_s {
            Some(t) => {
                recovered_s += t;
                recovered += 1;
            }
            None => unrecovered += 1,
        }
    }
    let figures = CascadeFigures {
        time_to_recover_s: if recovered == 0 { f64::NAN } else { recovered_s / recovered as f64 },
        faults_unrecovered: unrecovered,
        cascades_contained: if faults.is_empty() {
            1.0
        } else {
            contained as f64 / faults.len() as f64
        },
        blast_radius_mean: if faults.is_empty() { 0.0 } else { sizes as f64 / faults.len() as f64 },
        secondary_impaired_s: secondary_ns as f64 * 1e-9,
    };
    let series = TimeSeries {
        window: spec.window,
        services: spec.service_names.clone(),
        windows: (0..windows)
            .map(|k| {
                let (start, end) = bounds(k);
                let j = &job_rows[k];
                Window {
                    start,
                    end,
                    arrivals: u64::from(j.arrivals),
                    completions: u64::from(j.completions),
                    failures: u64::from(j.failures),
                    jobs_in_system: j.in_system,
                    queue_length: j.queue_length,
                    utilisation: j.utilisation,
                    replicas: job_replicas[k],
                    wasted_work: if j.work_ns == 0 {
                        f64::NAN
                    } else {
                        j.wasted_ns as f64 / j.work_ns as f64
                    },
                    impaired: impaired[k * services..(k + 1) * services].iter().any(|&i| i),
                    fault_active: any_active[k],
                    spike_active: spec.spike_active(start, end),
                }
            })
            .collect(),
        service_windows: service_rows
            .iter()
            .enumerate()
            .map(|(i, c)| ServiceWindow {
                arrivals: u64::from(c.arrivals),
                completions: u64::from(c.completions),
                failures: u64::from(c.failures),
                slo_missed: u64::from(c.slo_missed),
                queue_length: c.queue_length,
                utilisation: c.utilisation,
                replicas: service_replicas[i],
                impaired: impaired[i],
                fault_active: active[i],
            })
            .collect(),
    };
    (series, figures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ServiceId;
    use crate::time::SimDuration;

    fn spec(services: usize) -> WindowSpec {
        WindowSpec {
            window: SimDuration::from_nanos(1_000_000_000),
            impaired_error_ratio: 0.05,
            grace: SimDuration::from_nanos(1_000_000_000),
            slo_ns: vec![u64::MAX; services],
            slots: vec![1; services],
            replicas: vec![1; services],
            recovery_windows: 3,
            service_names: (0..services).map(|s| format!("s{s}")).collect(),
            shapes: Vec::new(),
        }
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    fn fault(on: u32, start: u64, end: u64) -> FaultRecord {
        FaultRecord {
            kind: "crash",
            target: format!("s{on}"),
            start: secs(start),
            end: secs(end),
            touched: 1,
            faulted_services: vec![ServiceId(on)],
            cascade_size: 0,
            cascade_services: Vec::new(),
            time_to_recover_s: None,
        }
    }

    /// Ten 1 s windows, three services; `bad` lists (window, service) with 1 failure of 10.
    /// `analyse` over 10 one-second windows of 3 services, every replica present.
    fn analyse_ten_windows(
        rows: &[ServiceCounts],
        faults: &mut [FaultRecord],
    ) -> (TimeSeries, CascadeFigures) {
        analyse(
            &spec(3),
            rows,
            &vec![JobCounts::default(); 10],
            &vec![1.0; rows.len()],
            &[1.0; 10],
            secs(10),
            faults,
        )
    }

    fn rows(bad: &[(usize, usize)], fail: u32) -> Vec<ServiceCounts> {
        let mut rows = vec![ServiceCounts { completions: 10, ..Default::default() }; 30];
        for &(k, s) in bad {
            rows[k * 3 + s].failures = fail;
        }
        rows
    }

    #[test]
    fn a_fault_whose_neighbours_stay_healthy_is_contained() {
        let mut faults = vec![fault(0, 3, 5)];
        // s0 itself is impaired during its fault: not a cascade.
        let rows = rows(&[(3, 0), (4, 0)], 5);
        let (series, f) = analyse_ten_windows(&rows, &mut faults);
        assert_eq!(faults[0].cascade_size, 0);
        assert_eq!(
            (f.cascades_contained, f.blast_radius_mean, f.secondary_impaired_s),
            (1.0, 0.0, 0.0)
        );
        assert!(
            series.service_windows[3 * 3].impaired && series.service_windows[3 * 3].fault_active
        );
        assert!(!series.service_windows[5 * 3].fault_active, "grace is not the fault");
    }

    #[test]
    fn cascade_counts_other_services_impaired_within_span_and_grace_only() {
        let mut faults = vec![fault(0, 3, 5)];
        // s1 impaired in window 5 (inside the grace: span [3, 6) s), s2 in window 7 (after).
        // 1 failure of 11 finished is 9% > 5%.
        let rows = rows(&[(5, 1), (7, 2)], 1);
        let (_, f) = analyse_ten_windows(&rows, &mut faults);
        assert_eq!(faults[0].cascade_services, vec!["s1".to_owned()]);
        assert_eq!((f.cascades_contained, f.blast_radius_mean), (0.0, 1.0));
        assert_eq!(f.secondary_impaired_s, 2.0, "s1 in window 5 and s2 in window 7");
    }

    #[test]
    fn a_service_already_impaired_before_the_fault_is_not_its_cascade() {
        let mut faults = vec![fault(0, 3, 5), fault(1, 8, 9)];
        let rows = rows(&[(2, 1), (3, 1), (8, 2)], 1);
        let (_, f) = analyse_ten_windows(&rows, &mut faults);
        assert_eq!(faults[0].cascade_size, 0, "s1 was impaired in window 2 already");
        assert_eq!(faults[1].cascade_services, vec!["s2".to_owned()]);
        assert_eq!(f.cascades_contained, 0.5);
        assert_eq!(f.blast_radius_mean, 0.5);
    }

    #[test]
    fn impairment_is_more_than_the_ratio_of_finished_requests() {
        let c = |completions, failures, slo_missed| ServiceCounts {
            completions,
            failures,
            slo_missed,
            ..Default::default()
        };
        assert!(!impaired(&c(0, 0, 0), 0.05), "nothing finished");
        assert!(!impaired(&c(19, 1, 0), 0.05), "exactly 5% is not more than 5%");
        assert!(impaired(&c(18, 2, 0), 0.05));
        assert!(impaired(&c(20, 0, 2), 0.05), "SLO misses count");
        assert!(impaired(&c(0, 1, 0), 0.0));
    }
}
