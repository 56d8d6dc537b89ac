//! GitHub's published OpenAPI description: finding the operation for a request and
//! checking values against its schemas.
//!
//! The description is OpenAPI 3.0.3. This is a focused validator for the subset it uses:
//! `$ref` into the document, `type`, `nullable`, `enum`, `properties`, `required`,
//! `additionalProperties`, `items`, `allOf`, `anyOf` and `oneOf`. `format`, lengths and
//! numeric ranges are not checked. `oneOf` is checked as "at least one matches",
//! because GitHub's description has overlapping alternatives (a `simple-user` is also an
//! `empty-object`), so "exactly one" would reject GitHub's own responses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

/// Environment variable naming the description file, overriding the npm location.
pub const OPENAPI_ENV: &str = "BITVAULT_GITHUB_OPENAPI";

/// The npm command that installs the pinned description.
pub const NPM_COMMAND: &str = "npm ci --prefix crates/doubles/github-double/openapi";

/// Path parameters that may span several path segments (`contents/{path}`,
/// `git/refs/{ref}` with `heads/main`, `compare/{basehead}` with slashes in branch names).
const MULTI_SEGMENT_PARAMS: &[&str] = &["path", "ref", "basehead"];

/// A loaded description with its path templates compiled for matching.
pub struct Spec {
    doc: Value,
    routes: Vec<Route>,
}

struct Route {
    template: String,
    segments: Vec<Segment>,
}

enum Segment {
    Literal(String),
    Param(String),
}

/// The operation a request was matched to.
#[derive(Clone, Debug)]
pub struct Matched {
    /// The path template, e.g. `/repos/{owner}/{repo}/git/refs/{ref}`.
    pub template: String,
    /// The upper-case method.
    pub method: String,
    /// The operation's `operationId`, e.g. `git/update-ref`.
    pub operation_id: String,
    /// Path parameters, percent-decoded.
    pub params: BTreeMap<String, String>,
}

/// Where the description is read from: `BITVAULT_GITHUB_OPENAPI`, or the npm package
/// installed under this crate's `openapi/` directory.
pub fn description_path() -> PathBuf {
    if let Some(p) = std::env::var_os(OPENAPI_ENV) {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("openapi/node_modules/@octokit/openapi/generated/api.github.com.json")
}

static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();

impl Spec {
    /// The process-wide description, read once (it is 13 MB).
    pub fn shared() -> Result<&'static Spec, String> {
        SPEC.get_or_init(|| {
            let path = description_path();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "cannot read GitHub's OpenAPI description at {}: {e}; install it with \
                     `{NPM_COMMAND}` from the workspace root, or set {OPENAPI_ENV}",
                    path.display()
                )
            })?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            Ok(Spec::new(doc))
        })
        .as_ref()
        .map_err(Clone::clone)
    }

    /// Compiles the path templates of `doc`.
    pub fn new(doc: Value) -> Spec {
        let routes = doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .keys()
                    .map(|t| Route {
                        template: t.clone(),
                        segments: t
                            .trim_start_matches('/')
                            .split('/')
                            .map(|s| {
                                if s.starts_with('{') && s.ends_with('}') {
                                    Segment::Param(s[1..s.len() - 1].to_string())
                                } else {
                                    Segment::Literal(s.to_string())
                                }
                            })
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Spec { doc, routes }
    }

    /// The operation for `method` on the (still percent-encoded) `path`, if the
    /// description has one. Literal segments win over parameters; a multi-segment
    /// trailing parameter is only used when nothing matches segment by segment.
    pub fn find(&self, method: &str, path: &str) -> Option<Matched> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method_lc = method.to_ascii_lowercase();
        let mut best: Option<(bool, usize, &Route, BTreeMap<String, String>)> = None;
        for route in &self.routes {
            let Some(op) = self.doc["paths"][&route.template].get(&method_lc) else {
                continue;
            };
            if !op.is_object() {
                continue;
            }
            let Some((greedy, literals, params)) = route.matches(&parts) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((bg, bl, _, _)) => (!greedy, literals) > (!*bg, *bl),
            };
            if better {
                best = Some((greedy, literals, route, params));
            }
        }
        let (_, _, route, params) = best?;
        let op = &self.doc["paths"][&route.template][&method_lc];
        Some(Matched {
            template: route.template.clone(),
            method: method.to_ascii_uppercase(),
            operation_id: op["operationId"].as_str().unwrap_or_default().to_string(),
            params,
        })
    }

    /// The operation object for a match.
    pub fn operation(&self, m: &Matched) -> &Value {
        &self.doc["paths"][&m.template][m.method.to_ascii_lowercase()]
    }

    /// Follows `$ref`s (only local `#/...` pointers occur in the description).
    pub fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            match r.strip_prefix('#').and_then(|p| self.doc.pointer(p)) {
                Some(target) => v = target,
                None => return &Value::Null,
            }
        }
        v
    }

    /// The resolved parameters of an operation (path-item level and operation level).
    pub fn parameters(&self, m: &Matched) -> Vec<&Value> {
        let item = &self.doc["paths"][&m.template];
        let op = self.operation(m);
        let mut out: Vec<&Value> = Vec::new();
        for list in [&item["parameters"], &op["parameters"]] {
            for p in list.as_array().into_iter().flatten() {
                out.push(self.resolve(p));
            }
        }
        out
    }

    /// Checks a request's query and path parameters and JSON body; returns the problems.
    pub fn check_request(
        &self,
        m: &Matched,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Vec<String> {
        let mut errors = Vec::new();
        let params = self.parameters(m);
        for (name, value) in query {
            match params
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                None => errors.push(format!("unknown query parameter `{name}`")),
                Some(p) => {
                    if let Err(e) = self.check_param(&p["schema"], value) {
                        errors.push(format!("query parameter `{name}`: {e}"));
                    }
                }
            }
        }
        for p in &params {
            let name = p["name"].as_str().unwrap_or_default();
            match p["in"].as_str() {
                Some("query") if p["required"] == true && !query.iter().any(|(n, _)| n == name) => {
                    errors.push(format!("missing required query parameter `{name}`"));
                }
                Some("path") => {
                    if let Some(v) = m.params.get(name)
                        && let Err(e) = self.check_param(&p["schema"], v)
                    {
                        errors.push(format!("path parameter `{name}`: {e}"));
                    }
                }
                _ => {}
            }
        }
        let op = self.operation(m);
        let request_body = self.resolve(&op["requestBody"]);
        match (request_body.is_object(), body) {
            (false, Some(_)) => errors.push("the operation takes no request body".into()),
            (true, None) if request_body["required"] == true => {
                errors.push("missing required JSON request body".into())
            }
            (true, Some(body)) => {
                let content = &request_body["content"];
                let schema = content["application/json"]
                    .get("schema")
                    .or_else(|| {
                        content
                            .as_object()
                            .and_then(|c| c.values().next())
                            .and_then(|c| c.get("schema"))
                    })
                    .unwrap_or(&Value::Null);
                self.validate(schema, body, "body", true, &mut errors);
            }
            _ => {}
        }
        errors
    }

    fn check_param(&self, schema: &Value, value: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        let parsed = match schema["type"].as_str() {
            Some("integer") => value
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("`{value}` is not an integer"))?,
            Some("number") => value
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| format!("`{value}` is not a number"))?,
            Some("boolean") => match value {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(format!("`{value}` is not a boolean")),
            },
            Some("array") => return Ok(()),
            _ => Value::String(value.to_string()),
        };
        let mut errors = Vec::new();
        self.validate(schema, &parsed, "", false, &mut errors);
        match errors.is_empty() {
            true => Ok(()),
            false => Err(errors.join("; ")),
        }
    }

    /// The schema of the `status` response, `None` if the operation does not declare the
    /// status; `Some(Null)` for a declared response without a JSON body.
    pub fn response_schema(&self, m: &Matched, status: u16) -> Option<&Value> {
        let responses = &self.operation(m)["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))?;
        let response = self.resolve(response);
        let content = &response["content"];
        Some(
            content["application/json"]
                .get("schema")
                .or_else(|| {
                    content
                        .as_object()
                        .and_then(|c| c.values().next())
                        .and_then(|c| c.get("schema"))
                })
                .unwrap_or(&Value::Null),
        )
    }

    /// Validates `value` against `schema`, appending problems found at `at`. With `strict`,
    /// properties a schema does not list are errors (used for request bodies, where an
    /// unknown field is a client typo that GitHub would silently ignore).
    pub fn validate(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        strict: bool,
        errors: &mut Vec<String>,
    ) {
        let schema = self.resolve(schema);
        let Some(obj) = schema.as_object() else {
            return;
        };
        if value.is_null() && (schema["nullable"] == true || schema["type"] == "null") {
            return;
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            for s in all {
                // Parts of an allOf describe part of the object each.
                self.validate(s, value, at, false, errors);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = obj.get(key).and_then(Value::as_array) {
                let mut first_errors = None;
                let ok = alts.iter().any(|s| {
                    let mut e = Vec::new();
                    self.validate(s, value, at, strict, &mut e);
                    if first_errors.is_none() {
                        first_errors = Some(e.clone());
                    }
                    e.is_empty()
                });
                if !ok {
                    errors.push(format!(
                        "{at}: matches none of the {key} alternatives (first: {})",
                        first_errors.unwrap_or_default().join("; ")
                    ));
                }
            }
        }
        if let Some(t) = obj.get("type").and_then(Value::as_str) {
            let ok = match t {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                "null" => value.is_null(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: expected {t}, got {}", kind(value)));
                return;
            }
        } else if value.is_null()
            && !obj.contains_key("anyOf")
            && !obj.contains_key("oneOf")
            && !obj.contains_key("allOf")
            && !obj.is_empty()
            && (obj.contains_key("properties") || obj.contains_key("enum"))
        {
            errors.push(format!("{at}: null is not allowed"));
            return;
        }
        if let Some(values) = obj.get("enum").and_then(Value::as_array)
            && !values.contains(value)
        {
            errors.push(format!(
                "{at}: {value} is not one of {}",
                Value::from(values.clone())
            ));
        }
        if let Some(o) = value.as_object() {
            let props = obj.get("properties").and_then(Value::as_object);
            for r in obj
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = r.as_str()
                    && !o.contains_key(r)
                {
                    errors.push(format!("{at}: missing required property `{r}`"));
                }
            }
            for (k, v) in o {
                let child = format!("{at}.{k}");
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.validate(s, v, &child, strict, errors),
                    None => match obj.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{at}: unknown property `{k}`"))
                        }
                        Some(s @ Value::Object(_)) => self.validate(s, v, &child, strict, errors),
                        _ if strict && props.is_some() && !obj.contains_key("allOf") => {
                            errors.push(format!("{at}: unknown property `{k}`"))
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Some(a), Some(items)) = (value.as_array(), obj.get("items")) {
            for (i, v) in a.iter().enumerate() {
                self.validate(items, v, &format!("{at}[{i}]"), strict, errors);
            }
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Route {
    /// Whether the route matches; returns (used a multi-segment parameter, literal count,
    /// parameters).
    fn matches(&self, parts: &[&str]) -> Option<(bool, usize, BTreeMap<String, String>)> {
        let mut params = BTreeMap::new();
        let mut literals = 0;
        let n = self.segments.len();
        if parts.len() < n {
            return None;
        }
        let mut greedy = false;
        for (i, seg) in self.segments.iter().enumerate() {
            match seg {
                Segment::Literal(l) => {
                    if parts[i] != l {
                        return None;
                    }
                    literals += 1;
                }
                Segment::Param(name) => {
                    let value = if i == n - 1 && parts.len() > n {
                        if !MULTI_SEGMENT_PARAMS.contains(&name.as_str()) {
                            return None;
                        }
                        greedy = true;
                        parts[i..].join("/")
                    } else {
                        parts[i].to_string()
                    };
                    if value.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(&value));
                }
            }
        }
        if parts.len() > n && !greedy {
            return None;
        }
        Some((greedy, literals, params))
    }
}

/// Percent-decodes a URL component (`+` is left alone; see [`decode_query`]).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && b[i + 1].is_ascii_hexdigit()
            && b[i + 2].is_ascii_hexdigit()
        {
            let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits and decodes an `application/x-www-form-urlencoded` query string.
pub fn decode_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(
            decode_query("head=o%3Ab&state=open&x=a+b"),
            vec![
                ("head".into(), "o:b".into()),
                ("state".into(), "open".into()),
                ("x".into(), "a b".into())
            ]
        );
    }
}
