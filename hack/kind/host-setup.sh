#!/usr/bin/env bash
# Prepares this host to run kind on rootful podman, offline. Run as root;
# idempotent (each step checks before it changes anything); prints what it
# changed. Why each step (hack/kind/README.md, Host constraints, has the evidence):
#
# - Debian packages: podman and buildah (the container engine and image
#   builder; there is no Docker engine here), runc (crun refuses this host's
#   hybrid cgroup v1 layout), fuse-overlayfs, slirp4netns, uidmap, iptables,
#   debootstrap (the Debian base image is made from the apt mirror),
#   busybox-static (a shell for the smallest images).
# - /etc/containers/containers.conf.d/llmplan.conf: runtime runc, and default
#   ulimits within this VM's limits (CAP_SYS_RESOURCE is not in the bounding
#   set and open files are capped at 20000: podman's default RLIMIT_NOFILE
#   request fails every `podman run`).
# - /lib/modules: kind's podman provider bind-mounts it into the node; this VM
#   has no loadable modules, so it does not exist.
# - a `docker` shim that execs podman, in a directory of its own: `kind build
#   node-image` and `kind load docker-image` call `docker`. The project's
#   scripts put that directory first on PATH for their own commands only,
#   so a real Docker elsewhere on the machine is never shadowed. Prints it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/cache.sh"

if [ "$(id -u)" != 0 ]; then
  echo "host-setup.sh: run as root (kind needs rootful podman here)" >&2
  exit 1
fi

packages=(podman buildah runc fuse-overlayfs slirp4netns uidmap iptables debootstrap busybox-static)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "host-setup: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

conf=/etc/containers/containers.conf.d/llmplan.conf
want='# Written by llmplan hack/kind/host-setup.sh (see the comments there).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  echo "host-setup: writing $conf" >&2
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$want" >"$conf"
fi

if [ ! -d /lib/modules ]; then
  echo "host-setup: creating /lib/modules" >&2
  mkdir -p /lib/modules
fi

shim_dir="$(llmplan_cache_root)/kind-host/bin"
if [ ! -x "$shim_dir/docker" ]; then
  mkdir -p "$shim_dir"
  printf '#!/bin/sh\n# kind calls docker; here podman plays it (hack/kind/host-setup.sh).\nexec podman "$@"\n' \
    >"$shim_dir/docker"
  chmod +x "$shim_dir/docker"
fi
echo "$shim_dir"
