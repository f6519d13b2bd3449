//! `ca fetch` and `cluster info`: what a cluster tells before a token is sent.

use std::path::Path;

use crate::args::Global;
use crate::connect;
use crate::exit;
use crate::output::Ui;
use dcos_ops::files;

pub async fn fetch(global: &Global, ui: &Ui, out: Option<&Path>) -> exit::Result<()> {
    // With --ca-fingerprint, resolving has already downloaded and checked the bundle; the
    // download then goes through the pinned CA.
    if let Some(out) = out {
        files::ensure_absent(out)?;
    }
    let report = connect::resolve(global, ui).await?.ca_report(out).await?;
    if let Some(out) = out {
        files::write_new(out, &report.bundle, false)?;
        ui.info(format!("CA bundle written to {}", out.display()));
    }
    if !report.verified {
        ui.info(
            "The download was not verified: compare the fingerprint with one obtained out of band \
             before trusting it.",
        );
    }
    ui.emit(&report, || report.fingerprints.join("\n"))
}

pub async fn cluster_info(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    // The name needs a token; the rest does not.
    let (transport, named) = match connect::session(&cluster, false).await {
        Ok(session) => (session.clients.iam.transport().clone(), true),
        Err(failure) if failure.code == exit::AUTH => (cluster.transport()?, false),
        Err(failure) => return Err(failure),
    };
    let info = dcos_ops::cluster::info(&transport, named).await?;
    ui.emit(&info, || info.to_string())
}
