//! Offboarding: revoke the service account's read on the names and values of both secrets,
//! and delete them, with the record of an unfinished rotation with a new AWS key if one is left
//! (it holds both pairs). The ACLs stay: without grants they give nothing, and others may hold
//! permissions on them.
//!
//! Before anything is changed, the run reads what it acts on: the account must exist (a
//! misspelt id deletes nothing), a secret that is another account's login secret is refused,
//! and so is a secret that an app or pod uses, unless forced; the plan names them.

use dcos_iam_client::{Action, GrantState, Principal, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::future::try_join_all;

use super::Paths;
use crate::Clients;
use crate::consumers;
use crate::error::{Context, Error, ErrorKind, Remedy, Result, RunResult};
use crate::plan::{self, Task, Write};
use crate::report::{Outcome, S3Command, S3Report, Step};
use crate::reporter::{Reporter, Warning};

/// An offboarding of `account` from the pair at `paths`.
#[derive(Debug, Clone)]
pub struct Offboarding {
    pub account: Uid,
    pub paths: Paths,
    /// Keep the secrets; only revoke the permissions.
    pub keep_secrets: bool,
    /// Delete secrets that apps or pods use (they fail at their next start).
    pub force: bool,
    /// Read and plan only.
    pub dry_run: bool,
    /// The plan a person confirmed: the run changes nothing if the cluster moved since.
    pub confirmed: Option<crate::Confirmed>,
}

/// Runs an offboarding. Steps already done are not taken back when another fails: the run is
/// partial ([`ErrorKind::Partial`]), and running it again finishes it.
pub async fn offboard(
    clients: &Clients,
    job: &Offboarding,
    reporter: &dyn Reporter,
) -> RunResult<S3Report> {
    let mut report = job
        .paths
        .report(S3Command::Offboard, Some(&job.account), job.dry_run);
    let result = async {
        // A confirmed plan: the plan of the cluster as it is now (its warnings said already)
        // must be the same.
        if let (Some(confirmed), false) = (&job.confirmed, job.dry_run) {
            let again = Offboarding {
                dry_run: true,
                confirmed: None,
                ..job.clone()
            };
            let mut now = job
                .paths
                .report(S3Command::Offboard, Some(&job.account), true);
            steps(clients, &again, &crate::Silent, &mut now).await?;
            confirmed.check(&now.steps)?;
        }
        steps(clients, job, reporter, &mut report).await
    }
    .await;
    super::finish(report, result)
}

async fn steps(
    clients: &Clients,
    job: &Offboarding,
    reporter: &dyn Reporter,
    report: &mut S3Report,
) -> Result<()> {
    let uid = &job.account;
    let principal = Principal::User(uid.clone());
    let rids = job.paths.rids(true)?;
    let both = job.paths.both();
    let deleting = !job.keep_secrets;
    let pending_path = job.paths.pending()?;
    // What the run acts on, read at once: the account, the values it deletes (to say what they
    // are), a rotation's record, and the apps that use them.
    let user = clients.iam.user(uid);
    let (account, values, pending, users) = tokio::join!(
        user.get_opt(),
        try_join_all(
            both.iter()
                .filter(|_| deleting)
                .map(|p| clients.secret_value(p))
        ),
        async {
            match deleting {
                true => clients.secret_value(&pending_path).await,
                false => Ok(None),
            }
        },
        async {
            match deleting {
                true => Some(consumers::read(clients).await),
                false => None,
            }
        },
    );
    if account
        .context(format!("read the account `{uid}`"))?
        .is_none()
    {
        return Err(Error::not_found(format!(
            "the service account `{uid}` does not exist; nothing was revoked or deleted"
        ))
        .with_remedy(Remedy::AccountGone { uid: uid.clone() }));
    }
    let values = values.context("read the secrets")?;
    // Those who may delete only the pair itself still offboard; the record is then left, said.
    let pending = pending
        .unwrap_or_else(|e| {
            reporter.warn(&Warning::RotationRecordUnread {
                path: pending_path.clone(),
                why: e.to_string(),
            });
            None
        })
        .and_then(|value| super::aws_rotate::unfinished_rotation(&value, &pending_path))
        .map(|(user, key)| {
            format!(
                "the record of an unfinished rotation of IAM user `{user}`; its new access key \
                 {key} may still exist in AWS, which offboarding does not touch"
            )
        });
    let mut notes: Vec<Vec<String>> = vec![Vec::new(); both.len()];
    for ((path, value), notes) in both.iter().zip(&values).zip(&mut notes) {
        let Some(owner) = value.as_ref().and_then(login_secret_owner) else {
            continue;
        };
        if &owner != uid {
            return Err(Error::conflict(format!(
                "`{path}` is the login secret of the service account `{owner}`, not an S3 key; \
                 nothing was revoked or deleted"
            ))
            .with_remedy(Remedy::CheckPairPaths));
        }
        notes.push(format!("the login secret of `{owner}`"));
    }
    match &users {
        Some(Err(why)) => reporter.warn(&Warning::MarathonUnread {
            why: why.to_string(),
        }),
        Some(Ok(workloads)) => {
            let paths = both.iter().map(|p| p.as_str());
            crate::secrets::refuse_used(workloads, paths.clone(), job.force)?;
            for (path, notes) in both.iter().zip(&mut notes) {
                notes.extend(
                    workloads
                        .of(path.as_str())
                        .iter()
                        .map(|c| format!("used by {c}, which fails at its next start without it")),
                );
            }
        }
        None => {}
    }

    if job.dry_run {
        let states = try_join_all(
            rids.iter()
                .map(|rid| clients.grant_state(rid, &principal, Action::Read)),
        )
        .await
        .context("read the grants")?;
        for (rid, state) in rids.iter().zip(states) {
            let mut step = Step::grant(rid, Action::Read, uid);
            step.outcome = match state {
                GrantState::Granted => Outcome::WouldRevoke,
                _ => Outcome::NotGranted,
            };
            report.steps.push(step);
        }
        for ((path, value), notes) in both.iter().zip(values_or_kept(&values, &both)).zip(notes) {
            let outcome = match (job.keep_secrets, value) {
                (true, _) => Outcome::Kept,
                (false, true) => Outcome::WouldDelete,
                (false, false) => Outcome::Absent,
            };
            let mut step = Step::secret(path, outcome);
            step.notes = notes;
            report.steps.push(step);
        }
        if let Some(note) = pending {
            let mut step = Step::secret(&pending_path, Outcome::WouldDelete);
            step.notes.push(note);
            report.steps.push(step);
        }
        return Ok(());
    }

    let mut tasks = Vec::new();
    for rid in &rids {
        let mut step = Step::grant(rid, Action::Read, uid);
        step.outcome = Outcome::NotGranted;
        let revoke = Write::Revoke {
            rid: rid.clone(),
            principal: principal.clone(),
            action: Action::Read,
            undoable: false,
        };
        tasks.push(Task::write(step, 0, revoke));
    }
    for (path, notes) in both.into_iter().zip(notes) {
        let mut task = match job.keep_secrets {
            true => Task::report(Step::secret(path, Outcome::Kept)),
            false => Task::write(
                Step::secret(path, Outcome::Absent),
                0,
                Write::DeleteSecret {
                    path: path.clone(),
                    before: None,
                },
            ),
        };
        task.step.notes = notes;
        tasks.push(task);
    }
    if let Some(note) = pending {
        let mut step = Step::secret(&pending_path, Outcome::Absent);
        step.notes.push(note);
        let delete = Write::DeleteSecret {
            path: pending_path,
            before: None,
        };
        tasks.push(Task::write(step, 0, delete));
    }
    let result = plan::run(clients, &mut tasks, reporter).await;
    report.steps = plan::steps(tasks);
    match result {
        Ok(()) => Ok(()),
        Err(cause)
            if report
                .steps
                .iter()
                .any(|s| matches!(s.outcome, Outcome::Revoked | Outcome::Deleted)) =>
        {
            Err(cause
                .with_kind(ErrorKind::Partial)
                .with_remedy(Remedy::FinishPartial))
        }
        Err(cause) => Err(cause),
    }
}

/// Whether each secret exists (all `false` when the values were not read: the secrets are kept).
fn values_or_kept(values: &[Option<SecretValue>], both: &[&SecretPath]) -> Vec<bool> {
    match values.is_empty() {
        true => vec![false; both.len()],
        false => values.iter().map(Option::is_some).collect(),
    }
}

/// The account whose login secret `value` is, if it is one.
fn login_secret_owner(value: &SecretValue) -> Option<Uid> {
    crate::accounts::login_secret(value).map(|secret| secret.uid)
}
