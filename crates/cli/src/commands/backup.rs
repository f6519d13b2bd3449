//! `backup`, `restore`, `diff` and `export kubernetes`: `dcos_ops::backup`'s workflows.
//! Every file is read and checked before the cluster is contacted.

use std::sync::Arc;

use dcos_ops::backup::{self, Contents, Key, OnConflict, Only, Restore, Scope, Source};

use super::{optional_path, session};
use crate::args::{self, BackupArgs, DiffArgs, ExportKubernetesArgs, Global, RestoreArgs};
use crate::exit::{self, Failure};
use crate::output::{Progress, Ui};

/// `backup`: streams the cluster into an encrypted file.
pub async fn backup(global: &Global, ui: &Ui, args: &BackupArgs) -> exit::Result<()> {
    let under = optional_path(args.under.as_deref(), "--under")?;
    let key = Key::of(args.passphrase_file.as_deref(), &args.recipient)?;
    let mut job = backup::Backup::new(args.out.clone(), under, key, "")?;
    let session = session(global, ui).await?;
    job.cluster.clone_from(&session.url);
    let report = backup::backup(&session.clients, &job, &Progress::new(*ui)).await?;
    ui.emit(&report, || report.to_string())
}

fn scope(args: &args::ScopeArgs) -> exit::Result<Scope> {
    Ok(Scope {
        only: args.only.map(|part| match part {
            args::Part::Secrets => Only::Secrets,
            args::Part::Iam => Only::Iam,
        }),
        under: optional_path(args.under.as_deref(), "--under")?,
    })
}

/// The backup or dcos-migrate file the options name, read and checked whole.
fn read(source: &args::SourceArgs) -> exit::Result<Option<Contents>> {
    let source = Source::of(
        source.file.as_deref(),
        source.from_dcos_migrate.as_deref(),
        source.passphrase_file.as_deref(),
        source.identity.as_deref(),
    )?;
    Ok(source.map(|s| s.read()).transpose()?)
}

fn required(source: &args::SourceArgs) -> exit::Result<Contents> {
    read(source)?.ok_or_else(|| {
        Failure::usage("give a backup FILE (with --passphrase-file or --identity), or --from-dcos-migrate FILE")
    })
}

/// `restore`: the backup's plan, confirmed, then run all or nothing.
pub async fn restore(global: &Global, ui: &Ui, args: &RestoreArgs) -> exit::Result<()> {
    let contents = required(&args.source)?;
    let mut job = Restore::new(contents, scope(&args.scope)?);
    job.on_conflict = match args.on_conflict {
        args::OnConflict::Keep => OnConflict::Keep,
        args::OnConflict::Replace => OnConflict::Replace,
        args::OnConflict::Fail => OnConflict::Fail,
    };
    if let Some(file) = &args.user_password_file {
        job.user_password = Some(Arc::new(dcos_ops::files::read_password(file)?));
    }
    let session = session(global, ui).await?;
    let (clients, progress) = (&session.clients, &Progress::new(*ui));
    let run = |job: Restore| async move { backup::restore(clients, &job, progress).await };
    let question = |_: &_| format!("Restore into {}", session.url);
    let asked = (args.dry_run, args.confirm.yes);
    let result = super::confirm_job(asked, &job, run, question).await?;
    ui.finish(result, ToString::to_string)
}

/// `diff`: exit 0 when the backup and the cluster agree, 8 when not.
pub async fn diff(global: &Global, ui: &Ui, args: &DiffArgs) -> exit::Result<()> {
    let contents = required(&args.source)?;
    // A backup of one folder is compared with that folder, unless told otherwise.
    let mut scope = scope(&args.scope)?;
    scope.under = scope.under.or_else(|| contents.under.clone());
    let contents = contents.scoped(&scope);
    let session = session(global, ui).await?;
    let cluster = Contents::of_cluster(&session.clients, &scope).await?;
    let found = backup::diff(&contents, &cluster);
    if found.equal {
        return ui.emit(&found, || found.to_string());
    }
    let failure = Failure::new(exit::DRIFT, "the cluster differs from the backup");
    if !ui.json() {
        ui.emit(&found, || found.to_string())?;
    }
    ui.fail_with(&found, failure)
}

/// `export kubernetes`: from a backup, or from the cluster.
pub async fn kubernetes(global: &Global, ui: &Ui, args: &ExportKubernetesArgs) -> exit::Result<()> {
    backup::kubernetes::check_namespace(&args.namespace)?;
    let scope = Scope {
        only: None,
        under: optional_path(args.under.as_deref(), "--under")?,
    };
    let contents = match read(&args.source)? {
        Some(contents) => contents.scoped(&scope),
        None => Contents::of_cluster(&session(global, ui).await?.clients, &scope).await?,
    };
    let report = backup::kubernetes::export(&contents, &args.namespace, &args.out)?;
    ui.emit(&report, || report.to_string())
}
