#!/usr/bin/env bash
# The main job, locally: install what is missing, synthesize the CDK app offline (cdk-nag
# included), start the local stack from the synthesized template, then push a real image to
# the local registry and read it back through Bosun's registry client and layer walker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run -s synth
echo "synth: cdk.out/Bosun.template.json written; cdk-nag AwsSolutions checks passed"
npm run -s local:up

data="${BOSUN_DATA_DIR:-../shared/data}"
archive="$data/pkgdbs/trivy/pkg/fanal/test/testdata/alpine-310.tar.gz"
if [ -f "$archive" ]; then
  state="${BOSUN_LOCAL_DIR:-.local/stack}/state.json"
  port=$(node -p "JSON.parse(require('fs').readFileSync('$state','utf8')).services.registry.port")
  mkdir -p .local/demo
  gzip -dc "$archive" > .local/demo/alpine-310.tar
  skopeo copy --quiet --dest-tls-verify=false docker-archive:.local/demo/alpine-310.tar "docker://127.0.0.1:$port/demo/alpine:3.10"
  echo
  echo "pushed a real Alpine 3.10 image to the local registry; bosun reads it back:"
  npm run -s bosun -- inspect "127.0.0.1:$port/demo/alpine:3.10"
  echo
  echo "and scans it against Alpine 3.10's security database:"
  npm run -s bosun -- scan "127.0.0.1:$port/demo/alpine:3.10" --advisories "$data/advisories/alpine-secdb-legacy/v3.10"
else
  echo "demo: $archive not found (set BOSUN_DATA_DIR); skipping the image read-back"
fi
