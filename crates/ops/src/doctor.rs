//! `status` (alias `doctor`): where the cluster URL, the TLS trust and the token came from,
//! what each shadows, and whether they work. Reads only.

use dcos_connect::{Cluster, Environment, Setting, TokenStatus};
use serde::Serialize;

use crate::cluster::{self, ClusterInfo};

/// What the connection is made of, and what the cluster says of itself.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub cluster: ClusterSetting,
    pub trust: Setting,
    /// `None` when no token was found.
    pub token: Option<TokenStatus>,
    /// `None` when the cluster could not be read.
    pub cluster_info: Option<ClusterInfo>,
}

/// The cluster URL and where it came from.
#[derive(Debug, Serialize)]
pub struct ClusterSetting {
    pub url: String,
    #[serde(flatten)]
    pub source: Setting,
}

/// A problem found, in the order found: the first is the one that matters most.
#[derive(Debug)]
pub enum Problem {
    /// No token, or the token could not be used.
    Connect(dcos_connect::Error),
    /// The cluster could not be read.
    Cluster(crate::Error),
    /// This machine's clock is this many seconds behind the cluster's (ahead when negative),
    /// more than tokens and logins tolerate.
    Clock(i64),
}

/// Checks the connection `cluster` settles on: the token (asking the keyring too, to say what
/// it shadows), whether the cluster accepts it, the cluster's identity and clock.
pub async fn status(cluster: &Cluster, environment: &Environment) -> (StatusReport, Vec<Problem>) {
    let mut problems = Vec::new();
    let session = match cluster.session_probing(environment, true).await {
        Ok(session) => Some(session),
        Err(error) => {
            problems.push(Problem::Connect(error));
            None
        }
    };
    let mut token = None;
    if let Some(session) = &session {
        let (status, problem) = session.token_status().await;
        token = Some(status);
        problems.extend(problem.map(Problem::Connect));
    }
    let accepted = token.as_ref().is_some_and(|t| t.accepted);
    let transport = match (&session, accepted) {
        (Some(session), true) => Ok(session.transport.clone()),
        _ => cluster.transport(),
    };
    let info = match transport {
        Ok(transport) => cluster::info(&transport, accepted)
            .await
            .map_err(Problem::Cluster),
        Err(error) => Err(Problem::Connect(error)),
    };
    let info = info.map_err(|problem| problems.push(problem)).ok();
    problems.extend(
        info.as_ref()
            .and_then(ClusterInfo::clock_off)
            .map(Problem::Clock),
    );
    let report = StatusReport {
        cluster: ClusterSetting {
            url: cluster.url.clone(),
            source: cluster.url_source.clone(),
        },
        trust: cluster.trust_source.clone(),
        token,
        cluster_info: info,
    };
    (report, problems)
}

/// `cluster   URL from ...`, `TLS       trusts ...`, the token's lines and the cluster's.
impl std::fmt::Display for StatusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ClusterSetting { url, source } = &self.cluster;
        writeln!(f, "cluster   {url} {}", source.describe())?;
        write!(f, "TLS       trusts {}", self.trust.describe())?;
        match &self.token {
            None => f.write_str("\ntoken     none found")?,
            Some(token) => write!(f, "\n{token}")?,
        }
        if let Some(info) = &self.cluster_info {
            write!(f, "\n{}", info.status_lines())?;
        }
        Ok(())
    }
}
