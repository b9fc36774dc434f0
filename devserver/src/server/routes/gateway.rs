//! Gateway auth: `POST /v1/auth/harbor-access` (API key → Harbor JWT) and
//! `GET /v1/auth/principal`.

use crate::error::{ApiError, ApiResult};
use crate::jwt;
use crate::server::extract::ApiKeyTenant;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use serde_json::json;
use std::sync::Arc;

/// `POST /v1/auth/harbor-access`.
pub async fn harbor_access(
    State(app): State<Arc<App>>,
    ApiKeyTenant(tenant): ApiKeyTenant,
) -> ApiResult {
    let now = app.clock.now_unix();
    let ttl = app.jwt_ttl.as_secs().max(1);
    let claims = jwt::Claims {
        tid: tenant.clone(),
        sub: format!("service-account:{tenant}"),
        aud: jwt::AUDIENCE.into(),
        iat: now,
        exp: now.saturating_add(ttl),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let token = jwt::mint(&app.keys.jwt, &claims);
    if let Some(t) = app.data.lock().tenants.get_mut(&tenant) {
        t.stats.exchanges += 1;
    }
    Ok(Json(json!({
        "access_token": token, "expires_in": ttl, "tenant_id": tenant, "token_type": "Bearer",
    })))
}

/// `GET /v1/auth/principal`.
pub async fn principal(
    State(app): State<Arc<App>>,
    ApiKeyTenant(tenant): ApiKeyTenant,
) -> ApiResult {
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(|| ApiError::new(401, "invalid_api_key", "unknown tenant"))?;
    t.stats.principal_lookups += 1;
    Ok(Json(json!({
        "tenant_id": t.tenant_id, "tenant_uuid": t.tenant_uuid, "environment": t.environment,
        "service_account_role": "agent", "subject": format!("service-account:{}", t.tenant_id),
        "roles": ["harbor:verify", "harbor:evidence", "signal:read"],
    })))
}
