#!/usr/bin/env bash
# Builds Argo CD's multi-call binary from the Go module pinned in
# hack/argocd/go.mod (Argo CD's own cmd/, nothing of ours compiled in)
# and caches it outside the checkout, keyed by the module files and this script,
# so a fresh clone reuses a previous build. Next to the binary: the names it
# answers to (argocd, argocd-repo-server, argocd-application-controller), the
# shell wrappers the repo-server runs (git-verify-wrapper.sh, gpg-wrapper.sh)
# and Argo CD's CRDs, all from the same module version.
#
#   hack/argocd/build.sh         build if needed, print the bin dir
#
# Env: LLMPLAN_ARGOCD_CACHE (default ~/.cache/llmplan/argocd).
set -euo pipefail

module=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${LLMPLAN_ARGOCD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmplan/argocd}
key=$(cat "$module/go.mod" "$module/go.sum" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
out="$cache_root/$key"
names=(argocd argocd-repo-server argocd-application-controller)
# Argo CD's go.mod asks for Go 1.27; the go command fetches this toolchain from
# the module proxy when the installed one is older.
export GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0

complete() {
  local n
  for n in "${names[@]}" git-verify-wrapper.sh gpg-wrapper.sh; do [ -x "$1/$n" ] || return 1; done
  [ -s "$1/crds/application-crd.yaml" ] && [ -s "$1/crds/appproject-crd.yaml" ]
}

if complete "$out"; then
  echo "$out"
  exit 0
fi

cd "$module"
version=$(go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v3)
kubectl_version=$(go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' k8s.io/kubectl)
pkg=github.com/argoproj/argo-cd/v3/common
ldflags="-s -w -X $pkg.version=${version#v} -X $pkg.kubectlVersion=$kubectl_version"
ldflags+=" -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"

tmp="$cache_root/.tmp-$key-$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "building Argo CD $version into $out" >&2
go build -trimpath -ldflags "$ldflags" -o "$tmp/argocd" github.com/argoproj/argo-cd/v3/cmd
# The binary picks its role from the name it is run under (Argo CD's cmd/main.go).
ln -s argocd "$tmp/argocd-repo-server"
ln -s argocd "$tmp/argocd-application-controller"
src=$(go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
install -m 0755 "$src/hack/git-verify-wrapper.sh" "$src/hack/gpg-wrapper.sh" "$tmp/"
mkdir "$tmp/crds"
install -m 0644 "$src"/manifests/crds/*-crd.yaml "$tmp/crds/"
complete "$tmp"
rm -rf "$out"
mv "$tmp" "$out"
echo "built in $(($(date +%s) - start))s" >&2
echo "$out"
