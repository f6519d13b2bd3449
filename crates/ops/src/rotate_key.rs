//! A new key pair for an existing service account, keeping its uid. The IAM API cannot change
//! a service account's public key (`PATCH /users/{uid}` takes a description and a password),
//! so the account is deleted and created again with the new key, and what hung on it is put
//! back: its direct grants, its group memberships, and its login secrets, which get the new
//! private key. Then the new key must log in.
//!
//! Before the delete, the new private key is written (0600, never over a file) and, beside it,
//! a recovery file: the run's [journal record](crate::journal) (public data only). A run that
//! finds the recovery file finishes the rotation, whatever point the last one reached, even
//! after a SIGKILL, once the file and its content pass the record's rules. A failure after the
//! delete takes back the journal's changes: the account is created again with its old public
//! key and everything put back, so the old key works again.

use std::path::{Path, PathBuf};

use dcos_iam_client::{Credentials, KeyPair, KeySize, Principal, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::accounts::{find_login_secrets, login_secret, login_secret_value, same_public_key};
use crate::error::{Context, Error, Remedy, Result, RunResult};
use crate::journal::{self, Change, Entry, Record, Rekey, Ties, Workflow};
use crate::report::{Outcome, Step, StepKind};
use crate::reporter::{Reporter, Warning};
use crate::{Clients, Status, files};

/// A key rotation of one service account.
#[derive(Debug, Clone)]
pub struct KeyRotation {
    pub uid: Uid,
    /// The new private key's file: written 0600, never over an existing file.
    pub private_key_out: PathBuf,
    /// Login secrets of the account to give the new key; each must be this account's.
    pub secrets: Vec<SecretPath>,
    pub key_size: KeySize,
    /// Read and plan only.
    pub dry_run: bool,
    /// The plan a person confirmed: the run changes nothing if the cluster moved since.
    pub confirmed: Option<crate::Confirmed>,
}

/// What a key rotation did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRotationReport {
    pub uid: String,
    pub dry_run: bool,
    pub result: Status,
    /// The key file, the account deleted and created, each grant and membership put back,
    /// each login secret updated.
    pub steps: Vec<Step>,
    pub private_key_file: String,
    /// Whether this run finished a rotation that an earlier run had left.
    pub recovered: bool,
    /// Whether the new key logged in.
    pub verified: bool,
    /// Marathon apps that mount a login secret that changed: they hold the old key until they
    /// restart.
    pub restart: Vec<String>,
}

/// The recovery file of a key file: `<key>.rotate-key.json` beside it.
pub fn recovery_file(key: &Path) -> PathBuf {
    let mut name = key.file_name().unwrap_or_default().to_os_string();
    name.push(".rotate-key.json");
    key.with_file_name(name)
}

/// What a rotation did, and what is left to do.
impl std::fmt::Display for KeyRotationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dry_run {
            return write!(f, "would rotate the key of {}", self.uid);
        }
        let recovered = match self.recovered {
            true => " (finishing an earlier run)",
            false => "",
        };
        write!(
            f,
            "rotated the key of {}{recovered}: the new private key is in {} (mode 0600); the old \
             key no longer logs in",
            self.uid, self.private_key_file
        )?;
        for app in &self.restart {
            write!(
                f,
                "\nrestart {app}: it mounts a login secret that changed, and holds the old key \
                 until then"
            )?;
        }
        write!(
            f,
            "\nservices that log in as this account with the old key fail from now on: give them \
             the new key, and restart those that read the login secret at start"
        )
    }
}

/// Rotates the key of `job.uid`, or finishes the rotation an earlier run left.
pub async fn rotate_key(
    clients: &Clients,
    job: &KeyRotation,
    reporter: &dyn Reporter,
) -> RunResult<KeyRotationReport> {
    let mut report = KeyRotationReport {
        uid: job.uid.to_string(),
        dry_run: job.dry_run,
        result: Status::Unchanged,
        steps: Vec::new(),
        private_key_file: job.private_key_out.display().to_string(),
        recovered: false,
        verified: false,
        restart: Vec::new(),
    };
    let result = run(clients, job, reporter, &mut report).await;
    crate::report::finish(report, result, job.dry_run)
}

async fn run(
    clients: &Clients,
    job: &KeyRotation,
    reporter: &dyn Reporter,
    report: &mut KeyRotationReport,
) -> Result<()> {
    let uid = &job.uid;
    let recovery = recovery_file(&job.private_key_out);
    if recovery.exists() {
        return finish(clients, job, &recovery, reporter, report).await;
    }
    files::ensure_absent(&job.private_key_out)?;
    let secrets = &login_secrets_of(clients, job, reporter).await?;
    let user = clients.iam.user(uid);
    let (account, permissions, groups, values) = tokio::join!(
        user.get_opt(),
        user.permissions(),
        user.groups(),
        futures::future::try_join_all(secrets.iter().map(|p| clients.secret_value(p))),
    );
    let account = account.context(format!("read the account `{uid}`"))?;
    let Some(account) = account.filter(|a| a.is_service) else {
        return Err(Error::not_found(format!(
            "the service account `{uid}` does not exist; nothing was changed"
        ))
        .with_remedy(Remedy::AccountGone { uid: uid.clone() }));
    };
    let old_public_key = account.public_key.clone().unwrap_or_default();
    let (grants, groups) = held_by(uid, permissions, groups)?;
    let mut rekey = Rekey {
        uid: uid.to_string(),
        description: account.description.clone(),
        old_public_key,
        new_public_key: String::new(),
        grants,
        groups,
    };
    // Every grant and group must be one that can be given back after the re-creation.
    rekey.ties()?;
    let values = values.context("read the login secrets")?;
    // Every --secret must be this account's login secret, checked before anything changes.
    let mut endpoints = Vec::new();
    for (path, value) in secrets.iter().zip(&values) {
        let Some(login) = value.as_ref().and_then(login_secret) else {
            return Err(Error::invalid(format!(
                "`{path}` is not a login secret (a JSON with `uid` and `private_key`); nothing \
                 was changed"
            )));
        };
        if &login.uid != uid {
            return Err(Error::conflict(format!(
                "`{path}` is the login secret of `{}`, not of `{uid}`; nothing was changed",
                login.uid
            )));
        }
        endpoints.push(login.login_endpoint);
    }
    report.restart = apps_using(clients, secrets, reporter).await;

    let mut steps = vec![
        Step::new(
            StepKind::KeyFile,
            job.private_key_out.display(),
            Outcome::WouldCreate,
        ),
        Step::new(StepKind::Account, uid, Outcome::WouldUpdate),
    ];
    steps.extend(rekey.grants.iter().map(|(rid, action)| {
        let mut step = Step::grant(rid, action, uid);
        step.outcome = Outcome::WouldGrant;
        step
    }));
    steps.extend(rekey.groups.iter().map(|gid| {
        let mut step = Step::new(StepKind::Membership, gid, Outcome::WouldGrant);
        step.principal = Some(uid.to_string());
        step
    }));
    steps.extend(
        secrets
            .iter()
            .map(|p| Step::secret(p, Outcome::WouldUpdate)),
    );
    if job.dry_run {
        report.steps = steps;
        return Ok(());
    }
    crate::plan::check_confirmed(job.confirmed.as_ref(), &steps)?;
    for step in &mut steps {
        step.outcome = Outcome::NotRun;
    }
    report.steps = steps;

    let size = job.key_size;
    let keys = tokio::task::spawn_blocking(move || KeyPair::generate(size))
        .await
        .map_err(|e| Error::failed(format!("key generation stopped: {e}")))??;
    if reporter.stop_requested() {
        return Err(Error::interrupted());
    }
    files::write_new(
        &job.private_key_out,
        keys.private_key_pem.expose_secret().as_bytes(),
        true,
    )?;
    report.steps[0].outcome = Outcome::Written;
    rekey.new_public_key = keys.public_key_pem.clone();
    let entries = std::iter::once(Entry::Rekeyed(rekey.clone()))
        .chain(secrets.iter().map(|p| Entry::LoginSecret {
            path: p.to_string(),
        }))
        .collect();
    let record = Record::new(Workflow::RotateKey, entries).to_bytes();
    if let Err(e) = files::write_new(&recovery, &record, true) {
        let _ = std::fs::remove_file(&job.private_key_out);
        return Err(e);
    }
    // From here on, the account changes.
    let mut changes = Vec::new();
    let login_secrets: Vec<LoginSecret> = secrets
        .iter()
        .zip(endpoints)
        .zip(values)
        .map(|((path, endpoint), before)| LoginSecret {
            path: path.clone(),
            endpoint,
            before,
        })
        .collect();
    let forward = apply(clients, &rekey, &keys, &login_secrets, report, &mut changes).await;
    match forward {
        Ok(()) => {
            let _ = std::fs::remove_file(&recovery);
            report.verified = true;
            Ok(())
        }
        Err(error) => {
            let undo = journal::take_back(clients, None, &changes, &mut report.steps).await;
            if undo.is_complete() {
                let _ = std::fs::remove_file(&recovery);
                let _ = std::fs::remove_file(&job.private_key_out);
            }
            Err(error.with_undo(undo))
        }
    }
}

/// The login secrets to give the new key: those the job names or, when it names none, every
/// login secret of the account this token can read (found by content); the secrets it cannot
/// read are warned about, since one of them may hold the account's old key.
async fn login_secrets_of(
    clients: &Clients,
    job: &KeyRotation,
    reporter: &dyn Reporter,
) -> Result<Vec<SecretPath>> {
    if !job.secrets.is_empty() {
        return Ok(job.secrets.clone());
    }
    let (owners, unreadable) = find_login_secrets(clients).await?;
    if unreadable > 0 {
        reporter.warn(&Warning::LoginSecretsUnread {
            uid: job.uid.to_string(),
            count: unreadable,
        });
    }
    let found = owners.get(job.uid.as_str()).into_iter().flatten();
    found.map(|p| Ok(SecretPath::new(p)?)).collect()
}

/// The Marathon apps and pods that use any of `secrets`.
async fn apps_using(
    clients: &Clients,
    secrets: &[SecretPath],
    reporter: &dyn Reporter,
) -> Vec<String> {
    if secrets.is_empty() {
        return Vec::new();
    }
    match crate::consumers::read(clients).await {
        Err(why) => {
            reporter.warn(&Warning::MarathonUnread {
                why: why.to_string(),
            });
            Vec::new()
        }
        Ok(workloads) => (workloads.ids_using(secrets.iter().map(SecretPath::as_str)))
            .into_iter()
            .map(|(_, id)| id)
            .collect(),
    }
}

/// A login secret the rotation writes: where, the login endpoint it keeps, and its value
/// before the run (for the journal).
struct LoginSecret {
    path: SecretPath,
    endpoint: String,
    before: Option<SecretValue>,
}

/// The account with the new key and everything put back, the login secrets updated, and the
/// new key logged in. Each step is safe to repeat, so that a run after a crash can redo them.
/// Every change is journaled in `changes` before it is sent.
async fn apply(
    clients: &Clients,
    rekey: &Rekey,
    keys: &KeyPair,
    login_secrets: &[LoginSecret],
    report: &mut KeyRotationReport,
    changes: &mut Vec<Change>,
) -> Result<()> {
    let Ties {
        uid,
        grants,
        groups,
    } = rekey.ties()?;
    let user = clients.iam.user(&uid);
    // Delete, unless an earlier run did; create with the new key, unless an earlier run did.
    let account = user.get_opt().await.context("read the account")?;
    let has_new = |key: Option<&str>| same_public_key(key.unwrap_or(""), &keys.public_key_pem);
    if !account
        .as_ref()
        .is_some_and(|a| has_new(a.public_key.as_deref()))
    {
        changes.push(Change::Rekeyed(Box::new(rekey.clone())));
        if account.is_some() {
            user.delete()
                .await
                .context(format!("delete the account `{uid}`"))?;
        }
        create(clients, &uid, &rekey.description, &keys.public_key_pem).await?;
    }
    set(report, StepKind::Account, &rekey.uid, Outcome::Updated);
    let principal = Principal::User(uid.clone());
    for (rid, action) in grants {
        clients
            .iam
            .acl(&rid)
            .ensure_granted(&principal, action, &crate::acl_description(&rid))
            .await
            .context(format!("grant {action} on {rid} again"))?;
        set_grant(report, rid.as_str(), Outcome::Granted);
    }
    for gid in groups {
        match clients.iam.group(&gid).add_member(&uid).await {
            Err(e) if !e.is_conflict() => {
                return Err(Error::from(e).context(format!("add `{uid}` to group `{gid}` again")));
            }
            _ => {}
        }
        set(report, StepKind::Membership, gid.as_str(), Outcome::Granted);
    }
    for login in login_secrets {
        let path = &login.path;
        let value = login_secret_value(&uid, keys, &login.endpoint);
        changes.push(Change::Secret {
            path: path.clone(),
            before: login.before.clone(),
            written: value.clone(),
        });
        clients
            .secrets
            .secret(path)
            .update(&value)
            .await
            .context(format!("update the login secret `{path}`"))?;
        set(report, StepKind::Secret, path.as_str(), Outcome::Updated);
    }
    let credentials = Credentials::service_account(uid.clone(), keys.private_key_pem.clone())
        .context("the new key")?;
    dcos_iam_client::login(clients.iam.transport(), &credentials)
        .await
        .context("log in with the new key")?;
    Ok(())
}

async fn create(clients: &Clients, uid: &Uid, description: &str, public_key: &str) -> Result<()> {
    match clients
        .iam
        .user(uid)
        .create_service_account(description, public_key)
        .await
    {
        Err(e) if !e.is_conflict() => {
            Err(Error::from(e).context(format!("create the account `{uid}` with the new key")))
        }
        _ => Ok(()),
    }
}

fn set(report: &mut KeyRotationReport, kind: StepKind, target: &str, outcome: Outcome) {
    if let Some(step) = report
        .steps
        .iter_mut()
        .find(|s| s.kind == kind && s.target == target)
    {
        step.outcome = outcome;
    }
}

fn set_grant(report: &mut KeyRotationReport, rid: &str, outcome: Outcome) {
    for step in report
        .steps
        .iter_mut()
        .filter(|s| s.kind == StepKind::Grant && s.target == rid)
    {
        step.outcome = outcome;
    }
}

/// What the account holds directly: its grants as `(rid, action)`, and its groups.
type Held = (Vec<(String, String)>, Vec<String>);

/// [`Held`] from the answers of the account's permissions and groups.
fn held_by(
    uid: &Uid,
    permissions: std::result::Result<dcos_iam_client::UserPermissions, dcos_transport::Error>,
    groups: std::result::Result<Vec<dcos_iam_client::GroupMembership>, dcos_transport::Error>,
) -> Result<Held> {
    let grants = permissions
        .context(format!("read the permissions of `{uid}`"))?
        .direct
        .into_iter()
        .flat_map(|held| {
            let rid = held.rid;
            held.actions.into_iter().map(move |a| (rid.clone(), a.name))
        })
        .collect();
    let groups = groups
        .context(format!("read the groups of `{uid}`"))?
        .into_iter()
        .map(|m| m.group.gid)
        .collect();
    Ok((grants, groups))
}

/// Checks a recovery file's record against the live cluster before anything is resumed: the
/// account, if it exists, has the record's old or new public key (and, with the old one, holds
/// every grant and group the record would put back); every secret the record would write is
/// among the login secrets given and is this account's login secret. A record that does not
/// match is refused ([`crate::ErrorKind::Conflict`]) and left in place.
async fn check_against_cluster(
    clients: &Clients,
    job: &KeyRotation,
    recovery: &Path,
    (rekey, secrets): (&Rekey, &[SecretPath]),
) -> Result<()> {
    let forged = |why: String| {
        Error::conflict(format!(
            "the recovery file {} does not match the cluster: {why}; it is left in place and \
             nothing was changed",
            recovery.display()
        ))
    };
    let uid = &job.uid;
    let user = clients.iam.user(uid);
    let (account, permissions, groups) =
        tokio::join!(user.get_opt(), user.permissions(), user.groups());
    if let Some(account) = account.context(format!("read the account `{uid}`"))? {
        let live = account.public_key.as_deref().unwrap_or_default();
        let before = same_public_key(live, &rekey.old_public_key);
        if !before && !same_public_key(live, &rekey.new_public_key) {
            return Err(forged(format!(
                "the public key of `{uid}` is neither the file's old key nor its new one"
            )));
        }
        if before {
            // Nothing was deleted yet: what the record puts back is what the account holds.
            let (grants, groups) = held_by(uid, permissions, groups)?;
            if let Some((rid, action)) = rekey.grants.iter().find(|g| !grants.contains(g)) {
                return Err(forged(format!(
                    "it would grant `{action}` on `{rid}`, which `{uid}` does not hold"
                )));
            }
            if let Some(gid) = rekey.groups.iter().find(|g| !groups.contains(g)) {
                return Err(forged(format!(
                    "it would add `{uid}` to group `{gid}`, which it is not in"
                )));
            }
        }
    }
    for path in secrets {
        // Without --secret the run updates the account's login secrets found by content,
        // which the check below is.
        if !job.secrets.is_empty() && !job.secrets.contains(path) {
            return Err(forged(format!(
                "it would write `{path}`, which is not among the login secrets given"
            )));
        }
        let value = clients
            .secret_value(path)
            .await
            .context("read the login secrets")?;
        if value
            .as_ref()
            .and_then(login_secret)
            .is_none_or(|l| &l.uid != uid)
        {
            return Err(forged(format!("`{path}` is not a login secret of `{uid}`")));
        }
    }
    Ok(())
}

/// The key replacement and the login secrets of a rotate-key record: one replacement, then
/// login secrets only.
fn rotation_of(record: Record, recovery: &Path) -> Result<(Rekey, Vec<SecretPath>)> {
    let mut rekey = None;
    let mut secrets = Vec::new();
    let odd = || {
        Error::conflict(format!(
            "{} is not the record of one key rotation; it is left in place and nothing was \
             changed",
            recovery.display()
        ))
    };
    for entry in record.entries {
        match entry {
            Entry::Rekeyed(r) if rekey.is_none() => rekey = Some(r),
            Entry::LoginSecret { path } => secrets.push(SecretPath::new(&path)?),
            _ => return Err(odd()),
        }
    }
    Ok((rekey.ok_or_else(odd)?, secrets))
}

/// A run that found the recovery file: finish what the last run began, with the key file it
/// wrote.
async fn finish(
    clients: &Clients,
    job: &KeyRotation,
    recovery: &Path,
    reporter: &dyn Reporter,
    report: &mut KeyRotationReport,
) -> Result<()> {
    report.recovered = true;
    // A file someone else could have put there is never acted on.
    files::check_own_file(&job.private_key_out, "the key file")?;
    let record = Record::read_file(recovery, Workflow::RotateKey)?;
    let (rekey, secrets) = rotation_of(record, recovery)?;
    if rekey.uid != job.uid.as_str() {
        return Err(Error::conflict(format!(
            "{} is the recovery file of the rotation of `{}`, not of `{}`",
            recovery.display(),
            rekey.uid,
            job.uid
        )));
    }
    let pem: SecretString = files::read_private_key(&job.private_key_out)?;
    let keys = KeyPair::from_private_pem(&pem).map_err(|e| {
        Error::from(e).context(format!("the key file {}", job.private_key_out.display()))
    })?;
    if !same_public_key(&keys.public_key_pem, &rekey.new_public_key) {
        return Err(Error::conflict(format!(
            "{} does not hold the key the recovery file names",
            job.private_key_out.display()
        )));
    }
    check_against_cluster(clients, job, recovery, (&rekey, &secrets)).await?;
    reporter.warn(&Warning::KeyRotationResumed {
        uid: rekey.uid.clone(),
    });
    let mut login_secrets = Vec::new();
    for path in &secrets {
        let before = clients
            .secret_value(path)
            .await
            .context("read the login secrets")?;
        let endpoint = before
            .as_ref()
            .and_then(login_secret)
            .map(|l| l.login_endpoint)
            .unwrap_or_else(|| dcos_iam_client::DEFAULT_LOGIN_ENDPOINT.to_owned());
        login_secrets.push(LoginSecret {
            path: path.clone(),
            endpoint,
            before,
        });
    }
    report.restart = apps_using(clients, &secrets, reporter).await;
    let mut steps = vec![
        Step::new(
            StepKind::KeyFile,
            job.private_key_out.display(),
            Outcome::Unchanged,
        ),
        Step::new(StepKind::Account, &rekey.uid, Outcome::NotRun),
    ];
    steps.extend(
        rekey
            .grants
            .iter()
            .map(|(rid, action)| Step::grant(rid, action, &rekey.uid)),
    );
    steps.extend(rekey.groups.iter().map(|gid| {
        let mut step = Step::new(StepKind::Membership, gid, Outcome::NotRun);
        step.principal = Some(rekey.uid.clone());
        step
    }));
    steps.extend(secrets.iter().map(|p| Step::secret(p, Outcome::NotRun)));
    if job.dry_run {
        for step in steps.iter_mut().skip(1) {
            step.outcome = match step.kind {
                StepKind::Grant | StepKind::Membership => Outcome::WouldGrant,
                _ => Outcome::WouldUpdate,
            };
        }
        report.steps = steps;
        return Ok(());
    }
    report.steps = steps;
    // Forward only: the record stays until the rotation is complete, for the next run.
    let mut changes = Vec::new();
    apply(clients, &rekey, &keys, &login_secrets, report, &mut changes).await?;
    report.verified = true;
    let _ = std::fs::remove_file(recovery);
    Ok(())
}
