#!/usr/bin/env bash
# The kind node image, from the project's pinned sources, without a registry:
#
#   1. kind's base image: kind-base/Containerfile (Debian base + kind's files +
#      containerd v2, ctr, shim, crictl from hack/kind/build-bins.sh)
#   2. the images kubeadm expects, tagged exactly as it asks
#      (`kubeadm config images list`), from the binaries built by
#      hack/cluster/build-bins.sh: kube-apiserver, kube-controller-manager,
#      kube-scheduler (each the static binary alone), kube-proxy (on Debian with
#      iptables, nftables, conntrack), etcd, CoreDNS, pause (pause.c from the
#      Kubernetes source, gcc -static), and metrics-server (installed by kind-up)
#   3. a kubernetes-server-linux-amd64.tar.gz laid out as a release
#      (kubernetes/version, server/bin/{kubeadm,kubelet,kubectl}, the image
#      archives), given to `kind build node-image --type file`
#   4. kind-node/Containerfile on top (static CNI config, no local-path manifest)
#
# Prints the node image's tag. Every step is cached by the hash of its inputs.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
kind_dir="$repo_root/hack/kind"

"$here_images/base.sh"
cp_bins=$("$repo_root/hack/cluster/build-bins.sh")
node_bins=$("$repo_root/hack/cluster/build-bins.sh" node)
kind_bins=$("$kind_dir/build-bins.sh")
shim=$("$kind_dir/host-setup.sh")
export PATH="$shim:$kind_bins:$PATH"
kube_version=$("$cp_bins/kubectl" version --client -o json | jq -r .clientVersion.gitVersion)
kind_module=$(cd "$kind_dir/bins" && go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
k8s_module=$(cd "$repo_root/hack/cluster/bins" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)

# The image names kubeadm will ask for, and the pause image kind's containerd
# config names (kind replaces kubeadm's pause with it).
mapfile -t kubeadm_images < <("$node_bins/kubeadm" config images list --kubernetes-version "$kube_version")
image_named() { printf '%s\n' "${kubeadm_images[@]}" | grep "/$1:"; }
sandbox_image=$(grep -oP 'sandbox_image\s*=\s*"\K[^"]+' "$kind_module/images/base/files/etc/containerd/config.toml")

# 1. kind's base image.
base_context=$(mktemp -d /var/tmp/llmplan-kind-base.XXXXXX)
trap 'rm -rf "$base_context"' EXIT
cp -r "$kind_module/images/base/files" "$base_context/files"
chmod -R u+w "$base_context/files"
mkdir "$base_context/bin"
cp "$kind_bins"/{containerd,ctr,containerd-shim-runc-v2,crictl} "$base_context/bin/"
cp "$here_images/kind-base/Containerfile" "$base_context/"
base_key=$(key_of "$(cached_tag debian x)" "$(podman image inspect -f '{{.Id}}' docker.io/library/debian:bookworm)" "$base_context")
kind_base=$(build_image kind-base "$base_key" "$base_context" --format docker)

# 2. Images for kubeadm: generated Containerfiles, one static binary each.
images_context=$(mktemp -d /var/tmp/llmplan-k8s-images.XXXXXX)
trap 'rm -rf "$base_context" "$images_context"' EXIT
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  static_image "$images_context" "$c" "$(image_named "$c")" "$cp_bins/$c" "[\"/usr/local/bin/$c\"]"
done
static_image "$images_context" etcd "$(image_named etcd)" "$cp_bins/etcd" '["/usr/local/bin/etcd"]'
# CoreDNS runs as nonroot, like the official image (kubeadm adds NET_BIND_SERVICE).
static_image "$images_context" coredns "$(image_named coredns)" "$kind_bins/coredns" '["/usr/local/bin/coredns"]' 65532
ms_version=$(cd "$kind_dir/bins" && go list -m -f '{{.Version}}' sigs.k8s.io/metrics-server)
static_image "$images_context" metrics-server "registry.k8s.io/metrics-server/metrics-server:$ms_version" \
  "$kind_bins/metrics-server" '["/usr/local/bin/metrics-server"]' 65534

pause_version=${sandbox_image##*:}
mkdir -p "$images_context/pause-src"
gcc -Os -static -DVERSION="v$pause_version-llmplan" -o "$images_context/pause-src/pause" \
  "$k8s_module/build/pause/linux/pause.c"
strip "$images_context/pause-src/pause"
static_image "$images_context" pause "$sandbox_image" "$images_context/pause-src/pause" '["/usr/local/bin/pause"]' 65535

mkdir -p "$images_context/kube-proxy"
cp "$node_bins/kube-proxy" "$images_context/kube-proxy/"
cat >"$images_context/kube-proxy/Containerfile" <<'PROXY'
FROM docker.io/library/debian:bookworm
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iptables nftables conntrack ipset kmod \
 && rm -rf /var/lib/apt/lists/*
COPY kube-proxy /usr/local/bin/kube-proxy
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
PROXY
proxy_key=$(key_of "$images_context/kube-proxy" "$base_key")
tag_as "$(build_image kube-proxy "$proxy_key" "$images_context/kube-proxy" --format docker)" "$(image_named kube-proxy)"

# kind's node-image build also wants the images of its default CNI (kindnetd)
# and storage (local-path-provisioner/-helper). No registry here serves them,
# and this cluster runs neither (node/Containerfile), so they are named by a
# placeholder image that holds only a note saying so.
mapfile -t kind_defaults < <(grep -ohP '(const|=)\s*\w*[Ii]mage\s*=\s*"\Kdocker\.io/kindest/[^"]+' \
  "$kind_module"/pkg/build/nodeimage/const_*.go)
mkdir -p "$images_context/placeholder"
printf 'Not built: this name is required by `kind build node-image`, and no registry\nreachable here serves it. The llmplan kind cluster does not run it (see\nhack/kind/images/kind-node/Containerfile).\n' \
  >"$images_context/placeholder/NOT-BUILT"
printf 'FROM scratch\nCOPY NOT-BUILT /NOT-BUILT\n' >"$images_context/placeholder/Containerfile"
placeholder=$(build_image kind-placeholder "$(key_of "$images_context/placeholder")" "$images_context/placeholder")
for image in "${kind_defaults[@]}"; do tag_as "$placeholder" "$image"; done

# 3 + 4. The release tarball and the node image, keyed by everything above.
node_key=$(key_of "$kind_base" "$kube_version" "$here_images/kind-node" "${BASH_SOURCE[0]}" \
  "$(podman image inspect -f '{{.Id}}' "${kubeadm_images[@]/*pause*/$sandbox_image}" "${kind_defaults[@]}" \
    "registry.k8s.io/metrics-server/metrics-server:$ms_version")" \
  "$node_bins/kubeadm" "$node_bins/kubelet" "$cp_bins/kubectl")
node_image=$(cached_tag kind-node "$node_key")
if ! image_exists "$node_image"; then
  release=$(mktemp -d /var/tmp/llmplan-k8s-release.XXXXXX)
  trap 'rm -rf "$base_context" "$images_context" "$release"' EXIT
  bin="$release/kubernetes/server/bin"
  mkdir -p "$bin"
  echo "$kube_version" >"$release/kubernetes/version"
  cp "$node_bins/kubeadm" "$node_bins/kubelet" "$cp_bins/kubectl" "$bin/"
  step "image archives for the node"
  save_archive() { # FILE IMAGE...: a docker-archive whose `repositories` entry comes first
    local file=$1 unpacked
    shift
    unpacked=$(mktemp -d "$release/archive.XXXXXX")
    podman save --quiet --format docker-archive --multi-image-archive -o "$unpacked.tar" "$@"
    tar -C "$unpacked" -xf "$unpacked.tar"
    (cd "$unpacked" && tar -cf "$file" repositories manifest.json $(ls | grep -vxE 'repositories|manifest.json'))
    rm -rf "$unpacked" "$unpacked.tar"
  }
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    save_archive "$bin/$c.tar" "$(image_named "$c")"
  done
  # Everything else kind must find rides in kube-proxy's archive (kind reads
  # only these four archives, but every tag in each one's `repositories`).
  # metrics-server too: kind-up installs it, and it is then already on the node.
  save_archive "$bin/kube-proxy.tar" "$(image_named kube-proxy)" "$(image_named etcd)" \
    "$(image_named coredns)" "$sandbox_image" "${kind_defaults[@]}" \
    "registry.k8s.io/metrics-server/metrics-server:$ms_version"
  tar -C "$release" -czf "$release/kubernetes-server-linux-amd64.tar.gz" kubernetes
  step_done
  step "kind build node-image ($kube_version)"
  run_logged kind-build-node-image kind build node-image --type file \
    --base-image "$kind_base" --image "localhost/llmplan-cache/kind-node-raw:$node_key" \
    "$release/kubernetes-server-linux-amd64.tar.gz"
  step_done
  # kind commits its image with `--change 'ENV HTTP_PROXY="" HTTPS_PROXY="" NO_PROXY=""'`;
  # podman 4.3 reads that as one variable, HTTP_PROXY=`" HTTPS_PROXY="" NO_PROXY="`, which
  # kubeadm then copies into the API server's pod: every pods/proxy request it made went to
  # a proxy at ":0". None of the three is wanted on the node: unset them.
  build_image kind-node "$node_key" "$here_images/kind-node" \
    --build-arg "NODE_IMAGE=localhost/llmplan-cache/kind-node-raw:$node_key" \
    --unsetenv HTTP_PROXY --unsetenv HTTPS_PROXY --unsetenv NO_PROXY >/dev/null
  podman rmi "localhost/llmplan-cache/kind-node-raw:$node_key" >/dev/null
fi
echo "$node_image"
