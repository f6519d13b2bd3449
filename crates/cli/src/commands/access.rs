//! `access`: who can read a secret's value, and who can see its name; or what one principal
//! can read and see.

use dcos_ops::access;
use dcos_ops::grants;
use dcos_secrets_client::SecretPath;

use crate::args::AccessArgs;
use crate::connect::Session;
use crate::exit;
use crate::output::Ui;

pub async fn run(session: &Session, ui: &Ui, args: &AccessArgs) -> exit::Result<()> {
    if let Some(path) = &args.path {
        let report = access::report(&session.clients, &SecretPath::new(path)?).await?;
        return ui.emit(&report, || report.to_string());
    }
    let principal = grants::principal(args.user.as_deref(), args.group.as_deref())?;
    let under = super::optional_path(args.under.as_deref(), "--under")?;
    let report = access::principal_report(&session.clients, &principal, under.as_ref()).await?;
    ui.emit(&report, || report.to_string())
}
