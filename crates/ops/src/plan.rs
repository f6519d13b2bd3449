//! Plans and their execution, shared by every workflow.
//!
//! A plan is a list of [`Task`]s: a step of the report and the write that carries it out.
//! Tasks run phase by phase, each phase's writes at once; the first phase with a failure is
//! the last. Every write is recorded in its task's journal before it is sent, so that undo
//! takes back exactly what may have landed, and marks each step with what became of it.

use dcos_iam_client::{Action, CreateOutcome, Gid, GrantState, Principal, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::StreamExt;

use crate::Clients;
use crate::dse::PreparedOptions;
use crate::error::{Error, Result, Undo};
use crate::journal::{Change, undo_all};
use crate::report::{Outcome, Step};
use crate::reporter::Reporter;

/// Where a grant's ACL stands when the writes begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AclAt {
    /// It existed before the run: undo leaves it.
    Existed,
    /// This run created it while reading (its journal has it): nothing to send.
    Registered,
    /// It does not exist: the grant creates it first.
    Missing,
}

/// A write to the cluster, or to the options file.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// Create (`before: None`) or update a secret.
    Secret {
        path: SecretPath,
        value: SecretValue,
        before: Option<SecretValue>,
    },
    /// Grant `action` on `rid`, creating the ACL first when it is missing.
    Grant {
        rid: Rid,
        principal: Principal,
        action: Action,
        acl: AclAt,
    },
    /// Revoke `action` on `rid`; `undoable` when the plan saw it held, so that undo grants
    /// it again.
    Revoke {
        rid: Rid,
        principal: Principal,
        action: Action,
        undoable: bool,
    },
    /// Delete a secret; with the value it holds (`before`), undo restores it.
    DeleteSecret {
        path: SecretPath,
        before: Option<SecretValue>,
    },
    /// Take a user out of a group.
    Leave { gid: Gid, uid: Uid },
    /// Delete a service account; undo creates it again with the same key and description, in
    /// the same groups.
    DeleteAccount {
        uid: Uid,
        description: String,
        public_key_pem: String,
        groups: Vec<Gid>,
    },
    /// Write the options file.
    Options(PreparedOptions),
    /// Create a service account; one that exists meanwhile is taken as it is.
    Account {
        uid: Uid,
        description: String,
        public_key_pem: String,
    },
    /// Create a user with `password` (which no report shows); one that exists meanwhile is
    /// taken as it is.
    User {
        uid: Uid,
        description: String,
        password: std::sync::Arc<secrecy::SecretString>,
    },
    /// Create a remote user of the identity provider `provider_id` of type `provider_type`.
    RemoteUser {
        uid: Uid,
        description: String,
        provider_type: String,
        provider_id: String,
    },
    /// Create a group; one that exists meanwhile is taken as it is.
    Group { gid: Gid, description: String },
    /// Create an ACL with `description`; one that exists meanwhile is taken as it is.
    Acl { rid: Rid, description: String },
    /// Add a user to a group.
    Join { gid: Gid, uid: Uid },
}

/// One step of a plan: its line in the report, when it runs, and what it sends.
#[derive(Debug)]
pub(crate) struct Task {
    pub step: Step,
    /// Every task of a lower phase has finished before this one starts.
    pub phase: u8,
    pub write: Option<Write>,
    /// What this task changed or sent: what undo takes back.
    pub journal: Vec<Change>,
}

impl Task {
    /// A task that writes nothing.
    pub fn report(step: Step) -> Self {
        Self {
            step,
            phase: 0,
            write: None,
            journal: Vec::new(),
        }
    }

    /// A task that sends `write` in `phase`.
    pub fn write(step: Step, phase: u8, write: Write) -> Self {
        Self {
            step,
            phase,
            write: Some(write),
            journal: Vec::new(),
        }
    }

    /// Sends the write, recording each change in the journal before it is sent.
    async fn send(&mut self, clients: &Clients) -> Result<Outcome> {
        let Some(write) = &self.write else {
            return Ok(self.step.outcome);
        };
        match write {
            Write::Secret {
                path,
                value,
                before,
            } => {
                self.journal.push(Change::Secret {
                    path: path.clone(),
                    before: before.clone(),
                    written: value.clone(),
                });
                write_secret(clients, path, value, before.is_some()).await
            }
            Write::Grant {
                rid,
                principal,
                action,
                acl,
            } => {
                let handle = clients.iam.acl(rid);
                if *acl == AclAt::Missing {
                    // Recorded first: a creation whose answer was lost may have landed.
                    self.journal.push(Change::Acl { rid: rid.clone() });
                    if handle.create(&acl_description(rid)).await? == CreateOutcome::AlreadyExists {
                        // Someone else's: undo must leave it.
                        self.journal.pop();
                    }
                }
                self.journal.push(Change::Grant {
                    rid: rid.clone(),
                    principal: principal.clone(),
                    action: *action,
                });
                // Already held means in place: our own retried request, or a concurrent one.
                handle.grant_if_absent(principal, *action).await?;
                Ok(Outcome::Granted)
            }
            Write::Revoke {
                rid,
                principal,
                action,
                undoable,
            } => {
                if *undoable {
                    self.journal.push(Change::Revoked {
                        rid: rid.clone(),
                        principal: principal.clone(),
                        action: *action,
                    });
                }
                Ok(clients
                    .iam
                    .acl(rid)
                    .ensure_revoked(principal, *action)
                    .await?
                    .into())
            }
            Write::DeleteSecret { path, before } => {
                if let Some(value) = before {
                    self.journal.push(Change::SecretDeleted {
                        path: path.clone(),
                        value: value.clone(),
                    });
                }
                match clients.secrets.secret(path).delete().await {
                    Ok(()) => Ok(Outcome::Deleted),
                    Err(e) if e.is_not_found() => Ok(Outcome::Absent),
                    Err(e) => Err(e.into()),
                }
            }
            Write::Leave { gid, uid } => match clients.iam.group(gid).remove_member(uid).await {
                Ok(()) => Ok(Outcome::Revoked),
                Err(e) if e.is_not_found() => Ok(Outcome::NotGranted),
                Err(e) => Err(e.into()),
            },
            Write::DeleteAccount {
                uid,
                description,
                public_key_pem,
                groups,
            } => {
                self.journal.push(Change::AccountDeleted {
                    uid: uid.clone(),
                    description: description.clone(),
                    public_key_pem: public_key_pem.clone(),
                    groups: groups.clone(),
                });
                match clients.iam.user(uid).delete().await {
                    Ok(()) => Ok(Outcome::Deleted),
                    Err(e) if e.is_not_found() => Ok(Outcome::Absent),
                    Err(e) => Err(e.into()),
                }
            }
            Write::Options(options) => {
                options.commit()?;
                Ok(Outcome::Written)
            }
            Write::Account {
                uid,
                description,
                public_key_pem,
            } => {
                // Created meanwhile (another run of the same manifest): it exists, which is
                // what was asked; an existing account's key is never compared.
                let user = clients.iam.user(uid);
                let sent = user.create_service_account(description, public_key_pem);
                created(
                    &mut self.journal,
                    Change::Account { uid: uid.clone() },
                    sent,
                )
                .await
            }
            Write::User {
                uid,
                description,
                password,
            } => {
                let user = clients.iam.user(uid);
                let sent = user.create_user(description, password);
                created(
                    &mut self.journal,
                    Change::Account { uid: uid.clone() },
                    sent,
                )
                .await
            }
            Write::RemoteUser {
                uid,
                description,
                provider_type,
                provider_id,
            } => {
                let user = clients.iam.user(uid);
                let sent = user.create_remote_user(description, provider_type, provider_id);
                created(
                    &mut self.journal,
                    Change::Account { uid: uid.clone() },
                    sent,
                )
                .await
            }
            Write::Group { gid, description } => {
                let group = clients.iam.group(gid);
                let sent = group.create(description);
                created(&mut self.journal, Change::Group { gid: gid.clone() }, sent).await
            }
            Write::Acl { rid, description } => {
                self.journal.push(Change::Acl { rid: rid.clone() });
                if clients.iam.acl(rid).create(description).await? == CreateOutcome::AlreadyExists {
                    self.journal.pop();
                    return Ok(Outcome::Unchanged);
                }
                Ok(Outcome::Created)
            }
            Write::Join { gid, uid } => {
                let group = clients.iam.group(gid);
                let sent = group.add_member(uid);
                let change = Change::Joined {
                    gid: gid.clone(),
                    uid: uid.clone(),
                };
                created(&mut self.journal, change, sent).await
            }
        }
    }
}

/// Journals `change`, then sends the creation; one answered 409 existed already (created
/// meanwhile, or a retry of ours that had landed) and is not this run's to take back.
async fn created(
    journal: &mut Vec<Change>,
    change: Change,
    sent: impl std::future::Future<Output = Result<(), dcos_transport::Error>>,
) -> Result<Outcome> {
    journal.push(change);
    match sent.await {
        Ok(()) => Ok(Outcome::Created),
        Err(e) if e.is_conflict() => {
            journal.pop();
            Ok(Outcome::Unchanged)
        }
        Err(e) => Err(e.into()),
    }
}

/// The task that makes the secret at `path` hold `value`, given what it holds `now`: nothing when
/// it holds it already; a failed step (a conflict, see [`check_conflicts`]) when it holds
/// another value and `overwrite` is not allowed.
pub(crate) fn secret_task(
    (path, value): (&SecretPath, &SecretValue),
    now: Option<&SecretValue>,
    overwrite: bool,
    dry_run: bool,
) -> Task {
    let mut step = Step::secret(path, Outcome::Unchanged);
    step.fingerprint = Some(value.fingerprint());
    let write = |before: Option<&SecretValue>| Write::Secret {
        path: path.clone(),
        value: value.clone(),
        before: before.cloned(),
    };
    match now {
        None => {
            step.outcome = Outcome::planned(Outcome::WouldCreate, dry_run);
            Task::write(step, 0, write(None))
        }
        Some(now) if now == value => Task::report(step),
        Some(now) => {
            step.previous_fingerprint = Some(now.fingerprint());
            if overwrite {
                step.outcome = Outcome::planned(Outcome::WouldUpdate, dry_run);
                Task::write(step, 0, write(Some(now)))
            } else {
                step.outcome = Outcome::Failed;
                step.error =
                    Some("holds a different value, and overwriting was not allowed".into());
                Task::report(step)
            }
        }
    }
}

/// The task that grants `action` on `rid` to `principal` in `phase`, given the grant's state and
/// whether this run created the ACL while reading (its journal then has it).
pub(crate) fn grant_task(
    (rid, action, principal): (&Rid, Action, &Principal),
    state: GrantState,
    registered: bool,
    (phase, dry_run): (u8, bool),
) -> Task {
    let mut step = Step::grant(rid, action, crate::report::principal_name(principal));
    let acl = match (state, registered) {
        (GrantState::Granted, _) => {
            step.outcome = Outcome::AlreadyGranted;
            return Task::report(step);
        }
        (_, true) => AclAt::Registered,
        (GrantState::NotGranted, false) => AclAt::Existed,
        (GrantState::NoAcl, false) => AclAt::Missing,
    };
    step.outcome = Outcome::planned(Outcome::WouldGrant, dry_run);
    let write = Write::Grant {
        rid: rid.clone(),
        principal: principal.clone(),
        action,
        acl,
    };
    let mut task = Task::write(step, phase, write);
    if acl == AclAt::Registered {
        task.journal.push(Change::Acl { rid: rid.clone() });
    }
    task
}

/// The task that writes the options file in `phase`, when the options go to one.
pub(crate) fn options_task(options: &PreparedOptions, phase: u8, dry_run: bool) -> Option<Task> {
    let file = options.file()?;
    let write = options.change == crate::dse::FileChange::Write;
    let outcome = match (write, dry_run) {
        (true, true) => Outcome::WouldWrite,
        (true, false) => Outcome::NotRun,
        (false, _) => Outcome::Unchanged,
    };
    let step = Step::new(crate::report::StepKind::Options, file.display(), outcome);
    Some(match write {
        true => Task::write(step, phase, Write::Options(options.clone())),
        false => Task::report(step),
    })
}

/// A conflict when a secret holds a different value and overwriting was not allowed (the
/// failed steps of [`secret_task`]).
pub(crate) fn check_conflicts(tasks: &[Task]) -> Result<()> {
    let conflicts: Vec<String> = tasks
        .iter()
        .filter(|t| t.step.error.is_some())
        .map(|t| format!("`{}`", t.step.target))
        .collect();
    if conflicts.is_empty() {
        return Ok(());
    }
    let verb = if conflicts.len() == 1 {
        "holds"
    } else {
        "hold"
    };
    Err(Error::conflict(format!(
        "{} already {verb} a different value; nothing was changed",
        conflicts.join(" and "),
    ))
    .with_remedy(crate::error::Remedy::AllowOverwrite))
}

/// The description of an ACL this tool creates.
pub fn acl_description(rid: &Rid) -> String {
    format!("Created by dcos-creds for {rid}")
}

/// Creates (`exists: false`) or updates a secret. A create answered 409 is ours when the
/// secret now holds exactly our value (a retry of a request that had landed).
pub(crate) async fn write_secret(
    clients: &Clients,
    path: &SecretPath,
    value: &SecretValue,
    exists: bool,
) -> Result<Outcome> {
    let secret = clients.secrets.secret(path);
    if exists {
        secret.update(value).await?;
        return Ok(Outcome::Updated);
    }
    match secret.create(value).await {
        Ok(()) => Ok(Outcome::Created),
        Err(e) if e.is_conflict() => match secret.get_opt().await? {
            Some(now) if &now == value => Ok(Outcome::Created),
            _ => Err(Error::conflict(format!(
                "secret `{path}` was created by someone else meanwhile"
            ))),
        },
        Err(e) => Err(e.into()),
    }
}

/// Runs the tasks phase by phase, the writes of a phase at once, and marks each step. Stops
/// after the first phase in which a write failed, and returns the first failure, saying which
/// step it was (a plan of one step needs no saying). A stop the reporter asks for is taken
/// before each phase.
pub(crate) async fn run(
    clients: &Clients,
    tasks: &mut [Task],
    reporter: &dyn Reporter,
) -> Result<()> {
    run_bounded(clients, tasks, reporter, usize::MAX).await
}

/// [`run`], with at most `limit` writes of a phase in flight at once.
pub(crate) async fn run_bounded(
    clients: &Clients,
    tasks: &mut [Task],
    reporter: &dyn Reporter,
    limit: usize,
) -> Result<()> {
    let last = tasks.iter().map(|t| t.phase).max().unwrap_or(0);
    let name_steps = tasks.len() > 1;
    for phase in 0..=last {
        let writes = tasks.iter().any(|t| t.phase == phase && t.write.is_some());
        if writes && reporter.stop_requested() {
            return Err(Error::interrupted());
        }
        let batch: Vec<&mut Task> = (tasks.iter_mut())
            .filter(|t| t.phase == phase && t.write.is_some())
            .collect();
        let results = bounded(batch, limit, |task| send_one(task, clients)).await;
        let mut first = None;
        for (task, result) in results {
            match result {
                Ok(outcome) => task.step.outcome = outcome,
                Err(error) => {
                    task.step.fail(&error);
                    if first.is_none() {
                        let step = &task.step;
                        first = Some(match name_steps {
                            true => {
                                error.context(format!("{} {}", step.kind.as_str(), step.target))
                            }
                            false => error,
                        });
                    }
                }
            }
        }
        if let Some(error) = first {
            return Err(error);
        }
    }
    Ok(())
}

async fn send_one<'a>(task: &'a mut Task, clients: &Clients) -> (&'a mut Task, Result<Outcome>) {
    let result = task.send(clients).await;
    (task, result)
}

async fn undo_one(i: usize, task: &Task, clients: &Clients) -> (usize, Result<Option<String>>) {
    (i, undo_all(clients, &task.journal).await)
}

/// The futures `start` makes of `items`, at most `limit` at once; their outputs in the order
/// they finish.
async fn bounded<I, F: std::future::Future>(
    items: Vec<I>,
    limit: usize,
    start: impl Fn(I) -> F,
) -> Vec<F::Output> {
    let mut pending = items.into_iter();
    let mut running = futures::stream::FuturesUnordered::new();
    let mut done = Vec::new();
    loop {
        while running.len() < limit.max(1) {
            match pending.next() {
                Some(item) => running.push(start(item)),
                None => break,
            }
        }
        match running.next().await {
            Some(output) => done.push(output),
            None => return done,
        }
    }
}

/// Undos in flight at once: enough for any plan's phase, few enough for a restore's thousands.
const UNDO_CONCURRENCY: usize = 64;

/// Takes back the tasks' journals, the last phase first and each phase's at once (an account
/// is deleted only after the grants it was given are revoked, and made again before they are
/// given back), marking the steps: undone, not run (nothing had landed), or undo failed with
/// why.
pub(crate) async fn undo(clients: &Clients, tasks: &mut [Task]) -> Undo {
    let last = tasks.iter().map(|t| t.phase).max().unwrap_or(0);
    let mut results = Vec::new();
    for phase in (0..=last).rev() {
        let of_phase =
            (tasks.iter().enumerate()).filter(|(_, t)| t.phase == phase && !t.journal.is_empty());
        let batch: Vec<(usize, &Task)> = of_phase.collect();
        let undone = bounded(batch, UNDO_CONCURRENCY, |(i, task)| {
            undo_one(i, task, clients)
        })
        .await;
        results.extend(undone);
    }
    let mut summary = Undo::default();
    for (i, result) in results {
        let task = &mut tasks[i];
        let step = &mut task.step;
        match result {
            Ok(Some(what)) => {
                step.outcome = Outcome::Undone;
                summary.undone.push(what);
            }
            Ok(None) => {
                if step.outcome != Outcome::Failed {
                    step.outcome = Outcome::NotRun;
                }
            }
            Err(e) => {
                let why = e.full_message();
                step.outcome = Outcome::UndoFailed;
                step.error = Some(why.clone());
                summary
                    .left
                    .push(format!("{} {} ({why})", step.kind.as_str(), step.target));
            }
        }
    }
    summary
}

/// Runs the tasks; if one fails, takes back everything the run changed and returns the
/// failure with what was undone.
pub(crate) async fn run_or_undo(
    clients: &Clients,
    tasks: &mut [Task],
    reporter: &dyn Reporter,
) -> Result<()> {
    run_or_undo_bounded(clients, tasks, reporter, usize::MAX).await
}

/// [`run_or_undo`], with at most `limit` writes in flight at once.
pub(crate) async fn run_or_undo_bounded(
    clients: &Clients,
    tasks: &mut [Task],
    reporter: &dyn Reporter,
    limit: usize,
) -> Result<()> {
    let Err(error) = run_bounded(clients, tasks, reporter, limit).await else {
        return Ok(());
    };
    let undone = undo(clients, tasks).await;
    Err(error.with_undo(undone))
}

/// Every change the tasks made, in order: their journals as one.
pub(crate) fn journal_of(tasks: &[Task]) -> Vec<Change> {
    tasks
        .iter()
        .flat_map(|t| t.journal.iter().cloned())
        .collect()
}

/// The steps of the tasks, in order.
pub(crate) fn steps(tasks: Vec<Task>) -> Vec<Step> {
    tasks.into_iter().map(|t| t.step).collect()
}

/// What a step does, without how it ended: its kind, target, action and principal, and the
/// fingerprints of the values it writes and replaces (keyed per process, so comparable within
/// one run only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct StepKey {
    kind: String,
    target: String,
    action: Option<String>,
    principal: Option<String>,
    fingerprint: Option<String>,
    previous_fingerprint: Option<String>,
}

impl StepKey {
    fn of(step: &Step) -> Self {
        Self {
            kind: serde_json::to_value(step.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            target: step.target.clone(),
            action: step.action.clone(),
            principal: step.principal.clone(),
            fingerprint: step.fingerprint.clone(),
            previous_fingerprint: step.previous_fingerprint.clone(),
        }
    }
}

impl std::fmt::Display for StepKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.target)?;
        if let Some(action) = &self.action {
            write!(f, " {action}")?;
        }
        if let Some(principal) = &self.principal {
            write!(f, " of {principal}")?;
        }
        Ok(())
    }
}

/// The steps of a plan that its caller confirmed (a person answered a prompt, seconds or
/// minutes after the plan was read). A run given one plans again from what is there now and,
/// before it writes anything, compares: any step added, gone or resting on another value is
/// drift, and the run fails with [`crate::ErrorKind::Drift`], naming it, having changed
/// nothing. A run without one (`--yes`, scripts) plans and executes in one go.
///
/// It serializes (kinds, targets, actions, principals and keyed fingerprints; never a value),
/// so that a plan saved by one process can be executed by another that uses the same
/// fingerprint key.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confirmed(Vec<StepKey>);

impl Confirmed {
    /// The steps of a dry run's report that change something (or of a run's plan, before its
    /// steps ran).
    pub fn of<'a>(steps: impl IntoIterator<Item = &'a Step>) -> Self {
        // A dry run's steps say `would_...`; a run's, before they run, `not_run`.
        let mut keys: Vec<StepKey> = steps
            .into_iter()
            .filter(|s| s.changes() || s.outcome == Outcome::NotRun)
            .map(StepKey::of)
            .collect();
        keys.sort();
        Self(keys)
    }

    /// Fails with [`crate::ErrorKind::Drift`] when `planned` (the run's own plan, of the state
    /// now) is not the confirmed one, naming what differs.
    pub fn check<'a>(&self, planned: impl IntoIterator<Item = &'a Step>) -> Result<()> {
        let now = Self::of(planned);
        if now == *self {
            return Ok(());
        }
        let added: Vec<String> = now
            .0
            .iter()
            .filter(|k| !self.0.contains(k))
            .map(ToString::to_string)
            .collect();
        let gone: Vec<String> = self
            .0
            .iter()
            .filter(|k| !now.0.contains(k))
            .map(ToString::to_string)
            .collect();
        let mut said = Vec::new();
        if !added.is_empty() {
            said.push(format!("now also: {}", added.join("; ")));
        }
        if !gone.is_empty() {
            said.push(format!("no longer as planned: {}", gone.join("; ")));
        }
        Err(Error::of_kind(
            crate::ErrorKind::Drift,
            format!(
                "the cluster changed since the plan was confirmed ({}); nothing was changed",
                said.join("; ")
            ),
        ))
    }
}

/// A job a person confirms before it runs: its own dry run is the plan shown, and the run
/// checks the cluster against the plan confirmed before it writes.
pub trait Confirmable: Clone {
    /// The job as its dry run: the plan.
    fn planning(&self) -> Self;
    /// The job to run, given the plan a person confirmed (none: the caller said yes ahead).
    fn confirmed(&self, plan: Option<Confirmed>) -> Self;
}

macro_rules! confirmable {
    ($($job:ty),*) => {$(
        impl Confirmable for $job {
            fn planning(&self) -> Self {
                Self { dry_run: true, ..self.clone() }
            }
            fn confirmed(&self, plan: Option<Confirmed>) -> Self {
                Self { dry_run: false, confirmed: plan, ..self.clone() }
            }
        }
    )*};
}

confirmable!(
    crate::secrets::Deletion,
    crate::accounts::Deletion,
    crate::grants::RevokeAll,
    crate::s3::Offboarding,
    crate::dse::offboard::Offboard,
    crate::backup::Restore
);

/// [`Confirmed::check`] when the caller gave a confirmed plan.
pub(crate) fn check_confirmed<'a>(
    confirmed: Option<&Confirmed>,
    planned: impl IntoIterator<Item = &'a Step>,
) -> Result<()> {
    match confirmed {
        Some(confirmed) => confirmed.check(planned),
        None => Ok(()),
    }
}
