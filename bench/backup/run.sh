#!/usr/bin/env bash
# Measures issue 18's backup figures (Part 1, PostgreSQL) on real parts: a PostgreSQL 15
# primary bootstrapped and configured by hadron's driver to archive with pgBackRest
# (archive-push from archive_command, synchronous: hadron does not set archive-async) to
# the lab's S3 store (internal/objectstore, TLS) through a toxiproxy link, and:
#
#   archive lag   pgbench writes RATE single-row inserts a second (default 1000) for
#                 LOAD_SECONDS (default 60); hadron's archive reading (Driver.ArchiveStatus:
#                 lag bytes, segments waiting, how long the oldest has waited, when the last
#                 file was archived) sampled every second: p50/p99/max
#   backup        a database of SIZE_MB (default 1024), its WAL archived, a full backup
#   restore       the member killed and its directory removed, then the failover's restore
#                 (Driver.RestoreLatest: pgbackrest restore, replay to the end of the
#                 archive, promotion), timed to the promoted server; rows checked
#
# each with the link at LATENCY each way (default the lab's 35ms: a 70 ms round trip) and
# again at 0 ms in the same run, printed side by side with their ratio, and the load
# average beside them (the machine is shared: ZERO_FIRST=1 measures 0 ms first, to run both
# orders and tell the link from a change of load). No lab is started: nothing listens outside 127.0.0.1 ports chosen
# by the kernel, so it runs beside a lab.
#
#   bench/backup/run.sh
#   SIZE_MB=256 LOAD_SECONDS=30 bench/backup/run.sh
#   ZERO_FIRST=1 bench/backup/run.sh
#   make bench-backup
set -euo pipefail
cd "$(dirname "$0")/../../lab"
cmd=(nice -n 10 go test -count=1 -run '^$' -bench '^BenchmarkBackup$' -benchtime 1x -timeout 90m ./e2e/backup/)
echo "SIZE_MB=${SIZE_MB:-1024} RATE=${RATE:-1000} LOAD_SECONDS=${LOAD_SECONDS:-60} LATENCY=${LATENCY:-35ms} (cd lab && ${cmd[*]})" >&2
"${cmd[@]}"
