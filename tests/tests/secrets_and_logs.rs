//! No secret in any Debug, Display, error text or log line. Alone in its own
//! test binary: it installs a tracing subscriber, and tracing caches callsite
//! interest per process, which a parallel test without a subscriber would skew.

use paybond_devserver::{Fault, FaultKind};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard, ToolOutcome};
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{Error, Secret, ServiceAccountSignalSession};
use paybond_kit_integration::*;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = harbor_with_ttl(900).await;
    let s = open(&h, quick_options()).await;
    let i = intent(&h, &["search"], 1000);
    let jwt = s
        .token_provider()
        .token()
        .await
        .unwrap()
        .access_token
        .expose()
        .to_owned();
    let seed_hex = i.payee_signing_seed_hex.clone().unwrap();
    let seed = paybond_kit::evidence::seed_from_hex("seed", &seed_hex).unwrap();
    let secrets = [
        h.api_key().to_owned(),
        jwt.clone(),
        i.capability_token.clone(),
        seed_hex.clone(),
    ];
    // What a server could echo back: everything the kit sends. The seed never leaves the process.
    let sent = secrets[..3].join(" ");

    let signer = EvidenceSigner {
        payee_did: i.payee_did.clone(),
        seed: Arc::new(seed),
        version: Default::default(),
    };
    let opts = GuardOptions {
        evidence: Some(signer.clone()),
        ..Default::default()
    };
    let g = ToolGuard::new(
        s.harbor().clone(),
        &i.intent_id,
        Secret::new(i.capability_token.clone()),
        opts.clone(),
    )
    .unwrap();
    let c = ToolCall {
        name: "search".into(),
        call_id: "c1".into(),
        args: json!({}),
    };
    let d = g.authorize(&c, 1).await;
    let receipt = g
        .complete(&c, &d, &ToolOutcome::Success(json!({"ok": true})))
        .await
        .unwrap();

    // Errors produced for real, including a Harbor error body that echoes every secret.
    let mut errors: Vec<Error> = Vec::new();
    h.add_fault(Fault {
        body: Some(json!({"echo": sent, "auth": format!("Bearer {jwt}")})),
        ..Fault::new("/verify", FaultKind::Status).status(400)
    });
    let req = VerifyRequest {
        intent_id: i.intent_id.clone(),
        token: Secret::new(i.capability_token.clone()),
        operation: "search".into(),
        requested_spend_cents: 1,
        ..Default::default()
    };
    errors.push(s.harbor().verify_capability(&req).await.unwrap_err());
    h.add_fault(Fault::new("/verify", FaultKind::Malformed));
    errors.push(s.harbor().verify_capability(&req).await.unwrap_err());
    h.add_fault(Fault::new("/verify", FaultKind::WrongTenant));
    errors.push(s.harbor().verify_capability(&req).await.unwrap_err());
    errors.push(
        s.harbor()
            .verify_capability(&VerifyRequest {
                intent_id: uuid::Uuid::new_v4().to_string(),
                ..req.clone()
            })
            .await
            .unwrap_err(),
    );
    h.add_fault(Fault {
        body: Some(json!({"leak": sent.replace(' ', ",")})),
        ..Fault::new("/v1/auth/harbor-access", FaultKind::Status).status(403)
    });
    errors.push(s.token_provider().force_rotate().await.unwrap_err());
    errors.push(
        paybond_kit::ServiceAccountHarborSession::open(
            &h.gateway_url,
            h.api_key(),
            "http://evil.example",
            quick_options(),
        )
        .await
        .unwrap_err(),
    );
    // Every variant, constructed directly too.
    errors.extend([
        Error::HarborHttp {
            status_code: 500,
            url: "u".into(),
            body_text: "b".into(),
        },
        Error::GatewayAuth {
            status_code: Some(401),
            body_text: Some("b".into()),
            message: "m".into(),
        },
        Error::SignalHttp {
            status_code: 404,
            url: "u".into(),
            body_text: "b".into(),
        },
        Error::TenantBinding {
            message: "m".into(),
        },
        Error::InsecureUrl {
            url: "http://x".into(),
            message: "m".into(),
        },
        Error::Transport {
            url: "u".into(),
            message: "m".into(),
        },
        Error::Timeout {
            url: "u".into(),
            timeout_ms: 1,
            deadline_ms: 2,
            attempts: 1,
            elapsed_ms: 1,
        },
        Error::InvalidResponse {
            url: "u".into(),
            message: "m".into(),
        },
        Error::Signing {
            message: "m".into(),
        },
        Error::SignatureInvalid {
            message: "m".into(),
        },
        Error::TokenIntentMismatch {
            bound_kind: "intent",
            bound: "a".into(),
            requested: "b".into(),
        },
        Error::SessionClosed {
            message: "m".into(),
        },
        Error::InvalidArgument {
            field: "f".into(),
            message: "m".into(),
        },
    ]);
    let sig = ServiceAccountSignalSession::open(&h.gateway_url, h.api_key(), quick_options())
        .await
        .unwrap();
    s.close().await;
    errors.push(s.harbor().verify_capability(&req).await.unwrap_err());

    let mut rendered = Vec::new();
    for e in &errors {
        rendered.push(format!("{e} {e:?} {}", e.code()));
    }
    rendered.push(format!(
        "{s:?} {:?} {:?} {:?}",
        s.harbor(),
        s.token_provider(),
        s.token_provider().token().await
    ));
    rendered.push(format!(
        "{g:?} {d:?} {receipt:?} {req:?} {signer:?} {opts:?}"
    ));
    rendered.push(format!("{sig:?} {:?} {:?}", sig.signal(), sig.principal()));
    rendered.push(format!(
        "{:?} {} {h:?} {i:?}",
        Secret::new(jwt.clone()),
        Secret::new(jwt.clone())
    ));
    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        log_text.contains("paybond.request"),
        "a span per request is recorded"
    );
    assert!(
        log_text.contains("status=200") && log_text.contains("attempt=1"),
        "status and attempt are recorded"
    );
    rendered.push(log_text);
    for text in &rendered {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "secret leaked into: {}",
                &text[..text.len().min(400)]
            );
        }
    }
    // The 400's body was kept for support, minus the secrets.
    assert!(
        rendered[0].contains("400") && rendered[0].contains("***"),
        "{}",
        rendered[0]
    );
}
