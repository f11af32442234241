//! Inputs that are valid key by key but cannot run well, through the real binary: sizes
//! whose estimate is over the memory or event limit, scenarios that declare what they cannot
//! exercise (`--strict`), arguments that mean nothing, merges of incomplete or conflicting
//! shards, and a damaged run file under `--resume`. Each is refused with exit 2 and a
//! message naming the key, writes nothing, and never aborts.

use std::path::Path;
use std::process::Output;

use crate::cli::{coordsim, scratch, VALID};

/// `coordsim VERB s.toml --out out extra...` on `text` fails as bad input, names `key`,
/// writes nothing and does not abort; returns stderr.
fn refused(name: &str, verb: &str, text: &str, extra: &[&str], key: &str) -> String {
    let dir = scratch(name);
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let mut args = vec![verb, "s.toml"];
    if verb != "validate" {
        args.extend(["--out", "out"]);
    }
    args.extend_from_slice(extra);
    let out = coordsim(&args, &dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.contains(key), "{name}: the message names {key}: {stderr}");
    assert!(!dir.join("out").exists(), "{name}: a result directory was created");
    assert!(!stderr.contains("panicked") && !stderr.contains("memory allocation"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
    stderr
}

#[test]
fn sizes_over_the_memory_limit_are_refused_with_the_keys_responsible() {
    // Gossip keeps every agent's view of every replica: 20,000 replicas need about 40 GB.
    let text = VALID.replace("replicas = 2", "replicas = 20000");
    let stderr = refused("gossip", "run", &text, &["--policy", "gossip"], "services.api.replicas");
    assert!(stderr.contains("gossip's views") && stderr.contains("--max-memory"), "{stderr}");
    assert!(stderr.contains("GiB"), "{stderr}");
    // The same under `random` is small and runs.
    let dir = scratch("gossip-ok");
    std::fs::write(dir.join("s.toml"), &text).unwrap();
    let out = coordsim(&["validate", "s.toml", "--policy", "random"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A billion metric windows.
    let text = VALID.replace("warmup = 1", "warmup = 1\n[metrics]\nwindow = \"1ns\"");
    refused("windows", "run", &text, &[], "metrics.window");
    // Ten million orchestrators.
    let text = VALID.replace("warmup = 1", "warmup = 1\norchestrators = 100000000");
    refused("orchestrators", "validate", &text, &[], "orchestrators");
    // The limit can be lowered and raised: the smallest scenario needs some MiB, not 1K.
    let stderr =
        refused("low-limit", "validate", VALID, &["--max-memory", "1K"], "over the limit of 1 KiB");
    assert!(stderr.contains("MiB"), "{stderr}");
    let dir = scratch("raised");
    let text = VALID.replace("replicas = 2", "replicas = 20000");
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let out = coordsim(&["validate", "s.toml", "--policy", "gossip", "--max-memory", "100T"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn runs_over_the_event_limit_are_refused() {
    // A million jobs per second for a day: about 10^12 events.
    let text = VALID
        .replace("duration = 5", "duration = \"24h\"")
        .replace("rate = 100", "rate = 1000000")
        .replace("replicas = 2", "replicas = 20000");
    let stderr =
        refused("events", "run", &text, &["--policy", "random"], "classes.web.arrival.rate");
    assert!(stderr.contains("events") && stderr.contains("--max-events"), "{stderr}");
}

#[test]
fn sweeps_refuse_a_cell_over_the_limit_before_running_anything() {
    let text = format!(
        "{VALID}\n[sweep]\npolicies = [\"gossip\"]\ngrid = {{ \"services.api.replicas\" = [2, 20000] }}\n"
    );
    let stderr = refused("sweep", "sweep", &text, &["--jobs", "1"], "services.api.replicas");
    assert!(stderr.contains("cell services.api.replicas=20000"), "{stderr}");
}

#[test]
fn declared_but_unexercised_parts_warn_and_strict_refuses_them() {
    let cases = [
        // A fault after the end, a fault within the warm-up, a spike after the end, a
        // service nothing reaches, a rate multiplied by zero throughout.
        ("late-fault", "[[faults]]\nkind = \"crash\"\nservice = \"api\"\nat = 9\nduration = 1\n", "faults[0].at"),
        ("warmup-fault", "[[faults]]\nkind = \"crash\"\nservice = \"api\"\nat = 0\nduration = \"500ms\"\n", "faults[0].at"),
        ("rare-fault", "[[faults]]\nkind = \"crash\"\nservice = \"api\"\nreplica = 0\nmtbf = \"1000h\"\nmttr = 1\n", "faults[0].mtbf"),
        ("unreached", "[services.spare]\nreplicas = 1\nservice_time = { dist = \"constant\", value = \"1ms\" }\n", "services.spare"),
    ];
    for (name, extra, key) in cases {
        let text = format!("{VALID}{extra}");
        // Without --strict: a warning naming the key, and the run goes ahead.
        let dir = scratch(name);
        std::fs::write(dir.join("s.toml"), &text).unwrap();
        let out = coordsim(&["run", "s.toml", "--out", "out", "--jobs", "1"], &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stderr.contains(&format!("warning: s.toml: {key}")), "{name}: {stderr}");
        let _ = std::fs::remove_dir_all(dir);
        let stderr = refused(name, "run", &text, &["--strict"], key);
        assert!(stderr.contains("--strict"), "{stderr}");
    }
    let spike = VALID
        .replace("rate = 100 }", "rate = 100, spikes = [{ at = 7, duration = 1, factor = 3 }] }");
    refused("late-spike", "validate", &spike, &["--strict"], "classes.web.arrival.spikes[0]");
    let zero = VALID
        .replace("rate = 100 }", "rate = 100, ramp = { start = 0, end = 1, from = 0, to = 0 } }");
    refused("zero-rate", "validate", &zero, &["--strict"], "classes.web.arrival");
    // A clean scenario has no warning.
    let dir = scratch("clean");
    std::fs::write(dir.join("s.toml"), VALID).unwrap();
    let out = coordsim(&["validate", "s.toml", "--strict"], &dir);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn an_offered_load_above_one_warns_with_its_keys_and_strict_refuses_it() {
    let validate = |name: &str, text: &str| {
        let dir = scratch(name);
        std::fs::write(dir.join("s.toml"), text).unwrap();
        let out = coordsim(&["validate", "s.toml"], &dir);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{name}: {stderr}");
        stderr
    };
    // 100 requests/s x 50 ms over 2 replicas x 2 slots: 1.25.
    let slow = VALID.replace("mean = \"10ms\"", "mean = \"50ms\"");
    let stderr = validate("load-slow", &slow);
    assert!(stderr.contains("warning: s.toml: services.api: offered load 1.25"), "{stderr}");
    for key in ["classes.web.arrival", "50 ms", "2 replicas x 2 slots", "services.api.replicas"] {
        assert!(stderr.contains(key), "{key}: {stderr}");
    }
    assert!(!stderr.contains("bare number"), "{stderr}");
    refused("load-strict", "run", &slow, &["--strict"], "services.api: offered load 1.25");
    // `mean = 10` is 10 s, not 10 ms: a load of 100 x 10 / 4 = 250, and the bare number named.
    let bare = VALID.replace("mean = \"10ms\"", "mean = 10");
    let stderr = validate("load-bare", &bare);
    assert!(stderr.contains("offered load 250.00"), "{stderr}");
    assert!(stderr.contains("`services.api.service_time.mean` is a bare number"), "{stderr}");
    // A load of exactly 1 (400 x 10 ms over 4 slots) is not above 1: no warning.
    let full = VALID.replace("rate = 100", "rate = 400");
    assert!(!validate("load-one", &full).contains("warning"));
}

#[test]
fn a_sweep_warns_once_per_cell_not_once_per_run() {
    let text = format!(
        "{VALID}[[faults]]\nkind = \"crash\"\nservice = \"api\"\nat = 9\nduration = 1\n[sweep]\nreplications = 3\npolicies = [\"random\", \"round_robin\"]\ngrid = {{ \"services.api.replicas\" = [2, 3] }}\n"
    );
    let dir = scratch("sweep-warn");
    std::fs::write(dir.join("s.toml"), text).unwrap();
    let out = coordsim(&["sweep", "s.toml", "--out", "out", "--jobs", "1"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Every cell has it: once in all, not 2 cells x 2 policies x 3 replications.
    assert_eq!(stderr.matches("faults[0].at").count(), 1, "{stderr}");
}

#[test]
fn meaningless_arguments_are_refused() {
    let dir = scratch("args");
    std::fs::write(dir.join("s.toml"), VALID).unwrap();
    for args in [
        &["run", "s.toml", "--jobs", "0"][..],
        &["run", "s.toml", "--replications", "0"],
        &["run", "s.toml", "--audit", "--audit-limit", "0"],
        &["run", "s.toml", "--trace-jobs", "0"],
        &["run", "s.toml", "--max-memory", "lots"],
        &["run", "s.toml", "--max-events", "0"],
        &["sweep", "s.toml", "--jobs", "0"],
        &["sweep", "s.toml", "--shard", "auto", "--shard-count", "0"],
    ] {
        let out = coordsim(args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!dir.join("results").exists(), "{args:?} wrote results");
    }
}

const SWEEP: &str = "\n[sweep]\nreplications = 2\npolicies = [\"random\", \"round_robin\"]\ngrid = { \"services.api.replicas\" = [2, 3] }\n";

/// Sweeps `s.toml` (VALID + SWEEP) into `dir/<out>` with `extra` arguments.
fn sweep(dir: &Path, out: &str, extra: &[&str]) -> Output {
    let mut args = vec!["sweep", "s.toml", "--out", out, "--jobs", "1"];
    args.extend_from_slice(extra);
    coordsim(&args, dir)
}

#[test]
fn merge_refuses_missing_shards_unless_partial_and_conflicting_runs_always() {
    let dir = scratch("merge");
    std::fs::write(dir.join("s.toml"), format!("{VALID}{SWEEP}")).unwrap();
    for k in 1..=2 {
        let out = sweep(&dir, &format!("shard{k}"), &["--shard", &format!("{k}/2")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // One shard of two, or the same shard twice: refused, nothing written.
    for inputs in [&["shard1"][..], &["shard1", "shard1"]] {
        let mut args = vec!["merge"];
        args.extend_from_slice(inputs);
        args.extend(["--out", "merged"]);
        let out = coordsim(&args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{inputs:?}: {stderr}");
        assert!(
            stderr.contains("4 of the plan's 8 runs") && stderr.contains("--partial"),
            "{stderr}"
        );
        assert!(!dir.join("merged").exists(), "{inputs:?}: a refused merge wrote files");
    }
    // Asked for: a partial merge, said so in the manifest; summary rows carry n = 2 or 0.
    let out = coordsim(&["merge", "shard1", "--out", "partial", "--partial"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(dir.join("partial/manifest.json")).unwrap();
    assert!(manifest.contains("\"missing_runs\": 4"), "{manifest}");
    // Both shards, one of them twice: complete, and no partial note.
    let out = coordsim(&["merge", "shard1", "shard2", "shard1", "--out", "whole"], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(dir.join("whole/manifest.json")).unwrap();
    assert!(!manifest.contains("missing_runs"), "{manifest}");
    // A run present twice with different results: refused, naming both directories.
    let copy = dir.join("shard1b");
    std::fs::create_dir_all(copy.join("runs")).unwrap();
    std::fs::copy(dir.join("shard1/manifest.json"), copy.join("manifest.json")).unwrap();
    for entry in std::fs::read_dir(dir.join("shard1/runs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // Change one figure of every run: another build's or another machine's results.
        let changed = text.replace(",0.", ",9.");
        std::fs::write(copy.join("runs").join(path.file_name().unwrap()), changed).unwrap();
    }
    let out = coordsim(&["merge", "shard1", "shard1b", "shard2", "--out", "conflict"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("different results") && stderr.contains("shard1b"), "{stderr}");
    assert!(!dir.join("conflict").exists());
}

#[test]
fn resume_moves_a_damaged_run_file_aside_and_runs_it_again() {
    let dir = scratch("damaged");
    std::fs::write(dir.join("s.toml"), format!("{VALID}{SWEEP}")).unwrap();
    assert!(sweep(&dir, "out", &[]).status.success());
    let runs = std::fs::read(dir.join("out/runs.csv")).unwrap();
    let victim = std::fs::read_dir(dir.join("out/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    std::fs::write(&victim, b"{\"cell\": 0, \"trunc").unwrap();
    let out = sweep(&dir, "out", &["--resume"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let mut aside = victim.clone().into_os_string();
    aside.push(".damaged");
    assert!(Path::new(&aside).exists(), "the damaged file is kept aside");
    assert!(stderr.contains(".damaged"), "the message names where it went: {stderr}");
    assert!(stderr.contains("1 run now"), "{stderr}");
    // The rerun gives the same run: the sweep's results are byte-identical.
    assert_eq!(std::fs::read(dir.join("out/runs.csv")).unwrap(), runs);
}
