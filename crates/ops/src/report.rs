//! What the workflows report: every step and what became of it, as typed values that serialize
//! to the JSON the command-line tool prints (`snake_case` words). No report holds a secret
//! value; secrets are named by path and, where values are compared, by fingerprint.

use std::fmt;

use serde::Serialize;

/// What kind of principal an id names, in every report that names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalType {
    /// A user account.
    User,
    /// A service account (a user with a public key).
    ServiceAccount,
    /// A group.
    Group,
}

impl PrincipalType {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServiceAccount => "service_account",
            Self::Group => "group",
        }
    }

    /// The type of a user record.
    pub fn of_user(is_service: bool) -> Self {
        if is_service {
            Self::ServiceAccount
        } else {
            Self::User
        }
    }
}

/// What became of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// A secret, account or ACL was created.
    Created,
    /// A secret's value was replaced.
    Updated,
    /// It was in place already.
    Unchanged,
    /// The action was granted now.
    Granted,
    /// The principal held the action already.
    AlreadyGranted,
    /// The action was revoked now.
    Revoked,
    /// The principal did not hold the action.
    NotGranted,
    /// The secret was deleted.
    Deleted,
    /// The secret did not exist.
    Absent,
    /// The secret was kept, as asked.
    Kept,
    /// A file was written.
    Written,
    /// The step had been done, and was taken back after another step failed.
    Undone,
    /// Taking the step back failed: it is still on the cluster.
    UndoFailed,
    /// The step failed.
    Failed,
    /// The step did not run (an earlier one failed), or had nothing to take back.
    NotRun,
    /// With a dry run: would be created.
    WouldCreate,
    /// With a dry run: would be updated.
    WouldUpdate,
    /// With a dry run: would be granted.
    WouldGrant,
    /// With a dry run: would be revoked.
    WouldRevoke,
    /// With a dry run: would be deleted.
    WouldDelete,
    /// With a dry run: would be written.
    WouldWrite,
    /// An app was restarted, and runs its new tasks.
    Restarted,
    /// With a dry run: would be restarted.
    WouldRestart,
    /// A new AWS access key signed in as its user.
    Verified,
    /// With a dry run: would be checked.
    WouldVerify,
    /// An AWS access key was set Inactive.
    Deactivated,
    /// With a dry run: would be set Inactive.
    WouldDeactivate,
    /// Left out, and why is in the step's notes (a remote user whose identity provider the
    /// cluster does not have).
    Skipped,
}

impl Outcome {
    /// The word in JSON, like `already_granted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Granted => "granted",
            Outcome::AlreadyGranted => "already_granted",
            Outcome::Revoked => "revoked",
            Outcome::NotGranted => "not_granted",
            Outcome::Deleted => "deleted",
            Outcome::Absent => "absent",
            Outcome::Kept => "kept",
            Outcome::Written => "written",
            Outcome::Undone => "undone",
            Outcome::UndoFailed => "undo_failed",
            Outcome::Failed => "failed",
            Outcome::NotRun => "not_run",
            Outcome::WouldCreate => "would_create",
            Outcome::WouldUpdate => "would_update",
            Outcome::WouldGrant => "would_grant",
            Outcome::WouldRevoke => "would_revoke",
            Outcome::WouldDelete => "would_delete",
            Outcome::WouldWrite => "would_write",
            Outcome::Restarted => "restarted",
            Outcome::WouldRestart => "would_restart",
            Outcome::Verified => "verified",
            Outcome::WouldVerify => "would_verify",
            Outcome::Deactivated => "deactivated",
            Outcome::WouldDeactivate => "would_deactivate",
            Outcome::Skipped => "skipped",
        }
    }

    /// Whether the step changes, or would change, something.
    pub fn changes(self) -> bool {
        !matches!(
            self,
            Outcome::Unchanged
                | Outcome::AlreadyGranted
                | Outcome::NotGranted
                | Outcome::Absent
                | Outcome::Kept
                | Outcome::NotRun
                | Outcome::Skipped
        )
    }

    /// The outcome a planned write has before it runs: `would` with a dry run, else not run.
    pub(crate) fn planned(would: Outcome, dry_run: bool) -> Outcome {
        if dry_run { would } else { Outcome::NotRun }
    }
}

impl From<dcos_iam_client::RevokeOutcome> for Outcome {
    fn from(outcome: dcos_iam_client::RevokeOutcome) -> Self {
        match outcome {
            dcos_iam_client::RevokeOutcome::Revoked => Outcome::Revoked,
            dcos_iam_client::RevokeOutcome::AlreadyAbsent => Outcome::NotGranted,
        }
    }
}

impl From<dcos_iam_client::GrantOutcome> for Outcome {
    fn from(outcome: dcos_iam_client::GrantOutcome) -> Self {
        match outcome {
            dcos_iam_client::GrantOutcome::Granted => Outcome::Granted,
            dcos_iam_client::GrantOutcome::AlreadyGranted => Outcome::AlreadyGranted,
        }
    }
}

/// What a step is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepKind {
    /// A secret.
    Secret,
    /// A grant of an action on a resource to a principal.
    Grant,
    /// The service options file.
    Options,
    /// A service account.
    Account,
    /// A service account's private key file.
    KeyFile,
    /// A user's membership of a group (the target is the group).
    Membership,
    /// A Marathon app (the target is its id).
    App,
    /// A Marathon pod (the target is its id).
    Pod,
    /// An AWS access key (the target is its id).
    AwsKey,
    /// A user account, local or remote (a service account is an [`StepKind::Account`]).
    User,
    /// A group.
    Group,
    /// An access control list (the target is its resource id).
    Acl,
}

impl StepKind {
    /// The word in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Secret => "secret",
            StepKind::Grant => "grant",
            StepKind::Options => "options",
            StepKind::Account => "account",
            StepKind::KeyFile => "key_file",
            StepKind::Membership => "membership",
            StepKind::App => "app",
            StepKind::Pod => "pod",
            StepKind::AwsKey => "aws_key",
            StepKind::User => "user",
            StepKind::Group => "group",
            StepKind::Acl => "acl",
        }
    }
}

/// One step of a workflow: what it is about and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    /// The secret's path, the resource id, the file, or the account.
    pub target: String,
    /// For grants: the action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// For grants: the principal (`alice`, or `group:data` for a group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// For secrets: the fingerprint of the value this run writes (never the value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// For secrets: the fingerprint of the value it replaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_fingerprint: Option<String>,
    pub outcome: Outcome,
    /// Why the step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What else the plan knows of the target: the Marathon apps that use a secret, whose
    /// login secret it is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Step {
    /// A step of `kind` on `target`.
    pub fn new(kind: StepKind, target: impl ToString, outcome: Outcome) -> Self {
        Self {
            kind,
            target: target.to_string(),
            action: None,
            principal: None,
            fingerprint: None,
            previous_fingerprint: None,
            outcome,
            error: None,
            notes: Vec::new(),
        }
    }

    /// A step on a secret.
    pub fn secret(path: impl ToString, outcome: Outcome) -> Self {
        Self::new(StepKind::Secret, path, outcome)
    }

    /// A step on a grant of `action` on `rid` to `principal`, not run yet.
    pub fn grant(rid: impl ToString, action: impl ToString, principal: impl ToString) -> Self {
        Self {
            action: Some(action.to_string()),
            principal: Some(principal.to_string()),
            ..Self::new(StepKind::Grant, rid, Outcome::NotRun)
        }
    }

    /// Whether the step changes, or would change, something.
    pub fn changes(&self) -> bool {
        self.outcome.changes()
    }

    /// Marks the step failed with `error`.
    pub(crate) fn fail(&mut self, error: &crate::Error) {
        self.outcome = Outcome::Failed;
        self.error = Some(error.full_message());
    }
}

/// `alice`, or `group:data` for a group: how steps name a principal.
pub fn principal_name(principal: &dcos_iam_client::Principal) -> String {
    match principal {
        dcos_iam_client::Principal::User(uid) => uid.to_string(),
        dcos_iam_client::Principal::Group(gid) => format!("group:{gid}"),
    }
}

/// How a whole run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Something was changed.
    Changed,
    /// Everything was in place.
    Unchanged,
    /// With a dry run: something would change.
    WouldChange,
    /// The run failed (for `apply`: some items failed).
    Failed,
}

impl Status {
    /// The status of steps: failed, unchanged, or (would have) changed.
    pub fn of(steps: &[Step], failed: bool, dry_run: bool) -> Self {
        let changes = steps.iter().any(Step::changes);
        match (failed, dry_run, changes) {
            (true, _, _) => Status::Failed,
            (false, _, false) => Status::Unchanged,
            (false, true, true) => Status::WouldChange,
            (false, false, true) => Status::Changed,
        }
    }

    /// The word in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
            Status::WouldChange => "would_change",
            Status::Failed => "failed",
        }
    }
}

/// The S3 workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum S3Command {
    /// Store a key pair, grant the account, emit the options.
    Onboard,
    /// Replace the stored pair.
    Rotate,
    /// Revoke the account's permissions and delete the secrets.
    Offboard,
    /// Remove or deactivate the IAM user's keys that DC/OS does not hold.
    RetireAwsKey,
}

impl S3Command {
    /// The word in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            S3Command::Onboard => "onboard",
            S3Command::Rotate => "rotate",
            S3Command::Offboard => "offboard",
            S3Command::RetireAwsKey => "retire_aws_key",
        }
    }
}

/// An S3 onboarding, rotation or offboarding.
#[derive(Debug, Clone, Serialize)]
pub struct S3Report {
    pub command: S3Command,
    pub service_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    pub dry_run: bool,
    /// `changed`, `unchanged` or `failed`; with a dry run, `would_change` or `unchanged`.
    pub result: Status,
    pub steps: Vec<Step>,
    /// The service options (for a merge, the whole merged file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options_file: Option<String>,
    /// Rotation: the access key id before and after, in full (an identifier, not a secret;
    /// only its tail when the stored one does not look like a key id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_key_id: Option<String>,
    /// With AWS: the IAM user whose keys these are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_iam_user: Option<String>,
}

impl S3Report {
    /// Settles `result` from the steps.
    pub(crate) fn settle(&mut self, failed: bool) {
        self.result = Status::of(&self.steps, failed, self.dry_run);
    }

    /// One closing line: `onboard: done`, `rotate (dry run): nothing was changed`.
    pub fn summary(&self) -> String {
        let verb = self.command.as_str();
        match self.result {
            Status::Unchanged => format!("{verb}: unchanged, everything is in place"),
            Status::WouldChange => format!("{verb} (dry run): nothing was changed"),
            _ => format!("{verb}: done"),
        }
    }

    /// What a rotation did, for standard output: the key ids, and with `restart` what runs on
    /// the new pair now.
    pub fn rotation_text(&self, restart: bool) -> String {
        let keys = self.key_ids();
        match self.result {
            Status::Changed if restart => {
                let restarted: Vec<String> = (self.steps.iter())
                    .filter(|s| s.outcome == Outcome::Restarted)
                    .map(|s| format!("{} {}", s.kind.as_str(), s.target))
                    .collect();
                match restarted.is_empty() {
                    true => format!("rotated: {keys}\nno app or pod uses the pair\n"),
                    false => format!(
                        "rotated: {keys}\nrestarted, and running on the new pair: {}\n",
                        restarted.join(", ")
                    ),
                }
            }
            Status::Changed => format!("rotated: {keys}\n"),
            Status::WouldChange => format!("would rotate: {keys}\n"),
            _ => format!(
                "unchanged: the secrets already hold the pair of access key id {}\n",
                self.new_key_id.as_deref().unwrap_or("(none)")
            ),
        }
    }

    /// A rotation's access key ids: `access key id AKIA... -> AKIA...` (`a new key` in the dry
    /// run of one that creates it).
    pub fn key_ids(&self) -> String {
        let new_key = match (&self.new_key_id, self.result) {
            (Some(id), _) => id.as_str(),
            (None, Status::WouldChange) => "a new key",
            (None, _) => "(none)",
        };
        let old_key = self.old_key_id.as_deref().unwrap_or("(none)");
        format!("access key id {old_key} -> {new_key}")
    }
}

/// What an item of an `apply` manifest is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A service account, its key and its login secret.
    ServiceAccount,
    /// A secret.
    Secret,
    /// A grant.
    Grant,
    /// An S3 onboarding.
    S3,
    /// A Data Science Engine's set-up.
    Dse,
    /// Grants revoked by `prune` on one resource.
    Prune,
}

impl ItemKind {
    /// The word in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::ServiceAccount => "service_account",
            ItemKind::Secret => "secret",
            ItemKind::Grant => "grant",
            ItemKind::S3 => "s3",
            ItemKind::Dse => "dse",
            ItemKind::Prune => "prune",
        }
    }
}

/// One item of an `apply` manifest and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    pub kind: ItemKind,
    /// The account, the secret's path, the grant, the service name, or the pruned resource.
    pub name: String,
    /// `changed`, `unchanged` or `failed`; with a dry run, `would_change` or `unchanged`.
    pub result: Status,
    pub steps: Vec<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ItemReport {
    pub(crate) fn new(kind: ItemKind, name: impl ToString) -> Self {
        Self {
            kind,
            name: name.to_string(),
            result: Status::Unchanged,
            steps: Vec::new(),
            error: None,
        }
    }

    /// Settles `result` from the steps and the error.
    pub(crate) fn settle(&mut self, dry_run: bool) {
        self.result = Status::of(&self.steps, self.error.is_some(), dry_run);
    }

    /// How many steps change (or would change) something.
    pub fn changes(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| s.changes() && s.outcome != Outcome::Failed)
            .count()
    }
}

/// An `apply` run.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub manifest: String,
    pub dry_run: bool,
    /// `changed`, `unchanged`, `would_change`, or `failed` (some items failed).
    pub result: Status,
    /// Steps that changed (or would change) something.
    pub changes: usize,
    /// Items that failed.
    pub failed: usize,
    pub items: Vec<ItemReport>,
}

impl ApplyReport {
    /// For people: the plan of a dry run, and what became of each step of a failed item; an
    /// item's line, then its changing steps indented.
    pub fn plan_lines(&self) -> impl Iterator<Item = String> + '_ {
        let dry_run = self.dry_run;
        let shown = move |i: &&ItemReport| {
            (dry_run && i.result != Status::Unchanged) || i.result == Status::Failed
        };
        self.items.iter().filter(shown).flat_map(|item| {
            let steps = item.steps.iter().filter(|s| s.changes());
            std::iter::once(item.to_string()).chain(steps.map(|step| format!("  {step}")))
        })
    }

    /// Items that would change (a dry run) or changed.
    pub fn pending(&self) -> usize {
        let unchanged = (self.items.iter())
            .filter(|i| i.result == Status::Unchanged)
            .count();
        self.items.len() - unchanged - self.failed
    }

    /// The closing line, for a run `as` `apply`, `apply --check` or `apply --dry-run`: `apply:
    /// 3 items, 1 changed, 2 unchanged, 0 failed (4 changes)`.
    pub fn summary(&self, called: &str) -> String {
        let total = self.items.len();
        let pending = self.pending();
        format!(
            "{called}: {}, {pending} {}, {} unchanged, {} failed ({})",
            crate::text::count(total, "item", "items"),
            if self.dry_run {
                "would change"
            } else {
                "changed"
            },
            total - pending - self.failed,
            self.failed,
            crate::text::count(self.changes, "change", "changes"),
        )
    }
}

/// One line for people: `created          secret team/key (hmac:...)`.
impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = self;
        let what = match step.kind {
            StepKind::Grant => format!(
                "{} on {} to {}",
                step.action.as_deref().unwrap_or_default(),
                step.target,
                step.principal.as_deref().unwrap_or_default()
            ),
            StepKind::Membership if step.principal.is_some() => format!(
                "membership of {} in {}",
                step.principal.as_deref().unwrap_or_default(),
                step.target
            ),
            kind => format!("{} {}", kind.as_str(), step.target),
        };
        let mut line = format!("{:<16} {what}", step.outcome.as_str().replace('_', " "));
        match (&step.previous_fingerprint, &step.fingerprint) {
            (Some(old), Some(new)) => line.push_str(&format!(" ({old} -> {new})")),
            (None, Some(new)) => line.push_str(&format!(" ({new})")),
            _ => {}
        }
        for note in &step.notes {
            line.push_str(&format!("; {note}"));
        }
        if let Some(error) = &step.error {
            line.push_str(&format!(": {error}"));
        }
        f.write_str(&line)
    }
}

/// `changed          s3 data-science-engine`, and the reason when it failed.
impl fmt::Display for ItemReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let item = self;
        let mut line = format!(
            "{:<16} {} {}",
            item.result.as_str().replace('_', " "),
            item.kind.as_str(),
            item.name
        );
        if let Some(error) = &item.error {
            line.push_str(&format!(": {error}"));
        }
        f.write_str(&line)
    }
}

/// A workflow's report that lists its steps.
pub trait Stepped {
    /// Its steps, in order.
    fn steps(&self) -> &[Step];
}

macro_rules! stepped {
    ($($report:ty),*) => {$(
        impl Stepped for $report {
            fn steps(&self) -> &[Step] {
                &self.steps
            }
        }
    )*};
}

stepped!(
    crate::S3Report,
    crate::backup::RestoreReport,
    crate::accounts::DeletionReport,
    crate::rotate_key::KeyRotationReport,
    crate::grants::RevokeAllReport,
    crate::secrets::DeletionReport,
    crate::dse::setup::SetupReport,
    crate::dse::offboard::OffboardReport
);

/// A report whose `result` is settled from its steps once its run ends.
pub(crate) trait Settled: Stepped {
    fn result_mut(&mut self) -> &mut Status;
}

macro_rules! settled {
    ($($report:ty),*) => {$(
        impl Settled for $report {
            fn result_mut(&mut self) -> &mut Status {
                &mut self.result
            }
        }
    )*};
}

settled!(
    crate::backup::RestoreReport,
    crate::rotate_key::KeyRotationReport,
    crate::dse::setup::SetupReport,
    crate::dse::offboard::OffboardReport
);

/// How a run that filled `report` ended: the report with its result settled from its steps,
/// or with the failure.
pub(crate) fn finish<R: Settled>(
    mut report: R,
    result: crate::Result<()>,
    dry_run: bool,
) -> crate::RunResult<R> {
    *report.result_mut() = Status::of(report.steps(), result.is_err(), dry_run);
    match result {
        Ok(()) => Ok(report),
        Err(error) => Err(crate::Failed { report, error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_their_json() {
        for outcome in [
            Outcome::AlreadyGranted,
            Outcome::UndoFailed,
            Outcome::WouldWrite,
            Outcome::NotRun,
        ] {
            let json = serde_json::to_value(outcome).unwrap();
            assert_eq!(json, outcome.as_str());
        }
        assert_eq!(
            serde_json::to_value(StepKind::KeyFile).unwrap(),
            StepKind::KeyFile.as_str()
        );
        assert_eq!(
            serde_json::to_value(ItemKind::ServiceAccount).unwrap(),
            ItemKind::ServiceAccount.as_str()
        );
        assert_eq!(
            serde_json::to_value(Status::WouldChange).unwrap(),
            Status::WouldChange.as_str()
        );
    }

    #[test]
    fn status_follows_the_steps() {
        let unchanged = [Step::secret("a", Outcome::Unchanged)];
        let created = [Step::secret("a", Outcome::Created)];
        assert_eq!(Status::of(&unchanged, false, false), Status::Unchanged);
        assert_eq!(Status::of(&created, false, false), Status::Changed);
        assert_eq!(Status::of(&created, false, true), Status::WouldChange);
        assert_eq!(Status::of(&unchanged, true, false), Status::Failed);
        let step = Step::grant("dcos:x", "read", "alice");
        let json = serde_json::to_value(&step).unwrap();
        assert_eq!(json["kind"], "grant");
        assert_eq!(json["outcome"], "not_run");
        assert!(json.get("fingerprint").is_none());
    }
}
