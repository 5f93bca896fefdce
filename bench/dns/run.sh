#!/usr/bin/env bash
# Compares hadron's DNS server with CoreDNS (file plugin) and Knot DNS serving the same
# zone, one after another in one run, with dnsperf and the same query mix. Prints each
# server's queries per second and p99 latency, and hadron's ratios.
#
#   bench/dns/run.sh              # DURATION=15 CLIENTS=4 by default
#   EDNS=1 bench/dns/run.sh       # queries with EDNS0 (dnsperf -e)
#   make bench-dns                # installs knot and CoreDNS first
#
# p99 comes from a second, verbose dnsperf run per server at the same settings (the
# per-query lines that dnsperf -v prints); qps from the plain run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-15}
LAT_DURATION=${LAT_DURATION:-5}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-100}
edns=(); [ "${EDNS:-}" = 1 ] && edns=(-e)
gobin=$(go env GOBIN); [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
COREDNS=${COREDNS:-$gobin/coredns}
KNOTD=${KNOTD:-/usr/sbin/knotd}
for bin in dnsperf dig "$COREDNS" "$KNOTD"; do
  command -v "$bin" >/dev/null || { echo "bench: $bin missing; run HADRON_BENCH_DEPS=1 scripts/install-deps.sh" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_answer() { # wait_answer PORT: until the main name answers
  for _ in $(seq 100); do
    dig @127.0.0.1 -p "$1" +short +tries=1 +time=1 shop.bench.test A 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  echo "bench: server on port $1 does not answer" >&2; return 1
}

(cd "$root" && go build -o "$work/hadron" ./cmd/hadron)
hport=${HADRON_PORT:-15301}; cport=${COREDNS_PORT:-15302}; kport=${KNOT_PORT:-15303}
sed "s/@PORT@/$hport/g" "$here/fleet.yaml.in" > "$work/fleet.yaml"
"$work/hadron" dns zone -f "$work/fleet.yaml" > "$work/db.bench.test"

# hadron: listen on all of 127.0.0.0/8's addresses in use, so both sites' health checks
# (TCP to the DNS port) pass. Rate limiting off, as for the others.
"$work/hadron" dns serve -f "$work/fleet.yaml" --listen "0.0.0.0:$hport" --rrl-rate 0 >"$work/hadron.log" 2>&1 &
pids+=($!)

cat > "$work/Corefile" <<CORE
bench.test:$cport {
    bind 127.0.0.1
    file $work/db.bench.test
}
CORE
(cd "$work" && "$COREDNS" -conf "$work/Corefile" >"$work/coredns.log" 2>&1) &
pids+=($!)

mkdir -p "$work/knot"
cat > "$work/knot.conf" <<KNOT
server:
    listen: 127.0.0.1@$kport
    rundir: $work/knot
database:
    storage: $work/knot
log:
  - target: stderr
    any: error
zone:
  - domain: bench.test
    storage: $work
    file: db.bench.test
KNOT
"$KNOTD" -c "$work/knot.conf" >"$work/knot.log" 2>&1 &
pids+=($!)

for p in $hport $cport $kport; do wait_answer "$p"; done
# The three must give the same answers before their speed means anything (CoreDNS
# adds the NS set to the authority section of positive answers; answers and RCODEs
# are compared).
answer() { dig @127.0.0.1 -p "$1" +noall +comments +answer "${@:2}" | grep -E 'status:|IN' | sed 's/id: [0-9]*//' | sort; }
for q in "shop.bench.test A" "nothere.bench.test A" "bench.test NS" "shop.bench.test AAAA"; do
  ref=$(answer "$kport" $q)
  for p in $hport $cport; do
    got=$(answer "$p" $q)
    [ "$got" = "$ref" ] || { echo "bench: answers differ for '$q' (port $p):"; echo "$got"; echo "knot:"; echo "$ref"; exit 1; } >&2
  done
done

run() { # run NAME PORT -> "qps p99ms"
  local out qps p99
  out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$here/queries.txt" -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" "${edns[@]}" 2>&1)
  qps=$(awk '/Queries per second:/ {print $4}' <<<"$out")
  lost=$(awk '/Queries lost:/ {print $3}' <<<"$out")
  p99=$(dnsperf -v -s 127.0.0.1 -p "$2" -d "$here/queries.txt" -l "$LAT_DURATION" -c "$CLIENTS" -q "$OUTSTANDING" "${edns[@]}" 2>/dev/null |
    awk '$1 == ">" && NF >= 5 {print $NF}' | sort -g | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.3f", a[i]*1000}')
  echo "$qps $p99 $lost"
}

printf '%-8s %12s %10s %8s\n' server qps p99_ms lost
declare -A QPS
for s in hadron:$hport coredns:$cport knot:$kport; do
  name=${s%%:*}; port=${s##*:}
  read -r qps p99 lost < <(run "$name" "$port")
  QPS[$name]=$qps
  printf '%-8s %12s %10s %8s\n' "$name" "$qps" "$p99" "$lost"
done
awk -v h="${QPS[hadron]}" -v c="${QPS[coredns]}" -v k="${QPS[knot]}" 'BEGIN {
  printf "hadron/coredns = %.2f (goal >= 1.5)\nhadron/knot    = %.2f (goal >= 0.5)\n", h/c, h/k }'
