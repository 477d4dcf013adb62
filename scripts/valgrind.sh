#!/usr/bin/env bash
# Runs the unit suite (ctest -L unit) under valgrind memcheck: every error
# and every definite or indirect leak fails it. Check's fork per test is off
# (CK_FORK=no) so the whole suite runs in the process valgrind watches, and
# PHG_ARENA_MALLOC=1 gives each arena allocation its own malloc, so a leak
# is reported where it was allocated. The phasegate binary the suites run
# is not traced here (the sanitizer build runs it under ASan); a few lints
# of the release fixtures run it under valgrind at the end instead.
#   scripts/valgrind.sh [BUILD]     (default build; builds it if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

command -v valgrind >/dev/null || {
  echo "valgrind: not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
}
[ -f "$build/CMakeCache.txt" ] || bash scripts/build.sh "$build"
cmake --build "$build" -j"$(nproc)" >/dev/null
build=$(cd "$build" && pwd)

vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
  --show-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30)
export CK_FORK=no PHG_ARENA_MALLOC=1 CK_DEFAULT_TIMEOUT=1200
export PHG_SOURCE_DIR=$PWD PHG_BINARY=$build/phasegate

mapfile -t tests < <(cd "$build" && ctest -L unit -N | sed -n 's/^ *Test *#[0-9]*: //p')
[ ${#tests[@]} -gt 0 ] || { echo "valgrind: no unit tests found in $build" >&2; exit 1; }
# Suites whose tests end their own process on purpose (test_lazy checks
# the handler that stops the program when a library cannot be loaded) keep
# Check's fork; valgrind follows a fork without exec, so each child is
# still checked.
needs_fork=" test_lazy "
run_suite() {
  local t=$1 fork=no start=$SECONDS
  [[ $needs_fork == *" $t "* ]] && fork=yes
  if (cd "$build" && CK_FORK=$fork "${vg[@]}" --log-file="valgrind-$t.log" "./$t" >"valgrind-$t.out" 2>&1); then
    echo "valgrind: $t clean ($((SECONDS - start)) s)"
  else
    echo "valgrind: $t FAILED ($((SECONDS - start)) s); see $build/valgrind-$t.log and .out" >&2
    tail -n 30 "$build/valgrind-$t.log" "$build/valgrind-$t.out" >&2 || true
    return 1
  fi
}
# One suite per core at a time (valgrind runs a program on one core).
fail=0
pids=()
for t in "${tests[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do sleep 1; done
  run_suite "$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do
  wait "$p" || fail=1
done

# The binary itself, under valgrind, on every release scenario (json).
start=$SECONDS
n=0
for d in fixtures/releases/*/; do
  [ -f "$d/phasegate.yaml" ] || continue
  rc=0
  (cd "$d" && "${vg[@]}" --log-file="$build/valgrind-lint.log" \
    "$PHG_BINARY" lint --format json >/dev/null 2>&1) || rc=$?
  if [ "$rc" -gt 3 ]; then
    echo "valgrind: phasegate lint in $d FAILED (exit $rc)" >&2
    cat "$build/valgrind-lint.log" >&2
    fail=1
  fi
  n=$((n + 1))
done
echo "valgrind: phasegate lint clean on $n release fixtures ($((SECONDS - start)) s)"
exit $fail
