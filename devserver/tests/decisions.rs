//! Spend decisions over HTTP (issue 12): an allow reserves, the caller
//! completes it (`consumed` | `released`, idempotent), and the server
//! releases an uncompleted reservation after the hold (on the dev clock).

mod common;

use common::{digest, exchange, send, uuid_of, verify_body, T};
use paybond_devserver::DevServerConfig;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn allow_records_a_reserved_decision() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let d = digest(&json!({"city": "Oslo"}));
    let ok = t
        .verify(&verify_body(&a, "book", 600, Some("call-1"), Some(&d)))
        .await;
    assert_eq!(
        (ok["allow"].clone(), ok["remaining_cents"].clone()),
        (json!(true), json!(400)),
        "{ok}"
    );
    let id = uuid_of(&ok, "decision_id");
    let (s, rec) = t.get(&format!("/v1/spend/decisions/{id}")).await;
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["decision_id"], id.as_str());
    assert_eq!(rec["tenant"], t.tenant.as_str());
    assert_eq!(rec["intent_id"], a.intent_id.as_str());
    assert_eq!(rec["tool_call_id"], "call-1");
    assert_eq!(rec["args_digest"], d.as_str());
    assert_eq!(rec["spend"], 600);
    assert_eq!(rec["state"], "reserved");
    assert!(rec["reserved_at"].as_str().unwrap().ends_with('Z'), "{rec}");
    assert_eq!(t.remaining(&a).await, 400);
}

#[tokio::test]
async fn consumed_keeps_the_spend_and_repeats_idempotently() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let ok = t.verify(&verify_body(&a, "book", 600, None, None)).await;
    let id = uuid_of(&ok, "decision_id");
    let (s, first) = t.complete(&id, "consumed").await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(
        first,
        json!({"tenant": t.tenant, "intent_id": a.intent_id, "decision_id": id,
               "outcome": "consumed", "remaining_cents": 400})
    );
    assert_eq!(t.remaining(&a).await, 400);
    assert_eq!(t.complete(&id, "consumed").await, (200, first.clone()));
    let (s, v) = t.complete(&id, "released").await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["code"], "decision_already_completed");
    assert_eq!(v["outcome"], "consumed");
    assert_eq!(
        t.remaining(&a).await,
        400,
        "a refused release gives nothing back"
    );
    let s = t.h.stats(&t.tenant);
    assert_eq!(
        (
            s.decisions_consumed,
            s.decisions_released,
            s.reservations_expired
        ),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn released_gives_the_spend_back_and_repeats_idempotently() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let ok = t.verify(&verify_body(&a, "book", 600, None, None)).await;
    let id = uuid_of(&ok, "decision_id");
    let (s, first) = t.complete(&id, "released").await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["outcome"], "released");
    assert_eq!(first["remaining_cents"], 1000);
    assert_eq!(t.remaining(&a).await, 1000);
    assert_eq!(t.complete(&id, "released").await, (200, first));
    assert_eq!(t.remaining(&a).await, 1000, "released once only");
    let (s, v) = t.complete(&id, "consumed").await;
    assert_eq!(
        (s, v["code"].as_str(), v["outcome"].as_str()),
        (409, Some("decision_already_completed"), Some("released")),
        "{v}"
    );
    assert_eq!(t.h.stats(&t.tenant).decisions_released, 1);
    // The freed budget is usable again.
    let again = t.verify(&verify_body(&a, "book", 1000, None, None)).await;
    assert_eq!(again["allow"], true, "{again}");
}

#[tokio::test]
async fn unknown_or_foreign_decision_is_404_and_bad_outcome_422() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let ok = t.verify(&verify_body(&a, "book", 10, None, None)).await;
    let id = uuid_of(&ok, "decision_id");
    let (s, v) = t
        .complete(&uuid::Uuid::new_v4().to_string(), "consumed")
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("decision_not_found")),
        "{v}"
    );
    let (s, v) = t.complete("not-even-a-uuid", "released").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("decision_not_found")),
        "{v}"
    );
    // Another tenant, with its own valid JWT, cannot see or complete ours.
    let (_, other_key) = t.h.create_tenant(Some("tenant-other"));
    let (other_jwt, other_tenant) = exchange(&t.c, &t.h, &other_key).await;
    let url = format!("{}/v1/spend/decisions/{id}/complete", t.h.harbor_url);
    let rb =
        t.c.post(&url)
            .bearer_auth(&other_jwt)
            .header("x-tenant-id", &other_tenant);
    let (s, v) = send(rb, Some(&json!({"outcome": "released"}))).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (404, Some("decision_not_found")),
        "{v}"
    );
    assert_eq!(t.remaining(&a).await, 990);
    // Bad outcomes.
    for body in [
        json!({"outcome": "done"}),
        json!({}),
        json!({"outcome": 1}),
        json!({"outcome": "Consumed"}),
    ] {
        let (s, v) = t
            .post(&format!("/v1/spend/decisions/{id}/complete"), &body)
            .await;
        assert_eq!(s, 422, "{body} -> {v}");
    }
    // Harbor auth like every Harbor route.
    let rb =
        t.c.post(&url)
            .bearer_auth(t.h.api_key())
            .header("x-tenant-id", &t.tenant);
    let (s, v) = send(rb, Some(&json!({"outcome": "released"}))).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("jwt_required")), "{v}");
    let rb =
        t.c.post(&url)
            .bearer_auth(&t.jwt)
            .header("x-tenant-id", "tenant-other");
    let (s, v) = send(rb, Some(&json!({"outcome": "released"}))).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (403, Some("tenant_mismatch")),
        "{v}"
    );
    assert_eq!(t.remaining(&a).await, 990, "nothing completed it");
}

#[tokio::test]
async fn an_uncompleted_reservation_is_released_after_the_hold() {
    let t = T::start(DevServerConfig {
        reservation_hold_seconds: 60,
        ..Default::default()
    })
    .await;
    let a = t.intent(1000, None);
    let kept = uuid_of(
        &t.verify(&verify_body(&a, "book", 100, None, None)).await,
        "decision_id",
    );
    let lost = uuid_of(
        &t.verify(&verify_body(&a, "book", 300, Some("c-lost"), None))
            .await,
        "decision_id",
    );
    assert_eq!(t.complete(&kept, "consumed").await.0, 200);
    assert_eq!(t.remaining(&a).await, 600);
    t.h.advance_clock(Duration::from_secs(59)).unwrap();
    assert_eq!(
        t.remaining(&a).await,
        600,
        "still held before the hold ends"
    );
    assert_eq!(
        t.get(&format!("/v1/spend/decisions/{lost}")).await.1["state"],
        "reserved"
    );
    // Through the admin route this time.
    let (s, v) = t.advance(&json!({"seconds": 1})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["offset_seconds"], 60);
    assert_eq!(
        t.remaining(&a).await,
        900,
        "the lost reservation came back; the consumed one did not"
    );
    let (_, rec) = t.get(&format!("/v1/spend/decisions/{lost}")).await;
    assert_eq!(
        (rec["state"].as_str(), rec["auto_released"].as_bool()),
        (Some("released"), Some(true)),
        "{rec}"
    );
    for outcome in ["consumed", "released"] {
        let (s, v) = t.complete(&lost, outcome).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["code"], "decision_already_completed");
        assert_eq!(v["outcome"], "released");
    }
    assert_eq!(t.remaining(&a).await, 900);
    let s = t.h.stats(&t.tenant);
    assert_eq!(
        (
            s.decisions_consumed,
            s.decisions_released,
            s.reservations_expired
        ),
        (1, 0, 1)
    );
    let st: Value =
        t.c.get(format!("{}/dev/v1/stats", t.h.gateway_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(st["totals"]["reservations_expired"], 1);
    assert_eq!(st["tenants"][&t.tenant]["decisions_consumed"], 1);
    // A re-verify of the expired call is a replay.
    let v = t
        .verify(&verify_body(&a, "book", 300, Some("c-lost"), None))
        .await;
    assert_eq!(v["code"], "call_replayed", "{v}");
}
