#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each ($1, e.g.
# 5s). `go test -fuzz` accepts one target per run, so they are listed first.
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# when -fuzztime expires while a worker is mid-call (golang/go#75804, fixed
# in Go 1.27). That failure writes no reproducer and names no input, so such
# a run is retried once; any other failure, or a second one, fails.
set -euo pipefail
fuzztime=${1:-5s}
cd "$(dirname "$0")/.."
found=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_target() { # pkg target
	go test "$1" -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

bare_deadline() {
	grep -q 'context deadline exceeded' "$log" &&
		! grep -qE 'Failing input written to|panic:|_test\.go:[0-9]+:' "$log"
}

for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		found=$((found + 1))
		echo "fuzz $pkg $target for $fuzztime"
		if ! run_target "$pkg" "$target"; then
			if bare_deadline; then
				echo "fuzz $pkg $target: bare 'context deadline exceeded' at the -fuzztime boundary (golang/go#75804); running it once more"
				run_target "$pkg" "$target"
			else
				exit 1
			fi
		fi
	done
done
echo "ran $found fuzz target(s)"
