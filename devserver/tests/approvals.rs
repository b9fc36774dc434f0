//! Human approval over HTTP (issue 12): calls above an intent's threshold
//! wait for a reviewer; approve reserves once, reject denies with the reason.

mod common;

use common::{digest, exchange, send, uuid_of, verify_body, T};
use serde_json::{json, Value};

#[tokio::test]
async fn approval_pauses_then_approve_allows_once() {
    let t = T::new().await;
    let a = t.intent(2000, Some(500));
    let small = t
        .verify(&verify_body(&a, "book", 500, Some("small"), None))
        .await;
    assert_eq!(
        small["allow"], true,
        "at the threshold: no approval: {small}"
    );
    let d = digest(&json!({"hotel": "big"}));
    let body = verify_body(&a, "book", 600, Some("big"), Some(&d));
    let v = t.verify(&body).await;
    assert_eq!(v["allow"], false, "{v}");
    assert_eq!(v["code"], "approval_required");
    assert_eq!(v["reason_codes"], json!(["approval_threshold_exceeded"]));
    assert_eq!(v["tenant"], t.tenant.as_str());
    assert_eq!(v["intent_id"], a.intent_id.as_str());
    uuid_of(&v, "audit_id");
    let id = uuid_of(&v, "approval_request_id");
    assert_eq!(
        t.remaining(&a).await,
        1500,
        "nothing reserved while pending"
    );
    let again = t.verify(&body).await;
    assert_eq!(again["code"], "approval_required");
    assert_eq!(again["approval_request_id"], id.as_str());
    assert_eq!(again["reason_codes"], json!(["approval_required_pending"]));
    // Other args under the same call id: refused.
    let other = verify_body(&a, "book", 600, Some("big"), Some(&digest(&json!(0))));
    let (s, v) = t.post("/verify", &other).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("call_args_changed")),
        "{v}"
    );
    // The reviewer approves with the tenant's API key, on Harbor.
    let key = t.h.api_key().to_owned();
    let (s, ans) = t.decide(&key, &id, &json!({"decision": "approve"})).await;
    assert_eq!(s, 200, "{ans}");
    assert_eq!(
        ans,
        json!({"tenant": t.tenant.as_str(), "approval_request_id": id, "status": "approved", "reason": null})
    );
    let same = json!({"decision": "approve", "reason": "later"});
    assert_eq!(t.decide(&key, &id, &same).await, (200, ans.clone()));
    let (s, v) = t.decide(&key, &id, &json!({"decision": "reject"})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "approval_already_decided");
    assert_eq!(v["status"], "approved");
    // Now it reserves, once; then rule 2 holds.
    let ok = t.verify(&body).await;
    assert_eq!(ok["allow"], true, "{ok}");
    assert_eq!(ok["remaining_cents"], 900);
    assert_eq!(t.verify(&body).await, ok, "same decision while reserved");
    assert_eq!(t.remaining(&a).await, 900, "one reservation");
    let id = uuid_of(&ok, "decision_id");
    assert_eq!(t.complete(&id, "consumed").await.0, 200);
    assert_eq!(t.verify(&body).await["code"], "call_replayed");
    assert_eq!(t.remaining(&a).await, 900);
}

#[tokio::test]
async fn a_rejected_call_is_denied_with_the_reason() {
    let t = T::new().await;
    let a = t.intent(2000, Some(100));
    let pending = |call: &str| verify_body(&a, "book", 200, Some(call), None);
    let id1 = uuid_of(&t.verify(&pending("r1")).await, "approval_request_id");
    let id2 = uuid_of(&t.verify(&pending("r2")).await, "approval_request_id");
    assert_ne!(id1, id2);
    let (s, ans) = t
        .decide(
            t.h.api_key(),
            &id1,
            &json!({"decision": "reject", "reason": "too pricey"}),
        )
        .await;
    assert_eq!(s, 200, "{ans}");
    assert_eq!(ans["status"], "rejected");
    assert_eq!(ans["reason"], "too pricey");
    // The Rust API decides like the route.
    let ans = t.h.decide_approval(&t.tenant, &id2, false, None).unwrap();
    assert_eq!(ans["status"], "rejected");
    assert_eq!(ans["reason"], Value::Null);
    for _ in 0..2 {
        let v = t.verify(&pending("r1")).await;
        assert_eq!(
            (v["allow"].as_bool(), v["code"].as_str()),
            (Some(false), Some("approval_rejected")),
            "{v}"
        );
        assert_eq!(v["message"], "too pricey");
        let v = t.verify(&pending("r2")).await;
        assert_eq!(v["code"], "approval_rejected", "{v}");
        assert_eq!(v["message"], "rejected by the reviewer");
    }
    let (s, v) = t
        .decide(t.h.api_key(), &id1, &json!({"decision": "approve"}))
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(t.h.decide_approval(&t.tenant, &id1, true, None).is_err());
    assert_eq!(t.remaining(&a).await, 2000);
}

#[tokio::test]
async fn approvals_take_the_api_key_or_the_jwt_of_the_tenant_only() {
    let t = T::new().await;
    let a = t.intent(2000, Some(0));
    let id = uuid_of(
        &t.verify(&verify_body(&a, "book", 1, Some("c"), None)).await,
        "approval_request_id",
    );
    let approve = json!({"decision": "approve"});
    // No credential; an unknown key; another tenant's key or JWT.
    let url = format!("{}/v1/approvals/{id}", t.h.harbor_url);
    assert_eq!(send(t.c.post(&url), Some(&approve)).await.0, 401);
    assert_eq!(
        t.decide("paybond_sk_sandbox_nope", &id, &approve).await.0,
        401
    );
    let (_, other_key) = t.h.create_tenant(Some("tenant-other"));
    let (s, v) = t.decide(&other_key, &id, &approve).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("approval_not_found")),
        "{v}"
    );
    let (other_jwt, _) = exchange(&t.c, &t.h, &other_key).await;
    assert_eq!(t.decide(&other_jwt, &id, &approve).await.0, 404);
    // x-tenant-id, when sent, must match.
    let rb =
        t.c.post(&url)
            .bearer_auth(t.h.api_key())
            .header("x-tenant-id", "tenant-other");
    assert_eq!(send(rb, Some(&approve)).await.0, 403);
    // Bad bodies.
    for bad in [
        json!({}),
        json!({"decision": "maybe"}),
        json!({"decision": "approve", "reason": 3}),
    ] {
        let (s, v) = t.decide(t.h.api_key(), &id, &bad).await;
        assert_eq!(s, 422, "{bad}: {v}");
    }
    assert_eq!(
        t.decide(t.h.api_key(), &uuid::Uuid::new_v4().to_string(), &approve)
            .await
            .0,
        404
    );
    // Not on the Gateway listener.
    let gw = format!("{}/v1/approvals/{id}", t.h.gateway_url);
    assert_eq!(
        send(t.c.post(&gw).bearer_auth(t.h.api_key()), Some(&approve))
            .await
            .0,
        404
    );
    // The tenant's Harbor JWT works (x-tenant-id optional).
    let (s, v) = t.decide(&t.jwt.clone(), &id, &approve).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("approved")), "{v}");
    assert_eq!(
        t.verify(&verify_body(&a, "book", 1, Some("c"), None)).await["allow"],
        true
    );
}
