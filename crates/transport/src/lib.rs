//! The plumbing shared by the DC/OS API clients: base URL, TLS, token, time-outs, retries and the
//! one error type. It knows no endpoint; `dcos-secrets-client` and `dcos-iam-client` build
//! [`Request`]s and send them through a [`Transport`].
//!
//! # Quick start
//!
//! ```no_run
//! use dcos_transport::{Request, Transport};
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), dcos_transport::Error> {
//! let ca = std::fs::read("dcos-ca.crt").map_err(|e| dcos_transport::Error::InvalidInput(e.to_string()))?;
//! let transport = Transport::builder("https://dcos.example.com")
//!     .pin_ca_pem(&ca)
//!     .token(SecretString::from(std::env::var("DCOS_ACS_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let pong = transport.send(Request::get("/secrets/v1/ping")).await?;
//! assert_eq!(pong.status(), 200);
//! # Ok(()) }
//! ```
//!
//! Every request goes through [`Transport::send`]: it adds `Authorization: token=<jwt>` (marked
//! sensitive), logs method, path, status and time with `tracing` (never a body), retries the
//! safe cases with exponential backoff (see [`retry`]), logs in again once on 401 when the token
//! source can, and turns error answers into [`Error::Api`].

mod error;
pub mod limits;
mod request;
pub mod retry;
mod token;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;
use url::Url;

pub use error::{ApiError, BODY_EXCERPT_CHARS, Error, TlsProblem, redact, terminal_safe};
pub use limits::{Call, Cut, Limits};
pub use request::{Body, JSON, OCTET_STREAM, Request, Response};
pub use reqwest::{Method, StatusCode};
pub use retry::{DEFAULT_RETRIES, RetryPolicy};
pub use token::{StaticToken, TokenSource};

/// How long opening a connection may take by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one attempt of a request may take by default, answer included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer body read by default. The biggest documented answer is a secret of 1 MiB
/// (at most 6 MiB as a JSON string, every byte escaped); anything larger is not the API.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("dcos-creds/", env!("CARGO_PKG_VERSION"));

/// Which server certificates a transport trusts.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The usual web roots.
    #[default]
    WebRoots,
    /// The web roots and these certificates (DER).
    Extra(Vec<Vec<u8>>),
    /// Only these certificates (DER), such as the cluster CA.
    Pinned(Vec<Vec<u8>>),
    /// Anything: no verification at all.
    Insecure,
}

/// Builds a [`Transport`]. [`TransportBuilder::build`] checks everything and never panics.
#[derive(Debug)]
#[must_use]
pub struct TransportBuilder {
    base_url: String,
    token: Option<Arc<dyn TokenSource>>,
    trust: Result<Trust, Error>,
    connect_timeout: Duration,
    request_timeout: Duration,
    retry: RetryPolicy,
    max_in_flight: Option<usize>,
    max_response_bytes: usize,
    limits: Limits,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::WebRoots => f.write_str("WebRoots"),
            Trust::Extra(c) => write!(f, "Extra({} certificates)", c.len()),
            Trust::Pinned(c) => write!(f, "Pinned({} certificates)", c.len()),
            Trust::Insecure => f.write_str("Insecure"),
        }
    }
}

/// The certificates of a PEM bundle, as DER. A bundle without one is an error.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let certs: Vec<Vec<u8>> = rustls_pemfile::certs(&mut &pem[..])
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| Error::InvalidInput(format!("the CA bundle is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::InvalidInput(
            "the CA bundle holds no certificate".to_owned(),
        ));
    }
    Ok(certs)
}

fn certificates(ders: &[Vec<u8>]) -> Result<Vec<reqwest::Certificate>, Error> {
    ders.iter()
        .map(|der| {
            reqwest::Certificate::from_der(der)
                .map_err(|e| Error::InvalidInput(format!("not a certificate: {e}")))
        })
        .collect()
}

impl TransportBuilder {
    /// Sends requests with a fixed token.
    pub fn token(self, token: SecretString) -> Self {
        self.token_source(Arc::new(StaticToken::new(token)))
    }

    /// Reads answers of at most `bytes` bytes (default [`DEFAULT_MAX_RESPONSE_BYTES`]); a
    /// larger one fails with [`Error::TooLarge`] without being read to the end.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Gets tokens from `source`, which may log in again after a 401.
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token = Some(source);
        self
    }

    /// Which server certificates to trust.
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = Ok(trust);
        self
    }

    /// Trusts the certificates of a PEM bundle in addition to the web roots.
    pub fn add_ca_pem(mut self, pem: &[u8]) -> Self {
        self.trust = pem_certificates(pem).map(Trust::Extra);
        self
    }

    /// Trusts only the certificates of a PEM bundle, such as the cluster CA from
    /// `/ca/dcos-ca.crt`.
    pub fn pin_ca_pem(mut self, pem: &[u8]) -> Self {
        self.trust = pem_certificates(pem).map(Trust::Pinned);
        self
    }

    /// Accepts any server certificate. Only for clusters whose CA cannot be had otherwise.
    pub fn danger_accept_invalid_certs(self) -> Self {
        self.trust(Trust::Insecure)
    }

    /// How long opening a connection may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt of a request may take.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How failed requests are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How many times a failed request may be sent again.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.retry.max_retries = retries;
        self
    }

    /// The first backoff delay and its cap. Tests set both to zero.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.retry.backoff_base = base;
        self.retry.backoff_cap = cap;
        self
    }

    /// Sends at most `requests` at a time through this transport and its clones; the others
    /// wait their turn. A request waiting to be retried gives its place up meanwhile.
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = Some(requests.max(1));
        self
    }

    /// Ends every request by `limits`: the run's deadline, and a stop its caller asks for.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Checks the settings and builds the transport.
    pub fn build(self) -> Result<Transport, Error> {
        let base = Url::parse(&self.base_url).map_err(|e| {
            Error::InvalidInput(format!(
                "the cluster URL `{}` is invalid: {e}",
                self.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::InvalidInput(format!(
                "the cluster URL `{}` must start with http:// or https://",
                self.base_url
            )));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(Error::InvalidInput(format!(
                "the cluster URL `{}` has no host",
                self.base_url
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::InvalidInput(format!(
                "the cluster URL `{}` must not have a query or fragment",
                self.base_url
            )));
        }
        let mut http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            // The DC/OS APIs do not redirect; following one could carry a token, a password or
            // a secret to another host, or from https to http.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .use_rustls_tls()
            .https_only(false);
        match self.trust? {
            Trust::WebRoots => {}
            Trust::Extra(certs) => {
                for cert in certificates(&certs)? {
                    http = http.add_root_certificate(cert);
                }
            }
            Trust::Pinned(certs) => {
                http = http.tls_built_in_root_certs(false);
                for cert in certificates(&certs)? {
                    http = http.add_root_certificate(cert);
                }
            }
            Trust::Insecure => http = http.danger_accept_invalid_certs(true),
        }
        let http = http
            .build()
            .map_err(|e| Error::InvalidInput(format!("cannot set up the HTTP client: {e}")))?;
        let base = base.as_str().trim_end_matches('/').to_owned();
        Ok(Transport {
            inner: Arc::new(Inner {
                http,
                base,
                retry: self.retry,
                in_flight: self.max_in_flight.map(|n| Arc::new(Semaphore::new(n))),
                max_response_bytes: self.max_response_bytes,
                limits: self.limits,
            }),
            token: self.token,
        })
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// The base URL without a trailing `/`.
    base: String,
    retry: RetryPolicy,
    /// Places for requests in flight, when they are limited.
    in_flight: Option<Arc<Semaphore>>,
    /// The largest answer body read; a larger one is an error, read no further.
    max_response_bytes: usize,
    /// The run's deadline and stop.
    limits: Limits,
}

/// A connection to one cluster. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Transport {
    inner: Arc<Inner>,
    token: Option<Arc<dyn TokenSource>>,
}

/// How one attempt ended.
enum Attempt {
    Answer(
        reqwest::StatusCode,
        reqwest::header::HeaderMap,
        bytes::Bytes,
    ),
    Failed(reqwest::Error),
    /// The body was larger than the limit; the rest was not read.
    TooLarge(reqwest::StatusCode),
}

impl Transport {
    /// Starts building a transport for the cluster at `base_url` (`https://dcos.example.com`).
    pub fn builder(base_url: impl Into<String>) -> TransportBuilder {
        TransportBuilder {
            base_url: base_url.into(),
            token: None,
            trust: Ok(Trust::default()),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry: RetryPolicy::default(),
            max_in_flight: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            limits: Limits::none(),
        }
    }

    /// The same connection with another token source. The IAM client uses this to plug its
    /// login into a transport whose connections it shares.
    pub fn with_token_source(&self, source: Arc<dyn TokenSource>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            token: Some(source),
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The retry settings.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// The full URL of a request.
    pub fn url_of(&self, request: &Request) -> Result<Url, Error> {
        let mut url = Url::parse(&format!("{}{}", self.inner.base, request.path))
            .map_err(|e| Error::InvalidInput(format!("bad request path {}: {e}", request.path)))?;
        // Dot segments (`..`, `.`, or `%2e` spelled) would be collapsed on the way and send the
        // request elsewhere: `/groups/../users/u` is `/users/u`. Never sent.
        // The path alone: a caller may have written a query into it.
        let path = request.path.split(['?', '#']).next().unwrap_or_default();
        let dots = path.split('/').any(|s| {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
            )
        });
        // What the base URL's own path is, to compare the path as parsed with the one built.
        let base_path = match self.inner.base.find("://") {
            Some(i) => self.inner.base[i + 3..]
                .find('/')
                .map_or("", |j| &self.inner.base[i + 3 + j..]),
            None => "",
        };
        if dots || url.path() != format!("{base_path}{path}") {
            return Err(Error::InvalidInput(format!(
                "the request path {} would reach the server as another path (dot segments, or \
                 characters the URL parser rewrites); not sent",
                request.path
            )));
        }
        if !request.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(request.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// Sends a request and returns its success answer, or the error.
    ///
    /// Retries as [`RetryPolicy::decide`] allows; after a 401 asks the token source to log in
    /// again and, if it did, repeats the request once.
    pub async fn send(&self, request: Request) -> Result<Response, Error> {
        let url = self.url_of(&request)?;
        let mut attempts = 0u32;
        let mut relogged = false;
        loop {
            attempts += 1;
            let token = match (&self.token, request.authenticated) {
                (Some(source), true) => Some(source.token().await?),
                _ => None,
            };
            let started = Instant::now();
            let call = match request.method == Method::GET || request.method == Method::HEAD {
                true => Call::Read,
                false => Call::Write,
            };
            if let Err(cut) = self.inner.limits.may_start(call) {
                return Err(self.cut(&request, cut, false, attempts));
            }
            let bounded = self.inner.limits.bound(call, async {
                // The semaphore is never closed, so acquiring fails only if it were.
                let _permit = match &self.inner.in_flight {
                    Some(places) => Arc::clone(places).acquire_owned().await.ok(),
                    None => None,
                };
                self.attempt(&request, &url, token.as_ref()).await
            });
            let outcome = match bounded.await {
                Ok(outcome) => outcome,
                // A write cut in flight may have been applied.
                Err(cut) => return Err(self.cut(&request, cut, call == Call::Write, attempts)),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match &outcome {
                Attempt::Answer(status, _, _) => tracing::debug!(
                    method = %request.method, path = %request.path, status = status.as_u16(),
                    elapsed_ms, attempt = attempts, "answered"
                ),
                Attempt::Failed(e) => tracing::debug!(
                    method = %request.method, path = %request.path, elapsed_ms,
                    attempt = attempts, error = %e, "failed"
                ),
                Attempt::TooLarge(status) => tracing::debug!(
                    method = %request.method, path = %request.path, status = status.as_u16(),
                    elapsed_ms, attempt = attempts, "answer too large"
                ),
            }
            let outcome = match outcome {
                Attempt::Answer(status, headers, body) if status.is_success() => {
                    return Ok(Response {
                        method: request.method.clone(),
                        path: request.path.clone(),
                        status,
                        content_type: headers
                            .get(CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                        date: headers
                            .get(reqwest::header::DATE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                        body,
                    });
                }
                // The same server would send the same answer again: not retried.
                Attempt::TooLarge(status) => {
                    return Err(Error::TooLarge {
                        method: request.method.clone(),
                        path: request.path.clone(),
                        status,
                        limit: self.inner.max_response_bytes,
                    });
                }
                // A redirect is an error of its own, never retried and never followed.
                Attempt::Answer(status, headers, _) if status.is_redirection() => {
                    return Err(Error::Redirect {
                        method: request.method.clone(),
                        path: request.path.clone(),
                        status,
                        target: redirect_target(&url, &headers),
                    });
                }
                // An error answer, or no answer.
                Attempt::Answer(status, headers, body) => Ok((status, headers, body)),
                // A certificate that does not verify, or TLS where plain http was sent, is the
                // same on every try: not retried.
                Attempt::Failed(source) => match tls_problem(&source, &url) {
                    Some(problem) => {
                        return Err(Error::Tls {
                            method: request.method.clone(),
                            path: request.path.clone(),
                            problem,
                            source,
                        });
                    }
                    None => Err(source),
                },
            };
            let failure = match &outcome {
                Ok((status, headers, _)) => {
                    retry::Failure::Status(*status, retry::retry_after(headers))
                }
                Err(e) => classify(e),
            };
            if let (retry::Failure::Status(StatusCode::UNAUTHORIZED, _), Some(source), Some(tok)) =
                (failure, &self.token, &token)
                && !relogged
                && source.refresh(tok).await?
            {
                relogged = true;
                tracing::debug!(method = %request.method, path = %request.path, "token refused; logged in again");
                continue;
            }
            if let Some(delay) =
                self.inner
                    .retry
                    .decide(request.idempotent, attempts, failure, fastrand::f64())
            {
                tracing::debug!(
                    method = %request.method, path = %request.path, delay_ms = delay.as_millis() as u64,
                    "retrying"
                );
                let pause = self
                    .inner
                    .limits
                    .bound(Call::Read, tokio::time::sleep(delay));
                if let Err(cut) = pause.await {
                    // Nothing is in flight while waiting to retry.
                    return Err(self.cut(&request, cut, false, attempts));
                }
                continue;
            }
            return Err(match outcome {
                Ok((status, _, body)) => {
                    let mut sent: Vec<&str> = request
                        .sensitive
                        .iter()
                        .map(|s| s.expose_secret())
                        .collect();
                    if let Some(token) = &token {
                        sent.push(token.expose_secret());
                    }
                    ApiError::from_body_redacted(status, &body, &sent)
                        .for_request(&request.method, &request.path, attempts)
                        .into()
                }
                Err(source) => {
                    let (method, path) = (request.method.clone(), request.path.clone());
                    if source.is_timeout() {
                        Error::Timeout {
                            method,
                            path,
                            attempts,
                            source,
                        }
                    } else {
                        Error::Transport {
                            method,
                            path,
                            attempts,
                            source,
                        }
                    }
                }
            });
        }
    }

    /// The error of a request that the limits cut short; `outcome_unknown` when it was a
    /// write in flight, which the server may have applied.
    fn cut(&self, request: &Request, cut: Cut, outcome_unknown: bool, attempts: u32) -> Error {
        let (method, path) = (request.method.clone(), request.path.clone());
        tracing::debug!(method = %method, path = %path, ?cut, "cut short");
        match cut {
            Cut::Stopped => Error::Interrupted {
                method,
                path,
                outcome_unknown,
            },
            Cut::Deadline(limit) => Error::Deadline {
                method,
                path,
                limit,
                attempts,
                outcome_unknown,
            },
        }
    }

    async fn attempt(&self, request: &Request, url: &Url, token: Option<&SecretString>) -> Attempt {
        let mut builder = self.inner.http.request(request.method.clone(), url.clone());
        if let Some(token) = token {
            match HeaderValue::from_str(&format!("token={}", token.expose_secret())) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    builder = builder.header(AUTHORIZATION, value);
                }
                Err(_) => {
                    // A token with characters that cannot go in a header is sent as none; the
                    // server's 401 then tells the user to log in again.
                    tracing::debug!("the token holds characters not allowed in a header");
                }
            }
        }
        if let Some(accept) = request.accept {
            builder = builder.header(ACCEPT, accept);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, body.content_type)
                .body(body.bytes.clone());
        }
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(e),
        };
        let status = response.status();
        let headers = response.headers().clone();
        match read_body(response, self.inner.max_response_bytes).await {
            Ok(Some(body)) => Attempt::Answer(status, headers, body),
            Ok(None) => Attempt::TooLarge(status),
            Err(e) => Attempt::Failed(e),
        }
    }
}

/// Where a redirect points, as an origin only (its path and query may carry anything).
fn redirect_target(url: &Url, headers: &reqwest::header::HeaderMap) -> String {
    let location = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok());
    match location.and_then(|l| url.join(l).ok()) {
        Some(target) => target.origin().ascii_serialization(),
        None => "nowhere given (no Location header)".to_owned(),
    }
}

/// The whole body, or `None` as soon as it proves longer than `limit` bytes.
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<bytes::Bytes>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Ok(None);
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// A failure that TLS explains: the server's certificate did not verify, or a plain http
/// request reached a server that speaks TLS.
fn tls_problem(error: &reqwest::Error, url: &Url) -> Option<TlsProblem> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(rustls::Error::InvalidCertificate(reason)) = rustls_error(e) {
            return Some(TlsProblem::Unverified(format!("{reason:?}")));
        }
        // A TLS server's alert, read as an HTTP/1 answer, starts with bytes that are no
        // HTTP version.
        if url.scheme() == "http" && e.to_string().contains("invalid HTTP version") {
            return Some(TlsProblem::SpeaksTls);
        }
        cause = e.source();
    }
    None
}

/// rustls's error, which travels inside an `io::Error` (or two), whose `source` skips it.
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

fn classify(e: &reqwest::Error) -> retry::Failure {
    if e.is_connect() {
        retry::Failure::Connect
    } else if e.is_timeout() {
        retry::Failure::Timeout
    } else {
        retry::Failure::Broken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_refuses_bad_urls_without_panicking() {
        for url in [
            "",
            "dcos.example.com",
            "ftp://dcos",
            "https://",
            "https://h/?x=1",
        ] {
            let err = Transport::builder(url).build().unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err}");
        }
    }

    #[test]
    fn builder_refuses_a_bundle_without_certificates() {
        let err = Transport::builder("https://h")
            .pin_ca_pem(b"not a certificate")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("no certificate"), "{err}");
    }

    #[test]
    fn url_joins_base_path_and_keeps_encoding() {
        let t = Transport::builder("https://h.example/prefix/")
            .build()
            .unwrap();
        let r = Request::get("/acs/api/v1/acls/dcos:secrets:default:a%252Fb").query("list", "true");
        assert_eq!(
            t.url_of(&r).unwrap().as_str(),
            "https://h.example/prefix/acs/api/v1/acls/dcos:secrets:default:a%252Fb?list=true"
        );
    }

    /// Requirement (issue 27): a path with dot segments is never sent, however it is spelled.
    #[test]
    fn paths_with_dot_segments_are_refused() {
        let t = Transport::builder("https://h.example").build().unwrap();
        for path in [
            "/acs/api/v1/groups/../users/victim",
            "/acs/api/v1/groups/./users/victim",
            "/acs/api/v1/groups/%2e%2e/users/victim",
            "/acs/api/v1/groups/.%2E/users/victim",
            "/acs/api/v1/users/..",
        ] {
            let err = t.url_of(&Request::delete(path)).unwrap_err();
            assert!(err.to_string().contains("another path"), "{path}: {err}");
        }
        let fine = t
            .url_of(&Request::get("/acs/api/v1/groups/a..b/users/u.1"))
            .unwrap();
        assert_eq!(fine.path(), "/acs/api/v1/groups/a..b/users/u.1");
        let query = t
            .url_of(&Request::get("/secrets/v1/secret/default/a?list=true"))
            .unwrap();
        assert_eq!(query.query(), Some("list=true"));
    }

    #[test]
    fn debug_of_a_transport_with_a_token_hides_it() {
        let t = Transport::builder("https://h")
            .token(SecretString::from("tok-canary-123"))
            .build()
            .unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("tok-canary-123"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn debug_of_a_request_hides_the_body() {
        let r = Request::put("/x").body(OCTET_STREAM, b"body-canary".to_vec());
        let shown = format!("{r:?}");
        assert!(!shown.contains("body-canary"), "{shown}");
    }
}
