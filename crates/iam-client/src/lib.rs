//! A typed async client for the DC/OS Enterprise IAM API (`/acs/api/v1`).
//!
//! It handles the API's quirks in one place: resource ids in URLs with every `/` written
//! `%252F` ([`Rid::url_segment`]), "unknown" answered with 400 and an `ERR_UNKNOWN_*` code
//! instead of 404 (`get_opt` gives `None`), a grant that needs its ACL first and 409 on repeats
//! ([`AclHandle::ensure_granted`]), and service-account login with a signed RS256 JWT.
//!
//! # Quick start
//!
//! ```no_run
//! use dcos_iam_client::{Action, Credentials, IamClient, Principal, Rid, Uid};
//! use dcos_transport::Transport;
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), dcos_transport::Error> {
//! let transport = Transport::builder("https://dcos.example.com").build()?;
//! let key = SecretString::from(std::fs::read_to_string("ci-bot.pem").unwrap_or_default());
//! let credentials = Credentials::service_account(Uid::new("ci-bot")?, key)?;
//! // Logs in on first use, again before the token expires, and once after a 401.
//! let iam = IamClient::with_login(transport, credentials);
//!
//! let sa = Principal::User(Uid::new("data-science-engine")?);
//! let rid = Rid::secret_list("data-science-engine/aws_access_key_id")?;
//! let outcome = iam.acl(&rid).ensure_granted(&sa, Action::Read, "S3 key id").await?;
//! println!("{outcome:?}");
//! # Ok(()) }
//! ```

mod acls;
mod groups;
mod keys;
mod login;
mod model;
mod types;
mod users;

use std::sync::Arc;

use dcos_transport::{Error, Request, Transport};
use serde::de::DeserializeOwned;

pub use acls::{AclHandle, CreateOutcome, GrantOutcome, GrantState, RevokeOutcome};
pub use groups::GroupHandle;
pub use keys::{DEFAULT_LOGIN_ENDPOINT, KeyPair, KeySize, ServiceAccountSecret};
pub use login::{
    Credentials, LOGIN_PATH, LoginSource, REFRESH_MARGIN, SERVICE_LOGIN_TTL, Token, login,
    service_login_jwt,
};
pub use model::{
    Acl, AclHolders, ActionEntry, Group, GroupHolder, GroupMembership, GroupPermission,
    HeldPermission, Membership, User, UserHolder, UserPermissions,
};
pub use types::{
    Action, Gid, MAX_ID_CHARS, Principal, Reach, Rid, SecretCoverage, SecretScope, Uid,
};
pub use users::UserHandle;

const BASE: &str = "/acs/api/v1";

/// A client for the IAM API of one cluster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct IamClient {
    transport: Transport,
}

impl IamClient {
    /// A client that sends with `transport` and its token.
    pub fn new(transport: Transport) -> Self {
        Self { transport }
    }

    /// A client that logs in with `credentials` when it needs a token: before first use, when
    /// the token expires within [`REFRESH_MARGIN`], and once after a 401. Use
    /// [`IamClient::transport`] to share that login with the secrets client.
    pub fn with_login(transport: Transport, credentials: Credentials) -> Self {
        let source = Arc::new(LoginSource::new(transport.clone(), credentials));
        Self::new(transport.with_token_source(source))
    }

    /// The transport this client sends with.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Logs in with `credentials` and returns the token (the client's own token is not used).
    pub async fn login(&self, credentials: &Credentials) -> Result<Token, Error> {
        login::login(&self.transport, credentials).await
    }

    /// The user or service account `uid`.
    pub fn user<'a>(&'a self, uid: &'a Uid) -> UserHandle<'a> {
        UserHandle::new(self, uid)
    }

    /// The group `gid`.
    pub fn group<'a>(&'a self, gid: &'a Gid) -> GroupHandle<'a> {
        GroupHandle::new(self, gid)
    }

    /// The ACL of resource `rid`.
    pub fn acl<'a>(&'a self, rid: &'a Rid) -> AclHandle<'a> {
        AclHandle::new(self, rid)
    }

    /// All users (not service accounts).
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        self.get_array(Request::get(format!("{BASE}/users"))).await
    }

    /// All service accounts.
    pub async fn service_accounts(&self) -> Result<Vec<User>, Error> {
        self.get_array(Request::get(format!("{BASE}/users")).query("type", "service"))
            .await
    }

    /// All groups.
    pub async fn groups(&self) -> Result<Vec<Group>, Error> {
        self.get_array(Request::get(format!("{BASE}/groups"))).await
    }

    /// The login providers (`GET /auth/providers`, no token needed): each provider's id with
    /// its `authentication-type` (`dcos-uid-password`, `dcos-uid-password-ldap`,
    /// `oidc-authorization-code-flow`, `saml-sp-initiated`, ...).
    pub async fn login_providers(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, Error> {
        #[derive(serde::Deserialize)]
        struct Provider {
            #[serde(rename = "authentication-type", default)]
            kind: String,
        }
        let all: std::collections::BTreeMap<String, Provider> = self
            .get(Request::get(format!("{BASE}/auth/providers")))
            .await?;
        Ok(all.into_iter().map(|(id, p)| (id, p.kind)).collect())
    }

    /// All ACLs.
    pub async fn acls(&self) -> Result<Vec<Acl>, Error> {
        self.get_array(Request::get(format!("{BASE}/acls"))).await
    }

    pub(crate) async fn send(&self, request: Request) -> Result<(), Error> {
        self.transport.send(request).await.map(drop)
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        self.transport.send(request).await?.json()
    }

    pub(crate) async fn get_array<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<Vec<T>, Error> {
        Ok(self.get::<model::Array<T>>(request).await?.array)
    }
}

/// `Ok(None)` for "not found", whether 404 or 400 `ERR_UNKNOWN_*`.
pub(crate) fn optional<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A `{"description": ...}` body.
pub(crate) fn describe(request: Request, description: &str) -> Result<Request, Error> {
    request.json(&serde_json::json!({ "description": description }))
}
