//! `/acs/api/v1`: the IAM service (Bouncer).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::{
    Shared, authenticate, authorize_iam, bad_request, empty, json_error, json_headers, json_ok,
    media_type, plain_error,
};
use crate::auth::{is_rsa_public_key, verify_service_login};
use crate::state::{Account, Acl, Group, SUPERUSERS, State, password_hash};

type Answer = Result<Response, Response>;

const BASE: &str = "/acs/api/v1";
const ACTIONS: [&str; 5] = ["create", "read", "update", "delete", "full"];

/// The routes of the IAM service.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/acs/api/v1/auth/login", post(login))
        .route("/acs/api/v1/auth/jwks", get(jwks))
        .route("/acs/api/v1/users", get(list_users))
        .route(
            "/acs/api/v1/users/{uid}",
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/acs/api/v1/users/{uid}/permissions", get(user_permissions))
        .route("/acs/api/v1/users/{uid}/groups", get(user_groups))
        .route("/acs/api/v1/groups", get(list_groups))
        .route(
            "/acs/api/v1/groups/{gid}",
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/acs/api/v1/groups/{gid}/users", get(group_members))
        .route(
            "/acs/api/v1/groups/{gid}/users/{uid}",
            axum::routing::put(add_member).delete(remove_member),
        )
        .route(
            "/acs/api/v1/groups/{gid}/permissions",
            get(group_permissions),
        )
        .route("/acs/api/v1/acls", get(list_acls))
        .route(
            "/acs/api/v1/acls/{rid}",
            get(get_acl)
                .put(put_acl)
                .patch(patch_acl)
                .delete(delete_acl),
        )
        .route("/acs/api/v1/acls/{rid}/permissions", get(acl_permissions))
        .route(
            "/acs/api/v1/acls/{rid}/users/{uid}/{action}",
            get(user_allowed).put(grant_user).delete(revoke_user),
        )
        .route(
            "/acs/api/v1/acls/{rid}/groups/{gid}/{action}",
            get(group_allowed).put(grant_group).delete(revoke_group),
        )
}

// ----- URL forms ------------------------------------------------------------------------------

/// The URL form of a rid: every `/` written `%252F`.
fn rid_url(rid: &str) -> String {
    format!("{BASE}/acls/{}", rid.replace('/', "%252F"))
}

/// Decodes a rid path segment the way Bouncer does: the framework has percent-decoded it once;
/// then `%2F` becomes `/`. A literal `/` (sent as a single `%2F`) would have split the path
/// before routing on the real service, so it is a 404 here too.
fn decode_rid(segment: &str) -> Result<String, Response> {
    if segment.contains('/') {
        return Err(plain_error(StatusCode::NOT_FOUND, "Not Found"));
    }
    let rid = segment.replace("%2F", "/");
    if rid.is_empty() || rid.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad_request(
            "ERR_INVALID_RESOURCE_ID",
            &format!("Invalid resource ID: {rid}"),
        ));
    }
    Ok(rid)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= 96
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '@' | '.'))
}

fn check_action(action: &str) -> Result<(), Response> {
    if ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(bad_request(
            "ERR_INVALID_ACTION",
            &format!("Invalid action `{action}`"),
        ))
    }
}

// ----- documents -----------------------------------------------------------------------------

fn user_json(uid: &str, account: &Account) -> Value {
    let mut doc = json!({
        "uid": uid,
        "description": account.description,
        "url": format!("{BASE}/users/{uid}"),
        "is_remote": false,
        "is_service": account.is_service(),
        "provider_type": "internal",
        "provider_id": "",
    });
    if let Some(key) = &account.public_key {
        doc["public_key"] = json!(key);
    }
    doc
}

fn group_json(gid: &str, group: &Group) -> Value {
    json!({"gid": gid, "description": group.description, "url": format!("{BASE}/groups/{gid}"), "provider_type": "internal"})
}

fn actions_json<'a>(
    rid: &str,
    kind: &str,
    who: &str,
    actions: impl IntoIterator<Item = &'a String>,
) -> Value {
    actions
        .into_iter()
        .map(|a| json!({"name": a, "url": format!("{}/{kind}/{who}/{a}", rid_url(rid))}))
        .collect()
}

// ----- helpers -------------------------------------------------------------------------------

fn unknown_user(uid: &str) -> Response {
    bad_request(
        "ERR_UNKNOWN_USER_ID",
        &format!("User with uid `{uid}` not known."),
    )
}

fn unknown_group(gid: &str) -> Response {
    bad_request(
        "ERR_UNKNOWN_GROUP_ID",
        &format!("Group with gid `{gid}` not known."),
    )
}

fn unknown_acl(rid: &str) -> Response {
    bad_request(
        "ERR_UNKNOWN_RESOURCE_ID",
        &format!("Protected resource with rid `{rid}` not known."),
    )
}

/// Parses a JSON request body as Bouncer does: `Content-Type: application/json` required.
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Response> {
    let positional = |text: &str| {
        let body = json!({"title": "Bad Request", "description": text});
        (StatusCode::BAD_REQUEST, json_headers(), body.to_string()).into_response()
    };
    match media_type(headers, header::CONTENT_TYPE).as_deref() {
        None => return Err(positional("Missing Content-Type header.")),
        Some("application/json") => {}
        Some(_) => {
            return Err(positional(
                "Request has bad Content-Type or lacks JSON data",
            ));
        }
    }
    // serde's message is not repeated back: it can quote a value, and the body may hold a
    // password.
    serde_json::from_slice(body)
        .map_err(|_| positional("Unexpected JSON input: the body is not the expected document"))
}

fn query_is_service(query: &HashMap<String, String>) -> bool {
    query.get("type").is_some_and(|t| t == "service")
}

// ----- auth ----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct LoginBody {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

fn invalid_credentials() -> Response {
    let mut r = json_error(
        StatusCode::UNAUTHORIZED,
        Some("ERR_INVALID_CREDENTIALS"),
        "Invalid credentials.",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("acsjwt"),
    );
    r
}

async fn login(AxState(app): AxState<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    let body: LoginBody = json_body(&headers, &body)?;
    let exactly_one = body.password.is_some() != body.token.is_some();
    if !exactly_one {
        return Err(bad_request(
            "ERR_INVALID_DATA",
            "Exactly one of `token` and `password` must be provided in the request body",
        ));
    }
    let uid = body.uid.filter(|u| !u.is_empty()).ok_or_else(|| {
        bad_request(
            "ERR_INVALID_DATA",
            "`uid` must be provided in the request body",
        )
    })?;
    let ok = {
        let state = app.read();
        match (state.accounts.get(&uid), &body.password, &body.token) {
            (Some(account), Some(password), None) => {
                !password.is_empty()
                    && account.password_sha256.as_deref() == Some(&password_hash(&uid, password))
            }
            (Some(account), None, Some(jwt)) => account
                .public_key
                .as_deref()
                .is_some_and(|key| verify_service_login(jwt, &uid, key)),
            _ => false,
        }
    };
    if !ok {
        return Err(invalid_credentials());
    }
    let token = app.authority.issue(&uid).map_err(|e| {
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            &format!("cannot sign: {e}"),
        )
    })?;
    Ok(json_ok(&json!({ "token": token })))
}

async fn jwks(AxState(app): AxState<Shared>) -> Response {
    json_ok(&app.authority.jwks())
}

// ----- users ---------------------------------------------------------------------------------

async fn list_users(
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

async fn get_user(
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
}

async fn put_user(
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
            }
        }
        _ => {
            return Err(bad_request(
                "ERR_INVALID_DATA",
                "One of `password` or `public_key` must be provided",
            ));
        }
    };
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

async fn patch_user(
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

async fn delete_user(
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

async fn user_permissions(
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

async fn user_groups(
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

// ----- groups --------------------------------------------------------------------------------

async fn list_groups(AxState(app): AxState<Shared>, headers: HeaderMap) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let groups: Vec<Value> = state
        .groups
        .iter()
        .map(|(gid, g)| group_json(gid, g))
        .collect();
    Ok(json_ok(&json!({ "array": groups })))
}

async fn get_group(
    AxState(app): AxState<Shared>,
    Path(gid): Path<String>,
    headers: HeaderMap,
) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let group = state.groups.get(&gid).ok_or_else(|| unknown_group(&gid))?;
    Ok(json_ok(&group_json(&gid, group)))
}

#[derive(Deserialize)]
struct DescriptionBody {
    description: Option<String>,
}

async fn put_group(
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

async fn patch_group(
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

async fn delete_group(
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

async fn group_members(
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

async fn add_member(
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

async fn remove_member(
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

async fn group_permissions(
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

// ----- ACLs ----------------------------------------------------------------------------------

fn acl_json(rid: &str, acl: &Acl) -> Value {
    json!({"rid": rid, "url": rid_url(rid), "description": acl.description})
}

async fn list_acls(AxState(app): AxState<Shared>, headers: HeaderMap) -> Answer {
    authorize_iam(&app, &headers)?;
    let state = app.read();
    let acls: Vec<Value> = state.acls.iter().map(|(r, a)| acl_json(r, a)).collect();
    Ok(json_ok(&json!({ "array": acls })))
}

async fn get_acl(
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

async fn put_acl(
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

async fn patch_acl(
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

async fn delete_acl(
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

async fn acl_permissions(
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

async fn user_allowed(
    AxState(app): AxState<Shared>,
    Path((rid, uid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    allowed(&app, &headers, Kind::User, &rid, &uid, &action)
}

async fn grant_user(
    AxState(app): AxState<Shared>,
    Path((rid, uid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    grant(&app, &headers, Kind::User, &rid, &uid, &action)
}

async fn revoke_user(
    AxState(app): AxState<Shared>,
    Path((rid, uid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    revoke(&app, &headers, Kind::User, &rid, &uid, &action)
}

async fn group_allowed(
    AxState(app): AxState<Shared>,
    Path((rid, gid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    allowed(&app, &headers, Kind::Group, &rid, &gid, &action)
}

async fn grant_group(
    AxState(app): AxState<Shared>,
    Path((rid, gid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    grant(&app, &headers, Kind::Group, &rid, &gid, &action)
}

async fn revoke_group(
    AxState(app): AxState<Shared>,
    Path((rid, gid, action)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    revoke(&app, &headers, Kind::Group, &rid, &gid, &action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::forbidden;

    #[test]
    fn rid_decoding_follows_bouncer() {
        // What the framework hands over after decoding `%252F` once.
        assert_eq!(
            decode_rid("dcos:secrets:default:a%2Fb").unwrap(),
            "dcos:secrets:default:a/b"
        );
        // A lowercase %2f is not turned into a slash.
        assert_eq!(decode_rid("a%2fb").unwrap(), "a%2fb");
        // A single-encoded slash arrived as `/`: the real service would not have routed it.
        assert_eq!(
            decode_rid("a/b").unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            decode_rid("a b").unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            rid_url("dcos:secrets:default:a/b"),
            "/acs/api/v1/acls/dcos:secrets:default:a%252Fb"
        );
    }

    #[test]
    fn forbidden_is_html() {
        let r = forbidden();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html");
    }
}
