"""SimPy peer of the M/M/c benchmark, timed as a whole process by compare.sh.

M/M/4 at load 0.9: Poisson arrivals at 360/s, exponential service with mean 10 ms, one
FIFO queue in front of a simpy.Resource of capacity 4. It simulates CUSTOMERS customers
(default 1,000,000) from an empty system, with Python's random.Random(SEED) (default seed 1),
and prints one line of key=value figures: the mean latency (sojourn time, arrival to
departure) in ms, to compare with Erlang C's 29.69 ms, and the wall seconds spent simulating.

Usage: python3 mmc_simpy.py [SEED [CUSTOMERS]]
"""

import random
import sys
import time

import simpy

SERVERS = 4
ARRIVAL_RATE = 360.0
SERVICE_RATE = 100.0


def main(argv):
    try:
        seed = int(argv[1]) if len(argv) > 1 else 1
        customers = int(argv[2]) if len(argv) > 2 else 1_000_000
    except ValueError as err:
        print(f"error: {err}\nusage: mmc_simpy.py [SEED [CUSTOMERS]]", file=sys.stderr)
        return 2
    if customers < 1:
        print("error: CUSTOMERS must be at least 1", file=sys.stderr)
        return 2

    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=SERVERS)
    totals = {"latency": 0.0, "done": 0}

    def customer():
        arrived = env.now
        with server.request() as slot:
            yield slot
            yield env.timeout(rng.expovariate(SERVICE_RATE))
        totals["latency"] += env.now - arrived
        totals["done"] += 1

    def source():
        for _ in range(customers):
            yield env.timeout(rng.expovariate(ARRIVAL_RATE))
            env.process(customer())

    start = time.perf_counter()
    env.process(source())
    env.run()
    wall = time.perf_counter() - start

    mean_ms = totals["latency"] / totals["done"] * 1e3
    print(f"customers={totals['done']} mean_latency_ms={mean_ms:.3f} erlang_c_ms=29.69 wall_s={wall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
