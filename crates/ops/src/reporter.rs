//! How a workflow tells its caller what happens while it runs: warnings that do not stop it,
//! the plan, and progress through the items of an `apply`.

use std::fmt;

use dcos_secrets_client::SecretPath;

use crate::report::ItemReport;

/// Something the caller should know that does not stop the work.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The options use the documentation's top-level `s3` block, which the package ignores.
    DocsLayout,
    /// The options file being merged into has a top-level `s3` block; it is kept.
    TopLevelS3Kept,
    /// Secrets outside the service's space, allowed by the caller (`reason` says which).
    OutsideSpace { reason: String },
    /// An onboarding's login secret does not exist yet.
    LoginSecretMissing { path: SecretPath },
    /// Login secrets of an `apply`'s onboardings that neither exist nor are declared: the
    /// first, and how many more.
    LoginSecretsMissing { first: SecretPath, more: usize },
    /// A rotation found one secret already holding its half of the new pair.
    RotationHalfDone { path: SecretPath },
    /// Marathon could not be read, so a plan cannot say which apps use a secret it deletes.
    MarathonUnread { why: String },
    /// A restart was asked for, and no app or pod uses the pair.
    NothingToRestart,
    /// Where an unfinished rotation with a new AWS key would keep both pairs could not be read.
    RotationRecordUnread { path: SecretPath, why: String },
    /// The access key id is of temporary credentials (`ASIA...`).
    TemporaryKey,
    /// `AWS_SESSION_TOKEN` is set, and is not stored.
    SessionTokenIgnored,
    /// The profile holds temporary credentials (an `aws_session_token`).
    ProfileSessionToken { profile: String },
    /// A login endpoint that is not https.
    LoginEndpointNotHttps,
    /// A key rotation that an earlier run began (its recovery file was found) is being finished.
    KeyRotationResumed { uid: String },
    /// Secrets this token cannot read, among which a login secret of `uid` would keep its old
    /// key: the rotation gives the new key to the login secrets it found.
    LoginSecretsUnread { uid: String, count: usize },
    /// A rotation with a new AWS key that an earlier run began is being finished.
    RotationResumed { key_id: String },
    /// The new pair is stored but the service was not restarted: it runs on the old key.
    NotRestarted,
    /// A group (or resource) whose id cannot be sent safely (`..` is a URL dot segment, which
    /// would address another path) was left as it is.
    Unaddressable { what: String, id: String },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::DocsLayout => f.write_str(
                "the top-level `s3` block is the documentation's layout; every published Data \
                 Science Engine package reads `storage.s3` and silently ignores `s3`, so the \
                 service will not use these credentials (use the schema layout)",
            ),
            Warning::TopLevelS3Kept => f.write_str(
                "the options file also has a top-level `s3` block, which the package ignores; \
                 it is kept as it is",
            ),
            Warning::OutsideSpace { reason } => f.write_str(reason),
            Warning::LoginSecretMissing { path } => write!(
                f,
                "the login secret `{path}` does not exist yet; the service cannot start without it"
            ),
            Warning::LoginSecretsMissing { first, more } => {
                let (more, verb) = match more {
                    0 => (String::new(), "does"),
                    n => (format!(" and {n} more"), "do"),
                };
                write!(
                    f,
                    "the login secret `{first}`{more} {verb} not exist; those services cannot \
                     start without it"
                )
            }
            Warning::RotationHalfDone { path } => write!(
                f,
                "`{path}` already holds its half of the new pair (an interrupted rotation?); \
                 completing it"
            ),
            Warning::NothingToRestart => {
                f.write_str("no Marathon app or pod uses the pair: there is nothing to restart")
            }
            Warning::MarathonUnread { why } => write!(
                f,
                "cannot tell which Marathon apps use the secrets to delete ({why}); an app that \
                 uses one fails at its next start"
            ),
            Warning::RotationRecordUnread { path, why } => write!(
                f,
                "cannot read `{path}`, where an unfinished rotation with a new AWS key keeps both \
                 pairs ({why}); if it exists, it is left"
            ),
            Warning::TemporaryKey => f.write_str(
                "the access key id starts with ASIA: temporary credentials need a session token, \
                 which the Data Science Engine has no option for; use a long-term key (AKIA...)",
            ),
            Warning::LoginSecretsUnread { uid, count } => write!(
                f,
                "{count} secret{} could not be read with this token: a login secret of `{uid}` \
                 among them would keep the old key",
                if *count == 1 { "" } else { "s" }
            ),
            Warning::KeyRotationResumed { uid } => write!(
                f,
                "finishing the key rotation of `{uid}` that an earlier run began (its recovery \
                 file is beside the key file)"
            ),
            Warning::RotationResumed { key_id } => write!(
                f,
                "finishing the rotation to access key {key_id} that an earlier run began"
            ),
            Warning::Unaddressable { what, id } => write!(
                f,
                "{what} `{id}` was left as it is: its id is not a valid id, and in a URL path it \
                 would address another resource; remove it by other means"
            ),
            Warning::NotRestarted => f.write_str(
                "the service runs on the old key until it is restarted; restart it before the old \
                 key is retired",
            ),
            Warning::ProfileSessionToken { profile } => write!(
                f,
                "profile `{profile}` holds temporary credentials (aws_session_token): they expire \
                 within hours, and the Data Science Engine has no option for the session token; \
                 store a long-term key (AKIA...) instead"
            ),
            Warning::SessionTokenIgnored => f.write_str(
                "AWS_SESSION_TOKEN is set and will not be stored: the Data Science Engine takes \
                 no session token",
            ),
            Warning::LoginEndpointNotHttps => {
                f.write_str("the login endpoint is not https://; clusters in strict mode refuse it")
            }
        }
    }
}

/// The caller's side of a run: what it is told while the run goes on, and whether the caller
/// asks it to stop. Every method but [`Reporter::warn`] does nothing unless implemented.
pub trait Reporter: Send + Sync {
    /// A warning.
    fn warn(&self, warning: &Warning);

    /// An `apply` planned: `to_change` of `total` items change, `refused` were refused.
    fn planned(&self, to_change: usize, total: usize, refused: usize) {
        let _ = (to_change, total, refused);
    }

    /// An `apply` starts running `total` items.
    fn begin(&self, total: usize) {
        let _ = total;
    }

    /// `done` more of the `total` that [`Reporter::begin`] announced are done (the secrets a
    /// backup saved).
    fn advanced(&self, done: usize) {
        let _ = done;
    }

    /// One item of an `apply` finished.
    fn item_done(&self, item: &ItemReport) {
        let _ = item;
    }

    /// An `apply` finished running its items.
    fn end(&self) {}

    /// Whether the caller asks the run to stop (a user pressed Ctrl-C, say). A run checks
    /// before each round of writes and before each item: it starts nothing new, lets what is
    /// in flight finish, takes back what it changed, and fails with
    /// [`crate::ErrorKind::Interrupted`].
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A reporter that drops everything, for library users and tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn warn(&self, _: &Warning) {}
}
