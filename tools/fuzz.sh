#!/bin/sh
# Runs every native Go fuzz target of the module for a short, fixed time each
# (FUZZTIME, default 10s). The targets are found with `go test -list`, so a new
# FuzzXxx function is picked up without editing this script.
set -eu
FUZZTIME=${FUZZTIME:-10s}
total=0
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
		echo "fuzz: $pkg $target ($FUZZTIME)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
		total=$((total + 1))
	done
done
echo "fuzz: $total targets, $FUZZTIME each"
