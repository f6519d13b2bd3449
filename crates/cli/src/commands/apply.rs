//! `apply -f manifest`: converge the cluster to a manifest. The workflow is `dcos_ops::apply`;
//! this loads the manifest, connects with the options' concurrency and retries, and prints the
//! report.

use dcos_ops::apply::{self, ApplyOptions, Covers, SavedPlan};
use dcos_ops::{ApplyReport, manifest};

use crate::args::ApplyArgs;
use crate::connect::{self, Cluster};
use crate::exit::{self, Failure};
use crate::input;
use crate::output::{Progress, Ui, count};

pub async fn run(cluster: Cluster, ui: &Ui, args: &ApplyArgs) -> exit::Result<()> {
    if args.concurrency == 0 {
        return Err(Failure::usage("--concurrency must be at least 1"));
    }
    let progress = Progress::new(*ui);
    // A saved plan's fingerprint key first: the manifest's values are fingerprinted with it.
    let saved = match &args.plan {
        Some(file) => Some(read_plan(file)?),
        None => None,
    };
    let manifest = manifest::load(&args.file, &progress)?;
    let cluster = cluster
        .max_in_flight(args.concurrency)
        .retries(args.retries);
    let session = connect::session(&cluster, false).await?;
    let plan_only = args.dry_run || args.check || args.plan_out.is_some();
    let options = ApplyOptions {
        dry_run: plan_only,
        prune: args.prune,
        concurrency: args.concurrency,
    };
    if let Some(saved) = saved {
        saved.fits(&session.url, args.prune)?;
        let confirmed = (&saved.steps, Covers::All);
        let report =
            apply::run_confirmed(&session.clients, &manifest, options, confirmed, &progress)
                .await?;
        return print(ui, &report, false);
    }
    // Pruning revokes grants nobody declared: the revokes are shown and confirmed first, and
    // what runs is what was confirmed. Without pruning (or planning only) nothing is asked.
    let clients = &session.clients;
    let asks = args.prune && !plan_only;
    let report = super::confirm_and_execute(
        (false, args.confirm.yes || !asks),
        || {
            let dry_run = ApplyOptions {
                dry_run: true,
                ..options
            };
            apply::run(clients, &manifest, dry_run, &dcos_ops::Silent)
        },
        |plan| apply::prune_steps(plan).cloned().collect(),
        |plan| {
            let revokes = apply::prune_steps(plan).filter(|s| s.changes()).count();
            format!("Apply, revoking {}", count(revokes, "grant", "grants"))
        },
        |confirmed| async {
            match confirmed {
                Some((_, confirmed)) => {
                    let confirmed = (&confirmed, Covers::Prune);
                    apply::run_confirmed(clients, &manifest, options, confirmed, &progress).await
                }
                None => apply::run(clients, &manifest, options, &progress).await,
            }
        },
    )
    .await??;
    if let Some(file) = &args.plan_out {
        let plan = SavedPlan::of(&report, &session.url, args.prune).to_json();
        dcos_ops::files::write_new(file, plan.as_bytes(), true)
            .map_err(|e| Failure::from(e).context(format!("--plan-out {}", file.display())))?;
        if !ui.json() {
            ui.info(format!(
                "saved the plan to {}; `dcos-creds apply -f {} --plan {}` executes it",
                file.display(),
                args.file.display(),
                file.display()
            ));
        }
    }
    print(ui, &report, args.check)
}

/// Reads a plan `apply --plan-out` saved.
fn read_plan(file: &std::path::Path) -> exit::Result<SavedPlan> {
    let what = format!("--plan {}", file.display());
    let bytes =
        input::read_all(file, dcos_ops::files::CONFIG_LIMIT).map_err(|f| f.context(&what))?;
    SavedPlan::from_json(&bytes).map_err(|e| Failure::from(e).context(&what))
}

/// Prints the results and the summary; exit 7 if any item failed, and with `check`, 8 if any
/// would change.
fn print(ui: &Ui, report: &ApplyReport, check: bool) -> exit::Result<()> {
    let dry_run = report.dry_run;
    if !ui.json() {
        report.plan_lines().for_each(|line| ui.info(line));
    }
    let called = match (check, dry_run) {
        (true, _) => "apply --check",
        (false, true) => "apply --dry-run",
        (false, false) => "apply",
    };
    ui.info(report.summary(called));
    let (total, failed, pending) = (report.items.len(), report.failed, report.pending());
    if failed > 0 {
        let failure = Failure::new(
            exit::PARTIAL,
            format!("{failed} of {total} items failed; the others are applied"),
        )
        .hint("each failed item was undone; fix the cause and apply again");
        return ui.fail_with(report, failure);
    }
    if check && pending > 0 {
        let failure = Failure::new(
            exit::DRIFT,
            format!(
                "the cluster differs from the manifest: {} to change",
                count(pending, "item", "items")
            ),
        )
        .hint("`dcos-creds apply -f FILE --dry-run` shows each change; apply without --check makes them");
        return ui.fail_with(report, failure);
    }
    ui.emit(report, String::new)
}
