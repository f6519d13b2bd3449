//! `/__emulator/`: the control API (served only when asked for) to script faults, read
//! counters, and dump or load the whole state. It answers requests that carry its token, or,
//! without a token, only requests that come from a loopback address (the TCP peer, which a
//! client cannot choose) and are addressed to a loopback host: a web page that rebinds its own
//! name to 127.0.0.1 still sends its own name as `Host`, and is refused.

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, put};
use sha2::Digest;

use crate::app::Shared;
use crate::faults::{FaultConfig, FaultRule};
use crate::respond::{empty, json_ok, plain_error};
use crate::router::Control;
use crate::server::Peer;
use crate::state::State;

/// The control routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/__emulator/state", get(dump).put(load))
        .route("/__emulator/counters", get(counters).delete(reset_counters))
        .route(
            "/__emulator/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/__emulator/faults/config", put(set_config))
        .route("/__emulator/marathon/tasks", get(marathon_tasks))
        .route("/__emulator/marathon/config", put(marathon_config))
}

/// Every running Marathon task: `[{"appId", "taskId", "startedAt", "version", "env_sha256"}]`.
async fn marathon_tasks(AxState(app): AxState<Shared>) -> Response {
    json_ok(&app.marathon.tasks())
}

/// `{"deploy_ms": N}`: how long a deployment takes before its tasks launch.
#[derive(serde::Deserialize)]
struct MarathonConfig {
    deploy_ms: u64,
}

async fn marathon_config(
    AxState(app): AxState<Shared>,
    Json(config): Json<MarathonConfig>,
) -> Response {
    app.marathon.set_deploy_ms(config.deploy_ms);
    empty(StatusCode::NO_CONTENT)
}

/// Answers the request only if it carries the control token, or, without one, comes from a
/// loopback peer address and names a loopback host.
pub async fn guard(control: &Control, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let peer = request.extensions().get::<Peer>().map(|p| p.0.ip());
    let allowed = match &control.token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| token.matches(given)),
        None => {
            peer.is_some_and(|ip| ip.is_loopback() || is_mapped_loopback(ip))
                && headers
                    .get(header::HOST)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(is_loopback_host)
        }
    };
    match allowed {
        true => next.run(request).await,
        false => plain_error(
            StatusCode::FORBIDDEN,
            "the control API answers its token, or loopback peers and hosts only",
        ),
    }
}

/// Whether a `Host` header names this machine: `localhost`, `127.x.y.z` or `[::1]`, with any
/// port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether an IPv6 address is an IPv4 loopback address mapped (`::ffff:127.0.0.1`), as a
/// dual-stack socket reports IPv4 peers.
fn is_mapped_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        std::net::IpAddr::V4(_) => false,
    }
}

async fn dump(AxState(app): AxState<Shared>) -> Response {
    json_ok(&*app.read())
}

async fn load(AxState(app): AxState<Shared>, Json(state): Json<State>) -> Response {
    *app.write() = state;
    empty(StatusCode::NO_CONTENT)
}

async fn counters(AxState(app): AxState<Shared>) -> Response {
    json_ok(&app.faults.counters())
}

async fn reset_counters(AxState(app): AxState<Shared>) -> Response {
    app.faults.reset_counters();
    empty(StatusCode::NO_CONTENT)
}

async fn faults(AxState(app): AxState<Shared>) -> Response {
    json_ok(&serde_json::json!({"config": app.faults.config(), "rules": app.faults.rules()}))
}

async fn add_fault(AxState(app): AxState<Shared>, Json(rule): Json<FaultRule>) -> Response {
    app.faults.add_rule(rule);
    empty(StatusCode::CREATED)
}

async fn clear_faults(AxState(app): AxState<Shared>) -> Response {
    app.faults.clear_rules();
    empty(StatusCode::NO_CONTENT)
}

async fn set_config(AxState(app): AxState<Shared>, Json(config): Json<FaultConfig>) -> Response {
    app.faults.set_config(config);
    empty(StatusCode::NO_CONTENT)
}

/// The control token. Never shown: its `Debug` says only that there is one, and it is
/// compared through SHA-256 digests in constant time, so neither its bytes nor its length
/// show in how long a refusal takes.
#[derive(Clone)]
pub struct ControlToken([u8; 32]);

impl ControlToken {
    /// The token `text`.
    pub fn new(text: &str) -> Self {
        Self(sha2::Sha256::digest(text.as_bytes()).into())
    }

    /// Whether `given` is the token.
    fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = sha2::Sha256::digest(given.as_bytes()).into();
        subtle::ConstantTimeEq::ct_eq(&given[..], &self.0[..]).into()
    }
}

impl std::fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ControlToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_matches_itself_only_and_never_shows() {
        let token = ControlToken::new("t0ken-for-ci");
        assert!(token.matches("t0ken-for-ci"));
        for other in ["", "t0ken-for-c", "t0ken-for-ci ", "T0KEN-FOR-CI"] {
            assert!(!token.matches(other), "{other}");
        }
        assert!(!format!("{token:?}").contains("t0ken"));
    }

    #[test]
    fn loopback_hosts_are_told_apart() {
        for host in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "[::1]:443",
            "127.9.9.9",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "attacker.example:8080",
            "10.0.0.1:80",
            "localhost.attacker.example",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
