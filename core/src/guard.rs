//! [`ToolGuard`]: the framework-neutral decision engine every adapter uses.
//!
//! `authorize` turns a tool call into a [`Decision`]; only `Decision::Allow`
//! lets the adapter run the tool. Every error on the way is a
//! `Decision::Deny` with a stable code. After the tool ran, `complete` can
//! sign its result as payee evidence and submit it exactly once.

use crate::error::{Error, Result};
use crate::evidence::{
    now_rfc3339, parse_uuid, sign_payee_evidence_binding, EvidenceBody, EvidenceInput,
    EvidenceSignVersion,
};
use crate::harbor::{EvidenceReceipt, HarborClient, VerifyRequest};
use crate::secret::Secret;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// A tool call as a framework presents it.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall {
    /// Tool name.
    pub name: String,
    /// The framework's call id (unique per call).
    pub call_id: String,
    /// Arguments as JSON.
    pub args: Value,
}

impl ToolCall {
    /// A call of tool `name`. A missing or blank `call_id` gets a fresh unique
    /// id (`pbk-call-<uuid>`), so no two calls ever share an evidence slot or
    /// an idempotency key.
    pub fn new(name: impl Into<String>, call_id: Option<String>) -> Self {
        let call_id = call_id
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| format!("pbk-call-{}", Uuid::new_v4()));
        ToolCall {
            name: name.into(),
            call_id,
            args: Value::Null,
        }
    }

    /// The same call with `args`.
    pub fn with_args(mut self, args: Value) -> Self {
        self.args = args;
        self
    }
}

/// Every code a [`Decision::Deny`] can carry (the serde names are the wire/host strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DenyCode {
    /// Harbor answered `allow: false` (its own code is the deny's `reason`).
    HarborDenied,
    /// Harbor answered a non-2xx status (3xx included).
    HttpError,
    /// The Gateway exchange failed.
    GatewayAuth,
    /// Signal answered a non-2xx status.
    SignalHttpError,
    /// An echo named another tenant or intent.
    TenantMismatch,
    /// A base URL broke the URL policy.
    InsecureUrl,
    /// Connection failed or was cut.
    TransportError,
    /// The call's deadline passed.
    Timeout,
    /// A 2xx answer off the wire contract.
    InvalidResponse,
    /// Signing failed.
    SigningError,
    /// A signature did not verify.
    SignatureInvalid,
    /// The capability token is bound to another intent or tenant.
    TokenIntentMismatch,
    /// The session was closed or poisoned.
    SessionClosed,
    /// A caller value was wrong (spend, ids, options).
    InvalidArgument,
    /// Evidence for the call already exists with another payload.
    EvidenceConflict,
    /// A bug in the kit (a caught panic).
    Internal,
    /// The caller's spend resolver raised or returned something that is not a spend.
    SpendResolverFailed,
    /// The call id was authorized before with other arguments.
    CallArgsChanged,
    /// The call id already ran: a call id is single-use.
    CallReplayed,
}

impl DenyCode {
    /// Every code, in declaration order.
    pub const ALL: [DenyCode; 19] = [
        DenyCode::HarborDenied,
        DenyCode::HttpError,
        DenyCode::GatewayAuth,
        DenyCode::SignalHttpError,
        DenyCode::TenantMismatch,
        DenyCode::InsecureUrl,
        DenyCode::TransportError,
        DenyCode::Timeout,
        DenyCode::InvalidResponse,
        DenyCode::SigningError,
        DenyCode::SignatureInvalid,
        DenyCode::TokenIntentMismatch,
        DenyCode::SessionClosed,
        DenyCode::InvalidArgument,
        DenyCode::EvidenceConflict,
        DenyCode::Internal,
        DenyCode::SpendResolverFailed,
        DenyCode::CallArgsChanged,
        DenyCode::CallReplayed,
    ];

    /// The code as a string (`"harbor_denied"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DenyCode::HarborDenied => "harbor_denied",
            DenyCode::HttpError => "http_error",
            DenyCode::GatewayAuth => "gateway_auth",
            DenyCode::SignalHttpError => "signal_http_error",
            DenyCode::TenantMismatch => "tenant_mismatch",
            DenyCode::InsecureUrl => "insecure_url",
            DenyCode::TransportError => "transport_error",
            DenyCode::Timeout => "timeout",
            DenyCode::InvalidResponse => "invalid_response",
            DenyCode::SigningError => "signing_error",
            DenyCode::SignatureInvalid => "signature_invalid",
            DenyCode::TokenIntentMismatch => "token_intent_mismatch",
            DenyCode::SessionClosed => "session_closed",
            DenyCode::InvalidArgument => "invalid_argument",
            DenyCode::EvidenceConflict => "evidence_conflict",
            DenyCode::Internal => "internal",
            DenyCode::SpendResolverFailed => "spend_resolver_failed",
            DenyCode::CallArgsChanged => "call_args_changed",
            DenyCode::CallReplayed => "call_replayed",
        }
    }

    /// The deny code for an error.
    pub fn for_error(err: &Error) -> DenyCode {
        let code = err.code();
        DenyCode::ALL
            .into_iter()
            .find(|c| c.as_str() == code)
            .unwrap_or(DenyCode::Internal)
    }
}

impl fmt::Display for DenyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The guard's answer. Only `Allow` lets the tool run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Harbor said `allow: true` for this call.
    Allow {
        /// Harbor's audit id.
        audit_id: String,
        /// Harbor's decision id.
        decision_id: Option<String>,
        /// Budget left after this call's reservation.
        remaining_cents: Option<i64>,
    },
    /// Harbor said no, or something failed on the way (fail closed).
    Deny {
        /// Stable code: `harbor_denied`, or the [`Error::code`] of what failed
        /// (`transport_error`, `timeout`, `http_error`, `invalid_response`,
        /// `tenant_mismatch`, `token_intent_mismatch`, `session_closed`,
        /// `insecure_url`, `gateway_auth`, `invalid_argument`, `internal`, ...).
        code: String,
        /// Harbor's own deny code (e.g. `budget_exceeded`) when Harbor denied.
        reason: Option<String>,
        /// Human-readable reason (never a secret).
        message: String,
        /// Harbor's audit id, when Harbor answered.
        audit_id: Option<String>,
    },
    /// Harbor wants a reviewer's approval before this call may run. The tool
    /// does not run now; once the request is decided (see
    /// [`ToolGuard::decide_approval`]), authorizing the same call again gives
    /// an allow (one reservation) or a deny with the reviewer's reason.
    ApprovalRequired {
        /// The request a reviewer decides (`POST /v1/approvals/{id}`).
        approval_request_id: String,
        /// Harbor's reason code (`approval_threshold_exceeded`, `approval_required_pending`, ...).
        reason: Option<String>,
        /// Human-readable text (never a secret).
        message: String,
        /// Harbor's audit id.
        audit_id: Option<String>,
    },
}

impl Decision {
    /// Whether the tool may run.
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The deny for an error.
    pub fn from_error(err: &Error) -> Self {
        Decision::Deny {
            code: err.code().to_owned(),
            reason: None,
            message: err.to_string(),
            audit_id: None,
        }
    }

    /// The text a model sees for this decision on `tool`:
    /// `"Paybond denied <tool>: <code>: <message>"` for a deny (Harbor's own
    /// code for a Harbor deny), `"Paybond allowed <tool>"` otherwise. Never a secret.
    pub fn describe(&self, tool: &str) -> String {
        match self {
            Decision::Allow { .. } => format!("Paybond allowed {tool}"),
            Decision::Deny {
                code,
                reason,
                message,
                ..
            } => {
                let code = reason.as_deref().unwrap_or(code);
                // A Harbor deny's message already starts with its code.
                if message.starts_with(code) {
                    format!("Paybond denied {tool}: {message}")
                } else {
                    format!("Paybond denied {tool}: {code}: {message}")
                }
            }
            Decision::ApprovalRequired {
                approval_request_id,
                message,
                ..
            } => format!(
                "Paybond denied {tool}: approval_required: {message} (approval request {approval_request_id})"
            ),
        }
    }

    /// The approval request id when this decision waits for a reviewer.
    pub fn approval_request_id(&self) -> Option<&str> {
        match self {
            Decision::ApprovalRequired {
                approval_request_id,
                ..
            } => Some(approval_request_id),
            _ => None,
        }
    }

    /// The stable code of a decision: `allow`, the deny's code, or `approval_required`.
    pub fn code(&self) -> &str {
        match self {
            Decision::Allow { .. } => "allow",
            Decision::Deny { code, .. } => code,
            Decision::ApprovalRequired { .. } => "approval_required",
        }
    }

    /// A deny with `code` and `message` (for adapter-side failures such as a spend resolver that raised).
    pub fn deny(code: DenyCode, message: impl Into<String>) -> Self {
        Decision::Deny {
            code: code.as_str().to_owned(),
            reason: None,
            message: message.into(),
            audit_id: None,
        }
    }

    /// `"<code>: <message>"` for a deny, `"allow"` otherwise.
    pub fn summary(&self) -> String {
        match self {
            Decision::Allow { .. } => "allow".into(),
            Decision::Deny { code, message, .. } => format!("{code}: {message}"),
            Decision::ApprovalRequired { message, .. } => format!("approval_required: {message}"),
        }
    }
}

/// How a tool call ended.
#[derive(Clone, Debug, PartialEq)]
pub enum ToolOutcome {
    /// The tool returned; the value is the evidence payload (already mapped from the result).
    Success(Value),
    /// The tool failed; no evidence is submitted.
    Failed(String),
}

/// Who signs evidence after an allowed call. Build it from caller values with
/// [`EvidenceSigner::from_parts`].
#[derive(Clone)]
pub struct EvidenceSigner {
    /// The payee's DID (must match the intent).
    pub payee_did: String,
    /// The payee's 32-byte Ed25519 seed.
    pub seed: Arc<[u8; 32]>,
    /// Which `EvidenceSignV1` encoding to use.
    pub version: EvidenceSignVersion,
}

impl fmt::Debug for EvidenceSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceSigner")
            .field("payee_did", &self.payee_did)
            .field("seed", &"***")
            .field("version", &self.version)
            .finish()
    }
}

impl EvidenceSigner {
    /// The signer from caller values: `payee_did` and `seed` go together (both
    /// or neither; neither gives `None`); the seed is 64 hex digits or 32
    /// bytes; `version` is 1 or 2 (default 2). Errors name the field in `style`.
    pub fn from_parts(
        style: crate::input::FieldStyle,
        payee_did: Option<String>,
        seed: Option<crate::input::HostSeed>,
        version: Option<crate::input::HostNumber>,
    ) -> Result<Option<Self>> {
        let version = match version {
            None => EvidenceSignVersion::default(),
            Some(v) => {
                let byte = crate::input::integer_in(style, "evidence_version", &v, 1, 2)?;
                EvidenceSignVersion::from_byte(byte as u8)
                    .map_err(|e| style.invalid("evidence_version", e))?
            }
        };
        let payee_did = payee_did.filter(|d| !d.trim().is_empty());
        match (payee_did, seed) {
            (None, None) => Ok(None),
            (Some(payee_did), Some(seed)) => Ok(Some(EvidenceSigner {
                payee_did,
                seed: Arc::new(crate::input::seed(style, "payee_signing_seed", &seed)?),
                version,
            })),
            (Some(_), None) => Err(style.invalid(
                "payee_signing_seed",
                "a payee DID needs the payee's signing seed too (64 hex digits or 32 bytes)",
            )),
            (None, Some(_)) => Err(style.invalid(
                "payee_did",
                "a payee signing seed needs the payee's DID too",
            )),
        }
    }
}

/// Guard options.
#[derive(Clone, Debug, Default)]
pub struct GuardOptions {
    /// Tool name → Harbor operation; a tool not listed uses its own name.
    pub operations: HashMap<String, String>,
    /// Signs evidence after allowed calls when set.
    pub evidence: Option<EvidenceSigner>,
    /// Currency sent with verify.
    pub currency: Option<String>,
    /// Agent subject sent with verify.
    pub agent_subject: Option<String>,
    /// Workflow id sent with verify.
    pub workflow_id: Option<String>,
}

/// Guards tool calls under one intent with one capability token.
#[derive(Clone)]
pub struct ToolGuard {
    harbor: HarborClient,
    intent_id: Uuid,
    token: Secret,
    options: Arc<GuardOptions>,
    // Evidence bodies signed per call id: a second `complete` for the same call
    // re-sends the same bytes, so the idempotency key replays instead of a 409.
    signed: Arc<Mutex<HashMap<String, EvidenceBody>>>,
    // What happened to each call id: single-use ids, arguments bound to the id.
    calls: Arc<Mutex<HashMap<String, CallState>>>,
}

#[derive(Clone)]
struct CallState {
    args_digest: String,
    decision: Decision,
    ran: bool,
    /// The tool body is running now ([`ToolGuard::claim`]); a second run of the same id is refused.
    running: bool,
}

/// Most call ids a guard remembers; past it, calls that already ran are forgotten first.
const MAX_TRACKED_CALLS: usize = 10_000;

/// How an allowed call was completed (see [`ToolGuard::complete_call`]).
#[derive(Clone, Debug, Default)]
pub struct CallCompletion {
    /// Harbor's answer to the spend completion (`None`: nothing to complete,
    /// or a Harbor without the completion route).
    pub spend: Option<crate::harbor::SpendCompletion>,
    /// Why the spend completion failed, when it did (the reservation is then
    /// released by Harbor after its hold period).
    pub spend_error: Option<Error>,
    /// The evidence receipt, when evidence was submitted (successful calls only).
    pub evidence: Option<EvidenceReceipt>,
}

/// The canonical JSON digest of tool arguments, 64 lower-case hex.
pub fn args_digest(args: &Value) -> String {
    hex::encode(crate::digest::json_value_digest(args))
}

impl fmt::Debug for ToolGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolGuard")
            .field("tenant_id", &self.harbor.tenant_id())
            .field("intent_id", &self.intent_id)
            .field("token", &self.token)
            .field("options", &self.options)
            .finish()
    }
}

/// The evidence idempotency key for a call: stable per intent + call id.
pub fn evidence_idempotency_key(intent_id: &Uuid, call_id: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(intent_id.as_bytes());
    h.update(b"\0");
    h.update(call_id.as_bytes());
    format!("pbk-evidence-{}", &h.finalize().to_hex()[..40])
}

impl ToolGuard {
    /// A guard for `intent_id` with `token`. Fails early when the token is
    /// visibly bound to another intent or tenant.
    pub fn new(
        harbor: HarborClient,
        intent_id: &str,
        token: Secret,
        options: GuardOptions,
    ) -> Result<Self> {
        let intent = parse_uuid("intent_id", intent_id)?;
        if token.is_empty() {
            return Err(Error::invalid_argument(
                "capability_token",
                "must not be empty",
            ));
        }
        harbor.check_token_binding(&intent, &token)?;
        harbor.remember_secret(token.expose());
        if let Some(signer) = &options.evidence {
            harbor.remember_seed(&signer.seed);
        }
        Ok(ToolGuard {
            harbor,
            intent_id: intent,
            token,
            options: Arc::new(options),
            signed: Arc::new(Mutex::new(HashMap::new())),
            calls: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The intent this guard spends from.
    pub fn intent_id(&self) -> String {
        self.intent_id.to_string()
    }

    /// The Harbor client.
    pub fn harbor(&self) -> &HarborClient {
        &self.harbor
    }

    /// The capability token this guard sends (a [`Secret`]: never printed).
    pub fn capability_token(&self) -> &Secret {
        &self.token
    }

    /// The options this guard was built with.
    pub fn options(&self) -> &GuardOptions {
        &self.options
    }

    /// The Harbor operation for a tool name.
    pub fn operation_for<'a>(&'a self, tool: &'a str) -> &'a str {
        self.options
            .operations
            .get(tool)
            .map(String::as_str)
            .unwrap_or(tool)
    }

    /// Asks Harbor whether `call` may run with `spend_cents`. Never errors: any
    /// failure (a caught panic included) is a deny.
    pub async fn authorize(&self, call: &ToolCall, spend_cents: u64) -> Decision {
        let guarded = crate::unwind::catch_unwind(async {
            Ok::<_, Error>(self.authorize_inner(call, spend_cents).await)
        });
        match guarded.await {
            Ok(d) => d,
            Err(e) => Decision::from_error(&e),
        }
    }

    async fn authorize_inner(&self, call: &ToolCall, spend_cents: u64) -> Decision {
        let digest = args_digest(&call.args);
        let tracked = !call.call_id.trim().is_empty();
        if tracked {
            if let Some(prior) = self.calls.lock().get(&call.call_id) {
                if prior.ran {
                    return Decision::deny(
                        DenyCode::CallReplayed,
                        format!(
                            "call id {:?} already ran; a call id is single-use",
                            call.call_id
                        ),
                    );
                }
                if prior.args_digest != digest {
                    return Decision::deny(
                        DenyCode::CallArgsChanged,
                        format!(
                            "call id {:?} was authorized with other arguments",
                            call.call_id
                        ),
                    );
                }
                // Authorized and not run yet (a resume, a second guardrail pass): same decision.
                if prior.decision.is_allow() {
                    return prior.decision.clone();
                }
            }
        }
        let decision = self.verify_call(call, spend_cents, &digest).await;
        if tracked {
            let mut calls = self.calls.lock();
            if calls.len() >= MAX_TRACKED_CALLS {
                calls.retain(|_, c| !c.ran);
                if calls.len() >= MAX_TRACKED_CALLS {
                    calls.clear();
                }
            }
            calls.insert(
                call.call_id.clone(),
                CallState {
                    args_digest: digest,
                    decision: decision.clone(),
                    ran: false,
                    running: false,
                },
            );
        }
        decision
    }

    async fn verify_call(&self, call: &ToolCall, spend_cents: u64, digest: &str) -> Decision {
        let req = VerifyRequest {
            intent_id: self.intent_id.to_string(),
            token: self.token.clone(),
            operation: self.operation_for(&call.name).to_owned(),
            requested_spend_cents: spend_cents,
            tool_name: Some(call.name.clone()),
            tool_call_id: (!call.call_id.is_empty()).then(|| call.call_id.clone()),
            idempotency_key: (!call.call_id.is_empty())
                .then(|| {
                    format!(
                        "pbk-verify-{}-{}-{}",
                        self.intent_id,
                        &digest[..16],
                        call.call_id
                    )
                })
                .filter(|k| k.len() <= 256),
            args_digest: Some(digest.to_owned()),
            currency: self.options.currency.clone(),
            agent_subject: self.options.agent_subject.clone(),
            workflow_id: self.options.workflow_id.clone(),
            ..VerifyRequest::default()
        };
        let decision = match self.harbor.verify_capability(&req).await {
            Ok(v) if v.allow => Decision::Allow {
                audit_id: v.audit_id.to_string(),
                decision_id: v.decision_id,
                remaining_cents: v.remaining_cents,
            },
            Ok(v) if v.pending_approval().is_some() => Decision::ApprovalRequired {
                approval_request_id: v.pending_approval().unwrap_or_default().to_owned(),
                reason: v
                    .reason_codes
                    .iter()
                    .find(|c| crate::harbor::APPROVAL_REASON_CODES.contains(&c.as_str()))
                    .cloned()
                    .or_else(|| v.code.clone()),
                message: v
                    .message
                    .clone()
                    .filter(|m| !m.is_empty())
                    .unwrap_or_else(|| "this call needs a reviewer's approval".into()),
                audit_id: Some(v.audit_id.to_string()),
            },
            Ok(v) if v.code.as_deref() == Some("call_replayed") => Decision::Deny {
                code: DenyCode::CallReplayed.as_str().into(),
                reason: Some("call_replayed".into()),
                message: v
                    .message
                    .clone()
                    .unwrap_or_else(|| "this call id already ran".into()),
                audit_id: Some(v.audit_id.to_string()),
            },
            Ok(v) => {
                let reason = v.code.clone().unwrap_or_else(|| "denied".into());
                let message = match v.message {
                    Some(m) if !m.is_empty() => format!("{reason}: {m}"),
                    _ => reason.clone(),
                };
                Decision::Deny {
                    code: "harbor_denied".into(),
                    reason: Some(reason),
                    message,
                    audit_id: Some(v.audit_id.to_string()),
                }
            }
            Err(Error::HarborHttp {
                status_code: 409,
                body_text,
                ..
            }) if body_text.contains("call_args_changed") => Decision::deny(
                DenyCode::CallArgsChanged,
                format!(
                    "Harbor refused call id {:?}: it was authorized with other arguments",
                    call.call_id
                ),
            ),
            Err(e) => Decision::from_error(&e),
        };
        tracing::debug!(
            target: "paybond_kit::guard", tool = %call.name, call_id = %call.call_id, intent = %self.intent_id,
            decision = decision.code(),
            "authorize"
        );
        decision
    }

    /// After an allowed call ended: completes its spend with Harbor
    /// (`consumed` for [`ToolOutcome::Success`], `released` for
    /// [`ToolOutcome::Failed`]) and, for a success with an evidence signer
    /// configured, submits signed evidence (once per call id). Returns the
    /// evidence receipt; see [`ToolGuard::complete_call`] for everything.
    pub async fn complete(
        &self,
        call: &ToolCall,
        decision: &Decision,
        outcome: &ToolOutcome,
    ) -> Result<Option<EvidenceReceipt>> {
        self.complete_call(call, decision, outcome)
            .await
            .map(|c| c.evidence)
    }

    /// Claims call `call_id` for one run of its tool body, right before the body starts:
    /// `true` only when the call has an allow, has not run, and is not running now. Every
    /// adapter claims before it executes, so a call id can never run its body twice on one
    /// reservation — not concurrently, not after a pre-approval pass, not on a lookup that
    /// went wrong. [`ToolGuard::finish`] ends the claim; [`ToolGuard::unclaim`] gives it back
    /// when the framework suspended the run inside the tool (it re-runs the body on resume).
    pub fn claim(&self, call_id: &str) -> bool {
        let mut calls = self.calls.lock();
        match calls.get_mut(call_id) {
            Some(c) if c.decision.is_allow() && !c.ran && !c.running => {
                c.running = true;
                true
            }
            _ => false,
        }
    }

    /// Gives back a [`ToolGuard::claim`] whose body did not finish because the framework
    /// suspended the run (a LangGraph interrupt inside the tool): the resume may claim again.
    pub fn unclaim(&self, call_id: &str) {
        if let Some(c) = self.calls.lock().get_mut(call_id) {
            c.running = false;
        }
    }

    /// Records a reviewer's decision on the approval request of a call that
    /// got [`Decision::ApprovalRequired`] (`approve` or reject, with an
    /// optional reason the model will read on a reject). Authorize the same
    /// call again afterwards: an approved call is allowed once, with one
    /// reservation. See [`HarborClient::decide_approval`].
    pub async fn decide_approval(
        &self,
        approval_request_id: &str,
        approve: bool,
        reason: Option<&str>,
    ) -> Result<crate::harbor::ApprovalDecision> {
        self.harbor
            .decide_approval(approval_request_id, approve, reason)
            .await
    }

    /// Ends call `call_id` after its tool ran (or failed to): marks the id as
    /// run (single-use) and completes the spend of the allow this guard gave
    /// it — `Consumed` after success, `Released` when the tool raised, its
    /// arguments failed validation, it was cancelled, or the framework
    /// produced an error result. `Ok(None)` when the call had no allow with a
    /// decision id, or this Harbor has no completion route (logged once).
    /// Evidence is separate ([`ToolGuard::submit_evidence`]): only after success.
    pub async fn finish(
        &self,
        call_id: &str,
        outcome: crate::harbor::SpendOutcome,
    ) -> Result<Option<crate::harbor::SpendCompletion>> {
        match self.mark_run(call_id) {
            Some(id) => self.harbor.complete_decision(&id, outcome).await,
            None => Ok(None),
        }
    }

    /// [`ToolGuard::finish`] without waiting for Harbor's answer. The call id is marked as
    /// run now; the returned future sends the completion (spawn it on a runtime). Until it
    /// ends it is counted and holds a permit of the session: [`settle`] waits for it, and the
    /// session's close (which refuses new calls at once) waits for it too.
    /// The reservation already holds the budget, so the next verify need not wait for it.
    /// A completion that fails is logged (warn, target `paybond_kit::guard`) and is the
    /// future's error; Harbor then releases the reservation after its hold period.
    pub fn finish_in_background(
        &self,
        call_id: &str,
        outcome: crate::harbor::SpendOutcome,
    ) -> impl std::future::Future<Output = Result<()>> + Send + 'static {
        // Counted (and holding a session permit) from now on; a closed session refuses it.
        let start = self
            .mark_run(call_id)
            .map(|id| (id, self.harbor.inner.life.start_pending()));
        let harbor = self.harbor.clone();
        let call_id = call_id.to_owned();
        async move {
            let Some((id, pending)) = start else {
                return Ok(());
            };
            // The permit is given back as the arm ends, before the failure is logged.
            let done = match pending {
                Ok(held) => harbor.complete_decision_held(&id, outcome, &held).await,
                Err(e) => Err(e),
            };
            if let Err(e) = &done {
                tracing::warn!(
                    call_id = %call_id,
                    code = e.code(),
                    "completing the spend ({}) in the background failed: {e}",
                    outcome.as_str()
                );
            }
            done.map(|_| ())
        }
    }

    /// Marks `call_id` as run (single-use) and returns the decision id its allow carried.
    fn mark_run(&self, call_id: &str) -> Option<String> {
        let mut calls = self.calls.lock();
        let c = calls.get_mut(call_id)?;
        c.ran = true;
        c.running = false;
        match &c.decision {
            Decision::Allow { decision_id, .. } => decision_id.clone().filter(|d| !d.is_empty()),
            Decision::Deny { .. } | Decision::ApprovalRequired { .. } => None,
        }
    }

    /// [`ToolGuard::complete`], reporting the spend completion too. The call id
    /// is marked as run: authorizing it again is a `call_replayed` deny. A
    /// failed spend completion does not stop the evidence (it is reported in
    /// `spend_error`; Harbor releases the reservation after its hold period).
    pub async fn complete_call(
        &self,
        call: &ToolCall,
        decision: &Decision,
        outcome: &ToolOutcome,
    ) -> Result<CallCompletion> {
        let Decision::Allow { decision_id, .. } = decision else {
            return Ok(CallCompletion::default());
        };
        if let Some(c) = self.calls.lock().get_mut(&call.call_id) {
            c.ran = true;
        }
        let mut done = CallCompletion::default();
        if let Some(id) = decision_id.as_deref().filter(|d| !d.is_empty()) {
            let spend = match outcome {
                ToolOutcome::Success(_) => crate::harbor::SpendOutcome::Consumed,
                ToolOutcome::Failed(_) => crate::harbor::SpendOutcome::Released,
            };
            match self.harbor.complete_decision(id, spend).await {
                Ok(r) => done.spend = r,
                Err(e) => {
                    tracing::warn!(
                        target: "paybond_kit::guard", tool = %call.name, call_id = %call.call_id,
                        code = e.code(), error = %e, "spend completion failed"
                    );
                    done.spend_error = Some(e);
                }
            }
        }
        if let (ToolOutcome::Success(payload), Some(signer)) = (outcome, &self.options.evidence) {
            done.evidence = Some(self.submit_evidence_for_call(call, payload, signer).await?);
        }
        Ok(done)
    }

    /// Signs `payload` for `call` with the configured evidence signer (once per call id)
    /// and submits it; an `InvalidArgument` when the guard has no signer.
    pub async fn submit_evidence(
        &self,
        call: &ToolCall,
        payload: &Value,
    ) -> Result<EvidenceReceipt> {
        let signer = self.options.evidence.as_ref().ok_or_else(|| {
            Error::invalid_argument(
                "payee_signing_seed",
                "this binding has no evidence signer (give the payee DID and signing seed)",
            )
        })?;
        self.submit_evidence_for_call(call, payload, signer).await
    }

    /// Signs `payload` for `call` (once per call id) and submits it. The same
    /// payload again replays the first submission; a different payload for a
    /// call that already has evidence is `EvidenceConflict`.
    pub async fn submit_evidence_for_call(
        &self,
        call: &ToolCall,
        payload: &Value,
        signer: &EvidenceSigner,
    ) -> Result<EvidenceReceipt> {
        crate::unwind::catch_unwind(self.submit_inner(call, payload, signer))
            .await
            .map_err(|e| self.harbor.scrub(e))
    }

    async fn submit_inner(
        &self,
        call: &ToolCall,
        payload: &Value,
        signer: &EvidenceSigner,
    ) -> Result<EvidenceReceipt> {
        if call.call_id.trim().is_empty() {
            return Err(Error::invalid_argument(
                "call_id",
                "evidence needs the tool call's id (a non-empty string): every call has its own evidence slot",
            ));
        }
        let body = {
            let mut signed = self.signed.lock();
            match signed.get(&call.call_id) {
                Some(b) if b.payload == *payload => b.clone(),
                Some(_) => {
                    return Err(Error::EvidenceConflict {
                        call_id: call.call_id.clone(),
                        message:
                            "evidence for this call was already signed with a different payload; \
                                  the first payload stands (use a new call id for new work)"
                                .into(),
                    })
                }
                None => {
                    let intent = self.intent_id.to_string();
                    let input = EvidenceInput {
                        tenant_id: self.harbor.tenant_id(),
                        intent_id: &intent,
                        payee_did: &signer.payee_did,
                        payload,
                        artifacts_blake3_hex: &[],
                        submitted_at_rfc3339: &now_rfc3339(),
                    };
                    let b = sign_payee_evidence_binding(&input, &signer.seed, signer.version)?.body;
                    if signed.len() > 10_000 {
                        signed.clear();
                    }
                    signed.insert(call.call_id.clone(), b.clone());
                    b
                }
            }
        };
        let key = evidence_idempotency_key(&self.intent_id, &call.call_id);
        self.harbor
            .submit_evidence(&self.intent_id.to_string(), &body, Some(&key))
            .await
            .map_err(|e| match e {
                Error::HarborHttp {
                    status_code: 409, ..
                } => Error::EvidenceConflict {
                    call_id: call.call_id.clone(),
                    message: "Harbor already holds different evidence for this call id".into(),
                },
                other => other,
            })
    }
}

/// Waits until every spend completion this process sent in the background
/// ([`ToolGuard::finish_in_background`]) has ended. Each is bounded by its call's deadline.
pub async fn settle() {
    crate::session::PROCESS_PENDING.wait_idle().await;
}

/// How many background spend completions of this process are still running.
pub fn pending_completions() -> usize {
    crate::session::PROCESS_PENDING.count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{FieldStyle, HostNumber, HostSeed};

    #[test]
    fn deny_codes_are_pinned() {
        for c in DenyCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        for e in [
            Error::invalid_argument("f", "m"),
            Error::Internal {
                message: "m".into(),
            },
            Error::EvidenceConflict {
                call_id: "c".into(),
                message: "m".into(),
            },
            Error::invalid_response("u", "m"),
        ] {
            assert_eq!(DenyCode::for_error(&e).as_str(), e.code());
        }
    }

    #[test]
    fn describe_and_call_ids() {
        let d = Decision::Deny {
            code: "harbor_denied".into(),
            reason: Some("budget_exceeded".into()),
            message: "budget_exceeded: over".into(),
            audit_id: None,
        };
        assert_eq!(
            d.describe("pay"),
            "Paybond denied pay: budget_exceeded: over"
        );
        let d = Decision::deny(DenyCode::SpendResolverFailed, "KeyError");
        assert_eq!(
            d.describe("pay"),
            "Paybond denied pay: spend_resolver_failed: KeyError"
        );
        let a = ToolCall::new("t", None);
        let b = ToolCall::new("t", Some("  ".into()));
        assert!(a.call_id.starts_with("pbk-call-") && a.call_id != b.call_id);
        assert_eq!(ToolCall::new("t", Some("c1".into())).call_id, "c1");
    }

    #[test]
    fn evidence_signer_parts_go_together() {
        let seed = HostSeed::Text("07".repeat(32));
        assert!(
            EvidenceSigner::from_parts(FieldStyle::Snake, None, None, None)
                .unwrap()
                .is_none()
        );
        let s = EvidenceSigner::from_parts(
            FieldStyle::Snake,
            Some("did:p".into()),
            Some(seed.clone()),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.version, EvidenceSignVersion::V2);
        for (did, seed, version, field) in [
            (Some("did:p"), None, None, "payeeSigningSeed"),
            (None, Some(seed.clone()), None, "payeeDid"),
            (
                Some("did:p"),
                Some(HostSeed::Bytes(vec![1; 31])),
                None,
                "payeeSigningSeed",
            ),
            (
                Some("did:p"),
                Some(HostSeed::Text("zz".into())),
                None,
                "payeeSigningSeed",
            ),
            (
                Some("did:p"),
                Some(seed.clone()),
                Some(HostNumber::Int(300)),
                "evidenceVersion",
            ),
        ] {
            let e = EvidenceSigner::from_parts(
                FieldStyle::Camel,
                did.map(str::to_owned),
                seed,
                version,
            )
            .unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument { field: f, .. } if f == field),
                "{e}"
            );
        }
    }
}
