//! A sweep's grid keys checked before anything runs: a key valid in no cell (misspelt, or
//! naming a service that does not exist) is refused by `sweep` and `validate` with the key
//! and the loader's did-you-mean, exit code 2 and no file written; a key valid in some
//! cells still runs; and `sweep --set` varies the overridden scenario, exactly as if the
//! file said so.

use crate::cli::{coordsim, scratch, VALID};

fn with_grid(grid: &str) -> String {
    format!("{VALID}\n[sweep]\nreplications = 1\npolicies = [\"random\"]\ngrid = {{ {grid} }}\n")
}

/// `sweep` and `validate` on a file with this grid both refuse it as bad input, and write
/// nothing; returns `sweep`'s stderr.
fn refused(name: &str, grid: &str) -> String {
    let dir = scratch(name);
    std::fs::write(dir.join("s.toml"), with_grid(grid)).unwrap();
    let out = coordsim(&["sweep", "s.toml", "--out", "out"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(!dir.join("out").exists(), "{name}: the sweep wrote a directory");
    assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    let validated = coordsim(&["validate", "s.toml"], &dir);
    let said = String::from_utf8_lossy(&validated.stderr).into_owned();
    assert_eq!(validated.status.code(), Some(2), "{name}: validate: {said}");
    let first_line = stderr.lines().next().unwrap_or_default();
    assert!(said.contains(first_line.trim_start_matches("error: ")), "{name}: {said} vs {stderr}");
    stderr
}

#[test]
fn a_misspelt_grid_key_is_refused_before_anything_runs() {
    let stderr = refused("misspelt", r#""services.api.replicass" = [1, 2]"#);
    assert!(
        stderr.contains(
            r#"s.toml: sweep.grid."services.api.replicass": the key is valid in no cell"#
        ),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `replicass`"), "{stderr}");
    assert!(stderr.contains("did you mean `replicas`"), "{stderr}");
}

#[test]
fn a_grid_key_on_a_service_that_does_not_exist_is_refused() {
    let stderr = refused("nope", r#""services.nope.replicas" = [1, 2]"#);
    assert!(
        stderr.contains(r#"sweep.grid."services.nope.replicas": the key is valid in no cell"#),
        "{stderr}"
    );
    assert!(stderr.contains("services.nope"), "{stderr}");
}

#[test]
fn a_bad_key_is_found_among_good_ones_and_a_key_valid_in_some_cells_runs() {
    let stderr = refused(
        "among",
        r#""services.api.replicas" = [1, 2], "classes.web.arival.rate" = [10, 20]"#,
    );
    assert!(stderr.contains(r#"sweep.grid."classes.web.arival.rate""#), "{stderr}");
    assert!(stderr.contains("did you mean `arrival`"), "{stderr}");
    // replicas = 0 is invalid, 2 is fine: the sweep runs the good cell and records the bad
    // one (exit code 1: some runs failed).
    let dir = scratch("some-cells");
    std::fs::write(dir.join("s.toml"), with_grid(r#""services.api.replicas" = [0, 2]"#)).unwrap();
    let out = coordsim(&["sweep", "s.toml", "--out", "out"], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let runs = std::fs::read_to_string(dir.join("out/runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 2, "the good cell's run: {runs}");
    let errors = std::fs::read_to_string(dir.join("out/errors.csv")).unwrap();
    assert_eq!(errors.lines().count(), 2, "one bad cell, one policy: {errors}");
    assert!(errors.contains("services.api.replicas"), "{errors}");
}

#[test]
fn sweep_set_varies_the_overridden_scenario() {
    let dir = scratch("sweep-set");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    let grid = r#""classes.web.arrival.rate" = [50, 100]"#;
    std::fs::write(dir.join("a/s.toml"), with_grid(grid)).unwrap();
    let edited = with_grid(grid).replace("replicas = 2", "replicas = 3");
    std::fs::write(dir.join("b/s.toml"), edited).unwrap();
    let set = coordsim(
        &["sweep", "a/s.toml", "--set", "services.api.replicas=3", "--out", "a/out"],
        &dir,
    );
    assert_eq!(set.status.code(), Some(0), "{}", String::from_utf8_lossy(&set.stderr));
    let file = coordsim(&["sweep", "b/s.toml", "--out", "b/out"], &dir);
    assert_eq!(file.status.code(), Some(0), "{}", String::from_utf8_lossy(&file.stderr));
    let runs = |d: &str| std::fs::read_to_string(dir.join(d).join("out/runs.csv")).unwrap();
    assert_eq!(runs("a"), runs("b"), "--set and the same value in the file give the same runs");
    // And not the runs of the file as written.
    let plain = coordsim(&["sweep", "a/s.toml", "--out", "a/plain"], &dir);
    assert_eq!(plain.status.code(), Some(0));
    let plain_runs = std::fs::read_to_string(dir.join("a/plain/runs.csv")).unwrap();
    assert_ne!(plain_runs, runs("a"));
    // A sweep resumed without the override is told apart (the content hash includes it).
    let resumed = coordsim(&["sweep", "a/s.toml", "--out", "a/out", "--resume"], &dir);
    assert_ne!(resumed.status.code(), Some(0), "{}", String::from_utf8_lossy(&resumed.stderr));
}
