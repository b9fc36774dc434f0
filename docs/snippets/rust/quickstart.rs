//! Quickstart (Rust): a paid tool that cannot run unless Harbor verified the call.
//!
//! Runs as written against the in-process dev server:
//! `cargo run -p paybond-kit-integration --example docs_quickstart`.

use paybond_devserver::{DevIntentRequest, DevServerConfig, LocalHarbor};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome};
use paybond_kit::{Decision, Secret, ServiceAccountHarborSession, SessionOptions};
use serde_json::{json, Value};
use std::sync::Arc;

/// The tool: only ever called after an allow.
fn book_hotel(args: &Value) -> Value {
    json!({"status": "booked", "hotel": args["hotel"], "cost_cents": args["cost_cents"]})
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Gateway + Harbor + Signal on loopback ports; the intent allows book_hotel up to $5.00.
    let harbor = LocalHarbor::start(DevServerConfig::default()).await?;
    let intent = harbor.create_intent(&DevIntentRequest {
        allowed_tools: vec!["book_hotel".into()],
        amount_cents: 500,
        ..Default::default()
    })?;

    // One session per API key; the tenant comes from the Gateway's answer.
    let session = ServiceAccountHarborSession::open(
        &harbor.gateway_url,
        harbor.api_key(),
        &harbor.harbor_url,
        SessionOptions::default(),
    )
    .await?;

    // Optional: sign each successful result as the payee (evidence, once per call id).
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

    let mut booked = 0;
    for (n, (tool, args)) in [
        (
            "book_hotel",
            json!({"hotel": "Harbor Inn", "cost_cents": 300}),
        ),
        ("wire_money", json!({"to": "acct-42", "cost_cents": 100})),
        ("book_hotel", json!({"hotel": "Grand", "cost_cents": 300})),
    ]
    .into_iter()
    .enumerate()
    {
        let call = ToolCall::new(tool, Some(format!("call-{n}"))).with_args(args.clone());
        let spend = args["cost_cents"].as_u64().unwrap_or(0);
        let decision = guard.authorize(&call, spend).await;
        match &decision {
            Decision::Allow {
                remaining_cents, ..
            } => {
                let result = book_hotel(&args);
                booked += 1;
                // Consumes the reservation and submits the signed evidence.
                let receipt = guard
                    .complete(&call, &decision, &ToolOutcome::Success(result))
                    .await?;
                println!(
                    "{tool}: allowed, ran; remaining {remaining_cents:?}, evidence {:?}",
                    receipt.and_then(|r| r.state)
                );
            }
            Decision::Deny { .. } => println!("{tool}: {}", decision.describe(tool)),
            Decision::ApprovalRequired {
                approval_request_id,
                ..
            } => {
                println!("{tool}: waits for a reviewer (approval request {approval_request_id})")
            }
        }
    }
    assert_eq!(booked, 1, "only the first booking fits the intent");
    session.close().await;
    Ok(())
}
