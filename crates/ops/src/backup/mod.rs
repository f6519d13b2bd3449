//! Backups of the secret store and IAM, and the ways back: restore, diff, and an export to
//! Kubernetes.
//!
//! A backup is one file encrypted with [age](https://age-encryption.org): a passphrase, or
//! X25519 and SSH recipients. Inside, one JSON record per line: a header, each secret (its
//! bytes in base64), each user, service account and group with its members, each ACL with its
//! grants, and a closing record that counts them, so that a file cut short is refused even
//! where the encryption would allow it. Passwords are never in it: IAM cannot export them.
//!
//! [`backup()`] streams: values are read a few at a time and written as they arrive, so its
//! memory does not grow with the size of the store. [`read`] checks the whole file before it
//! returns, so that a damaged file or a wrong key is refused before a restore sends anything.

mod diff;
mod file;
pub mod kubernetes;
mod migrate;
mod restore;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use dcos_iam_client::{Gid, Rid, User};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};

pub use diff::{Diff, DiffState, Difference, diff};
pub use file::{Key, Source, Unlock, read};
pub use migrate::from_dcos_migrate;
pub use restore::{OnConflict, Restore, RestoreReport, restore};

use crate::error::{Context, Error, Result};
use crate::{Clients, Reporter};

/// Requests in flight at once while a backup, restore or diff reads secrets.
pub const CONCURRENCY: usize = 16;

/// What a restore or diff takes of a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Only {
    /// The secrets.
    Secrets,
    /// Users, service accounts, groups, ACLs and grants.
    Iam,
}

/// Which part of a backup or cluster a restore or diff looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only this part; both when `None`.
    pub only: Option<Only>,
    /// Only the secrets at and below this path.
    pub under: Option<SecretPath>,
}

impl Scope {
    fn secrets(&self) -> bool {
        self.only != Some(Only::Iam)
    }

    fn iam(&self) -> bool {
        self.only != Some(Only::Secrets)
    }

    fn holds(&self, path: &str) -> bool {
        self.secrets() && self.under.as_ref().is_none_or(|u| is_at_or_below(path, u))
    }
}

fn is_at_or_below(path: &str, under: &SecretPath) -> bool {
    path.strip_prefix(under.as_str())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What kind of account a user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A local user, who logs in with a password.
    User,
    /// A service account, which logs in with its key.
    Service,
    /// A user of an external identity provider (LDAP, OIDC, SAML).
    Remote,
}

/// A user or service account as saved: never a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedUser {
    pub uid: String,
    #[serde(default)]
    pub description: String,
    pub kind: AccountKind,
    /// A service account's public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// A remote user's provider type (`ldap`, `oidc`, `saml`) and provider id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
}

impl SavedUser {
    fn of(user: User) -> Self {
        let remote =
            user.is_remote || !(user.provider_type.is_empty() || user.provider_type == "internal");
        let kind = match (user.is_service, remote) {
            (true, _) => AccountKind::Service,
            (false, true) => AccountKind::Remote,
            (false, false) => AccountKind::User,
        };
        Self {
            uid: user.uid,
            description: user.description,
            kind,
            public_key: user.public_key.filter(|_| kind == AccountKind::Service),
            provider_type: (kind == AccountKind::Remote).then_some(user.provider_type),
            provider_id: (kind == AccountKind::Remote).then_some(user.provider_id),
        }
    }
}

/// A group and its members (users and service accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedGroup {
    pub gid: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub members: BTreeSet<String>,
}

/// An ACL with every grant on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAcl {
    pub rid: String,
    #[serde(default)]
    pub description: String,
    /// Actions granted to users and service accounts, by uid.
    #[serde(default)]
    pub users: BTreeMap<String, BTreeSet<String>>,
    /// Actions granted to groups, by gid.
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

/// The secrets and IAM of a cluster: read from a backup, or from the cluster itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// Values by path; `Debug` shows only their sizes.
    pub secrets: BTreeMap<String, SecretValue>,
    pub users: BTreeMap<String, SavedUser>,
    pub groups: BTreeMap<String, SavedGroup>,
    pub acls: BTreeMap<String, SavedAcl>,
    /// For a backup taken with `--under`: the folder its secrets were limited to.
    pub under: Option<SecretPath>,
}

/// How much a backup holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub secrets: usize,
    pub users: usize,
    pub service_accounts: usize,
    pub remote_users: usize,
    pub groups: usize,
    pub memberships: usize,
    pub acls: usize,
    pub grants: usize,
}

impl Counts {
    fn add_user(&mut self, user: &SavedUser) {
        match user.kind {
            AccountKind::User => self.users += 1,
            AccountKind::Service => self.service_accounts += 1,
            AccountKind::Remote => self.remote_users += 1,
        }
    }

    fn add_group(&mut self, group: &SavedGroup) {
        self.groups += 1;
        self.memberships += group.members.len();
    }

    fn add_acl(&mut self, acl: &SavedAcl) {
        self.acls += 1;
        self.grants += (acl.users.values().chain(acl.groups.values()))
            .map(BTreeSet::len)
            .sum::<usize>();
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::text::count;
        write!(
            f,
            "{}, {}, {}, {}, {} with {}, {} with {}",
            count(self.secrets, "secret", "secrets"),
            count(self.users, "user", "users"),
            count(self.service_accounts, "service account", "service accounts"),
            count(self.remote_users, "remote user", "remote users"),
            count(self.groups, "group", "groups"),
            count(self.memberships, "membership", "memberships"),
            count(self.acls, "ACL", "ACLs"),
            count(self.grants, "grant", "grants"),
        )
    }
}

impl Contents {
    /// How much it holds.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts {
            secrets: self.secrets.len(),
            ..Counts::default()
        };
        self.users.values().for_each(|u| counts.add_user(u));
        self.groups.values().for_each(|g| counts.add_group(g));
        self.acls.values().for_each(|a| counts.add_acl(a));
        counts
    }

    /// What of it `scope` takes.
    pub fn scoped(mut self, scope: &Scope) -> Self {
        self.secrets.retain(|path, _| scope.holds(path));
        if !scope.iam() {
            self.users.clear();
            self.groups.clear();
            self.acls.clear();
        }
        self
    }

    /// The cluster's secrets and IAM that `scope` takes, read at most [`CONCURRENCY`]
    /// requests at a time.
    pub async fn of_cluster(clients: &Clients, scope: &Scope) -> Result<Self> {
        let mut contents = Contents::default();
        if scope.secrets() {
            let paths = secret_paths(clients, scope.under.as_ref()).await?;
            let mut values = read_secrets(clients, paths);
            while let Some((path, value)) = values.try_next().await? {
                if let Some(value) = value {
                    contents.secrets.insert(path.as_str().to_owned(), value);
                }
            }
        }
        if scope.iam() {
            let iam = read_iam(clients).await?;
            contents.users = iam.users;
            contents.groups = iam.groups;
            contents.acls = iam.acls;
        }
        Ok(contents)
    }
}

/// Users, groups and ACLs of a cluster, by id.
pub(crate) struct Iam {
    pub users: BTreeMap<String, SavedUser>,
    pub groups: BTreeMap<String, SavedGroup>,
    pub acls: BTreeMap<String, SavedAcl>,
}

/// Every user, service account, group with its members, and ACL with its grants.
pub(crate) async fn read_iam(clients: &Clients) -> Result<Iam> {
    let iam = &clients.iam;
    let (users, services, groups, acls) = tokio::try_join!(
        iam.users(),
        iam.service_accounts(),
        iam.groups(),
        iam.acls()
    )
    .context("read users, groups and ACLs")?;
    let users = (users.into_iter().chain(services))
        .map(|u| (u.uid.clone(), SavedUser::of(u)))
        .collect();
    let groups = stream::iter(groups)
        .map(|group| async move {
            let gid = Gid::new(&group.gid)?;
            let members = iam.group(&gid).members().await?;
            Ok::<_, Error>(SavedGroup {
                members: members.into_iter().map(|m| m.user.uid).collect(),
                gid: group.gid,
                description: group.description,
            })
        })
        .buffered(CONCURRENCY)
        .map_ok(|g| (g.gid.clone(), g))
        .try_collect()
        .await
        .context("read group members")?;
    let acls = stream::iter(acls)
        .map(|acl| async move {
            let rid = Rid::new(&acl.rid)?;
            let holders = iam.acl(&rid).holders().await?;
            let actions = |held: Vec<dcos_iam_client::ActionEntry>| {
                held.into_iter().map(|a| a.name).collect()
            };
            Ok::<_, Error>(SavedAcl {
                users: (holders.users.into_iter())
                    .map(|u| (u.uid, actions(u.actions)))
                    .collect(),
                groups: (holders.groups.into_iter())
                    .map(|g| (g.gid, actions(g.actions)))
                    .collect(),
                rid: acl.rid,
                description: acl.description,
            })
        })
        .buffered(CONCURRENCY)
        .map_ok(|a| (a.rid.clone(), a))
        .try_collect()
        .await
        .context("read ACL permissions")?;
    Ok(Iam {
        users,
        groups,
        acls,
    })
}

/// The paths of every secret at and below `under` (all, for `None`).
async fn secret_paths(clients: &Clients, under: Option<&SecretPath>) -> Result<Vec<SecretPath>> {
    let names = clients
        .secrets
        .list(under)
        .await
        .context("list the secrets")?;
    let mut paths = Vec::with_capacity(names.len() + 1);
    // A secret may sit at the path of the folder listed.
    paths.extend(under.cloned());
    for name in names {
        paths.push(match under {
            Some(under) => under.join(&name)?,
            None => SecretPath::new(&name)?,
        });
    }
    Ok(paths)
}

/// The values of `paths`, in order, read [`CONCURRENCY`] at a time; `None` for one that is
/// gone (deleted since it was listed, or `under` itself holding no secret).
fn read_secrets(
    clients: &Clients,
    paths: Vec<SecretPath>,
) -> impl futures::Stream<Item = Result<(SecretPath, Option<SecretValue>)>> + '_ {
    stream::iter(paths)
        .map(move |path| async move {
            let value =
                (clients.secret_value(&path).await).context(format!("read secret `{path}`"))?;
            Ok((path, value))
        })
        .buffered(CONCURRENCY)
}

/// A backup to take.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The file to write; it must not exist.
    pub out: PathBuf,
    /// Only the secrets at and below this path (IAM is always saved whole).
    pub under: Option<SecretPath>,
    /// Whom the file is encrypted for.
    pub key: Key,
    /// The cluster's URL, kept in the file's header.
    pub cluster: String,
}

impl Backup {
    /// A backup of the cluster at `cluster` to `out`, which must not exist yet.
    pub fn new(out: PathBuf, under: Option<SecretPath>, key: Key, cluster: &str) -> Result<Self> {
        crate::files::ensure_absent(&out)?;
        Ok(Self {
            out,
            under,
            key,
            cluster: cluster.to_owned(),
        })
    }
}

/// What a backup saved: counts, and the paths and ids (never a value).
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub file: String,
    pub counts: Counts,
    /// Users with a password on the cluster: a restore cannot give it back.
    pub users_needing_password: usize,
    pub secrets: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub acls: Vec<String>,
}

impl std::fmt::Display for BackupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "saved {} to {}", self.counts, self.file)?;
        if self.users_needing_password > 0 {
            writeln!(
                f,
                "passwords are not in a backup: a restore into another cluster gives {} a \
                 password nobody knows, for an admin to reset",
                crate::text::count(self.users_needing_password, "user", "users")
            )?;
        }
        Ok(())
    }
}

/// Takes a backup: reads the cluster and streams it, encrypted, into a file beside `out`,
/// renamed to `out` (mode 0600) only when complete. `reporter` hears of the secrets as they
/// are saved (`begin`, `advanced`, `end`).
pub async fn backup(
    clients: &Clients,
    job: &Backup,
    reporter: &dyn Reporter,
) -> Result<BackupReport> {
    let mut sink = file::Sink::create(&job.out, &job.key)?;
    sink.header(&job.cluster, job.under.as_ref())?;
    let paths = secret_paths(clients, job.under.as_ref()).await?;
    let iam = read_iam(clients);
    let mut report = BackupReport {
        file: job.out.display().to_string(),
        counts: Counts::default(),
        users_needing_password: 0,
        secrets: Vec::new(),
        users: Vec::new(),
        groups: Vec::new(),
        acls: Vec::new(),
    };
    reporter.begin(paths.len());
    let mut values = read_secrets(clients, paths);
    while let Some((path, value)) = values.try_next().await? {
        reporter.advanced(1);
        if let Some(value) = value {
            sink.secret(path.as_str(), &value)?;
            report.counts.secrets += 1;
            report.secrets.push(path.to_string());
        }
    }
    reporter.end();
    let iam = iam.await?;
    for user in iam.users.values() {
        sink.record(&file::Record::User(user.clone()))?;
        report.counts.add_user(user);
        report.users_needing_password += usize::from(user.kind == AccountKind::User);
        report.users.push(user.uid.clone());
    }
    for group in iam.groups.values() {
        sink.record(&file::Record::Group(group.clone()))?;
        report.counts.add_group(group);
        report.groups.push(group.gid.clone());
    }
    for acl in iam.acls.values() {
        sink.record(&file::Record::Acl(acl.clone()))?;
        report.counts.add_acl(acl);
        report.acls.push(acl.rid.clone());
    }
    sink.finish(report.counts)?;
    Ok(report)
}
