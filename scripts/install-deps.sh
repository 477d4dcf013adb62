#!/usr/bin/env bash
# Installs the Debian 12 packages phasegate needs to build and test.
# Used by the README and by .ci/run; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3 time clang-format
  libpg-query-dev postgresql-server-dev-15 libprotobuf-c-dev libcjson-dev libyaml-dev libssl-dev
  libpq-dev libsqlite3-dev libcurl4-openssl-dev check
  postgresql-15 postgresql-client-15
  # clang and its libFuzzer runtime, for scripts/fuzz.sh
  clang libclang-rt-14-dev
  # scripts/valgrind.sh and scripts/lint-c.sh
  valgrind cppcheck clang-tidy
  # real services for the release integration tests (nginx, traffic, metrics)
  nginx wrk mtail curl
  # the release report's page is rendered in headless Chromium by its test,
  # which reads the screenshot (PNG) with zlib
  chromium zlib1g-dev
)
# Installed without recommends: 12 packages instead of 37 (RECIPES.md).
packages_norec=(prometheus)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
fi
missing=()
for p in "${packages_norec[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The integration tests start their own clusters (tests/pg_cluster.c) and
# never use the system cluster that the postgresql package may create
# (/etc/postgresql/15/main): stop it if the package started it, and keep it
# from starting at boot.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
    case "$status" in
      online*) $sudo pg_ctlcluster "$ver" "$name" stop || true ;;
    esac
    conf="/etc/postgresql/$ver/$name/start.conf"
    if [ -f "$conf" ] && grep -qx 'auto' "$conf"; then
      $sudo sed -i 's/^auto$/manual/' "$conf"
    fi
  done
fi
# unleash-server from npm, for the feature-flag tests (test_it_unleash):
# into /opt/phasegate-deps/unleash (PHG_UNLEASH_DIR), fast when present.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  "$(dirname "$0")/unleash.sh" >/dev/null
else
  echo "install-deps: node/npm missing: unleash-server not installed (test_it_unleash will fail)" >&2
fi
echo "install-deps: all packages present"
