//! From the global options to a connection: the cluster URL, whom to trust for TLS, and the
//! token.

use std::net::IpAddr;
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
}

/// Where the token came from, for `whoami` and for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Cluster {
    /// Settles the URL and the TLS trust from the options, the environment and the `dcos`
    /// CLI's attached cluster. With `--ca-fingerprint` this downloads the CA (no token sent).
    pub async fn resolve(global: &Global, ui: &Ui) -> exit::Result<Cluster> {
        let attached = dcos_config::attached()?;
        let credential = credential_from_env()?;
        let (raw_url, from) = match (&global.url, &credential, &attached) {
            (Some(url), _, _) => (url.clone(), None),
            (None, Some(credential), _) => (
                login_base(&credential.login_endpoint)?,
                Some("the login endpoint of DCOS_SERVICE_ACCOUNT_CREDENTIAL"),
            ),
            (None, None, Some(AttachedCluster { url: Some(url), .. })) => {
                (url.clone(), Some("the dcos CLI's attached cluster"))
            }
            _ => {
                return Err(Failure::usage("no cluster URL")
                    .hint("pass --url https://<cluster>, set DCOS_URL, or attach a cluster with the dcos CLI"));
            }
        };
        let url = url::Url::parse(&raw_url)
            .map_err(|e| Failure::usage(format!("the cluster URL `{raw_url}` is invalid: {e}")))?;
        let url_text = url.as_str().trim_end_matches('/').to_owned();
        // The dcos CLI's settings apply only to its own cluster.
        let attached = attached.filter(|a| {
            a.url
                .as_deref()
                .is_some_and(|u| u.trim_end_matches('/') == url_text)
        });
        let mut cluster = Cluster {
            url: url_text,
            trust: Trust::WebRoots,
            timeout: Duration::from_secs(global.timeout),
            allow_http: global.allow_http,
            attached,
            max_in_flight: None,
            retries: None,
        };
        if let Some(from) = from {
            tracing::info!("cluster {} from {from}", cluster.url);
        }
        cluster.trust = if let Some(file) = &global.ca_cert {
            let pem = input::read_all(file, CONFIG_LIMIT).map_err(|f| f.context("--ca-cert"))?;
            Trust::Pinned(pem_certificates(&pem).context(format!("--ca-cert {}", file.display()))?)
        } else if let Some(expected) = &global.ca_fingerprint {
            let expected = parse_fingerprint(expected)?;
            // Over http the CA would come in the clear and pin nothing: there is no TLS.
            if url.scheme() != "https" {
                return Err(Failure::usage(format!(
                    "--ca-fingerprint pins the CA of an https:// cluster, and `{}` is not one: \
                     nothing was downloaded or sent",
                    cluster.url
                ))
                .hint("use the cluster's https:// URL"));
            }
            let bundle = cluster.fetch_ca(true).await?;
            let certs = pem_certificates(&bundle).context("the cluster's CA bundle")?;
            match certs.iter().find(|der| fingerprint(der) == expected) {
                Some(der) => Trust::Pinned(vec![der.clone()]),
                None => {
                    let got: Vec<String> = certs.iter().map(|d| fingerprint(d)).collect();
                    return Err(Failure::new(
                        exit::AUTH,
                        format!(
                            "the cluster's CA does not match --ca-fingerprint: expected {expected}, got {}; nothing was sent",
                            got.join(", ")
                        ),
                    )
                    .hint("if the cluster's CA really changed, confirm the new fingerprint out of band (`dcos-creds ca fetch`)"));
                }
            }
        } else if global.insecure {
            ui.warn("--insecure: the cluster's TLS certificate is not verified; anyone on the path can read the token and secrets");
            Trust::Insecure
        } else if env("DCOS_TLS_INSECURE").is_some_and(|v| !matches!(v.as_str(), "0" | "false")) {
            // What the dcos CLI passes its plugins for clusters set up with --insecure, and for
            // plain http (where there is no certificate to verify, and nothing to warn about).
            if url.scheme() == "https" {
                ui.warn("DCOS_TLS_INSECURE: the cluster's TLS certificate is not verified; anyone on the path can read the token and secrets");
            }
            Trust::Insecure
        } else {
            match cluster.attached.as_ref().map(|a| &a.ssl_verify) {
                Some(SslVerify::No) => {
                    ui.warn("the dcos CLI configuration sets ssl_verify = false: the cluster's TLS certificate is not verified");
                    Trust::Insecure
                }
                Some(SslVerify::CaFile(path)) => {
                    let what = format!("the dcos CLI's ssl_verify CA {}", path.display());
                    let pem = input::read_all(path, CONFIG_LIMIT).map_err(|f| f.context(&what))?;
                    Trust::Pinned(pem_certificates(&pem).context(&what)?)
                }
                Some(SslVerify::Yes) | None => Trust::WebRoots,
            }
        };
        Ok(cluster)
    }

    /// A transport with this cluster's trust and time-out and no token.
    pub fn transport(&self) -> exit::Result<Transport> {
        let mut builder = Transport::builder(&self.url).request_timeout(self.timeout);
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

    /// Whether trust was settled by --ca-cert or --ca-fingerprint.
    pub fn is_pinned(&self) -> bool {
        matches!(self.trust, Trust::Pinned(_))
    }

    /// Finds a token and connects.
    pub async fn session(&self) -> exit::Result<Session> {
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
        let found = if let Some(token) = env("DCOS_ACS_TOKEN") {
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
        if origin == Origin::DcosCli
            && let Some(attached) = &self.attached
        {
            tracing::info!("token from {}", attached.file.display());
        } else {
            tracing::info!(origin = origin.as_str(), "token");
        }
        let transport = base.with_token_source(source);
        Ok(Session {
            url: self.url.clone(),
            origin,
            clients: Clients::new(transport),
            token: tokens,
        })
    }
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
