//! The command line's flags handed to `dcos-connect`, and its errors worded for this command
//! line.

use std::time::{Duration, SystemTime};

use dcos_connect::{Environment, Error, Given, Options, Origin};
use dcos_ops::Clients;

pub use dcos_connect::Cluster;

use crate::args::Global;
use crate::exit::{self, Failure};
use crate::output::Ui;

/// An authenticated connection, with the Secrets and IAM clients on it.
#[derive(Debug)]
pub struct Session {
    /// The Secrets and IAM APIs.
    pub clients: Clients,
    connection: dcos_connect::Session,
}

impl std::ops::Deref for Session {
    type Target = dcos_connect::Session;

    fn deref(&self) -> &Self::Target {
        &self.connection
    }
}

impl From<dcos_connect::Session> for Session {
    fn from(connection: dcos_connect::Session) -> Self {
        Self {
            clients: Clients::new(connection.transport.clone()),
            connection,
        }
    }
}

/// The global flags as the library's options.
pub fn options(global: &Global) -> Options {
    Options {
        url: global.url.clone().map(|url| Given::new("--url", url)),
        ca_cert: global.ca_cert.clone().map(|f| Given::new("--ca-cert", f)),
        ca_fingerprint: (global.ca_fingerprint.clone()).map(|f| Given::new("--ca-fingerprint", f)),
        insecure: global.insecure.then(|| "--insecure".to_owned()),
        allow_http: global.allow_http,
        timeout: Duration::from_secs(global.timeout),
        limits: crate::interrupt::limits(),
        max_in_flight: None,
        retries: None,
        backoff: None,
    }
}

/// Settles URL and trust, and says a trust that verifies nothing: always when the
/// environment or the dcos CLI chose it (the user may not know it is in force), unless `-q`
/// when --insecure did.
pub async fn resolve(global: &Global, ui: &Ui) -> exit::Result<Cluster> {
    let cluster = Cluster::resolve(&options(global), &Environment::process()).await?;
    for warning in &cluster.warnings {
        match warning.asked {
            true => ui.warn(warning.to_string()),
            false => ui.warn_always(warning.to_string()),
        }
    }
    let _ = exit::TRUST_SOURCE.set(cluster.trusted.clone());
    Ok(cluster)
}

/// Finds a token and connects; `probe_keyring` also asks the keyring when another source
/// wins, to say that it is shadowed.
pub async fn session(cluster: &Cluster, probe_keyring: bool) -> exit::Result<Session> {
    let environment = Environment::process();
    let session = cluster.session_probing(&environment, probe_keyring).await?;
    let _ = exit::TOKEN_SOURCE.set(session.token_source.describe());
    Ok(session.into())
}

pub const LOG_IN: &str = "run `dcos-creds login`, or set DCOS_ACS_TOKEN, or DCOS_SERVICE_ACCOUNT with \
                      DCOS_PRIVATE_KEY_FILE";

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        let usage = |hint: Option<String>| {
            let failure = Failure::usage(message.clone());
            match hint {
                Some(hint) => failure.hint(hint),
                None => failure,
            }
        };
        match error {
            Error::Api { what, source } => Failure::from(source).context(what),
            Error::NoUrl => usage(Some(
                "pass --url https://<cluster>, set DCOS_URL, or attach a cluster with the dcos CLI"
                    .into(),
            )),
            Error::NoScheme { raw } => usage(Some(format!(
                "write it in full: https://{}",
                raw.trim_start_matches('/')
            ))),
            Error::BadUrl { .. } => usage(Some("write it as https://<cluster>".into())),
            Error::BadFingerprint { .. } => usage(Some(
                "`dcos-creds ca fetch` prints the fingerprint in this form".into(),
            )),
            Error::PinNeedsHttps { .. } => usage(Some("use the cluster's https:// URL".into())),
            Error::PlainHttp { .. } => usage(Some(
                "use the https:// URL of the cluster, or pass --allow-http if the network is \
                 private and trusted"
                    .into(),
            )),
            Error::BadFlag { name, .. } => usage(Some(format!(
                "unset {name}, or set it to one of those words"
            ))),
            Error::PinMismatch { .. } => Failure::new(exit::AUTH, message).hint(
                "if the cluster's CA really changed, confirm the new fingerprint out of band \
                 (`dcos-creds ca fetch`)",
            ),
            Error::NoUid => Failure::new(exit::AUTH, message),
            Error::NotLoggedIn { .. } => Failure::new(exit::AUTH, message).hint(LOG_IN),
            Error::Expired { origin, at } => expired(origin, at),
            Error::Keyring(_) => Failure::new(exit::FAILURE, message).hint(
                "nothing was written to disk; set DCOS_ACS_TOKEN for this shell instead \
                 (`dcos-creds login --print-token` prints it), or DCOS_SERVICE_ACCOUNT with \
                 DCOS_PRIVATE_KEY_FILE for a service account",
            ),
            Error::HalfPair { .. } | Error::File { .. } | Error::Variable { .. } => usage(None),
        }
    }
}

/// An expired token: when, and how to get a new one from where it came.
fn expired(origin: Origin, at: SystemTime) -> Failure {
    let ago = SystemTime::now().duration_since(at).unwrap_or_default();
    let hint = match origin {
        Origin::EnvToken => {
            "get a new one with `export DCOS_ACS_TOKEN=$(dcos-creds login --username <uid> \
             --print-token)`, or unset DCOS_ACS_TOKEN to use the saved login"
        }
        Origin::Keyring => "run `dcos-creds login` again",
        Origin::DcosCli => "run `dcos auth login`, or `dcos-creds login`",
        _ => "log in again",
    };
    Failure::new(
        exit::AUTH,
        format!(
            "the token from {} expired at {} ({} ago); nothing was sent",
            origin.as_str(),
            humantime::format_rfc3339_seconds(at),
            crate::output::duration_words(Duration::from_secs(ago.as_secs()))
        ),
    )
    .hint(hint)
}
