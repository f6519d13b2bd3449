//! Deleting one secret: planned from the value it holds, so that a confirmed plan deletes that
//! value and no other.

use dcos_secrets_client::{SecretPath, SecretValue};
use serde::Serialize;

use crate::Clients;
use crate::error::{Error, Failed, RunResult};
use crate::plan::{Confirmed, check_confirmed};
use crate::report::{Outcome, Status, Step};

/// What to delete.
#[derive(Debug, Clone)]
pub struct Deletion {
    /// The secret.
    pub path: SecretPath,
    /// Whether a missing secret is no failure.
    pub if_exists: bool,
    /// Plan only.
    pub dry_run: bool,
    /// The plan a person confirmed: the value must still be the one it showed.
    pub confirmed: Option<Confirmed>,
}

/// What a deletion did.
#[derive(Debug, Clone, Serialize)]
pub struct DeletionReport {
    /// The secret.
    pub path: String,
    /// `changed` (deleted), `would_change`, or `unchanged` (it was absent).
    pub result: Status,
    /// Whether the value was binary, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    /// The one step, with the keyed fingerprint of the value it deletes.
    pub steps: Vec<Step>,
}

/// Deletes the secret, after checking it is the confirmed one. A secret deleted meanwhile is
/// gone, as asked: absent.
pub async fn delete(clients: &Clients, job: &Deletion) -> RunResult<DeletionReport> {
    let path = &job.path;
    let mut report = DeletionReport {
        path: path.to_string(),
        result: Status::Unchanged,
        binary: None,
        steps: Vec::new(),
    };
    let secret = clients.secrets.secret(path);
    let value = match secret.get_opt().await {
        Ok(value) => value,
        Err(e) => return fail(report, Error::from(e).context(format!("read `{path}`"))),
    };
    let Some(value) = value else {
        return absent(report, job);
    };
    report.binary = Some(matches!(value, SecretValue::Binary(_)));
    let mut step = Step::secret(path, Outcome::planned(Outcome::WouldDelete, job.dry_run));
    step.previous_fingerprint = Some(value.fingerprint());
    drop(value);
    report.steps.push(step);
    if job.dry_run {
        report.result = Status::WouldChange;
        return Ok(report);
    }
    if let Err(error) = check_confirmed(job.confirmed.as_ref(), &report.steps) {
        report.steps[0].outcome = Outcome::NotRun;
        return fail(report, error);
    }
    match secret.delete().await {
        Ok(()) => {
            report.steps[0].outcome = Outcome::Deleted;
            report.result = Status::Changed;
            Ok(report)
        }
        Err(e) if e.is_not_found() => {
            report.steps[0].outcome = Outcome::Absent;
            Ok(report)
        }
        Err(e) => {
            let error = Error::from(e).context(format!("delete `{path}`"));
            report.steps[0].fail(&error);
            fail(report, error)
        }
    }
}

fn absent(mut report: DeletionReport, job: &Deletion) -> RunResult<DeletionReport> {
    report.steps.push(Step::secret(&job.path, Outcome::Absent));
    match job.if_exists {
        true => Ok(report),
        false => {
            let error = Error::not_found(format!(
                "secret `{}` does not exist; nothing was deleted",
                job.path
            ))
            .with_remedy(crate::Remedy::MissingIsFine);
            fail(report, error)
        }
    }
}

fn fail<R>(report: R, error: Error) -> RunResult<R> {
    Err(Failed { report, error })
}
