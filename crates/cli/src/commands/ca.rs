//! `ca fetch`.

use std::path::Path;

use crate::args::Global;
use crate::connect::{Cluster, fingerprint, pem_certificates};
use crate::exit::{self, Context};
use crate::output::{CaReport, Ui};
use dcos_ops::files;

pub async fn fetch(global: &Global, ui: &Ui, out: Option<&Path>) -> exit::Result<()> {
    if let Some(out) = out {
        files::ensure_absent(out)?;
    }
    // With --ca-fingerprint, resolving has already downloaded and checked the bundle; the
    // download below then goes through the pinned CA.
    let cluster = Cluster::resolve(global, ui).await?;
    let verified = cluster.is_pinned();
    let bundle = cluster.fetch_ca(!verified).await?;
    let certs = pem_certificates(&bundle).context("the cluster's CA bundle")?;
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
