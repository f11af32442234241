//! `[[faults]]` -> [`Fault`]: what a fault does (crash of a service, replica or agent,
//! slowdown, partition, message loss), which keys each kind takes, and when it happens
//! (scheduled `at` + `duration`, or random `mtbf` + `mttr`).
//!
//! Faults are validated after what they refer to: services (a replica index is checked
//! against the validated replica count), network groups, and the number of orchestrators.

use std::collections::BTreeMap;

use super::check::{
    backticked, lookup, non_negative_seconds, positive_finite, positive_seconds, probability,
};
use super::network::group_pair;
use super::Result;
use crate::scenario::raw::{FaultKind, RawFault};
use crate::scenario::{Fault, FaultEffect, FaultTiming, Invalid, Service, ServiceId};
use crate::time::SimTime;

/// Every fault, in the order written; `groups` are the network's group indices.
pub(super) fn faults(
    raw: &[RawFault],
    services: &BTreeMap<&str, ServiceId>,
    validated: &[Service],
    groups: &BTreeMap<&str, usize>,
    orchestrators: u32,
) -> Result<Vec<Fault>> {
    raw.iter()
        .enumerate()
        .map(|(i, f)| fault(i, f, services, validated, groups, orchestrators))
        .collect()
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
    let kind = raw.kind.name();
    let not_used = |k: &str| Invalid::new(key(k), format!("not used by a fault of kind `{kind}`"));
    let target = |raw: &RawFault| -> Result<(ServiceId, Option<u32>, Option<u32>)> {
        let name = raw.service.as_deref().ok_or_else(|| {
            Invalid::new(key("service"), format!("required by a fault of kind `{kind}`"))
        })?;
        let service = lookup(&key("service"), "service", name, services)?;
        let spec = &validated[service.index()];
        let group = match raw.group.as_deref() {
            None => None,
            Some(g) => Some(spec.group_index(g).ok_or_else(|| {
                let known = backticked(spec.groups.iter().map(|g| &g.name));
                Invalid::new(
                    key("group"),
                    format!("unknown group `{g}` of service `{name}`; known: {known}"),
                )
            })? as u32),
        };
        if let Some(r) = raw.replica {
            let (n, of) = match group {
                Some(g) => (
                    spec.groups[g as usize].replicas,
                    format!("group `{}`", spec.groups[g as usize].name),
                ),
                None => (spec.replicas, format!("service `{name}`")),
            };
            if r >= n {
                return Err(Invalid::new(
                    key("replica"),
                    format!("expected a replica index below {n} ({of} has {n}), found {r}"),
                ));
            }
        }
        Ok((service, group, raw.replica))
    };
    let two_groups = |raw: &RawFault| -> Result<Option<[usize; 2]>> {
        raw.groups.as_deref().map(|list| group_pair(&key("groups"), list, groups)).transpose()
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
                if raw.service.is_some() || raw.replica.is_some() || raw.group.is_some() {
                    return Err(Invalid::new(
                        key("agent"),
                        "a crash targets either an agent or a service (and replica), not both",
                    ));
                }
                let mut known: Vec<String> =
                    (0..orchestrators).map(|o| format!("orchestrator-{o}")).collect();
                known.extend(["scheduler".to_owned(), "standby".to_owned()]);
                let index = known.iter().position(|k| k == agent).ok_or_else(|| {
                    let list = backticked(&known);
                    Invalid::new(key("agent"), format!("unknown agent `{agent}`; known: {list}"))
                })? as u32;
                match index.checked_sub(orchestrators) {
                    Some(control) => FaultEffect::PolicyAgentCrash { agent: control },
                    None => FaultEffect::AgentCrash { orchestrator: index },
                }
            } else {
                let (service, group, replica) = target(raw)?;
                if raw.kind == FaultKind::Crash {
                    if raw.factor.is_some() {
                        return Err(not_used("factor"));
                    }
                    FaultEffect::Crash { service, group, replica }
                } else {
                    let factor = raw.factor.ok_or_else(|| {
                        Invalid::new(key("factor"), "required by a fault of kind `slowdown`")
                    })?;
                    FaultEffect::Slowdown {
                        service,
                        group,
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
                ("group", raw.group.is_some()),
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

#[cfg(test)]
mod tests {
    use crate::scenario::validate::tests::check;

    #[test]
    fn a_key_a_fault_kind_does_not_use_is_named_with_the_kind_as_written() {
        check(
            "faults=[{kind=\"message_loss\",loss=0.1,at=1,duration=1,service=\"api\"}]",
            "faults[0].service",
            "not used by a fault of kind `message_loss`",
        );
    }
}
