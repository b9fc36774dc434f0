//! `POST /verify` (Harbor): authorizes a tool call against its capability
//! token and the intent's remaining budget; an allow reserves the spend.
//! Deny is HTTP 200 with `allow: false` and a code. Every block of the token
//! is checked ([`captoken::authorize_call`]); the `max_calls` of attenuation
//! blocks are counted here, under the state lock that reserves
//! (`max_calls_exceeded`).

use crate::captoken::{self, CallLimit, TokenCheck};
use crate::error::{ApiError, ApiResult};
use crate::idempotency::{self, Idem, Scope};
use crate::lifecycle::{self, ApprovalStatus, CallArgs, DecisionState};
use crate::server::extract::{HarborTenant, JsonObject};
use crate::state::{App, Tenant};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::SystemTime;

/// A parsed verify body.
#[derive(Debug)]
pub struct VerifyRequest {
    /// Intent (lower-case UUID).
    pub intent_id: String,
    /// Capability token.
    pub token: String,
    /// Tool call id (absent or empty: the call is not bound).
    pub tool_call_id: Option<String>,
    /// Operation, spend and args digest.
    pub args: CallArgs,
    /// Idempotency scope.
    pub scope: Scope,
}

fn required_str(v: &Value, k: &str) -> Result<String, ApiError> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::invalid(format!("`{k}` is required (string)")))
}

/// An optional string field: absent or null is `None`; anything else but a string is refused.
fn optional_str<'a>(v: &'a Value, k: &str) -> Result<Option<&'a str>, ApiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(format!("`{k}` must be a string"))),
    }
}

fn is_digest_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl VerifyRequest {
    /// Validates the body.
    pub fn parse(h: &HeaderMap, v: &Value) -> Result<Self, ApiError> {
        let intent_raw = required_str(v, "intent_id")?;
        let intent_id = uuid::Uuid::parse_str(&intent_raw)
            .map_err(|_| ApiError::invalid("`intent_id` must be a UUID"))?
            .to_string();
        let token = required_str(v, "token")?;
        let operation = required_str(v, "operation")?.trim().to_ascii_lowercase();
        let spend = v
            .get("requested_spend_cents")
            .and_then(Value::as_i64)
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid("`requested_spend_cents` must be an integer >= 0"))?;
        let tool_call_id = optional_str(v, "tool_call_id")?.filter(|c| !c.is_empty());
        if tool_call_id.is_some_and(|c| c.len() > 256) {
            return Err(ApiError::invalid(
                "`tool_call_id` must be at most 256 characters",
            ));
        }
        let args_digest = optional_str(v, "args_digest")?;
        if args_digest.is_some_and(|d| !is_digest_hex(d)) {
            return Err(ApiError::invalid(
                "`args_digest` must be 64 lower-case hex characters",
            ));
        }
        let key = idempotency::request_key(h, Some(v))?;
        Ok(VerifyRequest {
            intent_id,
            token,
            tool_call_id: tool_call_id.map(str::to_owned),
            args: CallArgs {
                args_digest: args_digest.map(str::to_owned),
                operation,
                spend,
            },
            scope: Scope::new("verify", key, v),
        })
    }

    fn call_key(&self) -> Option<(String, String)> {
        self.tool_call_id
            .as_ref()
            .map(|c| (self.intent_id.clone(), c.clone()))
    }
}

/// A deny answer.
pub fn deny(tenant: &str, intent: &str, code: &str, message: &str) -> Value {
    json!({
        "allow": false, "audit_id": uuid::Uuid::new_v4().to_string(), "tenant": tenant, "intent_id": intent,
        "code": code, "message": message, "reason_codes": [code],
    })
}

/// An `approval_required` deny for approval request `id`.
fn approval_required(tenant: &str, intent: &str, id: &str, reason_code: &str) -> Value {
    let mut v = deny(
        tenant,
        intent,
        "approval_required",
        "this call needs a reviewer's approval (POST /v1/approvals/{approval_request_id})",
    );
    v["approval_request_id"] = id.into();
    v["reason_codes"] = json!([reason_code]);
    v
}

/// The deny for a call over an attenuation block's `max_calls`.
fn max_calls_exceeded(tenant: &str, intent: &str, l: &CallLimit) -> Value {
    let msg = format!(
        "attenuation block {} allows {} call(s) and all of them were made",
        l.block, l.max_calls
    );
    deny(tenant, intent, "max_calls_exceeded", &msg)
}

/// Whether the intent's deadline passed at `now`.
fn deadline_passed(deadline: &str, now: SystemTime) -> bool {
    time::OffsetDateTime::parse(deadline, &time::format_description::well_known::Rfc3339)
        .map(|d| SystemTime::from(d) < now)
        .unwrap_or(false)
}

/// What the call's earlier verifies decided, when the call id is bound.
enum Prior {
    /// Nothing yet: judge the call afresh.
    None,
    /// A reviewer approved it: reserve without asking again.
    Approved,
    /// Its decision is still reserved: the same answer, no new reservation.
    Reserved(Value),
    /// The answer is already known (a deny).
    Answer(Value),
}

/// The rules of a bound call id (`call_args_changed`, same decision, `call_replayed`, approvals).
fn prior(t: &Tenant, tenant: &str, r: &VerifyRequest) -> Result<Prior, ApiError> {
    let Some(b) = r.call_key().and_then(|k| t.lifecycle.calls.get(&k)) else {
        return Ok(Prior::None);
    };
    let intent_id = r.intent_id.as_str();
    if b.args != r.args {
        return Err(ApiError::coded(
            409,
            "call_args_changed",
            "this tool_call_id was authorized with other arguments",
        )
        .with("tenant", tenant)
        .with("intent_id", intent_id)
        .with("tool_call_id", r.tool_call_id.clone()));
    }
    if let Some(d) = b
        .decision_id
        .as_ref()
        .and_then(|id| t.lifecycle.decisions.get(id))
    {
        if d.state == DecisionState::Reserved {
            return Ok(Prior::Reserved(d.allow_answer.clone()));
        }
        let msg = format!(
            "tool call {:?} was already authorized and completed ({})",
            r.tool_call_id.as_deref().unwrap_or(""),
            d.state.as_str()
        );
        return Ok(Prior::Answer(deny(
            tenant,
            intent_id,
            "call_replayed",
            &msg,
        )));
    }
    let Some(a) = b
        .approval_id
        .as_ref()
        .and_then(|id| t.lifecycle.approvals.get(id))
    else {
        return Ok(Prior::None);
    };
    Ok(match a.status {
        ApprovalStatus::Approved => Prior::Approved,
        ApprovalStatus::Pending => Prior::Answer(approval_required(
            tenant,
            intent_id,
            &a.approval_request_id,
            "approval_required_pending",
        )),
        ApprovalStatus::Rejected => {
            let msg = a.reason.as_deref().unwrap_or("rejected by the reviewer");
            let mut v = deny(tenant, intent_id, "approval_rejected", msg);
            v["approval_request_id"] = a.approval_request_id.clone().into();
            Prior::Answer(v)
        }
    })
}

/// The answer for a request whose token check gave `check` (and the token's
/// `max_calls` limits), under the lock, and whether it is a new verdict
/// (counted as an allow or deny) rather than the replay of a reservation.
fn decide(
    app: &App,
    t: &mut Tenant,
    tenant: &str,
    r: &VerifyRequest,
    (check, limits): (TokenCheck, Vec<CallLimit>),
    now: SystemTime,
) -> Result<(Value, bool), ApiError> {
    let intent_id = r.intent_id.as_str();
    if let TokenCheck::Deny(code, msg) = check {
        return Ok((deny(tenant, intent_id, code, &msg), true));
    }
    let intent = t
        .intents
        .get(intent_id)
        .ok_or_else(|| ApiError::new(500, "internal", "intent vanished"))?;
    if deadline_passed(&intent.deadline, now) {
        let msg = "the intent's deadline has passed";
        return Ok((deny(tenant, intent_id, "token_expired", msg), true));
    }
    let call = r.call_key();
    let call = call.as_ref();
    let approved = match prior(t, tenant, r)? {
        // The same reservation again; counted once per limited block (a block
        // that did not count it yet, e.g. a second guard's token, counts it now).
        Prior::Reserved(v) => {
            if let Some(l) = t.call_counts.exhausted(&limits, call) {
                return Ok((max_calls_exceeded(tenant, intent_id, l), true));
            }
            t.call_counts.count(&limits, call);
            return Ok((v, false));
        }
        Prior::Answer(v) => return Ok((v, true)),
        Prior::Approved => true,
        Prior::None => false,
    };
    // Counted under this lock, so concurrent calls never pass a block's limit.
    if let Some(l) = t.call_counts.exhausted(&limits, call) {
        return Ok((max_calls_exceeded(tenant, intent_id, l), true));
    }
    let (remaining, threshold) = (intent.remaining_cents, intent.approval_threshold_cents);
    if remaining < r.args.spend {
        let msg = format!(
            "requested {} but only {remaining} remain on this intent",
            r.args.spend
        );
        return Ok((deny(tenant, intent_id, "budget_exceeded", &msg), true));
    }
    let call_id = r.tool_call_id.as_deref();
    if !approved && threshold.is_some_and(|th| r.args.spend > th) {
        let id = lifecycle::request_approval(t, intent_id, call_id, r.args.clone(), now);
        let v = approval_required(tenant, intent_id, &id, "approval_threshold_exceeded");
        return Ok((v, true));
    }
    let hold = app.reservation_hold;
    let out = lifecycle::reserve(t, intent_id, call_id, r.args.clone(), now, hold)?;
    if out["allow"] == Value::Bool(true) {
        t.call_counts.count(&limits, call);
    }
    Ok((out, true))
}

/// `POST /verify`.
pub async fn verify(
    State(app): State<Arc<App>>,
    HarborTenant(tenant): HarborTenant,
    h: HeaderMap,
    JsonObject(v): JsonObject,
) -> ApiResult {
    let r = VerifyRequest::parse(&h, &v)?;
    let intent_exists = {
        let mut d = app.data.lock();
        if let Some(t) = d.tenants.get_mut(&tenant) {
            if let Idem::Replay(_, resp) = replay(t, &r)? {
                t.stats.verifies += 1;
                return Ok(Json(resp));
            }
        }
        d.tenants
            .get(&tenant)
            .is_some_and(|t| t.intents.contains_key(&r.intent_id))
    };
    // Token work happens outside the state lock.
    let now = app.clock.now();
    let check = if intent_exists {
        match app
            .verified_tokens
            .get(&app.keys.biscuit_root_public, &r.token)
        {
            Ok(token) => {
                let op = r.args.operation.as_str();
                captoken::authorize_parsed(&token, &tenant, &r.intent_id, op, r.args.spend, now)
            }
            Err(deny) => (deny, Vec::new()),
        }
    } else {
        let msg = format!("no intent {} in this tenant", r.intent_id);
        (TokenCheck::Deny("intent_not_found", msg), Vec::new())
    };
    let mut d = app.data.lock();
    let t = d
        .tenants
        .get_mut(&tenant)
        .ok_or_else(ApiError::tenant_unknown)?;
    lifecycle::sweep(t, now);
    // Re-check under the lock that reserves: a concurrent twin (same key, or
    // same call id) may have reserved while this one checked its token. The
    // decision and the record are stored below in this same critical
    // section, so exactly one reserves.
    if let Idem::Replay(_, resp) = replay(t, &r)? {
        t.stats.verifies += 1;
        return Ok(Json(resp));
    }
    t.stats.verifies += 1;
    let (out, counted) = decide(&app, t, &tenant, &r, check, now)?;
    match (counted, out["allow"] == Value::Bool(true)) {
        (false, _) => {}
        (true, true) => t.stats.verify_allows += 1,
        (true, false) => t.stats.verify_denies += 1,
    }
    r.scope.store(t, 200, &out);
    Ok(Json(out))
}

/// The idempotent replay of this request, unless its call id is bound (then
/// the call's own rules answer, whatever the idempotency key).
fn replay(t: &Tenant, r: &VerifyRequest) -> Result<Idem, ApiError> {
    let bound = r
        .call_key()
        .is_some_and(|k| t.lifecycle.calls.contains_key(&k));
    if bound || !r.scope.has_key() {
        return Ok(Idem::Fresh);
    }
    r.scope.lookup(t)
}
