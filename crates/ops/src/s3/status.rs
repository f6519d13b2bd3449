//! Checks one onboarding without changing it: both secrets exist, the service account can see
//! their names, the app may mount them, whether Marathon runs the app with them, and that no
//! rotation with a new AWS key was left unfinished.

use dcos_iam_client::Uid;
use dcos_secrets_client::SecretPath;
use serde::Serialize;

use super::Paths;
use crate::access;
use crate::dse;
use crate::error::{Context, Result};
use crate::marathon;
use crate::{Clients, PrincipalType};

/// An onboarding to check.
#[derive(Debug, Clone)]
pub struct StatusCheck {
    pub account: Uid,
    pub paths: Paths,
}

/// One check: what it is about, whether it holds (`None`: it could not be told), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `account`, `secret`, `grant`, `space`, `app`, `restart` or `rotation`.
    pub check: &'static str,
    /// The account, secret path or app id it is about.
    pub target: String,
    pub ok: Option<bool>,
    pub detail: String,
    /// What would make a failed check hold, for the caller to word.
    #[serde(skip)]
    pub remedy: Option<crate::Remedy>,
}

/// The checks of one onboarding.
#[derive(Debug, Clone, Serialize)]
pub struct S3Status {
    pub service: String,
    pub service_account: String,
    /// Whether no check failed (checks that could not be told do not count).
    pub healthy: bool,
    pub checks: Vec<Check>,
}

/// The checks as a table.
impl std::fmt::Display for S3Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<Vec<String>> = (self.checks.iter())
            .map(|c| {
                let ok = match c.ok {
                    Some(true) => "ok",
                    Some(false) => "FAILED",
                    None => "unknown",
                };
                let row = [c.check, &c.target, ok, &c.detail];
                row.map(str::to_owned).to_vec()
            })
            .collect();
        let header = ["CHECK", "TARGET", "STATUS", "DETAIL"];
        f.write_str(&crate::text::table(&header, &rows))
    }
}

/// Runs every check; reads only.
pub async fn status(clients: &Clients, job: &StatusCheck) -> Result<S3Status> {
    let uid = &job.account;
    let both = job.paths.both();
    let app_id = job.paths.service.app_id();
    let user = clients.iam.user(uid);
    let pending_path = job.paths.pending()?;
    let (account, values, pending, reports, users) = tokio::join!(
        user.get_opt(),
        futures::future::try_join_all(both.iter().map(|p| clients.secret_value(p))),
        clients.secret_value(&pending_path),
        futures::future::try_join_all(both.iter().map(|p| access::report(clients, p))),
        crate::consumers::read(clients),
    );
    let account = account.context(format!("read the account `{uid}`"))?;
    let values = values.context("read the secrets")?;
    // `Err`: the record could not be read (those allowed only the pair itself), so not told.
    let pending = pending.map(|value| {
        value.and_then(|value| super::aws_rotate::unfinished_rotation(&value, &pending_path))
    });
    let reports = reports?;
    let mut checks = Vec::new();
    let check = |check, target: &dyn ToString, ok, detail: String| Check {
        check,
        target: target.to_string(),
        ok,
        detail,
        remedy: None,
    };
    checks.push(match &account {
        None => check("account", uid, Some(false), "does not exist".into()),
        Some(user) if !user.is_service => check(
            "account",
            uid,
            Some(false),
            "is a user, not a service account".into(),
        ),
        Some(_) => check("account", uid, Some(true), "a service account".into()),
    });
    for (path, value) in both.iter().zip(&values) {
        checks.push(match value {
            Some(_) => check("secret", path, Some(true), "exists".into()),
            None => check("secret", path, Some(false), "does not exist".into()),
        });
    }
    for (path, report) in both.iter().zip(&reports) {
        let reach = report
            .name_listers
            .iter()
            .find(|e| e.principal == uid.as_str() && e.principal_type != PrincipalType::Group);
        checks.push(match reach {
            Some(entry) => {
                let how = entry.way.describe();
                check(
                    "grant",
                    path,
                    Some(true),
                    format!("`{uid}` may see it: {how}"),
                )
            }
            None => check(
                "grant",
                path,
                Some(false),
                format!("`{uid}` holds no read on dcos:secrets:list:default:{path}"),
            ),
        });
    }
    for path in both {
        let inside = dse::in_space(path, &job.paths.service);
        let detail = match inside {
            true => format!("app {app_id} may mount it"),
            false => format!("outside the space of app {app_id}: Marathon refuses to mount it"),
        };
        checks.push(check("space", path, Some(inside), detail));
    }
    let mut app = app_check(&users, &both, &app_id);
    if app.ok == Some(true)
        && let Some((running, wanted, oldest)) = marathon::tasks(clients, &app_id).await
    {
        app.detail
            .push_str(&format!("; {running} of {wanted} tasks running"));
        if let Some(oldest) = oldest {
            app.detail.push_str(&format!(
                ", the oldest started {oldest} (with the secrets of that moment)"
            ));
        }
    }
    checks.push(app);
    checks.push(check(
        "restart",
        &app_id,
        None,
        "cannot be told: the secret store keeps no change times; tasks keep the pair they \
         started with, so after a rotation restart the app (a rotation with a restart does)"
            .into(),
    ));
    checks.push(match pending {
        Err(e) => check(
            "rotation",
            &pending_path,
            None,
            format!("cannot be told: {e}"),
        ),
        Ok(Some((user, key))) => Check {
            remedy: Some(crate::Remedy::FinishRotation { user: user.clone() }),
            ..check(
                "rotation",
                &pending_path,
                Some(false),
                format!(
                    "a rotation of IAM user `{user}` to the new access key {key} has not \
                     finished"
                ),
            )
        },
        Ok(None) => check(
            "rotation",
            &pending_path,
            Some(true),
            "no rotation with a new AWS key under way".into(),
        ),
    });
    Ok(S3Status {
        service: app_id,
        service_account: uid.to_string(),
        healthy: checks.iter().all(|c| c.ok != Some(false)),
        checks,
    })
}

/// Whether Marathon's app declares both secrets.
fn app_check(
    users: &std::result::Result<crate::consumers::Workloads, crate::consumers::Unread>,
    both: &[&SecretPath],
    app_id: &str,
) -> Check {
    let (ok, detail) = match users {
        Err(why) => (None, format!("Marathon could not be read: {why}")),
        Ok(workloads) => {
            let missing: Vec<String> = both
                .iter()
                .filter(|p| !workloads.of(p.as_str()).iter().any(|c| c.id == app_id))
                .map(|p| format!("`{p}`"))
                .collect();
            match missing.as_slice() {
                [] => (Some(true), "declares both secrets".to_owned()),
                missing => (
                    None,
                    format!(
                        "no app {app_id} declares {} (not deployed yet, or deployed with other options)",
                        missing.join(" and ")
                    ),
                ),
            }
        }
    };
    Check {
        check: "app",
        target: app_id.to_owned(),
        ok,
        detail,
        remedy: None,
    }
}
