//! One secret at a time: writing, listing, and deleting (planned from the value it holds, so
//! that a confirmed plan deletes that value and no other).

use dcos_secrets_client::{Overwrite, PutOutcome, SecretPath, SecretValue};
use serde::Serialize;

use crate::Clients;
use crate::error::{Context, Error, Failed, Result, RunResult};
use crate::plan::{Confirmed, check_confirmed};
use crate::report::{Outcome, Status, Step};

/// How [`write`] stores a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// A new secret only: one that exists is a conflict.
    Create,
    /// An existing secret only.
    Update,
    /// Either; an equal value is left alone.
    Put,
}

/// What became of one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretOutcome {
    /// It was created.
    Created,
    /// Its value was replaced.
    Updated,
    /// It already held the value.
    Unchanged,
    /// It was deleted.
    Deleted,
    /// There was nothing to delete.
    Absent,
}

impl SecretOutcome {
    /// The word, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Deleted => "deleted",
            Self::Absent => "absent",
        }
    }
}

/// `secret create|update|put|delete`: what became of the secret, never its value.
#[derive(Debug, Serialize)]
pub struct SecretReport {
    /// The secret.
    pub path: String,
    /// What became of it.
    pub outcome: SecretOutcome,
    /// Whether the value written is binary.
    pub binary: Option<bool>,
}

impl std::fmt::Display for SecretReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.outcome.as_str(), self.path)
    }
}

/// Stores `value` at `path` as `how` says.
pub async fn write(
    clients: &Clients,
    path: &SecretPath,
    value: &SecretValue,
    how: Write,
) -> Result<SecretReport> {
    let secret = clients.secrets.secret(path);
    let outcome = match how {
        Write::Create => (secret.create(value).await)
            .context(format!("create `{path}`"))
            .map(|()| SecretOutcome::Created)?,
        Write::Update => (secret.update(value).await)
            .context(format!("update `{path}`"))
            .map(|()| SecretOutcome::Updated)?,
        Write::Put => match secret.put(value, Overwrite::Allow).await {
            Ok(PutOutcome::Created) => SecretOutcome::Created,
            Ok(PutOutcome::Unchanged) => SecretOutcome::Unchanged,
            Ok(PutOutcome::Updated { .. }) => SecretOutcome::Updated,
            Err(e) => return Err(Error::from(e).context(format!("put `{path}`"))),
        },
    };
    Ok(SecretReport {
        path: path.to_string(),
        outcome,
        binary: Some(value.is_binary()),
    })
}

/// `secret list`.
#[derive(Debug, Serialize)]
pub struct SecretList {
    /// The folder listed; `None` for the whole store.
    pub path: Option<String>,
    /// Paths relative to `path`, sorted.
    pub secrets: Vec<String>,
}

/// The secrets below `folder` (the whole store without one).
pub async fn list(clients: &Clients, folder: Option<&SecretPath>) -> Result<SecretList> {
    let secrets = (clients.secrets.list(folder).await)
        .context(format!("list `{}`", folder.map_or("", |f| f.as_str())))?;
    Ok(SecretList {
        path: folder.map(ToString::to_string),
        secrets,
    })
}

/// `secret consumers`: who uses one secret.
#[derive(Debug, Serialize)]
pub struct ConsumersReport {
    /// The secret.
    pub path: String,
    /// Each use, by app or pod.
    pub consumers: Vec<crate::consumers::Consumer>,
}

/// A table of the uses, or a line saying there are none.
impl std::fmt::Display for ConsumersReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.consumers.is_empty() {
            return write!(f, "no Marathon app or pod uses {}", self.path);
        }
        f.write_str(&crate::consumers::table(&self.consumers))
    }
}

/// Who uses the secret at `path` (whether or not it exists): Marathon's apps and pods.
pub async fn consumers(clients: &Clients, path: &SecretPath) -> Result<ConsumersReport> {
    let workloads = crate::consumers::load(clients).await?;
    Ok(ConsumersReport {
        path: path.to_string(),
        consumers: workloads.of(path.as_str()),
    })
}

/// Refuses, unless `force`, to delete secrets at `paths` that an app or pod uses, naming each
/// use.
pub(crate) fn refuse_used<'a>(
    workloads: &crate::consumers::Workloads,
    paths: impl IntoIterator<Item = &'a str>,
    force: bool,
) -> Result<()> {
    let used: Vec<String> = (paths.into_iter())
        .flat_map(|path| {
            workloads
                .of(path)
                .into_iter()
                .map(move |c| format!("`{path}` by {c}"))
        })
        .collect();
    match (used.is_empty(), force) {
        (true, _) | (_, true) => Ok(()),
        (false, false) => Err(Error::conflict(format!(
            "in use: {}; nothing was changed",
            used.join(", ")
        ))
        .with_remedy(crate::Remedy::StillUsed)),
    }
}

/// What to delete.
#[derive(Debug, Clone)]
pub struct Deletion {
    /// The secret.
    pub path: SecretPath,
    /// Whether a missing secret is no failure.
    pub if_exists: bool,
    /// Delete it even if apps or pods use it (they fail at their next start).
    pub force: bool,
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
    let (value, workloads) = tokio::join!(secret.get_opt(), crate::consumers::read(clients));
    let value = match value {
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
    match &workloads {
        Ok(workloads) => {
            if let Err(error) = refuse_used(workloads, [path.as_str()], job.force) {
                return fail(report, error);
            }
            step.notes.extend(
                workloads
                    .of(path.as_str())
                    .iter()
                    .map(|c| format!("used by {c}, which fails at its next start without it")),
            );
        }
        Err(why) => step.notes.push(format!(
            "cannot tell which apps and pods use it ({why}); one that does fails at its next start"
        )),
    }
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

/// `secret get -o json`: the value itself, which is what was asked for (and only there: its
/// `Debug` shows no value). A text value as text, any other as base64.
#[derive(Serialize)]
pub struct ValueOut<'a> {
    pub path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<&'a str>,
    /// For a binary secret: the bytes, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_base64: Option<String>,
    pub binary: bool,
}

impl<'a> ValueOut<'a> {
    /// `value`, the value of the secret at `path`.
    pub fn of(path: &'a SecretPath, value: &'a SecretValue) -> Self {
        use base64::Engine;
        let bytes = value.expose_bytes();
        let text = (!value.is_binary())
            .then(|| std::str::from_utf8(bytes).ok())
            .flatten();
        Self {
            path: path.as_str(),
            value: text,
            value_base64: text
                .is_none()
                .then(|| base64::engine::general_purpose::STANDARD.encode(bytes)),
            binary: value.is_binary(),
        }
    }
}

impl std::fmt::Debug for ValueOut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, binary) = (self.path, self.binary);
        write!(
            f,
            "ValueOut {{ path: {path:?}, binary: {binary}, value: [REDACTED] }}"
        )
    }
}

#[cfg(test)]
mod value_tests {
    use super::*;

    /// A value asked for is printed as JSON, and never by `Debug`.
    #[test]
    fn a_value_shows_in_json_and_never_in_debug() {
        let path = SecretPath::new("a/b").unwrap();
        for (value, shows) in [
            (SecretValue::text("hunter2"), "hunter2"),
            (SecretValue::binary(b"hunter2".to_vec()), "aHVudGVyMg=="),
        ] {
            let out = ValueOut::of(&path, &value);
            let shown = format!("{out:?}");
            assert!(
                !shown.contains("hunter2") && !shown.contains("aHVudGVy"),
                "{shown}"
            );
            assert!(serde_json::to_string(&out).unwrap().contains(shows));
        }
    }
}
