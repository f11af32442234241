//! `audit.jsonl`: the decision audit log, one JSON object per line, so "why did the agent do
//! that?" has an answer.
//!
//! Each line names the policy, the time, the deciding agent, the task (its service, and the
//! ticket of a deferred placement), the options the agent saw with the estimate each was
//! judged by (lower is better, in the policy's own unit) and, where the policy says, what
//! the estimate was made of (central: the reported load, its age, the assignments since),
//! the choice and the reason. Agents
//! and replicas are named as in the scenario: `orchestrator-0`, `api[2]` (a replica's
//! worker), `scheduler`, `standby`.

use serde_json::json;

use crate::ids::ReplicaId;
use crate::policy::{Endpoint, PolicyKind};
use crate::scenario::Scenario;
use crate::sim::AuditLog;

/// Names replicas and agents as the scenario does.
struct Names {
    orchestrators: u32,
    /// For each replica: its service's name and its index within the service.
    replicas: Vec<String>,
    services: Vec<String>,
}

impl Names {
    fn new(scenario: &Scenario) -> Names {
        Names {
            orchestrators: scenario.orchestrators,
            replicas: scenario.replica_names(),
            services: scenario.services.iter().map(|s| s.name.clone()).collect(),
        }
    }

    fn replica(&self, replica: ReplicaId) -> String {
        self.replicas[replica.index()].clone()
    }

    fn agent(&self, endpoint: Endpoint) -> String {
        match endpoint {
            Endpoint::PolicyAgent(0) => "scheduler".into(),
            Endpoint::PolicyAgent(_) => "standby".into(),
            Endpoint::Agent(a) => match a.0.checked_sub(self.orchestrators) {
                Some(r) => self.replica(ReplicaId(r)),
                None => format!("orchestrator-{}", a.0),
            },
        }
    }
}

/// One audited run: its policy's name, the parameters of a policy from outside the crate
/// (a Python policy's, as `name = value` pairs; none for a built-in one, whose parameters
/// are the scenario's), and its log.
#[derive(Clone, Debug)]
pub struct AuditedRun {
    /// The policy's name.
    pub policy: String,
    /// Its parameters, when it brings its own.
    pub parameters: Option<Vec<(String, serde_json::Value)>>,
    /// What it and the control agents decided.
    pub log: AuditLog,
}

impl AuditedRun {
    /// The run of a built-in policy.
    pub fn built_in(policy: PolicyKind, log: AuditLog) -> Self {
        AuditedRun { policy: policy.name().to_owned(), parameters: None, log }
    }
}

/// Renders the audit log of one run per policy as JSON lines, in the order given: for a
/// policy with parameters of its own, a line naming them (`"parameters"`); each run's
/// placement decisions; then its control agents' actions (lines with `"action"`, what the
/// agent `saw` and its `reason`).
pub fn audit_jsonl(scenario: &Scenario, runs: &[AuditedRun]) -> Vec<u8> {
    let names = Names::new(scenario);
    let mut out = Vec::new();
    for AuditedRun { policy, parameters, log } in runs {
        if let Some(parameters) = parameters {
            let parameters: serde_json::Map<String, serde_json::Value> =
                parameters.iter().cloned().collect();
            let line = json!({ "policy": policy, "parameters": parameters });
            serde_json::to_writer(&mut out, &line).expect("writing JSON to memory cannot fail");
            out.push(b'\n');
        }
        for r in &log.decisions {
            let line = json!({
                "policy": policy,
                "time_s": r.at.as_secs_f64(),
                "agent": names.agent(r.agent),
                "task": {
                    "service": names.services[r.service.index()],
                    "ticket": r.ticket.map(|t| t.0),
                },
                "options": r.options.iter().enumerate().map(|(i, &(replica, estimate))| {
                    let mut option = serde_json::Map::new();
                    option.insert("replica".into(), json!(names.replica(replica)));
                    option.insert("estimate".into(), json!(estimate.is_finite().then_some(estimate)));
                    // What the estimate was made of, when the policy says.
                    for &(name, value) in r.option_details.get(i).into_iter().flatten() {
                        option.insert(name.into(), json!(value.is_finite().then_some(value)));
                    }
                    serde_json::Value::Object(option)
                }).collect::<Vec<_>>(),
                "choice": r.choice.map(|c| names.replica(c)),
                "reason": r.reason,
            });
            serde_json::to_writer(&mut out, &line).expect("writing JSON to memory cannot fail");
            out.push(b'\n');
        }
        for a in &log.actions {
            let saw: serde_json::Map<String, serde_json::Value> =
                a.saw.iter().map(|&(k, v)| (k.to_owned(), json!(v))).collect();
            let line = json!({
                "policy": policy,
                "time_s": a.at.as_secs_f64(),
                "agent": a.agent,
                "kind": a.kind,
                "action": a.action,
                "service": a.service,
                "replica": a.replica,
                "value": a.value,
                "saw": saw,
                "reason": a.reason,
            });
            serde_json::to_writer(&mut out, &line).expect("writing JSON to memory cannot fail");
            out.push(b'\n');
        }
    }
    out
}
