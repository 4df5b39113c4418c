//! Health, readiness and the workers' progress.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ErrorBody;
use crate::extract::ApiJson;
use crate::state::{AppState, WorkerStatus};

/// Liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// One readiness check.
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// Service.
    pub name: String,
    /// `ok` or the reason it is down.
    pub status: String,
}

/// Readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// Each required service.
    pub checks: Vec<Check>,
}

/// The process is up (no dependency checked).
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, body = Health)))]
async fn health() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}

/// Every required service answers; 503 while one is down.
#[utoipa::path(get, path = "/ready", tag = "ops", responses(
    (status = 200, body = Readiness), (status = 503, body = Readiness)))]
async fn ready(State(state): State<AppState>) -> (StatusCode, ApiJson<Readiness>) {
    let mut checks = Vec::with_capacity(state.probes.len());
    let mut ok = true;
    for probe in state.probes.iter() {
        let status = match probe.check().await {
            Ok(()) => "ok".to_owned(),
            Err(reason) => {
                ok = false;
                reason
            }
        };
        checks.push(Check {
            name: probe.name().to_owned(),
            status,
        });
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        ApiJson(Readiness {
            status: if ok { "ready" } else { "not_ready" },
            checks,
        }),
    )
}

/// The background workers: cadence, last pass and outbox lag.
#[utoipa::path(get, path = "/workers", tag = "ops", responses(
    (status = 200, body = Vec<WorkerStatus>), (status = 503, body = ErrorBody)))]
async fn workers(State(state): State<AppState>) -> ApiJson<Vec<WorkerStatus>> {
    ApiJson(state.workers.snapshot())
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(workers))
}
