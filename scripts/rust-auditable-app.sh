#!/usr/bin/env bash
# Builds test/fixtures/rust-auditable-app with the real cargo-auditable, offline, into
# .local/tools/rust-auditable/ (the binary and its Cargo.lock), for the binary/rust/auditable tests.
#
# - cargo-auditable is Debian 13's package (Debian 12 has none). It needs Debian 13's C
#   library, so that library is unpacked beside it and the binary is pointed at it (patchelf);
#   nothing is installed on the machine.
# - The crates come from Debian 12's librust-*-dev packages, used as cargo's directory source.
# - The archive is the one apt is configured with here; its Debian 13 index is fetched into
#   a private apt state under .local, leaving the machine's own apt lists alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

out=.local/tools/rust-auditable
# Rebuilt when the program's sources change.
stamp=$(find test/fixtures/rust-auditable-app -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ -f "$out/bosun-auditable-app" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
if [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "setup: the Rust test binary is built for amd64 only (this is $(dpkg --print-architecture))" >&2
  exit 1
fi

cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
if [ ! -x "$cargo" ]; then
  echo "setup: cargo is needed to build the Rust test binary (rustup's, or apt-get install cargo)" >&2
  exit 1
fi
echo "setup: Rust binary built with cargo-auditable"
root=$(pwd)/.local/tools/cargo-auditable
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Debian 13 packages through a private apt state that knows only Debian 13's main archive.
mirror=$(npx --no-install tsx -e \
  "import('./scripts/debian-image.ts').then((m) => console.log(m.aptMirror()))")
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie main" \
  >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o APT::Sandbox::User=root
)
apt-get "${apt_opts[@]}" update -qq
mkdir -p "$work/debs13"
(cd "$work/debs13" && apt-get "${apt_opts[@]}" download -qq cargo-auditable libc6 libgcc-s1)
rm -rf "$root"
mkdir -p "$root"
for deb in "$work"/debs13/*.deb; do dpkg-deb -x "$deb" "$root"; done
lib="$root/usr/lib/x86_64-linux-gnu"
patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" \
  "$root/usr/bin/cargo-auditable"

# Debian 12's crates, as a cargo directory source.
mkdir -p "$work/crates"
# atty (with libc, and winapi for Windows targets, which cargo resolves but never compiles here)
# has a RustSec advisory: the tests match it.
crates=(librust-itoa-dev librust-ryu-dev librust-cfg-if-dev librust-atty-dev librust-libc-dev
  librust-winapi-dev librust-winapi-i686-pc-windows-gnu-dev librust-winapi-x86-64-pc-windows-gnu-dev)
apt_download "$work/debs12" "${crates[@]}"
for deb in "$work"/debs12/*.deb; do dpkg-deb -x "$deb" "$work/crates"; done

cp -r test/fixtures/rust-auditable-app "$work/app"
mkdir -p "$work/app/.cargo"
cat >"$work/app/.cargo/config.toml" <<EOF
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "$work/crates/usr/share/cargo/registry"
EOF
(cd "$work/app" && PATH="$root/usr/bin:$PATH" CARGO_TARGET_DIR="$work/target" \
  "$cargo" auditable build --release --offline --quiet)
mkdir -p "$out"
cp "$work/target/release/bosun-auditable-app" "$work/app/Cargo.lock" "$out/"
echo "$stamp" >"$out/stamp"
