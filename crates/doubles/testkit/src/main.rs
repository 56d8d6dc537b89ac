//! `bitvault-testkit`: the test kit's recipes for scripts (the demo), so a shell script
//! and a Rust test start a registry and make an image the same way.
//!
//! ```text
//! bitvault-testkit registry             start docker-registry on 127.0.0.1, print
//!                                       `<host> <pid> <dir>` and leave it running
//! bitvault-testkit image HOST/REPO ARCH [CONTENT]
//!                                       build a linux/ARCH image, push it by digest
//!                                       (no tag), print the digest
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["registry"] => {
            let (host, pid, dir) = bitvault_testkit::Registry::start().detach();
            println!("{host} {pid} {}", dir.display());
            ExitCode::SUCCESS
        }
        ["image", reference, arch, rest @ ..] if rest.len() <= 1 => {
            let Some((host, repo)) = reference.split_once('/') else {
                eprintln!("error: `{reference}` is not HOST/REPOSITORY");
                return ExitCode::FAILURE;
            };
            let content = rest
                .first()
                .map(|c| format!("{c}\n"))
                .unwrap_or_else(|| format!("bitvault demo image for linux/{arch}\n"));
            let digest = bitvault_testkit::make_image_by_digest(host, None, repo, arch, &content);
            println!("{digest}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: bitvault-testkit registry | bitvault-testkit image HOST/REPOSITORY ARCH [CONTENT]"
            );
            ExitCode::from(2)
        }
    }
}
