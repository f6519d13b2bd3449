//! `/auth/login` and `/auth/jwks`: tokens for passwords and service-account JWTs.

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{Answer, json_body};
use crate::app::Shared;
use crate::auth::verify_service_login;
use crate::respond::{bad_request, json_error, json_ok};
use crate::state::password_hash;

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

pub(super) async fn jwks(AxState(app): AxState<Shared>) -> Response {
    json_ok(&app.authority.jwks())
}
