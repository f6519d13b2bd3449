//! From the global options to a connection: the cluster URL, whom to trust for TLS, and the
//! token.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dcos_iam_client::{Credentials, LoginSource, ServiceAccountSecret, Token, Uid};
use dcos_ops::Clients;
use dcos_ops::files::CONFIG_LIMIT;
use dcos_transport::{Request, StaticToken, TokenSource, Transport, Trust};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::args::Global;
use crate::dcos_config::{self, AttachedCluster, SslVerify};
use crate::exit::{self, Context, Failure};
use crate::input;
use crate::keyring_store;
use crate::output::Ui;

/// The path of the cluster's CA bundle.
pub const CA_PATH: &str = "/ca/dcos-ca.crt";

/// A cluster whose URL and TLS trust are settled; no token yet.
#[derive(Debug)]
pub struct Cluster {
    /// The URL, without a trailing `/`.
    pub url: String,
    trust: Trust,
    timeout: Duration,
    allow_http: bool,
    attached: Option<AttachedCluster>,
    /// At most this many requests in flight at once (`apply --concurrency`).
    max_in_flight: Option<usize>,
    /// Retries of a failed request, when not the transport's default (`apply --retries`).
    retries: Option<u32>,
    /// Where the URL came from.
    pub url_source: Setting,
    /// Where the TLS trust came from.
    pub trust_source: Setting,
}

/// Where the token came from, for `whoami` and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `DCOS_ACS_TOKEN`.
    EnvToken,
    /// A login with the login secret in `DCOS_SERVICE_ACCOUNT_CREDENTIAL`.
    EnvCredential,
    /// A login with `DCOS_SERVICE_ACCOUNT` and `DCOS_PRIVATE_KEY_FILE`.
    EnvServiceAccount,
    /// The keyring entry of `login`.
    Keyring,
    /// The `dcos` CLI's attached cluster.
    DcosCli,
    /// A login made by this run (the demo's).
    #[cfg(feature = "demo")]
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
            #[cfg(feature = "demo")]
            Origin::Login => "login",
        }
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
    /// The Secrets and IAM APIs.
    pub clients: Clients,
    token: Tokens,
}

#[derive(Debug)]
enum Tokens {
    Static(Token),
    Login(Arc<LoginSource>),
}

impl Session {
    /// Logs in with `credentials` now (so that a failure shows here), and again whenever the
    /// token is refused.
    #[cfg(feature = "demo")]
    pub async fn login(url: &str, base: Transport, credentials: Credentials) -> exit::Result<Self> {
        let source = Arc::new(LoginSource::new(base.clone(), credentials));
        source.current().await.context("log in")?;
        let transport = base.with_token_source(source.clone());
        Ok(Self {
            url: url.to_owned(),
            origin: Origin::Login,
            token_source: Setting {
                from: Origin::Login.as_str().to_owned(),
                shadows: Vec::new(),
            },
            clients: Clients::new(transport),
            token: Tokens::Login(source),
        })
    }

    /// The token in use (logging in first when it comes from service-account credentials).
    pub async fn token(&self) -> exit::Result<Token> {
        match &self.token {
            Tokens::Static(token) => Ok(token.clone()),
            Tokens::Login(source) => Ok(source.current().await?),
        }
    }
}

/// SHA-256 of a certificate's DER bytes, as `sha256:<hex>` (lower case).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Parses `sha256:HEX` (colons between bytes and upper case accepted) to the canonical form.
pub fn parse_fingerprint(text: &str) -> exit::Result<String> {
    let bad = || {
        Failure::usage(format!(
            "--ca-fingerprint `{text}` is not a SHA-256 fingerprint: expected sha256: and 64 hex digits"
        ))
        .hint("`dcos-creds ca fetch` prints the fingerprint in this form")
    };
    let trimmed = text.trim();
    let hex = match trimmed.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("sha256:") => &trimmed[7..],
        _ => trimmed,
    };
    let hex: String = hex.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// The certificates of a PEM bundle, as DER.
pub fn pem_certificates(pem: &[u8]) -> exit::Result<Vec<Vec<u8>>> {
    Ok(dcos_transport::pem_certificates(pem)?)
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// An environment variable's value; an empty one counts as unset.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Parses a cluster URL, saying what is wrong in the user's terms.
fn parse_url(raw: &str) -> exit::Result<url::Url> {
    // `dcos.example.com` fails to parse, and `dcos.example.com:443` parses with the host as
    // its scheme: both lack the `https://`.
    let parsed = url::Url::parse(raw);
    if !raw.contains("://")
        && matches!(parsed, Ok(_) | Err(url::ParseError::RelativeUrlWithoutBase))
    {
        return Err(
            Failure::usage(format!("the cluster URL `{raw}` has no scheme")).hint(format!(
                "write it in full: https://{}",
                raw.trim_start_matches('/')
            )),
        );
    }
    let url = match parsed {
        Ok(url) => url,
        Err(e) => {
            return Err(Failure::usage(format!(
                "the cluster URL `{raw}` is invalid: {e}"
            )));
        }
    };
    if !matches!(url.scheme(), "https" | "http") {
        return Err(
            Failure::usage(format!("the cluster URL `{raw}` is not an http(s) URL"))
                .hint("write it as https://<cluster>"),
        );
    }
    Ok(url)
}

/// Where a setting came from, and which other sources were set but lost to it (a flag wins
/// over its environment variable, which wins over the `dcos` CLI's configuration).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// The source that won: a flag, a variable, a file.
    pub from: String,
    /// The sources that were set too, in the order they would have been used.
    pub shadows: Vec<String>,
}

impl Setting {
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

    /// `from X (shadows Y, Z)`, for `-v` and `status`.
    pub fn describe(&self) -> String {
        match self.shadows.as_slice() {
            [] => format!("from {}", self.from),
            shadows => format!("from {} (shadows {})", self.from, shadows.join(", ")),
        }
    }
}

/// How the cluster's certificate is checked, before it is loaded.
enum TrustChoice {
    CaFile(PathBuf),
    Fingerprint(String),
    Insecure,
    DcosCli(SslVerify),
}

/// The CA bundle that --ca-cert or DCOS_TLS_CA_PATH names, unless a flag chose another trust.
pub fn ca_file(global: &Global) -> Option<PathBuf> {
    match (
        &global.ca_cert,
        global.ca_fingerprint.is_some() || global.insecure,
    ) {
        (Some(file), _) => Some(file.clone()),
        (None, true) => None,
        (None, false) => env("DCOS_TLS_CA_PATH").map(PathBuf::from),
    }
}

/// A yes-or-no environment variable: `1`, `true`, `yes` or `on` is yes and `0`, `false`, `no`
/// or `off` is no, in any case and with spaces around; empty or unset is neither. Anything
/// else is refused, naming the variable: a typo must not turn a setting the other way.
pub fn env_flag(name: &str) -> exit::Result<Option<bool>> {
    let Some(raw) = std::env::var_os(name) else {
        return Ok(None);
    };
    let value = raw.to_string_lossy();
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        _ => Err(Failure::usage(format!(
            "{name} must be one of 1, true, yes, on (or 0, false, no, off), not `{}`",
            crate::output::one_line(&value)
        ))
        .hint(format!("unset {name}, or set it to one of those words"))),
    }
}

impl Cluster {
    /// Settles the URL and the TLS trust from the options, the environment and the `dcos`
    /// CLI's attached cluster, each in that order. With `--ca-fingerprint` this downloads the
    /// CA (no token sent).
    pub async fn resolve(global: &Global, ui: &Ui) -> exit::Result<Cluster> {
        let attached = dcos_config::attached()?;
        let credential = credential_from_env()?;
        let insecure_env = env_flag("DCOS_TLS_INSECURE")?.unwrap_or(false);
        let dcos_cli = |a: &AttachedCluster| format!("the dcos CLI's {}", a.file.display());
        let picked = Setting::pick(vec![
            ("--url".to_owned(), global.url.clone()),
            ("DCOS_URL".to_owned(), env("DCOS_URL")),
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
        let Some((raw_url, url_source)) = picked else {
            return Err(Failure::usage("no cluster URL").hint(
                "pass --url https://<cluster>, set DCOS_URL, or attach a cluster with the dcos CLI",
            ));
        };
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
                "--ca-cert".to_owned(),
                global.ca_cert.clone().map(TrustChoice::CaFile),
            ),
            (
                "--ca-fingerprint".to_owned(),
                global.ca_fingerprint.clone().map(TrustChoice::Fingerprint),
            ),
            (
                "--insecure".to_owned(),
                global.insecure.then_some(TrustChoice::Insecure),
            ),
            (
                "DCOS_TLS_CA_PATH".to_owned(),
                env("DCOS_TLS_CA_PATH").map(|p| TrustChoice::CaFile(PathBuf::from(p))),
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
            let roots = Setting {
                from: "the system's web roots".to_owned(),
                shadows: Vec::new(),
            };
            (TrustChoice::DcosCli(SslVerify::Yes), roots)
        });
        tracing::info!("TLS trust {}", trust_source.describe());
        let mut cluster = Cluster {
            url: url_text,
            trust: Trust::WebRoots,
            timeout: Duration::from_secs(global.timeout),
            allow_http: global.allow_http,
            attached,
            max_in_flight: None,
            retries: None,
            url_source,
            trust_source,
        };
        let trusted = match &choice {
            TrustChoice::CaFile(file) => {
                format!(
                    "the CA of {} ({})",
                    cluster.trust_source.from,
                    file.display()
                )
            }
            TrustChoice::DcosCli(SslVerify::CaFile(file)) => {
                format!("the CA of the dcos CLI's ssl_verify ({})", file.display())
            }
            TrustChoice::Fingerprint(_) => "the CA pinned by --ca-fingerprint".to_owned(),
            _ => "the system's web roots".to_owned(),
        };
        let _ = exit::TRUST_SOURCE.set(trusted);
        cluster.trust = match choice {
            TrustChoice::CaFile(file) => {
                let what = format!("{} {}", cluster.trust_source.from, file.display());
                let pem = input::read_all(&file, CONFIG_LIMIT).map_err(|f| f.context(&what))?;
                Trust::Pinned(pem_certificates(&pem).context(&what)?)
            }
            TrustChoice::Fingerprint(expected) => cluster.pin_fingerprint(&url, &expected).await?,
            TrustChoice::Insecure => {
                // DCOS_TLS_INSECURE is also what the dcos CLI passes for plain http, where
                // there is no certificate to verify and nothing to warn about.
                // A downgrade the command line did not ask for is said even under -q.
                let warning = format!(
                    "{}: the cluster's TLS certificate is not verified; anyone on the path can \
                     read the token and secrets",
                    cluster.trust_source.from
                );
                if cluster.trust_source.from == "--insecure" {
                    ui.warn(warning);
                } else if url.scheme() == "https" {
                    ui.warn_always(warning);
                }
                Trust::Insecure
            }
            TrustChoice::DcosCli(SslVerify::No) => {
                ui.warn_always("the dcos CLI configuration sets ssl_verify = false: the cluster's TLS certificate is not verified");
                Trust::Insecure
            }
            TrustChoice::DcosCli(SslVerify::CaFile(path)) => {
                let what = format!("the dcos CLI's ssl_verify CA {}", path.display());
                let pem = input::read_all(&path, CONFIG_LIMIT).map_err(|f| f.context(&what))?;
                Trust::Pinned(pem_certificates(&pem).context(&what)?)
            }
            TrustChoice::DcosCli(SslVerify::Yes) => Trust::WebRoots,
        };
        Ok(cluster)
    }

    /// Downloads the CA and trusts it only if one of its certificates has the fingerprint.
    async fn pin_fingerprint(&self, url: &url::Url, expected: &str) -> exit::Result<Trust> {
        let expected = parse_fingerprint(expected)?;
        // Over http the CA would come in the clear and pin nothing: there is no TLS.
        if url.scheme() != "https" {
            return Err(Failure::usage(format!(
                "--ca-fingerprint pins the CA of an https:// cluster, and `{}` is not one: \
                 nothing was downloaded or sent",
                self.url
            ))
            .hint("use the cluster's https:// URL"));
        }
        let bundle = self.fetch_ca(true).await?;
        let certs = pem_certificates(&bundle).context("the cluster's CA bundle")?;
        match certs.iter().find(|der| fingerprint(der) == expected) {
            Some(der) => Ok(Trust::Pinned(vec![der.clone()])),
            None => {
                let got: Vec<String> = certs.iter().map(|d| fingerprint(d)).collect();
                Err(Failure::new(
                    exit::AUTH,
                    format!(
                        "the cluster's CA does not match --ca-fingerprint: expected {expected}, got {}; nothing was sent",
                        got.join(", ")
                    ),
                )
                .hint("if the cluster's CA really changed, confirm the new fingerprint out of band (`dcos-creds ca fetch`)"))
            }
        }
    }

    /// A transport with this cluster's trust and time-out and no token.
    pub fn transport(&self) -> exit::Result<Transport> {
        let mut builder = Transport::builder(&self.url)
            .request_timeout(self.timeout)
            .limits(crate::interrupt::limits());
        if let Some(n) = self.max_in_flight {
            builder = builder.max_in_flight(n);
        }
        if let Some(n) = self.retries {
            builder = builder.max_retries(n);
        }
        Ok(builder.trust(self.trust.clone()).build()?)
    }

    /// Sends at most `requests` at a time, however many tasks ask.
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = Some(requests);
        self
    }

    /// Retries a failed request (a 429, 502, 503, 504 or a lost connection) up to `retries`
    /// times.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Refuses to send credentials or secrets over plain http to a host beyond loopback,
    /// unless `--allow-http` was given.
    pub fn check_http(&self) -> exit::Result<()> {
        let url = url::Url::parse(&self.url).map_err(|e| Failure::usage(e.to_string()))?;
        if url.scheme() == "http" && !is_loopback(&url) && !self.allow_http {
            return Err(Failure::usage(format!(
                "refusing to send a token, password or secret over plain http to {}",
                url.host_str().unwrap_or_default()
            ))
            .hint("use the https:// URL of the cluster, or pass --allow-http if the network is private and trusted"));
        }
        Ok(())
    }

    /// Downloads the CA bundle (no token). `unverified` skips TLS verification: the caller
    /// checks the bundle itself.
    pub async fn fetch_ca(&self, unverified: bool) -> exit::Result<Vec<u8>> {
        let transport = if unverified {
            Transport::builder(&self.url)
                .request_timeout(self.timeout)
                .limits(crate::interrupt::limits())
                .danger_accept_invalid_certs()
                .build()?
        } else {
            self.transport()?
        };
        let response = transport
            .send(Request::get(CA_PATH).unauthenticated())
            .await
            .context("downloading the cluster CA")?;
        Ok(response.into_bytes().to_vec())
    }

    /// The `dcos` CLI's configuration file, when it holds a token for this cluster.
    pub fn dcos_cli_token(&self) -> Option<&std::path::Path> {
        self.attached
            .as_ref()
            .filter(|a| a.token.is_some())
            .map(|a| a.file.as_path())
    }

    /// Whether trust was settled by --ca-cert or --ca-fingerprint.
    pub fn is_pinned(&self) -> bool {
        matches!(self.trust, Trust::Pinned(_))
    }

    /// Finds a token and connects.
    pub async fn session(&self) -> exit::Result<Session> {
        self.session_probing(false).await
    }

    /// Finds a token and connects; `probe_keyring` also asks the keyring when another source
    /// wins, to say that it is shadowed.
    pub async fn session_probing(&self, probe_keyring: bool) -> exit::Result<Session> {
        self.check_http()?;
        let base = self.transport()?;
        let (service_account, login_origin) = match credential_from_env()? {
            Some(secret) => {
                let credentials = Credentials::service_account(secret.uid, secret.private_key_pem)
                    .context("DCOS_SERVICE_ACCOUNT_CREDENTIAL")?;
                (Some(credentials), Origin::EnvCredential)
            }
            None => (service_account_from_env()?, Origin::EnvServiceAccount),
        };
        let env_token = env("DCOS_ACS_TOKEN");
        let found = if let Some(token) = env_token.clone() {
            Some((SecretString::from(token), Origin::EnvToken))
        } else if service_account.is_some() {
            None
        } else if let Some(token) = keyring_store::load(&self.url) {
            Some((token, Origin::Keyring))
        } else {
            self.attached
                .as_ref()
                .and_then(|a| a.token.clone())
                .map(|t| (t, Origin::DcosCli))
        };
        // The sources further down that were set too, for `-v` and `status` (the keyring is
        // only asked when it was not reached, with `probe_keyring`).
        let mut present = vec![
            (Origin::EnvToken, env_token.is_some()),
            (Origin::EnvCredential, login_origin == Origin::EnvCredential),
            (
                Origin::EnvServiceAccount,
                login_origin == Origin::EnvServiceAccount && service_account.is_some(),
            ),
        ];
        if probe_keyring || found.as_ref().is_some_and(|(_, o)| *o == Origin::Keyring) {
            present.push((Origin::Keyring, keyring_store::load(&self.url).is_some()));
        }
        present.push((
            Origin::DcosCli,
            self.attached.as_ref().is_some_and(|a| a.token.is_some()),
        ));
        let (tokens, origin, source): (Tokens, Origin, Arc<dyn TokenSource>) = match (
            found,
            service_account,
        ) {
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
                return Err(Failure::new(exit::AUTH, format!("not logged in to {}", self.url))
                        .hint("run `dcos-creds login`, or set DCOS_ACS_TOKEN, or DCOS_SERVICE_ACCOUNT with DCOS_PRIVATE_KEY_FILE"));
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
            check_not_expired(token, &origin)?;
        }
        let transport = base.with_token_source(source);
        Ok(Session {
            url: self.url.clone(),
            origin,
            token_source,
            clients: Clients::new(transport),
            token: tokens,
        })
    }
}

/// Fails, before anything is sent, when a token that nothing renews has expired: saying when,
/// and how to get a new one from where it came.
fn check_not_expired(token: &Token, origin: &Origin) -> exit::Result<()> {
    let Some(exp) = token.exp() else {
        return Ok(());
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if exp > now {
        return Ok(());
    }
    let at = humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(exp));
    let ago = crate::output::duration_words(Duration::from_secs(now - exp));
    let hint = match origin {
        Origin::EnvToken => {
            "get a new one with `export DCOS_ACS_TOKEN=$(dcos-creds login --username <uid> \
             --print-token)`, or unset DCOS_ACS_TOKEN to use the saved login"
        }
        Origin::Keyring => "run `dcos-creds login` again",
        Origin::DcosCli => "run `dcos auth login`, or `dcos-creds login`",
        _ => "log in again",
    };
    Err(Failure::new(
        exit::AUTH,
        format!(
            "the token from {} expired at {at} ({ago} ago); nothing was sent",
            origin.as_str()
        ),
    )
    .hint(hint))
}

/// The login secret in `DCOS_SERVICE_ACCOUNT_CREDENTIAL`, as jobs and services inside a
/// cluster receive it, when set.
fn credential_from_env() -> exit::Result<Option<ServiceAccountSecret>> {
    let Some(json) = env("DCOS_SERVICE_ACCOUNT_CREDENTIAL") else {
        return Ok(None);
    };
    let secret = ServiceAccountSecret::from_json(&SecretString::from(json))
        .context("DCOS_SERVICE_ACCOUNT_CREDENTIAL")?;
    Ok(Some(secret))
}

/// The cluster URL of a login endpoint: `https://leader.mesos/acs/api/v1/auth/login` gives
/// `https://leader.mesos`.
fn login_base(endpoint: &str) -> exit::Result<String> {
    let parsed = url::Url::parse(endpoint).map_err(|e| {
        Failure::usage(format!(
            "DCOS_SERVICE_ACCOUNT_CREDENTIAL: the login endpoint `{endpoint}` is not a URL: {e}"
        ))
    })?;
    let path = parsed.path();
    let base = path
        .strip_suffix(dcos_iam_client::LOGIN_PATH)
        .unwrap_or_default();
    Ok(format!("{}{base}", parsed.origin().ascii_serialization()))
}

/// `DCOS_SERVICE_ACCOUNT` with `DCOS_PRIVATE_KEY_FILE`, when set.
fn service_account_from_env() -> exit::Result<Option<Credentials>> {
    match (env("DCOS_SERVICE_ACCOUNT"), env("DCOS_PRIVATE_KEY_FILE")) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(Failure::usage(
            "DCOS_SERVICE_ACCOUNT is set but DCOS_PRIVATE_KEY_FILE is not",
        )),
        (None, Some(_)) => Err(Failure::usage(
            "DCOS_PRIVATE_KEY_FILE is set but DCOS_SERVICE_ACCOUNT is not",
        )),
        (Some(uid), Some(file)) => {
            let uid = Uid::new(&uid).context("DCOS_SERVICE_ACCOUNT")?;
            let key =
                input::private_key(std::path::Path::new(&file)).context("DCOS_PRIVATE_KEY_FILE")?;
            Ok(Some(
                Credentials::service_account(uid, key).context("DCOS_PRIVATE_KEY_FILE")?,
            ))
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
        assert_eq!(
            parse_fingerprint("sha256:abc").unwrap_err().code,
            exit::USAGE
        );
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

    #[test]
    fn plain_http_is_refused_beyond_loopback() {
        let cluster = |url: &str, allow_http| Cluster {
            url: url.into(),
            trust: Trust::WebRoots,
            timeout: Duration::from_secs(1),
            allow_http,
            attached: None,
            max_in_flight: None,
            retries: None,
            url_source: Setting {
                from: "--url".into(),
                shadows: Vec::new(),
            },
            trust_source: Setting {
                from: "--insecure".into(),
                shadows: Vec::new(),
            },
        };
        assert!(cluster("http://127.0.0.1:8080", false).check_http().is_ok());
        assert!(cluster("http://localhost:8080", false).check_http().is_ok());
        assert!(cluster("http://[::1]:8080", false).check_http().is_ok());
        assert!(
            cluster("https://dcos.example.com", false)
                .check_http()
                .is_ok()
        );
        let refused = cluster("http://dcos.example.com", false)
            .check_http()
            .unwrap_err();
        assert_eq!(refused.code, exit::USAGE);
        assert!(refused.hint.unwrap().contains("--allow-http"));
        assert!(
            cluster("http://dcos.example.com", true)
                .check_http()
                .is_ok()
        );
    }
}
