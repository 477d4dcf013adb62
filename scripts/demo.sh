#!/usr/bin/env bash
# The demo: lint the bundled migrations (the ADR's organizations.slug change
# done safely over four releases, which passes), then the ADR's literal
# single-release version (which must be refused, with its explanation).
# Exits 0 when both behave as expected.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build
bin=$PWD/build/phasegate

echo "== phasegate lint  (the demo: migrations/ + phasegate.yaml)"
set +e
"$bin" lint
demo=$?
echo
echo "== phasegate lint  (fixtures/adr-single-release: the ADR's three steps in one release)"
(cd fixtures/adr-single-release && "$bin" lint)
single=$?
set -e
echo
if [ "$demo" -eq 0 ] && [ "$single" -eq 1 ]; then
  echo "demo: as expected — the safe sequence passes (exit 0), the single release is refused (exit 1)"
  exit 0
fi
echo "demo: NOT as expected — demo exit $demo (want 0), single release exit $single (want 1)" >&2
exit 1
