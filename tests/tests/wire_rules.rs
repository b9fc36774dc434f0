//! Issue 10 rules that need a live dev server: evidence conflicts and empty
//! call ids, float payloads signed as Harbor reads them, TLS to a plain port,
//! base URLs that must be refused, options checked in the core.

use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard};
use paybond_kit::input::{FieldStyle, HostNumber, SessionOptionsInput};
use paybond_kit::{
    Error, GatewayHarborTokenProvider, Secret, ServiceAccountHarborSession, SessionOptions,
};
use paybond_kit_integration::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn call(id: &str) -> ToolCall {
    ToolCall {
        name: "search".into(),
        call_id: id.into(),
        args: json!({}),
    }
}

async fn evidence_guard(
    h: &paybond_devserver::LocalHarbor,
    s: &ServiceAccountHarborSession,
) -> ToolGuard {
    let i = intent(h, &["search"], 1_000_000);
    let seed =
        paybond_kit::evidence::seed_from_hex("seed", i.payee_signing_seed_hex.as_deref().unwrap())
            .unwrap();
    ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions {
            evidence: Some(EvidenceSigner {
                payee_did: i.payee_did.clone(),
                seed: Arc::new(seed),
                version: Default::default(),
            }),
            ..Default::default()
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_conflict_and_empty_call_id() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let g = evidence_guard(&h, &s).await;
    g.submit_evidence(&call("c1"), &json!({"n": 1}))
        .await
        .unwrap();
    // The same payload again replays.
    g.submit_evidence(&call("c1"), &json!({"n": 1}))
        .await
        .unwrap();
    let e = g
        .submit_evidence(&call("c1"), &json!({"n": 2}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "evidence_conflict", "{e}");
    assert!(matches!(&e, Error::EvidenceConflict { call_id, .. } if call_id == "c1"));
    // Another guard on the same intent and call id with other bytes: Harbor's 409 is a conflict too.
    let e = g
        .submit_evidence(&call(""), &json!({"n": 3}))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument { field, .. } if field == "call_id"),
        "{e}"
    );
    assert_eq!(h.stats(&h.tenant_id).evidence_accepted, 1);
}

fn arb_payload() -> impl Strategy<Value = Value> {
    let float = (any::<f64>(), -30i32..30).prop_map(|(m, e)| {
        let f = (m.fract() * 10f64.powi(e)).clamp(-1e300, 1e300);
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    });
    let leaf = prop_oneof![
        4 => float,
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => "\\PC{0,10}".prop_map(Value::String),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("\\PC{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .prop_map(|v| json!({ "result": v }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn float_payloads_are_signed_as_harbor_reads_them() {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let g = evidence_guard(&h, &s).await;
    // The two payloads the security review named, then random ones.
    let mut payloads = vec![
        json!({"x": 9.815849654550425e-05}),
        json!({"x": 0.0072108223809406215}),
    ];
    let mut runner = TestRunner::new(Config::default());
    let strategy = arb_payload();
    for _ in 0..2000 {
        payloads.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    let total = payloads.len();
    let mut failures = Vec::new();
    for chunk in payloads.chunks(32).enumerate() {
        let (n, chunk) = chunk;
        let futs = chunk.iter().cloned().enumerate().map(|(k, p)| {
            let g = g.clone();
            let id = format!("call-{n}-{k}");
            async move {
                let r = g.submit_evidence(&call(&id), &p).await;
                (p, r)
            }
        });
        for (p, r) in futures_join_all(futs).await {
            if let Err(e) = r {
                failures.push(format!("{p} -> {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(h.stats(&h.tenant_id).evidence_accepted as usize, total);
}

async fn futures_join_all<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn https_to_a_plain_http_port_fails_fast_naming_tls() {
    let h = harbor_with_ttl(900).await;
    let tls_url = h.gateway_url.replace("http://", "https://");
    let mut opts = quick_options();
    opts.http.timeout = Duration::from_secs(20);
    opts.http.deadline = Duration::from_secs(20);
    let started = tokio::time::Instant::now();
    let e = ServiceAccountHarborSession::open(&tls_url, h.api_key(), &h.harbor_url, opts)
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("TLS"), "{text}");
    // Fails on the handshake, not by waiting for the 20 s timeout.
    assert!(!matches!(e, Error::Timeout { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn base_urls_with_query_fragment_or_credentials_are_refused_without_echo() {
    let h = harbor_with_ttl(900).await;
    for bad in [
        format!("{}/?x=1", h.gateway_url),
        format!("{}/#frag", h.gateway_url),
        h.gateway_url
            .replace("http://", "http://user:hunter2secretpw@"),
        h.api_key().to_string(),
    ] {
        let e =
            ServiceAccountHarborSession::open(&bad, h.api_key(), &h.harbor_url, quick_options())
                .await
                .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert_eq!(e.code(), "invalid_argument", "{bad}: {shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(h.api_key()),
            "{shown}"
        );
    }
}

#[test]
fn options_are_judged_in_the_core() {
    let huge = SessionOptionsInput {
        timeout_seconds: Some(HostNumber::Float(1e20)),
        ..Default::default()
    };
    let e = huge.build(FieldStyle::Snake).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument { field, .. } if field == "timeout_seconds"),
        "{e}"
    );
    let bad_proxy = SessionOptionsInput {
        proxy_url: Some("http://proxy.example.com:3128".into()),
        ..Default::default()
    };
    assert_eq!(
        bad_proxy.build(FieldStyle::Snake).unwrap_err().code(),
        "insecure_url"
    );
    // A provider cannot check a tenant: refusing beats silently ignoring.
    let opts = SessionOptions {
        expected_tenant_id: Some("t".into()),
        ..Default::default()
    };
    let e =
        GatewayHarborTokenProvider::new("http://127.0.0.1:1", Secret::new("k"), &opts).unwrap_err();
    assert_eq!(e.code(), "invalid_argument");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_consume_release_replay_and_changed_args() {
    use paybond_kit::guard::ToolOutcome;
    use paybond_kit::{Decision, SpendOutcome};
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let i = intent(&h, &["search"], 1000);
    let g = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions::default(),
    )
    .unwrap();
    let remaining = |d: &Decision| match d {
        Decision::Allow {
            remaining_cents, ..
        } => remaining_cents.unwrap(),
        d => panic!("expected an allow, got {d:?}"),
    };
    // A tool that raised: released, the budget is back.
    let failed = call("f1").with_args(json!({"q": "x"}));
    let d = g.authorize(&failed, 100).await;
    assert_eq!(remaining(&d), 900);
    let done = g
        .finish("f1", SpendOutcome::Released)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.remaining_cents, Some(1000));
    // Re-authorizing a call that ran is a replay deny, locally and at Harbor.
    match g.authorize(&failed, 100).await {
        Decision::Deny { code, .. } => assert_eq!(code, "call_replayed"),
        d => panic!("{d:?}"),
    }
    // A success is consumed.
    let ok = call("s1").with_args(json!({"q": "y"}));
    let d = g.authorize(&ok, 100).await;
    assert_eq!(remaining(&d), 900);
    // Authorizing again before it ran (a resume) is the same decision, no new reservation.
    assert_eq!(g.authorize(&ok, 100).await, d);
    // The same call id with other arguments is refused.
    match g
        .authorize(&call("s1").with_args(json!({"q": "z"})), 100)
        .await
    {
        Decision::Deny { code, .. } => assert_eq!(code, "call_args_changed"),
        d => panic!("{d:?}"),
    }
    g.complete_call(&ok, &d, &ToolOutcome::Success(json!({})))
        .await
        .unwrap();
    let d = g.authorize(&call("s2"), 0).await;
    assert_eq!(remaining(&d), 900);
    // Harbor enforces the binding too: another guard with a stale view is refused.
    let g2 = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions::default(),
    )
    .unwrap();
    match g2
        .authorize(&call("s1").with_args(json!({"q": "y"})), 100)
        .await
    {
        Decision::Deny { code, reason, .. } => {
            assert_eq!(code, "call_replayed", "{reason:?}")
        }
        d => panic!("{d:?}"),
    }
    match g2
        .authorize(&call("s2").with_args(json!({"other": 1})), 0)
        .await
    {
        Decision::Deny { code, .. } => assert_eq!(code, "call_args_changed"),
        d => panic!("{d:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_verify_answer_leaves_no_reservation_after_the_hold() {
    use paybond_devserver::{DevServerConfig, Fault, FaultKind, LocalHarbor};
    let h = LocalHarbor::start(DevServerConfig {
        reservation_hold_seconds: 60,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut opts = quick_options();
    opts.http.max_retries = 1;
    let s = open(&h, opts).await;
    let i = intent(&h, &["search"], 1000);
    let g = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions::default(),
    )
    .unwrap();
    // Harbor reserves, then the answer is lost.
    h.add_fault(Fault::new("/verify", FaultKind::DropAfter));
    assert!(!g.authorize(&call("lost"), 400).await.is_allow());
    h.clear_faults();
    let before = match g.authorize(&call("probe-1"), 0).await {
        paybond_kit::Decision::Allow {
            remaining_cents, ..
        } => remaining_cents.unwrap(),
        d => panic!("{d:?}"),
    };
    assert_eq!(before, 600, "the lost answer's reservation is still held");
    h.advance_clock(Duration::from_secs(61)).unwrap();
    let after = match g.authorize(&call("probe-2"), 0).await {
        paybond_kit::Decision::Allow {
            remaining_cents, ..
        } => remaining_cents.unwrap(),
        d => panic!("{d:?}"),
    };
    assert_eq!(after, 1000, "released after the hold period");
}
