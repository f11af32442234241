//! `RawScenario` -> [`Scenario`]: defaults, ranges, references and graph checks, once.
//!
//! Every check names the dotted key path of the field, what was expected and what was
//! found; references to unknown names list the known ones; a cycle in a workflow or in the
//! call graph is reported as the cycle itself. Files a scenario refers to (traces, empirical
//! samples) are read here, and their errors carry the line number. Nothing downstream
//! re-checks: the simulation may assume every invariant stated on the validated types.

use std::collections::BTreeMap;
use std::path::Path;

use super::raw::{
    BackoffKind, FaultKind, JitterKind, ProcessKind, RawArrival, RawClass, RawDist, RawFault,
    RawLink, RawMetrics, RawNetwork, RawResilience, RawScenario, RawService, RawWorkflow,
    ServiceKindRaw,
};
use super::{
    closest, Approval, Arrival, Backoff, Breaker, CallStage, ClassId, ClassSource, Ejection, Fault,
    FaultEffect, FaultTiming, Group, Hedge, Invalid, Jitter, JobClass, Link, MetricsSettings,
    Network, Process, RateShape, Resilience, Retries, Scenario, Service, ServiceId, Step, Workflow,
    WorkflowId, WorkingHours,
};
use crate::dist::DurationDist;
use crate::policy::{AuctionParams, CentralParams, GossipParams, PolicyKind, PolicySpec};
use crate::time::{SimDuration, SimTime};

type Result<T> = std::result::Result<T, Invalid>;

pub(super) fn scenario(raw: RawScenario, default_name: &str, base: &Path) -> Result<Scenario> {
    let name = match raw.name {
        Some(name) => check_name("name", &name)?,
        None => default_name.to_owned(),
    };
    let duration = positive_seconds("duration", raw.duration.0)?;
    let warmup = match raw.warmup {
        Some(w) => non_negative_seconds("warmup", w.0)?,
        None => SimDuration::ZERO,
    };
    if warmup >= duration {
        return Err(Invalid::new(
            "warmup",
            format!("expected less than duration ({duration}), found {warmup}"),
        ));
    }
    let replications = at_least_one("replications", raw.replications.unwrap_or(1))?;
    let orchestrators = at_least_one("orchestrators", raw.orchestrators.unwrap_or(1))?;

    if raw.services.is_empty() {
        return Err(Invalid::new("services", "expected at least one [services.<name>] table"));
    }
    let service_ids: BTreeMap<&str, ServiceId> = raw
        .services
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), ServiceId(i as u32)))
        .collect();
    let services = raw
        .services
        .iter()
        .map(|(name, s)| service(name, s, &service_ids, &raw.services, base))
        .collect::<Result<Vec<_>>>()?;
    check_call_graph_acyclic(&services)?;

    let mut workflows = raw
        .workflows
        .iter()
        .map(|(name, w)| workflow(name, w, &service_ids, &raw.services))
        .collect::<Result<Vec<_>>>()?;
    let workflow_ids: BTreeMap<&str, WorkflowId> = raw
        .workflows
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), WorkflowId(i as u32)))
        .collect();

    if raw.classes.is_empty() {
        return Err(Invalid::new("classes", "expected at least one [classes.<name>] table"));
    }
    if raw.classes.len() > 60_000 {
        return Err(Invalid::new(
            "classes",
            format!("expected at most 60000 classes, found {}", raw.classes.len()),
        ));
    }
    let class_ids: BTreeMap<&str, ClassId> = raw
        .classes
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), ClassId(i as u32)))
        .collect();
    let mut classes = Vec::with_capacity(raw.classes.len());
    for (name, c) in &raw.classes {
        classes.push(class(
            name,
            c,
            &service_ids,
            &raw.services,
            &workflow_ids,
            &mut workflows,
            base,
        )?);
    }
    check_units_per_job(&services, &workflows)?;
    let shared_arrival = match &raw.arrival {
        Some(arrival) => {
            let shared = self::arrival("arrival", arrival, Some(&class_ids), base)?;
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

    let policies = policies(raw.policies, &raw.policy)?;
    let network = network(&raw.network, &service_ids)?;
    let group_ids: BTreeMap<&str, usize> =
        raw.network.groups.keys().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let faults = raw
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| fault(i, f, &service_ids, &services, &group_ids, orchestrators))
        .collect::<Result<Vec<_>>>()?;
    let max_in_flight = match &raw.admission {
        Some(a) => Some(at_least_one("admission.max_in_flight", a.max_in_flight)?),
        None => None,
    };
    let metrics = metrics(raw.metrics.as_ref())?;

    Ok(Scenario {
        name,
        description: raw.description.unwrap_or_default(),
        duration,
        warmup,
        seed: raw.seed.unwrap_or(1),
        replications,
        orchestrators,
        policies,
        network,
        services,
        workflows,
        classes,
        shared_arrival,
        faults,
        max_in_flight,
        metrics,
    })
}

fn metrics(raw: Option<&RawMetrics>) -> Result<MetricsSettings> {
    let defaults = MetricsSettings::default();
    let Some(raw) = raw else { return Ok(defaults) };
    let window = match raw.window {
        Some(w) => positive_seconds("metrics.window", w.0)?,
        None => defaults.window,
    };
    let impaired_error_ratio = match raw.impaired_error_ratio {
        Some(r) if (0.0..1.0).contains(&r) => r,
        Some(r) => {
            return Err(Invalid::new(
                "metrics.impaired_error_ratio",
                format!("expected a share in [0, 1), found {r}"),
            ))
        }
        None => defaults.impaired_error_ratio,
    };
    let grace = match raw.grace {
        Some(g) => non_negative_seconds("metrics.grace", g.0)?,
        None => defaults.grace,
    };
    Ok(MetricsSettings { window, impaired_error_ratio, grace })
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
    Ok(Service {
        resilience: resilience(&field("resilience"), &raw.resilience.clone().unwrap_or_default())?,
        drop_expired: match raw.drop_expired {
            Some(true) if !dist(&field("service_time"), &raw.service_time, base)?.mean_secs().is_finite() => {
                return Err(Invalid::new(
                    field("drop_expired"),
                    "needs a service time with a finite mean (it drops work that cannot finish within one mean execution time)",
                ))
            }
            other => other.unwrap_or(false),
        },
        human,
        working_hours,
        slo: match raw.slo {
            Some(slo) => Some(positive_seconds(&field("slo"), slo.0)?),
            None => None,
        },
        name: check_name(&format!("services.{name}"), name)?,
        replicas: at_least_one(&field("replicas"), raw.replicas)?,
        concurrency: at_least_one(&field("concurrency"), raw.concurrency.unwrap_or(1))?,
        queue_capacity: raw.queue_capacity.unwrap_or(u32::MAX),
        speed: positive_finite(&field("speed"), raw.speed.unwrap_or(1.0))?,
        service_time: dist(&field("service_time"), &raw.service_time, base)?,
        calls,
    })
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
pub(crate) const MAX_UNITS_PER_JOB: u64 = 100_000;

fn check_units_per_job(services: &[Service], workflows: &[Workflow]) -> Result<()> {
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

/// A cycle in a directed graph given as adjacency lists, as the list of its nodes with the
/// first repeated at the end; `None` if the graph is acyclic.
fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        node: usize,
        edges: &[Vec<usize>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        marks[node] = Mark::OnPath;
        path.push(node);
        for &next in &edges[node] {
            match marks[next] {
                Mark::OnPath => {
                    let from = path.iter().position(|&n| n == next).expect("on the path");
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                Mark::New => {
                    if let Some(cycle) = visit(next, edges, marks, path) {
                        return Some(cycle);
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[node] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; edges.len()];
    for start in 0..edges.len() {
        if marks[start] == Mark::New {
            if let Some(cycle) = visit(start, edges, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn workflow(
    name: &str,
    raw: &RawWorkflow,
    services: &BTreeMap<&str, ServiceId>,
    raw_services: &BTreeMap<String, RawService>,
) -> Result<Workflow> {
    let field = format!("workflows.{name}.steps");
    if raw.steps.is_empty() {
        return Err(Invalid::new(field, "expected at least one step"));
    }
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, step) in raw.steps.iter().enumerate() {
        check_name(&format!("{field}[{i}].name"), &step.name)?;
        if index.insert(step.name.as_str(), i).is_some() {
            return Err(Invalid::new(
                format!("{field}[{i}].name"),
                format!("step `{}` is defined twice", step.name),
            ));
        }
    }
    let mut preds = Vec::with_capacity(raw.steps.len());
    let mut steps = Vec::with_capacity(raw.steps.len());
    for (i, step) in raw.steps.iter().enumerate() {
        let service = lookup(&format!("{field}[{i}].service"), "service", &step.service, services)?;
        let after = step
            .after
            .iter()
            .map(|p| lookup(&format!("{field}[{i}].after"), "step", p, &index))
            .collect::<Result<Vec<_>>>()?;
        preds.push(after.clone());
        let at = |k: &str| format!("{field}[{i}].{k}");
        let merged =
            merge(step.resilience.as_ref(), raw_services[&step.service].resilience.as_ref());
        let resilience = resilience(&at("resilience"), &merged)?;
        let approval = match &step.approval {
            Some(a) => Some(Approval {
                service: lookup(&at("approval.service"), "service", &a.service, services)?,
                probability: probability(&at("approval.probability"), a.probability)?,
                reject: probability(&at("approval.reject"), a.reject.unwrap_or(0.0))?,
            }),
            None => None,
        };
        let escalate = match &step.escalate {
            Some(e) => Some(lookup(&at("escalate"), "service", e, services)?),
            None => None,
        };
        steps.push(Step {
            name: step.name.clone(),
            service,
            after,
            resilience,
            approval,
            escalate,
        });
    }
    // Edges from each step to the steps that wait for it.
    let mut succs = vec![Vec::new(); steps.len()];
    for (i, after) in preds.iter().enumerate() {
        for &p in after {
            succs[p].push(i);
        }
    }
    if let Some(cycle) = find_cycle(&succs) {
        let names: Vec<&str> = cycle.iter().map(|&i| steps[i].name.as_str()).collect();
        return Err(Invalid::new(field, format!("the steps form a cycle: {}", names.join(" -> "))));
    }
    let steps = topological_order(steps);
    if let Some((i, step)) =
        steps.iter().enumerate().find(|(i, st)| *i >= 64 && st.approval.is_some())
    {
        return Err(Invalid::new(
            field,
            format!("step `{}` is step {} in execution order; only the first 64 steps of a workflow may have an approval", step.name, i + 1),
        ));
    }
    Ok(Workflow { name: name.to_owned(), steps })
}

/// Reorders acyclic steps so that each comes after its predecessors, keeping the written
/// order among steps that are free to go (Kahn's algorithm, smallest index first).
fn topological_order(steps: Vec<Step>) -> Vec<Step> {
    let n = steps.len();
    let mut placed = vec![usize::MAX; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let next = (0..n)
            .find(|&i| {
                placed[i] == usize::MAX && steps[i].after.iter().all(|&p| placed[p] != usize::MAX)
            })
            .expect("the steps were checked to be acyclic");
        placed[next] = order.len();
        order.push(next);
    }
    order
        .into_iter()
        .map(|i| {
            let mut step = steps[i].clone();
            step.after = step.after.iter().map(|&p| placed[p]).collect();
            step.after.sort_unstable();
            step
        })
        .collect()
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

/// Key-by-key override: `specific`'s keys win over `general`'s.
fn merge(specific: Option<&RawResilience>, general: Option<&RawResilience>) -> RawResilience {
    let (s, g) = (specific.cloned().unwrap_or_default(), general.cloned().unwrap_or_default());
    RawResilience {
        timeout: s.timeout.or(g.timeout),
        retries: s.retries.or(g.retries),
        hedge: s.hedge.or(g.hedge),
        cancel: s.cancel.or(g.cancel),
        circuit_breaker: s.circuit_breaker.or(g.circuit_breaker),
        outlier_ejection: s.outlier_ejection.or(g.outlier_ejection),
    }
}

fn resilience(field: &str, raw: &RawResilience) -> Result<Resilience> {
    let key = |k: &str| format!("{field}.{k}");
    let timeout = raw.timeout.map(|t| positive_seconds(&key("timeout"), t.0)).transpose()?;
    let retries = match &raw.retries {
        None => Retries::default(),
        Some(r) => {
            let base = r.base.map(|b| positive_seconds(&key("retries.base"), b.0)).transpose()?;
            let backoff = match r.backoff.unwrap_or(if base.is_some() {
                BackoffKind::Exponential
            } else {
                BackoffKind::None
            }) {
                BackoffKind::None => Backoff::None,
                BackoffKind::Constant => Backoff::Constant(base.ok_or_else(|| {
                    Invalid::new(key("retries.base"), "required by backoff `constant`")
                })?),
                BackoffKind::Exponential => {
                    let base = base.ok_or_else(|| {
                        Invalid::new(key("retries.base"), "required by backoff `exponential`")
                    })?;
                    let cap = match r.cap {
                        Some(c) => positive_seconds(&key("retries.cap"), c.0)?,
                        None => SimDuration::from_nanos(base.as_nanos().saturating_mul(1 << 10)),
                    };
                    if cap < base {
                        return Err(Invalid::new(
                            key("retries.cap"),
                            format!("expected at least retries.base ({base}), found {cap}"),
                        ));
                    }
                    Backoff::Exponential { base, cap }
                }
            };
            let budget = r
                .budget
                .map(|b| {
                    if b.is_finite() && b >= 0.0 {
                        Ok(b)
                    } else {
                        Err(Invalid::new(
                            key("retries.budget"),
                            format!("expected a ratio >= 0, found {b}"),
                        ))
                    }
                })
                .transpose()?;
            let jitter = match r.jitter.unwrap_or(JitterKind::None) {
                JitterKind::None => Jitter::None,
                JitterKind::Full => Jitter::Full,
                JitterKind::Equal => Jitter::Equal,
            };
            if r.max > 100 {
                return Err(Invalid::new(
                    key("retries.max"),
                    format!("expected at most 100 retries, found {}", r.max),
                ));
            }
            Retries { max: r.max, backoff, jitter, budget }
        }
    };
    let hedge = match &raw.hedge {
        None => None,
        Some(h) => Some(match (h.after, h.quantile) {
            (Some(after), None) => Hedge::After(positive_seconds(&key("hedge.after"), after.0)?),
            (None, Some(q)) if q > 0.0 && q < 1.0 => Hedge::Quantile(q),
            (None, Some(q)) => {
                return Err(Invalid::new(
                    key("hedge.quantile"),
                    format!("expected a quantile in (0, 1), found {q}"),
                ))
            }
            _ => {
                return Err(Invalid::new(
                    key("hedge"),
                    "expected exactly one of `after` (a delay) or `quantile` (of observed latency)",
                ))
            }
        }),
    };
    let circuit_breaker = match &raw.circuit_breaker {
        None => None,
        Some(b) => Some(Breaker {
            error_rate: positive_probability(
                &key("circuit_breaker.error_rate"),
                b.error_rate.unwrap_or(0.5),
            )?,
            consecutive: b.consecutive.unwrap_or(5),
            window: positive_seconds(
                &key("circuit_breaker.window"),
                b.window.map_or(10.0, |w| w.0),
            )?,
            min_requests: b.min_requests.unwrap_or(10),
            open_for: positive_seconds(
                &key("circuit_breaker.open_for"),
                b.open_for.map_or(5.0, |w| w.0),
            )?,
            probes: at_least_one(&key("circuit_breaker.probes"), b.probes.unwrap_or(1))?,
        }),
    };
    let outlier_ejection = match &raw.outlier_ejection {
        None => None,
        Some(e) => Some(Ejection {
            consecutive_failures: e.consecutive_failures.unwrap_or(5),
            latency_factor: e
                .latency_factor
                .map(|f| {
                    if f.is_finite() && f > 1.0 {
                        Ok(f)
                    } else {
                        Err(Invalid::new(
                            key("outlier_ejection.latency_factor"),
                            format!("expected a number > 1, found {f}"),
                        ))
                    }
                })
                .transpose()?,
            min_samples: at_least_one(
                &key("outlier_ejection.min_samples"),
                e.min_samples.unwrap_or(20),
            )?,
            eject_for: positive_seconds(
                &key("outlier_ejection.eject_for"),
                e.eject_for.map_or(30.0, |w| w.0),
            )?,
            max_ejected: probability(
                &key("outlier_ejection.max_ejected"),
                e.max_ejected.unwrap_or(0.5),
            )?,
        }),
    };
    Ok(Resilience {
        timeout,
        retries,
        hedge,
        cancel: raw.cancel.unwrap_or(false),
        circuit_breaker,
        outlier_ejection,
    })
}

fn fault(
    i: usize,
    raw: &RawFault,
    services: &BTreeMap<&str, ServiceId>,
    validated: &[Service],
    groups: &BTreeMap<&str, usize>,
    orchestrators: u32,
) -> Result<Fault> {
    let key = |k: &str| format!("faults[{i}].{k}");
    let kind = format!("{:?}", raw.kind).to_lowercase();
    let not_used = |k: &str| Invalid::new(key(k), format!("not used by a fault of kind `{kind}`"));
    let target = |raw: &RawFault| -> Result<(ServiceId, Option<u32>)> {
        let name = raw.service.as_deref().ok_or_else(|| {
            Invalid::new(key("service"), format!("required by a fault of kind `{kind}`"))
        })?;
        let service = lookup(&key("service"), "service", name, services)?;
        if let Some(r) = raw.replica {
            let n = validated[service.index()].replicas;
            if r >= n {
                return Err(Invalid::new(
                    key("replica"),
                    format!(
                        "expected a replica index below {n} (service `{name}` has {n}), found {r}"
                    ),
                ));
            }
        }
        Ok((service, raw.replica))
    };
    let two_groups = |raw: &RawFault| -> Result<Option<[usize; 2]>> {
        match &raw.groups {
            None => Ok(None),
            Some(list) => match list.as_slice() {
                [a, b] => Ok(Some([
                    lookup(&key("groups"), "group", a, groups)?,
                    lookup(&key("groups"), "group", b, groups)?,
                ])),
                _ => Err(Invalid::new(
                    key("groups"),
                    format!("expected two group names, found {}", list.len()),
                )),
            },
        }
    };
    let effect = match raw.kind {
        FaultKind::Crash | FaultKind::Slowdown => {
            if raw.groups.is_some() {
                return Err(not_used("groups"));
            }
            if raw.loss.is_some() {
                return Err(not_used("loss"));
            }
            if let Some(agent) = &raw.agent {
                if raw.kind != FaultKind::Crash {
                    return Err(not_used("agent"));
                }
                if raw.service.is_some() || raw.replica.is_some() {
                    return Err(Invalid::new(
                        key("agent"),
                        "a crash targets either an agent or a service (and replica), not both",
                    ));
                }
                let mut known: Vec<String> =
                    (0..orchestrators).map(|o| format!("orchestrator-{o}")).collect();
                known.extend(["scheduler".to_owned(), "standby".to_owned()]);
                let index = known.iter().position(|k| k == agent).ok_or_else(|| {
                    let list =
                        known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                    Invalid::new(key("agent"), format!("unknown agent `{agent}`; known: {list}"))
                })? as u32;
                match index.checked_sub(orchestrators) {
                    Some(control) => FaultEffect::ControlCrash { control },
                    None => FaultEffect::AgentCrash { orchestrator: index },
                }
            } else {
                let (service, replica) = target(raw)?;
                if raw.kind == FaultKind::Crash {
                    if raw.factor.is_some() {
                        return Err(not_used("factor"));
                    }
                    FaultEffect::Crash { service, replica }
                } else {
                    let factor = raw.factor.ok_or_else(|| {
                        Invalid::new(key("factor"), "required by a fault of kind `slowdown`")
                    })?;
                    FaultEffect::Slowdown {
                        service,
                        replica,
                        factor: positive_finite(&key("factor"), factor)?,
                    }
                }
            }
        }
        FaultKind::Partition | FaultKind::MessageLoss => {
            for (name, set) in [
                ("agent", raw.agent.is_some()),
                ("service", raw.service.is_some()),
                ("replica", raw.replica.is_some()),
                ("factor", raw.factor.is_some()),
            ] {
                if set {
                    return Err(not_used(name));
                }
            }
            let pair = two_groups(raw)?;
            if raw.kind == FaultKind::Partition {
                if raw.loss.is_some() {
                    return Err(not_used("loss"));
                }
                let groups = pair.ok_or_else(|| {
                    Invalid::new(
                        key("groups"),
                        "required by a fault of kind `partition`: the two sides",
                    )
                })?;
                FaultEffect::Partition { groups }
            } else {
                let loss = raw.loss.ok_or_else(|| {
                    Invalid::new(key("loss"), "required by a fault of kind `message_loss`")
                })?;
                FaultEffect::MessageLoss { loss: probability(&key("loss"), loss)?, groups: pair }
            }
        }
    };
    let timing = match (raw.at, raw.duration, raw.mtbf, raw.mttr) {
        (Some(at), Some(duration), None, None) => FaultTiming::Scheduled {
            at: SimTime::ZERO + non_negative_seconds(&key("at"), at.0)?,
            duration: positive_seconds(&key("duration"), duration.0)?,
        },
        (None, None, Some(mtbf), Some(mttr)) => FaultTiming::Random {
            mtbf: positive_seconds(&key("mtbf"), mtbf.0)?,
            mttr: positive_seconds(&key("mttr"), mttr.0)?,
        },
        _ => {
            return Err(Invalid::new(
                format!("faults[{i}]"),
                "expected either `at` and `duration` (scheduled) or `mtbf` and `mttr` (random)",
            ))
        }
    };
    Ok(Fault { effect, timing })
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
    let column = |name: &str| {
        headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            let known: Vec<&str> = headers.iter().collect();
            Invalid::new(
                field,
                format!(
                    "{shown}: no column `{name}` in the header (columns: {})",
                    known.join(", ")
                ),
            )
        })
    };
    let time_at = column(time_column)?;
    let class_at = class_column.map(|(name, _)| column(name)).transpose()?;
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
                let list = known.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
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

fn network(raw: &RawNetwork, services: &BTreeMap<&str, ServiceId>) -> Result<Network> {
    let latency = match &raw.latency {
        Some(d) => dist("network.latency", d, Path::new("."))?,
        None => DurationDist::constant(0.0).expect("zero is a valid constant"),
    };
    let loss = probability("network.loss", raw.loss.unwrap_or(0.0))?;
    if raw.groups.len() > 64 {
        return Err(Invalid::new(
            "network.groups",
            format!("expected at most 64 groups, found {}", raw.groups.len()),
        ));
    }
    if raw.links.len() > 10_000 {
        return Err(Invalid::new(
            "network.links",
            format!("expected at most 10000 links, found {}", raw.links.len()),
        ));
    }
    let mut groups = Vec::with_capacity(raw.groups.len());
    for (name, members) in &raw.groups {
        let field = format!("network.groups.{name}");
        check_name(&field, name)?;
        let mut group = Group { name: name.clone(), orchestrators: false, services: Vec::new() };
        for member in members {
            if member == "orchestrators" {
                group.orchestrators = true;
            } else {
                let with_orchestrators = services.keys().copied().chain(["orchestrators"]);
                group.services.push(*services.get(member.as_str()).ok_or_else(|| {
                    unknown_reference(&field, "service", member, with_orchestrators)
                })?);
            }
        }
        groups.push(group);
    }
    let group_ids: BTreeMap<&str, usize> =
        raw.groups.keys().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    let links = raw
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| link(i, l, &group_ids, latency.clone(), loss))
        .collect::<Result<Vec<_>>>()?;
    Ok(Network { latency, loss, groups, links })
}

fn link(
    i: usize,
    raw: &RawLink,
    groups: &BTreeMap<&str, usize>,
    latency: DurationDist,
    loss: f64,
) -> Result<Link> {
    let field = |k: &str| format!("network.links[{i}].{k}");
    let [a, b] = raw.between.as_slice() else {
        return Err(Invalid::new(
            field("between"),
            format!("expected two group names, found {}", raw.between.len()),
        ));
    };
    let between = [
        lookup(&field("between"), "group", a, groups)?,
        lookup(&field("between"), "group", b, groups)?,
    ];
    Ok(Link {
        between,
        latency: match &raw.latency {
            Some(d) => dist(&field("latency"), d, Path::new("."))?,
            None => latency,
        },
        loss: probability(&field("loss"), raw.loss.unwrap_or(loss))?,
    })
}

fn policies(
    listed: Option<Vec<PolicyKind>>,
    params: &super::raw::RawPolicyParams,
) -> Result<Vec<PolicySpec>> {
    let kinds = listed.unwrap_or_else(|| PolicyKind::ALL.to_vec());
    if kinds.is_empty() {
        return Err(Invalid::new("policies", "expected at least one policy name"));
    }
    let mut specs = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        if kinds[..i].contains(kind) {
            return Err(Invalid::new(
                format!("policies[{i}]"),
                format!("`{}` is listed twice; each policy may appear once", kind.name()),
            ));
        }
        specs.push(match kind {
            PolicyKind::Random => PolicySpec::Random,
            PolicyKind::RoundRobin => PolicySpec::RoundRobin,
            PolicyKind::LeastOutstanding => PolicySpec::LeastOutstanding,
            PolicyKind::PowerOfD => {
                let d = params.power_of_d.as_ref().and_then(|p| p.d).unwrap_or(2);
                PolicySpec::PowerOfD { d: at_least_one("policy.power_of_d.d", d)? }
            }
            PolicyKind::PeakEwma => {
                let decay = params.peak_ewma.as_ref().and_then(|p| p.decay).map_or(10.0, |d| d.0);
                PolicySpec::PeakEwma { decay: positive_seconds("policy.peak_ewma.decay", decay)? }
            }
            PolicyKind::Central => PolicySpec::Central(central(params.central.as_ref())?),
            PolicyKind::Auction => PolicySpec::Auction(auction(params.auction.as_ref())?),
            PolicyKind::Gossip => PolicySpec::Gossip(gossip(params.gossip.as_ref())?),
        });
    }
    Ok(specs)
}

/// A duration parameter of a policy: the raw value if given (checked > 0 or >= 0), else the
/// default.
fn param_duration(
    field: &str,
    raw: Option<super::raw::Seconds>,
    default: SimDuration,
    allow_zero: bool,
) -> Result<SimDuration> {
    match raw {
        None => Ok(default),
        Some(secs) if allow_zero => non_negative_seconds(field, secs.0),
        Some(secs) => positive_seconds(field, secs.0),
    }
}

fn central(raw: Option<&super::raw::RawCentral>) -> Result<CentralParams> {
    let d = CentralParams::default();
    let Some(raw) = raw else { return Ok(d) };
    Ok(CentralParams {
        heartbeat: param_duration("policy.central.heartbeat", raw.heartbeat, d.heartbeat, false)?,
        missed: at_least_one("policy.central.missed", raw.missed.unwrap_or(d.missed))?,
        decision_time: param_duration(
            "policy.central.decision_time",
            raw.decision_time,
            d.decision_time,
            true,
        )?,
        standby: raw.standby.unwrap_or(d.standby),
        detection_timeout: param_duration(
            "policy.central.detection_timeout",
            raw.detection_timeout,
            d.detection_timeout,
            false,
        )?,
        request_timeout: param_duration(
            "policy.central.request_timeout",
            raw.request_timeout,
            d.request_timeout,
            false,
        )?,
    })
}

fn auction(raw: Option<&super::raw::RawAuction>) -> Result<AuctionParams> {
    let d = AuctionParams::default();
    let Some(raw) = raw else { return Ok(d) };
    Ok(AuctionParams {
        k: raw.k.unwrap_or(d.k),
        bid_deadline: param_duration(
            "policy.auction.bid_deadline",
            raw.bid_deadline,
            d.bid_deadline,
            false,
        )?,
        backoff: param_duration("policy.auction.backoff", raw.backoff, d.backoff, false)?,
    })
}

fn gossip(raw: Option<&super::raw::RawGossip>) -> Result<GossipParams> {
    let d = GossipParams::default();
    let Some(raw) = raw else { return Ok(d) };
    Ok(GossipParams {
        period: param_duration("policy.gossip.period", raw.period, d.period, false)?,
        fanout: at_least_one("policy.gossip.fanout", raw.fanout.unwrap_or(d.fanout))?,
        d: at_least_one("policy.gossip.d", raw.d.unwrap_or(d.d))?,
        suspect_timeout: param_duration(
            "policy.gossip.suspect_timeout",
            raw.suspect_timeout,
            d.suspect_timeout,
            false,
        )?,
        mode: raw.mode.unwrap_or(d.mode),
        resend_on_suspicion: gossip_resend(raw)?,
    })
}

/// Resending on suspicion re-places work the agent placed itself, which only `place` mode
/// does.
fn gossip_resend(raw: &super::raw::RawGossip) -> Result<bool> {
    let resend = raw.resend_on_suspicion.unwrap_or(false);
    if resend && raw.mode == Some(crate::policy::GossipMode::Claim) {
        return Err(Invalid::new(
            "policy.gossip.resend_on_suspicion",
            "expected false with mode = \"claim\" (claimed work is not placed by its requester)",
        ));
    }
    Ok(resend)
}

fn dist(field: &str, raw: &RawDist, base: &Path) -> Result<DurationDist> {
    let built = match raw {
        RawDist::Constant { value } => DurationDist::constant(value.0),
        RawDist::Exponential { mean } => DurationDist::exponential(mean.0),
        RawDist::Uniform { min, max } => DurationDist::uniform(min.0, max.0),
        RawDist::Lognormal { mean, cv } => DurationDist::lognormal(mean.0, *cv),
        RawDist::Pareto { scale, shape } => DurationDist::pareto(scale.0, *shape),
        RawDist::BoundedPareto { min, max, shape } => {
            DurationDist::bounded_pareto(min.0, max.0, *shape)
        }
        RawDist::Empirical { file, column } => {
            let values =
                read_column(&format!("{field}.file"), &base.join(file), column.as_deref())?;
            DurationDist::empirical(values)
        }
    };
    built.map_err(|why| Invalid::new(field, why))
}

/// The numbers (seconds) in one column of a CSV file with a header (default: the first).
fn read_column(field: &str, path: &Path, column: Option<&str>) -> Result<Vec<f64>> {
    let shown = path.display();
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| Invalid::new(field, format!("cannot read samples {shown}: {e}")))?;
    let headers =
        reader.headers().map_err(|e| Invalid::new(field, format!("{shown}: {e}")))?.clone();
    let at = match column {
        None => 0,
        Some(name) => headers.iter().position(|h| h.trim() == name).ok_or_else(|| {
            let known: Vec<&str> = headers.iter().collect();
            Invalid::new(
                field,
                format!(
                    "{shown}: no column `{name}` in the header (columns: {})",
                    known.join(", ")
                ),
            )
        })?,
    };
    let mut values = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Invalid::new(field, format!("{shown}: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let text = record.get(at).unwrap_or("").trim();
        let value: f64 = text.parse().map_err(|_| {
            Invalid::new(field, format!("{shown}:{line}: `{text}` is not a number of seconds"))
        })?;
        values.push(value);
    }
    Ok(values)
}

fn lookup<T: Copy>(field: &str, what: &str, name: &str, known: &BTreeMap<&str, T>) -> Result<T> {
    known
        .get(name)
        .copied()
        .ok_or_else(|| unknown_reference(field, what, name, known.keys().copied()))
}

fn unknown_reference<'a>(
    field: &str,
    what: &str,
    got: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Invalid {
    let list = known.clone().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    let hint = closest(got, known).map(|k| format!("; did you mean `{k}`?")).unwrap_or_default();
    Invalid::new(field, format!("unknown {what} `{got}`; known: {list}{hint}"))
}

fn check_name(field: &str, name: &str) -> Result<String> {
    let ok =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Invalid::new(
            field,
            format!("expected a name of letters, digits, `_` or `-`, found {name:?}"),
        ))
    }
}

fn at_least_one(field: &str, value: u32) -> Result<u32> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected an integer >= 1, found {value}")))
    }
}

fn positive_finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a finite number > 0, found {value}")))
    }
}

fn non_negative_finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a finite number >= 0, found {value}")))
    }
}

/// Arrival rates above 10^9 per second would make the mean gap shorter than the clock's
/// nanosecond resolution, so gaps would round to zero and time would stop advancing.
fn rate_per_second(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 && value <= 1e9 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a rate in (0, 1e9] per second, found {value}")))
    }
}

fn positive_probability(field: &str, value: f64) -> Result<f64> {
    if value > 0.0 && value <= 1.0 {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a probability in (0, 1], found {value}")))
    }
}

fn at_most(field: &str, value: u32, max: u32) -> Result<u32> {
    if value <= max {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected at most {max}, found {value}")))
    }
}

fn probability(field: &str, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(field, format!("expected a probability in [0, 1], found {value}")))
    }
}

fn positive_seconds(field: &str, secs: f64) -> Result<SimDuration> {
    let d = non_negative_seconds(field, secs)?;
    if d > SimDuration::ZERO {
        Ok(d)
    } else {
        Err(Invalid::new(field, format!("expected a duration > 0, found {secs} s")))
    }
}

fn non_negative_seconds(field: &str, secs: f64) -> Result<SimDuration> {
    // 1e7 s (about 116 days) keeps nanosecond arithmetic far from overflow.
    if secs.is_finite() && (0.0..=1e7).contains(&secs) {
        Ok(SimDuration::from_secs_f64(secs))
    } else {
        Err(Invalid::new(field, format!("expected a duration in [0, 1e7] s, found {secs} s")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::from_toml_str;
    use super::find_cycle;
    use crate::scenario::{ClassSource, Process, ScenarioError};

    const VALID: &str = r#"
        duration = 10
        [services.api]
        replicas = 2
        service_time = { dist = "exponential", mean = "10ms" }
        calls = [{ services = ["db"] }]
        [services.db]
        replicas = 1
        service_time = { dist = "constant", value = "1ms" }
        [workflows.order]
        steps = [
            { name = "pay", service = "api", after = ["check", "price"] },
            { name = "check", service = "db" },
            { name = "price", service = "db" },
        ]
        [classes.web]
        service = "api"
        arrival = { process = "poisson", rate = 50 }
        [classes.buy]
        workflow = "order"
        deadline = "2s"
        arrival = { process = "mmpp", rate = 5, burst_rate = 50, normal_time = "10s", burst_time = "1s" }
    "#;

    fn error_of(set: &str) -> ScenarioError {
        let overrides = [set.parse().unwrap()];
        from_toml_str(VALID, "t.toml", &overrides).unwrap_err()
    }

    fn field_and_message(err: &ScenarioError) -> (String, String) {
        match err {
            ScenarioError::Field { field, message, .. } => (field.clone(), message.clone()),
            other => panic!("expected a field error, got {other}"),
        }
    }

    fn check(set: &str, field: &str, fragment: &str) {
        let (f, m) = field_and_message(&error_of(set));
        assert_eq!(f, field, "for --set {set}: {m}");
        assert!(m.contains(fragment), "for --set {set}: {m:?} lacks {fragment:?}");
    }

    #[test]
    fn the_valid_document_gets_defaults_and_ordered_steps() {
        let s = from_toml_str(VALID, "t", &[]).unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.services[0].concurrency, 1);
        assert_eq!(s.services[0].queue_capacity, u32::MAX);
        assert_eq!(s.services[0].calls[0].services, vec![crate::ids::ServiceId(1)]);
        assert_eq!(s.policies.len(), crate::policy::PolicyKind::ALL.len());
        assert!(s.network.latency.is_always_zero());
        // Named workflows first, then the single-step workflow of class `web`.
        assert_eq!(s.workflows.len(), 2);
        let order = &s.workflows[0];
        let names: Vec<&str> = order.steps.iter().map(|st| st.name.as_str()).collect();
        assert_eq!(names, ["check", "price", "pay"], "topological, written order among free steps");
        assert_eq!(order.steps[2].after, vec![0, 1]);
        assert_eq!(s.workflows[1].name, "web");
        assert!(
            matches!(s.classes[0].source, ClassSource::Own(ref a) if matches!(a.process, Process::Mmpp { .. }))
        );
        assert_eq!(s.classes[0].deadline.unwrap().as_nanos(), 2_000_000_000);
    }

    #[test]
    fn each_check_names_its_field() {
        check("services.api.replicas=0", "services.api.replicas", "expected an integer >= 1");
        check("classes.web.arrival.rate=-5", "classes.web.arrival.rate", "(0, 1e9]");
        check("classes.web.arrival.rate=0", "classes.web.arrival.rate", "(0, 1e9]");
        check("classes.web.arrival.rate=1e300", "classes.web.arrival.rate", "(0, 1e9]");
        check("network.loss=1.5", "network.loss", "probability in [0, 1]");
        check("warmup=20", "warmup", "less than duration");
        check("duration=\"-1s\"", "duration", "duration");
        check("services.api.speed=0", "services.api.speed", "> 0");
        check("policy.power_of_d.d=0", "policy.power_of_d.d", ">= 1");
        check("policies=[\"random\",\"random\"]", "policies[1]", "listed twice");
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
        check("network.links=[{between=[\"a\"]}]", "network.links[0].between", "two group names");
    }

    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
        check(
            "classes.web.service=apj",
            "classes.web.service",
            "unknown service `apj`; known: `api`, `db`; did you mean `api`?",
        );
        check("classes.buy.workflow=ordr", "classes.buy.workflow", "did you mean `order`?");
        check(
            "services.api.calls=[{services=[\"dbb\"]}]",
            "services.api.calls[0].services",
            "did you mean `db`?",
        );
        check(
            "workflows.order.steps=[{name=\"a\",service=\"db\",after=[\"b\"]}]",
            "workflows.order.steps[0].after",
            "unknown step `b`",
        );
        check("network.groups.east=[\"apii\"]", "network.groups.east", "did you mean `api`?");
        check("policies=[\"round_robn\"]", "policies[0]", "did you mean `round_robin`?");
        check(
            "services.api.concurency=3",
            "services.api.concurency",
            "did you mean `concurrency`?",
        );
        check(
            "services.api.service_time.dist=expo",
            "services.api.service_time.dist",
            "unknown variant `expo`",
        );
    }

    #[test]
    fn cycles_are_named() {
        check(
            "services.db.calls=[{services=[\"api\"]}]",
            "services.api.calls",
            "the call graph has a cycle: api -> db -> api",
        );
        check(
            "workflows.order.steps=[{name=\"a\",service=\"db\",after=[\"b\"]},{name=\"b\",service=\"db\",after=[\"a\"]}]",
            "workflows.order.steps",
            "the steps form a cycle: a -> b -> a",
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
        check(
            "classes.web.arrival={process=\"poisson\",rate=1e6,spikes=[{at=1,duration=1,factor=1e4}]}",
            "classes.web.arrival",
            "peak rate",
        );
        check("classes.web.arrival={process=\"closed\",clients=20000000,think={dist=\"constant\",value=1}}", "classes.web.arrival.clients", "at most 10000000");
        let groups: Vec<String> = (0..65).map(|g| format!("g{g}=[\"api\"]")).collect();
        check(
            &format!("network.groups={{{}}}", groups.join(",")),
            "network.groups",
            "at most 64 groups",
        );
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
        check(
            "services.api.resilience.circuit_breaker={error_rate=0}",
            "services.api.resilience.circuit_breaker.error_rate",
            "(0, 1]",
        );
    }

    #[test]
    fn find_cycle_reports_the_cycle_in_edge_order() {
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![]]), None);
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![1]]), Some(vec![1, 2, 1]));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let (f, m) = field_and_message(&error_of("services.api.replicas=\"two\""));
        assert_eq!(f, "services.api.replicas");
        assert!(m.contains("invalid type"), "{m}");
        let (f, _) = field_and_message(&error_of("services.api.replicas=-2"));
        assert_eq!(f, "services.api.replicas");
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let err = from_toml_str("duration = 1\n[services\n", "bad.toml", &[]).unwrap_err();
        match err {
            ScenarioError::Syntax { line, .. } => assert_eq!(line, 2),
            other => panic!("expected a syntax error, got {other}"),
        }
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
