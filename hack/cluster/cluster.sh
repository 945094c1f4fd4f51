#!/usr/bin/env bash
# The local Kubernetes control plane: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes), all local
# processes started by kwokctl's binary runtime from binaries built by
# build-bins.sh. No Docker.
#
#   cluster.sh up        start (idempotent); admin kubeconfig in .cluster/kubeconfig
#   cluster.sh down      stop and remove all state
#   cluster.sh status    exit 0 when the API server answers
#   cluster.sh restart [SECONDS]   stop the control plane, wait, start it (fault tests)
#   cluster.sh kubectl ARGS...     kubectl against the cluster
#   cluster.sh memory              resident memory of each control-plane process
#   cluster.sh compact             compact etcd now (tests of 410 Gone)
#
# Env: LLMPLAN_CLUSTER_NAME (llmplan; any other name is a separate cluster whose
# state and kubeconfig live in .cluster-<name>/), LLMPLAN_FAKE_NODES (2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/hack/lib/cache.sh"
name=${LLMPLAN_CLUSTER_NAME:-llmplan}
# Another name is another cluster with its own state directory (parallel work).
state=$(cluster_state_dir "$root")
nodes=${LLMPLAN_FAKE_NODES:-2}
kubeconfig="$state/kubeconfig"
# kwokctl keeps its state (pki, logs, pids) under KWOK_WORKDIR: inside the
# checkout, so two clones never share a cluster by accident.
export KWOK_WORKDIR="$state/kwok"

bins=$("$here/build-bins.sh")
kwokctl="$bins/kwokctl"
kubectl() { "$bins/kubectl" --kubeconfig "$kubeconfig" "$@"; }

healthy() {
  [ -s "$kubeconfig" ] && kubectl get --raw /readyz >/dev/null 2>&1
}

wait_ready() {
  local deadline=$((SECONDS + ${1:-60}))
  until healthy; do
    if ((SECONDS > deadline)); then
      echo "the API server did not become ready; logs in $KWOK_WORKDIR/clusters/$name/logs" >&2
      return 1
    fi
    sleep 0.5
  done
}

ensure_nodes() {
  local have
  have=$(kubectl get nodes -o name 2>/dev/null | wc -l)
  if [ "$have" -lt "$nodes" ]; then
    "$kwokctl" --name "$name" scale node --replicas "$nodes" >/dev/null
  fi
  kubectl wait --for=condition=Ready node --all --timeout=60s >/dev/null
}

up() {
  mkdir -p "$state"
  if healthy; then
    ensure_nodes
    echo "cluster $name already running; KUBECONFIG=$kubeconfig"
    return 0
  fi
  if [ -d "$KWOK_WORKDIR/clusters/$name" ]; then
    # Stopped (e.g. the machine rebooted): start what is there, else rebuild.
    if "$kwokctl" --name "$name" start cluster >/dev/null 2>&1 && wait_ready 60; then
      ensure_nodes
      echo "cluster $name restarted; KUBECONFIG=$kubeconfig"
      return 0
    fi
    "$kwokctl" --name "$name" delete cluster >/dev/null 2>&1 || true
  fi
  rm -f "$kubeconfig"
  "$kwokctl" --name "$name" create cluster \
    --config "$here/kwokctl.yaml" \
    --config "$here/stages.yaml" \
    --etcd-binary "$bins/etcd" \
    --kube-apiserver-binary "$bins/kube-apiserver" \
    --kube-controller-manager-binary "$bins/kube-controller-manager" \
    --kube-scheduler-binary "$bins/kube-scheduler" \
    --kwok-controller-binary "$bins/kwok" \
    --kubeconfig "$kubeconfig" \
    --wait 60s >&2
  wait_ready 60
  ensure_nodes
  echo "cluster $name up; KUBECONFIG=$kubeconfig"
}

down() {
  if [ -d "$KWOK_WORKDIR/clusters/$name" ]; then
    "$kwokctl" --name "$name" delete cluster >/dev/null 2>&1 || true
  fi
  rm -rf "$state"
  echo "cluster $name removed"
}

# kwokctl stops and starts the control plane as a whole: etcd keeps its data,
# the API server comes back on the same port, watches in clients are cut.
# The fake nodes are held through their node Leases by one kwok-controller
# instance; the restarted one has a new identity and would wait for the old
# Leases to expire (kwokctl gives kwok 5 x nodeLeaseDurationSeconds = 200 s)
# before it runs pods again. Deleting them first lets it take the nodes at start.
restart_control_plane() {
  kubectl -n kube-node-lease delete lease --all --wait=false >/dev/null 2>&1 || true
  "$kwokctl" --name "$name" stop cluster >/dev/null
  sleep "${1:-2}"
  "$kwokctl" --name "$name" start cluster >/dev/null
  wait_ready 60
}

# Compacts etcd up to its current revision, as kube-apiserver does every 5 min:
# afterwards a watch from an older resourceVersion gets a genuine 410 Gone.
# Uses etcd's JSON gateway on its loopback client URL (the one given to the
# API server); prints the revision compacted to.
compact() {
  local url rev
  url=$(grep -o -- '--etcd-servers=[^ ]*' "$KWOK_WORKDIR/clusters/$name/kwok.yaml" | head -1 | cut -d= -f2)
  [[ -n "$url" ]] || { echo "no --etcd-servers in kwok.yaml of cluster $name" >&2; return 1; }
  rev=$(curl -sf -X POST "$url/v3/kv/range" -d '{"key":"AA=="}' | grep -o '"revision":"[0-9]*"' | head -1 | grep -o '[0-9]*')
  [[ -n "$rev" ]] || { echo "etcd at $url did not report its revision" >&2; return 1; }
  curl -sf -X POST "$url/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
  echo "$rev"
}

memory() {
  local total=0 pidfile pid rss
  for pidfile in "$KWOK_WORKDIR/clusters/$name/pids"/*.pid; do
    pid=$(cat "$pidfile")
    rss=$(ps -o rss= -p "$pid" 2>/dev/null || echo 0)
    printf '%-26s %6d MiB\n' "$(basename "$pidfile" .pid)" $((rss / 1024))
    total=$((total + rss))
  done
  printf '%-26s %6d MiB\n' total $((total / 1024))
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) healthy ;;
  restart) restart_control_plane "${2:-2}" ;;
  kubectl) shift; kubectl "$@" ;;
  memory) memory ;;
  compact) compact ;;
  *) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
