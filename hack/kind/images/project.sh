#!/usr/bin/env bash
# The project's own images, built from its Dockerfiles as they are, and pushed
# to the kind cluster's local registry (hack/kind/registry.sh):
#
#   service/Dockerfile        → ghcr.io/llmplan/summarizer:{main,latest,v0.1.0,dev-<key>}
#                               (the tags the examples name; the default repository)
#   operator/Dockerfile       → ghcr.io/llmplan/llmplan-operator:dev-<key>
#   hack/llm/Containerfile    → ghcr.io/llmplan/inference-server:<key> (LM Studio's stand-in)
#   test/support/fakes/Containerfile  → ghcr.io/llmplan/test-tools:<key> (the fake LM Studio, the load generator)
#
# <key> is the hash of the files each image is built from. Writes the image
# references to $1 (an env file: SERVICE_IMAGE, OPERATOR_IMAGE, LLM_IMAGE, TOOLS_IMAGE).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
env_file=${1:?usage: project.sh ENV_FILE}
registry="$repo_root/hack/kind/registry.sh"
cd "$repo_root"
# shellcheck disable=SC2046 # host_trust_mounts prints flags
trust=($(host_trust_mounts))

# The bases the Dockerfiles start from count in every key (base.sh may rebuild them).
bases=$(podman image inspect -f '{{.Id}}' docker.io/library/node:22-bookworm-slim docker.io/library/debian:bookworm)

# project_image NAME DOCKERFILE INPUTS...: builds from the repository root; prints the cached tag.
project_image() {
  local name=$1 dockerfile=$2
  shift 2
  build_image "$name" "$(key_of "$bases" "$dockerfile" .dockerignore "$@")" . \
    -f "$dockerfile" --format docker "${trust[@]}"
}
# publish LOCAL REPO TAG...: pushes LOCAL to the registry as REPO:TAG unless it holds that already.
publish() {
  local local_tag=$1 repo=$2 tag
  shift 2
  for tag in "$@"; do
    "$registry" has "$repo:$tag" 2>/dev/null && continue
    "$registry" push "$local_tag" "$repo:$tag"
  done
}

npm_inputs=(package.json package-lock.json tsconfig.json tsconfig.build.json)
service=$(project_image service service/Dockerfile "${npm_inputs[@]}" contract service)
service_key=${service##*:}
operator=$(project_image operator operator/Dockerfile "${npm_inputs[@]}" contract operator service)
operator_key=${operator##*:}
llm=$(project_image inference-server hack/llm/Containerfile hack/llm/requirements.txt hack/llm/serve.py)
llm_key=${llm##*:}
tools=$(project_image test-tools test/support/fakes/Containerfile "${npm_inputs[@]}" test/support/fakes/tsconfig.image.json \
  test/support/fakes/lmstudio.ts test/support/fakes/lmstudio-main.ts test/support/load/loadgen.ts test/support/load/loadgen-main.ts)
tools_key=${tools##*:}

step "push the project's images to the local registry"
# main/latest/v0.1.0 always point at this checkout's build: re-pushed each time.
for tag in main latest v0.1.0; do "$registry" push "$service" "llmplan/summarizer:$tag"; done
publish "$service" llmplan/summarizer "dev-$service_key"
publish "$operator" llmplan/llmplan-operator "dev-$operator_key"
publish "$llm" llmplan/inference-server "$llm_key"
publish "$tools" llmplan/test-tools "$tools_key"
step_done

cat >"$env_file" <<ENV
SERVICE_IMAGE=ghcr.io/llmplan/summarizer:dev-$service_key
OPERATOR_IMAGE=ghcr.io/llmplan/llmplan-operator:dev-$operator_key
LLM_IMAGE=ghcr.io/llmplan/inference-server:$llm_key
TOOLS_IMAGE=ghcr.io/llmplan/test-tools:$tools_key
ENV
