//! Proxies from the environment are never used: with `HTTP_PROXY`,
//! `HTTPS_PROXY` and `ALL_PROXY` (both cases) pointing at the hostile
//! server's proxy listener, every request still goes straight to the server.
//! An explicit `HttpOptions::proxy_url` is used.
//!
//! Its own test binary: it changes the process environment.

use paybond_devserver::hostile::{HostileCorpus, HostileServer};
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{
    HttpOptions, Secret, ServiceAccountHarborSession, ServiceAccountSignalSession, SessionOptions,
};
use std::time::Duration;
use uuid::Uuid;

const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

fn options(proxy_url: Option<String>) -> SessionOptions {
    SessionOptions {
        http: HttpOptions {
            timeout: Duration::from_millis(500),
            deadline: Duration::from_millis(1500),
            max_retries: 2,
            max_retry_after: Duration::from_secs(1),
            max_response_bytes: 1 << 20,
            proxy_url,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn verify_request() -> VerifyRequest {
    VerifyRequest {
        intent_id: Uuid::new_v4().to_string(),
        token: Secret::new("En0KEwoEc2VhcmNoGAMiCQoHCAoSAxiACBIkCAASIFJ0b2tlbg=="),
        operation: "search".into(),
        requested_spend_cents: 1,
        ..Default::default()
    }
}

// One test function: the environment is process-wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_proxies_are_ignored_explicit_proxy_is_used() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/hostile.json");
    let server = HostileServer::start(HostileCorpus::load(&path).unwrap())
        .await
        .unwrap();
    for k in PROXY_VARS {
        std::env::set_var(k, server.proxy_url());
    }
    for k in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(k);
    }
    server.set_case(None, "every").unwrap();
    let url = server.url();

    let session =
        ServiceAccountHarborSession::open(&url, Secret::new(server.api_key()), &url, options(None))
            .await
            .unwrap();
    let v = session
        .harbor()
        .verify_capability(&verify_request())
        .await
        .unwrap();
    assert!(v.allow, "{v:?}");
    session.harbor().ledger_tip().await.unwrap();
    let signal =
        ServiceAccountSignalSession::open(&url, Secret::new(server.api_key()), options(None))
            .await
            .unwrap();
    signal
        .signal()
        .reputation_receipt("did:paybond:operator:hostile", None)
        .await
        .unwrap()
        .expect("a receipt");
    assert_eq!(server.proxy_hits(), 0, "an environment proxy was used");
    assert_eq!(server.hits("exchange"), 1);
    assert_eq!(server.hits("verify"), 1);
    assert_eq!(server.hits("ledger_tip"), 1);
    assert_eq!(server.hits("principal"), 1);
    assert_eq!(server.hits("signal_receipt"), 1);

    // An explicit proxy is honoured (the proxy answers a perfect allow itself).
    let proxied = ServiceAccountHarborSession::open(
        &url,
        Secret::new(server.api_key()),
        &url,
        options(Some(server.proxy_url())),
    )
    .await
    .unwrap();
    let v = proxied
        .harbor()
        .verify_capability(&verify_request())
        .await
        .unwrap();
    assert!(v.allow);
    assert!(server.proxy_hits() >= 2, "the explicit proxy was not used");
    assert_eq!(server.hits("exchange"), 1, "went around the explicit proxy");
    assert_eq!(server.hits("verify"), 1);
    assert_eq!(server.evil_hits(), 0);
    for k in PROXY_VARS {
        std::env::remove_var(k);
    }
}
