//! The minimal M/M/c loop: the physical limit for the M/M/c workload, against which the
//! simulator's end-to-end figures are read as ratios.
//!
//! It owns nothing but what an M/M/c needs: a `BinaryHeap` of `(time_ns, seq, payload)` keys,
//! two ChaCha8 streams (inter-arrival and service times, both exponential), two events per
//! customer (arrival, departure), a `VecDeque` FIFO of waiting customers and a running sum of
//! latencies. There is no model abstraction, no fingerprint, no histogram and no policy. It is
//! a plain module included with `#[path]` by `benches/mmc.rs` and by the `minimal_mmc`
//! example, so both time the same code.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

/// Servers (c).
pub const SERVERS: u32 = 4;
/// Arrivals per second (lambda).
pub const ARRIVAL_RATE: f64 = 360.0;
/// Services per second of one server (mu): mean service time 10 ms.
pub const SERVICE_RATE: f64 = 100.0;
/// The mean latency (sojourn time) Erlang C gives for these rates, in seconds.
pub const ERLANG_C_MEAN_S: f64 = 0.029_69;

/// Payload of an arrival event; a departure's payload is its customer's arrival time.
const ARRIVAL: u64 = u64::MAX;

/// Seconds to the nearest nanosecond.
#[inline]
fn nanos(secs: f64) -> u64 {
    (secs * 1e9).round() as u64
}

/// Simulates an M/M/c queue, starting empty, until `customers` customers have arrived and
/// left. Returns their mean latency (arrival to departure) in seconds and the number of
/// events processed (two per customer).
pub fn run(customers: u64, seed: u64) -> (f64, u64) {
    let mut arrival_rng = ChaCha8Rng::seed_from_u64(seed);
    let mut service_rng = ChaCha8Rng::seed_from_u64(seed);
    service_rng.set_stream(1);
    let inter_arrival = Exp::new(ARRIVAL_RATE).expect("constant rate is valid");
    let service = Exp::new(SERVICE_RATE).expect("constant rate is valid");

    let mut heap: BinaryHeap<Reverse<(u64, u64, u64)>> = BinaryHeap::with_capacity(64);
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, u64)>>, time: u64, payload: u64| {
        heap.push(Reverse((time, seq, payload)));
        seq += 1;
    };
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let mut busy = 0u32;
    let mut arrived = 0u64;
    let mut events = 0u64;
    let mut latency_sum_ns = 0u128;

    if customers > 0 {
        push(&mut heap, nanos(inter_arrival.sample(&mut arrival_rng)), ARRIVAL);
        arrived = 1;
    }
    while let Some(Reverse((now, _, payload))) = heap.pop() {
        events += 1;
        if payload == ARRIVAL {
            if arrived < customers {
                let next = now + nanos(inter_arrival.sample(&mut arrival_rng));
                push(&mut heap, next, ARRIVAL);
                arrived += 1;
            }
            if busy < SERVERS {
                busy += 1;
                push(&mut heap, now + nanos(service.sample(&mut service_rng)), now);
            } else {
                waiting.push_back(now);
            }
        } else {
            latency_sum_ns += u128::from(now - payload);
            match waiting.pop_front() {
                Some(since) => {
                    push(&mut heap, now + nanos(service.sample(&mut service_rng)), since)
                }
                None => busy -= 1,
            }
        }
    }
    (latency_sum_ns as f64 * 1e-9 / customers as f64, events)
}
