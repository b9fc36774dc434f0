//! Harbor sessions and the Gateway token provider.

use crate::convert::{Fields, KitResult};
use crate::{spawn_owned, sync};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::{
    FieldStyle, GatewayHarborTokenProvider, Secret, ServiceAccountHarborSession, SessionOptions,
};

pub use crate::harbor::HarborClient;

const CAMEL: FieldStyle = FieldStyle::Camel;
/// Session options checked by the core (`SessionOptionsInput::build`, camelCase errors).
pub(crate) fn options(
    f: &Fields<'_>,
    tenant: bool,
    environment: bool,
) -> KitResult<SessionOptions> {
    let mut input = f.session_options()?;
    if !tenant {
        input.expected_tenant_id = None;
    }
    if !environment {
        input.expected_environment = None;
    }
    input.build(CAMEL)
}

/// A Harbor session opened from one service-account API key.
#[napi]
pub struct HarborSession {
    inner: ServiceAccountHarborSession,
}

#[napi]
impl HarborSession {
    /// Checks the options, exchanges the key once and binds to the tenant the Gateway names.
    #[napi(ts_return_type = "Promise<HarborSession>")]
    pub fn open<'env>(
        env: &'env Env,
        options_: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, HarborSession>> {
        let (gw, key, hb, opts) = sync(|| {
            let f = Fields::new("options", &options_, false)?;
            Ok((
                f.text("gateway_base_url")?,
                f.text("api_key")?,
                f.text("harbor_base_url")?,
                options(&f, true, false)?,
            ))
        })?;
        spawn_owned(env, &(), move |_| async move {
            ServiceAccountHarborSession::open(&gw, key, &hb, opts)
                .await
                .map(|inner| HarborSession { inner })
        })
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> Result<String> {
        sync(|| Ok(self.inner.tenant_id().to_owned()))
    }

    #[napi(getter)]
    pub fn closed(&self) -> Result<bool> {
        sync(|| Ok(self.inner.is_closed()))
    }

    #[napi]
    pub fn harbor(&self) -> Result<HarborClient> {
        sync(|| {
            Ok(HarborClient {
                inner: self.inner.harbor().clone(),
            })
        })
    }

    #[napi]
    pub fn token_provider(&self) -> Result<TokenProvider> {
        sync(|| {
            Ok(TokenProvider {
                inner: self.inner.token_provider().clone(),
            })
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn rotate_harbor_token<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.rotate_harbor_token().await
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.close().await;
            Ok(())
        })
    }

    #[napi]
    pub fn describe(&self) -> Result<String> {
        sync(|| Ok(format!("{:?}", self.inner)))
    }
}

/// API key → Harbor JWTs, cached, refreshed single-flight.
#[napi]
pub struct TokenProvider {
    inner: GatewayHarborTokenProvider,
}

#[napi]
impl TokenProvider {
    #[napi(constructor)]
    pub fn new(options_: Unknown<'_>) -> Result<Self> {
        sync(|| {
            let f = Fields::new("options", &options_, false)?;
            let opts = options(&f, true, true)?;
            GatewayHarborTokenProvider::new(
                &f.text("gateway_base_url")?,
                Secret::new(f.text("api_key")?),
                &opts,
            )
            .map(|inner| TokenProvider { inner })
        })
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> Result<Option<String>> {
        sync(|| Ok(self.inner.tenant_id()))
    }

    #[napi(getter)]
    pub fn exchange_count(&self) -> Result<f64> {
        sync(|| Ok(self.inner.exchange_count() as f64))
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn bearer<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.bearer().await.map(|s| s.expose().to_owned())
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn force_rotate<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.force_rotate().await.map(|_| ())
        })
    }

    #[napi]
    pub fn describe(&self) -> Result<String> {
        sync(|| Ok(format!("{:?}", self.inner)))
    }
}
