//! Where jobs come from: one source per class with its own arrival process, plus one for the
//! shared top-level process whose jobs are split over classes by weight (or by a trace's
//! class column). Each source draws only from its own arrival stream.
//!
//! Open-loop rates modulated by spikes, ramps and diurnal cycles are sampled by thinning
//! (Lewis and Shedler): candidates at the bounding rate `rate * prod(max multiplier)`, each
//! kept with probability `rate(t) / bound`. Closed-loop sources schedule a user's next job a
//! think time after the user's previous job ended.

use std::sync::Arc;

use rand::Rng;
use rand_distr::{Distribution, Exp};

use super::StreamId;
use crate::dist::DurationDist;
use crate::engine::SimRng;
use crate::ids::ClassId;
use crate::scenario::{Arrival, ClassSource, Process, RateShape, Scenario};
use crate::time::{SimDuration, SimTime};

/// How a source picks the class of each job.
#[derive(Debug)]
enum ClassPick {
    Fixed(ClassId),
    /// Cumulative weights, one per class with a weight.
    Weighted(Vec<(f64, ClassId)>),
}

#[derive(Debug)]
enum Kind {
    /// `exp` draws candidate gaps at the bounding rate `rate * shape bound`.
    Poisson {
        rate: f64,
        exp: Option<Exp<f64>>,
    },
    Deterministic {
        rate: f64,
    },
    Mmpp {
        rates: [f64; 2],
        mean_times: [f64; 2],
        state: usize,
        state_end: SimTime,
    },
    Trace {
        times: Arc<[SimTime]>,
        classes: Option<Arc<[ClassId]>>,
        next: usize,
    },
    Closed {
        clients: u32,
        think: DurationDist,
    },
}

/// One arrival source.
#[derive(Debug)]
pub(super) struct Source {
    rng: SimRng,
    kind: Kind,
    shapes: Vec<RateShape>,
    /// Upper bound of the product of the shapes' multipliers.
    shape_bound: f64,
    pick: ClassPick,
    /// The end of the run: no arrival is generated past it (which also ends the search for
    /// one while a rate multiplier stays at zero).
    end: SimTime,
}

/// What the world should do to start a source.
pub(super) enum Start {
    /// Schedule the first open-loop arrival at this instant (none if `None`).
    At(Option<SimTime>),
    /// Schedule each of this many users' first job at the given instants.
    Clients(Vec<SimTime>),
}

impl Source {
    /// All sources of a scenario: the classes with their own process in class order, then
    /// the shared process if any.
    pub(super) fn all(scenario: &Scenario, replication: u32) -> Vec<Source> {
        let seed = scenario.seed;
        let end = SimTime::ZERO + scenario.duration;
        let mut sources = Vec::new();
        for (index, class) in scenario.classes.iter().enumerate() {
            if let ClassSource::Own(arrival) = &class.source {
                let rng = StreamId::Arrivals(index as u32).rng(seed, replication);
                sources.push(Source::new(
                    arrival,
                    rng,
                    ClassPick::Fixed(ClassId(index as u32)),
                    end,
                ));
            }
        }
        if let Some(arrival) = &scenario.shared_arrival {
            let mut total = 0.0;
            let mut cumulative = Vec::new();
            for (index, class) in scenario.classes.iter().enumerate() {
                if let ClassSource::Weight(w) = class.source {
                    total += w;
                    cumulative.push((total, ClassId(index as u32)));
                }
            }
            for entry in &mut cumulative {
                entry.0 /= total;
            }
            let rng = StreamId::Arrivals(scenario.classes.len() as u32).rng(seed, replication);
            sources.push(Source::new(arrival, rng, ClassPick::Weighted(cumulative), end));
        }
        sources
    }

    fn new(arrival: &Arrival, rng: SimRng, pick: ClassPick, end: SimTime) -> Source {
        let kind = match &arrival.process {
            Process::Poisson { rate } => {
                let bound: f64 = *rate * arrival.shapes.iter().map(RateShape::max).product::<f64>();
                Kind::Poisson {
                    rate: *rate,
                    exp: (bound > 0.0).then(|| Exp::new(bound).expect("a positive finite rate")),
                }
            }
            Process::Deterministic { rate } => Kind::Deterministic { rate: *rate },
            Process::Mmpp { rate, burst_rate, normal_time, burst_time } => Kind::Mmpp {
                rates: [*rate, *burst_rate],
                mean_times: [normal_time.as_secs_f64(), burst_time.as_secs_f64()],
                state: 0,
                state_end: SimTime::ZERO,
            },
            Process::Trace { times, classes } => {
                Kind::Trace { times: times.clone(), classes: classes.clone(), next: 0 }
            }
            Process::Closed { clients, think } => {
                Kind::Closed { clients: *clients, think: think.clone() }
            }
        };
        let shape_bound = arrival.shapes.iter().map(RateShape::max).product();
        Source { rng, kind, shapes: arrival.shapes.clone(), shape_bound, pick, end }
    }

    /// How to start this source at time zero.
    pub(super) fn start(&mut self) -> Start {
        if let Kind::Closed { clients, think } = &self.kind {
            let think = think.clone();
            let firsts =
                (0..*clients).map(|_| SimTime::ZERO + think.sample(&mut self.rng)).collect();
            return Start::Clients(firsts);
        }
        if let Kind::Mmpp { mean_times, state_end, .. } = &mut self.kind {
            *state_end = SimTime::ZERO + exp_secs(mean_times[0], &mut self.rng);
        }
        Start::At(self.next_open_arrival(SimTime::ZERO))
    }

    /// The class of a job arriving now; for a trace with classes, of the arrival just drawn.
    pub(super) fn pick_class(&mut self) -> ClassId {
        match (&self.kind, &self.pick) {
            (Kind::Trace { classes: Some(classes), next, .. }, _) => classes[next - 1],
            (_, ClassPick::Fixed(class)) => *class,
            (_, ClassPick::Weighted(cumulative)) => {
                let u: f64 = self.rng.random();
                cumulative
                    .iter()
                    .find(|(c, _)| u < *c)
                    .unwrap_or(cumulative.last().expect("a weighted class exists"))
                    .1
            }
        }
    }

    /// The next user think time (closed loop).
    pub(super) fn think(&mut self) -> SimDuration {
        match &self.kind {
            Kind::Closed { think, .. } => think.sample(&mut self.rng),
            _ => unreachable!("only closed-loop sources have users"),
        }
    }

    /// The open-loop arrival after one at `now`, if any.
    ///
    /// A Poisson process of constant rate, the commonest, is drawn here, inlined into the
    /// caller; the others go through a call.
    #[inline(always)]
    pub(super) fn next_open_arrival(&mut self, now: SimTime) -> Option<SimTime> {
        if let (Kind::Poisson { exp: Some(exp), .. }, []) = (&self.kind, self.shapes.as_slice()) {
            let t = now + SimDuration::from_secs_f64(exp.sample(&mut self.rng));
            return (t <= self.end).then_some(t);
        }
        self.next_shaped_arrival(now)
    }

    fn next_shaped_arrival(&mut self, now: SimTime) -> Option<SimTime> {
        let multiplier =
            |shapes: &[RateShape], t: SimTime| shapes.iter().map(|s| s.at(t)).product::<f64>();
        match &mut self.kind {
            Kind::Poisson { rate, exp } => {
                let exp = (*exp)?;
                let bound = *rate * self.shape_bound;
                let mut t = now;
                loop {
                    t += SimDuration::from_secs_f64(exp.sample(&mut self.rng));
                    if t > self.end {
                        return None;
                    }
                    if self.shapes.is_empty()
                        || self.rng.random::<f64>() * bound < *rate * multiplier(&self.shapes, t)
                    {
                        return Some(t);
                    }
                }
            }
            Kind::Deterministic { rate } => {
                // A gap of 1 / (rate * m(now)); while the multiplier is zero, look again one
                // base gap later.
                let mut t = now;
                loop {
                    if t > self.end {
                        return None;
                    }
                    let m = multiplier(&self.shapes, t);
                    if m > 0.0 {
                        return Some(t + SimDuration::from_secs_f64(1.0 / (*rate * m)));
                    }
                    t += SimDuration::from_secs_f64(1.0 / *rate);
                }
            }
            Kind::Mmpp { rates, mean_times, state, state_end } => {
                let bound = rates[0].max(rates[1]) * self.shape_bound;
                if bound <= 0.0 {
                    return None;
                }
                let exp = Exp::new(bound).expect("a positive finite rate");
                let mut t = now;
                loop {
                    t += SimDuration::from_secs_f64(exp.sample(&mut self.rng));
                    if t > self.end {
                        return None;
                    }
                    // Advance the modulating chain to the candidate's instant.
                    while *state_end <= t {
                        *state = 1 - *state;
                        *state_end += exp_secs(mean_times[*state], &mut self.rng);
                    }
                    let rate = rates[*state] * multiplier(&self.shapes, t);
                    if self.rng.random::<f64>() * bound < rate {
                        return Some(t);
                    }
                }
            }
            Kind::Trace { times, next, .. } => {
                let t = times.get(*next).copied();
                *next += 1;
                t
            }
            Kind::Closed { .. } => unreachable!("closed-loop sources have no open arrivals"),
        }
    }
}

fn exp_secs(mean: f64, rng: &mut SimRng) -> SimDuration {
    let u: f64 = rng.random();
    SimDuration::from_secs_f64(-mean * (1.0 - u).ln())
}
