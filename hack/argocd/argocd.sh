#!/usr/bin/env bash
# Argo CD on a local cluster, as host processes: redis-server (Debian),
# argocd-repo-server and argocd-application-controller (built from Argo CD's Go
# module by argocd/build.sh), a bare Git repository holding examples/, and the
# Applications of examples/argocd/ pointed at it. No argocd-server, no UI.
#
#   argocd.sh up          install and start (idempotent); prints what to try next
#   argocd.sh down        stop the processes (the Git repository and the objects stay)
#   argocd.sh status      exit 0 when all processes run and the controller is healthy
#   argocd.sh memory      resident memory of each process
#   argocd.sh metrics     the application controller's Prometheus metrics
#   argocd.sh kubeconfig  print the kubeconfig Argo CD runs against
#   argocd.sh repo        print the path of the Git repository
#
# The cluster: LLMPLAN_ARGOCD_KUBECONFIG if set; else the kind cluster of `make up`
# (.kind/kubeconfig, hack/kind/kind.sh kubeconfig) when it answers; else the local control plane of
# `make cluster-up` (<state>/kubeconfig). <state> is .cluster/, or .cluster-<name>/
# for LLMPLAN_CLUSTER_NAME=<name>. The Git repository is <state>/gitops.git.
#
# The controller's metrics server listens on all interfaces (Argo CD has no flag
# for it), so the three processes run in a network namespace of their own whose
# only interface is its loopback; socat carries the API server's port into it.
# That takes root (as on the development machines and CI).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/hack/lib/cache.sh"
name=${LLMPLAN_CLUSTER_NAME:-llmplan}
state=$(cluster_state_dir "$root")
run="$state/argocd" # pid files, logs, redis and repo-server scratch space
gitops="$state/gitops.git"
netns="llmplan-argocd-$name"
# Fixed ports are safe: each cluster's Argo CD has a network namespace of its own.
redis_port=6379 repo_port=8081 repo_metrics_port=8084 controller_metrics_port=8082
processes=(api-bridge-host api-bridge-netns redis repo-server application-controller)

bins=$("$root/hack/cluster/build-bins.sh")
kubectl_bin="$bins/kubectl"

answers() { [ -s "$1" ] && "$kubectl_bin" --kubeconfig "$1" get --raw /readyz >/dev/null 2>&1; }

choose_kubeconfig() {
  if [ -n "${LLMPLAN_ARGOCD_KUBECONFIG:-}" ]; then
    answers "$LLMPLAN_ARGOCD_KUBECONFIG" || {
      echo "argocd.sh: LLMPLAN_ARGOCD_KUBECONFIG=$LLMPLAN_ARGOCD_KUBECONFIG: no API server answers" >&2
      return 1
    }
    echo "$LLMPLAN_ARGOCD_KUBECONFIG"
    return 0
  fi
  local candidate
  for candidate in "$("$root/hack/kind/kind.sh" kubeconfig)" "$state/kubeconfig"; do
    if answers "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  echo "argocd.sh: no cluster answers at $("$root/hack/kind/kind.sh" kubeconfig) or $state/kubeconfig; run 'make up' or 'make cluster-up' first" >&2
  return 1
}

kubectl() { "$kubectl_bin" --kubeconfig "$kubeconfig" "$@"; }
apply() { kubectl apply --server-side --force-conflicts --field-manager=llmplan-argocd "$@" >/dev/null; }
in_netns() { ip netns exec "$netns" "$@"; }
pid_of() { cat "$run/$1.pid" 2>/dev/null; }
alive() { local pid; pid=$(pid_of "$1") && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# The tests install what they need: CI starts from a fresh Debian machine.
ensure_packages() {
  local missing=() tool
  for tool in redis-server socat; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "argocd.sh: needs ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
    return 1
  fi
  echo "installing ${missing[*]} (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

# kubectl wait fails outright while a new CRD has no conditions yet: retry, bounded.
established() {
  local deadline=$((SECONDS + 60))
  until kubectl wait --for=condition=Established --timeout=10s "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "argocd.sh: $* not established after 60 s" >&2; return 1; }
    sleep 0.5
  done
}

# Argo CD's CRDs and settings, the default AppProject (argocd-server would create it),
# and llmplan's CRD, which the synced SummarizerServices need.
install_objects() {
  kubectl create namespace argocd --dry-run=client -o yaml | apply -f -
  apply -f "$argocd_bin/crds/"
  established crd/applications.argoproj.io crd/appprojects.argoproj.io
  apply -f "$root/examples/argocd/argocd-cm.yaml"
  # Without server.secretkey the controller ignores later argocd-cm changes.
  if ! kubectl -n argocd get secret argocd-secret >/dev/null 2>&1; then
    kubectl -n argocd create secret generic argocd-secret \
      --from-literal=server.secretkey="$(head -c 32 /dev/urandom | base64)" >/dev/null
    kubectl -n argocd label secret argocd-secret app.kubernetes.io/part-of=argocd >/dev/null
  fi
  apply -f - <<'YAML'
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations: [{ server: "*", namespace: "*" }]
  clusterResourceWhitelist: [{ group: "*", kind: "*" }]
YAML
  if ! kubectl get crd summarizerservices.llmplan.io >/dev/null 2>&1; then
    apply -f "$root/crds/summarizerservice.yaml"
    established crd/summarizerservices.llmplan.io
  fi
}

# A bare repository with examples/ committed as a user would; left alone once it exists
# (it holds the user's own commits).
init_gitops() {
  [ -d "$gitops" ] && return 0
  local work
  work=$(mktemp -d)
  git init -q --bare -b main "$gitops"
  git -C "$work" init -q -b main
  cp -r "$root/examples" "$work/examples"
  git -C "$work" add examples
  git -C "$work" -c user.name=llmplan -c user.email=llmplan@localhost commit -q -m "examples/ of llmplan"
  git -C "$work" push -q "$gitops" main
  rm -rf "$work"
}

apply_applications() {
  local f
  for f in "$root"/examples/argocd/application-*.yaml; do
    echo ---
    sed "s#^\([[:space:]]*repoURL:\).*#\1 file://$gitops#" "$f"
  done | apply -f -
}

# Starts one process in its own session (so it outlives this script), output to its log.
start() {
  local process=$1
  shift
  alive "$process" && return 0
  setsid "$@" </dev/null >"$run/$process.log" 2>&1 &
  echo $! >"$run/$process.pid"
}

wait_until() {
  local what=$1 process=$2 deadline=$((SECONDS + 60))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! alive "$process" || ((SECONDS > deadline)); then
      echo "argocd.sh: $what did not come up; last lines of $run/$process.log:" >&2
      tail -5 "$run/$process.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

start_processes() {
  local server api_port
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  [[ "$server" =~ ^https://(127\.0\.0\.1|localhost):([0-9]+)$ ]] || {
    echo "argocd.sh: the API server is $server; only a local cluster (https://127.0.0.1:PORT) is supported" >&2
    return 1
  }
  api_port=${BASH_REMATCH[2]}
  if [ ! -e "/run/netns/$netns" ]; then
    ip netns add "$netns"
    ip -n "$netns" link set lo up
  fi
  mkdir -p "$run/repo-tmp" "$run/redis"
  # The API server's loopback port, the same number inside the namespace, so the
  # kubeconfig (and its certificate's 127.0.0.1) works unchanged.
  alive api-bridge-host || rm -f "$run/api.sock"
  start api-bridge-host socat "UNIX-LISTEN:$run/api.sock,fork,mode=600" "TCP:127.0.0.1:$api_port"
  wait_until "the API bridge" api-bridge-host test -S "$run/api.sock"
  start api-bridge-netns ip netns exec "$netns" \
    socat "TCP-LISTEN:$api_port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:$run/api.sock"
  start redis ip netns exec "$netns" redis-server --bind 127.0.0.1 --port "$redis_port" \
    --save "" --appendonly no --dir "$run/redis"
  wait_until redis redis in_netns redis-cli -p "$redis_port" ping
  # The repo-server runs git-verify-wrapper.sh on every manifest generation (GPG off
  # or not); TMPDIR holds its checkouts. A 15 s revision cache (3 min by default)
  # lets a push show within the controller's 30 s resync.
  start repo-server ip netns exec "$netns" env PATH="$argocd_bin:$PATH" TMPDIR="$run/repo-tmp" \
    ARGOCD_GPG_ENABLED=false \
    argocd-repo-server --address 127.0.0.1 --port "$repo_port" --disable-tls --client-ca-path "" \
    --metrics-address 127.0.0.1 --metrics-port "$repo_metrics_port" \
    --redis "127.0.0.1:$redis_port" --revision-cache-expiration 15s
  wait_until argocd-repo-server repo-server in_netns curl -fsS "http://127.0.0.1:$repo_metrics_port/healthz"
  # --persist-resource-health: with no argocd-server (no UI, no API), the health message of
  # each resource is in the Application's status only with it (kubectl get application -o yaml).
  start application-controller ip netns exec "$netns" env PATH="$argocd_bin:$PATH" \
    ARGOCD_FAKE_IN_CLUSTER=true KUBECONFIG="$kubeconfig" \
    argocd-application-controller --kubeconfig "$kubeconfig" --namespace argocd \
    --redis "127.0.0.1:$redis_port" --repo-server "127.0.0.1:$repo_port" --repo-server-plaintext \
    --metrics-port "$controller_metrics_port" --app-resync 30 --app-resync-jitter 5 \
    --persist-resource-health
  wait_until argocd-application-controller application-controller \
    in_netns curl -fsS "http://127.0.0.1:$controller_metrics_port/healthz"
}

up() {
  [ "$(id -u)" = 0 ] || { echo "argocd.sh: needs root for its network namespace (see the header)" >&2; return 1; }
  kubeconfig=$(choose_kubeconfig)
  ensure_packages
  argocd_bin=$("$here/build.sh")
  mkdir -p "$run"
  if status && [ "$(cat "$run/kubeconfig-path")" != "$kubeconfig" ]; then
    echo "argocd.sh: Argo CD already runs against $(cat "$run/kubeconfig-path"); 'argocd.sh down' first" >&2
    return 1
  fi
  echo "$kubeconfig" >"$run/kubeconfig-path"
  install_objects
  init_gitops
  # LLMPLAN_ARGOCD_EXAMPLES=false: no example Applications (tests that bring their own,
  # on a cluster whose capacity is counted, as kind's one node).
  [ "${LLMPLAN_ARGOCD_EXAMPLES:-true}" = false ] || apply_applications
  start_processes
  cat <<MSG
Argo CD runs against $kubeconfig (logs and pids in $run).

  export KUBECONFIG=$kubeconfig PATH=$argocd_bin:$bins:\$PATH
  kubectl get applications -n argocd         # sync and health per environment
  git clone $gitops gitops   # commit to examples/ and push: synced within ~45 s

Health needs the operator (make up runs it; after make cluster-up: make operator).
Stop: make argocd-down
MSG
}

down() {
  local process pid
  for process in application-controller repo-server redis api-bridge-netns api-bridge-host; do
    if alive "$process"; then
      pid=$(pid_of "$process")
      kill "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$run/$process.pid"
  done
  [ -e "/run/netns/$netns" ] && ip netns del "$netns"
  rm -rf "$run/repo-tmp" "$run/redis" "$run/api.sock"
  echo "Argo CD of cluster $name stopped"
}

status() {
  local process
  for process in "${processes[@]}"; do alive "$process" || return 1; done
  in_netns curl -fsS "http://127.0.0.1:$controller_metrics_port/healthz" >/dev/null 2>&1
}

memory() {
  local process rss
  for process in "${processes[@]}"; do
    rss=$(ps -o rss= -p "$(pid_of "$process")" 2>/dev/null || echo 0)
    printf '%-24s %6d MiB\n' "$process" $((rss / 1024))
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  memory) memory ;;
  metrics) in_netns curl -fsS "http://127.0.0.1:$controller_metrics_port/metrics" ;;
  kubeconfig) cat "$run/kubeconfig-path" ;;
  repo) echo "$gitops" ;;
  *) sed -n '2,23p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
