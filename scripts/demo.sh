#!/usr/bin/env bash
# make demo: start the lab (two regions, a witness, a hadron daemon in each), put the
# demo application on east, then drill a region loss: east is killed under write load,
# hadron fails over to west on its own and reports the RTO and RPO it measured, then
# east comes back and the application fails back home without losing a write.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PATH"
export HADRON_LAB_DIR="${HADRON_LAB_DIR:-$PWD/.hadron-lab}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if hadron lab status >/dev/null 2>&1; then
  step "a lab is already running in $HADRON_LAB_DIR: stopping it first"
  hadron lab down
fi

# demo/lab.yaml: real worker nodes in each workload site, the database's members and
# the application in pods. HADRON_DEMO_LAB= (empty) runs the lab without containers
# (simulated nodes, members and application as host processes).
lab_config="${HADRON_DEMO_LAB-demo/lab.yaml}"
step "hadron lab up ${lab_config:+--config $lab_config}   (sites east/us-east-1, west/us-west-2, witness/eu-central-1)"
start=$(date +%s)
hadron lab up ${lab_config:+--config "$lab_config"}
echo "lab up in $(( $(date +%s) - start ))s"
pods=false
grep -qs '^memberPods: *true' "$lab_config" && pods=true

fleet="$HADRON_LAB_DIR/fleet.yaml"
step "hadron validate -f $fleet"
hadron validate -f "$fleet"

step "hadron lab apply --site east -f demo/manifests"
hadron lab apply --site east -f demo/manifests
if $pods; then
  step "hadron lab apply --site east -f demo/pods   (the web tier as two pods on east's real nodes)"
  hadron lab apply --site east -f demo/pods
fi

step "waiting for east's load balancer (127.0.1.10:8080) to serve the application"
for i in $(seq 1 180); do
  backend=$(curl -s -o /dev/null -D - --max-time 2 http://127.0.1.10:8080/healthz | tr -d '\r' | awk 'tolower($1)=="x-hadron-backend:" {b=$2} /^HTTP/ {c=$2} END {if (c==200) print b}' || true)
  # With pods the load balancer routes to their IPs (10.244.1.0/24); wait for them.
  if [ -n "$backend" ] && { ! $pods || [[ $backend == 10.244.* ]]; }; then break; fi
  sleep 1
done
[ -n "$backend" ] || { echo "east did not become healthy"; hadron lab status; exit 1; }
echo "served by $backend"

step "waiting until west (pilot-light stand-by) holds the application's objects"
export HADRON_FLEET="$fleet" HADRON_PKI="$HADRON_LAB_DIR/hadron-pki"
for i in $(seq 1 120); do
  hadron check readiness shop >/dev/null 2>&1 && break
  sleep 1
done
hadron check readiness shop

step "waiting until the daemons lead from the stand-by site (west), as they prefer"
for i in $(seq 1 30); do
  hadron status -o json 2>/dev/null | grep -q '"leader": *"west"' && break
  sleep 1
done

step "hadron status   (three daemons: east, west and the witness)"
hadron status

step "the drill: write through shop.gslb.example.com, kill region east, let hadron fail over on its own"
# The client resolves at the witness's name server and keeps each answer for its TTL
# (10 s), as a real one would. The report gives the measured RTO and RPO; then east is
# restored and the application fails back home under the same load.
hadron drill shop \
  --fault 'hadron lab fail site east' \
  --repair 'hadron lab restore site east' \
  --failback

if $pods; then
  step "hadron data status shop-db   (every member a pod: east-0, east-1 on east's real nodes, west-0 on west's)"
  hadron data status shop-db
  echo "east's load balancer now serves from $(curl -s -o /dev/null -D - --max-time 2 http://127.0.1.10:8080/healthz | tr -d '\r' | awk 'tolower($1)=="x-hadron-backend:" {print $2}')"
fi

step "hadron history shop"
hadron history shop

step "hadron backup status shop-db   (WAL archived to the object store in the witness's region, from whichever member is primary)"
# The leader took the first full backup soon after lab up; the failover and failback
# moved the archiving with the primary (docs/design/backups.md).
hadron backup status shop-db

cat <<TXT

The lab keeps running. Try:
  export HADRON_FLEET=$fleet HADRON_PKI=$HADRON_LAB_DIR/hadron-pki
  hadron status
  hadron switchover shop --to west   (planned, loses nothing)
  hadron drill shop --trigger switchover --to west
  hadron lab link cut east west     (and: heal, latency east west 80)
  hadron lab link cut east objectstore   (east's archiving stops; hadron backup status shop-db)
  hadron backup list shop-db
  hadron lab fail zone us-east-1a   (and: restore zone us-east-1a)
  hadron lab down                   (stops everything and removes $HADRON_LAB_DIR)
TXT
