//! Service accounts: a key pair, the account, and its login secret (the JSON services mount as
//! `service-account.json`), made together or not at all.

use std::path::PathBuf;

use dcos_iam_client::{Action, KeyPair, KeySize, ServiceAccountSecret, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::error::{Context, Error, Remedy, Result, Undo};
use crate::files;
use crate::journal::{Change, undo_all};
use crate::report::{Step, StepKind};
use crate::reporter::{Reporter, Warning};
use crate::{Clients, Status};

/// The login secret of `uid` with `pair`: the JSON services mount.
pub fn login_secret_value(uid: &Uid, pair: &KeyPair, endpoint: &str) -> SecretValue {
    let json = ServiceAccountSecret::new(uid.clone(), pair.private_key_pem.clone())
        .with_login_endpoint(endpoint.to_owned())
        .to_json();
    SecretValue::text(json.expose_secret())
}

/// Where a login secret goes, and the login endpoint it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSecret {
    pub path: SecretPath,
    pub endpoint: String,
}

/// Creates the service account with `keys`' public key and, with `login`, stores its login
/// secret. If the secret cannot be stored, the account is deleted again; the error says what
/// was undone.
pub async fn register(
    clients: &Clients,
    uid: &Uid,
    description: &str,
    keys: &KeyPair,
    login: Option<&LoginSecret>,
) -> Result<()> {
    clients
        .iam
        .user(uid)
        .create_service_account(description, &keys.public_key_pem)
        .await
        .context(format!("create the account `{uid}`"))?;
    let Some(login) = login else {
        return Ok(());
    };
    let value = login_secret_value(uid, keys, &login.endpoint);
    if let Err(e) = clients.secrets.secret(&login.path).create(&value).await {
        let failure = Error::from(e).context(format!("store the login secret `{}`", login.path));
        let account = [Change::Account { uid: uid.clone() }];
        return Err(failure.with_undo(undone(undo_all(clients, &account).await, "the account")));
    }
    Ok(())
}

/// An [`Undo`] from the result of undoing `what`.
fn undone(result: Result<Option<String>>, what: &str) -> Undo {
    match result {
        Ok(done) => Undo {
            undone: done.into_iter().collect(),
            left: Vec::new(),
        },
        Err(e) => Undo {
            undone: Vec::new(),
            left: vec![format!("{what} ({e})")],
        },
    }
}

/// A service account to create, with the files for its keys.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub uid: Uid,
    /// The private key's file: created with mode 0600, never overwritten.
    pub private_key_out: PathBuf,
    /// Also write the public key here.
    pub public_key_out: Option<PathBuf>,
    pub description: Option<String>,
    /// Also store the login secret.
    pub login: Option<LoginSecret>,
    pub key_size: KeySize,
}

/// What `create` made.
#[derive(Debug, Clone, Serialize)]
pub struct AccountReport {
    /// `changed`, or `unchanged` when the account was there with this key already.
    pub result: Status,
    pub uid: String,
    pub private_key_file: String,
    pub public_key_file: Option<String>,
    /// Where the login secret was stored.
    pub secret: Option<String>,
    pub login_endpoint: Option<String>,
}

/// Whether two public keys in PEM are the same key (line breaks and headers aside).
pub fn same_public_key(a: &str, b: &str) -> bool {
    let body = |pem: &str| -> String {
        pem.lines()
            .filter(|line| !line.starts_with("-----"))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect()
    };
    body(a) == body(b)
}

/// `create` run again: the account exists and `private_key_out` holds its key. The login
/// secret is stored if it is missing; anything else that differs is a conflict.
async fn confirm_existing(
    clients: &Clients,
    account: &NewAccount,
    existing: &dcos_iam_client::User,
) -> Result<AccountReport> {
    let uid = &account.uid;
    let file = &account.private_key_out;
    let pem = files::read_private_key(file)?;
    let keys = KeyPair::from_private_pem(&pem)
        .map_err(|e| Error::from(e).context(format!("the key file {}", file.display())))?;
    let theirs = existing.public_key.as_deref().unwrap_or_default();
    if !same_public_key(theirs, &keys.public_key_pem) {
        return Err(Error::conflict(format!(
            "the account `{uid}` already exists with another public key than the one of {}",
            file.display()
        ))
        .with_remedy(Remedy::AccountExists));
    }
    let mut result = Status::Unchanged;
    if let Some(login) = &account.login {
        let wanted = login_secret_value(uid, &keys, &login.endpoint);
        match clients.secret_value(&login.path).await? {
            None => {
                clients
                    .secrets
                    .secret(&login.path)
                    .create(&wanted)
                    .await
                    .context(format!("store the login secret `{}`", login.path))?;
                result = Status::Changed;
            }
            Some(value) if login_secret_matches(&value, uid, &keys) => {}
            Some(_) => {
                return Err(Error::conflict(format!(
                    "the secret `{}` already exists and is not the login secret of `{uid}` with this key",
                    login.path
                ))
                .with_remedy(Remedy::LoginSecretExists));
            }
        }
    }
    if let Some(public) = &account.public_key_out {
        match std::fs::read_to_string(public) {
            Ok(text) if same_public_key(&text, &keys.public_key_pem) => {}
            Ok(_) => {
                return Err(Error::conflict(format!(
                    "{} holds another public key",
                    public.display()
                )));
            }
            Err(_) => {
                files::write_new(public, keys.public_key_pem.as_bytes(), false)?;
                result = Status::Changed;
            }
        }
    }
    Ok(report(account, result))
}

/// The login secret `value` is, by its content (the JSON of `uid` and `private_key`, with
/// `login_endpoint` and `scheme`), or `None`: the one way the workflows recognise one.
pub fn login_secret(value: &SecretValue) -> Option<ServiceAccountSecret> {
    let SecretValue::Text(text) = value else {
        return None;
    };
    ServiceAccountSecret::from_json(text).ok()
}

/// Whether a login secret names `uid` and holds the private key of `keys`.
fn login_secret_matches(value: &SecretValue, uid: &Uid, keys: &KeyPair) -> bool {
    let Some(secret) = login_secret(value) else {
        return false;
    };
    &secret.uid == uid
        && KeyPair::from_private_pem(&secret.private_key_pem)
            .is_ok_and(|k| same_public_key(&k.public_key_pem, &keys.public_key_pem))
}

fn report(account: &NewAccount, result: Status) -> AccountReport {
    AccountReport {
        result,
        uid: account.uid.to_string(),
        private_key_file: account.private_key_out.display().to_string(),
        public_key_file: account
            .public_key_out
            .as_ref()
            .map(|p| p.display().to_string()),
        secret: account.login.as_ref().map(|l| l.path.to_string()),
        login_endpoint: account.login.as_ref().map(|l| l.endpoint.clone()),
    }
}

/// Generates a key pair, writes the key files, creates the account and stores its login
/// secret. Everything that can be checked is checked first (the files do not exist, the
/// account and the login secret neither); a failure removes the files and the account again.
///
/// Run again with the same private key file, it changes nothing (`result: unchanged`), or
/// stores a login secret that is missing: the account must hold that file's public key.
pub async fn create(
    clients: &Clients,
    account: &NewAccount,
    reporter: &dyn Reporter,
) -> Result<AccountReport> {
    let uid = &account.uid;
    if account.private_key_out.exists()
        && let Some(existing) = clients.iam.user(uid).get_opt().await?
    {
        return confirm_existing(clients, account, &existing).await;
    }
    if let Some(login) = &account.login {
        let endpoint = url::Url::parse(&login.endpoint).map_err(|e| {
            Error::invalid(format!(
                "the login endpoint `{}` is not a URL: {e}",
                login.endpoint
            ))
        })?;
        if endpoint.scheme() != "https" {
            reporter.warn(&Warning::LoginEndpointNotHttps);
        }
    }
    files::ensure_absent(&account.private_key_out)?;
    if let Some(public) = &account.public_key_out {
        files::ensure_absent(public)?;
    }
    // The key is made while the cluster is asked whether the account or its secret exist.
    let size = account.key_size;
    let keys = tokio::task::spawn_blocking(move || KeyPair::generate(size));
    let login_path = account.login.as_ref().map(|l| &l.path);
    let user = clients.iam.user(uid);
    let (existing, secret) = tokio::join!(user.get_opt(), async {
        match login_path {
            Some(path) => clients.secret_value(path).await.map(|v| v.is_some()),
            None => Ok(false),
        }
    });
    if existing?.is_some() {
        return Err(Error::conflict(format!(
            "the account `{uid}` already exists, and {} does not hold its key",
            account.private_key_out.display()
        ))
        .with_remedy(Remedy::AccountExists));
    }
    if let (true, Some(path)) = (secret?, login_path) {
        return Err(
            Error::conflict(format!("the secret `{path}` already exists"))
                .with_remedy(Remedy::LoginSecretExists),
        );
    }
    let keys = keys
        .await
        .map_err(|e| Error::failed(format!("key generation stopped: {e}")))??;
    if reporter.stop_requested() {
        return Err(Error::interrupted());
    }
    let mut written = Vec::new();
    let files = [
        (
            Some(&account.private_key_out),
            keys.private_key_pem.expose_secret().as_bytes(),
            true,
        ),
        (
            account.public_key_out.as_ref(),
            keys.public_key_pem.as_bytes(),
            false,
        ),
    ];
    for (path, bytes, private) in files {
        let Some(path) = path else { continue };
        if let Err(e) = files::write_new(path, bytes, private) {
            if written.is_empty() {
                return Err(e);
            }
            return Err(e.with_undo(undone(undo_all(clients, &written).await, "the key files")));
        }
        written.push(Change::File { path: path.clone() });
    }

    let description = account
        .description
        .clone()
        .unwrap_or_else(|| format!("Service account {uid}, created by dcos-creds"));
    if let Err(e) = register(clients, uid, &description, &keys, account.login.as_ref()).await {
        let mut undo = e.undo().cloned().unwrap_or_default();
        let files = undone(undo_all(clients, &written).await, "the key files");
        undo.undone.extend(files.undone);
        undo.left.extend(files.left);
        return Err(e.with_undo(undo));
    }
    Ok(report(account, Status::Changed))
}

/// The login secrets found in the store, by account; and how many secrets this token could
/// not read (their owners are unknown). Values are read one by one and dropped at once; only
/// the account a login secret names is kept.
pub async fn find_login_secrets(
    clients: &Clients,
) -> Result<(std::collections::BTreeMap<String, Vec<String>>, usize)> {
    let paths = clients
        .secrets
        .list(None)
        .await
        .context("list the secrets")?;
    let paths: Vec<SecretPath> = paths
        .iter()
        .filter_map(|p| SecretPath::new(p).ok())
        .collect();
    let (owners, unreadable) = login_secret_owners(clients, paths).await?;
    Ok((owners, unreadable.len()))
}

/// The login secrets among `paths`, by account, and those this token could not read. Values
/// are read at most 16 at a time and dropped at once.
pub(crate) async fn login_secret_owners(
    clients: &Clients,
    paths: Vec<SecretPath>,
) -> Result<(
    std::collections::BTreeMap<String, Vec<String>>,
    Vec<SecretPath>,
)> {
    use futures::stream::{self, StreamExt};
    let read: Vec<(
        SecretPath,
        std::result::Result<Option<Uid>, dcos_transport::Error>,
    )> = stream::iter(paths)
        .map(|path| async move {
            let owner = clients
                .secret_value(&path)
                .await
                .map(|value| value.as_ref().and_then(login_secret).map(|s| s.uid));
            (path, owner)
        })
        .buffer_unordered(crate::access::READ_CONCURRENCY)
        .collect()
        .await;
    let mut owners: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut unreadable = Vec::new();
    for (path, owner) in read {
        match owner {
            Ok(Some(uid)) => owners
                .entry(uid.to_string())
                .or_default()
                .push(path.to_string()),
            Ok(None) => {}
            Err(e) if e.is_forbidden() => unreadable.push(path),
            Err(e) => return Err(Error::from(e).context(format!("read secret `{path}`"))),
        }
    }
    for paths in owners.values_mut() {
        paths.sort();
    }
    Ok((owners, unreadable))
}

/// One service account in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct AccountSummary {
    pub uid: String,
    pub description: String,
    /// The secrets that hold its login credential, among those this token may read; `None`
    /// when they were not looked for.
    pub login_secrets: Option<Vec<String>>,
}

/// Every service account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountList {
    /// Sorted by uid.
    pub service_accounts: Vec<AccountSummary>,
    /// How many secrets this token could not read while looking for login secrets.
    pub unreadable_secrets: usize,
}

/// One user in `user list`.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    pub uid: String,
    pub description: String,
    /// `internal`, or the directory it comes from (`ldap`, `oidc`, `saml`).
    pub provider_type: String,
    /// The groups it belongs to, sorted.
    pub groups: Vec<String>,
}

/// Every user account (not the service accounts).
#[derive(Debug, Clone, Serialize)]
pub struct UserList {
    /// Sorted by uid.
    pub users: Vec<UserSummary>,
}

/// The users as a table.
impl std::fmt::Display for UserList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<Vec<String>> = (self.users.iter())
            .map(|u| {
                let groups = if u.groups.is_empty() {
                    "-".into()
                } else {
                    u.groups.join(", ")
                };
                vec![
                    u.uid.clone(),
                    u.provider_type.clone(),
                    groups,
                    u.description.clone(),
                ]
            })
            .collect();
        let header = ["UID", "PROVIDER", "GROUPS", "DESCRIPTION"];
        f.write_str(&crate::text::table(&header, &rows))
    }
}

/// Lists the users with their groups (each user's read at most 16 at a time).
pub async fn list_users(clients: &Clients) -> Result<UserList> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    let users = clients.iam.users().await.context("list the users")?;
    let mut listed: Vec<UserSummary> = stream::iter(users.into_iter().filter(|u| !u.is_service))
        .map(|user| async move {
            let uid = Uid::new(&user.uid)?;
            let groups = (clients.iam.user(&uid).groups().await)
                .context(format!("read the groups of `{uid}`"))?;
            let mut groups: Vec<String> = groups.into_iter().map(|m| m.group.gid).collect();
            groups.sort();
            let provider_type = match user.provider_type.as_str() {
                "" => "internal".to_owned(),
                other => other.to_owned(),
            };
            Ok::<_, Error>(UserSummary {
                uid: user.uid,
                description: user.description,
                provider_type,
                groups,
            })
        })
        .buffer_unordered(crate::access::READ_CONCURRENCY)
        .try_collect()
        .await?;
    listed.sort_by(|a, b| a.uid.cmp(&b.uid));
    Ok(UserList { users: listed })
}

/// Lists the service accounts and, with `login_secrets`, the secrets that hold the login
/// credential of each (every secret the token may read is read once for this).
pub async fn list(clients: &Clients, login_secrets: bool) -> Result<AccountList> {
    let (accounts, found) = tokio::join!(clients.iam.service_accounts(), async {
        match login_secrets {
            true => find_login_secrets(clients).await.map(Some),
            false => Ok(None),
        }
    });
    let mut accounts = accounts.context("list the service accounts")?;
    let found = found?;
    accounts.sort_by(|a, b| a.uid.cmp(&b.uid));
    let unreadable_secrets = found.as_ref().map_or(0, |(_, n)| *n);
    let service_accounts = accounts
        .into_iter()
        .map(|user| AccountSummary {
            login_secrets: found
                .as_ref()
                .map(|(owners, _)| owners.get(&user.uid).cloned().unwrap_or_default()),
            uid: user.uid,
            description: user.description,
        })
        .collect();
    Ok(AccountList {
        service_accounts,
        unreadable_secrets,
    })
}

/// A service account to delete.
#[derive(Debug, Clone)]
pub struct Deletion {
    pub uid: Uid,
    /// A user account (`user delete`), not a service account: no login secret is looked for.
    pub user: bool,
    /// Also revoke its grants and delete its login secrets; without it, either refuses.
    pub cascade: bool,
    /// Read and plan only.
    pub dry_run: bool,
    /// The plan a person confirmed: the run changes nothing if the cluster moved since.
    pub confirmed: Option<crate::Confirmed>,
}

/// What deleting an account did, or would do.
#[derive(Debug, Clone, Serialize)]
pub struct DeletionReport {
    pub uid: String,
    /// `user` or `service_account`.
    pub principal_type: crate::PrincipalType,
    pub dry_run: bool,
    pub result: Status,
    /// The grants revoked, the login secrets deleted, then the account.
    pub steps: Vec<Step>,
    /// The groups it belonged to; the memberships go with the account.
    pub groups: Vec<String>,
    /// How many secrets this token could not read while looking for login secrets.
    pub unreadable_secrets: usize,
}

/// What `service-account create` made, or found in place.
impl std::fmt::Display for AccountReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match self.result {
            Status::Unchanged => "unchanged: the key file holds the key of",
            _ => "created",
        };
        write!(f, "{verb} service account {}", self.uid)?;
        write!(f, "\nprivate key: {} (mode 0600)", self.private_key_file)?;
        if let Some(public) = &self.public_key_file {
            write!(f, "\npublic key: {public}")?;
        }
        if let Some(path) = &self.secret {
            write!(f, "\nlogin secret: {path}")?;
        }
        Ok(())
    }
}

/// The accounts as a table.
impl std::fmt::Display for AccountList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<Vec<String>> = (self.service_accounts.iter())
            .map(|a| {
                let secrets = match &a.login_secrets {
                    None => "(not looked for)".to_owned(),
                    Some(paths) if paths.is_empty() => "-".to_owned(),
                    Some(paths) => paths.join(", "),
                };
                vec![a.uid.clone(), secrets, a.description.clone()]
            })
            .collect();
        let header = ["UID", "LOGIN SECRETS", "DESCRIPTION"];
        f.write_str(&crate::text::table(&header, &rows))
    }
}

/// What a deletion did, or would do.
impl std::fmt::Display for DeletionReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let groups = match self.groups.as_slice() {
            [] => String::new(),
            groups => format!("; it was a member of {}", groups.join(", ")),
        };
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let kind = self.principal_type.as_str().replace('_', " ");
        write!(f, "{verb} the {kind} {}{groups}", self.uid)
    }
}

/// Deletes a service account. Its direct grants and the login secrets that hold its key would
/// be left behind, so without `cascade` their presence is refused (a conflict naming them);
/// with it they are revoked and deleted first, and if any step fails, everything done is
/// taken back (the grants granted again, the secrets restored, the account created again with
/// its key).
pub async fn delete(
    clients: &Clients,
    job: &Deletion,
    reporter: &dyn Reporter,
) -> crate::RunResult<DeletionReport> {
    let mut report = DeletionReport {
        uid: job.uid.to_string(),
        principal_type: crate::PrincipalType::of_user(!job.user),
        dry_run: job.dry_run,
        result: Status::Unchanged,
        steps: Vec::new(),
        groups: Vec::new(),
        unreadable_secrets: 0,
    };
    let result = delete_steps(clients, job, reporter, &mut report).await;
    report.result = Status::of(&report.steps, result.is_err(), job.dry_run);
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(crate::Failed { report, error }),
    }
}

async fn delete_steps(
    clients: &Clients,
    job: &Deletion,
    reporter: &dyn Reporter,
    report: &mut DeletionReport,
) -> Result<()> {
    use crate::plan::{self, Task, Write};
    use crate::report::Outcome;
    use dcos_iam_client::{Principal, Rid};

    let uid = &job.uid;
    let user = clients.iam.user(uid);
    // A user has no login secret to look for.
    let (account, permissions, groups, found) =
        tokio::join!(user.get_opt(), user.permissions(), user.groups(), async {
            match job.user {
                true => Ok(Default::default()),
                false => find_login_secrets(clients).await,
            }
        });
    let kind = report.principal_type.as_str().replace('_', " ");
    let Some(account) = account.context(format!("read the account `{uid}`"))? else {
        return Err(Error::not_found(format!(
            "the {kind} `{uid}` does not exist; nothing was changed"
        ))
        .with_remedy(Remedy::AccountGone { uid: uid.clone() }));
    };
    if account.is_service == job.user {
        let other = crate::PrincipalType::of_user(account.is_service)
            .as_str()
            .replace('_', " ");
        return Err(Error::invalid(format!(
            "`{uid}` is a {other}, not a {kind}; nothing was changed"
        )));
    }
    let permissions = permissions.context(format!("read the permissions of `{uid}`"))?;
    let groups = groups.context(format!("read the groups of `{uid}`"))?;
    let (owners, unreadable) = found?;
    report.groups = groups.into_iter().map(|m| m.group.gid).collect();
    report.unreadable_secrets = unreadable;
    let grants: Vec<(Rid, Action)> = permissions
        .direct
        .iter()
        .flat_map(|held| {
            let rid = Rid::new(&held.rid).ok();
            held.actions
                .iter()
                .filter_map(move |a| Some((rid.clone()?, a.action()?)))
        })
        .collect();
    let secrets: Vec<SecretPath> = owners
        .get(uid.as_str())
        .into_iter()
        .flatten()
        .filter_map(|p| SecretPath::new(p).ok())
        .collect();

    if !job.cascade && (!grants.is_empty() || !secrets.is_empty()) {
        let mut left = Vec::new();
        if !grants.is_empty() {
            let names: Vec<String> = grants
                .iter()
                .map(|(rid, a)| format!("{a} on {rid}"))
                .collect();
            left.push(format!("its grants ({})", names.join(", ")));
        }
        if !secrets.is_empty() {
            let names: Vec<String> = secrets.iter().map(|p| format!("`{p}`")).collect();
            left.push(format!("its login secrets ({})", names.join(", ")));
        }
        return Err(Error::conflict(format!(
            "deleting `{uid}` would leave {} behind; nothing was changed",
            left.join(" and ")
        ))
        .with_remedy(Remedy::Cascade));
    }

    let principal = Principal::User(uid.clone());
    let values: Vec<Option<SecretValue>> =
        futures::future::try_join_all(secrets.iter().map(|p| clients.secret_value(p)))
            .await
            .context("read the login secrets")?;
    let mut tasks = Vec::new();
    for (rid, action) in &grants {
        let mut step = Step::grant(rid, action, uid);
        step.outcome = Outcome::planned(Outcome::WouldRevoke, job.dry_run);
        let write = Write::Revoke {
            rid: rid.clone(),
            principal: principal.clone(),
            action: *action,
            undoable: true,
        };
        tasks.push(Task::write(step, 0, write));
    }
    for (path, value) in secrets.iter().zip(values) {
        let mut step = Step::secret(path, Outcome::planned(Outcome::WouldDelete, job.dry_run));
        step.notes.push(format!("the login secret of `{uid}`"));
        let write = Write::DeleteSecret {
            path: path.clone(),
            before: value,
        };
        tasks.push(Task::write(step, 1, write));
    }
    let step = Step::new(
        StepKind::Account,
        uid,
        Outcome::planned(Outcome::WouldDelete, job.dry_run),
    );
    let write = Write::DeleteAccount {
        uid: uid.clone(),
        description: account.description.clone(),
        public_key_pem: account.public_key.clone().unwrap_or_default(),
        groups: report
            .groups
            .iter()
            .filter_map(|g| dcos_iam_client::Gid::new(g).ok())
            .collect(),
    };
    tasks.push(Task::write(step, 2, write));
    if job.dry_run {
        report.steps = plan::steps(tasks);
        return Ok(());
    }
    plan::check_confirmed(job.confirmed.as_ref(), tasks.iter().map(|t| &t.step))?;
    let result = plan::run(clients, &mut tasks, reporter).await;
    let result = match result {
        Ok(()) => Ok(()),
        Err(error) => {
            // The account (the last task) first: the grants and memberships to restore need
            // it back.
            let split = tasks.len().saturating_sub(1);
            let (others, account_task) = tasks.split_at_mut(split);
            let mut undo = plan::undo(clients, account_task).await;
            let rest = plan::undo(clients, others).await;
            undo.undone.extend(rest.undone);
            undo.left.extend(rest.left);
            Err(error.with_undo(undo))
        }
    };
    report.steps = plan::steps(tasks);
    result
}
