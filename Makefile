# Every target wraps an npm script or a script under hack/ (the development environment);
# see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help install bins up down up-fast down-fast test test-unit test-tools test-llm test-cluster test-kind \
        lint typecheck service operator demo-service cluster-up cluster-down kind-up kind-down \
        bench-service bench-operator argocd-bin argocd-up argocd-down

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json ## install npm dependencies (npm ci)

bins: ## build (or reuse) the control-plane binaries and helm (for the chart and migration tests)
	@hack/cluster/build-bins.sh >/dev/null
	@hack/helm/build-helm.sh >/dev/null

argocd-bin: ## build (or reuse) Argo CD from its Go module
	@hack/argocd/build.sh >/dev/null

up: install ## the main job: kind cluster, operator, examples/dev.yaml, a real summary on 127.0.0.1:8000
	hack/kind/demo.sh up

down: ## stop the port-forward and delete the kind cluster (builds stay cached)
	hack/kind/demo.sh down

up-fast: install bins ## the fast demo: local control plane with fake nodes, operator as a process, examples/dev.yaml
	hack/cluster/demo.sh up

down-fast: ## stop the fast demo
	hack/cluster/demo.sh down

test: install bins argocd-bin ## everything CI runs: lint (biome, dependency-cruiser), typecheck, unit, tools, real-LLM, local-cluster and kind tests
	npm run lint
	npm run typecheck
	npm test

test-unit: install ## unit tests only (Node only, no cluster)
	npm run test:unit

test-tools: install ## tests that need a tool hack/ installs (promtool, Schemathesis)
	npm run test:tools

test-llm: install ## the service against the real inference server
	npm run test:llm

test-cluster: install bins argocd-bin ## tests against the local control plane (fake nodes, Argo CD)
	npm run test:cluster

test-kind: install bins ## tests on the real kind cluster (builds and starts it if needed; root)
	npm run test:kind

lint: install ## biome check, and the layer rule (dependency-cruiser, .dependency-cruiser.cjs)
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
	hack/cluster/cluster.sh up

cluster-down: ## stop the local control plane and remove its state
	hack/cluster/cluster.sh down

argocd-up: bins argocd-bin ## Argo CD on the running cluster (after cluster-up or up); Git at .cluster/gitops.git
	hack/argocd/argocd.sh up

argocd-down: ## stop Argo CD (the Git repository stays)
	hack/argocd/argocd.sh down

kind-up: install bins ## the real cluster alone: kind on podman, images, operator, examples/dev.yaml (root)
	hack/kind/kind.sh up

kind-down: ## delete the kind cluster and stop its registry (builds stay cached)
	hack/kind/kind.sh down

bench-service: install ## service throughput/latency benchmark
	npm run bench:service

bench-operator: install bins ## operator scale benchmark
	npm run bench:operator
