//! Every status the emulator answers for an operation must be one the published Swagger spec
//! lists for it, or one of the documented exceptions below, where the API contract decided
//! otherwise on evidence.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_norway::Value;

use crate::Seen;

/// Statuses answered outside the spec, with the contract's reason.
/// (method or `*`, spec path or `*`, status, why)
const EXCEPTIONS: &[(&str, &str, u16, &str)] = &[
    (
        "*",
        "*",
        401,
        "the front proxy answers 401 for a missing, malformed or expired token (contract 1)",
    ),
    (
        "*",
        "*",
        403,
        "the front proxy or the service answers 403 without permission (contract 1, 2, 3)",
    ),
    (
        "*",
        "/acls/{rid}",
        404,
        "a rid with a single-encoded / is not routed (contract 3.4)",
    ),
    (
        "GET",
        "/users/{uid}",
        400,
        "unknown user is 400 ERR_UNKNOWN_USER_ID, not 404 (contract 3.2)",
    ),
    (
        "PUT",
        "/users/{uid}",
        400,
        "bad uid, password or key is 400 (contract 3.2)",
    ),
    (
        "PATCH",
        "/users/{uid}",
        400,
        "bad or missing data is 400, password on a service account too (research 2.4)",
    ),
    (
        "DELETE",
        "/users/{uid}",
        400,
        "unknown user, or the last superuser, is 400 (contract 3.2)",
    ),
    (
        "GET",
        "/users/{uid}/permissions",
        400,
        "unknown user is 400 (contract 3.2)",
    ),
    (
        "GET",
        "/users/{uid}/groups",
        400,
        "unknown user is 400 (contract 3.2)",
    ),
    (
        "*",
        "/groups/{gid}",
        400,
        "unknown or invalid gid is 400, superusers cannot go (contract 3.3)",
    ),
    (
        "PUT",
        "/groups/{gid}/users/{uid}",
        400,
        "unknown group or user is 400 (contract 3.3)",
    ),
    (
        "DELETE",
        "/groups/{gid}/users/{uid}",
        400,
        "not a member is 400 ERR_USER_NOT_IN_GROUP (research 2.5)",
    ),
    (
        "GET",
        "/groups/{gid}/users",
        400,
        "unknown group is 400 (contract 3.3)",
    ),
    (
        "GET",
        "/groups/{gid}/permissions",
        400,
        "unknown group is 400 (contract 3.3)",
    ),
    (
        "*",
        "/acls/{rid}",
        400,
        "unknown or invalid rid is 400 ERR_UNKNOWN_RESOURCE_ID (contract 3.4)",
    ),
    (
        "GET",
        "/acls/{rid}/permissions",
        400,
        "unknown rid is 400 (contract 3.4)",
    ),
    (
        "*",
        "/acls/{rid}/users/{uid}/{action}",
        400,
        "unknown ACL, user or action, or not granted, is 400 (contract 3.4)",
    ),
    (
        "*",
        "/acls/{rid}/groups/{gid}/{action}",
        400,
        "unknown ACL, group or action, or not granted, is 400 (contract 3.4)",
    ),
    (
        "PUT",
        "/acls/{rid}/users/{uid}/{action}",
        409,
        "already granted is 409 ERR_PERMISSION_EXISTS (contract 3.4)",
    ),
    (
        "PUT",
        "/acls/{rid}/groups/{gid}/{action}",
        409,
        "already granted is 409 (contract 3.4)",
    ),
    (
        "POST",
        "/auth/login",
        400,
        "both or neither of password and token, an empty one, or no JSON, is 400 (contract 3.1; \
         dcos-cli.md 1: Bouncer refuses empty strings with 400)",
    ),
    (
        "PUT",
        "/secret/{store}/{path/to/secret}",
        404,
        "an unknown store is 404 (research 1.2)",
    ),
    (
        "GET",
        "/secret/{store}/{path/to/secret}",
        400,
        "a binary secret asked for as JSON is 400 (contract 2 decision)",
    ),
    (
        "PATCH",
        "/secret/{store}/{path/to/secret}",
        400,
        "bad content type, value or size is 400 (contract 2)",
    ),
    (
        "*",
        "/secret/{store}/{path/to/secret}",
        400,
        "a path outside the contract's rule is 400 (contract 2 decision)",
    ),
];

struct Spec {
    base: String,
    /// (method, path template) -> statuses listed.
    ops: BTreeMap<(String, String), BTreeSet<u16>>,
}

fn load(dir: &std::path::Path, file: &str) -> Spec {
    let text = std::fs::read_to_string(dir.join("openapi").join(file)).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    let base = doc["basePath"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned();
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        let path = path.as_str().unwrap().to_owned();
        for (method, op) in item.as_mapping().unwrap() {
            let Some(method) = method.as_str() else {
                continue;
            };
            let Some(responses) = op.get("responses").and_then(Value::as_mapping) else {
                continue;
            };
            let statuses = responses
                .keys()
                .filter_map(|k| match k {
                    Value::Number(n) => n.as_u64().map(|n| n as u16),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .collect();
            ops.insert((method.to_ascii_uppercase(), path.clone()), statuses);
        }
    }
    Spec { base, ops }
}

fn matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (i, seg) in t.iter().enumerate() {
        if *seg == "{path" {
            // `{path/to/secret}` takes the rest.
            return p.len() >= i;
        }
        let Some(actual) = p.get(i) else { return false };
        if !(seg.starts_with('{') || seg == actual) {
            return false;
        }
    }
    t.len() == p.len()
}

fn excepted(method: &str, template: &str, status: u16) -> bool {
    EXCEPTIONS.iter().any(|(m, t, s, _why)| {
        (*m == "*" || *m == method) && (*t == "*" || *t == template) && *s == status
    })
}

#[tokio::test]
async fn every_answered_status_is_in_the_spec_or_documented() {
    let Some(dir) = std::env::var_os("DCOS_REFERENCE_DIR").map(PathBuf::from) else {
        eprintln!(
            "skipped: set DCOS_REFERENCE_DIR to the reference folder to check the Swagger specs"
        );
        return;
    };
    let specs = [load(&dir, "secrets.yaml"), load(&dir, "ent-iam.yaml")];
    let mut seen: Vec<Seen> = Vec::new();
    for caller in [
        crate::secrets::scenario().await,
        crate::iam::scenario().await,
    ] {
        seen.extend(caller.log.lock().unwrap().drain(..));
    }
    let mut covered = BTreeSet::new();
    let mut problems = Vec::new();
    for (method, full, status) in &seen {
        let path = full.split('?').next().unwrap();
        let Some(spec) = specs.iter().find(|s| path.starts_with(&s.base)) else {
            continue;
        };
        let rel = &path[spec.base.len()..];
        let method = method.as_str();
        let found = spec
            .ops
            .iter()
            .find(|((m, t), _)| m == method && matches(t, rel));
        let Some(((_, template), listed)) = found else {
            problems.push(format!("{method} {path}: no such operation in the spec"));
            continue;
        };
        covered.insert(format!("{method} {}{template}", spec.base));
        if !listed.contains(status) && !excepted(method, template, *status) {
            problems.push(format!(
                "{method} {template} ({path}) answered {status}; the spec lists {listed:?}"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    eprintln!(
        "{} operations checked against the spec:\n{}",
        covered.len(),
        covered.into_iter().collect::<Vec<_>>().join("\n")
    );
}
