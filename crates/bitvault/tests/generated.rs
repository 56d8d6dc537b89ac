//! The single-declaration test: each action's inputs and outputs are
//! declared once (its crate's `SPEC`); the CLI flags, `actions/<name>/action.yml`
//! and the README tables must agree with that declaration.
//!
//! `BITVAULT_BLESS=1 cargo test -p bitvault --test generated` rewrites the
//! committed files from the declarations.

use std::path::{Path, PathBuf};

use bitvault::generate::{Layout, action_yml, main_js, update_readme};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bless() -> bool {
    std::env::var_os("BITVAULT_BLESS").is_some()
}

#[test]
fn action_yml_files_match_the_declarations() {
    let mut stale = Vec::new();
    for action in bitvault::actions() {
        let dir = root().join("actions").join(action.spec.name);
        for (path, want) in [
            (dir.join("action.yml"), action_yml(action.spec)),
            (dir.join("main.js"), main_js(action.spec, Layout::Monorepo)),
        ] {
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            if have != want {
                if bless() {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, &want).unwrap();
                } else {
                    stale.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "these files differ from the actions' declarations: {stale:?}\nrun `BITVAULT_BLESS=1 cargo test -p bitvault --test generated`"
    );
}

#[test]
fn every_action_directory_has_a_subcommand() {
    let actions = bitvault::actions();
    for entry in std::fs::read_dir(root().join("actions")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let action = actions
            .iter()
            .find(|a| a.spec.name == name)
            .unwrap_or_else(|| panic!("actions/{name} has no `bitvault {name}` subcommand"));
        assert!(
            root().join("crates").join(action.spec.name).is_dir(),
            "actions/{name} has no crates/{name}"
        );
    }
    for a in &actions {
        assert!(
            root().join("actions").join(a.spec.name).is_dir() || bless(),
            "`bitvault {}` has no actions/{}",
            a.spec.name,
            a.spec.name
        );
    }
}

#[test]
fn readme_tables_match_the_declarations() {
    let path = root().join("README.md");
    let have = std::fs::read_to_string(&path).expect("README.md");
    let specs: Vec<_> = bitvault::actions().iter().map(|a| a.spec).collect();
    let want = update_readme(&have, &specs).unwrap_or_else(|e| panic!("{e}"));
    if have != want {
        if bless() {
            std::fs::write(&path, want).unwrap();
        } else {
            panic!(
                "README.md tables differ from the declarations: run `BITVAULT_BLESS=1 cargo test -p bitvault --test generated`"
            );
        }
    }
}

#[test]
fn cli_flags_are_exactly_the_inputs() {
    let cmd = bitvault::cli::command();
    for action in bitvault::actions() {
        let sub = cmd
            .find_subcommand(action.spec.name)
            .unwrap_or_else(|| panic!("no subcommand {}", action.spec.name));
        let mut flags: Vec<String> = sub
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .filter(|l| l != "help")
            .collect();
        let mut inputs: Vec<String> = action
            .spec
            .inputs
            .iter()
            .map(|i| i.name.to_string())
            .collect();
        flags.sort();
        inputs.sort();
        assert_eq!(flags, inputs, "flags of `bitvault {}`", action.spec.name);
    }
}

#[test]
fn action_yml_declares_every_input_and_output() {
    // Read the generated YAML back as data, independently of the generator. A
    // JavaScript action: the runner itself maps each input to `INPUT_<NAME>` and
    // passes on every output the step writes.
    for action in bitvault::actions() {
        let text = action_yml(action.spec);
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        let inputs = doc["inputs"].as_mapping().unwrap();
        assert_eq!(inputs.len(), action.spec.inputs.len());
        for i in action.spec.inputs {
            assert_eq!(inputs[i.name]["required"].as_bool(), Some(i.required));
        }
        for o in action.spec.outputs {
            assert!(
                doc["outputs"][o.name]["description"].as_str().is_some(),
                "{}: output {} not declared",
                action.spec.name,
                o.name
            );
        }
        assert_eq!(doc["runs"]["using"].as_str(), Some("node24"));
        assert_eq!(doc["runs"]["main"].as_str(), Some("main.js"));
        for layout in [Layout::Monorepo, Layout::Standalone] {
            let js = main_js(action.spec, layout);
            assert!(
                js.contains(&format!(".run(\"{}\"", action.spec.name)),
                "{js}"
            );
        }
    }
}

#[test]
fn every_declaration_is_consistent() {
    // Names unique, each default a value of its input's kind.
    for action in bitvault::actions() {
        action.spec.check().unwrap_or_else(|e| panic!("{e}"));
    }
}
