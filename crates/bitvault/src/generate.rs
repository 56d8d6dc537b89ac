//! Generates each action's `action.yml` and README table from its declaration.
//!
//! These files are committed. `tests/generated.rs` regenerates them and fails
//! when they differ, so the declaration, the CLI flags, the action.yml and
//! the README cannot drift apart. Run
//! `BITVAULT_BLESS=1 cargo test -p bitvault --test generated` to rewrite them.

use std::fmt::Write as _;

use bitvault_runner::ActionSpec;

/// A YAML double-quoted scalar. JSON string syntax is a subset of it.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// Where the setup script is, relative to the action's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `actions/<name>/action.yml` in this repository.
    Monorepo,
    /// A published action repository (`bitvault/<name>`), made by the
    /// release workflow, with `setup.sh` and `checksums.txt` beside it.
    Standalone,
}

/// The `action.yml` of an action (the same in every layout; its `main.js` differs).
pub fn action_yml(spec: &ActionSpec) -> String {
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Generated from the declaration of `{}` (its SPEC in crates/). Do not edit by hand:\n# change the declaration, then run `BITVAULT_BLESS=1 cargo test -p bitvault --test generated`.",
        spec.name
    );
    let _ = writeln!(y, "name: {}", q(&format!("bitvault {}", spec.name)));
    let _ = writeln!(y, "description: {}", q(spec.description));
    let _ = writeln!(y, "author: \"BitVault\"");
    let _ = writeln!(y, "branding:\n  icon: \"shield\"\n  color: \"blue\"");
    let _ = writeln!(y, "inputs:");
    for i in spec.inputs {
        let _ = writeln!(y, "  {}:", i.name);
        let _ = writeln!(y, "    description: {}", q(&i.help()));
        let _ = writeln!(y, "    required: {}", i.required);
        if let Some(d) = i.default {
            let _ = writeln!(y, "    default: {}", q(d));
        }
    }
    if !spec.outputs.is_empty() {
        let _ = writeln!(y, "outputs:");
        for o in spec.outputs {
            let _ = writeln!(y, "  {}:", o.name);
            let _ = writeln!(y, "    description: {}", q(o.description));
        }
    }
    // A JavaScript action: the runner sets `INPUT_<NAME>` for every input and
    // passes on every output the step writes, declared or not (path-filter's
    // `<filter>` outputs are named by the caller); a composite action passes on
    // only the declared ones. `main.js` gets the binary with setup.sh and runs it,
    // wherever the layout puts them (see `main_js`).
    let _ = writeln!(y, "runs:\n  using: \"node24\"\n  main: \"main.js\"");
    y
}

/// The `main.js` beside an action's action.yml: runs `bitvault <name>` through
/// the shared, dependency-free runner script (`scripts/action.js`).
pub fn main_js(spec: &ActionSpec, layout: Layout) -> String {
    let (script, setup) = match layout {
        Layout::Monorepo => ("../../scripts/action.js", "../../scripts/setup.sh"),
        Layout::Standalone => ("./action.js", "setup.sh"),
    };
    format!(
        "// Generated from the declaration of `{name}`. Do not edit by hand:\n\
         // run `BITVAULT_BLESS=1 cargo test -p bitvault --test generated`.\n\
         'use strict';\n\
         require({script:?}).run({name:?}, require('node:path').join(__dirname, {setup:?}));\n",
        name = spec.name,
    )
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The README's inputs and outputs tables for an action.
pub fn readme_tables(spec: &ActionSpec) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "| input | description | required | default |");
    let _ = writeln!(m, "|---|---|---|---|");
    for i in spec.inputs {
        let default = match i.default {
            Some(d) if !d.is_empty() => format!("`{}`", md_cell(d)),
            _ => String::new(),
        };
        let _ = writeln!(
            m,
            "| `{}` | {} | {} | {} |",
            i.name,
            md_cell(&i.help()),
            if i.required { "yes" } else { "no" },
            default
        );
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "| output | description |");
    let _ = writeln!(m, "|---|---|");
    for o in spec.outputs.iter().chain(spec.dynamic_outputs) {
        let _ = writeln!(m, "| `{}` | {} |", o.name, md_cell(o.description));
    }
    if !spec.permissions.is_empty() {
        let _ = writeln!(m);
        let _ = writeln!(
            m,
            "The job needs `permissions:` {}.",
            spec.permissions
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    m
}

/// The markers around an action's tables in README.md.
pub fn readme_markers(name: &str) -> (String, String) {
    (
        format!("<!-- generated:{name}:start -->"),
        format!("<!-- generated:{name}:end -->"),
    )
}

/// README text with each action's tables replaced by freshly generated ones.
/// Fails when an action has no markers in the README.
pub fn update_readme(readme: &str, specs: &[&ActionSpec]) -> Result<String, String> {
    let mut out = readme.to_string();
    for spec in specs {
        let (start, end) = readme_markers(spec.name);
        let s = out
            .find(&start)
            .ok_or_else(|| format!("README.md has no `{start}` marker for {}", spec.name))?;
        let e = out
            .find(&end)
            .ok_or_else(|| format!("README.md has no `{end}` marker for {}", spec.name))?;
        if e < s {
            return Err(format!(
                "README.md markers for {} are out of order",
                spec.name
            ));
        }
        let body = format!("{start}\n{}{end}", readme_tables(spec));
        out.replace_range(s..e + end.len(), &body);
    }
    Ok(out)
}
