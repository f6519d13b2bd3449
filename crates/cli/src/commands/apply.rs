//! `apply -f manifest`: converge the cluster to a manifest. The workflow is `dcos_ops::apply`;
//! this loads the manifest, connects with the options' concurrency and retries, and prints the
//! report.

use dcos_ops::apply::{self, ApplyOptions};
use dcos_ops::{ApplyReport, ItemReport, Status, manifest};

use crate::args::ApplyArgs;
use crate::connect::Cluster;
use crate::exit::{self, Failure};
use crate::input;
use crate::output::{Progress, Ui, count, item_line, step_line};

pub async fn run(cluster: Cluster, ui: &Ui, args: &ApplyArgs) -> exit::Result<()> {
    if args.concurrency == 0 {
        return Err(Failure::usage("--concurrency must be at least 1"));
    }
    let progress = Progress::new(*ui);
    let manifest = manifest::load(&args.file, &progress)?;
    let session = cluster
        .max_in_flight(args.concurrency)
        .retries(args.retries)
        .session()
        .await?;
    let plan_only = args.dry_run || args.check;
    let options = ApplyOptions {
        dry_run: plan_only,
        prune: args.prune,
        concurrency: args.concurrency,
    };
    // Pruning revokes grants nobody declared: the revokes are shown and confirmed first, and
    // what runs is what was confirmed.
    let mut confirmed = None;
    if args.prune && !plan_only && !args.confirm.yes {
        let plan = apply::run(
            &session.clients,
            &manifest,
            ApplyOptions {
                dry_run: true,
                ..options
            },
            &dcos_ops::Silent,
        )
        .await?;
        let revokes: Vec<&dcos_ops::Step> =
            apply::prune_steps(&plan).filter(|s| s.changes()).collect();
        if !revokes.is_empty() {
            let question = format!(
                "Apply, revoking {}",
                count(revokes.len(), "grant", "grants")
            );
            let steps: Vec<dcos_ops::Step> = revokes.into_iter().cloned().collect();
            confirmed = input::confirm_steps(false, &question, &steps)?;
        }
    }
    let report = match &confirmed {
        Some(confirmed) => {
            apply::run_confirmed(&session.clients, &manifest, options, confirmed, &progress).await?
        }
        None => apply::run(&session.clients, &manifest, options, &progress).await?,
    };
    print(ui, &report, args.check)
}

/// Prints the results and the summary; exit 7 if any item failed, and with `check`, 8 if any
/// would change.
fn print(ui: &Ui, report: &ApplyReport, check: bool) -> exit::Result<()> {
    let dry_run = report.dry_run;
    if !ui.json() {
        // The plan of a dry run, and what became of each step of a failed item.
        let shown = |i: &&ItemReport| {
            (dry_run && i.result != Status::Unchanged) || i.result == Status::Failed
        };
        for item in report.items.iter().filter(shown) {
            ui.info(item_line(item));
            for step in item.steps.iter().filter(|s| s.changes()) {
                ui.info(format!("  {}", step_line(step)));
            }
        }
    }
    let total = report.items.len();
    let failed = report.failed;
    let unchanged = report
        .items
        .iter()
        .filter(|i| i.result == Status::Unchanged)
        .count();
    ui.info(format!(
        "apply{}: {}, {} {}, {unchanged} unchanged, {failed} failed ({})",
        match (check, dry_run) {
            (true, _) => " --check",
            (false, true) => " --dry-run",
            (false, false) => "",
        },
        count(total, "item", "items"),
        total - unchanged - failed,
        if dry_run { "would change" } else { "changed" },
        count(report.changes, "change", "changes"),
    ));
    if failed > 0 {
        let failure = Failure::new(
            exit::PARTIAL,
            format!("{failed} of {total} items failed; the others are applied"),
        )
        .hint("each failed item was undone; fix the cause and apply again");
        return ui.fail_with(report, failure);
    }
    let pending = total - unchanged - failed;
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
