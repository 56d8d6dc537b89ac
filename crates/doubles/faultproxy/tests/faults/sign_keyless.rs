//! sign-keyless: one image signed (signature and provenance bundles as referrers, the
//! legacy `.sig` layer); the registry is behind the proxy.

use std::collections::BTreeMap;

use bitvault_faultproxy::FaultProxy;
use bitvault_runner::{Env, Step};
use bitvault_sigstore_local::LocalSigstore;
use bitvault_testkit::{Registry, make_image};

use super::table::{Scenario, State};
use super::upstream;

pub struct SignKeyless;

pub struct Stack {
    // Dropped in order: the proxy before what it fronts.
    proxy: FaultProxy,
    registry: Registry,
    sigstore: LocalSigstore,
    dir: tempfile::TempDir,
    digest: String,
}

const REPO: &str = "fault/sign";

impl Scenario for SignKeyless {
    type Stack = Stack;

    fn name(&self) -> &'static str {
        "sign-keyless"
    }

    fn stack(&self) -> Stack {
        let sigstore = LocalSigstore::start().expect("the local Sigstore stack starts");
        let registry = Registry::start();
        let digest = make_image(&registry, REPO, "v1", "amd64");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("trust.json"),
            sigstore.client_trust_config(),
        )
        .unwrap();
        let proxy = FaultProxy::start(&registry.host()).expect("proxy starts");
        Stack {
            proxy,
            registry,
            sigstore,
            dir,
            digest,
        }
    }

    fn proxy<'a>(&self, stack: &'a Stack) -> &'a FaultProxy {
        &stack.proxy
    }

    fn run(&self, s: &Stack) -> anyhow::Result<()> {
        let env = Env::from_pairs(
            [
                ("GITHUB_REPOSITORY", "acme/app".to_string()),
                (
                    "GITHUB_SHA",
                    "0123456789abcdef0123456789abcdef01234567".to_string(),
                ),
                ("GITHUB_REF", "refs/heads/main".to_string()),
                ("GITHUB_RUN_ID", "4242".to_string()),
                ("GITHUB_RUN_ATTEMPT", "1".to_string()),
                ("GITHUB_EVENT_NAME", "push".to_string()),
                ("RUNNER_TEMP", s.dir.path().display().to_string()),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_URL",
                    s.sigstore.token_request_url(),
                ),
                (
                    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
                    s.sigstore.token_request_token().to_string(),
                ),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        let flags: BTreeMap<String, String> = [
            ("images", format!("{}/{REPO}@{}", s.proxy.host(), s.digest)),
            (
                "trust-config",
                s.dir.path().join("trust.json").display().to_string(),
            ),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into_iter()
        .collect();
        let mut step = Step::new(&bitvault_sign_keyless::SPEC, &flags, env)?;
        bitvault_sign_keyless::run(&mut step)
    }

    fn state(&self, s: &Stack) -> State {
        let host = s.registry.host();
        let mut state = State::new();
        upstream::count_referrers(&mut state, "image", &host, REPO, &s.digest);
        let sigs = upstream::sig_layers(&host, REPO, &s.digest).len();
        state.insert("image .sig layers".into(), sigs);
        state
    }
}
