//! What real Marathon clients ask for besides apps and pods: `/ping`, `/v2/info`, the tasks
//! (`/v2/tasks`, and an app's), and the `/v2/events` stream, answered as Marathon answers them.

use std::convert::Infallible;

use axum::extract::{Extension, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use serde_json::{Value, json};

use super::runtime::Task;
use super::{answer, authorize};
use crate::app::Shared;
use crate::server::Peer;

/// The Marathon version the emulator answers as: DC/OS 2.1's.
const VERSION: &str = "1.10.6";

/// `GET /ping`: `pong`, as plain text.
pub(super) async fn ping(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let plain = HeaderValue::from_static("text/plain; charset=utf-8");
    (StatusCode::OK, [(header::CONTENT_TYPE, plain)], "pong").into_response()
}

/// `GET /v2/info`: the name, version, leader and configuration of this Marathon.
pub(super) async fn info(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let info = json!({
        "name": "marathon",
        "version": VERSION,
        "buildref": "emulated",
        "elected": true,
        "leader": "127.0.0.1:8080",
        "frameworkId": "dcos-emulator-marathon-0000",
        "event_subscriber": {"type": "sse", "http_endpoints": []},
        "http_config": {"http_port": 8080, "https_port": 8443},
        "marathon_config": {
            "master": "zk://zk-1.zk:2181/mesos",
            "framework_name": "marathon",
            "hostname": "127.0.0.1",
            "mesos_role": "slave_public",
            "mesos_user": "root",
            "task_launch_timeout": 300_000,
            "features": ["vips", "task_killing", "external_volumes", "secrets", "gpu_resources"],
        },
        "zookeeper_config": {
            "zk": "zk://zk-1.zk:2181/marathon",
            "zk_timeout": 10_000,
            "zk_session_timeout": 10_000,
            "zk_max_versions": 50,
        },
    });
    answer(StatusCode::OK, &info)
}

/// A task as Marathon lists it.
pub(super) fn task_json(task: &Task) -> Value {
    json!({
        "id": task.task_id,
        "appId": task.id,
        "host": "127.0.0.1",
        "ports": [],
        "slaveId": "dcos-emulator-agent-0",
        "stagedAt": task.started_at,
        "startedAt": task.started_at,
        "state": "TASK_RUNNING",
        "version": task.version,
        "ipAddresses": [{"ipAddress": "127.0.0.1", "protocol": "IPv4"}],
    })
}

/// `GET /v2/tasks`: every app's running tasks.
pub(super) async fn tasks(AxState(app): AxState<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers) {
        return r;
    }
    let tasks: Vec<Value> = (app.marathon.tasks().iter())
        .filter(|t| t.kind == super::Kind::App)
        .map(task_json)
        .collect();
    answer(StatusCode::OK, &json!({ "tasks": tasks }))
}

/// `GET /v2/events`: server-sent events, each `event: <eventType>` with its JSON as `data`:
/// first `event_stream_attached`, then `deployment_info` when a deployment starts,
/// `deployment_success` when it is done, `deployment_failed` when it is cancelled, and
/// `status_update_event` when a launch fails.
pub(super) async fn events(
    AxState(app): AxState<Shared>,
    peer: Option<Extension<Peer>>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Response> {
    authorize(&app, &headers)?;
    let receiver = app.marathon.events.subscribe();
    let remote = peer.map_or_else(
        || "127.0.0.1".to_owned(),
        |Extension(p)| p.0.ip().to_string(),
    );
    let attached = json!({
        "remoteAddress": remote,
        "eventType": "event_stream_attached",
        "timestamp": super::new_version(),
    });
    let first = stream::once(async move { ("event_stream_attached", attached) });
    let later = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let events = first
        .chain(later)
        .map(|(kind, data)| Ok(Event::default().event(kind).data(data.to_string())));
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
