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
# State: .kind/ (.kind-<name>/ for another LLMPLAN_KIND_NAME) holds the kubeconfig, the
# image references (images.env) and the port-forward of `make up`; the local control plane
# of `make cluster-up` keeps its own in .cluster/, so removing one never breaks the other.
# Needs root (rootful podman).
# Env: LLMPLAN_KIND_NAME (llmplan), LLMPLAN_KIND_EXAMPLE (examples/dev.yaml; empty: none).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/images/lib.sh"
name=$kind_name
# Another name is another cluster: its own podman network, registry and state directory.
state="$root/.kind"
[ "$name" = llmplan ] || state="$root/.kind-$name"
work="$state"
kubeconfig="$state/kubeconfig"
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
  - $(realpath --relative-to="$work/operator" "$root/deploy")
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
  - $(realpath --relative-to="$work/lmstudio-$1" "$here/manifests/lmstudio")
images:
  - name: ghcr.io/llmplan/inference-server
    newName: ${2%:*}
    newTag: ${2##*:}
KUST
  kubectl apply -k "$work/lmstudio-$1" >/dev/null
}

# The node's containerd pulls ghcr.io/... through http://llmplan-registry:5000
# (images/kind-node/hosts.toml), and resolves that name the way the node does: /etc/hosts,
# then the host's resolver. podman's network alias is no help there: on Debian's podman
# (CNI backend) the network has no DNS unless a DNS plugin is installed, and none is on a
# fresh machine. So the registry's address on the cluster's network is written into the
# node's /etc/hosts, on every `up` (the registry may have restarted on another address),
# and checked at once by name, from inside the node, the way containerd will reach it.
registry_route() {
  local node ip
  node=$(node_container)
  ip=$(podman inspect -f "{{with index .NetworkSettings.Networks \"$kind_network\"}}{{.IPAddress}}{{end}}" \
    "$registry_container" 2>/dev/null || true)
  if [ -z "$ip" ]; then
    echo "kind.sh: the registry container $registry_container has no address on podman network" \
      "$kind_network (podman inspect $registry_container)" >&2
    exit 1
  fi
  podman exec "$node" sh -c "grep -v '[[:space:]]llmplan-registry\$' /etc/hosts >/etc/hosts.llmplan || true
    echo '$ip llmplan-registry' >>/etc/hosts.llmplan && cat /etc/hosts.llmplan >/etc/hosts && rm /etc/hosts.llmplan"
  if ! podman exec "$node" curl -fsS -m 5 -o /dev/null http://llmplan-registry:5000/v2/; then
    echo "kind.sh: the node $node cannot reach the registry as llmplan-registry:5000, the name its" \
      "containerd pulls ghcr.io images through (hack/kind/images/kind-node/hosts.toml);" \
      "/etc/hosts in the node says $ip, the registry's address on network $kind_network." \
      "Nothing would pull: stopping here." >&2
    podman exec "$node" sh -c 'getent hosts llmplan-registry; ip -4 addr show eth0' >&2 || true
    exit 1
  fi
  echo "    the node reaches the registry as llmplan-registry ($ip)" >&2
}

# explain NAMESPACE: after a wait timed out, what is not ready and why (as `kubectl
# describe` would show it): the workloads, the pods with their containers' waiting and
# terminated reasons, and the namespace's latest events.
explain() {
  local ns=$1
  {
    echo "--- kubectl -n $ns get deployments,pods,summarizerservices -o wide"
    kubectl -n "$ns" get deployments,pods -o wide 2>&1 || true
    kubectl -n "$ns" get summarizerservices -o wide 2>/dev/null || true
    echo "--- pods that are not ready: their containers' states"
    kubectl -n "$ns" get pods -o go-template='{{range .items}}{{$pod := .metadata.name}}{{range .status.containerStatuses}}{{if not .ready}}{{$pod}}/{{.name}}: {{range $k, $v := .state}}{{$k}} {{$v.reason}} {{$v.message}}{{end}}{{with .lastState.terminated}} (last: terminated {{.reason}}, exit {{.exitCode}}){{end}}
{{end}}{{end}}{{end}}' 2>&1 || true
    echo "--- the latest events in $ns"
    kubectl -n "$ns" get events --sort-by=.lastTimestamp 2>&1 | tail -n 20 || true
  } >&2
}

# apply_example FILE NAMESPACE: the example as the whole intent. `kubectl apply` merges it
# into the live object and keeps what was changed by hand since (a memory limit patched
# below the example's request: the API server refuses the merged object). So the live
# SummarizerService's spec is first set to exactly the example's (a JSON patch of /spec:
# fields the example leaves out take the CRD's defaults again), then the file is applied
# server-side, its field manager owning what it sets.
apply_example() {
  local file=$1 ns=$2 name spec
  name=$(example_field "$file" 3)
  if kubectl -n "$ns" get summarizerservice "$name" >/dev/null 2>&1; then
    spec=$(example_field "$file" 4)
    kubectl -n "$ns" patch summarizerservice "$name" --type=json \
      -p "[{\"op\":\"replace\",\"path\":\"/spec\",\"value\":$spec}]" >/dev/null
  fi
  kubectl apply --server-side --force-conflicts --field-manager=llmplan-make-up -f "$file" >/dev/null
}

# example_field FILE N: the SummarizerService in FILE, field N: 2 namespace, 3 name, 4 spec
# (compact JSON). kubectl applies the template to each object of the file in turn.
example_field() {
  kubectl create -f "$1" --dry-run=client \
    -o jsonpath='{.kind}{"\t"}{.metadata.namespace}{"\t"}{.metadata.name}{"\t"}{.spec}{"\n"}' |
    awk -F'\t' -v n="$2" '$1 == "SummarizerService" { print $n; exit }'
}

# or_explain NAMESPACE WHAT COMMAND...: runs a wait; when it fails (a timeout), says what
# was not ready and why (explain) instead of only "timed out waiting for the condition".
or_explain() {
  local ns=$1 what=$2
  shift 2
  if ! "$@" >/dev/null; then
    echo "kind.sh: $what: not ready in time" >&2
    explain "$ns"
    exit 1
  fi
}

up() {
  local start node_image
  start=$(date +%s)
  tools
  mkdir -p "$work"
  node_image=$("$here/images/node-image.sh")
  cluster "$node_image"
  "$here/registry.sh" up
  registry_route
  "$here/images/project.sh" "$work/images.env"
  # shellcheck disable=SC1091
  . "$work/images.env"
  step "metrics-server, the operator (kubectl apply -k deploy/), LM Studio's stand-in"
  metrics_server
  operator "$OPERATOR_IMAGE"
  or_explain llmplan-system "the operator (deployment/llmplan-operator)" \
    kubectl -n llmplan-system rollout status deployment/llmplan-operator --timeout=180s
  if [ -n "$example" ]; then
    local ns
    ns=$(example_field "$root/$example" 2)
    [ -n "$ns" ] || { echo "kind.sh: $example has no SummarizerService with a namespace" >&2; exit 1; }
    apply_example "$root/$example" "$ns"
    lmstudio "$ns" "$LLM_IMAGE"
    step_done
    step "wait for $example to be Ready"
    or_explain "$ns" "LM Studio's stand-in (deployment/lmstudio)" \
      kubectl -n "$ns" wait deployment/lmstudio --for=condition=Available --timeout=180s
    or_explain "$ns" "$example (summarizerservice Ready)" \
      kubectl -n "$ns" wait sumsvc --all --for=condition=Ready --timeout=300s
  fi
  or_explain kube-system metrics-server \
    kubectl -n kube-system wait deployment/metrics-server --for=condition=Available --timeout=120s
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
