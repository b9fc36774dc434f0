//! `tests/vectors/*.json` (vendored; the same bytes as `../shared/vectors/`) reproduced byte for byte: sign bytes and the whole request body.

use paybond_kit::digest::canonical_json;
use paybond_kit::evidence::{
    seed_from_hex, sign_payee_evidence_binding, EvidenceInput, EvidenceSignVersion,
};
use paybond_kit::intent::{intent_body_bytes, sign_intent_creation, IntentCreationInput};
use serde_json::Value;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    if let Ok(d) = std::env::var("PAYBOND_VECTORS_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn check_evidence(file: &str, version: EvidenceSignVersion) {
    let doc = load(file);
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "expected the full vector set");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let i = &case["input"];
        let artifacts: Vec<String> = i["artifacts_blake3_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let input = EvidenceInput {
            tenant_id: i["tenant_id"].as_str().unwrap(),
            intent_id: i["intent_id"].as_str().unwrap(),
            payee_did: i["payee_did"].as_str().unwrap(),
            payload: &i["payload"],
            artifacts_blake3_hex: &artifacts,
            submitted_at_rfc3339: i["submitted_at"].as_str().unwrap(),
        };
        let seed = seed_from_hex("payee_seed_hex", i["payee_seed_hex"].as_str().unwrap()).unwrap();
        let signed = sign_payee_evidence_binding(&input, &seed, version).unwrap();
        assert_eq!(
            hex::encode(&signed.sign_bytes),
            case["expected"]["sign_bytes_hex"].as_str().unwrap(),
            "{file}/{name}: sign bytes"
        );
        let body = serde_json::to_value(&signed.body).unwrap();
        assert_eq!(body, case["expected"]["body"], "{file}/{name}: body");
        // Byte-level, independent of key order: the canonical bytes of the body we send
        // equal those of the vector's body (floats, escapes and big integers included).
        let sent: Value =
            serde_json::from_slice(&serde_json::to_vec(&signed.body).unwrap()).unwrap();
        assert_eq!(
            canonical_json(&sent),
            canonical_json(&case["expected"]["body"]),
            "{file}/{name}: body bytes"
        );
    }
}

#[test]
fn evidence_sign_v2_vectors() {
    check_evidence("evidence_sign_v2.json", EvidenceSignVersion::V2);
}

#[test]
fn evidence_sign_v1_legacy_vectors() {
    check_evidence(
        "evidence_sign_v1_legacy.json",
        EvidenceSignVersion::V1Legacy,
    );
}

#[test]
fn intent_create_v6_vectors() {
    let doc = load("intent_create_v6.json");
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let i = &case["input"];
        let s = |k: &str| i[k].as_str().unwrap().to_owned();
        let payee_seed = seed_from_hex("payee_seed_hex", &s("payee_seed_hex")).unwrap();
        let principal_seed = seed_from_hex("principal_seed_hex", &s("principal_seed_hex")).unwrap();
        let payee_pub = ed25519_dalek::SigningKey::from_bytes(&payee_seed)
            .verifying_key()
            .to_bytes();
        let input = IntentCreationInput {
            tenant_id: s("tenant_id"),
            intent_id: s("intent_id"),
            principal_did: s("principal_did"),
            payee_did: s("payee_did"),
            budget: i["budget"].clone(),
            currency: s("currency"),
            amount_cents: i["amount_cents"].as_i64().unwrap(),
            evidence_schema: i["evidence_schema"].clone(),
            deadline: s("deadline"),
            predicate_dsl: i["predicate_dsl"].clone(),
            predicate_ref: s("predicate_ref"),
            allowed_tools: i["allowed_tools"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned())
                .collect(),
            settlement_rail: s("settlement_rail"),
            payee_pubkey: payee_pub,
        };
        let body = sign_intent_creation(&input, &principal_seed).unwrap();
        let expected = &case["expected"]["body"];
        assert_eq!(body, *expected, "{name}: body");
        assert_eq!(
            intent_body_bytes(&body),
            paybond_kit::digest::canonical_json(expected),
            "{name}: body bytes"
        );
        // Harbor's side of the same bytes.
        let back = paybond_kit::intent::verify_intent_creation(&input.tenant_id, &body).unwrap();
        assert_eq!(back.intent_id, input.intent_id);
        assert!(paybond_kit::intent::verify_intent_creation("other-tenant", &body).is_err());
    }
}

#[test]
fn vendored_vectors_equal_the_shared_ones() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    let Ok(entries) = std::fs::read_dir(&shared) else {
        return; // a clone without ../shared: the vendored copies are the source
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let ours = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/vectors")
            .join(&name);
        assert_eq!(
            std::fs::read(&ours).unwrap_or_default(),
            std::fs::read(e.path()).unwrap(),
            "tests/vectors/{name:?} differs from ../shared/vectors"
        );
    }
}
