#!/usr/bin/env bash
# The resource estimate against measured peak memory: for scenarios of different shapes
# (many replicas, gossip's square, many orchestrators, fine metric windows, an overloaded
# backlog, workflows, control agents), one run (one policy, one replication, one thread)
# under GNU time; prints the estimate `coordsim validate` gives, the measured peak resident
# memory, and their ratio (estimate / measured; the estimate aims to be within a factor of
# 3 and on the high side).
#
#   bash benches/resources/estimate.sh            # builds the release binary first
#
# Needs /usr/bin/time (GNU time) and python3. It measures only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
[ -n "${BIN:-}" ] || cargo build --release --bin coordsim >&2
bin="${BIN:-$root/target/release/coordsim}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
short="--set duration=20s --set warmup=2s"
cases=(
  "pool.toml|random|$short"
  "pool.toml|random|$short --set services.server.replicas=200000"
  "pool.toml|central|$short --set services.server.replicas=200000"
  "pool.toml|gossip|$short --set services.server.replicas=3000"
  "pool.toml|random|$short --set orchestrators=2000000"
  "pool.toml|random|--set duration=200s --set warmup=2s --set metrics.window=200us --set classes.request.arrival.rate=10"
  "pool.toml|random|$short --set classes.request.arrival.rate=5000"
  "mmc.toml|random|"
  "checkout.toml|auction|"
  "social-network.toml|gossip|"
  "scale.toml|central|"
  "autoscale.toml|power_of_d|"
  "flash-crowd.toml|random|"
  "human-approval.toml|central|"
  "retry-storm.toml|random|"
)
printf "%-70s %12s %12s %8s\n" "case" "estimate MiB" "measured MiB" "ratio"
for case in "${cases[@]}"; do
  IFS='|' read -r file policy sets <<<"$case"
  # shellcheck disable=SC2086
  est=$("$bin" validate "scenarios/$file" --policy "$policy" $sets --max-memory 1T --max-events 1e15 \
    | sed -n 's/.*needs about \([0-9.]*\) \([KMG]i\)B.*/\1 \2/p')
  est_mib=$(python3 -c "v,u='$est'.split(); print(float(v)*{'Ki':1/1024,'Mi':1,'Gi':1024}[u])")
  # shellcheck disable=SC2086
  kb=$( { /usr/bin/time -f "%M" "$bin" run "scenarios/$file" --policy "$policy" --replications 1 \
    --jobs 1 --out "$tmp/out" $sets --max-memory 1T --max-events 1e15 >/dev/null 2>"$tmp/err"; } 2>&1; tail -1 "$tmp/err")
  python3 -c "
e=$est_mib; m=int('$kb'.split()[-1])/1024
print(f\"{'$file $policy $sets'[:70]:70} {e:12.1f} {m:12.1f} {e/m:8.2f}\")"
done
