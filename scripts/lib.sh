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

# Starts Debian's docker-registry on 127.0.0.1 with storage in $1; prints the port.
start_registry() {
  local dir="$1" port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  /usr/bin/docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  echo $! >"$dir/registry.pid"
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "$port"
}

# Builds a tiny single-platform OCI image with umoci and pushes it by digest
# with skopeo; prints the manifest digest.  make_image REGISTRY/REPO ARCH WORKDIR
make_image() {
  local repo="$1" arch="$2" work="$3/img-$2"
  rm -rf "$work" && mkdir -p "$work/rootfs-src"
  umoci init --layout "$work/layout" >/dev/null
  umoci new --image "$work/layout:build" >/dev/null
  umoci config --image "$work/layout:build" --os linux --architecture "$arch" \
    --config.entrypoint /bitvaultd --history.created 2026-01-01T00:00:00Z >/dev/null
  umoci unpack --rootless --image "$work/layout:build" "$work/bundle" >/dev/null
  printf 'bitvaultd for %s\n' "$arch" >"$work/bundle/rootfs/bitvaultd"
  umoci repack --image "$work/layout:build" --history.created 2026-01-01T00:00:00Z "$work/bundle" >/dev/null
  skopeo copy --quiet --dest-tls-verify=false --digestfile "$work/digest" \
    "oci:$work/layout:build" "docker://$repo" >/dev/null
  printf '%s\n' "$(cat "$work/digest")"
}
