#!/usr/bin/env bash
# Puts the `bitvault` binary on PATH for the steps after this one (through
# GITHUB_PATH) and prints its directory on stdout for the current step.
#
# In order:
#   1. BITVAULT_BIN, when set: a binary you built or downloaded yourself.
#   2. A released binary, when this action is a published release: the
#      checksums.txt beside this script names the version and the SHA-256 of
#      each platform's archive. The archive is downloaded from that exact
#      version's release (never "latest"), checked, and kept in the runner's
#      tool cache.
#   3. Otherwise (an unreleased commit, or a local run under `act`): built
#      from this checkout with `cargo build --locked --release`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf '%s\n' "$*" >&2; }
fail() { printf '::error title=bitvault setup::%s\n' "$*" >&2; exit 1; }

add_to_path() {
  export PATH="$1:$PATH"
  if [ -n "${GITHUB_PATH:-}" ]; then printf '%s\n' "$1" >>"$GITHUB_PATH"; fi
  log "bitvault: $("$1/bitvault" --version)"
  # The directory, on stdout, for callers in the same step.
  printf '%s\n' "$1"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

target_triple() {
  local os arch
  os="$(uname -s)"; arch="$(uname -m)"
  case "$os/$arch" in
    Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
    Darwin/x86_64) echo x86_64-apple-darwin ;;
    Darwin/arm64 | Darwin/aarch64) echo aarch64-apple-darwin ;;
    *) fail "no bitvault release for $os/$arch: build it with \`cargo build --release\` and set BITVAULT_BIN" ;;
  esac
}

cache_root="${RUNNER_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}}/bitvault"

# 1. An explicit binary.
if [ -n "${BITVAULT_BIN:-}" ]; then
  [ -x "$BITVAULT_BIN" ] || fail "BITVAULT_BIN=$BITVAULT_BIN is not an executable file"
  dir="$(mktemp -d)"
  ln -s "$(cd "$(dirname "$BITVAULT_BIN")" && pwd)/$(basename "$BITVAULT_BIN")" "$dir/bitvault"
  add_to_path "$dir"
  exit 0
fi

# 2. A published release.
manifest="$here/checksums.txt"
if [ -f "$manifest" ]; then
  version="$(sed -n 's/^# version: //p' "$manifest" | head -n1)"
  [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "$manifest names no version; the published action is damaged, use a released tag"
  triple="$(target_triple)"
  asset="bitvault-$version-$triple.tar.gz"
  want="$(awk -v a="$asset" '$2 == a { print $1 }' "$manifest")"
  [[ "$want" =~ ^[0-9a-f]{64}$ ]] || fail "no checksum for $asset in $manifest"
  # The binary's own SHA-256 (checksums.txt lists it beside its archive's): the
  # tool cache is shared by every job of a self-hosted runner, so a cached binary
  # is hashed before each use, never trusted for a marker file beside it.
  want_bin="$(awk -v a="bitvault-$version-$triple/bitvault" '$2 == a { print $1 }' "$manifest")"
  [[ "$want_bin" =~ ^[0-9a-f]{64}$ ]] || want_bin=""
  dest="$cache_root/${version#v}/$triple"
  if [ -n "$want_bin" ] && [ -f "$dest/bitvault" ] && [ ! -L "$dest/bitvault" ]; then
    if [ "$(sha256_of "$dest/bitvault")" = "$want_bin" ]; then
      log "bitvault $version found in the tool cache (SHA-256 checked)"
      add_to_path "$dest"
      exit 0
    fi
    log "the cached $dest/bitvault does not match checksums.txt: not used, downloading $version again"
  fi
  base="${BITVAULT_RELEASE_BASE_URL:-https://github.com/bitvault/bitvault/releases/download}"
  proto='=https'
  case "$base" in http://127.0.0.1:* | http://localhost:*) proto='=http,https' ;; esac
  tmp="$(mktemp -d)"
  log "downloading $asset"
  curl --fail --silent --show-error --location --proto "$proto" --retry 3 \
    --output "$tmp/$asset" "$base/$version/$asset" ||
    fail "cannot download $base/$version/$asset"
  got="$(sha256_of "$tmp/$asset")"
  if [ "$got" != "$want" ]; then
    fail "checksum mismatch for $asset: expected $want from checksums.txt, got $got. The download was not used."
  fi
  mkdir -p "$tmp/x"
  tar -xzf "$tmp/$asset" -C "$tmp/x" bitvault
  if [ -n "$want_bin" ]; then
    got="$(sha256_of "$tmp/x/bitvault")"
    [ "$got" = "$want_bin" ] || fail "checksum mismatch for the bitvault binary in $asset: expected $want_bin from checksums.txt, got $got. It was not used."
  fi
  chmod +x "$tmp/x/bitvault"
  # Replace whatever the cache held (a file, a link, a directory) in one rename.
  mkdir -p "$dest"
  rm -rf "$dest/bitvault"
  mv "$tmp/x/bitvault" "$dest/bitvault"
  printf '%s' "$want" >"$dest.complete"
  rm -rf "$tmp"
  if [ -z "$want_bin" ]; then
    # An older manifest without the binary's checksum: use this verified download
    # from a private copy, so the shared cache is never run unhashed.
    private="$(mktemp -d)"
    cp "$dest/bitvault" "$private/bitvault"
    add_to_path "$private"
    exit 0
  fi
  add_to_path "$dest"
  exit 0
fi

# 3. Build from this checkout.
src="$(cd "$here/.." && pwd)"
if [ -f "$src/Cargo.toml" ] && [ -f "$src/Cargo.lock" ]; then
  command -v cargo >/dev/null 2>&1 || fail "no released binary for ref '${BITVAULT_ACTION_REF:-}' and no cargo to build one: install Rust (rustup) first, or use a released tag"
  log "no release matches ref '${BITVAULT_ACTION_REF:-(local)}': building bitvault from source"
  target="${CARGO_TARGET_DIR:-$src/target}"
  cargo build --locked --release --manifest-path "$src/Cargo.toml" -p bitvault --target-dir "$target" >&2
  add_to_path "$target/release"
  exit 0
fi

fail "cannot find a bitvault binary: no checksums.txt (not a published release) and no source beside $here"
