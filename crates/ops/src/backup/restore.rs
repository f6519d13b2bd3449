//! Restore: a backup made the cluster's again, as one plan.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dcos_iam_client::{Action, Gid, Principal, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::TryStreamExt;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{AccountKind, Contents, SavedUser, Scope, read_iam, read_secrets};
use crate::error::{Error, Result, RunResult};
use crate::plan::{self, AclAt, Confirmed, Task, Write};
use crate::report::{Outcome, Status, Step, StepKind};
use crate::{Clients, Reporter};

/// What a restore does with a secret that holds another value than the backup's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Leave the cluster's value.
    Keep,
    /// Write the backup's value (undo puts the cluster's back).
    Replace,
    /// Refuse the whole restore, naming the secrets, before any write.
    #[default]
    Fail,
}

/// A restore of a backup into a cluster.
#[derive(Debug, Clone)]
pub struct Restore {
    /// What the backup holds.
    pub contents: Arc<Contents>,
    /// The part of it to restore.
    pub scope: Scope,
    pub on_conflict: OnConflict,
    /// The password of each user the restore creates. `None`: each gets a random one that
    /// is never shown or stored, so the account stays locked until an admin sets one.
    pub user_password: Option<Arc<SecretString>>,
    /// Plan only.
    pub dry_run: bool,
    /// The plan a person confirmed ([`Confirmed`]).
    pub confirmed: Option<Confirmed>,
}

impl Restore {
    /// A restore of `contents`, refusing conflicts, with random passwords.
    pub fn new(contents: Contents, scope: Scope) -> Self {
        Self {
            contents: Arc::new(contents),
            scope,
            on_conflict: OnConflict::default(),
            user_password: None,
            dry_run: false,
            confirmed: None,
        }
    }
}

/// What a restore did, or would do, step by step.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub dry_run: bool,
    pub result: Status,
    /// Users it creates with a random password nobody knows (the backup has none): an admin
    /// sets one before they can log in.
    pub users_without_password: Vec<String>,
    /// Users created with the password given for them.
    pub users_with_given_password: Vec<String>,
    /// Remote users left out, each with why.
    pub not_restored: Vec<String>,
    pub steps: Vec<Step>,
}

impl RestoreReport {
    /// How many steps ended, or would end, each way: `created 3, unchanged 10`.
    pub fn tally(&self) -> String {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for step in &self.steps {
            *by.entry(step.outcome.as_str()).or_default() += 1;
        }
        let parts: Vec<String> = by.iter().map(|(o, n)| format!("{o} {n}")).collect();
        parts.join(", ")
    }
}

impl std::fmt::Display for RestoreReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "restore (dry run)"
        } else {
            "restore"
        };
        writeln!(f, "{verb}: {}", self.tally())?;
        if !self.users_without_password.is_empty() {
            writeln!(
                f,
                "created without a known password (an admin sets one before they log in): {}",
                self.users_without_password.join(", ")
            )?;
        }
        for why in &self.not_restored {
            writeln!(f, "not restored: {why}")?;
        }
        Ok(())
    }
}

/// Restores the backup: reads what the cluster holds of it, plans the difference (create,
/// update, unchanged, kept or conflict per item), and unless a dry run, writes it all or
/// nothing. It only adds and updates: nothing the backup lacks is removed. A second run
/// changes nothing.
pub async fn restore(
    clients: &Clients,
    job: &Restore,
    reporter: &dyn Reporter,
) -> RunResult<RestoreReport> {
    let mut report = RestoreReport {
        dry_run: job.dry_run,
        result: Status::Unchanged,
        users_without_password: Vec::new(),
        users_with_given_password: Vec::new(),
        not_restored: Vec::new(),
        steps: Vec::new(),
    };
    let result = run(clients, job, reporter, &mut report).await;
    crate::report::finish(report, result, job.dry_run)
}

async fn run(
    clients: &Clients,
    job: &Restore,
    reporter: &dyn Reporter,
    report: &mut RestoreReport,
) -> Result<()> {
    let mut tasks = plan(clients, job, report).await?;
    let conflicts = plan::check_conflicts(&tasks);
    if conflicts.is_err() || job.dry_run {
        report.steps = plan::steps(tasks);
        return conflicts;
    }
    let checked = plan::check_confirmed(job.confirmed.as_ref(), tasks.iter().map(|t| &t.step));
    if let Err(error) = checked {
        report.steps = plan::steps(tasks);
        return Err(error);
    }
    let result = plan::run_or_undo_bounded(clients, &mut tasks, reporter, super::CONCURRENCY).await;
    report.steps = plan::steps(tasks);
    result
}

/// What the cluster holds now of what is restored.
struct Now {
    secrets: BTreeMap<String, SecretValue>,
    users: BTreeMap<String, SavedUser>,
    groups: BTreeMap<String, BTreeSet<String>>,
    /// Actions held on each ACL, by principal name (`alice`, `group:data`).
    acls: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Login providers by id, with their authentication types.
    providers: BTreeMap<String, String>,
}

async fn read_now(clients: &Clients, job: &Restore) -> Result<Now> {
    let backup = &job.contents;
    let paths = (backup.secrets.keys())
        .filter(|p| job.scope.holds(p))
        .map(|p| SecretPath::new(p).map_err(Error::from))
        .collect::<Result<Vec<_>>>()?;
    let mut now = Now {
        secrets: BTreeMap::new(),
        users: BTreeMap::new(),
        groups: BTreeMap::new(),
        acls: BTreeMap::new(),
        providers: BTreeMap::new(),
    };
    let mut values = read_secrets(clients, paths);
    while let Some((path, value)) = values.try_next().await? {
        if let Some(value) = value {
            now.secrets.insert(path.to_string(), value);
        }
    }
    let has_iam = !(backup.users.is_empty() && backup.groups.is_empty() && backup.acls.is_empty());
    if job.scope.iam() && has_iam {
        let iam = read_iam(clients).await?;
        now.users = iam.users;
        now.groups = (iam.groups.into_iter())
            .map(|(gid, g)| (gid, g.members))
            .collect();
        now.acls = (iam.acls.into_iter())
            .map(|(rid, acl)| (rid, held_by_name(acl.users, acl.groups)))
            .collect();
        let remote = (backup.users.values())
            .any(|u| u.kind == AccountKind::Remote && !now.users.contains_key(&u.uid));
        if remote {
            now.providers = (clients.iam.login_providers().await)
                .map_err(Error::from)
                .map_err(|e| e.context("read the login providers"))?;
        }
    }
    Ok(now)
}

fn held_by_name(
    users: BTreeMap<String, BTreeSet<String>>,
    groups: BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, BTreeSet<String>> {
    let groups = groups.into_iter().map(|(g, a)| (format!("group:{g}"), a));
    users.into_iter().chain(groups).collect()
}

/// Whether the cluster has a login provider `id` of `kind` (`ldap`, `oidc`, `saml`): its
/// authentication type names the kind (`dcos-uid-password-ldap`,
/// `oidc-authorization-code-flow`, `saml-sp-initiated`).
fn has_provider(providers: &BTreeMap<String, String>, kind: &str, id: &str) -> bool {
    providers.get(id).is_some_and(|auth| auth.contains(kind))
}

async fn plan(clients: &Clients, job: &Restore, report: &mut RestoreReport) -> Result<Vec<Task>> {
    let now = read_now(clients, job).await?;
    let backup = &job.contents;
    let dry_run = job.dry_run;
    let mut tasks = Vec::new();
    for (path, value) in backup.secrets.iter().filter(|(p, _)| job.scope.holds(p)) {
        let path = SecretPath::new(path)?;
        let held = now.secrets.get(path.as_str());
        tasks.push(match held {
            Some(held) if held != value && job.on_conflict == OnConflict::Keep => {
                let mut step = Step::secret(&path, Outcome::Kept);
                step.notes
                    .push("holds a different value; kept (--on-conflict keep)".into());
                Task::report(step)
            }
            _ => plan::secret_task(
                (&path, value),
                held,
                job.on_conflict == OnConflict::Replace,
                dry_run,
            ),
        });
    }
    if !job.scope.iam() {
        return Ok(tasks);
    }
    let created = Outcome::planned(Outcome::WouldCreate, dry_run);
    // Who exists once the first phase has run.
    let mut accounts: BTreeSet<&str> = now.users.keys().map(String::as_str).collect();
    for user in backup.users.values() {
        let uid = Uid::new(&user.uid)?;
        let kind = match user.kind {
            AccountKind::Service => StepKind::Account,
            _ => StepKind::User,
        };
        let mut step = Step::new(kind, &uid, created);
        if let Some(held) = now.users.get(&user.uid) {
            step.outcome = Outcome::Unchanged;
            if held.kind != user.kind || held.public_key != user.public_key {
                step.outcome = Outcome::Kept;
                step.notes.push(
                    "differs from the backup (kind or key); restore does not replace an account"
                        .into(),
                );
            }
            tasks.push(Task::report(step));
            continue;
        }
        let description = user.description.clone();
        let write = match user.kind {
            AccountKind::Service => Write::Account {
                uid,
                description,
                public_key_pem: user.public_key.clone().unwrap_or_default(),
            },
            AccountKind::User => {
                let password = match &job.user_password {
                    Some(given) => {
                        report.users_with_given_password.push(user.uid.clone());
                        given.clone()
                    }
                    None => {
                        report.users_without_password.push(user.uid.clone());
                        Arc::new(random_password())
                    }
                };
                Write::User {
                    uid,
                    description,
                    password,
                }
            }
            AccountKind::Remote => {
                let kind = user.provider_type.clone().unwrap_or_default();
                let id = user.provider_id.clone().unwrap_or_default();
                if !has_provider(&now.providers, &kind, &id) {
                    let why = format!("the cluster has no {kind} provider `{id}`");
                    report.not_restored.push(format!("{} ({why})", user.uid));
                    step.outcome = Outcome::Skipped;
                    step.notes.push(why);
                    tasks.push(Task::report(step));
                    continue;
                }
                Write::RemoteUser {
                    uid,
                    description,
                    provider_type: kind,
                    provider_id: id,
                }
            }
        };
        accounts.insert(&user.uid);
        tasks.push(Task::write(step, 0, write));
    }
    for group in backup.groups.values() {
        let gid = Gid::new(&group.gid)?;
        let mut step = Step::new(StepKind::Group, &gid, created);
        match now.groups.contains_key(&group.gid) {
            true => {
                step.outcome = Outcome::Unchanged;
                tasks.push(Task::report(step));
            }
            false => {
                let description = group.description.clone();
                tasks.push(Task::write(step, 0, Write::Group { gid, description }));
            }
        }
    }
    for acl in backup.acls.values() {
        let rid = Rid::new(&acl.rid)?;
        let mut step = Step::new(StepKind::Acl, &rid, created);
        match now.acls.contains_key(&acl.rid) {
            true => {
                step.outcome = Outcome::Unchanged;
                tasks.push(Task::report(step));
            }
            false => {
                let description = acl.description.clone();
                tasks.push(Task::write(step, 0, Write::Acl { rid, description }));
            }
        }
    }
    let missing = |uid: &str| {
        (!accounts.contains(uid)).then(|| format!("the account `{uid}` is not on the cluster"))
    };
    for group in backup.groups.values() {
        let gid = Gid::new(&group.gid)?;
        let members = now.groups.get(&group.gid);
        for uid in &group.members {
            let mut step = Step::new(StepKind::Membership, &gid, Outcome::Unchanged);
            step.principal = Some(uid.clone());
            if members.is_some_and(|m| m.contains(uid)) {
                tasks.push(Task::report(step));
            } else if let Some(why) = missing(uid) {
                step.outcome = Outcome::Skipped;
                step.notes.push(why);
                tasks.push(Task::report(step));
            } else {
                step.outcome = created;
                let uid = Uid::new(uid)?;
                tasks.push(Task::write(
                    step,
                    1,
                    Write::Join {
                        gid: gid.clone(),
                        uid,
                    },
                ));
            }
        }
    }
    for acl in backup.acls.values() {
        let rid = Rid::new(&acl.rid)?;
        let held = now.acls.get(&acl.rid);
        let users = (acl.users.iter()).map(|(uid, actions)| (uid.clone(), None, actions));
        let groups =
            (acl.groups.iter()).map(|(gid, actions)| (format!("group:{gid}"), Some(gid), actions));
        for (name, gid, actions) in users.chain(groups) {
            for action in actions {
                let mut step = Step::grant(&rid, action, &name);
                let holds = held
                    .and_then(|h| h.get(&name))
                    .is_some_and(|a| a.contains(action));
                let absent = match gid {
                    Some(gid) => (!backup.groups.contains_key(gid)
                        && !now.groups.contains_key(gid))
                    .then(|| format!("the group `{gid}` is not on the cluster")),
                    None => missing(&name),
                };
                let parsed = action.parse::<Action>();
                if holds {
                    step.outcome = Outcome::AlreadyGranted;
                    tasks.push(Task::report(step));
                } else if let Some(why) = absent {
                    step.outcome = Outcome::Skipped;
                    step.notes.push(why);
                    tasks.push(Task::report(step));
                } else if let Ok(action) = parsed {
                    step.outcome = Outcome::planned(Outcome::WouldGrant, dry_run);
                    let principal = match gid {
                        Some(gid) => Principal::Group(Gid::new(gid)?),
                        None => Principal::User(Uid::new(&name)?),
                    };
                    let write = Write::Grant {
                        rid: rid.clone(),
                        principal,
                        action,
                        acl: AclAt::Existed,
                    };
                    tasks.push(Task::write(step, 1, write));
                } else {
                    step.outcome = Outcome::Skipped;
                    step.notes
                        .push(format!("`{action}` is not an action IAM knows"));
                    tasks.push(Task::report(step));
                }
            }
        }
    }
    Ok(tasks)
}

/// A password nobody will know: 32 random letters and digits.
fn random_password() -> SecretString {
    use rand::Rng;
    use rand::distributions::Alphanumeric;
    let password: String = (rand::rngs::OsRng)
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    SecretString::from(password)
}
