# Sourced by the image scripts of hack/kind/images/. Images live in podman's
# own store (outside the checkout); each is built once per key, the hash of
# everything it is made from, and tagged localhost/llmplan-cache/<name>:<key>,
# so a fresh clone reuses it and changing a pin builds anew. The names the
# Dockerfiles and kubeadm expect are then tagged onto that build.
here_images=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here_images/../../.." && pwd)
. "$repo_root/hack/lib/cache.sh"

# key_of ARG...: 16 hex digits over the arguments; an argument naming a file
# or directory counts by its content (directories: every file, sorted).
key_of() {
  local a
  for a in "$@"; do
    if [ -d "$a" ]; then
      (cd "$a" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    elif [ -f "$a" ]; then
      sha256sum <"$a"
    else
      printf '%s\n' "$a"
    fi
  done | sha256sum | cut -c1-16
}

cached_tag() { echo "localhost/llmplan-cache/$1:$2"; }

image_exists() { podman image exists "$1"; }

# step NAME: prints a progress line; step_done prints how long it took.
step() {
  step_name=$1
  step_start=$(date +%s)
  echo "==> $step_name" >&2
}
step_done() { echo "    $step_name: $(elapsed "$step_start")" >&2; }

# tag_as SOURCE TAG...: (re)points each TAG at SOURCE.
tag_as() {
  local source=$1
  shift
  podman tag "$source" "$@"
}

# build_image NAME KEY CONTEXT [podman build args...]: builds CONTEXT's
# Containerfile (or the -f given) unless NAME:KEY exists; prints the cached tag.
build_image() {
  local name=$1 key=$2 context=$3
  shift 3
  local tag
  tag=$(cached_tag "$name" "$key")
  if ! image_exists "$tag"; then
    step "build image $name"
    run_logged "image-$name" podman build --layers=false --tag "$tag" "$@" "$context"
    step_done
  fi
  echo "$tag"
}

# run_logged LOGNAME COMMAND...: runs COMMAND with its output in a log file
# under the cache; on failure shows the end of it.
run_logged() {
  local log
  log="$(llmplan_cache_root)/logs/$1.log"
  shift
  mkdir -p "$(dirname "$log")"
  if ! "$@" >"$log" 2>&1; then
    echo "failed: $* (last lines of $log):" >&2
    tail -40 "$log" >&2
    return 1
  fi
}

# Build-time only trust of this host's CA bundle. These machines reach the
# package registries through a TLS-intercepting proxy whose CA the host trusts
# (/usr/local/share/ca-certificates); RUN steps that fetch over HTTPS (npm ci,
# pip install) need it too. It is bind-mounted into RUN steps, with an npmrc
# and a pip.conf pointing at it, and is not part of any image (only empty
# mount points remain). Prints the podman build flags, or nothing when the
# host trusts only the stock bundle.
host_trust_mounts() {
  local bundle=/etc/ssl/certs/ca-certificates.crt dir
  [ -n "$(ls -A /usr/local/share/ca-certificates 2>/dev/null)" ] && [ -f "$bundle" ] || return 0
  dir="$(llmplan_cache_root)/build-trust"
  mkdir -p "$dir"
  printf 'cafile=/run/llmplan-build/ca.crt\n' >"$dir/npmrc"
  printf '[global]\ncert = /run/llmplan-build/ca.crt\n' >"$dir/pip.conf"
  echo "--volume=$bundle:/run/llmplan-build/ca.crt:ro" \
    "--volume=$dir/npmrc:/usr/local/etc/npmrc:ro" \
    "--volume=$dir/pip.conf:/etc/pip.conf:ro"
}

# static_image WORKDIR NAME TAG BINARY ENTRYPOINT_JSON [USER]: an image of one
# static binary at /usr/local/bin (FROM scratch), built in WORKDIR/NAME unless
# cached, and tagged TAG.
static_image() {
  local dir="$1/$2" tag=$3 binary=$4 entrypoint=$5 user=${6:-0} base
  base=$(basename "$binary")
  mkdir -p "$dir"
  cp "$binary" "$dir/"
  printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENV PATH=/usr/local/bin\nUSER %s\nENTRYPOINT %s\n' \
    "$base" "$base" "$user" "$entrypoint" >"$dir/Containerfile"
  tag_as "$(build_image "$2" "$(key_of "$dir")" "$dir" --format docker)" "$tag"
}

# One kind cluster per LLMPLAN_KIND_NAME (default llmplan), each with a podman
# network and a local registry of its own, so clusters side by side (parallel
# work, a cold CI rehearsal) never share tags. The registry answers as
# `llmplan-registry` on its cluster's network whatever its container's name:
# that is the name the node image's containerd mirror config uses.
kind_name=${LLMPLAN_KIND_NAME:-llmplan}
if [ "$kind_name" = llmplan ]; then
  kind_network=kind
  registry_container=llmplan-registry
  registry_port=${LLMPLAN_REGISTRY_PORT:-5001}
  registry_storage="$(llmplan_cache_root)/registry"
else
  kind_network="kind-$kind_name"
  registry_container="llmplan-registry-$kind_name"
  registry_port=${LLMPLAN_REGISTRY_PORT:-$((5100 + $(echo "$kind_name" | cksum | cut -d' ' -f1) % 800))}
  registry_storage="$(llmplan_cache_root)/registry-$kind_name"
fi
