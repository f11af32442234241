#!/usr/bin/env bash
# Whole-process comparison on the M/M/c workload: coordsim vs the minimal loop vs SimPy.
#
# Usage (from anywhere in the repository):   bash benches/peers/compare.sh
#
# The workload is M/M/4 at load 0.9 (lambda 360/s, mean service 10 ms), about 1,000,000
# customers. Three programs are timed as whole processes (start-up, scenario loading and
# output included) in RUNS rounds (default 3; RUNS=5 bash ... to change) that run each once in
# turn; the median wall time is reported with the peak resident memory and the mean latency
# each computed, and each ratio is the median of the ratios within a round (a shared machine's
# speed drifts; pairing within a round cancels most of it):
#   coordsim  target/release/coordsim run scenarios/mmc.toml --policy random
#             --set duration=2778s --jobs 1 --out TMP
#   minimal   target/release/examples/minimal_mmc 1000000 1   (benches/reference/)
#   simpy     python3 benches/peers/mmc_simpy.py 1 1000000
# Targets: SimPy / coordsim >= 50x, coordsim / minimal <= 2x. Each round also runs coordsim
# with 4x the customers (duration 11112s), to compare peak memory at 1M and 4M jobs (which
# grows only by the time series' rows, one per simulated second and service). Mean latencies
# should all be near Erlang C's 29.69 ms.
#
# Needs cargo and python3. SimPy is installed with pip when `import simpy` fails; if that is
# impossible the SimPy row is skipped. A small Python helper times each run (wall clock around
# the child process). Peak RSS comes from GNU time (`/usr/bin/time -f %M`, Debian package
# `time`) when it is installed; otherwise from wait4's ru_maxrss, which Linux never reports
# below the RSS of the process that spawned the child (here Python, ~10 MiB): the table then
# says so, and figures at that floor mean "at most". Nothing is written outside target/ and a
# temporary directory that is removed on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${RUNS:-3}"
customers=1000000
seed=1

if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 is required (it times the runs)" >&2
    exit 1
fi

echo "== building (release)" >&2
cargo build --release --bin coordsim --example minimal_mmc

have_simpy=1
if ! python3 -c 'import simpy' >/dev/null 2>&1; then
    echo "== installing simpy with pip" >&2
    python3 -m pip install --quiet simpy ||
        python3 -m pip install --quiet --user --break-system-packages simpy ||
        true
    if ! python3 -c 'import simpy' >/dev/null 2>&1; then
        echo "warning: simpy could not be installed; the SimPy row is skipped" >&2
        have_simpy=0
    fi
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# measure.py SPEC.json RUNS: SPEC is a list of [label, latency_source, cmd...]. Runs RUNS
# rounds; each round runs every command once, in turn, as a child process, so that a drift
# of the machine's speed during the comparison weighs on every program alike. Prints one
# tab-separated line per label: label, median wall s, max peak RSS KiB, mean latency ms, the
# RSS floor, and the comma-separated wall times of its rounds (for ratios within a round).
# latency_source is `stdout` (a `mean_latency_ms=X` field) or the path of a coordsim
# runs.csv (column latency_mean_ms).
cat >"$tmp/measure.py" <<'PY'
import csv, json, os, re, resource, statistics, subprocess, sys, time

spec, runs = json.load(open(sys.argv[1])), int(sys.argv[2])
here = os.path.dirname(os.path.abspath(__file__))
rss_path = os.path.join(here, "probe.rss")


def gnu_time_works():
    try:
        probe = ["/usr/bin/time", "-o", rss_path, "-f", "%M", "true"]
        return subprocess.run(probe, capture_output=True).returncode == 0 and open(rss_path).read().strip().isdigit()
    except OSError:
        return False


use_time = gnu_time_works()
walls = {label: [] for label, *_ in spec}
rss_kib = {label: [] for label, *_ in spec}
for _ in range(runs):
    for label, source, *cmd in spec:
        base = os.path.join(here, label)
        out_path, err_path, rss_path = base + ".out", base + ".err", base + ".rss"
        actions = [
            (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        ]
        argv = ["/usr/bin/time", "-o", rss_path, "-f", "%M", *cmd] if use_time else cmd
        start = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        walls[label].append(time.perf_counter() - start)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.stderr.write(f"error: {label} exited with {code}: {' '.join(cmd)}\n")
            sys.stderr.write(open(out_path).read() + open(err_path).read())
            sys.exit(1)
        # Both in KiB on Linux; GNU time's last line is the figure.
        rss_kib[label].append(int(open(rss_path).read().split()[-1]) if use_time else usage.ru_maxrss)
        print(f"   {label}: {walls[label][-1]:.3f} s, {rss_kib[label][-1] / 1024:.1f} MiB", file=sys.stderr)
# The floor under ru_maxrss when this helper is the parent (0: GNU time measured it).
floor = 0 if use_time else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for label, source, *cmd in spec:
    if source == "stdout":
        found = re.search(r"mean_latency_ms=([0-9.eE+-]+)", open(os.path.join(here, label + ".out")).read())
        latency = float(found.group(1)) if found else float("nan")
    else:
        with open(source, newline="") as f:
            latency = float(next(csv.DictReader(f))["latency_mean_ms"])
    rounds = ",".join(f"{w:.4f}" for w in walls[label])
    print(f"{label}\t{statistics.median(walls[label]):.4f}\t{max(rss_kib[label])}\t{latency:.3f}\t{floor}\t{rounds}")
PY

results="$tmp/results.tsv"
spec="$tmp/spec.json"
python3 - "$spec" "$tmp" "$customers" "$seed" "$have_simpy" <<'PY'
import json, sys
path, tmp, customers, seed, simpy = sys.argv[1:]
spec = [
    ["coordsim", f"{tmp}/coordsim-1m/runs.csv", "target/release/coordsim", "run", "scenarios/mmc.toml",
     "--policy", "random", "--set", "duration=2778s", "--jobs", "1", "--out", f"{tmp}/coordsim-1m"],
    ["minimal", "stdout", "target/release/examples/minimal_mmc", customers, seed],
]
if simpy == "1":
    spec.append(["simpy", "stdout", "python3", "benches/peers/mmc_simpy.py", seed, customers])
spec.append(["coordsim-4m", f"{tmp}/coordsim-4m/runs.csv", "target/release/coordsim", "run",
             "scenarios/mmc.toml", "--policy", "random", "--set", "duration=11112s", "--jobs", "1",
             "--out", f"{tmp}/coordsim-4m"])
json.dump(spec, open(path, "w"))
PY

echo "== timing, $runs interleaved rounds" >&2
python3 "$tmp/measure.py" "$spec" "$runs" >"$results"

python3 - "$results" "$runs" <<'PY'
import statistics, sys

rows, rounds = {}, {}
for line in open(sys.argv[1]):
    label, wall, rss, latency, floor, walls = line.rstrip("\n").split("\t")
    rows[label] = (float(wall), int(rss) / 1024, float(latency))
    rounds[label] = [float(w) for w in walls.split(",")]
    floor_mib = int(floor) / 1024
runs = sys.argv[2]
minimal = rows["minimal"][0]
print(f"\nM/M/4, load 0.9, ~1,000,000 customers; median of {runs} whole-process runs, interleaved")
print(f"{'name':<10} {'median wall s':>13} {'vs minimal':>10} {'peak RSS MiB':>12} {'mean latency ms':>15}")
for label in ("coordsim", "minimal", "simpy"):
    if label in rows:
        wall, rss, latency = rows[label]
        print(f"{label:<10} {wall:>13.3f} {wall / minimal:>9.2f}x {rss:>12.1f} {latency:>15.3f}")
print("(Erlang C mean latency: 29.69 ms)")
if floor_mib > 0:
    print(f"(peak RSS from wait4: /usr/bin/time is missing, so figures cannot go below the"
          f" measuring Python's {floor_mib:.1f} MiB)")
print("(peak RSS by GNU time)\n" if floor_mib == 0 else "")


def paired(a, b):
    """Median over rounds of a's wall time over b's in the same round."""
    return statistics.median(x / y for x, y in zip(rounds[a], rounds[b]))


def verdict(ok):
    return "meets target" if ok else "MISSES target"
ratio = paired("coordsim", "minimal")
print(f"coordsim / minimal: {ratio:6.2f}x  (median of per-round ratios; target <= 2x: {verdict(ratio <= 2.0)})")
if "simpy" in rows:
    ratio = paired("simpy", "coordsim")
    print(f"SimPy / coordsim:   {ratio:6.1f}x  (median of per-round ratios; target >= 50x: {verdict(ratio >= 50.0)})")
else:
    print("SimPy / coordsim:   n/a (simpy not installed)")

one, four = rows["coordsim"][1], rows["coordsim-4m"][1]
print(f"\ncoordsim peak RSS: {one:.1f} MiB at 1M customers (2778 s), "
      f"{four:.1f} MiB at 4M customers (11112 s): x{four / one:.2f} for 4x the jobs")
PY
