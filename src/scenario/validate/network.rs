//! `[network]` -> [`Network`]: the default latency and loss, the named groups of agents
//! (services and `orchestrators`), and the links between groups that override them.
//!
//! Groups are referred to by their position in the sorted `groups` table, here and by
//! partition and message-loss faults (`faults.rs`), which name their two sides with
//! `group_pair` like a link does.

use std::collections::BTreeMap;
use std::path::Path;

use super::check::{check_name, count_at_most, lookup, probability, unknown_reference};
use super::distributions::dist;
use super::Result;
use crate::dist::DurationDist;
use crate::scenario::raw::{RawLink, RawNetwork};
use crate::scenario::{Group, Invalid, Link, Network, ServiceId};

pub(super) fn network(
    raw: &RawNetwork,
    services: &BTreeMap<&str, ServiceId>,
    group_ids: &BTreeMap<&str, usize>,
    base: &Path,
) -> Result<Network> {
    let latency = match &raw.latency {
        Some(d) => dist("network.latency", d, base)?,
        None => DurationDist::constant(0.0).expect("zero is a valid constant"),
    };
    let loss = probability("network.loss", raw.loss.unwrap_or(0.0))?;
    count_at_most("network.groups", raw.groups.len(), 64, "groups")?;
    count_at_most("network.links", raw.links.len(), 10_000, "links")?;
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
    let links = raw
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| link(i, l, group_ids, latency.clone(), loss, base))
        .collect::<Result<Vec<_>>>()?;
    Ok(Network { latency, loss, groups, links })
}

fn link(
    i: usize,
    raw: &RawLink,
    groups: &BTreeMap<&str, usize>,
    latency: DurationDist,
    loss: f64,
    base: &Path,
) -> Result<Link> {
    let field = |k: &str| format!("network.links[{i}].{k}");
    Ok(Link {
        between: group_pair(&field("between"), &raw.between, groups)?,
        latency: match &raw.latency {
            Some(d) => dist(&field("latency"), d, base)?,
            None => latency,
        },
        loss: probability(&field("loss"), raw.loss.unwrap_or(loss))?,
    })
}

/// Two group names (the two sides of a link or of a fault), as group indices.
pub(super) fn group_pair(
    field: &str,
    names: &[String],
    groups: &BTreeMap<&str, usize>,
) -> Result<[usize; 2]> {
    let [a, b] = names else {
        return Err(Invalid::new(
            field,
            format!("expected two group names, found {}", names.len()),
        ));
    };
    Ok([lookup(field, "group", a, groups)?, lookup(field, "group", b, groups)?])
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
    fn an_empirical_latency_file_is_read_beside_the_scenario_file() {
        let dir = std::env::temp_dir().join(format!("coordsim-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lat.csv"), "latency\n0.001\n0.003\n").unwrap();
        let text = r#"
            duration = 10
            [network]
            latency = { dist = "empirical", file = "lat.csv" }
            [services.api]
            replicas = 1
            service_time = { dist = "constant", value = "1ms" }
            [classes.web]
            service = "api"
            arrival = { process = "poisson", rate = 1 }
        "#;
        let path = dir.join("s.toml");
        std::fs::write(&path, text).unwrap();
        // The working directory is the crate's, not the file's: the samples are found
        // because they are looked for beside the scenario.
        let s = crate::scenario::load(&path).expect("lat.csv beside s.toml");
        assert!((s.network.latency.mean_secs() - 0.002).abs() < 1e-12);
        std::fs::remove_dir_all(&dir).unwrap();
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
