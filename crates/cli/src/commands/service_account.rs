//! `service-account create|list|delete`.

use dcos_iam_client::{KeySize, Uid};
use dcos_ops::accounts::{self, Deletion, LoginSecret, NewAccount};
use dcos_ops::rotate_key::{self, KeyRotation, KeyRotationReport};
use dcos_secrets_client::SecretPath;

use crate::args::{DeleteArgs, RotateKeyArgs, ServiceAccountCreateArgs};
use crate::connect::Session;
use crate::exit::{self, Context};
use crate::output::{Progress, Ui, count};

pub async fn create(
    session: &Session,
    ui: &Ui,
    args: &ServiceAccountCreateArgs,
) -> exit::Result<()> {
    let login = match &args.secret {
        Some(path) => Some(LoginSecret {
            path: SecretPath::new(path).context("--secret")?,
            endpoint: args.login_endpoint.clone(),
        }),
        None => None,
    };
    let account = NewAccount {
        uid: Uid::new(&args.uid).context("the service account id")?,
        private_key_out: args.private_key_out.clone(),
        public_key_out: args.public_key_out.clone(),
        description: args.description.clone(),
        login,
        key_size: args.key_size.into(),
    };
    // Key generation takes a moment (a 4096-bit key, seconds): a spinner says so on a terminal.
    let spinner = crate::output::spinner(
        ui,
        &format!(
            "generating a {}-bit RSA key and creating the account",
            KeySize::from(args.key_size).bits()
        ),
    );
    let result = accounts::create(&session.clients, &account, &Progress::new(*ui)).await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let report = result?;
    ui.emit(&report, || report.to_string())
}

pub async fn list(session: &Session, ui: &Ui, login_secrets: bool) -> exit::Result<()> {
    let list = accounts::list(&session.clients, login_secrets).await?;
    if list.unreadable_secrets > 0 {
        ui.warn(format!(
            "{} could not be read with this token: login secrets among them are not shown",
            count(list.unreadable_secrets, "secret", "secrets")
        ));
    }
    ui.emit(&list, || list.to_string())
}

/// `service-account delete`, and `user delete` (`user`).
pub async fn delete(session: &Session, ui: &Ui, args: &DeleteArgs, user: bool) -> exit::Result<()> {
    let (uid, cascade, dry_run, yes) = (&args.uid, args.cascade, args.dry_run, args.confirm.yes);
    let job = Deletion {
        uid: Uid::new(uid).context("the account id")?,
        user,
        cascade,
        dry_run: true,
        confirmed: None,
    };
    let progress = &Progress::new(*ui);
    let clients = &session.clients;
    let run = |job: Deletion| async move { accounts::delete(clients, &job, progress).await };
    let result = super::confirm_job((dry_run, yes), &job, run, |plan| {
        let kind = plan.principal_type.as_str().replace('_', " ");
        format!("Delete the {kind} `{uid}`")
    })
    .await?;
    ui.finish(result, ToString::to_string)
}

/// A key rotation's options, checked before the cluster is contacted.
pub fn rotation(args: &RotateKeyArgs) -> exit::Result<KeyRotation> {
    Ok(KeyRotation {
        uid: Uid::new(&args.uid).context("the service account id")?,
        private_key_out: args.private_key_out.clone(),
        secrets: (args.secret.iter().map(|p| SecretPath::new(p)))
            .collect::<Result<_, _>>()
            .context("--secret")?,
        key_size: args.key_size.into(),
        dry_run: args.dry_run,
        confirmed: None,
    })
}

/// `service-account rotate-key`: the plan, confirmed, then the rotation (or the finish of one
/// an earlier run left).
pub async fn rotate_key(
    session: &Session,
    ui: &Ui,
    job: KeyRotation,
    yes: bool,
) -> exit::Result<()> {
    let progress = &Progress::new(*ui);
    let clients = &session.clients;
    let plan_job = KeyRotation {
        dry_run: true,
        ..job.clone()
    };
    let result = super::confirm_and_execute(
        (job.dry_run, yes),
        || rotate_key::rotate_key(clients, &plan_job, progress),
        |plan| plan.steps.clone(),
        |_| {
            format!(
                "Delete `{}` and create it again with a new key, putting back its grants, groups \
                 and login secrets",
                job.uid
            )
        },
        |confirmed| {
            let job = KeyRotation {
                confirmed: confirmed.map(|(_, c)| c),
                ..job.clone()
            };
            async move {
                let spinner =
                    crate::output::spinner(ui, "generating a key and rotating the account");
                let result = rotate_key::rotate_key(clients, &job, progress).await;
                if let Some(spinner) = spinner {
                    spinner.finish_and_clear();
                }
                result
            }
        },
    )
    .await?;
    print_rotation(ui, result)
}

fn print_rotation(ui: &Ui, result: dcos_ops::RunResult<KeyRotationReport>) -> exit::Result<()> {
    ui.finish(result, ToString::to_string)
}
