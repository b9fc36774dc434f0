//! Shared helpers for the core <-> devserver integration tests.

use paybond_devserver::{DevIntent, DevIntentRequest, DevServerConfig, LocalHarbor};
use paybond_kit::{HttpOptions, ServiceAccountHarborSession, SessionOptions};
use std::time::Duration;

/// A dev server with a JWT lifetime of `jwt_ttl` seconds.
pub async fn harbor_with_ttl(jwt_ttl: u64) -> LocalHarbor {
    LocalHarbor::start(DevServerConfig {
        jwt_ttl: Duration::from_secs(jwt_ttl),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Fast-failing options for tests: short timeout and backoff.
pub fn quick_options() -> SessionOptions {
    SessionOptions {
        http: HttpOptions {
            timeout: Duration::from_millis(1500),
            max_retries: 3,
            backoff_base: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            ..HttpOptions::default()
        },
        ..SessionOptions::default()
    }
}

/// Opens a session on `h`'s seeded tenant.
pub async fn open(h: &LocalHarbor, opts: SessionOptions) -> ServiceAccountHarborSession {
    ServiceAccountHarborSession::open(&h.gateway_url, h.api_key(), &h.harbor_url, opts)
        .await
        .unwrap()
}

/// A funded dev intent with a server-generated payee key.
pub fn intent(h: &LocalHarbor, tools: &[&str], amount_cents: i64) -> DevIntent {
    h.create_intent(&DevIntentRequest {
        allowed_tools: tools.iter().map(|s| s.to_string()).collect(),
        amount_cents,
        ..Default::default()
    })
    .unwrap()
}
