//! `status` (alias `doctor`): where the cluster URL, the TLS trust and the token came from,
//! what each shadows, and whether they work. Changes nothing.

use std::time::Duration;

use dcos_connect::TokenStatus;
use dcos_ops::cluster::ClusterInfo;
use serde::Serialize;

use crate::args::Global;
use crate::connect::{self, Setting};
use crate::exit::{self, ErrorDoc, Failure};
use crate::output::{Ui, duration_words};

#[derive(Debug, Serialize)]
struct StatusReport<'a> {
    cluster: ClusterSetting,
    trust: &'a Setting,
    token: Option<TokenStatus>,
    cluster_info: Option<ClusterInfo>,
    /// Every problem found, the first of which sets the exit code.
    problems: Vec<ErrorDoc<'a>>,
}

#[derive(Debug, Serialize)]
struct ClusterSetting {
    url: String,
    #[serde(flatten)]
    source: Setting,
}

pub async fn run(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    let mut problems: Vec<Failure> = Vec::new();
    let session = match connect::session(&cluster, true).await {
        Ok(session) => Some(session),
        Err(failure) => {
            problems.push(failure);
            None
        }
    };
    let mut token = None;
    if let Some(session) = &session {
        let (status, problem) = session.token_status().await;
        token = Some(status);
        problems.extend(problem.map(Failure::from));
    }
    let accepted = token.as_ref().is_some_and(|t| t.accepted);
    let transport = match (&session, accepted) {
        (Some(session), true) => session.clients.iam.transport().clone(),
        _ => cluster.transport()?,
    };
    let info = match dcos_ops::cluster::info(&transport, accepted).await {
        Ok(info) => Some(info),
        Err(error) => {
            problems.push(Failure::from(error));
            None
        }
    };
    if let Some(skew) = info.as_ref().and_then(ClusterInfo::clock_off) {
        let way = if skew > 0 { "behind" } else { "ahead of" };
        problems.push(
            Failure::new(
                exit::FAILURE,
                format!(
                    "this machine's clock is {} {way} the cluster's",
                    duration_words(Duration::from_secs(skew.unsigned_abs()))
                ),
            )
            .hint("set the clock right (NTP): tokens and service-account logins are checked against the cluster's clock"),
        );
    }
    let report = StatusReport {
        cluster: ClusterSetting {
            url: cluster.url.clone(),
            source: cluster.url_source.clone(),
        },
        trust: &cluster.trust_source,
        token,
        cluster_info: info,
        problems: problems.iter().map(Failure::doc).collect(),
    };
    if !ui.json() || problems.is_empty() {
        ui.emit(&report, || render(&report))?;
    }
    match problems.first().cloned() {
        None => Ok(()),
        Some(first) if ui.json() => ui.fail_with(&report, first),
        Some(first) => Err(first),
    }
}

fn render(report: &StatusReport<'_>) -> String {
    let mut lines = vec![
        format!(
            "cluster   {} {}",
            report.cluster.url,
            report.cluster.source.describe()
        ),
        format!("TLS       trusts {}", report.trust.describe()),
    ];
    match &report.token {
        None => lines.push("token     none found".to_owned()),
        Some(token) => lines.push(token.to_string()),
    }
    lines.extend(report.cluster_info.as_ref().map(ClusterInfo::status_lines));
    for problem in &report.problems {
        lines.push(format!("problem   {}", problem.message));
    }
    lines.join("\n")
}
