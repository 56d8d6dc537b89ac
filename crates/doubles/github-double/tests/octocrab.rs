//! The double with the client the product uses: octocrab writes a commit through the Git
//! Database API and opens, labels and updates a pull request.

mod common;

use common::{TOKEN, double};
use octocrab::Octocrab;
use octocrab::models::repos::Object;
use octocrab::params::repos::Reference;

fn sha_of(object: &Object) -> String {
    match object {
        Object::Commit { sha, .. } | Object::Tag { sha, .. } => sha.clone(),
        other => panic!("unexpected ref object {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn octocrab_creates_a_commit_branch_and_pull_request() {
    let gh = double();
    let client = Octocrab::builder()
        .base_uri(gh.url())
        .unwrap()
        .personal_token(TOKEN.to_string())
        .build()
        .unwrap();
    // octocrab 0.54 puts `pull_number` into the PATCH body of pulls/update; GitHub ignores
    // it, the double would report it as an unknown property.
    gh.tolerate_unknown_body_property("pulls/update", "pull_number");
    let repo = client.repos("acme", "gitops");

    let info = repo.get().await.unwrap();
    assert_eq!(info.default_branch.as_deref(), Some("main"));
    let main = repo
        .get_ref(&Reference::Branch("main".into()))
        .await
        .unwrap();
    let base = sha_of(&main.object);
    let base_commit = client
        .repos("acme", "gitops")
        .git()
        .get_commit(base.clone())
        .await
        .unwrap();

    let content = repo
        .get_content()
        .path("apps/web/values.yaml")
        .r#ref("main")
        .send()
        .await
        .unwrap();
    assert_eq!(
        content.items[0].decoded_content().as_deref(),
        Some("image:\n  tag: v1\n")
    );

    let blob = repo
        .create_blob("image:\n  tag: v2\n")
        .encoding("utf-8")
        .send()
        .await
        .unwrap();
    let tree = repo
        .create_tree(vec![
            octocrab::models::git::CreateTreeEntry::new("apps/web/values.yaml", "100644", "blob")
                .with_sha(blob.sha.clone()),
        ])
        .base_tree(base_commit.tree.sha.clone())
        .send()
        .await
        .unwrap();
    let commit = repo
        .create_git_commit_object("bump web to v2", tree.sha.clone())
        .parents(vec![base.clone()])
        .send()
        .await
        .unwrap();
    let branch = Reference::Branch("bump/web".into());
    repo.create_ref(&branch, base.clone()).await.unwrap();
    let updated = repo
        .update_ref(&branch, commit.sha.clone())
        .force(false)
        .send()
        .await
        .unwrap();
    assert_eq!(sha_of(&updated.object), commit.sha);

    let pulls = client.pulls("acme", "gitops");
    let pr = pulls
        .create("Bump web to v2", "bump/web", "main")
        .body("new digest")
        .send()
        .await
        .unwrap();
    assert_eq!(pr.number, 1);
    client
        .issues("acme", "gitops")
        .add_labels(pr.number, &["gitops".to_string()])
        .await
        .unwrap();
    pulls
        .request_reviews(pr.number, vec!["alice".to_string()], vec![])
        .await
        .unwrap();
    let pr = pulls
        .update(pr.number)
        .title("Bump web to v2 (updated)")
        .send()
        .await
        .unwrap();
    assert_eq!(pr.title.as_deref(), Some("Bump web to v2 (updated)"));
    let open = pulls
        .list()
        .state(octocrab::params::State::Open)
        .head("acme:bump/web")
        .send()
        .await
        .unwrap();
    assert_eq!(open.items.len(), 1);
    assert_eq!(open.items[0].labels.as_ref().map(Vec::len), Some(1));

    // A non-fast-forward update is an error octocrab surfaces with GitHub's message.
    let err = repo
        .update_ref(&branch, base.clone())
        .send()
        .await
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("Update is not a fast forward"),
        "{err:?}"
    );

    assert_eq!(
        gh.git("acme", "gitops", &["show", "bump/web:apps/web/values.yaml"]),
        "image:\n  tag: v2\n"
    );
    assert_eq!(
        gh.git("acme", "gitops", &["log", "-1", "--format=%s", "bump/web"])
            .trim(),
        "bump web to v2"
    );
    gh.assert_no_violations();
}
