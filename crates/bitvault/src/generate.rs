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

/// The composite `action.yml` of an action.
pub fn action_yml(spec: &ActionSpec, layout: Layout) -> String {
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
            let _ = writeln!(
                y,
                "    value: ${{{{ steps.run.outputs.{} }}}}",
                expr_key(o.name)
            );
        }
    }
    let setup = match layout {
        Layout::Monorepo => "$GITHUB_ACTION_PATH/../../scripts/setup.sh",
        Layout::Standalone => "$GITHUB_ACTION_PATH/setup.sh",
    };
    let _ = writeln!(y, "runs:\n  using: \"composite\"\n  steps:");
    let _ = writeln!(y, "    - name: \"Set up bitvault\"");
    let _ = writeln!(y, "      shell: bash");
    let _ = writeln!(y, "      env:");
    let _ = writeln!(
        y,
        "        BITVAULT_ACTION_REF: ${{{{ github.action_ref }}}}"
    );
    let _ = writeln!(y, "      run: bash \"{setup}\"");
    let _ = writeln!(y, "    - id: run");
    let _ = writeln!(y, "      name: {}", q(&format!("bitvault {}", spec.name)));
    let _ = writeln!(y, "      shell: bash");
    let _ = writeln!(y, "      env:");
    for i in spec.inputs {
        let _ = writeln!(
            y,
            "        {}: ${{{{ inputs.{} }}}}",
            i.env_name(),
            expr_key(i.name)
        );
    }
    let _ = writeln!(y, "      run: bitvault {}", spec.name);
    y
}

/// An input or output name as a property in an expression. Names with a
/// hyphen are fine in `inputs.list-files`; anything else needs `['...']`.
fn expr_key(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        format!("['{name}']")
    }
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
