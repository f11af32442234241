//! Tasks: what the requester of a unit remembers and decides while its attempts are out.
//! Results and timeouts arrive here; the resilience settings decide what follows (retry after
//! a backoff, within a retry budget; hedge; cancel the losers; give up), the breaker, the
//! outlier detector and the policy learn from every outcome, and the task's final outcome is
//! handed to its parent (a step of the job, or a calling attempt).

use super::control::tell_arms;
use super::event::Event;
use super::network::{Agent, Body};
use super::replicas::{Lost, Phase};
use super::timers::Timer;
use super::{layout, resilience};
use super::{Observer, World};
use crate::engine::Schedule;
use crate::ids::{AgentId, ReplicaId, ServiceId, WorkflowId};
use crate::metrics::{DupSource, Waste};
use crate::policy::{Outcome, PolicyView, Ticket};
use crate::scenario::{Hedge, Resilience};
use crate::time::{SimDuration, SimTime};

/// Who is waiting for a task's outcome.
#[derive(Clone, Copy, Debug)]
pub(super) enum Parent {
    /// An orchestrator, for this step of the job.
    Step(u32),
    /// An orchestrator, for the human review of this step.
    Review(u32),
    /// An orchestrator, for the human take-over of this failed step.
    Escalation(u32),
    /// A replica executing this attempt, which made the call.
    Call { attempt: usize, serial: u64 },
}

/// Why an attempt exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Original,
    Retry,
    Hedge,
    /// A retry of a task placed by auction: a new auction.
    Reauction,
    /// A further claim of a task already claimed elsewhere.
    Claim,
    /// Placed again because the requester suspected the replica of an earlier attempt,
    /// which was in fact down (failure detection that was right).
    Resent,
    /// Placed again on a suspicion that was wrong: the replica was up.
    FalselyResent,
}

impl Kind {
    pub(super) fn dup_source(self) -> DupSource {
        match self {
            Kind::Hedge => DupSource::Hedge,
            Kind::Reauction => DupSource::Reauction,
            Kind::Claim => DupSource::ConflictingClaim,
            Kind::FalselyResent => DupSource::FalseSuspicion,
            Kind::Original | Kind::Retry | Kind::Resent => DupSource::TimeoutRetry,
        }
    }
}

/// One unit of a job requested by one agent, tried by one or more attempts.
#[derive(Debug)]
pub(super) struct Task {
    pub(super) serial: u64,
    pub(super) job: usize,
    pub(super) job_serial: u64,
    pub(super) workflow: WorkflowId,
    pub(super) unit: u32,
    pub(super) parent: Parent,
    pub(super) requester: Agent,
    pub(super) first_placed: SimTime,
    /// Attempts whose requester is still waiting.
    pub(super) live: u32,
    /// Attempts not yet removed (either side still open).
    pub(super) open: u32,
    pub(super) retries: u32,
    pub(super) hedged: bool,
    pub(super) retry_pending: bool,
    /// `Some(true)` once an attempt succeeded, `Some(false)` once the task failed for good.
    pub(super) outcome: Option<bool>,
    pub(super) winner_kind: Option<Kind>,
    /// Service time of the original attempt, held until the task's outcome says whether it
    /// was useful.
    pub(super) held_original: Option<(SimDuration, Waste)>,
    /// Its attempts (key, serial), for cancelling losers.
    pub(super) attempts: Vec<(usize, u64)>,
    /// The ticket its deferred placement was committed under, when the policy may claim it
    /// again (see `Policy::needs_tasks`).
    pub(super) ticket: Option<Ticket>,
}

impl<'s, 'o, O: Observer, const C: bool> World<'s, 'o, O, C> {
    /// The index of what a calling agent remembers about a destination service (its
    /// breaker, its retry budget): one per agent and service.
    pub(super) fn caller_slot(&self, agent: AgentId, service: ServiceId) -> usize {
        agent.index() * self.scenario.services.len() + service.index()
    }

    pub(super) fn unit_resilience(&self, task: &Task) -> &Resilience {
        &self.layout.workflows[task.workflow.index()].units[task.unit as usize].resilience
    }

    pub(super) fn unit_rules(&self, task: &Task) -> layout::Rules {
        self.layout.workflows[task.workflow.index()].units[task.unit as usize].rules
    }

    pub(super) fn unit_service(&self, task: &Task) -> ServiceId {
        self.layout.workflows[task.workflow.index()].units[task.unit as usize].service
    }

    pub(super) fn task_by(&self, key: usize, serial: u64) -> Option<&Task> {
        self.tasks.get(key).filter(|t| t.serial == serial)
    }

    /// Whether nobody needs a task's outcome any more: its job ended, or the calling
    /// attempt it answers to was cancelled, killed or finished meanwhile.
    pub(super) fn orphaned(&self, t: &Task) -> bool {
        !self.job_alive(t.job, t.job_serial)
            || match t.parent {
                Parent::Call { attempt, serial } => {
                    self.attempt(attempt, serial).is_none_or(|a| a.phase != Phase::Calling)
                }
                _ => false,
            }
    }

    /// A result reached the requester of an attempt.
    #[inline(always)]
    pub(super) fn on_result(
        &mut self,
        attempt: usize,
        serial: u64,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let Some(a) = self.attempt(attempt, serial) else { return };
        if !a.requester_open {
            // It timed out earlier: the requester has moved on.
            self.remove_attempt_if_done(attempt, now);
            return;
        }
        let (replica, latency) = (a.replica, now - a.placed);
        let Some(task) = a.task else {
            let (parent, job, job_serial, requester, placed) =
                (a.parent, a.job, a.job_serial, a.requester, a.placed);
            // Its service time goes to its job with the result (`resolve` finds the job
            // anyway), unless a crash lost it: then the removal accounts it as wasted.
            let lost = a.lost == Lost::Crash;
            let (used, kept) = if lost {
                (SimDuration::ZERO, a.executed)
            } else {
                (a.executed, SimDuration::ZERO)
            };
            let a = &mut self.attempts[attempt];
            a.requester_open = false;
            a.executed = kept;
            if self.policy_wants_outcomes {
                let agent = self.agent_id(requester);
                let view = PolicyView::new(now, &self.members, &self.loads);
                let outcome = Outcome { agent, replica, succeeded, latency };
                self.policy.on_outcome(&view, &outcome);
                let service = self.layout.replica_service[replica.index()];
                if C {
                    tell_arms(&mut self.routes, service, &view, &outcome);
                }
            }
            self.remove_attempt_if_done(attempt, now);
            self.resolve_with(parent, (job, job_serial), placed, succeeded, used, schedule);
            return;
        };
        self.attempts[attempt].requester_open = false;
        if !succeeded {
            self.attempts[attempt].lost.set(Lost::Failed);
        }
        self.tasks[task].live -= 1;
        self.record_outcome(task, replica, succeeded, latency, now);
        if succeeded && self.tasks[task].outcome.is_none() {
            self.task_succeeded(task, attempt, schedule);
        } else if !succeeded {
            self.attempt_failed(task, schedule);
        }
        self.remove_attempt_if_done(attempt, now);
    }

    pub(super) fn on_attempt_timed_out(
        &mut self,
        attempt: usize,
        serial: u64,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let Some(a) = self.attempts.get(attempt).filter(|a| a.serial == serial && a.requester_open)
        else {
            return;
        };
        let task = a.task.expect("only units with a task have timeouts");
        let (replica, phase) = (a.replica, a.phase);
        if phase != Phase::Closed {
            // The service has not ended it yet: it ends there now, as a failure.
            let service = self.layout.replica_service[replica.index()];
            self.request_ended(now, service, false, now - a.placed);
        }
        self.attempts[attempt].requester_open = false;
        self.attempts[attempt].lost.set(Lost::Timeout);
        self.tasks[task].live -= 1;
        let timeout = now - self.attempts[attempt].placed;
        self.record_outcome(task, replica, false, timeout, now);
        if self.unit_rules(&self.tasks[task]).cancel && phase != Phase::Closed {
            let requester = self.tasks[task].requester;
            self.send(
                requester,
                Agent::Replica(replica),
                Body::Cancel { attempt, serial },
                schedule,
            );
        }
        self.attempt_failed(task, schedule);
        if self.attempts.contains(attempt) {
            self.remove_attempt_if_done(attempt, now);
        }
    }

    /// What the requester learns from an attempt's outcome: the policy, its breaker, its
    /// outlier detector and the latency it observes.
    pub(super) fn record_outcome(
        &mut self,
        task: usize,
        replica: ReplicaId,
        succeeded: bool,
        latency: SimDuration,
        now: SimTime,
    ) {
        let t = &self.tasks[task];
        let agent = self.agent_id(t.requester);
        let service = self.unit_service(t);
        let rules = self.unit_rules(t);
        let unit = &self.layout.workflows[t.workflow.index()].units[t.unit as usize];
        let outcome = Outcome { agent, replica, succeeded, latency };
        let view = PolicyView::new(now, &self.members, &self.loads);
        self.policy.on_outcome(&view, &outcome);
        if C {
            tell_arms(&mut self.routes, service, &view, &outcome);
        }
        if rules.plain {
            return;
        }
        if let Some(breaker) = &unit.resilience.circuit_breaker {
            let slot = self.caller_slot(agent, service);
            self.breakers[slot].record(now, succeeded, breaker);
        }
        if let Some(ejection) = &unit.resilience.outlier_ejection {
            let peers = self.layout.service_replicas[service.index()].clone();
            self.ejections.record((agent.0, replica.0), peers, succeeded, latency, now, ejection);
        }
        if succeeded && matches!(rules.hedge, Some(Hedge::Quantile(_))) {
            self.latencies[service.index()].push(latency);
        }
    }

    /// An attempt of the task failed (refused, timed out, or answered with a failure).
    pub(super) fn attempt_failed(&mut self, task: usize, schedule: &mut Schedule<Event>) {
        let t = &self.tasks[task];
        if t.outcome.is_some() || t.live > 0 || t.retry_pending {
            // Decided already, or another attempt (a hedge) may still succeed.
            return;
        }
        if t.retries < self.unit_rules(t).max_retries {
            let retries = &self.unit_resilience(t).retries;
            let (budget, backoff, jitter) = (retries.budget, retries.backoff, retries.jitter);
            let slot = self.caller_slot(self.agent_id(t.requester), self.unit_service(t));
            let allowed = budget.is_none() || self.budgets[slot].withdraw();
            if allowed {
                let t = &mut self.tasks[task];
                t.retries += 1;
                t.retry_pending = true;
                let wait =
                    resilience::backoff(backoff, jitter, t.retries, &mut self.resilience_rng);
                let timer = Timer::Retry { task, serial: t.serial };
                self.set_timer(wait, timer, schedule);
                return;
            }
        }
        self.task_failed(task, schedule);
    }

    pub(super) fn on_retry_due(
        &mut self,
        task: usize,
        serial: u64,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(t) = self.task_by(task, serial) else { return };
        let orphan = self.orphaned(t);
        self.tasks[task].retry_pending = false;
        if self.tasks[task].outcome.is_some() {
            return;
        }
        if orphan {
            // The job ended meanwhile: nobody needs this work any more.
            self.task_failed(task, schedule);
        } else {
            let kind = if self.reauctions { Kind::Reauction } else { Kind::Retry };
            self.place_attempt(task, kind, schedule);
        }
    }

    pub(super) fn on_hedge_due(
        &mut self,
        task: usize,
        serial: u64,
        schedule: &mut Schedule<Event>,
    ) {
        let Some(t) = self.task_by(task, serial) else { return };
        if t.outcome.is_none() && t.live == 1 && !t.hedged && !t.retry_pending && !self.orphaned(t)
        {
            self.tasks[task].hedged = true;
            self.place_attempt(task, Kind::Hedge, schedule);
        }
    }

    /// The task succeeded through `attempt`: cancel the losers and tell the parent.
    pub(super) fn task_succeeded(
        &mut self,
        task: usize,
        attempt: usize,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let a = &self.attempts[attempt];
        let (kind, executed, job, job_serial) = (a.kind, a.executed, a.job, a.job_serial);
        // Its result is used: credited to the job now (the job may end before the attempt
        // is accounted), or wasted if the job has already failed.
        let used = self.credit_job(executed, job, job_serial);
        let a = &mut self.attempts[attempt];
        a.winner = true;
        a.lost = if used { Lost::Used } else { Lost::Failed };
        let t = &mut self.tasks[task];
        t.outcome = Some(true);
        t.winner_kind = Some(kind);
        if let Some((held, waste)) = t.held_original.take() {
            self.recorder.execution(now, held, Some(kind.dup_source()), Some(waste));
        }
        if self.unit_rules(&self.tasks[task]).cancel {
            self.cancel_losers(task, attempt, schedule);
        }
        self.notify_parent(task, true, schedule);
    }

    /// The task failed for good.
    pub(super) fn task_failed(&mut self, task: usize, schedule: &mut Schedule<Event>) {
        let t = &mut self.tasks[task];
        t.outcome = Some(false);
        if let Some((held, waste)) = t.held_original.take() {
            // No result was used: the original execution is the one the request needed
            // (not a duplicate), and it was wasted.
            self.recorder.execution(schedule.now(), held, None, Some(waste));
        }
        self.notify_parent(task, false, schedule);
    }

    /// The task is decided: the caller stops waiting for its other attempts and, with
    /// `cancel`, tells their replicas to stop.
    pub(super) fn cancel_losers(
        &mut self,
        task: usize,
        winner: usize,
        schedule: &mut Schedule<Event>,
    ) {
        let now = schedule.now();
        let list = std::mem::take(&mut self.tasks[task].attempts);
        for &(key, serial) in &list {
            if key == winner {
                continue;
            }
            let Some(a) = self.attempt(key, serial) else { continue };
            let (replica, phase, open, placed) = (a.replica, a.phase, a.requester_open, a.placed);
            if open {
                // The caller is done with it: no result will be waited for, and no verdict
                // (breaker, ejection) is drawn from an attempt it cancelled itself.
                self.attempts[key].requester_open = false;
                self.tasks[task].live -= 1;
                if self.policy_wants_outcomes {
                    let agent = self.agent_id(self.tasks[task].requester);
                    let view = PolicyView::new(now, &self.members, &self.loads);
                    let outcome =
                        Outcome { agent, replica, succeeded: false, latency: now - placed };
                    self.policy.on_outcome(&view, &outcome);
                    let service = self.layout.replica_service[replica.index()];
                    if C {
                        tell_arms(&mut self.routes, service, &view, &outcome);
                    }
                }
            }
            if phase == Phase::Closed {
                self.remove_attempt_if_done(key, now);
            } else {
                let requester = self.tasks[task].requester;
                self.send(
                    requester,
                    Agent::Replica(replica),
                    Body::Cancel { attempt: key, serial },
                    schedule,
                );
            }
        }
        if let Some(t) = self.tasks.get_mut(task) {
            t.attempts = list;
        }
    }

    pub(super) fn notify_parent(
        &mut self,
        task: usize,
        succeeded: bool,
        schedule: &mut Schedule<Event>,
    ) {
        let t = &self.tasks[task];
        let (parent, job, job_serial, first_placed) =
            (t.parent, t.job, t.job_serial, t.first_placed);
        self.remove_task_if_done(task);
        self.resolve(parent, job, job_serial, first_placed, succeeded, schedule);
    }

    pub(super) fn remove_task_if_done(&mut self, task: usize) {
        let t = &self.tasks[task];
        if t.outcome.is_some() && t.open == 0 && !t.retry_pending {
            let mut t = self.tasks.remove(task);
            if let Some(ticket) = t.ticket {
                self.claimed.remove(&ticket);
            }
            t.attempts.clear();
            self.spare_attempt_lists.push(t.attempts);
        }
    }
}
