//! `apply -f manifest`: converge the cluster to a manifest of service accounts, secrets, grants
//! and S3 onboardings.
//!
//! Three phases. Read: the secret names and ACLs in one request each, every principal the
//! manifest names with its grants, and the values of the declared secrets that exist. Plan: per
//! item, the difference, shown without values (`--dry-run` stops here). Apply: the accounts
//! first, then every other item at once, the transport holding at most `--concurrency`
//! requests in flight. Each item succeeds or is undone on its own; one failure never stops
//! the others.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::Path;

use dcos_iam_client::{
    AclHolders, Action, CreateOutcome, GrantState, KeyPair, KeySize, Principal, RevokeOutcome, Rid,
    ServiceAccountSecret, Uid, User,
};
use dcos_secrets_client::{SecretPath, SecretValue};
use dcos_transport::Error as ApiError;
use futures::StreamExt;
use futures::future::{join_all, try_join_all};
use indicatif::{ProgressBar, ProgressStyle};
use secrecy::ExposeSecret;

use crate::args::ApplyArgs;
use crate::commands::grant::acl_description;
use crate::commands::s3::{self, Observed, Onboarding};
use crate::connect::{Cluster, Session};
use crate::dse::FileChange;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::manifest::{self, AccountItem, AccountKey, Desired, GrantItem, SecretItem};
use crate::output::{ApplyReport, ItemReport, Step, Ui};

/// What one principal holds directly, as read before the plan.
#[derive(Debug, Default)]
struct Held {
    is_service: bool,
    grants: HashSet<(String, Action)>,
}

/// The cluster as far as the manifest is concerned.
#[derive(Debug, Default)]
struct ClusterState {
    /// The values of the declared secrets that exist.
    values: HashMap<SecretPath, SecretValue>,
    /// Every secret name in the store.
    names: HashSet<String>,
    /// Every ACL's resource id.
    acls: HashSet<String>,
    /// The principals the manifest names: `None` when they do not exist.
    principals: HashMap<Principal, Option<Held>>,
    /// With `--prune`: who holds what on each declared resource id that exists.
    holders: HashMap<String, AclHolders>,
}

impl ClusterState {
    fn grant_state(&self, principal: &Principal, rid: &Rid, action: Action) -> GrantState {
        let held = self.principals.get(principal).and_then(Option::as_ref);
        if held.is_some_and(|h| h.grants.contains(&(rid.as_str().to_owned(), action))) {
            GrantState::Granted
        } else if self.acls.contains(rid.as_str()) {
            GrantState::NotGranted
        } else {
            GrantState::NoAcl
        }
    }
}

/// Reads everything the plan compares, concurrently.
async fn read_state(
    session: &Session,
    desired: &Desired,
    prune: bool,
) -> exit::Result<ClusterState> {
    let mut principals: Vec<Principal> = Vec::new();
    let mut seen = HashSet::new();
    let named = desired
        .accounts
        .iter()
        .map(|a| Principal::User(a.uid.clone()))
        .chain(desired.grants.iter().map(|g| g.principal.clone()))
        .chain(
            desired
                .onboardings
                .iter()
                .map(|j| Principal::User(j.account.clone())),
        );
    for p in named {
        if seen.insert(p.clone()) {
            principals.push(p);
        }
    }
    let (names, acls, held) = tokio::join!(
        session.secrets.list(None),
        session.iam.acls(),
        try_join_all(principals.iter().map(|p| read_principal(session, p))),
    );
    let names: HashSet<String> = names.context("list the secrets")?.into_iter().collect();
    let acls: HashSet<String> = acls
        .context("list the ACLs")?
        .into_iter()
        .map(|a| a.rid)
        .collect();
    let held = held.context("read the accounts and groups")?;

    let existing: Vec<&SecretPath> = desired
        .secret_paths()
        .into_iter()
        .filter(|p| names.contains(p.as_str()))
        .collect();
    let rids: Vec<String> = if prune {
        declared_rids(desired)
            .into_iter()
            .filter(|rid| acls.contains(rid.as_str()))
            .map(|rid| rid.as_str().to_owned())
            .collect()
    } else {
        Vec::new()
    };
    let (values, holders) = tokio::join!(
        try_join_all(existing.iter().map(|path| async move {
            let value = session.secrets.secret(path).get_opt().await;
            value.map(|v| v.map(|v| ((*path).clone(), v)))
        })),
        try_join_all(rids.iter().map(|rid| async move {
            let parsed = Rid::new(rid)?;
            let holders = session.iam.acl(&parsed).holders().await;
            match holders {
                Err(e) if e.is_not_found() => Ok((rid.clone(), AclHolders::default())),
                other => other.map(|h| (rid.clone(), h)),
            }
        })),
    );
    Ok(ClusterState {
        values: values
            .context("read the secrets")?
            .into_iter()
            .flatten()
            .collect(),
        names,
        acls,
        principals: principals.into_iter().zip(held).collect(),
        holders: holders
            .context("read the ACLs' holders")?
            .into_iter()
            .collect(),
    })
}

/// A principal and its direct grants, or `None` if it does not exist.
async fn read_principal(
    session: &Session,
    principal: &Principal,
) -> Result<Option<Held>, ApiError> {
    let grants = |held: Vec<dcos_iam_client::HeldPermission>| -> HashSet<(String, Action)> {
        held.into_iter()
            .flat_map(|p| {
                let rid = p.rid;
                p.actions
                    .into_iter()
                    .filter_map(move |a| a.action().map(|a| (rid.clone(), a)))
            })
            .collect()
    };
    match principal {
        Principal::User(uid) => {
            let user = session.iam.user(uid);
            let (found, permissions) = tokio::join!(user.get_opt(), user.permissions());
            let Some(found): Option<User> = found? else {
                return Ok(None);
            };
            Ok(Some(Held {
                is_service: found.is_service,
                grants: grants(permissions?.direct),
            }))
        }
        Principal::Group(gid) => {
            let group = session.iam.group(gid);
            let (found, permissions) = tokio::join!(group.get_opt(), group.permissions());
            if found?.is_none() {
                return Ok(None);
            }
            Ok(Some(Held {
                is_service: false,
                grants: grants(permissions?),
            }))
        }
    }
}

/// Every resource id the manifest grants on.
fn declared_rids(desired: &Desired) -> Vec<Rid> {
    let mut seen = HashSet::new();
    let mut rids = Vec::new();
    let from_jobs = desired
        .onboardings
        .iter()
        .flat_map(|j| j.rids().unwrap_or_default());
    for rid in desired
        .grants
        .iter()
        .map(|g| g.rid.clone())
        .chain(from_jobs)
    {
        if seen.insert(rid.as_str().to_owned()) {
            rids.push(rid);
        }
    }
    rids
}

/// The grants the manifest declares, as (resource id, principal, action).
fn declared_grants(desired: &Desired) -> HashSet<(String, Principal, Action)> {
    let mut declared: HashSet<(String, Principal, Action)> = desired
        .grants
        .iter()
        .map(|g| (g.rid.as_str().to_owned(), g.principal.clone(), g.action))
        .collect();
    for job in &desired.onboardings {
        for rid in job.rids().unwrap_or_default() {
            let principal = Principal::User(job.account.clone());
            declared.insert((rid.as_str().to_owned(), principal, Action::Read));
        }
    }
    declared
}

/// What an account item does.
#[derive(Debug)]
struct AccountPlan {
    create: bool,
    /// The login secret's value now, when it is to be written (`None` inside: create it).
    login_write: Option<Option<SecretValue>>,
}

/// One item's planned work.
#[derive(Debug)]
enum Work<'a> {
    Account(&'a AccountItem, AccountPlan),
    Secret(&'a SecretItem, Option<SecretValue>),
    Grant(&'a GrantItem, bool),
    S3(&'a Onboarding, Vec<Rid>, s3::Planned),
    Prune(Rid, Vec<(Principal, Action)>),
    /// Nothing to do, or refused at the plan.
    Done,
}

/// An item: its report and its work.
#[derive(Debug)]
struct Item<'a> {
    report: ItemReport,
    work: Work<'a>,
    /// The declared account it needs, which must not have failed.
    needs: Option<Uid>,
}

/// `to_do("would_create")`: the outcome of a step before it runs.
fn to_do(dry_run: bool, word: &'static str) -> &'static str {
    if dry_run { word } else { "not_run" }
}

fn plan<'a>(
    desired: &'a Desired,
    state: &ClusterState,
    dry_run: bool,
    prune: bool,
) -> Vec<Item<'a>> {
    let declared_accounts: HashSet<&Uid> = desired.accounts.iter().map(|a| &a.uid).collect();
    let mut items = Vec::new();
    for account in &desired.accounts {
        items.push(plan_account(account, state, dry_run));
    }
    for secret in &desired.secrets {
        let mut report = ItemReport::new("secret", secret.path.to_string());
        let mut step = Step::secret(&secret.path, "unchanged");
        step.fingerprint = Some(secret.value.fingerprint());
        let before = state.values.get(&secret.path);
        let work = match before {
            Some(now) if *now == secret.value => Work::Done,
            Some(now) => {
                step.previous_fingerprint = Some(now.fingerprint());
                step.outcome = to_do(dry_run, "would_update");
                Work::Secret(secret, Some(now.clone()))
            }
            None => {
                step.outcome = to_do(dry_run, "would_create");
                Work::Secret(secret, None)
            }
        };
        report.steps.push(step);
        items.push(Item {
            report,
            work,
            needs: None,
        });
    }
    for grant in &desired.grants {
        items.push(plan_grant(grant, state, &declared_accounts, dry_run));
    }
    for job in &desired.onboardings {
        items.push(plan_onboarding(job, state, &declared_accounts, dry_run));
    }
    if prune {
        let declared = declared_grants(desired);
        for rid in declared_rids(desired) {
            let Some(holders) = state.holders.get(rid.as_str()) else {
                continue;
            };
            let mut held: Vec<(Principal, Action)> = Vec::new();
            for u in &holders.users {
                if let Ok(uid) = Uid::new(&u.uid) {
                    held.extend(
                        u.actions
                            .iter()
                            .filter_map(|a| a.action())
                            .map(|a| (Principal::User(uid.clone()), a)),
                    );
                }
            }
            for g in &holders.groups {
                if let Ok(gid) = dcos_iam_client::Gid::new(&g.gid) {
                    held.extend(
                        g.actions
                            .iter()
                            .filter_map(|a| a.action())
                            .map(|a| (Principal::Group(gid.clone()), a)),
                    );
                }
            }
            held.retain(|(p, a)| !declared.contains(&(rid.as_str().to_owned(), p.clone(), *a)));
            if held.is_empty() {
                continue;
            }
            let mut report = ItemReport::new("prune", rid.to_string());
            for (p, a) in &held {
                let mut step = Step::grant(&rid, a, principal_name(p));
                step.outcome = to_do(dry_run, "would_revoke");
                report.steps.push(step);
            }
            items.push(Item {
                report,
                work: Work::Prune(rid, held),
                needs: None,
            });
        }
    }
    items
}

/// `alice` or `group:data`, as steps name principals.
fn principal_name(principal: &Principal) -> String {
    match principal {
        Principal::User(uid) => uid.to_string(),
        Principal::Group(gid) => format!("group:{gid}"),
    }
}

fn plan_account<'a>(account: &'a AccountItem, state: &ClusterState, dry_run: bool) -> Item<'a> {
    let mut report = ItemReport::new("service_account", account.uid.to_string());
    let exists = matches!(
        state.principals.get(&Principal::User(account.uid.clone())),
        Some(Some(_))
    );
    let mut account_step = Step::new("account", account.uid.to_string(), "unchanged");
    if !exists {
        account_step.outcome = to_do(dry_run, "would_create");
    }
    report.steps.push(account_step);
    if let Some(file) = account.key.file().filter(|_| !exists) {
        let step = Step::new(
            "key_file",
            file.display().to_string(),
            to_do(dry_run, "would_write"),
        );
        report.steps.push(step);
    }
    let mut login_write = None;
    if let Some((path, endpoint)) = &account.login {
        let now = state.values.get(path);
        let mut step = Step::secret(path, "unchanged");
        match (&account.key, now) {
            (AccountKey::Pair(pair), now) => {
                let value = login_value(&account.uid, pair, endpoint);
                step.fingerprint = Some(value.fingerprint());
                match now {
                    Some(now) if *now == value => {}
                    Some(now) => {
                        step.previous_fingerprint = Some(now.fingerprint());
                        step.outcome = to_do(dry_run, "would_update");
                        login_write = Some(Some(now.clone()));
                    }
                    None => {
                        step.outcome = to_do(dry_run, "would_create");
                        login_write = Some(None);
                    }
                }
            }
            (AccountKey::Generate(_), None) if !exists => {
                step.outcome = to_do(dry_run, "would_create");
                login_write = Some(None);
            }
            (AccountKey::Generate(_), Some(_)) if !exists => {
                step.outcome = to_do(dry_run, "would_update");
                login_write = state.values.get(path).map(|v| Some(v.clone()));
            }
            // The account exists and its private key is not here: the login secret, if there,
            // is taken as it is.
            (_, Some(_)) => {}
            (_, None) => {
                step.outcome = "failed";
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
    let work = if report.error.is_some() {
        Work::Done
    } else if !exists || login_write.is_some() {
        Work::Account(
            account,
            AccountPlan {
                create: !exists,
                login_write,
            },
        )
    } else {
        Work::Done
    };
    Item {
        report,
        work,
        needs: None,
    }
}

fn login_value(uid: &Uid, pair: &KeyPair, endpoint: &str) -> SecretValue {
    let json = ServiceAccountSecret::new(uid.clone(), pair.private_key_pem.clone())
        .with_login_endpoint(endpoint.to_owned())
        .to_json();
    SecretValue::text(json.expose_secret())
}

/// Whether the item's principal is there: `Ok(None)` it exists, `Ok(Some(uid))` it is an account
/// the manifest declares (created first), `Err` why the item cannot run.
fn presence(
    principal: &Principal,
    state: &ClusterState,
    declared: &HashSet<&Uid>,
) -> Result<Option<Uid>, String> {
    match (principal, state.principals.get(principal)) {
        (_, Some(Some(_))) => Ok(None),
        (Principal::User(uid), _) if declared.contains(uid) => Ok(Some(uid.clone())),
        (p, _) => Err(format!("{p} does not exist")),
    }
}

fn plan_grant<'a>(
    grant: &'a GrantItem,
    state: &ClusterState,
    declared: &HashSet<&Uid>,
    dry_run: bool,
) -> Item<'a> {
    let mut report = ItemReport::new(
        "grant",
        format!(
            "{} on {} to {}",
            grant.action,
            grant.rid,
            principal_name(&grant.principal)
        ),
    );
    let mut step = Step::grant(&grant.rid, grant.action, principal_name(&grant.principal));
    let needs = match presence(&grant.principal, state, declared) {
        Ok(needs) => needs,
        Err(error) => {
            step.outcome = "failed";
            report.steps.push(step);
            report.error = Some(error);
            return Item {
                report,
                work: Work::Done,
                needs: None,
            };
        }
    };
    let work = match state.grant_state(&grant.principal, &grant.rid, grant.action) {
        GrantState::Granted => {
            step.outcome = "already_granted";
            Work::Done
        }
        s => {
            step.outcome = to_do(dry_run, "would_grant");
            Work::Grant(grant, s == GrantState::NotGranted)
        }
    };
    report.steps.push(step);
    Item {
        report,
        work,
        needs,
    }
}

fn plan_onboarding<'a>(
    job: &'a Onboarding,
    state: &ClusterState,
    declared: &HashSet<&Uid>,
    dry_run: bool,
) -> Item<'a> {
    let report = ItemReport::new("s3", job.paths.service.as_str().to_owned());
    let principal = Principal::User(job.account.clone());
    let mut needs = None;
    let refuse = |mut report: ItemReport, error: String, needs| {
        report.error = Some(error);
        Item {
            report,
            work: Work::Done,
            needs,
        }
    };
    match state.principals.get(&principal) {
        Some(Some(held)) => {
            if let Err(e) = s3::check_account(job, Some(held.is_service)) {
                return refuse(report, e.message, None);
            }
        }
        _ if declared.contains(&job.account) => needs = Some(job.account.clone()),
        _ => {
            let e = s3::check_account(job, None).err();
            return refuse(report, e.map(|e| e.message).unwrap_or_default(), None);
        }
    }
    let rids = match job.rids() {
        Ok(rids) => rids,
        Err(e) => return refuse(report, e.message, needs),
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
    if planned.is_empty() && job.options.change != FileChange::Write && !dry_run {
        let mut report = report;
        report.steps = planned.into_steps();
        return Item {
            report,
            work: Work::Done,
            needs,
        };
    }
    Item {
        report,
        work: Work::S3(job, rids, planned),
        needs,
    }
}

/// Runs one item's work; fills its report.
async fn run_item(session: &Session, item: &mut Item<'_>, dry_run: bool) {
    let work = std::mem::replace(&mut item.work, Work::Done);
    let report = &mut item.report;
    let result = match work {
        Work::Done => Ok(()),
        Work::Account(account, plan) => apply_account(session, account, plan, report).await,
        Work::Secret(secret, before) => {
            let written =
                s3::write_secret(session, &secret.path, &secret.value, before.as_ref()).await;
            record(&mut report.steps[0], written)
        }
        Work::Grant(grant, acl_existed) => apply_grant(session, grant, acl_existed, report).await,
        Work::S3(job, rids, planned) => {
            let mut s3_report = job.report(dry_run);
            let outcome = s3::execute(session, job, &rids, planned, &mut s3_report).await;
            report.steps.append(&mut s3_report.steps);
            outcome
        }
        Work::Prune(rid, held) => {
            let acl = session.iam.acl(&rid);
            let results = join_all(held.iter().map(|(p, a)| acl.ensure_revoked(p, *a))).await;
            let mut first = Ok(());
            for (step, result) in report.steps.iter_mut().zip(results) {
                let result = result.map(|r| match r {
                    RevokeOutcome::Revoked => "revoked",
                    RevokeOutcome::AlreadyAbsent => "not_granted",
                });
                let recorded = record(step, result);
                if first.is_ok() {
                    first = recorded;
                }
            }
            first
        }
    };
    if let Err(failure) = result {
        report.error = Some(failure.message);
    }
    report.settle(dry_run);
}

/// Marks a step with its outcome or its failure.
fn record(step: &mut Step, result: Result<&'static str, ApiError>) -> exit::Result<()> {
    match result {
        Ok(outcome) => {
            step.outcome = outcome;
            Ok(())
        }
        Err(e) => {
            let failure = Failure::from(e);
            step.outcome = "failed";
            step.error = Some(failure.message.clone());
            Err(failure)
        }
    }
}

async fn apply_grant(
    session: &Session,
    grant: &GrantItem,
    acl_existed: bool,
    report: &mut ItemReport,
) -> exit::Result<()> {
    let acl = session.iam.acl(&grant.rid);
    let mut created = false;
    if !acl_existed {
        match acl.create(&acl_description(&grant.rid)).await {
            Ok(outcome) => created = outcome == CreateOutcome::Created,
            Err(e) => return record(&mut report.steps[0], Err(e)),
        }
    }
    let granted = match acl.grant(&grant.principal, grant.action).await {
        Err(e) if !e.is_conflict() => Err(e),
        _ => Ok("granted"),
    };
    let result = record(&mut report.steps[0], granted);
    if let Err(failure) = result {
        if created {
            return match s3::delete_if_empty(session, &grant.rid).await {
                Ok(_) => Err(failure.context("undone: the ACL it created")),
                Err(e) => {
                    Err(failure.context(format!("the empty ACL {} is left ({e})", grant.rid)))
                }
            };
        }
        return Err(failure);
    }
    Ok(())
}

async fn apply_account(
    session: &Session,
    account: &AccountItem,
    plan: AccountPlan,
    report: &mut ItemReport,
) -> exit::Result<()> {
    let uid = &account.uid;
    // The key pair: known, generated now, or (for an existing account) not needed.
    let (generated, theirs);
    let mut wrote_key = false;
    let (public, pair): (Option<&str>, Option<&KeyPair>) = match &account.key {
        AccountKey::Public(pem) => (Some(pem), None),
        AccountKey::Pair(pair) => (Some(&pair.public_key_pem), Some(pair)),
        AccountKey::Generate(_) if !plan.create => (None, None),
        AccountKey::Generate(file) => {
            generated = tokio::task::spawn_blocking(|| KeyPair::generate(KeySize::Rsa2048))
                .await
                .map_err(|e| Failure::new(exit::FAILURE, format!("key generation stopped: {e}")))?
                .context("generate the key pair")?;
            match input::write_new(
                file,
                generated.private_key_pem.expose_secret().as_bytes(),
                true,
            ) {
                Ok(()) => {
                    wrote_key = true;
                    mark(report, "key_file", "written");
                    (Some(&generated.public_key_pem), Some(&generated))
                }
                // Another run of this manifest wrote it first: its key is the account's.
                Err(e) if e.code == exit::CONFLICT => {
                    let pem = input::private_key(file)?;
                    theirs = KeyPair::from_private_pem(&pem)
                        .context(format!("private_key_out {}", file.display()))?;
                    mark(report, "key_file", "unchanged");
                    (Some(&theirs.public_key_pem), Some(&theirs))
                }
                Err(e) => {
                    mark(report, "key_file", "failed");
                    return Err(e);
                }
            }
        }
    };
    let remove_key = |report: &mut ItemReport| {
        if let AccountKey::Generate(file) = &account.key
            && wrote_key
            && std::fs::remove_file(file).is_ok()
        {
            mark(report, "key_file", "undone");
        }
    };
    let mut created = false;
    if plan.create
        && let Some(public) = public
    {
        match session
            .iam
            .user(uid)
            .create_service_account(&account.description, public)
            .await
        {
            Ok(()) => {
                created = true;
                mark(report, "account", "created");
            }
            // Created meanwhile (another apply of this manifest): it exists, which is what
            // the manifest asks; an existing account's key is never compared.
            Err(e) if e.is_conflict() => mark(report, "account", "unchanged"),
            Err(e) => {
                mark(report, "account", "failed");
                remove_key(report);
                return Err(Failure::from(e).context(format!("create the account `{uid}`")));
            }
        }
    }
    let (Some(write), Some((path, endpoint)), Some(pair)) =
        (plan.login_write, &account.login, pair)
    else {
        return Ok(());
    };
    let value = login_value(uid, pair, endpoint);
    let stored = s3::write_secret(session, path, &value, write.as_ref()).await;
    let step = report.steps.iter_mut().find(|s| s.kind == "secret");
    let failure = match (stored, step) {
        (Ok(outcome), Some(step)) => {
            step.outcome = outcome;
            return Ok(());
        }
        (Ok(_), None) => return Ok(()),
        (Err(e), step) => {
            let failure = Failure::from(e).context(format!("store the login secret `{path}`"));
            if let Some(step) = step {
                step.outcome = "failed";
                step.error = Some(failure.message.clone());
            }
            failure
        }
    };
    if created {
        match session.iam.user(uid).delete().await {
            Ok(()) => mark(report, "account", "undone"),
            Err(e) => return Err(failure.context(format!("the account `{uid}` is left ({e})"))),
        }
        remove_key(report);
    }
    Err(failure)
}

/// Sets the outcome of the first step of `kind`.
fn mark(report: &mut ItemReport, kind: &str, outcome: &'static str) {
    if let Some(step) = report.steps.iter_mut().find(|s| s.kind == kind) {
        step.outcome = outcome;
    }
}

/// One warning for the onboardings whose login secret neither exists nor is declared.
fn warn_missing_login_secrets(ui: &Ui, desired: &Desired, names: &HashSet<String>) {
    let declared: HashSet<&SecretPath> = desired.secret_paths().into_iter().collect();
    let mut missing: Vec<&str> = desired
        .onboardings
        .iter()
        .map(|j| &j.account_secret)
        .filter(|p| !names.contains(p.as_str()) && !declared.contains(p))
        .map(SecretPath::as_str)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if let Some(first) = missing.first() {
        let (more, verb) = match missing.len() {
            1 => (String::new(), "does"),
            n => (format!(" and {} more", n - 1), "do"),
        };
        ui.warn(format!(
            "the login secret `{first}`{more} {verb} not exist; those services cannot start without it"
        ));
    }
}

/// A progress bar on standard error when it is a terminal and people read the output.
fn progress(ui: &Ui, len: usize) -> ProgressBar {
    if ui.json() || ui.is_quiet() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} items {elapsed}") {
        bar.set_style(style);
    }
    bar
}

pub async fn run(cluster: Cluster, ui: &Ui, args: &ApplyArgs) -> exit::Result<()> {
    if args.concurrency == 0 {
        return Err(Failure::usage("--concurrency must be at least 1"));
    }
    let desired = manifest::load(&args.file, ui)?;
    let session = cluster
        .max_in_flight(args.concurrency)
        .retries(args.retries)
        .session()
        .await?;
    let state = read_state(&session, &desired, args.prune).await?;
    let mut items = plan(&desired, &state, args.dry_run, args.prune);
    let state_names = state.names;

    let to_change = items
        .iter()
        .filter(|i| match &i.work {
            Work::Done => false,
            Work::S3(job, _, planned) => {
                !planned.is_empty() || job.options.change == FileChange::Write
            }
            _ => true,
        })
        .count();
    let refused = items.iter().filter(|i| i.report.error.is_some()).count();
    ui.info(format!(
        "plan: {to_change} of {} items to change{}",
        items.len(),
        if refused > 0 {
            format!(", {refused} refused")
        } else {
            String::new()
        }
    ));

    warn_missing_login_secrets(ui, &desired, &state_names);
    if args.dry_run {
        for item in &mut items {
            // An onboarding's dry run adds its options step; nothing else runs.
            if matches!(item.work, Work::S3(..)) {
                run_item(&session, item, true).await;
            }
            item.report.settle(true);
        }
    } else {
        execute(&session, ui, &mut items, args.concurrency).await;
    }
    report(ui, &args.file, args.dry_run, items)
}

/// The accounts first, then everything else, each item on its own.
async fn execute(session: &Session, ui: &Ui, items: &mut [Item<'_>], concurrency: usize) {
    let bar = progress(ui, items.len());
    let done = |item: &Item<'_>| {
        bar.inc(1);
        if item.report.result == "changed" && !ui.json() && !ui.is_quiet() {
            bar.suspend(|| ui.info(item.report.line()));
        }
    };
    let (accounts, rest): (Vec<&mut Item<'_>>, Vec<&mut Item<'_>>) = items
        .iter_mut()
        .partition(|i| i.report.kind == "service_account");
    let mut failed_accounts: HashSet<Uid> = HashSet::new();
    let accounts = futures::stream::iter(accounts)
        .map(|item| async move {
            run_item(session, item, false).await;
            item
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    for item in accounts {
        if item.report.error.is_some()
            && let Ok(uid) = Uid::new(&item.report.name)
        {
            failed_accounts.insert(uid);
        }
        done(item);
    }
    let failed_accounts = &failed_accounts;
    let mut stream = futures::stream::iter(rest)
        .map(|item| async move {
            match &item.needs {
                Some(uid) if failed_accounts.contains(uid) => {
                    item.work = Work::Done;
                    item.report.error =
                        Some(format!("not run: the service account `{uid}` failed"));
                    item.report.settle(false);
                }
                _ => run_item(session, item, false).await,
            }
            item
        })
        // Enough items at once to keep every request place busy.
        .buffer_unordered(concurrency.saturating_mul(2));
    while let Some(item) = stream.next().await {
        done(item);
    }
    bar.finish_and_clear();
}

/// Prints the results (every item was settled when it ran) and the summary; exit 7 if any failed.
fn report(ui: &Ui, file: &Path, dry_run: bool, items: Vec<Item<'_>>) -> exit::Result<()> {
    let reports: Vec<ItemReport> = items.into_iter().map(|i| i.report).collect();
    let failed = reports.iter().filter(|r| r.error.is_some()).count();
    let changes = reports.iter().map(ItemReport::changes).sum();
    let result = match (failed, dry_run, changes) {
        (f, _, _) if f > 0 => "failed",
        (_, _, 0) => "unchanged",
        (_, true, _) => "would_change",
        (_, false, _) => "changed",
    };
    let report = ApplyReport {
        manifest: file.display().to_string(),
        dry_run,
        result,
        changes,
        failed,
        items: reports,
    };
    if ui.json() {
        ui.emit(&report, String::new)?;
    } else {
        // The plan of a dry run, and what became of each step of a failed item.
        let shown = |i: &&ItemReport| (dry_run && i.result != "unchanged") || i.result == "failed";
        for item in report.items.iter().filter(shown) {
            ui.info(item.line());
            for step in item.steps.iter().filter(|s| s.changes()) {
                ui.info(format!("  {}", step.line()));
            }
        }
    }
    let unchanged = report
        .items
        .iter()
        .filter(|i| i.result == "unchanged")
        .count();
    ui.info(format!(
        "apply{}: {} items, {} {}, {unchanged} unchanged, {failed} failed ({changes} changes)",
        if dry_run { " --dry-run" } else { "" },
        report.items.len(),
        report.items.len() - unchanged - failed,
        if dry_run { "would change" } else { "changed" },
    ));
    if failed > 0 {
        return Err(Failure::new(
            exit::PARTIAL,
            format!(
                "{failed} of {} items failed; the others are applied",
                report.items.len()
            ),
        )
        .hint("each failed item was undone; fix the cause and apply again"));
    }
    Ok(())
}
