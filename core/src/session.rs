//! Sessions opened from one service-account API key. The tenant comes from
//! the Gateway's answer, never from the caller; one session per tenant.

use crate::error::{Error, Result};
use crate::gateway::{GatewayHarborTokenProvider, Principal, DEFAULT_REFRESH_SKEW};
use crate::harbor::HarborClient;
use crate::http::{Http, HttpOptions};
use crate::secret::Secret;
use crate::signal::GatewaySignalClient;
use crate::url::BaseUrl;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit};

/// Options for opening a session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Timeouts and retries.
    pub http: HttpOptions,
    /// Refresh the JWT this long before it expires (default 90 s, clamped to half its lifetime).
    pub refresh_skew: Duration,
    /// A tenant the caller expects. It never overrides the Gateway: when it
    /// differs from the Gateway's answer, opening fails with `TenantBinding`.
    pub expected_tenant_id: Option<String>,
    /// For Signal sessions: the environment (`live`/`sandbox`) the key must be for.
    pub expected_environment: Option<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            http: HttpOptions::default(),
            refresh_skew: DEFAULT_REFRESH_SKEW,
            expected_tenant_id: None,
            expected_environment: None,
        }
    }
}

// Enough permits that `enter` never waits; `close` takes them all to drain.
const PERMITS: u32 = 1 << 30;

/// Requests sent on the caller's behalf after the caller moved on (spend completions sent
/// in the background, [`crate::guard::ToolGuard::finish_in_background`]), counted per process
/// ([`crate::guard::settle`] waits for the count to reach 0). Each one also holds a permit of
/// its session, so the session's close waits for it.
pub(crate) struct Pending {
    // (the process the count belongs to, the count). A `fork()` child inherits the parent's
    // count without its tasks: a count of another process is void, the child starts from 0.
    state: std::sync::Mutex<(u32, usize)>,
    idle: Notify,
}

impl Pending {
    pub const fn new() -> Self {
        Pending {
            state: std::sync::Mutex::new((0, 0)),
            idle: Notify::const_new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u32, usize)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self) {
        let now = std::process::id();
        let mut g = self.lock();
        if g.0 != now {
            *g = (now, 0);
        }
        g.1 += 1;
    }

    fn leave(&self) {
        let mut g = self.lock();
        if g.0 != std::process::id() || g.1 == 0 {
            return;
        }
        g.1 -= 1;
        if g.1 == 0 {
            drop(g);
            self.idle.notify_waiters();
        }
    }

    /// How many are still running in this process.
    pub fn count(&self) -> usize {
        let g = self.lock();
        if g.0 == std::process::id() {
            g.1
        } else {
            0
        }
    }

    /// Waits until none is running (each one is bounded by its call's deadline).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

fn closed_error() -> Error {
    Error::SessionClosed {
        message: "the session was closed; open a new one".into(),
    }
}

/// Every background request of this process.
pub(crate) static PROCESS_PENDING: Pending = Pending::new();

/// Held by one background request from the moment it is started until it ended: counted in
/// the process, and a permit of its session (the session's close waits for it; the request
/// itself is let through while the session closes).
pub(crate) struct PendingGuard {
    _permit: OwnedSemaphorePermit,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        PROCESS_PENDING.leave();
    }
}

/// Open/closed state shared by a session and its clients: in-flight calls and background
/// requests hold a permit; closing refuses new calls at once, then waits for the permits.
pub(crate) struct Lifecycle {
    closed: AtomicBool,
    sem: Arc<Semaphore>,
}

impl Lifecycle {
    pub fn new() -> Arc<Self> {
        Arc::new(Lifecycle {
            closed: AtomicBool::new(false),
            sem: Arc::new(Semaphore::new(PERMITS as usize)),
        })
    }

    /// Starts one background request: a permit of the session (a closed session refuses it)
    /// and one more in the process count, both given back when the guard is dropped.
    pub fn start_pending(&self) -> Result<PendingGuard> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed_error());
        }
        let permit = self
            .sem
            .clone()
            .try_acquire_owned()
            .map_err(|_| closed_error())?;
        PROCESS_PENDING.enter();
        Ok(PendingGuard { _permit: permit })
    }

    pub fn enter(&self) -> Result<SemaphorePermit<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed_error());
        }
        self.sem.try_acquire().map_err(|_| closed_error())
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(all) = self.sem.acquire_many(PERMITS).await {
            all.forget();
            self.sem.close();
        }
    }
}

/// A Harbor session for one service account: the token provider and a
/// [`HarborClient`] bound to the tenant the Gateway named.
#[derive(Clone)]
pub struct ServiceAccountHarborSession {
    provider: GatewayHarborTokenProvider,
    harbor: HarborClient,
    life: Arc<Lifecycle>,
}

impl fmt::Debug for ServiceAccountHarborSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountHarborSession")
            .field("tenant_id", &self.harbor.tenant_id())
            .field("gateway_base_url", &self.provider.gateway().as_str())
            .field("harbor_base_url", &self.harbor.base_url())
            .field("closed", &self.life.is_closed())
            .finish()
    }
}

impl ServiceAccountHarborSession {
    /// Validates the URLs, exchanges `api_key` once to learn the tenant, and
    /// returns a session bound to it.
    pub async fn open(
        gateway_base_url: &str,
        api_key: impl Into<Secret>,
        harbor_base_url: &str,
        options: SessionOptions,
    ) -> Result<Self> {
        let gateway = BaseUrl::parse("gateway_base_url", gateway_base_url)?;
        let harbor = BaseUrl::parse("harbor_base_url", harbor_base_url)?;
        let http = Http::new(options.http.clone())?;
        let provider = GatewayHarborTokenProvider::with_http(
            http.clone(),
            gateway,
            api_key.into(),
            options.refresh_skew,
        )?;
        let token = provider.token().await?;
        if let Some(expected) = &options.expected_tenant_id {
            if *expected != token.tenant_id {
                return Err(Error::TenantBinding {
                    message: format!(
                        "the caller asked for tenant {expected:?}, but the Gateway bound this key to {:?}",
                        token.tenant_id
                    ),
                });
            }
        }
        let life = Lifecycle::new();
        let harbor = HarborClient::new(
            http,
            harbor,
            token.tenant_id.clone(),
            provider.clone(),
            life.clone(),
        );
        Ok(ServiceAccountHarborSession {
            provider,
            harbor,
            life,
        })
    }

    /// The Harbor client bound to this session's tenant.
    pub fn harbor(&self) -> &HarborClient {
        &self.harbor
    }

    /// The token provider.
    pub fn token_provider(&self) -> &GatewayHarborTokenProvider {
        &self.provider
    }

    /// The tenant the Gateway bound the key to.
    pub fn tenant_id(&self) -> &str {
        self.harbor.tenant_id()
    }

    /// Mints a fresh Harbor JWT now with the same key.
    pub async fn rotate_harbor_token(&self) -> Result<()> {
        let _in_flight = self.life.enter()?;
        self.provider.force_rotate().await.map(|_| ())
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.life.is_closed()
    }

    /// Refuses new calls, then waits for in-flight ones to finish (spend completions sent in
    /// the background included).
    /// For credential rotation: open a new session, then close the old one.
    pub async fn close(&self) {
        self.life.close().await
    }
}

/// A Signal session: tenant from `GET /v1/auth/principal`.
#[derive(Clone)]
pub struct ServiceAccountSignalSession {
    principal: Principal,
    signal: GatewaySignalClient,
    life: Arc<Lifecycle>,
}

impl fmt::Debug for ServiceAccountSignalSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountSignalSession")
            .field("tenant_id", &self.principal.tenant_id)
            .field("environment", &self.principal.environment)
            .field("closed", &self.life.is_closed())
            .finish()
    }
}

impl ServiceAccountSignalSession {
    /// Looks up the key's principal and binds a Signal client to its tenant.
    pub async fn open(
        gateway_base_url: &str,
        api_key: impl Into<Secret>,
        options: SessionOptions,
    ) -> Result<Self> {
        let gateway = BaseUrl::parse("gateway_base_url", gateway_base_url)?;
        let http = Http::new(options.http.clone())?;
        let provider = GatewayHarborTokenProvider::with_http(
            http,
            gateway,
            api_key.into(),
            options.refresh_skew,
        )?;
        let principal = provider.principal().await?;
        if let Some(env) = &options.expected_environment {
            if *env != principal.environment {
                return Err(Error::GatewayAuth {
                    status_code: None,
                    body_text: None,
                    message: format!(
                        "the key is for environment {:?}, expected {env:?}",
                        principal.environment
                    ),
                });
            }
        }
        if let Some(expected) = &options.expected_tenant_id {
            if *expected != principal.tenant_id {
                return Err(Error::TenantBinding {
                    message: format!(
                        "the caller asked for tenant {expected:?}, but the Gateway bound this key to {:?}",
                        principal.tenant_id
                    ),
                });
            }
        }
        let life = Lifecycle::new();
        let signal = GatewaySignalClient::new(provider, principal.tenant_id.clone(), life.clone());
        Ok(ServiceAccountSignalSession {
            principal,
            signal,
            life,
        })
    }

    /// The Signal client.
    pub fn signal(&self) -> &GatewaySignalClient {
        &self.signal
    }

    /// Pins the Signal receipt signing key (hex): receipts signed by another key are rejected.
    pub fn with_trusted_signing_key(mut self, key_hex: &str) -> Result<Self> {
        self.signal = self.signal.with_trusted_signing_key(key_hex)?;
        Ok(self)
    }

    /// Who the key is.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The tenant the Gateway bound the key to.
    pub fn tenant_id(&self) -> &str {
        &self.principal.tenant_id
    }

    /// Refuses new calls, then waits for in-flight ones.
    pub async fn close(&self) {
        self.life.close().await
    }
}
