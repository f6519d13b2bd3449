//! Rotation: replace the stored pair with a new one, never leaving it mismatched.
//!
//! The key id is written first, then the secret key; if the second write fails, the first is
//! restored. Both are read back. A run that finds one half already rotated (an interrupted
//! rotation) completes it.

use dcos_secrets_client::SecretValue;

use super::Paths;
use crate::Clients;
use crate::aws::{self, KeyPair};
use crate::error::{Context, Error, ErrorKind, Remedy, Result, RunResult};
use crate::journal::{self, Change};
use crate::marathon;
pub use crate::marathon::Restart;
use crate::plan::{self, Task, Write};
use crate::report::{Outcome, S3Command, S3Report, Step};
use crate::reporter::{Reporter, Warning};

/// A rotation of the pair stored at `paths` to `keys`.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub paths: Paths,
    pub keys: KeyPair,
    /// Read and plan only.
    pub dry_run: bool,
    /// Then restart the service's Marathon app and wait until it runs on the new pair; if it
    /// does not, store the old pair again and restart once more, so that it runs on the old one.
    pub restart: Option<Restart>,
}

/// Runs a rotation: the report, or the report and the failure.
pub async fn rotate(
    clients: &Clients,
    rotation: &Rotation,
    reporter: &dyn Reporter,
) -> RunResult<S3Report> {
    let mut report = rotation
        .paths
        .report(S3Command::Rotate, None, rotation.dry_run);
    report.new_key_id = Some(rotation.keys.key_id_shown());
    let result = steps(clients, rotation, reporter, &mut report).await;
    super::finish(report, result.map(drop))
}

/// Both secrets' values, or a failure naming the one that is missing.
pub(super) async fn read_pair(
    clients: &Clients,
    paths: &Paths,
    what: &str,
) -> Result<[Option<SecretValue>; 2]> {
    let both = paths.both();
    let (id, secret) = tokio::join!(clients.secret_value(both[0]), clients.secret_value(both[1]),);
    Ok([
        id.context(format!("{what} `{}`", both[0]))?,
        secret.context(format!("{what} `{}`", both[1]))?,
    ])
}

/// Both values of a stored pair, or a failure naming the secret that is missing.
pub(super) fn existing(pair: [Option<SecretValue>; 2], paths: &Paths) -> Result<[SecretValue; 2]> {
    let both = paths.both();
    match pair {
        [Some(id), Some(secret)] => Ok([id, secret]),
        [id, _] => {
            let missing = if id.is_none() { both[0] } else { both[1] };
            Err(Error::not_found(format!(
                "`{missing}` does not exist: there is no pair to rotate"
            ))
            .with_remedy(Remedy::OnboardFirst))
        }
    }
}

/// Stores `keys` at `paths`, pair-safe, with no restart: the steps it took, and the journal
/// of what it wrote (or the failure, its own writes taken back).
pub(super) async fn store(
    clients: &Clients,
    paths: &Paths,
    keys: &KeyPair,
    reporter: &dyn Reporter,
) -> (Vec<Step>, Result<Vec<Change>>) {
    let rotation = Rotation {
        paths: paths.clone(),
        keys: keys.clone(),
        dry_run: false,
        restart: None,
    };
    let mut report = paths.report(S3Command::Rotate, None, false);
    let result = steps(clients, &rotation, reporter, &mut report).await;
    (report.steps, result)
}

/// Reads, writes the difference pair-safe, reads back, and (with a restart) restarts. The
/// journal of what it wrote, for a caller that may have to take it back.
pub(super) async fn steps(
    clients: &Clients,
    rotation: &Rotation,
    reporter: &dyn Reporter,
    report: &mut S3Report,
) -> Result<Vec<Change>> {
    let values = rotation.keys.values();
    let both = rotation.paths.both();
    let current = existing(
        read_pair(clients, &rotation.paths, "read").await?,
        &rotation.paths,
    )?;
    report.old_key_id = Some(aws::shown(&String::from_utf8_lossy(
        current[0].expose_bytes(),
    )));
    let differs = [current[0] != values[0], current[1] != values[1]];
    if differs[0] != differs[1] {
        let done = if differs[0] { both[1] } else { both[0] };
        reporter.warn(&Warning::RotationHalfDone { path: done.clone() });
    }
    // One secret after the other, so that a failure of the second can be taken back.
    let mut tasks: Vec<Task> = (0..2)
        .map(|i| {
            let mut step = Step::secret(both[i], Outcome::Unchanged);
            step.fingerprint = Some(values[i].fingerprint());
            if !differs[i] {
                return Task::report(step);
            }
            step.previous_fingerprint = Some(current[i].fingerprint());
            step.outcome = Outcome::planned(Outcome::WouldUpdate, report.dry_run);
            let write = Write::Secret {
                path: both[i].clone(),
                value: values[i].clone(),
                before: Some(current[i].clone()),
            };
            Task::write(step, i as u8, write)
        })
        .collect();
    // What the restart restarts, known before anything is written.
    let targets = match &rotation.restart {
        Some(restart) => restart.targets(clients, &both).await?,
        None => Vec::new(),
    };
    if rotation.restart.is_some() && targets.is_empty() {
        reporter.warn(&Warning::NothingToRestart);
    }
    if report.dry_run || !differs.contains(&true) {
        report.steps = plan::steps(tasks);
        if let Some(restart) = &rotation.restart {
            let first = report.steps.len();
            let outcome = Outcome::planned(Outcome::WouldRestart, report.dry_run);
            report.steps.extend(targets.iter().map(|t| t.step(outcome)));
            if !report.dry_run {
                // The pair is in place; the apps and pods may still run on the old one.
                let steps = &mut report.steps[first..];
                marathon::restart_steps(clients, restart, &targets, steps, reporter).await?;
            }
        }
        return Ok(Vec::new());
    }
    let result = plan::run(clients, &mut tasks, reporter).await;
    if let Err(cause) = result {
        let undone = plan::undo(clients, &mut tasks).await;
        report.steps = plan::steps(tasks);
        let cause = if undone.is_complete() {
            cause
        } else {
            cause.context("THE PAIR IS MISMATCHED")
        };
        return Err(cause.with_undo(undone));
    }
    let changes = plan::journal_of(&tasks);
    report.steps = plan::steps(tasks);

    // Read both back: the service must find exactly the new pair.
    let back = read_pair(clients, &rotation.paths, "read back").await?;
    for (i, value) in back.iter().enumerate() {
        if value.as_ref() != Some(&values[i]) {
            let step = &mut report.steps[i];
            step.outcome = Outcome::Failed;
            step.error = Some("reads back a different value".into());
            return Err(Error::failed(format!(
                "`{}` reads back a different value than was written: another writer changed it meanwhile",
                both[i]
            ))
            .with_remedy(Remedy::Advice(
                "check who else rotates these secrets, then run the rotation again".into(),
            )));
        }
    }
    let Some(restart) = &rotation.restart else {
        return Ok(changes);
    };
    let first = report.steps.len();
    report
        .steps
        .extend(targets.iter().map(|t| t.step(Outcome::NotRun)));
    let steps = &mut report.steps[first..];
    match marathon::restart_steps(clients, restart, &targets, steps, reporter).await {
        Ok(()) => Ok(changes),
        // Asked to stop while the deployments ran: the new pair is stored and the restarts
        // sent; running the same command again waits for them.
        Err(failure) if failure.kind() == ErrorKind::Interrupted => {
            Err(failure.with_remedy(Remedy::RunAgain))
        }
        Err(failure) => {
            // The old key is still valid: take the pair back and run every one on it.
            let mut undo = journal::take_back(clients, None, &changes, &mut report.steps).await;
            if undo.left.is_empty() {
                let ids = marathon::ids(&targets);
                let again = marathon::restart_all(clients, restart, &targets, reporter).await;
                match marathon::first_failure(again) {
                    Ok(()) => undo
                        .undone
                        .push(format!("restarted {ids} on the previous pair")),
                    Err(e) => undo.left.push(format!(
                        "{ids} do not all run on the previous pair yet ({})",
                        e.full_message()
                    )),
                }
            }
            Err(failure.with_undo(undo))
        }
    }
}
