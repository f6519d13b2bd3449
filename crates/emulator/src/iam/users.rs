//! `/users`: users and service accounts, their permissions and groups.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Answer, BASE, actions_json, group_json, json_body, query_is_service, rid_url, unknown_user,
    user_json, valid_id,
};
use crate::app::{Shared, authenticate, authorize_iam};
use crate::auth::is_rsa_public_key;
use crate::respond::{bad_request, empty, json_error, json_ok};
use crate::state::{Account, State, password_hash};

pub(super) async fn list_users(
    AxState(app): AxState<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let service = query_is_service(&query);
    let state = app.read();
    let users: Vec<Value> = state
        .accounts
        .iter()
        .filter(|(_, a)| a.is_service() == service)
        .map(|(uid, a)| user_json(uid, a))
        .collect();
    Ok(json_ok(&json!({ "array": users })))
}

pub(super) async fn get_user(
    AxState(app): AxState<Shared>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let account = state.accounts.get(&uid).ok_or_else(|| unknown_user(&uid))?;
    Ok(json_ok(&user_json(&uid, account)))
}

#[derive(Deserialize)]
struct UserBody {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    public_key: Option<String>,
    #[serde(default)]
    provider_type: Option<String>,
    #[serde(default)]
    provider_id: Option<String>,
}

pub(super) async fn put_user(
    AxState(app): AxState<Shared>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize_iam(&app, &headers)?;
    if !valid_id(&uid) || uid == "anonymous" {
        return Err(bad_request(
            "ERR_INVALID_USER_ID",
            &format!("Invalid user ID: {uid}"),
        ));
    }
    let body: UserBody = json_body(&headers, &body)?;
    if let Some(kind) = body.provider_type.as_deref().filter(|k| *k != "internal") {
        return put_remote_user(&app, uid, kind, &body);
    }
    let account = match (&body.password, &body.public_key) {
        (Some(password), None) => {
            if password.chars().count() < 5 {
                return Err(bad_request(
                    "ERR_INVALID_DATA",
                    "Password does not match rules: Must be at least 5 characters long.",
                ));
            }
            Account {
                description: body.description.unwrap_or_default(),
                password_sha256: Some(password_hash(&uid, password)),
                public_key: None,
                provider: None,
            }
        }
        (None, Some(key)) => {
            if !is_rsa_public_key(key) {
                return Err(bad_request(
                    "ERR_INVALID_PUBLIC_KEY",
                    "Invalid public key: expected an RSA public key in PEM (SubjectPublicKeyInfo) form",
                ));
            }
            Account {
                description: body.description.unwrap_or_default(),
                password_sha256: None,
                public_key: Some(key.clone()),
                provider: None,
            }
        }
        _ => {
            return Err(bad_request(
                "ERR_INVALID_DATA",
                "One of `password` or `public_key` must be provided",
            ));
        }
    };
    insert_user(&app, uid, account)
}

fn insert_user(app: &Shared, uid: String, account: Account) -> Answer {
    let mut state = app.write();
    if state.accounts.contains_key(&uid) {
        return Err(json_error(
            StatusCode::CONFLICT,
            Some("ERR_USER_EXISTS"),
            &format!("User with id `{uid}` already exists."),
        ));
    }
    state.accounts.insert(uid, account);
    Ok(empty(StatusCode::CREATED))
}

/// A remote user: no password and no key, and a provider of its kind that this cluster has.
fn put_remote_user(app: &Shared, uid: String, kind: &str, body: &UserBody) -> Answer {
    if body.password.is_some() || body.public_key.is_some() {
        return Err(bad_request(
            "ERR_INVALID_DATA",
            "A remote user has neither `password` nor `public_key`",
        ));
    }
    let id = body.provider_id.clone().unwrap_or_default();
    let known = app.read().providers.get(&id).is_some_and(|k| k == kind);
    if !known {
        return Err(bad_request(
            "ERR_INVALID_DATA",
            &format!("Unknown identity provider `{id}` of type `{kind}`"),
        ));
    }
    let account = Account {
        description: body.description.clone().unwrap_or_default(),
        password_sha256: None,
        public_key: None,
        provider: Some((kind.to_owned(), id)),
    };
    insert_user(app, uid, account)
}

pub(super) async fn patch_user(
    AxState(app): AxState<Shared>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let body: UserBody = json_body(&headers, &body)?;
    let mut state = app.write();
    let account = state
        .accounts
        .get_mut(&uid)
        .ok_or_else(|| unknown_user(&uid))?;
    if body.description.is_none() && body.password.is_none() {
        return Err(bad_request(
            "ERR_INVALID_DATA",
            "One of `description` or `password` must be provided",
        ));
    }
    if let Some(password) = &body.password {
        if account.is_service() {
            return Err(bad_request(
                "ERR_INVALID_DATA",
                "Password update is not available for service user accounts.",
            ));
        }
        account.password_sha256 = Some(password_hash(&uid, password));
    }
    if let Some(description) = body.description {
        account.description = description;
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn delete_user(
    AxState(app): AxState<Shared>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let mut state = app.write();
    if !state.accounts.contains_key(&uid) {
        return Err(unknown_user(&uid));
    }
    if state.is_last_superuser(&uid) {
        return Err(bad_request(
            "ERR_NO_MORE_SUPERUSERS",
            "Deleting this user would leave no superuser.",
        ));
    }
    state.remove_account(&uid);
    Ok(empty(StatusCode::NO_CONTENT))
}

fn permissions_of(state: &State, uid: &str) -> Value {
    let direct: Vec<Value> = state
        .acls
        .iter()
        .filter_map(|(rid, acl)| {
            let actions = acl.users.get(uid)?;
            Some(
                json!({"rid": rid, "description": acl.description, "aclurl": rid_url(rid),
                "actions": actions_json(rid, "users", uid, actions)}),
            )
        })
        .collect();
    let mut groups = Vec::new();
    for gid in state.groups_of(uid) {
        for (rid, acl) in &state.acls {
            if let Some(actions) = acl.groups.get(gid) {
                groups.push(json!({"rid": rid, "gid": gid, "description": acl.description,
                    "aclurl": rid_url(rid), "membershipurl": format!("{BASE}/groups/{gid}/users/{uid}"),
                    "actions": actions_json(rid, "groups", gid, actions)}));
            }
        }
    }
    json!({"direct": direct, "groups": groups})
}

pub(super) async fn user_permissions(
    AxState(app): AxState<Shared>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    // A principal may always read its own permissions.
    let caller = authenticate(&app, &headers)?;
    if caller != uid {
        authorize_iam(&app, &headers)?;
    }
    let state = app.read();
    if !state.accounts.contains_key(&uid) {
        return Err(unknown_user(&uid));
    }
    Ok(json_ok(&permissions_of(&state, &uid)))
}

pub(super) async fn user_groups(
    AxState(app): AxState<Shared>,
    Path(uid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    if !state.accounts.contains_key(&uid) {
        return Err(unknown_user(&uid));
    }
    let groups: Vec<Value> = state
        .groups
        .iter()
        .filter(|(_, g)| g.members.contains(&uid))
        .map(|(gid, g)| {
            json!({"group": group_json(gid, g), "membershipurl": format!("{BASE}/groups/{gid}/users/{uid}")})
        })
        .collect();
    Ok(json_ok(&json!({ "array": groups })))
}
