//! `dse status`: every check of one engine's set-up, each ok, failed or unknown with why. Reads
//! only. With the engine's options file, the checks follow what the options name; without it,
//! what `dse setup` would have stored.

use std::path::Path;

use dcos_iam_client::{Credentials, GrantState, Principal, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::future::join_all;
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use super::security::{MesosIdentity, SecurityMode, mesos_permissions, security_mode};
use super::setup::STORED;
use super::{ServiceName, in_space, keytab::Keytab, stores};
use crate::Clients;
use crate::error::{Context, Result};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Ok,
    Failed,
    /// It could not be made (a secret that could not be read, say): why says why.
    Unknown,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked: `account`, `login`, `mesos permission`, `secret`, `space`, `read`,
    /// `keytab`, `keystore`, `truststore`, `extra secrets`.
    pub check: &'static str,
    /// What it is checked on: the account, a resource id, a secret path.
    pub target: String,
    pub state: CheckState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// Every check of one engine.
#[derive(Debug, Clone, Serialize)]
pub struct DseStatus {
    pub service_name: String,
    pub service_account: String,
    /// `None` when the cluster does not tell it.
    pub security_mode: Option<SecurityMode>,
    pub checks: Vec<Check>,
}

impl DseStatus {
    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.state == CheckState::Failed)
            .count()
    }
}

/// `CHECK  TARGET  STATE  WHY`, one row per check.
impl std::fmt::Display for DseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<Vec<String>> = (self.checks.iter())
            .map(|c| {
                let state = match c.state {
                    CheckState::Ok => "ok",
                    CheckState::Failed => "FAILED",
                    CheckState::Unknown => "unknown",
                };
                let why = c.why.clone().unwrap_or_default();
                vec![c.check.to_owned(), c.target.clone(), state.to_owned(), why]
            })
            .collect();
        f.write_str(&crate::text::table(
            &["CHECK", "TARGET", "STATE", "WHY"],
            &rows,
        ))
    }
}

/// What to check.
#[derive(Debug, Clone)]
pub struct StatusJob {
    pub service: ServiceName,
    pub account: Uid,
    pub login_secret: SecretPath,
    /// The engine's options, when given.
    pub options: Option<Value>,
}

impl StatusJob {
    /// The checks of the service named `service`: with `options_file`, what its options name
    /// (their account and login secret win over the defaults); without it, `dse setup`'s
    /// defaults and names.
    pub fn new(
        service: &str,
        account: Option<&str>,
        login_secret: Option<&str>,
        options_file: Option<&Path>,
    ) -> Result<Self> {
        let offboard = super::offboard::Offboard::new(service, account, login_secret)?;
        let options = options_file.map(super::read_options).transpose()?;
        let named = |pointer: &str| {
            let text = options.as_ref()?.pointer(pointer)?.as_str()?;
            Some(text.to_owned())
        };
        let account = match (account, named("/service/service_account")) {
            (None, Some(uid)) => Uid::new(&uid).context("the options' service.service_account")?,
            _ => offboard.account,
        };
        let login_secret = match (login_secret, named("/service/service_account_secret")) {
            (None, Some(path)) => {
                SecretPath::new(&path).context("the options' service.service_account_secret")?
            }
            _ => offboard.login_secret,
        };
        Ok(Self {
            service: offboard.service,
            account,
            login_secret,
            options,
        })
    }

    /// A string option.
    fn option(&self, pointer: &str) -> Option<&str> {
        self.options.as_ref()?.pointer(pointer)?.as_str()
    }

    /// The secrets to check, each once: the login secret, then what the options name (or the
    /// names `dse setup` stores, those that exist).
    fn secrets(&self) -> Vec<String> {
        let mut paths = vec![self.login_secret.to_string()];
        match &self.options {
            Some(_) => {
                let named = [
                    "/spark/spark_mesos_secret",
                    "/storage/s3/aws_access_key_id",
                    "/storage/s3/aws_secret_access_key",
                    "/security/kerberos/keytab_secret",
                    "/security/tls/keystore_secret",
                    "/security/tls/keystore_password",
                    "/security/tls/key_password",
                    "/security/tls/truststore_secret",
                    "/security/tls/truststore_password",
                    "/security/tls/ca_bundle_secret",
                ];
                paths.extend(
                    named
                        .iter()
                        .filter_map(|p| self.option(p))
                        .map(str::to_owned),
                );
                let extra = self.option("/security/extra_spark_secrets/secret_names");
                paths.extend(extra.into_iter().flat_map(split));
            }
            None => {
                let stored = STORED
                    .iter()
                    .filter_map(|n| self.service.secret_path(n).ok());
                paths.extend(stored.map(|p| p.to_string()));
            }
        }
        let mut seen = std::collections::HashSet::new();
        paths.retain(|p| !p.is_empty() && seen.insert(p.clone()));
        paths
    }
}

/// The entries of a comma list, trimmed.
fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn check(check: &'static str, target: impl ToString, result: Result<(), String>) -> Check {
    let (state, why) = match result {
        Ok(()) => (CheckState::Ok, None),
        Err(why) => (CheckState::Failed, Some(why)),
    };
    Check {
        check,
        target: target.to_string(),
        state,
        why,
    }
}

fn unknown(check: &'static str, target: impl ToString, why: impl ToString) -> Check {
    Check {
        check,
        target: target.to_string(),
        state: CheckState::Unknown,
        why: Some(why.to_string()),
    }
}

/// Logs in with the login secret `value`, as the account `uid`.
async fn log_in(clients: &Clients, uid: &Uid, value: Option<&SecretValue>) -> Result<(), String> {
    let value = value.ok_or("the login secret does not exist")?;
    let secret = crate::accounts::login_secret(value).ok_or("it is not a login secret")?;
    if &secret.uid != uid {
        return Err(format!("it is the login secret of `{}`", secret.uid));
    }
    let credentials = Credentials::service_account(secret.uid, secret.private_key_pem)
        .map_err(|e| format!("its key cannot be used: {e}"))?;
    match clients.iam.login(&credentials).await {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("the login is refused: {e}")),
    }
}

/// Runs every check.
pub async fn status(clients: &Clients, job: &StatusJob) -> Result<DseStatus> {
    let uid = &job.account;
    let user = clients.iam.user(uid);
    let paths = job.secrets();
    let (account, mode, values) = tokio::join!(
        user.get_opt(),
        security_mode(clients),
        join_all(paths.iter().map(|p| async move {
            let path = SecretPath::new(p).map_err(|e| e.to_string())?;
            clients.secret_value(&path).await.map_err(|e| e.to_string())
        })),
    );
    let mut checks = Vec::new();
    let account = account.context(format!("read the account `{uid}`"))?;
    checks.push(check(
        "account",
        uid,
        match &account {
            Some(user) if user.is_service => Ok(()),
            Some(_) => Err("a user, not a service account".into()),
            None => Err("does not exist".into()),
        },
    ));
    let value_of = |path: &str| -> Option<&Result<Option<SecretValue>, String>> {
        paths.iter().position(|p| p == path).map(|i| &values[i])
    };
    // A real login with the login secret's key.
    checks.push(match value_of(job.login_secret.as_str()) {
        Some(Err(why)) => unknown("login", &job.login_secret, why),
        Some(Ok(value)) => check(
            "login",
            &job.login_secret,
            log_in(clients, uid, value.as_ref()).await,
        ),
        None => unknown("login", &job.login_secret, "not read"),
    });
    // The Mesos permissions of strict mode.
    let mode = mode.ok();
    if mode == Some(SecurityMode::Strict) {
        let identity = MesosIdentity {
            account: uid.clone(),
            role: job
                .option("/spark/spark_mesos_role")
                .unwrap_or(uid.as_str())
                .to_owned(),
            linux_user: "nobody".to_owned(),
            app_id: job.service.as_str().to_owned(),
        };
        let principal = Principal::User(uid.clone());
        let wanted = mesos_permissions(&identity)?;
        let held = join_all(
            wanted
                .iter()
                .map(|(rid, action)| clients.grant_state(rid, &principal, *action)),
        )
        .await;
        for ((rid, action), state) in wanted.iter().zip(held) {
            checks.push(match state {
                Ok(GrantState::Granted) => {
                    check("mesos permission", format!("{action} on {rid}"), Ok(()))
                }
                Ok(_) => check(
                    "mesos permission",
                    format!("{action} on {rid}"),
                    Err("not granted".into()),
                ),
                Err(e) if e.is_not_found() => check(
                    "mesos permission",
                    format!("{action} on {rid}"),
                    Err("not granted".into()),
                ),
                Err(e) => unknown("mesos permission", format!("{action} on {rid}"), e),
            });
        }
    }
    // Each secret: there, in the service's space, readable by the account.
    let readable = match &account {
        Some(_) => crate::access::principal_report(clients, &Principal::User(uid.clone()), None)
            .await
            .map(|r| r.readable.into_iter().map(|e| e.path).collect::<Vec<_>>())
            .map_err(|e| e.to_string()),
        None => Err("the account does not exist".into()),
    };
    for (path, value) in paths.iter().zip(&values) {
        match value {
            Ok(None) if job.options.is_none() && path != job.login_secret.as_str() => continue,
            Ok(None) => {
                checks.push(check("secret", path, Err("does not exist".into())));
                continue;
            }
            Ok(Some(_)) => checks.push(check("secret", path, Ok(()))),
            Err(why) => {
                checks.push(unknown("secret", path, why));
                continue;
            }
        }
        let space = match SecretPath::new(path) {
            Ok(p) if in_space(&p, &job.service) => Ok(()),
            _ => Err(format!("app {} cannot mount it", job.service.app_id())),
        };
        checks.push(check("space", path, space));
        checks.push(match &readable {
            Ok(paths)
                if paths
                    .iter()
                    .any(|p| p.trim_start_matches('/') == path.as_str()) =>
            {
                check("read", path, Ok(()))
            }
            Ok(_) => check("read", path, Err(format!("`{uid}` cannot read its value"))),
            Err(why) => unknown("read", path, why),
        });
    }
    // What the options name opens as it should.
    let bytes = |pointer: &str| -> Option<Vec<u8>> {
        match value_of(job.option(pointer)?)? {
            Ok(Some(value)) => Some(value.expose_bytes().to_vec()),
            _ => None,
        }
    };
    if let Some(keytab) = bytes("/security/kerberos/keytab_secret") {
        let primary = job
            .option("/security/kerberos/primary")
            .unwrap_or("jupyter");
        let realm = job.option("/security/kerberos/realm").unwrap_or_default();
        let result = Keytab::parse(&keytab).and_then(|k| k.check(primary, realm));
        let target = job
            .option("/security/kerberos/keytab_secret")
            .unwrap_or_default();
        checks.push(check("keytab", target, result.map_err(|e| e.to_string())));
    }
    let text = |pointer: &str| {
        let bytes = bytes(pointer)?;
        Some(SecretString::from(String::from_utf8(bytes).ok()?))
    };
    for (what, store, password, key) in [
        (
            "keystore",
            "/security/tls/keystore_secret",
            "/security/tls/keystore_password",
            Some("/security/tls/key_password"),
        ),
        (
            "truststore",
            "/security/tls/truststore_secret",
            "/security/tls/truststore_password",
            None,
        ),
    ] {
        let (Some(bytes), Some(target)) = (bytes(store), job.option(store)) else {
            continue;
        };
        let key = key.and_then(text);
        let result = match text(password) {
            Some(password) => stores::open(&bytes, target, &password, key.as_ref())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("its password secret cannot be read".into()),
        };
        checks.push(check(what, target, result));
    }
    if job.options.is_some() {
        let lists = ["secret_names", "secret_filenames", "secret_envkeys"].map(|k| {
            job.option(&format!("/security/extra_spark_secrets/{k}"))
                .map_or(0, |l| split(l).len())
        });
        if lists.iter().any(|n| *n > 0) {
            let equal = lists.iter().all(|n| *n == lists[0]);
            let why = format!(
                "the lists have {}, {} and {} entries",
                lists[0], lists[1], lists[2]
            );
            checks.push(check(
                "extra secrets",
                "security.extra_spark_secrets",
                if equal { Ok(()) } else { Err(why) },
            ));
        }
    }
    Ok(DseStatus {
        service_name: job.service.to_string(),
        service_account: uid.to_string(),
        security_mode: mode,
        checks,
    })
}
