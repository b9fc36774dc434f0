//! Signal reads: typed, echo-checked, receipt signatures verified.

use paybond_devserver::{Fault, FaultKind, LocalHarbor};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome};
use paybond_kit::{Error, Secret, ServiceAccountSignalSession};
use paybond_kit_integration::*;
use serde_json::json;
use std::sync::Arc;

async fn with_history(
    h: &LocalHarbor,
    n: usize,
) -> (
    paybond_kit::ServiceAccountHarborSession,
    paybond_devserver::DevIntent,
) {
    let s = open(h, quick_options()).await;
    let i = intent(h, &["search"], 10_000);
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
    for k in 0..n {
        let c = ToolCall {
            name: "search".into(),
            call_id: format!("c{k}"),
            args: json!({}),
        };
        let d = g.authorize(&c, 1).await;
        assert!(d.is_allow());
        g.complete(&c, &d, &ToolOutcome::Success(json!({"k": k})))
            .await
            .unwrap()
            .unwrap();
    }
    (s, i)
}

#[tokio::test]
async fn signal_reads_are_typed_checked_and_signed() {
    let h = harbor_with_ttl(900).await;
    let (_s, i) = with_history(&h, 4).await;
    let sig = ServiceAccountSignalSession::open(&h.gateway_url, h.api_key(), quick_options())
        .await
        .unwrap();
    assert_eq!(sig.tenant_id(), h.tenant_id);
    assert_eq!(sig.principal().environment, "sandbox");
    let signal = sig
        .signal()
        .clone()
        .with_trusted_signing_key(&h.signal_public_key_hex())
        .unwrap();

    let env = signal
        .reputation_receipt(&i.payee_did, Some("1.0"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(env.receipt.operator_did, i.payee_did);
    assert_eq!(env.receipt.score_version, "1.0");
    assert!(env.receipt.score <= 1000);
    assert_eq!(env.receipt.ledger_watermark_seq, 4);
    assert_eq!(env.receipt.metrics["evidence_count"], 4);

    let rs = signal
        .operator_review_status(&i.payee_did, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rs.score_version, "1.0");
    assert_eq!(rs.maturity_tier.band, "developing");
    assert_eq!(rs.friction.appeal_count_30d, 0);
    assert!(!rs.friction.appeal_throttled);
    // Appeals show up as friction and eventually throttle.
    let c = reqwest::Client::new();
    for _ in 0..3 {
        let url = format!(
            "{}/dev/v1/operators/{}/appeals",
            h.gateway_url,
            paybond_kit::signal::encode_component(&i.payee_did)
        );
        assert_eq!(
            c.post(url)
                .bearer_auth(h.api_key())
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let rs = signal
        .operator_review_status(&i.payee_did, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rs.friction.appeal_count_30d, 3);
    assert!(rs.friction.appeal_throttled);
    assert!(rs.friction.next_appeal_eligible_at.is_some());
    assert!(!rs.trust_policy.auto_reliance_allowed);

    let ex = signal
        .operator_explanation(&i.payee_did, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ex.operator_did, i.payee_did);
    assert!(!ex.factors.is_empty());
    let pf = signal.portfolio_summary(None).await.unwrap();
    assert_eq!(pf.tenant_id, h.tenant_id);
    assert!(pf.operators.iter().any(|o| o.operator_did == i.payee_did));
    assert!(
        pf.extra.contains_key("operator_count"),
        "unknown fields preserved"
    );

    // Unknown operator -> None; other tenant's operator -> None.
    assert!(signal
        .reputation_receipt("did:payee:nobody", None)
        .await
        .unwrap()
        .is_none());
    assert!(signal
        .operator_review_status("did:payee:nobody", None)
        .await
        .unwrap()
        .is_none());
    let (_, other_key) = h.create_tenant(Some("tenant-b"));
    let other =
        ServiceAccountSignalSession::open(&h.gateway_url, other_key.as_str(), quick_options())
            .await
            .unwrap();
    assert!(other
        .signal()
        .reputation_receipt(&i.payee_did, None)
        .await
        .unwrap()
        .is_none());

    // A tampered receipt is rejected.
    h.add_fault(
        Fault::new("/reputation/*", FaultKind::SetField)
            .field("receipt.score")
            .value(json!(1000)),
    );
    let e = signal
        .reputation_receipt(&i.payee_did, None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::SignatureInvalid { .. }), "{e:?}");
    // Echo checks.
    h.add_fault(
        Fault::new("/signal/v1/operators/*", FaultKind::SetField)
            .field("operator_did")
            .value(json!("did:payee:other")),
    );
    assert_eq!(
        signal
            .operator_explanation(&i.payee_did, None)
            .await
            .unwrap_err()
            .code(),
        "tenant_mismatch"
    );
    h.add_fault(Fault::new(
        "/signal/v1/portfolio/summary",
        FaultKind::WrongTenant,
    ));
    assert_eq!(
        signal.portfolio_summary(None).await.unwrap_err().code(),
        "tenant_mismatch"
    );
    // Portfolio 404 is an error, and HTTP errors are SignalHttp.
    h.add_fault(Fault::new("/signal/v1/portfolio/summary", FaultKind::Status).status(404));
    assert!(matches!(
        signal.portfolio_summary(None).await.unwrap_err(),
        Error::SignalHttp {
            status_code: 404,
            ..
        }
    ));
    h.add_fault(Fault::new("/reputation/*", FaultKind::Status).status(400));
    assert!(matches!(
        signal
            .reputation_receipt(&i.payee_did, None)
            .await
            .unwrap_err(),
        Error::SignalHttp {
            status_code: 400,
            ..
        }
    ));
    let e = ServiceAccountSignalSession::open(
        &h.gateway_url,
        h.api_key(),
        paybond_kit::SessionOptions {
            expected_environment: Some("live".into()),
            ..quick_options()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "gateway_auth");
}
