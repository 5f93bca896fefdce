#!/usr/bin/env bash
# Measures how hadron's cost and recovery time grow with the fleet (issue 20). For every
# size N in SIZES it starts a lab with N light applications (lab.yaml's apps: stateless,
# each its own namespace, main name and health path at the sites' load balancers) beside
# the demo, applies OBJECTS objects per application to east, and measures:
#
#   at rest   each daemon's RSS and CPU (from /proc, over WINDOW seconds), its probes per
#             second and the etcd cluster's keys, bytes and writes per second (the
#             daemon's /metrics: hadron_probes_total, hadron_etcd_*)
#   sync      how long from the start of the apply until west holds every object
#             (its Deployments, Services and ConfigMaps of the light applications)
#   dns       dnsperf asks west's name server for every application's main name for
#             DNS_SECONDS (default 10) while the probes go on: queries/s, latency
#   failover  east killed (hadron lab fail site east, as a drill of the demo: its load
#             writer counts the acknowledged writes lost); per application, kill → its
#             failover run verified at west (the ledger's verified time): p50/p99/max
#
# and prints one table per size, then the growth per application between sizes.
#
#   bench/scale/run.sh                 # SIZES="1 10 100"
#   SIZES="1 10" bench/scale/run.sh
#   make bench-scale
#
# The lab runs on regions FIRST_REGION..+2 (default 49-51) with its own HADRON_LAB_DIR,
# so it does not meet a lab of the user or the tests. Every step is niced: the machine
# is usually shared.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/bin:$PATH"
SIZES=${SIZES:-"1 10 100"}
OBJECTS=${OBJECTS:-200}
WINDOW=${WINDOW:-30}
DNS_SECONDS=${DNS_SECONDS:-10}
FIRST_REGION=${FIRST_REGION:-49}
TIMEOUT=${TIMEOUT:-600}
OUT=${OUT:-$PWD/.bench-scale}
export HADRON_LAB_DIR="${HADRON_LAB_DIR:-$PWD/.hadron-lab-$FIRST_REGION}"
export HADRON_FLEET="$HADRON_LAB_DIR/fleet.yaml" HADRON_PKI="$HADRON_LAB_DIR/hadron-pki"
mkdir -p "$OUT"
N="nice -n 10"
HZ=$(getconf CLK_TCK)
KUBE=(kubectl --kubeconfig "$HADRON_LAB_DIR/kubeconfig" --request-timeout=30s)

log() { echo "$(date -u +%H:%M:%S) $*" >&2; }
now() { date +%s.%N; }
APPLY=
labdown() {
  # The appliers of an interrupted run first: they would retry a lab going away.
  if [ -n "$APPLY" ]; then pkill -P "$APPLY" || true; kill "$APPLY" 2>/dev/null || true; APPLY=; fi
  if $N hadron lab status >/dev/null 2>&1; then $N hadron lab down >&2 || true; fi
}
trap labdown EXIT

# poll SECONDS CMD...: runs CMD every 2 s until it succeeds; fails after SECONDS.
poll() {
  local until=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$until" ] || { log "timed out: $*"; return 1; }
    sleep 2
  done
}

# region SITE: the site's region number (east first, then west, then the witness).
region() {
  case $1 in east) echo "$FIRST_REGION" ;; west) echo $(( FIRST_REGION + 1 )) ;; *) echo $(( FIRST_REGION + 2 )) ;; esac
}
daemon_pid() { pgrep -f -- "--data-dir $HADRON_LAB_DIR/daemons/$1\$" | head -n1; }
metrics() {
  curl -sf --max-time 10 --cacert "$HADRON_PKI/ca.crt" "https://127.0.$(region "$1").40:7443/metrics" 2>/dev/null ||
    curl -sfk --max-time 10 "https://127.0.$(region "$1").40:7443/metrics"
}
# Reads its input to the end: an early exit would fail the curl before it (pipefail)
# once /metrics outgrows a pipe's buffer, as it does at 100 applications.
metric() { awk -v m="$1" '$1==m && !found {print $2; found=1}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# every light application answered up at its active site by the quorum (hadron
# status, verdicts). On a loaded machine an application may fail over before the kill
# (its probes time out at east): it is left out of the failover below, and the table
# says how many were at east. The demo is left out too (its database may be the cause).
all_up() {
  local n
  n=$($N hadron status -o json 2>/dev/null |
    jq '[.apps[] | select(.name != "shop" and .verdicts[.active] == "up")] | length') || return 1
  [ "${n:-0}" -ge "$1" ]
}
at_east() { $N hadron status -o json | jq '[.apps[] | select(.name != "shop" and .active == "east")] | length'; }
# west holds every Deployment, Service and ConfigMap of the light applications.
west_objects() {
  "${KUBE[@]}" --context hadron-lab-west get deployments,services,configmaps -A \
    -l 'app.kubernetes.io/part-of,app.kubernetes.io/part-of!=shop' -o name 2>/dev/null | wc -l
}
west_synced() { [ "$(west_objects)" -ge "$1" ]; }
# every light application's failover is verified in the ledger.
all_verified() {
  local n
  n=$($N hadron history -o json 2>/dev/null |
    jq '[.runs[] | select(.app != "shop" and .kind == "failover" and .verified != null) | .app] | unique | length') || return 1
  [ "${n:-0}" -ge "$1" ]
}

# dns_qps N DIR: the main names of every application (the demo's and N light ones)
# asked of west's daemon's name server by dnsperf for DNS_SECONDS while the probes go
# on: the queries per second it answers and their average latency.
dns_qps() {
  local q="$2/queries.txt" i
  echo "shop.gslb.example.com A" > "$q"
  for i in $(seq 1 "$1"); do printf 'app-%03d.gslb.example.com A\n' "$i" >> "$q"; done
  command -v dnsperf >/dev/null || { echo "dns: dnsperf missing (HADRON_BENCH_DEPS=1 scripts/install-deps.sh)"; return 0; }
  # Over TCP: over UDP the server's response rate limit (per source network, and
  # dnsperf has one) would be measured, not the server.
  dnsperf -m tcp -s "127.0.$(region west).40" -p 53 -d "$q" -l "$DNS_SECONDS" -c 4 -q 100 2>&1 |
    awk -v n="$(( $1 + 1 ))" '/Queries completed/ {c=$3} /Queries lost/ {l=$3} /Queries per second/ {q=$4} /Average Latency/ {a=$4}
      END {printf "dns: %s queries/s for %d main names at west'"'"'s name server over TCP (%s answered, %s lost, average %.2f ms) while probing\n", q, n, c, l, a*1000}'
}

declare -A ROW
run_size() {
  local n=$1 dir="$OUT/size-$1"
  rm -rf "$dir"; mkdir -p "$dir"
  cat > "$dir/lab.yaml" <<YAML
firstRegion: $FIRST_REGION
apps: $n
sites:
  - {name: east, region: us-east-1, zones: [us-east-1a, us-east-1b, us-east-1c], nodesPerZone: 2}
  - {name: west, region: us-west-2, zones: [us-west-2a, us-west-2b, us-west-2c], nodesPerZone: 2}
  - {name: witness, region: eu-central-1, role: witness}
YAML
  labdown
  log "size $n: lab up"
  $N hadron lab up --config "$dir/lab.yaml" >&2
  $N hadron lab apply --site east -f demo/manifests >/dev/null
  $N hadron-lab objects --apps "$n" --per-app "$OBJECTS" -o "$dir/objects" >&2
  local want=$(( n * (OBJECTS - 1) ))  # every object but the namespace
  log "size $n: applying $(( n * OBJECTS )) objects to east"
  local t0 t1 t2
  t0=$(now)
  # Four applications at a time, each applied up to three times: under load the site's
  # API server times requests out, and a namespace not created fails the rest.
  ls "$dir/objects" | xargs -P 4 -I{} sh -c 'for i in 1 2 3; do nice -n 10 hadron lab apply --site east -f "$1" >/dev/null 2>&1 && exit 0; sleep 2; done; echo "apply $1 failed" >&2; exit 1' _ "$dir/objects/{}" &
  APPLY=$!
  wait "$APPLY" || log "size $n: some applications' objects were not applied (see above)"
  APPLY=
  t1=$(now)
  poll "$TIMEOUT" west_synced "$want"
  t2=$(now)
  log "size $n: west holds $want objects; waiting for every app up at east"
  poll "$TIMEOUT" all_up "$n" || true
  local shop
  shop=$($N hadron status -o json | jq -r '.apps[] | select(.name == "shop") | "the demo (shop) active at \(.active), verdicts \(.verdicts | tostring)"')
  # Let the burst of the apply settle before measuring at rest.
  sleep 10
  local s pid
  declare -A T0 P0
  local r0 k0
  r0=$(metrics west | metric hadron_etcd_revision)
  for s in east west witness; do
    pid=$(daemon_pid "$s"); T0[$s]=$(cpu_ticks "$pid")
    P0[$s]=$(metrics "$s" | metric hadron_probes_total)
  done
  sleep "$WINDOW"
  local m
  m=$(metrics west)
  local r1 keys bytes
  r1=$(echo "$m" | metric hadron_etcd_revision)
  keys=$(echo "$m" | metric hadron_etcd_keys)
  bytes=$(echo "$m" | metric hadron_etcd_db_bytes)
  {
    echo "== size $n ($(( n * OBJECTS )) objects, $((n + 1)) applications with the demo)"
    printf '%-8s %8s %8s %10s\n' daemon rss_MB cpu_% probes/s
    for s in east west witness; do
      pid=$(daemon_pid "$s")
      local cpu rss p1
      cpu=$(awk -v a="${T0[$s]}" -v b="$(cpu_ticks "$pid")" -v hz="$HZ" -v w="$WINDOW" 'BEGIN{printf "%.1f", (b-a)/hz/w*100}')
      rss=$(rss_mb "$pid")
      p1=$(metrics "$s" | metric hadron_probes_total)
      printf '%-8s %8s %8s %10s\n' "$s" "$rss" "$cpu" "$(awk -v a="${P0[$s]}" -v b="$p1" -v w="$WINDOW" 'BEGIN{printf "%.1f", (b-a)/w}')"
      ROW[$n,$s,rss]=$rss ROW[$n,$s,cpu]=$cpu
    done
    printf 'etcd: %s keys, %.1f MB, %.1f writes/s (revisions) at rest\n' "$keys" "$(awk -v b="$bytes" 'BEGIN{print b/1048576}')" \
      "$(awk -v a="$r0" -v b="$r1" -v w="$WINDOW" 'BEGIN{print (b-a)/w}')"
    echo "$shop"
    printf 'objects: applied to east in %.1fs; west held all %d in %.1fs from the start of the apply\n' \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$want" "$(awk -v a="$t0" -v b="$t2" 'BEGIN{print b-a}')"
  } | tee "$dir/rest.txt"
  ROW[$n,keys]=$keys ROW[$n,bytes]=$bytes
  dns_qps "$n" "$dir" | tee -a "$dir/rest.txt"

  local east
  east=$(at_east)
  log "size $n: killing east ($east light applications active there)"
  echo "at the kill: $east of $n light applications active at east" | tee -a "$dir/rest.txt"
  # The kill is a drill of the demo: its load writer counts the acknowledged writes
  # the region loss took (the demo's mirror set fails over with everything else), and
  # its report dates the fault.
  local kill drill
  kill=$(now)
  $N hadron drill shop --fault 'hadron lab fail site east' --timeout "${TIMEOUT}s" -o json > "$dir/drill.json" 2> "$dir/drill.err" &
  drill=$!
  poll "$TIMEOUT" all_verified "$east" || true
  wait "$drill" || log "size $n: the demo's drill failed ($dir/drill.json, $dir/drill.err)"
  kill=$(jq -r '(.drills[0] // .failed).drill.start // empty' "$dir/drill.json" 2>/dev/null |
    python3 -c 'import sys,datetime; s=sys.stdin.read().strip(); print(datetime.datetime.fromisoformat(s[:26].rstrip("Z")+"+00:00").timestamp() if s else "")' 2>/dev/null) || true
  [ -n "$kill" ] || kill=$(now)
  jq -r '(.drills[0] // .failed) | "the demo under load: \(.drill.acked) writes acknowledged, \(.drill.lost | length) of them lost; system RTO \(.drill.systemRTONs / 1e9 * 100 | round / 100)s, client RTO \(.drill.clientRTONs / 1e9 * 100 | round / 100)s"' \
    "$dir/drill.json" 2>/dev/null | tee -a "$dir/rest.txt" || echo "the demo's drill: no report" | tee -a "$dir/rest.txt"
  $N hadron history -o json > "$dir/history.json" || true
  jq -r --argjson kill "$kill" '
    def ts: capture("^(?<s>[0-9-]+T[0-9:]+)(?<f>\\.[0-9]+)?") | ((.s + "Z") | fromdateiso8601) + ((.f // "0") | tonumber);
    [.runs[] | select(.kind == "failover" and .verified != null) | {app, t: ((.verified | ts) - $kill), rto: .rto} | select(.t > 0)]
    | group_by(.app) | map(min_by(.t)) as $runs
    | ($runs | map(select(.app != "shop")) | map(.t) | sort) as $t | ($t | length) as $k
    | ($runs | map(select(.app == "shop")) | .[0].t // null) as $shop
    | if $k == 0 then "failover: no run verified"
      else "failover: \($k) light applications verified at west after the kill: p50 \($t[(($k - 1) / 2 | floor)] * 10 | round / 10)s  p99 \($t[(($k * 0.99 | ceil) - 1)] * 10 | round / 10)s  max \($t[-1] * 10 | round / 10)s  (the demo \(if $shop then ($shop * 10 | round / 10 | tostring) + "s" else "not in this failover" end))"
      end' "$dir/history.json" | tee -a "$dir/rest.txt"
  labdown
}

for n in $SIZES; do run_size "$n"; done

echo "== growth per application (between the smallest and the largest size)"
set -- $SIZES
a=$1; b=${!#}
if [ "$a" != "$b" ]; then
  for s in east west witness; do
    awk -v s="$s" -v ra="${ROW[$a,$s,rss]}" -v rb="${ROW[$b,$s,rss]}" -v ca="${ROW[$a,$s,cpu]}" -v cb="${ROW[$b,$s,cpu]}" -v a="$a" -v b="$b" \
      'BEGIN{printf "%-8s %+.2f MB RSS, %+.3f %% CPU per application\n", s, (rb-ra)/(b-a), (cb-ca)/(b-a)}'
  done
  awk -v ka="${ROW[$a,keys]}" -v kb="${ROW[$b,keys]}" -v ba="${ROW[$a,bytes]}" -v bb="${ROW[$b,bytes]}" -v a="$a" -v b="$b" \
    'BEGIN{printf "etcd     %+.1f keys, %+.1f KB per application\n", (kb-ka)/(b-a), (bb-ba)/(b-a)/1024}'
fi
echo "results: $OUT"
