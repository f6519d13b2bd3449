//! `secret create|update|put|get|list|delete`.

use dcos_ops::Status;
use dcos_ops::secrets::{self, Deletion, SecretOutcome, SecretReport, Write};
use dcos_secrets_client::SecretPath;

use crate::args::{SecretCommand, ValueArgs};
use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::output::{Ui, one_line, write_stdout};

fn path(text: &str) -> exit::Result<SecretPath> {
    Ok(SecretPath::new(text)?)
}

fn value(args: &ValueArgs, path: &SecretPath) -> exit::Result<dcos_secrets_client::SecretValue> {
    input::secret_value(
        args.value_file.as_deref(),
        args.binary,
        args.allow_empty,
        &format!("secret `{path}`"),
    )
}

/// Validates the command's input before any request: paths first, then the value.
pub async fn run(session: &Session, ui: &Ui, command: &SecretCommand) -> exit::Result<()> {
    match command {
        SecretCommand::Create { path: p, value: v } => write(session, ui, p, v, Write::Create)
            .await
            .map_err(|failure| match failure.code {
                exit::CONFLICT => failure.hint(
                    "the secret exists; `secret put` replaces or keeps it, `secret update` \
                     replaces it",
                ),
                _ => failure,
            }),
        SecretCommand::Update { path: p, value: v } => {
            write(session, ui, p, v, Write::Update).await
        }
        SecretCommand::Put { path: p, value: v } => write(session, ui, p, v, Write::Put).await,
        SecretCommand::Get { path: p } => {
            let path = path(p)?;
            let value = session
                .clients
                .secrets
                .secret(&path)
                .get()
                .await
                .context(format!("read `{path}`"))?;
            if !ui.json() {
                return write_stdout(value.expose_bytes());
            }
            let out = secrets::ValueOut::of(&path, &value);
            ui.emit(&out, String::new)
        }
        SecretCommand::List { path: p } => {
            let folder = p.as_deref().map(path).transpose()?;
            let list = secrets::list(&session.clients, folder.as_ref()).await?;
            ui.emit(&list, || {
                let names: Vec<String> = list.secrets.iter().map(|n| one_line(n)).collect();
                names.join("\n")
            })
        }
        SecretCommand::Consumers { path: p } => {
            let report = secrets::consumers(&session.clients, &path(p)?).await?;
            ui.emit(&report, || report.to_string())
        }
        SecretCommand::Delete {
            path: p,
            if_exists,
            force,
            confirm,
        } => {
            let clients = &session.clients;
            let job = Deletion {
                path: path(p)?,
                if_exists: *if_exists,
                force: *force,
                dry_run: false,
                confirmed: None,
            };
            // Read first: a missing secret needs no confirmation, and the plan says what goes;
            // what a person confirmed is what goes (a value changed at the prompt is not).
            let run = |job: Deletion| async move { secrets::delete(clients, &job).await };
            let result = super::confirm_job((false, confirm.yes), &job, run, |plan| {
                let binary = if plan.binary == Some(true) {
                    "binary "
                } else {
                    ""
                };
                format!("Delete the {binary}secret `{}`", plan.path)
            })
            .await?;
            let report = result.map_err(|failed| Failure::from(failed.error))?;
            let out = SecretReport {
                path: report.path,
                outcome: match report.result {
                    Status::Changed => SecretOutcome::Deleted,
                    _ => SecretOutcome::Absent,
                },
                binary: None,
            };
            ui.emit(&out, || out.to_string())
        }
    }
}

async fn write(
    session: &Session,
    ui: &Ui,
    path_text: &str,
    args: &ValueArgs,
    how: Write,
) -> exit::Result<()> {
    let path = path(path_text)?;
    let value = value(args, &path)?;
    let report = secrets::write(&session.clients, &path, &value, how).await?;
    ui.emit(&report, || report.to_string())
}
