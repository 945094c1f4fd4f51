#!/usr/bin/env bash
# Builds the kind side's Go binaries from the modules pinned in bins/go.mod:
# kind, containerd v2 (+ ctr, the runc shim), crictl, CoreDNS (bins/cmd/coredns:
# the plugins a kubeadm Corefile uses), metrics-server and the distribution
# registry (bins/cmd/registry: the filesystem driver only). Cached outside the
# checkout, keyed by the module files and this script; prints the bin dir.
#
#   test/kind/build-bins.sh
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

build() { # NAME PACKAGE LDFLAGS [TAGS]
  local t=$(date +%s)
  go build -trimpath -tags "${4:-}" -ldflags "-s -w $3" -o "$tmp/$1" "$2"
  echo "  $1: $(elapsed "$t")" >&2
}
build kind sigs.k8s.io/kind ""
ctrd="github.com/containerd/containerd/v2/version"
ctrd_flags="-X $ctrd.Version=$containerd_version -X $ctrd.Revision=$containerd_version"
ctrd_tags="no_btrfs no_devmapper no_zfs no_aufs"
for b in containerd ctr containerd-shim-runc-v2; do
  build "$b" "github.com/containerd/containerd/v2/cmd/$b" "$ctrd_flags" "$ctrd_tags"
done
build crictl sigs.k8s.io/cri-tools/cmd/crictl "-X sigs.k8s.io/cri-tools/pkg/version.Version=$crictl_version"
build coredns ./cmd/coredns "-X github.com/coredns/coredns/coremain.GitCommit=$coredns_version"
ms="sigs.k8s.io/metrics-server/pkg/version"
build metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server \
  "-X $ms.gitVersion=$metrics_version -X $ms.gitCommit=$metrics_version"
build registry ./cmd/registry "-X github.com/distribution/distribution/v3/version.version=$registry_version"
cache_commit "$tmp" "$out"
echo "kind-side binaries built in $(elapsed "$start")" >&2
echo "$out"
