#!/usr/bin/env bash
# Installs the Debian 12 packages phasegate needs to build and test.
# Used by the README and by .ci/run; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3 time clang-format
  libpg-query-dev libprotobuf-c-dev libcjson-dev libyaml-dev libssl-dev
  libpq-dev libsqlite3-dev libcurl4-openssl-dev check
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "install-deps: all packages present"
