#!/usr/bin/env bash
# make demo: start the lab (two regions and a witness), put the demo application on
# east, and show it answering through east's load-balancer address.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
export HADRON_LAB_DIR="${HADRON_LAB_DIR:-$PWD/.hadron-lab}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if hadron lab status >/dev/null 2>&1; then
  step "a lab is already running in $HADRON_LAB_DIR: stopping it first"
  hadron lab down
fi

step "hadron lab up   (sites east/us-east-1, west/us-west-2, witness/eu-central-1)"
start=$(date +%s)
hadron lab up
echo "lab up in $(( $(date +%s) - start ))s"

fleet="$HADRON_LAB_DIR/fleet.yaml"
step "hadron validate -f $fleet"
hadron validate -f "$fleet"

step "hadron lab apply --site east -f demo/manifests"
hadron lab apply --site east -f demo/manifests

step "waiting for east's load balancer (127.0.1.10:8080) to serve the application"
for i in $(seq 1 180); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.1.10:8080/healthz || true)
  [ "$code" = 200 ] && break
  sleep 1
done
[ "$code" = 200 ] || { echo "east did not become healthy (last HTTP $code)"; hadron lab status; exit 1; }

step "hadron lab status"
hadron lab status

step "the application answering through east's load balancer"
curl -s --max-time 5 http://127.0.1.10:8080/
for seq in 1 2 3; do
  curl -s --max-time 5 -X POST "http://127.0.1.10:8080/write?client=demo&seq=$seq"
done
curl -s --max-time 5 "http://127.0.1.10:8080/read?client=demo"

step "west (stand-by) has no ready pods yet, so its load balancer answers 503"
curl -s -i --max-time 5 http://127.0.2.10:8080/healthz | head -1

step "hadron data status shop-db"
hadron data status -f "$fleet" shop-db || true

cat <<TXT

The lab keeps running. Try:
  hadron lab status
  hadron lab link cut east west     (and: heal, latency east west 80)
  hadron lab fail zone us-east-1a   (and: restore zone us-east-1a)
  hadron plan -f $fleet
  hadron lab down                   (stops everything and removes $HADRON_LAB_DIR)
TXT
