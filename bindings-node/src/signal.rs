//! Signal sessions and their four read-only calls.

use crate::convert::{invalid, opt_text, Fields};
use crate::session::options;
use crate::{spawn_owned, sync, to_json};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::ServiceAccountSignalSession;
use serde_json::Value;

/// A Signal session.
#[napi]
pub struct SignalSession {
    inner: ServiceAccountSignalSession,
}

#[napi]
impl SignalSession {
    #[napi(ts_return_type = "Promise<SignalSession>")]
    pub fn open<'env>(
        env: &'env Env,
        options_: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, SignalSession>> {
        let (gw, key, pinned, opts) = sync(|| {
            let f = Fields::new("options", &options_, false)?;
            Ok((
                f.text("gateway_base_url")?,
                f.text("api_key")?,
                f.opt_text("trusted_signing_key_hex")?,
                options(&f, true, true)?,
            ))
        })?;
        spawn_owned(env, &(), move |_| async move {
            let s = ServiceAccountSignalSession::open(&gw, key, opts).await?;
            let s = match pinned {
                Some(k) => s.with_trusted_signing_key(&k)?,
                None => s,
            };
            Ok(SignalSession { inner: s })
        })
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> Result<String> {
        sync(|| Ok(self.inner.tenant_id().to_owned()))
    }

    #[napi]
    pub fn principal(&self) -> Result<Value> {
        sync(|| Ok(to_json(self.inner.principal())))
    }

    /// The operator's signed receipt (`null` on 404).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn reputation_receipt<'env>(
        &self,
        env: &'env Env,
        operator_did: Unknown<'_>,
        score_version: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (did, sv) = sync(|| operator_read(&operator_did, &score_version))?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.signal()
                .reputation_receipt(&did, sv.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// The tenant's portfolio summary.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn portfolio_summary<'env>(
        &self,
        env: &'env Env,
        score_version: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let sv = sync(|| opt_text("score_version", Some(&score_version)))?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.signal()
                .portfolio_summary(sv.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// Why the operator has its score (`null` on 404).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn operator_explanation<'env>(
        &self,
        env: &'env Env,
        operator_did: Unknown<'_>,
        score_version: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (did, sv) = sync(|| operator_read(&operator_did, &score_version))?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.signal()
                .operator_explanation(&did, sv.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// The operator's review status (`null` on 404).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn operator_review_status<'env>(
        &self,
        env: &'env Env,
        operator_did: Unknown<'_>,
        score_version: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (did, sv) = sync(|| operator_read(&operator_did, &score_version))?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.signal()
                .operator_review_status(&did, sv.as_deref())
                .await
                .map(|r| to_json(&r))
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

/// The arguments of a per-operator Signal read: the DID is required (the core judges its content).
fn operator_read(
    operator_did: &Unknown<'_>,
    score_version: &Unknown<'_>,
) -> crate::convert::KitResult<(String, Option<String>)> {
    let did = opt_text("operator_did", Some(operator_did))?
        .ok_or_else(|| invalid("operator_did", "required (the operator's DID)"))?;
    Ok((did, opt_text("score_version", Some(score_version))?))
}
