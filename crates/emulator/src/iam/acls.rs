//! `/acls`: protected resources, grants and revokes.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{
    Answer, BASE, DescriptionBody, actions_json, check_action, decode_rid, json_body, rid_url,
    unknown_acl, unknown_group, unknown_user,
};
use crate::app::{Shared, authorize_iam};
use crate::respond::{bad_request, empty, json_error, json_ok};
use crate::state::{Acl, State};

fn acl_json(rid: &str, acl: &Acl) -> Value {
    json!({"rid": rid, "url": rid_url(rid), "description": acl.description})
}

pub(super) async fn list_acls(AxState(app): AxState<Shared>, headers: HeaderMap) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let acls: Vec<Value> = state.acls.iter().map(|(r, a)| acl_json(r, a)).collect();
    Ok(json_ok(&json!({ "array": acls })))
}

pub(super) async fn get_acl(
    AxState(app): AxState<Shared>,
    Path(rid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let rid = decode_rid(&rid)?;
    let state = app.read();
    let acl = state.acls.get(&rid).ok_or_else(|| unknown_acl(&rid))?;
    Ok(json_ok(&acl_json(&rid, acl)))
}

pub(super) async fn put_acl(
    AxState(app): AxState<Shared>,
    Path(rid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let rid = decode_rid(&rid)?;
    let body: DescriptionBody = json_body(&headers, &body)?;
    let mut state = app.write();
    if state.acls.contains_key(&rid) {
        return Err(json_error(
            StatusCode::CONFLICT,
            Some("ERR_ACL_EXISTS"),
            &format!("ACL for resource `{rid}` already exists."),
        ));
    }
    state.acls.insert(
        rid,
        Acl {
            description: body.description.unwrap_or_default(),
            ..Acl::default()
        },
    );
    Ok(empty(StatusCode::CREATED))
}

pub(super) async fn patch_acl(
    AxState(app): AxState<Shared>,
    Path(rid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let rid = decode_rid(&rid)?;
    let body: DescriptionBody = json_body(&headers, &body)?;
    let mut state = app.write();
    let acl = state.acls.get_mut(&rid).ok_or_else(|| unknown_acl(&rid))?;
    if let Some(d) = body.description {
        acl.description = d;
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn delete_acl(
    AxState(app): AxState<Shared>,
    Path(rid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let rid = decode_rid(&rid)?;
    match app.write().acls.remove(&rid) {
        Some(_) => Ok(empty(StatusCode::NO_CONTENT)),
        None => Err(unknown_acl(&rid)),
    }
}

pub(super) async fn acl_permissions(
    AxState(app): AxState<Shared>,
    Path(rid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let rid = decode_rid(&rid)?;
    let state = app.read();
    let acl = state.acls.get(&rid).ok_or_else(|| unknown_acl(&rid))?;
    let users: Vec<Value> = acl
        .users
        .iter()
        .map(|(uid, actions)| {
            json!({"uid": uid, "userurl": format!("{BASE}/users/{uid}"),
                "actions": actions_json(&rid, "users", uid, actions)})
        })
        .collect();
    let groups: Vec<Value> = acl
        .groups
        .iter()
        .map(|(gid, actions)| {
            json!({"gid": gid, "groupurl": format!("{BASE}/groups/{gid}"),
                "actions": actions_json(&rid, "groups", gid, actions)})
        })
        .collect();
    Ok(json_ok(&json!({"users": users, "groups": groups})))
}

/// Whether a grant concerns a user or a group.
#[derive(Clone, Copy)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn exists(self, state: &State, id: &str) -> Result<(), Response> {
        match self {
            Kind::User if !state.accounts.contains_key(id) => Err(unknown_user(id)),
            Kind::Group if !state.groups.contains_key(id) => Err(unknown_group(id)),
            _ => Ok(()),
        }
    }

    fn holders(
        self,
        acl: &mut Acl,
    ) -> &mut std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
        match self {
            Kind::User => &mut acl.users,
            Kind::Group => &mut acl.groups,
        }
    }

    fn not_in_acl(self) -> &'static str {
        match self {
            Kind::User => "ERR_USER_NOT_IN_ACL",
            Kind::Group => "ERR_GROUP_NOT_IN_ACL",
        }
    }
}

/// Checks the caller, decodes the rid, checks the action; returns the rid.
fn grant_prelude(
    app: &Shared,
    headers: &HeaderMap,
    rid: &str,
    action: &str,
) -> Result<String, Response> {
    authorize_iam(app, headers)?;
    let rid = decode_rid(rid)?;
    check_action(action)?;
    Ok(rid)
}

fn allowed(
    app: &Shared,
    headers: &HeaderMap,
    kind: Kind,
    rid: &str,
    id: &str,
    action: &str,
) -> Answer {
    let rid = grant_prelude(app, headers, rid, action)?;
    let mut state = app.write();
    kind.exists(&state, id)?;
    let acl = state.acls.get_mut(&rid).ok_or_else(|| unknown_acl(&rid))?;
    let held = kind
        .holders(acl)
        .get(id)
        .is_some_and(|actions| actions.contains(action));
    Ok(json_ok(&json!({ "allowed": held })))
}

fn grant(
    app: &Shared,
    headers: &HeaderMap,
    kind: Kind,
    rid: &str,
    id: &str,
    action: &str,
) -> Answer {
    let rid = grant_prelude(app, headers, rid, action)?;
    let mut state = app.write();
    if !state.acls.contains_key(&rid) {
        return Err(unknown_acl(&rid));
    }
    kind.exists(&state, id)?;
    let acl = state.acls.get_mut(&rid).ok_or_else(|| unknown_acl(&rid))?;
    if !kind
        .holders(acl)
        .entry(id.to_owned())
        .or_default()
        .insert(action.to_owned())
    {
        return Err(json_error(
            StatusCode::CONFLICT,
            Some("ERR_PERMISSION_EXISTS"),
            &format!("`{id}` already holds `{action}` on `{rid}`."),
        ));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

fn revoke(
    app: &Shared,
    headers: &HeaderMap,
    kind: Kind,
    rid: &str,
    id: &str,
    action: &str,
) -> Answer {
    let rid = grant_prelude(app, headers, rid, action)?;
    let mut state = app.write();
    if !state.acls.contains_key(&rid) {
        return Err(unknown_acl(&rid));
    }
    kind.exists(&state, id)?;
    let acl = state.acls.get_mut(&rid).ok_or_else(|| unknown_acl(&rid))?;
    let holders = kind.holders(acl);
    let Some(actions) = holders.get_mut(id) else {
        return Err(bad_request(
            kind.not_in_acl(),
            &format!("`{id}` is not in the ACL for resource `{rid}`."),
        ));
    };
    if !actions.remove(action) {
        return Err(bad_request(
            "ERR_ACTION_NOT_YET_STORED",
            &format!("Action `{action}` unknown for `{id}` in ACL for resource `{rid}`."),
        ));
    }
    if actions.is_empty() {
        holders.remove(id);
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn user_allowed(
    AxState(app): AxState<Shared>,
    Path((rid, uid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    allowed(&app, &headers, Kind::User, &rid, &uid, &action)
}

pub(super) async fn grant_user(
    AxState(app): AxState<Shared>,
    Path((rid, uid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    grant(&app, &headers, Kind::User, &rid, &uid, &action)
}

pub(super) async fn revoke_user(
    AxState(app): AxState<Shared>,
    Path((rid, uid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    revoke(&app, &headers, Kind::User, &rid, &uid, &action)
}

pub(super) async fn group_allowed(
    AxState(app): AxState<Shared>,
    Path((rid, gid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    allowed(&app, &headers, Kind::Group, &rid, &gid, &action)
}

pub(super) async fn grant_group(
    AxState(app): AxState<Shared>,
    Path((rid, gid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    grant(&app, &headers, Kind::Group, &rid, &gid, &action)
}

pub(super) async fn revoke_group(
    AxState(app): AxState<Shared>,
    Path((rid, gid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    revoke(&app, &headers, Kind::Group, &rid, &gid, &action)
}
