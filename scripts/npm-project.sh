#!/usr/bin/env bash
# A real npm project for the "installed, not declared" inventory tests, made by npm itself into
# .local/tools/npm-project/: npm writes the lockfile from test/fixtures/npm-project/package.json
# (one production dependency with its tree, one development dependency with its own), installs
# it with `npm ci --omit=dev` as a production image would, and records what `npm ls` then says
# is installed (npm-ls.json). Rebuilt when the manifest changes.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=test/fixtures/npm-project/package.json
out=.local/tools/npm-project
if [ -f "$out/npm-ls.json" ] && [ ! "$manifest" -nt "$out/npm-ls.json" ]; then exit 0; fi
echo "setup: npm project (npm install --package-lock-only, npm ci --omit=dev)"
rm -rf "$out"
mkdir -p "$out"
cp "$manifest" "$out/package.json"
(
  cd "$out"
  npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error
  npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
  npm ls --all --json --omit=dev >npm-ls.json
)
