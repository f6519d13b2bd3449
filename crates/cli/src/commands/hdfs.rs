//! `hdfs options`: point the service at the URL that serves the Hadoop configuration.

use dcos_ops::hdfs;

use crate::args::{Global, HdfsOptionsArgs};
use crate::commands::s3::{destination, emit_options};
use crate::exit::{self, Context};
use crate::output::Ui;

pub async fn options(global: &Global, ui: &Ui, args: &HdfsOptionsArgs) -> exit::Result<()> {
    let url = hdfs::conf_url(&args.conf_url).context("--conf-url")?;
    let prepared = destination(&args.destination).hdfs(&url)?;
    let checks = if args.check {
        check(global, ui, &url).await?
    } else {
        Vec::new()
    };
    emit_options(ui, &prepared, checks)
}

/// Fetches both files (no token is sent), says which are Hadoop configuration, and fails
/// naming what is missing.
pub async fn check(global: &Global, ui: &Ui, url: &str) -> exit::Result<Vec<hdfs::ConfCheck>> {
    let options = crate::connect::options(global);
    let transport = options.plain_transport(url, &dcos_connect::Environment::process())?;
    let checks = hdfs::check(&transport, url).await?;
    for check in checks.iter().filter(|c| c.missing.is_empty()) {
        ui.info(check);
    }
    hdfs::require(&checks)?;
    Ok(checks)
}
