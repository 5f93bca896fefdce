#!/usr/bin/env bash
# Measures hadron's two moves on a fresh lab, as the closing notes report them:
# REPEAT region-loss drills (east killed under write load, automatic failover to west,
# east restored, failback home) and REPEAT planned switchovers (east → west → east ...).
# Prints the p50/max summary that `hadron drill --repeat` computes; the JSON documents,
# with every drill's report, are kept in OUT.
#
#   bench/drills/run.sh               # REPEAT=10
#   REPEAT=3 bench/drills/run.sh
#   make bench-drills
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/bin:$PATH"
export HADRON_LAB_DIR="${HADRON_LAB_DIR:-$PWD/.hadron-lab}"
REPEAT=${REPEAT:-10}
OUT=${OUT:-$PWD/.bench-drills}
mkdir -p "$OUT"

if hadron lab status >/dev/null 2>&1; then hadron lab down; fi
hadron lab up
fleet="$HADRON_LAB_DIR/fleet.yaml"
export HADRON_FLEET="$fleet" HADRON_PKI="$HADRON_LAB_DIR/hadron-pki"
hadron lab apply --site east -f demo/manifests
for i in $(seq 1 180); do
  hadron check readiness shop >/dev/null 2>&1 && break
  sleep 1
done
hadron check readiness shop >/dev/null
for i in $(seq 1 30); do
  hadron status -o json 2>/dev/null | grep -q '"leader": *"west"' && break
  sleep 1
done

echo "== $REPEAT region-loss drills (fail site east, automatic failover, restore, failback)"
hadron drill shop --fault 'hadron lab fail site east' --repair 'hadron lab restore site east' \
  --failback --repeat "$REPEAT" -o json > "$OUT/region-loss.json"
jq '{stats, error}' "$OUT/region-loss.json"

echo "== $REPEAT planned switchovers"
hadron drill shop --trigger switchover --repeat "$REPEAT" -o json > "$OUT/switchover.json"
jq '{stats, error}' "$OUT/switchover.json"
echo "reports: $OUT/region-loss.json $OUT/switchover.json"
