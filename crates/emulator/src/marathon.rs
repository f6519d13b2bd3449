//! `/service/marathon/v2`: enough of Marathon for tools to learn which apps use which secrets.
//!
//! Apps are arbitrary app JSON, kept as given with a `version` added. The emulator reads `id`
//! and `secrets` (`{NAME: {"source": PATH}}`): a secret outside the app's space is refused
//! with 422, as Marathon does. A token is required: a superuser, or
//! `dcos:adminrouter:service:marathon full`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::{App, Shared, authenticate};
use crate::respond::{forbidden, json_headers};

/// The resource that opens Marathon to a principal.
pub const MARATHON_RID: &str = "dcos:adminrouter:service:marathon";

/// The routes of Marathon, behind the front proxy's prefix.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/service/marathon/v2/apps", get(list).post(create))
        .route(
            "/service/marathon/v2/apps/{*id}",
            get(read).put(replace).delete(remove),
        )
}

/// Marathon's error body: `{"message": ...}`, and `details` for an invalid app.
fn message(status: StatusCode, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({ "message": message });
    if let Some(details) = details {
        body["details"] = details;
    }
    (status, json_headers(), body.to_string()).into_response()
}

fn answer(status: StatusCode, body: &Value) -> Response {
    (status, json_headers(), body.to_string()).into_response()
}

/// The caller, if it may use Marathon; else the 401 or 403 to answer.
fn authorize(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let uid = authenticate(app, headers)?;
    match app.read().may(&uid, MARATHON_RID, "full") {
        true => Ok(uid),
        false => Err(forbidden()),
    }
}

/// An app id as Marathon keeps it: one leading `/`, no trailing one.
fn normalize(id: &str) -> String {
    format!("/{}", id.trim_matches('/'))
}

/// Whether the app `id` may use the secret at `path`: the secret's folder is the app's id or
/// an ancestor of it (app `/a/b` reads `a/b/x`, `a/x` and `x`, not `a/b/c/x` nor `c/x`).
pub fn in_space(id: &str, path: &str) -> bool {
    let path = path.trim_start_matches('/');
    let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
    let id = id.trim_matches('/');
    folder.is_empty() || id == folder || id.starts_with(&format!("{folder}/"))
}

/// The paths of the secrets an app declares.
pub fn secret_sources(app: &Value) -> Vec<(String, String)> {
    app.get("secrets")
        .and_then(Value::as_object)
        .map(|secrets| {
            secrets
                .iter()
                .filter_map(|(name, secret)| {
                    let source = secret.get("source")?.as_str()?;
                    Some((name.clone(), source.trim_start_matches('/').to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A new version and deployment id.
fn deployment() -> (String, String) {
    let version = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    let id: [u8; 16] = rand::random();
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    );
    (version, uuid)
}

/// Checks an app given by a client and stores it under `id`. 201 when it is new, 200 when it
/// replaces one; 409 when `create` finds one; 422 when it is not a valid app.
fn store(app: &App, id: Option<&str>, body: &[u8], create: bool) -> Response {
    let Ok(Value::Object(mut given)) = serde_json::from_slice::<Value>(body) else {
        return message(StatusCode::BAD_REQUEST, "Invalid JSON", None);
    };
    let id = match (id, given.get("id").and_then(Value::as_str)) {
        (Some(id), _) | (None, Some(id)) => normalize(id),
        (None, None) => {
            let details = json!([{"path": "/id", "errors": ["error.path.missing"]}]);
            return message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Object is not valid",
                Some(details),
            );
        }
    };
    given.insert("id".into(), Value::String(id.clone()));
    let mut app_json = Value::Object(given);
    let outside: Vec<Value> = secret_sources(&app_json)
        .into_iter()
        .filter(|(_, path)| !in_space(&id, path))
        .map(|(name, path)| {
            json!({"path": format!("/secrets/{name}"), "errors": [format!("Secret {path} is not accessible")]})
        })
        .collect();
    if !outside.is_empty() {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Object is not valid",
            Some(Value::Array(outside)),
        );
    }
    let (version, deployment_id) = deployment();
    app_json["version"] = Value::String(version.clone());
    let mut state = app.write();
    let existed = state.apps.contains_key(&id);
    if existed && create {
        return message(
            StatusCode::CONFLICT,
            &format!("An app with id [{id}] already exists."),
            None,
        );
    }
    state.apps.insert(id, app_json);
    let status = match existed {
        true => StatusCode::OK,
        false => StatusCode::CREATED,
    };
    answer(
        status,
        &json!({"version": version, "deploymentId": deployment_id}),
    )
}

fn unknown(id: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        &format!("App '{id}' does not exist"),
        None,
    )
}

async fn list(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let apps: Vec<Value> = app.read().apps.values().cloned().collect();
    answer(StatusCode::OK, &json!({ "apps": apps }))
}

async fn create(AxState(app): AxState<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    store(&app, None, &body, true)
}

async fn replace(
    AxState(app): AxState<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    store(&app, Some(&id), &body, false)
}

async fn read(
    AxState(app): AxState<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let id = normalize(&id);
    match app.read().apps.get(&id) {
        Some(found) => answer(StatusCode::OK, &json!({ "app": found })),
        None => unknown(&id),
    }
}

async fn remove(
    AxState(app): AxState<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let id = normalize(&id);
    if app.write().apps.remove(&id).is_none() {
        return unknown(&id);
    }
    let (version, deployment_id) = deployment();
    answer(
        StatusCode::OK,
        &json!({"version": version, "deploymentId": deployment_id}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_space_of_an_app_is_its_id_and_its_ancestors() {
        assert!(in_space(
            "/data-science-engine",
            "data-science-engine/aws_key"
        ));
        assert!(in_space("/data-science-engine", "aws_key"));
        assert!(in_space("/a/b", "/a/b/x"));
        assert!(in_space("/a/b", "a/x"));
        assert!(!in_space("/data-science-engine", "other/aws_key"));
        assert!(!in_space(
            "/data-science-engine",
            "data-science-engine/x/aws_key"
        ));
        assert!(!in_space("/ab", "a/x"));
    }
}
