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
# 4. sign-keyless: the index and each platform manifest signed keylessly
#    (signature + SLSA provenance) against a local Sigstore stack (OIDC
#    issuer, Fulcio, Rekor); sbom-attach: CycloneDX and SPDX of each platform
#    attached as referrers and signed; then verify all three
# 5. gitops-bump: a PR that pins that digest in the GitOps repository, gated
#    on its signature, provenance and SBOM, on a local GitHub API double backed by a real bare git
#    repository
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
. scripts/lib.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

install_system_packages
say "GitHub's OpenAPI description, for the GitHub API double"
install_node_tools crates/doubles/github-double/openapi
say "building bitvault"
cargo build --locked -p bitvault -p bitvault-github-double -p bitvault-sigstore-local -p bitvault-testkit >&2
bin="$(cargo_target_dir)/debug"
bv="$bin/bitvault"
"$bv" --version >&2

work="$(mktemp -d)"
pids=()
registry_dir=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work" ${registry_dir:+"$registry_dir"}
}
trap cleanup EXIT

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
    filters: [api]
  bitvault-web:
    repository: ghcr.io/bitvault/bitvault-web
    context: services/web
    paths: ["services/web/**"]
    filters: [web]
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
# The test kit's own recipes (crates/doubles/testkit): the registry the tests use, and an
# image pushed by digest with no tag at all.
read -r host registry_pid registry_dir < <("$bin/bitvault-testkit" registry) ||
  service_failed "docker-registry did not start" /dev/null
pids+=("$registry_pid")
image="$host/demo/bitvault-api"
amd64="$("$bin/bitvault-testkit" image "$image" amd64)"
arm64="$("$bin/bitvault-testkit" image "$image" arm64)"
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

say "a local Sigstore stack: OIDC issuer, Fulcio, Rekor"
"$bin/bitvault-sigstore-local" --trust-config "$work/trust.json" >"$work/sigstore.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^identity token' "$work/sigstore.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^identity token' "$work/sigstore.out" 2>/dev/null && [ -s "$work/trust.json" ] ||
  service_failed "the local Sigstore stack did not start within 10 s" "$work/sigstore.out"
sed -n '1,7p' "$work/sigstore.out" >&2
issuer="$(sed -n 's/^oidc issuer *//p' "$work/sigstore.out")"
identity="$(sed -n 's/^identity  *\(https:.*\)/\1/p' "$work/sigstore.out")"
runner_env=(
  "ACTIONS_ID_TOKEN_REQUEST_URL=$(sed -n 's/^ACTIONS_ID_TOKEN_REQUEST_URL=//p' "$work/sigstore.out")"
  "ACTIONS_ID_TOKEN_REQUEST_TOKEN=$(sed -n 's/^ACTIONS_ID_TOKEN_REQUEST_TOKEN=//p' "$work/sigstore.out")"
  GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=acme/app GITHUB_RUN_ID=1 GITHUB_RUN_ATTEMPT=1
  "GITHUB_SHA=$head" GITHUB_REF=refs/heads/main RUNNER_TEMP="$work"
)

say "sign-keyless $image@$digest (recursive: the index and both platforms)"
env "${runner_env[@]}" "$bv" sign-keyless --images "$image@$digest" --recursive true \
  --trust-config "$work/trust.json" | jq '{signed: (.signed | fromjson)}'
say "what landed in the registry: .sig tags and referrer indexes"
skopeo list-tags --tls-verify=false "docker://$image" | jq -r '.Tags[]' | grep -E '^sha256-' | sort >&2
skopeo inspect --raw --tls-verify=false "docker://$image:sha256-${digest#sha256:}" |
  jq '[.manifests[] | {artifactType, predicate: .annotations["dev.sigstore.bundle.predicateType"]}]'

say "sbom-attach $image@$digest: CycloneDX and SPDX of each platform, attached as referrers and signed"
env "${runner_env[@]}" "$bv" sbom-attach --images "$image@$digest" --trust-config "$work/trust.json" \
  --output-dir "$work/sboms" | jq '{sboms: (.sboms | fromjson | map({platform, digest, packages}))}'
ls "$work/sboms" >&2

say "verify: signature, provenance and SBOM, by identity and issuer"
"$bv" verify --image "$image@$digest" --require signature,provenance,sbom \
  --certificate-identity "$identity" --certificate-oidc-issuer "$issuer" \
  --trusted-root "$work/trust.json" | jq '{identity, verified: (.verified | fromjson)}'

say "verify with another identity is refused"
if "$bv" verify --image "$image@$digest" --certificate-identity https://github.com/evil/fork/.github/workflows/x.yml@refs/heads/main \
  --certificate-oidc-issuer "$issuer" --trusted-root "$work/trust.json" >/dev/null; then
  echo "a wrong identity was accepted" >&2; exit 1
fi

say "a local GitHub API double with the GitOps repository bitvault/gitops"
"$bin/bitvault-github-double" --token demo-token --repo bitvault/gitops >"$work/gh.url" 2>"$work/gh.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/gh.url" ] && break; sleep 0.1; done
api="$(head -n1 "$work/gh.url")"
bare="$(sed -n 's/^repository bitvault\/gitops: //p' "$work/gh.log")"
[ -n "$api" ] && [ -n "$bare" ] && curl -fsS -o /dev/null -H "Authorization: Bearer demo-token" "$api/repos/bitvault/gitops" ||
  service_failed "the GitHub API double did not start (no API URL or repository, or GET /repos/bitvault/gitops failed)" "$work/gh.log"
echo "API $api, repository $bare" >&2
gitops="$work/gitops"
git clone -q "$bare" "$gitops"
mkdir -p "$gitops/envs/dev" "$gitops/envs/prod"
cat >"$gitops/envs/dev/values.yaml" <<'YAML'
# bitvault-api in dev
image:
  repository: ghcr.io/bitvault/bitvault-api
  # set by CI: never a tag
  digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"

replicas: 1
YAML
git -C "$gitops" -c user.name=demo -c user.email=demo@bitvault.invalid add -A
git -C "$gitops" -c user.name=demo -c user.email=demo@bitvault.invalid commit -qm "dev values"
git -C "$gitops" push -q origin HEAD:main

say "gitops-bump: pin $digest in dev, gated on its signature, provenance and SBOM"
env "${runner_env[@]}" "$bv" gitops-bump --repository bitvault/gitops --environment dev --image bitvault-api \
  --digest "$digest" --token demo-token --github-api-url "$api" \
  --require-signature true --require signature,provenance,sbom --image-repository "$image" --certificate-identity "$identity" \
  --certificate-oidc-issuer "$issuer" --trusted-root "$work/trust.json" | tee "$work/bump.json" | jq .
branch="$(jq -r .branch "$work/bump.json")"
number="$(jq -r '."pull-request-number"' "$work/bump.json")"
say "the pull request"
curl -fsS -H "Authorization: Bearer demo-token" "$api/repos/bitvault/gitops/pulls/$number" | jq '{number, title, state, head: .head.ref, base: .base.ref, body}'
say "its diff"
git -C "$bare" diff "main...$branch"

say "done: $image@$digest pinned in dev by PR #$number"
