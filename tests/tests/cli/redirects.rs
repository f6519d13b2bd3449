//! A cluster that answers with a redirect (301, 302, 307, 308; to another path of the same
//! host, to another host, from https down to http): nothing is followed, so no body, password
//! or token reaches the target, and the command fails naming the target's origin.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dcos_emulator::{FaultRule, Phase};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::harness::{Cluster, record};

const VALUE: &str = "redirect-canary-value-7f3a";
const PASSWORD: &str = "redirect-canary-password-91c2";

/// A listener that counts the connections made to it and the bytes they send.
struct Sink {
    origin: String,
    connections: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl Sink {
    async fn start(scheme: &str, host: &str) -> Self {
        let listener = TcpListener::bind((host, 0)).await.unwrap();
        let origin = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (connections, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (count, total) = (connections.clone(), bytes.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let total = total.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = socket.read(&mut buf).await {
                        total.fetch_add(n as u64, Ordering::SeqCst);
                    }
                });
            }
        });
        Self {
            origin,
            connections,
            bytes,
        }
    }

    fn untouched(&self) -> bool {
        self.connections.load(Ordering::SeqCst) == 0 && self.bytes.load(Ordering::SeqCst) == 0
    }
}

/// What is redirected: the command's arguments, its standard input, the path its first request
/// goes to, and a route of the cluster it never calls (where a same-host redirect points).
struct Case {
    args: &'static [&'static str],
    stdin: &'static str,
    prefix: &'static str,
    unused_route: (&'static str, &'static str),
}

const CASES: [Case; 2] = [
    Case {
        args: &["secret", "put", "redirected/x", "--value-file", "-"],
        stdin: VALUE,
        prefix: "/secrets/v1/secret/default/redirected",
        unused_route: ("/acs/api/v1/users/moved", "/acs/api/v1/users/{uid}"),
    },
    Case {
        args: &[
            "login",
            "--username",
            "bootstrapuser",
            "--password-stdin",
            "--print-token",
        ],
        stdin: PASSWORD,
        prefix: "/acs/api/v1/auth/login",
        unused_route: (
            "/secrets/v1/secret/default/moved",
            "/secrets/v1/secret/default/{path}",
        ),
    },
];

/// Requirement: a redirect is never followed, whatever its status and target; the target
/// receives nothing; the command fails with a message naming the target's origin and leaks
/// nothing it would have sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_refused_and_its_target_receives_nothing() {
    let cluster = Cluster::start().await;
    let other_host = Sink::start("https", "127.0.0.2").await;
    let plain_http = Sink::start("http", "127.0.0.1").await;
    let mut runs = 0;
    for case in &CASES {
        for status in [301, 302, 307, 308] {
            let same_host = format!("{}{}", cluster.url(), case.unused_route.0);
            let targets = [
                (same_host.as_str(), cluster.url()),
                (other_host.origin.as_str(), other_host.origin.as_str()),
                (plain_http.origin.as_str(), plain_http.origin.as_str()),
            ];
            for (location, origin) in targets {
                let location = match location.starts_with(cluster.url()) {
                    // Relative, as a server would send it.
                    true => case.unused_route.0.to_owned(),
                    false => format!("{location}{}", case.prefix),
                };
                cluster.emulator.clear_faults();
                cluster.emulator.add_fault(FaultRule {
                    method: None,
                    path_prefix: case.prefix.into(),
                    count: 100,
                    status,
                    drop: false,
                    phase: Phase::Before,
                    skip: 0,
                    location: Some(location.clone()),
                    delay_ms: 0,
                });
                let run = cluster.admin_stdin(case.args, case.stdin.as_bytes());
                let label = format!("{} answered {status} to {location}", case.args[0]);
                assert_eq!(run.code, 1, "{label}: {}", run.stderr);
                assert!(
                    run.stderr.contains(&format!("{status}"))
                        && run.stderr.contains(&format!("redirects to {origin}")),
                    "{label}: {}",
                    run.stderr
                );
                assert!(
                    run.stderr.contains("never redirect"),
                    "{label}: {}",
                    run.stderr
                );
                // No path or query of the target is repeated: only its origin.
                assert!(!run.stderr.contains("/moved"), "{label}: {}", run.stderr);
                for canary in [VALUE, PASSWORD, &cluster.admin_token] {
                    assert!(!run.stderr.contains(canary), "{label}: {}", run.stderr);
                    assert!(!run.stdout().contains(canary), "{label}");
                }
                assert!(
                    other_host.untouched(),
                    "{label}: the other host was contacted"
                );
                assert!(plain_http.untouched(), "{label}: plain http was contacted");
                let counters = cluster.emulator.counters().requests;
                assert!(
                    !counters
                        .keys()
                        .any(|route| route.ends_with(case.unused_route.1)),
                    "{label}: the redirect was followed on the same host: {counters:?}"
                );
                runs += 1;
            }
        }
    }
    assert!(cluster.emulator.state().secrets.is_empty());
    record(
        "redirects (301, 302, 307, 308; same host, other host, https to http) on secret put and login: none followed, nothing sent on",
        runs,
        runs,
        runs,
        0,
    );
}
