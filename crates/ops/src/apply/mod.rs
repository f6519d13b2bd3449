//! `apply`: converge the cluster to a manifest of service accounts, secrets, grants and S3
//! onboardings.
//!
//! Three phases. Read: the secret names and ACLs in one request each, every principal the
//! manifest names with its grants, and the values of the declared secrets that exist. Plan: per
//! item, the difference, without values (a dry run stops here). Apply: the accounts first, then
//! every other item at once, at most `concurrency` items in flight (the transport bounds the
//! requests). Each item succeeds or is undone on its own; one failure never stops the others.

mod items;
mod state;

use std::collections::HashSet;

use dcos_iam_client::Uid;
use dcos_secrets_client::SecretPath;
use futures::StreamExt;

use crate::Clients;
use crate::error::{Error, Result};
use crate::manifest::Manifest;
use crate::report::{ApplyReport, ItemReport, Status};
use crate::reporter::{Reporter, Warning};
use items::{Item, Work};

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
    let state = state::read(clients, manifest, options.prune).await?;
    let mut items = items::plan(manifest, &state, options.dry_run, options.prune);
    let to_change = items.iter().filter(|i| i.changes()).count();
    let refused = items.iter().filter(|i| i.report.error.is_some()).count();
    reporter.planned(to_change, items.len(), refused);
    warn_missing_login_secrets(reporter, manifest, &state.names);
    if options.dry_run {
        for item in &mut items {
            items::run(clients, item, true).await;
        }
    } else {
        execute(clients, reporter, &mut items, options.concurrency).await;
    }
    Ok(report(manifest, options.dry_run, items))
}

/// The accounts first, then everything else, each item on its own.
async fn execute(
    clients: &Clients,
    reporter: &dyn Reporter,
    items: &mut [Item<'_>],
    concurrency: usize,
) {
    reporter.begin(items.len());
    let (accounts, rest): (Vec<&mut Item<'_>>, Vec<&mut Item<'_>>) =
        items.iter_mut().partition(|i| i.account.is_some());
    // The futures are made before the stream, which then holds no closure: that keeps the
    // whole future `Send`.
    let runs: Vec<_> = accounts
        .into_iter()
        .map(|item| run_item(clients, item, None))
        .collect();
    let accounts = futures::stream::iter(runs)
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut failed: HashSet<Uid> = HashSet::new();
    for item in accounts {
        if let (Some(uid), Some(_)) = (&item.account, &item.report.error) {
            failed.insert(uid.clone());
        }
        reporter.item_done(&item.report);
    }
    let runs: Vec<_> = rest
        .into_iter()
        .map(|item| run_item(clients, item, Some(&failed)))
        .collect();
    // Enough items at once to keep every request place busy.
    let mut stream = futures::stream::iter(runs).buffer_unordered(concurrency.saturating_mul(2));
    while let Some(item) = stream.next().await {
        reporter.item_done(&item.report);
    }
    reporter.end();
}

/// Runs one item, unless it needs an account that `failed`.
async fn run_item<'a, 'm>(
    clients: &Clients,
    item: &'a mut Item<'m>,
    failed: Option<&HashSet<Uid>>,
) -> &'a mut Item<'m> {
    match (&item.needs, failed) {
        (Some(uid), Some(failed)) if failed.contains(uid) => {
            item.work = Work::Done;
            item.report.error = Some(format!("not run: the service account `{uid}` failed"));
            item.report.settle(false);
        }
        _ => items::run(clients, item, false).await,
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
