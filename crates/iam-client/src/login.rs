//! Logging in: with a password or a service-account key, and as a token source that logs in
//! again when the token is about to expire or is refused.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use dcos_transport::{Error, Request, TokenSource, Transport};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::Uid;

/// How long the JWT that a service account signs to log in is valid.
pub const SERVICE_LOGIN_TTL: Duration = Duration::from_secs(5 * 60);
/// A token expiring within this is renewed before it is used.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The login path.
pub const LOGIN_PATH: &str = "/acs/api/v1/auth/login";

/// What a client logs in with.
#[derive(Clone)]
pub enum Credentials {
    /// A user and password.
    Password {
        /// The user.
        uid: Uid,
        /// The password.
        password: SecretString,
    },
    /// A service account and its RSA private key (PEM, PKCS#8 or PKCS#1).
    ServiceAccount {
        /// The service account.
        uid: Uid,
        /// The private key, as PEM text.
        private_key: SecretString,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Password { uid, .. } => {
                write!(f, "Password {{ uid: {uid:?}, password: [REDACTED] }}")
            }
            Credentials::ServiceAccount { uid, .. } => {
                write!(
                    f,
                    "ServiceAccount {{ uid: {uid:?}, private_key: [REDACTED] }}"
                )
            }
        }
    }
}

impl Credentials {
    /// A user and password.
    pub fn password(uid: Uid, password: SecretString) -> Self {
        Credentials::Password { uid, password }
    }

    /// A service account and its private key PEM. The key is checked now, so a bad file fails
    /// before any request.
    pub fn service_account(uid: Uid, private_key_pem: SecretString) -> Result<Self, Error> {
        encoding_key(&private_key_pem)?;
        Ok(Credentials::ServiceAccount {
            uid,
            private_key: private_key_pem,
        })
    }

    /// The account that logs in.
    pub fn uid(&self) -> &Uid {
        match self {
            Credentials::Password { uid, .. } | Credentials::ServiceAccount { uid, .. } => uid,
        }
    }
}

fn encoding_key(pem: &SecretString) -> Result<EncodingKey, Error> {
    EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes()).map_err(|_| {
        Error::InvalidInput(
            "the private key is not an RSA private key in PEM form (PKCS#8 or PKCS#1)".to_owned(),
        )
    })
}

#[derive(Serialize, Deserialize)]
struct LoginClaims<'a> {
    uid: &'a str,
    exp: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Signs the RS256 JWT `{"uid": uid, "exp": now + 5 min}` that a service account logs in with.
pub fn service_login_jwt(uid: &Uid, private_key_pem: &SecretString) -> Result<SecretString, Error> {
    let key = encoding_key(private_key_pem)?;
    let claims = LoginClaims {
        uid: uid.as_str(),
        exp: now_secs() + SERVICE_LOGIN_TTL.as_secs(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
        .map(SecretString::from)
        .map_err(|e| Error::InvalidInput(format!("cannot sign the login token: {e}")))
}

/// A DC/OS authentication token, with the `uid` and `exp` read from it.
pub struct Token {
    value: SecretString,
    uid: Option<String>,
    exp: Option<u64>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"[REDACTED]")
            .field("uid", &self.uid)
            .field("exp", &self.exp)
            .finish()
    }
}

impl Clone for Token {
    fn clone(&self) -> Self {
        Self {
            value: SecretString::from(self.value.expose_secret()),
            uid: self.uid.clone(),
            exp: self.exp,
        }
    }
}

#[derive(Deserialize)]
struct TokenClaims {
    uid: Option<String>,
    exp: Option<u64>,
}

impl Token {
    /// Wraps a token, reading `uid` and `exp` from its claims without checking the signature
    /// (only the cluster can). A token that is not a JWT keeps neither.
    pub fn new(value: SecretString) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.insecure_disable_signature_validation();
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<TokenClaims>(
            value.expose_secret(),
            &DecodingKey::from_secret(&[]),
            &validation,
        )
        .map(|data| data.claims)
        .ok();
        let (uid, exp) = claims.map_or((None, None), |c| (c.uid, c.exp));
        Self { value, uid, exp }
    }

    /// The token itself.
    pub fn secret(&self) -> &SecretString {
        &self.value
    }

    /// The `uid` claim.
    pub fn uid(&self) -> Option<&str> {
        self.uid.as_deref()
    }

    /// The `exp` claim, in seconds since the Unix epoch.
    pub fn exp(&self) -> Option<u64> {
        self.exp
    }

    /// Whether the token expires within `margin` from now (a token without `exp` never does).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.exp
            .is_some_and(|exp| exp <= now_secs().saturating_add(margin.as_secs()))
    }
}

#[derive(Serialize)]
struct LoginBody<'a> {
    uid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
}

/// The longest token a login may answer: DC/OS tokens are well under 2 KiB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Whether a login's answer is a token at all: a JWT (three base64url parts) of at most
/// [`MAX_TOKEN_BYTES`]. What it is otherwise is not quoted.
fn check_token_shape(token: &str) -> Result<(), Error> {
    let parts: Vec<&str> = token.split('.').collect();
    let base64url = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::Token {
            message: format!(
                "the login answered a token of {} bytes, more than any DC/OS token ({MAX_TOKEN_BYTES}); it is not kept",
                token.len()
            ),
            source: None,
        });
    }
    if parts.len() != 3 || !parts.iter().all(|p| base64url(p)) {
        return Err(Error::Token {
            message: "the login answered something that is not a JWT; it is not kept".to_owned(),
            source: None,
        });
    }
    Ok(())
}

/// `POST /acs/api/v1/auth/login` with `credentials`; needs no token.
pub async fn login(transport: &Transport, credentials: &Credentials) -> Result<Token, Error> {
    let request = match credentials {
        Credentials::Password { uid, password } => Request::post(LOGIN_PATH)
            .json(&LoginBody {
                uid: uid.as_str(),
                password: Some(password.expose_secret()),
                token: None,
            })?
            .sensitive(password.expose_secret()),
        Credentials::ServiceAccount { uid, private_key } => {
            let jwt = service_login_jwt(uid, private_key)?;
            Request::post(LOGIN_PATH)
                .json(&LoginBody {
                    uid: uid.as_str(),
                    password: None,
                    token: Some(jwt.expose_secret()),
                })?
                .sensitive(jwt.expose_secret())
        }
    };
    // Logging in twice has no effect beyond a second token, so a transient failure is retried.
    let request = request.unauthenticated().idempotent(true);
    let answer: LoginAnswer = transport
        .send(request)
        .await?
        .json_secret("a JSON object with a string `token`")?;
    check_token_shape(&answer.token)?;
    Ok(Token::new(SecretString::from(answer.token)))
}

/// A [`TokenSource`] that logs in with stored credentials: before first use, when the token
/// is about to expire (within [`REFRESH_MARGIN`], or a quarter of its lifetime when that is
/// shorter), and once after the server refuses it.
pub struct LoginSource {
    transport: Transport,
    credentials: Credentials,
    current: Mutex<Option<Held>>,
}

/// A token, and how long before its expiry it is replaced.
struct Held {
    token: Token,
    margin: Duration,
}

impl Held {
    /// A token of unknown age, given by the caller: replaced within [`REFRESH_MARGIN`] of its
    /// expiry.
    fn given(token: Token) -> Self {
        Self {
            token,
            margin: REFRESH_MARGIN,
        }
    }

    /// A token just obtained, whose lifetime is known: a token that lives two seconds is not
    /// "about to expire" from its first moment, as a fixed minute's margin would make it.
    fn obtained(token: Token) -> Self {
        let left = token.exp.map_or(0, |exp| exp.saturating_sub(now_secs()));
        let margin = REFRESH_MARGIN.min(Duration::from_secs(left / 4));
        Self { token, margin }
    }
}

impl fmt::Debug for LoginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginSource")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl LoginSource {
    /// A source that logs in through `transport` (whose own token source, if any, is not used
    /// for the login request).
    pub fn new(transport: Transport, credentials: Credentials) -> Self {
        Self {
            transport,
            credentials,
            current: Mutex::new(None),
        }
    }

    /// A source that starts from a token already obtained.
    pub fn with_token(transport: Transport, credentials: Credentials, token: Token) -> Self {
        Self {
            transport,
            credentials,
            current: Mutex::new(Some(Held::given(token))),
        }
    }

    /// The current token, logging in first if there is none or it is about to expire.
    pub async fn current(&self) -> Result<Token, Error> {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(held) if !held.token.expires_within(held.margin) => Ok(held.token.clone()),
            _ => {
                let token = self.login().await?;
                *current = Some(Held::obtained(token.clone()));
                Ok(token)
            }
        }
    }

    async fn login(&self) -> Result<Token, Error> {
        tracing::debug!(uid = %self.credentials.uid(), "logging in");
        login(&self.transport, &self.credentials)
            .await
            .map_err(|e| Error::Token {
                message: format!("login as `{}` failed", self.credentials.uid()),
                source: Some(Box::new(e)),
            })
    }
}

#[async_trait]
impl TokenSource for LoginSource {
    async fn token(&self) -> Result<SecretString, Error> {
        Ok(self.current().await?.value)
    }

    async fn refresh(&self, rejected: &SecretString) -> Result<bool, Error> {
        let mut current = self.current.lock().await;
        // Another request may have logged in already while this one waited.
        if let Some(held) = current.as_ref()
            && held.token.value.expose_secret() != rejected.expose_secret()
        {
            return Ok(true);
        }
        let token = self.login().await?;
        *current = Some(Held::obtained(token));
        Ok(true)
    }
}
