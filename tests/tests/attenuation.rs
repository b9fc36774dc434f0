//! Delegation by attenuation: the core narrows a capability token offline and
//! the dev server (Harbor) enforces every appended block over real HTTP.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use biscuit_auth::builder::BlockBuilder;
use biscuit_auth::UnverifiedBiscuit;
use paybond_devserver::{DevIntentRequest, LocalHarbor};
use paybond_kit::attenuate::AttenuationInput;
use paybond_kit::guard::{GuardOptions, ToolCall, ToolGuard};
use paybond_kit::input::HostNumber;
use paybond_kit::{Decision, Error, FieldStyle, Secret, ServiceAccountHarborSession};
use paybond_kit_integration::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

fn call(name: &str, id: &str) -> ToolCall {
    ToolCall::new(name, Some(id.into())).with_args(json!({}))
}

/// `allow`, or Harbor's deny code.
fn outcome(d: &Decision) -> String {
    match d {
        Decision::Allow { .. } => "allow".into(),
        Decision::Deny {
            reason: Some(r), ..
        } => r.clone(),
        Decision::Deny { code, .. } => code.clone(),
        Decision::ApprovalRequired { .. } => "approval_required".into(),
    }
}

fn remaining(d: &Decision) -> Option<i64> {
    match d {
        Decision::Allow {
            remaining_cents, ..
        } => *remaining_cents,
        _ => None,
    }
}

fn limits(
    tools: Option<&[&str]>,
    cap: Option<i128>,
    ttl: Option<i128>,
    calls: Option<i128>,
) -> AttenuationInput {
    AttenuationInput {
        tools: tools.map(|t| t.iter().map(|s| s.to_string()).collect()),
        max_spend_per_call_cents: cap.map(HostNumber::Int),
        expires_in_seconds: ttl.map(HostNumber::Int),
        max_calls: calls.map(HostNumber::Int),
    }
}

struct Env {
    h: LocalHarbor,
    s: ServiceAccountHarborSession,
}

async fn env() -> Env {
    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    Env { h, s }
}

impl Env {
    fn parent(&self, tools: &[&str], amount: i64) -> (ToolGuard, paybond_devserver::DevIntent) {
        let i = intent(&self.h, tools, amount);
        let g = ToolGuard::new(
            self.s.harbor().clone(),
            &i.intent_id,
            Secret::new(i.capability_token.clone()),
            GuardOptions::default(),
        )
        .unwrap();
        (g, i)
    }

    /// `POST /verify` straight to Harbor with any token (no kit-side checks).
    async fn raw_verify(&self, s: &ServiceAccountHarborSession, body: Value) -> Value {
        let jwt = s.token_provider().bearer().await.unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/verify", self.h.harbor_url))
            .bearer_auth(jwt.expose())
            .header("x-tenant-id", s.tenant_id())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }
}

/// `token` with one more block written by hand (what an attacker holding it can do).
fn append_raw(token: &str, code: &str) -> String {
    let bytes = STANDARD.decode(token).unwrap();
    let t = UnverifiedBiscuit::from(&bytes)
        .unwrap()
        .append(BlockBuilder::new().code(code).unwrap())
        .unwrap();
    STANDARD.encode(t.to_vec().unwrap())
}

#[tokio::test]
async fn a_child_is_narrower_while_the_parent_keeps_its_scope() {
    let e = env().await;
    let (parent, _) = e.parent(&["search", "book"], 1000);
    let child = parent
        .attenuate(
            &limits(Some(&["search"]), Some(100), None, None),
            FieldStyle::Snake,
        )
        .unwrap();
    assert_eq!(child.intent_id(), parent.intent_id());
    assert_eq!(
        outcome(&child.authorize(&call("search", "c1"), 50).await),
        "allow"
    );
    // Outside the child's scope, though the parent could make the call.
    assert_eq!(
        outcome(&child.authorize(&call("book", "c2"), 1).await),
        "operation_not_allowed"
    );
    assert_eq!(
        outcome(&child.authorize(&call("search", "c3"), 101).await),
        "spend_cap_exceeded"
    );
    assert_eq!(
        outcome(&parent.authorize(&call("book", "p1"), 1).await),
        "allow"
    );
    assert_eq!(
        outcome(&parent.authorize(&call("search", "p2"), 500).await),
        "allow"
    );
    // The deny text names the block.
    match child.authorize(&call("book", "c4"), 1).await {
        Decision::Deny { message, .. } => {
            assert!(message.contains("attenuation block 1"), "{message}")
        }
        d => panic!("{d:?}"),
    }
}

#[tokio::test]
async fn spend_under_a_child_counts_against_the_parent_intent() {
    let e = env().await;
    let (parent, _) = e.parent(&["search"], 1000);
    let child = parent
        .attenuate(&limits(None, Some(400), None, None), FieldStyle::Snake)
        .unwrap();
    let d = child.authorize(&call("search", "c1"), 300).await;
    assert_eq!(remaining(&d), Some(700), "{d:?}");
    let d = parent.authorize(&call("search", "p1"), 100).await;
    assert_eq!(remaining(&d), Some(600), "{d:?}");
    let grandchild = child
        .attenuate(&limits(None, Some(400), None, None), FieldStyle::Snake)
        .unwrap();
    let d = grandchild.authorize(&call("search", "g1"), 400).await;
    assert_eq!(remaining(&d), Some(200), "{d:?}");
    // The intent's own budget still binds the child.
    assert_eq!(
        outcome(&child.authorize(&call("search", "c2"), 201).await),
        "budget_exceeded"
    );
}

#[tokio::test]
async fn max_calls_is_counted_per_block_by_harbor() {
    let e = env().await;
    let (parent, _) = e.parent(&["search"], 1000);
    let child = parent
        .attenuate(&limits(None, None, None, Some(2)), FieldStyle::Snake)
        .unwrap();
    assert_eq!(
        outcome(&child.authorize(&call("search", "c1"), 1).await),
        "allow"
    );
    // The same call again (a resume) is the same reservation, not a second call.
    assert_eq!(
        outcome(&child.authorize(&call("search", "c1"), 1).await),
        "allow"
    );
    assert_eq!(
        outcome(&child.authorize(&call("search", "c2"), 1).await),
        "allow"
    );
    let d = child.authorize(&call("search", "c3"), 1).await;
    assert_eq!(outcome(&d), "max_calls_exceeded", "{d:?}");
    // A guard rebuilt from the same token shares the count: Harbor keeps it, not the kit.
    let again = ToolGuard::new(
        e.s.harbor().clone(),
        &parent.intent_id(),
        child.capability_token().clone(),
        GuardOptions::default(),
    )
    .unwrap();
    assert_eq!(
        outcome(&again.authorize(&call("search", "c4"), 1).await),
        "max_calls_exceeded"
    );
    // A grandchild's calls count against its parent block too.
    let grandchild = child
        .attenuate(&limits(None, None, None, Some(1)), FieldStyle::Snake)
        .unwrap();
    assert_eq!(
        outcome(&grandchild.authorize(&call("search", "g1"), 1).await),
        "max_calls_exceeded"
    );
    // The parent and a sibling are unaffected.
    assert_eq!(
        outcome(&parent.authorize(&call("search", "p1"), 1).await),
        "allow"
    );
    let sibling = parent
        .attenuate(&limits(None, None, None, Some(1)), FieldStyle::Snake)
        .unwrap();
    assert_eq!(
        outcome(&sibling.authorize(&call("search", "s1"), 1).await),
        "allow"
    );
    assert_eq!(
        outcome(&sibling.authorize(&call("search", "s2"), 1).await),
        "max_calls_exceeded"
    );
}

#[tokio::test]
async fn a_call_reserved_under_the_parent_still_counts_for_the_child() {
    let e = env().await;
    let (parent, _) = e.parent(&["search"], 1000);
    let child = parent
        .attenuate(&limits(None, None, None, Some(1)), FieldStyle::Snake)
        .unwrap();
    // One call id verified by two guards (say a parent-level guard and the sub-agent's):
    // one reservation, and the child's block counts it.
    let d = parent.authorize(&call("search", "x1"), 10).await;
    assert_eq!(outcome(&d), "allow");
    let d2 = child.authorize(&call("search", "x1"), 10).await;
    assert_eq!(outcome(&d2), "allow");
    assert_eq!(remaining(&d), remaining(&d2), "the same reservation");
    assert_eq!(
        outcome(&child.authorize(&call("search", "x2"), 10).await),
        "max_calls_exceeded"
    );
}

#[tokio::test]
async fn max_calls_holds_under_concurrent_calls() {
    let e = env().await;
    let (parent, _) = e.parent(&["search"], 1000);
    let child = Arc::new(
        parent
            .attenuate(&limits(None, None, None, Some(5)), FieldStyle::Snake)
            .unwrap(),
    );
    let tasks: Vec<_> = (0..24)
        .map(|k| {
            let g = child.clone();
            tokio::spawn(async move {
                outcome(&g.authorize(&call("search", &format!("c{k}")), 1).await)
            })
        })
        .collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_default() += 1;
    }
    assert_eq!(counts.get("allow"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("max_calls_exceeded"), Some(&19), "{counts:?}");
}

#[tokio::test]
async fn a_child_expires_before_its_parent() {
    let e = env().await;
    let (parent, _) = e.parent(&["search"], 1000);
    let child = parent
        .attenuate(&limits(None, None, Some(60), None), FieldStyle::Snake)
        .unwrap();
    assert_eq!(
        outcome(&child.authorize(&call("search", "c1"), 1).await),
        "allow"
    );
    e.h.advance_clock(Duration::from_secs(61)).unwrap();
    assert_eq!(
        outcome(&child.authorize(&call("search", "c2"), 1).await),
        "token_expired"
    );
    assert_eq!(
        outcome(&parent.authorize(&call("search", "p1"), 1).await),
        "allow"
    );
}

#[tokio::test]
async fn attenuate_refuses_to_widen_before_any_request() {
    let e = env().await;
    let i =
        e.h.create_intent(&DevIntentRequest {
            allowed_tools: vec!["search".into()],
            amount_cents: 1000,
            max_spend_per_call_cents: Some(200),
            token_ttl_seconds: Some(600),
            ..Default::default()
        })
        .unwrap();
    let mut ops = HashMap::new();
    ops.insert("web_search".to_string(), "search".to_string());
    let parent = ToolGuard::new(
        e.s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        GuardOptions {
            operations: ops,
            ..GuardOptions::default()
        },
    )
    .unwrap();
    let before = e.h.stats(&e.h.tenant_id).verifies;
    for (l, field) in [
        (limits(Some(&["wire_money"]), None, None, None), "tools"),
        (limits(None, Some(201), None, None), "maxSpendPerCallCents"),
        (limits(None, None, Some(3600), None), "expiresInSeconds"),
        (limits(None, None, None, Some(0)), "maxCalls"),
    ] {
        match parent.attenuate(&l, FieldStyle::Camel) {
            Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
            Err(other) => panic!("{field}: {other:?}"),
            Ok(_) => panic!("{field}: attenuated"),
        }
    }
    assert_eq!(
        e.h.stats(&e.h.tenant_id).verifies,
        before,
        "offline: no request"
    );
    // Tool names go through the guard's operation table.
    let child = parent
        .attenuate(
            &limits(Some(&["web_search"]), Some(200), Some(600), None),
            FieldStyle::Snake,
        )
        .unwrap();
    assert_eq!(
        outcome(&child.authorize(&call("web_search", "c1"), 200).await),
        "allow"
    );
}

#[tokio::test]
async fn facts_an_attacker_appends_grant_nothing() {
    let e = env().await;
    let (parent, i) = e.parent(&["search"], 1000);
    let (tenant_b, key_b) = e.h.create_tenant(Some("tenant-b"));
    let other =
        e.h.create_intent_for(
            &tenant_b,
            &DevIntentRequest {
                allowed_tools: vec!["search".into(), "wire_money".into()],
                amount_cents: 1_000_000,
                ..Default::default()
            },
        )
        .unwrap();
    let same_tenant_other = intent(&e.h, &["search", "wire_money"], 1_000_000);
    let claims = format!(
        "tenant(\"{tenant_b}\"); intent(\"{}\"); intent(\"{}\");\n\
         allowed_operation(\"wire_money\"); budget_cents(100000000); expires_at(2100-01-01T00:00:00Z);\n\
         delegated_operation(\"wire_money\"); delegated_spend_cap(100000000);",
        other.intent_id, same_tenant_other.intent_id
    );
    let forged = append_raw(&i.capability_token, &claims);
    let body = |intent: &str, op: &str, spend: i64| json!({"intent_id": intent, "token": forged, "operation": op, "requested_spend_cents": spend});
    // Another tool, a higher cap: denied on the token's own intent.
    let v = e
        .raw_verify(&e.s, body(&i.intent_id, "wire_money", 1))
        .await;
    assert_eq!(
        (v["allow"].clone(), v["code"].clone()),
        (json!(false), json!("operation_not_allowed")),
        "{v}"
    );
    let v = e.raw_verify(&e.s, body(&i.intent_id, "search", 1001)).await;
    assert_eq!(v["code"], "budget_exceeded", "{v}");
    // Another intent of the same tenant.
    let v = e
        .raw_verify(&e.s, body(&same_tenant_other.intent_id, "search", 1))
        .await;
    assert_eq!(v["code"], "token_intent_mismatch", "{v}");
    // Another tenant, with an intent of that tenant.
    let sb = ServiceAccountHarborSession::open(
        &e.h.gateway_url,
        key_b.as_str(),
        &e.h.harbor_url,
        quick_options(),
    )
    .await
    .unwrap();
    let v = e.raw_verify(&sb, body(&other.intent_id, "search", 1)).await;
    assert_eq!(v["code"], "tenant_mismatch", "{v}");
    // Still fine for what the authority allows.
    let v = e.raw_verify(&e.s, body(&i.intent_id, "search", 10)).await;
    assert_eq!(v["allow"], true, "{v}");

    // A child's holder appends a block that tries to add a tool and raise the cap back.
    let child = parent
        .attenuate(
            &limits(Some(&["search"]), Some(100), None, Some(3)),
            FieldStyle::Snake,
        )
        .unwrap();
    let wider = append_raw(
        child.capability_token().expose(),
        "delegated_operation(\"wire_money\"); allowed_operation(\"wire_money\");\n\
         delegated_spend_cap(100000); delegated_max_calls(1000000); max_calls_enforced(true);",
    );
    let g = ToolGuard::new(
        e.s.harbor().clone(),
        &i.intent_id,
        Secret::new(wider),
        GuardOptions::default(),
    )
    .unwrap();
    assert_eq!(
        outcome(&g.authorize(&call("wire_money", "w1"), 1).await),
        "operation_not_allowed"
    );
    assert_eq!(
        outcome(&g.authorize(&call("search", "w2"), 101).await),
        "spend_cap_exceeded"
    );
    for k in 0..3 {
        assert_eq!(
            outcome(&g.authorize(&call("search", &format!("w3{k}")), 1).await),
            "allow"
        );
    }
    assert_eq!(
        outcome(&g.authorize(&call("search", "w4"), 1).await),
        "max_calls_exceeded"
    );
    // The kit itself refuses to attenuate to the forged claims.
    assert!(matches!(
        g.attenuate(
            &limits(Some(&["wire_money"]), None, None, None),
            FieldStyle::Snake
        ),
        Err(Error::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn a_token_with_too_many_blocks_is_refused() {
    let e = env().await;
    let (parent, i) = e.parent(&["search"], 1000);
    let mut g = parent;
    for _ in 0..(paybond_kit::attenuate::MAX_TOKEN_BLOCKS - 1) {
        g = g
            .attenuate(&limits(None, None, None, None), FieldStyle::Snake)
            .unwrap();
    }
    assert!(matches!(
        g.attenuate(&limits(None, None, None, None), FieldStyle::Snake),
        Err(Error::InvalidArgument { field, .. }) if field == "capability_token"
    ));
    assert_eq!(
        outcome(&g.authorize(&call("search", "c1"), 1).await),
        "allow"
    );
    let over = append_raw(g.capability_token().expose(), "check if true;");
    let v = e
        .raw_verify(
            &e.s,
            json!({"intent_id": i.intent_id, "token": over, "operation": "search", "requested_spend_cents": 1}),
        )
        .await;
    assert_eq!(v["code"], "invalid_token", "{v}");
}
