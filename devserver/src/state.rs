//! In-memory state of the dev server: keys, tenants, API keys, intents,
//! idempotency records, ledgers, Signal inputs and counters.

use crate::captoken::{self, Grant};
use crate::ledger::Ledger;
use ed25519_dalek::SigningKey;
use parking_lot::Mutex;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

pub use crate::dev_intent::DevIntentRequest;
pub use crate::error::ApiError;
pub use crate::idempotency::IdemRecord;

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
    /// A verify whose spend is above this needs a human approval first.
    pub approval_threshold_cents: Option<i64>,
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
    /// Decisions completed as `consumed`.
    #[serde(default)]
    pub decisions_consumed: u64,
    /// Decisions completed as `released` by the caller.
    #[serde(default)]
    pub decisions_released: u64,
    /// Reservations released by the server after the hold period.
    #[serde(default)]
    pub reservations_expired: u64,
}

impl Stats {
    /// Adds `o`'s counters to these.
    pub fn add(&mut self, o: &Stats) {
        self.exchanges += o.exchanges;
        self.verifies += o.verifies;
        self.verify_allows += o.verify_allows;
        self.verify_denies += o.verify_denies;
        self.evidence_accepted += o.evidence_accepted;
        self.evidence_replays += o.evidence_replays;
        self.evidence_rejected += o.evidence_rejected;
        self.principal_lookups += o.principal_lookups;
        self.decisions_consumed += o.decisions_consumed;
        self.decisions_released += o.decisions_released;
        self.reservations_expired += o.reservations_expired;
    }
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
    /// Spend decisions, call bindings and approvals.
    pub lifecycle: crate::lifecycle::Lifecycle,
    /// Calls allowed under each attenuation block with a `max_calls`, by the
    /// block's revocation id.
    pub call_counts: crate::captoken::CallCounts,
}

/// Server keys.
pub struct Keys {
    /// Signs Harbor JWTs.
    pub jwt: SigningKey,
    /// Biscuit root key of capability tokens.
    pub biscuit_root: biscuit_auth::KeyPair,
    /// Its public half (derived once: deriving it is a scalar multiplication).
    pub biscuit_root_public: biscuit_auth::PublicKey,
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
    /// The server's notion of now.
    pub clock: crate::clock::DevClock,
    /// How long an allow's reservation is held before the server releases it.
    pub reservation_hold: Duration,
    /// Harbor JWTs whose signature already verified.
    pub verified_jwts: crate::jwt::VerifiedJwts,
    /// Capability tokens whose signature chain already verified.
    pub verified_tokens: crate::captoken::VerifiedTokens,
}

/// Default of [`App::reservation_hold`].
pub const DEFAULT_RESERVATION_HOLD: Duration = Duration::from_secs(300);

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

/// `t` as RFC 3339 with whole seconds (what tokens, intents and receipts carry).
pub fn fmt_time(t: SystemTime) -> String {
    let odt = time::OffsetDateTime::from(t);
    odt.replace_nanosecond(0)
        .unwrap_or(odt)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(crate) fn parse_time(field: &str, s: &str) -> Result<SystemTime, ApiError> {
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
        Self::with_hold(jwt_ttl, DEFAULT_RESERVATION_HOLD)
    }

    /// [`App::new`] with a reservation hold.
    pub fn with_hold(jwt_ttl: Duration, reservation_hold: Duration) -> Self {
        let biscuit_root = biscuit_auth::KeyPair::new();
        App {
            keys: Keys {
                jwt: SigningKey::from_bytes(&random_seed()),
                biscuit_root_public: biscuit_root.public(),
                biscuit_root,
                ledger: SigningKey::from_bytes(&random_seed()),
                signal: SigningKey::from_bytes(&random_seed()),
            },
            data: Mutex::new(Data::default()),
            faults: crate::faults::FaultTable::default(),
            jwt_ttl,
            clock: crate::clock::DevClock::default(),
            // Capped so that `now + hold` never overflows.
            reservation_hold: reservation_hold
                .min(Duration::from_secs(crate::clock::MAX_OFFSET_SECS)),
            verified_jwts: Default::default(),
            verified_tokens: Default::default(),
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
            Some(s) => {
                let now = self.clock.now();
                now.checked_add(Duration::from_secs(s)).unwrap_or(now)
            }
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
}

/// Standard base64.
pub fn base64_std(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
