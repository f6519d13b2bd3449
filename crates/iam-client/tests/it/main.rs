//! The IAM client against a mock server.

mod acls;
mod login;
mod props;
mod users_groups;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dcos_iam_client::{IamClient, KeyPair, KeySize};
use dcos_transport::Transport;
use secrecy::{ExposeSecret, SecretString};
use wiremock::MockServer;

pub const TOKEN_HEADER: &str = "token=tok-123";

pub fn transport(server: &MockServer) -> Transport {
    Transport::builder(server.uri())
        .backoff(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap()
}

pub fn client(server: &MockServer) -> IamClient {
    let t = Transport::builder(server.uri())
        .token(SecretString::from("tok-123"))
        .backoff(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap();
    IamClient::new(t)
}

/// One key pair for the whole test binary: generating RSA keys takes a while.
pub fn keys() -> &'static KeyPair {
    static KEYS: OnceLock<KeyPair> = OnceLock::new();
    KEYS.get_or_init(|| KeyPair::generate(KeySize::Rsa2048).unwrap())
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A cluster token for `uid` that expires at `exp`, signed with the test key.
pub fn cluster_token(uid: &str, exp: u64) -> String {
    let key =
        jsonwebtoken::EncodingKey::from_rsa_pem(keys().private_key_pem.expose_secret().as_bytes())
            .unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &serde_json::json!({"uid": uid, "exp": exp}),
        &key,
    )
    .unwrap()
}

pub fn json(body: serde_json::Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .set_body_raw(body.to_string(), "application/json; charset=utf-8")
}

pub fn iam_error(status: u16, code: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(status).set_body_raw(
        serde_json::json!({"title": format!("{status} Bad Request"), "description": "x", "code": code}).to_string(),
        "application/json; charset=utf-8",
    )
}
