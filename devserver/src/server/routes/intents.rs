//! Intents and evidence (Harbor): principal-signed create, read, and
//! payee-signed evidence with idempotency keys.

use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Idem, Scope};
use crate::predicate;
use crate::server::extract::{HarborTenant, JsonObject};
use crate::state::{base64_std, App, Intent};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use paybond_kit::digest::{canonical_json, json_value_digest};
use paybond_kit::evidence::{verify_evidence_body, EvidenceBody, EvidenceSignVersion};
use serde_json::{json, Value};
use std::sync::Arc;

fn uuid_lower(raw: &str, what: &'static str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::invalid(what))
}

/// `POST /intents`: a principal-signed intent (re-creating with the same body is idempotent).
pub async fn create(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    JsonObject(v): JsonObject,
) -> ApiResult {
    let input = paybond_kit::intent::verify_intent_creation(&tenant, &v).map_err(|e| match e {
        paybond_kit::Error::SignatureInvalid { message } => {
            ApiError::new(422, "signature_invalid", message)
        }
        other => ApiError::invalid(other.to_string()),
    })?;
    let intent_id = uuid_lower(&input.intent_id, "bad intent_id")?;
    let digest = *blake3::hash(&canonical_json(&v)).as_bytes();
    let intent = Intent {
        intent_id: intent_id.clone(),
        payee_did: input.payee_did.clone(),
        payee_pubkey: input.payee_pubkey,
        allowed_tools: paybond_kit::intent::normalize_tools(&input.allowed_tools),
        amount_cents: input.amount_cents,
        remaining_cents: input.amount_cents,
        currency: input.currency.clone(),
        deadline: input.deadline.clone(),
        predicate_dsl: input.predicate_dsl.clone(),
        state: "funded".into(),
        created_from_digest: digest,
        approval_threshold_cents: None,
    };
    let conflict = app
        .data
        .lock()
        .tenants
        .get(&tenant)
        .and_then(|t| t.intents.get(&intent_id))
        .is_some_and(|existing| existing.created_from_digest != digest);
    if conflict {
        return Err(ApiError::new(
            409,
            "intent_exists",
            "an intent with this id exists with another body",
        ));
    }
    let (token, token_expires_at) = app.mint_token(&tenant, &intent, None, None)?;
    let out = json!({
        "tenant": tenant, "intent_id": intent_id, "state": "funded", "capability_token": token,
        "token_expires_at": token_expires_at, "allowed_tools": intent.allowed_tools, "amount_cents": intent.amount_cents,
        "remaining_cents": intent.remaining_cents, "currency": intent.currency, "payee_did": intent.payee_did,
    });
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(ApiError::tenant_unknown)?;
    t.intents.entry(intent_id).or_insert(intent);
    Ok(Json(out))
}

/// `GET /intents/{id}`.
pub async fn get(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    Path(intent): Path<String>,
) -> ApiResult {
    app.sweep_tenant(&tenant);
    let d = app.data.lock();
    let i = d
        .tenants
        .get(&tenant)
        .and_then(|t| t.intents.get(&intent.to_ascii_lowercase()))
        .ok_or_else(|| ApiError::new(404, "intent_not_found", "no such intent"))?;
    Ok(Json(json!({
        "tenant": tenant, "intent_id": i.intent_id, "state": i.state, "payee_did": i.payee_did,
        "allowed_tools": i.allowed_tools, "amount_cents": i.amount_cents, "remaining_cents": i.remaining_cents,
        "currency": i.currency, "deadline": i.deadline,
    })))
}

/// Counts a rejected evidence submission and passes the error on.
fn rejected(app: &App, tenant: &str, e: ApiError) -> ApiError {
    if let Some(t) = app.data.lock().tenants.get_mut(tenant) {
        t.stats.evidence_rejected += 1;
    }
    e
}

/// Counts a replayed submission (also a Signal input) and answers the stored response.
fn replayed(app: &App, tenant: &str, status: u16, resp: Value) -> (StatusCode, Json<Value>) {
    let now = app.clock.now();
    if let Some(t) = app.data.lock().tenants.get_mut(tenant) {
        t.stats.evidence_replays += 1;
        if let Some(op) = resp.get("operator_did").and_then(Value::as_str) {
            t.operators
                .entry(op.to_owned())
                .or_default()
                .replays
                .push(now);
        }
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, Json(resp))
}

/// Checks the body against the intent: payee, payee key, signature (v2, or legacy v1).
fn check_evidence(
    app: &App,
    tenant: &str,
    intent_id: &str,
    v: &Value,
) -> Result<(EvidenceBody, Intent, EvidenceSignVersion), ApiError> {
    let ev: EvidenceBody = serde_json::from_value(v.clone())
        .map_err(|e| ApiError::invalid(format!("evidence body: {e}")))?;
    let intent = app
        .data
        .lock()
        .tenants
        .get(tenant)
        .and_then(|t| t.intents.get(intent_id).cloned())
        .ok_or_else(|| {
            ApiError::new(
                404,
                "intent_not_found",
                format!("no intent {intent_id} in this tenant"),
            )
        })?;
    if ev.payee_did != intent.payee_did {
        return Err(ApiError::new(
            403,
            "payee_mismatch",
            "payee_did is not the intent's payee",
        ));
    }
    if ev.payee_pubkey != base64_std(&intent.payee_pubkey) {
        return Err(ApiError::new(
            403,
            "payee_key_mismatch",
            "payee_pubkey is not the intent's payee key",
        ));
    }
    let versions = [EvidenceSignVersion::V2, EvidenceSignVersion::V1Legacy];
    let version = verify_evidence_body(tenant, intent_id, &ev, &versions)
        .map_err(|e| ApiError::new(422, "signature_invalid", e.to_string()))?;
    Ok((ev, intent, version))
}

/// `POST /intents/{id}/evidence`.
pub async fn evidence(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    Path(intent_raw): Path<String>,
    h: HeaderMap,
    JsonObject(v): JsonObject,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let intent_id = uuid_lower(&intent_raw, "intent id in the path must be a UUID")?;
    let scope = Scope::new("evidence", idempotency::request_key(&h, None)?, &v);
    let before = app
        .data
        .lock()
        .tenants
        .get(&tenant)
        .map(|t| scope.lookup(t))
        .unwrap_or(Ok(Idem::Fresh));
    match before.map_err(|e| rejected(&app, &tenant, e))? {
        Idem::Replay(status, resp) => return Ok(replayed(&app, &tenant, status, resp)),
        Idem::Fresh => {}
    }
    let (ev, intent, version) =
        check_evidence(&app, &tenant, &intent_id, &v).map_err(|e| rejected(&app, &tenant, e))?;
    let passed = predicate::eval(&intent.predicate_dsl, &ev.payload);
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(ApiError::tenant_unknown)?;
    // Re-check under the lock: a concurrent twin with the same key may have landed first.
    match scope.lookup(t) {
        Err(e) => {
            t.stats.evidence_rejected += 1;
            return Err(e);
        }
        Ok(Idem::Replay(status, resp)) => {
            t.stats.evidence_replays += 1;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return Ok((status, Json(resp)));
        }
        Ok(Idem::Fresh) => {}
    }
    let state = if passed {
        "completed"
    } else {
        "evidence_accepted"
    };
    let entry = t.ledger.append(
        &tenant,
        "evidence_accepted",
        json!({
            "intent_id": intent_id, "operator_did": intent.payee_did,
            "payload_digest_hex": hex::encode(json_value_digest(&ev.payload)),
            "artifacts": ev.artifacts, "submitted_at": ev.submitted_at, "predicate_passed": passed,
            "sign_version": version.byte(), "payee_signature": ev.payee_signature,
        }),
        &app.keys.ledger,
    );
    if let Some(i) = t.intents.get_mut(&intent_id) {
        i.state = state.into();
    }
    t.stats.evidence_accepted += 1;
    let out = json!({
        "tenant": tenant, "intent_id": intent_id, "state": state, "predicate_passed": passed,
        "evidence_id": uuid::Uuid::new_v4().to_string(), "operator_did": intent.payee_did,
        "ledger_seq": entry["seq"], "entry_commitment_hex": entry["entry_commitment_hex"],
    });
    scope.store(t, 200, &out);
    Ok((StatusCode::OK, Json(out)))
}
