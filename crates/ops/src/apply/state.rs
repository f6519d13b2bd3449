//! What `apply` reads before it plans: the cluster as far as the manifest is concerned.

use std::collections::{HashMap, HashSet};

use dcos_iam_client::{AclHolders, Action, GrantState, HeldPermission, Principal, Rid, User};
use dcos_secrets_client::{SecretPath, SecretValue};
use futures::future::try_join_all;

use crate::Clients;
use crate::error::{Context, Result};
use crate::manifest::Manifest;

/// What one principal holds directly.
#[derive(Debug, Default)]
pub(super) struct Held {
    pub is_service: bool,
    pub grants: HashSet<(String, Action)>,
}

/// The cluster as far as the manifest is concerned.
#[derive(Debug, Default)]
pub(super) struct ClusterState {
    /// The values of the declared secrets that exist.
    pub values: HashMap<SecretPath, SecretValue>,
    /// Every secret name in the store.
    pub names: HashSet<String>,
    /// Every ACL's resource id.
    pub acls: HashSet<String>,
    /// The principals the manifest names: `None` when they do not exist.
    pub principals: HashMap<Principal, Option<Held>>,
    /// With `prune`: who holds what on each declared resource id that exists.
    pub holders: HashMap<String, AclHolders>,
}

impl ClusterState {
    /// Whether `principal` holds `action` on `rid` directly, and whether the ACL exists.
    pub fn grant_state(&self, principal: &Principal, rid: &Rid, action: Action) -> GrantState {
        let held = self.principals.get(principal).and_then(Option::as_ref);
        if held.is_some_and(|h| h.grants.contains(&(rid.as_str().to_owned(), action))) {
            GrantState::Granted
        } else if self.acls.contains(rid.as_str()) {
            GrantState::NotGranted
        } else {
            GrantState::NoAcl
        }
    }

    /// The principal, if it exists.
    pub fn principal(&self, principal: &Principal) -> Option<&Held> {
        self.principals.get(principal).and_then(Option::as_ref)
    }
}

/// Reads everything the plan compares, concurrently: the secret names and ACLs (one request
/// each), every principal the manifest names with its grants, then the values of the declared
/// secrets that exist and, with `prune`, the holders of the declared resource ids. With
/// `eager`, the values are read with the names rather than after them: a round trip less when
/// the secrets exist, a few reads of absent ones when they do not.
pub(super) async fn read(
    clients: &Clients,
    manifest: &Manifest,
    prune: bool,
    eager: bool,
) -> Result<ClusterState> {
    let mut principals: Vec<Principal> = Vec::new();
    let mut seen = HashSet::new();
    let named = manifest
        .accounts
        .iter()
        .map(|a| Principal::User(a.uid.clone()))
        .chain(manifest.grants.iter().map(|g| g.principal.clone()))
        .chain(
            manifest
                .onboardings
                .iter()
                .map(|j| Principal::User(j.account.clone())),
        );
    for p in named {
        if seen.insert(p.clone()) {
            principals.push(p);
        }
    }
    let declared = manifest.secret_paths();
    let early = if eager { declared.clone() } else { Vec::new() };
    let (names, acls, held, early) = tokio::join!(
        clients.secrets.list(None),
        clients.iam.acls(),
        try_join_all(principals.iter().map(|p| read_principal(clients, p))),
        values(clients, early),
    );
    let names: HashSet<String> = names.context("list the secrets")?.into_iter().collect();
    let acls: HashSet<String> = acls
        .context("list the ACLs")?
        .into_iter()
        .map(|a| a.rid)
        .collect();
    let held = held.context("read the accounts and groups")?;

    let early = early.context("read the secrets")?;
    let existing: Vec<&SecretPath> = if eager {
        Vec::new()
    } else {
        declared
            .into_iter()
            .filter(|p| names.contains(p.as_str()))
            .collect()
    };
    let rids: Vec<Rid> = if prune {
        let mut rids = manifest.declared_rids();
        rids.retain(|rid| acls.contains(rid.as_str()));
        rids
    } else {
        Vec::new()
    };
    let (values, holders) = tokio::join!(
        values(clients, existing),
        try_join_all(rids.iter().map(|rid| async move {
            match clients.iam.acl(rid).holders().await {
                Err(e) if e.is_not_found() => Ok((rid.to_string(), AclHolders::default())),
                other => other.map(|h| (rid.to_string(), h)),
            }
        })),
    );
    Ok(ClusterState {
        values: values
            .context("read the secrets")?
            .into_iter()
            .chain(early)
            .flatten()
            .collect(),
        names,
        acls,
        principals: principals.into_iter().zip(held).collect(),
        holders: holders
            .context("read the ACLs' holders")?
            .into_iter()
            .collect(),
    })
}

/// The values of the secrets at `paths` that exist.
async fn values(
    clients: &Clients,
    paths: Vec<&SecretPath>,
) -> Result<Vec<Option<(SecretPath, SecretValue)>>, dcos_transport::Error> {
    try_join_all(paths.into_iter().map(|path| async move {
        let value = clients.secret_value(path).await;
        value.map(|v| v.map(|v| (path.clone(), v)))
    }))
    .await
}

/// A principal and its direct grants, or `None` if it does not exist.
async fn read_principal(
    clients: &Clients,
    principal: &Principal,
) -> Result<Option<Held>, dcos_transport::Error> {
    let grants = |held: Vec<HeldPermission>| -> HashSet<(String, Action)> {
        held.into_iter()
            .flat_map(|p| {
                let rid = p.rid;
                p.actions
                    .into_iter()
                    .filter_map(move |a| a.action().map(|a| (rid.clone(), a)))
            })
            .collect()
    };
    match principal {
        Principal::User(uid) => {
            let user = clients.iam.user(uid);
            let (found, permissions) = tokio::join!(user.get_opt(), user.permissions());
            let Some(found): Option<User> = found? else {
                return Ok(None);
            };
            // Created by someone else between the two reads: it held nothing yet.
            let held = match permissions {
                Ok(permissions) => permissions.direct,
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            };
            Ok(Some(Held {
                is_service: found.is_service,
                grants: grants(held),
            }))
        }
        Principal::Group(gid) => {
            let group = clients.iam.group(gid);
            let (found, permissions) = tokio::join!(group.get_opt(), group.permissions());
            if found?.is_none() {
                return Ok(None);
            }
            let held = match permissions {
                Ok(held) => held,
                Err(e) if e.is_not_found() => Vec::new(),
                Err(e) => return Err(e),
            };
            Ok(Some(Held {
                is_service: false,
                grants: grants(held),
            }))
        }
    }
}
