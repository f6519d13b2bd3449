//! `dse setup`: one Data Science Engine's credentials. The workflow is `dcos_ops::dse::setup`;
//! this turns the flags into its spec and prints the report.

use dcos_ops::dse;
use dcos_ops::dse::setup::{self, S3Input, SetupSpec};

use crate::args::{DseSetupArgs, Global};
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
