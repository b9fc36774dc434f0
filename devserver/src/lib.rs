//! # Paybond dev server
//!
//! A faithful local stand-in for Paybond's Gateway, Harbor and Signal, in
//! memory: real EdDSA JWTs, real Biscuit capability tokens, real Ed25519
//! evidence signatures (the kit's own signing code and the shared vectors pin
//! the bytes), a hash-chained signed ledger, signed Signal receipts, and fault
//! injection for reliability tests.
//!
//! Start it in-process with [`LocalHarbor::start`] (port 0), or run the
//! `paybond-devserver` binary.

#![warn(missing_docs)]

pub mod captoken;
pub mod clock;
pub mod dev_intent;
pub mod error;
pub mod faults;
pub mod hostile;
pub mod idempotency;
pub mod jwt;
pub mod ledger;
pub mod lifecycle;
pub mod predicate;
pub mod server;
pub mod signal;
pub mod state;

pub use faults::{Fault, FaultKind};
pub use state::{DevIntentRequest, Stats};

use serde_json::Value;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// How to start a dev server.
#[derive(Clone, Debug)]
pub struct DevServerConfig {
    /// Address to bind (default 127.0.0.1).
    pub host: IpAddr,
    /// Gateway port (0: any free port).
    pub gateway_port: u16,
    /// Harbor port (0: any free port).
    pub harbor_port: u16,
    /// Lifetime of Harbor JWTs (default 900 s; tests use short ones).
    pub jwt_ttl: Duration,
    /// Id of the seeded tenant (default `tenant-dev`).
    pub tenant_id: String,
    /// API key of the seeded tenant (default: a fresh random sandbox key).
    pub api_key: Option<String>,
    /// Seconds an allow's reservation is held before the server releases it
    /// (when the caller never completes the decision); default 300. Measured
    /// on the dev clock ([`LocalHarbor::advance_clock`]).
    pub reservation_hold_seconds: u64,
}

impl Default for DevServerConfig {
    fn default() -> Self {
        DevServerConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            gateway_port: 0,
            harbor_port: 0,
            jwt_ttl: Duration::from_secs(900),
            tenant_id: "tenant-dev".into(),
            api_key: None,
            reservation_hold_seconds: state::DEFAULT_RESERVATION_HOLD.as_secs(),
        }
    }
}

/// A created dev intent.
#[derive(Clone)]
pub struct DevIntent {
    /// Intent id.
    pub intent_id: String,
    /// The capability token (standard base64 Biscuit).
    pub capability_token: String,
    /// Tenant.
    pub tenant_id: String,
    /// Payee DID.
    pub payee_did: String,
    /// Payee public key (standard base64).
    pub payee_pubkey: String,
    /// The payee's seed (hex) when the server generated the key.
    pub payee_signing_seed_hex: Option<String>,
    /// The whole answer.
    pub raw: Value,
}

impl fmt::Debug for DevIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevIntent")
            .field("intent_id", &self.intent_id)
            .field("capability_token", &"***")
            .field("tenant_id", &self.tenant_id)
            .field("payee_did", &self.payee_did)
            .finish_non_exhaustive()
    }
}

impl DevIntent {
    fn from_value(v: Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        DevIntent {
            intent_id: s("intent_id"),
            capability_token: s("capability_token"),
            tenant_id: s("tenant_id"),
            payee_did: s("payee_did"),
            payee_pubkey: s("payee_pubkey"),
            payee_signing_seed_hex: v
                .get("payee_signing_seed_hex")
                .and_then(Value::as_str)
                .map(str::to_owned),
            raw: v,
        }
    }
}

/// A running dev server (Gateway and Harbor on separate listeners). Stops when dropped.
pub struct LocalHarbor {
    /// Gateway base URL (`http://127.0.0.1:PORT`).
    pub gateway_url: String,
    /// Harbor base URL.
    pub harbor_url: String,
    /// The seeded tenant.
    pub tenant_id: String,
    api_key: String,
    app: Arc<state::App>,
    shutdown: watch::Sender<bool>,
}

impl fmt::Debug for LocalHarbor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalHarbor")
            .field("gateway_url", &self.gateway_url)
            .field("harbor_url", &self.harbor_url)
            .field("tenant_id", &self.tenant_id)
            .field("api_key", &"***")
            .finish()
    }
}

/// Error from the dev-server helpers.
#[derive(Debug)]
pub struct DevError(pub String);
impl fmt::Display for DevError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DevError {}

impl LocalHarbor {
    /// Binds both listeners and serves on the current tokio runtime.
    pub async fn start(config: DevServerConfig) -> std::io::Result<Self> {
        let app = Arc::new(state::App::with_hold(
            config.jwt_ttl,
            Duration::from_secs(config.reservation_hold_seconds),
        ));
        let (tenant_id, api_key) = app.create_tenant(
            Some(&config.tenant_id),
            Some("sandbox"),
            config.api_key.as_deref(),
        );
        let gw = TcpListener::bind(SocketAddr::new(config.host, config.gateway_port)).await?;
        let hb = TcpListener::bind(SocketAddr::new(config.host, config.harbor_port)).await?;
        let url = |l: &TcpListener| -> std::io::Result<String> {
            let a = l.local_addr()?;
            Ok(match a.ip() {
                IpAddr::V6(ip) => format!("http://[{ip}]:{}", a.port()),
                IpAddr::V4(ip) => format!("http://{ip}:{}", a.port()),
            })
        };
        let (gateway_url, harbor_url) = (url(&gw)?, url(&hb)?);
        let (tx, rx) = watch::channel(false);
        tokio::spawn(server::serve(
            gw,
            server::gateway_router(app.clone()),
            app.clone(),
            rx.clone(),
        ));
        tokio::spawn(server::serve(
            hb,
            server::harbor_router(app.clone()),
            app.clone(),
            rx,
        ));
        Ok(LocalHarbor {
            gateway_url,
            harbor_url,
            tenant_id,
            api_key,
            app,
            shutdown: tx,
        })
    }

    /// The seeded tenant's API key (a dev secret: do not log it).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The shared state (for tests that need to look inside).
    pub fn app(&self) -> &Arc<state::App> {
        &self.app
    }

    /// Creates another tenant with a fresh API key: `(tenant_id, api_key)`.
    pub fn create_tenant(&self, tenant_id: Option<&str>) -> (String, String) {
        self.app.create_tenant(tenant_id, Some("sandbox"), None)
    }

    /// Creates a funded intent for the seeded tenant.
    pub fn create_intent(&self, req: &DevIntentRequest) -> Result<DevIntent, DevError> {
        self.create_intent_for(&self.tenant_id, req)
    }

    /// Creates a funded intent for `tenant_id`.
    pub fn create_intent_for(
        &self,
        tenant_id: &str,
        req: &DevIntentRequest,
    ) -> Result<DevIntent, DevError> {
        self.app
            .create_dev_intent(tenant_id, req)
            .map(DevIntent::from_value)
            .map_err(|e| DevError(format!("{}: {}", e.code, e.message)))
    }

    /// Injects a fault; returns its id.
    pub fn add_fault(&self, fault: Fault) -> u64 {
        self.app.faults.add(fault)
    }

    /// Removes all faults.
    pub fn clear_faults(&self) {
        self.app.faults.clear()
    }

    /// Counters of one tenant.
    pub fn stats(&self, tenant_id: &str) -> Stats {
        self.app.sweep_tenant(tenant_id);
        self.app
            .data
            .lock()
            .tenants
            .get(tenant_id)
            .map(|t| t.stats.clone())
            .unwrap_or_default()
    }

    /// Per-tenant counters and totals, as `GET /dev/v1/stats` answers.
    pub fn stats_json(&self) -> Value {
        server::stats_json(&self.app)
    }

    /// Rebinds an API key to another tenant (tests of tenant-change handling).
    pub fn rebind_api_key(&self, api_key: &str, tenant_id: &str) -> bool {
        self.app.rebind_api_key(api_key, tenant_id)
    }

    /// Hex of the key that signs Signal receipts.
    pub fn signal_public_key_hex(&self) -> String {
        hex::encode(self.app.keys.signal.verifying_key().as_bytes())
    }

    /// Moves the server's clock ahead by `by` (whole seconds): JWT expiry,
    /// token and intent deadlines and reservation holds are measured on it.
    /// Returns how far ahead of real time the clock now is.
    pub fn advance_clock(&self, by: Duration) -> Result<Duration, DevError> {
        self.app
            .advance_clock(by)
            .map_err(|e| DevError(e.to_string()))
    }

    /// Decides an approval request of `tenant_id` as a reviewer would with
    /// `POST /v1/approvals/{approval_request_id}`; returns the same answer
    /// (`{approval_request_id, status, reason}`).
    pub fn decide_approval(
        &self,
        tenant_id: &str,
        approval_request_id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<Value, DevError> {
        self.app
            .decide_approval(tenant_id, approval_request_id, approve, reason)
            .map_err(|e| DevError(format!("{}: {}", e.code, e.message)))
    }

    /// Stops both listeners (also done on drop).
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for LocalHarbor {
    fn drop(&mut self) {
        self.stop();
    }
}
