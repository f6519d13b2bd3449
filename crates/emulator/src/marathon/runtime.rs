//! What runs: the tasks of apps and the instances of pods, deployments in progress and the
//! last launch failure of each. Kept apart from the state (it is not a configuration), and
//! lost with the emulator.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::refs::{Kind, Target, references, secret_sources};
use crate::app::Shared;
use crate::state::Secret;

/// The default delay between a deployment's start and its tasks' launch.
pub const DEFAULT_DEPLOY_MS: u64 = 100;

/// A running task of an app, or an instance of a pod, with the SHA-256 of each secret and
/// environment value it started with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Task {
    /// `app` or `pod`.
    pub kind: Kind,
    /// The app's or the pod's id.
    pub id: String,
    /// The task's (or the instance's) id.
    #[serde(rename = "taskId")]
    pub task_id: String,
    #[serde(rename = "startedAt")]
    pub started_at: String,
    pub version: String,
    /// `{VAR: hex SHA-256 of the value the task started with}`.
    pub env_sha256: BTreeMap<String, String>,
    /// `{path in the container: hex SHA-256 of the file-based secret it started with}`.
    pub file_sha256: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub(super) struct Deployment {
    pub id: String,
    pub version: String,
    pub kind: Kind,
    pub target: String,
}

impl Deployment {
    /// Its plan, as Marathon's events carry it: one step that restarts the app or pod.
    pub fn plan(&self) -> Value {
        let action = match self.kind {
            Kind::App => json!({"action": "RestartApplication", "app": self.target}),
            Kind::Pod => json!({"action": "RestartApplication", "pod": self.target}),
        };
        json!({
            "id": self.id,
            "version": self.version,
            "original": {"id": "/", "apps": [], "pods": [], "groups": []},
            "target": {"id": "/", "apps": [], "pods": [], "groups": []},
            "steps": [{"actions": [action]}],
        })
    }
}

/// Tasks, deployments and failures, by app or pod id (an id is one or the other); and the
/// events `/v2/events` streams.
#[derive(Debug)]
pub struct Runtime {
    inner: std::sync::Mutex<Inner>,
    /// `(eventType, event)`, to every stream attached.
    pub(super) events: tokio::sync::broadcast::Sender<(&'static str, Value)>,
}

#[derive(Debug)]
pub(super) struct Inner {
    deploy_ms: u64,
    pub tasks: BTreeMap<String, Vec<Task>>,
    pub deployments: Vec<Deployment>,
    pub failures: BTreeMap<String, Value>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            inner: std::sync::Mutex::new(Inner {
                deploy_ms: DEFAULT_DEPLOY_MS,
                tasks: BTreeMap::new(),
                deployments: Vec::new(),
                failures: BTreeMap::new(),
            }),
            events: tokio::sync::broadcast::channel(1024).0,
        }
    }
}

impl Runtime {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the delay between a deployment's start and its tasks' launch.
    pub fn set_deploy_ms(&self, ms: u64) {
        self.lock().deploy_ms = ms;
    }

    /// Every running task and pod instance, by id then launch.
    pub fn tasks(&self) -> Vec<Task> {
        self.lock().tasks.values().flatten().cloned().collect()
    }

    /// Sends an event to the streams attached (none is fine).
    pub(super) fn publish(&self, kind: &'static str, mut event: Value) {
        event["eventType"] = json!(kind);
        event["timestamp"] = json!(super::new_version());
        let _ = self.events.send((kind, event));
    }

    /// Forgets the tasks, deployments and failure of an app or pod.
    pub(super) fn remove(&self, id: &str) {
        let mut inner = self.lock();
        inner.tasks.remove(id);
        inner.failures.remove(id);
        inner.deployments.retain(|d| d.target != id);
    }
}

/// The definition of an app or pod in the state.
fn spec(state: &crate::state::State, kind: Kind, id: &str) -> Option<Value> {
    match kind {
        Kind::App => state.apps.get(id).cloned(),
        Kind::Pod => state.pods.get(id).cloned(),
    }
}

/// Starts a deployment of the app or pod `id` at `version`: after the deploy delay its tasks
/// are launched with the secrets of that moment, unless the deployment was cancelled meanwhile.
pub(super) fn deploy(app: &Shared, kind: Kind, id: &str, version: &str) -> String {
    let deployment_id = crate::new_uuid();
    let deployment = Deployment {
        id: deployment_id.clone(),
        version: version.to_owned(),
        kind,
        target: id.to_owned(),
    };
    let plan = deployment.plan();
    let delay = {
        let mut inner = app.marathon.lock();
        inner.deployments.push(deployment);
        inner.deploy_ms
    };
    let step = plan["steps"][0].clone();
    app.marathon.publish(
        "deployment_info",
        json!({"plan": plan, "currentStep": step}),
    );
    let shared = app.clone();
    let deployment = deployment_id.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        launch(&shared, kind, &id, &deployment);
    });
    deployment_id
}

/// How many tasks an app wants (`instances`), or a pod (`scaling.instances`); 1 by default.
pub(super) fn instances(kind: Kind, spec: &Value) -> u64 {
    let wanted = match kind {
        Kind::App => spec.get("instances"),
        Kind::Pod => spec.get("scaling").and_then(|s| s.get("instances")),
    };
    wanted.and_then(Value::as_u64).unwrap_or(1)
}

/// Launches the tasks of a deployment, or records why it cannot.
fn launch(app: &Shared, kind: Kind, id: &str, deployment_id: &str) {
    let launched = {
        let state = app.read();
        let Some(spec) = spec(&state, kind, id) else {
            return;
        };
        let version = spec["version"].as_str().unwrap_or_default().to_owned();
        resolve(kind, &spec, &state.secrets).map(|values| (values, version, spec))
    };
    let mut inner = app.marathon.lock();
    let Some(index) = inner.deployments.iter().position(|d| d.id == deployment_id) else {
        // Cancelled, or its app or pod removed.
        return;
    };
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    match launched {
        Ok(((env, files), version, spec)) => {
            let tasks = (0..instances(kind, &spec))
                .map(|_| Task {
                    kind,
                    id: id.to_owned(),
                    task_id: format!(
                        "{}.{}",
                        id.trim_start_matches('/').replace('/', "_"),
                        crate::new_uuid()
                    ),
                    started_at: now.clone(),
                    version: version.clone(),
                    env_sha256: env.clone(),
                    file_sha256: files.clone(),
                })
                .collect();
            inner.tasks.insert(id.to_owned(), tasks);
            inner.failures.remove(id);
            let done = inner.deployments.remove(index);
            let event = json!({"id": done.id, "plan": done.plan()});
            app.marathon.publish("deployment_success", event);
        }
        Err(why) => {
            let version = inner.deployments[index].version.clone();
            let key = match kind {
                Kind::App => "appId",
                Kind::Pod => "podId",
            };
            let status = json!({"appId": id, "taskStatus": "TASK_FAILED", "message": why,
                                "version": version});
            app.marathon.publish("status_update_event", status);
            inner.failures.insert(
                id.to_owned(),
                json!({
                    key: id,
                    "message": why,
                    "state": "TASK_FAILED",
                    "timestamp": now,
                    "version": version,
                }),
            );
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

type Values = (BTreeMap<String, String>, BTreeMap<String, String>);

/// The SHA-256 of each environment value (secrets resolved, plain strings as they are) and of
/// each file-based secret; or why a secret cannot be given (not declared, or missing).
fn resolve(kind: Kind, spec: &Value, secrets: &BTreeMap<String, Secret>) -> Result<Values, String> {
    let sources: BTreeMap<String, String> = secret_sources(spec).into_iter().collect();
    let (mut env, mut files) = (BTreeMap::new(), BTreeMap::new());
    let plain = match kind {
        Kind::App => spec.get("env"),
        Kind::Pod => spec.get("environment"),
    };
    for (var, value) in plain.and_then(Value::as_object).into_iter().flatten() {
        if let Value::String(text) = value {
            env.insert(var.clone(), sha256_hex(text.as_bytes()));
        }
    }
    for reference in references(kind, spec) {
        let Some(path) = sources.get(&reference.secret) else {
            return Err(format!(
                "Secret reference {} is not declared",
                reference.secret
            ));
        };
        let bytes = match secrets.get(path.as_str()) {
            Some(Secret::Text(text)) => text.as_bytes(),
            Some(Secret::Binary(bytes)) => bytes.as_slice(),
            None => return Err(format!("Secret {path} not found")),
        };
        match reference.target {
            Target::Env(var) => env.insert(var, sha256_hex(bytes)),
            Target::File(file) => files.insert(file, sha256_hex(bytes)),
        };
    }
    Ok((env, files))
}
