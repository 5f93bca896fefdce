#!/usr/bin/env bash
# Runs every fuzz target of the root module for a bounded time each (FUZZTIME, default
# 20s). Targets are found, not listed, so a new `func FuzzX` runs without editing this
# file. A crasher fails the run; go test leaves it in the package's testdata/fuzz/FuzzX/,
# where it stays as a seed (commit it with the fix).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-20s}
failed=()
while IFS=: read -r file _ decl; do
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$decl")
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name for $FUZZTIME"
  if ! "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"; then
    failed+=("$pkg $name")
  fi
done < <(git grep -n -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' -- '*_test.go' ':!lab/')
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
