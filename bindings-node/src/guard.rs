//! The framework-neutral tool guard for one intent and capability token.

use crate::convert::{host_number, json_text, opt_json_text, opt_text, text, Fields};
use crate::session::HarborClient;
use crate::{spawn_owned, sync, to_json};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::guard::{
    Decision, EvidenceSigner, GuardOptions, ToolCall, ToolGuard as CoreGuard,
};
use paybond_kit::input::spend_cents;
use paybond_kit::{Error as KitError, FieldStyle, Secret};
use serde_json::Value;

/// The guard for one intent and capability token.
#[napi]
pub struct ToolGuard {
    inner: CoreGuard,
}

#[napi]
impl ToolGuard {
    /// `options_` is the caller's options object as given (never copied in JS first, so a
    /// hostile getter is read here and named like any other bad field).
    #[napi(constructor)]
    pub fn new(
        harbor: &HarborClient,
        intent_id: Unknown<'_>,
        capability_token: Unknown<'_>,
        options_: Unknown<'_>,
    ) -> Result<Self> {
        sync(|| {
            let f = Fields::new("options", &options_, false)?;
            let evidence = EvidenceSigner::from_parts(
                FieldStyle::Camel,
                f.opt_text("payee_did")?,
                f.opt_host_seed("payee_signing_seed")?,
                f.opt_number("evidence_version")?,
            )?;
            let opts = GuardOptions {
                operations: f.opt_string_map("operations")?.unwrap_or_default(),
                evidence,
                currency: f.opt_text("currency")?,
                agent_subject: f.opt_text("agent_subject")?,
                workflow_id: f.opt_text("workflow_id")?,
            };
            CoreGuard::new(
                harbor.inner.clone(),
                &text("intent_id", Some(&intent_id))?,
                Secret::new(text("capability_token", Some(&capability_token))?),
                opts,
            )
            .map(|inner| ToolGuard { inner })
        })
    }

    #[napi(getter)]
    pub fn intent_id(&self) -> Result<String> {
        sync(|| Ok(self.inner.intent_id()))
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> Result<String> {
        sync(|| Ok(self.inner.harbor().tenant_id().to_owned()))
    }

    /// Never rejects: bad input (a spend that is not an exact integer in
    /// `0..=2^53-1`, a tool name that is not a string...) and every failed
    /// verify resolve to a deny decision.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn authorize<'env>(
        &self,
        env: &'env Env,
        tool_name: Unknown<'_>,
        call_id: Unknown<'_>,
        args_json: Unknown<'_>,
        spend: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let input = paybond_kit::unwind::catch_unwind_sync(|| {
            let call = ToolCall {
                name: text("tool_name", Some(&tool_name))?,
                call_id: text("call_id", Some(&call_id))?,
                args: opt_json_text("args", Some(&args_json))?.unwrap_or(Value::Null),
            };
            let s = spend_cents(
                FieldStyle::Camel,
                &host_number("requested_spend_cents", Some(&spend))?,
            )?;
            Ok((call, s))
        });
        match input {
            Ok((call, s)) => spawn_owned(env, &self.inner, move |this| async move {
                Ok(to_json(&this.authorize(&call, s).await))
            }),
            Err(e) => {
                let d = Decision::from_error(&camel(e));
                spawn_owned(env, &(), move |_| async move { Ok(to_json(&d)) })
            }
        }
    }

    /// Ends the call after its tool ran: `succeeded` → the spend is consumed, else
    /// released; the call id is spent (authorizing it again is `call_replayed`).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn finish<'env>(
        &self,
        env: &'env Env,
        call_id: Unknown<'_>,
        succeeded: bool,
    ) -> Result<PromiseRaw<'env, Value>> {
        let id = sync(|| text("call_id", Some(&call_id)))?;
        let outcome = if succeeded {
            paybond_kit::SpendOutcome::Consumed
        } else {
            paybond_kit::SpendOutcome::Released
        };
        spawn_owned(env, &self.inner, move |this| async move {
            this.finish(&id, outcome).await.map(|r| to_json(&r))
        })
    }

    /// `finish(callId, true)` without making the caller wait for Harbor's answer: the call id
    /// is spent now and the completion is counted until it ends (`settle`, closing the session
    /// and LocalHarbor reads wait for it). The promise settles when it ended (rejects with
    /// its error); it keeps the process alive until then.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn finish_later<'env>(
        &self,
        env: &'env Env,
        call_id: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, ()>> {
        let id = sync(|| text("call_id", Some(&call_id)))?;
        let fut = self
            .inner
            .finish_in_background(&id, paybond_kit::SpendOutcome::Consumed);
        spawn_owned(env, &(), move |_| fut)
    }

    /// Claims the call for one run of its tool body (see the core's `ToolGuard::claim`).
    #[napi]
    pub fn claim(&self, call_id: Unknown<'_>) -> Result<bool> {
        sync(|| Ok(self.inner.claim(&text("call_id", Some(&call_id))?)))
    }

    /// Gives a claim back after the framework suspended the run inside the tool.
    #[napi]
    pub fn unclaim(&self, call_id: Unknown<'_>) -> Result<()> {
        sync(|| {
            self.inner.unclaim(&text("call_id", Some(&call_id))?);
            Ok(())
        })
    }

    /// Records a reviewer's decision on an approval request this guard's call got.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn decide_approval<'env>(
        &self,
        env: &'env Env,
        approval_request_id: Unknown<'_>,
        approve: bool,
        reason: Option<Unknown<'_>>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (id, reason) = sync(|| {
            let id = text("approval_request_id", Some(&approval_request_id))?;
            let reason = opt_text("reason", reason.as_ref())?;
            Ok((id, reason))
        })?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.decide_approval(&id, approve, reason.as_deref())
                .await
                .map(|r| to_json(&r))
        })
    }

    /// Signs `payloadJson` (JSON text) as payee evidence for this call (once per call id) and submits it.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn submit_evidence<'env>(
        &self,
        env: &'env Env,
        tool_name: Unknown<'_>,
        call_id: Unknown<'_>,
        payload_json: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Value>> {
        let (call, payload) = sync(|| {
            let call = ToolCall {
                name: text("tool_name", Some(&tool_name))?,
                call_id: text("call_id", Some(&call_id))?,
                args: Value::Null,
            };
            Ok((call, json_text("payload", Some(&payload_json))?))
        })?;
        spawn_owned(env, &self.inner, move |this| async move {
            this.submit_evidence(&call, &payload)
                .await
                .map(|r| to_json(&r))
        })
    }

    /// A guard for a sub-agent: this guard's token narrowed offline by one
    /// appended block (`tools` ⊆ this token's, a lower `maxSpendPerCallCents`,
    /// an earlier `expiresInSeconds`, `maxCalls`), same Harbor client, intent
    /// and options. The core judges every value; a bad one, or one asking for
    /// more than this token allows, throws `InvalidArgumentError` naming the
    /// field. No request is made.
    #[napi]
    pub fn attenuate(&self, options_: Unknown<'_>) -> Result<ToolGuard> {
        sync(|| {
            let f = Fields::new("options", &options_, true)?;
            let input = paybond_kit::AttenuationInput {
                tools: f.opt_string_list("tools")?,
                max_spend_per_call_cents: f.opt_number("max_spend_per_call_cents")?,
                expires_in_seconds: f.opt_number("expires_in_seconds")?,
                max_calls: f.opt_number("max_calls")?,
            };
            self.inner
                .attenuate(&input, FieldStyle::Camel)
                .map(|inner| ToolGuard { inner })
        })
    }

    #[napi]
    pub fn describe(&self) -> Result<String> {
        sync(|| Ok(format!("{:?}", self.inner)))
    }
}

/// `e` with an `InvalidArgument` field in camelCase (for deny messages).
fn camel(e: KitError) -> KitError {
    match e {
        KitError::InvalidArgument { field, message } => KitError::InvalidArgument {
            field: FieldStyle::Camel.name(&field),
            message,
        },
        other => other,
    }
}

/// Waits until every spend completion sent in the background (`finishLater`) has ended.
#[napi(ts_return_type = "Promise<void>")]
pub fn settle(env: &Env) -> Result<PromiseRaw<'_, ()>> {
    spawn_owned(env, &(), |_| async {
        paybond_kit::guard::settle().await;
        Ok(())
    })
}

/// Blocking `settle` (returns at once when none is running; LocalHarbor reads use it).
#[napi]
pub fn settle_sync() -> Result<()> {
    if paybond_kit::guard::pending_completions() > 0 {
        sync(|| {
            napi::bindgen_prelude::block_on(paybond_kit::guard::settle());
            Ok(())
        })?;
    }
    Ok(())
}

/// How many spend completions sent in the background are still running in this process.
#[napi]
pub fn pending_completions() -> u32 {
    u32::try_from(paybond_kit::guard::pending_completions()).unwrap_or(u32::MAX)
}
