//! Call ids bound to their arguments over HTTP (issue 12): the same call
//! again is the same decision, other arguments are a 409, a completed call
//! is a `call_replayed` deny.

mod common;

use common::{digest, send, uuid_of, verify_body, T};
use serde_json::json;

#[tokio::test]
async fn same_call_same_args_is_the_same_decision_whatever_the_key() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let d = digest(&json!({"q": 1}));
    let body = verify_body(&a, "book", 250, Some("call-7"), Some(&d));
    let first = t.verify(&body).await;
    assert_eq!(first["allow"], true, "{first}");
    for key in ["k-1", "k-2"] {
        let rb =
            t.c.post(format!("{}/verify", t.h.harbor_url))
                .bearer_auth(&t.jwt)
                .header("x-tenant-id", &t.tenant)
                .header("idempotency-key", key);
        assert_eq!(send(rb, Some(&body)).await, (200, first.clone()));
    }
    assert_eq!(t.verify(&body).await, first);
    assert_eq!(t.remaining(&a).await, 750, "reserved once");
    let s = t.h.stats(&t.tenant);
    assert_eq!((s.verifies, s.verify_allows), (4, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_verifies_of_one_call_reserve_once() {
    const CALLS: usize = 64;
    let t = T::new().await;
    let a = t.intent(1000, None);
    let body = verify_body(&a, "book", 10, Some("race"), Some(&digest(&json!([1]))));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CALLS));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CALLS {
        let rb =
            t.c.post(format!("{}/verify", t.h.harbor_url))
                .bearer_auth(&t.jwt)
                .header("x-tenant-id", &t.tenant)
                .header("idempotency-key", format!("k{i}"));
        let (body, barrier) = (body.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            send(rb, Some(&body)).await
        });
    }
    let answers: Vec<_> = tasks.join_all().await;
    let first = &answers[0].1;
    assert!(
        answers.iter().all(|a| a == &(200, first.clone())),
        "one decision for all: {answers:?}"
    );
    assert_eq!(first["allow"], true);
    assert_eq!(t.remaining(&a).await, 990);
}

#[tokio::test]
async fn same_call_other_args_is_409_call_args_changed() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let (d1, d2) = (digest(&json!({"n": 1})), digest(&json!({"n": 2})));
    assert_eq!(
        t.verify(&verify_body(&a, "book", 100, Some("c"), Some(&d1)))
            .await["allow"],
        true
    );
    for other in [
        verify_body(&a, "book", 100, Some("c"), Some(&d2)),
        verify_body(&a, "book", 100, Some("c"), None),
    ] {
        let (s, v) = t.post("/verify", &other).await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["code"], "call_args_changed");
        assert!(v["message"].is_string(), "{v}");
    }
    // Also after completion: changed args are refused before anything else.
    let same = t
        .verify(&verify_body(&a, "book", 100, Some("c"), Some(&d1)))
        .await;
    let id = uuid_of(&same, "decision_id");
    assert_eq!(t.complete(&id, "consumed").await.0, 200);
    assert_eq!(
        t.post(
            "/verify",
            &verify_body(&a, "book", 100, Some("c"), Some(&d2))
        )
        .await
        .0,
        409
    );
    assert_eq!(t.remaining(&a).await, 900);
}

#[tokio::test]
async fn a_completed_call_is_replayed_as_a_deny() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let d = digest(&json!({"x": true}));
    for (call, outcome) in [("used", "consumed"), ("freed", "released")] {
        let body = verify_body(&a, "search", 100, Some(call), Some(&d));
        let id = uuid_of(&t.verify(&body).await, "decision_id");
        assert_eq!(t.complete(&id, outcome).await.0, 200);
        let v = t.verify(&body).await;
        assert_eq!(v["allow"], false, "{v}");
        assert_eq!(v["code"], "call_replayed", "{v}");
        assert_eq!(v["tenant"], t.tenant.as_str());
        assert_eq!(v["intent_id"], a.intent_id.as_str());
        uuid_of(&v, "audit_id");
    }
    assert_eq!(t.remaining(&a).await, 900, "a replay reserves nothing");
}

#[tokio::test]
async fn verifies_without_a_call_id_are_not_bound() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let d = digest(&json!({}));
    let body = verify_body(&a, "book", 100, None, Some(&d));
    let (x, y) = (t.verify(&body).await, t.verify(&body).await);
    assert_eq!(
        (x["allow"].clone(), y["allow"].clone()),
        (json!(true), json!(true))
    );
    assert_ne!(x["decision_id"], y["decision_id"]);
    // An empty call id is no call id.
    let z = t
        .verify(&verify_body(&a, "book", 100, Some(""), None))
        .await;
    let w = t
        .verify(&verify_body(&a, "book", 100, Some(""), Some(&d)))
        .await;
    assert_eq!(
        (z["allow"].clone(), w["allow"].clone()),
        (json!(true), json!(true)),
        "{z} {w}"
    );
    assert_eq!(t.remaining(&a).await, 600);
}

#[tokio::test]
async fn args_digest_must_be_64_lower_hex() {
    let t = T::new().await;
    let a = t.intent(1000, None);
    let good = digest(&json!(1));
    for bad in [
        good.to_uppercase(),
        good[..63].to_owned(),
        format!("{good}0"),
        "zz".repeat(32),
    ] {
        let (s, v) = t
            .post(
                "/verify",
                &verify_body(&a, "book", 1, Some("c"), Some(&bad)),
            )
            .await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("invalid_argument")),
            "{bad}: {v}"
        );
    }
    let mut b = verify_body(&a, "book", 1, Some("c"), None);
    b["args_digest"] = json!(7);
    assert_eq!(t.post("/verify", &b).await.0, 400);
    assert_eq!(t.remaining(&a).await, 1000);
}
