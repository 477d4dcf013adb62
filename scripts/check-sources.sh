#!/usr/bin/env bash
# A tiny source check: clang-format clean, every C file opens with a header
# comment, and no exit() outside src/main.c.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src analyzers tests bench -name '*.[ch]')
for f in $files; do
  [ -f "$f" ] || continue
  if ! head -n 1 "$f" | grep -q '^/\*'; then
    echo "check-sources: $f does not open with a header comment" >&2; fail=1
  fi
  if ! clang-format --dry-run --Werror "$f" 2>/dev/null; then
    echo "check-sources: $f is not clang-format clean (run clang-format -i $f)" >&2; fail=1
  fi
done
if grep -nE '(^|[^_a-z])exit\(' $(echo "$files" | grep -E '^(src|analyzers)/' | grep -v '^src/main.c$') 2>/dev/null; then
  echo "check-sources: exit() outside src/main.c" >&2; fail=1
fi
[ $fail -eq 0 ] && echo "check-sources: ok"
exit $fail
