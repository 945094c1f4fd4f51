#!/usr/bin/env bash
# A kind cluster instead of the local processes, where Docker and kind exist
# (not on the development machines of this project, which have no Docker
# engine). Writes the same .cluster/kubeconfig path the tests read through
# LLMPLAN_TEST_KUBECONFIG:
#
#   test/cluster/kind-up.sh && LLMPLAN_TEST_KUBECONFIG=.cluster/kind.kubeconfig npm run test:cluster
#
# kind runs real kubelets, so the image-tag conventions of the fake nodes
# (crashloop, imagepull, ...) do not apply there; the remediation end-to-end
# tests rely on them and skip on a substituted cluster.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
name=${LLMPLAN_CLUSTER_NAME:-llmplan}
for tool in docker kind; do
  command -v "$tool" >/dev/null || { echo "kind-up: '$tool' not found; use 'make cluster-up' instead" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "kind-up: no Docker engine is running" >&2; exit 1; }
mkdir -p "$root/.cluster"
kind get clusters | grep -qx "$name" || kind create cluster --name "$name" --wait 120s
kind get kubeconfig --name "$name" >"$root/.cluster/kind.kubeconfig"
echo "kind cluster $name ready: LLMPLAN_TEST_KUBECONFIG=$root/.cluster/kind.kubeconfig"
