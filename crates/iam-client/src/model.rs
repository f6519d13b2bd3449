//! The documents the IAM API answers with.

use serde::{Deserialize, Serialize};

use crate::Action;

/// A user or service account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct User {
    /// The id.
    pub uid: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The API URL of the account.
    #[serde(default)]
    pub url: String,
    /// Whether the account comes from an external directory.
    #[serde(default)]
    pub is_remote: bool,
    /// Whether this is a service account.
    #[serde(default)]
    pub is_service: bool,
    /// `internal`, `ldap`, `oidc` or `saml`.
    #[serde(default)]
    pub provider_type: String,
    /// The provider's id.
    #[serde(default)]
    pub provider_id: String,
    /// A service account's public key (SubjectPublicKeyInfo PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Group {
    /// The id.
    pub gid: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The API URL of the group.
    #[serde(default)]
    pub url: String,
}

/// One action held on a resource, with its URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ActionEntry {
    /// The action's name: `create`, `read`, `update`, `delete` or `full`.
    pub name: String,
    /// The API URL of the grant.
    #[serde(default)]
    pub url: String,
}

impl ActionEntry {
    /// The action, if it is one of the five known ones.
    pub fn action(&self) -> Option<Action> {
        self.name.parse().ok()
    }
}

/// An access control list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Acl {
    /// The resource id, raw (with `/`).
    pub rid: String,
    /// The API URL of the ACL.
    #[serde(default)]
    pub url: String,
    /// A description.
    #[serde(default)]
    pub description: String,
}

/// A permission that a user holds through a group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupPermission {
    /// The resource id.
    pub rid: String,
    /// The group that holds it.
    pub gid: String,
    /// The ACL's description.
    #[serde(default)]
    pub description: String,
    /// The API URL of the ACL.
    #[serde(default)]
    pub aclurl: String,
    /// The API URL of the membership.
    #[serde(default)]
    pub membershipurl: String,
    /// The actions held.
    #[serde(default)]
    pub actions: Vec<ActionEntry>,
}

/// Everything a user or service account may do: `GET /users/{uid}/permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct UserPermissions {
    /// Granted to the account itself.
    #[serde(default)]
    pub direct: Vec<HeldPermission>,
    /// Granted to groups the account belongs to.
    #[serde(default)]
    pub groups: Vec<GroupPermission>,
}

/// A group's membership of a user: `GET /users/{uid}/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupMembership {
    /// The group.
    pub group: Group,
    /// The API URL of the membership.
    #[serde(default)]
    pub membershipurl: String,
}

/// A member of a group: `GET /groups/{gid}/users`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Membership {
    /// The member.
    pub user: User,
    /// The API URL of the membership.
    #[serde(default)]
    pub membershipurl: String,
}

/// A permission held directly: by a user (`direct` of `GET /users/{uid}/permissions`) or by a
/// group (`GET /groups/{gid}/permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct HeldPermission {
    /// The resource id.
    pub rid: String,
    /// The ACL's description.
    #[serde(default)]
    pub description: String,
    /// The API URL of the ACL.
    #[serde(default)]
    pub aclurl: String,
    /// The actions held.
    #[serde(default)]
    pub actions: Vec<ActionEntry>,
}

/// A user that holds actions on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserHolder {
    /// The user.
    pub uid: String,
    /// The API URL of the user.
    #[serde(default)]
    pub userurl: String,
    /// The actions held.
    #[serde(default)]
    pub actions: Vec<ActionEntry>,
}

/// A group that holds actions on a resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupHolder {
    /// The group.
    pub gid: String,
    /// The API URL of the group.
    #[serde(default)]
    pub groupurl: String,
    /// The actions held.
    #[serde(default)]
    pub actions: Vec<ActionEntry>,
}

/// Who holds what on one resource: `GET /acls/{rid}/permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct AclHolders {
    /// Users and service accounts.
    #[serde(default)]
    pub users: Vec<UserHolder>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<GroupHolder>,
}

#[derive(Deserialize)]
pub(crate) struct Array<T> {
    pub array: Vec<T>,
}

#[derive(Deserialize)]
pub(crate) struct Allowed {
    pub allowed: bool,
}
