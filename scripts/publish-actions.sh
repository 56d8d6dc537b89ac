#!/usr/bin/env bash
# Generates one repository per action (bitvault/<name>, plus bitvault/setup)
# from actions/<name>, for a released version, and pushes it: commit, the
# version tag, and the moved major tag (v1), so `uses: bitvault/<name>@v1`
# works.
#
#   scripts/publish-actions.sh VERSION DIST [OUT]
#
# DIST holds checksums.txt and the Linux x64 release archive (to run the
# generator). OUT (default: a temp dir) receives the generated trees. The
# trees are pushed only when PUBLISH_TOKEN is set.
set -euo pipefail

version="${1:?usage: publish-actions.sh VERSION DIST [OUT]}"
dist="${2:?usage: publish-actions.sh VERSION DIST [OUT]}"
out="${3:-$(mktemp -d)}"
[[ "$version" =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]] || { echo "::error::version must look like v1.2.3, got $version" >&2; exit 1; }
major="v${BASH_REMATCH[1]}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$dist/checksums.txt" ] || { echo "::error::no $dist/checksums.txt" >&2; exit 1; }
grep -qx "# version: $version" "$dist/checksums.txt" || { echo "::error::$dist/checksums.txt is not for $version" >&2; exit 1; }

bin="$(mktemp -d)"
tar -xzf "$dist/bitvault-$version-x86_64-unknown-linux-musl.tar.gz" -C "$bin" bitvault
generate() { "$bin/bitvault" __generate-action "$@"; }

mkdir -p "$out"
for dir in "$src"/actions/*/; do
  name="$(basename "$dir")"
  tree="$out/$name"
  mkdir -p "$tree"
  generate "$name" --standalone >"$tree/action.yml"
  generate "$name" --main-js --standalone >"$tree/main.js"
  cp "$src/scripts/action.js" "$tree/action.js"
  cp "$src/scripts/setup.sh" "$tree/setup.sh"
  cp "$dist/checksums.txt" "$tree/checksums.txt"
  cp "$src/LICENSE" "$tree/LICENSE" 2>/dev/null || true
  {
    printf '# bitvault/%s\n\n' "$name"
    printf 'Published from bitvault/bitvault %s (actions/%s). Source, issues and docs: https://github.com/bitvault/bitvault\n\n' "$version" "$name"
    generate "$name" --readme
  } >"$tree/README.md"
done
# The setup action: the root action.yml, with the script beside it.
mkdir -p "$out/setup/scripts"
cp "$src/action.yml" "$out/setup/action.yml"
cp "$src/scripts/setup.sh" "$out/setup/scripts/setup.sh"
cp "$dist/checksums.txt" "$out/setup/scripts/checksums.txt"

if [ -z "${PUBLISH_TOKEN:-}" ]; then
  echo "generated action repositories in $out (not pushed: PUBLISH_TOKEN is not set)" >&2
  exit 0
fi

for tree in "$out"/*/; do
  name="$(basename "$tree")"
  remote="https://x-access-token:${PUBLISH_TOKEN}@github.com/bitvault/${name}.git"
  work="$(mktemp -d)"
  git clone --quiet "$remote" "$work" 2>/dev/null || git init --quiet "$work"
  if git -C "$work" rev-parse -q --verify "refs/tags/$version" >/dev/null; then
    echo "::error::bitvault/$name already has $version; released versions are immutable" >&2
    exit 1
  fi
  find "$work" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  cp -R "$tree"/. "$work"/
  git -C "$work" add -A
  git -C "$work" -c user.name="bitvault release" -c user.email="release@bitvault.invalid" \
    commit --quiet --allow-empty -m "bitvault $version"
  git -C "$work" tag "$version"
  git -C "$work" tag -f "$major"
  git -C "$work" push --quiet "$remote" HEAD:refs/heads/main "refs/tags/$version"
  git -C "$work" push --quiet --force "$remote" "refs/tags/$major"
  echo "published bitvault/$name $version ($major)" >&2
done
