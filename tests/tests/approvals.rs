//! Human approval through the core guard (issue 12): a call above the
//! intent's threshold is `Decision::ApprovalRequired`, not a plain deny;
//! after a reviewer approves, the same call is allowed with one reservation;
//! a rejection is a deny carrying the reviewer's reason.

use paybond_devserver::DevIntentRequest;
use paybond_kit::guard::{GuardOptions, ToolCall, ToolGuard};
use paybond_kit::{Decision, Error, Secret, SpendOutcome};
use paybond_kit_integration::*;
use serde_json::json;

async fn setup(threshold: i64) -> (paybond_devserver::LocalHarbor, ToolGuard, String) {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let i = h
        .create_intent(&DevIntentRequest {
            allowed_tools: vec!["book".into()],
            amount_cents: 2000,
            approval_threshold_cents: Some(threshold),
            ..Default::default()
        })
        .unwrap();
    let g = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions::default(),
    )
    .unwrap();
    (h, g, i.intent_id)
}

fn book(id: &str) -> ToolCall {
    ToolCall::new("book", Some(id.into())).with_args(json!({"hotel": "big"}))
}

#[tokio::test]
async fn approval_required_then_approved_runs_once() {
    let (h, g, _) = setup(500).await;
    let d = g.authorize(&book("c1"), 600).await;
    let Decision::ApprovalRequired {
        approval_request_id,
        reason,
        ..
    } = &d
    else {
        panic!("expected approval_required, got {d:?}")
    };
    assert_eq!(reason.as_deref(), Some("approval_threshold_exceeded"));
    assert!(!d.is_allow());
    assert!(
        d.describe("book")
            .starts_with("Paybond denied book: approval_required: "),
        "{}",
        d.describe("book")
    );
    // Still pending: the same answer, nothing reserved.
    let again = g.authorize(&book("c1"), 600).await;
    assert_eq!(
        again.approval_request_id(),
        Some(approval_request_id.as_str())
    );
    let ans = g
        .decide_approval(approval_request_id, true, None)
        .await
        .unwrap();
    assert_eq!(ans.status, "approved");
    let allowed = g.authorize(&book("c1"), 600).await;
    assert!(allowed.is_allow(), "{allowed:?}");
    // A second pass before the tool ran: the same allow, no second reservation.
    assert_eq!(g.authorize(&book("c1"), 600).await, allowed);
    let done = g
        .finish("c1", SpendOutcome::Consumed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.remaining_cents, Some(1400));
    let replay = g.authorize(&book("c1"), 600).await;
    assert_eq!(replay.code(), "call_replayed", "{replay:?}");
    let stats = h.stats(&h.tenant_id);
    assert_eq!(stats.verify_allows, 1, "{stats:?}");
}

#[tokio::test]
async fn rejected_call_is_a_deny_with_the_reviewers_reason() {
    let (_h, g, _) = setup(100).await;
    let d = g.authorize(&book("c2"), 600).await;
    let id = d
        .approval_request_id()
        .expect("approval required")
        .to_owned();
    g.decide_approval(&id, false, Some("too pricey"))
        .await
        .unwrap();
    let denied = g.authorize(&book("c2"), 600).await;
    match &denied {
        Decision::Deny { reason, .. } => assert_eq!(reason.as_deref(), Some("approval_rejected")),
        other => panic!("expected a deny, got {other:?}"),
    }
    assert!(
        denied.describe("book").contains("too pricey"),
        "{}",
        denied.describe("book")
    );
    // Deciding the other way now is Harbor's 409, a typed error.
    let err = g.decide_approval(&id, true, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::HarborHttp {
                status_code: 409,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_approval_ids_never_reach_the_wire() {
    let (_h, g, _) = setup(100).await;
    for bad in ["", "..", "a/b", "x?y=1", &"a".repeat(129), "ünï"] {
        let err = g.decide_approval(bad, true, None).await.unwrap_err();
        assert_eq!(err.code(), "invalid_argument", "{bad:?}: {err:?}");
    }
}
