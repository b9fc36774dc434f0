//! Signal, computed from a tenant's ledger per operator (payee DID).

use crate::state::{OperatorSignals, Tenant};
use ed25519_dalek::SigningKey;
use paybond_kit::signal::{sign_receipt, SCORE_VERSION};
use serde_json::{json, Map, Value};
use std::time::{Duration, SystemTime};

/// Replays in 7 days at which replays are throttled.
pub const REPLAY_THROTTLE: usize = 5;
/// Appeals in 30 days at which appeals are throttled.
pub const APPEAL_THROTTLE: usize = 3;

/// Metrics of one operator.
#[derive(Debug, Clone)]
pub struct OperatorView {
    /// DID.
    pub operator_did: String,
    /// Evidence entries.
    pub evidence_count: u64,
    /// Of which the predicate passed.
    pub predicate_passed: u64,
    /// Distinct intents.
    pub intents: u64,
    /// Last ledger seq that counted.
    pub watermark: u64,
    /// Last evidence time.
    pub last_at: Option<String>,
    /// Score 0..=1000.
    pub score: u32,
    /// Replays in 7 days.
    pub replays_7d: usize,
    /// Appeals in 30 days.
    pub appeals_30d: usize,
    /// Last appeal.
    pub last_appeal: Option<SystemTime>,
}

/// The operator's view, or `None` when the tenant has never seen it.
pub fn view(t: &Tenant, did: &str) -> Option<OperatorView> {
    view_at(t, did, SystemTime::now())
}

/// [`view`] with replay and appeal windows measured back from `now`.
pub fn view_at(t: &Tenant, did: &str, now: SystemTime) -> Option<OperatorView> {
    let mut v = OperatorView {
        operator_did: did.to_owned(),
        evidence_count: 0,
        predicate_passed: 0,
        intents: 0,
        watermark: 0,
        last_at: None,
        score: 0,
        replays_7d: 0,
        appeals_30d: 0,
        last_appeal: None,
    };
    let mut intents = std::collections::BTreeSet::new();
    for e in &t.ledger.entries {
        let d = &e["data"];
        if d["operator_did"].as_str() != Some(did) {
            continue;
        }
        v.evidence_count += 1;
        if d["predicate_passed"].as_bool() == Some(true) {
            v.predicate_passed += 1;
        }
        intents.insert(d["intent_id"].as_str().unwrap_or("").to_owned());
        v.watermark = e["seq"].as_u64().unwrap_or(0);
        v.last_at = e["recorded_at"].as_str().map(str::to_owned);
    }
    let known_intent = t.intents.values().any(|i| i.payee_did == did);
    let sig = t.operators.get(did).cloned().unwrap_or_default();
    if v.evidence_count == 0 && !known_intent && sig.appeals.is_empty() {
        return None;
    }
    v.intents = intents.len() as u64;
    let within = |ts: &Vec<SystemTime>, d: Duration| {
        ts.iter()
            .filter(|t| now.duration_since(**t).map(|x| x <= d).unwrap_or(true))
            .count()
    };
    let OperatorSignals { replays, appeals } = &sig;
    v.replays_7d = within(replays, Duration::from_secs(7 * 86_400));
    v.appeals_30d = within(appeals, Duration::from_secs(30 * 86_400));
    v.last_appeal = appeals.iter().max().copied();
    let pass_rate = if v.evidence_count == 0 {
        0.0
    } else {
        v.predicate_passed as f64 / v.evidence_count as f64
    };
    let depth = (v.evidence_count as f64 / 10.0).min(1.0);
    let penalty = (v.replays_7d as f64 * 10.0).min(100.0);
    v.score = (300.0 + 700.0 * pass_rate * depth - penalty)
        .clamp(0.0, 1000.0)
        .round() as u32;
    Some(v)
}

fn maturity(v: &OperatorView) -> &'static str {
    match v.evidence_count {
        0..=2 => "new",
        3..=9 => "developing",
        _ => "established",
    }
}

fn risk(v: &OperatorView) -> &'static str {
    if v.evidence_count == 0 {
        return "unknown";
    }
    let rate = v.predicate_passed as f64 / v.evidence_count as f64;
    if rate >= 0.8 && v.replays_7d < REPLAY_THROTTLE {
        "low"
    } else if rate >= 0.5 {
        "elevated"
    } else {
        "high"
    }
}

/// `GET /reputation/{did}` body.
pub fn receipt(t: &Tenant, v: &OperatorView, key: &SigningKey) -> Value {
    let mut r = Map::new();
    r.insert("tenant_id".into(), t.tenant_id.clone().into());
    r.insert("operator_did".into(), v.operator_did.clone().into());
    r.insert("score_version".into(), SCORE_VERSION.into());
    r.insert("scoring_model".into(), "devserver-ledger-v1".into());
    r.insert("score".into(), v.score.into());
    r.insert(
        "metrics".into(),
        json!({
            "evidence_count": v.evidence_count,
            "predicate_passed": v.predicate_passed,
            "distinct_intents": v.intents,
            "replays_7d": v.replays_7d,
        }),
    );
    r.insert(
        "confidence".into(),
        json!(((v.evidence_count as f64) / 10.0).min(1.0)),
    );
    r.insert("support_depth".into(), json!(v.evidence_count));
    r.insert(
        "review_state".into(),
        json!(if v.appeals_30d > 0 {
            "under_review"
        } else {
            "none"
        }),
    );
    let mut reasons = vec![];
    if v.evidence_count < 3 {
        reasons.push("thin_history");
    }
    if v.replays_7d >= REPLAY_THROTTLE {
        reasons.push("replay_burst");
    }
    r.insert("reason_codes".into(), json!(reasons));
    r.insert("ledger_watermark_seq".into(), v.watermark.into());
    sign_receipt(&mut r, key);
    json!({"schema_version": 1, "updated_at": v.last_at.clone().unwrap_or_else(|| crate::state::fmt_time(SystemTime::now())), "receipt": r})
}

/// `GET /signal/v1/operators/{did}/explanation` body.
pub fn explanation(t: &Tenant, v: &OperatorView) -> Value {
    json!({
        "tenant_id": t.tenant_id,
        "operator_did": v.operator_did,
        "score_version": SCORE_VERSION,
        "score": v.score,
        "factors": [
            {"factor": "predicate_pass_rate", "value": if v.evidence_count == 0 { 0.0 } else { v.predicate_passed as f64 / v.evidence_count as f64 }},
            {"factor": "history_depth", "value": v.evidence_count},
            {"factor": "replays_7d", "value": v.replays_7d},
        ],
        "summary": format!("{} evidence entries over {} intents; {} passed their predicate.", v.evidence_count, v.intents, v.predicate_passed),
    })
}

/// `GET /signal/v1/operators/{did}/review-status` body.
pub fn review_status(t: &Tenant, v: &OperatorView) -> Value {
    let replay_throttled = v.replays_7d >= REPLAY_THROTTLE;
    let appeal_throttled = v.appeals_30d >= APPEAL_THROTTLE;
    let friction_band = match v.replays_7d + v.appeals_30d {
        0 => "none",
        1..=4 => "light",
        _ => "heavy",
    };
    let level = risk(v);
    let mut annotations = vec![];
    if replay_throttled {
        annotations
            .push(json!({"kind": "replay_burst", "shadow": true, "replays_7d": v.replays_7d}));
    }
    if level == "high" {
        annotations.push(json!({"kind": "predicate_failures", "shadow": true}));
    }
    let band = if v.score >= 800 {
        "auto"
    } else if v.score >= 500 {
        "review"
    } else {
        "manual"
    };
    json!({
        "tenant_id": t.tenant_id,
        "operator_did": v.operator_did,
        "score_version": SCORE_VERSION,
        "maturity_tier": {"band": maturity(v), "evidence_count": v.evidence_count},
        "shadow_risk": {"level": level, "shadow": true},
        "active_annotations": annotations,
        "friction": {
            "band": friction_band,
            "replay_count_7d": v.replays_7d,
            "appeal_count_30d": v.appeals_30d,
            "replay_throttled": replay_throttled,
            "appeal_throttled": appeal_throttled,
            "next_appeal_eligible_at": if appeal_throttled { v.last_appeal.map(|t| crate::state::fmt_time(t + Duration::from_secs(30 * 86_400))) } else { None },
        },
        "trust_policy": {
            "decision_band": band,
            "auto_reliance_allowed": band == "auto" && level == "low" && !replay_throttled && !appeal_throttled,
        },
    })
}

/// `GET /signal/v1/portfolio/summary` body.
pub fn portfolio(t: &Tenant) -> Value {
    portfolio_at(t, SystemTime::now())
}

/// [`portfolio`] as of `now`.
pub fn portfolio_at(t: &Tenant, now: SystemTime) -> Value {
    let mut dids: Vec<String> = t.intents.values().map(|i| i.payee_did.clone()).collect();
    dids.extend(
        t.ledger
            .entries
            .iter()
            .filter_map(|e| e["data"]["operator_did"].as_str().map(str::to_owned)),
    );
    dids.sort();
    dids.dedup();
    let ops: Vec<Value> = dids
        .iter()
        .filter_map(|d| view_at(t, d, now))
        .map(|v| json!({"operator_did": v.operator_did, "score": v.score, "maturity_band": maturity(&v), "evidence_count": v.evidence_count}))
        .collect();
    json!({
        "tenant_id": t.tenant_id,
        "score_version": SCORE_VERSION,
        "operator_count": ops.len(),
        "ledger_seq": t.ledger.entries.len(),
        "operators": ops,
    })
}
