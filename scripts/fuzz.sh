#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan), replays
# every regression input of fixtures/fuzz/<target>/ (each must pass), then
# fuzzes each target for SECONDS (default 30), seeded from the fixtures and,
# when it is there, from ../shared/corpus (read in place, never copied into
# the repository). docs/fuzzing.md explains the targets and the findings.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Environment:
#   PHG_FUZZ_BUILD         build folder (default build-fuzz)
#   PHG_FUZZ_CORPUS_LIMIT  at most N corpus SQL files as seeds (default 200;
#                          0 takes all of them)
#   PHG_FUZZ_JOBS          targets fuzzed at once (default: the cores)
# A crash, leak or hang stops with exit 1 and leaves the input under
# <build>/artifacts/; minimise it with
#   <build>/tests/fuzz/<target> -minimize_crash=1 -runs=10000 <input>
# and add it to fixtures/fuzz/<target>/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_sql fuzz_config fuzz_layout fuzz_providers)
build=${PHG_FUZZ_BUILD:-build-fuzz}
limit=${PHG_FUZZ_CORPUS_LIMIT:-200}
jobs=${PHG_FUZZ_JOBS:-$(nproc)}

command -v clang >/dev/null || {
  echo "fuzz: clang is needed (scripts/install-deps.sh installs it)" >&2
  exit 1
}
echo "== fuzz: build ($build)"
CC=clang cmake -S . -B "$build" -DPHG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
bin=$build/tests/fuzz

export ASAN_OPTIONS=detect_leaks=1
# One known leak inside libpg_query itself; the file says why.
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== fuzz: replay fixtures/fuzz"
for t in "${targets[@]}"; do
  inputs=()
  if [ -d "fixtures/fuzz/$t" ]; then
    while IFS= read -r -d '' f; do inputs+=("$f"); done \
      < <(find "fixtures/fuzz/$t" -type f -print0 | sort -z)
  fi
  [ ${#inputs[@]} -gt 0 ] || continue
  if ! "$bin/$t" -timeout=25 "${inputs[@]}" >"$build/replay-$t.log" 2>&1; then
    echo "fuzz: $t fails on a regression input; see $build/replay-$t.log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|Running:)' "$build/replay-$t.log" | tail -n 5 >&2
    exit 1
  fi
  echo "$t: ${#inputs[@]} regression inputs pass"
done

[ "$seconds" -gt 0 ] || exit 0
work=$(mktemp -d "${TMPDIR:-/tmp}/phg-fuzz-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
corpus_args=()
[ -d ../shared/corpus ] && corpus_args=(--corpus ../shared/corpus --corpus-limit "$limit")
python3 tests/fuzz/seeds.py . "$work/seeds" "${corpus_args[@]}"
mkdir -p "$build/artifacts"

echo "== fuzz: ${seconds}s per target, $jobs at a time"
run_one() {
  local t=$1 max_len=16384
  [ "$t" = fuzz_config ] && max_len=4096
  [ "$t" = fuzz_providers ] && max_len=8192
  mkdir -p "$work/new/$t"
  "$bin/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -max_len="$max_len" -print_final_stats=1 -dict="tests/fuzz/${t#fuzz_}.dict" \
    -artifact_prefix="$build/artifacts/$t-" \
    "$work/new/$t" "$work/seeds/$t" >"$build/fuzz-$t.log" 2>&1
}
pids=()
names=()
fail=0
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  run_one "$t" &
  pids+=($!)
  names+=("$t")
done
for i in "${!pids[@]}"; do
  t=${names[$i]}
  if wait "${pids[$i]}"; then
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log")
    echo "$t: ${execs:-?} executions in ${seconds}s, nothing found"
  else
    echo "fuzz: $t found a problem; see $build/fuzz-$t.log and $build/artifacts/" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY)' "$build/fuzz-$t.log" | head -n 3 >&2
    fail=1
  fi
done
exit $fail
