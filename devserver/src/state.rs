//! In-memory state of the dev server: keys, tenants, API keys, intents,
//! idempotency records, ledgers, Signal inputs and counters.

use crate::captoken::{self, Grant};
use crate::ledger::Ledger;
use ed25519_dalek::SigningKey;
use parking_lot::Mutex;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// A stored intent.
#[derive(Clone, Debug)]
pub struct Intent {
    /// Intent id (lower-case UUID).
    pub intent_id: String,
    /// Payee DID.
    pub payee_did: String,
    /// Payee public key.
    pub payee_pubkey: [u8; 32],
    /// Normalized allowed tools.
    pub allowed_tools: Vec<String>,
    /// Funded amount.
    pub amount_cents: i64,
    /// Left after reservations.
    pub remaining_cents: i64,
    /// Currency.
    pub currency: String,
    /// Deadline (RFC 3339).
    pub deadline: String,
    /// Predicate run on evidence.
    pub predicate_dsl: Value,
    /// State: `funded`, `evidence_accepted`, `completed`.
    pub state: String,
    /// The canonical body it was created from (for idempotent re-creates).
    pub created_from_digest: [u8; 32],
}

/// Per-tenant counters (also summed in `/dev/v1/stats`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    /// Harbor JWTs minted.
    pub exchanges: u64,
    /// `POST /verify` handled (including replays).
    pub verifies: u64,
    /// Of which allowed.
    pub verify_allows: u64,
    /// Of which denied.
    pub verify_denies: u64,
    /// Evidence accepted (new ledger entries).
    pub evidence_accepted: u64,
    /// Evidence idempotent replays.
    pub evidence_replays: u64,
    /// Evidence rejected (409, bad signature, ...).
    pub evidence_rejected: u64,
    /// Principal lookups.
    pub principal_lookups: u64,
}

/// An idempotency record: digest of the request and the stored answer.
#[derive(Clone, Debug)]
pub struct IdemRecord {
    /// Canonical digest of the request body.
    pub request_digest: [u8; 32],
    /// HTTP status answered.
    pub status: u16,
    /// Body answered.
    pub response: Value,
}

/// Per-operator inputs to Signal that are not in the ledger.
#[derive(Clone, Debug, Default)]
pub struct OperatorSignals {
    /// Times of evidence replays (idempotent re-submissions).
    pub replays: Vec<SystemTime>,
    /// Times of appeals filed.
    pub appeals: Vec<SystemTime>,
}

/// One tenant.
#[derive(Debug, Default)]
pub struct Tenant {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant UUID.
    pub tenant_uuid: String,
    /// `sandbox` or `live`.
    pub environment: String,
    /// Intents by id.
    pub intents: HashMap<String, Intent>,
    /// Idempotency records by (operation, key).
    pub idempotency: HashMap<(String, String), IdemRecord>,
    /// The ledger.
    pub ledger: Ledger,
    /// Counters.
    pub stats: Stats,
    /// Signal inputs by operator DID.
    pub operators: HashMap<String, OperatorSignals>,
}

/// Server keys.
pub struct Keys {
    /// Signs Harbor JWTs.
    pub jwt: SigningKey,
    /// Biscuit root key of capability tokens.
    pub biscuit_root: biscuit_auth::KeyPair,
    /// Signs ledger entries.
    pub ledger: SigningKey,
    /// Signs Signal receipts.
    pub signal: SigningKey,
}

/// Mutable state behind one lock (the dev server is not a throughput target).
#[derive(Default)]
pub struct Data {
    /// Tenants by id.
    pub tenants: HashMap<String, Tenant>,
    /// API key → tenant id.
    pub api_keys: HashMap<String, String>,
}

/// Everything the handlers share.
pub struct App {
    /// Keys.
    pub keys: Keys,
    /// Mutable data.
    pub data: Mutex<Data>,
    /// Injected faults.
    pub faults: crate::faults::FaultTable,
    /// Harbor JWT lifetime.
    pub jwt_ttl: Duration,
}

/// A fresh random 32-byte seed.
pub fn random_seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

/// A new sandbox API key: `paybond_sk_sandbox_<32 hex>_<64 hex>`.
pub fn new_api_key(environment: &str) -> String {
    let mut a = [0u8; 16];
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut a);
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!(
        "paybond_sk_{environment}_{}_{}",
        hex::encode(a),
        hex::encode(b)
    )
}

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
}

/// An error a handler turns into an HTTP answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Stable code.
    pub code: &'static str,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// Builds one.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

/// `t` as RFC 3339 with whole seconds (what tokens, intents and receipts carry).
pub fn fmt_time(t: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(t);
    odt.replace_nanosecond(0)
        .unwrap_or(odt)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn parse_time(field: &str, s: &str) -> Result<SystemTime, ApiError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|_| {
            ApiError::new(
                400,
                "invalid_argument",
                format!("`{field}` must be an RFC 3339 timestamp"),
            )
        })
}

impl App {
    /// New state with fresh keys and no tenants.
    pub fn new(jwt_ttl: Duration) -> Self {
        App {
            keys: Keys {
                jwt: SigningKey::from_bytes(&random_seed()),
                biscuit_root: biscuit_auth::KeyPair::new(),
                ledger: SigningKey::from_bytes(&random_seed()),
                signal: SigningKey::from_bytes(&random_seed()),
            },
            data: Mutex::new(Data::default()),
            faults: crate::faults::FaultTable::default(),
            jwt_ttl,
        }
    }

    /// Creates (or reuses) a tenant and issues a new API key for it.
    pub fn create_tenant(
        &self,
        tenant_id: Option<&str>,
        environment: Option<&str>,
        api_key: Option<&str>,
    ) -> (String, String) {
        let environment = environment.unwrap_or("sandbox").to_owned();
        let tenant_id = tenant_id.map(str::to_owned).unwrap_or_else(|| {
            format!(
                "tenant-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            )
        });
        let key = api_key
            .map(str::to_owned)
            .unwrap_or_else(|| new_api_key(&environment));
        let mut d = self.data.lock();
        d.tenants
            .entry(tenant_id.clone())
            .or_insert_with(|| Tenant {
                tenant_id: tenant_id.clone(),
                tenant_uuid: uuid::Uuid::new_v4().to_string(),
                environment: environment.clone(),
                ..Tenant::default()
            });
        d.api_keys.insert(key.clone(), tenant_id.clone());
        (tenant_id, key)
    }

    /// The tenant an API key belongs to.
    pub fn tenant_for_key(&self, key: &str) -> Option<String> {
        self.data.lock().api_keys.get(key).cloned()
    }

    /// Rebinds an existing API key to another (possibly new) tenant — for testing tenant-change handling.
    pub fn rebind_api_key(&self, key: &str, tenant_id: &str) -> bool {
        let known = self.data.lock().api_keys.contains_key(key);
        if !known {
            return false;
        }
        self.create_tenant(Some(tenant_id), None, Some(key));
        true
    }

    /// Mints a capability token for an intent.
    pub fn mint_token(
        &self,
        tenant_id: &str,
        intent: &Intent,
        ttl: Option<u64>,
        per_call_cap: Option<i64>,
    ) -> Result<(String, String), ApiError> {
        let deadline = parse_time("deadline", &intent.deadline)?;
        let expires_at = match ttl {
            Some(s) => SystemTime::now() + Duration::from_secs(s),
            None => deadline,
        };
        let grant = Grant {
            tenant_id: tenant_id.to_owned(),
            intent_id: intent.intent_id.clone(),
            operations: intent.allowed_tools.clone(),
            budget_cents: per_call_cap.unwrap_or(intent.amount_cents),
            expires_at,
        };
        let tok = captoken::mint(&self.keys.biscuit_root, &grant)
            .map_err(|e| ApiError::new(500, "internal", format!("cannot mint token: {e}")))?;
        Ok((tok, fmt_time(expires_at)))
    }

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
            None => fmt_time(SystemTime::now() + Duration::from_secs(86_400)),
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

/// Standard base64.
pub fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
