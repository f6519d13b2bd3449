//! `dcos-emulator`: a local stand-in for a DC/OS Enterprise cluster's Secrets and IAM APIs
//! (and enough of Marathon to know which apps use which secrets).
//!
//! It serves the wire contract (status codes, headers, bodies, the `%252F` resource-id
//! encoding, IAM's 400-for-unknown answers) with state in memory, checks tokens and
//! permissions like the real cluster, and injects faults on demand: latency, error statuses and
//! dropped connections, at random (seeded) or scripted.
//!
//! # Quick start
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let emulator = dcos_emulator::Emulator::builder().tls(true).start().await?;
//! println!("cluster at {}", emulator.url());
//! let ca_pem = emulator.ca_pem().expect("TLS was asked for");
//! // ... point a client at emulator.url(), pinning ca_pem, and log in as
//! // bootstrapuser / deleteme ...
//! let state = emulator.state(); // every secret, account, group and ACL
//! # let _ = (ca_pem, state);
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The binary `dcos-emulator` wraps the same builder; `dcos-emulator --help` lists its options.

// Handlers return the error answer itself (`Result<Response, Response>`), the usual axum
// pattern; boxing every early return would only add noise.
#![allow(clippy::result_large_err)]

mod app;
mod auth;
mod control;
mod discovery;
mod faults;
mod iam;
mod marathon;
mod respond;
mod router;
mod secrets;
mod server;
pub mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use app::SecurityMode;
pub use faults::{Counters, FaultConfig, FaultRule, Phase};
pub use marathon::{DEFAULT_DEPLOY_MS, Task};
pub use state::State;

/// The default bootstrap superuser, as on DC/OS development clusters.
pub const DEFAULT_SUPERUSER: &str = "bootstrapuser";
/// The default bootstrap superuser's password.
pub const DEFAULT_PASSWORD: &str = "deleteme";
/// The cluster name by default.
pub const DEFAULT_CLUSTER_NAME: &str = "dcos-emulator";
/// How long issued tokens last by default: 5 days, as on DC/OS.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(5 * 24 * 3600);

/// A random (version 4) UUID: a cluster id, a Marathon deployment or task id.
pub(crate) fn new_uuid() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    tls: bool,
    superuser: (String, String),
    token_ttl: Duration,
    seed: u64,
    faults: FaultConfig,
    control_api: bool,
    state: Option<State>,
    cluster_id: Option<String>,
    cluster_name: String,
    security: app::SecurityMode,
    limits: server::Limits,
    control_token: Option<control::ControlToken>,
    deploy_ms: u64,
}

/// How long a client may take to send a request head, by default.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request body once its head is in, by default.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take from the end of its head to its answer, by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How many connections are served at once, by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            superuser: (DEFAULT_SUPERUSER.to_owned(), DEFAULT_PASSWORD.to_owned()),
            token_ttl: DEFAULT_TOKEN_TTL,
            seed: 0,
            faults: FaultConfig::default(),
            control_api: false,
            state: None,
            cluster_id: None,
            cluster_name: DEFAULT_CLUSTER_NAME.to_owned(),
            security: app::SecurityMode::default(),
            limits: server::Limits {
                header_timeout: DEFAULT_HEADER_TIMEOUT,
                body_timeout: DEFAULT_BODY_TIMEOUT,
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
            },
            control_token: None,
            deploy_ms: marathon::DEFAULT_DEPLOY_MS,
        }
    }
}

impl EmulatorBuilder {
    /// The address to listen on; port 0 picks a free one. Default `127.0.0.1:0`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serves HTTPS with a freshly made CA, which `/ca/dcos-ca.crt` serves.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// The bootstrap superuser (member of `superusers`). Ignored when a state is given.
    pub fn superuser(mut self, uid: impl Into<String>, password: impl Into<String>) -> Self {
        self.superuser = (uid.into(), password.into());
        self
    }

    /// How long issued tokens last.
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// The seed of the random faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Random faults applied to every API request.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Serves the control API under `/__emulator/`.
    pub fn control_api(mut self, on: bool) -> Self {
        self.control_api = on;
        self
    }

    /// How long a client may take to finish its TLS handshake and to send each request head
    /// before its connection is closed (default 10 s).
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_timeout = timeout;
        self
    }

    /// How long a client may take to send a request body once its head is in (default 10 s);
    /// past it the connection is closed.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_timeout = timeout;
        self
    }

    /// How long one request may take from the end of its head until it is answered, its body
    /// and any injected latency included (default 30 s); past it the connection is closed.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.limits.request_timeout = timeout;
        self
    }

    /// How many connections are served at once (default 512); more wait in the listen queue.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// A token the control API requires (`Authorization: Bearer <token>`). Without one, the
    /// control API answers only requests that come from a loopback address and name a loopback
    /// `Host` (so that a web page cannot reach it through DNS rebinding either), and
    /// [`EmulatorBuilder::start`] refuses a control API on an address other than loopback.
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(control::ControlToken::new(&token.into()));
        self
    }

    /// Starts from this state instead of a fresh cluster.
    pub fn state(mut self, state: State) -> Self {
        self.state = Some(state);
        self
    }

    /// The cluster id `/metadata` answers (a new random UUID by default).
    pub fn cluster_id(mut self, id: impl Into<String>) -> Self {
        self.cluster_id = Some(id.into());
        self
    }

    /// The cluster name the Mesos state summary answers.
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = name.into();
        self
    }

    /// The security mode `/dcos-metadata/bootstrap-config.json` tells (default strict).
    pub fn security_mode(mut self, mode: SecurityMode) -> Self {
        self.security = mode;
        self
    }

    /// How long a Marathon deployment takes before its tasks launch (default 100 ms).
    pub fn deploy_ms(mut self, ms: u64) -> Self {
        self.deploy_ms = ms;
        self
    }

    /// Why these settings would open the control API to the network, if they would: it is on,
    /// without a token, and the address listened on is not loopback.
    pub fn unguarded_control(&self) -> Option<String> {
        (self.control_api && self.control_token.is_none() && !self.listen.ip().is_loopback()).then(
            || {
                format!(
                    "the control API reads and replaces every secret; on {} (not loopback) it \
                     needs --control-token (or DCOS_EMULATOR_CONTROL_TOKEN), or listen on \
                     127.0.0.1",
                    self.listen
                )
            },
        )
    }

    /// Binds, and serves in the background until [`Emulator::shutdown`].
    pub async fn start(self) -> anyhow::Result<Emulator> {
        if let Some(why) = self.unguarded_control() {
            anyhow::bail!(why);
        }
        let listener = TcpListener::bind(self.listen).await?;
        let addr = listener.local_addr()?;
        // A CA is made either way: a real cluster always has one, and serves it over http too.
        let tls = tls::generate()?;
        let state = self
            .state
            .unwrap_or_else(|| State::bootstrap(&self.superuser.0, &self.superuser.1));
        let authority = auth::Authority::generate(self.token_ttl)?;
        let identity = app::Identity {
            id: self.cluster_id.unwrap_or_else(new_uuid),
            name: self.cluster_name,
            ip: addr.ip().to_string(),
            security: self.security,
        };
        let app = Arc::new(app::App::new(
            state,
            authority,
            faults::Faults::new(self.faults, self.seed),
            tls.ca_pem.clone(),
            identity,
        ));
        app.marathon.set_deploy_ms(self.deploy_ms);
        let control = self.control_api.then_some(router::Control {
            token: self.control_token,
        });
        let router = router::router(app.clone(), control);
        let scheme = if self.tls { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            router,
            self.tls.then(|| tls.config.clone()),
            self.limits,
            stopped,
        ));
        tracing::info!(%url, "dcos-emulator serving");
        Ok(Emulator {
            url,
            tls: self.tls,
            app,
            stop,
            task,
        })
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct Emulator {
    url: String,
    tls: bool,
    app: app::Shared,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Emulator {
    /// Starts configuring an emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The base URL, such as `https://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The CA certificate (PEM) to pin, when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.then_some(self.app.ca_pem.as_str())
    }

    /// The cluster id `/metadata` answers.
    pub fn cluster_id(&self) -> &str {
        &self.app.identity.id
    }

    /// A copy of the whole state.
    pub fn state(&self) -> State {
        self.app.read().clone()
    }

    /// Replaces the whole state.
    pub fn load_state(&self, state: State) {
        *self.app.write() = state;
    }

    /// Scripts a fault.
    pub fn add_fault(&self, rule: FaultRule) {
        self.app.faults.add_rule(rule);
    }

    /// Removes every scripted fault.
    pub fn clear_faults(&self) {
        self.app.faults.clear_rules();
    }

    /// Replaces the random fault settings.
    pub fn set_faults(&self, config: FaultConfig) {
        self.app.faults.set_config(config);
    }

    /// Marathon's running tasks, with the SHA-256 of what each started with.
    pub fn marathon_tasks(&self) -> Vec<Task> {
        self.app.marathon.tasks()
    }

    /// How long a Marathon deployment takes before its tasks launch.
    pub fn set_deploy_ms(&self, ms: u64) {
        self.app.marathon.set_deploy_ms(ms);
    }

    /// The request and fault counters.
    pub fn counters(&self) -> Counters {
        self.app.faults.counters()
    }

    /// A valid token for `uid`, as a login would give (the account need not exist).
    pub fn issue_token(&self, uid: &str) -> anyhow::Result<String> {
        self.app.authority.issue(uid)
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
