use std::sync::Arc;

use dcos_iam_client::{
    Credentials, IamClient, KeyPair, KeySize, LoginSource, ServiceAccountSecret, Token, Uid,
};
use dcos_transport::{Request, TokenSource};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use secrecy::{ExposeSecret, SecretString};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request as Seen, ResponseTemplate};

use crate::{cluster_token, json, keys, now, transport};

#[derive(serde::Deserialize)]
struct Claims {
    uid: String,
    exp: u64,
}

fn verify(jwt: &str, public_pem: &str) -> Claims {
    let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
    jsonwebtoken::decode::<Claims>(jwt, &key, &Validation::new(Algorithm::RS256))
        .unwrap()
        .claims
}

#[tokio::test]
async fn password_login_posts_uid_and_password() {
    let server = MockServer::start().await;
    let tok = cluster_token("alice", now() + 3600);
    Mock::given(method("POST"))
        .and(path("/acs/api/v1/auth/login"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            serde_json::json!({"uid": "alice", "password": "pw-canary"}),
        ))
        .respond_with(json(serde_json::json!({ "token": tok })))
        .expect(1)
        .mount(&server)
        .await;
    let iam = IamClient::new(transport(&server));
    let creds = Credentials::password(Uid::new("alice").unwrap(), SecretString::from("pw-canary"));
    let token = iam.login(&creds).await.unwrap();
    assert_eq!(token.secret().expose_secret(), tok);
    assert_eq!(token.uid(), Some("alice"));
    assert!(token.exp().unwrap() > now());
    let shown = format!("{creds:?} {token:?}");
    assert!(
        !shown.contains("pw-canary") && !shown.contains(&tok),
        "{shown}"
    );
}

#[tokio::test]
async fn service_login_jwt_verifies_against_the_public_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/acs/api/v1/auth/login"))
        .respond_with(json(
            serde_json::json!({ "token": cluster_token("sa", now() + 60) }),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let uid = Uid::new("sa").unwrap();
    let creds = Credentials::service_account(
        uid,
        SecretString::from(keys().private_key_pem.expose_secret()),
    )
    .unwrap();
    IamClient::new(transport(&server))
        .login(&creds)
        .await
        .unwrap();

    let seen: Vec<Seen> = server.received_requests().await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["uid"], "sa");
    assert!(body.get("password").is_none());
    let jwt = body["token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let claims = verify(jwt, &keys().public_key_pem);
    assert_eq!(claims.uid, "sa");
    let ttl = claims.exp as i64 - now() as i64;
    assert!((290..=301).contains(&ttl), "exp is {ttl}s away");
}

#[tokio::test]
async fn pkcs1_private_keys_are_accepted_too() {
    let pkcs8 = keys().private_key_pem.expose_secret();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pkcs8).unwrap();
    let pkcs1 = key.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let uid = Uid::new("sa").unwrap();
    let jwt =
        dcos_iam_client::service_login_jwt(&uid, &SecretString::from(pkcs1.as_str())).unwrap();
    assert_eq!(
        verify(jwt.expose_secret(), &keys().public_key_pem).uid,
        "sa"
    );
}

#[test]
fn a_bad_private_key_is_refused_before_any_request() {
    let err =
        Credentials::service_account(Uid::new("sa").unwrap(), SecretString::from("not a key"))
            .unwrap_err();
    assert!(err.to_string().contains("not an RSA private key"), "{err}");
}

#[tokio::test]
async fn wrong_password_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", "acsjwt").set_body_raw(
            r#"{"title":"401 Unauthorized","description":"Invalid credentials.","code":"ERR_INVALID_CREDENTIALS"}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let creds = Credentials::password(Uid::new("alice").unwrap(), SecretString::from("bad"));
    let err = IamClient::new(transport(&server))
        .login(&creds)
        .await
        .unwrap_err();
    assert!(err.is_unauthorized());
    assert_eq!(err.code(), Some("ERR_INVALID_CREDENTIALS"));
}

#[tokio::test]
async fn a_401_logs_in_again_and_repeats_the_request_once() {
    let server = MockServer::start().await;
    let first = cluster_token("sa", now() + 3600);
    let second = cluster_token("sa", now() + 7200);
    Mock::given(method("POST"))
        .and(path("/acs/api/v1/auth/login"))
        .respond_with(json(serde_json::json!({ "token": first })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/acs/api/v1/auth/login"))
        .respond_with(json(serde_json::json!({ "token": second })))
        .expect(1)
        .mount(&server)
        .await;
    // The server has forgotten the first token (for example after a key rotation).
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users"))
        .and(header("authorization", format!("token={first}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_raw("<html>expired</html>", "text/html"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/users"))
        .and(header("authorization", format!("token={second}").as_str()))
        .respond_with(json(serde_json::json!({"array": []})))
        .expect(1)
        .mount(&server)
        .await;
    let creds = Credentials::service_account(
        Uid::new("sa").unwrap(),
        SecretString::from(keys().private_key_pem.expose_secret()),
    )
    .unwrap();
    let iam = IamClient::with_login(transport(&server), creds);
    assert!(iam.users().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_use() {
    let server = MockServer::start().await;
    let fresh = cluster_token("alice", now() + 3600);
    Mock::given(method("POST"))
        .and(path("/acs/api/v1/auth/login"))
        .respond_with(json(serde_json::json!({ "token": fresh })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/acs/api/v1/groups"))
        .and(header("authorization", format!("token={fresh}").as_str()))
        .respond_with(json(serde_json::json!({"array": []})))
        .expect(2)
        .mount(&server)
        .await;
    let t = transport(&server);
    let creds = Credentials::password(Uid::new("alice").unwrap(), SecretString::from("password"));
    let stale = Token::new(SecretString::from(cluster_token("alice", now() + 30)));
    let source = Arc::new(LoginSource::with_token(t.clone(), creds, stale));
    let iam = IamClient::new(t.with_token_source(source.clone()));
    iam.groups().await.unwrap();
    // The renewed token is kept: the second call does not log in again (expect(1) above).
    iam.groups().await.unwrap();
    assert_eq!(source.token().await.unwrap().expose_secret(), fresh);
}

#[tokio::test]
async fn login_failure_inside_a_source_is_unauthorized_and_names_the_account() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"title":"401 Unauthorized","description":"Invalid credentials.","code":"ERR_INVALID_CREDENTIALS"}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let creds = Credentials::password(Uid::new("alice").unwrap(), SecretString::from("wrong"));
    let iam = IamClient::with_login(transport(&server), creds);
    let err = iam
        .transport()
        .send(Request::get("/acs/api/v1/users"))
        .await
        .unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(err.to_string().contains("`alice`"), "{err}");
    assert_eq!(err.code(), Some("ERR_INVALID_CREDENTIALS"));
}

#[test]
fn generated_keys_are_pkcs8_and_spki() {
    let k = keys();
    assert!(
        k.private_key_pem
            .expose_secret()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    assert!(k.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!format!("{k:?}").contains("PRIVATE KEY"));
}

#[test]
fn generates_4096_bit_keys() {
    use rsa::traits::PublicKeyParts;
    let k = KeyPair::generate(KeySize::Rsa4096).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(k.private_key_pem.expose_secret()).unwrap();
    assert_eq!(key.size() * 8, 4096);
}

#[test]
fn service_account_login_secret_document() {
    let uid = Uid::new("dse").unwrap();
    let secret = ServiceAccountSecret::new(
        uid.clone(),
        SecretString::from("-----BEGIN PRIVATE KEY-----\nabc\n"),
    );
    let doc: serde_json::Value = serde_json::from_str(secret.to_json().expose_secret()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "scheme": "RS256",
            "uid": "dse",
            "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n",
            "login_endpoint": "https://leader.mesos/acs/api/v1/auth/login",
        })
    );
    let other = ServiceAccountSecret::new(uid, SecretString::from("k"))
        .with_login_endpoint("https://x/login");
    assert!(other.to_json().expose_secret().contains("https://x/login"));
    assert!(!format!("{secret:?}").contains("abc"));
}

/// Requirement: what a login answers is kept only if it is shaped like a token: a JWT of at
/// most `MAX_TOKEN_BYTES`. Anything else is refused without being quoted.
#[tokio::test]
async fn a_login_that_answers_no_token_keeps_nothing() {
    let huge = format!("canary-{}", "x".repeat(4 << 20));
    let cases = [
        (huge.clone(), "more than any DC/OS token"),
        ("canary-not-a-jwt".to_owned(), "not a JWT"),
        ("canary.has.<html>".to_owned(), "not a JWT"),
    ];
    for (answer, says) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/acs/api/v1/auth/login"))
            .respond_with(json(serde_json::json!({ "token": answer })))
            .mount(&server)
            .await;
        let iam = IamClient::new(transport(&server));
        let creds = Credentials::password(Uid::new("alice").unwrap(), SecretString::from("pw"));
        let error = iam.login(&creds).await.unwrap_err().to_string();
        assert!(error.contains(says), "{error}");
        assert!(
            !error.contains("canary"),
            "{}",
            &error[..error.len().min(200)]
        );
    }
}
