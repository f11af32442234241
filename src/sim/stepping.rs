//! Runs that pause: [`Simulation`], a run of the world driven in steps from outside (to a
//! time, then on), for the stepping engine of docs/model.md section 11. It runs the same
//! event loop as [`super::run`] (`Engine::run_until` in pieces), so pausing changes nothing:
//! a run stepped to any times and finished gives the same events, fingerprint and figures as
//! the run in one go.

use super::{conclude, estimate_regret, start, NoObserver, World};
use crate::engine::{Engine, SimRng};
use crate::metrics::RunSummary;
use crate::policy::{self, Policy, PolicySpec, Topology};
use crate::scenario::Scenario;
use crate::time::SimTime;

/// One replication of a scenario, run in steps. Built, it stands at time 0 with its first
/// events seeded; [`Simulation::run_until`] moves it on; [`Simulation::finish`] runs it to
/// the scenario's end and summarises it.
pub struct Simulation<'s> {
    scenario: &'s Scenario,
    /// The engine, until the run is summarised.
    run: Option<Stepped<'s>>,
    end: SimTime,
    /// The built-in policy it runs, for the counterfactual runs behind `regret`.
    spec: Option<PolicySpec>,
    replication: u32,
}

/// The engine of a world without control agents or with them (two types: see `World`).
impl std::fmt::Debug for Simulation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("scenario", &self.scenario.name)
            .field("replication", &self.replication)
            .field("now", &self.now())
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

enum Stepped<'s> {
    Plain(Engine<World<'s, 'static, NoObserver, false>>),
    Controlled(Engine<World<'s, 'static, NoObserver, true>>),
}

impl<'s> Simulation<'s> {
    /// Replication `replication` of `scenario` under the built-in `policy`.
    pub fn new(scenario: &'s Scenario, policy: PolicySpec, replication: u32) -> Self {
        let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
        Simulation { spec: Some(policy), ..Simulation::with_policy(scenario, build, replication) }
    }

    /// Replication `replication` of `scenario` under a policy built by `build` (as
    /// [`super::run_with_policy`]: `regret` stays NaN).
    pub fn with_policy(
        scenario: &'s Scenario,
        build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
        replication: u32,
    ) -> Self {
        // The observer that sees nothing has no state: a reference to one lives for ever
        // without allocating.
        let observer: &'static mut NoObserver = Box::leak(Box::new(NoObserver));
        let run = if scenario.control.agents.is_empty() {
            let world = World::<_, false>::new(scenario, build, replication, observer, None, None);
            Stepped::Plain(start(world))
        } else {
            let world = World::<_, true>::new(scenario, build, replication, observer, None, None);
            Stepped::Controlled(start(world))
        };
        let end = SimTime::ZERO + scenario.duration;
        Simulation { scenario, run: Some(run), end, spec: None, replication }
    }

    /// The simulated time it stands at (the end, once summarised).
    pub fn now(&self) -> SimTime {
        match &self.run {
            Some(Stepped::Plain(engine)) => engine.stats().now,
            Some(Stepped::Controlled(engine)) => engine.stats().now,
            None => self.end,
        }
    }

    /// The end of the run (the scenario's `duration`).
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Whether it has reached the end of the run.
    pub fn is_finished(&self) -> bool {
        self.now() >= self.end
    }

    /// Processes every event up to `time` (at most the end of the run) and stands there;
    /// returns the time it stands at. A time already passed changes nothing.
    pub fn run_until(&mut self, time: SimTime) -> SimTime {
        let until = time.min(self.end);
        if until > self.now() {
            match &mut self.run {
                Some(Stepped::Plain(engine)) => engine.run_until(until),
                Some(Stepped::Controlled(engine)) => engine.run_until(until),
                None => unreachable!("a summarised run stands at its end"),
            };
        }
        self.now()
    }

    /// Runs it to the end and returns its figures: those of the same run in one go.
    pub fn finish(mut self) -> RunSummary {
        self.summarise().expect("a simulation is summarised once, by `finish` or `summarise`")
    }

    /// Runs it to the end and returns its figures, the first time; `None` after (its
    /// engine is then gone: it stands at the end).
    pub fn summarise(&mut self) -> Option<RunSummary> {
        self.run_until(self.end);
        let mut output = match self.run.take()? {
            Stepped::Plain(engine) => {
                let stats = engine.stats();
                conclude(engine, stats)
            }
            Stepped::Controlled(engine) => {
                let stats = engine.stats();
                conclude(engine, stats)
            }
        };
        if let Some(spec) = self.spec {
            estimate_regret(self.scenario, spec, self.replication, &mut output);
        }
        Some(output.summary)
    }
}
