#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each ($1, e.g.
# 5s). `go test -fuzz` accepts one target per run, so they are listed first.
set -euo pipefail
fuzztime=${1:-5s}
cd "$(dirname "$0")/.."
found=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		found=$((found + 1))
		echo "fuzz $pkg $target for $fuzztime"
		go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime"
	done
done
echo "ran $found fuzz target(s)"
