//! `coordsim sweep`, `merge` and `plot` through the binary: the files do not depend on
//! `--jobs`, on sharding or on being killed and resumed; failures are recorded without
//! stopping the others; precision targets add replications; charts are valid images.

use std::path::Path;
use std::process::{Command, Output};

/// Two grid keys listed against alphabetical order (so file order is observable), three
/// policies, two replications: 4 cells x 3 x 2 = 24 short runs.
const SWEEP: &str = r#"
duration = 4
warmup = 0.5
replications = 2
policies = ["random", "round_robin", "power_of_d"]
[services.api]
replicas = 3
queue_capacity = 20
service_time = { dist = "exponential", mean = "10ms" }
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 150 }
[[faults]]
kind = "crash"
service = "api"
replica = 0
at = 2
duration = 0.5

[sweep]
grid = { "services.api.replicas" = [3, 4], "classes.web.arrival.rate" = { from = 100, to = 200, count = 2 } }
"#;

/// Files whose bytes must not depend on how the sweep ran.
const DETERMINISTIC: [&str; 6] =
    ["runs.csv", "faults.csv", "summary.csv", "runs_extra.csv", "errors.csv", "latency_cdf.csv"];

fn scratch(name: &str) -> crate::support::Scratch {
    crate::support::Scratch::new(&format!("sweep-{name}"))
}

fn coordsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coordsim"))
        .args(args)
        .current_dir(cwd)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn files(dir: &Path) -> Vec<(String, String)> {
    DETERMINISTIC
        .iter()
        .map(|f| ((*f).to_owned(), std::fs::read_to_string(dir.join(f)).unwrap()))
        .collect()
}

fn setup(name: &str, text: &str) -> crate::support::Scratch {
    let dir = scratch(name);
    std::fs::write(dir.join("s.toml"), text).unwrap();
    dir
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

#[test]
fn files_are_identical_at_one_and_two_jobs_and_follow_plan_order() {
    let dir = setup("jobs", SWEEP);
    let one = coordsim(&["sweep", "s.toml", "--jobs", "1", "--out", "one"], &dir);
    let two = coordsim(&["sweep", "s.toml", "--jobs", "2", "--out", "two"], &dir);
    ok(&one);
    ok(&two);
    assert_eq!(files(&dir.join("one")), files(&dir.join("two")));
    assert_eq!(one.stdout, two.stdout, "the table does not depend on --jobs");
    // Plan order: the first listed key (replicas) varies slowest, then policies, then
    // replications; 24 runs.
    let (header, rows) = csv_rows(&dir.join("one/runs.csv"));
    assert_eq!(rows.len(), 24);
    let cell = header.iter().position(|h| h == "cell").unwrap();
    assert_eq!(rows[0][cell], "services.api.replicas=3;classes.web.arrival.rate=100");
    assert_eq!(rows[6][cell], "services.api.replicas=3;classes.web.arrival.rate=200");
    assert_eq!(rows[12][cell], "services.api.replicas=4;classes.web.arrival.rate=100");
    let policy = header.iter().position(|h| h == "policy").unwrap();
    let order: Vec<&str> = rows[..6].iter().map(|r| r[policy].as_str()).collect();
    assert_eq!(
        order,
        ["random", "random", "round_robin", "round_robin", "power_of_d", "power_of_d"]
    );
    // Common random numbers: every policy of a cell sees the same arrivals (no loss, and
    // admission does not depend on the policy: jobs_arrived counts arrivals).
    let arrived = header.iter().position(|h| h == "jobs_arrived").unwrap();
    assert_eq!(rows[0][arrived], rows[2][arrived]);
    assert_eq!(rows[0][arrived], rows[4][arrived]);
    // summary.csv: one row per (cell, policy), the swept keys as columns.
    let (header, rows) = csv_rows(&dir.join("one/summary.csv"));
    assert_eq!(rows.len(), 12);
    assert_eq!(
        &header[..5],
        ["scenario", "cell", "services.api.replicas", "classes.web.arrival.rate", "policy"]
    );
    assert!(header.contains(&"latency_p99_ms_diff_ci95_lo".to_owned()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn merged_shards_equal_the_unsharded_sweep() {
    let dir = setup("shards", SWEEP);
    ok(&coordsim(&["sweep", "s.toml", "--jobs", "2", "--out", "whole"], &dir));
    ok(&coordsim(&["sweep", "s.toml", "--jobs", "1", "--shard", "1/3", "--out", "s1"], &dir));
    ok(&coordsim(&["sweep", "s.toml", "--jobs", "1", "--shard", "2/3", "--out", "s2"], &dir));
    // The third shard from the Kubernetes variables: JOB_COMPLETION_INDEX is 0-based.
    let out = Command::new(env!("CARGO_BIN_EXE_coordsim"))
        .args(["sweep", "s.toml", "--jobs", "1", "--shard", "auto", "--out", "s3"])
        .current_dir(&dir)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env("JOB_COMPLETION_INDEX", "2")
        .env("COORDSIM_SHARD_COUNT", "3")
        .output()
        .unwrap();
    ok(&out);
    let count = |d: &str| std::fs::read_dir(dir.join(d).join("runs")).unwrap().count();
    assert_eq!((count("s1"), count("s2"), count("s3")), (8, 8, 8), "round-robin shares");
    assert!(!dir.join("s1/runs.csv").exists(), "a shard writes only its runs");
    ok(&coordsim(&["merge", "s1", "s2", "s3", "--out", "merged"], &dir));
    assert_eq!(files(&dir.join("merged")), files(&dir.join("whole")));
    // Shards of different scenarios are refused.
    std::fs::write(dir.join("t.toml"), SWEEP.replace("rate = 150", "rate = 160")).unwrap();
    ok(&coordsim(&["sweep", "t.toml", "--shard", "1/3", "--out", "t1"], &dir));
    let mixed = coordsim(&["merge", "s1", "t1", "--out", "bad"], &dir);
    assert!(!mixed.status.success());
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("hold different sweeps"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_killed_sweep_resumes_to_identical_results() {
    // Longer runs, so the kill lands midway.
    let text = SWEEP.replace("duration = 4", "duration = 600");
    let dir = setup("resume", &text);
    ok(&coordsim(&["sweep", "s.toml", "--jobs", "2", "--out", "whole"], &dir));
    let mut child = Command::new(env!("CARGO_BIN_EXE_coordsim"))
        .args(["sweep", "s.toml", "--jobs", "1", "--out", "part"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runs = dir.join("part/runs");
    let finished = || {
        std::fs::read_dir(&runs)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0)
    };
    let start = std::time::Instant::now();
    while finished() < 3 && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = finished();
    assert!((3..24).contains(&kept), "killed after {kept} runs");
    assert!(!dir.join("part/runs.csv").exists(), "killed before the end");
    let stderr =
        ok(&coordsim(&["sweep", "s.toml", "--jobs", "2", "--resume", "--out", "part"], &dir));
    assert!(stderr.contains(&format!("{} run now, {kept} found", 24 - kept)), "{stderr}");
    assert_eq!(files(&dir.join("part")), files(&dir.join("whole")));
    // Resuming with another scenario in the same directory is refused.
    std::fs::write(dir.join("s.toml"), text.replace("rate = 150", "rate = 151")).unwrap();
    let other = coordsim(&["sweep", "s.toml", "--resume", "--out", "part"], &dir);
    assert!(String::from_utf8_lossy(&other.stderr).contains("holds results of another sweep"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_invalid_cell_is_recorded_and_the_others_run() {
    let text = SWEEP.replace("[3, 4]", "[3, 0]");
    let dir = setup("invalid", &text);
    let out = coordsim(&["sweep", "s.toml", "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("12 of 24 runs failed"), "{stderr}");
    let (_, errors) = csv_rows(&dir.join("out/errors.csv"));
    assert_eq!(errors.len(), 12);
    assert!(errors[0][5].contains("s.toml: services.api.replicas"), "{:?}", errors[0]);
    let (_, runs) = csv_rows(&dir.join("out/runs.csv"));
    assert_eq!(runs.len(), 12);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_bad_sweep_section_is_bad_input_and_writes_nothing() {
    for (name, text, expected) in [
        ("typo", SWEEP.replace("grid =", "gird ="), "sweep.gird: unknown field `gird`"),
        (
            "range",
            SWEEP.replace("count = 2", "count = 0"),
            "sweep.grid.\"classes.web.arrival.rate\".count",
        ),
        ("none", SWEEP.split("[sweep]").next().unwrap().to_owned(), "no [sweep] section"),
    ] {
        let dir = setup(name, &text);
        let out = coordsim(&["sweep", "s.toml", "--out", "out"], &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!dir.join("out").exists(), "{name}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn precision_targets_add_replications_until_met_or_capped() {
    let text = SWEEP.replace(
        "[sweep]\n",
        "[sweep]\npolicies = [\"random\", \"power_of_d\"]\nmax_replications = 12\n",
    );
    let dir = setup("precision", &text);
    let args = ["sweep", "s.toml", "--precision", "latency_mean_ms=0.05", "--out"];
    ok(&coordsim(&[&args[..], &["a", "--jobs", "1"]].concat(), &dir));
    ok(&coordsim(&[&args[..], &["b", "--jobs", "2"]].concat(), &dir));
    assert_eq!(files(&dir.join("a")), files(&dir.join("b")));
    let (header, rows) = csv_rows(&dir.join("a/summary.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut grew = false;
    for row in &rows {
        let n: u32 = row[col("n")].parse().unwrap();
        assert!((3..=12).contains(&n), "{n}");
        grew |= n > 3;
        let mean: f64 = row[col("latency_mean_ms_mean")].parse().unwrap();
        let lo: f64 = row[col("latency_mean_ms_ci95_lo")].parse().unwrap();
        let hi: f64 = row[col("latency_mean_ms_ci95_hi")].parse().unwrap();
        // Met, or stopped by the cap.
        assert!(
            n == 12 || (hi - lo) / 2.0 <= 0.05 * mean + 1e-6,
            "n {n}: {lo}..{hi} around {mean}"
        );
    }
    assert!(grew, "a 5% target on 4 s runs needs more than 3 replications somewhere");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn charts_are_valid_png_and_svg_and_plot_redraws_them() {
    let dir = setup("charts", SWEEP);
    ok(&coordsim(&["sweep", "s.toml", "--out", "out"], &dir));
    let charts = dir.join("out/charts");
    for name in
        ["latency_p99_ms", "goodput_per_s", "dup_work_ratio", "messages_per_job", "latency_cdf"]
    {
        let png = std::fs::read(charts.join(format!("{name}.png"))).unwrap();
        let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{name}.png: {e}"));
        assert_eq!((image.width(), image.height()), (960, 600));
        // Not a blank canvas: a good share of pixels is not white.
        let rgb = image.to_rgb8();
        let inked = rgb.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(inked > 960 * 600 / 50, "{name}.png has {inked} non-white pixels");
        let svg = std::fs::read_to_string(charts.join(format!("{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name}.svg");
        assert!(svg.contains("power_of_d"), "{name}.svg has a legend");
        // Axes are titled in words: the swept key `services.api.replicas` as "api replicas",
        // and the CDF's latency axis with its unit and scale.
        if name == "latency_cdf" {
            assert!(svg.contains("latency (ms, log scale)"), "{name}.svg");
        } else {
            assert!(svg.contains("api replicas") && !svg.contains("services.api"), "{name}.svg");
        }
    }
    // The sweep keeps the time series of replication 0 of each policy in the last cell (the
    // 4th of 4 cells), and charts the first of them.
    let (header, rows) = csv_rows(&dir.join("out/timeseries.csv"));
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let runs: std::collections::BTreeSet<(String, String, String)> = rows
        .iter()
        .map(|r| (r[col("cell")].clone(), r[col("policy")].clone(), r[col("replication")].clone()))
        .collect();
    let last = "services.api.replicas=4;classes.web.arrival.rate=200";
    let expected: std::collections::BTreeSet<_> = ["random", "round_robin", "power_of_d"]
        .iter()
        .map(|p| (last.to_owned(), (*p).to_owned(), "0".to_owned()))
        .collect();
    assert_eq!(runs, expected);
    assert!(charts.join("timeseries.png").exists() && charts.join("timeseries.svg").exists());
    // The cost differs between cells (the replicas are swept): charted.
    assert!(charts.join("replica_seconds.png").exists());
    // A time series appears when timeseries.csv does, and `plot` redraws on demand.
    std::fs::remove_dir_all(&charts).unwrap();
    let mut ts = String::from("scenario,cell,policy,replication,seed,window_start_s,service,arrivals,completions,failures,queue_length,utilisation,impaired,fault_active,spike_active\n");
    for w in 0..10 {
        let fault = u8::from((3..5).contains(&w));
        ts.push_str(&format!(
            "s,,random,0,1,{w},api,100,{},{},{},0.5,0,{fault},0\n",
            100 - 10 * fault,
            5 * fault,
            2 + 20 * fault
        ));
    }
    std::fs::write(dir.join("out/timeseries.csv"), ts).unwrap();
    ok(&coordsim(&["plot", "out"], &dir));
    assert!(charts.join("latency_p99_ms.svg").exists());
    let png = std::fs::read(charts.join("timeseries.png")).unwrap();
    assert!(image::load_from_memory(&png).is_ok());
    let _ = std::fs::remove_dir_all(dir);
}

/// Orders with a 30 ms deadline on 3 replicas of mean 10 ms, one of them crashed for a
/// while: at 220 orders/s some orders fail, the more so under random placement.
const DEADLINES: &str = r#"
duration = 4
warmup = 0.5
replications = 3
policies = ["random", "least_outstanding"]
[services.api]
replicas = 3
service_time = { dist = "exponential", mean = "10ms" }
[classes.order]
service = "api"
deadline = "30ms"
arrival = { process = "poisson", rate = 100 }
[[faults]]
kind = "crash"
service = "api"
replica = 0
at = 2
duration = 1

[sweep]
grid = { "classes.order.arrival.rate" = [100, 220] }
"#;

#[test]
fn failures_show_where_latency_is_read_and_the_cdf_counts_every_job_that_arrived() {
    let dir = setup("failures", DEADLINES);
    ok(&coordsim(&["sweep", "s.toml", "--out", "out"], &dir));
    let (header, runs) = csv_rows(&dir.join("out/runs.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let number = |row: &Vec<String>, name: &str| row[col(name)].parse::<f64>().unwrap();
    // The failed share is the failed jobs over the jobs arrived, run by run.
    for row in &runs {
        let expected = number(row, "jobs_failed") / number(row, "jobs_arrived");
        // Written to 6 decimals.
        assert!((number(row, "failed_ratio") - expected).abs() <= 5e-7, "{row:?}");
    }
    // The CDF of the last cell, pooled over replications, ends at the completed jobs over
    // every job that arrived (counted independently, in runs.csv).
    let last = "classes.order.arrival.rate=220";
    let (cdf_header, cdf) = csv_rows(&dir.join("out/latency_cdf.csv"));
    let c = |name: &str| cdf_header.iter().position(|h| h == name).unwrap();
    let mut some_failed = false;
    for policy in ["random", "least_outstanding"] {
        let of_policy = |r: &&Vec<String>| r[col("cell")] == last && r[col("policy")] == policy;
        let completed: f64 =
            runs.iter().filter(of_policy).map(|r| number(r, "jobs_completed")).sum();
        let arrived: f64 = runs.iter().filter(of_policy).map(|r| number(r, "jobs_arrived")).sum();
        let rows: Vec<&Vec<String>> =
            cdf.iter().filter(|r| r[c("cell")] == last && r[c("policy")] == policy).collect();
        // Hundreds of points: 100 per decade, from under 1 ms to beyond the 30 ms deadline.
        assert!(rows.len() > 100, "{policy}: {} points", rows.len());
        let shares: Vec<f64> = rows.iter().map(|r| r[c("share_within")].parse().unwrap()).collect();
        assert!(shares.windows(2).all(|w| w[0] <= w[1]), "{policy}: a CDF never falls");
        let end = rows.last().unwrap();
        assert_eq!(end[c("jobs_within")].parse::<f64>().unwrap(), completed, "{policy}");
        assert_eq!(end[c("jobs_arrived")].parse::<f64>().unwrap(), arrived, "{policy}");
        assert!((shares.last().unwrap() - completed / arrived).abs() < 1e-5, "{policy}");
        some_failed |= completed < arrived;
    }
    assert!(some_failed, "a 30 ms deadline at a load near 1 fails some orders");
    // Only the last cell has a distribution.
    assert!(cdf.iter().all(|r| r[c("cell")] == last));
    let charts = dir.join("out/charts");
    let svg = |name: &str| std::fs::read_to_string(charts.join(format!("{name}.svg"))).unwrap();
    assert!(charts.join("failed_ratio.png").exists());
    assert!(svg("failed_ratio").contains("failed share (share of orders arrived"));
    // The latency chart rings points of more than 1% failed and says so, exactly when the
    // summary has such a point; the deadline that caps the latencies is marked.
    let (sum_header, summary) = csv_rows(&dir.join("out/summary.csv"));
    let failed_col = sum_header.iter().position(|h| h == "failed_ratio_mean").unwrap();
    let over = summary.iter().any(|r| r[failed_col].parse::<f64>().unwrap() > 0.01);
    let p99 = svg("latency_p99_ms");
    assert!(over, "random at 220 orders/s fails more than 1%");
    assert_eq!(p99.contains("ringed: more than"), over);
    assert!(p99.contains("order deadline 30 ms"));
    assert!(p99.contains("order arrival rate (orders/s)"));
    let cdf_svg = svg("latency_cdf");
    assert!(cdf_svg.contains("% completed") && cdf_svg.contains("order deadline 30 ms"));
}

#[test]
fn rerunning_a_sweep_elsewhere_changes_only_its_timing() {
    // The same command in two directories (as two machines would run it): every file but
    // timing.csv (and the run files, which carry their wall time) is byte-identical, the
    // manifest and the charts included.
    let a = setup("rerun-a", SWEEP);
    let b = setup("rerun-b", SWEEP);
    ok(&coordsim(&["sweep", "s.toml", "--out", "out"], &a));
    ok(&coordsim(&["sweep", "s.toml", "--out", "out"], &b));
    let listing = |dir: &Path| -> Vec<String> {
        let mut names = Vec::new();
        for sub in ["", "charts"] {
            for entry in std::fs::read_dir(dir.join("out").join(sub)).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    names.push(path.strip_prefix(dir.join("out")).unwrap().display().to_string());
                }
            }
        }
        names.sort();
        names
    };
    let names = listing(&a);
    assert_eq!(names, listing(&b));
    assert!(names.contains(&"manifest.json".to_owned()) && names.len() > 20, "{names:?}");
    for name in names.iter().filter(|n| *n != "timing.csv") {
        let read = |dir: &Path| std::fs::read(dir.join("out").join(name)).unwrap();
        assert!(read(&a) == read(&b), "{name} differs between the two directories");
    }
    // The binary was run by its absolute path; the manifest names the program alone, and
    // the build's commit goes with the wall times.
    let manifest = std::fs::read_to_string(a.join("out/manifest.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(json["command_line"][0], "coordsim");
    assert!(json.get("git_commit").is_none(), "{manifest}");
    let (header, _) = csv_rows(&a.join("out/timing.csv"));
    assert_eq!(header[header.len() - 2..], ["wall_s", "git_commit"]);
}

#[test]
fn a_cost_the_same_in_every_cell_gets_no_chart() {
    // Only the rate is swept and no agent changes replicas: replica-seconds are the same
    // everywhere, and a flat line would only look like a finding.
    let text = SWEEP.replace("\"services.api.replicas\" = [3, 4], ", "");
    let dir = setup("flat-cost", &text);
    ok(&coordsim(&["sweep", "s.toml", "--out", "out"], &dir));
    let charts = dir.join("out/charts");
    assert!(charts.join("latency_p99_ms.png").exists());
    assert!(!charts.join("replica_seconds.png").exists());
}
