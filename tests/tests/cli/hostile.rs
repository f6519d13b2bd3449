//! A server that answers badly: broken or mistyped JSON, a huge body, a web page, a truncated
//! body, a body that stops halfway. Each is a clear error with a documented exit code, in bounded
//! time, never a panic. A server that quotes the request in its error, or sends escape
//! sequences: nothing this process sent, and no sequence, reaches the output.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::{Cluster, assert_clean_failure, record};

/// How the server answers every request.
#[derive(Clone, Copy)]
enum Answer {
    /// A complete answer: status line, headers and body, then the connection closes.
    Full(&'static str, &'static str),
    /// `n` bytes of a JSON array with no `Content-Length`, then the connection closes.
    Huge(usize),
    /// Headers promising 1,000 bytes, 100 of them, then the connection closes.
    Truncated,
    /// Headers promising 1,000 bytes, 100 of them, then nothing more for a long time.
    Stalled,
}

/// Serves `answer` on loopback; returns the URL and a count of the requests seen.
async fn serve(answer: Answer) -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                // Read the request head; no request of these tests has a body.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let partial = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"array\": [{}",
                    "\"a\",".repeat(22)
                );
                let _ = match answer {
                    Answer::Full(content_type, body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        socket.write_all(head.as_bytes()).await.ok();
                        socket.write_all(body.as_bytes()).await
                    }
                    Answer::Huge(n) => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n[";
                        socket.write_all(head.as_bytes()).await.ok();
                        let chunk =
                            "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
                                .repeat(1024);
                        let mut sent = 0;
                        while sent < n {
                            if socket.write_all(chunk.as_bytes()).await.is_err() {
                                break;
                            }
                            sent += chunk.len();
                        }
                        socket.write_all(b"\"\"]").await
                    }
                    Answer::Truncated => socket.write_all(partial.as_bytes()).await,
                    Answer::Stalled => {
                        socket.write_all(partial.as_bytes()).await.ok();
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        Ok(())
                    }
                };
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, seen)
}

/// A label, the answer, the command, its exit code, what stderr says, and at most how many
/// requests it may send.
type Case = (
    &'static str,
    Answer,
    &'static [&'static str],
    i32,
    &'static str,
    u64,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_clear_errors_with_documented_codes() {
    let cases: [Case; 9] = [
        (
            "invalid JSON",
            Answer::Full("application/json", r#"{"array": ["a", "#),
            &["secret", "list"],
            1,
            "unexpected response body",
            1,
        ),
        (
            "wrong types",
            Answer::Full("application/json", r#"{"array": 42}"#),
            &["secret", "list"],
            1,
            "unexpected response body at `array`",
            1,
        ),
        (
            "wrong types in a secret",
            Answer::Full("application/json", r#"{"value": 42}"#),
            &["secret", "get", "a/b"],
            1,
            "unexpected response body at `value`",
            1,
        ),
        (
            "wrong types in IAM",
            Answer::Full("application/json", r#"{"array": [{"rid": 7}]}"#),
            &["access", "a/b"],
            1,
            "unexpected response body",
            // Its reads go out together.
            8,
        ),
        (
            "empty body",
            Answer::Full("application/json", ""),
            &["secret", "list"],
            1,
            "unexpected response body",
            1,
        ),
        (
            "HTML with status 200",
            Answer::Full(
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><body>Please sign in</body></html>",
            ),
            &["secret", "list"],
            1,
            "got an HTML page",
            1,
        ),
        (
            "a 10 MB body",
            Answer::Huge(10 << 20),
            &["secret", "list"],
            1,
            "is larger than 8388608 bytes",
            1,
        ),
        (
            "a truncated body",
            Answer::Truncated,
            &["secret", "list"],
            6,
            "could not talk to the server (4 attempts)",
            4,
        ),
        (
            "a body that stops halfway",
            Answer::Stalled,
            &["secret", "list"],
            6,
            "timed out (4 attempts)",
            4,
        ),
    ];
    let cluster = Cluster::start().await;
    let tried = cases.len() as u64;
    for (label, answer, command, code, says, requests) in cases {
        let (url, seen) = serve(answer).await;
        let mut args = vec!["--timeout", "1"];
        args.extend_from_slice(command);
        let started = Instant::now();
        let run = cluster.run_with(
            &args,
            &[
                ("DCOS_URL", &url),
                ("DCOS_TLS_CA_PATH", ""),
                ("DCOS_ACS_TOKEN", "t"),
            ],
            None,
        );
        let took = started.elapsed();
        assert_clean_failure(&run, label);
        assert_eq!(run.code, code, "{label}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{label}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{label}: printed {}", run.stdout());
        let seen = seen.load(std::sync::atomic::Ordering::SeqCst);
        assert!(seen <= requests, "{label}: {seen} requests");
        // Four attempts of one second each, and the backoff between them (0.2 + 0.4 + 0.8 s
        // at most, jittered), bound the stalled case; a hang would run to the server's 600 s.
        assert!(took < Duration::from_secs(15), "{label}: took {took:?}");
    }
    record("malformed server answers", tried, tried, tried, 0);
}

/// How the echoing server puts the request it received into its error answer.
#[derive(Clone, Copy, Debug)]
enum Echo {
    /// `{"title", "description"}`, the request in both (JSON-escaped, as JSON must).
    Json,
    /// An HTML page with the request, HTML-escaped.
    Html,
    /// The request as plain text.
    Text,
    /// A title with colour and a window-title sequence, a description with a line break that
    /// forges an `error:` line.
    Terminal,
}

/// Serves 500 answers that quote the whole request, head and body, the way of `echo`.
async fn serve_echo(echo: Echo) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The head, then as much body as it announces.
                loop {
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let seen = String::from_utf8_lossy(&request).into_owned();
                let quoted = serde_json::to_string(&seen).unwrap();
                let (content_type, body) = match echo {
                    Echo::Json => (
                        "application/json",
                        format!(r#"{{"title":{quoted},"description":"you sent: " + {quoted}}}"#)
                            .replace(r#"" + ""#, ""),
                    ),
                    Echo::Html => (
                        "text/html",
                        format!(
                            "<html><body><h1>Internal error</h1><pre>{}</pre></body></html>",
                            seen.replace('&', "&amp;")
                                .replace('<', "&lt;")
                                .replace('>', "&gt;")
                                .replace('"', "&quot;")
                        ),
                    ),
                    Echo::Text => ("text/plain", format!("bad request: {seen}")),
                    Echo::Terminal => (
                        "application/json",
                        r#"{"title":"\u001b[31mred\u001b[0m\u001b]0;owned\u0007","description":"x\r\nerror: forged by the server"}"#
                            .to_owned(),
                    ),
                };
                let head = format!(
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                socket.write_all(head.as_bytes()).await.ok();
                socket.write_all(body.as_bytes()).await.ok();
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

/// Requirement: a server that quotes the request in its error answer (JSON, HTML or text)
/// never gets a value, a password or the token onto stdout or stderr; escape sequences and
/// forged lines in its text never reach the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_values_and_terminal_sequences_never_reach_the_output() {
    const VALUE: &str = "echo-canary-value-d41c9";
    const PASSWORD: &str = "echo-canary-password-5e2b";
    const TOKEN: &str = "echo-canary-token-8f7a6b5c";
    let cluster = Cluster::start().await;
    let commands: [(&[&str], &str); 3] = [
        (&["secret", "put", "a/b", "--value-file", "-"], VALUE),
        (&["secret", "create", "a/b", "--value-file", "-"], VALUE),
        (
            &[
                "login",
                "--username",
                "alice",
                "--password-stdin",
                "--print-token",
            ],
            PASSWORD,
        ),
    ];
    let mut runs = 0;
    for echo in [Echo::Json, Echo::Html, Echo::Text, Echo::Terminal] {
        let url = serve_echo(echo).await;
        for (args, stdin) in commands {
            let run = cluster.run_with(
                args,
                &[
                    ("DCOS_URL", &url),
                    ("DCOS_TLS_CA_PATH", ""),
                    ("DCOS_ACS_TOKEN", TOKEN),
                ],
                Some(stdin.as_bytes()),
            );
            let label = format!("{echo:?} echo of {args:?}");
            assert_clean_failure(&run, &label);
            assert!(run.stderr.contains("500"), "{label}: {}", run.stderr);
            for canary in [VALUE, PASSWORD, TOKEN] {
                assert!(!run.stderr.contains(canary), "{label}: {}", run.stderr);
                assert!(!run.stdout().contains(canary), "{label}: {}", run.stdout());
            }
            assert!(!run.stderr.contains('\u{1b}'), "{label}: {:?}", run.stderr);
            assert!(!run.stderr.contains('\r'), "{label}: {:?}", run.stderr);
            assert_eq!(
                run.stderr
                    .lines()
                    .filter(|l| l.starts_with("error:"))
                    .count(),
                1,
                "{label}: {}",
                run.stderr
            );
            runs += 1;
        }
    }
    record(
        "a server quoting the request (JSON, HTML, text) and sending escape sequences: no value, password or token printed, no sequence or forged line",
        runs,
        runs,
        runs,
        0,
    );
}
