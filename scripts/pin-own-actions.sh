#!/usr/bin/env bash
# Pins every use of our own actions in the reusable workflows to one commit of
# this repository, by full SHA (`bitvault/bitvault/actions/<name>@<sha>`), so a
# caller who pins a workflow by SHA runs exactly the actions of that commit.
#
#   scripts/pin-own-actions.sh [COMMIT]     (default: HEAD)
#
# Run it before tagging a release (the release workflow refuses a tag whose
# pins name a commit with other actions, scripts or sources than the tag).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sha="$(git rev-parse --verify --end-of-options "${1:-HEAD}^{commit}")"
for f in .github/workflows/*.yml; do
  sed -E -i "s#(uses: bitvault/bitvault(/actions/[a-z0-9-]+)?@)[0-9a-f]{40}#\1$sha#" "$f"
done
echo "our own actions pinned to $sha" >&2
