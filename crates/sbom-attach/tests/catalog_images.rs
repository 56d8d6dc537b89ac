//! The catalogers on images built from real packages (scripts/sbom-fixtures.sh).

mod common;

use common::*;

fn purls(d: &bitvault_sbom_attach::Described) -> Vec<String> {
    d.packages.iter().map(|p| p.purl.clone()).collect()
}

#[test]
fn app_image_from_the_layout() {
    let d = describe_source(&format!("oci-layout:{}:app", layout().display()));
    assert_eq!(d.len(), 1);
    let d = &d[0];
    let p = purls(d);
    let counts = d.counts();
    println!("app: {counts:?}");
    for want in [
        "pkg:pypi/requests@2.31.0",
        "pkg:pypi/pyyaml@6.0.1",
        "pkg:pypi/typing-extensions@4.9.0",
        "pkg:npm/%40types/node@20.11.0",
        "pkg:npm/chalk@4.1.2",
        "pkg:maven/org.apache.commons/commons-lang3@3.12.0",
        "pkg:golang/github.com/anchore/syft@v1.18.1",
        "pkg:golang/stdlib@1.23.4",
    ] {
        assert!(p.iter().any(|x| x == want), "{want} missing from {p:#?}");
    }
    // Debian's versions move with point releases; the shape does not.
    let zlib = p
        .iter()
        .find(|x| x.starts_with("pkg:deb/debian/zlib1g@1:1.2.13"))
        .unwrap();
    assert!(
        zlib.ends_with("?arch=amd64&upstream=zlib&distro=debian-12"),
        "{zlib}"
    );
    for eco in ["deb", "pypi", "npm", "maven", "golang"] {
        assert!(
            counts.get(eco).copied().unwrap_or(0) > 0,
            "no {eco} package"
        );
    }
    // six was deleted from /app/python by whiteouts; only Debian's python3-six remains.
    let six = d
        .packages
        .iter()
        .find(|x| x.purl == "pkg:pypi/six@1.16.0")
        .unwrap();
    assert!(
        six.locations
            .iter()
            .all(|l| l.path.starts_with("/usr/lib/python3/")),
        "{:?}",
        six.locations
    );
    // Each package says where it was found, with its layer.
    assert!(
        d.packages
            .iter()
            .all(|x| x.locations.iter().all(|l| l.layer.is_some()))
    );
    // DEP-5 licenses.
    let zlib = d.packages.iter().find(|x| x.name == "zlib1g").unwrap();
    assert_eq!(zlib.licenses, ["Zlib"]);
}

#[test]
fn distroless_status_d_with_a_deleted_record() {
    let d = describe_source(&format!("oci-layout:{}:distroless", layout().display()));
    let d = &d[0];
    assert_eq!(d.platform.to_string(), "linux/arm64");
    let names: Vec<_> = d
        .packages
        .iter()
        .filter(|p| p.ecosystem == "deb")
        .map(|p| p.name.as_str())
        .collect();
    assert!(
        names.contains(&"libc6") && names.contains(&"zlib1g"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"liblz4-1"),
        "liblz4-1 was deleted by a whiteout"
    );
    assert!(
        !d.packages
            .iter()
            .any(|p| p.locations[0].path.ends_with(".md5sums")),
        "md5sums are not packages"
    );
}

#[test]
fn an_index_gives_each_platform_and_skips_attestations() {
    let d = describe_source(&format!("oci-layout:{}:multi", layout().display()));
    let platforms: Vec<_> = d.iter().map(|d| d.platform.to_string()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
}

#[test]
fn documents_are_deterministic() {
    let a = describe_source(&format!("oci-layout:{}:app", layout().display()));
    let b = describe_source(&format!("oci-layout:{}:app", layout().display()));
    assert_eq!(a[0].documents, b[0].documents);
}
