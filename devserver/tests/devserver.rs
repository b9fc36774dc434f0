//! The dev server over plain HTTP (reqwest), following WIRE.md — no kit client involved.

use base64::Engine as _;
use paybond_devserver::{DevIntentRequest, DevServerConfig, Fault, FaultKind, LocalHarbor};
use paybond_kit::evidence::{sign_payee_evidence_binding, EvidenceInput, EvidenceSignVersion};
use serde_json::{json, Value};
use std::time::Duration;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

struct H {
    h: LocalHarbor,
    c: reqwest::Client,
}

impl H {
    async fn new() -> Self {
        let h = LocalHarbor::start(DevServerConfig::default())
            .await
            .unwrap();
        H {
            h,
            c: reqwest::Client::new(),
        }
    }

    async fn jwt(&self, key: &str) -> (String, String) {
        let r = self
            .c
            .post(format!("{}/v1/auth/harbor-access", self.h.gateway_url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        (
            v["access_token"].as_str().unwrap().to_owned(),
            v["tenant_id"].as_str().unwrap().to_owned(),
        )
    }

    async fn harbor(
        &self,
        method: reqwest::Method,
        path: &str,
        jwt: &str,
        tenant: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> (u16, Value, String) {
        let mut rb = self
            .c
            .request(method, format!("{}{}", self.h.harbor_url, path))
            .bearer_auth(jwt)
            .header("x-tenant-id", tenant);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        if let Some(k) = key {
            rb = rb.header("idempotency-key", k);
        }
        let r = rb.send().await.unwrap();
        let s = r.status().as_u16();
        let text = r.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or(Value::Null), text)
    }

    async fn verify(
        &self,
        jwt: &str,
        tenant: &str,
        intent: &str,
        token: &str,
        op: &str,
        spend: i64,
    ) -> Value {
        let body = json!({"intent_id": intent, "token": token, "operation": op, "requested_spend_cents": spend});
        let (s, v, _) = self
            .harbor(
                reqwest::Method::POST,
                "/verify",
                jwt,
                tenant,
                Some(&body),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v
    }

    fn intent(&self, tools: &[&str], amount: i64) -> paybond_devserver::DevIntent {
        self.h
            .create_intent(&DevIntentRequest {
                allowed_tools: tools.iter().map(|s| s.to_string()).collect(),
                amount_cents: amount,
                ..Default::default()
            })
            .unwrap()
    }
}

fn evidence_body(
    tenant: &str,
    intent: &paybond_devserver::DevIntent,
    payload: &Value,
    v: EvidenceSignVersion,
) -> Value {
    let seed = paybond_kit::evidence::seed_from_hex(
        "s",
        intent.payee_signing_seed_hex.as_deref().unwrap(),
    )
    .unwrap();
    let input = EvidenceInput {
        tenant_id: tenant,
        intent_id: &intent.intent_id,
        payee_did: &intent.payee_did,
        payload,
        artifacts_blake3_hex: &[],
        submitted_at_rfc3339: "2030-01-02T15:04:05Z",
    };
    serde_json::to_value(sign_payee_evidence_binding(&input, &seed, v).unwrap().body).unwrap()
}

#[tokio::test]
async fn every_deny_code() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let a = t.intent(&["Book_Hotel", "search"], 1000);
    let b = t.intent(&["search"], 1000);

    let ok = t
        .verify(
            &jwt,
            &tenant,
            &a.intent_id,
            &a.capability_token,
            "book_hotel",
            600,
        )
        .await;
    assert_eq!(ok["allow"], true, "{ok}");
    assert_eq!(ok["remaining_cents"], 400);
    assert!(uuid::Uuid::parse_str(ok["audit_id"].as_str().unwrap()).is_ok());
    assert!(ok["decision_id"].is_string());
    assert_eq!(ok["tenant"], tenant.as_str());

    let code = |v: Value| v["code"].as_str().unwrap_or("<none>").to_owned();
    assert_eq!(
        code(
            t.verify(
                &jwt,
                &tenant,
                &a.intent_id,
                &a.capability_token,
                "wire_money",
                1
            )
            .await
        ),
        "operation_not_allowed"
    );
    assert_eq!(
        code(
            t.verify(
                &jwt,
                &tenant,
                &a.intent_id,
                &a.capability_token,
                "search",
                401
            )
            .await
        ),
        "budget_exceeded"
    );
    assert_eq!(
        code(
            t.verify(
                &jwt,
                &tenant,
                &b.intent_id,
                &a.capability_token,
                "search",
                1
            )
            .await
        ),
        "token_intent_mismatch"
    );
    let missing = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        code(
            t.verify(&jwt, &tenant, &missing, &a.capability_token, "search", 1)
                .await
        ),
        "intent_not_found"
    );
    assert_eq!(
        code(
            t.verify(&jwt, &tenant, &a.intent_id, "bm90IGEgdG9rZW4=", "search", 1)
                .await
        ),
        "invalid_token"
    );

    // A token of another tenant, presented for an intent of ours.
    let (other_tenant, other_key) = t.h.create_tenant(Some("tenant-other"));
    let c =
        t.h.create_intent_for(
            &other_tenant,
            &DevIntentRequest {
                allowed_tools: vec!["search".into()],
                amount_cents: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        code(
            t.verify(
                &jwt,
                &tenant,
                &a.intent_id,
                &c.capability_token,
                "search",
                1
            )
            .await
        ),
        "tenant_mismatch"
    );
    let _ = other_key;

    // Expired: a token whose deadline already passed.
    let past =
        t.h.create_intent(&DevIntentRequest {
            allowed_tools: vec!["search".into()],
            amount_cents: 10,
            deadline: Some("2020-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        code(
            t.verify(
                &jwt,
                &tenant,
                &past.intent_id,
                &past.capability_token,
                "search",
                1
            )
            .await
        ),
        "token_expired"
    );

    // Deny answers carry the wire fields too.
    let d = t
        .verify(
            &jwt,
            &tenant,
            &a.intent_id,
            &a.capability_token,
            "wire_money",
            1,
        )
        .await;
    assert_eq!(d["allow"], false);
    assert!(
        d["audit_id"].is_string()
            && d["intent_id"] == a.intent_id.as_str()
            && d["tenant"] == tenant.as_str()
    );
    let s = t.h.stats(&tenant);
    assert_eq!(s.verify_allows, 1);
    assert!(s.verify_denies >= 7);
}

#[tokio::test]
async fn harbor_auth_rules() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let a = t.intent(&["search"], 100);
    let body = json!({"intent_id": a.intent_id, "token": a.capability_token, "operation": "search", "requested_spend_cents": 1});
    // x-tenant-id other than the JWT's tid -> 403.
    let (s, v, _) = t
        .harbor(
            reqwest::Method::POST,
            "/verify",
            &jwt,
            "tenant-other",
            Some(&body),
            None,
        )
        .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"], "tenant_mismatch");
    // A raw API key where a JWT is required -> 401.
    let (s, v, _) = t
        .harbor(
            reqwest::Method::POST,
            "/verify",
            t.h.api_key(),
            &tenant,
            Some(&body),
            None,
        )
        .await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "jwt_required");
    // Garbage bearer -> 401; unknown API key at the Gateway -> 401.
    let (s, _, _) = t
        .harbor(
            reqwest::Method::POST,
            "/verify",
            "x.y.z",
            &tenant,
            Some(&body),
            None,
        )
        .await;
    assert_eq!(s, 401);
    let r =
        t.c.post(format!("{}/v1/auth/harbor-access", t.h.gateway_url))
            .bearer_auth("paybond_sk_sandbox_nope")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 401);
    // Principal.
    let p: Value =
        t.c.get(format!("{}/v1/auth/principal", t.h.gateway_url))
            .bearer_auth(t.h.api_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(p["tenant_id"], tenant.as_str());
    assert_eq!(p["environment"], "sandbox");
    // Key format.
    let k = t.h.api_key();
    let parts: Vec<&str> = k.split('_').collect();
    assert_eq!(&parts[..3], &["paybond", "sk", "sandbox"]);
    assert_eq!((parts[3].len(), parts[4].len()), (32, 64));
}

#[tokio::test]
async fn evidence_idempotency_signatures_and_ledger_chain() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let a = t.intent(&["search"], 100);
    let path = format!("/intents/{}/evidence", a.intent_id);
    let post = reqwest::Method::POST;

    let body = evidence_body(
        &tenant,
        &a,
        &json!({"status": "done"}),
        EvidenceSignVersion::V2,
    );
    let (s1, r1, _) = t
        .harbor(post.clone(), &path, &jwt, &tenant, Some(&body), Some("k-1"))
        .await;
    assert_eq!(s1, 200, "{r1}");
    assert_eq!(
        (r1["tenant"].as_str(), r1["intent_id"].as_str()),
        (Some(tenant.as_str()), Some(a.intent_id.as_str()))
    );
    assert_eq!(r1["predicate_passed"], true);
    let (s2, r2, _) = t
        .harbor(post.clone(), &path, &jwt, &tenant, Some(&body), Some("k-1"))
        .await;
    assert_eq!(
        (s2, &r2),
        (200, &r1),
        "replay answers the original response"
    );
    let other = evidence_body(
        &tenant,
        &a,
        &json!({"status": "other"}),
        EvidenceSignVersion::V2,
    );
    let (s3, _, _) = t
        .harbor(
            post.clone(),
            &path,
            &jwt,
            &tenant,
            Some(&other),
            Some("k-1"),
        )
        .await;
    assert_eq!(s3, 409);
    assert_eq!(t.h.stats(&tenant).evidence_accepted, 1);

    // Legacy v1 accepted when valid.
    let v1 = evidence_body(
        &tenant,
        &a,
        &json!({"status": "v1"}),
        EvidenceSignVersion::V1Legacy,
    );
    let (s, v, _) = t
        .harbor(post.clone(), &path, &jwt, &tenant, Some(&v1), Some("k-v1"))
        .await;
    assert_eq!(s, 200, "{v}");

    // Tampered payload -> 422; wrong key -> 403 (not the intent's payee key) or 422.
    let mut tampered = evidence_body(
        &tenant,
        &a,
        &json!({"status": "done"}),
        EvidenceSignVersion::V2,
    );
    tampered["payload"]["status"] = json!("forged");
    let (s, v, _) = t
        .harbor(
            post.clone(),
            &path,
            &jwt,
            &tenant,
            Some(&tampered),
            Some("k-t"),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (422, Some("signature_invalid")));
    let mut wrong = body.clone();
    let other_key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    wrong["payee_signature"] =
        json!(B64.encode(ed25519_dalek::Signer::sign(&other_key, b"x").to_bytes()));
    let (s, _, _) = t
        .harbor(
            post.clone(),
            &path,
            &jwt,
            &tenant,
            Some(&wrong),
            Some("k-w"),
        )
        .await;
    assert_eq!(s, 422);
    wrong["payee_pubkey"] = json!(B64.encode(other_key.verifying_key().as_bytes()));
    let (s, v, _) = t
        .harbor(
            post.clone(),
            &path,
            &jwt,
            &tenant,
            Some(&wrong),
            Some("k-w2"),
        )
        .await;
    assert_eq!((s, v["error"].as_str()), (403, Some("payee_key_mismatch")));

    // More entries, then walk the chain across pages of 2.
    for i in 0..5 {
        let b = evidence_body(&tenant, &a, &json!({"i": i}), EvidenceSignVersion::V2);
        let (s, _, _) = t
            .harbor(
                post.clone(),
                &path,
                &jwt,
                &tenant,
                Some(&b),
                Some(&format!("k-{i}-n")),
            )
            .await;
        assert_eq!(s, 200);
    }
    let get = reqwest::Method::GET;
    let (_, auth, _) = t
        .harbor(
            get.clone(),
            "/ledger/v1/authority",
            &jwt,
            &tenant,
            None,
            None,
        )
        .await;
    let mut kb = [0u8; 32];
    hex::decode_to_slice(auth["verifying_key_hex"].as_str().unwrap(), &mut kb).unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&kb).unwrap();
    let mut prev = [0u8; 32];
    let mut after = 0u64;
    let mut seen = 0;
    loop {
        let (_, page, _) = t
            .harbor(
                get.clone(),
                &format!("/ledger/v1/events?after_seq={after}&limit=2"),
                &jwt,
                &tenant,
                None,
                None,
            )
            .await;
        assert_eq!(page["tenant_id"], tenant.as_str());
        let entries = page["entries"].as_array().unwrap().clone();
        assert!(entries.len() <= 2);
        prev = paybond_devserver::ledger::verify_chain(&entries, prev, &key).unwrap();
        seen += entries.len();
        match page["next_after_seq"].as_u64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen, 7);
    let (_, tip, _) = t
        .harbor(get.clone(), "/ledger/v1/tip", &jwt, &tenant, None, None)
        .await;
    assert_eq!(tip["seq"], 7);
    assert_eq!(tip["entry_commitment_hex"], json!(hex::encode(prev)));
    let (_, m, _) = t
        .harbor(
            get.clone(),
            "/ledger/v1/merkle/latest",
            &jwt,
            &tenant,
            None,
            None,
        )
        .await;
    assert_eq!(m["checkpoint"]["tree_size"], 7);
    let (s, _, _) = t
        .harbor(get, "/ledger/v1/events?limit=0", &jwt, &tenant, None, None)
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn attenuated_token_is_honoured_and_narrows() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let a = t.intent(&["search", "book"], 1000);
    // The holder narrows offline, without the root key.
    let bytes = B64.decode(&a.capability_token).unwrap();
    let unverified = biscuit_auth::UnverifiedBiscuit::from(&bytes).unwrap();
    let block = biscuit_auth::builder::BlockBuilder::new()
        .code(r#"check if operation($op), ["search"].contains($op); check if spend($s), $s <= 50;"#)
        .unwrap();
    let narrowed = B64.encode(unverified.append(block).unwrap().to_vec().unwrap());
    let v = t
        .verify(&jwt, &tenant, &a.intent_id, &narrowed, "search", 10)
        .await;
    assert_eq!(v["allow"], true, "{v}");
    let v = t
        .verify(&jwt, &tenant, &a.intent_id, &narrowed, "book", 10)
        .await;
    assert_eq!(v["code"], "operation_not_allowed", "{v}");
    let v = t
        .verify(&jwt, &tenant, &a.intent_id, &narrowed, "search", 51)
        .await;
    // An appended block's cap has its own code (the intent's budget is not what refused it).
    assert_eq!(v["code"], "spend_cap_exceeded", "{v}");
    // The original token still allows what the narrowed one does not.
    let v = t
        .verify(&jwt, &tenant, &a.intent_id, &a.capability_token, "book", 51)
        .await;
    assert_eq!(v["allow"], true, "{v}");
    // A forged attenuation that widens is impossible: facts in later blocks do not widen rights.
    let widen = biscuit_auth::builder::BlockBuilder::new()
        .code(r#"allowed_operation("wire_money");"#)
        .unwrap();
    let widened = B64.encode(
        biscuit_auth::UnverifiedBiscuit::from(&bytes)
            .unwrap()
            .append(widen)
            .unwrap()
            .to_vec()
            .unwrap(),
    );
    let v = t
        .verify(&jwt, &tenant, &a.intent_id, &widened, "wire_money", 1)
        .await;
    assert_eq!(v["code"], "operation_not_allowed", "{v}");
}

#[tokio::test]
async fn signal_receipts_verify_with_published_key() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let a = t.intent(&["search"], 100);
    for i in 0..3 {
        let b = evidence_body(&tenant, &a, &json!({"i": i}), EvidenceSignVersion::V2);
        let (s, _, _) = t
            .harbor(
                reqwest::Method::POST,
                &format!("/intents/{}/evidence", a.intent_id),
                &jwt,
                &tenant,
                Some(&b),
                Some(&format!("s{i}")),
            )
            .await;
        assert_eq!(s, 200);
    }
    let keys: Value =
        t.c.get(format!("{}/dev/v1/keys", t.h.gateway_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let did = paybond_kit::signal::encode_component(&a.payee_did);
    assert!(did.contains("%3A"));
    let env: Value =
        t.c.get(format!("{}/reputation/{did}", t.h.gateway_url))
            .bearer_auth(t.h.api_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let receipt = env["receipt"].as_object().unwrap();
    assert_eq!(
        receipt["signing_public_key_hex"],
        keys["signal_public_key_hex"]
    );
    assert_eq!(receipt["score_version"], "1.0");
    assert_eq!(receipt["ledger_watermark_seq"], 3);
    let mut kb = [0u8; 32];
    hex::decode_to_slice(keys["signal_public_key_hex"].as_str().unwrap(), &mut kb).unwrap();
    let pinned = ed25519_dalek::VerifyingKey::from_bytes(&kb).unwrap();
    paybond_kit::signal::verify_receipt_signature(receipt, Some(&pinned)).unwrap();
    let rs: Value =
        t.c.get(format!(
            "{}/signal/v1/operators/{did}/review-status",
            t.h.gateway_url
        ))
        .bearer_auth(t.h.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rs["maturity_tier"]["band"], "developing");
    assert!(rs["friction"]["replay_throttled"].is_boolean());
    // Another tenant's operator is 404.
    let (_, other_key) = t.h.create_tenant(Some("tenant-b"));
    let r =
        t.c.get(format!("{}/reputation/{did}", t.h.gateway_url))
            .bearer_auth(&other_key)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn each_fault_kind_is_observable() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let a = t.intent(&["search"], 1000);
    let body = json!({"intent_id": a.intent_id, "token": a.capability_token, "operation": "search", "requested_spend_cents": 1});
    let post = |t: &H| {
        t.c.post(format!("{}/verify", t.h.harbor_url))
            .bearer_auth(&jwt)
            .header("x-tenant-id", &tenant)
            .json(&body)
            .send()
    };
    // HTTP endpoint for faults, as a user would use it.
    let add = |f: Value| {
        let c = t.c.clone();
        let url = format!("{}/dev/v1/faults", t.h.harbor_url);
        async move { assert_eq!(c.post(url).json(&f).send().await.unwrap().status(), 200) }
    };
    add(json!({"route": "/verify", "kind": "status", "status": 503, "retry_after": 2})).await;
    let r = post(&t).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "2");
    add(json!({"route": "/verify", "kind": "drop"})).await;
    assert!(
        post(&t).await.is_err(),
        "dropped connection is a transport error"
    );
    add(json!({"route": "/verify", "kind": "latency", "latency_ms": 300})).await;
    let started = std::time::Instant::now();
    assert_eq!(post(&t).await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    add(json!({"route": "/verify", "kind": "truncate"})).await;
    assert!(serde_json::from_str::<Value>(&post(&t).await.unwrap().text().await.unwrap()).is_err());
    add(json!({"route": "/verify", "kind": "malformed"})).await;
    assert!(serde_json::from_str::<Value>(&post(&t).await.unwrap().text().await.unwrap()).is_err());
    add(json!({"route": "/verify", "kind": "wrong_tenant"})).await;
    let v: Value = post(&t).await.unwrap().json().await.unwrap();
    assert_ne!(v["tenant"], tenant.as_str());
    add(json!({"route": "/verify", "kind": "wrong_intent"})).await;
    let v: Value = post(&t).await.unwrap().json().await.unwrap();
    assert_ne!(v["intent_id"], a.intent_id.as_str());
    add(json!({"route": "/verify", "kind": "non_boolean_allow"})).await;
    let v: Value = post(&t).await.unwrap().json().await.unwrap();
    assert!(v["allow"].is_string(), "{v}");
    add(json!({"route": "/verify", "kind": "remove_field", "field": "audit_id"})).await;
    let v: Value = post(&t).await.unwrap().json().await.unwrap();
    assert!(v.get("audit_id").is_none());
    // drop_after: the handler ran (spend reserved) but no answer came back.
    let before = t.h.stats(&tenant).verifies;
    t.h.add_fault(Fault::new("/verify", FaultKind::DropAfter));
    assert!(post(&t).await.is_err());
    assert_eq!(t.h.stats(&tenant).verifies, before + 1);
    // count and probability.
    t.h.add_fault(
        Fault::new("/verify", FaultKind::Status)
            .status(500)
            .times(2),
    );
    assert_eq!(post(&t).await.unwrap().status(), 500);
    assert_eq!(post(&t).await.unwrap().status(), 500);
    assert_eq!(post(&t).await.unwrap().status(), 200);
    add(json!({"route": "/verify", "kind": "status", "status": 502, "probability": 1.0})).await;
    assert_eq!(post(&t).await.unwrap().status(), 502);
    assert_eq!(post(&t).await.unwrap().status(), 502);
    assert_eq!(
        t.c.delete(format!("{}/dev/v1/faults", t.h.harbor_url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(post(&t).await.unwrap().status(), 200);
    // Faults on the Gateway listener too.
    t.h.add_fault(Fault::new("/v1/auth/harbor-access", FaultKind::Status).status(429));
    let r =
        t.c.post(format!("{}/v1/auth/harbor-access", t.h.gateway_url))
            .bearer_auth(t.h.api_key())
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 429);
    let stats: Value =
        t.c.get(format!("{}/dev/v1/stats", t.h.gateway_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert!(stats["tenants"][&tenant]["exchanges"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn principal_signed_intent_creation() {
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let payee = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    let input = paybond_kit::intent::IntentCreationInput {
        tenant_id: tenant.clone(),
        intent_id: uuid::Uuid::new_v4().to_string(),
        principal_did: "did:principal:1".into(),
        payee_did: "did:payee:x".into(),
        budget: json!({"max_cents": 500}),
        currency: "usd".into(),
        amount_cents: 500,
        evidence_schema: json!({"type": "object"}),
        deadline: "2099-01-01T00:00:00Z".into(),
        predicate_dsl: json!({"version": 1, "root": {"op": "eq", "path": "status", "value": "done"}}),
        predicate_ref: String::new(),
        allowed_tools: vec!["Search".into()],
        settlement_rail: "stripe_connect".into(),
        payee_pubkey: payee.verifying_key().to_bytes(),
    };
    let body = paybond_kit::intent::sign_intent_creation(&input, &[6; 32]).unwrap();
    let (s, v, _) = t
        .harbor(
            reqwest::Method::POST,
            "/intents",
            &jwt,
            &tenant,
            Some(&body),
            Some("c1"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let tok = v["capability_token"].as_str().unwrap();
    let r = t
        .verify(&jwt, &tenant, &input.intent_id, tok, "search", 100)
        .await;
    assert_eq!(r["allow"], true);
    // Signed for another tenant -> rejected.
    let mut other = input.clone();
    other.tenant_id = "someone-else".into();
    other.intent_id = uuid::Uuid::new_v4().to_string();
    let bad = paybond_kit::intent::sign_intent_creation(&other, &[6; 32]).unwrap();
    let (s, _, _) = t
        .harbor(
            reqwest::Method::POST,
            "/intents",
            &jwt,
            &tenant,
            Some(&bad),
            Some("c2"),
        )
        .await;
    assert_eq!(s, 422);
}

/// Issue 10 item 16: concurrent verifies sharing one idempotency key reserve
/// budget exactly once, and every one of them gets the same (replayed) answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifies_with_one_idempotency_key_reserve_once() {
    const CALLS: usize = 200;
    const ROUNDS: usize = 5;
    const SPEND: i64 = 10;
    let t = H::new().await;
    let (jwt, tenant) = t.jwt(t.h.api_key()).await;
    let url = format!("{}/verify", t.h.harbor_url);
    for round in 0..ROUNDS {
        let a = t.intent(&["search"], 1000);
        let before = t.h.stats(&tenant);
        let key = format!("race-{round}-{}", uuid::Uuid::new_v4());
        let body = json!({
            "intent_id": a.intent_id, "token": a.capability_token,
            "operation": "search", "requested_spend_cents": SPEND,
        });
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CALLS));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..CALLS {
            let (c, url, jwt, tenant, key, body, barrier) = (
                t.c.clone(),
                url.clone(),
                jwt.clone(),
                tenant.clone(),
                key.clone(),
                body.clone(),
                barrier.clone(),
            );
            tasks.spawn(async move {
                barrier.wait().await;
                let r = c
                    .post(url)
                    .bearer_auth(jwt)
                    .header("x-tenant-id", tenant)
                    .header("idempotency-key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap())
            });
        }
        let mut answers = Vec::with_capacity(CALLS);
        while let Some(r) = tasks.join_next().await {
            answers.push(r.unwrap());
        }
        assert_eq!(answers.len(), CALLS);
        let (s0, first) = &answers[0];
        assert_eq!(*s0, 200, "round {round}: {first}");
        assert_eq!(first["allow"], true, "round {round}: {first}");
        assert_eq!(first["remaining_cents"], 1000 - SPEND, "round {round}");
        assert!(first["decision_id"].is_string(), "round {round}: {first}");
        let distinct_decisions: std::collections::HashSet<String> = answers
            .iter()
            .map(|(_, v)| v["decision_id"].to_string())
            .collect();
        for (s, v) in &answers {
            assert_eq!(
                (*s, v),
                (200, first),
                "round {round}: every concurrent twin gets the replayed answer \
                 ({} distinct decision ids)",
                distinct_decisions.len()
            );
        }

        // Budget reserved exactly once.
        let (s, i, _) = t
            .harbor(
                reqwest::Method::GET,
                &format!("/intents/{}", a.intent_id),
                &jwt,
                &tenant,
                None,
                None,
            )
            .await;
        assert_eq!(s, 200, "{i}");
        assert_eq!(
            i["remaining_cents"],
            1000 - SPEND,
            "round {round}: budget reserved more than once"
        );
        let after = t.h.stats(&tenant);
        assert_eq!(
            after.verify_allows - before.verify_allows,
            1,
            "round {round}"
        );
        assert_eq!(after.verify_denies, before.verify_denies, "round {round}");
        assert_eq!(
            after.verifies - before.verifies,
            CALLS as u64,
            "round {round}"
        );

        // Same key, different body: still a conflict.
        let mut other = body.clone();
        other["requested_spend_cents"] = json!(SPEND + 1);
        let (s, v, _) = t
            .harbor(
                reqwest::Method::POST,
                "/verify",
                &jwt,
                &tenant,
                Some(&other),
                Some(&key),
            )
            .await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["error"], "idempotency_conflict");
        // And a later fresh verify sees the single reservation.
        let next = t
            .verify(
                &jwt,
                &tenant,
                &a.intent_id,
                &a.capability_token,
                "search",
                0,
            )
            .await;
        assert_eq!(next["allow"], true, "{next}");
        assert_eq!(next["remaining_cents"], 1000 - SPEND, "round {round}");
    }
}
