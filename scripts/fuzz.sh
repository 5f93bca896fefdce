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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while IFS=: read -r file _ decl; do
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$decl")
  pkg=./$(dirname "$file")
  echo "fuzz: $pkg $name for $FUZZTIME"
  # On a loaded machine the fuzzing engine can end with "context deadline exceeded"
  # when -fuzztime runs out while a worker is slow to answer: no input failed and no
  # crasher is written. That run is tried once more; a crasher never is.
  for try in 1 2; do
    if "$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$log"; then
      break
    fi
    if [ "$try" = 1 ] && grep -q 'context deadline exceeded' "$log" &&
       [ -z "$(git status --porcelain -- "$(dirname "$file")/testdata/fuzz/$name" 2>/dev/null)" ]; then
      echo "fuzz: $pkg $name: the engine timed out waiting for a worker, no crasher: once more"
      continue
    fi
    failed+=("$pkg $name")
    break
  done
done < <(git grep -n -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' -- '*_test.go' ':!lab/')
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
