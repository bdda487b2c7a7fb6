#!/usr/bin/env bash
# The main job, locally: install what is missing, synthesize the CDK app offline (cdk-nag
# included), start a fresh local stack from the synthesized template, then run the pipeline on
# a real Debian image (scripts/demo.ts): push -> notifications, advisory change -> rescan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s synth
echo "synth: cdk.out/Bosun.template.json written; cdk-nag AwsSolutions checks passed"
# A fresh deployment each time: DynamoDB Local keeps its tables in memory.
npm run -s local:down >/dev/null
npm run -s local:up
AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npx tsx scripts/demo.ts
