#!/usr/bin/env bash
# The main job behind `make up` / `make down`: the real kind cluster
# (hack/kind/kind.sh up: the operator installed from deploy/, examples/dev.yaml
# with the real inference server as LM Studio), a port-forward of
# svc/llmplan to 127.0.0.1:8000 that this script manages, and a real summary
# through it.
#
#   demo.sh up     everything (idempotent), then the curl
#   demo.sh down   stop the port-forward and delete the cluster (caches stay)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
kubeconfig=$("$here/kind.sh" kubeconfig)
work=$(dirname "$kubeconfig")
pidfile="$work/port-forward.pid"
port=${LLMPLAN_DEMO_PORT:-8000}
ns=llmplan-dev

forwarding() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
    curl -fsS -m 3 "http://127.0.0.1:$port/livez" >/dev/null 2>&1
}

stop_forward() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

up() {
  "$here/kind.sh" up
  if ! forwarding; then
    stop_forward
    # setsid: its own session, so it outlives this script and the terminal.
    setsid "$here/kind.sh" kubectl port-forward -n "$ns" --address 127.0.0.1 svc/llmplan \
      "$port:8000" </dev/null >"$work/port-forward.log" 2>&1 &
    echo $! >"$pidfile"
    disown
    for _ in $(seq 1 40); do
      forwarding && break
      sleep 0.25
    done
    forwarding || { echo "port-forward did not come up; see $work/port-forward.log" >&2; exit 1; }
  fi
  local request='{"text":"Kubernetes is an open-source system for automating deployment, scaling, and management of containerized applications. It groups the containers that make up an application into logical units for easy management and discovery.","language":"english","max_tokens":80}'
  cat <<MSG

llmplan runs on a real kind cluster: one node, the operator (2 replicas, kubectl apply -k
deploy/), examples/dev.yaml and LM Studio's stand-in (llama.cpp's server with SmolLM2-135M).
svc/llmplan is forwarded to http://127.0.0.1:$port (pid $(cat "$pidfile")).

  export KUBECONFIG=$kubeconfig PATH=$("$root/hack/cluster/build-bins.sh"):$root/bin:\$PATH
  kubectl get sumsvc -A
  kubectl llmplan status llmplan -n $ns
  kubectl logs -n $ns deployment/llmplan | grep "POST /api/v1/summary"
  make down                                  # delete the cluster (the builds stay cached)

curl -s http://127.0.0.1:$port/api/v1/summary/ -H 'content-type: application/json' -d '$request'
MSG
  curl -sS --fail-with-body -m 120 "http://127.0.0.1:$port/api/v1/summary/" \
    -H 'content-type: application/json' -d "$request"
  echo
}

case "${1:-}" in
  up) up ;;
  down) stop_forward; "$here/kind.sh" down ;;
  *) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
