#!/usr/bin/env bash
# The cost of control agents: scenarios/scale.toml (1,000 replicas over 50 services) run
# with and without an autoscaler on every service (target-tracking on utilisation 0.6,
# between 1 and 40 replicas, 10 s provisioning), as whole processes in RUNS paired rounds
# (default 7). Prints the medians and the median of the within-round ratios; the target is
# at most 1.3x. The autoscaler is added with --set, so the scenario file is unchanged.
#
#   bash benches/control/cost.sh            # POLICY=power_of_d RUNS=7 by default
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${RUNS:-7}"
policy="${POLICY:-power_of_d}"
cargo build --release --bin coordsim >&2
agents=$(python3 - <<'PY'
import tomllib
s = tomllib.load(open("scenarios/scale.toml", "rb"))
names = ", ".join(f'"{n}"' for n in s["services"])
print('[{ name = "hpa", kind = "autoscaler", services = [' + names + '], target = 0.6, min_replicas = 1, max_replicas = 40, provisioning = "10s" }]')
PY
)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$runs" "$policy" "$agents" "$tmp" <<'PY'
import statistics, subprocess, sys, time
runs, policy, agents, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
base = ["target/release/coordsim", "run", "scenarios/scale.toml", "--policy", policy, "--jobs", "1", "--out", tmp]
programs = {"without": base, "with": base + ["--set", f"agents={agents}"]}
times = {k: [] for k in programs}
for _ in range(runs):
    for name, cmd in programs.items():
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - t)
for k, xs in times.items():
    print(f"{k:8} median {statistics.median(xs):.3f} s  range {min(xs):.3f} .. {max(xs):.3f}")
ratios = [w / o for w, o in zip(times["with"], times["without"])]
print(f"with/without median {statistics.median(ratios):.3f}  range {min(ratios):.3f} .. {max(ratios):.3f}  (target <= 1.3)")
PY
