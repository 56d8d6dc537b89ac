//! Property tests of the parsers of what users and registries hand us: digests,
//! references and repositories never panic on any text, and what they accept prints back
//! to a form that parses to the same value. Each test prints how many inputs it ran
//! (`scripts/props-counts.sh` collects the lines).

use bitvault_registry::{Digest, Reference, Repository};
use bitvault_testkit::props::run;
use proptest::prelude::*;

fn digest_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "sha256:[0-9a-f]{64}",
        "sha512:[0-9a-f]{128}",
        "(sha256|sha512|SHA256|md5|sha256\\+b64)?:?[0-9a-fA-F]{0,70}",
        "\\PC{0,80}",
    ]
}

#[test]
fn digests_parse_or_refuse() {
    run("registry digests", 3000, digest_like(), |text| {
        let Ok(d) = Digest::parse(&text) else {
            return false;
        };
        assert_eq!(d.to_string(), text, "a digest is kept as written");
        assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
        assert!(d.as_str().ends_with(d.hex()));
        assert!(d.hex().bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!d.referrers_tag().contains(':'));
        true
    });
}

#[test]
fn digest_of_bytes_verifies_those_bytes_only() {
    run(
        "registry digest verify",
        2000,
        (prop::collection::vec(any::<u8>(), 0..256), any::<u8>()),
        |(bytes, flip)| {
            let d = Digest::of(&bytes);
            assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
            d.verify(&bytes).unwrap();
            let mut other = bytes.clone();
            match other.first_mut() {
                Some(b) => *b ^= flip.max(1),
                None => other.push(flip),
            }
            assert!(d.verify(&other).is_err());
            true
        },
    );
}

fn reference_like() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?";
    let host = prop_oneof![
        Just(String::new()),
        Just("ghcr.io/".to_string()),
        Just("localhost:5000/".to_string()),
        Just("127.0.0.1:8080/".to_string()),
        Just("docker.io/".to_string()),
        Just("[::1]:5000/".to_string()),
        "[a-z]{1,5}\\.[a-z]{2,3}(:[0-9]{1,5})?/",
    ];
    let path = prop::collection::vec(component, 1..4).prop_map(|c| c.join("/"));
    let tag = prop::option::of(":[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}");
    let digest = prop::option::of("@sha256:[0-9a-f]{64}");
    let structured = (host, path, tag, digest).prop_map(|(h, p, t, d)| {
        format!("{h}{p}{}{}", t.unwrap_or_default(), d.unwrap_or_default())
    });
    prop_oneof![
        3 => structured,
        1 => "[a-zA-Z0-9:/@._\\-\\[\\] ]{0,40}",
        1 => "\\PC{0,60}",
    ]
}

#[test]
fn references_parse_or_refuse_and_round_trip() {
    run("registry references", 3000, reference_like(), |text| {
        let Ok(r) = Reference::parse(&text) else {
            return false;
        };
        let shown = r.to_string();
        let again = Reference::parse(&shown)
            .unwrap_or_else(|e| panic!("{text:?} printed as {shown:?}, which fails: {e}"));
        assert_eq!(again.to_string(), shown, "{text:?}");
        assert_eq!(again.registry(), r.registry());
        assert_eq!(again.repository().name(), r.repository().name());
        assert_eq!(again.tag(), r.tag());
        assert_eq!(again.digest(), r.digest());
        assert!(
            !r.registry().is_empty() && !r.repository().name().is_empty(),
            "{text:?}"
        );
        if let Some(d) = r.digest() {
            let pinned = r.repository().at_digest(d.clone());
            assert_eq!(pinned.digest(), Some(d));
        }
        true
    });
}

#[test]
fn repositories_parse_or_refuse_and_round_trip() {
    run("registry repositories", 2000, reference_like(), |text| {
        let Ok(repo) = Repository::parse(&text) else {
            return false;
        };
        let shown = repo.to_string();
        let again = Repository::parse(&shown).unwrap();
        assert_eq!(again.to_string(), shown);
        assert_eq!(again.name(), repo.name());
        assert!(repo.at_tag("v1").unwrap().tag() == Some("v1"));
        true
    });
}
