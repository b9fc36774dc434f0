//! Payee evidence signing, digests and principal-signed intent creation (no I/O).

use crate::args::{self, text, text_list};
use crate::convert::{from_py, to_py, to_py_err, Json};
use crate::guarded;
use paybond_kit::evidence::{EvidenceInput, EvidenceSignVersion};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sign_payee_evidence_binding, m)?)?;
    m.add_function(wrap_pyfunction!(json_value_digest, m)?)?;
    m.add_function(wrap_pyfunction!(artifacts_digest, m)?)?;
    m.add_function(wrap_pyfunction!(sign_intent_creation, m)?)?;
    Ok(())
}

/// Signs an evidence binding as the payee: `{"sign_bytes": bytes, "body": dict}`.
#[pyfunction]
#[pyo3(signature = (tenant_id, intent_id, payee_did, payload, artifacts_blake3_hex, submitted_at_rfc3339, payee_signing_seed, version=None))]
#[allow(clippy::too_many_arguments)]
fn sign_payee_evidence_binding<'py>(
    py: Python<'py>,
    tenant_id: &Bound<'py, PyAny>,
    intent_id: &Bound<'py, PyAny>,
    payee_did: &Bound<'py, PyAny>,
    payload: &Bound<'py, PyAny>,
    artifacts_blake3_hex: &Bound<'py, PyAny>,
    submitted_at_rfc3339: &Bound<'py, PyAny>,
    payee_signing_seed: &Bound<'py, PyAny>,
    version: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let tenant_id = text(tenant_id, "tenant_id")?;
    let intent_id = text(intent_id, "intent_id")?;
    let payee_did = text(payee_did, "payee_did")?;
    let payload = from_py(payload, "payload")?;
    let artifacts = text_list(artifacts_blake3_hex, "artifacts_blake3_hex")?;
    let submitted_at = text(submitted_at_rfc3339, "submitted_at_rfc3339")?;
    let seed = args::seed(payee_signing_seed, "payee_signing_seed")?;
    let version = match version.filter(|v| !v.is_none()) {
        Some(v) => {
            // Conversion to a byte, then the core's rule (1 or 2).
            let n = paybond_kit::input::integer_in(
                args::STYLE,
                "version",
                &args::host_number(v),
                0,
                255,
            )
            .map_err(to_py_err)?;
            EvidenceSignVersion::from_byte(n as u8).map_err(to_py_err)?
        }
        None => EvidenceSignVersion::default(),
    };
    let input = EvidenceInput {
        tenant_id: &tenant_id,
        intent_id: &intent_id,
        payee_did: &payee_did,
        payload: &payload,
        artifacts_blake3_hex: &artifacts,
        submitted_at_rfc3339: &submitted_at,
    };
    let signed = guarded(|| {
        paybond_kit::evidence::sign_payee_evidence_binding(&input, &seed, version)
            .map_err(to_py_err)
    })?;
    let d = PyDict::new(py);
    d.set_item("sign_bytes", PyBytes::new(py, &signed.sign_bytes))?;
    // Wire order at the top level (the payload itself is canonical: keys sorted by UTF-8 bytes).
    let b = &signed.body;
    let body = PyDict::new(py);
    body.set_item("payload", to_py(py, &b.payload)?)?;
    body.set_item("artifacts", b.artifacts.clone())?;
    body.set_item("payee_did", &b.payee_did)?;
    body.set_item("payee_pubkey", &b.payee_pubkey)?;
    body.set_item("payee_signature", &b.payee_signature)?;
    body.set_item("submitted_at", &b.submitted_at)?;
    d.set_item("body", body)?;
    Ok(d)
}

/// BLAKE3 of the canonical JSON of `value`.
#[pyfunction]
fn json_value_digest<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let v = from_py(value, "value")?;
    let d = guarded(|| Ok(paybond_kit::digest::json_value_digest(&v)))?;
    Ok(PyBytes::new(py, &d))
}

/// BLAKE3 of the concatenated artifact digests.
#[pyfunction]
fn artifacts_digest<'py>(
    py: Python<'py>,
    artifacts_blake3_hex: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let hexes = text_list(artifacts_blake3_hex, "artifacts_blake3_hex")?;
    let d = guarded(|| {
        let raw = hexes
            .iter()
            .map(|a| paybond_kit::digest::parse_artifact_hex(a))
            .collect::<paybond_kit::Result<Vec<_>>>()
            .map_err(to_py_err)?;
        Ok(paybond_kit::digest::artifacts_digest(&raw))
    })?;
    Ok(PyBytes::new(py, &d))
}

/// Principal-signed `POST /intents` body for `input` (a dict, with `tenant_id`).
#[pyfunction]
fn sign_intent_creation(
    input: &Bound<'_, PyAny>,
    principal_signing_seed: &Bound<'_, PyAny>,
) -> PyResult<Json> {
    let v = crate::args::json_object(input, "input")?;
    let seed = args::seed(principal_signing_seed, "principal_signing_seed")?;
    guarded(|| {
        let inp = paybond_kit::intent::IntentCreationInput::from_json(&v).map_err(to_py_err)?;
        paybond_kit::intent::sign_intent_creation(&inp, &seed)
            .map(Json)
            .map_err(to_py_err)
    })
}
