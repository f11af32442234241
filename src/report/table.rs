//! The terminal table: one row per run, the figures a reader scans first.

use super::RunRecord;

/// Renders `records` as an aligned plain-text table.
pub fn runs_table(records: &[RunRecord]) -> String {
    let header = [
        "policy",
        "rep",
        "arrived",
        "completed",
        "failed",
        "mean ms",
        "p50 ms",
        "p99 ms",
        "goodput/s",
        "msgs/job",
        "fingerprint",
    ];
    let fixed = |v: f64, decimals: usize| {
        if v.is_finite() {
            format!("{v:.decimals$}")
        } else {
            "-".into()
        }
    };
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let s = &r.summary;
            vec![
                r.policy.clone(),
                r.replication.to_string(),
                s.jobs_arrived.to_string(),
                s.jobs_completed.to_string(),
                s.jobs_failed.to_string(),
                fixed(s.latency_mean_ms, 3),
                fixed(s.latency_p50_ms, 3),
                fixed(s.latency_p99_ms, 3),
                fixed(s.goodput_per_s, 2),
                fixed(s.messages_per_job, 2),
                s.fingerprint.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].len()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut parts = Vec::new();
        for (c, cell) in cells.enumerate() {
            // Text columns (policy, fingerprint) align left, figures right.
            if c == 0 || c == header.len() - 1 {
                parts.push(format!("{cell:<w$}", w = widths[c]));
            } else {
                parts.push(format!("{cell:>w$}", w = widths[c]));
            }
        }
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;
    use crate::report::csv::tests::record;

    #[test]
    fn one_aligned_row_per_run() {
        let table = runs_table(&[record(PolicyKind::Random), record(PolicyKind::LeastOutstanding)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("policy"));
        assert!(lines[2].starts_with("least_outstanding"));
        assert!(lines[1].contains("20.000"), "mean latency shown: {}", lines[1]);
        // The fingerprint column starts at the same offset in every row.
        let at: Vec<usize> = lines.iter().map(|l| l.rfind(' ').unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] == w[1]), "{table}");
    }
}
