//! The router, the shared application state, authentication and the error answers.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::auth::Authority;
use crate::faults::{Fault, Faults};
use crate::state::{ACS_RID, State};
use crate::{control, iam, secrets};

/// Marks a response whose connection the server drops instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Everything the handlers share.
#[derive(Debug)]
pub struct App {
    state: RwLock<State>,
    /// Signs and checks tokens.
    pub authority: Authority,
    /// Injects faults and counts requests.
    pub faults: Faults,
    /// The CA certificate, PEM, when serving TLS.
    pub ca_pem: Option<String>,
}

/// A shared handle on the app.
pub type Shared = Arc<App>;

impl App {
    /// An app with `state`.
    pub fn new(state: State, authority: Authority, faults: Faults, ca_pem: Option<String>) -> Self {
        Self {
            state: RwLock::new(state),
            authority,
            faults,
            ca_pem,
        }
    }

    /// Reads the state.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the state.
    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The largest request body accepted (a 1 MiB text value may grow when escaped as JSON).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The whole API, plus the control API when `control_api` is set.
pub fn router(app: Shared, control_api: bool) -> Router {
    let api = Router::new()
        .route("/ca/dcos-ca.crt", get(ca_certificate))
        .merge(secrets::routes())
        .merge(iam::routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), inject_faults));
    let mut router = api;
    if control_api {
        router = router.merge(control::routes());
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn not_found() -> Response {
    plain_error(StatusCode::NOT_FOUND, "Not Found")
}

async fn ca_certificate(AxState(app): AxState<Shared>) -> Response {
    match &app.ca_pem {
        Some(pem) => (
            [(header::CONTENT_TYPE, "application/x-x509-ca-cert")],
            pem.clone(),
        )
            .into_response(),
        None => plain_error(
            StatusCode::NOT_FOUND,
            "this emulator serves plain HTTP: no CA",
        ),
    }
}

async fn inject_faults(
    AxState(app): AxState<Shared>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let plan = app.faults.plan(
        request.method().as_str(),
        request.uri().path(),
        matched.as_str(),
    );
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if let Some(fault) = plan.before {
        return fault_response(fault);
    }
    let response = next.run(request).await;
    match plan.after {
        Some(fault) => fault_response(fault),
        None => response,
    }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Drop => {
            let mut response = Response::new(Body::empty());
            response.extensions_mut().insert(DropConnection);
            response
        }
        Fault::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            json_error(status, None, "Injected fault")
        }
    }
}

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

/// `application/json; charset=utf-8`.
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

/// The uid of the request's valid token, or the 401 to answer.
pub fn authenticate(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthorized)?;
    let token = value
        .strip_prefix("token=")
        .or_else(|| value.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    app.authority
        .verify(token.trim())
        .map(|claims| claims.uid)
        .ok_or_else(unauthorized)
}

/// The uid of a caller allowed to use the IAM API (superuser or `dcos:adminrouter:acs full`),
/// or the 401/403 to answer.
pub fn authorize_iam(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let uid = authenticate(app, headers)?;
    if app.read().may(&uid, ACS_RID, "full") {
        Ok(uid)
    } else {
        Err(forbidden())
    }
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
