//! `[services.<name>]` -> [`Service`]: replicas, slots, queue, speed, service time, calls
//! (stages of callees, each with its resilience), people and their working hours; then the
//! checks over the whole call graph: no cycle, and no job that would expand to more units
//! than `MAX_UNITS_PER_JOB`.
//!
//! Services are validated before workflows and classes, which refer to them by
//! [`ServiceId`]: the position of the name in the sorted `[services]` table.

use std::collections::BTreeMap;
use std::path::Path;

use super::check::{
    at_least_one, check_name, lookup, non_negative_finite, non_negative_seconds, positive_finite,
    positive_seconds,
};
use super::distributions::dist;
use super::resilience::{merge, resilience};
use super::workflows::find_cycle;
use super::Result;
use crate::scenario::raw::{RawGroup, RawService, ServiceKindRaw};
use crate::scenario::{
    CallStage, ExecutionNoise, Invalid, ReplicaGroup, Service, ServiceId, Workflow, WorkingHours,
};
use crate::time::SimDuration;

/// The name of the one group of a service that declares none.
pub(crate) const DEFAULT_GROUP: &str = "default";

/// A service's declared groups, each key defaulting to the service's own (`own`).
fn groups(field: &str, raw: &[RawGroup], own: &ReplicaGroup) -> Result<Vec<ReplicaGroup>> {
    if raw.is_empty() {
        return Err(Invalid::new(field, "expected at least one group, or no `groups` at all"));
    }
    let mut validated: Vec<ReplicaGroup> = Vec::with_capacity(raw.len());
    for (i, g) in raw.iter().enumerate() {
        let at = |key: &str| format!("{field}[{i}].{key}");
        let name = check_name(&at("name"), &g.name)?;
        if validated.iter().any(|v| v.name == name) {
            return Err(Invalid::new(
                at("name"),
                format!("expected a name unique within the service, found `{name}` twice"),
            ));
        }
        validated.push(ReplicaGroup {
            name,
            replicas: at_least_one(&at("replicas"), g.replicas)?,
            speed: positive_finite(&at("speed"), g.speed.unwrap_or(own.speed))?,
            concurrency: at_least_one(
                &at("concurrency"),
                g.concurrency.unwrap_or(own.concurrency),
            )?,
            queue_capacity: g.queue_capacity.unwrap_or(own.queue_capacity),
            price: non_negative_finite(&at("price"), g.price.unwrap_or(own.price))?,
        });
    }
    Ok(validated)
}

/// Every service, in the order of `services`, and the call graph checked for cycles.
pub(super) fn services(
    raw: &BTreeMap<String, RawService>,
    services: &BTreeMap<&str, ServiceId>,
    base: &Path,
) -> Result<Vec<Service>> {
    if raw.is_empty() {
        return Err(Invalid::new("services", "expected at least one [services.<name>] table"));
    }
    let validated = raw
        .iter()
        .map(|(name, s)| service(name, s, services, raw, base))
        .collect::<Result<Vec<_>>>()?;
    check_call_graph_acyclic(&validated)?;
    Ok(validated)
}

fn service(
    name: &str,
    raw: &RawService,
    services: &BTreeMap<&str, ServiceId>,
    raw_services: &BTreeMap<String, RawService>,
    base: &Path,
) -> Result<Service> {
    let field = |key: &str| format!("services.{name}.{key}");
    let mut calls = Vec::with_capacity(raw.calls.len());
    for (i, stage) in raw.calls.iter().enumerate() {
        let stage_field = field(&format!("calls[{i}].services"));
        if stage.services.is_empty() {
            return Err(Invalid::new(stage_field, "expected at least one service to call"));
        }
        let callees = stage
            .services
            .iter()
            .map(|callee| lookup(&stage_field, "service", callee, services))
            .collect::<Result<Vec<_>>>()?;
        let resilience = stage
            .services
            .iter()
            .map(|callee| {
                let merged =
                    merge(stage.resilience.as_ref(), raw_services[callee].resilience.as_ref());
                let at = if stage.resilience.is_some() {
                    field(&format!("calls[{i}].resilience"))
                } else {
                    format!("services.{callee}.resilience")
                };
                resilience(&at, &merged)
            })
            .collect::<Result<Vec<_>>>()?;
        calls.push(CallStage { services: callees, resilience });
    }
    let human = raw.kind == Some(ServiceKindRaw::Human);
    let working_hours = match &raw.working_hours {
        None => None,
        Some(_) if !human => {
            return Err(Invalid::new(
                field("working_hours"),
                "only a service of `kind = \"human\"` has working hours",
            ))
        }
        Some(h) => {
            let period = positive_seconds(
                &field("working_hours.period"),
                h.period.map_or(86_400.0, |p| p.0),
            )?;
            if period < SimDuration::from_secs_f64(1.0) {
                return Err(Invalid::new(
                    field("working_hours.period"),
                    format!("expected at least 1 s, found {period}"),
                ));
            }
            let start = non_negative_seconds(&field("working_hours.start"), h.start.0)?;
            let end = non_negative_seconds(&field("working_hours.end"), h.end.0)?;
            if !(start < end && end <= period) {
                return Err(Invalid::new(
                    field("working_hours"),
                    format!("expected 0 <= start < end <= period, found start {start}, end {end}, period {period}"),
                ));
            }
            Some(WorkingHours { start, end, period })
        }
    };
    let own = ReplicaGroup {
        name: DEFAULT_GROUP.to_owned(),
        replicas: match (raw.replicas, &raw.groups) {
            (Some(n), None) => at_least_one(&field("replicas"), n)?,
            (None, Some(_)) => 0,
            (Some(_), Some(_)) => {
                return Err(Invalid::new(
                    field("replicas"),
                    "expected either `replicas` or `[[groups]]`, not both: a service with groups has the sum of their replicas",
                ))
            }
            (None, None) => {
                return Err(Invalid::new(
                    field("replicas"),
                    "missing: expected `replicas` (an integer >= 1) or `[[services.<name>.groups]]`",
                ))
            }
        },
        concurrency: at_least_one(&field("concurrency"), raw.concurrency.unwrap_or(1))?,
        queue_capacity: raw.queue_capacity.unwrap_or(u32::MAX),
        speed: positive_finite(&field("speed"), raw.speed.unwrap_or(1.0))?,
        price: non_negative_finite(&field("price"), raw.price.unwrap_or(0.0))?,
    };
    let groups = match &raw.groups {
        None => vec![own.clone()],
        Some(raw_groups) => groups(&field("groups"), raw_groups, &own)?,
    };
    let service = Service {
        resilience: resilience(&field("resilience"), &raw.resilience.clone().unwrap_or_default())?,
        drop_expired: raw.drop_expired.unwrap_or(false),
        human,
        working_hours,
        slo: match raw.slo {
            Some(slo) => Some(positive_seconds(&field("slo"), slo.0)?),
            None => None,
        },
        name: check_name(&format!("services.{name}"), name)?,
        replicas: groups.iter().map(|g| g.replicas).sum(),
        concurrency: own.concurrency,
        queue_capacity: own.queue_capacity,
        speed: own.speed,
        grouped: raw.groups.is_some(),
        groups,
        sizes_known: raw.sizes_known.unwrap_or(false),
        service_time: dist(&field("service_time"), &raw.service_time, base)?,
        execution: match (&raw.execution_multiplier, &raw.execution_extra) {
            (None, None) => None,
            (multiplier, extra) => Some(ExecutionNoise {
                multiplier: match multiplier {
                    Some(m) => Some(dist(&field("execution_multiplier"), m, base)?),
                    None => None,
                },
                extra: match extra {
                    Some(e) => Some(dist(&field("execution_extra"), e, base)?),
                    None => None,
                },
            }),
        },
        calls,
    };
    if service.drop_expired && !service.mean_execution_secs().is_finite() {
        return Err(Invalid::new(
            field("drop_expired"),
            "needs an execution time with a finite mean (it drops work that cannot finish within one mean execution time): a service_time, and any execution_multiplier and execution_extra, of finite mean",
        ));
    }
    Ok(service)
}

/// Depth-first search over `calls`; a back edge is a cycle, reported in call order.
fn check_call_graph_acyclic(services: &[Service]) -> Result<()> {
    let edges: Vec<Vec<usize>> = services
        .iter()
        .map(|s| s.calls.iter().flat_map(|st| st.services.iter()).map(|id| id.index()).collect())
        .collect();
    if let Some(cycle) = find_cycle(&edges) {
        let names: Vec<&str> = cycle.iter().map(|&i| services[i].name.as_str()).collect();
        return Err(Invalid::new(
            format!("services.{}.calls", names[0]),
            format!("the call graph has a cycle: {}", names.join(" -> ")),
        ));
    }
    Ok(())
}

/// The most units (steps plus every call they make, transitively) one job may expand to.
/// Shared dependencies make the expansion multiplicative, and every unit's work size is drawn
/// when the job arrives, so a runaway call graph is refused rather than run.
const MAX_UNITS_PER_JOB: u64 = 100_000;

pub(super) fn check_units_per_job(services: &[Service], workflows: &[Workflow]) -> Result<()> {
    // Units in the call subtree of each service; callees first (the graph is acyclic).
    fn units(service: usize, services: &[Service], memo: &mut [Option<u64>]) -> u64 {
        if let Some(n) = memo[service] {
            return n;
        }
        let callees: Vec<usize> = services[service]
            .calls
            .iter()
            .flat_map(|st| st.services.iter())
            .map(|s| s.index())
            .collect();
        let n = callees.iter().fold(1u64, |acc, &c| acc.saturating_add(units(c, services, memo)));
        memo[service] = Some(n);
        n
    }
    let mut memo = vec![None; services.len()];
    for w in workflows {
        let total = w.steps.iter().fold(0u64, |acc, st| {
            acc.saturating_add(units(st.service.index(), services, &mut memo))
        });
        if total > MAX_UNITS_PER_JOB {
            return Err(Invalid::new(
                format!("workflows.{}", w.name),
                format!("one job would execute {total} units (steps and their transitive calls); at most {MAX_UNITS_PER_JOB} are allowed"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::from_toml_str;
    use crate::scenario::validate::tests::{check, field_and_message, VALID};

    #[test]
    fn each_check_names_its_field() {
        check("services.api.replicas=0", "services.api.replicas", "expected an integer >= 1");
        check("services.api.speed=0", "services.api.speed", "> 0");
    }

    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
        check(
            "services.api.calls=[{services=[\"dbb\"]}]",
            "services.api.calls[0].services",
            "did you mean `db`?",
        );
    }

    #[test]
    fn cycles_are_named() {
        check(
            "services.db.calls=[{services=[\"api\"]}]",
            "services.api.calls",
            "the call graph has a cycle: api -> db -> api",
        );
        check("services.db.calls=[{services=[\"db\"]}]", "services.db.calls", "cycle: db -> db");
    }

    #[test]
    fn a_call_graph_that_explodes_is_refused() {
        // Each level calls the next twice in two stages: 2^17 units per job.
        let mut text = String::from("duration = 1\n");
        for level in 0..17 {
            text += &format!(
                "[services.l{level}]\nreplicas = 1\nservice_time = {{ dist = \"constant\", value = 0 }}\ncalls = [{{ services = [\"l{n}\"] }}, {{ services = [\"l{n}\"] }}]\n",
                n = level + 1
            );
        }
        text += "[services.l17]\nreplicas = 1\nservice_time = { dist = \"constant\", value = 0 }\n";
        text += "[classes.c]\nservice = \"l0\"\narrival = { process = \"poisson\", rate = 1 }\n";
        let err = from_toml_str(&text, "t", &[]).unwrap_err();
        let (field, message) = field_and_message(&err);
        assert_eq!(field, "workflows.c");
        assert!(message.contains("262143 units"), "{message}");
    }

    #[test]
    fn limits_that_protect_the_run_are_enforced() {
        let both = [
            "services.api.drop_expired=true".parse().unwrap(),
            "services.api.service_time={dist=\"pareto\",scale=0.001,shape=1}".parse().unwrap(),
        ];
        let (field, message) = field_and_message(&from_toml_str(VALID, "t", &both).unwrap_err());
        assert_eq!(field, "services.api.drop_expired");
        assert!(message.contains("finite mean"), "{message}");
        // Either alone is fine.
        assert!(from_toml_str(VALID, "t", &both[..1]).is_ok());
        assert!(from_toml_str(VALID, "t", &both[1..]).is_ok());
    }
}
