//! A paid tool that cannot run unless Harbor verified the call.
//!
//! Starts the dev server in-process, opens a session from its API key, funds
//! an intent for `book_hotel` with $5.00, and tries three calls: one allowed
//! (the tool runs and its result is signed and submitted as payee evidence),
//! one for a tool the intent does not allow, and one over budget.
//!
//! Run: `cargo run -p paybond-kit-integration --example guarded_tool`

use paybond_devserver::{DevIntentRequest, DevServerConfig, LocalHarbor};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome};
use paybond_kit::{Decision, Secret, ServiceAccountHarborSession, SessionOptions};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

static HOTEL_BOOKINGS: AtomicU32 = AtomicU32::new(0);
static WIRES: AtomicU32 = AtomicU32::new(0);

fn run_tool(name: &str, args: &Value) -> Value {
    match name {
        "book_hotel" => {
            HOTEL_BOOKINGS.fetch_add(1, Ordering::SeqCst);
            json!({"status": "booked", "hotel": args["hotel"], "cost_cents": args["cost_cents"]})
        }
        _ => {
            WIRES.fetch_add(1, Ordering::SeqCst);
            json!({"status": "sent"})
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let harbor = LocalHarbor::start(DevServerConfig::default()).await?;
    let session = ServiceAccountHarborSession::open(
        &harbor.gateway_url,
        harbor.api_key(),
        &harbor.harbor_url,
        SessionOptions::default(),
    )
    .await?;
    println!(
        "session bound to tenant {} (from the Gateway, not the caller)",
        session.tenant_id()
    );

    let intent = harbor.create_intent(&DevIntentRequest {
        allowed_tools: vec!["book_hotel".into()],
        amount_cents: 500,
        ..Default::default()
    })?;
    let seed = paybond_kit::evidence::seed_from_hex(
        "payee_signing_seed_hex",
        intent.payee_signing_seed_hex.as_deref().unwrap_or_default(),
    )?;
    let options = GuardOptions {
        evidence: Some(EvidenceSigner {
            payee_did: intent.payee_did.clone(),
            seed: Arc::new(seed),
            version: Default::default(),
        }),
        ..Default::default()
    };
    let guard = ToolGuard::new(
        session.harbor().clone(),
        &intent.intent_id,
        Secret::new(intent.capability_token.clone()),
        options,
    )?;

    let calls = [
        (
            "book_hotel",
            json!({"hotel": "Harbor Inn", "cost_cents": 300}),
        ),
        ("wire_money", json!({"to": "acct-1", "cost_cents": 100})),
        ("book_hotel", json!({"hotel": "Grand", "cost_cents": 300})),
    ];
    println!(
        "\n{:<12} {:<5} {:<28} {:>9}  {:<12}",
        "tool", "ran", "decision", "remaining", "evidence"
    );
    for (n, (name, args)) in calls.iter().enumerate() {
        let call = ToolCall {
            name: (*name).into(),
            call_id: format!("call-{n}"),
            args: args.clone(),
        };
        let spend = args["cost_cents"].as_u64().unwrap_or(0);
        let decision = guard.authorize(&call, spend).await;
        let (ran, label, remaining, evidence) = match &decision {
            Decision::Allow {
                remaining_cents, ..
            } => {
                let result = run_tool(name, args);
                let receipt = guard
                    .complete(&call, &decision, &ToolOutcome::Success(result))
                    .await?;
                let state = receipt.and_then(|r| r.state).unwrap_or_else(|| "-".into());
                (
                    "yes",
                    "allow".to_string(),
                    remaining_cents.map(|c| c.to_string()).unwrap_or_default(),
                    state,
                )
            }
            Decision::Deny { code, reason, .. } => (
                "no",
                format!("deny {}", reason.as_deref().unwrap_or(code)),
                "-".into(),
                "-".into(),
            ),
            // Waiting for a reviewer is never an allow (see `ToolGuard::decide_approval`).
            Decision::ApprovalRequired { .. } => (
                "no",
                "approval required".to_string(),
                "-".into(),
                "-".into(),
            ),
        };
        println!(
            "{:<12} {:<5} {:<28} {:>9}  {:<12}",
            name, ran, label, remaining, evidence
        );
    }
    println!(
        "\nbook_hotel ran {} time(s); wire_money ran {} time(s) — denied tools never ran.",
        HOTEL_BOOKINGS.load(Ordering::SeqCst),
        WIRES.load(Ordering::SeqCst)
    );
    let tip = session.harbor().ledger_tip().await?;
    println!(
        "ledger: {} evidence entr{} for tenant {}",
        tip.seq,
        if tip.seq == 1 { "y" } else { "ies" },
        tip.tenant_id
    );
    session.close().await;
    assert_eq!(WIRES.load(Ordering::SeqCst), 0, "a denied tool ran");
    Ok(())
}
