//! `dse setup`: one Data Science Engine's credentials. The workflow is `dcos_ops::dse::setup`;
//! this turns the flags into its spec and prints the report.

use dcos_ops::dse;
use dcos_ops::dse::offboard::{self, Offboard};
use dcos_ops::dse::setup::{self, SetupSpec};
use dcos_ops::dse::status::{self, StatusJob};

use crate::args::{DseOffboardArgs, DseSetupArgs, DseStatusArgs, Global};
use crate::exit::{self, Failure};
use crate::input::aws_key_pair;
use crate::output::{Progress, Ui, count};

/// The flags as the spec a manifest's `[[dse]]` entry would be: the same fields.
fn spec(args: &DseSetupArgs) -> exit::Result<SetupSpec> {
    let fields =
        serde_json::to_value(&args.spec).map_err(|e| Failure::new(exit::FAILURE, e.to_string()))?;
    serde_json::from_value(fields).map_err(|e| Failure::new(exit::FAILURE, e.to_string()))
}

pub async fn setup(global: &Global, ui: &Ui, args: &DseSetupArgs) -> exit::Result<()> {
    let progress = Progress::new(*ui);
    let destination = super::s3::destination(&args.destination);
    let c = &args.s3;
    let asked = c.from_env || c.from_stdin || c.aws_profile.is_some();
    let keys = || asked.then(|| aws_key_pair(c, &progress)).transpose();
    let at = std::path::Path::new("");
    let prepared = spec(args)?.prepare_with(at, (&destination, &progress), keys)?;
    if let (true, Some(url)) = (args.check, &args.spec.hdfs_conf_url) {
        super::hdfs::check(global, ui, url).await?;
    }
    let session = super::session(global, ui).await?;
    let told = args.security_mode.as_deref().map(str::parse).transpose()?;
    let mode = setup::settle_mode(&session.clients, told).await?;
    let mut job = prepared.in_mode(mode)?;
    job.dry_run = args.dry_run;
    let result = setup::setup(&session.clients, &job, &progress).await;
    ui.finish(result, |report| {
        if !ui.json() {
            ui.info(report.summary());
        }
        match report.options_file {
            None => dse::render(&report.options),
            Some(_) => String::new(),
        }
    })
}

/// `dse offboard`: the plan, confirmed on a terminal or by `--yes`, then the run.
pub async fn offboard(global: &Global, ui: &Ui, args: &DseOffboardArgs) -> exit::Result<()> {
    let (service, uid, secret) = args.id.names();
    let mut job = Offboard::new(service, uid, secret)?;
    (job.delete_account, job.force) = (args.delete_account, args.force);
    let s3 = (
        args.key_id_secret.as_deref(),
        args.secret_key_secret.as_deref(),
    );
    let job = job.with_s3_secrets(s3)?;
    let session = super::session(global, ui).await?;
    let (clients, progress) = (&session.clients, &Progress::new(*ui));
    let run = |job: Offboard| async move { offboard::offboard(clients, &job, progress).await };
    let question = |_: &_| format!("Offboard the Data Science Engine {}", job.service.app_id());
    let asked = (args.dry_run, args.confirm.yes);
    let result = super::confirm_job(asked, &job, run, question).await?;
    ui.finish(result, |_| String::new())
}

/// `dse status`: every check; exit 5 when one fails.
pub async fn status(global: &Global, ui: &Ui, args: &DseStatusArgs) -> exit::Result<()> {
    let (service, uid, secret) = args.id.names();
    let job = StatusJob::new(service, uid, secret, args.options.as_deref())?;
    let report = status::status(&super::session(global, ui).await?.clients, &job).await?;
    if report.failed() == 0 || !ui.json() {
        ui.emit(&report, || report.to_string())?;
    }
    let failed = format!("{} failed", count(report.failed(), "check", "checks"));
    match report.failed() {
        0 => Ok(()),
        _ => ui.fail_with(&report, Failure::new(exit::NOT_FOUND, failed)),
    }
}
