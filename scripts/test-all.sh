#!/usr/bin/env bash
# Everything CI checks: install, lint, typecheck (tests included), unit, infra and integration
# tests against the local stack, and a CDK synth with cdk-nag.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== lint";      npx biome ci --colors=off .
echo "== typecheck"; npx tsc --noEmit -p tsconfig.json
echo "== tests";     npx vitest run
echo "== synth";     npm run -s synth
echo "test:all: passed"
