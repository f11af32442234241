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

/// The time series of the first run listed in `timeseries.csv`: goodput and failures from
/// its whole-system (`*`) rows, queue lengths per service, and the windows where a fault or
/// a spike was active. `None` when a needed column is missing.
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
    // Flags are written as 0 or 1.
    let active = |r: &[String], c: Option<usize>| c.is_some_and(|c| table.text(r, c) == "1");
    // Each window has one `*` row for the whole system (counting jobs, and flagged while any
    // fault or the spike is active) beside one row per service (counting requests): goodput,
    // failures and the shading come from the `*` rows, queues from the services.
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
        if name == "*" {
            w.completions += table.number(r, Some(completions)).max(0.0);
            w.failures += table.number(r, failures).max(0.0);
            w.fault |= active(r, fault);
            w.spike |= active(r, spike);
            continue;
        }
        let s = services.iter().position(|x| *x == name).unwrap_or_else(|| {
            services.push(name);
            services.len() - 1
        });
        if w.queues.len() <= s {
            w.queues.resize(s + 1, f64::NAN);
        }
        w.queues[s] = table.number(r, queue);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    #[test]
    fn time_series_reads_the_whole_system_rows_and_the_service_queues() {
        // Rows as `report::timeseries_csv` writes them: per window a `*` row (jobs, with
        // `jobs_in_system` and no `slo_missed`) and one row per service (requests). After
        // the service name: arrivals, completions, failures, queue_length, utilisation,
        // impaired, fault_active, spike_active, slo_missed, jobs_in_system, replicas.
        let cell = "classes.order.arrival.rate=350";
        let mut csv = catalogue::TIMESERIES_COLUMNS.join(",") + "\n";
        let mut row = |policy: &str, start: &str, service: &str, rest: &str| {
            let line = format!("checkout,{cell},{policy},0,1,{start},{service},{rest}");
            assert_eq!(line.split(',').count(), catalogue::TIMESERIES_COLUMNS.len(), "{line}");
            csv += &(line + "\n");
        };
        row("central", "0.000000", "*", "10,8,2,0.500000,0.300000,0,0,0,,3.500000,4.000000");
        row("central", "0.000000", "a", "30,20,0,1.500000,0.400000,0,0,0,0,,2.000000");
        row("central", "0.000000", "b", "30,25,1,4.000000,0.600000,0,0,0,1,,2.000000");
        row("central", "2.000000", "*", "10,6,0,0.250000,0.300000,1,1,0,,5.000000,4.000000");
        row("central", "2.000000", "a", "20,12,3,2.250000,0.900000,1,1,0,2,,2.000000");
        row("central", "2.000000", "b", "20,18,0,0.000000,0.500000,0,0,0,0,,2.000000");
        row("central", "4.000000", "*", "10,10,0,0.000000,0.300000,0,1,1,,1.000000,4.000000");
        row("central", "4.000000", "a", "20,20,0,0.750000,0.500000,0,1,1,0,,2.000000");
        row("central", "4.000000", "b", "20,20,0,1.000000,0.500000,0,0,1,0,,2.000000");
        row("central", "6.000000", "*", "10,4,0,0.000000,0.300000,0,0,1,,0.500000,4.000000");
        row("central", "6.000000", "a", "20,9,0,0.000000,0.200000,0,0,1,0,,2.000000");
        row("central", "6.000000", "b", "20,9,0,0.500000,0.200000,0,0,1,0,,2.000000");
        // Another run, which the chart leaves out.
        row("random", "0.000000", "*", "10,100,0,0.000000,0.300000,0,1,1,,0.000000,4.000000");
        row("random", "0.000000", "a", "30,300,0,9.000000,0.400000,0,1,1,0,,2.000000");
        let ts = time_series(&Table::parse(csv.as_bytes()).unwrap()).unwrap();
        assert_eq!(ts.title, "run: order arrival rate = 350 jobs/s, central, replication 0");
        assert_eq!(ts.starts, [0.0, 2.0, 4.0, 6.0]);
        assert_eq!(ts.window_s, 2.0);
        // The `*` rows' jobs per window over 2 s: 8, 6, 10, 4 completed, 2, 0, 0, 0 failed
        // (not the services' requests).
        assert_eq!(ts.goodput, [4.0, 3.0, 5.0, 2.0]);
        assert_eq!(ts.failures, Some(vec![1.0, 0.0, 0.0, 0.0]));
        let queues: Vec<(&str, &[f64])> =
            ts.queues.iter().map(|(n, q)| (n.as_str(), q.as_slice())).collect();
        assert_eq!(queues, [("a", &[1.5, 2.25, 0.75, 0.0][..]), ("b", &[4.0, 0.0, 1.0, 0.5][..])]);
        assert_eq!(ts.fault_spans, [(2.0, 6.0)], "adjacent windows merge into one span");
        assert_eq!(ts.spike_spans, [(4.0, 8.0)]);
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
