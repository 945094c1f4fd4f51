#!/usr/bin/env bash
# Installs Schemathesis (requirements.txt: it and every package it needs, pinned and hashed,
# wheels from PyPI) into a venv outside the checkout, keyed by a hash of requirements.txt and
# this script, and prints the path of its `schemathesis` command. Idempotent; about 15 s cold.
#
#   st=$(hack/schemathesis/setup.sh) && "$st" run http://127.0.0.1:8000/openapi.json --checks all
#
# The venv is built where it stays (a venv cannot be moved), under the cache's lock, and
# marked complete last, so an interrupted install is redone. Env: LLMPLAN_CACHE (see
# hack/lib/cache.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/cache.sh"

venv=$(cache_dir schemathesis-venv "$here/requirements.txt" "${BASH_SOURCE[0]}")
cache_ready "$venv" && { echo "$venv/bin/schemathesis"; exit 0; }
cache_lock "$venv"
cache_ready "$venv" && { echo "$venv/bin/schemathesis"; exit 0; }
start=$(date +%s)
echo "installing Schemathesis into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes \
  -r "$here/requirements.txt" >&2
"$venv/bin/schemathesis" --version >&2
touch "$venv/.complete"
echo "Schemathesis installed in $(elapsed "$start")" >&2
echo "$venv/bin/schemathesis"
