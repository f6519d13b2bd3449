use dcos_secrets_client::{Overwrite, PutOutcome, SecretValue};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{client, p};

const PATH: &str = "/secrets/v1/secret/default/k";

async fn existing(current: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(409))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            serde_json::json!({ "value": current }).to_string(),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn put_creates_when_absent() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(PATH))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let out = client(&server)
        .secret(&p("k"))
        .put(&SecretValue::text("v"), Overwrite::Deny)
        .await
        .unwrap();
    assert_eq!(out, PutOutcome::Created);
}

#[tokio::test]
async fn put_of_an_equal_value_is_unchanged() {
    let server = existing("v").await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let out = client(&server)
        .secret(&p("k"))
        .put(&SecretValue::text("v"), Overwrite::Allow)
        .await
        .unwrap();
    assert_eq!(out, PutOutcome::Unchanged);
}

#[tokio::test]
async fn put_of_a_different_value_updates_when_allowed() {
    let server = existing("old").await;
    Mock::given(method("PATCH"))
        .and(path(PATH))
        .and(body_json(serde_json::json!({"value": "new"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let out = client(&server)
        .secret(&p("k"))
        .put(&SecretValue::text("new"), Overwrite::Allow)
        .await
        .unwrap();
    assert_eq!(
        out,
        PutOutcome::Updated {
            previous: SecretValue::text("old")
        }
    );
}

#[tokio::test]
async fn put_of_a_different_value_is_a_conflict_when_denied() {
    let server = existing("old-canary").await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let err = client(&server)
        .secret(&p("k"))
        .put(&SecretValue::text("new-canary"), Overwrite::Deny)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("canary"), "{shown}");
}

#[tokio::test]
async fn oversize_put_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;
    let big = SecretValue::binary(vec![7; dcos_secrets_client::MAX_VALUE_BYTES + 1]);
    let err = client(&server)
        .secret(&p("k"))
        .put(&big, Overwrite::Allow)
        .await
        .unwrap_err();
    assert!(
        matches!(err, dcos_transport::Error::InvalidInput(_)),
        "{err}"
    );
}

#[tokio::test]
async fn debug_of_client_and_values_shows_no_secret() {
    let server = MockServer::start().await;
    let c = client(&server);
    let shown = format!(
        "{c:?} {:?} {:?}",
        SecretValue::text("val-canary"),
        PutOutcome::Updated {
            previous: SecretValue::text("prev-canary")
        }
    );
    for needle in ["tok-123", "val-canary", "prev-canary"] {
        assert!(!shown.contains(needle), "{needle} in {shown}");
    }
}
