use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use dcos_transport::{Error, Request, StatusCode, TokenSource, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use wiremock::matchers::{body_bytes, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fast;

#[tokio::test]
async fn sends_token_user_agent_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/x/y"))
        .and(header("authorization", "token=tok"))
        .and(header("user-agent", USER_AGENT))
        .and(header("content-type", "application/json"))
        .and(body_bytes(br#"{"a":1}"#.to_vec()))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let r = t
        .send(
            Request::put("/x/y")
                .json(&serde_json::json!({"a": 1}))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn unauthenticated_requests_carry_no_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ca/dcos-ca.crt"))
        .and(header("authorization", "token=tok"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ca/dcos-ca.crt"))
        .respond_with(ResponseTemplate::new(200).set_body_string("pem"))
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let r = t
        .send(Request::get("/ca/dcos-ca.crt").unauthenticated())
        .await
        .unwrap();
    assert_eq!(&r.into_bytes()[..], b"pem");
}

#[tokio::test]
async fn html_401_keeps_status_and_excerpt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", "acsjwt")
                .set_body_raw(
                    "<html><body><h1>Unauthorized</h1>token expired</body></html>",
                    "text/html",
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let err = t.send(Request::get("/x")).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    let api = err.api().unwrap();
    assert_eq!(api.status, 401);
    assert_eq!(api.description, "Unauthorized token expired");
}

#[tokio::test]
async fn decode_errors_name_the_json_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(r#"{"array":[1,"x"]}"#, "application/json"),
        )
        .mount(&server)
        .await;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct A {
        array: Vec<String>,
    }
    let t = fast(&server.uri()).build().unwrap();
    let err = t
        .send(Request::get("/x"))
        .await
        .unwrap()
        .json::<A>()
        .unwrap_err();
    match &err {
        Error::Decode { json_path, .. } => assert_eq!(json_path, "array[0]"),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// A token source that logs in again on demand, counting logins.
#[derive(Debug)]
struct Relogin {
    logins: AtomicU32,
}

#[async_trait]
impl TokenSource for Relogin {
    async fn token(&self) -> Result<SecretString, Error> {
        Ok(SecretString::from(format!(
            "t{}",
            self.logins.load(Ordering::SeqCst)
        )))
    }
    async fn refresh(&self, rejected: &SecretString) -> Result<bool, Error> {
        assert_eq!(rejected.expose_secret(), "t0");
        self.logins.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }
}

#[tokio::test]
async fn a_401_makes_the_source_log_in_again_and_repeats_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "token=t0"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "token=t1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let source = Arc::new(Relogin {
        logins: AtomicU32::new(0),
    });
    let t = fast(&server.uri())
        .build()
        .unwrap()
        .with_token_source(source.clone());
    t.send(Request::get("/x")).await.unwrap();
    assert_eq!(source.logins.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_second_401_is_returned_not_looped() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    #[derive(Debug)]
    struct Always;
    #[async_trait]
    impl TokenSource for Always {
        async fn token(&self) -> Result<SecretString, Error> {
            Ok(SecretString::from("t"))
        }
        async fn refresh(&self, _: &SecretString) -> Result<bool, Error> {
            Ok(true)
        }
    }
    let t = fast(&server.uri())
        .build()
        .unwrap()
        .with_token_source(Arc::new(Always));
    let err = t.send(Request::get("/x")).await.unwrap_err();
    assert!(err.is_unauthorized());
}

#[tokio::test]
async fn an_answer_over_the_limit_is_refused_once_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 1025]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/fits"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 1024]))
        .mount(&server)
        .await;
    let t = fast(&server.uri())
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = t.send(Request::get("/big")).await.unwrap_err();
    assert!(
        matches!(&err, Error::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("larger than 1024 bytes"), "{err}");
    let fits = t.send(Request::get("/fits")).await.unwrap();
    assert_eq!(fits.into_bytes().len(), 1024);
}

#[tokio::test]
async fn a_web_page_where_json_belongs_is_named_as_such() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>sign in</html>"),
        )
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let answer = t.send(Request::get("/x")).await.unwrap();
    let err = answer.json::<serde_json::Value>().unwrap_err();
    assert!(err.to_string().contains("got an HTML page"), "{err}");
}
