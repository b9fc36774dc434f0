//! Signal reads on the Gateway (API key auth, no `x-tenant-id`): one handler
//! for the three per-operator reads, parametrized by what it renders, and
//! the portfolio summary.

use crate::error::{ApiError, ApiResult};
use crate::server::extract::{ApiKeyTenant, ScoreVersion};
use crate::signal::{self, OperatorView};
use crate::state::{App, Tenant};
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// What a per-operator read renders.
pub trait OperatorRead {
    /// The body for operator view `v` of tenant `t`.
    fn render(app: &App, t: &Tenant, v: &OperatorView) -> Value;
}

/// `GET /reputation/{did}`: the signed receipt.
pub struct Receipt;
impl OperatorRead for Receipt {
    fn render(app: &App, t: &Tenant, v: &OperatorView) -> Value {
        signal::receipt(t, v, &app.keys.signal)
    }
}

/// `GET /signal/v1/operators/{did}/explanation`.
pub struct Explanation;
impl OperatorRead for Explanation {
    fn render(_: &App, t: &Tenant, v: &OperatorView) -> Value {
        signal::explanation(t, v)
    }
}

/// `GET /signal/v1/operators/{did}/review-status`.
pub struct ReviewStatus;
impl OperatorRead for ReviewStatus {
    fn render(_: &App, t: &Tenant, v: &OperatorView) -> Value {
        signal::review_status(t, v)
    }
}

/// The one per-operator handler.
pub async fn operator_read<R: OperatorRead>(
    _: ScoreVersion,
    State(app): State<Arc<App>>,
    ApiKeyTenant(tenant): ApiKeyTenant,
    Path(did): Path<String>,
) -> ApiResult {
    let now = app.clock.now();
    let d = app.data.lock();
    let t = d
        .tenants
        .get(&tenant)
        .ok_or_else(|| ApiError::new(404, "not_found", "unknown tenant"))?;
    let v = signal::view_at(t, &did, now).ok_or_else(|| {
        ApiError::new(
            404,
            "operator_not_found",
            "this tenant has no such operator",
        )
    })?;
    Ok(Json(R::render(&app, t, &v)))
}

/// `GET /signal/v1/portfolio/summary`.
pub async fn portfolio(
    _: ScoreVersion,
    State(app): State<Arc<App>>,
    ApiKeyTenant(tenant): ApiKeyTenant,
) -> ApiResult {
    let now = app.clock.now();
    let d = app.data.lock();
    let t = d
        .tenants
        .get(&tenant)
        .ok_or_else(|| ApiError::new(404, "not_found", "unknown tenant"))?;
    Ok(Json(signal::portfolio_at(t, now)))
}
