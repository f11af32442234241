//! The validated types of the workload: workflows of steps (with human approval and
//! escalation), job classes, and their arrival processes and rate shapes.

use std::sync::Arc;

use super::Resilience;
use crate::dist::DurationDist;
use crate::ids::{ClassId, ServiceId, WorkflowId};
use crate::time::{SimDuration, SimTime};

/// A human review that may follow a step.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Approval {
    /// The human service that reviews.
    pub service: ServiceId,
    /// Probability that the step needs a review.
    pub probability: f64,
    /// Probability that a reviewer rejects (the job then fails).
    pub reject: f64,
}

/// A DAG of steps, each executed by one service.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Workflow {
    /// The key under `[workflows]` (or `<class>` for a class's single-step workflow).
    pub name: String,
    /// Steps in a topological order: every step comes after all of its predecessors.
    pub steps: Vec<Step>,
}

/// One step of a workflow.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Step {
    /// The step's name, unique in its workflow.
    pub name: String,
    /// The service that executes it.
    pub service: ServiceId,
    /// Indices (into [`Workflow::steps`]) of the steps that must complete first; all are
    /// smaller than this step's own index.
    pub after: Vec<usize>,
    /// The resolved resilience settings for this step.
    pub resilience: Resilience,
    /// A human review that may follow the step.
    pub approval: Option<Approval>,
    /// A human service that takes over when the step fails for good.
    pub escalate: Option<ServiceId>,
}

/// A kind of job: what it runs and how it arrives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobClass {
    /// The key under `[classes]`.
    pub name: String,
    /// The workflow a job of this class runs.
    pub workflow: WorkflowId,
    /// A job still unfinished this long after it arrived fails.
    pub deadline: Option<SimDuration>,
    /// Where its jobs come from.
    pub source: ClassSource,
}

/// Where a class's jobs come from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClassSource {
    /// Its own arrival process.
    Own(Arrival),
    /// A share of [`Scenario::shared_arrival`], proportional to this weight (> 0).
    Weight(f64),
}

/// An arrival process and the shapes that modulate its rate.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Arrival {
    /// The process.
    pub process: Process,
    /// Rate multipliers, combined by multiplication (open-loop processes only).
    pub shapes: Vec<RateShape>,
}

/// The kinds of arrival process.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Process {
    /// Open loop, exponential gaps, `rate` jobs per second.
    Poisson {
        /// Jobs per second.
        rate: f64,
    },
    /// Open loop, constant gaps of `1 / rate`.
    Deterministic {
        /// Jobs per second.
        rate: f64,
    },
    /// Open loop, two-state Markov-modulated Poisson: `rate` in the normal state and
    /// `burst_rate` in the burst state, with exponential sojourns of the given means.
    Mmpp {
        /// Jobs per second in the normal state.
        rate: f64,
        /// Jobs per second in the burst state.
        burst_rate: f64,
        /// Mean time in the normal state.
        normal_time: SimDuration,
        /// Mean time in the burst state.
        burst_time: SimDuration,
    },
    /// Replay of recorded arrival instants (sorted), optionally with the class of each.
    Trace {
        /// Arrival instants, non-decreasing.
        times: Arc<[SimTime]>,
        /// The class of each arrival, when the trace has a class column.
        classes: Option<Arc<[ClassId]>>,
    },
    /// Closed loop: `clients` users, each sending its next job a think time after its
    /// previous job ended.
    Closed {
        /// Number of users.
        clients: u32,
        /// Think time between a job's end and the same user's next job.
        think: DurationDist,
    },
}

/// A multiplier of an open-loop arrival rate over time.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RateShape {
    /// `factor` during `[at, at + duration)`, 1 elsewhere.
    Spike {
        /// Start.
        at: SimTime,
        /// Length.
        duration: SimDuration,
        /// Multiplier (>= 0).
        factor: f64,
    },
    /// `from` before `start`, linear to `to` at `end`, `to` after.
    Ramp {
        /// Start of the ramp.
        start: SimTime,
        /// End of the ramp.
        end: SimTime,
        /// Multiplier before the ramp.
        from: f64,
        /// Multiplier after the ramp.
        to: f64,
    },
    /// `1 + amplitude * cos(2 pi (t - peak) / period)`.
    Diurnal {
        /// Length of one cycle.
        period: SimDuration,
        /// In [0, 1].
        amplitude: f64,
        /// An instant of maximum rate.
        peak: SimTime,
    },
}

impl RateShape {
    /// The multiplier at `t`.
    pub fn at(&self, t: SimTime) -> f64 {
        match *self {
            RateShape::Spike { at, duration, factor } => {
                if t >= at && t < at + duration {
                    factor
                } else {
                    1.0
                }
            }
            RateShape::Ramp { start, end, from, to } => {
                if t <= start {
                    from
                } else if t >= end {
                    to
                } else {
                    let x = (t - start).as_secs_f64() / (end - start).as_secs_f64();
                    from + (to - from) * x
                }
            }
            RateShape::Diurnal { period, amplitude, peak } => {
                let phase = (t.as_secs_f64() - peak.as_secs_f64()) / period.as_secs_f64();
                1.0 + amplitude * (std::f64::consts::TAU * phase).cos()
            }
        }
    }

    /// An upper bound of the multiplier over all time.
    pub fn max(&self) -> f64 {
        match *self {
            RateShape::Spike { factor, .. } => factor.max(1.0),
            RateShape::Ramp { from, to, .. } => from.max(to),
            RateShape::Diurnal { amplitude, .. } => 1.0 + amplitude,
        }
    }
}
