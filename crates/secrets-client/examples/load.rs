//! Reads one secret as fast as the client can, from many tasks at once, and prints the
//! requests per second: the client's throughput, for `scripts/bench.sh`.
//!
//! ```text
//! DCOS_URL=https://127.0.0.1:PORT DCOS_TLS_CA_PATH=ca.pem DCOS_ACS_TOKEN=... \
//!   cargo run --release -p dcos-secrets-client --example load -- bench/key 32 5
//! ```
//! Arguments: the secret's path, the requests in flight (default 32), seconds (default 5).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dcos_secrets_client::{SecretPath, SecretsClient};
use dcos_transport::Transport;
use secrecy::SecretString;

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = SecretPath::new(args.first().ok_or("usage: load PATH [TASKS] [SECONDS]")?)
        .map_err(|e| e.to_string())?;
    let tasks: usize = args
        .get(1)
        .map_or(Ok(32), |a| a.parse())
        .map_err(|_| "TASKS")?;
    let seconds: u64 = args
        .get(2)
        .map_or(Ok(5), |a| a.parse())
        .map_err(|_| "SECONDS")?;
    let ca = std::fs::read(env("DCOS_TLS_CA_PATH")?).map_err(|e| e.to_string())?;
    let transport = Transport::builder(env("DCOS_URL")?)
        .pin_ca_pem(&ca)
        .token(SecretString::from(env("DCOS_ACS_TOKEN")?))
        .build()
        .map_err(|e| e.to_string())?;
    let client = Arc::new(SecretsClient::new(transport));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    runtime.block_on(async {
        let workers: Vec<_> = (0..tasks)
            .map(|_| {
                let (client, path) = (client.clone(), path.clone());
                let (done, failed) = (done.clone(), failed.clone());
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        match client.secret(&path).get().await {
                            Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let done = done.load(Ordering::Relaxed);
    println!(
        "{:.0} requests/s ({done} answered, {} failed, {elapsed:.1} s, {tasks} in flight)",
        done as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}
