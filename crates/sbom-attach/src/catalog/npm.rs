//! npm packages: the `package.json` at the root of each installed package,
//! `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`, at
//! any depth. Lock files are not read: they say what would be installed, not what is.

use serde_json::Value;

use super::{Cataloger, Location, Package, Select, purl};
use crate::fs::Fs;

pub struct Npm;

fn is_package_root(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let Some((parent, name)) = dir.rsplit_once('/') else {
        return false;
    };
    if parent.ends_with("/node_modules") {
        return !name.starts_with('@') && !name.starts_with('.');
    }
    match parent.rsplit_once('/') {
        Some((grand, scope)) => grand.ends_with("/node_modules") && scope.starts_with('@'),
        None => false,
    }
}

impl Cataloger for Npm {
    fn name(&self) -> &'static str {
        "npm"
    }

    fn select(&self, path: &str, _head: &[u8]) -> Select {
        if is_package_root(path) {
            Select::Keep
        } else {
            Select::Skip
        }
    }

    fn catalog(&self, fs: &Fs) -> Vec<Package> {
        let mut out = Vec::new();
        for (path, file) in fs.matching(is_package_root) {
            let Ok(doc) = serde_json::from_slice::<Value>(&file.data) else {
                continue;
            };
            let (Some(name), Some(version)) = (doc["name"].as_str(), doc["version"].as_str())
            else {
                continue;
            };
            let (ns, short) = match name.split_once('/') {
                Some((scope, n)) if scope.starts_with('@') => (Some(scope), n),
                _ => (None, name),
            };
            let mut p = Package::new(
                "npm",
                "npm",
                name,
                version,
                purl("npm", ns, short, version, &[]),
                Location {
                    path: path.to_owned(),
                    layer: Some(file.layer.clone()),
                },
            );
            p.licenses = licenses(&doc);
            p.supplier = match &doc["author"] {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            };
            p.homepage = doc["homepage"]
                .as_str()
                .filter(|h| h.starts_with("http"))
                .map(str::to_owned);
            out.push(p);
        }
        out
    }
}

fn licenses(doc: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    if let Some(l) = one(&doc["license"]) {
        return vec![l];
    }
    doc["licenses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(one)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_roots() {
        assert!(is_package_root("/app/node_modules/express/package.json"));
        assert!(is_package_root(
            "/app/node_modules/@types/node/package.json"
        ));
        assert!(is_package_root(
            "/app/node_modules/a/node_modules/b/package.json"
        ));
        assert!(!is_package_root("/app/node_modules/a/lib/package.json"));
        assert!(!is_package_root("/app/package.json"));
        assert!(!is_package_root("/app/node_modules/@types/package.json"));
    }
}
