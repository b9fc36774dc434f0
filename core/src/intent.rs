//! Principal-signed intent creation (`IntentCreationSign`, signing version 6).

use crate::digest::{canonical_json, json_value_digest};
use crate::encode::{Layout, Writer};
use crate::error::{Error, Result};
use crate::evidence::{normalize_rfc3339, parse_uuid};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, Verifier};
use serde_json::{json, Value};

/// The signing version this kit produces.
pub const INTENT_SIGNING_VERSION: u8 = 6;

/// What a principal signs to create an intent.
#[derive(Clone, Debug)]
pub struct IntentCreationInput {
    /// Tenant the intent is created in (signed, not sent in the body).
    pub tenant_id: String,
    /// New intent id (UUID).
    pub intent_id: String,
    /// The principal's DID.
    pub principal_did: String,
    /// The payee's DID.
    pub payee_did: String,
    /// Budget document.
    pub budget: Value,
    /// ISO currency, lower case (e.g. `usd`).
    pub currency: String,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// JSON schema the evidence payload must meet.
    pub evidence_schema: Value,
    /// RFC 3339 deadline.
    pub deadline: String,
    /// Predicate program run on the evidence.
    pub predicate_dsl: Value,
    /// Optional predicate reference (empty: none).
    pub predicate_ref: String,
    /// Tools the intent allows (non-empty).
    pub allowed_tools: Vec<String>,
    /// Settlement rail, e.g. `stripe_connect`.
    pub settlement_rail: String,
    /// The payee's Ed25519 public key.
    pub payee_pubkey: [u8; 32],
}

/// Tools trimmed, ASCII-lower-cased, sorted and de-duplicated (empty names dropped).
pub fn normalize_tools<S: AsRef<str>>(tools: &[S]) -> Vec<String> {
    let mut out: Vec<String> = tools
        .iter()
        .map(|t| t.as_ref().trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The JSON digest of the normalized tool list.
pub fn allowed_tools_digest<S: AsRef<str>>(tools: &[S]) -> [u8; 32] {
    json_value_digest(&Value::from(normalize_tools(tools)))
}

/// The exact bytes a principal signs.
pub fn intent_sign_bytes(input: &IntentCreationInput) -> Result<Vec<u8>> {
    if input.tenant_id.trim().is_empty() {
        return Err(Error::invalid_argument(
            "tenant_id",
            "expected the tenant the intent is signed for",
        ));
    }
    if normalize_tools(&input.allowed_tools).is_empty() {
        return Err(Error::invalid_argument(
            "allowed_tools",
            "expected at least one tool name",
        ));
    }
    if input.amount_cents < 0 {
        return Err(Error::invalid_argument(
            "amount_cents",
            "expected an amount >= 0",
        ));
    }
    let deadline = normalize_rfc3339("deadline", &input.deadline)?;
    let intent_id = parse_uuid("intent_id", &input.intent_id)?;
    // IntentCreationSign (version 6), field by field.
    Ok(Writer::new(Layout::Compact)
        .u8(INTENT_SIGNING_VERSION)
        .str(&input.tenant_id)
        .bytes(intent_id.as_bytes())
        .str(&input.principal_did)
        .str(&input.payee_did)
        .i64(input.amount_cents)
        .str(&input.currency)
        .str(&deadline)
        .array(&json_value_digest(&input.budget))
        .array(&json_value_digest(&input.evidence_schema))
        .array(&json_value_digest(&input.predicate_dsl))
        .str(&input.predicate_ref)
        .array(&allowed_tools_digest(&input.allowed_tools))
        .str(&input.settlement_rail)
        .array(&input.payee_pubkey)
        .finish())
}

/// Signs `input` with the principal's seed and builds the `POST /intents` body
/// (canonical JSON: keys sorted).
pub fn sign_intent_creation(
    input: &IntentCreationInput,
    principal_signing_seed: &[u8; 32],
) -> Result<Value> {
    if input.tenant_id.trim().is_empty() {
        return Err(Error::invalid_argument(
            "tenant_id",
            "expected the tenant the intent is signed for (it is part of the signed bytes)",
        ));
    }
    let bytes = intent_sign_bytes(input)?;
    let key = SigningKey::from_bytes(principal_signing_seed);
    let sig = key.sign(&bytes);
    let mut body = json!({
        "allowed_tools": input.allowed_tools,
        "amount_cents": input.amount_cents,
        "budget": input.budget,
        "currency": input.currency,
        "deadline": normalize_rfc3339("deadline", &input.deadline)?,
        "evidence_schema": input.evidence_schema,
        "intent_id": input.intent_id.to_ascii_lowercase(),
        "payee_did": input.payee_did,
        "payee_pubkey": B64.encode(input.payee_pubkey),
        "policy_binding": Value::Null,
        "predicate_dsl": input.predicate_dsl,
        "principal_did": input.principal_did,
        "principal_pubkey": B64.encode(key.verifying_key().as_bytes()),
        "principal_signature": B64.encode(sig.to_bytes()),
        "settlement_rail": input.settlement_rail,
        "signing_version": INTENT_SIGNING_VERSION,
    });
    if !input.predicate_ref.is_empty() {
        body["predicate_ref"] = Value::from(input.predicate_ref.clone());
    }
    Ok(body)
}

/// The canonical bytes of an intent body (what is sent on the wire).
pub fn intent_body_bytes(body: &Value) -> Vec<u8> {
    canonical_json(body)
}

impl IntentCreationInput {
    /// Reads an input from JSON with the wire field names (`payee_pubkey` in standard base64).
    /// Missing `budget`, `evidence_schema` and `predicate_dsl` are `{}`, `predicate_ref` is empty,
    /// `settlement_rail` is `stripe_connect`, `tenant_id` is empty (the session fills it in).
    pub fn from_json(v: &Value) -> Result<Self> {
        let s = |k: &str| -> Result<String> {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::invalid_argument(k, "expected a string"))
        };
        let obj = |k: &str| {
            v.get(k)
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()))
        };
        let tools = v
            .get("allowed_tools")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| {
                Error::invalid_argument("allowed_tools", "expected a non-empty array of strings")
            })?;
        Ok(IntentCreationInput {
            tenant_id: v
                .get("tenant_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            intent_id: s("intent_id")?,
            principal_did: s("principal_did")?,
            payee_did: s("payee_did")?,
            budget: obj("budget"),
            currency: s("currency")?,
            amount_cents: v
                .get("amount_cents")
                .and_then(Value::as_i64)
                .ok_or_else(|| Error::invalid_argument("amount_cents", "expected an integer"))?,
            evidence_schema: obj("evidence_schema"),
            deadline: s("deadline")?,
            predicate_dsl: obj("predicate_dsl"),
            predicate_ref: v
                .get("predicate_ref")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            allowed_tools: tools,
            settlement_rail: v
                .get("settlement_rail")
                .and_then(Value::as_str)
                .unwrap_or("stripe_connect")
                .to_owned(),
            payee_pubkey: crate::evidence::decode_pubkey("payee_pubkey", &s("payee_pubkey")?)?
                .to_bytes(),
        })
    }
}

/// Reads a `POST /intents` body back into its signed input and checks the
/// principal signature (what Harbor does). `tenant_id` comes from the caller's credentials.
pub fn verify_intent_creation(tenant_id: &str, body: &Value) -> Result<IntentCreationInput> {
    let version = body.get("signing_version").and_then(Value::as_u64);
    if version != Some(INTENT_SIGNING_VERSION as u64) {
        return Err(Error::invalid_argument(
            "signing_version",
            format!("expected {INTENT_SIGNING_VERSION}"),
        ));
    }
    let field = |k: &str| -> Result<&str> {
        body.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid_argument(k, "expected a string"))
    };
    let principal_key =
        crate::evidence::decode_pubkey("principal_pubkey", field("principal_pubkey")?)?;
    let sig =
        crate::evidence::decode_signature("principal_signature", field("principal_signature")?)?;
    let mut input = IntentCreationInput::from_json(body)?;
    input.tenant_id = tenant_id.to_owned();
    let bytes = intent_sign_bytes(&input)?;
    principal_key
        .verify(&bytes, &sig)
        .map_err(|_| Error::SignatureInvalid {
            message: "principal signature does not verify".into(),
        })?;
    Ok(input)
}
