#!/usr/bin/env bash
# Installs what Bosun's local stack and tests need: Debian packages (the registry, image tools,
# a Java runtime for DynamoDB Local) and the npm dependencies from package-lock.json.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

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
  [patchelf]=patchelf
  [cargo]=cargo
  [java]=default-jre-headless
  [rpmbuild]=rpm
)
# rustup's cargo counts, on PATH or not (the Rust test binary is built with it).
if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi
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
# SPDX's JSON schema for SPDX 3.0.1 (the tests validate Bosun's SPDX output against it), as
# shipped in the cdxgen npm package; only that one file is kept, under .local/tools/spdx.
spdx_schema=.local/tools/spdx/spdx-3.0.1.schema.json
if [ ! -f "$spdx_schema" ]; then
  echo "setup: SPDX 3.0.1 JSON schema"
  npm_extract @cyclonedx/cdxgen@12.8.4 package/data/spdx-export.schema.json "$spdx_schema"
  grep -q 'spdx.org/rdf/3.0.1/spdx-context.jsonld' "$spdx_schema"
fi
# Real Debian packages the inventory tests unpack (a language package that Debian owns) and
# the checks tests read setuid modes from (passwd, sudo, mount):
# fetched once with apt-get download into .local/debs, whatever version the archive has now.
debs=.local/debs
for pkg in python3-urllib3 ruby-rack libcommons-lang3-java zoneminder passwd sudo mount; do
  if ! ls "$debs/${pkg}"_*.deb >/dev/null 2>&1; then
    echo "setup: apt-get download $pkg"
    apt_download "$debs" "$pkg"
  fi
done
# Real Go binaries the inventory tests read, as npm packages ship them: esbuild 0.15.18 (Go
# 1.19, with its .go.buildinfo section) and 0.28.2 (a newer toolchain, without one).
gobins=.local/tools/go-binaries
for spec in esbuild-linux-64@0.15.18 @esbuild/linux-x64@0.28.2; do
  out="$gobins/$(echo "$spec" | tr '/@' '__')"
  if [ ! -f "$out" ]; then
    echo "setup: Go binary from npm $spec"
    npm_extract "$spec" package/bin/esbuild "$out"
  fi
done
# Go reachability's oracle (docs/reachability.md): Debian 12's govulncheck, and Debian's Go
# toolchain to build the test binaries with (stripped or not, PIE or not). Unpacked under
# .local/tools (package -> folder, and a file that says it is there), not installed: the tests
# call them by path, with no network (GOPROXY=off).
for spec in govulncheck:govulncheck:usr/bin/govulncheck golang-1.19-go:go:usr/lib/go-1.19/bin/go \
  golang-1.19-src:go:usr/share/go-1.19/src/go/build/build.go; do
  IFS=: read -r pkg dir marker <<<"$spec"
  if [ ! -e ".local/tools/$dir/$marker" ]; then
    echo "setup: $pkg, unpacked into .local/tools/$dir"
    ls "$debs/${pkg}"_*.deb >/dev/null 2>&1 || apt_download "$debs" "$pkg"
    mkdir -p ".local/tools/$dir"
    dpkg-deb -x "$(ls "$debs/${pkg}"_*.deb | tail -1)" ".local/tools/$dir"
  fi
done
# A real .NET application as an npm package ships it: AutoRest's C# generator, its deps.json
# next to the assemblies the host loads (the test checks one against the other).
dotnet_app=.local/tools/dotnet/autorest-csharp
if [ ! -f "$dotnet_app/AutoRest.CSharp.deps.json" ]; then
  echo "setup: .NET application from npm @autorest/csharp"
  npm_extract @autorest/csharp@3.0.0-beta.20251203.1 package "$dotnet_app"
fi
bash scripts/rust-auditable-app.sh
bash scripts/npm-project.sh
echo "setup: done"
