//! `[network]` -> [`Network`]: the default latency and loss, the named groups of agents
//! (services and `orchestrators`), and the links between groups that override them.
//!
//! Groups are referred to by their position in the sorted `groups` table, here and by
//! partition and message-loss faults (`faults.rs`).

use std::collections::BTreeMap;
use std::path::Path;

use super::check::{check_name, lookup, probability, unknown_reference};
use super::distributions::dist;
use super::Result;
use crate::dist::DurationDist;
use crate::scenario::raw::{RawLink, RawNetwork};
use crate::scenario::{Group, Invalid, Link, Network, ServiceId};

pub(super) fn network(raw: &RawNetwork, services: &BTreeMap<&str, ServiceId>) -> Result<Network> {
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

#[cfg(test)]
mod tests {
    use crate::scenario::validate::tests::check;

    #[test]
    fn each_check_names_its_field() {
        check("network.loss=1.5", "network.loss", "probability in [0, 1]");
        check("network.links=[{between=[\"a\"]}]", "network.links[0].between", "two group names");
    }

    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
        check("network.groups.east=[\"apii\"]", "network.groups.east", "did you mean `api`?");
    }

    #[test]
    fn limits_that_protect_the_run_are_enforced() {
        let groups: Vec<String> = (0..65).map(|g| format!("g{g}=[\"api\"]")).collect();
        check(
            &format!("network.groups={{{}}}", groups.join(",")),
            "network.groups",
            "at most 64 groups",
        );
    }
}
