//! What a run changed, and how each change is taken back.
//!
//! Every write is recorded here before it is sent (its answer may be lost after it landed), with
//! what undoing it needs. Undo compares before it acts: what someone else changed meanwhile is
//! left alone and named, never overwritten.
//!
//! A run that must survive a kill (a key rotation, the AWS rotation) also keeps a [`Record`]
//! of its changes where the next run finds it: a local file, or a secret in the cluster. A
//! record is read back by one set of rules, since anyone who could write where it lies could
//! have forged it:
//! - a local file must be a regular file (no symlink), owned by the user running the command,
//!   readable by nobody else, in a folder nobody else may write to ([`Record::read_file`]);
//! - its format and workflow must be this tool's and the command's ([`Record::parse`]);
//! - its content must agree with the live cluster before anything is resumed: the account's
//!   live public key is the record's old or new key, and every secret it would write is that
//!   account's login secret among those given (`rotate_key`); an AWS pair it would store is a
//!   key of the named IAM user that signs in as that user (`s3::aws_rotate`).
//!
//! What does not pass is refused ([`crate::ErrorKind::Conflict`]) and left in place.

use std::path::{Path, PathBuf};

use dcos_iam_client::{Action, Gid, GrantOutcome, Principal, RevokeOutcome, Rid, Uid};
use dcos_secrets_client::{SecretPath, SecretValue};
use serde::{Deserialize, Serialize};

use crate::Clients;
use crate::access_keys::Aws;
use crate::accounts::same_public_key;
use crate::error::{Error, Result, Undo};
use crate::report::{Outcome, Step, StepKind};

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
    /// A user or service account this run created.
    Account { uid: Uid },
    /// A group this run created.
    Group { gid: Gid },
    /// A membership this run added.
    Joined { gid: Gid, uid: Uid },
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
    /// A service account whose key this run replaced (deleted, and created again with the
    /// new key): recreating it with the old key, its grants and its groups takes it back.
    Rekeyed(Box<Rekey>),
    /// An AWS access key this run created for an IAM user.
    AwsKey { user: String, id: String },
    /// A record this run keeps in the cluster for the next run to finish with: taken back
    /// last, and only when everything else was ([`take_back`]).
    Record { path: SecretPath },
    /// A service account this run deleted, with what recreating it needs: its key, its
    /// description and the groups it belonged to.
    AccountDeleted {
        uid: Uid,
        description: String,
        public_key_pem: String,
        groups: Vec<Gid>,
    },
}

/// A service account's key replacement: what the account was, and its new key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rekey {
    pub uid: String,
    pub description: String,
    pub old_public_key: String,
    pub new_public_key: String,
    /// Its direct grants, `(rid, action)`.
    pub grants: Vec<(String, String)>,
    pub groups: Vec<String>,
}

/// What hangs on an account and goes with it when it is deleted: its grants and groups.
pub(crate) struct Ties {
    pub uid: Uid,
    pub grants: Vec<(Rid, Action)>,
    pub groups: Vec<Gid>,
}

impl Rekey {
    /// The account, its grants and its groups as ids. Each must parse: a grant that could not
    /// be sent again would be lost with the account, so the rotation refuses it before any
    /// change ([`crate::ErrorKind::Conflict`]).
    pub(crate) fn ties(&self) -> Result<Ties> {
        let lost = |what: String| {
            Error::conflict(format!(
                "`{}` holds {what}, which could not be given back once the account is created \
                 again; nothing was changed",
                self.uid
            ))
        };
        let grants = self
            .grants
            .iter()
            .map(
                |(rid, action)| match (Rid::new(rid), action.parse::<Action>()) {
                    (Ok(rid), Ok(action)) => Ok((rid, action)),
                    _ => Err(lost(format!("`{action}` on `{rid}`"))),
                },
            )
            .collect::<Result<_>>()?;
        let groups = self
            .groups
            .iter()
            .map(|gid| Gid::new(gid).map_err(|_| lost(format!("membership of `{gid}`"))))
            .collect::<Result<_>>()?;
        Ok(Ties {
            uid: Uid::new(&self.uid)?,
            grants,
            groups,
        })
    }
}

impl Change {
    /// Takes the change back if it is still as this run left it. Says what it did, or `None`
    /// when there was nothing to take back. `aws` takes back AWS keys.
    pub(crate) async fn undo(
        &self,
        clients: &Clients,
        aws: Option<&Aws>,
    ) -> Result<Option<String>> {
        match self {
            Change::Rekeyed(rekey) => undo_rekey(clients, rekey).await,
            Change::AwsKey { user, id } => match aws {
                Some(aws) => {
                    aws.delete_key(user, id).await?;
                    Ok(Some(format!("deleted the new access key {id}")))
                }
                None => Err(Error::failed(format!(
                    "no AWS client to delete the access key {} of `{user}` with",
                    crate::aws::shown(id)
                ))),
            },
            Change::Record { path } => match clients.secrets.secret(path).delete().await {
                Err(e) if !e.is_not_found() => Err(e.into()),
                _ => Ok(Some(format!("deleted `{path}`"))),
            },
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
                match clients
                    .iam
                    .acl(rid)
                    .ensure_revoked(principal, *action)
                    .await
                {
                    Ok(revoked) => Ok((revoked == RevokeOutcome::Revoked)
                        .then(|| format!("revoked {action} on {rid}"))),
                    // The account this run created is gone (its undo ran first): its grants
                    // went with it.
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Change::Group { gid } => match clients.iam.group(gid).delete().await {
                Ok(()) => Ok(Some(format!("deleted the group {gid}"))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e.into()),
            },
            Change::Joined { gid, uid } => match clients.iam.group(gid).remove_member(uid).await {
                Ok(()) => Ok(Some(format!("took {uid} out of {gid}"))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e.into()),
            },
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
        if let Some(what) = change.undo(clients, None).await? {
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

/// Takes back every change of a run that stops, the last first, going on past one that cannot
/// be undone; a [`Change::Record`] goes last, and stays (named) unless everything else was
/// undone, for the next run to finish with. Marks the steps of `steps` the changes made:
/// undone, or undo failed.
pub(crate) async fn take_back(
    clients: &Clients,
    aws: Option<&Aws>,
    changes: &[Change],
    steps: &mut [Step],
) -> Undo {
    let mut undo = Undo::default();
    let (records, others): (Vec<&Change>, Vec<&Change>) = changes
        .iter()
        .partition(|c| matches!(c, Change::Record { .. }));
    for change in others.into_iter().rev().chain(records) {
        let result = match change {
            Change::Record { path } if !undo.is_complete() => {
                undo.left.push(format!(
                    "`{path}`, which keeps the run's record for the next run to finish with"
                ));
                continue;
            }
            change => change.undo(clients, aws).await,
        };
        let outcome = match result {
            Ok(Some(what)) => {
                undo.undone.push(what);
                Outcome::Undone
            }
            Ok(None) => continue,
            Err(e) => {
                undo.left
                    .push(format!("{} ({})", change.describe(), e.full_message()));
                Outcome::UndoFailed
            }
        };
        if let Some((kind, target)) = change.step() {
            // The step that landed the change (not one that verified or restarted after it).
            let landed = |o: Outcome| {
                matches!(
                    o,
                    Outcome::Created | Outcome::Updated | Outcome::Written | Outcome::Granted
                )
            };
            let step = steps
                .iter_mut()
                .find(|s| s.kind == kind && s.target == target && landed(s.outcome));
            if let Some(step) = step {
                step.outcome = outcome;
            }
        }
    }
    undo
}

impl Change {
    /// The step that made the change, by kind and target, when steps name it.
    fn step(&self) -> Option<(StepKind, String)> {
        match self {
            Change::Secret { path, .. } | Change::Record { path } => {
                Some((StepKind::Secret, path.to_string()))
            }
            Change::Rekeyed(rekey) => Some((StepKind::Account, rekey.uid.clone())),
            Change::AwsKey { id, .. } => Some((StepKind::AwsKey, crate::aws::shown(id))),
            _ => None,
        }
    }

    /// What is left when undoing fails.
    fn describe(&self) -> String {
        match self {
            Change::Secret { path, .. } => format!("secret {path} holds the new value"),
            Change::Rekeyed(rekey) => format!("the account {} holds the new key", rekey.uid),
            Change::AwsKey { id, .. } => format!("the new access key {}", crate::aws::shown(id)),
            Change::Record { path } => format!("`{path}`"),
            Change::Acl { rid } => format!("the ACL {rid}"),
            Change::Grant {
                rid,
                principal,
                action,
            } => format!("{action} on {rid} granted to {principal}"),
            Change::Revoked {
                rid,
                principal,
                action,
            } => format!("{action} on {rid} revoked from {principal}"),
            Change::Account { uid } => format!("the account {uid}"),
            Change::Group { gid } => format!("the group {gid}"),
            Change::Joined { gid, uid } => format!("{uid}'s membership of {gid}"),
            Change::AccountDeleted { uid, .. } => format!("the deleted account {uid}"),
            Change::File { path } => path.display().to_string(),
            Change::SecretDeleted { path, .. } => format!("the deleted secret {path}"),
        }
    }
}

/// The account with its old key again, its grants and groups put back; nothing when it still
/// has its old key. An account with a third key was changed by someone else: left alone.
async fn undo_rekey(clients: &Clients, rekey: &Rekey) -> Result<Option<String>> {
    let Ties {
        uid,
        grants,
        groups,
    } = rekey.ties()?;
    let user = clients.iam.user(&uid);
    let account = user.get_opt().await?;
    let live = account.as_ref().and_then(|a| a.public_key.as_deref());
    if live.is_some_and(|key| same_public_key(key, &rekey.old_public_key)) {
        return Ok(None);
    }
    if live.is_some_and(|key| !same_public_key(key, &rekey.new_public_key)) {
        return Err(Error::conflict(format!(
            "the account `{uid}` was given another key by someone else meanwhile; left as it is"
        )));
    }
    if account.is_some() {
        user.delete().await?;
    }
    match user
        .create_service_account(&rekey.description, &rekey.old_public_key)
        .await
    {
        Err(e) if !e.is_conflict() => return Err(e.into()),
        _ => {}
    }
    let principal = Principal::User(uid.clone());
    for (rid, action) in grants {
        clients
            .iam
            .acl(&rid)
            .grant_if_absent(&principal, action)
            .await?;
    }
    for gid in &groups {
        match clients.iam.group(gid).add_member(&uid).await {
            Err(e) if !e.is_conflict() => return Err(e.into()),
            _ => {}
        }
    }
    Ok(Some(format!(
        "created the account {uid} again with its old key, its grants and its groups"
    )))
}

/// The format of a [`Record`].
const FORMAT: &str = "dcos-creds journal, version 1";

/// The workflow a [`Record`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Workflow {
    /// `service-account rotate-key`: kept in a local file beside the new key.
    RotateKey,
    /// `s3 rotate --aws-iam-user`: kept in a secret beside the pair.
    AwsRotation,
}

impl Workflow {
    fn as_str(self) -> &'static str {
        match self {
            Workflow::RotateKey => "a key rotation",
            Workflow::AwsRotation => "an AWS key rotation",
        }
    }
}

/// One change of a [`Record`]: what the next run needs to finish (or take back) the change.
#[derive(Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub(crate) enum Entry {
    /// The account's key replaced ([`Change::Rekeyed`]).
    Rekeyed(Rekey),
    /// A login secret the rotation writes the new key into.
    LoginSecret { path: String },
    /// A new AWS key of `user`, with the pair it replaces. Kept in the secret store only.
    AwsKey {
        user: String,
        old: AwsPair,
        new: AwsPair,
    },
}

/// An AWS key pair as a record keeps it.
#[derive(Serialize, Deserialize)]
pub(crate) struct AwsPair {
    pub aws_access_key_id: String,
    pub aws_secret_access_key: String,
}

/// The changes of a run that must survive a kill, where the next run finds them.
#[derive(Serialize, Deserialize)]
pub(crate) struct Record {
    format: String,
    workflow: Workflow,
    pub entries: Vec<Entry>,
}

impl std::fmt::Debug for Record {
    // No entry: an AWS record holds secret keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("workflow", &self.workflow)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Record {
    pub(crate) fn new(workflow: Workflow, entries: Vec<Entry>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            workflow,
            entries,
        }
    }

    /// Its JSON.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Only strings and lists: serializing cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// A record kept in the local file `path`: checked to be the user's own
    /// ([`crate::files::check_own_file`]) before it is read.
    pub(crate) fn read_file(path: &Path, workflow: Workflow) -> Result<Self> {
        crate::files::check_own_file(path, "the journal file")?;
        let text = crate::files::read_text(path, "the journal file", crate::files::CONFIG_LIMIT)?;
        Self::parse(text.as_bytes(), &path.display().to_string(), workflow)
    }

    /// A record read from `what`, which must be of this format and of `workflow`.
    pub(crate) fn parse(bytes: &[u8], what: &str, workflow: Workflow) -> Result<Self> {
        let record: Record = serde_json::from_slice(bytes)
            .ok()
            .filter(|r: &Record| r.format == FORMAT)
            .ok_or_else(|| Error::invalid(format!("{what} is not a journal of this tool")))?;
        if record.workflow != workflow {
            return Err(Error::conflict(format!(
                "{what} is the journal of {}, not of {}",
                record.workflow.as_str(),
                workflow.as_str()
            )));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotate_key_record() -> Vec<u8> {
        let entries = vec![Entry::LoginSecret {
            path: "sa/service-account".into(),
        }];
        Record::new(Workflow::RotateKey, entries).to_bytes()
    }

    #[test]
    fn a_record_is_read_back_only_as_its_own_workflow() {
        let bytes = rotate_key_record();
        let record = Record::parse(&bytes, "the file", Workflow::RotateKey).unwrap();
        assert_eq!(record.entries.len(), 1);
        let other = Record::parse(&bytes, "the file", Workflow::AwsRotation).unwrap_err();
        assert_eq!(other.kind(), crate::ErrorKind::Conflict);
        assert!(
            other.to_string().contains("the journal of a key rotation"),
            "{other}"
        );
        let text = String::from_utf8(bytes).unwrap();
        let older = text.replace("version 1", "version 0");
        let refused = Record::parse(older.as_bytes(), "the file", Workflow::RotateKey);
        assert_eq!(refused.unwrap_err().kind(), crate::ErrorKind::Invalid);
    }

    #[cfg(unix)]
    #[test]
    fn a_record_file_others_could_write_is_never_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let file = dir.path().join("key.pem.rotate-key.json");
        std::fs::write(&file, rotate_key_record()).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        Record::read_file(&file, Workflow::RotateKey).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = Record::read_file(&file, Workflow::RotateKey).unwrap_err();
        assert_eq!(refused.kind(), crate::ErrorKind::Conflict);
        assert!(file.exists(), "a refused record is left in place");
    }
}
