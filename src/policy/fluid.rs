//! The fluid model behind the age-aware load estimates of `central` and `gossip`: how many
//! requests a replica is expected to hold some time after it was last heard of, from what
//! it held then, how fast it finishes requests while its slots are all busy, and how fast
//! requests the estimator does not place itself arrive; and the running averages the rates
//! are learned with.

/// The requests left at a replica of `slots` slots that held `level` (expected) requests
/// `elapsed_s` ago, finishing `drain_per_s` requests a second while its slots are all busy
/// and receiving none: a fluid model in which the queue drains linearly at the full rate
/// and, once no more than `slots` remain, each runs out at the per-slot rate (exponentially,
/// as memoryless work does).
pub(super) fn drained(level: f64, elapsed_s: f64, slots: f64, drain_per_s: f64) -> f64 {
    if level <= 0.0 || elapsed_s <= 0.0 || drain_per_s <= 0.0 {
        return level.max(0.0);
    }
    let (mut left, mut time) = (level, elapsed_s);
    if left > slots {
        let until_slots = (left - slots) / drain_per_s;
        if time <= until_slots {
            return left - drain_per_s * time;
        }
        time -= until_slots;
        left = slots;
    }
    left * (-time * drain_per_s / slots).exp()
}

/// As [`drained`], with requests also arriving at `inflow_per_s` (the ones placed by
/// others). Above `slots` the level moves linearly at `inflow - drain`; at or below, each
/// of the `level` requests runs out at `drain / slots` while new ones come in, so the level
/// relaxes exponentially towards `slots x inflow / drain`, and where that is above `slots`
/// it reaches `slots` and then grows linearly. With no inflow this is [`drained`] exactly.
pub(super) fn aged_level(
    level: f64,
    elapsed_s: f64,
    slots: f64,
    drain_per_s: f64,
    inflow_per_s: f64,
) -> f64 {
    if inflow_per_s <= 0.0 {
        return drained(level, elapsed_s, slots, drain_per_s);
    }
    if elapsed_s <= 0.0 || drain_per_s <= 0.0 {
        return level.max(0.0);
    }
    let (mut left, mut time) = (level.max(0.0), elapsed_s);
    let net_drain = drain_per_s - inflow_per_s;
    if left > slots {
        if net_drain <= 0.0 {
            return left - net_drain * time;
        }
        let until_slots = (left - slots) / net_drain;
        if time <= until_slots {
            return left - net_drain * time;
        }
        time -= until_slots;
        left = slots;
    }
    let rate = drain_per_s / slots;
    let settled = slots * inflow_per_s / drain_per_s;
    if settled <= slots {
        return settled + (left - settled) * (-rate * time).exp();
    }
    // Overloaded: it fills its slots, then the queue grows.
    let until_full = ((settled - left) / (settled - slots)).ln() / rate;
    if time <= until_full {
        settled + (left - settled) * (-rate * time).exp()
    } else {
        slots - net_drain * (time - until_full)
    }
}

/// `sample` averaged into `rate` with weight `weight` (the sample itself for the first).
pub(super) fn average(rate: Option<f64>, sample: f64, weight: f64) -> f64 {
    match rate {
        None => sample,
        Some(rate) => rate + weight * (sample - rate),
    }
}

#[cfg(test)]
mod tests {
    use super::{aged_level, drained};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_queue_drains_linearly_to_the_slots_then_each_runs_out_exponentially() {
        // One slot finishing 100 a second: 5 requests are 3 after 20 ms, 1 after 40 ms,
        // then the last runs out at rate 100: e^-1 of it is left 10 ms later.
        assert!(close(drained(5.0, 0.020, 1.0, 100.0), 3.0));
        assert!(close(drained(5.0, 0.040, 1.0, 100.0), 1.0));
        assert!(close(drained(5.0, 0.050, 1.0, 100.0), (-1.0f64).exp()));
        // Four slots finishing 400 a second: 2 running requests drain at 100 each.
        assert!(close(drained(2.0, 0.010, 4.0, 400.0), 2.0 * (-1.0f64).exp()));
        // No time, no rate, or nothing there: as it was.
        assert_eq!(drained(3.0, 0.0, 1.0, 100.0), 3.0);
        assert_eq!(drained(3.0, 1.0, 1.0, 0.0), 3.0);
        assert_eq!(drained(0.0, 1.0, 1.0, 100.0), 0.0);
    }

    #[test]
    fn others_arrivals_slow_the_drain_and_set_where_it_settles() {
        // One slot finishing 100 a second, 60 arriving from others: the queue of 5 falls by
        // 40 a second to 1 after 100 ms, then relaxes towards 0.6 at rate 100 a second.
        assert!(close(aged_level(5.0, 0.050, 1.0, 100.0, 60.0), 3.0));
        assert!(close(aged_level(5.0, 0.100, 1.0, 100.0, 60.0), 1.0));
        let later = 0.6 + 0.4 * (-1.0f64).exp();
        assert!(close(aged_level(5.0, 0.110, 1.0, 100.0, 60.0), later));
        // An empty replica fills towards the same level: 0.6 (1 - e^-1) after 10 ms.
        assert!(close(aged_level(0.0, 0.010, 1.0, 100.0, 60.0), 0.6 * (1.0 - (-1.0f64).exp())));
        // Long after, it is there whatever it held.
        assert!(close(aged_level(9.0, 10.0, 1.0, 100.0, 60.0), 0.6));
        // Overloaded (150 in, 100 out): from empty it reaches its slot after
        // ln(1.5 / 0.5) / 100 s, then grows by 50 a second.
        let full = 3.0f64.ln() / 100.0;
        assert!(close(aged_level(0.0, full, 1.0, 100.0, 150.0), 1.0));
        assert!(close(aged_level(0.0, full + 0.1, 1.0, 100.0, 150.0), 6.0));
        assert!(close(aged_level(4.0, 0.1, 1.0, 100.0, 150.0), 9.0));
        // Without others' arrivals it is the drain alone, bit for bit.
        assert_eq!(aged_level(5.0, 0.05, 1.0, 100.0, 0.0), drained(5.0, 0.05, 1.0, 100.0));
    }
}
