//! `/groups/{gid}`: groups and their members.

use dcos_transport::{Error, Request};

use crate::{BASE, Gid, Group, HeldPermission, IamClient, Membership, Uid, describe, optional};

/// One group, from [`IamClient::group`].
#[derive(Debug, Clone, Copy)]
pub struct GroupHandle<'a> {
    client: &'a IamClient,
    gid: &'a Gid,
}

impl<'a> GroupHandle<'a> {
    pub(crate) fn new(client: &'a IamClient, gid: &'a Gid) -> Self {
        Self { client, gid }
    }

    fn url(&self) -> String {
        format!("{BASE}/groups/{}", self.gid)
    }

    /// Creates the group (201). Exists: 409 `ERR_GROUP_EXISTS`.
    pub async fn create(&self, description: &str) -> Result<(), Error> {
        self.client
            .send(describe(Request::put(self.url()), description)?)
            .await
    }

    /// The group. Unknown: 400 `ERR_UNKNOWN_GROUP_ID` (`is_not_found()`).
    pub async fn get(&self) -> Result<Group, Error> {
        self.client.get(Request::get(self.url())).await
    }

    /// The group, or `None` if it does not exist.
    pub async fn get_opt(&self) -> Result<Option<Group>, Error> {
        optional(self.get().await)
    }

    /// Deletes the group (204).
    pub async fn delete(&self) -> Result<(), Error> {
        self.client.send(Request::delete(self.url())).await
    }

    /// Adds a user or service account (204). Already a member: 409.
    pub async fn add_member(&self, uid: &Uid) -> Result<(), Error> {
        self.client
            .send(Request::put(format!("{}/users/{uid}", self.url())))
            .await
    }

    /// Removes a member (204).
    pub async fn remove_member(&self, uid: &Uid) -> Result<(), Error> {
        self.client
            .send(Request::delete(format!("{}/users/{uid}", self.url())))
            .await
    }

    /// Every member: users, then service accounts (the API lists them separately).
    pub async fn members(&self) -> Result<Vec<Membership>, Error> {
        let users = Request::get(format!("{}/users", self.url()));
        let services = Request::get(format!("{}/users", self.url())).query("type", "service");
        let (mut users, services) = tokio::try_join!(
            self.client.get_array::<Membership>(users),
            self.client.get_array::<Membership>(services)
        )?;
        users.extend(services);
        Ok(users)
    }

    /// The permissions granted to the group.
    pub async fn permissions(&self) -> Result<Vec<HeldPermission>, Error> {
        self.client
            .get_array(Request::get(format!("{}/permissions", self.url())))
            .await
    }
}
