//! A panic inside a call (injected through the test hook) is a deny, never a
//! hang or a crash. Its own test binary: the hook is process-wide.

use paybond_kit::guard::{GuardOptions, ToolCall, ToolGuard};
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{Decision, Secret};
use paybond_kit_integration::*;
use serde_json::json;

#[tokio::test]
async fn injected_panic_is_an_internal_error_and_a_deny() {
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
    let c = ToolCall {
        name: "search".into(),
        call_id: "p1".into(),
        args: json!({}),
    };
    paybond_kit::testing::inject_panics(1);
    match g.authorize(&c, 1).await {
        Decision::Deny { code, message, .. } => {
            assert_eq!(code, "internal");
            assert!(message.contains("panic"), "{message}");
        }
        d => panic!("expected a deny, got {d:?}"),
    }
    paybond_kit::testing::inject_panics(1);
    let e = s
        .harbor()
        .verify_capability(&VerifyRequest {
            intent_id: i.intent_id.clone(),
            token: Secret::new(i.capability_token.clone()),
            operation: "search".into(),
            requested_spend_cents: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "internal");
    // Disarmed again: the next call is an allow.
    assert!(g.authorize(&c, 1).await.is_allow());
}
