//! Spend decisions: reserve on allow, complete (`consumed` | `released`),
//! release by the server after the hold.

use super::{CallArgs, CallBinding, Decision, DecisionState, Outcome};
use crate::error::ApiError;
use crate::state::{fmt_time, Tenant};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

/// Releases the reservations of `t` whose hold ended by `now`.
pub fn sweep(t: &mut Tenant, now: SystemTime) {
    let l = &mut t.lifecycle;
    while l.hold_queue.front().is_some_and(|(until, _)| *until <= now) {
        let Some((until, id)) = l.hold_queue.pop_front() else {
            break;
        };
        let Some(d) = l.decisions.get_mut(&id) else {
            continue;
        };
        if d.state != DecisionState::Reserved {
            continue;
        }
        d.state = DecisionState::Released;
        d.auto_released = true;
        d.completed_at = Some(until);
        if let Some(i) = t.intents.get_mut(&d.intent_id) {
            i.remaining_cents += d.args.spend;
        }
        t.stats.reservations_expired += 1;
    }
}

/// Reserves `args.spend` on `intent_id` (the caller checked the budget) and
/// records the decision; returns the allow answer.
pub fn reserve(
    t: &mut Tenant,
    intent_id: &str,
    call: Option<&str>,
    args: CallArgs,
    now: SystemTime,
    hold: Duration,
) -> Result<Value, ApiError> {
    let intent = t
        .intents
        .get_mut(intent_id)
        .ok_or_else(|| ApiError::new(500, "internal", "intent vanished"))?;
    intent.remaining_cents -= args.spend;
    let decision_id = uuid::Uuid::new_v4().to_string();
    let answer = json!({
        "allow": true, "audit_id": uuid::Uuid::new_v4().to_string(), "decision_id": decision_id,
        "tenant": t.tenant_id, "intent_id": intent_id, "remaining_cents": intent.remaining_cents,
        "operation": args.operation, "requested_spend_cents": args.spend, "reason_codes": [],
    });
    let hold_until = now.checked_add(hold).unwrap_or(now);
    let l = &mut t.lifecycle;
    if let Some(c) = call {
        let b = l
            .calls
            .entry((intent_id.to_owned(), c.to_owned()))
            .or_insert_with(|| CallBinding {
                args: args.clone(),
                decision_id: None,
                approval_id: None,
            });
        b.decision_id = Some(decision_id.clone());
    }
    l.hold_queue.push_back((hold_until, decision_id.clone()));
    l.decisions.insert(
        decision_id.clone(),
        Decision {
            decision_id,
            intent_id: intent_id.to_owned(),
            tool_call_id: call.map(str::to_owned),
            args,
            state: DecisionState::Reserved,
            reserved_at: now,
            hold_until,
            completed_at: None,
            auto_released: false,
            allow_answer: answer.clone(),
            completion: None,
        },
    );
    Ok(answer)
}

/// `GET /v1/spend/decisions/{id}` body.
pub fn decision_record(tenant: &str, d: &Decision) -> Value {
    json!({
        "decision_id": d.decision_id, "tenant": tenant, "intent_id": d.intent_id,
        "tool_call_id": d.tool_call_id, "args_digest": d.args.args_digest,
        "operation": d.args.operation, "spend": d.args.spend, "state": d.state.as_str(),
        "reserved_at": fmt_time(d.reserved_at), "hold_expires_at": fmt_time(d.hold_until),
        "completed_at": d.completed_at.map(fmt_time), "auto_released": d.auto_released,
    })
}

fn remaining(t: &Tenant, intent_id: &str) -> Option<i64> {
    t.intents.get(intent_id).map(|i| i.remaining_cents)
}

/// Completes decision `id` of `t` with `outcome` (rules: [`crate::lifecycle`]).
pub fn complete(
    t: &mut Tenant,
    id: &str,
    outcome: Outcome,
    now: SystemTime,
) -> Result<Value, ApiError> {
    let not_found = || {
        ApiError::coded(404, "decision_not_found", "no such decision in this tenant")
            .with("decision_id", id)
    };
    let d = t.lifecycle.decisions.get(id).ok_or_else(not_found)?;
    if d.state != DecisionState::Reserved {
        if !d.auto_released && d.state == outcome.state() {
            return Ok(d.completion.clone().unwrap_or(Value::Null));
        }
        let why = if d.auto_released {
            "the reservation was released by the server after its hold period"
        } else {
            "this decision was already completed with another outcome"
        };
        return Err(ApiError::coded(409, "decision_already_completed", why)
            .with("decision_id", id)
            .with("tenant", t.tenant_id.clone())
            .with("intent_id", d.intent_id.clone())
            .with("outcome", d.state.as_str())
            .with("auto_released", d.auto_released)
            .with("remaining_cents", remaining(t, &d.intent_id)));
    }
    let (intent_id, spend) = (d.intent_id.clone(), d.args.spend);
    if outcome == Outcome::Released {
        if let Some(i) = t.intents.get_mut(&intent_id) {
            i.remaining_cents += spend;
        }
        t.stats.decisions_released += 1;
    } else {
        t.stats.decisions_consumed += 1;
    }
    let answer = json!({
        "tenant": t.tenant_id, "intent_id": intent_id, "decision_id": id,
        "outcome": outcome.state().as_str(), "remaining_cents": remaining(t, &intent_id),
    });
    if let Some(d) = t.lifecycle.decisions.get_mut(id) {
        d.state = outcome.state();
        d.completed_at = Some(now);
        d.completion = Some(answer.clone());
    }
    Ok(answer)
}
