//! What a cluster answers before any secret is touched: the UI's root page, the metadata the
//! `dcos` CLI and dcos-deploy read to identify the cluster, and the endpoints they probe.

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::app::{Shared, authenticate};
use crate::respond::json_ok;

/// The DC/OS release the emulator answers as.
pub const DCOS_VERSION: &str = "2.1.0";

/// The discovery routes. `get` also answers `HEAD`.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(ui))
        .route("/metadata", get(metadata))
        .route("/dcos-metadata/dcos-version.json", get(version))
        .route(
            "/dcos-metadata/bootstrap-config.json",
            get(bootstrap_config),
        )
        .route("/pkgpanda/active.buildinfo.full.json", get(build_info))
        .route("/mesos/master/state-summary", get(state_summary))
        .route("/system/health/v1/nodes", get(nodes))
        .route("/mesos_dns/v1/hosts/master.mesos", get(master_dns))
}

/// The UI's page: what the `dcos` CLI's setup expects at the canonical URL.
async fn ui() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html")],
        "<!DOCTYPE html>\n<html><head><title>DC/OS</title></head><body>dcos-emulator</body></html>\n",
    )
        .into_response()
}

/// No token: the cluster's id, which names the `dcos` CLI's config folder.
async fn metadata(AxState(app): AxState<Shared>) -> Response {
    json_ok(&json!({"PUBLIC_IPV4": app.identity.ip, "CLUSTER_ID": app.identity.id}))
}

/// No token: the version and variant.
async fn version() -> Response {
    json_ok(&json!({
        "version": DCOS_VERSION,
        "dcos-variant": "enterprise",
        "dcos-image-commit": "0000000000000000000000000000000000000000",
        "bootstrap-id": "dcos-emulator",
    }))
}

/// With a token: the bootstrap configuration's security mode, where the SDK's tooling reads it.
async fn bootstrap_config(
    AxState(app): AxState<Shared>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    authenticate(&app, &headers)?;
    Ok(json_ok(
        &json!({"security": app.identity.security.as_str()}),
    ))
}

/// A token check: 401 `acsjwt` without a valid token, else 200.
async fn build_info(
    AxState(app): AxState<Shared>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    authenticate(&app, &headers)?;
    Ok(json_ok(&json!({})))
}

/// The cluster's name, with no agents and no frameworks.
async fn state_summary(
    AxState(app): AxState<Shared>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    authenticate(&app, &headers)?;
    let identity = &app.identity;
    Ok(json_ok(&json!({
        "hostname": identity.ip,
        "cluster": identity.name,
        "slaves": [],
        "frameworks": [],
    })))
}

/// One healthy master.
async fn nodes(AxState(app): AxState<Shared>, headers: HeaderMap) -> Result<Response, Response> {
    authenticate(&app, &headers)?;
    Ok(json_ok(&json!({
        "nodes": [{"host_ip": app.identity.ip, "health": 0, "role": "master"}]
    })))
}

/// `master.mesos`, which dcos-deploy resolves to check its connection and token.
async fn master_dns(
    AxState(app): AxState<Shared>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    authenticate(&app, &headers)?;
    Ok(json_ok(
        &json!([{"host": "master.mesos.", "ip": app.identity.ip}]),
    ))
}
