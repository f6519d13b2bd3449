//! `ca fetch` and `cluster info`: what a cluster tells before a token is sent.

use std::path::Path;

use crate::args::Global;
use crate::connect::{self, fingerprint};
use crate::exit::{self, Context};
use crate::output::{CaReport, Ui};
use dcos_ops::files;

pub async fn fetch(global: &Global, ui: &Ui, out: Option<&Path>) -> exit::Result<()> {
    if let Some(out) = out {
        files::ensure_absent(out)?;
    }
    // With --ca-fingerprint, resolving has already downloaded and checked the bundle; the
    // download below then goes through the pinned CA.
    let cluster = connect::resolve(global, ui).await?;
    let verified = cluster.is_pinned();
    let bundle = cluster.fetch_ca(!verified).await?;
    let certs = dcos_transport::pem_certificates(&bundle).context("the cluster's CA bundle")?;
    let fingerprints: Vec<String> = certs.iter().map(|der| fingerprint(der)).collect();
    if let Some(out) = out {
        files::write_new(out, &bundle, false)?;
        ui.info(format!("CA bundle written to {}", out.display()));
    }
    if !verified {
        ui.info(
            "The download was not verified: compare the fingerprint with one obtained out of band \
             before trusting it.",
        );
    }
    let report = CaReport {
        cluster: cluster.url.clone(),
        fingerprints,
        verified,
        written_to: out.map(|p| p.display().to_string()),
    };
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
    ui.emit(&info, || {
        let name = info.name.as_deref().unwrap_or("(name needs a token)");
        format!(
            "cluster {name} ({})\nDC/OS {} {}\n{}",
            info.id, info.version, info.variant, info.url
        )
    })
}
