//! Runs that pause: [`Simulation`], a run of the world driven in steps from outside (to a
//! time, then on), for the stepping engine of docs/model.md section 11. It runs the same
//! event loop as [`super::run`] (`Engine::run_until` in pieces), so pausing changes nothing:
//! a run stepped to any times and finished gives the same events, fingerprint and figures as
//! the run in one go. It also stops where a decision waits for the outside (an `external`
//! agent's, or a placement on a steered service: see `outside.rs`) until it is answered.

use super::outside::{ControlAsk, PlacementAsk};
use super::{conclude, estimate_regret, start, NoObserver, World};
use crate::control::Action;
use crate::engine::{Engine, SimRng};
use crate::ids::ServiceId;
use crate::metrics::{RunSummary, SoFar};
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
    /// The integral of jobs in the system over time so far, in job-seconds, and the time it
    /// was last brought up to.
    job_seconds: f64,
    then: SimTime,
}

/// A decision the run waits for (see [`Simulation::waiting`]).
#[derive(Clone, Copy, Debug)]
pub enum Waiting<'a> {
    /// An `external` agent's, named, at its period: answer with [`Simulation::act`].
    Control {
        /// The agent's name.
        agent: &'a str,
        /// What it sees.
        ask: &'a ControlAsk,
    },
    /// A placement on the steered service: answer with [`Simulation::place`].
    Placement(&'a PlacementAsk),
}

/// Runs `$body` with `$e` bound to the engine, whichever world type it runs.
macro_rules! engine {
    ($run:expr, $e:ident => $body:expr) => {
        match $run {
            Stepped::Plain($e) => $body,
            Stepped::Controlled($e) => $body,
        }
    };
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
        Simulation::steering(scenario, policy, replication, None)
    }

    /// [`Simulation::new`] with the placements on `steered` (if any) decided outside the
    /// engine, one at a time (see [`Simulation::place`]); the policy places the rest.
    pub fn steering(
        scenario: &'s Scenario,
        policy: PolicySpec,
        replication: u32,
        steered: Option<ServiceId>,
    ) -> Self {
        let build = |topology: &Topology, rng: SimRng| policy::build(policy, topology, rng);
        Simulation {
            spec: Some(policy),
            ..Simulation::build(scenario, build, replication, steered)
        }
    }

    /// Replication `replication` of `scenario` under a policy built by `build` (as
    /// [`super::run_with_policy`]: `regret` stays NaN).
    pub fn with_policy(
        scenario: &'s Scenario,
        build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
        replication: u32,
    ) -> Self {
        Simulation::build(scenario, build, replication, None)
    }

    fn build(
        scenario: &'s Scenario,
        build: impl FnOnce(&Topology, SimRng) -> Box<dyn Policy>,
        replication: u32,
        steered: Option<ServiceId>,
    ) -> Self {
        // The observer that sees nothing has no state: a reference to one lives for ever
        // without allocating.
        let observer: &'static mut NoObserver = Box::leak(Box::new(NoObserver));
        let run = if scenario.control.agents.is_empty() {
            let mut world =
                World::<_, false>::new(scenario, build, replication, observer, None, None);
            world.steer(steered);
            Stepped::Plain(start(world))
        } else {
            let mut world =
                World::<_, true>::new(scenario, build, replication, observer, None, None);
            world.steer(steered);
            Stepped::Controlled(start(world))
        };
        let end = SimTime::ZERO + scenario.duration;
        Simulation {
            scenario,
            run: Some(run),
            end,
            spec: None,
            replication,
            job_seconds: 0.0,
            then: SimTime::ZERO,
        }
    }

    /// The simulated time it stands at (the end, once summarised).
    pub fn now(&self) -> SimTime {
        self.run.as_ref().map_or(self.end, |run| engine!(run, e => e.stats().now))
    }

    /// The end of the run (the scenario's `duration`).
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Whether it has reached the end of the run.
    pub fn is_finished(&self) -> bool {
        self.now() >= self.end
    }

    /// Processes every event up to `time` (at most the end of the run) and stands there, or
    /// at the first decision before it that waits for the outside ([`Simulation::waiting`]);
    /// returns the time it stands at. A time already passed changes nothing. An external
    /// agent's decision left unanswered holds (no action); while a placement waits, the run
    /// stays where it is.
    pub fn run_until(&mut self, time: SimTime) -> SimTime {
        self.advance(time);
        self.now()
    }

    /// [`Simulation::run_until`], returning whether it stopped at a decision.
    fn advance(&mut self, time: SimTime) -> bool {
        let until = time.min(self.end);
        if self.waits_for_placement() {
            return true;
        }
        self.act(Vec::new());
        // Count from what is in the system now: an answer may have ended a job at this very
        // instant (a rejected placement fails it).
        let (mut area, mut jobs, mut then) = (self.job_seconds, self.jobs_in_system(), self.then);
        let mut stopped = false;
        if let Some(run) = &mut self.run {
            stopped = engine!(run, e => e.run_until_or(until, |at, world| {
                area += jobs as f64 * (at - then).as_secs_f64();
                (jobs, then) = (world.jobs_in_system(), at);
                world.outside.waiting()
            }));
            if !stopped && until > then {
                area += jobs as f64 * (until - then).as_secs_f64();
                then = until;
            }
        }
        (self.job_seconds, self.then) = (area, then);
        stopped
    }

    /// Runs to the next placement on the steered service, holding any external agent on
    /// the way; returns whether one waits (false: the run reached its end).
    pub fn run_to_placement(&mut self) -> bool {
        while self.advance(self.end) {
            if self.waits_for_placement() {
                return true;
            }
        }
        false
    }

    /// The decision the run waits for, if any.
    pub fn waiting(&self) -> Option<Waiting<'_>> {
        let run = self.run.as_ref()?;
        let outside = engine!(run, e => &e.model().outside);
        if let Some(ask) = &outside.control {
            let agent = self.scenario.control.agents[ask.agent as usize].name.as_str();
            return Some(Waiting::Control { agent, ask });
        }
        outside.placements.front().map(Waiting::Placement)
    }

    fn waits_for_placement(&self) -> bool {
        matches!(self.waiting(), Some(Waiting::Placement(_)))
    }

    /// Answers the external agent the run waits for with `actions`, carried out now as a
    /// driver's would be (scaling clamped to its bounds, nothing outside its services). Does
    /// nothing when no agent waits.
    pub fn act(&mut self, actions: Vec<Action>) {
        if let Some(run) = &mut self.run {
            engine!(run, e => {
                let (world, schedule) = e.parts();
                world.answer_control(actions, schedule);
            });
        }
    }

    /// Answers the placement the run waits for: the replica at index `choice` of its list,
    /// or a rejection (the task fails) for `None` or a replica that is not a candidate.
    /// Does nothing when no placement waits.
    pub fn place(&mut self, choice: Option<usize>) {
        if let Some(run) = &mut self.run {
            engine!(run, e => {
                let (world, schedule) = e.parts();
                world.answer_placement(choice, schedule);
            });
        }
    }

    /// The run's figures so far (from the end of the warm-up, as `runs.csv` counts them).
    pub fn so_far(&self) -> SoFar {
        let now = self.now();
        self.run
            .as_ref()
            .map_or_else(SoFar::default, |run| engine!(run, e => e.model().recorder.so_far(now)))
    }

    /// Replica-seconds so far per replica group (numbered service by service, in
    /// declaration order; a service without groups is one).
    pub fn replica_seconds_by_group(&self) -> Vec<f64> {
        let now = self.now();
        self.run.as_ref().map_or_else(
            Vec::new,
            |run| engine!(run, e => e.model().recorder.replica_seconds_by_group(now)),
        )
    }

    /// The integral of the number of jobs in the system over the run so far, in
    /// job-seconds (every job, warm-up included): the total time jobs spent in it.
    pub fn job_seconds(&self) -> f64 {
        self.job_seconds
    }

    /// Jobs in the system now.
    pub fn jobs_in_system(&self) -> usize {
        self.run.as_ref().map_or(0, |run| engine!(run, e => e.model().jobs_in_system()))
    }

    /// Runs it to the end and returns its figures: those of the same run in one go.
    pub fn finish(mut self) -> RunSummary {
        self.summarise().expect("a simulation is summarised once, by `finish` or `summarise`")
    }

    /// Runs it to the end and returns its figures, the first time; `None` after (its
    /// engine is then gone: it stands at the end).
    pub fn summarise(&mut self) -> Option<RunSummary> {
        while self.advance(self.end) {
            // A placement waits and nobody will answer it: it is rejected.
            self.place(None);
        }
        let mut output = engine!(self.run.take()?, engine => {
            let stats = engine.stats();
            conclude(engine, stats)
        });
        if let Some(spec) = self.spec {
            estimate_regret(self.scenario, spec, self.replication, &mut output);
        }
        Some(output.summary)
    }
}
