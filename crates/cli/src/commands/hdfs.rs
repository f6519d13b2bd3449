//! `hdfs options`: point the service at the URL that serves the Hadoop configuration.

use dcos_ops::{dse, hdfs};
use dcos_transport::Transport;

use crate::args::{Global, HdfsOptionsArgs};
use crate::commands::s3::{destination, emit_options};
use crate::exit::{self, Context};
use crate::output::Ui;

pub async fn options(global: &Global, ui: &Ui, args: &HdfsOptionsArgs) -> exit::Result<()> {
    let url = hdfs::conf_url(&args.conf_url).context("--conf-url")?;
    let destination = destination(&args.destination);
    let existing = destination.existing()?;
    let overlay = dse::hdfs_options(&url, existing.as_ref());
    let options = match existing {
        Some(mut base) => {
            dse::merge(&mut base, &overlay);
            base
        }
        None => overlay,
    };
    let prepared = destination.prepare(options)?;
    let checks = if args.check {
        check(global, ui, &url).await?
    } else {
        Vec::new()
    };
    emit_options(ui, &prepared, checks)
}

/// Fetches both files (no token is sent), says which are Hadoop configuration, and fails
/// naming what is missing.
async fn check(global: &Global, ui: &Ui, url: &str) -> exit::Result<Vec<hdfs::ConfCheck>> {
    let mut builder = Transport::builder(url)
        .request_timeout(std::time::Duration::from_secs(global.timeout))
        .limits(crate::interrupt::limits());
    if let Some(ca) = crate::connect::options(global).ca_file(&dcos_connect::Environment::process())
    {
        let pem = crate::input::read_all(&ca, dcos_ops::files::CONFIG_LIMIT)?;
        builder = builder.add_ca_pem(&pem);
    }
    if global.insecure {
        builder = builder.danger_accept_invalid_certs();
    }
    let checks = hdfs::check(&builder.build()?, url).await?;
    for check in checks.iter().filter(|c| c.missing.is_empty()) {
        ui.info(format!(
            "{}: Hadoop configuration, {}",
            check.url,
            crate::output::count(check.properties, "property", "properties")
        ));
    }
    hdfs::require(&checks)?;
    Ok(checks)
}
