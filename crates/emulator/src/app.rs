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
    /// The CA certificate, PEM (served over plain http too: a real cluster always has one).
    pub ca_pem: String,
    /// Who the cluster is.
    pub identity: Identity,
    /// Marathon's tasks and deployments.
    pub marathon: crate::marathon::Runtime,
}

/// A cluster's identity, as its discovery endpoints tell it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// A UUID, stable for the cluster's life.
    pub id: String,
    /// The cluster's name.
    pub name: String,
    /// The address of its one master.
    pub ip: String,
    /// Its security mode, as its bootstrap configuration says.
    pub security: SecurityMode,
}

/// A cluster's security mode: the secret store works in permissive and strict mode only.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum SecurityMode {
    /// No secret store; no permission is checked.
    Disabled,
    /// Permissions are checked on the API; tasks may run without them.
    Permissive,
    /// Everything is checked, Mesos included: services need their Mesos permissions.
    #[default]
    Strict,
}

impl SecurityMode {
    /// As the bootstrap configuration's `security` field has it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityMode::Disabled => "disabled",
            SecurityMode::Permissive => "permissive",
            SecurityMode::Strict => "strict",
        }
    }
}

/// A shared handle on the app.
pub type Shared = Arc<App>;

impl App {
    /// An app with `state`.
    pub fn new(
        state: State,
        authority: Authority,
        faults: Faults,
        ca_pem: String,
        identity: Identity,
    ) -> Self {
        Self {
            state: RwLock::new(state),
            authority,
            faults,
            ca_pem,
            identity,
            marathon: crate::marathon::Runtime::default(),
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

/// The cookie a login sets, which browsers send instead of an `Authorization` header.
pub const AUTH_COOKIE: &str = "dcos-acs-auth-cookie";

/// The request's token: from `Authorization: token=<jwt>` (or `Bearer <jwt>`) and, only when
/// that header is absent, from the auth cookie, as the front proxy takes it.
fn token(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        return value
            .strip_prefix("token=")
            .or_else(|| value.strip_prefix("Bearer "));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == AUTH_COOKIE)
        .map(|(_, value)| value)
}

/// The uid of the request's valid token, or the 401 to answer.
pub fn authenticate(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let token = token(headers).ok_or_else(unauthorized)?;
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
