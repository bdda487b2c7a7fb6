#!/usr/bin/env bash
# The main job, locally: install what is missing, synthesize the CDK app offline (cdk-nag
# included), start the local stack from the synthesized template and print its health.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s synth
echo "synth: cdk.out/Bosun.template.json written; cdk-nag AwsSolutions checks passed"
npm run -s local:up
