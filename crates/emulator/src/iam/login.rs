//! `/auth/login`, `/auth/logout`, `/auth/providers` and `/auth/jwks`: tokens for passwords
//! and service-account JWTs, in the body and in the cookies browsers and some tools read.

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, json_body};
use crate::app::{AUTH_COOKIE, Shared};
use crate::auth::verify_service_login;
use crate::respond::{bad_request, json_error, json_ok};
use crate::state::password_hash;

/// The cookie with the account's uid and description, for the UI.
const INFO_COOKIE: &str = "dcos-acs-info-cookie";

/// The login body. A legacy `exp` (the wanted token lifetime, which some clients send) is
/// ignored: tokens last the emulator's `--token-ttl`.
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

pub(super) async fn login(
    AxState(app): AxState<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
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
    if body.password.as_deref() == Some("") || body.token.as_deref() == Some("") {
        return Err(bad_request(
            "ERR_INVALID_DATA",
            "`password` and `token` must not be empty strings",
        ));
    }
    let (ok, description) = {
        let state = app.read();
        let account = state.accounts.get(&uid);
        let ok = match (account, &body.password, &body.token) {
            (Some(account), Some(password), None) => {
                account.password_sha256.as_deref() == Some(&password_hash(&uid, password))
            }
            (Some(account), None, Some(jwt)) => account
                .public_key
                .as_deref()
                .is_some_and(|key| verify_service_login(jwt, &uid, key)),
            _ => false,
        };
        (
            ok,
            account.map(|a| a.description.clone()).unwrap_or_default(),
        )
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
    let ttl = app.authority.ttl().as_secs();
    let info = json!({"uid": uid, "description": description, "is_remote": false});
    let info = base64::engine::general_purpose::STANDARD.encode(info.to_string());
    let mut response = json_ok(&json!({ "token": token }));
    for cookie in [
        format!("{AUTH_COOKIE}={token}; Max-Age={ttl}; Path=/; HttpOnly"),
        format!("{INFO_COOKIE}={info}; Max-Age={ttl}; Path=/"),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// Logs the browser out: no token needed, the auth cookie expires.
pub(super) async fn logout() -> Response {
    let mut response = json_ok(&json!({}));
    let expired =
        format!("{AUTH_COOKIE}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The login providers, as the `dcos` CLI reads them before it logs in.
pub(super) async fn providers(AxState(app): AxState<Shared>) -> Response {
    let mut all = json!({
        "dcos-users": {
            "authentication-type": "dcos-uid-password",
            "client-method": "dcos-usercredential-post-receive-authtoken",
            "config": {"start_flow_url": "/acs/api/v1/auth/login"},
            "description": "Default DC/OS login provider",
        },
        "dcos-services": {
            "authentication-type": "dcos-uid-servicekey",
            "client-method": "dcos-servicecredential-post-receive-authtoken",
            "config": {"start_flow_url": "/acs/api/v1/auth/login"},
            "description": "Default DC/OS login provider",
        },
    });
    // The external providers, with the authentication types the `dcos` CLI knows them by.
    for (id, kind) in &app.read().providers {
        let (method, flow) = match kind.as_str() {
            "ldap" => (
                "dcos-uid-password-ldap",
                "dcos-usercredential-post-receive-authtoken",
            ),
            "oidc" => (
                "oidc-authorization-code-flow",
                "browser-prompt-oidcidtoken-get-authtoken",
            ),
            _ => ("saml-sp-initiated", "browser-prompt-authtoken"),
        };
        all[id] = json!({
            "authentication-type": method,
            "client-method": flow,
            "config": {"start_flow_url": format!("/acs/api/v1/auth/{kind}/providers/{id}")},
            "description": format!("{kind} provider {id}"),
        });
    }
    json_ok(&all)
}

pub(super) async fn jwks(AxState(app): AxState<Shared>) -> Response {
    json_ok(&app.authority.jwks())
}
