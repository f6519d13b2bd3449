//! Marathon, read only: which apps use which secrets, so that a plan can say what a change
//! touches. Marathon may be out of reach (not installed, or no permission for this account):
//! then the plan says that it could not tell.

use std::collections::BTreeMap;

use dcos_secrets_client::SecretPath;
use dcos_transport::Request;
use serde::Deserialize;

use crate::Clients;
use crate::error::{Context, Error, Result};

/// The apps of the cluster, as far as this tool reads them.
#[derive(Debug, Deserialize)]
struct Apps {
    apps: Vec<App>,
}

#[derive(Debug, Deserialize)]
struct App {
    id: String,
    /// `{NAME: {"source": PATH}}`.
    #[serde(default)]
    secrets: BTreeMap<String, Source>,
}

#[derive(Debug, Deserialize)]
struct Source {
    source: Option<String>,
}

/// Which apps use each secret, or why that could not be known.
#[derive(Debug)]
pub(crate) enum Users {
    /// By path: the ids of the apps that declare the secret.
    Known(BTreeMap<String, Vec<String>>),
    /// Why Marathon could not be read.
    Unknown(String),
}

impl Users {
    /// The apps that use `path` (none when unknown).
    pub fn of(&self, path: &SecretPath) -> &[String] {
        match self {
            Users::Known(users) => users.get(path.as_str()).map_or(&[], Vec::as_slice),
            Users::Unknown(_) => &[],
        }
    }
}

/// Reads Marathon's apps and finds those that declare any of `paths`.
pub(crate) async fn users(clients: &Clients, paths: &[&SecretPath]) -> Users {
    let request = Request::get("/service/marathon/v2/apps");
    let answer = match clients.iam.transport().send(request).await {
        Ok(answer) => answer,
        Err(e) if e.is_not_found() => return Users::Unknown("Marathon does not answer".into()),
        Err(e) if e.is_forbidden() => {
            return Users::Unknown("this account may not read Marathon's apps".into());
        }
        Err(e) => return Users::Unknown(e.to_string()),
    };
    let apps: Apps = match answer.json() {
        Ok(apps) => apps,
        Err(e) => return Users::Unknown(e.to_string()),
    };
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for app in apps.apps {
        for source in app.secrets.values().filter_map(|s| s.source.as_deref()) {
            let source = source.trim_start_matches('/');
            if paths.iter().any(|p| p.as_str() == source) {
                users
                    .entry(source.to_owned())
                    .or_default()
                    .push(app.id.clone());
            }
        }
    }
    Users::Known(users)
}

/// How a restart is waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    /// The app's id, like `/data-science-engine`.
    pub app_id: String,
    /// How long the deployment may take.
    pub deploy_timeout: std::time::Duration,
    /// How often the deployment is looked at.
    pub poll: std::time::Duration,
}

#[derive(Debug, Deserialize)]
struct Deployed {
    version: String,
    #[serde(rename = "deploymentId")]
    deployment_id: String,
}

#[derive(Debug, Deserialize)]
struct DeploymentEntry {
    id: String,
}

#[derive(Debug, Deserialize)]
struct AppAnswer {
    app: AppStatus,
}

#[derive(Debug, Deserialize)]
struct AppStatus {
    #[serde(default)]
    instances: u64,
    #[serde(default)]
    tasks: Vec<TaskStatus>,
    #[serde(rename = "lastTaskFailure", default)]
    last_task_failure: Option<Failure>,
}

#[derive(Debug, Deserialize)]
struct TaskStatus {
    #[serde(default)]
    version: String,
    #[serde(rename = "startedAt", default)]
    started_at: String,
}

/// How many tasks an app runs of how many it wants, and when the oldest started; `None` when
/// Marathon or the app cannot be read.
pub(crate) async fn tasks(clients: &Clients, app_id: &str) -> Option<(usize, u64, Option<String>)> {
    let id = app_id.trim_matches('/');
    let answer = clients
        .iam
        .transport()
        .send(Request::get(format!("/service/marathon/v2/apps/{id}")))
        .await
        .ok()?;
    let app: AppAnswer = answer.json().ok()?;
    let oldest = app
        .app
        .tasks
        .iter()
        .map(|t| t.started_at.clone())
        .filter(|s| !s.is_empty())
        .min();
    Some((app.app.tasks.len(), app.app.instances.max(1), oldest))
}

#[derive(Debug, Deserialize)]
struct Failure {
    #[serde(default)]
    message: String,
    #[serde(default)]
    version: String,
}

/// Checks that Marathon knows the app `app_id` (for a plan that would restart it).
pub(crate) async fn app_exists(clients: &Clients, app_id: &str) -> Result<()> {
    let id = app_id.trim_matches('/');
    clients
        .iam
        .transport()
        .send(Request::get(format!("/service/marathon/v2/apps/{id}")))
        .await
        .context(format!("read the Marathon app `/{id}`"))?;
    Ok(())
}

/// Restarts the app and waits until its deployment is gone and it runs `instances` tasks of
/// the restart's version: started after the restart, so reading the secrets of now. A launch
/// that fails at that version, or a deployment longer than the timeout, is a failure. A stop
/// the reporter asks for ends the wait (the restart, sent, goes on in Marathon).
pub(crate) async fn restart_and_wait(
    clients: &Clients,
    restart: &Restart,
    reporter: &dyn crate::Reporter,
) -> Result<()> {
    let transport = clients.iam.transport();
    let id = restart.app_id.trim_matches('/');
    let deployed: Deployed = transport
        .send(Request::post(format!(
            "/service/marathon/v2/apps/{id}/restart"
        )))
        .await
        .and_then(|answer| answer.json())
        .context(format!("restart the Marathon app `/{id}`"))?;
    let deadline = tokio::time::Instant::now() + restart.deploy_timeout;
    loop {
        let (deployments, app) = tokio::join!(
            transport.send(Request::get("/service/marathon/v2/deployments")),
            transport.send(Request::get(format!("/service/marathon/v2/apps/{id}"))),
        );
        let deployments: Vec<DeploymentEntry> = deployments
            .and_then(|answer| answer.json())
            .context("read Marathon's deployments")?;
        let app: AppAnswer = app
            .and_then(|answer| answer.json())
            .context(format!("read the Marathon app `/{id}`"))?;
        let app = app.app;
        if let Some(failure) = &app.last_task_failure
            && failure.version == deployed.version
        {
            return Err(Error::failed(format!(
                "the Marathon app `/{id}` did not start after the restart: {}",
                failure.message
            )));
        }
        let running = app
            .tasks
            .iter()
            .filter(|t| t.version == deployed.version)
            .count() as u64;
        let deploying = deployments.iter().any(|d| d.id == deployed.deployment_id);
        if !deploying && running >= app.instances.max(1) {
            return Ok(());
        }
        if reporter.stop_requested() {
            return Err(Error::interrupted().context(format!(
                "the restart of `/{id}` was sent, and its deployment not waited for"
            )));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::failed(format!(
                "the deployment of the Marathon app `/{id}` did not finish within {} s \
                 ({running} of {} tasks of the new version running)",
                restart.deploy_timeout.as_secs(),
                app.instances.max(1)
            )));
        }
        tokio::time::sleep(restart.poll).await;
    }
}
