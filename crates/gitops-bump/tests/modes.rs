//! bump, promote and rollback on a real checkout made with real `git` in a tempdir,
//! through the checkout flow the action runs ([`Checkout::apply`]).

use std::path::{Path, PathBuf};

mod common;

use bitvault_gitops_bump::{
    Checkout, Destination, Digest, Error, Layout, Mode, Operation, Outcome, PullRequest, Request,
    Target, Version, plan_promote_all, plan_rollback, plan_rollback_all,
};

/// The modes as the action runs them on a `path` checkout.
mod local {
    use super::*;

    fn apply(root: &Path, layout: &Layout, env: &str, mode: Mode) -> Result<Outcome, Error> {
        let request = Request {
            mode,
            env: env.to_string(),
            layout: layout.clone(),
            destination: Destination::Path(root.to_path_buf()),
            pull_request: PullRequest::default(),
        };
        Checkout::new(root).apply(&request)
    }

    pub fn bump(
        root: &Path,
        layout: &Layout,
        env: &str,
        digest: &Digest,
    ) -> Result<Outcome, Error> {
        let items = vec![("app".to_string(), layout.target().clone(), digest.clone())];
        apply(root, layout, env, Mode::Bump(items))
    }

    pub fn promote(
        root: &Path,
        layout: &Layout,
        from_env: &str,
        to_env: &str,
    ) -> Result<Outcome, Error> {
        let mode = Mode::Promote {
            images: vec![("app".into(), layout.target().clone())],
            from_env: from_env.into(),
        };
        apply(root, layout, to_env, mode)
    }

    pub fn rollback(
        root: &Path,
        layout: &Layout,
        env: &str,
        to: Option<&Digest>,
    ) -> Result<Outcome, Error> {
        let mode = Mode::Rollback {
            images: vec![("app".into(), layout.target().clone())],
            to: to.cloned(),
        };
        apply(root, layout, env, mode)
    }
}

fn d(n: u8) -> Digest {
    Digest::parse(&format!("sha256:{}", format!("{n:x}").repeat(64))).unwrap()
}

fn layout() -> Layout {
    Layout::new(
        "envs/{env}/values.yaml",
        Target::helm("image.digest").unwrap(),
    )
    .unwrap()
}

fn values(digest: &Digest) -> String {
    format!(
        "# app values\nimage:\n  repository: ghcr.io/org/app\n  digest: \"{digest}\" # set by CI\nreplicas: 2\n"
    )
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        common::git(self.root(), args)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    /// Writes and commits; returns the commit id.
    fn commit(&self, rel: &str, text: &str, message: &str) -> String {
        self.write(rel, text);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }
}

#[test]
fn bump_edits_in_place_and_is_idempotent() {
    let repo = Repo::new();
    repo.write("envs/dev/values.yaml", &values(&d(1)));
    let out = local::bump(repo.root(), &layout(), "dev", &d(2)).unwrap();
    assert_eq!(out.operation, Operation::Bump);
    assert!(out.changed);
    assert_eq!(out.files[0].values[0].old.as_deref(), Some(d(1).as_str()));
    assert_eq!(out.files[0].values[0].new, d(2));
    assert_eq!(repo.read("envs/dev/values.yaml"), values(&d(2)));
    assert_eq!(
        out.diff(),
        format!(
            "--- a/envs/dev/values.yaml\n+++ b/envs/dev/values.yaml\n@@ -1,5 +1,5 @@\n # app values\n image:\n   repository: ghcr.io/org/app\n-  digest: \"{}\" # set by CI\n+  digest: \"{}\" # set by CI\n replicas: 2\n",
            d(1),
            d(2)
        )
    );

    let again = local::bump(repo.root(), &layout(), "dev", &d(2)).unwrap();
    assert_eq!(again.operation, Operation::None);
    assert!(!again.changed);
    assert_eq!(again.diff(), "");
    assert_eq!(repo.read("envs/dev/values.yaml"), values(&d(2)));
}

#[test]
fn bump_reports_missing_file_and_bad_names() {
    let repo = Repo::new();
    let e = local::bump(repo.root(), &layout(), "prod", &d(1)).unwrap_err();
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    assert!(e.to_string().contains("envs/prod/values.yaml"), "{e}");
    let e = local::bump(repo.root(), &layout(), "../x", &d(1)).unwrap_err();
    assert!(
        e.to_string()
            .contains("environment name `../x` is not allowed"),
        "{e}"
    );
    let e = Layout::new("values.yaml", Target::helm("image.digest").unwrap()).unwrap_err();
    assert!(e.to_string().contains("has no `{env}`"), "{e}");
    let e = Layout::new("../{env}.yaml", Target::helm("image.digest").unwrap()).unwrap_err();
    assert!(e.to_string().contains("without `..`"), "{e}");
}

#[test]
fn promote_copies_digest_between_environments() {
    let repo = Repo::new();
    repo.write("envs/staging/values.yaml", &values(&d(7)));
    repo.write(
        "envs/prod/values.yaml",
        "image:\n  repository: ghcr.io/org/app\n",
    );
    let out = local::promote(repo.root(), &layout(), "staging", "prod").unwrap();
    assert_eq!(out.operation, Operation::Promote);
    assert_eq!(out.env, "prod");
    assert_eq!(out.digest, d(7));
    assert_eq!(
        out.source.as_deref(),
        Some("staging (envs/staging/values.yaml)")
    );
    assert_eq!(
        repo.read("envs/prod/values.yaml"),
        format!(
            "image:\n  repository: ghcr.io/org/app\n  digest: {}\n",
            d(7)
        )
    );
    assert_eq!(repo.read("envs/staging/values.yaml"), values(&d(7)));

    let again = local::promote(repo.root(), &layout(), "staging", "prod").unwrap();
    assert_eq!(again.operation, Operation::None);
}

#[test]
fn promote_fails_clearly_without_a_source_digest() {
    let repo = Repo::new();
    repo.write("envs/staging/values.yaml", "image:\n  digest: \"\"\n");
    repo.write("envs/prod/values.yaml", &values(&d(1)));
    let e = local::promote(repo.root(), &layout(), "staging", "prod").unwrap_err();
    assert!(
        e.to_string()
            .contains("the digest of `staging` at `image.digest` is not usable"),
        "{e}"
    );
    repo.write("envs/staging/values.yaml", "image:\n  tag: v1\n");
    let e = local::promote(repo.root(), &layout(), "staging", "prod").unwrap_err();
    assert!(matches!(e.root(), Error::NotFound(_)));
    assert_eq!(
        e.to_string(),
        "envs/staging/values.yaml: `staging` has no digest at `image.digest`, so there is nothing to promote; bump `staging` first"
    );
    assert_eq!(repo.read("envs/prod/values.yaml"), values(&d(1)));
}

#[test]
fn rollback_finds_the_previous_digest_in_git_history() {
    let repo = Repo::new();
    let file = "envs/prod/values.yaml";
    repo.commit(file, &values(&d(1)), "d1");
    let c2 = repo.commit(file, &values(&d(2)), "d2");
    // A commit that changes something else keeps d2.
    repo.commit(
        file,
        &values(&d(2)).replace("replicas: 2", "replicas: 3"),
        "scale",
    );
    repo.commit("README.md", "unrelated\n", "docs");
    repo.commit(
        file,
        &values(&d(3)).replace("replicas: 2", "replicas: 3"),
        "d3",
    );

    let out = local::rollback(repo.root(), &layout(), "prod", None).unwrap();
    assert_eq!(out.operation, Operation::Rollback);
    assert_eq!(out.digest, d(2));
    assert_eq!(out.source, Some(format!("commit {c2}")));
    assert_eq!(out.files[0].values[0].old.as_deref(), Some(d(3).as_str()));
    assert_eq!(
        repo.read(file),
        values(&d(2)).replace("replicas: 2", "replicas: 3")
    );
    // Nothing was committed.
    assert!(
        repo.git(&["status", "--porcelain"])
            .contains("envs/prod/values.yaml")
    );

    // An explicit target must be in the history.
    let out = local::rollback(repo.root(), &layout(), "prod", Some(&d(1))).unwrap();
    assert_eq!(out.digest, d(1));
    let e = local::rollback(repo.root(), &layout(), "prod", Some(&d(9))).unwrap_err();
    assert!(matches!(e.root(), Error::NotFound(_)));
    assert!(
        e.to_string().contains(&format!("{} was never set", d(9))),
        "{e}"
    );
    assert!(
        e.to_string().contains(d(1).as_str()) && e.to_string().contains(d(3).as_str()),
        "{e}"
    );
    // Rolling back to the digest already set changes nothing.
    let out = local::rollback(repo.root(), &layout(), "prod", Some(&d(1))).unwrap();
    assert_eq!(out.operation, Operation::None);
    assert!(!out.changed);
}

#[test]
fn rollback_follows_renames() {
    let repo = Repo::new();
    repo.commit("old/prod.yaml", &values(&d(4)), "d4");
    repo.commit("old/prod.yaml", &values(&d(5)), "d5");
    std::fs::create_dir_all(repo.root().join("envs/prod")).unwrap();
    repo.git(&["mv", "old/prod.yaml", "envs/prod/values.yaml"]);
    repo.git(&["commit", "-q", "-m", "move"]);
    let out = local::rollback(repo.root(), &layout(), "prod", None).unwrap();
    assert_eq!(out.digest, d(4));
}

#[test]
fn rollback_from_a_subdirectory_of_the_repository() {
    let repo = Repo::new();
    repo.commit("deploy/envs/prod/values.yaml", &values(&d(1)), "d1");
    repo.commit("deploy/envs/prod/values.yaml", &values(&d(2)), "d2");
    let root: PathBuf = repo.root().join("deploy");
    let out = local::rollback(&root, &layout(), "prod", None).unwrap();
    assert_eq!(out.digest, d(1));
}

#[test]
fn rollback_without_history_or_earlier_digest_fails_clearly() {
    let repo = Repo::new();
    repo.commit("envs/prod/values.yaml", &values(&d(1)), "only");
    let e = local::rollback(repo.root(), &layout(), "prod", None).unwrap_err();
    assert!(
        e.to_string()
            .contains("no earlier digest at `image.digest`"),
        "{e}"
    );

    repo.write("envs/dev/values.yaml", &values(&d(1)));
    let e = local::rollback(repo.root(), &layout(), "dev", None).unwrap_err();
    assert!(e.to_string().contains("has no committed history"), "{e}");

    let plain = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(plain.path().join("envs/prod")).unwrap();
    std::fs::write(plain.path().join("envs/prod/values.yaml"), values(&d(1))).unwrap();
    let e = local::rollback(plain.path(), &layout(), "prod", None).unwrap_err();
    assert!(matches!(e, Error::Git(_)), "{e:?}");
    assert!(e.to_string().contains("git log"), "{e}");
}

#[test]
fn rollback_plan_skips_unreadable_versions_and_works_for_kustomize() {
    let layout = Layout::new("{env}/kustomization.yaml", Target::kustomize("app")).unwrap();
    let k =
        |digest: &str| format!("images:\n  - name: app\n    newTag: v1\n    digest: {digest}\n");
    let history = vec![
        Version {
            commit: "c3".into(),
            text: k(d(3).as_str()),
        },
        Version {
            commit: "c2b".into(),
            text: "images: [".into(),
        },
        Version {
            commit: "c2a".into(),
            text: k("not-a-digest"),
        },
        Version {
            commit: "c1".into(),
            text: k(d(1).as_str()),
        },
    ];
    let out = plan_rollback(&layout, "prod", &k(d(3).as_str()), &history, None).unwrap();
    assert_eq!(out.digest, d(1));
    assert_eq!(out.source.as_deref(), Some("commit c1"));
    assert_eq!(out.files[0].path, PathBuf::from("prod/kustomization.yaml"));
    assert_eq!(out.files[0].after, k(d(1).as_str()));
    assert_eq!(out.files[0].notes.len(), 1, "newTag note");
    // Rolling back to the digest already set is a no-op even if it is not in the history.
    let out = plan_rollback(&layout, "prod", &k(d(8).as_str()), &history, Some(&d(8))).unwrap();
    assert_eq!(out.operation, Operation::None);
    assert!(!out.changed && out.diff().is_empty());
}

#[test]
fn path_refuses_a_target_that_is_a_symlink() {
    let repo = Repo::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = elsewhere.path().join("values.yaml");
    std::fs::write(&outside, values(&d(1))).unwrap();
    std::fs::create_dir_all(repo.root().join("envs/prod")).unwrap();
    std::os::unix::fs::symlink(&outside, repo.root().join("envs/prod/values.yaml")).unwrap();
    let e = local::bump(repo.root(), &layout(), "prod", &d(2)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "envs/prod/values.yaml: is a symbolic link (to `{}`); gitops-bump does not read or write through links. Replace the link with the file itself, or point `file` at the real file inside the checkout",
            outside.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), values(&d(1)));
}

#[test]
fn path_refuses_a_target_whose_directory_escapes_the_checkout() {
    let repo = Repo::new();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(elsewhere.path().join("prod")).unwrap();
    let outside = elsewhere.path().join("prod/values.yaml");
    std::fs::write(&outside, values(&d(1))).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), repo.root().join("envs")).unwrap();
    let e = local::bump(repo.root(), &layout(), "prod", &d(2)).unwrap_err();
    let dir = elsewhere.path().join("prod").canonicalize().unwrap();
    let root = repo.root().canonicalize().unwrap();
    assert_eq!(
        e.to_string(),
        format!(
            "envs/prod/values.yaml: its directory resolves to {}, outside the checkout {} (a symbolic link in the path); gitops-bump only edits files inside the checkout. Replace the link with the directory itself",
            dir.display(),
            root.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), values(&d(1)));
}

/// A release of two images moves together: promote copies both digests, rollback takes
/// both back to the file's previous release (the newest earlier version in which either
/// differs), naming the commit that introduced it; an image that version lacks keeps
/// its digest.
#[test]
fn several_images_promote_and_roll_back_together() {
    let layout = layout();
    let targets = [
        Target::helm("api.image.digest").unwrap(),
        Target::helm("web.image.digest").unwrap(),
    ];
    let two = |a: &Digest, w: &Digest| {
        format!(
            "api:\n  image:\n    digest: \"{a}\"\nweb:\n  image:\n    digest: \"{w}\" # web\n  replicas: 2\n"
        )
    };
    let out = plan_promote_all(
        &layout,
        &targets,
        "dev",
        &two(&d(1), &d(2)),
        "staging",
        &two(&d(5), &d(6)),
    )
    .unwrap();
    assert_eq!(out.files[0].after, two(&d(1), &d(2)));
    assert_eq!(out.operation, Operation::Promote);
    assert_eq!(out.source.as_deref(), Some("dev (envs/dev/values.yaml)"));
    // A missing digest in the source refuses the whole promotion.
    let e = plan_promote_all(
        &layout,
        &targets,
        "dev",
        "api:\n  image:\n    digest: \"x\"\n",
        "staging",
        &two(&d(5), &d(6)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("is not usable"), "{e}");

    // History, newest first: (3,4) now; (3,2) and (1,2) before: the previous release
    // is (3,2), introduced by c2.
    let history = vec![
        Version {
            commit: "c3".into(),
            text: two(&d(3), &d(4)),
        },
        Version {
            commit: "c2".into(),
            text: two(&d(3), &d(2)),
        },
        Version {
            commit: "c1".into(),
            text: two(&d(1), &d(2)),
        },
    ];
    let out = plan_rollback_all(&layout, &targets, "dev", &two(&d(3), &d(4)), &history).unwrap();
    assert_eq!(out.files[0].after, two(&d(3), &d(2)));
    assert_eq!(out.source.as_deref(), Some("commit c2"));
    // An image added since (web absent before) keeps its digest.
    let history = vec![
        Version {
            commit: "c2".into(),
            text: two(&d(3), &d(4)),
        },
        Version {
            commit: "c1".into(),
            text: "api:\n  image:\n    digest: \"".to_string() + d(1).as_str() + "\"\n",
        },
    ];
    let out = plan_rollback_all(&layout, &targets, "dev", &two(&d(3), &d(4)), &history).unwrap();
    assert_eq!(out.files[0].after, two(&d(1), &d(4)));
    // Nothing earlier: a clear refusal.
    let e =
        plan_rollback_all(&layout, &targets, "dev", &two(&d(3), &d(4)), &history[..1]).unwrap_err();
    assert!(e.to_string().contains("nothing to roll back to"), "{e}");
}
