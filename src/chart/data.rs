//! From result files to what a chart shows: a tolerant CSV reader (columns found by name,
//! empty or missing cells skipped) and the series of each chart: a metric against the first
//! swept key, the latency CDF, one run's time series (with its replica counts when agents
//! changed them) and a trade-off of two metrics, one point per cell and policy.

use std::collections::BTreeMap;
use std::path::Path;

use super::draw::{Estimate, Point, Series, TimeSeries, TradeOffPoint, TradeOffSeries};
use crate::sweep::plan::PlanInfo;
use crate::sweep::store::StoreError;

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
    // Numeric x when every value of the first key is a number; otherwise categories, named
    // in words (`["hpa"]` as "hpa").
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
            flagged: false,
        };
        by_policy
            .entry(p)
            .or_insert_with(|| Series {
                name: policy.to_owned(),
                index: p,
                points: Vec::new(),
                note: None,
            })
            .points
            .push(point);
    }
    let series: Vec<Series> = by_policy.into_values().collect();
    if series.iter().all(|s| s.points.iter().all(|p| p.y.is_nan())) {
        return None;
    }
    let names = categories.iter().map(|c| super::value_words(c)).collect();
    Some((series, (!numeric).then_some(names)))
}

/// `y_metric` against `x_metric`, one point per cell and policy (every cell of the sweep),
/// each labelled with its cell's swept values in words (`hpa`, `none` for `[]`; several
/// keys' values joined by ", "). `None` when a mean column is missing, no point has both
/// means, or `x_metric` is the same in every cell for every policy (nothing to trade).
pub(crate) fn trade_off(
    summary: &Table,
    plan: &PlanInfo,
    x_metric: &str,
    y_metric: &str,
) -> Option<Vec<TradeOffSeries>> {
    let estimate = |metric: &str| -> Option<_> {
        let mean = summary.column(&format!("{metric}_mean"))?;
        let lo = summary.column(&format!("{metric}_ci95_lo"));
        let hi = summary.column(&format!("{metric}_ci95_hi"));
        Some(move |row: &[String]| Estimate {
            mean: summary.number(row, Some(mean)),
            lo: summary.number(row, lo),
            hi: summary.number(row, hi),
        })
    };
    let (x, y) = (estimate(x_metric)?, estimate(y_metric)?);
    let cell_col = summary.column("cell")?;
    let policy_col = summary.column("policy")?;
    let mut by_policy: BTreeMap<usize, TradeOffSeries> = BTreeMap::new();
    for row in &summary.rows {
        let policy = summary.text(row, policy_col);
        let Some(p) = plan.policies.iter().position(|q| q == policy) else { continue };
        let label = summary.text(row, cell_col);
        let Some(cell) = plan.cells.iter().find(|c| c.label == label) else { continue };
        let point = TradeOffPoint {
            label: cell.values.iter().map(|v| super::value_words(v)).collect::<Vec<_>>().join(", "),
            x: x(row),
            y: y(row),
        };
        if !(point.x.mean.is_finite() && point.y.mean.is_finite()) {
            continue;
        }
        by_policy
            .entry(p)
            .or_insert_with(|| TradeOffSeries {
                name: policy.to_owned(),
                index: p,
                points: Vec::new(),
            })
            .points
            .push(point);
    }
    let series: Vec<TradeOffSeries> = by_policy.into_values().collect();
    // Cells differ in x when, for some policy, two of its points do: points of one policy
    // are of different cells.
    let differs = series.iter().any(|s| {
        let first = s.points.first().map_or(0.0, |p| p.x.mean);
        s.points.iter().any(|p| (p.x.mean - first).abs() > 1e-9 * first.abs().max(1.0))
    });
    differs.then_some(series)
}

/// The largest mean drawn over the smallest, when there are two or more and all are
/// positive; `None` otherwise (a log scale could not show them).
pub(crate) fn mean_factor(series: &[Series]) -> Option<f64> {
    factor(series.iter().flat_map(|s| s.points.iter().map(|p| p.y)))
}

/// Whether every mean drawn is the same (NaN left out).
pub(crate) fn is_constant(series: &[Series]) -> bool {
    let mut means =
        series.iter().flat_map(|s| s.points.iter().map(|p| p.y)).filter(|y| !y.is_nan());
    match means.next() {
        Some(first) => means.all(|y| y == first),
        None => true,
    }
}

/// The largest of `means` over the smallest, as [`mean_factor`] (NaN left out).
pub(crate) fn factor(means: impl Iterator<Item = f64>) -> Option<f64> {
    let means: Vec<f64> = means.filter(|y| !y.is_nan()).collect();
    if means.len() < 2 || means.iter().any(|y| !(y.is_finite() && *y > 0.0)) {
        return None;
    }
    let (lo, hi) =
        means.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &y| (lo.min(y), hi.max(y)));
    Some(hi / lo)
}

/// Rings the points of `series` whose cell and policy failed more than `threshold` of their
/// jobs by the mean of `failed` (the `failed_ratio` series of the same chart: the same
/// policies at the same x).
pub(crate) fn flag_failures(series: &mut [Series], failed: &[Series], threshold: f64) {
    for s in series {
        let Some(f) = failed.iter().find(|f| f.index == s.index) else { continue };
        for p in &mut s.points {
            p.flagged = f.points.iter().any(|q| q.x == p.x && q.y > threshold);
        }
    }
}

/// The latency CDF of each policy at the last cell, from `latency_cdf.csv`: the share of
/// the jobs that arrived which completed within each latency, pooled over replications;
/// each series notes the share that completed at all when some did not.
pub(crate) fn cdf_series(cdf: &Table, plan: &PlanInfo) -> Option<(String, Vec<Series>)> {
    let cell = plan.cells.last()?.label.clone();
    let cell_col = cdf.column("cell")?;
    let policy_col = cdf.column("policy")?;
    let latency_col = cdf.column("latency_ms");
    let share_col = cdf.column("share_within");
    let mut series = Vec::new();
    for (index, policy) in plan.policies.iter().enumerate() {
        let points: Vec<Point> = cdf
            .rows
            .iter()
            .filter(|r| cdf.text(r, cell_col) == cell && cdf.text(r, policy_col) == policy)
            .map(|r| Point::at(cdf.number(r, latency_col), cdf.number(r, share_col)))
            .filter(|p| p.x.is_finite() && p.x > 0.0 && p.y.is_finite())
            .collect();
        let Some(last) = points.last() else { continue };
        // Shares are written to 6 significant digits: below 0.9995 some jobs are missing.
        let note = (last.y < 0.9995).then(|| format!("{:.1}% completed", last.y * 100.0));
        series.push(Series { name: policy.clone(), index, points, note });
    }
    (!series.is_empty()).then_some((cell, series))
}

/// The time series of the first run listed in `timeseries.csv`: goodput and failures from
/// its whole-system (`*`) rows, queue lengths per service, the replicas of each service when
/// any service's count changes during the run (agents scaled or restarted; otherwise none,
/// and the chart is drawn as without agents), and the windows where a fault or a spike was
/// active. `None` when a needed column is missing.
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
    let replicas = table.column("replicas");
    let wasted = table.column("wasted_work");
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
            w.wasted = table.number(r, wasted);
            continue;
        }
        let s = services.iter().position(|x| *x == name).unwrap_or_else(|| {
            services.push(name);
            services.len() - 1
        });
        if w.queues.len() <= s {
            w.queues.resize(s + 1, f64::NAN);
            w.replicas.resize(s + 1, f64::NAN);
        }
        w.queues[s] = table.number(r, queue);
        w.replicas[s] = table.number(r, replicas);
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
            per_service(&services, &windows, |w| &w.queues)
        } else {
            Vec::new()
        },
        replicas: {
            let counts = per_service(&services, &windows, |w| &w.replicas);
            let changes = |values: &[f64]| {
                let mut finite = values.iter().filter(|v| v.is_finite());
                let first = finite.next().copied().unwrap_or(f64::NAN);
                finite.any(|v| (v - first).abs() > 1e-9)
            };
            if counts.iter().any(|(_, v)| changes(v)) {
                counts
            } else {
                Vec::new()
            }
        },
        wasted: {
            let values: Vec<f64> = windows.iter().map(|w| w.wasted).collect();
            values.iter().any(|&v| v > 0.0).then_some(values)
        },
        fault_spans: spans(|w| w.fault),
        spike_spans: spans(|w| w.spike),
    })
}

/// Each service's values over the windows (NaN where a window has none).
fn per_service(
    services: &[String],
    windows: &[Window],
    values: fn(&Window) -> &Vec<f64>,
) -> Vec<(String, Vec<f64>)> {
    let at = |w: &Window, s: usize| values(w).get(s).copied().unwrap_or(f64::NAN);
    services
        .iter()
        .enumerate()
        .map(|(s, name)| (name.clone(), windows.iter().map(|w| at(w, s)).collect()))
        .collect()
}

#[derive(Debug, Default)]
struct Window {
    start: f64,
    completions: f64,
    failures: f64,
    fault: bool,
    spike: bool,
    queues: Vec<f64>,
    replicas: Vec<f64>,
    /// The `*` row's wasted share (NaN when none was decided, or no such column).
    wasted: f64,
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
        row(
            "central",
            "0.000000",
            "*",
            "10,8,2,0.500000,0.300000,0,0,0,,3.500000,4.000000,0.000000",
        );
        row("central", "0.000000", "a", "30,20,0,1.500000,0.400000,0,0,0,0,,2.000000,");
        row("central", "0.000000", "b", "30,25,1,4.000000,0.600000,0,0,0,1,,2.000000,");
        row(
            "central",
            "2.000000",
            "*",
            "10,6,0,0.250000,0.300000,1,1,0,,5.000000,4.000000,0.000000",
        );
        row("central", "2.000000", "a", "20,12,3,2.250000,0.900000,1,1,0,2,,2.000000,");
        row("central", "2.000000", "b", "20,18,0,0.000000,0.500000,0,0,0,0,,2.000000,");
        row(
            "central",
            "4.000000",
            "*",
            "10,10,0,0.000000,0.300000,0,1,1,,1.000000,4.000000,0.000000",
        );
        row("central", "4.000000", "a", "20,20,0,0.750000,0.500000,0,1,1,0,,2.000000,");
        row("central", "4.000000", "b", "20,20,0,1.000000,0.500000,0,0,1,0,,2.000000,");
        row(
            "central",
            "6.000000",
            "*",
            "10,4,0,0.000000,0.300000,0,0,1,,0.500000,4.000000,0.000000",
        );
        row("central", "6.000000", "a", "20,9,0,0.000000,0.200000,0,0,1,0,,2.000000,");
        row("central", "6.000000", "b", "20,9,0,0.500000,0.200000,0,0,1,0,,2.000000,");
        // Another run, which the chart leaves out.
        row(
            "random",
            "0.000000",
            "*",
            "10,100,0,0.000000,0.300000,0,1,1,,0.000000,4.000000,0.000000",
        );
        row("random", "0.000000", "a", "30,300,0,9.000000,0.400000,0,1,1,0,,2.000000,");
        let ts = time_series(&Table::parse(csv.as_bytes()).unwrap()).unwrap();
        assert_eq!(ts.title, "run: order arrival rate = 350 orders/s, central, replication 0");
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
        assert!(ts.replicas.is_empty(), "no service's replicas change: no replicas panel");
        assert_eq!(ts.wasted, None, "nothing wasted: no wasted-work panel");
    }

    /// A run of two services over three windows, `b` with the given replicas per window.
    fn scaled_run(b: [&str; 3]) -> Table {
        let mut csv = catalogue::TIMESERIES_COLUMNS.join(",") + "\n";
        for (w, b) in b.iter().enumerate() {
            let start = format!("{w}.000000");
            let total = 2.0 + b.parse::<f64>().unwrap();
            csv += &format!("s,,hpa,0,1,{start},*,10,10,0,0,0.5,0,0,0,,1,{total:.6},\n");
            csv += &format!("s,,hpa,0,1,{start},a,10,10,0,0,0.5,0,0,0,0,,2.000000,\n");
            csv += &format!("s,,hpa,0,1,{start},b,10,10,0,0,0.5,0,0,0,0,,{b},\n");
        }
        Table::parse(csv.as_bytes()).unwrap()
    }

    #[test]
    fn replicas_are_charted_when_a_service_scales() {
        let ts = time_series(&scaled_run(["2.000000", "2.500000", "4.000000"])).unwrap();
        let replicas: Vec<(&str, &[f64])> =
            ts.replicas.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        // Per service (not the `*` total), one value per window, every service once one
        // changes.
        assert_eq!(replicas, [("a", &[2.0, 2.0, 2.0][..]), ("b", &[2.0, 2.5, 4.0][..])]);
        let steady = time_series(&scaled_run(["3.000000"; 3])).unwrap();
        assert!(steady.replicas.is_empty(), "{:?}", steady.replicas);
        // Files written before agents have no `replicas` column.
        let old = "scenario,cell,policy,replication,seed,window_start_s,service,completions\n\
                   s,,p,0,1,0,a,1\ns,,p,0,1,1,a,2\n";
        let ts = time_series(&Table::parse(old.as_bytes()).unwrap()).unwrap();
        assert!(ts.replicas.is_empty());
    }

    #[test]
    fn wasted_work_is_charted_from_the_whole_system_rows_when_any_was_wasted() {
        let mut csv = catalogue::TIMESERIES_COLUMNS.join(",") + "\n";
        for (w, wasted) in ["0.000000", "0.250000", ""].iter().enumerate() {
            csv += &format!("s,,p,0,1,{w}.000000,*,10,10,0,0,0.5,0,0,0,,1,2,{wasted}\n");
            csv += &format!("s,,p,0,1,{w}.000000,a,10,10,0,0,0.5,0,0,0,0,,2,\n");
        }
        let ts = time_series(&Table::parse(csv.as_bytes()).unwrap()).unwrap();
        let wasted = ts.wasted.expect("a window wasted work");
        assert_eq!(wasted[..2], [0.0, 0.25]);
        assert!(wasted[2].is_nan(), "a window where nothing was decided has no value");
    }

    fn plan(cells: &[&str]) -> PlanInfo {
        use crate::sweep::plan::CellInfo;
        PlanInfo {
            scenario: "autoscale".into(),
            scenario_hash: String::new(),
            keys: vec!["control.active".into()],
            cells: cells
                .iter()
                .map(|v| CellInfo {
                    label: format!("control.active={v}"),
                    values: vec![(*v).to_owned()],
                    seed: 1,
                })
                .collect(),
            policies: vec!["power_of_d".into(), "round_robin".into()],
            reference: "power_of_d".into(),
            replications: 3,
            precision: Vec::new(),
            max_replications: 3,
            warmup_s: 0.0,
            classes: Vec::new(),
        }
    }

    /// A summary.csv with the catalogue's columns, giving replica-seconds and p99 latency
    /// (mean, low, high) per (cell, policy) row; other metrics empty.
    fn summary(rows: &[(&str, &str, [&str; 3], [&str; 3])]) -> Table {
        let mut header = vec!["scenario", "cell", "control.active", "policy", "n"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        for m in catalogue::summarised_names() {
            header.extend([format!("{m}_mean"), format!("{m}_ci95_lo"), format!("{m}_ci95_hi")]);
        }
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(&header).unwrap();
        for (value, policy, cost, p99) in rows {
            let mut row = vec![String::new(); header.len()];
            row[..5].clone_from_slice(&[
                "autoscale".into(),
                format!("control.active={value}"),
                (*value).to_owned(),
                (*policy).to_owned(),
                "3".into(),
            ]);
            for (metric, values) in [("replica_seconds", cost), ("latency_p99_ms", p99)] {
                let at = header.iter().position(|h| *h == format!("{metric}_mean")).unwrap();
                for (k, v) in values.iter().enumerate() {
                    row[at + k] = (*v).to_owned();
                }
            }
            out.write_record(&row).unwrap();
        }
        Table::parse(&out.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn the_trade_off_has_a_point_per_cell_and_policy_labelled_by_its_cell() {
        let cells = [r#"[]"#, r#"["hpa"]"#, r#"["hpa_tuned", "bandit"]"#];
        let table = summary(&[
            (cells[0], "power_of_d", ["5700", "5700", "5700"], ["3773", "3530", "4016"]),
            (cells[0], "round_robin", ["5700", "5700", "5700"], ["3864", "3662", "4065"]),
            (cells[1], "power_of_d", ["11817", "11572", "12062"], ["440", "420", "460"]),
            (cells[1], "round_robin", ["11574", "11321", "11826"], ["", "", ""]),
            (cells[2], "power_of_d", ["12924", "12251", "13597"], ["4725", "", ""]),
            (cells[2], "random", ["1", "1", "1"], ["1", "1", "1"]),
        ]);
        let series = trade_off(&table, &plan(&cells), "replica_seconds", "latency_p99_ms").unwrap();
        let e = |mean, lo, hi| Estimate { mean, lo, hi };
        assert_eq!(series.len(), 2);
        assert_eq!((series[0].name.as_str(), series[0].index), ("power_of_d", 0));
        let points = &series[0].points;
        assert_eq!(points.len(), 3);
        assert_eq!(
            points[..2],
            [
                TradeOffPoint {
                    label: "none".into(),
                    x: e(5700.0, 5700.0, 5700.0),
                    y: e(3773.0, 3530.0, 4016.0)
                },
                TradeOffPoint {
                    label: "hpa".into(),
                    x: e(11817.0, 11572.0, 12062.0),
                    y: e(440.0, 420.0, 460.0)
                },
            ]
        );
        // Without an interval, its ends are NaN (and no error bar is drawn).
        assert_eq!(points[2].label, "hpa_tuned+bandit");
        assert_eq!((points[2].x, points[2].y.mean), (e(12924.0, 12251.0, 13597.0), 4725.0));
        assert!(points[2].y.lo.is_nan() && points[2].y.hi.is_nan());
        // round_robin's `["hpa"]` row has no latency: left out; `random` is not a policy of
        // the plan.
        let labels: Vec<&str> = series[1].points.iter().map(|p| p.label.as_str()).collect();
        assert_eq!((series[1].name.as_str(), labels), ("round_robin", vec!["none"]));
    }

    #[test]
    fn text_values_on_an_x_axis_are_named_in_words() {
        let cells = [r#"[]"#, r#"["hpa"]"#, r#"["hpa_tuned", "bandit"]"#];
        let rows = cells.map(|c| (c, "power_of_d", ["1", "1", "1"], ["2", "1", "3"]));
        let (series, names) = metric_series(&summary(&rows), &plan(&cells), "latency_p99_ms")
            .expect("a p99 latency in each cell");
        assert_eq!(names.unwrap(), ["none", "hpa", "hpa_tuned+bandit"]);
        let xs: Vec<f64> = series[0].points.iter().map(|p| p.x).collect();
        assert_eq!(xs, [0.0, 1.0, 2.0]);
    }

    #[test]
    fn no_trade_off_when_the_cost_is_the_same_in_every_cell() {
        let cells = ["2", "4"];
        let row = |cell, policy, cost| (cell, policy, [cost, "", ""], ["10", "9", "11"]);
        let same = summary(&[
            row(cells[0], "power_of_d", "100"),
            row(cells[1], "power_of_d", "100"),
            row(cells[0], "round_robin", "120"),
            row(cells[1], "round_robin", "120"),
        ]);
        let plan = plan(&cells);
        assert!(trade_off(&same, &plan, "replica_seconds", "latency_p99_ms").is_none());
        let differs = summary(&[
            row(cells[0], "power_of_d", "100"),
            row(cells[1], "power_of_d", "100"),
            row(cells[0], "round_robin", "120"),
            row(cells[1], "round_robin", "130"),
        ]);
        let series = trade_off(&differs, &plan, "replica_seconds", "latency_p99_ms").unwrap();
        assert!(series[0].points[0].x.lo.is_nan(), "an empty interval end is NaN");
        assert!(trade_off(&differs, &plan, "replica_seconds", "no_such_metric").is_none());
    }

    #[test]
    fn a_log_scale_needs_positive_means() {
        let series = |ys: &[f64]| {
            let points = ys.iter().map(|&y| Point::at(0.0, y));
            vec![Series { name: "p".into(), index: 0, points: points.collect(), note: None }]
        };
        assert_eq!(mean_factor(&series(&[2.0, f64::NAN, 100.0])), Some(50.0));
        assert_eq!(mean_factor(&series(&[0.0, 100.0])), None, "0 has no logarithm");
        assert_eq!(mean_factor(&series(&[5.0])), None);
    }

    #[test]
    fn latency_points_are_ringed_where_their_policy_failed_more_than_the_threshold() {
        let line = |index: usize, ys: &[f64]| Series {
            name: format!("p{index}"),
            index,
            points: ys.iter().enumerate().map(|(x, &y)| Point::at(x as f64, y)).collect(),
            note: None,
        };
        let mut latency = vec![line(0, &[100.0, 200.0, 300.0]), line(1, &[100.0, 150.0, 900.0])];
        // Policy 1 fails 0.5% then 1% (not more) then 20%; policy 0 fails 2% at x = 1 only.
        let failed = vec![line(1, &[0.0, 0.01, 0.2]), line(0, &[0.0, 0.02, 0.0])];
        flag_failures(&mut latency, &failed, 0.01);
        let flags = |s: &Series| s.points.iter().map(|p| p.flagged).collect::<Vec<_>>();
        assert_eq!(flags(&latency[0]), [false, true, false]);
        assert_eq!(flags(&latency[1]), [false, false, true]);
    }

    #[test]
    fn the_cdf_notes_the_share_that_completed_when_some_did_not() {
        let text = "scenario,cell,policy,latency_ms,jobs_within,jobs_arrived,share_within\n\
                    s,control.active=c,random,1,5,10,0.5\n\
                    s,control.active=c,random,2,9,10,0.9\n\
                    s,control.active=c,round_robin,1,10,10,1\n";
        let cdf = Table::parse(text.as_bytes()).unwrap();
        let mut plan = plan(&["c"]);
        plan.policies = vec!["random".into(), "round_robin".into()];
        let (cell, series) = cdf_series(&cdf, &plan).unwrap();
        assert_eq!(cell, "control.active=c");
        assert_eq!(
            series[0].points.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>(),
            [(1.0, 0.5), (2.0, 0.9)]
        );
        assert_eq!(series[0].note.as_deref(), Some("90.0% completed"));
        assert_eq!(series[1].note, None, "every job completed: nothing to note");
    }

    #[test]
    fn missing_columns_mean_no_chart() {
        let t = Table::parse(b"cell,policy\n,random\n").unwrap();
        assert!(time_series(&t).is_none());
    }
}
