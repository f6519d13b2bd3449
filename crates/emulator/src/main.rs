//! `dcos-emulator`: serves the DC/OS Secrets and IAM APIs on loopback for tests and demos.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use dcos_emulator::{DEFAULT_PASSWORD, DEFAULT_SUPERUSER, Emulator, FaultConfig, State};
use serde::{Deserialize, Serialize};

/// The `--state` file: the state, and the cluster id, so that a restart is the same cluster.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster_id: Option<String>,
    #[serde(flatten)]
    state: State,
}

/// A local stand-in for a DC/OS Enterprise cluster's Secrets and IAM APIs.
///
/// Prints its base URL as the first line on stdout, then serves until SIGINT or SIGTERM.
///
/// Example: dcos-emulator --tls --ca-out ca.pem --control-api --latency-ms 20
///
/// Exit codes: 0 after SIGINT or SIGTERM, 2 for bad usage (a control API open to the network
/// without a token among them), 1 when it cannot start or save its state.
// No `Debug`: the superuser's password and the control token must never be printed.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve HTTPS with a fresh CA (served at /ca/dcos-ca.crt).
    #[arg(long)]
    tls: bool,
    /// Write the CA certificate (PEM) to this file (with --tls).
    #[arg(long, requires = "tls")]
    ca_out: Option<PathBuf>,
    /// Load the state (and the cluster id) from this JSON file if it exists, and write it back
    /// on shutdown.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The cluster's name, as the Mesos state summary gives it.
    #[arg(long, default_value = dcos_emulator::DEFAULT_CLUSTER_NAME)]
    cluster_name: String,
    /// The security mode /dcos-metadata/bootstrap-config.json tells (the APIs answer the same
    /// in each)
    #[arg(long, value_enum, default_value_t = dcos_emulator::SecurityMode::Strict)]
    security_mode: dcos_emulator::SecurityMode,
    /// The bootstrap superuser as UID:PASSWORD.
    #[arg(long, env = "DCOS_EMULATOR_SUPERUSER", hide_env_values = true,
          default_value_t = format!("{DEFAULT_SUPERUSER}:{DEFAULT_PASSWORD}"))]
    superuser: String,
    /// Lifetime of issued tokens, in seconds (default: 5 days).
    #[arg(long, default_value_t = 432_000)]
    token_ttl: u64,
    /// Seed of the random faults, for reproducible runs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Random extra latency up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Share of requests (0 to 1) answered with an injected error status.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Statuses injected errors are drawn from.
    #[arg(long, value_delimiter = ',', default_value = "503,429,500")]
    error_statuses: Vec<u16>,
    /// Share of requests (0 to 1) whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Serve the control API under /__emulator/ (faults, counters, state: every secret value).
    /// Without --control-token it answers only connections from a loopback address that name
    /// a loopback host, and a --listen address other than loopback is refused (exit 2)
    #[arg(long)]
    control_api: bool,
    /// A token the control API requires as `Authorization: Bearer <token>` (then from any
    /// address, for an emulator in another container); compared in constant time, never
    /// logged
    #[arg(long, env = "DCOS_EMULATOR_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
    /// Seconds a client may take to send a request head (or finish its TLS handshake)
    /// before its connection is closed
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    header_timeout: u64,
    /// Seconds a client may take to send a request body, counted from the end of its head,
    /// before its connection is closed (a body sent a byte at a time cannot hold a connection)
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    body_timeout: u64,
    /// Seconds one request may take in all, from the end of its head to its answer (body and
    /// injected latency included), before its connection is closed without an answer
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    request_timeout: u64,

    /// How long a Marathon deployment (create, replace, restart) takes before its tasks launch,
    /// in milliseconds (also settable through the control API)
    #[arg(long, value_name = "MS", default_value_t = dcos_emulator::DEFAULT_DEPLOY_MS)]
    deploy_ms: u64,
    /// Connections served at once; more wait in the listen queue
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
}

fn rate(name: &str, value: f64) -> anyhow::Result<f64> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&value),
        "--{name} must be between 0 and 1, got {value}"
    );
    Ok(value)
}

/// Bad usage: a message on standard error and exit 2, as clap does.
fn usage(message: impl std::fmt::Display) -> std::process::ExitCode {
    eprintln!("error: {message}");
    std::process::ExitCode::from(2)
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let (uid, password) = args
        .superuser
        .split_once(':')
        .context("--superuser must be UID:PASSWORD")?;
    let faults = FaultConfig {
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        error_rate: rate("error-rate", args.error_rate)?,
        error_statuses: args.error_statuses.clone(),
        drop_rate: rate("drop-rate", args.drop_rate)?,
    };
    let mut builder = Emulator::builder()
        .listen(args.listen)
        .tls(args.tls)
        .superuser(uid, password)
        .token_ttl(Duration::from_secs(args.token_ttl))
        .seed(args.seed)
        .faults(faults)
        .control_api(args.control_api)
        .header_timeout(Duration::from_secs(args.header_timeout))
        .body_timeout(Duration::from_secs(args.body_timeout))
        .request_timeout(Duration::from_secs(args.request_timeout))
        .deploy_ms(args.deploy_ms)
        .max_connections(args.max_connections)
        .cluster_name(&args.cluster_name)
        .security_mode(args.security_mode);
    if let Some(token) = &args.control_token {
        if !args.control_api {
            return Ok(usage("--control-token needs --control-api"));
        }
        if token.trim().len() < 16 {
            return Ok(usage(
                "the control token must have at least 16 characters (a random one: `openssl \
                 rand -hex 16`)",
            ));
        }
        builder = builder.control_token(token);
    }
    if let Some(why) = builder.unguarded_control() {
        return Ok(usage(why));
    }
    if let Some(path) = &args.state
        && path.exists()
    {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the state file {}", path.display()))?;
        let file: StateFile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an emulator state", path.display()))?;
        builder = builder.state(file.state);
        if let Some(id) = file.cluster_id {
            builder = builder.cluster_id(id);
        }
    }
    // Listen for signals before announcing the URL, so that a caller may stop us at once.
    let signals = Signals::new()?;
    let emulator = builder.start().await?;
    if let (Some(out), Some(pem)) = (&args.ca_out, emulator.ca_pem()) {
        std::fs::write(out, pem).with_context(|| format!("cannot write {}", out.display()))?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{}", emulator.url())?;
        stdout.flush()?;
    }
    signals.wait().await;
    if let Some(path) = &args.state {
        let file = StateFile {
            cluster_id: Some(emulator.cluster_id().to_owned()),
            state: emulator.state(),
        };
        let text = serde_json::to_string_pretty(&file)?;
        write_private(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    emulator.shutdown().await;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Writes a file that holds secret values: readable by its owner only (0600, also when it
/// replaces a file that was not), written beside it and renamed into place whole.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let temp = path.with_file_name(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    // A leftover temporary file keeps its old mode: set it.
    std::fs::set_permissions(&temp, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

/// SIGINT and SIGTERM, registered up front.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
