#!/usr/bin/env bash
# Builds the kind side's Go binaries from the modules pinned in bins/go.mod:
# kind, containerd v2 (+ ctr, the runc shim), crictl, CoreDNS (bins/cmd/coredns:
# the plugins a kubeadm Corefile uses), metrics-server and the distribution
# registry (bins/cmd/registry: the filesystem driver only). Cached outside the
# checkout, keyed by the module files and this script; prints the bin dir.
#
#   hack/kind/build-bins.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/cache.sh"
module="$here/bins"
out=$(cache_dir kind-bins "$module/go.mod" "$module/go.sum" "$module"/cmd/*/main.go "${BASH_SOURCE[0]}")
cache_ready "$out" && { echo "$out"; exit 0; }
cache_lock "$out"
cache_ready "$out" && { echo "$out"; exit 0; }

cd "$module"
modver() { go list -m -f '{{.Version}}' "$1"; }
kind_version=$(modver sigs.k8s.io/kind)
containerd_version=$(modver github.com/containerd/containerd/v2)
crictl_version=$(modver sigs.k8s.io/cri-tools)
coredns_version=$(modver github.com/coredns/coredns)
metrics_version=$(modver sigs.k8s.io/metrics-server)
registry_version=$(modver github.com/distribution/distribution/v3)
tmp=$(cache_tmp "$out")
start=$(date +%s)
export CGO_ENABLED=0
echo "building kind $kind_version, containerd $containerd_version, crictl $crictl_version," \
  "CoreDNS $coredns_version, metrics-server $metrics_version, registry $registry_version into $out" >&2

build() { # LABEL LDFLAGS TAGS PACKAGE...: one go build (several packages: shared work, parallel links)
  local t=$(date +%s) label=$1 ldflags=$2 tags=$3 out
  shift 3
  out="$tmp/"
  [ $# -gt 1 ] || out="$tmp/$label"
  go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$out" "$@"
  echo "  $label: $(elapsed "$t")" >&2
}
build kind "" "" sigs.k8s.io/kind
ctrd="github.com/containerd/containerd/v2/version"
ctrd_flags="-X $ctrd.Version=$containerd_version -X $ctrd.Revision=$containerd_version"
ctrd_tags="no_btrfs no_devmapper no_zfs no_aufs"
build "containerd, ctr, containerd-shim-runc-v2" "$ctrd_flags" "$ctrd_tags" \
  github.com/containerd/containerd/v2/cmd/{containerd,ctr,containerd-shim-runc-v2}
build crictl "-X sigs.k8s.io/cri-tools/pkg/version.Version=$crictl_version" "" sigs.k8s.io/cri-tools/cmd/crictl
build coredns "-X github.com/coredns/coredns/coremain.GitCommit=$coredns_version" "" ./cmd/coredns
ms="sigs.k8s.io/metrics-server/pkg/version"
build metrics-server "-X $ms.gitVersion=$metrics_version -X $ms.gitCommit=$metrics_version" "" \
  sigs.k8s.io/metrics-server/cmd/metrics-server
build registry "-X github.com/distribution/distribution/v3/version.version=$registry_version" "" ./cmd/registry
cache_commit "$tmp" "$out"
echo "kind-side binaries built in $(elapsed "$start")" >&2
echo "$out"
