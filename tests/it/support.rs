//! Helpers shared by the integration tests: scenario builders, the invariant-checking
//! observer and the proptest strategy for small random scenarios.

use std::fmt;

use coordsim::ids::{ClassId, ReplicaId, ServiceId};
use coordsim::metrics::RunSummary;
use coordsim::policy::{PolicySpec, ReplicaLoad};
use coordsim::scenario::{self, Scenario};
use coordsim::sim::{self, Observer};
use coordsim::time::{SimDuration, SimTime};
use proptest::prelude::*;

/// Parses a scenario written in a test, panicking with the error if it is invalid.
pub fn scenario(toml: &str) -> Scenario {
    scenario::from_toml_str(toml, "test", &[]).unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

/// Erlang C: probability that an arriving job waits in an M/M/c queue with offered load
/// `a = lambda / mu` (requires a < c).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    // sum_{k<c} a^k/k! and a^c/c!, built incrementally to avoid factorial overflow.
    let mut term = 1.0;
    let mut below = 1.0;
    for k in 1..c {
        term *= a / f64::from(k);
        below += term;
    }
    let top = term * a / f64::from(c) * f64::from(c) / (f64::from(c) - a);
    top / (below + top)
}

/// An M/M/c scenario: one replica with `c` slots, exponential service with mean `mean_s`,
/// Poisson arrivals at load `rho`, zero network latency, `queue_capacity` (None: unbounded).
pub fn mmc_toml(
    c: u32,
    rho: f64,
    mean_s: f64,
    customers: f64,
    queue_capacity: Option<u32>,
) -> String {
    let rate = rho * f64::from(c) / mean_s;
    let duration = customers / rate;
    let capacity = queue_capacity.map(|q| format!("queue_capacity = {q}\n")).unwrap_or_default();
    format!(
        r#"
        duration = {duration}
        warmup = {warmup}
        policies = ["random"]
        [services.server]
        replicas = 1
        concurrency = {c}
        {capacity}
        service_time = {{ dist = "exponential", mean = {mean_s} }}
        [classes.request]
        service = "server"
        arrival = {{ process = "poisson", rate = {rate} }}
        "#,
        warmup = duration * 0.02,
    )
}

/// Checks docs/model.md section 9 invariants 1-3 as the run goes, and counts what happened.
#[derive(Debug, Default)]
pub struct Checker {
    pub violations: Vec<String>,
    last_time: SimTime,
    pub started: u64,
    pub started_from_queue: u64,
    pub unqueued: u64,
    pub finished: u64,
    pub queued: u64,
    pub rejected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub jobs_arrived: u64,
    pub jobs_ended: u64,
    pub running_at_end: u64,
    pub queued_at_end: u64,
    pub jobs_at_end: u64,
    pub arrivals_by_class: Vec<u64>,
    /// Replicas currently down, by index.
    pub down: Vec<bool>,
    /// Completed jobs by second of simulated time.
    pub completions_by_second: Vec<u64>,
    /// Service time observed through `execution_ended`, all and after `measure_from`.
    pub executed_s: f64,
    /// Each change of a service's provisioned replicas: (service, count).
    pub replica_counts: Vec<(u32, u32)>,
    /// Replicas draining now, by index.
    pub draining: Vec<bool>,
}

impl Checker {
    fn tick(&mut self, at: SimTime, what: &str) {
        if at < self.last_time {
            self.violations
                .push(format!("{what} at {at} after {}: time went backwards", self.last_time));
        }
        self.last_time = at;
    }
}

impl Observer for Checker {
    fn attempt_started(
        &mut self,
        at: SimTime,
        replica: ReplicaId,
        load: ReplicaLoad,
        from_queue: bool,
    ) {
        self.tick(at, "start");
        self.started += 1;
        self.started_from_queue += u64::from(from_queue);
        if !from_queue && self.draining.get(replica.index()).copied().unwrap_or(false) {
            self.violations.push(format!("{replica} took new work while draining at {at}"));
        }
        if load.running > load.slots {
            self.violations
                .push(format!("{replica} runs {} > {} slots at {at}", load.running, load.slots));
        }
    }
    fn attempt_queued(
        &mut self,
        at: SimTime,
        replica: ReplicaId,
        load: ReplicaLoad,
        capacity: u32,
    ) {
        self.tick(at, "queue");
        self.queued += 1;
        if load.queued > capacity {
            self.violations
                .push(format!("{replica} queues {} > capacity {capacity} at {at}", load.queued));
        }
        if load.running < load.slots {
            self.violations.push(format!("{replica} queued work while a slot was free at {at}"));
        }
    }
    fn attempt_unqueued(&mut self, at: SimTime, _replica: ReplicaId) {
        self.tick(at, "unqueue");
        self.unqueued += 1;
    }
    fn attempt_rejected(&mut self, at: SimTime, _replica: ReplicaId) {
        self.tick(at, "reject");
        self.rejected += 1;
    }
    fn attempt_finished(&mut self, at: SimTime, _replica: ReplicaId, _load: ReplicaLoad) {
        self.tick(at, "finish");
        self.finished += 1;
    }
    fn message_delivered(&mut self, sent: SimTime, at: SimTime, min_latency: SimDuration) {
        self.tick(at, "delivery");
        self.delivered += 1;
        if at < sent + min_latency {
            self.violations.push(format!(
                "message sent at {sent} delivered at {at}, before the minimum latency"
            ));
        }
    }
    fn message_lost(&mut self, at: SimTime) {
        self.tick(at, "loss");
        self.lost += 1;
    }
    fn job_arrived(&mut self, at: SimTime, class: ClassId) {
        self.tick(at, "arrival");
        self.jobs_arrived += 1;
        if self.arrivals_by_class.len() <= class.index() {
            self.arrivals_by_class.resize(class.index() + 1, 0);
        }
        self.arrivals_by_class[class.index()] += 1;
    }
    fn job_ended(&mut self, at: SimTime, completed: bool) {
        self.tick(at, "job end");
        self.jobs_ended += 1;
        if completed {
            let second = (at.as_nanos() / 1_000_000_000) as usize;
            if self.completions_by_second.len() <= second {
                self.completions_by_second.resize(second + 1, 0);
            }
            self.completions_by_second[second] += 1;
        }
    }
    fn replica_crashed(&mut self, at: SimTime, replica: ReplicaId, down: bool) {
        self.tick(at, "crash");
        if self.down.len() <= replica.index() {
            self.down.resize(replica.index() + 1, false);
        }
        self.down[replica.index()] = down;
    }
    fn execution_ended(
        &mut self,
        at: SimTime,
        replica: ReplicaId,
        started: SimTime,
        executed: SimDuration,
    ) {
        self.tick(at, "execution end");
        if started + executed > at {
            self.violations
                .push(format!("{replica} executed {executed} from {started} but stopped at {at}"));
        }
        self.executed_s += executed.as_secs_f64();
    }
    fn replicas_provisioned(&mut self, at: SimTime, service: ServiceId, provisioned: u32) {
        self.tick(at, "scaling");
        self.replica_counts.push((service.0, provisioned));
    }
    fn replica_draining(&mut self, at: SimTime, replica: ReplicaId) {
        self.tick(at, "drain");
        if self.draining.len() <= replica.index() {
            self.draining.resize(replica.index() + 1, false);
        }
        self.draining[replica.index()] = true;
    }
    fn replica_gone(&mut self, at: SimTime, replica: ReplicaId, load: ReplicaLoad, drained: bool) {
        self.tick(at, "gone");
        if drained && load.outstanding() > 0 {
            self.violations.push(format!(
                "{replica} left after draining with {} requests still held at {at}",
                load.outstanding()
            ));
        }
        if let Some(d) = self.draining.get_mut(replica.index()) {
            *d = false;
        }
    }
    fn run_ended(&mut self, at: SimTime, loads: &[ReplicaLoad], jobs_in_system: usize) {
        self.tick(at, "end");
        self.running_at_end = loads.iter().map(|l| u64::from(l.running)).sum();
        self.queued_at_end = loads.iter().map(|l| u64::from(l.queued)).sum();
        self.jobs_at_end = jobs_in_system as u64;
    }
}

/// Runs one replication with the checker attached.
pub fn run_checked(
    scenario: &Scenario,
    policy: PolicySpec,
    replication: u32,
) -> (RunSummary, Checker) {
    let mut checker = Checker::default();
    let summary = sim::run_observed(scenario, policy, replication, &mut checker);
    (summary, checker)
}

/// One service of a generated scenario.
#[derive(Clone, Debug)]
pub struct GenService {
    pub replicas: u32,
    pub concurrency: u32,
    pub queue_capacity: Option<u32>,
    pub speed: f64,
    pub service_time: String,
    /// Stages of calls, as offsets to later services (so the call graph is acyclic).
    pub calls: Vec<Vec<usize>>,
    /// A `resilience = {...}` body, if any.
    pub resilience: Option<String>,
    /// Replica groups (replicas, speed, concurrency, price in cents per replica-hour) in
    /// place of `replicas`, `speed` and `concurrency`, when not empty.
    pub groups: Vec<(u32, f64, u32, u32)>,
}

impl GenService {
    /// Replicas at the start, over its groups.
    pub fn total_replicas(&self) -> u32 {
        if self.groups.is_empty() {
            self.replicas
        } else {
            self.groups.iter().map(|g| g.0).sum()
        }
    }
}

/// One job class of a generated scenario.
#[derive(Clone, Debug)]
pub struct GenClass {
    /// Each step: (service index, predecessor steps among the earlier ones).
    pub steps: Vec<(usize, Vec<usize>)>,
    /// Poisson rate, or closed-loop users when `closed`.
    pub rate: f64,
    pub closed: bool,
    pub deadline_ms: Option<u32>,
}

/// A small random scenario. Its `Debug` prints a TOML document that loads as is, so a
/// shrunk failure can be pasted into a file and rerun with `coordsim run`.
#[derive(Clone)]
pub struct GenScenario {
    pub duration_s: f64,
    pub warmup_s: f64,
    pub orchestrators: u32,
    pub latency: String,
    pub loss: f64,
    pub services: Vec<GenService>,
    pub classes: Vec<GenClass>,
    pub policy: String,
    /// Faults: (crash?, service index, replica or all, start share, length share of duration).
    pub faults: Vec<(bool, usize, Option<u32>, f64, f64)>,
    /// Control agents acting on the services (none in most cases).
    pub agents: Vec<GenAgent>,
}

/// A control agent of the generator: its kind and the service (index) it acts on.
#[derive(Clone, Debug)]
pub enum GenAgent {
    /// Target tracking: target utilisation in tenths, provisioning delay in ms; on a service
    /// with groups, the groups it scales in order of preference (indices; none: all).
    Autoscaler {
        service: usize,
        target_tenths: u32,
        provisioning_ms: u32,
        extra: u32,
        groups: Vec<usize>,
    },
    /// Health checks every period, restarting (or ejecting) a replica that fails them.
    Remediator { service: usize, eject: bool },
    /// A ceiling on the service's replicas.
    Budget { service: usize, max_total: u32 },
}

impl GenScenario {
    pub fn toml(&self) -> String {
        let mut out = format!(
            "duration = {}\nwarmup = {}\norchestrators = {}\npolicies = [\"{}\"]\n\n[network]\nlatency = {}\nloss = {}\n",
            self.duration_s, self.warmup_s, self.orchestrators, self.policy, self.latency, self.loss
        );
        let n = self.services.len();
        let sized = matches!(self.policy.as_str(), "least_work_left" | "sita");
        for (i, s) in self.services.iter().enumerate() {
            if s.groups.is_empty() {
                out += &format!(
                    "\n[services.s{i}]\nreplicas = {}\nconcurrency = {}\nspeed = {}\nservice_time = {}\n",
                    s.replicas, s.concurrency, s.speed, s.service_time
                );
            } else {
                out += &format!("\n[services.s{i}]\nservice_time = {}\n", s.service_time);
                let groups: Vec<String> = s
                    .groups
                    .iter()
                    .enumerate()
                    .map(|(g, (replicas, speed, concurrency, cents))| {
                        format!(
                            "{{ name = \"g{g}\", replicas = {replicas}, speed = {speed}, concurrency = {concurrency}, price = {} }}",
                            f64::from(*cents) / 100.0
                        )
                    })
                    .collect();
                out += &format!("groups = [{}]\n", groups.join(", "));
            }
            if sized {
                out += "sizes_known = true\n";
            }
            if let Some(q) = s.queue_capacity {
                out += &format!("queue_capacity = {q}\n");
            }
            let stages: Vec<String> = s
                .calls
                .iter()
                .map(|stage| {
                    let callees: Vec<String> = stage
                        .iter()
                        .filter(|&&o| i + o < n)
                        .map(|o| format!("\"s{}\"", i + o))
                        .collect();
                    callees.join(", ")
                })
                .filter(|c| !c.is_empty())
                .map(|c| format!("{{ services = [{c}] }}"))
                .collect();
            if !stages.is_empty() {
                out += &format!("calls = [{}]\n", stages.join(", "));
            }
            if let Some(r) = &s.resilience {
                out += &format!("resilience = {{ {r} }}\n");
            }
        }
        for (i, c) in self.classes.iter().enumerate() {
            let steps: Vec<String> = c
                .steps
                .iter()
                .enumerate()
                .map(|(k, (service, preds))| {
                    let after: Vec<String> =
                        preds.iter().filter(|&&p| p < k).map(|p| format!("\"t{p}\"")).collect();
                    format!(
                        "{{ name = \"t{k}\", service = \"s{}\", after = [{}] }}",
                        service % n,
                        after.join(", ")
                    )
                })
                .collect();
            out += &format!("\n[workflows.w{i}]\nsteps = [{}]\n", steps.join(", "));
            out += &format!("\n[classes.c{i}]\nworkflow = \"w{i}\"\n");
            if let Some(ms) = c.deadline_ms {
                out += &format!("deadline = \"{ms}ms\"\n");
            }
            if c.closed {
                out += &format!(
                    "arrival = {{ process = \"closed\", clients = {}, think = {{ dist = \"exponential\", mean = \"20ms\" }} }}\n",
                    (c.rate / 10.0).ceil()
                );
            } else {
                out += &format!("arrival = {{ process = \"poisson\", rate = {} }}\n", c.rate);
            }
        }
        for &(crash, service, replica, start, length) in &self.faults {
            let service = service % n;
            let kind = if crash { "crash\"" } else { "slowdown\"\nfactor = 3" };
            let replica = replica
                .filter(|&r| r < self.services[service].total_replicas())
                .map(|r| format!("\nreplica = {r}"))
                .unwrap_or_default();
            out += &format!(
                "\n[[faults]]\nkind = \"{kind}\nservice = \"s{service}\"{replica}\nat = {}\nduration = {}\n",
                start * self.duration_s,
                (length * self.duration_s).max(0.001)
            );
        }
        if !self.agents.is_empty() {
            out += "\n[control]\nscrape = \"50ms\"\n";
        }
        for (k, agent) in self.agents.iter().enumerate() {
            let body = match *agent {
                GenAgent::Autoscaler {
                    service,
                    target_tenths,
                    provisioning_ms,
                    extra,
                    ref groups,
                } => {
                    let spec = &self.services[service % n];
                    let mut preference: Vec<String> = groups
                        .iter()
                        .map(|g| format!("\"g{}\"", g % spec.groups.len().max(1)))
                        .collect();
                    preference.sort();
                    preference.dedup();
                    let group = if spec.groups.is_empty() || preference.is_empty() {
                        String::new()
                    } else {
                        format!("group = [{}]\n", preference.join(", "))
                    };
                    format!(
                        "kind = \"autoscaler\"\nservice = \"s{}\"\ntarget = {}\nmin_replicas = 1\nmax_replicas = {}\nprovisioning = \"{provisioning_ms}ms\"\nstabilisation = \"200ms\"\nwindow = \"100ms\"\n{group}",
                        service % n,
                        f64::from(target_tenths) / 10.0,
                        spec.total_replicas() + extra
                    )
                }
                GenAgent::Remediator { service, eject } => format!(
                    "kind = \"remediator\"\nservice = \"s{}\"\ntimeout = \"30ms\"\n{}\n",
                    service % n,
                    if eject {
                        "action = \"eject\"\neject_for = \"200ms\""
                    } else {
                        "action = \"restart\"\nrestart_delay = \"50ms\""
                    }
                ),
                GenAgent::Budget { service, max_total } => format!(
                    "kind = \"budget\"\nservice = \"s{}\"\nmax_total = {max_total}\n",
                    service % n
                ),
            };
            out += &format!("\n[[agents]]\nname = \"a{k}\"\nperiod = \"100ms\"\n{body}");
        }
        out
    }

    pub fn scenario(&self) -> Scenario {
        scenario(&self.toml())
    }
}

/// How proptest shows a failing case: the scenario as TOML, also saved as a file that
/// `coordsim run` reruns (under `target/proptest-cases/`, named by its content), with the
/// path in the message. Proptest formats only the cases it reports, so the file written last
/// is the shrunk one.
impl fmt::Debug for GenScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.toml();
        let saved = save_case(&text)
            .map(|path| {
                format!(
                    "# saved to {}; `coordsim run {} --replications 4` reruns it (the failing replication is the `rep` printed beside it)\n",
                    path.display(),
                    path.display()
                )
            })
            .unwrap_or_default();
        write!(f, "\n{saved}{text}")
    }
}

/// Writes a generated case to `target/proptest-cases/case-<hash>.toml`.
fn save_case(text: &str) -> Option<std::path::PathBuf> {
    // FNV-1a: a name that depends on the content alone.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/proptest-cases");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("case-{hash:016x}.toml"));
    std::fs::write(&path, text).ok()?;
    Some(path)
}

fn duration_dist() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..50).prop_map(|ms| format!("{{ dist = \"constant\", value = \"{ms}ms\" }}")),
        (1u32..50).prop_map(|ms| format!("{{ dist = \"exponential\", mean = \"{ms}ms\" }}")),
        (0u32..20, 1u32..30).prop_map(|(a, b)| format!(
            "{{ dist = \"uniform\", min = \"{a}ms\", max = \"{}ms\" }}",
            a + b
        )),
        (1u32..50, 1u32..30).prop_map(|(ms, cv)| format!(
            "{{ dist = \"lognormal\", mean = \"{ms}ms\", cv = {} }}",
            f64::from(cv) / 10.0
        )),
        (1u32..10, 11u32..30).prop_map(|(a, s)| format!(
            "{{ dist = \"bounded_pareto\", min = \"{a}ms\", max = \"200ms\", shape = {} }}",
            f64::from(s) / 10.0
        )),
    ]
}

fn latency_dist() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just("{ dist = \"constant\", value = 0 }".to_owned()),
        1 => (0u32..5).prop_map(|ms| format!("{{ dist = \"constant\", value = \"{ms}ms\" }}")),
        1 => (1u32..5).prop_map(|ms| format!("{{ dist = \"exponential\", mean = \"{ms}ms\" }}")),
        1 => (0u32..3, 1u32..5).prop_map(|(a, b)| format!("{{ dist = \"uniform\", min = \"{a}ms\", max = \"{}ms\" }}", a + b)),
    ]
}

fn resilience() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.3,
        prop_oneof![
            Just("timeout = \"30ms\", retries = { max = 2 }".to_owned()),
            Just("timeout = \"20ms\", retries = { max = 1, base = \"5ms\", jitter = \"full\" }, cancel = true".to_owned()),
            Just("hedge = { after = \"10ms\" }, cancel = true".to_owned()),
            Just("hedge = { quantile = 0.9 }".to_owned()),
            Just("timeout = \"40ms\", circuit_breaker = { consecutive = 3, open_for = \"100ms\" }".to_owned()),
            Just("timeout = \"40ms\", retries = { max = 1 }, outlier_ejection = { consecutive_failures = 2, eject_for = \"200ms\" }".to_owned()),
        ],
    )
}

fn service() -> impl Strategy<Value = GenService> {
    let calls = prop::collection::vec(prop::collection::vec(1usize..3, 1..3), 0..3);
    // One service in four has groups of replicas of their own speed, slots and price.
    let group =
        (1u32..3, 1u32..5, 1u32..3, 0u32..100).prop_map(|(replicas, speed, concurrency, cents)| {
            (replicas, f64::from(speed) / 2.0, concurrency, cents)
        });
    let groups = prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(group, 1..4)];
    (
        1u32..5,
        1u32..4,
        prop::option::weighted(0.6, 0u32..5),
        1u32..5,
        duration_dist(),
        calls,
        resilience(),
        groups,
    )
        .prop_map(
            |(
                replicas,
                concurrency,
                queue_capacity,
                speed,
                service_time,
                calls,
                resilience,
                groups,
            )| {
                GenService {
                    replicas,
                    concurrency,
                    queue_capacity,
                    speed: f64::from(speed) / 2.0,
                    service_time,
                    calls,
                    resilience,
                    groups,
                }
            },
        )
}

fn class() -> impl Strategy<Value = GenClass> {
    let steps = prop::collection::vec((0usize..8, prop::collection::vec(0usize..4, 0..3)), 1..5);
    (steps, 5u32..100, prop::bool::weighted(0.25), prop::option::weighted(0.3, 5u32..300)).prop_map(
        |(steps, rate, closed, deadline_ms)| GenClass {
            steps,
            rate: f64::from(rate),
            closed,
            deadline_ms,
        },
    )
}

fn agent() -> impl Strategy<Value = GenAgent> {
    prop_oneof![
        (0usize..4, 2u32..9, 0u32..300, 1u32..4, prop::collection::vec(0usize..3, 0..3)).prop_map(
            |(service, target_tenths, provisioning_ms, extra, groups)| {
                GenAgent::Autoscaler { service, target_tenths, provisioning_ms, extra, groups }
            }
        ),
        (0usize..4, any::<bool>())
            .prop_map(|(service, eject)| GenAgent::Remediator { service, eject }),
        (0usize..4, 1u32..4)
            .prop_map(|(service, max_total)| GenAgent::Budget { service, max_total }),
    ]
}

/// Names of the policies the generator picks from.
pub const POLICIES: [&str; 8] = [
    "random",
    "round_robin",
    "least_outstanding",
    "power_of_d",
    "weighted_random",
    "least_expected_finish",
    "least_work_left",
    "sita",
];

/// Small valid scenarios: 1-4 services with acyclic calls, 1-3 classes running random
/// workflow DAGs (open or closed loop, some with deadlines), at most a few hundred jobs;
/// one case in three has control agents scaling, restarting or capping its services.
pub fn small_scenario() -> impl Strategy<Value = GenScenario> {
    let agents = prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec(agent(), 1..4)];
    let faults = prop::collection::vec(
        (any::<bool>(), 0usize..4, prop::option::of(0u32..4), 0.0f64..0.8, 0.01f64..0.3),
        0..3,
    );
    (
        prop::collection::vec(service(), 1..5),
        prop::collection::vec(class(), 1..4),
        1u32..4,
        latency_dist(),
        prop::sample::select(vec![0.0, 0.0, 0.05]),
        prop::sample::select(POLICIES.to_vec()),
        1u32..4,
        faults,
        agents,
    )
        .prop_map(
            |(
                services,
                classes,
                orchestrators,
                latency,
                loss,
                policy,
                duration_s,
                faults,
                agents,
            )| {
                GenScenario {
                    duration_s: f64::from(duration_s),
                    warmup_s: f64::from(duration_s) * 0.1,
                    orchestrators,
                    latency,
                    loss,
                    services,
                    classes,
                    policy: policy.to_owned(),
                    faults,
                    agents,
                }
            },
        )
}

/// A scratch directory for one test, under the system's temporary directory, removed when
/// the guard is dropped (at the end of the test, whether it passed or failed).
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// A fresh directory whose name starts with `coordsim-<name>-`.
    pub fn new(name: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("coordsim-{name}-"))
            .tempdir()
            .expect("a scratch directory under the temporary directory");
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        self.0.path()
    }
}

/// Every key of a TOML document, as dotted paths through its tables (arrays not entered).
pub fn leaves(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(t) = value {
        for (k, v) in t {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            out.push(path.clone());
            leaves(v, &path, out);
        }
    }
}

/// Removes the key at a dotted path through tables, if it is there.
pub fn remove_path(table: &mut toml::Table, path: &[&str]) {
    match path {
        [last] => {
            table.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(toml::Value::Table(inner)) = table.get_mut(*first) {
                remove_path(inner, rest);
            }
        }
        [] => {}
    }
}
