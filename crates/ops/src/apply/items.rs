//! Each item of a manifest: its plan against the cluster state, and its run.

use std::collections::HashSet;

use dcos_iam_client::{Action, CreateOutcome, GrantState, KeyPair, KeySize, Principal, Uid};
use dcos_secrets_client::SecretValue;
use futures::future::join_all;
use secrecy::ExposeSecret;

use super::state::ClusterState;
use crate::Clients;
use crate::accounts::login_secret_value;
use crate::dse::FileChange;
use crate::dse::security::SecurityMode;
use crate::dse::setup::{Setup, setup};
use crate::error::{Error, ErrorKind, Result};
use crate::files;
use crate::journal::Change;
use crate::manifest::{AccountItem, AccountKey, DseItem, GrantItem, Manifest, SecretItem};
use crate::plan::{self, AclAt, Task, Write};
use crate::report::{ItemKind, ItemReport, Outcome, Step, StepKind, principal_name};
use crate::reporter::Reporter;
use crate::s3::{self, Observed, Onboarding, Planned};

/// One item's planned work.
#[derive(Debug)]
pub(super) enum Work<'a> {
    /// A service account: its key, the account, its login secret.
    Account(&'a AccountItem, AccountPlan),
    /// Writes, all or nothing.
    Tasks(Vec<Task>),
    /// Revokes of `prune`: each on its own, none taken back.
    Revokes(Vec<Task>),
    /// An S3 onboarding.
    S3(&'a Onboarding, Planned),
    /// A Data Science Engine's set-up, in the cluster's mode: its own plan, all or nothing.
    Dse(Box<Setup>),
    /// Nothing to do, or refused at the plan.
    Done,
}

/// A key pair being generated ahead, while the cluster is read.
pub(super) type PendingKey = tokio::task::JoinHandle<Result<KeyPair, dcos_transport::Error>>;

/// What an account item does.
#[derive(Debug)]
pub(super) struct AccountPlan {
    create: bool,
    /// The login secret's value now, when it is to be written (`None` inside: create it).
    login_write: Option<Option<SecretValue>>,
    /// Its key pair, when one is being generated already.
    pub pending: Option<PendingKey>,
}

/// An item: its report, its work, and the accounts it is about.
#[derive(Debug)]
pub(super) struct Item<'a> {
    pub report: ItemReport,
    pub work: Work<'a>,
    /// The declared account this item needs, which must not have failed.
    pub needs: Option<Uid>,
    /// For an account item: the account.
    pub account: Option<Uid>,
}

impl<'a> Item<'a> {
    fn new(report: ItemReport, work: Work<'a>) -> Self {
        Self {
            report,
            work,
            needs: None,
            account: None,
        }
    }

    /// An item refused at the plan.
    fn refused(mut report: ItemReport, error: String) -> Self {
        report.error = Some(error);
        Self::new(report, Work::Done)
    }

    /// Whether running the item changes something.
    pub fn changes(&self) -> bool {
        match &self.work {
            Work::Done => false,
            Work::S3(job, planned) => {
                !planned.is_empty() || job.options.change == FileChange::Write
            }
            _ => true,
        }
    }
}

/// The plan of every item, in the manifest's order: accounts, secrets, grants, onboardings,
/// then what `prune` revokes.
pub(super) fn plan<'a>(
    manifest: &'a Manifest,
    state: &ClusterState,
    dry_run: bool,
    prune: bool,
) -> Vec<Item<'a>> {
    let declared: HashSet<&Uid> = manifest.accounts.iter().map(|a| &a.uid).collect();
    let mut items: Vec<Item<'a>> = Vec::new();
    items.extend(
        manifest
            .accounts
            .iter()
            .map(|a| plan_account(a, state, dry_run)),
    );
    items.extend(
        manifest
            .secrets
            .iter()
            .map(|s| plan_secret(s, state, dry_run)),
    );
    items.extend(
        manifest
            .grants
            .iter()
            .map(|g| plan_grant(g, state, &declared, dry_run)),
    );
    items.extend(
        manifest
            .onboardings
            .iter()
            .map(|j| plan_onboarding(j, state, &declared, dry_run)),
    );
    if prune {
        items.extend(plan_prune(manifest, state, dry_run));
    }
    items
}

fn plan_secret<'a>(secret: &'a SecretItem, state: &ClusterState, dry_run: bool) -> Item<'a> {
    let mut report = ItemReport::new(ItemKind::Secret, &secret.path);
    let mut step = Step::secret(&secret.path, Outcome::Unchanged);
    step.fingerprint = Some(secret.value.fingerprint());
    let before = state.values.get(&secret.path);
    if let Some(now) = before {
        if *now == secret.value {
            report.steps.push(step);
            return Item::new(report, Work::Done);
        }
        step.previous_fingerprint = Some(now.fingerprint());
    }
    let would = match before {
        Some(_) => Outcome::WouldUpdate,
        None => Outcome::WouldCreate,
    };
    step.outcome = Outcome::planned(would, dry_run);
    let write = Write::Secret {
        path: secret.path.clone(),
        value: secret.value.clone(),
        before: before.cloned(),
    };
    Item::new(report, Work::Tasks(vec![Task::write(step, 0, write)]))
}

fn plan_account<'a>(account: &'a AccountItem, state: &ClusterState, dry_run: bool) -> Item<'a> {
    let mut report = ItemReport::new(ItemKind::ServiceAccount, &account.uid);
    let exists = state
        .principal(&Principal::User(account.uid.clone()))
        .is_some();
    let outcome = match exists {
        true => Outcome::Unchanged,
        false => Outcome::planned(Outcome::WouldCreate, dry_run),
    };
    report
        .steps
        .push(Step::new(StepKind::Account, &account.uid, outcome));
    if let Some(file) = account.key.file().filter(|_| !exists) {
        let outcome = Outcome::planned(Outcome::WouldWrite, dry_run);
        report
            .steps
            .push(Step::new(StepKind::KeyFile, file.display(), outcome));
    }
    let mut login_write = None;
    if let Some((path, endpoint)) = &account.login {
        let now = state.values.get(path);
        let mut step = Step::secret(path, Outcome::Unchanged);
        let mut write = |before: Option<&SecretValue>, step: &mut Step| {
            let would = match before {
                Some(_) => Outcome::WouldUpdate,
                None => Outcome::WouldCreate,
            };
            step.outcome = Outcome::planned(would, dry_run);
            login_write = Some(before.cloned());
        };
        match (&account.key, now) {
            (AccountKey::Pair(pair), now) => {
                let value = login_secret_value(&account.uid, pair, endpoint);
                step.fingerprint = Some(value.fingerprint());
                match now {
                    Some(now) if *now == value => {}
                    Some(now) => {
                        step.previous_fingerprint = Some(now.fingerprint());
                        write(Some(now), &mut step);
                    }
                    None => write(None, &mut step),
                }
            }
            (AccountKey::Generate(_), now) if !exists => write(now, &mut step),
            // The account exists and its private key is not here: the login secret, if there,
            // is taken as it is.
            (_, Some(_)) => {}
            (_, None) => {
                step.outcome = Outcome::Failed;
                report.error = Some(format!(
                    "the account exists but its private key file {} does not, so the login \
                     secret `{path}` cannot be made; delete the account or restore the file",
                    account
                        .key
                        .file()
                        .map_or_else(String::new, |f| f.display().to_string())
                ));
            }
        }
        report.steps.push(step);
    }
    let work = if report.error.is_none() && (!exists || login_write.is_some()) {
        Work::Account(
            account,
            AccountPlan {
                create: !exists,
                login_write,
                pending: None,
            },
        )
    } else {
        Work::Done
    };
    Item {
        account: Some(account.uid.clone()),
        ..Item::new(report, work)
    }
}

/// Whether the item's principal is there: `Ok(None)` it exists, `Ok(Some(uid))` it is an account
/// the manifest declares (created first), `Err` why the item cannot run.
fn presence(
    principal: &Principal,
    state: &ClusterState,
    declared: &HashSet<&Uid>,
) -> Result<Option<Uid>, String> {
    match principal {
        p if state.principal(p).is_some() => Ok(None),
        Principal::User(uid) if declared.contains(uid) => Ok(Some(uid.clone())),
        p => Err(format!("{p} does not exist")),
    }
}

fn plan_grant<'a>(
    grant: &'a GrantItem,
    state: &ClusterState,
    declared: &HashSet<&Uid>,
    dry_run: bool,
) -> Item<'a> {
    let who = principal_name(&grant.principal);
    let name = format!("{} on {} to {who}", grant.action, grant.rid);
    let mut report = ItemReport::new(ItemKind::Grant, name);
    let mut step = Step::grant(&grant.rid, grant.action, who);
    let needs = match presence(&grant.principal, state, declared) {
        Ok(needs) => needs,
        Err(error) => {
            step.outcome = Outcome::Failed;
            report.steps.push(step);
            return Item::refused(report, error);
        }
    };
    let acl = match state.grant_state(&grant.principal, &grant.rid, grant.action) {
        GrantState::Granted => {
            step.outcome = Outcome::AlreadyGranted;
            report.steps.push(step);
            return Item::new(report, Work::Done);
        }
        GrantState::NotGranted => AclAt::Existed,
        GrantState::NoAcl => AclAt::Missing,
    };
    step.outcome = Outcome::planned(Outcome::WouldGrant, dry_run);
    let write = Write::Grant {
        rid: grant.rid.clone(),
        principal: grant.principal.clone(),
        action: grant.action,
        acl,
    };
    Item {
        needs,
        ..Item::new(report, Work::Tasks(vec![Task::write(step, 0, write)]))
    }
}

fn plan_onboarding<'a>(
    job: &'a Onboarding,
    state: &ClusterState,
    declared: &HashSet<&Uid>,
    dry_run: bool,
) -> Item<'a> {
    let report = ItemReport::new(ItemKind::S3, job.paths.service.as_str());
    let principal = Principal::User(job.account.clone());
    let mut needs = None;
    match state.principal(&principal) {
        Some(held) => {
            if let Err(e) = s3::check_account(job, Some(held.is_service)) {
                return Item::refused(report, e.full_message());
            }
        }
        None if declared.contains(&job.account) => needs = Some(job.account.clone()),
        None => {
            let e = s3::check_account(job, None).err();
            return Item::refused(report, e.map(|e| e.full_message()).unwrap_or_default());
        }
    }
    let rids = match job.rids() {
        Ok(rids) => rids,
        Err(e) => return Item::refused(report, e.full_message()),
    };
    let observed = Observed {
        current: job
            .paths
            .both()
            .iter()
            .map(|p| state.values.get(*p).cloned())
            .collect(),
        states: rids
            .iter()
            .map(|rid| state.grant_state(&principal, rid, Action::Read))
            .collect(),
        registered: Vec::new(),
    };
    let planned = s3::plan(job, &rids, &observed, dry_run);
    let changes = !planned.is_empty() || job.options.change == FileChange::Write;
    if !dry_run && !changes {
        let mut report = report;
        report.steps = plan::steps(planned.tasks);
        return Item {
            needs,
            ..Item::new(report, Work::Done)
        };
    }
    Item {
        needs,
        ..Item::new(report, Work::S3(job, planned))
    }
}

/// With `prune`: for each declared resource id, the grants held on it that the manifest does
/// not declare.
fn plan_prune<'a>(manifest: &Manifest, state: &ClusterState, dry_run: bool) -> Vec<Item<'a>> {
    let declared = manifest.declared_grants();
    let mut items = Vec::new();
    for rid in manifest.declared_rids() {
        let Some(holders) = state.holders.get(rid.as_str()) else {
            continue;
        };
        let users = holders.users.iter().filter_map(|u| {
            let uid = Uid::new(&u.uid).ok()?;
            Some((Principal::User(uid), &u.actions))
        });
        let groups = holders.groups.iter().filter_map(|g| {
            let gid = dcos_iam_client::Gid::new(&g.gid).ok()?;
            Some((Principal::Group(gid), &g.actions))
        });
        let held: Vec<(Principal, Action)> = users
            .chain(groups)
            .flat_map(|(p, actions)| {
                actions
                    .iter()
                    .filter_map(|a| a.action())
                    .map(move |a| (p.clone(), a))
            })
            .filter(|(p, a)| !declared.contains(&(rid.as_str().to_owned(), p.clone(), *a)))
            .collect();
        if held.is_empty() {
            continue;
        }
        let report = ItemReport::new(ItemKind::Prune, &rid);
        let tasks = held
            .into_iter()
            .map(|(principal, action)| {
                let mut step = Step::grant(&rid, action, principal_name(&principal));
                step.outcome = Outcome::planned(Outcome::WouldRevoke, dry_run);
                let revoke = Write::Revoke {
                    rid: rid.clone(),
                    principal,
                    action,
                    undoable: false,
                };
                Task::write(step, 0, revoke)
            })
            .collect();
        items.push(Item::new(report, Work::Revokes(tasks)));
    }
    items
}

/// Runs one item's work and settles its report.
pub(super) async fn run(
    clients: &Clients,
    item: &mut Item<'_>,
    dry_run: bool,
    reporter: &dyn Reporter,
) {
    let work = std::mem::replace(&mut item.work, Work::Done);
    let report = &mut item.report;
    let result = match work {
        Work::Done => Ok(()),
        // A dry run shows the plan (an onboarding adds its options step) and writes nothing.
        Work::Tasks(tasks) | Work::Revokes(tasks) if dry_run => {
            report.steps.extend(plan::steps(tasks));
            Ok(())
        }
        Work::Account(..) | Work::Dse(_) if dry_run => Ok(()),
        Work::Tasks(mut tasks) => {
            let result = plan::run_or_undo(clients, &mut tasks, reporter).await;
            report.steps.extend(plan::steps(tasks));
            result
        }
        Work::Revokes(mut tasks) => {
            let result = plan::run(clients, &mut tasks, reporter).await;
            report.steps.extend(plan::steps(tasks));
            result
        }
        Work::S3(job, planned) => {
            let (steps, result) = s3::execute(clients, job, planned, dry_run, reporter).await;
            report.steps.extend(steps);
            result
        }
        Work::Account(account, plan) => run_account(clients, account, plan, report, reporter).await,
        Work::Dse(job) => match setup(clients, &job, reporter).await {
            Ok(done) => {
                report.steps = done.steps;
                Ok(())
            }
            Err(failed) => {
                report.steps = failed.report.steps;
                Err(failed.error)
            }
        },
    };
    if let Err(error) = result {
        report.error = Some(error.full_message());
    }
    report.settle(dry_run);
}

/// A `[[dse]]` item: its set-up in `mode` (the cluster's, or the one the manifest tells when
/// the cluster does not say), planned now (a dry run of it), so that the plan shows its steps.
pub(super) async fn plan_dse<'a>(
    clients: &Clients,
    dse: &DseItem,
    mode: &Result<SecurityMode>,
    dry_run: bool,
) -> Item<'a> {
    let job = dse.prepared.clone();
    let mut report = ItemReport::new(ItemKind::Dse, job.service());
    let mode = match (mode, dse.told) {
        (Ok(mode), _) if !mode.has_secret_store() => Err(format!(
            "the cluster's security mode is `{mode}`, which has no secret store"
        )),
        (Ok(mode), _) => Ok(*mode),
        (Err(e), Some(told)) if e.kind() == ErrorKind::Api => Ok(told),
        (Err(e), _) => Err(e.full_message()),
    };
    let job = match mode.and_then(|mode| job.in_mode(mode).map_err(|e| e.full_message())) {
        Ok(job) => job,
        Err(error) => return Item::refused(report, error),
    };
    let plan = Setup {
        dry_run: true,
        ..job.clone()
    };
    match setup(clients, &plan, &crate::Silent).await {
        Ok(planned) if !planned.steps.iter().any(Step::changes) => {
            report.steps = planned.steps;
            Item::new(report, Work::Done)
        }
        // A dry run shows the plan; a run makes its own again, and reports its steps.
        Ok(planned) => {
            if dry_run {
                report.steps = planned.steps;
            }
            Item::new(report, Work::Dse(Box::new(job)))
        }
        Err(failed) => {
            report.steps = failed.report.steps;
            Item::refused(report, failed.error.full_message())
        }
    }
}

/// Starts generating a key pair on a thread of its own.
pub(super) fn generate() -> PendingKey {
    tokio::task::spawn_blocking(|| KeyPair::generate(KeySize::Rsa2048))
}

/// Creates, ahead of the account they wait for, the ACLs an item will grant on: an ACL alone
/// grants nothing, and those writes then overlap the account's key generation. They are in the
/// tasks' journals, so a failure (or the account's) deletes them again while empty.
pub(super) async fn register_acls(clients: &Clients, item: &mut Item<'_>) {
    let tasks = match &mut item.work {
        Work::Tasks(tasks) => tasks,
        Work::S3(_, planned) => &mut planned.tasks,
        _ => return,
    };
    join_all(tasks.iter_mut().map(|task| async move {
        let Some(Write::Grant { rid, acl, .. }) = &mut task.write else {
            return;
        };
        if *acl != AclAt::Missing {
            return;
        }
        task.journal.push(Change::Acl { rid: rid.clone() });
        match clients
            .iam
            .acl(rid)
            .create(&plan::acl_description(rid))
            .await
        {
            Ok(CreateOutcome::Created) => *acl = AclAt::Registered,
            Ok(CreateOutcome::AlreadyExists) => {
                task.journal.pop();
                *acl = AclAt::Existed;
            }
            // It may have landed: the journal keeps it, and the grant creates it if not.
            Err(_) => {}
        }
    }))
    .await;
}

/// An item that does not run (`why`: the account it needs failed, or the run was asked to
/// stop): the ACLs registered for it are deleted again.
pub(super) async fn not_run(clients: &Clients, item: &mut Item<'_>, why: &str) {
    let work = std::mem::replace(&mut item.work, Work::Done);
    let mut tasks = match work {
        Work::Tasks(tasks) => tasks,
        Work::S3(_, planned) => planned.tasks,
        _ => Vec::new(),
    };
    let undo = plan::undo(clients, &mut tasks).await;
    let mut error = format!("not run: {why}");
    if !undo.is_complete() {
        error.push_str(&format!("; {undo}"));
    }
    item.report.steps = plan::steps(tasks)
        .into_iter()
        .map(|mut step| {
            if step.outcome == Outcome::Undone {
                step.outcome = Outcome::NotRun;
            }
            step
        })
        .collect();
    item.report.error = Some(error);
    item.report.settle(false);
}

/// The key pair, known or generated now (for an account to create); `None` for an existing
/// account whose private key is not here. A key file another run of the manifest wrote first
/// is read and used.
async fn account_key(
    account: &AccountItem,
    plan: &mut AccountPlan,
    mut key_step: Option<&mut Task>,
) -> Result<Option<(String, Option<KeyPair>)>> {
    match &account.key {
        AccountKey::Public(pem) => Ok(Some((pem.clone(), None))),
        AccountKey::Pair(pair) => Ok(Some((pair.public_key_pem.clone(), Some(pair.clone())))),
        AccountKey::Generate(_) if !plan.create => Ok(None),
        AccountKey::Generate(file) => {
            let pending = plan.pending.take().unwrap_or_else(generate);
            let generated = pending
                .await
                .map_err(|e| Error::failed(format!("key generation stopped: {e}")))??;
            let pem = generated.private_key_pem.expose_secret().as_bytes();
            let written = files::write_new(file, pem, true);
            let (outcome, pair) = match written {
                Ok(()) => {
                    if let Some(task) = &mut key_step {
                        task.journal.push(Change::File { path: file.clone() });
                    }
                    (Outcome::Written, generated)
                }
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    let pem = files::read_private_key(file)?;
                    let theirs = KeyPair::from_private_pem(&pem).map_err(|e| {
                        Error::from(e).context(format!("private_key_out {}", file.display()))
                    })?;
                    (Outcome::Unchanged, theirs)
                }
                Err(e) => {
                    if let Some(task) = key_step {
                        task.step.fail(&e);
                    }
                    return Err(e);
                }
            };
            if let Some(task) = key_step {
                task.step.outcome = outcome;
            }
            Ok(Some((pair.public_key_pem.clone(), Some(pair))))
        }
    }
}

/// An account item: the key (generated and written, or read), then the account, then its login
/// secret; a failure takes back what the item did.
async fn run_account(
    clients: &Clients,
    account: &AccountItem,
    mut plan: AccountPlan,
    report: &mut ItemReport,
    reporter: &dyn Reporter,
) -> Result<()> {
    let uid = &account.uid;
    let mut tasks: Vec<Task> = std::mem::take(&mut report.steps)
        .into_iter()
        .map(Task::report)
        .collect();
    let position = |tasks: &[Task], kind| tasks.iter().position(|t| t.step.kind == kind);
    let key_step = position(&tasks, StepKind::KeyFile);
    let key = account_key(account, &mut plan, key_step.map(|k| &mut tasks[k])).await;
    let key = match key {
        Ok(key) => key,
        Err(e) => {
            report.steps = plan::steps(tasks);
            return Err(e);
        }
    };
    if let (true, Some((public_key_pem, _)), Some(a)) =
        (plan.create, &key, position(&tasks, StepKind::Account))
    {
        tasks[a].write = Some(Write::Account {
            uid: uid.clone(),
            description: account.description.clone(),
            public_key_pem: public_key_pem.clone(),
        });
    }
    if let (Some(before), Some((path, endpoint)), Some((_, Some(pair))), Some(s)) = (
        plan.login_write,
        &account.login,
        &key,
        position(&tasks, StepKind::Secret),
    ) {
        let task = &mut tasks[s];
        task.phase = 1;
        task.write = Some(Write::Secret {
            path: path.clone(),
            value: login_secret_value(uid, pair, endpoint),
            before,
        });
    }
    let result = plan::run_or_undo(clients, &mut tasks, reporter).await;
    report.steps = plan::steps(tasks);
    result
}
