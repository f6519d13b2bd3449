//! `/__emulator/`: the control API (served only when asked for) to script faults, read
//! counters, and dump or load the whole state.

use axum::Json;
use axum::Router;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};

use crate::app::Shared;
use crate::faults::{FaultConfig, FaultRule};
use crate::respond::{empty, json_ok};
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
