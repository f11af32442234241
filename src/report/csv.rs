//! The result tables of runs, columns named exactly as in docs/model.md section 8:
//! `runs.csv` (a row per run), `faults.csv` (per fault instance), `classes.csv` (per run and
//! job class) and `timeseries.csv` (per run and window, for the whole system and each service).
//!
//! Floats are written with six decimals (nanosecond resolution for milliseconds), a missing
//! value (no completed job, so no latency) as an empty cell. Formatting depends only on the
//! records, so equal records give byte-identical files.

use super::RunRecord;
use crate::catalogue::{
    CLASSES_COLUMNS, FAULTS_COLUMNS, KEY_COLUMNS, RUNS_COLUMNS, SERVICES_COLUMNS,
    TIMESERIES_COLUMNS,
};

/// A float as a CSV cell: six decimals, or empty when undefined.
pub(crate) fn float_cell(value: f64) -> String {
    let mut cell = String::new();
    push_float_cell(&mut cell, value);
    cell
}

/// Appends `value` as `float_cell` writes it: `format!("{value:.6}")`, or nothing when it is
/// not finite.
///
/// Most cells take a shortcut that gives the same bytes at a fraction of the cost (a long run's
/// `timeseries.csv` has five floats in each of its rows): for `0 <= value < 10^9`, `value *
/// 10^6` is below 2^53 and carries one rounding error of at most half an ulp, so unless it
/// lies within an ulp of a half (where that error could decide the rounding) it rounds to the
/// same integer as the exact product, which is what `{:.6}` prints. Every other value, ties
/// and near-ties included, goes to the standard formatter.
pub(crate) fn push_float_cell(out: &mut String, value: f64) {
    use std::fmt::Write as _;
    if !value.is_finite() {
        return;
    }
    if value.is_sign_positive() && value < 1e9 {
        let scaled = value * 1e6;
        let fraction = scaled - scaled.floor();
        if (fraction - 0.5).abs() > 2.0 * f64::EPSILON * scaled.max(1.0) {
            let micros = scaled.round() as u64;
            let mut digits = itoa::Buffer::new();
            out.push_str(digits.format(micros / 1_000_000));
            out.push('.');
            let fraction = digits.format(micros % 1_000_000);
            (fraction.len()..6).for_each(|_| out.push('0'));
            out.push_str(fraction);
            return;
        }
    }
    write!(out, "{value:.6}").expect("writing to a string cannot fail");
}

/// The key columns of a run (`KEY_COLUMNS`).
fn key(r: &RunRecord) -> [String; KEY_COLUMNS.len()] {
    [
        r.scenario.clone(),
        r.cell.clone(),
        r.policy.clone(),
        r.replication.to_string(),
        r.seed.to_string(),
    ]
}

/// Writes `header`, then for each record, in the order given, the rows `rows` makes of it,
/// each after the record's key columns.
fn keyed_csv<'a, Row, Rows>(
    records: &'a [RunRecord],
    header: &[&str],
    rows: impl Fn(&'a RunRecord) -> Rows,
) -> Vec<u8>
where
    Rows: Iterator<Item = Row>,
    Row: IntoIterator<Item = String>,
{
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header).expect("writing to memory cannot fail");
    for r in records {
        let key = key(r);
        for row in rows(r) {
            let row = key.iter().cloned().chain(row);
            out.write_record(row).expect("writing to memory cannot fail");
        }
    }
    out.into_inner().expect("flushing to memory cannot fail")
}

/// Renders `records` as `runs.csv`, in the order given.
pub fn runs_csv(records: &[RunRecord]) -> Vec<u8> {
    keyed_csv(records, &RUNS_COLUMNS, |r| {
        let s = &r.summary;
        // In the order of `catalogue::METRICS`.
        let row = [
            s.jobs_arrived.to_string(),
            s.jobs_completed.to_string(),
            s.jobs_failed.to_string(),
            s.jobs_in_flight.to_string(),
            float_cell(s.failed_ratio),
            float_cell(s.goodput_per_s),
            float_cell(s.latency_mean_ms),
            float_cell(s.latency_p50_ms),
            float_cell(s.latency_p90_ms),
            float_cell(s.latency_p99_ms),
            float_cell(s.latency_p999_ms),
            s.messages_total.to_string(),
            float_cell(s.messages_per_job),
        ]
        .into_iter()
        .chain(s.messages_by_kind.iter().map(u64::to_string))
        .chain([
            float_cell(s.placement_wait_mean_ms),
            float_cell(s.scheduler_queue_mean_ms),
            float_cell(s.decision_staleness_mean_ms),
            float_cell(s.decision_staleness_p99_ms),
            float_cell(s.gossip_spread_rounds),
            float_cell(s.gossip_spread_s),
            float_cell(s.dup_work_ratio),
            s.dup_executions.to_string(),
            s.dup_timeout_retry.to_string(),
            s.dup_hedge.to_string(),
            s.dup_reauction.to_string(),
            s.dup_conflicting_claim.to_string(),
            s.dup_false_suspicion.to_string(),
            float_cell(s.wasted_work_ratio),
            float_cell(s.wasted_timeout),
            float_cell(s.wasted_cancelled),
            float_cell(s.wasted_crash),
            float_cell(s.wasted_duplicate),
            float_cell(s.wasted_failed),
            float_cell(s.attempts_per_job),
            s.jobs_shed.to_string(),
            s.dropped_expired.to_string(),
            s.faults_injected.to_string(),
            s.faults_untouched.to_string(),
            float_cell(s.cascades_contained),
            float_cell(s.blast_radius_mean),
            float_cell(s.secondary_impaired_s),
            s.approvals.to_string(),
            s.rejections.to_string(),
            s.escalations.to_string(),
            float_cell(s.human_wait_mean_ms),
            float_cell(s.replica_seconds),
            float_cell(s.cost),
            s.scale_ups.to_string(),
            s.scale_downs.to_string(),
            s.restarts.to_string(),
            s.ejections.to_string(),
            s.escalations_by_agents.to_string(),
            s.flaps.to_string(),
            s.agent_conflicts.to_string(),
            float_cell(s.time_to_recover_s),
            s.faults_unrecovered.to_string(),
            float_cell(s.regret),
            s.events.to_string(),
            s.fingerprint.to_string(),
        ]);
        std::iter::once(row)
    })
}

/// Renders every fault instance of every run as `faults.csv`, runs in the order given.
pub fn faults_csv(records: &[RunRecord]) -> Vec<u8> {
    keyed_csv(records, &FAULTS_COLUMNS, |r| {
        r.summary.faults.iter().map(|f| {
            [
                f.kind.to_owned(),
                f.target.clone(),
                float_cell(f.start.as_secs_f64()),
                float_cell(f.end.as_secs_f64()),
                f.touched.to_string(),
                f.cascade_size.to_string(),
                f.cascade_services.join(";"),
                f.time_to_recover_s.map_or(String::new(), float_cell),
            ]
        })
    })
}

/// Renders the per-class latency of every run as `classes.csv`, runs in the order given.
pub fn classes_csv(records: &[RunRecord]) -> Vec<u8> {
    keyed_csv(records, &CLASSES_COLUMNS, |r| {
        r.summary.classes.iter().map(|c| {
            [
                c.class.clone(),
                c.jobs_completed.to_string(),
                float_cell(c.latency_mean_ms),
                float_cell(c.latency_p50_ms),
                float_cell(c.latency_p90_ms),
                float_cell(c.latency_p99_ms),
                float_cell(c.latency_p999_ms),
            ]
        })
    })
}

/// Renders every replica group of every service of every run as `services.csv`: its
/// replicas at the start and the end, their use (`replica_seconds`) and `cost`, and the
/// control actions on it.
pub fn services_csv(records: &[RunRecord]) -> Vec<u8> {
    keyed_csv(records, &SERVICES_COLUMNS, |r| {
        r.summary.services.iter().map(|s| {
            [
                s.service.clone(),
                s.group.clone(),
                s.replicas_initial.to_string(),
                s.replicas_final.to_string(),
                float_cell(s.replica_seconds),
                float_cell(s.cost),
                s.scale_ups.to_string(),
                s.scale_downs.to_string(),
                s.restarts.to_string(),
                s.ejections.to_string(),
            ]
        })
    })
}

/// Renders the time series of every run as `timeseries.csv`: per window, one row for all
/// services together (`service` = `*`, with `jobs_in_system`; its arrivals, completions and
/// failures are jobs) and one per service (requests). Flags are 0 or 1.
pub fn timeseries_csv(records: &[RunRecord]) -> Vec<u8> {
    // A long run has a row per window and service, so the cells are written from reused
    // buffers rather than as a `String` each (the rows were about 3% of a 1M-job M/M/c
    // process); the bytes are those of `float_cell` and `to_string`.
    let mut out = RowWriter::new(csv::Writer::from_writer(Vec::new()));
    out.csv.write_record(TIMESERIES_COLUMNS).expect("writing to memory cannot fail");
    for r in records {
        let key = key(r);
        let ts = &r.summary.timeseries;
        let n = ts.services.len();
        for (k, w) in ts.windows.iter().enumerate() {
            let start = float_cell(w.start.as_secs_f64());
            out.text(&key);
            out.text([start.as_str(), "*"]);
            out.int([w.arrivals, w.completions, w.failures]);
            out.float([w.queue_length, w.utilisation]);
            out.flag([w.impaired, w.fault_active, w.spike_active]);
            out.text([""]);
            out.float([w.jobs_in_system, w.replicas, w.wasted_work]);
            out.end();
            for (s, sw) in ts.service_windows[k * n..(k + 1) * n].iter().enumerate() {
                out.text(&key);
                out.text([start.as_str(), ts.services[s].as_str()]);
                out.int([sw.arrivals, sw.completions, sw.failures]);
                out.float([sw.queue_length, sw.utilisation]);
                out.flag([sw.impaired, sw.fault_active, w.spike_active]);
                out.int([sw.slo_missed]);
                out.text([""]);
                out.float([sw.replicas]);
                out.text([""]);
                out.end();
            }
        }
    }
    out.csv.into_inner().expect("flushing to memory cannot fail")
}

/// Writes a CSV row cell by cell, formatting numbers into reused buffers.
struct RowWriter {
    csv: csv::Writer<Vec<u8>>,
    float: String,
    int: itoa::Buffer,
}

impl RowWriter {
    fn new(csv: csv::Writer<Vec<u8>>) -> Self {
        Self { csv, float: String::new(), int: itoa::Buffer::new() }
    }

    fn text<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        for cell in cells {
            self.csv.write_field(cell.as_ref()).expect("writing to memory cannot fail");
        }
    }

    fn int(&mut self, cells: impl IntoIterator<Item = u64>) {
        for cell in cells {
            let text = self.int.format(cell);
            self.csv.write_field(text).expect("writing to memory cannot fail");
        }
    }

    /// Floats as `float_cell` writes them.
    fn float(&mut self, cells: impl IntoIterator<Item = f64>) {
        for cell in cells {
            self.float.clear();
            push_float_cell(&mut self.float, cell);
            self.csv.write_field(&self.float).expect("writing to memory cannot fail");
        }
    }

    fn flag(&mut self, cells: impl IntoIterator<Item = bool>) {
        self.text(cells.into_iter().map(|b| if b { "1" } else { "0" }));
    }

    fn end(&mut self) {
        self.csv.write_record(None::<&[u8]>).expect("writing to memory cannot fail");
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::{EngineStats, Fingerprint};
    use crate::metrics::Recorder;
    use crate::policy::PolicyKind;
    use crate::time::{SimDuration, SimTime};

    /// The time series of a real run: every row has every column; a whole-system row (`*`)
    /// fills `jobs_in_system` and leaves `slo_missed` empty, a service row the reverse; and
    /// with an instant network each job's one request to `front` arrives in the window its job
    /// does, so the two rows of a window count the same arrivals.
    #[test]
    fn timeseries_rows_put_each_figure_in_its_column() {
        let doc = r#"
duration = "6s"
seed = 3
policies = ["random"]
[network]
latency = { dist = "constant", value = 0 }
[services.front]
replicas = 2
concurrency = 2
slo = "20ms"
service_time = { dist = "exponential", mean = "10ms" }
[classes.web]
service = "front"
arrival = { process = "poisson", rate = 150 }
"#;
        let scenario = crate::scenario::from_toml_str(doc, "series", &[]).expect("valid");
        let policy = scenario.policies[0];
        let record = RunRecord {
            scenario: scenario.name.clone(),
            cell: String::new(),
            policy: policy.kind().name().to_owned(),
            replication: 0,
            seed: scenario.seed,
            summary: crate::sim::run(&scenario, policy, 0),
        };
        let bytes = timeseries_csv(&[record]);
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, TIMESERIES_COLUMNS);
        let col = |name: &str| header.iter().position(|c| c == name).unwrap();
        let rows: Vec<Vec<String>> =
            reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
        assert_eq!(rows.len(), 2 * 6, "two rows (whole system, front) for each of 6 windows");
        let mut slo_missed = 0;
        for pair in rows.chunks(2) {
            let (system, front) = (&pair[0], &pair[1]);
            assert_eq!(
                (system[col("service")].as_str(), front[col("service")].as_str()),
                ("*", "front")
            );
            assert_eq!(system[col("window_start_s")], front[col("window_start_s")]);
            assert_eq!(system[col("slo_missed")], "", "jobs have no slo_missed");
            assert!(system[col("jobs_in_system")].parse::<f64>().unwrap() >= 0.0);
            assert_eq!(front[col("jobs_in_system")], "", "a service has no jobs_in_system");
            slo_missed += front[col("slo_missed")].parse::<u64>().unwrap();
            let arrivals = |row: &[String]| row[col("arrivals")].parse::<u64>().unwrap();
            assert_eq!(arrivals(system), arrivals(front));
            assert!(arrivals(system) > 50, "about 150 arrivals a window");
            let utilisation: f64 = front[col("utilisation")].parse().unwrap();
            assert!((0.0..=1.0).contains(&utilisation));
        }
        // A service time alone exceeds the 20 ms slo with probability e^-2 = 13.5%, and the
        // load (0.375) adds little queueing: of about 900 requests, some but far from half.
        assert!(slo_missed > 0 && slo_missed < 450, "{slo_missed} requests missed the slo");
    }

    /// `float_cell` against the standard formatter it stands in for, on values of every
    /// kind: random bit patterns, every scale from 10^-12 to 10^12, exact ties and their
    /// neighbours (odd multiples of 1/128 and of 5 * 10^-7), integers and the edges.
    #[test]
    fn float_cells_are_the_standard_six_decimals() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut values = vec![0.0, -0.0, 1e9, 1e9 - 1e-7, 999_999_999.999_999_5, 0.000_000_5];
        values.extend([f64::MIN_POSITIVE, 5e-324, -1.5, -1e-9, 0.1, 0.2, 0.3, 2f64.powi(53)]);
        for _ in 0..200_000 {
            values.push(f64::from_bits(rng.random::<u64>()));
            values.push(10f64.powf(rng.random_range(-12.0..12.0)));
            let k: u32 = rng.random_range(1..1 << 20);
            let tie = f64::from(2 * k + 1) / 128.0;
            let half_micro = f64::from(2 * k + 1) * 5e-7;
            for v in [tie, half_micro, f64::from(k)] {
                // The neighbouring floats (all three are positive).
                values.extend([
                    v,
                    f64::from_bits(v.to_bits() + 1),
                    f64::from_bits(v.to_bits() - 1),
                ]);
            }
        }
        for v in values {
            let expected = if v.is_finite() { format!("{v:.6}") } else { String::new() };
            assert_eq!(float_cell(v), expected, "{v:e} ({:#x})", v.to_bits());
        }
    }

    /// A record built by hand: two jobs of 10 and 30 ms over a 4 s measured span.
    pub(crate) fn record(policy: PolicyKind) -> RunRecord {
        let mut recorder = Recorder::new(SimTime::ZERO);
        for ms in [10, 30] {
            recorder.job_arrived();
            recorder.job_completed(crate::ids::ClassId(0), SimDuration::from_nanos(ms * 1_000_000));
        }
        recorder.job_arrived();
        recorder.message_sent(SimTime::ZERO, crate::policy::MessageKind::Assign);
        let stats = EngineStats {
            events: 7,
            fingerprint: Fingerprint::new(),
            now: SimTime::from_nanos(4_000_000_000),
        };
        RunRecord {
            scenario: "tiny".into(),
            cell: String::new(),
            policy: policy.name().to_owned(),
            replication: 2,
            seed: 9,
            summary: recorder.finish(stats, 1, Vec::new()),
        }
    }

    /// The header `runs_csv` writes is the catalogue's column list, and each figure of a
    /// summary lands in the column of its name: every field gets a value of its own, and the
    /// cell under the field's name (the model's name) must hold it.
    #[test]
    fn runs_csv_header_is_the_catalogue_and_each_figure_is_under_its_name() {
        trait Text {
            fn text(&self) -> String;
        }
        impl Text for u64 {
            fn text(&self) -> String {
                self.to_string()
            }
        }
        impl Text for f64 {
            fn text(&self) -> String {
                float_cell(*self)
            }
        }
        let mut r = record(PolicyKind::Auction);
        let s = &mut r.summary;
        let mut expected: Vec<(String, String)> = Vec::new();
        macro_rules! set {
            ($($field:ident = $value:expr),* $(,)?) => {$(
                s.$field = $value;
                expected.push((stringify!($field).to_owned(), Text::text(&s.$field)));
            )*};
        }
        set!(
            jobs_arrived = 101,
            jobs_completed = 102,
            jobs_failed = 103,
            jobs_in_flight = 104,
            failed_ratio = 0.25,
            goodput_per_s = 105.5,
            latency_mean_ms = 106.5,
            latency_p50_ms = 107.5,
            latency_p90_ms = 108.5,
            latency_p99_ms = 109.5,
            latency_p999_ms = 110.5,
            messages_total = 111,
            messages_per_job = 112.5,
            placement_wait_mean_ms = 113.5,
            scheduler_queue_mean_ms = 114.5,
            decision_staleness_mean_ms = 150.5,
            decision_staleness_p99_ms = 151.5,
            gossip_spread_rounds = 152.5,
            gossip_spread_s = 153.5,
            dup_work_ratio = 0.115,
            dup_executions = 116,
            dup_timeout_retry = 117,
            dup_hedge = 118,
            dup_reauction = 119,
            dup_conflicting_claim = 120,
            dup_false_suspicion = 121,
            wasted_work_ratio = 0.16,
            wasted_timeout = 0.161,
            wasted_cancelled = 0.162,
            wasted_crash = 0.163,
            wasted_duplicate = 0.164,
            wasted_failed = 0.165,
            attempts_per_job = 122.5,
            jobs_shed = 123,
            dropped_expired = 124,
            faults_injected = 125,
            faults_untouched = 126,
            cascades_contained = 0.127,
            blast_radius_mean = 128.5,
            secondary_impaired_s = 129.5,
            approvals = 130,
            rejections = 131,
            escalations = 132,
            human_wait_mean_ms = 133.5,
            replica_seconds = 135.5,
            cost = 135.25,
            scale_ups = 136,
            scale_downs = 137,
            restarts = 138,
            ejections = 139,
            escalations_by_agents = 140,
            flaps = 141,
            agent_conflicts = 142,
            time_to_recover_s = 143.5,
            faults_unrecovered = 144,
            regret = 145.5,
            events = 134,
        );
        for (i, kind) in crate::policy::MessageKind::ALL.iter().enumerate() {
            s.messages_by_kind[i] = 200 + i as u64;
            expected.push((format!("messages_{}", kind.name()), (200 + i).to_string()));
        }
        expected.push(("fingerprint".to_owned(), s.fingerprint.to_string()));
        let bytes = runs_csv(&[r]);
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(header, RUNS_COLUMNS);
        assert_eq!(header[..KEY_COLUMNS.len()], KEY_COLUMNS);
        let metrics: Vec<&str> = crate::catalogue::METRICS.iter().map(|m| m.name).collect();
        assert_eq!(header[KEY_COLUMNS.len()..], metrics);
        let row: Vec<String> =
            reader.records().next().unwrap().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(row.len(), header.len());
        assert_eq!(expected.len(), metrics.len(), "the test sets every metric");
        for (name, text) in &expected {
            let col = header.iter().position(|c| c == name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(&row[col], text, "the cell under `{name}`");
        }
    }

    #[test]
    fn header_is_the_model_names_and_rows_follow_records() {
        // Typed from docs/model.md section 8, not copied from the code's output.
        let expected =
            "scenario,cell,policy,replication,seed,jobs_arrived,jobs_completed,jobs_failed,\
jobs_in_flight,failed_ratio,goodput_per_s,latency_mean_ms,latency_p50_ms,latency_p90_ms,latency_p99_ms,\
latency_p999_ms,messages_total,messages_per_job,messages_assign,messages_result,messages_cancel,\
messages_heartbeat,messages_request,messages_reply,messages_leader,messages_announce,messages_bid,\
messages_award,messages_gossip,messages_health,placement_wait_mean_ms,scheduler_queue_mean_ms,\
decision_staleness_mean_ms,decision_staleness_p99_ms,gossip_spread_rounds,gossip_spread_s,dup_work_ratio,\
dup_executions,dup_timeout_retry,dup_hedge,dup_reauction,dup_conflicting_claim,dup_false_suspicion,\
wasted_work_ratio,wasted_timeout,wasted_cancelled,wasted_crash,wasted_duplicate,wasted_failed,\
attempts_per_job,jobs_shed,dropped_expired,faults_injected,faults_untouched,\
cascades_contained,blast_radius_mean,secondary_impaired_s,approvals,rejections,\
escalations,human_wait_mean_ms,replica_seconds,cost,scale_ups,scale_downs,restarts,ejections,\
escalations_by_agents,flaps,agent_conflicts,time_to_recover_s,faults_unrecovered,regret,events,\
fingerprint";
        let text = String::from_utf8(runs_csv(&[
            record(PolicyKind::Random),
            record(PolicyKind::PowerOfD),
        ]))
        .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], expected);
        assert_eq!(lines.len(), 3);
        let cells: Vec<&str> = lines[2].split(',').collect();
        assert_eq!(&cells[..9], &["tiny", "", "power_of_d", "2", "9", "3", "2", "0", "1"]);
        assert_eq!(cells[9], "0.000000", "none of the 3 arrived failed");
        assert_eq!(cells[10], "0.500000", "2 completions over 4 s");
        assert_eq!(cells[11], "20.000000", "mean of 10 and 30 ms");
        assert_eq!(cells[16], "1");
        assert_eq!(cells[17], "0.333333");
        assert_eq!(cells.len(), RUNS_COLUMNS.len());
    }

    #[test]
    fn faults_csv_has_one_row_per_fault_instance() {
        let mut r = record(PolicyKind::Random);
        r.summary.faults = vec![
            crate::metrics::FaultRecord {
                kind: "crash",
                target: "db[1]".into(),
                start: SimTime::from_nanos(1_500_000_000),
                end: SimTime::from_nanos(2_000_000_000),
                touched: 7,
                faulted_services: Vec::new(),
                cascade_size: 2,
                time_to_recover_s: Some(2.5),
                cascade_services: vec!["api".into(), "web".into()],
            },
            crate::metrics::FaultRecord {
                kind: "partition",
                target: "a<->b".into(),
                start: SimTime::ZERO,
                end: SimTime::from_nanos(1),
                touched: 0,
                faulted_services: Vec::new(),
                cascade_size: 0,
                cascade_services: Vec::new(),
                time_to_recover_s: None,
            },
        ];
        let text = String::from_utf8(faults_csv(&[r])).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "scenario,cell,policy,replication,seed,kind,target,start_s,end_s,touched,cascade_size,\
cascade_services,time_to_recover_s"
        );
        assert_eq!(lines[1], "tiny,,random,2,9,crash,db[1],1.500000,2.000000,7,2,api;web,2.500000");
        assert_eq!(lines[2], "tiny,,random,2,9,partition,a<->b,0.000000,0.000000,0,0,,");
    }

    #[test]
    fn message_kind_columns_follow_the_kinds() {
        let first = RUNS_COLUMNS.iter().position(|c| *c == "messages_assign").unwrap();
        for (i, kind) in crate::policy::MessageKind::ALL.iter().enumerate() {
            assert_eq!(RUNS_COLUMNS[first + i], format!("messages_{}", kind.name()));
        }
    }

    #[test]
    fn undefined_figures_are_empty_cells() {
        assert_eq!(float_cell(f64::NAN), "");
        assert_eq!(float_cell(1.0 / 3.0), "0.333333");
    }
}
