//! Test servers: the dev server (`LocalHarbor`) and the raw-socket hostile server (`HostileHarbor`).

use crate::convert::invalid;
use crate::{spawn_owned, sync, to_json};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_devserver::hostile::{HostileCorpus, HostileServer as CoreHostile};
use serde_json::{json, Value};
use std::time::Duration;

/// Options of `DevServer.start`.
#[napi(object)]
pub struct DevServerOptions {
    pub jwt_ttl_seconds: Option<u32>,
    pub tenant_id: Option<String>,
    pub api_key: Option<String>,
    /// Seconds an uncompleted reservation is held (default 300), on the dev clock.
    pub reservation_hold_seconds: Option<u32>,
}

/// The dev server in-process on port 0.
#[napi]
pub struct DevServer {
    inner: std::sync::Mutex<Option<paybond_devserver::LocalHarbor>>,
}

fn stopped() -> paybond_kit::Error {
    paybond_kit::Error::SessionClosed {
        message: "the dev server is stopped".into(),
    }
}

impl DevServer {
    fn with<T>(
        &self,
        f: impl FnOnce(&paybond_devserver::LocalHarbor) -> paybond_kit::Result<T>,
    ) -> Result<T> {
        sync(|| {
            let g = self.inner.lock().map_err(|_| stopped())?;
            match g.as_ref() {
                Some(h) => f(h),
                None => Err(stopped()),
            }
        })
    }
}

#[napi]
impl DevServer {
    #[napi(ts_return_type = "Promise<DevServer>")]
    pub fn start<'env>(
        env: &'env Env,
        options: Option<DevServerOptions>,
    ) -> Result<PromiseRaw<'env, DevServer>> {
        let mut cfg = paybond_devserver::DevServerConfig::default();
        if let Some(o) = options {
            if let Some(t) = o.jwt_ttl_seconds {
                cfg.jwt_ttl = Duration::from_secs(t.max(1) as u64);
            }
            if let Some(t) = o.tenant_id {
                cfg.tenant_id = t;
            }
            cfg.api_key = o.api_key;
            if let Some(h) = o.reservation_hold_seconds {
                cfg.reservation_hold_seconds = h as u64;
            }
        }
        spawn_owned(env, &(), move |_| async move {
            let h = paybond_devserver::LocalHarbor::start(cfg)
                .await
                .map_err(|e| paybond_kit::Error::Internal {
                    message: format!("cannot start the dev server: {e}"),
                })?;
            Ok(DevServer {
                inner: std::sync::Mutex::new(Some(h)),
            })
        })
    }

    #[napi]
    pub fn stop(&self) {
        if let Ok(mut g) = self.inner.lock() {
            if let Some(h) = g.take() {
                h.stop();
            }
        }
    }

    #[napi(getter)]
    pub fn gateway_url(&self) -> Result<String> {
        self.with(|h| Ok(h.gateway_url.clone()))
    }

    #[napi(getter)]
    pub fn harbor_url(&self) -> Result<String> {
        self.with(|h| Ok(h.harbor_url.clone()))
    }

    #[napi(getter)]
    pub fn api_key(&self) -> Result<String> {
        self.with(|h| Ok(h.api_key().to_owned()))
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> Result<String> {
        self.with(|h| Ok(h.tenant_id.clone()))
    }

    #[napi(getter)]
    pub fn signal_public_key_hex(&self) -> Result<String> {
        self.with(|h| Ok(h.signal_public_key_hex()))
    }

    /// `request` uses the wire names of `POST /dev/v1/intents`.
    #[napi]
    pub fn create_intent(&self, request: Value, tenant_id: Option<String>) -> Result<Value> {
        self.with(|h| {
            let req: paybond_devserver::DevIntentRequest =
                serde_json::from_value(request).map_err(|e| invalid("request", e))?;
            let t = tenant_id.unwrap_or_else(|| h.tenant_id.clone());
            h.create_intent_for(&t, &req)
                .map(|i| i.raw)
                .map_err(|e| invalid("request", e.0))
        })
    }

    #[napi]
    pub fn add_fault(&self, spec: Value) -> Result<u32> {
        self.with(|h| {
            let f: paybond_devserver::Fault =
                serde_json::from_value(spec).map_err(|e| invalid("fault", e))?;
            Ok(h.add_fault(f) as u32)
        })
    }

    #[napi]
    pub fn clear_faults(&self) -> Result<()> {
        self.with(|h| {
            h.clear_faults();
            Ok(())
        })
    }

    #[napi]
    pub fn faults(&self) -> Result<Value> {
        self.with(|h| Ok(to_json(&h.app().faults.list())))
    }

    #[napi]
    pub fn stats(&self) -> Result<Value> {
        self.with(|h| Ok(h.stats_json()))
    }

    #[napi]
    pub fn create_tenant(&self, tenant_id: Option<String>) -> Result<Vec<String>> {
        self.with(|h| {
            let (t, k) = h.create_tenant(tenant_id.as_deref());
            Ok(vec![t, k])
        })
    }

    #[napi]
    pub fn rebind_api_key(&self, api_key: String, tenant_id: String) -> Result<bool> {
        self.with(|h| Ok(h.rebind_api_key(&api_key, &tenant_id)))
    }

    /// Moves the dev clock ahead by whole `seconds`; returns the total offset in seconds.
    #[napi]
    pub fn advance_clock(&self, seconds: u32) -> Result<u32> {
        self.with(|h| {
            h.advance_clock(Duration::from_secs(seconds as u64))
                .map(|d| d.as_secs().min(u32::MAX as u64) as u32)
                .map_err(|e| invalid("seconds", e.0))
        })
    }

    /// Decides an approval request as a reviewer would (`approve` true/false).
    #[napi]
    pub fn decide_approval(
        &self,
        approval_request_id: String,
        approve: bool,
        reason: Option<String>,
        tenant_id: Option<String>,
    ) -> Result<Value> {
        self.with(|h| {
            let t = tenant_id.unwrap_or_else(|| h.tenant_id.clone());
            h.decide_approval(&t, &approval_request_id, approve, reason.as_deref())
                .map_err(|e| invalid("approval_request_id", e.0))
        })
    }
}

/// The repository's corpus (`tests/scenarios/hostile.json`), found from this crate's sources.
const DEFAULT_CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/scenarios/hostile.json"
);

/// The raw-socket hostile server (Gateway + Harbor + Signal on one port), serving the corpus.
#[napi]
pub struct HostileServer {
    inner: CoreHostile,
}

#[napi]
impl HostileServer {
    /// Loads the corpus (default: the repository's `tests/scenarios/hostile.json`) and starts the listeners.
    #[napi(ts_return_type = "Promise<HostileServer>")]
    pub fn start<'env>(
        env: &'env Env,
        corpus_path: Option<String>,
    ) -> Result<PromiseRaw<'env, HostileServer>> {
        let corpus = sync(|| {
            let path = corpus_path.unwrap_or_else(|| DEFAULT_CORPUS.to_owned());
            HostileCorpus::load(std::path::Path::new(&path)).map_err(|e| invalid("corpus_path", e))
        })?;
        spawn_owned(env, &(), move |_| async move {
            CoreHostile::start(corpus)
                .await
                .map(|inner| HostileServer { inner })
                .map_err(|e| paybond_kit::Error::Internal {
                    message: format!("cannot start the hostile server: {e}"),
                })
        })
    }

    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url()
    }

    #[napi(getter)]
    pub fn evil_url(&self) -> String {
        self.inner.evil_url()
    }

    #[napi(getter)]
    pub fn proxy_url(&self) -> String {
        self.inner.proxy_url()
    }

    #[napi(getter)]
    pub fn api_key(&self) -> String {
        self.inner.api_key()
    }

    #[napi(getter)]
    pub fn jwt(&self) -> String {
        self.inner.jwt()
    }

    #[napi(getter)]
    pub fn signal_public_key_hex(&self) -> String {
        self.inner.signal_public_key_hex()
    }

    /// `id` null/undefined: every answer good. `exchangeMode`: `"every"` (default) or `"after_first"`.
    #[napi]
    pub fn set_case(&self, id: Option<String>, exchange_mode: Option<String>) -> Result<()> {
        sync(|| {
            self.inner
                .set_case(id.as_deref(), exchange_mode.as_deref().unwrap_or("every"))
                .map_err(|e| invalid("id", e))
        })
    }

    #[napi]
    pub fn evil_hits(&self) -> f64 {
        self.inner.evil_hits() as f64
    }

    #[napi]
    pub fn proxy_hits(&self) -> f64 {
        self.inner.proxy_hits() as f64
    }

    #[napi]
    pub fn hits(&self, route: String) -> f64 {
        self.inner.hits(&route) as f64
    }

    #[napi]
    pub fn case_ids(&self) -> Vec<String> {
        self.inner.corpus().case_ids()
    }

    /// `{ id, class, route, expectCodes, secretEcho, raw }`, or null for an unknown id.
    #[napi]
    pub fn case(&self, id: String) -> Option<Value> {
        self.inner.corpus().case(&id).map(|c| {
            json!({
                "id": c.id,
                "class": c.class,
                "route": c.route,
                "expectCodes": c.expect_codes,
                "secretEcho": c.secret_echo,
                "raw": c.raw,
            })
        })
    }

    /// The corpus's `defaults` (test settings: timeouts, tenant, payee...).
    #[napi]
    pub fn defaults(&self) -> Value {
        self.inner.corpus().defaults().clone()
    }

    #[napi]
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}
