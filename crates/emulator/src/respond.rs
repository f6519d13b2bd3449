//! The answers both services share: error bodies in their exact forms, the front proxy's 401
//! and 403 pages, JSON answers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Marks a response whose connection the server drops instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The `{"title","description","code"}` error body both services answer with.
#[derive(Serialize)]
struct ErrorBody<'a> {
    title: String,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

fn status_title(status: StatusCode) -> String {
    format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    )
}

/// A JSON error: `{"title":"<status line>","description":..,"code":..}`.
pub fn json_error(status: StatusCode, code: Option<&str>, description: &str) -> Response {
    let body = ErrorBody {
        title: status_title(status),
        description,
        code,
    };
    (status, json_headers(), json_bytes(&body)).into_response()
}

/// `Content-Type` exactly `application/json`, as the Secrets service answers: real clients
/// compare the whole header (a parameter makes them take a text secret for a binary one).
pub fn secrets_json(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A 400 with an IAM error code.
pub fn bad_request(code: &str, description: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, Some(code), description)
}

/// A plain-text error (the front proxy's 404).
pub fn plain_error(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        text.to_owned(),
    )
        .into_response()
}

/// The front proxy's 401: `WWW-Authenticate: acsjwt` and an HTML page.
pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "acsjwt"),
            (header::CONTENT_TYPE, "text/html"),
        ],
        "<html>\n<head><title>401 Authorization Required</title></head>\n<body>\n<center><h1>401 Authorization Required</h1></center>\n</body>\n</html>\n",
    )
        .into_response()
}

/// The front proxy's 403, an HTML page.
pub fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html")],
        "<html>\n<head><title>403 Forbidden</title></head>\n<body>\n<center><h1>403 Forbidden</h1></center>\n</body>\n</html>\n",
    )
        .into_response()
}

/// `application/json; charset=utf-8`, as the IAM service answers.
pub fn json_headers() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    )]
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Our own documents always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A 200 JSON answer.
pub fn json_ok<T: Serialize>(value: &T) -> Response {
    (StatusCode::OK, json_headers(), json_bytes(value)).into_response()
}

/// An empty answer with `status`.
pub fn empty(status: StatusCode) -> Response {
    status.into_response()
}

/// The media type of a header value, lower-cased, without parameters.
pub fn media_type(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}
