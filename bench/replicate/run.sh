#!/usr/bin/env bash
# Measures object replication against two real lab control planes (started by the
# benchmark on 127.0.211.1 and 127.0.212.1): the initial sync of 2,000 objects (time
# and API requests), p50/p99 propagation latency of 200 single changes, and the growth
# of the replicator's Go heap.
#
#   bench/replicate/run.sh               # hadron's client limits (100 QPS, burst 200)
#   BENCH_QPS=1000 bench/replicate/run.sh  # the same with the client limit raised
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/lab"
go test -count=1 -run '^$' -bench BenchmarkReplication -benchtime 1x ./e2e/replicate/
