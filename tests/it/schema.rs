//! The scenario file's JSON Schema (`coordsim schema`, committed as
//! docs/scenario.schema.json) against the loader and the documentation: the committed copy
//! is what the code prints; every shipped scenario is valid under it; each key's
//! description is its row of docs/scenarios.md; and over a corpus of mutated shipped
//! scenarios, every document the loader refuses for an unknown key, a missing key, a wrong
//! type or a value outside an enum the schema refuses too, while the schema refuses nothing
//! the loader accepts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use coordsim::scenario;
use serde_json::Value;

use crate::support::{leaves, remove_path};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema() -> Value {
    serde_json::from_str(&scenario::scenario_schema()).expect("the schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("the schema is a valid JSON Schema")
}

fn shipped() -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

fn as_json(doc: &toml::Table) -> Value {
    serde_json::to_value(doc).expect("a TOML document is JSON")
}

#[test]
fn the_committed_schema_is_the_printed_one() {
    let committed = std::fs::read_to_string(root().join(scenario::SCHEMA_PATH)).unwrap();
    assert!(
        committed == scenario::scenario_schema(),
        "{} is out of date: run `coordsim schema > {}`",
        scenario::SCHEMA_PATH,
        scenario::SCHEMA_PATH
    );
}

#[test]
fn every_shipped_scenario_is_valid_under_the_schema_and_points_at_it() {
    let validator = validator();
    for (path, text) in shipped() {
        let doc: toml::Table = text.parse().unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&doc))
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert!(
            text.starts_with("#:schema ../docs/scenario.schema.json\n"),
            "{} does not start with the taplo directive",
            path.display()
        );
    }
}

/// The section of the schema a probe of docs/scenarios.md names: a definition, or a
/// distribution's variant.
fn section(probe: &str) -> &'static str {
    const SECTIONS: &[(&str, &str)] = &[
        ("zzz_unknown", "#"),
        ("admission = ", "RawAdmission"),
        ("metrics = ", "RawMetrics"),
        ("policy.zzz_unknown", "RawPolicyParams"),
        ("policy.power_of_d.", "RawPowerOfD"),
        ("policy.peak_ewma.", "RawPeakEwma"),
        ("policy.central.", "RawCentral"),
        ("policy.auction.", "RawAuction"),
        ("policy.gossip.", "RawGossip"),
        ("policy.sita.", "RawSita"),
        ("network.zzz_unknown", "RawNetwork"),
        ("network.links = ", "RawLink"),
        ("services.api.zzz_unknown", "RawService"),
        ("services.api.working_hours = ", "RawHours"),
        ("services.api.resilience.zzz_unknown", "RawResilience"),
        ("services.api.resilience.retries = ", "RawRetries"),
        ("services.api.resilience.hedge = ", "RawHedge"),
        ("services.api.resilience.circuit_breaker = ", "RawBreaker"),
        ("services.api.resilience.outlier_ejection = ", "RawEjection"),
        ("services.api.calls = ", "RawCallStage"),
        ("services.api.groups = ", "RawGroup"),
        ("services.api.service_time = ", "RawDist"),
        ("workflows.w.zzz_unknown", "RawWorkflow"),
        ("workflows.w.steps = [{ name = \"s\", service = \"api\", zzz", "RawStep"),
        ("workflows.w.steps = [{ name = \"s\", service = \"api\", approval", "RawApproval"),
        ("classes.web.zzz_unknown", "RawClass"),
        ("classes.web.arrival.zzz_unknown", "RawArrival"),
        ("classes.web.arrival.spikes = ", "RawSpike"),
        ("classes.web.arrival.ramp = ", "RawRamp"),
        ("classes.web.arrival.diurnal = ", "RawDiurnal"),
        ("faults = ", "RawFault"),
        ("agents = ", "RawAgent"),
        ("control = ", "RawControl"),
        ("sweep.zzz_unknown", "RawSweep"),
    ];
    SECTIONS
        .iter()
        .filter(|(prefix, _)| probe.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .unwrap_or_else(|| panic!("no schema section for the probe {probe:?}"))
        .1
}

/// The properties of a section; for a distribution, those of the variant whose `dist` the
/// probe names.
fn properties<'a>(schema: &'a Value, probe: &str) -> &'a serde_json::Map<String, Value> {
    let name = section(probe);
    let def = if name == "#" { schema } else { &schema["$defs"][name] };
    let object = if name == "RawDist" {
        let dist = probe.split("dist = \"").nth(1).unwrap().split('"').next().unwrap();
        let variants = def["oneOf"].as_array().unwrap();
        variants.iter().find(|v| v["properties"]["dist"]["const"] == dist).unwrap()
    } else {
        def
    };
    object["properties"].as_object().unwrap_or_else(|| panic!("{name} has no properties"))
}

/// A row of docs/scenarios.md as the schema describes it: the meaning (first letter in
/// capitals), then its unit and default where the table gives them.
fn described(unit: &str, default: &str, meaning: &str) -> String {
    let mut text: String = meaning.chars().take(1).flat_map(char::to_uppercase).collect();
    text.push_str(&meaning[meaning.chars().next().map_or(0, char::len_utf8)..]);
    let mut extra = Vec::new();
    if !unit.is_empty() {
        extra.push(format!("unit: {unit}"));
    }
    if !default.is_empty() && default != "required" {
        extra.push(format!("default: {default}"));
    }
    if !extra.is_empty() {
        text.push_str(&format!(" ({})", extra.join("; ")));
    }
    text
}

#[test]
fn every_key_is_described_in_the_schema_as_in_docs_scenarios_md() {
    let docs = std::fs::read_to_string(root().join("docs/scenarios.md")).unwrap();
    let schema = schema();
    let (mut probe, mut rows) = (None::<String>, 0);
    for line in docs.lines() {
        if let Some(p) = line.trim().strip_prefix("<!-- probe: ") {
            probe = Some(p.trim_end_matches(" -->").to_owned());
            continue;
        }
        let (Some(probe), Some(row)) = (&probe, line.strip_prefix("| `")) else { continue };
        let cells: Vec<&str> = row.trim_end_matches('|').splitn(5, '|').map(str::trim).collect();
        let key = cells[0].trim_end_matches('`');
        let property = &properties(&schema, probe)
            .get(key)
            .unwrap_or_else(|| panic!("docs/scenarios.md has `{key}` ({probe}), the schema not"));
        let want = described(cells[2], cells[3], cells[4]);
        assert_eq!(property["description"], want.as_str(), "`{key}` in {probe}");
        rows += 1;
    }
    assert!(rows > 200, "{rows} rows of docs/scenarios.md checked");
}

/// Why the loader refused a document, from its message: a refusal the schema must share
/// (the shape of the document) or one that is the loader's own (what the values mean).
fn shape_refusal(message: &str) -> bool {
    ["unknown field", "missing field", "invalid type", "unknown variant", "invalid value"]
        .iter()
        .any(|m| message.contains(m))
}

/// What a loader-only refusal checked, from its message: the checks docs/scenarios.md
/// lists as the loader's alone.
fn semantic_reason(message: &str) -> String {
    let said = message.splitn(3, ": ").nth(2).unwrap_or(message);
    let kinds: &[(&str, &[&str])] = &[
        (
            "a name that must exist (service, class, workflow, agent, group)",
            &[
                "no service",
                "no class",
                "no workflow",
                "no agent",
                "no group",
                "unknown service",
                "unknown class",
                "unknown workflow",
                "unknown agent",
                "unknown group",
                "not a service",
                "not declared",
                "did you mean",
            ],
        ),
        (
            "a key another key's value needs or excludes",
            &[
                "only with",
                "only a",
                "required by",
                "requires",
                "needs",
                "is not told",
                "not with",
                "does not apply",
                "does not use",
                "exclusive",
                "missing",
                "either",
                "one of",
            ],
        ),
        (
            "a range, a sign or an order between two keys",
            &[
                "must be", ">= ", "> 0", "<= ", "< ", "in [", "in (", "at most", "at least",
                "positive", "finite", "between",
            ],
        ),
        ("a cycle or an order", &["cycle", "before", "after"]),
    ];
    for (kind, words) in kinds {
        if words.iter().any(|w| said.contains(w)) {
            return (*kind).to_owned();
        }
    }
    format!("other: {said}")
}

/// Sets the key at `path` (dotted, through tables) to `value`, if its parent exists.
fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    match path {
        [last] => {
            table.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            if let Some(toml::Value::Table(inner)) = table.get_mut(*first) {
                set_path(inner, rest, value);
            }
        }
        [] => {}
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses_for_its_shape_and_nothing_it_accepts() {
    let validator = validator();
    // Values of the wrong type or sign (non-finite floats have no JSON form).
    let odd = [
        toml::Value::Integer(-1),
        toml::Value::Integer(0),
        toml::Value::Integer(i64::MAX),
        toml::Value::Float(-0.5),
        toml::Value::Float(1e300),
        toml::Value::String("banana".into()),
        toml::Value::String("-5ms".into()),
        toml::Value::String("10 parsecs".into()),
        toml::Value::Boolean(true),
        toml::Value::Array(vec![]),
        toml::Value::Table(toml::Table::new()),
    ];
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut loader_only: BTreeMap<String, usize> = BTreeMap::new();
    for (path, text) in shipped() {
        let origin = path.display().to_string();
        let doc: toml::Table = text.parse().unwrap();
        let mut paths = Vec::new();
        leaves(&toml::Value::Table(doc.clone()), "", &mut paths);
        let mut variants = Vec::new();
        for key in &paths {
            let parts: Vec<&str> = key.split('.').collect();
            let mut dropped = doc.clone();
            remove_path(&mut dropped, &parts);
            variants.push(dropped);
            let mut misspelt = doc.clone();
            let mut wrong_name = parts.clone();
            let unknown = format!("{}_x", parts.last().unwrap());
            *wrong_name.last_mut().unwrap() = &unknown;
            set_path(&mut misspelt, &wrong_name, toml::Value::Integer(1));
            variants.push(misspelt);
            for value in &odd {
                let mut changed = doc.clone();
                set_path(&mut changed, &parts, value.clone());
                variants.push(changed);
            }
        }
        for variant in variants {
            let text = toml::to_string(&variant).unwrap();
            let loaded = scenario::from_toml_str(&text, &origin, &[]);
            let valid = validator.is_valid(&as_json(&variant));
            *counts.entry("tried").or_default() += 1;
            match (loaded, valid) {
                (Ok(_), true) => *counts.entry("accepted by both").or_default() += 1,
                (Err(_), false) => *counts.entry("refused by both").or_default() += 1,
                (Ok(_), false) => {
                    let errors: Vec<String> = validator
                        .iter_errors(&as_json(&variant))
                        .map(|e| format!("{e} at {}", e.instance_path))
                        .collect();
                    panic!("the schema refuses what the loader accepts ({origin}):\n{text}\n{errors:?}");
                }
                (Err(e), true) => {
                    let message = e.to_string();
                    assert!(
                        !shape_refusal(&message),
                        "the loader refuses the shape, the schema accepts ({origin}): {message}\n{text}"
                    );
                    *counts.entry("refused by the loader alone").or_default() += 1;
                    *loader_only.entry(semantic_reason(&message)).or_default() += 1;
                }
            }
        }
    }
    println!("{counts:#?}");
    let mut reasons: Vec<(usize, String)> = loader_only.into_iter().map(|(r, n)| (n, r)).collect();
    reasons.sort_by(|a, b| b.cmp(a));
    println!("loader-only refusals, most frequent first: {reasons:#?}");
    // Each is a check docs/scenarios.md lists as the loader's alone.
    assert!(reasons.iter().all(|(_, r)| !r.starts_with("other")), "{reasons:#?}");
    assert!(counts["tried"] > 10_000 && counts["refused by both"] > 1_000, "{counts:?}");
}

#[test]
fn the_schema_names_allowed_values_and_duration_forms() {
    let schema = schema();
    let estimate = &schema["$defs"]["LoadEstimate"];
    let names: Vec<&str> = estimate["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["const"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["reported", "aged"]);
    let duration = &schema["$defs"]["Duration"];
    let pattern = duration["anyOf"][1]["pattern"].as_str().unwrap();
    let validator =
        jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": pattern }))
            .unwrap();
    for good in ["10ms", "1.5 s", "250us", "2m", ".5h", "-3s", "7min"] {
        assert!(validator.is_valid(&Value::from(good)), "{good}");
        assert!(coordsim_duration_parses(good), "{good}");
    }
    for bad in ["10", "10 parsecs", "x1ms", "1e3ms", "ms"] {
        assert!(!validator.is_valid(&Value::from(bad)), "{bad}");
        assert!(!coordsim_duration_parses(bad), "{bad}");
    }
}

/// Whether the loader reads `text` as a duration (its value may still be out of range).
fn coordsim_duration_parses(text: &str) -> bool {
    let doc = format!(
        "duration = {text:?}\n[services.a]\nreplicas = 1\nservice_time = {{ dist = \"constant\", value = 0.001 }}\n[classes.c]\nservice = \"a\"\narrival = {{ process = \"poisson\", rate = 1 }}\n"
    );
    match scenario::from_toml_str(&doc, "d.toml", &[]) {
        Ok(_) => true,
        Err(e) => {
            let message = e.to_string();
            !["no unit", "unknown duration unit", "is not a number", "invalid type"]
                .iter()
                .any(|m| message.contains(m))
        }
    }
}
