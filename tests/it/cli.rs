//! The binary, run as a user would: every bad input gets a message naming the file and the
//! field, exit code 2, and no result file; good input prints a table and writes runs.csv.

use std::path::Path;
use std::process::{Command, Output};

/// A small valid scenario (also used by `limits`).
pub(crate) const VALID: &str = r#"
duration = 5
warmup = 1
[services.api]
replicas = 2
concurrency = 2
service_time = { dist = "exponential", mean = "10ms" }
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 100 }
"#;

/// A scratch directory unique to one test.
pub(crate) fn scratch(name: &str) -> crate::support::Scratch {
    crate::support::Scratch::new(&format!("cli-{name}"))
}

/// The binary run in `cwd`, with the default limits (no `COORDSIM_MAX_MEMORY`).
pub(crate) fn coordsim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coordsim"))
        .args(args)
        .current_dir(cwd)
        .env_remove("COORDSIM_MAX_MEMORY")
        .output()
        .unwrap()
}

/// Runs `coordsim run FILE extra...` on `text` and checks it fails as bad input without
/// writing anything; returns stderr.
fn rejected(name: &str, text: &str, extra: &[&str]) -> String {
    let dir = scratch(name);
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let mut args = vec!["run", "s.toml", "--out", "out"];
    args.extend_from_slice(extra);
    let out = coordsim(&args, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(!dir.join("out").exists(), "{name}: a result directory was created");
    assert!(!dir.join("results").exists(), "{name}: a result directory was created");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    let _ = std::fs::remove_dir_all(dir);
    stderr
}

#[test]
fn missing_file_is_named() {
    let dir = scratch("missing");
    let out = coordsim(&["run", "nope.toml"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("cannot read scenario file nope.toml"), "{stderr}");
    assert!(!dir.join("results").exists());
}

#[test]
fn not_toml_gives_line_and_column() {
    let stderr = rejected("syntax", "duration = 5\n[services.api\nreplicas = 1\n", &[]);
    assert!(stderr.contains("s.toml:2:"), "{stderr}");
    assert!(stderr.contains("not valid TOML"), "{stderr}");
}

#[test]
fn unknown_key_gets_a_suggestion() {
    let stderr = rejected("unknown", &VALID.replace("concurrency", "concurency"), &[]);
    assert!(
        stderr.contains("s.toml: services.api.concurency: unknown field `concurency`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `concurrency`?"), "{stderr}");
}

#[test]
fn impossible_values_name_the_field_and_expectation() {
    let stderr = rejected("rate", &VALID.replace("rate = 100", "rate = -100"), &[]);
    assert!(stderr.contains("classes.web.arrival.rate: expected a rate in (0, 1e9]"), "{stderr}");
    let stderr = rejected("loss", VALID, &["--set", "network.loss=2"]);
    assert!(stderr.contains("network.loss: expected a probability in [0, 1], found 2"), "{stderr}");
    let stderr = rejected("dist", &VALID.replace("exponential", "gaussian"), &[]);
    assert!(
        stderr.contains("services.api.service_time.dist: unknown variant `gaussian`"),
        "{stderr}"
    );
}

#[test]
fn unknown_policy_lists_the_valid_names() {
    let stderr = rejected("policy", VALID, &["--policy", "least_outstandin"]);
    assert!(stderr.contains("policies[0]: unknown variant `least_outstandin`"), "{stderr}");
    assert!(stderr.contains("power_of_d"), "{stderr}");
    assert!(stderr.contains("did you mean `least_outstanding`?"), "{stderr}");
}

#[test]
fn bad_set_syntax_is_a_usage_error() {
    let dir = scratch("set");
    std::fs::write(dir.join("s.toml"), VALID).unwrap();
    let out = coordsim(&["run", "s.toml", "--set", "noequals"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
    assert!(!dir.join("results").exists());
}

#[test]
fn run_prints_a_table_and_writes_runs_csv_in_the_default_place() {
    let dir = scratch("ok");
    std::fs::write(dir.join("tiny.toml"), VALID).unwrap();
    let out = coordsim(
        &["run", "tiny.toml", "--policy", "random", "--policy", "power_of_d", "--seed", "42"],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(2).unwrap().starts_with("power_of_d"));
    let csv = std::fs::read_to_string(dir.join("results/tiny/runs.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[1][..5], &["tiny", "", "random", "0", "42"]);
    // Conservation in the file itself.
    let col = |name: &str| rows[0].iter().position(|c| *c == name).unwrap();
    for row in &rows[1..] {
        let n = |name: &str| row[col(name)].parse::<u64>().unwrap();
        assert_eq!(n("jobs_arrived"), n("jobs_completed") + n("jobs_failed") + n("jobs_in_flight"));
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn validate_accepts_good_files_and_reports_every_bad_one() {
    let dir = scratch("validate");
    std::fs::write(dir.join("good.toml"), VALID).unwrap();
    std::fs::write(dir.join("bad.toml"), VALID.replace("replicas = 2", "replicas = 0")).unwrap();
    let ok = coordsim(&["validate", "good.toml"], &dir);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok  good.toml"));
    let bad = coordsim(&["validate", "good.toml", "bad.toml", "missing.toml"], &dir);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr.contains("bad.toml: services.api.replicas: expected an integer >= 1, found 0"),
        "{stderr}"
    );
    assert!(stderr.contains("missing.toml"), "{stderr}");
    assert!(stderr.contains("2 of 3 scenario files are invalid"), "{stderr}");
}

#[test]
fn shipped_scenarios_validate_from_the_command_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".toml"))
        .collect();
    files.sort();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let out = coordsim(&args, root);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn policies_lists_every_policy_with_parameters() {
    let out = coordsim(&["policies"], Path::new("."));
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["random", "round_robin", "least_outstanding", "power_of_d"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing:\n{text}");
    }
    assert!(text.contains("d = 2"), "{text}");
}

#[test]
fn a_fault_that_touches_nothing_is_reported_and_every_fault_is_written() {
    let dir = scratch("faults");
    let text = format!(
        "{VALID}\n[services.idle]\nreplicas = 1\nservice_time = {{ dist = \"constant\", value = \"1ms\" }}\n\
         [[faults]]\nkind = \"crash\"\nservice = \"idle\"\nat = 1\nduration = 1\n\
         [[faults]]\nkind = \"slowdown\"\nservice = \"api\"\nreplica = 1\nfactor = 2\nat = 2\nduration = 1\n"
    );
    std::fs::write(dir.join("f.toml"), text).unwrap();
    let out = coordsim(&["run", "f.toml", "--policy", "random", "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: crash fault on idle at [1.000 s, 2.000 s) touched no request"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("slowdown fault on api[1]"),
        "the slowdown touches requests: {stderr}"
    );
    let faults = std::fs::read_to_string(dir.join("out/faults.csv")).unwrap();
    let rows: Vec<&str> = faults.lines().collect();
    assert_eq!(rows.len(), 3, "{faults}");
    assert!(rows[1].starts_with("f,,random,0,1,crash,idle,1.000000,2.000000,0"), "{}", rows[1]);
    assert!(rows[2].contains(",slowdown,api[1],2.000000,3.000000,"), "{}", rows[2]);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn audit_writes_one_explained_json_line_per_decision() {
    let dir = scratch("audit");
    std::fs::write(dir.join("tiny.toml"), VALID).unwrap();
    let args = [
        "run",
        "tiny.toml",
        "--policy",
        "central",
        "--policy",
        "power_of_d",
        "--audit",
        "--audit-limit",
        "40",
        "--out",
        "out",
    ];
    let out = coordsim(&args, &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(dir.join("out/audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    // About 400 jobs of one step each: both policies reach the limit.
    assert_eq!(lines.len(), 80);
    for (policy, agent) in [("central", "scheduler"), ("power_of_d", "orchestrator-")] {
        let mine: Vec<_> = lines.iter().filter(|l| l["policy"] == policy).collect();
        assert_eq!(mine.len(), 40, "{policy}");
        for line in mine {
            assert!(line["agent"].as_str().unwrap().starts_with(agent), "{line}");
            assert_eq!(line["task"]["service"], "api");
            let choice = line["choice"].as_str().unwrap();
            let options = line["options"].as_array().unwrap();
            assert!(options.iter().any(|o| o["replica"] == choice), "choice among options: {line}");
            assert!(!line["reason"].as_str().unwrap().is_empty());
            assert!(line["time_s"].as_f64().unwrap() >= 0.0);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_control_agents_are_refused_with_the_key_and_the_expectation() {
    let with_agent = |body: &str| {
        format!("{VALID}\n[services.people]\nkind = \"human\"\nreplicas = 1\nservice_time = {{ dist = \"constant\", value = \"1s\" }}\n[[agents]]\nname = \"a\"\n{body}\n")
    };
    let cases = [
        ("kind = \"autoscaller\"\nservice = \"api\"", "agents[0].kind: unknown variant `autoscaller`", "did you mean `autoscaler`?"),
        ("kind = \"autoscaler\"\nservice = \"apii\"\nmax_replicas = 4\ntarget = 0.5", "agents.a.service: unknown service `apii`", "did you mean `api`?"),
        ("kind = \"autoscaler\"\nservice = \"api\"\nmin_replicas = 5\nmax_replicas = 3\ntarget = 0.5", "agents.a.max_replicas: expected at least min_replicas (5), found 3", ""),
        ("kind = \"autoscaler\"\nservice = \"api\"\nmax_replicas = 4\ntarget = 1.5", "agents.a.target: expected a utilisation in (0, 1], found 1.5", ""),
        ("kind = \"autoscaler\"\nservice = \"api\"\nmax_replicas = 4\ntarget = 0.5\nperiod = 0", "agents.a.period: expected a duration > 0", ""),
        ("kind = \"autoscaler\"\nservice = \"people\"\nmax_replicas = 4\ntarget = 0.5", "agents.a.service: expected a service of machines: `people` is a human service", ""),
        ("kind = \"remediator\"\nservice = \"api\"\nmax_replicas = 4", "agents.a.max_replicas: not used by an agent of kind `remediator`", ""),
        ("kind = \"adaptive\"\nservice = \"api\"\narms = [\"random\", \"central\"]\nreward = \"latency\"", "agents.a.arms[1]: expected a policy without a protocol of its own", ""),
        ("kind = \"remediator\"\nservice = \"api\"\nescalate = \"api\"", "agents.a.escalate: expected a human service", ""),
    ];
    for (i, (body, message, hint)) in cases.iter().enumerate() {
        let stderr = rejected(&format!("agent{i}"), &with_agent(body), &[]);
        assert!(stderr.contains(&format!("s.toml: {message}")), "case {i}: {stderr}");
        assert!(stderr.contains(hint), "case {i}: {stderr}");
    }
    // An agent's key set from the command line, through the agent's name.
    let ok = with_agent("kind = \"autoscaler\"\nservice = \"api\"\nmax_replicas = 4\ntarget = 0.5");
    let stderr = rejected("agent-set", &ok, &["--set", "agents.a.min_replicas=9"]);
    assert!(
        stderr.contains("agents.a.max_replicas: expected at least min_replicas (9), found 4"),
        "{stderr}"
    );
    let stderr = rejected("agent-active", &ok, &["--set", "control.active=[\"b\"]"]);
    assert!(stderr.contains("control.active[0]: unknown agent `b`; known: `a`"), "{stderr}");
}

/// How many times the operating system's words appear in `stderr`.
fn os_reasons(stderr: &str) -> usize {
    stderr.matches("(os error").count() + stderr.matches("not a directory").count()
}

#[test]
fn an_operating_system_error_is_printed_once() {
    let dir = scratch("once");
    std::fs::write(dir.join("s.toml"), VALID).unwrap();
    std::fs::create_dir(dir.join("adir")).unwrap();
    std::fs::write(dir.join("afile"), "x").unwrap();
    for args in [
        &["run", "nope.toml"][..],
        &["run", "adir"],
        &["run", "s.toml", "--out", "afile"],
        &["run", "s.toml", "--out", "afile/out"],
        &["plot", "adir"],
    ] {
        let out = coordsim(args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(os_reasons(&stderr), 1, "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(dir.join("afile")).unwrap(), "x");
}

#[test]
fn run_finds_an_unwritable_output_before_it_simulates() {
    let dir = scratch("unwritable");
    std::fs::write(dir.join("s.toml"), VALID).unwrap();
    std::fs::write(dir.join("afile"), "x").unwrap();
    let out = coordsim(&["run", "s.toml", "--out", "afile/out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write") && stderr.contains("afile"), "{stderr}");
    // The table of results goes to stdout after the runs: nothing ran.
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_huge_jobs_count_starts_no_more_threads_than_runs() {
    let dir = scratch("jobs");
    std::fs::write(dir.join("s.toml"), VALID).unwrap();
    // 100,000 threads would take minutes to start; one per run (here 1) takes nothing.
    let out = coordsim(&["run", "s.toml", "--jobs", "100000", "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("more than 4 threads per core"), "{stderr}");
    assert!(dir.join("out").join("runs.csv").exists());
}

#[test]
fn a_crash_that_power_of_d_avoids_is_said_to_be_the_policys_doing() {
    let dir = scratch("avoided");
    // Ten replicas at a trickle of load: the crashed one holds nothing when it crashes, and
    // power_of_d's probes steer every request away from it while it is down.
    let text = VALID.replace("replicas = 2", "replicas = 10").replace("rate = 100", "rate = 5")
        + "\n[[faults]]\nkind = \"crash\"\nservice = \"api\"\nreplica = 0\nat = 2\nduration = 1\n";
    std::fs::write(dir.join("f.toml"), text).unwrap();
    let out = coordsim(&["run", "f.toml", "--policy", "power_of_d", "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("touched no request or message under power_of_d"), "{stderr}");
    assert!(stderr.contains("power_of_d's probes see a crashed replica and avoid it"), "{stderr}");
}
