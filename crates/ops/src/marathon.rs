//! Marathon's apps for a restart: that an app exists, its tasks, and a restart waited for.
//! Which apps and pods use which secrets is [`crate::consumers`].

use dcos_transport::Request;
use serde::Deserialize;

use crate::Clients;
use crate::error::{Context, Error, Result};

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
