//! Marathon's apps and pods for a restart: which to restart, that they exist, their tasks,
//! and restarts waited for. Which apps and pods use which secrets is [`crate::consumers`].

use dcos_secrets_client::SecretPath;
use dcos_transport::Request;
use serde::Deserialize;
use serde_json::Value;

use crate::Clients;
use crate::consumers::Kind;
use crate::error::{Context, Error, Result};

/// What a rotation restarts, and how the restarts are waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    /// Only this app (like `/data-science-engine`); `None`: every app and pod that uses
    /// either secret of the pair.
    pub app_id: Option<String>,
    /// How long each deployment may take.
    pub deploy_timeout: std::time::Duration,
    /// How often the deployments are looked at.
    pub poll: std::time::Duration,
}

/// An app or a pod to restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// An app or a pod.
    pub kind: Kind,
    /// Its id, with its leading `/`.
    pub id: String,
}

impl Target {
    /// The step that restarts it, with `outcome`.
    pub(crate) fn step(&self, outcome: crate::Outcome) -> crate::Step {
        let kind = match self.kind {
            Kind::App => crate::StepKind::App,
            Kind::Pod => crate::StepKind::Pod,
        };
        crate::Step::new(kind, &self.id, outcome)
    }
}

/// Restarts the targets and waits, filling in the steps that `steps[first..]` hold for them
/// (in the targets' order): the first failure, if any.
pub(crate) async fn restart_steps(
    clients: &Clients,
    restart: &Restart,
    targets: &[Target],
    steps: &mut [crate::Step],
    reporter: &dyn crate::Reporter,
) -> Result<()> {
    let results = restart_all(clients, restart, targets, reporter).await;
    for (step, result) in steps.iter_mut().zip(&results) {
        match result {
            Ok(()) => step.outcome = crate::Outcome::Restarted,
            Err(e) => step.fail(e),
        }
    }
    first_failure(results)
}

/// The targets' ids, for messages: `/a, /b`.
pub(crate) fn ids(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| t.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Restart {
    /// What it restarts: the app it names (which must exist), or every app and pod that uses
    /// any of `paths` (Marathon must answer: a rotation that cannot tell restarts nothing).
    pub(crate) async fn targets(
        &self,
        clients: &Clients,
        paths: &[&SecretPath],
    ) -> Result<Vec<Target>> {
        if let Some(app_id) = &self.app_id {
            app_exists(clients, app_id).await?;
            let id = format!("/{}", app_id.trim_matches('/'));
            return Ok(vec![Target {
                kind: Kind::App,
                id,
            }]);
        }
        let workloads = crate::consumers::load(clients).await?;
        let ids = workloads.ids_using(paths.iter().map(|p| p.as_str()));
        Ok(ids
            .into_iter()
            .map(|(kind, id)| Target { kind, id })
            .collect())
    }
}

/// Restarts every target at once and waits for each: each one's result, in order.
pub(crate) async fn restart_all(
    clients: &Clients,
    restart: &Restart,
    targets: &[Target],
    reporter: &dyn crate::Reporter,
) -> Vec<Result<()>> {
    let each = targets.iter().map(|target| async move {
        match target.kind {
            Kind::App => restart_and_wait(clients, restart, &target.id, reporter).await,
            Kind::Pod => restart_pod(clients, restart, &target.id, reporter).await,
        }
    });
    futures::future::join_all(each).await
}

/// The first failure of [`restart_all`], if any.
pub(crate) fn first_failure(results: Vec<Result<()>>) -> Result<()> {
    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
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
async fn restart_and_wait(
    clients: &Clients,
    restart: &Restart,
    app_id: &str,
    reporter: &dyn crate::Reporter,
) -> Result<()> {
    let transport = clients.iam.transport();
    let id = app_id.trim_matches('/');
    let deployed: Deployed = transport
        .send(Request::post(format!(
            "/service/marathon/v2/apps/{id}/restart"
        )))
        .await
        .and_then(|answer| answer.json())
        .context(format!("restart the Marathon app `/{id}`"))?;
    let what = format!("the Marathon app `/{id}`");
    wait(restart, reporter, &what, || async {
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
                "{what} did not start after the restart: {}",
                failure.message
            )));
        }
        let running = (app.tasks.iter())
            .filter(|t| t.version == deployed.version)
            .count() as u64;
        let deploying = deployments.iter().any(|d| d.id == deployed.deployment_id);
        let wanted = app.instances.max(1);
        Ok(match !deploying && running >= wanted {
            true => None,
            false => Some(format!(
                "{running} of {wanted} tasks of the new version running"
            )),
        })
    })
    .await
}

/// Polls `look` until the deployment it looks at is done (`None`) or fails: a stop the
/// reporter asks for ends the wait (the restart, sent, goes on in Marathon), and so does the
/// deploy timeout, with the last progress `look` told (`Some`).
async fn wait<F, Fut>(
    restart: &Restart,
    reporter: &dyn crate::Reporter,
    what: &str,
    mut look: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>>>,
{
    let deadline = tokio::time::Instant::now() + restart.deploy_timeout;
    loop {
        let Some(progress) = look().await? else {
            return Ok(());
        };
        if reporter.stop_requested() {
            return Err(Error::interrupted().context(format!(
                "the restart of {what} was sent, and its deployment not waited for"
            )));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::failed(format!(
                "the deployment of {what} did not finish within {} s ({progress})",
                restart.deploy_timeout.as_secs(),
            )));
        }
        tokio::time::sleep(restart.poll).await;
    }
}

#[derive(Debug, Deserialize)]
struct PodDeployment {
    #[serde(rename = "affectedPods", default)]
    affected_pods: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PodStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    instances: Vec<PodInstance>,
}

#[derive(Debug, Deserialize)]
struct PodInstance {
    #[serde(rename = "specReference", default)]
    spec_reference: String,
}

/// Restarts a pod (its definition put back, which Marathon deploys as a new version) and
/// waits until no deployment touches it and its instances run that version; a launch failure
/// (`DEGRADED`) or a deployment longer than the timeout is a failure.
async fn restart_pod(
    clients: &Clients,
    restart: &Restart,
    pod_id: &str,
    reporter: &dyn crate::Reporter,
) -> Result<()> {
    let transport = clients.iam.transport();
    let id = pod_id.trim_matches('/');
    let path = format!("/service/marathon/v2/pods/{id}");
    let what = format!("restart the Marathon pod `/{id}`");
    let mut spec: Value = (transport.send(Request::get(&path)).await)
        .and_then(|answer| answer.json())
        .context(&what)?;
    let before = spec
        .as_object_mut()
        .and_then(|fields| fields.remove("version"));
    let wanted = (spec.get("scaling").and_then(|s| s.get("instances")))
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let put = Request::put(&path).json(&spec).context(&what)?;
    let deployed: Value = (transport.send(put).await)
        .and_then(|answer| answer.json())
        .context(&what)?;
    let version = deployed["version"].as_str().unwrap_or_default().to_owned();
    let full_id = format!("/{id}");
    let what = format!("the Marathon pod `/{id}`");
    // A Marathon that keeps the version of a definition put back unchanged replaces no
    // instance: that is no restart, and must not pass for one.
    if version.is_empty() || before.as_ref().and_then(Value::as_str) == Some(version.as_str()) {
        return Err(Error::failed(format!(
            "{what} was not restarted: Marathon kept its version {version:?}, so its instances \
             still hold the secrets they started with"
        )));
    }
    wait(restart, reporter, &what, || async {
        let (deployments, status) = tokio::join!(
            transport.send(Request::get("/service/marathon/v2/deployments")),
            transport.send(Request::get(format!("{path}::status"))),
        );
        let deployments: Vec<PodDeployment> = deployments
            .and_then(|answer| answer.json())
            .context("read Marathon's deployments")?;
        let status: PodStatus = status
            .and_then(|answer| answer.json())
            .context(format!("read the status of {what}"))?;
        if status.status == "DEGRADED" {
            let why = status
                .message
                .unwrap_or_else(|| "its instances failed".into());
            return Err(Error::failed(format!(
                "{what} did not start after the restart: {why}"
            )));
        }
        let running = (status.instances.iter())
            .filter(|i| !version.is_empty() && i.spec_reference.ends_with(&version))
            .count() as u64;
        let deploying = deployments
            .iter()
            .any(|d| d.affected_pods.contains(&full_id));
        Ok(match !deploying && running >= wanted {
            true => None,
            false => Some(format!(
                "{running} of {wanted} instances of the new version running"
            )),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    /// A Marathon that answers a pod put back with the version it had replaced no instance:
    /// that is a failure, not a restart (the rotation then puts the pair back).
    #[tokio::test]
    async fn a_pod_kept_at_its_version_is_not_restarted() {
        let server = MockServer::start().await;
        let spec = json!({"id": "/p", "version": "2026-12-06T10:00:00.000Z", "containers": []});
        for verb in ["GET", "PUT"] {
            Mock::given(method(verb))
                .and(path("/service/marathon/v2/pods/p"))
                .respond_with(ResponseTemplate::new(200).set_body_json(&spec))
                .mount(&server)
                .await;
        }
        let clients = Clients::new(
            dcos_transport::Transport::builder(server.uri())
                .build()
                .unwrap(),
        );
        let restart = Restart {
            app_id: None,
            deploy_timeout: std::time::Duration::from_secs(1),
            poll: std::time::Duration::from_millis(10),
        };
        let error = restart_pod(&clients, &restart, "/p", &crate::Silent)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("was not restarted"), "{error}");
    }
}
