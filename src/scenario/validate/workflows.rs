//! `[workflows.<name>]` -> [`Workflow`]: steps, their services and predecessors (`after`),
//! per-step resilience, approvals and escalation; a cycle among the steps is reported as the
//! cycle, and the steps are put in execution order.
//!
//! `find_cycle` is also the call graph's cycle check (`services.rs`). The one-step
//! workflow of a class that names a `service` is built in `classes.rs`.

use std::collections::BTreeMap;

use super::check::{check_name, lookup, probability};
use super::resilience::{merge, resilience};
use super::Result;
use crate::scenario::raw::{RawService, RawWorkflow};
use crate::scenario::{Approval, Invalid, ServiceId, Step, Workflow};

pub(super) fn workflows(
    raw: &BTreeMap<String, RawWorkflow>,
    services: &BTreeMap<&str, ServiceId>,
    raw_services: &BTreeMap<String, RawService>,
) -> Result<Vec<Workflow>> {
    raw.iter().map(|(name, w)| workflow(name, w, services, raw_services)).collect()
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

/// A cycle in a directed graph given as adjacency lists, as the list of its nodes with the
/// first repeated at the end; `None` if the graph is acyclic.
pub(super) fn find_cycle(edges: &[Vec<usize>]) -> Option<Vec<usize>> {
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

#[cfg(test)]
mod tests {
    use super::find_cycle;
    use crate::scenario::validate::tests::check;

    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
        check(
            "workflows.order.steps=[{name=\"a\",service=\"db\",after=[\"b\"]}]",
            "workflows.order.steps[0].after",
            "unknown step `b`",
        );
    }

    #[test]
    fn cycles_are_named() {
        check(
            "workflows.order.steps=[{name=\"a\",service=\"db\",after=[\"b\"]},{name=\"b\",service=\"db\",after=[\"a\"]}]",
            "workflows.order.steps",
            "the steps form a cycle: a -> b -> a",
        );
    }

    #[test]
    fn find_cycle_reports_the_cycle_in_edge_order() {
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![]]), None);
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![1]]), Some(vec![1, 2, 1]));
    }
}
