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
    /// Terminal control sequences and line breaks are taken out of every text the server gave.
    pub fn from_body(status: StatusCode, body: &[u8]) -> Self {
        Self::from_body_redacted(status, body, &[])
    }

    /// [`ApiError::from_body`], with every echo of `sent` (values, passwords and tokens the
    /// request carried, as they are or escaped for JSON or HTML, whole or cut short) replaced
    /// by `[redacted]` before anything of the body is kept.
    pub fn from_body_redacted(status: StatusCode, body: &[u8], sent: &[&str]) -> Self {
        let text = redact(&String::from_utf8_lossy(body), sent);
        let parsed = serde_json::from_str::<ErrorBody>(&text).ok();
        let status_line = status_line(status);
        // A field is redacted again once decoded: JSON may spell a value with `\u` escapes.
        let field = |text: &str| cut(&terminal_safe(&redact(text, sent)), FIELD_CHARS);
        let (title, description, code) = match parsed {
            Some(b) => {
                let title = b.title.map_or_else(|| status_line.clone(), |t| field(&t));
                // The status is always said, whatever the server's title.
                let title = match title.starts_with(status.as_str()) {
                    true => title,
                    false => format!("{status_line} ({title})"),
                };
                let code = b.code.map(|c| field(&c));
                (title, field(&b.description.unwrap_or_default()), code)
            }
            None => (status_line, excerpt(text.as_bytes()), None),
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

/// The most characters kept of one field of a JSON error body.
const FIELD_CHARS: usize = 400;

/// `text` cut to `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The shortest echo of a sent value that is taken for one (shorter values are matched whole).
const ECHO_MIN_CHARS: usize = 12;

/// `text` with every echo of the `sent` values replaced by `[redacted]`: each value as it is,
/// escaped for JSON and escaped for HTML, whole or a prefix of at least [`ECHO_MIN_CHARS`]
/// characters (a server may cut what it echoes). Values under four characters are left alone:
/// they would match everywhere, and no credential is that short.
pub fn redact(text: &str, sent: &[&str]) -> String {
    // Every echo of every form is found in the text as it came, then the spans are merged: an
    // echo of one value that overlaps another's is taken out whole.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for value in sent.iter().filter(|v| v.chars().count() >= 4) {
        let json = serde_json::to_string(value).unwrap_or_default();
        let json = json.trim_matches('"').to_owned();
        let html = value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        for form in [value.to_string(), json, html] {
            echoes(text, &form, &mut spans);
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (start, end) in merged {
        out.push_str(&text[done..start]);
        out.push_str("[redacted]");
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// The byte spans of `text` that echo `form`: the whole of it, or (for a form longer than
/// [`ECHO_MIN_CHARS`]) a prefix at least that long.
fn echoes(text: &str, form: &str, spans: &mut Vec<(usize, usize)>) {
    let head: String = form.chars().take(ECHO_MIN_CHARS).collect();
    let whole = form.chars().count() <= ECHO_MIN_CHARS;
    let mut from = 0;
    while let Some(found) = text[from..].find(&head) {
        let at = from + found;
        // How far the echo agrees with the value.
        let agree: usize = text[at..]
            .char_indices()
            .zip(form.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8());
        if !whole || agree == form.len() {
            spans.push((at, at + agree));
        }
        from = at + head.len();
    }
}

/// A server's text fit for one line of a terminal: escape sequences (CSI and OSC), other
/// control characters and bidirectional overrides removed, line breaks and tabs made spaces.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: parameters and intermediates, then one final byte.
                Some('[') => {
                    chars.next();
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC, DCS and the like: up to BEL or ESC \.
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            },
            '\n' | '\r' | '\t' => out.push(' '),
            // Controls, and the bidirectional overrides that make text read other than it is.
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
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
    terminal_safe(out.trim())
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

    /// TLS failed in a way that trying again cannot change: the server's certificate did not
    /// verify against the trusted CAs, or plain http reached a server that speaks TLS.
    #[error("{method} {path}: {problem}")]
    Tls {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// What was wrong.
        problem: TlsProblem,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with a redirect, which is never followed: the DC/OS APIs do not
    /// redirect, and following one could carry a token or a secret to another host.
    #[error(
        "{method} {path}: the server answered {status} and redirects to {target}; redirects are \
         not followed (the DC/OS APIs do not redirect)"
    )]
    Redirect {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// The answer's status.
        status: StatusCode,
        /// The origin of the redirect's target (scheme, host and port; never its path or query),
        /// or a note that it had none.
        target: String,
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

/// What TLS found wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The server's certificate did not verify; the reason as rustls names it
    /// (`UnknownIssuer`, `Expired`, `NotValidForName`, ...).
    #[error("the server's TLS certificate does not verify ({0})")]
    Unverified(String),
    /// The URL says `http://`, and the server answered in TLS.
    #[error("the server speaks TLS, and the URL says http://")]
    SpeaksTls,
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
    fn echoes_of_sent_values_are_redacted_whole_escaped_or_cut() {
        let secret = "hunter2-\"canary\"<&>-0123456789";
        let bodies = [
            format!(
                "{{\"title\":\"Bad\",\"description\":\"value {} refused\"}}",
                serde_json::to_string(secret).unwrap().trim_matches('"')
            ),
            format!(
                "<html><body>value {} refused</body></html>",
                secret
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
            ),
            format!("value {secret} refused"),
            format!("value {} refused", &secret[..15]),
        ];
        for body in bodies {
            let e =
                ApiError::from_body_redacted(StatusCode::BAD_REQUEST, body.as_bytes(), &[secret]);
            let shown = format!("{} {}", e.title, e.description);
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("[redacted]"), "{shown}");
            assert!(shown.contains("refused"), "{shown}");
        }
        // Values that share a beginning: each echo is taken out whole.
        assert_eq!(
            redact(
                "t=canary-shared-token-1 v=canary-shared-value-2",
                &["canary-shared-value-2", "canary-shared-token-1"]
            ),
            "t=[redacted] v=[redacted]"
        );
        // Short values are matched whole only.
        assert_eq!(redact("a pass word", &["pass"]), "a [redacted] word");
        assert_eq!(redact("no match", &["abc"]), "no match");
    }

    #[test]
    fn control_sequences_and_line_breaks_are_taken_out() {
        let e = api(
            500,
            r#"{"title":"\u001b[31mred\u001b[0m","description":"x\r\nerror: forged\u001b]0;title\u0007 done"}"#,
        );
        let a = e.api().unwrap();
        assert_eq!(a.title, "500 Internal Server Error (red)");
        assert_eq!(a.description, "x  error: forged done");
        assert_eq!(
            terminal_safe("a\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\b"),
            "alinkb"
        );
        assert_eq!(terminal_safe("tab\tbell\u{7}"), "tab bell");
        // C1 controls (a one-character CSI) and bidirectional overrides.
        assert_eq!(terminal_safe("a\u{9b}31mb\u{202e}cba\u{2066}"), "a31mbcba");
    }

    #[test]
    fn long_fields_are_cut_and_escaped_echoes_redacted() {
        let description = format!("{} \\u0068unter2-secret-value", "d".repeat(5000));
        let body = format!(
            r#"{{"title":"{}","description":"{description}"}}"#,
            "t".repeat(5000)
        );
        let e = ApiError::from_body_redacted(
            StatusCode::INTERNAL_SERVER_ERROR,
            body.as_bytes(),
            &["hunter2-secret-value"],
        );
        assert!(e.title.chars().count() < FIELD_CHARS + 40, "{}", e.title);
        assert!(e.description.chars().count() <= FIELD_CHARS + 1);
        let short = r#"{"description":"you sent \u0068unter2-secret-value"}"#;
        let e = ApiError::from_body_redacted(
            StatusCode::INTERNAL_SERVER_ERROR,
            short.as_bytes(),
            &["hunter2-secret-value"],
        );
        assert_eq!(e.description, "you sent [redacted]");
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
