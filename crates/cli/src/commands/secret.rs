//! `secret create|update|put|get|list|delete`.

use base64::Engine;
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
            let path = path(p)?;
            let secret = session.clients.secrets.secret(&path);
            let absent = |ui: &Ui| match if_exists {
                true => report(ui, &path, "absent", None),
                false => Err(Failure::new(
                    exit::NOT_FOUND,
                    format!("secret `{path}` does not exist; nothing was deleted"),
                )
                .hint("--if-exists makes a missing secret no failure")),
            };
            // Read first: a missing secret needs no confirmation, and the plan says what goes.
            let Some(value) = secret.get_opt().await.context(format!("read `{path}`"))? else {
                return absent(ui);
            };
            let kind = match value {
                dcos_secrets_client::SecretValue::Binary(_) => "binary secret",
                dcos_secrets_client::SecretValue::Text(_) => "secret",
            };
            input::confirm(
                confirm.yes,
                &format!("Delete the {kind} `{path}`"),
                &[format!("delete {kind} {path}")],
            )?;
            // What a person confirmed is what goes: a value changed at the prompt is not.
            if !confirm.yes {
                let now = secret.get_opt().await.context(format!("read `{path}`"))?;
                if now.as_ref().is_some_and(|now| *now != value) {
                    return Err(Failure::new(
                        exit::DRIFT,
                        format!(
                            "`{path}` was given another value since the plan was confirmed; \
                             nothing was deleted"
                        ),
                    )
                    .hint("look at the new value, then run the command again"));
                }
            }
            drop(value);
            match secret.delete().await {
                Ok(()) => report(ui, &path, "deleted", None),
                // Deleted meanwhile: gone, as asked.
                Err(e) if e.is_not_found() => absent(ui),
                Err(e) => Err(Failure::from(e).context(format!("delete `{path}`"))),
            }
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
