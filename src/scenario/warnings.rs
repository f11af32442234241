//! What a valid scenario declares but cannot exercise: a fault or a spike outside the
//! measured span, a class that never arrives in it, a service no job can reach. Each is a
//! [`Warning`] naming the key; `--strict` makes them errors. They are found from the
//! validated scenario alone, before any run (a fault that could happen but touched
//! nothing is a different warning, given after the run).

use super::{
    Arrival, ClassSource, FaultEffect, FaultTiming, Process, RateShape, Scenario, ScenarioError,
};
use crate::time::{SimDuration, SimTime};
use std::path::Path;

/// A declared part of a scenario that the run cannot exercise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// Dotted key path, e.g. `faults[2].at`.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A chance below this of a random fault happening at least once in the measured span
/// counts as "never".
const NEVER: f64 = 0.01;

impl Scenario {
    /// What this scenario declares but cannot exercise, in the order of the file's sections.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        let span = Span { from: SimTime::ZERO + self.warmup, to: SimTime::ZERO + self.duration };
        self.fault_warnings(span, &mut out);
        self.class_warnings(span, &mut out);
        self.service_warnings(&mut out);
        self.load_warnings(&mut out);
        for agent in &self.control.agents {
            if matches!(agent.kind, super::AgentKind::External(_)) {
                out.push(Warning {
                    field: format!("agents.{}", agent.name),
                    message: "an external agent acts only when a driver decides for it (the Python package's coordsim.gym.CoordEnv, or sim::run_driven); run from the command line it holds".into(),
                });
            }
        }
        out
    }

    /// The warnings as one error (for `--strict`), naming the file and the first key.
    ///
    /// # Errors
    /// When there is at least one warning.
    pub fn strict(&self, path: &Path) -> Result<(), ScenarioError> {
        let warnings = self.warnings();
        let Some(first) = warnings.first() else { return Ok(()) };
        let more = match warnings.len() {
            1 => String::new(),
            n => format!(" (and {} more warnings)", n - 1),
        };
        Err(ScenarioError::Field {
            path: path.to_owned(),
            field: first.field.clone(),
            message: format!("{}{more}; refused under --strict", first.message),
        })
    }

    fn fault_warnings(&self, span: Span, out: &mut Vec<Warning>) {
        for (i, fault) in self.faults.iter().enumerate() {
            match fault.timing {
                FaultTiming::Scheduled { at, duration } => {
                    if at >= span.to {
                        out.push(Warning {
                            field: format!("faults[{i}].at"),
                            message: format!(
                                "the fault starts at {}, when the run is over (duration {}): it never happens",
                                secs(at), span_text(self.duration)
                            ),
                        });
                    } else if at + duration <= span.from {
                        out.push(Warning {
                            field: format!("faults[{i}].at"),
                            message: format!(
                                "the fault is over at {}, before the warm-up ends ({}): only its after-effects are measured, and no figure marks it",
                                secs(at + duration), span_text(self.warmup)
                            ),
                        });
                    }
                }
                FaultTiming::Random { mtbf, .. } => {
                    let measured = (span.to - span.from).as_secs_f64();
                    let processes = match fault.effect {
                        FaultEffect::Crash { service, group, replica: None }
                        | FaultEffect::Slowdown { service, group, replica: None, .. } => {
                            let spec = &self.services[service.index()];
                            f64::from(
                                group.map_or(spec.replicas, |g| spec.groups[g as usize].replicas),
                            )
                        }
                        _ => 1.0,
                    };
                    // Up for an exponential time of mean mtbf from the start.
                    let chance =
                        1.0 - (-(span.to.as_secs_f64()) * processes / mtbf.as_secs_f64()).exp();
                    if chance < NEVER {
                        out.push(Warning {
                            field: format!("faults[{i}].mtbf"),
                            message: format!(
                                "with a mean time between failures of {}, the fault happens within the run ({measured:.0} s measured) with a chance of {:.2}%: the run almost surely tests nothing",
                                span_text(mtbf),
                                chance * 100.0
                            ),
                        });
                    }
                }
            }
        }
    }

    fn class_warnings(&self, span: Span, out: &mut Vec<Warning>) {
        for class in &self.classes {
            let key = format!("classes.{}.arrival", class.name);
            match &class.source {
                ClassSource::Own(arrival) => arrival_warnings(&key, arrival, span, out),
                ClassSource::Weight(_) => {}
            }
        }
        if let Some(shared) = &self.shared_arrival {
            arrival_warnings("arrival", shared, span, out);
        }
    }

    /// A service whose offered load is above 1 from the start: the open arrivals' mean
    /// rate times the visits per job times the mean execution time, over the replicas it
    /// starts with times their slots. Agents that may add replicas are not counted: the
    /// warning says what the scenario alone asks for.
    fn load_warnings(&self, out: &mut Vec<Warning>) {
        let shared_weight = self.shared_weight();
        // (class rate key, jobs per second) of every open class.
        let rates: Vec<Option<(String, f64)>> =
            self.classes
                .iter()
                .map(|class| match &class.source {
                    ClassSource::Own(a) => mean_open_rate(a, self)
                        .map(|r| (format!("classes.{}.arrival", class.name), r)),
                    ClassSource::Weight(w) => self.shared_arrival.as_ref().and_then(|a| {
                        let r = mean_open_rate(a, self)? * w / shared_weight;
                        Some((format!("arrival (weight of class {})", class.name), r))
                    }),
                })
                .collect();
        for (i, service) in self.services.iter().enumerate() {
            let mut jobs_per_s = 0.0;
            let mut sources = Vec::new();
            for (class, rate) in self.classes.iter().zip(&rates) {
                let Some((key, rate)) = rate else { continue };
                let v = super::resources::visits(self, &self.workflows[class.workflow.index()]);
                if v[i] > 0.0 {
                    jobs_per_s += rate * v[i];
                    sources.push(key.clone());
                }
            }
            let work_s = service.mean_execution_secs();
            let slots = service.slots_per_replica_at_own_speed() * f64::from(service.replicas);
            let load = jobs_per_s * work_s / slots;
            if load <= 1.0 || !load.is_finite() {
                continue;
            }
            let over = if service.grouped {
                format!(
                    "the capacity of its groups ({:.4} work-seconds per second; services.{}.groups)",
                    service.capacity_per_s(),
                    service.name
                )
            } else {
                format!(
                    "{} replicas x {} slots (services.{}.replicas, .concurrency)",
                    service.replicas, service.concurrency, service.name
                )
            };
            let name = &service.name;
            let bare: Vec<&String> = self
                .bare_seconds
                .iter()
                .filter(|k| k.starts_with(&format!("services.{name}.")))
                .collect();
            let hint = match bare.as_slice() {
                [] => String::new(),
                keys => format!(
                    "; {} a bare number, which is seconds: write a unit (\"10ms\") for milliseconds",
                    keys.iter().map(|k| format!("`{k}` is")).collect::<Vec<_>>().join(" and ")
                ),
            };
            out.push(Warning {
                field: format!("services.{name}"),
                message: format!(
                    "offered load {load:.2} is above 1, so its queues grow for as long as it lasts (unless an agent adds replicas): {jobs_per_s:.4} requests/s (from {}) x {} mean work (services.{name}.service_time, .execution, .speed) over {over}{hint}",
                    sources.join(", "),
                    work_text(work_s),
                ),
            });
        }
    }

    fn service_warnings(&self, out: &mut Vec<Warning>) {
        let mut reached = vec![false; self.services.len()];
        fn reach(s: &Scenario, service: usize, reached: &mut [bool]) {
            if std::mem::replace(&mut reached[service], true) {
                return;
            }
            for stage in &s.services[service].calls {
                for callee in &stage.services {
                    reach(s, callee.index(), reached);
                }
            }
        }
        for class in &self.classes {
            for step in &self.workflows[class.workflow.index()].steps {
                reach(self, step.service.index(), &mut reached);
                if let Some(a) = &step.approval {
                    reach(self, a.service.index(), &mut reached);
                }
                if let Some(e) = step.escalate {
                    reach(self, e.index(), &mut reached);
                }
            }
        }
        for agent in &self.control.agents {
            if let super::AgentKind::Remediator(r) = &agent.kind {
                if let Some(e) = r.escalate {
                    reach(self, e.index(), &mut reached);
                }
            }
        }
        for (service, reached) in self.services.iter().zip(reached) {
            if !reached {
                out.push(Warning {
                    field: format!("services.{}", service.name),
                    message: "no class's workflow reaches this service (as a step, a call, an approval or an escalation): it never runs anything".into(),
                });
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Span {
    from: SimTime,
    to: SimTime,
}

/// An instant as seconds from the start, for messages.
fn secs(t: SimTime) -> String {
    format!("{:.3} s", (t - SimTime::ZERO).as_secs_f64())
}

/// A mean work in the unit a reader expects: "10 ms", "2.5 s".
fn work_text(secs: f64) -> String {
    let (value, unit) = if secs >= 1.0 { (secs, "s") } else { (secs * 1e3, "ms") };
    let text = format!("{value:.3}");
    format!("{} {unit}", text.trim_end_matches('0').trim_end_matches('.'))
}

fn span_text(d: SimDuration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn arrival_warnings(key: &str, arrival: &Arrival, span: Span, out: &mut Vec<Warning>) {
    let mut spike = 0;
    for shape in &arrival.shapes {
        if let RateShape::Spike { at, duration, factor } = *shape {
            let field = format!("{key}.spikes[{spike}]");
            spike += 1;
            if at >= span.to {
                out.push(Warning {
                    field,
                    message: format!(
                        "the spike starts at {}, when the run is over: it never happens",
                        secs(at)
                    ),
                });
            } else if at + duration <= span.from {
                out.push(Warning {
                    field,
                    message: format!(
                        "the spike is over at {}, within the warm-up: nothing it does is measured",
                        secs(at + duration)
                    ),
                });
            } else if factor == 1.0 {
                out.push(Warning { field, message: "a spike of factor 1 changes nothing".into() });
            }
        }
    }
    let never = match &arrival.process {
        Process::Trace { times, .. } => !times.iter().any(|&t| t >= span.from && t < span.to),
        _ => arrival.shapes.iter().any(|s| s.max() == 0.0),
    };
    if never {
        let what = match &arrival.process {
            Process::Trace { .. } => "no arrival of the trace falls in the measured span",
            _ => "a rate multiplier of 0 throughout: no job ever arrives",
        };
        out.push(Warning { field: key.to_owned(), message: what.into() });
    }
}

/// The long-run rate of an open arrival process in jobs per second, diurnal and spike
/// shapes left out (a diurnal shape averages to its base rate; a spike is brief); `None`
/// for a closed loop, whose users cannot overload a service for long.
fn mean_open_rate(arrival: &Arrival, s: &Scenario) -> Option<f64> {
    match &arrival.process {
        Process::Poisson { rate } | Process::Deterministic { rate } => Some(*rate),
        // The normal state's rate: a lower bound of the mean.
        Process::Mmpp { rate, .. } => Some(*rate),
        Process::Trace { times, .. } => Some(times.len() as f64 / s.duration.as_secs_f64()),
        Process::Closed { .. } => None,
    }
}
