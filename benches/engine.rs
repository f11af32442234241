//! The classic HOLD benchmark of the generic engine, next to its physical limit.
//!
//! HOLD keeps N events pending: each processed event schedules one new event at now + Exp(1)
//! seconds, so every hold is one pop and one push on an event set of constant size N. This
//! file owns two implementations of it, measured in the same criterion group for each N:
//! `hold/coordsim/N` drives [`coordsim::engine::Engine`] one [`Engine::step`] at a time, and
//! `hold/minimal/N` is the minimal hand-written loop (a `BinaryHeap` of `(time, seq)` keys,
//! ChaCha8, the same Exp(1) draw, no model, no fingerprint). After each group it prints the
//! median nanoseconds per hold of both and their ratio (target: coordsim within 1.3x).
//! It measures only; it asserts nothing about time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use coordsim::engine::{derive_stream, Engine, EventDigest, Model, Schedule, SimRng};
use coordsim::time::{SimDuration, SimTime};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

/// Pending-event counts the benchmark runs at.
const SIZES: [usize; 4] = [10, 1_000, 100_000, 1_000_000];
/// Holds timed per criterion iteration.
const HOLDS: u64 = 1_000;
/// Criterion samples per benchmark (its default).
const SAMPLES: usize = 100;
/// Master seed of both implementations.
const SEED: u64 = 0x401d;

/// The one event of the HOLD model.
#[derive(Clone, Copy, Debug)]
struct Hold;

impl EventDigest for Hold {
    #[inline]
    fn digest(&self) -> u64 {
        1
    }
}

/// HOLD as a [`Model`]: every event schedules its successor Exp(1) seconds later.
struct HoldModel {
    rng: SimRng,
    gap: Exp<f64>,
}

impl HoldModel {
    fn draw(&mut self) -> SimDuration {
        SimDuration::from_secs_f64(self.gap.sample(&mut self.rng))
    }
}

impl Model for HoldModel {
    type Event = Hold;

    #[inline]
    fn handle(&mut self, event: Hold, schedule: &mut Schedule<Hold>) {
        let gap = self.draw();
        schedule.after(gap, event);
    }
}

/// An engine with `n` pending holds, scheduled Exp(1) seconds after time zero.
fn coordsim_engine(n: usize) -> Engine<HoldModel> {
    let model =
        HoldModel { rng: derive_stream(SEED, 0, 1), gap: Exp::new(1.0).expect("rate 1 is valid") };
    let mut engine = Engine::with_capacity(model, n);
    let (model, schedule) = engine.parts();
    for _ in 0..n {
        let gap = model.draw();
        schedule.at(SimTime::ZERO + gap, Hold);
    }
    engine
}

/// The minimal HOLD loop: nothing but the heap, the sequence counter and the generator.
struct Minimal {
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    seq: u64,
    rng: ChaCha8Rng,
    gap: Exp<f64>,
}

impl Minimal {
    fn new(n: usize) -> Self {
        let mut minimal = Minimal {
            heap: BinaryHeap::with_capacity(n),
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(SEED),
            gap: Exp::new(1.0).expect("rate 1 is valid"),
        };
        for _ in 0..n {
            minimal.push(0);
        }
        minimal
    }

    /// Schedules one event an Exp(1) draw after `now` (both in nanoseconds).
    #[inline]
    fn push(&mut self, now: u64) {
        let gap = (self.gap.sample(&mut self.rng) * 1e9).round() as u64;
        self.heap.push(Reverse((now.saturating_add(gap), self.seq)));
        self.seq += 1;
    }

    /// One hold: pop the earliest event, schedule its successor.
    #[inline]
    fn hold(&mut self) -> u64 {
        let Reverse((now, _)) = self.heap.pop().expect("HOLD keeps N events pending");
        self.push(now);
        now
    }
}

/// Nanoseconds per hold for one timed call, recorded alongside what criterion measures.
fn per_hold(elapsed: Duration, iters: u64) -> f64 {
    elapsed.as_nanos() as f64 / (iters * HOLDS) as f64
}

/// Median of the last `SAMPLES` recorded calls: the measurement phase (earlier calls are
/// criterion's warm-up).
fn median_of_samples(recorded: &[f64]) -> Option<f64> {
    let mut last = recorded[recorded.len().saturating_sub(SAMPLES)..].to_vec();
    last.sort_by(f64::total_cmp);
    (!last.is_empty()).then(|| last[last.len() / 2])
}

fn hold(c: &mut Criterion) {
    let mut summary = Vec::new();
    for n in SIZES {
        let mut group = c.benchmark_group("hold");
        group.sample_size(SAMPLES);
        group.throughput(Throughput::Elements(HOLDS));

        // Both event sets are built and filled here, outside the timed closures, and persist
        // across criterion's calls: the queue size is N throughout.
        let mut engine = coordsim_engine(n);
        let mut coordsim_ns = Vec::new();
        group.bench_function(BenchmarkId::new("coordsim", n), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters * HOLDS {
                    black_box(engine.step().expect("HOLD keeps N events pending"));
                }
                let elapsed = start.elapsed();
                assert_eq!(engine.schedule().pending(), n, "queue size must stay N");
                coordsim_ns.push(per_hold(elapsed, iters));
                elapsed
            });
        });
        drop(engine);

        let mut minimal = Minimal::new(n);
        let mut minimal_ns = Vec::new();
        group.bench_function(BenchmarkId::new("minimal", n), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters * HOLDS {
                    black_box(minimal.hold());
                }
                let elapsed = start.elapsed();
                assert_eq!(minimal.heap.len(), n, "queue size must stay N");
                minimal_ns.push(per_hold(elapsed, iters));
                elapsed
            });
        });
        drop(minimal);
        group.finish();

        if let (Some(ours), Some(limit)) =
            (median_of_samples(&coordsim_ns), median_of_samples(&minimal_ns))
        {
            summary.push((n, ours, limit));
        }
    }

    if !summary.is_empty() {
        println!("\nHOLD, median ns per hold (target: coordsim / minimal <= 1.30)");
        println!("{:>9}  {:>10}  {:>10}  {:>6}", "N", "coordsim", "minimal", "ratio");
        for (n, ours, limit) in summary {
            println!("{n:>9}  {ours:>10.2}  {limit:>10.2}  {:>6.2}", ours / limit);
        }
    }
}

criterion_group!(benches, hold);
criterion_main!(benches);
