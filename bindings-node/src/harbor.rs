//! The tenant-bound Harbor client (verify, evidence, intents, ledger reads).

use crate::convert::{invalid, json_text, opt_number, opt_text, seed, text, Fields, KitResult};
use crate::{spawn_owned, sync, to_json};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::evidence::EvidenceBody;
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::input::{integer_in, spend_cents, MAX_SAFE_INTEGER};
use paybond_kit::{FieldStyle, Secret};
use serde_json::Value;

const CAMEL: FieldStyle = FieldStyle::Camel;

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

/// `POST /verify`'s answer, handed to JS as an object with the TypeScript `VerifyResult` keys
/// (set straight from the core's checked answer: no JSON value in between, no key renaming in JS).
#[napi(object, use_nullable = true)]
pub struct VerifyAnswer {
    pub allow: bool,
    pub audit_id: String,
    pub tenant: String,
    pub intent_id: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub decision_id: Option<String>,
    pub remaining_cents: Option<i64>,
    pub reason_codes: Vec<String>,
    pub retry_after: Option<f64>,
    pub approval_request_id: Option<String>,
}

impl From<paybond_kit::harbor::VerifyResponse> for VerifyAnswer {
    fn from(r: paybond_kit::harbor::VerifyResponse) -> Self {
        VerifyAnswer {
            allow: r.allow,
            audit_id: r.audit_id.to_string(),
            tenant: r.tenant,
            intent_id: r.intent_id,
            code: r.code,
            message: r.message,
            decision_id: r.decision_id,
            remaining_cents: r.remaining_cents,
            reason_codes: r.reason_codes,
            retry_after: r.retry_after,
            approval_request_id: r.approval_request_id,
        }
    }
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
    #[napi]
    pub fn verify_capability<'env>(
        &self,
        env: &'env Env,
        args: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, VerifyAnswer>> {
        let req = sync(|| verify_request(&args))?;
        spawn_owned(env, &self.inner, |this| async move {
            this.verify_capability(&req).await.map(VerifyAnswer::from)
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
