//! `/service/marathon/v2`: enough of Marathon for tools to learn which apps use which secrets,
//! and to restart an app and wait for its deployment.
//!
//! Apps are arbitrary app JSON, kept as given with a `version` added. The emulator reads `id`,
//! `instances`, `env` (strings, and `{"secret": NAME}`) and `secrets` (`{NAME: {"source":
//! PATH}}`): a secret outside the app's space is refused with 422, as Marathon does. Each
//! create, replace and restart starts a deployment, which launches the app's tasks after the
//! deploy delay (`--deploy-ms`) and then disappears; each task resolves its secrets at launch,
//! and a missing one fails the launch (the deployment stays, `lastTaskFailure` says why). A
//! token is required: a superuser, or `dcos:adminrouter:service:marathon full`.

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
            get(read).put(replace).delete(remove).post(restart),
        )
        .route("/service/marathon/v2/deployments", get(deployments))
        .route(
            "/service/marathon/v2/deployments/{id}",
            axum::routing::delete(cancel),
        )
}

/// The default delay between a deployment's start and its tasks' launch.
pub const DEFAULT_DEPLOY_MS: u64 = 100;

/// A running task, with the SHA-256 of each environment variable's value at its launch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Task {
    #[serde(rename = "appId")]
    pub app_id: String,
    #[serde(rename = "taskId")]
    pub task_id: String,
    #[serde(rename = "startedAt")]
    pub started_at: String,
    pub version: String,
    /// `{VAR: hex SHA-256 of the value the task started with}`.
    pub env_sha256: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Deployment {
    id: String,
    version: String,
    app_id: String,
}

/// What runs: tasks, deployments in progress and the last launch failure of each app. Kept
/// apart from the state (it is not a configuration), and lost with the emulator.
#[derive(Debug)]
pub struct Runtime {
    inner: std::sync::Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    deploy_ms: u64,
    tasks: std::collections::BTreeMap<String, Vec<Task>>,
    deployments: Vec<Deployment>,
    failures: std::collections::BTreeMap<String, Value>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            inner: std::sync::Mutex::new(Inner {
                deploy_ms: DEFAULT_DEPLOY_MS,
                tasks: Default::default(),
                deployments: Vec::new(),
                failures: Default::default(),
            }),
        }
    }
}

impl Runtime {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the delay between a deployment's start and its tasks' launch.
    pub fn set_deploy_ms(&self, ms: u64) {
        self.lock().deploy_ms = ms;
    }

    /// Every running task, by app then launch.
    pub fn tasks(&self) -> Vec<Task> {
        self.lock().tasks.values().flatten().cloned().collect()
    }

    /// Forgets an app's tasks, deployments and failure.
    fn remove_app(&self, id: &str) {
        let mut inner = self.lock();
        inner.tasks.remove(id);
        inner.failures.remove(id);
        inner.deployments.retain(|d| d.app_id != id);
    }
}

/// Starts a deployment of app `id` at `version`: after the deploy delay its tasks are launched
/// with the secrets of that moment, unless the deployment was cancelled meanwhile.
fn deploy(app: &Shared, id: &str, version: &str) -> String {
    let deployment_id = crate::new_uuid();
    let delay = {
        let mut inner = app.marathon.lock();
        inner.deployments.push(Deployment {
            id: deployment_id.clone(),
            version: version.to_owned(),
            app_id: id.to_owned(),
        });
        inner.deploy_ms
    };
    let shared = app.clone();
    let deployment = deployment_id.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        launch(&shared, &id, &deployment);
    });
    deployment_id
}

/// Launches the tasks of a deployment, or records why it cannot.
fn launch(app: &Shared, id: &str, deployment_id: &str) {
    let launched = {
        let state = app.read();
        let Some(app_json) = state.apps.get(id) else {
            return;
        };
        let version = app_json["version"].as_str().unwrap_or_default().to_owned();
        resolve_env(app_json, &state.secrets).map(|env| (env, version, app_json.clone()))
    };
    let mut inner = app.marathon.lock();
    let Some(index) = inner.deployments.iter().position(|d| d.id == deployment_id) else {
        // Cancelled, or its app removed.
        return;
    };
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    match launched {
        Ok((env, version, app_json)) => {
            let instances = app_json["instances"].as_u64().unwrap_or(1);
            let tasks = (0..instances)
                .map(|_| Task {
                    app_id: id.to_owned(),
                    task_id: format!(
                        "{}.{}",
                        id.trim_start_matches('/').replace('/', "_"),
                        crate::new_uuid()
                    ),
                    started_at: now.clone(),
                    version: version.clone(),
                    env_sha256: env.clone(),
                })
                .collect();
            inner.tasks.insert(id.to_owned(), tasks);
            inner.failures.remove(id);
            inner.deployments.remove(index);
        }
        Err(why) => {
            let version = inner.deployments[index].version.clone();
            inner.failures.insert(
                id.to_owned(),
                json!({
                    "appId": id,
                    "message": why,
                    "state": "TASK_FAILED",
                    "timestamp": now,
                    "version": version,
                }),
            );
        }
    }
}

/// The SHA-256 of each environment variable's value, secrets resolved; or why a secret is
/// missing.
fn resolve_env(
    app: &Value,
    secrets: &std::collections::BTreeMap<String, crate::state::Secret>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| -> String {
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let sources: std::collections::BTreeMap<String, String> =
        secret_sources(app).into_iter().collect();
    let mut env = std::collections::BTreeMap::new();
    let Some(vars) = app.get("env").and_then(Value::as_object) else {
        return Ok(env);
    };
    for (name, value) in vars {
        let bytes = match value {
            Value::String(text) => text.as_bytes().to_vec(),
            Value::Object(o) => {
                let Some(secret) = o.get("secret").and_then(Value::as_str) else {
                    continue;
                };
                let Some(path) = sources.get(secret) else {
                    return Err(format!("Secret reference {secret} is not declared"));
                };
                match secrets.get(path.as_str()) {
                    Some(crate::state::Secret::Text(text)) => text.as_bytes().to_vec(),
                    Some(crate::state::Secret::Binary(bytes)) => bytes.clone(),
                    None => return Err(format!("Secret {path} not found")),
                }
            }
            _ => continue,
        };
        env.insert(name.clone(), hex(&bytes));
    }
    Ok(env)
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

/// A new app version: the time, as Marathon writes it.
fn new_version() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Marathon's answer to a change that started a deployment.
fn deployed(status: StatusCode, version: &str, deployment_id: &str) -> Response {
    answer(
        status,
        &json!({"version": version, "deploymentId": deployment_id}),
    )
}

/// Checks an app given by a client and stores it under `id`. 201 when it is new, 200 when it
/// replaces one; 409 when `create` finds one; 422 when it is not a valid app.
fn store(app: &Shared, id: Option<&str>, body: &[u8], create: bool) -> Response {
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
    let version = new_version();
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
    state.apps.insert(id.clone(), app_json);
    drop(state);
    let deployment_id = deploy(app, &id, &version);
    let status = match existed {
        true => StatusCode::OK,
        false => StatusCode::CREATED,
    };
    deployed(status, &version, &deployment_id)
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
    let Some(mut found) = app.read().apps.get(&id).cloned() else {
        return unknown(&id);
    };
    let inner = app.marathon.lock();
    let tasks: Vec<Value> = inner
        .tasks
        .get(&id)
        .into_iter()
        .flatten()
        .map(|t| json!({"id": t.task_id, "startedAt": t.started_at, "version": t.version}))
        .collect();
    let deployments: Vec<Value> = inner
        .deployments
        .iter()
        .filter(|d| d.app_id == id)
        .map(|d| json!({"id": d.id}))
        .collect();
    found["instances"] = json!(found["instances"].as_u64().unwrap_or(1));
    found["tasksRunning"] = json!(tasks.len());
    found["tasks"] = Value::Array(tasks);
    found["deployments"] = Value::Array(deployments);
    if let Some(failure) = inner.failures.get(&id) {
        found["lastTaskFailure"] = failure.clone();
    }
    answer(StatusCode::OK, &json!({ "app": found }))
}

/// `POST /apps/{id}/restart`: a new version and a deployment that launches new tasks.
async fn restart(
    AxState(app): AxState<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let Some(id) = path.strip_suffix("/restart").map(normalize) else {
        return message(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTP 405 Method Not Allowed",
            None,
        );
    };
    let version = new_version();
    {
        let mut state = app.write();
        let Some(found) = state.apps.get_mut(&id) else {
            return unknown(&id);
        };
        found["version"] = Value::String(version.clone());
    }
    let deployment_id = deploy(&app, &id, &version);
    deployed(StatusCode::OK, &version, &deployment_id)
}

/// `GET /deployments`: those in progress.
async fn deployments(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let list: Vec<Value> = app
        .marathon
        .lock()
        .deployments
        .iter()
        .map(|d| {
            json!({"id": d.id, "version": d.version, "affectedApps": [d.app_id],
                   "currentStep": 1, "totalSteps": 1})
        })
        .collect();
    answer(StatusCode::OK, &Value::Array(list))
}

/// `DELETE /deployments/{id}`: stops a deployment; its tasks are not launched.
async fn cancel(
    AxState(app): AxState<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let mut inner = app.marathon.lock();
    let before = inner.deployments.len();
    inner.deployments.retain(|d| d.id != id);
    if inner.deployments.len() == before {
        return message(
            StatusCode::NOT_FOUND,
            &format!("DeploymentPlan {id} does not exist"),
            None,
        );
    }
    deployed(StatusCode::OK, &new_version(), &crate::new_uuid())
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
    app.marathon.remove_app(&id);
    deployed(StatusCode::OK, &new_version(), &crate::new_uuid())
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
