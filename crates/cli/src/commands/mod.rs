//! One module per command group; each takes the parsed options and prints its result.

pub mod access;
pub mod apply;
pub mod audit;
pub mod backup;
pub mod ca;
#[cfg(feature = "demo")]
pub mod demo;
pub mod dse;
pub mod grant;
pub mod hdfs;
pub mod login;
pub mod s3;
pub mod secret;
pub mod service_account;
pub mod status;

use clap::CommandFactory;

use crate::args::Global;
use crate::args::{
    CaCommand, Cli, ClusterCommand, Command, DseCommand, ExportCommand, HdfsCommand, S3Command,
    ServiceAccountCommand, UserCommand,
};
use crate::connect::{self, Session};
use crate::exit;
use crate::output::Ui;

/// A token-bearing connection, for the commands that work on the cluster.
async fn session(global: &Global, ui: &Ui) -> exit::Result<Session> {
    connect::session(&connect::resolve(global, ui).await?, false).await
}

/// Runs the parsed command line.
pub async fn run(cli: Cli, ui: Ui) -> exit::Result<()> {
    let global = &cli.global;
    if global.output == crate::args::Output::Csv && !matches!(cli.command, Command::Audit(_)) {
        return Err(exit::Failure::usage(
            "-o csv is for `audit`; use text or json",
        ));
    }
    match &cli.command {
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "dcos-creds", &mut out);
            crate::output::write_stdout(&out)
        }
        Command::Login(args) => login::login(global, &ui, args).await,
        Command::Logout => login::logout(global, &ui).await,
        Command::Whoami => login::whoami(global, &ui).await,
        Command::Ca(CaCommand::Fetch { out }) => ca::fetch(global, &ui, out.as_deref()).await,
        Command::Cluster(ClusterCommand::Info) => ca::cluster_info(global, &ui).await,
        Command::Secret(c) => secret::run(&session(global, &ui).await?, &ui, c).await,
        Command::Grant(args) => grant::grant(&session(global, &ui).await?, &ui, args).await,
        Command::Revoke(args) => grant::revoke(&session(global, &ui).await?, &ui, args).await,
        Command::Access(args) => access::run(&session(global, &ui).await?, &ui, args).await,
        // Everything local is checked before the cluster is contacted.
        Command::S3(S3Command::Onboard(args)) => {
            let prepared = s3::prepare(args, &ui)?;
            // A key pair typed at a prompt is asked for only once the account is known good.
            let early = match crate::input::aws_keys_prompted(&args.credentials) {
                true => {
                    let session = session(global, &ui).await?;
                    prepared.check_account(&session.clients).await?;
                    Some(session)
                }
                false => None,
            };
            let job = s3::with_keys(prepared, args, &ui)?;
            let session = match early {
                Some(session) => session,
                None => session(global, &ui).await?,
            };
            s3::onboard(&session, &ui, job).await
        }
        Command::S3(S3Command::Rotate(args)) => {
            let rotation = s3::rotation(args, &ui)?;
            s3::rotate(&session(global, &ui).await?, &ui, rotation, args).await
        }
        Command::S3(S3Command::RetireAwsKey(args)) => {
            s3::retire(&session(global, &ui).await?, &ui, args).await
        }
        Command::S3(S3Command::Offboard(args)) => {
            let job = s3::offboarding(args)?;
            s3::offboard(&session(global, &ui).await?, &ui, job, args.confirm.yes).await
        }
        Command::S3(S3Command::Options(args)) => s3::options(&ui, args),
        Command::Hdfs(HdfsCommand::Options(args)) => hdfs::options(global, &ui, args).await,
        Command::Dse(DseCommand::Setup(args)) => dse::setup(global, &ui, args).await,
        Command::Dse(DseCommand::Offboard(args)) => dse::offboard(global, &ui, args).await,
        Command::Dse(DseCommand::Status(args)) => dse::status(global, &ui, args).await,
        #[cfg(feature = "demo")]
        Command::Demo => demo::run(&ui).await,
        Command::Backup(args) => backup::backup(global, &ui, args).await,
        Command::Restore(args) => backup::restore(global, &ui, args).await,
        Command::Diff(args) => backup::diff(global, &ui, args).await,
        Command::Export(ExportCommand::Kubernetes(args)) => {
            backup::kubernetes(global, &ui, args).await
        }
        Command::Apply(args) => apply::run(connect::resolve(global, &ui).await?, &ui, args).await,
        Command::ServiceAccount(ServiceAccountCommand::Create(args)) => {
            service_account::create(&session(global, &ui).await?, &ui, args).await
        }
        Command::ServiceAccount(ServiceAccountCommand::List { no_login_secrets }) => {
            service_account::list(&session(global, &ui).await?, &ui, !no_login_secrets).await
        }
        Command::ServiceAccount(ServiceAccountCommand::Delete(args)) => {
            service_account::delete(&session(global, &ui).await?, &ui, args, false).await
        }
        Command::User(UserCommand::List) => {
            let list = dcos_ops::accounts::list_users(&session(global, &ui).await?.clients).await?;
            ui.emit(&list, || list.to_string())
        }
        Command::User(UserCommand::Delete(args)) => {
            service_account::delete(&session(global, &ui).await?, &ui, args, true).await
        }
        Command::ServiceAccount(ServiceAccountCommand::RotateKey(args)) => {
            let session = session(global, &ui).await?;
            let job = service_account::rotation(args)?;
            service_account::rotate_key(&session, &ui, job, args.confirm.yes).await
        }
        Command::Status => status::run(global, &ui).await,
        Command::Audit(args) => audit::run(&session(global, &ui).await?, &ui, args).await,
        Command::S3(S3Command::Status(args)) => {
            s3::status(&session(global, &ui).await?, &ui, args).await
        }
    }
}

/// The one way a command that changes the cluster asks first.
///
/// With `--yes` (and not a dry run) nothing stands between the plan and the run: `execute`
/// runs the job at once, planning and executing in one go, with no extra request. Otherwise
/// `plan` (the job's dry run) goes first, refusing what must be refused before anyone is
/// asked; with `--dry-run` it is the result. A plan that changes something is shown with the
/// `question` it words and confirmed at a prompt (one that changes nothing is not asked
/// about). Then `execute` runs the job, given the plan and the steps it may take, which it
/// checks against the cluster before it writes (drift: exit 8, nothing changed).
pub async fn confirm_and_execute<R, X, P, E>(
    (dry_run, yes): (bool, bool),
    plan: impl FnOnce() -> P,
    steps: impl Fn(&R) -> Vec<dcos_ops::Step>,
    question: impl FnOnce(&R) -> String,
    execute: impl FnOnce(Option<(R, dcos_ops::Confirmed)>) -> E,
) -> exit::Result<Result<R, X>>
where
    P: Future<Output = Result<R, X>>,
    E: Future<Output = Result<R, X>>,
{
    if yes && !dry_run {
        return Ok(execute(None).await);
    }
    let plan = match plan().await {
        Ok(plan) => plan,
        Err(failed) => return Ok(Err(failed)),
    };
    if dry_run {
        return Ok(Ok(plan));
    }
    let planned = steps(&plan);
    let confirmed = match planned.iter().any(dcos_ops::Step::changes) {
        true => crate::input::confirm_steps(&question(&plan), &planned)?,
        false => dcos_ops::Confirmed::of(&planned),
    };
    Ok(execute(Some((plan, confirmed))).await)
}

/// [`confirm_and_execute`] for a [`dcos_ops::Confirmable`] job: its dry run is the plan, and
/// `run` runs the job it is given (the plan, then the confirmed run).
pub async fn confirm_job<J, R, F>(
    (dry_run, yes): (bool, bool),
    job: &J,
    run: impl Fn(J) -> F,
    question: impl FnOnce(&R) -> String,
) -> exit::Result<dcos_ops::RunResult<R>>
where
    J: dcos_ops::Confirmable,
    R: dcos_ops::Stepped,
    F: Future<Output = dcos_ops::RunResult<R>>,
{
    let steps = |plan: &R| plan.steps().to_vec();
    let execute =
        |confirmed: Option<(R, dcos_ops::Confirmed)>| run(job.confirmed(confirmed.map(|(_, c)| c)));
    confirm_and_execute(
        (dry_run, yes),
        || run(job.planning()),
        steps,
        question,
        execute,
    )
    .await
}

/// An optional secret path given by `flag`, checked; an error names the flag.
pub fn optional_path(
    given: Option<&str>,
    flag: &str,
) -> exit::Result<Option<dcos_secrets_client::SecretPath>> {
    use crate::exit::Context;
    given
        .map(dcos_secrets_client::SecretPath::new)
        .transpose()
        .context(flag)
}
