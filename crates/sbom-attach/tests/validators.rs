//! Both documents of every test image pass the official validators:
//! cyclonedx-python-lib's strict JSON validator (CycloneDX 1.5) and pyspdxtools.

mod common;

use std::process::Command;

use bitvault_sbom_attach::documents::Format;
use common::*;

const CDX_CHECK: &str = r#"
import sys
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.schema import SchemaVersion
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
if errors:
    print(errors)
    sys.exit(1)
"#;

#[test]
fn documents_pass_the_official_validators() {
    let dir = tempfile::tempdir().unwrap();
    for tag in ["app", "distroless"] {
        for d in describe_source(&format!("oci-layout:{}:{tag}", layout().display())) {
            for (format, bytes) in &d.documents {
                let path = dir
                    .path()
                    .join(format!("{}.{}", d.digest.hex(), format.extension()));
                std::fs::write(&path, bytes).unwrap();
                let out = match format {
                    Format::CycloneDx => Command::new(tool("python"))
                        .args(["-c", CDX_CHECK])
                        .arg(&path)
                        .output()
                        .unwrap(),
                    Format::Spdx => Command::new(tool("pyspdxtools"))
                        .arg("-i")
                        .arg(&path)
                        .output()
                        .unwrap(),
                };
                assert!(
                    out.status.success(),
                    "{tag} {}: {}\n{}",
                    format.name(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}
