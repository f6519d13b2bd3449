//! `/groups`: groups and their members.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::{
    Answer, BASE, DescriptionBody, actions_json, group_json, json_body, query_is_service, rid_url,
    unknown_group, unknown_user, user_json, valid_id,
};
use crate::app::{Shared, authorize_iam};
use crate::respond::{bad_request, empty, json_error, json_ok};
use crate::state::{Group, SUPERUSERS};

pub(super) async fn list_groups(AxState(app): AxState<Shared>, headers: HeaderMap) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let groups: Vec<Value> = state
        .groups
        .iter()
        .map(|(gid, g)| group_json(gid, g))
        .collect();
    Ok(json_ok(&json!({ "array": groups })))
}

pub(super) async fn get_group(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let group = state.groups.get(&gid).ok_or_else(|| unknown_group(&gid))?;
    Ok(json_ok(&group_json(&gid, group)))
}

pub(super) async fn put_group(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize_iam(&app, &headers)?;
    if !valid_id(&gid) {
        return Err(bad_request(
            "ERR_INVALID_GROUP_ID",
            &format!("Invalid group ID: {gid}"),
        ));
    }
    let body: DescriptionBody = json_body(&headers, &body)?;
    let description = body
        .description
        .ok_or_else(|| bad_request("ERR_INVALID_DATA", "`description` must be provided"))?;
    let mut state = app.write();
    if state.groups.contains_key(&gid) {
        return Err(json_error(
            StatusCode::CONFLICT,
            Some("ERR_GROUP_EXISTS"),
            &format!("Group with id `{gid}` already exists."),
        ));
    }
    state.groups.insert(
        gid,
        Group {
            description,
            ..Group::default()
        },
    );
    Ok(empty(StatusCode::CREATED))
}

pub(super) async fn patch_group(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let body: DescriptionBody = json_body(&headers, &body)?;
    let mut state = app.write();
    let group = state
        .groups
        .get_mut(&gid)
        .ok_or_else(|| unknown_group(&gid))?;
    if let Some(d) = body.description {
        group.description = d;
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn delete_group(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let mut state = app.write();
    if !state.groups.contains_key(&gid) {
        return Err(unknown_group(&gid));
    }
    if gid == SUPERUSERS {
        return Err(bad_request(
            "ERR_IS_SUPERUSER_GROUP",
            "The superusers group cannot be deleted.",
        ));
    }
    state.remove_group(&gid);
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn group_members(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let service = query_is_service(&query);
    let state = app.read();
    let group = state.groups.get(&gid).ok_or_else(|| unknown_group(&gid))?;
    let members: Vec<Value> = group
        .members
        .iter()
        .filter_map(|uid| state.accounts.get(uid).map(|a| (uid, a)))
        .filter(|(_, a)| a.is_service() == service)
        .map(|(uid, a)| {
            json!({"user": user_json(uid, a), "membershipurl": format!("{BASE}/groups/{gid}/users/{uid}")})
        })
        .collect();
    Ok(json_ok(&json!({ "array": members })))
}

pub(super) async fn add_member(
    AxState(app): AxState<Shared>,
    Path((gid, uid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let mut state = app.write();
    if !state.accounts.contains_key(&uid) {
        return Err(unknown_user(&uid));
    }
    let group = state
        .groups
        .get_mut(&gid)
        .ok_or_else(|| unknown_group(&gid))?;
    if !group.members.insert(uid.clone()) {
        return Err(json_error(
            StatusCode::CONFLICT,
            Some("ERR_USER_ALREADY_IN_GROUP"),
            &format!("User `{uid}` is already a member of group `{gid}`."),
        ));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn remove_member(
    AxState(app): AxState<Shared>,
    Path((gid, uid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let mut state = app.write();
    if !state.accounts.contains_key(&uid) {
        return Err(unknown_user(&uid));
    }
    if gid == SUPERUSERS && state.is_last_superuser(&uid) {
        return Err(bad_request(
            "ERR_NO_MORE_SUPERUSERS",
            "Removing this member would leave no superuser.",
        ));
    }
    let group = state
        .groups
        .get_mut(&gid)
        .ok_or_else(|| unknown_group(&gid))?;
    if !group.members.remove(&uid) {
        return Err(bad_request(
            "ERR_USER_NOT_IN_GROUP",
            &format!("User `{uid}` is not a member of group `{gid}`."),
        ));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub(super) async fn group_permissions(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    if !state.groups.contains_key(&gid) {
        return Err(unknown_group(&gid));
    }
    let held: Vec<Value> = state
        .acls
        .iter()
        .filter_map(|(rid, acl)| {
            let actions = acl.groups.get(&gid)?;
            Some(
                json!({"rid": rid, "description": acl.description, "aclurl": rid_url(rid),
                "actions": actions_json(rid, "groups", &gid, actions)}),
            )
        })
        .collect();
    Ok(json_ok(&json!({ "array": held })))
}
