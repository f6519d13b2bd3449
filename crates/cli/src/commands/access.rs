//! `access`: who can read a secret's value, and who can see its name.

use dcos_ops::access::{self, AccessEntry, AccessReport};
use dcos_secrets_client::SecretPath;

use crate::connect::Session;
use crate::exit;
use crate::output::{Ui, table};

pub async fn run(session: &Session, ui: &Ui, path: &str) -> exit::Result<()> {
    let report = access::report(&session.clients, &SecretPath::new(path)?).await?;
    ui.emit(&report, || render(&report))
}

/// The report as two tables.
pub fn render(report: &AccessReport) -> String {
    let rows = |entries: &[AccessEntry]| -> Vec<Vec<String>> {
        entries
            .iter()
            .map(|e| {
                let via = match (&e.group, e.via) {
                    (Some(g), _) => format!("group {g}"),
                    (None, via) => via.to_owned(),
                };
                vec![
                    e.principal.clone(),
                    e.principal_type.as_str().replace('_', " "),
                    via,
                    e.reach.to_owned(),
                    match (&e.rid, &e.action) {
                        (Some(rid), Some(action)) => format!("{rid} {action}"),
                        _ => "(member of superusers)".to_owned(),
                    },
                ]
            })
            .collect()
    };
    let header = ["PRINCIPAL", "TYPE", "VIA", "REACH", "PERMISSION"];
    format!(
        "Can read the value of {path}:\n{}\nCan see the name {path} when listing:\n{}",
        table(&header, &rows(&report.value_readers)),
        table(&header, &rows(&report.name_listers)),
        path = report.path
    )
}
