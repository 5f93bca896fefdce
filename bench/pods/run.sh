#!/usr/bin/env bash
# Issue 16's cost, measured in one run: the demo lab without containers (simulated
# nodes, members and application as host processes) and make demo's lab (demo/lab.yaml:
# two real nodes per workload site, the members and the web tier in pods), one after
# the other on the same machine. For each: `hadron lab up` time, the RSS of the lab's
# processes once the demo serves, and REPEAT region-loss drills (east killed under
# write load, automatic failover, restore, failback): p50/max system and client RTO,
# acknowledged writes lost. Prints a table and the pods/host ratios (noisy machines:
# compare ratios, not absolute figures).
#
#   bench/pods/run.sh            # REPEAT=3
#   REPEAT=5 bench/pods/run.sh
#   WARMUP=15s bench/pods/run.sh   # a quieter machine at each fault
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/bin:$PATH"
REPEAT=${REPEAT:-3}
TIMEOUT=${TIMEOUT:-3m}
# WARMUP is how long each drill writes before its fault (hadron drill --warmup): after
# a failback the lab with containers is still busy (pods stopping at west, starting
# at east) for a few seconds, which a short warm-up measures too.
WARMUP=${WARMUP:-3s}
OUT=${OUT:-$PWD/.bench-pods}
mkdir -p "$OUT"
export HADRON_LAB_DIR="$OUT/lab"

# rss_mb sums the resident memory of every process whose command line names the lab's
# directory (the lab's own processes, kubelets, containerds) plus the containers'
# processes (children of the containerd shims).
rss_mb() {
  local pids
  pids=$( { pgrep -f -- "$HADRON_LAB_DIR" || true; for s in $(pgrep -f containerd-shim || true); do pgrep -P "$s" || true; done; } | sort -u)
  [ -n "$pids" ] || { echo 0; return; }
  # shellcheck disable=SC2086
  ps -o rss= -p $(echo $pids | tr ' ' ',') | awk '{s+=$1} END {printf "%d", s/1024}'
}

run() { # run NAME CONFIG
  local name=$1 config=$2
  if hadron lab status >/dev/null 2>&1; then hadron lab down >/dev/null; fi
  local t0 t1
  t0=$(date +%s.%N)
  hadron lab up ${config:+--config "$config"} > "$OUT/$name-up.log" 2>&1
  t1=$(date +%s.%N)
  export HADRON_FLEET="$HADRON_LAB_DIR/fleet.yaml" HADRON_PKI="$HADRON_LAB_DIR/hadron-pki"
  hadron lab apply --site east -f demo/manifests >/dev/null
  if [ -n "$config" ]; then hadron lab apply --site east -f demo/pods >/dev/null; fi
  for _ in $(seq 1 180); do hadron check readiness shop >/dev/null 2>&1 && break; sleep 1; done
  for _ in $(seq 1 30); do hadron status -o json 2>/dev/null | grep -q '"leader": *"west"' && break; sleep 1; done
  sleep 10 # settle before the memory is read
  local rss
  rss=$(rss_mb)
  hadron drill shop --fault 'hadron lab fail site east' --repair 'hadron lab restore site east' \
    --failback --repeat "$REPEAT" --timeout "$TIMEOUT" --warmup "$WARMUP" -o json > "$OUT/$name.json" || true
  local t2 t3
  t2=$(date +%s.%N)
  hadron lab down >/dev/null
  t3=$(date +%s.%N)
  jq -c --arg up "$(awk "BEGIN {print $t1 - $t0}")" --arg down "$(awk "BEGIN {print $t3 - $t2}")" --arg rss "$rss" --arg name "$name" \
    '{name: $name, up: ($up|tonumber), down: ($down|tonumber), rssMB: ($rss|tonumber), drills: .stats.drills,
      sys50: (.stats.systemRTONs[0]/1e9), sysMax: (.stats.systemRTONs[1]/1e9),
      cli50: (.stats.clientRTONs[0]/1e9), cliMax: (.stats.clientRTONs[1]/1e9),
      lostMax: .stats.lostWrites[1], failbackLost: .stats.failbackLost, error: .error}' "$OUT/$name.json" > "$OUT/$name.summary.json"
}

run host ""
run pods demo/lab.yaml
jq -s -r '
  (["", "lab up s", "lab down s", "RSS MB", "drills", "system RTO p50/max s", "client RTO p50/max s", "lost (max)", "failback lost"] | @tsv),
  (.[] | [.name, (.up*10|round/10), (.down*10|round/10), .rssMB, .drills,
          "\(.sys50*100|round/100)/\(.sysMax*100|round/100)", "\(.cli50*100|round/100)/\(.cliMax*100|round/100)",
          .lostMax, .failbackLost] | @tsv),
  (. as [$h, $p] | ["pods/host", ($p.up/$h.up*100|round/100), ($p.down/$h.down*100|round/100), ($p.rssMB/$h.rssMB*100|round/100), "",
          ($p.sys50/$h.sys50*100|round/100), ($p.cli50/$h.cli50*100|round/100), "", ""] | @tsv)' \
  "$OUT/host.summary.json" "$OUT/pods.summary.json" | column -t -s $'\t'
jq -r 'select(.error != null and .error != "") | "\(.name): \(.error)"' "$OUT"/*.summary.json
