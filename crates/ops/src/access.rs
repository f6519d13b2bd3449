//! Who can read a secret's value, and who can see its name: users, service accounts and
//! groups (members expanded), direct or through a group, by exact resource id, ancestor list
//! permission, `/*` wildcard, or as superusers.

use std::collections::{BTreeMap, BTreeSet};

use dcos_iam_client::{
    AclHolders, Action, ActionEntry, Gid, Membership, Rid, SecretCoverage, SecretScope,
};
use dcos_secrets_client::SecretPath;
use futures::future::try_join_all;
use serde::Serialize;

use crate::error::{Context, Result};
use crate::{Clients, PrincipalType};

/// One way a principal reaches a secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AccessEntry {
    pub principal: String,
    pub principal_type: PrincipalType,
    /// `direct`, `group` or `superuser`.
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

/// Who can read a secret, and who can see its name.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    pub path: String,
    /// Who can read the value.
    pub value_readers: Vec<AccessEntry>,
    /// Who can see the name when listing.
    pub name_listers: Vec<AccessEntry>,
}

/// The built-in group whose members may do anything.
const SUPERUSERS: &str = "superusers";
/// Any action on this resource makes a principal a superuser.
const SUPERUSER_RID: &str = "dcos:superuser";

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

/// Who can read the value of `path`, and who can see its name.
/// Needs permission to read the IAM API.
pub async fn report(clients: &Clients, path: &SecretPath) -> Result<AccessReport> {
    let iam = &clients.iam;
    let superusers = Gid::new(SUPERUSERS)?;
    let superusers = iam.group(&superusers);
    let (acls, users, service_accounts, superuser_members) = tokio::try_join!(
        iam.acls(),
        iam.users(),
        iam.service_accounts(),
        superusers.members(),
    )
    .context("reading the IAM API")?;
    let is_service: BTreeMap<String, bool> = users
        .iter()
        .chain(&service_accounts)
        .map(|u| (u.uid.clone(), u.is_service))
        .collect();

    let relevant: Vec<(Rid, Gives)> = acls
        .iter()
        .filter_map(|acl| {
            let rid = Rid::new(&acl.rid).ok()?;
            let gives = if acl.rid == SUPERUSER_RID {
                Gives::Superuser
            } else {
                Gives::Coverage(rid.secret_coverage(path.as_str())?)
            };
            Some((rid, gives))
        })
        .collect();
    let holders: Vec<AclHolders> = try_join_all(
        relevant
            .iter()
            .map(|(rid, _)| async move { iam.acl(rid).holders().await }),
    )
    .await
    .context("reading ACL permissions")?;

    let mut findings = Findings::default();
    let mut groups: BTreeMap<String, Vec<(Option<SecretScope>, AccessEntry)>> = BTreeMap::new();
    let user_type = |uid: &str, service: Option<bool>| {
        PrincipalType::of_user(
            service
                .or_else(|| is_service.get(uid).copied())
                .unwrap_or(false),
        )
    };
    for ((rid, gives), holders) in relevant.iter().zip(&holders) {
        let (scope, reach, wanted) = match gives {
            Gives::Coverage(c) => (Some(c.scope), c.reach.as_str(), Action::Read),
            Gives::Superuser => (None, "superuser", Action::Read),
        };
        let held = |actions: &[ActionEntry]| match gives {
            // Any action on dcos:superuser makes a superuser.
            Gives::Superuser => actions.first().map(|a| a.name.clone()),
            Gives::Coverage(_) => allowing(actions, wanted),
        };
        for user in &holders.users {
            if let Some(action) = held(&user.actions) {
                findings.add(
                    scope,
                    AccessEntry {
                        principal: user.uid.clone(),
                        principal_type: user_type(&user.uid, None),
                        via: "direct",
                        group: None,
                        rid: Some(rid.to_string()),
                        action: Some(action),
                        reach,
                    },
                );
            }
        }
        for group in &holders.groups {
            if let Some(action) = held(&group.actions) {
                let entry = AccessEntry {
                    principal: group.gid.clone(),
                    principal_type: PrincipalType::Group,
                    via: "direct",
                    group: None,
                    rid: Some(rid.to_string()),
                    action: Some(action),
                    reach,
                };
                findings.add(scope, entry.clone());
                groups
                    .entry(group.gid.clone())
                    .or_default()
                    .push((scope, entry));
            }
        }
    }

    // Expand the groups to their members.
    let gids: Vec<Gid> = groups.keys().filter_map(|g| Gid::new(g).ok()).collect();
    let members: Vec<Vec<Membership>> = try_join_all(
        gids.iter()
            .map(|gid| async move { iam.group(gid).members().await }),
    )
    .await
    .context("reading group members")?;
    for (gid, members) in gids.iter().zip(members) {
        for (scope, via_group) in &groups[gid.as_str()] {
            for member in &members {
                findings.add(
                    *scope,
                    AccessEntry {
                        principal: member.user.uid.clone(),
                        principal_type: user_type(&member.user.uid, Some(member.user.is_service)),
                        via: "group",
                        group: Some(gid.to_string()),
                        ..via_group.clone()
                    },
                );
            }
        }
    }
    for member in &superuser_members {
        findings.add(
            None,
            AccessEntry {
                principal: member.user.uid.clone(),
                principal_type: user_type(&member.user.uid, Some(member.user.is_service)),
                via: "group",
                group: Some(SUPERUSERS.to_owned()),
                rid: None,
                action: None,
                reach: "superuser",
            },
        );
    }

    Ok(AccessReport {
        path: path.to_string(),
        value_readers: findings.value.into_iter().collect(),
        name_listers: findings.list.into_iter().collect(),
    })
}
