//! Payee evidence: `EvidenceSignV1` signing bytes, the Ed25519 payee
//! signature and the `POST /intents/{id}/evidence` request body.

use crate::digest::{artifacts_digest, json_value_digest, parse_artifact_hex};
use crate::encode::{Layout, Writer};
use crate::error::{Error, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// Which `EvidenceSignV1` encoding to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum EvidenceSignVersion {
    /// Version byte 1, fixed-width layout (u64 little-endian lengths): legacy Harbors.
    V1Legacy,
    /// Version byte 2, compact layout (variable-length integers and lengths): current.
    #[default]
    V2,
}

impl EvidenceSignVersion {
    /// The version byte.
    pub fn byte(self) -> u8 {
        match self {
            EvidenceSignVersion::V1Legacy => 1,
            EvidenceSignVersion::V2 => 2,
        }
    }

    /// From the version byte (1 or 2).
    pub fn from_byte(v: u8) -> Result<Self> {
        match v {
            1 => Ok(EvidenceSignVersion::V1Legacy),
            2 => Ok(EvidenceSignVersion::V2),
            other => Err(Error::invalid_argument(
                "version",
                format!("expected 1 or 2, got {other}"),
            )),
        }
    }
}

/// The fields that are signed, as the caller gives them.
#[derive(Clone, Debug)]
pub struct EvidenceInput<'a> {
    /// Tenant the intent belongs to.
    pub tenant_id: &'a str,
    /// The intent (UUID).
    pub intent_id: &'a str,
    /// The payee's DID.
    pub payee_did: &'a str,
    /// The evidence payload (any JSON).
    pub payload: &'a Value,
    /// BLAKE3 digests of artifacts, 64 hex digits each (`0x` and upper case accepted).
    pub artifacts_blake3_hex: &'a [String],
    /// RFC 3339 timestamp; normalized as the `time` crate formats it.
    pub submitted_at_rfc3339: &'a str,
}

/// The body of `POST /intents/{intent_id}/evidence`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceBody {
    /// The evidence payload.
    pub payload: Value,
    /// Artifact digests, lower-case hex without `0x`.
    pub artifacts: Vec<String>,
    /// The payee's DID.
    pub payee_did: String,
    /// Payee Ed25519 public key, standard base64.
    pub payee_pubkey: String,
    /// Ed25519 signature over the sign bytes, standard base64.
    pub payee_signature: String,
    /// The exact timestamp string that was signed.
    pub submitted_at: String,
}

/// A signed evidence binding: the exact signed bytes and the request body.
#[derive(Clone, Debug)]
pub struct SignedEvidence {
    /// The `EvidenceSignV1` bytes that were signed.
    pub sign_bytes: Vec<u8>,
    /// The request body to send.
    pub body: EvidenceBody,
}

/// Normalizes an RFC 3339 timestamp the way the signer does (`Z` for UTC,
/// fractional seconds trimmed, offsets kept).
pub fn normalize_rfc3339(field: &str, raw: &str) -> Result<String> {
    let t = OffsetDateTime::parse(raw, &Rfc3339).map_err(|e| {
        Error::invalid_argument(
            field,
            format!("expected an RFC 3339 timestamp, got {raw:?} ({e})"),
        )
    })?;
    format_rfc3339(t, field)
}

fn format_rfc3339(t: OffsetDateTime, field: &str) -> Result<String> {
    t.format(&Rfc3339)
        .map_err(|e| Error::invalid_argument(field, format!("cannot format timestamp: {e}")))
}

/// The current time as the signer formats it (UTC, `Z`).
pub fn now_rfc3339() -> String {
    // Formatting the current UTC time cannot fail.
    format_rfc3339(OffsetDateTime::now_utc(), "submitted_at").unwrap_or_default()
}

/// Parses a lower- or upper-case UUID.
pub(crate) fn parse_uuid(field: &str, raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| Error::invalid_argument(field, format!("expected a UUID, got {raw:?}")))
}

/// Builds the `EvidenceSignV1` bytes a payee signs. Returns them with the
/// normalized timestamp and artifacts.
///
/// The payload digest is taken from the payload *as Harbor will read it*:
/// serialized as it goes on the wire, then parsed back with serde_json's
/// default number parser (which Harbor uses and which is not correctly
/// rounded for every float). So signer and verifier digest the same numbers.
pub fn evidence_sign_bytes(
    input: &EvidenceInput<'_>,
    version: EvidenceSignVersion,
) -> Result<(Vec<u8>, String, Vec<String>)> {
    // Only floats can read back differently; integers, strings and the rest are exact.
    let digest = if crate::json::has_float(input.payload) {
        json_value_digest(&crate::json::as_harbor_reads(input.payload))
    } else {
        json_value_digest(input.payload)
    };
    sign_bytes_with_digest(input, version, digest)
}

/// Builds the `EvidenceSignV1` bytes for a payload exactly as it was parsed
/// from a request body (what Harbor verifies against).
pub fn evidence_sign_bytes_as_received(
    input: &EvidenceInput<'_>,
    version: EvidenceSignVersion,
) -> Result<(Vec<u8>, String, Vec<String>)> {
    sign_bytes_with_digest(input, version, json_value_digest(input.payload))
}

fn sign_bytes_with_digest(
    input: &EvidenceInput<'_>,
    version: EvidenceSignVersion,
    payload_digest: [u8; 32],
) -> Result<(Vec<u8>, String, Vec<String>)> {
    let intent_id = parse_uuid("intent_id", input.intent_id)?;
    if input.tenant_id.is_empty() {
        return Err(Error::invalid_argument("tenant_id", "must not be empty"));
    }
    if input.payee_did.is_empty() {
        return Err(Error::invalid_argument("payee_did", "must not be empty"));
    }
    let submitted_at = normalize_rfc3339("submitted_at_rfc3339", input.submitted_at_rfc3339)?;
    let raw_artifacts: Vec<[u8; 32]> = input
        .artifacts_blake3_hex
        .iter()
        .map(|a| parse_artifact_hex(a))
        .collect::<Result<_>>()?;
    let layout = match version {
        EvidenceSignVersion::V2 => Layout::Compact,
        EvidenceSignVersion::V1Legacy => Layout::Fixed,
    };
    // EvidenceSignV1, field by field.
    let bytes = Writer::new(layout)
        .u8(version.byte())
        .str(input.tenant_id)
        .bytes(intent_id.as_bytes())
        .str(input.payee_did)
        .array(&payload_digest)
        .array(&artifacts_digest(&raw_artifacts))
        .str(&submitted_at)
        .finish();
    Ok((
        bytes,
        submitted_at,
        raw_artifacts.iter().map(hex::encode).collect(),
    ))
}

/// Parses a 32-byte Ed25519 seed from 64 hex digits.
pub fn seed_from_hex(field: &str, hex_seed: &str) -> Result<[u8; 32]> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(hex_seed.trim(), &mut seed).map_err(|_| {
        Error::invalid_argument(field, "expected 64 hex digits (a 32-byte Ed25519 seed)")
    })?;
    Ok(seed)
}

thread_local! {
    // Expanding a seed into a signing key costs a basepoint multiplication; payees sign many
    // bindings with one seed, so keep the last expanded key per thread.
    static LAST_KEY: std::cell::RefCell<Option<([u8; 32], SigningKey)>> = const { std::cell::RefCell::new(None) };
}

/// The signing key for `seed`, expanded once per thread for a repeated seed.
pub(crate) fn signing_key(seed: &[u8; 32]) -> SigningKey {
    LAST_KEY.with(|c| {
        let mut c = c.borrow_mut();
        match c.as_ref() {
            Some((s, k)) if s == seed => k.clone(),
            _ => {
                let k = SigningKey::from_bytes(seed);
                *c = Some((*seed, k.clone()));
                k
            }
        }
    })
}

/// Signs an evidence binding as the payee and builds the request body.
pub fn sign_payee_evidence_binding(
    input: &EvidenceInput<'_>,
    payee_signing_seed: &[u8; 32],
    version: EvidenceSignVersion,
) -> Result<SignedEvidence> {
    let (sign_bytes, submitted_at, artifacts) = evidence_sign_bytes(input, version)?;
    let key = signing_key(payee_signing_seed);
    let signature = key.sign(&sign_bytes);
    Ok(SignedEvidence {
        body: EvidenceBody {
            payload: input.payload.clone(),
            artifacts,
            payee_did: input.payee_did.to_owned(),
            payee_pubkey: B64.encode(key.verifying_key().as_bytes()),
            payee_signature: B64.encode(signature.to_bytes()),
            submitted_at,
        },
        sign_bytes,
    })
}

/// Verifies an evidence body's payee signature (what Harbor does), with the
/// payload as it was parsed from the request. Returns the version that verified.
pub fn verify_evidence_body(
    tenant_id: &str,
    intent_id: &str,
    body: &EvidenceBody,
    accept: &[EvidenceSignVersion],
) -> Result<EvidenceSignVersion> {
    let key = decode_pubkey("payee_pubkey", &body.payee_pubkey)?;
    let sig = decode_signature("payee_signature", &body.payee_signature)?;
    if body.submitted_at != normalize_rfc3339("submitted_at", &body.submitted_at)? {
        return Err(Error::SignatureInvalid {
            message: "submitted_at is not in signed (normalized) form".into(),
        });
    }
    let input = EvidenceInput {
        tenant_id,
        intent_id,
        payee_did: &body.payee_did,
        payload: &body.payload,
        artifacts_blake3_hex: &body.artifacts,
        submitted_at_rfc3339: &body.submitted_at,
    };
    for v in accept {
        let (bytes, _, _) = evidence_sign_bytes_as_received(&input, *v)?;
        if key.verify(&bytes, &sig).is_ok() {
            return Ok(*v);
        }
    }
    Err(Error::SignatureInvalid {
        message: "payee signature does not verify for this tenant, intent and body".into(),
    })
}

/// Decodes a standard-base64 Ed25519 public key.
pub fn decode_pubkey(field: &str, b64: &str) -> Result<VerifyingKey> {
    let raw = B64
        .decode(b64)
        .map_err(|_| Error::invalid_argument(field, "expected standard base64"))?;
    let arr: [u8; 32] = raw
        .try_into()
        .map_err(|_| Error::invalid_argument(field, "expected a 32-byte Ed25519 public key"))?;
    VerifyingKey::from_bytes(&arr)
        .map_err(|_| Error::invalid_argument(field, "not a valid Ed25519 public key"))
}

/// Decodes a standard-base64 Ed25519 signature.
pub fn decode_signature(field: &str, b64: &str) -> Result<ed25519_dalek::Signature> {
    let raw = B64
        .decode(b64)
        .map_err(|_| Error::invalid_argument(field, "expected standard base64"))?;
    let arr: [u8; 64] = raw
        .try_into()
        .map_err(|_| Error::invalid_argument(field, "expected a 64-byte Ed25519 signature"))?;
    Ok(ed25519_dalek::Signature::from_bytes(&arr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_normalize() {
        assert_eq!(
            normalize_rfc3339("t", "2030-01-02T15:04:05.120Z").unwrap(),
            "2030-01-02T15:04:05.12Z"
        );
        assert_eq!(
            normalize_rfc3339("t", "2030-01-02T17:04:05+02:00").unwrap(),
            "2030-01-02T17:04:05+02:00"
        );
        let e = normalize_rfc3339("submitted_at", "yesterday").unwrap_err();
        assert!(e.to_string().contains("submitted_at"));
    }

    #[test]
    fn sign_then_verify_both_versions() {
        let payload = serde_json::json!({"ok": true});
        let input = EvidenceInput {
            tenant_id: "t1",
            intent_id: "7f2a9b1e-2f66-4f4f-9c6e-8f4b8e85c401",
            payee_did: "did:payee:1",
            payload: &payload,
            artifacts_blake3_hex: &[],
            submitted_at_rfc3339: "2030-01-02T15:04:05Z",
        };
        for v in [EvidenceSignVersion::V1Legacy, EvidenceSignVersion::V2] {
            let s = sign_payee_evidence_binding(&input, &[7; 32], v).unwrap();
            assert_eq!(
                verify_evidence_body(
                    "t1",
                    input.intent_id,
                    &s.body,
                    &[EvidenceSignVersion::V2, EvidenceSignVersion::V1Legacy]
                )
                .unwrap(),
                v
            );
            assert!(verify_evidence_body("t2", input.intent_id, &s.body, &[v]).is_err());
        }
    }
}
