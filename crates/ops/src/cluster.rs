//! What a cluster says of itself, from the discovery endpoints: its id, name, DC/OS version
//! and variant. A runbook prints it before it changes anything.

use std::time::SystemTime;

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
    /// How far the cluster's clock is ahead of this machine's (negative: behind), in seconds,
    /// from the `Date` of an answer; `None` when the answer had none. Good to a second or so.
    pub clock_skew_seconds: Option<i64>,
}

/// `cluster NAME (ID)`, `DC/OS VERSION VARIANT` and the URL: `cluster info`.
impl std::fmt::Display for ClusterInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name.as_deref().unwrap_or("(name needs a token)");
        write!(
            f,
            "cluster {name} ({})\nDC/OS {} {}\n{}",
            self.id, self.version, self.variant, self.url
        )
    }
}

/// A clock further off than this is a problem: tokens are checked against the cluster's clock,
/// and a service-account login JWT is refused outside its validity.
pub const SKEW_LIMIT_SECONDS: i64 = 60;

impl ClusterInfo {
    /// How far off this machine's clock is, when it is further than [`SKEW_LIMIT_SECONDS`].
    pub fn clock_off(&self) -> Option<i64> {
        self.clock_skew_seconds
            .filter(|s| s.abs() > SKEW_LIMIT_SECONDS)
    }

    /// The `identity` and `clock` lines of `status`.
    pub fn status_lines(&self) -> String {
        let name = self.name.as_deref().unwrap_or("(name needs a token)");
        let (id, version, variant) = (&self.id, &self.version, &self.variant);
        let mut lines = format!("identity  {name} ({id}), DC/OS {version} {variant}");
        if let Some(skew) = self.clock_skew_seconds {
            let verdict = if self.clock_off().is_some() {
                "too far off"
            } else {
                "ok"
            };
            lines.push_str(&format!(
                "\nclock     {skew:+} s against the cluster's ({verdict})"
            ));
        }
        lines
    }
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

/// A JSON document that needs no token, and the skew of the answer's `Date` against the
/// middle of the request by this machine's clock.
async fn public<T: serde::de::DeserializeOwned>(
    transport: &Transport,
    path: &str,
) -> Result<(T, Option<i64>), dcos_transport::Error> {
    let sent = SystemTime::now();
    let answer = transport.send(Request::get(path).unauthenticated()).await?;
    let received = SystemTime::now();
    let middle = sent + received.duration_since(sent).unwrap_or_default() / 2;
    let skew = answer.date().map(|date| seconds_between(middle, date));
    Ok((answer.json()?, skew))
}

/// `to - from` in whole seconds, rounded, of either sign.
fn seconds_between(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(ahead) => ahead.as_secs_f64().round() as i64,
        Err(behind) => -(behind.duration().as_secs_f64().round() as i64),
    }
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
    let (metadata, clock_skew_seconds) = metadata.context("read the cluster's metadata")?;
    let (version, _) = version.context("read the cluster's version")?;
    let summary = summary.context("read the cluster's name")?;
    Ok(ClusterInfo {
        url: transport.base_url().to_owned(),
        id: metadata.cluster_id,
        name: summary.map(|s| s.cluster),
        version: version.version,
        variant: version.variant,
        clock_skew_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn skew_has_a_sign() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            seconds_between(now, now + Duration::from_millis(90_400)),
            90
        );
        assert_eq!(
            seconds_between(now, now - Duration::from_millis(90_600)),
            -91
        );
        assert_eq!(seconds_between(now, now), 0);
    }
}
