//! The documentation and the code's shape, checked against the code. docs/scenarios.md
//! against the loader: every documented table lists exactly the keys the loader accepts at
//! that place (each table is preceded by a `<!-- probe: ... -->` comment saying where to put
//! an unknown key; serde's "unknown field, expected one of ..." error then names every
//! accepted key, which is compared with the table's first column). Every output column is
//! named in README.md and docs/model.md. Every source file opens with a module paragraph, no
//! file in src/ outgrows a room, and modules import only modules of lower layers.

use std::collections::BTreeSet;

use coordsim::scenario::{self, Override, ScenarioError};

/// A document in which every probe location exists.
const BASE: &str = r#"
duration = 10
[network]
groups = { g = ["api"] }
[services.api]
replicas = 1
service_time = { dist = "constant", value = "1ms" }
[services.db]
replicas = 1
service_time = { dist = "constant", value = "1ms" }
[workflows.w]
steps = [{ name = "s", service = "api" }]
[classes.web]
service = "api"
arrival = { process = "poisson", rate = 1 }
"#;

/// The keys the loader accepts where the probe puts `zzz_unknown`.
fn accepted_keys(probe: &str) -> BTreeSet<String> {
    let set: Override = if probe.contains('=') {
        probe.replacen(" = ", "=", 1).parse().unwrap()
    } else {
        format!("{probe}=1").parse().unwrap()
    };
    let err = scenario::from_toml_str(BASE, "base", &[set]).expect_err(probe);
    let ScenarioError::Field { message, .. } = &err else { panic!("{probe}: {err}") };
    assert!(message.starts_with("unknown field `zzz_unknown`"), "{probe}: {message}");
    let list = message.split("expected").nth(1).unwrap_or("");
    let list = list.split(';').next().unwrap_or("");
    list.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn every_documented_table_matches_the_loader() {
    let doc = std::fs::read_to_string("docs/scenarios.md").unwrap();
    let mut probes = 0;
    let mut lines = doc.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(probe) = line.strip_prefix("<!-- probe: ").and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        probes += 1;
        // The table after the probe: header, separator, then rows whose first cell is `key`.
        let mut documented = BTreeSet::new();
        for row in lines.by_ref().skip_while(|l| !l.starts_with('|')).skip(2) {
            if !row.starts_with('|') {
                break;
            }
            let cell = row.split('|').nth(1).unwrap().trim();
            documented.insert(cell.trim_matches('`').to_owned());
        }
        let mut accepted = accepted_keys(probe);
        // The tag of an internally tagged enum is consumed before the variant's fields.
        accepted.remove("dist");
        documented.remove("dist");
        assert_eq!(documented, accepted, "docs/scenarios.md table after probe `{probe}`");
    }
    assert!(probes >= 20, "only {probes} probes found");
}

/// Every Rust file of the project, found by walking the folders that hold them.
fn rust_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches", "examples"] {
        walk(std::path::Path::new(dir), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_source_file_opens_with_a_module_paragraph() {
    let files = rust_files();
    assert!(files.len() > 60, "only {} Rust files found: run from the crate root", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !text.lines().next().is_some_and(|l| l.starts_with("//!"))
        })
        .collect();
    assert!(missing.is_empty(), "files without a leading `//!` paragraph: {missing:?}");
}

/// No room of the crate grows into a hall: a file over this many lines should be split by
/// concern (ARCHITECTURE.md says where things go).
const MOST_LINES_PER_FILE: usize = 700;

/// Files that are tables, which grow with what they list: the metric catalogue (one entry
/// per result column).
const TABLES: [&str; 1] = ["src/catalogue.rs"];

#[test]
fn no_source_file_in_src_is_longer_than_a_room() {
    let long: Vec<_> = rust_files()
        .into_iter()
        .filter(|f| f.starts_with("src"))
        .filter(|f| !TABLES.iter().any(|t| f.as_path() == std::path::Path::new(t)))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(&f).unwrap().lines().count();
            (lines > MOST_LINES_PER_FILE).then_some((f, lines))
        })
        .collect();
    assert!(long.is_empty(), "files over {MOST_LINES_PER_FILE} lines: {long:?}");
}

/// The crate's modules by layer, as ARCHITECTURE.md lists them: a module may use only
/// modules of lower layers (later in this list), so no import circle can form.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["chart"],
    &["sweep"],
    &["report", "trace"],
    &["sim"],
    &["metrics", "control"],
    &["scenario"],
    &["policy"],
    &["dist"],
    &["engine"],
    &["catalogue", "ids", "time"],
];

#[test]
fn every_module_uses_only_modules_of_lower_layers() {
    let layer_of = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut checked = 0;
    for file in rust_files().into_iter().filter(|f| f.starts_with("src")) {
        let relative = file.strip_prefix("src").unwrap();
        let module = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        let own = layer_of(module).unwrap_or_else(|| panic!("{module} is in no layer"));
        let text = std::fs::read_to_string(&file).unwrap();
        for name in crate_modules(&text) {
            if name == module {
                continue;
            }
            let Some(theirs) = layer_of(&name) else { continue };
            assert!(
                theirs > own,
                "{} uses `{name}`, which is not in a lower layer than `{module}`",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} uses found");
}

/// The top-level modules `text` names after `crate::`: `crate::a::b` names `a`, and a group
/// `crate::{a, b::c, d::{e, f}}` names `a`, `b` and `d`.
fn crate_modules(text: &str) -> Vec<String> {
    let name = |path: &str| -> String {
        path.trim_start().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect()
    };
    let mut names = Vec::new();
    for used in text.split("crate::").skip(1) {
        let Some(group) = used.strip_prefix('{') else {
            names.push(name(used));
            continue;
        };
        // The group's own items, split at its commas (not those of inner groups).
        let (mut depth, mut item) = (0, 0);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                '}' | ',' if depth == 0 => {
                    names.push(name(&group[item..i]));
                    item = i + 1;
                    if c == '}' {
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

#[test]
fn uses_of_crate_modules_are_found_alone_and_in_groups() {
    let text = "use crate::sim::World;\nuse crate::{\n    report,\n    sweep::plan::{A, B},\n    \
                time::SimTime,\n};\n/// [`Trace`](crate::trace::Trace), crate::{ids}";
    assert_eq!(crate_modules(text), ["sim", "report", "sweep", "time", "trace", "ids"]);
}

/// The header line of each per-run file, from a real run so that every column is there.
fn csv_headers() -> Vec<(&'static str, String)> {
    let s = crate::support::scenario(BASE);
    let records = coordsim::cli::run_all(&s, Some(1)).unwrap();
    let header =
        |bytes: Vec<u8>| String::from_utf8(bytes).unwrap().lines().next().unwrap().to_owned();
    use coordsim::report;
    vec![
        ("runs.csv", header(report::runs_csv(&records))),
        ("faults.csv", header(report::faults_csv(&records))),
        ("classes.csv", header(report::classes_csv(&records))),
        ("services.csv", header(report::services_csv(&records))),
        ("timeseries.csv", header(report::timeseries_csv(&records))),
    ]
}

#[test]
fn every_output_column_is_named_in_the_readme_and_the_model() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let model = std::fs::read_to_string("docs/model.md").unwrap();
    // The README names columns in backticked lists (`a, b, c`), the model one by one.
    let named = |text: &str| -> BTreeSet<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .flat_map(|span| span.split(", ").map(str::to_owned).collect::<Vec<_>>())
            .collect()
    };
    let (in_readme, in_model) = (named(&readme), named(&model));
    for (file, header) in csv_headers() {
        for column in header.split(',') {
            assert!(in_readme.contains(column), "README.md does not name `{column}` of {file}");
            // The model defines metrics; the key columns and per-kind message counts are
            // named by pattern there (`messages_<kind>`).
            let by_pattern =
                column.starts_with("messages_") && in_model.contains("messages_<kind>");
            assert!(
                in_model.contains(column) || by_pattern,
                "docs/model.md does not name `{column}` of {file}"
            );
        }
    }
}
