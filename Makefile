# Every target wraps an npm script or a script under test/cluster; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help install bins up down test test-unit test-cluster lint typecheck service operator \
        demo-service cluster-up cluster-down kind-up bench-service bench-operator

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json ## install npm dependencies (npm ci)

bins: ## build (or reuse) the control-plane binaries and helm (for the chart and migration tests)
	@test/cluster/build-bins.sh >/dev/null
	@test/helm/build-helm.sh >/dev/null

up: install bins ## local cluster + CRD + operator + examples/dev.yaml (the main job)
	test/cluster/demo.sh up

down: ## stop the operator and the local cluster
	test/cluster/demo.sh down

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

service: install ## the summarizer service on :8000 (needs LM Studio; see demo-service)
	npm run service

demo-service: install ## the service against a local fake LM Studio, ready to curl
	npm run demo:service

operator: install ## the operator against the current KUBECONFIG
	npm run operator

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
