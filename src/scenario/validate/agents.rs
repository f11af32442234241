//! `[[agents]]` and `[control]` -> [`Control`]: every declared agent checked (its kind, its
//! services, the keys its kind uses and their ranges), then the active ones kept.
//!
//! Keys are named `agents.<name>.<key>`, the path `--set` takes. A key the agent's kind does
//! not use is an error, as is an agent on a human service, and an autoscaler whose service
//! starts outside its `[min_replicas, max_replicas]`.

use std::collections::BTreeMap;
use std::path::Path;

use super::check::{
    at_least_one, backticked, check_name, lookup, non_negative_seconds, positive_seconds,
    unknown_reference,
};
use super::Result;
use crate::policy::PolicySpec;
use crate::scenario::control::{
    Adaptive, AgentKind, Arms, Budget, Control, ControlAgent, ScalingMetric, ScalingRule,
};
use crate::scenario::raw::{AgentKindName, RawAgent, RawControl, RawGroupChoice};
use crate::scenario::{Invalid, Service, ServiceId};
use crate::time::SimDuration;
use kinds::{adaptive, autoscaler, external, remediator};

pub(crate) use kinds::delay_value;

mod kinds;

/// Most agents a scenario may declare.
const MAX_AGENTS: usize = 1_000;

pub(super) fn control(
    raw: &[RawAgent],
    settings: Option<&RawControl>,
    service_ids: &BTreeMap<&str, ServiceId>,
    services: &[Service],
    policies: &[PolicySpec],
    base: &Path,
) -> Result<Control> {
    if raw.len() > MAX_AGENTS {
        return Err(Invalid::new(
            "agents",
            format!("expected at most {MAX_AGENTS} agents, found {}", raw.len()),
        ));
    }
    let mut agents = Vec::with_capacity(raw.len());
    for (i, a) in raw.iter().enumerate() {
        let name = check_name(&format!("agents[{i}].name"), &a.name)?;
        if raw[..i].iter().any(|b| b.name == a.name) {
            return Err(Invalid::new(
                format!("agents[{i}].name"),
                format!("expected a name no other agent has, found `{name}` twice"),
            ));
        }
        agents.push(agent(a, service_ids, services, policies, base)?);
    }
    let scrape = match settings.and_then(|s| s.scrape) {
        Some(s) => positive_seconds("control.scrape", s.0)?,
        None => Control::default().scrape,
    };
    if let Some(active) = settings.and_then(|s| s.active.as_ref()) {
        for (i, name) in active.iter().enumerate() {
            if !agents.iter().any(|a: &ControlAgent| &a.name == name) {
                let known = agents.iter().map(|a| a.name.as_str());
                return Err(unknown_reference(
                    &format!("control.active[{i}]"),
                    "agent",
                    name,
                    known,
                ));
            }
        }
        agents.retain(|a| active.contains(&a.name));
    }
    resolve_tuning(raw, &mut agents)?;
    // One agent at most chooses where a service's work goes.
    for (i, a) in agents.iter().enumerate() {
        for s in a.services.iter().filter(|_| chooses_policy(a)) {
            if let Some(b) =
                agents[..i].iter().find(|b| chooses_policy(b) && b.services.contains(s))
            {
                return Err(Invalid::new(
                    format!("agents.{}.arms", a.name),
                    format!(
                        "expected one agent choosing the placement policy of service `{}`, but `{}` chooses it too",
                        services[s.index()].name, b.name
                    ),
                ));
            }
        }
    }
    let control = Control { agents, scrape };
    for a in &control.agents {
        if a.window < scrape {
            return Err(Invalid::new(
                format!("agents.{}.window", a.name),
                format!("expected at least control.scrape ({scrape}), found {}", a.window),
            ));
        }
    }
    Ok(control)
}

/// Whether the agent chooses its services' placement policy (among its arms).
fn chooses_policy(agent: &ControlAgent) -> bool {
    match &agent.kind {
        AgentKind::Adaptive(a) => matches!(a.arms, Arms::Policies(_)),
        AgentKind::External(e) => !e.arms.is_empty(),
        _ => false,
    }
}

/// Points each tuning bandit at the autoscaler it names (among the active agents), takes
/// its services, and checks the targets against the autoscaler's metric.
fn resolve_tuning(raw: &[RawAgent], agents: &mut [ControlAgent]) -> Result<()> {
    for i in 0..agents.len() {
        let AgentKind::Adaptive(Adaptive { arms: Arms::Targets { values, .. }, .. }) =
            &agents[i].kind
        else {
            continue;
        };
        let values = values.clone();
        let name = agents[i].name.clone();
        let field = format!("agents.{name}.tunes");
        let tuned = raw
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.tunes.clone())
            .expect("a tuning bandit names what it tunes");
        let Some(j) = agents.iter().position(|a| a.name == tuned) else {
            let known = agents.iter().map(|a| a.name.as_str());
            return Err(unknown_reference(&field, "active agent", &tuned, known));
        };
        let AgentKind::Autoscaler(a) = &agents[j].kind else {
            return Err(Invalid::new(
                field,
                format!(
                    "expected an agent of kind `autoscaler`, found `{tuned}` of kind `{}`",
                    agents[j].kind.name()
                ),
            ));
        };
        if !matches!(a.rule, ScalingRule::Target { .. }) {
            return Err(Invalid::new(
                field,
                format!("expected an autoscaler with rule = \"target\": `{tuned}` scales by steps"),
            ));
        }
        for (k, &v) in values.iter().enumerate() {
            let ok = match a.metric {
                ScalingMetric::Utilisation => v > 0.0 && v <= 1.0,
                _ => v.is_finite() && v > 0.0,
            };
            if !ok {
                return Err(Invalid::new(
                    format!("agents.{name}.targets[{k}]"),
                    format!(
                        "expected a target for `{}` ({}), found {v}",
                        a.metric.name(),
                        if a.metric == ScalingMetric::Utilisation { "in (0, 1]" } else { "> 0" }
                    ),
                ));
            }
        }
        let services = agents[j].services.clone();
        let agent = &mut agents[i];
        agent.services = services;
        if let AgentKind::Adaptive(Adaptive { arms: Arms::Targets { autoscaler, .. }, .. }) =
            &mut agent.kind
        {
            *autoscaler = j;
        }
    }
    Ok(())
}

fn agent(
    raw: &RawAgent,
    service_ids: &BTreeMap<&str, ServiceId>,
    services: &[Service],
    policies: &[PolicySpec],
    base: &Path,
) -> Result<ControlAgent> {
    let key = |k: &str| format!("agents.{}.{k}", raw.name);
    let kind = raw.kind;
    let not_used =
        |k: &str| Invalid::new(key(k), format!("not used by an agent of kind `{}`", kind.name()));
    // An adaptive agent that tunes an autoscaler acts on that autoscaler's services (filled
    // in once every agent is known, by `resolve_tuning`).
    let tuning = kind == AgentKindName::Adaptive && raw.tunes.is_some();
    let names: Vec<&String> = match (&raw.service, &raw.services) {
        (None, None) if tuning => Vec::new(),
        _ if tuning => {
            let k = if raw.service.is_some() { "service" } else { "services" };
            return Err(Invalid::new(
                key(k),
                "not used with `tunes`: the agent acts on the tuned autoscaler's services",
            ));
        }
        (Some(one), None) => vec![one],
        (None, Some(many)) if !many.is_empty() => many.iter().collect(),
        (None, Some(_)) => {
            return Err(Invalid::new(key("services"), "expected at least one service"))
        }
        (Some(_), Some(_)) => {
            return Err(Invalid::new(key("service"), "expected `service` or `services`, not both"))
        }
        (None, None) => {
            return Err(Invalid::new(key("services"), "required: the services it acts on"))
        }
    };
    let mut targets = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let field =
            if raw.service.is_some() { key("service") } else { key(&format!("services[{i}]")) };
        let s = lookup(&field, "service", name, service_ids)?;
        if services[s.index()].human {
            return Err(Invalid::new(
                field,
                format!(
                    "expected a service of machines: `{name}` is a human service, which an agent of kind `{}` cannot act on",
                    kind.name()
                ),
            ));
        }
        if targets.contains(&s) {
            return Err(Invalid::new(field, format!("`{name}` is listed twice")));
        }
        targets.push(s);
    }
    let default_period = match kind {
        AgentKindName::Autoscaler => 15.0,
        AgentKindName::Remediator | AgentKindName::Adaptive => 10.0,
        AgentKindName::Budget => 30.0,
        AgentKindName::External => 15.0,
    };
    let period = positive_seconds(&key("period"), raw.period.map_or(default_period, |p| p.0))?;
    let window = match raw.window {
        Some(w) => positive_seconds(&key("window"), w.0)?,
        None => period,
    };
    let measurement_delay = match raw.measurement_delay {
        Some(d) => non_negative_seconds(&key("measurement_delay"), d.0)?,
        None => SimDuration::ZERO,
    };

    // Keys each kind uses; any other kind-specific key is refused.
    let autoscaler_keys: [(&str, bool); 13] = [
        ("group", raw.group.is_some()),
        ("rule", raw.rule.is_some()),
        ("metric", raw.metric.is_some()),
        ("target", raw.target.is_some()),
        ("tolerance", raw.tolerance.is_some()),
        ("min_replicas", raw.min_replicas.is_some()),
        ("max_replicas", raw.max_replicas.is_some()),
        ("stabilisation", raw.stabilisation.is_some()),
        ("scale_up", raw.scale_up.is_some()),
        ("scale_down", raw.scale_down.is_some()),
        ("provisioning", raw.provisioning.is_some()),
        ("steps", raw.steps.is_some()),
        ("cooldown", raw.cooldown.is_some()),
    ];
    let remediator_keys: [(&str, bool); 8] = [
        ("timeout", raw.timeout.is_some()),
        ("failures", raw.failures.is_some()),
        ("probe", raw.probe.is_some()),
        ("action", raw.action.is_some()),
        ("restart_delay", raw.restart_delay.is_some()),
        ("eject_for", raw.eject_for.is_some()),
        ("budget", raw.budget.is_some()),
        ("escalate", raw.escalate.is_some()),
    ];
    let adaptive_keys: [(&str, bool); 8] = [
        ("arms", raw.arms.is_some()),
        ("algorithm", raw.algorithm.is_some()),
        ("epsilon", raw.epsilon.is_some()),
        ("reward", raw.reward.is_some()),
        ("reward_scale", raw.reward_scale.is_some()),
        ("tunes", raw.tunes.is_some()),
        ("targets", raw.targets.is_some()),
        ("cost_weight", raw.cost_weight.is_some()),
    ];
    let budget_keys: [(&str, bool); 1] = [("max_total", raw.max_total.is_some())];
    let removal_key = [("removal", raw.removal.is_some())];
    // An external agent's driver scales (within bounds) and chooses among arms.
    let external_keys = [
        "group",
        "min_replicas",
        "max_replicas",
        "provisioning",
        "removal",
        "arms",
        "restart_delay",
        "eject_for",
    ];
    fn names_of<'k>(set: &[(&'k str, bool)]) -> Vec<&'k str> {
        set.iter().map(|(k, _)| *k).collect()
    }
    let own: Vec<&str> = match kind {
        AgentKindName::Autoscaler => [names_of(&autoscaler_keys), names_of(&removal_key)].concat(),
        AgentKindName::Remediator => names_of(&remediator_keys),
        AgentKindName::Adaptive => names_of(&adaptive_keys),
        AgentKindName::Budget => [names_of(&budget_keys), names_of(&removal_key)].concat(),
        AgentKindName::External => external_keys.to_vec(),
    };
    let all: [&[(&str, bool)]; 5] =
        [&autoscaler_keys, &remediator_keys, &adaptive_keys, &budget_keys, &removal_key];
    if let Some((k, _)) =
        all.iter().flat_map(|set| set.iter()).find(|(k, given)| *given && !own.contains(k))
    {
        return Err(not_used(k));
    }

    let kind = match kind {
        AgentKindName::Autoscaler => {
            AgentKind::Autoscaler(autoscaler(raw, &key, &targets, services, base)?)
        }
        AgentKindName::Remediator => {
            AgentKind::Remediator(remediator(raw, &key, period, service_ids, services, base)?)
        }
        AgentKindName::Adaptive => {
            AgentKind::Adaptive(adaptive(raw, &key, &targets, services, policies)?)
        }
        AgentKindName::Budget => {
            let max_total = at_least_one(
                &key("max_total"),
                raw.max_total.ok_or_else(|| {
                    Invalid::new(key("max_total"), "required by an agent of kind `budget`")
                })?,
            )?;
            AgentKind::Budget(Budget { max_total })
        }
        AgentKindName::External => {
            AgentKind::External(external(raw, &key, &targets, services, policies, base)?)
        }
    };
    let groups = group_preference(raw, &key, &targets, services)?;
    Ok(ControlAgent {
        name: raw.name.clone(),
        groups,
        services: targets,
        period,
        window,
        measurement_delay,
        kind,
    })
}

/// The groups an autoscaler or external agent scales, in order of preference, each known
/// to every service it acts on (empty: every group, in declaration order).
fn group_preference(
    raw: &RawAgent,
    key: &dyn Fn(&str) -> String,
    targets: &[ServiceId],
    services: &[Service],
) -> Result<Vec<String>> {
    let names: Vec<String> = match &raw.group {
        None => return Ok(Vec::new()),
        Some(RawGroupChoice::One(one)) => vec![one.clone()],
        Some(RawGroupChoice::Many(many)) if many.is_empty() => {
            return Err(Invalid::new(key("group"), "expected at least one group name"))
        }
        Some(RawGroupChoice::Many(many)) => many.clone(),
    };
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(Invalid::new(key("group"), format!("`{name}` is listed twice")));
        }
        for s in targets {
            let service = &services[s.index()];
            if service.group_index(name).is_none() {
                let known = backticked(service.groups.iter().map(|g| &g.name));
                return Err(Invalid::new(
                    key("group"),
                    format!("unknown group `{name}` of service `{}`; known: {known}", service.name),
                ));
            }
        }
    }
    Ok(names)
}
