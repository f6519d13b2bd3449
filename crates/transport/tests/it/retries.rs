use std::time::{Duration, Instant};

use dcos_transport::{DEFAULT_RETRIES, Error, Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fast;

#[tokio::test]
async fn twice_503_then_201_takes_exactly_three_requests() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/s"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/s"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let r = t.send(Request::put("/s")).await.unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn persistent_503_gives_up_and_counts_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(u64::from(1 + DEFAULT_RETRIES))
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let err = t.send(Request::get("/s")).await.unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(err.api().unwrap().attempts, 1 + DEFAULT_RETRIES);
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
}

#[tokio::test]
async fn a_400_is_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400))
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let err = t.send(Request::put("/s")).await.unwrap_err();
    assert_eq!(err.status().unwrap(), 400);
}

#[tokio::test]
async fn post_is_not_retried_on_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    t.send(Request::post("/s")).await.unwrap_err();
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let t = fast(&server.uri()).build().unwrap();
    let started = Instant::now();
    t.send(Request::get("/s")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A server whose first connection is closed as soon as the request arrives, and whose later
/// connections get `200 ok`. Returns its URL and a counter of accepted connections.
async fn resetting_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                if n == 0 {
                    drop(socket);
                } else {
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                }
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_reset_connection_on_get_is_retried() {
    let (url, count) = resetting_server().await;
    let t = fast(&url).build().unwrap();
    let r = t.send(Request::get("/s")).await.unwrap();
    assert_eq!(&r.into_bytes()[..], b"ok");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_reset_connection_on_post_is_not_retried() {
    let (url, count) = resetting_server().await;
    let t = fast(&url).build().unwrap();
    let err = t.send(Request::post("/s")).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_after_retries() {
    // Bind then drop, so the port is (almost certainly) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = fast(&format!("http://127.0.0.1:{port}")).build().unwrap();
    let err = t.send(Request::get("/s")).await.unwrap_err();
    match err {
        Error::Transport { attempts, .. } => assert_eq!(attempts, 1 + DEFAULT_RETRIES),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let t = fast(&server.uri())
        .request_timeout(Duration::from_millis(200))
        .max_retries(1)
        .build()
        .unwrap();
    let err = t.send(Request::get("/s")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { attempts: 2, .. }), "{err:?}");
}
