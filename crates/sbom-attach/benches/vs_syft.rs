//! Ours against syft, on the same images read from the same local registry: wall time and
//! peak memory (maximum resident set size) of each run, printed as a table. Figures are
//! printed, never asserted.
//!
//! `cargo bench -p bitvault-sbom-attach --bench vs_syft` builds the images (cached, by
//! `scripts/sbom-fixtures.sh --bench`): the test images `app`, `distroless` and `multi`,
//! and `files10k` / `files50k` (this machine's dpkg database and parts of /usr, about
//! 10,000 and 57,000 files in 4 layers each); pushes them to a registry started by
//! testkit; then runs, for each image, this bench binary as a child that catalogs the
//! image and writes CycloneDX and SPDX (the work `sbom-attach` does before attaching),
//! and `syft scan registry:...` writing the same two formats, each under `/usr/bin/time`.
//! `BENCH_RUNS=N` runs each N times and keeps the fastest (default 1); `BENCH_IMAGES=a,b`
//! picks images.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use bitvault_registry::{Client, ClientOptions};
use bitvault_sbom_attach::describe;
use bitvault_sbom_attach::documents::Format;
use bitvault_sbom_attach::layers::Limits;
use bitvault_sbom_attach::source::Source;

/// Set in the child: the image to catalog and the directory to write the documents to.
const CHILD_IMAGE: &str = "BITVAULT_SBOM_BENCH_IMAGE";
const CHILD_OUT: &str = "BITVAULT_SBOM_BENCH_OUT";

fn main() {
    if let Ok(image) = std::env::var(CHILD_IMAGE) {
        child(&image, Path::new(&std::env::var(CHILD_OUT).unwrap()));
        return;
    }
    let base = common::fixtures(true);
    let images: Vec<(&str, &Path, &str)> = vec![
        // (tag, layout, syft --platform)
        ("app", &common::layout(), "linux/amd64"),
        ("distroless", &common::layout(), "linux/arm64"),
        ("multi", &common::layout(), "linux/amd64"),
        ("files10k", &base.join("bench"), "linux/amd64"),
        ("files50k", &base.join("bench"), "linux/amd64"),
    ]
    .into_iter()
    .map(|(t, l, p)| (t, Box::leak(l.to_path_buf().into_boxed_path()) as &Path, p))
    .collect();
    let picked: Option<Vec<String>> = std::env::var("BENCH_IMAGES")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    let registry = bitvault_testkit::Registry::start();
    let host = registry.host();
    let me = std::env::current_exe().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for (tag, layout, platform) in images {
        if picked.as_ref().is_some_and(|p| !p.iter().any(|x| x == tag)) {
            continue;
        }
        let digest = common::push(layout, tag, &host, "bench/image");
        let reference = format!("{host}/bench/image@{digest}");
        let (files, layers) = image_size(layout, tag);
        eprintln!("bench: {tag} ({files} tar entries in {layers} layers) at {reference}");
        let out = work.path().join(tag);
        std::fs::create_dir_all(&out).unwrap();
        let mut ours_cmd = Command::new(&me);
        ours_cmd.env(CHILD_IMAGE, &reference).env(CHILD_OUT, &out);
        let ours = best(runs, &mut ours_cmd);
        let mut syft_cmd = Command::new(common::tool("syft"));
        syft_cmd
            .args(["scan", &format!("registry:{reference}"), "-q", "--platform"])
            .arg(platform)
            .arg("-o")
            .arg(format!(
                "cyclonedx-json={}",
                out.join("syft.cdx.json").display()
            ))
            .arg("-o")
            .arg(format!(
                "spdx-json={}",
                out.join("syft.spdx.json").display()
            ))
            .env("SYFT_REGISTRY_INSECURE_USE_HTTP", "true")
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .env("SYFT_CACHE_DIR", work.path().join("syft-cache"));
        let syft = best(runs, &mut syft_cmd);
        rows.push((tag, files, ours, syft));
    }
    println!();
    println!(
        "| image | files | ours wall s | syft wall s | speed-up | ours peak MB | syft peak MB | memory ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (tag, files, ours, syft) in rows {
        println!(
            "| {tag} | {files} | {:.2} | {:.2} | {:.1}x | {:.0} | {:.0} | {:.1}x |",
            ours.wall,
            syft.wall,
            syft.wall / ours.wall,
            ours.peak_kb as f64 / 1024.0,
            syft.peak_kb as f64 / 1024.0,
            syft.peak_kb as f64 / ours.peak_kb as f64,
        );
    }
}

/// Catalogs `image` and writes both documents under `out` (the child's work).
fn child(image: &str, out: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let host = image.split('/').next().unwrap().to_owned();
    let client = Client::new(ClientOptions {
        insecure_registries: vec![host],
        ..ClientOptions::default()
    })
    .unwrap();
    let source = Source::parse(image).unwrap();
    let (_, described) = describe(
        &source,
        &client,
        rt.handle(),
        &[Format::CycloneDx, Format::Spdx],
        &Limits::default(),
    )
    .unwrap();
    for d in described {
        for (format, bytes) in &d.documents {
            let name = format!("{}.{}", d.digest.hex(), format.extension());
            std::fs::write(out.join(name), bytes).unwrap();
        }
        eprintln!(
            "bench: ours {} {}: {} packages",
            d.digest,
            d.platform,
            d.packages.len()
        );
    }
}

struct Run {
    wall: f64,
    peak_kb: u64,
}

/// The fastest of `runs` runs of `cmd` under `/usr/bin/time` (its peak RSS with it).
fn best(runs: usize, cmd: &mut Command) -> Run {
    let mut best: Option<Run> = None;
    for _ in 0..runs {
        let mut timed = Command::new("/usr/bin/time");
        timed
            .arg("-f")
            .arg("BENCH-TIME %e %M")
            .arg(cmd.get_program());
        timed.args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                timed.env(k, v);
            }
        }
        let start = Instant::now();
        let out = timed
            .output()
            .expect("run /usr/bin/time (apt-get install time)");
        let wall = start.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{:?} failed:\n{stderr}",
            cmd.get_program()
        );
        let line = stderr
            .lines()
            .rev()
            .find(|l| l.starts_with("BENCH-TIME "))
            .expect("time's report");
        let peak_kb: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        for l in stderr.lines().filter(|l| l.starts_with("bench: ")) {
            eprintln!("{l}");
        }
        if best.as_ref().is_none_or(|b| wall < b.wall) {
            best = Some(Run { wall, peak_kb });
        }
    }
    best.unwrap()
}

/// Tar entries and layers of `tag` in the layout (read from the layout, not timed).
fn image_size(layout: &Path, tag: &str) -> (usize, usize) {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    let mut manifests = vec![entry["digest"].as_str().unwrap().to_owned()];
    let (mut files, mut layers) = (0, 0);
    while let Some(d) = manifests.pop() {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(blob(&d)).unwrap()).unwrap();
        for m in doc["manifests"].as_array().into_iter().flatten() {
            if m["platform"]["os"] != "unknown" {
                manifests.push(m["digest"].as_str().unwrap().to_owned());
            }
        }
        for l in doc["layers"].as_array().into_iter().flatten() {
            layers += 1;
            let raw = std::fs::File::open(blob(l["digest"].as_str().unwrap())).unwrap();
            let reader: Box<dyn std::io::Read> = if l["mediaType"]
                .as_str()
                .unwrap_or_default()
                .ends_with("gzip")
            {
                Box::new(flate2::read::GzDecoder::new(raw))
            } else {
                Box::new(raw)
            };
            files += tar::Archive::new(reader).entries().unwrap().count();
        }
    }
    (files, layers)
}
