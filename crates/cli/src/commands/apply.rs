//! `apply -f manifest`: converge the cluster to a manifest. The workflow is `dcos_ops::apply`;
//! this loads the manifest, connects with the options' concurrency and retries, and prints the
//! report.

use dcos_ops::apply::{self, ApplyOptions};
use dcos_ops::{ApplyReport, ItemReport, Status, manifest};

use crate::args::ApplyArgs;
use crate::connect::Cluster;
use crate::exit::{self, Failure};
use crate::output::{Progress, Ui, item_line, step_line};

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
    let options = ApplyOptions {
        dry_run: args.dry_run,
        prune: args.prune,
        concurrency: args.concurrency,
    };
    let report = apply::run(&session.clients, &manifest, options, &progress).await?;
    print(ui, &report)
}

/// Prints the results and the summary; exit 7 if any item failed.
fn print(ui: &Ui, report: &ApplyReport) -> exit::Result<()> {
    let dry_run = report.dry_run;
    if ui.json() {
        ui.emit(report, String::new)?;
    } else {
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
        "apply{}: {total} items, {} {}, {unchanged} unchanged, {failed} failed ({} changes)",
        if dry_run { " --dry-run" } else { "" },
        total - unchanged - failed,
        if dry_run { "would change" } else { "changed" },
        report.changes,
    ));
    if failed > 0 {
        return Err(Failure::new(
            exit::PARTIAL,
            format!("{failed} of {total} items failed; the others are applied"),
        )
        .hint("each failed item was undone; fix the cause and apply again"));
    }
    Ok(())
}
