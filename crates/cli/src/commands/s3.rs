//! `s3 onboard|rotate|offboard|options`: an AWS key pair for the Data Science Engine. The
//! workflows are `dcos_ops::s3`; this turns the options into their specs and prints reports.

use dcos_iam_client::Uid;
use dcos_ops::access_keys::{self, Aws};
use dcos_ops::dse::{self, AwsRegion, Destination, OptionsLayout, S3Endpoint};
use dcos_ops::s3::{
    self, AwsRotation, Offboarding, OldKey, Onboarding, Paths, PreparedOnboarding, Retirement,
    Rotation,
};
use dcos_ops::{ErrorKind, Remedy, RunResult, S3Report, Status};
use dcos_secrets_client::SecretPath;

use crate::args::{
    AccountArgs, DestinationArgs, LayoutArgs, OffboardArgs, OnboardArgs, RetireArgs, RotateArgs,
    S3OptionsArgs, S3Paths, S3StatusArgs,
};
use crate::connect::Session;
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::output::{Progress, Ui, settle};

/// The paths of `--service-name`, `--key-id-secret` and `--secret-key-secret`.
fn paths(args: &S3Paths) -> exit::Result<Paths> {
    let service = dse::ServiceName::new(&args.service_name).context("--service-name")?;
    Ok(Paths::new(
        service,
        super::optional_path(args.key_id_secret.as_deref(), "--key-id-secret")?,
        super::optional_path(args.secret_key_secret.as_deref(), "--secret-key-secret")?,
    )?)
}

/// The service account and its login secret.
fn account(args: &AccountArgs) -> exit::Result<(Uid, SecretPath)> {
    Ok((
        Uid::new(&args.service_account).context("--service-account")?,
        SecretPath::new(&args.service_account_secret).context("--service-account-secret")?,
    ))
}

fn layout(args: &LayoutArgs) -> exit::Result<OptionsLayout> {
    Ok(OptionsLayout {
        layout: args.layout.into(),
        aws_region: args
            .aws_region
            .as_deref()
            .map(AwsRegion::new)
            .transpose()
            .context("--aws-region")?,
        s3_endpoint: args
            .s3_endpoint
            .as_deref()
            .map(S3Endpoint::new)
            .transpose()
            .context("--s3-endpoint")?,
        allow_outside_space: args.allow_outside_space,
    })
}

/// `--out` or `--merge-into` (clap lets only one through), else standard output.
pub fn destination(args: &DestinationArgs) -> Destination {
    match (&args.out, &args.merge_into) {
        (Some(path), _) => Destination::Out(path.clone()),
        (None, Some(path)) => Destination::MergeInto(path.clone()),
        (None, None) => Destination::Report,
    }
}

/// Checks everything that can be checked without the cluster.
pub fn prepare(args: &OnboardArgs, ui: &Ui) -> exit::Result<PreparedOnboarding> {
    let (uid, account_secret) = account(&args.account)?;
    Ok(Onboarding::prepare(
        uid,
        account_secret,
        paths(&args.paths)?,
        &layout(&args.layout)?,
        &destination(&args.destination),
        &Progress::new(*ui),
    )?)
}

/// Reads the key pair (after every other check, so that a bad option fails before a prompt).
pub fn with_keys(
    prepared: PreparedOnboarding,
    args: &OnboardArgs,
    ui: &Ui,
) -> exit::Result<Onboarding> {
    let keys = input::aws_key_pair(&args.credentials, &Progress::new(*ui))?;
    let mut job = prepared
        .grant_value_read(args.grant_value_read)
        .overwrite(args.overwrite)
        .with_keys(keys);
    job.dry_run = args.dry_run;
    Ok(job)
}

/// Prints a report: JSON, or the steps on standard error and `stdout_text` on standard output;
/// a failure with `hint` in place of its own, when there is one.
fn print(
    ui: &Ui,
    result: RunResult<S3Report>,
    hint: Option<String>,
    stdout_text: impl FnOnce(&S3Report) -> String,
) -> exit::Result<()> {
    let (report, failure) = settle(ui, result);
    match failure {
        Some(failure) => ui.fail_with(&report, hint.into_iter().fold(failure, Failure::hint)),
        None => {
            if !ui.json() {
                ui.info(report.summary());
            }
            ui.emit(&report, || stdout_text(&report))
        }
    }
}

pub async fn onboard(session: &Session, ui: &Ui, job: Onboarding) -> exit::Result<()> {
    let result = s3::onboard(&session.clients, &job, &Progress::new(*ui)).await;
    print(ui, result, None, |_| match job.options.file() {
        None => dse::render(&job.options.options),
        Some(_) => String::new(),
    })
}

/// A rotation: to a pair given here, or to a new key created in AWS IAM.
#[derive(Debug)]
pub enum RotateJob {
    Pair(Rotation),
    Aws(AwsRotation),
}

/// A rotation's paths and new pair (or IAM user), checked before the cluster is contacted.
pub fn rotation(args: &RotateArgs, ui: &Ui) -> exit::Result<RotateJob> {
    let paths = paths(&args.paths)?;
    let restart = args.restart.then(|| s3::Restart {
        app_id: (args.app_id.as_ref()).map(|id| format!("/{}", id.trim_matches('/'))),
        deploy_timeout: std::time::Duration::from_secs(args.deploy_timeout),
        poll: std::time::Duration::from_millis(500),
    });
    if let Some(user) = &args.aws_iam_user {
        let user = iam_user(user)?;
        // Without a restart the service still runs on the old key: keep it unless told.
        let old_key = args.old_key.map(Into::into).unwrap_or(match restart {
            Some(_) => OldKey::Delete,
            None => OldKey::Keep,
        });
        return Ok(RotateJob::Aws(AwsRotation {
            paths,
            user,
            old_key,
            propagation_timeout: std::time::Duration::from_secs(args.key_propagation_timeout),
            restart,
            dry_run: args.dry_run,
        }));
    }
    Ok(RotateJob::Pair(Rotation {
        paths,
        keys: input::aws_key_pair(&args.credentials, &Progress::new(*ui))?,
        dry_run: args.dry_run,
        restart,
    }))
}

fn iam_user(name: &str) -> exit::Result<String> {
    access_keys::iam_user_name(name).context("--aws-iam-user")
}

/// The command that retires the keys DC/OS does not hold, with this command's paths.
fn retire_command(user: &str, args: &S3Paths) -> String {
    let mut command = format!("dcos-creds s3 retire-aws-key --aws-iam-user {user}");
    if args.service_name != dse::DEFAULT_SERVICE_NAME {
        command.push_str(&format!(" --service-name {}", args.service_name));
    }
    for (flag, given) in [
        ("--key-id-secret", &args.key_id_secret),
        ("--secret-key-secret", &args.secret_key_secret),
    ] {
        if let Some(path) = given {
            command.push_str(&format!(" {flag} {path}"));
        }
    }
    command
}

/// Stores the new pair (updating the key id and then the secret key, restoring the first if
/// the second fails, reading both back); with AWS, the whole loop around it.
pub async fn rotate(
    session: &Session,
    ui: &Ui,
    job: RotateJob,
    args: &RotateArgs,
) -> exit::Result<()> {
    let progress = Progress::new(*ui);
    let (result, restart, paths) = match &job {
        RotateJob::Pair(rotation) => (
            s3::rotate(&session.clients, rotation, &progress).await,
            rotation.restart.is_some(),
            &rotation.paths,
        ),
        RotateJob::Aws(rotation) => {
            let aws = aws(ui).await;
            (
                s3::rotate_aws(&session.clients, &aws, rotation, &progress).await,
                rotation.restart.is_some(),
                &rotation.paths,
            )
        }
    };
    let key_id = paths.key_id.clone();
    let retire = |user: &str| {
        format!(
            "{} retires it (add --deactivate to keep it, inactive); then run this command again",
            retire_command(user, &args.paths)
        )
    };
    let hint = match &result {
        Err(failed) => match failed.error.remedy() {
            Some(Remedy::RetireAwsKeys { user }) => Some(match failed.error.kind() {
                ErrorKind::Partial => retire_command(user, &args.paths),
                _ => retire(user),
            }),
            _ => None,
        },
        Ok(_) => None,
    };
    print(ui, result, hint, |report| {
        if report.result == Status::Changed && !restart {
            ui.warn(format!(
                "restart the apps and pods that use the pair so that they read it (or pass \
                 --restart); running tasks keep the old one until then; `dcos-creds secret \
                 consumers {key_id}` lists them"
            ));
        }
        report.rotation_text(restart)
    })
}

/// The AWS account as the standard credential chain reaches it, its calls bounded by
/// `--timeout` and the run's limits; says which credentials call IAM (`AWS_ACCESS_KEY_ID` is
/// the IAM admin's here, not a pair to store).
async fn aws(ui: &Ui) -> Aws {
    let source = access_keys::credential_source();
    ui.info(format!("AWS credentials for IAM: {source}"));
    Aws::from_environment(crate::interrupt::timeout(), crate::interrupt::limits()).await
}

/// `s3 retire-aws-key`: the plan, confirmed on a terminal or by `--yes`, then the deletions.
pub async fn retire(session: &Session, ui: &Ui, args: &RetireArgs) -> exit::Result<()> {
    let mut job = Retirement {
        paths: paths(&args.paths)?,
        user: iam_user(&args.aws_iam_user)?,
        deactivate: args.deactivate,
        only: None,
        dry_run: args.dry_run,
    };
    let aws = &aws(ui).await;
    let progress = &Progress::new(*ui);
    let clients = &session.clients;
    let plan_job = Retirement {
        dry_run: true,
        ..job.clone()
    };
    let verb = if job.deactivate {
        "Deactivate"
    } else {
        "Delete"
    };
    let question = format!(
        "{verb} the keys of IAM user `{}` that DC/OS does not hold",
        job.user
    );
    let result = super::confirm_and_execute(
        (job.dry_run, args.confirm.yes),
        || s3::retire_aws_keys(clients, aws, &plan_job, progress),
        |plan| plan.steps.clone(),
        |_| question,
        move |confirmed| {
            // What was confirmed, and nothing that turns up meanwhile.
            job.only = confirmed.map(|(plan, _)| {
                plan.steps
                    .iter()
                    .filter(|s| s.changes())
                    .map(|s| s.target.clone())
                    .collect()
            });
            async move { s3::retire_aws_keys(clients, aws, &job, progress).await }
        },
    )
    .await?;
    print(ui, result, None, |_| String::new())
}

/// An offboarding's account and paths, checked before the cluster is contacted.
pub fn offboarding(args: &OffboardArgs) -> exit::Result<Offboarding> {
    Ok(Offboarding {
        account: Uid::new(&args.service_account).context("--service-account")?,
        paths: paths(&args.paths)?,
        keep_secrets: args.keep_secrets,
        force: args.force,
        dry_run: args.dry_run,
        confirmed: None,
    })
}

/// Revokes the account's read permissions (names and values) on both secrets, and deletes
/// them unless `--keep-secrets`: the plan first, confirmed on a terminal or by `--yes`.
pub async fn offboard(session: &Session, ui: &Ui, job: Offboarding, yes: bool) -> exit::Result<()> {
    let progress = &Progress::new(*ui);
    let clients = &session.clients;
    let run = |job: Offboarding| async move { s3::offboard(clients, &job, progress).await };
    let result = super::confirm_job((job.dry_run, yes), &job, run, |_| {
        format!(
            "Offboard `{}` from {}",
            job.account,
            job.paths.service.app_id()
        )
    })
    .await?;
    print(ui, result, None, |_| String::new())
}

/// Prints the options without contacting the cluster.
pub fn options(ui: &Ui, args: &S3OptionsArgs) -> exit::Result<()> {
    let (uid, account_secret) = account(&args.account)?;
    let prepared = s3::options(
        (&uid, &account_secret),
        &paths(&args.paths)?,
        &layout(&args.layout)?,
        &destination(&args.destination),
        &Progress::new(*ui),
    )?;
    emit_options(ui, &prepared, Vec::new())
}

/// Writes prepared options, and prints them (or where they went).
pub fn emit_options(
    ui: &Ui,
    prepared: &dse::PreparedOptions,
    checks: Vec<dcos_ops::hdfs::ConfCheck>,
) -> exit::Result<()> {
    let report = prepared.write(checks)?;
    if let Some(file) = &report.options_file
        && !ui.json()
    {
        ui.info(format!("{} {file}", report.result));
    }
    ui.emit(&report, || match prepared.file() {
        None => dse::render(&prepared.options),
        Some(_) => String::new(),
    })
}

/// `s3 status`: every check of one onboarding, read only; exit 5 when one fails.
pub async fn status(session: &Session, ui: &Ui, args: &S3StatusArgs) -> exit::Result<()> {
    let job = s3::StatusCheck {
        account: Uid::new(&args.service_account).context("--service-account")?,
        paths: paths(&args.paths)?,
    };
    let mut report = s3::status(&session.clients, &job).await?;
    // What would make a failed check hold, in this command line's words.
    for check in &mut report.checks {
        if let Some(remedy) = &check.remedy {
            check.detail = format!("{}; {}", check.detail, exit::remedy_hint(remedy));
        }
    }
    let render = || report.to_string();
    if report.healthy {
        return ui.emit(&report, render);
    }
    if !ui.json() {
        ui.emit(&report, render)?;
    }
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.ok == Some(false))
        .map(|c| format!("{} {}", c.check, c.target))
        .collect();
    let failure = Failure::new(
        exit::NOT_FOUND,
        format!(
            "the onboarding of {} does not hold: {}",
            report.service,
            failed.join(", ")
        ),
    )
    .hint("`dcos-creds s3 onboard` with the same options puts back what is missing");
    ui.fail_with(&report, failure)
}
