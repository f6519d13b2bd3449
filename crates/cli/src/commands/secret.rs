//! `secret create|update|put|get|list|delete`.

use base64::Engine;
use dcos_ops::Status;
use dcos_ops::secrets::{self, Deletion};
use dcos_secrets_client::{Overwrite, PutOutcome, SecretPath};

use crate::args::{SecretCommand, ValueArgs};
use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::output::{SecretList, SecretOut, SecretReport, Ui, one_line, write_stdout};

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
        SecretCommand::Create { path: p, value: v } => {
            let path = path(p)?;
            let value = value(v, &path)?;
            session
                .clients
                .secrets
                .secret(&path)
                .create(&value)
                .await
                .map_err(|e| {
                    let conflict = e.is_conflict();
                    let failure = Failure::from(e).context(format!("create `{path}`"));
                    if conflict {
                        failure.hint("the secret exists; `secret put` replaces or keeps it, `secret update` replaces it")
                    } else {
                        failure
                    }
                })?;
            report(ui, &path, "created", value.is_binary())
        }
        SecretCommand::Update { path: p, value: v } => {
            let path = path(p)?;
            let value = value(v, &path)?;
            session
                .clients
                .secrets
                .secret(&path)
                .update(&value)
                .await
                .context(format!("update `{path}`"))?;
            report(ui, &path, "updated", value.is_binary())
        }
        SecretCommand::Put { path: p, value: v } => {
            let path = path(p)?;
            let value = value(v, &path)?;
            let outcome = session
                .clients
                .secrets
                .secret(&path)
                .put(&value, Overwrite::Allow)
                .await
                .context(format!("put `{path}`"))?;
            let word = match outcome {
                PutOutcome::Created => "created",
                PutOutcome::Unchanged => "unchanged",
                PutOutcome::Updated { .. } => "updated",
            };
            report(ui, &path, word, value.is_binary())
        }
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
            let text = (!value.is_binary())
                .then(|| std::str::from_utf8(value.expose_bytes()).ok())
                .flatten();
            let out = SecretOut {
                path: path.as_str(),
                value: text,
                value_base64: text.is_none().then(|| {
                    base64::engine::general_purpose::STANDARD.encode(value.expose_bytes())
                }),
                binary: value.is_binary(),
            };
            ui.emit(&out, String::new)
        }
        SecretCommand::List { path: p } => {
            let folder = p.as_deref().map(path).transpose()?;
            let secrets = session
                .clients
                .secrets
                .list(folder.as_ref())
                .await
                .context(format!(
                    "list `{}`",
                    folder.as_ref().map_or("", |f| f.as_str())
                ))?;
            let list = SecretList {
                path: folder.map(|f| f.to_string()),
                secrets,
            };
            ui.emit(&list, || {
                let names: Vec<String> = list.secrets.iter().map(|n| one_line(n)).collect();
                names.join("\n")
            })
        }
        SecretCommand::Delete {
            path: p,
            if_exists,
            confirm,
        } => {
            let clients = &session.clients;
            let job = Deletion {
                path: path(p)?,
                if_exists: *if_exists,
                dry_run: false,
                confirmed: None,
            };
            // Read first: a missing secret needs no confirmation, and the plan says what goes;
            // what a person confirmed is what goes (a value changed at the prompt is not).
            let plan_job = Deletion {
                dry_run: true,
                ..job.clone()
            };
            let result = super::confirm_and_execute(
                (false, confirm.yes),
                || secrets::delete(clients, &plan_job),
                |plan| plan.steps.clone(),
                |plan| match plan.binary {
                    Some(true) => format!("Delete the binary secret `{}`", plan.path),
                    _ => format!("Delete the secret `{}`", plan.path),
                },
                |confirmed| {
                    let job = Deletion {
                        confirmed: confirmed.map(|(_, c)| c),
                        ..job
                    };
                    async move { secrets::delete(clients, &job).await }
                },
            )
            .await?;
            let report = result.map_err(|failed| Failure::from(failed.error))?;
            let outcome = match report.result {
                Status::Changed => "deleted",
                _ => "absent",
            };
            let out = SecretReport {
                path: report.path,
                outcome,
                binary: None,
            };
            ui.emit(&out, || format!("{outcome} {}", out.path))
        }
    }
}

fn report(
    ui: &Ui,
    path: &SecretPath,
    outcome: &'static str,
    binary: impl Into<Option<bool>>,
) -> exit::Result<()> {
    let report = SecretReport {
        path: path.to_string(),
        outcome,
        binary: binary.into(),
    };
    ui.emit(&report, || format!("{outcome} {}", report.path))
}
