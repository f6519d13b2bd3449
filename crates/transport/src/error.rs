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
        let text = String::from_utf8_lossy(body);
        // A JSON document's fields are redacted once decoded (JSON may spell a value with `\u`
        // escapes); any other body as it came.
        let parsed = serde_json::from_str::<ErrorBody>(&text).ok();
        let status_line = status_line(status);
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
            None => (status_line, excerpt(redact(&text, sent).as_bytes()), None),
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

/// The shortest run of a sent value's characters that is taken for an echo of it (shorter
/// values are matched whole).
const ECHO_MIN_CHARS: usize = 12;

/// The forms in which a server may echo `value`: as it is; escaped for JSON and for HTML;
/// encoded as base64 (padded or not), base64url, hex (either case) and percent-encoding; and,
/// for a token, each of its dot-separated (JWT) segments on its own.
fn echo_forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bytes = value.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![
        value.to_owned(),
        serde_json::to_string(value)
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned(),
        value
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;"),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        hex.to_ascii_uppercase(),
        hex,
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    ];
    forms.extend(value.split('.').filter(|s| s.len() >= 4).map(str::to_owned));
    forms.retain(|f| f.chars().count() >= 4);
    forms.sort();
    forms.dedup();
    forms
}

/// `text` with every echo of the `sent` values (values, passwords, keys and tokens a request
/// carried) replaced by `[redacted]`. An echo is any of a value's forms (as sent; escaped for
/// JSON or HTML; base64, base64url, hex, percent-encoded; each dot-separated segment of a
/// token), found whole or as any run of at least 12 of its characters (a server may cut what it
/// echoes, or quote half of it), even with white space put between the characters. Values
/// under four characters are left alone: they would match everywhere, and no credential is that
/// short.
pub fn redact(text: &str, sent: &[&str]) -> String {
    // The text without white space, each character with its byte span in the original, so
    // that "s e c r e t" is found as "secret" and taken out with the spaces between.
    let chars: Vec<(usize, char)> = text
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .collect();
    let dense: Vec<char> = chars.iter().map(|(_, c)| *c).collect();
    let end_of = |k: usize| chars[k].0 + chars[k].1.len_utf8();
    // Every window of the minimum length in the text, by where it starts: a form longer than
    // the minimum is echoed where one of its windows is (the text is short, a value may not be).
    let mut at: std::collections::HashMap<&[char], Vec<usize>> = std::collections::HashMap::new();
    if dense.len() >= ECHO_MIN_CHARS {
        for (k, window) in dense.windows(ECHO_MIN_CHARS).enumerate() {
            at.entry(window).or_default().push(k);
        }
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for value in sent.iter().filter(|v| v.chars().count() >= 4) {
        for form in echo_forms(value) {
            let form: Vec<char> = form.chars().filter(|c| !c.is_whitespace()).collect();
            if form.len() < 4 {
                continue;
            }
            let n = form.len().min(ECHO_MIN_CHARS);
            if n < ECHO_MIN_CHARS {
                // Short forms are matched whole.
                for (k, window) in dense.windows(n).enumerate() {
                    if window == form.as_slice() {
                        spans.push((chars[k].0, end_of(k + n - 1)));
                    }
                }
                continue;
            }
            for window in form.windows(n) {
                for &k in at.get(window).into_iter().flatten() {
                    spans.push((chars[k].0, end_of(k + n - 1)));
                }
            }
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

    /// The caller asked the run to stop, and the request was cut short (or not sent).
    #[error("{method} {path}: stopped{}", match outcome_unknown {
        true => " while in flight: the server may have applied it",
        false => " before it was answered",
    })]
    Interrupted {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// Whether it was a write cut in flight, which the server may have applied.
        outcome_unknown: bool,
    },

    /// The run's deadline passed, and the request was cut short (or not sent).
    #[error("{method} {path}: the command's time limit of {} s passed{}", limit.as_secs(), match outcome_unknown {
        true => " while it was in flight: the server may have applied it",
        false => "",
    })]
    Deadline {
        /// The method of the request.
        method: Method,
        /// The request's path.
        path: String,
        /// The run's total time.
        limit: std::time::Duration,
        /// How many times the request was sent.
        attempts: u32,
        /// Whether it was a write cut in flight, which the server may have applied.
        outcome_unknown: bool,
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

    /// Requirement (issue 26): transformed echoes of what was sent are redacted too: a token's
    /// JWT segments alone, the base64, base64url, hex and percent-encoding of a value, the
    /// first half of a value, any run of 12 of its characters, and the value with spaces
    /// between its characters.
    #[test]
    fn transformed_echoes_are_redacted() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let value = "Wx9/kQ+vE3=zT8pLm2Rq/Ys7Hn4Bv!";
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJ1aWQiOiJib290c3RyYXB1c2VyIiwiZXhwIjoxfQ.c2lnbmF0dXJlLXNlZ21lbnQtb2YtdGhlLXRva2Vu";
        let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
        let (payload, signature) = (
            token.split('.').nth(1).unwrap(),
            token.split('.').nth(2).unwrap(),
        );
        let echoes = [
            payload.to_owned(),
            signature.to_owned(),
            STANDARD.encode(value),
            URL_SAFE_NO_PAD.encode(value),
            hex.clone(),
            hex.to_ascii_uppercase(),
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
            value[..value.len() / 2].to_owned(),
            value[7..21].to_owned(),
            value
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" "),
        ];
        for echo in echoes {
            let text = format!("refused: <{echo}> is not allowed");
            let shown = redact(&text, &[value, token]);
            assert_eq!(shown, "refused: <[redacted]> is not allowed", "echo {echo}");
        }
        // Runs shorter than the minimum are not taken for echoes.
        let shown = redact("kQ+vE3 and Hn4Bv!", &[value]);
        assert_eq!(shown, "kQ+vE3 and Hn4Bv!");
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
