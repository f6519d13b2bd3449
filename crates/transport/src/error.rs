//! The one error type of the workspace's API clients.

use std::fmt;

use reqwest::{Method, StatusCode};
use serde::Deserialize;

/// The longest excerpt of a non-JSON error body that an [`ApiError`] keeps.
pub const BODY_EXCERPT_CHARS: usize = 160;

/// A request that the server answered with an error status.
///
/// `code`, `title` and `description` come from the JSON error body that the IAM service (and the
/// emulator's secrets service) send: `{"title","description","code"}`. Any other body, such as
/// the HTML page of a 401 from the cluster's front proxy, keeps the status, a title taken from the
/// status line and a short whitespace-folded excerpt of the body as the description.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status of the final answer.
    pub status: StatusCode,
    /// The service's error code, such as `ERR_UNKNOWN_USER_ID`, when the body had one.
    pub code: Option<String>,
    /// A title such as `400 Bad Request`.
    pub title: String,
    /// What went wrong, in the service's words.
    pub description: String,
    /// The method of the request.
    pub method: Method,
    /// The request's path below the base URL, as sent.
    pub path: String,
    /// How many times the request was sent.
    pub attempts: u32,
}

#[derive(Deserialize)]
struct ErrorBody {
    title: Option<String>,
    description: Option<String>,
    code: Option<String>,
}

impl ApiError {
    /// Builds an error from a response's status and body.
    ///
    /// Never fails: a body that is not the JSON error document keeps only a short excerpt.
    pub fn from_body(status: StatusCode, body: &[u8]) -> Self {
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        let status_line = status_line(status);
        let (title, description, code) = match parsed {
            Some(b) => (
                b.title.unwrap_or_else(|| status_line.clone()),
                b.description.unwrap_or_default(),
                b.code,
            ),
            None => (status_line, excerpt(body), None),
        };
        Self {
            status,
            code,
            title,
            description,
            method: Method::GET,
            path: String::new(),
            attempts: 1,
        }
    }

    pub(crate) fn for_request(mut self, method: &Method, path: &str, attempts: u32) -> Self {
        self.method = method.clone();
        self.path = path.to_owned();
        self.attempts = attempts;
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} answered {}", self.method, self.path, self.title)?;
        if !self.description.is_empty() {
            write!(f, ": {}", self.description)?;
        }
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// A short excerpt of a body for an error message: markup removed, whitespace folded, cut to
/// [`BODY_EXCERPT_CHARS`].
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        if out.chars().count() >= BODY_EXCERPT_CHARS {
            out.push('…');
            break;
        }
    }
    out.trim().to_owned()
}

/// Every way a call of the DC/OS API clients can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The server could not be reached, or the connection broke.
    #[error("{method} {path}: could not talk to the server ({attempts} attempt{s})", s = plural(*attempts))]
    Transport {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// How many times the request was sent.
        attempts: u32,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },

    /// The server did not answer in time.
    #[error("{method} {path}: timed out ({attempts} attempt{s})", s = plural(*attempts))]
    Timeout {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// How many times the request was sent.
        attempts: u32,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },

    /// A success answer whose body was not what the API documents.
    #[error("{method} {path}: unexpected response body at `{json_path}`: {message}")]
    Decode {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// Where in the JSON document the problem is (`.` for the whole body).
        json_path: String,
        /// What was wrong, never quoting a secret value.
        message: String,
    },

    /// The answer's body was larger than the transport reads.
    #[error(
        "{method} {path}: the answer ({status}) is larger than {limit} bytes, more than any answer of the API; not read"
    )]
    TooLarge {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// The answer's status.
        status: StatusCode,
        /// The limit it exceeded.
        limit: usize,
    },

    /// Input that was refused before anything was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A value exists and differs from the one given, and overwriting was not allowed.
    #[error("conflict: {0}")]
    Conflict(String),

    /// No token could be had: logging in failed or no credentials were configured.
    #[error("could not obtain a token: {message}")]
    Token {
        /// What went wrong.
        message: String,
        /// The underlying failure, for example the login request's error.
        #[source]
        source: Option<Box<Error>>,
    },
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

impl Error {
    /// The server's answer, when the error is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::Token {
                source: Some(inner),
                ..
            } => inner.api(),
            _ => None,
        }
    }

    /// The HTTP status of the server's answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(|e| e.status)
    }

    /// The service's error code, such as `ERR_USER_EXISTS`, when the answer had one.
    pub fn code(&self) -> Option<&str> {
        self.api().and_then(|e| e.code.as_deref())
    }

    /// Not found: a 404, or the IAM service's 400 with an `ERR_UNKNOWN_*` code.
    pub fn is_not_found(&self) -> bool {
        match self.api() {
            Some(e) if e.status == StatusCode::NOT_FOUND => true,
            Some(e) if e.status == StatusCode::BAD_REQUEST => e
                .code
                .as_deref()
                .is_some_and(|c| c.starts_with("ERR_UNKNOWN_")),
            _ => false,
        }
    }

    /// Already exists, or differs from what was asked: a 409, or [`Error::Conflict`].
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict(_)) || self.status() == Some(StatusCode::CONFLICT)
    }

    /// The token was missing, malformed, expired or refused (401), or none could be had.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Error::Token { .. }) || self.status() == Some(StatusCode::UNAUTHORIZED)
    }

    /// The caller lacks the permission (403).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN)
    }

    /// A transient failure that the same request may overcome later: connection problems,
    /// time-outs, 429, 502, 503 and 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::Api(e) => crate::retry::is_retryable_status(e.status),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> Error {
        ApiError::from_body(StatusCode::from_u16(status).unwrap(), body.as_bytes()).into()
    }

    #[test]
    fn json_body_is_parsed() {
        let e = api(
            400,
            r#"{"title":"400 Bad Request","description":"User with uid `x` not known.","code":"ERR_UNKNOWN_USER_ID"}"#,
        );
        let a = e.api().unwrap();
        assert_eq!(a.title, "400 Bad Request");
        assert_eq!(a.code.as_deref(), Some("ERR_UNKNOWN_USER_ID"));
        assert!(e.is_not_found());
        assert!(!e.is_conflict());
    }

    #[test]
    fn html_body_keeps_status_and_excerpt() {
        let e = api(
            401,
            "<html>\n<head><title>Unauthorized</title></head>\n<body>\n<h1>401   Unauthorized</h1></body></html>",
        );
        let a = e.api().unwrap();
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.title, "401 Unauthorized");
        assert_eq!(a.description, "Unauthorized 401 Unauthorized");
        assert!(e.is_unauthorized());
    }

    #[test]
    fn long_body_is_cut() {
        let body = "x".repeat(10_000);
        let e = api(500, &body);
        assert!(e.api().unwrap().description.chars().count() <= BODY_EXCERPT_CHARS + 1);
    }

    #[test]
    fn helpers_classify_statuses() {
        assert!(api(404, "").is_not_found());
        assert!(!api(400, r#"{"code":"ERR_INVALID_DATA"}"#).is_not_found());
        assert!(api(400, r#"{"code":"ERR_UNKNOWN_RESOURCE_ID"}"#).is_not_found());
        assert!(api(409, "").is_conflict());
        assert!(Error::Conflict("x".into()).is_conflict());
        assert!(api(403, "<html>forbidden</html>").is_forbidden());
        for s in [429, 502, 503, 504] {
            assert!(api(s, "").is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 500] {
            assert!(!api(s, "").is_retryable(), "{s}");
        }
    }

    #[test]
    fn display_names_request_and_attempts() {
        let e = ApiError::from_body(
            StatusCode::SERVICE_UNAVAILABLE,
            br#"{"title":"503 Service Unavailable","description":"busy"}"#,
        )
        .for_request(&Method::PUT, "/secrets/v1/secret/default/a", 4);
        assert_eq!(
            e.to_string(),
            "PUT /secrets/v1/secret/default/a answered 503 Service Unavailable: busy after 4 attempts"
        );
    }
}
