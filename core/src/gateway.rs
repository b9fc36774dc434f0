//! Gateway auth: API key → Harbor JWT exchange with an in-memory cache,
//! refresh before expiry, single-flight refresh and forced rotation; and the
//! principal lookup.

use crate::error::{Error, Result};
use crate::http::{Http, Req, Service};
use crate::secret::Secret;
use crate::url::BaseUrl;
use parking_lot::RwLock;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default refresh skew: refresh this long before the JWT expires.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(90);
/// Longest JWT lifetime the kit accepts from the Gateway (30 days); more is a malformed answer.
const MAX_EXPIRES_IN: i64 = 30 * 86_400;
/// Longest a JWT is cached, whatever `expires_in` says.
const MAX_CACHE: Duration = Duration::from_secs(86_400);

/// A malformed Gateway answer (over the size cap, say) is a Gateway auth failure;
/// transport faults and timeouts keep their own kind.
fn as_gateway_error(e: Error) -> Error {
    match e {
        Error::InvalidResponse { message, .. } => Error::GatewayAuth {
            status_code: None,
            body_text: None,
            message: format!("the Gateway's answer was refused: {message}"),
        },
        other => other,
    }
}

/// A tenant id the kit can bind to and send as `x-tenant-id`.
pub(crate) fn valid_tenant_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A Harbor JWT and what the Gateway said about it.
#[derive(Clone)]
pub struct HarborAccessToken {
    /// The bearer JWT.
    pub access_token: Secret,
    /// The tenant the Gateway bound the key to.
    pub tenant_id: String,
    /// Lifetime the Gateway granted.
    pub expires_in: Duration,
    obtained_at: Instant,
    refresh_at: Instant,
    generation: u64,
}

impl fmt::Debug for HarborAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HarborAccessToken")
            .field("access_token", &self.access_token)
            .field("tenant_id", &self.tenant_id)
            .field("expires_in", &self.expires_in)
            .field("generation", &self.generation)
            .finish()
    }
}

impl HarborAccessToken {
    /// Monotonic counter of exchanges made by the provider; this token's number.
    pub fn generation(&self) -> u64 {
        self.generation
    }
    fn fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }
}

/// `GET /v1/auth/principal`: who an API key is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    /// Tenant the key belongs to.
    pub tenant_id: String,
    /// Tenant UUID, when the Gateway has one.
    #[serde(default)]
    pub tenant_uuid: Option<String>,
    /// `live` or `sandbox`.
    pub environment: String,
    /// Role of the service account.
    #[serde(default)]
    pub service_account_role: Option<String>,
    /// Subject of the key.
    #[serde(default)]
    pub subject: Option<String>,
    /// Roles granted.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// Fields this kit does not know yet, kept as received.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

struct Inner {
    http: Http,
    gateway: BaseUrl,
    exchange_url: String,
    api_key: Secret,
    skew: Duration,
    current: RwLock<Option<Arc<HarborAccessToken>>>,
    refresh: tokio::sync::Mutex<()>,
    bound_tenant: RwLock<Option<String>>,
    poisoned: RwLock<Option<String>>,
    exchanges: AtomicU64,
}

/// Exchanges a service-account API key for Harbor JWTs and keeps one fresh.
///
/// Cloning is cheap and shares the cache. Concurrent callers that find the
/// token stale wait on one exchange (single flight).
#[derive(Clone)]
pub struct GatewayHarborTokenProvider {
    inner: Arc<Inner>,
}

impl fmt::Debug for GatewayHarborTokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayHarborTokenProvider")
            .field("gateway", &self.inner.gateway.as_str())
            .field("api_key", &self.inner.api_key)
            .field("tenant_id", &self.tenant_id())
            .field("exchanges", &self.exchange_count())
            .finish()
    }
}

impl GatewayHarborTokenProvider {
    pub(crate) fn with_http(
        http: Http,
        gateway: BaseUrl,
        api_key: Secret,
        skew: Duration,
    ) -> Result<Self> {
        if api_key.expose().trim().is_empty() {
            return Err(Error::invalid_argument("api_key", "must not be empty"));
        }
        if !api_key.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid_argument(
                "api_key",
                "expected visible ASCII characters only (no spaces or line breaks)",
            ));
        }
        http.secrets.add(api_key.expose());
        Ok(GatewayHarborTokenProvider {
            inner: Arc::new(Inner {
                exchange_url: gateway.join("/v1/auth/harbor-access"),
                http,
                gateway,
                api_key,
                skew,
                current: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
                bound_tenant: RwLock::new(None),
                poisoned: RwLock::new(None),
                exchanges: AtomicU64::new(0),
            }),
        })
    }

    /// A provider for `gateway_base_url` with its own HTTP client. Of
    /// `options`, the transport settings and `refresh_skew` apply; a provider
    /// has no tenant to compare yet, so `expected_tenant_id` and
    /// `expected_environment` are refused here (give them to a session).
    pub fn new(
        gateway_base_url: &str,
        api_key: Secret,
        options: &crate::SessionOptions,
    ) -> Result<Self> {
        if options.expected_tenant_id.is_some() || options.expected_environment.is_some() {
            return Err(Error::invalid_argument(
                "expected_tenant_id",
                "a token provider does not check the tenant or environment; open a session to have them checked",
            ));
        }
        let gateway = BaseUrl::parse("gateway_base_url", gateway_base_url)?;
        Self::with_http(
            Http::new(options.http.clone())?,
            gateway,
            api_key,
            options.refresh_skew,
        )
    }

    fn scrub(&self, e: Error) -> Error {
        let set = &self.inner.http.secrets;
        e.map_text(|t| set.scrub(t))
    }

    async fn locked_refresh(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        tokio::time::timeout_at(deadline, self.inner.refresh.lock())
            .await
            .map_err(|_| {
                let opts = &self.inner.http.opts;
                Error::Timeout {
                    url: self.inner.exchange_url.clone(),
                    timeout_ms: crate::http::ms(opts.timeout),
                    deadline_ms: crate::http::ms(opts.deadline),
                    attempts: 0,
                    elapsed_ms: crate::http::ms(opts.deadline),
                }
            })
    }

    /// The tenant the Gateway bound this key to (after the first exchange).
    pub fn tenant_id(&self) -> Option<String> {
        self.inner.bound_tenant.read().clone()
    }

    /// How many exchanges this provider made.
    pub fn exchange_count(&self) -> u64 {
        self.inner.exchanges.load(Ordering::Relaxed)
    }

    pub(crate) fn gateway(&self) -> &BaseUrl {
        &self.inner.gateway
    }

    pub(crate) fn api_key(&self) -> &Secret {
        &self.inner.api_key
    }

    pub(crate) fn http(&self) -> &Http {
        &self.inner.http
    }

    fn check_poison(&self) -> Result<()> {
        if let Some(msg) = self.inner.poisoned.read().as_ref() {
            return Err(Error::GatewayAuth {
                status_code: None,
                body_text: None,
                message: msg.clone(),
            });
        }
        Ok(())
    }

    /// A fresh Harbor JWT, exchanging only when the cached one is within `skew` of expiry.
    pub async fn token(&self) -> Result<Arc<HarborAccessToken>> {
        let deadline = self.inner.http.call_deadline();
        self.token_by(deadline).await.map_err(|e| self.scrub(e))
    }

    pub(crate) async fn token_by(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<Arc<HarborAccessToken>> {
        self.check_poison()?;
        if let Some(t) = self.inner.current.read().as_ref() {
            if t.fresh(Instant::now()) {
                return Ok(t.clone());
            }
        }
        let _guard = self.locked_refresh(deadline).await?;
        self.check_poison()?;
        if let Some(t) = self.inner.current.read().as_ref() {
            if t.fresh(Instant::now()) {
                return Ok(t.clone());
            }
        }
        self.exchange_locked(deadline).await
    }

    /// The bearer value for Harbor calls.
    pub async fn bearer(&self) -> Result<Secret> {
        Ok(self.token().await?.access_token.clone())
    }

    /// Mints a new JWT now with the same key, whatever the cache holds.
    pub async fn force_rotate(&self) -> Result<Arc<HarborAccessToken>> {
        let deadline = self.inner.http.call_deadline();
        async {
            self.check_poison()?;
            let _guard = self.locked_refresh(deadline).await?;
            self.check_poison()?;
            self.exchange_locked(deadline).await
        }
        .await
        .map_err(|e| self.scrub(e))
    }

    /// Re-mints after a Harbor 401 unless another caller already replaced token `generation`.
    pub(crate) async fn rotate_after(
        &self,
        generation: u64,
        deadline: tokio::time::Instant,
    ) -> Result<Arc<HarborAccessToken>> {
        self.check_poison()?;
        let _guard = self.locked_refresh(deadline).await?;
        self.check_poison()?;
        if let Some(t) = self.inner.current.read().as_ref() {
            if t.generation != generation && t.fresh(Instant::now()) {
                return Ok(t.clone());
            }
        }
        self.exchange_locked(deadline).await
    }

    async fn exchange_locked(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<Arc<HarborAccessToken>> {
        let url = &self.inner.exchange_url;
        // Retried like an idempotent call: the exchange has no side effect but minting.
        let req = Req {
            method: Method::POST,
            url,
            bearer: Some(&self.inner.api_key),
            tenant: None,
            body: None,
            idempotency_key: None,
            retry: true,
        };
        let generation = self.inner.exchanges.fetch_add(1, Ordering::Relaxed) + 1;
        let started = Instant::now();
        let resp = self
            .inner
            .http
            .send(&req, deadline)
            .await
            .map_err(as_gateway_error)?;
        if !resp.is_success() {
            tracing::debug!(target: "paybond_kit::gateway", status = resp.status.as_u16(), "harbor-access exchange refused");
            return Err(resp.error_for(Service::Gateway, url));
        }
        let v: Value = resp.json_checked().map_err(|e| Error::GatewayAuth {
            status_code: Some(resp.status.as_u16()),
            body_text: Some(resp.body_text()),
            message: format!("harbor-access answer refused: {e}"),
        })?;
        if !v.is_object() {
            return Err(Error::GatewayAuth {
                status_code: Some(resp.status.as_u16()),
                body_text: Some(resp.body_text()),
                message: "harbor-access answer is not a JSON object".into(),
            });
        }
        let bad = |message: &str| Error::GatewayAuth {
            status_code: Some(resp.status.as_u16()),
            body_text: Some(resp.body_text()),
            message: message.to_owned(),
        };
        let access_token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| {
                !s.is_empty() && s.len() <= 16 * 1024 && s.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                bad("harbor-access answer needs access_token: a non-empty string of visible ASCII")
            })?;
        self.inner.http.secrets.add(access_token);
        let expires_in = v
            .get("expires_in")
            .and_then(Value::as_i64)
            .filter(|s| (1..=MAX_EXPIRES_IN).contains(s))
            .ok_or_else(|| {
                bad("harbor-access answer needs expires_in: integer seconds in 1..=2592000")
            })?;
        let tenant_id = v
            .get("tenant_id")
            .and_then(Value::as_str)
            .filter(|s| valid_tenant_id(s))
            .ok_or_else(|| {
                bad("harbor-access answer needs tenant_id: 1-256 visible ASCII characters")
            })?
            .to_owned();
        match v.get("token_type") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
            Some(_) => {
                return Err(bad(
                    "harbor-access answer has a token_type other than Bearer",
                ))
            }
        }
        {
            let mut bound = self.inner.bound_tenant.write();
            match bound.as_ref() {
                Some(b) if *b != tenant_id => {
                    let msg = format!(
                        "the Gateway now names tenant {tenant_id:?} for this key, but the session is bound to {b:?}; \
                         the session refuses further calls (open a new session)"
                    );
                    *self.inner.poisoned.write() = Some(msg.clone());
                    *self.inner.current.write() = None;
                    tracing::warn!(target: "paybond_kit::gateway", bound = %b, got = %self.inner.http.secrets.scrub(&tenant_id), "tenant changed on refresh; session poisoned");
                    return Err(Error::GatewayAuth {
                        status_code: None,
                        body_text: None,
                        message: msg,
                    });
                }
                Some(_) => {}
                None => *bound = Some(tenant_id.clone()),
            }
        }
        let expires = Duration::from_secs(expires_in as u64);
        // However long the Gateway says, refresh at least daily (and never overflow an Instant).
        let cached = expires.min(MAX_CACHE);
        let skew = self.inner.skew.min(cached / 2);
        let now = Instant::now();
        let token = Arc::new(HarborAccessToken {
            access_token: Secret::new(access_token),
            tenant_id,
            expires_in: expires,
            obtained_at: now,
            refresh_at: now.checked_add(cached - skew).unwrap_or(now),
            generation,
        });
        tracing::debug!(
            target: "paybond_kit::gateway", tenant = %token.tenant_id, expires_in, generation,
            latency_us = started.elapsed().as_micros() as u64, "harbor-access exchange"
        );
        *self.inner.current.write() = Some(token.clone());
        Ok(token)
    }

    /// `GET /v1/auth/principal` for this key.
    pub async fn principal(&self) -> Result<Principal> {
        self.principal_inner().await.map_err(|e| self.scrub(e))
    }

    async fn principal_inner(&self) -> Result<Principal> {
        let deadline = self.inner.http.call_deadline();
        let url = self.inner.gateway.join("/v1/auth/principal");
        let req = Req {
            method: Method::GET,
            url: &url,
            bearer: Some(&self.inner.api_key),
            tenant: None,
            body: None,
            idempotency_key: None,
            retry: true,
        };
        let resp = self
            .inner
            .http
            .send(&req, deadline)
            .await
            .map_err(as_gateway_error)?;
        if !resp.is_success() {
            return Err(resp.error_for(Service::Gateway, &url));
        }
        let p: Principal = resp
            .json_checked()
            .and_then(|v| serde_json::from_value(v).map_err(|e| format!("malformed ({e})")))
            .map_err(|e| Error::GatewayAuth {
                status_code: Some(resp.status.as_u16()),
                body_text: Some(resp.body_text()),
                message: format!("principal answer refused: {e}"),
            })?;
        if !valid_tenant_id(&p.tenant_id) {
            return Err(Error::GatewayAuth {
                status_code: None,
                body_text: None,
                message: "principal answer needs tenant_id: 1-256 visible ASCII characters".into(),
            });
        }
        Ok(p)
    }
}

impl HarborAccessToken {
    /// When this token was obtained.
    pub fn obtained_at(&self) -> Instant {
        self.obtained_at
    }
}
