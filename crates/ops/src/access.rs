//! Who can read a secret's value, and who can see its name: users, service accounts and
//! groups (members expanded), direct or through a group, by exact resource id, ancestor list
//! permission, `/*` wildcard, or as superusers.

use std::collections::{BTreeMap, BTreeSet};

use dcos_iam_client::{
    AclHolders, Action, ActionEntry, Gid, Membership, Rid, SecretCoverage, SecretScope, User,
};
use dcos_secrets_client::SecretPath;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::error::{Context, Result};
use crate::text::table;
use crate::{Clients, PrincipalType};

/// How a permission reaches a secret: the same fields, in the same words, in every report
/// (`access PATH`, `access --user`, `audit`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Way {
    /// `direct`, or `group` when it comes through a group.
    pub via: &'static str,
    /// The group the permission comes through, for `via: group`.
    pub group: Option<String>,
    /// The resource id that gives it (none for members of `superusers`).
    pub rid: Option<String>,
    /// The action held on `rid`.
    pub action: Option<String>,
    /// How `rid` reaches the secret: `exact`, `ancestor`, `root`, `wildcard` or `superuser`.
    pub reach: &'static str,
}

impl Way {
    /// In words: `direct, exact dcos:secrets:default:x read`, `group data, wildcard ...`,
    /// `group superusers, superuser`.
    pub fn describe(&self) -> String {
        let via = match &self.group {
            Some(group) => format!("group {group}"),
            None => self.via.to_owned(),
        };
        match (&self.rid, &self.action) {
            (Some(rid), Some(action)) => format!("{via}, {} {rid} {action}", self.reach),
            _ => format!("{via}, {}", self.reach),
        }
    }

    /// Held directly (no `group`), or through `group`.
    fn new(
        group: Option<String>,
        rid: Option<String>,
        action: Option<String>,
        reach: &'static str,
    ) -> Self {
        Way {
            via: if group.is_some() { "group" } else { "direct" },
            group,
            rid,
            action,
            reach,
        }
    }
}

/// One way a principal reaches a secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccessEntry {
    pub principal: String,
    pub principal_type: PrincipalType,
    #[serde(flatten)]
    pub way: Way,
}

/// Who can read a secret, and who can see its name.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    pub path: String,
    /// Who can read the value.
    pub value_readers: Vec<AccessEntry>,
    /// Who can see the name when listing.
    pub name_listers: Vec<AccessEntry>,
    /// The Marathon apps and pods that use it (none when Marathon could not be read).
    pub consumers: Vec<crate::consumers::Consumer>,
    /// Why Marathon could not be read, when it could not: then who uses it is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumers_unknown: Option<String>,
}

impl AccessReport {
    /// Fills in who uses the secret, from Marathon's apps and pods as read.
    pub(crate) fn used_by(
        &mut self,
        workloads: &std::result::Result<crate::consumers::Workloads, crate::consumers::Unread>,
    ) {
        match workloads {
            Ok(workloads) => self.consumers = workloads.of(&self.path),
            Err(why) => self.consumers_unknown = Some(why.to_string()),
        }
    }
}

/// The built-in group whose members may do anything.
pub(crate) const SUPERUSERS: &str = "superusers";
/// Any action on this resource makes a principal a superuser.
pub(crate) const SUPERUSER_RID: &str = "dcos:superuser";

/// What one resource id gives, when it matters for the secret.
#[derive(Debug, Clone, Copy)]
enum Gives {
    Coverage(SecretCoverage),
    Superuser,
}

/// The strongest action in `actions` that gives `wanted`, by name.
fn allowing(actions: &[ActionEntry], wanted: Action) -> Option<String> {
    actions
        .iter()
        .filter_map(ActionEntry::action)
        .find(|a| a.allows(wanted))
        .map(|a| a.to_string())
}

/// Everything `access` learned, before it is laid out.
#[derive(Debug, Default)]
struct Findings {
    value: BTreeSet<AccessEntry>,
    list: BTreeSet<AccessEntry>,
}

impl Findings {
    fn add(&mut self, scope: Option<SecretScope>, entry: AccessEntry) {
        match scope {
            Some(SecretScope::Value) => {
                self.value.insert(entry);
            }
            Some(SecretScope::List) => {
                self.list.insert(entry);
            }
            // A superuser reaches both.
            None => {
                self.value.insert(entry.clone());
                self.list.insert(entry);
            }
        }
    }
}

/// One ACL that may reach secrets, with its holders, as read from the cluster.
#[derive(Debug, Clone)]
pub(crate) struct AclRead {
    pub rid: Rid,
    pub holders: AclHolders,
}

/// Who is a service account, and the members of the groups that matter (the superusers'
/// included).
#[derive(Debug, Default)]
pub(crate) struct Directory {
    is_service: BTreeMap<String, bool>,
    /// By gid: each member's uid and whether it is a service account.
    members: BTreeMap<String, Vec<(String, bool)>>,
}

impl Directory {
    pub(crate) fn new<'a>(
        users: &[User],
        service_accounts: &[User],
        groups: impl IntoIterator<Item = (&'a Gid, Vec<Membership>)>,
    ) -> Self {
        Directory {
            is_service: users
                .iter()
                .chain(service_accounts)
                .map(|u| (u.uid.clone(), u.is_service))
                .collect(),
            members: groups
                .into_iter()
                .map(|(gid, members)| {
                    let members = members
                        .into_iter()
                        .map(|m| (m.user.uid, m.user.is_service))
                        .collect();
                    (gid.to_string(), members)
                })
                .collect(),
        }
    }

    /// The type of a user id (a user unless known to be a service account).
    pub(crate) fn type_of(&self, uid: &str) -> PrincipalType {
        PrincipalType::of_user(self.is_service.get(uid).copied().unwrap_or(false))
    }
}

/// Requests of a read of many ACLs or groups in flight at once.
pub(crate) const READ_CONCURRENCY: usize = 16;

/// The holders of each of `rids`, read at most [`READ_CONCURRENCY`] at a time.
pub(crate) async fn read_acls(clients: &Clients, rids: Vec<Rid>) -> Result<Vec<AclRead>> {
    let iam = &clients.iam;
    let holders: Vec<AclHolders> = stream::iter(rids.iter())
        .map(|rid| async move { iam.acl(rid).holders().await })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
        .context("reading ACL permissions")?;
    Ok(rids
        .into_iter()
        .zip(holders)
        .map(|(rid, holders)| AclRead { rid, holders })
        .collect())
}

/// Who is a service account, and the members of `gids`, read at most [`READ_CONCURRENCY`]
/// groups at a time.
pub(crate) async fn read_directory(
    clients: &Clients,
    users: &[User],
    service_accounts: &[User],
    gids: Vec<Gid>,
) -> Result<Directory> {
    let iam = &clients.iam;
    let members: Vec<Vec<Membership>> = stream::iter(gids.iter())
        .map(|gid| async move { iam.group(gid).members().await })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
        .context("reading group members")?;
    Ok(Directory::new(
        users,
        service_accounts,
        gids.iter().zip(members),
    ))
}

/// Who can read the value of `path`, and who can see its name.
/// Needs permission to read the IAM API.
pub async fn report(clients: &Clients, path: &SecretPath) -> Result<AccessReport> {
    let iam = &clients.iam;
    let (read, workloads) = tokio::join!(
        async { tokio::try_join!(iam.acls(), iam.users(), iam.service_accounts()) },
        crate::consumers::read(clients),
    );
    let (acls, users, service_accounts) = read.context("reading the IAM API")?;
    let relevant: Vec<Rid> = acls
        .iter()
        .filter_map(|acl| Rid::new(&acl.rid).ok())
        .filter(|rid| rid.as_str() == SUPERUSER_RID || rid.secret_coverage(path.as_str()).is_some())
        .collect();
    let acls = read_acls(clients, relevant).await?;
    // The groups to expand: those holding something here, and the superusers.
    let mut gids: BTreeSet<&str> = acls
        .iter()
        .flat_map(|a| a.holders.groups.iter().map(|g| g.gid.as_str()))
        .collect();
    gids.insert(SUPERUSERS);
    let gids: Vec<Gid> = gids.into_iter().filter_map(|g| Gid::new(g).ok()).collect();
    let directory = read_directory(clients, &users, &service_accounts, gids).await?;
    let candidates: Vec<&AclRead> = acls.iter().collect();
    let mut report = compute(path.as_str(), &candidates, &directory);
    report.used_by(&workloads);
    Ok(report)
}

/// The access document of `path` from the ACLs that may reach it (others are skipped), their
/// holders, and the group members: `report` for one secret, `audit` for every one.
pub(crate) fn compute(path: &str, acls: &[&AclRead], directory: &Directory) -> AccessReport {
    let mut findings = Findings::default();
    for acl in acls {
        let rid = &acl.rid;
        let gives = if rid.as_str() == SUPERUSER_RID {
            Gives::Superuser
        } else {
            match rid.secret_coverage(path) {
                Some(coverage) => Gives::Coverage(coverage),
                None => continue,
            }
        };
        let (scope, reach) = match gives {
            Gives::Coverage(c) => (Some(c.scope), c.reach.as_str()),
            Gives::Superuser => (None, "superuser"),
        };
        let held = |actions: &[ActionEntry]| match gives {
            // Any action on dcos:superuser makes a superuser.
            Gives::Superuser => actions.first().map(|a| a.name.clone()),
            Gives::Coverage(_) => allowing(actions, Action::Read),
        };
        for user in &acl.holders.users {
            if let Some(action) = held(&user.actions) {
                findings.add(
                    scope,
                    AccessEntry {
                        principal: user.uid.clone(),
                        principal_type: directory.type_of(&user.uid),
                        way: Way::new(None, Some(rid.to_string()), Some(action), reach),
                    },
                );
            }
        }
        for group in &acl.holders.groups {
            let Some(action) = held(&group.actions) else {
                continue;
            };
            let rid = Some(rid.to_string());
            // The group's members reach it through the group.
            for (uid, service) in directory.members.get(&group.gid).into_iter().flatten() {
                let way = Way::new(
                    Some(group.gid.clone()),
                    rid.clone(),
                    Some(action.clone()),
                    reach,
                );
                findings.add(
                    scope,
                    AccessEntry {
                        principal: uid.clone(),
                        principal_type: PrincipalType::of_user(*service),
                        way,
                    },
                );
            }
            findings.add(
                scope,
                AccessEntry {
                    principal: group.gid.clone(),
                    principal_type: PrincipalType::Group,
                    way: Way::new(None, rid, Some(action), reach),
                },
            );
        }
    }
    for (uid, service) in directory.members.get(SUPERUSERS).into_iter().flatten() {
        findings.add(
            None,
            AccessEntry {
                principal: uid.clone(),
                principal_type: PrincipalType::of_user(*service),
                way: Way::new(Some(SUPERUSERS.to_owned()), None, None, "superuser"),
            },
        );
    }
    AccessReport {
        path: path.to_owned(),
        value_readers: findings.value.into_iter().collect(),
        name_listers: findings.list.into_iter().collect(),
        consumers: Vec::new(),
        consumers_unknown: None,
    }
}

/// One secret a principal reaches, and how: the fields of an [`AccessEntry`], with the
/// secret's path in place of the principal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PathEntry {
    pub path: String,
    #[serde(flatten)]
    pub way: Way,
}

/// What one principal can reach: every existing secret whose value it can read, and every one
/// whose name it can see, each with every way it gets there.
#[derive(Debug, Clone, Serialize)]
pub struct PrincipalAccess {
    pub principal: String,
    pub principal_type: PrincipalType,
    /// Sorted by path.
    pub readable: Vec<PathEntry>,
    /// Sorted by path.
    pub listable: Vec<PathEntry>,
}

/// A permission a principal holds, and where it comes from.
struct Held {
    rid: Rid,
    actions: Vec<ActionEntry>,
    /// The group it comes through; `None` when held directly.
    group: Option<String>,
}

/// Every existing secret `principal` can read the value of, and every one whose name it can
/// see (at or below `under`, when given): a user's group memberships are expanded, and a
/// superuser (a member of `superusers`, or a holder of `dcos:superuser`) reaches everything.
pub async fn principal_report(
    clients: &Clients,
    principal: &dcos_iam_client::Principal,
    under: Option<&SecretPath>,
) -> Result<PrincipalAccess> {
    use dcos_iam_client::Principal;
    let principal_type = crate::grants::check_exists(clients, principal).await?;
    let iam = &clients.iam;
    let (held, superuser_via) = match principal {
        Principal::User(uid) => {
            let user = iam.user(uid);
            let (permissions, memberships) = tokio::try_join!(user.permissions(), user.groups())
                .context(format!("reading the permissions of `{uid}`"))?;
            let mut held: Vec<Held> = Vec::new();
            for p in permissions.direct {
                if let Ok(rid) = Rid::new(&p.rid) {
                    held.push(Held {
                        rid,
                        actions: p.actions,
                        group: None,
                    });
                }
            }
            for p in permissions.groups {
                if let Ok(rid) = Rid::new(&p.rid) {
                    held.push(Held {
                        rid,
                        actions: p.actions,
                        group: Some(p.gid),
                    });
                }
            }
            let member_of_superusers = memberships.iter().any(|m| m.group.gid == SUPERUSERS);
            let via = member_of_superusers
                .then(|| Way::new(Some(SUPERUSERS.to_owned()), None, None, "superuser"));
            (held, via)
        }
        Principal::Group(gid) => {
            let permissions = iam
                .group(gid)
                .permissions()
                .await
                .context(format!("reading the permissions of group `{gid}`"))?;
            let held = permissions
                .into_iter()
                .filter_map(|p| {
                    Some(Held {
                        rid: Rid::new(&p.rid).ok()?,
                        actions: p.actions,
                        group: None,
                    })
                })
                .collect();
            let via = (gid.as_str() == SUPERUSERS).then(|| Way::new(None, None, None, "superuser"));
            (held, via)
        }
    };
    // Any action on dcos:superuser makes a superuser, directly or through a group.
    let superuser_via = superuser_via.or_else(|| {
        held.iter()
            .find(|h| h.rid.as_str() == SUPERUSER_RID && !h.actions.is_empty())
            .map(|h| {
                let action = h.actions.first().map(|a| a.name.clone());
                Way::new(
                    h.group.clone(),
                    Some(SUPERUSER_RID.to_owned()),
                    action,
                    "superuser",
                )
            })
    });

    let paths = clients
        .secrets
        .list(under)
        .await
        .context("listing the secrets")?;
    let prefix = under.map(|u| format!("{u}/"));
    let mut readable = BTreeSet::new();
    let mut listable = BTreeSet::new();
    for relative in paths {
        let path = match &prefix {
            Some(prefix) => format!("{prefix}{relative}"),
            None => relative,
        };
        if let Some(way) = &superuser_via {
            let entry = PathEntry {
                path: path.clone(),
                way: way.clone(),
            };
            readable.insert(entry.clone());
            listable.insert(entry);
        }
        for h in &held {
            let Some(coverage) = h.rid.secret_coverage(&path) else {
                continue;
            };
            let Some(action) = allowing(&h.actions, Action::Read) else {
                continue;
            };
            let way = Way::new(
                h.group.clone(),
                Some(h.rid.to_string()),
                Some(action),
                coverage.reach.as_str(),
            );
            let entry = PathEntry {
                path: path.clone(),
                way,
            };
            match coverage.scope {
                SecretScope::Value => readable.insert(entry),
                SecretScope::List => listable.insert(entry),
            };
        }
    }
    Ok(PrincipalAccess {
        principal: match principal {
            Principal::User(uid) => uid.to_string(),
            Principal::Group(gid) => gid.to_string(),
        },
        principal_type,
        readable: readable.into_iter().collect(),
        listable: listable.into_iter().collect(),
    })
}

/// A principal's report as two tables.
impl std::fmt::Display for PrincipalAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = self;
        let rows = |entries: &[PathEntry]| -> Vec<Vec<String>> {
            entries
                .iter()
                .map(|e| [vec![e.path.clone()], columns(&e.way)].concat())
                .collect()
        };
        let header = ["SECRET", "VIA", "REACH", "PERMISSION"];
        write!(
            f,
            "{} {} can read the values of:\n{}\n{} can see the names of:\n{}",
            report.principal_type.as_str().replace('_', " "),
            report.principal,
            table(&header, &rows(&report.readable)),
            report.principal,
            table(&header, &rows(&report.listable)),
        )
    }
}

/// The VIA, REACH and PERMISSION columns: `group data`, `wildcard`,
/// `dcos:secrets:default:team/* read` (or the superusers' membership).
fn columns(way: &Way) -> Vec<String> {
    let via = match &way.group {
        Some(g) => format!("group {g}"),
        None => way.via.to_owned(),
    };
    let permission = match (&way.rid, &way.action) {
        (Some(rid), Some(action)) => format!("{rid} {action}"),
        _ => "(member of superusers)".to_owned(),
    };
    vec![via, way.reach.to_owned(), permission]
}

/// The report as two tables.
impl std::fmt::Display for AccessReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let report = self;
        let rows = |entries: &[AccessEntry]| -> Vec<Vec<String>> {
            entries
                .iter()
                .map(|e| {
                    let who = vec![
                        e.principal.clone(),
                        e.principal_type.as_str().replace('_', " "),
                    ];
                    [who, columns(&e.way)].concat()
                })
                .collect()
        };
        let header = ["PRINCIPAL", "TYPE", "VIA", "REACH", "PERMISSION"];
        write!(
            f,
            "Can read the value of {path}:\n{}\nCan see the name {path} when listing:\n{}",
            table(&header, &rows(&report.value_readers)),
            table(&header, &rows(&report.name_listers)),
            path = report.path
        )?;
        match &report.consumers_unknown {
            Some(why) => write!(
                f,
                "\nUsed by: unknown, Marathon could not be read ({why})\n"
            ),
            None => write!(
                f,
                "\nUsed by:\n{}",
                crate::consumers::table(&report.consumers)
            ),
        }
    }
}
