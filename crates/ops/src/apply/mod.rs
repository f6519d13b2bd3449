//! `apply`: converge the cluster to a manifest of service accounts, secrets, grants and S3
//! onboardings.
//!
//! Three phases. Read: the secret names and ACLs in one request each, every principal the
//! manifest names with its grants, and the values of the declared secrets that exist; the keys
//! of the accounts to create are generated meanwhile. Plan: per item, the difference, without
//! values (a dry run stops here). Apply: every item at once, the transport bounding the
//! requests in flight; an item that needs a declared account waits for it. Each item succeeds
//! or is undone on its own; one failure never stops the others.

mod items;
mod saved;
mod state;

use std::collections::{HashMap, HashSet};

use dcos_iam_client::Uid;
use dcos_secrets_client::SecretPath;
use futures::StreamExt;
use tokio::sync::watch;

use crate::Clients;
use crate::error::{Error, Result};
use crate::manifest::{AccountKey, Manifest};
use crate::report::{ApplyReport, ItemReport, Status};
use crate::reporter::{Reporter, Warning};
use items::{Item, Work};
pub use saved::SavedPlan;

/// How an `apply` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Read and plan only.
    pub dry_run: bool,
    /// Also revoke grants on the manifest's resource ids that it does not declare.
    pub prune: bool,
    /// Items run at once (bound the requests with the transport's `max_in_flight`).
    pub concurrency: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            prune: false,
            concurrency: 16,
        }
    }
}

/// Converges the cluster to `manifest`. Items that fail are undone and named in the report
/// (`failed` counts them); an error is returned only when the cluster could not be read.
pub async fn run(
    clients: &Clients,
    manifest: &Manifest,
    options: ApplyOptions,
    reporter: &dyn Reporter,
) -> Result<ApplyReport> {
    if options.concurrency == 0 {
        return Err(Error::invalid("the concurrency must be at least 1"));
    }
    // The keys of accounts to create are generated while the cluster is read.
    let mut keys: HashMap<Uid, items::PendingKey> = HashMap::new();
    if !options.dry_run {
        for account in &manifest.accounts {
            if let AccountKey::Generate(_) = account.key {
                keys.insert(account.uid.clone(), items::generate());
            }
        }
    }
    // A manifest whose values take at most one round more than the listing reads them with it.
    let eager = manifest.secret_paths().len() <= options.concurrency.saturating_mul(2);
    let state = state::read(clients, manifest, options.prune, eager).await?;
    let mut items = items::plan(manifest, &state, options.dry_run, options.prune);
    if !manifest.setups.is_empty() {
        // The engines' set-ups: the cluster's mode once, then each one's own plan.
        let mode = crate::dse::security::security_mode(clients).await;
        for dse in &manifest.setups {
            items.push(items::plan_dse(clients, dse, &mode, options.dry_run).await);
        }
    }
    for item in &mut items {
        if let (Work::Account(account, plan), Some(_)) = (&mut item.work, &item.account) {
            plan.pending = keys.remove(&account.uid);
        }
    }
    let to_change = items.iter().filter(|i| i.changes()).count();
    let refused = items.iter().filter(|i| i.report.error.is_some()).count();
    reporter.planned(to_change, items.len(), refused);
    warn_missing_login_secrets(reporter, manifest, &state.names);
    if options.dry_run {
        for item in &mut items {
            items::run(clients, item, true, reporter).await;
        }
    } else {
        execute(clients, reporter, &mut items, options.concurrency).await;
    }
    Ok(report(manifest, options.dry_run, items))
}

/// The steps of a report's prune items: the grants nobody declared, which a `--prune` revokes.
pub fn prune_steps(report: &ApplyReport) -> impl Iterator<Item = &crate::Step> {
    report
        .items
        .iter()
        .filter(|i| i.kind == crate::ItemKind::Prune)
        .flat_map(|i| i.steps.iter())
}

/// Every step of a report.
pub fn all_steps(report: &ApplyReport) -> impl Iterator<Item = &crate::Step> {
    report.items.iter().flat_map(|i| i.steps.iter())
}

/// Which steps a confirmation covers: the revokes of a prune a person confirmed at a prompt,
/// or every step of a saved plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covers {
    /// The prune items' steps.
    Prune,
    /// Every item's steps.
    All,
}

/// [`run`], after its plan was confirmed (`confirmed`, covering `covers`): the cluster is
/// planned again as it is now (values read again from their sources), and on any difference
/// nothing is changed ([`crate::ErrorKind::Drift`]).
pub async fn run_confirmed(
    clients: &Clients,
    manifest: &Manifest,
    options: ApplyOptions,
    (confirmed, covers): (&crate::Confirmed, Covers),
    reporter: &dyn Reporter,
) -> Result<ApplyReport> {
    let plan = ApplyOptions {
        dry_run: true,
        ..options
    };
    let now = run(clients, manifest, plan, &crate::Silent).await?;
    match covers {
        Covers::Prune => confirmed.check(prune_steps(&now))?,
        Covers::All => confirmed.check(all_steps(&now))?,
    }
    run(clients, manifest, options, reporter).await
}

/// Every item on its own and at once, the transport bounding the requests in flight. An item
/// that needs a declared account waits for it (its ACLs created meanwhile), and is not run if
/// the account failed; the others do not wait.
async fn execute(
    clients: &Clients,
    reporter: &dyn Reporter,
    items: &mut [Item<'_>],
    concurrency: usize,
) {
    reporter.begin(items.len());
    let mut done: HashMap<Uid, watch::Sender<Option<bool>>> = HashMap::new();
    for item in items.iter() {
        if let Some(uid) = &item.account {
            done.insert(uid.clone(), watch::channel(None).0);
        }
    }
    // Accounts first, then what waits for nothing, then what waits for an account.
    let waits = |item: &Item<'_>| {
        item.needs
            .as_ref()
            .is_some_and(|uid| done.contains_key(uid))
    };
    let mut order: Vec<&mut Item<'_>> = items.iter_mut().collect();
    order.sort_by_key(|item| (item.account.is_none(), waits(item)));
    // The futures are made before the stream, which then holds no closure: that keeps the
    // whole future `Send`.
    let runs: Vec<_> = order
        .into_iter()
        .map(|item| {
            let signal = item.account.as_ref().and_then(|uid| done.get(uid));
            let wait = item
                .needs
                .as_ref()
                .and_then(|uid| done.get(uid).map(|tx| (uid.clone(), tx.subscribe())));
            run_item(clients, reporter, item, signal, wait)
        })
        .collect();
    let accounts = done.len();
    // Enough items at once to keep every request place busy while some wait.
    let mut stream =
        futures::stream::iter(runs).buffer_unordered(concurrency.saturating_mul(2) + accounts);
    while let Some(item) = stream.next().await {
        reporter.item_done(&item.report);
    }
    reporter.end();
}

/// Runs one item: an account says when it is done and whether it failed; an item that needs
/// an account waits for it.
async fn run_item<'a, 'm>(
    clients: &Clients,
    reporter: &dyn Reporter,
    item: &'a mut Item<'m>,
    signal: Option<&watch::Sender<Option<bool>>>,
    wait: Option<(Uid, watch::Receiver<Option<bool>>)>,
) -> &'a mut Item<'m> {
    let stop = |item: &Item<'_>| reporter.stop_requested() && item.changes();
    if let Some((uid, mut account)) = wait {
        if !stop(item) {
            items::register_acls(clients, item).await;
        }
        let succeeded = match account.wait_for(Option::is_some).await {
            Ok(done) => done.unwrap_or(false),
            Err(_) => false,
        };
        if !succeeded {
            let why = format!("the service account `{uid}` failed");
            items::not_run(clients, item, &why).await;
            return item;
        }
    }
    // Asked to stop: nothing new starts.
    if stop(item) {
        items::not_run(clients, item, "interrupted").await;
        if let Some(signal) = signal {
            signal.send_replace(Some(false));
        }
        return item;
    }
    items::run(clients, item, false, reporter).await;
    if let Some(signal) = signal {
        signal.send_replace(Some(item.report.error.is_none()));
    }
    item
}

/// The report of every item (each was settled when it ran).
fn report(manifest: &Manifest, dry_run: bool, items: Vec<Item<'_>>) -> ApplyReport {
    let items: Vec<ItemReport> = items.into_iter().map(|i| i.report).collect();
    let failed = items.iter().filter(|r| r.error.is_some()).count();
    let changes = items.iter().map(ItemReport::changes).sum();
    let result = match (failed, dry_run, changes) {
        (f, _, _) if f > 0 => Status::Failed,
        (_, _, 0) => Status::Unchanged,
        (_, true, _) => Status::WouldChange,
        (_, false, _) => Status::Changed,
    };
    ApplyReport {
        manifest: manifest.source.clone(),
        dry_run,
        result,
        changes,
        failed,
        items,
    }
}

/// One warning for the onboardings whose login secret neither exists nor is declared.
fn warn_missing_login_secrets(
    reporter: &dyn Reporter,
    manifest: &Manifest,
    names: &HashSet<String>,
) {
    let declared: HashSet<&SecretPath> = manifest.secret_paths().into_iter().collect();
    let mut missing: Vec<&SecretPath> = manifest
        .onboardings
        .iter()
        .map(|j| &j.account_secret)
        .filter(|p| !names.contains(p.as_str()) && !declared.contains(p))
        .collect();
    missing.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    missing.dedup();
    if let Some(first) = missing.first() {
        reporter.warn(&Warning::LoginSecretsMissing {
            first: (*first).clone(),
            more: missing.len() - 1,
        });
    }
}
