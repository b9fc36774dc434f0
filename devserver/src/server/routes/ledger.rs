//! Ledger reads (Harbor): tip, authority, events page, Merkle checkpoint.

use crate::error::{ApiError, ApiResult};
use crate::ledger::LEDGER_SCHEMA_VERSION;
use crate::server::extract::HarborTenant;
use crate::state::{App, Tenant};
use axum::extract::{Query, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Runs `f` on the caller's tenant under the state lock.
fn read(app: &App, tenant: &str, f: impl FnOnce(&Tenant) -> Result<Value, ApiError>) -> ApiResult {
    let d = app.data.lock();
    let t = d.tenants.get(tenant).ok_or_else(ApiError::tenant_unknown)?;
    f(t).map(Json)
}

/// `GET /ledger/v1/tip`.
pub async fn tip(State(app): State<Arc<App>>, HarborTenant(tenant): HarborTenant) -> ApiResult {
    read(&app, &tenant, |t| {
        let last = t.ledger.entries.last();
        Ok(json!({
            "schema_version": LEDGER_SCHEMA_VERSION, "tenant_id": t.tenant_id,
            "seq": t.ledger.entries.len(), "entry_commitment_hex": last.map(|e| e["entry_commitment_hex"].clone()),
            "empty": last.is_none(),
        }))
    })
}

/// `GET /ledger/v1/authority`.
pub async fn authority(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
) -> ApiResult {
    read(&app, &tenant, |t| {
        Ok(json!({
            "tenant_id": t.tenant_id, "verifying_key_hex": hex::encode(app.keys.ledger.verifying_key().as_bytes()),
            "algorithm": "ed25519", "commitment": "blake3(prev_commitment || canonical_json(entry - {entry_commitment_hex, signature_hex}))",
            "schema_version": LEDGER_SCHEMA_VERSION,
        }))
    })
}

/// `after_seq` (default 0) and `limit` (1..=256, default 64).
fn page_bounds(q: &HashMap<String, String>) -> Result<(u64, usize), ApiError> {
    let after = match q.get("after_seq") {
        None => 0,
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| ApiError::invalid("after_seq must be an integer >= 0"))?,
    };
    let limit = match q.get("limit") {
        None => 64,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=256).contains(l))
            .ok_or_else(|| ApiError::invalid("limit must be 1..=256"))?,
    };
    Ok((after, limit))
}

/// `GET /ledger/v1/events?after_seq=N&limit=L` (exclusive cursor).
pub async fn events(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    read(&app, &tenant, |t| {
        let (after, limit) = page_bounds(&q)?;
        let all = &t.ledger.entries;
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(all.len());
        let page: Vec<Value> = all[start..].iter().take(limit).cloned().collect();
        let next = if start + page.len() < all.len() {
            page.last().map(|e| e["seq"].clone())
        } else {
            None
        };
        Ok(json!({
            "schema_version": LEDGER_SCHEMA_VERSION, "tenant_id": t.tenant_id,
            "entries": page, "next_after_seq": next,
        }))
    })
}

/// `GET /ledger/v1/merkle/latest`.
pub async fn merkle_latest(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
) -> ApiResult {
    read(&app, &tenant, |t| {
        Ok(json!({"tenant_id": t.tenant_id, "checkpoint": t.ledger.checkpoint(&app.keys.ledger)}))
    })
}
