//! Dev intents (`POST /dev/v1/intents`, [`crate::LocalHarbor::create_intent`]):
//! funded intents created without a principal signature, with a capability
//! token and (unless the caller brings a payee key) a generated payee seed.

use crate::error::ApiError;
use crate::state::{base64_std, fmt_time, parse_time, random_seed, App, Intent};
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// What `POST /dev/v1/intents` takes.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct DevIntentRequest {
    /// Tools the intent allows (non-empty).
    pub allowed_tools: Vec<String>,
    /// Funded amount.
    pub amount_cents: i64,
    /// Currency (default `usd`).
    #[serde(default)]
    pub currency: Option<String>,
    /// Payee DID (default: a generated `did:payee:dev-…`).
    #[serde(default)]
    pub payee_did: Option<String>,
    /// Payee public key, standard base64 (default: generated, and its seed returned).
    #[serde(default)]
    pub payee_pubkey: Option<String>,
    /// Deadline, RFC 3339 (default: 24 h from now).
    #[serde(default)]
    pub deadline: Option<String>,
    /// Token lifetime in seconds (default: until the deadline).
    #[serde(default)]
    pub token_ttl_seconds: Option<u64>,
    /// Per-call spend cap written into the token (default: the amount).
    #[serde(default)]
    pub max_spend_per_call_cents: Option<i64>,
    /// Predicate run on evidence (default: always true).
    #[serde(default)]
    pub predicate_dsl: Option<Value>,
    /// A verify whose spend is above this answers `approval_required` until a
    /// reviewer approves that call (`POST /v1/approvals/{id}`); default: none.
    #[serde(default)]
    pub approval_threshold_cents: Option<i64>,
}

impl App {
    /// `POST /dev/v1/intents` for `tenant_id`.
    pub fn create_dev_intent(
        &self,
        tenant_id: &str,
        req: &DevIntentRequest,
    ) -> Result<Value, ApiError> {
        let tools = paybond_kit::intent::normalize_tools(&req.allowed_tools);
        if tools.is_empty() {
            return Err(ApiError::new(
                400,
                "invalid_argument",
                "`allowed_tools` must name at least one tool",
            ));
        }
        if req.amount_cents < 0 {
            return Err(ApiError::new(
                400,
                "invalid_argument",
                "`amount_cents` must be >= 0",
            ));
        }
        if req.approval_threshold_cents.is_some_and(|c| c < 0) {
            return Err(ApiError::invalid("`approval_threshold_cents` must be >= 0"));
        }
        let (payee_pubkey, seed_hex) = match &req.payee_pubkey {
            Some(b64) => (
                paybond_kit::evidence::decode_pubkey("payee_pubkey", b64)
                    .map_err(|e| ApiError::new(400, "invalid_argument", e.to_string()))?
                    .to_bytes(),
                None,
            ),
            None => {
                let seed = random_seed();
                (
                    SigningKey::from_bytes(&seed).verifying_key().to_bytes(),
                    Some(hex::encode(seed)),
                )
            }
        };
        let deadline = match &req.deadline {
            Some(d) => fmt_time(parse_time("deadline", d)?),
            None => fmt_time(self.clock.now() + Duration::from_secs(86_400)),
        };
        let intent_id = uuid::Uuid::new_v4().to_string();
        let intent = Intent {
            intent_id: intent_id.clone(),
            payee_did: req
                .payee_did
                .clone()
                .unwrap_or_else(|| format!("did:payee:dev-{}", &intent_id[..8])),
            payee_pubkey,
            allowed_tools: tools.clone(),
            amount_cents: req.amount_cents,
            remaining_cents: req.amount_cents,
            currency: req.currency.clone().unwrap_or_else(|| "usd".into()),
            deadline,
            predicate_dsl: req
                .predicate_dsl
                .clone()
                .unwrap_or_else(|| json!({"version": 1, "root": {"op": "true"}})),
            state: "funded".into(),
            created_from_digest: [0; 32],
            approval_threshold_cents: req.approval_threshold_cents,
        };
        let (token, token_expires_at) = self.mint_token(
            tenant_id,
            &intent,
            req.token_ttl_seconds,
            req.max_spend_per_call_cents,
        )?;
        let mut out = json!({
            "intent_id": intent.intent_id,
            "capability_token": token,
            "token_expires_at": token_expires_at,
            "tenant_id": tenant_id,
            "payee_did": intent.payee_did,
            "payee_pubkey": base64_std(&intent.payee_pubkey),
            "allowed_tools": tools,
            "amount_cents": intent.amount_cents,
            "remaining_cents": intent.remaining_cents,
            "currency": intent.currency,
            "deadline": intent.deadline,
            "state": intent.state,
        });
        if let Some(s) = seed_hex {
            out["payee_signing_seed_hex"] = Value::from(s);
        }
        let mut d = self.data.lock();
        let t = d
            .tenants
            .get_mut(tenant_id)
            .ok_or_else(|| ApiError::new(404, "tenant_not_found", "no such tenant"))?;
        t.intents.insert(intent_id, intent);
        Ok(out)
    }
}
