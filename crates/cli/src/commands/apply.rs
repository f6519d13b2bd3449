//! `apply -f manifest`: converge the cluster to a manifest. The workflow is `dcos_ops::apply`;
//! this loads the manifest, connects with the options' concurrency and retries, and prints the
//! report.

use dcos_ops::apply::{self, ApplyOptions, Covers};
use dcos_ops::{ApplyReport, Confirmed, ItemReport, Status, manifest};
use dcos_secrets_client::SecretValue;
use serde::{Deserialize, Serialize};

use crate::args::ApplyArgs;
use crate::connect::{self, Cluster};
use crate::exit::{self, Failure};
use crate::input;
use crate::output::{Progress, Ui, count, item_line, step_line};

pub async fn run(cluster: Cluster, ui: &Ui, args: &ApplyArgs) -> exit::Result<()> {
    if args.concurrency == 0 {
        return Err(Failure::usage("--concurrency must be at least 1"));
    }
    let progress = Progress::new(*ui);
    // A saved plan's fingerprint key first: the manifest's values are fingerprinted with it.
    let saved = match &args.plan {
        Some(file) => Some(SavedPlan::read(file)?),
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
            confirmed = Some(input::confirm_steps(&question, &steps)?);
        }
    }
    let report = match &confirmed {
        Some(confirmed) => {
            let confirmed = (confirmed, Covers::Prune);
            apply::run_confirmed(&session.clients, &manifest, options, confirmed, &progress).await?
        }
        None => apply::run(&session.clients, &manifest, options, &progress).await?,
    };
    if let Some(file) = &args.plan_out {
        SavedPlan::of(&report, &session.url, args.prune).write(file)?;
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

/// A plan saved by `apply --plan-out`, for `apply --plan` to execute after review.
#[derive(Debug, Serialize, Deserialize)]
struct SavedPlan {
    /// What the file is.
    kind: String,
    /// The cluster it was made for.
    cluster: String,
    /// Whether it revokes undeclared grants.
    prune: bool,
    /// The key of its fingerprints (hex): whoever holds it can test guesses of a value, so
    /// the file is written 0600.
    fingerprint_key: String,
    /// Every step that changes something.
    steps: Confirmed,
}

/// The `kind` of a saved plan.
const PLAN_KIND: &str = "dcos-creds apply plan, version 1";

impl SavedPlan {
    fn of(report: &ApplyReport, cluster: &str, prune: bool) -> Self {
        let key: String = SecretValue::fingerprint_key()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            kind: PLAN_KIND.to_owned(),
            cluster: cluster.to_owned(),
            prune,
            fingerprint_key: key,
            steps: Confirmed::of(apply::all_steps(report)),
        }
    }

    fn write(&self, file: &std::path::Path) -> exit::Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Failure::new(exit::FAILURE, format!("cannot write the plan: {e}")))?;
        dcos_ops::files::write_new(file, text.as_bytes(), true)
            .map_err(|e| Failure::from(e).context(format!("--plan-out {}", file.display())))
    }

    /// Reads a saved plan and makes its fingerprint key this process's.
    fn read(file: &std::path::Path) -> exit::Result<Self> {
        let what = format!("--plan {}", file.display());
        let bytes =
            input::read_all(file, dcos_ops::files::CONFIG_LIMIT).map_err(|f| f.context(&what))?;
        let plan: SavedPlan = serde_json::from_slice(&bytes)
            .ok()
            .filter(|p: &SavedPlan| p.kind == PLAN_KIND)
            .ok_or_else(|| {
                Failure::usage(format!(
                    "{what} is not a plan that `apply --plan-out` saved"
                ))
            })?;
        let hex = plan.fingerprint_key.as_bytes();
        let key: Option<Vec<u8>> = hex
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
            .collect();
        let key: Option<[u8; 32]> = key.and_then(|k| k.try_into().ok());
        if !key.is_some_and(SecretValue::use_fingerprint_key) {
            return Err(Failure::usage(format!(
                "{what}: its fingerprint key is damaged"
            )));
        }
        Ok(plan)
    }

    /// Refuses to run the plan against another cluster, or with another `--prune`.
    fn fits(&self, cluster: &str, prune: bool) -> exit::Result<()> {
        if self.cluster != cluster {
            return Err(Failure::usage(format!(
                "the plan was made for {}, not {cluster}; nothing was changed",
                self.cluster
            )));
        }
        if self.prune != prune {
            return Err(Failure::usage(format!(
                "the plan was made {} --prune; give the same options; nothing was changed",
                if self.prune { "with" } else { "without" }
            )));
        }
        Ok(())
    }
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
