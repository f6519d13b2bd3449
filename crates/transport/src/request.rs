//! Requests built apart from sending them, and the answers the transport hands back.

use std::fmt;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// `application/json`, the media type of every JSON body the APIs take.
pub const JSON: &str = "application/json";
/// `application/octet-stream`, the media type of binary secret values.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// A request body. Its `Debug` shows only the media type and length: bodies carry secrets.
#[derive(Clone)]
pub struct Body {
    /// The `Content-Type` to send.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Bytes,
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Body({}, {} bytes, [REDACTED])",
            self.content_type,
            self.bytes.len()
        )
    }
}

/// One API request: method, path below the base URL (already encoded), query, headers and body.
///
/// Built by the clients and sent by [`crate::Transport::send`]. Building is separate from sending
/// so that paths and bodies are unit-tested without a server.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) accept: Option<&'static str>,
    pub(crate) body: Option<Body>,
    pub(crate) authenticated: bool,
    pub(crate) idempotent: bool,
    /// Values the request carries that an error answer must never show.
    pub(crate) sensitive: Vec<secrecy::SecretString>,
}

impl Request {
    /// A request with `method` to `path`, which must start with `/` and be encoded already.
    ///
    /// GET, PUT, PATCH, DELETE and HEAD are treated as idempotent (retried on transient
    /// failures, as the API contract allows); POST is not, unless [`Request::idempotent`] says so.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = method != Method::POST;
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            accept: None,
            body: None,
            authenticated: true,
            idempotent,
            sensitive: Vec::new(),
        }
    }

    /// A GET request.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    /// A PUT request.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }
    /// A PATCH request.
    pub fn patch(path: impl Into<String>) -> Self {
        Self::new(Method::PATCH, path)
    }
    /// A DELETE request.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }
    /// A POST request.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    /// Sets the `Accept` header.
    pub fn accept(mut self, media_type: &'static str) -> Self {
        self.accept = Some(media_type);
        self
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the request body: {e}")))?;
        Ok(self.body(JSON, bytes))
    }

    /// Sets a body of the given media type.
    pub fn body(mut self, content_type: &'static str, bytes: impl Into<Bytes>) -> Self {
        self.body = Some(Body {
            content_type,
            bytes: bytes.into(),
        });
        self
    }

    /// Marks a value the request carries (a secret value, a password, a login token): should
    /// the server echo it in an error answer, whole or cut, escaped or not, the error shows
    /// `[redacted]` instead.
    pub fn sensitive(mut self, value: &str) -> Self {
        self.sensitive.push(secrecy::SecretString::from(value));
        self
    }

    /// Sends no `Authorization` header (login and the CA download need none).
    pub fn unauthenticated(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// Declares whether sending the request twice has the same effect as sending it once.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The encoded path below the base URL.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters.
    pub fn query_pairs(&self) -> &[(&'static str, String)] {
        &self.query
    }

    /// The body, if any.
    pub fn body_ref(&self) -> Option<&Body> {
        self.body.as_ref()
    }
}

/// A success answer (2xx): status, media type and the whole body.
pub struct Response {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<String>,
    /// The `Date` header: when the server answered, by its clock.
    pub(crate) date: Option<String>,
    pub(crate) body: Bytes,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field(
                "body",
                &format_args!("{} bytes, [REDACTED]", self.body.len()),
            )
            .finish()
    }
}

impl Response {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// When the server answered, by its own clock (the `Date` header, to the second).
    pub fn date(&self) -> Option<std::time::SystemTime> {
        httpdate::parse_http_date(self.date.as_deref()?).ok()
    }

    /// The media type of the body without parameters, lower-cased (`application/json`).
    pub fn media_type(&self) -> Option<String> {
        self.content_type.as_deref().map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The raw body. It may hold a secret value.
    pub fn into_bytes(self) -> Bytes {
        self.body
    }

    /// Decodes the JSON body; a mismatch names the JSON path and what was expected.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.refuse_html()?;
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let json_path = e.path().to_string();
            self.decode_error(json_path, e.into_inner().to_string())
        })
    }

    /// Decodes the JSON body of a response that carries a secret: on failure the error names
    /// the JSON path and `expected`, never the serde message (which may quote the value).
    pub fn json_secret<T: DeserializeOwned>(&self, expected: &str) -> Result<T, Error> {
        self.refuse_html()?;
        let de = &mut serde_json::Deserializer::from_slice(&self.body);
        serde_path_to_error::deserialize(de)
            .map_err(|e| self.decode_error(e.path().to_string(), format!("expected {expected}")))
    }

    /// A web page where JSON belongs is a proxy's or a login page, not the API: said plainly
    /// rather than as a JSON syntax error.
    fn refuse_html(&self) -> Result<(), Error> {
        let html = self.media_type().as_deref() == Some("text/html")
            || self.body.trim_ascii_start().starts_with(b"<");
        if html {
            return Err(self.decode_error(
                ".",
                "expected JSON, got an HTML page: is the URL the cluster's, and not a proxy's or a login page?",
            ));
        }
        Ok(())
    }

    /// A [`Error::Decode`] for this response.
    pub fn decode_error(&self, json_path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Decode {
            method: self.method.clone(),
            path: self.path.clone(),
            json_path: json_path.into(),
            message: message.into(),
        }
    }
}
