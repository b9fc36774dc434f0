//! N-API handles over the Paybond Kit core. Private: users import the
//! `paybond-kit` package, whose TypeScript layer types results and converts
//! every native error in one place (`fromNative`).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use paybond_kit::evidence::{EvidenceBody, EvidenceInput, EvidenceSignVersion};
use paybond_kit::guard::{EvidenceSigner, GuardOptions, ToolCall, ToolGuard as CoreGuard};
use paybond_kit::harbor::VerifyRequest;
use paybond_kit::{
    GatewayHarborTokenProvider, HttpOptions, Secret, ServiceAccountHarborSession,
    ServiceAccountSignalSession, SessionOptions,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Marker the TS layer looks for before parsing an error's JSON message.
const MARK: &str = "PAYBOND_ERROR:";

fn to_js_err(e: paybond_kit::Error) -> napi::Error {
    use paybond_kit::Error as E;
    let mut v = json!({"code": e.code(), "message": e.to_string()});
    match &e {
        E::HarborHttp {
            status_code,
            url,
            body_text,
        }
        | E::SignalHttp {
            status_code,
            url,
            body_text,
        } => {
            v["statusCode"] = json!(status_code);
            v["url"] = json!(url);
            v["bodyText"] = json!(body_text);
        }
        E::GatewayAuth {
            status_code,
            body_text,
            ..
        } => {
            v["statusCode"] = json!(status_code);
            v["bodyText"] = json!(body_text);
        }
        E::InsecureUrl { url, .. }
        | E::Transport { url, .. }
        | E::Timeout { url, .. }
        | E::InvalidResponse { url, .. } => {
            v["url"] = json!(url);
        }
        E::InvalidArgument { field, .. } => v["field"] = json!(field),
        _ => {}
    }
    v["kind"] = json!(match &e {
        E::HarborHttp { .. } => "HarborHttpError",
        E::SignalHttp { .. } => "SignalHttpError",
        E::GatewayAuth { .. } => "GatewayAuthError",
        E::TenantBinding { .. } => "TenantBindingError",
        E::InsecureUrl { .. } => "InsecureUrlError",
        E::Transport { .. } => "TransportError",
        E::Timeout { .. } => "PaybondTimeoutError",
        E::InvalidResponse { .. } => "InvalidResponseError",
        E::Signing { .. } => "SigningError",
        E::SignatureInvalid { .. } => "SignatureInvalidError",
        E::TokenIntentMismatch { .. } => "TokenIntentMismatchError",
        E::SessionClosed { .. } => "SessionClosedError",
        E::InvalidArgument { .. } => "InvalidArgumentError",
        _ => "PaybondError",
    });
    napi::Error::new(Status::GenericFailure, format!("{MARK}{v}"))
}

fn invalid(field: &str, message: &str) -> napi::Error {
    to_js_err(paybond_kit::Error::invalid_argument(field, message))
}

fn kit<T>(r: paybond_kit::Result<T>) -> Result<T> {
    r.map_err(to_js_err)
}

/// Runs `f(handle)` as a promise. The future owns its clone of the handle, so a pending call
/// never borrows a JS object that a worker thread's teardown can free mid-call.
fn spawn_owned<'env, H, T, F, Fut>(env: &'env Env, handle: &H, f: F) -> Result<PromiseRaw<'env, T>>
where
    H: Clone,
    F: FnOnce(H) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    T: ToNapiValue + Send + 'static,
{
    env.spawn_future(f(handle.clone()))
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn session_options(
    timeout_seconds: Option<f64>,
    max_retries: Option<u32>,
    refresh_skew_seconds: Option<f64>,
    expected_tenant_id: Option<String>,
    expected_environment: Option<String>,
) -> Result<SessionOptions> {
    let timeout = timeout_seconds.unwrap_or(30.0);
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(invalid(
            "timeoutSeconds",
            "expected a number of seconds > 0",
        ));
    }
    let skew = refresh_skew_seconds.unwrap_or(90.0);
    if !(skew.is_finite() && skew >= 0.0) {
        return Err(invalid(
            "refreshSkewSeconds",
            "expected a number of seconds >= 0",
        ));
    }
    let retries = max_retries.unwrap_or(3);
    if retries == 0 {
        return Err(invalid("maxRetries", "expected total attempts >= 1"));
    }
    Ok(SessionOptions {
        http: HttpOptions {
            timeout: Duration::from_secs_f64(timeout),
            max_retries: retries,
            ..HttpOptions::default()
        },
        refresh_skew: Duration::from_secs_f64(skew),
        expected_tenant_id,
        expected_environment,
    })
}

fn spend(field: &str, v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| invalid(field, "expected an integer >= 0"))
}

fn seed(field: &str, hex_seed: Option<&str>, bytes: Option<&Buffer>) -> Result<Option<[u8; 32]>> {
    match (hex_seed, bytes) {
        (Some(h), _) => kit(paybond_kit::evidence::seed_from_hex(field, h)).map(Some),
        (None, Some(b)) => <[u8; 32]>::try_from(b.as_ref())
            .map(Some)
            .map_err(|_| invalid(field, "expected 32 bytes")),
        (None, None) => Ok(None),
    }
}

/// Options of `HarborSession.open`.
#[napi(object)]
pub struct HarborSessionOptions {
    pub gateway_base_url: String,
    pub api_key: String,
    pub harbor_base_url: String,
    pub timeout_seconds: Option<f64>,
    pub max_retries: Option<u32>,
    pub refresh_skew_seconds: Option<f64>,
    pub expected_tenant_id: Option<String>,
}

/// A Harbor session opened from one service-account API key.
#[napi]
pub struct HarborSession {
    inner: ServiceAccountHarborSession,
}

#[napi]
impl HarborSession {
    /// Exchanges the key once and binds to the tenant the Gateway names.
    #[napi(factory)]
    pub async fn open(options: HarborSessionOptions) -> Result<HarborSession> {
        let o = options;
        let opts = session_options(
            o.timeout_seconds,
            o.max_retries,
            o.refresh_skew_seconds,
            o.expected_tenant_id,
            None,
        )?;
        kit(ServiceAccountHarborSession::open(
            &o.gateway_base_url,
            o.api_key,
            &o.harbor_base_url,
            opts,
        )
        .await)
        .map(|inner| HarborSession { inner })
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[napi]
    pub fn harbor(&self) -> HarborClient {
        HarborClient {
            inner: self.inner.harbor().clone(),
        }
    }

    #[napi]
    pub fn token_provider(&self) -> TokenProvider {
        TokenProvider {
            inner: self.inner.token_provider().clone(),
        }
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn rotate_harbor_token<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        spawn_owned(env, &self.inner, |this| async move {
            kit(this.rotate_harbor_token().await)
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
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Arguments of `verifyCapability`.
#[napi(object)]
pub struct VerifyArgs {
    pub intent_id: String,
    pub token: String,
    pub operation: String,
    pub requested_spend_cents: i64,
    pub tool_name: Option<String>,
    pub tool_call_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub currency: Option<String>,
    pub agent_subject: Option<String>,
    pub vendor_id: Option<String>,
    pub task_id: Option<String>,
    pub workflow_id: Option<String>,
}

/// Harbor calls bound to the session's tenant.
#[napi]
pub struct HarborClient {
    inner: paybond_kit::HarborClient,
}

#[napi]
impl HarborClient {
    #[napi(getter)]
    pub fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.base_url().to_owned()
    }

    /// `POST /verify`: Harbor's allow/deny, or a rejected Promise for anything off the wire contract.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn verify_capability<'env>(
        &self,
        env: &'env Env,
        args: VerifyArgs,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let req = VerifyRequest {
                intent_id: args.intent_id,
                token: Secret::new(args.token),
                operation: args.operation,
                requested_spend_cents: spend("requestedSpendCents", args.requested_spend_cents)?,
                tool_name: args.tool_name,
                tool_call_id: args.tool_call_id,
                idempotency_key: args.idempotency_key,
                currency: args.currency,
                agent_subject: args.agent_subject,
                vendor_id: args.vendor_id,
                task_id: args.task_id,
                workflow_id: args.workflow_id,
            };
            kit(this.verify_capability(&req).await).map(|r| to_json(&r))
        })
    }

    /// `POST /intents/{intentId}/evidence` with an idempotency key.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn submit_evidence<'env>(
        &self,
        env: &'env Env,
        intent_id: String,
        body: Value,
        idempotency_key: Option<String>,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let body: EvidenceBody = serde_json::from_value(body)
                .map_err(|e| invalid("body", &format!("expected an evidence body: {e}")))?;
            kit(this
                .submit_evidence(&intent_id, &body, idempotency_key.as_deref())
                .await)
            .map(|r| to_json(&r))
        })
    }

    /// Principal-signed `POST /intents` (`input` uses the wire field names).
    #[napi(ts_return_type = "Promise<any>")]
    pub fn create_intent<'env>(
        &self,
        env: &'env Env,
        input: Value,
        principal_signing_seed_hex: String,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let inp = intent_input(&input)?;
            let s = kit(paybond_kit::evidence::seed_from_hex(
                "principalSigningSeedHex",
                &principal_signing_seed_hex,
            ))?;
            kit(this.create_intent(&inp, &s).await).map(|r| to_json(&r))
        })
    }

    /// `tip`, `authority` or `merkle_latest`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn ledger<'env>(&self, env: &'env Env, which: String) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            match which.as_str() {
                "tip" => kit(this.ledger_tip().await).map(|r| to_json(&r)),
                "authority" => kit(this.ledger_authority().await).map(|r| to_json(&r)),
                "merkle_latest" => kit(this.ledger_merkle_latest().await).map(|r| to_json(&r)),
                other => Err(invalid("which", &format!("unknown ledger read {other:?}"))),
            }
        })
    }

    #[napi(ts_return_type = "Promise<any>")]
    pub fn ledger_events<'env>(
        &self,
        env: &'env Env,
        after_seq: Option<i64>,
        limit: Option<u32>,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let after = after_seq.map(|a| spend("afterSeq", a)).transpose()?;
            kit(this.ledger_events(after, limit).await).map(|r| to_json(&r))
        })
    }

    #[napi]
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

fn intent_input(v: &Value) -> Result<paybond_kit::intent::IntentCreationInput> {
    kit(paybond_kit::intent::IntentCreationInput::from_json(v))
}

/// Options of `new TokenProvider(...)`.
#[napi(object)]
pub struct TokenProviderOptions {
    pub gateway_base_url: String,
    pub api_key: String,
    pub timeout_seconds: Option<f64>,
    pub max_retries: Option<u32>,
    pub refresh_skew_seconds: Option<f64>,
}

/// API key → Harbor JWTs, cached, refreshed single-flight.
#[napi]
pub struct TokenProvider {
    inner: GatewayHarborTokenProvider,
}

#[napi]
impl TokenProvider {
    #[napi(constructor)]
    pub fn new(options: TokenProviderOptions) -> Result<Self> {
        let o = options;
        let opts = session_options(
            o.timeout_seconds,
            o.max_retries,
            o.refresh_skew_seconds,
            None,
            None,
        )?;
        kit(GatewayHarborTokenProvider::new(
            &o.gateway_base_url,
            Secret::new(o.api_key),
            &opts,
        ))
        .map(|inner| TokenProvider { inner })
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> Option<String> {
        self.inner.tenant_id()
    }

    #[napi(getter)]
    pub fn exchange_count(&self) -> u32 {
        self.inner.exchange_count() as u32
    }

    #[napi(ts_return_type = "Promise<string>")]
    pub fn bearer<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        spawn_owned(env, &self.inner, |this| async move {
            kit(this.bearer().await).map(|s| s.expose().to_owned())
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn force_rotate<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        spawn_owned(env, &self.inner, |this| async move {
            kit(this.force_rotate().await).map(|_| ())
        })
    }

    #[napi]
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Options of `SignalSession.open`.
#[napi(object)]
pub struct SignalSessionOptions {
    pub gateway_base_url: String,
    pub api_key: String,
    pub timeout_seconds: Option<f64>,
    pub max_retries: Option<u32>,
    pub expected_environment: Option<String>,
    pub expected_tenant_id: Option<String>,
    pub trusted_signing_key_hex: Option<String>,
}

/// A Signal session.
#[napi]
pub struct SignalSession {
    inner: ServiceAccountSignalSession,
}

#[napi]
impl SignalSession {
    #[napi(factory)]
    pub async fn open(options: SignalSessionOptions) -> Result<SignalSession> {
        let o = options;
        let opts = session_options(
            o.timeout_seconds,
            o.max_retries,
            None,
            o.expected_tenant_id,
            o.expected_environment,
        )?;
        let s = kit(ServiceAccountSignalSession::open(&o.gateway_base_url, o.api_key, opts).await)?;
        let s = match o.trusted_signing_key_hex {
            Some(k) => kit(s.with_trusted_signing_key(&k))?,
            None => s,
        };
        Ok(SignalSession { inner: s })
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> String {
        self.inner.tenant_id().to_owned()
    }

    #[napi]
    pub fn principal(&self) -> Value {
        to_json(self.inner.principal())
    }

    /// `reputation_receipt`, `portfolio_summary`, `operator_explanation`, `operator_review_status`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn read<'env>(
        &self,
        env: &'env Env,
        which: String,
        operator_did: Option<String>,
        score_version: Option<String>,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let sig = this.signal();
            let sv = score_version.as_deref();
            let did = || {
                operator_did
                    .as_deref()
                    .ok_or_else(|| invalid("operatorDid", "required"))
            };
            match which.as_str() {
                "reputation_receipt" => {
                    kit(sig.reputation_receipt(did()?, sv).await).map(|r| to_json(&r))
                }
                "portfolio_summary" => kit(sig.portfolio_summary(sv).await).map(|r| to_json(&r)),
                "operator_explanation" => {
                    kit(sig.operator_explanation(did()?, sv).await).map(|r| to_json(&r))
                }
                "operator_review_status" => {
                    kit(sig.operator_review_status(did()?, sv).await).map(|r| to_json(&r))
                }
                other => Err(invalid("which", &format!("unknown Signal read {other:?}"))),
            }
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
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Options of `new ToolGuard(...)`.
#[napi(object)]
pub struct ToolGuardOptions {
    pub intent_id: String,
    pub capability_token: String,
    pub operations: Option<std::collections::HashMap<String, String>>,
    pub payee_did: Option<String>,
    pub payee_signing_seed_hex: Option<String>,
    pub payee_signing_seed: Option<Buffer>,
    pub evidence_version: Option<u32>,
    pub currency: Option<String>,
    pub agent_subject: Option<String>,
    pub workflow_id: Option<String>,
}

/// The framework-neutral guard for one intent and capability token.
#[napi]
pub struct ToolGuard {
    inner: CoreGuard,
}

fn version(v: Option<u32>) -> Result<EvidenceSignVersion> {
    kit(EvidenceSignVersion::from_byte(v.unwrap_or(2).min(255) as u8))
}

#[napi]
impl ToolGuard {
    #[napi(constructor)]
    pub fn new(harbor: &HarborClient, options: ToolGuardOptions) -> Result<Self> {
        let o = options;
        let s = seed(
            "payeeSigningSeed",
            o.payee_signing_seed_hex.as_deref(),
            o.payee_signing_seed.as_ref(),
        )?;
        let evidence = match (o.payee_did, s) {
            (Some(did), Some(seed)) => Some(EvidenceSigner {
                payee_did: did,
                seed: Arc::new(seed),
                version: version(o.evidence_version)?,
            }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "payeeSigningSeed",
                    "payeeDid and payeeSigningSeed go together",
                ))
            }
        };
        let opts = GuardOptions {
            operations: o.operations.unwrap_or_default(),
            evidence,
            currency: o.currency,
            agent_subject: o.agent_subject,
            workflow_id: o.workflow_id,
        };
        kit(CoreGuard::new(
            harbor.inner.clone(),
            &o.intent_id,
            Secret::new(o.capability_token),
            opts,
        ))
        .map(|inner| ToolGuard { inner })
    }

    #[napi(getter)]
    pub fn intent_id(&self) -> String {
        self.inner.intent_id()
    }

    #[napi(getter)]
    pub fn tenant_id(&self) -> String {
        self.inner.harbor().tenant_id().to_owned()
    }

    /// Never rejects for a failed verify: any failure resolves to a deny decision.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn authorize<'env>(
        &self,
        env: &'env Env,
        tool_name: String,
        call_id: String,
        args: Option<Value>,
        spend_cents: i64,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let call = ToolCall {
                name: tool_name,
                call_id,
                args: args.unwrap_or(Value::Null),
            };
            let s = spend("requestedSpendCents", spend_cents)?;
            Ok(to_json(&this.authorize(&call, s).await))
        })
    }

    /// Signs `payload` as payee evidence for this call (once per call id) and submits it.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn submit_evidence<'env>(
        &self,
        env: &'env Env,
        tool_name: String,
        call_id: String,
        payload: Value,
    ) -> Result<PromiseRaw<'env, Value>> {
        spawn_owned(env, &self.inner, |this| async move {
            let call = ToolCall {
                name: tool_name,
                call_id,
                args: Value::Null,
            };
            kit(this.submit_evidence(&call, &payload).await).map(|r| to_json(&r))
        })
    }

    #[napi]
    pub fn describe(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// Arguments of `signPayeeEvidence`. `payloadJson` (exact JSON text) wins over `payload`:
/// JavaScript numbers cannot carry `1.0` versus `1` or integers above 2^53.
#[napi(object)]
pub struct SignArgs {
    pub tenant_id: String,
    pub intent_id: String,
    pub payee_did: String,
    pub payload: Option<Value>,
    pub payload_json: Option<String>,
    pub artifacts_blake3_hex: Option<Vec<String>>,
    pub submitted_at_rfc3339: String,
    pub payee_signing_seed_hex: Option<String>,
    pub payee_signing_seed: Option<Buffer>,
    pub version: Option<u32>,
}

/// A signed evidence binding.
#[napi(object)]
pub struct SignedEvidence {
    /// The exact `EvidenceSignV1` bytes, hex.
    pub sign_bytes_hex: String,
    /// The request body as compact JSON text, in wire order (exact numbers).
    pub body_json: String,
}

/// Signs an evidence binding as the payee.
#[napi]
pub fn sign_payee_evidence(args: SignArgs) -> Result<SignedEvidence> {
    let payload = match (&args.payload_json, args.payload) {
        (Some(text), _) => serde_json::from_str::<Value>(text)
            .map_err(|e| invalid("payloadJson", &format!("not JSON: {e}")))?,
        (None, Some(v)) => v,
        (None, None) => return Err(invalid("payload", "give payload or payloadJson")),
    };
    let s = seed(
        "payeeSigningSeed",
        args.payee_signing_seed_hex.as_deref(),
        args.payee_signing_seed.as_ref(),
    )?
    .ok_or_else(|| {
        invalid(
            "payeeSigningSeed",
            "give payeeSigningSeed (32 bytes) or payeeSigningSeedHex",
        )
    })?;
    let artifacts = args.artifacts_blake3_hex.unwrap_or_default();
    let input = EvidenceInput {
        tenant_id: &args.tenant_id,
        intent_id: &args.intent_id,
        payee_did: &args.payee_did,
        payload: &payload,
        artifacts_blake3_hex: &artifacts,
        submitted_at_rfc3339: &args.submitted_at_rfc3339,
    };
    let signed = kit(paybond_kit::evidence::sign_payee_evidence_binding(
        &input,
        &s,
        version(args.version)?,
    ))?;
    Ok(SignedEvidence {
        sign_bytes_hex: signed
            .sign_bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        body_json: serde_json::to_string(&signed.body).unwrap_or_default(),
    })
}

/// BLAKE3 of the canonical JSON of `valueJson`, hex.
#[napi]
pub fn json_value_digest_hex(value_json: String) -> Result<String> {
    let v: Value = serde_json::from_str(&value_json)
        .map_err(|e| invalid("value", &format!("not JSON: {e}")))?;
    Ok(paybond_kit::digest::json_value_digest(&v)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Options of `DevServer.start`.
#[napi(object)]
pub struct DevServerOptions {
    pub jwt_ttl_seconds: Option<u32>,
    pub tenant_id: Option<String>,
    pub api_key: Option<String>,
}

/// The dev server in-process on port 0.
#[napi]
pub struct DevServer {
    inner: std::sync::Mutex<Option<paybond_devserver::LocalHarbor>>,
}

impl DevServer {
    fn with<T>(&self, f: impl FnOnce(&paybond_devserver::LocalHarbor) -> Result<T>) -> Result<T> {
        let g = self
            .inner
            .lock()
            .map_err(|_| napi::Error::from_reason("dev server lock poisoned"))?;
        match g.as_ref() {
            Some(h) => f(h),
            None => Err(napi::Error::from_reason("the dev server is stopped")),
        }
    }
}

#[napi]
impl DevServer {
    #[napi(factory)]
    pub async fn start(options: Option<DevServerOptions>) -> Result<DevServer> {
        let mut cfg = paybond_devserver::DevServerConfig::default();
        if let Some(o) = options {
            if let Some(t) = o.jwt_ttl_seconds {
                cfg.jwt_ttl = Duration::from_secs(t.max(1) as u64);
            }
            if let Some(t) = o.tenant_id {
                cfg.tenant_id = t;
            }
            cfg.api_key = o.api_key;
        }
        let h = paybond_devserver::LocalHarbor::start(cfg)
            .await
            .map_err(|e| napi::Error::from_reason(format!("cannot start the dev server: {e}")))?;
        Ok(DevServer {
            inner: std::sync::Mutex::new(Some(h)),
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
        let req: paybond_devserver::DevIntentRequest =
            serde_json::from_value(request).map_err(|e| invalid("request", &e.to_string()))?;
        self.with(|h| {
            let t = tenant_id.unwrap_or_else(|| h.tenant_id.clone());
            h.create_intent_for(&t, &req)
                .map(|i| i.raw)
                .map_err(|e| invalid("request", &e.0))
        })
    }

    #[napi]
    pub fn add_fault(&self, spec: Value) -> Result<u32> {
        let f: paybond_devserver::Fault =
            serde_json::from_value(spec).map_err(|e| invalid("fault", &e.to_string()))?;
        self.with(|h| Ok(h.add_fault(f) as u32))
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
}
