//! The shared application state, and who a request is from.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::{HeaderMap, header};
use axum::response::Response;

use crate::auth::Authority;
use crate::faults::Faults;
use crate::respond::{forbidden, unauthorized};
use crate::state::{ACS_RID, State};

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
