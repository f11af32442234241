//! `[classes.<name>]` -> [`JobClass`] and arrival processes -> [`Arrival`]: what a class
//! runs (a workflow, or one service as a one-step workflow built here), its deadline, and
//! where its jobs come from (its own `arrival`, or a `weight` of the top-level one); each
//! process with its keys, its rate shapes (spikes, ramp, diurnal) and the peak-rate limit.
//! A `trace` process reads its CSV file here, naming the line of any bad row.

use std::collections::BTreeMap;
use std::path::Path;

use super::check::{
    at_least_one, at_most, backticked, check_name, count_at_most, csv_column, lookup,
    non_negative_finite, non_negative_seconds, positive_finite, positive_seconds, rate_per_second,
};
use super::distributions::dist;
use super::resilience::resilience;
use super::Result;
use crate::scenario::raw::{ProcessKind, RawArrival, RawClass, RawService};
use crate::scenario::{
    Arrival, ClassId, ClassSource, Invalid, JobClass, Process, RateShape, ServiceId, Step,
    Workflow, WorkflowId,
};
use crate::time::{SimDuration, SimTime};

/// Every class, in the order of `classes`. A class that names a `service` gets a one-step
/// workflow, appended to `workflows`.
pub(super) fn classes(
    raw: &BTreeMap<String, RawClass>,
    services: &BTreeMap<&str, ServiceId>,
    raw_services: &BTreeMap<String, RawService>,
    workflow_ids: &BTreeMap<&str, WorkflowId>,
    workflows: &mut Vec<Workflow>,
    base: &Path,
) -> Result<Vec<JobClass>> {
    if raw.is_empty() {
        return Err(Invalid::new("classes", "expected at least one [classes.<name>] table"));
    }
    count_at_most("classes", raw.len(), 60_000, "classes")?;
    let mut classes = Vec::with_capacity(raw.len());
    for (name, c) in raw {
        classes.push(class(name, c, services, raw_services, workflow_ids, workflows, base)?);
    }
    Ok(classes)
}

/// The top-level `arrival`, which feeds the classes that have a `weight`: both or neither.
pub(super) fn shared_arrival(
    raw: Option<&RawArrival>,
    class_ids: &BTreeMap<&str, ClassId>,
    classes: &[JobClass],
    base: &Path,
) -> Result<Option<Arrival>> {
    let shared_arrival = match raw {
        Some(arrival) => {
            let shared = self::arrival("arrival", arrival, Some(class_ids), base)?;
            if !classes.iter().any(|c| matches!(c.source, ClassSource::Weight(_))) {
                return Err(Invalid::new(
                    "arrival",
                    "a top-level arrival feeds the classes that have a `weight`, but no class has one",
                ));
            }
            Some(shared)
        }
        None => None,
    };
    if let Some(c) = classes.iter().find(|c| matches!(c.source, ClassSource::Weight(_))) {
        if shared_arrival.is_none() {
            return Err(Invalid::new(
                format!("classes.{}.weight", c.name),
                "a weight is a share of the top-level `arrival` process, which is missing",
            ));
        }
    }
    Ok(shared_arrival)
}

fn class(
    name: &str,
    raw: &RawClass,
    services: &BTreeMap<&str, ServiceId>,
    raw_services: &BTreeMap<String, RawService>,
    workflow_ids: &BTreeMap<&str, WorkflowId>,
    workflows: &mut Vec<Workflow>,
    base: &Path,
) -> Result<JobClass> {
    let field = |key: &str| format!("classes.{name}.{key}");
    let workflow = match (&raw.service, &raw.workflow) {
        (Some(service), None) => {
            let service = lookup(&field("service"), "service", service, services)?;
            let raw_service =
                raw_services.values().nth(service.index()).expect("ids index the map");
            workflows.push(Workflow {
                name: name.to_owned(),
                steps: vec![Step {
                    name: name.to_owned(),
                    service,
                    after: Vec::new(),
                    resilience: resilience(
                        &format!(
                            "services.{}.resilience",
                            raw.service.as_deref().unwrap_or_default()
                        ),
                        &raw_service.resilience.clone().unwrap_or_default(),
                    )?,
                    approval: None,
                    escalate: None,
                }],
            });
            WorkflowId(workflows.len() as u32 - 1)
        }
        (None, Some(workflow)) => lookup(&field("workflow"), "workflow", workflow, workflow_ids)?,
        _ => {
            return Err(Invalid::new(
                format!("classes.{name}"),
                "expected exactly one of `service` (one-step jobs) or `workflow`",
            ))
        }
    };
    let source = match (&raw.arrival, raw.weight) {
        (Some(arrival), None) => ClassSource::Own(self::arrival(&field("arrival"), arrival, None, base)?),
        (None, Some(weight)) => ClassSource::Weight(positive_finite(&field("weight"), weight)?),
        _ => {
            return Err(Invalid::new(
                format!("classes.{name}"),
                "expected exactly one of `arrival` (its own process) or `weight` (a share of the top-level arrival)",
            ))
        }
    };
    let deadline = match raw.deadline {
        Some(d) => Some(positive_seconds(&field("deadline"), d.0)?),
        None => None,
    };
    Ok(JobClass { name: check_name(&format!("classes.{name}"), name)?, workflow, deadline, source })
}

/// Validates an arrival process. `classes` is given for the top-level process only, whose
/// trace may name the class of each arrival.
fn arrival(
    field: &str,
    raw: &RawArrival,
    classes: Option<&BTreeMap<&str, ClassId>>,
    base: &Path,
) -> Result<Arrival> {
    let key = |k: &str| format!("{field}.{k}");
    let kind = raw.process;
    let kind_name = format!("{kind:?}").to_lowercase();
    // Which optional keys each process takes; any other key that is set is an error.
    let allowed: &[&str] = match kind {
        ProcessKind::Poisson | ProcessKind::Deterministic => &["rate"],
        ProcessKind::Mmpp => &["rate", "burst_rate", "normal_time", "burst_time"],
        ProcessKind::Trace => &["file", "time_column", "class_column"],
        ProcessKind::Closed => &["clients", "think"],
    };
    let set = [
        ("rate", raw.rate.is_some()),
        ("burst_rate", raw.burst_rate.is_some()),
        ("normal_time", raw.normal_time.is_some()),
        ("burst_time", raw.burst_time.is_some()),
        ("file", raw.file.is_some()),
        ("time_column", raw.time_column.is_some()),
        ("class_column", raw.class_column.is_some()),
        ("clients", raw.clients.is_some()),
        ("think", raw.think.is_some()),
    ];
    for (name, is_set) in set {
        if is_set && !allowed.contains(&name) {
            return Err(Invalid::new(
                key(name),
                format!("not used by process `{kind_name}` (it takes: {})", allowed.join(", ")),
            ));
        }
    }
    let required =
        |name: &str| Invalid::new(key(name), format!("required by process `{kind_name}`"));
    let rate = |value: Option<f64>, name: &str| -> Result<f64> {
        rate_per_second(&key(name), value.ok_or_else(|| required(name))?)
    };
    let process = match kind {
        ProcessKind::Poisson => Process::Poisson { rate: rate(raw.rate, "rate")? },
        ProcessKind::Deterministic => Process::Deterministic { rate: rate(raw.rate, "rate")? },
        ProcessKind::Mmpp => Process::Mmpp {
            rate: rate(raw.rate, "rate")?,
            burst_rate: rate(raw.burst_rate, "burst_rate")?,
            normal_time: positive_seconds(
                &key("normal_time"),
                raw.normal_time.ok_or_else(|| required("normal_time"))?.0,
            )?,
            burst_time: positive_seconds(
                &key("burst_time"),
                raw.burst_time.ok_or_else(|| required("burst_time"))?.0,
            )?,
        },
        ProcessKind::Trace => {
            let file = raw.file.as_deref().ok_or_else(|| required("file"))?;
            if raw.class_column.is_some() && classes.is_none() {
                return Err(Invalid::new(
                    key("class_column"),
                    "only the top-level arrival can route a trace's arrivals to classes",
                ));
            }
            let time_column = raw.time_column.as_deref().unwrap_or("time");
            let (times, trace_classes) = read_trace(
                &key("file"),
                &base.join(file),
                time_column,
                raw.class_column.as_deref().map(|c| (c, classes.expect("checked above"))),
            )?;
            Process::Trace { times: times.into(), classes: trace_classes.map(Into::into) }
        }
        ProcessKind::Closed => Process::Closed {
            clients: at_most(
                &key("clients"),
                at_least_one(&key("clients"), raw.clients.ok_or_else(|| required("clients"))?)?,
                10_000_000,
            )?,
            think: dist(&key("think"), raw.think.as_ref().ok_or_else(|| required("think"))?, base)?,
        },
    };
    let mut shapes = Vec::new();
    for (i, spike) in raw.spikes.iter().enumerate() {
        let k = |name: &str| key(&format!("spikes[{i}].{name}"));
        shapes.push(RateShape::Spike {
            at: SimTime::ZERO + non_negative_seconds(&k("at"), spike.at.0)?,
            duration: positive_seconds(&k("duration"), spike.duration.0)?,
            factor: non_negative_finite(&k("factor"), spike.factor)?,
        });
    }
    if let Some(ramp) = &raw.ramp {
        let start = non_negative_seconds(&key("ramp.start"), ramp.start.0)?;
        let end = non_negative_seconds(&key("ramp.end"), ramp.end.0)?;
        if end <= start {
            return Err(Invalid::new(
                key("ramp.end"),
                format!("expected after ramp.start ({start}), found {end}"),
            ));
        }
        shapes.push(RateShape::Ramp {
            start: SimTime::ZERO + start,
            end: SimTime::ZERO + end,
            from: non_negative_finite(&key("ramp.from"), ramp.from.unwrap_or(1.0))?,
            to: non_negative_finite(&key("ramp.to"), ramp.to)?,
        });
    }
    if let Some(d) = &raw.diurnal {
        let amplitude = d.amplitude;
        if !(0.0..=1.0).contains(&amplitude) {
            return Err(Invalid::new(
                key("diurnal.amplitude"),
                format!("expected a number in [0, 1], found {amplitude}"),
            ));
        }
        shapes.push(RateShape::Diurnal {
            period: positive_seconds(&key("diurnal.period"), d.period.0)?,
            amplitude,
            peak: SimTime::ZERO
                + non_negative_seconds(&key("diurnal.peak"), d.peak.map_or(0.0, |p| p.0))?,
        });
    }
    // The peak rate, not only the base one, must keep gaps above the clock's resolution.
    let peak_multiplier: f64 = shapes.iter().map(RateShape::max).product();
    let peak_base = match &process {
        Process::Poisson { rate } | Process::Deterministic { rate } => *rate,
        Process::Mmpp { rate, burst_rate, .. } => rate.max(*burst_rate),
        Process::Trace { .. } | Process::Closed { .. } => 0.0,
    };
    if peak_base * peak_multiplier > 1e9 {
        return Err(Invalid::new(
            field,
            format!(
                "the peak rate (base rate x the largest spike, ramp and diurnal multipliers) is {}, above the limit of 1e9 per second",
                peak_base * peak_multiplier
            ),
        ));
    }
    if !shapes.is_empty() && matches!(kind, ProcessKind::Trace | ProcessKind::Closed) {
        return Err(Invalid::new(
            field,
            format!(
                "spikes, ramp and diurnal modulate open-loop rates; process `{kind_name}` has none"
            ),
        ));
    }
    Ok(Arrival { process, shapes })
}

/// Reads arrival instants (seconds) and optionally classes from a CSV file with a header.
fn read_trace(
    field: &str,
    path: &Path,
    time_column: &str,
    class_column: Option<(&str, &BTreeMap<&str, ClassId>)>,
) -> Result<(Vec<SimTime>, Option<Vec<ClassId>>)> {
    let shown = path.display();
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| Invalid::new(field, format!("cannot read trace {shown}: {e}")))?;
    let headers =
        reader.headers().map_err(|e| Invalid::new(field, format!("{shown}: {e}")))?.clone();
    let time_at = csv_column(field, path, &headers, time_column)?;
    let class_at =
        class_column.map(|(name, _)| csv_column(field, path, &headers, name)).transpose()?;
    let mut times = Vec::new();
    let mut classes = class_column.map(|_| Vec::new());
    let mut last = SimTime::ZERO;
    for record in reader.records() {
        let record = record.map_err(|e| Invalid::new(field, format!("{shown}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let text = record.get(time_at).unwrap_or("").trim();
        let secs: f64 = text.parse().map_err(|_| {
            Invalid::new(
                field,
                format!(
                    "{shown}:{line}: `{text}` in column `{time_column}` is not a number of seconds"
                ),
            )
        })?;
        if !(secs.is_finite() && (0.0..=1e7).contains(&secs)) {
            return Err(Invalid::new(
                field,
                format!("{shown}:{line}: time {secs} is outside [0, 1e7] s"),
            ));
        }
        let t = SimTime::ZERO + SimDuration::from_secs_f64(secs);
        if t < last {
            return Err(Invalid::new(
                field,
                format!("{shown}:{line}: time {secs} is earlier than the line before"),
            ));
        }
        last = t;
        times.push(t);
        if let (Some(at), Some((name, known)), Some(out)) =
            (class_at, class_column, classes.as_mut())
        {
            let class = record.get(at).unwrap_or("").trim();
            let id = known.get(class).ok_or_else(|| {
                let list = backticked(known.keys());
                Invalid::new(
                    field,
                    format!(
                        "{shown}:{line}: unknown class `{class}` in column `{name}`; known: {list}"
                    ),
                )
            })?;
            out.push(*id);
        }
    }
    if times.is_empty() {
        return Err(Invalid::new(field, format!("{shown}: the trace has no arrivals")));
    }
    Ok((times, classes))
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::tests::{check, VALID};
    use crate::scenario::Process;

    #[test]
    fn each_check_names_its_field() {
        check("classes.web.arrival.rate=-5", "classes.web.arrival.rate", "(0, 1e9]");
        check("classes.web.arrival.rate=0", "classes.web.arrival.rate", "(0, 1e9]");
        check("classes.web.arrival.rate=1e300", "classes.web.arrival.rate", "(0, 1e9]");
        check("classes.buy.deadline=0", "classes.buy.deadline", "> 0");
        check(
            "classes.web.arrival.clients=3",
            "classes.web.arrival.clients",
            "not used by process `poisson`",
        );
        check("classes.buy.arrival.burst_rate=-1", "classes.buy.arrival.burst_rate", "(0, 1e9]");
        check(
            "classes.web.arrival.process=closed",
            "classes.web.arrival.rate",
            "not used by process `closed`",
        );
        check(
            "classes.web.arrival={process=\"closed\",clients=2}",
            "classes.web.arrival.think",
            "required by process `closed`",
        );
        check(
            "classes.web.arrival.diurnal={period=10,amplitude=2}",
            "classes.web.arrival.diurnal.amplitude",
            "[0, 1]",
        );
        check("classes.web.weight=2", "classes.web", "exactly one of `arrival`");
        check("classes.web.workflow=order", "classes.web", "exactly one of `service`");
    }

    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
        check(
            "classes.web.service=apj",
            "classes.web.service",
            "unknown service `apj`; known: `api`, `db`; did you mean `api`?",
        );
        check("classes.buy.workflow=ordr", "classes.buy.workflow", "did you mean `order`?");
    }

    #[test]
    fn limits_that_protect_the_run_are_enforced() {
        check(
            "classes.web.arrival={process=\"poisson\",rate=1e6,spikes=[{at=1,duration=1,factor=1e4}]}",
            "classes.web.arrival",
            "peak rate",
        );
        check("classes.web.arrival={process=\"closed\",clients=20000000,think={dist=\"constant\",value=1}}", "classes.web.arrival.clients", "at most 10000000");
    }

    #[test]
    fn a_malformed_trace_is_reported_with_its_line() {
        let dir = std::env::temp_dir().join(format!("coordsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ok.csv"), "time,class\n0.5,web\n1.0,buy\n").unwrap();
        std::fs::write(dir.join("bad.csv"), "time\n0.5\n0.7\nsoon\n").unwrap();
        std::fs::write(dir.join("back.csv"), "time\n0.5\n0.2\n").unwrap();
        let file = dir.join("s.toml");
        let text = VALID.replace("arrival = { process = \"poisson\", rate = 50 }", "weight = 1")
            .replace("arrival = { process = \"mmpp\", rate = 5, burst_rate = 50, normal_time = \"10s\", burst_time = \"1s\" }", "weight = 1");
        let with = |trace: &str, class_column: &str| {
            format!("arrival = {{ process = \"trace\", file = \"{trace}\"{class_column} }}\n{text}")
        };
        std::fs::write(&file, with("ok.csv", ", class_column = \"class\"")).unwrap();
        let s = crate::scenario::load(&file).unwrap();
        match &s.shared_arrival.as_ref().unwrap().process {
            Process::Trace { times, classes } => {
                assert_eq!(times.len(), 2);
                assert_eq!(
                    classes.as_ref().unwrap()[1],
                    s.classes
                        .iter()
                        .position(|c| c.name == "buy")
                        .map(|i| crate::ids::ClassId(i as u32))
                        .unwrap()
                );
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&file, with("bad.csv", "")).unwrap();
        let err = crate::scenario::load(&file).unwrap_err().to_string();
        assert!(err.contains("bad.csv:4: `soon` in column `time` is not a number"), "{err}");
        std::fs::write(&file, with("back.csv", "")).unwrap();
        let err = crate::scenario::load(&file).unwrap_err().to_string();
        assert!(err.contains("back.csv:3: time 0.2 is earlier"), "{err}");
        std::fs::write(&file, with("missing.csv", "")).unwrap();
        let err = crate::scenario::load(&file).unwrap_err().to_string();
        assert!(err.contains("arrival.file: cannot read trace"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
