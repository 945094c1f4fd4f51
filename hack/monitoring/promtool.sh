#!/usr/bin/env bash
# promtool (Prometheus' rule checker and unit tester) from Debian's `prometheus` package,
# extracted into the cache rather than installed: installing the package would also start
# a Prometheus server, and only the tool is needed. Idempotent; prints promtool's path.
#   hack/monitoring/promtool.sh            # e.g. ~/.cache/llmplan/promtool/2.42.0+ds-5+deb12u1/promtool
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib/cache.sh"

if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
candidate() { apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}'; }
version=$(candidate)
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  # A fresh machine may not have the package lists yet.
  apt-get update -qq >&2
  version=$(candidate)
fi
[ -n "$version" ] && [ "$version" != "(none)" ] || {
  echo "promtool.sh: Debian's prometheus package is not available from apt" >&2
  exit 1
}
out="$(llmplan_cache_root)/promtool/$version"
cache_ready "$out" && { echo "$out/promtool"; exit 0; }
cache_lock "$out"
cache_ready "$out" && { echo "$out/promtool"; exit 0; }
tmp="$out.tmp-$$"
rm -rf "$tmp" && mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq "prometheus=$version" >&2)
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"
mv "$tmp/root/usr/bin/promtool" "$tmp/promtool"
rm -rf "$tmp/root" "$tmp"/prometheus_*.deb
"$tmp/promtool" --version >&2
cache_commit "$tmp" "$out"
echo "$out/promtool"
