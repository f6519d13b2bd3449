//! `/acs/api/v1`: the IAM service (Bouncer), one module per resource; the forms and answers
//! they share are here.

mod acls;
mod groups;
mod login;
mod users;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::Shared;
use crate::respond::{bad_request, json_headers, media_type, plain_error};
use crate::state::{Account, Group};

/// A handler's answer: the error arm is an answer too.
type Answer = Result<Response, Response>;

const BASE: &str = "/acs/api/v1";
const ACTIONS: [&str; 5] = ["create", "read", "update", "delete", "full"];

/// The routes of the IAM service.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/acs/api/v1/auth/login", post(login::login))
        .route("/acs/api/v1/auth/jwks", get(login::jwks))
        .route("/acs/api/v1/auth/logout", get(login::logout))
        .route("/acs/api/v1/auth/providers", get(login::providers))
        .route("/acs/api/v1/users", get(users::list_users))
        .route(
            "/acs/api/v1/users/{uid}",
            get(users::get_user)
                .put(users::put_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route(
            "/acs/api/v1/users/{uid}/permissions",
            get(users::user_permissions),
        )
        .route("/acs/api/v1/users/{uid}/groups", get(users::user_groups))
        .route("/acs/api/v1/groups", get(groups::list_groups))
        .route(
            "/acs/api/v1/groups/{gid}",
            get(groups::get_group)
                .put(groups::put_group)
                .patch(groups::patch_group)
                .delete(groups::delete_group),
        )
        .route("/acs/api/v1/groups/{gid}/users", get(groups::group_members))
        .route(
            "/acs/api/v1/groups/{gid}/users/{uid}",
            axum::routing::put(groups::add_member).delete(groups::remove_member),
        )
        .route(
            "/acs/api/v1/groups/{gid}/permissions",
            get(groups::group_permissions),
        )
        .route("/acs/api/v1/acls", get(acls::list_acls))
        .route(
            "/acs/api/v1/acls/{rid}",
            get(acls::get_acl)
                .put(acls::put_acl)
                .patch(acls::patch_acl)
                .delete(acls::delete_acl),
        )
        .route(
            "/acs/api/v1/acls/{rid}/permissions",
            get(acls::acl_permissions),
        )
        .route(
            "/acs/api/v1/acls/{rid}/users/{uid}/{action}",
            get(acls::user_allowed)
                .put(acls::grant_user)
                .delete(acls::revoke_user),
        )
        .route(
            "/acs/api/v1/acls/{rid}/groups/{gid}/{action}",
            get(acls::group_allowed)
                .put(acls::grant_group)
                .delete(acls::revoke_group),
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
        && id != "."
        && id != ".."
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
    let (kind, id) = match &account.provider {
        Some((kind, id)) => (kind.as_str(), id.as_str()),
        None => ("internal", ""),
    };
    let mut doc = json!({
        "uid": uid,
        "description": account.description,
        "url": format!("{BASE}/users/{uid}"),
        "is_remote": account.provider.is_some(),
        "is_service": account.is_service(),
        "provider_type": kind,
        "provider_id": id,
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

/// A `{"description"}` body.
#[derive(Deserialize)]
struct DescriptionBody {
    description: Option<String>,
}

fn query_is_service(query: &HashMap<String, String>) -> bool {
    query.get("type").is_some_and(|t| t == "service")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::respond::forbidden;

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

    /// Requirement (issue 27): `.` and `..` are no ids (they are URL dot segments).
    #[test]
    fn dot_segments_are_no_ids() {
        for id in [".", "..", "", "a/b"] {
            assert!(!valid_id(id), "{id}");
        }
        for id in ["a.b", "a..b", ".a", "dse@svc"] {
            assert!(valid_id(id), "{id}");
        }
    }

    #[test]
    fn forbidden_is_html() {
        let r = forbidden();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html");
    }
}
