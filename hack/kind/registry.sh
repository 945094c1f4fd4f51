#!/usr/bin/env bash
# The kind cluster's local registry: the distribution registry (built by
# hack/kind/build-bins.sh) in a podman container on the cluster's network,
# answering there as llmplan-registry, published on 127.0.0.1 for pushes from
# this host (port 5001 for the default cluster; images/lib.sh names the
# container, network and port of the others). Its storage is a directory of the cache, so images
# pushed once survive the cluster (and the registry) being recreated. The
# node's containerd uses it as the mirror of ghcr.io
# (images/kind-node/hosts.toml), so `imagePullPolicy: Always` works and a tag
# that was never pushed fails to pull for real.
#
#   registry.sh up              start (idempotent; the kind network must exist)
#   registry.sh down            stop and remove the container (the storage stays)
#   registry.sh push IMAGE REPO:TAG...   push a local image as REPO:TAG (e.g. llmplan/summarizer:main)
#   registry.sh has REPO:TAG    exit 0 when the registry holds it
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/images/lib.sh"
name=$registry_container
port=$registry_port
storage=$registry_storage

image() {
  local bins context
  bins=$("$here/build-bins.sh")
  context=$(mktemp -d /var/tmp/llmplan-registry.XXXXXX)
  cp "$bins/registry" "$here/images/registry/config.yml" "$context/"
  printf '%s\n' 'FROM scratch' 'COPY registry /usr/local/bin/registry' \
    'COPY config.yml /etc/distribution/config.yml' 'USER 65534' 'EXPOSE 5000' \
    'ENTRYPOINT ["/usr/local/bin/registry"]' 'CMD ["serve", "/etc/distribution/config.yml"]' \
    >"$context/Containerfile"
  build_image registry "$(key_of "$context")" "$context" --format docker
  rm -rf "$context"
}

running() { [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ]; }

answers() { curl -fsS -m 2 "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; }

up() {
  local tag
  tag=$(image)
  if running && [ "$(podman inspect -f '{{.ImageName}}' "$name")" = "$tag" ]; then
    answers && return 0
  fi
  podman rm -f "$name" >/dev/null 2>&1 || true
  mkdir -p "$storage"
  chown 65534:65534 "$storage"
  podman run -d --name "$name" --network "$kind_network" --network-alias llmplan-registry --restart always \
    -p "127.0.0.1:$port:5000" -v "$storage:/var/lib/registry" "$tag" >/dev/null
  local deadline=$((SECONDS + 30))
  until answers; do
    ((SECONDS < deadline)) || { podman logs "$name" >&2; echo "registry.sh: no answer on 127.0.0.1:$port" >&2; return 1; }
    sleep 0.3
  done
  echo "registry $name up on 127.0.0.1:$port (storage $storage)" >&2
}

push() {
  local source=$1 target
  shift
  for target in "$@"; do
    podman push --quiet --tls-verify=false "$source" "127.0.0.1:$port/$target" >&2
  done
}

has() {
  local repo=${1%:*} tag=${1##*:}
  curl -fsS -m 5 -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://127.0.0.1:$port/v2/$repo/manifests/$tag"
}

case "${1:-}" in
  up) up ;;
  down) podman rm -f "$name" >/dev/null 2>&1 || true ;;
  push) shift; push "$@" ;;
  has) has "$2" ;;
  *) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
