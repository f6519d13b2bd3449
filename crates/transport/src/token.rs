//! Where the transport gets the token for the `Authorization` header.

use std::fmt;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::Error;

/// A source of DC/OS authentication tokens.
///
/// The transport asks for a token before each authenticated request. When the server answers
/// 401, it calls [`TokenSource::refresh`] with the token that was refused; a source that can log
/// in again does so and returns `true`, and the transport repeats the request once. The IAM
/// client implements this for password and service-account logins, which keeps this crate free
/// of any endpoint knowledge.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// The token to send now.
    async fn token(&self) -> Result<SecretString, Error>;

    /// The server refused `rejected`. Returns `true` when a different token is now available and
    /// the request is worth repeating once.
    async fn refresh(&self, rejected: &SecretString) -> Result<bool, Error> {
        let _ = rejected;
        Ok(false)
    }
}

/// A fixed token, for example from `DCOS_ACS_TOKEN`. It cannot be renewed.
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: SecretString) -> Self {
        Self(token)
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([REDACTED])")
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn token(&self) -> Result<SecretString, Error> {
        Ok(SecretString::from(self.0.expose_secret()))
    }
}
