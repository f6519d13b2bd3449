//! `dse offboard`: takes back what `dse setup` gave one engine, as one plan: the Mesos
//! permissions its account holds (whatever role and user they were given for) and its grants
//! on the secrets of the engine's space (the Spark secrets it was given too), the secrets the set-up stores, and with
//! `delete_account` the account and its login secret. All or nothing: a failure takes back
//! what the run did (grants given again, secrets and the account restored).
//!
//! Before anything is changed the run reads what it acts on: the account must exist (a
//! misspelt id deletes nothing), and a secret an app or pod uses is refused unless forced.

use dcos_iam_client::{Action, Gid, GrantState, Principal, Rid, Uid};
use dcos_secrets_client::SecretPath;
use futures::future::try_join_all;
use serde::Serialize;

use super::ServiceName;
use super::setup::STORED;
use crate::error::{Context, Error, Remedy, Result, RunResult};
use crate::plan::{self, Task, Write};
use crate::report::{Outcome, Status, Step, StepKind};
use crate::reporter::{Reporter, Warning};
use crate::{Clients, Confirmed, consumers};

/// What to take back, from which engine.
#[derive(Debug, Clone)]
pub struct Offboard {
    pub service: ServiceName,
    pub account: Uid,
    pub login_secret: SecretPath,
    /// The S3 pair's secrets, when the set-up was told where they go.
    pub s3_secrets: Option<(SecretPath, SecretPath)>,
    /// Also delete the account and its login secret.
    pub delete_account: bool,
    /// Delete secrets that apps or pods use (they fail at their next start).
    pub force: bool,
    /// Read and plan only.
    pub dry_run: bool,
    /// The plan a person confirmed: the run changes nothing if the cluster moved since.
    pub confirmed: Option<Confirmed>,
}

/// What `dse offboard` did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct OffboardReport {
    /// `changed`, `unchanged` or `failed`; with a dry run, `would_change` or `unchanged`.
    pub result: Status,
    pub dry_run: bool,
    pub service_name: String,
    pub service_account: String,
    pub steps: Vec<Step>,
}

impl Offboard {
    /// The offboarding of the service named `service`; the account and login secret default
    /// as `dse setup`'s do. Each name is checked; an error names what it is.
    pub fn new(service: &str, account: Option<&str>, login_secret: Option<&str>) -> Result<Self> {
        let service = ServiceName::new(service)?;
        let account = match account {
            Some(uid) => Uid::new(uid).context("the service account")?,
            None => Uid::new(service.as_str()).map_err(|_| {
                Error::invalid(format!(
                    "the service name `{service}` is no account id: name the service account"
                ))
            })?,
        };
        let login_secret = match login_secret {
            Some(path) => SecretPath::new(path).context("the service account's secret")?,
            None => service.secret_path("service-account")?,
        };
        Ok(Self {
            service,
            account,
            login_secret,
            s3_secrets: None,
            delete_account: false,
            force: false,
            dry_run: false,
            confirmed: None,
        })
    }

    /// The S3 pair's secrets where the set-up was told to put them (either, the other where it
    /// goes by default).
    pub fn with_s3_secrets(
        mut self,
        (key_id, secret_key): (Option<&str>, Option<&str>),
    ) -> Result<Self> {
        let named = |given: Option<&str>, name: &str| match given {
            Some(path) => SecretPath::new(path).context(format!("the secret of {name}")),
            None => self.service.secret_path(name),
        };
        if key_id.is_some() || secret_key.is_some() {
            self.s3_secrets = Some((
                named(key_id, "aws_access_key_id")?,
                named(secret_key, "aws_secret_access_key")?,
            ));
        }
        Ok(self)
    }

    /// The secrets a set-up may have stored, then the login secret.
    fn paths(&self) -> Result<Vec<SecretPath>> {
        let mut paths = (STORED.iter())
            .map(|name| self.service.secret_path(name))
            .collect::<Result<Vec<_>>>()?;
        if let Some((key_id, secret_key)) = &self.s3_secrets {
            paths.splice(0..2, [key_id.clone(), secret_key.clone()]);
        }
        paths.push(self.login_secret.clone());
        Ok(paths)
    }

    /// Read on each secret's name and value.
    fn reads(paths: &[SecretPath]) -> Result<Vec<(Rid, Action)>> {
        let mut grants = Vec::new();
        for path in paths {
            grants.push((Rid::secret_list(path.as_str())?, Action::Read));
            grants.push((Rid::secret(path.as_str())?, Action::Read));
        }
        Ok(grants)
    }
}

/// Runs an offboarding: the report, or the report and the failure after undoing its changes.
pub async fn offboard(
    clients: &Clients,
    job: &Offboard,
    reporter: &dyn Reporter,
) -> RunResult<OffboardReport> {
    let mut report = OffboardReport {
        result: Status::Unchanged,
        dry_run: job.dry_run,
        service_name: job.service.to_string(),
        service_account: job.account.to_string(),
        steps: Vec::new(),
    };
    let result = steps(clients, job, reporter, &mut report).await;
    crate::report::finish(report, result, job.dry_run)
}

async fn steps(
    clients: &Clients,
    job: &Offboard,
    reporter: &dyn Reporter,
    report: &mut OffboardReport,
) -> Result<()> {
    let uid = &job.account;
    let principal = Principal::User(uid.clone());
    let paths = job.paths()?;
    let reads = Offboard::reads(&paths)?;
    let user = clients.iam.user(uid);
    let (account, held, groups, values, states, users) = tokio::join!(
        user.get_opt(),
        user.permissions(),
        user.groups(),
        try_join_all(paths.iter().map(|p| clients.secret_value(p))),
        try_join_all(
            reads
                .iter()
                .map(|(rid, action)| clients.grant_state(rid, &principal, *action))
        ),
        consumers::read(clients),
    );
    let Some(account) = account.context(format!("read the account `{uid}`"))? else {
        return Err(Error::not_found(format!(
            "the service account `{uid}` does not exist; nothing was revoked or deleted"
        ))
        .with_remedy(Remedy::AccountGone { uid: uid.clone() }));
    };
    let values = values.context("read the secrets")?;
    let states = states.context("read the grants")?;
    // The Mesos permissions it holds itself, held.
    let held = held.context(format!("read the permissions of `{uid}`"))?;
    // Its Mesos permissions, and its grants on other secrets of the engine's space (the Spark
    // secrets a set-up named), each held.
    let space = format!("{}/", job.service);
    let of_engine = |rid: &str| {
        let path = (rid.strip_prefix("dcos:secrets:default:"))
            .or_else(|| rid.strip_prefix("dcos:secrets:list:default:"));
        rid.starts_with("dcos:mesos:")
            || path.is_some_and(|p| p.starts_with(&space))
                && !reads.iter().any(|(r, _)| r.as_str() == rid)
    };
    let mut grants: Vec<(Rid, Action)> = (held.direct.iter())
        .filter(|p| of_engine(&p.rid))
        .flat_map(|p| p.actions.iter().map(move |a| (&p.rid, &a.name)))
        .filter_map(|(rid, action)| Some((Rid::new(rid).ok()?, action.parse().ok()?)))
        .collect();
    grants.extend(reads);
    let states =
        std::iter::repeat_n(GrantState::Granted, grants.len() - states.len()).chain(states);
    // The login secret stays with the account.
    let deleted = |i: usize| i + 1 < paths.len() || job.delete_account;
    // Nothing is deleted on the strength of its name alone: a login secret is deleted only as
    // the account's own, and never another account's.
    for (i, (path, value)) in paths.iter().zip(&values).enumerate() {
        let owner = value
            .as_ref()
            .and_then(crate::accounts::login_secret)
            .map(|s| s.uid);
        let login = i + 1 == paths.len();
        match owner {
            Some(owner) if &owner != uid && deleted(i) => {
                return Err(Error::conflict(format!(
                    "`{path}` is the login secret of the service account `{owner}`, not of \
                     `{uid}`; nothing was revoked or deleted"
                )));
            }
            None if login && deleted(i) && value.is_some() => {
                return Err(Error::conflict(format!(
                    "`{path}` is not the login secret of `{uid}`; nothing was revoked or deleted"
                )));
            }
            _ => {}
        }
    }
    match users {
        Err(why) => reporter.warn(&Warning::MarathonUnread {
            why: why.to_string(),
        }),
        Ok(workloads) => {
            let gone = (paths.iter().enumerate())
                .filter(|(i, _)| deleted(*i) && values[*i].is_some())
                .map(|(_, p)| p.as_str());
            crate::secrets::refuse_used(&workloads, gone, job.force)?;
        }
    }
    let planned = |would| Outcome::planned(would, job.dry_run);
    let mut tasks = Vec::new();
    for ((rid, action), state) in grants.iter().zip(states) {
        let mut step = Step::grant(rid, action, uid);
        if state != GrantState::Granted {
            step.outcome = Outcome::NotGranted;
            tasks.push(Task::report(step));
            continue;
        }
        step.outcome = planned(Outcome::WouldRevoke);
        let write = Write::Revoke {
            rid: rid.clone(),
            principal: principal.clone(),
            action: *action,
            undoable: true,
        };
        tasks.push(Task::write(step, 0, write));
    }
    for (i, (path, value)) in paths.iter().zip(values).enumerate() {
        let task = match (deleted(i), value) {
            (false, _) => Task::report(Step::secret(path, Outcome::Kept)),
            (true, None) => Task::report(Step::secret(path, Outcome::Absent)),
            (true, Some(value)) => {
                let mut step = Step::secret(path, planned(Outcome::WouldDelete));
                step.fingerprint = Some(value.fingerprint());
                let write = Write::DeleteSecret {
                    path: path.clone(),
                    before: Some(value),
                };
                Task::write(step, 1, write)
            }
        };
        tasks.push(task);
    }
    if job.delete_account {
        let groups = groups.context(format!("read the groups of `{uid}`"))?;
        let step = Step::new(StepKind::Account, uid, planned(Outcome::WouldDelete));
        let write = Write::DeleteAccount {
            uid: uid.clone(),
            description: account.description.clone(),
            public_key_pem: account.public_key.clone().unwrap_or_default(),
            groups: (groups.iter())
                .filter_map(|m| Gid::new(&m.group.gid).ok())
                .collect(),
        };
        tasks.push(Task::write(step, 2, write));
    }
    if job.dry_run {
        report.steps = plan::steps(tasks);
        return Ok(());
    }
    plan::check_confirmed(job.confirmed.as_ref(), tasks.iter().map(|t| &t.step))?;
    let result = plan::run_or_undo(clients, &mut tasks, reporter).await;
    report.steps = plan::steps(tasks);
    result
}
