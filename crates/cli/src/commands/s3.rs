//! `s3 onboard|rotate|offboard|options`: an AWS key pair for the Data Science Engine.
//!
//! Every run reads what is there first, plans against it, and writes only the difference.
//! Each object a run writes is remembered with its state before the run, so a failure can put
//! it back: a secret the run created is deleted, an overwritten value restored, a grant revoked,
//! an ACL the run created (and nobody else uses) deleted. Undo compares before it acts, so it
//! never removes what someone else wrote meanwhile.

use dcos_iam_client::{Action, CreateOutcome, GrantState, Principal, RevokeOutcome, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use dcos_transport::Error as ApiError;
use futures::future::{join_all, try_join_all};

use crate::args::{
    AccountArgs, CredentialArgs, DestinationArgs, LayoutArgs, OffboardArgs, OnboardArgs,
    RotateArgs, S3OptionsArgs, S3Paths,
};
use crate::aws::{self, KeyPair};
use crate::commands::grant::acl_description;
use crate::connect::Session;
use crate::dse::{self, Destination, FileChange, Layout, PreparedOptions, ServiceName};
use crate::exit::{self, Context, Failure};
use crate::output::{OptionsReport, S3Report, Step, Ui};

/// The service and the two secrets an onboarding works on.
#[derive(Debug, Clone)]
pub struct Paths {
    pub service: ServiceName,
    pub key_id: SecretPath,
    pub secret_key: SecretPath,
}

impl Paths {
    /// From the options, with the defaults below the service's own folder.
    pub fn new(args: &S3Paths) -> exit::Result<Self> {
        let service = ServiceName::new(&args.service_name).context("--service-name")?;
        let path = |given: &Option<String>, default: &str, flag: &str| match given {
            Some(p) => SecretPath::new(p).context(flag),
            None => service.secret_path(default),
        };
        let key_id = path(&args.key_id_secret, "aws_access_key_id", "--key-id-secret")?;
        let secret_key = path(
            &args.secret_key_secret,
            "aws_secret_access_key",
            "--secret-key-secret",
        )?;
        if key_id == secret_key {
            return Err(Failure::usage(format!(
                "the key id and the secret key cannot share the secret `{key_id}`"
            )));
        }
        Ok(Self {
            service,
            key_id,
            secret_key,
        })
    }

    pub fn both(&self) -> [&SecretPath; 2] {
        [&self.key_id, &self.secret_key]
    }

    /// The resource ids that let an account see the two names, and with `values` read them.
    fn rids(&self, values: bool) -> exit::Result<Vec<Rid>> {
        let mut rids = Vec::new();
        for path in self.both() {
            rids.push(Rid::secret_list(path.as_str())?);
        }
        if values {
            for path in self.both() {
                rids.push(Rid::secret(path.as_str())?);
            }
        }
        Ok(rids)
    }

    fn report(&self, command: &'static str, account: Option<&Uid>, dry_run: bool) -> S3Report {
        S3Report {
            command,
            service_name: self.service.as_str().to_owned(),
            service_account: account.map(ToString::to_string),
            dry_run,
            result: "unchanged",
            steps: Vec::new(),
            options: None,
            options_file: None,
            old_key_id: None,
            new_key_id: None,
        }
    }
}

/// The service account and its login secret, checked.
fn account(args: &AccountArgs) -> exit::Result<(Uid, SecretPath)> {
    Ok((
        Uid::new(&args.service_account).context("--service-account")?,
        SecretPath::new(&args.service_account_secret).context("--service-account-secret")?,
    ))
}

fn key_pair(args: &CredentialArgs, ui: &Ui) -> exit::Result<KeyPair> {
    let source = aws::source(args.from_env, args.aws_profile.as_deref(), args.from_stdin)?;
    KeyPair::read(&source, |m| ui.warn(m))
}

/// Checks the layout options, the spaces rule and the destination, and settles the options
/// (merged with the file's for `--merge-into`): all before the cluster is asked anything.
fn prepare_options(
    ui: &Ui,
    (uid, account_secret): (&Uid, &SecretPath),
    paths: &Paths,
    layout: &LayoutArgs,
    destination: &DestinationArgs,
) -> exit::Result<PreparedOptions> {
    if layout.layout == Layout::Docs {
        if layout.aws_region.is_some() || layout.s3_endpoint.is_some() {
            return Err(Failure::usage(
                "--aws-region and --s3-endpoint have no place in the documentation's layout",
            )
            .hint("use --layout schema, which the package reads"));
        }
        ui.warn(dse::DOCS_LAYOUT_WARNING);
    }
    if let Some(region) = &layout.aws_region
        && (region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(Failure::usage(format!(
            "--aws-region `{region}` is not a region name like eu-west-1"
        )));
    }
    if let Some(endpoint) = &layout.s3_endpoint
        && (endpoint.is_empty()
            || endpoint.contains("://")
            || endpoint.contains(char::is_whitespace))
    {
        return Err(Failure::usage(format!(
            "--s3-endpoint `{endpoint}` should be a host name, like s3.eu-west-1.amazonaws.com"
        ))
        .hint("without a scheme: the package's storage.s3.use_https decides it"));
    }
    dse::check_spaces(
        &[&paths.key_id, &paths.secret_key, account_secret],
        &paths.service,
        layout.allow_outside_space,
        |m| ui.warn(m),
    )?;
    let settings = dse::S3Settings {
        service_account: uid.as_str(),
        service_account_secret: account_secret,
        service: &paths.service,
        key_id: &paths.key_id,
        secret_key: &paths.secret_key,
        region: layout.aws_region.as_deref(),
        endpoint: layout.s3_endpoint.as_deref(),
    };
    let overlay = dse::s3_options(&settings, layout.layout);
    let destination = Destination::new(
        destination.out.as_deref(),
        destination.merge_into.as_deref(),
    );
    let options = match destination.existing()? {
        Some(mut base) => {
            if layout.layout == Layout::Schema && base.get("s3").is_some() {
                ui.warn(
                    "the options file also has a top-level `s3` block, which the package \
                     ignores; it is kept as it is",
                );
            }
            dse::merge(&mut base, &overlay);
            base
        }
        None => overlay,
    };
    destination.prepare(options)
}

/// An onboarding whose input is checked, ready to run against the cluster.
#[derive(Debug)]
pub struct Onboarding {
    pub account: Uid,
    pub account_secret: SecretPath,
    pub paths: Paths,
    pub keys: KeyPair,
    pub grant_value_read: bool,
    pub overwrite: bool,
    pub options: PreparedOptions,
}

impl Onboarding {
    /// Checks everything that can be checked without the cluster, and reads the key pair.
    pub fn from_args(args: &OnboardArgs, ui: &Ui) -> exit::Result<Self> {
        Self::from_parts(
            ui,
            &args.account,
            Paths::new(&args.paths)?,
            &args.layout,
            &args.destination,
            || key_pair(&args.credentials, ui),
            args.grant_value_read,
            args.overwrite,
        )
    }

    /// From the parts of `s3 onboard`'s options (an `apply` manifest's items have the same).
    /// Everything is checked before `keys` is called.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        ui: &Ui,
        account_args: &AccountArgs,
        paths: Paths,
        layout: &LayoutArgs,
        destination: &DestinationArgs,
        keys: impl FnOnce() -> exit::Result<KeyPair>,
        grant_value_read: bool,
        overwrite: bool,
    ) -> exit::Result<Self> {
        let (account, account_secret) = account(account_args)?;
        let options =
            prepare_options(ui, (&account, &account_secret), &paths, layout, destination)?;
        // Asked for last, so that a bad option fails before a prompt.
        let keys = keys()?;
        Ok(Self {
            account,
            account_secret,
            paths,
            keys,
            grant_value_read,
            overwrite,
            options,
        })
    }

    /// A schema-layout onboarding with the options on standard output (for the demo).
    pub fn new(
        account: Uid,
        account_secret: SecretPath,
        paths: Paths,
        keys: KeyPair,
    ) -> exit::Result<Self> {
        let settings = dse::S3Settings {
            service_account: account.as_str(),
            service_account_secret: &account_secret,
            service: &paths.service,
            key_id: &paths.key_id,
            secret_key: &paths.secret_key,
            region: None,
            endpoint: None,
        };
        let options = Destination::Stdout.prepare(dse::s3_options(&settings, Layout::Schema))?;
        Ok(Self {
            account,
            account_secret,
            paths,
            keys,
            grant_value_read: false,
            overwrite: false,
            options,
        })
    }
}

/// An object a run wrote (or tried to), with what it held before.
#[derive(Debug)]
enum Touched<'a> {
    Secret {
        step: usize,
        path: &'a SecretPath,
        before: Option<SecretValue>,
        written: &'a SecretValue,
    },
    Grant {
        step: usize,
        rid: &'a Rid,
        acl_existed: bool,
    },
}

impl Touched<'_> {
    fn step(&self) -> usize {
        match self {
            Touched::Secret { step, .. } | Touched::Grant { step, .. } => *step,
        }
    }
}

/// Puts a secret back as it was, if it still holds what this run wrote. Says what it did.
async fn restore_secret(
    session: &Session,
    path: &SecretPath,
    before: Option<&SecretValue>,
    written: &SecretValue,
) -> Result<Option<String>, ApiError> {
    let secret = session.secrets.secret(path);
    let now = secret.get_opt().await?;
    match (before, now) {
        (None, None) => Ok(None),
        (Some(b), Some(now)) if &now == b => Ok(None),
        (None, Some(now)) if &now == written => {
            match secret.delete().await {
                Err(e) if !e.is_not_found() => return Err(e),
                _ => {}
            }
            Ok(Some(format!("deleted secret {path}")))
        }
        (Some(b), Some(now)) if &now == written => {
            secret.update(b).await?;
            Ok(Some(format!(
                "restored the previous value of secret {path}"
            )))
        }
        (Some(b), None) => {
            secret.create(b).await?;
            Ok(Some(format!("restored secret {path}")))
        }
        (_, Some(_)) => Err(ApiError::Conflict(format!(
            "secret `{path}` was changed by someone else meanwhile; left as it is"
        ))),
    }
}

/// Takes back a grant, and the ACL when this run created it and nobody else holds anything
/// on it.
async fn restore_grant(
    session: &Session,
    principal: &Principal,
    rid: &Rid,
    acl_existed: bool,
) -> Result<Option<String>, ApiError> {
    let acl = session.iam.acl(rid);
    let mut done = Vec::new();
    if acl.ensure_revoked(principal, Action::Read).await? == RevokeOutcome::Revoked {
        done.push(format!("revoked read on {rid}"));
    }
    if !acl_existed && delete_if_empty(session, rid).await? {
        done.push(format!("deleted the ACL {rid}"));
    }
    Ok((!done.is_empty()).then(|| done.join(", ")))
}

/// Deletes an ACL nobody holds anything on; whether it did.
pub async fn delete_if_empty(session: &Session, rid: &Rid) -> Result<bool, ApiError> {
    let acl = session.iam.acl(rid);
    match acl.holders().await {
        Ok(h) if h.users.is_empty() && h.groups.is_empty() => match acl.delete().await {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(true),
        },
        Ok(_) => Ok(false),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Undoes everything in `touched`, concurrently, marking the steps. Returns what was undone
/// and what could not be.
async fn undo(
    session: &Session,
    principal: Option<&Principal>,
    touched: &[Touched<'_>],
    steps: &mut [Step],
) -> (Vec<String>, Vec<String>) {
    let results = join_all(touched.iter().map(|t| async move {
        match t {
            Touched::Secret {
                path,
                before,
                written,
                ..
            } => restore_secret(session, path, before.as_ref(), written).await,
            Touched::Grant {
                rid, acl_existed, ..
            } => match principal {
                Some(p) => restore_grant(session, p, rid, *acl_existed).await,
                None => Ok(None),
            },
        }
    }))
    .await;
    let (mut undone, mut left) = (Vec::new(), Vec::new());
    for (t, result) in touched.iter().zip(results) {
        let step = &mut steps[t.step()];
        match result {
            Ok(Some(what)) => {
                step.outcome = "undone";
                undone.push(what);
            }
            Ok(None) => {
                if step.outcome != "failed" {
                    step.outcome = "not_run";
                }
            }
            Err(e) => {
                step.outcome = "undo_failed";
                let why = Failure::from(e).message;
                step.error = Some(why.clone());
                left.push(format!("{} {} ({why})", step.kind, step.target));
            }
        }
    }
    (undone, left)
}

/// The failure of a run whose changes were undone (or not all of them).
fn undone_failure(cause: Failure, undone: &[String], left: &[String]) -> Failure {
    let mut message = cause.message;
    if undone.is_empty() && left.is_empty() {
        message.push_str("; nothing had been changed");
    } else if !undone.is_empty() {
        message.push_str(&format!("; undone: {}", undone.join("; ")));
    }
    if !left.is_empty() {
        message.push_str(&format!(
            "; NOT undone, still on the cluster: {}",
            left.join("; ")
        ));
        return Failure {
            message,
            ..cause
        }
        .hint("run the same command again to finish, or inspect with `dcos-creds secret list` and `dcos-creds access`");
    }
    Failure { message, ..cause }
}

/// Marks failed steps and returns the first failure.
fn failures(
    steps: &mut [Step],
    results: Vec<(usize, Result<&'static str, ApiError>)>,
) -> Option<Failure> {
    let mut first = None;
    for (i, result) in results {
        match result {
            Ok(outcome) => steps[i].outcome = outcome,
            Err(e) => {
                let failure = Failure::from(e);
                steps[i].outcome = "failed";
                steps[i].error = Some(failure.message.clone());
                if first.is_none() {
                    first = Some(failure.context(format!("{} {}", steps[i].kind, steps[i].target)));
                }
            }
        }
    }
    first
}

/// A secret's value, or `None` when there is none.
async fn read_secret(
    session: &Session,
    path: &SecretPath,
) -> Result<Option<SecretValue>, ApiError> {
    session.secrets.secret(path).get_opt().await
}

/// Whether `principal` holds read on `rid`, and whether the ACL exists.
async fn grant_state(
    session: &Session,
    principal: &Principal,
    rid: &Rid,
) -> Result<GrantState, ApiError> {
    session
        .iam
        .acl(rid)
        .grant_state(principal, Action::Read)
        .await
}

/// Creates or updates a secret as planned. A create answered 409 is ours when the secret now
/// holds exactly our value (a retry of a request that had landed).
pub async fn write_secret(
    session: &Session,
    path: &SecretPath,
    value: &SecretValue,
    before: Option<&SecretValue>,
) -> Result<&'static str, ApiError> {
    let secret = session.secrets.secret(path);
    if before.is_some() {
        return secret.update(value).await.map(|()| "updated");
    }
    match secret.create(value).await {
        Ok(()) => Ok("created"),
        Err(e) if e.is_conflict() => match secret.get_opt().await? {
            Some(now) if &now == value => Ok("created"),
            _ => Err(ApiError::Conflict(format!(
                "secret `{path}` was created by someone else meanwhile"
            ))),
        },
        Err(e) => Err(e),
    }
}

/// Grants read; 409 means it is in place (our own retried request, or a concurrent one).
async fn grant_read(
    session: &Session,
    principal: &Principal,
    rid: &Rid,
) -> Result<&'static str, ApiError> {
    match session.iam.acl(rid).grant(principal, Action::Read).await {
        Err(e) if !e.is_conflict() => Err(e),
        _ => Ok("granted"),
    }
}

/// Where a grant's ACL stands when the writes begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclAt {
    /// It existed before the run.
    Existed,
    /// This run created it while reading (it grants nothing yet).
    Registered,
    /// It does not exist: the run creates it before granting.
    Missing,
}

/// What the cluster holds for one onboarding: each secret's value and each grant's state.
#[derive(Debug)]
pub struct Observed {
    pub current: Vec<Option<SecretValue>>,
    pub states: Vec<GrantState>,
    /// Per resource id, whether this run created the ACL while reading.
    pub registered: Vec<bool>,
}

/// What a run found and what it plans, before any write.
#[derive(Debug)]
pub struct Planned {
    steps: Vec<Step>,
    /// Index into the secrets, with the value before the run.
    secret_writes: Vec<(usize, Option<SecretValue>)>,
    /// Index into the resource ids, and where the ACL stands.
    grants: Vec<(usize, AclAt)>,
}

impl Planned {
    /// Whether the plan writes nothing to the cluster.
    pub fn is_empty(&self) -> bool {
        self.secret_writes.is_empty() && self.grants.is_empty()
    }

    /// The planned steps.
    pub fn into_steps(self) -> Vec<Step> {
        self.steps
    }
}

/// Runs an onboarding: the report, and the failure if it failed (after undoing its changes).
pub async fn run_onboarding(
    session: &Session,
    ui: &Ui,
    job: &Onboarding,
    dry_run: bool,
) -> (S3Report, Option<Failure>) {
    let mut report = job.report(dry_run);
    let failure = onboard_steps(session, ui, job, &mut report).await.err();
    report.settle(failure.is_some());
    (report, failure)
}

impl Onboarding {
    /// An empty report of this onboarding.
    pub fn report(&self, dry_run: bool) -> S3Report {
        let mut report = self.paths.report("onboard", Some(&self.account), dry_run);
        report.options = Some(self.options.options.clone());
        report.options_file = self.options.file().map(|f| f.display().to_string());
        report
    }

    /// The resource ids this onboarding grants read on.
    pub fn rids(&self) -> exit::Result<Vec<Rid>> {
        self.paths.rids(self.grant_value_read)
    }
}

/// Round 0 of `s3 onboard`: reads what is there and, unless it is a dry run, creates the
/// missing ACLs alongside (an ACL alone grants nothing), so that every grant can go out with
/// the secrets in one more round. Any failure here deletes those ACLs again before returning.
async fn observe(
    session: &Session,
    ui: &Ui,
    job: &Onboarding,
    principal: &Principal,
    rids: &[Rid],
    register: bool,
) -> exit::Result<Observed> {
    let user = session.iam.user(&job.account);
    let (account, account_secret, current, states, registered) = tokio::join!(
        user.get_opt(),
        read_secret(session, &job.account_secret),
        try_join_all(job.paths.both().map(|p| read_secret(session, p))),
        try_join_all(rids.iter().map(|rid| grant_state(session, principal, rid))),
        join_all(rids.iter().map(|rid| async move {
            if !register {
                return Ok(false);
            }
            let created = session.iam.acl(rid).create(&acl_description(rid)).await;
            created.map(|outcome| outcome == CreateOutcome::Created)
        })),
    );
    // A creation that failed may have landed before the failure: its ACL counts as this run's
    // (it is deleted only while empty, so no grant is ever lost with it).
    let created: Vec<&Rid> = rids
        .iter()
        .zip(&registered)
        .filter(|(_, r)| !matches!(r, Ok(false)))
        .map(|(rid, _)| rid)
        .collect();
    let checked = (|| {
        let account = account.context(format!("read the account `{}`", job.account))?;
        check_account(job, account.map(|a| a.is_service))?;
        if matches!(account_secret, Ok(None)) {
            ui.warn(format!(
                "the login secret `{}` does not exist yet; the service cannot start without it",
                job.account_secret
            ));
        }
        let current = current.context("read the secrets")?;
        let states = states.context("read the grants")?;
        let registered = registered
            .into_iter()
            .zip(rids)
            .map(|(r, rid)| r.context(format!("create the ACL {rid}")))
            .collect::<exit::Result<Vec<bool>>>()?;
        Ok(Observed {
            current,
            states,
            registered,
        })
    })();
    match checked {
        Ok(observed) => Ok(observed),
        Err(failure) => Err(unregister(session, &created, failure).await),
    }
}

/// Deletes the ACLs a failed round 0 created; says so only if one of them stays.
async fn unregister(session: &Session, created: &[&Rid], failure: Failure) -> Failure {
    let results = join_all(created.iter().map(|rid| delete_if_empty(session, rid))).await;
    let left: Vec<String> = created
        .iter()
        .zip(results)
        .filter_map(|(rid, r)| r.err().map(|e| format!("the empty ACL {rid} ({e})")))
        .collect();
    undone_failure(failure, &[], &left)
}

/// The account must exist (`is_service` is `None` when it does not) and be a service account.
pub fn check_account(job: &Onboarding, is_service: Option<bool>) -> exit::Result<()> {
    match is_service {
        None => Err(Failure::new(
            exit::NOT_FOUND,
            format!("the service account `{}` does not exist", job.account),
        )
        .hint(format!(
            "create it with `dcos-creds service-account create {} --private-key-out {}.pem --secret {}`",
            job.account, job.account, job.account_secret
        ))),
        Some(false) => Err(Failure::usage(format!(
            "`{}` is a user, not a service account: the service logs in with a key pair",
            job.account
        ))),
        Some(true) => Ok(()),
    }
}

async fn onboard_steps(
    session: &Session,
    ui: &Ui,
    job: &Onboarding,
    report: &mut S3Report,
) -> exit::Result<()> {
    let principal = Principal::User(job.account.clone());
    let rids = job.rids()?;
    let observed = observe(session, ui, job, &principal, &rids, !report.dry_run).await?;
    let planned = plan(job, &rids, &observed, report.dry_run);
    if let Err(failure) = check_conflicts(&planned.steps) {
        let created: Vec<&Rid> = rids
            .iter()
            .zip(&observed.registered)
            .filter(|(_, r)| **r)
            .map(|(rid, _)| rid)
            .collect();
        report.steps = planned.steps;
        return Err(unregister(session, &created, failure).await);
    }
    execute(session, job, &rids, planned, report).await
}

/// Exit 3 when a secret holds a different value and overwriting was not allowed.
fn check_conflicts(steps: &[Step]) -> exit::Result<()> {
    let conflicts: Vec<String> = steps
        .iter()
        .filter(|s| s.error.is_some())
        .map(|s| format!("`{}`", s.target))
        .collect();
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(Failure::new(
        exit::CONFLICT,
        format!(
            "{} already {} a different value; nothing was changed",
            conflicts.join(" and "),
            if conflicts.len() == 1 {
                "holds"
            } else {
                "hold"
            }
        ),
    )
    .hint("pass --overwrite to replace it, or use `dcos-creds s3 rotate` to replace the pair"))
}

/// Carries a plan out: the secrets, the missing ACLs and the grants whose ACL exists together,
/// then the grants on the ACLs just created, then the options file. On a failure, undoes what
/// the run changed. With a dry run, only records the options step.
pub async fn execute(
    session: &Session,
    job: &Onboarding,
    rids: &[Rid],
    planned: Planned,
    report: &mut S3Report,
) -> exit::Result<()> {
    let principal = &Principal::User(job.account.clone());
    let values = job.keys.values();
    let paths = job.paths.both();
    report.steps = planned.steps;
    check_conflicts(&report.steps)?;
    let options_step = job.options.file().map(|file| {
        let outcome = match (job.options.change, report.dry_run) {
            (FileChange::Write, true) => "would_write",
            (FileChange::Write, false) => "not_run",
            _ => "unchanged",
        };
        report.steps.push(Step::options(file.display(), outcome));
        report.steps.len() - 1
    });
    if report.dry_run {
        return Ok(());
    }

    let mut touched = Vec::new();
    for (i, before) in &planned.secret_writes {
        touched.push(Touched::Secret {
            step: *i,
            path: paths[*i],
            before: before.clone(),
            written: &values[*i],
        });
    }
    let grant_step = |g: usize| paths.len() + g;
    for (g, acl) in &planned.grants {
        touched.push(Touched::Grant {
            step: grant_step(*g),
            rid: &rids[*g],
            acl_existed: *acl == AclAt::Existed,
        });
    }
    // The grants whose ACL is in place now (`true`), or is created in round 1 (`false`).
    let grants_where = |ready: bool| {
        join_all(
            planned
                .grants
                .iter()
                .filter(move |(_, acl)| (*acl != AclAt::Missing) == ready)
                .map(|(g, _)| async move {
                    let result = grant_read(session, principal, &rids[*g]).await;
                    (grant_step(*g), result)
                }),
        )
    };
    // Round 1: both secrets, the missing ACLs, and the grants whose ACL exists.
    let (secret_results, acl_results, grant_results) = tokio::join!(
        join_all(planned.secret_writes.iter().map(|(i, before)| async {
            let result = write_secret(session, paths[*i], &values[*i], before.as_ref()).await;
            (*i, result)
        })),
        join_all(
            planned
                .grants
                .iter()
                .filter(|(_, acl)| *acl == AclAt::Missing)
                .map(|(g, _)| async {
                    let rid = &rids[*g];
                    let result = session.iam.acl(rid).create(&acl_description(rid)).await;
                    (grant_step(*g), result.map(|_| "not_run"))
                })
        ),
        grants_where(true),
    );
    let mut failure = failures(&mut report.steps, secret_results);
    failure = failure.or(failures(&mut report.steps, acl_results));
    failure = failure.or(failures(&mut report.steps, grant_results));

    // Round 2: the grants on the ACLs created in round 1.
    if failure.is_none() {
        let results = grants_where(false).await;
        failure = failures(&mut report.steps, results);
    }

    // Last, the options file.
    if failure.is_none()
        && let Some(step) = options_step
        && job.options.change == FileChange::Write
    {
        match job.options.commit() {
            Ok(()) => report.steps[step].outcome = "written",
            Err(e) => {
                report.steps[step].outcome = "failed";
                report.steps[step].error = Some(e.message.clone());
                failure = Some(e);
            }
        }
    }

    let Some(cause) = failure else {
        return Ok(());
    };
    let (undone, left) = undo(session, Some(principal), &touched, &mut report.steps).await;
    Err(undone_failure(cause, &undone, &left))
}

/// Compares what is there with what the onboarding wants.
pub fn plan(job: &Onboarding, rids: &[Rid], observed: &Observed, dry_run: bool) -> Planned {
    let mut planned = Planned {
        steps: Vec::new(),
        secret_writes: Vec::new(),
        grants: Vec::new(),
    };
    let to_do = |word: &'static str| if dry_run { word } else { "not_run" };
    let values = job.keys.values();
    for (i, (path, (value, now))) in job
        .paths
        .both()
        .into_iter()
        .zip(values.iter().zip(&observed.current))
        .enumerate()
    {
        let mut step = Step::secret(path, "unchanged");
        step.fingerprint = Some(value.fingerprint());
        match now {
            None => {
                step.outcome = to_do("would_create");
                planned.secret_writes.push((i, None));
            }
            Some(now) if now == value => {}
            Some(now) => {
                step.previous_fingerprint = Some(now.fingerprint());
                if job.overwrite {
                    step.outcome = to_do("would_update");
                    planned.secret_writes.push((i, Some(now.clone())));
                } else {
                    step.outcome = "failed";
                    step.error = Some("holds a different value; --overwrite replaces it".into());
                }
            }
        }
        planned.steps.push(step);
    }
    for (g, (rid, state)) in rids.iter().zip(&observed.states).enumerate() {
        let mut step = Step::grant(rid, Action::Read, &job.account);
        let registered = observed.registered.get(g).copied().unwrap_or(false);
        step.outcome = match (state, registered) {
            (GrantState::Granted, _) => "already_granted",
            (_, true) => {
                planned.grants.push((g, AclAt::Registered));
                to_do("would_grant")
            }
            (GrantState::NotGranted, false) => {
                planned.grants.push((g, AclAt::Existed));
                to_do("would_grant")
            }
            (GrantState::NoAcl, false) => {
                planned.grants.push((g, AclAt::Missing));
                to_do("would_grant")
            }
        };
        planned.steps.push(step);
    }
    planned
}

/// Prints a report: JSON, or the steps on standard error and `stdout_text` on standard output.
fn print(
    ui: &Ui,
    report: &S3Report,
    failure: Option<Failure>,
    stdout_text: impl FnOnce() -> String,
) -> exit::Result<()> {
    if ui.json() {
        ui.emit(report, String::new)?;
    } else {
        for step in &report.steps {
            ui.info(step.line());
        }
        if failure.is_none() {
            ui.info(summary(report));
            ui.emit(report, stdout_text)?;
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

pub async fn onboard(
    session: &Session,
    ui: &Ui,
    job: Onboarding,
    dry_run: bool,
) -> exit::Result<()> {
    let (report, failure) = run_onboarding(session, ui, &job, dry_run).await;
    print(ui, &report, failure, || match job.options.file() {
        None => dse::render(&job.options.options),
        Some(_) => String::new(),
    })
}

/// One closing line for people.
pub fn summary(report: &S3Report) -> String {
    let verb = report.command;
    match report.result {
        "unchanged" => format!("{verb}: unchanged, everything is in place"),
        "would_change" => format!("{verb} (dry run): nothing was changed"),
        _ => format!("{verb}: done"),
    }
}

/// A rotation's paths and new pair, checked before the cluster is contacted.
pub fn rotation_input(args: &RotateArgs, ui: &Ui) -> exit::Result<(Paths, KeyPair)> {
    Ok((Paths::new(&args.paths)?, key_pair(&args.credentials, ui)?))
}

/// Updates the key id and then the secret key to the new pair, restoring the first if the
/// second fails, and reads both back.
pub async fn rotate(
    session: &Session,
    ui: &Ui,
    paths: &Paths,
    keys: &KeyPair,
    dry_run: bool,
) -> exit::Result<()> {
    let (report, failure) = run_rotation(session, ui, paths, keys, dry_run).await;
    let service = paths.service.app_id();
    print(ui, &report, failure, || {
        let keys = format!(
            "access key id {} -> {}",
            report.old_key_id.as_deref().unwrap_or("?"),
            report.new_key_id.as_deref().unwrap_or("?")
        );
        match report.result {
            "changed" => format!(
                "rotated: {keys}\nrestart {service} so that it reads the new pair; running tasks keep the old one until then\n"
            ),
            "would_change" => format!("would rotate: {keys}\n"),
            _ => format!(
                "unchanged: the secrets already hold the pair ending {}\n",
                report.new_key_id.as_deref().unwrap_or("?")
            ),
        }
    })
}

pub async fn run_rotation(
    session: &Session,
    ui: &Ui,
    paths: &Paths,
    keys: &KeyPair,
    dry_run: bool,
) -> (S3Report, Option<Failure>) {
    let mut report = paths.report("rotate", None, dry_run);
    report.new_key_id = Some(keys.key_id_tail());
    let failure = rotate_steps(session, ui, paths, keys, &mut report)
        .await
        .err();
    report.settle(failure.is_some());
    (report, failure)
}

async fn rotate_steps(
    session: &Session,
    ui: &Ui,
    paths: &Paths,
    keys: &KeyPair,
    report: &mut S3Report,
) -> exit::Result<()> {
    let values = keys.values();
    let both = paths.both();
    let (id_now, secret_now) =
        tokio::join!(read_secret(session, both[0]), read_secret(session, both[1]),);
    let current = match (
        id_now.context(format!("read `{}`", both[0]))?,
        secret_now.context(format!("read `{}`", both[1]))?,
    ) {
        (Some(id), Some(secret)) => [id, secret],
        (id, _) => {
            let missing = if id.is_none() { both[0] } else { both[1] };
            return Err(Failure::new(
                exit::NOT_FOUND,
                format!("`{missing}` does not exist: there is no pair to rotate"),
            )
            .hint("store the first pair with `dcos-creds s3 onboard`"));
        }
    };
    report.old_key_id = Some(aws::tail(&String::from_utf8_lossy(
        current[0].expose_bytes(),
    )));
    let differs: Vec<bool> = current
        .iter()
        .zip(&values)
        .map(|(now, new)| now != new)
        .collect();
    if differs[0] != differs[1] {
        let done = if differs[0] { both[1] } else { both[0] };
        ui.warn(format!(
            "`{done}` already holds its half of the new pair (an interrupted rotation?); completing it"
        ));
    }
    for (i, path) in both.iter().enumerate() {
        let mut step = Step::secret(path, "unchanged");
        step.fingerprint = Some(values[i].fingerprint());
        if differs[i] {
            step.previous_fingerprint = Some(current[i].fingerprint());
            step.outcome = if report.dry_run {
                "would_update"
            } else {
                "not_run"
            };
        }
        report.steps.push(step);
    }
    if report.dry_run || !differs.contains(&true) {
        return Ok(());
    }

    // One secret after the other, so that a failure of the second can be taken back.
    let mut touched = Vec::new();
    for i in (0..2).filter(|i| differs[*i]) {
        touched.push(Touched::Secret {
            step: i,
            path: both[i],
            before: Some(current[i].clone()),
            written: &values[i],
        });
        let result = session.secrets.secret(both[i]).update(&values[i]).await;
        if let Some(cause) = failures(&mut report.steps, vec![(i, result.map(|()| "updated"))]) {
            let (undone, left) = undo(session, None, &touched, &mut report.steps).await;
            let cause = if left.is_empty() {
                cause
            } else {
                cause.context("THE PAIR IS MISMATCHED")
            };
            return Err(undone_failure(cause, &undone, &left));
        }
    }

    // Read both back: the service must find exactly the new pair.
    let (id_back, secret_back) =
        tokio::join!(read_secret(session, both[0]), read_secret(session, both[1]),);
    let back = [
        id_back.context(format!("read back `{}`", both[0]))?,
        secret_back.context(format!("read back `{}`", both[1]))?,
    ];
    for (i, value) in back.iter().enumerate() {
        if value.as_ref() != Some(&values[i]) {
            report.steps[i].outcome = "failed";
            report.steps[i].error = Some("reads back a different value".into());
            return Err(Failure::new(
                exit::FAILURE,
                format!(
                    "`{}` reads back a different value than was written: another writer changed it meanwhile",
                    both[i]
                ),
            )
            .hint("check who else rotates these secrets, then run the rotation again"));
        }
    }
    Ok(())
}

/// An offboarding's account and paths, checked before the cluster is contacted.
pub fn offboard_input(args: &OffboardArgs) -> exit::Result<(Uid, Paths)> {
    Ok((
        Uid::new(&args.service_account).context("--service-account")?,
        Paths::new(&args.paths)?,
    ))
}

/// Revokes the account's read permissions (names and values) on both secrets, and deletes
/// them unless `--keep-secrets`.
pub async fn offboard(
    session: &Session,
    ui: &Ui,
    (uid, paths): (Uid, Paths),
    args: &OffboardArgs,
) -> exit::Result<()> {
    let mut report = paths.report("offboard", Some(&uid), args.dry_run);
    let failure = offboard_steps(session, ui, &uid, &paths, args.keep_secrets, &mut report)
        .await
        .err();
    report.settle(failure.is_some());
    print(ui, &report, failure, String::new)
}

async fn offboard_steps(
    session: &Session,
    ui: &Ui,
    uid: &Uid,
    paths: &Paths,
    keep_secrets: bool,
    report: &mut S3Report,
) -> exit::Result<()> {
    let principal = Principal::User(uid.clone());
    let rids = paths.rids(true)?;
    let both = paths.both();
    let exists = session
        .iam
        .user(uid)
        .get_opt()
        .await
        .context(format!("read the account `{uid}`"))?
        .is_some();
    if !exists {
        ui.warn(format!(
            "the account `{uid}` does not exist, so it holds no grants to revoke"
        ));
    }
    let dry_run = report.dry_run;
    for rid in &rids {
        let mut step = Step::grant(rid, Action::Read, uid);
        step.outcome = "not_granted";
        report.steps.push(step);
    }
    for path in both {
        report.steps.push(Step::secret(
            path,
            if keep_secrets { "kept" } else { "absent" },
        ));
    }

    if dry_run {
        let (states, present) = tokio::join!(
            try_join_all(
                rids.iter()
                    .filter(|_| exists)
                    .map(|rid| grant_state(session, &principal, rid))
            ),
            try_join_all(
                both.iter()
                    .filter(|_| !keep_secrets)
                    .map(|p| read_secret(session, p))
            ),
        );
        for (step, state) in report
            .steps
            .iter_mut()
            .zip(states.context("read the grants")?)
        {
            if state == GrantState::Granted {
                step.outcome = "would_revoke";
            }
        }
        for (step, now) in report.steps[rids.len()..]
            .iter_mut()
            .zip(present.context("read the secrets")?)
        {
            if now.is_some() {
                step.outcome = "would_delete";
            }
        }
        return Ok(());
    }

    let grants = rids.len();
    let principal = &principal;
    let (revoked, deleted) =
        tokio::join!(
            join_all(
                rids.iter()
                    .enumerate()
                    .filter(|_| exists)
                    .map(|(i, rid)| async move {
                        let result = session
                            .iam
                            .acl(rid)
                            .ensure_revoked(principal, Action::Read)
                            .await;
                        (
                            i,
                            result.map(|o| match o {
                                RevokeOutcome::Revoked => "revoked",
                                RevokeOutcome::AlreadyAbsent => "not_granted",
                            }),
                        )
                    })
            ),
            join_all(both.iter().enumerate().filter(|_| !keep_secrets).map(
                |(i, path)| async move {
                    let result = match session.secrets.secret(path).delete().await {
                        Ok(()) => Ok("deleted"),
                        Err(e) if e.is_not_found() => Ok("absent"),
                        Err(e) => Err(e),
                    };
                    (grants + i, result)
                }
            )),
        );
    let mut failure = failures(&mut report.steps, revoked);
    failure = failure.or(failures(&mut report.steps, deleted));
    match failure {
        None => Ok(()),
        Some(cause) if report.steps.iter().any(|s| matches!(s.outcome, "revoked" | "deleted")) => {
            Err(Failure {
                code: exit::PARTIAL,
                ..cause
            }
            .hint("the steps marked revoked or deleted were done; run the same command again to finish"))
        }
        Some(cause) => Err(cause),
    }
}

/// Prints the options without contacting the cluster.
pub fn options(ui: &Ui, args: &S3OptionsArgs) -> exit::Result<()> {
    let (uid, account_secret) = account(&args.account)?;
    let paths = Paths::new(&args.paths)?;
    let prepared = prepare_options(
        ui,
        (&uid, &account_secret),
        &paths,
        &args.layout,
        &args.destination,
    )?;
    emit_options(ui, &prepared, Vec::new())
}

/// Writes prepared options, and prints them (or where they went).
pub fn emit_options(
    ui: &Ui,
    prepared: &PreparedOptions,
    checks: Vec<crate::output::ConfCheck>,
) -> exit::Result<()> {
    prepared.commit()?;
    let outcome = match prepared.change {
        FileChange::None => "printed",
        FileChange::Unchanged => "unchanged",
        FileChange::Write => "written",
    };
    let report = OptionsReport {
        options: prepared.options.clone(),
        options_file: prepared.file().map(|f| f.display().to_string()),
        outcome,
        checks,
    };
    if let Some(file) = &report.options_file
        && !ui.json()
    {
        ui.info(format!("{outcome} {file}"));
    }
    ui.emit(&report, || match prepared.file() {
        None => dse::render(&prepared.options),
        Some(_) => String::new(),
    })
}
