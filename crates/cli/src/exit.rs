//! Exit codes, and the one error type every command returns.
//!
//! The codes are part of the interface: scripts branch on them, and docs/scripting.md lists them.

use std::fmt;

use dcos_ops::{ErrorKind, Remedy};
use dcos_transport::{Error as ApiError, TlsProblem};

/// Success, including "nothing to change".
pub const SUCCESS: u8 = 0;
/// An unexpected failure, or an error answer of the API that fits no other code.
pub const FAILURE: u8 = 1;
/// Bad usage or invalid input.
pub const USAGE: u8 = 2;
/// Exists with a different value, and overwriting was not allowed.
pub const CONFLICT: u8 = 3;
/// Authentication or permission: a 401 or 403, or no usable token.
pub const AUTH: u8 = 4;
/// The secret, account, group or resource does not exist.
pub const NOT_FOUND: u8 = 5;
/// The cluster cannot be reached, or still fails after the retries.
pub const UNAVAILABLE: u8 = 6;
/// Some items succeeded and some failed; JSON output says which.
pub const PARTIAL: u8 = 7;
/// `apply --check`: the cluster differs from the manifest.
pub const DRIFT: u8 = 8;
/// Stopped by Ctrl-C (SIGINT): 128 + 2, as shells have it.
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM: 128 + 15.
pub const TERMINATED: u8 = 143;

/// Every exit code with its name in JSON errors (`"kind"`, for scripts that prefer words) and
/// its meaning, for `--help` and docs/scripting.md.
pub const TABLE: [(u8, &str, &str); 11] = [
    (SUCCESS, "success", "success, including nothing to change"),
    (
        FAILURE,
        "failure",
        "unexpected failure, or an API error that fits no other code",
    ),
    (USAGE, "usage", "usage error or invalid input"),
    (
        CONFLICT,
        "conflict",
        "conflict: exists with a different value and overwriting was not allowed",
    ),
    (
        AUTH,
        "auth",
        "authentication, permission or trust: 401/403, no usable or an expired token, a TLS \
         certificate that does not verify, a CA fingerprint mismatch",
    ),
    (
        NOT_FOUND,
        "not_found",
        "the secret, account, group or resource does not exist",
    ),
    (
        UNAVAILABLE,
        "unavailable",
        "cluster unreachable, or still failing after retries",
    ),
    (
        PARTIAL,
        "partial",
        "partial failure: some items failed (JSON output says which)",
    ),
    (
        DRIFT,
        "drift",
        "drift: apply --check found changes pending (the cluster differs from the manifest), or \
         the cluster changed while a confirmation prompt waited (nothing was changed)",
    ),
    (
        INTERRUPTED,
        "interrupted",
        "stopped by Ctrl-C before the job was done: nothing new started, what was in flight \
         was cut short, what was changed was taken back",
    ),
    (TERMINATED, "terminated", "stopped by SIGTERM, the same way"),
];

/// The name of an exit code in JSON errors.
pub fn kind_of(code: u8) -> &'static str {
    let row = TABLE.iter().find(|(c, ..)| *c == code);
    row.map_or("failure", |(_, kind, _)| kind)
}

/// Why a command failed: an exit code, a message, and perhaps a hint on what to do.
///
/// Messages never hold a secret value: they are built from paths, ids and the API's own
/// (value-free) error excerpts.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Whether the JSON report on standard output already carries this failure as its
    /// `"error"`, so that nothing more is printed there.
    pub reported: bool,
}

/// A failure as JSON: `{"error": {"kind", "exit_code", "message", "hint"}}`, alone on standard
/// output, or as the `error` field of a report that was printed all the same.
#[derive(Debug, serde::Serialize)]
pub struct ErrorDoc<'a> {
    pub kind: &'static str,
    pub exit_code: u8,
    pub message: &'a str,
    pub hint: Option<&'a str>,
}

impl Failure {
    /// A failure with `code`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: None,
            reported: false,
        }
    }

    /// Its JSON form.
    pub fn doc(&self) -> ErrorDoc<'_> {
        ErrorDoc {
            kind: kind_of(self.code),
            exit_code: self.code,
            message: &self.message,
            hint: self.hint.as_deref(),
        }
    }

    /// Invalid input (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The failure beneath a failed login: a login that could not reach the cluster is a
/// connection problem, not an authentication one.
fn root(error: &ApiError) -> &ApiError {
    match error {
        ApiError::Token {
            source: Some(inner),
            ..
        } => root(inner),
        e => e,
    }
}

/// Where the TLS trust of this run came from (`DCOS_TLS_CA_PATH /path/ca.pem`), set once the
/// cluster is resolved, for the message of a certificate that does not verify.
pub static TRUST_SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// Where the token of this run came from (`from keyring (shadows dcos CLI)`), for the message
/// of a token the cluster refuses.
pub static TOKEN_SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The exit code for an error of the clients.
pub fn code_of(error: &ApiError) -> u8 {
    match root(error) {
        ApiError::InvalidInput(_) => USAGE,
        // Not a passing condition: the certificate is refused, or the URL is wrong.
        ApiError::Tls {
            problem: TlsProblem::SpeaksTls,
            ..
        } => USAGE,
        ApiError::Tls { .. } => AUTH,
        ApiError::Transport { .. } | ApiError::Timeout { .. } | ApiError::Deadline { .. } => {
            UNAVAILABLE
        }
        ApiError::Interrupted { .. } => INTERRUPTED,
        e if e.is_unauthorized() || e.is_forbidden() => AUTH,
        e if e.is_not_found() => NOT_FOUND,
        e if e.is_conflict() => CONFLICT,
        e if e.is_retryable() => UNAVAILABLE,
        _ => FAILURE,
    }
}

/// What to do about an error of the clients, when there is something to say.
fn hint_of(error: &ApiError) -> Option<String> {
    let error = root(error);
    match error {
        ApiError::Tls {
            problem: TlsProblem::SpeaksTls,
            ..
        } => return Some("use the cluster's https:// URL".to_owned()),
        ApiError::Tls { .. } => {
            let trusted = TRUST_SOURCE.get().map_or("the trusted CAs", String::as_str);
            return Some(format!(
                "the certificate was checked against {trusted}: pass the cluster's own CA with \
                 --ca-cert FILE, or pin it with --ca-fingerprint (`dcos-creds ca fetch` prints it)"
            ));
        }
        e if e.is_unauthorized() && e.code() != Some("ERR_INVALID_CREDENTIALS") => {
            let token = TOKEN_SOURCE
                .get()
                .map_or("is missing, expired or invalid".into(), |s| {
                    format!("{s} was refused: it has expired or is not this cluster's")
                });
            return Some(format!("the token {token}: {}", crate::connect::LOG_IN));
        }
        _ => {}
    }
    hint_text(error).map(str::to_owned)
}

/// The fixed hints.
fn hint_text(error: &ApiError) -> Option<&'static str> {
    if error.code() == Some("ERR_INVALID_CREDENTIALS") {
        return Some(
            "check the user name and password (or the service account's private key); \
             the account must exist on this cluster",
        );
    }
    match error {
        e if e.is_forbidden() => Some(
            "the account lacks the permission; `dcos-creds whoami` shows which account is used",
        ),
        ApiError::Redirect { .. } => Some(
            "the DC/OS APIs never redirect, so nothing was sent on: check --url (the cluster's \
             own address, as `dcos config show core.dcos_url` has it)",
        ),
        ApiError::Transport { .. } | ApiError::Timeout { .. } => Some(
            "check --url and that the cluster is reachable; for a TLS error pass the cluster CA \
             with --ca-cert or --ca-fingerprint",
        ),
        ApiError::Deadline { .. } => Some(
            "the cluster did not answer in time: check that it is reachable, or give the command \
             more time with --deadline SECONDS",
        ),
        _ => None,
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        // The causes say what actually failed (a refused connection, an unknown TLS issuer);
        // they carry paths and library messages, never a value or a token.
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        let failure = Failure::new(code_of(&error), message);
        match hint_of(&error) {
            Some(hint) => failure.hint(hint),
            None => failure,
        }
    }
}

/// Words a workflow's remedy for people at this command line, naming its flags and commands.
pub fn remedy_hint(remedy: &Remedy) -> String {
    match remedy {
        Remedy::CreateServiceAccount { uid, login_secret } => format!(
            "create it with `dcos-creds service-account create {uid} --private-key-out {uid}.pem --secret {login_secret}`"
        ),
        Remedy::AllowOverwrite => {
            "pass --overwrite to replace it, or use `dcos-creds s3 rotate` to replace the pair"
                .into()
        }
        Remedy::StayInSpace {
            service,
            login_secret_only: true,
        } => format!(
            "store the login secret directly in `{service}/` or an ancestor folder (like \
             `{service}/service-account`) and pass that --service-account-secret, or pass \
             --allow-outside-space if another mechanism gives the service the secret"
        ),
        Remedy::StayInSpace { service, .. } => format!(
            "keep the defaults (`{service}/aws_access_key_id` ...), put the secrets directly in \
             `{service}/` (like `{service}/aws_key`; a subfolder such as `{service}/x/aws_key` is \
             out of reach), or pass --allow-outside-space if another mechanism gives the service \
             the secrets"
        ),
        Remedy::UseSchemaLayout => "use --layout schema, which the package reads".into(),
        Remedy::OnboardFirst => "store the first pair with `dcos-creds s3 onboard`".into(),
        Remedy::RunAgain => "run the same command again to finish, or inspect with \
            `dcos-creds secret list` and `dcos-creds access`"
            .into(),
        Remedy::FinishPartial => "the steps marked revoked or deleted were done; run the same \
            command again to finish"
            .into(),
        Remedy::OptionsFileMissing => {
            "--merge-into updates an existing file; use --out to write a new one".into()
        }
        Remedy::OptionsFileDiffers => {
            "use --merge-into to update an options file, or remove it first".into()
        }
        Remedy::AccountGone { uid } => format!(
            "check the spelling of `{uid}`; to delete the secrets of an account that is gone, use \
             `dcos-creds secret delete PATH`"
        ),
        Remedy::CheckPairPaths => {
            "check --key-id-secret and --secret-key-secret (their defaults follow --service-name)"
                .into()
        }
        Remedy::AccountExists => "choose another id, or delete the old account first with \
            `dcos-creds service-account delete UID` (a new key for the same id also needs a new \
            login secret)"
            .into(),
        Remedy::Cascade => "pass --cascade to revoke the grants and delete the login secrets \
            with the account (--dry-run shows the plan), or move them first"
            .into(),
        Remedy::StillUsed => "change or remove those apps and pods first, or pass --force to \
            delete all the same (they fail at their next start); `dcos-creds secret consumers \
            PATH` lists them"
            .into(),
        Remedy::LoginSecretExists => {
            "choose another --secret path; an existing login secret is never replaced".into()
        }
        Remedy::CheckPrincipal {
            principal: dcos_iam_client::Principal::User(_),
        } => "check the spelling; `dcos-creds service-account create` creates a service account"
            .into(),
        Remedy::CheckPrincipal { .. } => "check the spelling of the group id".into(),
        Remedy::AwsCredentials => "AWS credentials come from the standard chain: \
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE (SSO and credential_process \
            included), AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, or container and instance \
            metadata; the identity needs iam:GetUser, iam:ListAccessKeys, iam:CreateAccessKey, \
            iam:UpdateAccessKey and iam:DeleteAccessKey on the user"
            .into(),
        Remedy::KeyPropagation => "the new key was deleted again; pass a longer \
            --key-propagation-timeout"
            .into(),
        Remedy::FinishRotation { user } => format!(
            "finish it first with `dcos-creds s3 rotate --create-aws-key --aws-iam-user {user} \
             --restart` (with the same --service-name and secret paths)"
        ),
        Remedy::ReachableFromHere => "the URL must be reachable from here for --check; in-cluster \
            names such as *.l4lb.thisdcos.directory resolve only on cluster nodes"
            .into(),
        Remedy::HadoopConfUrl => "the URL's base must serve both files; for the DC/OS HDFS \
            package it is http://api.<hdfs-service>.marathon.l4lb.thisdcos.directory/v1/endpoints"
            .into(),
        Remedy::RetireAwsKeys { user } => format!(
            "retire the keys DC/OS does not hold with `dcos-creds s3 retire-aws-key \
             --aws-iam-user {user}` (--dry-run shows them first)"
        ),
        Remedy::MissingIsFine => "--if-exists makes a missing secret no failure".into(),
        // Advice names no command or setting: it reads the same here as anywhere.
        Remedy::Advice(text) => text.clone(),
    }
}

impl From<dcos_ops::Error> for Failure {
    fn from(error: dcos_ops::Error) -> Self {
        let code = match (error.kind(), error.api_error()) {
            (ErrorKind::Invalid, _) => USAGE,
            (ErrorKind::Conflict, _) => CONFLICT,
            (ErrorKind::NotFound, _) => NOT_FOUND,
            (ErrorKind::Partial, _) => PARTIAL,
            (ErrorKind::Interrupted, _) => INTERRUPTED,
            (ErrorKind::Drift, _) => DRIFT,
            (ErrorKind::Denied, _) => AUTH,
            (ErrorKind::Unavailable, _) => UNAVAILABLE,
            (ErrorKind::Api, Some(api)) => code_of(api),
            _ => FAILURE,
        };
        let hint = match (error.remedy(), error.api_error()) {
            (Some(remedy), _) => Some(remedy_hint(remedy)),
            (None, Some(api)) => hint_of(api),
            (None, None) => None,
        };
        Failure {
            code,
            message: error.full_message(),
            hint,
            reported: false,
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::new(FAILURE, error.to_string())
    }
}

/// A shorthand for command results.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Adds what was being done to an error, turning it into a [`Failure`].
pub trait Context<T> {
    /// Prefixes the error's message with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: Into<Failure>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcos_transport::{ApiError as Body, StatusCode};

    fn api(status: u16, body: &str) -> ApiError {
        ApiError::Api(Box::new(Body::from_body(
            StatusCode::from_u16(status).unwrap(),
            body.as_bytes(),
        )))
    }

    #[test]
    fn api_errors_map_to_documented_codes() {
        assert_eq!(code_of(&api(401, "<html>")), AUTH);
        assert_eq!(code_of(&api(403, "")), AUTH);
        assert_eq!(code_of(&api(404, "")), NOT_FOUND);
        let unknown = r#"{"title":"400 Bad Request","code":"ERR_UNKNOWN_USER_ID"}"#;
        assert_eq!(code_of(&api(400, unknown)), NOT_FOUND);
        assert_eq!(code_of(&api(409, "")), CONFLICT);
        assert_eq!(code_of(&ApiError::Conflict("x".into())), CONFLICT);
        assert_eq!(code_of(&api(503, "")), UNAVAILABLE);
        assert_eq!(code_of(&api(500, "")), FAILURE);
        assert_eq!(code_of(&api(400, "{}")), FAILURE);
        assert_eq!(code_of(&ApiError::InvalidInput("x".into())), USAGE);
        let login = |inner| ApiError::Token {
            message: "login failed".into(),
            source: inner,
        };
        assert_eq!(code_of(&login(None)), AUTH);
        assert_eq!(code_of(&login(Some(Box::new(api(503, ""))))), UNAVAILABLE);
        assert_eq!(code_of(&login(Some(Box::new(api(401, ""))))), AUTH);
    }

    #[test]
    fn the_scripting_page_lists_every_exit_code() {
        let page = include_str!("../../../docs/scripting.md");
        for (code, _, meaning) in TABLE {
            let row = format!("| {code} | {meaning} |");
            assert!(
                page.contains(&row),
                "docs/scripting.md lacks the row `{row}`"
            );
        }
    }

    #[test]
    fn workflow_errors_keep_their_codes_and_hints() {
        let refused = dcos_ops::Error::from(api(503, "")).to_string();
        assert!(refused.contains("503"), "{refused}");
        let failure = Failure::from(dcos_ops::Error::from(api(401, "<html>")));
        assert_eq!(failure.code, AUTH);
        assert!(failure.hint.unwrap().contains("dcos-creds login"));
        let invalid = dcos_ops::Error::from(ApiError::InvalidInput("bad".into()));
        assert_eq!(Failure::from(invalid).code, USAGE);
    }

    #[test]
    fn wrong_credentials_get_a_hint() {
        let body = r#"{"title":"401 Unauthorized","code":"ERR_INVALID_CREDENTIALS"}"#;
        let failure = Failure::from(api(401, body));
        assert_eq!(failure.code, AUTH);
        assert!(failure.hint.unwrap().contains("user name and password"));
    }
}
