//! `RawScenario` -> [`Scenario`]: defaults, ranges and references, checked once.
//!
//! Every check names the dotted key path of the field, what was expected and what was
//! found. Nothing downstream re-checks: the engine may assume every invariant stated on the
//! validated types.

use std::collections::BTreeMap;

use super::raw::{RawArrival, RawClass, RawDist, RawScenario, RawService};
use super::{closest, Arrival, Invalid, JobClass, Network, Scenario, Service, ServiceId};
use crate::dist::DurationDist;
use crate::policy::{PolicyKind, PolicySpec};
use crate::time::SimDuration;

type Result<T> = std::result::Result<T, Invalid>;

pub(super) fn scenario(raw: RawScenario, default_name: &str) -> Result<Scenario> {
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

    let services = raw
        .services
        .iter()
        .map(|(name, s)| service(name, s))
        .collect::<Result<Vec<_>>>()?;
    if services.is_empty() {
        return Err(Invalid::new(
            "services",
            "expected at least one [services.<name>] table",
        ));
    }
    let service_ids: BTreeMap<&str, ServiceId> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), ServiceId(i as u32)))
        .collect();
    let classes = raw
        .classes
        .iter()
        .map(|(name, c)| class(name, c, &service_ids))
        .collect::<Result<Vec<_>>>()?;
    if classes.is_empty() {
        return Err(Invalid::new(
            "classes",
            "expected at least one [classes.<name>] table",
        ));
    }

    let policies = policies(raw.policies, &raw.policy)?;
    let network = Network {
        latency: match &raw.network.latency {
            Some(d) => dist("network.latency", d)?,
            None => DurationDist::constant(0.0).expect("zero is a valid constant"),
        },
        loss: probability("network.loss", raw.network.loss.unwrap_or(0.0))?,
    };

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
        classes,
    })
}

fn service(name: &str, raw: &RawService) -> Result<Service> {
    let field = |key: &str| format!("services.{name}.{key}");
    Ok(Service {
        name: check_name(&format!("services.{name}"), name)?,
        replicas: at_least_one(&field("replicas"), raw.replicas)?,
        concurrency: at_least_one(&field("concurrency"), raw.concurrency.unwrap_or(1))?,
        queue_capacity: raw.queue_capacity.unwrap_or(u32::MAX),
        speed: positive_finite(&field("speed"), raw.speed.unwrap_or(1.0))?,
        service_time: dist(&field("service_time"), &raw.service_time)?,
    })
}

fn class(name: &str, raw: &RawClass, services: &BTreeMap<&str, ServiceId>) -> Result<JobClass> {
    let field = |key: &str| format!("classes.{name}.{key}");
    let service = *services.get(raw.service.as_str()).ok_or_else(|| {
        unknown_reference(
            &field("service"),
            "service",
            &raw.service,
            services.keys().copied(),
        )
    })?;
    let arrival = match raw.arrival {
        RawArrival::Poisson { rate } => Arrival::Poisson {
            rate: rate_per_second(&field("arrival.rate"), rate)?,
        },
    };
    Ok(JobClass {
        name: check_name(&format!("classes.{name}"), name)?,
        service,
        arrival,
    })
}

fn policies(
    listed: Option<Vec<PolicyKind>>,
    params: &super::raw::RawPolicyParams,
) -> Result<Vec<PolicySpec>> {
    let kinds = listed.unwrap_or_else(|| PolicyKind::ALL.to_vec());
    if kinds.is_empty() {
        return Err(Invalid::new(
            "policies",
            "expected at least one policy name",
        ));
    }
    let mut specs = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.iter().enumerate() {
        if kinds[..i].contains(kind) {
            return Err(Invalid::new(
                format!("policies[{i}]"),
                format!(
                    "`{}` is listed twice; each policy may appear once",
                    kind.name()
                ),
            ));
        }
        specs.push(match kind {
            PolicyKind::Random => PolicySpec::Random,
            PolicyKind::RoundRobin => PolicySpec::RoundRobin,
            PolicyKind::LeastOutstanding => PolicySpec::LeastOutstanding,
            PolicyKind::PowerOfD => {
                let d = params.power_of_d.as_ref().and_then(|p| p.d).unwrap_or(2);
                PolicySpec::PowerOfD {
                    d: at_least_one("policy.power_of_d.d", d)?,
                }
            }
        });
    }
    Ok(specs)
}

fn dist(field: &str, raw: &RawDist) -> Result<DurationDist> {
    let built = match *raw {
        RawDist::Constant { value } => DurationDist::constant(value.0),
        RawDist::Exponential { mean } => DurationDist::exponential(mean.0),
        RawDist::Uniform { min, max } => DurationDist::uniform(min.0, max.0),
        RawDist::Lognormal { mean, cv } => DurationDist::lognormal(mean.0, cv),
    };
    built.map_err(|why| Invalid::new(field, why))
}

fn unknown_reference<'a>(
    field: &str,
    what: &str,
    got: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Invalid {
    let list = known
        .clone()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = closest(got, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    Invalid::new(
        field,
        format!("unknown {what} `{got}`; known: {list}{hint}"),
    )
}

fn check_name(field: &str, name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
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
        Err(Invalid::new(
            field,
            format!("expected an integer >= 1, found {value}"),
        ))
    }
}

fn positive_finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Invalid::new(
            field,
            format!("expected a finite number > 0, found {value}"),
        ))
    }
}

/// Arrival rates above 10^9 per second would make the mean gap shorter than the clock's
/// nanosecond resolution, so gaps would round to zero and time would stop advancing.
fn rate_per_second(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 && value <= 1e9 {
        Ok(value)
    } else {
        Err(Invalid::new(
            field,
            format!("expected a rate in (0, 1e9] per second, found {value}"),
        ))
    }
}

fn probability(field: &str, value: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(
            field,
            format!("expected a probability in [0, 1], found {value}"),
        ))
    }
}

fn positive_seconds(field: &str, secs: f64) -> Result<SimDuration> {
    let d = non_negative_seconds(field, secs)?;
    if d > SimDuration::ZERO {
        Ok(d)
    } else {
        Err(Invalid::new(
            field,
            format!("expected a duration > 0, found {secs} s"),
        ))
    }
}

fn non_negative_seconds(field: &str, secs: f64) -> Result<SimDuration> {
    // 1e7 s (about 116 days) keeps nanosecond arithmetic far from overflow.
    if secs.is_finite() && (0.0..=1e7).contains(&secs) {
        Ok(SimDuration::from_secs_f64(secs))
    } else {
        Err(Invalid::new(
            field,
            format!("expected a duration in [0, 1e7] s, found {secs} s"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::from_toml_str;
    use crate::scenario::ScenarioError;

    const VALID: &str = r#"
        duration = 10
        [services.api]
        replicas = 2
        service_time = { dist = "exponential", mean = "10ms" }
        [classes.web]
        service = "api"
        arrival = { process = "poisson", rate = 50 }
    "#;

    fn error_of(extra: &str) -> ScenarioError {
        let overrides = [extra.parse().unwrap()];
        from_toml_str(VALID, "t.toml", &overrides).unwrap_err()
    }

    fn field_and_message(err: &ScenarioError) -> (String, String) {
        match err {
            ScenarioError::Field { field, message, .. } => (field.clone(), message.clone()),
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn the_valid_document_gets_defaults() {
        let s = from_toml_str(VALID, "t", &[]).unwrap();
        assert_eq!(s.name, "t");
        assert_eq!(s.services[0].concurrency, 1);
        assert_eq!(s.services[0].queue_capacity, u32::MAX);
        assert_eq!(s.policies.len(), crate::policy::PolicyKind::ALL.len());
        assert!(s.network.latency.is_always_zero());
    }

    #[test]
    fn each_check_names_its_field() {
        let cases = [
            (
                "services.api.replicas=0",
                "services.api.replicas",
                "expected an integer >= 1",
            ),
            (
                "classes.web.arrival.rate=-5",
                "classes.web.arrival.rate",
                "(0, 1e9]",
            ),
            (
                "classes.web.arrival.rate=0",
                "classes.web.arrival.rate",
                "(0, 1e9]",
            ),
            (
                "classes.web.arrival.rate=1e300",
                "classes.web.arrival.rate",
                "(0, 1e9]",
            ),
            ("network.loss=1.5", "network.loss", "probability in [0, 1]"),
            ("warmup=20", "warmup", "less than duration"),
            ("duration=\"-1s\"", "duration", "duration"),
            ("services.api.speed=0", "services.api.speed", "> 0"),
            ("policy.power_of_d.d=0", "policy.power_of_d.d", ">= 1"),
            (
                "policies=[\"random\",\"random\"]",
                "policies[1]",
                "listed twice",
            ),
        ];
        for (set, field, fragment) in cases {
            let (f, m) = field_and_message(&error_of(set));
            assert_eq!(f, field, "for --set {set}: {m}");
            assert!(
                m.contains(fragment),
                "for --set {set}: {m:?} lacks {fragment:?}"
            );
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones_with_a_suggestion() {
        let (f, m) = field_and_message(&error_of("classes.web.service=apj"));
        assert_eq!(f, "classes.web.service");
        assert!(
            m.contains("unknown service `apj`; known: `api`; did you mean `api`?"),
            "{m}"
        );

        let (f, m) = field_and_message(&error_of("policies=[\"round_robn\"]"));
        assert_eq!(f, "policies[0]");
        assert!(m.contains("did you mean `round_robin`?"), "{m}");

        let (f, m) = field_and_message(&error_of("services.api.concurency=3"));
        assert_eq!(f, "services.api.concurency");
        assert!(m.contains("did you mean `concurrency`?"), "{m}");

        let (f, m) = field_and_message(&error_of("services.api.service_time.dist=expo"));
        assert_eq!(f, "services.api.service_time.dist");
        assert!(m.contains("unknown variant `expo`"), "{m}");
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
