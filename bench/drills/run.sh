#!/usr/bin/env bash
# Measures hadron's two moves on a fresh lab, as the closing notes report them:
# REPEAT region-loss drills (east killed under write load, automatic failover to west,
# east restored, failback home) and REPEAT planned switchovers (east → west → east ...).
# Prints the p50/max summary that `hadron drill --repeat` computes; the JSON documents,
# with every drill's report, are kept in OUT.
#
# With DNS=bind or DNS=external-dns the lab runs the company's BIND 9 as the zone's
# authoritative server (written by hadron's leader over RFC 2136, or by an external-dns
# per site from the DNSEndpoints hadron writes); the drills' client resolves at BIND only,
# and a watcher asks BIND 20 times a second, so the report also says when BIND answered
# the new site — against the drill's start and against the runbook's dns step.
#
#   bench/drills/run.sh               # REPEAT=10, hadron's own name servers
#   REPEAT=3 bench/drills/run.sh
#   DNS=bind bench/drills/run.sh      # the RFC 2136 path
#   DNS=external-dns bench/drills/run.sh   # needs `make external-dns` first
#   FIRST_REGION=33 DNS=bind bench/drills/run.sh   # a lab on 127.0.33-35.x
#   make bench-drills
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/bin:$PATH"
REPEAT=${REPEAT:-10}
# TIMEOUT bounds each run and the client's recovery (hadron drill --timeout); a loaded
# machine needs more than the default.
TIMEOUT=${TIMEOUT:-3m}
DNS=${DNS:-hadron}
# FIRST_REGION runs the lab on other loopback ranges (127.0.N-N+2.x), so two benches
# can run side by side.
FIRST_REGION=${FIRST_REGION:-1}
OUT=${OUT:-$PWD/.bench-drills/$DNS}
mkdir -p "$OUT"
labflags=()
if [ "$FIRST_REGION" != 1 ]; then
  export HADRON_LAB_DIR="${HADRON_LAB_DIR:-$PWD/.hadron-lab-$FIRST_REGION}"
  cat > "$OUT/lab.yaml" <<YAML
firstRegion: $FIRST_REGION
daemons: true
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], nodesPerZone: 2}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], nodesPerZone: 2}
  - {name: witness, region: eu-central-1, role: witness}
YAML
  labflags=(--config "$OUT/lab.yaml")
fi
export HADRON_LAB_DIR="${HADRON_LAB_DIR:-$PWD/.hadron-lab}"
# The company BIND: 127.0.0.1, port 15300 + the witness region's number
# (lab/internal/topology/corpdns.go).
CORP=127.0.0.1:$((15300 + FIRST_REGION + 2))
MAIN=shop.gslb.example.com
dnsflags=()
case "$DNS" in
  hadron) ;;
  bind|external-dns) dnsflags=(--dns "$CORP") ;;
  *) echo "DNS=$DNS: want hadron, bind or external-dns" >&2; exit 2 ;;
esac
if [ "$DNS" = external-dns ] && ! command -v external-dns >/dev/null; then
  echo "DNS=external-dns needs bin/external-dns: run make external-dns first" >&2; exit 2
fi

if hadron lab status >/dev/null 2>&1; then hadron lab down; fi
hadron lab up ${labflags[@]+"${labflags[@]}"} --dns "$DNS"
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

rc=0
watcher=
if [ ${#dnsflags[@]} -gt 0 ]; then
  go build -o "$OUT/dnsmove" ./bench/drills/dnsmove
  "$OUT/dnsmove" watch --server "$CORP" --name "$MAIN" > "$OUT/answers.jsonl" &
  watcher=$!
  trap 'kill $watcher 2>/dev/null || true' EXIT
fi

echo "== $REPEAT region-loss drills (fail site east, automatic failover, restore, failback)"
hadron drill shop --fault 'hadron lab fail site east' --repair 'hadron lab restore site east' \
  --failback --repeat "$REPEAT" --timeout "$TIMEOUT" ${dnsflags[@]+"${dnsflags[@]}"} -o json > "$OUT/region-loss.json" || rc=1
jq '{stats, error}' "$OUT/region-loss.json"

echo "== $REPEAT planned switchovers"
hadron drill shop --trigger switchover --repeat "$REPEAT" --timeout "$TIMEOUT" ${dnsflags[@]+"${dnsflags[@]}"} -o json > "$OUT/switchover.json" || rc=1
jq '{stats, error}' "$OUT/switchover.json"
if [ -n "$watcher" ]; then
  kill "$watcher"; wait "$watcher" 2>/dev/null || true
  echo "== when BIND ($CORP) answered the new site"
  (cd "$OUT" && ./dnsmove report --answers answers.jsonl region-loss.json switchover.json)
fi
echo "reports: $OUT/region-loss.json $OUT/switchover.json"
exit $rc
