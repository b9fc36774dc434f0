//! HTTP: the Gateway and Harbor routers, the fault layer, and a serve loop
//! on hyper (so a fault can close a connection without answering, and every
//! socket gets TCP_NODELAY).

use crate::captoken::{self, TokenCheck};
use crate::faults::{self, Fault, FaultKind};
use crate::state::{base64_std, ApiError, App, DevIntentRequest, IdemRecord, Intent, Stats};
use crate::{jwt, signal};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Router};
use bytes::Bytes;
use paybond_kit::digest::{canonical_json, json_value_digest};
use paybond_kit::evidence::{verify_evidence_body, EvidenceBody, EvidenceSignVersion};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The peer address of a request (inserted by the serve loop).
#[derive(Clone, Copy, Debug)]
pub struct RemoteAddr(pub SocketAddr);

type Resp = Response<Body>;

fn json_resp(status: u16, v: &Value) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(v).unwrap_or_default()))
        .unwrap_or_default()
}

fn err_resp(e: ApiError) -> Resp {
    json_resp(e.status, &json!({"error": e.code, "message": e.message}))
}

fn ok_or_err(r: Result<Value, ApiError>) -> Resp {
    match r {
        Ok(v) => json_resp(200, &v),
        Err(e) => err_resp(e),
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn bearer(h: &HeaderMap) -> Option<&str> {
    let v = h.get("authorization")?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "invalid_json", format!("body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::new(
            400,
            "invalid_json",
            "body must be a JSON object",
        ));
    }
    Ok(v)
}

fn api_key_tenant(app: &App, h: &HeaderMap) -> Result<String, ApiError> {
    let key = bearer(h).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthenticated",
            "missing `authorization: Bearer <api key>`",
        )
    })?;
    app.tenant_for_key(key)
        .ok_or_else(|| ApiError::new(401, "invalid_api_key", "unknown API key"))
}

/// Harbor auth: a JWT (not an API key), valid, and `x-tenant-id` equal to its `tid`.
fn harbor_tenant(app: &App, h: &HeaderMap) -> Result<String, ApiError> {
    let token = bearer(h).ok_or_else(|| {
        ApiError::new(
            401,
            "unauthenticated",
            "missing `authorization: Bearer <harbor JWT>`",
        )
    })?;
    if token.starts_with("paybond_sk_") {
        return Err(ApiError::new(
            401,
            "jwt_required",
            "Harbor needs a Harbor JWT, not an API key: exchange the key at POST /v1/auth/harbor-access",
        ));
    }
    let claims = jwt::verify(&app.keys.jwt.verifying_key(), token, now_unix())
        .map_err(|e| ApiError::new(401, "invalid_token", format!("Harbor JWT rejected: {e:?}")))?;
    let header_tenant = h
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if header_tenant.is_empty() {
        return Err(ApiError::new(
            403,
            "tenant_header_required",
            "missing x-tenant-id",
        ));
    }
    if header_tenant != claims.tid {
        return Err(ApiError::new(
            403,
            "tenant_mismatch",
            "x-tenant-id does not match the JWT's tenant",
        ));
    }
    if !app.data.lock().tenants.contains_key(&claims.tid) {
        return Err(ApiError::new(
            403,
            "tenant_unknown",
            "tenant no longer exists",
        ));
    }
    Ok(claims.tid)
}

fn require_loopback(addr: &RemoteAddr) -> Result<(), ApiError> {
    if addr.0.ip().is_loopback() {
        Ok(())
    } else {
        Err(ApiError::new(
            403,
            "loopback_only",
            "admin routes answer on loopback only",
        ))
    }
}

fn idem_key(h: &HeaderMap, body: &Value) -> Result<Option<String>, ApiError> {
    let k = h
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            body.get("idempotency_key")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    if let Some(k) = &k {
        if k.is_empty() || k.len() > 256 {
            return Err(ApiError::new(
                400,
                "invalid_argument",
                "idempotency-key must be 1-256 characters",
            ));
        }
    }
    Ok(k)
}

enum Idem {
    Fresh,
    Replay(u16, Value),
}

fn idem_check(
    app: &App,
    tenant: &str,
    op: &str,
    key: &Option<String>,
    digest: &[u8; 32],
) -> Result<Idem, ApiError> {
    if key.is_none() {
        return Ok(Idem::Fresh);
    }
    match app.data.lock().tenants.get(tenant) {
        Some(t) => idem_lookup(t, op, key, digest),
        None => Ok(Idem::Fresh),
    }
}

/// The idempotency record of `(op, key)` in `t`, judged against `digest`.
/// Called under the state lock; a caller that then reserves or appends must
/// do so (and [`idem_store`]) in the same critical section.
fn idem_lookup(
    t: &crate::state::Tenant,
    op: &str,
    key: &Option<String>,
    digest: &[u8; 32],
) -> Result<Idem, ApiError> {
    let Some(key) = key else {
        return Ok(Idem::Fresh);
    };
    match t.idempotency.get(&(op.to_owned(), key.clone())) {
        None => Ok(Idem::Fresh),
        Some(r) if r.request_digest == *digest => Ok(Idem::Replay(r.status, r.response.clone())),
        Some(_) => Err(ApiError::new(
            409,
            "idempotency_conflict",
            "this idempotency key was used with a different body",
        )),
    }
}

fn idem_store(
    t: &mut crate::state::Tenant,
    op: &str,
    key: &Option<String>,
    digest: [u8; 32],
    status: u16,
    v: &Value,
) {
    if let Some(k) = key {
        t.idempotency.insert(
            (op.to_owned(), k.clone()),
            IdemRecord {
                request_digest: digest,
                status,
                response: v.clone(),
            },
        );
    }
}

// ---------- Gateway ----------

async fn harbor_access(State(app): State<Arc<App>>, h: HeaderMap) -> Resp {
    let tenant = match api_key_tenant(&app, &h) {
        Ok(t) => t,
        Err(e) => return err_resp(e),
    };
    let now = now_unix();
    let ttl = app.jwt_ttl.as_secs().max(1);
    let claims = jwt::Claims {
        tid: tenant.clone(),
        sub: format!("service-account:{tenant}"),
        aud: jwt::AUDIENCE.into(),
        iat: now,
        exp: now + ttl,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let token = jwt::mint(&app.keys.jwt, &claims);
    if let Some(t) = app.data.lock().tenants.get_mut(&tenant) {
        t.stats.exchanges += 1;
    }
    json_resp(
        200,
        &json!({"access_token": token, "expires_in": ttl, "tenant_id": tenant, "token_type": "Bearer"}),
    )
}

async fn principal(State(app): State<Arc<App>>, h: HeaderMap) -> Resp {
    let tenant = match api_key_tenant(&app, &h) {
        Ok(t) => t,
        Err(e) => return err_resp(e),
    };
    let mut d = app.data.lock();
    let Some(t) = d.tenants.get_mut(&tenant) else {
        return err_resp(ApiError::new(401, "invalid_api_key", "unknown tenant"));
    };
    t.stats.principal_lookups += 1;
    json_resp(
        200,
        &json!({
            "tenant_id": t.tenant_id, "tenant_uuid": t.tenant_uuid, "environment": t.environment,
            "service_account_role": "agent", "subject": format!("service-account:{}", t.tenant_id),
            "roles": ["harbor:verify", "harbor:evidence", "signal:read"],
        }),
    )
}

fn with_operator<F: FnOnce(&crate::state::Tenant, &signal::OperatorView) -> Value>(
    app: &App,
    h: &HeaderMap,
    did: &str,
    f: F,
) -> Resp {
    let tenant = match api_key_tenant(app, h) {
        Ok(t) => t,
        Err(e) => return err_resp(e),
    };
    let d = app.data.lock();
    let Some(t) = d.tenants.get(&tenant) else {
        return err_resp(ApiError::new(404, "not_found", "unknown tenant"));
    };
    match signal::view(t, did) {
        Some(v) => json_resp(200, &f(t, &v)),
        None => err_resp(ApiError::new(
            404,
            "operator_not_found",
            "this tenant has no such operator",
        )),
    }
}

fn check_score_version(q: &HashMap<String, String>) -> Result<(), ApiError> {
    match q.get("score_version").map(String::as_str) {
        None | Some("1.0") => Ok(()),
        Some(other) => Err(ApiError::new(
            400,
            "unsupported_score_version",
            format!("score_version {other:?} is not served; use 1.0"),
        )),
    }
}

async fn reputation(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(did): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Resp {
    if let Err(e) = check_score_version(&q) {
        return err_resp(e);
    }
    with_operator(&app, &h, &did, |t, v| {
        signal::receipt(t, v, &app.keys.signal)
    })
}

async fn explanation(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(did): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Resp {
    if let Err(e) = check_score_version(&q) {
        return err_resp(e);
    }
    with_operator(&app, &h, &did, signal::explanation)
}

async fn review_status(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(did): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Resp {
    if let Err(e) = check_score_version(&q) {
        return err_resp(e);
    }
    with_operator(&app, &h, &did, signal::review_status)
}

async fn portfolio(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Resp {
    if let Err(e) = check_score_version(&q) {
        return err_resp(e);
    }
    let tenant = match api_key_tenant(&app, &h) {
        Ok(t) => t,
        Err(e) => return err_resp(e),
    };
    let d = app.data.lock();
    match d.tenants.get(&tenant) {
        Some(t) => json_resp(200, &signal::portfolio(t)),
        None => err_resp(ApiError::new(404, "not_found", "unknown tenant")),
    }
}

// ---------- Harbor ----------

fn deny(tenant: &str, intent: &str, code: &str, message: &str) -> Value {
    json!({
        "allow": false, "audit_id": uuid::Uuid::new_v4().to_string(), "tenant": tenant, "intent_id": intent,
        "code": code, "message": message, "reason_codes": [code],
    })
}

fn verify_inner(app: &App, h: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let tenant = harbor_tenant(app, h)?;
    let v = parse_json(body)?;
    let s = |k: &str| -> Result<String, ApiError> {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "invalid_argument",
                    format!("`{k}` is required (string)"),
                )
            })
    };
    let intent_raw = s("intent_id")?;
    let intent_id = uuid::Uuid::parse_str(&intent_raw)
        .map_err(|_| ApiError::new(400, "invalid_argument", "`intent_id` must be a UUID"))?
        .to_string();
    let token = s("token")?;
    let operation = s("operation")?.trim().to_ascii_lowercase();
    let spend = v
        .get("requested_spend_cents")
        .and_then(Value::as_i64)
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            ApiError::new(
                400,
                "invalid_argument",
                "`requested_spend_cents` must be an integer >= 0",
            )
        })?;
    let key = idem_key(h, &v)?;
    let digest = json_value_digest(&v);
    if let Idem::Replay(_, resp) = idem_check(app, &tenant, "verify", &key, &digest)? {
        if let Some(t) = app.data.lock().tenants.get_mut(&tenant) {
            t.stats.verifies += 1;
        }
        return Ok(resp);
    }
    // Token work happens outside the state lock.
    let intent_exists = app
        .data
        .lock()
        .tenants
        .get(&tenant)
        .map(|t| t.intents.contains_key(&intent_id))
        .unwrap_or(false);
    let check = if intent_exists {
        captoken::authorize(
            &app.keys.biscuit_root.public(),
            &token,
            &tenant,
            &intent_id,
            &operation,
            spend,
            SystemTime::now(),
        )
    } else {
        TokenCheck::Deny(
            "intent_not_found",
            format!("no intent {intent_id} in this tenant"),
        )
    };
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(|| ApiError::new(403, "tenant_unknown", "tenant no longer exists"))?;
    // Re-check under the lock that reserves: a concurrent twin with the same
    // key may have reserved while this one checked its token. The record is
    // stored below in this same critical section, so exactly one reserves.
    if let Idem::Replay(_, resp) = idem_lookup(t, "verify", &key, &digest)? {
        t.stats.verifies += 1;
        return Ok(resp);
    }
    t.stats.verifies += 1;
    let out = match check {
        TokenCheck::Deny(code, msg) => deny(&tenant, &intent_id, code, &msg),
        TokenCheck::Ok => {
            let intent = t
                .intents
                .get_mut(&intent_id)
                .ok_or_else(|| ApiError::new(500, "internal", "intent vanished"))?;
            let deadline_passed = time::OffsetDateTime::parse(
                &intent.deadline,
                &time::format_description::well_known::Rfc3339,
            )
            .map(|d| SystemTime::from(d) < SystemTime::now())
            .unwrap_or(false);
            if deadline_passed {
                deny(
                    &tenant,
                    &intent_id,
                    "token_expired",
                    "the intent's deadline has passed",
                )
            } else if intent.remaining_cents < spend {
                deny(
                    &tenant,
                    &intent_id,
                    "budget_exceeded",
                    &format!(
                        "requested {spend} but only {} remain on this intent",
                        intent.remaining_cents
                    ),
                )
            } else {
                intent.remaining_cents -= spend;
                json!({
                    "allow": true, "audit_id": uuid::Uuid::new_v4().to_string(), "decision_id": uuid::Uuid::new_v4().to_string(),
                    "tenant": tenant, "intent_id": intent_id, "remaining_cents": intent.remaining_cents,
                    "operation": operation, "requested_spend_cents": spend, "reason_codes": [],
                })
            }
        }
    };
    if out["allow"] == Value::Bool(true) {
        t.stats.verify_allows += 1;
    } else {
        t.stats.verify_denies += 1;
    }
    idem_store(t, "verify", &key, digest, 200, &out);
    Ok(out)
}

async fn verify(State(app): State<Arc<App>>, h: HeaderMap, body: Bytes) -> Resp {
    ok_or_err(verify_inner(&app, &h, &body))
}

fn eval_predicate(p: &Value, payload: &Value) -> bool {
    let node = p.get("root").unwrap_or(p);
    match node.get("op").and_then(Value::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some("eq") => {
            let path = node.get("path").and_then(Value::as_str).unwrap_or("");
            let got = path
                .split('.')
                .filter(|s| !s.is_empty())
                .try_fold(payload, |v, k| v.get(k));
            got == node.get("value")
        }
        Some("exists") => {
            let path = node.get("path").and_then(Value::as_str).unwrap_or("");
            path.split('.')
                .filter(|s| !s.is_empty())
                .try_fold(payload, |v, k| v.get(k))
                .is_some()
        }
        Some("and") => node
            .get("args")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(|x| eval_predicate(x, payload))),
        Some("or") => node
            .get("args")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| eval_predicate(x, payload))),
        Some(_) => false,
    }
}

fn evidence_inner(
    app: &App,
    h: &HeaderMap,
    intent_raw: &str,
    body: &Bytes,
) -> Result<(u16, Value), ApiError> {
    let tenant = harbor_tenant(app, h)?;
    let v = parse_json(body)?;
    let intent_id = uuid::Uuid::parse_str(intent_raw)
        .map_err(|_| {
            ApiError::new(
                400,
                "invalid_argument",
                "intent id in the path must be a UUID",
            )
        })?
        .to_string();
    let key = idem_key(h, &Value::Null)?;
    let digest = json_value_digest(&v);
    let reject = |app: &App, e: ApiError| {
        if let Some(t) = app.data.lock().tenants.get_mut(&tenant) {
            t.stats.evidence_rejected += 1;
        }
        e
    };
    match idem_check(app, &tenant, "evidence", &key, &digest) {
        Err(e) => return Err(reject(app, e)),
        Ok(Idem::Replay(status, resp)) => {
            let mut d = app.data.lock();
            if let Some(t) = d.tenants.get_mut(&tenant) {
                t.stats.evidence_replays += 1;
                if let Some(op) = resp.get("operator_did").and_then(Value::as_str) {
                    t.operators
                        .entry(op.to_owned())
                        .or_default()
                        .replays
                        .push(SystemTime::now());
                }
            }
            return Ok((status, resp));
        }
        Ok(Idem::Fresh) => {}
    }
    let ev: EvidenceBody = serde_json::from_value(v.clone()).map_err(|e| {
        reject(
            app,
            ApiError::new(400, "invalid_argument", format!("evidence body: {e}")),
        )
    })?;
    let intent: Intent = app
        .data
        .lock()
        .tenants
        .get(&tenant)
        .and_then(|t| t.intents.get(&intent_id).cloned())
        .ok_or_else(|| {
            reject(
                app,
                ApiError::new(
                    404,
                    "intent_not_found",
                    format!("no intent {intent_id} in this tenant"),
                ),
            )
        })?;
    if ev.payee_did != intent.payee_did {
        return Err(reject(
            app,
            ApiError::new(403, "payee_mismatch", "payee_did is not the intent's payee"),
        ));
    }
    if ev.payee_pubkey != base64_std(&intent.payee_pubkey) {
        return Err(reject(
            app,
            ApiError::new(
                403,
                "payee_key_mismatch",
                "payee_pubkey is not the intent's payee key",
            ),
        ));
    }
    let version = verify_evidence_body(
        &tenant,
        &intent_id,
        &ev,
        &[EvidenceSignVersion::V2, EvidenceSignVersion::V1Legacy],
    )
    .map_err(|e| reject(app, ApiError::new(422, "signature_invalid", e.to_string())))?;
    let passed = eval_predicate(&intent.predicate_dsl, &ev.payload);
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(|| ApiError::new(403, "tenant_unknown", "tenant no longer exists"))?;
    // Re-check under the lock: a concurrent twin with the same key may have landed first.
    if let Some(k) = &key {
        if let Some(r) = t.idempotency.get(&("evidence".to_owned(), k.clone())) {
            if r.request_digest == digest {
                t.stats.evidence_replays += 1;
                return Ok((r.status, r.response.clone()));
            }
            t.stats.evidence_rejected += 1;
            return Err(ApiError::new(
                409,
                "idempotency_conflict",
                "this idempotency key was used with a different body",
            ));
        }
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
    idem_store(t, "evidence", &key, digest, 200, &out);
    Ok((200, out))
}

async fn evidence(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Path(intent): Path<String>,
    body: Bytes,
) -> Resp {
    match evidence_inner(&app, &h, &intent, &body) {
        Ok((s, v)) => json_resp(s, &v),
        Err(e) => err_resp(e),
    }
}

fn create_intent_inner(app: &App, h: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    let tenant = harbor_tenant(app, h)?;
    let v = parse_json(body)?;
    let input = paybond_kit::intent::verify_intent_creation(&tenant, &v).map_err(|e| match e {
        paybond_kit::Error::SignatureInvalid { message } => {
            ApiError::new(422, "signature_invalid", message)
        }
        other => ApiError::new(400, "invalid_argument", other.to_string()),
    })?;
    let intent_id = uuid::Uuid::parse_str(&input.intent_id)
        .map_err(|_| ApiError::new(400, "invalid_argument", "bad intent_id"))?
        .to_string();
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
    };
    {
        let d = app.data.lock();
        if let Some(existing) = d
            .tenants
            .get(&tenant)
            .and_then(|t| t.intents.get(&intent_id))
        {
            if existing.created_from_digest != digest {
                return Err(ApiError::new(
                    409,
                    "intent_exists",
                    "an intent with this id exists with another body",
                ));
            }
        }
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
        .ok_or_else(|| ApiError::new(403, "tenant_unknown", "tenant no longer exists"))?;
    t.intents.entry(intent_id).or_insert(intent);
    Ok(out)
}

async fn create_intent(State(app): State<Arc<App>>, h: HeaderMap, body: Bytes) -> Resp {
    ok_or_err(create_intent_inner(&app, &h, &body))
}

async fn get_intent(State(app): State<Arc<App>>, h: HeaderMap, Path(intent): Path<String>) -> Resp {
    let r = (|| {
        let tenant = harbor_tenant(&app, &h)?;
        let d = app.data.lock();
        let i = d
            .tenants
            .get(&tenant)
            .and_then(|t| t.intents.get(&intent.to_ascii_lowercase()))
            .ok_or_else(|| ApiError::new(404, "intent_not_found", "no such intent"))?;
        Ok(json!({
            "tenant": tenant, "intent_id": i.intent_id, "state": i.state, "payee_did": i.payee_did,
            "allowed_tools": i.allowed_tools, "amount_cents": i.amount_cents, "remaining_cents": i.remaining_cents,
            "currency": i.currency, "deadline": i.deadline,
        }))
    })();
    ok_or_err(r)
}

fn ledger_read<F: FnOnce(&crate::state::Tenant) -> Result<Value, ApiError>>(
    app: &App,
    h: &HeaderMap,
    f: F,
) -> Resp {
    let r = (|| {
        let tenant = harbor_tenant(app, h)?;
        let d = app.data.lock();
        let t = d
            .tenants
            .get(&tenant)
            .ok_or_else(|| ApiError::new(403, "tenant_unknown", "tenant no longer exists"))?;
        f(t)
    })();
    ok_or_err(r)
}

async fn ledger_tip(State(app): State<Arc<App>>, h: HeaderMap) -> Resp {
    ledger_read(&app, &h, |t| {
        let last = t.ledger.entries.last();
        Ok(json!({
            "schema_version": crate::ledger::LEDGER_SCHEMA_VERSION, "tenant_id": t.tenant_id,
            "seq": t.ledger.entries.len(), "entry_commitment_hex": last.map(|e| e["entry_commitment_hex"].clone()),
            "empty": last.is_none(),
        }))
    })
}

async fn ledger_authority(State(app): State<Arc<App>>, h: HeaderMap) -> Resp {
    ledger_read(&app, &h, |t| {
        Ok(json!({
            "tenant_id": t.tenant_id, "verifying_key_hex": hex::encode(app.keys.ledger.verifying_key().as_bytes()),
            "algorithm": "ed25519", "commitment": "blake3(prev_commitment || canonical_json(entry - {entry_commitment_hex, signature_hex}))",
            "schema_version": crate::ledger::LEDGER_SCHEMA_VERSION,
        }))
    })
}

async fn ledger_events(
    State(app): State<Arc<App>>,
    h: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Resp {
    ledger_read(&app, &h, |t| {
        let after = match q.get("after_seq") {
            None => 0,
            Some(s) => s.parse::<u64>().map_err(|_| {
                ApiError::new(400, "invalid_argument", "after_seq must be an integer >= 0")
            })?,
        };
        let limit = match q.get("limit") {
            None => 64,
            Some(s) => s
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=256).contains(l))
                .ok_or_else(|| ApiError::new(400, "invalid_argument", "limit must be 1..=256"))?,
        };
        let start = (after as usize).min(t.ledger.entries.len());
        let page: Vec<Value> = t.ledger.entries[start..]
            .iter()
            .take(limit)
            .cloned()
            .collect();
        let next = if start + page.len() < t.ledger.entries.len() {
            page.last().map(|e| e["seq"].clone())
        } else {
            None
        };
        Ok(
            json!({"schema_version": crate::ledger::LEDGER_SCHEMA_VERSION, "tenant_id": t.tenant_id, "entries": page, "next_after_seq": next}),
        )
    })
}

async fn merkle_latest(State(app): State<Arc<App>>, h: HeaderMap) -> Resp {
    ledger_read(&app, &h, |t| {
        Ok(json!({"tenant_id": t.tenant_id, "checkpoint": t.ledger.checkpoint(&app.keys.ledger)}))
    })
}

// ---------- Admin ----------

async fn admin_tenants(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
    body: Bytes,
) -> Resp {
    if let Err(e) = require_loopback(&addr) {
        return err_resp(e);
    }
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(json!({}))
    };
    let (tenant_id, api_key) = app.create_tenant(
        v.get("tenant_id").and_then(Value::as_str),
        v.get("environment").and_then(Value::as_str),
        None,
    );
    json_resp(200, &json!({"tenant_id": tenant_id, "api_key": api_key}))
}

async fn admin_intents(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
    h: HeaderMap,
    body: Bytes,
) -> Resp {
    let r = (|| {
        require_loopback(&addr)?;
        let tenant = api_key_tenant(&app, &h)?;
        let req: DevIntentRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(400, "invalid_argument", format!("dev intent: {e}")))?;
        app.create_dev_intent(&tenant, &req)
    })();
    ok_or_err(r)
}

async fn admin_faults_add(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
    body: Bytes,
) -> Resp {
    let r = (|| {
        require_loopback(&addr)?;
        let f: Fault = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(400, "invalid_argument", format!("fault: {e}")))?;
        Ok(json!({"id": app.faults.add(f)}))
    })();
    ok_or_err(r)
}

async fn admin_faults_list(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
) -> Resp {
    ok_or_err(require_loopback(&addr).map(|_| json!({"faults": app.faults.list()})))
}

async fn admin_faults_clear(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
) -> Resp {
    ok_or_err(require_loopback(&addr).map(|_| {
        app.faults.clear();
        json!({"cleared": true})
    }))
}

/// Per-tenant stats and totals.
pub fn stats_json(app: &App) -> Value {
    let d = app.data.lock();
    let mut tenants = serde_json::Map::new();
    let mut total = Stats::default();
    for (id, t) in &d.tenants {
        let s = &t.stats;
        total.exchanges += s.exchanges;
        total.verifies += s.verifies;
        total.verify_allows += s.verify_allows;
        total.verify_denies += s.verify_denies;
        total.evidence_accepted += s.evidence_accepted;
        total.evidence_replays += s.evidence_replays;
        total.evidence_rejected += s.evidence_rejected;
        total.principal_lookups += s.principal_lookups;
        tenants.insert(id.clone(), serde_json::to_value(s).unwrap_or_default());
    }
    json!({"tenants": tenants, "totals": total})
}

async fn admin_stats(State(app): State<Arc<App>>, Extension(addr): Extension<RemoteAddr>) -> Resp {
    ok_or_err(require_loopback(&addr).map(|_| stats_json(&app)))
}

async fn admin_rebind(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
    body: Bytes,
) -> Resp {
    let r = (|| {
        require_loopback(&addr)?;
        let v = parse_json(&body)?;
        let key = v
            .get("api_key")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::new(400, "invalid_argument", "`api_key` is required"))?;
        let tenant = v
            .get("tenant_id")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::new(400, "invalid_argument", "`tenant_id` is required"))?;
        if !app.rebind_api_key(key, tenant) {
            return Err(ApiError::new(404, "not_found", "unknown API key"));
        }
        Ok(json!({"rebound": true, "tenant_id": tenant}))
    })();
    ok_or_err(r)
}

async fn admin_appeal(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<RemoteAddr>,
    h: HeaderMap,
    Path(did): Path<String>,
) -> Resp {
    let r = (|| {
        require_loopback(&addr)?;
        let tenant = api_key_tenant(&app, &h)?;
        let mut d = app.data.lock();
        let t = d
            .tenants
            .get_mut(&tenant)
            .ok_or_else(|| ApiError::new(404, "not_found", "unknown tenant"))?;
        let sig = t.operators.entry(did.clone()).or_default();
        sig.appeals.push(SystemTime::now());
        Ok(json!({"operator_did": did, "appeal_count": sig.appeals.len()}))
    })();
    ok_or_err(r)
}

async fn admin_keys(State(app): State<Arc<App>>) -> Resp {
    json_resp(
        200,
        &json!({
            "jwt_public_key_hex": hex::encode(app.keys.jwt.verifying_key().as_bytes()),
            "capability_root_public_key_hex": app.keys.biscuit_root.public().to_bytes_hex(),
            "ledger_public_key_hex": hex::encode(app.keys.ledger.verifying_key().as_bytes()),
            "signal_public_key_hex": hex::encode(app.keys.signal.verifying_key().as_bytes()),
        }),
    )
}

fn admin_routes(r: Router<Arc<App>>) -> Router<Arc<App>> {
    r.route("/dev/v1/tenants", post(admin_tenants))
        .route("/dev/v1/intents", post(admin_intents))
        .route(
            "/dev/v1/faults",
            post(admin_faults_add)
                .get(admin_faults_list)
                .delete(admin_faults_clear),
        )
        .route("/dev/v1/stats", get(admin_stats))
        .route("/dev/v1/api-keys/rebind", post(admin_rebind))
        .route("/dev/v1/operators/{did}/appeals", post(admin_appeal))
        .route("/dev/v1/keys", get(admin_keys))
        .route("/healthz", get(|| async { "ok" }))
}

/// The Gateway router (auth, Signal, admin).
pub fn gateway_router(app: Arc<App>) -> Router {
    admin_routes(
        Router::new()
            .route("/v1/auth/harbor-access", post(harbor_access))
            .route("/v1/auth/principal", get(principal))
            .route("/reputation/{did}", get(reputation))
            .route("/signal/v1/portfolio/summary", get(portfolio))
            .route("/signal/v1/operators/{did}/explanation", get(explanation))
            .route(
                "/signal/v1/operators/{did}/review-status",
                get(review_status),
            ),
    )
    .with_state(app)
}

/// The Harbor router (verify, intents, evidence, ledger, admin).
pub fn harbor_router(app: Arc<App>) -> Router {
    admin_routes(
        Router::new()
            .route("/verify", post(verify))
            .route("/intents", post(create_intent))
            .route("/intents/{id}", get(get_intent))
            .route("/intents/{id}/evidence", post(evidence))
            .route("/ledger/v1/tip", get(ledger_tip))
            .route("/ledger/v1/authority", get(ledger_authority))
            .route("/ledger/v1/events", get(ledger_events))
            .route("/ledger/v1/merkle/latest", get(merkle_latest)),
    )
    .with_state(app)
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault: connection dropped")
    }
}
impl std::error::Error for DropConnection {}

async fn handle(
    app: Arc<App>,
    router: Router,
    remote: SocketAddr,
    mut req: axum::http::Request<hyper::body::Incoming>,
) -> Result<Resp, DropConnection> {
    use tower::ServiceExt as _;
    req.extensions_mut().insert(RemoteAddr(remote));
    let path = req.uri().path().to_owned();
    let fault = if path.starts_with("/dev/") || path == "/healthz" {
        None
    } else {
        app.faults.take(req.method().as_str(), &path)
    };
    let Some(f) = fault else {
        return Ok(router
            .oneshot(req.map(Body::new))
            .await
            .unwrap_or_else(|e| match e {}));
    };
    if let Some(ms) = f.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match f.kind {
        FaultKind::Drop => return Err(DropConnection),
        FaultKind::Status => {
            let status = f.status.unwrap_or(503);
            let mut b = Response::builder()
                .status(status)
                .header("content-type", "application/json");
            if let Some(ra) = f.retry_after {
                b = b.header("retry-after", ra.to_string());
            }
            let body = f
                .body
                .clone()
                .unwrap_or_else(|| json!({"error": "injected_fault", "message": format!("fault {} injected HTTP {status}", f.id)}));
            return Ok(b.body(Body::from(body.to_string())).unwrap_or_default());
        }
        FaultKind::Latency => {
            return Ok(router
                .oneshot(req.map(Body::new))
                .await
                .unwrap_or_else(|e| match e {}))
        }
        _ => {}
    }
    let resp = router
        .oneshot(req.map(Body::new))
        .await
        .unwrap_or_else(|e| match e {});
    if f.kind == FaultKind::DropAfter {
        return Err(DropConnection);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| DropConnection)?;
    let new = faults::rewrite(f.kind, &f, &bytes).unwrap_or_else(|| bytes.to_vec());
    if f.kind == FaultKind::Malformed {
        parts.status = StatusCode::OK;
        parts
            .headers
            .insert("content-type", "text/html".parse().expect("static header"));
    }
    parts.headers.remove("content-length");
    Ok(Response::from_parts(parts, Body::from(new)))
}

/// Accepts connections on `listener` until `shutdown` flips.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, remote)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (app, router) = (app.clone(), router.clone());
                let svc = hyper::service::service_fn(move |req| handle(app.clone(), router.clone(), remote, req));
                conns.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
            _ = shutdown.changed() => break,
        }
    }
    conns.abort_all();
}
