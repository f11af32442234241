#!/usr/bin/env bash
# Runs every shipped scenario under all eight policies (one replication each, the scenario's
# seed) with the coordsim binary given, and writes each run's result files under OUT/.
# Two trees made by two builds are compared with `diff -r`: a refactoring or an optimisation
# that claims to change no output must leave no difference.
#
#   bash benches/identical/outputs.sh target/release/coordsim /tmp/outputs-new
#   diff -r /tmp/outputs-old /tmp/outputs-new && echo identical
#
# The trace of the first policy and the audit log of every policy are written too, so that
# the observers' views are compared as well.
set -euo pipefail
bin=${1:?usage: outputs.sh COORDSIM_BINARY OUT_DIR}
out=${2:?usage: outputs.sh COORDSIM_BINARY OUT_DIR}
cd "$(dirname "$0")/../.."
policies="central auction gossip random round_robin least_outstanding power_of_d peak_ewma"
rm -rf "$out"
mkdir -p "$out"
for file in scenarios/*.toml; do
  name=$(basename "$file" .toml)
  args=()
  for p in $policies; do args+=(--policy "$p"); done
  "$bin" run "$file" "${args[@]}" --replications 1 --out "$out/$name" --audit --audit-limit 2000 \
    --trace-jobs 50 >/dev/null 2>"$out/$name.stderr"
  # The footer lines on stderr carry wall-clock time; keep the rest.
  # The output directory is named as OUT so that two trees compare.
  grep -v -E 'wall|elapsed|[0-9]+(\.[0-9]+)? ?(ms|s) ' "$out/$name.stderr" | sed "s|$out|OUT|g" \
    > "$out/$name.stderr.kept" || true
  rm "$out/$name.stderr"
done
find "$out" -type f | wc -l | xargs echo "files written:"
