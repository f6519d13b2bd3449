//! Onboarding: store the pair as two secrets, grant the service account read on them, emit the
//! service options. All or nothing, and safe to re-run.
//!
//! Two round trips on a fresh cluster. Round 0 reads everything the plan compares (the account,
//! its login secret, both secrets, each grant) and creates the missing ACLs alongside (an ACL
//! alone grants nothing). Round 1 writes both secrets and every grant together. A check that
//! fails after round 0 deletes those ACLs again.

use dcos_iam_client::{Action, CreateOutcome, GrantState, Principal, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::future::{join_all, try_join_all};

use super::Paths;
use crate::Clients;
use crate::aws::KeyPair;
use crate::dse::{self, Destination, Layout, OptionsLayout, PreparedOptions};
use crate::error::{Context, Error, Remedy, Result, RunResult, Undo};
use crate::journal::{Change, delete_acl_if_empty};
use crate::plan::{self, Task, acl_description};
use crate::report::{S3Command, S3Report, Step};
use crate::reporter::{Reporter, Warning};

/// An onboarding whose local input is checked and whose options are settled: everything but
/// the key pair, which is asked for last (so that a bad option fails before a prompt).
#[derive(Debug, Clone)]
pub struct PreparedOnboarding {
    account: Uid,
    account_secret: SecretPath,
    paths: Paths,
    grant_value_read: bool,
    overwrite: bool,
    options: PreparedOptions,
}

impl PreparedOnboarding {
    /// The options this onboarding emits (for a merge, the whole merged file).
    pub fn options(&self) -> &PreparedOptions {
        &self.options
    }

    /// The onboarding of `keys`.
    pub fn with_keys(self, keys: KeyPair) -> Onboarding {
        Onboarding {
            account: self.account,
            account_secret: self.account_secret,
            paths: self.paths,
            keys,
            grant_value_read: self.grant_value_read,
            overwrite: self.overwrite,
            options: self.options,
            dry_run: false,
        }
    }
}

/// An onboarding ready to run against the cluster.
#[derive(Debug, Clone)]
pub struct Onboarding {
    /// The service account the service runs as.
    pub account: Uid,
    /// The secret holding the account's login.
    pub account_secret: SecretPath,
    pub paths: Paths,
    pub keys: KeyPair,
    /// Also grant read on the values, for services that read them through the API.
    pub grant_value_read: bool,
    /// Replace secrets holding another value (otherwise a conflict, before any write).
    pub overwrite: bool,
    pub options: PreparedOptions,
    /// Read and plan only.
    pub dry_run: bool,
}

impl Onboarding {
    /// Checks everything that can be checked without the cluster: the options layout, the
    /// spaces rule (the app may mount both secrets and the login secret) and the options
    /// destination, whose file is read and merged now.
    pub fn prepare(
        account: Uid,
        account_secret: SecretPath,
        paths: Paths,
        layout: &OptionsLayout,
        destination: &Destination,
        reporter: &dyn Reporter,
    ) -> Result<PreparedOnboarding> {
        let options = options(
            (&account, &account_secret),
            &paths,
            layout,
            destination,
            reporter,
        )?;
        Ok(PreparedOnboarding {
            account,
            account_secret,
            paths,
            grant_value_read: false,
            overwrite: false,
            options,
        })
    }

    /// The resource ids this onboarding grants read on.
    pub fn rids(&self) -> Result<Vec<Rid>> {
        self.paths.rids(self.grant_value_read)
    }

    /// An empty report of this onboarding.
    pub(crate) fn report(&self, dry_run: bool) -> S3Report {
        let mut report = self
            .paths
            .report(S3Command::Onboard, Some(&self.account), dry_run);
        report.options = Some(self.options.options.clone());
        report.options_file = self.options.file().map(|f| f.display().to_string());
        report
    }
}

impl PreparedOnboarding {
    /// Also grants read on the values.
    /// Checks that the account exists and is a service account: one request, for a caller
    /// that would rather not ask for a key pair in vain. The run checks it again.
    pub async fn check_account(&self, clients: &Clients) -> Result<()> {
        let user = clients.iam.user(&self.account).get_opt().await;
        let user = user.context(format!("read the account `{}`", self.account))?;
        account_check(
            &self.account,
            &self.account_secret,
            user.map(|u| u.is_service),
        )
    }

    pub fn grant_value_read(mut self, yes: bool) -> Self {
        self.grant_value_read = yes;
        self
    }

    /// Replaces secrets holding another value.
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }
}

/// The service options of an onboarding, settled without the cluster: the layout is checked,
/// the spaces rule holds, and the destination is read (merged) and ready to write.
pub fn options(
    (account, account_secret): (&Uid, &SecretPath),
    paths: &Paths,
    layout: &OptionsLayout,
    destination: &Destination,
    reporter: &dyn Reporter,
) -> Result<PreparedOptions> {
    layout.check(reporter)?;
    dse::check_spaces(
        &[&paths.key_id, &paths.secret_key],
        Some(account_secret),
        &paths.service,
        layout.allow_outside_space,
        reporter,
    )?;
    let settings = dse::S3Settings {
        service_account: account.as_str(),
        service_account_secret: account_secret,
        service: &paths.service,
        key_id: &paths.key_id,
        secret_key: &paths.secret_key,
        region: layout.aws_region.as_ref().map(|r| r.as_str()),
        endpoint: layout.s3_endpoint.as_ref().map(|e| e.as_str()),
    };
    let overlay = dse::s3_options(&settings, layout.layout);
    let existing = destination.existing()?;
    if layout.layout == Layout::Schema && existing.as_ref().is_some_and(|b| b.get("s3").is_some()) {
        reporter.warn(&Warning::TopLevelS3Kept);
    }
    destination.prepare(destination.merged(overlay)?)
}

/// What the cluster holds for one onboarding: each secret's value and each grant's state.
#[derive(Debug)]
pub(crate) struct Observed {
    pub current: Vec<Option<SecretValue>>,
    pub states: Vec<GrantState>,
    /// Per resource id, whether this run created the ACL while reading.
    pub registered: Vec<bool>,
}

/// What a run found and plans, before any write.
#[derive(Debug)]
pub(crate) struct Planned {
    pub tasks: Vec<Task>,
}

impl Planned {
    /// Whether the plan writes nothing to the cluster.
    pub fn is_empty(&self) -> bool {
        self.tasks.iter().all(|t| t.write.is_none())
    }

    /// The ACLs this run created while reading.
    fn registered(&self) -> Vec<Rid> {
        let acls = self.tasks.iter().flat_map(|t| &t.journal);
        acls.filter_map(|change| match change {
            Change::Acl { rid } => Some(rid.clone()),
            _ => None,
        })
        .collect()
    }
}

/// Runs an onboarding: the report, or the report and the failure after undoing its changes.
pub async fn onboard(
    clients: &Clients,
    job: &Onboarding,
    reporter: &dyn Reporter,
) -> RunResult<S3Report> {
    let mut report = job.report(job.dry_run);
    let result = steps(clients, job, reporter, &mut report).await;
    super::finish(report, result)
}

async fn steps(
    clients: &Clients,
    job: &Onboarding,
    reporter: &dyn Reporter,
    report: &mut S3Report,
) -> Result<()> {
    let principal = Principal::User(job.account.clone());
    let rids = job.rids()?;
    let observed = observe(clients, job, &principal, &rids, !job.dry_run, reporter).await?;
    let planned = plan(job, &rids, &observed, job.dry_run);
    if let Err(failure) = plan::check_conflicts(&planned.tasks) {
        let created = planned.registered();
        report.steps = plan::steps(planned.tasks);
        return Err(unregister(clients, &created, failure).await);
    }
    if reporter.stop_requested() && !job.dry_run {
        let created = planned.registered();
        report.steps = plan::steps(planned.tasks);
        return Err(unregister(clients, &created, Error::interrupted()).await);
    }
    let (steps, result) = execute(clients, job, planned, job.dry_run, reporter).await;
    report.steps = steps;
    result
}

/// Round 0: reads what is there and, unless it is a dry run, creates the missing ACLs
/// alongside, so that every grant can go out with the secrets in one more round. Any failure
/// here deletes those ACLs again before returning.
async fn observe(
    clients: &Clients,
    job: &Onboarding,
    principal: &Principal,
    rids: &[Rid],
    register: bool,
    reporter: &dyn Reporter,
) -> Result<Observed> {
    let user = clients.iam.user(&job.account);
    let (account, account_secret, current, states, registered) = tokio::join!(
        user.get_opt(),
        clients.secret_value(&job.account_secret),
        try_join_all(job.paths.both().map(|p| clients.secret_value(p))),
        try_join_all(
            rids.iter()
                .map(|rid| clients.grant_state(rid, principal, Action::Read))
        ),
        join_all(rids.iter().map(|rid| async move {
            if !register {
                return Ok(false);
            }
            let created = clients.iam.acl(rid).create(&acl_description(rid)).await;
            created.map(|outcome| outcome == CreateOutcome::Created)
        })),
    );
    // A creation that failed may have landed before the failure: its ACL counts as this run's
    // (it is deleted only while empty, so no grant is ever lost with it).
    let created: Vec<Rid> = rids
        .iter()
        .zip(&registered)
        .filter(|(_, r)| !matches!(r, Ok(false)))
        .map(|(rid, _)| rid.clone())
        .collect();
    let checked = (|| {
        let account = account.context(format!("read the account `{}`", job.account))?;
        check_account(job, account.map(|a| a.is_service))?;
        if matches!(account_secret, Ok(None)) {
            reporter.warn(&Warning::LoginSecretMissing {
                path: job.account_secret.clone(),
            });
        }
        let current = current.context("read the secrets")?;
        let states = states.context("read the grants")?;
        let registered = registered
            .into_iter()
            .zip(rids)
            .map(|(r, rid)| r.context(format!("create the ACL {rid}")))
            .collect::<Result<Vec<bool>>>()?;
        Ok(Observed {
            current,
            states,
            registered,
        })
    })();
    match checked {
        Ok(observed) => Ok(observed),
        Err(failure) => Err(unregister(clients, &created, failure).await),
    }
}

/// Deletes the ACLs a failed round 0 created; says so only if one of them stays.
async fn unregister(clients: &Clients, created: &[Rid], failure: Error) -> Error {
    let results = join_all(created.iter().map(|rid| delete_acl_if_empty(clients, rid))).await;
    let left = created
        .iter()
        .zip(results)
        .filter_map(|(rid, r)| r.err().map(|e| format!("the empty ACL {rid} ({e})")))
        .collect();
    failure.with_undo(Undo {
        undone: Vec::new(),
        left,
    })
}

/// The account must exist (`is_service` is `None` when it does not) and be a service account.
pub(crate) fn check_account(job: &Onboarding, is_service: Option<bool>) -> Result<()> {
    account_check(&job.account, &job.account_secret, is_service)
}

fn account_check(account: &Uid, login_secret: &SecretPath, is_service: Option<bool>) -> Result<()> {
    match is_service {
        None => Err(
            Error::not_found(format!("the service account `{account}` does not exist"))
                .with_remedy(Remedy::CreateServiceAccount {
                    uid: account.clone(),
                    login_secret: login_secret.clone(),
                }),
        ),
        Some(false) => Err(Error::invalid(format!(
            "`{account}` is a user, not a service account: the service logs in with a key pair"
        ))),
        Some(true) => Ok(()),
    }
}

/// Compares what is there with what the onboarding wants.
pub(crate) fn plan(job: &Onboarding, rids: &[Rid], observed: &Observed, dry_run: bool) -> Planned {
    let mut tasks = Vec::new();
    let values = job.keys.values();
    let both = job
        .paths
        .both()
        .into_iter()
        .zip(&values)
        .zip(&observed.current);
    for ((path, value), now) in both {
        tasks.push(plan::secret_task(
            (path, value),
            now.as_ref(),
            job.overwrite,
            dry_run,
        ));
    }
    let principal = Principal::User(job.account.clone());
    for (g, (rid, state)) in rids.iter().zip(&observed.states).enumerate() {
        let registered = observed.registered.get(g).copied().unwrap_or(false);
        let grant = (rid, Action::Read, &principal);
        tasks.push(plan::grant_task(grant, *state, registered, (0, dry_run)));
    }
    Planned { tasks }
}

/// Carries a plan out: both secrets and every grant at once, then the options file. On a
/// failure, undoes what the run changed. With a dry run, only adds the options step. Returns
/// the steps, and how it ended.
pub(crate) async fn execute(
    clients: &Clients,
    job: &Onboarding,
    planned: Planned,
    dry_run: bool,
    reporter: &dyn Reporter,
) -> (Vec<Step>, Result<()>) {
    let mut tasks = planned.tasks;
    if let Err(conflict) = plan::check_conflicts(&tasks) {
        return (plan::steps(tasks), Err(conflict));
    }
    tasks.extend(plan::options_task(&job.options, 1, dry_run));
    if dry_run {
        return (plan::steps(tasks), Ok(()));
    }
    let result = plan::run_or_undo(clients, &mut tasks, reporter).await;
    (plan::steps(tasks), result)
}
