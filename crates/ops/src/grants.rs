//! Grants and revokes of one action on one resource, for a principal that must exist.

use dcos_iam_client::{Action, Gid, GrantOutcome, Principal, RevokeOutcome, Rid, Uid};

use crate::Clients;
use crate::error::{Context, Error, Remedy, Result};
use crate::plan::acl_description;

/// The principal of a user (or service account) id or a group id: exactly one of them.
pub fn principal(user: Option<&str>, group: Option<&str>) -> Result<Principal> {
    match (user, group) {
        (Some(uid), None) => Ok(Principal::User(Uid::new(uid).context("user")?)),
        (None, Some(gid)) => Ok(Principal::Group(Gid::new(gid).context("group")?)),
        _ => Err(Error::invalid("give exactly one of user and group")),
    }
}

/// Fails with [`crate::ErrorKind::NotFound`], naming the principal, when it does not exist.
pub async fn check_exists(clients: &Clients, principal: &Principal) -> Result<()> {
    let exists = match principal {
        Principal::User(uid) => clients.iam.user(uid).get_opt().await?.is_some(),
        Principal::Group(gid) => clients.iam.group(gid).get_opt().await?.is_some(),
    };
    if exists {
        return Ok(());
    }
    Err(
        Error::not_found(format!("{principal} does not exist")).with_remedy(
            Remedy::CheckPrincipal {
                principal: principal.clone(),
            },
        ),
    )
}

/// Grants `action` on `rid` to `principal`, which must exist, creating the ACL (with
/// `description`, or one naming this tool) when there is none. Safe to repeat.
pub async fn grant(
    clients: &Clients,
    principal: &Principal,
    rid: &Rid,
    action: Action,
    description: Option<&str>,
) -> Result<GrantOutcome> {
    check_exists(clients, principal).await?;
    let description = description.map_or_else(|| acl_description(rid), str::to_owned);
    clients
        .iam
        .acl(rid)
        .ensure_granted(principal, action, &description)
        .await
        .context(format!("grant {action} on {rid}"))
}

/// Revokes `action` on `rid` from `principal`, which must exist. Safe to repeat.
pub async fn revoke(
    clients: &Clients,
    principal: &Principal,
    rid: &Rid,
    action: Action,
) -> Result<RevokeOutcome> {
    check_exists(clients, principal).await?;
    clients
        .iam
        .acl(rid)
        .ensure_revoked(principal, action)
        .await
        .context(format!("revoke {action} on {rid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_is_a_user_or_a_group() {
        assert_eq!(
            principal(Some("alice"), None).unwrap(),
            Principal::User(Uid::new("alice").unwrap())
        );
        assert_eq!(
            principal(None, Some("data")).unwrap(),
            Principal::Group(Gid::new("data").unwrap())
        );
        assert!(principal(Some("a"), Some("b")).is_err());
        assert!(principal(None, None).is_err());
        let bad = principal(Some("a b"), None).unwrap_err();
        assert!(bad.full_message().starts_with("user: "), "{bad}");
    }
}
