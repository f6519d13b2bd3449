//! Rotation with a new AWS key, closed loop: read the stored pair and the IAM user's keys,
//! create a key, wait until AWS accepts it, store it pair-safe, restart the service and wait
//! until it runs on it, then retire the old key.
//!
//! While it runs, both pairs are kept in one more secret beside the key id's
//! ([`Paths::pending`]): the run's [journal record](crate::journal), written right after the
//! key is created and deleted last. A run that
//! finds it finishes the rotation it describes, so a rotation killed at any point is finished
//! by the next run: nothing of the new key is lost with the process. (Killed between
//! `CreateAccessKey` and that write, the new key's secret is lost; the next run finds a second
//! key DC/OS does not hold and names the command that retires it.)
//!
//! Every failure before the service runs on the new key takes the run's journal back (the
//! pair, the new key, then the record), so that the user is left with the old key only,
//! stored and running.

use std::time::Duration;

use dcos_secrets_client::{SecretPath, SecretValue};

use super::Paths;
use super::rotate::{self, existing, read_pair};
use crate::Clients;
use crate::access_keys::{AccessKey, Aws};
use crate::aws::{self, KeyPair};
use crate::error::{Context, Error, ErrorKind, Remedy, Result, RunResult, Undo};
use crate::journal::{self, AwsPair, Change, Entry, Record, Workflow};
use crate::marathon::{self, Restart};
use crate::report::{Outcome, S3Command, S3Report, Step, StepKind};
use crate::reporter::{Reporter, Warning};

/// What becomes of the old key once the service runs on the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKey {
    /// Delete it.
    Delete,
    /// Set it Inactive: AWS refuses it, and it can be set Active again.
    Deactivate,
    /// Leave it active.
    Keep,
}

/// A rotation of the pair stored at `paths` to a new key of IAM user `user`.
#[derive(Debug, Clone)]
pub struct AwsRotation {
    pub paths: Paths,
    /// The IAM user whose key DC/OS holds.
    pub user: String,
    pub old_key: OldKey,
    /// How long a new key may take until AWS accepts it.
    pub propagation_timeout: Duration,
    /// Restart the service's Marathon app and wait until it runs on the new pair.
    pub restart: Option<Restart>,
    /// Read and plan only.
    pub dry_run: bool,
}

/// Removing (or deactivating) the keys of `user` that DC/OS does not hold at `paths`.
#[derive(Debug, Clone)]
pub struct Retirement {
    pub paths: Paths,
    pub user: String,
    /// Deactivate instead of deleting.
    pub deactivate: bool,
    /// Retire only these key ids (those a confirmed plan named); a key found besides them is
    /// kept and named. `None`: every key DC/OS does not hold.
    pub only: Option<Vec<String>>,
    pub dry_run: bool,
}

/// Both pairs of a rotation under way, as kept in [`Paths::pending`].
struct Pending {
    user: String,
    old: KeyPair,
    new: KeyPair,
}

fn pair_doc(pair: &KeyPair) -> AwsPair {
    let (id, secret) = pair.expose();
    AwsPair {
        aws_access_key_id: id.to_owned(),
        aws_secret_access_key: secret.to_owned(),
    }
}

impl Pending {
    /// The record, as the secret keeps it.
    fn value(&self) -> SecretValue {
        let entry = Entry::AwsKey {
            user: self.user.clone(),
            old: pair_doc(&self.old),
            new: pair_doc(&self.new),
        };
        let record = Record::new(Workflow::AwsRotation, vec![entry]).to_bytes();
        SecretValue::text(String::from_utf8_lossy(&record).into_owned())
    }

    fn parse(value: &SecretValue, path: &SecretPath) -> Result<Self> {
        let not_ours = |e: Error| {
            e.with_remedy(Remedy::Advice(format!(
                "move the secret `{path}` aside; this path is where a rotation keeps its pairs"
            )))
        };
        let what = format!("`{path}`");
        let record =
            Record::parse(value.expose_bytes(), &what, Workflow::AwsRotation).map_err(not_ours)?;
        let mut entries = record.entries.into_iter();
        let (Some(Entry::AwsKey { user, old, new }), None) = (entries.next(), entries.next())
        else {
            return Err(not_ours(Error::invalid(format!(
                "{what} is not the record of one AWS key rotation"
            ))));
        };
        let what = format!("the rotation kept in `{path}`");
        let pair = |p: AwsPair| KeyPair::new(p.aws_access_key_id, p.aws_secret_access_key, &what);
        Ok(Self {
            user,
            old: pair(old)?,
            new: pair(new)?,
        })
    }
}

/// The IAM user and the new key id of the rotation recorded in `value` (read from
/// [`Paths::pending`]), or `None` when it is not such a record of this tool.
pub(super) fn unfinished_rotation(
    value: &SecretValue,
    path: &SecretPath,
) -> Option<(String, String)> {
    let pending = Pending::parse(value, path).ok()?;
    Some((pending.user, pending.new.id().to_owned()))
}

fn key_step(id: &str, outcome: Outcome) -> Step {
    Step::new(StepKind::AwsKey, id, outcome)
}

fn ids(keys: &[AccessKey]) -> String {
    if keys.is_empty() {
        return "it has none".into();
    }
    let all: Vec<String> = keys
        .iter()
        .map(|k| match k.active {
            true => k.id.clone(),
            false => format!("{} (inactive)", k.id),
        })
        .collect();
    format!("its keys: {}", all.join(", "))
}

/// What is there before a run: the stored pair, the user's keys and ARN, a rotation under way.
struct Observed {
    stored: [SecretValue; 2],
    stored_id: String,
    keys: Vec<AccessKey>,
    pending: Option<Pending>,
}

impl Observed {
    fn holds(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    /// Reads what is there, and names the stored key in `report`; also where a rotation keeps
    /// its pairs.
    async fn start(
        clients: &Clients,
        aws: &Aws,
        paths: &Paths,
        user: &str,
        report: &mut S3Report,
    ) -> Result<(Self, SecretPath)> {
        let pending_path = paths.pending()?;
        let observed = Self::read(clients, aws, paths, user, &pending_path).await?;
        report.old_key_id = Some(aws::shown(&observed.stored_id));
        Ok((observed, pending_path))
    }

    async fn read(
        clients: &Clients,
        aws: &Aws,
        paths: &Paths,
        user: &str,
        pending_path: &SecretPath,
    ) -> Result<Self> {
        let (stored, pending, keys) = tokio::join!(
            read_pair(clients, paths, "read"),
            clients.secret_value(pending_path),
            aws.keys(user),
        );
        let stored = existing(stored?, paths)?;
        let pending = pending
            .context(format!("read `{pending_path}`"))?
            .map(|value| Pending::parse(&value, pending_path))
            .transpose()?;
        Ok(Self {
            stored_id: String::from_utf8_lossy(stored[0].expose_bytes()).into_owned(),
            stored,
            keys: keys?,
            pending,
        })
    }

    /// The stored key must be the user's; `otherwise` says what would go wrong if it were not.
    fn check_stored_is_users(&self, paths: &Paths, user: &str, otherwise: &str) -> Result<()> {
        if self.holds(&self.stored_id) {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "`{}` holds access key {}, which is not a key of IAM user `{user}` ({}){otherwise}",
            paths.key_id,
            aws::shown(&self.stored_id),
            ids(&self.keys)
        ))
        .with_remedy(Remedy::Advice(
            "name the IAM user whose key DC/OS holds".into(),
        )))
    }

    /// The stored key must be the user's, and the user must have room for one more.
    fn check_fresh(&self, paths: &Paths, user: &str) -> Result<()> {
        self.check_stored_is_users(paths, user, "")?;
        let others: Vec<&AccessKey> = self
            .keys
            .iter()
            .filter(|k| k.id != self.stored_id)
            .collect();
        if !others.is_empty() {
            let names: Vec<&str> = others.iter().map(|k| k.id.as_str()).collect();
            return Err(Error::conflict(format!(
                "IAM user `{user}` already has two access keys, the most AWS allows: {} (held by \
                 DC/OS) and {}, which DC/OS does not hold",
                self.stored_id,
                names.join(", ")
            ))
            .with_remedy(Remedy::RetireAwsKeys {
                user: user.to_owned(),
            }));
        }
        Ok(())
    }
}

/// An empty report of `command` on IAM user `user`'s keys.
fn aws_report(paths: &Paths, command: S3Command, user: &str, dry_run: bool) -> S3Report {
    let mut report = paths.report(command, None, dry_run);
    report.aws_iam_user = Some(user.to_owned());
    report
}

/// Runs a rotation with a new AWS key: the report, or the report and the failure.
pub async fn rotate_aws(
    clients: &Clients,
    aws: &Aws,
    job: &AwsRotation,
    reporter: &dyn Reporter,
) -> RunResult<S3Report> {
    let mut report = aws_report(&job.paths, S3Command::Rotate, &job.user, job.dry_run);
    let result = cycle(clients, aws, job, reporter, &mut report).await;
    super::finish(report, result)
}

/// The new key and how it came: created by this run, or by an interrupted one.
struct NewKey {
    pair: KeyPair,
    old: KeyPair,
    /// Whether this run made it (its steps say `created`).
    created_now: bool,
}

async fn cycle(
    clients: &Clients,
    aws: &Aws,
    job: &AwsRotation,
    reporter: &dyn Reporter,
    report: &mut S3Report,
) -> Result<()> {
    let user = job.user.as_str();
    let (mut observed, pending_path) =
        Observed::start(clients, aws, &job.paths, user, report).await?;
    let arn = aws.user_arn(user).await?;
    // What the restart restarts, known before a key is made (an app that is not there fails
    // here, not after a key was made in vain).
    let targets = match &job.restart {
        Some(restart) => restart.targets(clients, &job.paths.both()).await?,
        None => Vec::new(),
    };
    if job.restart.is_some() && targets.is_empty() {
        reporter.warn(&Warning::NothingToRestart);
    }

    // A record is written by anyone who may write there: it must agree with DC/OS.
    if let Some(pending) = &observed.pending {
        check_record(&observed, pending, &pending_path)?;
    }

    // A rotation under way is finished first.
    let resumed = match observed.pending.take() {
        Some(pending) if pending.user != user => {
            return Err(Error::conflict(format!(
                "`{pending_path}` holds a rotation of IAM user `{}` that did not finish",
                pending.user
            ))
            .with_remedy(Remedy::Advice(format!(
                "finish it first: the same rotation with IAM user `{}`",
                pending.user
            ))));
        }
        Some(pending) if observed.holds(pending.new.id()) => {
            reporter.warn(&Warning::RotationResumed {
                key_id: pending.new.key_id_shown(),
            });
            Some(NewKey {
                pair: pending.new,
                old: pending.old,
                created_now: false,
            })
        }
        Some(pending) => {
            let dead = DeadRotation {
                pending: &pending,
                path: &pending_path,
                arn: &arn,
            };
            forget_dead_rotation(clients, aws, job, &observed, dead, (reporter, report)).await?;
            if !job.dry_run {
                // Read again: the old pair is now the stored one.
                return Box::pin(cycle(clients, aws, job, reporter, report)).await;
            }
            // The plan goes on from the old pair, as the run would.
            observed.stored = pending.old.values();
            observed.stored_id = pending.old.id().to_owned();
            report.old_key_id = Some(pending.old.key_id_shown());
            None
        }
        None => None,
    };
    if resumed.is_none() {
        observed.check_fresh(&job.paths, user)?;
    }

    if job.dry_run {
        return plan_only(job, &observed, resumed.as_ref(), &targets, report);
    }
    if reporter.stop_requested() {
        return Err(Error::interrupted().context("nothing was changed"));
    }

    // Create, and keep both pairs until the end. Every change is journaled.
    let mut changes = Vec::new();
    let new = match resumed {
        Some(new) => new,
        None => {
            let old = KeyPair::new(
                observed.stored_id.clone(),
                String::from_utf8_lossy(observed.stored[1].expose_bytes()).into_owned(),
                "the stored pair",
            )?;
            let pair = aws.create_key(user).await?;
            changes.push(Change::AwsKey {
                user: user.to_owned(),
                id: pair.id().to_owned(),
            });
            let id = pair.key_id_shown();
            report.steps.push(key_step(&id, Outcome::Created));
            let pending = Pending {
                user: user.to_owned(),
                old: old.clone(),
                new: pair.clone(),
            };
            let mut keep = Step::secret(&pending_path, Outcome::Created);
            if let Err(e) = clients
                .secrets
                .secret(&pending_path)
                .create(&pending.value())
                .await
            {
                let cause = Error::from(e).context(format!("keep both pairs in `{pending_path}`"));
                keep.fail(&cause);
                report.steps.push(keep);
                let undo = journal::take_back(clients, Some(aws), &changes, &mut report.steps);
                return Err(cause.with_undo(undo.await));
            }
            changes.push(Change::Record {
                path: pending_path.clone(),
            });
            report.steps.push(keep);
            NewKey {
                pair,
                old,
                created_now: true,
            }
        }
    };
    report.new_key_id = Some(new.pair.key_id_shown());
    // A resumed rotation whose new pair may be stored already (even half of it), or whose old
    // key is gone, keeps the new key on a failure: the next run finishes with it.
    let old_exists = observed.holds(new.old.id());
    let may_take_back = old_exists && (new.created_now || observed.stored == new.old.values());
    if !new.created_now {
        // A resumed rotation's key and record, taken back as this run's own if it fails.
        changes.push(Change::AwsKey {
            user: user.to_owned(),
            id: new.pair.id().to_owned(),
        });
        changes.push(Change::Record {
            path: pending_path.clone(),
        });
    }
    let take_back = async |changes: &[Change], report: &mut S3Report, undo: Undo| {
        let more = journal::take_back(clients, Some(aws), changes, &mut report.steps).await;
        undo.merge(more)
    };

    // Verify: the new key must sign in as the user.
    let mut verified = key_step(&new.pair.key_id_shown(), Outcome::Verified);
    if let Err(e) = aws
        .verify(&new.pair, &arn, job.propagation_timeout, reporter)
        .await
    {
        verified.fail(&e);
        report.steps.push(verified);
        if !may_take_back {
            return Err(e.with_remedy(Remedy::RunAgain));
        }
        return Err(e.with_undo(take_back(&changes, report, Undo::default()).await));
    }
    report.steps.push(verified);

    // Store, pair-safe.
    let (mut stored, result) = rotate::store(clients, &job.paths, &new.pair, reporter).await;
    report.steps.append(&mut stored);
    let pair_changes = match result {
        Ok(pair_changes) => pair_changes,
        Err(e) => {
            let complete = e.undo().is_none_or(Undo::is_complete);
            let undo = e.undo().cloned().unwrap_or_default();
            if !complete || !may_take_back {
                // The stored pair may name the new key: keep it, and the record, for the next
                // run.
                return Err(e.with_remedy(Remedy::RunAgain));
            }
            return Err(e.with_undo(take_back(&changes, report, undo).await));
        }
    };

    // Restart, and wait until the service runs on the new pair.
    if let Some(restart) = &job.restart {
        let first = report.steps.len();
        report
            .steps
            .extend(targets.iter().map(|t| t.step(Outcome::NotRun)));
        let steps = &mut report.steps[first..];
        let restarted = marathon::restart_steps(clients, restart, &targets, steps, reporter).await;
        if let Err(failure) = restarted {
            if failure.kind() == ErrorKind::Interrupted || !old_exists {
                return Err(failure.with_remedy(Remedy::RunAgain));
            }
            // The old key is still valid: take the pair back and run the service on it; the
            // new key and the record go only once it does.
            let mut undo = take_back(&pair_changes, report, Undo::default()).await;
            if !undo.is_complete() {
                return Err(failure.with_undo(undo));
            }
            let ids = marathon::ids(&targets);
            let again = marathon::restart_all(clients, restart, &targets, reporter).await;
            if let Err(e) = marathon::first_failure(again) {
                undo.left.push(format!(
                    "{ids} do not all run on the previous pair yet ({}); the new key {} is \
                     kept, since they may still use it",
                    e.full_message(),
                    new.pair.key_id_shown()
                ));
                return Err(failure.with_undo(undo));
            }
            undo.undone
                .push(format!("restarted {ids} on the previous pair"));
            return Err(failure.with_undo(take_back(&changes, report, undo).await));
        }
    } else if new.created_now {
        reporter.warn(&Warning::NotRestarted);
    }

    // Retire the old key; the rotation stands whatever becomes of it.
    let old_id = new.old.id().to_owned();
    let retired = match job.old_key {
        _ if !observed.holds(&old_id) || old_id == new.pair.id() => {
            report.steps.push(key_step(&old_id, Outcome::Absent));
            Ok(())
        }
        OldKey::Keep => {
            report.steps.push(key_step(&old_id, Outcome::Kept));
            Ok(())
        }
        OldKey::Delete | OldKey::Deactivate => {
            let (result, done) = match job.old_key {
                OldKey::Delete => (aws.delete_key(user, &old_id).await, Outcome::Deleted),
                _ => (
                    aws.deactivate_key(user, &old_id).await,
                    Outcome::Deactivated,
                ),
            };
            let mut step = key_step(&old_id, done);
            if let Err(e) = &result {
                step.fail(e);
            }
            report.steps.push(step);
            result
        }
    };
    let mut forget = Step::secret(&pending_path, Outcome::Deleted);
    let forgotten = clients
        .secrets
        .secret(&pending_path)
        .delete()
        .await
        .map_err(Error::from);
    if let Err(e) = &forgotten {
        forget.fail(e);
    }
    report.steps.push(forget);
    if let Err(e) = retired {
        return Err(Error::of_kind(
            ErrorKind::Partial,
            format!(
                "the rotation stands (DC/OS holds key {}{}), but retiring the old key failed: {}",
                new.pair.key_id_shown(),
                if job.restart.is_some() {
                    " and the service runs on it"
                } else {
                    ""
                },
                e.full_message()
            ),
        )
        .with_remedy(Remedy::RetireAwsKeys {
            user: user.to_owned(),
        }));
    }
    forgotten.map_err(|e| {
        e.context(format!(
            "the rotation is complete, but deleting `{pending_path}`, where it kept both pairs, \
             failed"
        ))
    })
}

/// The refusal of a record that does not agree with DC/OS or AWS: nothing is written, and the
/// record is left for a person to look at.
fn forged_record(path: &SecretPath, why: String) -> Error {
    Error::conflict(format!("`{path}` is not used: {why}; nothing was changed")).with_remedy(
        Remedy::Advice(format!(
            "look at who wrote `{path}`; if no rotation is under way, delete it"
        )),
    )
}

/// A record's old pair that names the key DC/OS stores must hold the secret DC/OS stores: a
/// record with another secret for that key would write it over the working pair.
fn check_record(observed: &Observed, pending: &Pending, path: &SecretPath) -> Result<()> {
    if pending.old.id() == observed.stored_id && pending.old.values() != observed.stored {
        return Err(forged_record(
            path,
            format!(
                "its old pair names access key {}, which DC/OS stores, with another secret key",
                pending.old.key_id_shown()
            ),
        ));
    }
    Ok(())
}

/// A record whose new key is gone, where it is, and the IAM user's ARN.
struct DeadRotation<'a> {
    pending: &'a Pending,
    path: &'a SecretPath,
    arn: &'a str,
}

/// A record whose new key is gone (a rollback that was cut short): stores its old pair again
/// where needed, once AWS has accepted it as the user's, and deletes the record (with a dry
/// run, only plans that).
async fn forget_dead_rotation(
    clients: &Clients,
    aws: &Aws,
    job: &AwsRotation,
    observed: &Observed,
    dead: DeadRotation<'_>,
    (reporter, report): (&dyn Reporter, &mut S3Report),
) -> Result<()> {
    let (pending, pending_path) = (dead.pending, dead.path);
    let user = job.user.as_str();
    let mut step = Step::secret(
        pending_path,
        Outcome::planned(Outcome::WouldDelete, job.dry_run),
    );
    if observed.stored != pending.old.values() {
        if !observed.holds(pending.old.id()) {
            return Err(Error::failed(format!(
                "`{pending_path}` holds a rotation whose keys ({} and {}) IAM user `{user}` \
                 no longer has, and DC/OS holds neither",
                pending.old.key_id_shown(),
                pending.new.key_id_shown()
            ))
            .with_remedy(Remedy::Advice(format!(
                "store a working pair with `s3 rotate`, then delete `{pending_path}`"
            ))));
        }
        // Never written before AWS says it is the user's working key.
        match aws.caller_arn(&pending.old).await {
            Ok(arn) if arn == dead.arn => {}
            Ok(arn) => {
                return Err(forged_record(
                    pending_path,
                    format!("its old pair signs in as {arn}, not as IAM user `{user}`"),
                ));
            }
            Err(e) if e.kind() == crate::ErrorKind::Denied => {
                return Err(forged_record(
                    pending_path,
                    format!(
                        "AWS refuses its old pair (access key {}) ({e})",
                        pending.old.key_id_shown()
                    ),
                ));
            }
            Err(e) => return Err(e),
        }
        if job.dry_run {
            // The plan shows the pair it would store again, as the run reports it.
            let old = pending.old.values();
            let both = job
                .paths
                .both()
                .into_iter()
                .zip(observed.stored.iter().zip(&old));
            for (path, (now, old)) in both.filter(|(_, (now, old))| now != old) {
                let mut store = Step::secret(path, Outcome::WouldUpdate);
                store.previous_fingerprint = Some(now.fingerprint());
                store.fingerprint = Some(old.fingerprint());
                report.steps.push(store);
            }
        } else {
            // Stored pair-safe, as any rotation to a given pair; its steps are reported.
            let (mut stored, result) =
                rotate::store(clients, &job.paths, &pending.old, reporter).await;
            report.steps.append(&mut stored);
            result.map_err(|e| {
                e.context("storing the pair of the unfinished rotation's old key again")
                    .with_remedy(Remedy::RunAgain)
            })?;
        }
    }
    if !job.dry_run {
        clients
            .secrets
            .secret(pending_path)
            .delete()
            .await
            .context(format!("delete `{pending_path}`"))?;
        step.outcome = Outcome::Deleted;
    }
    report.steps.push(step);
    Ok(())
}

/// The dry run's plan.
fn plan_only(
    job: &AwsRotation,
    observed: &Observed,
    resumed: Option<&NewKey>,
    targets: &[marathon::Target],
    report: &mut S3Report,
) -> Result<()> {
    let new_id = match resumed {
        Some(new) => {
            let id = new.pair.key_id_shown();
            let mut step = key_step(&id, Outcome::Unchanged);
            step.notes
                .push("created by a rotation that did not finish; this run finishes it".into());
            report.steps.push(step);
            report.new_key_id = Some(id.clone());
            id
        }
        None => {
            report.steps.push(key_step("(new)", Outcome::WouldCreate));
            "(new)".to_owned()
        }
    };
    report.steps.push(key_step(&new_id, Outcome::WouldVerify));
    for path in job.paths.both() {
        report.steps.push(Step::secret(path, Outcome::WouldUpdate));
    }
    report
        .steps
        .extend(targets.iter().map(|t| t.step(Outcome::WouldRestart)));
    let old_id = resumed.map_or(observed.stored_id.clone(), |n| n.old.id().to_owned());
    let outcome = match job.old_key {
        _ if !observed.holds(&old_id) => Outcome::Absent,
        OldKey::Delete => Outcome::WouldDelete,
        OldKey::Deactivate => Outcome::WouldDeactivate,
        OldKey::Keep => Outcome::Kept,
    };
    report.steps.push(key_step(&old_id, outcome));
    Ok(())
}

/// Deletes (or deactivates) every key of the user that DC/OS does not hold: the report, or the
/// report and the failure.
pub async fn retire_aws_keys(
    clients: &Clients,
    aws: &Aws,
    job: &Retirement,
    reporter: &dyn Reporter,
) -> RunResult<S3Report> {
    let mut report = aws_report(&job.paths, S3Command::RetireAwsKey, &job.user, job.dry_run);
    let result = retire(clients, aws, job, reporter, &mut report).await;
    super::finish(report, result)
}

async fn retire(
    clients: &Clients,
    aws: &Aws,
    job: &Retirement,
    reporter: &dyn Reporter,
    report: &mut S3Report,
) -> Result<()> {
    let user = job.user.as_str();
    let (observed, pending_path) = Observed::start(clients, aws, &job.paths, user, report).await?;
    if observed.pending.is_some() {
        return Err(Error::conflict(format!(
            "a rotation that did not finish is kept in `{pending_path}`: the service may still \
             run on a key this would retire"
        ))
        .with_remedy(Remedy::FinishRotation {
            user: user.to_owned(),
        }));
    }
    observed.check_stored_is_users(&job.paths, user, ": every key would be retired")?;
    report
        .steps
        .push(key_step(&observed.stored_id, Outcome::Kept));
    let mut failed = None;
    for key in observed.keys.iter().filter(|k| k.id != observed.stored_id) {
        if job
            .only
            .as_ref()
            .is_some_and(|only| !only.contains(&key.id))
        {
            let mut step = key_step(&key.id, Outcome::Kept);
            step.notes
                .push("appeared after the plan was confirmed; not retired".into());
            report.steps.push(step);
            continue;
        }
        let mut step = match (job.deactivate, key.active) {
            (true, false) => key_step(&key.id, Outcome::Unchanged),
            (true, true) => key_step(
                &key.id,
                Outcome::planned(Outcome::WouldDeactivate, job.dry_run),
            ),
            (false, _) => key_step(&key.id, Outcome::planned(Outcome::WouldDelete, job.dry_run)),
        };
        if job.dry_run || step.outcome == Outcome::Unchanged {
            report.steps.push(step);
            continue;
        }
        if reporter.stop_requested() {
            report.steps.push(step);
            failed.get_or_insert(Error::interrupted());
            continue;
        }
        let result = match job.deactivate {
            true => aws.deactivate_key(user, &key.id).await,
            false => aws.delete_key(user, &key.id).await,
        };
        match result {
            Ok(()) => {
                step.outcome = match job.deactivate {
                    true => Outcome::Deactivated,
                    false => Outcome::Deleted,
                }
            }
            Err(e) => {
                step.fail(&e);
                failed.get_or_insert(e);
            }
        }
        report.steps.push(step);
    }
    match failed {
        Some(e) => Err(e.with_remedy(Remedy::RunAgain)),
        None => Ok(()),
    }
}
