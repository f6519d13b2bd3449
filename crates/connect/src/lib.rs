//! Where a DC/OS connection comes from: the cluster URL, whom to trust for TLS, and the token,
//! each settled from the caller's options, then the environment, then the `dcos` CLI's attached
//! cluster (and, for the token, the OS keyring), the way `dcos-creds` settles them.
//!
//! A program that uses the API clients connects exactly as the command line does:
//!
//! ```no_run
//! use dcos_connect::{Cluster, Environment, Options};
//!
//! # async fn run() -> Result<(), dcos_connect::Error> {
//! let environment = Environment::process();
//! let cluster = Cluster::resolve(&Options::default(), &environment).await?;
//! for warning in &cluster.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! let session = cluster.session(&environment).await?;
//! println!("{} with a token {}", session.url, session.token_source.describe());
//! let transport = session.transport.clone(); // for the Secrets and IAM clients
//! # Ok(()) }
//! ```
//!
//! The sources, first to last:
//! - URL: [`Options::url`], `DCOS_URL`, the login endpoint of
//!   `DCOS_SERVICE_ACCOUNT_CREDENTIAL`, the `dcos` CLI's `core.dcos_url`.
//! - Trust: [`Options::ca_cert`], [`Options::ca_fingerprint`] (the cluster's CA, downloaded
//!   and pinned), [`Options::insecure`], `DCOS_TLS_CA_PATH`, `DCOS_TLS_INSECURE`, the `dcos`
//!   CLI's `core.ssl_verify`; else the system's web roots.
//! - Token: `DCOS_ACS_TOKEN`; a login with `DCOS_SERVICE_ACCOUNT_CREDENTIAL` or
//!   `DCOS_SERVICE_ACCOUNT` and `DCOS_PRIVATE_KEY_FILE` (which also renews an expired
//!   `DCOS_ACS_TOKEN`); the keyring entry a login saved ([`keyring`]); the `dcos` CLI's
//!   `core.dcos_acs_token`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcos_iam_client::{Credentials, LoginSource, ServiceAccountSecret, Token, Uid};
use dcos_transport::{Limits, Request, StaticToken, TokenSource, Transport, Trust};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

mod account;
mod dcos_cli;
mod error;
pub mod keyring;

pub use account::{
    LoginReport, LogoutReport, SavedTo, TokenStatus, WhoamiReport, duration_words, expires_at,
    expires_in_seconds,
};
pub use dcos_cli::{AttachedCluster, SslVerify, plugin_arguments};
pub use error::{Error, Result};

/// The path of the cluster's CA bundle.
pub const CA_PATH: &str = "/ca/dcos-ca.crt";

/// The most bytes read of a CA bundle, a private key or a configuration file.
pub const FILE_LIMIT: u64 = 1024 * 1024;

/// A value the caller gives, with the name of its setting (`--url`, `url in app.toml`), which
/// messages and [`Setting`] use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given<T> {
    /// The setting's name.
    pub from: String,
    /// Its value.
    pub value: T,
}

impl<T> Given<T> {
    /// `value`, from the setting `from`.
    pub fn new(from: impl Into<String>, value: T) -> Self {
        Self {
            from: from.into(),
            value,
        }
    }
}

/// The caller's own settings; each wins over the environment and the `dcos` CLI.
#[derive(Debug, Clone)]
pub struct Options {
    /// The cluster URL.
    pub url: Option<Given<String>>,
    /// A CA bundle to trust.
    pub ca_cert: Option<Given<PathBuf>>,
    /// The SHA-256 fingerprint of the cluster's CA (`sha256:HEX`): the CA is downloaded and
    /// trusted only if it matches.
    pub ca_fingerprint: Option<Given<String>>,
    /// The name of the setting that asked not to verify the cluster's certificate, if one did.
    pub insecure: Option<String>,
    /// Whether credentials may go over plain http beyond loopback.
    pub allow_http: bool,
    /// How long one attempt of a request may take.
    pub timeout: Duration,
    /// The run's deadline and stop.
    pub limits: Limits,
    /// At most this many requests in flight at once.
    pub max_in_flight: Option<usize>,
    /// Retries of a failed request, when not the transport's default.
    pub retries: Option<u32>,
    /// The first and the longest wait before a retry, when not the transport's default.
    pub backoff: Option<(Duration, Duration)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            url: None,
            ca_cert: None,
            ca_fingerprint: None,
            insecure: None,
            allow_http: false,
            timeout: Duration::from_secs(30),
            limits: Limits::default(),
            max_in_flight: None,
            retries: None,
            backoff: None,
        }
    }
}

impl Options {
    /// The CA bundle that [`Options::ca_cert`] or `DCOS_TLS_CA_PATH` names, unless the
    /// caller chose another trust.
    pub fn ca_file(&self, environment: &Environment) -> Option<PathBuf> {
        match (
            &self.ca_cert,
            self.ca_fingerprint.is_some() || self.insecure.is_some(),
        ) {
            (Some(file), _) => Some(file.value.clone()),
            (None, true) => None,
            (None, false) => environment.get("DCOS_TLS_CA_PATH").map(PathBuf::from),
        }
    }

    /// A transport to a service other than the cluster (a server of Hadoop configuration):
    /// these options' time-out and limits, the CA bundle they name added to the system's roots
    /// (none verified with `insecure`), and no token.
    pub fn plain_transport(&self, url: &str, environment: &Environment) -> Result<Transport> {
        let mut builder = Transport::builder(url)
            .request_timeout(self.timeout)
            .limits(self.limits.clone());
        if let Some(file) = self.ca_file(environment) {
            let pem = read_file(&file).map_err(|why| Error::File {
                what: "the CA bundle".into(),
                file,
                why,
            })?;
            builder = builder.add_ca_pem(&pem);
        }
        if self.insecure.is_some() {
            builder = builder.danger_accept_invalid_certs();
        }
        builder.build().map_err(Error::api("connecting"))
    }
}

/// What the resolution reads besides the options: the variables, the `dcos` CLI's folder, the
/// keyring. [`Environment::process`] is this process's; tests build their own.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, OsString>,
    dcos_dir: Option<PathBuf>,
    keyring: bool,
}

impl fmt::Debug for Environment {
    // Names only: the values hold tokens and login secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Environment")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("dcos_dir", &self.dcos_dir)
            .field("keyring", &self.keyring)
            .finish()
    }
}

impl Environment {
    /// This process's variables, the `dcos` CLI's folder (`DCOS_DIR`, else `~/.dcos`) and the
    /// OS keyring.
    pub fn process() -> Self {
        let vars: BTreeMap<String, OsString> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .filter(|(name, _)| name.starts_with("DCOS_"))
            .collect();
        let dcos_dir = match vars.get("DCOS_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => Some(PathBuf::from(dir)),
            None => std::env::home_dir().map(|home| home.join(".dcos")),
        };
        Self {
            vars,
            dcos_dir,
            keyring: true,
        }
    }

    /// Nothing at all: no variables, no `dcos` CLI, no keyring.
    pub fn empty() -> Self {
        Self::default()
    }

    /// With the variable `name` set to `value`.
    pub fn var(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    /// With the `dcos` CLI's folder at `dir`.
    pub fn dcos_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dcos_dir = Some(dir.into());
        self
    }

    /// A variable's value; an empty one counts as unset, as does one that is not UTF-8.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .and_then(|v| v.to_str())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// A yes-or-no variable: `1`, `true`, `yes` or `on` is yes and `0`, `false`, `no` or `off`
    /// is no, in any case and with spaces around; empty or unset is neither. Anything else is
    /// refused, naming the variable: a typo must not turn a setting the other way.
    pub fn flag(&self, name: &'static str) -> Result<Option<bool>> {
        let Some(raw) = self.vars.get(name) else {
            return Ok(None);
        };
        let value = raw.to_string_lossy();
        match value.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(Error::BadFlag {
                name,
                value: value
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(80)
                    .collect(),
            }),
        }
    }

    fn attached(&self) -> Result<Option<AttachedCluster>> {
        match &self.dcos_dir {
            Some(dir) => dcos_cli::attached(dir),
            None => Ok(None),
        }
    }

    fn saved_token(&self, url: &str) -> Option<SecretString> {
        self.keyring.then(|| keyring::load(url)).flatten()
    }
}

/// `ca fetch`: the cluster's CA bundle, by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaReport {
    pub cluster: String,
    /// One per certificate in the bundle, `sha256:<hex>`.
    pub fingerprints: Vec<String>,
    /// Whether the download was checked against a pinned CA (a file or a fingerprint).
    pub verified: bool,
    pub written_to: Option<String>,
    /// The bundle, as downloaded (PEM).
    #[serde(skip)]
    pub bundle: Vec<u8>,
}

/// Where a setting came from, and which other sources were set but lost to it (an option wins
/// over its environment variable, which wins over the `dcos` CLI's configuration).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// The source that won: an option, a variable, a file.
    pub from: String,
    /// The sources that were set too, in the order they would have been used.
    pub shadows: Vec<String>,
}

impl Setting {
    fn alone(from: impl Into<String>) -> Self {
        Self {
            from: from.into(),
            shadows: Vec::new(),
        }
    }

    /// The first candidate with a value, and where it came from; the later ones are shadowed.
    fn pick<T>(candidates: Vec<(String, Option<T>)>) -> Option<(T, Setting)> {
        let mut chosen = None;
        let mut shadows = Vec::new();
        for (source, value) in candidates {
            match (value, &chosen) {
                (Some(value), None) => chosen = Some((value, source)),
                (Some(_), Some(_)) => shadows.push(source),
                (None, _) => {}
            }
        }
        chosen.map(|(value, from)| (value, Setting { from, shadows }))
    }

    /// `from X (shadows Y, Z)`.
    pub fn describe(&self) -> String {
        match self.shadows.as_slice() {
            [] => format!("from {}", self.from),
            shadows => format!("from {} (shadows {})", self.from, shadows.join(", ")),
        }
    }
}

/// Where the token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `DCOS_ACS_TOKEN`.
    EnvToken,
    /// A login with the login secret in `DCOS_SERVICE_ACCOUNT_CREDENTIAL`.
    EnvCredential,
    /// A login with `DCOS_SERVICE_ACCOUNT` and `DCOS_PRIVATE_KEY_FILE`.
    EnvServiceAccount,
    /// The keyring entry of a login.
    Keyring,
    /// The `dcos` CLI's attached cluster.
    DcosCli,
    /// A login made by the caller ([`Session::login`]).
    Login,
}

impl Origin {
    /// A short name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::EnvToken => "DCOS_ACS_TOKEN",
            Origin::EnvCredential => "DCOS_SERVICE_ACCOUNT_CREDENTIAL",
            Origin::EnvServiceAccount => "DCOS_SERVICE_ACCOUNT",
            Origin::Keyring => "keyring",
            Origin::DcosCli => "dcos CLI",
            Origin::Login => "login",
        }
    }
}

/// A trust that does not verify the cluster, which the caller should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    /// The source that chose it.
    pub from: String,
    /// Whether the caller's own option asked for it (rather than the environment or the
    /// `dcos` CLI's configuration, which the user may not know is in force).
    pub asked: bool,
}

impl fmt::Display for Unverified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: the cluster's TLS certificate is not verified; anyone on the path can read the \
             token and secrets",
            self.from
        )
    }
}

/// How the cluster's certificate is checked, before it is loaded.
enum TrustChoice {
    CaFile(PathBuf),
    Fingerprint(String),
    Insecure,
    DcosCli(SslVerify),
}

/// A cluster whose URL and TLS trust are settled; no token yet.
#[derive(Debug)]
pub struct Cluster {
    /// The URL, without a trailing `/`.
    pub url: String,
    /// Where the URL came from.
    pub url_source: Setting,
    /// Where the TLS trust came from.
    pub trust_source: Setting,
    /// What the certificate is checked against, in words (`the CA of --ca-cert (ca.pem)`).
    pub trusted: String,
    /// A trust that verifies nothing, when one was chosen: the caller says so (over https;
    /// over plain http there is nothing to verify).
    pub warnings: Vec<Unverified>,
    trust: Trust,
    options: Options,
    attached: Option<AttachedCluster>,
}

impl Cluster {
    /// Settles the URL and the TLS trust from `options`, then `environment`. With a CA
    /// fingerprint this downloads the CA (no token sent).
    pub async fn resolve(options: &Options, environment: &Environment) -> Result<Cluster> {
        let attached = environment.attached()?;
        let credential = credential_from(environment)?;
        let insecure_env = environment.flag("DCOS_TLS_INSECURE")?.unwrap_or(false);
        let dcos_cli = |a: &AttachedCluster| format!("the dcos CLI's {}", a.file.display());
        let given = |g: &Option<Given<String>>| g.as_ref().map(|g| g.from.clone());
        let picked = Setting::pick(vec![
            (
                given(&options.url).unwrap_or_default(),
                options.url.as_ref().map(|g| g.value.clone()),
            ),
            ("DCOS_URL".to_owned(), environment.get("DCOS_URL")),
            (
                "the login endpoint of DCOS_SERVICE_ACCOUNT_CREDENTIAL".to_owned(),
                credential
                    .as_ref()
                    .map(|c| login_base(&c.login_endpoint))
                    .transpose()?,
            ),
            (
                attached.as_ref().map(dcos_cli).unwrap_or_default(),
                attached.as_ref().and_then(|a| a.url.clone()),
            ),
        ]);
        let (raw_url, url_source) = picked.ok_or(Error::NoUrl)?;
        let url = parse_url(&raw_url)?;
        let url_text = url.as_str().trim_end_matches('/').to_owned();
        // The dcos CLI's settings apply only to its own cluster.
        let attached = attached.filter(|a| {
            a.url
                .as_deref()
                .is_some_and(|u| u.trim_end_matches('/') == url_text)
        });
        tracing::info!("cluster {url_text} {}", url_source.describe());

        let ssl_verify = attached
            .as_ref()
            .map(|a| (dcos_cli(a), a.ssl_verify.clone()))
            .filter(|(_, verify)| *verify != SslVerify::Yes);
        let (choice, trust_source) = Setting::pick(vec![
            (
                options
                    .ca_cert
                    .as_ref()
                    .map(|g| g.from.clone())
                    .unwrap_or_default(),
                options
                    .ca_cert
                    .as_ref()
                    .map(|g| TrustChoice::CaFile(g.value.clone())),
            ),
            (
                given(&options.ca_fingerprint).unwrap_or_default(),
                options
                    .ca_fingerprint
                    .as_ref()
                    .map(|g| TrustChoice::Fingerprint(g.value.clone())),
            ),
            (
                options.insecure.clone().unwrap_or_default(),
                options.insecure.as_ref().map(|_| TrustChoice::Insecure),
            ),
            (
                "DCOS_TLS_CA_PATH".to_owned(),
                environment
                    .get("DCOS_TLS_CA_PATH")
                    .map(|p| TrustChoice::CaFile(PathBuf::from(p))),
            ),
            (
                "DCOS_TLS_INSECURE".to_owned(),
                insecure_env.then_some(TrustChoice::Insecure),
            ),
            (
                ssl_verify
                    .as_ref()
                    .map(|(file, _)| format!("ssl_verify in {file}"))
                    .unwrap_or_default(),
                ssl_verify.map(|(_, verify)| TrustChoice::DcosCli(verify)),
            ),
        ])
        .unwrap_or_else(|| {
            (
                TrustChoice::DcosCli(SslVerify::Yes),
                Setting::alone("the system's web roots"),
            )
        });
        tracing::info!("TLS trust {}", trust_source.describe());
        let trusted = match &choice {
            TrustChoice::CaFile(file) => {
                format!("the CA of {} ({})", trust_source.from, file.display())
            }
            TrustChoice::DcosCli(SslVerify::CaFile(file)) => {
                format!("the CA of the dcos CLI's ssl_verify ({})", file.display())
            }
            TrustChoice::Fingerprint(_) => format!("the CA pinned by {}", trust_source.from),
            _ => "the system's web roots".to_owned(),
        };
        let mut cluster = Cluster {
            url: url_text,
            url_source,
            trust_source,
            trusted,
            warnings: Vec::new(),
            trust: Trust::WebRoots,
            options: options.clone(),
            attached,
        };
        cluster.trust = match choice {
            TrustChoice::CaFile(file) => {
                let what = cluster.trust_source.from.clone();
                pinned(&what, &file)?
            }
            TrustChoice::Fingerprint(expected) => cluster.pin_fingerprint(&url, &expected).await?,
            TrustChoice::Insecure => {
                // DCOS_TLS_INSECURE is also what the dcos CLI passes for plain http, where
                // there is no certificate to verify and nothing to warn about.
                let asked = options.insecure.as_deref() == Some(&cluster.trust_source.from);
                if asked || url.scheme() == "https" {
                    cluster.warnings.push(Unverified {
                        from: cluster.trust_source.from.clone(),
                        asked,
                    });
                }
                Trust::Insecure
            }
            TrustChoice::DcosCli(SslVerify::No) => {
                cluster.warnings.push(Unverified {
                    from: cluster.trust_source.from.clone(),
                    asked: false,
                });
                Trust::Insecure
            }
            TrustChoice::DcosCli(SslVerify::CaFile(path)) => {
                pinned("the dcos CLI's ssl_verify CA", &path)?
            }
            TrustChoice::DcosCli(SslVerify::Yes) => Trust::WebRoots,
        };
        Ok(cluster)
    }

    /// Downloads the CA and trusts it only if one of its certificates has the fingerprint.
    async fn pin_fingerprint(&self, url: &url::Url, expected: &str) -> Result<Trust> {
        let from = self.trust_source.from.clone();
        let expected = parse_fingerprint(expected).map_err(|text| Error::BadFingerprint {
            from: from.clone(),
            text,
        })?;
        // Over http the CA would come in the clear and pin nothing: there is no TLS.
        if url.scheme() != "https" {
            return Err(Error::PinNeedsHttps {
                from,
                url: self.url.clone(),
            });
        }
        let bundle = self.fetch_ca(true).await?;
        let certs = dcos_transport::pem_certificates(&bundle)
            .map_err(Error::api("the cluster's CA bundle"))?;
        match certs.iter().find(|der| fingerprint(der) == expected) {
            Some(der) => Ok(Trust::Pinned(vec![der.clone()])),
            None => Err(Error::PinMismatch {
                from,
                expected,
                got: certs.iter().map(|d| fingerprint(d)).collect(),
            }),
        }
    }

    /// A transport with this cluster's trust, time-out and limits, and no token.
    pub fn transport(&self) -> Result<Transport> {
        let mut builder = Transport::builder(&self.url)
            .request_timeout(self.options.timeout)
            .limits(self.options.limits.clone());
        if let Some(n) = self.options.max_in_flight {
            builder = builder.max_in_flight(n);
        }
        if let Some(n) = self.options.retries {
            builder = builder.max_retries(n);
        }
        if let Some((base, cap)) = self.options.backoff {
            builder = builder.backoff(base, cap);
        }
        builder
            .trust(self.trust.clone())
            .build()
            .map_err(Error::api("connecting"))
    }

    /// Sends at most `requests` at a time, however many tasks ask.
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.options.max_in_flight = Some(requests);
        self
    }

    /// Retries a failed request (a 429, 502, 503, 504 or a lost connection) up to `retries`
    /// times.
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.retries = Some(retries);
        self
    }

    /// Refuses to send credentials or secrets over plain http to a host beyond loopback,
    /// unless [`Options::allow_http`].
    pub fn check_http(&self) -> Result<()> {
        let url = url::Url::parse(&self.url).map_err(|e| Error::BadUrl {
            raw: self.url.clone(),
            why: format!("invalid: {e}"),
        })?;
        if url.scheme() == "http" && !is_loopback(&url) && !self.options.allow_http {
            return Err(Error::PlainHttp {
                host: url.host_str().unwrap_or_default().to_owned(),
            });
        }
        Ok(())
    }

    /// Downloads the CA bundle (no token). `unverified` skips TLS verification: the caller
    /// checks the bundle itself.
    pub async fn fetch_ca(&self, unverified: bool) -> Result<Vec<u8>> {
        let transport = if unverified {
            Transport::builder(&self.url)
                .request_timeout(self.options.timeout)
                .limits(self.options.limits.clone())
                .danger_accept_invalid_certs()
                .build()
                .map_err(Error::api("connecting"))?
        } else {
            self.transport()?
        };
        let response = transport
            .send(Request::get(CA_PATH).unauthenticated())
            .await
            .map_err(Error::api("downloading the cluster CA"))?;
        Ok(response.into_bytes().to_vec())
    }

    /// `ca fetch`: downloads the CA bundle (through the pinned CA when there is one, else
    /// unverified, and the report says so), for the caller to write to `out`.
    pub async fn ca_report(&self, out: Option<&Path>) -> Result<CaReport> {
        let verified = self.is_pinned();
        let bundle = self.fetch_ca(!verified).await?;
        let certs = dcos_transport::pem_certificates(&bundle)
            .map_err(Error::api("reading the cluster's CA bundle"))?;
        Ok(CaReport {
            cluster: self.url.clone(),
            fingerprints: certs.iter().map(|der| fingerprint(der)).collect(),
            verified,
            written_to: out.map(|p| p.display().to_string()),
            bundle,
        })
    }

    /// The `dcos` CLI's configuration file, when it holds a token for this cluster.
    pub fn dcos_cli_token(&self) -> Option<&Path> {
        self.attached
            .as_ref()
            .filter(|a| a.token.is_some())
            .map(|a| a.file.as_path())
    }

    /// Whether trust is a pinned CA (a CA file or a fingerprint).
    pub fn is_pinned(&self) -> bool {
        matches!(self.trust, Trust::Pinned(_))
    }

    /// Finds a token and connects.
    pub async fn session(&self, environment: &Environment) -> Result<Session> {
        self.session_probing(environment, false).await
    }

    /// Finds a token and connects; `probe_keyring` also asks the keyring when another source
    /// wins, to say that it is shadowed.
    pub async fn session_probing(
        &self,
        environment: &Environment,
        probe_keyring: bool,
    ) -> Result<Session> {
        self.check_http()?;
        let base = self.transport()?;
        let (service_account, login_origin) = match credential_from(environment)? {
            Some(secret) => {
                let credentials = Credentials::service_account(secret.uid, secret.private_key_pem)
                    .map_err(|e| variable("DCOS_SERVICE_ACCOUNT_CREDENTIAL", e))?;
                (Some(credentials), Origin::EnvCredential)
            }
            None => (
                service_account_from(environment)?,
                Origin::EnvServiceAccount,
            ),
        };
        let env_token = environment.get("DCOS_ACS_TOKEN");
        let found = if let Some(token) = env_token.clone() {
            Some((SecretString::from(token), Origin::EnvToken))
        } else if service_account.is_some() {
            None
        } else if let Some(token) = environment.saved_token(&self.url) {
            Some((token, Origin::Keyring))
        } else {
            self.attached
                .as_ref()
                .and_then(|a| a.token.clone())
                .map(|t| (t, Origin::DcosCli))
        };
        // The sources further down that were set too (the keyring is only asked when it was
        // not reached, with `probe_keyring`).
        let mut present = vec![
            (Origin::EnvToken, env_token.is_some()),
            (Origin::EnvCredential, login_origin == Origin::EnvCredential),
            (
                Origin::EnvServiceAccount,
                login_origin == Origin::EnvServiceAccount && service_account.is_some(),
            ),
        ];
        if probe_keyring || found.as_ref().is_some_and(|(_, o)| *o == Origin::Keyring) {
            present.push((
                Origin::Keyring,
                environment.saved_token(&self.url).is_some(),
            ));
        }
        present.push((
            Origin::DcosCli,
            self.attached.as_ref().is_some_and(|a| a.token.is_some()),
        ));
        let (tokens, origin, source): (Tokens, Origin, Arc<dyn TokenSource>) =
            match (found, service_account) {
                (Some((token, origin)), Some(credentials)) => {
                    let source = Arc::new(LoginSource::with_token(
                        base.clone(),
                        credentials,
                        Token::new(token),
                    ));
                    (Tokens::Login(source.clone()), origin, source)
                }
                (None, Some(credentials)) => {
                    let source = Arc::new(LoginSource::new(base.clone(), credentials));
                    (Tokens::Login(source.clone()), login_origin, source)
                }
                (Some((token, origin)), None) => {
                    let source = Arc::new(StaticToken::new(token.clone()));
                    (Tokens::Static(Token::new(token)), origin, source)
                }
                (None, None) => {
                    return Err(Error::NotLoggedIn {
                        url: self.url.clone(),
                    });
                }
            };
        let position = |o: &Origin| present.iter().position(|(p, _)| p == o);
        let renewal = (origin == Origin::EnvToken && matches!(tokens, Tokens::Login(_)))
            .then(|| login_origin.as_str());
        let token_source = Setting {
            from: match (&origin, &self.attached, renewal) {
                (Origin::DcosCli, Some(attached), _) => {
                    format!("the dcos CLI's {}", attached.file.display())
                }
                (origin, _, Some(renewal)) => {
                    format!("{} (renewed with {renewal})", origin.as_str())
                }
                (origin, _, None) => origin.as_str().to_owned(),
            },
            shadows: present
                .iter()
                .filter(|(o, set)| *set && position(o) > position(&origin))
                .filter(|(o, _)| renewal.is_none() || o.as_str() != login_origin.as_str())
                .map(|(o, _)| o.as_str().to_owned())
                .collect(),
        };
        tracing::info!("token {}", token_source.describe());
        if let Tokens::Static(token) = &tokens {
            check_not_expired(token, origin)?;
        }
        Ok(Session {
            url: self.url.clone(),
            origin,
            token_source,
            transport: base.with_token_source(source),
            token: tokens,
        })
    }
}

/// An authenticated connection.
#[derive(Debug)]
pub struct Session {
    /// The cluster.
    pub url: String,
    /// Where the token came from.
    pub origin: Origin,
    /// Where the token came from, and the sources it shadows.
    pub token_source: Setting,
    /// The transport, with the token (renewed when it comes from a login).
    pub transport: Transport,
    token: Tokens,
}

#[derive(Debug)]
enum Tokens {
    Static(Token),
    Login(Arc<LoginSource>),
}

impl Session {
    /// Logs in on `base` with `credentials` now (so that a failure shows here), and again
    /// whenever the token is refused.
    pub async fn login(base: Transport, credentials: Credentials) -> Result<Self> {
        let source = Arc::new(LoginSource::new(base.clone(), credentials));
        source.current().await.map_err(Error::api("log in"))?;
        Ok(Self {
            url: base.base_url().trim_end_matches('/').to_owned(),
            origin: Origin::Login,
            token_source: Setting::alone(Origin::Login.as_str()),
            transport: base.with_token_source(source.clone()),
            token: Tokens::Login(source),
        })
    }

    /// The token in use (logging in first when it comes from service-account credentials).
    pub async fn token(&self) -> Result<Token> {
        match &self.token {
            Tokens::Static(token) => Ok(token.clone()),
            Tokens::Login(source) => source.current().await.map_err(Error::api("log in")),
        }
    }
}

/// SHA-256 of a certificate's DER bytes, as `sha256:<hex>` (lower case).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Parses `sha256:HEX` (colons between bytes and upper case accepted) to the canonical form;
/// the text as given when it is not one.
pub fn parse_fingerprint(text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let hex = match trimmed.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("sha256:") => &trimmed[7..],
        _ => trimmed,
    };
    let hex: String = hex.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(text.to_owned());
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// Reads a file of at most [`FILE_LIMIT`] bytes; the reason in words when it cannot.
pub(crate) fn read_file(file: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(FILE_LIMIT + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(format!("it is larger than {FILE_LIMIT} bytes"));
    }
    Ok(bytes)
}

/// The certificates of the CA bundle `file`, pinned.
fn pinned(what: &str, file: &Path) -> Result<Trust> {
    let bad = |why: String| Error::File {
        what: what.to_owned(),
        file: file.to_owned(),
        why,
    };
    let pem = read_file(file).map_err(bad)?;
    let certs = dcos_transport::pem_certificates(&pem).map_err(|e| bad(e.to_string()))?;
    Ok(Trust::Pinned(certs))
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses a cluster URL, saying what is wrong in the user's terms.
fn parse_url(raw: &str) -> Result<url::Url> {
    // `dcos.example.com` fails to parse, and `dcos.example.com:443` parses with the host as
    // its scheme: both lack the `https://`.
    let parsed = url::Url::parse(raw);
    if !raw.contains("://")
        && matches!(parsed, Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase))
    {
        return Err(Error::NoScheme {
            raw: raw.to_owned(),
        });
    }
    let bad = |why: String| Error::BadUrl {
        raw: raw.to_owned(),
        why,
    };
    let url = parsed.map_err(|e| bad(format!("invalid: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("not an http(s) URL".to_owned()));
    }
    Ok(url)
}

/// Fails, before anything is sent, when a token that nothing renews has expired.
fn check_not_expired(token: &Token, origin: Origin) -> Result<()> {
    let Some(exp) = token.exp() else {
        return Ok(());
    };
    let at = UNIX_EPOCH + Duration::from_secs(exp);
    if at > SystemTime::now() {
        return Ok(());
    }
    Err(Error::Expired { origin, at })
}

fn variable(name: &'static str, error: impl fmt::Display) -> Error {
    Error::Variable {
        name,
        why: error.to_string(),
    }
}

/// The login secret in `DCOS_SERVICE_ACCOUNT_CREDENTIAL`, as jobs and services inside a
/// cluster receive it, when set.
fn credential_from(environment: &Environment) -> Result<Option<ServiceAccountSecret>> {
    const NAME: &str = "DCOS_SERVICE_ACCOUNT_CREDENTIAL";
    let Some(json) = environment.get(NAME) else {
        return Ok(None);
    };
    let secret = ServiceAccountSecret::from_json(&SecretString::from(json))
        .map_err(|e| variable(NAME, e))?;
    Ok(Some(secret))
}

/// The cluster URL of a login endpoint: `https://leader.mesos/acs/api/v1/auth/login` gives
/// `https://leader.mesos`.
fn login_base(endpoint: &str) -> Result<String> {
    let parsed = url::Url::parse(endpoint).map_err(|e| {
        variable(
            "DCOS_SERVICE_ACCOUNT_CREDENTIAL",
            format!("the login endpoint `{endpoint}` is not a URL: {e}"),
        )
    })?;
    let base = parsed
        .path()
        .strip_suffix(dcos_iam_client::LOGIN_PATH)
        .unwrap_or_default();
    Ok(format!("{}{base}", parsed.origin().ascii_serialization()))
}

/// `DCOS_SERVICE_ACCOUNT` with `DCOS_PRIVATE_KEY_FILE`, when set.
fn service_account_from(environment: &Environment) -> Result<Option<Credentials>> {
    const UID: &str = "DCOS_SERVICE_ACCOUNT";
    const KEY: &str = "DCOS_PRIVATE_KEY_FILE";
    match (environment.get(UID), environment.get(KEY)) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::HalfPair {
            set: UID,
            missing: KEY,
        }),
        (None, Some(_)) => Err(Error::HalfPair {
            set: KEY,
            missing: UID,
        }),
        (Some(uid), Some(file)) => {
            let uid = Uid::new(&uid).map_err(|e| variable(UID, e))?;
            let file = PathBuf::from(file);
            let bad = |why: String| Error::File {
                what: KEY.to_owned(),
                file: file.clone(),
                why,
            };
            let pem = String::from_utf8(read_file(&file).map_err(bad)?)
                .map_err(|_| bad("not a PEM private key".to_owned()))?;
            let credentials = Credentials::service_account(uid, SecretString::from(pem))
                .map_err(|e| bad(e.to_string()))?;
            Ok(Some(credentials))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_the_common_forms() {
        let hex = "ab".repeat(32);
        let canonical = format!("sha256:{hex}");
        assert_eq!(parse_fingerprint(&canonical).unwrap(), canonical);
        assert_eq!(
            parse_fingerprint(&format!("SHA256:{}", hex.to_uppercase())).unwrap(),
            canonical
        );
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).unwrap(), canonical);
        assert!(parse_fingerprint("sha256:abc").is_err());
        assert!(parse_fingerprint(&format!("sha256:{}", "zz".repeat(32))).is_err());
    }

    #[test]
    fn a_login_endpoint_gives_the_cluster_url() {
        let base = |e: &str| login_base(e).unwrap();
        assert_eq!(
            base("https://leader.mesos/acs/api/v1/auth/login"),
            "https://leader.mesos"
        );
        assert_eq!(
            base("http://10.0.0.1:8080/acs/api/v1/auth/login"),
            "http://10.0.0.1:8080"
        );
        assert_eq!(
            base("https://gw.example.com/dcos/acs/api/v1/auth/login"),
            "https://gw.example.com/dcos"
        );
        assert!(login_base("not a url").is_err());
    }

    async fn resolve(url: &str, allow_http: bool) -> Result<Cluster> {
        let options = Options {
            url: Some(Given::new("--url", url.to_owned())),
            allow_http,
            ..Options::default()
        };
        Cluster::resolve(&options, &Environment::empty()).await
    }

    #[tokio::test]
    async fn plain_http_is_refused_beyond_loopback() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
            "https://dcos.example.com",
        ] {
            resolve(url, false).await.unwrap().check_http().unwrap();
        }
        let refused = resolve("http://dcos.example.com", false)
            .await
            .unwrap()
            .check_http()
            .unwrap_err();
        assert!(matches!(refused, Error::PlainHttp { ref host } if host == "dcos.example.com"));
        let allowed = resolve("http://dcos.example.com", true).await.unwrap();
        allowed.check_http().unwrap();
    }

    #[tokio::test]
    async fn an_option_shadows_the_environment_and_a_bad_flag_is_named() {
        let environment = Environment::empty()
            .var("DCOS_URL", "https://from-env.example.com")
            .var("DCOS_TLS_INSECURE", "yes");
        let options = Options {
            url: Some(Given::new(
                "url in app.toml",
                "https://given.example.com/".into(),
            )),
            ..Options::default()
        };
        let cluster = Cluster::resolve(&options, &environment).await.unwrap();
        assert_eq!(cluster.url, "https://given.example.com");
        assert_eq!(
            cluster.url_source.describe(),
            "from url in app.toml (shadows DCOS_URL)"
        );
        assert_eq!(cluster.trust_source.from, "DCOS_TLS_INSECURE");
        assert_eq!(
            cluster.warnings,
            vec![Unverified {
                from: "DCOS_TLS_INSECURE".into(),
                asked: false
            }]
        );
        let typo = Environment::empty()
            .var("DCOS_URL", "https://a.example.com")
            .var("DCOS_TLS_INSECURE", "ture");
        let e = Cluster::resolve(&Options::default(), &typo)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::BadFlag { name: "DCOS_TLS_INSECURE", ref value } if value == "ture")
        );
        assert!(matches!(
            Cluster::resolve(&Options::default(), &Environment::empty()).await,
            Err(Error::NoUrl)
        ));
    }

    #[test]
    fn the_environment_never_shows_its_values() {
        let environment = Environment::empty().var("DCOS_ACS_TOKEN", "tok-secret-value");
        let debug = format!("{environment:?}");
        assert!(debug.contains("DCOS_ACS_TOKEN") && !debug.contains("tok-secret-value"));
    }
}
