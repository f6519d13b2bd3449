//! `audit`: `access PATH` for every secret, with the Marathon apps and pods that use it, from
//! one consistent read of the cluster, and the findings an auditor looks for. Secret values
//! are read only to recognise login secrets ([`crate::accounts::login_secret`]): each is
//! dropped at once, and only the account a login secret names is kept.

use std::collections::{BTreeSet, HashMap};

use dcos_iam_client::{Gid, Rid};
use dcos_secrets_client::SecretPath;
use serde::Serialize;

pub mod render;

use crate::access::{self, AccessReport, AclRead, Directory, SUPERUSER_RID};
use crate::error::{Context, Result};
use crate::{Clients, PrincipalType};

const VALUE_PREFIX: &str = "dcos:secrets:default:";
const LIST_PREFIX: &str = "dcos:secrets:list:default:";

/// Something an auditor should look at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Nobody but the superusers can read the secret's value and no app or pod uses it:
    /// perhaps an orphan.
    OnlySuperusers { path: String },
    /// An app or pod uses a secret that does not exist: it fails at its next start.
    MissingSecret {
        consumer: crate::consumers::Kind,
        id: String,
        path: String,
    },
    /// An app or pod declares a secret outside its space (the secret's folder is neither its
    /// id nor an ancestor of it): Marathon refuses its next deployment.
    OutOfSpace {
        consumer: crate::consumers::Kind,
        id: String,
        path: String,
    },
    /// The value is readable through a wildcard resource id, which also reaches every secret
    /// created below it later.
    Wildcard {
        path: String,
        rid: String,
        principal: String,
        principal_type: PrincipalType,
    },
    /// A principal holds `full` (read, create, update and delete) on secrets.
    Full {
        rid: String,
        principal: String,
        principal_type: PrincipalType,
    },
    /// A grant on a resource id that names no existing secret (nor, for a list id, a folder
    /// of them): left over from a deleted secret, or a typo.
    DanglingGrant {
        rid: String,
        principal: String,
        principal_type: PrincipalType,
        action: String,
    },
    /// A service account with no login secret: none among the secrets this token can read
    /// (found by their content), and none it cannot read is named after it.
    NoLoginSecret { uid: String },
}

/// Every secret's access, and the findings.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The folder audited; `None` for the whole store.
    pub under: Option<String>,
    /// The access document of each secret, sorted by path, as `access PATH` prints it.
    pub secrets: Vec<AccessReport>,
    pub findings: Vec<Finding>,
    /// Every principal that reaches some secret, sorted by name.
    pub principals: Vec<Principal>,
    /// Why Marathon could not be read, when it could not: then no secret's use is known, and
    /// the findings about apps and pods are missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marathon_unread: Option<String>,
    /// Secrets this token may not read, so not looked at as login secrets.
    pub unreadable_secrets: usize,
}

/// A principal in an audit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Principal {
    pub principal: String,
    pub principal_type: PrincipalType,
}

/// The ACLs that can reach secrets, indexed by the path or folder their id names, so that a
/// secret finds its candidates by a few lookups rather than a scan of every ACL.
#[derive(Default)]
struct Index {
    /// Exact value ids and value wildcards by their folder (`""` for `*`).
    value_exact: HashMap<String, Vec<usize>>,
    value_wild: HashMap<String, Vec<usize>>,
    /// List ids by the path or folder they name (`""` for the root), and list wildcards.
    list: HashMap<String, Vec<usize>>,
    list_wild: HashMap<String, Vec<usize>>,
    /// `dcos:superuser`.
    superuser: Vec<usize>,
}

impl Index {
    fn new(acls: &[AclRead]) -> Self {
        let mut index = Index::default();
        for (i, acl) in acls.iter().enumerate() {
            let rid = acl.rid.as_str();
            if rid == SUPERUSER_RID {
                index.superuser.push(i);
                continue;
            }
            let (exact, wild, pattern) = if let Some(p) = rid.strip_prefix(VALUE_PREFIX) {
                (&mut index.value_exact, &mut index.value_wild, p)
            } else if let Some(p) = rid.strip_prefix(LIST_PREFIX) {
                (&mut index.list, &mut index.list_wild, p)
            } else {
                continue;
            };
            let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
            match pattern.strip_suffix('*') {
                Some(folder) => wild
                    .entry(folder.trim_end_matches('/').to_owned())
                    .or_default()
                    .push(i),
                None => exact
                    .entry(pattern.trim_end_matches('/').to_owned())
                    .or_default()
                    .push(i),
            }
        }
        index
    }

    /// The ACLs that may reach `path`: its own ids, and those of its folders and the root.
    fn candidates(&self, path: &str) -> Vec<usize> {
        let mut found: BTreeSet<usize> = self.superuser.iter().copied().collect();
        let mut add = |map: &HashMap<String, Vec<usize>>, key: &str| {
            if let Some(ids) = map.get(key) {
                found.extend(ids);
            }
        };
        add(&self.value_exact, path);
        add(&self.list, path);
        let mut folder = path;
        loop {
            folder = match folder.rfind('/') {
                Some(i) => &folder[..i],
                None if folder.is_empty() => break,
                None => "",
            };
            add(&self.value_wild, folder);
            add(&self.list_wild, folder);
            add(&self.list, folder);
            if folder.is_empty() {
                break;
            }
        }
        found.into_iter().collect()
    }
}

/// Reads the secret names, every ACL that can reach secrets with its holders, every user,
/// service account and group with its members (all at once, at most 16 requests in flight),
/// then lays out each secret's access and the findings. No secret value is read.
pub async fn audit(clients: &Clients, under: Option<&SecretPath>) -> Result<Audit> {
    let iam = &clients.iam;
    let (read, workloads) = tokio::join!(
        async {
            tokio::try_join!(
                async {
                    clients
                        .secrets
                        .list(under)
                        .await
                        .context("listing the secrets")
                },
                async { iam.acls().await.context("listing the ACLs") },
                async { iam.users().await.context("listing the users") },
                async {
                    iam.service_accounts()
                        .await
                        .context("listing the service accounts")
                },
                async { iam.groups().await.context("listing the groups") },
            )
        },
        crate::consumers::read(clients),
    );
    let (paths, acls, users, service_accounts, groups) = read?;
    let relevant: Vec<Rid> = acls
        .iter()
        .filter(|a| {
            a.rid == SUPERUSER_RID
                || a.rid.starts_with(VALUE_PREFIX)
                || a.rid.starts_with(LIST_PREFIX)
        })
        .filter_map(|a| Rid::new(&a.rid).ok())
        .collect();
    let acls = access::read_acls(clients, relevant).await?;
    // Every group's members: the matrix needs those that hold something, an auditor all.
    let gids: Vec<Gid> = groups
        .iter()
        .filter_map(|g| Gid::new(&g.gid).ok())
        .collect();
    let directory = access::read_directory(clients, &users, &service_accounts, gids).await?;

    let prefix = under.map(|u| format!("{u}/"));
    let paths: Vec<String> = paths
        .into_iter()
        .map(|p| match &prefix {
            Some(prefix) => format!("{prefix}{p}"),
            None => p,
        })
        .collect();
    let index = Index::new(&acls);
    let secrets: Vec<AccessReport> = paths
        .iter()
        .map(|path| {
            let candidates: Vec<&AclRead> = index
                .candidates(path)
                .into_iter()
                .map(|i| &acls[i])
                .collect();
            let mut report = access::compute(path, &candidates, &directory);
            report.used_by(&workloads);
            report
        })
        .collect();
    // Login secrets by content, over the whole store only (an account's may lie elsewhere).
    let (owners, unreadable) = match (under, service_accounts.is_empty()) {
        (None, false) => {
            let paths = paths
                .iter()
                .filter_map(|p| SecretPath::new(p).ok())
                .collect();
            crate::accounts::login_secret_owners(clients, paths).await?
        }
        _ => Default::default(),
    };
    let mut findings = findings(&secrets, &acls, &directory, under);
    if under.is_none() {
        // A secret this token may not read counts for the account it is named after.
        let named = |uid: &str| unreadable.iter().any(|p| named_after(p.as_str(), uid));
        let missing =
            (service_accounts.iter()).filter(|a| !owners.contains_key(&a.uid) && !named(&a.uid));
        findings.extend(missing.map(|a| Finding::NoLoginSecret { uid: a.uid.clone() }));
    }
    if let Ok(workloads) = &workloads {
        findings.extend(used_findings(workloads, &paths, under));
    }
    findings.sort();
    findings.dedup();
    let mut principals: BTreeSet<Principal> = BTreeSet::new();
    for report in &secrets {
        for entry in report.value_readers.iter().chain(&report.name_listers) {
            principals.insert(Principal {
                principal: entry.principal.clone(),
                principal_type: entry.principal_type,
            });
        }
    }
    Ok(Audit {
        under: under.map(|u| u.to_string()),
        secrets,
        findings,
        principals: principals.into_iter().collect(),
        marathon_unread: workloads.err().map(|why| why.to_string()),
        unreadable_secrets: unreadable.len(),
    })
}

/// The findings of an audit, sorted.
fn findings(
    secrets: &[AccessReport],
    acls: &[AclRead],
    directory: &Directory,
    under: Option<&SecretPath>,
) -> Vec<Finding> {
    let mut found = BTreeSet::new();
    for report in secrets {
        let readers = &report.value_readers;
        let unused = report.consumers.is_empty();
        if unused && !readers.is_empty() && readers.iter().all(|e| e.way.reach == "superuser") {
            found.insert(Finding::OnlySuperusers {
                path: report.path.clone(),
            });
        }
        for entry in readers
            .iter()
            .filter(|e| e.way.reach == "wildcard" && e.way.via == "direct")
        {
            found.insert(Finding::Wildcard {
                path: report.path.clone(),
                rid: entry.way.rid.clone().unwrap_or_default(),
                principal: entry.principal.clone(),
                principal_type: entry.principal_type,
            });
        }
    }
    // Every existing path and every folder above one: what a resource id may name.
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for report in secrets {
        let mut path = report.path.as_str();
        names.insert(path);
        while let Some(i) = path.rfind('/') {
            path = &path[..i];
            names.insert(path);
        }
    }
    let in_scope = |path: &str| match under {
        None => true,
        Some(u) => path == u.as_str() || path.starts_with(&format!("{u}/")),
    };
    for acl in acls {
        let rid = acl.rid.as_str();
        let (pattern, list) = match (
            rid.strip_prefix(VALUE_PREFIX),
            rid.strip_prefix(LIST_PREFIX),
        ) {
            (Some(p), _) => (p, false),
            (None, Some(p)) => (p, true),
            (None, None) => continue,
        };
        let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
        let holders = holders(acl, directory);
        for (principal, principal_type, actions) in &holders {
            if actions.iter().any(|a| a == "full") && in_scope(pattern.trim_end_matches("/*")) {
                found.insert(Finding::Full {
                    rid: rid.to_owned(),
                    principal: principal.clone(),
                    principal_type: *principal_type,
                });
            }
        }
        // Wildcards and the root name no one secret; an exact id must name one (a list id may
        // name a folder).
        let named = pattern.trim_end_matches('/');
        if pattern.ends_with('*') || named.is_empty() || !in_scope(named) {
            continue;
        }
        let exists = if list {
            names.contains(named)
        } else {
            secrets.iter().any(|s| s.path == named)
        };
        if !exists {
            for (principal, principal_type, actions) in holders {
                for action in actions {
                    found.insert(Finding::DanglingGrant {
                        rid: rid.to_owned(),
                        principal: principal.clone(),
                        principal_type,
                        action,
                    });
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Whether a secret's path names the account: a folder or name `<uid>`, or one that starts
/// with `<uid>` and `-`, `_` or `.` (`ci-bot-secret`).
fn named_after(path: &str, uid: &str) -> bool {
    path.split('/').any(|segment| {
        segment == uid
            || (segment.strip_prefix(uid)).is_some_and(|rest| rest.starts_with(['-', '_', '.']))
    })
}

/// The apps and pods that use a secret that does not exist, or declare one outside their
/// space; for the secrets in scope.
fn used_findings(
    workloads: &crate::consumers::Workloads,
    paths: &[String],
    under: Option<&SecretPath>,
) -> Vec<Finding> {
    let existing: BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    let in_scope = |path: &str| match under {
        None => true,
        Some(u) => path.starts_with(&format!("{u}/")),
    };
    let mut found = Vec::new();
    for w in &workloads.items {
        for (path, ..) in w
            .uses
            .iter()
            .filter(|(p, ..)| in_scope(p) && !existing.contains(p.as_str()))
        {
            found.push(Finding::MissingSecret {
                consumer: w.kind,
                id: w.id.clone(),
                path: path.clone(),
            });
        }
        let outside = (w.declared.iter())
            .filter(|(_, p)| in_scope(p) && !crate::consumers::in_space(&w.id, p));
        for (_, path) in outside {
            found.push(Finding::OutOfSpace {
                consumer: w.kind,
                id: w.id.clone(),
                path: path.clone(),
            });
        }
    }
    found
}

/// The direct holders of an ACL with their types and actions.
fn holders(acl: &AclRead, directory: &Directory) -> Vec<(String, PrincipalType, Vec<String>)> {
    let users = acl.holders.users.iter().map(|u| {
        (
            u.uid.clone(),
            directory.type_of(&u.uid),
            u.actions.iter().map(|a| a.name.clone()).collect(),
        )
    });
    let groups = acl.holders.groups.iter().map(|g| {
        (
            g.gid.clone(),
            PrincipalType::Group,
            g.actions.iter().map(|a| a.name.clone()).collect(),
        )
    });
    users.chain(groups).collect()
}
