//! Why a connection could not be settled.
//!
//! Each variant carries what a caller needs to word its own advice (which source, which file,
//! when a token expired); none holds a token, a password or a key.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::Origin;

/// Why the URL, the trust or the token could not be settled. Exhaustive on purpose: a caller
/// that words each one learns of a new one when it compiles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No source names a cluster.
    #[error("no cluster URL")]
    NoUrl,
    /// A URL without `https://` (`dcos.example.com`).
    #[error("the cluster URL `{raw}` has no scheme")]
    NoScheme {
        /// The URL as given.
        raw: String,
    },
    /// A URL that does not parse, or is not http(s).
    #[error("the cluster URL `{raw}` is {why}")]
    BadUrl {
        /// The URL as given.
        raw: String,
        /// What is wrong with it.
        why: String,
    },
    /// A fingerprint that is not `sha256:` and 64 hex digits.
    #[error("{from} `{text}` is not a SHA-256 fingerprint: expected sha256: and 64 hex digits")]
    BadFingerprint {
        /// The source that gave it.
        from: String,
        /// What was given.
        text: String,
    },
    /// A fingerprint pin asked of a plain-http cluster.
    #[error(
        "{from} pins the CA of an https:// cluster, and `{url}` is not one: nothing was \
         downloaded or sent"
    )]
    PinNeedsHttps {
        /// The source of the pin.
        from: String,
        /// The cluster URL.
        url: String,
    },
    /// The cluster's CA is not the pinned one.
    #[error(
        "the cluster's CA does not match {from}: expected {expected}, got {}; nothing was sent",
        got.join(", ")
    )]
    PinMismatch {
        /// The source of the pin.
        from: String,
        /// The pinned fingerprint.
        expected: String,
        /// The fingerprints of the certificates the cluster served.
        got: Vec<String>,
    },
    /// Credentials would go over plain http beyond loopback.
    #[error("refusing to send a token, password or secret over plain http to {host}")]
    PlainHttp {
        /// The cluster's host.
        host: String,
    },
    /// No source has a token or credentials.
    #[error("not logged in to {url}")]
    NotLoggedIn {
        /// The cluster URL.
        url: String,
    },
    /// A token nothing renews has expired; nothing was sent.
    #[error("the token from {} expired; nothing was sent", origin.as_str())]
    Expired {
        /// Where the token came from.
        origin: Origin,
        /// When it expired.
        at: SystemTime,
    },
    /// A yes-or-no variable with another word.
    #[error("{name} must be one of 1, true, yes, on (or 0, false, no, off), not `{value}`")]
    BadFlag {
        /// The variable.
        name: &'static str,
        /// Its value, on one line.
        value: String,
    },
    /// One of two variables that go together is set without the other.
    #[error("{set} is set but {missing} is not")]
    HalfPair {
        /// The variable that is set.
        set: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// A file (a CA bundle, a key, the dcos CLI's configuration) that cannot be used.
    #[error("{what} {}: {why}", file.display())]
    File {
        /// What the file is for.
        what: String,
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The value of a variable that cannot be used (a login secret, a uid, a login endpoint).
    #[error("{name}: {why}")]
    Variable {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        why: String,
    },
    /// A token without a valid `uid` claim.
    #[error("the token carries no valid `uid` claim; it is not a DC/OS token")]
    NoUid,
    /// The OS keyring could not store or remove a token.
    #[error("no OS keyring could store the token ({0})")]
    Keyring(String),
    /// A request (the CA download, a login) failed.
    #[error("{what}")]
    Api {
        /// What was being done.
        what: String,
        /// The failure.
        #[source]
        source: dcos_transport::Error,
    },
}

impl Error {
    /// The transport error beneath, for a failed request.
    pub fn api_error(&self) -> Option<&dcos_transport::Error> {
        match self {
            Error::Api { source, .. } => Some(source),
            _ => None,
        }
    }

    pub(crate) fn api(what: impl Into<String>) -> impl FnOnce(dcos_transport::Error) -> Self {
        let what = what.into();
        move |source| Error::Api { what, source }
    }
}

/// A shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
