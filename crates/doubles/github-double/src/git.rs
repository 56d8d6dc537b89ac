//! The bare repositories behind the double, driven through the `git` command line so
//! that every object and ref is real and tests can read the results with `git`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The all-zero object id: as the old value of `git update-ref`, "must not exist yet".
pub const ZERO: &str = "0000000000000000000000000000000000000000";

/// A bare repository on disk.
#[derive(Clone, Debug)]
pub struct BareRepo {
    pub path: PathBuf,
}

/// One person line of a commit.
#[derive(Clone, Debug)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// As written by git, e.g. `+0000`.
    pub tz: String,
}

/// A parsed commit object.
#[derive(Clone, Debug)]
pub struct CommitInfo {
    pub sha: String,
    pub tree: String,
    pub parents: Vec<String>,
    pub author: Signature,
    pub committer: Signature,
    pub message: String,
}

/// One entry of a tree listing.
#[derive(Clone, Debug)]
pub struct TreeEntry {
    pub mode: String,
    pub kind: String,
    pub sha: String,
    pub size: Option<u64>,
    pub path: String,
}

/// One changed file between two commits.
#[derive(Clone, Debug)]
pub struct FileChange {
    pub status: String,
    pub path: String,
    pub additions: u64,
    pub deletions: u64,
    pub sha: Option<String>,
}

/// A change to apply to a tree, as `POST /git/trees` describes it.
#[derive(Clone, Debug)]
pub struct TreeEdit {
    pub path: String,
    pub mode: String,
    /// `None` deletes the path.
    pub sha: Option<String>,
}

impl BareRepo {
    /// `git init --bare` at `path` with `default_branch` as HEAD.
    pub fn init(path: &Path, default_branch: &str) -> Result<BareRepo, String> {
        std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let repo = BareRepo {
            path: path.to_path_buf(),
        };
        repo.git(&["init", "--bare", "-q", "-b", default_branch], None)?;
        Ok(repo)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        c.arg("--git-dir")
            .arg(&self.path)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE");
        c
    }

    /// Runs git, feeding `input`, returning stdout; an error carries stderr.
    pub fn git(&self, args: &[&str], input: Option<&[u8]>) -> Result<Vec<u8>, String> {
        self.git_env(args, input, &[])
    }

    fn git_env(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        env: &[(&str, &str)],
    ) -> Result<Vec<u8>, String> {
        let mut c = self.command(args);
        c.envs(env.iter().copied())
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().map_err(|e| format!("cannot run git: {e}"))?;
        if let Some(input) = input {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin
                .write_all(input)
                .map_err(|e| format!("writing to git {}: {e}", args.join(" ")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("git {}: {e}", args.join(" ")))?;
        if !out.status.success() {
            return Err(format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out.stdout)
    }

    fn git_line(&self, args: &[&str], input: Option<&[u8]>) -> Result<String, String> {
        Ok(String::from_utf8_lossy(&self.git(args, input)?)
            .trim()
            .to_string())
    }

    /// Resolves a revision to an object id, `None` if it does not exist.
    pub fn rev_parse(&self, rev: &str) -> Option<String> {
        self.git_line(
            &["rev-parse", "-q", "--verify", "--end-of-options", rev],
            None,
        )
        .ok()
        .filter(|s| !s.is_empty())
    }

    /// The type of an object (`blob`, `tree`, `commit`, `tag`), `None` if missing.
    pub fn object_type(&self, sha: &str) -> Option<String> {
        self.git_line(&["cat-file", "-t", sha], None).ok()
    }

    /// The content of an object.
    pub fn cat(&self, kind: &str, sha: &str) -> Result<Vec<u8>, String> {
        self.git(&["cat-file", kind, sha], None)
    }

    /// `git hash-object -w`: stores a blob.
    pub fn write_blob(&self, content: &[u8]) -> Result<String, String> {
        self.git_line(&["hash-object", "-w", "--stdin"], Some(content))
    }

    /// Lists a tree (recursively when asked) with blob sizes.
    pub fn ls_tree(&self, tree: &str, recursive: bool) -> Result<Vec<TreeEntry>, String> {
        let mut args = vec!["ls-tree", "-l", "-z"];
        if recursive {
            args.extend(["-r", "-t"]);
        }
        args.push(tree);
        let out = self.git(&args, None)?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let l = String::from_utf8_lossy(l);
                let (meta, path) = l.split_once('\t')?;
                let mut m = meta.split_whitespace();
                Some(TreeEntry {
                    mode: m.next()?.to_string(),
                    kind: m.next()?.to_string(),
                    sha: m.next()?.to_string(),
                    size: m.next().and_then(|s| s.parse().ok()),
                    path: path.to_string(),
                })
            })
            .collect())
    }

    /// Applies `edits` to `base` (or an empty tree) and writes the result with a private
    /// index file, so nested paths get their intermediate trees.
    pub fn edit_tree(&self, base: Option<&str>, edits: &[TreeEdit]) -> Result<String, String> {
        let index = tempfile::Builder::new()
            .prefix("index-")
            .tempfile_in(&self.path)
            .map_err(|e| format!("temporary index: {e}"))?;
        let index_path = index.path().to_string_lossy().into_owned();
        // git wants to create the index itself.
        std::fs::remove_file(index.path()).ok();
        let env = [("GIT_INDEX_FILE", index_path.as_str())];
        match base {
            Some(b) => self.git_env(&["read-tree", b], None, &env)?,
            None => self.git_env(&["read-tree", "--empty"], None, &env)?,
        };
        let mut info = Vec::new();
        for e in edits {
            match &e.sha {
                Some(sha) => write!(info, "{} {}\t{}\0", e.mode, sha, e.path),
                None => write!(info, "0 {ZERO}\t{}\0", e.path),
            }
            .map_err(|e| e.to_string())?;
        }
        self.git_env(&["update-index", "-z", "--index-info"], Some(&info), &env)?;
        let tree = String::from_utf8_lossy(&self.git_env(&["write-tree"], None, &env)?)
            .trim()
            .to_string();
        std::fs::remove_file(index.path()).ok();
        Ok(tree)
    }

    /// `git commit-tree`.
    pub fn commit_tree(
        &self,
        tree: &str,
        parents: &[String],
        message: &str,
        author: &Signature,
        committer: &Signature,
    ) -> Result<String, String> {
        let mut args = vec!["commit-tree", tree];
        for p in parents {
            args.extend(["-p", p.as_str()]);
        }
        let adate = format!("@{} {}", author.time, author.tz);
        let cdate = format!("@{} {}", committer.time, committer.tz);
        let env = [
            ("GIT_AUTHOR_NAME", author.name.as_str()),
            ("GIT_AUTHOR_EMAIL", author.email.as_str()),
            ("GIT_AUTHOR_DATE", adate.as_str()),
            ("GIT_COMMITTER_NAME", committer.name.as_str()),
            ("GIT_COMMITTER_EMAIL", committer.email.as_str()),
            ("GIT_COMMITTER_DATE", cdate.as_str()),
        ];
        let out = self.git_env(&args, Some(message.as_bytes()), &env)?;
        Ok(String::from_utf8_lossy(&out).trim().to_string())
    }

    /// Reads and parses a commit object.
    pub fn commit(&self, sha: &str) -> Result<CommitInfo, String> {
        let raw = String::from_utf8_lossy(&self.cat("commit", sha)?).into_owned();
        let (headers, message) = raw.split_once("\n\n").unwrap_or((raw.as_str(), ""));
        let mut info = CommitInfo {
            sha: sha.to_string(),
            tree: String::new(),
            parents: Vec::new(),
            author: Signature::unknown(),
            committer: Signature::unknown(),
            message: message.to_string(),
        };
        for line in headers.lines() {
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            match k {
                "tree" => info.tree = v.to_string(),
                "parent" => info.parents.push(v.to_string()),
                "author" => info.author = Signature::parse(v),
                "committer" => info.committer = Signature::parse(v),
                _ => {}
            }
        }
        Ok(info)
    }

    /// `git merge-base --is-ancestor`.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> bool {
        self.command(&["merge-base", "--is-ancestor", ancestor, descendant])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// `git merge-base`.
    pub fn merge_base(&self, a: &str, b: &str) -> Option<String> {
        self.git_line(&["merge-base", a, b], None).ok()
    }

    /// Atomically moves `refname` from `old` (`ZERO`: must not exist) to `new`. Fails when
    /// the ref no longer has the old value, so two concurrent writers cannot both win.
    pub fn update_ref(&self, refname: &str, new: &str, old: &str) -> Result<(), String> {
        self.git(&["update-ref", refname, new, old], None)
            .map(|_| ())
    }

    /// `git update-ref -d`.
    pub fn delete_ref(&self, refname: &str, old: &str) -> Result<(), String> {
        self.git(&["update-ref", "-d", refname, old], None)
            .map(|_| ())
    }

    /// Commits reachable from `rev` (newest first), limited to `path` when given.
    pub fn log(&self, rev: &str, path: Option<&str>) -> Result<Vec<String>, String> {
        let mut args = vec!["rev-list", rev];
        if let Some(p) = path {
            args.extend(["--", p]);
        }
        Ok(String::from_utf8_lossy(&self.git(&args, None)?)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// Commits in `head` that are not in `base`, oldest first.
    pub fn range(&self, base: &str, head: &str) -> Result<Vec<String>, String> {
        let spec = format!("{base}..{head}");
        Ok(
            String::from_utf8_lossy(&self.git(&["rev-list", "--reverse", &spec], None)?)
                .lines()
                .map(str::to_string)
                .collect(),
        )
    }

    /// Files changed from `base` to `head`, with line counts.
    pub fn diff(&self, base: &str, head: &str) -> Result<Vec<FileChange>, String> {
        let raw = self.git(
            &[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--raw",
                "--numstat",
                base,
                head,
            ],
            None,
        )?;
        let fields: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let mut changes: Vec<FileChange> = Vec::new();
        let mut i = 0;
        while i < fields.len() {
            let f = &fields[i];
            if let Some(raw) = f.strip_prefix(':') {
                // :old_mode new_mode old_sha new_sha STATUS \0 path
                let parts: Vec<&str> = raw.split_whitespace().collect();
                let path = fields.get(i + 1).cloned().unwrap_or_default();
                let status = match parts.get(4).and_then(|s| s.chars().next()) {
                    Some('A') => "added",
                    Some('D') => "removed",
                    Some('M') | Some('T') => "modified",
                    _ => "changed",
                };
                let sha = parts.get(3).filter(|s| **s != ZERO).map(|s| s.to_string());
                changes.push(FileChange {
                    status: status.into(),
                    path,
                    additions: 0,
                    deletions: 0,
                    sha: sha.or_else(|| parts.get(2).map(|s| s.to_string())),
                });
                i += 2;
            } else if f.contains('\t') {
                // added \t deleted \t path
                let mut p = f.splitn(3, '\t');
                let add = p.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let del = p.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let path = p.next().unwrap_or_default();
                if let Some(c) = changes.iter_mut().find(|c| c.path == path) {
                    c.additions = add;
                    c.deletions = del;
                }
                i += 1;
            } else {
                i += 1;
            }
        }
        Ok(changes)
    }
}

impl Signature {
    fn unknown() -> Signature {
        Signature {
            name: String::new(),
            email: String::new(),
            time: 0,
            tz: "+0000".into(),
        }
    }

    /// Parses `Name <email> 1700000000 +0000`.
    fn parse(s: &str) -> Signature {
        let (name, rest) = s.split_once(" <").unwrap_or((s, ""));
        let (email, rest) = rest.split_once("> ").unwrap_or((rest, ""));
        let mut r = rest.split_whitespace();
        Signature {
            name: name.to_string(),
            email: email.to_string(),
            time: r.next().and_then(|t| t.parse().ok()).unwrap_or(0),
            tz: r.next().unwrap_or("+0000").to_string(),
        }
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS` with `Z` or `±HH:MM` into seconds since the epoch.
pub fn parse_iso8601(s: &str) -> Option<(i64, String)> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut t = days * 86_400 + h * 3600 + mi * 60 + se;
    let tail = s[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let tz = match tail {
        "" | "Z" => "+0000".to_string(),
        z if z.len() == 6 => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let off = z[1..3].parse::<i64>().ok()? * 3600 + z[4..6].parse::<i64>().ok()? * 60;
            t -= sign * off;
            format!("{}{}{}", &z[0..1], &z[1..3], &z[4..6])
        }
        _ => return None,
    };
    Some((t, tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_iso8601("2023-11-14T22:13:20Z"),
            Some((1_700_000_000, "+0000".into()))
        );
        assert_eq!(
            parse_iso8601("2023-11-14T23:13:20+01:00"),
            Some((1_700_000_000, "+0100".into()))
        );
    }
}
