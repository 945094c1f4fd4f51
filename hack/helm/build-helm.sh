#!/usr/bin/env bash
# Builds helm (v3, the version pinned in bins/go.mod) from its Go module, for
# the tests of charts/ and of `llmplanctl migrate helm`. Cached outside the
# checkout, keyed by the module files and this script; prints the bin dir.
#
#   hack/helm/build-helm.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/cache.sh"
module="$here/bins"
out=$(cache_dir helm "$module/go.mod" "$module/go.sum" "${BASH_SOURCE[0]}")
cache_ready "$out" && { echo "$out"; exit 0; }
cache_lock "$out"
cache_ready "$out" && { echo "$out"; exit 0; }

cd "$module"
modver() { go list -m -f '{{.Version}}' "$1"; }
helm_version=$(modver helm.sh/helm/v3)
# The Kubernetes minor helm lints and templates against by default, as helm's
# own Makefile derives it from its client-go.
kube_minor=$(modver k8s.io/client-go | cut -d. -f2)
tmp=$(cache_tmp "$out")
start=$(date +%s)
echo "building helm $helm_version into $out" >&2
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$kube_minor"
done
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm
"$tmp/helm" version --short >&2
cache_commit "$tmp" "$out"
echo "helm built in $(elapsed "$start")" >&2
echo "$out"
