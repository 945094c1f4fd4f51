#!/usr/bin/env bash
# Builds the local control plane's binaries from the Go modules pinned in
# test/cluster/bins/go.mod and caches them outside the checkout, keyed by the
# module files and this script, so a fresh clone reuses a previous build.
#
#   test/cluster/build-bins.sh            build if needed, print the bin dir
#
# Env: LLMPLAN_BIN_CACHE (default ~/.cache/llmplan/k8s-bins).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/bins"
cache_root=${LLMPLAN_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmplan/k8s-bins}
key=$(cat "$module/go.mod" "$module/go.sum" "$module/cmd/etcd/main.go" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
out="$cache_root/$key"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl)

complete() {
  local b
  for b in "${binaries[@]}"; do [ -x "$1/$b" ] || return 1; done
}

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
echo "building control-plane binaries into $out (kubernetes $kube_version, etcd $etcd_version, kwok $kwok_version)" >&2
go build -trimpath -ldflags "$etcd_ldflags" -o "$tmp/etcd" ./cmd/etcd
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  go build -trimpath -ldflags "$kube_ldflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd"
done
for cmd in kwok kwokctl; do
  go build -trimpath -ldflags "$kwok_ldflags" -o "$tmp/$cmd" "sigs.k8s.io/kwok/cmd/$cmd"
done
complete "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built in $(($(date +%s) - start))s" >&2
echo "$out"
