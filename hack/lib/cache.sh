# Sourced by the build and cluster scripts. Build results are cached outside the checkout, in a
# directory named by a hash of everything that decides them (pins, sources,
# the script itself), so a fresh clone reuses a previous build and changing a
# pin builds anew. One build per directory at a time (make and the test setup
# may ask at once): a second caller waits for the lock and finds the result.
#
#   . hack/lib/cache.sh
#   out=$(cache_dir kind-bins FILE...)       # ~/.cache/llmplan/kind-bins/<hash of FILEs>
#   cache_ready "$out" && { echo "$out"; exit 0; }
#   cache_lock "$out"                        # waits for another builder; re-check after it
#   cache_ready "$out" && { echo "$out"; exit 0; }
#   tmp=$(cache_tmp "$out")                  # build into $tmp, then
#   cache_commit "$tmp" "$out"               # marks it complete and moves it into place
#
# Env: LLMPLAN_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/llmplan).

llmplan_cache_root() {
  echo "${LLMPLAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llmplan}"
}

# cache_dir NAME FILE...: the directory for a build of NAME from FILEs.
cache_dir() {
  local name=$1
  shift
  echo "$(llmplan_cache_root)/$name/$(cat "$@" | sha256sum | cut -c1-16)"
}

cache_ready() { [ -f "$1/.complete" ]; }

cache_lock() {
  mkdir -p "$(dirname "$1")"
  exec 9>"$1.lock"
  flock 9
}

cache_tmp() {
  local tmp="$1.tmp-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # shellcheck disable=SC2064 # expand now: the trap removes this build's directory
  trap "rm -rf '$tmp'" EXIT
  echo "$tmp"
}

cache_commit() {
  touch "$1/.complete"
  rm -rf "$2"
  mv "$1" "$2"
}

# elapsed START: "N s" since START (seconds since the epoch).
elapsed() { echo "$(($(date +%s) - $1)) s"; }

# The local control plane's state directory for LLMPLAN_CLUSTER_NAME (default
# llmplan: .cluster/; another name is another cluster, in .cluster-<name>/).
cluster_state_dir() { # ROOT
  local name=${LLMPLAN_CLUSTER_NAME:-llmplan}
  if [ "$name" = llmplan ]; then echo "$1/.cluster"; else echo "$1/.cluster-$name"; fi
}
