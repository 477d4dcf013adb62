#!/usr/bin/env bash
# Runs every test: the source checks, the suite in a normal build, and the
# suite again built with AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/check-sources.sh

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
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== tests under ASan + UBSan"
(cd build-asan && ctest --output-on-failure -j"$(nproc)")
echo "== tests"
(cd build && ctest --output-on-failure -j"$(nproc)")
echo "== fuzz: replay fixtures/fuzz, then a short run of each target"
bash scripts/fuzz.sh "${PHG_FUZZ_SECONDS:-30}"
