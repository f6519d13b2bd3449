//! `dse setup`: one Data Science Engine's credentials. The workflow is `dcos_ops::dse::setup`;
//! this turns the flags into its spec and prints the report.

use dcos_ops::dse;
use dcos_ops::dse::offboard::{self, Offboard};
use dcos_ops::dse::setup::{self, S3Input, SetupSpec};

use crate::args::{DseOffboardArgs, DseSetupArgs, Global};
use crate::exit::{self, Failure};
use crate::output::{Progress, Ui};

/// The flags as the spec a manifest's `[[dse]]` entry would be: the same fields.
fn spec(args: &DseSetupArgs) -> exit::Result<SetupSpec> {
    let fields =
        serde_json::to_value(&args.spec).map_err(|e| Failure::new(exit::FAILURE, e.to_string()))?;
    serde_json::from_value(fields).map_err(|e| Failure::new(exit::FAILURE, e.to_string()))
}

pub async fn setup(global: &Global, ui: &Ui, args: &DseSetupArgs) -> exit::Result<()> {
    let progress = Progress::new(*ui);
    let destination = super::s3::destination(&args.destination);
    let mut input = spec(args)?.read(std::path::Path::new(""), None)?;
    // Everything local is checked before the key pair is read (it may be a prompt).
    input
        .clone()
        .prepare(&dse::Destination::Report, &dcos_ops::Silent)?;
    destination.existing()?;
    let c = &args.s3;
    if c.from_env || c.from_stdin || c.aws_profile.is_some() {
        let keys = crate::input::aws_key_pair(c, &progress)?;
        input.s3 = Some(S3Input::of(keys));
    }
    let prepared = input.prepare(&destination, &progress)?;
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
    let id = &args.id;
    let (account, secret) = (&id.service_account, &id.service_account_secret);
    let job = Offboard {
        delete_account: args.delete_account,
        force: args.force,
        ..Offboard::new(&id.service_name, account.as_deref(), secret.as_deref())?
    };
    let session = super::session(global, ui).await?;
    let (clients, progress) = (&session.clients, &Progress::new(*ui));
    let run = |job: Offboard| async move { offboard::offboard(clients, &job, progress).await };
    let question = |_: &_| format!("Offboard the Data Science Engine {}", job.service.app_id());
    let result =
        (super::confirm_job((args.dry_run, args.confirm.yes), &job, run, question)).await?;
    ui.finish(result, |_| String::new())
}
