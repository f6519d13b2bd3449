//! The one error type of the workflows.
//!
//! An [`Error`] says what kind of failure it is ([`ErrorKind`]), what was being done, the
//! transport or file error beneath it ([`std::error::Error::source`]), what a failed run took
//! back ([`Undo`]), and what would help ([`Remedy`]). It never holds an exit code, a flag name
//! or a secret value: callers word their own advice from the typed remedy.

use std::fmt;

use dcos_iam_client::{Principal, Uid};
use dcos_secrets_client::SecretPath;

/// What kind of failure, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input cannot be used: a bad path, an unreadable file, a key that is not one.
    Invalid,
    /// Something exists with other content, and replacing it was not allowed.
    Conflict,
    /// What the workflow acts on does not exist.
    NotFound,
    /// A request failed: [`Error::api_error`] has the transport error, which says why.
    Api,
    /// Some steps were done and some failed; they were not taken back.
    Partial,
    /// Anything else: a file that cannot be written, a value that reads back wrong.
    Failed,
    /// AWS refused the credentials, or this identity may not do what was asked.
    Denied,
    /// AWS could not be reached, or answered that it cannot serve now.
    Unavailable,
    /// The caller asked the run to stop ([`crate::Reporter::stop_requested`]); what it had
    /// changed was taken back.
    Interrupted,
    /// The cluster changed since the plan the caller confirmed ([`crate::Confirmed`]):
    /// nothing was changed.
    Drift,
}

/// What a failed run took back, and what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Undo {
    /// What was undone, in words (`deleted secret team/key`).
    pub undone: Vec<String>,
    /// What is still on the cluster, each with why it could not be undone.
    pub left: Vec<String>,
}

impl Undo {
    /// Both accounts of what was taken back, this one's first.
    pub(crate) fn merge(mut self, other: Undo) -> Undo {
        self.undone.extend(other.undone);
        self.left.extend(other.left);
        self
    }

    /// Whether everything the run changed was taken back.
    pub fn is_complete(&self) -> bool {
        self.left.is_empty()
    }
}

impl fmt::Display for Undo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.undone.is_empty() && self.left.is_empty() {
            f.write_str("nothing had been changed")?;
        } else if !self.undone.is_empty() {
            write!(f, "undone: {}", self.undone.join("; "))?;
        }
        if !self.left.is_empty() {
            if !self.undone.is_empty() {
                f.write_str("; ")?;
            }
            write!(
                f,
                "NOT undone, still on the cluster: {}",
                self.left.join("; ")
            )?;
        }
        Ok(())
    }
}

/// What would help, for the caller to put in its own words (a command-line tool names its
/// flags and commands; a library user its own settings). Exhaustive on purpose: a caller that
/// words each remedy learns of a new one when it compiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// The service account does not exist: create it, with its login secret at `login_secret`.
    CreateServiceAccount { uid: Uid, login_secret: SecretPath },
    /// A secret holds another value: allow overwriting, or rotate the pair instead.
    AllowOverwrite,
    /// Secrets the service cannot mount: keep them in the folder of `service` (its name), or
    /// allow them knowingly. `login_secret_only` when the key pair is fine and only the service
    /// account's login secret is out of reach.
    StayInSpace {
        service: String,
        login_secret_only: bool,
    },
    /// The documentation's layout has no place for a region or an endpoint.
    UseSchemaLayout,
    /// There is no pair to rotate yet: onboard one first.
    OnboardFirst,
    /// Undo left something on the cluster: run the workflow again, or inspect.
    RunAgain,
    /// Some steps were done: run the same workflow again to finish.
    FinishPartial,
    /// An options file to merge into must exist.
    OptionsFileMissing,
    /// An options file exists with other content and is not replaced.
    OptionsFileDiffers,
    /// The service account exists already.
    AccountExists,
    /// Deleting would leave grants or login secrets behind: delete them with it.
    Cascade,
    /// A secret to delete is used by apps or pods: force it, or change them first.
    StillUsed,
    /// The login secret's path is taken.
    LoginSecretExists,
    /// A user, service account or group does not exist: check the spelling.
    CheckPrincipal { principal: Principal },
    /// A Hadoop configuration URL that cannot be reached from this machine.
    ReachableFromHere,
    /// The Hadoop configuration is not served where it was looked for.
    HadoopConfUrl,
    /// The account to offboard does not exist: a misspelt id, or an account already deleted
    /// (whose secrets are then deleted one by one).
    AccountGone { uid: Uid },
    /// A path given for the pair holds something else (another account's login secret).
    CheckPairPaths,
    /// The IAM user has keys DC/OS does not hold: retire them.
    RetireAwsKeys { user: String },
    /// A rotation with a new AWS key did not finish: run it again to finish it.
    FinishRotation { user: String },
    /// AWS refused this identity, or found none: the credentials of the standard chain, and
    /// the IAM permissions the workflow needs.
    AwsCredentials,
    /// AWS did not accept a new key in time: wait longer.
    KeyPropagation,
    /// A missing secret was to be deleted: allow that it is missing already.
    MissingIsFine,
    /// Advice that names no command or setting.
    Advice(String),
}

impl fmt::Display for Remedy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remedy::CreateServiceAccount { uid, login_secret } => write!(
                f,
                "create the service account `{uid}`, with its login secret at `{login_secret}`"
            ),
            Remedy::AllowOverwrite => {
                f.write_str("allow overwriting to replace it, or rotate the pair")
            }
            Remedy::StayInSpace { service, .. } => write!(
                f,
                "keep the secrets under `{service}/`, or allow paths outside the service's space"
            ),
            Remedy::UseSchemaLayout => f.write_str("use the schema layout, which the package reads"),
            Remedy::OnboardFirst => f.write_str("onboard the first pair"),
            Remedy::RunAgain => f.write_str("run the same workflow again to finish"),
            Remedy::FinishPartial => f.write_str(
                "the steps marked revoked or deleted were done; run the same workflow again to finish",
            ),
            Remedy::OptionsFileMissing => f.write_str("merging needs an existing options file"),
            Remedy::OptionsFileDiffers => {
                f.write_str("merge into the options file instead, or remove it first")
            }
            Remedy::AccountGone { uid } => write!(
                f,
                "check the spelling of `{uid}`; the secrets of an account that is gone are \
                 deleted one by one"
            ),
            Remedy::CheckPairPaths => f.write_str("check the paths given for the key pair"),
            Remedy::AccountExists => f.write_str("choose another id, or delete the old account first"),
            Remedy::Cascade => f.write_str("remove the grants and login secrets with the account"),
            Remedy::StillUsed => f.write_str("change the apps and pods that use it first"),
            Remedy::LoginSecretExists => f.write_str(
                "choose another path; an existing login secret is never replaced",
            ),
            Remedy::CheckPrincipal { principal } => write!(f, "check the spelling of {principal}"),
            Remedy::ReachableFromHere => {
                f.write_str("the URL must be reachable from this machine")
            }
            Remedy::HadoopConfUrl => {
                f.write_str("the URL's base must serve hdfs-site.xml and core-site.xml")
            }
            Remedy::RetireAwsKeys { user } => write!(
                f,
                "retire the keys of IAM user `{user}` that DC/OS does not hold"
            ),
            Remedy::FinishRotation { user } => write!(
                f,
                "finish the rotation: run it again with IAM user `{user}`"
            ),
            Remedy::AwsCredentials => f.write_str(
                "give AWS credentials through the standard chain, for an identity that may list, \
                 create, update and delete the user's access keys",
            ),
            Remedy::KeyPropagation => f.write_str("allow AWS more time to accept a new key"),
            Remedy::MissingIsFine => f.write_str("allow a missing secret to count as deleted"),
            Remedy::Advice(text) => f.write_str(text),
        }
    }
}

/// The error beneath a workflow error.
#[derive(Debug)]
enum Source {
    Api(dcos_transport::Error),
    Io(std::io::Error),
}

/// Every way a workflow can fail.
///
/// `Display` gives what was being done (or, with nothing to add, the error beneath);
/// [`std::error::Error::source`] gives the transport or file error; [`Error::full_message`]
/// gives the whole story in one line, undo included.
#[derive(Debug)]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    /// What was being done and what went wrong; empty when the source says it all.
    message: String,
    remedy: Option<Remedy>,
    source: Option<Source>,
    undo: Option<Undo>,
}

/// A shorthand for workflow results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            message: message.into(),
            remedy: None,
            source: None,
            undo: None,
        }))
    }

    fn with_source(mut self, source: Source) -> Self {
        self.0.source = Some(source);
        self
    }

    pub(crate) fn of_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    pub(crate) fn interrupted() -> Self {
        Self::new(ErrorKind::Interrupted, "interrupted")
    }

    /// A file error of `kind`, saying what was being done.
    pub(crate) fn io(kind: ErrorKind, what: impl fmt::Display, error: std::io::Error) -> Self {
        Self::new(kind, what.to_string()).with_source(Source::Io(error))
    }

    /// The same error, as another kind (the cause stays).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// Adds what would help.
    pub(crate) fn with_remedy(mut self, remedy: Remedy) -> Self {
        self.0.remedy = Some(remedy);
        self
    }

    /// Adds what the failed run took back. Something left behind makes running again the
    /// remedy.
    pub(crate) fn with_undo(mut self, undo: Undo) -> Self {
        if !undo.is_complete() {
            self.0.remedy = Some(Remedy::RunAgain);
        }
        self.0.undo = Some(undo);
        self
    }

    /// Prefixes the message with what was being done.
    pub(crate) fn context(mut self, what: impl fmt::Display) -> Self {
        let inner = &mut self.0;
        inner.message = if inner.message.is_empty() {
            what.to_string()
        } else {
            format!("{what}: {}", inner.message)
        };
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// What would help, if something would.
    pub fn remedy(&self) -> Option<&Remedy> {
        self.0.remedy.as_ref()
    }

    /// The transport error beneath, when a request failed: branch on its `is_not_found()`,
    /// `is_unauthorized()` and the others.
    pub fn api_error(&self) -> Option<&dcos_transport::Error> {
        match &self.0.source {
            Some(Source::Api(e)) => Some(e),
            _ => None,
        }
    }

    /// What a failed run took back, when it had changed something (or tried to).
    pub fn undo(&self) -> Option<&Undo> {
        self.0.undo.as_ref()
    }

    /// The whole story in one line: what was being done, every cause (each said once), and
    /// what was undone.
    pub fn full_message(&self) -> String {
        let mut text = self.0.message.clone();
        let cause: Option<&(dyn std::error::Error + 'static)> = match &self.0.source {
            Some(Source::Api(e)) => Some(e),
            Some(Source::Io(e)) => Some(e),
            None => None,
        };
        push_causes(&mut text, cause);
        if let Some(undo) = &self.0.undo {
            // A message that says nothing was changed needs no "nothing had been changed".
            let nothing = undo.undone.is_empty() && undo.left.is_empty();
            if !(nothing && text.contains("nothing was changed")) {
                text.push_str(&format!("; {undo}"));
            }
        }
        text
    }
}

/// Appends to `text` the message of `error` and of each of its causes, each said once.
pub(crate) fn push_causes(text: &mut String, error: Option<&(dyn std::error::Error + 'static)>) {
    let mut cause = error;
    while let Some(error) = cause {
        let said = error.to_string();
        if !text.contains(&said) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&said);
        }
        cause = error.source();
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.source, self.0.message.is_empty()) {
            (Some(Source::Api(e)), true) => e.fmt(f),
            (Some(Source::Io(e)), true) => e.fmt(f),
            _ => f.write_str(&self.0.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source: &(dyn std::error::Error + 'static) = match &self.0.source {
            Some(Source::Api(e)) => e,
            Some(Source::Io(e)) => e,
            None => return None,
        };
        // With no message of its own, the error shows its source, so the chain goes on below.
        if self.0.message.is_empty() {
            source.source()
        } else {
            Some(source)
        }
    }
}

impl From<dcos_transport::Error> for Error {
    fn from(error: dcos_transport::Error) -> Self {
        match error {
            // Input the clients refused before sending: a bad path, id or value.
            dcos_transport::Error::InvalidInput(message) => Self::invalid(message),
            // Cut short because the caller asked the run to stop.
            error @ dcos_transport::Error::Interrupted { .. } => {
                Self::new(ErrorKind::Interrupted, "").with_source(Source::Api(error))
            }
            error => Self::new(ErrorKind::Api, "").with_source(Source::Api(error)),
        }
    }
}

/// Adds what was being done to an error, turning it into an [`Error`].
pub(crate) trait Context<T> {
    /// Prefixes the error's message with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }
}

/// A workflow that failed, with its report up to the failure (and the undo it did).
#[derive(Debug)]
pub struct Failed<R> {
    /// What the run did, step by step.
    pub report: R,
    /// Why it failed.
    pub error: Error,
}

impl<R> fmt::Display for Failed<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<R: fmt::Debug> std::error::Error for Failed<R> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The result of a workflow: its report, or the report of a failed run with the error.
pub type RunResult<R> = std::result::Result<R, Failed<R>>;

#[cfg(test)]
mod tests {
    use super::*;
    use dcos_transport::{ApiError, StatusCode};

    fn api(status: u16, body: &str) -> dcos_transport::Error {
        dcos_transport::Error::Api(Box::new(ApiError::from_body(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
        )))
    }

    #[test]
    fn a_request_error_keeps_its_cause_and_context() {
        let error = Error::from(api(503, "")).context("secret a/b");
        assert_eq!(error.kind(), ErrorKind::Api);
        assert!(error.api_error().unwrap().is_retryable());
        assert_eq!(error.to_string(), "secret a/b");
        let full = error.full_message();
        assert!(full.starts_with("secret a/b: "), "{full}");
        assert!(full.contains("503"), "{full}");
        let source = std::error::Error::source(&error).unwrap();
        assert!(source.to_string().contains("503"));
    }

    #[test]
    fn without_context_the_error_is_its_cause() {
        let error = Error::from(api(404, ""));
        assert!(error.to_string().contains("404"));
        assert!(std::error::Error::source(&error).is_none());
        assert_eq!(error.full_message(), error.to_string());
    }

    #[test]
    fn invalid_input_of_the_clients_is_invalid() {
        let error = Error::from(dcos_transport::Error::InvalidInput("bad path".into()));
        assert_eq!(error.kind(), ErrorKind::Invalid);
        assert_eq!(error.full_message(), "bad path");
    }

    #[test]
    fn undo_is_told_after_the_causes() {
        let complete = Undo {
            undone: vec!["deleted secret a".into(), "revoked read on x".into()],
            left: Vec::new(),
        };
        let error = Error::from(api(500, ""))
            .context("grant x")
            .with_undo(complete);
        let full = error.full_message();
        assert!(
            full.ends_with("; undone: deleted secret a; revoked read on x"),
            "{full}"
        );
        assert!(error.remedy().is_none());

        let partial = Undo {
            undone: Vec::new(),
            left: vec!["secret a (refused)".into()],
        };
        let error = Error::conflict("x").with_undo(partial);
        assert_eq!(
            error.full_message(),
            "x; NOT undone, still on the cluster: secret a (refused)"
        );
        assert_eq!(error.remedy(), Some(&Remedy::RunAgain));
        let nothing = Error::conflict("x").with_undo(Undo::default());
        assert_eq!(nothing.full_message(), "x; nothing had been changed");
        let said = Error::conflict("a holds another value; nothing was changed")
            .with_undo(Undo::default());
        assert_eq!(
            said.full_message(),
            "a holds another value; nothing was changed"
        );
    }
}
