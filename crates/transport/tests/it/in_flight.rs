//! `max_in_flight`: a bound on the requests a transport has open at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dcos_transport::Request;
use futures::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::fast;

/// A server that holds each request for a while and records the most it held at once.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (open, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = most.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (open, most) = (open.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                open.fetch_sub(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (url, most)
}

async fn most_at_once(limit: Option<usize>) -> usize {
    let (url, most) = counting_server().await;
    let mut builder = fast(&url);
    if let Some(n) = limit {
        builder = builder.max_in_flight(n);
    }
    let t = builder.build().unwrap();
    let answers = join_all((0..12).map(|i| t.send(Request::get(format!("/r{i}"))))).await;
    assert!(answers.iter().all(Result::is_ok));
    most.load(Ordering::SeqCst)
}

#[tokio::test]
async fn at_most_the_limit_is_in_flight_and_clones_share_it() {
    assert_eq!(most_at_once(Some(3)).await, 3);
    assert!(
        most_at_once(None).await > 3,
        "without a limit all go at once"
    );

    let (url, most) = counting_server().await;
    let t = fast(&url).max_in_flight(2).build().unwrap();
    let other = t.clone();
    let (a, b) = tokio::join!(
        join_all((0..4).map(|i| t.send(Request::get(format!("/a{i}"))))),
        join_all((0..4).map(|i| other.send(Request::get(format!("/b{i}"))))),
    );
    assert!(a.iter().chain(&b).all(Result::is_ok));
    assert_eq!(most.load(Ordering::SeqCst), 2);
}
