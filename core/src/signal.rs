//! Signal reads (on the Gateway, API-key bearer, no `x-tenant-id`):
//! reputation receipts, portfolio summary, operator explanation and review
//! status. Typed, unknown fields preserved, echoes checked, receipt
//! signatures verified.

use crate::digest::json_value_digest;
use crate::error::{Error, Result};
use crate::gateway::GatewayHarborTokenProvider;
use crate::http::{Req, Service};
use crate::session::Lifecycle;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// The only score version this kit reads.
pub const SCORE_VERSION: &str = "1.0";
/// The receipt fields that are not part of the signed digest.
pub const RECEIPT_SIGNING_FIELDS: [&str; 4] = [
    "signing_algorithm",
    "message_digest_hex",
    "signing_public_key_hex",
    "signature_hex",
];
/// `signing_algorithm` of receipts signed by [`sign_receipt`].
pub const RECEIPT_SIGNING_ALGORITHM: &str = "ed25519-blake3-canonical-json";

/// The 32-byte digest a receipt signature covers: the canonical JSON digest
/// of the receipt object without its four signing fields.
pub fn receipt_signing_digest(receipt: &Map<String, Value>) -> [u8; 32] {
    let mut unsigned = receipt.clone();
    for k in RECEIPT_SIGNING_FIELDS {
        unsigned.remove(k);
    }
    json_value_digest(&Value::Object(unsigned))
}

/// Signs `receipt` in place (what Signal does): sets the four signing fields.
pub fn sign_receipt(receipt: &mut Map<String, Value>, key: &SigningKey) {
    let digest = receipt_signing_digest(receipt);
    let sig = key.sign(&digest);
    receipt.insert("signing_algorithm".into(), RECEIPT_SIGNING_ALGORITHM.into());
    receipt.insert("message_digest_hex".into(), hex::encode(digest).into());
    receipt.insert(
        "signing_public_key_hex".into(),
        hex::encode(key.verifying_key().as_bytes()).into(),
    );
    receipt.insert("signature_hex".into(), hex::encode(sig.to_bytes()).into());
}

/// Which key a receipt's signature was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKeySource {
    /// The key pinned with `with_trusted_signing_key`: proves Signal signed it.
    PinnedKey,
    /// The key the receipt itself names: proves integrity only, not who signed.
    #[default]
    EmbeddedKey,
}

/// Verifies a receipt's signature with `trusted_key` when given (the
/// receipt must name that key), else with the key the receipt names. A
/// receipt without a key, digest or signature is `SignatureInvalid`.
pub fn verify_receipt_signature(
    receipt: &Map<String, Value>,
    trusted_key: Option<&VerifyingKey>,
) -> Result<ReceiptKeySource> {
    let get = |k: &str| receipt.get(k).and_then(Value::as_str).unwrap_or("");
    let bad = |m: &str| Error::SignatureInvalid {
        message: m.to_owned(),
    };
    match receipt.get("signing_algorithm") {
        Some(Value::String(a)) if a == RECEIPT_SIGNING_ALGORITHM => {}
        None => {}
        Some(_) => {
            return Err(bad(&format!(
                "receipt signing_algorithm is not {RECEIPT_SIGNING_ALGORITHM:?}"
            )))
        }
    }
    let key_hex = get("signing_public_key_hex");
    if key_hex.is_empty() {
        return Err(bad(
            "receipt has no signing_public_key_hex: it is unsigned and cannot be trusted",
        ));
    }
    if get("signature_hex").is_empty() {
        return Err(bad(
            "receipt has no signature_hex: it is unsigned and cannot be trusted",
        ));
    }
    let mut key_bytes = [0u8; 32];
    hex::decode_to_slice(key_hex, &mut key_bytes)
        .map_err(|_| bad("signing_public_key_hex is not 32 bytes of hex"))?;
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| bad("signing_public_key_hex is not an Ed25519 key"))?;
    if let Some(t) = trusted_key {
        if t != &key {
            return Err(bad("receipt is signed by a key other than the pinned one"));
        }
    }
    let digest = receipt_signing_digest(receipt);
    if get("message_digest_hex") != hex::encode(digest) {
        return Err(bad(
            "message_digest_hex does not match the receipt's contents",
        ));
    }
    let mut sig = [0u8; 64];
    hex::decode_to_slice(get("signature_hex"), &mut sig)
        .map_err(|_| bad("signature_hex is not 64 bytes of hex"))?;
    key.verify(&digest, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| bad("receipt signature does not verify"))?;
    Ok(if trusted_key.is_some() {
        ReceiptKeySource::PinnedKey
    } else {
        ReceiptKeySource::EmbeddedKey
    })
}

/// A signed reputation receipt for one operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReputationReceipt {
    /// Tenant echo.
    pub tenant_id: String,
    /// Operator echo (a DID).
    pub operator_did: String,
    /// Always `"1.0"`.
    pub score_version: String,
    /// Scoring model name.
    pub scoring_model: String,
    /// Score 0..=1000.
    pub score: u32,
    /// Metrics the score came from.
    pub metrics: Map<String, Value>,
    /// Confidence 0..1.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// How much evidence supports the score.
    #[serde(default)]
    pub support_depth: Option<Value>,
    /// Review state.
    #[serde(default)]
    pub review_state: Option<String>,
    /// Reason codes.
    #[serde(default)]
    pub reason_codes: Vec<String>,
    /// Last ledger sequence included.
    pub ledger_watermark_seq: u64,
    /// Signing algorithm.
    #[serde(default)]
    pub signing_algorithm: Option<String>,
    /// Hex of the signed digest.
    #[serde(default)]
    pub message_digest_hex: Option<String>,
    /// Hex of the signing key.
    #[serde(default)]
    pub signing_public_key_hex: Option<String>,
    /// Hex of the signature.
    #[serde(default)]
    pub signature_hex: Option<String>,
    /// Fields this kit does not know yet.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /reputation/{did}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReputationReceiptEnvelope {
    /// Schema version.
    pub schema_version: u32,
    /// When the score was computed.
    pub updated_at: String,
    /// The signed receipt.
    pub receipt: ReputationReceipt,
    /// Which key the receipt's signature was checked against (set by the kit, not read from the wire).
    #[serde(default, skip_deserializing)]
    pub signature_checked_with: ReceiptKeySource,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One operator in a portfolio summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioOperator {
    /// Operator DID.
    pub operator_did: String,
    /// Score 0..=1000.
    pub score: u32,
    /// Maturity band.
    #[serde(default)]
    pub maturity_band: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /signal/v1/portfolio/summary`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    /// Tenant echo.
    pub tenant_id: String,
    /// Score version.
    pub score_version: String,
    /// Operators of the tenant.
    #[serde(default)]
    pub operators: Vec<PortfolioOperator>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /signal/v1/operators/{did}/explanation`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorExplanation {
    /// Tenant echo.
    pub tenant_id: String,
    /// Operator echo.
    pub operator_did: String,
    /// Score version.
    pub score_version: String,
    /// Score.
    pub score: u32,
    /// Factors behind the score.
    #[serde(default)]
    pub factors: Vec<Value>,
    /// Plain-language summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Maturity tier of an operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaturityTier {
    /// Band, e.g. `new`, `developing`, `established`.
    pub band: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Shadow risk of an operator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShadowRisk {
    /// Level, e.g. `low`, `elevated`, `high`.
    pub level: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One active shadow annotation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShadowAnnotation {
    /// Annotation kind.
    pub kind: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Review friction: replays and appeals, and whether they are throttled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Friction {
    /// Band, e.g. `none`, `light`, `heavy`.
    pub band: String,
    /// Replays in the last 7 days.
    pub replay_count_7d: u32,
    /// Appeals in the last 30 days.
    pub appeal_count_30d: u32,
    /// Whether replays are throttled.
    pub replay_throttled: bool,
    /// Whether appeals are throttled.
    pub appeal_throttled: bool,
    /// When the next appeal may be filed.
    #[serde(default)]
    pub next_appeal_eligible_at: Option<String>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a relying party may do on this operator's score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustPolicy {
    /// Decision band.
    pub decision_band: String,
    /// Whether automatic reliance is allowed.
    pub auto_reliance_allowed: bool,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GET /signal/v1/operators/{did}/review-status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatorReviewStatus {
    /// Tenant echo.
    pub tenant_id: String,
    /// Operator echo.
    pub operator_did: String,
    /// Always `"1.0"`: the review fields are additive metadata.
    pub score_version: String,
    /// Maturity tier.
    pub maturity_tier: MaturityTier,
    /// Shadow risk.
    pub shadow_risk: ShadowRisk,
    /// Active shadow annotations.
    #[serde(default)]
    pub active_annotations: Vec<ShadowAnnotation>,
    /// Friction.
    pub friction: Friction,
    /// Trust policy.
    pub trust_policy: TrustPolicy,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a DID (or any value) for a path segment or query value (`:` → `%3A`).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

fn check_operator_did(did: &str) -> Result<()> {
    if did.trim().is_empty() || did.len() > 1024 {
        return Err(Error::invalid_argument(
            "operator_did",
            "expected the operator's DID (the payee DID of its intents), 1-1024 characters",
        ));
    }
    Ok(())
}

/// Signal reads bound to one tenant.
#[derive(Clone)]
pub struct GatewaySignalClient {
    provider: GatewayHarborTokenProvider,
    tenant_id: String,
    life: Arc<Lifecycle>,
    trusted_key: Option<VerifyingKey>,
}

impl fmt::Debug for GatewaySignalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewaySignalClient")
            .field("gateway_base_url", &self.provider.gateway().as_str())
            .field("tenant_id", &self.tenant_id)
            .finish()
    }
}

impl GatewaySignalClient {
    pub(crate) fn new(
        provider: GatewayHarborTokenProvider,
        tenant_id: String,
        life: Arc<Lifecycle>,
    ) -> Self {
        GatewaySignalClient {
            provider,
            tenant_id,
            life,
            trusted_key: None,
        }
    }

    /// Pins the receipt signing key (hex); receipts signed by any other key are rejected.
    pub fn with_trusted_signing_key(mut self, key_hex: &str) -> Result<Self> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(key_hex, &mut b).map_err(|_| {
            Error::invalid_argument("trusted_signing_key_hex", "expected 64 hex digits")
        })?;
        self.trusted_key = Some(VerifyingKey::from_bytes(&b).map_err(|_| {
            Error::invalid_argument("trusted_signing_key_hex", "not an Ed25519 key")
        })?);
        Ok(self)
    }

    /// The tenant this client is bound to.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    async fn get(
        &self,
        path: &str,
        score_version: Option<&str>,
        none_on_404: bool,
    ) -> Result<Option<(Value, String)>> {
        let _in_flight = self.life.enter()?;
        let deadline = self.provider.http().call_deadline();
        let mut url = self.provider.gateway().join(path);
        if let Some(sv) = score_version {
            url.push_str("?score_version=");
            url.push_str(&encode_component(sv));
        }
        let req = Req {
            method: Method::GET,
            url: &url,
            bearer: Some(self.provider.api_key()),
            tenant: None,
            body: None,
            idempotency_key: None,
            retry: true,
        };
        let resp = self.provider.http().send(&req, deadline).await?;
        if resp.status.as_u16() == 404 && none_on_404 {
            return Ok(None);
        }
        let resp = resp.require_success(Service::Signal, &url)?;
        let v = resp.json(&url)?;
        if !v.is_object() {
            return Err(Error::invalid_response(&url, "expected a JSON object"));
        }
        Ok(Some((v, url)))
    }

    fn scrub(&self, e: Error) -> Error {
        let set = &self.provider.http().secrets;
        e.map_text(|t| set.scrub(t))
    }

    fn check_echo(&self, v: &Value, url: &str, operator_did: Option<&str>) -> Result<()> {
        let tenant = v.get("tenant_id").and_then(Value::as_str).unwrap_or("");
        if tenant != self.tenant_id {
            return Err(Error::TenantBinding {
                message: format!(
                    "{url} answered tenant_id {tenant:?}, but this client is bound to {:?}",
                    self.tenant_id
                ),
            });
        }
        if let Some(want) = operator_did {
            let got = v.get("operator_did").and_then(Value::as_str).unwrap_or("");
            if got != want {
                return Err(Error::TenantBinding {
                    message: format!(
                        "{url} answered operator_did {got:?}, but the request named {want:?}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn typed<T: DeserializeOwned>(v: Value, url: &str) -> Result<T> {
        serde_json::from_value(v)
            .map_err(|e| Error::invalid_response(url, format!("unexpected shape ({e})")))
    }

    /// See the wire contract: `reputation_receipt` (echoes checked; errors redacted).
    pub async fn reputation_receipt(
        &self,
        operator_did: &str,
        score_version: Option<&str>,
    ) -> Result<Option<ReputationReceiptEnvelope>> {
        crate::unwind::catch_unwind(self.reputation_receipt_inner(operator_did, score_version))
            .await
            .map_err(|e| self.scrub(e))
    }

    /// See the wire contract: `portfolio_summary` (echoes checked; errors redacted).
    pub async fn portfolio_summary(&self, score_version: Option<&str>) -> Result<PortfolioSummary> {
        crate::unwind::catch_unwind(self.portfolio_summary_inner(score_version))
            .await
            .map_err(|e| self.scrub(e))
    }

    /// See the wire contract: `operator_explanation` (echoes checked; errors redacted).
    pub async fn operator_explanation(
        &self,
        operator_did: &str,
        score_version: Option<&str>,
    ) -> Result<Option<OperatorExplanation>> {
        crate::unwind::catch_unwind(self.operator_explanation_inner(operator_did, score_version))
            .await
            .map_err(|e| self.scrub(e))
    }

    /// See the wire contract: `operator_review_status` (echoes checked; errors redacted).
    pub async fn operator_review_status(
        &self,
        operator_did: &str,
        score_version: Option<&str>,
    ) -> Result<Option<OperatorReviewStatus>> {
        crate::unwind::catch_unwind(self.operator_review_status_inner(operator_did, score_version))
            .await
            .map_err(|e| self.scrub(e))
    }

    /// `GET /reputation/{did}`: the operator's signed receipt (`None` on 404). The signature is checked.
    async fn reputation_receipt_inner(
        &self,
        operator_did: &str,
        score_version: Option<&str>,
    ) -> Result<Option<ReputationReceiptEnvelope>> {
        check_operator_did(operator_did)?;
        let path = format!("/reputation/{}", encode_component(operator_did));
        let Some((v, url)) = self.get(&path, score_version, true).await? else {
            return Ok(None);
        };
        let receipt = v.get("receipt").and_then(Value::as_object).ok_or_else(|| {
            Error::invalid_response(&url, "field `receipt` is missing or not an object")
        })?;
        self.check_echo(&Value::Object(receipt.clone()), &url, Some(operator_did))?;
        let source = verify_receipt_signature(receipt, self.trusted_key.as_ref())?;
        let mut out: ReputationReceiptEnvelope = Self::typed(v, &url)?;
        out.signature_checked_with = source;
        Ok(Some(out))
    }

    /// `GET /signal/v1/portfolio/summary` (404 is an error).
    async fn portfolio_summary_inner(
        &self,
        score_version: Option<&str>,
    ) -> Result<PortfolioSummary> {
        let (v, url) = self
            .get("/signal/v1/portfolio/summary", score_version, false)
            .await?
            .ok_or_else(|| Error::invalid_response("", "no portfolio"))?;
        self.check_echo(&v, &url, None)?;
        Self::typed(v, &url)
    }

    /// `GET /signal/v1/operators/{did}/explanation` (`None` on 404).
    async fn operator_explanation_inner(
        &self,
        operator_did: &str,
        score_version: Option<&str>,
    ) -> Result<Option<OperatorExplanation>> {
        check_operator_did(operator_did)?;
        let path = format!(
            "/signal/v1/operators/{}/explanation",
            encode_component(operator_did)
        );
        let Some((v, url)) = self.get(&path, score_version, true).await? else {
            return Ok(None);
        };
        self.check_echo(&v, &url, Some(operator_did))?;
        Self::typed(v, &url).map(Some)
    }

    /// `GET /signal/v1/operators/{did}/review-status` (`None` on 404).
    async fn operator_review_status_inner(
        &self,
        operator_did: &str,
        score_version: Option<&str>,
    ) -> Result<Option<OperatorReviewStatus>> {
        check_operator_did(operator_did)?;
        let path = format!(
            "/signal/v1/operators/{}/review-status",
            encode_component(operator_did)
        );
        let Some((v, url)) = self.get(&path, score_version, true).await? else {
            return Ok(None);
        };
        self.check_echo(&v, &url, Some(operator_did))?;
        Self::typed(v, &url).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_sign_verify_and_tamper() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let mut r = serde_json::json!({"tenant_id": "t", "operator_did": "did:x", "score": 700})
            .as_object()
            .unwrap()
            .clone();
        sign_receipt(&mut r, &key);
        verify_receipt_signature(&r, None).unwrap();
        verify_receipt_signature(&r, Some(&key.verifying_key())).unwrap();
        r.insert("score".into(), 999.into());
        assert_eq!(
            verify_receipt_signature(&r, None).unwrap_err().code(),
            "signature_invalid"
        );
        assert_eq!(encode_component("did:payee:1"), "did%3Apayee%3A1");
    }

    #[test]
    fn unsigned_receipts_are_never_verified() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let mut r = serde_json::json!({"tenant_id": "t", "operator_did": "did:x", "score": 700})
            .as_object()
            .unwrap()
            .clone();
        sign_receipt(&mut r, &key);
        assert_eq!(
            verify_receipt_signature(&r, None).unwrap(),
            ReceiptKeySource::EmbeddedKey
        );
        assert_eq!(
            verify_receipt_signature(&r, Some(&key.verifying_key())).unwrap(),
            ReceiptKeySource::PinnedKey
        );
        for strip in [
            "signing_public_key_hex",
            "signature_hex",
            "message_digest_hex",
        ] {
            let mut t = r.clone();
            t.remove(strip);
            for pinned in [None, Some(key.verifying_key())] {
                assert_eq!(
                    verify_receipt_signature(&t, pinned.as_ref())
                        .unwrap_err()
                        .code(),
                    "signature_invalid",
                    "{strip}"
                );
            }
        }
        let mut t = r.clone();
        t.insert("signing_algorithm".into(), "none".into());
        assert!(verify_receipt_signature(&t, None).is_err());
    }
}
