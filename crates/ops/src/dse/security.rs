//! What DC/OS requires of the Data Science Engine in each security mode: the mode itself, as
//! the cluster's bootstrap configuration tells it, and the Mesos permissions the engine's
//! service account needs in strict mode so that Spark can register and launch executors (the
//! Security page of the engine's documentation).

use std::fmt;

use dcos_iam_client::{Action, Rid, Uid};
use dcos_transport::Request;
use serde::{Deserialize, Serialize};

use crate::Clients;
use crate::error::{Context, Error, Result};

/// Where a cluster tells its security mode (a token is needed, as for the other routes).
pub const BOOTSTRAP_CONFIG: &str = "/dcos-metadata/bootstrap-config.json";

/// A cluster's security mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityMode {
    /// No secret store: the engine's credentials cannot be kept in DC/OS.
    Disabled,
    /// The API checks permissions; Mesos lets the engine's tasks run without theirs.
    Permissive,
    /// Everything is checked: the engine's account needs its Mesos permissions.
    Strict,
}

impl SecurityMode {
    /// As the bootstrap configuration's `security` field has it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityMode::Disabled => "disabled",
            SecurityMode::Permissive => "permissive",
            SecurityMode::Strict => "strict",
        }
    }

    /// Whether the secret store works: in permissive and strict mode only.
    pub fn has_secret_store(self) -> bool {
        self != SecurityMode::Disabled
    }
}

impl fmt::Display for SecurityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SecurityMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim() {
            "disabled" => Ok(SecurityMode::Disabled),
            "permissive" => Ok(SecurityMode::Permissive),
            "strict" => Ok(SecurityMode::Strict),
            other => Err(Error::invalid(format!(
                "`{other}` is not a security mode: disabled, permissive or strict"
            ))),
        }
    }
}

/// The cluster's security mode, read from [`BOOTSTRAP_CONFIG`]. A cluster that does not serve
/// the file fails with [`crate::ErrorKind::Api`] (a 404 beneath), for the caller to fall back
/// on a mode it was told.
pub async fn security_mode(clients: &Clients) -> Result<SecurityMode> {
    #[derive(Deserialize)]
    struct BootstrapConfig {
        security: Option<String>,
    }
    let answer = clients
        .iam
        .transport()
        .send(Request::get(BOOTSTRAP_CONFIG))
        .await
        .context("read the cluster's security mode")?;
    let config: BootstrapConfig = answer.json().context("read the cluster's security mode")?;
    let security = config.security.ok_or_else(|| {
        Error::failed(format!(
            "{BOOTSTRAP_CONFIG} has no `security` field: the security mode is not known"
        ))
    })?;
    security
        .parse()
        .map_err(|e: Error| e.context(BOOTSTRAP_CONFIG))
}

/// Who the engine's tasks run as, for its Mesos permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MesosIdentity {
    /// The service account Spark registers with.
    pub account: Uid,
    /// Its Mesos role (the documentation uses the account's id).
    pub role: String,
    /// The Linux user its tasks run as (`nobody` by default).
    pub linux_user: String,
    /// The service's name, as installed: its Marathon app id without the leading `/`.
    pub app_id: String,
}

/// The ten permissions the Security page lists for strict mode, in its order: `create` on the
/// task user (master and agent), the framework role, the reservation, volume and task roles,
/// the task principal and the app id; `delete` on the reservation and volume principals.
pub fn mesos_permissions(identity: &MesosIdentity) -> Result<Vec<(Rid, Action)>> {
    let MesosIdentity {
        account,
        role,
        linux_user,
        app_id,
    } = identity;
    let app_id = app_id.trim_start_matches('/');
    let listed = [
        (
            format!("dcos:mesos:master:task:user:{linux_user}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:agent:task:user:{linux_user}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:master:framework:role:{role}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:master:reservation:role:{role}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:master:reservation:principal:{account}"),
            Action::Delete,
        ),
        (
            format!("dcos:mesos:master:volume:role:{role}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:master:volume:principal:{account}"),
            Action::Delete,
        ),
        (
            format!("dcos:mesos:master:task:role:{role}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:master:task:principal:{account}"),
            Action::Create,
        ),
        (
            format!("dcos:mesos:master:task:app_id:{app_id}"),
            Action::Create,
        ),
    ];
    listed
        .into_iter()
        .map(|(rid, action)| {
            let rid = Rid::new(&rid).map_err(|e| {
                Error::invalid(format!(
                    "the Mesos permission `{rid}` is not a resource id: {e}"
                ))
            })?;
            Ok((rid, action))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_security_pages_ten_permissions() {
        let identity = MesosIdentity {
            account: Uid::new("dse").unwrap(),
            role: "dse-role".into(),
            linux_user: "nobody".into(),
            app_id: "/data-science-engine".into(),
        };
        let permissions: Vec<String> = mesos_permissions(&identity)
            .unwrap()
            .iter()
            .map(|(rid, action)| format!("{rid} {action}"))
            .collect();
        assert_eq!(
            permissions,
            [
                "dcos:mesos:master:task:user:nobody create",
                "dcos:mesos:agent:task:user:nobody create",
                "dcos:mesos:master:framework:role:dse-role create",
                "dcos:mesos:master:reservation:role:dse-role create",
                "dcos:mesos:master:reservation:principal:dse delete",
                "dcos:mesos:master:volume:role:dse-role create",
                "dcos:mesos:master:volume:principal:dse delete",
                "dcos:mesos:master:task:role:dse-role create",
                "dcos:mesos:master:task:principal:dse create",
                "dcos:mesos:master:task:app_id:data-science-engine create",
            ]
        );
    }

    #[test]
    fn a_mode_is_one_of_three_words() {
        for mode in [
            SecurityMode::Disabled,
            SecurityMode::Permissive,
            SecurityMode::Strict,
        ] {
            assert_eq!(mode.as_str().parse::<SecurityMode>().unwrap(), mode);
        }
        assert!(!SecurityMode::Disabled.has_secret_store());
        let e = "STRICT".parse::<SecurityMode>().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Invalid);
    }
}
