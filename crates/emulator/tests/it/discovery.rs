//! What real DC/OS tools read and send around the APIs: login cookies, logout, the token in a
//! cookie, media types they compare exactly, and the cluster's discovery endpoints.

use dcos_emulator::Emulator;
use reqwest::Method;
use serde_json::json;

use crate::{Caller, start};

/// The value of cookie `name` in the `Set-Cookie` headers, with its attributes.
fn set_cookie<'a>(answer: &'a crate::Answer, name: &str) -> Option<&'a str> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn a_login_sets_both_cookies_and_the_auth_cookie_stands_for_the_header() {
    let (emulator, _) = start(Emulator::builder()).await;
    let anon = Caller::new(emulator.url());
    let a = anon
        .post_json(
            "/acs/api/v1/auth/login",
            json!({"uid": "bootstrapuser", "password": "deleteme", "exp": 1800}),
        )
        .await;
    a.expect(200, None);
    let token = a.json()["token"].as_str().unwrap().to_owned();
    let auth = set_cookie(&a, "dcos-acs-auth-cookie").expect("the auth cookie");
    assert!(
        auth.starts_with(&format!("dcos-acs-auth-cookie={token};")),
        "{auth}"
    );
    assert!(
        auth.contains("Max-Age=432000") && auth.contains("HttpOnly"),
        "{auth}"
    );
    let info = set_cookie(&a, "dcos-acs-info-cookie").expect("the info cookie");
    let value = info.split(';').next().unwrap().split_once('=').unwrap().1;
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .unwrap();
    let decoded: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
    assert_eq!(decoded["uid"], "bootstrapuser");
    assert_eq!(decoded["is_remote"], false);

    // Without an Authorization header the cookie is the token; a bad header is not excused by
    // a good cookie.
    let cookie = format!("other=1; dcos-acs-auth-cookie={token}");
    let by_cookie = anon
        .call(
            Method::GET,
            "/secrets/v1/secret/default/?list=true",
            None,
            &[("cookie", &cookie)],
        )
        .await;
    by_cookie.expect(200, None);
    let both = anon
        .call(
            Method::GET,
            "/secrets/v1/secret/default/?list=true",
            None,
            &[("cookie", &cookie), ("authorization", "token=bad")],
        )
        .await;
    both.expect(401, None);

    let out = anon.get("/acs/api/v1/auth/logout").await;
    out.expect(200, None);
    let expired = set_cookie(&out, "dcos-acs-auth-cookie").unwrap();
    assert!(expired.starts_with("dcos-acs-auth-cookie=;"), "{expired}");
    assert!(expired.contains("Expires=Thu, 01 Jan 1970"), "{expired}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_empty_password_is_a_bad_request() {
    let (emulator, _) = start(Emulator::builder()).await;
    Caller::new(emulator.url())
        .post_json(
            "/acs/api/v1/auth/login",
            json!({"uid": "bootstrapuser", "password": ""}),
        )
        .await
        .expect(400, Some("ERR_INVALID_DATA"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_service_login_jwt_without_exp_is_accepted() {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let (emulator, root) = start(Emulator::builder()).await;
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let public = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    root.put_json(
        "/acs/api/v1/users/svc",
        json!({"description": "s", "public_key": public}),
    )
    .await
    .expect(201, None);
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        private.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
    )
    .unwrap();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    let sign = |claims: serde_json::Value| jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let anon = Caller::new(emulator.url());
    let login = |jwt: String| {
        anon.post_json(
            "/acs/api/v1/auth/login",
            json!({"uid": "svc", "token": jwt}),
        )
    };
    login(sign(json!({"uid": "svc"}))).await.expect(200, None);
    // An expired one is still refused, and so is another account's.
    login(sign(json!({"uid": "svc", "exp": 1})))
        .await
        .expect(401, None);
    login(sign(json!({"uid": "other"}))).await.expect(401, None);
    emulator.shutdown().await;
}

#[tokio::test]
async fn secrets_answer_exactly_application_json_and_iam_with_its_charset() {
    let (emulator, root) = start(Emulator::builder()).await;
    root.put_json("/secrets/v1/secret/default/a", json!({"value": "x"}))
        .await
        .expect(201, None);
    for path in [
        "/secrets/v1/secret/default/a",
        "/secrets/v1/secret/default/?list=true",
        "/secrets/v1/secret/default/missing",
    ] {
        let a = root.get(path).await;
        assert_eq!(a.content_type(), "application/json", "{path}");
    }
    let a = root.get("/acs/api/v1/users").await;
    assert_eq!(a.content_type(), "application/json; charset=utf-8");
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_discovery_endpoints_answer_as_a_cluster() {
    let (emulator, root) = start(Emulator::builder().cluster_name("prod-east")).await;
    let anon = Caller::new(emulator.url());
    let head = anon.call(Method::HEAD, "/", None, &[]).await;
    head.expect(200, None);
    anon.get("/").await.expect(200, None);

    let metadata = anon.get("/metadata").await;
    metadata.expect(200, None);
    assert_eq!(metadata.json()["CLUSTER_ID"], emulator.cluster_id());
    assert_eq!(emulator.cluster_id().len(), 36, "a UUID");
    assert_eq!(
        anon.get("/metadata").await.json(),
        metadata.json(),
        "stable"
    );

    let version = anon.get("/dcos-metadata/dcos-version.json").await.json();
    assert_eq!(version["version"], "2.1.0");
    assert_eq!(version["dcos-variant"], "enterprise");
    let providers = anon.get("/acs/api/v1/auth/providers").await.json();
    assert_eq!(
        providers["dcos-users"]["authentication-type"],
        "dcos-uid-password"
    );
    assert_eq!(
        providers["dcos-services"]["client-method"],
        "dcos-servicecredential-post-receive-authtoken"
    );

    // The token check of the `dcos` CLI.
    let buildinfo = "/pkgpanda/active.buildinfo.full.json";
    let challenge = anon.call(Method::HEAD, buildinfo, None, &[]).await;
    challenge.expect(401, None);
    assert_eq!(challenge.headers["www-authenticate"], "acsjwt");
    root.call(Method::HEAD, buildinfo, None, &[])
        .await
        .expect(200, None);

    for path in [
        "/mesos/master/state-summary",
        "/system/health/v1/nodes",
        "/mesos_dns/v1/hosts/master.mesos",
    ] {
        anon.get(path).await.expect(401, None);
    }
    let summary = root.get("/mesos/master/state-summary").await.json();
    assert_eq!(summary["cluster"], "prod-east");
    let nodes = root.get("/system/health/v1/nodes").await.json();
    assert_eq!(nodes["nodes"][0]["role"], "master");
    let dns = root.get("/mesos_dns/v1/hosts/master.mesos").await.json();
    assert_eq!(dns[0]["host"], "master.mesos.");
    emulator.shutdown().await;
}

/// The security mode, where the SDK's tooling reads it: with a token only, strict unless the
/// emulator was started in another mode.
#[tokio::test]
async fn the_bootstrap_configuration_tells_the_security_mode() {
    const PATH: &str = "/dcos-metadata/bootstrap-config.json";
    let (emulator, root) = start(Emulator::builder()).await;
    Caller::new(emulator.url())
        .get(PATH)
        .await
        .expect(401, None);
    assert_eq!(root.get(PATH).await.json()["security"], "strict");
    for mode in [
        dcos_emulator::SecurityMode::Permissive,
        dcos_emulator::SecurityMode::Disabled,
    ] {
        let (_emulator, root) = start(Emulator::builder().security_mode(mode)).await;
        assert_eq!(root.get(PATH).await.json()["security"], mode.as_str());
    }
}
