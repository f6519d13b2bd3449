//! The router: every route of the services, the CA download, and fault injection in front of
//! them.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State as AxState};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::Shared;
use crate::faults::Fault;
use crate::respond::{DropConnection, json_error, plain_error};
use crate::{control, discovery, iam, marathon, secrets};

/// The largest request body accepted (a 1 MiB text value may grow when escaped as JSON).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// How the control API is guarded.
#[derive(Debug, Clone)]
pub struct Control {
    /// The bearer token it requires; without one, only loopback peers naming loopback
    /// `Host`s are answered.
    pub token: Option<crate::control::ControlToken>,
}

/// The whole API, plus the control API when `control` is given.
pub fn router(app: Shared, control: Option<Control>) -> Router {
    let api = Router::new()
        .route("/ca/dcos-ca.crt", get(ca_certificate))
        .merge(discovery::routes())
        .merge(secrets::routes())
        .merge(iam::routes())
        .merge(marathon::routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), inject_faults));
    let mut router = api;
    if let Some(guard) = control {
        let routes = control::routes().route_layer(middleware::from_fn(
            move |request: Request, next: Next| {
                let guard = guard.clone();
                async move { control::guard(&guard, request, next).await }
            },
        ));
        router = router.merge(routes);
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

async fn not_found() -> Response {
    plain_error(StatusCode::NOT_FOUND, "Not Found")
}

async fn ca_certificate(AxState(app): AxState<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-x509-ca-cert")],
        app.ca_pem.clone(),
    )
        .into_response()
}

async fn inject_faults(
    AxState(app): AxState<Shared>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let plan = app.faults.plan(
        request.method().as_str(),
        request.uri().path(),
        matched.as_str(),
    );
    if !plan.delay.is_zero() {
        tokio::time::sleep(plan.delay).await;
    }
    if let Some(fault) = plan.before {
        return fault_response(fault);
    }
    let response = next.run(request).await;
    match plan.after {
        Some(fault) => fault_response(fault),
        None => response,
    }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Drop => {
            let mut response = Response::new(Body::empty());
            response.extensions_mut().insert(DropConnection);
            response
        }
        Fault::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            json_error(status, None, "Injected fault")
        }
        Fault::Redirect(status, location) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            let mut response = json_error(status, None, "Injected redirect");
            if let Ok(location) = header::HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
    }
}
