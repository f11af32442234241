#!/usr/bin/env bash
# Whole-process comparison on the M/M/c workload: coordsim vs the minimal loop vs SimPy.
#
# Usage (from anywhere in the repository):   bash benches/peers/compare.sh
#
# The workload is M/M/4 at load 0.9 (lambda 360/s, mean service 10 ms), about 1,000,000
# customers. Three programs are timed as whole processes (start-up, scenario loading and
# output included), RUNS times each (default 3; RUNS=5 bash ... to change), and the median
# wall time is reported with the peak resident memory and the mean latency each computed:
#   coordsim  target/release/coordsim run scenarios/mmc.toml --policy random
#             --set duration=2778s --jobs 1 --out TMP
#   minimal   target/release/examples/minimal_mmc 1000000 1   (benches/reference/)
#   simpy     python3 benches/peers/mmc_simpy.py 1 1000000
# Targets: SimPy / coordsim >= 50x, coordsim / minimal <= 2x. Then coordsim runs with 4x
# the customers (duration 11112s) to show that its peak memory does not grow with the number
# of jobs. Mean latencies should all be near Erlang C's 29.69 ms.
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

# measure.py LABEL RUNS LATENCY_SOURCE -- CMD...: runs CMD RUNS times as a child process and
# prints one tab-separated line: label, median wall s, max peak RSS KiB, mean latency ms.
# LATENCY_SOURCE is `stdout` (a `mean_latency_ms=X` field) or the path of a coordsim
# runs.csv (column latency_mean_ms).
cat >"$tmp/measure.py" <<'PY'
import csv, os, re, resource, statistics, subprocess, sys, time

label, runs, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert sys.argv[4] == "--"
cmd = sys.argv[5:]
base = os.path.join(os.path.dirname(os.path.abspath(__file__)), label)
out_path, err_path, rss_path = base + ".out", base + ".err", base + ".rss"


def gnu_time_works():
    try:
        probe = ["/usr/bin/time", "-o", rss_path, "-f", "%M", "true"]
        return subprocess.run(probe, capture_output=True).returncode == 0 and open(rss_path).read().strip().isdigit()
    except OSError:
        return False


use_time = gnu_time_works()
walls, rss_kib = [], []
for _ in range(runs):
    actions = [
        (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    argv = ["/usr/bin/time", "-o", rss_path, "-f", "%M", *cmd] if use_time else cmd
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    walls.append(time.perf_counter() - start)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(f"error: {label} exited with {code}: {' '.join(cmd)}\n")
        sys.stderr.write(open(out_path).read() + open(err_path).read())
        sys.exit(1)
    # Both in KiB on Linux; GNU time's last line is the figure.
    rss_kib.append(int(open(rss_path).read().split()[-1]) if use_time else usage.ru_maxrss)
    print(f"   {label}: {walls[-1]:.3f} s, {rss_kib[-1] / 1024:.1f} MiB", file=sys.stderr)
if source == "stdout":
    found = re.search(r"mean_latency_ms=([0-9.eE+-]+)", open(out_path).read())
    latency = float(found.group(1)) if found else float("nan")
else:
    with open(source, newline="") as f:
        latency = float(next(csv.DictReader(f))["latency_mean_ms"])
# The floor under ru_maxrss when this helper is the parent (0: GNU time measured it).
floor = 0 if use_time else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{label}\t{statistics.median(walls):.4f}\t{max(rss_kib)}\t{latency:.3f}\t{floor}")
PY

results="$tmp/results.tsv"
: >"$results"
measure() {
    python3 "$tmp/measure.py" "$@" >>"$results"
}

echo "== timing, $runs runs each" >&2
measure coordsim "$runs" "$tmp/coordsim-1m/runs.csv" -- \
    target/release/coordsim run scenarios/mmc.toml --policy random \
    --set duration=2778s --jobs 1 --out "$tmp/coordsim-1m"
measure minimal "$runs" stdout -- \
    target/release/examples/minimal_mmc "$customers" "$seed"
if [ "$have_simpy" -eq 1 ]; then
    measure simpy "$runs" stdout -- python3 benches/peers/mmc_simpy.py "$seed" "$customers"
fi
measure coordsim-4m "$runs" "$tmp/coordsim-4m/runs.csv" -- \
    target/release/coordsim run scenarios/mmc.toml --policy random \
    --set duration=11112s --jobs 1 --out "$tmp/coordsim-4m"

python3 - "$results" "$runs" <<'PY'
import sys

rows = {}
for line in open(sys.argv[1]):
    label, wall, rss, latency, floor = line.rstrip("\n").split("\t")
    rows[label] = (float(wall), int(rss) / 1024, float(latency))
    floor_mib = int(floor) / 1024
runs = sys.argv[2]
minimal = rows["minimal"][0]
print(f"\nM/M/4, load 0.9, ~1,000,000 customers; median of {runs} whole-process runs")
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

coordsim = rows["coordsim"][0]
def verdict(ok):
    return "meets target" if ok else "MISSES target"
ratio = coordsim / minimal
print(f"coordsim / minimal: {ratio:6.2f}x  (target <= 2x: {verdict(ratio <= 2.0)})")
if "simpy" in rows:
    ratio = rows["simpy"][0] / coordsim
    print(f"SimPy / coordsim:   {ratio:6.1f}x  (target >= 50x: {verdict(ratio >= 50.0)})")
else:
    print("SimPy / coordsim:   n/a (simpy not installed)")

one, four = rows["coordsim"][1], rows["coordsim-4m"][1]
print(f"\ncoordsim peak RSS: {one:.1f} MiB at 1M customers (2778 s), "
      f"{four:.1f} MiB at 4M customers (11112 s): x{four / one:.2f} for 4x the jobs")
PY
