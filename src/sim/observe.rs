//! Observation hooks: a read-only window on the world's mechanics, for the property tests'
//! invariant checks, the execution trace (`trace.rs`) and the sweep's latency series.
//!
//! Every method has an empty default, and runs that need no observation use [`NoObserver`],
//! which the compiler removes entirely (the world is generic over its observer).

use crate::ids::{ClassId, ReplicaId, ServiceId};
use crate::policy::ReplicaLoad;
use crate::scenario::FaultEffect;
use crate::time::{SimDuration, SimTime};

/// Receives a call for each mechanical step of a run.
pub trait Observer {
    /// Whether the world should compute observation-only arguments at all; `false` lets a
    /// run without observation skip that work entirely.
    const ACTIVE: bool = true;

    /// An attempt started executing on `replica`, straight away or (`from_queue`) after
    /// waiting in its queue; `load` is the replica's load afterwards.
    fn attempt_started(
        &mut self,
        _at: SimTime,
        _replica: ReplicaId,
        _load: ReplicaLoad,
        _from_queue: bool,
    ) {
    }

    /// An attempt joined `replica`'s queue; `load` is afterwards, `capacity` the queue bound.
    fn attempt_queued(
        &mut self,
        _at: SimTime,
        _replica: ReplicaId,
        _load: ReplicaLoad,
        _capacity: u32,
    ) {
    }

    /// A queued attempt left `replica`'s queue without starting (cancelled, dropped as
    /// expired, or lost in a crash).
    fn attempt_unqueued(&mut self, _at: SimTime, _replica: ReplicaId) {}

    /// An attempt was refused by `replica` because its queue was full.
    fn attempt_rejected(&mut self, _at: SimTime, _replica: ReplicaId) {}

    /// An attempt left its slot on `replica` (finished, cancelled, or killed by a crash);
    /// `load` is afterwards.
    fn attempt_finished(&mut self, _at: SimTime, _replica: ReplicaId, _load: ReplicaLoad) {}

    /// A message sent at `sent` was delivered at `at`; no draw of the network's latency
    /// distribution is below `min_latency`.
    fn message_delivered(
        &mut self,
        _sent: SimTime,
        _at: SimTime,
        _min_latency: crate::time::SimDuration,
    ) {
    }

    /// A message was lost in the network.
    fn message_lost(&mut self, _at: SimTime) {}

    /// A job of `class` arrived (whether or not it falls in the measured span).
    fn job_arrived(&mut self, _at: SimTime, _class: ClassId) {}

    /// A job ended, completed or failed.
    fn job_ended(&mut self, _at: SimTime, _completed: bool) {}

    /// A job completed at `at` after `latency` (arrival to completion), whether or not it
    /// arrived in the measured span (it did when `at - latency` is past the warm-up).
    fn job_completed_latency(&mut self, _at: SimTime, _latency: crate::time::SimDuration) {}

    /// A replica crashed (`down`) or came back.
    fn replica_crashed(&mut self, _at: SimTime, _replica: ReplicaId, _down: bool) {}

    /// An execution ended on `replica` (finished, cancelled, or killed by a crash) having
    /// used `executed` service time since it started at `started`.
    fn execution_ended(
        &mut self,
        _at: SimTime,
        _replica: ReplicaId,
        _started: SimTime,
        _executed: crate::time::SimDuration,
    ) {
    }

    /// A job entered the system: `job` is its serial number (unique in the run), placed
    /// with `orchestrator`. Jobs refused at the entry never enter.
    fn job_entered(&mut self, _at: SimTime, _job: u64, _class: ClassId, _orchestrator: u32) {}

    /// A job in the system ended, `completed` or failed, `latency` after it arrived;
    /// `measured` says whether it arrived after the warm-up (and so counts in the figures).
    fn job_left(
        &mut self,
        _at: SimTime,
        _job: u64,
        _completed: bool,
        _latency: SimDuration,
        _measured: bool,
    ) {
    }

    /// An execution began on `replica`: attempt `attempt` (its serial number, unique in the
    /// run) of a unit of job `job` on `service`, placed at `placed` by the job's orchestrator
    /// (`caller` None) or by the executing attempt `caller` (a call).
    #[allow(clippy::too_many_arguments)]
    fn execution_began(
        &mut self,
        _at: SimTime,
        _replica: ReplicaId,
        _service: ServiceId,
        _attempt: u64,
        _job: u64,
        _placed: SimTime,
        _caller: Option<u64>,
    ) {
    }

    /// The execution of attempt `attempt` on `replica` is over (finished, cancelled or
    /// killed), whether or not it succeeded.
    fn execution_closed(&mut self, _at: SimTime, _replica: ReplicaId, _attempt: u64) {}

    /// Fault instance `index` (in timeline order) started (`started`) or ended.
    fn fault_changed(&mut self, _at: SimTime, _index: u32, _effect: &FaultEffect, _started: bool) {}

    /// A control agent acted (`what` names the agent, the action and its target).
    fn control_acted(&mut self, _at: SimTime, _what: &str) {}

    /// `service` now has `provisioned` replicas (serving or being provisioned: the count
    /// control agents scale), after a control action changed it.
    fn replicas_provisioned(&mut self, _at: SimTime, _service: ServiceId, _provisioned: u32) {}

    /// A replica stopped taking new work to drain what it holds.
    fn replica_draining(&mut self, _at: SimTime, _replica: ReplicaId) {}

    /// A replica is gone (`drained`: it finished what it held; otherwise it was killed or
    /// removed while being provisioned), holding `load` at that moment.
    fn replica_gone(
        &mut self,
        _at: SimTime,
        _replica: ReplicaId,
        _load: ReplicaLoad,
        _drained: bool,
    ) {
    }

    /// The run stopped at `at` with these replica loads (indexed by replica) and this many
    /// jobs (measured or not) still in the system.
    fn run_ended(&mut self, _at: SimTime, _loads: &[ReplicaLoad], _jobs_in_system: usize) {}
}

/// Observes nothing, at no cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    const ACTIVE: bool = false;
}
