//! Identifiers shared by the scenario, the simulated world and the policies.
//!
//! All are dense indices (`u32` newtypes) into `Vec`s, so lookups are array accesses and
//! iteration order is the index order: never a hash map's.

use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            /// The index into the owning `Vec`.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id!(
    /// A service: index into `Scenario::services`.
    ServiceId, "service"
);
id!(
    /// A job class: index into `Scenario::classes`.
    ClassId, "class"
);
impl ClassId {
    /// The class of a job that carries a control agent's escalation to a person: it
    /// belongs to no class of the scenario and counts in no job figure.
    pub const ESCALATION: ClassId = ClassId(u32::MAX);
}

id!(
    /// A replica, numbered across all services: the replicas of one service are contiguous.
    ReplicaId, "replica"
);
id!(
    /// A front-end (orchestrator) agent that receives jobs and delegates their work.
    OrchestratorId, "orchestrator"
);
id!(
    /// Any agent, numbered densely: orchestrators first, then one worker agent per replica
    /// (in replica order), then the agents a policy adds.
    AgentId, "agent"
);
id!(
    /// A workflow: index into `Scenario::workflows`.
    WorkflowId, "workflow"
);
