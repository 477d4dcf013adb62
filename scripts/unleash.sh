#!/usr/bin/env bash
# Installs unleash-server (the feature-flag service the release tests drive
# through its Admin API) with npm into a cache folder outside the source
# tree, and prints that folder. Safe to run again: when the pinned version is
# already there it returns at once. Used by scripts/install-deps.sh (so CI
# has it) and by tests/test_it_unleash.c, which starts it with
# scripts/unleash-server.js against a fresh PostgreSQL database.
#
#   scripts/unleash.sh            # install if needed, print the folder
#   PHG_UNLEASH_DIR=/somewhere scripts/unleash.sh
#
# unleash-server 7.5.1 runs on Node 20 (8.x needs Node 22): RECIPES.md.
set -euo pipefail

version=7.5.1
dir="${PHG_UNLEASH_DIR:-/opt/phasegate-deps/unleash}"
stamp="$dir/.installed-$version"

if [ -f "$stamp" ] && [ -f "$dir/node_modules/unleash-server/package.json" ]; then
  echo "$dir"
  exit 0
fi
command -v node >/dev/null || { echo "unleash.sh: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "unleash.sh: npm is not installed" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "unleash.sh: unleash-server $version needs Node 20 or later (found $(node --version))" >&2
  exit 1
fi

mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || echo '{"name":"phasegate-unleash","private":true}' > package.json
npm install --no-audit --no-fund --loglevel=error "unleash-server@$version" >&2
# Checks the install is usable before stamping it.
node -e "require(\"module\").createRequire(process.cwd() + \"/package.json\").resolve(\"unleash-server\")" >&2
touch "$stamp"
echo "$dir"
