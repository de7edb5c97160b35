# hakit: build, test and demo targets. Run `make help` for a summary.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME ?= 10s

.PHONY: help build deps test bench fuzz lint demo lab cluster acceptance matrix compare clean man

help: ## this list
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every package and the commands into bin/
	$(GO) build ./...
	$(GO) build -ldflags "-X github.com/hakit/hakit/internal/version.linked=$$(git rev-parse HEAD 2>/dev/null)" -o bin/ ./cmd/... ./tools/demo

deps: ## install apt packages and Go modules the tests need (idempotent)
	@./tools/deps.sh

test: deps ## deps, then every test with the race detector
	$(GO) test -race -timeout 30m ./...

bench: deps ## the benchmarks whose figures the issues ask for, with a summary
	@./tools/bench.sh

fuzz: deps ## every fuzz target for FUZZTIME (default 10s) each
	@FUZZTIME=$(FUZZTIME) ./tools/fuzz.sh

man: ## write the man pages (hwagent.1, hwcheck.1) and bash completion into bin/ from the commands' help
	$(GO) run ./tools/mangen -o bin/man
	$(GO) run ./cmd/hwagent completion bash > bin/hwagent.bash

lint: ## go vet, staticcheck (pinned), gofmt, and the other-OS builds
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...

demo: deps ## the two-node rig on this machine: both agents, hwcheck, a cable pull, a link down and a fence; then teardown
	$(GO) run ./tools/demo $(DEMOFLAGS)

cluster: deps ## a real two-node Pacemaker cluster with hakit underneath: shown working, then torn down (CLUSTERFLAGS=--hold keeps it up)
	$(GO) run ./tools/cluster $(CLUSTERFLAGS)

acceptance: deps ## the install guide's five acceptance tests and the partition matrix (3 symmetric splits) on that cluster, each with its figure
	@set -o pipefail; $(GO) test -count=1 -v -timeout 40m -run 'TestAcceptance$$|TestPartitionMatrix$$' ./acceptance/ | tee /tmp/hakit-acceptance.log | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|FIGURE|MATRIX|SPLIT|ROUND|_test.go'

matrix: deps ## the partition matrix with the full 100 rounds of the symmetric split (1.5 to 3 hours on 2 cores)
	@set -o pipefail; HAKIT_SPLIT_ROUNDS=100 $(GO) test -count=1 -v -timeout 4h -run 'TestPartitionMatrix$$' ./acceptance/ | tee /tmp/hakit-matrix.log | grep -E '^(--- |ok|FAIL|PASS)|MATRIX|SPLIT|ROUND|_test.go'

compare: deps ## hakit against Heartbeat, ethmonitor, corosync knet, fence_scsi (in the QEMU lab) and sbd on the same stand-ins in one run: medians, p99s and ratios (COMPAREFLAGS=--short is the CI form, --readme README.md rewrites its table)
	$(GO) run ./tools/compare $(COMPAREFLAGS)

lab: deps ## boot two QEMU nodes (real kernel drivers) and run the acceptance scenarios
	$(GO) run ./tools/lab/cmd/lab $(LABFLAGS)

clean: ## remove build output
	rm -rf bin/
