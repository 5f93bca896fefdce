#!/usr/bin/env bash
# Installs what hadron's demo and tests need, only when missing. Idempotent; safe in CI
# (no prompts). Debian packages via apt-get; Go tools via `go install` at pinned versions.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
want() { # want BINARY PACKAGE [PATH]
  local bin=$1 pkg=$2 path=${3:-}
  if [ -n "$path" ]; then [ -x "$path" ] && return 0; elif have "$bin"; then return 0; fi
  need_apt+=("$pkg")
}

want postgres postgresql-15 /usr/lib/postgresql/15/bin/postgres
want pg_basebackup postgresql-client-15 /usr/lib/postgresql/15/bin/pg_basebackup
want pgbackrest pgbackrest # mirror sets' WAL archive and backups (internal/data/pgbackrest)
want named bind9 /usr/sbin/named
want nsupdate bind9-utils
want dig bind9-dnsutils
want knotd knot /usr/sbin/knotd
want kdig knot-dnsutils
want dnsperf dnsperf
want ip iproute2
want ss iproute2
want pgrep procps
want openssl openssl
want jq jq
# Real nodes of the lab (lab.yaml realNodes): a containerd per node, runc, and the CNI
# plugins for the pods' bridge network. A containerd already installed (Docker's
# containerd.io on a CI runner) is used as it is.
want containerd containerd
want ctr containerd
have runc || [ -x /usr/sbin/runc ] || want runc runc
want bridge containernetworking-plugins /usr/lib/cni/bridge
want nsenter util-linux # each real node runs in its own mount namespace (nsenter, unshare)
want unshare util-linux
want chromium chromium # the dashboard's browser tests (internal/dashboard) drive it headless

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian postgresql package starts a cluster of its own; hadron runs its own
  # instances, so stop the packaged one to free port 5432.
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
  fi
fi

# PostgreSQL refuses to run as root: the lab and the tests run it as this OS user.
if ! id hadron-pg >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin hadron-pg
  fi
fi

# Go tools, pinned. GOBIN defaults to $(go env GOPATH)/bin.
gobin=$(go env GOBIN); [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
go_tool() { # go_tool BINARY MODULE@VERSION
  [ -x "$gobin/$1" ] && return 0
  echo "install-deps: go install $2"
  go install "$2"
}
if [ "${HADRON_BENCH_DEPS:-}" = 1 ]; then
  go_tool coredns github.com/coredns/coredns@v1.12.4
fi
echo "install-deps: ok"
