//! From result files to what a chart shows: a tolerant CSV reader (columns found by name,
//! empty or missing cells skipped) and the series of each chart.

use std::collections::BTreeMap;
use std::path::Path;

use super::draw::{Point, Series, TimeSeries};
use crate::sweep::plan::PlanInfo;
use crate::sweep::store::{percentile_column, StoreError, LATENCY_PERCENTILES};

/// A CSV file as text cells, found by column name.
#[derive(Debug)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn read(path: &Path) -> Result<Table, StoreError> {
        let bytes = std::fs::read(path)
            .map_err(|source| StoreError::Read { path: path.to_owned(), source })?;
        Table::parse(&bytes)
            .map_err(|message| StoreError::Format { path: path.to_owned(), message })
    }

    pub(crate) fn parse(bytes: &[u8]) -> Result<Table, String> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
        let header =
            reader.headers().map_err(|e| e.to_string())?.iter().map(str::to_owned).collect();
        let rows = reader
            .records()
            .filter_map(Result::ok)
            .map(|r| r.iter().map(str::to_owned).collect())
            .collect();
        Ok(Table { header, rows })
    }

    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn text<'a>(&self, row: &'a [String], col: usize) -> &'a str {
        row.get(col).map_or("", String::as_str)
    }

    fn number(&self, row: &[String], col: Option<usize>) -> f64 {
        col.and_then(|c| row.get(c)).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }
}

/// One line per policy: `metric` against the first swept key, over the cells whose other
/// swept keys are at their first cell's values. `None` when the summary has no such metric
/// or no value of it.
pub(crate) fn metric_series(
    summary: &Table,
    plan: &PlanInfo,
    metric: &str,
) -> Option<(Vec<Series>, Option<Vec<String>>)> {
    let mean = summary.column(&format!("{metric}_mean"))?;
    let lo = summary.column(&format!("{metric}_ci95_lo"));
    let hi = summary.column(&format!("{metric}_ci95_hi"));
    let policy_col = summary.column("policy")?;
    let key_cols: Vec<usize> =
        plan.keys.iter().map(|k| summary.column(k)).collect::<Option<Vec<_>>>()?;
    let first = plan.cells.first()?;
    let rows: Vec<&Vec<String>> = summary
        .rows
        .iter()
        .filter(|row| {
            key_cols.iter().zip(&first.values).skip(1).all(|(&c, v)| summary.text(row, c) == v)
        })
        .collect();
    // Numeric x when every value of the first key is a number; otherwise categories.
    let xs: Vec<&str> = rows.iter().map(|r| summary.text(r, key_cols[0])).collect();
    let numeric = xs.iter().all(|x| x.parse::<f64>().is_ok());
    let mut categories: Vec<String> = Vec::new();
    let mut by_policy: BTreeMap<usize, Series> = BTreeMap::new();
    for (row, x) in rows.iter().zip(&xs) {
        let policy = summary.text(row, policy_col);
        let Some(p) = plan.policies.iter().position(|q| q == policy) else { continue };
        let x = if numeric {
            x.parse().expect("checked above")
        } else {
            let i = categories.iter().position(|c| c == x).unwrap_or_else(|| {
                categories.push((*x).to_owned());
                categories.len() - 1
            });
            i as f64
        };
        let point = Point {
            x,
            y: summary.number(row, Some(mean)),
            lo: summary.number(row, lo),
            hi: summary.number(row, hi),
        };
        by_policy
            .entry(p)
            .or_insert_with(|| Series { name: policy.to_owned(), index: p, points: Vec::new() })
            .points
            .push(point);
    }
    let series: Vec<Series> = by_policy.into_values().collect();
    if series.iter().all(|s| s.points.iter().all(|p| p.y.is_nan())) {
        return None;
    }
    Some((series, (!numeric).then_some(categories)))
}

/// The largest mean drawn over the smallest, when there are two or more and all are
/// positive; `None` otherwise (a log scale could not show them).
pub(crate) fn mean_factor(series: &[Series]) -> Option<f64> {
    let means: Vec<f64> =
        series.iter().flat_map(|s| s.points.iter().map(|p| p.y)).filter(|y| !y.is_nan()).collect();
    if means.len() < 2 || means.iter().any(|y| !(y.is_finite() && *y > 0.0)) {
        return None;
    }
    let (lo, hi) =
        means.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &y| (lo.min(y), hi.max(y)));
    Some(hi / lo)
}

/// The latency CDF of each policy at the last cell (the highest value of the first swept
/// key): each recorded percentile averaged over the replications.
pub(crate) fn cdf_series(extra: &Table, plan: &PlanInfo) -> Option<(String, Vec<Series>)> {
    let cell = plan.cells.last()?.label.clone();
    let cell_col = extra.column("cell")?;
    let policy_col = extra.column("policy")?;
    let cols: Vec<(f64, usize)> = LATENCY_PERCENTILES
        .iter()
        .filter_map(|&p| extra.column(&percentile_column(p)).map(|c| (p, c)))
        .collect();
    let mut series = Vec::new();
    for (index, policy) in plan.policies.iter().enumerate() {
        let rows: Vec<&Vec<String>> = extra
            .rows
            .iter()
            .filter(|r| extra.text(r, cell_col) == cell && extra.text(r, policy_col) == policy)
            .collect();
        let points: Vec<Point> = cols
            .iter()
            .filter_map(|&(p, c)| {
                let values: Vec<f64> = rows
                    .iter()
                    .map(|r| extra.number(r, Some(c)))
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .collect();
                (!values.is_empty()).then(|| {
                    let x = values.iter().sum::<f64>() / values.len() as f64;
                    Point { x, y: p / 100.0, lo: f64::NAN, hi: f64::NAN }
                })
            })
            .collect();
        if !points.is_empty() {
            series.push(Series { name: policy.clone(), index, points });
        }
    }
    (!series.is_empty()).then_some((cell, series))
}

/// The time series of the first run listed in `timeseries.csv`, summed over services, with
/// queue lengths per service and the windows where a fault or a spike was active. `None`
/// when a needed column is missing.
pub(crate) fn time_series(table: &Table) -> Option<TimeSeries> {
    let cell = table.column("cell")?;
    let policy = table.column("policy")?;
    let replication = table.column("replication")?;
    let start = table.column("window_start_s")?;
    let service = table.column("service")?;
    let completions = table.column("completions")?;
    let failures = table.column("failures");
    let queue = table.column("queue_length");
    let fault = table.column("fault_active");
    let spike = table.column("spike_active");
    let p99 = table.column("latency_p99_ms");
    let first = table.rows.first()?;
    let id = |r: &Vec<String>| {
        (
            table.text(r, cell).to_owned(),
            table.text(r, policy).to_owned(),
            table.text(r, replication).to_owned(),
        )
    };
    let run = id(first);
    let rows: Vec<&Vec<String>> = table.rows.iter().filter(|r| id(r) == run).collect();
    // `coordsim run`'s time series has one `*` row per window for the whole system (counting
    // jobs) beside one row per service (counting requests): goodput and failures then come
    // from the `*` rows, queues from the services.
    let whole = rows.iter().any(|r| table.text(r, service) == "*");
    let mut windows: BTreeMap<u64, Window> = BTreeMap::new();
    let mut services: Vec<String> = Vec::new();
    for r in &rows {
        let t = table.number(r, Some(start));
        if !t.is_finite() {
            continue;
        }
        let name = table.text(r, service).to_owned();
        let w =
            windows.entry(t.to_bits()).or_insert_with(|| Window { start: t, ..Window::default() });
        let is_whole = name == "*";
        if is_whole || !whole {
            w.completions += table.number(r, Some(completions)).max(0.0);
            w.failures += table.number(r, failures).max(0.0);
        }
        if is_whole {
            let active = |c: Option<usize>| {
                let v = c.and_then(|c| r.get(c)).map_or("", String::as_str);
                v == "1" || v == "true"
            };
            w.fault |= active(fault);
            w.spike |= active(spike);
            continue;
        }
        let s = services.iter().position(|x| *x == name).unwrap_or_else(|| {
            services.push(name);
            services.len() - 1
        });
        let active = |c: Option<usize>| {
            let v = c.and_then(|c| r.get(c)).map_or("", String::as_str);
            v == "1" || v == "true"
        };
        w.fault |= active(fault);
        w.spike |= active(spike);
        if w.queues.len() <= s {
            w.queues.resize(s + 1, f64::NAN);
        }
        w.queues[s] = table.number(r, queue);
        let v = table.number(r, p99);
        if v.is_finite() {
            w.p99 = w.p99.max(v);
        }
    }
    let mut windows: Vec<Window> = windows.into_values().collect();
    windows.sort_by(|a, b| a.start.total_cmp(&b.start));
    if windows.len() < 2 {
        return None;
    }
    let len = windows[1].start - windows[0].start;
    let spans = |pick: fn(&Window) -> bool| {
        let mut spans: Vec<(f64, f64)> = Vec::new();
        for w in windows.iter().filter(|w| pick(w)) {
            match spans.last_mut() {
                Some(last) if (last.1 - w.start).abs() < len * 1e-6 => last.1 = w.start + len,
                _ => spans.push((w.start, w.start + len)),
            }
        }
        spans
    };
    Some(TimeSeries {
        title: {
            let cell =
                if run.0.is_empty() { String::new() } else { super::cell_words(&run.0) + ", " };
            format!("run: {cell}{}, replication {}", run.1, run.2)
        },
        starts: windows.iter().map(|w| w.start).collect(),
        window_s: len,
        goodput: windows.iter().map(|w| w.completions / len).collect(),
        failures: failures.map(|_| windows.iter().map(|w| w.failures / len).collect()),
        queues: if queue.is_some() {
            services
                .iter()
                .enumerate()
                .map(|(s, name)| {
                    (
                        name.clone(),
                        windows
                            .iter()
                            .map(|w| w.queues.get(s).copied().unwrap_or(f64::NAN))
                            .collect(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        },
        p99: p99
            .map(|_| windows.iter().map(|w| if w.p99 > 0.0 { w.p99 } else { f64::NAN }).collect()),
        fault_spans: spans(|w| w.fault),
        spike_spans: spans(|w| w.spike),
    })
}

#[derive(Debug, Default)]
struct Window {
    start: f64,
    completions: f64,
    failures: f64,
    fault: bool,
    spike: bool,
    queues: Vec<f64>,
    p99: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_series_sums_services_and_merges_spans() {
        let csv = "scenario,cell,policy,replication,seed,window_start_s,service,arrivals,completions,failures,queue_length,utilisation,impaired,fault_active,spike_active\n\
s,,random,0,1,0,a,5,4,0,1,0.5,0,0,0\n\
s,,random,0,1,0,b,5,2,0,3,0.5,0,0,0\n\
s,,random,0,1,2,a,5,6,1,2,0.5,0,1,0\n\
s,,random,0,1,2,b,5,0,0,7,0.5,0,0,0\n\
s,,random,0,1,4,a,5,8,0,0,0.5,0,1,1\n\
s,,random,1,1,0,a,5,100,0,0,0.5,0,0,0\n";
        let ts = time_series(&Table::parse(csv.as_bytes()).unwrap()).unwrap();
        assert_eq!(ts.starts, vec![0.0, 2.0, 4.0]);
        assert_eq!(ts.window_s, 2.0);
        // (4 + 2) / 2 s, (6 + 0) / 2 s, 8 / 2 s; replication 1 is another run.
        assert_eq!(ts.goodput, vec![3.0, 3.0, 4.0]);
        assert_eq!(ts.fault_spans, vec![(2.0, 6.0)], "adjacent windows merge into one span");
        assert_eq!(ts.spike_spans, vec![(4.0, 6.0)]);
        assert_eq!(ts.queues[1].1[..2], [3.0, 7.0]);
    }

    #[test]
    fn a_log_scale_needs_positive_means() {
        let series = |ys: &[f64]| {
            let points = ys.iter().map(|&y| Point { x: 0.0, y, lo: f64::NAN, hi: f64::NAN });
            vec![Series { name: "p".into(), index: 0, points: points.collect() }]
        };
        assert_eq!(mean_factor(&series(&[2.0, f64::NAN, 100.0])), Some(50.0));
        assert_eq!(mean_factor(&series(&[0.0, 100.0])), None, "0 has no logarithm");
        assert_eq!(mean_factor(&series(&[5.0])), None);
    }

    #[test]
    fn missing_columns_mean_no_chart() {
        let t = Table::parse(b"cell,policy\n,random\n").unwrap();
        assert!(time_series(&t).is_none());
    }
}
