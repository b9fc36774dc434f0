//! Sessions, the Harbor and Signal clients and the token provider.

use crate::convert::{invalid, json_text, opt_number, opt_text, seed, text, Fields, KitResult};
use crate::{spawn_owned, sync, to_json};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::evidence::EvidenceBody;
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::input::{integer_in, spend_cents, MAX_SAFE_INTEGER};
use paybond_kit::{
    FieldStyle, GatewayHarborTokenProvider, Secret, ServiceAccountHarborSession,
    ServiceAccountSignalSession, SessionOptions,
};
use serde_json::Value;

const CAMEL: FieldStyle = FieldStyle::Camel;

/// Session options checked by the core (`SessionOptionsInput::build`, camelCase errors).
fn options(f: &Fields<'_>, tenant: bool, environment: bool) -> KitResult<SessionOptions> {
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

fn verify_request(args: &Unknown<'_>) -> KitResult<VerifyRequest> {
    let f = Fields::new("args", args, false)?;
    Ok(VerifyRequest {
        intent_id: f.text("intent_id")?,
        token: Secret::new(f.text("token")?),
        operation: f.text("operation")?,
        requested_spend_cents: spend_cents(CAMEL, &f.number("requested_spend_cents")?)?,
        tool_name: f.opt_text("tool_name")?,
        tool_call_id: f.opt_text("tool_call_id")?,
        idempotency_key: f.opt_text("idempotency_key")?,
        currency: f.opt_text("currency")?,
        agent_subject: f.opt_text("agent_subject")?,
        vendor_id: f.opt_text("vendor_id")?,
        task_id: f.opt_text("task_id")?,
        args_digest: f.opt_text("args_digest")?,
        workflow_id: f.opt_text("workflow_id")?,
    })
}

/// Harbor calls bound to the session's tenant.
#[napi]
pub struct HarborClient {
    pub(crate) inner: paybond_kit::HarborClient,
}

#[napi]
impl HarborClient {
    #[napi(getter)]
    pub fn tenant_id(&self) -> Result<String> {
        sync(|| Ok(self.inner.tenant_id().to_owned()))
    }

    #[napi(getter)]
    pub fn base_url(&self) -> Result<String> {
        sync(|| Ok(self.inner.base_url().to_owned()))
    }

    /// `POST /verify`: Harbor's allow/deny, or a rejected Promise for bad input or anything off the wire contract.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn verify_capability<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let req = sync(|| verify_request(&args))?;
        spawn_owned(env, &self.inner, |this| async move {
            this.verify_capability(&req).await.map(|r| to_json(&r))
        })
    }

    /// `POST /intents/{intentId}/evidence` with an idempotency key; `bodyJson` is the body as JSON text.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn submit_evidence<'env>(
        &self,
        env: &'env Env,
        intent_id: Unknown<'_>,
        body_json: Unknown<'_>,
        idempotency_key: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (intent, body, key) = sync(|| {
            let body: EvidenceBody =
                serde_json::from_value(json_text("body", Some(&body_json))?)
                    .map_err(|e| invalid("body", format!("expected an evidence body: {e}")))?;
            Ok((
                text("intent_id", Some(&intent_id))?,
                body,
                opt_text("idempotency_key", Some(&idempotency_key))?,
            ))
        })?;
        spawn_owned(env, &self.inner, |this| async move {
            this.submit_evidence(&intent, &body, key.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// Principal-signed `POST /intents`; `inputJson` uses the wire field names. The result
    /// carries the capability token (the TS layer wraps it in an object that hides it).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn create_intent<'env>(
        &self,
        env: &'env Env,
        input_json: Unknown<'_>,
        principal_signing_seed: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (inp, seed) = sync(|| {
            let seed = seed("principal_signing_seed", Some(&principal_signing_seed))?;
            let v = json_text("input", Some(&input_json))?;
            let inp = paybond_kit::intent::IntentCreationInput::from_json(&v)?;
            Ok((inp, seed))
        })?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.create_intent(&inp, &seed).await.map(|r| to_json(&r))
        })
    }

    /// `GET /ledger/v1/tip`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn ledger_tip<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.ledger_tip().await.map(|r| to_json(&r))
        })
    }

    /// `GET /ledger/v1/authority`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn ledger_authority<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.ledger_authority().await.map(|r| to_json(&r))
        })
    }

    /// `GET /ledger/v1/merkle/latest`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn ledger_merkle_latest<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            this.ledger_merkle_latest().await.map(|r| to_json(&r))
        })
    }

    #[napi(ts_return_type = "Promise<any>")]
    pub fn ledger_events<'env>(
        &self,
        env: &'env Env,
        after_seq: Unknown<'_>,
        limit: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (after, limit) = sync(|| {
            let after = opt_number("after_seq", Some(&after_seq))?
                .map(|n| integer_in(CAMEL, "after_seq", &n, 0, MAX_SAFE_INTEGER))
                .transpose()?;
            // The core checks the page size (1..=256); here only that it is an integer.
            let limit = opt_number("limit", Some(&limit))?
                .map(|n| integer_in(CAMEL, "limit", &n, 0, u32::MAX.into()).map(|l| l as u32))
                .transpose()?;
            Ok((after, limit))
        })?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.ledger_events(after, limit).await.map(|r| to_json(&r))
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
