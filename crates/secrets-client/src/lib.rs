//! A typed async client for the DC/OS Enterprise Secrets API (`/secrets/v1`).
//!
//! # Quick start
//!
//! ```no_run
//! use dcos_secrets_client::{Overwrite, PutOutcome, SecretPath, SecretValue, SecretsClient};
//! use dcos_transport::Transport;
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), dcos_transport::Error> {
//! let transport = Transport::builder("https://dcos.example.com")
//!     .token(SecretString::from(std::env::var("DCOS_ACS_TOKEN").unwrap_or_default()))
//!     .build()?;
//! let secrets = SecretsClient::new(transport);
//!
//! let path = SecretPath::new("data-science-engine/aws_access_key_id")?;
//! let value = SecretValue::text(std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default());
//! match secrets.secret(&path).put(&value, Overwrite::Deny).await? {
//!     PutOutcome::Created => println!("created {path}"),
//!     PutOutcome::Unchanged => println!("{path} already holds that value"),
//!     PutOutcome::Updated { .. } => println!("{path} replaced"),
//! }
//! for name in secrets.list(None).await? {
//!     println!("{name}");
//! }
//! # Ok(()) }
//! ```
//!
//! Paths are validated by [`SecretPath`] before any request, values are [`SecretValue`]s whose
//! `Debug` never shows them, and every error is a [`dcos_transport::Error`] with helpers such as
//! `is_not_found()` and `is_conflict()`.

mod path;
mod value;

use dcos_transport::{Error, JSON, OCTET_STREAM, Request, Response, Transport};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

pub use path::{MAX_PATH_BYTES, SecretPath};
pub use value::{MAX_VALUE_BYTES, SecretValue};

/// The secret store that DC/OS supports, and the default of this client.
pub const DEFAULT_STORE: &str = "default";

const BASE: &str = "/secrets/v1";

/// A client for the Secrets API of one cluster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SecretsClient {
    transport: Transport,
    store: String,
}

/// Whether [`SecretHandle::put`] may replace a different existing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace it.
    Allow,
    /// Fail with a conflict error instead.
    Deny,
}

/// What [`SecretHandle::put`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The secret did not exist and was created.
    Created,
    /// The secret already held this value.
    Unchanged,
    /// The secret held another value, which was replaced; `previous` allows undoing it.
    Updated {
        /// The value that was replaced.
        previous: SecretValue,
    },
}

/// A secret store, as `GET /store` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Store {
    /// The store's name, such as `default`.
    pub name: String,
    /// The backend driver, such as `vault`.
    #[serde(default)]
    pub driver: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// Whether the store is initialized.
    #[serde(default)]
    pub initialized: bool,
    /// Whether the store is sealed.
    #[serde(default)]
    pub sealed: bool,
}

/// The seal state of a store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SealStatus {
    /// Whether the store is sealed (no secret can be read or written).
    pub sealed: bool,
    /// How many key shares are needed to unseal.
    #[serde(default)]
    pub threshold: u32,
    /// How many key shares exist.
    #[serde(default)]
    pub shares: u32,
    /// How many shares have been given so far.
    #[serde(default)]
    pub progress: u32,
}

#[derive(Deserialize)]
struct Array<T> {
    array: Vec<T>,
}

#[derive(Serialize, Deserialize)]
struct TextBody<'a> {
    value: &'a str,
}

#[derive(Deserialize)]
struct OwnedTextBody {
    value: String,
}

/// Builds the requests of the Secrets API without sending them.
pub mod requests {
    use super::*;

    /// `/secrets/v1/secret/{store}/{path}`.
    pub fn secret_url(store: &str, path: &SecretPath) -> String {
        format!("{BASE}/secret/{store}/{path}")
    }

    /// The body of a create or update: JSON for text, raw bytes for binary.
    /// Fails if the value is over the size limit.
    pub fn with_value(request: Request, value: &SecretValue) -> Result<Request, Error> {
        value.check_size()?;
        // The value is marked: an error answer that echoes it shows `[redacted]`.
        match value {
            SecretValue::Text(text) => Ok(request
                .json(&TextBody {
                    value: text.expose_secret(),
                })?
                .sensitive(text.expose_secret())),
            SecretValue::Binary(bytes) => {
                let bytes = bytes.expose_secret();
                let request = request.body(OCTET_STREAM, bytes.to_vec());
                Ok(match std::str::from_utf8(bytes) {
                    Ok(text) => request.sensitive(text),
                    Err(_) => request,
                })
            }
        }
    }

    /// `PUT` (create).
    pub fn create(store: &str, path: &SecretPath, value: &SecretValue) -> Result<Request, Error> {
        with_value(Request::put(secret_url(store, path)), value)
    }

    /// `PATCH` (update).
    pub fn update(store: &str, path: &SecretPath, value: &SecretValue) -> Result<Request, Error> {
        with_value(Request::patch(secret_url(store, path)), value)
    }

    /// `GET` of the value, accepting either representation.
    pub fn get(store: &str, path: &SecretPath) -> Request {
        Request::get(secret_url(store, path)).accept("*/*")
    }

    /// `DELETE`.
    pub fn delete(store: &str, path: &SecretPath) -> Request {
        Request::delete(secret_url(store, path))
    }

    /// `GET ?list=true` below `path`, or below the root.
    pub fn list(store: &str, path: Option<&SecretPath>) -> Request {
        let path = path.map(SecretPath::as_str).unwrap_or_default();
        Request::get(format!("{BASE}/secret/{store}/{path}"))
            .query("list", "true")
            .accept(JSON)
    }
}

impl SecretsClient {
    /// A client of the `default` store.
    pub fn new(transport: Transport) -> Self {
        Self {
            transport,
            store: DEFAULT_STORE.to_owned(),
        }
    }

    /// The same client on another store. DC/OS supports only `default`.
    pub fn with_store(mut self, store: &str) -> Result<Self, Error> {
        if store.is_empty() || SecretPath::new(store)?.as_str().contains('/') {
            return Err(Error::InvalidInput(format!(
                "store name `{store}` must be a single path segment"
            )));
        }
        self.store = store.to_owned();
        Ok(self)
    }

    /// The transport this client sends with.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The store this client works on.
    pub fn store(&self) -> &str {
        &self.store
    }

    /// The secret at `path`.
    pub fn secret<'a>(&'a self, path: &'a SecretPath) -> SecretHandle<'a> {
        SecretHandle { client: self, path }
    }

    /// The names below `path` (or all names, for `None`), recursive, sorted and relative to
    /// `path`, exactly as the service answers. A path with nothing below it gives an empty list.
    pub async fn list(&self, path: Option<&SecretPath>) -> Result<Vec<String>, Error> {
        let response = self
            .transport
            .send(requests::list(&self.store, path))
            .await?;
        Ok(response.json::<Array<String>>()?.array)
    }

    /// The secret stores.
    pub async fn stores(&self) -> Result<Vec<Store>, Error> {
        let response = self
            .transport
            .send(Request::get(format!("{BASE}/store")))
            .await?;
        Ok(response.json::<Array<Store>>()?.array)
    }

    /// The seal state of this client's store.
    pub async fn seal_status(&self) -> Result<SealStatus, Error> {
        let response = self
            .transport
            .send(Request::get(format!("{BASE}/seal-status/{}", self.store)))
            .await?;
        response.json()
    }

    /// Checks that the service is up: `GET /ping` answers `pong`.
    pub async fn ping(&self) -> Result<(), Error> {
        let response = self
            .transport
            .send(Request::get(format!("{BASE}/ping")))
            .await?;
        let not_pong = response.decode_error(".", "expected `pong`");
        if response.into_bytes().trim_ascii() == b"pong" {
            Ok(())
        } else {
            Err(not_pong)
        }
    }
}

/// One secret of a [`SecretsClient`], from [`SecretsClient::secret`].
#[derive(Debug, Clone, Copy)]
pub struct SecretHandle<'a> {
    client: &'a SecretsClient,
    path: &'a SecretPath,
}

impl SecretHandle<'_> {
    async fn send(&self, request: Request) -> Result<Response, Error> {
        self.client.transport.send(request).await
    }

    /// Creates the secret (`PUT`, 201). A secret already there is a conflict (409).
    pub async fn create(&self, value: &SecretValue) -> Result<(), Error> {
        let request = requests::create(&self.client.store, self.path, value)?;
        self.send(request).await.map(drop)
    }

    /// Replaces the value of an existing secret (`PATCH`, 204). An unknown secret is 404.
    pub async fn update(&self, value: &SecretValue) -> Result<(), Error> {
        let request = requests::update(&self.client.store, self.path, value)?;
        self.send(request).await.map(drop)
    }

    /// Reads the value: text or binary, as the response's media type says.
    pub async fn get(&self) -> Result<SecretValue, Error> {
        let response = self
            .send(requests::get(&self.client.store, self.path))
            .await?;
        match response.media_type().as_deref() {
            Some(OCTET_STREAM) => Ok(SecretValue::binary(response.into_bytes().to_vec())),
            Some(JSON) | None => {
                let body: OwnedTextBody =
                    response.json_secret("a JSON object with a string `value`")?;
                Ok(SecretValue::text(body.value))
            }
            Some(other) => Err(response.decode_error(
                ".",
                format!("unexpected media type `{other}` for a secret value"),
            )),
        }
    }

    /// Reads the value, or `None` if there is no secret at this path.
    pub async fn get_opt(&self) -> Result<Option<SecretValue>, Error> {
        match self.get().await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the secret (`DELETE`, 204). An unknown secret is 404.
    pub async fn delete(&self) -> Result<(), Error> {
        self.send(requests::delete(&self.client.store, self.path))
            .await
            .map(drop)
    }

    /// Makes the secret hold `value`, for callers that converge: creates it; if it exists,
    /// compares; an equal value is [`PutOutcome::Unchanged`]; a different one is replaced when
    /// `overwrite` allows ([`PutOutcome::Updated`] with the old value) and is a conflict error
    /// otherwise.
    pub async fn put(
        &self,
        value: &SecretValue,
        overwrite: Overwrite,
    ) -> Result<PutOutcome, Error> {
        value.check_size()?;
        // The second round covers a secret deleted by someone else between our 409 and our read.
        for _ in 0..2 {
            match self.create(value).await {
                Ok(()) => return Ok(PutOutcome::Created),
                Err(e) if e.status() == Some(dcos_transport::StatusCode::CONFLICT) => {}
                Err(e) => return Err(e),
            }
            let Some(current) = self.get_opt().await? else {
                continue;
            };
            if &current == value {
                return Ok(PutOutcome::Unchanged);
            }
            return match overwrite {
                Overwrite::Allow => {
                    self.update(value).await?;
                    Ok(PutOutcome::Updated { previous: current })
                }
                Overwrite::Deny => Err(Error::Conflict(format!(
                    "secret `{}` already exists with a different value",
                    self.path
                ))),
            };
        }
        Err(Error::Conflict(format!(
            "secret `{}` kept changing while it was being written",
            self.path
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SecretPath {
        SecretPath::new(s).unwrap()
    }

    #[test]
    fn request_paths() {
        let r = requests::create("default", &p("/team/aws_key"), &SecretValue::text("v")).unwrap();
        assert_eq!(r.method(), "PUT");
        assert_eq!(r.path(), "/secrets/v1/secret/default/team/aws_key");
        assert_eq!(r.body_ref().unwrap().content_type, JSON);
        assert_eq!(&r.body_ref().unwrap().bytes[..], br#"{"value":"v"}"#);
        let r = requests::list("default", None);
        assert_eq!(r.path(), "/secrets/v1/secret/default/");
        assert_eq!(r.query_pairs(), &[("list", "true".to_owned())]);
        let r = requests::update("default", &p("a"), &SecretValue::binary(vec![0, 255])).unwrap();
        assert_eq!(r.method(), "PATCH");
        assert_eq!(r.body_ref().unwrap().content_type, OCTET_STREAM);
    }

    #[test]
    fn oversize_values_are_refused_before_sending() {
        let big = SecretValue::binary(vec![1; MAX_VALUE_BYTES + 1]);
        let err = requests::create("default", &p("a"), &big).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)));
    }
}
