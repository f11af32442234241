#!/usr/bin/env bash
# One paired run of two builds on the M/M/c workload, as whole processes: the working tree's
# coordsim ("new"), the coordsim of an earlier commit ("old") and the minimal M/M/c loop,
# run in turn in each of RUNS rounds (default 11), so that the machine's drift hits all three
# alike. Prints each program's median wall time with its range, and the medians (with
# ranges) of the within-round ratios new/old, new/minimal and old/minimal.
#
#   bash benches/peers/paired_builds.sh OLD_COMMIT            # e.g. 18f3c02
#   RUNS=21 SET="--set duration=2778s" bash benches/peers/paired_builds.sh HEAD~3
#
# The old commit is checked out in a temporary git worktree under target/paired/ and built
# there with its own target directory (kept, so a second run of the same commit is quick).
# The workload is `scenarios/mmc.toml --policy random` with about 1,000,000 customers
# (`--set duration=2778s`, changeable with SET); ARGS adds more arguments to both coordsims
# (e.g. ARGS="--set ..."). Needs python3 (it times the runs). It measures only.
set -euo pipefail
old=${1:?usage: paired_builds.sh OLD_COMMIT}
runs="${RUNS:-11}"
set_args="${SET:---set duration=2778s}"
extra="${ARGS:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rev=$(git rev-parse --short "$old")
tree="$root/target/paired/$rev"
echo "== building the working tree (release)" >&2
cargo build --release --bin coordsim --example minimal_mmc >&2
if [ ! -d "$tree" ]; then
  git worktree add --detach "$tree" "$rev" >&2
fi
echo "== building $rev (release) in $tree" >&2
(cd "$tree" && CARGO_TARGET_DIR="$tree/target" cargo build --release --bin coordsim >&2)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$runs" "$tmp" "$root/target/release/coordsim" "$tree/target/release/coordsim" \
  "$root/target/release/examples/minimal_mmc" "$set_args $extra" <<'PY'
import statistics, subprocess, sys, time
runs, tmp, new, old, minimal, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6].split()
def cmd(binary):
    return [binary, "run", "scenarios/mmc.toml", "--policy", "random", "--jobs", "1", "--out", tmp, *args]
programs = {"new": cmd(new), "old": cmd(old), "minimal": [minimal, "1000000", "1"]}
times = {k: [] for k in programs}
for r in range(runs):
    for name, c in programs.items():
        t = time.perf_counter()
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - t)
def show(label, xs):
    print(f"{label:16} median {statistics.median(xs):.4f}  range {min(xs):.4f} .. {max(xs):.4f}")
print(f"{runs} rounds, each running new, old, minimal in turn (seconds, whole process)")
for k, xs in times.items():
    show(k, xs)
for a, b in [("new", "old"), ("new", "minimal"), ("old", "minimal")]:
    ratios = [x / y for x, y in zip(times[a], times[b])]
    show(f"{a}/{b}", ratios)
PY
