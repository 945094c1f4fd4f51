#!/usr/bin/env bash
# The local demo behind `make up` / `make down`: the control plane, the CRD, the
# operator running as a local process, and examples/dev.yaml applied.
#
#   demo.sh up     start everything (idempotent) and print what to try next
#   demo.sh down   stop the operator and the cluster
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
state="$root/.cluster"
kubeconfig="$state/kubeconfig"
pidfile="$state/operator.pid"
logfile="$state/operator.log"
address=${LLMPLAN_BIND_ADDRESS:-127.0.0.1:8080}
kubectl() { "$here/cluster.sh" kubectl "$@"; }

operator_running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

up() {
  "$here/cluster.sh" up
  kubectl apply --server-side --force-conflicts --field-manager=llmplan-demo -f "$root/crds/summarizerservice.yaml" >/dev/null
  kubectl wait --for=condition=Established crd/summarizerservices.llmplan.io --timeout=60s >/dev/null
  if ! operator_running; then
    # The operator as a local process with the admin kubeconfig; deploy/ runs it in-cluster
    # under its least-privilege ServiceAccount instead.
    # setsid: its own session, so it outlives this script and the terminal.
    # LLMPLAN_LOAD_SCRAPE=off: fake nodes run no pods to read load from (and the API
    # server's pod proxy would dial their fake IPs, which route off this machine).
    cd "$root"
    KUBECONFIG="$kubeconfig" LLMPLAN_BIND_ADDRESS="$address" LLMPLAN_LOAD_SCRAPE=off \
      setsid node --import tsx operator/main.ts </dev/null >"$logfile" 2>&1 &
    echo $! >"$pidfile"
    disown
  fi
  for _ in $(seq 1 60); do
    curl -fsS "http://$address/readyz" >/dev/null 2>&1 && break
    operator_running || { echo "the operator exited; see $logfile" >&2; tail -5 "$logfile" >&2; exit 1; }
    sleep 0.5
  done
  kubectl apply -f "$root/examples/dev.yaml" >/dev/null
  kubectl wait --for=condition=Ready sumsvc/llmplan -n llmplan-dev --timeout=60s >/dev/null
  cat <<MSG

llmplan is running: control plane + fake nodes, the operator (pid $(cat "$pidfile"), logs in
.cluster/operator.log, metrics on http://$address/metrics) and examples/dev.yaml.

  export KUBECONFIG=$kubeconfig PATH=$("$here/build-bins.sh"):$root/bin:\$PATH
  kubectl get sumsvc -A                                  # Ready, replicas, revision, tag
  kubectl get deploy,svc,cm,sa -n llmplan-dev            # what the operator made
  kubectl llmplan status llmplan -n llmplan-dev          # the kubectl plugin (bin/)

Watch it repair a bad rollout (the fake nodes crash any image tagged *crashloop*):
  kubectl patch sumsvc llmplan -n llmplan-dev --type=merge -p '{"spec":{"image":{"tag":"main-crashloop"}}}'
  kubectl get events -n llmplan-dev -w                   # … Warning Rollback …
  kubectl llmplan history llmplan -n llmplan-dev

Stop everything: make down
MSG
}

down() {
  if operator_running; then
    kill "$(cat "$pidfile")" && sleep 1
  fi
  rm -f "$pidfile"
  "$here/cluster.sh" down
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) sed -n '2,7p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
