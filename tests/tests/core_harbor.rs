//! Core against the in-process dev server over real HTTP.

use paybond_devserver::{Fault, FaultKind};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome};
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{Decision, Error, Secret, ServiceAccountHarborSession};
use paybond_kit_integration::*;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn call(name: &str, id: &str) -> ToolCall {
    ToolCall {
        name: name.into(),
        call_id: id.into(),
        args: json!({}),
    }
}

async fn guard_for(
    h: &paybond_devserver::LocalHarbor,
    s: &ServiceAccountHarborSession,
    tools: &[&str],
    amount: i64,
) -> (ToolGuard, paybond_devserver::DevIntent) {
    let i = intent(h, tools, amount);
    let g = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions::default(),
    )
    .unwrap();
    (g, i)
}

fn deny_code(d: &Decision) -> &str {
    d.code()
}

#[tokio::test]
async fn allow_and_harbor_deny() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    assert_eq!(s.tenant_id(), h.tenant_id);
    let (g, _) = guard_for(&h, &s, &["search"], 100).await;
    match g.authorize(&call("search", "c1"), 40).await {
        Decision::Allow {
            remaining_cents,
            audit_id,
            ..
        } => {
            assert_eq!(remaining_cents, Some(60));
            assert!(uuid::Uuid::parse_str(&audit_id).is_ok());
        }
        d => panic!("expected allow, got {d:?}"),
    }
    let d = g.authorize(&call("wire_money", "c2"), 1).await;
    match &d {
        Decision::Deny {
            code,
            reason,
            audit_id,
            ..
        } => {
            assert_eq!(code, "harbor_denied");
            assert_eq!(reason.as_deref(), Some("operation_not_allowed"));
            assert!(audit_id.is_some());
        }
        _ => panic!("{d:?}"),
    }
    let d = g.authorize(&call("search", "c3"), 61).await;
    assert!(
        matches!(&d, Decision::Deny { reason: Some(r), .. } if r == "budget_exceeded"),
        "{d:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_transport_error() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let (g, _) = guard_for(&h, &s, &["search"], 100).await;
    // A session pointed at a port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let s2 = ServiceAccountHarborSession::open(
        &h.gateway_url,
        h.api_key(),
        &format!("http://127.0.0.1:{port}"),
        quick_options(),
    )
    .await
    .unwrap();
    let g2 = ToolGuard::new(
        s2.harbor().clone(),
        &g.intent_id(),
        Secret::new(intent(&h, &["search"], 1).capability_token),
        GuardOptions::default(),
    );
    // The token above is for another intent: the guard refuses at construction.
    assert!(matches!(g2, Err(Error::TokenIntentMismatch { .. })));
    let i = intent(&h, &["search"], 100);
    let g2 = ToolGuard::new(
        s2.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token),
        GuardOptions::default(),
    )
    .unwrap();
    assert_eq!(
        deny_code(&g2.authorize(&call("search", "x"), 1).await),
        "transport_error"
    );
}

#[tokio::test]
async fn timeout_500_429_and_malformed_answers() {
    let h = harbor_with_ttl(900).await;
    let mut opts = quick_options();
    opts.http.timeout = Duration::from_millis(300);
    let s = open(&h, opts).await;
    let (g, i) = guard_for(&h, &s, &["search"], 10_000).await;
    let tenant = h.tenant_id.clone();

    // Timeout on every attempt.
    h.add_fault(
        Fault::new("/verify", FaultKind::Latency)
            .latency_ms(1000)
            .times(3),
    );
    assert_eq!(
        deny_code(&g.authorize(&call("search", "t"), 1).await),
        "timeout"
    );
    h.clear_faults();

    // 500 on every attempt: three attempts, then http_error with the status.
    let before = h.stats(&tenant).verifies;
    let id = h.add_fault(
        Fault::new("/verify", FaultKind::Status)
            .status(500)
            .times(3),
    );
    let d = g.authorize(&call("search", "f"), 1).await;
    assert_eq!(deny_code(&d), "http_error", "{d:?}");
    assert!(d.summary().contains("500"));
    assert!(
        h.app().faults.list().iter().all(|f| f.id != id),
        "all three attempts consumed the fault"
    );
    assert_eq!(h.stats(&tenant).verifies, before, "the handler never ran");

    // One 500 then success: retried to an allow.
    h.add_fault(
        Fault::new("/verify", FaultKind::Status)
            .status(503)
            .times(1),
    );
    assert!(g.authorize(&call("search", "r"), 1).await.is_allow());

    // 429 with Retry-After: 1 is honoured.
    h.add_fault(
        Fault::new("/verify", FaultKind::Status)
            .status(429)
            .retry_after(1),
    );
    let t0 = Instant::now();
    assert!(g.authorize(&call("search", "ra"), 1).await.is_allow());
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured ({:?})",
        t0.elapsed()
    );

    // Malformed and truncated bodies, a string `allow`, a missing audit_id.
    for (fault, code) in [
        (
            Fault::new("/verify", FaultKind::Malformed),
            "invalid_response",
        ),
        (
            Fault::new("/verify", FaultKind::Truncate),
            "invalid_response",
        ),
        (
            Fault::new("/verify", FaultKind::NonBooleanAllow),
            "invalid_response",
        ),
        (
            Fault::new("/verify", FaultKind::SetField)
                .field("allow")
                .value(json!("false")),
            "invalid_response",
        ),
        (
            Fault::new("/verify", FaultKind::RemoveField).field("audit_id"),
            "invalid_response",
        ),
        (
            Fault::new("/verify", FaultKind::SetField)
                .field("audit_id")
                .value(json!("not-a-uuid")),
            "invalid_response",
        ),
        (
            Fault::new("/verify", FaultKind::WrongTenant),
            "tenant_mismatch",
        ),
        (
            Fault::new("/verify", FaultKind::WrongIntent),
            "tenant_mismatch",
        ),
        (
            Fault::new("/verify", FaultKind::Drop).times(3),
            "transport_error",
        ),
        (
            Fault::new("/verify", FaultKind::Status).status(400),
            "http_error",
        ),
    ] {
        let kind = fault.kind;
        h.add_fault(fault);
        let d = g.authorize(&call("search", "m"), 1).await;
        assert_eq!(deny_code(&d), code, "{kind:?}: {d:?}");
        h.clear_faults();
    }

    // A string "false" never becomes an allow, and neither does "true".
    h.add_fault(
        Fault::new("/verify", FaultKind::SetField)
            .field("allow")
            .value(json!("true")),
    );
    assert!(!g.authorize(&call("search", "s"), 1).await.is_allow());
    let _ = i;
}

#[tokio::test]
async fn token_bound_to_another_intent_is_refused_before_any_request() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let a = intent(&h, &["search"], 100);
    let b = intent(&h, &["search"], 100);
    let before = h.stats(&h.tenant_id).verifies;
    let req = VerifyRequest {
        intent_id: b.intent_id.clone(),
        token: Secret::new(a.capability_token.clone()),
        operation: "search".into(),
        requested_spend_cents: 1,
        ..Default::default()
    };
    let e = s.harbor().verify_capability(&req).await.unwrap_err();
    assert_eq!(e.code(), "token_intent_mismatch", "{e}");
    assert_eq!(
        h.stats(&h.tenant_id).verifies,
        before,
        "no request was sent"
    );
    // The Harbor decides for a token that does not parse.
    let req = VerifyRequest {
        token: Secret::new("bm9wZQ=="),
        intent_id: a.intent_id.clone(),
        ..req
    };
    let v = s.harbor().verify_capability(&req).await.unwrap();
    assert_eq!((v.allow, v.code.as_deref()), (false, Some("invalid_token")));
    // Bad input names the field.
    let e = s
        .harbor()
        .verify_capability(&VerifyRequest {
            intent_id: "nope".into(),
            ..req
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("intent_id"), "{e}");
}

#[tokio::test]
async fn concurrent_verifies_across_expiry_make_one_exchange() {
    let h = harbor_with_ttl(3).await;
    let mut opts = quick_options();
    opts.refresh_skew = Duration::from_millis(500);
    let s = open(&h, opts).await;
    let (g, _) = guard_for(&h, &s, &["search"], 1_000_000).await;
    assert_eq!(h.stats(&h.tenant_id).exchanges, 1);
    assert!(g.authorize(&call("search", "warm"), 1).await.is_allow());
    // Past the JWT's expiry (3 s); the next refresh point is 2.5 s after the burst starts.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let t0 = Instant::now();
    let g = Arc::new(g);
    let mut tasks = Vec::new();
    for n in 0..150 {
        let g = g.clone();
        tasks.push(tokio::spawn(async move {
            g.authorize(&call("search", &format!("c{n}")), 1).await
        }));
    }
    for t in tasks {
        let d = t.await.unwrap();
        assert!(d.is_allow(), "{d:?}");
    }
    eprintln!("150 concurrent guarded calls took {:?}", t0.elapsed());
    assert_eq!(
        h.stats(&h.tenant_id).exchanges,
        2,
        "150 concurrent callers, one refresh"
    );
    assert_eq!(s.token_provider().exchange_count(), 2);
}

#[tokio::test]
async fn rotation_401_remint_and_tenant_change_poisons() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let (g, _) = guard_for(&h, &s, &["search"], 1000).await;
    let t = h.tenant_id.clone();
    s.rotate_harbor_token().await.unwrap();
    assert_eq!(h.stats(&t).exchanges, 2);
    assert!(g.authorize(&call("search", "a"), 1).await.is_allow());
    // Harbor 401 -> one re-mint, one retry.
    h.add_fault(Fault::new("/verify", FaultKind::Status).status(401));
    assert!(g.authorize(&call("search", "b"), 1).await.is_allow());
    assert_eq!(h.stats(&t).exchanges, 3);
    // Two 401s in a row: the second is final.
    h.add_fault(
        Fault::new("/verify", FaultKind::Status)
            .status(401)
            .times(2),
    );
    assert_eq!(
        deny_code(&g.authorize(&call("search", "c"), 1).await),
        "http_error"
    );
    // The Gateway now names another tenant for the same key: poisoned for good.
    assert!(h.rebind_api_key(h.api_key(), "tenant-evil"));
    let e = s.token_provider().force_rotate().await.unwrap_err();
    assert!(matches!(e, Error::GatewayAuth { .. }), "{e:?}");
    assert_eq!(s.tenant_id(), t, "still bound to the original tenant");
    let d = g.authorize(&call("search", "d"), 1).await;
    assert_eq!(deny_code(&d), "gateway_auth", "{d:?}");
    assert!(s.rotate_harbor_token().await.is_err());
}

#[tokio::test]
async fn caller_tenant_never_overrides_gateway() {
    let h = harbor_with_ttl(900).await;
    let mut opts = quick_options();
    opts.expected_tenant_id = Some("tenant-someone-else".into());
    let e = ServiceAccountHarborSession::open(&h.gateway_url, h.api_key(), &h.harbor_url, opts)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "tenant_mismatch");
    let e = ServiceAccountHarborSession::open(
        &h.gateway_url,
        h.api_key(),
        "http://harbor.example.com",
        quick_options(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "insecure_url");
    let e = ServiceAccountHarborSession::open(
        &h.gateway_url,
        "paybond_sk_sandbox_wrong",
        &h.harbor_url,
        quick_options(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::GatewayAuth {
                status_code: Some(401),
                ..
            }
        ),
        "{e:?}"
    );
    h.add_fault(
        Fault::new("/v1/auth/harbor-access", FaultKind::Status)
            .status(503)
            .times(2),
    );
    open(&h, quick_options()).await; // the exchange itself is retried
    h.add_fault(Fault::new("/v1/auth/harbor-access", FaultKind::RemoveField).field("tenant_id"));
    let e = ServiceAccountHarborSession::open(
        &h.gateway_url,
        h.api_key(),
        &h.harbor_url,
        quick_options(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("tenant_id"), "{e}");
    h.add_fault(
        Fault::new("/v1/auth/harbor-access", FaultKind::SetField)
            .field("expires_in")
            .value(json!(0)),
    );
    let e = ServiceAccountHarborSession::open(
        &h.gateway_url,
        h.api_key(),
        &h.harbor_url,
        quick_options(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("expires_in"), "{e}");
}

#[tokio::test]
async fn close_drains_in_flight_and_refuses_new_calls() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let (g, _) = guard_for(&h, &s, &["search"], 1000).await;
    h.add_fault(Fault::new("/verify", FaultKind::Latency).latency_ms(300));
    let g2 = g.clone();
    let in_flight = tokio::spawn(async move { g2.authorize(&call("search", "slow"), 1).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t0 = Instant::now();
    s.close().await;
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "close waited for the in-flight call"
    );
    assert!(in_flight.await.unwrap().is_allow());
    assert_eq!(
        deny_code(&g.authorize(&call("search", "late"), 1).await),
        "session_closed"
    );
}

#[tokio::test]
async fn evidence_lands_once() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let i = intent(&h, &["search"], 1000);
    let seed =
        paybond_kit::evidence::seed_from_hex("seed", i.payee_signing_seed_hex.as_deref().unwrap())
            .unwrap();
    let opts = GuardOptions {
        evidence: Some(EvidenceSigner {
            payee_did: i.payee_did.clone(),
            seed: Arc::new(seed),
            version: Default::default(),
        }),
        ..Default::default()
    };
    let g = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        opts,
    )
    .unwrap();
    let c = call("search", "call-1");
    let d = g.authorize(&c, 10).await;
    assert!(d.is_allow());
    // The first submission's answer is lost after Harbor stored it; the retry replays.
    h.add_fault(Fault::new(
        &format!("/intents/{}/evidence", i.intent_id),
        FaultKind::DropAfter,
    ));
    let r = g
        .complete(&c, &d, &ToolOutcome::Success(json!({"status": "done"})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.predicate_passed, Some(true));
    // A second complete for the same call re-sends the same bytes: replay, not a second entry.
    g.complete(&c, &d, &ToolOutcome::Success(json!({"status": "done"})))
        .await
        .unwrap()
        .unwrap();
    let st = h.stats(&h.tenant_id);
    assert_eq!(st.evidence_accepted, 1);
    assert!(st.evidence_replays >= 2);
    assert_eq!(s.harbor().ledger_tip().await.unwrap().seq, 1);
    // Nothing for a deny or a failed tool.
    let deny = Decision::Deny {
        code: "harbor_denied".into(),
        reason: None,
        message: String::new(),
        audit_id: None,
    };
    assert!(g
        .complete(
            &call("search", "x"),
            &deny,
            &ToolOutcome::Success(json!({}))
        )
        .await
        .unwrap()
        .is_none());
    assert!(g
        .complete(
            &call("search", "y"),
            &d,
            &ToolOutcome::Failed("boom".into())
        )
        .await
        .unwrap()
        .is_none());

    // Same key, different body -> HarborHttp 409.
    let signed = |payload: serde_json::Value| {
        let input = paybond_kit::evidence::EvidenceInput {
            tenant_id: &h.tenant_id,
            intent_id: &i.intent_id,
            payee_did: &i.payee_did,
            payload: &payload,
            artifacts_blake3_hex: &[],
            submitted_at_rfc3339: "2030-01-02T15:04:05Z",
        };
        paybond_kit::evidence::sign_payee_evidence_binding(&input, &seed, Default::default())
            .unwrap()
            .body
    };
    s.harbor()
        .submit_evidence(&i.intent_id, &signed(json!({"n": 1})), Some("key-1"))
        .await
        .unwrap();
    s.harbor()
        .submit_evidence(&i.intent_id, &signed(json!({"n": 1})), Some("key-1"))
        .await
        .unwrap();
    let e = s
        .harbor()
        .submit_evidence(&i.intent_id, &signed(json!({"n": 2})), Some("key-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::HarborHttp {
                status_code: 409,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(s.harbor().ledger_tip().await.unwrap().seq, 2);
    let page = s.harbor().ledger_events(None, Some(1)).await.unwrap();
    assert_eq!((page.entries.len(), page.next_after_seq), (1, Some(1)));
    assert!(s
        .harbor()
        .ledger_merkle_latest()
        .await
        .unwrap()
        .checkpoint
        .is_some());
    assert_eq!(
        s.harbor().ledger_authority().await.unwrap().tenant_id,
        h.tenant_id
    );
    // Ledger echo checked.
    h.add_fault(Fault::new("/ledger/v1/tip", FaultKind::WrongTenant));
    assert_eq!(
        s.harbor().ledger_tip().await.unwrap_err().code(),
        "tenant_mismatch"
    );
}

#[tokio::test]
async fn create_intent_principal_signed_through_the_kit() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let payee = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let input = paybond_kit::intent::IntentCreationInput {
        tenant_id: "ignored: the session's tenant is used".into(),
        intent_id: uuid::Uuid::new_v4().to_string(),
        principal_did: "did:principal:me".into(),
        payee_did: "did:payee:you".into(),
        budget: json!({"max_cents": 300}),
        currency: "usd".into(),
        amount_cents: 300,
        evidence_schema: json!({"type": "object"}),
        deadline: "2099-01-01T00:00:00Z".into(),
        predicate_dsl: json!({}),
        predicate_ref: String::new(),
        allowed_tools: vec!["search".into()],
        settlement_rail: "stripe_connect".into(),
        payee_pubkey: payee.verifying_key().to_bytes(),
    };
    let created = s.harbor().create_intent(&input, &[4; 32]).await.unwrap();
    assert_eq!(created.tenant, h.tenant_id);
    assert_eq!(created.state.as_deref(), Some("funded"));
    let token = created
        .capability_token
        .clone()
        .expect("a capability token");
    assert!(!token.is_empty());
    // The token is a typed secret: Debug never shows it.
    let shown = format!("{created:?}");
    assert!(!shown.contains(token.expose()), "{shown}");
    assert!(!created.extra.contains_key("capability_token"));
}

#[tokio::test]
async fn an_oversized_capability_token_is_refused_before_it_is_read() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let i = intent(&h, &["search"], 100);
    let huge = "A".repeat(paybond_kit::harbor::MAX_CAPABILITY_TOKEN_BYTES + 1);
    let err = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(huge),
        GuardOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_argument", "{err:?}");
    assert!(err.to_string().contains("capability_token"), "{err}");
}

/// `finish_in_background`: the call id is spent at once, the completion is counted until it
/// lands, `settle` waits for it, and closing the session lets it land before refusing calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_completion_is_counted_settled_and_drained_by_close() {
    use paybond_kit::guard::{pending_completions, settle};
    use paybond_kit::SpendOutcome;
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let (g, _) = guard_for(&h, &s, &["search"], 1000).await;
    let tenant = h.tenant_id.clone();

    assert!(g.authorize(&call("search", "b1"), 100).await.is_allow());
    h.add_fault(Fault::new("/v1/spend/decisions/*", FaultKind::Latency).latency_ms(300));
    let task = tokio::spawn(g.finish_in_background("b1", SpendOutcome::Consumed));
    assert_eq!(
        pending_completions(),
        1,
        "counted from the moment it started"
    );
    assert_eq!(
        deny_code(&g.authorize(&call("search", "b1"), 100).await),
        "call_replayed",
        "the id is spent before the completion lands"
    );
    settle().await;
    assert_eq!(pending_completions(), 0);
    assert_eq!(h.stats(&tenant).decisions_consumed, 1);
    task.await.unwrap().unwrap();

    // A call without an allow has nothing to complete: nothing is counted.
    tokio::spawn(g.finish_in_background("never-allowed", SpendOutcome::Consumed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending_completions(), 0);

    // close() waits for a background completion before it refuses new calls.
    assert!(g.authorize(&call("search", "b2"), 100).await.is_allow());
    h.add_fault(Fault::new("/v1/spend/decisions/*", FaultKind::Latency).latency_ms(300));
    let task = tokio::spawn(g.finish_in_background("b2", SpendOutcome::Consumed));
    s.close().await;
    assert_eq!(pending_completions(), 0);
    task.await.unwrap().unwrap();
    assert_eq!(h.stats(&tenant).decisions_consumed, 2);
}
