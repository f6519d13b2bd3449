//! `login`, `logout` and `whoami`: `dcos-connect`'s account calls, worded.

use dcos_connect::{Environment, SavedTo};
use dcos_iam_client::{Credentials, Uid};
use secrecy::ExposeSecret;

use crate::args::{Global, LoginArgs};
use crate::connect;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::output::{Ui, write_stdout};

pub async fn login(global: &Global, ui: &Ui, args: &LoginArgs) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    cluster.check_http()?;
    let credentials = match (&args.username, &args.service_account) {
        (Some(uid), _) => {
            let uid = Uid::new(uid).context("--username")?;
            Credentials::password(
                uid.clone(),
                input::password(args.password_stdin, uid.as_str())?,
            )
        }
        (None, Some(uid)) => {
            let uid = Uid::new(uid).context("--service-account")?;
            let file = args
                .private_key
                .as_deref()
                .ok_or_else(|| Failure::usage("--service-account needs --private-key"))?;
            let key = input::private_key(file).context("--private-key")?;
            Credentials::service_account(uid, key).context("--private-key")?
        }
        (None, None) => return Err(Failure::usage("pass --username or --service-account")),
    };
    let (report, token) = cluster.log_in(&credentials, !args.print_token).await?;
    if report.saved_to == SavedTo::Keyring {
        // A token in the environment goes before the keyring: say that this login is not the
        // one the next commands will use.
        for (variable, source) in Environment::process().token_variables() {
            ui.warn(format!(
                "{variable} is set, and {source} goes before this login: unset it \
                 (`unset {variable}`) for the next commands to act as {}",
                report.uid
            ));
        }
    }
    if args.print_token {
        ui.info(format!("logged in to {} as {}", report.cluster, report.uid));
        if !ui.json() {
            // Standard output holds the token alone, ready for `export DCOS_ACS_TOKEN=$(...)`.
            return write_stdout(format!("{}\n", token.secret().expose_secret()).as_bytes());
        }
        // Under -o json: the report with the token, which is what was asked for.
        let mut doc = serde_json::to_value(&report)
            .map_err(|e| Failure::new(exit::FAILURE, format!("cannot render JSON: {e}")))?;
        if let Some(fields) = doc.as_object_mut() {
            let token = token.secret().expose_secret().to_owned();
            fields.insert("token".into(), serde_json::Value::String(token));
        }
        return ui.emit(&doc, String::new);
    }
    ui.emit(&report, || report.to_string())
}

pub async fn logout(global: &Global, ui: &Ui) -> exit::Result<()> {
    let report = connect::resolve(global, ui)
        .await?
        .log_out(&Environment::process())?;
    if let Some(source) = &report.still_logged_in_by {
        let how = match source.starts_with("DCOS_") {
            true => format!("unset {source}"),
            false => "`dcos auth logout` removes it".to_owned(),
        };
        ui.warn(format!(
            "commands still find a token for {}: {source} ({how})",
            report.cluster
        ));
    }
    ui.emit(&report, || report.to_string())
}

pub async fn whoami(global: &Global, ui: &Ui) -> exit::Result<()> {
    let cluster = connect::resolve(global, ui).await?;
    let report = connect::session(&cluster, false).await?.whoami().await?;
    ui.emit(&report, || report.to_string())
}
