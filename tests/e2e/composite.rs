//! Runs an `action.yml` the way the runner does. A JavaScript action
//! (`runs.using: node*`): `node <main>` with `INPUT_<NAME>` set for every
//! declared input (the `with:` value, else the default expression), and every
//! record the step writes to `GITHUB_OUTPUT` becomes an output, declared or
//! not. A composite action: each step under
//! `bash --noprofile --norc -eo pipefail`, `${{ ... }}` expressions
//! substituted from `inputs`, `github`, `runner` and `steps`, file commands
//! (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_PATH`) read back after each step,
//! and the action's outputs evaluated from its declared `outputs:`.
//!
//! Only the expression forms our actions use are understood (property
//! paths); anything else fails the test instead of being guessed at.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use bitvault_runner::files::parse_records;
use serde_norway::Value;

pub struct Invocation<'a> {
    pub action_dir: PathBuf,
    pub with: Vec<(&'a str, String)>,
    /// Environment of the job (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, ...).
    pub env: Vec<(String, String)>,
    pub workdir: PathBuf,
    pub github: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Outcome {
    pub outputs: BTreeMap<String, String>,
    pub success: bool,
    pub log: String,
    /// Every step's GITHUB_OUTPUT records, by step id.
    pub step_outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// RUNNER_TEMP of the run, kept until the outcome is dropped.
    pub _runner_temp: tempfile::TempDir,
}

struct Ctx<'a> {
    inputs: BTreeMap<String, String>,
    github: &'a BTreeMap<String, String>,
    runner_temp: String,
    steps: BTreeMap<String, BTreeMap<String, String>>,
}

fn lookup(ctx: &Ctx, expr: &str) -> Result<String> {
    let expr = expr.trim();
    let (head, rest) = expr
        .split_once('.')
        .ok_or_else(|| anyhow!("unsupported expression `{expr}`"))?;
    let key = |s: &str| -> String {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix("['").and_then(|s| s.strip_suffix("']")) {
            inner.to_string()
        } else {
            s.to_string()
        }
    };
    match head {
        "inputs" => Ok(ctx.inputs.get(&key(rest)).cloned().unwrap_or_default()),
        "github" => Ok(ctx.github.get(&key(rest)).cloned().unwrap_or_default()),
        "runner" if rest == "temp" => Ok(ctx.runner_temp.clone()),
        "steps" => {
            let (id, rest) = rest
                .split_once('.')
                .ok_or_else(|| anyhow!("bad `{expr}`"))?;
            let name = rest
                .strip_prefix("outputs.")
                .ok_or_else(|| anyhow!("unsupported expression `{expr}`"))?;
            Ok(ctx
                .steps
                .get(id)
                .and_then(|o| o.get(&key(name)))
                .cloned()
                .unwrap_or_default())
        }
        _ => bail!("unsupported expression `{expr}`"),
    }
}

fn substitute(ctx: &Ctx, text: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after
            .find("}}")
            .ok_or_else(|| anyhow!("unclosed expression in {text:?}"))?;
        out.push_str(&lookup(ctx, &after[..end])?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn run(inv: Invocation) -> Result<Outcome> {
    let action_path = inv.action_dir.join("action.yml");
    let text = std::fs::read_to_string(&action_path)
        .with_context(|| format!("read {}", action_path.display()))?;
    let doc: Value = serde_norway::from_str(&text)?;
    let using = doc["runs"]["using"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if using != "composite" && !using.starts_with("node") {
        bail!(
            "{} is neither a composite nor a JavaScript action",
            action_path.display()
        );
    }
    let temp = tempfile::tempdir()?;
    let mut ctx = Ctx {
        inputs: BTreeMap::new(),
        github: &inv.github,
        runner_temp: temp.path().display().to_string(),
        steps: BTreeMap::new(),
    };
    // Inputs: `with:` values, else the declared default (itself an expression).
    let declared = doc["inputs"].as_mapping().cloned().unwrap_or_default();
    for (k, _) in &inv.with {
        if !declared.contains_key(*k) {
            bail!(
                "unexpected input `{k}`: {} declares no such input",
                action_path.display()
            );
        }
    }
    for (name, spec) in &declared {
        let name = name.as_str().context("input name")?.to_string();
        let given = inv
            .with
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone());
        let value = match given {
            Some(v) => v,
            None => match spec.get("default").and_then(scalar) {
                Some(d) => substitute(&ctx, &d)?,
                None => String::new(),
            },
        };
        ctx.inputs.insert(name, value);
    }

    if using.starts_with("node") {
        return run_node(&inv, &doc, ctx, temp);
    }

    let mut log = String::new();
    let mut extra_path: Vec<String> = Vec::new();
    let mut extra_env: Vec<(String, String)> = Vec::new();
    let mut success = true;
    let steps = doc["runs"]["steps"].as_sequence().context("runs.steps")?;
    for (n, step) in steps.iter().enumerate() {
        if step.get("uses").is_some() {
            bail!("step {n} uses another action; this harness runs `run:` steps only");
        }
        if step["shell"].as_str() != Some("bash") {
            bail!("step {n} has no `shell: bash`; composite run steps must name a shell");
        }
        let script = substitute(&ctx, step["run"].as_str().context("run")?)?;
        let id = step.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let files = temp.path().join(format!("step{n}"));
        std::fs::create_dir_all(&files)?;
        let (out_f, env_f, path_f, sum_f) = (
            files.join("output"),
            files.join("env"),
            files.join("path"),
            files.join("summary"),
        );
        for f in [&out_f, &env_f, &path_f, &sum_f] {
            std::fs::write(f, "")?;
        }
        let script_f = files.join("script.sh");
        std::fs::write(&script_f, &script)?;
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_f)
            .current_dir(&inv.workdir)
            .env_clear();
        for key in [
            "HOME",
            "USER",
            "LANG",
            "TMPDIR",
            "CARGO_HOME",
            "RUSTUP_HOME",
        ] {
            if let Ok(v) = std::env::var(key) {
                cmd.env(key, v);
            }
        }
        let mut path = extra_path.clone();
        path.push(std::env::var("PATH").unwrap_or_default());
        cmd.env("PATH", path.join(":"));
        cmd.env("GITHUB_ACTIONS", "true")
            .env("RUNNER_TEMP", temp.path())
            .env("RUNNER_TOOL_CACHE", temp.path().join("toolcache"))
            .env("GITHUB_ACTION_PATH", &inv.action_dir)
            .env("GITHUB_OUTPUT", &out_f)
            .env("GITHUB_ENV", &env_f)
            .env("GITHUB_PATH", &path_f)
            .env("GITHUB_STEP_SUMMARY", &sum_f);
        for (k, v) in inv.env.iter().chain(extra_env.iter()) {
            cmd.env(k, v);
        }
        if let Some(env) = step.get("env").and_then(|e| e.as_mapping()) {
            for (k, v) in env {
                let k = k.as_str().context("env name")?;
                let v = substitute(&ctx, &scalar(v).unwrap_or_default())?;
                cmd.env(k, v);
            }
        }
        let out = cmd.output()?;
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        log.push_str(&String::from_utf8_lossy(&out.stdout));
        let records = parse_records(&std::fs::read_to_string(&out_f)?).map_err(|e| anyhow!(e))?;
        if let Some(id) = &id {
            ctx.steps.insert(id.clone(), records.into_iter().collect());
        }
        for line in std::fs::read_to_string(&path_f)?.lines() {
            if !line.is_empty() {
                extra_path.insert(0, line.to_string());
            }
        }
        let env_records =
            parse_records(&std::fs::read_to_string(&env_f)?).map_err(|e| anyhow!(e))?;
        extra_env.extend(env_records);
        if !out.status.success() {
            success = false;
            break;
        }
    }
    let mut outputs = BTreeMap::new();
    if let Some(decl) = doc.get("outputs").and_then(|o| o.as_mapping()) {
        for (name, spec) in decl {
            let value = spec["value"].as_str().context("output value")?;
            outputs.insert(name.as_str().unwrap().to_string(), substitute(&ctx, value)?);
        }
    }
    Ok(Outcome {
        outputs,
        success,
        log,
        step_outputs: ctx.steps,
        _runner_temp: temp,
    })
}

/// The environment every step gets from the runner.
fn runner_env(cmd: &mut Command, temp: &Path, extra_path: &[String]) {
    cmd.env_clear();
    for key in [
        "HOME",
        "USER",
        "LANG",
        "TMPDIR",
        "CARGO_HOME",
        "RUSTUP_HOME",
    ] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    let mut path = extra_path.to_vec();
    path.push(std::env::var("PATH").unwrap_or_default());
    cmd.env("PATH", path.join(":"))
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", temp)
        .env("RUNNER_TOOL_CACHE", temp.join("toolcache"));
}

/// A JavaScript action: one process, the runner's `INPUT_*` variables, and every
/// `GITHUB_OUTPUT` record an output of the step (the runner filters nothing).
fn run_node(inv: &Invocation, doc: &Value, ctx: Ctx, temp: tempfile::TempDir) -> Result<Outcome> {
    let main = doc["runs"]["main"].as_str().context("runs.main")?;
    let files = temp.path().join("step0");
    std::fs::create_dir_all(&files)?;
    let (out_f, env_f, path_f, sum_f) = (
        files.join("output"),
        files.join("env"),
        files.join("path"),
        files.join("summary"),
    );
    for f in [&out_f, &env_f, &path_f, &sum_f] {
        std::fs::write(f, "")?;
    }
    let mut cmd = Command::new("node");
    cmd.arg(inv.action_dir.join(main)).current_dir(&inv.workdir);
    runner_env(&mut cmd, temp.path(), &[]);
    cmd.env("GITHUB_OUTPUT", &out_f)
        .env("GITHUB_ENV", &env_f)
        .env("GITHUB_PATH", &path_f)
        .env("GITHUB_STEP_SUMMARY", &sum_f)
        .env(
            "GITHUB_ACTION_REF",
            ctx.github.get("action_ref").cloned().unwrap_or_default(),
        );
    for (k, v) in &inv.env {
        cmd.env(k, v);
    }
    // The runner's rule (`INPUT_` + upper-case name, spaces to `_`), for every input.
    for (name, value) in &ctx.inputs {
        cmd.env(
            format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
            value,
        );
    }
    let out = cmd.output()?;
    let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stdout));
    let records: BTreeMap<String, String> = parse_records(&std::fs::read_to_string(&out_f)?)
        .map_err(|e| anyhow!(e))?
        .into_iter()
        .collect();
    let mut step_outputs = BTreeMap::new();
    step_outputs.insert("run".to_string(), records.clone());
    // A declared output the step did not set reads as empty, as in an expression.
    let mut outputs = records;
    if let Some(decl) = doc.get("outputs").and_then(|o| o.as_mapping()) {
        for name in decl.keys().filter_map(|k| k.as_str()) {
            outputs.entry(name.to_string()).or_default();
        }
    }
    Ok(Outcome {
        outputs,
        success: out.status.success(),
        log,
        step_outputs,
        _runner_temp: temp,
    })
}

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
