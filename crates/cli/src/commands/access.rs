//! `access`: who can read a secret's value, and who can see its name; or what one principal
//! can read and see.

use dcos_ops::access::{self, AccessEntry, AccessReport, PathEntry, PrincipalAccess, Way};
use dcos_ops::grants;
use dcos_secrets_client::SecretPath;

use crate::args::AccessArgs;
use crate::connect::Session;
use crate::exit;
use crate::output::{Ui, table};

pub async fn run(session: &Session, ui: &Ui, args: &AccessArgs) -> exit::Result<()> {
    if let Some(path) = &args.path {
        let report = access::report(&session.clients, &SecretPath::new(path)?).await?;
        return ui.emit(&report, || render(&report));
    }
    let principal = grants::principal(args.user.as_deref(), args.group.as_deref())?;
    let under = super::optional_path(args.under.as_deref(), "--under")?;
    let report = access::principal_report(&session.clients, &principal, under.as_ref()).await?;
    ui.emit(&report, || render_principal(&report))
}

/// A principal's report as two tables.
fn render_principal(report: &PrincipalAccess) -> String {
    let rows = |entries: &[PathEntry]| -> Vec<Vec<String>> {
        entries
            .iter()
            .map(|e| [vec![e.path.clone()], columns(&e.way)].concat())
            .collect()
    };
    let header = ["SECRET", "VIA", "REACH", "PERMISSION"];
    format!(
        "{} {} can read the values of:\n{}\n{} can see the names of:\n{}",
        report.principal_type.as_str().replace('_', " "),
        report.principal,
        table(&header, &rows(&report.readable)),
        report.principal,
        table(&header, &rows(&report.listable)),
    )
}

/// The VIA, REACH and PERMISSION columns: `group data`, `wildcard`,
/// `dcos:secrets:default:team/* read` (or the superusers' membership).
fn columns(way: &Way) -> Vec<String> {
    let via = match &way.group {
        Some(g) => format!("group {g}"),
        None => way.via.to_owned(),
    };
    let permission = match (&way.rid, &way.action) {
        (Some(rid), Some(action)) => format!("{rid} {action}"),
        _ => "(member of superusers)".to_owned(),
    };
    vec![via, way.reach.to_owned(), permission]
}

/// The report as two tables.
pub fn render(report: &AccessReport) -> String {
    let rows = |entries: &[AccessEntry]| -> Vec<Vec<String>> {
        entries
            .iter()
            .map(|e| {
                let who = vec![
                    e.principal.clone(),
                    e.principal_type.as_str().replace('_', " "),
                ];
                [who, columns(&e.way)].concat()
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
