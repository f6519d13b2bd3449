//! `/acls/{rid}`: access control lists, grants and revokes.

use dcos_transport::{Error, Request, StatusCode};

use crate::model::Allowed;
use crate::{Acl, AclHolders, Action, BASE, IamClient, Principal, Rid, describe, optional};

/// What creating an ACL did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The ACL was created.
    Created,
    /// It existed already (409).
    AlreadyExists,
}

/// What [`AclHandle::ensure_granted`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantOutcome {
    /// The action was granted now.
    Granted,
    /// The principal held it already (409).
    AlreadyGranted,
}

/// What [`AclHandle::ensure_revoked`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// The action was revoked now.
    Revoked,
    /// The principal did not hold it (or the ACL does not exist).
    AlreadyAbsent,
}

/// Whether a principal holds an action directly, as [`AclHandle::grant_state`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    /// There is no ACL for the resource: granting means creating it first.
    NoAcl,
    /// The ACL exists and the principal does not hold the action.
    NotGranted,
    /// The principal holds the action.
    Granted,
}

/// The error codes that say "this principal does not hold this action".
const NOT_GRANTED: [&str; 3] = [
    "ERR_ACTION_NOT_YET_STORED",
    "ERR_USER_NOT_IN_ACL",
    "ERR_GROUP_NOT_IN_ACL",
];

/// The ACL of one resource, from [`IamClient::acl`].
#[derive(Debug, Clone, Copy)]
pub struct AclHandle<'a> {
    client: &'a IamClient,
    rid: &'a Rid,
}

impl<'a> AclHandle<'a> {
    pub(crate) fn new(client: &'a IamClient, rid: &'a Rid) -> Self {
        Self { client, rid }
    }

    /// `/acs/api/v1/acls/<rid in URL form>`.
    pub fn url(&self) -> String {
        format!("{BASE}/acls/{}", self.rid.url_segment())
    }

    /// `.../acls/<rid>/users/<uid>/<action>` or `.../groups/<gid>/<action>`.
    pub fn action_url(&self, principal: &Principal, action: Action) -> String {
        format!("{}/{}/{action}", self.url(), principal.url_segment())
    }

    /// Creates the ACL: [`CreateOutcome::Created`], or [`CreateOutcome::AlreadyExists`] on 409.
    pub async fn create(&self, description: &str) -> Result<CreateOutcome, Error> {
        match self
            .client
            .send(describe(Request::put(self.url()), description)?)
            .await
        {
            Ok(()) => Ok(CreateOutcome::Created),
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(CreateOutcome::AlreadyExists),
            Err(e) => Err(e),
        }
    }

    /// The ACL. Unknown: 400 `ERR_UNKNOWN_RESOURCE_ID` (`is_not_found()`).
    pub async fn get(&self) -> Result<Acl, Error> {
        self.client.get(Request::get(self.url())).await
    }

    /// The ACL, or `None` if there is none for this resource.
    pub async fn get_opt(&self) -> Result<Option<Acl>, Error> {
        optional(self.get().await)
    }

    /// Deletes the ACL and every grant on it (204).
    pub async fn delete(&self) -> Result<(), Error> {
        self.client.send(Request::delete(self.url())).await
    }

    /// Grants `action` to `principal` (204). The ACL must exist (400 `ERR_UNKNOWN_RESOURCE_ID`);
    /// already granted is 409.
    pub async fn grant(&self, principal: &Principal, action: Action) -> Result<(), Error> {
        self.client
            .send(Request::put(self.action_url(principal, action)))
            .await
    }

    /// Grants `action` to `principal` unless it holds it already: a 409 (an earlier grant, or
    /// an earlier attempt of this one whose answer was lost) is [`GrantOutcome::AlreadyGranted`].
    /// The ACL must exist.
    pub async fn grant_if_absent(
        &self,
        principal: &Principal,
        action: Action,
    ) -> Result<GrantOutcome, Error> {
        match self.grant(principal, action).await {
            Ok(()) => Ok(GrantOutcome::Granted),
            Err(e) if e.status() == Some(StatusCode::CONFLICT) => Ok(GrantOutcome::AlreadyGranted),
            Err(e) => Err(e),
        }
    }

    /// Revokes `action` from `principal` (204). Not granted: 400 `ERR_ACTION_NOT_YET_STORED`.
    pub async fn revoke(&self, principal: &Principal, action: Action) -> Result<(), Error> {
        self.client
            .send(Request::delete(self.action_url(principal, action)))
            .await
    }

    /// Whether `principal` holds `action` directly (not through a group), and whether the ACL
    /// exists: one request, which tells a caller how many it needs to grant.
    pub async fn grant_state(
        &self,
        principal: &Principal,
        action: Action,
    ) -> Result<GrantState, Error> {
        let answer = self
            .client
            .get::<Allowed>(Request::get(self.action_url(principal, action)))
            .await;
        match answer {
            Ok(a) if a.allowed => Ok(GrantState::Granted),
            Ok(_) => Ok(GrantState::NotGranted),
            Err(e) if e.code() == Some("ERR_UNKNOWN_RESOURCE_ID") => Ok(GrantState::NoAcl),
            Err(e) => Err(e),
        }
    }

    /// Whether `principal` holds `action` directly (not through a group). No ACL: `false`.
    pub async fn is_granted(&self, principal: &Principal, action: Action) -> Result<bool, Error> {
        Ok(self.grant_state(principal, action).await? == GrantState::Granted)
    }

    /// The users and groups that hold actions on this resource.
    pub async fn holders(&self) -> Result<AclHolders, Error> {
        self.client
            .get(Request::get(format!("{}/permissions", self.url())))
            .await
    }

    /// Makes sure `principal` holds `action`: creates the ACL (ignoring 409), then grants
    /// (409 gives [`GrantOutcome::AlreadyGranted`]). Safe to repeat.
    pub async fn ensure_granted(
        &self,
        principal: &Principal,
        action: Action,
        description: &str,
    ) -> Result<GrantOutcome, Error> {
        self.create(description).await?;
        self.grant_if_absent(principal, action).await
    }

    /// Makes sure `principal` does not hold `action` directly. Safe to repeat.
    pub async fn ensure_revoked(
        &self,
        principal: &Principal,
        action: Action,
    ) -> Result<RevokeOutcome, Error> {
        match self.revoke(principal, action).await {
            Ok(()) => Ok(RevokeOutcome::Revoked),
            Err(e)
                if e.code().is_some_and(|c| {
                    NOT_GRANTED.contains(&c) || c == "ERR_UNKNOWN_RESOURCE_ID"
                }) =>
            {
                Ok(RevokeOutcome::AlreadyAbsent)
            }
            Err(e) => Err(e),
        }
    }
}
