# Every target wraps an npm script or a script under test/cluster; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help install bins test test-unit test-cluster lint typecheck service operator \
        cluster-up cluster-down kind-up up down bench-service bench-operator

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json ## install npm dependencies (npm ci)

bins: ## build (or reuse) the control-plane binaries
	@test/cluster/build-bins.sh >/dev/null

test: install bins ## lint, typecheck, unit and cluster tests (what CI runs)
	npm run lint
	npm run typecheck
	npm test

test-unit: install ## unit tests only (no cluster)
	npm run test:unit

test-cluster: install bins ## tests against the local control plane
	npm run test:cluster

lint: install ## biome check
	npm run lint

typecheck: install ## tsc --noEmit
	npm run typecheck

service: install ## the summarizer service on :8000
	npm run service

cluster-up: install bins ## start the local control plane; kubeconfig in .cluster/kubeconfig
	test/cluster/cluster.sh up

cluster-down: ## stop the local control plane and remove its state
	test/cluster/cluster.sh down

kind-up: ## a kind cluster instead (needs Docker and kind)
	test/cluster/kind-up.sh

bench-service: install ## service throughput/latency benchmark
	npm run bench:service

bench-operator: install bins ## operator scale benchmark
	npm run bench:operator
