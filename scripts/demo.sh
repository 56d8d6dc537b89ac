#!/usr/bin/env bash
# The main job, locally: the supply chain as far as it exists, against a
# local stack (a real registry on 127.0.0.1; real git). Sets up what it needs
# on a fresh Debian machine.
#
#   bash scripts/demo.sh
#
# 1. path-filter over a generated sample monorepo with two services and a few commits
# 2. build-matrix plan: the affected images x platforms
# 3. build-matrix merge: two per-platform images (made with umoci, pushed by
#    digest with skopeo) into one multi-arch index; run twice, same digest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
. scripts/lib.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

install_system_packages
say "building bitvault"
cargo build --locked -p bitvault >&2
bv="$root/target/debug/bitvault"
"$bv" --version >&2

work="$(mktemp -d)"
trap 'kill "$(cat "$work/registry/registry.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT

say "a sample monorepo: services/api, services/web, three commits"
repo="$work/monorepo"
mkdir -p "$repo" && cd "$repo"
git init -q -b main
git config user.email demo@bitvault.invalid && git config user.name demo
mkdir -p services/api services/web docs .github/bitvault
echo 'package main' >services/api/main.go
echo 'export {}' >services/web/index.ts
echo '# docs' >docs/README.md
cat >.github/bitvault/images.yaml <<'YAML'
platforms:
  linux/amd64: ubuntu-24.04
  linux/arm64: ubuntu-24.04-arm
images:
  bitvault-api:
    repository: ghcr.io/bitvault/bitvault-api
    context: services/api
    paths: ["services/api/**", "go.mod"]
  bitvault-web:
    repository: ghcr.io/bitvault/bitvault-web
    context: services/web
    paths: ["services/web/**"]
YAML
git add -A && git commit -qm "initial"
base="$(git rev-parse HEAD)"
echo 'func main() {}' >>services/api/main.go
git commit -qam "api: main"
echo 'more docs' >>docs/README.md
git commit -qam "docs"
head="$(git rev-parse HEAD)"
git log --oneline >&2

say "path-filter $base..$head"
cat >"$work/filters.yaml" <<'YAML'
api:
  - 'services/api/**'
web:
  - 'services/web/**'
docs:
  - added|modified: 'docs/**'
YAML
"$bv" path-filter --filters "$work/filters.yaml" --base "$base" --ref "$head" --list-files json | tee "$work/filter.json" | jq .
changes="$(jq -r .changes "$work/filter.json")"

say "build-matrix plan for changes $changes"
GITHUB_WORKSPACE="$repo" GITHUB_SHA="$head" GITHUB_REF=refs/tags/v1.2.3 GITHUB_REPOSITORY=bitvault/demo \
  "$bv" build-matrix --changes "$changes" | tee "$work/plan.json" | jq '{matrix: (.matrix | fromjson), images: (.images | fromjson | map({name, tags}))}'

say "a local registry and two single-platform images pushed by digest"
cd "$root"
port="$(start_registry "$work/registry")"
image="127.0.0.1:$port/demo/bitvault-api"
amd64="$(make_image "$image" amd64 "$work")"
arm64="$(make_image "$image" arm64 "$work")"
echo "linux/amd64 $amd64" >&2
echo "linux/arm64 $arm64" >&2

say "build-matrix merge"
"$bv" build-matrix --mode merge --image "$image" --digests "[\"$amd64\",\"$arm64\"]" --tags v1.2.3 | tee "$work/merge.json" | jq .
digest="$(jq -r .digest "$work/merge.json")"
skopeo inspect --raw --tls-verify=false "docker://$image@$digest" | jq .

say "merge again: the same digest, nothing written"
again="$("$bv" build-matrix --mode merge --image "$image" --digests "[\"$amd64\",\"$arm64\"]" --tags v1.2.3 | jq -r .digest)"
[ "$again" = "$digest" ] || { echo "merge is not idempotent: $digest then $again" >&2; exit 1; }
echo "same digest: $digest" >&2

say "done: $image@$digest"
