#!/usr/bin/env bash
# The demo. First the lint gate: the bundled migrations (the ADR's
# organizations.slug change done safely over four releases) pass, the ADR's
# literal single-release version is refused with its explanation. Then a
# whole release of the candidate (v1.3.0) in the sandbox: `sandbox up` (three
# regions on 127.0.0.1), wrk sending traffic through every region's balancer,
# `phasegate release v1.3.0` with its progress view, `release status`,
# `history`, `release report --html`, and `sandbox down` (always, in a trap).
# The release uses a copy of the sandbox's config with shorter holds (5 s per
# traffic step instead of 20 s, 2 s soak instead of 5 s), so it takes about a
# minute. Exits 0 when the lint results are as expected, the release
# finished in every region and wrk saw no failed request.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh build
bin=$PWD/build/phasegate
tag=v1.3.0
started=$SECONDS

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
if [ "$demo" -ne 0 ] || [ "$single" -ne 1 ]; then
  echo "demo: NOT as expected — demo exit $demo (want 0), single release exit $single (want 1)" >&2
  exit 1
fi
echo "demo: as expected — the safe sequence passes (exit 0), the single release is refused (exit 1)"
echo

# The sandbox lives in a temporary folder that the postgres user can reach.
work=$(mktemp -d /tmp/phasegate-demo.XXXXXX)
chmod 755 "$work"
sbx=$work/sandbox
wrk_pids=()
cleanup() {
  local pid
  for pid in "${wrk_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  echo
  echo "== phasegate sandbox down"
  "$bin" sandbox down --dir "$sbx" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== phasegate sandbox up --dir $sbx"
"$bin" sandbox up --dir "$sbx" --migrations "$PWD/migrations"
# The demo's copy of the config: shorter holds and soak.
cfg=$sbx/demo.yaml
sed -e 's/^    hold: 20s$/    hold: 5s/' -e 's/^    soak: 5s$/    soak: 2s/' \
  "$sbx/phasegate.yaml" >"$cfg"
if ! grep -q '^    hold: 5s$' "$cfg" || ! grep -q '^    soak: 2s$' "$cfg"; then
  echo "demo: the sandbox's config has no 'hold: 20s' / 'soak: 5s' to shorten" >&2
  exit 1
fi
echo "(the demo's copy of it, $cfg: traffic steps held 5 s, soak 2 s)"

# Background traffic: one wrk per region through its balancer, two
# connections each paced at about 100 requests/s per connection; at most
# 10 minutes, stopped (SIGINT: it prints its summary) after the release.
cat >"$work/paced.lua" <<'EOF'
function delay() return 10 end
EOF
echo
echo "== wrk: background traffic through every region's balancer"
for region in us-east-1 eu-west-1 ap-southeast-1; do
  port=$(sed -n "/^  - name: $region\$/,/^  - name:/s/^      balancer: 127.0.0.1:\([0-9]*\)\$/\1/p" "$cfg")
  if [ -z "$port" ]; then
    echo "demo: no balancer address for $region in $cfg" >&2
    exit 1
  fi
  echo "  $region: http://127.0.0.1:$port/app"
  wrk -t1 -c2 -d600s -s "$work/paced.lua" "http://127.0.0.1:$port/app" \
    >"$work/wrk-$region.txt" 2>&1 &
  wrk_pids+=($!)
done
sleep 3

echo
echo "== phasegate release $tag"
set +e
"$bin" --config "$cfg" release "$tag"
release=$?
set -e

echo
echo "== phasegate release status"
"$bin" --config "$cfg" release status || true
echo
echo "== phasegate history"
"$bin" --config "$cfg" history || true

# Stop the traffic and read wrk's summaries.
for pid in "${wrk_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
for pid in "${wrk_pids[@]}"; do wait "$pid" || true; done
wrk_pids=()
requests=0
failed=0
echo
echo "== wrk: what the traffic saw"
for region in us-east-1 eu-west-1 ap-southeast-1; do
  f=$work/wrk-$region.txt
  n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$f")
  non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$f")
  sock=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$f")
  n=${n:-0}
  non2xx=${non2xx:-0}
  sockerr=0
  for v in $sock; do sockerr=$((sockerr + v)); done
  echo "  $region: $n requests, $non2xx non-2xx, $sockerr socket errors"
  if [ "$n" -eq 0 ]; then
    echo "demo: wrk sent no request to $region:" >&2
    cat "$f" >&2
  fi
  requests=$((requests + n))
  failed=$((failed + non2xx + sockerr))
  if [ "$n" -eq 0 ]; then failed=$((failed + 1)); fi
done
echo "  total: $requests requests, $failed failed"

report=$PWD/build/release-$tag.html
echo
echo "== phasegate release report $tag --html $report"
"$bin" --config "$cfg" release report "$tag" --html "$report" || true
echo "report: $report"

echo
if [ "$release" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "demo: as expected — release $tag finished in every region, $requests requests through the balancers, none failed ($((SECONDS - started)) s)"
  exit 0
fi
echo "demo: NOT as expected — release exit $release (want 0), $failed failed requests of $requests (want 0)" >&2
exit 1
