#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go modules pinned in
# hack/cluster/bins/go.mod and caches them outside the checkout, keyed by the
# module files and this script, so a fresh clone reuses a previous build.
#
#   hack/cluster/build-bins.sh            the control plane and kwok: build if needed, print the bin dir
#   hack/cluster/build-bins.sh node       kubeadm, kubelet, kube-proxy (a kind node's), same pins
#
# Env: LLMPLAN_BIN_CACHE (default ~/.cache/llmplan/k8s-bins).
set -euo pipefail
set_name=${1:-control-plane}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/bins"
cache_root=${LLMPLAN_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmplan/k8s-bins}
key=$(cat "$module/go.mod" "$module/go.sum" "$module/cmd/etcd/main.go" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
case "$set_name" in
  control-plane)
    out="$cache_root/$key"
    binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl)
    ;;
  node)
    out="$cache_root/node-$key"
    binaries=(kubeadm kubelet kube-proxy)
    ;;
  *) echo "build-bins.sh: unknown set '$set_name' (control-plane or node)" >&2; exit 2 ;;
esac

complete() {
  local b
  for b in "${binaries[@]}"; do [ -x "$1/$b" ] || return 1; done
}

if complete "$out"; then
  echo "$out"
  exit 0
fi
# One build at a time per cache (the test setup and make may ask at once);
# whoever waited finds the other's result.
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock-$set_name"
flock 9
if complete "$out"; then
  echo "$out"
  exit 0
fi

# Versions come from go.mod so that /version tells the truth.
modver() { (cd "$module" && go list -m -f '{{.Version}}' "$1"); }
kube_version=$(modver k8s.io/kubernetes)
etcd_version=$(modver go.etcd.io/etcd/server/v3)
kwok_version=$(modver sigs.k8s.io/kwok)
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kube_minor=$(echo "$kube_version" | cut -d. -f2)

kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
etcd_ldflags="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version"
kwok_ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}"
kwok_ldflags+=" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${kube_version#v}"

tmp="$cache_root/.tmp-$key-$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
cd "$module"
export CGO_ENABLED=0
echo "building $set_name binaries into $out (kubernetes $kube_version, etcd $etcd_version, kwok $kwok_version)" >&2
# One `go build` per set of ldflags: the go command then shares the work of the
# binaries and links them in parallel (linking is most of a warm build).
kube=() kwok=()
for b in "${binaries[@]}"; do
  case "$b" in
    etcd) go build -trimpath -ldflags "$etcd_ldflags" -o "$tmp/etcd" ./cmd/etcd ;;
    kwok | kwokctl) kwok+=("sigs.k8s.io/kwok/cmd/$b") ;;
    *) kube+=("k8s.io/kubernetes/cmd/$b") ;;
  esac
done
[ ${#kube[@]} -eq 0 ] || go build -trimpath -ldflags "$kube_ldflags" -o "$tmp/" "${kube[@]}"
[ ${#kwok[@]} -eq 0 ] || go build -trimpath -ldflags "$kwok_ldflags" -o "$tmp/" "${kwok[@]}"
complete "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built in $(($(date +%s) - start))s" >&2
echo "$out"
