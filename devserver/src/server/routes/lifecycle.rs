//! The tool-call lifecycle on Harbor: completing a spend decision, reading
//! one, and a reviewer deciding an approval request.

use crate::error::{ApiError, ApiResult};
use crate::lifecycle::{decision_record, Outcome};
use crate::server::extract::{HarborTenant, JsonObject, ReviewerTenant};
use crate::state::App;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// Longest reviewer reason accepted.
const MAX_REASON: usize = 2048;

/// `POST /v1/spend/decisions/{decision_id}/complete` `{"outcome": "consumed" | "released"}`.
pub async fn complete(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    Path(decision_id): Path<String>,
    JsonObject(v): JsonObject,
) -> ApiResult {
    let outcome = v
        .get("outcome")
        .and_then(Value::as_str)
        .and_then(Outcome::parse)
        .ok_or_else(|| {
            ApiError::coded(
                422,
                "invalid_outcome",
                "`outcome` must be \"consumed\" or \"released\"",
            )
        })?;
    app.complete_decision(&tenant, &decision_id, outcome)
        .map(Json)
}

/// `GET /v1/spend/decisions/{decision_id}`: the decision record.
pub async fn get(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    Path(decision_id): Path<String>,
) -> ApiResult {
    app.sweep_tenant(&tenant);
    let d = app.data.lock();
    d.tenants
        .get(&tenant)
        .and_then(|t| t.lifecycle.decisions.get(&decision_id))
        .map(|dec| Json(decision_record(&tenant, dec)))
        .ok_or_else(|| {
            ApiError::coded(404, "decision_not_found", "no such decision in this tenant")
                .with("decision_id", decision_id.clone())
        })
}

/// `POST /v1/approvals/{approval_request_id}` `{"decision": "approve" | "reject", "reason"?}`.
pub async fn decide(
    State(app): State<Arc<App>>,
    ReviewerTenant(tenant): ReviewerTenant,
    Path(id): Path<String>,
    JsonObject(v): JsonObject,
) -> ApiResult {
    let approve = match v.get("decision").and_then(Value::as_str) {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            return Err(ApiError::coded(
                422,
                "invalid_decision",
                "`decision` must be \"approve\" or \"reject\"",
            ))
        }
    };
    let reason = match v.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= MAX_REASON => Some(s.as_str()),
        Some(_) => {
            return Err(ApiError::coded(
                422,
                "invalid_reason",
                format!("`reason` must be a string of at most {MAX_REASON} bytes"),
            ))
        }
    };
    app.decide_approval(&tenant, &id, approve, reason).map(Json)
}
