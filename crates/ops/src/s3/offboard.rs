//! Offboarding: revoke the service account's read on the names and values of both secrets,
//! and delete them. The ACLs stay: without grants they give nothing, and others may hold
//! permissions on them.

use dcos_iam_client::{Action, GrantState, Principal, Uid};
use futures::future::try_join_all;

use super::Paths;
use crate::Clients;
use crate::error::{Context, ErrorKind, Remedy, Result, RunResult};
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
    /// Read and plan only.
    pub dry_run: bool,
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
    let result = steps(clients, job, reporter, &mut report).await;
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
    let exists = clients
        .iam
        .user(uid)
        .get_opt()
        .await
        .context(format!("read the account `{uid}`"))?
        .is_some();
    if !exists {
        reporter.warn(&Warning::AccountMissing { uid: uid.clone() });
    }

    if job.dry_run {
        let (states, present) = tokio::join!(
            try_join_all(
                rids.iter()
                    .filter(|_| exists)
                    .map(|rid| clients.grant_state(rid, &principal, Action::Read))
            ),
            try_join_all(
                both.iter()
                    .filter(|_| !job.keep_secrets)
                    .map(|p| clients.secret_value(p))
            ),
        );
        let mut states = states.context("read the grants")?.into_iter();
        let mut present = present.context("read the secrets")?.into_iter();
        for rid in &rids {
            let mut step = Step::grant(rid, Action::Read, uid);
            step.outcome = match states.next() {
                Some(GrantState::Granted) => Outcome::WouldRevoke,
                _ => Outcome::NotGranted,
            };
            report.steps.push(step);
        }
        for path in both {
            let outcome = match (job.keep_secrets, present.next()) {
                (true, _) => Outcome::Kept,
                (false, Some(Some(_))) => Outcome::WouldDelete,
                (false, _) => Outcome::Absent,
            };
            report.steps.push(Step::secret(path, outcome));
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
        };
        tasks.push(match exists {
            true => Task::write(step, 0, revoke),
            false => Task::report(step),
        });
    }
    for path in both {
        tasks.push(match job.keep_secrets {
            true => Task::report(Step::secret(path, Outcome::Kept)),
            false => Task::write(
                Step::secret(path, Outcome::Absent),
                0,
                Write::DeleteSecret { path: path.clone() },
            ),
        });
    }
    let result = plan::run(clients, &mut tasks).await;
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
