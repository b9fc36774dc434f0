//! Dev/admin routes (`/dev/v1/…`, loopback only, on both listeners): tenants,
//! dev intents, faults, stats, API-key rebinding, appeals, keys, the dev clock.

use crate::error::{ApiError, ApiResult};
use crate::faults::Fault;
use crate::server::extract::{parse_object, ApiKeyTenant, BodyName, JsonBody, Loopback};
use crate::state::{App, DevIntentRequest, Stats};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

impl BodyName for DevIntentRequest {
    const WHAT: &'static str = "dev intent";
}

impl BodyName for Fault {
    const WHAT: &'static str = "fault";
}

/// `POST /dev/v1/tenants` `{tenant_id?, environment?}` (a body that is not JSON counts as `{}`).
pub async fn tenants(_: Loopback, State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let v: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
    let (tenant_id, api_key) = app.create_tenant(
        v.get("tenant_id").and_then(Value::as_str),
        v.get("environment").and_then(Value::as_str),
        None,
    );
    Ok(Json(json!({"tenant_id": tenant_id, "api_key": api_key})))
}

/// `POST /dev/v1/intents` (API key of the tenant).
pub async fn intents(
    _: Loopback,
    State(app): State<Arc<App>>,
    ApiKeyTenant(tenant): ApiKeyTenant,
    JsonBody(req): JsonBody<DevIntentRequest>,
) -> ApiResult {
    app.create_dev_intent(&tenant, &req).map(Json)
}

/// `POST /dev/v1/faults`.
pub async fn faults_add(
    _: Loopback,
    State(app): State<Arc<App>>,
    JsonBody(f): JsonBody<Fault>,
) -> ApiResult {
    Ok(Json(json!({"id": app.faults.add(f)})))
}

/// `GET /dev/v1/faults`.
pub async fn faults_list(_: Loopback, State(app): State<Arc<App>>) -> ApiResult {
    Ok(Json(json!({"faults": app.faults.list()})))
}

/// `DELETE /dev/v1/faults`.
pub async fn faults_clear(_: Loopback, State(app): State<Arc<App>>) -> ApiResult {
    app.faults.clear();
    Ok(Json(json!({"cleared": true})))
}

/// Per-tenant stats and totals (what `GET /dev/v1/stats` answers).
pub fn stats_json(app: &App) -> Value {
    app.sweep_expired();
    let d = app.data.lock();
    let mut tenants = serde_json::Map::new();
    let mut total = Stats::default();
    for (id, t) in &d.tenants {
        total.add(&t.stats);
        tenants.insert(
            id.clone(),
            serde_json::to_value(&t.stats).unwrap_or_default(),
        );
    }
    json!({"tenants": tenants, "totals": total})
}

/// `GET /dev/v1/stats`.
pub async fn stats(_: Loopback, State(app): State<Arc<App>>) -> ApiResult {
    Ok(Json(stats_json(&app)))
}

fn required_str<'a>(v: &'a Value, k: &str) -> Result<&'a str, ApiError> {
    v.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid(format!("`{k}` is required")))
}

/// `POST /dev/v1/api-keys/rebind` `{api_key, tenant_id}`.
pub async fn rebind(_: Loopback, State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let v = parse_object(&body)?;
    let key = required_str(&v, "api_key")?;
    let tenant = required_str(&v, "tenant_id")?;
    if !app.rebind_api_key(key, tenant) {
        return Err(ApiError::new(404, "not_found", "unknown API key"));
    }
    Ok(Json(json!({"rebound": true, "tenant_id": tenant})))
}

/// `POST /dev/v1/operators/{did}/appeals` (API key of the tenant).
pub async fn appeal(
    _: Loopback,
    State(app): State<Arc<App>>,
    ApiKeyTenant(tenant): ApiKeyTenant,
    Path(did): Path<String>,
) -> ApiResult {
    let now = app.clock.now();
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(|| ApiError::new(404, "not_found", "unknown tenant"))?;
    let sig = t.operators.entry(did.clone()).or_default();
    sig.appeals.push(now);
    Ok(Json(
        json!({"operator_did": did, "appeal_count": sig.appeals.len()}),
    ))
}

/// `GET /dev/v1/keys`: the public keys.
pub async fn keys(State(app): State<Arc<App>>) -> ApiResult {
    Ok(Json(json!({
        "jwt_public_key_hex": hex::encode(app.keys.jwt.verifying_key().as_bytes()),
        "capability_root_public_key_hex": app.keys.biscuit_root_public.to_bytes_hex(),
        "ledger_public_key_hex": hex::encode(app.keys.ledger.verifying_key().as_bytes()),
        "signal_public_key_hex": hex::encode(app.keys.signal.verifying_key().as_bytes()),
    })))
}

/// `POST /dev/v1/clock/advance` `{"seconds": <int >= 0>}` → `{offset_seconds, now}`.
pub async fn clock_advance(_: Loopback, State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let v = parse_object(&body)?;
    let secs = v
        .get("seconds")
        .and_then(Value::as_u64)
        .ok_or_else(|| ApiError::invalid("`seconds` must be an integer >= 0"))?;
    let offset = app
        .advance_clock(Duration::from_secs(secs))
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    Ok(Json(json!({
        "offset_seconds": offset.as_secs(),
        "now": crate::state::fmt_time(app.clock.now()),
    })))
}
