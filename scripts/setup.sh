#!/usr/bin/env bash
# Installs what Bosun's local stack and tests need: Debian packages (the registry, image tools,
# a Java runtime for DynamoDB Local) and the npm dependencies from package-lock.json.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is needed (found $(node --version))" >&2
  exit 1
fi

# command -> Debian package providing it
declare -A packages=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [umoci]=umoci
  [debootstrap]=debootstrap
  [zstd]=zstd
  [java]=default-jre-headless
)
missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  # Debian starts the packaged registry as a service where an init system runs; Bosun starts
  # its own on a free loopback port, so a packaged one is not needed.
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: done"
