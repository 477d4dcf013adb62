#!/usr/bin/env bash
# Static analysis of the C in src/ and analyzers/: cppcheck at the
# "warning, performance, portability" level (style is left to clang-format
# and review), then clang-tidy with the checked-in .clang-tidy (which lists
# what is off and why). Both must report nothing. A false positive is
# silenced where it stands, with a comment saying why
# (/* cppcheck-suppress id */, NOLINT(check)).
#   scripts/lint-c.sh [--analyzer] [BUILD]
#     BUILD gets compile_commands.json (default build-tidy)
#     --analyzer also runs every clang-analyzer check as a report that
#     does not fail (.clang-tidy says why they are not in the gate)
#   PHG_LINT_C_SKIP_TIDY=1      cppcheck only
set -euo pipefail
cd "$(dirname "$0")/.."
analyzer=0
if [ "${1:-}" = --analyzer ]; then
  analyzer=1
  shift
fi
build=${1:-build-tidy}
jobs=$(nproc)

for tool in cppcheck clang-tidy run-clang-tidy; do
  command -v "$tool" >/dev/null || {
    echo "lint-c: $tool is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done

echo "== cppcheck ($(cppcheck --version))"
# cJSON's header is forced in so cJSON_ArrayForEach is known; the other
# system headers are not parsed (cppcheck knows libc from its std.cfg).
cppcheck -q --std=c11 --enable=warning,performance,portability \
  --inline-suppr --error-exitcode=1 -j"$jobs" \
  --include=/usr/include/cjson/cJSON.h -I src -I . \
  -D_POSIX_C_SOURCE=200809L -DPHG_VERSION='"0"' \
  src analyzers
echo "cppcheck: nothing found"

[ "${PHG_LINT_C_SKIP_TIDY:-0}" = 1 ] && exit 0
echo "== clang-tidy ($(clang-tidy --version | sed -n 's/.*version //p' | head -n 1))"
cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" --target phg_pg_nodes >/dev/null
# The embedded rule docs are generated at build time; clang-tidy does not
# look at them. It does read src/parse/nodes.c's generated node tables, so
# only that target is built.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! run-clang-tidy -p "$build" -j "$jobs" -quiet "$PWD/(src|analyzers)/" >"$log" 2>&1; then
  grep -E '(warning|error):' "$log" | sort -u >&2 || cat "$log" >&2
  echo "clang-tidy: findings above (.clang-tidy says what is checked)" >&2
  exit 1
fi
if grep -qE '(warning|error): ' "$log"; then
  grep -E '(warning|error): ' "$log" | sort -u >&2
  exit 1
fi
echo "clang-tidy: nothing found"

if [ $analyzer = 1 ]; then
  echo "== clang-analyzer (report only)"
  run-clang-tidy -p "$build" -j "$jobs" -quiet \
    -checks='-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
    "$PWD/(src|analyzers)/" 2>/dev/null | grep -E '(warning|error): ' | sort -u || true
fi
