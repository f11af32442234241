#!/bin/bash
# Sweep throughput at --jobs 1 and --jobs 2: 200 runs of ~20 ms, three times each,
# median runs/s and their ratio. Measure on a quiet machine (check `uptime` first).
set -euo pipefail
cd "$(dirname "$0")/../.."
nice -n 10 cargo build --release --quiet
bin=target/release/coordsim
out=$(mktemp -d)
rate() { "$bin" sweep benches/sweep/many-short-runs.toml --jobs "$1" --out "$out/j$1" 2>&1 >/dev/null \
    | grep -o '[0-9.]* runs/s' | tail -1 | cut -d' ' -f1; }
declare -a one two
for i in 1 2 3; do one+=("$(rate 1)"); two+=("$(rate 2)"); done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
m1=$(median "${one[@]}"); m2=$(median "${two[@]}")
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "jobs 1: ${one[*]} runs/s (median $m1)"
echo "jobs 2: ${two[*]} runs/s (median $m2)"
awk -v a="$m1" -v b="$m2" 'BEGIN { printf "speedup: %.2f\n", b / a }'
python3 - "$out/j1/timing.csv" "$m1" <<'PY' || true
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
runs = sum(float(r["wall_s"]) for r in rows)
total = len(rows) / float(sys.argv[2])
print(f"jobs 1: {runs:.2f} s inside runs of {total:.2f} s, sweep overhead {1000 * (total - runs) / len(rows):.2f} ms per run")
PY
rm -rf "$out"
