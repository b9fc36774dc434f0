//! Payee evidence signing and the canonical JSON digest.

use crate::convert::KitResult;
use crate::convert::{invalid, json_text, Fields};
use crate::sync;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::evidence::{EvidenceInput, EvidenceSignVersion};
use paybond_kit::{Error as KitError, FieldStyle};

/// A signed evidence binding.
#[napi(object)]
pub struct SignedEvidence {
    /// The exact `EvidenceSignV1` bytes, hex.
    pub sign_bytes_hex: String,
    /// The request body as compact JSON text, in wire order (exact numbers).
    pub body_json: String,
}

/// Signs an evidence binding as the payee. `args.payloadJson` is the payload as JSON
/// text (the TS layer stringifies objects, so integers above 2^32 stay integers).
#[napi(
    ts_args_type = "args: { tenantId: string; intentId: string; payeeDid: string; payloadJson: string; artifactsBlake3Hex?: string[]; submittedAtRfc3339: string; payeeSigningSeed: string | Uint8Array; version?: number }"
)]
pub fn sign_payee_evidence(args: Unknown<'_>) -> Result<SignedEvidence> {
    sync(|| {
        let f = Fields::new("args", &args, false)?;
        let payload = json_text("payload_json", f.get("payload_json")?.as_ref())?;
        let seed = f.seed("payee_signing_seed")?;
        let artifacts = f
            .opt_string_list("artifacts_blake3_hex")?
            .unwrap_or_default();
        let (tenant, intent, payee, at) = (
            f.text("tenant_id")?,
            f.text("intent_id")?,
            f.text("payee_did")?,
            f.text("submitted_at_rfc3339")?,
        );
        let input = EvidenceInput {
            tenant_id: &tenant,
            intent_id: &intent,
            payee_did: &payee,
            payload: &payload,
            artifacts_blake3_hex: &artifacts,
            submitted_at_rfc3339: &at,
        };
        let signed = paybond_kit::evidence::sign_payee_evidence_binding(
            &input,
            &seed,
            version("version", f.opt_number("version")?)?,
        )?;
        Ok(SignedEvidence {
            sign_bytes_hex: signed
                .sign_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            body_json: serde_json::to_string(&signed.body).unwrap_or_default(),
        })
    })
}

/// BLAKE3 of the canonical JSON of `valueJson` (JSON text), hex.
#[napi(ts_args_type = "valueJson: string")]
pub fn json_value_digest_hex(value_json: Unknown<'_>) -> Result<String> {
    sync(|| {
        let v = json_text("value", Some(&value_json))?;
        Ok(paybond_kit::digest::json_value_digest(&v)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    })
}

/// An evidence signing version (1 or 2, judged by the core), errors naming `snake`.
pub(crate) fn version(
    snake: &str,
    v: Option<paybond_kit::HostNumber>,
) -> KitResult<EvidenceSignVersion> {
    let Some(n) = v else {
        return Ok(EvidenceSignVersion::default());
    };
    let byte = paybond_kit::input::integer_in(FieldStyle::Camel, snake, &n, 1, 2)?;
    EvidenceSignVersion::from_byte(byte as u8).map_err(|e| match e {
        KitError::InvalidArgument { message, .. } => invalid(snake, message),
        other => other,
    })
}

/// BLAKE3 of the concatenated artifact digests (each 64 hex digits), hex.
#[napi(ts_args_type = "artifactsBlake3HexJson: string")]
pub fn artifacts_digest_hex(artifacts_json: Unknown<'_>) -> Result<String> {
    sync(|| {
        let v = json_text("artifacts_blake3_hex", Some(&artifacts_json))?;
        let list = v.as_array().ok_or_else(|| {
            invalid(
                "artifacts_blake3_hex",
                "expected an array of 64-hex-digit strings",
            )
        })?;
        let raw = list
            .iter()
            .map(|a| {
                a.as_str()
                    .ok_or_else(|| invalid("artifacts_blake3_hex", "expected strings"))
                    .and_then(paybond_kit::digest::parse_artifact_hex)
            })
            .collect::<KitResult<Vec<_>>>()?;
        Ok(paybond_kit::digest::artifacts_digest(&raw)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    })
}

/// The principal-signed `POST /intents` body (JSON text) for `inputJson` (wire names,
/// with `tenant_id`), signed with `principalSigningSeed` (64 hex digits or 32 bytes).
#[napi(ts_args_type = "inputJson: string, principalSigningSeed: string | Uint8Array")]
pub fn sign_intent_creation(input_json: Unknown<'_>, seed: Unknown<'_>) -> Result<String> {
    sync(|| {
        let v = json_text("input", Some(&input_json))?;
        let seed = crate::convert::opt_host_seed("principal_signing_seed", Some(&seed))?
            .ok_or_else(|| {
                invalid(
                    "principal_signing_seed",
                    "expected 64 hex digits or 32 bytes",
                )
            })?;
        let seed = paybond_kit::input::seed(FieldStyle::Camel, "principal_signing_seed", &seed)?;
        let inp = paybond_kit::intent::IntentCreationInput::from_json(&v)?;
        let body = paybond_kit::intent::sign_intent_creation(&inp, &seed)?;
        serde_json::to_string(&body).map_err(|e| KitError::Internal {
            message: format!("cannot write the intent body: {e}"),
        })
    })
}
