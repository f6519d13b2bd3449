use dcos_secrets_client::{SealStatus, SecretValue};
use wiremock::matchers::{body_bytes, body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{TOKEN_HEADER, client, p};

#[tokio::test]
async fn create_text_is_a_json_put() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/secrets/v1/secret/default/team/aws_key"))
        .and(header("authorization", TOKEN_HEADER))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"value": "v\n"})))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .secret(&p("/team/aws_key"))
        .create(&SecretValue::text("v\n"))
        .await
        .unwrap();
}

#[tokio::test]
async fn create_binary_is_an_octet_stream_put() {
    let server = MockServer::start().await;
    let bytes = vec![0u8, 1, 0x85, 0xff, b'\n'];
    Mock::given(method("PUT"))
        .and(path("/secrets/v1/secret/default/bin"))
        .and(header("authorization", TOKEN_HEADER))
        .and(header("content-type", "application/octet-stream"))
        .and(body_bytes(bytes.clone()))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .secret(&p("bin"))
        .create(&SecretValue::binary(bytes))
        .await
        .unwrap();
}

#[tokio::test]
async fn update_is_a_patch() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/secrets/v1/secret/default/a/b"))
        .and(header("authorization", TOKEN_HEADER))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"value": "new"})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .secret(&p("a/b"))
        .update(&SecretValue::text("new"))
        .await
        .unwrap();
}

#[tokio::test]
async fn get_reads_text_and_binary_by_media_type() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/secret/default/t"))
        .and(header("authorization", TOKEN_HEADER))
        .and(header("accept", "*/*"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"value":"text\n"}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/secret/default/b"))
        .and(header("accept", "*/*"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![b'v', 0x85, 0xff, b'3'], "application/octet-stream"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(
        c.secret(&p("t")).get().await.unwrap(),
        SecretValue::text("text\n")
    );
    assert_eq!(
        c.secret(&p("b")).get().await.unwrap(),
        SecretValue::binary(vec![b'v', 0x85, 0xff, b'3'])
    );
}

#[tokio::test]
async fn binary_round_trip_through_a_recording_server() {
    // Whatever bytes we send come back identical: the mock answers with the body it received.
    let server = MockServer::start().await;
    let bytes: Vec<u8> = (0..=255u8).chain(b"\r\n\0".iter().copied()).collect();
    Mock::given(method("PUT"))
        .and(path("/secrets/v1/secret/default/rt"))
        .and(body_bytes(bytes.clone()))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/secret/default/rt"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(bytes.clone(), "application/octet-stream"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let value = SecretValue::binary(bytes);
    c.secret(&p("rt")).create(&value).await.unwrap();
    assert_eq!(c.secret(&p("rt")).get().await.unwrap(), value);
}

#[tokio::test]
async fn get_opt_is_none_on_404() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            r#"{"title":"404 Not Found","description":"Secret x not found"}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    assert!(
        client(&server)
            .secret(&p("x"))
            .get_opt()
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn get_rejects_a_wrong_shape_without_quoting_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"value":12345678}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).secret(&p("x")).get().await.unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("`value`"), "{shown}");
    assert!(!shown.contains("12345678"), "{shown}");
}

#[tokio::test]
async fn delete_is_a_delete() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/secrets/v1/secret/default/a/b"))
        .and(header("authorization", TOKEN_HEADER))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).secret(&p("a/b")).delete().await.unwrap();
}

#[tokio::test]
async fn list_returns_names_exactly_as_answered() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/secret/default/"))
        .and(query_param("list", "true"))
        .and(header("authorization", TOKEN_HEADER))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"array":["folder/key2","folder/sub/key4","key1"]}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/secret/default/folder"))
        .and(query_param("list", "true"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"array":["key2","sub/key4"]}"#, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(
        c.list(None).await.unwrap(),
        ["folder/key2", "folder/sub/key4", "key1"]
    );
    assert_eq!(
        c.list(Some(&p("folder"))).await.unwrap(),
        ["key2", "sub/key4"]
    );
}

#[tokio::test]
async fn stores_seal_status_and_ping() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/store"))
        .and(header("authorization", TOKEN_HEADER))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"array":[{"name":"default","driver":"vault","description":"DC/OS Default Secret Store Backend","initialized":true,"sealed":false,"addr":"http://127.0.0.1:8200"}]}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/seal-status/default"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"sealed":false,"threshold":1,"shares":1,"progress":0}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/secrets/v1/ping"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pong"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let stores = c.stores().await.unwrap();
    assert_eq!(stores.len(), 1);
    assert_eq!(stores[0].name, "default");
    assert!(stores[0].initialized && !stores[0].sealed);
    assert_eq!(
        c.seal_status().await.unwrap(),
        SealStatus {
            sealed: false,
            threshold: 1,
            shares: 1,
            progress: 0
        }
    );
    c.ping().await.unwrap();
}
