use std::time::Duration;

use dcos_emulator::Emulator;
use serde_json::json;

use crate::{Caller, start};

#[tokio::test]
async fn missing_malformed_and_expired_tokens_get_the_proxy_401() {
    let (emulator, _) = start(Emulator::builder().token_ttl(Duration::from_secs(2))).await;
    let anon = Caller::new(emulator.url());
    for caller in [
        anon.clone(),
        anon.with_token("garbage"),
        anon.with_token(""),
    ] {
        for path in [
            "/secrets/v1/secret/default/x",
            "/acs/api/v1/users",
            "/secrets/v1/ping",
        ] {
            let a = caller.get(path).await;
            a.expect(401, None);
            assert_eq!(a.headers["www-authenticate"], "acsjwt");
            assert_eq!(a.content_type(), "text/html");
            assert!(a.text().contains("<html>"));
        }
    }
    // A header without the `token=` form is refused too.
    let a = anon
        .call(
            reqwest::Method::GET,
            "/acs/api/v1/users",
            None,
            &[("authorization", "foo")],
        )
        .await;
    a.expect(401, None);
    // A token of its own, fresh: the one from the start may have expired on a loaded machine.
    let root = anon.login("bootstrapuser", "deleteme").await;
    root.get("/acs/api/v1/users").await.expect(200, None);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    root.get("/acs/api/v1/users").await.expect(401, None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_token_from_another_emulator_is_refused() {
    let (a, _) = start(Emulator::builder()).await;
    let (b, root_b) = start(Emulator::builder()).await;
    let foreign = Caller::new(a.url()).with_token(root_b.token.as_deref().unwrap());
    foreign.get("/acs/api/v1/users").await.expect(401, None);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn the_superuser_comes_from_the_builder() {
    let emulator = Emulator::builder()
        .superuser("admin", "s3cret!")
        .start()
        .await
        .unwrap();
    let anon = Caller::new(emulator.url());
    let admin = anon.login("admin", "s3cret!").await;
    admin
        .get("/acs/api/v1/groups/superusers/users")
        .await
        .expect(200, None);
    anon.post_json(
        "/acs/api/v1/auth/login",
        json!({"uid": "bootstrapuser", "password": "deleteme"}),
    )
    .await
    .expect(401, None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn tls_serves_the_ca_and_a_pinned_client_connects() {
    let emulator = Emulator::builder().tls(true).start().await.unwrap();
    assert!(emulator.url().starts_with("https://127.0.0.1:"));
    let pem = emulator.ca_pem().unwrap().to_owned();
    let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
    let pinned = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let resp = pinned
        .get(format!("{}/ca/dcos-ca.crt", emulator.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-x509-ca-cert");
    assert_eq!(resp.text().await.unwrap(), pem);
    // Without the CA the certificate is refused.
    let plain = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(
        plain
            .get(format!("{}/ca/dcos-ca.crt", emulator.url()))
            .send()
            .await
            .is_err()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn plain_http_serves_a_ca_too() {
    let (emulator, _) = start(Emulator::builder()).await;
    let a = Caller::new(emulator.url()).get("/ca/dcos-ca.crt").await;
    a.expect(200, None);
    assert_eq!(a.content_type(), "application/x-x509-ca-cert");
    assert!(a.text().starts_with("-----BEGIN CERTIFICATE-----"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_malformed_login_body_is_not_echoed_back() {
    let (emulator, _) = start(Emulator::builder()).await;
    let anon = Caller::new(emulator.url());
    let a = anon
        .post_json(
            "/acs/api/v1/auth/login",
            json!({"uid": "bootstrapuser", "password": 987654321}),
        )
        .await;
    a.expect(400, None);
    assert!(!a.text().contains("987654321"), "{}", a.text());
    emulator.shutdown().await;
}
