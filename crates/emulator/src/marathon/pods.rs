//! `/v2/pods`: created, listed, read, replaced and removed as Marathon does, each change a
//! deployment whose instances resolve the pod's secrets at launch; `{id}::status` and
//! `::status` report the instances.
//!
//! Create and replace answer the pod's definition with its `version`, and the deployment in
//! the `Marathon-Deployment-Id` header; removal answers 202 with the header.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::refs::Kind;
use super::runtime::deploy;
use super::{answer, authorize, checked, message, new_version, normalize, with_deployment};
use crate::app::Shared;

fn unknown(id: &str) -> Response {
    message(
        StatusCode::NOT_FOUND,
        &format!("Pod '{id}' does not exist"),
        None,
    )
}

/// Stores a pod given by a client: 201 when new, 200 when it replaces one; 409 when `create`
/// finds one (or an app has the id); 422 when it is not a valid pod.
fn store(app: &Shared, id: Option<&str>, body: &[u8], create: bool) -> Response {
    let (id, mut spec) = match checked(id, body) {
        Ok(checked) => checked,
        Err(refused) => return refused,
    };
    if spec
        .get("containers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        let details = json!([{"path": "/containers", "errors": ["error.minSize"]}]);
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Object is not valid",
            Some(details),
        );
    }
    let version = new_version();
    spec["version"] = Value::String(version.clone());
    let mut state = app.write();
    let taken = match (state.apps.contains_key(&id), state.pods.contains_key(&id)) {
        (true, _) => Some("An app"),
        (false, true) if create => Some("A pod"),
        _ => None,
    };
    if let Some(taken) = taken {
        let text = format!("{taken} with id [{id}] already exists.");
        return message(StatusCode::CONFLICT, &text, None);
    }
    let existed = state.pods.insert(id.clone(), spec.clone()).is_some();
    drop(state);
    let deployment_id = deploy(app, Kind::Pod, &id, &version);
    let status = match existed {
        true => StatusCode::OK,
        false => StatusCode::CREATED,
    };
    with_deployment(answer(status, &spec), &deployment_id)
}

pub(super) async fn list(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let pods: Vec<Value> = app.read().pods.values().cloned().collect();
    answer(StatusCode::OK, &Value::Array(pods))
}

pub(super) async fn create(
    AxState(app): AxState<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    store(&app, None, &body, true)
}

pub(super) async fn replace(
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

/// `GET /v2/pods/{id}`, `/v2/pods/{id}::status` and `/v2/pods/::status`.
pub(super) async fn read(
    AxState(app): AxState<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    if path.trim_matches('/') == "::status" {
        let ids: Vec<String> = app.read().pods.keys().cloned().collect();
        let all: Vec<Value> = ids.iter().filter_map(|id| status(&app, id)).collect();
        return answer(StatusCode::OK, &Value::Array(all));
    }
    if let Some(id) = path.strip_suffix("::status").map(normalize) {
        return match status(&app, &id) {
            Some(status) => answer(StatusCode::OK, &status),
            None => unknown(&id),
        };
    }
    let id = normalize(&path);
    match app.read().pods.get(&id) {
        Some(spec) => answer(StatusCode::OK, spec),
        None => unknown(&id),
    }
}

/// A pod's status: `STABLE` when its instances run the current version, `DEPLOYING` while a
/// deployment is under way, `DEGRADED` (with the failure's `message`) when its launch failed.
fn status(app: &Shared, id: &str) -> Option<Value> {
    let spec = app.read().pods.get(id).cloned()?;
    let inner = app.marathon.lock();
    let instances: Vec<Value> = (inner.tasks.get(id).into_iter().flatten())
        .map(|t| {
            json!({
                "id": t.task_id,
                "status": "STABLE",
                "statusSince": t.started_at,
                "specReference": format!("/v2/pods{id}::versions/{}", t.version),
                "lastUpdated": t.started_at,
                "lastChanged": t.started_at,
            })
        })
        .collect();
    let failure = inner.failures.get(id);
    let deploying = inner.deployments.iter().any(|d| d.target == id);
    let state = match (failure, deploying) {
        (Some(_), _) => "DEGRADED",
        (None, true) => "DEPLOYING",
        (None, false) => "STABLE",
    };
    let now = new_version();
    let mut status = json!({
        "id": id,
        "spec": spec,
        "status": state,
        "statusSince": now,
        "instances": instances,
        "lastUpdated": now,
        "lastChanged": now,
    });
    if let Some(failure) = failure {
        status["message"] = failure["message"].clone();
    }
    Some(status)
}

pub(super) async fn remove(
    AxState(app): AxState<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let id = normalize(&id);
    if app.write().pods.remove(&id).is_none() {
        return unknown(&id);
    }
    app.marathon.remove(&id);
    with_deployment(StatusCode::ACCEPTED.into_response(), &crate::new_uuid())
}
