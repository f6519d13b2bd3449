//! `audit`: every secret's access from one read of the cluster, and the findings; as text,
//! JSON, CSV, or one self-contained HTML page (`dcos_ops::audit::render`).

use dcos_ops::audit::{self, render};

use crate::args::{AuditArgs, Output};
use crate::connect::Session;
use crate::exit::{self, Failure};
use crate::output::{Ui, count, write_stdout};

pub async fn run(session: &Session, ui: &Ui, args: &AuditArgs) -> exit::Result<()> {
    let under = super::optional_path(args.under.as_deref(), "--under")?;
    let read_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let report = audit::audit(&session.clients, under.as_ref()).await?;
    if let Some(file) = &args.html {
        let page = render::html(&report, &session.url, &read_at);
        dcos_ops::files::write_new(file, page.as_bytes(), false)
            .map_err(|e| Failure::from(e).context(format!("--html {}", file.display())))?;
        ui.info(format!(
            "wrote {} ({}, {})",
            file.display(),
            count(report.secrets.len(), "secret", "secrets"),
            count(report.findings.len(), "finding", "findings")
        ));
    }
    match ui.format {
        Output::Csv => write_stdout(render::csv(&report).as_bytes()),
        _ => ui.emit(&report, || render::text(&report)),
    }
}
