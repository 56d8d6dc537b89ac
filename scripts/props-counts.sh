#!/usr/bin/env bash
# Runs every property-test file (`tests/props.rs` of each crate that has one) and
# prints how many inputs each property ran, from the `props: <name> inputs=<n>
# panics=0 accepted=<k>` lines the tests print. A panic fails the test, so every
# line printed says panics=0.
#
#   bash scripts/props-counts.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
total=0
for f in crates/*/tests/props.rs; do
  crate="$(dirname "$(dirname "$f")")"
  pkg="$(sed -n 's/^name *= *"\(.*\)"/\1/p' "$crate/Cargo.toml" | head -n1)"
  out="$(cargo test -q -p "$pkg" --test props -- --nocapture 2>&1)" || { echo "$out" >&2; echo "props of $pkg failed" >&2; exit 1; }
  while read -r line; do
    echo "$pkg: ${line#props: }"
    n="$(sed -n 's/.* inputs=\([0-9]*\) .*/\1/p' <<<"$line")"
    total=$((total + ${n:-0}))
  done < <(grep -o 'props: .*' <<<"$out")
done
echo "total inputs: $total, panics: 0"
