#!/usr/bin/env bash
# The real local cluster: kind on rootful podman, one node running real
# kubelet and containerd, CoreDNS, metrics-server, the project's own images
# from its Dockerfiles in a local registry, the operator installed the way
# users install it, the real inference server as LM Studio, and
# examples/dev.yaml Ready. Everything is built here from pinned sources the
# first time, then cached (~/.cache/llmplan, podman's image store).
#
#   kind.sh up          build or reuse everything, create or reuse the cluster (idempotent)
#   kind.sh down        delete the cluster (and stop the registry; caches stay)
#   kind.sh status      exit 0 when the cluster answers
#   kind.sh kubectl …   the pinned kubectl against it
#   kind.sh kubeconfig  print the kubeconfig's path (images.env is in kind/ beside it)
#
# Kubeconfig: .cluster/kind-kubeconfig (.cluster-kind-<name>/ for another
# LLMPLAN_KIND_NAME). Needs root (rootful podman).
# Env: LLMPLAN_KIND_NAME (llmplan), LLMPLAN_KIND_EXAMPLE (examples/dev.yaml; empty: none).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/images/lib.sh"
name=$kind_name
# Another name is another cluster: its own podman network, registry and state directory.
state="$root/.cluster"
[ "$name" = llmplan ] || state="$root/.cluster-kind-$name"
work="$state/kind"
kubeconfig="$state/kind-kubeconfig"
example=${LLMPLAN_KIND_EXAMPLE-examples/dev.yaml}
export KIND_EXPERIMENTAL_PROVIDER=podman
[ "$kind_network" = kind ] || export KIND_EXPERIMENTAL_PODMAN_NETWORK=$kind_network

tools() {
  [ "$(id -u)" = 0 ] || { echo "kind.sh: run as root (kind runs on rootful podman here)" >&2; exit 1; }
  local shim kind_bins
  shim=$("$here/host-setup.sh")
  kind_bins=$("$here/build-bins.sh")
  cp_bins=$("$root/hack/cluster/build-bins.sh")
  export PATH="$shim:$kind_bins:$PATH"
}
kubectl() { "$cp_bins/kubectl" --kubeconfig "$kubeconfig" "$@"; }
exists() { kind get clusters 2>/dev/null | grep -qx "$name"; }
node_container() { echo "$name-control-plane"; }

cluster() {
  local node_image=$1 running network
  if exists; then
    running=$(podman inspect -f '{{.ImageName}}' "$(node_container)" 2>/dev/null || true)
    network=$(podman inspect -f '{{range $n, $_ := .NetworkSettings.Networks}}{{$n}} {{end}}' "$(node_container)" 2>/dev/null || true)
    if [ "$running" = "$node_image" ] && [ "${network% }" = "$kind_network" ] &&
      kind get kubeconfig --name "$name" >"$kubeconfig" 2>/dev/null &&
      kubectl get --raw /readyz >/dev/null 2>&1; then
      echo "    cluster $name already running" >&2
      return 0
    fi
    step "delete cluster $name (node image ${running:-unknown} on ${network:-no network}; want $node_image on $kind_network)"
    kind delete cluster --name "$name" >&2
    step_done
  fi
  step "kind create cluster $name"
  run_logged kind-create kind create cluster --name "$name" --image "$node_image" \
    --config "$here/kind-config.yaml" --kubeconfig "$kubeconfig" --wait 180s
  step_done
}

metrics_server() {
  local module
  module=$(cd "$here/bins" && go list -m -f '{{.Dir}}' sigs.k8s.io/metrics-server)
  mkdir -p "$work/metrics-server"
  # The release manifests of the pinned module; the kubelet's serving
  # certificate is self-signed in kind, so metrics-server is told to accept it.
  cat >"$work/metrics-server/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$work/metrics-server" "$module/manifests/overlays/release")
patches:
  - target: { kind: Deployment, name: metrics-server }
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/args/-
        value: --kubelet-insecure-tls
KUST
  # Its upstream kustomization still uses commonLabels, which kubectl warns about.
  kubectl apply -k "$work/metrics-server" 2>&1 >/dev/null | { grep -v commonLabels >&2 || true; }
}

operator() {
  local image=$1
  mkdir -p "$work/operator"
  # The user's install (`kubectl apply -k deploy/`), with the image this
  # checkout built: a kustomize overlay, as a user would pin a release.
  cat >"$work/operator/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../deploy
images:
  - name: ghcr.io/llmplan/llmplan-operator
    newName: ${image%:*}
    newTag: ${image##*:}
KUST
  kubectl apply --server-side --force-conflicts -k "$work/operator" >/dev/null
}

lmstudio() { # NAMESPACE IMAGE
  mkdir -p "$work/lmstudio-$1"
  cat >"$work/lmstudio-$1/kustomization.yaml" <<KUST
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $1
resources:
  - ../../../hack/kind/manifests/lmstudio
images:
  - name: ghcr.io/llmplan/inference-server
    newName: ${2%:*}
    newTag: ${2##*:}
KUST
  kubectl apply -k "$work/lmstudio-$1" >/dev/null
}

up() {
  local start node_image
  start=$(date +%s)
  tools
  mkdir -p "$work"
  node_image=$("$here/images/node-image.sh")
  cluster "$node_image"
  "$here/registry.sh" up
  "$here/images/project.sh" "$work/images.env"
  # shellcheck disable=SC1091
  . "$work/images.env"
  step "metrics-server, the operator (kubectl apply -k deploy/), LM Studio's stand-in"
  metrics_server
  operator "$OPERATOR_IMAGE"
  kubectl -n llmplan-system rollout status deployment/llmplan-operator --timeout=180s >/dev/null
  if [ -n "$example" ]; then
    kubectl apply -f "$root/$example" >/dev/null
    local ns
    ns=$(kubectl apply -f "$root/$example" --dry-run=client -o jsonpath='{.items[?(@.kind=="SummarizerService")].metadata.namespace}')
    lmstudio "$ns" "$LLM_IMAGE"
    step_done
    step "wait for $example to be Ready"
    kubectl -n "$ns" wait deployment/lmstudio --for=condition=Available --timeout=180s >/dev/null
    kubectl -n "$ns" wait sumsvc --all --for=condition=Ready --timeout=300s >/dev/null
  fi
  kubectl -n kube-system wait deployment/metrics-server --for=condition=Available --timeout=120s >/dev/null
  step_done
  echo "kind cluster $name ready in $(elapsed "$start"); KUBECONFIG=$kubeconfig" >&2
}

down() {
  tools
  exists && kind delete cluster --name "$name" >&2
  "$here/registry.sh" down
  rm -rf "$work" "$kubeconfig"
  echo "kind cluster $name removed" >&2
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  # Builds nothing: the node container runs and its API server answers.
  status)
    [ "$(podman inspect -f '{{.State.Running}}' "$(node_container)" 2>/dev/null)" = true ] &&
      [ -s "$kubeconfig" ] && cp_bins=$("$root/hack/cluster/build-bins.sh") &&
      kubectl get --raw /readyz >/dev/null 2>&1
    ;;
  kubectl) shift; tools; kubectl "$@" ;;
  kubeconfig) echo "$kubeconfig" ;;
  *) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
