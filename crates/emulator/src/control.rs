//! `/__emulator/`: the control API (served only when asked for) to script faults, read
//! counters, and dump or load the whole state. It answers requests that carry its token, or,
//! without a token, only requests addressed to a loopback host: a web page that rebinds its
//! own name to 127.0.0.1 still sends its own name as `Host`, and is refused.

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, put};

use crate::app::Shared;
use crate::faults::{FaultConfig, FaultRule};
use crate::respond::{empty, json_ok, plain_error};
use crate::router::Control;
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

/// Answers the request only if it carries the control token, or, without one, names a
/// loopback host.
pub async fn guard(control: &Control, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let allowed = match &control.token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())),
        None => headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_loopback_host),
    };
    match allowed {
        true => next.run(request).await,
        false => plain_error(
            StatusCode::FORBIDDEN,
            "the control API answers its token, or loopback hosts only",
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

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
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

#[cfg(test)]
mod tests {
    use super::*;

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
