//! `/service/marathon/v2`: enough of Marathon for tools to learn which apps and pods use which
//! secrets, and to restart them and wait for their deployments.
//!
//! Apps and pods are arbitrary JSON, kept as given with a `version` added. The emulator reads
//! `id`, the instances, `secrets` (`{NAME: {"source": PATH}}`) and the references to them
//! ([`refs`]): a secret outside the app's or pod's space is refused with 422, as Marathon
//! does. Each create, replace and restart starts a deployment, which launches the tasks after
//! the deploy delay (`--deploy-ms`) and then disappears; each task resolves its secrets at
//! launch, and a missing one fails the launch (the deployment stays; an app's
//! `lastTaskFailure`, a pod's status `message` says why). A token is required: a superuser, or
//! `dcos:adminrouter:service:marathon full`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::{App, Shared, authenticate};
use crate::respond::{forbidden, json_headers};

mod meta;
mod pods;
mod refs;
mod runtime;

pub use refs::{Kind, in_space, secret_sources};
use runtime::deploy;
pub use runtime::{DEFAULT_DEPLOY_MS, Runtime, Task};

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
        .route(
            "/service/marathon/v2/pods",
            get(pods::list).post(pods::create),
        )
        .route(
            "/service/marathon/v2/pods/{*id}",
            get(pods::read).put(pods::replace).delete(pods::remove),
        )
        .route("/service/marathon/ping", get(meta::ping))
        .route("/service/marathon/v2/info", get(meta::info))
        .route("/service/marathon/v2/tasks", get(meta::tasks))
        .route("/service/marathon/v2/events", get(meta::events))
        .route("/service/marathon/v2/deployments", get(deployments))
        .route(
            "/service/marathon/v2/deployments/{id}",
            axum::routing::delete(cancel),
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

/// A definition given by a client, with its id (from the path, else its `id`) normalised:
/// refused with 400 when it is no JSON object, and with 422 when it has no id or declares a
/// secret outside its space.
fn checked(id: Option<&str>, body: &[u8]) -> Result<(String, Value), Response> {
    let Ok(Value::Object(mut given)) = serde_json::from_slice::<Value>(body) else {
        return Err(message(StatusCode::BAD_REQUEST, "Invalid JSON", None));
    };
    let id = match (id, given.get("id").and_then(Value::as_str)) {
        (Some(id), _) | (None, Some(id)) => normalize(id),
        (None, None) => {
            let details = json!([{"path": "/id", "errors": ["error.path.missing"]}]);
            return Err(message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Object is not valid",
                Some(details),
            ));
        }
    };
    given.insert("id".into(), Value::String(id.clone()));
    let spec = Value::Object(given);
    let outside: Vec<Value> = secret_sources(&spec)
        .into_iter()
        .filter(|(_, path)| !in_space(&id, path))
        .map(|(name, path)| {
            json!({"path": format!("/secrets/{name}"), "errors": [format!("Secret {path} is not accessible")]})
        })
        .collect();
    if !outside.is_empty() {
        return Err(message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Object is not valid",
            Some(Value::Array(outside)),
        ));
    }
    Ok((id, spec))
}

/// What Marathon fills in for an app that does not say: clients read these back (one took a
/// missing `executor` for a crash).
fn with_defaults(given: Value) -> Value {
    let mut app = json!({
        "instances": 1, "cpus": 1.0, "mem": 128.0, "disk": 0.0, "gpus": 0, "executor": "",
        "constraints": [], "uris": [], "fetch": [], "storeUrls": [], "backoffSeconds": 1,
        "backoffFactor": 1.15, "maxLaunchDelaySeconds": 300, "healthChecks": [],
        "readinessChecks": [], "dependencies": [], "labels": {}, "env": {}, "secrets": {},
        "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 1.0},
        "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
        "killSelection": "YOUNGEST_FIRST", "requirePorts": false,
        "portDefinitions": [{"port": 10000, "protocol": "tcp", "name": "default"}],
        "networks": [{"mode": "host"}],
    });
    if let (Some(fields), Value::Object(given)) = (app.as_object_mut(), given) {
        fields.extend(given);
    }
    app
}

/// Marathon's answer to a change, with the deployment it started in a header too.
fn with_deployment(mut response: Response, deployment_id: &str) -> Response {
    if let Ok(value) = axum::http::HeaderValue::from_str(deployment_id) {
        response
            .headers_mut()
            .insert("Marathon-Deployment-Id", value);
    }
    response
}

/// Checks an app given by a client and stores it under `id`: 201 with the app's definition
/// (Marathon's defaults filled in) when it is new; 200 with the version and deployment when it
/// replaces one, whose fields it does not give it keeps (`partialUpdate`, unless `false`); 409
/// when `create` finds one; 422 when it is not a valid app.
fn store(app: &Shared, id: Option<&str>, body: &[u8], create: bool, partial: bool) -> Response {
    let (id, given) = match checked(id, body) {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    let mut app_json = match (app.read().apps.get(&id), partial && !create) {
        (Some(Value::Object(old)), true) => {
            let mut merged = old.clone();
            merged.extend(given.as_object().cloned().unwrap_or_default());
            Value::Object(merged)
        }
        _ => with_defaults(given),
    };
    // A changed secret must still lie in the app's space.
    if let Err(refused) = checked(Some(&id), app_json.to_string().as_bytes()) {
        return refused;
    }
    let version = new_version();
    app_json["version"] = Value::String(version.clone());
    let mut state = app.write();
    if state.pods.contains_key(&id) {
        let taken = format!("A pod with id [{id}] already exists.");
        return message(StatusCode::CONFLICT, &taken, None);
    }
    let existed = state.apps.contains_key(&id);
    if existed && create {
        return message(
            StatusCode::CONFLICT,
            &format!("An app with id [{id}] already exists."),
            None,
        );
    }
    state.apps.insert(id.clone(), app_json.clone());
    drop(state);
    let deployment_id = deploy(app, Kind::App, &id, &version);
    let response = match existed {
        true => deployed(StatusCode::OK, &version, &deployment_id),
        false => {
            app_json["deployments"] = json!([{ "id": deployment_id }]);
            for count in [
                "tasksStaged",
                "tasksRunning",
                "tasksHealthy",
                "tasksUnhealthy",
            ] {
                app_json[count] = json!(0);
            }
            answer(StatusCode::CREATED, &app_json)
        }
    };
    with_deployment(response, &deployment_id)
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
    store(&app, None, &body, true, false)
}

async fn replace(
    AxState(app): AxState<Shared>,
    Path(id): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let partial = query.get("partialUpdate").is_none_or(|p| p != "false");
    store(&app, Some(&id), &body, false, partial)
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
    // `/apps/{id}/tasks`: the app's tasks (an app's id never ends in `tasks`).
    let (id, tasks_only) = match id.strip_suffix("/tasks") {
        Some(app_id) if !app.read().apps.contains_key(&id) => (app_id.to_owned(), true),
        _ => (id, false),
    };
    let Some(mut found) = app.read().apps.get(&id).cloned() else {
        return unknown(&id);
    };
    let inner = app.marathon.lock();
    let tasks: Vec<Value> = inner
        .tasks
        .get(&id)
        .into_iter()
        .flatten()
        .map(meta::task_json)
        .collect();
    if tasks_only {
        return answer(StatusCode::OK, &json!({ "tasks": tasks }));
    }
    let deployments: Vec<Value> = inner
        .deployments
        .iter()
        .filter(|d| d.target == id)
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
    let deployment_id = deploy(&app, Kind::App, &id, &version);
    with_deployment(
        deployed(StatusCode::OK, &version, &deployment_id),
        &deployment_id,
    )
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
            let (apps, pods) = match d.kind {
                Kind::App => (vec![&d.target], vec![]),
                Kind::Pod => (vec![], vec![&d.target]),
            };
            json!({"id": d.id, "version": d.version, "affectedApps": apps,
                   "affectedPods": pods, "currentStep": 1, "totalSteps": 1})
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
    if let Some(cancelled) = inner.deployments.iter().find(|d| d.id == id) {
        let event = json!({"id": cancelled.id, "plan": cancelled.plan()});
        app.marathon.publish("deployment_failed", event);
    }
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
    app.marathon.remove(&id);
    let deployment_id = crate::new_uuid();
    with_deployment(
        deployed(StatusCode::OK, &new_version(), &deployment_id),
        &deployment_id,
    )
}
