//! `/secrets/v1`: the Secrets service.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::{Shared, authenticate};
use crate::respond::{self, empty, media_type, secrets_json};
use crate::state::Secret;

/// The largest value stored, in bytes.
pub const MAX_VALUE_BYTES: usize = 1_048_576;
/// The longest path, in bytes.
pub const MAX_PATH_BYTES: usize = 255;
const STORE: &str = "default";

/// A 200 JSON answer of the Secrets service.
fn json_ok<T: serde::Serialize>(value: &T) -> Response {
    secrets_json(respond::json_ok(value))
}

/// The routes of the Secrets service.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/secrets/v1/ping", get(ping))
        .route("/secrets/v1/store", get(stores))
        .route("/secrets/v1/seal-status/{store}", get(seal_status))
        .route("/secrets/v1/secret/{store}", get(root))
        .route("/secrets/v1/secret/{store}/", get(root))
        .route(
            "/secrets/v1/secret/{store}/{*path}",
            get(read).put(create).patch(update).delete(delete),
        )
}

fn error(status: StatusCode, description: &str) -> Response {
    secrets_json(respond::json_error(status, None, description))
}

fn check_store(store: &str) -> Result<(), Response> {
    if store == STORE {
        Ok(())
    } else {
        Err(error(
            StatusCode::NOT_FOUND,
            &format!("Store {store} not found"),
        ))
    }
}

/// The contract's path rule; one leading `/` is accepted.
fn check_path(path: &str) -> Result<String, Response> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let valid = !path.is_empty()
        && path.len() <= MAX_PATH_BYTES
        && path.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    if valid {
        Ok(path.to_owned())
    } else {
        Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid secret path {path}"),
        ))
    }
}

fn wants_list(query: &HashMap<String, String>) -> bool {
    query.get("list").is_some_and(|v| v == "true")
}

async fn ping(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authenticate(&app, &headers) {
        return r;
    }
    ([(header::CONTENT_TYPE, "text/plain")], "pong").into_response()
}

async fn stores(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    let uid = match authenticate(&app, &headers) {
        Ok(uid) => uid,
        Err(r) => return r,
    };
    if !app.read().is_superuser(&uid) {
        return error(StatusCode::FORBIDDEN, "Forbidden");
    }
    json_ok(&serde_json::json!({"array": [{
        "name": STORE,
        "driver": "vault",
        "description": "DC/OS Default Secret Store Backend",
        "initialized": true,
        "sealed": false,
    }]}))
}

async fn seal_status(
    AxState(app): AxState<Shared>,
    Path(store): Path<String>,
    headers: HeaderMap,
) -> Response {
    let uid = match authenticate(&app, &headers) {
        Ok(uid) => uid,
        Err(r) => return r,
    };
    if !app.read().is_superuser(&uid) {
        return error(StatusCode::FORBIDDEN, "Forbidden");
    }
    if let Err(r) = check_store(&store) {
        return r;
    }
    json_ok(&serde_json::json!({"sealed": false, "threshold": 1, "shares": 1, "progress": 0}))
}

/// `GET /secret/{store}/` and `/secret/{store}`: only listing makes sense at the root.
async fn root(
    AxState(app): AxState<Shared>,
    Path(store): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let uid = match authenticate(&app, &headers) {
        Ok(uid) => uid,
        Err(r) => return r,
    };
    if let Err(r) = check_store(&store) {
        return r;
    }
    if !wants_list(&query) {
        return error(StatusCode::NOT_FOUND, "Secret not found");
    }
    list(&app, &uid, "")
}

fn list(app: &Shared, uid: &str, path: &str) -> Response {
    let state = app.read();
    if !state.may_list(uid, path) {
        return error(StatusCode::FORBIDDEN, "Forbidden");
    }
    json_ok(&serde_json::json!({ "array": state.list(path) }))
}

/// Authenticates, checks store and path, and checks `action` on the secret.
fn prepare(
    app: &Shared,
    headers: &HeaderMap,
    store: &str,
    path: &str,
    action: &str,
) -> Result<String, Response> {
    let uid = authenticate(app, headers)?;
    check_store(store)?;
    let path = check_path(path)?;
    if !app.read().may_secret(&uid, &path, action) {
        return Err(error(StatusCode::FORBIDDEN, "Forbidden"));
    }
    Ok(path)
}

async fn read(
    AxState(app): AxState<Shared>,
    Path((store, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if wants_list(&query) {
        let uid = match authenticate(&app, &headers) {
            Ok(uid) => uid,
            Err(r) => return r,
        };
        if let Err(r) = check_store(&store) {
            return r;
        }
        let path = path.strip_prefix('/').unwrap_or(&path);
        let path = path.strip_suffix('/').unwrap_or(path);
        return list(&app, &uid, path);
    }
    let path = match prepare(&app, &headers, &store, &path, "read") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(secret) = app.read().secrets.get(&path).cloned() else {
        return error(StatusCode::NOT_FOUND, &format!("Secret {path} not found"));
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*")
        .to_ascii_lowercase();
    let any = accept.contains("*/*");
    let json = accept.contains("application/json");
    let octet = accept.contains("application/octet-stream");
    match secret {
        Secret::Text(text) if any || json => json_ok(&serde_json::json!({ "value": text })),
        Secret::Text(text) if octet => raw(text.into_bytes()),
        Secret::Binary(bytes) if any || octet => raw(bytes),
        _ => error(StatusCode::BAD_REQUEST, "Unsupported Accept header"),
    }
}

fn raw(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// The request body of a text secret. Fields other than `value` are the Swagger `Secret`
/// schema's and are accepted and ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TextBody {
    value: String,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: Option<Vec<String>>,
}

/// The value in a create or update request, by its `Content-Type`.
fn parse_value(headers: &HeaderMap, body: &Bytes) -> Result<Secret, Response> {
    let secret = match media_type(headers, header::CONTENT_TYPE).as_deref() {
        None | Some("application/json") => {
            let parsed: TextBody = serde_json::from_slice(body).map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    "Request body must be a JSON object with a string `value`",
                )
            })?;
            Secret::Text(parsed.value)
        }
        Some("application/octet-stream") => Secret::Binary(body.to_vec()),
        Some(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Unsupported Content-Type header",
            ));
        }
    };
    let size = secret.bytes().len();
    if size > MAX_VALUE_BYTES {
        return Err(error(
            StatusCode::BAD_REQUEST,
            &format!("Secret value is {size} bytes; the limit is {MAX_VALUE_BYTES} bytes"),
        ));
    }
    Ok(secret)
}

async fn create(
    AxState(app): AxState<Shared>,
    Path((store, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = match prepare(&app, &headers, &store, &path, "create") {
        Ok(p) => p,
        Err(r) => return r,
    };
    let secret = match parse_value(&headers, &body) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut state = app.write();
    if state.secrets.contains_key(&path) {
        return error(
            StatusCode::CONFLICT,
            &format!("Secret {path} already exists"),
        );
    }
    state.secrets.insert(path, secret);
    empty(StatusCode::CREATED)
}

async fn update(
    AxState(app): AxState<Shared>,
    Path((store, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = match prepare(&app, &headers, &store, &path, "update") {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !app.read().secrets.contains_key(&path) {
        return error(StatusCode::NOT_FOUND, &format!("Secret {path} not found"));
    }
    let secret = match parse_value(&headers, &body) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut state = app.write();
    match state.secrets.get_mut(&path) {
        Some(slot) => {
            *slot = secret;
            empty(StatusCode::NO_CONTENT)
        }
        None => error(StatusCode::NOT_FOUND, &format!("Secret {path} not found")),
    }
}

async fn delete(
    AxState(app): AxState<Shared>,
    Path((store, path)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let path = match prepare(&app, &headers, &store, &path, "delete") {
        Ok(p) => p,
        Err(r) => return r,
    };
    match app.write().secrets.remove(&path) {
        Some(_) => empty(StatusCode::NO_CONTENT),
        None => error(StatusCode::NOT_FOUND, &format!("Secret {path} not found")),
    }
}
