//! What a cluster says of itself, from the discovery endpoints: its id, name, DC/OS version
//! and variant. A runbook prints it before it changes anything.

use dcos_transport::{Request, Transport};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Result};

/// A cluster's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterInfo {
    /// The cluster URL.
    pub url: String,
    /// The cluster id (a UUID), which names the `dcos` CLI's folder for it.
    pub id: String,
    /// The cluster's name; `None` when it could not be read (it needs a token).
    pub name: Option<String>,
    /// The DC/OS version, like `2.1.0`.
    pub version: String,
    /// `enterprise` or `open`.
    pub variant: String,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "CLUSTER_ID")]
    cluster_id: String,
}

#[derive(Deserialize)]
struct Version {
    version: String,
    #[serde(rename = "dcos-variant")]
    variant: String,
}

#[derive(Deserialize)]
struct StateSummary {
    cluster: String,
}

/// A JSON document that needs no token.
async fn public<T: serde::de::DeserializeOwned>(
    transport: &Transport,
    path: &str,
) -> Result<T, dcos_transport::Error> {
    transport
        .send(Request::get(path).unauthenticated())
        .await?
        .json()
}

/// Reads the cluster's id and version (no token needed) and, with `named`, its name (which
/// needs the transport's token).
pub async fn info(transport: &Transport, named: bool) -> Result<ClusterInfo> {
    let (metadata, version, summary) = tokio::join!(
        public::<Metadata>(transport, "/metadata"),
        public::<Version>(transport, "/dcos-metadata/dcos-version.json"),
        async {
            if !named {
                return Ok(None);
            }
            let answer = transport
                .send(Request::get("/mesos/master/state-summary"))
                .await?;
            answer.json::<StateSummary>().map(Some)
        },
    );
    let metadata = metadata.context("read the cluster's metadata")?;
    let version = version.context("read the cluster's version")?;
    let summary = summary.context("read the cluster's name")?;
    Ok(ClusterInfo {
        url: transport.base_url().to_owned(),
        id: metadata.cluster_id,
        name: summary.map(|s| s.cluster),
        version: version.version,
        variant: version.variant,
    })
}
