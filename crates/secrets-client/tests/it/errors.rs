use dcos_secrets_client::SecretValue;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{client, p};

async fn answering(status: u16, body: &str, content_type: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body.to_owned(), content_type))
        .expect(1)
        .mount(&server)
        .await;
    server
}

async fn create_error(server: &MockServer) -> dcos_transport::Error {
    client(server)
        .secret(&p("a"))
        .create(&SecretValue::text("v"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn documented_statuses_map_to_helpers() {
    let s = answering(
        409,
        r#"{"title":"409 Conflict","description":"Secret a already exists"}"#,
        "application/json",
    )
    .await;
    let e = create_error(&s).await;
    assert!(e.is_conflict() && !e.is_not_found(), "{e}");
    assert_eq!(e.api().unwrap().description, "Secret a already exists");

    let s = answering(404, "", "text/plain").await;
    assert!(create_error(&s).await.is_not_found());

    let s = answering(403, "<html><body>403 Forbidden</body></html>", "text/html").await;
    let e = create_error(&s).await;
    assert!(e.is_forbidden() && !e.is_unauthorized(), "{e}");
    assert!(e.to_string().contains("403 Forbidden"), "{e}");

    let s = answering(
        401,
        "<html><body><h1>401 Unauthorized</h1></body></html>",
        "text/html",
    )
    .await;
    let e = create_error(&s).await;
    assert!(e.is_unauthorized() && !e.is_forbidden(), "{e}");

    let s = answering(
        400,
        r#"{"title":"400 Bad Request","description":"Unsupported Content-Type header"}"#,
        "application/json",
    )
    .await;
    let e = create_error(&s).await;
    assert_eq!(e.status().unwrap(), 400);
    assert!(
        !e.is_not_found() && !e.is_conflict() && !e.is_retryable(),
        "{e}"
    );
    assert!(
        e.to_string().contains("Unsupported Content-Type header"),
        "{e}"
    );
}
