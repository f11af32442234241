//! `RawScenario` -> [`Scenario`]: defaults, ranges, references and graph checks, once.
//!
//! Every check names the dotted key path of the field, what was expected and what was
//! found; references to unknown names list the known ones; a cycle in a workflow or in the
//! call graph is reported as the cycle itself. Files a scenario refers to are read by the
//! section that names them (traces in `validate/classes.rs`, empirical samples in
//! `validate/distributions.rs`), and their errors carry the line number. Nothing downstream
//! re-checks: the simulation may assume every invariant stated on the validated types.
//!
//! This file validates the top-level keys and assembles the sections in a fixed order (so
//! the first error of a document is always the same one); each section has its file below
//! `validate/`, and the range checks and error wording they share are in `check.rs`.

mod agents;

pub(crate) use agents::delay_value;
mod check;
mod classes;
mod distributions;
mod faults;
mod metrics;
mod network;
mod policies;
mod resilience;
mod services;
mod workflows;

use std::path::Path;

use self::check::{at_least_one, check_name, ids_by_name, non_negative_seconds, positive_seconds};
use super::raw::RawScenario;
use super::{ClassId, Invalid, Scenario, ServiceId, WorkflowId};
use crate::time::SimDuration;

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

    let service_ids = ids_by_name(&raw.services, |i| ServiceId(i as u32));
    let services = services::services(&raw.services, &service_ids, base)?;
    let mut workflows = workflows::workflows(&raw.workflows, &service_ids, &raw.services)?;
    let workflow_ids = ids_by_name(&raw.workflows, |i| WorkflowId(i as u32));
    let classes = classes::classes(
        &raw.classes,
        &service_ids,
        &raw.services,
        &workflow_ids,
        &mut workflows,
        base,
    )?;
    services::check_units_per_job(&services, &workflows)?;
    let class_ids = ids_by_name(&raw.classes, |i| ClassId(i as u32));
    let shared_arrival = classes::shared_arrival(raw.arrival.as_ref(), &class_ids, &classes, base)?;

    let policies = policies::policies(raw.policies, &raw.policy, &services)?;
    let group_ids = ids_by_name(&raw.network.groups, |i| i);
    let network = network::network(&raw.network, &service_ids, &group_ids, base)?;
    let faults = faults::faults(&raw.faults, &service_ids, &services, &group_ids, orchestrators)?;
    let max_in_flight = match &raw.admission {
        Some(a) => Some(at_least_one("admission.max_in_flight", a.max_in_flight)?),
        None => None,
    };
    let metrics = metrics::metrics(raw.metrics.as_ref())?;
    let control = agents::control(
        &raw.agents,
        raw.control.as_ref(),
        &service_ids,
        &services,
        &policies,
        base,
    )?;

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
        control,
        bare_seconds: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    //! The document every section's tests mutate with `--set`, the helpers that check the
    //! error it then gives, and the tests of the whole load: defaults, top-level keys, and what
    //! is refused before validation (syntax, types, unknown keys).

    use crate::scenario::{from_toml_str, ClassSource, Process, ScenarioError};

    pub(super) const VALID: &str = r#"
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

    pub(super) fn error_of(set: &str) -> ScenarioError {
        let overrides = [set.parse().unwrap()];
        from_toml_str(VALID, "t.toml", &overrides).unwrap_err()
    }

    pub(super) fn field_and_message(err: &ScenarioError) -> (String, String) {
        match err {
            ScenarioError::Field { field, message, .. } => (field.clone(), message.clone()),
            other => panic!("expected a field error, got {other}"),
        }
    }

    pub(super) fn check(set: &str, field: &str, fragment: &str) {
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
        assert_eq!(s.policies.len(), crate::policy::PolicyKind::DEFAULT.len());
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
        check("warmup=20", "warmup", "less than duration");
        check("duration=\"-1s\"", "duration", "duration");
    }

    /// Unknown keys and variants are refused by the serde mirror, before validation.
    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
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
}
