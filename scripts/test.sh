#!/usr/bin/env bash
# Runs every test: the source checks and static analysis, the suite in a
# normal build, the suite again built with AddressSanitizer and
# UndefinedBehaviorSanitizer, the unit suite under valgrind, and the fuzz
# targets (regression inputs, then 30 s each).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/check-sources.sh
echo "== static analysis (cppcheck, clang-tidy)"
bash scripts/lint-c.sh build-tidy

echo "== build (RelWithDebInfo)"
bash scripts/build.sh build
echo "== build (ASan + UBSan)"
bash scripts/build.sh build-asan -DPHG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

if [ -f ../shared/acceptance/run.py ]; then
  echo "== acceptance examples (../shared/acceptance)"
  out=$(python3 ../shared/acceptance/run.py build/phasegate ../shared/acceptance/cases.txt)
  echo "$out"
  echo "$out" | tail -n 1 | grep -q ' 0 failed$' || { echo "acceptance examples failed" >&2; exit 1; }
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
# libpg_query's own leak on a PL/pgSQL body that does not compile (the file
# says why); the binary meets one in test_input_matrix's DO blocks.
export LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== tests under ASan + UBSan"
(cd build-asan && ctest --output-on-failure -j"$(nproc)")
echo "== tests"
# The end-to-end release suite (a whole sandbox, about 4 minutes) runs once,
# in the sanitizer build above.
(cd build && ctest --output-on-failure -j"$(nproc)" -E '^test_it_e2e$')
echo "== unit tests under valgrind memcheck"
bash scripts/valgrind.sh build
echo "== fuzz: replay fixtures/fuzz, then a short run of each target"
bash scripts/fuzz.sh "${PHG_FUZZ_SECONDS:-30}"
