//! What a run changed, and how each change is taken back.
//!
//! Every write is recorded here before it is sent (its answer may be lost after it landed), with
//! what undoing it needs. Undo compares before it acts: what someone else changed meanwhile is
//! left alone and named, never overwritten.

use std::path::PathBuf;

use dcos_iam_client::{Action, Gid, GrantOutcome, Principal, RevokeOutcome, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};

use crate::Clients;
use crate::error::{Error, Result};

/// A change a run made, or sent.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// A secret written: `before` is its value before the run (`None`: it did not exist).
    Secret {
        path: SecretPath,
        before: Option<SecretValue>,
        written: SecretValue,
    },
    /// An ACL this run created; by itself it grants nothing.
    Acl { rid: Rid },
    /// An action granted to a principal.
    Grant {
        rid: Rid,
        principal: Principal,
        action: Action,
    },
    /// A service account this run created.
    Account { uid: Uid },
    /// A file this run wrote.
    File { path: PathBuf },
    /// An action this run revoked, which the principal held.
    Revoked {
        rid: Rid,
        principal: Principal,
        action: Action,
    },
    /// A secret this run deleted, with the value it held.
    SecretDeleted {
        path: SecretPath,
        value: SecretValue,
    },
    /// A service account this run deleted, with what recreating it needs: its key, its
    /// description and the groups it belonged to.
    AccountDeleted {
        uid: Uid,
        description: String,
        public_key_pem: String,
        groups: Vec<Gid>,
    },
}

impl Change {
    /// Takes the change back if it is still as this run left it. Says what it did, or `None`
    /// when there was nothing to take back.
    pub(crate) async fn undo(&self, clients: &Clients) -> Result<Option<String>> {
        match self {
            Change::Secret {
                path,
                before,
                written,
            } => restore_secret(clients, path, before.as_ref(), written).await,
            Change::Acl { rid } => Ok(delete_acl_if_empty(clients, rid)
                .await?
                .then(|| format!("deleted the ACL {rid}"))),
            Change::Grant {
                rid,
                principal,
                action,
            } => {
                let revoked = clients
                    .iam
                    .acl(rid)
                    .ensure_revoked(principal, *action)
                    .await?;
                Ok((revoked == RevokeOutcome::Revoked)
                    .then(|| format!("revoked {action} on {rid}")))
            }
            Change::Account { uid } => match clients.iam.user(uid).delete().await {
                Ok(()) => Ok(Some(format!("deleted the account {uid}"))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e.into()),
            },
            Change::Revoked {
                rid,
                principal,
                action,
            } => {
                let acl = clients.iam.acl(rid);
                let outcome = acl.grant_if_absent(principal, *action).await?;
                Ok((outcome == GrantOutcome::Granted)
                    .then(|| format!("granted {action} on {rid} again")))
            }
            Change::SecretDeleted { path, value } => {
                let secret = clients.secrets.secret(path);
                match secret.get_opt().await? {
                    None => {
                        secret.create(value).await?;
                        Ok(Some(format!("restored secret {path}")))
                    }
                    Some(now) if &now == value => Ok(None),
                    Some(_) => Err(Error::conflict(format!(
                        "secret `{path}` was created again by someone else meanwhile; left as it is"
                    ))),
                }
            }
            Change::AccountDeleted {
                uid,
                description,
                public_key_pem,
                groups,
            } => {
                let created = clients
                    .iam
                    .user(uid)
                    .create_service_account(description, public_key_pem)
                    .await;
                match created {
                    Ok(()) => {}
                    // Never deleted (the request failed before it landed): nothing to undo.
                    Err(e) if e.is_conflict() => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
                for gid in groups {
                    match clients.iam.group(gid).add_member(uid).await {
                        Err(e) if !e.is_conflict() => return Err(e.into()),
                        _ => {}
                    }
                }
                Ok(Some(format!(
                    "created the account {uid} again with its key{}",
                    match groups.len() {
                        0 => String::new(),
                        _ => " and its group memberships".to_owned(),
                    }
                )))
            }
            Change::File { path } => match std::fs::remove_file(path) {
                Ok(()) => Ok(Some(format!("removed {}", path.display()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::io(
                    crate::error::ErrorKind::Failed,
                    format!("cannot remove {}", path.display()),
                    e,
                )),
            },
        }
    }
}

/// Takes back `changes`, the last first. What was undone (joined), `None` if nothing needed
/// it, or the first change that could not be undone.
pub(crate) async fn undo_all(clients: &Clients, changes: &[Change]) -> Result<Option<String>> {
    let mut done = Vec::new();
    for change in changes.iter().rev() {
        if let Some(what) = change.undo(clients).await? {
            done.push(what);
        }
    }
    Ok((!done.is_empty()).then(|| done.join(", ")))
}

/// Puts a secret back as it was, if it still holds what this run wrote.
async fn restore_secret(
    clients: &Clients,
    path: &SecretPath,
    before: Option<&SecretValue>,
    written: &SecretValue,
) -> Result<Option<String>> {
    let secret = clients.secrets.secret(path);
    let now = secret.get_opt().await?;
    match (before, now) {
        (None, None) => Ok(None),
        (Some(b), Some(now)) if &now == b => Ok(None),
        (None, Some(now)) if &now == written => {
            match secret.delete().await {
                Err(e) if !e.is_not_found() => return Err(e.into()),
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
        (_, Some(_)) => Err(Error::conflict(format!(
            "secret `{path}` was changed by someone else meanwhile; left as it is"
        ))),
    }
}

/// Deletes an ACL nobody holds anything on; whether it did.
pub(crate) async fn delete_acl_if_empty(clients: &Clients, rid: &Rid) -> Result<bool> {
    let acl = clients.iam.acl(rid);
    match acl.holders().await {
        Ok(h) if h.users.is_empty() && h.groups.is_empty() => match acl.delete().await {
            Err(e) if !e.is_not_found() => Err(e.into()),
            _ => Ok(true),
        },
        Ok(_) => Ok(false),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e.into()),
    }
}
