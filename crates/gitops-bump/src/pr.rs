//! The pull request's words, as pure functions: the branch name, the commit message with
//! its ownership trailer, the title and body templates.
//!
//! Placeholders in `title` and `body` templates (unknown `{...}` are left as written):
//!
//! | placeholder | value |
//! |---|---|
//! | `{image}` | the image names, joined with `, ` |
//! | `{env}` | the environment changed |
//! | `{from-env}` | the source environment (promote), else empty |
//! | `{mode}` | `bump`, `promote` or `rollback` |
//! | `{digest}` | the new digests, joined with `, ` |
//! | `{short-digest}` | the first 12 hex characters of the first new digest |
//! | `{old}` | the old values, joined with `, ` (`none` when missing) |
//! | `{source}` | where the digest came from (promote, rollback), else empty |
//! | `{sha}` | the workflow's commit (`GITHUB_SHA`) |
//! | `{run-url}` | the workflow run's URL |

use bitvault_registry::Digest;

/// The trailer key that marks commits made by this action.
pub const TRAILER: &str = "Bitvault-Gitops-Bump";

/// One image in the change, before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChange {
    pub image: String,
    pub old: Option<String>,
    pub new: Digest,
}

/// What the pull request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub mode: &'static str,
    pub env: String,
    pub from_env: Option<String>,
    pub images: Vec<ImageChange>,
    pub source: Option<String>,
    /// `GITHUB_SHA`, if known.
    pub sha: Option<String>,
    /// The workflow run's URL, if known.
    pub run_url: Option<String>,
    /// The verification result, one line.
    pub verification: String,
}

impl Context {
    fn image_names(&self) -> Vec<&str> {
        self.images.iter().map(|i| i.image.as_str()).collect()
    }

    /// The value that identifies this change in branch names and trailers:
    /// `<env>/<image>[+<image>...]`.
    pub fn key(&self) -> String {
        let mut names: Vec<String> = self.image_names().iter().map(|n| slug(n)).collect();
        names.sort();
        names.dedup();
        format!("{}/{}", slug(&self.env), names.join("+"))
    }
}

/// A branch-name safe form of `s`: letters, digits, `-`, `_`, `.`; anything else
/// (`/`, `:`, `@`, spaces) becomes `-`.
pub fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let out = out.trim_matches(|c| c == '-' || c == '.').to_string();
    let mut collapsed = String::new();
    for c in out.chars() {
        if (c == '-' && collapsed.ends_with('-')) || (c == '.' && collapsed.ends_with('.')) {
            continue;
        }
        collapsed.push(c);
    }
    if collapsed.is_empty() {
        "image".into()
    } else {
        collapsed
    }
}

/// The predictable branch: `bitvault/gitops-bump/<env>/<image>[+<image>...]`.
pub fn branch_name(ctx: &Context) -> String {
    format!("bitvault/gitops-bump/{}", ctx.key())
}

/// The trailer line for this change.
pub fn trailer(ctx: &Context) -> String {
    format!("{TRAILER}: {}", ctx.key())
}

/// Whether a commit message carries this action's trailer (for any key).
pub fn has_trailer(message: &str) -> bool {
    message
        .lines()
        .any(|l| l.trim_start().starts_with(&format!("{TRAILER}:")))
}

/// The commit message: the title, what changed, and the trailer.
pub fn commit_message(ctx: &Context, title: &str) -> String {
    let mut msg = format!("{title}\n\n");
    for i in &ctx.images {
        msg.push_str(&format!(
            "{}: {} -> {}\n",
            i.image,
            i.old.as_deref().unwrap_or("none"),
            i.new
        ));
    }
    if let Some(sha) = &ctx.sha {
        msg.push_str(&format!("Source-Commit: {sha}\n"));
    }
    msg.push('\n');
    msg.push_str(&trailer(ctx));
    msg.push('\n');
    msg
}

/// The default title template of a mode.
pub fn default_title(mode: &str) -> &'static str {
    match mode {
        "promote" => "promote {image} from {from-env} to {env} ({short-digest})",
        "rollback" => "roll back {image} in {env} to {short-digest}",
        _ => "bump {image} in {env} to {short-digest}",
    }
}

/// Fills the placeholders of a template.
pub fn render(template: &str, ctx: &Context) -> String {
    let join = |f: &dyn Fn(&ImageChange) -> String| {
        ctx.images.iter().map(f).collect::<Vec<_>>().join(", ")
    };
    let short = ctx
        .images
        .first()
        .map(|i| i.new.hex()[..12].to_string())
        .unwrap_or_default();
    let pairs: [(&str, String); 10] = [
        ("{image}", ctx.image_names().join(", ")),
        ("{env}", ctx.env.clone()),
        ("{from-env}", ctx.from_env.clone().unwrap_or_default()),
        ("{mode}", ctx.mode.to_string()),
        ("{digest}", join(&|i| i.new.to_string())),
        ("{short-digest}", short),
        (
            "{old}",
            join(&|i| i.old.clone().unwrap_or_else(|| "none".into())),
        ),
        ("{source}", ctx.source.clone().unwrap_or_default()),
        ("{sha}", ctx.sha.clone().unwrap_or_default()),
        ("{run-url}", ctx.run_url.clone().unwrap_or_default()),
    ];
    // One pass, so a value that contains `{...}` is never expanded again.
    let mut out = String::new();
    let mut rest = template;
    'outer: while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        for (key, value) in &pairs {
            if let Some(after) = tail.strip_prefix(key) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        out.push('{');
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// The generated part of the body: each image with old and new digest, where it came
/// from, the workflow run, and the verification result.
pub fn details(ctx: &Context) -> String {
    let mut s = format!("**{}** `{}`", ctx.mode, ctx.env);
    if let Some(from) = &ctx.from_env {
        s.push_str(&format!(" from `{from}`"));
    }
    s.push_str("\n\n| image | old | new |\n|---|---|---|\n");
    for i in &ctx.images {
        s.push_str(&format!(
            "| `{}` | {} | `{}` |\n",
            i.image,
            i.old
                .as_deref()
                .map(|o| format!("`{o}`"))
                .unwrap_or_else(|| "none".into()),
            i.new
        ));
    }
    s.push('\n');
    if let Some(source) = &ctx.source {
        s.push_str(&format!("- digest from: {source}\n"));
    }
    if let Some(sha) = &ctx.sha {
        s.push_str(&format!("- source commit: {sha}\n"));
    }
    if let Some(url) = &ctx.run_url {
        s.push_str(&format!("- workflow run: {url}\n"));
    }
    s.push_str(&format!("- verification: {}\n", ctx.verification));
    s
}

/// The whole body: the rendered `body` template (if any), then [`details`].
pub fn body(template: Option<&str>, ctx: &Context) -> String {
    match template {
        Some(t) => format!("{}\n\n{}", render(t, ctx), details(ctx)),
        None => details(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    fn ctx() -> Context {
        Context {
            mode: "bump",
            env: "prod".into(),
            from_env: None,
            images: vec![ImageChange {
                image: "ghcr.io/acme/web".into(),
                old: Some(d('a').to_string()),
                new: d('b'),
            }],
            source: None,
            sha: Some("abc123".into()),
            run_url: Some("https://github.com/acme/app/actions/runs/7".into()),
            verification: "not required".into(),
        }
    }

    #[test]
    fn branch_and_trailer_are_predictable() {
        let c = ctx();
        assert_eq!(
            branch_name(&c),
            "bitvault/gitops-bump/prod/ghcr.io-acme-web"
        );
        assert_eq!(trailer(&c), "Bitvault-Gitops-Bump: prod/ghcr.io-acme-web");
        let msg = commit_message(&c, "t");
        assert!(has_trailer(&msg), "{msg}");
        assert!(!has_trailer("fix: typo\n\nSigned-off-by: x"));
    }

    #[test]
    fn image_sets_are_order_independent() {
        let mut a = ctx();
        a.images.push(ImageChange {
            image: "api".into(),
            old: None,
            new: d('c'),
        });
        let mut b = a.clone();
        b.images.reverse();
        assert_eq!(branch_name(&a), branch_name(&b));
        assert_eq!(
            branch_name(&a),
            "bitvault/gitops-bump/prod/api+ghcr.io-acme-web"
        );
    }

    #[test]
    fn templates_fill_placeholders_once() {
        let c = ctx();
        assert_eq!(
            render(default_title("bump"), &c),
            "bump ghcr.io/acme/web in prod to bbbbbbbbbbbb"
        );
        assert_eq!(
            render("{old} -> {digest} {unknown} {", &c),
            format!("{} -> {} {{unknown}} {{", d('a'), d('b'))
        );
    }

    #[test]
    fn body_lists_images_run_and_verification() {
        let b = body(Some("Deploy {image}."), &ctx());
        assert!(b.starts_with("Deploy ghcr.io/acme/web.\n\n"), "{b}");
        assert!(b.contains(&format!(
            "| `ghcr.io/acme/web` | `{}` | `{}` |",
            d('a'),
            d('b')
        )));
        assert!(b.contains("- workflow run: https://github.com/acme/app/actions/runs/7"));
        assert!(b.contains("- source commit: abc123"));
        assert!(b.contains("- verification: not required"));
    }
}
