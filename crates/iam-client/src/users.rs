//! `/users/{uid}`: users and service accounts.

use dcos_transport::{Error, Request};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::{BASE, GroupMembership, IamClient, Uid, User, UserPermissions, optional};

/// One user or service account, from [`IamClient::user`].
#[derive(Debug, Clone, Copy)]
pub struct UserHandle<'a> {
    client: &'a IamClient,
    uid: &'a Uid,
}

#[derive(Serialize)]
struct CreateBody<'a> {
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_id: Option<&'a str>,
}

impl<'a> UserHandle<'a> {
    pub(crate) fn new(client: &'a IamClient, uid: &'a Uid) -> Self {
        Self { client, uid }
    }

    fn url(&self) -> String {
        format!("{BASE}/users/{}", self.uid)
    }

    /// Creates a user with a password (201). Exists: 409 `ERR_USER_EXISTS`.
    pub async fn create_user(
        &self,
        description: &str,
        password: &SecretString,
    ) -> Result<(), Error> {
        let body = CreateBody {
            description,
            password: Some(password.expose_secret()),
            public_key: None,
            provider_type: None,
            provider_id: None,
        };
        let request = Request::put(self.url())
            .json(&body)?
            .sensitive(password.expose_secret());
        self.client.send(request).await
    }

    /// Creates a service account with an RSA public key (SubjectPublicKeyInfo PEM).
    pub async fn create_service_account(
        &self,
        description: &str,
        public_key_pem: &str,
    ) -> Result<(), Error> {
        let body = CreateBody {
            description,
            password: None,
            public_key: Some(public_key_pem),
            provider_type: None,
            provider_id: None,
        };
        self.client
            .send(Request::put(self.url()).json(&body)?)
            .await
    }

    /// Creates a remote user, who logs in at the identity provider `provider_id` of type
    /// `provider_type` (`ldap`, `oidc` or `saml`). A cluster without that provider answers
    /// 400.
    pub async fn create_remote_user(
        &self,
        description: &str,
        provider_type: &str,
        provider_id: &str,
    ) -> Result<(), Error> {
        let body = CreateBody {
            description,
            password: None,
            public_key: None,
            provider_type: Some(provider_type),
            provider_id: Some(provider_id),
        };
        self.client
            .send(Request::put(self.url()).json(&body)?)
            .await
    }

    /// The account. Unknown: 400 `ERR_UNKNOWN_USER_ID` (`is_not_found()`).
    pub async fn get(&self) -> Result<User, Error> {
        self.client.get(Request::get(self.url())).await
    }

    /// The account, or `None` if it does not exist.
    pub async fn get_opt(&self) -> Result<Option<User>, Error> {
        optional(self.get().await)
    }

    /// Deletes the account (204).
    pub async fn delete(&self) -> Result<(), Error> {
        self.client.send(Request::delete(self.url())).await
    }

    /// What the account may do, directly and through its groups.
    pub async fn permissions(&self) -> Result<UserPermissions, Error> {
        self.client
            .get(Request::get(format!("{}/permissions", self.url())))
            .await
    }

    /// The groups the account belongs to.
    pub async fn groups(&self) -> Result<Vec<GroupMembership>, Error> {
        self.client
            .get_array(Request::get(format!("{}/groups", self.url())))
            .await
    }
}
