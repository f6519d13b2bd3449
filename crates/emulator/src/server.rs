//! The accept loop: plain TCP or TLS, HTTP/1.1, and connections dropped on request. A
//! connection must finish its TLS handshake and each request head within the header timeout,
//! each request body within the body timeout, and the whole of each request (body and answer)
//! within the request timeout; at most `max_connections` are served at once (more wait in the
//! listen queue), so that half-sent or slowly sent requests cannot starve real ones of file
//! descriptors. Every request carries its connection's [`Peer`] address.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::respond::DropConnection;

/// Why a connection was closed without an answer: a dropped-connection fault, or a request
/// (or its body) that took longer than its limits.
#[derive(Debug)]
struct Closed(&'static str);

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Closed {}

/// The connection is closed without an answer.
const DROPPED: Closed = Closed("connection closed without an answer (a fault, or a limit passed)");

/// The TCP peer of the connection a request came on (the address the client connected from,
/// which it cannot choose the way it chooses a `Host` header).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// How long a client may take to send a request head (and to finish a TLS handshake) and a
/// request body, how long a whole request may take, and how many connections are served at
/// once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

/// A request body that must arrive whole by a deadline; past it, reading fails and `expired`
/// is set, so that the connection is closed rather than kept for the next request.
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired.store(true, Ordering::SeqCst);
                Poll::Ready(Some(Err(Box::new(Closed(
                    "the request body was not sent within the body timeout",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    loop {
        // A free slot first: past the cap, new connections wait in the listen queue.
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => s,
            _ = shutdown.changed() => return,
        };
        let Ok(slot) = slot else { return };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(stream));
                    if let Ok(Ok(tls)) = handshake.await {
                        connection(tls, peer, router, limits, shutdown).await;
                    }
                }
                None => connection(stream, peer, router, limits, shutdown).await,
            }
        });
    }
}

async fn connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let expired = Arc::new(AtomicBool::new(false));
            let mut request = request.map(|inner| {
                Body::new(TimedBody {
                    inner,
                    deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
                    expired: Arc::clone(&expired),
                })
            });
            request.extensions_mut().insert(Peer(peer));
            // Past the request timeout the answer is abandoned and the connection closed.
            let response =
                match tokio::time::timeout(limits.request_timeout, router.oneshot(request)).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(never)) => match never {},
                    Err(_) => return Err(DROPPED),
                };
            if response.extensions().get::<DropConnection>().is_some()
                || expired.load(Ordering::SeqCst)
            {
                return Err(DROPPED);
            }
            Ok::<_, Closed>(response)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {}
    }
}
